/* basic.c: norms, elementwise, copies, embeddings, patch embedding, argmax / top-k (basic.h).
 *
 * Every op here walks rows: a tensor may be split into row slabs (tensor.h), so an op cuts its
 * row range into chunks that lie inside one slab of every tensor it touches (row_chunk), and
 * records one dispatch per chunk with the element offsets of the chunk's first row inside each
 * bound slab in the push constants. Unsplit tensors (the usual case) give one dispatch. */
#include "ops/basic.h"

#include <string.h>

#include "dtype.h" /* shaders/dtype.h */

/* ------------------------------------------------------------------ per-device shapes */

typedef struct basic_tune {
    uint32_t norm_wg;    /* invocations per normalised vector (power of two) */
    uint32_t ew_wg;      /* elementwise, cast */
    uint32_t ew_chunk;   /* elements per workgroup, at least */
    uint32_t ew_max_wgs; /* at most this many workgroups (0: no cap) */
    uint32_t embed_wg;
    uint32_t topk_wg;    /* power of two */
    uint32_t topk_chunk; /* elements per workgroup in top-k pass 1 */
    uint32_t topk_max_parts;
    uint32_t loop_budget; /* loop iterations one invocation may run, all loops together; 0: no limit */
    uint32_t topk_budget; /* the same for top-k, whose count below is already the worst case */
} basic_tune;

static uint32_t pow2_ceil(uint32_t v)
{
    uint32_t p = 1;
    while (p < v && p < (1u << 30)) p *= 2;
    return p;
}

