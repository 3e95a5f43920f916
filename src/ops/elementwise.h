/* elementwise.h: add, mul, scale, activations, gated activations (elementwise.c; shaders/ew.comp).
 * Shapes, dtypes, slabs and in-place use follow the common rules in basic.h. */
#ifndef TLV_OPS_ELEMENTWISE_H
#define TLV_OPS_ELEMENTWISE_H

#include "ops/ops.h"

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

/* For the other op files (patch.c adds its position table, copy.c splits its work the same
 * way): the shader's operation codes, and the recording behind the ops above. */
enum { EW_ADD = 0, EW_MUL = 1, EW_SCALE = 2, EW_ACT = 3, EW_GATED = 4 };

/* Splits `total` units over workgroups of wg: per_wg (a multiple of wg) and the count. */
void tlv__op_ew_split(const tlv_op_tune *tu, uint32_t wg, uint64_t total, uint32_t *per_wg, uint32_t *n_wg);
/* y = f(a, b) over rows x n. b.t NULL: no b. */
tlv_status tlv__op_ew_record(tlv_stream *s, const char *op, uint32_t code, tlv_act act, tlv_row_view a, tlv_row_view b,
                             tlv_row_view y, int64_t rows, int64_t n, float scale);

#endif
