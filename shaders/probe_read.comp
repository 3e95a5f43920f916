#version 450
// probe_read: streaming read bandwidth through a storage buffer; the body is probe_read.glsl
#extension GL_GOOGLE_include_directive : require
#include "probe_read.glsl"
