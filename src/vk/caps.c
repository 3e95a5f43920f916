/* caps.c: the capability record, filled once per physical device, then const.
 *
 * Only structures whose extension (or core version) the device reports are chained into the
 * feature/property queries: chaining an unknown structure is invalid usage. Then the quirk table
 * (quirks.c) and the TLV_* environment switches decide what the runtime will use, and the
 * tuning table (tuning.c) what is fastest, fitted to all of the above, then TLV_TUNE_*. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk/internal.h"

extern char **environ; /* POSIX; declared by <unistd.h> only with _GNU_SOURCE */

static int has_ext(const VkExtensionProperties *e, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(e[i].extensionName, name)) return 1;
    return 0;
}

static uint32_t pick_queue_family(VkPhysicalDevice phys, uint32_t *timestamp_bits)
{
    VkQueueFamilyProperties q[32];
    uint32_t n = 32;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &n, q);
    uint32_t best = UINT32_MAX;
    /* A compute-only family first (async compute on discrete GPUs), else any family with compute. */
    for (uint32_t i = 0; i < n; i++)
        if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) {
            best = i;
            break;
        }
    if (best == UINT32_MAX)
        for (uint32_t i = 0; i < n; i++)
            if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
                best = i;
                break;
            }
    *timestamp_bits = best == UINT32_MAX ? 0 : q[best].timestampValidBits;
    return best;
}

/* TLV_TUNE_<FIELD>=value: the tuning record's switches for experiments (docs/DEVICES.md), read
 * here with the other TLV_* switches so that nothing else reads the environment. The first bad
 * one leaves its message in tune.error (device creation fails with it) and the rest unread. */
static void apply_tune_env(tlv_vk_caps *c)
{
    static const char prefix[] = "TLV_TUNE_";
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, prefix, sizeof prefix - 1)) continue;
        const char *name = *e + sizeof prefix - 1, *eq = strchr(name, '=');
        char field[64];
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        if (n >= sizeof field) n = sizeof field - 1;
        memcpy(field, name, n);
        field[n] = 0;
        if (tlv__vk_tuning_set(&c->tune, field, eq ? eq + 1 : "")) return;
    }
}

