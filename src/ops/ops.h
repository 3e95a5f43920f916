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
 *   ops/basic.h      the small kernels around them, one header a family:
 *     ops/norm.h         LayerNorm, RMSNorm (+ fused residual add), per-head RMSNorm
 *     ops/elementwise.h  add, mul, scale, activations, gated activations
 *     ops/copy.h         dtype casts, row copies
 *     ops/embed.h        embedding rows
 *     ops/patch.h        patch embedding
 *     ops/topk.h         argmax / top-k
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

/* ------------------------------------------------------------------ for the small kernels
 * (norm.c, elementwise.c, copy.c, embed.c, patch.c, topk.c).
 *
 * Every one of those ops walks rows: a tensor may be split into row slabs (tensor.h), so an op
 * cuts its row range into chunks that lie inside one slab of every tensor it touches
 * (tlv__op_row_chunk), and records one dispatch per chunk with the element offsets of the chunk's
 * first row inside each bound slab in the push constants. Unsplit tensors (the usual case) give
 * one dispatch. */

/* per-device shapes */
typedef struct tlv_op_tune {
    uint32_t norm_wg;    /* invocations per normalised vector (power of two) */
    uint32_t ew_wg;      /* elementwise, cast */
    uint32_t ew_chunk;   /* elements per workgroup, at least */
    uint32_t ew_max_wgs; /* at most this many workgroups (0: no cap) */
    uint32_t embed_wg;
    uint32_t topk_wg;    /* power of two */
    uint32_t topk_chunk; /* elements per workgroup in top-k pass 1 */
    uint32_t topk_max_parts;
    uint32_t loop_budget; /* loop iterations one invocation may run, all loops together; 0: no limit */
    uint32_t topk_budget; /* the same for top-k, whose count below is already the worst case */
} tlv_op_tune;

/* Rows [row0, row0 + n) of a tensor seen as rows of `stride` elements starting at column col0.
 * bcast: a vector read by every row (one slab, offset 0, stride 0). */
typedef struct tlv_row_view {
    const tlv_tensor *t;
    int64_t row0, col0, stride;
    int bcast, write;
} tlv_row_view;

/* For the chunk starting at op row r: each view's slab and element offset, and the number of
 * rows (<= max_rows) that stay inside all those slabs. */
typedef struct tlv_chunk_pos {
    int slab;
    uint64_t off; /* elements from the slab start */
} tlv_chunk_pos;

/* The device's tuning record, as the small kernels use it. */
tlv_op_tune tlv__op_tune(const tlv_vk_caps *c);
/* The caps of the device s records for. */
const tlv_vk_caps *tlv__op_caps(tlv_stream *s);
/* A view of t's rows from row0, columns from col0 (stride = t's row length). */
tlv_row_view tlv__op_view_rows(const tlv_tensor *t, int64_t row0, int64_t col0, int write);
int64_t tlv__op_row_chunk(const tlv_row_view *v, int n_v, int64_t r, int64_t max_rows, tlv_chunk_pos *pos);
/* The binding of v's slab at chunk position p. */
tlv_vk_binding tlv__op_bind(const tlv_row_view *v, const tlv_chunk_pos *p);
int tlv__op_fits_u32(uint64_t v);
/* t is an allocated F32, F16 or BF16 tensor; records an error on s naming `what` otherwise. */
int tlv__op_check_float(tlv_stream *s, const char *op, const char *what, const tlv_tensor *t);
/* A binding for bytes [off, off + bytes) of b: the binding starts at the aligned offset below
 * off; *first = elements (4 bytes) from the binding start to off. */
tlv_vk_binding tlv__op_bind_range(const tlv_vk_caps *c, const tlv_vk_buffer *b, uint64_t off, uint64_t bytes, int write,
                                  uint32_t *first);
/* count int32 at byte offset off fit b (off a multiple of 4); records an error naming `what` otherwise. */
int tlv__op_check_i32_range(tlv_stream *s, const char *op, const char *what, const tlv_vk_buffer *b, uint64_t off,
                            uint64_t count);

#endif
