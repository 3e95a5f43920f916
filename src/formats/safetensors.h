/* safetensors.h: checkpoints in the safetensors format, one file or sharded, memory-mapped.
 *
 * File layout (https://github.com/huggingface/safetensors, "Format"):
 *
 *   OFFSET      SIZE  DESCRIPTION
 *   0           8     N, the header length: unsigned 64-bit little-endian
 *   8           N     header: UTF-8 JSON object, may be padded at the end with spaces
 *   8+N         rest  data: the tensors' bytes, little-endian, row-major (C order), no padding
 *                     requirement between tensors
 *
 * Header:  { "__metadata__": {"format": "pt", ...string: string...},          (optional)
 *            "<tensor name>": {"dtype": "F16", "shape": [d0, d1, ...],
 *                              "data_offsets": [begin, end]}, ... }
 * begin/end are byte offsets relative to the start of the data section (8+N), end exclusive.
 *
 * Sharded checkpoints (what Hugging Face writes above ~5 GB) add model.safetensors.index.json:
 *   { "metadata": {"total_size": ...}, "weight_map": {"<tensor name>": "model-00001-of-00002.safetensors", ...} }
 *
 * Checks made on open, before any pointer into the data is formed (all sizes in checked u64
 * arithmetic, core/checked.h):
 *   - the file holds at least the 8-byte length; N <= TLV_ST_MAX_HEADER_BYTES (100 MB, the limit
 *     of the reference Rust implementation); 8 + N <= file size
 *   - the header is one JSON object (parsed with cJSON), starting with '{', followed only by
 *     spaces/NULs; valid UTF-8 is not checked (names are compared byte-wise)
 *   - every tensor entry has a known dtype string, a shape of 0..TLV_ST_MAX_DIMS non-negative
 *     integers and two integer data_offsets; JSON numbers are doubles, so offsets and dimensions
 *     must be exact integers below 2^53
 *   - begin <= end <= data size; end - begin == product(shape) * dtype size
 *   - tensors of one file do not overlap (gaps are allowed; the Rust reader refuses them, we only
 *     need every tensor to be inside the file and distinct)
 *   - tensor names are unique over all shards; __metadata__ values are strings
 *   - sharded: shard names are plain file names (no '/', '\\' or "..") in the same directory,
 *     and every weight_map entry is found in the shard it names
 * Known dtypes other than F32/F16/BF16 (BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F64, F8_*)
 * are accepted on open and reported by tlv__st_dtype_supported(); the model code refuses them
 * when it needs such a tensor. An unknown dtype string fails the open.
 *
 * Quantized tensors (docs/FORMATS.md "Quantized checkpoints"): a Q8_0 or Q4_0 weight of logical
 * shape [rows, cols] is stored as U8 [rows, cols / 32 * block bytes], GGUF's blocks in order
 * along each row, and described in its shard's __metadata__:
 *     "tlv.quant.version": "1"                 (once per file that has quantized tensors)
 *     "tlv.format.<tensor name>": "q8_0" | "q4_0"
 *     "tlv.shape.<tensor name>": "[rows, cols]"  (the logical shape, a JSON array in a string)
 * Checked on open, per shard, so a damaged file fails before anything is uploaded:
 *   - tlv.format / tlv.shape keys without tlv.quant.version; a version other than "1"
 *   - a key naming a tensor that is not in that shard; tlv.shape without tlv.format
 *   - an unknown format name (TLV_ERR_UNSUPPORTED)
 *   - a tensor marked quantized that is not U8 2-D; a missing or malformed tlv.shape
 *   - cols not a multiple of 32; stored rows != logical rows; a stored row length that is not a
 *     whole number of blocks (wrong byte count) or not cols / 32 blocks (block count)
 *   - in a file with tlv.quant.version, a U8 tensor without tlv.format
 * tlv__checkpoint_logical() then says what a tensor is to the runtime (dtype + logical shape), and
 * tlv__checkpoint_check_shape() compares that with the shape the config implies.
 *
 * Alignment: the data section starts at 8 + N, which the writer usually pads to a multiple of 8,
 * but nothing requires it: a tensor pointer is only as aligned as the file makes it. Consumers
 * that need aligned loads copy (the GPU upload does).
 *
 * Ownership: a tlv_checkpoint owns its mappings and all strings; tensor records and their data
 * pointers live until tlv__checkpoint_destroy. Lookups are const; the "used" marks are the only
 * mutable state (one loader at a time). Errors name the file and the tensor:
 *   "dir/model.safetensors: tensor 'x.weight': data_offsets [a,b) past end of data (c bytes)" */
#ifndef TLV_FORMATS_SAFETENSORS_H
#define TLV_FORMATS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tensor/dtype.h"

#define TLV_ST_MAX_HEADER_BYTES 100000000u
#define TLV_ST_MAX_DIMS 8

typedef enum tlv_st_dtype {
    TLV_ST_F32 = 0,
    TLV_ST_F16,
    TLV_ST_BF16,
    /* known, not computed with (yet) */
    TLV_ST_F64,
    TLV_ST_I64,
    TLV_ST_U64,
    TLV_ST_I32,
    TLV_ST_U32,
    TLV_ST_I16,
    TLV_ST_U16,
    TLV_ST_I8,
    TLV_ST_U8,
    TLV_ST_BOOL,
    TLV_ST_F8_E5M2,
    TLV_ST_F8_E4M3,
    TLV_ST_DTYPE_COUNT
} tlv_st_dtype;

