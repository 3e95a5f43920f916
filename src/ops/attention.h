/* attention.h: flash attention, rotate-half RoPE and the KV-cache write (shaders/attn*.comp,
 * shaders/rope.comp, shaders/kv_write.comp). All f32 arithmetic; K and V (the cache) may be
 * stored as F16 (the f16 KV cache, docs/ARCHITECTURE.md "KV cache precision").
 *
 * dtypes: q, o, the projections' outputs, scratch and the RoPE table are F32. K and V operands
 * of attention are F32 or F16, both the same; kv_write and qkv_rope_write write an F32 or F16
 * cache (k_dst and v_dst the same), rounding to nearest even and clamping to +-65504. F16 is
 * read and written as 32-bit words, two halves a word (no 16-bit storage feature): any offset
 * and stride works, odd ones included (the writers then merge halves with atomics).
 *
 * Views. Every operand is a head-structured view of an F32 tensor held in one slab:
 *
 *     element (position p, head h, dim d)  at  offset + p * row_stride + h * head_stride + d
 *
 * so the same op reads any of the layouts the model code produces, without a copy:
 *
 *   layout                                    offset                 row_stride              head_stride
 *   q, k or v projection [n, n_heads*hd]      0                      n_heads*hd              hd
 *   fused QKV [n, (n_head + 2 n_kv_head)*hd]  q 0, k n_head*hd,      (n_head+2 n_kv_head)*hd hd
 *                                             v (n_head+n_kv_head)*hd
 *   attention output o [n, n_head*hd]         0                      n_head*hd               hd
 *   KV cache [n_kv_head, max_ctx, hd]         0                      hd                      max_ctx*hd
 *
 * tlv__attn_rows() and tlv__attn_cache() build the first and last kind.
 *
 * KV cache layout: head-major, [n_kv_head, max_ctx, head_dim] per layer (one tensor for K, one
 * for V). Decode is a stream over the cache: with this layout the keys of one KV head are one
 * contiguous range (L * hd floats), so a workgroup that owns a KV head (and all the q heads of
 * its group, see below) or a chunk of it reads one long contiguous range, which is what lavapipe
 * and GPU caches stream best (RUNTIME.md "Measured on lavapipe"); with the position-major
 * [max_ctx, n_kv_head*hd] layout the same workgroup would read hd floats, skip
 * (n_kv_head-1)*hd, and so on. The write side pays the scatter instead: a prefill writes each
 * row's heads to n_kv_head places, once per token, while attention re-reads the cache on every
 * decode step. The views accept either layout.
 *
 * Attention: o = softmax(q.k^T * scale + mask).v, one pass, online softmax (exp2 with the scale
 * folded into q), f32 throughout. Query i is at absolute position pos0 + i; causal: it sees keys
 * 0 .. pos0 + i; non-causal (vision tower): keys 0 .. n_kv - 1. Grouped-query / multi-query:
 * q head h uses KV head h / (n_head / n_kv_head); a "row" is a (query, q head) pair and the q heads
 * of one KV head are neighbouring rows, so one workgroup reads each key and value once for all
 * of them. Two kernels (attention.c picks per device and shape):
 *   attn        one invocation per row (q and accumulator in registers), all lanes read the same
 *               key; GPUs, and lavapipe for head_dim not a multiple of 4;
 *   attn_dsplit the head dimension over the lanes (vec4 slices), up to 8 rows per workgroup,
 *               partial dot products summed with subgroupAdd (attn_dsplit_shared: shared memory
 *               when subgroups are off); K and V through uniform texel buffers where the device
 *               wants them (attn_dsplit_tex). lavapipe: its storage-buffer loads inside loops run
 *               lane by lane (~200 cycles each), so every load must bring many useful floats.
 * When the row blocks do not fill the device (decode) and n_kv is long, the keys are split in
 * chunks, each workgroup writes an unnormalised partial (accumulator, max, sum) into a scratch
 * tensor, and attn_combine merges them. Where the driver stops long-running loops
 * (caps.max_loop_iterations, lavapipe) a workgroup walks at most 8192 keys: beyond that the op
 * splits, and needs a scratch.
 *
 * RoPE (MODELS.md 4): on the first rot_dim dims of each head, pairs (j, j + rot_dim/2). The
 * angles come from a table made on the host by tlv__rope_table_fill exactly as HF computes them
 * (inv_freq = 1 / theta^(arange(0, rot, 2) / rot) in f32, angle = f32(pos) * inv_freq in f32,
 * cos/sin of that f32 angle; pow is rounded correctly, where PyTorch's vectorised powf is off by
 * one ulp in a few entries, e.g. 1 of 128 for rot 256: < 1e-6 in cos/sin at position 32767):
 * the model uploads it once ([max_pos, rot_dim] F32) and every layer
 * reads it. Shader sin/cos are not accurate enough (Vulkan allows 2^-11 absolute error, nothing
 * outside [-pi, pi], and angles reach thousands of radians), and a table carries any RoPE scaling
 * variant for free.
 */
