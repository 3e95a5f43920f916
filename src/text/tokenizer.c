/* tokenizer.c: what the slow Hugging Face tokenizers (transformers 4.40.1) do around the model:
 * which files, added/special tokens, NFC, Llama's legacy flag, BOS/EOS, and decoding.
 *
 * Encoding, as PreTrainedTokenizer.tokenize() + the model classes do it:
 *   1. invalid UTF-8 becomes U+FFFD (the text must be a Python str);
 *   2. Qwen2Tokenizer: NFC of the whole text (prepare_for_tokenization);
 *      CodeGen/GPT-2 with add_prefix_space: " " in front;
 *      LlamaTokenizer with legacy=False: '▁' -> ' ', then '▁' in front;
 *   3. added tokens are cut out, leftmost match first and the longest of those (Trie.split);
 *      a token with rstrip/lstrip eats the Python whitespace (str.isspace) beside it;
 *   4. each remaining piece goes to the model (bpe.c, spm.c); Llama legacy=False encodes a piece
 *      that starts with '▁' or ' ' as unk_token + piece and drops unk_token's ids (so the model
 *      adds no dummy prefix and keeps the leading '▁'), and drops a lone leading '▁' before a
 *      special token;
 *   5. BOS (add_bos_token) and EOS (add_eos_token) when the caller asks for special tokens.
 *
 * Decoding follows PreTrainedTokenizer._decode(): ids -> token strings (special ones skipped on
 * request), "legacy added tokens" (added tokens that are not special, and additional special
 * tokens past the model vocabulary) each form their own sub-text, the runs between them go
 * through convert_tokens_to_string(), and the sub-texts are joined with " " when
 * spaces_between_special_tokens (default True; False for Qwen2Tokenizer). The same state machine
 * serves tlv__tokenizer_decode() and the streaming detokenizer, so both give the same text
 * (decode.c). */
#include "text/tokenizer_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

/* ---------------------------------------------------------------- small helpers */
tlv_status tlv__tokenizer_oom(tlv_err *err)
{
    return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void join(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* Reads and parses a JSON file. A missing optional file gives TLV_OK and *out NULL. */
static tlv_status read_json(const char *path, int required, const tlv_allocator *alloc, cJSON **out, tlv_err *err)
{
    *out = NULL;
    if (!required && !file_exists(path)) return TLV_OK;
    char *text;
    size_t len;
    tlv_status st = tlv__text_read_file(path, alloc, &text, &len, err);
    if (st) return st;
    *out = cJSON_ParseWithLength(text, len);
    if (!*out) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : 0;
        st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: malformed JSON near byte %zu", path, off);
    }
    tlv__free(alloc, text);
    return st;
}

static int json_bool(const cJSON *obj, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

/* A special-token value: "text", {"content": "text", ...} or null. */
static const char *token_content(const cJSON *v)
{
    if (cJSON_IsString(v)) return v->valuestring;
    if (cJSON_IsObject(v)) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "content");
        if (cJSON_IsString(c)) return c->valuestring;
    }
    return NULL;
}

/* ---------------------------------------------------------------- queries */
const tlv_allocator *tlv__tokenizer_allocator(const tlv_tokenizer *t) { return t->alloc; }
tlv_tokenizer_kind tlv__tokenizer_kind(const tlv_tokenizer *t) { return t->kind; }
int32_t tlv__tokenizer_n_tokens(const tlv_tokenizer *t) { return t->n_tokens; }
int32_t tlv__tokenizer_bos(const tlv_tokenizer *t) { return t->bos; }
int32_t tlv__tokenizer_eos(const tlv_tokenizer *t) { return t->eos; }
int tlv__tokenizer_adds_bos(const tlv_tokenizer *t) { return t->add_bos && t->bos >= 0; }

static int32_t model_id(const tlv_tokenizer *t, const char *s, size_t n)
{
    return t->bpe ? tlv__bpe_piece_id(t->bpe, s, n) : tlv__spm_piece_id(t->spm, s, n);
}

static const char *model_piece(const tlv_tokenizer *t, int32_t id)
{
    return t->bpe ? tlv__bpe_piece(t->bpe, id) : tlv__spm_piece(t->spm, id);
}

static int32_t lookup(const tlv_tokenizer *t, const char *s, size_t n)
{
    int32_t a = tlv__strmap_get(&t->added_map, s, n);
    return a >= 0 ? t->added[a].id : model_id(t, s, n);
}

int32_t tlv__tokenizer_token_id(const tlv_tokenizer *t, const char *token)
{
    return token ? lookup(t, token, strlen(token)) : -1;
}

