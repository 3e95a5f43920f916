/* matmul.h: y = act(x . w^T + bias) + residual, the Linear layer with its epilogue fused
 * (shaders/matvec*.comp, shaders/matmul*.comp), and the roofline probes the bench runs
 * (shaders/probe_read.comp, shaders/probe_fma.comp).
 *
 *   x         F32 [M, K], one slab (activations)
 *   w         F32, F16 or BF16 [N, K] (a Linear weight [out, in]), any number of row slabs: one
 *             dispatch per slab, each writing the slab's range of y's columns
 *   bias      NULL, or [N] (or [1, N]) in F32, F16 or BF16 (checkpoints ship F16 biases), one slab
 *   residual  NULL; y itself (in place: y = act(...) + y, what a transformer block's
 *             "h = h + proj(...)" wants); or another F32 [M, N] tensor, which is first copied
 *             into y (so it must not overlap y's rows)
 *   act       applied before the residual: y = act(x.w^T + b) + r
 *   y         F32 [rows, N], one slab, rows >= y_row0 + M: the op writes rows [y_row0, y_row0 + M)
 *             and nothing else (tlv__op_matmul_rows; tlv__op_matmul is y_row0 = 0 with rows == M).
 *             That is how image features land in the prompt's embedding rows.
 *   x must not overlap y.
 *
 * All arithmetic is f32 (weights decoded in the shader); the sum over k is in f32 in an order
 * that differs from a sequential loop, so results match a double-precision reference to about
 * 1e-6 relative to max |y| for K in the thousands.
 *
 * Kernels (tlv_matmul_kernel): a matrix-vector kernel that streams the weights once for up to
 * mv_max_nm rows of x at a time, and a tiled shared-memory kernel with register blocking (prefill,
 * vision tower). TLV_MATMUL_AUTO picks by M and the device's tuning record (caps.tune, from the
 * table in vk/tuning.c): on GPUs the matvec kernel for M <= 8; on CPU devices (lavapipe), where
 * shared-memory tiles are slow, the matvec kernel for every M, switching to mode 2 from M = 3.
 * Where the record says texel (caps.use_texel: lavapipe, where a texelFetch is a gather and a
 * lane-dependent storage load a loop over the lanes) both kernels read x and w through RGBA32UI
 * texel views (the *_tex shaders); TLV_DISABLE_TEXEL=1 goes back to storage buffers. Mode 2
 * (M >= 3 on CPU devices) takes 8 rows of x by 4 weight rows per lane where x is traded by subgroup
 * shuffles (mv_x_shuffle), 4 rows of x by 8 weight rows without. The
 * measurements behind every choice: docs/BENCHMARKS.md, "Why the tuning table says what it says".
 *
 * Errors go to the stream's sticky status (tlv__stream_fail) with the op and tensor named; the
 * function returns the stream's status. */
#ifndef TLV_OPS_MATMUL_H
#define TLV_OPS_MATMUL_H

#include <stdint.h>

#include "ops/ops.h"

typedef enum tlv_matmul_kernel {
    TLV_MATMUL_AUTO = 0,   /* by M and device (above) */
    TLV_MATMUL_MATVEC = 1, /* any M; weights re-read (mostly from cache) per mv_max_nm rows of x */
    TLV_MATMUL_TILED = 2
} tlv_matmul_kernel;

/* Kernel choice and shapes. tlv__matmul_tuning_default fills them from the device's tuning record
 * (caps.tune: the table in vk/tuning.c, fitted to the device, TLV_TUNE_* switches applied); tests
 * and the bench change fields to run other shapes per call (a GPU's on lavapipe, a search). Rules
 * checked by the op:
 *   matvec: mv_t a power of two dividing mv_wg, mv_rows 1..4 (1..8 in mode 2), mv_max_nm
 *           1/2/4/8; mv_mode 1 needs mv_t = 1, mv_wg = 8 = the subgroup size and subgroups on;
 *           mode 2 needs mv_t = 1 (the rules apply after the mv_many_* switch); mv_subgroup 1
 *           needs subgroups on (it falls back to shared memory at run time when the subgroup is
 *           not the row group);
 *   tiled:  tm | bm, tn | bn, (bm/tm)(bn/tn) <= max invocations, bk (bm + bn) 4 <= shared bytes;
 *   loop_budget: loop iterations one invocation may run (half of caps.max_loop_iterations:
 *           lavapipe stops an invocation after 65535, all loops together); 0 = no limit; the
 *           matvec split respects it;
 *   texel:  1 needs uniform texel buffers of format RGBA32UI on the device, and subgroup
 *           shuffles (the texel shaders declare them);
 *   mv_x_shuffle: 1 needs subgroup shuffles (caps.subgroup_ops) and subgroups on; it applies
 *           where mode 1, or mode 2 in workgroups of 8 on a subgroup of 8, reads through texel
 *           views, and is ignored elsewhere. */
