#version 450
// matvec with F32 weights, x and w read through uniform texel buffers: the body is matvec.glsl
#extension GL_GOOGLE_include_directive : require
#define W_F32
#define TEXEL
#include "matvec.glsl"
