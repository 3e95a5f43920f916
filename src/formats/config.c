/* config.c: config.json of the three checkpoint generations and preprocessor_config.json
 * (config.h has the table; config_nets.c the LLM and vision parts and their defaults). */
#include "formats/config.h"

#include <stdio.h>
#include <string.h>

#include "formats/config_int.h"
#include "formats/mapfile.h"

const char *tlv__generation_name(tlv_generation g)
{
    switch (g) {
    case TLV_GEN_FACTORY: return "factory";
    case TLV_GEN_LEGACY: return "legacy";
    case TLV_GEN_HF_LLAVA: return "hf_llava";
    }
    return "?";
}

const char *tlv__llm_arch_name(tlv_llm_arch a)
{
    switch (a) {
    case TLV_ARCH_PHI: return "phi";
    case TLV_ARCH_LLAMA: return "llama";
    case TLV_ARCH_QWEN2: return "qwen2";
    case TLV_ARCH_GEMMA: return "gemma";
    case TLV_ARCH_STABLELM: return "stablelm";
    case TLV_ARCH_OPENELM: return "openelm";
    }
    return "?";
}

static int starts_with(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

/* Tower family from a hub name, as TinyLLaVA picks its VisionTower class ('siglip' before
 * 'clip': "siglip" contains no "clip", but be explicit). 0 if neither. */
static tlv_vision_arch kind_from_name(const char *name)
{
    char low[TLV_CONFIG_NAME_MAX];
    size_t i = 0;
    for (; name[i] && i < sizeof low - 1; i++) low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    low[i] = 0;
    if (strstr(low, "siglip")) return TLV_VISION_SIGLIP;
    if (strstr(low, "clip")) return TLV_VISION_CLIP;
    return (tlv_vision_arch)0;
}

static tlv_vision_arch kind_from_model_type(const char *mt)
{
    if (!strcmp(mt, "siglip_vision_model") || !strcmp(mt, "siglip")) return TLV_VISION_SIGLIP;
    if (!strcmp(mt, "clip_vision_model") || !strcmp(mt, "clip")) return TLV_VISION_CLIP;
    return (tlv_vision_arch)0;
}

static tlv_status read_connector(tlv_json_reader *r, const char *key, const char *value, struct tlv_model_config *c)
{
    if (!strcmp(value, "mlp2x_gelu")) {
        c->connector = TLV_CONNECTOR_MLP2X_GELU;
        return TLV_OK;
    }
    return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s: unsupported connector '%s' (expected mlp2x_gelu)", key, value);
}

static tlv_status read_aspect(tlv_json_reader *r, const char *value, struct tlv_model_config *c)
{
    if (!strcmp(value, "square")) c->aspect = TLV_ASPECT_SQUARE;
    else if (!strcmp(value, "pad")) c->aspect = TLV_ASPECT_PAD;
    else
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "image_aspect_ratio: unsupported '%s' (expected square or pad)",
                              value);
    return TLV_OK;
}

/* The nested vision_config: its model_type (or the hub name) picks the class. */
/* by_name: the family the hub name implies (0: none, then `fallback` when model_type is absent). */
static tlv_status read_vision_section(tlv_json_reader *r, const cJSON *vc, tlv_vision_arch by_name,
                                      tlv_vision_arch fallback, struct tlv_model_config *c)
{
    if (vc && !cJSON_IsObject(vc)) return tlv__json_fail(r, TLV_ERR_FORMAT, "vision_config: expected a JSON object");
    char mt[32] = "";
    tlv__json_str(r, vc, "vision_config", "model_type", mt, sizeof mt);
    if (r->status) return r->status;
    tlv_vision_arch kind = mt[0] ? kind_from_model_type(mt) : by_name ? by_name : fallback;
    if (!kind)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED,
                              "vision_config.model_type: unknown vision tower '%s' (expected siglip_vision_model or clip_vision_model)",
                              mt[0] ? mt : c->vision_name);
    if (by_name && kind != by_name)
        return tlv__json_fail(r, TLV_ERR_FORMAT, "vision_config.model_type '%s' disagrees with vision tower name '%s'", mt,
                              c->vision_name);
    if (!vc) {
        tlv__config_vision_assume(kind, &c->vision);
        return TLV_OK;
    }
    return tlv__config_read_vision(r, vc, "vision_config", kind, &c->vision);
}

