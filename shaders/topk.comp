/* topk.comp: the k largest values of each row and their indices, sorted descending (argmax is
 * k = 1). Order: larger value first, equal values by lower index (torch.argmax / torch.topk);
 * NaN counts as larger than +inf (torch's convention: argmax of a row with a NaN is the first
 * NaN). Two passes, both this shader:
 *   PASS 1: grid (parts, rows): workgroup (part, row) takes elements [part * chunk, ...) of its
 *           row and writes its own top k as (value bits, index) pairs to the scratch buffer at
 *           ((s_row0 + row) * parts + part) * k.
 *   PASS 2: grid (1, rows): one workgroup merges the parts * k candidates of a row and writes
 *           indices (int32) at out_off + row * k and, if WRITE_VALUES, values at val_off + row * k.
 * Each invocation keeps a sorted list of its best k (insertion), then k rounds of a workgroup
 * arg-best (shared memory) pop the overall best from the heads of those lists.
 * Empty slots are (-inf, index 0xffffffff), ranked below every real element. */
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint PASS = 1u;
layout(constant_id = 2) const uint WRITE_VALUES = 0u;
#define KMAX 64

#include "basic.glsl"

layout(std430, set = 0, binding = 0) readonly buffer InBuf { uint IN[]; };
layout(std430, set = 0, binding = 1) writeonly buffer OutBuf { uint OUT[]; };
layout(std430, set = 0, binding = 2) writeonly buffer ValBuf { float VAL[]; };

layout(push_constant) uniform Push {
    uint n;        /* PASS 1: elements per row; PASS 2: candidates per row (parts * k) */
    uint k;
    uint parts;
    uint chunk;    /* PASS 1: elements per part */
    uint x_off, x_stride;
    uint s_row0;   /* scratch row of the dispatch's first row */
    uint out_off;
    uint val_off;
} p;

float lv[KMAX];
uint li[KMAX];
uint cnt = 0u;

shared float sh_v[gl_WorkGroupSize.x];
shared uint sh_i[gl_WorkGroupSize.x];

bool better(float av, uint ai, float bv, uint bi)
{
    bool an = isnan(av), bn = isnan(bv);
    if (an != bn) return an;
    if (!an && av != bv) return av > bv;
    return ai < bi;
}

void offer(float v, uint i)
{
    if (cnt == p.k) {
        if (!better(v, i, lv[p.k - 1u], li[p.k - 1u])) return;
        cnt--;
    }
    uint j = cnt;
    while (j > 0u && better(v, i, lv[j - 1u], li[j - 1u])) {
        lv[j] = lv[j - 1u];
        li[j] = li[j - 1u];
        j--;
    }
    lv[j] = v;
    li[j] = i;
    cnt++;
}

void main()
{
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    uint row = gl_WorkGroupID.y, part = gl_WorkGroupID.x;
    if (PASS == 1u) {
        uint e0 = part * p.chunk, e1 = min(e0 + p.chunk, p.n);
        uint base = p.x_off + row * p.x_stride;
        for (uint e = e0 + l; e < e1; e += wg) offer(uintBitsToFloat(IN[base + e]), e);
    } else {
        uint base = (p.s_row0 + row) * p.n * 2u;
        for (uint c = l; c < p.n; c += wg) offer(uintBitsToFloat(IN[base + 2u * c]), IN[base + 2u * c + 1u]);
    }
    uint head = 0u;
    for (uint j = 0u; j < p.k; j++) {
        float v = head < cnt ? lv[head] : uintBitsToFloat(0xff800000u);
        uint i = head < cnt ? li[head] : 0xffffffffu;
        sh_v[l] = v;
        sh_i[l] = i;
        barrier();
        for (uint h = wg / 2u; h > 0u; h >>= 1) {
            if (l < h && better(sh_v[l + h], sh_i[l + h], sh_v[l], sh_i[l])) {
                sh_v[l] = sh_v[l + h];
                sh_i[l] = sh_i[l + h];
            }
            barrier();
        }
        float bv = sh_v[0];
        uint bi = sh_i[0];
        barrier();
        if (head < cnt && bi == i) head++; /* indices are unique among real entries */
        if (l == 0u) {
            if (PASS == 1u) {
                uint o = (((p.s_row0 + row) * p.parts + part) * p.k + j) * 2u;
                OUT[o] = floatBitsToUint(bv);
                OUT[o + 1u] = bi;
            } else {
                OUT[p.out_off + row * p.k + j] = bi;
                if (WRITE_VALUES != 0u) VAL[p.val_off + row * p.k + j] = bv;
            }
        }
    }
}
