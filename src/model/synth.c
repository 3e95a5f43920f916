/* synth.c: synthetic weights (source.h), the bench's models: nothing to download; every tensor
 * the model binds is made at its shape, in the dtype asked for (the recipe on top), and filled on
 * the device with hashed uniform numbers (tlv__op_fill_random). The numbers are meaningless; the
 * work is the real model's:
 *
 *   matrices   U[-1, 1) * sqrt(3 / in): std 1/sqrt(in), so activations stay O(1)
 *   biases     U * 0.02
 *   norms      1 + U * 0.02 (Gemma's 1 + w: U * 0.02)
 *
 * A fused weight (q/k/v, gate/up) is filled as one tensor, under its first part's name. */
#include <math.h>
#include <string.h>

#include "model/model.h"
#include "model/source.h"
#include "ops/fill.h"

typedef struct synth_source {
    tlv_weight_source base;
    const tlv_model_core *m;
    const tlv_allocator *alloc;
    tlv_dtype dtype;
    tlv_recipe recipe;
    int has_recipe;
    uint32_t seed;
    tlv_stream *stream;
} synth_source;

/* optional tensors the published checkpoints have: SigLIP's patch bias, Factory Phi's lm_head
 * bias */
static int wanted(const tlv_model_core *m, int required, const char *name)
{
    return required || (strstr(name, "patch_embedding.bias") && m->vis.arch == TLV_VISION_SIGLIP) ||
           (strstr(name, "lm_head.bias") && m->llm.arch == TLV_ARCH_PHI && m->cfg.generation == TLV_GEN_FACTORY);
}

static tlv_status sy_find(tlv_weight_source *s_, const char *name, tlv_weight_role role, int required, int ndim,
                          const int64_t *dims, tlv_weight_info *info, tlv_err *err)
{
    synth_source *s = (synth_source *)s_;
    memset(info, 0, sizeof *info);
    info->name = name;
    if (!wanted(s->m, required, name)) return TLV_OK;
    if (ndim < 1 || ndim > TLV_MAX_DIMS)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "(synthetic): tensor '%s': %d dims", name, ndim);
    info->present = 1;
    info->ndim = ndim;
    for (int i = 0; i < TLV_MAX_DIMS; i++) info->shape[i] = i < ndim ? dims[i] : 1;
    for (int i = 0; i < ndim; i++)
        if (dims[i] < 0) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "(synthetic): tensor '%s': dimension %d unknown", name, i);
    info->stored = s->dtype;
    tlv_status st = tlv__recipe_dtype(s->has_recipe ? &s->recipe : NULL, role, s->dtype, ndim, dims[ndim - 1],
                                      "(synthetic)", name, &info->dtype, err);
    if (st) return st;
    uint64_t row = tlv__dtype_row_bytes(info->dtype, ndim >= 2 ? info->shape[ndim - 1] : 1), rows = 1;
    for (int i = 0; i < ndim - (ndim >= 2); i++) rows *= (uint64_t)info->shape[i];
    info->src_bytes = row * rows;
    return TLV_OK;
}

static tlv_status sy_upload(tlv_weight_source *s_, tlv_tensor *t, const tlv_weight_info *parts, int n, tlv_err *err)
{
    (void)n;
    (void)err;
    synth_source *s = (synth_source *)s_;
    const char *name = parts[0].name;
    const int ndim = t->ndim;
    int64_t in = ndim >= 2 ? tlv__tensor_row_elems(t) : 1;
    const char *dot = strrchr(name, '.');
    int is_bias = dot && !strcmp(dot, ".bias");
    float scale, offset = 0;
    if (ndim >= 2) scale = sqrtf(3.0f / (float)in);
    else if (is_bias) scale = 0.02f;
    else {
        scale = 0.02f;
        offset = s->m->llm.norm == TLV_NORM_RMS_1P && strstr(name, "language_model") ? 0.0f : 1.0f;
    }
    /* errors are the stream's: finish reports them */
    tlv__op_fill_random(s->stream, t, &s->seed, scale, offset);
    return TLV_OK;
}

static tlv_status sy_finish(tlv_weight_source *s_, tlv_err *err)
{
    synth_source *s = (synth_source *)s_;
    return tlv__stream_run(s->stream, err);
}

static void sy_destroy(tlv_weight_source *s_)
{
    synth_source *s = (synth_source *)s_;
    if (!s) return;
    tlv__stream_destroy(s->stream);
    tlv__free(s->alloc, s);
}

tlv_status tlv__source_synthetic(tlv_vk_device *dev, const tlv_model_core *m, tlv_dtype dtype, const tlv_recipe *recipe,
                                 tlv_weight_source **out, tlv_err *err)
{
    *out = NULL;
    if (dtype != TLV_F32 && dtype != TLV_F16 && dtype != TLV_BF16)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "synthetic weights: dtype %s (expected F32, F16 or BF16, and a recipe "
                            "for the quantized formats)", tlv__dtype_name(dtype));
    synth_source *s = tlv__calloc(m->alloc, 1, sizeof *s);
    if (!s) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    s->m = m;
    s->alloc = m->alloc;
    s->dtype = dtype;
    s->seed = 12345;
    if (recipe) {
        s->recipe = *recipe;
        s->has_recipe = 1;
    }
    s->base = (tlv_weight_source){sy_find, sy_upload, NULL, NULL, sy_finish, sy_destroy, "(synthetic)"};
    tlv_status st = tlv__stream_create(dev, &s->stream, err);
    if (st) {
        sy_destroy(&s->base);
        return st;
    }
    tlv__stream_begin(s->stream, 0);
    *out = &s->base;
    return TLV_OK;
}
