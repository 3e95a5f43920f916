/* tensor.c: shapes, sizes, slabs and host <-> device copies (tensor.h). */
#include "tensor.h"

#include <limits.h>
#include <string.h>

#include "core/alloc.h"
#include "core/checked.h"

void tlv__tensor_init(tlv_tensor *t, tlv_dtype dtype, int ndim, const int64_t *shape)
{
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->ndim = ndim < 1 ? 1 : ndim > TLV_MAX_DIMS ? TLV_MAX_DIMS : ndim;
    for (int i = 0; i < TLV_MAX_DIMS; i++) t->shape[i] = i < t->ndim ? shape[i] : 1;
    t->n_slabs = 0;
    t->slab_rows = t->shape[0];
}

int64_t tlv__tensor_nelem(const tlv_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

int64_t tlv__tensor_row_elems(const tlv_tensor *t)
{
    int64_t n = 1;
    for (int i = 1; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

uint64_t tlv__tensor_row_bytes(const tlv_tensor *t)
{
    return tlv__dtype_row_bytes(t->dtype, tlv__tensor_row_elems(t));
}

uint64_t tlv__tensor_bytes(const tlv_tensor *t)
{
    return (uint64_t)t->shape[0] * tlv__tensor_row_bytes(t);
}

int64_t tlv__tensor_slab_nrows(const tlv_tensor *t, int i)
{
    int64_t start = (int64_t)i * t->slab_rows;
    int64_t n = t->shape[0] - start;
    return n < t->slab_rows ? (n < 0 ? 0 : n) : t->slab_rows;
}

tlv_status tlv__tensor_alloc(tlv_vk_device *d, tlv_tensor *t, tlv_vk_mem_kind kind, tlv_err *err)
{
    const tlv_vk_caps *c = tlv__vk_device_caps(d);
    uint64_t row = tlv__tensor_row_bytes(t), total = tlv__tensor_bytes(t);
    int64_t n_slabs;
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] <= 0) return tlv__err_set(err, TLV_ERR_SHAPE, "tensor dimension %d is %lld", i, (long long)t->shape[i]);
    if (tlv__dtype_is_block(t->dtype) && (t->ndim < 2 || t->shape[t->ndim - 1] % tlv__dtype_block_elems(t->dtype)))
        return tlv__err_set(err, TLV_ERR_SHAPE, "a %s tensor needs 2 or more dimensions, the last a multiple of %u; found %d-D with last dimension %lld",
                            tlv__dtype_name(t->dtype), tlv__dtype_block_elems(t->dtype), t->ndim, (long long)t->shape[t->ndim - 1]);
    if (row > c->storage_range_limit)
        return tlv__err_set(err, TLV_ERR_LIMIT, "one row of %llu bytes exceeds the device's storage range (%u bytes)",
                            (unsigned long long)row, c->storage_range_limit);
    if (total <= c->storage_range_limit) {
        t->slab_rows = t->shape[0];
        n_slabs = 1;
    } else {
        /* Slab rows: as many as fit, a multiple of 8 rows so that F16/BF16 slabs stay word- and
         * 16-byte aligned. */
        int64_t rows = (int64_t)(c->storage_range_limit / row);
        if (rows >= 8) rows &= ~(int64_t)7;
        t->slab_rows = rows;
        n_slabs = (t->shape[0] + rows - 1) / rows;
    }
    tlv_status st = tlv__tensor_slabs_new(d, t, n_slabs, err);
    if (st) return st;
    for (int i = 0; i < (int)n_slabs; i++) {
        uint64_t bytes = (uint64_t)tlv__tensor_slab_nrows(t, i) * row;
        /* round up to whole words so F16 tensors of odd length can be read as uint words */
        bytes = (bytes + 15) & ~(uint64_t)15;
        st = tlv__vk_buffer_alloc(d, bytes, kind, &t->slabs[i], err);
        if (st) {
            tlv__tensor_free(d, t);
            return st;
        }
        t->n_slabs = i + 1;
    }
    return TLV_OK;
}

void tlv__tensor_free(tlv_vk_device *d, tlv_tensor *t)
{
    if (!t) return;
    for (int i = 0; i < t->n_slabs; i++) tlv__vk_buffer_free(d, &t->slabs[i]);
    tlv__tensor_slabs_delete(d, t);
}

tlv_status tlv__tensor_slabs_new(tlv_vk_device *d, tlv_tensor *t, int64_t n, tlv_err *err)
{
    /* n_slabs is an int; past that the tensor is absurd for any device, so say so */
    if (n < 1 || n > INT_MAX)
        return tlv__err_set(err, TLV_ERR_LIMIT, "tensor needs %lld storage slabs, expected 1..%d", (long long)n, INT_MAX);
    t->slabs = tlv__calloc(tlv__vk_device_allocator(d), (size_t)n, sizeof *t->slabs);
    t->n_slabs = 0;
    if (!t->slabs) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory for %lld slab records", (long long)n);
    return TLV_OK;
}

void tlv__tensor_slabs_delete(tlv_vk_device *d, tlv_tensor *t)
{
    if (t->slabs) tlv__free(tlv__vk_device_allocator(d), t->slabs);
    t->slabs = NULL;
    t->n_slabs = 0;
}

/* ------------------------------------------------------------------------------------------
 * Block dtypes: GGUF row bytes <-> the device layout (tensor.h). A slab of n rows of nb blocks,
 * Q quant bytes a block (32 for Q8_0, 16 for Q4_0): the quants of block b of row r at byte
 * (r * nb + b) * Q, then the n * nb f16 scales from byte n * nb * Q, scale (r * nb + b) at
 * n * nb * Q + 2 * (r * nb + b). Rows are converted a chunk at a time through a bounded host
 * buffer (never a second copy of a big tensor). */

#define BLOCK_CHUNK_BYTES ((uint64_t)1 << 20) /* host scratch per chunk of rows */

static uint32_t quant_bytes(tlv_dtype dt)
{
    return tlv__dtype_block_bytes(dt) - 2;
}

/* Rows per chunk: at least one. */
static int64_t block_chunk_rows(uint64_t row)
{
    int64_t r = (int64_t)(BLOCK_CHUNK_BYTES / (row ? row : 1));
    return r < 1 ? 1 : r;
}

/* GGUF rows (n rows, nb blocks each) -> quants[n * nb * Q] and scales[n * nb * 2], or back. */
static void block_split(tlv_dtype dt, const uint8_t *gguf, int64_t n, int64_t nb, uint8_t *quants, uint8_t *scales)
{
    uint32_t q = quant_bytes(dt), bb = q + 2;
    for (int64_t i = 0; i < n * nb; i++) {
        memcpy(scales + 2 * i, gguf + i * bb, 2);
        memcpy(quants + i * q, gguf + i * bb + 2, q);
    }
}

static void block_join(tlv_dtype dt, const uint8_t *quants, const uint8_t *scales, int64_t n, int64_t nb, uint8_t *gguf)
{
    uint32_t q = quant_bytes(dt), bb = q + 2;
    for (int64_t i = 0; i < n * nb; i++) {
        memcpy(gguf + i * bb, scales + 2 * i, 2);
        memcpy(gguf + i * bb + 2, quants + i * q, q);
    }
}

/* Rows [r0, r0 + n) of slab i (of slab_n rows) of a block tensor, from GGUF bytes at src (or into
 * dst when reading). */
static tlv_status block_rows_io(tlv_vk_device *d, const tlv_tensor *t, int i, int64_t r0, int64_t n, const uint8_t *src,
                                uint8_t *dst, tlv_err *err)
{
    const tlv_allocator *a = tlv__vk_device_allocator(d);
    uint64_t row = tlv__tensor_row_bytes(t);
    int64_t nb = tlv__tensor_row_elems(t) / TLV_QK, slab_n = tlv__tensor_slab_nrows(t, i);
    uint32_t q = quant_bytes(t->dtype);
    uint64_t scale0 = (uint64_t)slab_n * (uint64_t)nb * q; /* first scale byte of the slab */
    int64_t chunk = block_chunk_rows(row);
    if (chunk > n) chunk = n;
    uint8_t *tmp = tlv__malloc(a, (size_t)((uint64_t)chunk * row));
    if (!tmp) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory converting %s rows (%llu bytes)",
                                  tlv__dtype_name(t->dtype), (unsigned long long)((uint64_t)chunk * row));
    tlv_status st = TLV_OK;
    for (int64_t done = 0; done < n && st == TLV_OK; done += chunk) {
        int64_t m = n - done < chunk ? n - done : chunk;
        uint64_t blk0 = (uint64_t)(r0 + done) * (uint64_t)nb, nblk = (uint64_t)m * (uint64_t)nb;
        uint8_t *qs = tmp, *sc = tmp + nblk * q;
        if (src) {
            block_split(t->dtype, src + (uint64_t)done * row, m, nb, qs, sc);
            st = tlv__vk_buffer_write(d, &t->slabs[i], blk0 * q, qs, (size_t)(nblk * q), err);
            if (st == TLV_OK) st = tlv__vk_buffer_write(d, &t->slabs[i], scale0 + 2 * blk0, sc, (size_t)(nblk * 2), err);
        } else {
            st = tlv__vk_buffer_read(d, &t->slabs[i], blk0 * q, qs, (size_t)(nblk * q), err);
            if (st == TLV_OK) st = tlv__vk_buffer_read(d, &t->slabs[i], scale0 + 2 * blk0, sc, (size_t)(nblk * 2), err);
            if (st == TLV_OK) block_join(t->dtype, qs, sc, m, nb, dst + (uint64_t)done * row);
        }
    }
    tlv__free(a, tmp);
    return st;
}

