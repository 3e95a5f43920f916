/* The tuning table (src/vk/tuning.c) on fake capability records: which row each device gets,
 * the kernel choices that follow (the same as before the table existed: the values below are
 * what ops/matmul.c, attention.c and basic.c chose by device type), the constraints from the
 * capabilities, the TLV_TUNE_* switches and their errors, and the record of the real device
 * through the public API. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

#include "tinyllava.h"
#include "vk/vk.h"

#define ALL_SG (TLV_SUBGROUP_BASIC | TLV_SUBGROUP_VOTE | TLV_SUBGROUP_ARITH | TLV_SUBGROUP_BALLOT | TLV_SUBGROUP_SHUFFLE)

static tlv_vk_caps fake_info(VkPhysicalDeviceType type, uint32_t vendor, uint32_t driver_id, uint32_t driver_version,
                             const char *driver_info, uint32_t sg, uint32_t sg_ops, uint32_t max_inv, uint32_t shared)
{
    tlv_vk_caps c;
    memset(&c, 0, sizeof c);
    snprintf(c.driver_info, sizeof c.driver_info, "%s", driver_info);
    c.type = type;
    c.vendor_id = vendor;
    c.driver_id = driver_id;
    c.driver_version = driver_version;
    c.subgroup_size = sg;
    c.subgroup_ops = sg_ops;
    c.max_wg_invocations = max_inv;
    c.max_wg_size[0] = max_inv;
    c.max_shared_bytes = shared;
    c.fp16_arith = c.fp16_storage = 1;
    c.max_storage_range = 1u << 30;
    c.texel_formats = 1u << TLV_TEXEL_RGBA32UI; /* every device here has texel buffers: the row decides */
    c.max_texel_buffers = 16;
    tlv__vk_caps_policy(&c);
    return c;
}

static tlv_vk_caps fake(VkPhysicalDeviceType type, uint32_t vendor, uint32_t driver_id, uint32_t driver_version,
                        uint32_t sg, uint32_t sg_ops, uint32_t max_inv, uint32_t shared)
{
    return fake_info(type, vendor, driver_id, driver_version, "", sg, sg_ops, max_inv, shared);
}

/* As lavapipe reports itself: driverVersion 1 on every release, the release in driverInfo. */
static tlv_vk_caps lavapipe(uint32_t mesa_major, uint32_t mesa_minor, uint32_t sg)
{
    char info[64];
    snprintf(info, sizeof info, "Mesa %u.%u.7-2~bpo12+1 (LLVM 15.0.6)", mesa_major, mesa_minor);
    return fake_info(VK_PHYSICAL_DEVICE_TYPE_CPU, 0x10005, VK_DRIVER_ID_MESA_LLVMPIPE, 1, info, sg, ALL_SG, 1024, 32768);
}

/* lavapipe with subgroups of 8: every CPU choice on; mode 2 with x shuffles many_nm x rows by
 * many_rows weight rows (the one choice Mesa 25's row makes differently). */
