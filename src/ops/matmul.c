/* matmul.c: the Linear layer y = act(x.w^T + bias) + residual (see matmul.h) and the roofline
 * probes. Shapes and dtypes are checked here; the shaders trust their push constants. */
#include "ops/matmul.h"

#include <stdint.h>
#include <string.h>

#include "ops/basic.h"
#include "dtype.h" /* shaders/dtype.h */

/* Field for field the Push block of shaders/matmul_common.glsl. */
struct matmul_push {
    uint32_t M, N, K;
    uint32_t x_off, x_stride;
    uint32_t y_off, y_stride;
    uint32_t bias_off, bias_dtype;
    uint32_t act, residual;
    uint32_t rows_per_wg, m_per_wg;
    uint32_t x_act;
    uint32_t w_scales;
};
_Static_assert(sizeof(struct matmul_push) <= 128, "matmul push constants");

struct probe_read_push {
    uint32_t n_words, words_per_wg;
};
_Static_assert(sizeof(struct probe_read_push) <= 128, "probe_read push constants");

struct probe_fma_push {
    uint32_t n_iter;
    float a, b;
};
_Static_assert(sizeof(struct probe_fma_push) <= 128, "probe_fma push constants");

#define MV_MAX_NM 8u /* x rows per matvec pass (registers: NM * R vec4 accumulators) */

/* ------------------------------------------------------------------------------------------
 * Tuning, per device. */

void tlv__matmul_tuning_default(const tlv_vk_caps *c, tlv_matmul_tuning *out)
{
    /* the device's tuning record (vk/tuning.c: the table row, fitted to the capabilities; why
     * each choice: docs/BENCHMARKS.md "Why the tuning table says what it says") */
    const tlv_vk_tuning *r = &c->tune;
    tlv_matmul_tuning t;
    memset(&t, 0, sizeof t);
    t.kernel = TLV_MATMUL_AUTO;
    t.mv_max_m = r->mv_max_m;
    t.mv_wg = r->mv_wg;
    t.mv_t = r->mv_t;
    t.mv_mode = r->mv_mode;
    t.mv_subgroup = r->mv_subgroup;
    t.mv_rows = r->mv_rows;
    t.mv_max_nm = r->mv_max_nm;
    t.mv_many_m = r->mv_many_m;
    t.mv_many_mode = r->mv_many_mode;
    t.mv_many_rows = r->mv_many_rows;
    t.mv_many_nm = r->mv_many_nm;
    t.mv_target_wgs = r->mv_target_wgs;
    t.loop_budget = r->loop_budget;
    t.bm = r->bm, t.bn = r->bn, t.bk = r->bk, t.tm = r->tm, t.tn = r->tn;
    t.texel = r->texel;
    t.mv_x_shuffle = r->mv_x_shuffle;
    *out = t;
}

static int pow2(uint32_t v)
{
    return v && (v & (v - 1)) == 0;
}

/* The rules of matmul.h for a tuning handed in. */
static int texel_views_ok(const tlv_vk_caps *c)
{
    return (c->texel_formats & (1u << TLV_TEXEL_RGBA32UI)) && c->max_texel_buffers >= 2 && c->min_texel_align <= 256;
}

/* the texel variants of matvec.comp also declare subgroup shuffles (X_SHUFFLE): a module may
 * only declare what the device supports, used or not */
static int texel_ok(const tlv_vk_caps *c)
{
    return texel_views_ok(c) && (c->subgroup_ops & TLV_SUBGROUP_SHUFFLE);
}

