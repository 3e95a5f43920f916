/* basic.glsl: helpers shared by the basic kernels (norm, ew, cast, embed, patch, topk).
 *
 * Dtype codes (spec constants): 0 = F32, 1 = F16, 2 = BF16, 3 = absent. F16/BF16 data are read as
 * 32-bit words, element 2k in the low half (tensor.h), so no 16-bit storage feature is needed. */
#ifndef TLV_BASIC_GLSL
#define TLV_BASIC_GLSL

#define DT_F32 0u
#define DT_F16 1u
#define DT_BF16 2u
#define DT_NONE 3u

float bf16_half(uint w, uint hi)
{
    return uintBitsToFloat(hi != 0u ? (w & 0xffff0000u) : (w << 16));
}

/* Element e (in elements from the binding's start) of a uint[] buffer holding dtype DT. */
#define LOAD_ANY(BUF, DT, E) \
    ((DT) == DT_F32 ? uintBitsToFloat(BUF[(E)]) : \
     (DT) == DT_F16 ? unpackHalf2x16(BUF[(E) >> 1])[(E) & 1u] : bf16_half(BUF[(E) >> 1], (E) & 1u))

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

/* Activations (ops.h tlv_act): 0 none, 1 gelu erf, 2 gelu tanh, 3 quick_gelu, 4 silu. */

/* erfc with fractional error < 1.2e-7 everywhere (Numerical Recipes' erfcc, a Chebyshev fit):
 * GELU's negative side is 0.5 x erfc(|x|/sqrt 2), where 1 + erf(x) would cancel. */
float erfc_f32(float x)
{
    float z = abs(x);
    float t = 1.0 / (1.0 + 0.5 * z);
    float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
              + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
              + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0.0 ? r : 2.0 - r;
}

/* x * sigmoid(a) as x / (1 + e^-a): for a -> -inf, e^-a = inf gives -0, never inf/inf. */
float x_sigmoid(float x, float a)
{
    return x / (1.0 + exp(-a));
}

float act_apply(uint act, float x)
{
    /* 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2) */
    if (act == 1u) return 0.5 * x * erfc_f32(-0.70710678118654752 * x);
    /* 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3) */
    if (act == 2u) return x_sigmoid(x, 1.5957691216057308 * (x + 0.044715 * x * x * x));
    if (act == 3u) return x_sigmoid(x, 1.702 * x);
    if (act == 4u) return x_sigmoid(x, x);
    return x;
}

#endif
