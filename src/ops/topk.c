/* topk.c: argmax and top-k over rows (topk.h; shaders/topk.comp, two passes). */
#include "ops/topk.h"

#include <string.h>

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
static uint32_t topk_parts(const tlv_op_tune *tu, int64_t n, uint32_t k)
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
    tlv_op_tune tu = tlv__op_tune(tlv__vk_device_caps(d));
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
    const tlv_vk_caps *c = tlv__op_caps(s);
    if (rows > c->max_wg_count[1])
        return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: %lld rows, at most %u", op, (long long)rows, c->max_wg_count[1]);
    if (!tlv__op_check_i32_range(s, op, "indices", idx, idx_off, (uint64_t)rows * k)) return tlv__stream_status(s);
    if (values && !tlv__op_check_2d(s, op, "values", values, TLV_F32, rows, k)) return tlv__stream_status(s);
    if (values && values->n_slabs != 1)
        return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: values: expected one storage slab", op);
    tlv_op_tune tu = tlv__op_tune(c);
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
    tlv_row_view vx = tlv__op_view_rows(x, 0, 0, 0);
    for (int64_t r = 0; r < rows;) {
        tlv_chunk_pos px = {0, 0};
        int64_t nr = tlv__op_row_chunk(&vx, 1, r, rows - r, &px);
        struct topk_push pc = {(uint32_t)n, k, parts, chunk, (uint32_t)px.off, (uint32_t)n, (uint32_t)r, 0, 0};
        tlv_vk_binding bd[3] = {tlv__op_bind(&vx, &px), bs_w, bs_r};
        st = tlv__stream_dispatch(s, p1, bd, 3, &pc, sizeof pc, parts, (uint32_t)nr, 1, op);
        if (st != TLV_OK) return st;
        r += nr;
    }
    uint32_t first;
    tlv_vk_binding bi = tlv__op_bind_range(c, idx, idx_off, (uint64_t)rows * k * 4, 1, &first);
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