/* device.c: the logical device, its one compute queue, and what hangs off it.
 *
 * Features are enabled only when the capability record says the driver has them; nothing beyond
 * Vulkan 1.1 is required (the shaders read 16-bit data as 32-bit words). */
#include <stdlib.h>
#include <string.h>

#include "vk/internal.h"

static int has_ext(VkPhysicalDevice phys, const char *name)
{
    VkExtensionProperties exts[512];
    uint32_t n = 512;
    if (vkEnumerateDeviceExtensionProperties(phys, NULL, &n, exts) < 0) return 0;
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(exts[i].extensionName, name)) return 1;
    return 0;
}

void tlv__vk_device_destroy(tlv_vk_device *d)
{
    if (!d) return;
    if (d->device) {
        d->vk.vkDeviceWaitIdle(d->device);
        tlv__vk_pipeline_cache_save(d);
        tlv__vk_pipelines_destroy_all(d);
        if (d->pcache) d->vk.vkDestroyPipelineCache(d->device, d->pcache, NULL);
        if (d->xfer_fence) d->vk.vkDestroyFence(d->device, d->xfer_fence, NULL);
        if (d->xfer_pool) d->vk.vkDestroyCommandPool(d->device, d->xfer_pool, NULL);
        tlv__vk_memory_destroy_all(d);
        d->vk.vkDestroyDevice(d->device, NULL);
    }
    tlv__free(d->alloc, d->pcache_path);
    pthread_mutex_destroy(&d->lock);
    tlv__free(d->alloc, d);
}

tlv_status tlv__vk_device_create(tlv_vk_instance *inst, uint32_t index, const tlv_vk_device_options *o,
                                 tlv_vk_device **out, tlv_err *err)
{
    *out = NULL;
    if (!inst || index >= inst->n_phys)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "device index %u out of range", index);
    tlv_vk_device *d = tlv__calloc(inst->alloc, 1, sizeof *d);
    if (!d) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory creating the device");
    tlv_status st = TLV_OK;
    pthread_mutex_init(&d->lock, NULL);
    d->inst = inst;
    d->alloc = inst->alloc;
    d->log = inst->log;
    d->phys = inst->phys[index];
    d->caps = inst->caps[index];
    d->queue_family = d->caps.queue_family;
    if (d->caps.tune.error[0]) {
        st = tlv__err_set(err, TLV_ERR_INVALID_ARG, "%s", d->caps.tune.error);
        goto fail;
    }
    vkGetPhysicalDeviceMemoryProperties(d->phys, &d->memprops);
    if (d->queue_family == UINT32_MAX) {
        st = tlv__err_set(err, TLV_ERR_NO_DEVICE, "%s has no compute queue", d->caps.device_name);
        goto fail;
    }

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = d->queue_family;
    qci.queueCount = 1;
    qci.pQueuePriorities = &prio;

    const char *exts[8];
    uint32_t n_exts = 0;
    int v12 = d->caps.api_version >= VK_API_VERSION_1_2 && inst->api_version >= VK_API_VERSION_1_2;
    VkPhysicalDeviceFeatures2 f2 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    VkPhysicalDevice16BitStorageFeatures s16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    f2.pNext = &s16;
    s16.storageBuffer16BitAccess = d->caps.fp16_storage ? VK_TRUE : VK_FALSE;
    if (d->caps.fp16_arith || d->caps.int8_arith) {
        if (!v12) exts[n_exts++] = VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME;
        f16.shaderFloat16 = d->caps.fp16_arith ? VK_TRUE : VK_FALSE;
        f16.shaderInt8 = d->caps.int8_arith ? VK_TRUE : VK_FALSE;
        s16.pNext = &f16;
    }
    /* The spec requires enabling VK_KHR_portability_subset when a driver offers it. */
    if (has_ext(d->phys, "VK_KHR_portability_subset")) exts[n_exts++] = "VK_KHR_portability_subset";

    VkDeviceCreateInfo dci = {VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.pNext = &f2;
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    dci.enabledExtensionCount = n_exts;
    dci.ppEnabledExtensionNames = exts;
    VkResult r = vkCreateDevice(d->phys, &dci, NULL, &d->device);
    if ((st = tlv__vk_check(r, err, "vkCreateDevice"))) goto fail;
    volkLoadDeviceTable(&d->vk, d->device);
    d->vk.vkGetDeviceQueue(d->device, d->queue_family, 0, &d->queue);

    VkCommandPoolCreateInfo pci = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pci.queueFamilyIndex = d->queue_family;
    if ((st = tlv__vk_check(d->vk.vkCreateCommandPool(d->device, &pci, NULL, &d->xfer_pool), err, "vkCreateCommandPool")))
        goto fail;
    VkCommandBufferAllocateInfo cai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    cai.commandPool = d->xfer_pool;
    cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cai.commandBufferCount = 1;
    if ((st = tlv__vk_check(d->vk.vkAllocateCommandBuffers(d->device, &cai, &d->xfer_cmd), err, "vkAllocateCommandBuffers")))
        goto fail;
    VkFenceCreateInfo fci = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if ((st = tlv__vk_check(d->vk.vkCreateFence(d->device, &fci, NULL, &d->xfer_fence), err, "vkCreateFence"))) goto fail;

    /* Blocks of 64 MiB by default; a larger single request gets a block of its own size. Never
     * more than maxMemoryAllocationSize (a soft limit on some drivers, but we respect it). 64, not
     * 256: the last, partly used block is what a model wastes (Qwen2-0.5B-SigLIP, q4_0, 2048
     * positions: 1088 -> 1024 MiB at peak), and a 6 GB model still takes under 100 allocations. */
    d->block_size = 64ull << 20;
    if (d->caps.max_alloc_bytes && d->block_size > d->caps.max_alloc_bytes) d->block_size = d->caps.max_alloc_bytes;

    if ((st = tlv__vk_pipeline_cache_open(d, o ? o->pipeline_cache_dir : NULL, err))) goto fail;

    char banner[1024];
    tlv__vk_caps_banner(&d->caps, banner, sizeof banner);
    tlv__log(d->log, TLV_LOG_INFO, "device: %s", banner);
    tlv__vk_tuning_describe(&d->caps.tune, banner, sizeof banner);
    tlv__log(d->log, TLV_LOG_INFO, "tuning: %s", banner);
    *out = d;
    return TLV_OK;

fail:
    tlv__vk_device_destroy(d);
    return st;
}

const tlv_vk_caps *tlv__vk_device_caps(const tlv_vk_device *d)
{
    return &d->caps;
}

const struct VolkDeviceTable *tlv__vk_device_table(const tlv_vk_device *d)
{
    return &d->vk;
}

const tlv_logger *tlv__vk_device_log(const tlv_vk_device *d)
{
    return d->log;
}

const tlv_allocator *tlv__vk_device_allocator(const tlv_vk_device *d)
{
    return d->alloc;
}

void tlv__vk_device_memory_usage(const tlv_vk_device *d, uint64_t *now_bytes, uint64_t *peak_bytes)
{
    tlv_vk_device *m = (tlv_vk_device *)d;
    pthread_mutex_lock(&m->lock);
    if (now_bytes) *now_bytes = d->mem_now;
    if (peak_bytes) *peak_bytes = d->mem_peak;
    pthread_mutex_unlock(&m->lock);
}

int tlv__vk_device_pipeline_cache_hit(const tlv_vk_device *d)
{
    return d->pcache_hit;
}
