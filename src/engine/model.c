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
    if ((st = tlv__tokenizer_load(dir, alloc, &m->tok, err))) goto fail;
    if ((st = tlv__model_load(dev, dir, o ? (int)o->max_context : 0, on_progress, &pc, alloc, &m->core, err))) goto fail;
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
