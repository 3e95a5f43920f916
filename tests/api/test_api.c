/* The public API: misuse gets errors, not crashes; streaming, chat with KV reuse, sampling,
 * cancellation, bad inputs at the surface, and an out-of-memory pass with a failing allocator. */
#include "harness.h"

#include <stdlib.h>

#include "tinyllava.h"

static const char *g_case;
static char g_model[1024], g_image[1024];

typedef struct stream_acc {
    char text[4096];
    size_t len;
    int calls;
    int stop_after;
} stream_acc;

static int on_piece(void *ud, const char *piece, size_t len, int32_t id)
{
    stream_acc *a = ud;
    (void)id;
    if (a->len + len < sizeof a->text) {
        memcpy(a->text + a->len, piece, len);
        a->len += len;
        a->text[a->len] = 0;
    }
    a->calls++;
    return a->stop_after && a->calls >= a->stop_after;
}

static void test_misuse(void)
{
    CHECK_EQ_INT(tlv_context_create(NULL, NULL), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_model_load(NULL, "x", NULL, NULL), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_session_create(NULL, NULL, NULL), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_session_add_text(NULL, "x"), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_session_add_image_file(NULL, "x"), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_session_generate(NULL, NULL, NULL, NULL, NULL), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_session_reset(NULL), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_model_get_info(NULL, NULL), TLV_ERR_INVALID_ARG);
    tlv_session_cancel(NULL);
    tlv_session_destroy(NULL);
    tlv_model_destroy(NULL);
    tlv_context_destroy(NULL);
    CHECK(strlen(tlv_context_errmsg(NULL)) > 0);
    CHECK_EQ_STR(tlv_status_string(TLV_ERR_NO_DEVICE), "no Vulkan device");
    CHECK(strlen(tlv_build_info()) > 0);
}

