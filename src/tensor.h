/* tensor.h: a tensor is a shape, a dtype and where its elements live on the device.
 *
 *   shape     up to 4 dims, row-major in PyTorch order: shape[ndim-1] varies fastest.
 *             A Linear weight is [out, in]; activations are [rows, cols].
 *   dtype     F32, F16 or BF16 (weights may be any; activations are F32), or a block format
 *             Q8_0 / Q4_0 (tensor/dtype.h: blocks of 32 along the row, GGUF's byte layout).
 *             Callers use tlv__tensor_row_bytes() and never compute sizes from element counts
 *             themselves. The matrix kernels (matmul/matvec) and the embedding gather take block
 *             weights; every other op rejects them by name.
 *   storage   one or more row slabs. A tensor whose bytes exceed the device's storage range
 *             (maxStorageBufferRange, 128 MiB on lavapipe and many phones) is split along
 *             shape[0] into slabs of slab_rows rows, each its own buffer range, so that every slab
 *             can be bound on its own; kernels that read such weights loop over slabs. A tensor
 *             that fits has n_slabs == 1 and slabs[0] covers it all. There is no slab count limit.
 *   ownership slabs points to an array of n_slabs buffer ranges on the heap (the device's
 *             allocator), sized to need: one record for a tensor that fits, so a tensor record is
 *             small. tlv__tensor_alloc fills it and the tensor it filled owns the array and its
 *             buffers; tlv__tensor_free releases both. A struct copy of a tensor (graph.c's rows()
 *             and shape2(), `tlv_tensor v = *t`) is a view: it shares the array and the buffers, is
 *             never freed, and must not outlive the owner. A tensor that was only initialised (or
 *             zeroed) has n_slabs == 0 and slabs == NULL.
 *
 * Element access in shaders: F16 and BF16 data are read as 32-bit words (two elements a word,
 * element 2k in the low half) so no 16-bit storage feature is needed; rows of odd length may start
 * in the middle of a word.
 *
 * Device layout of the block dtypes (docs/FORMATS.md, "Device layout"). Host code only ever sees
 * GGUF's bytes (tlv__tensor_write / write_rows / read convert, a bounded chunk of rows at a time);
 * on the device each slab of n rows, nb = row_elems / 32 blocks a row and Q quant bytes a block
 * (Q8_0: 32 int8, Q4_0: 16 bytes of nibbles, same byte order inside a block as GGUF) is
 *     bytes [0, n*nb*Q)                 the quants: block b of row r at (r*nb + b) * Q
 *     bytes [n*nb*Q, n*nb*(Q + 2))      the f16 scales: (r*nb + b) at n*nb*Q + 2*(r*nb + b)
 * so that shaders read 32-bit words only (no 8/16-bit storage), the quants of a block are one or
 * two aligned 16-byte words, and 8 scales share a 16-byte word. The size is the GGUF size
 * (n * row_bytes), so slabs and allocations are the same as for the file's bytes; the scale array
 * starts 16-byte aligned (n*nb*Q is a multiple of 16). */
#ifndef TLV_TENSOR_H
#define TLV_TENSOR_H

#include <stdint.h>

#include "tensor/dtype.h"
#include "vk/vk.h"

#define TLV_MAX_DIMS 4

typedef struct tlv_tensor {
    tlv_dtype dtype;
    int ndim;
    int64_t shape[TLV_MAX_DIMS];
    int n_slabs;
    int64_t slab_rows;                   /* rows of shape[0] per slab (the last may have fewer) */
    tlv_vk_buffer *slabs;                /* n_slabs ranges; owned as told above */
} tlv_tensor;

int64_t tlv__tensor_nelem(const tlv_tensor *t);
/* Elements per row = product of shape[1..]; for a 1-D tensor, 1. */
int64_t tlv__tensor_row_elems(const tlv_tensor *t);
/* Bytes of one row (tlv__dtype_row_bytes of its row_elems) and of the whole tensor (shape[0]
 * rows). 0 for a block dtype whose row is not whole blocks (which tlv__tensor_alloc rejects). */
uint64_t tlv__tensor_row_bytes(const tlv_tensor *t);
uint64_t tlv__tensor_bytes(const tlv_tensor *t);
/* Rows held by slab i. */
int64_t tlv__tensor_slab_nrows(const tlv_tensor *t, int i);

/* Fills shape/dtype (ndim 1..4; unused dims are 1). Does not allocate. */
void tlv__tensor_init(tlv_tensor *t, tlv_dtype dtype, int ndim, const int64_t *shape);

/* Allocates device storage, splitting into row slabs when the tensor exceeds
 * caps.storage_range_limit (the slab size keeps every slab's byte size a multiple of 16).
 * A block dtype needs 2+ dims and a last dimension that is a multiple of its block (TLV_ERR_SHAPE). */
tlv_status tlv__tensor_alloc(tlv_vk_device *d, tlv_tensor *t, tlv_vk_mem_kind kind, tlv_err *err);
void tlv__tensor_free(tlv_vk_device *d, tlv_tensor *t);
/* The slab array alone, for code that binds ranges it allocated itself (the test harness's guarded
 * buffers): tlv__tensor_slabs_new sets slabs to n zeroed records and n_slabs to 0 (the caller
 * counts them in as it fills them); tlv__tensor_slabs_delete frees the array and zeroes
 * slabs/n_slabs without touching the buffers. */
tlv_status tlv__tensor_slabs_new(tlv_vk_device *d, tlv_tensor *t, int64_t n, tlv_err *err);
void tlv__tensor_slabs_delete(tlv_vk_device *d, tlv_tensor *t);

/* Synchronous host <-> device copies of the whole tensor in its own dtype (data is
 * tlv__tensor_bytes() long, rows contiguous; block dtypes in GGUF's block bytes, converted to and
 * from the device layout above). */
tlv_status tlv__tensor_write(tlv_vk_device *d, const tlv_tensor *t, const void *data, tlv_err *err);
/* Rows [row0, row0 + n_rows) of shape[0] (across slabs) from data (n_rows whole rows). */
tlv_status tlv__tensor_write_rows(tlv_vk_device *d, const tlv_tensor *t, int64_t row0, int64_t n_rows, const void *data,
                                  tlv_err *err);
tlv_status tlv__tensor_read(tlv_vk_device *d, const tlv_tensor *t, void *data, tlv_err *err);

/* Byte offset of the scale array in slab `slab` of a block-dtype tensor (the device layout above);
 * 0 for the other dtypes. */
uint64_t tlv__tensor_block_scales_offset(const tlv_tensor *t, int slab);

/* Binding of slab i for a dispatch. */
tlv_vk_binding tlv__tensor_binding(const tlv_tensor *t, int slab, int write);

/* Conversions used by uploads, references and tests. */
float tlv__f16_to_f32(uint16_t h);
uint16_t tlv__f32_to_f16(float f);   /* round to nearest even */
float tlv__bf16_to_f32(uint16_t b);
uint16_t tlv__f32_to_bf16(float f);  /* round to nearest even */

#endif
