/* source_ckpt.c: weights from a safetensors checkpoint, as published or quantized on load
 * (source.h). Tensors go from the read-only mapping to the device: as stored, straight through
 * the device's bounded staging (tlv__tensor_write_rows); quantized, a chunk of rows (about 1 MiB
 * of blocks) at a time through one host buffer, so host memory stays near that chunk. */
#include <stdio.h>
#include <string.h>

#include "formats/safetensors.h"
#include "model/model.h"
#include "model/source.h"
#include "tensor/quant.h"

typedef struct ckpt_source {
    tlv_weight_source base;
    tlv_vk_device *dev;
    const tlv_allocator *alloc;
    tlv_checkpoint *ck;
    tlv_recipe recipe;
    int has_recipe;
    tlv_dtype *target;   /* per checkpoint tensor: its dtype on the device */
    uint8_t *bound;      /* per checkpoint tensor: found in this pass */
    char dir[1024];
} ckpt_source;

int64_t tlv__quantize_chunk_rows(uint64_t row_bytes, int64_t rows)
{
    int64_t n = row_bytes ? (int64_t)((1u << 20) / row_bytes) : rows;
    if (n < 1) n = 1;
    return n < rows ? n : rows;
}

tlv_status tlv__quantize_rows(const char *file, const char *name, tlv_dtype src_dtype, const void *src, int64_t row0,
                              int64_t n, int64_t cols, tlv_dtype fmt, float *scratch, void *dst, tlv_err *err)
{
    if (src_dtype != TLV_F32 && src_dtype != TLV_F16 && src_dtype != TLV_BF16)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "%s: tensor '%s': cannot quantize from %s", file, name,
                            tlv__dtype_name(src_dtype));
    const uint32_t es = tlv__dtype_size(src_dtype);
    const uint64_t ob = tlv__dtype_row_bytes(fmt, cols);
    for (int64_t r = 0; r < n; r++) {
        const uint8_t *p = (const uint8_t *)src + (uint64_t)(row0 + r) * (uint64_t)cols * es;
        for (int64_t j = 0; j < cols; j++) {
            if (src_dtype == TLV_F32) {
                memcpy(&scratch[j], p + 4 * j, 4);
            } else {
                uint16_t h = (uint16_t)(p[2 * j] | p[2 * j + 1] << 8);
                scratch[j] = src_dtype == TLV_F16 ? tlv__f16_to_f32(h) : tlv__bf16_to_f32(h);
            }
        }
        int64_t bad = 0;
        tlv_status st = tlv__quantize_row(fmt, scratch, cols, (uint8_t *)dst + (uint64_t)r * ob, &bad);
        if (st == TLV_ERR_FORMAT) {
            float v = scratch[bad];
            return tlv__err_set(err, st, "%s: tensor '%s': element [%lld, %lld] is %s, cannot quantize to %s", file, name,
                                (long long)(row0 + r), (long long)bad, v != v ? "NaN" : v > 0 ? "+Inf" : "-Inf",
                                tlv__dtype_name(fmt));
        }
        if (st == TLV_ERR_UNSUPPORTED)
            return tlv__err_set(err, st, "%s: tensor '%s': element [%lld, %lld] = %g needs a %s scale beyond f16's range "
                                "(|scale| >= 65520)", file, name, (long long)(row0 + r), (long long)bad, (double)scratch[bad],
                                tlv__dtype_name(fmt));
        if (st) return tlv__err_set(err, st, "%s: tensor '%s': cannot quantize to %s", file, name, tlv__dtype_name(fmt));
    }
    return TLV_OK;
}

static tlv_status ck_find(tlv_weight_source *s_, const char *name, tlv_weight_role role, int required, int ndim,
                          const int64_t *dims, tlv_weight_info *info, tlv_err *err)
{
    ckpt_source *s = (ckpt_source *)s_;
    memset(info, 0, sizeof *info);
    info->name = name;
    const tlv_st_tensor *st = tlv__checkpoint_use(s->ck, name);
    if (!st) {
        if (!required) return TLV_OK;
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s' is missing from the checkpoint", s->dir, name);
    }
    if (!tlv__st_dtype_supported(st->dtype) && st->dtype != TLV_ST_U8)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: tensor '%s': expected F32, F16 or BF16, found %s (or U8 with "
                            "a quantized format in __metadata__)", s->dir, name, tlv__st_dtype_name(st->dtype));
    tlv_st_logical l;
    tlv_status rc = tlv__checkpoint_logical(s->ck, st, &l, err);
    if (!rc) rc = tlv__checkpoint_check_shape(s->ck, st, ndim, dims, err);
    if (rc) return rc;
    if (l.ndim > TLV_MAX_DIMS)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s' has %d dims", st->file, name, l.ndim);
    info->present = 1;
    info->stored = l.dtype;
    info->ndim = l.ndim < 1 ? 1 : l.ndim;
    for (int i = 0; i < TLV_MAX_DIMS; i++) info->shape[i] = i < l.ndim ? l.shape[i] : 1;
    info->src_bytes = st->n_bytes;
    info->handle = st;
    rc = tlv__recipe_dtype(s->has_recipe ? &s->recipe : NULL, role, l.dtype, l.ndim, l.ndim ? l.shape[l.ndim - 1] : 1,
                           st->file, name, &info->dtype, err);
    if (rc) return rc;
    size_t i = (size_t)(st - tlv__checkpoint_at(s->ck, 0));
    s->target[i] = info->dtype;
    s->bound[i] = 1;
    return TLV_OK;
}