static int tuning_ok(const tlv_vk_caps *c, const tlv_matmul_tuning *t, int tiled)
{
    if (t->texel > 1 || (t->texel && !texel_ok(c))) return 0;
    if (t->mv_x_shuffle > 1 || (t->mv_x_shuffle && (!c->use_subgroups || !(c->subgroup_ops & TLV_SUBGROUP_SHUFFLE)))) return 0;
    if (tiled) {
        uint64_t wg = t->tm && t->tn ? (uint64_t)(t->bm / t->tm) * (t->bn / t->tn) : 0;
        return t->tm && t->tn && t->bk && t->bm % t->tm == 0 && t->bn % t->tn == 0 && wg >= 1 &&
               wg <= c->max_wg_invocations && wg <= c->max_wg_size[0] &&
               (uint64_t)t->bk * (t->bm + t->bn) * 4 <= c->max_shared_bytes;
    }
    if (!pow2(t->mv_t) || !t->mv_wg || t->mv_wg % t->mv_t || t->mv_wg > c->max_wg_invocations ||
        t->mv_rows < 1 || t->mv_rows > (t->mv_mode == 2 ? 8u : 4u) || !pow2(t->mv_max_nm) || t->mv_max_nm > MV_MAX_NM ||
        t->mv_wg > c->max_wg_size[0] || t->mv_mode > 2 ||
        (uint64_t)t->mv_wg * MV_MAX_NM * 4 > c->max_shared_bytes)
        return 0;
    if (t->mv_mode == 1 && (t->mv_t != 1 || t->mv_wg != 8 || c->subgroup_size != 8 || !c->use_subgroups ||
                            !(c->subgroup_ops & TLV_SUBGROUP_BALLOT)))
        return 0;
    if (t->mv_mode == 2 && t->mv_t != 1) return 0;
    if (t->mv_subgroup && (!c->use_subgroups || !(c->subgroup_ops & TLV_SUBGROUP_ARITH))) return 0;
    return 1;
}

/* ------------------------------------------------------------------------------------------
 * Checks */

static int check_alloc(tlv_stream *s, const char *op, const char *what, const tlv_tensor *t)
{
    if (t->n_slabs != 1) {
        tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: %s: expected one storage slab, found %d", op, what, t->n_slabs);
        return 0;
    }
    return 1;
}

static int known_dtype(tlv_dtype d)
{
    return d == TLV_F32 || d == TLV_F16 || d == TLV_BF16;
}

/* Weights may also be a block format (tensor.h: the device layout the kernels read). */
static int known_weight_dtype(tlv_dtype d)
{
    return known_dtype(d) || d == TLV_Q8_0 || d == TLV_Q4_0;
}

/* The byte range [lo, hi) of a tensor's first slab inside its VkBuffer. */
static void slab_span(const tlv_tensor *t, VkBuffer *buf, VkDeviceSize *lo, VkDeviceSize *hi)
{
    *buf = t->slabs[0].buffer;
    *lo = t->slabs[0].offset;
    *hi = t->slabs[0].offset + t->slabs[0].size;
}

static int same_storage(const tlv_tensor *a, const tlv_tensor *b)
{
    return a->slabs[0].buffer == b->slabs[0].buffer && a->slabs[0].offset == b->slabs[0].offset;
}

static int overlap(const tlv_tensor *a, const tlv_tensor *b)
{
    VkBuffer ba, bb;
    VkDeviceSize la, ha, lb, hb;
    slab_span(a, &ba, &la, &ha);
    slab_span(b, &bb, &lb, &hb);
    return ba == bb && la < hb && lb < ha;
}

static tlv_status get_pipeline(tlv_stream *s, const char *op, const char *shader, const uint32_t *spec, uint32_t n_spec,
                               uint32_t n_bindings, uint32_t texel_mask, uint32_t push_bytes, const tlv_vk_pipeline **out)
{
    tlv_err err;
    memset(&err, 0, sizeof err);
    tlv_status st = tlv__vk_pipeline_get_ex(tlv__stream_device(s), shader, spec, n_spec, n_bindings, texel_mask, push_bytes,
                                            out, &err);
    if (st != TLV_OK) return tlv__stream_fail(s, st, "%s: pipeline %s: %s", op, shader, err.msg);
    return TLV_OK;
}

/* Whether every slab of t fits one RGBA32UI view (slabs start aligned: memory.c). */
static int fits_texel(const tlv_vk_caps *c, const tlv_tensor *t)
{
    for (int i = 0; i < t->n_slabs; i++)
        if ((t->slabs[i].size + 15) / 16 > c->max_texel_elements || t->slabs[i].offset % c->min_texel_align) return 0;
    return 1;
}

/* ------------------------------------------------------------------------------------------
 * Recording */

static uint32_t div_up(uint64_t a, uint64_t b)
{
    return (uint32_t)((a + b - 1) / b);
}