const char *tlv__tokenizer_piece(const tlv_tokenizer *t, int32_t id)
{
    if (id < 0 || id >= t->n_tokens) return NULL;
    if (t->added_of_id[id] >= 0) return t->added[t->added_of_id[id]].content;
    return model_piece(t, id);
}

int tlv__tokenizer_is_special(const tlv_tokenizer *t, int32_t id)
{
    return id >= 0 && id < t->n_tokens && (t->flags[id] & F_SPECIAL);
}

/* ---------------------------------------------------------------- destroy */
void tlv__tokenizer_destroy(tlv_tokenizer *t)
{
    if (!t) return;
    const tlv_allocator *a = t->alloc;
    tlv__bpe_destroy(t->bpe);
    tlv__spm_destroy(t->spm);
    for (size_t i = 0; i < t->n_added; i++) tlv__free(a, t->added[i].content);
    tlv__free(a, t->added);
    tlv__strmap_free(&t->added_map);
    tlv__free(a, t->added_of_id);
    tlv__free(a, t->flags);
    tlv__free(a, t->match_order);
    for (int i = 0; i < N_ATTRS; i++) tlv__free(a, t->attr[i]);
    for (size_t i = 0; i < t->n_extra; i++) tlv__free(a, t->extra[i]);
    tlv__free(a, t->extra);
    tlv__free(a, t);
}

/* ---------------------------------------------------------------- added tokens */
/* Adds (or, for an id already added, keeps) one added token. id < 0: look the content up in the
 * vocabulary, else give it the next free id (PreTrainedTokenizer._add_tokens). */
static tlv_status add_token(tlv_tokenizer *t, const char *content, int32_t id, const cJSON *flags, int special,
                            const char *where, tlv_err *err)
{
    size_t len = strlen(content);
    if (!len) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: empty added token", where);
    int32_t existing = tlv__strmap_get(&t->added_map, content, len);
    if (existing >= 0) {
        if (special) t->added[existing].special = 1;
        return TLV_OK;
    }
    if (id < 0) id = model_id(t, content, len);
    if (id < 0) id = t->n_tokens;
    if (id >= (1 << 24)) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: token id %d out of range", where, (int)id);
    for (size_t i = 0; i < t->n_added; i++)
        if (t->added[i].id == id) return TLV_OK; /* the first definition of an id wins */
    if (t->n_added == t->cap_added) {
        size_t cap = t->cap_added ? t->cap_added * 2 : 64;
        added_tok *g = tlv__realloc(t->alloc, t->added, cap * sizeof *g);
        if (!g) return tlv__tokenizer_oom(err);
        t->added = g;
        t->cap_added = cap;
    }
    added_tok *a = &t->added[t->n_added];
    memset(a, 0, sizeof *a);
    a->content = tlv__strndup(t->alloc, content, len);
    if (!a->content) return tlv__tokenizer_oom(err);
    a->len = len;
    a->id = id;
    a->special = (uint8_t)special;
    if (flags) {
        a->lstrip = (uint8_t)json_bool(flags, "lstrip", 0);
        a->rstrip = (uint8_t)json_bool(flags, "rstrip", 0);
        a->single_word = (uint8_t)json_bool(flags, "single_word", 0);
    }
    if (tlv__strmap_put(&t->added_map, a->content, len, (int32_t)t->n_added)) {
        tlv__free(t->alloc, a->content);
        return tlv__tokenizer_oom(err);
    }
    t->n_added++;
    if (id >= t->n_tokens) t->n_tokens = id + 1;
    return TLV_OK;
}

static int is_attr_token(const tlv_tokenizer *t, const char *s)
{
    for (int i = 0; i < N_ATTRS; i++)
        if (t->attr[i] && !strcmp(t->attr[i], s)) return 1;
    for (size_t i = 0; i < t->n_extra; i++)
        if (!strcmp(t->extra[i], s)) return 1;
    return 0;
}

