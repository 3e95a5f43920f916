/* basic_reduce.glsl: workgroup sum. The variant file defines USE_SUBGROUPS (subgroupAdd, needs
 * subgroup arithmetic) or not (a shared-memory tree: local_size_x must be a power of two).
 * Every invocation of the workgroup must call wg_sum (it contains barriers); all get the sum. */
#ifndef TLV_BASIC_REDUCE_GLSL
#define TLV_BASIC_REDUCE_GLSL

#ifdef USE_SUBGROUPS
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

shared float red_sum[gl_WorkGroupSize.x]; /* one slot per subgroup is enough; sized for the worst */

float wg_sum(float v)
{
    v = subgroupAdd(v);
    if (gl_NumSubgroups == 1u) return v;
    if (subgroupElect()) red_sum[gl_SubgroupID] = v;
    barrier();
    float s = 0.0;
    for (uint i = 0u; i < gl_NumSubgroups; i++) s += red_sum[i];
    barrier();
    return s;
}
#else
shared float red_sum[gl_WorkGroupSize.x];

float wg_sum(float v)
{
    uint l = gl_LocalInvocationID.x;
    red_sum[l] = v;
    barrier();
    for (uint h = gl_WorkGroupSize.x / 2u; h > 0u; h >>= 1) {
        if (l < h) red_sum[l] += red_sum[l + h];
        barrier();
    }
    float s = red_sum[0];
    barrier();
    return s;
}
#endif

#endif