/* Matvec work split for one slab of n rows: fills rows_per_wg, m_per_wg and the grid. */
static tlv_status matvec_split(tlv_stream *s, const char *op, const tlv_vk_caps *c, const tlv_matmul_tuning *t,
                               uint32_t M, uint32_t n, uint32_t K, uint32_t nm, int aligned, struct matmul_push *pc,
                               uint32_t *gx, uint32_t *gy)
{
    uint32_t rg = t->mv_wg / t->mv_t * t->mv_rows; /* weight rows per pass */
    uint32_t m_blocks = div_up(M, nm);           /* passes over the rows of x */
    uint32_t mb = m_blocks;                      /* of those, per workgroup */
    uint32_t rp = 1;                             /* row passes per workgroup */
    if (t->loop_budget) {
        /* k-loop iterations of one row pass (the loops over x rows are unrolled) */
        uint32_t k_iters = t->mv_mode == 1 && aligned ? K / 32 + K % 32 : aligned ? K / 8 : K;
        uint64_t pass = (uint64_t)k_iters + 4 + (t->mv_mode == 2 ? (uint64_t)nm * t->mv_rows : 0); /* + epilogue */
        if (pass > t->loop_budget)
            return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: K = %u is too long for this device's shader loop limit "
                                    "(%u iterations per invocation)", op, K, t->loop_budget);
        if ((uint64_t)mb * pass > t->loop_budget) mb = (uint32_t)(t->loop_budget / pass);
        mb = div_up(m_blocks, div_up(m_blocks, mb)); /* the same share for every row of workgroups */
        uint32_t gy_ = div_up(m_blocks, mb);
        rp = (uint32_t)(t->loop_budget / ((uint64_t)mb * pass));
        uint32_t passes = div_up(n, rg);
        uint32_t want_x = t->mv_target_wgs > gy_ ? div_up(t->mv_target_wgs, gy_) : 1;
        if (passes < want_x && mb > 1) {
            /* few weight rows (K/V projections at prefill): split the rows of x more */
            uint32_t want_y = div_up(t->mv_target_wgs, passes);
            if (div_up(m_blocks, want_y) < mb) mb = div_up(m_blocks, want_y);
            gy_ = div_up(m_blocks, mb);
            rp = (uint32_t)(t->loop_budget / ((uint64_t)mb * pass));
            want_x = t->mv_target_wgs > gy_ ? div_up(t->mv_target_wgs, gy_) : 1;
        }
        uint32_t even = div_up(passes, want_x); /* passes per workgroup that make want_x workgroups */
        if (even < rp) rp = even;
        if (rp < 1) rp = 1;
    }
    uint64_t rows_per_wg = (uint64_t)rg * rp;
    uint32_t mx = c->max_wg_count[0] ? c->max_wg_count[0] : 65535;
    while (div_up(n, rows_per_wg) > mx) rows_per_wg *= 2; /* no loop limit on such devices */
    uint32_t my = c->max_wg_count[1] ? c->max_wg_count[1] : 65535;
    if (div_up(m_blocks, mb) > my) mb = div_up(m_blocks, my);
    pc->rows_per_wg = (uint32_t)rows_per_wg;
    pc->m_per_wg = mb * nm;
    *gx = div_up(n, rows_per_wg);
    *gy = div_up(M, pc->m_per_wg);
    return TLV_OK;
}

/* The kernel and shapes for M rows of x on this device: tuning after the many-rows switch. */
static int pick_kernel(const tlv_vk_caps *c, const tlv_matmul_tuning *tune, uint64_t M, tlv_matmul_tuning *t)
{
    if (tune) *t = *tune;
    else tlv__matmul_tuning_default(c, t);
    int tiled = t->kernel == TLV_MATMUL_TILED || (t->kernel == TLV_MATMUL_AUTO && M > t->mv_max_m);
    if (!tiled && t->mv_many_m && M >= t->mv_many_m) {
        t->mv_mode = t->mv_many_mode;
        t->mv_rows = t->mv_many_rows;
        t->mv_max_nm = t->mv_many_nm;
    }
    return tiled;
}

/* gated >= 0: x is [M, 2K] = [gate | up] and the matvec kernel reads act(gate) * up (act =
 * gated); the caller has checked that the matvec kernel runs (tlv__op_matmul_gated). */