/* Reads the special-token attributes from one config object (later files override). */
static tlv_status read_attrs(tlv_tokenizer *t, const cJSON *cfg, tlv_err *err)
{
    if (!cfg) return TLV_OK;
    for (int i = 0; i < N_ATTRS; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, SPECIAL_ATTRS[i]);
        if (!v) continue;
        const char *c = token_content(v);
        tlv__free(t->alloc, t->attr[i]);
        t->attr[i] = NULL;
        if (c && *c && !(t->attr[i] = tlv__strdup(t->alloc, c))) return tlv__tokenizer_oom(err);
    }
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cfg, "additional_special_tokens");
    if (cJSON_IsArray(x)) {
        for (size_t i = 0; i < t->n_extra; i++) tlv__free(t->alloc, t->extra[i]);
        tlv__free(t->alloc, t->extra);
        t->n_extra = 0;
        t->extra = tlv__calloc(t->alloc, (size_t)cJSON_GetArraySize(x) + 1, sizeof *t->extra);
        if (!t->extra) return tlv__tokenizer_oom(err);
        for (const cJSON *e = x->child; e; e = e->next) {
            const char *c = token_content(e);
            if (!c || !*c) continue;
            if (!(t->extra[t->n_extra] = tlv__strdup(t->alloc, c))) return tlv__tokenizer_oom(err);
            t->n_extra++;
        }
    }
    return TLV_OK;
}

/* added_tokens_decoder of tokenizer_config.json: {"50256": {"content": ..., "special": ...}}. */
static tlv_status read_added_decoder(tlv_tokenizer *t, const cJSON *cfg, const char *path, tlv_err *err)
{
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(cfg, "added_tokens_decoder");
    if (!dec) return TLV_OK;
    if (!cJSON_IsObject(dec)) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: added_tokens_decoder: expected an object", path);
    for (const cJSON *e = dec->child; e; e = e->next) {
        char *end;
        long id = strtol(e->string, &end, 10);
        const char *c = token_content(e);
        if (*end || end == e->string || id < 0 || id >= (1 << 24) || !c)
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s: added_tokens_decoder: bad entry '%.64s'", path, e->string);
        tlv_status st = add_token(t, c, (int32_t)id, e, json_bool(e, "special", 0), path, err);
        if (st) return st;
    }
    return TLV_OK;
}

/* added_tokens.json: {"content": id}. */
static tlv_status read_added_json(tlv_tokenizer *t, const cJSON *j, const char *path, tlv_err *err)
{
    if (!j) return TLV_OK;
    if (!cJSON_IsObject(j)) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: expected an object of token -> id", path);
    for (const cJSON *e = j->child; e; e = e->next) {
        double v = e->valuedouble;
        if (!cJSON_IsNumber(e) || v < 0 || v >= (1 << 24) || v != (double)(int32_t)v)
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s: token '%.64s': expected an id", path, e->string);
        tlv_status st = add_token(t, e->string, (int32_t)v, NULL, is_attr_token(t, e->string), path, err);
        if (st) return st;
    }
    return TLV_OK;
}

/* tokenizer.json's added_tokens: [{"id": .., "content": .., "lstrip": .., ...}]. */
static tlv_status read_added_array(tlv_tokenizer *t, const cJSON *arr, const char *path, tlv_err *err)
{
    if (!arr) return TLV_OK;
    if (!cJSON_IsArray(arr)) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: added_tokens: expected an array", path);
    for (const cJSON *e = arr->child; e; e = e->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        const char *c = token_content(e);
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= (1 << 24) || !c)
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s: added_tokens: entry without id or content", path);
        tlv_status st = add_token(t, c, (int32_t)id->valuedouble, e, json_bool(e, "special", 0), path, err);
        if (st) return st;
    }
    return TLV_OK;
}

