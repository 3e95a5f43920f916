#include "text/bpe.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

/* The merge table: (left id, right id) -> (rank, merged id), open addressing on the pair key. */
typedef struct merge_slot {
    uint64_t key; /* EMPTY_KEY when free; ids are < 2^31 so no pair collides with it */
    uint32_t rank;
    int32_t merged;
} merge_slot;
#define EMPTY_KEY UINT64_MAX

struct tlv_bpe {
    const tlv_allocator *alloc;
    int32_t n_vocab;
    char **pieces;     /* [n_vocab] into arena; NULL for a gap */
    char *arena;       /* the piece strings, NUL-terminated */
    char *bytes;       /* the raw bytes of every piece, back to back */
    uint32_t *bytes_at; /* [n_vocab + 1] offsets into bytes */
    tlv_strmap map;    /* piece -> id */
    int32_t byte_id[256];
    merge_slot *merges;
    size_t merges_cap; /* a power of two */
    pcre2_general_context *gctx;
    pcre2_code *re;
    tlv_byte_alphabet ab;
};

/* ---------------------------------------------------------------- PCRE2 through our allocator */
static void *pcre_malloc(PCRE2_SIZE n, void *ud)
{
    return tlv__malloc(ud, n);
}

static void pcre_free(void *p, void *ud)
{
    tlv__free(ud, p);
}

/* Python's `regex` and Oniguruma (HF tokenizers) give \s the White_Space property, which holds
 * U+0085 (NEL); PCRE2 10.42's \s under UCP does not. Spell it out. */
static char *rewrite_ws(const tlv_allocator *alloc, const char *pat)
{
    tlv_buf b;
    tlv__buf_init(&b, alloc);
    int in_class = 0;
    for (const char *p = pat; *p; p++) {
        if (p[0] == '\\' && p[1]) {
            if (p[1] == 's') tlv__buf_put(&b, in_class ? "\\s\\x{85}" : "[\\s\\x{85}]", in_class ? 8 : 10);
            else if (p[1] == 'S' && !in_class) tlv__buf_put(&b, "[^\\s\\x{85}]", 11);
            else tlv__buf_put(&b, p, 2);
            p++;
            continue;
        }
        if (*p == '[' && !in_class) {
            in_class = 1;
            tlv__buf_putc(&b, *p);
            if (p[1] == '^') tlv__buf_putc(&b, *++p);
            if (p[1] == ']') tlv__buf_putc(&b, *++p); /* a literal ']' first in a class */
            continue;
        }
        if (*p == ']' && in_class) in_class = 0;
        tlv__buf_putc(&b, *p);
    }
    char *out = NULL;
    if (tlv__buf_finish(&b, &out, NULL, NULL)) return NULL;
    return out;
}

static tlv_status compile_pattern(tlv_bpe *b, const char *pattern, const char *where, tlv_err *err)
{
    b->gctx = pcre2_general_context_create(pcre_malloc, pcre_free, (void *)b->alloc);
    char *pat = b->gctx ? rewrite_ws(b->alloc, pattern) : NULL;
    if (!pat) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
    pcre2_compile_context *cc = pcre2_compile_context_create(b->gctx);
    if (!cc) {
        tlv__free(b->alloc, pat);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
    }
    int code;
    PCRE2_SIZE off;
    b->re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &off, cc);
    pcre2_compile_context_free(cc);
    tlv__free(b->alloc, pat);
    if (!b->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        int no_mem = code == PCRE2_ERROR_NOMEMORY || code == PCRE2_ERROR_HEAP_FAILED;
        return tlv__err_set(err, no_mem ? TLV_ERR_NO_MEMORY : TLV_ERR_FORMAT,
                            "%s: pre-tokenizer regex does not compile: %s (at offset %zu of '%s')", where,
                            (const char *)msg, (size_t)off, pattern);
    }
    pcre2_jit_compile(b->re, PCRE2_JIT_COMPLETE); /* optional: the interpreter is the fallback */
    return TLV_OK;
}

/* ---------------------------------------------------------------- loading */
void tlv__bpe_destroy(tlv_bpe *b)
{
    if (!b) return;
    const tlv_allocator *a = b->alloc;
    tlv__free(a, b->pieces);
    tlv__free(a, b->arena);
    tlv__free(a, b->bytes);
    tlv__free(a, b->bytes_at);
    tlv__strmap_free(&b->map);
    tlv__free(a, b->merges);
    pcre2_code_free(b->re);
    pcre2_general_context_free(b->gctx);
    tlv__free(a, b);
}