static tlv_status matmul_impl(tlv_stream *s, const tlv_tensor *x, int gated, const tlv_tensor *w, const tlv_tensor *bias,
                              const tlv_tensor *residual, tlv_act act, tlv_tensor *y, int64_t y_row0,
                              const tlv_matmul_tuning *tune)
{
    static const char op[] = "matmul";
    if (tlv__stream_status(s) != TLV_OK) return tlv__stream_status(s);
    if (!tlv__op_check_2d(s, op, "x", x, TLV_F32, -1, -1)) return tlv__stream_status(s);
    if (!w) return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: w: missing (NULL)", op);
    if (!known_weight_dtype(w->dtype))
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: w: expected F32, F16, BF16, Q8_0 or Q4_0, found %s", op,
                                tlv__dtype_name(w->dtype));
    int64_t K = gated >= 0 ? x->shape[1] / 2 : x->shape[1];
    if (!tlv__op_check_2d(s, op, "w", w, w->dtype, -1, K)) return tlv__stream_status(s);
    if (!tlv__op_check_2d(s, op, "y", y, TLV_F32, -1, w->shape[0])) return tlv__stream_status(s);
    if (!check_alloc(s, op, "x", x) || !check_alloc(s, op, "y", y)) return tlv__stream_status(s);
    int64_t M = x->shape[0], N = w->shape[0];
    if (y_row0 < 0 || y_row0 > y->shape[0] - M)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: y: rows [%lld, %lld) outside its %lld rows", op, (long long)y_row0,
                                (long long)(y_row0 + M), (long long)y->shape[0]);
    if (bias) {
        int64_t len = bias->ndim == 1 ? bias->shape[0] : bias->ndim == 2 && bias->shape[0] == 1 ? bias->shape[1] : -1;
        if (len != N || !known_dtype(bias->dtype))
            return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: bias: expected [%lld] (F32, F16 or BF16), found %s with %d dims "
                                    "[%lld, ...]", op, (long long)N, tlv__dtype_name(bias->dtype), bias->ndim,
                                    (long long)bias->shape[0]);
        if (!check_alloc(s, op, "bias", bias)) return tlv__stream_status(s);
    }
    int in_place = 0;
    if (residual) {
        in_place = residual == y || (residual->n_slabs >= 1 && same_storage(residual, y) &&
                                     residual->shape[0] == y->shape[0] && residual->shape[1] == y->shape[1]);
        if (!in_place) {
            if (!tlv__op_check_2d(s, op, "residual", residual, TLV_F32, M, N)) return tlv__stream_status(s);
            if (!check_alloc(s, op, "residual", residual)) return tlv__stream_status(s);
            if (overlap(residual, y))
                return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: residual overlaps y without being y", op);
        }
    }
    if (overlap(x, y)) return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: x and y overlap", op);
    if ((int)act < TLV_ACT_NONE || (int)act > TLV_ACT_SILU)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: unknown activation %d", op, (int)act);
    if (M > UINT32_MAX / 2 || N > UINT32_MAX / 2 || K > UINT32_MAX / 2 ||
        (uint64_t)y->shape[0] * (uint64_t)N > UINT32_MAX || (uint64_t)M * (uint64_t)x->shape[1] > UINT32_MAX ||
        (uint64_t)w->slab_rows * (uint64_t)K > UINT32_MAX)
        return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: shapes exceed 32-bit element indexing", op);

    const tlv_vk_caps *c = tlv__vk_device_caps(tlv__stream_device(s));
    tlv_matmul_tuning t;
    int tiled = pick_kernel(c, tune, (uint64_t)M, &t);
    if (gated >= 0 && tiled) return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: gated x needs the matvec kernel", op);
    if (!tuning_ok(c, &t, tiled))
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: tuning not valid on this device (matvec %u/%u/mode %u/sg %u, "
                                "tiles %ux%ux%u by %ux%u)", op, t.mv_wg, t.mv_t, t.mv_mode, t.mv_subgroup, t.bm, t.bn,
                                t.bk, t.tm, t.tn);
    int aligned = K % 8 == 0;
    /* x rows per matvec pass: 1, 2, 4 or 8 (fewer pipelines; a padded row is computed, not stored) */
    uint32_t nm = 1;
    while (nm < t.mv_max_nm && nm < (uint64_t)M) nm *= 2;

    /* A separate residual: y rows = residual, then add in place. */
    if (residual && !in_place)
        tlv__stream_copy(s, &residual->slabs[0], 0, &y->slabs[0], (VkDeviceSize)y_row0 * (VkDeviceSize)N * 4,
                         (VkDeviceSize)M * (VkDeviceSize)N * 4);

    /* x and w through texel views when asked and every view fits (else storage buffers) */
    int texel = t.texel && fits_texel(c, x) && fits_texel(c, w);
    uint32_t texel_mask = texel ? 0x3u : 0u;
    const tlv_vk_pipeline *pl = NULL;
    if (tiled) {
        uint32_t wg = (t.bm / t.tm) * (t.bn / t.tn);
        uint32_t spec[7] = {wg, t.bm, t.bn, t.bk, t.tm, t.tn, aligned && t.bk % 8 == 0};
        if (get_pipeline(s, op, tlv__op_matrix_shader(w->dtype, 1, texel), spec, 7, 4, texel_mask, sizeof(struct matmul_push), &pl))
            return tlv__stream_status(s);
    } else {
        /* X_SHUFFLE only where it does something (one pipeline fewer elsewhere): mode 1 (8-lane
         * workgroups = subgroups by its rules) and mode 2 in 8-lane workgroups of an 8-lane
         * subgroup (8 lanes x 4 elements = the 32-element step) */
        uint32_t shuffle = texel && t.mv_x_shuffle &&
                           (t.mv_mode == 1 || (t.mv_mode == 2 && t.mv_wg == 8 && c->subgroup_size == 8));
        uint32_t spec[9] = {t.mv_wg, t.mv_t, nm, t.mv_mode, t.mv_subgroup, (uint32_t)aligned, t.mv_rows, gated >= 0, shuffle};
        if (get_pipeline(s, op, tlv__op_matrix_shader(w->dtype, 0, texel), spec, 9, 4, texel_mask, sizeof(struct matmul_push), &pl))
            return tlv__stream_status(s);
    }

    /* y: bind just the rows written (aligned down to the offset alignment), so that the stream
     * does not order this against work on other rows of y. */
    VkDeviceSize align = c->min_storage_align > 16 ? c->min_storage_align : 16;
    VkDeviceSize y_first = (VkDeviceSize)y_row0 * (VkDeviceSize)N * 4;
    VkDeviceSize y_bind = y_first / align * align;
    VkDeviceSize y_end = y_first + (VkDeviceSize)M * (VkDeviceSize)N * 4;
    uint32_t y_base = (uint32_t)((y_first - y_bind) / 4); /* element of y[y_row0, 0] in the binding */

    for (int i = 0; i < w->n_slabs; i++) {
        int64_t n0 = (int64_t)i * w->slab_rows, n = tlv__tensor_slab_nrows(w, i);
        if (n <= 0) continue;
        struct matmul_push pc;
        memset(&pc, 0, sizeof pc);
        pc.M = (uint32_t)M;
        pc.N = (uint32_t)n;
        pc.K = (uint32_t)K;
        pc.x_off = 0;
        pc.x_stride = (uint32_t)x->shape[1];
        pc.x_act = gated >= 0 ? (uint32_t)gated : 0u;
        pc.y_off = y_base + (uint32_t)n0;
        pc.y_stride = (uint32_t)N;
        pc.bias_off = (uint32_t)n0;
        pc.bias_dtype = bias ? tlv__op_dtype_code(bias->dtype) : TLV_DT_NONE;
        pc.act = (uint32_t)act;
        pc.residual = residual ? 1u : 0u;
        pc.w_scales = (uint32_t)(tlv__tensor_block_scales_offset(w, i) / 16); /* 16-byte aligned (tensor.h) */
        uint32_t gx = 1, gy = 1;
        if (tiled) {
            gx = div_up((uint64_t)n, t.bn);
            gy = div_up((uint64_t)M, t.bm);
            if (gx > c->max_wg_count[0] || gy > c->max_wg_count[1])
                return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: %ux%u tiles exceed the device's workgroup count", op, gx, gy);
        } else if (matvec_split(s, op, c, &t, (uint32_t)M, (uint32_t)n, (uint32_t)K, nm, aligned, &pc, &gx, &gy)) {
            return tlv__stream_status(s);
        }
        tlv_vk_binding b[4];
        b[0] = tlv__tensor_binding(x, 0, 0);
        b[1] = tlv__tensor_binding(w, i, 0);
        b[2] = bias ? tlv__tensor_binding(bias, 0, 0) : tlv__tensor_binding(w, i, 0);
        b[3] = tlv__tensor_binding(y, 0, 1);
        if (texel) b[0].texel = b[1].texel = TLV_TEXEL_RGBA32UI;
        b[3].offset = y_bind;
        b[3].range = y_end - y_bind;
        tlv__stream_dispatch(s, pl, b, 4, &pc, sizeof pc, gx, gy, 1, tiled ? "matmul" : "matvec");
    }
    return tlv__stream_status(s);
}

