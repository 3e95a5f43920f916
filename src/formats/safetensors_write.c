/* safetensors_write.c: the streaming safetensors writer (safetensors_write.h). */
#include "formats/safetensors_write.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"

typedef struct entry {
    char *name;
    tlv_st_dtype dtype;
    int ndim;
    int64_t shape[TLV_ST_MAX_DIMS];
    uint64_t n_bytes, begin;
    tlv_dtype quant;     /* TLV_Q8_0 / TLV_Q4_0 for add_quant, else TLV_F32 (unused) */
    int64_t rows, cols;  /* the logical shape of a quantized tensor */
} entry;

enum { DECLARING, WRITING, DONE, FAILED };

struct tlv_st_writer {
    const tlv_allocator *alloc;
    char *path, *tmp;
    entry *e;
    size_t n, cap;
    char **meta; /* key, value, key, value, ... */
    size_t n_meta, cap_meta;
    int n_quant;
    int state;
    int tmp_created; /* "<path>.tmp" is ours to remove until finish renames it */
    FILE *f;
    size_t cur;       /* the tensor being written */
    uint64_t cur_done; /* its bytes written so far */
};

/* Marks the writer failed (only destroy is accepted after an error) and records the error. */
static tlv_status fail(tlv_st_writer *w, tlv_err *err, tlv_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static tlv_status fail(tlv_st_writer *w, tlv_err *err, tlv_status st, const char *fmt, ...)
{
    w->state = FAILED;
    va_list ap;
    va_start(ap, fmt);
    tlv__err_setv(err, st, fmt, ap);
    va_end(ap);
    return st;
}

static int grow(const tlv_allocator *a, void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    void *np = tlv__realloc(a, *p, nc * elem);
    if (!np) return 0;
    *p = np;
    *cap = nc;
    return 1;
}

tlv_status tlv__st_writer_create(const char *path, const tlv_allocator *alloc, tlv_st_writer **out, tlv_err *err)
{
    *out = NULL;
    tlv_st_writer *w = tlv__calloc(alloc, 1, sizeof *w);
    if (!w) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory writing %s", path);
    w->alloc = alloc;
    size_t n = strlen(path);
    w->path = tlv__strdup(alloc, path);
    w->tmp = tlv__malloc(alloc, n + 5);
    if (!w->path || !w->tmp) {
        tlv__st_writer_destroy(w);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory writing %s", path);
    }
    memcpy(w->tmp, path, n);
    memcpy(w->tmp + n, ".tmp", 5);
    *out = w;
    return TLV_OK;
}

static tlv_status check_declaring(tlv_st_writer *w, const char *what, tlv_err *err)
{
    if (w->state == DECLARING) return TLV_OK;
    return fail(w, err, TLV_ERR_INVALID_ARG, "%s: %s after the header was written (or after an error)", w->path, what);
}

static tlv_status add_meta(tlv_st_writer *w, const char *key, const char *value, tlv_err *err)
{
    for (size_t i = 0; i < w->n_meta; i += 2)
        if (!strcmp(w->meta[i], key)) return fail(w, err, TLV_ERR_INVALID_ARG, "%s: __metadata__ key '%s' given twice", w->path, key);
    if (!grow(w->alloc, (void **)&w->meta, &w->cap_meta, w->n_meta + 2, sizeof *w->meta))
        return fail(w, err, TLV_ERR_NO_MEMORY, "%s: out of memory", w->path);
    char *k = tlv__strdup(w->alloc, key), *v = tlv__strdup(w->alloc, value);
    if (!k || !v) {
        tlv__free(w->alloc, k);
        tlv__free(w->alloc, v);
        return fail(w, err, TLV_ERR_NO_MEMORY, "%s: out of memory", w->path);
    }
    w->meta[w->n_meta++] = k;
    w->meta[w->n_meta++] = v;
    return TLV_OK;
}

tlv_status tlv__st_writer_metadata(tlv_st_writer *w, const char *key, const char *value, tlv_err *err)
{
    tlv_status st = check_declaring(w, "metadata", err);
    if (st) return st;
    if (!key || !value) return fail(w, err, TLV_ERR_INVALID_ARG, "%s: metadata: NULL key or value", w->path);
    if (!strncmp(key, "tlv.", 4))
        return fail(w, err, TLV_ERR_INVALID_ARG, "%s: __metadata__ key '%s' is reserved (tlv.* keys describe quantized tensors)",
                    w->path, key);
    return add_meta(w, key, value, err);
}

static tlv_status add_entry(tlv_st_writer *w, const char *name, tlv_st_dtype dtype, int ndim, const int64_t *shape,
                            tlv_err *err)
{
    tlv_status st = check_declaring(w, "add", err);
    if (st) return st;
    if (!name || !*name || !strcmp(name, "__metadata__"))
        return fail(w, err, TLV_ERR_INVALID_ARG, "%s: tensor name '%s' is empty or reserved", w->path, name ? name : "");
    if ((unsigned)dtype >= TLV_ST_DTYPE_COUNT || ndim < 0 || ndim > TLV_ST_MAX_DIMS)
        return fail(w, err, TLV_ERR_INVALID_ARG, "%s: tensor '%s': bad dtype or number of dimensions", w->path, name);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->e[i].name, name)) return fail(w, err, TLV_ERR_INVALID_ARG, "%s: tensor '%s' added twice", w->path, name);
    entry e;
    memset(&e, 0, sizeof e);
    e.dtype = dtype;
    e.ndim = ndim;
    e.quant = TLV_F32;
    uint64_t n = 1;
    for (int i = 0; i < TLV_ST_MAX_DIMS; i++) e.shape[i] = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || !tlv__mul_u64(n, (uint64_t)shape[i], &n))
            return fail(w, err, TLV_ERR_INVALID_ARG, "%s: tensor '%s': negative dimension or size overflow", w->path, name);
        e.shape[i] = shape[i];
    }
    if (!tlv__mul_u64(n, tlv__st_dtype_size(dtype), &e.n_bytes))
        return fail(w, err, TLV_ERR_INVALID_ARG, "%s: tensor '%s': size overflows 64 bits", w->path, name);
    if (!grow(w->alloc, (void **)&w->e, &w->cap, w->n + 1, sizeof *w->e) || !(e.name = tlv__strdup(w->alloc, name)))
        return fail(w, err, TLV_ERR_NO_MEMORY, "%s: out of memory adding tensor '%s'", w->path, name);
    w->e[w->n++] = e;
    return TLV_OK;
}

