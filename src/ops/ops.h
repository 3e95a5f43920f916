/* ops.h: one C function per operation. Each checks shapes and dtypes, picks a pipeline, fills
 * its push constants and records one or a few dispatches on a stream. Nothing runs until the
 * stream is submitted. A mismatch is recorded in the stream's sticky status (tlv__stream_fail)
 * and returned; no op aborts.
 *
 * Conventions: activations are F32 tensors [rows, cols] (row-major); weights are F32/F16/BF16
 * [out, in] possibly split into row slabs (tensor.h). All arithmetic is f32.
 *
 * The declarations of each op family live in their own header:
 *   ops/matmul.h     matvec and tiled matmul y = x.W^T (+bias) with fused epilogues
 *   ops/attention.h  flash attention, rope, KV-cache write
 *   ops/basic.h      norms, elementwise, activations, patch embedding, embedding rows, copy/cast,
 *                    argmax / top-k
 */
#ifndef TLV_OPS_OPS_H
#define TLV_OPS_OPS_H

#include "tensor.h"
#include "vk/vk.h"

/* Activation / epilogue selectors shared by several ops. */
typedef enum tlv_act {
    TLV_ACT_NONE = 0,
    TLV_ACT_GELU_ERF = 1,   /* 0.5 x (1 + erf(x / sqrt 2)) */
    TLV_ACT_GELU_TANH = 2,  /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) = gelu_new */
    TLV_ACT_QUICK_GELU = 3, /* x sigmoid(1.702 x) */
    TLV_ACT_SILU = 4        /* x sigmoid(x) */
} tlv_act;

/* Checks that t is F32 with the given 2-D shape; records an error on s naming `what` otherwise. */
int tlv__op_check_2d(tlv_stream *s, const char *op, const char *what, const tlv_tensor *t, tlv_dtype dtype,
                     int64_t rows, int64_t cols);

/* Helpers shared by the op files (ops.c). tlv__op_check_2d above: dtype is the expected dtype;
 * rows or cols < 0 match any size; the message reads "op: what: expected F32 [3, any], found ...". */

/* Like tlv__op_check_2d for a weight vector: t is [n] (or [1, n]) of any float dtype, in one slab.
 * n < 0: any length. */
int tlv__op_check_vec(tlv_stream *s, const char *op, const char *what, const tlv_tensor *t, int64_t n);
/* The shader dtype code of t (TLV_DT_* in shaders/dtype.h; TLV_DT_NONE there = no tensor). */
uint32_t tlv__op_dtype_code(tlv_dtype t);
/* The matrix kernel (SPIR-V module name) for weights of dtype w: the tiled matmul or the matvec,
 * reading x and w through texel buffers or not (one table in ops.c). */
const char *tlv__op_matrix_shader(tlv_dtype w, int tiled, int texel);
/* Gets a pipeline (tlv__vk_pipeline_get); a failure is recorded on s, naming op. */
tlv_status tlv__op_pipeline(tlv_stream *s, const char *op, const char *shader, const uint32_t *spec, uint32_t n_spec,
                            uint32_t n_bindings, uint32_t push_bytes, const tlv_vk_pipeline **out);
/* Splits n_wg workgroups into a gx x gy grid within caps.max_wg_count; the shader rebuilds the
 * flat index as gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x and skips the excess. */
void tlv__op_grid(const tlv_vk_caps *c, uint32_t n_wg, uint32_t *gx, uint32_t *gy);
/* The slab of t holding row `row` (of shape[0]); *row_in_slab = its index there, *rows_left =
 * rows from it to the end of that slab. */
int tlv__op_row_slab(const tlv_tensor *t, int64_t row, int64_t *row_in_slab, int64_t *rows_left);

#endif