static basic_tune tune(const tlv_vk_caps *c)
{
    /* the device's tuning record (vk/tuning.c; why: docs/BENCHMARKS.md "Why the tuning table
     * says what it says"); the loop budgets bound each invocation's share of the work under the
     * driver's loop limit (caps.max_loop_iterations, from the quirk table) */
    const tlv_vk_tuning *r = &c->tune;
    basic_tune t;
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

static const tlv_vk_caps *stream_caps(tlv_stream *s)
{
    return tlv__vk_device_caps(tlv__stream_device(s));
}

/* ------------------------------------------------------------------ row chunks */

/* Rows [row0, row0 + n) of a tensor seen as rows of `stride` elements starting at column col0.
 * bcast: a vector read by every row (one slab, offset 0, stride 0). */
typedef struct row_view {
    const tlv_tensor *t;
    int64_t row0, col0, stride;
    int bcast, write;
} row_view;

static row_view view_rows(const tlv_tensor *t, int64_t row0, int64_t col0, int write)
{
    row_view v = {t, row0, col0, tlv__tensor_row_elems(t), 0, write};
    return v;
}

/* For the chunk starting at op row r: each view's slab and element offset, and the number of
 * rows (<= max_rows) that stay inside all those slabs. */
typedef struct chunk_pos {
    int slab;
    uint64_t off; /* elements from the slab start */
} chunk_pos;

static int64_t row_chunk(const row_view *v, int n_v, int64_t r, int64_t max_rows, chunk_pos *pos)
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

static tlv_vk_binding bind(const row_view *v, const chunk_pos *p)
{
    return tlv__tensor_binding(v->t, p->slab, v->write);
}

static int fits_u32(uint64_t v)
{
    return v <= 0xffffffffull;
}

/* ------------------------------------------------------------------ norms */

struct norm_push {
    uint32_t n_vec, n, groups;
    uint32_t x_off, x_stride;
    uint32_t r_off, r_stride;
    uint32_t y_off, y_stride;
    float eps;
    uint32_t per_wg;
};
_Static_assert(sizeof(struct norm_push) <= 128, "push constants");

static tlv_status norm_record(tlv_stream *s, const char *op, tlv_norm_kind kind, row_view x, const row_view *res,
                              const tlv_tensor *w, const tlv_tensor *b, float eps, row_view y, int64_t rows,
                              int64_t n, int64_t groups)
{
    const tlv_vk_caps *c = stream_caps(s);
    basic_tune tu = tune(c);
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

    row_view v[3] = {x, res ? *res : x, y};
    if (!res) v[1].t = NULL;
    for (int64_t r = 0; r < rows;) {
        chunk_pos pos[3] = {{0, 0}, {0, 0}, {0, 0}};
        int64_t nr = row_chunk(v, 3, r, rows - r, pos);
        if (!fits_u32((uint64_t)(nr * groups)))
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
        bd[k++] = bind(&v[0], &pos[0]);
        if (res) {
            bd[k++] = bind(&v[1], &pos[1]);
            pc.r_off = (uint32_t)pos[1].off;
            pc.r_stride = (uint32_t)res->stride;
        }
        /* an absent w or b binds x again (read only; the shader does not touch it) */
        bd[k++] = w ? tlv__tensor_binding(w, 0, 0) : tlv__tensor_binding(x.t, pos[0].slab, 0);
        bd[k++] = b ? tlv__tensor_binding(b, 0, 0) : tlv__tensor_binding(x.t, pos[0].slab, 0);
        bd[k++] = bind(&v[2], &pos[2]);
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
    if (n < 1 || !fits_u32((uint64_t)n)) return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: x: bad row length %lld", op, (long long)n);
    if (rows == 0) return TLV_OK;
    if (!(eps >= 0.0f)) return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: eps must be >= 0, found %g", op, (double)eps);

    row_view vx = view_rows(x, 0, 0, res != NULL);
    row_view vy = view_rows(y, 0, 0, 1);
    if (res && stream_caps(s)->max_storage_buffers < 5) {
        /* the fused form binds 5 storage buffers; the spec minimum is 4 */
        st = tlv__op_add(s, x, res, x);
        if (st != TLV_OK) return st;
        vx.write = 0;
        return norm_record(s, op, kind, vx, NULL, w, b, eps, vy, rows, n, 1);
    }
    row_view vr;
    if (res) vr = view_rows(res, 0, 0, 0);
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
    row_view vx = view_rows(x, 0, col0, 0);
    row_view vy = view_rows(x, 0, col0, 1);
    return norm_record(s, op, kind, vx, NULL, w, NULL, eps, vy, x->shape[0], hd, n_head);
}

/* ------------------------------------------------------------------ elementwise */

enum { EW_ADD = 0, EW_MUL = 1, EW_SCALE = 2, EW_ACT = 3, EW_GATED = 4 };

struct ew_push {
    uint32_t total, n, per_wg;
    uint32_t a_off, a_stride;
    uint32_t b_off, b_stride;
    uint32_t y_off, y_stride;
    float scale;
};
_Static_assert(sizeof(struct ew_push) <= 128, "push constants");

/* Splits `total` units over workgroups of wg: per_wg (a multiple of wg) and the count. */
static void ew_split(const basic_tune *tu, uint32_t wg, uint64_t total, uint32_t *per_wg, uint32_t *n_wg)
{
    uint64_t n = (total + tu->ew_chunk - 1) / tu->ew_chunk;
    if (n < 1) n = 1;
    if (tu->ew_max_wgs && n > tu->ew_max_wgs) n = tu->ew_max_wgs;
    if (tu->loop_budget) {
        uint64_t per_budget = (uint64_t)wg * tu->loop_budget;
        if (n < (total + per_budget - 1) / per_budget) n = (total + per_budget - 1) / per_budget;
    }
    uint64_t per = (total + n - 1) / n;
    per = (per + wg - 1) / wg * wg;
    if (per < wg) per = wg;
    *per_wg = (uint32_t)per;
    *n_wg = (uint32_t)((total + per - 1) / per);
    if (*n_wg < 1) *n_wg = 1;
}

/* y = f(a, b) over rows x n. b.t NULL: no b. */
static tlv_status ew_record(tlv_stream *s, const char *op, uint32_t code, tlv_act act, row_view a, row_view b,
                            row_view y, int64_t rows, int64_t n, float scale)
{
    const tlv_vk_caps *c = stream_caps(s);
    basic_tune tu = tune(c);
    uint32_t lane_contig = c->tune.lane_contig;
    row_view v[3] = {a, b, y};
    for (int64_t r = 0; r < rows;) {
        chunk_pos pos[3] = {{0, 0}, {0, 0}, {0, 0}};
        int64_t nr = row_chunk(v, 3, r, rows - r, pos);
        /* 16-byte units when every row start is a multiple of 4 elements */
        int vec4 = n % 4 == 0 && a.stride % 4 == 0 && y.stride % 4 == 0 && pos[0].off % 4 == 0 && pos[2].off % 4 == 0 &&
                   (!b.t || (b.stride % 4 == 0 && pos[1].off % 4 == 0));
        uint32_t unit = vec4 ? 4 : 1;
        uint32_t spec[6] = {tu.ew_wg, code, (uint32_t)act, b.t ? tlv__op_dtype_code(b.t->dtype) : 0u, lane_contig,
                            (uint32_t)vec4};
        const tlv_vk_pipeline *p;
        tlv_status st = tlv__op_pipeline(s, op, "ew", spec, 6, 3, sizeof(struct ew_push), &p);
        if (st != TLV_OK) return st;
        uint64_t total = (uint64_t)nr * (uint64_t)n;
        if (!fits_u32(total + 0x10000))
            return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: %llu elements in one dispatch", op, (unsigned long long)total);
        struct ew_push pc = {0};
        pc.total = (uint32_t)total;
        pc.n = (uint32_t)n;
        pc.a_off = (uint32_t)pos[0].off;
        pc.a_stride = (uint32_t)a.stride;
        if (b.t) {
            pc.b_off = (uint32_t)pos[1].off;
            pc.b_stride = b.bcast ? 0 : (uint32_t)b.stride;
        }
        pc.y_off = (uint32_t)pos[2].off;
        pc.y_stride = (uint32_t)y.stride;
        pc.scale = scale;
        uint32_t n_wg, gx, gy, per_units;
        ew_split(&tu, tu.ew_wg, total / unit, &per_units, &n_wg);
        pc.per_wg = per_units * unit;
        tlv__op_grid(c, n_wg, &gx, &gy);
        tlv_vk_binding bd[3] = {bind(&v[0], &pos[0]), b.t ? bind(&v[1], &pos[1]) : tlv__tensor_binding(a.t, pos[0].slab, 0),
                                bind(&v[2], &pos[2])};
        st = tlv__stream_dispatch(s, p, bd, 3, &pc, sizeof pc, gx, gy, 1, op);
        if (st != TLV_OK) return st;
        r += nr;
    }
    return TLV_OK;
}

static const row_view no_view = {NULL, 0, 0, 0, 0, 0};

/* b for add / mul: [rows, n] of any float dtype, or a vector [n] broadcast over rows. */
static int check_b(tlv_stream *s, const char *op, const tlv_tensor *b, int64_t rows, int64_t n, row_view *out)
{
    if (!b) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: b: missing (NULL)", op);
        return 0;
    }
    int is_vec = b->ndim == 1 || (b->ndim == 2 && b->shape[0] == 1 && rows != 1);
    if (is_vec) {
        if (!tlv__op_check_vec(s, op, "b", b, n)) return 0;
        *out = view_rows(b, 0, 0, 0);
        out->bcast = 1;
        out->stride = 0;
        return 1;
    }
    /* any float dtype: the expected dtype is b's own unless it is not a float type */
    tlv_dtype dt = b->dtype == TLV_F16 || b->dtype == TLV_BF16 ? b->dtype : TLV_F32;
    if (!tlv__op_check_2d(s, op, "b", b, dt, rows, n)) return 0;
    *out = view_rows(b, 0, 0, 0);
    return 1;
}

static tlv_status binary(tlv_stream *s, const char *op, uint32_t code, const tlv_tensor *a, const tlv_tensor *b,
                         tlv_tensor *y)
{
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if (!tlv__op_check_2d(s, op, "a", a, TLV_F32, -1, -1)) return tlv__stream_status(s);
    int64_t rows = a->shape[0], n = a->shape[1];
    row_view vb;
    if (!check_b(s, op, b, rows, n, &vb)) return tlv__stream_status(s);
    if (!tlv__op_check_2d(s, op, "y", y, TLV_F32, rows, n)) return tlv__stream_status(s);
    if (rows == 0 || n == 0) return TLV_OK;
    return ew_record(s, op, code, TLV_ACT_NONE, view_rows(a, 0, 0, 0), vb, view_rows(y, 0, 0, 1), rows, n, 1.0f);
}

tlv_status tlv__op_add(tlv_stream *s, const tlv_tensor *a, const tlv_tensor *b, tlv_tensor *y)
{
    return binary(s, "add", EW_ADD, a, b, y);
}

tlv_status tlv__op_mul(tlv_stream *s, const tlv_tensor *a, const tlv_tensor *b, tlv_tensor *y)
{
    return binary(s, "mul", EW_MUL, a, b, y);
}

static tlv_status unary(tlv_stream *s, const char *op, uint32_t code, tlv_act act, const tlv_tensor *a, float scale,
                        tlv_tensor *y)
{
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if ((unsigned)act > TLV_ACT_SILU)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: act %d is not a tlv_act", op, (int)act);
    if (!tlv__op_check_2d(s, op, "a", a, TLV_F32, -1, -1)) return tlv__stream_status(s);
    if (!tlv__op_check_2d(s, op, "y", y, TLV_F32, a->shape[0], a->shape[1])) return tlv__stream_status(s);
    if (a->shape[0] == 0 || a->shape[1] == 0) return TLV_OK;
    return ew_record(s, op, code, act, view_rows(a, 0, 0, 0), no_view, view_rows(y, 0, 0, 1), a->shape[0],
                     a->shape[1], scale);
}

tlv_status tlv__op_scale(tlv_stream *s, const tlv_tensor *a, float scale, tlv_tensor *y)
{
    return unary(s, "scale", EW_SCALE, TLV_ACT_NONE, a, scale, y);
}

tlv_status tlv__op_act(tlv_stream *s, tlv_act act, const tlv_tensor *a, tlv_tensor *y)
{
    return unary(s, "act", EW_ACT, act, a, 1.0f, y);
}

tlv_status tlv__op_gated(tlv_stream *s, tlv_act act, const tlv_tensor *a, const tlv_tensor *b, tlv_tensor *y)
{
    const char *op = "gated";
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if ((unsigned)act > TLV_ACT_SILU)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: act %d is not a tlv_act", op, (int)act);
    if (!tlv__op_check_2d(s, op, "y", y, TLV_F32, -1, -1)) return tlv__stream_status(s);
    int64_t rows = y->shape[0], n = y->shape[1];
    row_view va, vb;
    if (b) {
        if (!tlv__op_check_2d(s, op, "a", a, TLV_F32, rows, n)) return tlv__stream_status(s);
        if (!tlv__op_check_2d(s, op, "b", b, TLV_F32, rows, n)) return tlv__stream_status(s);
        va = view_rows(a, 0, 0, 0);
        vb = view_rows(b, 0, 0, 0);
    } else {
        if (!tlv__op_check_2d(s, op, "a ([gate | up])", a, TLV_F32, rows, 2 * n)) return tlv__stream_status(s);
        va = view_rows(a, 0, 0, 0);
        vb = view_rows(a, 0, n, 0);
    }
    if (rows == 0 || n == 0) return TLV_OK;
    return ew_record(s, op, EW_GATED, act, va, vb, view_rows(y, 0, 0, 1), rows, n, 1.0f);
}

/* ------------------------------------------------------------------ copies */

struct cast_push {
    uint32_t n, x_off, y_off, per_wg;
};
_Static_assert(sizeof(struct cast_push) <= 128, "push constants");

/* rows x n elements of x (from row view x) to y, converting dtypes. */
static tlv_status cast_record(tlv_stream *s, const char *op, row_view x, row_view y, int64_t rows, int64_t n)
{
    const tlv_vk_caps *c = stream_caps(s);
    basic_tune tu = tune(c);
    uint32_t spec[3] = {tu.ew_wg, tlv__op_dtype_code(x.t->dtype), tlv__op_dtype_code(y.t->dtype)};
    const tlv_vk_pipeline *p;
    tlv_status st = tlv__op_pipeline(s, op, "cast", spec, 3, 2, sizeof(struct cast_push), &p);
    if (st != TLV_OK) return st;
    row_view v[2] = {x, y};
    for (int64_t r = 0; r < rows;) {
        chunk_pos pos[2] = {{0, 0}, {0, 0}};
        int64_t nr = row_chunk(v, 2, r, rows - r, pos);
        uint64_t total = (uint64_t)nr * (uint64_t)n;
        if (!fits_u32(total + 0x10000) || !fits_u32(pos[0].off + total) || !fits_u32(pos[1].off + total + 2))
            return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: %llu elements in one dispatch", op, (unsigned long long)total);
        uint64_t es = tlv__dtype_size(x.t->dtype);
        if (x.t->dtype == y.t->dtype && (pos[0].off * es) % 4 == 0 && (pos[1].off * es) % 4 == 0 && (total * es) % 4 == 0) {
            /* same dtype, word-aligned: a buffer copy (a memcpy on CPU devices) */
            st = tlv__stream_copy(s, &x.t->slabs[pos[0].slab], pos[0].off * es, &y.t->slabs[pos[1].slab], pos[1].off * es,
                                  total * es);
            if (st != TLV_OK) return st;
            r += nr;
            continue;
        }
        struct cast_push pc = {(uint32_t)total, (uint32_t)pos[0].off, (uint32_t)pos[1].off, 0};
        uint64_t units = y.t->dtype == TLV_F32 ? total : ((pos[1].off + total + 1) >> 1) - (pos[1].off >> 1);
        uint32_t n_wg, gx, gy;
        ew_split(&tu, tu.ew_wg, units, &pc.per_wg, &n_wg);
        tlv__op_grid(c, n_wg, &gx, &gy);
        tlv_vk_binding bd[2] = {bind(&v[0], &pos[0]), bind(&v[1], &pos[1])};
        st = tlv__stream_dispatch(s, p, bd, 2, &pc, sizeof pc, gx, gy, 1, op);
        if (st != TLV_OK) return st;
        r += nr;
    }
    return TLV_OK;
}

static int check_float_tensor(tlv_stream *s, const char *op, const char *what, const tlv_tensor *t)
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

tlv_status tlv__op_copy_rows(tlv_stream *s, const tlv_tensor *x, int64_t x_row0, tlv_tensor *y, int64_t y_row0,
                             int64_t n_rows)
{
    const char *op = "copy_rows";
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if (!check_float_tensor(s, op, "x", x) || !check_float_tensor(s, op, "y", y)) return tlv__stream_status(s);
    int64_t rl = tlv__tensor_row_elems(x);
    if (tlv__tensor_row_elems(y) != rl)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: rows of x have %lld elements, rows of y %lld", op, (long long)rl,
                                (long long)tlv__tensor_row_elems(y));
    if (n_rows < 0 || x_row0 < 0 || y_row0 < 0 || x_row0 + n_rows > x->shape[0] || y_row0 + n_rows > y->shape[0])
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: rows [%lld, +%lld) of x (%lld rows) to [%lld, +%lld) of y (%lld rows)",
                                op, (long long)x_row0, (long long)n_rows, (long long)x->shape[0], (long long)y_row0,
                                (long long)n_rows, (long long)y->shape[0]);
    if (n_rows == 0 || rl == 0) return TLV_OK;
    return cast_record(s, op, view_rows(x, x_row0, 0, 0), view_rows(y, y_row0, 0, 1), n_rows, rl);
}

