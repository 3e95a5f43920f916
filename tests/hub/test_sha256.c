/* SHA-256 against the FIPS 180-4 examples and Python's hashlib (data/sha256_vectors.txt, from
 * gen/gen_sha256_vectors.py), fed whole and in uneven pieces, with the CPU's SHA instructions
 * (when it has them) and with the portable code. */
#include "harness.h"

#include <stdlib.h>

#include "hub/sha256.h"

static int g_portable; /* 1: the portable C code, 0: whatever the CPU offers */

static void hex_of(const void *msg, size_t n, size_t piece, char hex[65])
{
    tlv_sha256 s;
    if (g_portable) tlv__sha256_init_portable(&s);
    else tlv__sha256_init(&s);
    const unsigned char *p = msg;
    for (size_t done = 0; done < n;) {
        size_t take = piece && piece < n - done ? piece : n - done;
        tlv__sha256_update(&s, p + done, take);
        done += take;
    }
    tlv__sha256_final_hex(&s, hex);
}

static void run_vectors(void)
{
    char hex[65];
    /* FIPS 180-4 / NIST CSRC examples: SHA256.pdf one-block and two-block messages. */
    hex_of("abc", 3, 0, hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), 0, hex);
    CHECK_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    hex_of("", 0, 0, hex);
    CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* One million 'a' (NIST's long message), in pieces of 999 bytes. */
    char *ma = malloc(1000000);
    CHECK(ma != NULL);
    if (ma) {
        memset(ma, 'a', 1000000);
        hex_of(ma, 1000000, 999, hex);
        CHECK_EQ_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        free(ma);
    }

    char *text = tlv_test_read_file(TLV_TEST_DATA "/hub/data/sha256_vectors.txt", NULL);
    CHECK(text != NULL);
    int n_vec = 0;
    for (char *line = text; line && *line;) {
        unsigned long len;
        char want[65];
        if (sscanf(line, "%lu %64s", &len, want) != 2) break;
        unsigned char *msg = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) msg[i] = (unsigned char)((i * 7 + 3) & 0xFF);
        static const size_t pieces[] = {0, 1, 3, 63, 64, 65, 1000};
        for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
            hex_of(msg, len, pieces[k], hex);
            if (strcmp(hex, want)) fprintf(stderr, "length %lu, pieces of %zu:\n", len, pieces[k]);
            CHECK_EQ_STR(hex, want);
        }
        free(msg);
        n_vec++;
        line = strchr(line, '\n');
        if (line) line++;
    }
    CHECK(n_vec > 200);
    free(text);
}

int main(void)
{
    tlv_sha256 s;
    tlv__sha256_init(&s);
    fprintf(stderr, "CPU SHA instructions: %s\n", s.accel ? "yes, tested both paths" : "no");
    run_vectors();
    g_portable = 1;
    run_vectors();
    return tlv_test_finish("test_sha256");
}
