/*
 * tlv-floor: what reading a weight costs a compute shader on one Vulkan device, outside the
 * runtime. It answers the question behind docs/BENCHMARKS.md "The floor on lavapipe": is the
 * decode matvec bound by memory, or by the code the driver generates for each fetch?
 *
 *   tlv-floor [-D DEVICE] [-r REPEATS] [--rows N] [--k K] [--read-mib MIB]
 *
 * DEVICE is an index or a substring of the device name (default: TLV_DEVICE, else 0).
 *
 * Three reads of the same bytes (uniform texel buffer, storage buffer, buffer_reference
 * pointer) and three f16 matvecs (x fetched lane-uniform through texels, x fetched once per lane
 * and handed out with subgroupShuffle, weights through buffer_reference pointers), each timed as
 * wall clock and as CPU time of this process. On a CPU driver such as lavapipe the shaders run on
 * this process's threads, so "GB per CPU-second" is what one core gets through: the figure that
 * stays put when the host is busy. On a GPU only the wall-clock column means anything.
 *
 * The shader is floor.comp (embedded at build time). This is a measuring tool, not a test: it
 * checks the matvec results against a C reference and reports a mismatch, but asserts no speed.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <volk.h>

extern const uint32_t tlv__spv_floor[];
extern const size_t tlv__spv_floor_size;

enum { MODE_READ_TEXEL, MODE_READ_STORAGE, MODE_READ_GLOBAL, MODE_MV_TEXEL, MODE_MV_SHUFFLE, MODE_MV_GLOBAL };
static const char *const mode_names[] = {
    "read, texel buffer", "read, storage buffer", "read, buffer_reference",
    "matvec f16, x lane-uniform texels", "matvec f16, x subgroupShuffle", "matvec f16, w buffer_reference",
};

struct push {
    uint64_t addr;
    uint32_t n, k, per_wg, x_tex;
};

struct floor_ctx {
    VkInstance inst;
    VkPhysicalDevice pdev;
    VkDevice dev;
    VkQueue queue;
    uint32_t queue_family;
    int has_shuffle8;
    VkBuffer data, out;
    VkDeviceMemory data_mem, out_mem;
    VkDeviceSize data_size, out_size;
    void *data_map, *out_map;
    VkBufferView view;
    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
    VkDescriptorPool pool;
    VkDescriptorSet set;
    VkShaderModule module;
    VkCommandPool cmd_pool;
    VkCommandBuffer cmd;
    VkFence fence;
};

static void die_vk(const char *what, VkResult r) {
    fprintf(stderr, "tlv-floor: %s failed: VkResult %d\n", what, (int)r);
    exit(1);
}
#define VK_OK(call) do { VkResult r_ = (call); if (r_ != VK_SUCCESS) die_vk(#call, r_); } while (0)

static double wall_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_now(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

static uint16_t f32_to_f16(float f) { /* round to nearest even, finite inputs in f16 range */
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    int32_t e = (int32_t)((u >> 23) & 0xffu) - 127 + 15;
    uint32_t m = u & 0x7fffffu;
    if (e <= 0) return (uint16_t)sign; /* the tool's values are never subnormal in f16 */
    uint32_t h = ((uint32_t)e << 10) | (m >> 13);
    uint32_t rest = m & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

static float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, u;
    if (e == 0) return (sign ? -1.0f : 1.0f) * (float)m * 0x1p-24f;
    u = sign | ((e - 15 + 127) << 23) | (m << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t memory_type(const struct floor_ctx *c, uint32_t bits) {
    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(c->pdev, &mp);
    const VkMemoryPropertyFlags want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++)
        if ((bits & (1u << i)) && (mp.memoryTypes[i].propertyFlags & want) == want) return i;
    fprintf(stderr, "tlv-floor: no host-visible coherent memory type\n");
    exit(1);
}

