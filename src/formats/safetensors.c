/* safetensors.c: reading and checking safetensors files (layout and checks in safetensors.h). */
#include "formats/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/checked.h"
#include "formats/mapfile.h"

typedef struct shard {
    char *path;
    tlv_mapfile map;
    uint64_t data_start;   /* 8 + N */
    cJSON *metadata;       /* the __metadata__ object, detached from the header tree, or NULL */
} shard;

struct tlv_checkpoint {
    const tlv_allocator *alloc;
    char *path;
    shard *shards;
    size_t n_shards;
    tlv_st_tensor *tensors; /* sorted by name once open */
    uint8_t *used;
    size_t n_tensors, cap_tensors;
};

static const struct {
    const char *name;
    size_t size;
} dtype_info[TLV_ST_DTYPE_COUNT] = {
    [TLV_ST_F32] = {"F32", 4},   [TLV_ST_F16] = {"F16", 2},         [TLV_ST_BF16] = {"BF16", 2},
    [TLV_ST_F64] = {"F64", 8},   [TLV_ST_I64] = {"I64", 8},         [TLV_ST_U64] = {"U64", 8},
    [TLV_ST_I32] = {"I32", 4},   [TLV_ST_U32] = {"U32", 4},         [TLV_ST_I16] = {"I16", 2},
    [TLV_ST_U16] = {"U16", 2},   [TLV_ST_I8] = {"I8", 1},           [TLV_ST_U8] = {"U8", 1},
    [TLV_ST_BOOL] = {"BOOL", 1}, [TLV_ST_F8_E5M2] = {"F8_E5M2", 1}, [TLV_ST_F8_E4M3] = {"F8_E4M3", 1},
};

const char *tlv__st_dtype_name(tlv_st_dtype t)
{
    return (unsigned)t < TLV_ST_DTYPE_COUNT ? dtype_info[t].name : "?";
}

size_t tlv__st_dtype_size(tlv_st_dtype t)
{
    return (unsigned)t < TLV_ST_DTYPE_COUNT ? dtype_info[t].size : 0;
}

int tlv__st_dtype_supported(tlv_st_dtype t)
{
    return t == TLV_ST_F32 || t == TLV_ST_F16 || t == TLV_ST_BF16;
}

static int dtype_from_name(const char *s, tlv_st_dtype *out)
{
    for (int i = 0; i < TLV_ST_DTYPE_COUNT; i++)
        if (!strcmp(s, dtype_info[i].name)) {
            *out = (tlv_st_dtype)i;
            return 1;
        }
    return 0;
}

/* JSON numbers are doubles: accept only exact non-negative integers below 2^53, where every
 * integer is representable, so no offset is silently rounded. */
static int json_u64(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0.0 && d < 9007199254740992.0)) return 0;
    uint64_t u = (uint64_t)d;
    if ((double)u != d) return 0;
    *out = u;
    return 1;
}

