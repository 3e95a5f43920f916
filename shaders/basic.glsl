/* basic.glsl: helpers shared by the basic kernels (norm, ew, cast, embed, patch, topk).
 *
 * Dtypes come as specialization constants (shaders/dtype.h codes; TLV_DT_NONE = absent) and are
 * read through dtype.glsl. */
#ifndef TLV_BASIC_GLSL
#define TLV_BASIC_GLSL

#include "dtype.glsl"

/* f32 -> f16 bits, round to nearest even (PackHalf2x16's rounding is not specified), overflow to
 * inf, NaN stays NaN. */
uint f32_to_f16_bits(float f)
{
    uint x = floatBitsToUint(f);
    uint sign = (x >> 16) & 0x8000u;
    uint ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u);
    if (ax >= 0x477ff000u) return sign | 0x7c00u; /* >= 65520 rounds to inf */
    if (ax < 0x38800000u) {                        /* below 2^-14: a subnormal half (or 0) */
        float v = uintBitsToFloat(ax);
        return sign | uint(roundEven(v * 16777216.0)); /* exact scaling, then RNE */
    }
    uint h = (((ax >> 23) - 112u) << 10) | ((ax & 0x7fffffu) >> 13);
    uint rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0u)) h += 1u; /* a carry may reach inf: right */
    return sign | h;
}

/* f32 -> bf16 bits, round to nearest even, NaN stays NaN. */
uint f32_to_bf16_bits(float f)
{
    uint x = floatBitsToUint(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return ((x >> 16) & 0x8000u) | 0x7fc0u;
    return (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
}

/* Flat workgroup index over a 2-D grid (the ops split big counts over gl_NumWorkGroups.y). */
uint flat_wg_id()
{
    return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}

#endif
