#version 450
// tiled matmul with F16 weights: the body is matmul.glsl
#extension GL_GOOGLE_include_directive : require
#define W_F16
#include "matmul.glsl"