tlv_status tlv__op_cast(tlv_stream *s, const tlv_tensor *x, tlv_tensor *y)
{
    const char *op = "cast";
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if (!check_float_tensor(s, op, "x", x) || !check_float_tensor(s, op, "y", y)) return tlv__stream_status(s);
    int64_t n = tlv__tensor_nelem(x);
    if (tlv__tensor_nelem(y) != n)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: x has %lld elements, y %lld", op, (long long)n,
                                (long long)tlv__tensor_nelem(y));
    if (n == 0) return TLV_OK;
    if (tlv__tensor_row_elems(x) == tlv__tensor_row_elems(y))
        return cast_record(s, op, view_rows(x, 0, 0, 0), view_rows(y, 0, 0, 1), x->shape[0], tlv__tensor_row_elems(x));
    if (x->n_slabs != 1 || y->n_slabs != 1)
        return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: reshaping a tensor split into slabs", op);
    row_view vx = {x, 0, 0, n, 0, 0}, vy = {y, 0, 0, n, 0, 1};
    vx.bcast = vy.bcast = 1; /* one flat row in slab 0 */
    return cast_record(s, op, vx, vy, 1, n);
}

/* ------------------------------------------------------------------ embeddings */

struct embed_push {
    uint32_t n_ids, hidden, vocab;
    uint32_t slab_row0, slab_rows;
    uint32_t id_off;
    uint32_t y_off, y_stride;
    float scale;
};
_Static_assert(sizeof(struct embed_push) <= 128, "push constants");