uint64_t tlv__tensor_block_scales_offset(const tlv_tensor *t, int slab)
{
    if (!tlv__dtype_is_block(t->dtype)) return 0;
    return (uint64_t)tlv__tensor_slab_nrows(t, slab) * (uint64_t)(tlv__tensor_row_elems(t) / TLV_QK) *
           quant_bytes(t->dtype);
}

tlv_status tlv__tensor_write(tlv_vk_device *d, const tlv_tensor *t, const void *data, tlv_err *err)
{
    return tlv__tensor_write_rows(d, t, 0, t->shape[0], data, err);
}

tlv_status tlv__tensor_write_rows(tlv_vk_device *d, const tlv_tensor *t, int64_t row0, int64_t n_rows, const void *data,
                                  tlv_err *err)
{
    if (row0 < 0 || n_rows < 0 || row0 + n_rows > t->shape[0])
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "tensor write: rows [%lld, %lld) outside its %lld rows",
                            (long long)row0, (long long)(row0 + n_rows), (long long)t->shape[0]);
    uint64_t row = tlv__tensor_row_bytes(t);
    int block = tlv__dtype_is_block(t->dtype);
    const uint8_t *src = data;
    while (n_rows > 0) {
        int i = (int)(row0 / t->slab_rows);
        int64_t in_slab = row0 - (int64_t)i * t->slab_rows;
        int64_t n = tlv__tensor_slab_nrows(t, i) - in_slab;
        if (n > n_rows) n = n_rows;
        tlv_status st = block ? block_rows_io(d, t, i, in_slab, n, src, NULL, err)
                              : tlv__vk_buffer_write(d, &t->slabs[i], (VkDeviceSize)((uint64_t)in_slab * row), src,
                                                     (size_t)((uint64_t)n * row), err);
        if (st) return st;
        src += (uint64_t)n * row;
        row0 += n;
        n_rows -= n;
    }
    return TLV_OK;
}

