#include "text/spm.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define SPACE_SYMBOL "\xE2\x96\x81" /* U+2581 '▁' */

struct tlv_spm {
    const tlv_allocator *alloc;
    int32_t n_pieces;
    char **pieces;      /* [n_pieces] into arena */
    float *scores;
    uint8_t *types;     /* tlv_spm_type */
    int16_t *byte_of;   /* [n_pieces]: byte value of a BYTE piece or -1 */
    int32_t byte_id[256];
    char *arena;
    tlv_strmap all;     /* every piece -> id */
    tlv_strmap merge;   /* NORMAL, USER_DEFINED, UNUSED pieces: what BPE may produce */
    int32_t *user;      /* ids of USER_DEFINED pieces, longest first */
    int32_t n_user;
    int32_t unk_id;
    int model_type, byte_fallback, ws_suffix;
    int add_dummy_prefix, remove_extra_ws, escape_ws;
    size_t charsmap_len;
};

/* ---------------------------------------------------------------- protobuf wire reader */
typedef struct pb {
    const uint8_t *base, *p, *end;
    const char *name;
    tlv_err *err;
    tlv_status st;
} pb;

static int pb_fail(pb *r, const char *what)
{
    if (!r->st) r->st = tlv__err_set(r->err, TLV_ERR_FORMAT, "%s: byte %zu: %s", r->name, (size_t)(r->p - r->base), what);
    return 0;
}

static int pb_varint(pb *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return pb_fail(r, "truncated varint (file cut short?)");
        uint8_t c = *r->p++;
        x |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return pb_fail(r, "varint longer than 10 bytes (corrupt file)");
}

/* Reads a field header; *wire is the wire type. Returns 0 at the end or on error. */
static int pb_key(pb *r, uint32_t *field, int *wire)
{
    if (r->p >= r->end || r->st) return 0;
    uint64_t k;
    if (!pb_varint(r, &k)) return 0;
    *field = (uint32_t)(k >> 3);
    *wire = (int)(k & 7);
    if (*field == 0 || k >> 3 > 0x1FFFFFFF) return pb_fail(r, "invalid field number (corrupt file)");
    return 1;
}

static int pb_len(pb *r, const uint8_t **data, size_t *n)
{
    uint64_t len;
    if (!pb_varint(r, &len)) return 0;
    if (len > (uint64_t)(r->end - r->p)) return pb_fail(r, "length runs past the end of the data (truncated file?)");
    *data = r->p;
    *n = (size_t)len;
    r->p += len;
    return 1;
}

static int pb_skip(pb *r, int wire)
{
    uint64_t v;
    const uint8_t *d;
    size_t n;
    switch (wire) {
    case 0: return pb_varint(r, &v);
    case 1:
        if (r->end - r->p < 8) return pb_fail(r, "truncated fixed64");
        r->p += 8;
        return 1;
    case 2: return pb_len(r, &d, &n);
    case 5:
        if (r->end - r->p < 4) return pb_fail(r, "truncated fixed32");
        r->p += 4;
        return 1;
    default: return pb_fail(r, "unknown wire type (not a protobuf file?)");
    }
}

static pb pb_sub(pb *parent, const uint8_t *data, size_t n)
{
    pb r = *parent;
    r.p = data;
    r.end = data + n;
    return r;
}

static int pb_want(pb *r, int wire, int expected)
{
    return wire == expected ? 1 : pb_fail(r, "field has the wrong wire type (corrupt file)");
}

/* ---------------------------------------------------------------- parsing */
typedef struct raw_piece {
    const uint8_t *s;
    size_t n;
    float score;
    int type;
} raw_piece;

static int parse_piece(pb *r, raw_piece *out)
{
    out->s = NULL;
    out->n = 0;
    out->score = 0;
    out->type = TLV_SPM_NORMAL;
    uint32_t f;
    int w;
    while (pb_key(r, &f, &w)) {
        uint64_t v;
        if (f == 1) {
            if (!pb_want(r, w, 2) || !pb_len(r, &out->s, &out->n)) return 0;
        } else if (f == 2) {
            if (!pb_want(r, w, 5)) return 0;
            if (r->end - r->p < 4) return pb_fail(r, "truncated score");
            uint32_t u = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
            memcpy(&out->score, &u, 4);
            r->p += 4;
        } else if (f == 3) {
            if (!pb_want(r, w, 0) || !pb_varint(r, &v)) return 0;
            if (v < 1 || v > 6) return pb_fail(r, "piece type out of range 1..6");
            out->type = (int)v;
        } else if (!pb_skip(r, w)) return 0;
    }
    return !r->st;
}