tlv_status tlv__op_matmul_rows(tlv_stream *s, const tlv_tensor *x, const tlv_tensor *w, const tlv_tensor *bias,
                               const tlv_tensor *residual, tlv_act act, tlv_tensor *y, int64_t y_row0,
                               const tlv_matmul_tuning *tune)
{
    return matmul_impl(s, x, -1, w, bias, residual, act, y, y_row0, tune);
}

tlv_status tlv__op_matmul_gated(tlv_stream *s, tlv_act gate_act, const tlv_tensor *gu, tlv_tensor *f, const tlv_tensor *w,
                                const tlv_tensor *bias, const tlv_tensor *residual, tlv_act act, tlv_tensor *y,
                                const tlv_matmul_tuning *tune)
{
    static const char op[] = "matmul_gated";
    if (tlv__stream_status(s) != TLV_OK) return tlv__stream_status(s);
    if (!tlv__op_check_2d(s, op, "gu", gu, TLV_F32, -1, -1)) return tlv__stream_status(s);
    if (gu->shape[1] % 2)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: gu: expected an even number of columns ([gate | up]), found %lld", op,
                                (long long)gu->shape[1]);
    if (!tlv__op_check_2d(s, op, "f", f, TLV_F32, gu->shape[0], gu->shape[1] / 2)) return tlv__stream_status(s);
    if ((int)gate_act < TLV_ACT_NONE || (int)gate_act > TLV_ACT_SILU)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: unknown activation %d", op, (int)gate_act);
    tlv_matmul_tuning t;
    const tlv_vk_caps *c = tlv__vk_device_caps(tlv__stream_device(s));
    int tiled = pick_kernel(c, tune, (uint64_t)gu->shape[0], &t);
    /* Fused in mode 0 (GPUs: many threads share each x chunk and exp is cheap there; one dispatch
     * fewer per layer), and in mode 1 when x is traded by shuffles (lavapipe's decode): each lane
     * then makes act(gate) * up for its own 4 of every 32 elements, once per pass of 32 weight
     * rows. Qwen2-0.5B f16 tg128 in six pairs: 9.78 -> 9.87 tok/s on average (within the host's
     * noise; one dispatch fewer a layer). With x fetched lane-uniform every lane made all 32 and
     * it fell from 7.4 to 5.2 tok/s. Mode 2 and the tiled kernel re-read x per pass too: there
     * the product is made once, into f. */
    if (!tiled && (t.mv_mode == 0 || (t.mv_mode == 1 && t.mv_x_shuffle)))
        return matmul_impl(s, gu, (int)gate_act, w, bias, residual, act, y, 0, tune);
    tlv__op_gated(s, gate_act, gu, NULL, f);
    return matmul_impl(s, f, -1, w, bias, residual, act, y, 0, tune);
}

