#version 450
// matvec with BF16 weights: the body is matvec.glsl
#extension GL_GOOGLE_include_directive : require
#define W_BF16
#include "matvec.glsl"
