/* tuning.c: the tuning table, as data (tuning.h says what the record is and who reads it).
 *
 * Each row: which devices (driver id, vendor, device type, driver-version range, for Mesa's
 * drivers the release named in driverInfo; 0 / ANY / UINT32_MAX = any), and the choices for them. The first matching row wins, so specific rows go
 * first. Fields marked "table 0" in tuning.h are filled from the capabilities in
 * tlv__vk_tuning_derive, which also applies every constraint that follows from what the device
 * can do, with the reason in the record's notes. The measurements behind each row are in
 * docs/BENCHMARKS.md, "Why the tuning table says what it says"; a row carries a one-line reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vk/internal.h"

#define ANY_TYPE (-1)

typedef struct tuning_row {
    uint32_t driver_id; /* VkDriverId, 0: any */
    uint32_t vendor_id; /* 0: any */
    int type;           /* VkPhysicalDeviceType, ANY_TYPE: any */
    uint32_t min_driver_version, max_driver_version; /* inclusive range of driverVersion (Mesa: the
                                                        release in driverInfo, row_version) */
    tlv_vk_tuning t;
} tuning_row;

/* CPU devices (lavapipe): a workgroup runs as one SIMD group, a storage load with a lane-dependent
 * address becomes a loop over the lanes, texelFetch a gather; loads, not FMAs, bound every kernel
 * (BENCHMARKS.md "Why the tuning table": lavapipe). */
#define CPU_TUNING(name, shuffle_rows, shuffle_nm, bc)                                                              \
    {                                                                                                               \
        .row = name, .texel = 1,                                                                                    \
        /* one 8-lane workgroup, 4 weight rows a lane, x broadcast (mode 1), 2 x rows a pass */                     \
        .mv_max_m = UINT32_MAX, .mv_wg = 8, .mv_t = 1, .mv_mode = 1, .mv_subgroup = 0, .mv_rows = 4, .mv_max_nm = 2, \
        /* M >= 3: mode 2, 4 x rows by 8 weight rows, scalar sums; with x shuffles the row's shape */               \
        .mv_many_m = 3, .mv_many_mode = 2, .mv_many_rows = 8, .mv_many_nm = 4, .mv_shuffle_many_rows = shuffle_rows, \
        .mv_shuffle_many_nm = shuffle_nm, .mv_target_wgs = 32, .mv_x_shuffle = 1,                                   \
        .bm = 32, .bn = 32, .bk = 8, .tm = 4, .tn = 4,                                                              \
        /* one subgroup a workgroup, bc keys a block (head <= 128), split only past 1024 keys */                    \
        .attn_wg_rows = 0, .attn_wg_rows_wide = 0, .attn_bc = bc, .attn_bc_mid = bc, .attn_bc_wide = 8,             \
        .attn_wg_1d = 0, .attn_target_wgs = 8, .attn_min_chunk = 1024, .attn_max_chunk = UINT32_MAX,                \
        .attn_dsplit = 1, .attn_rows = 8, .attn_rows_wide = 4, .attn_subgroup_sum = 1,                              \
        /* one subgroup a workgroup, each lane a contiguous range, ~32 workgroups */                                \
        .norm_wg = 0, .norm_shrink = 0, .norm_target_wgs = 32, .lane_contig = 1, .ew_wg = 0, .ew_chunk = 8192,      \
        .ew_max_wgs = 16, .embed_wg = 0, .topk_wg = 0, .topk_chunk = 32768, .topk_max_parts = 64, .patch_kernel = 2 \
    }

/* GPUs: a subgroup per weight row reading consecutive 16-byte words, 4 rows a workgroup; 64x64
 * tiles; many rows per attention workgroup sharing each key load; wide interleaved workgroups.
 * Not measured on a GPU yet (BENCHMARKS.md "Why the tuning table": GPUs). */
