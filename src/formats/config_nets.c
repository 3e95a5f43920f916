/* config_nets.c: the LLM and vision-tower parts of a config, with the transformers 4.40.1
 * config-class defaults that fill the keys a diff-serialised config leaves out.
 *
 * The default tables are written from the __init__ signatures of transformers v4.40.1 (the
 * version TinyLLaVA_Factory pins; fixtures/README.md "Omitted config keys"), class by class:
 *   PhiConfig           models/phi/configuration_phi.py
 *   LlamaConfig         models/llama/configuration_llama.py
 *   Qwen2Config         models/qwen2/configuration_qwen2.py
 *   GemmaConfig         models/gemma/configuration_gemma.py
 *   StableLmConfig      models/stablelm/configuration_stablelm.py
 *   StableLMEpochConfig TinyLLaVABench's vendored stablelm/configuration_stablelm_epoch.py
 *                       (stabilityai remote code; legacy TinyLLaVA-2.0B)
 *   OpenELMConfig       TinyLLaVA_Factory tinyllava/model/llm/openelm (apple/OpenELM remote code)
 *   SiglipVisionConfig  models/siglip/configuration_siglip.py
 *   CLIPVisionConfig    models/clip/configuration_clip.py */
#include "formats/config_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct llm_defaults {
    const char *model_type;
    tlv_llm_arch arch;
    int32_t vocab, hidden, intermediate, n_layer, n_head;
    int32_t n_kv_head;         /* 0: None in the class, which means n_head */
    int32_t head_dim;          /* 0: hidden / n_head */
    int32_t max_positions;
    const char *eps_key;
    double eps;
    double rope_theta;
    const char *partial_key;   /* NULL: full rotary */
    double partial;
    const char *act;
    int tie;
    int32_t bos, eos, pad;     /* -1: None */
    tlv_cfg_norm norm;
} llm_defaults;

static const llm_defaults llm_table[] = {
    /* PhiConfig(vocab_size=51200, hidden_size=2048, intermediate_size=8192, num_hidden_layers=24,
     * num_attention_heads=32, num_key_value_heads=None, hidden_act="gelu_new",
     * max_position_embeddings=2048, layer_norm_eps=1e-5, tie_word_embeddings=False,
     * rope_theta=10000.0, partial_rotary_factor=0.5, qk_layernorm=False, bos_token_id=1, eos_token_id=2) */
    {"phi", TLV_ARCH_PHI, 51200, 2048, 8192, 24, 32, 0, 0, 2048, "layer_norm_eps", 1e-5, 10000.0,
     "partial_rotary_factor", 0.5, "gelu_new", 0, 1, 2, -1, TLV_CFG_NORM_LAYER},
    /* LlamaConfig(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
     * num_attention_heads=32, num_key_value_heads=None, hidden_act="silu", max_position_embeddings=2048,
     * rms_norm_eps=1e-6, pad_token_id=None, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False,
     * rope_theta=10000.0, rope_scaling=None, attention_bias=False) */
    {"llama", TLV_ARCH_LLAMA, 32000, 4096, 11008, 32, 32, 0, 0, 2048, "rms_norm_eps", 1e-6, 10000.0, NULL, 1.0,
     "silu", 0, 1, 2, -1, TLV_CFG_NORM_RMS},
    /* Qwen2Config(vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32,
     * num_attention_heads=32, num_key_value_heads=32, hidden_act="silu", max_position_embeddings=32768,
     * rms_norm_eps=1e-6, tie_word_embeddings=False, rope_theta=10000.0, use_sliding_window=False,
     * sliding_window=4096, max_window_layers=28); bos/eos not in the signature: None */
    {"qwen2", TLV_ARCH_QWEN2, 151936, 4096, 22016, 32, 32, 32, 0, 32768, "rms_norm_eps", 1e-6, 10000.0, NULL, 1.0,
     "silu", 0, -1, -1, -1, TLV_CFG_NORM_RMS},
    /* GemmaConfig(vocab_size=256000, hidden_size=3072, intermediate_size=24576, num_hidden_layers=28,
     * num_attention_heads=16, num_key_value_heads=16, head_dim=256, hidden_act="gelu_pytorch_tanh",
     * hidden_activation=None, max_position_embeddings=8192, rms_norm_eps=1e-6, pad_token_id=0,
     * eos_token_id=1, bos_token_id=2, tie_word_embeddings=True, rope_theta=10000.0, attention_bias=False) */
    {"gemma", TLV_ARCH_GEMMA, 256000, 3072, 24576, 28, 16, 16, 256, 8192, "rms_norm_eps", 1e-6, 10000.0, NULL, 1.0,
     "gelu_pytorch_tanh", 1, 2, 1, 0, TLV_CFG_NORM_RMS_1P},
    /* StableLmConfig(vocab_size=50304, intermediate_size=6912, hidden_size=2560, num_hidden_layers=32,
     * num_attention_heads=32, num_key_value_heads=32, hidden_act="silu", max_position_embeddings=4096,
     * layer_norm_eps=1e-5, tie_word_embeddings=False, rope_theta=10000, rope_scaling=None,
     * use_qkv_bias=False, qk_layernorm=False, use_parallel_residual=False, partial_rotary_factor=0.25,
     * bos_token_id=0, eos_token_id=0) */
    {"stablelm", TLV_ARCH_STABLELM, 50304, 2560, 6912, 32, 32, 32, 0, 4096, "layer_norm_eps", 1e-5, 10000.0,
     "partial_rotary_factor", 0.25, "silu", 0, 0, 0, -1, TLV_CFG_NORM_LAYER},
    /* StableLMEpochConfig(vocab_size=50304, intermediate_size=6912, hidden_size=2560,
     * num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32, hidden_act="silu",
     * rope_pct=0.25, rope_theta=10000, max_position_embeddings=4096, norm_eps=1e-5,
     * use_qkv_bias=True, tie_word_embeddings=False, bos_token_id=0, eos_token_id=2) */
    {"stablelm_epoch", TLV_ARCH_STABLELM, 50304, 2560, 6912, 32, 32, 32, 0, 4096, "norm_eps", 1e-5, 10000.0,
     "rope_pct", 0.25, "silu", 0, 0, 2, -1, TLV_CFG_NORM_LAYER},
};