static tlv_status read_factory(tlv_json_reader *r, const cJSON *o, struct tlv_model_config *c)
{
    c->generation = TLV_GEN_FACTORY;
    /* TinyLlavaConfig defaults ([F] tinyllava/model/configuration_tinyllava.py) */
    char connector[32] = "", aspect[16] = "square", mt[32] = "";
    c->feature_layer = -2;
    snprintf(c->select_strategy, sizeof c->select_strategy, "patch");
    c->image_token_index = -200;
    c->tokenizer_max_length = 2048;
    tlv__json_str(r, o, NULL, "llm_model_name_or_path", c->llm_name, sizeof c->llm_name);
    tlv__json_str(r, o, NULL, "vision_model_name_or_path", c->vision_name, sizeof c->vision_name);
    if (!tlv__json_str(r, o, NULL, "tokenizer_name_or_path", c->tokenizer_name, sizeof c->tokenizer_name))
        memcpy(c->tokenizer_name, c->llm_name, sizeof c->tokenizer_name);
    tlv__json_str(r, o, NULL, "connector_type", connector, sizeof connector);
    tlv__json_str(r, o, NULL, "image_aspect_ratio", aspect, sizeof aspect);
    tlv__json_int(r, o, NULL, "vision_feature_layer", &c->feature_layer);
    tlv__json_str(r, o, NULL, "vision_feature_select_strategy", c->select_strategy, sizeof c->select_strategy);
    tlv__json_int(r, o, NULL, "image_token_index", &c->image_token_index);
    tlv__json_int(r, o, NULL, "tokenizer_model_max_length", &c->tokenizer_max_length);
    if (r->status) return r->status;
    if (!connector[0]) return tlv__json_fail(r, TLV_ERR_FORMAT, "connector_type: missing");
    if (read_connector(r, "connector_type", connector, c) || read_aspect(r, aspect, c)) return r->status;
    if (!strcmp(c->select_strategy, "patch")) c->drop_first_token = 1; /* even for SigLIP: MODELS.md 6.1 */
    else if (strcmp(c->select_strategy, "cls_patch"))
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED,
                              "vision_feature_select_strategy: unsupported '%s' (expected patch or cls_patch)",
                              c->select_strategy);

    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(o, "text_config");
    if (!cJSON_IsObject(tc))
        return tlv__json_fail(r, TLV_ERR_FORMAT,
                              "text_config: missing (TinyLLaVA would fetch it from the hub as '%s'; this runtime needs it in the file)",
                              c->llm_name);
    if (!tlv__json_str(r, tc, "text_config", "model_type", mt, sizeof mt) && !r->status)
        return tlv__json_fail(r, TLV_ERR_FORMAT, "text_config.model_type: missing");
    if (r->status || tlv__config_read_llm(r, tc, "text_config", mt, &c->llm)) return r->status;

    tlv_vision_arch by_name = kind_from_name(c->vision_name);
    if (read_vision_section(r, cJSON_GetObjectItemCaseSensitive(o, "vision_config"), by_name, 0, c)) return r->status;

    int32_t h = c->llm.hidden, vh = c->vision.hidden;
    if (tlv__json_int(r, o, NULL, "hidden_size", &h) && h != c->llm.hidden)
        return tlv__json_fail(r, TLV_ERR_FORMAT, "hidden_size: %d disagrees with text_config hidden size %d", h, c->llm.hidden);
    if (tlv__json_int(r, o, NULL, "vision_hidden_size", &vh) && vh != c->vision.hidden)
        return tlv__json_fail(r, TLV_ERR_FORMAT, "vision_hidden_size: %d disagrees with vision_config.hidden_size %d", vh,
                              c->vision.hidden);
    c->prefix_llm = "language_model.";
    c->prefix_vision = "vision_tower._vision_tower.vision_model.";
    c->prefix_connector_0 = "connector._connector.0.";
    c->prefix_connector_2 = "connector._connector.2.";
    return r->status;
}

