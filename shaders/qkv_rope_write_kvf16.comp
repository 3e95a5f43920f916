#version 450
#extension GL_GOOGLE_include_directive : require
// RoPE on q, K and V into F16 caches (the f16 KV cache), one dispatch (see qkv_rope_write.glsl).
#define KV_F16 1
#include "qkv_rope_write.glsl"
