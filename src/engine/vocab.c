/* vocab.c: a checkpoint's tokenizer and chat template, without weights or a device (engine.h). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/engine.h"

void tlv__engine_vocab_destroy(tlv_engine_vocab *v)
{
    if (!v) return;
    tlv__tokenizer_destroy(v->tok);
    tlv__free(v->alloc, v);
}

tlv_status tlv__engine_vocab_open(const char *dir, const char *template_name, const tlv_allocator *alloc,
                                  tlv_engine_vocab **out, tlv_err *err)
{
    *out = NULL;
    tlv_engine_vocab *v = tlv__calloc(alloc, 1, sizeof *v);
    tlv_model_config *cfg = tlv__calloc(alloc, 1, sizeof *cfg);
    tlv_status st;
    if (!v || !cfg) {
        st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory opening %s", dir);
        goto fail;
    }
    v->alloc = alloc;
    v->image_token_id = TLV_IMAGE_TOKEN_ID;
    if ((st = tlv__tokenizer_load(dir, alloc, &v->tok, err))) goto fail;

    /* The template is what config.json says the checkpoint was trained with, or the one named. A
     * folder with only tokenizer files still tokenizes; it renders with a named template only. */
    char path[1200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/config.json", dir);
    tlv_err cerr;
    tlv__err_clear(&cerr);
    if (stat(path, &sb) == 0) {
        if (tlv__config_load(dir, cfg, &cerr) == TLV_OK) {
            v->image_token_id = cfg->image_token_index;
            if (tlv__template_for_config(cfg, template_name, &v->tpl, &cerr)) {
                /* a template asked for by name must exist; the checkpoint's own is optional */
                if (template_name) {
                    st = tlv__err_set(err, cerr.status, "%s", cerr.msg);
                    goto fail;
                }
                snprintf(v->no_template, sizeof v->no_template, "no chat template: %.480s", cerr.msg);
            }
        } else {
            snprintf(v->no_template, sizeof v->no_template, "no chat template: %.480s", cerr.msg);
        }
    } else {
        snprintf(v->no_template, sizeof v->no_template, "no chat template: %s has no config.json", dir);
    }
    if (!v->tpl && template_name) {
        if (!(v->tpl = tlv__template_find(template_name))) {
            st = tlv__err_set(err, TLV_ERR_INVALID_ARG, "unknown chat template '%s'", template_name);
            goto fail;
        }
    }
    tlv__free(alloc, cfg);
    *out = v;
    return TLV_OK;
fail:
    tlv__free(alloc, cfg);
    tlv__engine_vocab_destroy(v);
    return st;
}
