/* ew.comp: elementwise ops on [rows, n] views, y = f(a, b), every element read and written by
 * the same invocation (so y may alias a or b: in-place updates).
 *
 *   OP 0 add    y = a + b            OP 3 act    y = act(a)
 *   OP 1 mul    y = a * b            OP 4 gated  y = act(a) * b   (SwiGLU / GeGLU)
 *   OP 2 scale  y = a * scale
 * Element (r, c) of a view is at off + r * stride + c; b_stride 0 broadcasts a row vector. b may be
 * any dtype (a bias or position table straight from the checkpoint); a and y are F32.
 *
 * Work: units of VEC4 ? 4 : 1 elements (VEC4 needs n, offsets and strides multiples of 4).
 * Workgroup w takes units [w * per_wg, (w + 1) * per_wg) / unit. LANE_CONTIG 1 (CPU devices):
 * each invocation streams its own contiguous piece of that, 16 bytes a load, rows followed with
 * running indices: lavapipe turns each lane-varying load into a loop over the lanes and has no
 * vector integer division, so fewer, wider loads and no division per element are what count
 * there (measured 5-10x). LANE_CONTIG 0 (GPUs): invocations interleave, coalesced. */
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0u;
layout(constant_id = 2) const uint ACT = 0u;
layout(constant_id = 3) const uint B_DTYPE = 0u;
layout(constant_id = 4) const uint LANE_CONTIG = 0u;
layout(constant_id = 5) const uint VEC4 = 0u;

#include "basic.glsl"
#include "activations.glsl"

layout(std430, set = 0, binding = 0) readonly buffer ABuf { float A[]; };
layout(std430, set = 0, binding = 0) readonly buffer A4Buf { vec4 A4[]; };
layout(std430, set = 0, binding = 1) readonly buffer BBuf { uint B[]; };
layout(std430, set = 0, binding = 1) readonly buffer B2Buf { uvec2 B2[]; };
layout(std430, set = 0, binding = 1) readonly buffer B4Buf { vec4 B4[]; };
layout(std430, set = 0, binding = 2) writeonly buffer YBuf { float Y[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Y4Buf { vec4 Y4[]; };

layout(push_constant) uniform Push {
    uint total; /* rows * n */
    uint n;
    uint per_wg; /* elements */
    uint a_off, a_stride;
    uint b_off, b_stride;
    uint y_off, y_stride;
    float scale;
} p;

float f1(float a, float b)
{
    if (OP == 0u) return a + b;
    if (OP == 1u) return a * b;
    if (OP == 2u) return a * p.scale;
    if (OP == 3u) return act_apply(ACT, a);
    return act_apply(ACT, a) * b;
}

vec4 load_b4(uint i)
{
    if (B_DTYPE == TLV_DT_F32) return B4[i];
    return dt_unpack4(B2[i], B_DTYPE);
}

void unit(uint ia, uint ib, uint iy)
{
    bool need_b = OP == 0u || OP == 1u || OP == 4u;
    if (VEC4 != 0u) {
        vec4 a = A4[ia];
        vec4 b = need_b ? load_b4(ib) : vec4(0.0);
        Y4[iy] = vec4(f1(a.x, b.x), f1(a.y, b.y), f1(a.z, b.z), f1(a.w, b.w));
    } else {
        float b = need_b ? DT_LOAD(B, B_DTYPE, ib) : 0.0;
        Y[iy] = f1(A[ia], b);
    }
}

void main()
{
    const uint U = VEC4 != 0u ? 4u : 1u;
    uint nu = p.n / U, total = p.total / U, per_wg = p.per_wg / U;
    uint w0 = flat_wg_id() * per_wg, w1 = min(w0 + per_wg, total);
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    uint e0, e1, step;
    if (LANE_CONTIG != 0u) {
        uint per = (w1 - min(w0, w1) + wg - 1u) / wg;
        e0 = w0 + l * per;
        e1 = min(e0 + per, w1);
        step = 1u;
    } else {
        e0 = w0 + l;
        e1 = w1;
        step = wg;
    }
    if (e0 >= e1) return;
    uint r = e0 / nu, c = e0 - r * nu;
    uint as = p.a_stride / U, bs = p.b_stride / U, ys = p.y_stride / U;
    uint ia = p.a_off / U + r * as + c;
    uint ib = p.b_off / U + r * bs + c; /* in B's units: elements, or 4-element groups */
    uint iy = p.y_off / U + r * ys + c;
    for (uint e = e0; e < e1; e += step) {
        unit(ia, ib, iy);
        c += step;
        ia += step;
        ib += step;
        iy += step;
        if (LANE_CONTIG != 0u) {
            if (c == nu) { /* step 1: at most one row boundary */
                c = 0u;
                ia += as - nu;
                ib += bs - nu;
                iy += ys - nu;
            }
        } else {
            while (c >= nu) {
                c -= nu;
                ia += as - nu;
                ib += bs - nu;
                iy += ys - nu;
            }
        }
    }
}