static int parse_bool_or_enum(pb *r, int w, int *out)
{
    uint64_t v;
    if (!pb_want(r, w, 0) || !pb_varint(r, &v)) return 0;
    *out = (int)(v > 0x7FFFFFFF ? 0x7FFFFFFF : v);
    return 1;
}

static int parse_trainer(pb *r, tlv_spm *s)
{
    uint32_t f;
    int w;
    while (pb_key(r, &f, &w)) {
        int ok = f == 3 ? parse_bool_or_enum(r, w, &s->model_type)
                 : f == 24 ? parse_bool_or_enum(r, w, &s->ws_suffix)
                 : f == 35 ? parse_bool_or_enum(r, w, &s->byte_fallback)
                           : pb_skip(r, w);
        if (!ok) return 0;
    }
    return !r->st;
}

static int parse_normalizer(pb *r, tlv_spm *s)
{
    uint32_t f;
    int w;
    while (pb_key(r, &f, &w)) {
        const uint8_t *d;
        int ok;
        if (f == 2) {
            ok = pb_want(r, w, 2) && pb_len(r, &d, &s->charsmap_len);
        } else {
            ok = f == 3 ? parse_bool_or_enum(r, w, &s->add_dummy_prefix)
                 : f == 4 ? parse_bool_or_enum(r, w, &s->remove_extra_ws)
                 : f == 5 ? parse_bool_or_enum(r, w, &s->escape_ws)
                          : pb_skip(r, w);
        }
        if (!ok) return 0;
    }
    return !r->st;
}