/* After all sources: special tokens not yet added are added, per-id tables are built. */
static tlv_status finish_tokens(tlv_tokenizer *t, tlv_err *err)
{
    for (int i = 0; i < N_ATTRS; i++) {
        if (!t->attr[i]) continue;
        tlv_status st = add_token(t, t->attr[i], -1, NULL, 1, SPECIAL_ATTRS[i], err);
        if (st) return st;
    }
    for (size_t i = 0; i < t->n_extra; i++) {
        tlv_status st = add_token(t, t->extra[i], -1, NULL, 1, "additional_special_tokens", err);
        if (st) return st;
    }
    t->added_of_id = tlv__malloc(t->alloc, (size_t)t->n_tokens * sizeof *t->added_of_id);
    t->flags = tlv__calloc(t->alloc, (size_t)t->n_tokens, 1);
    t->match_order = tlv__malloc(t->alloc, (t->n_added + 1) * sizeof *t->match_order);
    if (!t->added_of_id || !t->flags || !t->match_order) return tlv__tokenizer_oom(err);
    for (int32_t i = 0; i < t->n_tokens; i++) t->added_of_id[i] = -1;
    for (size_t i = 0; i < t->n_added; i++) {
        const added_tok *a = &t->added[i];
        t->added_of_id[a->id] = (int32_t)i;
        int attr = is_attr_token(t, a->content);
        if (attr || a->special) t->flags[a->id] |= F_SPECIAL;
        int extra = 0;
        for (size_t k = 0; k < t->n_extra; k++) extra |= !strcmp(t->extra[k], a->content);
        if (!attr || (extra && a->id >= t->n_model)) t->flags[a->id] |= F_LEGACY_ADDED;
    }
    /* Special attribute tokens that live in the model vocabulary only (not added). */
    for (int i = 0; i < N_ATTRS; i++) {
        int32_t id = t->attr[i] ? lookup(t, t->attr[i], strlen(t->attr[i])) : -1;
        if (id >= 0) t->flags[id] |= F_SPECIAL;
    }
    /* The matcher: bucket by first byte, longest first within a bucket. */
    size_t count[257] = {0};
    for (size_t i = 0; i < t->n_added; i++) count[(unsigned char)t->added[i].content[0] + 1]++;
    t->match_at[0] = 0;
    for (int c = 1; c <= 256; c++) t->match_at[c] = t->match_at[c - 1] + (int32_t)count[c];
    size_t fill[256];
    for (int c = 0; c < 256; c++) fill[c] = (size_t)t->match_at[c];
    for (size_t i = 0; i < t->n_added; i++) {
        unsigned char c = (unsigned char)t->added[i].content[0];
        size_t k = fill[c]++;
        while (k > (size_t)t->match_at[c] && t->added[t->match_order[k - 1]].len < t->added[i].len) {
            t->match_order[k] = t->match_order[k - 1];
            k--;
        }
        t->match_order[k] = (int32_t)i;
    }
    t->bos = t->attr[0] ? lookup(t, t->attr[0], strlen(t->attr[0])) : -1;
    t->eos = t->attr[1] ? lookup(t, t->attr[1], strlen(t->attr[1])) : -1;
    t->unk = t->attr[2] ? lookup(t, t->attr[2], strlen(t->attr[2])) : -1;
    return TLV_OK;
}

/* ---------------------------------------------------------------- loading */
static tlv_status set_default_attr(tlv_tokenizer *t, int i, const char *v, tlv_err *err)
{
    if (!(t->attr[i] = tlv__strdup(t->alloc, v))) return tlv__tokenizer_oom(err);
    return TLV_OK;
}

/* The pre-tokenizer of a tokenizer.json: the Split regex, or ByteLevel's own (GPT-2's). Returns
 * NULL when there is no ByteLevel step (not a byte-level BPE). */
static const char *json_pattern(const cJSON *pre, int *add_prefix_space, int *byte_level)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pre, "type"));
    if (!type) return NULL;
    if (!strcmp(type, "ByteLevel")) {
        *byte_level = 1;
        *add_prefix_space = json_bool(pre, "add_prefix_space", 0);
        return json_bool(pre, "use_regex", 1) ? TLV_BPE_PATTERN_GPT2 : NULL;
    }
    if (!strcmp(type, "Split")) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(pre, "pattern");
        return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "Regex"));
    }
    if (!strcmp(type, "Sequence")) {
        const char *found = NULL;
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers");
        for (const cJSON *s = steps ? steps->child : NULL; s; s = s->next) {
            const char *p = json_pattern(s, add_prefix_space, byte_level);
            if (p && !found) found = p;
        }
        return found;
    }
    return NULL;
}

static int json_has_nfc(const cJSON *norm)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(norm, "type"));
    if (!type) return 0;
    if (!strcmp(type, "NFC")) return 1;
    if (!strcmp(type, "Sequence")) {
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(norm, "normalizers");
        for (const cJSON *s = steps ? steps->child : NULL; s; s = s->next)
            if (json_has_nfc(s)) return 1;
    }
    return 0;
}

static tlv_status load_tokenizer_json(tlv_tokenizer *t, const char *path, cJSON **out_json, tlv_err *err)
{
    cJSON *j;
    tlv_status st = read_json(path, 1, t->alloc, &j, err);
    if (st) return st;
    *out_json = j;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(model, "type"));
    if (!type || strcmp(type, "BPE"))
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: model.type is '%s'; only BPE is supported", path,
                            type ? type : "(missing)");
    int byte_level = 0, prefix = 0;
    const char *pattern = json_pattern(cJSON_GetObjectItemCaseSensitive(j, "pre_tokenizer"), &prefix, &byte_level);
    if (!byte_level) {
        /* Llama-style: SentencePiece BPE written as HF BPE with byte fallback. */
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback")))
            return tlv__err_set(err, TLV_ERR_UNSUPPORTED,
                                "%s: neither a byte-level BPE (ByteLevel pre-tokenizer) nor a SentencePiece-style BPE (byte_fallback)", path);
        t->kind = TLV_TOKENIZER_SPM;
        return tlv__spm_load_json(j, path, t->alloc, &t->spm, err);
    }
    t->kind = TLV_TOKENIZER_BPE;
    st = tlv__bpe_load_json(model, path, pattern ? pattern : TLV_BPE_PATTERN_GPT2, t->alloc, &t->bpe, err);
    if (st) return st;
    t->add_prefix_space = prefix;
    t->nfc = json_has_nfc(cJSON_GetObjectItemCaseSensitive(j, "normalizer"));
    return TLV_OK;
}

