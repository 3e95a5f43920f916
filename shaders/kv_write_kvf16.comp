#version 450
#extension GL_GOOGLE_include_directive : require
// K or V rows into an F16 cache (the f16 KV cache), RoPE on the way for K (see kv_write.glsl).
#define KV_F16 1
#include "kv_write.glsl"
