/* embed.c: embedding rows by token id (embed.h; shaders/embed.comp). */
#include "ops/embed.h"

/* ------------------------------------------------------------------ embeddings */

struct embed_push {
    uint32_t n_ids, hidden, vocab;
    uint32_t slab_row0, slab_rows;
    uint32_t id_off;
    uint32_t y_off, y_stride;
    float scale;
    uint32_t scale_word;
};
_Static_assert(sizeof(struct embed_push) <= 128, "push constants");

tlv_status tlv__op_embed_rows(tlv_stream *s, const tlv_tensor *table, const tlv_vk_buffer *ids, uint64_t ids_off,
                              uint32_t n_ids, float scale, tlv_tensor *y, int64_t y_row0)
{
    const char *op = "embed_rows";
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    /* float tables, or a block format (Q8_0 / Q4_0: quantized token embeddings) */
    if (!table || (table->dtype != TLV_Q8_0 && table->dtype != TLV_Q4_0)) {
        if (!tlv__op_check_float(s, op, "table", table)) return tlv__stream_status(s);
    } else if (table->n_slabs < 1) {
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: table: not allocated", op);
    }
    if (table->ndim != 2)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: table: expected [vocab, hidden], found %d dims", op, table->ndim);
    int64_t vocab = table->shape[0], hidden = table->shape[1];
    if (!tlv__op_check_2d(s, op, "y", y, TLV_F32, -1, hidden)) return tlv__stream_status(s);
    if (!tlv__op_check_i32_range(s, op, "ids", ids, ids_off, n_ids)) return tlv__stream_status(s);
    if (y_row0 < 0 || y_row0 + n_ids > y->shape[0])
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: rows [%lld, +%u) do not fit y's %lld rows", op, (long long)y_row0,
                                n_ids, (long long)y->shape[0]);
    if (vocab < 1 || !tlv__op_fits_u32((uint64_t)vocab) || hidden < 1)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: table: bad shape [%lld, %lld]", op, (long long)vocab, (long long)hidden);
    if (n_ids == 0) return TLV_OK;

    const tlv_vk_caps *c = tlv__op_caps(s);
    tlv_op_tune tu = tlv__op_tune(c);
    if (tu.loop_budget && (uint64_t)hidden / tu.embed_wg + 1 > tu.loop_budget)
        return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: rows of %lld elements are too long for this device", op,
                                (long long)hidden);
    uint32_t spec[2] = {tu.embed_wg, tlv__op_dtype_code(table->dtype)};
    const tlv_vk_pipeline *p;
    st = tlv__op_pipeline(s, op, "embed", spec, 2, 3, sizeof(struct embed_push), &p);
    if (st != TLV_OK) return st;
    tlv_row_view vy = tlv__op_view_rows(y, y_row0, 0, 1);
    for (int64_t r = 0; r < n_ids;) {
        tlv_chunk_pos py = {0, 0};
        int64_t nr = tlv__op_row_chunk(&vy, 1, r, n_ids - r, &py);
        uint32_t first;
        tlv_vk_binding bid = tlv__op_bind_range(c, ids, ids_off + 4 * (uint64_t)r, 4 * (uint64_t)nr, 0, &first);
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
            pc.scale_word = (uint32_t)(tlv__tensor_block_scales_offset(table, sl) / 4);
            tlv_vk_binding bd[3] = {tlv__tensor_binding(table, sl, 0), bid, tlv__op_bind(&vy, &py)};
            uint32_t gx, gy;
            tlv__op_grid(c, (uint32_t)nr, &gx, &gy);
            st = tlv__stream_dispatch(s, p, bd, 3, &pc, sizeof pc, gx, gy, 1, op);
            if (st != TLV_OK) return st;
        }
        r += nr;
    }
    return TLV_OK;
}