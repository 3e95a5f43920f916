#version 450
#extension GL_GOOGLE_include_directive : require
// RoPE on q, K and V into F32 caches, one dispatch (see qkv_rope_write.glsl).
#include "qkv_rope_write.glsl"