tlv_status tlv__op_matmul(tlv_stream *s, const tlv_tensor *x, const tlv_tensor *w, const tlv_tensor *bias,
                          const tlv_tensor *residual, tlv_act act, tlv_tensor *y)
{
    if (x && y && tlv__stream_status(s) == TLV_OK && x->ndim == 2 && y->ndim == 2 && y->shape[0] != x->shape[0])
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "matmul: y: expected %lld rows (as x), found %lld (use tlv__op_matmul_rows "
                                "to write a row range)", (long long)x->shape[0], (long long)y->shape[0]);
    return matmul_impl(s, x, -1, w, bias, residual, act, y, 0, NULL);
}

/* ------------------------------------------------------------------------------------------
 * Roofline probes */

tlv_status tlv__op_probe_read(tlv_stream *s, const tlv_vk_buffer *buf, uint64_t offset, uint64_t bytes,
                              uint32_t wg_size, uint32_t n_wg, int flags, const tlv_vk_buffer *dst)
{
    static const char op[] = "probe_read";
    if (tlv__stream_status(s) != TLV_OK) return tlv__stream_status(s);
    const tlv_vk_caps *c = tlv__vk_device_caps(tlv__stream_device(s));
    int texel = (flags & TLV_PROBE_TEXEL) != 0;
    if (!buf || !dst || bytes == 0 || bytes % 16 || offset > buf->size || bytes > buf->size - offset ||
        bytes / 16 > UINT32_MAX || wg_size == 0 || wg_size > c->max_wg_invocations || n_wg == 0 ||
        n_wg > c->max_wg_count[0] || (uint64_t)n_wg * wg_size * 4 > dst->size || (flags & ~3))
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: bad arguments (bytes %llu at %llu of a %llu-byte buffer, "
                                "%u x %u invocations, flags %d)", op, (unsigned long long)bytes, (unsigned long long)offset,
                                buf ? (unsigned long long)buf->size : 0ull, n_wg, wg_size, flags);
    if (texel && (!texel_views_ok(c) || bytes / 16 > c->max_texel_elements))
        return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: %s cannot read %llu bytes through an RGBA32UI texel buffer",
                                op, c->device_name, (unsigned long long)bytes);
    uint32_t spec[2] = {wg_size, (flags & TLV_PROBE_LANE_CONTIG) ? 1u : 0u};
    const tlv_vk_pipeline *pl = NULL;
    if (get_pipeline(s, op, texel ? "probe_read_tex" : "probe_read", spec, 2, 2, texel ? 1u : 0u,
                     sizeof(struct probe_read_push), &pl))
        return tlv__stream_status(s);
    struct probe_read_push pc = {(uint32_t)(bytes / 16), div_up(bytes / 16, n_wg)};
    tlv_vk_binding b[2] = {{buf, offset, bytes, 0, texel ? TLV_TEXEL_RGBA32UI : TLV_TEXEL_NONE}, {dst, 0, 0, 1, TLV_TEXEL_NONE}};
    return tlv__stream_dispatch(s, pl, b, 2, &pc, sizeof pc, n_wg, 1, 1, op);
}

