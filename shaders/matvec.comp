#version 450
// matvec.comp: y[m, n] = act(sum_k x[m, k] w[n, k] + bias[n]) (+ y[m, n]) for few rows m (decode),
// every weight load used for NM rows of x. Compiled once per weight format and texel choice
// (matvec_f16, matvec_f16_tex, ...: matmul_common.glsl).
//
// Three kernels, chosen by the op (src/ops/matmul.c) with the MODE specialization constant:
//   MODE 0  GPUs, and the fallback: T threads share a weight row.        mode0_accumulate()
//   MODE 1  CPU devices (lavapipe), decode: a lane per weight row, x
//           handed to the lanes by subgroup broadcasts or shuffles.       mode1_accumulate()
//   MODE 2  CPU devices, many rows of x (prefill on lavapipe): a lane
//           per weight row, NM * R scalar sums.                           mode2_accumulate()
// main() runs the same passes for all three: for each NM rows of x, for each pass of RG * R
// weight rows, the mode's accumulate, then its store (reduce_store() for modes 0 and 1,
// lane_store() for mode 2). Rows that are not aligned (ALIGNED = 0) go element by element in
// every mode instead (accumulate_elements()).
//
// Work split. Workgroup (gx, gy) owns weight rows [gx * rows_per_wg, +rows_per_wg) of the bound
// slab and x rows [gy * m_per_wg, +m_per_wg), taken NM at a time. Its WG threads form RG = WG / T
// row groups of T threads; a pass gives row group g the R rows r0 + g + RG * r (r < R), so a pass
// covers RG * R rows, and every x value loaded serves R rows.
//
// MODE 0 (GPUs, and the fallback): the T threads of a row take 8-element chunks k = 8t, 8t + 8T,
//   ... (consecutive threads read consecutive 16-byte words), then add their partial sums:
//   subgroupAdd when T is the subgroup size (USE_SUBGROUP, checked again at run time), else a
//   shared-memory tree.
// MODE 1 (CPU devices such as lavapipe; needs T = 1, WG = subgroup size = 8, subgroups on):
//   each lane owns R weight rows. x is read once per subgroup, a vec4 per lane covering 32
//   elements, and handed to all lanes with subgroupBroadcast: on lavapipe every buffer load with a
//   lane-dependent address costs a loop over the lanes, and so does a broadcast, so both are
//   spread over R rows (measured on lavapipe, M = 1..8: R = 4 with NM <= 2 is 1.3-2x faster than
//   R = 1; NM = 8 with R > 1 runs out of registers).
//   TEXEL variants (x and w are uniform texel buffers, gathers on lavapipe): x is fetched at
//   lane-uniform addresses instead of broadcast (2.3-2.9x the storage variant per CPU-second),
//   or with X_SHUFFLE once per lane (lane j: x[k + 4j .. k + 4j + 3]) and handed out with
//   subgroupShuffle at constant lanes: one texel call instead of eight per 32 elements, which
//   on lavapipe 22.3 is 10-19% less CPU per weight byte (bench/floor, paired runs).
// MODE 2 (CPU devices, many rows of x; needs T = 1, any WG, no subgroups): each lane owns R
//   weight rows (R up to 8) and keeps NM * R scalar sums, not vec4s: on lavapipe a vec4 is four
//   SIMD registers, so vec4 sums spill at NM * R = 8 already. Each 8-element step fetches R
//   weight words and 2 NM x words and does 8 NM R FMAs; fetches (texel gathers, or lane loops
//   for storage buffers) bound the kernel, so the bigger NM * R the better, spills included
//   (NM = 4, R = 8: 1.7x mode 1 at M = 729, see matmul.c). With X_SHUFFLE (TEXEL, WG = subgroup
//   = 8) x comes as in mode 1, one fetch per lane per 32 elements traded by shuffles, and only
//   the R weight words are fetched per step: Qwen2-0.5B pp64 12-20% faster on lavapipe (the
//   shuffles at constant lanes: the 4 steps of 8 are unrolled). Unaligned K runs the element-wise
//   loop. The epilogue is one loop over the NM * R results (not unrolled: unrolled, it made these
//   pipelines take seconds to compile on lavapipe).
//
// GATED = 1 (decode's MLP down projection): x rows are [gate | up], 2K wide, and the kernel reads
// act(gate) * up wherever it reads x (XV4 / XV1); x_stride is then the 2K-wide row's.
//
// Block weight formats (W_BLOCK: Q8_0, Q4_0; dtype.glsl): K % 32 == 0, so rows are always
// aligned. Every mode fetches each block once (quants and scale): MODES 0 and 1 scale the block's
// 32-element sum (MODE 0: thread t of T takes blocks t, t + T, ...), MODE 2 the 8 weights of each
// step. The element-wise path (unaligned rows: never for these) and the tiled matmul use w_elem /
// w_load8 (a quant word and a scale word per 8 weights).
//
// ALIGNED = 1 promises K % 8 == 0 and x_off, x_stride multiples of 4 (rows start on 16-byte words;
// slabs are 16-byte aligned, tensor.h); else rows may start mid-word and everything goes element
// by element (slow, correct).
//
// lavapipe (Mesa 22.3) silently stops a shader invocation after 65535 loop iterations in total,
// all loops together: the op sizes rows_per_wg / m_per_wg to keep well below that on CPU devices.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_KHR_shader_subgroup_arithmetic : enable
#extension GL_KHR_shader_subgroup_ballot : enable
#extension GL_EXT_control_flow_attributes : enable
#if defined(TEXEL)
#extension GL_KHR_shader_subgroup_shuffle : enable
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint T = 1;            // threads per weight row (a power of two dividing WG)
layout(constant_id = 2) const uint NM = 1;           // x rows per pass (1, 2, 4, 8)
layout(constant_id = 3) const uint MODE = 0;         // 0 chunked rows, 1 lane per row + broadcast x, 2 lane per row, scalar sums
layout(constant_id = 4) const uint USE_SUBGROUP = 0; // MODE 0, T > 1: 1 = T is the subgroup size, use subgroupAdd
layout(constant_id = 5) const uint ALIGNED = 0;
layout(constant_id = 6) const uint R = 1;            // weight rows per row group and pass (1..4)

