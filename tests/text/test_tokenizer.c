/* test_tokenizer.c: our tokenizers against reference ids on real vocabularies.
 *
 * References (tests/text/gen, committed as data/ref_*.jsonl.gz, one line per data/strings.jsonl line):
 *   gpt2, phi2, qwen2: Hugging Face tokenizers (native, via npm) for the model part, with the
 *                      slow tokenizer's added-token splitting, NFC and decoding emulated around
 *                      it (gen_bpe_refs.js says how);
 *   llama, llama_legacy: python3-sentencepiece with LlamaTokenizer's legacy=False / legacy=True
 *                      handling emulated around it (gen_spm_refs.py).
 * Each string: encode (with special tokens) must give exactly the reference ids; decode with and
 * without skip_special must give the reference text; the streaming detokenizer must give the
 * same text piece by piece, each piece valid UTF-8.
 * Then the prompts of the four end-to-end fixtures (expected.json input_ids, split at <image>),
 * and their generated_text. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "text/tokenizer.h"
#include "text/unicode.h"
#include "textdata.h"

#define TLV_TEST_QWEN2_RE \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

static char g_root[512];

typedef struct str {
    char *p;
    size_t n;
} str;

static str *g_strings;
static size_t g_n_strings;

/* Splits off the next line (in place); NULL at the end. */
static char *next_line(char **cursor)
{
    char *s = *cursor;
    if (!s || !*s) return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = 0;
        *cursor = nl + 1;
    } else {
        *cursor = s + strlen(s);
    }
    return s;
}

static int hexval(int c)
{
    return c <= '9' ? c - '0' : (c | 32) - 'a' + 10;
}

static int load_strings(void)
{
    size_t n;
    char *text = textdata_read("strings.jsonl", &n);
    if (!text) return -1;
    size_t cap = 1024;
    g_strings = calloc(cap, sizeof *g_strings);
    char *cur = text;
    for (char *line = next_line(&cur); line; line = next_line(&cur)) {
        cJSON *o = cJSON_Parse(line);
        if (!o) return -1;
        str s = {0};
        const cJSON *t = cJSON_GetObjectItem(o, "t"), *h = cJSON_GetObjectItem(o, "hex");
        if (cJSON_IsString(t)) {
            s.n = strlen(t->valuestring);
            s.p = malloc(s.n + 1);
            memcpy(s.p, t->valuestring, s.n + 1);
        } else {
            size_t hn = strlen(h->valuestring);
            s.n = hn / 2;
            s.p = malloc(s.n + 1);
            for (size_t i = 0; i < s.n; i++) s.p[i] = (char)(hexval(h->valuestring[2 * i]) * 16 + hexval(h->valuestring[2 * i + 1]));
            s.p[s.n] = 0;
        }
        cJSON_Delete(o);
        if (g_n_strings == cap) return -1;
        g_strings[g_n_strings++] = s;
    }
    free(text);
    return 0;
}

/* tokenizer.json versions of gpt2 and qwen2 (the fast tokenizers' single file), built from the
 * same vocab.json + merges.txt: GPT-2 with merges as [left, right] pairs and ByteLevel's own
 * regex, Qwen2 with "left right" strings, a Split regex and an NFC normalizer. They must give the
 * same ids as the slow files. */
