// qkv_rope_write.glsl (qkv_rope_write.comp: F32 caches; qkv_rope_write_kvf16.comp: F16 caches,
// KV_F16 1). After a fused QKV projection, in one dispatch (rope.comp and kv_write.comp twice,
// fused: on lavapipe every dispatch costs tens of microseconds of thread wake-ups, whatever its
// size):
//   q heads     RoPE (rope.glsl) in place (first rot dims), position pos0 + row;
//   k heads     written to the K cache at position pos0 + row, RoPE applied on the way;
//   v heads     copied to the V cache at position pos0 + row.
// src element (row i, head h, dim d): part_off + i * src_rs + h * hd + d, part_off = q_off,
// k_off or v_off (one tensor); cache element (position p, head h, dim d): dst_off + p * dst_rs +
// h * dst_hs + d, the same strides for both caches.
// Grid: y = row (gl_WorkGroupID.y + z * y_count); x over [q: n_head * half_rot | k: n_kv * per |
// v: n_kv * per], per = hd, or hd / 2 with pairs (F16 caches, even hd, offsets and strides: one
// invocation a word of two halves; without pairs an F16 element is merged into its word with
// atomics, kv_f16.glsl). The q part touches only q's rotated dims, which no other invocation reads.
layout(local_size_x_id = 0) in;

#ifndef KV_F16
#define KV_F16 0
#endif
layout(std430, binding = 0) buffer QKV { float src[]; };
#if KV_F16
#include "kv_f16.glsl"
layout(std430, binding = 1) buffer KC { uint kc[]; };
layout(std430, binding = 2) buffer VC { uint vc[]; };
#else
layout(std430, binding = 1) writeonly buffer KC { float kc[]; };
layout(std430, binding = 2) writeonly buffer VC { float vc[]; };
#endif
#define ROPE_TABLE_BINDING 3
#define ROPE_SRC(i) src[i]
#include "rope.glsl"

layout(push_constant) uniform Push {
    uint q_off, k_off, v_off, src_rs;
    uint k_dst_off, v_dst_off, dst_rs, dst_hs;
    uint n_rows, n_head, n_kv, head_dim;
    uint pos0, half_rot, table_rows, y_count;
    uint pairs;     // F16 caches: 1 = one invocation per two elements (a whole word)
} p;

// Dim d of the k head (is_k) or v head starting at src element sb, rotated for position pos
// where it must.
float kv_value(uint sb, uint d, uint pos, bool is_k)
{
    return is_k ? rope_value(sb, d, pos, p.half_rot, p.table_rows) : src[sb + d];
}

void main()
{
    const uint row = gl_WorkGroupID.z * p.y_count + gl_WorkGroupID.y;
    uint t = gl_GlobalInvocationID.x;
    const uint per = (KV_F16 != 0 && p.pairs != 0u) ? p.head_dim / 2u : p.head_dim;
    const uint nq = p.n_head * p.half_rot, nk = p.n_kv * per;
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
    const uint hh = t / per;
    const uint sb = (is_k ? p.k_off : p.v_off) + row * p.src_rs + hh * p.head_dim;
    const uint db = (is_k ? p.k_dst_off : p.v_dst_off) + pos * p.dst_rs + hh * p.dst_hs;
#if KV_F16
    if (p.pairs != 0u) {
        const uint d = 2u * (t % per);
        const uint w = kv_pack2(kv_value(sb, d, pos, is_k), kv_value(sb, d + 1u, pos, is_k));
        if (is_k) kc[(db + d) >> 1] = w;
        else vc[(db + d) >> 1] = w;
    } else {
        const uint d = t % per;
        const float x = kv_value(sb, d, pos, is_k);
        if (is_k) KV_STORE_HALF(kc, db + d, x)
        else KV_STORE_HALF(vc, db + d, x)
    }
#else
    const uint d = t % per;
    const float x = kv_value(sb, d, pos, is_k);
    if (is_k) kc[db + d] = x;
    else vc[db + d] = x;
#endif
}