static tlv_status oom(tlv_err *err)
{
    return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
}

/* vocab: a JSON object token -> id. */
static tlv_status load_vocab(tlv_bpe *b, const cJSON *vocab, const char *where, tlv_err *err)
{
    if (!cJSON_IsObject(vocab)) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: expected a JSON object of token -> id", where);
    size_t total = 0;
    int64_t max_id = -1;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        double v = e->valuedouble;
        if (!cJSON_IsNumber(e) || v < 0 || v >= (1 << 24) || v != (double)(int64_t)v)
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s: token '%.64s': expected an id in 0..16777215", where, e->string);
        if ((int64_t)v > max_id) max_id = (int64_t)v;
        total += strlen(e->string) + 1;
    }
    if (max_id < 0) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: empty vocabulary", where);
    b->n_vocab = (int32_t)(max_id + 1);
    b->pieces = tlv__calloc(b->alloc, (size_t)b->n_vocab, sizeof *b->pieces);
    b->arena = tlv__malloc(b->alloc, total);
    if (!b->pieces || !b->arena || tlv__strmap_init(&b->map, b->alloc, (size_t)b->n_vocab)) return oom(err);
    char *w = b->arena;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        int32_t id = (int32_t)e->valuedouble;
        size_t n = strlen(e->string);
        if (b->pieces[id])
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s: id %d is given to both '%.64s' and '%.64s'", where, (int)id,
                                b->pieces[id], e->string);
        memcpy(w, e->string, n + 1);
        b->pieces[id] = w;
        if (tlv__strmap_put(&b->map, w, n, id)) return oom(err);
        w += n + 1;
    }
    if ((int32_t)b->map.count != b->n_vocab) {
        /* Gaps are allowed; a token listed twice is not (cJSON keeps both). */
        size_t listed = 0;
        for (const cJSON *e = vocab->child; e; e = e->next) listed++;
        if (listed != b->map.count) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: a token is listed twice", where);
    }
    /* Every byte must have its one-symbol token, or some text could not be encoded. */
    tlv__byte_alphabet_init(&b->ab);
    for (int c = 0; c < 256; c++) {
        uint32_t cp = b->ab.to_cp[c]; /* < 0x144: one or two UTF-8 bytes */
        char u[2] = {(char)cp, 0};
        size_t un = 1;
        if (cp >= 0x80) {
            u[0] = (char)(0xC0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 0x3F));
            un = 2;
        }
        int32_t id = tlv__strmap_get(&b->map, u, un);
        if (id < 0) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: no token for byte 0x%02X: not a byte-level BPE vocabulary", where, c);
        b->byte_id[c] = id;
    }
    /* Raw bytes of each piece, for decoding. */
    b->bytes_at = tlv__calloc(b->alloc, (size_t)b->n_vocab + 1, sizeof *b->bytes_at);
    b->bytes = tlv__malloc(b->alloc, total);
    if (!b->bytes_at || !b->bytes) return oom(err);
    uint32_t at = 0;
    for (int32_t id = 0; id < b->n_vocab; id++) {
        b->bytes_at[id] = at;
        const unsigned char *p = (const unsigned char *)b->pieces[id];
        if (!p) continue;
        size_t n = strlen((const char *)p);
        while (n) {
            uint32_t cp;
            size_t bad, k = tlv__utf8_next(p, n, TLV_UTF8_PYTHON, &cp, &bad);
            if (!k) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: token id %d is not valid UTF-8", where, (int)id);
            if (cp < 0x144 && b->ab.to_byte[cp] >= 0) b->bytes[at++] = (char)b->ab.to_byte[cp];
            else {
                memcpy(b->bytes + at, p, k);
                at += (uint32_t)k;
            }
            p += k;
            n -= k;
        }
    }
    b->bytes_at[b->n_vocab] = at;
    return TLV_OK;
}

static merge_slot *merge_find(const merge_slot *slots, size_t cap, uint64_t key)
{
    size_t mask = cap - 1, i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & mask;
    while (slots[i].key != EMPTY_KEY && slots[i].key != key) i = (i + 1) & mask;
    return (merge_slot *)&slots[i];
}

static tlv_status merges_init(tlv_bpe *b, size_t expected, tlv_err *err)
{
    size_t cap = 16;
    while (cap < expected * 2 + 2) cap *= 2;
    b->merges = tlv__malloc(b->alloc, cap * sizeof *b->merges);
    if (!b->merges || cap > ((size_t)-1) / sizeof *b->merges) return oom(err);
    for (size_t i = 0; i < cap; i++) b->merges[i].key = EMPTY_KEY;
    b->merges_cap = cap;
    return TLV_OK;
}