/* A binding for bytes [off, off + bytes) of b: the binding starts at the aligned offset below
 * off; *first = elements (4 bytes) from the binding start to off. */
static tlv_vk_binding bind_range(const tlv_vk_caps *c, const tlv_vk_buffer *b, uint64_t off, uint64_t bytes, int write,
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

static int check_i32_range(tlv_stream *s, const char *op, const char *what, const tlv_vk_buffer *b, uint64_t off,
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

tlv_status tlv__op_embed_rows(tlv_stream *s, const tlv_tensor *table, const tlv_vk_buffer *ids, uint64_t ids_off,
                              uint32_t n_ids, float scale, tlv_tensor *y, int64_t y_row0)
{
    const char *op = "embed_rows";
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if (!check_float_tensor(s, op, "table", table)) return tlv__stream_status(s);
    if (table->ndim != 2)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: table: expected [vocab, hidden], found %d dims", op, table->ndim);
    int64_t vocab = table->shape[0], hidden = table->shape[1];
    if (!tlv__op_check_2d(s, op, "y", y, TLV_F32, -1, hidden)) return tlv__stream_status(s);
    if (!check_i32_range(s, op, "ids", ids, ids_off, n_ids)) return tlv__stream_status(s);
    if (y_row0 < 0 || y_row0 + n_ids > y->shape[0])
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: rows [%lld, +%u) do not fit y's %lld rows", op, (long long)y_row0,
                                n_ids, (long long)y->shape[0]);
    if (vocab < 1 || !fits_u32((uint64_t)vocab) || hidden < 1)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: table: bad shape [%lld, %lld]", op, (long long)vocab, (long long)hidden);
    if (n_ids == 0) return TLV_OK;

    const tlv_vk_caps *c = stream_caps(s);
    basic_tune tu = tune(c);
    if (tu.loop_budget && (uint64_t)hidden / tu.embed_wg + 1 > tu.loop_budget)
        return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: rows of %lld elements are too long for this device", op,
                                (long long)hidden);
    uint32_t spec[2] = {tu.embed_wg, tlv__op_dtype_code(table->dtype)};
    const tlv_vk_pipeline *p;
    st = tlv__op_pipeline(s, op, "embed", spec, 2, 3, sizeof(struct embed_push), &p);
    if (st != TLV_OK) return st;
    row_view vy = view_rows(y, y_row0, 0, 1);
    for (int64_t r = 0; r < n_ids;) {
        chunk_pos py = {0, 0};
        int64_t nr = row_chunk(&vy, 1, r, n_ids - r, &py);
        uint32_t first;
        tlv_vk_binding bid = bind_range(c, ids, ids_off + 4 * (uint64_t)r, 4 * (uint64_t)nr, 0, &first);
        for (int sl = 0; sl < table->n_slabs; sl++) {
            struct embed_push pc = {0};
            pc.n_ids = (uint32_t)nr;
            pc.hidden = (uint32_t)hidden;
            pc.vocab = (uint32_t)vocab;
            pc.slab_row0 = (uint32_t)((int64_t)sl * table->slab_rows);
            pc.slab_rows = (uint32_t)tlv__tensor_slab_nrows(table, sl);
            pc.id_off = first;
            pc.y_off = (uint32_t)py.off;
            pc.y_stride = (uint32_t)hidden;
            pc.scale = scale;
            tlv_vk_binding bd[3] = {tlv__tensor_binding(table, sl, 0), bid, bind(&vy, &py)};
            uint32_t gx, gy;
            tlv__op_grid(c, (uint32_t)nr, &gx, &gy);
            st = tlv__stream_dispatch(s, p, bd, 3, &pc, sizeof pc, gx, gy, 1, op);
            if (st != TLV_OK) return st;
        }
        r += nr;
    }
    return TLV_OK;
}