#define GPU_TUNING(name)                                                                                            \
    {                                                                                                               \
        .row = name, .texel = 0,                                                                                    \
        .mv_max_m = 8, .mv_wg = 0, .mv_t = 0, .mv_mode = 0, .mv_subgroup = 1, .mv_rows = 1, .mv_max_nm = 8,         \
        .mv_many_m = 0, .mv_target_wgs = 0, .mv_x_shuffle = 0,                                                      \
        .bm = 64, .bn = 64, .bk = 16, .tm = 4, .tn = 4,                                                             \
        .attn_wg_rows = 64, .attn_wg_rows_wide = 32, .attn_bc = 16, .attn_bc_mid = 8, .attn_bc_wide = 4,           \
        .attn_wg_1d = 64, .attn_target_wgs = 256, .attn_min_chunk = 128, .attn_max_chunk = UINT32_MAX,              \
        .attn_dsplit = 0, .attn_rows = 1, .attn_rows_wide = 1, .attn_subgroup_sum = 0,                              \
        .norm_wg = 256, .norm_shrink = 1, .norm_target_wgs = 0, .lane_contig = 0, .ew_wg = 256, .ew_chunk = 2048,   \
        .ew_max_wgs = 0, .embed_wg = 128, .topk_wg = 128, .topk_chunk = 4096, .topk_max_parts = 64,                 \
        .patch_kernel = 1                                                                                           \
    }

static const tuning_row rows[] = {
    /* lavapipe on Mesa 22.x-24.x: every CPU-row choice measured on 22.3 (BENCHMARKS.md); mode 2
     * with x shuffles: 8 x rows by 4 weight rows */
    {VK_DRIVER_ID_MESA_LLVMPIPE, 0, ANY_TYPE, 0, VK_MAKE_VERSION(25, 0, 0) - 1u, CPU_TUNING("lavapipe, Mesa < 25", 4, 8, 8)},
    /* lavapipe on Mesa 25+: 22.3's choices, measured again there (round 9), except mode 2 with x
     * shuffles: 4 x rows by 8 weight rows, 0.88-0.90x the time of 8 by 4 on 25.0 (1.3x on 22.3),
     * and attention blocks of 4 keys: 0.91x the time of 8 at 729 tokens, where each texel fetch
     * is a call (round 11; 22.3: no difference) */
    {VK_DRIVER_ID_MESA_LLVMPIPE, 0, ANY_TYPE, VK_MAKE_VERSION(25, 0, 0), UINT32_MAX, CPU_TUNING("lavapipe, Mesa >= 25", 8, 4, 4)},
    /* other CPU devices (SwiftShader, ...): lavapipe 22.3's, unmeasured */
    {0, 0, VK_PHYSICAL_DEVICE_TYPE_CPU, 0, UINT32_MAX, CPU_TUNING("CPU device", 4, 8, 8)},
    /* every GPU: one untuned default until a GPU is measured */
    {0, 0, ANY_TYPE, 0, UINT32_MAX, GPU_TUNING("GPU default")},
};

/* The driver version rows compare against. Mesa's drivers put the Mesa release in driverInfo
 * ("Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)") while lavapipe reports driverVersion 1 whatever the
 * release (22.3 and 25.0 alike): for them the release, as VK_MAKE_VERSION(25, 0, 7). */
static uint32_t row_version(const tlv_vk_caps *c)
{
    unsigned major = 0, minor = 0, patch = 0;
    if (!strncmp(c->driver_info, "Mesa ", 5) && sscanf(c->driver_info + 5, "%u.%u.%u", &major, &minor, &patch) >= 2 &&
        major < 1024 && minor < 1024 && patch < 4096)
        return VK_MAKE_VERSION(major, minor, patch);
    return c->driver_version;
}

void tlv__vk_tuning_select(tlv_vk_caps *c)
{
    const uint32_t version = row_version(c);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const tuning_row *r = &rows[i];
        if (r->driver_id && r->driver_id != c->driver_id) continue;
        if (r->vendor_id && r->vendor_id != c->vendor_id) continue;
        if (r->type != ANY_TYPE && (VkPhysicalDeviceType)r->type != c->type) continue;
        if (version < r->min_driver_version || version > r->max_driver_version) continue;
        c->tune = r->t;
        return;
    }
}

