// dtype.glsl: every read of a stored dtype, in one place. Tensors are read as 32-bit words, so no
// 8- or 16-bit storage feature is needed: F32 one element a word, F16 and BF16 two elements a
// word, element 2k in the low half (tensor.h); a row of odd length may start in the middle of a
// word. The codes are shaders/dtype.h's, shared with C.
//
// Two kinds of read:
//   - dtype a (specialization) constant, any uint[] buffer: DT_LOAD(BUF, DT, E) (element E) and
//     dt_unpack4(words, DT) (four 16-bit elements); the basic kernels, biases, norm weights.
//   - the matrix kernels' weights, format fixed at compile time by W_DTYPE (one SPIR-V module per
//     format, cmake/Shaders.cmake), read through the kernel's W4(i) (uvec4 i of the bound slab):
//     w_elem(e) and w_load8(e, lo, hi).
// A new weight format (e.g. a block format: a scale and packed integers per 32 elements of a row)
// adds its branch to w_elem and w_load8 (and, for the embedding rows, to DT_LOAD) here.
#ifndef TLV_DTYPE_GLSL
#define TLV_DTYPE_GLSL

#include "dtype.h"

// The high (hi = 1) or low (hi = 0) half of a word holding two F16 or two BF16 elements.
float f16_half(uint w, uint hi)
{
    return unpackHalf2x16(w)[hi];
}
float bf16_half(uint w, uint hi)
{
    return uintBitsToFloat(hi != 0u ? (w & 0xffff0000u) : (w << 16));
}

// Element E (in elements from the binding's start) of a uint[] buffer holding dtype DT (a
// constant or specialization constant: only the branch of DT is kept).
#define DT_LOAD(BUF, DT, E) \
    ((DT) == TLV_DT_F32 ? uintBitsToFloat(BUF[(E)]) : \
     (DT) == TLV_DT_F16 ? f16_half(BUF[(E) >> 1], (E) & 1u) : bf16_half(BUF[(E) >> 1], (E) & 1u))

// Four consecutive 16-bit elements (F16 or BF16) from the two words holding them.
vec4 dt_unpack4(uvec2 w, uint dt)
{
    if (dt == TLV_DT_F16) return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
    return vec4(bf16_half(w.x, 0u), bf16_half(w.x, 1u), bf16_half(w.y, 0u), bf16_half(w.y, 1u));
}

#if defined(W_DTYPE)
// Weight element e (counted from the start of the bound slab).
float w_elem(uint e)
{
#if W_DTYPE == TLV_DT_F32
    return uintBitsToFloat(W4(e >> 2)[e & 3u]);
#else
    uint word = W4(e >> 3)[(e >> 1) & 3u];
#if W_DTYPE == TLV_DT_F16
    return f16_half(word, e & 1u);
#elif W_DTYPE == TLV_DT_BF16
    return bf16_half(word, e & 1u);
#else
#error "w_elem: unknown W_DTYPE"
#endif
#endif
}

// Eight weight elements starting at e, e a multiple of 8 (the aligned fast path): lo = e..e+3,
// hi = e+4..e+7.
void w_load8(uint e, out vec4 lo, out vec4 hi)
{
#if W_DTYPE == TLV_DT_F32
    lo = uintBitsToFloat(W4(e >> 2));
    hi = uintBitsToFloat(W4((e >> 2) + 1u));
#else
    uvec4 q = W4(e >> 3);
#if W_DTYPE == TLV_DT_F16
    lo = vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
    hi = vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w));
#elif W_DTYPE == TLV_DT_BF16
    lo = uintBitsToFloat(uvec4(q.x << 16, q.x & 0xffff0000u, q.y << 16, q.y & 0xffff0000u));
    hi = uintBitsToFloat(uvec4(q.z << 16, q.z & 0xffff0000u, q.w << 16, q.w & 0xffff0000u));
#else
#error "w_load8: unknown W_DTYPE"
#endif
#endif
}
#endif // W_DTYPE

#endif