static void test_model(tlv_context *ctx)
{
    tlv_model *m = NULL;
    /* bad model paths */
    CHECK(tlv_model_load(ctx, "/nonexistent/dir", NULL, &m) != TLV_OK);
    CHECK(m == NULL);
    CHECK_CONTAINS(tlv_context_errmsg(ctx), "/nonexistent/dir");
    CHECK_EQ_INT(tlv_model_load(ctx, "", NULL, &m), TLV_ERR_INVALID_ARG);
    tlv_model_options mo;
    tlv_model_options_init(&mo);
    mo.chat_template = "no-such-template";
    CHECK_EQ_INT(tlv_model_load(ctx, g_model, &mo, &m), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(tlv_context_errmsg(ctx), "no-such-template");

    CHECK_EQ_INT(tlv_model_load(ctx, g_model, NULL, &m), TLV_OK);
    if (!m) return;
    tlv_model_info info;
    CHECK_EQ_INT(tlv_model_get_info(m, &info), TLV_OK);
    CHECK_EQ_STR(info.llm_arch, "phi");
    CHECK_EQ_STR(info.vision_arch, "siglip");
    CHECK_EQ_STR(info.chat_template, "phi");
    CHECK_EQ_INT(info.tokens_per_image, 48);
    CHECK(info.device_bytes > 0);
    /* tokenizer access: sizing call, then the ids */
    size_t n = 0;
    CHECK_EQ_INT(tlv_model_tokenize(m, "Hello world", 1, NULL, 0, &n), TLV_OK);
    CHECK_EQ_INT(n, 2);
    int32_t ids[8];
    CHECK_EQ_INT(tlv_model_tokenize(m, "Hello world", 1, ids, 8, &n), TLV_OK);
    CHECK_EQ_INT(ids[0], 15496); /* GPT-2 'Hello' */
    CHECK_EQ_INT(ids[1], 995);   /* 'Ġworld' */
    char piece[16];
    CHECK_EQ_INT(tlv_model_token_text(m, 995, piece, sizeof piece, &n), TLV_OK);
    CHECK(n == 6 && !memcmp(piece, " world", 6));

    tlv_session *s = NULL;
    tlv_session_options so = {256};
    CHECK_EQ_INT(tlv_session_create(m, &so, &s), TLV_OK);
    /* wrong order: generate with nothing added */
    CHECK_EQ_INT(tlv_session_generate(s, NULL, NULL, NULL, NULL), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(tlv_session_errmsg(s), "nothing to answer");
    /* bad images */
    CHECK_EQ_INT(tlv_session_add_image_file(s, "/nonexistent.png"), TLV_ERR_NOT_FOUND);
    CHECK_CONTAINS(tlv_session_errmsg(s), "/nonexistent.png");
    uint8_t px[12] = {0};
    CHECK_EQ_INT(tlv_session_add_image_rgb(s, px, 0, 2, 6), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_session_add_image_rgb(s, px, 2, 2, 3), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_session_add_image_rgb(s, NULL, 2, 2, 6), TLV_ERR_INVALID_ARG);

    /* a prompt longer than the context: clear error, the session stays usable */
    char *longp = malloc(20000);
    for (int i = 0; i < 19999; i++) longp[i] = i % 2 ? ' ' : 'a';
    longp[19999] = 0;
    CHECK_EQ_INT(tlv_session_add_text(s, longp), TLV_OK);
    CHECK_EQ_INT(tlv_session_generate(s, NULL, NULL, NULL, NULL), TLV_ERR_LIMIT);
    CHECK_CONTAINS(tlv_session_errmsg(s), "exceeds the context of 256");
    free(longp);
    CHECK_EQ_INT(tlv_session_reset(s), TLV_OK);

    /* streaming: the pieces add up to the answer */
    tlv_sampling sp;
    tlv_sampling_init(&sp);
    sp.max_tokens = 8;
    CHECK_EQ_INT(tlv_session_add_image_file(s, g_image), TLV_OK);
    CHECK_EQ_INT(tlv_session_add_text(s, "What is in the picture?"), TLV_OK);
    stream_acc acc = {{0}, 0, 0, 0};
    tlv_generate_stats r;
    CHECK_EQ_INT(tlv_session_generate(s, &sp, on_piece, &acc, &r), TLV_OK);
    CHECK_EQ_STR(acc.text, tlv_session_last_answer(s));
    CHECK_EQ_INT(r.generated_tokens, 8);
    CHECK_EQ_STR(r.stop_reason, "max_tokens");
    CHECK_EQ_INT(r.image_tokens, 48);
    CHECK_EQ_INT(r.reused_tokens, 0);
    uint32_t first_prompt = r.prompt_tokens;

    /* a follow-up question reuses the KV cache of the first turn */
    CHECK_EQ_INT(tlv_session_add_text(s, "And the colour?"), TLV_OK);
    CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, &r), TLV_OK);
    CHECK(r.reused_tokens >= first_prompt);
    CHECK(r.prompt_tokens < first_prompt);

    /* the callback can stop the stream */
    CHECK_EQ_INT(tlv_session_add_text(s, "More?"), TLV_OK);
    stream_acc stop = {{0}, 0, 0, 2};
    CHECK_EQ_INT(tlv_session_generate(s, &sp, on_piece, &stop, &r), TLV_OK);
    CHECK_EQ_STR(r.stop_reason, "callback");

    /* sampling with a seed is reproducible; reset forgets everything */
    sp.temperature = 0.8f;
    sp.top_k = 40;
    sp.top_p = 0.9f;
    sp.seed = 42;
    char first[4096];
    CHECK_EQ_INT(tlv_session_reset(s), TLV_OK);
    CHECK_EQ_INT(tlv_session_add_text(s, "Tell me a story."), TLV_OK);
    CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, &r), TLV_OK);
    snprintf(first, sizeof first, "%s", tlv_session_last_answer(s));
    CHECK_EQ_INT(r.image_tokens, 0); /* text only */
    CHECK_EQ_INT(tlv_session_reset(s), TLV_OK);
    CHECK_EQ_INT(tlv_session_add_text(s, "Tell me a story."), TLV_OK);
    CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, &r), TLV_OK);
    CHECK_EQ_STR(tlv_session_last_answer(s), first);

    /* a cancel before generate does not stick; after reset, use works again */
    tlv_session_cancel(s);
    CHECK_EQ_INT(tlv_session_add_text(s, "Again?"), TLV_OK);
    CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, &r), TLV_OK);

    /* two images in one message: one placeholder each; a typed "<image>" is not a placeholder */
    CHECK_EQ_INT(tlv_session_reset(s), TLV_OK);
    CHECK_EQ_INT(tlv_session_add_image_file(s, g_image), TLV_OK);
    CHECK_EQ_INT(tlv_session_add_image_file(s, g_image), TLV_OK);
    CHECK_EQ_INT(tlv_session_add_text(s, "Compare <image> these."), TLV_OK);
    sp.temperature = 0;
    CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, &r), TLV_OK);
    CHECK_EQ_INT(r.image_tokens, 96);

    /* two sessions share one model */
    tlv_session *s2 = NULL;
    CHECK_EQ_INT(tlv_session_create(m, &so, &s2), TLV_OK);
    CHECK_EQ_INT(tlv_session_add_text(s2, "Hi"), TLV_OK);
    CHECK_EQ_INT(tlv_session_generate(s2, NULL, NULL, NULL, &r), TLV_OK);
    tlv_session_destroy(s2);
    /* a context larger than the model's is refused */
    tlv_session_options big = {1u << 20};
    tlv_session *s3 = NULL;
    CHECK(tlv_session_create(m, &big, &s3) != TLV_OK && s3 == NULL);
    tlv_session_destroy(s);
    tlv_model_destroy(m);
}

