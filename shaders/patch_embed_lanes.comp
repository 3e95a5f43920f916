/* patch_embed_lanes.comp: the patch-embedding matmul of patch_embed.comp for CPU devices.
 * lavapipe turns every load whose address differs per lane into a loop over the lanes, while a
 * load the same for all lanes is one scalar load: so each lane owns output channels (PC of them,
 * wg apart) and the workgroup walks PM patches together, whose pixels are then the same for every
 * lane. Per k: PC lane-varying weight loads and PM uniform pixel loads feed PM x PC FMAs per lane.
 * k runs as (channel, ky, kx) with running offsets, no divisions. Grid: (ceil(n_rows / PM),
 * ceil(n_cols / (wg PC))). Same bindings and push constants as patch_embed.comp.
 * Block size measured on lavapipe (2 cores, SigLIP 729 x 588 x 1152, F16): PM x PC = 16 x 2
 * 1.66 s, 16 x 8 0.59 s, 32 x 16 0.29 s (a noisy machine: 0.29-0.58 s); 64 x 16 and 32 x 32 are
 * no faster and take minutes to compile (everything is unrolled). The shared-memory tiles take
 * 2.8 s there. */
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "dtype.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint W_DTYPE = TLV_DT_F32;
layout(constant_id = 2) const uint B_DTYPE = TLV_DT_NONE;
#define PM 32u
#define PC 16u

#include "basic.glsl"

layout(std430, set = 0, binding = 0) readonly buffer ImgBuf { float IMG[]; };
layout(std430, set = 0, binding = 1) readonly buffer WBuf { uint W[]; };
layout(std430, set = 0, binding = 2) readonly buffer BBuf { uint BIAS[]; };
layout(std430, set = 0, binding = 3) writeonly buffer YBuf { float Y[]; };

layout(push_constant) uniform Push {
    uint n_rows, m0, n_cols, n0, K, P, img_h, img_w, gw, y_off, y_stride;
} p;

void main()
{
    uint wg = gl_WorkGroupSize.x;
    uint mb = gl_WorkGroupID.x * PM;
    uint cb = gl_WorkGroupID.y * wg * PC + gl_LocalInvocationID.x;
    uint pbase[PM];
    [[unroll]] for (uint i = 0u; i < PM; i++) {
        uint gm = p.m0 + min(mb + i, p.n_rows - 1u); /* past the end: a valid patch, result dropped */
        uint py = gm / p.gw, px = gm - py * p.gw;
        pbase[i] = py * p.P * p.img_w + px * p.P;
    }
    uint wrow[PC];
    bool cok[PC];
    [[unroll]] for (uint j = 0u; j < PC; j++) {
        uint c = cb + j * wg;
        cok[j] = c < p.n_cols;
        wrow[j] = min(c, p.n_cols - 1u) * p.K;
    }
    float acc[PM][PC];
    [[unroll]] for (uint i = 0u; i < PM; i++)
        [[unroll]] for (uint j = 0u; j < PC; j++) acc[i][j] = 0.0;
    uint k = 0u;
    for (uint ch = 0u; ch < 3u; ch++) {
        for (uint ky = 0u; ky < p.P; ky++) {
            uint off = (ch * p.img_h + ky) * p.img_w;
            for (uint kx = 0u; kx < p.P; kx++, k++) {
                float w[PC];
                [[unroll]] for (uint j = 0u; j < PC; j++) {
                    uint e = wrow[j] + k;
                    w[j] = DT_LOAD(W, W_DTYPE, e);
                }
                [[unroll]] for (uint i = 0u; i < PM; i++) {
                    float a = IMG[pbase[i] + off + kx];
                    [[unroll]] for (uint j = 0u; j < PC; j++) acc[i][j] += a * w[j];
                }
            }
        }
    }
    [[unroll]] for (uint j = 0u; j < PC; j++) {
        if (!cok[j]) continue;
        uint gc = p.n0 + cb + j * wg;
        float b = B_DTYPE != TLV_DT_NONE ? DT_LOAD(BIAS, B_DTYPE, gc) : 0.0;
        [[unroll]] for (uint i = 0u; i < PM; i++)
            if (mb + i < p.n_rows) Y[p.y_off + (mb + i) * p.y_stride + gc] = acc[i][j] + b;
    }
}
