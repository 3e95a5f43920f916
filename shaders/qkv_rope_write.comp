#version 450
// After a fused QKV projection, in one dispatch (rope.comp and kv_write.comp twice, fused: on
// lavapipe every dispatch costs tens of microseconds of thread wake-ups, whatever its size):
//   q heads     RoPE (rope.glsl) in place (first rot dims), position pos0 + row;
//   k heads     written to the K cache at position pos0 + row, RoPE applied on the way;
//   v heads     copied to the V cache at position pos0 + row.
// src element (row i, head h, dim d): part_off + i * src_rs + h * hd + d, part_off = q_off,
// k_off or v_off (one tensor); cache element (position p, head h, dim d): dst_off + p * dst_rs +
// h * dst_hs + d, the same strides for both caches.
// Grid: y = row (gl_WorkGroupID.y + z * y_count); x over [q: n_head * half_rot | k: n_kv * hd |
// v: n_kv * hd]. The q part touches only q's rotated dims, which no other invocation reads.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) buffer QKV { float src[]; };
layout(std430, binding = 1) writeonly buffer KC { float kc[]; };
layout(std430, binding = 2) writeonly buffer VC { float vc[]; };
#define ROPE_TABLE_BINDING 3
#include "rope.glsl"

layout(push_constant) uniform Push {
    uint q_off, k_off, v_off, src_rs;
    uint k_dst_off, v_dst_off, dst_rs, dst_hs;
    uint n_rows, n_head, n_kv, head_dim;
    uint pos0, half_rot, table_rows, y_count;
} p;

void main()
{
    const uint row = gl_WorkGroupID.z * p.y_count + gl_WorkGroupID.y;
    uint t = gl_GlobalInvocationID.x;
    const uint nq = p.n_head * p.half_rot, nk = p.n_kv * p.head_dim;
    if (row >= p.n_rows || t >= nq + 2u * nk)
        return;
    const uint pos = p.pos0 + row;
    if (t < nq) {
        const uint j = t % p.half_rot, hh = t / p.half_rot;
        const uint b = p.q_off + row * p.src_rs + hh * p.head_dim + j;
        const vec2 r = rope_rotate(src[b], src[b + p.half_rot], rope_cs(int(pos), j, p.half_rot, p.table_rows));
        src[b] = r.x;
        src[b + p.half_rot] = r.y;
        return;
    }
    t -= nq;
    const bool is_k = t < nk;
    if (!is_k) t -= nk;
    const uint d = t % p.head_dim, hh = t / p.head_dim;
    const uint sb = (is_k ? p.k_off : p.v_off) + row * p.src_rs + hh * p.head_dim;
    const uint di = pos * p.dst_rs + hh * p.dst_hs + d;
    if (!is_k) {
        vc[p.v_dst_off + di] = src[sb + d];
        return;
    }
    float v;
    if (d < 2u * p.half_rot) {
        const uint j = d < p.half_rot ? d : d - p.half_rot;
        const vec2 r = rope_rotate(src[sb + j], src[sb + j + p.half_rot], rope_cs(int(pos), j, p.half_rot, p.table_rows));
        v = d < p.half_rot ? r.x : r.y;
    } else {
        v = src[sb + d];
    }
    kc[p.k_dst_off + di] = v;
}