void tlv__spm_destroy(tlv_spm *s)
{
    if (!s) return;
    const tlv_allocator *a = s->alloc;
    tlv__free(a, s->pieces);
    tlv__free(a, s->scores);
    tlv__free(a, s->types);
    tlv__free(a, s->byte_of);
    tlv__free(a, s->arena);
    tlv__free(a, s->user);
    tlv__strmap_free(&s->all);
    tlv__strmap_free(&s->merge);
    tlv__free(a, s);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int cmp_user_len(const void *a, const void *b, const tlv_spm *s)
{
    size_t la = strlen(s->pieces[*(const int32_t *)a]), lb = strlen(s->pieces[*(const int32_t *)b]);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Builds the tables once the pieces are known. */
static tlv_status build(tlv_spm *s, const raw_piece *raw, const uint8_t *mergeable, const char *name, tlv_err *err)
{
    const tlv_allocator *a = s->alloc;
    size_t total = 0;
    for (int32_t i = 0; i < s->n_pieces; i++) total += raw[i].n + 1;
    s->pieces = tlv__calloc(a, (size_t)s->n_pieces, sizeof *s->pieces);
    s->scores = tlv__calloc(a, (size_t)s->n_pieces, sizeof *s->scores);
    s->types = tlv__calloc(a, (size_t)s->n_pieces, 1);
    s->byte_of = tlv__calloc(a, (size_t)s->n_pieces, sizeof *s->byte_of);
    s->user = tlv__calloc(a, (size_t)s->n_pieces, sizeof *s->user);
    s->arena = tlv__malloc(a, total);
    if (!s->pieces || !s->scores || !s->types || !s->byte_of || !s->user || !s->arena ||
        tlv__strmap_init(&s->all, a, (size_t)s->n_pieces) || tlv__strmap_init(&s->merge, a, (size_t)s->n_pieces))
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
    for (int c = 0; c < 256; c++) s->byte_id[c] = -1;
    s->unk_id = -1;
    char *w = s->arena;
    for (int32_t i = 0; i < s->n_pieces; i++) {
        const raw_piece *p = &raw[i];
        if (!p->n) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: piece %d is empty", name, (int)i);
        const unsigned char *u = p->s;
        for (size_t k = 0; k < p->n;) {
            uint32_t cp;
            size_t bad, m = tlv__utf8_next(u + k, p->n - k, TLV_UTF8_PYTHON, &cp, &bad);
            if (!m || !cp) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: piece %d is not valid UTF-8", name, (int)i);
            k += m;
        }
        memcpy(w, p->s, p->n);
        w[p->n] = 0;
        s->pieces[i] = w;
        s->scores[i] = p->score;
        s->types[i] = (uint8_t)p->type;
        s->byte_of[i] = -1;
        if (tlv__strmap_get(&s->all, w, p->n) >= 0)
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s: piece '%.64s' is listed twice", name, w);
        if (tlv__strmap_put(&s->all, w, p->n, i)) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
        if ((p->type == TLV_SPM_NORMAL || p->type == TLV_SPM_USER_DEFINED || p->type == TLV_SPM_UNUSED) &&
            (!mergeable || mergeable[i]))
            if (tlv__strmap_put(&s->merge, w, p->n, i)) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
        if (p->type == TLV_SPM_USER_DEFINED) s->user[s->n_user++] = i;
        if (p->type == TLV_SPM_UNKNOWN) {
            if (s->unk_id >= 0) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: two UNKNOWN pieces (%d and %d)", name, (int)s->unk_id, (int)i);
            s->unk_id = i;
        }
        if (p->type == TLV_SPM_BYTE) {
            int hi = p->n == 6 ? hexval(w[3]) : -1, lo = p->n == 6 ? hexval(w[4]) : -1;
            if (memcmp(w, "<0x", 3) || w[5] != '>' || hi < 0 || lo < 0)
                return tlv__err_set(err, TLV_ERR_FORMAT, "%s: BYTE piece %d is '%.64s', expected <0xXX>", name, (int)i, w);
            s->byte_of[i] = (int16_t)(hi * 16 + lo);
            s->byte_id[hi * 16 + lo] = i;
        }
        w += p->n + 1;
    }
    if (s->unk_id < 0) return tlv__err_set(err, TLV_ERR_FORMAT, "%s: no UNKNOWN piece", name);
    if (s->byte_fallback)
        for (int c = 0; c < 256; c++)
            if (s->byte_id[c] < 0)
                return tlv__err_set(err, TLV_ERR_FORMAT, "%s: byte_fallback is on but piece <0x%02X> is missing", name, c);
    /* Longest user-defined piece first (insertion sort: there are few). */
    for (int32_t i = 1; i < s->n_user; i++)
        for (int32_t j = i; j > 0 && cmp_user_len(&s->user[j - 1], &s->user[j], s) > 0; j--) {
            int32_t t = s->user[j];
            s->user[j] = s->user[j - 1];
            s->user[j - 1] = t;
        }
    return TLV_OK;
}

tlv_status tlv__spm_load_bytes(const void *data, size_t len, const char *name, const tlv_allocator *alloc,
                               tlv_spm **out, tlv_err *err)
{
    *out = NULL;
    tlv_spm *s = tlv__calloc(alloc, 1, sizeof *s);
    raw_piece *raw = NULL;
    if (!s) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
    s->alloc = alloc;
    s->model_type = 1; /* protobuf defaults (sentencepiece_model.proto) */
    s->add_dummy_prefix = s->remove_extra_ws = s->escape_ws = 1;
    pb r = {data, data, (const uint8_t *)data + len, name, err, TLV_OK};
    tlv_status st = TLV_OK;
    /* Pass 1: count pieces; pass 2 fills them. */
    size_t n = 0, cap = 0;
    int seen_trainer = 0;
    uint32_t f;
    int w;
    while (pb_key(&r, &f, &w)) {
        const uint8_t *d;
        size_t dn;
        if (f >= 1 && f <= 3) {
            if (!pb_want(&r, w, 2) || !pb_len(&r, &d, &dn)) break;
            pb sub = pb_sub(&r, d, dn);
            if (f == 1) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 1024;
                    raw_piece *g = tlv__realloc(alloc, raw, cap * sizeof *raw);
                    if (!g) {
                        st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
                        goto fail;
                    }
                    raw = g;
                }
                if (!parse_piece(&sub, &raw[n])) r.st = sub.st;
                n++;
            } else if (f == 2) {
                seen_trainer = 1;
                if (!parse_trainer(&sub, s)) r.st = sub.st;
            } else if (!parse_normalizer(&sub, s)) {
                r.st = sub.st;
            }
            if (r.st) break;
        } else if (!pb_skip(&r, w)) {
            break;
        }
    }
    if (r.st) {
        st = r.st;
        goto fail;
    }
    if (n == 0) {
        st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: no pieces (empty or not a SentencePiece model)", name);
        goto fail;
    }
    if (n > INT32_MAX / 4) {
        st = tlv__err_set(err, TLV_ERR_LIMIT, "%s: %zu pieces is too many", name, n);
        goto fail;
    }
    if (!seen_trainer) {
        st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: no trainer_spec after %zu pieces (truncated file?)", name, n);
        goto fail;
    }
    if (s->model_type != 2) {
        st = tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: model_type %d (%s); only BPE (2) is supported", name,
                          s->model_type, s->model_type == 1 ? "UNIGRAM" : "WORD/CHAR");
        goto fail;
    }
    if (s->charsmap_len) {
        st = tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: normalizer has a precompiled_charsmap (%zu bytes); only the identity normalizer is supported",
                          name, s->charsmap_len);
        goto fail;
    }
    s->n_pieces = (int32_t)n;
    st = build(s, raw, NULL, name, err);
    if (st) goto fail;
    tlv__free(alloc, raw);
    *out = s;
    return TLV_OK;
