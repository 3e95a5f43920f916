/* model.c: a model ready to serve: weights (model/), tokenizer and chat template (text/), and
 * the image preprocessing settings (image/), all from one checkpoint directory. */
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"

void tlv__engine_model_destroy(tlv_engine_model *m)
{
    if (!m) return;
    tlv__model_destroy(m->core);
    tlv__tokenizer_destroy(m->tok);
    tlv__free(m->alloc, m);
}

typedef struct progress_ctx {
    const tlv_model_options *o;
} progress_ctx;

static int on_progress(void *ud, uint64_t done, uint64_t total)
{
    const progress_ctx *p = ud;
    return p->o && p->o->progress ? p->o->progress(p->o->progress_user_data, "load", done, total) : 0;
}

/* The dtypes with bytes, most bytes first, '+'-joined ("Q4_0+F16"); "" for none. */
static void format_list(char *out, size_t cap, const uint64_t *bytes)
{
    int used[TLV_DTYPE_COUNT] = {0};
    out[0] = 0;
    for (;;) {
        int best = -1;
        for (int d = 0; d < TLV_DTYPE_COUNT; d++)
            if (!used[d] && bytes[d] && (best < 0 || bytes[d] > bytes[best])) best = d;
        if (best < 0) return;
        used[best] = 1;
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", n ? "+" : "", tlv__dtype_name((tlv_dtype)best));
    }
}

void tlv__engine_model_part(const tlv_engine_model *m, uint32_t index, tlv_model_part *out)
{
    const tlv_part_stats *ps = &m->core->parts[index];
    memset(out, 0, sizeof *out);
    out->name = tlv__part_name((tlv_model_part_id)index);
    out->format = m->part_format[index];
    out->vector_format = m->part_vformat[index];
    out->bytes = ps->bytes;
    out->n_params = ps->n_params;
    out->n_tensors = ps->n_tensors;
}

typedef struct quant_progress {
    const tlv_model_options *o;
} quant_progress;

static int on_quant_progress(void *ud, uint64_t done, uint64_t total)
{
    const quant_progress *p = ud;
    return p->o && p->o->progress ? p->o->progress(p->o->progress_user_data, "quantize", done, total) : 0;
}

tlv_status tlv__engine_model_quantize(const char *dir, const char *dst, const tlv_model_options *o,
                                      const tlv_allocator *alloc, tlv_err *err)
{
    tlv_recipe recipe;
    tlv_status st = tlv__recipe_parse(o ? o->weights : NULL, o ? o->vision_weights : NULL, &recipe, err);
    if (st) return st;
    quant_progress qp = {o};
    return tlv__model_quantize(dir, dst, &recipe, on_quant_progress, &qp, alloc, err);
}

tlv_status tlv__engine_model_load(tlv_vk_device *dev, const char *dir, const tlv_model_options *o,
                                  const tlv_allocator *alloc, tlv_engine_model **out, tlv_err *err)
{
    *out = NULL;
    tlv_engine_model *m = tlv__calloc(alloc, 1, sizeof *m);
    if (!m) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory loading %s", dir);
    m->alloc = alloc;
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    tlv_status st;
    progress_ctx pc = {o};
    tlv_recipe recipe;
    if ((st = tlv__recipe_parse(o ? o->weights : NULL, o ? o->vision_weights : NULL, &recipe, err))) goto fail;
    if ((st = tlv__tokenizer_load(dir, alloc, &m->tok, err))) goto fail;
    if ((st = tlv__model_load_recipe(dev, dir, o ? (int)o->max_context : 0, &recipe, on_progress, &pc, alloc, &m->core,
                                     err)))
        goto fail;
    for (int p = 0; p < TLV_PART_COUNT; p++) {
        const tlv_part_stats *ps = &m->core->parts[p];
        format_list(m->part_format[p], sizeof m->part_format[p], ps->matrix_bytes);
        format_list(m->part_vformat[p], sizeof m->part_vformat[p], ps->vector_bytes);
    }
    if (m->core->tied_head) snprintf(m->part_format[TLV_PART_HEAD], sizeof m->part_format[TLV_PART_HEAD], "tied");
    if ((st = tlv__template_for_config(&m->core->cfg, o ? o->chat_template : NULL, &m->tpl, err))) goto fail;

    /* Ids past the tokenizer's last token are padding rows of the embedding (MODELS.md 6.10):
     * never sample them. */
    m->n_valid_tokens = tlv__tokenizer_n_tokens(m->tok);
    if (m->n_valid_tokens > m->core->llm.vocab || m->n_valid_tokens <= 0) m->n_valid_tokens = m->core->llm.vocab;

    if ((st = tlv__image_params_from_config(&m->core->cfg, &m->image_params, err))) {
        tlv__err_prefix(err, "%s", dir);
        goto fail;
    }
    *out = m;
    return TLV_OK;
fail:
    tlv__engine_model_destroy(m);
    return st;
}
