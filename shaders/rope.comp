#version 450
// RoPE in place on the first rot dims of each head of each row (rope.glsl). The position of row i
// is pos_buf[pos_off + i] (use_pos) or pos0 + i.
// Grid: y = row (gl_WorkGroupID.y + z * y_count), x over (head, j).
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) buffer XBuf { float x[]; };
#define ROPE_TABLE_BINDING 1
#include "rope.glsl"
layout(std430, binding = 2) readonly buffer PosBuf { int pos_buf[]; };

layout(push_constant) uniform Push {
    uint off, rs, hs;
    uint n_rows, n_heads;
    uint half_rot;   // rot / 2
    uint use_pos;    // 1: position of row i = pos_buf[pos_off + i]; 0: pos0 + i
    uint pos_off;
    uint pos0;
    uint table_rows; // positions in the table (rope_cs clamps; the host checks pos0 + n_rows)
    uint y_count;
} p;

void main()
{
    const uint row = gl_WorkGroupID.z * p.y_count + gl_WorkGroupID.y;
    const uint t = gl_GlobalInvocationID.x;
    if (row >= p.n_rows || t >= p.n_heads * p.half_rot)
        return;
    const uint j = t % p.half_rot;
    const uint hh = t / p.half_rot;
    const int pos = p.use_pos != 0u ? pos_buf[p.pos_off + row] : int(p.pos0 + row);
    const uint b = p.off + row * p.rs + hh * p.hs + j;
    const vec2 r = rope_rotate(x[b], x[b + p.half_rot], rope_cs(pos, j, p.half_rot, p.table_rows));
    x[b] = r.x;
    x[b + p.half_rot] = r.y;
}
