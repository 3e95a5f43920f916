/* memory.c: device memory as a few large blocks, each one VkDeviceMemory bound to one VkBuffer,
 * sub-allocated first-fit with a sorted, coalesced free list.
 *
 * Why blocks: drivers limit the number of allocations (maxMemoryAllocationCount, 4096 on many),
 * allocation is slow, and a model has hundreds of tensors. Why one VkBuffer per block: a
 * descriptor then names (block buffer, offset, range) and no per-tensor VkBuffer exists.
 * Block size: 64 MiB for device memory (4 MiB for host-visible staging and readback); a request
 * of a quarter block or more that fits no free range gets a block of exactly its size. Never above
 * maxMemoryAllocationSize.
 * Every range starts at a multiple of ALIGN (>= minStorageBufferOffsetAlignment and
 * minTexelBufferOffsetAlignment) and is rounded up to one, so it can be bound directly, as a
 * storage buffer or (stream.c) as a texel buffer whose last texel runs into that padding. */
#include <string.h>

#include "vk/internal.h"

#define ALIGN_MIN 256u
#define STAGING_BYTES (16u << 20)

static VkDeviceSize align_up(VkDeviceSize v, VkDeviceSize a)
{
    return (v + a - 1) / a * a;
}

static VkDeviceSize range_align(const tlv_vk_device *d)
{
    VkDeviceSize a = d->caps.min_storage_align > ALIGN_MIN ? d->caps.min_storage_align : ALIGN_MIN;
    if (d->caps.min_texel_align > a) a = d->caps.min_texel_align;
    return a;
}

static int find_type(const tlv_vk_device *d, uint32_t bits, VkMemoryPropertyFlags want)
{
    for (uint32_t i = 0; i < d->memprops.memoryTypeCount; i++)
        if ((bits & (1u << i)) && (d->memprops.memoryTypes[i].propertyFlags & want) == want) return (int)i;
    return -1;
}

static int choose_type(const tlv_vk_device *d, uint32_t bits, tlv_vk_mem_kind kind)
{
    const VkMemoryPropertyFlags L = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, V = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                                C = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, K = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    int t = -1;
    switch (kind) {
    case TLV_MEM_DEVICE:
        /* UMA: device-local memory the host can write, so weights go straight in (no staging). */
        if (d->caps.uma) t = find_type(d, bits, L | V | C);
        if (t < 0) t = find_type(d, bits, L);
        if (t < 0) t = find_type(d, bits, 0);
        break;
    case TLV_MEM_UPLOAD:
        t = find_type(d, bits, V | C);
        break;
    case TLV_MEM_READBACK:
        t = find_type(d, bits, V | C | K);
        if (t < 0) t = find_type(d, bits, V | C);
        break;
    }
    return t;
}

static void block_destroy(tlv_vk_device *d, tlv_mem_block *b)
{
    if (!b) return;
    if (b->map) d->vk.vkUnmapMemory(d->device, b->memory);
    if (b->buffer) d->vk.vkDestroyBuffer(d->device, b->buffer, NULL);
    if (b->memory) d->vk.vkFreeMemory(d->device, b->memory, NULL);
    tlv__free(d->alloc, b->free);
    tlv__free(d->alloc, b);
}

void tlv__vk_memory_destroy_all(tlv_vk_device *d)
{
    for (uint32_t i = 0; i < d->n_blocks; i++) {
        if (d->blocks[i]->n_live)
            tlv__log(d->log, TLV_LOG_WARN, "device memory: block %u destroyed with %u live ranges", i, d->blocks[i]->n_live);
        block_destroy(d, d->blocks[i]);
    }
    tlv__free(d->alloc, d->blocks);
    d->blocks = NULL;
    d->n_blocks = d->cap_blocks = 0;
}