/* TinyLLaVABench: LLaVA-style config = the LLM's own config class plus mm_* fields. */
static tlv_status read_legacy(tlv_json_reader *r, const cJSON *o, const char *model_type, struct tlv_model_config *c)
{
    c->generation = TLV_GEN_LEGACY;
    const char *llm_type = NULL;
    if (strstr(model_type, "phi")) llm_type = "phi";                   /* tiny_llava_phi, llava_phi */
    else if (strstr(model_type, "stablelm")) llm_type = "stablelm_epoch"; /* tiny_llava_stablelm */
    else if (!strcmp(model_type, "tiny_llava") || strstr(model_type, "llama")) llm_type = "llama";
    if (!llm_type)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED,
                              "model_type: unknown TinyLLaVABench model_type '%s' (expected tiny_llava_phi, tiny_llava_stablelm or tiny_llava)",
                              model_type);
    if (tlv__config_read_llm(r, o, NULL, llm_type, &c->llm)) return r->status;
    char projector[32] = "linear", aspect[16] = "square";
    int start_end = 0;
    c->feature_layer = -1;
    snprintf(c->select_strategy, sizeof c->select_strategy, "patch");
    c->image_token_index = -200;
    c->tokenizer_max_length = 0;
    if (!tlv__json_str(r, o, NULL, "mm_vision_tower", c->vision_name, sizeof c->vision_name) && !r->status)
        return tlv__json_fail(r, TLV_ERR_FORMAT, "mm_vision_tower: missing");
    tlv__json_str(r, o, NULL, "_name_or_path", c->llm_name, sizeof c->llm_name);
    tlv__json_str(r, o, NULL, "mm_projector_type", projector, sizeof projector); /* LLaVA's default: linear */
    tlv__json_int(r, o, NULL, "mm_vision_select_layer", &c->feature_layer);
    tlv__json_str(r, o, NULL, "mm_vision_select_feature", c->select_strategy, sizeof c->select_strategy);
    tlv__json_str(r, o, NULL, "image_aspect_ratio", aspect, sizeof aspect);
    tlv__json_bool(r, o, NULL, "mm_use_im_start_end", &start_end);
    tlv__json_int(r, o, NULL, "tokenizer_model_max_length", &c->tokenizer_max_length);
    if (r->status) return r->status;
    if (read_connector(r, "mm_projector_type", projector, c) || read_aspect(r, aspect, c)) return r->status;
    if (start_end) return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "mm_use_im_start_end: true is not supported");
    tlv_vision_arch kind = kind_from_name(c->vision_name);
    if (!kind)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "mm_vision_tower: '%s' names neither a SigLIP nor a CLIP tower",
                              c->vision_name);
    if (read_vision_section(r, cJSON_GetObjectItemCaseSensitive(o, "vision_config"), kind, 0, c)) return r->status;
    int32_t mh = c->vision.hidden;
    if (tlv__json_int(r, o, NULL, "mm_hidden_size", &mh) && mh != c->vision.hidden) {
        if (!c->vision.sizes_assumed)
            return tlv__json_fail(r, TLV_ERR_FORMAT, "mm_hidden_size: %d disagrees with the vision tower's hidden size %d",
                                  mh, c->vision.hidden);
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED,
                              "mm_hidden_size: %d, but '%s' is assumed to be the published tower of width %d; add its vision_config",
                              mh, c->vision_name, c->vision.hidden);
    }
    if (strcmp(c->select_strategy, "patch") && strcmp(c->select_strategy, "cls_patch"))
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "mm_vision_select_feature: unsupported '%s' (expected patch or cls_patch)",
                              c->select_strategy);
    /* [B] SigLipVisionTower keeps all 729 tokens whatever the strategy; CLIP's 'patch' drops the
     * class token (MODELS.md 3.2). */
    c->drop_first_token = kind == TLV_VISION_CLIP && !strcmp(c->select_strategy, "patch");
    c->prefix_llm = "";
    c->prefix_vision = "model.vision_tower.vision_tower.vision_model.";
    c->prefix_connector_0 = "model.mm_projector.0.";
    c->prefix_connector_2 = "model.mm_projector.2.";
    return TLV_OK;
}