fail:
    tlv__free(alloc, raw);
    tlv__spm_destroy(s);
    return st;
}

tlv_status tlv__spm_load(const char *path, const tlv_allocator *alloc, tlv_spm **out, tlv_err *err)
{
    char *data;
    size_t len;
    *out = NULL;
    tlv_status st = tlv__text_read_file(path, alloc, &data, &len, err);
    if (st) return st;
    st = tlv__spm_load_bytes(data, len, path, alloc, out, err);
    tlv__free(alloc, data);
    return st;
}

/* ---------------------------------------------------------------- tokenizer.json */
/* A llama-style tokenizer.json: model BPE with byte_fallback, vocab + merges, normalizer
 * Prepend('▁') + Replace(' ', '▁') (or a Metaspace pre-tokenizer). A merged piece gets the score
 * -(rank of the first merge that makes it), so "highest score first" = "lowest rank first"
 * (transformers' LlamaConverter writes the merges of a piece together, in score order). Only
 * pieces some merge makes may be merged into, as in HF's BPE. */
static int json_has(const cJSON *node, const char *type)
{
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(node, "type"));
    if (t && !strcmp(t, type)) return 1;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(node, "normalizers");
    if (!list) list = cJSON_GetObjectItemCaseSensitive(node, "pretokenizers");
    for (const cJSON *e = list ? list->child : NULL; e; e = e->next)
        if (json_has(e, type)) return 1;
    return 0;
}

