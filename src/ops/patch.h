/* patch.h: the patch embedding (patch.c; shaders/patch_embed.comp, patch_embed_lanes.comp).
 * Shapes, dtypes, slabs and in-place use follow the common rules in basic.h. */
#ifndef TLV_OPS_PATCH_H
#define TLV_OPS_PATCH_H

#include "ops/ops.h"

/* Patch embedding (MODELS.md 3.2): conv with kernel = stride = P, valid padding (the last
 * H - gh * P rows and W - gw * P columns are ignored), as a matmul without im2col.
 *   img   F32 [3, H, W] (CHW, normalised)
 *   w     [hidden, 3, P, P] (F32/F16/BF16, may be slabbed); P = w.shape[2] = w.shape[3]
 *   bias  [hidden] or NULL
 *   cls   [hidden] or NULL: CLIP's class embedding, written to row 0
 *   pos   [n_tok, hidden] or NULL: added to every output row (row i gets pos[i])
 *   y     F32 [n_tok, hidden], n_tok = (cls ? 1 : 0) + gh * gw; patch rows in row-major order. */
tlv_status tlv__op_patch_embed(tlv_stream *s, const tlv_tensor *img, const tlv_tensor *w, const tlv_tensor *bias,
                               const tlv_tensor *cls, const tlv_tensor *pos, tlv_tensor *y);
/* The same with the kernel chosen (tests, bench): 0 by device (lanes on CPU devices, tiles on
 * GPUs), 1 shared-memory tiles (patch_embed.comp), 2 a channel per lane (patch_embed_lanes.comp). */
tlv_status tlv__op_patch_embed_kernel(tlv_stream *s, const tlv_tensor *img, const tlv_tensor *w,
                                      const tlv_tensor *bias, const tlv_tensor *cls, const tlv_tensor *pos,
                                      tlv_tensor *y, int kernel);

#endif