/* transformers LlavaConfig(vision_config=None, text_config=None, image_token_index=32000,
 * projector_hidden_act="gelu", vision_feature_select_strategy="default", vision_feature_layer=-2);
 * text_config without model_type is llama; no vision_config is
 * CLIPVisionConfig(intermediate_size=4096, hidden_size=1024, patch_size=14, image_size=336,
 * num_hidden_layers=24, num_attention_heads=16). */
static tlv_status read_hf_llava(tlv_json_reader *r, const cJSON *o, struct tlv_model_config *c)
{
    c->generation = TLV_GEN_HF_LLAVA;
    char act[24] = "gelu", mt[32] = "llama";
    c->feature_layer = -2;
    snprintf(c->select_strategy, sizeof c->select_strategy, "default");
    c->image_token_index = 32000;
    c->aspect = TLV_ASPECT_SQUARE; /* the HF processor never pads */
    tlv__json_str(r, o, NULL, "projector_hidden_act", act, sizeof act);
    tlv__json_int(r, o, NULL, "vision_feature_layer", &c->feature_layer);
    tlv__json_str(r, o, NULL, "vision_feature_select_strategy", c->select_strategy, sizeof c->select_strategy);
    tlv__json_int(r, o, NULL, "image_token_index", &c->image_token_index);
    const cJSON *tc = cJSON_GetObjectItemCaseSensitive(o, "text_config");
    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(o, "vision_config");
    if (tc && !cJSON_IsObject(tc)) return tlv__json_fail(r, TLV_ERR_FORMAT, "text_config: expected a JSON object");
    tlv__json_str(r, tc, "text_config", "model_type", mt, sizeof mt);
    tlv__json_str(r, tc, "text_config", "_name_or_path", c->llm_name, sizeof c->llm_name);
    memcpy(c->tokenizer_name, c->llm_name, sizeof c->tokenizer_name);
    if (r->status) return r->status;
    if (strcmp(act, "gelu"))
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "projector_hidden_act: unsupported '%s' (expected gelu)", act);
    c->connector = TLV_CONNECTOR_MLP2X_GELU;
    if (!strcmp(c->select_strategy, "default")) c->drop_first_token = 1;
    else if (strcmp(c->select_strategy, "full"))
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED,
                              "vision_feature_select_strategy: unsupported '%s' (expected default or full)", c->select_strategy);
    if (tlv__config_read_llm(r, tc, tc ? "text_config" : NULL, mt, &c->llm)) return r->status;
    if (vc) {
        tlv__json_str(r, vc, "vision_config", "_name_or_path", c->vision_name, sizeof c->vision_name);
        /* LlavaConfig: a vision_config without model_type is clip_vision_model */
        if (read_vision_section(r, vc, (tlv_vision_arch)0, TLV_VISION_CLIP, c)) return r->status;
    } else {
        tlv__config_vision_assume(TLV_VISION_CLIP, &c->vision);
        c->vision.sizes_assumed = 0; /* these are LlavaConfig's documented defaults, not a guess */
    }
    int32_t vocab = c->llm.vocab;
    if (tlv__json_int(r, o, NULL, "vocab_size", &vocab) && vocab != c->llm.vocab)
        return tlv__json_fail(r, TLV_ERR_FORMAT, "vocab_size: %d disagrees with text_config vocab_size %d", vocab,
                              c->llm.vocab);
    c->prefix_llm = "language_model.";
    c->prefix_vision = "vision_tower.vision_model.";
    c->prefix_connector_0 = "multi_modal_projector.linear_1.";
    c->prefix_connector_2 = "multi_modal_projector.linear_2.";
    return r->status;
}

