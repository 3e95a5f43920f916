#version 450
// matvec with F16 weights: the body is matvec.glsl
#extension GL_GOOGLE_include_directive : require
#define W_F16
#include "matvec.glsl"