void tlv__vk_caps_query(VkPhysicalDevice phys, uint32_t instance_api, tlv_vk_caps *c)
{
    memset(c, 0, sizeof *c);
    VkExtensionProperties exts[512];
    uint32_t n_ext = 512;
    if (vkEnumerateDeviceExtensionProperties(phys, NULL, &n_ext, exts) < 0) n_ext = 0;

    VkPhysicalDeviceProperties base;
    vkGetPhysicalDeviceProperties(phys, &base);
    uint32_t api = base.apiVersion < instance_api ? base.apiVersion : instance_api;
    int v12 = api >= VK_API_VERSION_1_2, v13 = api >= VK_API_VERSION_1_3;

    /* properties */
    VkPhysicalDeviceProperties2 p2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    VkPhysicalDeviceSubgroupProperties sg = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceDriverProperties drv = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupSizeControlPropertiesEXT sgc = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT};
    VkPhysicalDeviceShaderIntegerDotProductProperties idp = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
    p2.pNext = &sg;
    void **tail = &sg.pNext;
    int has_drv = v12 || has_ext(exts, n_ext, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
    int has_sgc = v13 || has_ext(exts, n_ext, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    int has_idp = v13 || has_ext(exts, n_ext, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
    if (has_drv) { *tail = &drv; tail = &drv.pNext; }
    if (has_sgc) { *tail = &sgc; tail = &sgc.pNext; }
    if (has_idp) { *tail = &idp; tail = &idp.pNext; }
    vkGetPhysicalDeviceProperties2(phys, &p2);

    /* features */
    VkPhysicalDeviceFeatures2 f2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    VkPhysicalDevice16BitStorageFeatures s16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice8BitStorageFeatures s8 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
    VkPhysicalDeviceSubgroupSizeControlFeaturesEXT sgcf = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT};
    f2.pNext = &s16;
    tail = &s16.pNext;
    int has_f16 = v12 || has_ext(exts, n_ext, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
    int has_s8 = v12 || has_ext(exts, n_ext, VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
    if (has_f16) { *tail = &f16; tail = &f16.pNext; }
    if (has_s8) { *tail = &s8; tail = &s8.pNext; }
    if (has_sgc) { *tail = &sgcf; tail = &sgcf.pNext; }
    vkGetPhysicalDeviceFeatures2(phys, &f2);

    snprintf(c->device_name, sizeof c->device_name, "%s", base.deviceName);
    if (has_drv) {
        snprintf(c->driver_name, sizeof c->driver_name, "%s", drv.driverName);
        snprintf(c->driver_info, sizeof c->driver_info, "%s", drv.driverInfo);
        c->driver_id = (uint32_t)drv.driverID;
    }
    c->vendor_id = base.vendorID;
    c->device_id = base.deviceID;
    c->driver_version = base.driverVersion;
    c->api_version = base.apiVersion;
    c->type = base.deviceType;
    memcpy(c->pipeline_cache_uuid, base.pipelineCacheUUID, VK_UUID_SIZE);

    c->fp16_storage = s16.storageBuffer16BitAccess;
    c->fp16_arith = has_f16 && f16.shaderFloat16;
    c->int8_storage = has_s8 && s8.storageBuffer8BitAccess;
    c->int8_arith = has_f16 && f16.shaderInt8;
    c->subgroup_size = sg.subgroupSize;
    if (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) {
        VkSubgroupFeatureFlags f = sg.supportedOperations;
        if (f & VK_SUBGROUP_FEATURE_BASIC_BIT) c->subgroup_ops |= TLV_SUBGROUP_BASIC;
        if (f & VK_SUBGROUP_FEATURE_VOTE_BIT) c->subgroup_ops |= TLV_SUBGROUP_VOTE;
        if (f & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) c->subgroup_ops |= TLV_SUBGROUP_ARITH;
        if (f & VK_SUBGROUP_FEATURE_BALLOT_BIT) c->subgroup_ops |= TLV_SUBGROUP_BALLOT;
        if (f & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) c->subgroup_ops |= TLV_SUBGROUP_SHUFFLE;
        if (f & VK_SUBGROUP_FEATURE_CLUSTERED_BIT) c->subgroup_ops |= TLV_SUBGROUP_CLUSTERED;
    }
    c->subgroup_size_control = has_sgc && sgcf.subgroupSizeControl && (sgc.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT);
    c->min_subgroup_size = has_sgc ? sgc.minSubgroupSize : sg.subgroupSize;
    c->max_subgroup_size = has_sgc ? sgc.maxSubgroupSize : sg.subgroupSize;

    const VkPhysicalDeviceLimits *l = &base.limits;
    c->max_shared_bytes = l->maxComputeSharedMemorySize;
    c->max_storage_range = l->maxStorageBufferRange;
    c->max_storage_buffers = l->maxPerStageDescriptorStorageBuffers;
    c->max_push_bytes = l->maxPushConstantsSize;
    c->max_wg_invocations = l->maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++) {
        c->max_wg_size[i] = l->maxComputeWorkGroupSize[i];
        c->max_wg_count[i] = l->maxComputeWorkGroupCount[i];
    }
    c->min_storage_align = (uint32_t)l->minStorageBufferOffsetAlignment;
    c->max_texel_elements = l->maxTexelBufferElements;
    c->min_texel_align = (uint32_t)l->minTexelBufferOffsetAlignment;
    c->max_texel_buffers = l->maxPerStageDescriptorSampledImages;
    static const VkFormat texel_fmt[3] = {VK_FORMAT_UNDEFINED, VK_FORMAT_R32G32B32A32_UINT, VK_FORMAT_R32_UINT};
    for (uint32_t i = TLV_TEXEL_RGBA32UI; i <= TLV_TEXEL_R32UI; i++) {
        VkFormatProperties fp;
        vkGetPhysicalDeviceFormatProperties(phys, texel_fmt[i], &fp);
        if (fp.bufferFeatures & VK_FORMAT_FEATURE_UNIFORM_TEXEL_BUFFER_BIT) c->texel_formats |= 1u << i;
    }
    c->timestamp_period_ns = l->timestampPeriod;

    VkPhysicalDeviceMaintenance3Properties m3 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p2b = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    p2b.pNext = &m3;
    vkGetPhysicalDeviceProperties2(phys, &p2b);
    c->max_alloc_bytes = m3.maxMemoryAllocationSize;

    c->queue_family = pick_queue_family(phys, &c->timestamp_bits);
    c->timestamps = c->timestamp_bits != 0 && c->timestamp_period_ns > 0;
    c->coopmat = has_ext(exts, n_ext, "VK_KHR_cooperative_matrix");
    c->int_dot = has_idp && idp.integerDotProduct4x8BitPackedSignedAccelerated;

    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(phys, &mp);
    int host_visible_local = 0;
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = mp.memoryTypes[i].propertyFlags;
        if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) host_visible_local = 1;
    }
    for (uint32_t i = 0; i < mp.memoryHeapCount; i++)
        if (mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) c->device_local_bytes += mp.memoryHeaps[i].size;
    c->uma = c->type != VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU && host_visible_local;

    tlv__vk_caps_policy(c);
}