tlv_cfg_act tlv__config_act_from_name(const char *s)
{
    if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_fast")) return TLV_CFG_ACT_GELU_TANH;
    if (!strcmp(s, "gelu")) return TLV_CFG_ACT_GELU_ERF;
    if (!strcmp(s, "quick_gelu")) return TLV_CFG_ACT_QUICK_GELU;
    if (!strcmp(s, "silu") || !strcmp(s, "swish")) return TLV_CFG_ACT_SILU;
    return (tlv_cfg_act)0;
}

static const char *dot(const char *where) { return where ? "." : ""; }
static const char *w0(const char *where) { return where ? where : ""; }
/* "text_config: " before a message that names no single key */
static const char *colon(const char *where) { return where ? ": " : ""; }

static int set_act(tlv_json_reader *r, const char *where, const char *key, const char *name, tlv_cfg_act *act,
                   char *act_name)
{
    *act = tlv__config_act_from_name(name);
    if (!*act) {
        tlv__json_fail(r, TLV_ERR_UNSUPPORTED,
                       "%s%s%s: unsupported activation '%s' (expected gelu_new, gelu_pytorch_tanh, gelu, quick_gelu, silu)",
                       w0(where), dot(where), key, name);
        return 0;
    }
    snprintf(act_name, 24, "%s", name);
    return 1;
}

/* bos/eos ids: an integer, or a list whose first entry is used (generation stops on any, the
 * engine reads the list from generation_config.json if it needs more). */
static void read_token_id(tlv_json_reader *r, const cJSON *obj, const char *where, const char *key, int32_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (r->status || !cJSON_IsArray(v)) {
        tlv__json_int(r, obj, where, key, out);
        return;
    }
    const cJSON *e = v->child;
    if (!e) return; /* [] : none given, keep the default */
    double x = cJSON_IsNumber(e) ? e->valuedouble : -1.0;
    if (x != floor(x) || x < 0.0 || x > 2147483647.0) {
        char found[48];
        tlv__json_describe(v, found, sizeof found);
        tlv__json_fail(r, TLV_ERR_FORMAT, "%s%s%s: expected a token id or a list of them, found %s", w0(where), dot(where),
                       key, found);
        return;
    }
    *out = (int32_t)x;
}

