/* config.json parsing: the four fixtures (every effective value case.json lists) and hand-written
 * configs of the other generations and architectures (tests/formats/data/cfg_*, expected values
 * from MODELS.md and, for OpenELM, from a Python port of OpenELMConfig in gen/). Every key of an
 * expected file is compared; an unknown key fails the test, so nothing is skipped silently. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "formats/config.h"

#include <dirent.h>

/* tests/models cases (written by another generator, with descriptive keys of their own): keys
 * this test does not know are skipped there, compared everywhere else. */
static int g_lenient;
static int g_legacy; /* legacy and hf_llava configs do not name both hubs */

static cJSON *load_json(const char *path)
{
    size_t n;
    char *s = tlv_test_read_file(path, &n);
    cJSON *j = s ? cJSON_ParseWithLength(s, n) : NULL;
    free(s);
    return j;
}

#define EXPECT_INT(field) do { CHECK(cJSON_IsNumber(v)); CHECK_EQ_INT((field), v->valuedouble); } while (0)
#define EXPECT_BOOL(field) do { CHECK(cJSON_IsBool(v)); CHECK_EQ_INT(!!(field), cJSON_IsTrue(v)); } while (0)
#define EXPECT_DBL(field) do { CHECK(cJSON_IsNumber(v)); CHECK_NEAR((field), v->valuedouble, fabs(v->valuedouble) * 1e-12); } while (0)
#define EXPECT_STR(field) do { CHECK(cJSON_IsString(v)); CHECK_EQ_STR((field), v->valuestring); } while (0)

static void expect_int_list(const cJSON *v, const int32_t *a, int n)
{
    CHECK_EQ_INT(cJSON_GetArraySize(v), n);
    int i = 0;
    for (const cJSON *e = v->child; e && i < n; e = e->next, i++) CHECK_EQ_INT(a[i], e->valuedouble);
}

static void check_llm(const struct tlv_model_config *c, const cJSON *llm, const char *name)
{
    const struct tlv_llm_config *l = &c->llm;
    for (const cJSON *v = llm->child; v; v = v->next) {
        const char *k = v->string;
        if (!strcmp(k, "arch")) EXPECT_STR(tlv__llm_arch_name(l->arch));
        else if (!strcmp(k, "hub_name")) { if (!g_legacy) EXPECT_STR(c->llm_name); } /* legacy configs name no LLM */
        else if (!strcmp(k, "model_dim")) EXPECT_INT(l->hidden);
        else if (!strcmp(k, "num_transformer_layers")) EXPECT_INT(l->n_layer);
        else if (!strcmp(k, "num_query_heads")) expect_int_list(v, l->layer_n_head, l->n_layer);
        else if (!strcmp(k, "num_kv_heads")) expect_int_list(v, l->layer_n_kv_head, l->n_layer);
        else if (!strcmp(k, "ffn_intermediate_dims")) expect_int_list(v, l->layer_intermediate, l->n_layer);
        else if (!strcmp(k, "rope_freq_constant")) EXPECT_DBL(l->rope_theta);
        else if (!strcmp(k, "activation_used")) EXPECT_STR(l->act_name);
        else if (!strcmp(k, "normalize_qk_projections")) EXPECT_BOOL(l->qk_norm);
        else if (!strcmp(k, "pad_token_id")) EXPECT_INT(l->pad_id);
        else if (!strcmp(k, "hidden_size")) EXPECT_INT(l->hidden);
        else if (!strcmp(k, "num_attention_heads")) EXPECT_INT(l->n_head);
        else if (!strcmp(k, "num_key_value_heads")) EXPECT_INT(l->n_kv_head);
        else if (!strcmp(k, "head_dim")) EXPECT_INT(l->head_dim);
        else if (!strcmp(k, "intermediate_size")) EXPECT_INT(l->intermediate);
        else if (!strcmp(k, "num_hidden_layers")) EXPECT_INT(l->n_layer);
        else if (!strcmp(k, "vocab_size")) EXPECT_INT(l->vocab);
        else if (!strcmp(k, "tie_word_embeddings")) EXPECT_BOOL(l->tie_embeddings);
        else if (!strcmp(k, "hidden_act")) EXPECT_STR(l->act_name);
        else if (!strcmp(k, "max_position_embeddings")) EXPECT_INT(l->max_positions);
        else if (!strcmp(k, "rope_theta")) EXPECT_DBL(l->rope_theta);
        else if (!strcmp(k, "rope_scaling")) CHECK(cJSON_IsNull(v)); /* non-null is refused on load */
        else if (!strcmp(k, "bos_token_id")) EXPECT_INT(l->bos_id);
        else if (!strcmp(k, "eos_token_id")) EXPECT_INT(l->eos_id);
        else if (!strcmp(k, "layer_norm_eps")) { EXPECT_DBL(l->norm_eps); CHECK_EQ_INT(l->norm, TLV_CFG_NORM_LAYER); }
        else if (!strcmp(k, "rms_norm_eps")) { EXPECT_DBL(l->norm_eps); CHECK(l->norm == TLV_CFG_NORM_RMS || l->norm == TLV_CFG_NORM_RMS_1P); }
        else if (!strcmp(k, "partial_rotary_factor")) EXPECT_DBL(l->partial_rotary_factor);
        else if (!strcmp(k, "rotary_dim")) EXPECT_INT(l->rotary_dim);
        else if (!strcmp(k, "qk_layernorm") || !strcmp(k, "qk_norm")) EXPECT_BOOL(l->qk_norm);
        else if (!strcmp(k, "qkv_bias")) EXPECT_BOOL(l->qkv_bias);
        else if (!strcmp(k, "attention_bias")) { EXPECT_BOOL(l->qkv_bias); EXPECT_BOOL(l->o_bias); }
        else if (!strcmp(k, "use_sliding_window")) EXPECT_BOOL(l->sliding_window != 0);
        else if (!strcmp(k, "scale_embeddings")) EXPECT_BOOL(l->scale_embeddings);
        else if (!strcmp(k, "layer_num_query_heads")) expect_int_list(v, l->layer_n_head, l->n_layer);
        else if (!strcmp(k, "layer_num_kv_heads")) expect_int_list(v, l->layer_n_kv_head, l->n_layer);
        else if (!strcmp(k, "layer_intermediate")) expect_int_list(v, l->layer_intermediate, l->n_layer);
        else if (!strcmp(k, "text_config_keys_omitted")) continue;
        else if (!g_lenient) { CHECK(!"unknown llm key"); fprintf(stderr, "%s: llm key '%s'\n", name, k); }
    }
    /* uniform models repeat their sizes per layer */
    if (l->arch != TLV_ARCH_OPENELM)
        for (int i = 0; i < l->n_layer; i++)
            CHECK(l->layer_n_head[i] == l->n_head && l->layer_n_kv_head[i] == l->n_kv_head && l->layer_intermediate[i] == l->intermediate);
}

