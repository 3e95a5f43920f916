#version 450
// matmul with BF16 weights, x and w read through uniform texel buffers: the body is matmul.glsl
#extension GL_GOOGLE_include_directive : require
#define W_BF16
#define TEXEL
#include "matmul.glsl"