static void fill_layers(struct tlv_llm_config *l)
{
    for (int i = 0; i < l->n_layer; i++) {
        l->layer_n_head[i] = l->n_head;
        l->layer_n_kv_head[i] = l->n_kv_head;
        l->layer_intermediate[i] = l->intermediate;
    }
}

static tlv_status check_llm(tlv_json_reader *r, const char *where, struct tlv_llm_config *l)
{
    if (r->status) return r->status;
    const char *w = w0(where), *d = dot(where), *cl = colon(where);
    if (l->hidden <= 0 || l->n_layer <= 0 || l->n_head <= 0 || l->n_kv_head <= 0 || l->head_dim <= 0 ||
        l->intermediate <= 0 || l->vocab <= 0)
        return tlv__json_fail(r, TLV_ERR_FORMAT,
                              "%s%sLLM sizes must be positive (hidden %d, layers %d, heads %d, kv heads %d, head_dim %d, "
                              "intermediate %d, vocab %d)",
                              w, cl, l->hidden, l->n_layer, l->n_head, l->n_kv_head, l->head_dim, l->intermediate, l->vocab);
    if (l->n_layer > TLV_CONFIG_MAX_LAYERS)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s%snum_hidden_layers: %d layers, at most %d supported", w, d,
                              l->n_layer, TLV_CONFIG_MAX_LAYERS);
    if (l->hidden > TLV_CONFIG_MAX_DIM || l->intermediate > TLV_CONFIG_MAX_DIM || l->vocab > TLV_CONFIG_MAX_DIM ||
        l->head_dim > TLV_CONFIG_MAX_DIM || l->n_head > TLV_CONFIG_MAX_DIM)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s%sLLM sizes above %d are not supported (hidden %d, intermediate %d, vocab %d)",
                              w, cl, TLV_CONFIG_MAX_DIM, l->hidden, l->intermediate, l->vocab);
    for (int i = 0; i < l->n_layer; i++)
        if (l->layer_n_kv_head[i] <= 0 || l->layer_n_head[i] % l->layer_n_kv_head[i])
            return tlv__json_fail(r, TLV_ERR_FORMAT,
                                  "%s%snum_attention_heads %d is not a multiple of num_key_value_heads %d (layer %d)", w, d,
                                  l->layer_n_head[i], l->layer_n_kv_head[i], i);
    if (l->partial_rotary_factor <= 0.0 || l->partial_rotary_factor > 1.0)
        return tlv__json_fail(r, TLV_ERR_FORMAT, "%s%spartial rotary factor %g outside (0, 1]", w, cl,
                              l->partial_rotary_factor);
    if (l->rotary_dim <= 0 || l->rotary_dim % 2 || l->rotary_dim > l->head_dim)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s%srotary dims %d (head_dim %d x %g) must be even and in 2..%d", w,
                              cl, l->rotary_dim, l->head_dim, l->partial_rotary_factor, l->head_dim);
    if (!(l->norm_eps > 0.0) || !(l->rope_theta > 0.0))
        return tlv__json_fail(r, TLV_ERR_FORMAT, "%s%snorm eps %g and rope theta %g must be positive", w, cl, l->norm_eps,
                              l->rope_theta);
    return TLV_OK;
}

/* ---------------------------------------------------------------- OpenELM
 * OpenELMConfig(vocab_size=32000, max_context_length=2048, num_transformer_layers=12,
 * model_dim=2048, head_dim=128, qkv_multipliers=1.0, num_query_heads=None, num_gqa_groups=1,
 * ffn_multipliers=4.0, ffn_with_glu=True, ffn_dim_divisor=256, activation_fn_name="swish",
 * normalization_layer_name="rms_norm", normalize_qk_projections=False,
 * share_input_output_layers=False, rope_freq_constant=10000, rope_max_length=4096,
 * bos_token_id=1, eos_token_id=2); OpenELMRMSNorm eps 1e-6. __post_init__ derives the per-layer
 * head counts from qkv_multipliers (ignoring any stored num_query_heads) and expands
 * ffn_multipliers; we repeat it, with Python's round(v, 2) and numpy.linspace. */

