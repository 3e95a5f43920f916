/* The public API: misuse gets errors, not crashes; streaming, chat with KV reuse, sampling,
 * cancellation, bad inputs at the surface, and an out-of-memory pass with a failing allocator. */
#include "harness.h"

#include <pthread.h>
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
    CHECK_EQ_INT(tlv_session_get_info(NULL, NULL), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_model_get_info(NULL, NULL), TLV_ERR_INVALID_ARG);
    tlv_session_cancel(NULL);
    tlv_session_destroy(NULL);
    tlv_model_destroy(NULL);
    tlv_context_destroy(NULL);
    CHECK(strlen(tlv_context_errmsg(NULL)) > 0);
    CHECK_EQ_STR(tlv_status_string(TLV_ERR_NO_DEVICE), "no Vulkan device");
    CHECK(strlen(tlv_build_info()) > 0);
}

static void test_cancel_in_prefill(tlv_model *m);
static void test_no_silent_limits(tlv_model *m);
static void test_inspect(tlv_model *m);

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
    /* special tokens give their text (there is no skip_special) */
    CHECK_EQ_INT(tlv_model_token_text(m, 50256, piece, sizeof piece, &n), TLV_OK);
    CHECK(n == 13 && !memcmp(piece, "<|endoftext|>", 13));
    /* build info: what the header's example shows */
    CHECK(!strncmp(tlv_build_info(), "tinyllava-vk ", 13));
    CHECK_CONTAINS(tlv_build_info(), tlv_version());
    CHECK_CONTAINS(tlv_build_info(), "shaders: GLSL 450 -> SPIR-V, embedded");

    tlv_session *s = NULL;
    tlv_session_options so = {256, TLV_KV_DEFAULT};
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
    tlv_session_options big = {1u << 20, TLV_KV_DEFAULT};
    tlv_session *s3 = NULL;
    CHECK(tlv_session_create(m, &big, &s3) != TLV_OK && s3 == NULL);
    test_cancel_in_prefill(m);
    test_no_silent_limits(m);
    test_inspect(m);
    tlv_session_destroy(s);
    tlv_model_destroy(m);
}

/* Calls tlv_session_cancel without pause while `run` is set: a generate started meanwhile is
 * cancelled at its first check, the end of the first prefill pass. */
typedef struct canceller {
    tlv_session *s;
    int run, started;
} canceller;

static void *cancel_loop(void *ud)
{
    canceller *c = ud;
    __atomic_store_n(&c->started, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&c->run, __ATOMIC_SEQ_CST)) tlv_session_cancel(c->s);
    return NULL;
}

/* The prompt positions (reused + prefilled) a conversation renders to, with q3 as its open turn. */
static uint32_t positions_of(tlv_session *s, const char *q3, const tlv_sampling *sp)
{
    tlv_generate_stats r;
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(tlv_session_add_text(s, q3), TLV_OK);
    CHECK_EQ_INT(tlv_session_generate(s, sp, NULL, NULL, &r), TLV_OK);
    return r.reused_tokens + r.prompt_tokens;
}

/* No silent limits: every stop string the caller gives counts (the eighth here), and a
 * conversation is not limited to a number of turns, only by the context. */