/* ---------------------------------------------------------------- preprocessor_config.json */

static void preprocess_defaults(const struct tlv_vision_config *v, struct tlv_preprocess_config *p)
{
    static const float clip_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    static const float clip_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    memset(p, 0, sizeof *p);
    p->do_resize = p->do_rescale = p->do_normalize = 1;
    p->rescale_factor = 1.0 / 255.0;
    p->resample = 3; /* PIL.Image.BICUBIC */
    if (v->arch == TLV_VISION_SIGLIP) {
        /* SiglipImageProcessor of google/siglip-so400m-patch14-384: resize to SxS, mean=std=0.5 */
        for (int i = 0; i < 3; i++) p->mean[i] = p->std[i] = 0.5f;
        p->resize = TLV_RESIZE_EXACT;
        p->resize_h = p->resize_w = v->image_size;
    } else {
        /* CLIPImageProcessor of openai/clip-vit-large-patch14-336: shortest edge S, crop SxS */
        memcpy(p->mean, clip_mean, sizeof p->mean);
        memcpy(p->std, clip_std, sizeof p->std);
        p->resize = TLV_RESIZE_SHORTEST_EDGE;
        p->shortest_edge = v->image_size;
        p->do_center_crop = 1;
        p->crop_h = p->crop_w = v->image_size;
    }
}

static void read_triple(tlv_json_reader *r, const cJSON *o, const char *key, float *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v) || r->status) return;
    if (cJSON_IsNumber(v)) {
        out[0] = out[1] = out[2] = (float)v->valuedouble;
        return;
    }
    const cJSON *e = cJSON_IsArray(v) && cJSON_GetArraySize(v) == 3 ? v->child : NULL;
    if (e && cJSON_IsNumber(e) && cJSON_IsNumber(e->next) && cJSON_IsNumber(e->next->next)) {
        for (int i = 0; i < 3; i++, e = e->next) out[i] = (float)e->valuedouble;
        return;
    }
    char found[48];
    tlv__json_describe(v, found, sizeof found);
    tlv__json_fail(r, TLV_ERR_FORMAT, "%s: expected 3 numbers, found %s", key, found);
}

/* "size"/"crop_size": {"height": h, "width": w}, {"shortest_edge": s} or a bare integer. Returns
 * 1 for h x w, 2 for a shortest edge, 0 when absent. */
static int read_size(tlv_json_reader *r, const cJSON *o, const char *key, int32_t *h, int32_t *w, int32_t *s)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v) || r->status) return 0;
    if (cJSON_IsNumber(v)) {
        int32_t n = 0;
        tlv__json_int(r, o, NULL, key, &n);
        *h = *w = *s = n;
        return -1; /* a bare number: meaning depends on the processor */
    }
    if (cJSON_IsObject(v)) {
        if (tlv__json_int(r, v, key, "shortest_edge", s)) return 2;
        int hh = tlv__json_int(r, v, key, "height", h), ww = tlv__json_int(r, v, key, "width", w);
        if (hh && ww) return 1;
    }
    if (!r->status) {
        char found[48];
        tlv__json_describe(v, found, sizeof found);
        tlv__json_fail(r, TLV_ERR_FORMAT, "%s: expected {height, width} or {shortest_edge}, found %s", key, found);
    }
    return 0;
}

/* o: preprocessor_config.json parsed (taken and freed), or NULL for the defaults; path names it
 * in messages. */