tlv_status tlv__tokenizer_load(const char *dir, const tlv_allocator *alloc, tlv_tokenizer **out, tlv_err *err)
{
    *out = NULL;
    char path[4096];
    cJSON *cfg = NULL, *map = NULL, *added = NULL, *tj = NULL;
    tlv_status st;
    if (!dir) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "tokenizer directory is NULL");
    if (strlen(dir) > sizeof path - 64) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "%.64s...: path too long", dir);
    tlv_tokenizer *t = tlv__calloc(alloc, 1, sizeof *t);
    if (!t) return tlv__tokenizer_oom(err);
    t->alloc = alloc;
    t->bos = t->eos = t->unk = -1;
    st = tlv__strmap_init(&t->added_map, alloc, 64);
    if (st) goto fail_oom;

    join(path, sizeof path, dir, "tokenizer_config.json");
    if ((st = read_json(path, 0, alloc, &cfg, err))) goto fail;
    const char *cls = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cfg, "tokenizer_class"));
    if (!cls) cls = "";

    /* The model: tokenizer.model, vocab.json + merges.txt, or tokenizer.json. */
    char vocab[4096], merges[4096], model[4096], tjson[4096];
    join(vocab, sizeof vocab, dir, "vocab.json");
    join(merges, sizeof merges, dir, "merges.txt");
    join(model, sizeof model, dir, "tokenizer.model");
    join(tjson, sizeof tjson, dir, "tokenizer.json");
    int qwen = strstr(cls, "Qwen2") != NULL;
    if (!file_exists(model) && !file_exists(vocab) && !file_exists(merges) && !file_exists(tjson)) {
        st = tlv__err_set(err, TLV_ERR_NOT_FOUND,
                          "%s: no tokenizer files (expected tokenizer.model, vocab.json + merges.txt, or tokenizer.json)", dir);
        goto fail;
    }
    if (file_exists(model) && !(file_exists(vocab) && file_exists(merges))) {
        t->kind = TLV_TOKENIZER_SPM;
        if ((st = tlv__spm_load(model, alloc, &t->spm, err))) goto fail;
    } else if (file_exists(vocab) || file_exists(merges) || !file_exists(tjson)) {
        t->kind = TLV_TOKENIZER_BPE;
        st = tlv__bpe_load_files(vocab, merges, qwen ? TLV_BPE_PATTERN_QWEN2 : TLV_BPE_PATTERN_GPT2, alloc, &t->bpe, err);
        if (st) goto fail;
        /* No class named: recognise the Qwen2 family by its vocabulary (151643 byte-level
         * tokens, "<|endoftext|>" right after), whose regex and NFC differ from GPT-2's. */
        if (!*cls && tlv__bpe_vocab_size(t->bpe) == 151643) {
            qwen = 1;
            if ((st = tlv__bpe_set_pattern(t->bpe, TLV_BPE_PATTERN_QWEN2, vocab, err))) goto fail;
        }
        t->nfc = qwen;
    } else if ((st = load_tokenizer_json(t, tjson, &tj, err))) {
        goto fail;
    }
    if (t->spm) {
        t->n_model = tlv__spm_vocab_size(t->spm);
        /* LlamaTokenizer.__init__ defaults; GemmaTokenizer has no legacy mode. */
        t->add_bos = 1;
        const cJSON *lg = cJSON_GetObjectItemCaseSensitive(cfg, "legacy");
        t->legacy = strstr(cls, "Gemma") ? 1 : cJSON_IsBool(lg) ? cJSON_IsTrue(lg) : 1;
        t->add_prefix_space = 1;
        if ((st = set_default_attr(t, 0, "<s>", err)) || (st = set_default_attr(t, 1, "</s>", err)) ||
            (st = set_default_attr(t, 2, "<unk>", err)))
            goto fail;
    } else {
        t->n_model = tlv__bpe_vocab_size(t->bpe);
        t->spaces_between_special = !qwen;
        /* GPT2Tokenizer / CodeGenTokenizer / Qwen2Tokenizer defaults. */
        if (!qwen && (st = set_default_attr(t, 0, "<|endoftext|>", err))) goto fail;
        if ((st = set_default_attr(t, 1, "<|endoftext|>", err)) || (st = set_default_attr(t, 2, "<|endoftext|>", err)))
            goto fail;
    }
    t->n_tokens = t->n_model;
    if (cfg) {
        t->add_bos = json_bool(cfg, "add_bos_token", t->add_bos);
        t->add_eos = json_bool(cfg, "add_eos_token", 0);
        t->add_prefix_space = json_bool(cfg, "add_prefix_space", t->add_prefix_space);
    }

    /* Special tokens: tokenizer_config.json, then special_tokens_map.json (which wins). */
    join(path, sizeof path, dir, "special_tokens_map.json");
    if ((st = read_json(path, 0, alloc, &map, err))) goto fail;
    if ((st = read_attrs(t, cfg, err)) || (st = read_attrs(t, map, err))) goto fail;

    /* Added tokens: tokenizer.json, added_tokens_decoder, added_tokens.json. */
    if (tj && (st = read_added_array(t, cJSON_GetObjectItemCaseSensitive(tj, "added_tokens"), tjson, err))) goto fail;
    join(path, sizeof path, dir, "tokenizer_config.json");
    if (cfg && (st = read_added_decoder(t, cfg, path, err))) goto fail;
    join(path, sizeof path, dir, "added_tokens.json");
    if ((st = read_json(path, 0, alloc, &added, err))) goto fail;
    if ((st = read_added_json(t, added, path, err))) goto fail;
    if ((st = finish_tokens(t, err))) goto fail;

    if (t->spm && !t->legacy) {
        /* LlamaTokenizer.unk_token_length = len(sp_model.encode(str(unk_token))), no dummy prefix. */
        tlv_ids ids = {0};
        ids.alloc = alloc;
        const char *u = t->attr[2] ? t->attr[2] : "<unk>";
        st = tlv__spm_encode(t->spm, u, strlen(u), 0, &ids, err);
        t->unk_len = ids.n;
        tlv__free(alloc, ids.p);
        if (st) goto fail;
    }
    cJSON_Delete(cfg);
    cJSON_Delete(map);
    cJSON_Delete(added);
    cJSON_Delete(tj);
    *out = t;
    return TLV_OK;