layout(constant_id = 7) const uint GATED = 0;      // 1: x = act(x[:, :K]) * x[:, K:] (rows of x are [gate | up], 2K wide; act = p.x_act)
layout(constant_id = 8) const uint X_SHUFFLE = 0;  // MODE 1/2, TEXEL: x once per lane + subgroupShuffle (needs WG = subgroup = 8)

#include "matmul_common.glsl"

// x as the kernel sees it: the rows of x, or with GATED the gated product of their two halves
// (the MLP's act(gate) * up, computed where it is read instead of by a dispatch of its own).
vec4 XV4(uint i) {
    vec4 a = X4(i);
    if (GATED == 0u) return a;
    vec4 b = X4(i + p.K / 4u);
    return vec4(act_apply(p.x_act, a.x), act_apply(p.x_act, a.y), act_apply(p.x_act, a.z), act_apply(p.x_act, a.w)) * b;
}
float XV1(uint e) {
    float a = X1(e);
    return GATED == 0u ? a : act_apply(p.x_act, a) * X1(e + p.K);
}

const uint WG = gl_WorkGroupSize.x;
const uint RG = WG / T; // row groups
shared float red[T > 1u ? WG * NM : 1u];

// The pass main() is in, read and written by the functions below (globals, not parameters:
// glslang does not reliably match array parameters sized by specialization constants).
uint xrow[NM];     // element of x[m0 + m, 0]; rows past M repeat the last (never stored)
uint wb[R];        // element of w[n, 0] for this row group's rows n = r0 + rg + RG * r
vec4 acc[NM * R];  // the sums of x row m and weight row r: acc[m * R + r] (MODE 2: in .x)

// ---------------------------------------------------------------- element by element (any mode)
// Elements k0, k0 + step, ... of every row: unaligned rows (thread t of T: k0 = t, step = T), and
// MODE 1's tail past the last 32.
void accumulate_elements(uint k0, uint step) {
    for (uint k = k0; k < p.K; k += step)
        for (uint r = 0u; r < R; r++) {
            float wv = w_elem(wb[r] + k);
            for (uint m = 0u; m < NM; m++) acc[m * R + r].x = fma(wv, XV1(xrow[m] + k), acc[m * R + r].x);
        }
}

