/* embed.comp: y[y_off + i * y_stride + c] = table[clamp(ids[id_off + i])][c] * scale, for the ids
 * whose row lies in the bound table slab [slab_row0, slab_row0 + slab_rows); other ids are left
 * to the dispatch of their own slab. One workgroup per id. Ids outside [0, vocab) are clamped so
 * the shader never reads out of bounds; the engine validates ids on the host (a GPU op cannot
 * report device-side data). Tables of a block format (Q8_0, Q4_0) are read in their device
 * layout (src/tensor.h): quants, then the scales from word scale_word of the slab. */
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint T_DTYPE = 0u;

#include "basic.glsl"

layout(std430, set = 0, binding = 0) readonly buffer TBuf { uint T[]; };
layout(std430, set = 0, binding = 1) readonly buffer IBuf { int ID[]; };
layout(std430, set = 0, binding = 2) writeonly buffer YBuf { float Y[]; };

layout(push_constant) uniform Push {
    uint n_ids;
    uint hidden;
    uint vocab;
    uint slab_row0, slab_rows;
    uint id_off;
    uint y_off, y_stride;
    float scale;
    uint scale_word; // block formats (Q8_0, Q4_0): word of the slab's scale array (src/tensor.h)
} p;

void main()
{
    uint i = flat_wg_id();
    if (i >= p.n_ids) return;
    uint id = uint(clamp(ID[p.id_off + i], 0, int(p.vocab) - 1));
    if (id < p.slab_row0 || id >= p.slab_row0 + p.slab_rows) return;
    uint base = (id - p.slab_row0) * p.hidden;
    uint yb = p.y_off + i * p.y_stride;
    for (uint c = gl_LocalInvocationID.x; c < p.hidden; c += gl_WorkGroupSize.x) {
        uint e = base + c;
        if (T_DTYPE == TLV_DT_Q8_0 || T_DTYPE == TLV_DT_Q4_0) Y[yb + c] = DT_LOAD_BLOCK(T, T_DTYPE, e, p.scale_word) * p.scale;
        else Y[yb + c] = DT_LOAD(T, T_DTYPE, e) * p.scale;
    }
}