static void make_buffer(struct floor_ctx *c, VkDeviceSize size, VkBufferUsageFlags usage, int address,
                        VkBuffer *buf, VkDeviceMemory *mem, void **map) {
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = usage};
    VK_OK(vkCreateBuffer(c->dev, &bci, NULL, buf));
    VkMemoryRequirements mr;
    vkGetBufferMemoryRequirements(c->dev, *buf, &mr);
    VkMemoryAllocateFlagsInfo flags = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
                                       .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT};
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .pNext = address ? &flags : NULL,
                                .allocationSize = mr.size, .memoryTypeIndex = memory_type(c, mr.memoryTypeBits)};
    VK_OK(vkAllocateMemory(c->dev, &mai, NULL, mem));
    VK_OK(vkBindBufferMemory(c->dev, *buf, *mem, 0));
    VK_OK(vkMapMemory(c->dev, *mem, 0, VK_WHOLE_SIZE, 0, map));
}

static int name_matches(const char *name, const char *want) { /* case-insensitive substring */
    size_t n = strlen(want);
    for (; *name; name++) {
        size_t i = 0;
        while (i < n && name[i] && tolower((unsigned char)name[i]) == tolower((unsigned char)want[i])) i++;
        if (i == n) return 1;
    }
    return n == 0;
}

/* SPEC is a device index or a substring of its name. Returns 0, or 1 (with a line on stderr)
 * when there is no such device or it lacks what the shader needs. */
static int open_device(struct floor_ctx *c, const char *spec) {
    VK_OK(volkInitialize());
    VkApplicationInfo ai = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "tlv-floor",
                            .apiVersion = VK_API_VERSION_1_2};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &ai};
    VK_OK(vkCreateInstance(&ici, NULL, &c->inst));
    volkLoadInstance(c->inst);
    uint32_t n = 0;
    VK_OK(vkEnumeratePhysicalDevices(c->inst, &n, NULL));
    VkPhysicalDevice *all = calloc(n ? n : 1, sizeof *all);
    if (!all) return 1;
    VK_OK(vkEnumeratePhysicalDevices(c->inst, &n, all));
    char *end;
    unsigned long index = strtoul(spec, &end, 10);
    if (*spec && !*end) {
        if (index < n) c->pdev = all[index];
    } else {
        for (uint32_t i = 0; i < n && !c->pdev; i++) {
            VkPhysicalDeviceProperties pp;
            vkGetPhysicalDeviceProperties(all[i], &pp);
            if (name_matches(pp.deviceName, spec)) c->pdev = all[i];
        }
    }
    free(all);
    if (!c->pdev) {
        fprintf(stderr, "tlv-floor: no Vulkan device '%s' (%u present)\n", spec, n);
        return 1;
    }

    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(c->pdev, &props);
    VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f12};
    VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg};
    if (props.apiVersion < VK_API_VERSION_1_2) {
        fprintf(stderr, "tlv-floor: %s is Vulkan %u.%u; the shader needs 1.2 (buffer device address)\n",
                props.deviceName, VK_API_VERSION_MAJOR(props.apiVersion), VK_API_VERSION_MINOR(props.apiVersion));
        return 1;
    }
    vkGetPhysicalDeviceFeatures2(c->pdev, &f2);
    vkGetPhysicalDeviceProperties2(c->pdev, &p2);
    if (!f12.bufferDeviceAddress || !f2.features.shaderInt64) {
        fprintf(stderr, "tlv-floor: %s lacks %s\n", props.deviceName,
                !f12.bufferDeviceAddress ? "bufferDeviceAddress" : "shaderInt64");
        return 1;
    }
    c->has_shuffle8 = (sg.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) &&
                      (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) && sg.subgroupSize >= 8;
    printf("device: %s (Vulkan %u.%u, driver %u, subgroup %u)\n", props.deviceName,
           VK_API_VERSION_MAJOR(props.apiVersion), VK_API_VERSION_MINOR(props.apiVersion), props.driverVersion,
           sg.subgroupSize);

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(c->pdev, &nq, NULL);
    VkQueueFamilyProperties qf[16];
    if (nq > 16) nq = 16;
    vkGetPhysicalDeviceQueueFamilyProperties(c->pdev, &nq, qf);
    c->queue_family = UINT32_MAX;
    for (uint32_t i = 0; i < nq && c->queue_family == UINT32_MAX; i++)
        if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) c->queue_family = i;
    if (c->queue_family == UINT32_MAX) {
        fprintf(stderr, "tlv-floor: %s has no compute queue\n", props.deviceName);
        return 1;
    }
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = c->queue_family, .queueCount = 1, .pQueuePriorities = &prio};
    VkPhysicalDeviceVulkan12Features on12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                                             .bufferDeviceAddress = VK_TRUE};
    VkPhysicalDeviceFeatures2 on = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &on12};
    on.features.shaderInt64 = VK_TRUE;
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &on,
                              .queueCreateInfoCount = 1, .pQueueCreateInfos = &qci};
    VK_OK(vkCreateDevice(c->pdev, &dci, NULL, &c->dev));
    volkLoadDevice(c->dev);
    vkGetDeviceQueue(c->dev, c->queue_family, 0, &c->queue);
    return 0;
}