/* OpenELM's make_divisible(v, divisor, min_value=None) */
static int64_t make_divisible(double v, int64_t divisor)
{
    int64_t nv = (int64_t)(v + (double)divisor / 2.0) / divisor * divisor;
    if (nv < divisor) nv = divisor;
    if ((double)nv < 0.9 * v) nv += divisor;
    return nv;
}

/* Python round(x, 2): correctly rounded from the binary value, as printf's %.2f is. */
static double round2(double x)
{
    char b[64];
    snprintf(b, sizeof b, "%.2f", x);
    return strtod(b, NULL);
}

/* Multipliers: a number (uniform), a [lo, hi] pair (np.linspace then round(., 2)), or (if
 * allow_list) one value per layer. */
static int read_multipliers(tlv_json_reader *r, const cJSON *obj, const char *where, const char *key, double def,
                            int n_layer, int allow_list, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) {
        for (int i = 0; i < n_layer; i++) out[i] = def;
        return 1;
    }
    if (cJSON_IsNumber(v)) {
        if (!(v->valuedouble > 0.0 && v->valuedouble <= 64.0)) goto bad;
        for (int i = 0; i < n_layer; i++) out[i] = v->valuedouble;
        return 1;
    }
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (n == 2 && cJSON_IsNumber(v->child) && cJSON_IsNumber(v->child->next)) {
        double lo = v->child->valuedouble, hi = v->child->next->valuedouble;
        if (!(lo > 0.0 && lo <= 64.0 && hi > 0.0 && hi <= 64.0)) goto bad;
        double step = n_layer > 1 ? (hi - lo) / (n_layer - 1) : 0.0;
        for (int i = 0; i < n_layer; i++) out[i] = round2(i == n_layer - 1 && n_layer > 1 ? hi : i * step + lo);
        return 1;
    }
    if (allow_list && n == n_layer) {
        int i = 0;
        for (const cJSON *e = v->child; e; e = e->next, i++) {
            if (!cJSON_IsNumber(e) || !(e->valuedouble > 0.0 && e->valuedouble <= 64.0)) break;
            out[i] = e->valuedouble;
        }
        if (i == n_layer) return 1;
    }
bad:;
    char found[48];
    tlv__json_describe(v, found, sizeof found);
    tlv__json_fail(r, TLV_ERR_FORMAT, "%s%s%s: expected a number in (0, 64] or [first, last]%s, found %s", w0(where), dot(where), key,
                   allow_list ? " or one value per layer" : "", found);
    return 0;
}

