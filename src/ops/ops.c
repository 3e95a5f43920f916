/* ops.c: checks and small helpers shared by the op files (ops.h). */
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

#include "dtype.h" /* shaders/dtype.h */

/* "F32 [3, 4096]" */
static void describe(const tlv_tensor *t, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s [", tlv__dtype_name(t->dtype));
    for (int i = 0; i < t->ndim && n > 0 && (size_t)n < cap; i++)
        n += snprintf(buf + n, cap - (size_t)n, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (n > 0 && (size_t)n < cap) snprintf(buf + n, cap - (size_t)n, "]");
}

static void describe_dim(int64_t v, char *buf, size_t cap)
{
    if (v < 0) snprintf(buf, cap, "any");
    else snprintf(buf, cap, "%lld", (long long)v);
}

int tlv__op_check_2d(tlv_stream *s, const char *op, const char *what, const tlv_tensor *t, tlv_dtype dtype,
                     int64_t rows, int64_t cols)
{
    if (!t) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: %s: missing (NULL)", op, what);
        return 0;
    }
    if (t->ndim != 2 || t->dtype != dtype || (rows >= 0 && t->shape[0] != rows) ||
        (cols >= 0 && t->shape[1] != cols)) {
        char found[96], r[24], c[24];
        describe(t, found, sizeof found);
        describe_dim(rows, r, sizeof r);
        describe_dim(cols, c, sizeof c);
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: %s: expected %s [%s, %s], found %s", op, what, tlv__dtype_name(dtype),
                         r, c, found);
        return 0;
    }
    if (t->n_slabs < 1) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: %s: not allocated", op, what);
        return 0;
    }
    return 1;
}

int tlv__op_check_vec(tlv_stream *s, const char *op, const char *what, const tlv_tensor *t, int64_t n)
{
    if (!t) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: %s: missing (NULL)", op, what);
        return 0;
    }
    int64_t len = t->ndim == 1 ? t->shape[0] : t->ndim == 2 && t->shape[0] == 1 ? t->shape[1] : -1;
    int known = t->dtype == TLV_F32 || t->dtype == TLV_F16 || t->dtype == TLV_BF16;
    if (len < 0 || !known || (n >= 0 && len != n)) {
        char found[96], e[24];
        describe(t, found, sizeof found);
        describe_dim(n, e, sizeof e);
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: %s: expected a vector [%s] (F32, F16 or BF16), found %s", op, what, e,
                         found);
        return 0;
    }
    if (t->n_slabs != 1) {
        tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: %s: expected one storage slab, found %d", op, what, t->n_slabs);
        return 0;
    }
    return 1;
}

/* One row per dtype the kernels read: its shader code (shaders/dtype.h, shared with the GLSL) and
 * the matrix kernels compiled for it as a weight format ([texel]: cmake/Shaders.cmake makes them
 * from matvec.comp and matmul.comp for each name in TLV_WEIGHT_FORMATS). A new weight format is a
 * row here; docs/ARCHITECTURE.md ("Shaders") lists the other places. */
static const struct {
    tlv_dtype dtype;
    uint32_t code;
    const char *matvec[2], *matmul[2];
} dtype_table[] = {
    {TLV_F32, TLV_DT_F32, {"matvec_f32", "matvec_f32_tex"}, {"matmul_f32", "matmul_f32_tex"}},
    {TLV_F16, TLV_DT_F16, {"matvec_f16", "matvec_f16_tex"}, {"matmul_f16", "matmul_f16_tex"}},
    {TLV_BF16, TLV_DT_BF16, {"matvec_bf16", "matvec_bf16_tex"}, {"matmul_bf16", "matmul_bf16_tex"}},
    {TLV_Q8_0, TLV_DT_Q8_0, {"matvec_q8_0", "matvec_q8_0_tex"}, {"matmul_q8_0", "matmul_q8_0_tex"}},
    {TLV_Q4_0, TLV_DT_Q4_0, {"matvec_q4_0", "matvec_q4_0_tex"}, {"matmul_q4_0", "matmul_q4_0_tex"}},
};

/* The row of t; unknown dtypes (the ops check dtypes first) get F32's. */
static size_t dtype_row(tlv_dtype t)
{
    for (size_t i = 0; i < sizeof dtype_table / sizeof dtype_table[0]; i++)
        if (dtype_table[i].dtype == t) return i;
    return 0;
}

uint32_t tlv__op_dtype_code(tlv_dtype t)
{
    return dtype_table[dtype_row(t)].code;
}

const char *tlv__op_matrix_shader(tlv_dtype w, int tiled, int texel)
{
    size_t i = dtype_row(w);
    return tiled ? dtype_table[i].matmul[texel != 0] : dtype_table[i].matvec[texel != 0];
}

tlv_status tlv__op_pipeline(tlv_stream *s, const char *op, const char *shader, const uint32_t *spec, uint32_t n_spec,
                            uint32_t n_bindings, uint32_t push_bytes, const tlv_vk_pipeline **out)
{
    tlv_err err = {0};
    *out = NULL;
    tlv_status st = tlv__vk_pipeline_get(tlv__stream_device(s), shader, spec, n_spec, n_bindings, push_bytes, out, &err);
    if (st != TLV_OK) return tlv__stream_fail(s, st, "%s: pipeline %s: %s", op, shader, err.msg);
    return TLV_OK;
}