static void check_vision(const struct tlv_model_config *c, const cJSON *vis, const char *name)
{
    const struct tlv_vision_config *vc = &c->vision;
    for (const cJSON *v = vis->child; v; v = v->next) {
        const char *k = v->string;
        if (!strcmp(k, "tower")) EXPECT_STR(vc->arch == TLV_VISION_SIGLIP ? "siglip" : "clip");
        else if (!strcmp(k, "hub_name")) { if (!g_legacy) EXPECT_STR(c->vision_name); }
        else if (!strcmp(k, "image_size")) EXPECT_INT(vc->image_size);
        else if (!strcmp(k, "patch_size")) EXPECT_INT(vc->patch_size);
        else if (!strcmp(k, "patch_grid")) EXPECT_INT(vc->grid);
        else if (!strcmp(k, "pixels_ignored_at_right_and_bottom")) EXPECT_INT(vc->image_size - vc->grid * vc->patch_size);
        else if (!strcmp(k, "hidden_size")) EXPECT_INT(vc->hidden);
        else if (!strcmp(k, "num_attention_heads")) EXPECT_INT(vc->n_head);
        else if (!strcmp(k, "intermediate_size")) EXPECT_INT(vc->intermediate);
        else if (!strcmp(k, "num_hidden_layers")) EXPECT_INT(vc->n_layer);
        else if (!strcmp(k, "hidden_act")) EXPECT_STR(vc->act_name);
        else if (!strcmp(k, "layer_norm_eps")) EXPECT_DBL(vc->norm_eps);
        else if (!strcmp(k, "num_channels")) EXPECT_INT(vc->n_channels);
        else if (!strcmp(k, "sizes_assumed")) EXPECT_BOOL(vc->sizes_assumed);
        else if (!strcmp(k, "vision_config_keys_omitted")) continue;
        else if (!g_lenient) { CHECK(!"unknown vision key"); fprintf(stderr, "%s: vision key '%s'\n", name, k); }
    }
    CHECK_EQ_INT(vc->head_dim * vc->n_head, vc->hidden);
    CHECK_EQ_INT(vc->n_positions, vc->grid * vc->grid + (vc->arch == TLV_VISION_CLIP));
}