/* Called with d->lock held. */
static tlv_status block_create(tlv_vk_device *d, VkDeviceSize size, tlv_vk_mem_kind kind, tlv_mem_block **out, tlv_err *err)
{
    tlv_status st;
    tlv_mem_block *b = tlv__calloc(d->alloc, 1, sizeof *b);
    if (!b) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    b->size = size;
    b->kind = kind;
    VkBufferCreateInfo bci = {VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = size;
    bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    /* any range may be bound as a uniform texel buffer (stream.c creates the views) */
    if (d->caps.texel_formats) bci.usage |= VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    if ((st = tlv__vk_check(d->vk.vkCreateBuffer(d->device, &bci, NULL, &b->buffer), err, "vkCreateBuffer"))) goto fail;
    VkMemoryRequirements req;
    d->vk.vkGetBufferMemoryRequirements(d->device, b->buffer, &req);
    int type = choose_type(d, req.memoryTypeBits, kind);
    if (type < 0) {
        st = tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: no suitable memory type for %s buffers", d->caps.device_name,
                          kind == TLV_MEM_DEVICE ? "device" : "host-visible");
        goto fail;
    }
    b->type_index = (uint32_t)type;
    VkMemoryAllocateInfo mai = {VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = b->type_index;
    VkResult r = d->vk.vkAllocateMemory(d->device, &mai, NULL, &b->memory);
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
        st = tlv__err_set(err, TLV_ERR_DEVICE_MEMORY,
                          "out of device memory: allocating a %llu MiB block failed (%llu MiB already allocated on %s)",
                          (unsigned long long)(size >> 20), (unsigned long long)(d->mem_now >> 20), d->caps.device_name);
        goto fail;
    }
    if ((st = tlv__vk_check(r, err, "vkAllocateMemory"))) goto fail;
    if ((st = tlv__vk_check(d->vk.vkBindBufferMemory(d->device, b->buffer, b->memory, 0), err, "vkBindBufferMemory"))) goto fail;
    if (d->memprops.memoryTypes[b->type_index].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
        void *p = NULL;
        if ((st = tlv__vk_check(d->vk.vkMapMemory(d->device, b->memory, 0, VK_WHOLE_SIZE, 0, &p), err, "vkMapMemory"))) goto fail;
        b->map = p;
    }
    b->free = tlv__calloc(d->alloc, 8, sizeof *b->free);
    if (!b->free) {
        st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
        goto fail;
    }
    b->cap_free = 8;
    b->n_free = 1;
    b->free[0].offset = 0;
    b->free[0].size = size;
    *out = b;
    return TLV_OK;
fail:
    block_destroy(d, b);
    return st;
}

/* First fit in block b; returns 1 and the offset on success. */
static int block_take(tlv_mem_block *b, VkDeviceSize size, VkDeviceSize align, VkDeviceSize *offset)
{
    for (uint32_t i = 0; i < b->n_free; i++) {
        tlv_mem_range *f = &b->free[i];
        VkDeviceSize start = align_up(f->offset, align);
        if (start + size > f->offset + f->size) continue;
        /* Ranges start aligned and sizes are rounded to the alignment, so start == f->offset. */
        *offset = start;
        f->offset = start + size;
        f->size -= size;
        if (f->size == 0) {
            memmove(f, f + 1, (b->n_free - i - 1) * sizeof *f);
            b->n_free--;
        }
        b->n_live++;
        return 1;
    }
    return 0;
}

static int block_give(const tlv_allocator *a, tlv_mem_block *b, VkDeviceSize offset, VkDeviceSize size)
{
    uint32_t i = 0;
    while (i < b->n_free && b->free[i].offset < offset) i++;
    int merge_prev = i > 0 && b->free[i - 1].offset + b->free[i - 1].size == offset;
    int merge_next = i < b->n_free && offset + size == b->free[i].offset;
    if (merge_prev && merge_next) {
        b->free[i - 1].size += size + b->free[i].size;
        memmove(&b->free[i], &b->free[i + 1], (b->n_free - i - 1) * sizeof *b->free);
        b->n_free--;
    } else if (merge_prev) {
        b->free[i - 1].size += size;
    } else if (merge_next) {
        b->free[i].offset = offset;
        b->free[i].size += size;
    } else {
        if (b->n_free == b->cap_free) {
            tlv_mem_range *nf = tlv__realloc(a, b->free, 2 * b->cap_free * sizeof *nf);
            if (!nf) return 0; /* the range leaks inside the block until the device dies */
            b->free = nf;
            b->cap_free *= 2;
        }
        memmove(&b->free[i + 1], &b->free[i], (b->n_free - i) * sizeof *b->free);
        b->free[i].offset = offset;
        b->free[i].size = size;
        b->n_free++;
    }
    b->n_live--;
    return 1;
}