void tlv__vk_caps_policy(tlv_vk_caps *c)
{
    /* policy defaults, the tuning row, then quirks, then the user's switches */
    c->use_fp16 = c->fp16_arith && c->fp16_storage;
    c->use_subgroups = c->subgroup_size >= 4 && (c->subgroup_ops & TLV_SUBGROUP_ARITH) && (c->subgroup_ops & TLV_SUBGROUP_BASIC);
    c->storage_range_limit = c->max_storage_range;
    tlv__vk_tuning_select(c);
    /* texel reads where the tuning row wants them (BENCHMARKS.md: lavapipe's gathers) and the
     * device has RGBA32UI texel buffers, two a stage */
    c->use_texel = c->tune.texel && (c->texel_formats & (1u << TLV_TEXEL_RGBA32UI)) && c->max_texel_buffers >= 2;
    c->max_loop_iterations = 0;
    tlv__vk_quirks_apply(c);
    tlv__vk_caps_apply_env(c);
    tlv__vk_tuning_derive(c);
    apply_tune_env(c);
}

static void note(tlv_vk_caps *c, const char *what)
{
    size_t n = strlen(c->quirks);
    if (n && n + 2 < sizeof c->quirks) {
        c->quirks[n++] = ',';
        c->quirks[n++] = ' ';
        c->quirks[n] = 0;
    }
    snprintf(c->quirks + n, sizeof c->quirks - n, "%s", what);
}

void tlv__vk_caps_apply_env(tlv_vk_caps *c)
{
    const char *v;
    if ((v = getenv("TLV_DISABLE_FP16")) && strcmp(v, "0")) {
        c->use_fp16 = 0;
        note(c, "fp16 off (TLV_DISABLE_FP16)");
    }
    if ((v = getenv("TLV_DISABLE_SUBGROUPS")) && strcmp(v, "0")) {
        c->use_subgroups = 0;
        note(c, "subgroups off (TLV_DISABLE_SUBGROUPS)");
    }
    int texel_ok = (c->texel_formats & (1u << TLV_TEXEL_RGBA32UI)) && c->max_texel_buffers >= 2;
    if ((v = getenv("TLV_ENABLE_TEXEL")) && strcmp(v, "0") && texel_ok && !c->use_texel) {
        c->use_texel = 1;
        note(c, "texel reads on (TLV_ENABLE_TEXEL)");
    }
    if ((v = getenv("TLV_DISABLE_TEXEL")) && strcmp(v, "0") && c->use_texel) {
        c->use_texel = 0;
        note(c, "texel reads off (TLV_DISABLE_TEXEL)");
    }
    if ((v = getenv("TLV_MAX_STORAGE_RANGE")) && *v) {
        unsigned long long r = strtoull(v, NULL, 0);
        if (r >= 256 && r < c->storage_range_limit) {
            c->storage_range_limit = (uint32_t)(r & ~(unsigned long long)255);
            note(c, "storage range limited (TLV_MAX_STORAGE_RANGE)");
        }
    }
}

static const char *type_name(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

void tlv__vk_caps_banner(const tlv_vk_caps *c, char *buf, size_t cap)
{
    char loops[16] = "none";
    if (c->max_loop_iterations) snprintf(loops, sizeof loops, "%u", c->max_loop_iterations);
    snprintf(buf, cap,
             "%s | %s | vendor 0x%04x device 0x%04x | driver %s %s | vk %u.%u.%u | fp16 s%d a%d | int8 s%d a%d | "
             "subgroup %u (%u-%u)%s%s | shared %u KiB | storage range %u MiB | max alloc %llu MiB | "
             "buffers/stage %u | texel %s (%u Mi texels, align %u) | loop limit %s | timestamps %s | coopmat %d | "
             "int dot %d | uma %d | vram %llu MiB%s%s",
             c->device_name, type_name(c->type), c->vendor_id, c->device_id, c->driver_name[0] ? c->driver_name : "?",
             c->driver_info, VK_API_VERSION_MAJOR(c->api_version), VK_API_VERSION_MINOR(c->api_version),
             VK_API_VERSION_PATCH(c->api_version), c->fp16_storage, c->fp16_arith, c->int8_storage, c->int8_arith,
             c->subgroup_size, c->min_subgroup_size, c->max_subgroup_size, c->subgroup_ops & TLV_SUBGROUP_ARITH ? " arith" : "",
             c->subgroup_size_control ? " size-control" : "", c->max_shared_bytes / 1024, c->max_storage_range >> 20,
             (unsigned long long)(c->max_alloc_bytes >> 20), c->max_storage_buffers,
             c->use_texel ? "on" : c->texel_formats & (1u << TLV_TEXEL_RGBA32UI) ? "off" : "no", c->max_texel_elements >> 20,
             c->min_texel_align, loops, c->timestamps ? "yes" : "no", c->coopmat, c->int_dot, c->uma,
             (unsigned long long)(c->device_local_bytes >> 20), c->quirks[0] ? " | quirks: " : "", c->quirks);
}
