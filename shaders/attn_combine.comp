#version 450
// Merges the KV chunks of a split attention (attn.glsl, partial = 1): for each (KV head, row, d)
//   M = max_c m_c,  L = sum_c l_c 2^(m_c - M),  o[d] = sum_c acc_c[d] 2^(m_c - M) / L.
// A chunk whose keys were all masked has m = -3e38 and l = 0 and adds nothing.
// Invocation t of the grid (x + y * x_count) -> d = t % D, row, KV head.
layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer PBuf { float part[]; };
layout(std430, binding = 1) writeonly buffer OBuf { float o_buf[]; };

layout(push_constant) uniform Push {
    uint o_off, o_rs, o_hs;
    uint n_rows;    // n_q * group
    uint group;
    uint n_kv_head;
    uint n_chunks;
    uint D;         // head_dim
    uint x_count;   // invocations per grid row (gl_NumWorkGroups.x * local size)
} p;

void main()
{
    const uint t = gl_GlobalInvocationID.y * p.x_count + gl_GlobalInvocationID.x;
    if (t >= p.n_kv_head * p.n_rows * p.D)
        return;
    const uint d = t % p.D;
    const uint r = (t / p.D) % p.n_rows;
    const uint h = t / (p.D * p.n_rows);
    const uint stride = p.D + 2u;
    const uint chunk_stride = p.n_kv_head * p.n_rows * stride;
    const uint base = (h * p.n_rows + r) * stride;

    float mx = -3.0e38;
    for (uint c = 0u; c < p.n_chunks; ++c)
        mx = max(mx, part[base + c * chunk_stride + p.D]);
    float l = 0.0;
    float o = 0.0;
    for (uint c = 0u; c < p.n_chunks; ++c) {
        const uint cb = base + c * chunk_stride;
        const float w = exp2(part[cb + p.D] - mx);
        l += part[cb + p.D + 1u] * w;
        o += part[cb + d] * w;
    }
    const uint i = r / p.group;
    const uint qh = h * p.group + r % p.group;
    o_buf[p.o_off + i * p.o_rs + qh * p.o_hs + d] = o / l;
}
