#version 450
// matvec with F32 weights: the body is matvec.glsl
#extension GL_GOOGLE_include_directive : require
#define W_F32
#include "matvec.glsl"
