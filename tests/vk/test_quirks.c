/* The quirk table and the environment switches, on fake capability records. */
#include "harness.h"

#include <stdlib.h>

#include "vk/vk.h"

static tlv_vk_caps fake(uint32_t vendor, uint32_t driver_id, uint32_t driver_version)
{
    tlv_vk_caps c;
    memset(&c, 0, sizeof c);
    c.vendor_id = vendor;
    c.driver_id = driver_id;
    c.driver_version = driver_version;
    c.use_fp16 = 1;
    c.use_subgroups = 1;
    c.max_storage_range = c.storage_range_limit = 1u << 30;
    return c;
}

int main(void)
{
    tlv_vk_caps c = fake(0x10DE, VK_DRIVER_ID_NVIDIA_PROPRIETARY, 0x80000000u);
    tlv__vk_quirks_apply(&c);
    CHECK(c.use_fp16 && c.use_subgroups);
    CHECK_EQ_STR(c.quirks, "");

    c = fake(0x1010, 0, 1); /* PowerVR */
    tlv__vk_quirks_apply(&c);
    CHECK_EQ_INT(c.use_subgroups, 0);
    CHECK_CONTAINS(c.quirks, "PowerVR");

    c = fake(0x5143, VK_DRIVER_ID_QUALCOMM_PROPRIETARY, VK_MAKE_VERSION(512, 300, 0)); /* old Adreno */
    tlv__vk_quirks_apply(&c);
    CHECK_EQ_INT(c.use_fp16, 0);
    CHECK_EQ_INT(c.storage_range_limit, 128u << 20);
    c = fake(0x5143, VK_DRIVER_ID_QUALCOMM_PROPRIETARY, VK_MAKE_VERSION(512, 700, 0)); /* newer Adreno */
    tlv__vk_quirks_apply(&c);
    CHECK_EQ_INT(c.use_fp16, 1);

    /* llvmpipe: the loop limit, with the reason; other drivers: none */
    c = fake(0x10005, VK_DRIVER_ID_MESA_LLVMPIPE, VK_MAKE_VERSION(0, 0, 1));
    tlv__vk_quirks_apply(&c);
    CHECK_EQ_INT(c.max_loop_iterations, 65535);
    CHECK_CONTAINS(c.quirks, "65535 loop iterations");
    CHECK(c.use_fp16 && c.use_subgroups);
    c = fake(0x10DE, VK_DRIVER_ID_NVIDIA_PROPRIETARY, 0x80000000u);
    tlv__vk_quirks_apply(&c);
    CHECK_EQ_INT(c.max_loop_iterations, 0);

    /* texel switches: DISABLE wins; ENABLE only where the format is supported */
    c = fake(0x10DE, 0, 1);
    c.texel_formats = 1u << TLV_TEXEL_RGBA32UI;
    c.max_texel_buffers = 16;
    setenv("TLV_ENABLE_TEXEL", "1", 1);
    tlv__vk_caps_apply_env(&c);
    CHECK_EQ_INT(c.use_texel, 1);
    CHECK_CONTAINS(c.quirks, "TLV_ENABLE_TEXEL");
    c = fake(0x10DE, 0, 1); /* no texel formats */
    tlv__vk_caps_apply_env(&c);
    CHECK_EQ_INT(c.use_texel, 0);
    setenv("TLV_DISABLE_TEXEL", "1", 1);
    c = fake(0x10DE, 0, 1);
    c.texel_formats = 1u << TLV_TEXEL_RGBA32UI;
    c.max_texel_buffers = 16;
    c.use_texel = 1;
    tlv__vk_caps_apply_env(&c);
    CHECK_EQ_INT(c.use_texel, 0);
    CHECK_CONTAINS(c.quirks, "TLV_DISABLE_TEXEL");
    unsetenv("TLV_ENABLE_TEXEL");
    unsetenv("TLV_DISABLE_TEXEL");

    setenv("TLV_DISABLE_SUBGROUPS", "1", 1);
    setenv("TLV_MAX_STORAGE_RANGE", "65536", 1);
    c = fake(0x10DE, 0, 1);
    tlv__vk_caps_apply_env(&c);
    CHECK_EQ_INT(c.use_subgroups, 0);
    CHECK_EQ_INT(c.storage_range_limit, 65536);
    CHECK_CONTAINS(c.quirks, "TLV_DISABLE_SUBGROUPS");
    return tlv_test_finish("test_vk_quirks");
}
