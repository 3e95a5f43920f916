#version 450
// tiled matmul with F32 weights: the body is matmul.glsl
#extension GL_GOOGLE_include_directive : require
#define W_F32
#include "matmul.glsl"