/* ------------------------------------------------------------------ patch embedding */

struct patch_push {
    uint32_t n_rows, m0, n_cols, n0, K, P, img_h, img_w, gw, y_off, y_stride;
};
_Static_assert(sizeof(struct patch_push) <= 128, "push constants");

#define PATCH_TILE 32 /* TM = TN in patch_embed.comp */
#define PATCH_PM 32   /* PM in patch_embed_lanes.comp */
#define PATCH_PC 16   /* PC in patch_embed_lanes.comp */

tlv_status tlv__op_patch_embed(tlv_stream *s, const tlv_tensor *img, const tlv_tensor *w, const tlv_tensor *bias,
                               const tlv_tensor *cls, const tlv_tensor *pos, tlv_tensor *y)
{
    return tlv__op_patch_embed_kernel(s, img, w, bias, cls, pos, y, 0);
}

tlv_status tlv__op_patch_embed_kernel(tlv_stream *s, const tlv_tensor *img, const tlv_tensor *w,
                                      const tlv_tensor *bias, const tlv_tensor *cls, const tlv_tensor *pos,
                                      tlv_tensor *y, int kernel)
{
    const char *op = "patch_embed";
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if (!img || img->ndim != 3 || img->dtype != TLV_F32 || img->shape[0] != 3)
        return tlv__stream_fail(s, img ? TLV_ERR_SHAPE : TLV_ERR_INVALID_ARG, "%s: img: expected F32 [3, H, W]", op);
    if (img->n_slabs != 1)
        return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: img: expected one storage slab, found %d", op, img->n_slabs);
    if (!check_float_tensor(s, op, "w", w)) return tlv__stream_status(s);
    if (w->ndim != 4 || w->shape[1] != 3 || w->shape[2] != w->shape[3] || w->shape[2] < 1)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: w: expected [hidden, 3, P, P], found %d dims [%lld, %lld, ...]", op,
                                w->ndim, (long long)w->shape[0], (long long)w->shape[1]);
    int64_t hidden = w->shape[0], P = w->shape[2], H = img->shape[1], W = img->shape[2];
    int64_t gh = H / P, gw = W / P, c0 = cls ? 1 : 0, n_tok = c0 + gh * gw;
    if (gh < 1 || gw < 1)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: image %lldx%lld is smaller than the patch %lld", op, (long long)H,
                                (long long)W, (long long)P);
    if (bias && !tlv__op_check_vec(s, op, "bias", bias, hidden)) return tlv__stream_status(s);
    if (cls && !tlv__op_check_vec(s, op, "cls", cls, hidden)) return tlv__stream_status(s);
    if (pos) {
        if (!check_float_tensor(s, op, "pos", pos)) return tlv__stream_status(s);
        if (pos->ndim != 2 || pos->shape[0] != n_tok || pos->shape[1] != hidden)
            return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: pos: expected [%lld, %lld], found [%lld, %lld]", op,
                                    (long long)n_tok, (long long)hidden, (long long)pos->shape[0],
                                    (long long)(pos->ndim > 1 ? pos->shape[1] : 0));
    }
    if (!tlv__op_check_2d(s, op, "y", y, TLV_F32, n_tok, hidden)) return tlv__stream_status(s);

    const tlv_vk_caps *c = stream_caps(s);
    if (cls) {
        row_view vc = {cls, 0, 0, hidden, 1, 0}, vy0 = view_rows(y, 0, 0, 1);
        st = cast_record(s, op, vc, vy0, 1, hidden);
        if (st != TLV_OK) return st;
    }
    if (kernel == 0) kernel = c->tune.patch_kernel == 2 ? 2 : 1;
    uint32_t lane_wg = tune(c).ew_wg;
    uint32_t spec[3] = {kernel == 1 ? 64 : lane_wg, tlv__op_dtype_code(w->dtype),
                        bias ? tlv__op_dtype_code(bias->dtype) : TLV_DT_NONE};
    const tlv_vk_pipeline *p;
    st = tlv__op_pipeline(s, op, kernel == 1 ? "patch_embed" : "patch_embed_lanes", spec, 3, 4,
                          sizeof(struct patch_push), &p);
    if (st != TLV_OK) return st;
    row_view vy = view_rows(y, c0, 0, 1);
    int64_t M = gh * gw;
    for (int64_t r = 0; r < M;) {
        chunk_pos py = {0, 0};
        int64_t nr = row_chunk(&vy, 1, r, M - r, &py);
        for (int sl = 0; sl < w->n_slabs; sl++) {
            struct patch_push pc;
            pc.n_rows = (uint32_t)nr;
            pc.m0 = (uint32_t)r;
            pc.n_cols = (uint32_t)tlv__tensor_slab_nrows(w, sl);
            pc.n0 = (uint32_t)((int64_t)sl * w->slab_rows);
            pc.K = (uint32_t)(3 * P * P);
            pc.P = (uint32_t)P;
            pc.img_h = (uint32_t)H;
            pc.img_w = (uint32_t)W;
            pc.gw = (uint32_t)gw;
            pc.y_off = (uint32_t)py.off;
            pc.y_stride = (uint32_t)hidden;
            tlv_vk_binding bd[4] = {tlv__tensor_binding(img, 0, 0), tlv__tensor_binding(w, sl, 0),
                                    bias ? tlv__tensor_binding(bias, 0, 0) : tlv__tensor_binding(img, 0, 0),
                                    bind(&vy, &py)};
            uint32_t gx, gyn;
            if (kernel == 1) {
                gx = (uint32_t)((nr + PATCH_TILE - 1) / PATCH_TILE);
                gyn = (pc.n_cols + PATCH_TILE - 1) / PATCH_TILE;
            } else {
                gx = (uint32_t)((nr + PATCH_PM - 1) / PATCH_PM);
                gyn = (pc.n_cols + lane_wg * PATCH_PC - 1) / (lane_wg * PATCH_PC);
            }
            if (gx > c->max_wg_count[0] || gyn > c->max_wg_count[1])
                return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: grid %ux%u exceeds the device's limits", op, gx, gyn);
            st = tlv__stream_dispatch(s, p, bd, 4, &pc, sizeof pc, gx, gyn, 1, op);
            if (st != TLV_OK) return st;
        }
        r += nr;
    }
    if (pos) {
        row_view va = view_rows(y, 0, 0, 0), vb = view_rows(pos, 0, 0, 0), vo = view_rows(y, 0, 0, 1);
        return ew_record(s, op, EW_ADD, TLV_ACT_NONE, va, vb, vo, n_tok, hidden, 1.0f);
    }
    return TLV_OK;
}

