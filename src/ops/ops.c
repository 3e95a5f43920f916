/* ops.c: checks and small helpers shared by the op files (ops.h). */
#include "ops/ops.h"

#include <stdio.h>

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
