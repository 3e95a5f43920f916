/* basic_norm.glsl: LayerNorm / RMSNorm over vectors of n elements, one workgroup a vector.
 * Included by norm*.comp, which define USE_SUBGROUPS (reduction flavour) and HAS_RES (x += r
 * first, written back to x: the residual stream).
 *
 * Vector v of the dispatch lives in row v / groups, slot v % groups of that row:
 *   x[x_off + row * x_stride + slot * n + i], i < n      (same for r and y)
 * groups > 1 is the per-head norm (OpenELM q_norm/k_norm) on a column range of a wider row.
 * Statistics in f32: LayerNorm two-pass (mean, then mean of squared deviations: population
 * variance as torch), RMSNorm mean of squares; y = (x - mean) * inversesqrt(var + eps) * w + b.
 *
 * Access (as ew.comp): units of VEC4 ? 4 : 1 elements (VEC4: n, offsets and strides multiples
 * of 4); LANE_CONTIG 1 (CPU devices) gives each invocation a contiguous piece of the vector,
 * 0 (GPUs) interleaves the invocations. */
#include "dtype.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint KIND = 0u;     /* 0 LayerNorm, 1 RMSNorm w*x, 2 RMSNorm (1+w)*x */
layout(constant_id = 2) const uint W_DTYPE = TLV_DT_F32;  /* TLV_DT_NONE: w = 1 */
layout(constant_id = 3) const uint B_DTYPE = TLV_DT_NONE; /* TLV_DT_NONE: no bias */
layout(constant_id = 4) const uint LANE_CONTIG = 0u;
layout(constant_id = 5) const uint VEC4 = 0u;

#include "basic.glsl"
#include "basic_reduce.glsl"

#ifdef HAS_RES
#define BIND_R 1
#define BIND_W 2
#define BIND_B 3
#define BIND_Y 4
layout(std430, set = 0, binding = 0) buffer XBuf { float X[]; };
layout(std430, set = 0, binding = 0) buffer X4Buf { vec4 X4[]; };
layout(std430, set = 0, binding = BIND_R) readonly buffer RBuf { float R[]; };
layout(std430, set = 0, binding = BIND_R) readonly buffer R4Buf { vec4 R4[]; };
#else
#define BIND_W 1
#define BIND_B 2
#define BIND_Y 3
layout(std430, set = 0, binding = 0) readonly buffer XBuf { float X[]; };
layout(std430, set = 0, binding = 0) readonly buffer X4Buf { vec4 X4[]; };
#endif
layout(std430, set = 0, binding = BIND_W) readonly buffer WBuf { uint W[]; };
layout(std430, set = 0, binding = BIND_W) readonly buffer W2Buf { uvec2 W2[]; };
layout(std430, set = 0, binding = BIND_W) readonly buffer W4Buf { vec4 W4[]; };
layout(std430, set = 0, binding = BIND_B) readonly buffer BBuf { uint B[]; };
layout(std430, set = 0, binding = BIND_B) readonly buffer B2Buf { uvec2 B2[]; };
layout(std430, set = 0, binding = BIND_B) readonly buffer B4Buf { vec4 B4[]; };
layout(std430, set = 0, binding = BIND_Y) writeonly buffer YBuf { float Y[]; };
layout(std430, set = 0, binding = BIND_Y) writeonly buffer Y4Buf { vec4 Y4[]; };

layout(push_constant) uniform Push {
    uint n_vec;
    uint n;
    uint groups;
    uint x_off, x_stride;
    uint r_off, r_stride;
    uint y_off, y_stride;
    float eps;
    uint per_wg; /* vectors per workgroup (CPU devices: a few workgroups, each looping) */
} p;

vec4 w4(uint i)
{
    vec4 w = W_DTYPE == TLV_DT_NONE ? vec4(1.0) : W_DTYPE == TLV_DT_F32 ? W4[i] : dt_unpack4(W2[i], W_DTYPE);
    return KIND == 2u ? w + 1.0 : w;
}

float w1(uint i)
{
    float w = W_DTYPE == TLV_DT_NONE ? 1.0 : DT_LOAD(W, W_DTYPE, i);
    return KIND == 2u ? w + 1.0 : w;
}

vec4 b4(uint i)
{
    return B_DTYPE == TLV_DT_NONE ? vec4(0.0) : B_DTYPE == TLV_DT_F32 ? B4[i] : dt_unpack4(B2[i], B_DTYPE);
}

float b1(uint i)
{
    return B_DTYPE == TLV_DT_NONE ? 0.0 : DT_LOAD(B, B_DTYPE, i);
}

void norm_vec(uint v)
{
    const uint U = VEC4 != 0u ? 4u : 1u;
    uint row = v / p.groups, slot = v - row * p.groups;
    uint nu = p.n / U;
    uint bx = (p.x_off + row * p.x_stride + slot * p.n) / U;
    uint by = (p.y_off + row * p.y_stride + slot * p.n) / U;
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    uint i0 = l, i1 = nu, st = wg;
    if (LANE_CONTIG != 0u) {
        uint per = (nu + wg - 1u) / wg;
        i0 = min(l * per, nu);
        i1 = min(i0 + per, nu);
        st = 1u;
    }
    float inv_n = 1.0 / float(p.n);

    float s = 0.0;
#ifdef HAS_RES
    uint br = (p.r_off + row * p.r_stride + slot * p.n) / U;
    for (uint i = i0; i < i1; i += st) {
        if (VEC4 != 0u) {
            vec4 t = X4[bx + i] + R4[br + i];
            X4[bx + i] = t;
            s += KIND == 0u ? (t.x + t.y) + (t.z + t.w) : dot(t, t);
        } else {
            float t = X[bx + i] + R[br + i];
            X[bx + i] = t;
            s += KIND == 0u ? t : t * t;
        }
    }
#else
    for (uint i = i0; i < i1; i += st) {
        if (VEC4 != 0u) {
            vec4 t = X4[bx + i];
            s += KIND == 0u ? (t.x + t.y) + (t.z + t.w) : dot(t, t);
        } else {
            float t = X[bx + i];
            s += KIND == 0u ? t : t * t;
        }
    }
#endif
    float mean = 0.0, var;
    if (KIND == 0u) {
        mean = wg_sum(s) * inv_n;
        float d2 = 0.0;
        for (uint i = i0; i < i1; i += st) {
            if (VEC4 != 0u) {
                vec4 d = X4[bx + i] - mean;
                d2 += dot(d, d);
            } else {
                float d = X[bx + i] - mean;
                d2 += d * d;
            }
        }
        var = wg_sum(d2) * inv_n;
    } else {
        var = wg_sum(s) * inv_n;
    }
    float rstd = inversesqrt(var + p.eps);
    for (uint i = i0; i < i1; i += st) {
        if (VEC4 != 0u) Y4[by + i] = (X4[bx + i] - mean) * rstd * w4(i) + b4(i);
        else Y[by + i] = (X[bx + i] - mean) * rstd * w1(i) + b1(i);
    }
}

void main()
{
    uint v0 = flat_wg_id() * p.per_wg;
    uint v1 = min(v0 + p.per_wg, p.n_vec);
    for (uint v = v0; v < v1; v++) norm_vec(v);
}
