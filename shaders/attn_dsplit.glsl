// attn_dsplit.glsl: flash attention with the head dimension split over the lanes, for lavapipe
// (and, for decode, GPUs): R rows per workgroup, W lanes, each lane holding vec4 slices of q and of
// the accumulator of every row.
//
// Why: on lavapipe (Mesa 22.3) every buffer load inside a loop or branch is executed lane by lane
// (a loop over the 8 lanes with a bounds check each), whatever its address: a load costs ~200
// cycles however many bytes it brings. attn.glsl's rows-per-lane layout has all lanes load the
// same float; here every load brings W different vec4s (one 32-float slice of a key row for
// W = 8), and the R rows of a workgroup (the q heads of one KV head for decode, or R
// consecutive queries) share it.
//
// Workgroup (x, y = KV head, z = chunk) owns rows x*R .. x*R+R-1 (row = i * group + g, as in
// attn.glsl) and keys [z * chunk, (z + 1) * chunk). Lane t holds vec4s t, t + W, ... of each row.
// For a block of BC keys each lane makes R x BC partial dot products, summed over the lanes
// (subgroupAdd, or through shared memory when subgroups are off: DSPLIT_SUBGROUP 0), then the
// online softmax goes on per row; push constants, masking and partial output as in attn.glsl,
// so attn_combine.comp merges either. Needs head_dim, offsets and strides multiples of 4.
//
// lavapipe's loop limiter (65535 iterations per invocation, all loops together): everything but
// the key loop is unrolled, one iteration per BC keys.

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint D = 64;  // head_dim, a multiple of 4
layout(constant_id = 4) const uint BC = 8;  // keys per block
layout(constant_id = 5) const uint R = 1;   // rows per workgroup
const uint W = gl_WorkGroupSize.x;
const uint D4 = D / 4u;
const uint DL = (D4 + W - 1u) / W;          // vec4s per lane

// K and V come through uniform texel buffers (RGBA32UI, one vec4 a texel) in the _tex variant:
// lavapipe fetches texels as one gather, storage-buffer loads lane by lane.
// KV_F16 1 (the f16 KV cache): K and V hold F16, four halves (two 32-bit words, no 16-bit storage
// feature needed) a vec4; a texel holds two of them.
#ifndef KV_F16
#define KV_F16 0
#endif
layout(std430, binding = 0) readonly buffer QBuf { vec4 q_buf[]; };
#if KV_F16
vec4 half4(uvec2 w)
{
    return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
}
#endif
#if DSPLIT_TEXEL
// A texel buffer is a plain image in SPIR-V for Vulkan 1.3+ (not a sampled image): texelFetch
// on it needs samplerless texture functions.
#extension GL_EXT_samplerless_texture_functions : require
layout(binding = 1) uniform utextureBuffer k_tex;
layout(binding = 2) uniform utextureBuffer v_tex;
#if KV_F16
vec4 half4_of_texel(uvec4 t, uint i)
{
    return half4((i & 1u) != 0u ? t.zw : t.xy);
}
#define K_LOAD(i) half4_of_texel(texelFetch(k_tex, int((i) >> 1)), (i))
#define V_LOAD(i) half4_of_texel(texelFetch(v_tex, int((i) >> 1)), (i))
#else
#define K_LOAD(i) uintBitsToFloat(texelFetch(k_tex, int(i)))
#define V_LOAD(i) uintBitsToFloat(texelFetch(v_tex, int(i)))
#endif
#elif KV_F16
layout(std430, binding = 1) readonly buffer KBuf { uvec2 k_buf[]; };
layout(std430, binding = 2) readonly buffer VBuf { uvec2 v_buf[]; };
#define K_LOAD(i) half4(k_buf[i])
#define V_LOAD(i) half4(v_buf[i])
#else
layout(std430, binding = 1) readonly buffer KBuf { vec4 k_buf[]; };
layout(std430, binding = 2) readonly buffer VBuf { vec4 v_buf[]; };
#define K_LOAD(i) k_buf[i]
#define V_LOAD(i) v_buf[i]
#endif
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
shared float red[R * BC * W];
#endif