static void check_preprocess(const struct tlv_preprocess_config *p, const cJSON *pp, const char *name)
{
    for (const cJSON *v = pp->child; v; v = v->next) {
        const char *k = v->string;
        if (!strcmp(k, "from_file")) EXPECT_BOOL(p->from_file);
        else if (!strcmp(k, "mean") || !strcmp(k, "std")) {
            const float *a = k[0] == 'm' ? p->mean : p->std;
            int i = 0;
            for (const cJSON *e = v->child; e && i < 3; e = e->next, i++) CHECK_NEAR(a[i], e->valuedouble, 1e-7);
            CHECK_EQ_INT(i, 3);
        } else if (!strcmp(k, "resize")) EXPECT_STR(p->resize == TLV_RESIZE_EXACT ? "exact" : "shortest_edge");
        else if (!strcmp(k, "size")) {
            if (cJSON_IsArray(v)) {
                CHECK_EQ_INT(p->resize_h, v->child->valuedouble);
                CHECK_EQ_INT(p->resize_w, v->child->next->valuedouble);
            } else EXPECT_INT(p->shortest_edge);
        } else if (!strcmp(k, "center_crop")) EXPECT_BOOL(p->do_center_crop);
        else if (!strcmp(k, "crop")) {
            CHECK_EQ_INT(p->crop_h, v->child->valuedouble);
            CHECK_EQ_INT(p->crop_w, v->child->next->valuedouble);
        } else { CHECK(!"unknown preprocess key"); fprintf(stderr, "%s: preprocess key '%s'\n", name, k); }
    }
    CHECK_EQ_INT(p->resample, 3);
    CHECK_NEAR(p->rescale_factor, 1.0 / 255.0, 1e-12);
    CHECK(p->do_resize && p->do_rescale && p->do_normalize);
}

/* Keys of case.json that describe the request, not the config. */
static int request_key(const char *k)
{
    static const char *skip[] = {"name", "model", "image", "image_file", "prompt", "turns", "prompt_note", "conv_mode",
                                 "template", "max_new_tokens", "greedy", "weights_dtype", "sequence_length",
                                 "min_margin_top1_top2", "bfloat16_check", "random_init", "source", "layout",
                                 "tokenizer", "notes"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (!strcmp(k, skip[i])) return 1;
    return 0;
}

static void check_top(const struct tlv_model_config *c, const cJSON *exp, const char *name)
{
    for (const cJSON *v = exp->child; v; v = v->next) {
        const char *k = v->string;
        if (request_key(k)) continue;
        if (!strcmp(k, "llm")) check_llm(c, v, name);
        else if (!strcmp(k, "vision")) check_vision(c, v, name);
        else if (!strcmp(k, "preprocess")) check_preprocess(&c->preprocess, v, name);
        else if (!strcmp(k, "generation")) EXPECT_STR(tlv__generation_name(c->generation));
        else if (!strcmp(k, "image_aspect_ratio")) {
            if (cJSON_IsString(v) && !strcmp(v->valuestring, "none")) CHECK_EQ_INT(c->aspect, TLV_ASPECT_SQUARE); /* no padding */
            else EXPECT_STR(c->aspect == TLV_ASPECT_SQUARE ? "square" : "pad");
        }
        else if (!strcmp(k, "vision_feature_layer")) EXPECT_INT(c->feature_layer);
        else if (!strcmp(k, "vision_feature_select_strategy")) EXPECT_STR(c->select_strategy);
        else if (!strcmp(k, "connector")) EXPECT_STR(c->connector == TLV_CONNECTOR_MLP2X_GELU ? "mlp2x_gelu" : "?");
        else if (!strcmp(k, "num_image_tokens")) EXPECT_INT(c->n_image_tokens);
        else if (!strcmp(k, "vision_layers_run")) EXPECT_INT(c->vision_layers_run);
        else if (!strcmp(k, "image_token_index")) EXPECT_INT(c->image_token_index);
        else if (!strcmp(k, "tokenizer_model_max_length")) EXPECT_INT(c->tokenizer_max_length);
        else if (!strcmp(k, "prefix_llm")) EXPECT_STR(c->prefix_llm);
        else if (!strcmp(k, "prefix_vision")) EXPECT_STR(c->prefix_vision);
        else if (!strcmp(k, "prefix_connector_0")) EXPECT_STR(c->prefix_connector_0);
        else if (!strcmp(k, "prefix_connector_2")) EXPECT_STR(c->prefix_connector_2);
        else if (!g_lenient) { CHECK(!"unknown key"); fprintf(stderr, "%s: key '%s'\n", name, k); }
    }
}

static int check_dir_at(const char *dir, const char *name);

static int check_dir(const char *name)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/formats/data/%s", TLV_TEST_DATA, name);
    return check_dir_at(dir, name);
}

