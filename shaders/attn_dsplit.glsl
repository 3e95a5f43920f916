// attn_dsplit.glsl: flash attention with the head dimension split over the lanes of a
// workgroup, for rows too few or too wide for attn.glsl's one-row-per-invocation layout:
// decode with one q head per KV head (Phi-2, StableLM), and head_dim > 80 on lavapipe (Gemma's
// 256), where a row's q and accumulator no longer fit in registers.
//
// One workgroup (of W = local_size_x lanes, one subgroup on lavapipe) owns one row (query i,
// q head) of KV head gl_WorkGroupID.y and chunk gl_WorkGroupID.z; lane t holds dims t, t + W, ...
// of q and of the accumulator, so each key and value row is read as W contiguous floats at a
// time. The BC partial dot products of a block of keys are summed over the lanes at once
// (subgroupAdd, or through shared memory when subgroups are off: DSPLIT_SUBGROUP 0), then the
// online softmax goes on as in attn.glsl, with the same push constants, masking and partial
// output, so attn_combine.comp merges either.
//
// lavapipe's loop limiter (65535 iterations per invocation, all loops): the loops over dims
// and keys of a block are unrolled, leaving one iteration per BC keys.

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint D = 64;  // head_dim
layout(constant_id = 4) const uint BC = 8;  // keys per block
const uint W = gl_WorkGroupSize.x;
const uint DL = (D + W - 1u) / W;           // dims per lane

layout(std430, binding = 0) readonly buffer QBuf { float q_buf[]; };
layout(std430, binding = 1) readonly buffer KBuf { float k_buf[]; };
layout(std430, binding = 2) readonly buffer VBuf { float v_buf[]; };
layout(std430, binding = 3) writeonly buffer OBuf { float o_buf[]; };

layout(push_constant) uniform Push {
    uint q_off, q_rs, q_hs;
    uint k_off, k_rs, k_hs;
    uint v_off, v_rs, v_hs;
    uint o_off, o_rs, o_hs;
    uint n_rows, group, n_kv, pos0, causal, chunk, partial, n_kv_head;
    float scale;    // softmax scale * log2(e)
} p;

const float NEG = -3.0e38;

#if !DSPLIT_SUBGROUP
shared float red[BC * W];
#endif

void main()
{
    const uint lane = gl_LocalInvocationID.x;
    const uint r = gl_WorkGroupID.x;
    const uint h = gl_WorkGroupID.y;
    const uint c = gl_WorkGroupID.z;
    const uint i = r / p.group;
    const uint qh = h * p.group + r % p.group;

    const uint kb = c * p.chunk;
    uint ke = min(p.n_kv, kb + p.chunk);
    if (p.causal != 0u)
        ke = min(ke, p.pos0 + i + 1u);

    float q[DL];
    float acc[DL];
    const uint qb = p.q_off + i * p.q_rs + qh * p.q_hs;
    [[unroll]] for (uint u = 0u; u < DL; ++u) {
        const uint d = lane + u * W;
        q[u] = d < D ? q_buf[qb + min(d, D - 1u)] * p.scale : 0.0;
        acc[u] = 0.0;
    }
    float m = NEG;
    float l = 0.0;

    const uint kh = p.k_off + h * p.k_hs;
    const uint vh = p.v_off + h * p.v_hs;
    float s[BC];
    for (uint j0 = kb; j0 < ke; j0 += BC) {
        [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
            const uint j = min(j0 + jj, ke - 1u);   // keys past ke repeat the last one, masked below
            const uint kp = kh + j * p.k_rs;
            float part = 0.0;
            [[unroll]] for (uint u = 0u; u < DL; ++u) {
                const uint d = lane + u * W;
                if (D % W == 0u || d < D)
                    part += q[u] * k_buf[kp + d];
            }
            s[jj] = part;
        }
#if DSPLIT_SUBGROUP
        [[unroll]] for (uint jj = 0u; jj < BC; ++jj)
            s[jj] = subgroupAdd(s[jj]);
#else
        [[unroll]] for (uint jj = 0u; jj < BC; ++jj)
            red[jj * W + lane] = s[jj];
        barrier();
        [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
            float t = 0.0;
            [[unroll]] for (uint w = 0u; w < W; ++w)
                t += red[jj * W + w];
            s[jj] = t;
        }
        barrier();
#endif
        float mb = m;
        [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
            s[jj] = j0 + jj < ke ? s[jj] : NEG;
            mb = max(mb, s[jj]);
        }
        const float corr = exp2(m - mb);
        l *= corr;
        [[unroll]] for (uint u = 0u; u < DL; ++u)
            acc[u] *= corr;
        [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
            const uint j = j0 + jj;
            if (j < ke) {
                const float pj = exp2(s[jj] - mb);
                l += pj;
                const uint vp = vh + j * p.v_rs;
                [[unroll]] for (uint u = 0u; u < DL; ++u) {
                    const uint d = lane + u * W;
                    if (D % W == 0u || d < D)
                        acc[u] += pj * v_buf[vp + d];
                }
            }
        }
        m = mb;
    }

    if (p.partial != 0u) {
        const uint pb = ((c * p.n_kv_head + h) * p.n_rows + r) * (D + 2u);
        [[unroll]] for (uint u = 0u; u < DL; ++u) {
            const uint d = lane + u * W;
            if (D % W == 0u || d < D)
                o_buf[pb + d] = acc[u];
        }
        if (lane == 0u) {
            o_buf[pb + D] = m;
            o_buf[pb + D + 1u] = l;
        }
    } else {
        const float inv = 1.0 / l;
        const uint ob = p.o_off + i * p.o_rs + qh * p.o_hs;
        [[unroll]] for (uint u = 0u; u < DL; ++u) {
            const uint d = lane + u * W;
            if (D % W == 0u || d < D)
                o_buf[ob + d] = acc[u] * inv;
        }
    }
}
