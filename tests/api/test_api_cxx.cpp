// tinyllava.h from C++: declarations in extern "C", no C-only constructs in the header.
#include "tinyllava.h"

#include <cstdio>
#include <cstring>

int main()
{
    tlv_context_options o;
    tlv_context_options_init(&o);
    tlv_sampling s;
    tlv_sampling_init(&s);
    int ok = std::strlen(tlv_version()) > 0 && std::strcmp(tlv_status_string(TLV_OK), "ok") == 0 && s.top_p == 1.0f;
    std::printf("%s: %s\n", tlv_version(), ok ? "ok" : "FAILED");
    std::printf("1 passed, 0 failed\n");
    return ok ? 0 : 1;
}