/* One merge rule. A later duplicate overrides the rank, as the slow tokenizer's
 * dict(zip(merges, range(n))) does. The caller prefixes errors with where it is. */
static tlv_status add_merge(tlv_bpe *b, const char *l, size_t ln, const char *r, size_t rn, uint32_t rank,
                            tlv_err *err)
{
    int32_t li = tlv__strmap_get(&b->map, l, ln), ri = tlv__strmap_get(&b->map, r, rn);
    if (li < 0 || ri < 0) {
        int left_bad = li < 0;
        return tlv__err_set(err, TLV_ERR_FORMAT, "merge names unknown token '%.*s'",
                            (int)(left_bad ? ln : rn) > 64 ? 64 : (int)(left_bad ? ln : rn), left_bad ? l : r);
    }
    char tmp[1024];
    if (ln + rn > sizeof tmp) return tlv__err_set(err, TLV_ERR_FORMAT, "merge result longer than 1024 bytes");
    memcpy(tmp, l, ln);
    memcpy(tmp + ln, r, rn);
    int32_t mi = tlv__strmap_get(&b->map, tmp, ln + rn);
    if (mi < 0)
        return tlv__err_set(err, TLV_ERR_FORMAT, "merge result '%.*s' is not in the vocabulary",
                            (int)(ln + rn) > 64 ? 64 : (int)(ln + rn), tmp);
    uint64_t key = ((uint64_t)(uint32_t)li << 32) | (uint32_t)ri;
    merge_slot *s = merge_find(b->merges, b->merges_cap, key);
    s->key = key;
    s->rank = rank;
    s->merged = mi;
    return TLV_OK;
}

static tlv_status load_merges_text(tlv_bpe *b, char *text, size_t len, const char *path, tlv_err *err)
{
    size_t n_lines = 1;
    for (size_t i = 0; i < len; i++) n_lines += text[i] == '\n';
    tlv_status st = merges_init(b, n_lines, err);
    if (st) return st;
    uint32_t rank = 0;
    size_t line_no = 0;
    char *p = text, *end = text + len;
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        line_no++;
        char *q = eol;
        while (q > p && (q[-1] == '\r' || q[-1] == ' ' || q[-1] == '\t')) q--;
        size_t n = (size_t)(q - p);
        if (n == 0 || (line_no == 1 && n >= 8 && !memcmp(p, "#version", 8))) {
            p = eol + 1;
            continue;
        }
        char *sp = memchr(p, ' ', n);
        if (!sp || sp == p || sp + 1 == q || memchr(sp + 1, ' ', (size_t)(q - sp - 1)))
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s:%zu: expected two tokens separated by one space, found '%.*s'",
                                path, line_no, (int)n > 64 ? 64 : (int)n, p);
        st = add_merge(b, p, (size_t)(sp - p), sp + 1, (size_t)(q - sp - 1), rank++, err);
        if (st) return tlv__err_prefix(err, "%s:%zu", path, line_no);
        p = eol + 1;
    }
    return TLV_OK;
}

static tlv_status load_merges_json(tlv_bpe *b, const cJSON *merges, const char *path, tlv_err *err)
{
    if (!cJSON_IsArray(merges)) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: model.merges: expected an array", path);
    tlv_status st = merges_init(b, (size_t)cJSON_GetArraySize(merges), err);
    if (st) return st;
    uint32_t rank = 0;
    for (const cJSON *m = merges->child; m; m = m->next, rank++) {
        if (cJSON_IsString(m)) {
            const char *s = m->valuestring, *sp = strchr(s, ' ');
            if (!sp || sp == s || !sp[1] || strchr(sp + 1, ' '))
                st = tlv__err_set(err, TLV_ERR_FORMAT, "expected \"left right\", found '%.64s'", s);
            else
                st = add_merge(b, s, (size_t)(sp - s), sp + 1, strlen(sp + 1), rank, err);
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                   cJSON_IsString(m->child->next)) {
            const char *l = m->child->valuestring, *r = m->child->next->valuestring;
            st = add_merge(b, l, strlen(l), r, strlen(r), rank, err);
        } else {
            st = tlv__err_set(err, TLV_ERR_FORMAT, "expected a string or a pair of strings");
        }
        if (st) return tlv__err_prefix(err, "%s: model.merges[%u]", path, (unsigned)rank);
    }
    return TLV_OK;
}

