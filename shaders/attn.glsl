// attn.glsl: flash attention, one pass with an online softmax, f32 arithmetic throughout.
//
// K and V: F32, or F16 when the including .comp defines KV_F16 1 (the f16 KV cache: read as
// 32-bit words, two halves a word, element 2k in the low half, so no 16-bit storage feature is
// needed; any offset or stride, odd ones included). q and o are F32 either way.
//
// One invocation owns one "row": a (query position i, q head) pair. The rows of a workgroup all
// belong to one KV head (gl_WorkGroupID.y): with grouped-query attention the `group` q heads of a
// KV head are neighbouring rows (row = i * group + g), so every key and value a workgroup reads is
// used by up to local_size_x rows at once and each KV head is streamed once per row block, not once
// per q head. Each invocation keeps its q row (pre-scaled by scale * log2 e, so the softmax uses
// exp2) and its output accumulator in private arrays of D floats, walks the keys of its chunk in
// blocks of BC, and rescales its accumulator once per block (m = running max, l = running sum).
// All invocations of a workgroup read the same key at the same time: uniform loads, broadcast on
// GPUs and one scalar load per SIMD group on lavapipe. No reductions, so no subgroup operations.
//
// Split over the KV length (decode against a long cache): workgroup z handles keys
// [z * chunk, (z + 1) * chunk) and writes its unnormalised accumulator with m and l to the
// partial buffer; attn_combine.comp merges the chunks.
//
// Masking: causal rows see keys 0 .. pos0 + i. Masked scores are NEG (a finite -3e38, never -inf,
// so m - m_block stays a number when a whole block or chunk is masked: exp2 of it is 0 or 1 and
// the masked probabilities are forced to 0).
//
// lavapipe caps the loop iterations of one invocation at 65535 in total (gallivm's loop limiter,
// all loops together), and silently stops the loops beyond it: the loops over D and BC are
// [[unroll]] (their trip counts are specialization constants, so the driver unrolls them), which
// leaves one iteration per BC keys and lets q and the accumulator live in registers.
//
// Element (position p, head h, dim d) of a view is at off + p * rs + h * hs + d (elements):
// the same shader reads q/k/v from a fused QKV projection, separate projections or a KV cache.

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint D = 64;  // head_dim (ids 1, 2 are local_size_y/z by convention)
layout(constant_id = 4) const uint BC = 8;  // keys per online-softmax block

layout(std430, binding = 0) readonly buffer QBuf { float q_buf[]; };
#ifndef KV_F16
#define KV_F16 0
#endif
#if KV_F16
#include "dtype.glsl"
layout(std430, binding = 1) readonly buffer KBuf { uint k_buf[]; };
layout(std430, binding = 2) readonly buffer VBuf { uint v_buf[]; };
#define K_AT(e) f16_half(k_buf[(e) >> 1], (e) & 1u)
#define V_AT(e) f16_half(v_buf[(e) >> 1], (e) & 1u)
#else
layout(std430, binding = 1) readonly buffer KBuf { float k_buf[]; };
layout(std430, binding = 2) readonly buffer VBuf { float v_buf[]; };
#define K_AT(e) k_buf[e]
#define V_AT(e) v_buf[e]
#endif
layout(std430, binding = 3) writeonly buffer OBuf { float o_buf[]; };

layout(push_constant) uniform Push {
    uint q_off, q_rs, q_hs;
    uint k_off, k_rs, k_hs;
    uint v_off, v_rs, v_hs;
    uint o_off, o_rs, o_hs;
    uint n_rows;    // n_q * group
    uint group;     // q heads per KV head
    uint n_kv;      // keys 0 .. n_kv - 1 exist
    uint pos0;      // absolute position of query 0 (causal)
    uint causal;
    uint chunk;     // keys per workgroup z
    uint partial;   // 1: write partials (split), 0: write o
    uint n_kv_head;
    float scale;    // softmax scale * log2(e)
} p;

const float NEG = -3.0e38;


void main()
{
    const uint wg = gl_WorkGroupSize.x;
    const uint r = gl_WorkGroupID.x * wg + gl_LocalInvocationID.x;
    const uint h = gl_WorkGroupID.y;
    const uint c = gl_WorkGroupID.z;
    const bool valid = r < p.n_rows;
    const uint rr = min(r, p.n_rows - 1u);
    const uint i = rr / p.group;
    const uint qh = h * p.group + rr % p.group;

    // Keys of this workgroup: its chunk, cut at the last row's causal limit (uniform).
    const uint kb = c * p.chunk;
    uint ke = min(p.n_kv, kb + p.chunk);
    uint lim = ke;
    if (p.causal != 0u) {
        const uint r_last = min(gl_WorkGroupID.x * wg + wg - 1u, p.n_rows - 1u);
        ke = min(ke, p.pos0 + r_last / p.group + 1u);
        lim = min(ke, p.pos0 + i + 1u);
    }

    float q[D];
    float acc[D];
    const uint qb = p.q_off + i * p.q_rs + qh * p.q_hs;
    [[unroll]] for (uint d = 0u; d < D; ++d) {
        q[d] = q_buf[qb + d] * p.scale;
        acc[d] = 0.0;
    }
    float m = NEG;
    float l = 0.0;

    const uint kh = p.k_off + h * p.k_hs;
    const uint vh = p.v_off + h * p.v_hs;
    float s[BC];
    for (uint j0 = kb; j0 < ke; j0 += BC) {
        float mb = m;
        [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
            const uint j = j0 + jj;
            float dot = 0.0;
            if (j < ke) {
                const uint kp = kh + j * p.k_rs;
                [[unroll]] for (uint d = 0u; d < D; ++d)
                    dot += q[d] * K_AT(kp + d);
            }
            s[jj] = j < lim ? dot : NEG;
            mb = max(mb, s[jj]);
        }
        const float corr = exp2(m - mb);
        l *= corr;
        [[unroll]] for (uint d = 0u; d < D; ++d)
            acc[d] *= corr;
        [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
            const uint j = j0 + jj;
            if (j < ke) {
                const float pj = j < lim ? exp2(s[jj] - mb) : 0.0;
                l += pj;
                const uint vp = vh + j * p.v_rs;
                [[unroll]] for (uint d = 0u; d < D; ++d)
                    acc[d] += pj * V_AT(vp + d);
            }
        }
        m = mb;
    }

    if (!valid)
        return;
    if (p.partial != 0u) {
        // partial buffer: [n_chunks][n_kv_head][n_rows][D + 2] = accumulator, m, l
        const uint pb = ((c * p.n_kv_head + h) * p.n_rows + r) * (D + 2u);
        [[unroll]] for (uint d = 0u; d < D; ++d)
            o_buf[pb + d] = acc[d];
        o_buf[pb + D] = m;
        o_buf[pb + D + 1u] = l;
    } else {
        const float inv = 1.0 / l;
        const uint ob = p.o_off + i * p.o_rs + qh * p.o_hs;
        [[unroll]] for (uint d = 0u; d < D; ++d)
            o_buf[ob + d] = acc[d] * inv;
    }
}