tlv_status tlv__vk_buffer_alloc(tlv_vk_device *d, VkDeviceSize size, tlv_vk_mem_kind kind, tlv_vk_buffer *out,
                                tlv_err *err)
{
    memset(out, 0, sizeof *out);
    if (size == 0) size = 4;
    VkDeviceSize align = range_align(d);
    VkDeviceSize rounded = align_up(size, align);
    if (d->caps.max_alloc_bytes && rounded > d->caps.max_alloc_bytes)
        return tlv__err_set(err, TLV_ERR_DEVICE_MEMORY,
                            "a single buffer of %llu MiB exceeds %s's maxMemoryAllocationSize (%llu MiB)",
                            (unsigned long long)(rounded >> 20), d->caps.device_name,
                            (unsigned long long)(d->caps.max_alloc_bytes >> 20));
    pthread_mutex_lock(&d->lock);
    tlv_status st = TLV_OK;
    VkDeviceSize off = 0;
    tlv_mem_block *blk = NULL;
    for (uint32_t i = 0; i < d->n_blocks && !blk; i++)
        if (d->blocks[i]->kind == kind && block_take(d->blocks[i], rounded, align, &off)) blk = d->blocks[i];
    if (!blk) {
        if (d->n_blocks == d->cap_blocks) {
            uint32_t nc = d->cap_blocks ? 2 * d->cap_blocks : 8;
            tlv_mem_block **nb = tlv__realloc(d->alloc, d->blocks, nc * sizeof *nb);
            if (!nb) {
                st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
                goto out;
            }
            d->blocks = nb;
            d->cap_blocks = nc;
        }
        VkDeviceSize bs = d->block_size;
        /* Host-visible staging/readback: small requests (a few KiB to a MiB), small blocks. */
        if (kind != TLV_MEM_DEVICE) bs = 4ull << 20;
        /* A request of a quarter block or more gets a block of its own size: packing 50 MiB tensors
         * into 64 MiB blocks would leave 14 MiB holes in each (Phi-2's FFN weights). */
        if (rounded > bs || (kind == TLV_MEM_DEVICE && rounded >= bs / 4)) bs = rounded;
        if ((st = block_create(d, bs, kind, &blk, err))) goto out;
        d->blocks[d->n_blocks++] = blk;
        d->mem_now += bs;
        if (d->mem_now > d->mem_peak) d->mem_peak = d->mem_now;
        block_take(blk, rounded, align, &off);
    }
    out->buffer = blk->buffer;
    out->offset = off;
    out->size = size;
    out->map = blk->map ? blk->map + off : NULL;
    out->block = blk;
out:
    pthread_mutex_unlock(&d->lock);
    return st;
}

void tlv__vk_buffer_free(tlv_vk_device *d, tlv_vk_buffer *b)
{
    if (!d || !b || !b->block) return;
    pthread_mutex_lock(&d->lock);
    tlv_mem_block *blk = b->block;
    block_give(d->alloc, blk, b->offset, align_up(b->size, range_align(d)));
    /* Give empty blocks back to the driver, so freeing a model returns its memory. */
    if (blk->n_live == 0) {
        for (uint32_t i = 0; i < d->n_blocks; i++)
            if (d->blocks[i] == blk) {
                d->mem_now -= blk->size;
                block_destroy(d, blk);
                d->blocks[i] = d->blocks[--d->n_blocks];
                break;
            }
    }
    pthread_mutex_unlock(&d->lock);
    memset(b, 0, sizeof *b);
}