static void setup(struct floor_ctx *c, VkDeviceSize data_size, VkDeviceSize out_size) {
    c->data_size = data_size;
    c->out_size = out_size;
    make_buffer(c, data_size,
                VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                    VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT,
                1, &c->data, &c->data_mem, &c->data_map);
    make_buffer(c, out_size, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, 0, &c->out, &c->out_mem, &c->out_map);
    VkBufferViewCreateInfo bv = {.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO, .buffer = c->data,
                                 .format = VK_FORMAT_R32G32B32A32_UINT, .range = VK_WHOLE_SIZE};
    VK_OK(vkCreateBufferView(c->dev, &bv, NULL, &c->view));

    VkDescriptorSetLayoutBinding b[3] = {
        {0, VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
        {1, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
        {2, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, NULL},
    };
    VkDescriptorSetLayoutCreateInfo dl = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                          .bindingCount = 3, .pBindings = b};
    VK_OK(vkCreateDescriptorSetLayout(c->dev, &dl, NULL, &c->dsl));
    VkPushConstantRange pcr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(struct push)};
    VkPipelineLayoutCreateInfo pl = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                     .pSetLayouts = &c->dsl, .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr};
    VK_OK(vkCreatePipelineLayout(c->dev, &pl, NULL, &c->layout));
    VkDescriptorPoolSize ps[2] = {{VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 1}, {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 2}};
    VkDescriptorPoolCreateInfo dp = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO, .maxSets = 1,
                                     .poolSizeCount = 2, .pPoolSizes = ps};
    VK_OK(vkCreateDescriptorPool(c->dev, &dp, NULL, &c->pool));
    VkDescriptorSetAllocateInfo da = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = c->pool,
                                      .descriptorSetCount = 1, .pSetLayouts = &c->dsl};
    VK_OK(vkAllocateDescriptorSets(c->dev, &da, &c->set));
    VkDescriptorBufferInfo data_info = {c->data, 0, VK_WHOLE_SIZE}, out_info = {c->out, 0, VK_WHOLE_SIZE};
    VkWriteDescriptorSet w[3] = {
        {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = c->set, .dstBinding = 0, .descriptorCount = 1,
         .descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, .pTexelBufferView = &c->view},
        {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = c->set, .dstBinding = 1, .descriptorCount = 1,
         .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &data_info},
        {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = c->set, .dstBinding = 2, .descriptorCount = 1,
         .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &out_info},
    };
    vkUpdateDescriptorSets(c->dev, 3, w, 0, NULL);
    VkShaderModuleCreateInfo smi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                    .codeSize = tlv__spv_floor_size, .pCode = tlv__spv_floor};
    VK_OK(vkCreateShaderModule(c->dev, &smi, NULL, &c->module));
    VkCommandPoolCreateInfo cp = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                  .queueFamilyIndex = c->queue_family};
    VK_OK(vkCreateCommandPool(c->dev, &cp, NULL, &c->cmd_pool));
    VkCommandBufferAllocateInfo ca = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = c->cmd_pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    VK_OK(vkAllocateCommandBuffers(c->dev, &ca, &c->cmd));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VK_OK(vkCreateFence(c->dev, &fci, NULL, &c->fence));
}

static void teardown(struct floor_ctx *c) {
    if (!c->dev) {
        if (c->inst) vkDestroyInstance(c->inst, NULL);
        return;
    }
    vkDeviceWaitIdle(c->dev);
    vkDestroyFence(c->dev, c->fence, NULL);
    vkDestroyCommandPool(c->dev, c->cmd_pool, NULL);
    vkDestroyShaderModule(c->dev, c->module, NULL);
    vkDestroyDescriptorPool(c->dev, c->pool, NULL);
    vkDestroyPipelineLayout(c->dev, c->layout, NULL);
    vkDestroyDescriptorSetLayout(c->dev, c->dsl, NULL);
    vkDestroyBufferView(c->dev, c->view, NULL);
    vkDestroyBuffer(c->dev, c->out, NULL);
    vkFreeMemory(c->dev, c->out_mem, NULL);
    vkDestroyBuffer(c->dev, c->data, NULL);
    vkFreeMemory(c->dev, c->data_mem, NULL);
    vkDestroyDevice(c->dev, NULL);
    vkDestroyInstance(c->inst, NULL);
}