static void test_no_silent_limits(tlv_model *m)
{
    tlv_session *s = NULL;
    tlv_session_options so = {2048, TLV_KV_DEFAULT};
    CHECK_EQ_INT(tlv_session_create(m, &so, &s), TLV_OK);
    if (!s) return;
    tlv_sampling sp;
    tlv_sampling_init(&sp);
    sp.max_tokens = 8;
    tlv_generate_stats r;
    CHECK_EQ_INT(tlv_session_add_text(s, "Hi"), TLV_OK);
    CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, &r), TLV_OK);
    char full[4096], cut[64];
    snprintf(full, sizeof full, "%s", tlv_session_last_answer(s));
    CHECK(strlen(full) > 8);
    snprintf(cut, sizeof cut, "%.3s", full + 5); /* three bytes inside the answer */
    const char *stops[] = {"#never1#", "#never2#", "#never3#", "#never4#", "#never5#", "#never6#", "#never7#", cut, NULL};
    sp.stop = stops;
    CHECK_EQ_INT(tlv_session_reset(s), TLV_OK);
    CHECK_EQ_INT(tlv_session_add_text(s, "Hi"), TLV_OK);
    CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, &r), TLV_OK);
    CHECK_EQ_STR(r.stop_reason, "stop_string");
    CHECK(strlen(tlv_session_last_answer(s)) <= 5 && !strncmp(tlv_session_last_answer(s), full, strlen(tlv_session_last_answer(s))));
    sp.stop = NULL;

    CHECK_EQ_INT(tlv_session_reset(s), TLV_OK);
    for (int i = 0; i < 70; i++) CHECK_EQ_INT(tlv_session_add_turn(s, "q", "a"), TLV_OK);
    CHECK_EQ_INT(tlv_session_add_text(s, "And now?"), TLV_OK);
    tlv_status st = tlv_session_generate(s, &sp, NULL, NULL, &r);
    if (st) fprintf(stderr, "70 turns: %s\n", tlv_session_errmsg(s));
    CHECK_EQ_INT(st, TLV_OK);
    tlv_session_destroy(s);
}

typedef struct pieces_acc {
    char text[256];
    size_t len;
    int calls, flushes;
} pieces_acc;

static int on_vocab_piece(void *ud, const char *piece, size_t len, int32_t id)
{
    pieces_acc *a = ud;
    if (a->len + len < sizeof a->text) {
        memcpy(a->text + a->len, piece, len);
        a->len += len;
        a->text[a->len] = 0;
    }
    if (id < 0) a->flushes++;
    else a->calls++;
    return 0;
}

/* A context without Vulkan: no device, no model, but pulling and vocabularies work; the vocab's
 * tokenizer and template against the GPT-2 ids and the fixture's reference prompt. */
