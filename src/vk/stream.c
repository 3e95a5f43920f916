/* stream.c: record many dispatches into one command buffer, one submit, one wait.
 *
 * Barriers are decided here and nowhere else. The stream keeps the byte ranges (per VkBuffer)
 * written and read since the last barrier; a dispatch that reads or writes a range written since
 * then, or writes a range read since then, gets one global memory barrier before it (compute and
 * transfer stages, all shader/transfer accesses), and the lists restart. Independent dispatches
 * (q, k and v projections of the same input, say) run without barriers between them.
 *
 * Each recording also starts with one barrier, because queue submission order alone does not
 * make an earlier submission's device writes visible, and ends with one toward the host, so that
 * results in mapped memory can be read after the wait.
 *
 * With timestamps on, every dispatch is preceded by a barrier too: per-dispatch GPU times are then
 * exact (serialised), at a small cost, which is what the bench's per-op breakdown wants.
 *
 * Texel bindings get a VkBufferView made at dispatch (the same range and format twice in one
 * recording share one view); the views live until the next begin or destroy, when the command
 * buffer that names them is no longer in flight. For barriers a texel read is a read. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "vk/internal.h"

#define POOL_SETS 512u
#define POOL_DESCRIPTORS (POOL_SETS * 8u)
#define MAX_TIMESTAMPS 8192u

typedef struct brange {
    VkBuffer buf;
    VkDeviceSize lo, hi;
} brange;

typedef struct tview {
    VkBuffer buf;
    VkDeviceSize offset, range;
    VkFormat format;
    VkBufferView view;
} tview;

struct tlv_stream {
    tlv_vk_device *d;
    VkCommandPool cmd_pool;
    VkCommandBuffer cmd;
    VkFence fence;
    VkDescriptorPool *pools;
    uint32_t n_pools, cur_pool, sets_used, descs_used, texels_used;
    VkQueryPool queries;
    int timestamps;
    int recording, submitted;
    tlv_status status;
    tlv_err err;
    brange *written, *read;
    uint32_t n_written, n_read, cap_written, cap_read;
    struct tview *views;            /* texel views of this recording */
    uint32_t n_views, cap_views;
    const char **labels;
    double *times;
    double *bytes, *flops;          /* the work ops noted on each dispatch (tlv__stream_note_work) */
    uint32_t n_disp, cap_disp;
    uint32_t last;                  /* the dispatch the latest record made; UINT32_MAX: none */
    double total_ns;
};

/* The command buffer that names the views must not be pending. */
static void views_release(tlv_stream *s)
{
    for (uint32_t i = 0; i < s->n_views; i++) s->d->vk.vkDestroyBufferView(s->d->device, s->views[i].view, NULL);
    s->n_views = 0;
}

void tlv__stream_destroy(tlv_stream *s)
{
    if (!s) return;
    tlv_vk_device *d = s->d;
    const tlv_allocator *a = d->alloc;
    if (s->submitted) d->vk.vkWaitForFences(d->device, 1, &s->fence, VK_TRUE, UINT64_MAX);
    views_release(s);
    tlv__free(a, s->views);
    for (uint32_t i = 0; i < s->n_pools; i++) d->vk.vkDestroyDescriptorPool(d->device, s->pools[i], NULL);
    if (s->queries) d->vk.vkDestroyQueryPool(d->device, s->queries, NULL);
    if (s->fence) d->vk.vkDestroyFence(d->device, s->fence, NULL);
    if (s->cmd_pool) d->vk.vkDestroyCommandPool(d->device, s->cmd_pool, NULL);
    tlv__free(a, s->pools);
    tlv__free(a, s->written);
    tlv__free(a, s->read);
    tlv__free(a, s->labels);
    tlv__free(a, s->times);
    tlv__free(a, s->bytes);
    tlv__free(a, s->flops);
    tlv__free(a, s);
}