struct timing {
    double wall, cpu; /* medians, seconds */
};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One dispatch of MODE, timed REPEATS times after a warm-up; medians of wall and CPU time. */
static struct timing run_mode(struct floor_ctx *c, uint32_t mode, uint32_t rows_per_lane, uint32_t wg,
                              uint32_t groups, const struct push *pc, int repeats) {
    uint32_t spec[3] = {mode, rows_per_lane, wg};
    VkSpecializationMapEntry se[3] = {{0, 0, 4}, {1, 4, 4}, {2, 8, 4}};
    VkSpecializationInfo si = {3, se, sizeof spec, spec};
    VkComputePipelineCreateInfo cpi = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = c->module, .pName = "main", .pSpecializationInfo = &si},
        .layout = c->layout};
    VkPipeline pipe;
    VK_OK(vkCreateComputePipelines(c->dev, VK_NULL_HANDLE, 1, &cpi, NULL, &pipe));
    double wall[64], cpu[64];
    if (repeats > 64) repeats = 64;
    for (int r = -1; r < repeats; r++) {
        VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                       .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
        VK_OK(vkBeginCommandBuffer(c->cmd, &bi));
        vkCmdBindPipeline(c->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
        vkCmdBindDescriptorSets(c->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->layout, 0, 1, &c->set, 0, NULL);
        vkCmdPushConstants(c->cmd, c->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof *pc, pc);
        vkCmdDispatch(c->cmd, groups, 1, 1);
        VK_OK(vkEndCommandBuffer(c->cmd));
        VkSubmitInfo sub = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &c->cmd};
        double w0 = wall_now(), c0 = cpu_now();
        VK_OK(vkQueueSubmit(c->queue, 1, &sub, c->fence));
        VK_OK(vkWaitForFences(c->dev, 1, &c->fence, VK_TRUE, UINT64_MAX));
        double dw = wall_now() - w0, dc = cpu_now() - c0;
        VK_OK(vkResetFences(c->dev, 1, &c->fence));
        VK_OK(vkResetCommandBuffer(c->cmd, 0));
        if (r >= 0) {
            wall[r] = dw;
            cpu[r] = dc;
        }
    }
    vkDestroyPipeline(c->dev, pipe, NULL);
    qsort(wall, (size_t)repeats, sizeof *wall, cmp_double);
    qsort(cpu, (size_t)repeats, sizeof *cpu, cmp_double);
    struct timing t = {wall[repeats / 2], cpu[repeats / 2]};
    return t;
}

static void usage(void) {
    fprintf(stderr, "usage: tlv-floor [-D DEVICE] [-r REPEATS] [--rows N] [--k K] [--read-mib MIB]\n"
                    "  f16 matvec of N rows x K (default 32768 x 896, K a multiple of 32) and reads of\n"
                    "  MIB MiB (default 64), REPEATS timed runs each (default 9); medians\n");
}

