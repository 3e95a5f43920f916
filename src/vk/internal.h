/* internal.h: layouts only the files of src/vk see (SQLite's btreeInt.h). */
#ifndef TLV_VK_INTERNAL_H
#define TLV_VK_INTERNAL_H

#include <pthread.h>

#include "vk/vk.h"

struct tlv_vk_instance {
    const tlv_allocator *alloc;
    const tlv_logger *log;
    VkInstance instance;
    uint32_t api_version;           /* instance API version we asked for */
    int validation;
    VkDebugUtilsMessengerEXT messenger;
    uint32_t n_phys;
    VkPhysicalDevice *phys;
    tlv_vk_caps *caps;              /* one per physical device */
    volatile uint32_t n_validation; /* warnings + errors reported by the validation layer */
};

/* memory.c */
typedef struct tlv_mem_range {
    VkDeviceSize offset, size;
} tlv_mem_range;

typedef struct tlv_mem_block {
    VkDeviceMemory memory;
    VkBuffer buffer;
    VkDeviceSize size;
    uint32_t type_index;
    tlv_vk_mem_kind kind;
    uint8_t *map;
    tlv_mem_range *free;            /* sorted by offset, coalesced */
    uint32_t n_free, cap_free;
    uint32_t n_live;
} tlv_mem_block;

/* pipeline.c */
typedef struct tlv_pipeline_entry {
    tlv_vk_pipeline p;
    char shader[64];
    uint32_t spec[TLV_VK_MAX_SPEC];
    uint32_t n_spec;
} tlv_pipeline_entry;

struct tlv_vk_device {
    tlv_vk_instance *inst;
    const tlv_allocator *alloc;
    const tlv_logger *log;
    VkPhysicalDevice phys;
    VkDevice device;
    struct VolkDeviceTable vk;
    uint32_t queue_family;
    VkQueue queue;
    tlv_vk_caps caps;
    VkPhysicalDeviceMemoryProperties memprops;
    pthread_mutex_t lock;           /* pipelines, memory blocks, queue submission */

    tlv_mem_block **blocks;
    uint32_t n_blocks, cap_blocks;
    uint64_t mem_now, mem_peak;
    VkDeviceSize block_size;

    /* staging for tlv__vk_buffer_write/read on non-mapped buffers */
    VkCommandPool xfer_pool;
    VkCommandBuffer xfer_cmd;
    VkFence xfer_fence;

    tlv_pipeline_entry *pipes;
    uint32_t n_pipes, cap_pipes;
    VkPipelineCache pcache;
    char *pcache_path;              /* NULL: no persistent cache */
    int pcache_hit;
    int pcache_dirty;
};

tlv_status tlv__vk_check(VkResult r, tlv_err *err, const char *what);
void tlv__vk_memory_destroy_all(tlv_vk_device *d);
void tlv__vk_pipelines_destroy_all(tlv_vk_device *d);
tlv_status tlv__vk_pipeline_cache_open(tlv_vk_device *d, const char *dir, tlv_err *err);
void tlv__vk_pipeline_cache_save(tlv_vk_device *d);
void tlv__vk_caps_query(VkPhysicalDevice phys, uint32_t instance_api, tlv_vk_caps *c);

#endif