tlv_status tlv__spm_load_json(const cJSON *root, const char *path, const tlv_allocator *alloc, tlv_spm **out,
                              tlv_err *err)
{
    *out = NULL;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges))
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: model.vocab (object) and model.merges (array) are required", path);
    tlv_spm *s = tlv__calloc(alloc, 1, sizeof *s);
    raw_piece *raw = NULL;
    uint8_t *mergeable = NULL;
    tlv_strmap tmp = {0};
    tlv_status st = TLV_OK;
    if (!s) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
    s->alloc = alloc;
    s->model_type = 2;
    s->byte_fallback = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"));
    s->add_dummy_prefix = json_has(cJSON_GetObjectItemCaseSensitive(root, "normalizer"), "Prepend") ||
                          json_has(cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), "Metaspace");
    s->escape_ws = 1;
    s->remove_extra_ws = 0;
    size_t n = (size_t)cJSON_GetArraySize(vocab);
    if (n == 0 || n > INT32_MAX / 4) {
        st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: model.vocab has %zu entries", path, n);
        goto fail;
    }
    raw = tlv__calloc(alloc, n, sizeof *raw);
    mergeable = tlv__calloc(alloc, n, 1);
    if (!raw || !mergeable || tlv__strmap_init(&tmp, alloc, n)) goto oom;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        double v = e->valuedouble;
        if (!cJSON_IsNumber(e) || v < 0 || v >= (double)n || v != (double)(int32_t)v || raw[(size_t)v].s) {
            st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: model.vocab: token '%.64s': id must be unique and in 0..%zu", path,
                              e->string, n - 1);
            goto fail;
        }
        raw_piece *p = &raw[(size_t)v];
        p->s = (const uint8_t *)e->string;
        p->n = strlen(e->string);
        p->type = TLV_SPM_NORMAL;
        p->score = -1e30f; /* made by no merge */
        if (p->n == 6 && !memcmp(e->string, "<0x", 3) && e->string[5] == '>' && hexval(e->string[3]) >= 0 && hexval(e->string[4]) >= 0)
            p->type = TLV_SPM_BYTE;
        if (tlv__strmap_put(&tmp, e->string, p->n, (int32_t)v)) goto oom;
    }
    const char *unk = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(model, "unk_token"));
    int32_t unk_id = unk ? tlv__strmap_get(&tmp, unk, strlen(unk)) : -1;
    if (unk_id < 0) {
        st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: model.unk_token is missing or not in the vocabulary", path);
        goto fail;
    }
    raw[unk_id].type = TLV_SPM_UNKNOWN;
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    for (const cJSON *a = added ? added->child : NULL; a; a = a->next) {
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "content"));
        int32_t id = c ? tlv__strmap_get(&tmp, c, strlen(c)) : -1;
        if (id >= 0 && id != unk_id && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "special"))) raw[id].type = TLV_SPM_CONTROL;
    }
    uint32_t rank = 0;
    for (const cJSON *m = merges->child; m; m = m->next, rank++) {
        const char *l = NULL, *r = NULL;
        size_t ln = 0;
        if (cJSON_IsString(m)) {
            l = m->valuestring;
            const char *sp = strchr(l, ' ');
            if (sp) {
                ln = (size_t)(sp - l);
                r = sp + 1;
            }
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2) {
            l = cJSON_GetStringValue(m->child);
            r = cJSON_GetStringValue(m->child->next);
            ln = l ? strlen(l) : 0;
        }
        char buf[1024];
        size_t rn = r ? strlen(r) : 0;
        if (!l || !r || !ln || !rn || ln + rn > sizeof buf) {
            st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: model.merges[%u]: expected \"left right\" or a pair", path, (unsigned)rank);
            goto fail;
        }
        if (tlv__strmap_get(&tmp, l, ln) < 0 || tlv__strmap_get(&tmp, r, rn) < 0) {
            int bad_left = tlv__strmap_get(&tmp, l, ln) < 0;
            st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: model.merges[%u]: merge names unknown token '%.*s'", path, (unsigned)rank,
                              (int)(bad_left ? ln : rn) > 64 ? 64 : (int)(bad_left ? ln : rn), bad_left ? l : r);
            goto fail;
        }
        memcpy(buf, l, ln);
        memcpy(buf + ln, r, rn);
        int32_t id = tlv__strmap_get(&tmp, buf, ln + rn);
        if (id < 0) {
            st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: model.merges[%u]: merge result '%.*s' is not in the vocabulary", path,
                              (unsigned)rank, (int)(ln + rn) > 64 ? 64 : (int)(ln + rn), buf);
            goto fail;
        }
        if (!mergeable[id]) {
            mergeable[id] = 1;
            raw[id].score = -(float)rank;
        }
    }
    s->n_pieces = (int32_t)n;
    st = build(s, raw, mergeable, path, err);
    if (st) goto fail;
    tlv__strmap_free(&tmp);
    tlv__free(alloc, raw);
    tlv__free(alloc, mergeable);
    *out = s;
    return TLV_OK;
oom:
    st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
fail:
    tlv__strmap_free(&tmp);
    tlv__free(alloc, raw);
    tlv__free(alloc, mergeable);
    tlv__spm_destroy(s);
    return st;
}

/* ---------------------------------------------------------------- queries */
int32_t tlv__spm_vocab_size(const tlv_spm *s) { return s->n_pieces; }
const char *tlv__spm_piece(const tlv_spm *s, int32_t id) { return id >= 0 && id < s->n_pieces ? s->pieces[id] : NULL; }
int32_t tlv__spm_piece_id(const tlv_spm *s, const char *piece, size_t n) { return tlv__strmap_get(&s->all, piece, n); }
tlv_spm_type tlv__spm_type(const tlv_spm *s, int32_t id) { return id >= 0 && id < s->n_pieces ? (tlv_spm_type)s->types[id] : TLV_SPM_UNKNOWN; }
int tlv__spm_byte(const tlv_spm *s, int32_t id) { return id >= 0 && id < s->n_pieces ? s->byte_of[id] : -1; }
int32_t tlv__spm_unk(const tlv_spm *s) { return s->unk_id; }
int tlv__spm_add_dummy_prefix(const tlv_spm *s) { return s->add_dummy_prefix; }
int tlv__spm_remove_extra_whitespaces(const tlv_spm *s) { return s->remove_extra_ws; }