static int make_json_dir(const char *src, const char *dst, int qwen)
{
    char path[1024];
    size_t n;
    snprintf(path, sizeof path, "%s/%s/vocab.json", g_root, src);
    char *vocab_text = tlv_test_read_file(path, &n);
    snprintf(path, sizeof path, "%s/%s/merges.txt", g_root, src);
    char *merges_text = tlv_test_read_file(path, &n);
    if (!vocab_text || !merges_text) return -1;
    cJSON *root = cJSON_CreateObject(), *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddItemToObject(model, "vocab", cJSON_Parse(vocab_text));
    cJSON *merges = cJSON_AddArrayToObject(model, "merges");
    char *cur = merges_text;
    for (char *line = next_line(&cur); line; line = next_line(&cur)) {
        char *sp = strchr(line, ' ');
        if (!*line || !strncmp(line, "#version", 8) || !sp) continue;
        if (qwen) {
            cJSON_AddItemToArray(merges, cJSON_CreateString(line));
        } else {
            *sp = 0;
            const char *pair[2] = {line, sp + 1};
            cJSON_AddItemToArray(merges, cJSON_CreateStringArray(pair, 2));
        }
    }
    cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
    if (qwen) {
        cJSON_AddStringToObject(pre, "type", "Sequence");
        cJSON *steps = cJSON_AddArrayToObject(pre, "pretokenizers");
        cJSON *split = cJSON_CreateObject(), *bl = cJSON_CreateObject();
        cJSON_AddStringToObject(split, "type", "Split");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(split, "pattern"), "Regex", TLV_TEST_QWEN2_RE);
        cJSON_AddStringToObject(split, "behavior", "Isolated");
        cJSON_AddStringToObject(bl, "type", "ByteLevel");
        cJSON_AddBoolToObject(bl, "add_prefix_space", 0);
        cJSON_AddBoolToObject(bl, "use_regex", 0);
        cJSON_AddItemToArray(steps, split);
        cJSON_AddItemToArray(steps, bl);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "normalizer"), "type", "NFC");
    } else {
        cJSON_AddStringToObject(pre, "type", "ByteLevel");
        cJSON_AddBoolToObject(pre, "add_prefix_space", 0);
        cJSON_AddNullToObject(root, "normalizer");
    }
    /* Added tokens: the slow config's added_tokens_decoder, as a fast tokenizer.json lists them. */
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    snprintf(path, sizeof path, "%s/%s/tokenizer_config.json", g_root, src);
    char *cfg_text = tlv_test_read_file(path, &n);
    cJSON *cfg = cfg_text ? cJSON_Parse(cfg_text) : NULL;
    const cJSON *dec = cJSON_GetObjectItem(cfg, "added_tokens_decoder");
    for (const cJSON *e = dec ? dec->child : NULL; e; e = e->next) {
        cJSON *a = cJSON_Duplicate(e, 1);
        cJSON_AddNumberToObject(a, "id", atoi(e->string));
        cJSON_AddItemToArray(added, a);
    }
    if (!dec) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", 50256);
        cJSON_AddStringToObject(a, "content", "<|endoftext|>");
        cJSON_AddBoolToObject(a, "special", 1);
        cJSON_AddItemToArray(added, a);
    }
    char *out = cJSON_PrintUnformatted(root);
    snprintf(path, sizeof path, "%s/%s", g_root, dst);
    int rc = textdata_mkdir(path);
    snprintf(path, sizeof path, "%s/%s/tokenizer.json", g_root, dst);
    rc |= textdata_write(path, out, strlen(out));
    if (cfg_text) { /* the slow config still says which class and special tokens */
        cJSON_DeleteItemFromObject(cfg, "added_tokens_decoder");
        char *c = cJSON_Print(cfg);
        snprintf(path, sizeof path, "%s/%s/tokenizer_config.json", g_root, dst);
        rc |= textdata_write(path, c, strlen(c));
        free(c);
    }
    cJSON_free(out);
    cJSON_Delete(root);
    cJSON_Delete(cfg);
    free(cfg_text);
    free(vocab_text);
    free(merges_text);
    return rc;
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "  %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 60; i++) fprintf(stderr, " %d", (int)ids[i]);
    fprintf(stderr, n > 60 ? " ...\n" : "\n");
}

static int valid_utf8(const char *s, size_t n)
{
    tlv_buf b;
    tlv__buf_init(&b, NULL);
    tlv__utf8_sanitize(&b, s, n);
    int ok = b.n == n && !memcmp(b.p ? b.p : "", s, n);
    tlv__buf_free(&b);
    return ok;
}