int tlv__vk_tuning_select_named(tlv_vk_caps *c, const char *row)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (!strcmp(rows[i].t.row, row)) {
            c->tune = rows[i].t;
            return 1;
        }
    return 0;
}

static void note(tlv_vk_tuning *t, const char *what)
{
    size_t n = strlen(t->notes);
    if (n + 3 >= sizeof t->notes) return;
    snprintf(t->notes + n, sizeof t->notes - n, "%s%s", n ? ", " : "", what);
}

static uint32_t pow2_floor(uint32_t v)
{
    uint32_t p = 1;
    while (p * 2 <= v && p < (1u << 31)) p *= 2;
    return p;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

void tlv__vk_tuning_derive(tlv_vk_caps *c)
{
    tlv_vk_tuning *t = &c->tune;
    const uint32_t sg = c->subgroup_size;
    const int can_sg = c->use_subgroups && (c->subgroup_ops & TLV_SUBGROUP_BASIC);
    const int sg_arith = c->use_subgroups && (c->subgroup_ops & TLV_SUBGROUP_ARITH);

    t->texel = c->use_texel ? 1u : 0u;

    /* matvec: a subgroup per row where subgroupAdd can sum it, else 32 threads and shared memory */
    if (!t->mv_t) {
        if (can_sg && sg_arith && sg >= 4 && sg <= 128 && (sg & (sg - 1)) == 0) {
            t->mv_t = sg;
        } else {
            t->mv_t = 32;
            t->mv_subgroup = 0;
            note(t, "matvec: 32 threads a row, shared-memory sums (no usable subgroups)");
        }
    }
    if (t->mv_subgroup && !(can_sg && sg_arith)) t->mv_subgroup = 0;
    if (!t->mv_wg) t->mv_wg = 4 * t->mv_t;
    while (t->mv_wg > c->max_wg_invocations && t->mv_wg > t->mv_t) t->mv_wg /= 2;
    /* mode 1 broadcasts x across an 8-lane subgroup with ballot/broadcast */
    if (t->mv_mode == 1 && !(can_sg && sg == 8 && (c->subgroup_ops & TLV_SUBGROUP_BALLOT))) {
        t->mv_mode = 0;
        note(t, "matvec mode 0 (mode 1 needs 8-lane subgroups with ballot)");
    }
    if (t->mv_x_shuffle && !(t->mv_mode == 1 && (c->subgroup_ops & TLV_SUBGROUP_SHUFFLE))) {
        t->mv_x_shuffle = 0;
        note(t, "no x shuffles (need matvec mode 1 and subgroup shuffles)");
    }
    /* x traded by shuffles makes an x row cheaper in mode 2: more x rows per weight fetch */
    if (t->mv_x_shuffle && t->mv_many_mode == 2 && t->mv_shuffle_many_rows) {
        t->mv_many_rows = t->mv_shuffle_many_rows;
        t->mv_many_nm = t->mv_shuffle_many_nm;
    }
    /* tiles: (bm/tm)(bn/tn) invocations, bk (bm + bn) floats of shared memory */
    uint32_t bm = t->bm, bk = t->bk;
    while (t->tm && t->tn && (t->bm / t->tm) * (t->bn / t->tn) > c->max_wg_invocations && t->bm > 32)
        t->bm /= 2, t->bn /= 2;
    if (t->bm != bm) note(t, "smaller matmul tiles (max workgroup invocations)");
    while (t->bk > 4 && (uint64_t)t->bk * (t->bm + t->bn) * 4 > c->max_shared_bytes) t->bk /= 2;
    if (t->bk != bk) note(t, "shorter matmul k step (shared memory)");
    /* half the driver's loop limit: a split's count of iterations is an estimate */
    t->loop_budget = c->max_loop_iterations / 2;

    /* attention */
    uint32_t sg_rows = sg >= 4 && sg <= 16 ? sg : 8;
    if (!t->attn_wg_rows) t->attn_wg_rows = sg_rows;
    if (!t->attn_wg_rows_wide) t->attn_wg_rows_wide = sg_rows;
    if (!t->attn_wg_1d) t->attn_wg_1d = t->attn_wg_rows;
    if (t->attn_dsplit && !sg_arith) {
        /* shared-memory sums need barriers, which lavapipe's LLVM turns into coroutines taking
         * minutes over a large unrolled body: 2 rows and 4 keys a block compile in seconds */
        t->attn_rows = min_u32(t->attn_rows, 2);
        t->attn_rows_wide = min_u32(t->attn_rows_wide, 2);
        t->attn_bc = t->attn_bc_mid = t->attn_bc_wide = 4;
        note(t, "attention: 2 rows, 4 keys a block (no subgroup sums)");
    }
    /* both kernels unroll all but the key loop (one iteration per block): 8192 keys leave a wide
     * margin under the driver's loop limit */
    if (c->max_loop_iterations) t->attn_max_chunk = 8192;
    uint32_t lim = min_u32(c->max_wg_size[0], c->max_wg_invocations);
    if (lim == 0) lim = 64;
    t->attn_wg_rows = min_u32(t->attn_wg_rows, lim);
    t->attn_wg_rows_wide = min_u32(t->attn_wg_rows_wide, lim);
    t->attn_wg_1d = min_u32(t->attn_wg_1d, lim);
    if (t->attn_subgroup_sum && !sg_arith) t->attn_subgroup_sum = 0;

    /* norm, elementwise, embed, top-k */
    uint32_t sg_basic = sg >= 4 && sg <= 64 ? pow2_floor(sg) : 8;
    if (!t->norm_wg) t->norm_wg = sg_basic;
    if (!t->ew_wg) t->ew_wg = sg_basic;
    if (!t->embed_wg) t->embed_wg = sg_basic;
    if (!t->topk_wg) t->topk_wg = sg_basic;
    t->topk_budget = c->max_loop_iterations - c->max_loop_iterations / 16;
    lim = min_u32(c->max_wg_invocations, c->max_wg_size[0]);
    if (lim >= 1) {
        lim = pow2_floor(lim);
        t->norm_wg = min_u32(t->norm_wg, lim);
        t->ew_wg = min_u32(t->ew_wg, lim);
        t->embed_wg = min_u32(t->embed_wg, lim);
        t->topk_wg = min_u32(t->topk_wg, lim);
    }
}

/* ------------------------------------------------------------------------------------------
 * TLV_TUNE_<FIELD> switches */

typedef struct field {
    const char *name;
    size_t off;
    uint32_t max; /* largest value accepted */
} field;

#define F(name, max) {#name, offsetof(tlv_vk_tuning, name), max}
static const field fields[] = {
    F(mv_max_m, UINT32_MAX), F(mv_wg, 1024), F(mv_t, 1024), F(mv_mode, 2), F(mv_subgroup, 1), F(mv_rows, 8),
    F(mv_max_nm, 8), F(mv_many_m, UINT32_MAX), F(mv_many_mode, 2), F(mv_many_rows, 8), F(mv_many_nm, 8),
    F(mv_target_wgs, UINT32_MAX), F(mv_x_shuffle, 1), F(bm, 1024), F(bn, 1024), F(bk, 1024), F(tm, 64),
    F(tn, 64), F(loop_budget, UINT32_MAX), F(attn_wg_rows, 1024), F(attn_wg_rows_wide, 1024), F(attn_bc, 64),
    F(attn_bc_mid, 64), F(attn_bc_wide, 64), F(attn_wg_1d, 1024), F(attn_target_wgs, UINT32_MAX),
    F(attn_min_chunk, UINT32_MAX), F(attn_max_chunk, UINT32_MAX), F(attn_dsplit, 1), F(attn_rows, 8),
    F(attn_rows_wide, 8), F(attn_subgroup_sum, 1), F(norm_wg, 1024), F(norm_shrink, 1),
    F(norm_target_wgs, UINT32_MAX), F(lane_contig, 1), F(ew_wg, 1024), F(ew_chunk, UINT32_MAX),
    F(ew_max_wgs, UINT32_MAX), F(embed_wg, 1024), F(topk_wg, 1024), F(topk_chunk, UINT32_MAX),
    F(topk_max_parts, UINT32_MAX), F(topk_budget, UINT32_MAX), F(patch_kernel, 2),
};
#undef F

int tlv__vk_tuning_set(tlv_vk_tuning *t, const char *name, const char *value)
{
    const field *f = NULL;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (!strcasecmp(fields[i].name, name)) f = &fields[i];
    if (!f) {
        snprintf(t->error, sizeof t->error,
                 "TLV_TUNE_%s: no such tuning field (docs/DEVICES.md lists them; texel reads: TLV_DISABLE_TEXEL)", name);
        return -1;
    }
    char *end = NULL;
    unsigned long long v = value && *value && *value != '-' ? strtoull(value, &end, 0) : 0;
    if (!value || !*value || *value == '-' || !end || *end || v > f->max) {
        snprintf(t->error, sizeof t->error, "TLV_TUNE_%s=%s: expected a whole number 0..%u", name, value ? value : "",
                 f->max);
        return -1;
    }
    uint32_t *p = (uint32_t *)((char *)t + f->off);
    *p = (uint32_t)v;
    char buf[96];
    snprintf(buf, sizeof buf, "%s=%u (TLV_TUNE)", f->name, (unsigned)v);
    note(t, buf);
    return 0;
}

void tlv__vk_tuning_describe(const tlv_vk_tuning *t, char *buf, size_t cap)
{
    if (!cap) return;
    char mmax[16] = "any";
    char kmax[16] = "any";
    if (t->mv_max_m != UINT32_MAX) snprintf(mmax, sizeof mmax, "%u", t->mv_max_m);
    if (t->attn_max_chunk != UINT32_MAX) snprintf(kmax, sizeof kmax, "%u", t->attn_max_chunk);
    snprintf(buf, cap,
             "row: %s | texel %u | matvec M<=%s wg %u t %u mode %u sg %u rows %u nm %u x-shuffle %u, M>=%u mode %u "
             "rows %u nm %u, %u wgs | tiles %ux%u k%u %ux%u | loop budget %u | attn wg %u/%u bc %u/%u/%u 1d %u "
             "split %u wgs >=%u keys <=%s | dsplit %u rows %u/%u sg-sum %u | norm wg %u shrink %u %u wgs | "
             "lane-contig %u | ew wg %u chunk %u max %u | embed %u | topk wg %u chunk %u parts %u | patch %u%s%s",
             t->row ? t->row : "?", t->texel, mmax, t->mv_wg, t->mv_t, t->mv_mode, t->mv_subgroup, t->mv_rows,
             t->mv_max_nm, t->mv_x_shuffle, t->mv_many_m, t->mv_many_mode, t->mv_many_rows, t->mv_many_nm,
             t->mv_target_wgs, t->bm, t->bn, t->bk, t->tm, t->tn, t->loop_budget, t->attn_wg_rows, t->attn_wg_rows_wide,
             t->attn_bc, t->attn_bc_mid, t->attn_bc_wide, t->attn_wg_1d, t->attn_target_wgs, t->attn_min_chunk,
             kmax, t->attn_dsplit, t->attn_rows, t->attn_rows_wide, t->attn_subgroup_sum, t->norm_wg,
             t->norm_shrink, t->norm_target_wgs, t->lane_contig, t->ew_wg, t->ew_chunk, t->ew_max_wgs, t->embed_wg,
             t->topk_wg, t->topk_chunk, t->topk_max_parts, t->patch_kernel, t->notes[0] ? " | notes: " : "", t->notes);
}
