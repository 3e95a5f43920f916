/* quirks.c: known driver problems, as data. Each row: which devices (vendor, device, driver,
 * driver-version range; 0 / UINT32_MAX = any), what to turn off, and why. Applied after the
 * capability query and before the user's TLV_* switches (caps.c), so a user can still turn more
 * things off, and tests can run fake devices through it (tests/vk). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vk/internal.h"

enum {
    Q_NO_FP16 = 1u << 0,
    Q_NO_SUBGROUPS = 1u << 1,
    Q_RANGE_128M = 1u << 2,
    Q_LOOPS_64K = 1u << 3, /* an invocation runs at most 65535 loop iterations */
    Q_NO_TEXEL = 1u << 4
};

#define VENDOR_AMD 0x1002u
#define VENDOR_NVIDIA 0x10DEu
#define VENDOR_INTEL 0x8086u
#define VENDOR_ARM 0x13B5u
#define VENDOR_QUALCOMM 0x5143u
#define VENDOR_IMGTEC 0x1010u

typedef struct quirk {
    uint32_t vendor_id;   /* 0: any */
    uint32_t driver_id;   /* VkDriverId, 0: any */
    uint32_t min_driver_version, max_driver_version; /* inclusive range of VkPhysicalDeviceProperties::driverVersion */
    uint32_t off;         /* Q_* (what to turn off or limit) */
    const char *why;
} quirk;

static const quirk quirks[] = {
    /* ncnn: "the 16bit_storage implementation of arm mali driver is buggy" on pre-Valhall drivers;
     * the f32 kernels never use fp16 arithmetic, but keep fp16 paths off there. */
    {VENDOR_ARM, VK_DRIVER_ID_ARM_PROPRIETARY, 0, VK_MAKE_VERSION(0, 0, 0) + 30u, Q_NO_FP16,
     "old Mali driver: fp16 storage unreliable (ncnn)"},
    /* PowerVR B-Series reports subgroup size 1, and its compiler fails on subgroup reductions
     * (llama.cpp PR #28341): use shared-memory reductions. */
    {VENDOR_IMGTEC, 0, 0, UINT32_MAX, Q_NO_SUBGROUPS, "PowerVR: subgroup reductions unreliable (llama.cpp #28341)"},
    /* Old Adreno drivers (5xx era) report 16-bit storage but corrupt it; some report a 1 GiB
     * storage range but fault past 128 MiB. */
    {VENDOR_QUALCOMM, VK_DRIVER_ID_QUALCOMM_PROPRIETARY, 0, VK_MAKE_VERSION(512, 400, 0), Q_NO_FP16 | Q_RANGE_128M,
     "old Adreno driver: fp16 storage and large bindings unreliable"},
    /* llvmpipe (lavapipe, Mesa 22.3 at least) ends a shader invocation silently after 65535 loop
     * iterations, all loops together (its loop-limiter against GPU hangs): results past that are
     * missing, not wrong-signalled. Ops bound the work per invocation (caps.max_loop_iterations). */
    {0, VK_DRIVER_ID_MESA_LLVMPIPE, 0, UINT32_MAX, Q_LOOPS_64K, "llvmpipe: 65535 loop iterations per invocation"},
};

void tlv__vk_quirks_apply(tlv_vk_caps *c)
{
    for (size_t i = 0; i < sizeof quirks / sizeof quirks[0]; i++) {
        const quirk *q = &quirks[i];
        if (q->vendor_id && q->vendor_id != c->vendor_id) continue;
        if (q->driver_id && q->driver_id != c->driver_id) continue;
        if (c->driver_version < q->min_driver_version || c->driver_version > q->max_driver_version) continue;
        if (q->off & Q_NO_FP16) c->use_fp16 = 0;
        if (q->off & Q_NO_SUBGROUPS) c->use_subgroups = 0;
        if ((q->off & Q_RANGE_128M) && c->storage_range_limit > (128u << 20)) c->storage_range_limit = 128u << 20;
        if ((q->off & Q_LOOPS_64K) && (!c->max_loop_iterations || c->max_loop_iterations > 65535u))
            c->max_loop_iterations = 65535u;
        if (q->off & Q_NO_TEXEL) c->use_texel = 0;
        size_t n = strlen(c->quirks);
        snprintf(c->quirks + n, sizeof c->quirks - n, "%s%s", n ? ", " : "", q->why);
    }
}