tlv_status tlv__st_writer_add(tlv_st_writer *w, const char *name, tlv_st_dtype dtype, int ndim, const int64_t *shape,
                              tlv_err *err)
{
    return add_entry(w, name, dtype, ndim, shape, err);
}

tlv_status tlv__st_writer_add_quant(tlv_st_writer *w, const char *name, tlv_dtype fmt, int64_t rows, int64_t cols,
                                    tlv_err *err)
{
    if (!tlv__st_quant_name(fmt))
        return fail(w, err, TLV_ERR_INVALID_ARG, "%s: tensor '%s': not a quantized format", w->path, name ? name : "");
    if (rows <= 0 || cols <= 0 || cols % TLV_QK)
        return fail(w, err, TLV_ERR_INVALID_ARG, "%s: tensor '%s': %s [%lld, %lld]: rows are not whole blocks of %d", w->path,
                    name ? name : "", tlv__st_quant_name(fmt), (long long)rows, (long long)cols, TLV_QK);
    int64_t shape[2] = {rows, (int64_t)tlv__dtype_row_bytes(fmt, cols)};
    tlv_status st = add_entry(w, name, TLV_ST_U8, 2, shape, err);
    if (st) return st;
    entry *e = &w->e[w->n - 1];
    e->quant = fmt;
    e->rows = rows;
    e->cols = cols;
    w->n_quant++;
    return TLV_OK;
}

/* ---------------------------------------------------------------- the header */

typedef struct buf {
    const tlv_allocator *alloc;
    char *p;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (!grow(b->alloc, (void **)&b->p, &b->cap, b->n + n + 1, 1)) {
        b->oom = 1;
        return;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* s as a JSON string: quotes, backslashes and control bytes escaped; other bytes as they are
 * (names are UTF-8, compared byte-wise by the reader). */
static void put_json_string(buf *b, const char *s)
{
    put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put(b, esc, 2);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(b, esc, 6);
        } else {
            put(b, (const char *)&c, 1);
        }
    }
    put(b, "\"", 1);
}