static char *path_join(const tlv_allocator *a, const char *dir, const char *name)
{
    size_t nd = strlen(dir), nn = strlen(name);
    int slash = nd > 0 && dir[nd - 1] != '/';
    char *p = tlv__malloc(a, nd + slash + nn + 1);
    if (!p) return NULL;
    memcpy(p, dir, nd);
    if (slash) p[nd] = '/';
    memcpy(p + nd + slash, name, nn + 1);
    return p;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static tlv_status push_tensor(tlv_checkpoint *c, tlv_st_tensor **t, tlv_err *err)
{
    if (c->n_tensors == c->cap_tensors) {
        size_t cap = c->cap_tensors ? c->cap_tensors * 2 : 64;
        tlv_st_tensor *nt = tlv__realloc(c->alloc, c->tensors, cap * sizeof *nt);
        if (!nt) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory reading tensor list");
        c->tensors = nt;
        c->cap_tensors = cap;
    }
    *t = &c->tensors[c->n_tensors++];
    memset(*t, 0, sizeof **t);
    return TLV_OK;
}

/* Fills one tensor record from its header entry; messages start with "tensor 'x': ", the caller
 * prefixes the file. */
static tlv_status parse_entry(const cJSON *e, const shard *sh, int32_t shard_idx, uint64_t data_len,
                              tlv_st_tensor *t, tlv_err *err)
{
    const char *name = t->name;
    if (!cJSON_IsObject(e)) return tlv__err_set(err, TLV_ERR_FORMAT, "tensor '%s': entry is not a JSON object", name);
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(jd)) return tlv__err_set(err, TLV_ERR_FORMAT, "tensor '%s': missing or non-string dtype", name);
    if (!dtype_from_name(jd->valuestring, &t->dtype))
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "tensor '%s': unknown dtype '%s'", name, jd->valuestring);
    if (!cJSON_IsArray(js)) return tlv__err_set(err, TLV_ERR_FORMAT, "tensor '%s': missing or non-array shape", name);
    int nd = cJSON_GetArraySize(js);
    if (nd > TLV_ST_MAX_DIMS)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "tensor '%s': %d dimensions, at most %d supported", name, nd,
                            TLV_ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t n = 1;
    for (int i = 0; i < TLV_ST_MAX_DIMS; i++) t->shape[i] = 1;
    int i = 0;
    for (const cJSON *d = js->child; d; d = d->next, i++) {
        uint64_t v;
        if (!json_u64(d, &v) || v > INT64_MAX)
            return tlv__err_set(err, TLV_ERR_FORMAT, "tensor '%s': shape[%d] is not a non-negative integer", name, i);
        t->shape[i] = (int64_t)v;
        if (!tlv__mul_u64(n, v, &n))
            return tlv__err_set(err, TLV_ERR_FORMAT, "tensor '%s': element count overflows 64 bits", name);
    }
    t->n_elems = n;
    if (!tlv__mul_u64(n, tlv__st_dtype_size(t->dtype), &t->n_bytes))
        return tlv__err_set(err, TLV_ERR_FORMAT, "tensor '%s': byte size overflows 64 bits", name);
    uint64_t b, en;
    if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2 || !json_u64(jo->child, &b) || !json_u64(jo->child->next, &en))
        return tlv__err_set(err, TLV_ERR_FORMAT, "tensor '%s': data_offsets must be two non-negative integers", name);
    if (b > en)
        return tlv__err_set(err, TLV_ERR_FORMAT, "tensor '%s': data_offsets [%llu,%llu) begin after end", name,
                            (unsigned long long)b, (unsigned long long)en);
    if (en > data_len)
        return tlv__err_set(err, TLV_ERR_FORMAT, "tensor '%s': data_offsets [%llu,%llu) past end of data (%llu bytes)",
                            name, (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_len);
    if (en - b != t->n_bytes) {
        char shp[128];
        size_t k = 0;
        shp[0] = 0;
        for (int d = 0; d < nd && k < sizeof shp - 24; d++)
            k += (size_t)snprintf(shp + k, sizeof shp - k, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        return tlv__err_set(err, TLV_ERR_FORMAT,
                            "tensor '%s': data_offsets [%llu,%llu) hold %llu bytes, expected %llu (%s [%s])", name,
                            (unsigned long long)b, (unsigned long long)en, (unsigned long long)(en - b),
                            (unsigned long long)t->n_bytes, tlv__st_dtype_name(t->dtype), shp);
    }
    t->file_offset = sh->data_start + b; /* <= file size, checked above */
    t->data = t->n_bytes ? sh->map.data + t->file_offset : NULL;
    t->file = sh->path;
    t->shard = shard_idx;
    return TLV_OK;
}

static int cmp_by_offset(const void *a, const void *b)
{
    const tlv_st_tensor *x = *(const tlv_st_tensor *const *)a, *y = *(const tlv_st_tensor *const *)b;
    if (x->file_offset != y->file_offset) return x->file_offset < y->file_offset ? -1 : 1;
    return x->n_bytes < y->n_bytes ? -1 : x->n_bytes > y->n_bytes;
}

/* Tensors first..n_tensors-1 all belong to one shard: sort pointers by offset, then each one
 * must start at or after the end of the one before. Empty tensors overlap nothing. */
static tlv_status check_overlap(tlv_checkpoint *c, size_t first, tlv_err *err)
{
    size_t n = c->n_tensors - first;
    if (n < 2) return TLV_OK;
    const tlv_st_tensor **v = tlv__malloc(c->alloc, n * sizeof *v);
    if (!v) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory checking tensor offsets");
    for (size_t i = 0; i < n; i++) v[i] = &c->tensors[first + i];
    qsort(v, n, sizeof *v, cmp_by_offset);
    tlv_status st = TLV_OK;
    const tlv_st_tensor *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!v[i]->n_bytes) continue;
        if (prev && v[i]->file_offset < prev->file_offset + prev->n_bytes) {
            uint64_t ds = c->shards[v[i]->shard].data_start;
            st = tlv__err_set(err, TLV_ERR_FORMAT, "tensor '%s': data_offsets [%llu,%llu) overlap tensor '%s' [%llu,%llu)",
                              v[i]->name, (unsigned long long)(v[i]->file_offset - ds),
                              (unsigned long long)(v[i]->file_offset - ds + v[i]->n_bytes), prev->name,
                              (unsigned long long)(prev->file_offset - ds),
                              (unsigned long long)(prev->file_offset - ds + prev->n_bytes));
            break;
        }
        prev = v[i];
    }
    tlv__free(c->alloc, v);
    return st;
}

