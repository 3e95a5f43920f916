#version 450
// probe_read_tex: streaming read bandwidth through a uniform texel buffer; the body is probe_read.glsl
#extension GL_GOOGLE_include_directive : require
#define TEXEL
#include "probe_read.glsl"
