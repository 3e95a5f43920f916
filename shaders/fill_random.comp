#version 450
// Synthetic weights for the bench (no download needed): x[i] = offset + scale * u(i), with u a
// hash-based uniform number in [-1, 1) of (seed, i). Writes n elements of F32 or of F16/BF16
// packed two to a word (DTYPE: shaders/dtype.h), starting at element 0 of the binding.
// Block formats (Q8_0, Q4_0; n whole blocks, the device layout of src/tensor.h): every block gets
// the scale d = (|offset| + |scale|) / 127 (Q8_0) or / 7 (Q4_0), rounded to f16, and quants
// q = round(x[i] / d) clamped to the format's range, so the values are x[i] to within d / 2 (the
// quants are random, the scales all alike).
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

// The block formats' shared scale (f16-rounded) and quant of element i.
float block_scale()
{
    float d = (abs(p.offset) + abs(p.scale)) / (DTYPE == TLV_DT_Q8_0 ? 127.0 : 7.0);
    return unpackHalf2x16(packHalf2x16(vec2(d, 0.0))).x;
}
uint quant(uint i, float d)
{
    float q = d > 0.0 ? round(value(i) / d) : 0.0;
    if (DTYPE == TLV_DT_Q8_0) return uint(int(clamp(q, -127.0, 127.0))) & 0xffu;
    return uint(clamp(q + 8.0, 0.0, 15.0));
}

void fill_block(uint w)
{
    float d = block_scale();
    uint qwords = DTYPE == TLV_DT_Q8_0 ? p.n / 4u : p.n / 8u;
    if (w < qwords) {
        uint v = 0u;
        if (DTYPE == TLV_DT_Q8_0) {
            for (uint b = 0u; b < 4u; b++) v |= quant(4u * w + b, d) << (8u * b);
        } else {
            // word w: bytes 4(w%4) .. +3 of block w/4; byte j holds elements j and j + 16
            uint e0 = (w >> 2) * 32u + (w & 3u) * 4u;
            for (uint b = 0u; b < 4u; b++) v |= (quant(e0 + b, d) | quant(e0 + b + 16u, d) << 4) << (8u * b);
        }
        y[w] = v;
    } else if (w < qwords + (p.n / 32u + 1u) / 2u) {
        y[w] = packHalf2x16(vec2(d, d));
    }
}

void main()
{
    uint w = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (DTYPE == TLV_DT_Q8_0 || DTYPE == TLV_DT_Q4_0) {
        fill_block(w);
        return;
    }
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
