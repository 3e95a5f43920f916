#version 450
// matmul.comp: y[m, n] = act(sum_k x[m, k] w[n, k] + bias[n]) (+ y[m, n]) for many rows m (prefill,
// vision tower): shared-memory tiles with register blocking. Compiled once per weight format and
// texel choice (matmul_f16, matmul_f16_tex, ...: matmul_common.glsl).
//
// Workgroup (gx, gy) computes the BM x BN tile y[gy*BM.., gx*BN..]. Per step of BK along k, the
// threads copy a BM x BK tile of x and a BN x BK tile of w (decoded to f32) into shared memory,
// then each thread accumulates its TM x TN block: rows tm + i*(BM/TM), columns tn + j*(BN/TN)
// (strided, so neighbouring threads read neighbouring shared words). WG = (BM/TM) * (BN/TN).
// Shared memory: BK * (BM + BN) * 4 bytes, chosen by the op within caps.max_shared_bytes.
//
// ALIGNED = 1 promises K % 8 == 0, x_off and x_stride multiples of 4 and BK % 8 == 0: tiles are
// then copied a vec4 of x / 8 weights at a time; else element by element.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;
layout(constant_id = 6) const uint ALIGNED = 0;

#include "matmul_common.glsl"

const uint WG = gl_WorkGroupSize.x;
const uint TCOLS = BN / TN; // threads along n
shared float xs[BK * BM];   // xs[k * BM + m]
shared float ws[BK * BN];   // ws[k * BN + n]

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint tn = tid % TCOLS, tm = tid / TCOLS;
    uint n0 = gl_WorkGroupID.x * BN, m0 = gl_WorkGroupID.y * BM;
    uint M = p.M, N = p.N, K = p.K;
    float acc[TM * TN];
    for (uint i = 0u; i < TM * TN; i++) acc[i] = 0.0;

    for (uint k0 = 0u; k0 < K; k0 += BK) {
        if (ALIGNED != 0u) {
            for (uint i = tid; i < BM * BK / 4u; i += WG) {
                uint mm = i / (BK / 4u), kk = (i % (BK / 4u)) * 4u;
                uint gm = min(m0 + mm, M - 1u), gk = k0 + kk;
                vec4 v = gk < K ? X4((p.x_off + gm * p.x_stride + gk) / 4u) : vec4(0.0);
                xs[kk * BM + mm] = v.x;
                xs[(kk + 1u) * BM + mm] = v.y;
                xs[(kk + 2u) * BM + mm] = v.z;
                xs[(kk + 3u) * BM + mm] = v.w;
            }
            for (uint i = tid; i < BN * BK / 8u; i += WG) {
                uint nn = i / (BK / 8u), kk = (i % (BK / 8u)) * 8u;
                uint gn = min(n0 + nn, N - 1u), gk = k0 + kk;
                vec4 lo = vec4(0.0), hi = vec4(0.0);
                if (gk < K) w_load8(gn * K + gk, lo, hi);
                for (uint c = 0u; c < 4u; c++) {
                    ws[(kk + c) * BN + nn] = lo[c];
                    ws[(kk + 4u + c) * BN + nn] = hi[c];
                }
            }
        } else {
            for (uint i = tid; i < BM * BK; i += WG) {
                uint mm = i / BK, kk = i % BK;
                uint gm = min(m0 + mm, M - 1u), gk = k0 + kk;
                xs[kk * BM + mm] = gk < K ? X1(p.x_off + gm * p.x_stride + gk) : 0.0;
            }
            for (uint i = tid; i < BN * BK; i += WG) {
                uint nn = i / BK, kk = i % BK;
                uint gn = min(n0 + nn, N - 1u), gk = k0 + kk;
                ws[kk * BN + nn] = gk < K ? w_elem(gn * K + gk) : 0.0;
            }
        }
        barrier();
        for (uint kk = 0u; kk < BK; kk++) {
            float a[TM], b[TN];
            for (uint i = 0u; i < TM; i++) a[i] = xs[kk * BM + tm + i * (BM / TM)];
            for (uint j = 0u; j < TN; j++) b[j] = ws[kk * BN + tn + j * TCOLS];
            for (uint i = 0u; i < TM; i++)
                for (uint j = 0u; j < TN; j++) acc[i * TN + j] = fma(a[i], b[j], acc[i * TN + j]);
        }
        barrier();
    }

    for (uint j = 0u; j < TN; j++) {
        uint n = n0 + tn + j * TCOLS;
        if (n >= N) continue;
        float bv = p.bias_dtype != TLV_DT_NONE ? bias_elem(p.bias_off + n, p.bias_dtype) : 0.0;
        for (uint i = 0u; i < TM; i++) {
            uint m = m0 + tm + i * (BM / TM);
            if (m >= M) continue;
            uint yi = p.y_off + m * p.y_stride + n;
            float v = act_apply(p.act, acc[i * TN + j] + bv);
            if (p.residual != 0u) v += y[yi];
            y[yi] = v;
        }
    }
}