tlv_status tlv__stream_create(tlv_vk_device *d, tlv_stream **out, tlv_err *err)
{
    *out = NULL;
    tlv_status st;
    tlv_stream *s = tlv__calloc(d->alloc, 1, sizeof *s);
    if (!s) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory creating a stream");
    s->d = d;
    VkCommandPoolCreateInfo pci = {VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pci.queueFamilyIndex = d->queue_family;
    if ((st = tlv__vk_check(d->vk.vkCreateCommandPool(d->device, &pci, NULL, &s->cmd_pool), err, "vkCreateCommandPool")))
        goto fail;
    VkCommandBufferAllocateInfo cai = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    cai.commandPool = s->cmd_pool;
    cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cai.commandBufferCount = 1;
    if ((st = tlv__vk_check(d->vk.vkAllocateCommandBuffers(d->device, &cai, &s->cmd), err, "vkAllocateCommandBuffers")))
        goto fail;
    VkFenceCreateInfo fci = {VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if ((st = tlv__vk_check(d->vk.vkCreateFence(d->device, &fci, NULL, &s->fence), err, "vkCreateFence"))) goto fail;
    *out = s;
    return TLV_OK;
fail:
    tlv__stream_destroy(s);
    return st;
}

tlv_vk_device *tlv__stream_device(tlv_stream *s)
{
    return s->d;
}

tlv_status tlv__stream_status(const tlv_stream *s)
{
    return s->status;
}

static tlv_status failv(tlv_stream *s, tlv_status status, const char *fmt, va_list ap)
{
    if (s->status == TLV_OK) tlv__err_setv(&s->err, status, fmt, ap);
    if (s->status == TLV_OK) s->status = status;
    return s->status;
}

tlv_status tlv__stream_fail(tlv_stream *s, tlv_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(s, status, fmt, ap);
    va_end(ap);
    return s->status;
}

static tlv_status fail_err(tlv_stream *s, const tlv_err *e)
{
    if (s->status == TLV_OK) {
        s->err = *e;
        s->status = e->status;
    }
    return s->status;
}

void tlv__stream_begin(tlv_stream *s, int timestamps)
{
    tlv_vk_device *d = s->d;
    if (s->submitted) {
        /* The caller did not wait: do it now, so the command buffer can be reset. */
        d->vk.vkWaitForFences(d->device, 1, &s->fence, VK_TRUE, UINT64_MAX);
        s->submitted = 0;
    }
    d->vk.vkResetFences(d->device, 1, &s->fence);
    if (s->recording) d->vk.vkEndCommandBuffer(s->cmd);
    d->vk.vkResetCommandBuffer(s->cmd, 0);
    for (uint32_t i = 0; i < s->n_pools; i++) d->vk.vkResetDescriptorPool(d->device, s->pools[i], 0);
    views_release(s);
    s->cur_pool = 0;
    s->sets_used = s->descs_used = s->texels_used = 0;
    s->recording = 0;
    s->status = TLV_OK;
    tlv__err_clear(&s->err);
    s->n_written = s->n_read = 0;
    s->n_disp = 0;
    s->last = UINT32_MAX;
    s->total_ns = 0;
    s->timestamps = timestamps && d->caps.timestamps;
}

static void barrier(tlv_stream *s)
{
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                       VK_ACCESS_TRANSFER_WRITE_BIT;
    VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    s->d->vk.vkCmdPipelineBarrier(s->cmd, stages, stages, 0, 1, &mb, 0, NULL, 0, NULL);
    s->n_written = s->n_read = 0;
}

/* Starts the command buffer at the first record. */
static tlv_status ensure_recording(tlv_stream *s)
{
    if (s->status) return s->status;
    if (s->recording) return TLV_OK;
    tlv_vk_device *d = s->d;
    tlv_err e;
    VkCommandBufferBeginInfo bi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    if (tlv__vk_check(d->vk.vkBeginCommandBuffer(s->cmd, &bi), &e, "vkBeginCommandBuffer")) return fail_err(s, &e);
    s->recording = 1;
    if (s->timestamps) {
        if (!s->queries) {
            VkQueryPoolCreateInfo qi = {VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
            qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
            qi.queryCount = MAX_TIMESTAMPS;
            if (tlv__vk_check(d->vk.vkCreateQueryPool(d->device, &qi, NULL, &s->queries), &e, "vkCreateQueryPool"))
                return fail_err(s, &e);
        }
        d->vk.vkCmdResetQueryPool(s->cmd, s->queries, 0, MAX_TIMESTAMPS);
    }
    barrier(s);
    if (s->timestamps) d->vk.vkCmdWriteTimestamp(s->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, s->queries, 0);
    return TLV_OK;
}

static int overlaps(const brange *list, uint32_t n, const brange *r)
{
    for (uint32_t i = 0; i < n; i++)
        if (list[i].buf == r->buf && list[i].lo < r->hi && r->lo < list[i].hi) return 1;
    return 0;
}

static int push_range(tlv_stream *s, brange **list, uint32_t *n, uint32_t *cap, const brange *r)
{
    for (uint32_t i = 0; i < *n; i++) /* merge exact repeats (the same weight read twice) */
        if ((*list)[i].buf == r->buf && (*list)[i].lo <= r->lo && r->hi <= (*list)[i].hi) return 1;
    if (*n == *cap) {
        uint32_t nc = *cap ? 2 * *cap : 64;
        brange *nl = tlv__realloc(s->d->alloc, *list, nc * sizeof *nl);
        if (!nl) return 0;
        *list = nl;
        *cap = nc;
    }
    (*list)[(*n)++] = *r;
    return 1;
}

/* Inserts a barrier if the accesses conflict with what happened since the last one, then records them. */
static tlv_status track(tlv_stream *s, const brange *r, const int *write, uint32_t n)
{
    int need = s->timestamps && s->n_disp > 0;
    for (uint32_t i = 0; i < n && !need; i++) {
        if (overlaps(s->written, s->n_written, &r[i])) need = 1;
        if (write[i] && overlaps(s->read, s->n_read, &r[i])) need = 1;
    }
    if (need) barrier(s);
    for (uint32_t i = 0; i < n; i++) {
        int ok = write[i] ? push_range(s, &s->written, &s->n_written, &s->cap_written, &r[i])
                          : push_range(s, &s->read, &s->n_read, &s->cap_read, &r[i]);
        if (!ok) return tlv__stream_fail(s, TLV_ERR_NO_MEMORY, "out of host memory recording a stream");
    }
    return TLV_OK;
}

static tlv_status note_dispatch(tlv_stream *s, const char *label)
{
    if (s->n_disp == s->cap_disp) {
        uint32_t nc = s->cap_disp ? 2 * s->cap_disp : 256;
        const char **nl = tlv__realloc(s->d->alloc, s->labels, nc * sizeof *nl);
        if (nl) s->labels = nl;
        double *nt = nl ? tlv__realloc(s->d->alloc, s->times, nc * sizeof *nt) : NULL;
        if (nt) s->times = nt;
        double *nb = nt ? tlv__realloc(s->d->alloc, s->bytes, nc * sizeof *nb) : NULL;
        if (nb) s->bytes = nb;
        double *nf = nb ? tlv__realloc(s->d->alloc, s->flops, nc * sizeof *nf) : NULL;
        if (nf) s->flops = nf;
        if (!nl || !nt || !nb || !nf) return tlv__stream_fail(s, TLV_ERR_NO_MEMORY, "out of host memory recording a stream");
        s->cap_disp = nc;
    }
    s->labels[s->n_disp] = label ? label : "?";
    s->times[s->n_disp] = 0;
    s->bytes[s->n_disp] = s->flops[s->n_disp] = 0;
    s->last = s->n_disp;
    s->n_disp++;
    if (s->timestamps && s->n_disp < MAX_TIMESTAMPS)
        s->d->vk.vkCmdWriteTimestamp(s->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, s->queries, s->n_disp);
    return TLV_OK;
}

static VkDescriptorSet alloc_set(tlv_stream *s, const tlv_vk_pipeline *p)
{
    tlv_vk_device *d = s->d;
    tlv_err e;
    uint32_t n_texel = 0;
    for (uint32_t m = p->texel_mask; m; m &= m - 1) n_texel++;
    uint32_t n_storage = p->n_bindings - n_texel;
    if (s->cur_pool < s->n_pools && (s->sets_used + 1 > POOL_SETS || s->descs_used + n_storage > POOL_DESCRIPTORS ||
                                     s->texels_used + n_texel > POOL_DESCRIPTORS)) {
        s->cur_pool++;
        s->sets_used = s->descs_used = s->texels_used = 0;
    }
    if (s->cur_pool == s->n_pools) {
        VkDescriptorPool *np = tlv__realloc(d->alloc, s->pools, (s->n_pools + 1) * sizeof *np);
        if (!np) {
            tlv__stream_fail(s, TLV_ERR_NO_MEMORY, "out of host memory recording a stream");
            return VK_NULL_HANDLE;
        }
        s->pools = np;
        VkDescriptorPoolSize ps[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, POOL_DESCRIPTORS},
                                      {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, POOL_DESCRIPTORS}};
        VkDescriptorPoolCreateInfo ci = {VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
        ci.maxSets = POOL_SETS;
        ci.poolSizeCount = 2;
        ci.pPoolSizes = ps;
        if (tlv__vk_check(d->vk.vkCreateDescriptorPool(d->device, &ci, NULL, &s->pools[s->n_pools]), &e,
                          "vkCreateDescriptorPool")) {
            fail_err(s, &e);
            return VK_NULL_HANDLE;
        }
        s->n_pools++;
        s->sets_used = s->descs_used = s->texels_used = 0;
    }
    VkDescriptorSetAllocateInfo ai = {VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = s->pools[s->cur_pool];
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &p->set_layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    if (tlv__vk_check(d->vk.vkAllocateDescriptorSets(d->device, &ai, &set), &e, "vkAllocateDescriptorSets")) {
        fail_err(s, &e);
        return VK_NULL_HANDLE;
    }
    s->sets_used++;
    s->descs_used += n_storage;
    s->texels_used += n_texel;
    return set;
}

static const VkFormat texel_format[3] = {VK_FORMAT_UNDEFINED, VK_FORMAT_R32G32B32A32_UINT, VK_FORMAT_R32_UINT};
static const uint32_t texel_bytes[3] = {0, 16, 4};

/* A view of [offset, offset + range) of buf in format f, made once per recording. */
static VkBufferView get_view(tlv_stream *s, VkBuffer buf, VkDeviceSize offset, VkDeviceSize range, VkFormat f)
{
    tlv_vk_device *d = s->d;
    for (uint32_t i = s->n_views; i-- > 0;) {
        const tview *v = &s->views[i];
        if (v->buf == buf && v->offset == offset && v->range == range && v->format == f) return v->view;
    }
    if (s->n_views == s->cap_views) {
        uint32_t nc = s->cap_views ? 2 * s->cap_views : 64;
        tview *nv = tlv__realloc(d->alloc, s->views, nc * sizeof *nv);
        if (!nv) {
            tlv__stream_fail(s, TLV_ERR_NO_MEMORY, "out of host memory recording a stream");
            return VK_NULL_HANDLE;
        }
        s->views = nv;
        s->cap_views = nc;
    }
    VkBufferViewCreateInfo ci = {VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
    ci.buffer = buf;
    ci.format = f;
    ci.offset = offset;
    ci.range = range;
    tview *v = &s->views[s->n_views];
    tlv_err e;
    if (tlv__vk_check(d->vk.vkCreateBufferView(d->device, &ci, NULL, &v->view), &e, "vkCreateBufferView")) {
        fail_err(s, &e);
        return VK_NULL_HANDLE;
    }
    v->buf = buf;
    v->offset = offset;
    v->range = range;
    v->format = f;
    s->n_views++;
    return v->view;
}

tlv_status tlv__stream_dispatch(tlv_stream *s, const tlv_vk_pipeline *p, const tlv_vk_binding *b, uint32_t n_b,
                                const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz,
                                const char *label)
{
    s->last = UINT32_MAX;
    if (s->status) return s->status;
    const char *name = label ? label : (p ? p->name : "?");
    if (!p) return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: no pipeline", name);
    const tlv_vk_caps *c = &s->d->caps;
    if (n_b != p->n_bindings)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: %u bindings given, pipeline %s has %u", name, n_b, p->name,
                                p->n_bindings);
    if (push_bytes != p->push_bytes)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: %u bytes of push constants given, pipeline %s takes %u", name,
                                push_bytes, p->name, p->push_bytes);
    if (gx > c->max_wg_count[0] || gy > c->max_wg_count[1] || gz > c->max_wg_count[2])
        return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: %u x %u x %u workgroups exceed the device's %u x %u x %u", name, gx,
                                gy, gz, c->max_wg_count[0], c->max_wg_count[1], c->max_wg_count[2]);
    if (gx == 0 || gy == 0 || gz == 0) return TLV_OK;

    brange r[16];
    int w[16];
    VkDescriptorBufferInfo info[16];
    VkBufferView views[16];
    VkWriteDescriptorSet wr[16];
    for (uint32_t i = 0; i < n_b; i++) {
        const tlv_vk_buffer *buf = b[i].buf;
        if (!buf || !buf->block) return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: binding %u has no buffer", name, i);
        VkDeviceSize range = b[i].range ? b[i].range : buf->size - b[i].offset;
        VkDeviceSize abs = buf->offset + b[i].offset;
        if (b[i].offset > buf->size || range > buf->size - b[i].offset)
            return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: binding %u range [%llu, +%llu) outside a %llu-byte buffer",
                                    name, i, (unsigned long long)b[i].offset, (unsigned long long)range,
                                    (unsigned long long)buf->size);
        uint32_t tx = (uint32_t)b[i].texel;
        if (tx > TLV_TEXEL_R32UI)
            return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: binding %u: unknown texel format %u", name, i, tx);
        if ((tx != 0) != (int)(p->texel_mask >> i & 1u))
            return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: binding %u is a %s, pipeline %s expects a %s", name, i,
                                    tx ? "texel buffer" : "storage buffer", p->name,
                                    tx ? "storage buffer" : "texel buffer");
        if (tx) {
            /* whole texels: the last one may run into the allocation's padding (memory.c) */
            VkDeviceSize tb = texel_bytes[tx];
            VkDeviceSize vrange = (range + tb - 1) / tb * tb;
            if (b[i].write)
                return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: binding %u: texel buffers are read-only", name, i);
            if (!(c->texel_formats & (1u << tx)))
                return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: binding %u: %s has no uniform texel buffers of format %s",
                                        name, i, c->device_name, tx == TLV_TEXEL_RGBA32UI ? "RGBA32UI" : "R32UI");
            if (!c->min_texel_align || abs % c->min_texel_align)
                return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: binding %u: texel view offset %llu not aligned to %u",
                                        name, i, (unsigned long long)abs, c->min_texel_align);
            if (vrange / tb > c->max_texel_elements)
                return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: binding %u spans %llu texels, the device's texel buffers "
                                        "hold %u", name, i, (unsigned long long)(vrange / tb), c->max_texel_elements);
            if (abs + vrange > ((const tlv_mem_block *)buf->block)->size)
                return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: binding %u: texel view runs past its memory block",
                                        name, i);
            range = vrange;
        } else {
            if (abs % c->min_storage_align)
                return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: binding %u offset %llu not aligned to %u", name, i,
                                        (unsigned long long)abs, c->min_storage_align);
            if (range > c->max_storage_range)
                return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: binding %u spans %llu bytes, the device's storage range is %u",
                                        name, i, (unsigned long long)range, c->max_storage_range);
        }
        r[i].buf = buf->buffer;
        r[i].lo = abs;
        r[i].hi = abs + range;
        w[i] = b[i].write;
        info[i].buffer = buf->buffer;
        info[i].offset = abs;
        info[i].range = range;
        views[i] = VK_NULL_HANDLE;
    }
    if (ensure_recording(s)) return s->status;
    for (uint32_t i = 0; i < n_b; i++)
        if (b[i].texel && !(views[i] = get_view(s, info[i].buffer, info[i].offset, info[i].range, texel_format[b[i].texel])))
            return s->status;
    VkDescriptorSet set = alloc_set(s, p);
    if (!set) return s->status;
    for (uint32_t i = 0; i < n_b; i++) {
        VkWriteDescriptorSet x = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        x.dstSet = set;
        x.dstBinding = i;
        x.descriptorCount = 1;
        if (views[i]) {
            x.descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
            x.pTexelBufferView = &views[i];
        } else {
            x.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            x.pBufferInfo = &info[i];
        }
        wr[i] = x;
    }
    const struct VolkDeviceTable *vk = &s->d->vk;
    vk->vkUpdateDescriptorSets(s->d->device, n_b, wr, 0, NULL);
    if (track(s, r, w, n_b)) return s->status;
    vk->vkCmdBindPipeline(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    vk->vkCmdBindDescriptorSets(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
    if (push_bytes) vk->vkCmdPushConstants(s->cmd, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
    vk->vkCmdDispatch(s->cmd, gx, gy, gz);
    return note_dispatch(s, name);
}

tlv_status tlv__stream_copy(tlv_stream *s, const tlv_vk_buffer *src, VkDeviceSize src_off, const tlv_vk_buffer *dst,
                            VkDeviceSize dst_off, VkDeviceSize size)
{
    s->last = UINT32_MAX;
    if (s->status) return s->status;
    if (!src || !dst || !src->block || !dst->block || src_off > src->size || size > src->size - src_off ||
        dst_off > dst->size || size > dst->size - dst_off)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "copy: range outside its buffer");
    if (size == 0) return TLV_OK;
    if (ensure_recording(s)) return s->status;
    brange r[2] = {{src->buffer, src->offset + src_off, src->offset + src_off + size},
                   {dst->buffer, dst->offset + dst_off, dst->offset + dst_off + size}};
    int w[2] = {0, 1};
    if (track(s, r, w, 2)) return s->status;
    VkBufferCopy c = {src->offset + src_off, dst->offset + dst_off, size};
    s->d->vk.vkCmdCopyBuffer(s->cmd, src->buffer, dst->buffer, 1, &c);
    return note_dispatch(s, "copy");
}

tlv_status tlv__stream_fill(tlv_stream *s, const tlv_vk_buffer *dst, VkDeviceSize off, VkDeviceSize size, uint32_t value)
{
    s->last = UINT32_MAX;
    if (s->status) return s->status;
    if (!dst || !dst->block || off > dst->size || size > dst->size - off || (off | size) % 4 ||
        (dst->offset + off) % 4)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "fill: range outside its buffer or not 4-byte aligned");
    if (size == 0) return TLV_OK;
    if (ensure_recording(s)) return s->status;
    brange r = {dst->buffer, dst->offset + off, dst->offset + off + size};
    int w = 1;
    if (track(s, &r, &w, 1)) return s->status;
    s->d->vk.vkCmdFillBuffer(s->cmd, dst->buffer, dst->offset + off, size, value);
    return note_dispatch(s, "fill");
}

