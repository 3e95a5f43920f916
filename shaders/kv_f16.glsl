// kv_f16.glsl: stores into the f16 KV cache (kv_write*.comp, qkv_rope_write*.comp). The cache is a
// uint[] buffer of F16, element 2k in the low half of word k (shaders/dtype.glsl's layout), so no
// 16-bit storage feature is needed. Values are clamped to the largest finite f16 (65504) before
// rounding to nearest even (packHalf2x16), so an outlier in K or V saturates instead of becoming
// inf (and the softmax NaN).
//
// Two ways to store: kv_pack2 makes a whole word of two elements (the invocation owns the word:
// head_dim, the cache offset and strides even); KV_STORE_HALF merges one element into its word
// with two atomics (any layout: odd head_dim, odd offsets or strides, where a word's other half
// belongs to another invocation or to a position written earlier).
#ifndef TLV_KV_F16_GLSL
#define TLV_KV_F16_GLSL

const float KV_F16_MAX = 65504.0;

uint kv_pack2(float a, float b)
{
    return packHalf2x16(clamp(vec2(a, b), vec2(-KV_F16_MAX), vec2(KV_F16_MAX)));
}

// Element E (uint index of elements) of BUF (a uint[] buffer, not writeonly) gets X as f16.
#define KV_STORE_HALF(BUF, E, X)                                         \
    {                                                                    \
        const uint kv_e_ = (E);                                          \
        const uint kv_sh_ = (kv_e_ & 1u) * 16u;                          \
        const uint kv_h_ = kv_pack2((X), 0.0) & 0xffffu;                 \
        atomicAnd(BUF[kv_e_ >> 1], ~(0xffffu << kv_sh_));                \
        atomicOr(BUF[kv_e_ >> 1], kv_h_ << kv_sh_);                      \
    }

#endif