static void check_lavapipe_8(const tlv_vk_caps *c, uint32_t many_rows, uint32_t many_nm, uint32_t bc)
{
    const tlv_vk_tuning *t = &c->tune;
    CHECK_EQ_STR(t->error, "");
    CHECK_EQ_INT(c->use_texel, 1);
    CHECK_EQ_INT(t->texel, 1);
    CHECK_EQ_INT(t->mv_max_m, UINT32_MAX);
    CHECK_EQ_INT(t->mv_wg, 8);
    CHECK_EQ_INT(t->mv_t, 1);
    CHECK_EQ_INT(t->mv_mode, 1);
    CHECK_EQ_INT(t->mv_subgroup, 0);
    CHECK_EQ_INT(t->mv_rows, 4);
    CHECK_EQ_INT(t->mv_max_nm, 2);
    CHECK_EQ_INT(t->mv_x_shuffle, 1);
    CHECK_EQ_INT(t->mv_many_m, 3);
    CHECK_EQ_INT(t->mv_many_mode, 2);
    CHECK_EQ_INT(t->mv_many_rows, many_rows);
    CHECK_EQ_INT(t->mv_many_nm, many_nm);
    CHECK_EQ_INT(t->mv_target_wgs, 32);
    CHECK_EQ_INT(t->bm, 32);
    CHECK_EQ_INT(t->bn, 32);
    CHECK_EQ_INT(t->bk, 8);
    CHECK_EQ_INT(t->loop_budget, 65535 / 2); /* the quirk table's loop limit */
    CHECK_EQ_INT(t->attn_wg_rows, 8);
    CHECK_EQ_INT(t->attn_wg_rows_wide, 8);
    CHECK_EQ_INT(t->attn_bc, bc);
    CHECK_EQ_INT(t->attn_bc_mid, bc);
    CHECK_EQ_INT(t->attn_bc_wide, 8);
    CHECK_EQ_INT(t->attn_wg_1d, 8);
    CHECK_EQ_INT(t->attn_target_wgs, 8);
    CHECK_EQ_INT(t->attn_min_chunk, 1024);
    CHECK_EQ_INT(t->attn_max_chunk, 8192);
    CHECK_EQ_INT(t->attn_dsplit, 1);
    CHECK_EQ_INT(t->attn_rows, 8);
    CHECK_EQ_INT(t->attn_rows_wide, 4);
    CHECK_EQ_INT(t->attn_subgroup_sum, 1);
    CHECK_EQ_INT(t->norm_wg, 8);
    CHECK_EQ_INT(t->norm_shrink, 0);
    CHECK_EQ_INT(t->norm_target_wgs, 32);
    CHECK_EQ_INT(t->lane_contig, 1);
    CHECK_EQ_INT(t->ew_wg, 8);
    CHECK_EQ_INT(t->ew_chunk, 8192);
    CHECK_EQ_INT(t->ew_max_wgs, 16);
    CHECK_EQ_INT(t->embed_wg, 8);
    CHECK_EQ_INT(t->topk_wg, 8);
    CHECK_EQ_INT(t->topk_chunk, 32768);
    CHECK_EQ_INT(t->topk_budget, 65535 - 65535 / 16);
    CHECK_EQ_INT(t->patch_kernel, 2);
}

/* The GPU default row; mv_t threads a matvec row in mv_wg, tile x tile matmul tiles, wide_wg the
 * norm/elementwise workgroup (256 unless the device allows fewer). */
static void check_gpu(const tlv_vk_caps *c, uint32_t mv_t, uint32_t mv_wg, uint32_t tile, uint32_t wide_wg)
{
    const tlv_vk_tuning *t = &c->tune;
    CHECK_EQ_STR(t->row, "GPU default");
    CHECK_EQ_STR(t->error, "");
    CHECK_EQ_INT(c->use_texel, 0); /* texel buffers supported, not wanted: storage loads are the fast path */
    CHECK_EQ_INT(t->texel, 0);
    CHECK_EQ_INT(t->mv_max_m, 8);
    CHECK_EQ_INT(t->mv_t, mv_t);
    CHECK_EQ_INT(t->mv_subgroup, mv_t == 32 && !(c->use_subgroups) ? 0 : 1);
    CHECK_EQ_INT(t->mv_wg, mv_wg);
    CHECK_EQ_INT(t->mv_mode, 0);
    CHECK_EQ_INT(t->mv_rows, 1);
    CHECK_EQ_INT(t->mv_max_nm, 8);
    CHECK_EQ_INT(t->mv_many_m, 0);
    CHECK_EQ_INT(t->mv_x_shuffle, 0);
    CHECK_EQ_INT(t->bm, tile);
    CHECK_EQ_INT(t->bn, tile);
    CHECK_EQ_INT(t->loop_budget, 0);
    CHECK_EQ_INT(t->attn_wg_rows, 64);
    CHECK_EQ_INT(t->attn_wg_rows_wide, 32);
    CHECK_EQ_INT(t->attn_bc, 16);
    CHECK_EQ_INT(t->attn_bc_mid, 8);
    CHECK_EQ_INT(t->attn_bc_wide, 4);
    CHECK_EQ_INT(t->attn_wg_1d, 64);
    CHECK_EQ_INT(t->attn_target_wgs, 256);
    CHECK_EQ_INT(t->attn_min_chunk, 128);
    CHECK_EQ_INT(t->attn_max_chunk, UINT32_MAX);
    CHECK_EQ_INT(t->attn_dsplit, 0);
    CHECK_EQ_INT(t->attn_subgroup_sum, 0);
    CHECK_EQ_INT(t->norm_wg, wide_wg);
    CHECK_EQ_INT(t->norm_shrink, 1);
    CHECK_EQ_INT(t->norm_target_wgs, 0);
    CHECK_EQ_INT(t->lane_contig, 0);
    CHECK_EQ_INT(t->ew_wg, wide_wg);
    CHECK_EQ_INT(t->ew_chunk, 2048);
    CHECK_EQ_INT(t->embed_wg, 128);
    CHECK_EQ_INT(t->topk_wg, 128);
    CHECK_EQ_INT(t->topk_chunk, 4096);
    CHECK_EQ_INT(t->topk_budget, 0);
    CHECK_EQ_INT(t->patch_kernel, 1);
}

