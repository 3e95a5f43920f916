// matmul_common.glsl: weight decoding and epilogue shared by the matvec and matmul shaders.
//
// The including file defines exactly one of W_F32, W_F16, W_BF16 (and TEXEL for the texel
// variants), then includes this file, which declares the bindings every matrix shader shares:
//   0  x  F32 activations, as floats and (aliased) as vec4
//   1  w  weights (one slab) as 32-bit words, 4 a load
//   (TEXEL: x and w are uniform texel buffers with an RGBA32UI view, read with texelFetch: on
//   lavapipe a gather, where a storage load with a lane-dependent address is a loop over the
//   SIMD lanes with a bounds check per lane; the op binds them so when caps.use_texel)
//   2  b  bias as 32-bit words, dtype in the push constants (any buffer when there is none)
//   3  y  F32 output, read too when the residual is added in place
// F16/BF16 elements sit two to a word, element 2k in the low half (tensor.h); a row of odd length
// may start in the middle of a word, so element-wise access goes through w_elem().

// Reads go through X4(i) (vec4 i of x), X1(e) (element e of x) and W4(i) (uvec4 i of w).
#if defined(TEXEL)
// A texel buffer is a plain image in SPIR-V for Vulkan 1.3+ (not a sampled image): texelFetch
// on it needs samplerless texture functions.
#extension GL_EXT_samplerless_texture_functions : require
layout(binding = 0) uniform utextureBuffer xt;
layout(binding = 1) uniform utextureBuffer wt;
#define X4(i) uintBitsToFloat(texelFetch(xt, int(i)))
#define X1(e) uintBitsToFloat(texelFetch(xt, int((e) >> 2u))[(e) & 3u])
#define W4(i) texelFetch(wt, int(i))
#else
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4b { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer W { uvec4 w4[]; };
#define X4(i) x4[i]
#define X1(e) x[e]
#define W4(i) w4[i]
#endif
layout(std430, binding = 2) readonly buffer B { uint bw[]; };
layout(std430, binding = 3) buffer Y { float y[]; };

// One push-constant block for both shaders, mirrored by struct matmul_push in src/ops/matmul.c.
layout(push_constant) uniform Push {
    uint M, N, K;          // x rows, weight rows in this slab (= y columns written), inner dimension
    uint x_off, x_stride;  // element of x[0, 0]; elements from one x row to the next
    uint y_off, y_stride;  // element of y[0, n0] (n0: the slab's first column); elements between y rows
    uint bias_off;         // element of bias[n0]
    uint bias_dtype;       // 0 none, 1 F32, 2 F16, 3 BF16
    uint act;              // tlv_act
    uint residual;         // 1: y = result + y (the residual already sits in y)
    uint rows_per_wg;      // matvec: weight rows per workgroup (a multiple of WG / T)
    uint m_per_wg;         // matvec: x rows per workgroup along y (a multiple of NM)
    uint x_act;            // matvec with GATED: the activation of the gate half of x (tlv_act)
} p;

// Element e (counted from the start of the bound slab).
float w_elem(uint e) {
#if defined(W_F32)
    return uintBitsToFloat(W4(e >> 2)[e & 3u]);
#else
    uint word = W4(e >> 3)[(e >> 1) & 3u];
#if defined(W_F16)
    return unpackHalf2x16(word >> ((e & 1u) * 16u)).x;
#else
    return uintBitsToFloat((e & 1u) != 0u ? (word & 0xffff0000u) : (word << 16));
#endif
#endif
}

// Eight elements starting at e, e a multiple of 8 (the aligned fast path): lo = e..e+3, hi = e+4..e+7.
void w_load8(uint e, out vec4 lo, out vec4 hi) {
#if defined(W_F32)
    lo = uintBitsToFloat(W4(e >> 2));
    hi = uintBitsToFloat(W4((e >> 2) + 1u));
#else
    uvec4 q = W4(e >> 3);
#if defined(W_F16)
    lo = vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
    hi = vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
#else
    lo = uintBitsToFloat(uvec4(q.x << 16, q.x & 0xffff0000u, q.y << 16, q.y & 0xffff0000u));
    hi = uintBitsToFloat(uvec4(q.z << 16, q.z & 0xffff0000u, q.w << 16, q.w & 0xffff0000u));
#endif
#endif
}

// Bias element n in dtype bias_dtype: 1 F32, 2 F16, 3 BF16 (0: no bias, not called).
float bias_elem(uint n, uint bias_dtype) {
    if (bias_dtype == 1u) return uintBitsToFloat(bw[n]);
    uint word = bw[n >> 1];
    if (bias_dtype == 2u) return unpackHalf2x16(word >> ((n & 1u) * 16u)).x;
    return uintBitsToFloat((n & 1u) != 0u ? (word & 0xffff0000u) : (word << 16));
}

// erf with |error| < 1.5e-7 (Abramowitz and Stegun 7.1.26); GLSL has no erf.
float erf_as(float x) {
    float a = abs(x);
    float t = 1.0 / (1.0 + 0.3275911 * a);
    float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
    return sign(x) * y;
}

// Activations: the values of tlv_act (ops.h).
float act_apply(float v, uint act) {
    if (act == 1u) return 0.5 * v * (1.0 + erf_as(v * 0.70710678118654752));
    if (act == 2u) {
        float u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
        return 0.5 * v * (1.0 + tanh(clamp(u, -15.0, 15.0)));
    }
    if (act == 3u) return v / (1.0 + exp(-1.702 * v));
    if (act == 4u) return v / (1.0 + exp(-v));
    return v;
}