fail_oom:
    st = tlv__tokenizer_oom(err);
fail:
    cJSON_Delete(cfg);
    cJSON_Delete(map);
    cJSON_Delete(added);
    cJSON_Delete(tj);
    tlv__tokenizer_destroy(t);
    return st;
}

/* ---------------------------------------------------------------- encoding */
typedef struct seg {
    const char *p;
    size_t n;
    int32_t added; /* index in t->added when the splitter cut it out, else -1 */
    int glue;      /* single_word: joined with the next segment into one string */
    int gone;      /* single_word: its string moved into a neighbour's (Python: "") */
} seg;

typedef struct segs {
    seg *v;
    size_t n, cap;
    const tlv_allocator *alloc;
    int oom;
} segs;

static void segs_push(segs *s, const char *p, size_t n, int32_t added)
{
    if (s->oom) return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        seg *g = tlv__realloc(s->alloc, s->v, cap * sizeof *g);
        if (!g) {
            s->oom = 1;
            return;
        }
        s->v = g;
        s->cap = cap;
    }
    seg x = {p, n, added, 0, 0};
    s->v[s->n++] = x;
}

/* Trie.split: at the leftmost position where an added token starts, the longest one wins. */
static void split_added(const tlv_tokenizer *t, const char *s, size_t n, segs *out)
{
    size_t text_start = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        int32_t hit = -1;
        for (int32_t k = t->match_at[c]; k < t->match_at[c + 1]; k++) {
            const added_tok *a = &t->added[t->match_order[k]];
            if (a->len <= n - i && !memcmp(a->content, s + i, a->len)) {
                hit = t->match_order[k];
                break;
            }
        }
        if (hit < 0) {
            i++;
            continue;
        }
        if (i > text_start) segs_push(out, s + text_start, i - text_start, -1);
        segs_push(out, s + i, t->added[hit].len, hit);
        i += t->added[hit].len;
        text_start = i;
    }
    if (n > text_start) segs_push(out, s + text_start, n - text_start, -1);
}

size_t tlv__tokenizer_cp_len(const char *p, size_t n, uint32_t *cp)
{
    size_t bad, k = tlv__utf8_next((const unsigned char *)p, n, TLV_UTF8_PYTHON, cp, &bad);
    return k ? k : 1;
}