int main(void)
{
    /* lavapipe, Mesa 22.3 and 25.0: their own rows; mode 2 with x shuffles is 8 x rows by 4
     * weight rows on 22.3, 4 by 8 on 25.0 (BENCHMARKS.md, round 9); attention blocks of 8 keys on
     * 22.3, 4 on 25.0 (round 11) */
    tlv_vk_caps c = lavapipe(22, 3, 8);
    CHECK_EQ_STR(c.tune.row, "lavapipe, Mesa < 25");
    check_lavapipe_8(&c, 4, 8, 8);
    CHECK_EQ_STR(c.tune.notes, "");
    c = lavapipe(25, 0, 8);
    CHECK_EQ_STR(c.tune.row, "lavapipe, Mesa >= 25");
    check_lavapipe_8(&c, 8, 4, 4);
    c = lavapipe(24, 3, 8);
    CHECK_EQ_STR(c.tune.row, "lavapipe, Mesa < 25");
    c = lavapipe(26, 1, 8);
    CHECK_EQ_STR(c.tune.row, "lavapipe, Mesa >= 25");
    /* RADV names its Mesa release the same way: 24.2 is not 25 */
    c = fake_info(VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, 0x1002, VK_DRIVER_ID_MESA_RADV, VK_MAKE_VERSION(24, 2, 8),
                  "Mesa 24.2.8", 64, ALL_SG, 1024, 65536);
    CHECK_EQ_STR(c.tune.row, "GPU default");

    /* lavapipe with subgroups of 16 (LP_NATIVE_VECTOR_WIDTH=512): mode 1 needs 8 lanes, so mode 0
     * and no x shuffles, and mode 2 keeps its unshuffled shape; one 16-lane subgroup a workgroup */
    c = lavapipe(22, 3, 16);
    CHECK_EQ_INT(c.tune.mv_mode, 0);
    CHECK_EQ_INT(c.tune.mv_x_shuffle, 0);
    CHECK_EQ_INT(c.tune.mv_many_rows, 8);
    CHECK_EQ_INT(c.tune.mv_many_nm, 4);
    CHECK_EQ_INT(c.tune.attn_wg_rows, 16);
    CHECK_EQ_INT(c.tune.norm_wg, 16);
    CHECK_CONTAINS(c.tune.notes, "mode 1 needs 8-lane subgroups");
    /* subgroups of 4 (LP_NATIVE_VECTOR_WIDTH=128) */
    c = lavapipe(22, 3, 4);
    CHECK_EQ_INT(c.tune.mv_mode, 0);
    CHECK_EQ_INT(c.tune.attn_wg_rows, 4);
    CHECK_EQ_INT(c.tune.ew_wg, 4);

    /* lavapipe without subgroups (TLV_DISABLE_SUBGROUPS=1): mode 0, attention's small body */
    setenv("TLV_DISABLE_SUBGROUPS", "1", 1);
    c = lavapipe(22, 3, 8);
    unsetenv("TLV_DISABLE_SUBGROUPS");
    CHECK_EQ_INT(c.use_subgroups, 0);
    CHECK_EQ_INT(c.tune.mv_mode, 0);
    CHECK_EQ_INT(c.tune.mv_x_shuffle, 0);
    CHECK_EQ_INT(c.tune.attn_rows, 2);
    CHECK_EQ_INT(c.tune.attn_rows_wide, 2);
    CHECK_EQ_INT(c.tune.attn_bc, 4);
    CHECK_EQ_INT(c.tune.attn_subgroup_sum, 0);
    CHECK_EQ_INT(c.tune.texel, 1);
    CHECK_CONTAINS(c.tune.notes, "no subgroup sums");

    /* another CPU driver (SwiftShader-like): lavapipe's choices, without the loop limit */
    c = fake(VK_PHYSICAL_DEVICE_TYPE_CPU, 0x1AE0, VK_DRIVER_ID_GOOGLE_SWIFTSHADER, 1, 4, ALL_SG, 256, 16384);
    CHECK_EQ_STR(c.tune.row, "CPU device");
    CHECK_EQ_INT(c.tune.texel, 1);
    CHECK_EQ_INT(c.tune.lane_contig, 1);
    CHECK_EQ_INT(c.tune.loop_budget, 0);
    CHECK_EQ_INT(c.tune.attn_max_chunk, UINT32_MAX);

    /* NVIDIA: 32-lane subgroups, 4 rows of 32 a workgroup */
    c = fake(VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, 0x10DE, VK_DRIVER_ID_NVIDIA_PROPRIETARY, 0x80000000u, 32, ALL_SG,
             1024, 49152);
    check_gpu(&c, 32, 128, 64, 256);
    CHECK_EQ_INT(c.tune.bk, 16);
    CHECK_EQ_STR(c.tune.notes, "");
    /* AMD (RADV, wave64) */
    c = fake(VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, 0x1002, VK_DRIVER_ID_MESA_RADV, VK_MAKE_VERSION(24, 2, 0), 64,
             ALL_SG, 1024, 65536);
    check_gpu(&c, 64, 256, 64, 256);
    /* Mali-like: 16-lane subgroups, 256 invocations */
    c = fake(VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, 0x13B5, VK_DRIVER_ID_ARM_PROPRIETARY, VK_MAKE_VERSION(0, 0, 40),
             16, ALL_SG, 256, 32768);
    check_gpu(&c, 16, 64, 64, 256);
    /* Adreno-like: 64-lane subgroups but 128 invocations: the matvec, norm and elementwise
     * workgroups and the tiles shrink; a small shared memory (1 KiB) shortens the k step */
    c = fake(VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, 0x5143, VK_DRIVER_ID_QUALCOMM_PROPRIETARY,
             VK_MAKE_VERSION(512, 700, 0), 64, ALL_SG, 128, 1024);
    check_gpu(&c, 64, 128, 32, 128);
    CHECK_EQ_INT(c.tune.bk, 4);
    CHECK_CONTAINS(c.tune.notes, "smaller matmul tiles");
    CHECK_CONTAINS(c.tune.notes, "shorter matmul k step");
    /* a GPU without subgroups (PowerVR-like, or none reported): 32 threads a row, shared-memory sums */
    c = fake(VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU, 0x1234, 0, 1, 1, 0, 512, 32768);
    CHECK_EQ_INT(c.use_subgroups, 0);
    check_gpu(&c, 32, 128, 64, 256);
    CHECK_EQ_INT(c.tune.mv_subgroup, 0);
    CHECK_CONTAINS(c.tune.notes, "shared-memory sums");

    /* the description names the row and the choices */
    char buf[1024];
    c = lavapipe(22, 3, 8);
    tlv__vk_tuning_describe(&c.tune, buf, sizeof buf);
    CHECK_CONTAINS(buf, "row: lavapipe, Mesa < 25");
    CHECK_CONTAINS(buf, "matvec M<=any wg 8 t 1 mode 1");
    CHECK_CONTAINS(buf, "patch 2");

    /* TLV_TUNE_<FIELD>: applied last, case-insensitive names, noted; bad values are errors */
    setenv("TLV_TUNE_MV_MODE", "2", 1);
    setenv("TLV_TUNE_attn_min_chunk", "0x100", 1);
    c = lavapipe(22, 3, 8);
    CHECK_EQ_STR(c.tune.error, "");
    CHECK_EQ_INT(c.tune.mv_mode, 2);
    CHECK_EQ_INT(c.tune.attn_min_chunk, 256);
    CHECK_CONTAINS(c.tune.notes, "mv_mode=2 (TLV_TUNE)");
    unsetenv("TLV_TUNE_attn_min_chunk");
    setenv("TLV_TUNE_MV_MODE", "3", 1);
    c = lavapipe(22, 3, 8);
    CHECK_CONTAINS(c.tune.error, "TLV_TUNE_MV_MODE=3: expected a whole number 0..2");
    setenv("TLV_TUNE_MV_MODE", "two", 1);
    c = lavapipe(22, 3, 8);
    CHECK_CONTAINS(c.tune.error, "TLV_TUNE_MV_MODE=two");
    setenv("TLV_TUNE_MV_MODE", "-1", 1);
    c = lavapipe(22, 3, 8);
    CHECK_CONTAINS(c.tune.error, "TLV_TUNE_MV_MODE=-1");
    setenv("TLV_TUNE_MV_MODE", "", 1);
    c = lavapipe(22, 3, 8);
    CHECK_CONTAINS(c.tune.error, "TLV_TUNE_MV_MODE=: expected");
    unsetenv("TLV_TUNE_MV_MODE");
    setenv("TLV_TUNE_NO_SUCH_FIELD", "1", 1);
    c = lavapipe(22, 3, 8);
    CHECK_CONTAINS(c.tune.error, "TLV_TUNE_NO_SUCH_FIELD: no such tuning field");

    /* the real device: the public call describes its record; a bad switch is an error there and
     * when the device is created (the first model load) */
    unsetenv("TLV_TUNE_NO_SUCH_FIELD");
    tlv_context *ctx = NULL;
    tlv_status st = tlv_context_create(NULL, &ctx);
    if (st == TLV_ERR_NO_DEVICE) { /* the fake devices above were checked; nothing real to ask */
        printf("test_vk_tuning: no Vulkan device: the public-API part did not run\n");
        tlv_context_destroy(ctx);
        return tlv_test_finish("test_vk_tuning");
    }
    CHECK_EQ_INT(st, TLV_OK);
    CHECK_EQ_INT(tlv_device_tuning(ctx, 0, buf, sizeof buf), TLV_OK);
    CHECK_CONTAINS(buf, "row: ");
    CHECK_CONTAINS(buf, "| matvec ");
    tlv_device_info info;
    CHECK_EQ_INT(tlv_device_get_info(ctx, 0, &info), TLV_OK);
    if (strstr(info.driver, "llvmpipe") && strstr(info.driver, "Mesa 22.")) CHECK_CONTAINS(buf, "row: lavapipe, Mesa < 25");
    if (strstr(info.driver, "llvmpipe") && strstr(info.driver, "Mesa 25.")) CHECK_CONTAINS(buf, "row: lavapipe, Mesa >= 25");
    CHECK_EQ_INT(tlv_device_tuning(ctx, 99, buf, sizeof buf), TLV_ERR_NOT_FOUND);
    CHECK_EQ_INT(tlv_device_tuning(ctx, 0, buf, 0), TLV_ERR_INVALID_ARG);
    tlv_context_destroy(ctx);
    setenv("TLV_TUNE_MV_ROWS", "lots", 1);
    ctx = NULL;
    CHECK_EQ_INT(tlv_context_create(NULL, &ctx), TLV_OK);
    CHECK_EQ_INT(tlv_device_tuning(ctx, 0, buf, sizeof buf), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(tlv_context_errmsg(ctx), "TLV_TUNE_MV_ROWS=lots");
    tlv_context_destroy(ctx);
    unsetenv("TLV_TUNE_MV_ROWS");
    return tlv_test_finish("test_vk_tuning");
}
