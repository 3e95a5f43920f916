/* norm.c: LayerNorm, RMSNorm and per-head RMSNorm, optionally fused with the residual add
 * (norm.h; shaders/norm*.comp). Rows are walked in slab chunks (ops.h, tlv__op_row_chunk). */
#include "ops/norm.h"

#include "dtype.h" /* shaders/dtype.h */
#include "ops/elementwise.h"

/* ------------------------------------------------------------------ norms */

static uint32_t pow2_ceil(uint32_t v)
{
    uint32_t p = 1;
    while (p < v && p < (1u << 30)) p *= 2;
    return p;
}

struct norm_push {
    uint32_t n_vec, n, groups;
    uint32_t x_off, x_stride;
    uint32_t r_off, r_stride;
    uint32_t y_off, y_stride;
    float eps;
    uint32_t per_wg;
};
_Static_assert(sizeof(struct norm_push) <= 128, "push constants");

static tlv_status norm_record(tlv_stream *s, const char *op, tlv_norm_kind kind, tlv_row_view x, const tlv_row_view *res,
                              const tlv_tensor *w, const tlv_tensor *b, float eps, tlv_row_view y, int64_t rows,
                              int64_t n, int64_t groups)
{
    const tlv_vk_caps *c = tlv__op_caps(s);
    tlv_op_tune tu = tlv__op_tune(c);
    uint32_t wg = tu.norm_wg;
    uint32_t small = pow2_ceil((uint32_t)(n < 32 ? 32 : n > 4096 ? 4096 : n));
    if (c->tune.norm_shrink && small < wg) wg = small;
    /* three passes over the vector (LayerNorm), a few reduction steps */
    while (tu.loop_budget && 3 * ((uint64_t)n + wg - 1) / wg + 64 > tu.loop_budget && wg < 1024) wg *= 2;
    if (wg > c->max_wg_invocations || wg > c->max_wg_size[0])
        return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: vectors of %lld elements are too long for this device", op,
                                (long long)n);
    int sg = c->use_subgroups && (c->subgroup_ops & TLV_SUBGROUP_ARITH);
    const char *shader = res ? (sg ? "norm_res_sg" : "norm_res") : (sg ? "norm_sg" : "norm");
    /* 16-byte units when every vector starts at a multiple of 4 elements (row starts are
     * row * stride + col0 from a slab start) */
    int vec4 = n % 4 == 0 && x.stride % 4 == 0 && x.col0 % 4 == 0 && y.stride % 4 == 0 && y.col0 % 4 == 0 &&
               (!res || (res->stride % 4 == 0 && res->col0 % 4 == 0));
    uint32_t spec[6] = {wg, (uint32_t)kind, w ? tlv__op_dtype_code(w->dtype) : TLV_DT_NONE, b ? tlv__op_dtype_code(b->dtype) : TLV_DT_NONE,
                        c->tune.lane_contig, (uint32_t)vec4};
    const tlv_vk_pipeline *p;
    uint32_t n_b = res ? 5 : 4;
    tlv_status st = tlv__op_pipeline(s, op, shader, spec, 6, n_b, sizeof(struct norm_push), &p);
    if (st != TLV_OK) return st;

    tlv_row_view v[3] = {x, res ? *res : x, y};
    if (!res) v[1].t = NULL;
    for (int64_t r = 0; r < rows;) {
        tlv_chunk_pos pos[3] = {{0, 0}, {0, 0}, {0, 0}};
        int64_t nr = tlv__op_row_chunk(v, 3, r, rows - r, pos);
        if (!tlv__op_fits_u32((uint64_t)(nr * groups)))
            return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: %lld vectors in one dispatch", op, (long long)(nr * groups));
        struct norm_push pc = {0};
        pc.n_vec = (uint32_t)(nr * groups);
        pc.n = (uint32_t)n;
        pc.groups = (uint32_t)groups;
        pc.x_off = (uint32_t)pos[0].off;
        pc.x_stride = (uint32_t)x.stride;
        pc.y_off = (uint32_t)pos[2].off;
        pc.y_stride = (uint32_t)y.stride;
        pc.eps = eps;
        /* about tune.norm_target_wgs workgroups (CPU devices), each looping over its vectors
         * within the loop budget; else one vector a workgroup */
        uint64_t per = 1;
        if (c->tune.norm_target_wgs) {
            uint64_t iters = 3 * ((uint64_t)n + wg - 1) / wg + 64; /* one vector */
            uint64_t max_per = tu.loop_budget ? tu.loop_budget / iters : pc.n_vec;
            per = (pc.n_vec + c->tune.norm_target_wgs - 1) / c->tune.norm_target_wgs;
            if (per > max_per) per = max_per;
            if (per < 1) per = 1;
        }
        pc.per_wg = (uint32_t)per;
        tlv_vk_binding bd[5];
        uint32_t k = 0;
        bd[k++] = tlv__op_bind(&v[0], &pos[0]);
        if (res) {
            bd[k++] = tlv__op_bind(&v[1], &pos[1]);
            pc.r_off = (uint32_t)pos[1].off;
            pc.r_stride = (uint32_t)res->stride;
        }
        /* an absent w or b binds x again (read only; the shader does not touch it) */
        bd[k++] = w ? tlv__tensor_binding(w, 0, 0) : tlv__tensor_binding(x.t, pos[0].slab, 0);
        bd[k++] = b ? tlv__tensor_binding(b, 0, 0) : tlv__tensor_binding(x.t, pos[0].slab, 0);
        bd[k++] = tlv__op_bind(&v[2], &pos[2]);
        uint32_t gx, gy;
        tlv__op_grid(c, (uint32_t)((pc.n_vec + per - 1) / per), &gx, &gy);
        st = tlv__stream_dispatch(s, p, bd, k, &pc, sizeof pc, gx, gy, 1, op);
        if (st != TLV_OK) return st;
        r += nr;
    }
    return TLV_OK;
}

