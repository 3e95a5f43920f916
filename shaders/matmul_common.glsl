// matmul_common.glsl: bindings, push constants and the bias read shared by the matvec and matmul
// shaders (weight reads: dtype.glsl; activations: activations.glsl).
//
// cmake/Shaders.cmake compiles matvec.comp and matmul.comp once per weight format and texel
// choice, with -DW_DTYPE=TLV_DT_<format> (shaders/dtype.h) and -DTEXEL for the texel variants
// (modules matvec_f16, matvec_f16_tex, ...). This file declares the bindings every matrix shader
// shares:
//   0  x  F32 activations, as floats and (aliased) as vec4
//   1  w  weights (one slab) as 32-bit words, 4 a load
//   (TEXEL: x and w are uniform texel buffers with an RGBA32UI view, read with texelFetch: on
//   lavapipe a gather, where a storage load with a lane-dependent address is a loop over the
//   SIMD lanes with a bounds check per lane; the op binds them so when caps.use_texel)
//   2  b  bias as 32-bit words, dtype in the push constants (any buffer when there is none)
//   3  y  F32 output, read too when the residual is added in place
// F16/BF16 elements sit two to a word, element 2k in the low half (tensor.h); a row of odd length
// may start in the middle of a word, so element-wise access goes through w_elem() (dtype.glsl).
// Block formats (Q8_0, Q4_0): quants then scales per slab (tensor.h), the scales at uvec4
// p.w_scales; rows are whole blocks, so K % 32 == 0 and ALIGNED always holds for them.

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
    uint bias_dtype;       // shaders/dtype.h; TLV_DT_NONE: no bias
    uint act;              // tlv_act
    uint residual;         // 1: y = result + y (the residual already sits in y)
    uint rows_per_wg;      // matvec: weight rows per workgroup (a multiple of WG / T)
    uint m_per_wg;         // matvec: x rows per workgroup along y (a multiple of NM)
    uint x_act;            // matvec with GATED: the activation of the gate half of x (tlv_act)
    uint w_scales;         // block weight formats: uvec4 index of the slab's scale array (tensor.h)
} p;
#define W_SCALES p.w_scales

#include "dtype.glsl"
#include "activations.glsl"

// Bias element n in dtype bias_dtype (shaders/dtype.h; TLV_DT_NONE: no bias, not called). A
// push constant, so not DT_LOAD (whose branches are for constant dtypes).
float bias_elem(uint n, uint bias_dtype) {
    if (bias_dtype == TLV_DT_F32) return uintBitsToFloat(bw[n]);
    uint word = bw[n >> 1];
    if (bias_dtype == TLV_DT_F16) return f16_half(word, n & 1u);
    return bf16_half(word, n & 1u);
}
