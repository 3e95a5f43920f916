// tinyllava.h from C++: every declaration compiles in extern "C" and links from C++ against the
// public library alone (the target `tinyllava`, static or shared). The calls that need no device
// run: a no_vulkan context, pulling a folder, a vocabulary; the device calls get a handle they
// must refuse (NULL) or are only taken by address, so the whole header is used.
#include "tinyllava.h"

#include <cstdio>
#include <cstring>
#include <string>

static int g_checks, g_failed;

static void check(bool ok, const char *what, int line)
{
    g_checks++;
    if (!ok) {
        g_failed++;
        std::fprintf(stderr, "test_api_cxx.cpp:%d: %s failed\n", line, what);
    }
}
#define CHECK(x) check((x), #x, __LINE__)

static int count_pieces(void *ud, const char *, size_t, int32_t)
{
    ++*static_cast<int *>(ud);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: test_api_cxx FIXTURE_DIR\n");
        return 2;
    }
    std::string model = std::string(argv[1]) + "/model";

    // version, status, option initialisers
    CHECK(std::strlen(tlv_version()) > 0);
    CHECK(std::strncmp(tlv_build_info(), "tinyllava-vk ", 13) == 0);
    CHECK(std::strcmp(tlv_status_string(TLV_OK), "ok") == 0);
    tlv_sampling s;
    tlv_sampling_init(&s);
    CHECK(s.top_p == 1.0f && s.temperature == 0.0f && s.repeat_penalty == 1.0f);
    tlv_model_options mo;
    tlv_model_options_init(&mo);
    CHECK(mo.chat_template == nullptr && mo.offline == 0);

    // a context without Vulkan: pull and vocab work, models do not load
    tlv_context_options o;
    tlv_context_options_init(&o);
    o.no_vulkan = 1;
    tlv_context *ctx = nullptr;
    CHECK(tlv_context_create(&o, &ctx) == TLV_OK);
    CHECK(tlv_device_count(ctx) == 0);
    tlv_device_info di;
    CHECK(tlv_device_get_info(ctx, 0, &di) == TLV_ERR_NOT_FOUND);
    char banner[64];
    CHECK(tlv_device_banner(ctx, 0, banner, sizeof banner) == TLV_ERR_NOT_FOUND);
    tlv_model *m = nullptr;
    CHECK(tlv_model_load(ctx, model.c_str(), &mo, &m) == TLV_ERR_NO_DEVICE && m == nullptr);
    CHECK(std::strlen(tlv_context_errmsg(ctx)) > 0);
    char dir[4096];
    CHECK(tlv_model_pull(ctx, model.c_str(), &mo, dir, sizeof dir) == TLV_OK);
    CHECK(std::strstr(dir, "model") != nullptr);

    tlv_vocab *v = nullptr;
    CHECK(tlv_vocab_open(ctx, model.c_str(), &mo, &v) == TLV_OK);
    if (v) {
        tlv_vocab_info vi;
        CHECK(tlv_vocab_get_info(v, &vi) == TLV_OK && vi.n_tokens > 0 && vi.chat_template != nullptr);
        int32_t ids[8];
        size_t n = 0;
        CHECK(tlv_vocab_encode(v, "Hello world", 11, 1, ids, 8, &n) == TLV_OK && n == 2);
        CHECK(tlv_vocab_token(v, ids[0]) != nullptr);
        char text[32];
        size_t len = 0;
        CHECK(tlv_vocab_decode(v, ids, n, 1, text, sizeof text, &len) == TLV_OK && std::strcmp(text, "Hello world") == 0);
        int pieces = 0;
        CHECK(tlv_vocab_decode_pieces(v, ids, n, 0, count_pieces, &pieces) == TLV_OK && pieces == 2);
        tlv_turn t = {"Hi", 0, nullptr};
        char prompt[512];
        CHECK(tlv_vocab_render_chat(v, &t, 1, prompt, sizeof prompt, &len) == TLV_OK && len > 0);
        CHECK(std::strcmp(tlv_vocab_errmsg(v), "") == 0);
    }
    tlv_vocab_destroy(v);

    // session calls refuse a NULL handle; the rest of the header is used by address
    tlv_array a;
    CHECK(tlv_session_inspect(nullptr, "last_logits", 0, &a) == TLV_ERR_INVALID_ARG);
    CHECK(tlv_session_generate(nullptr, &s, nullptr, nullptr, nullptr) == TLV_ERR_INVALID_ARG);
    CHECK(tlv_session_add_turn(nullptr, "q", "a") == TLV_ERR_INVALID_ARG);
    CHECK(std::strlen(tlv_session_last_answer(nullptr)) == 0);
    CHECK(std::strlen(tlv_session_errmsg(nullptr)) > 0);
    tlv_model_info mi;
    CHECK(tlv_model_get_info(nullptr, &mi) == TLV_ERR_INVALID_ARG);
    size_t n = 0;
    CHECK(tlv_model_tokenize(nullptr, "x", 1, nullptr, 0, &n) == TLV_ERR_INVALID_ARG);
    CHECK(tlv_model_token_text(nullptr, 0, nullptr, 0, &n) == TLV_ERR_INVALID_ARG);
    tlv_session *sess = nullptr;
    CHECK(tlv_session_create(nullptr, nullptr, &sess) == TLV_ERR_INVALID_ARG);
    CHECK(tlv_session_add_image_file(nullptr, "x") == TLV_ERR_INVALID_ARG);
    CHECK(tlv_session_add_image_rgb(nullptr, nullptr, 1, 1, 3) == TLV_ERR_INVALID_ARG);
    CHECK(tlv_session_add_text(nullptr, "x") == TLV_ERR_INVALID_ARG);
    CHECK(tlv_session_reset(nullptr) == TLV_ERR_INVALID_ARG);
    tlv_session_cancel(nullptr);
    tlv_session_destroy(nullptr);
    tlv_model_destroy(nullptr);
    tlv_context_destroy(ctx);
    tlv_context_destroy(nullptr);
    tlv_token_fn fn = count_pieces;
    tlv_progress_fn pf = nullptr;
    tlv_generate_stats gs;
    std::memset(&gs, 0, sizeof gs);
    tlv_session_options so = {0, TLV_KV_DEFAULT};
    CHECK(fn != nullptr && pf == nullptr && gs.stop_reason == nullptr && so.n_ctx == 0);

    std::printf("test_api_cxx %s: %d checks, %d failed\n", tlv_version(), g_checks, g_failed);
    return g_failed || g_checks == 0 ? 1 : 0;
}