static tlv_status read_preprocessor(const char *path, cJSON *o, struct tlv_model_config *c, tlv_err *err)
{
    struct tlv_preprocess_config *p = &c->preprocess;
    preprocess_defaults(&c->vision, p);
    if (!o) return TLV_OK;
    tlv_json_reader rr = {path, err, TLV_OK}, *r = &rr;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return tlv__json_fail(r, TLV_ERR_FORMAT, "not a JSON object");
    }
    p->from_file = 1;
    read_triple(r, o, "image_mean", p->mean);
    read_triple(r, o, "image_std", p->std);
    tlv__json_bool(r, o, NULL, "do_resize", &p->do_resize);
    tlv__json_bool(r, o, NULL, "do_rescale", &p->do_rescale);
    tlv__json_bool(r, o, NULL, "do_normalize", &p->do_normalize);
    tlv__json_bool(r, o, NULL, "do_center_crop", &p->do_center_crop);
    tlv__json_double(r, o, NULL, "rescale_factor", &p->rescale_factor);
    tlv__json_int(r, o, NULL, "resample", &p->resample);
    int32_t h = 0, w = 0, s = 0;
    int k = read_size(r, o, "size", &h, &w, &s);
    if (k == -1) k = c->vision.arch == TLV_VISION_CLIP ? 2 : 1; /* CLIP: int = shortest edge */
    if (k == 1) {
        p->resize = TLV_RESIZE_EXACT;
        p->resize_h = h;
        p->resize_w = w;
    } else if (k == 2) {
        p->resize = TLV_RESIZE_SHORTEST_EDGE;
        p->shortest_edge = s;
    }
    h = w = s = 0;
    if (read_size(r, o, "crop_size", &h, &w, &s) == 2) h = w = s;
    if (h && w) {
        p->crop_h = h;
        p->crop_w = w;
    }
    cJSON_Delete(o);
    if (r->status) return r->status;
    for (int i = 0; i < 3; i++)
        if (!(p->std[i] > 0.0f)) return tlv__json_fail(r, TLV_ERR_FORMAT, "image_std[%d]: expected > 0, found %g", i, p->std[i]);
    /* What reaches the patch embedding must be image_size square. */
    int32_t out_h = p->resize == TLV_RESIZE_EXACT ? p->resize_h : p->shortest_edge, out_w = p->resize == TLV_RESIZE_EXACT ? p->resize_w : p->shortest_edge;
    if (p->do_center_crop) out_h = p->crop_h, out_w = p->crop_w;
    if (!p->do_resize) return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "do_resize: false is not supported");
    if (!c->vision.sizes_assumed && (out_h != c->vision.image_size || out_w != c->vision.image_size))
        return tlv__json_fail(r, TLV_ERR_FORMAT, "the processed image is %dx%d, expected vision image_size %dx%d", out_w,
                              out_h, c->vision.image_size, c->vision.image_size);
    if (p->resize == TLV_RESIZE_SHORTEST_EDGE && !p->do_center_crop)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "size.shortest_edge without do_center_crop is not supported");
    return TLV_OK;
}

/* ---------------------------------------------------------------- entry point */

static tlv_status finish_vision(tlv_json_reader *r, struct tlv_model_config *c)
{
    int32_t n = c->vision.n_layer, fl = c->feature_layer;
    if (fl < -(n + 1) || fl > n)
        return tlv__json_fail(r, TLV_ERR_FORMAT,
                              "%s: %d out of range for a %d-layer vision tower (expected %d..%d)",
                              c->generation == TLV_GEN_LEGACY ? "mm_vision_select_layer" : "vision_feature_layer", fl, n,
                              -(n + 1), n);
    c->vision_layers_run = fl < 0 ? n + 1 + fl : fl;
    /* [B] SigLipVisionTower deletes the last encoder layer and takes hidden_states[-1], whatever
     * mm_vision_select_layer says: the same tensor as -2 of the full tower (MODELS.md 2.2). */
    if (c->generation == TLV_GEN_LEGACY && c->vision.arch == TLV_VISION_SIGLIP) c->vision_layers_run = n - 1;
    c->n_image_tokens = c->vision.grid * c->vision.grid + c->vision.has_class_token - c->drop_first_token;
    if (c->n_image_tokens <= 0)
        return tlv__json_fail(r, TLV_ERR_FORMAT, "the vision tower yields no image tokens (grid %d)", c->vision.grid);
    return TLV_OK;
}