#ifndef TLV_OPS_ATTENTION_H
#define TLV_OPS_ATTENTION_H

#include <stdint.h>

#include "ops/ops.h"

typedef struct tlv_attn_view {
    const tlv_tensor *t;  /* F32, one slab */
    int64_t offset;       /* elements: (position 0, head 0, dim 0) */
    int64_t row_stride;   /* elements between positions */
    int64_t head_stride;  /* elements between heads */
} tlv_attn_view;

/* Rows of a projection output t [n, cols]: head h of row p starts at column col0 + h * head_dim. */
tlv_attn_view tlv__attn_rows(const tlv_tensor *t, int64_t col0, int64_t head_dim);
/* A KV-cache tensor [n_kv_head, max_ctx, head_dim] (any other shape: a view the ops reject). */
tlv_attn_view tlv__attn_cache(const tlv_tensor *t);

#define TLV_ATTN_MAX_HEAD_DIM 256

typedef struct tlv_attn_params {
    int n_q;        /* query rows */
    int n_kv;       /* keys/values 0 .. n_kv - 1 are valid in k and v */
    int n_head;     /* q heads; a multiple of n_kv_head */
    int n_kv_head;
    int head_dim;   /* 1 .. TLV_ATTN_MAX_HEAD_DIM */
    int causal;     /* 1: query i at position pos0 + i sees keys 0 .. pos0 + i (needs pos0 + n_q <= n_kv) */
    int pos0;
    float scale;    /* usually 1 / sqrt(head_dim) */
    int n_split;    /* 0: the op decides; > 0: use this many KV chunks (tests, tuning) */
} tlv_attn_params;

/* Elements of scratch that tlv__op_attention would use for p on this device (0: no split). A
 * caller that passes a scratch tensor at least this large for its largest n_kv (decode at the
 * full context) lets the op split whenever it wants to. */
int64_t tlv__op_attention_scratch_elems(const tlv_vk_device *d, const tlv_attn_params *p);

/* Records o = attention(q, k, v). q [n_q positions, n_head heads], k and v [n_kv positions,
 * n_kv_head heads], o [n_q, n_head], all head_dim wide. scratch: F32, may be NULL (then no
 * split); the op splits only when it is large enough (n_split > 0 with a too small scratch is an
 * error). o must not overlap q, k or v. */
tlv_status tlv__op_attention(tlv_stream *s, const tlv_attn_params *p, tlv_attn_view q, tlv_attn_view k,
                             tlv_attn_view v, tlv_attn_view o, const tlv_tensor *scratch);

/* Fills table [n_pos, rot_dim] (cos, sin of position p and pair j at [p * rot_dim + 2j], +1) as
 * HF does in f32. rot_dim even, >= 2. */
void tlv__rope_table_fill(float *table, int64_t n_pos, int rot_dim, float theta);

/* In place on n_rows rows of x (n_heads heads each): rotates the first rot_dim dims of every head.
 * table: F32 [max_pos, rot_dim] from tlv__rope_table_fill. pos: NULL (row i is at pos0 + i) or a
 * buffer of int32 positions, one per row from element pos_offset on. Positions outside the table
 * are clamped to it (for pos0 + i the op checks pos0 + n_rows <= max_pos). */
tlv_status tlv__op_rope(tlv_stream *s, tlv_attn_view x, int n_rows, int n_heads, int head_dim, int rot_dim,
                        const tlv_tensor *table, const tlv_vk_buffer *pos, int64_t pos_offset, int pos0);

/* Writes rows 0 .. n_rows - 1 of src (n_kv_head heads of head_dim) to positions pos0 .. pos0 + n_rows - 1
 * of the cache view dst; with a table (and rot_dim > 0) applies RoPE at the cache position on the
 * way (K), without (table NULL or rot_dim 0) copies (V). */
tlv_status tlv__op_kv_write(tlv_stream *s, tlv_attn_view src, tlv_attn_view dst, int n_rows, int n_kv_head,
                            int head_dim, int pos0, int rot_dim, const tlv_tensor *table);

/* After a fused QKV projection: RoPE on q in place (positions pos0 + i), K written to k_dst with
 * RoPE, V copied to v_dst (as tlv__op_rope + two tlv__op_kv_write), in one dispatch. q, k, v are
 * views of one tensor (the fused [q | k | v] rows: one row stride, head stride head_dim); k_dst
 * and v_dst have the same layout; caches, table and qkv are distinct tensors. rot_dim >= 2. */
tlv_status tlv__op_qkv_rope_write(tlv_stream *s, tlv_attn_view q, tlv_attn_view k, tlv_attn_view v, tlv_attn_view k_dst,
                                  tlv_attn_view v_dst, int n_rows, int n_head, int n_kv_head, int head_dim, int pos0,
                                  int rot_dim, const tlv_tensor *table);

#endif