// ---------------------------------------------------------------- MODE 0: T threads a row
// Thread t of the row group takes the 8-element chunks 8t, 8t + 8T, ... (aligned rows).
void mode0_accumulate(uint t) {
#if defined(W_BLOCK)
    // a block format: thread t takes whole blocks 32t, 32t + 32T, ... (consecutive threads read
    // consecutive quant words; 8 of them share a scale word), scaling each block's sum once
    for (uint k = 32u * t; k < p.K; k += 32u * T)
        for (uint r = 0u; r < R; r++) {
            uvec4 qa, qb;
            float d;
            w_block((wb[r] + k) >> 5, qa, qb, d);
            vec4 wv[8];
            [[unroll]] for (uint j = 0u; j < 4u; j++) w_block8(qa, qb, j, wv[2u * j], wv[2u * j + 1u]);
            for (uint m = 0u; m < NM; m++) {
                uint xi = (xrow[m] + k) / 4u;
                vec4 bs = vec4(0.0);
                [[unroll]] for (uint j = 0u; j < 8u; j++) bs = fma(wv[j], XV4(xi + j), bs);
                acc[m * R + r] = fma(bs, vec4(d), acc[m * R + r]);
            }
        }
    return;
#endif
    for (uint k = 8u * t; k < p.K; k += 8u * T)
        for (uint r = 0u; r < R; r++) {
            vec4 lo, hi;
            w_load8(wb[r] + k, lo, hi);
            for (uint m = 0u; m < NM; m++) {
                uint xi = (xrow[m] + k) / 4u;
                acc[m * R + r] = fma(lo, XV4(xi), acc[m * R + r]);
                acc[m * R + r] = fma(hi, XV4(xi + 1u), acc[m * R + r]);
            }
        }
}

// ---------------------------------------------------------------- MODE 1: a lane a row, x shared
// 32 elements at a time: the 8 lanes' vec4s of x reach every lane (broadcast, lane-uniform texel
// fetches, or shuffles), then each lane takes them times its R weight rows (aligned rows; the
// last K % 32 elements one by one).
void mode1_accumulate(uint lid) {
    for (uint k = 0u; k + 32u <= p.K; k += 32u) {
        vec4 xb[8 * NM];
#if defined(TEXEL)
        if (X_SHUFFLE != 0u) {
            // every lane fetches its own 4 of the 32 and the subgroup trades them
            for (uint m = 0u; m < NM; m++) {
                vec4 xv = XV4((xrow[m] + k) / 4u + lid);
                [[unroll]] for (uint j = 0u; j < 8u; j++) xb[8u * m + j] = subgroupShuffle(xv, j);
            }
        } else {
            // a texel fetch at a lane-uniform address is cheap: no broadcast
            for (uint m = 0u; m < NM; m++)
                for (uint j = 0u; j < 8u; j++) xb[8u * m + j] = XV4((xrow[m] + k) / 4u + j);
        }
#else
        vec4 xv[NM];
        for (uint m = 0u; m < NM; m++) xv[m] = XV4((xrow[m] + k) / 4u + lid);
        // subgroupBroadcast wants constant lanes: lane j holds x[k + 4j .. k + 4j + 3]
        for (uint m = 0u; m < NM; m++) {
            xb[8u * m] = subgroupBroadcast(xv[m], 0u);
            xb[8u * m + 1u] = subgroupBroadcast(xv[m], 1u);
            xb[8u * m + 2u] = subgroupBroadcast(xv[m], 2u);
            xb[8u * m + 3u] = subgroupBroadcast(xv[m], 3u);
            xb[8u * m + 4u] = subgroupBroadcast(xv[m], 4u);
            xb[8u * m + 5u] = subgroupBroadcast(xv[m], 5u);
            xb[8u * m + 6u] = subgroupBroadcast(xv[m], 6u);
            xb[8u * m + 7u] = subgroupBroadcast(xv[m], 7u);
        }
#endif
#if defined(W_BLOCK)
        // a block format: the 32 elements are one block of each row (K % 32 == 0); its quants and
        // scale are fetched once, the block's sums scaled once
        for (uint r = 0u; r < R; r++) {
            uvec4 qa, qb;
            float d;
            w_block((wb[r] + k) >> 5, qa, qb, d);
            vec4 wv[8];
            [[unroll]] for (uint j = 0u; j < 4u; j++) w_block8(qa, qb, j, wv[2u * j], wv[2u * j + 1u]);
            for (uint m = 0u; m < NM; m++) {
                vec4 bs = vec4(0.0);
                [[unroll]] for (uint j = 0u; j < 8u; j++) bs = fma(wv[j], xb[8u * m + j], bs);
                acc[m * R + r] = fma(bs, vec4(d), acc[m * R + r]);
            }
        }
#else
        for (uint r = 0u; r < R; r++)
            for (uint j = 0u; j < 4u; j++) {
                vec4 lo, hi;
                w_load8(wb[r] + k + 8u * j, lo, hi);
                for (uint m = 0u; m < NM; m++)
                    acc[m * R + r] = fma(hi, xb[8u * m + 2u * j + 1u], fma(lo, xb[8u * m + 2u * j], acc[m * R + r]));
            }
#endif
    }
    accumulate_elements(p.K / 32u * 32u, 1u);
}

