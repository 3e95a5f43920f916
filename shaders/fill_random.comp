#version 450
// Synthetic weights for the bench (no download needed): x[i] = offset + scale * u(i), with u a
// hash-based uniform number in [-1, 1) of (seed, i). Writes n elements of F32 or of F16/BF16
// packed two to a word (DTYPE: shaders/dtype.h), starting at element 0 of the binding.
#extension GL_GOOGLE_include_directive : require
#include "dtype.h"
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DTYPE = TLV_DT_F32;
layout(std430, binding = 0) writeonly buffer Y { uint y[]; };
layout(push_constant) uniform P { uint n; uint seed; float scale; float offset; } p;

uint pcg_hash(uint v)
{
    uint state = v * 747796405u + 2891336453u;
    uint word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

float value(uint i)
{
    uint h = pcg_hash(i ^ pcg_hash(p.seed));
    return p.offset + p.scale * (float(h >> 8) * (2.0 / 16777216.0) - 1.0);
}

void main()
{
    uint w = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (DTYPE == TLV_DT_F32) {
        if (w < p.n) y[w] = floatBitsToUint(value(w));
        return;
    }
    uint i = 2u * w;
    if (i >= p.n) return;
    float a = value(i), b = i + 1u < p.n ? value(i + 1u) : 0.0;
    if (DTYPE == TLV_DT_F16) {
        y[w] = packHalf2x16(vec2(a, b));
    } else {
        // bf16: round to nearest even
        uint ua = floatBitsToUint(a), ub = floatBitsToUint(b);
        ua = (ua + 0x7fffu + ((ua >> 16) & 1u)) >> 16;
        ub = (ub + 0x7fffu + ((ub >> 16) & 1u)) >> 16;
        y[w] = ua | (ub << 16);
    }
}