static void test_vocab(void)
{
    tlv_context_options co;
    tlv_context_options_init(&co);
    co.no_vulkan = 1;
    tlv_context *ctx = NULL;
    CHECK_EQ_INT(tlv_context_create(&co, &ctx), TLV_OK);
    if (!ctx) return;
    CHECK_EQ_INT(tlv_device_count(ctx), 0);
    tlv_model *m = NULL;
    CHECK_EQ_INT(tlv_model_load(ctx, g_model, NULL, &m), TLV_ERR_NO_DEVICE);
    CHECK_CONTAINS(tlv_context_errmsg(ctx), "no_vulkan");

    /* pull: a folder is checked and given back; a buffer too small is an error, not a cut path */
    char dir[4096];
    CHECK_EQ_INT(tlv_model_pull(ctx, g_model, NULL, dir, sizeof dir), TLV_OK);
    CHECK_CONTAINS(dir, "phi2_siglip_square/model");
    char small[8];
    CHECK_EQ_INT(tlv_model_pull(ctx, g_model, NULL, small, sizeof small), TLV_ERR_LIMIT);
    CHECK_CONTAINS(tlv_context_errmsg(ctx), "bytes with its NUL, 8 given");
    CHECK(tlv_model_pull(ctx, "/nonexistent/model", NULL, dir, sizeof dir) != TLV_OK);
    CHECK_CONTAINS(tlv_context_errmsg(ctx), "/nonexistent/model");
    tlv_model_options off;
    tlv_model_options_init(&off);
    off.offline = 1;
    CHECK(tlv_model_pull(ctx, "nobody/not-cached-anywhere", &off, dir, sizeof dir) != TLV_OK);

    tlv_vocab *v = NULL;
    CHECK(tlv_vocab_open(ctx, "/nonexistent/model", NULL, &v) != TLV_OK && v == NULL);
    CHECK_EQ_INT(tlv_vocab_open(ctx, g_model, NULL, &v), TLV_OK);
    if (!v) goto out;
    tlv_vocab_info vi;
    CHECK_EQ_INT(tlv_vocab_get_info(v, &vi), TLV_OK);
    CHECK_EQ_STR(vi.kind, "bpe");
    CHECK_EQ_INT(vi.eos_id, 50256);
    CHECK_EQ_INT(vi.add_bos, 0);
    CHECK_EQ_INT(vi.image_token_id, -200);
    CHECK_EQ_STR(vi.chat_template, "phi");
    CHECK(vi.n_tokens > 50256);

    size_t n = 0;
    int32_t ids[16];
    CHECK_EQ_INT(tlv_vocab_encode(v, "Hello world", 11, 1, NULL, 0, &n), TLV_OK);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(tlv_vocab_encode(v, "Hello world", 11, 1, ids, 16, &n), TLV_OK);
    CHECK_EQ_INT(ids[0], 15496); /* GPT-2 'Hello' */
    CHECK_EQ_INT(ids[1], 995);   /* 'Ġworld' */
    CHECK_EQ_STR(tlv_vocab_token(v, 995), "\xc4\xa0world");
    CHECK(tlv_vocab_token(v, 1 << 30) == NULL);
    char text[64];
    int32_t with_eos[3] = {15496, 995, 50256};
    CHECK_EQ_INT(tlv_vocab_decode(v, with_eos, 3, 0, NULL, 0, &n), TLV_OK);
    CHECK_EQ_INT(n, strlen("Hello world<|endoftext|>"));
    CHECK_EQ_INT(tlv_vocab_decode(v, with_eos, 3, 0, text, sizeof text, &n), TLV_OK);
    CHECK_EQ_STR(text, "Hello world<|endoftext|>");
    CHECK_EQ_INT(tlv_vocab_decode(v, with_eos, 3, 1, text, sizeof text, &n), TLV_OK);
    CHECK_EQ_STR(text, "Hello world");
    int32_t not_a_token = 1 << 30;
    CHECK_EQ_INT(tlv_vocab_decode(v, &not_a_token, 1, 0, text, sizeof text, &n), TLV_ERR_INVALID_ARG);
    CHECK(strlen(tlv_vocab_errmsg(v)) > 0);

    /* pieces: one call per id, whole characters only; they join to the decoded text. U+1D50A
     * is three byte tokens in GPT-2 after "ok" and " " (482 220 47728 242 232). */
    const char *smile = "ok \xf0\x9d\x94\x8a";
    CHECK_EQ_INT(tlv_vocab_encode(v, smile, strlen(smile), 0, ids, 16, &n), TLV_OK);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(ids[2], 47728);
    pieces_acc acc;
    memset(&acc, 0, sizeof acc);
    CHECK_EQ_INT(tlv_vocab_decode_pieces(v, ids, n, 0, on_vocab_piece, &acc), TLV_OK);
    CHECK_EQ_INT(acc.calls, (int)n);
    CHECK_EQ_INT(acc.flushes, 0);
    CHECK_EQ_STR(acc.text, smile);
    /* a character cut short: the flush gives U+FFFD, as Hugging Face decodes it */
    memset(&acc, 0, sizeof acc);
    CHECK_EQ_INT(tlv_vocab_decode_pieces(v, ids, n - 1, 0, on_vocab_piece, &acc), TLV_OK);
    CHECK_EQ_INT(acc.flushes, 1);
    CHECK_EQ_STR(acc.text, "ok \xef\xbf\xbd");

    /* the chat template against the reference prompt of the fixture */
    char path[1100];
    snprintf(path, sizeof path, "%s/case.json", g_case);
    char *case_json = tlv_test_read_file(path, NULL);
    snprintf(path, sizeof path, "%s/expected.json", g_case);
    char *expected = tlv_test_read_file(path, NULL);
    CHECK(case_json && expected);
    const char *q = case_json ? strstr(case_json, "\"prompt\":") : NULL, *want = expected ? strstr(expected, "\"prompt\":") : NULL;
    if (q) q = strchr(q + 9, '"');
    if (want) want = strchr(want + 9, '"');
    CHECK(q && want);
    if (q && want) {
        q++;
        want++;
        char question[512], ref[1024];
        snprintf(question, sizeof question, "%.*s", (int)(strchr(q, '"') - q), q);
        /* the reference prompt holds "<image>\n" written as JSON: unescape that one */
        size_t k = 0;
        for (const char *p = want; *p != '"' && k + 1 < sizeof ref; p++) {
            if (p[0] == '\\' && p[1] == 'n') {
                ref[k++] = '\n';
                p++;
            } else {
                ref[k++] = *p;
            }
        }
        ref[k] = 0;
        tlv_turn t = {question, 1, NULL};
        char rendered[1024];
        CHECK_EQ_INT(tlv_vocab_render_chat(v, &t, 1, rendered, sizeof rendered, &n), TLV_OK);
        CHECK_EQ_STR(rendered, ref);
        CHECK_EQ_INT(n, strlen(ref));
    }
    free(case_json);
    free(expected);
    tlv_turn open_first[2] = {{"a", 0, NULL}, {"b", 0, NULL}};
    CHECK(tlv_vocab_render_chat(v, open_first, 2, text, sizeof text, &n) != TLV_OK);
    tlv_vocab_destroy(v);
    v = NULL;
    /* a template named in the options wins; an unknown one is an error */
    tlv_model_options mo;
    tlv_model_options_init(&mo);
    mo.chat_template = "llama";
    CHECK_EQ_INT(tlv_vocab_open(ctx, g_model, &mo, &v), TLV_OK);
    if (v) {
        CHECK_EQ_INT(tlv_vocab_get_info(v, &vi), TLV_OK);
        CHECK_EQ_STR(vi.chat_template, "llama");
    }
    tlv_vocab_destroy(v);
    v = NULL;
    mo.chat_template = "no-such-template";
    CHECK_EQ_INT(tlv_vocab_open(ctx, g_model, &mo, &v), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(tlv_context_errmsg(ctx), "no-such-template");
out:
    tlv_vocab_destroy(v);
    tlv_context_destroy(ctx);
}

/* What the last generate saw, through tlv_session_inspect: kinds, shapes and the errors. */
static void test_inspect(tlv_model *m)
{
    tlv_session *s = NULL;
    tlv_session_options so = {256, TLV_KV_DEFAULT};
    CHECK_EQ_INT(tlv_session_create(m, &so, &s), TLV_OK);
    if (!s) return;
    tlv_model_info info;
    CHECK_EQ_INT(tlv_model_get_info(m, &info), TLV_OK);
    tlv_array a;
    CHECK_EQ_INT(tlv_session_inspect(s, "last_logits", 0, &a), TLV_ERR_NOT_FOUND); /* no generate yet */
    CHECK(a.data == NULL && a.count == 0);
    CHECK_EQ_INT(tlv_session_add_image_file(s, g_image), TLV_OK);
    CHECK_EQ_INT(tlv_session_inspect(s, "pixel_values", 0, &a), TLV_OK); /* preprocessed when added */
    CHECK(a.type == TLV_ARRAY_F32 && a.ndim == 4 && a.shape[0] == 1 && a.shape[1] == 3);
    CHECK(a.shape[2] == (int64_t)info.image_size && a.shape[3] == (int64_t)info.image_size);
    CHECK_EQ_INT(a.count, 3 * info.image_size * info.image_size);
    CHECK_EQ_INT(tlv_session_inspect(s, "image_features", 0, &a), TLV_ERR_NOT_FOUND); /* not encoded */
    CHECK_CONTAINS(tlv_session_errmsg(s), "not encoded");
    CHECK_EQ_INT(tlv_session_add_text(s, "What is this?"), TLV_OK);
    tlv_sampling sp;
    tlv_sampling_init(&sp);
    sp.max_tokens = 3;
    tlv_generate_stats r;
    CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, &r), TLV_OK);
    CHECK_EQ_INT(tlv_session_inspect(s, "image_features", 0, &a), TLV_OK);
    CHECK(a.type == TLV_ARRAY_F32 && a.ndim == 2 && a.shape[0] == (int64_t)info.tokens_per_image &&
          a.shape[1] == (int64_t)info.hidden && a.count == (size_t)info.tokens_per_image * info.hidden);
    CHECK_EQ_INT(tlv_session_inspect(s, "last_logits", 0, &a), TLV_OK);
    CHECK(a.type == TLV_ARRAY_F32 && a.ndim == 1 && a.count == info.vocab);
    CHECK_EQ_INT(tlv_session_inspect(s, "generated_ids", 0, &a), TLV_OK);
    CHECK(a.type == TLV_ARRAY_I32 && a.count == r.generated_tokens);
    CHECK_EQ_INT(tlv_session_inspect(s, "prompt_ids", 0, &a), TLV_OK);
    /* one id per text position, one placeholder for the image's rows */
    CHECK_EQ_INT(a.count, r.prompt_tokens + r.reused_tokens - info.tokens_per_image + 1);
    int placeholders = 0;
    for (size_t i = 0; i < a.count; i++) placeholders += ((const int32_t *)a.data)[i] == -200;
    CHECK_EQ_INT(placeholders, 1);
    CHECK_EQ_INT(tlv_session_inspect(s, "pixel_values", 1, &a), TLV_ERR_NOT_FOUND);
    CHECK_CONTAINS(tlv_session_errmsg(s), "no image 1");
    CHECK_EQ_INT(tlv_session_inspect(s, "last_logits", 1, &a), TLV_ERR_NOT_FOUND);
    CHECK_EQ_INT(tlv_session_inspect(s, "attention", 0, &a), TLV_ERR_NOT_FOUND);
    CHECK_CONTAINS(tlv_session_errmsg(s), "no array named 'attention'");
    CHECK_EQ_INT(tlv_session_inspect(s, NULL, 0, &a), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_session_inspect(NULL, "last_logits", 0, &a), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_session_reset(s), TLV_OK);
    CHECK_EQ_INT(tlv_session_inspect(s, "prompt_ids", 0, &a), TLV_ERR_NOT_FOUND);
    tlv_session_destroy(s);
}