static int only_padding(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\0' && *p != '\n' && *p != '\r' && *p != '\t') return 0;
    return 1;
}

/* Maps shard `idx` (its path already set) and appends its tensors. Messages are prefixed with
 * the shard's path by the caller. */
static tlv_status load_shard(tlv_checkpoint *c, size_t idx, tlv_err *err)
{
    shard *sh = &c->shards[idx];
    tlv_status st = tlv__mapfile_open(sh->path, &sh->map, err);
    if (st) return st; /* message already names the path */
    uint64_t size = sh->map.size;
    if (size < 8)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%llu bytes, shorter than the 8-byte header length",
                            (unsigned long long)size);
    const uint8_t *d = sh->map.data;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | d[i];
    if (n > TLV_ST_MAX_HEADER_BYTES)
        return tlv__err_set(err, TLV_ERR_FORMAT, "header length %llu exceeds the limit of %u bytes",
                            (unsigned long long)n, TLV_ST_MAX_HEADER_BYTES);
    if (n > size - 8)
        return tlv__err_set(err, TLV_ERR_FORMAT, "header length %llu past end of file (%llu bytes)",
                            (unsigned long long)n, (unsigned long long)size);
    if (n < 2 || d[8] != '{')
        return tlv__err_set(err, TLV_ERR_FORMAT, "header does not start with a JSON object");
    sh->data_start = 8 + n;
    uint64_t data_len = size - sh->data_start;

    const char *hdr = (const char *)d + 8, *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)n, &end, 0);
    if (!root) {
        size_t at = end && end >= hdr ? (size_t)(end - hdr) : 0;
        return tlv__err_set(err, TLV_ERR_FORMAT, "header is not valid JSON (near byte %zu of %llu)", at,
                            (unsigned long long)n);
    }
    if (!cJSON_IsObject(root) || !only_padding(end, hdr + n)) {
        cJSON_Delete(root);
        return tlv__err_set(err, TLV_ERR_FORMAT, "header is not a single JSON object");
    }
    size_t first = c->n_tensors;
    for (cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            if (!cJSON_IsObject(e)) {
                st = tlv__err_set(err, TLV_ERR_FORMAT, "__metadata__ is not a JSON object");
                break;
            }
            for (const cJSON *m = e->child; m; m = m->next)
                if (!cJSON_IsString(m)) {
                    st = tlv__err_set(err, TLV_ERR_FORMAT, "__metadata__ value '%s' is not a string", m->string);
                    break;
                }
            if (st) break;
            if (sh->metadata) {
                st = tlv__err_set(err, TLV_ERR_FORMAT, "__metadata__ appears twice");
                break;
            }
            continue;
        }
        tlv_st_tensor *t = NULL;
        if ((st = push_tensor(c, &t, err))) break;
        t->name = tlv__strdup(c->alloc, e->string);
        if (!t->name) {
            c->n_tensors--;
            st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory reading tensor names");
            break;
        }
        if ((st = parse_entry(e, sh, (int32_t)idx, data_len, t, err))) break;
    }
    if (!st) {
        cJSON *meta = cJSON_DetachItemFromObjectCaseSensitive(root, "__metadata__");
        sh->metadata = meta;
    }
    cJSON_Delete(root);
    if (!st) st = check_overlap(c, first, err);
    return st;
}

