/* pipeline.c: compute pipelines from the embedded SPIR-V, and the persistent VkPipelineCache.
 *
 * A pipeline is created once per (shader, specialization constants, bindings and their kinds, push
 * size) and kept
 * until the device is destroyed; the engine asks for all of its pipelines while planning, so none
 * is created during generation.
 *
 * Cache file ($dir/pipelines-VVVV-DDDD.bin), our own header before the driver's blob:
 *   OFFSET SIZE DESCRIPTION
 *   0      8    magic "TLVPCv1\0"
 *   8      16   library version string, NUL-padded
 *   24     4    vendorID
 *   28     4    deviceID
 *   32     4    driverVersion
 *   36     16   pipelineCacheUUID
 *   52     8    blob size in bytes (little-endian u64)
 *   60     ...  the VkPipelineCache data
 * A file that is short, damaged, or written by another library version, device or driver is a
 * miss: the cache starts empty (drivers also check their own header, but old Adreno drivers were
 * known to accept foreign blobs). The file is replaced atomically (write to .tmp, rename). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vk/internal.h"
#include "vk/shaders.h"

#ifndef TLV_VERSION_STRING
#define TLV_VERSION_STRING "dev"
#endif

#define HEADER_BYTES 60
static const char MAGIC[8] = {'T', 'L', 'V', 'P', 'C', 'v', '1', 0};

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void make_header(const tlv_vk_device *d, uint8_t *h, uint64_t blob)
{
    memset(h, 0, HEADER_BYTES);
    memcpy(h, MAGIC, 8);
    strncpy((char *)h + 8, TLV_VERSION_STRING, 15);
    put_u32(h + 24, d->caps.vendor_id);
    put_u32(h + 28, d->caps.device_id);
    put_u32(h + 32, d->caps.driver_version);
    memcpy(h + 36, d->caps.pipeline_cache_uuid, 16);
    put_u32(h + 52, (uint32_t)blob);
    put_u32(h + 56, (uint32_t)(blob >> 32));
}

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        int r = mkdir(path, 0755);
        *p = '/';
        if (r && errno != EEXIST) return -1;
    }
    return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

/* Decides the cache path and loads it; a failure to read is never an error, only a miss. */
tlv_status tlv__vk_pipeline_cache_open(tlv_vk_device *d, const char *dir, tlv_err *err)
{
    char base[1024] = "";
    const char *env = getenv("TLV_PIPELINE_CACHE");
    int disabled = (dir && !*dir) || (env && !strcmp(env, "0"));
    if (!disabled) {
        const char *e;
        if (dir) snprintf(base, sizeof base, "%s", dir);
        else if ((e = getenv("TLV_CACHE_DIR")) && *e) snprintf(base, sizeof base, "%s", e);
        else if ((e = getenv("XDG_CACHE_HOME")) && *e) snprintf(base, sizeof base, "%s/tinyllava", e);
        else if ((e = getenv("HOME")) && *e) snprintf(base, sizeof base, "%s/.cache/tinyllava", e);
    }
    uint8_t *data = NULL;
    size_t n = 0;
    if (base[0]) {
        char path[1100];
        snprintf(path, sizeof path, "%s/pipelines-%04x-%04x.bin", base, d->caps.vendor_id, d->caps.device_id);
        d->pcache_path = tlv__strdup(d->alloc, path);
        FILE *f = fopen(path, "rb");
        if (f) {
            uint8_t h[HEADER_BYTES], want[HEADER_BYTES];
            if (fread(h, 1, HEADER_BYTES, f) == HEADER_BYTES) {
                uint64_t blob = (uint64_t)get_u32(h + 52) | (uint64_t)get_u32(h + 56) << 32;
                make_header(d, want, blob);
                if (!memcmp(h, want, HEADER_BYTES) && blob > 0 && blob < (256u << 20)) {
                    data = tlv__malloc(d->alloc, (size_t)blob);
                    if (data && fread(data, 1, (size_t)blob, f) == blob) n = (size_t)blob;
                    if (!n) {
                        tlv__free(d->alloc, data);
                        data = NULL;
                    }
                }
            }
            fclose(f);
            if (!n) tlv__log(d->log, TLV_LOG_INFO, "pipeline cache %s: damaged or from another driver, ignored", path);
        }
    }
    VkPipelineCacheCreateInfo ci = {VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    ci.initialDataSize = n;
    ci.pInitialData = data;
    VkResult r = d->vk.vkCreatePipelineCache(d->device, &ci, NULL, &d->pcache);
    if (r != VK_SUCCESS && n) {
        /* The driver refused the blob: start empty. */
        ci.initialDataSize = 0;
        ci.pInitialData = NULL;
        n = 0;
        r = d->vk.vkCreatePipelineCache(d->device, &ci, NULL, &d->pcache);
    }
    tlv__free(d->alloc, data);
    d->pcache_hit = n > 0;
    return tlv__vk_check(r, err, "vkCreatePipelineCache");
}

void tlv__vk_pipeline_cache_save(tlv_vk_device *d)
{
    if (!d->pcache || !d->pcache_path || !d->pcache_dirty) return;
    size_t n = 0;
    if (d->vk.vkGetPipelineCacheData(d->device, d->pcache, &n, NULL) != VK_SUCCESS || n == 0) return;
    uint8_t *buf = tlv__malloc(d->alloc, n + HEADER_BYTES);
    if (!buf) return;
    if (d->vk.vkGetPipelineCacheData(d->device, d->pcache, &n, buf + HEADER_BYTES) == VK_SUCCESS) {
        make_header(d, buf, n);
        char dir[1100], tmp[1110];
        snprintf(dir, sizeof dir, "%s", d->pcache_path);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = 0;
            mkdirs(dir);
        }
        snprintf(tmp, sizeof tmp, "%s.tmp", d->pcache_path);
        FILE *f = fopen(tmp, "wb");
        if (f) {
            int ok = fwrite(buf, 1, n + HEADER_BYTES, f) == n + HEADER_BYTES;
            ok = (fclose(f) == 0) && ok;
            if (ok && rename(tmp, d->pcache_path) == 0) d->pcache_dirty = 0;
            else remove(tmp);
        }
    }
    tlv__free(d->alloc, buf);
}

