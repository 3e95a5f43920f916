#include "text/unicode.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- byte buffer */
void tlv__buf_init(tlv_buf *b, const tlv_allocator *alloc)
{
    memset(b, 0, sizeof *b);
    b->alloc = alloc;
}

static int buf_reserve(tlv_buf *b, size_t extra)
{
    if (b->oom) return 0;
    if (extra <= b->cap - b->n) return 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->n < extra) {
        if (cap > ((size_t)-1) / 2) {
            b->oom = 1;
            return 0;
        }
        cap *= 2;
    }
    char *p = tlv__realloc(b->alloc, b->p, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

void tlv__buf_put(tlv_buf *b, const void *data, size_t n)
{
    if (!n || !buf_reserve(b, n)) return;
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

void tlv__buf_putc(tlv_buf *b, char c)
{
    tlv__buf_put(b, &c, 1);
}

void tlv__buf_free(tlv_buf *b)
{
    tlv__free(b->alloc, b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

tlv_status tlv__buf_finish(tlv_buf *b, char **out, size_t *len, tlv_err *err)
{
    buf_reserve(b, 1);
    if (b->oom) {
        tlv__buf_free(b);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
    }
    b->p[b->n] = 0;
    *out = b->p;
    if (len) *len = b->n;
    b->p = NULL;
    b->n = b->cap = 0;
    return TLV_OK;
}

/* ---------------------------------------------------------------- UTF-8 */
/* Range of the second byte after each lead byte (Unicode Table 3-7, well-formed sequences). */
static int utf8_shape(unsigned char c, size_t *need, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) *need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        *need = 3;
        if (c == 0xE0) *lo = 0xA0;
        if (c == 0xED) *hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        *need = 4;
        if (c == 0xF0) *lo = 0x90;
        if (c == 0xF4) *hi = 0x8F;
    } else return 0;
    return 1;
}

size_t tlv__utf8_next(const unsigned char *s, size_t n, tlv_utf8_policy policy, uint32_t *cp, size_t *bad)
{
    *bad = 0;
    if (n == 0) return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t need;
    unsigned char lo, hi;
    if (!utf8_shape(s[0], &need, &lo, &hi)) {
        *bad = 1;
        return 0;
    }
    size_t i = 1;
    for (; i < need && i < n; i++) {
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (s[i] < l || s[i] > h) break;
    }
    if (i == need) {
        uint32_t v = s[0] & (need == 2 ? 0x1F : need == 3 ? 0x0F : 0x07);
        for (size_t k = 1; k < need; k++) v = (v << 6) | (s[k] & 0x3F);
        *cp = v;
        return need;
    }
    if (i == n) return 0; /* a valid prefix cut short by the end of input: wait */
    *bad = policy == TLV_UTF8_SPM ? 1 : i;
    return 0;
}

void tlv__utf8_put(tlv_buf *out, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    tlv__buf_put(out, b, n);
}

/* Decodes s[0..n) into out; returns how many bytes were consumed (the rest is an incomplete
 * character when !final). */
static size_t utf8_decode(const unsigned char *s, size_t n, tlv_utf8_policy policy, int final, tlv_buf *out)
{
    size_t i = 0, run = 0; /* run: start of the pending stretch of valid bytes */
    while (i < n) {
        uint32_t cp;
        size_t bad, k = tlv__utf8_next(s + i, n - i, policy, &cp, &bad);
        if (k) {
            i += k;
            continue;
        }
        tlv__buf_put(out, s + run, i - run);
        if (!bad) { /* incomplete at the end */
            if (!final) return i;
            bad = n - i;
            if (policy == TLV_UTF8_SPM) bad = 1;
        }
        tlv__buf_put(out, TLV_UTF8_REPLACEMENT, 3);
        i += bad;
        run = i;
    }
    tlv__buf_put(out, s + run, n - run);
    return n;
}

void tlv__utf8_sanitize(tlv_buf *out, const char *s, size_t n)
{
    utf8_decode((const unsigned char *)s, n, TLV_UTF8_PYTHON, 1, out);
}

void tlv__utf8_stream_feed(tlv_utf8_stream *st, const char *s, size_t n, tlv_buf *out)
{
    const unsigned char *u = (const unsigned char *)s;
    /* Finish the waiting character first, one byte at a time (at most 3 bytes wait). */
    while (st->n_pend && n) {
        st->pend[st->n_pend++] = *u++;
        n--;
        size_t used = utf8_decode(st->pend, st->n_pend, st->policy, 0, out);
        if (used == st->n_pend) {
            st->n_pend = 0;
        } else {
            memmove(st->pend, st->pend + used, st->n_pend - used);
            st->n_pend -= used;
        }
    }
    if (!n) return;
    size_t used = utf8_decode(u, n, st->policy, 0, out);
    memcpy(st->pend, u + used, n - used);
    st->n_pend = n - used;
}

void tlv__utf8_stream_flush(tlv_utf8_stream *st, tlv_buf *out)
{
    utf8_decode(st->pend, st->n_pend, st->policy, 1, out);
    st->n_pend = 0;
}

int tlv__py_isspace(uint32_t c)
{
    /* Python: bidirectional type WS, B or S, or category Zs. */
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* ---------------------------------------------------------------- GPT-2 byte alphabet */
void tlv__byte_alphabet_init(tlv_byte_alphabet *a)
{
    /* openai/gpt-2 encoder.py bytes_to_unicode(): printable Latin-1 bytes stand for themselves,
     * the others get 256, 257, ... in byte order. */
    int next = 256;
    for (int i = 0; i < 0x144; i++) a->to_byte[i] = -1;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        int cp = keep ? b : next++;
        a->to_cp[b] = (uint16_t)cp;
        a->to_byte[cp] = (int16_t)b;
    }
}

/* ---------------------------------------------------------------- string -> id map */
static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

tlv_status tlv__strmap_init(tlv_strmap *m, const tlv_allocator *alloc, size_t expected)
{
    memset(m, 0, sizeof *m);
    m->alloc = alloc;
    size_t cap = 16;
    while (cap < expected * 2 && cap < ((size_t)1 << 40)) cap *= 2;
    m->slots = tlv__calloc(alloc, cap, sizeof *m->slots);
    if (!m->slots) return TLV_ERR_NO_MEMORY;
    m->cap = cap;
    m->count = 0;
    return TLV_OK;
}

void tlv__strmap_free(tlv_strmap *m)
{
    tlv__free(m->alloc, m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

static tlv_strmap_slot *strmap_find(const tlv_strmap *m, const char *key, size_t len)
{
    size_t mask = m->cap - 1, i = (size_t)fnv1a(key, len) & mask;
    for (;;) {
        tlv_strmap_slot *s = &m->slots[i];
        if (!s->key || (s->len == len && !memcmp(s->key, key, len))) return s;
        i = (i + 1) & mask;
    }
}

tlv_status tlv__strmap_put(tlv_strmap *m, const char *key, size_t len, int32_t value)
{
    if (len > UINT32_MAX) return TLV_ERR_LIMIT;
    if ((m->count + 1) * 2 > m->cap) {
        tlv_strmap bigger = {0};
        bigger.alloc = m->alloc;
        bigger.cap = m->cap * 2;
        bigger.slots = tlv__calloc(m->alloc, bigger.cap, sizeof *bigger.slots);
        if (!bigger.slots) return TLV_ERR_NO_MEMORY;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key) *strmap_find(&bigger, m->slots[i].key, m->slots[i].len) = m->slots[i];
        bigger.count = m->count;
        tlv__free(m->alloc, m->slots);
        *m = bigger;
    }
    tlv_strmap_slot *s = strmap_find(m, key, len);
    if (!s->key) m->count++;
    s->key = key;
    s->len = (uint32_t)len;
    s->value = value;
    return TLV_OK;
}

int32_t tlv__strmap_get(const tlv_strmap *m, const char *key, size_t len)
{
    if (!m->cap) return -1;
    const tlv_strmap_slot *s = strmap_find(m, key, len);
    return s->key ? s->value : -1;
}

/* ---------------------------------------------------------------- id arrays, files */
void tlv__ids_push(tlv_ids *v, int32_t id)
{
    if (v->oom) return;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        int32_t *p = cap > ((size_t)-1) / sizeof *p ? NULL : tlv__realloc(v->alloc, v->p, cap * sizeof *p);
        if (!p) {
            v->oom = 1;
            return;
        }
        v->p = p;
        v->cap = cap;
    }
    v->p[v->n++] = id;
}

tlv_status tlv__text_read_file(const char *path, const tlv_allocator *alloc, char **data, size_t *len, tlv_err *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return tlv__err_set(err, errno == ENOENT ? TLV_ERR_NOT_FOUND : TLV_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    tlv_buf b;
    tlv__buf_init(&b, alloc);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) tlv__buf_put(&b, chunk, got);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        tlv__buf_free(&b);
        return tlv__err_set(err, TLV_ERR_IO, "%s: read error", path);
    }
    tlv_status st = tlv__buf_finish(&b, data, len, err);
    if (st) tlv__err_prefix(err, "%s", path);
    return st;
}
