#version 450
// Texel-buffer self-test (tests/vk): y[i] = t4 element (e4 + i) + t1 element (e1 + i) + c, where
// t4 is an RGBA32UI view (4 floats a texel) and t1 an R32UI view (1 float a texel), both read
// with texelFetch as uint bits; e4/e1 are the element offsets of the data inside the views.
layout(local_size_x_id = 0) in;
// A texel buffer is a plain image in SPIR-V for Vulkan 1.3+ (not a sampled image): texelFetch
// on it needs samplerless texture functions.
#extension GL_EXT_samplerless_texture_functions : require
layout(binding = 0) uniform utextureBuffer t4;
layout(binding = 1) uniform utextureBuffer t1;
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform P { uint n; uint e4; uint e1; float c; } p;
void main()
{
    uint i = gl_GlobalInvocationID.x;
    if (i >= p.n) return;
    uint a = p.e4 + i;
    float v4 = uintBitsToFloat(texelFetch(t4, int(a >> 2))[a & 3u]);
    float v1 = uintBitsToFloat(texelFetch(t1, int(p.e1 + i)).x);
    y[i] = v4 + v1 + p.c;
}