static void put_u64(buf *b, uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    puts_(b, s);
}

static void put_meta(buf *b, int *first, const char *key, const char *value)
{
    if (!*first) put(b, ",", 1);
    *first = 0;
    put_json_string(b, key);
    put(b, ":", 1);
    put_json_string(b, value);
}

/* The metadata key prefix + name, built in b2 (reset). */
static const char *key_of(buf *b2, const char *prefix, const char *name)
{
    b2->n = 0;
    puts_(b2, prefix);
    puts_(b2, name);
    return b2->oom ? "" : b2->p;
}

static void build_header(const tlv_st_writer *w, buf *b)
{
    buf k = {w->alloc, NULL, 0, 0, 0};
    puts_(b, "{");
    int first = 1;
    if (w->n_meta || w->n_quant) {
        puts_(b, "\"__metadata__\":{");
        int mfirst = 1;
        for (size_t i = 0; i < w->n_meta; i += 2) put_meta(b, &mfirst, w->meta[i], w->meta[i + 1]);
        if (w->n_quant) put_meta(b, &mfirst, TLV_ST_QUANT_VERSION_KEY, TLV_ST_QUANT_VERSION);
        for (size_t i = 0; i < w->n; i++) {
            const entry *e = &w->e[i];
            if (e->quant == TLV_F32) continue;
            char shape[64];
            snprintf(shape, sizeof shape, "[%lld, %lld]", (long long)e->rows, (long long)e->cols);
            put_meta(b, &mfirst, key_of(&k, TLV_ST_FORMAT_PREFIX, e->name), tlv__st_quant_name(e->quant));
            put_meta(b, &mfirst, key_of(&k, TLV_ST_SHAPE_PREFIX, e->name), shape);
        }
        puts_(b, "}");
        first = 0;
        b->oom |= k.oom;
    }
    tlv__free(w->alloc, k.p);
    for (size_t i = 0; i < w->n; i++) {
        const entry *e = &w->e[i];
        if (!first) put(b, ",", 1);
        first = 0;
        put_json_string(b, e->name);
        puts_(b, ":{\"dtype\":");
        put_json_string(b, tlv__st_dtype_name(e->dtype));
        puts_(b, ",\"shape\":[");
        for (int d = 0; d < e->ndim; d++) {
            if (d) put(b, ",", 1);
            put_u64(b, (uint64_t)e->shape[d]);
        }
        puts_(b, "],\"data_offsets\":[");
        put_u64(b, e->begin);
        put(b, ",", 1);
        put_u64(b, e->begin + e->n_bytes);
        puts_(b, "]}");
    }
    puts_(b, "}");
    /* pad with spaces so the data section starts at a multiple of 8 */
    while (!b->oom && (8 + b->n) % 8) put(b, " ", 1);
}

/* Larger elements first, then by name: every tensor starts aligned to its element size. */
static int cmp_file_order(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    size_t sx = tlv__st_dtype_size(x->dtype), sy = tlv__st_dtype_size(y->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void skip_empty(tlv_st_writer *w)
{
    while (w->cur < w->n && w->e[w->cur].n_bytes == 0) w->cur++;
}

tlv_status tlv__st_writer_begin(tlv_st_writer *w, tlv_err *err)
{
    tlv_status st = check_declaring(w, "begin", err);
    if (st) return st;
    if (w->n) qsort(w->e, w->n, sizeof *w->e, cmp_file_order);
    uint64_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        w->e[i].begin = off;
        /* JSON numbers are doubles: offsets must stay exact (safetensors.h) */
        if (!tlv__add_u64(off, w->e[i].n_bytes, &off) || off >= (1ull << 53))
            return fail(w, err, TLV_ERR_LIMIT, "%s: tensor data past 2^53 bytes at tensor '%s'", w->path, w->e[i].name);
    }
    buf b = {w->alloc, NULL, 0, 0, 0};
    build_header(w, &b);
    if (b.oom) {
        tlv__free(w->alloc, b.p);
        return fail(w, err, TLV_ERR_NO_MEMORY, "%s: out of memory building the header", w->path);
    }
    if (b.n > TLV_ST_MAX_HEADER_BYTES) {
        tlv__free(w->alloc, b.p);
        return fail(w, err, TLV_ERR_LIMIT, "%s: header over the 100 MB limit of readers", w->path);
    }
    w->f = fopen(w->tmp, "wb");
    w->tmp_created = w->f != NULL;
    if (!w->f) {
        tlv__free(w->alloc, b.p);
        return fail(w, err, TLV_ERR_IO, "%s: cannot create: %s", w->tmp, strerror(errno));
    }
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)b.n >> (8 * i));
    int ok = fwrite(len, 1, 8, w->f) == 8 && fwrite(b.p, 1, b.n, w->f) == b.n;
    tlv__free(w->alloc, b.p);
    if (!ok) return fail(w, err, TLV_ERR_IO, "%s: write failed: %s", w->tmp, strerror(errno));
    w->state = WRITING;
    w->cur = 0;
    w->cur_done = 0;
    skip_empty(w);
    return TLV_OK;
}

