/* patch_embed.comp: a conv with kernel = stride = P, valid padding, as a matmul
 * y[m][c] = bias[c] + sum_k img_patch[m][k] * W[c][k], k = (ch, ky, kx) (PyTorch's
 * [hidden, 3, P, P] weight flattened), without materialising the patches (im2col on the fly).
 * Patch m = m0 + local row, at grid position (m / gw, m % gw); pixels past gw * P (or gh * P)
 * are never read (valid padding). Tiles: TM patches x TN channels per workgroup of 64
 * invocations (8 x 8, each TM/8 x TN/8 outputs), K staged through shared memory TK at a time.
 * The weight binding is one slab holding channels [n0, n0 + n_cols). */
#version 450
#extension GL_GOOGLE_include_directive : require
#include "dtype.h"

layout(local_size_x_id = 0) in; /* must be 64 */
layout(constant_id = 1) const uint W_DTYPE = TLV_DT_F32;
layout(constant_id = 2) const uint B_DTYPE = TLV_DT_NONE;
#define TM 32u
#define TN 32u
#define TK 16u

#include "basic.glsl"

layout(std430, set = 0, binding = 0) readonly buffer ImgBuf { float IMG[]; };
layout(std430, set = 0, binding = 1) readonly buffer WBuf { uint W[]; };
layout(std430, set = 0, binding = 2) readonly buffer BBuf { uint BIAS[]; };
layout(std430, set = 0, binding = 3) writeonly buffer YBuf { float Y[]; };

layout(push_constant) uniform Push {
    uint n_rows;   /* patches in this dispatch */
    uint m0;       /* first patch */
    uint n_cols;   /* channels in this weight slab */
    uint n0;       /* first channel of the slab */
    uint K;        /* 3 * P * P */
    uint P;
    uint img_h, img_w;
    uint gw;
    uint y_off, y_stride;
} p;

shared float As[TK][TM + 1u];
shared float Bs[TK][TN + 1u];

void main()
{
    uint l = gl_LocalInvocationID.x;
    uint tx = l % 8u, ty = l / 8u;
    uint rm = gl_WorkGroupID.x * TM, rn = gl_WorkGroupID.y * TN;
    float acc[TM / 8u][TN / 8u];
    for (uint i = 0u; i < TM / 8u; i++)
        for (uint j = 0u; j < TN / 8u; j++) acc[i][j] = 0.0;
    uint pp = p.P * p.P;
    for (uint k0 = 0u; k0 < p.K; k0 += TK) {
        /* 64 invocations load TK x TM patch values and TK x TN weights, 8 of each */
        for (uint t = l; t < TK * TM; t += 64u) {
            uint kk = t % TK, mm = t / TK;
            uint k = k0 + kk, m = rm + mm;
            float v = 0.0;
            if (k < p.K && m < p.n_rows) {
                uint gm = p.m0 + m;
                uint py = gm / p.gw, px = gm - py * p.gw;
                uint ch = k / pp, r = k - ch * pp;
                uint ky = r / p.P, kx = r - ky * p.P;
                v = IMG[(ch * p.img_h + py * p.P + ky) * p.img_w + px * p.P + kx];
            }
            As[kk][mm] = v;
        }
        for (uint t = l; t < TK * TN; t += 64u) {
            uint kk = t % TK, nn = t / TK;
            uint k = k0 + kk, c = rn + nn;
            float v = 0.0;
            if (k < p.K && c < p.n_cols) {
                uint e = c * p.K + k;
                v = DT_LOAD(W, W_DTYPE, e);
            }
            Bs[kk][nn] = v;
        }
        barrier();
        for (uint kk = 0u; kk < TK; kk++) {
            float a[TM / 8u], b[TN / 8u];
            for (uint i = 0u; i < TM / 8u; i++) a[i] = As[kk][ty + 8u * i];
            for (uint j = 0u; j < TN / 8u; j++) b[j] = Bs[kk][tx + 8u * j];
            for (uint i = 0u; i < TM / 8u; i++)
                for (uint j = 0u; j < TN / 8u; j++) acc[i][j] += a[i] * b[j];
        }
        barrier();
    }
    for (uint i = 0u; i < TM / 8u; i++) {
        uint m = rm + ty + 8u * i;
        if (m >= p.n_rows) continue;
        for (uint j = 0u; j < TN / 8u; j++) {
            uint c = rn + tx + 8u * j;
            if (c >= p.n_cols) continue;
            float v = acc[i][j];
            uint gc = p.n0 + c;
            if (B_DTYPE != TLV_DT_NONE) v += DT_LOAD(BIAS, B_DTYPE, gc);
            Y[p.y_off + m * p.y_stride + gc] = v;
        }
    }
}
