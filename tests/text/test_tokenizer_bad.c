/* test_tokenizer_bad.c: bad tokenizer files must fail with a clear message (the file and the
 * problem), never crash or leak; and every allocation failure must be reported cleanly.
 *   - missing folder / files, malformed JSON, wrong JSON shapes, merges naming unknown tokens;
 *   - tokenizer.model truncated at many lengths and with random bytes flipped;
 *   - out of memory at every allocation of load, encode and decode (a failing allocator that
 *     also counts live blocks). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "text/spm.h"
#include "text/tokenizer.h"
#include "textdata.h"

static char g_root[512];

/* Writes dir/name with the given text, making dir when needed. */
static void put(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_root, dir);
    textdata_mkdir(path);
    snprintf(path, sizeof path, "%s/%s/%s", g_root, dir, name);
    CHECK_EQ_INT(textdata_write(path, text, strlen(text)), 0);
}

/* Loads g_root/dir and expects status with a message containing both needles. */
static void expect_fail(const char *dir, tlv_status status, const char *needle1, const char *needle2)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", g_root, dir);
    tlv_tokenizer *t = (tlv_tokenizer *)1;
    tlv_err err = {0};
    tlv_status st = tlv__tokenizer_load(path, NULL, &t, &err);
    CHECK_EQ_INT(st, status);
    CHECK(t == NULL);
    CHECK_CONTAINS(err.msg, needle1);
    if (needle2) CHECK_CONTAINS(err.msg, needle2);
    printf("%-16s -> %s\n", dir, err.msg);
    if (st == TLV_OK) tlv__tokenizer_destroy(t);
}

/* A tiny byte-level vocabulary: the 256 byte symbols plus a few merges' results. */
static char *tiny_vocab(const char *extra)
{
    static char buf[16384];
    char *w = buf;
    w += sprintf(w, "{");
    int id = 0;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        static int next = 256;
        int cp = keep ? b : next++;
        if (b == 255) next = 256;
        char u[16];
        if (cp < 0x80) sprintf(u, "%s%c", cp == '"' || cp == '\\' ? "\\" : "", cp);
        else sprintf(u, "\\u%04x", cp);
        w += sprintf(w, "%s\"%s\": %d", id ? ", " : "", u, id);
        id++;
    }
    w += sprintf(w, ", \"he\": 256, \"ll\": 257, \"hell\": 258, \"hello\": 259%s}", extra ? extra : "");
    return buf;
}