const char *tlv__st_writer_next(const tlv_st_writer *w, uint64_t *remaining)
{
    if (w->state != WRITING || w->cur >= w->n) {
        if (remaining) *remaining = 0;
        return NULL;
    }
    if (remaining) *remaining = w->e[w->cur].n_bytes - w->cur_done;
    return w->e[w->cur].name;
}

tlv_status tlv__st_writer_write(tlv_st_writer *w, const void *data, size_t n, tlv_err *err)
{
    if (w->state != WRITING)
        return fail(w, err, TLV_ERR_INVALID_ARG, "%s: write before begin, after finish or after an error", w->path);
    if (n == 0) return TLV_OK;
    if (w->cur >= w->n) return fail(w, err, TLV_ERR_INVALID_ARG, "%s: write after the last tensor is complete", w->path);
    const entry *e = &w->e[w->cur];
    uint64_t left = e->n_bytes - w->cur_done;
    if ((uint64_t)n > left)
        return fail(w, err, TLV_ERR_INVALID_ARG, "%s: tensor '%s': %zu bytes written, %llu of its %llu bytes were left",
                    w->path, e->name, n, (unsigned long long)left, (unsigned long long)e->n_bytes);
    if (fwrite(data, 1, n, w->f) != n) return fail(w, err, TLV_ERR_IO, "%s: write failed: %s", w->tmp, strerror(errno));
    w->cur_done += n;
    if (w->cur_done == e->n_bytes) {
        w->cur++;
        w->cur_done = 0;
        skip_empty(w);
    }
    return TLV_OK;
}

tlv_status tlv__st_writer_finish(tlv_st_writer *w, tlv_err *err)
{
    if (w->state != WRITING)
        return fail(w, err, TLV_ERR_INVALID_ARG, "%s: finish before begin, twice or after an error", w->path);
    if (w->cur < w->n)
        return fail(w, err, TLV_ERR_INVALID_ARG, "%s: finish: tensor '%s' is incomplete: %llu of its %llu bytes written",
                    w->path, w->e[w->cur].name, (unsigned long long)w->cur_done, (unsigned long long)w->e[w->cur].n_bytes);
    int ok = fflush(w->f) == 0 && !ferror(w->f);
    int e = errno;
    if (fclose(w->f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    w->f = NULL;
    if (!ok) return fail(w, err, TLV_ERR_IO, "%s: write failed: %s", w->tmp, strerror(e));
    if (rename(w->tmp, w->path) != 0) return fail(w, err, TLV_ERR_IO, "%s: cannot rename into place: %s", w->path, strerror(errno));
    w->tmp_created = 0;
    w->state = DONE;
    return TLV_OK;
}

void tlv__st_writer_destroy(tlv_st_writer *w)
{
    if (!w) return;
    if (w->f) fclose(w->f);
    if (w->tmp_created) remove(w->tmp);
    for (size_t i = 0; i < w->n; i++) tlv__free(w->alloc, w->e[i].name);
    for (size_t i = 0; i < w->n_meta; i++) tlv__free(w->alloc, w->meta[i]);
    tlv__free(w->alloc, w->e);
    tlv__free(w->alloc, w->meta);
    tlv__free(w->alloc, w->path);
    tlv__free(w->alloc, w->tmp);
    tlv__free(w->alloc, w);
}