tlv_status tlv__stream_submit(tlv_stream *s, tlv_err *err)
{
    tlv_vk_device *d = s->d;
    if (s->status) goto fail;
    if (s->submitted) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "stream submitted twice without tlv__stream_begin");
        goto fail;
    }
    if (ensure_recording(s)) goto fail;
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    d->vk.vkCmdPipelineBarrier(s->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                               VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    tlv_err e;
    s->recording = 0;
    if (tlv__vk_check(d->vk.vkEndCommandBuffer(s->cmd), &e, "vkEndCommandBuffer")) {
        fail_err(s, &e);
        goto fail;
    }
    VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &s->cmd;
    pthread_mutex_lock(&d->lock);
    VkResult r = d->vk.vkQueueSubmit(d->queue, 1, &si, s->fence);
    pthread_mutex_unlock(&d->lock);
    if (tlv__vk_check(r, &e, "vkQueueSubmit")) {
        fail_err(s, &e);
        goto fail;
    }
    s->submitted = 1;
    return TLV_OK;
fail:
    if (err) *err = s->err;
    return s->status;
}

tlv_status tlv__stream_wait(tlv_stream *s, tlv_err *err)
{
    tlv_vk_device *d = s->d;
    if (s->status) goto fail;
    if (!s->submitted) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "stream waited for without a submit");
        goto fail;
    }
    tlv_err e;
    VkResult r = d->vk.vkWaitForFences(d->device, 1, &s->fence, VK_TRUE, UINT64_MAX);
    s->submitted = 0;
    if (tlv__vk_check(r, &e, "vkWaitForFences")) {
        fail_err(s, &e);
        goto fail;
    }
    if (s->timestamps && s->n_disp) {
        uint32_t n = s->n_disp + 1 < MAX_TIMESTAMPS ? s->n_disp + 1 : MAX_TIMESTAMPS;
        uint64_t *ts = tlv__calloc(d->alloc, n, sizeof *ts);
        if (ts && d->vk.vkGetQueryPoolResults(d->device, s->queries, 0, n, n * sizeof *ts, ts, sizeof *ts,
                                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) == VK_SUCCESS) {
            uint64_t mask = d->caps.timestamp_bits >= 64 ? ~0ull : (1ull << d->caps.timestamp_bits) - 1;
            double period = d->caps.timestamp_period_ns;
            for (uint32_t i = 1; i < n; i++) s->times[i - 1] = (double)((ts[i] - ts[i - 1]) & mask) * period;
            s->total_ns = (double)((ts[n - 1] - ts[0]) & mask) * period;
        }
        tlv__free(d->alloc, ts);
    }
    return TLV_OK;