/* Streams ids through a detokenizer; returns the concatenation (malloc'ed). */
static char *stream_all(const tlv_tokenizer *t, const int32_t *ids, size_t n, int skip, int *bad_piece)
{
    tlv_detok *d;
    if (tlv__detok_create(t, skip, &d)) return NULL;
    tlv_buf all;
    tlv__buf_init(&all, NULL);
    for (size_t i = 0; i <= n; i++) {
        size_t len;
        const char *p = i < n ? tlv__detok_push(d, ids[i], &len) : tlv__detok_flush(d, &len);
        if (!p || !valid_utf8(p, len)) *bad_piece = 1;
        if (p) tlv__buf_put(&all, p, len);
    }
    tlv__detok_destroy(d);
    char *out;
    tlv__buf_finish(&all, &out, NULL, NULL);
    return out;
}

/* only_plain: compare only strings without '<' (a folder without the added-token files knows
 * none of the <|...|> tokens, so only those strings can agree with the full reference). */
static void run_refs_filtered(const char *name, const char *ref_file, int lossless, int only_plain)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", g_root, name);
    tlv_tokenizer *t = NULL;
    tlv_err err = {0};
    tlv_status st = tlv__tokenizer_load(dir, NULL, &t, &err);
    CHECK_EQ_INT(st, TLV_OK);
    if (st) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return;
    }
    size_t n;
    char *refs = textdata_read(ref_file, &n);
    CHECK(refs != NULL);
    if (!refs) return;
    size_t i = 0, ok_ids = 0, ok_dec = 0, ok_stream = 0, n_lossless = 0, n_valid = 0, n_skipped = 0;
    char *cur = refs;
    for (char *line = next_line(&cur); line && i < g_n_strings; line = next_line(&cur), i++) {
        cJSON *o = cJSON_Parse(line);
        if (only_plain && memchr(g_strings[i].p, '<', g_strings[i].n)) {
            n_skipped++;
            ok_ids++;
            ok_dec++;
            ok_stream++;
            cJSON_Delete(o);
            continue;
        }
        const cJSON *jids = cJSON_GetObjectItem(o, "ids");
        const char *dec = cJSON_GetStringValue(cJSON_GetObjectItem(o, "dec"));
        const char *dec_skip = cJSON_GetStringValue(cJSON_GetObjectItem(o, "dec_skip"));
        size_t n_ref = (size_t)cJSON_GetArraySize(jids);
        int32_t *ref = calloc(n_ref + 1, sizeof *ref);
        size_t k = 0;
        for (const cJSON *e = jids->child; e; e = e->next) ref[k++] = (int32_t)e->valuedouble;

        int32_t *ids = NULL;
        size_t n_ids = 0;
        st = tlv__tokenizer_encode(t, g_strings[i].p, g_strings[i].n, 1, &ids, &n_ids, &err);
        int same = !st && n_ids == n_ref && !memcmp(ids, ref, n_ids * sizeof *ids);
        ok_ids += same;
        if (!same && i - ok_ids < 100) {
            fprintf(stderr, "%s: string %zu \"%.200s\": ids differ (%s)\n", name, i, g_strings[i].p, st ? err.msg : "");
            print_ids("ours", ids, n_ids);
            print_ids("reference", ref, n_ref);
        }
        /* Decode the reference ids (so a decode failure is not hidden behind an encode one). */
        char *text = NULL, *text_skip = NULL;
        size_t len = 0, len_skip = 0;
        CHECK_EQ_INT(tlv__tokenizer_decode(t, ref, n_ref, 0, &text, &len, &err), TLV_OK);
        CHECK_EQ_INT(tlv__tokenizer_decode(t, ref, n_ref, 1, &text_skip, &len_skip, &err), TLV_OK);
        int dec_ok = text && text_skip && !strcmp(text, dec) && !strcmp(text_skip, dec_skip) && len == strlen(text);
        ok_dec += dec_ok;
        if (!dec_ok) fprintf(stderr, "%s: string %zu: decode differs:\n  ours \"%s\"\n  ref  \"%s\"\n  ours skip \"%s\"\n  ref skip  \"%s\"\n",
                             name, i, text, dec, text_skip, dec_skip);
        int bad_piece = 0;
        char *s0 = stream_all(t, ref, n_ref, 0, &bad_piece), *s1 = stream_all(t, ref, n_ref, 1, &bad_piece);
        int stream_ok = s0 && s1 && !strcmp(s0, dec) && !strcmp(s1, dec_skip) && !bad_piece;
        ok_stream += stream_ok;
        if (!stream_ok) fprintf(stderr, "%s: string %zu: streaming differs (bad piece %d):\n  \"%s\"\n  \"%s\"\n", name, i, bad_piece, s0, s1);
        /* Lossless round trip where the tokenizer is lossless (GPT-2: every valid string). */
        if (valid_utf8(g_strings[i].p, g_strings[i].n)) {
            n_valid++;
            /* without the BOS the tokenizer adds, if any */
            const char *back = tlv__tokenizer_adds_bos(t) ? text_skip : text;
            size_t back_len = tlv__tokenizer_adds_bos(t) ? len_skip : len;
            int rt = back && back_len == g_strings[i].n && !memcmp(back, g_strings[i].p, back_len);
            n_lossless += rt;
            if (lossless && !rt) fprintf(stderr, "%s: string %zu: decode(encode(s)) != s\n", name, i);
        }
        free(s0);
        free(s1);
        free(text);
        free(text_skip);
        free(ids);
        free(ref);
        cJSON_Delete(o);
    }
    CHECK_EQ_INT(i, g_n_strings);
    CHECK_EQ_INT(ok_ids, g_n_strings);
    CHECK_EQ_INT(ok_dec, g_n_strings);
    CHECK_EQ_INT(ok_stream, g_n_strings);
    if (lossless) CHECK_EQ_INT(n_lossless, n_valid);
    printf("%-13s %zu/%zu ids identical, %zu/%zu decodes identical, %zu/%zu streams identical, "
           "decode(encode(s)) == s for %zu/%zu valid strings\n",
           name, ok_ids - n_skipped, i - n_skipped, ok_dec - n_skipped, i - n_skipped, ok_stream - n_skipped,
           i - n_skipped, n_lossless, n_valid);
    free(refs);
    tlv__tokenizer_destroy(t);
}

