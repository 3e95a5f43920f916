/* norm_res_sg.comp: basic_norm.glsl variant (USE_SUBGROUPS HAS_RES). */
#version 450
#extension GL_GOOGLE_include_directive : require
#define USE_SUBGROUPS
#define HAS_RES
#include "basic_norm.glsl"