static tlv_status ck_upload(tlv_weight_source *s_, tlv_tensor *t, const tlv_weight_info *parts, int n, tlv_err *err)
{
    ckpt_source *s = (ckpt_source *)s_;
    const int64_t cols = tlv__tensor_row_elems(t);
    int64_t row0 = 0;
    for (int k = 0; k < n; k++) {
        const tlv_st_tensor *st = parts[k].handle;
        const int64_t rows = parts[k].shape[0];
        tlv_status rc;
        if (parts[k].stored == t->dtype) {
            rc = n == 1 ? tlv__tensor_write(s->dev, t, st->data, err)
                        : tlv__tensor_write_rows(s->dev, t, row0, rows, st->data, err);
            if (rc) return tlv__err_prefix(err, "tensor '%s'", st->name);
        } else {
            /* quantize on load: a chunk of rows at a time */
            const uint64_t ob = tlv__dtype_row_bytes(t->dtype, cols);
            const int64_t chunk = tlv__quantize_chunk_rows(ob, rows);
            float *scratch = tlv__malloc(s->alloc, (size_t)cols * sizeof(float));
            uint8_t *buf = tlv__malloc(s->alloc, (size_t)((uint64_t)chunk * ob));
            rc = scratch && buf ? TLV_OK
                                : tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory quantizing tensor '%s'", st->name);
            for (int64_t r = 0; r < rows && !rc; r += chunk) {
                int64_t m = rows - r < chunk ? rows - r : chunk;
                rc = tlv__quantize_rows(st->file, st->name, parts[k].stored, st->data, r, m, cols, t->dtype, scratch, buf, err);
                if (!rc && (rc = tlv__tensor_write_rows(s->dev, t, row0 + r, m, buf, err)))
                    tlv__err_prefix(err, "tensor '%s'", st->name);
            }
            tlv__free(s->alloc, scratch);
            tlv__free(s->alloc, buf);
            if (rc) return rc;
        }
        row0 += rows;
    }
    return TLV_OK;
}

static tlv_status ck_check_unused(tlv_weight_source *s_, int (*ignorable)(const struct tlv_model_core *, const char *),
                                  const struct tlv_model_core *m, tlv_err *err)
{
    ckpt_source *s = (ckpt_source *)s_;
    size_t n = tlv__checkpoint_count(s->ck), bad = 0;
    char list[300] = "";
    for (size_t i = 0; i < n; i++) {
        if (tlv__checkpoint_is_used(s->ck, i)) continue;
        const char *name = tlv__checkpoint_at(s->ck, i)->name;
        if (ignorable(m, name)) continue;
        if (bad < 3) {
            strncat(list, bad ? ", '" : "'", sizeof list - strlen(list) - 1);
            strncat(list, name, sizeof list - strlen(list) - 1);
            strncat(list, "'", sizeof list - strlen(list) - 1);
        }
        bad++;
    }
    if (bad)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: %zu unexpected tensor%s in the checkpoint (%s%s): misnamed, or a layout "
                            "this %s model does not have", s->dir, bad, bad == 1 ? "" : "s", list, bad > 3 ? ", ..." : "",
                            tlv__llm_arch_name(m->llm.arch));
    return TLV_OK;
}

static void ck_reset(tlv_weight_source *s_)
{
    ckpt_source *s = (ckpt_source *)s_;
    tlv__checkpoint_clear_marks(s->ck);
    size_t n = tlv__checkpoint_count(s->ck);
    if (n) memset(s->bound, 0, n);
}

static void ck_destroy(tlv_weight_source *s_)
{
    ckpt_source *s = (ckpt_source *)s_;
    if (!s) return;
    tlv__checkpoint_destroy(s->ck);
    tlv__free(s->alloc, s->target);
    tlv__free(s->alloc, s->bound);
    tlv__free(s->alloc, s);
}

tlv_status tlv__source_checkpoint(tlv_vk_device *dev, const char *dir, const tlv_recipe *recipe,
                                  const tlv_allocator *alloc, tlv_weight_source **out, tlv_err *err)
{
    *out = NULL;
    ckpt_source *s = tlv__calloc(alloc, 1, sizeof *s);
    if (!s) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory loading %s", dir);
    s->dev = dev;
    s->alloc = alloc;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    if (recipe) {
        s->recipe = *recipe;
        s->has_recipe = 1;
    }
    s->base = (tlv_weight_source){ck_find, ck_upload, ck_check_unused, ck_reset, NULL, ck_destroy, s->dir};
    tlv_status st = tlv__checkpoint_open(dir, alloc, &s->ck, err);
    if (st) {
        ck_destroy(&s->base);
        return st;
    }
    size_t n = tlv__checkpoint_count(s->ck);
    s->target = tlv__calloc(alloc, n ? n : 1, sizeof *s->target);
    s->bound = tlv__calloc(alloc, n ? n : 1, 1);
    if (!s->target || !s->bound) {
        ck_destroy(&s->base);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory loading %s", dir);
    }
    *out = &s->base;
    return TLV_OK;
}

struct tlv_checkpoint *tlv__source_checkpoint_file(tlv_weight_source *s)
{
    return ((ckpt_source *)s)->ck;
}

tlv_dtype tlv__source_checkpoint_target(tlv_weight_source *s_, size_t i, int *bound)
{
    ckpt_source *s = (ckpt_source *)s_;
    *bound = i < tlv__checkpoint_count(s->ck) && s->bound[i];
    return *bound ? s->target[i] : TLV_F32;
}
