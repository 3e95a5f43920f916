#version 450
#extension GL_GOOGLE_include_directive : require
// K or V rows into an F32 cache, RoPE on the way for K (see kv_write.glsl).
#include "kv_write.glsl"