// ---------------------------------------------------------------- MODE 2: a lane a row, scalar sums
// The NM * R scalar sums a[] take 8 elements of x row m (XA, XC) times 8 of each weight row
// (lo[], hi[]). A macro, not a function: glslang does not reliably match array parameters sized
// by specialization constants.
#define MODE2_STEP(m, XA, XC)                                                                      \
    {                                                                                              \
        vec4 xa_ = (XA), xc_ = (XC);                                                               \
        for (uint r = 0u; r < R; r++) {                                                            \
            float v = a[(m) * R + r];                                                              \
            v = fma(lo[r].x, xa_.x, v);                                                            \
            v = fma(lo[r].y, xa_.y, v);                                                            \
            v = fma(lo[r].z, xa_.z, v);                                                            \
            v = fma(lo[r].w, xa_.w, v);                                                            \
            v = fma(hi[r].x, xc_.x, v);                                                            \
            v = fma(hi[r].y, xc_.y, v);                                                            \
            v = fma(hi[r].z, xc_.z, v);                                                            \
            v = fma(hi[r].w, xc_.w, v);                                                            \
            a[(m) * R + r] = v;                                                                    \
        }                                                                                          \
    }

// Aligned rows.
void mode2_accumulate(uint lid) {
    // scalar accumulators (one register each on lavapipe, where a vec4 is four), so that NM * R
    // of them fit: every weight word serves NM rows of x and every x value R weight rows
    float a[NM * R];
    for (uint i = 0u; i < NM * R; i++) a[i] = 0.0;
    uint k = 0u;
#if defined(W_BLOCK)
    // a block format: a block (32 elements, K % 32 == 0) a step, each weight row's quants and
    // scale fetched once a block (w_load8 would fetch a scale word per 8 elements); x as below
    for (; k < p.K; k += 32u) {
        uvec4 qa[R], qb[R];
        float d[R];
        for (uint r = 0u; r < R; r++) w_block((wb[r] + k) >> 5, qa[r], qb[r], d[r]);
#if defined(TEXEL)
        vec4 xv[NM];
        if (X_SHUFFLE != 0u)
            for (uint m = 0u; m < NM; m++) xv[m] = XV4((xrow[m] + k) / 4u + lid);
#endif
        [[unroll]] for (uint q = 0u; q < 4u; q++) {
            vec4 lo[R], hi[R];
            for (uint r = 0u; r < R; r++) {
                w_block8(qa[r], qb[r], q, lo[r], hi[r]);
                lo[r] *= d[r];
                hi[r] *= d[r];
            }
            for (uint m = 0u; m < NM; m++) {
#if defined(TEXEL)
                if (X_SHUFFLE != 0u) MODE2_STEP(m, subgroupShuffle(xv[m], 2u * q), subgroupShuffle(xv[m], 2u * q + 1u))
                else
#endif
                {
                    uint xi = (xrow[m] + k) / 4u + 2u * q;
                    MODE2_STEP(m, XV4(xi), XV4(xi + 1u))
                }
            }
        }
    }
#else
#if defined(TEXEL)
    if (X_SHUFFLE != 0u) {
        // x once per lane per 32 elements, traded by shuffles at constant lanes
        for (; k + 32u <= p.K; k += 32u) {
            vec4 xv[NM];
            for (uint m = 0u; m < NM; m++) xv[m] = XV4((xrow[m] + k) / 4u + lid);
            [[unroll]] for (uint q = 0u; q < 4u; q++) {
                vec4 lo[R], hi[R];
                for (uint r = 0u; r < R; r++) w_load8(wb[r] + k + 8u * q, lo[r], hi[r]);
                for (uint m = 0u; m < NM; m++)
                    MODE2_STEP(m, subgroupShuffle(xv[m], 2u * q), subgroupShuffle(xv[m], 2u * q + 1u))
            }
        }
    }
#endif
    for (; k < p.K; k += 8u) {
        vec4 lo[R], hi[R];
        for (uint r = 0u; r < R; r++) w_load8(wb[r] + k, lo[r], hi[r]);
        for (uint m = 0u; m < NM; m++) {
            uint xi = (xrow[m] + k) / 4u;
            MODE2_STEP(m, XV4(xi), XV4(xi + 1u))
        }
    }
#endif
    for (uint i = 0u; i < NM * R; i++) acc[i] = vec4(a[i], 0.0, 0.0, 0.0);
}