static void strip_left(seg *s)
{
    while (s->n) {
        uint32_t cp;
        size_t k = tlv__tokenizer_cp_len(s->p, s->n, &cp);
        if (!tlv__py_isspace(cp)) break;
        s->p += k;
        s->n -= k;
    }
}

static void strip_right(seg *s)
{
    while (s->n) {
        size_t k = 1;
        while (k < s->n && k < 4 && ((unsigned char)s->p[s->n - k] & 0xC0) == 0x80) k++;
        uint32_t cp;
        tlv__tokenizer_cp_len(s->p + s->n - k, k, &cp);
        if (!tlv__py_isspace(cp)) break;
        s->n -= k;
    }
}

/* lstrip / rstrip / single_word, as PreTrainedTokenizer.tokenize applies them, in order:
 * a token still counts only while its string is unchanged (a neighbour's strip can eat a
 * whitespace token). single_word glued to a word makes the token plain text joined to that
 * word (Python: tokens[i-1] += token or tokens[i] += tokens[i+1]); `glue` records the join. */
static void apply_strip(const tlv_tokenizer *t, segs *g)
{
    for (size_t i = 0; i < g->n; i++) {
        seg *cur = &g->v[i];
        if (cur->added < 0 || cur->gone || cur->n != t->added[cur->added].len) continue;
        const added_tok *a = &t->added[cur->added];
        /* Python's left / right: the neighbours' strings before this token's strips; a string
         * a single_word join emptied ("gone") is "" (falsy). */
        seg none = {NULL, 0, -1, 0, 0};
        seg left0 = i > 0 && !g->v[i - 1].gone ? g->v[i - 1] : none;
        seg right0 = i + 1 < g->n && !g->v[i + 1].gone ? g->v[i + 1] : none;
        if (a->rstrip && right0.n) strip_left(&g->v[i + 1]);
        if (a->lstrip && left0.n) strip_right(&g->v[i - 1]);
        if (a->single_word && left0.n && left0.p[left0.n - 1] != ' ') {
            g->v[i - 1].glue = 1; /* tokens[i-1] += token; tokens[i] = "" */
            cur->added = -1;
            cur->gone = 1;
        } else if (a->single_word && right0.n && right0.p[0] != ' ') {
            cur->glue = 1; /* tokens[i] += tokens[i+1]; tokens[i+1] = "" */
            cur->added = -1;
            g->v[i + 1].added = -1;
            g->v[i + 1].gone = 1;
        }
    }
}

static tlv_status encode_piece(const tlv_tokenizer *t, const char *p, size_t n, tlv_ids *out, tlv_err *err)
{
    if (t->bpe) return tlv__bpe_encode(t->bpe, p, n, out, err);
    int starts_ws = n && (p[0] == ' ' || (n >= 3 && !memcmp(p, SPACE_SYMBOL, 3)));
    if (t->legacy || !starts_ws) return tlv__spm_encode(t->spm, p, n, t->legacy ? tlv__spm_add_dummy_prefix(t->spm) : 0, out, err);
    /* LlamaTokenizer._tokenize, legacy=False: encode unk_token + text, drop unk_token's pieces. */
    const char *u = t->attr[2] ? t->attr[2] : "<unk>";
    size_t un = strlen(u), at = out->n;
    tlv_buf b;
    tlv__buf_init(&b, t->alloc);
    tlv__buf_put(&b, u, un);
    tlv__buf_put(&b, p, n);
    if (b.oom) {
        tlv__buf_free(&b);
        return tlv__tokenizer_oom(err);
    }
    tlv_status st = tlv__spm_encode(t->spm, b.p, b.n, 0, out, err);
    tlv__buf_free(&b);
    if (st) return st;
    size_t drop = out->n - at < t->unk_len ? out->n - at : t->unk_len;
    memmove(out->p + at, out->p + at + drop, (out->n - at - drop) * sizeof *out->p);
    out->n -= drop;
    return TLV_OK;
}