static tlv_bpe *bpe_new(const tlv_allocator *alloc)
{
    tlv_bpe *b = tlv__calloc(alloc, 1, sizeof *b);
    if (b) b->alloc = alloc;
    return b;
}

tlv_status tlv__bpe_load_files(const char *vocab_path, const char *merges_path, const char *pattern,
                               const tlv_allocator *alloc, tlv_bpe **out, tlv_err *err)
{
    *out = NULL;
    char *text = NULL;
    size_t len;
    cJSON *json = NULL;
    tlv_bpe *b = bpe_new(alloc);
    if (!b) return oom(err);
    tlv_status st = tlv__text_read_file(vocab_path, alloc, &text, &len, err);
    if (st) goto fail;
    json = cJSON_ParseWithLength(text, len);
    if (!json) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= text && at <= text + len ? (size_t)(at - text) : 0;
        st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: malformed JSON near byte %zu", vocab_path, off);
        goto fail;
    }
    tlv__free(alloc, text);
    text = NULL;
    st = load_vocab(b, json, vocab_path, err);
    if (st) goto fail;
    cJSON_Delete(json);
    json = NULL;
    st = tlv__text_read_file(merges_path, alloc, &text, &len, err);
    if (st) goto fail;
    st = load_merges_text(b, text, len, merges_path, err);
    if (st) goto fail;
    tlv__free(alloc, text);
    text = NULL;
    st = compile_pattern(b, pattern, vocab_path, err);
    if (st) goto fail;
    *out = b;
    return TLV_OK;
fail:
    tlv__free(alloc, text);
    cJSON_Delete(json);
    tlv__bpe_destroy(b);
    return st;
}

tlv_status tlv__bpe_load_json(const cJSON *model, const char *path, const char *pattern, const tlv_allocator *alloc,
                              tlv_bpe **out, tlv_err *err)
{
    *out = NULL;
    tlv_bpe *b = bpe_new(alloc);
    if (!b) return oom(err);
    char where[4200];
    snprintf(where, sizeof where, "%s: model.vocab", path);
    tlv_status st = load_vocab(b, cJSON_GetObjectItemCaseSensitive(model, "vocab"), where, err);
    if (!st) st = load_merges_json(b, cJSON_GetObjectItemCaseSensitive(model, "merges"), path, err);
    if (!st) st = compile_pattern(b, pattern, path, err);
    if (st) {
        tlv__bpe_destroy(b);
        return st;
    }
    *out = b;
    return TLV_OK;
}

tlv_status tlv__bpe_set_pattern(tlv_bpe *b, const char *pattern, const char *where, tlv_err *err)
{
    pcre2_code_free(b->re);
    pcre2_general_context_free(b->gctx);
    b->re = NULL;
    b->gctx = NULL;
    return compile_pattern(b, pattern, where, err);
}

/* ---------------------------------------------------------------- queries */
int32_t tlv__bpe_vocab_size(const tlv_bpe *b)
{
    return b->n_vocab;
}

const char *tlv__bpe_piece(const tlv_bpe *b, int32_t id)
{
    return id >= 0 && id < b->n_vocab ? b->pieces[id] : NULL;
}

int32_t tlv__bpe_piece_id(const tlv_bpe *b, const char *s, size_t n)
{
    return tlv__strmap_get(&b->map, s, n);
}

const char *tlv__bpe_piece_bytes(const tlv_bpe *b, int32_t id, size_t *n)
{
    if (id < 0 || id >= b->n_vocab || !b->pieces[id]) return NULL;
    *n = b->bytes_at[id + 1] - b->bytes_at[id];
    return b->bytes + b->bytes_at[id];
}

/* ---------------------------------------------------------------- encoding */
typedef struct heap_item {
    uint32_t rank;
    int32_t pos;    /* the left symbol */
    int32_t left, right, merged;
} heap_item;

typedef struct scratch {
    const tlv_allocator *alloc;
    int32_t *id, *prev, *next;
    heap_item *heap;
    size_t cap, n_heap;
    int oom;
} scratch;

static int scratch_reserve(scratch *s, size_t n)
{
    if (n <= s->cap) return 1;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < n) cap *= 2;
    int32_t *a = tlv__realloc(s->alloc, s->id, cap * sizeof *a);
    if (a) s->id = a;
    int32_t *p = a ? tlv__realloc(s->alloc, s->prev, cap * sizeof *p) : NULL;
    if (p) s->prev = p;
    int32_t *q = p ? tlv__realloc(s->alloc, s->next, cap * sizeof *q) : NULL;
    if (q) s->next = q;
    /* Each merge pushes at most two pairs: n - 1 + 2n bounds the heap. */
    heap_item *h = q ? tlv__realloc(s->alloc, s->heap, 3 * cap * sizeof *h) : NULL;
    if (h) s->heap = h;
    if (!h) {
        s->oom = 1;
        return 0;
    }
    s->cap = cap;
    return 1;
}