/* Every tests/models/<case> with a case.json: its model/config.json against the case's values. */
static void check_models_cases(void)
{
    DIR *d = opendir(TLV_TEST_DATA "/models");
    if (!d) {
        printf("tests/models not found: skipped\n");
        return;
    }
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char caseml[1200], dir[1200];
        snprintf(caseml, sizeof caseml, "%s/models/%s/case.json", TLV_TEST_DATA, e->d_name);
        cJSON *cj = e->d_name[0] != '.' ? load_json(caseml) : NULL;
        if (!cj) continue;
        const cJSON *layout = cJSON_GetObjectItem(cj, "layout");
        g_lenient = 1;
        g_legacy = cJSON_IsString(layout) && strcmp(layout->valuestring, "factory"); /* hub names inferred by the generator */
        snprintf(dir, sizeof dir, "%s/models/%s/model", TLV_TEST_DATA, e->d_name);
        struct tlv_model_config *c = calloc(1, sizeof *c);
        tlv_err err;
        tlv_status st = tlv__config_load(dir, c, &err);
        CHECK_EQ_INT(st, TLV_OK);
        if (st) fprintf(stderr, "%s: %s\n", e->d_name, err.msg);
        else {
            int before = tlv_test_failures;
            check_top(c, cj, e->d_name);
            if (cJSON_IsString(layout)) CHECK_EQ_STR(tlv__generation_name(c->generation), layout->valuestring);
            if (tlv_test_failures != before) fprintf(stderr, "  (in %s)\n", caseml);
        }
        free(c);
        cJSON_Delete(cj);
        g_lenient = g_legacy = 0;
        n++;
    }
    closedir(d);
    printf("%d tests/models cases\n", n);
}

static int check_dir_at(const char *dir, const char *name)
{
    char path[1100];
    struct tlv_model_config *c = calloc(1, sizeof *c);
    tlv_err err;
    tlv_status st = tlv__config_load(dir, c, &err);
    CHECK_EQ_INT(st, TLV_OK);
    if (st) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        free(c);
        return 0;
    }
    /* the same from text in memory (tlv__config_parse): the same record, byte for byte */
    size_t len = 0, plen = 0;
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *text = tlv_test_read_file(path, &len);
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    char *ptext = tlv_test_read_file(path, &plen);
    struct tlv_model_config *t = calloc(1, sizeof *t);
    CHECK(text != NULL && t != NULL);
    if (text && t) {
        char *z = realloc(text, len + 1), *pz = ptext ? realloc(ptext, plen + 1) : NULL;
        if (z) text = z, text[len] = 0;
        if (pz) ptext = pz, ptext[plen] = 0;
        st = tlv__config_parse(name, text, ptext, t, &err);
        if (st) fprintf(stderr, "%s (text): %s\n", name, err.msg);
        CHECK_EQ_INT(st, TLV_OK);
        CHECK(memcmp(c, t, sizeof *c) == 0);
    }
    free(text);
    free(ptext);
    free(t);
    int n = 0;
    const char *files[] = {"case.json", "expected.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        cJSON *exp = load_json(path);
        if (!exp) continue;
        int before = tlv_test_failures;
        check_top(c, exp, name);
        if (tlv_test_failures != before) fprintf(stderr, "  (in %s)\n", path);
        cJSON_Delete(exp);
        n++;
    }
    CHECK(n > 0);
    free(c);
    return 1;
}

int main(void)
{
    const char *dirs[] = {"fx_phi2_siglip_square", "fx_qwen2_siglip_square", "fx_llama_clip_pad",
                          "fx_phi2_siglip_pad_multiturn", "cfg_legacy_phi", "cfg_legacy_stablelm",
                          "cfg_legacy_tinyllama", "cfg_hf_llava", "cfg_factory_gemma", "cfg_factory_stablelm",
                          "cfg_factory_qwen2", "cfg_factory_openelm", "cfg_factory_openelm_pair"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) check_dir(dirs[i]);

    check_models_cases();

    /* missing directory: the message names the file */
    struct tlv_model_config *c = calloc(1, sizeof *c);
    tlv_err err;
    CHECK_EQ_INT(tlv__config_load(TLV_TEST_DATA "/formats/data/nowhere", c, &err), TLV_ERR_NOT_FOUND);
    CHECK_CONTAINS(err.msg, "nowhere/config.json");
    /* text: bad JSON names the text and where it stopped; no text; a bad field as from a file */
    CHECK_EQ_INT(tlv__config_parse("preset x", "{\n  \"model_type\": tinyllava }", NULL, c, &err), TLV_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "preset x/config.json:2:");
    CHECK_CONTAINS(err.msg, "invalid JSON");
    CHECK_EQ_INT(tlv__config_parse("preset x", NULL, NULL, c, &err), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv__config_parse(NULL, "{\"model_type\": \"gpt9\"}", NULL, c, &err), TLV_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "(text)/config.json: model_type: unknown model_type 'gpt9'");
    CHECK_EQ_INT(tlv__config_parse("p", "{\"model_type\": \"gpt9\"}", "[", c, &err), TLV_ERR_UNSUPPORTED);
    free(c);
    return tlv_test_finish("test_config");
}
