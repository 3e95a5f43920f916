#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// attn_dsplit_shared.comp for the f16 KV cache (KV_F16: K and V F16, two halves a 32-bit word).
// Flash attention, head dim split over the lanes, shared-memory sums (subgroups off; see
// attn_dsplit.glsl). Specialization: 0 = lanes, 3 = head_dim, 4 = keys per block, 5 = rows.
#define DSPLIT_SUBGROUP 0
#define DSPLIT_TEXEL 0
#define KV_F16 1
#include "attn_dsplit.glsl"