/* ------------------------------------------------------------------ argmax / top-k */

struct topk_push {
    uint32_t n, k, parts, chunk;
    uint32_t x_off, x_stride;
    uint32_t s_row0, out_off, val_off;
};
_Static_assert(sizeof(struct topk_push) <= 128, "push constants");

#define TOPK_KMAX 64       /* KMAX in topk.comp */
#define TOPK_MAX_PARTS 256 /* MAX_PARTS in topk.comp */

/* Loop iterations of one invocation offering `offers` elements: each insertion shifts up to k
 * entries; then k merge rounds of a log2(wg)-step reduction. */
static uint64_t topk_iterations(uint64_t offers, uint32_t k, uint32_t wg)
{
    uint32_t steps = 1;
    while ((1u << steps) < wg) steps++;
    return offers * (k + 1) + (uint64_t)k * (steps + 2);
}

/* Workgroups per row in pass 1: enough to spread the row (topk_chunk each, at most
 * topk_max_parts), and more if the loop budget needs it. */
static uint32_t topk_parts(const basic_tune *tu, int64_t n, uint32_t k)
{
    int64_t parts = (n + tu->topk_chunk - 1) / tu->topk_chunk;
    if (parts > tu->topk_max_parts) parts = tu->topk_max_parts;
    if (parts < 1) parts = 1;
    while (tu->topk_budget && parts < n && parts <= TOPK_MAX_PARTS &&
           topk_iterations((uint64_t)((n + parts - 1) / parts + tu->topk_wg - 1) / tu->topk_wg, k, tu->topk_wg) >
               tu->topk_budget)
        parts++;
    return (uint32_t)parts;
}

