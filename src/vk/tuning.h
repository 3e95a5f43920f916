/* tuning.h: the tuning record, one per device: every choice the kernels make that is about speed,
 * not correctness (texel vs storage reads, x shuffles, matvec modes and shapes, tiles, workgroup
 * sizes, attention splits, norm/elementwise variants).
 *
 *   caps   (caps.c)   what the device can do            (queried)
 *   quirks (quirks.c) what is broken on it              (a table keyed by vendor/driver/version)
 *   tuning (tuning.c) what is fastest on it             (a table keyed by driver/vendor/type/version)
 *
 * tlv__vk_caps_query builds it once per physical device (it lives in tlv_vk_caps.tune, so every
 * holder of the capability record has it): the first matching row of the table in tuning.c,
 * then the constraints that follow from the capabilities (subgroups, shared memory, workgroup
 * limits, texel formats, the loop limit), then the TLV_TUNE_<FIELD>=value switches
 * (docs/DEVICES.md). Ops read these fields; none of them looks at the device type. Why each row
 * says what it says: docs/BENCHMARKS.md, "Why the tuning table says what it says". */
#ifndef TLV_VK_TUNING_H
#define TLV_VK_TUNING_H

#include <stddef.h>
#include <stdint.h>

typedef struct tlv_vk_tuning {
    const char *row; /* the table row that matched ("lavapipe, Mesa < 25", ...) */

    /* reads */
    uint32_t texel; /* x and weights through RGBA32UI uniform texel views where they fit (matmul,
                       attention's K/V) = caps.use_texel (after quirks and TLV_*_TEXEL) */

    /* matmul (ops/matmul.h, tlv_matmul_tuning has the rules) */
    uint32_t mv_max_m;     /* AUTO picks the matvec kernel for M <= this */
    uint32_t mv_wg;        /* matvec workgroup size (table 0: 4 * mv_t) */
    uint32_t mv_t;         /* threads per weight row (table 0: the subgroup size, else 32) */
    uint32_t mv_mode;      /* 0 chunked rows, 1 lane per row + broadcast x, 2 scalar sums */
    uint32_t mv_subgroup;  /* mode 0: reduce with subgroupAdd */
    uint32_t mv_rows;      /* weight rows per lane/row group */
    uint32_t mv_max_nm;    /* x rows per pass */
    uint32_t mv_many_m;    /* M >= this: the mv_many_* shape (0: never) */
    uint32_t mv_many_mode, mv_many_rows, mv_many_nm;
    uint32_t mv_shuffle_many_rows, mv_shuffle_many_nm; /* the mode-2 shape when x shuffles are on */
    uint32_t mv_target_wgs; /* with a loop budget: about this many workgroups */
    uint32_t mv_x_shuffle;  /* x handed out by subgroupShuffle (modes 1, 2 with texel views) */
    uint32_t bm, bn, bk, tm, tn; /* tiled kernel */
    uint32_t loop_budget;   /* loop iterations per invocation, half the driver's limit; 0: none */

    /* attention (ops/attention.c) */
    uint32_t attn_wg_rows, attn_wg_rows_wide; /* rows (or dsplit lanes) per workgroup, head_dim
                                                 <= 128 / > 128 (table 0: the subgroup size if
                                                 4..16, else 8) */
    uint32_t attn_bc, attn_bc_mid, attn_bc_wide; /* keys per block: head_dim <= 64, <= 128, > 128 */
    uint32_t attn_wg_1d;      /* rope, kv_write, combine (table 0: attn_wg_rows) */
    uint32_t attn_target_wgs; /* split the keys until about this many workgroups run */
    uint32_t attn_min_chunk;  /* fewest keys per chunk worth a split */
    uint32_t attn_max_chunk;  /* most keys one workgroup walks (the loop limit) */
    uint32_t attn_dsplit;     /* 1: attn_dsplit (head dim over the lanes) where vec4 reads work */
    uint32_t attn_rows, attn_rows_wide; /* attn_dsplit rows per workgroup at most, head_dim <= 128 / > 128 */
    uint32_t attn_subgroup_sum; /* attn_dsplit sums with subgroupAdd where the workgroup is one
                                   subgroup (the driver runs a workgroup as one subgroup) */

    /* norm, elementwise, cast, embed, patch embed, top-k (ops/norm.c .. topk.c, via tlv__op_tune) */
    uint32_t norm_wg;         /* invocations per vector (table 0: the subgroup size 4..64, else 8) */
    uint32_t norm_shrink;     /* short vectors get a smaller workgroup */
    uint32_t norm_target_wgs; /* vectors spread over about this many workgroups (0: one each) */
    uint32_t lane_contig;     /* norm, ew: each lane walks a contiguous range (else interleaved) */
    uint32_t ew_wg, ew_chunk, ew_max_wgs; /* ew_wg table 0: as norm_wg */
    uint32_t embed_wg, topk_wg, topk_chunk, topk_max_parts; /* *_wg table 0: as norm_wg */
    uint32_t topk_budget;     /* loop budget for top-k (its count is exact: 15/16 of the limit) */
    uint32_t patch_kernel;    /* 1 patch_embed (a workgroup per patch), 2 patch_embed_lanes */

    char notes[256]; /* what the capabilities and switches changed, "" if nothing */
    char error[192]; /* a rejected TLV_TUNE_* switch: device creation fails with this */
} tlv_vk_tuning;

struct tlv_vk_caps;

/* The first matching table row into c->tune (capability-dependent fields left at their table
 * value); its texel wish seeds caps.use_texel. */
void tlv__vk_tuning_select(struct tlv_vk_caps *c);
/* Tests: the row named `row` ("GPU default") into c->tune instead, as if it had matched; 0 if no
 * row has that name. Follow with tlv__vk_tuning_derive. */
int tlv__vk_tuning_select_named(struct tlv_vk_caps *c, const char *row);
/* The constraints from the capabilities and policy (after the quirks and the TLV_* switches). */
void tlv__vk_tuning_derive(struct tlv_vk_caps *c);
/* One TLV_TUNE_<FIELD> switch: name is FIELD (case-insensitive), value a decimal or 0x number.
 * 0 on success; else -1 with t->error set. */
int tlv__vk_tuning_set(tlv_vk_tuning *t, const char *name, const char *value);
/* "row: lavapipe, Mesa < 25 | texel 1 | matvec wg 8 t 1 mode 1 ..." (always NUL-terminated). */
void tlv__vk_tuning_describe(const tlv_vk_tuning *t, char *buf, size_t cap);

#endif