static tlv_status read_openelm(tlv_json_reader *r, const cJSON *o, const char *where, struct tlv_llm_config *l)
{
    const char *w = w0(where), *d = dot(where);
    l->arch = TLV_ARCH_OPENELM;
    l->vocab = 32000;
    l->max_positions = 2048;
    l->n_layer = 12;
    l->hidden = 2048;
    l->head_dim = 128;
    int32_t gqa = 1, divisor = 256;
    int glu = 1, share = 0, qk = 0;
    double theta = 10000.0;
    char act[24] = "swish", normname[24] = "rms_norm";
    l->bos_id = 1;
    l->eos_id = 2;
    l->pad_id = -1;
    tlv__json_int(r, o, where, "vocab_size", &l->vocab);
    tlv__json_int(r, o, where, "max_context_length", &l->max_positions);
    tlv__json_int(r, o, where, "num_transformer_layers", &l->n_layer);
    tlv__json_int(r, o, where, "model_dim", &l->hidden);
    tlv__json_int(r, o, where, "head_dim", &l->head_dim);
    tlv__json_int(r, o, where, "num_gqa_groups", &gqa);
    tlv__json_int(r, o, where, "ffn_dim_divisor", &divisor);
    tlv__json_bool(r, o, where, "ffn_with_glu", &glu);
    tlv__json_bool(r, o, where, "share_input_output_layers", &share);
    tlv__json_bool(r, o, where, "normalize_qk_projections", &qk);
    tlv__json_double(r, o, where, "rope_freq_constant", &theta);
    tlv__json_str(r, o, where, "activation_fn_name", act, sizeof act);
    tlv__json_str(r, o, where, "normalization_layer_name", normname, sizeof normname);
    read_token_id(r, o, where, "bos_token_id", &l->bos_id);
    read_token_id(r, o, where, "eos_token_id", &l->eos_id);
    tlv__json_int(r, o, where, "pad_token_id", &l->pad_id);
    if (r->status) return r->status;
    if (l->n_layer <= 0 || l->n_layer > TLV_CONFIG_MAX_LAYERS)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s%snum_transformer_layers: %d, expected 1..%d", w, d, l->n_layer,
                              TLV_CONFIG_MAX_LAYERS);
    if (l->hidden <= 0 || l->head_dim <= 0 || gqa <= 0 || divisor <= 0)
        return tlv__json_fail(r, TLV_ERR_FORMAT, "%s%smodel_dim %d, head_dim %d, num_gqa_groups %d, ffn_dim_divisor %d must be positive",
                              w, d, l->hidden, l->head_dim, gqa, divisor);
    if (!glu) return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s%sffn_with_glu: false is not supported", w, d);
    if (strcmp(normname, "rms_norm"))
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s%snormalization_layer_name: expected rms_norm, found '%s'", w, d,
                              normname);
    if (!set_act(r, where, "activation_fn_name", act, &l->act, l->act_name)) return r->status;

    double qm[TLV_CONFIG_MAX_LAYERS], fm[TLV_CONFIG_MAX_LAYERS];
    if (!read_multipliers(r, o, where, "qkv_multipliers", 1.0, l->n_layer, 0, qm) ||
        !read_multipliers(r, o, where, "ffn_multipliers", 4.0, l->n_layer, 1, fm))
        return r->status;
    const cJSON *sq = cJSON_GetObjectItemCaseSensitive(o, "num_query_heads");
    const cJSON *sk = cJSON_GetObjectItemCaseSensitive(o, "num_kv_heads");
    const cJSON *eq = cJSON_IsArray(sq) ? sq->child : NULL, *ek = cJSON_IsArray(sk) ? sk->child : NULL;
    l->n_head = l->n_kv_head = l->intermediate = 0;
    for (int i = 0; i < l->n_layer; i++) {
        int64_t qdim = make_divisible(l->hidden * qm[i], (int64_t)l->head_dim * gqa);
        int64_t ffn = make_divisible(fm[i] * l->hidden, divisor);
        if (qdim % l->head_dim || qdim / l->head_dim > 4096 || ffn > INT32_MAX)
            return tlv__json_fail(r, TLV_ERR_FORMAT, "%s%slayer %d: query width %lld is not a multiple of head_dim %d", w, d,
                                  i, (long long)qdim, l->head_dim);
        l->layer_n_head[i] = (int32_t)(qdim / l->head_dim);
        l->layer_n_kv_head[i] = l->layer_n_head[i] / gqa;
        l->layer_intermediate[i] = (int32_t)ffn;
        /* The file's own lists, when written, must agree with what __post_init__ derives. */
        if ((eq && (!cJSON_IsNumber(eq) || eq->valuedouble != l->layer_n_head[i])) ||
            (ek && (!cJSON_IsNumber(ek) || ek->valuedouble != l->layer_n_kv_head[i])))
            return tlv__json_fail(r, TLV_ERR_FORMAT,
                                  "%s%snum_query_heads/num_kv_heads[%d]: expected %d/%d from qkv_multipliers, found %g/%g", w,
                                  d, i, l->layer_n_head[i], l->layer_n_kv_head[i], cJSON_IsNumber(eq) ? eq->valuedouble : -1.0,
                                  cJSON_IsNumber(ek) ? ek->valuedouble : -1.0);
        eq = eq ? eq->next : NULL;
        ek = ek ? ek->next : NULL;
        if (l->layer_n_head[i] > l->n_head) l->n_head = l->layer_n_head[i];
        if (l->layer_n_kv_head[i] > l->n_kv_head) l->n_kv_head = l->layer_n_kv_head[i];
        if (l->layer_intermediate[i] > l->intermediate) l->intermediate = l->layer_intermediate[i];
    }
    l->rope_theta = theta;
    l->partial_rotary_factor = 1.0;
    l->rotary_dim = l->head_dim;
    l->norm = TLV_CFG_NORM_RMS;
    l->norm_eps = 1e-6;
    l->tie_embeddings = share;
    l->qk_norm = qk;
    l->gated_mlp = 1;
    return check_llm(r, where, l);
}

