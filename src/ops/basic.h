/* basic.h: the small kernels around the matmuls (shaders/norm*, ew, cast, embed, patch_embed,
 * topk). Every op records dispatches on a stream and runs nothing (ops.h); shapes and dtypes are
 * checked first and a mismatch is recorded on the stream and returned, naming the op, the tensor,
 * expected and found.
 *
 * Common rules:
 *   - activations (x, y, res, a, b unless said otherwise) are F32; weights (norm w/b, biases,
 *     position tables, embedding tables, patch weights) are F32, F16 or BF16;
 *   - any tensor may be split into row slabs (tensor.h): the ops walk rows slab by slab; a single
 *     row (or a 1-D weight) must fit one slab;
 *   - in-place use is allowed where said (y the same tensor as an input): every element is read
 *     and written by the same GPU invocation;
 *   - int32 buffers (token ids, result indices) are plain buffer ranges: tensor.h has no integer
 *     dtype; offsets are in bytes and multiples of 4.
 * All arithmetic is f32. */
#ifndef TLV_OPS_BASIC_H
#define TLV_OPS_BASIC_H

#include "ops/ops.h"

/* ------------------------------------------------------------------ norms (MODELS.md 4) */

typedef enum tlv_norm_kind {
    TLV_NORM_LAYER = 0,  /* (x - mean) / sqrt(var + eps) * w + b, population variance (torch) */
    TLV_NORM_RMS = 1,    /* x / sqrt(mean(x^2) + eps) * w                (Llama, Qwen2, OpenELM) */
    TLV_NORM_RMS_1P = 2  /* x / sqrt(mean(x^2) + eps) * (1 + w)          (Gemma) */
} tlv_norm_kind;

/* y = norm(x) over the last dim. x, y: F32 [rows, n]; y may be x (in place).
 * w: [n] or NULL (= 1; for RMS_1P NULL means 1 + 0); b: [n] or NULL (LayerNorm only).
 * res: NULL, or F32 [rows, n]: first x = x + res is written back to x (the residual stream),
 * then y = norm(x). Statistics in f32: two-pass mean / variance. */
tlv_status tlv__op_norm(tlv_stream *s, tlv_norm_kind kind, tlv_tensor *x, const tlv_tensor *res,
                        const tlv_tensor *w, const tlv_tensor *b, float eps, tlv_tensor *y);

/* Per-head RMSNorm in place (OpenELM q_norm / k_norm, MODELS.md 4.6): in every row of x
 * (F32 [rows, cols]) the n_head slices of head_dim = w's length starting at column col0 are each
 * normalised and scaled by w ([head_dim]). kind: TLV_NORM_RMS or TLV_NORM_RMS_1P. */
tlv_status tlv__op_norm_heads(tlv_stream *s, tlv_norm_kind kind, tlv_tensor *x, int64_t col0, int64_t n_head,
                              const tlv_tensor *w, float eps);

/* ------------------------------------------------------------------ elementwise */

/* y = a + b. a, y: F32 [rows, n] (y may be a or b). b: [rows, n] of any dtype (a position
 * table, a second activation) or [n] (a row vector broadcast over the rows: a bias). */
tlv_status tlv__op_add(tlv_stream *s, const tlv_tensor *a, const tlv_tensor *b, tlv_tensor *y);
/* y = a * b, shapes as tlv__op_add. */
tlv_status tlv__op_mul(tlv_stream *s, const tlv_tensor *a, const tlv_tensor *b, tlv_tensor *y);
/* y = a * scale (Gemma's sqrt(hidden), in f32). y may be a. */
tlv_status tlv__op_scale(tlv_stream *s, const tlv_tensor *a, float scale, tlv_tensor *y);
/* y = act(a). y may be a. */
tlv_status tlv__op_act(tlv_stream *s, tlv_act act, const tlv_tensor *a, tlv_tensor *y);
/* y = act(a) * b (SwiGLU: TLV_ACT_SILU, GeGLU: TLV_ACT_GELU_TANH). y: F32 [rows, n].
 * b != NULL: a and b F32 [rows, n] (separate gate / up outputs).
 * b == NULL: a is F32 [rows, 2n] = [gate | up] (a fused projection; OpenELM's proj_1 [y1|y2]). */
tlv_status tlv__op_gated(tlv_stream *s, tlv_act act, const tlv_tensor *a, const tlv_tensor *b, tlv_tensor *y);

/* ------------------------------------------------------------------ copies */

/* y = x with dtype conversion (F32, F16, BF16 in any direction; round to nearest even; NaN stays
 * NaN, overflow to F16 gives inf). Same element count; shapes may differ. */
tlv_status tlv__op_cast(tlv_stream *s, const tlv_tensor *x, tlv_tensor *y);
/* Rows [y_row0, y_row0 + n_rows) of y = rows [x_row0, ...) of x (same row length, any dtypes):
 * the prompt splice. The other rows of y are untouched. */
tlv_status tlv__op_copy_rows(tlv_stream *s, const tlv_tensor *x, int64_t x_row0, tlv_tensor *y, int64_t y_row0,
                             int64_t n_rows);

/* ------------------------------------------------------------------ embeddings */

/* Rows [y_row0, y_row0 + n_ids) of y (F32 [rows, hidden]) = table[ids[i]] * scale.
 * table: [vocab, hidden], F32/F16/BF16, may be slabbed. ids: n_ids int32 at byte offset ids_off of
 * `ids`. The engine validates ids on the host; the shader clamps ids to [0, vocab) so a bad id
 * reads a wrong row, never out of bounds. scale: 1, or Gemma's sqrt(hidden) (in f32). */
tlv_status tlv__op_embed_rows(tlv_stream *s, const tlv_tensor *table, const tlv_vk_buffer *ids, uint64_t ids_off,
                              uint32_t n_ids, float scale, tlv_tensor *y, int64_t y_row0);

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
