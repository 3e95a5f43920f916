/* The streaming safetensors writer (src/formats/safetensors_write.c) and the quantized-tensor
 * side of the reader (tlv__checkpoint_logical, tlv__checkpoint_check_shape):
 *   - a tiny file whose every byte is written out here by hand (header text, padding, data);
 *   - a mixed file (F32, F16, I64, empty, Q8_0, Q4_0) written in odd-sized chunks, read back
 *     with the reader: bytes, metadata, logical dtypes and shapes;
 *   - misuse and I/O errors, with their messages; no .tmp file left behind;
 *   - an out-of-memory pass (every allocation failing in turn, nothing leaked).
 * The damaged-file cases of the reader are in tests/bad (gen/make_bad.py). */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "formats/safetensors.h"
#include "formats/safetensors_write.h"
#include "tensor/quant.h"

static char g_dir[64];

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", g_dir, name);
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* x: F32 [2] = {1.0, -2.0}; q: Q4_0 [1, 32] = the block "nibble_layout" of test_quant.c
 * (values j - 8, then 7 - j: d = 1, byte j = j | (15 - j) << 4). */
static void test_exact_bytes(void)
{
    char path[128], tmp[140];
    path_in(path, sizeof path, "exact.safetensors");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    tlv_err err;
    tlv_st_writer *w = NULL;
    CHECK_EQ_INT(tlv__st_writer_create(path, NULL, &w, &err), TLV_OK);
    CHECK_EQ_INT(tlv__st_writer_metadata(w, "format", "pt", &err), TLV_OK);
    /* declared q first: the file still puts F32 (4-byte elements) before U8 */
    CHECK_EQ_INT(tlv__st_writer_add_quant(w, "q", TLV_Q4_0, 1, 32, &err), TLV_OK);
    CHECK_EQ_INT(tlv__st_writer_add(w, "x", TLV_ST_F32, 1, (const int64_t[]){2}, &err), TLV_OK);
    CHECK(tlv__st_writer_next(w, NULL) == NULL); /* before begin */
    CHECK(!exists(tmp));
    CHECK_EQ_INT(tlv__st_writer_begin(w, &err), TLV_OK);
    CHECK(exists(tmp) && !exists(path));
    uint64_t left = 0;
    CHECK_EQ_STR(tlv__st_writer_next(w, &left), "x");
    CHECK_EQ_INT(left, 8);
    const float xv[2] = {1.0f, -2.0f};
    CHECK_EQ_INT(tlv__st_writer_write(w, xv, 8, &err), TLV_OK);
    CHECK_EQ_STR(tlv__st_writer_next(w, &left), "q");
    CHECK_EQ_INT(left, 18);
    float qx[32];
    for (int j = 0; j < 16; j++) {
        qx[j] = (float)(j - 8);
        qx[16 + j] = (float)(7 - j);
    }
    uint8_t qb[18];
    CHECK_EQ_INT(tlv__quantize_row(TLV_Q4_0, qx, 32, qb, NULL), TLV_OK);
    CHECK_EQ_INT(tlv__st_writer_write(w, qb, 18, &err), TLV_OK);
    CHECK(tlv__st_writer_next(w, &left) == NULL);
    CHECK_EQ_INT(tlv__st_writer_finish(w, &err), TLV_OK);
    tlv__st_writer_destroy(w);
    CHECK(exists(path) && !exists(tmp));

    static const char header[] =
        "{\"__metadata__\":{\"format\":\"pt\",\"tlv.quant.version\":\"1\",\"tlv.format.q\":\"q4_0\","
        "\"tlv.shape.q\":\"[1, 32]\"},"
        "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"q\":{\"dtype\":\"U8\",\"shape\":[1,18],\"data_offsets\":[8,26]}}";
    size_t hn = sizeof header - 1, padded = (hn + 8 + 7) / 8 * 8 - 8;
    size_t n = 0;
    uint8_t *f = (uint8_t *)tlv_test_read_file(path, &n);
    CHECK(f != NULL);
    if (!f) return;
    CHECK_EQ_INT(n, 8 + padded + 26);
    uint64_t len = 0;
    for (int i = 7; i >= 0 && n >= 8; i--) len = len << 8 | f[i];
    CHECK_EQ_INT(len, padded);
    CHECK((8 + len) % 8 == 0);
    if (n == 8 + padded + 26) {
        CHECK(memcmp(f + 8, header, hn) == 0);
        if (memcmp(f + 8, header, hn)) fprintf(stderr, "  got header: %.*s\n", (int)hn, (const char *)f + 8);
        for (size_t i = hn; i < padded; i++) CHECK(f[8 + i] == ' ');
        const uint8_t *d = f + 8 + padded;
        /* 1.0f = 0x3f800000, -2.0f = 0xc0000000, little-endian */
        static const uint8_t want_x[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0};
        static const uint8_t want_q[18] = {0x00, 0x3c, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96,
                                           0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};
        CHECK(memcmp(d, want_x, 8) == 0);
        CHECK(memcmp(d + 8, want_q, 18) == 0);
    }
    free(f);
    remove(path);
}