static void test_files(void)
{
    expect_fail("nonexistent", TLV_ERR_NOT_FOUND, "no tokenizer files", "nonexistent");

    put("only_vocab", "vocab.json", tiny_vocab(NULL));
    expect_fail("only_vocab", TLV_ERR_NOT_FOUND, "merges.txt", "cannot open");

    put("bad_json", "vocab.json", "{\"a\": 0, \"b\": 1,,}");
    put("bad_json", "merges.txt", "#version: 0.2\n");
    expect_fail("bad_json", TLV_ERR_FORMAT, "vocab.json", "malformed JSON");

    put("vocab_array", "vocab.json", "[1, 2, 3]");
    put("vocab_array", "merges.txt", "");
    expect_fail("vocab_array", TLV_ERR_FORMAT, "vocab.json", "expected a JSON object");

    put("vocab_bad_id", "vocab.json", "{\"a\": -4}");
    put("vocab_bad_id", "merges.txt", "");
    expect_fail("vocab_bad_id", TLV_ERR_FORMAT, "vocab.json", "token 'a'");

    put("vocab_dup_id", "vocab.json", "{\"a\": 0, \"b\": 0}");
    put("vocab_dup_id", "merges.txt", "");
    expect_fail("vocab_dup_id", TLV_ERR_FORMAT, "vocab.json", "id 0 is given to both");

    put("no_bytes", "vocab.json", "{\"a\": 0, \"b\": 1}");
    put("no_bytes", "merges.txt", "");
    expect_fail("no_bytes", TLV_ERR_FORMAT, "vocab.json", "no token for byte");

    put("merge_unknown", "vocab.json", tiny_vocab(NULL));
    put("merge_unknown", "merges.txt", "#version: 0.2\nh e\nxyz l\n");
    expect_fail("merge_unknown", TLV_ERR_FORMAT, "merges.txt:3", "merge names unknown token 'xyz'");

    put("merge_result", "vocab.json", tiny_vocab(NULL));
    put("merge_result", "merges.txt", "#version: 0.2\nh e\nl o\n");
    expect_fail("merge_result", TLV_ERR_FORMAT, "merges.txt:3", "merge result 'lo' is not in the vocabulary");

    put("merge_shape", "vocab.json", tiny_vocab(NULL));
    put("merge_shape", "merges.txt", "#version: 0.2\nh e\nhello\n");
    expect_fail("merge_shape", TLV_ERR_FORMAT, "merges.txt:3", "expected two tokens");

    put("bad_config", "vocab.json", tiny_vocab(NULL));
    put("bad_config", "merges.txt", "h e\nl l\nhe ll\nhell o\n");
    put("bad_config", "tokenizer_config.json", "{\"add_bos_token\": tru");
    expect_fail("bad_config", TLV_ERR_FORMAT, "tokenizer_config.json", "malformed JSON");

    put("bad_added", "vocab.json", tiny_vocab(NULL));
    put("bad_added", "merges.txt", "h e\nl l\nhe ll\nhell o\n");
    put("bad_added", "added_tokens.json", "{\"<x>\": \"seven\"}");
    expect_fail("bad_added", TLV_ERR_FORMAT, "added_tokens.json", "'<x>'");

    put("bad_decoder", "vocab.json", tiny_vocab(NULL));
    put("bad_decoder", "merges.txt", "h e\nl l\nhe ll\nhell o\n");
    put("bad_decoder", "tokenizer_config.json", "{\"added_tokens_decoder\": {\"abc\": {\"content\": \"<x>\"}}}");
    expect_fail("bad_decoder", TLV_ERR_FORMAT, "tokenizer_config.json", "added_tokens_decoder");

    put("json_bad_merge", "tokenizer.json",
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a q\"]},"
        " \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}");
    expect_fail("json_bad_merge", TLV_ERR_FORMAT, "tokenizer.json", "no token for byte");

    put("json_unigram", "tokenizer.json", "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
    expect_fail("json_unigram", TLV_ERR_UNSUPPORTED, "tokenizer.json", "only BPE");

    put("json_not_bytelevel", "tokenizer.json",
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"pre_tokenizer\": {\"type\": \"Metaspace\"}}");
    expect_fail("json_not_bytelevel", TLV_ERR_UNSUPPORTED, "tokenizer.json", "neither a byte-level BPE");

    put("json_spm_merge", "tokenizer.json",
        "{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"unk_token\": \"<unk>\","
        " \"vocab\": {\"<unk>\": 0, \"a\": 1, \"b\": 2, \"ab\": 3}, \"merges\": [\"a b\", \"ab c\"]}}");
    expect_fail("json_spm_merge", TLV_ERR_FORMAT, "tokenizer.json: model.merges[1]", "merge names unknown token 'c'");

    put("json_spm_unk", "tokenizer.json",
        "{\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"a\": 0}, \"merges\": []}}");
    expect_fail("json_spm_unk", TLV_ERR_FORMAT, "tokenizer.json", "unk_token");

    /* A well-formed tiny tokenizer works: "hello hello" -> hello, Ġ h e l l o ... */
    put("tiny_ok", "vocab.json", tiny_vocab(NULL));
    put("tiny_ok", "merges.txt", "#version: 0.2\nh e\nl l\nhe ll\nhell o\n");
    char path[1024];
    snprintf(path, sizeof path, "%s/tiny_ok", g_root);
    tlv_tokenizer *t;
    tlv_err err = {0};
    CHECK_EQ_INT(tlv__tokenizer_load(path, NULL, &t, &err), TLV_OK);
    if (t) {
        int32_t *ids;
        size_t n;
        CHECK_EQ_INT(tlv__tokenizer_encode(t, "hello", 5, 1, &ids, &n, &err), TLV_OK);
        CHECK_EQ_INT(n, 1);
        if (n == 1) CHECK_EQ_INT(ids[0], 259);
        free(ids);
        tlv__tokenizer_destroy(t);
    }
}

/* tokenizer.model cut short and corrupted. */
static void test_spm_corrupt(void)
{
    size_t n;
    unsigned char *model = (unsigned char *)textdata_read("llama2/tokenizer.model.gz", &n);
    CHECK(model != NULL);
    if (!model) return;
    tlv_spm *s;
    tlv_err err = {0};
    CHECK_EQ_INT(tlv__spm_load_bytes(model, n, "tokenizer.model", NULL, &s, &err), TLV_OK);
    tlv__spm_destroy(s);

    /* Every cut inside the pieces or the trainer_spec must fail with the file named. */
    size_t n_cut = 0, n_fail = 0;
    for (size_t cut = 0; cut < n; cut += cut < 300 ? 1 : 997) {
        tlv_status st = tlv__spm_load_bytes(model, cut, "tokenizer.model", NULL, &s, &err);
        n_cut++;
        if (st) {
            n_fail++;
            CHECK_CONTAINS(err.msg, "tokenizer.model");
            CHECK(s == NULL);
        } else {
            tlv__spm_destroy(s);
        }
    }
    CHECK_EQ_INT(n_fail, n_cut); /* the normalizer_spec comes last and is small: all cuts above fail */
    CHECK_EQ_INT(tlv__spm_load_bytes(model, n / 2, "tokenizer.model", NULL, &s, &err), TLV_ERR_FORMAT);
    printf("truncated at %zu: %s\n", n / 2, err.msg);
    CHECK_EQ_INT(tlv__spm_load_bytes(model, 0, "tokenizer.model", NULL, &s, &err), TLV_ERR_FORMAT);
    printf("empty: %s\n", err.msg);
    const char junk[] = "{\"this is\": \"json, not protobuf\"}";
    CHECK(tlv__spm_load_bytes(junk, sizeof junk - 1, "tokenizer.model", NULL, &s, &err) != TLV_OK);
    printf("json junk: %s\n", err.msg);

    /* Random byte flips: load or fail, never crash; a loaded model still encodes. */
    uint64_t rng = 12345;
    size_t n_ok = 0;
    unsigned char *copy = malloc(n);
    for (int trial = 0; trial < 300; trial++) {
        memcpy(copy, model, n);
        int flips = 1 + (int)(tlv_test_rand_u32(&rng) % 8);
        for (int k = 0; k < flips; k++) copy[tlv_test_rand_u32(&rng) % n] ^= (unsigned char)(1 + tlv_test_rand_u32(&rng) % 255);
        tlv_status st = tlv__spm_load_bytes(copy, n, "tokenizer.model", NULL, &s, &err);
        if (st) {
            CHECK_CONTAINS(err.msg, "tokenizer.model");
            continue;
        }
        n_ok++;
        tlv_ids ids = {0};
        const char *text = "Hello world, \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80!";
        CHECK_EQ_INT(tlv__spm_encode(s, text, strlen(text), 1, &ids, &err), TLV_OK);
        free(ids.p);
        tlv__spm_destroy(s);
    }
    printf("corrupted models: %zu of 300 still load (flips in scores or piece text), the rest fail cleanly\n", n_ok);
    free(copy);
    free(model);
}

/* Random bytes (skewed towards UTF-8 lead/continuation bytes, whitespace and token
 * punctuation): encode must succeed with valid ids, decode and streaming must agree. */
static void test_random_bytes(const char *dir_name)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", g_root, dir_name);
    tlv_tokenizer *t;
    tlv_err err = {0};
    CHECK_EQ_INT(tlv__tokenizer_load(dir, NULL, &t, &err), TLV_OK);
    if (!t) return;
    static const unsigned char alphabet[] = " \t\n\r<|>sa'1\xC2\xC3\xE2\xE4\xF0\x80\x81\x9F\xA0\xBF\xBD\xFF\xE2\x96\x81";
    uint64_t rng = 777;
    size_t n_ok = 0;
    for (int trial = 0; trial < 300; trial++) {
        char text[256];
        size_t len = tlv_test_rand_u32(&rng) % sizeof text;
        for (size_t i = 0; i < len; i++)
            text[i] = (char)(tlv_test_rand_u32(&rng) % 3 ? alphabet[tlv_test_rand_u32(&rng) % (sizeof alphabet - 1)]
                                                           : tlv_test_rand_u32(&rng) & 0xFF);
        int32_t *ids = NULL;
        size_t n = 0;
        if (tlv__tokenizer_encode(t, text, len, 1, &ids, &n, &err)) {
            CHECK(0);
            continue;
        }
        int ok = 1;
        for (size_t i = 0; i < n; i++) ok &= ids[i] >= 0 && ids[i] < tlv__tokenizer_n_tokens(t);
        char *dec = NULL;
        size_t dec_len = 0;
        ok &= tlv__tokenizer_decode(t, ids, n, 0, &dec, &dec_len, &err) == TLV_OK;
        tlv_detok *d;
        ok &= tlv__detok_create(t, 0, &d) == TLV_OK;
        size_t at = 0;
        for (size_t i = 0; i <= n && ok; i++) {
            size_t pl;
            const char *p = i < n ? tlv__detok_push(d, ids[i], &pl) : tlv__detok_flush(d, &pl);
            ok &= p && at + pl <= dec_len && !memcmp(dec + at, p, pl);
            at += pl;
        }
        ok &= at == dec_len;
        tlv__detok_destroy(d);
        n_ok += ok;
        free(ids);
        free(dec);
    }
    CHECK_EQ_INT(n_ok, 300);
    printf("random bytes: %-6s %zu/300 encode, decode and stream consistently\n", dir_name, n_ok);
    tlv__tokenizer_destroy(t);
}

