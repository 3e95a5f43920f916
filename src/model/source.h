/* source.h: where a model's weights come from. The loader (load.c) walks the architecture,
 * names every tensor and its shape and binds it; a weight source says whether it has the tensor
 * and in which dtype it will be on the device, and then supplies its bytes:
 *
 *   checkpoint  (source_ckpt.c)  safetensors from the mmap, as published or quantized on load by
 *                                a recipe (recipe.h): a bounded chunk of rows at a time is
 *                                quantized and written, so host memory stays near one chunk
 *   synthetic   (synth.c)        the bench's models: hashed uniform numbers made on the device, at
 *                                the shapes of a config, in a dtype, with the same recipe
 *
 * Two passes: the loader first finds every tensor (counting: names, shapes, dtypes, the byte
 * total for progress), then, after reset(), finds each again and uploads it. A tensor the model
 * binds from several source tensors (q/k/v fused into one weight, load.c's bind_fused) is
 * uploaded with one call, its parts in row order. */
#ifndef TLV_MODEL_SOURCE_H
#define TLV_MODEL_SOURCE_H

#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/recipe.h"
#include "ops/ops.h"
#include "tensor.h"

struct tlv_model_core;

/* What a source says about one tensor. */
typedef struct tlv_weight_info {
    int present;              /* 0: absent and not required (no error) */
    const char *name;         /* the name asked for; lives until the next find */
    tlv_dtype dtype;          /* on the device (after the recipe) */
    tlv_dtype stored;         /* in the source */
    int ndim;
    int64_t shape[TLV_MAX_DIMS]; /* the logical shape */
    uint64_t src_bytes;       /* bytes the source reads for it (load progress) */
    const void *handle;       /* the source's own record */
} tlv_weight_info;

typedef struct tlv_weight_source tlv_weight_source;
struct tlv_weight_source {
    /* Looks name up and checks its shape (ndim dims; dims[i] < 0: any). required 0: an absent
     * tensor gives info->present 0. Errors name the file, the tensor and expected vs found. */
    tlv_status (*find)(tlv_weight_source *s, const char *name, tlv_weight_role role, int required, int ndim,
                       const int64_t *dims, tlv_weight_info *info, tlv_err *err);
    /* Writes the n parts (found in this pass, all of t's dtype and row length) into t, allocated,
     * rows in the order given. */
    tlv_status (*upload)(tlv_weight_source *s, tlv_tensor *t, const tlv_weight_info *parts, int n, tlv_err *err);
    /* After the counting pass: an error naming the tensors the source has and the model did not
     * take (ignorable(name) != 0: skip it). May be NULL. */
    tlv_status (*check_unused)(tlv_weight_source *s, int (*ignorable)(const struct tlv_model_core *m, const char *name),
                               const struct tlv_model_core *m, tlv_err *err);
    /* Forgets what was found (before the second pass). May be NULL. */
    void (*reset)(tlv_weight_source *s);
    /* After the last upload: waits for what is recorded (synthetic). May be NULL. */
    tlv_status (*finish)(tlv_weight_source *s, tlv_err *err);
    void (*destroy)(tlv_weight_source *s);
    const char *label;        /* the folder, or "(synthetic)", for messages */
};

/* A checkpoint folder (config already read by the caller) with a recipe (NULL: as published).
 * dev may be NULL for a source that is only planned (tlv__model_quantize). */
tlv_status tlv__source_checkpoint(tlv_vk_device *dev, const char *dir, const tlv_recipe *recipe,
                                  const tlv_allocator *alloc, tlv_weight_source **out, tlv_err *err);
/* The open checkpoint of a checkpoint source (tlv__model_quantize walks it), and the dtype the
 * recipe gave tensor i of it in the last pass (*bound 0: the model did not take it). */
struct tlv_checkpoint *tlv__source_checkpoint_file(tlv_weight_source *s);
tlv_dtype tlv__source_checkpoint_target(tlv_weight_source *s, size_t i, int *bound);

/* Synthetic weights of dtype (F32, F16, BF16) for model m (its descriptions filled), the recipe
 * applied on top (NULL: none). Uploads are recorded on a stream of its own and run by finish. */
tlv_status tlv__source_synthetic(tlv_vk_device *dev, const struct tlv_model_core *m, tlv_dtype dtype,
                                 const tlv_recipe *recipe, tlv_weight_source **out, tlv_err *err);

/* Quantizes rows [row0, row0 + n) of a row-major [rows, cols] tensor stored in src_dtype (F32,
 * F16, BF16; possibly unaligned) to fmt at dst (n * tlv__dtype_row_bytes(fmt, cols) bytes),
 * through scratch (cols floats). Errors name the file and tensor and the element [row, col] (of
 * the whole tensor) that is NaN or Inf. Shared by quantize-on-load and tlv__model_quantize, so
 * both write the same bytes. */
tlv_status tlv__quantize_rows(const char *file, const char *name, tlv_dtype src_dtype, const void *src, int64_t row0,
                              int64_t n, int64_t cols, tlv_dtype fmt, float *scratch, void *dst, tlv_err *err);

/* Rows per chunk when quantizing a tensor with rows of row_bytes bytes (quantized): about 1 MiB of
 * output, at least 1. */
int64_t tlv__quantize_chunk_rows(uint64_t row_bytes, int64_t rows);

#endif