typedef struct spec {
    const char *name;
    tlv_st_dtype dtype; /* TLV_ST_U8 with fmt set: quantized */
    tlv_dtype fmt;
    int ndim;
    int64_t shape[2];
} spec;

static const spec mixed[] = {
    {"model.embed_tokens.weight", TLV_ST_U8, TLV_Q8_0, 2, {5, 96}},
    {"model.layers.0.mlp.down_proj.weight", TLV_ST_U8, TLV_Q4_0, 2, {3, 64}},
    {"model.norm.weight", TLV_ST_F32, TLV_F32, 1, {7}},
    {"model.layers.0.self_attn.q_proj.bias", TLV_ST_F16, TLV_F32, 1, {5}},
    {"position_ids", TLV_ST_I64, TLV_F32, 2, {1, 3}},
    {"empty", TLV_ST_F32, TLV_F32, 1, {0}},
    {"\"odd\\name\n", TLV_ST_BF16, TLV_F32, 2, {2, 2}},
};
enum { N_MIXED = sizeof mixed / sizeof mixed[0] };

static uint64_t spec_bytes(const spec *s)
{
    if (s->fmt != TLV_F32) return (uint64_t)s->shape[0] * tlv__dtype_row_bytes(s->fmt, s->shape[1]);
    uint64_t n = tlv__st_dtype_size(s->dtype);
    for (int i = 0; i < s->ndim; i++) n *= (uint64_t)s->shape[i];
    return n;
}

/* The bytes each tensor holds: deterministic per name (quantized ones are real blocks). */
static uint8_t *spec_data(const spec *s)
{
    uint64_t n = spec_bytes(s), seed = 1;
    for (const char *p = s->name; *p; p++) seed = seed * 131 + (uint8_t)*p;
    uint8_t *b = malloc(n ? n : 1);
    if (s->fmt != TLV_F32) {
        int64_t cols = s->shape[1];
        float *row = malloc((size_t)cols * sizeof *row);
        uint64_t rb = tlv__dtype_row_bytes(s->fmt, cols);
        for (int64_t r = 0; r < s->shape[0]; r++) {
            for (int64_t j = 0; j < cols; j++) row[j] = tlv_test_rand_uniform(&seed, -1.0f, 1.0f);
            CHECK_EQ_INT(tlv__quantize_row(s->fmt, row, cols, b + r * rb, NULL), TLV_OK);
        }
        free(row);
    } else {
        for (uint64_t i = 0; i < n; i++) b[i] = (uint8_t)tlv_test_rand_u32(&seed);
    }
    return b;
}

/* Declares, begins and writes the mixed file in chunks of `chunk` bytes; any failure is returned. */
static tlv_status write_mixed(const char *path, const tlv_allocator *a, size_t chunk, tlv_err *err)
{
    tlv_st_writer *w = NULL;
    tlv_status st = tlv__st_writer_create(path, a, &w, err);
    if (!st) st = tlv__st_writer_metadata(w, "format", "pt", err);
    for (int i = 0; !st && i < N_MIXED; i++) {
        const spec *s = &mixed[i];
        st = s->fmt != TLV_F32 ? tlv__st_writer_add_quant(w, s->name, s->fmt, s->shape[0], s->shape[1], err)
                               : tlv__st_writer_add(w, s->name, s->dtype, s->ndim, s->shape, err);
    }
    if (!st) st = tlv__st_writer_begin(w, err);
    const char *name;
    uint64_t left;
    while (!st && (name = tlv__st_writer_next(w, &left))) {
        const spec *s = NULL;
        for (int i = 0; i < N_MIXED; i++)
            if (!strcmp(mixed[i].name, name)) s = &mixed[i];
        CHECK(s != NULL);
        if (!s) break;
        CHECK_EQ_INT(left, spec_bytes(s));
        uint8_t *b = spec_data(s);
        for (uint64_t off = 0; !st && off < left; off += chunk)
            st = tlv__st_writer_write(w, b + off, (size_t)(left - off < chunk ? left - off : chunk), err);
        free(b);
    }
    if (!st) st = tlv__st_writer_finish(w, err);
    tlv__st_writer_destroy(w);
    return st;
}

