// probe_read.glsl: body of probe_read.comp and probe_read_tex.comp. Streaming read bandwidth. Workgroup g sums the 16-byte words
// [g * words_per_wg, (g + 1) * words_per_wg) of the bound range (clipped to n_words) and writes
// one value per invocation, so nothing is optimised away.
//   LANE_CONTIG = 0: invocation l reads words l, l + WG, l + 2 WG, ... of its workgroup's range
//                    (consecutive invocations read consecutive words: the GPU shape);
//   LANE_CONTIG = 1: the range is cut in WG pieces, each invocation streams its own piece.
// TEXEL (probe_read_tex.comp): the words come through a uniform texel buffer (RGBA32UI view),
// the path the matrix kernels take on lavapipe, where a texel fetch is one call for 8 lanes and a
// storage load a loop over the lanes: on such devices it is the read ceiling that matters.
// The bench searches local size (spec 0), LANE_CONTIG, TEXEL and the number of workgroups. Keep each
// invocation under ~60000 words: lavapipe ends an invocation silently after 65535 loop iterations.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint LANE_CONTIG = 0;
#if defined(TEXEL)
// A texel buffer is a plain image in SPIR-V for Vulkan 1.3+ (not a sampled image): texelFetch
// on it needs samplerless texture functions.
#extension GL_EXT_samplerless_texture_functions : require
layout(binding = 0) uniform utextureBuffer srct;
#define SRC(i) texelFetch(srct, int(i))
#else
layout(std430, binding = 0) readonly buffer Src { uvec4 src[]; };
#define SRC(i) src[i]
#endif
layout(std430, binding = 1) writeonly buffer Dst { uint dst[]; };
layout(push_constant) uniform Push { uint n_words; uint words_per_wg; } p;

void main() {
    uint g = gl_WorkGroupID.x;
    uint l = gl_LocalInvocationID.x, nl = gl_WorkGroupSize.x;
    uint b = g * p.words_per_wg, e = min(b + p.words_per_wg, p.n_words);
    uvec4 acc = uvec4(0u);
    if (b < e) {
        uint lb = b + l, le = e, step = nl;
        if (LANE_CONTIG != 0u) {
            uint per = (e - b + nl - 1u) / nl;
            lb = b + l * per;
            le = min(lb + per, e);
            step = 1u;
        }
        for (uint i = lb; i < le; i += step) acc += SRC(i);
    }
    dst[g * nl + l] = acc.x ^ acc.y ^ acc.z ^ acc.w;
}
