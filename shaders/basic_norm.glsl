/* basic_norm.glsl: LayerNorm / RMSNorm over vectors of n elements, one workgroup a vector.
 * Included by norm*.comp, which define USE_SUBGROUPS (reduction flavour) and HAS_RES (x += r
 * first, written back to x: the residual stream).
 *
 * Vector v of the dispatch lives in row v / groups, slot v % groups of that row:
 *   x[x_off + row * x_stride + slot * n + i], i < n      (same for r and y)
 * groups > 1 is the per-head norm (OpenELM q_norm/k_norm) on a column range of a wider row.
 * Statistics in f32: LayerNorm two-pass (mean, then mean of squared deviations: population
 * variance as torch), RMSNorm mean of squares; y = (x - mean) * inversesqrt(var + eps) * w + b. */
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint KIND = 0u;     /* 0 LayerNorm, 1 RMSNorm w*x, 2 RMSNorm (1+w)*x */
layout(constant_id = 2) const uint W_DTYPE = 0u;  /* DT_*; DT_NONE: w = 1 */
layout(constant_id = 3) const uint B_DTYPE = 3u;  /* DT_*; DT_NONE: no bias */

#include "basic.glsl"
#include "basic_reduce.glsl"

#ifdef HAS_RES
layout(std430, set = 0, binding = 0) buffer XBuf { float X[]; };
layout(std430, set = 0, binding = 1) readonly buffer RBuf { float R[]; };
layout(std430, set = 0, binding = 2) readonly buffer WBuf { uint W[]; };
layout(std430, set = 0, binding = 3) readonly buffer BBuf { uint B[]; };
layout(std430, set = 0, binding = 4) writeonly buffer YBuf { float Y[]; };
#else
layout(std430, set = 0, binding = 0) readonly buffer XBuf { float X[]; };
layout(std430, set = 0, binding = 1) readonly buffer WBuf { uint W[]; };
layout(std430, set = 0, binding = 2) readonly buffer BBuf { uint B[]; };
layout(std430, set = 0, binding = 3) writeonly buffer YBuf { float Y[]; };
#endif

layout(push_constant) uniform Push {
    uint n_vec;
    uint n;
    uint groups;
    uint x_off, x_stride;
    uint r_off, r_stride;
    uint y_off, y_stride;
    float eps;
} p;

void main()
{
    uint v = flat_wg_id();
    if (v >= p.n_vec) return;
    uint row = v / p.groups, slot = v - row * p.groups;
    uint bx = p.x_off + row * p.x_stride + slot * p.n;
    uint by = p.y_off + row * p.y_stride + slot * p.n;
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    float inv_n = 1.0 / float(p.n);

    float s = 0.0;
#ifdef HAS_RES
    uint br = p.r_off + row * p.r_stride + slot * p.n;
    for (uint i = l; i < p.n; i += wg) {
        float t = X[bx + i] + R[br + i];
        X[bx + i] = t;
        s += KIND == 0u ? t : t * t;
    }
#else
    for (uint i = l; i < p.n; i += wg) {
        float t = X[bx + i];
        s += KIND == 0u ? t : t * t;
    }
#endif
    float mean = 0.0, var;
    if (KIND == 0u) {
        mean = wg_sum(s) * inv_n;
        float d2 = 0.0;
        for (uint i = l; i < p.n; i += wg) {
            float d = X[bx + i] - mean;
            d2 += d * d;
        }
        var = wg_sum(d2) * inv_n;
    } else {
        var = wg_sum(s) * inv_n;
    }
    float rstd = inversesqrt(var + p.eps);
    for (uint i = l; i < p.n; i += wg) {
        float w = W_DTYPE == DT_NONE ? 1.0 : LOAD_ANY(W, W_DTYPE, i);
        if (KIND == 2u) w += 1.0;
        float t = (X[bx + i] - mean) * rstd * w;
        if (B_DTYPE != DT_NONE) t += LOAD_ANY(B, B_DTYPE, i);
        Y[by + i] = t;
    }
}