tlv_status tlv__config_read_llm(tlv_json_reader *r, const cJSON *o, const char *where, const char *model_type,
                                struct tlv_llm_config *l)
{
    memset(l, 0, sizeof *l);
    snprintf(l->model_type, sizeof l->model_type, "%s", model_type);
    if (!strcmp(model_type, "openelm")) return read_openelm(r, o, where, l);
    const llm_defaults *df = NULL;
    for (size_t i = 0; i < sizeof llm_table / sizeof llm_table[0]; i++)
        if (!strcmp(llm_table[i].model_type, model_type)) df = &llm_table[i];
    if (!df)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED,
                              "%s%smodel_type: unknown LLM model_type '%s' (expected phi, llama, qwen2, gemma, stablelm, openelm)",
                              w0(where), dot(where), model_type);
    const char *w = w0(where), *d = dot(where);
    l->arch = df->arch;
    l->vocab = df->vocab;
    l->hidden = df->hidden;
    l->intermediate = df->intermediate;
    l->n_layer = df->n_layer;
    l->n_head = df->n_head;
    l->max_positions = df->max_positions;
    l->norm = df->norm;
    l->norm_eps = df->eps;
    l->rope_theta = df->rope_theta;
    l->partial_rotary_factor = df->partial;
    l->tie_embeddings = df->tie;
    l->bos_id = df->bos;
    l->eos_id = df->eos;
    l->pad_id = df->pad;
    char act[24];
    snprintf(act, sizeof act, "%s", df->act);

    tlv__json_int(r, o, where, "vocab_size", &l->vocab);
    tlv__json_int(r, o, where, "hidden_size", &l->hidden);
    tlv__json_int(r, o, where, "intermediate_size", &l->intermediate);
    tlv__json_int(r, o, where, "num_hidden_layers", &l->n_layer);
    tlv__json_int(r, o, where, "num_attention_heads", &l->n_head);
    l->n_kv_head = df->n_kv_head ? df->n_kv_head : l->n_head;
    if (!tlv__json_int(r, o, where, "num_key_value_heads", &l->n_kv_head) && !df->n_kv_head) l->n_kv_head = l->n_head;
    l->head_dim = df->head_dim;
    /* head_dim is a GemmaConfig field; later Llama versions have it too, accept it anywhere */
    int has_head_dim = tlv__json_int(r, o, where, "head_dim", &l->head_dim) || df->head_dim;
    tlv__json_int(r, o, where, "max_position_embeddings", &l->max_positions);
    tlv__json_double(r, o, where, df->eps_key, &l->norm_eps);
    tlv__json_double(r, o, where, "rope_theta", &l->rope_theta);
    if (df->partial_key) tlv__json_double(r, o, where, df->partial_key, &l->partial_rotary_factor);
    tlv__json_bool(r, o, where, "tie_word_embeddings", &l->tie_embeddings);
    read_token_id(r, o, where, "bos_token_id", &l->bos_id);
    read_token_id(r, o, where, "eos_token_id", &l->eos_id);
    tlv__json_int(r, o, where, "pad_token_id", &l->pad_id);
    const char *act_key = "hidden_act";
    if (l->arch == TLV_ARCH_GEMMA) {
        /* transformers PR #29402 (in 4.40.1): Gemma ignores hidden_act and uses gelu_pytorch_tanh
         * unless hidden_activation is set (MODELS.md 4.4). */
        snprintf(act, sizeof act, "gelu_pytorch_tanh");
        act_key = "hidden_activation";
    }
    tlv__json_str(r, o, where, act_key, act, sizeof act);
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "rope_scaling");
    if (rs && !cJSON_IsNull(rs)) {
        char found[48];
        tlv__json_describe(rs, found, sizeof found);
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s%srope_scaling: expected null, found %s", w, d, found);
    }
    int flag = 0;
    switch (l->arch) {
    case TLV_ARCH_PHI:
        l->qkv_bias = l->o_bias = l->mlp_bias = 1;
        l->parallel_residual = 1;
        tlv__json_bool(r, o, where, "qk_layernorm", &l->qk_norm);
        break;
    case TLV_ARCH_LLAMA:
        l->gated_mlp = 1;
        if (tlv__json_bool(r, o, where, "attention_bias", &flag)) l->qkv_bias = l->o_bias = flag;
        break;
    case TLV_ARCH_QWEN2: {
        l->gated_mlp = 1;
        l->qkv_bias = 1; /* Qwen2Attention: q/k/v bias=True, o_proj bias=False */
        int sw = 0;
        int32_t win = 4096;
        tlv__json_bool(r, o, where, "use_sliding_window", &sw);
        tlv__json_int(r, o, where, "sliding_window", &win);
        l->sliding_window = sw ? win : 0;
        break;
    }
    case TLV_ARCH_GEMMA:
        l->gated_mlp = 1;
        l->scale_embeddings = 1;
        if (tlv__json_bool(r, o, where, "attention_bias", &flag)) l->qkv_bias = l->o_bias = flag;
        break;
    case TLV_ARCH_STABLELM:
        l->gated_mlp = 1;
        l->qkv_bias = !strcmp(model_type, "stablelm_epoch"); /* the epoch class defaults to True */
        tlv__json_bool(r, o, where, "use_qkv_bias", &l->qkv_bias);
        tlv__json_bool(r, o, where, "qk_layernorm", &l->qk_norm);
        tlv__json_bool(r, o, where, "use_parallel_residual", &l->parallel_residual);
        break;
    case TLV_ARCH_OPENELM:
        break;
    }
    if (r->status) return r->status;
    if (!set_act(r, where, act_key, act, &l->act, l->act_name)) return r->status;
    if (l->n_head <= 0) return tlv__json_fail(r, TLV_ERR_FORMAT, "%s%snum_attention_heads: %d, expected > 0", w, d, l->n_head);
    if (!has_head_dim) {
        if (l->hidden % l->n_head)
            return tlv__json_fail(r, TLV_ERR_FORMAT, "%s%shidden_size %d is not divisible by num_attention_heads %d", w, d,
                                  l->hidden, l->n_head);
        l->head_dim = l->hidden / l->n_head;
    }
    /* PhiAttention / StableLmAttention: rotary_ndims = int(partial_rotary_factor * head_dim) */
    l->rotary_dim = (int32_t)(l->partial_rotary_factor * l->head_dim);
    if (l->n_layer > 0 && l->n_layer <= TLV_CONFIG_MAX_LAYERS) fill_layers(l);
    return check_llm(r, where, l);
}