void tlv__op_grid(const tlv_vk_caps *c, uint32_t n_wg, uint32_t *gx, uint32_t *gy)
{
    uint32_t mx = c->max_wg_count[0] ? c->max_wg_count[0] : 65535;
    if (n_wg == 0) n_wg = 1;
    *gx = n_wg < mx ? n_wg : mx;
    *gy = (n_wg + *gx - 1) / *gx;
}

int tlv__op_row_slab(const tlv_tensor *t, int64_t row, int64_t *row_in_slab, int64_t *rows_left)
{
    int64_t per = t->slab_rows > 0 ? t->slab_rows : t->shape[0];
    int slab = per > 0 ? (int)(row / per) : 0;
    if (slab >= t->n_slabs) slab = t->n_slabs - 1;
    int64_t in = row - (int64_t)slab * per;
    *row_in_slab = in;
    *rows_left = tlv__tensor_slab_nrows(t, slab) - in;
    return slab;
}

/* ------------------------------------------------------------------ for the small kernels (norm.c .. topk.c) */

tlv_op_tune tlv__op_tune(const tlv_vk_caps *c)
{
    /* the device's tuning record (vk/tuning.c; why: docs/BENCHMARKS.md "Why the tuning table
     * says what it says"); the loop budgets bound each invocation's share of the work under the
     * driver's loop limit (caps.max_loop_iterations, from the quirk table) */
    const tlv_vk_tuning *r = &c->tune;
    tlv_op_tune t;
    t.norm_wg = r->norm_wg;
    t.ew_wg = r->ew_wg;
    t.ew_chunk = r->ew_chunk;
    t.ew_max_wgs = r->ew_max_wgs;
    t.embed_wg = r->embed_wg;
    t.topk_wg = r->topk_wg;
    t.topk_chunk = r->topk_chunk;
    t.topk_max_parts = r->topk_max_parts;
    t.loop_budget = r->loop_budget;
    t.topk_budget = r->topk_budget;
    return t;
}

const tlv_vk_caps *tlv__op_caps(tlv_stream *s)
{
    return tlv__vk_device_caps(tlv__stream_device(s));
}

tlv_row_view tlv__op_view_rows(const tlv_tensor *t, int64_t row0, int64_t col0, int write)
{
    tlv_row_view v = {t, row0, col0, tlv__tensor_row_elems(t), 0, write};
    return v;
}

int64_t tlv__op_row_chunk(const tlv_row_view *v, int n_v, int64_t r, int64_t max_rows, tlv_chunk_pos *pos)
{
    int64_t rows = max_rows;
    for (int i = 0; i < n_v; i++) {
        if (!v[i].t) continue;
        if (v[i].bcast) {
            pos[i].slab = 0;
            pos[i].off = (uint64_t)v[i].col0;
            continue;
        }
        int64_t in, left;
        pos[i].slab = tlv__op_row_slab(v[i].t, v[i].row0 + r, &in, &left);
        pos[i].off = (uint64_t)(in * v[i].stride + v[i].col0);
        if (left < rows) rows = left;
    }
    return rows;
}

tlv_vk_binding tlv__op_bind(const tlv_row_view *v, const tlv_chunk_pos *p)
{
    return tlv__tensor_binding(v->t, p->slab, v->write);
}

int tlv__op_fits_u32(uint64_t v)
{
    return v <= 0xffffffffull;
}

int tlv__op_check_float(tlv_stream *s, const char *op, const char *what, const tlv_tensor *t)
{
    if (!t) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: %s: missing (NULL)", op, what);
        return 0;
    }
    if (t->dtype != TLV_F32 && t->dtype != TLV_F16 && t->dtype != TLV_BF16) {
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: %s: expected F32, F16 or BF16, found %s", op, what, tlv__dtype_name(t->dtype));
        return 0;
    }
    if (t->n_slabs < 1) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: %s: not allocated", op, what);
        return 0;
    }
    return 1;
}

/* A binding for bytes [off, off + bytes) of b: the binding starts at the aligned offset below
 * off; *first = elements (4 bytes) from the binding start to off. */
tlv_vk_binding tlv__op_bind_range(const tlv_vk_caps *c, const tlv_vk_buffer *b, uint64_t off, uint64_t bytes, int write,
                                 uint32_t *first)
{
    uint64_t align = c->min_storage_align ? c->min_storage_align : 256;
    uint64_t abs = b->offset + off;
    uint64_t start = abs / align * align;
    if (start < b->offset) start = b->offset; /* b->offset is itself aligned */
    tlv_vk_binding r;
    memset(&r, 0, sizeof r);
    r.buf = b;
    r.offset = start - b->offset;
    r.range = abs + bytes - start;
    r.write = write;
    *first = (uint32_t)((abs - start) / 4);
    return r;
}

int tlv__op_check_i32_range(tlv_stream *s, const char *op, const char *what, const tlv_vk_buffer *b, uint64_t off,
                           uint64_t count)
{
    if (!b || !b->buffer) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: %s: missing buffer", op, what);
        return 0;
    }
    if (off % 4 || off + 4 * count > b->size) {
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: %s: %llu int32 at byte %llu do not fit a buffer of %llu bytes (or the offset is not a multiple of 4)",
                         op, what, (unsigned long long)count, (unsigned long long)off, (unsigned long long)b->size);
        return 0;
    }
    return 1;
}