typedef struct tlv_matmul_tuning {
    tlv_matmul_kernel kernel;
    uint32_t mv_max_m;      /* AUTO: the matvec kernel for M <= this */
    uint32_t mv_wg;         /* matvec workgroup size */
    uint32_t mv_t;          /* threads per weight row */
    uint32_t mv_mode;       /* 0 chunked rows, 1 lane per row + broadcast x, 2 lane per row with
                               scalar sums (matvec.comp) */
    uint32_t mv_subgroup;   /* mode 0, mv_t > 1: reduce with subgroupAdd */
    uint32_t mv_rows;       /* weight rows per row group and pass, 1..4 (1..8 in mode 2) */
    uint32_t mv_max_nm;     /* x rows per pass at most: 1, 2, 4 or 8 */
    uint32_t mv_many_m;     /* matvec, M >= this (0: never): mv_mode, mv_rows, mv_max_nm become the
                               three below (CPU devices: more x rows and weight rows per lane) */
    uint32_t mv_many_mode, mv_many_rows, mv_many_nm;
    uint32_t mv_target_wgs; /* with a loop budget: spread the rows over about this many workgroups */
    uint32_t loop_budget;
    uint32_t bm, bn, bk, tm, tn; /* tiled: tile, k step, per-thread block */
    uint32_t texel;         /* 1: x and w read through uniform texel buffers (caps.use_texel; needs
                               RGBA32UI texel buffers), both kernels; storage buffers when a view
                               would not fit (maxTexelBufferElements) */
    uint32_t mv_x_shuffle;  /* modes 1 and 2 with texel views: x fetched once per lane and handed out
                               with subgroupShuffle, instead of lane-uniform fetches */
} tlv_matmul_tuning;

void tlv__matmul_tuning_default(const tlv_vk_caps *c, tlv_matmul_tuning *t);

tlv_status tlv__op_matmul(tlv_stream *s, const tlv_tensor *x, const tlv_tensor *w, const tlv_tensor *bias,
                          const tlv_tensor *residual, tlv_act act, tlv_tensor *y);

/* Writes rows [y_row0, y_row0 + M) of y. tune: NULL for the device's default (the model code),
 * else used as given (tests, bench). */
tlv_status tlv__op_matmul_rows(tlv_stream *s, const tlv_tensor *x, const tlv_tensor *w, const tlv_tensor *bias,
                               const tlv_tensor *residual, tlv_act act, tlv_tensor *y, int64_t y_row0,
                               const tlv_matmul_tuning *tune);

/* The MLP's down projection on the gated product: y = act(f . w^T + bias) + residual with
 * f = gate_act(gu[:, :K]) * gu[:, K:] (gu F32 [M, 2K] = [gate | up], as the fused gate/up
 * projection writes it; w [N, K]). Where the matvec kernel runs in mode 0 (GPUs' decode), or in
 * mode 1 with mv_x_shuffle (lavapipe's decode), it reads f straight from gu: one dispatch, f
 * never written. Elsewhere (mode 1 without shuffles, mode 2, the tiled kernel: see matmul.c for
 * why) f (F32 [M, K], scratch) is made by tlv__op_gated first. Rows: y [M, N] (y_row0 = 0).
 * tune as tlv__op_matmul_rows. */
tlv_status tlv__op_matmul_gated(tlv_stream *s, tlv_act gate_act, const tlv_tensor *gu, tlv_tensor *f, const tlv_tensor *w,
                                const tlv_tensor *bias, const tlv_tensor *residual, tlv_act act, tlv_tensor *y,
                                const tlv_matmul_tuning *tune);

/* Roofline probes (the bench's ceilings; see the shaders for what they do).
 *
 * probe_read: sums the 16-byte words of buf[offset, offset + bytes) (bytes a multiple of 16,
 * within the storage range), n_wg (<= caps.max_wg_count[0]) workgroups of wg_size invocations, each over its own contiguous
 * part; flags: TLV_PROBE_LANE_CONTIG (each invocation streams its own piece; without it the
 * invocations interleave word by word), TLV_PROBE_TEXEL (read through a uniform texel buffer, as
 * the matrix kernels do where caps.use_texel; buf + offset must then be min_texel_align aligned).
 * dst receives one uint per invocation (n_wg * wg_size * 4 bytes). Bandwidth = bytes / time. */
#define TLV_PROBE_LANE_CONTIG 1
#define TLV_PROBE_TEXEL 2
tlv_status tlv__op_probe_read(tlv_stream *s, const tlv_vk_buffer *buf, uint64_t offset, uint64_t bytes,
                              uint32_t wg_size, uint32_t n_wg, int flags, const tlv_vk_buffer *dst);

/* probe_fma: n_wg (<= caps.max_wg_count[0]) workgroups of wg_size invocations, n_iter iterations of 16 vec4 FMAs each;
 * dst receives one float per invocation. FLOPs = tlv__probe_fma_flops(...). */
tlv_status tlv__op_probe_fma(tlv_stream *s, uint32_t wg_size, uint32_t n_wg, uint32_t n_iter,
                             const tlv_vk_buffer *dst);
double tlv__probe_fma_flops(uint32_t wg_size, uint32_t n_wg, uint32_t n_iter);

#endif