/* config.json's text (len bytes) -> c, without the preprocessor (path names it in messages). */
static tlv_status parse_config(const char *path, const char *text, size_t len, struct tlv_model_config *c, tlv_err *err)
{
    memset(c, 0, sizeof *c);
    cJSON *o;
    tlv_status st = tlv__json_parse(path, text, len, &o, err);
    if (st) return st;
    tlv_json_reader r = {path, err, TLV_OK};
    char mt[32] = "";
    if (!cJSON_IsObject(o)) {
        tlv__json_fail(&r, TLV_ERR_FORMAT, "not a JSON object");
    } else if (!tlv__json_str(&r, o, NULL, "model_type", mt, sizeof mt) && !r.status) {
        tlv__json_fail(&r, TLV_ERR_FORMAT, "model_type: missing");
    } else if (r.status) {
        /* wrong type, already reported */
    } else if (!strcmp(mt, "tinyllava")) {
        read_factory(&r, o, c);
    } else if (!strcmp(mt, "llava")) {
        read_hf_llava(&r, o, c);
    } else if (starts_with(mt, "tiny_llava") || starts_with(mt, "llava_") ||
               cJSON_GetObjectItemCaseSensitive(o, "mm_vision_tower")) {
        read_legacy(&r, o, mt, c);
    } else {
        tlv__json_fail(&r, TLV_ERR_UNSUPPORTED,
                       "model_type: unknown model_type '%s' (expected tinyllava, llava, or TinyLLaVABench's tiny_llava_*)", mt);
    }
    snprintf(c->model_type, sizeof c->model_type, "%s", mt);
    if (!r.status) finish_vision(&r, c);
    cJSON_Delete(o);
    return r.status;
}

tlv_status tlv__config_parse(const char *name, const char *config_json, const char *preprocessor_json,
                             struct tlv_model_config *c, tlv_err *err)
{
    char path[4096], ppath[4096];
    if (!name) name = "(text)";
    int n1 = snprintf(path, sizeof path, "%s/config.json", name);
    int n2 = snprintf(ppath, sizeof ppath, "%s/preprocessor_config.json", name);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof ppath)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "%s: name too long", name);
    if (!config_json) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "%s: no text (NULL)", path);
    tlv_status st = parse_config(path, config_json, strlen(config_json), c, err);
    if (st) return st;
    cJSON *po = NULL;
    if (preprocessor_json && (st = tlv__json_parse(ppath, preprocessor_json, strlen(preprocessor_json), &po, err)))
        return st;
    return read_preprocessor(ppath, po, c, err);
}

tlv_status tlv__config_load(const char *dir, struct tlv_model_config *c, tlv_err *err)
{
    memset(c, 0, sizeof *c);
    char path[4096], ppath[4096];
    int n1 = snprintf(path, sizeof path, "%s/config.json", dir);
    int n2 = snprintf(ppath, sizeof ppath, "%s/preprocessor_config.json", dir);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof ppath)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "%s: path too long", dir);
    tlv_mapfile m;
    tlv_status st = tlv__mapfile_open(path, &m, err);
    if (st) return st;
    st = parse_config(path, (const char *)m.data, (size_t)m.size, c, err);
    tlv__mapfile_close(&m);
    if (st) return st;
    cJSON *po = NULL;
    if (tlv__file_exists(ppath) && (st = tlv__json_load_file(ppath, &po, err))) return st;
    return read_preprocessor(ppath, po, c, err);
}