static void run_refs(const char *name, const char *ref_file, int lossless)
{
    run_refs_filtered(name, ref_file, lossless, 0);
}

/* The fixture prompts: chunks around <image> tokenized separately, later chunks drop BOS
 * (TinyLLaVA's tokenizer_image_token). */
static void run_fixture(const cJSON *fx, const char *name, const char *dir_name)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", g_root, dir_name);
    tlv_tokenizer *t = NULL;
    tlv_err err = {0};
    CHECK_EQ_INT(tlv__tokenizer_load(dir, NULL, &t, &err), TLV_OK);
    if (!t) return;
    const cJSON *c = cJSON_GetObjectItem(fx, name);
    const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(c, "prompt"));
    const cJSON *want = cJSON_GetObjectItem(c, "input_ids"), *want_tok = cJSON_GetObjectItem(c, "input_tokens");
    CHECK_EQ_INT(tlv__tokenizer_n_tokens(t), (int)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "tokenizer_len")));
    CHECK_EQ_INT(tlv__tokenizer_eos(t), (int)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "eos_token_id")));

    int32_t got[4096];
    size_t n_got = 0, chunk = 0;
    const char *p = prompt;
    for (;;) {
        const char *img = strstr(p, "<image>");
        size_t len = img ? (size_t)(img - p) : strlen(p);
        int32_t *ids;
        size_t n_ids;
        CHECK_EQ_INT(tlv__tokenizer_encode(t, p, len, 1, &ids, &n_ids, &err), TLV_OK);
        size_t skip = chunk > 0 && n_ids && tlv__tokenizer_adds_bos(t) && ids[0] == tlv__tokenizer_bos(t);
        for (size_t i = skip; i < n_ids && n_got < 4096; i++) got[n_got++] = ids[i];
        free(ids);
        if (!img) break;
        got[n_got++] = -200;
        p = img + 7;
        chunk++;
    }
    CHECK_EQ_INT(n_got, cJSON_GetArraySize(want));
    size_t i = 0, same = 0;
    for (const cJSON *e = want->child, *tk = want_tok->child; e && i < n_got; e = e->next, tk = tk->next, i++) {
        int ok = got[i] == (int32_t)e->valuedouble;
        if (ok && got[i] >= 0) ok = !strcmp(tlv__tokenizer_piece(t, got[i]), tk->valuestring);
        if (!ok) fprintf(stderr, "%s: prompt token %zu: ours %d '%s', expected %d '%s'\n", name, i, (int)got[i],
                         got[i] >= 0 ? tlv__tokenizer_piece(t, got[i]) : "", (int)e->valuedouble,
                         cJSON_IsString(tk) ? tk->valuestring : "");
        same += ok;
    }
    CHECK_EQ_INT(same, cJSON_GetArraySize(want));

    /* generated_text = decode(generated_ids, skip_special_tokens=True).strip() */
    const cJSON *gen = cJSON_GetObjectItem(c, "generated_ids");
    int32_t gids[64];
    size_t ng = 0;
    for (const cJSON *e = gen->child; e && ng < 64; e = e->next) gids[ng++] = (int32_t)e->valuedouble;
    char *text;
    size_t len;
    CHECK_EQ_INT(tlv__tokenizer_decode(t, gids, ng, 1, &text, &len, &err), TLV_OK);
    char *b = text, *e = text + len;
    while (b < e && (*b == ' ' || *b == '\n')) b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\n')) e--;
    *e = 0;
    CHECK_EQ_STR(b, cJSON_GetStringValue(cJSON_GetObjectItem(c, "generated_text")));
    printf("fixture %-26s %zu/%d prompt ids identical, generated_text %s\n", name, same, cJSON_GetArraySize(want),
           strcmp(b, cJSON_GetStringValue(cJSON_GetObjectItem(c, "generated_text"))) ? "differs" : "identical");
    free(text);
    tlv__tokenizer_destroy(t);
}