/* One synchronous transfer on the device's transfer command buffer; d->lock held by the caller. */
static tlv_status xfer_copy(tlv_vk_device *d, VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off,
                            VkDeviceSize n, tlv_err *err)
{
    tlv_status st;
    VkCommandBufferBeginInfo bi = {VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    if ((st = tlv__vk_check(d->vk.vkBeginCommandBuffer(d->xfer_cmd, &bi), err, "vkBeginCommandBuffer"))) return st;
    VkBufferCopy c = {src_off, dst_off, n};
    d->vk.vkCmdCopyBuffer(d->xfer_cmd, src, dst, 1, &c);
    VkMemoryBarrier mb = {VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    d->vk.vkCmdPipelineBarrier(d->xfer_cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                               VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0,
                               NULL);
    if ((st = tlv__vk_check(d->vk.vkEndCommandBuffer(d->xfer_cmd), err, "vkEndCommandBuffer"))) return st;
    VkSubmitInfo si = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &d->xfer_cmd;
    if ((st = tlv__vk_check(d->vk.vkQueueSubmit(d->queue, 1, &si, d->xfer_fence), err, "vkQueueSubmit"))) return st;
    st = tlv__vk_check(d->vk.vkWaitForFences(d->device, 1, &d->xfer_fence, VK_TRUE, UINT64_MAX), err, "vkWaitForFences");
    d->vk.vkResetFences(d->device, 1, &d->xfer_fence);
    d->vk.vkResetCommandBuffer(d->xfer_cmd, 0);
    return st;
}

static tlv_status check_range(const tlv_vk_buffer *b, VkDeviceSize offset, size_t n, tlv_err *err)
{
    if (!b || !b->block) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "buffer copy: buffer not allocated");
    if (offset > b->size || n > b->size - offset)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "buffer copy: range [%llu, +%zu) outside a %llu-byte buffer",
                            (unsigned long long)offset, n, (unsigned long long)b->size);
    return TLV_OK;
}

tlv_status tlv__vk_buffer_write(tlv_vk_device *d, const tlv_vk_buffer *b, VkDeviceSize offset, const void *src,
                                size_t n, tlv_err *err)
{
    tlv_status st = check_range(b, offset, n, err);
    if (st || n == 0) return st;
    if (b->map) {
        memcpy(b->map + offset, src, n);
        return TLV_OK;
    }
    /* Bounded staging: never a second full copy of a large weight in host memory. */
    tlv_vk_buffer stage;
    size_t chunk = n < STAGING_BYTES ? n : STAGING_BYTES;
    if ((st = tlv__vk_buffer_alloc(d, chunk, TLV_MEM_UPLOAD, &stage, err))) return st;
    for (size_t done = 0; done < n && !st; done += chunk) {
        size_t m = n - done < chunk ? n - done : chunk;
        memcpy(stage.map, (const uint8_t *)src + done, m);
        pthread_mutex_lock(&d->lock);
        st = xfer_copy(d, stage.buffer, stage.offset, b->buffer, b->offset + offset + done, m, err);
        pthread_mutex_unlock(&d->lock);
    }
    tlv__vk_buffer_free(d, &stage);
    return st;
}

tlv_status tlv__vk_buffer_read(tlv_vk_device *d, const tlv_vk_buffer *b, VkDeviceSize offset, void *dst, size_t n,
                               tlv_err *err)
{
    tlv_status st = check_range(b, offset, n, err);
    if (st || n == 0) return st;
    if (b->map) {
        memcpy(dst, b->map + offset, n);
        return TLV_OK;
    }
    tlv_vk_buffer stage;
    size_t chunk = n < STAGING_BYTES ? n : STAGING_BYTES;
    if ((st = tlv__vk_buffer_alloc(d, chunk, TLV_MEM_READBACK, &stage, err))) return st;
    for (size_t done = 0; done < n && !st; done += chunk) {
        size_t m = n - done < chunk ? n - done : chunk;
        pthread_mutex_lock(&d->lock);
        st = xfer_copy(d, b->buffer, b->offset + offset + done, stage.buffer, stage.offset, m, err);
        pthread_mutex_unlock(&d->lock);
        if (!st) memcpy((uint8_t *)dst + done, stage.map, m);
    }
    tlv__vk_buffer_free(d, &stage);
    return st;
}