tlv_status tlv__op_probe_fma(tlv_stream *s, uint32_t wg_size, uint32_t n_wg, uint32_t n_iter, const tlv_vk_buffer *dst)
{
    static const char op[] = "probe_fma";
    if (tlv__stream_status(s) != TLV_OK) return tlv__stream_status(s);
    const tlv_vk_caps *c = tlv__vk_device_caps(tlv__stream_device(s));
    if (!dst || wg_size == 0 || wg_size > c->max_wg_invocations || n_wg == 0 || n_wg > c->max_wg_count[0] ||
        n_iter == 0 || (uint64_t)n_wg * wg_size * 4 > dst->size)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: bad arguments (%u x %u invocations, %u iterations)", op, n_wg,
                                wg_size, n_iter);
    uint32_t spec[1] = {wg_size};
    const tlv_vk_pipeline *pl = NULL;
    if (get_pipeline(s, op, "probe_fma", spec, 1, 1, 0, sizeof(struct probe_fma_push), &pl)) return tlv__stream_status(s);
    /* a < 1 and b small keep the chains finite and away from denormals */
    struct probe_fma_push pc = {n_iter, 0.999f, 0.001f};
    tlv_vk_binding b[1] = {{dst, 0, 0, 1}};
    return tlv__stream_dispatch(s, pl, b, 1, &pc, sizeof pc, n_wg, 1, 1, op);
}

double tlv__probe_fma_flops(uint32_t wg_size, uint32_t n_wg, uint32_t n_iter)
{
    return 2.0 * 4.0 * 16.0 * (double)n_iter * (double)wg_size * (double)n_wg;
}