static void test_queries(void)
{
    char dir[600];
    tlv_tokenizer *t;
    tlv_err err = {0};
    snprintf(dir, sizeof dir, "%s/phi2", g_root);
    CHECK_EQ_INT(tlv__tokenizer_load(dir, NULL, &t, &err), TLV_OK);
    if (t) {
        CHECK_EQ_INT(tlv__tokenizer_kind(t), TLV_TOKENIZER_BPE);
        CHECK_EQ_INT(tlv__tokenizer_token_id(t, "<|endoftext|>"), 50256);
        CHECK_EQ_INT(tlv__tokenizer_token_id(t, "    "), 50284);   /* added_tokens.json */
        CHECK_EQ_INT(tlv__tokenizer_token_id(t, "\xC4\xA0the"), 262); /* 'Ġthe' in vocab.json */
        CHECK_EQ_INT(tlv__tokenizer_token_id(t, "no such token"), -1);
        CHECK_EQ_INT(tlv__tokenizer_is_special(t, 50256), 1);
        CHECK_EQ_INT(tlv__tokenizer_is_special(t, 50284), 0);
        CHECK_EQ_INT(tlv__tokenizer_adds_bos(t), 0);
        CHECK(tlv__tokenizer_piece(t, 51000) == NULL);
        CHECK(tlv__tokenizer_piece(t, -1) == NULL);
        int32_t bad[2] = {464, 60000};
        char *text = (char *)1;
        size_t len;
        CHECK_EQ_INT(tlv__tokenizer_decode(t, bad, 2, 0, &text, &len, &err), TLV_ERR_INVALID_ARG);
        CHECK(text == NULL);
        CHECK_CONTAINS(err.msg, "60000");
        /* Streaming never splits a character: '€' = E2 82 AC is three byte tokens in GPT-2. */
        int32_t *ids;
        size_t n;
        CHECK_EQ_INT(tlv__tokenizer_encode(t, "\xE2\x82\xAC", 3, 0, &ids, &n, &err), TLV_OK);
        tlv_detok *d;
        CHECK_EQ_INT(tlv__detok_create(t, 1, &d), TLV_OK);
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
            const char *piece = tlv__detok_push(d, ids[i], &len);
            CHECK(len == 0 || (len == 3 && !memcmp(piece, "\xE2\x82\xAC", 3)));
            total += len;
        }
        tlv__detok_flush(d, &len);
        CHECK_EQ_INT(total + len, 3);
        tlv__detok_destroy(d);
        free(ids);
        /* An id past the vocabulary streams as nothing. */
        CHECK_EQ_INT(tlv__detok_create(t, 0, &d), TLV_OK);
        tlv__detok_push(d, 99999, &len);
        CHECK_EQ_INT(len, 0);
        tlv__detok_destroy(d);
        tlv__tokenizer_destroy(t);
    }
    snprintf(dir, sizeof dir, "%s/llama", g_root);
    CHECK_EQ_INT(tlv__tokenizer_load(dir, NULL, &t, &err), TLV_OK);
    if (t) {
        CHECK_EQ_INT(tlv__tokenizer_kind(t), TLV_TOKENIZER_SPM);
        CHECK_EQ_INT(tlv__tokenizer_bos(t), 1);
        CHECK_EQ_INT(tlv__tokenizer_eos(t), 2);
        CHECK_EQ_INT(tlv__tokenizer_adds_bos(t), 1);
        CHECK_EQ_INT(tlv__tokenizer_n_tokens(t), 32000);
        CHECK_EQ_STR(tlv__tokenizer_piece(t, 13), "<0x0A>");
        CHECK_EQ_INT(tlv__tokenizer_token_id(t, "\xE2\x96\x81"), 29871);
        CHECK_EQ_INT(tlv__tokenizer_is_special(t, 2), 1);
        CHECK_EQ_INT(tlv__tokenizer_is_special(t, 29871), 0);
        /* Empty text: BOS only with special tokens, nothing without. */
        int32_t *ids;
        size_t n;
        CHECK_EQ_INT(tlv__tokenizer_encode(t, "", 0, 1, &ids, &n, &err), TLV_OK);
        CHECK_EQ_INT(n, 1);
        free(ids);
        CHECK_EQ_INT(tlv__tokenizer_encode(t, "", 0, 0, &ids, &n, &err), TLV_OK);
        CHECK_EQ_INT(n, 0);
        free(ids);
        tlv__tokenizer_destroy(t);
    }
}

