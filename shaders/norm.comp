/* norm.comp: basic_norm.glsl variant (shared-memory reduction). */
#version 450
#extension GL_GOOGLE_include_directive : require
#include "basic_norm.glsl"
