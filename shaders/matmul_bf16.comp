#version 450
// tiled matmul with BF16 weights: the body is matmul.glsl
#extension GL_GOOGLE_include_directive : require
#define W_BF16
#include "matmul.glsl"
