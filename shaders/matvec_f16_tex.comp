#version 450
// matvec with F16 weights, x and w read through uniform texel buffers: the body is matvec.glsl
#extension GL_GOOGLE_include_directive : require
#define W_F16
#define TEXEL
#include "matvec.glsl"