typedef struct tlv_st_tensor {
    const char *name;               /* owned by the checkpoint */
    tlv_st_dtype dtype;
    int32_t ndim;                   /* 0 for a scalar */
    int64_t shape[TLV_ST_MAX_DIMS]; /* unused dims are 1 */
    uint64_t n_elems;
    uint64_t n_bytes;
    const void *data;               /* into the read-only mapping; NULL when n_bytes == 0 */
    uint64_t file_offset;           /* of the first byte, from the start of the file */
    const char *file;               /* path of the shard holding it, owned by the checkpoint */
    int32_t shard;                  /* index of that shard */
} tlv_st_tensor;

typedef struct tlv_checkpoint tlv_checkpoint;

/* Opens dir/model.safetensors.index.json and its shards if the index exists, else
 * dir/model.safetensors. TLV_ERR_NOT_FOUND when neither exists. */
tlv_status tlv__checkpoint_open(const char *dir, const tlv_allocator *alloc, tlv_checkpoint **out, tlv_err *err);
/* Opens one .safetensors file. */
tlv_status tlv__safetensors_open(const char *path, const tlv_allocator *alloc, tlv_checkpoint **out, tlv_err *err);
/* Accepts NULL and half-built checkpoints. */
void tlv__checkpoint_destroy(tlv_checkpoint *c);

/* Iteration: tensors sorted by name (strcmp order), 0 <= i < count. */
size_t tlv__checkpoint_count(const tlv_checkpoint *c);
const tlv_st_tensor *tlv__checkpoint_at(const tlv_checkpoint *c, size_t i);
size_t tlv__checkpoint_n_shards(const tlv_checkpoint *c);
/* The path the checkpoint was opened from (directory or file). */
const char *tlv__checkpoint_path(const tlv_checkpoint *c);
/* A __metadata__ value of the first shard that has the key, or NULL. */
const char *tlv__checkpoint_metadata(const tlv_checkpoint *c, const char *key);

/* Lookup by exact name (binary search); NULL when absent. Does not mark. */
const tlv_st_tensor *tlv__checkpoint_find(const tlv_checkpoint *c, const char *name);

/* "Mark used": the loader takes every tensor it binds through tlv__checkpoint_use (or
 * tlv__checkpoint_get, which also writes "<path>: tensor 'x' not found" for a missing one), then
 * walks the unused ones to report unexpected tensors. Marks are per checkpoint, not per thread. */
const tlv_st_tensor *tlv__checkpoint_use(tlv_checkpoint *c, const char *name);
tlv_status tlv__checkpoint_get(tlv_checkpoint *c, const char *name, const tlv_st_tensor **out, tlv_err *err);
int tlv__checkpoint_is_used(const tlv_checkpoint *c, size_t i);
size_t tlv__checkpoint_n_unused(const tlv_checkpoint *c);
void tlv__checkpoint_clear_marks(tlv_checkpoint *c);

/* The tensor as the runtime sees it: F32/F16/BF16 tensors as stored, quantized U8 tensors as
 * their block dtype and logical shape (from __metadata__, checked on open). */
typedef struct tlv_st_logical {
    tlv_dtype dtype;
    int32_t ndim;
    int64_t shape[TLV_ST_MAX_DIMS]; /* unused dims are 1 */
    uint64_t n_elems;               /* product of the logical shape */
} tlv_st_logical;

/* The metadata keys of a quantized tensor (tlv.format.<name>, tlv.shape.<name>) and the file's
 * version key and value. */
#define TLV_ST_QUANT_VERSION_KEY "tlv.quant.version"
#define TLV_ST_QUANT_VERSION "1"
#define TLV_ST_FORMAT_PREFIX "tlv.format."
#define TLV_ST_SHAPE_PREFIX "tlv.shape."

/* "q8_0" for TLV_Q8_0, "q4_0" for TLV_Q4_0 (the names in the metadata), NULL otherwise. */
const char *tlv__st_quant_name(tlv_dtype t);

/* Fills *out for tensor t of c. Errors name the file and tensor: a U8 tensor without a format in
 * __metadata__ (TLV_ERR_FORMAT: "stored as U8 without 'tlv.format.x'"), a dtype the runtime does
 * not compute with (TLV_ERR_UNSUPPORTED). */
tlv_status tlv__checkpoint_logical(const tlv_checkpoint *c, const tlv_st_tensor *t, tlv_st_logical *out, tlv_err *err);

/* Checks t's logical shape against the one the model's config implies (ndim dims, dims[i] < 0:
 * any): TLV_ERR_SHAPE naming the file, the tensor, both shapes and, for a quantized tensor, that
 * its shape came from __metadata__. The model loader calls this for every tensor it binds. */
tlv_status tlv__checkpoint_check_shape(const tlv_checkpoint *c, const tlv_st_tensor *t, int ndim, const int64_t *dims,
                                       tlv_err *err);

/* "F16", "BF16", ... as written in the header. */
const char *tlv__st_dtype_name(tlv_st_dtype t);
/* Bytes per element (1 for BOOL and the F8 types). */
size_t tlv__st_dtype_size(tlv_st_dtype t);
/* 1 for F32, F16, BF16: the dtypes the runtime computes with. */
int tlv__st_dtype_supported(tlv_st_dtype t);

#endif
