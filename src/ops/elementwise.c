/* elementwise.c: add, mul, scale, activations and gated activations (elementwise.h;
 * shaders/ew.comp). Rows are walked in slab chunks (ops.h, tlv__op_row_chunk). */
#include "ops/elementwise.h"

/* ------------------------------------------------------------------ elementwise */

struct ew_push {
    uint32_t total, n, per_wg;
    uint32_t a_off, a_stride;
    uint32_t b_off, b_stride;
    uint32_t y_off, y_stride;
    float scale;
};
_Static_assert(sizeof(struct ew_push) <= 128, "push constants");

/* Splits `total` units over workgroups of wg: per_wg (a multiple of wg) and the count. */
void tlv__op_ew_split(const tlv_op_tune *tu, uint32_t wg, uint64_t total, uint32_t *per_wg, uint32_t *n_wg)
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
tlv_status tlv__op_ew_record(tlv_stream *s, const char *op, uint32_t code, tlv_act act, tlv_row_view a, tlv_row_view b,
                            tlv_row_view y, int64_t rows, int64_t n, float scale)
{
    const tlv_vk_caps *c = tlv__op_caps(s);
    tlv_op_tune tu = tlv__op_tune(c);
    uint32_t lane_contig = c->tune.lane_contig;
    tlv_row_view v[3] = {a, b, y};
    for (int64_t r = 0; r < rows;) {
        tlv_chunk_pos pos[3] = {{0, 0}, {0, 0}, {0, 0}};
        int64_t nr = tlv__op_row_chunk(v, 3, r, rows - r, pos);
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
        if (!tlv__op_fits_u32(total + 0x10000))
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
        tlv__op_ew_split(&tu, tu.ew_wg, total / unit, &per_units, &n_wg);
        pc.per_wg = per_units * unit;
        tlv__op_grid(c, n_wg, &gx, &gy);
        tlv_vk_binding bd[3] = {tlv__op_bind(&v[0], &pos[0]), b.t ? tlv__op_bind(&v[1], &pos[1]) : tlv__tensor_binding(a.t, pos[0].slab, 0),
                                tlv__op_bind(&v[2], &pos[2])};
        st = tlv__stream_dispatch(s, p, bd, 3, &pc, sizeof pc, gx, gy, 1, op);
        if (st != TLV_OK) return st;
        r += nr;
    }
    return TLV_OK;
}

static const tlv_row_view no_view = {NULL, 0, 0, 0, 0, 0};

/* b for add / mul: [rows, n] of any float dtype, or a vector [n] broadcast over rows. */
static int check_b(tlv_stream *s, const char *op, const tlv_tensor *b, int64_t rows, int64_t n, tlv_row_view *out)
{
    if (!b) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: b: missing (NULL)", op);
        return 0;
    }
    int is_vec = b->ndim == 1 || (b->ndim == 2 && b->shape[0] == 1 && rows != 1);
    if (is_vec) {
        if (!tlv__op_check_vec(s, op, "b", b, n)) return 0;
        *out = tlv__op_view_rows(b, 0, 0, 0);
        out->bcast = 1;
        out->stride = 0;
        return 1;
    }
    /* any float dtype: the expected dtype is b's own unless it is not a float type */
    tlv_dtype dt = b->dtype == TLV_F16 || b->dtype == TLV_BF16 ? b->dtype : TLV_F32;
    if (!tlv__op_check_2d(s, op, "b", b, dt, rows, n)) return 0;
    *out = tlv__op_view_rows(b, 0, 0, 0);
    return 1;
}

static tlv_status binary(tlv_stream *s, const char *op, uint32_t code, const tlv_tensor *a, const tlv_tensor *b,
                         tlv_tensor *y)
{
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if (!tlv__op_check_2d(s, op, "a", a, TLV_F32, -1, -1)) return tlv__stream_status(s);
    int64_t rows = a->shape[0], n = a->shape[1];
    tlv_row_view vb;
    if (!check_b(s, op, b, rows, n, &vb)) return tlv__stream_status(s);
    if (!tlv__op_check_2d(s, op, "y", y, TLV_F32, rows, n)) return tlv__stream_status(s);
    if (rows == 0 || n == 0) return TLV_OK;
    return tlv__op_ew_record(s, op, code, TLV_ACT_NONE, tlv__op_view_rows(a, 0, 0, 0), vb, tlv__op_view_rows(y, 0, 0, 1), rows, n, 1.0f);
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
    return tlv__op_ew_record(s, op, code, act, tlv__op_view_rows(a, 0, 0, 0), no_view, tlv__op_view_rows(y, 0, 0, 1), a->shape[0],
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
    tlv_row_view va, vb;
    if (b) {
        if (!tlv__op_check_2d(s, op, "a", a, TLV_F32, rows, n)) return tlv__stream_status(s);
        if (!tlv__op_check_2d(s, op, "b", b, TLV_F32, rows, n)) return tlv__stream_status(s);
        va = tlv__op_view_rows(a, 0, 0, 0);
        vb = tlv__op_view_rows(b, 0, 0, 0);
    } else {
        if (!tlv__op_check_2d(s, op, "a ([gate | up])", a, TLV_F32, rows, 2 * n)) return tlv__stream_status(s);
        va = tlv__op_view_rows(a, 0, 0, 0);
        vb = tlv__op_view_rows(a, 0, n, 0);
    }
    if (rows == 0 || n == 0) return TLV_OK;
    return tlv__op_ew_record(s, op, EW_GATED, act, va, vb, tlv__op_view_rows(y, 0, 0, 1), rows, n, 1.0f);
}