fail:
    if (err) *err = s->err;
    return s->status;
}

tlv_status tlv__stream_run(tlv_stream *s, tlv_err *err)
{
    tlv_status st = tlv__stream_submit(s, err);
    return st ? st : tlv__stream_wait(s, err);
}

uint32_t tlv__stream_n_dispatches(const tlv_stream *s)
{
    return s->n_disp;
}

const char *tlv__stream_label(const tlv_stream *s, uint32_t i)
{
    return i < s->n_disp ? s->labels[i] : NULL;
}

double tlv__stream_time_ns(const tlv_stream *s, uint32_t i)
{
    return i < s->n_disp ? s->times[i] : 0;
}

double tlv__stream_total_ns(const tlv_stream *s)
{
    return s->total_ns;
}

void tlv__stream_note_work(tlv_stream *s, double bytes, double flops)
{
    if (s->last >= s->n_disp) return; /* the record made no dispatch (empty grid, an error) */
    s->bytes[s->last] += bytes;
    s->flops[s->last] += flops;
}

double tlv__stream_bytes(const tlv_stream *s, uint32_t i)
{
    return i < s->n_disp ? s->bytes[i] : 0;
}

double tlv__stream_flops(const tlv_stream *s, uint32_t i)
{
    return i < s->n_disp ? s->flops[i] : 0;
}
