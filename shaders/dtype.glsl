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
// A new weight format adds its branch to w_elem and w_load8 (and, for the embedding rows, to
// DT_LOAD or DT_LOAD_BLOCK) here.
//
// Block formats Q8_0 and Q4_0 (blocks of 32 along a row, GGUF's values), in the device layout of
// src/tensor.h: the slab's quants first (block i at byte i * 32 (Q8_0) or i * 16 (Q4_0), bytes in
// GGUF's order), then its f16 scales (scale i at byte 2 * i of the scale array). Element e of the
// slab (rows are whole blocks) is in block e / 32. The matrix kernels find the scale array at
// uvec4 W_SCALES of the bound slab (defined by the includer: a push constant); DT_LOAD_BLOCK takes
// its word index. Q8_0: x = int8 q * d; Q4_0: x = (nibble - 8) * d, element j < 16 of a block
// in the low nibble of byte j, element j + 16 in the high one. W_BLOCK is defined for them, with
// w_block() / w_block8() reading a whole block: the quants in one (Q4_0) or two (Q8_0) 16-byte
// words and the scale in one, where w_load8 fetches a scale word per 8 elements.
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

// Four int8 in a word (byte i = element i) / four nibbles (shift 0: low ones, 4: high ones) - 8.
vec4 q8_unpack4(uint w)
{
    return vec4(ivec4(int(w << 24), int(w << 16), int(w << 8), int(w)) >> 24);
}
vec4 q4_unpack4(uint w, uint sh)
{
    return vec4((uvec4(w, w >> 8, w >> 16, w >> 24) >> sh) & 0xfu) - 8.0;
}

// Element E of a block-format (Q8_0 / Q4_0, DT constant) uint[] buffer whose scale array starts
// at word SW.
#define DT_LOAD_BLOCK(BUF, DT, E, SW) \
    (f16_half(BUF[(SW) + ((E) >> 6)], ((E) >> 5) & 1u) * \
     ((DT) == TLV_DT_Q8_0 ? float(int(BUF[(E) >> 2] << (24u - 8u * ((E) & 3u))) >> 24) : \
      float((BUF[((E) >> 5) * 4u + (((E) & 15u) >> 2)] >> (8u * ((E) & 3u) + 4u * (((E) >> 4) & 1u))) & 0xfu) - 8.0))

// Four consecutive 16-bit elements (F16 or BF16) from the two words holding them.
vec4 dt_unpack4(uvec2 w, uint dt)
{
    if (dt == TLV_DT_F16) return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
    return vec4(bf16_half(w.x, 0u), bf16_half(w.x, 1u), bf16_half(w.y, 0u), bf16_half(w.y, 1u));
}

#if defined(W_DTYPE)
#if W_DTYPE == TLV_DT_Q8_0 || W_DTYPE == TLV_DT_Q4_0
#define W_BLOCK 1
// The scale of block blk of the slab.
float w_scale(uint blk)
{
    return f16_half(W4(W_SCALES + (blk >> 3))[(blk >> 1) & 3u], blk & 1u);
}

// Block blk: its quants (Q8_0: elements 0..15 in qa, 16..31 in qb; Q4_0: all in qa, qb unused)
// and its scale d.
void w_block(uint blk, out uvec4 qa, out uvec4 qb, out float d)
{
#if W_DTYPE == TLV_DT_Q8_0
    qa = W4(2u * blk);
    qb = W4(2u * blk + 1u);
#else
    qa = W4(blk);
    qb = qa;
#endif
    d = w_scale(blk);
}

// Elements 8i .. 8i + 7 of a block from w_block's words, not scaled: lo = 8i..8i+3, hi = the next
// four (i a constant after unrolling: the components are then fixed).
void w_block8(uvec4 qa, uvec4 qb, uint i, out vec4 lo, out vec4 hi)
{
#if W_DTYPE == TLV_DT_Q8_0
    uvec4 q = i < 2u ? qa : qb;
    uint c = (i & 1u) * 2u;
    lo = q8_unpack4(q[c]);
    hi = q8_unpack4(q[c + 1u]);
#else
    uint c = (i & 1u) * 2u, sh = (i >> 1) * 4u;
    lo = q4_unpack4(qa[c], sh);
    hi = q4_unpack4(qa[c + 1u], sh);
#endif
}
#endif

// Weight element e (counted from the start of the bound slab).
float w_elem(uint e)
{
#if W_DTYPE == TLV_DT_Q8_0
    uint j = e & 31u;
    uint word = W4(2u * (e >> 5) + (j >> 4))[(j >> 2) & 3u];
    return float(int(word << (24u - 8u * (j & 3u))) >> 24) * w_scale(e >> 5);
#elif W_DTYPE == TLV_DT_Q4_0
    uint j = e & 31u;
    uint word = W4(e >> 5)[(j & 15u) >> 2];
    return (float((word >> (8u * (j & 3u) + 4u * (j >> 4))) & 0xfu) - 8.0) * w_scale(e >> 5);
#elif W_DTYPE == TLV_DT_F32
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
#if defined(W_BLOCK)
    // one quant word and one scale word (w_block reads both of Q8_0's quant words)
    uint c = (e & 8u) >> 2;
    float d = w_scale(e >> 5);
#if W_DTYPE == TLV_DT_Q8_0
    uvec4 q = W4(2u * (e >> 5) + ((e >> 4) & 1u));
    lo = q8_unpack4(q[c]) * d;
    hi = q8_unpack4(q[c + 1u]) * d;
#else
    uvec4 q = W4(e >> 5);
    lo = q4_unpack4(q[c], (e >> 2) & 4u) * d;
    hi = q4_unpack4(q[c + 1u], (e >> 2) & 4u) * d;
#endif
#elif W_DTYPE == TLV_DT_F32
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