static void test_mixed(void)
{
    char path[128];
    path_in(path, sizeof path, "mixed.safetensors");
    tlv_err err;
    CHECK_EQ_INT(write_mixed(path, NULL, 7, &err), TLV_OK);
    tlv_checkpoint *c = NULL;
    CHECK_EQ_INT(tlv__safetensors_open(path, NULL, &c, &err), TLV_OK);
    if (!c) {
        fprintf(stderr, "  %s\n", err.msg);
        return;
    }
    CHECK_EQ_INT(tlv__checkpoint_count(c), N_MIXED);
    CHECK_EQ_STR(tlv__checkpoint_metadata(c, "format"), "pt");
    CHECK_EQ_STR(tlv__checkpoint_metadata(c, "tlv.quant.version"), "1");
    CHECK_EQ_STR(tlv__checkpoint_metadata(c, "tlv.format.model.embed_tokens.weight"), "q8_0");
    CHECK_EQ_STR(tlv__checkpoint_metadata(c, "tlv.shape.model.layers.0.mlp.down_proj.weight"), "[3, 64]");
    uint64_t prev_end = 0;
    for (int i = 0; i < N_MIXED; i++) {
        const spec *s = &mixed[i];
        const tlv_st_tensor *t = tlv__checkpoint_find(c, s->name);
        CHECK(t != NULL);
        if (!t) continue;
        CHECK_EQ_INT(t->dtype, s->dtype);
        CHECK_EQ_INT(t->n_bytes, spec_bytes(s));
        uint8_t *b = spec_data(s);
        CHECK(t->n_bytes == 0 || memcmp(t->data, b, t->n_bytes) == 0);
        free(b);
        /* aligned to its element size */
        CHECK(t->file_offset % tlv__st_dtype_size(t->dtype) == 0);
        tlv_st_logical l;
        CHECK_EQ_INT(tlv__checkpoint_logical(c, t, &l, &err), s->dtype == TLV_ST_I64 ? TLV_ERR_UNSUPPORTED : TLV_OK);
        if (s->fmt != TLV_F32) {
            CHECK_EQ_INT(l.dtype, s->fmt);
            CHECK_EQ_INT(l.ndim, 2);
            CHECK_EQ_INT(l.shape[0], s->shape[0]);
            CHECK_EQ_INT(l.shape[1], s->shape[1]);
            CHECK_EQ_INT(l.n_elems, s->shape[0] * s->shape[1]);
            CHECK_EQ_INT(t->ndim, 2);
            CHECK_EQ_INT(t->shape[1], tlv__dtype_row_bytes(s->fmt, s->shape[1]));
            CHECK_EQ_INT(tlv__checkpoint_check_shape(c, t, 2, (const int64_t[]){s->shape[0], -1}, &err), TLV_OK);
            CHECK_EQ_INT(tlv__checkpoint_check_shape(c, t, 2, (const int64_t[]){s->shape[0], s->shape[1] + 32}, &err),
                         TLV_ERR_SHAPE);
            char want[256];
            snprintf(want, sizeof want, "tensor '%s': __metadata__ gives %s [%lld, %lld], the config implies [%lld, %lld]",
                     s->name, tlv__st_quant_name(s->fmt), (long long)s->shape[0], (long long)s->shape[1],
                     (long long)s->shape[0], (long long)s->shape[1] + 32);
            CHECK_CONTAINS(err.msg, want);
            CHECK_CONTAINS(err.msg, "mixed.safetensors");
        } else if (s->dtype == TLV_ST_I64) {
            CHECK_CONTAINS(err.msg, "tensor 'position_ids': dtype I64 is not supported (expected F32, F16, BF16 or a quantized U8)");
        } else {
            CHECK_EQ_INT(l.dtype, s->dtype == TLV_ST_F16 ? TLV_F16 : s->dtype == TLV_ST_BF16 ? TLV_BF16 : TLV_F32);
            CHECK_EQ_INT(l.ndim, s->ndim);
            CHECK_EQ_INT(l.shape[0], s->shape[0]);
            CHECK_EQ_INT(tlv__checkpoint_check_shape(c, t, s->ndim, s->shape, &err), TLV_OK);
            CHECK_EQ_INT(tlv__checkpoint_check_shape(c, t, 2, (const int64_t[]){9, 9}, &err), TLV_ERR_SHAPE);
            CHECK_CONTAINS(err.msg, "expected shape [9, 9], found [");
        }
    }
    /* file order: element size descending, no gaps */
    const char *order[N_MIXED] = {"position_ids", "empty", "model.norm.weight", "\"odd\\name\n",
                                  "model.layers.0.self_attn.q_proj.bias", "model.embed_tokens.weight",
                                  "model.layers.0.mlp.down_proj.weight"};
    for (int i = 0; i < N_MIXED; i++) {
        const tlv_st_tensor *t = tlv__checkpoint_find(c, order[i]);
        CHECK(t != NULL);
        if (!t) continue;
        if (t->n_bytes == 0) continue; /* "empty" overlaps nothing: no position to check */
        if (i) CHECK_EQ_INT(t->file_offset, prev_end);
        prev_end = t->file_offset + t->n_bytes;
    }
    tlv__checkpoint_destroy(c);
    remove(path);
}