/* ---------------------------------------------------------------- quantized tensors
 * The metadata keys and what is checked: safetensors.h and docs/FORMATS.md. Messages name the
 * shard's file (t->file), since metadata is per shard. */

const char *tlv__st_quant_name(tlv_dtype t)
{
    return t == TLV_Q8_0 ? "q8_0" : t == TLV_Q4_0 ? "q4_0" : NULL;
}

static int quant_from_name(const char *s, tlv_dtype *out)
{
    static const tlv_dtype fmts[] = {TLV_Q8_0, TLV_Q4_0};
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++)
        if (!strcmp(s, tlv__st_quant_name(fmts[i]))) {
            *out = fmts[i];
            return 1;
        }
    return 0;
}

/* key == prefix + name, without building the key */
static int is_key_for(const char *key, const char *prefix, const char *name)
{
    size_t n = strlen(prefix);
    return !strncmp(key, prefix, n) && !strcmp(key + n, name);
}

/* The string value of prefix + name in shard k's __metadata__, or NULL. */
static const char *meta_for(const tlv_checkpoint *c, int32_t k, const char *prefix, const char *name)
{
    const cJSON *meta = c->shards[k].metadata;
    for (const cJSON *m = meta ? meta->child : NULL; m; m = m->next)
        if (is_key_for(m->string, prefix, name)) return m->valuestring; /* strings: checked on open */
    return NULL;
}

static void describe_dims(char *buf, size_t cap, int ndim, const int64_t *dims)
{
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < ndim && k + 24 < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, dims[i] < 0 ? "%s*" : "%s%lld", i ? ", " : "", (long long)dims[i]);
}