// ---------------------------------------------------------------- stores
float bias_at(uint n) {
    return p.bias_dtype != TLV_DT_NONE ? bias_elem(p.bias_off + n, p.bias_dtype) : 0.0;
}

// y[m, n] = act(sum + bv) (+ y[m, n]), bv = bias_at(n).
void store(uint m, uint n, float sum, float bv) {
    uint yi = p.y_off + m * p.y_stride + n;
    float v = act_apply(p.act, sum + bv);
    if (p.residual != 0u) v += y[yi];
    y[yi] = v;
}

// MODE 2: each lane stores its own NM * R sums, in one loop, not NM * R unrolled ones: the
// activations, bias and residual code made mode 2's pipelines take seconds to compile on lavapipe.
void lane_store(uint r0, uint rg, uint n_end, uint m0, uint m_end) {
    float sv[NM * R];
    for (uint i = 0u; i < NM * R; i++) sv[i] = acc[i].x;
    [[dont_unroll]] for (uint i = 0u; i < NM * R; i++) {
        uint m = i / R, n = r0 + rg + RG * (i % R);
        if (n < n_end && m0 + m < m_end) store(m0 + m, n, sv[i], bias_at(n));
    }
}

// MODES 0 and 1: the T threads of a row group add their vec4 sums (T = 1: nothing to add), and
// thread 0 stores them.
void reduce_store(uint r0, uint rg, uint t, uint lid, uint n_end, uint m0, uint m_end) {
    for (uint r = 0u; r < R; r++) {
        float s[NM];
        for (uint m = 0u; m < NM; m++) {
            vec4 a = acc[m * R + r];
            s[m] = (a.x + a.y) + (a.z + a.w);
        }
        if (T > 1u) {
            // the subgroup must be exactly the row group; some drivers pick another size
            if (USE_SUBGROUP != 0u && gl_SubgroupSize == T) {
                for (uint m = 0u; m < NM; m++) s[m] = subgroupAdd(s[m]);
            } else {
                for (uint m = 0u; m < NM; m++) red[m * WG + lid] = s[m];
                barrier();
                for (uint h = T / 2u; h > 0u; h >>= 1) {
                    if (t < h)
                        for (uint m = 0u; m < NM; m++) red[m * WG + lid] += red[m * WG + lid + h];
                    barrier();
                }
                for (uint m = 0u; m < NM; m++) s[m] = red[m * WG + rg * T];
                barrier();
            }
        }
        uint n = r0 + rg + RG * r;
        if (n < n_end && t == 0u) {
            float bv = bias_at(n);
            for (uint m = 0u; m < NM; m++)
                if (m0 + m < m_end) store(m0 + m, n, s[m], bv);
        }
    }
}

// ---------------------------------------------------------------- the passes
void main() {
    uint lid = gl_LocalInvocationID.x;
    uint rg = lid / T, t = lid % T;
    uint n_begin = gl_WorkGroupID.x * p.rows_per_wg;
    uint n_end = min(n_begin + p.rows_per_wg, p.N);
    uint m_begin = gl_WorkGroupID.y * p.m_per_wg;
    uint m_end = min(m_begin + p.m_per_wg, p.M);
    if (n_begin >= p.N || m_begin >= p.M) return; // whole workgroup

    for (uint m0 = m_begin; m0 < m_end; m0 += NM) {
        for (uint m = 0u; m < NM; m++) xrow[m] = p.x_off + min(m0 + m, m_end - 1u) * p.x_stride;

        for (uint r0 = n_begin; r0 < n_end; r0 += RG * R) {
            // this row group's rows: r0 + rg + RG * r; dead ones (past n_end) compute row
            // n_begin and stay in the loop for the barriers, their results are not stored
            for (uint r = 0u; r < R; r++) {
                uint n = r0 + rg + RG * r;
                wb[r] = (n < n_end ? n : n_begin) * p.K;
            }
            for (uint i = 0u; i < NM * R; i++) acc[i] = vec4(0.0);

            if (ALIGNED == 0u) accumulate_elements(t, T);
            else if (MODE == 2u) mode2_accumulate(lid);
            else if (MODE == 1u) mode1_accumulate(lid);
            else mode0_accumulate(t);

            if (MODE == 2u) lane_store(r0, rg, n_end, m0, m_end);
            else reduce_store(r0, rg, t, lid, n_end, m0, m_end);
        }
    }
}
