#version 450
// probe_fma: f32 FMA peak. Every invocation runs n_iter iterations of 16 vec4 FMAs on 8
// independent vec4 accumulators (32 independent scalar chains, enough to cover FMA latency on
// GPUs and on lavapipe's SIMD-8 lanes), then writes one float so nothing is optimised away.
// FLOPs = 2 * 4 * 16 * n_iter * invocations. Keep n_iter below ~60000: lavapipe ends an
// invocation silently after 65535 loop iterations.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(push_constant) uniform Push { uint n_iter; float a; float b; } p;

void main() {
    uint gid = gl_GlobalInvocationID.x;
    vec4 s = vec4(float(gid) * 1e-9);
    vec4 c0 = s, c1 = s + 1.0, c2 = s + 2.0, c3 = s + 3.0, c4 = s + 4.0, c5 = s + 5.0, c6 = s + 6.0, c7 = s + 7.0;
    vec4 a = vec4(p.a), b = vec4(p.b);
    for (uint i = 0u; i < p.n_iter; i++) {
        c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
        c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
        c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
        c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
    }
    vec4 r = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7));
    dst[gid] = r.x + r.y + r.z + r.w;
}