int main(int argc, char **argv) {
    const char *device = getenv("TLV_DEVICE") ? getenv("TLV_DEVICE") : "0";
    uint32_t rows = 32768, k = 896, read_mib = 64;
    int repeats = 9;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) { usage(); return 2; }
        if (!strcmp(a, "-D")) device = v;
        else if (!strcmp(a, "-r")) repeats = atoi(v);
        else if (!strcmp(a, "--rows")) rows = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--k")) k = (uint32_t)strtoul(v, NULL, 10);
        else if (!strcmp(a, "--read-mib")) read_mib = (uint32_t)strtoul(v, NULL, 10);
        else { usage(); return 2; }
    }
    if (repeats < 1 || repeats > 64 || rows == 0 || k == 0 || k % 32 || read_mib == 0 || read_mib > 120 ||
        (uint64_t)rows * k * 2 > (120ull << 20)) {
        fprintf(stderr, "tlv-floor: bad arguments: repeats 1..64, K a multiple of 32, rows x K x 2 and the read "
                        "at most 120 MiB (one texel view)\n");
        return 2;
    }

    struct floor_ctx c;
    memset(&c, 0, sizeof c);
    if (open_device(&c, device)) {
        teardown(&c);
        return 1;
    }
    VkDeviceSize wbytes = (VkDeviceSize)rows * k * 2, rbytes = (VkDeviceSize)read_mib << 20;
    VkDeviceSize data_size = (wbytes + (VkDeviceSize)k * 4 > rbytes ? wbytes + (VkDeviceSize)k * 4 : rbytes);
    setup(&c, data_size, (VkDeviceSize)rows * 4 + 4096 * 4);

    VkBufferDeviceAddressInfo bai = {.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO, .buffer = c.data};
    uint64_t addr = vkGetBufferDeviceAddress(c.dev, &bai);
    printf("| test | GB/s | GB per CPU-second | check |\n|---|---:|---:|---|\n");

    /* reads: 512 workgroups of 8 lanes, each lane a contiguous run */
    memset(c.data_map, 0x5a, (size_t)rbytes);
    for (uint32_t mode = MODE_READ_TEXEL; mode <= MODE_READ_GLOBAL; mode++) {
        uint32_t texels = (uint32_t)(rbytes / 16), groups = 512;
        struct push pc = {addr, texels, 0, texels / groups, 0};
        struct timing t = run_mode(&c, mode, 1, 8, groups, &pc, repeats);
        printf("| %s, %u MiB | %.2f | %.2f | - |\n", mode_names[mode], read_mib, (double)rbytes / t.wall * 1e-9,
               (double)rbytes / t.cpu * 1e-9);
    }

    /* matvec data: rows x k f16 weights, then x (f32) */
    uint16_t *w = c.data_map;
    float *x = (float *)((char *)c.data_map + wbytes);
    for (size_t i = 0; i < (size_t)rows * k; i++) w[i] = f32_to_f16((float)((int)((i * 2654435761u >> 16) % 2001) - 1000) / 1000.0f);
    for (uint32_t i = 0; i < k; i++) x[i] = (float)((int)(i % 7) - 3) * 0.5f;
    double ref_max = 0, *ref = malloc(sizeof *ref * rows);
    if (!ref) { teardown(&c); return 1; }
    for (uint32_t n = 0; n < rows; n++) {
        double s = 0;
        for (uint32_t i = 0; i < k; i++) s += (double)f16_to_f32(w[(size_t)n * k + i]) * x[i];
        ref[n] = s;
        if (fabs(s) > ref_max) ref_max = fabs(s);
    }
    int bad = 0;
    for (uint32_t mode = MODE_MV_TEXEL; mode <= MODE_MV_GLOBAL; mode++) {
        if (mode == MODE_MV_SHUFFLE && !c.has_shuffle8) {
            printf("| %s | - | - | no subgroup shuffle of 8 lanes |\n", mode_names[mode]);
            continue;
        }
        uint32_t groups = 256, rows_per_lane = 4, per_wg = (rows + groups - 1) / groups;
        per_wg = (per_wg + 31) / 32 * 32;
        groups = (rows + per_wg - 1) / per_wg;
        struct push pc = {addr, rows, k, per_wg, (uint32_t)(wbytes / 16)};
        memset(c.out_map, 0, (size_t)c.out_size);
        struct timing t = run_mode(&c, mode, rows_per_lane, 8, groups, &pc, repeats);
        const float *y = c.out_map;
        double err = 0;
        for (uint32_t n = 0; n < rows; n++) {
            double e = fabs(y[n] - ref[n]);
            if (e > err) err = e;
        }
        int ok = err <= 1e-5 * ref_max + 1e-6;
        bad |= !ok;
        printf("| %s, %u x %u | %.2f | %.2f | %s (max err %.1e of %.1e) |\n", mode_names[mode], rows, k,
               (double)wbytes / t.wall * 1e-9, (double)wbytes / t.cpu * 1e-9, ok ? "ok" : "WRONG", err, ref_max);
    }
    free(ref);
    teardown(&c);
    return bad ? 1 : 0;
}