/* Every allocation of load, encode and decode failing in turn. */
static void test_oom(const char *dir_name, const char *text)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", g_root, dir_name);
    long needed = -1;
    for (long fail_after = 0; fail_after < 100000; fail_after++) {
        tlv_allocator a;
        tlv_test_failing_alloc st;
        tlv_test_failing_alloc_init(&a, &st, fail_after);
        tlv_tokenizer *t = NULL;
        tlv_err err = {0};
        tlv_status s = tlv__tokenizer_load(dir, &a, &t, &err);
        if (s == TLV_OK) {
            needed = fail_after;
            tlv__tokenizer_destroy(t);
            CHECK_EQ_INT(st.live, 0);
            break;
        }
        if (s != TLV_ERR_NO_MEMORY) fprintf(stderr, "%s: load failing after %ld: %s\n", dir_name, fail_after, err.msg);
        CHECK_EQ_INT(s, TLV_ERR_NO_MEMORY);
        CHECK(t == NULL);
        CHECK_EQ_INT(st.live, 0);
        if (st.live) break;
    }
    CHECK(needed >= 0);
    /* Encode, decode and stream with failures: load with a generous budget first. */
    long enc_needed = -1;
    for (long extra = 0; extra < 100000; extra++) {
        tlv_allocator a;
        tlv_test_failing_alloc st;
        tlv_test_failing_alloc_init(&a, &st, -1);
        tlv_tokenizer *t = NULL;
        tlv_err err = {0};
        if (tlv__tokenizer_load(dir, &a, &t, &err)) break;
        st.fail_after = st.n_calls + extra;
        int32_t *ids = NULL;
        size_t n = 0;
        tlv_status s = tlv__tokenizer_encode(t, text, strlen(text), 1, &ids, &n, &err);
        char *back = NULL;
        size_t len;
        if (s == TLV_OK) s = tlv__tokenizer_decode(t, ids, n, 0, &back, &len, &err);
        tlv_detok *d = NULL;
        if (s == TLV_OK) s = tlv__detok_create(t, 0, &d);
        int stream_failed = 0;
        for (size_t i = 0; s == TLV_OK && i < n; i++)
            if (!tlv__detok_push(d, ids[i], &len)) stream_failed = 1;
        if (s == TLV_OK && !tlv__detok_flush(d, &len)) stream_failed = 1;
        tlv__detok_destroy(d);
        tlv__free(&a, ids);
        tlv__free(&a, back);
        if (s != TLV_OK && s != TLV_ERR_NO_MEMORY) fprintf(stderr, "%s: extra %ld: %s\n", dir_name, extra, err.msg);
        if (s != TLV_OK) CHECK_EQ_INT(s, TLV_ERR_NO_MEMORY);
        tlv__tokenizer_destroy(t);
        CHECK_EQ_INT(st.live, 0);
        if (s == TLV_OK && !stream_failed) {
            enc_needed = extra;
            break;
        }
    }
    CHECK(enc_needed >= 0);
    printf("out of memory: %-6s load fails cleanly at each of its %ld allocations, encode+decode+stream at each of %ld\n",
           dir_name, needed, enc_needed);
}

