/* ew.comp: elementwise ops on [rows, n] views, y = f(a, b), every element read and written by
 * the same invocation (so y may alias a or b: in-place updates).
 *
 *   OP 0 add    y = a + b            OP 3 act    y = act(a)
 *   OP 1 mul    y = a * b            OP 4 gated  y = act(a) * b   (SwiGLU / GeGLU)
 *   OP 2 scale  y = a * scale
 * Element (r, c) of a view is at off + r * stride + c; b_stride 0 broadcasts a row vector. b may be
 * any dtype (a bias or position table straight from the checkpoint); a and y are F32.
 * Workgroup w handles the flat elements [w * per_wg, (w + 1) * per_wg): one contiguous stretch per
 * workgroup, which is what lavapipe streams fastest (RUNTIME.md). */
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0u;
layout(constant_id = 2) const uint ACT = 0u;
layout(constant_id = 3) const uint B_DTYPE = 0u;

#include "basic.glsl"

layout(std430, set = 0, binding = 0) readonly buffer ABuf { float A[]; };
layout(std430, set = 0, binding = 1) readonly buffer BBuf { uint B[]; };
layout(std430, set = 0, binding = 2) writeonly buffer YBuf { float Y[]; };

layout(push_constant) uniform Push {
    uint total; /* rows * n */
    uint n;
    uint per_wg;
    uint a_off, a_stride;
    uint b_off, b_stride;
    uint y_off, y_stride;
    float scale;
} p;

void main()
{
    uint e0 = flat_wg_id() * p.per_wg;
    uint e1 = min(e0 + p.per_wg, p.total);
    for (uint e = e0 + gl_LocalInvocationID.x; e < e1; e += gl_WorkGroupSize.x) {
        uint r = e / p.n, c = e - r * p.n;
        float a = A[p.a_off + r * p.a_stride + c];
        float y;
        if (OP == 2u) {
            y = a * p.scale;
        } else if (OP == 3u) {
            y = act_apply(ACT, a);
        } else {
            uint eb = p.b_off + r * p.b_stride + c;
            float b = LOAD_ANY(B, B_DTYPE, eb);
            y = OP == 0u ? a + b : OP == 1u ? a * b : act_apply(ACT, a) * b;
        }
        Y[p.y_off + r * p.y_stride + c] = y;
    }
}