/* A cancel during prefill: nothing was answered, so the last answer is empty (not the previous
 * turn's) and the turn joins the history with an empty reply, as a cancel during decoding keeps
 * what was generated so far. The canceller thread spins from before generate starts; the turn
 * has an image, whose encoding (before prefill, no cancel check) gives it ample time to set the
 * flag again after generate clears it. Should a loaded machine still let the cancel land in
 * decoding, the attempt is repeated (at most five times). */
static void test_cancel_in_prefill(tlv_model *m)
{
    tlv_session *s = NULL, *ref = NULL;
    tlv_session_options so = {256, TLV_KV_DEFAULT};
    CHECK_EQ_INT(tlv_session_create(m, &so, &s), TLV_OK);
    CHECK_EQ_INT(tlv_session_create(m, &so, &ref), TLV_OK);
    if (!s || !ref) goto out;
    tlv_sampling sp;
    tlv_sampling_init(&sp);
    sp.max_tokens = 4;
    const char *q2 = "Tell me more about it, please.";
    int in_prefill = 0;
    for (int attempt = 0; attempt < 5 && !in_prefill; attempt++) {
        CHECK_EQ_INT(tlv_session_reset(s), TLV_OK);
        CHECK_EQ_INT(tlv_session_add_text(s, "Hi"), TLV_OK);
        CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, NULL), TLV_OK);
        char a1[4096];
        snprintf(a1, sizeof a1, "%s", tlv_session_last_answer(s));
        CHECK(strlen(a1) > 0);

        canceller c = {s, 1, 0};
        pthread_t th;
        CHECK_EQ_INT(pthread_create(&th, NULL, cancel_loop, &c), 0);
        while (!__atomic_load_n(&c.started, __ATOMIC_SEQ_CST)) {
        }
        CHECK_EQ_INT(tlv_session_add_image_file(s, g_image), TLV_OK);
        CHECK_EQ_INT(tlv_session_add_text(s, q2), TLV_OK);
        tlv_generate_stats r;
        memset(&r, 0, sizeof r);
        tlv_status st = tlv_session_generate(s, &sp, NULL, NULL, &r);
        __atomic_store_n(&c.run, 0, __ATOMIC_SEQ_CST);
        pthread_join(th, NULL);
        if (st != TLV_ERR_CANCELLED || r.generated_tokens != 0) {
            fprintf(stderr, "attempt %d: the cancel did not land in prefill (status %d, %u tokens): again\n", attempt,
                    st, r.generated_tokens);
            continue;
        }
        in_prefill = 1;
        CHECK_EQ_STR(r.stop_reason, "cancelled");
        CHECK_EQ_STR(tlv_session_last_answer(s), "");

        /* the history holds the cancelled turn with an empty reply: the same positions as a
         * conversation restored that way */
        CHECK_EQ_INT(tlv_session_reset(ref), TLV_OK);
        CHECK_EQ_INT(tlv_session_add_turn(ref, "Hi", a1), TLV_OK);
        CHECK_EQ_INT(tlv_session_add_image_file(ref, g_image), TLV_OK);
        CHECK_EQ_INT(tlv_session_add_turn(ref, q2, ""), TLV_OK);
        CHECK_EQ_INT(positions_of(s, "Why?", &sp), positions_of(ref, "Why?", &sp));
    }
    CHECK(in_prefill);