static tlv_status encode_text(const tlv_tokenizer *t, const char *text, size_t len, int add_special, tlv_ids *out,
                              tlv_err *err)
{
    tlv_status st = TLV_OK;
    tlv_buf clean, pre, glued;
    tlv__buf_init(&clean, t->alloc);
    tlv__buf_init(&pre, t->alloc);
    tlv__buf_init(&glued, t->alloc);
    segs g = {0};
    g.alloc = t->alloc;
    utf8proc_int32_t *nfc = NULL;

    tlv__utf8_sanitize(&clean, text, len);
    if (clean.oom) goto oom;
    const char *s = clean.p;
    size_t n = clean.n;
    if (t->nfc && n) {
        /* NFC through our allocator: utf8proc decomposes into a code point buffer we own, then
         * composes and re-encodes to UTF-8 in place (utf8proc_map_custom without its malloc). */
        const utf8proc_option_t opts = (utf8proc_option_t)(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        utf8proc_ssize_t r = utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, NULL, 0, opts);
        if (r >= 0 && (size_t)r < ((size_t)-1) / 4 - 1) {
            nfc = tlv__malloc(t->alloc, ((size_t)r + 1) * sizeof *nfc);
            if (!nfc) goto oom;
            r = utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, nfc, r, opts);
            if (r >= 0) r = utf8proc_reencode(nfc, r, opts);
        }
        if (r < 0) {
            st = r == UTF8PROC_ERROR_NOMEM ? tlv__tokenizer_oom(err)
                                           : tlv__err_set(err, TLV_ERR_INVALID_ARG, "NFC failed: %s", utf8proc_errmsg(r));
            goto done;
        }
        s = (const char *)nfc;
        n = (size_t)r;
    }
    if (t->bpe && t->add_prefix_space) {
        tlv__buf_putc(&pre, ' ');
        tlv__buf_put(&pre, s, n);
        s = pre.p;
        n = pre.n;
    } else if (t->spm && !t->legacy && n) {
        /* LlamaTokenizer.tokenize, legacy=False. */
        if (t->add_prefix_space) tlv__buf_put(&pre, SPACE_SYMBOL, 3);
        for (size_t i = 0; i < n; i++) {
            if (i + 3 <= n && !memcmp(s + i, SPACE_SYMBOL, 3)) {
                tlv__buf_putc(&pre, ' ');
                i += 2;
            } else {
                tlv__buf_putc(&pre, s[i]);
            }
        }
        s = pre.p;
        n = pre.n;
    }
    if (pre.oom) goto oom;

    if (add_special && t->add_bos && t->bos >= 0) tlv__ids_push(out, t->bos);
    size_t first = out->n;
    split_added(t, s, n, &g);
    if (g.oom) goto oom;
    apply_strip(t, &g);
    for (size_t i = 0; i < g.n && !st; i++) {
        const char *p = g.v[i].p;
        size_t pn = g.v[i].n;
        if (g.v[i].glue) { /* a single_word join: the strings of i .. the last glued one */
            glued.n = 0;
            for (; i < g.n; i++) {
                tlv__buf_put(&glued, g.v[i].p, g.v[i].n);
                if (!g.v[i].glue) break;
            }
            if (glued.oom) goto oom;
            p = glued.p;
            pn = glued.n;
        }
        if (!pn) continue;
        int32_t a = tlv__strmap_get(&t->added_map, p, pn);
        if (a >= 0) tlv__ids_push(out, t->added[a].id);
        else st = encode_piece(t, p, pn, out, err);
    }
    if (st) goto done;
    if (t->spm && !t->legacy && out->n - first > 1) {
        const char *p0 = tlv__tokenizer_piece(t, out->p[first]);
        if (p0 && !strcmp(p0, SPACE_SYMBOL) && tlv__tokenizer_is_special(t, out->p[first + 1])) {
            memmove(out->p + first, out->p + first + 1, (out->n - first - 1) * sizeof *out->p);
            out->n--;
        }
    }
    if (add_special && t->add_eos && t->eos >= 0) tlv__ids_push(out, t->eos);
    if (out->oom) goto oom;
    goto done;
oom:
    st = tlv__tokenizer_oom(err);
done:
    tlv__free(t->alloc, nfc);
    tlv__free(t->alloc, g.v);
    tlv__buf_free(&clean);
    tlv__buf_free(&pre);
    tlv__buf_free(&glued);
    return st;
}

tlv_status tlv__tokenizer_encode(const tlv_tokenizer *t, const char *text, size_t len, int add_special,
                                 int32_t **ids, size_t *n_ids, tlv_err *err)
{
    *ids = NULL;
    *n_ids = 0;
    if (!t || (!text && len)) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "tokenizer encode: NULL argument");
    tlv_ids v = {0};
    v.alloc = t->alloc;
    tlv_status st = encode_text(t, text ? text : "", len, add_special, &v, err);
    if (st) {
        tlv__free(t->alloc, v.p);
        return st;
    }
    if (!v.p) { /* empty result: still hand back an allocation, so the caller can always free */
        v.p = tlv__malloc(t->alloc, sizeof *v.p);
        if (!v.p) return tlv__tokenizer_oom(err);
    }
    *ids = v.p;
    *n_ids = v.n;
    return TLV_OK;
}