/* Every allocation failure on the way to a first answer is an error, never a crash or a leak. */
static void test_out_of_memory(void)
{
    long points[] = {0, 1, 2, 3, 5, 8, 13, 30, 60, 100, 200, 400, 800, 1600, 3200, 6400};
    int reached = 0;
    for (size_t i = 0; i < sizeof points / sizeof points[0] && !reached; i++) {
        tlv_allocator a;
        tlv_test_failing_alloc st;
        tlv_test_failing_alloc_init(&a, &st, points[i]);
        tlv_context_options co;
        tlv_context_options_init(&co);
        co.allocator = &a;
        tlv_context *ctx = NULL;
        tlv_model *m = NULL;
        tlv_session *s = NULL;
        tlv_status r = tlv_context_create(&co, &ctx);
        if (!r) r = tlv_model_load(ctx, g_model, NULL, &m);
        tlv_session_options so = {128};
        if (!r) r = tlv_session_create(m, &so, &s);
        if (!r) r = tlv_session_add_text(s, "Hi");
        tlv_sampling sp;
        tlv_sampling_init(&sp);
        sp.max_tokens = 2;
        if (!r) r = tlv_session_generate(s, &sp, NULL, NULL, NULL);
        if (!r) reached = 1;
        tlv_session_destroy(s);
        tlv_model_destroy(m);
        tlv_context_destroy(ctx);
        if (st.live != 0) fprintf(stderr, "fail_after %ld: status %d, %ld blocks leaked\n", points[i], r, st.live);
        CHECK_EQ_INT(st.live, 0);
    }
    CHECK(reached);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    g_case = argv[1];
    snprintf(g_model, sizeof g_model, "%s/model", g_case);
    snprintf(g_image, sizeof g_image, "%s/image.png", g_case);
    test_misuse();
    tlv_context *ctx = NULL;
    tlv_status st = tlv_context_create(NULL, &ctx);
    if (st) fprintf(stderr, "%s\n", tlv_context_errmsg(ctx));
    CHECK_EQ_INT(st, TLV_OK);
    tlv_device_info di;
    CHECK_EQ_INT(tlv_device_get_info(ctx, 0, &di), TLV_OK);
    CHECK(di.selected == 1);
    CHECK_EQ_INT(tlv_device_get_info(ctx, 99, &di), TLV_ERR_NOT_FOUND);
    char banner[1024];
    CHECK_EQ_INT(tlv_device_banner(ctx, 0, banner, sizeof banner), TLV_OK);
    CHECK_CONTAINS(banner, di.name);
    test_model(ctx);
    tlv_context_destroy(ctx);
    test_out_of_memory();
    return tlv_test_finish("test_api");
}