/* ---------------------------------------------------------------- vision */

typedef struct vision_defaults {
    int32_t hidden, intermediate, n_layer, n_head, n_channels, image_size, patch_size;
    const char *act;
    double eps;
} vision_defaults;

/* SiglipVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
 * num_attention_heads=12, num_channels=3, image_size=224, patch_size=16,
 * hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6) */
static const vision_defaults siglip_defaults = {768, 3072, 12, 12, 3, 224, 16, "gelu_pytorch_tanh", 1e-6};
/* CLIPVisionConfig(hidden_size=768, intermediate_size=3072, projection_dim=512, num_hidden_layers=12,
 * num_attention_heads=12, num_channels=3, image_size=224, patch_size=32, hidden_act="quick_gelu",
 * layer_norm_eps=1e-5) */
static const vision_defaults clip_defaults = {768, 3072, 12, 12, 3, 224, 32, "quick_gelu", 1e-5};
/* google/siglip-so400m-patch14-384 and openai/clip-vit-large-patch14-336 (MODELS.md 1.4) */
static const vision_defaults siglip_so400m = {1152, 4304, 27, 16, 3, 384, 14, "gelu_pytorch_tanh", 1e-6};
static const vision_defaults clip_large_336 = {1024, 4096, 24, 16, 3, 336, 14, "quick_gelu", 1e-5};

static void vision_fill(tlv_vision_arch kind, const vision_defaults *df, struct tlv_vision_config *v)
{
    memset(v, 0, sizeof *v);
    v->arch = kind;
    snprintf(v->model_type, sizeof v->model_type, "%s", kind == TLV_VISION_SIGLIP ? "siglip_vision_model" : "clip_vision_model");
    v->hidden = df->hidden;
    v->intermediate = df->intermediate;
    v->n_layer = df->n_layer;
    v->n_head = df->n_head;
    v->n_channels = df->n_channels;
    v->image_size = df->image_size;
    v->patch_size = df->patch_size;
    v->norm_eps = df->eps;
    v->act = tlv__config_act_from_name(df->act);
    snprintf(v->act_name, sizeof v->act_name, "%s", df->act);
    v->has_class_token = kind == TLV_VISION_CLIP;
}

