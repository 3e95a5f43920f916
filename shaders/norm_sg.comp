/* norm_sg.comp: basic_norm.glsl variant (USE_SUBGROUPS). */
#version 450
#extension GL_GOOGLE_include_directive : require
#define USE_SUBGROUPS
#include "basic_norm.glsl"