int main(void)
{
    if (textdata_setup(g_root, sizeof g_root)) {
        textdata_cleanup(g_root);
        return 1;
    }
    test_files();
    test_spm_corrupt();
    test_random_bytes("phi2");
    test_random_bytes("qwen2");
    test_random_bytes("llama");
    test_random_bytes("llama_legacy");
    /* The BPE sweeps use the tiny vocabulary with the real checkpoints' config files (the full
     * vocabularies make each of a few hundred loads slow, and add nothing here). */
    static const char *const cfg[] = {"tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"};
    for (int k = 0; k < 2; k++) {
        const char *dir = k ? "tiny_qwen2" : "tiny_phi2";
        put(dir, "vocab.json", tiny_vocab(NULL));
        put(dir, "merges.txt", "#version: 0.2\nh e\nl l\nhe ll\nhell o\n");
        for (int i = 0; i < 3; i++) {
            char rel[256];
            size_t n;
            snprintf(rel, sizeof rel, "%s/%s", k ? "qwen2" : "phi2", cfg[i]);
            char *text = textdata_read(rel, &n);
            CHECK(text != NULL);
            if (text) put(dir, cfg[i], text);
            free(text);
        }
    }
    test_oom("tiny_phi2", "Hello<|endoftext|>   world \xE4\xBD\xA0\xE5\xA5\xBD\n\t\tx");
    test_oom("tiny_qwen2", "Hello<|im_start|>  world e\xCC\x81 \xE4\xBD\xA0\xE5\xA5\xBD\n\t\tx");
    test_oom("llama", "Hello <s>world</s> \xE4\xBD\xA0\xE5\xA5\xBD\n\t  x");

    textdata_cleanup(g_root);
    return tlv_test_finish("test_tokenizer_bad");
}