static int heap_less(const heap_item *a, const heap_item *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(scratch *s, heap_item it)
{
    size_t i = s->n_heap++;
    while (i) {
        size_t up = (i - 1) / 2;
        if (!heap_less(&it, &s->heap[up])) break;
        s->heap[i] = s->heap[up];
        i = up;
    }
    s->heap[i] = it;
}

static heap_item heap_pop(scratch *s)
{
    heap_item top = s->heap[0], last = s->heap[--s->n_heap];
    size_t i = 0, n = s->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap_less(&s->heap[c + 1], &s->heap[c])) c++;
        if (!heap_less(&s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n) s->heap[i] = last;
    return top;
}

static void maybe_push_pair(const tlv_bpe *b, scratch *s, int32_t l)
{
    if (l < 0) return;
    int32_t r = s->next[l];
    if (r < 0) return;
    uint64_t key = ((uint64_t)(uint32_t)s->id[l] << 32) | (uint32_t)s->id[r];
    const merge_slot *m = merge_find(b->merges, b->merges_cap, key);
    if (m->key == EMPTY_KEY) return;
    heap_item it = {m->rank, l, s->id[l], s->id[r], m->merged};
    heap_push(s, it);
}

static void encode_word(const tlv_bpe *b, scratch *s, const unsigned char *w, size_t n, tlv_ids *out)
{
    if (n == 1) {
        tlv__ids_push(out, b->byte_id[w[0]]);
        return;
    }
    if (n > INT32_MAX / 4 || !scratch_reserve(s, n)) {
        s->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        s->id[i] = b->byte_id[w[i]];
        s->prev[i] = (int32_t)i - 1;
        s->next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    s->n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++) maybe_push_pair(b, s, (int32_t)i);
    while (s->n_heap) {
        heap_item it = heap_pop(s);
        int32_t l = it.pos, r = s->next[l];
        /* Stale entry: a neighbour has merged since the pair was pushed. */
        if (s->id[l] != it.left || r < 0 || s->id[r] != it.right) continue;
        s->id[l] = it.merged;
        s->next[l] = s->next[r];
        if (s->next[r] >= 0) s->prev[s->next[r]] = l;
        s->id[r] = -1;
        maybe_push_pair(b, s, s->prev[l]);
        maybe_push_pair(b, s, l);
    }
    for (int32_t i = 0; i >= 0; i = s->next[i]) tlv__ids_push(out, s->id[i]);
}

tlv_status tlv__bpe_encode(const tlv_bpe *b, const char *text, size_t len, tlv_ids *out, tlv_err *err)
{
    scratch s = {0};
    s.alloc = b->alloc;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(b->re, b->gctx);
    if (!md) return oom(err);
    tlv_status st = TLV_OK;
    const unsigned char *u = (const unsigned char *)text;
    size_t pos = 0;
    while (pos < len && !s.oom && !out->oom) {
        int rc = pcre2_match(b->re, u, len, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) /* e.g. the JIT stack: the interpreter has more room */
            rc = pcre2_match(b->re, u, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) {
            encode_word(b, &s, u + pos, len - pos, out); /* unmatched rest: one word (HF Isolated) */
            break;
        }
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            st = tlv__err_set(err, rc == PCRE2_ERROR_NOMEMORY ? TLV_ERR_NO_MEMORY : TLV_ERR_LIMIT,
                              "pre-tokenizer regex failed at byte %zu: %s", pos, (const char *)msg);
            break;
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t start = ov[0], end = ov[1];
        if (start > pos) encode_word(b, &s, u + pos, start - pos, out);
        if (end == start) { /* an empty match: take one character as a word */
            end = start + 1;
            while (end < len && (u[end] & 0xC0) == 0x80) end++;
        }
        encode_word(b, &s, u + start, end - start, out);
        pos = end;
    }
    if (!st && (s.oom || out->oom)) st = oom(err);
    pcre2_match_data_free(md);
    tlv__free(b->alloc, s.id);
    tlv__free(b->alloc, s.prev);
    tlv__free(b->alloc, s.next);
    tlv__free(b->alloc, s.heap);
    return st;
}