static void vision_derive(struct tlv_vision_config *v)
{
    v->head_dim = v->n_head > 0 ? v->hidden / v->n_head : 0;
    v->grid = v->patch_size > 0 ? v->image_size / v->patch_size : 0;
    v->n_positions = v->grid * v->grid + v->has_class_token;
}

void tlv__config_vision_assume(tlv_vision_arch kind, struct tlv_vision_config *v)
{
    vision_fill(kind, kind == TLV_VISION_SIGLIP ? &siglip_so400m : &clip_large_336, v);
    v->sizes_assumed = 1;
    vision_derive(v);
}

tlv_status tlv__config_read_vision(tlv_json_reader *r, const cJSON *o, const char *where, tlv_vision_arch kind,
                                   struct tlv_vision_config *v)
{
    vision_fill(kind, kind == TLV_VISION_SIGLIP ? &siglip_defaults : &clip_defaults, v);
    const char *w = w0(where), *d = dot(where), *cl = colon(where);
    tlv__json_int(r, o, where, "hidden_size", &v->hidden);
    tlv__json_int(r, o, where, "intermediate_size", &v->intermediate);
    tlv__json_int(r, o, where, "num_hidden_layers", &v->n_layer);
    tlv__json_int(r, o, where, "num_attention_heads", &v->n_head);
    tlv__json_int(r, o, where, "num_channels", &v->n_channels);
    tlv__json_int(r, o, where, "image_size", &v->image_size);
    tlv__json_int(r, o, where, "patch_size", &v->patch_size);
    tlv__json_double(r, o, where, "layer_norm_eps", &v->norm_eps);
    char act[24];
    snprintf(act, sizeof act, "%s", v->act_name);
    tlv__json_str(r, o, where, "hidden_act", act, sizeof act);
    if (r->status) return r->status;
    if (!set_act(r, where, "hidden_act", act, &v->act, v->act_name)) return r->status;
    if (v->hidden <= 0 || v->intermediate <= 0 || v->n_layer <= 0 || v->n_head <= 0 || v->patch_size <= 0)
        return tlv__json_fail(r, TLV_ERR_FORMAT,
                              "%s%svision sizes must be positive (hidden %d, intermediate %d, layers %d, heads %d, patch %d)",
                              w, cl, v->hidden, v->intermediate, v->n_layer, v->n_head, v->patch_size);
    if (v->n_layer > TLV_CONFIG_MAX_LAYERS)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s%snum_hidden_layers: %d, at most %d supported", w, d, v->n_layer,
                              TLV_CONFIG_MAX_LAYERS);
    if (v->hidden > TLV_CONFIG_MAX_DIM || v->intermediate > TLV_CONFIG_MAX_DIM)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s%svision sizes above %d are not supported (hidden %d, intermediate %d)",
                              w, cl, TLV_CONFIG_MAX_DIM, v->hidden, v->intermediate);
    if (v->hidden % v->n_head)
        return tlv__json_fail(r, TLV_ERR_FORMAT, "%s%shidden_size %d is not divisible by num_attention_heads %d", w, d,
                              v->hidden, v->n_head);
    /* keeps grid^2 and every size product the model code forms far from overflow */
    if (v->image_size > TLV_CONFIG_MAX_IMAGE_SIZE)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s%simage_size: %d, at most %d supported", w, d, v->image_size,
                              TLV_CONFIG_MAX_IMAGE_SIZE);
    if (v->image_size < v->patch_size)
        return tlv__json_fail(r, TLV_ERR_FORMAT, "%s%simage_size %d is smaller than patch_size %d", w, d, v->image_size,
                              v->patch_size);
    if (v->n_channels != 3)
        return tlv__json_fail(r, TLV_ERR_UNSUPPORTED, "%s%snum_channels: expected 3, found %d", w, d, v->n_channels);
    if (!(v->norm_eps > 0.0))
        return tlv__json_fail(r, TLV_ERR_FORMAT, "%s%slayer_norm_eps: expected > 0, found %g", w, d, v->norm_eps);
    vision_derive(v);
    return TLV_OK;
}