/* ---------------------------------------------------------------- encoding */
/* sentencepiece normalizer.cc with the identity map: optional whitespace clean-up, the dummy
 * prefix, ' ' -> '▁'. */
static void normalize(const tlv_spm *s, const char *text, size_t len, int dummy, tlv_buf *out)
{
    size_t i = 0;
    if (s->remove_extra_ws)
        while (i < len && text[i] == ' ') i++;
    if (i == len) return;
    const char *space = s->escape_ws ? SPACE_SYMBOL : " ";
    size_t space_n = s->escape_ws ? 3 : 1;
    if (dummy && !s->ws_suffix) tlv__buf_put(out, space, space_n);
    int prev_space = 0;
    for (; i < len; i++) {
        if (text[i] == ' ') {
            if (s->remove_extra_ws && prev_space) continue;
            tlv__buf_put(out, space, space_n);
            prev_space = 1;
        } else {
            tlv__buf_putc(out, text[i]);
            prev_space = 0;
        }
    }
    if (s->remove_extra_ws && prev_space) out->n -= space_n;
    if (dummy && s->ws_suffix) tlv__buf_put(out, space, space_n);
}

typedef struct sym {
    uint32_t start, len; /* a slice of the normalized text */
    int32_t prev, next;
    int freeze;
} sym;

typedef struct pair {
    float score;
    int32_t left, right;
    uint32_t size;
} pair;

typedef struct work {
    const tlv_spm *s;
    const char *text;
    sym *sy;
    pair *heap;
    size_t n_heap;
    /* sentencepiece's rev_merge: how an UNUSED piece was last proposed, for resegmenting. */
    struct rev { uint32_t start, len, left_len; } *rev;
    size_t n_rev, cap_rev;
    int oom;
} work;

static int pair_less(const pair *a, const pair *b) /* a has lower priority than b */
{
    return a->score < b->score || (a->score == b->score && a->left > b->left);
}

static void heap_push(work *w, pair p)
{
    size_t i = w->n_heap++;
    while (i) {
        size_t up = (i - 1) / 2;
        if (!pair_less(&w->heap[up], &p)) break;
        w->heap[i] = w->heap[up];
        i = up;
    }
    w->heap[i] = p;
}

static pair heap_pop(work *w)
{
    pair top = w->heap[0], last = w->heap[--w->n_heap];
    size_t i = 0, n = w->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && pair_less(&w->heap[c], &w->heap[c + 1])) c++;
        if (!pair_less(&last, &w->heap[c])) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

static void maybe_add_pair(work *w, int32_t l, int32_t r)
{
    if (l < 0 || r < 0 || w->sy[l].freeze || w->sy[r].freeze) return;
    uint32_t size = w->sy[l].len + w->sy[r].len;
    int32_t id = tlv__strmap_get(&w->s->merge, w->text + w->sy[l].start, size);
    if (id < 0) return;
    pair p = {w->s->scores[id], l, r, size};
    heap_push(w, p);
    if (w->s->types[id] == TLV_SPM_UNUSED) {
        if (w->n_rev == w->cap_rev) {
            size_t cap = w->cap_rev ? w->cap_rev * 2 : 16;
            struct rev *g = tlv__realloc(w->s->alloc, w->rev, cap * sizeof *g);
            if (!g) {
                w->oom = 1;
                return;
            }
            w->rev = g;
            w->cap_rev = cap;
        }
        struct rev e = {w->sy[l].start, size, w->sy[l].len};
        w->rev[w->n_rev++] = e;
    }
}

static void emit_unknown(const tlv_spm *s, const char *p, size_t n, tlv_ids *out)
{
    if (!s->byte_fallback) {
        tlv__ids_push(out, s->unk_id);
        return;
    }
    for (size_t i = 0; i < n; i++) tlv__ids_push(out, s->byte_id[(unsigned char)p[i]]);
}