void main()
{
    const uint lane = gl_LocalInvocationID.x;
    const uint h = gl_WorkGroupID.y;
    const uint c = gl_WorkGroupID.z;
    const uint r0 = gl_WorkGroupID.x * R;

    const uint kb = c * p.chunk;
    const uint ke_all = min(p.n_kv, kb + p.chunk);
    uint lim[R];
    vec4 q[R][DL];
    vec4 acc[R][DL];
    float m[R];
    float l[R];
    uint ke = kb;
    [[unroll]] for (uint rr = 0u; rr < R; ++rr) {
        const uint r = min(r0 + rr, p.n_rows - 1u);
        const uint i = r / p.group;
        const uint qh = h * p.group + r % p.group;
        lim[rr] = p.causal != 0u ? min(ke_all, p.pos0 + i + 1u) : ke_all;
        ke = max(ke, lim[rr]);
        const uint qb = (p.q_off + i * p.q_rs + qh * p.q_hs) / 4u;
        [[unroll]] for (uint u = 0u; u < DL; ++u) {
            const uint d4 = lane + u * W;
            q[rr][u] = (D4 % W == 0u || d4 < D4) ? q_buf[qb + min(d4, D4 - 1u)] * p.scale : vec4(0.0);
            acc[rr][u] = vec4(0.0);
        }
        m[rr] = NEG;
        l[rr] = 0.0;
    }

    const uint kh = (p.k_off + h * p.k_hs) / 4u;
    const uint vh = (p.v_off + h * p.v_hs) / 4u;
    const uint krs = p.k_rs / 4u, vrs = p.v_rs / 4u;
    float s[R][BC];
    for (uint j0 = kb; j0 < ke; j0 += BC) {
        [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
            const uint kp = kh + min(j0 + jj, ke - 1u) * krs;   // past ke: repeat the last key, masked below
            vec4 kv[DL];
            [[unroll]] for (uint u = 0u; u < DL; ++u) {
                const uint d4 = lane + u * W;
                kv[u] = (D4 % W == 0u || d4 < D4) ? K_LOAD(kp + min(d4, D4 - 1u)) : vec4(0.0);
            }
            [[unroll]] for (uint rr = 0u; rr < R; ++rr) {
                float part = 0.0;
                [[unroll]] for (uint u = 0u; u < DL; ++u)
                    part += dot(q[rr][u], kv[u]);
                s[rr][jj] = part;
            }
        }
#if DSPLIT_SUBGROUP
        [[unroll]] for (uint rr = 0u; rr < R; ++rr)
            [[unroll]] for (uint jj = 0u; jj < BC; ++jj)
                s[rr][jj] = subgroupAdd(s[rr][jj]);
#else
        [[unroll]] for (uint rr = 0u; rr < R; ++rr)
            [[unroll]] for (uint jj = 0u; jj < BC; ++jj)
                red[(rr * BC + jj) * W + lane] = s[rr][jj];
        barrier();
        [[unroll]] for (uint rr = 0u; rr < R; ++rr)
            [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
                float t = 0.0;
                [[unroll]] for (uint w = 0u; w < W; ++w)
                    t += red[(rr * BC + jj) * W + w];
                s[rr][jj] = t;
            }
        barrier();
#endif
        float pj[R][BC];
        [[unroll]] for (uint rr = 0u; rr < R; ++rr) {
            float mb = m[rr];
            [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
                s[rr][jj] = j0 + jj < lim[rr] ? s[rr][jj] : NEG;
                mb = max(mb, s[rr][jj]);
            }
            const float corr = exp2(m[rr] - mb);
            l[rr] *= corr;
            [[unroll]] for (uint u = 0u; u < DL; ++u)
                acc[rr][u] *= corr;
            [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
                pj[rr][jj] = j0 + jj < lim[rr] ? exp2(s[rr][jj] - mb) : 0.0;
                l[rr] += pj[rr][jj];
            }
            m[rr] = mb;
        }
        [[unroll]] for (uint jj = 0u; jj < BC; ++jj) {
            const uint vp = vh + min(j0 + jj, ke - 1u) * vrs;
            [[unroll]] for (uint u = 0u; u < DL; ++u) {
                const uint d4 = lane + u * W;
                const vec4 vv = (D4 % W == 0u || d4 < D4) ? V_LOAD(vp + min(d4, D4 - 1u)) : vec4(0.0);
                [[unroll]] for (uint rr = 0u; rr < R; ++rr)
                    acc[rr][u] += pj[rr][jj] * vv;
            }
        }
    }

    [[unroll]] for (uint rr = 0u; rr < R; ++rr) {
        const uint r = r0 + rr;
        if (r >= p.n_rows)
            break;
        const uint i = r / p.group;
        const uint qh = h * p.group + r % p.group;
        const bool part = p.partial != 0u;
        const uint pb = ((c * p.n_kv_head + h) * p.n_rows + r) * (D + 2u);
        const uint ob = p.o_off + i * p.o_rs + qh * p.o_hs;
        const float inv = part ? 1.0 : 1.0 / l[rr];
        const uint base = part ? pb : ob;
        [[unroll]] for (uint u = 0u; u < DL; ++u) {
            const uint d4 = lane + u * W;
            if (D4 % W == 0u || d4 < D4) {
                const vec4 a = acc[rr][u] * inv;
                o_buf[base + 4u * d4] = a.x;
                o_buf[base + 4u * d4 + 1u] = a.y;
                o_buf[base + 4u * d4 + 2u] = a.z;
                o_buf[base + 4u * d4 + 3u] = a.w;
            }
        }
        if (part && lane == 0u) {
            o_buf[pb + D] = m[rr];
            o_buf[pb + D + 1u] = l[rr];
        }
    }
}
