/* cast.comp: y[y_off + i] = x[x_off + i] for i < n, converting between F32, F16 and BF16 (both
 * directions, round to nearest even). Offsets in elements. A 16-bit output is written a 32-bit
 * word at a time by one invocation; a word only half inside the range keeps its other half
 * (read-modify-write: no other invocation of the dispatch touches that word). */
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint X_DTYPE = 0u;
layout(constant_id = 2) const uint Y_DTYPE = 0u;

#include "basic.glsl"

layout(std430, set = 0, binding = 0) readonly buffer XBuf { uint X[]; };
layout(std430, set = 0, binding = 1) buffer YBuf { uint Y[]; };

layout(push_constant) uniform Push {
    uint n;
    uint x_off;
    uint y_off;
    uint per_wg; /* output words (F16/BF16) or elements (F32) per workgroup */
} p;

uint to_bits(float f)
{
    return Y_DTYPE == TLV_DT_F16 ? f32_to_f16_bits(f) : f32_to_bf16_bits(f);
}

void main()
{
    uint w0 = flat_wg_id() * p.per_wg;
    if (Y_DTYPE == TLV_DT_F32) {
        uint w1 = min(w0 + p.per_wg, p.n);
        for (uint i = w0 + gl_LocalInvocationID.x; i < w1; i += gl_WorkGroupSize.x) {
            uint ex = p.x_off + i;
            Y[p.y_off + i] = floatBitsToUint(DT_LOAD(X, X_DTYPE, ex));
        }
        return;
    }
    /* 16-bit output: word k of the dispatch covers output elements 2 (first + k) + {0, 1},
     * first = y_off / 2; element j of the range is y_off + j. */
    uint first = p.y_off >> 1;
    uint n_words = ((p.y_off + p.n + 1u) >> 1) - first;
    uint w1 = min(w0 + p.per_wg, n_words);
    for (uint k = w0 + gl_LocalInvocationID.x; k < w1; k += gl_WorkGroupSize.x) {
        uint word = first + k;
        uint out_bits = 0u;
        bool keep = false;
        for (uint h = 0u; h < 2u; h++) {
            uint ey = 2u * word + h;
            uint bits;
            if (ey >= p.y_off && ey < p.y_off + p.n) {
                uint ex = p.x_off + (ey - p.y_off);
                bits = to_bits(DT_LOAD(X, X_DTYPE, ex));
            } else {
                keep = true;
                bits = 0u;
            }
            out_bits |= bits << (16u * h);
        }
        if (keep) {
            uint old = Y[word];
            bool lo_in = 2u * word >= p.y_off;
            out_bits = lo_in ? (out_bits & 0xffffu) | (old & 0xffff0000u) : (out_bits & 0xffff0000u) | (old & 0xffffu);
        }
        Y[word] = out_bits;
    }
}