/* Tensor t, marked `fmt_name` in its shard's metadata: the checks of safetensors.h, then *out. */
static tlv_status quant_entry(const tlv_checkpoint *c, const tlv_st_tensor *t, const char *fmt_name, tlv_st_logical *out,
                              tlv_err *err)
{
    const char *f = t->file, *name = t->name;
    tlv_dtype fmt;
    if (!quant_from_name(fmt_name, &fmt))
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: tensor '%s': unknown quantized format '%s' in __metadata__ "
                            "(expected q8_0 or q4_0)", f, name, fmt_name);
    const char *q = tlv__st_quant_name(fmt);
    if (t->dtype != TLV_ST_U8 || t->ndim != 2) {
        char got[128];
        describe_dims(got, sizeof got, t->ndim, t->shape);
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s': marked %s in __metadata__ but stored as %s [%s], "
                            "expected U8 [rows, row_bytes]", f, name, q, tlv__st_dtype_name(t->dtype), got);
    }
    const char *shape_str = meta_for(c, t->shard, TLV_ST_SHAPE_PREFIX, name);
    if (!shape_str)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s': %s without its logical shape ('" TLV_ST_SHAPE_PREFIX
                            "%s' missing from __metadata__)", f, name, q, name);
    cJSON *js = cJSON_Parse(shape_str);
    uint64_t rows = 0, cols = 0;
    int ok = cJSON_IsArray(js) && cJSON_GetArraySize(js) == 2 && json_u64(js->child, &rows) &&
             json_u64(js->child->next, &cols) && rows > 0 && cols > 0;
    cJSON_Delete(js);
    if (!ok)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s': " TLV_ST_SHAPE_PREFIX "%s is '%s', expected "
                            "\"[rows, cols]\" with two positive integers", f, name, name, shape_str);
    const uint64_t bb = tlv__dtype_block_bytes(fmt), row_bytes = (uint64_t)t->shape[1];
    if (cols % TLV_QK)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s': %s shape [%llu, %llu]: %llu columns are not whole "
                            "blocks of %d", f, name, q, (unsigned long long)rows, (unsigned long long)cols,
                            (unsigned long long)cols, TLV_QK);
    if ((uint64_t)t->shape[0] != rows)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s': %s shape [%llu, %llu] but U8 [%lld, %lld] stores %lld "
                            "rows", f, name, q, (unsigned long long)rows, (unsigned long long)cols,
                            (long long)t->shape[0], (long long)t->shape[1], (long long)t->shape[0]);
    if (row_bytes % bb)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s': wrong byte count: U8 rows of %llu bytes are not whole "
                            "%s blocks of %llu bytes", f, name, (unsigned long long)row_bytes, q,
                            (unsigned long long)bb);
    if (row_bytes / bb != cols / TLV_QK)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s': block count: U8 rows hold %llu %s blocks, shape "
                            "[%llu, %llu] needs %llu (%llu bytes a row)", f, name, (unsigned long long)(row_bytes / bb),
                            q, (unsigned long long)rows, (unsigned long long)cols,
                            (unsigned long long)(cols / TLV_QK), (unsigned long long)(cols / TLV_QK * bb));
    if (out) {
        memset(out, 0, sizeof *out);
        out->dtype = fmt;
        out->ndim = 2;
        for (int i = 0; i < TLV_ST_MAX_DIMS; i++) out->shape[i] = 1;
        out->shape[0] = (int64_t)rows; /* == t->shape[0] */
        out->shape[1] = (int64_t)cols; /* == row_bytes / bb * 32, bounded by the file size */
        out->n_elems = rows * cols;    /* <= n_bytes * 32 / 18: no overflow for any file that exists */
    }
    return TLV_OK;
}

/* The open-time checks of quantized metadata, shard by shard (safetensors.h). */
static tlv_status check_quant(const tlv_checkpoint *c, tlv_err *err)
{
    const size_t nf = strlen(TLV_ST_FORMAT_PREFIX), ns = strlen(TLV_ST_SHAPE_PREFIX);
    for (size_t k = 0; k < c->n_shards; k++) {
        const shard *sh = &c->shards[k];
        const cJSON *meta = sh->metadata;
        const char *version = NULL, *first_key = NULL;
        for (const cJSON *m = meta ? meta->child : NULL; m; m = m->next) {
            if (!strcmp(m->string, TLV_ST_QUANT_VERSION_KEY)) version = m->valuestring;
            else if (!first_key && (!strncmp(m->string, TLV_ST_FORMAT_PREFIX, nf) ||
                                    !strncmp(m->string, TLV_ST_SHAPE_PREFIX, ns)))
                first_key = m->string;
        }
        if (first_key && !version)
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s: __metadata__ has '%s' but no '" TLV_ST_QUANT_VERSION_KEY "'",
                                sh->path, first_key);
        if (version && strcmp(version, TLV_ST_QUANT_VERSION))
            return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: " TLV_ST_QUANT_VERSION_KEY " '%s' is not supported "
                                "(this build reads '" TLV_ST_QUANT_VERSION "')", sh->path, version);
        for (const cJSON *m = meta ? meta->child : NULL; m; m = m->next) {
            const char *key = m->string;
            if (!strncmp(key, TLV_ST_SHAPE_PREFIX, ns)) {
                if (!meta_for(c, (int32_t)k, TLV_ST_FORMAT_PREFIX, key + ns))
                    return tlv__err_set(err, TLV_ERR_FORMAT, "%s: __metadata__ has '%s' but no '" TLV_ST_FORMAT_PREFIX
                                        "%s'", sh->path, key, key + ns);
                continue;
            }
            if (strncmp(key, TLV_ST_FORMAT_PREFIX, nf)) continue;
            const tlv_st_tensor *t = tlv__checkpoint_find(c, key + nf);
            if (!t || t->shard != (int32_t)k)
                return tlv__err_set(err, TLV_ERR_FORMAT, "%s: __metadata__ '%s' names tensor '%s', which is not in this file",
                                    sh->path, key, key + nf);
            tlv_status st = quant_entry(c, t, m->valuestring, NULL, err);
            if (st) return st;
        }
        if (!version) continue; /* a file of ours: every U8 tensor must be a quantized one */
        for (size_t i = 0; i < c->n_tensors; i++) {
            const tlv_st_tensor *t = &c->tensors[i];
            if (t->shard == (int32_t)k && t->dtype == TLV_ST_U8 && !meta_for(c, (int32_t)k, TLV_ST_FORMAT_PREFIX, t->name))
                return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s': stored as U8 but __metadata__ has no '"
                                    TLV_ST_FORMAT_PREFIX "%s'", t->file, t->name, t->name);
        }
    }
    return TLV_OK;
}