uint64_t tlv__op_topk_scratch_bytes(const tlv_vk_device *d, int64_t rows, int64_t n, uint32_t k)
{
    basic_tune tu = tune(tlv__vk_device_caps(d));
    return (uint64_t)rows * topk_parts(&tu, n, k) * k * 8;
}

static tlv_status topk_record(tlv_stream *s, const char *op, const tlv_tensor *x, uint32_t k,
                              const tlv_vk_buffer *scratch, uint64_t scratch_off, const tlv_vk_buffer *idx,
                              uint64_t idx_off, tlv_tensor *values)
{
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if (!tlv__op_check_2d(s, op, "x", x, TLV_F32, -1, -1)) return tlv__stream_status(s);
    int64_t rows = x->shape[0], n = x->shape[1];
    if (k < 1 || k > TOPK_KMAX || (int64_t)k > n)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: k = %u, expected 1..%d and <= the row length %lld", op, k,
                                TOPK_KMAX, (long long)n);
    if (n > (1 << 24))
        return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: rows of %lld elements, at most %d", op, (long long)n, 1 << 24);
    const tlv_vk_caps *c = stream_caps(s);
    if (rows > c->max_wg_count[1])
        return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: %lld rows, at most %u", op, (long long)rows, c->max_wg_count[1]);
    if (!check_i32_range(s, op, "indices", idx, idx_off, (uint64_t)rows * k)) return tlv__stream_status(s);
    if (values && !tlv__op_check_2d(s, op, "values", values, TLV_F32, rows, k)) return tlv__stream_status(s);
    if (values && values->n_slabs != 1)
        return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: values: expected one storage slab", op);
    basic_tune tu = tune(c);
    uint32_t parts = topk_parts(&tu, n, k);
    /* pass 2: k rounds over ceil(parts / wg) list heads and a reduction */
    if (parts > TOPK_MAX_PARTS ||
        (tu.topk_budget && (uint64_t)k * ((parts + tu.topk_wg - 1) / tu.topk_wg + 16) > tu.topk_budget))
        return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: rows of %lld elements with k = %u are too long for this device", op,
                                (long long)n, k);
    uint64_t need = (uint64_t)rows * parts * k * 8;
    if (!scratch || !scratch->buffer || scratch_off % (c->min_storage_align ? c->min_storage_align : 1) ||
        scratch_off + need > scratch->size || need > c->max_storage_range)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG,
                                "%s: scratch: expected %llu bytes at an offset aligned to %u, found %llu at %llu", op,
                                (unsigned long long)need, c->min_storage_align,
                                (unsigned long long)(scratch ? scratch->size : 0), (unsigned long long)scratch_off);
    if (rows == 0) return TLV_OK;
    uint32_t chunk = (uint32_t)((n + parts - 1) / parts);

    uint32_t spec1[3] = {tu.topk_wg, 1, 0};
    const tlv_vk_pipeline *p1, *p2;
    st = tlv__op_pipeline(s, op, "topk", spec1, 3, 3, sizeof(struct topk_push), &p1);
    if (st != TLV_OK) return st;
    uint32_t spec2[3] = {tu.topk_wg, 2, values ? 1u : 0u};
    st = tlv__op_pipeline(s, op, "topk", spec2, 3, 3, sizeof(struct topk_push), &p2);
    if (st != TLV_OK) return st;

    tlv_vk_binding bs_w, bs_r;
    memset(&bs_w, 0, sizeof bs_w);
    bs_w.buf = scratch;
    bs_w.offset = scratch_off;
    bs_w.range = need;
    bs_w.write = 1;
    bs_r = bs_w;
    bs_r.write = 0;
    row_view vx = view_rows(x, 0, 0, 0);
    for (int64_t r = 0; r < rows;) {
        chunk_pos px = {0, 0};
        int64_t nr = row_chunk(&vx, 1, r, rows - r, &px);
        struct topk_push pc = {(uint32_t)n, k, parts, chunk, (uint32_t)px.off, (uint32_t)n, (uint32_t)r, 0, 0};
        tlv_vk_binding bd[3] = {bind(&vx, &px), bs_w, bs_r};
        st = tlv__stream_dispatch(s, p1, bd, 3, &pc, sizeof pc, parts, (uint32_t)nr, 1, op);
        if (st != TLV_OK) return st;
        r += nr;
    }
    uint32_t first;
    tlv_vk_binding bi = bind_range(c, idx, idx_off, (uint64_t)rows * k * 4, 1, &first);
    struct topk_push pc = {parts * k, k, parts, 0, 0, 0, 0, first, 0};
    tlv_vk_binding bd[3] = {bs_r, bi, bi};
    if (values) bd[2] = tlv__tensor_binding(values, 0, 1);
    else bd[2].write = 0;
    return tlv__stream_dispatch(s, p2, bd, 3, &pc, sizeof pc, 1, (uint32_t)rows, 1, op);
}

tlv_status tlv__op_topk(tlv_stream *s, const tlv_tensor *x, uint32_t k, const tlv_vk_buffer *scratch,
                        uint64_t scratch_off, const tlv_vk_buffer *idx, uint64_t idx_off, tlv_tensor *values)
{
    return topk_record(s, "topk", x, k, scratch, scratch_off, idx, idx_off, values);
}

tlv_status tlv__op_argmax(tlv_stream *s, const tlv_tensor *x, const tlv_vk_buffer *scratch, uint64_t scratch_off,
                          const tlv_vk_buffer *idx, uint64_t idx_off)
{
    return topk_record(s, "argmax", x, 1, scratch, scratch_off, idx, idx_off, NULL);
}
