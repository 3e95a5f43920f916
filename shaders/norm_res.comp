/* norm_res.comp: basic_norm.glsl variant (HAS_RES). */
#version 450
#extension GL_GOOGLE_include_directive : require
#define HAS_RES
#include "basic_norm.glsl"