tlv_status tlv__tensor_read(tlv_vk_device *d, const tlv_tensor *t, void *data, tlv_err *err)
{
    uint64_t row = tlv__tensor_row_bytes(t);
    for (int i = 0; i < t->n_slabs; i++) {
        uint64_t off = (uint64_t)i * (uint64_t)t->slab_rows * row;
        int64_t n = tlv__tensor_slab_nrows(t, i);
        tlv_status st = tlv__dtype_is_block(t->dtype)
                            ? block_rows_io(d, t, i, 0, n, NULL, (uint8_t *)data + off, err)
                            : tlv__vk_buffer_read(d, &t->slabs[i], 0, (uint8_t *)data + off, (size_t)((uint64_t)n * row), err);
        if (st) return st;
    }
    return TLV_OK;
}

tlv_vk_binding tlv__tensor_binding(const tlv_tensor *t, int slab, int write)
{
    tlv_vk_binding b = {&t->slabs[slab], 0, 0, write};
    return b;
}

/* IEEE half <-> float, bit-exact (round to nearest even), no hardware support needed. */
float tlv__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        if (mant == 0) bits = sign;
        else { /* subnormal: normalise */
            exp = 127 - 15 + 1;
            while (!(mant & 0x400)) {
                mant <<= 1;
                exp--;
            }
            mant &= 0x3ff;
            bits = sign | exp << 23 | mant << 13;
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | mant << 13;
    else bits = sign | (exp + 127 - 15) << 23 | mant << 13;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t tlv__f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff);
    uint32_t mant = x & 0x7fffff;
    if (exp == 255) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
    int32_t e = exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = (uint32_t)e << 10 | mant >> 13, rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry into the exponent: correct */
    return (uint16_t)(sign | half);
}

float tlv__bf16_to_f32(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t tlv__f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
    uint32_t lsb = (x >> 16) & 1;
    x += 0x7fff + lsb;
    return (uint16_t)(x >> 16);
}