void tlv__vk_pipelines_destroy_all(tlv_vk_device *d)
{
    for (uint32_t i = 0; i < d->n_pipes; i++) {
        tlv_vk_pipeline *p = &d->pipes[i].p;
        if (p->pipeline) d->vk.vkDestroyPipeline(d->device, p->pipeline, NULL);
        if (p->layout) d->vk.vkDestroyPipelineLayout(d->device, p->layout, NULL);
        if (p->set_layout) d->vk.vkDestroyDescriptorSetLayout(d->device, p->set_layout, NULL);
    }
    tlv__free(d->alloc, d->pipes);
    d->pipes = NULL;
    d->n_pipes = d->cap_pipes = 0;
}

static const struct tlv_shader_blob *find_blob(const char *name, size_t *size)
{
    for (size_t i = 0; tlv__shader_blobs[i].name; i++)
        if (!strcmp(tlv__shader_blobs[i].name, name)) {
            *size = tlv__shader_blob_size(i);
            return &tlv__shader_blobs[i];
        }
    return NULL;
}

static tlv_status create(tlv_vk_device *d, tlv_pipeline_entry *e, const uint32_t *words, size_t size, uint32_t n_bindings,
                         uint32_t texel_mask, uint32_t push_bytes, tlv_err *err)
{
    tlv_status st;
    tlv_vk_pipeline *p = &e->p;
    VkShaderModule mod = VK_NULL_HANDLE;
    VkDescriptorSetLayoutBinding binds[16];
    for (uint32_t i = 0; i < n_bindings; i++) {
        binds[i].binding = i;
        binds[i].descriptorType = texel_mask >> i & 1u ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                                       : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        binds[i].descriptorCount = 1;
        binds[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
        binds[i].pImmutableSamplers = NULL;
    }
    VkDescriptorSetLayoutCreateInfo dl = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    dl.bindingCount = n_bindings;
    dl.pBindings = binds;
    if ((st = tlv__vk_check(d->vk.vkCreateDescriptorSetLayout(d->device, &dl, NULL, &p->set_layout), err,
                            "vkCreateDescriptorSetLayout")))
        return st;
    VkPushConstantRange pr = {VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
    VkPipelineLayoutCreateInfo pl = {VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pl.setLayoutCount = 1;
    pl.pSetLayouts = &p->set_layout;
    pl.pushConstantRangeCount = push_bytes ? 1 : 0;
    pl.pPushConstantRanges = &pr;
    if ((st = tlv__vk_check(d->vk.vkCreatePipelineLayout(d->device, &pl, NULL, &p->layout), err, "vkCreatePipelineLayout")))
        return st;
    VkShaderModuleCreateInfo smi = {VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    smi.codeSize = size;
    smi.pCode = words;
    if ((st = tlv__vk_check(d->vk.vkCreateShaderModule(d->device, &smi, NULL, &mod), err, "vkCreateShaderModule"))) return st;

    VkSpecializationMapEntry map[TLV_VK_MAX_SPEC];
    for (uint32_t i = 0; i < e->n_spec; i++) {
        map[i].constantID = i;
        map[i].offset = i * 4;
        map[i].size = 4;
    }
    VkSpecializationInfo si = {e->n_spec, map, e->n_spec * 4u, e->spec};
    VkComputePipelineCreateInfo ci = {VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = mod;
    ci.stage.pName = "main";
    ci.stage.pSpecializationInfo = e->n_spec ? &si : NULL;
    ci.layout = p->layout;
    VkResult r = d->vk.vkCreateComputePipelines(d->device, d->pcache, 1, &ci, NULL, &p->pipeline);
    d->vk.vkDestroyShaderModule(d->device, mod, NULL);
    if ((st = tlv__vk_check(r, err, "vkCreateComputePipelines"))) return tlv__err_prefix(err, "shader %s", e->shader);
    d->pcache_dirty = 1;
    return TLV_OK;
}

static uint32_t popcount(uint32_t v)
{
    uint32_t n = 0;
    for (; v; v &= v - 1) n++;
    return n;
}

tlv_status tlv__vk_pipeline_get(tlv_vk_device *d, const char *shader, const uint32_t *spec, uint32_t n_spec,
                                uint32_t n_bindings, uint32_t push_bytes, const tlv_vk_pipeline **out, tlv_err *err)
{
    return tlv__vk_pipeline_get_ex(d, shader, spec, n_spec, n_bindings, 0, push_bytes, out, err);
}

tlv_status tlv__vk_pipeline_get_ex(tlv_vk_device *d, const char *shader, const uint32_t *spec, uint32_t n_spec,
                                   uint32_t n_bindings, uint32_t texel_mask, uint32_t push_bytes,
                                   const tlv_vk_pipeline **out, tlv_err *err)
{
    *out = NULL;
    if (n_spec > TLV_VK_MAX_SPEC || n_bindings > 16 || strlen(shader) >= sizeof d->pipes[0].shader)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "pipeline %s: too many specialization constants or bindings", shader);
    if (texel_mask >> n_bindings)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "pipeline %s: texel mask 0x%x names bindings past its %u", shader,
                            texel_mask, n_bindings);
    uint32_t n_texel = popcount(texel_mask);
    if (n_bindings - n_texel > d->caps.max_storage_buffers)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "pipeline %s: needs %u storage buffers, %s allows %u per stage", shader,
                            n_bindings - n_texel, d->caps.device_name, d->caps.max_storage_buffers);
    if (n_texel && (n_texel > d->caps.max_texel_buffers || !d->caps.texel_formats))
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "pipeline %s: needs %u uniform texel buffers, %s allows %u per stage%s",
                            shader, n_texel, d->caps.device_name, d->caps.max_texel_buffers,
                            d->caps.texel_formats ? "" : " and supports no texel-buffer format");
    if (push_bytes > d->caps.max_push_bytes)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "pipeline %s: %u bytes of push constants, device allows %u", shader,
                            push_bytes, d->caps.max_push_bytes);
    pthread_mutex_lock(&d->lock);
    tlv_status st = TLV_OK;
    for (uint32_t i = 0; i < d->n_pipes; i++) {
        tlv_pipeline_entry *e = &d->pipes[i];
        if (e->n_spec == n_spec && e->p.n_bindings == n_bindings && e->p.texel_mask == texel_mask &&
            e->p.push_bytes == push_bytes &&
            !strcmp(e->shader, shader) && !memcmp(e->spec, spec, n_spec * sizeof *spec)) {
            *out = &e->p;
            goto out;
        }
    }
    size_t size = 0;
    const struct tlv_shader_blob *blob = find_blob(shader, &size);
    if (!blob) {
        st = tlv__err_set(err, TLV_ERR_UNSUPPORTED, "no shader named '%s' is compiled into this library", shader);
        goto out;
    }
    if (d->n_pipes == d->cap_pipes) {
        /* Entries are handed out by pointer: grow by allocating a new array would move them, so
         * the table is sized once for every pipeline the library can ask for. */
        if (d->cap_pipes) {
            st = tlv__err_set(err, TLV_ERR_LIMIT, "pipeline table full (%u pipelines)", d->cap_pipes);
            goto out;
        }
        d->pipes = tlv__calloc(d->alloc, 512, sizeof *d->pipes);
        if (!d->pipes) {
            st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
            goto out;
        }
        d->cap_pipes = 512;
    }
    tlv_pipeline_entry *e = &d->pipes[d->n_pipes];
    memset(e, 0, sizeof *e);
    snprintf(e->shader, sizeof e->shader, "%s", shader);
    memcpy(e->spec, spec, n_spec * sizeof *spec);
    e->n_spec = n_spec;
    e->p.n_bindings = n_bindings;
    e->p.texel_mask = texel_mask;
    e->p.push_bytes = push_bytes;
    e->p.name = e->shader;
    e->p.local_size[0] = n_spec > 0 ? spec[0] : 1;
    e->p.local_size[1] = n_spec > 1 ? spec[1] : 1;
    e->p.local_size[2] = n_spec > 2 ? spec[2] : 1;
    if ((st = create(d, e, blob->words, size, n_bindings, texel_mask, push_bytes, err))) {
        tlv_vk_pipeline *p = &e->p;
        if (p->pipeline) d->vk.vkDestroyPipeline(d->device, p->pipeline, NULL);
        if (p->layout) d->vk.vkDestroyPipelineLayout(d->device, p->layout, NULL);
        if (p->set_layout) d->vk.vkDestroyDescriptorSetLayout(d->device, p->set_layout, NULL);
        goto out;
    }
    d->n_pipes++;
    *out = &e->p;
out:
    pthread_mutex_unlock(&d->lock);
    return st;
}
