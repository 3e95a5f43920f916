/* copy.c: dtype casts and row copies (copy.h; shaders/cast.comp, or a buffer copy when the
 * dtypes match). Rows are walked in slab chunks (ops.h, tlv__op_row_chunk). */
#include "ops/copy.h"

#include "ops/elementwise.h"

/* ------------------------------------------------------------------ copies */

struct cast_push {
    uint32_t n, x_off, y_off, per_wg;
};
_Static_assert(sizeof(struct cast_push) <= 128, "push constants");

/* rows x n elements of x (from row view x) to y, converting dtypes. */
tlv_status tlv__op_cast_record(tlv_stream *s, const char *op, tlv_row_view x, tlv_row_view y, int64_t rows, int64_t n)
{
    const tlv_vk_caps *c = tlv__op_caps(s);
    tlv_op_tune tu = tlv__op_tune(c);
    uint32_t spec[3] = {tu.ew_wg, tlv__op_dtype_code(x.t->dtype), tlv__op_dtype_code(y.t->dtype)};
    const tlv_vk_pipeline *p;
    tlv_status st = tlv__op_pipeline(s, op, "cast", spec, 3, 2, sizeof(struct cast_push), &p);
    if (st != TLV_OK) return st;
    tlv_row_view v[2] = {x, y};
    for (int64_t r = 0; r < rows;) {
        tlv_chunk_pos pos[2] = {{0, 0}, {0, 0}};
        int64_t nr = tlv__op_row_chunk(v, 2, r, rows - r, pos);
        uint64_t total = (uint64_t)nr * (uint64_t)n;
        if (!tlv__op_fits_u32(total + 0x10000) || !tlv__op_fits_u32(pos[0].off + total) || !tlv__op_fits_u32(pos[1].off + total + 2))
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
        tlv__op_ew_split(&tu, tu.ew_wg, units, &pc.per_wg, &n_wg);
        tlv__op_grid(c, n_wg, &gx, &gy);
        tlv_vk_binding bd[2] = {tlv__op_bind(&v[0], &pos[0]), tlv__op_bind(&v[1], &pos[1])};
        st = tlv__stream_dispatch(s, p, bd, 2, &pc, sizeof pc, gx, gy, 1, op);
        if (st != TLV_OK) return st;
        r += nr;
    }
    return TLV_OK;
}

tlv_status tlv__op_copy_rows(tlv_stream *s, const tlv_tensor *x, int64_t x_row0, tlv_tensor *y, int64_t y_row0,
                             int64_t n_rows)
{
    const char *op = "copy_rows";
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if (!tlv__op_check_float(s, op, "x", x) || !tlv__op_check_float(s, op, "y", y)) return tlv__stream_status(s);
    int64_t rl = tlv__tensor_row_elems(x);
    if (tlv__tensor_row_elems(y) != rl)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: rows of x have %lld elements, rows of y %lld", op, (long long)rl,
                                (long long)tlv__tensor_row_elems(y));
    if (n_rows < 0 || x_row0 < 0 || y_row0 < 0 || x_row0 + n_rows > x->shape[0] || y_row0 + n_rows > y->shape[0])
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: rows [%lld, +%lld) of x (%lld rows) to [%lld, +%lld) of y (%lld rows)",
                                op, (long long)x_row0, (long long)n_rows, (long long)x->shape[0], (long long)y_row0,
                                (long long)n_rows, (long long)y->shape[0]);
    if (n_rows == 0 || rl == 0) return TLV_OK;
    return tlv__op_cast_record(s, op, tlv__op_view_rows(x, x_row0, 0, 0), tlv__op_view_rows(y, y_row0, 0, 1), n_rows, rl);
}

tlv_status tlv__op_cast(tlv_stream *s, const tlv_tensor *x, tlv_tensor *y)
{
    const char *op = "cast";
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if (!tlv__op_check_float(s, op, "x", x) || !tlv__op_check_float(s, op, "y", y)) return tlv__stream_status(s);
    int64_t n = tlv__tensor_nelem(x);
    if (tlv__tensor_nelem(y) != n)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: x has %lld elements, y %lld", op, (long long)n,
                                (long long)tlv__tensor_nelem(y));
    if (n == 0) return TLV_OK;
    if (tlv__tensor_row_elems(x) == tlv__tensor_row_elems(y))
        return tlv__op_cast_record(s, op, tlv__op_view_rows(x, 0, 0, 0), tlv__op_view_rows(y, 0, 0, 1), x->shape[0], tlv__tensor_row_elems(x));
    if (x->n_slabs != 1 || y->n_slabs != 1)
        return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: reshaping a tensor split into slabs", op);
    tlv_row_view vx = {x, 0, 0, n, 0, 0}, vy = {y, 0, 0, n, 0, 1};
    vx.bcast = vy.bcast = 1; /* one flat row in slab 0 */
    return tlv__op_cast_record(s, op, vx, vy, 1, n);
}