static void test_misuse(void)
{
    char path[128], tmp[140];
    path_in(path, sizeof path, "misuse.safetensors");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    tlv_err err;
    tlv_st_writer *w = NULL;

    struct { int what; const char *msg; } cases[] = {
        {0, "tensor 'a' added twice"},
        {1, "tensor name '__metadata__' is empty or reserved"},
        {2, "__metadata__ key 'tlv.format.a' is reserved"},
        {3, "tensor 'q': q8_0 [2, 40]: rows are not whole blocks of 32"},
        {4, "add after the header was written"},
        {5, "tensor 'a': 12 bytes written, 8 of its 8 bytes were left"},
        {6, "finish: tensor 'b' is incomplete: 3 of its 4 bytes written"},
        {7, "write before begin"},
        {8, "__metadata__ key 'format' given twice"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        CHECK_EQ_INT(tlv__st_writer_create(path, NULL, &w, &err), TLV_OK);
        tlv_status st = tlv__st_writer_add(w, "a", TLV_ST_F32, 1, (const int64_t[]){2}, &err);
        if (!st) st = tlv__st_writer_add(w, "b", TLV_ST_U8, 1, (const int64_t[]){4}, &err);
        if (!st) st = tlv__st_writer_metadata(w, "format", "pt", &err);
        CHECK_EQ_INT(st, TLV_OK);
        const uint8_t zeros[16] = {0};
        switch (cases[k].what) {
        case 0: st = tlv__st_writer_add(w, "a", TLV_ST_F16, 1, (const int64_t[]){2}, &err); break;
        case 1: st = tlv__st_writer_add(w, "__metadata__", TLV_ST_F16, 1, (const int64_t[]){2}, &err); break;
        case 2: st = tlv__st_writer_metadata(w, "tlv.format.a", "q4_0", &err); break;
        case 3: st = tlv__st_writer_add_quant(w, "q", TLV_Q8_0, 2, 40, &err); break;
        case 4:
            st = tlv__st_writer_begin(w, &err);
            if (!st) st = tlv__st_writer_add(w, "c", TLV_ST_F32, 1, (const int64_t[]){2}, &err);
            break;
        case 5:
            st = tlv__st_writer_begin(w, &err);
            if (!st) st = tlv__st_writer_write(w, zeros, 12, &err);
            break;
        case 6:
            st = tlv__st_writer_begin(w, &err);
            if (!st) st = tlv__st_writer_write(w, zeros, 8, &err);
            if (!st) st = tlv__st_writer_write(w, zeros, 3, &err);
            if (!st) st = tlv__st_writer_finish(w, &err);
            break;
        case 7: st = tlv__st_writer_write(w, zeros, 1, &err); break;
        case 8: st = tlv__st_writer_metadata(w, "format", "np", &err); break;
        }
        CHECK_EQ_INT(st, TLV_ERR_INVALID_ARG);
        CHECK_CONTAINS(err.msg, cases[k].msg);
        /* after an error only destroy: a later call fails too */
        CHECK(tlv__st_writer_finish(w, &err) != TLV_OK);
        tlv__st_writer_destroy(w);
        CHECK(!exists(tmp) && !exists(path));
    }

    /* a folder that does not exist: TLV_ERR_IO naming the file */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.safetensors", g_dir);
    CHECK_EQ_INT(tlv__st_writer_create(bad, NULL, &w, &err), TLV_OK);
    CHECK_EQ_INT(tlv__st_writer_add(w, "a", TLV_ST_F32, 1, (const int64_t[]){2}, &err), TLV_OK);
    CHECK_EQ_INT(tlv__st_writer_begin(w, &err), TLV_ERR_IO);
    CHECK_CONTAINS(err.msg, "no/such/dir/x.safetensors.tmp: cannot create");
    tlv__st_writer_destroy(w);

    /* an empty file (no tensors, no metadata) is a valid safetensors file */
    CHECK_EQ_INT(tlv__st_writer_create(path, NULL, &w, &err), TLV_OK);
    CHECK_EQ_INT(tlv__st_writer_begin(w, &err), TLV_OK);
    CHECK_EQ_INT(tlv__st_writer_finish(w, &err), TLV_OK);
    tlv__st_writer_destroy(w);
    tlv_checkpoint *c = NULL;
    CHECK_EQ_INT(tlv__safetensors_open(path, NULL, &c, &err), TLV_OK);
    if (c) CHECK_EQ_INT(tlv__checkpoint_count(c), 0);
    tlv__checkpoint_destroy(c);
    remove(path);
}

/* A U8 tensor in a file with no quantized metadata opens (it is a valid safetensors file), but is
 * not a tensor the runtime can use: tlv__checkpoint_logical says why. */
static void test_plain_u8(void)
{
    char path[128];
    path_in(path, sizeof path, "plain_u8.safetensors");
    tlv_err err;
    tlv_st_writer *w = NULL;
    CHECK_EQ_INT(tlv__st_writer_create(path, NULL, &w, &err), TLV_OK);
    CHECK_EQ_INT(tlv__st_writer_add(w, "mask", TLV_ST_U8, 2, (const int64_t[]){2, 34}, &err), TLV_OK);
    CHECK_EQ_INT(tlv__st_writer_begin(w, &err), TLV_OK);
    uint8_t zeros[68] = {0};
    CHECK_EQ_INT(tlv__st_writer_write(w, zeros, 68, &err), TLV_OK);
    CHECK_EQ_INT(tlv__st_writer_finish(w, &err), TLV_OK);
    tlv__st_writer_destroy(w);
    tlv_checkpoint *c = NULL;
    CHECK_EQ_INT(tlv__safetensors_open(path, NULL, &c, &err), TLV_OK);
    if (c) {
        tlv_st_logical l;
        CHECK_EQ_INT(tlv__checkpoint_logical(c, tlv__checkpoint_find(c, "mask"), &l, &err), TLV_ERR_FORMAT);
        CHECK_CONTAINS(err.msg, "plain_u8.safetensors: tensor 'mask': stored as U8 without 'tlv.format.mask' in __metadata__");
        CHECK_EQ_INT(tlv__checkpoint_check_shape(c, tlv__checkpoint_find(c, "mask"), 2, (const int64_t[]){2, 34}, &err),
                     TLV_ERR_FORMAT);
    }
    tlv__checkpoint_destroy(c);
    remove(path);
}

static void test_out_of_memory(void)
{
    char path[128], tmp[140];
    path_in(path, sizeof path, "oom.safetensors");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int done = 0;
    for (long k = 0; k < 400 && !done; k++) {
        tlv_allocator a;
        tlv_test_failing_alloc st;
        tlv_test_failing_alloc_init(&a, &st, k);
        tlv_err err;
        tlv_status s = write_mixed(path, &a, 64, &err);
        if (s == TLV_OK) done = 1;
        else {
            CHECK_EQ_INT(s, TLV_ERR_NO_MEMORY);
            CHECK(!exists(path));
        }
        CHECK_EQ_INT(st.live, 0);
        CHECK(!exists(tmp));
    }
    CHECK(done);
    remove(path);
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/tlv_st_write_XXXXXX", t && *t && strlen(t) < 32 ? t : "/tmp");
    if (!mkdtemp(g_dir)) {
        CHECK(!"mkdtemp");
        return tlv_test_finish("test_st_write");
    }
    test_exact_bytes();
    test_mixed();
    test_misuse();
    test_plain_u8();
    test_out_of_memory();
    rmdir(g_dir);
    return tlv_test_finish("test_st_write");
}
