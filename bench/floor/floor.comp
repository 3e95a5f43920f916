#version 450
// floor.comp: the shader of tlv-floor (bench/floor/floor.c). One loop, six ways to run it
// (MODE, specialization constant 0):
//   0  read through a uniform texel buffer (texelFetch, 16 bytes a lane)
//   1  read through a storage buffer (uvec4 a lane)
//   2  read through a buffer_reference pointer (uvec4 a lane; "global" memory)
//   3  f16 matvec, R weight rows a lane, weights and x through texels, x fetched at lane-uniform
//      addresses (the runtime's decode kernel on CPU devices, matvec.comp MODE 1 TEXEL)
//   4  the same, x fetched once per lane (32 values a subgroup of 8) and handed out with
//      subgroupShuffle
//   5  f16 matvec reading the weights through buffer_reference pointers (x as in 3)
// Reads are lane-contiguous: lane l of a workgroup reads its own run of the workgroup's range.
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(local_size_x_id = 2) in;
layout(constant_id = 0) const uint MODE = 0;
layout(constant_id = 1) const uint R = 4; // matvec: weight rows a lane

// A texel buffer is a plain image in SPIR-V for Vulkan 1.3+ (not a sampled image): texelFetch
// on it needs samplerless texture functions.
#extension GL_EXT_samplerless_texture_functions : require
layout(binding = 0) uniform utextureBuffer tex;      // the data as 16-byte texels
layout(std430, binding = 1) readonly buffer Sbuf { uvec4 s4[]; };
layout(std430, binding = 2) writeonly buffer Ybuf { float y[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Gbuf { uvec4 v[]; };

layout(push_constant) uniform Push {
    uint64_t addr;  // device address of the data (modes 2 and 5)
    uint n;         // reads: texels; matvec: weight rows
    uint k;         // matvec: row length (a multiple of 32)
    uint per_wg;    // texels (reads) or rows (matvec) a workgroup
    uint x_tex;     // matvec: texel index of x (f32) in the data
} p;

const uint WG = gl_WorkGroupSize.x;

vec4 x_at(uint t) { return uintBitsToFloat(texelFetch(tex, int(p.x_tex + t))); }

uvec4 w_at(uint t) {
    if (MODE == 5u) return Gbuf(p.addr).v[t];
    return texelFetch(tex, int(t));
}

void read_mode(uint lid) {
    uint b = gl_WorkGroupID.x * p.per_wg;
    uint e = min(b + p.per_wg, p.n);
    uint len = e > b ? (e - b) / WG : 0u;
    uint lb = b + lid * len;
    uvec4 acc = uvec4(0u);
    if (MODE == 0u) {
        for (uint i = lb; i < lb + len; i++) acc ^= texelFetch(tex, int(i));
    } else if (MODE == 1u) {
        for (uint i = lb; i < lb + len; i++) acc ^= s4[i];
    } else {
        Gbuf g = Gbuf(p.addr);
        for (uint i = lb; i < lb + len; i++) acc ^= g.v[i];
    }
    y[gl_WorkGroupID.x * WG + lid] = float((acc.x ^ acc.y ^ acc.z ^ acc.w) & 0xffffu);
}

void matvec_mode(uint lid) {
    uint n0 = gl_WorkGroupID.x * p.per_wg;
    uint n1 = min(n0 + p.per_wg, p.n);
    uint kt = p.k / 8u; // texels a row
    for (uint r0 = n0; r0 < n1; r0 += WG * R) {
        uint wb[R];
        [[unroll]] for (uint r = 0u; r < R; r++) {
            uint row = r0 + lid + WG * r;
            wb[r] = (row < n1 ? row : n0) * kt;
        }
        vec4 acc[R];
        [[unroll]] for (uint r = 0u; r < R; r++) acc[r] = vec4(0.0);
        for (uint t = 0u; t < kt; t += 4u) {
            vec4 xb[8]; // x[8t .. 8t + 32)
            if (MODE == 4u) {
                vec4 mine = x_at(2u * t + (lid & 7u));
                [[unroll]] for (uint j = 0u; j < 8u; j++) xb[j] = subgroupShuffle(mine, j);
            } else {
                [[unroll]] for (uint j = 0u; j < 8u; j++) xb[j] = x_at(2u * t + j);
            }
            [[unroll]] for (uint r = 0u; r < R; r++) {
                [[unroll]] for (uint j = 0u; j < 4u; j++) {
                    uvec4 w = w_at(wb[r] + t + j);
                    vec4 lo = vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y));
                    vec4 hi = vec4(unpackHalf2x16(w.z), unpackHalf2x16(w.w));
                    acc[r] = fma(hi, xb[2u * j + 1u], fma(lo, xb[2u * j], acc[r]));
                }
            }
        }
        [[unroll]] for (uint r = 0u; r < R; r++) {
            uint row = r0 + lid + WG * r;
            if (row < n1) y[row] = (acc[r].x + acc[r].y) + (acc[r].z + acc[r].w);
        }
    }
}

void main() {
    if (MODE <= 2u) read_mode(gl_LocalInvocationID.x);
    else matvec_mode(gl_LocalInvocationID.x);
}
