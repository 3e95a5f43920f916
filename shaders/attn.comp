#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Flash attention (see attn.glsl), q and the accumulators in registers.
// Specialization: 0 = rows per workgroup, 3 = head_dim, 4 = keys per block.
#include "attn.glsl"
