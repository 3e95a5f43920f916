/* embed.h: embedding rows by token id (embed.c; shaders/embed.comp).
 * Shapes, dtypes, slabs and in-place use follow the common rules in basic.h. */
#ifndef TLV_OPS_EMBED_H
#define TLV_OPS_EMBED_H

#include "ops/ops.h"

/* ------------------------------------------------------------------ embeddings */

/* Rows [y_row0, y_row0 + n_ids) of y (F32 [rows, hidden]) = table[ids[i]] * scale.
 * table: [vocab, hidden], F32/F16/BF16, may be slabbed. ids: n_ids int32 at byte offset ids_off of
 * `ids`. The engine validates ids on the host; the shader clamps ids to [0, vocab) so a bad id
 * reads a wrong row, never out of bounds. scale: 1, or Gemma's sqrt(hidden) (in f32). */
tlv_status tlv__op_embed_rows(tlv_stream *s, const tlv_tensor *table, const tlv_vk_buffer *ids, uint64_t ids_off,
                              uint32_t n_ids, float scale, tlv_tensor *y, int64_t y_row0);

#endif