static void resegment(work *w, const char *p, size_t n, int depth, tlv_ids *out)
{
    const tlv_spm *s = w->s;
    int32_t id = tlv__strmap_get(&s->all, p, n);
    if (id < 0) {
        emit_unknown(s, p, n, out);
        return;
    }
    int t = s->types[id];
    if (t == TLV_SPM_UNUSED && depth < 64) {
        /* The latest proposal of the same string (sentencepiece's map keeps the last). */
        for (size_t k = w->n_rev; k-- > 0;) {
            const struct rev *e = &w->rev[k];
            if (e->len == n && !memcmp(w->text + e->start, p, n)) {
                resegment(w, p, e->left_len, depth + 1, out);
                resegment(w, p + e->left_len, n - e->left_len, depth + 1, out);
                return;
            }
        }
    }
    if (t == TLV_SPM_UNKNOWN || t == TLV_SPM_CONTROL) emit_unknown(s, p, n, out);
    else tlv__ids_push(out, id);
}

tlv_status tlv__spm_encode(const tlv_spm *s, const char *text, size_t len, int add_dummy_prefix, tlv_ids *out,
                           tlv_err *err)
{
    tlv_buf norm;
    tlv__buf_init(&norm, s->alloc);
    normalize(s, text, len, add_dummy_prefix, &norm);
    work w = {0};
    w.s = s;
    w.text = norm.p;
    size_t n = norm.n;
    tlv_status st = TLV_OK;
    if (norm.oom) goto oom;
    if (n > UINT32_MAX / 4) {
        st = tlv__err_set(err, TLV_ERR_LIMIT, "text of %zu bytes is too long for one SentencePiece encode (limit 1 GiB)", n);
        goto done;
    }
    if (n == 0) goto done;
    w.sy = tlv__malloc(s->alloc, n * sizeof *w.sy);
    w.heap = tlv__malloc(s->alloc, 3 * n * sizeof *w.heap);
    if (!w.sy || !w.heap) goto oom;
    /* Split into symbols: a user-defined piece (frozen) or one character. */
    size_t n_sym = 0;
    for (size_t i = 0; i < n;) {
        size_t m = 0;
        int freeze = 0;
        for (int32_t k = 0; k < s->n_user; k++) {
            const char *u = s->pieces[s->user[k]];
            size_t un = strlen(u);
            if (un <= n - i && !memcmp(u, norm.p + i, un)) {
                m = un;
                freeze = 1;
                break;
            }
        }
        if (!m) {
            uint32_t cp;
            size_t bad;
            m = tlv__utf8_next((const unsigned char *)norm.p + i, n - i, TLV_UTF8_PYTHON, &cp, &bad);
            if (!m) m = 1;
        }
        sym y = {(uint32_t)i, (uint32_t)m, (int32_t)n_sym - 1, -1, freeze};
        w.sy[n_sym] = y;
        if (n_sym) w.sy[n_sym - 1].next = (int32_t)n_sym;
        n_sym++;
        i += m;
    }
    for (size_t i = 1; i < n_sym; i++) maybe_add_pair(&w, (int32_t)i - 1, (int32_t)i);
    while (w.n_heap && !w.oom) {
        pair top = heap_pop(&w);
        sym *l = &w.sy[top.left], *r = &w.sy[top.right];
        if (!l->len || !r->len || l->len + r->len != top.size) continue; /* stale */
        l->len += r->len;
        l->next = r->next;
        if (r->next >= 0) w.sy[r->next].prev = top.left;
        r->len = 0;
        maybe_add_pair(&w, l->prev, top.left);
        maybe_add_pair(&w, top.left, l->next);
    }
    if (w.oom) goto oom;
    for (int32_t i = 0; i >= 0; i = w.sy[i].next) resegment(&w, norm.p + w.sy[i].start, w.sy[i].len, 0, out);
    if (out->oom) goto oom;
    goto done;
oom:
    st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
done:
    tlv__free(s->alloc, w.sy);
    tlv__free(s->alloc, w.heap);
    tlv__free(s->alloc, w.rev);
    tlv__buf_free(&norm);
    return st;
}