int main(void)
{
    if (textdata_setup(g_root, sizeof g_root) || load_strings()) {
        fprintf(stderr, "test data setup failed\n");
        textdata_cleanup(g_root);
        return 1;
    }
    CHECK(g_n_strings >= 500);
    run_refs("gpt2", "ref_gpt2.jsonl.gz", 1);
    run_refs("phi2", "ref_phi2.jsonl.gz", 0);
    run_refs("phi2_strip", "ref_phi2_strip.jsonl.gz", 0);
    run_refs("qwen2", "ref_qwen2.jsonl.gz", 0);
    run_refs_filtered("qwen2_bare", "ref_qwen2.jsonl.gz", 0, 1);
    CHECK_EQ_INT(make_json_dir("gpt2", "gpt2_json", 0), 0);
    CHECK_EQ_INT(make_json_dir("qwen2", "qwen2_json", 1), 0);
    run_refs("gpt2_json", "ref_gpt2.jsonl.gz", 1);
    run_refs("qwen2_json", "ref_qwen2.jsonl.gz", 0);
    run_refs("llama", "ref_llama.jsonl.gz", 0);
    run_refs("llama_legacy", "ref_llama_legacy.jsonl.gz", 0);
    run_refs("llama_json", "ref_llama.jsonl.gz", 0);

    size_t n;
    char *fx_text = textdata_read("fixture_prompts.json", &n);
    cJSON *fx = fx_text ? cJSON_Parse(fx_text) : NULL;
    CHECK(fx != NULL);
    if (fx) {
        run_fixture(fx, "phi2_siglip_square", "phi2");
        run_fixture(fx, "phi2_siglip_pad_multiturn", "phi2");
        run_fixture(fx, "qwen2_siglip_square", "qwen2");
        run_fixture(fx, "llama_clip_pad", "llama");
    }
    cJSON_Delete(fx);
    free(fx_text);
    test_queries();

    for (size_t i = 0; i < g_n_strings; i++) free(g_strings[i].p);
    free(g_strings);
    textdata_cleanup(g_root);
    return tlv_test_finish("test_tokenizer");
}