static int cmp_by_name(const void *a, const void *b)
{
    return strcmp(((const tlv_st_tensor *)a)->name, ((const tlv_st_tensor *)b)->name);
}

/* Sorts by name, rejects duplicates and allocates the marks. */
static tlv_status finish(tlv_checkpoint *c, tlv_err *err)
{
    if (c->n_tensors) qsort(c->tensors, c->n_tensors, sizeof *c->tensors, cmp_by_name);
    for (size_t i = 1; i < c->n_tensors; i++)
        if (!strcmp(c->tensors[i - 1].name, c->tensors[i].name))
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s' appears twice (in %s and %s)", c->path,
                                c->tensors[i].name, c->tensors[i - 1].file, c->tensors[i].file);
    c->used = tlv__calloc(c->alloc, c->n_tensors ? c->n_tensors : 1, 1);
    if (!c->used) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
    return check_quant(c, err);
}

static tlv_status create(const char *path, const tlv_allocator *alloc, size_t n_shards, tlv_checkpoint **out,
                         tlv_err *err)
{
    tlv_checkpoint *c = tlv__calloc(alloc, 1, sizeof *c);
    *out = c;
    if (!c) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory opening %s", path);
    c->alloc = alloc;
    c->path = tlv__strdup(alloc, path);
    c->shards = tlv__calloc(alloc, n_shards ? n_shards : 1, sizeof *c->shards);
    if (!c->path || !c->shards) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory opening %s", path);
    return TLV_OK;
}

tlv_status tlv__safetensors_open(const char *path, const tlv_allocator *alloc, tlv_checkpoint **out, tlv_err *err)
{
    *out = NULL;
    tlv_checkpoint *c;
    tlv_status st = create(path, alloc, 1, &c, err);
    if (st) goto fail;
    c->n_shards = 1;
    c->shards[0].path = tlv__strdup(alloc, path);
    if (!c->shards[0].path) {
        st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory opening %s", path);
        goto fail;
    }
    if ((st = load_shard(c, 0, err))) {
        if (st != TLV_ERR_NOT_FOUND && st != TLV_ERR_IO && st != TLV_ERR_NO_MEMORY) tlv__err_prefix(err, "%s", path);
        goto fail;
    }
    if ((st = finish(c, err))) goto fail;
    *out = c;
    return TLV_OK;
fail:
    tlv__checkpoint_destroy(c);
    return st;
}

/* A shard name from the index must name a file beside it, nothing else. */
static int plain_file_name(const char *s)
{
    return *s && !strchr(s, '/') && !strchr(s, '\\') && strcmp(s, ".") && strcmp(s, "..");
}

