#version 450
// Writes n rows of K or V (from a projection output, possibly a slice of a fused QKV row) into
// the cache at positions pos0 .. pos0 + n - 1, optionally applying RoPE (rope.glsl) on the way
// (position = cache position).
//   src element (row i, head h, dim d): src_off + i * src_rs + h * src_hs + d
//   dst element (position p, head h, dim d): dst_off + p * dst_rs + h * dst_hs + d
// Grid: y = row (gl_WorkGroupID.y + z * y_count), x over (head, d).
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer SBuf { float src[]; };
layout(std430, binding = 1) writeonly buffer DBuf { float dst[]; };
#define ROPE_TABLE_BINDING 2
#include "rope.glsl"

layout(push_constant) uniform Push {
    uint src_off, src_rs, src_hs;
    uint dst_off, dst_rs, dst_hs;
    uint n_rows, n_heads, head_dim;
    uint pos0;
    uint half_rot;   // rot / 2, 0 = no RoPE
    uint table_rows; // positions in the table
    uint y_count;
} p;

void main()
{
    const uint row = gl_WorkGroupID.z * p.y_count + gl_WorkGroupID.y;
    const uint t = gl_GlobalInvocationID.x;
    if (row >= p.n_rows || t >= p.n_heads * p.head_dim)
        return;
    const uint d = t % p.head_dim;
    const uint hh = t / p.head_dim;
    const uint sb = p.src_off + row * p.src_rs + hh * p.src_hs;
    const uint pos = p.pos0 + row;
    float v;
    if (d < 2u * p.half_rot) {
        const uint j = d < p.half_rot ? d : d - p.half_rot;
        const vec2 r = rope_rotate(src[sb + j], src[sb + j + p.half_rot], rope_cs(int(pos), j, p.half_rot, p.table_rows));
        v = d < p.half_rot ? r.x : r.y;
    } else {
        v = src[sb + d];
    }
    dst[p.dst_off + pos * p.dst_rs + hh * p.dst_hs + d] = v;
}
