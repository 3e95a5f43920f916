/* dtype.h: the element types a tensor can hold, and how many bytes a row of them takes.
 *
 * Vulkan-free on purpose: src/formats/ (the safetensors writer and the quantized-checkpoint
 * checks) and src/tensor/quant.c need these facts without the device layer that tensor.h brings.
 *
 *   dtype  block  bytes/block  layout of one block (GGUF's, docs/FORMATS.md "Quantized checkpoints")
 *   F32    1      4            IEEE binary32
 *   F16    1      2            IEEE binary16
 *   BF16   1      2            the top half of a binary32
 *   Q8_0   32     34           f16 scale d, then 32 int8 q;            x[j] = q[j] * d
 *   Q4_0   32     18           f16 scale d, then 16 bytes of nibbles;  x[j] = (nibble(j) - 8) * d,
 *                              element j (< 16) in the low nibble of byte j, element j + 16 in
 *                              the high nibble of byte j
 *
 * Blocks run along a row (the last dimension, a Linear weight's input dimension), so a row of a
 * block dtype holds a whole number of blocks: its length must be a multiple of the block size.
 * Sizes are always asked of tlv__dtype_row_bytes (or tlv__tensor_row_bytes), never computed as
 * elements x element size: a block dtype has no per-element size. */
#ifndef TLV_TENSOR_DTYPE_H
#define TLV_TENSOR_DTYPE_H

#include <stdint.h>

typedef enum tlv_dtype {
    TLV_F32 = 0,
    TLV_F16 = 1,
    TLV_BF16 = 2,
    TLV_Q8_0 = 3,
    TLV_Q4_0 = 4
} tlv_dtype;

#define TLV_DTYPE_COUNT 5

/* Elements per quantization block of Q8_0 and Q4_0 (ggml's QK8_0 and QK4_0). */
#define TLV_QK 32

/* "F32", "F16", "BF16", "Q8_0", "Q4_0"; "?" for a value outside the enum. */
const char *tlv__dtype_name(tlv_dtype t);
/* Bytes per element: F32 4, F16/BF16 2; 0 for the block dtypes, which have none (use
 * tlv__dtype_block_bytes / tlv__dtype_row_bytes). */
uint32_t tlv__dtype_size(tlv_dtype t);
/* 1 for Q8_0 and Q4_0. */
int tlv__dtype_is_block(tlv_dtype t);
/* Elements per block: 1 for the float dtypes, TLV_QK for Q8_0 and Q4_0. */
uint32_t tlv__dtype_block_elems(tlv_dtype t);
/* Bytes per block: 4, 2, 2, 34, 18. */
uint32_t tlv__dtype_block_bytes(tlv_dtype t);
/* Bytes of a row of n elements: n / block_elems * block_bytes. A block dtype with n not a
 * multiple of TLV_QK has no such row: 0 (tlv__tensor_alloc and the checkpoint checks reject
 * those shapes with a message; the 0 only keeps a caller that forgot from overrunning). */
uint64_t tlv__dtype_row_bytes(tlv_dtype t, int64_t n);

#endif