static tlv_status open_sharded(const char *dir, const char *index_path, const tlv_allocator *alloc,
                               tlv_checkpoint **out, tlv_err *err)
{
    tlv_checkpoint *c = NULL;
    cJSON *root = NULL;
    tlv_mapfile im = {0};
    tlv_status st = tlv__mapfile_open(index_path, &im, err);
    if (st) return st;
    root = cJSON_ParseWithLength((const char *)im.data, (size_t)im.size);
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!root || !cJSON_IsObject(root)) {
        st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: not a valid JSON object", index_path);
        goto fail;
    }
    if (!cJSON_IsObject(wm)) {
        st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: missing \"weight_map\" object", index_path);
        goto fail;
    }
    size_t n_entries = (size_t)cJSON_GetArraySize(wm);
    if ((st = create(dir, alloc, n_entries, &c, err))) goto fail;
    /* Distinct shard names, in order of first appearance (a handful; linear search is fine). */
    for (const cJSON *e = wm->child; e; e = e->next) {
        if (!cJSON_IsString(e) || !plain_file_name(e->valuestring)) {
            st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: weight_map['%s'] is not a file name in the same directory",
                              index_path, e->string);
            goto fail;
        }
        size_t k = 0;
        while (k < c->n_shards && strcmp(base_name(c->shards[k].path), e->valuestring)) k++;
        if (k < c->n_shards) continue;
        c->shards[c->n_shards].path = path_join(alloc, dir, e->valuestring);
        if (!c->shards[c->n_shards].path) {
            st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory opening %s", dir);
            goto fail;
        }
        c->n_shards++;
    }
    if (c->n_shards == 0) {
        st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: weight_map is empty", index_path);
        goto fail;
    }
    for (size_t k = 0; k < c->n_shards; k++) {
        if ((st = load_shard(c, k, err))) {
            if (st == TLV_ERR_NOT_FOUND) tlv__err_prefix(err, "%s names a missing shard", index_path);
            else if (st != TLV_ERR_IO && st != TLV_ERR_NO_MEMORY) tlv__err_prefix(err, "%s", c->shards[k].path);
            goto fail;
        }
    }
    if ((st = finish(c, err))) goto fail;
    for (const cJSON *e = wm->child; e; e = e->next) {
        const tlv_st_tensor *t = tlv__checkpoint_find(c, e->string);
        const char *base = t ? base_name(t->file) : NULL;
        if (!t || strcmp(base, e->valuestring)) {
            st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s' is mapped to %s but %s", index_path, e->string,
                              e->valuestring, t ? "found in another shard" : "not found there");
            goto fail;
        }
    }
    cJSON_Delete(root);
    tlv__mapfile_close(&im);
    *out = c;
    return TLV_OK;
fail:
    cJSON_Delete(root);
    tlv__mapfile_close(&im);
    tlv__checkpoint_destroy(c);
    return st;
}

tlv_status tlv__checkpoint_open(const char *dir, const tlv_allocator *alloc, tlv_checkpoint **out, tlv_err *err)
{
    *out = NULL;
    char *index = path_join(alloc, dir, "model.safetensors.index.json");
    char *single = path_join(alloc, dir, "model.safetensors");
    tlv_status st;
    if (!index || !single) st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory opening %s", dir);
    else if (tlv__file_exists(index)) st = open_sharded(dir, index, alloc, out, err);
    else if (tlv__file_exists(single)) st = tlv__safetensors_open(single, alloc, out, err);
    else st = tlv__err_set(err, TLV_ERR_NOT_FOUND, "%s: no model.safetensors or model.safetensors.index.json", dir);
    tlv__free(alloc, index);
    tlv__free(alloc, single);
    return st;
}

void tlv__checkpoint_destroy(tlv_checkpoint *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_tensors; i++) tlv__free(c->alloc, (void *)c->tensors[i].name);
    for (size_t k = 0; c->shards && k < c->n_shards; k++) {
        tlv__mapfile_close(&c->shards[k].map);
        cJSON_Delete(c->shards[k].metadata);
        tlv__free(c->alloc, c->shards[k].path);
    }
    tlv__free(c->alloc, c->shards);
    tlv__free(c->alloc, c->tensors);
    tlv__free(c->alloc, c->used);
    tlv__free(c->alloc, c->path);
    tlv__free(c->alloc, c);
}

size_t tlv__checkpoint_count(const tlv_checkpoint *c) { return c->n_tensors; }
const tlv_st_tensor *tlv__checkpoint_at(const tlv_checkpoint *c, size_t i) { return i < c->n_tensors ? &c->tensors[i] : NULL; }
size_t tlv__checkpoint_n_shards(const tlv_checkpoint *c) { return c->n_shards; }
const char *tlv__checkpoint_path(const tlv_checkpoint *c) { return c->path; }

