/* topk.comp: the k largest values of each row and their indices, sorted descending (argmax is
 * k = 1). Order: larger value first, equal values by lower index (torch.argmax / torch.topk);
 * NaN counts as larger than +inf (torch's convention: argmax of a row with a NaN is the first
 * NaN). Two passes, both this shader:
 *   PASS 1: grid (parts, rows): workgroup (part, row) takes elements [part * chunk, ...) of its
 *           row and writes its own top k as (value bits, index) pairs to the scratch buffer at
 *           ((s_row0 + row) * parts + part) * k.
 *   PASS 2: grid (1, rows): one workgroup merges the parts (<= MAX_PARTS) sorted lists of k
 *           candidates of a row and writes indices (int32) at out_off + row * k and, if
 *           WRITE_VALUES, values at val_off + row * k.
 * Pass 1: each invocation keeps a sorted list of its best k (insertion), then k rounds of a
 * workgroup arg-best (shared memory) pop the overall best from the heads of those lists.
 * Pass 2: k rounds, each invocation offering the best head among its parts' lists (head
 * positions in shared memory), the winner's list advancing.
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

#define MAX_PARTS 256

shared float sh_v[gl_WorkGroupSize.x];
shared uint sh_i[gl_WorkGroupSize.x];
shared uint sh_q[gl_WorkGroupSize.x];
shared uint heads[MAX_PARTS];

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

/* Workgroup arg-best of (v, i, q) over the invocations; every invocation gets the winner. */
void wg_best(inout float v, inout uint i, inout uint q)
{
    uint l = gl_LocalInvocationID.x;
    sh_v[l] = v;
    sh_i[l] = i;
    sh_q[l] = q;
    barrier();
    for (uint h = gl_WorkGroupSize.x / 2u; h > 0u; h >>= 1) {
        if (l < h && better(sh_v[l + h], sh_i[l + h], sh_v[l], sh_i[l])) {
            sh_v[l] = sh_v[l + h];
            sh_i[l] = sh_i[l + h];
            sh_q[l] = sh_q[l + h];
        }
        barrier();
    }
    v = sh_v[0];
    i = sh_i[0];
    q = sh_q[0];
    barrier();
}

void merge_parts(uint row)
{
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    uint base = (p.s_row0 + row) * p.parts * p.k; /* in pairs */
    for (uint q = l; q < p.parts; q += wg) heads[q] = 0u;
    barrier();
    for (uint j = 0u; j < p.k; j++) {
        float bv = uintBitsToFloat(0xff800000u);
        uint bi = 0xffffffffu, bq = 0xffffffffu;
        for (uint q = l; q < p.parts; q += wg) {
            uint h = heads[q];
            if (h < p.k) {
                uint o = (base + q * p.k + h) * 2u;
                float v = uintBitsToFloat(IN[o]);
                uint i = IN[o + 1u];
                if (better(v, i, bv, bi)) {
                    bv = v;
                    bi = i;
                    bq = q;
                }
            }
        }
        wg_best(bv, bi, bq);
        if (l == 0u) {
            OUT[p.out_off + row * p.k + j] = bi;
            if (WRITE_VALUES != 0u) VAL[p.val_off + row * p.k + j] = bv;
            if (bq < p.parts) heads[bq]++;
        }
        barrier();
    }
}

void main()
{
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    uint row = gl_WorkGroupID.y, part = gl_WorkGroupID.x;
    if (PASS != 1u) {
        merge_parts(row);
        return;
    }
    uint e0 = part * p.chunk, e1 = min(e0 + p.chunk, p.n);
    uint base = p.x_off + row * p.x_stride;
    for (uint e = e0 + l; e < e1; e += wg) offer(uintBitsToFloat(IN[base + e]), e);
    uint head = 0u;
    for (uint j = 0u; j < p.k; j++) {
        float v = head < cnt ? lv[head] : uintBitsToFloat(0xff800000u);
        uint i = head < cnt ? li[head] : 0xffffffffu;
        float bv = v;
        uint bi = i, bq = 0u;
        wg_best(bv, bi, bq);
        if (head < cnt && bi == i) head++; /* indices are unique among real entries */
        if (l == 0u) {
            uint o = (((p.s_row0 + row) * p.parts + part) * p.k + j) * 2u;
            OUT[o] = floatBitsToUint(bv);
            OUT[o + 1u] = bi;
        }
    }
}