out:
    tlv_session_destroy(ref);
    tlv_session_destroy(s);
}

/* An allocation failure at every point of a follow-up generate: the last answer is never the
 * previous turn's, and the session stays usable (a turn whose answer had not begun is pending
 * again, and a retry gives the answer of a run without failures). */
static void test_failure_in_generate(void)
{
    tlv_allocator a;
    tlv_test_failing_alloc fa;
    tlv_test_failing_alloc_init(&a, &fa, -1);
    tlv_context_options co;
    tlv_context_options_init(&co);
    co.allocator = &a;
    tlv_context *ctx = NULL;
    tlv_model *m = NULL;
    tlv_session *s = NULL;
    CHECK_EQ_INT(tlv_context_create(&co, &ctx), TLV_OK);
    CHECK_EQ_INT(tlv_model_load(ctx, g_model, NULL, &m), TLV_OK);
    tlv_session_options so = {256, TLV_KV_DEFAULT};
    CHECK_EQ_INT(tlv_session_create(m, &so, &s), TLV_OK);
    if (!s) goto out;
    tlv_sampling sp;
    tlv_sampling_init(&sp);
    sp.max_tokens = 4;
    char a1[4096], a2[4096];
    CHECK_EQ_INT(tlv_session_add_text(s, "Hi"), TLV_OK);
    CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, NULL), TLV_OK);
    snprintf(a1, sizeof a1, "%s", tlv_session_last_answer(s));
    CHECK_EQ_INT(tlv_session_add_text(s, "And then?"), TLV_OK);
    CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, NULL), TLV_OK);
    snprintf(a2, sizeof a2, "%s", tlv_session_last_answer(s));
    CHECK(strlen(a1) > 0 && strncmp(a2, a1, strlen(a1)) != 0); /* a1 is not a prefix of a2 */

    int reached = 0, failures = 0;
    for (long k = 0; k < 400 && !reached; k++) {
        CHECK_EQ_INT(tlv_session_reset(s), TLV_OK);
        CHECK_EQ_INT(tlv_session_add_text(s, "Hi"), TLV_OK);
        CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, NULL), TLV_OK);
        CHECK_EQ_INT(tlv_session_add_text(s, "And then?"), TLV_OK);
        fa.fail_after = fa.n_calls + k;
        tlv_status st = tlv_session_generate(s, &sp, NULL, NULL, NULL);
        fa.fail_after = -1;
        if (st == TLV_OK) {
            reached = 1;
            CHECK_EQ_STR(tlv_session_last_answer(s), a2);
            continue;
        }
        failures++;
        const char *partial = tlv_session_last_answer(s);
        if (strncmp(a2, partial, strlen(partial)) != 0) {
            fprintf(stderr, "failure after %ld allocations: status %d, last answer \"%s\", expected a prefix of \"%s\"\n",
                    k, st, partial, a2);
            CHECK(0);
        }
        st = tlv_session_generate(s, &sp, NULL, NULL, NULL);
        if (st == TLV_OK) {
            CHECK_EQ_STR(tlv_session_last_answer(s), a2);
        } else { /* the turn was kept (its answer had begun): the conversation goes on */
            CHECK_EQ_INT(st, TLV_ERR_INVALID_ARG);
            CHECK_EQ_INT(tlv_session_add_text(s, "Why?"), TLV_OK);
            CHECK_EQ_INT(tlv_session_generate(s, &sp, NULL, NULL, NULL), TLV_OK);
        }
    }
    CHECK(reached);
    CHECK(failures > 0);
out:
    tlv_session_destroy(s);
    tlv_model_destroy(m);
    tlv_context_destroy(ctx);
    CHECK_EQ_INT(fa.live, 0);
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
        tlv_session_options so = {128, TLV_KV_DEFAULT};
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
    test_failure_in_generate();
    test_vocab();
    return tlv_test_finish("test_api");
}
