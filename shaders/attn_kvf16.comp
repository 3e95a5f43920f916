#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// attn.comp for the f16 KV cache (KV_F16: K and V F16, two halves a 32-bit word).
// Flash attention (see attn.glsl), q and the accumulators in registers.
// Specialization: 0 = rows per workgroup, 3 = head_dim, 4 = keys per block.
#define KV_F16 1
#include "attn.glsl"