const char *tlv__checkpoint_metadata(const tlv_checkpoint *c, const char *key)
{
    for (size_t k = 0; k < c->n_shards; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->shards[k].metadata, key);
        if (cJSON_IsString(v)) return v->valuestring;
    }
    return NULL;
}

static long find_index(const tlv_checkpoint *c, const char *name)
{
    size_t lo = 0, hi = c->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c->tensors[mid].name, name);
        if (r == 0) return (long)mid;
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

const tlv_st_tensor *tlv__checkpoint_find(const tlv_checkpoint *c, const char *name)
{
    long i = find_index(c, name);
    return i < 0 ? NULL : &c->tensors[i];
}

const tlv_st_tensor *tlv__checkpoint_use(tlv_checkpoint *c, const char *name)
{
    long i = find_index(c, name);
    if (i < 0) return NULL;
    c->used[i] = 1;
    return &c->tensors[i];
}

tlv_status tlv__checkpoint_get(tlv_checkpoint *c, const char *name, const tlv_st_tensor **out, tlv_err *err)
{
    *out = tlv__checkpoint_use(c, name);
    if (!*out) return tlv__err_set(err, TLV_ERR_NOT_FOUND, "%s: tensor '%s' not found", c->path, name);
    return TLV_OK;
}

int tlv__checkpoint_is_used(const tlv_checkpoint *c, size_t i) { return i < c->n_tensors && c->used[i]; }

size_t tlv__checkpoint_n_unused(const tlv_checkpoint *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_tensors; i++) n += !c->used[i];
    return n;
}

void tlv__checkpoint_clear_marks(tlv_checkpoint *c)
{
    if (c->n_tensors) memset(c->used, 0, c->n_tensors);
}

tlv_status tlv__checkpoint_logical(const tlv_checkpoint *c, const tlv_st_tensor *t, tlv_st_logical *out, tlv_err *err)
{
    memset(out, 0, sizeof *out);
    const char *fmt = meta_for(c, t->shard, TLV_ST_FORMAT_PREFIX, t->name);
    if (fmt) return quant_entry(c, t, fmt, out, err);
    if (t->dtype == TLV_ST_U8)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s': stored as U8 without '" TLV_ST_FORMAT_PREFIX "%s' in "
                            "__metadata__ (not a quantized tensor)", t->file, t->name, t->name);
    if (!tlv__st_dtype_supported(t->dtype))
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s is not supported (expected F32, F16, BF16 "
                            "or a quantized U8)", t->file, t->name, tlv__st_dtype_name(t->dtype));
    out->dtype = t->dtype == TLV_ST_F32 ? TLV_F32 : t->dtype == TLV_ST_F16 ? TLV_F16 : TLV_BF16;
    out->ndim = t->ndim;
    memcpy(out->shape, t->shape, sizeof out->shape);
    out->n_elems = t->n_elems;
    return TLV_OK;
}

tlv_status tlv__checkpoint_check_shape(const tlv_checkpoint *c, const tlv_st_tensor *t, int ndim, const int64_t *dims,
                                       tlv_err *err)
{
    tlv_st_logical l;
    tlv_status st = tlv__checkpoint_logical(c, t, &l, err);
    if (st) return st;
    int ok = l.ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = dims[i] < 0 || l.shape[i] == dims[i];
    if (ok) return TLV_OK;
    char want[128], got[128];
    describe_dims(want, sizeof want, ndim, dims);
    describe_dims(got, sizeof got, l.ndim, l.shape);
    if (tlv__dtype_is_block(l.dtype))
        return tlv__err_set(err, TLV_ERR_SHAPE, "%s: tensor '%s': __metadata__ gives %s [%s], the config implies [%s]",
                            t->file, t->name, tlv__st_quant_name(l.dtype), got, want);
    return tlv__err_set(err, TLV_ERR_SHAPE, "%s: tensor '%s': expected shape [%s], found [%s]", t->file, t->name, want, got);
}
