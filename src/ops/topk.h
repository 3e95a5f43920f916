/* topk.h: argmax and top-k over rows (topk.c; shaders/topk.comp).
 * Shapes, dtypes, slabs and in-place use follow the common rules in basic.h. */
#ifndef TLV_OPS_TOPK_H
#define TLV_OPS_TOPK_H

#include "ops/ops.h"

/* ------------------------------------------------------------------ argmax / top-k */

/* Scratch bytes tlv__op_argmax / tlv__op_topk need for x of [rows, n] (a buffer range of at
 * least this size, not shared with anything the same recording uses concurrently). */
uint64_t tlv__op_topk_scratch_bytes(const tlv_vk_device *d, int64_t rows, int64_t n, uint32_t k);

/* The k (1..64, <= n) largest values of each row of x (F32 [rows, n], n up to 2^24; on CPU
 * devices with a loop limit (lavapipe), which splits rows finer, up to about 1.8M for k = 64,
 * else TLV_ERR_LIMIT)
 * sorted descending, ties by lower index (torch.topk); NaN ranks above +inf (torch's order).
 * Two dispatches: per-part top k (scratch), then a merge of the parts' sorted lists.
 * idx: rows * k int32 at byte offset idx_off; values: F32 [rows, k] or NULL. */
tlv_status tlv__op_topk(tlv_stream *s, const tlv_tensor *x, uint32_t k, const tlv_vk_buffer *scratch,
                        uint64_t scratch_off, const tlv_vk_buffer *idx, uint64_t idx_off, tlv_tensor *values);
/* idx[r] = argmax of row r (int32; first index among equal maxima, the first NaN if any: as
 * torch.argmax). */
tlv_status tlv__op_argmax(tlv_stream *s, const tlv_tensor *x, const tlv_vk_buffer *scratch, uint64_t scratch_off,
                          const tlv_vk_buffer *idx, uint64_t idx_off);

#endif
