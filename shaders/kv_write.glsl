// kv_write.glsl (kv_write.comp: F32 cache; kv_write_kvf16.comp: F16 cache, KV_F16 1).
// Writes n rows of K or V (from a projection output, possibly a slice of a fused QKV row) into
// the cache at positions pos0 .. pos0 + n - 1, optionally applying RoPE (rope.glsl) on the way
// (position = cache position).
//   src element (row i, head h, dim d): src_off + i * src_rs + h * src_hs + d
//   dst element (position p, head h, dim d): dst_off + p * dst_rs + h * dst_hs + d
// Grid: y = row (gl_WorkGroupID.y + z * y_count), x over (head, d), or with pairs (F16 cache,
// even head_dim, dst offset and strides) over (head, d / 2): one invocation a word of two halves;
// without pairs an F16 element is merged into its word with atomics (kv_f16.glsl).
layout(local_size_x_id = 0) in;

#ifndef KV_F16
#define KV_F16 0
#endif
layout(std430, binding = 0) readonly buffer SBuf { float src[]; };
#if KV_F16
#include "kv_f16.glsl"
layout(std430, binding = 1) buffer DBuf { uint dst[]; };
#else
layout(std430, binding = 1) writeonly buffer DBuf { float dst[]; };
#endif
#define ROPE_TABLE_BINDING 2
#define ROPE_SRC(i) src[i]
#include "rope.glsl"

layout(push_constant) uniform Push {
    uint src_off, src_rs, src_hs;
    uint dst_off, dst_rs, dst_hs;
    uint n_rows, n_heads, head_dim;
    uint pos0;
    uint half_rot;   // rot / 2, 0 = no RoPE
    uint table_rows; // positions in the table
    uint y_count;
    uint pairs;      // F16 cache: 1 = one invocation per two elements (a whole word)
} p;

// Dim d of the row whose head starts at src element sb, rotated for position pos where it must.
float kv_value(uint sb, uint d, uint pos)
{
    return rope_value(sb, d, pos, p.half_rot, p.table_rows);
}

void main()
{
    const uint row = gl_WorkGroupID.z * p.y_count + gl_WorkGroupID.y;
    const uint t = gl_GlobalInvocationID.x;
    const uint per = (KV_F16 != 0 && p.pairs != 0u) ? p.head_dim / 2u : p.head_dim;
    if (row >= p.n_rows || t >= p.n_heads * per)
        return;
    const uint hh = t / per;
    const uint sb = p.src_off + row * p.src_rs + hh * p.src_hs;
    const uint pos = p.pos0 + row;
    const uint db = p.dst_off + pos * p.dst_rs + hh * p.dst_hs;
#if KV_F16
    if (p.pairs != 0u) {
        const uint d = 2u * (t % per);
        dst[(db + d) >> 1] = kv_pack2(kv_value(sb, d, pos), kv_value(sb, d + 1u, pos));
    } else {
        const uint d = t % per;
        KV_STORE_HALF(dst, db + d, kv_value(sb, d, pos));
    }
#else
    const uint d = t % per;
    dst[db + d] = kv_value(sb, d, pos);
#endif
}