tlv_status tlv__op_norm(tlv_stream *s, tlv_norm_kind kind, tlv_tensor *x, const tlv_tensor *res,
                        const tlv_tensor *w, const tlv_tensor *b, float eps, tlv_tensor *y)
{
    static const char *names[] = {"layernorm", "rmsnorm", "rmsnorm(1+w)"};
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if ((unsigned)kind > TLV_NORM_RMS_1P)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "norm: kind %d is not a tlv_norm_kind", (int)kind);
    const char *op = names[kind];
    if (!tlv__op_check_2d(s, op, "x", x, TLV_F32, -1, -1)) return tlv__stream_status(s);
    int64_t rows = x->shape[0], n = x->shape[1];
    if (!tlv__op_check_2d(s, op, "y", y, TLV_F32, rows, n)) return tlv__stream_status(s);
    if (res && !tlv__op_check_2d(s, op, "res", res, TLV_F32, rows, n)) return tlv__stream_status(s);
    if (w && !tlv__op_check_vec(s, op, "w", w, n)) return tlv__stream_status(s);
    if (b && !tlv__op_check_vec(s, op, "b", b, n)) return tlv__stream_status(s);
    if (b && kind != TLV_NORM_LAYER)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: a bias is only for LayerNorm", op);
    if (n < 1 || !tlv__op_fits_u32((uint64_t)n)) return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: x: bad row length %lld", op, (long long)n);
    if (rows == 0) return TLV_OK;
    if (!(eps >= 0.0f)) return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: eps must be >= 0, found %g", op, (double)eps);

    tlv_row_view vx = tlv__op_view_rows(x, 0, 0, res != NULL);
    tlv_row_view vy = tlv__op_view_rows(y, 0, 0, 1);
    if (res && tlv__op_caps(s)->max_storage_buffers < 5) {
        /* the fused form binds 5 storage buffers; the spec minimum is 4 */
        st = tlv__op_add(s, x, res, x);
        if (st != TLV_OK) return st;
        vx.write = 0;
        return norm_record(s, op, kind, vx, NULL, w, b, eps, vy, rows, n, 1);
    }
    tlv_row_view vr;
    if (res) vr = tlv__op_view_rows(res, 0, 0, 0);
    return norm_record(s, op, kind, vx, res ? &vr : NULL, w, b, eps, vy, rows, n, 1);
}

tlv_status tlv__op_norm_heads(tlv_stream *s, tlv_norm_kind kind, tlv_tensor *x, int64_t col0, int64_t n_head,
                              const tlv_tensor *w, float eps)
{
    const char *op = "norm_heads";
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if (kind != TLV_NORM_RMS && kind != TLV_NORM_RMS_1P)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: kind must be RMS or RMS_1P, found %d", op, (int)kind);
    if (!tlv__op_check_2d(s, op, "x", x, TLV_F32, -1, -1)) return tlv__stream_status(s);
    if (!tlv__op_check_vec(s, op, "w", w, -1)) return tlv__stream_status(s);
    int64_t hd = tlv__tensor_nelem(w);
    if (col0 < 0 || n_head < 1 || col0 + n_head * hd > x->shape[1])
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: columns [%lld, %lld + %lld x %lld) do not fit x's %lld", op,
                                (long long)col0, (long long)col0, (long long)n_head, (long long)hd,
                                (long long)x->shape[1]);
    if (x->shape[0] == 0) return TLV_OK;
    tlv_row_view vx = tlv__op_view_rows(x, 0, col0, 0);
    tlv_row_view vy = tlv__op_view_rows(x, 0, col0, 1);
    return norm_record(s, op, kind, vx, NULL, w, NULL, eps, vy, x->shape[0], hd, n_head);
}