/* load.c: binding a model's tensors by name, with every shape and dtype checked, then uploading
 * them. The bytes come from a weight source (source.h): a checkpoint, as published or quantized
 * on load by a recipe (recipe.h), or synthetic weights (synth.c); this file only knows the names,
 * the shapes and which part of the model each tensor belongs to.
 *
 * Names: <generation prefix> + the family's own names (MODELS.md 2.1, 2.2; config.h lists the
 * prefixes). A tensor the model needs and the checkpoint lacks is an error naming it; a tensor the
 * checkpoint has and nothing uses is an error too (a misnamed tensor would otherwise be silently
 * replaced by nothing), except those TinyLLaVA itself never reads (the vision layers past the
 * selected one, SigLIP's post_layernorm and pooling head, rotary inv_freq buffers).
 *
 * Upload: from the mmapped file straight into device memory (mapped on UMA devices), or through
 * the device's bounded staging buffer: never a second full copy in host memory. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "model/source.h"
#include "ops/attention.h"

typedef struct binder {
    tlv_model_core *m;
    tlv_weight_source *src;
    tlv_err *err;
    uint64_t done, total;
    tlv_load_progress_fn progress;
    void *progress_ud;
    int counting;             /* first pass: only find and add up bytes */
    tlv_model_part_id part;   /* what is being bound (the per-part figures, the recipe's roles) */
    int mixed_qkv, mixed_gate_up; /* counting pass: parts of a fused layer differ in dtype */
} binder;

/* Allocates t as the source says, uploads its n parts (rows in order) and counts it: model
 * totals, the part's figures and load progress (which may cancel). */
static tlv_status place(binder *b, tlv_tensor *t, const tlv_weight_info *p, int n, int ndim, const int64_t *shape)
{
    if (b->counting) {
        for (int i = 0; i < n; i++) b->total += p[i].src_bytes;
        return TLV_OK;
    }
    tlv_model_core *m = b->m;
    tlv__tensor_init(t, p[0].dtype, ndim, shape);
    tlv_status s = tlv__tensor_alloc(m->dev, t, TLV_MEM_DEVICE, b->err);
    if (s) return tlv__err_prefix(b->err, "tensor '%s'", p[0].name);
    if ((s = b->src->upload(b->src, t, p, n, b->err))) return s;
    uint64_t bytes = tlv__tensor_bytes(t);
    tlv_part_stats *ps = &m->parts[b->part];
    m->device_bytes += bytes;
    m->n_params += (uint64_t)tlv__tensor_nelem(t);
    ps->bytes += bytes;
    ps->n_params += (uint64_t)tlv__tensor_nelem(t);
    ps->n_tensors += (uint32_t)n;
    if (ndim >= 2) ps->matrix_bytes[t->dtype] += bytes;
    else ps->vector_bytes[t->dtype] += bytes;
    for (int i = 0; i < n; i++) b->done += p[i].src_bytes;
    if (b->progress && b->progress(b->progress_ud, b->done, b->total))
        return tlv__err_set(b->err, TLV_ERR_CANCELLED, "loading cancelled");
    return TLV_OK;
}

/* Binds name (printf-style) to t after the source checked its shape: dims[i] < 0 means "any".
 * required 0: an absent tensor leaves t empty. */
static tlv_status bind(binder *b, tlv_tensor *t, tlv_weight_role role, int required, int ndim, const int64_t *dims,
                       const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static tlv_status bind(binder *b, tlv_tensor *t, tlv_weight_role role, int required, int ndim, const int64_t *dims,
                       const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    tlv_weight_info info;
    tlv_status s = b->src->find(b->src, name, role, required, ndim, dims, &info, b->err);
    if (s || !info.present) return s;
    return place(b, t, &info, 1, info.ndim, info.shape);
}

/* The role of a Linear weight in the part being bound. */
static tlv_weight_role linear_role(const binder *b)
{
    switch (b->part) {
    case TLV_PART_VISION:
    case TLV_PART_CONNECTOR: return TLV_ROLE_VISION_LINEAR;
    case TLV_PART_EMBED: return TLV_ROLE_EMBED;
    case TLV_PART_HEAD: return TLV_ROLE_HEAD;
    default: return TLV_ROLE_LLM_LINEAR;
    }
}

/* Several Linear layers on the same input, bound as one: the weights [out_0 + out_1 + ..., in]
 * (rows in the order given) and, with bias, the biases likewise. One matrix-vector product then
 * replaces n on the device (q/k/v, gate/up): fewer dispatches and fewer, longer weight streams.
 * The parts must share a dtype on the device (after the recipe); when they do not, the counting
 * pass sets *mixed and the model binds them one by one instead (a checkpoint may mix dtypes; none
 * of the published ones do). */
static tlv_status bind_fused(binder *b, tlv_linear *l, int n, const char *base, const char *const *names,
                             const int64_t *outs, int64_t in, int bias, int *mixed)
{
    char name[4][512];
    int64_t total = 0;
    if (n < 1 || n > 4) return tlv__err_set(b->err, TLV_ERR_INVALID_ARG, "bind_fused: %d parts (1..4)", n);
    for (int i = 0; i < n; i++) total += outs[i];
    for (int part = 0; part <= (bias != 0); part++) {
        tlv_tensor *t = part ? &l->b : &l->w;
        const char *suffix = part ? "bias" : "weight";
        tlv_weight_info info[4];
        for (int i = 0; i < n; i++) {
            snprintf(name[i], sizeof name[i], "%s%s.%s", base, names[i], suffix);
            tlv_status s = b->src->find(b->src, name[i], part ? TLV_ROLE_OTHER : linear_role(b), 1, part ? 1 : 2,
                                        part ? (const int64_t[]){outs[i]} : (const int64_t[]){outs[i], in}, &info[i], b->err);
            if (s) return s;
            if (!info[i].present)
                return tlv__err_set(b->err, TLV_ERR_FORMAT, "%s: tensor '%s' is missing", b->src->label, name[i]);
            if (info[i].dtype != info[0].dtype) *mixed = 1;
        }
        tlv_status s = place(b, t, info, n, part ? 1 : 2, part ? (const int64_t[]){total} : (const int64_t[]){total, in});
        if (s) return s;
    }
    return TLV_OK;
}

#define D1(a) (const int64_t[]){(a)}
#define D2(a, c) (const int64_t[]){(a), (c)}
#define D4(a, c, e, f) (const int64_t[]){(a), (c), (e), (f)}

static tlv_status bind_linear(binder *b, tlv_linear *l, int64_t out, int64_t in, int bias, const char *name)
{
    tlv_status s = bind(b, &l->w, linear_role(b), 1, 2, D2(out, in), "%s.weight", name);
    if (!s && bias) s = bind(b, &l->b, TLV_ROLE_OTHER, 1, 1, D1(out), "%s.bias", name);
    return s;
}

static tlv_status bind_norm(binder *b, tlv_norm_w *n, int64_t width, int bias, const char *name)
{
    tlv_status s = bind(b, &n->w, TLV_ROLE_OTHER, 1, 1, D1(width), "%s.weight", name);
    if (!s && bias) s = bind(b, &n->b, TLV_ROLE_OTHER, 1, 1, D1(width), "%s.bias", name);
    return s;
}

static tlv_status bind_vision(binder *b)
{
    tlv_model_core *m = b->m;
    const tlv_vision_desc *v = &m->vis;
    tlv_model_weights *w = &m->w;
    const char *P = m->cfg.prefix_vision;
    const int64_t H = v->hidden;
    char n[512];
    tlv_status s;
    int clip = v->arch == TLV_VISION_CLIP;
    b->part = TLV_PART_VISION;
    if ((s = bind(b, &w->patch_w, TLV_ROLE_OTHER, 1, 4, D4(H, 3, v->patch, v->patch), "%sembeddings.patch_embedding.weight", P)) ||
        (s = bind(b, &w->patch_b, TLV_ROLE_OTHER, 0, 1, D1(H), "%sembeddings.patch_embedding.bias", P)) ||
        (s = bind(b, &w->pos_emb, TLV_ROLE_OTHER, 1, 2, D2(v->grid * v->grid + (clip ? 1 : 0), H), "%sembeddings.position_embedding.weight", P)))
        return s;
    if (clip) {
        snprintf(n, sizeof n, "%spre_layrnorm", P);
        if ((s = bind(b, &w->class_emb, TLV_ROLE_OTHER, 1, 1, D1(H), "%sembeddings.class_embedding", P)) ||
            (s = bind_norm(b, &w->pre_norm, H, 1, n)))
            return s;
    }
    for (int l = 0; l < v->n_run; l++) {
        tlv_vision_layer *L = &w->vlayers[l];
        char base[400];
        snprintf(base, sizeof base, "%sencoder.layers.%d.", P, l);
#define SUB(x) (snprintf(n, sizeof n, "%s%s", base, x), n)
        if ((s = bind_norm(b, &L->ln1, H, 1, SUB("layer_norm1"))) || (s = bind_norm(b, &L->ln2, H, 1, SUB("layer_norm2"))) ||
            (s = bind_linear(b, &L->q, H, H, 1, SUB("self_attn.q_proj"))) ||
            (s = bind_linear(b, &L->k, H, H, 1, SUB("self_attn.k_proj"))) ||
            (s = bind_linear(b, &L->v, H, H, 1, SUB("self_attn.v_proj"))) ||
            (s = bind_linear(b, &L->o, H, H, 1, SUB("self_attn.out_proj"))) ||
            (s = bind_linear(b, &L->fc1, v->ffn, H, 1, SUB("mlp.fc1"))) ||
            (s = bind_linear(b, &L->fc2, H, v->ffn, 1, SUB("mlp.fc2"))))
            return s;
#undef SUB
    }
    const int64_t HL = m->llm.hidden;
    b->part = TLV_PART_CONNECTOR;
    snprintf(n, sizeof n, "%.*s", (int)strlen(m->cfg.prefix_connector_0) - 1, m->cfg.prefix_connector_0);
    if ((s = bind_linear(b, &w->conn1, HL, H, 1, n))) return s;
    snprintf(n, sizeof n, "%.*s", (int)strlen(m->cfg.prefix_connector_2) - 1, m->cfg.prefix_connector_2);
    return bind_linear(b, &w->conn2, HL, HL, 1, n);
}

static tlv_status bind_llm(binder *b)
{
    tlv_model_core *m = b->m;
    const tlv_llm_desc *d = &m->llm;
    const struct tlv_llm_config *c = &m->cfg.llm;
    tlv_model_weights *w = &m->w;
    const char *P = m->cfg.prefix_llm;
    const int64_t H = d->hidden, hd = d->head_dim;
    const int elm = d->arch == TLV_ARCH_OPENELM, phi = d->arch == TLV_ARCH_PHI;
    const int ln_bias = d->norm == TLV_NORM_LAYER;
    char n[512], base[400];
    tlv_status s;
    const char *model = elm ? "transformer." : "model.";
    b->part = TLV_PART_EMBED;
    if ((s = bind(b, &w->embed, TLV_ROLE_EMBED, 1, 2, D2(d->vocab, H), "%s%s%s", P, model, elm ? "token_embeddings.weight" : "embed_tokens.weight")))
        return s;
    b->part = TLV_PART_LAYERS;
    for (int l = 0; l < d->n_layer; l++) {
        tlv_llm_layer *L = &w->layers[l];
        const int64_t nh = d->n_head[l], nkv = d->n_kv_head[l], ffn = d->ffn[l];
        snprintf(base, sizeof base, "%s%slayers.%d.", P, model, l);
#define SUB(x) (snprintf(n, sizeof n, "%s%s", base, x), n)
        if (elm) {
            if ((s = bind_norm(b, &L->attn_norm, H, 0, SUB("attn_norm"))) || (s = bind_norm(b, &L->ffn_norm, H, 0, SUB("ffn_norm"))) ||
                (s = bind_linear(b, &L->qkv, (nh + 2 * nkv) * hd, H, 0, SUB("attn.qkv_proj"))) ||
                (s = bind_linear(b, &L->o, H, nh * hd, 0, SUB("attn.out_proj"))) ||
                (s = bind(b, &L->q_norm, TLV_ROLE_OTHER, 1, 1, D1(hd), "%sattn.q_norm.weight", base)) ||
                (s = bind(b, &L->k_norm, TLV_ROLE_OTHER, 1, 1, D1(hd), "%sattn.k_norm.weight", base)) ||
                (s = bind_linear(b, &L->up, 2 * ffn, H, 0, SUB("ffn.proj_1"))) ||
                (s = bind_linear(b, &L->down, H, ffn, 0, SUB("ffn.proj_2"))))
                return s;
            continue;
        }
        static const char *const qkv_names[3] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"};
        static const char *const gu_names[2] = {"mlp.gate_proj", "mlp.up_proj"};
        const int64_t qkv_outs[3] = {nh * hd, nkv * hd, nkv * hd}, gu_outs[2] = {ffn, ffn};
        if ((s = bind_norm(b, &L->attn_norm, H, ln_bias, SUB("input_layernorm")))) return s;
        if (d->fused_qkv) {
            if ((s = bind_fused(b, &L->qkv, 3, base, qkv_names, qkv_outs, H, c->qkv_bias, &b->mixed_qkv))) return s;
        } else if ((s = bind_linear(b, &L->q, nh * hd, H, c->qkv_bias, SUB("self_attn.q_proj"))) ||
                   (s = bind_linear(b, &L->k, nkv * hd, H, c->qkv_bias, SUB("self_attn.k_proj"))) ||
                   (s = bind_linear(b, &L->v, nkv * hd, H, c->qkv_bias, SUB("self_attn.v_proj")))) {
            return s;
        }
        if ((s = bind_linear(b, &L->o, H, nh * hd, c->o_bias, SUB(phi ? "self_attn.dense" : "self_attn.o_proj")))) return s;
        if (phi) {
            if ((s = bind_linear(b, &L->up, ffn, H, 1, SUB("mlp.fc1"))) || (s = bind_linear(b, &L->down, H, ffn, 1, SUB("mlp.fc2"))))
                return s;
        } else if ((s = bind_norm(b, &L->ffn_norm, H, ln_bias, SUB("post_attention_layernorm"))) ||
                   (s = bind_linear(b, &L->down, H, ffn, 0, SUB("mlp.down_proj")))) {
            return s;
        } else if (d->fused_gate_up) {
            /* [gate | up] in L->up, as OpenELM's proj_1 */
            if ((s = bind_fused(b, &L->up, 2, base, gu_names, gu_outs, H, 0, &b->mixed_gate_up))) return s;
        } else if ((s = bind_linear(b, &L->gate, ffn, H, 0, SUB("mlp.gate_proj"))) ||
                   (s = bind_linear(b, &L->up, ffn, H, 0, SUB("mlp.up_proj")))) {
            return s;
        }
#undef SUB
    }
    snprintf(n, sizeof n, "%s%s%s", P, model, phi ? "final_layernorm" : "norm");
    if ((s = bind_norm(b, &w->final_norm, H, ln_bias, n))) return s;
    /* lm_head: absent when tied (Qwen2, Gemma, OpenELM); its bias decided by the tensors
     * (Factory Phi has one, legacy Phi not: MODELS.md 6.7). */
    b->part = TLV_PART_HEAD;
    if ((s = bind(b, &w->lm_head.w, TLV_ROLE_HEAD, !c->tie_embeddings, 2, D2(d->vocab, H), "%slm_head.weight", P))) return s;
    return bind(b, &w->lm_head.b, TLV_ROLE_OTHER, 0, 1, D1(d->vocab), "%slm_head.bias", P);
}

/* Tensors TinyLLaVA never reads; everything else left unused is an error. */
static int ignorable(const tlv_model_core *m, const char *name)
{
    const char *P = m->cfg.prefix_vision;
    size_t np = strlen(P);
    if (strstr(name, "rotary_emb.inv_freq")) return 1;
    if (strncmp(name, P, np) != 0) return 0;
    const char *r = name + np;
    if (!strncmp(r, "post_layernorm.", 15) || !strncmp(r, "head.", 5)) return 1;
    int l;
    if (sscanf(r, "encoder.layers.%d.", &l) == 1 && l >= m->vis.n_run) return 1;
    return 0;
}

static tlv_act map_act(tlv_cfg_act a)
{
    switch (a) {
    case TLV_CFG_ACT_GELU_TANH: return TLV_ACT_GELU_TANH;
    case TLV_CFG_ACT_GELU_ERF: return TLV_ACT_GELU_ERF;
    case TLV_CFG_ACT_QUICK_GELU: return TLV_ACT_QUICK_GELU;
    case TLV_CFG_ACT_SILU: return TLV_ACT_SILU;
    }
    return TLV_ACT_NONE;
}

static tlv_norm_kind map_norm(tlv_cfg_norm n)
{
    return n == TLV_CFG_NORM_LAYER ? TLV_NORM_LAYER : n == TLV_CFG_NORM_RMS ? TLV_NORM_RMS : TLV_NORM_RMS_1P;
}

/* The architecture as data (model.h), from the config plus the embedding table's real size. */
static tlv_status describe(tlv_model_core *m, const char *dir, tlv_err *err)
{
    const struct tlv_model_config *cfg = &m->cfg;
    const struct tlv_llm_config *c = &cfg->llm;
    tlv_llm_desc *d = &m->llm;
    if (c->n_layer > TLV_MAX_LAYERS || cfg->vision_layers_run > TLV_MAX_LAYERS)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s/config.json: %d layers, at most %d supported", dir, c->n_layer,
                            TLV_MAX_LAYERS);
    if (c->qk_norm && c->arch != TLV_ARCH_OPENELM)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s/config.json: qk_layernorm is not supported for %s", dir,
                            tlv__llm_arch_name(c->arch));
    if (c->head_dim > 256)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s/config.json: head_dim %d, at most 256 supported", dir, c->head_dim);
    d->arch = c->arch;
    d->n_layer = c->n_layer;
    d->hidden = c->hidden;
    d->vocab = c->vocab;
    for (int l = 0; l < c->n_layer; l++) {
        d->n_head[l] = c->layer_n_head[l];
        d->n_kv_head[l] = c->layer_n_kv_head[l];
        d->ffn[l] = c->layer_intermediate[l];
    }
    d->head_dim = c->head_dim;
    d->rot_dim = c->rotary_dim;
    d->rope_theta = (float)c->rope_theta;
    d->norm = map_norm(c->norm);
    d->norm_eps = (float)c->norm_eps;
    d->parallel = c->parallel_residual;
    d->gated = c->gated_mlp;
    /* OpenELM's checkpoints have qkv_proj and proj_1 = [gate | up]; for the others the loader
     * fuses q/k/v and gate/up into one weight each (bind_fused), unless their dtypes differ */
    d->fused_qkv = 1;
    d->fused_gate_up = c->gated_mlp;
    d->qk_norm = c->arch == TLV_ARCH_OPENELM;
    d->act = map_act(c->act);
    d->embed_scale = c->scale_embeddings ? sqrtf((float)c->hidden) : 1.0f;
    d->max_pos = c->max_positions;
    d->bos_id = c->bos_id;
    d->eos_id = c->eos_id;

    const struct tlv_vision_config *vc = &cfg->vision;
    tlv_vision_desc *v = &m->vis;
    v->arch = vc->arch;
    v->image_size = vc->image_size;
    v->patch = vc->patch_size;
    v->grid = vc->grid;
    v->hidden = vc->hidden;
    v->n_head = vc->n_head;
    v->head_dim = vc->head_dim;
    v->ffn = vc->intermediate;
    v->n_run = cfg->vision_layers_run;
    v->act = map_act(vc->act);
    v->eps = (float)vc->norm_eps;
    v->class_token = vc->has_class_token;
    v->drop_first = cfg->drop_first_token;
    v->n_tokens = cfg->n_image_tokens;
    if (v->head_dim > 256)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s/config.json: vision head_dim %d, at most 256 supported", dir, v->head_dim);
    return TLV_OK;
}

void tlv__model_destroy(tlv_model_core *m)
{
    if (!m) return;
    tlv_vk_device *dev = m->dev;
    tlv_model_weights *w = &m->w;
    tlv_tensor *single[] = {&w->patch_w, &w->patch_b, &w->class_emb, &w->pos_emb, &w->pre_norm.w, &w->pre_norm.b,
                            &w->conn1.w, &w->conn1.b, &w->conn2.w, &w->conn2.b, &w->embed, &w->final_norm.w,
                            &w->final_norm.b, &w->lm_head.w, &w->lm_head.b, &w->rope_table};
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++) tlv__tensor_free(dev, single[i]);
    for (int l = 0; l < TLV_MAX_LAYERS; l++) {
        tlv_vision_layer *V = &w->vlayers[l];
        tlv_tensor *vt[] = {&V->ln1.w, &V->ln1.b, &V->ln2.w, &V->ln2.b, &V->q.w, &V->q.b, &V->k.w, &V->k.b, &V->v.w, &V->v.b,
                            &V->o.w, &V->o.b, &V->fc1.w, &V->fc1.b, &V->fc2.w, &V->fc2.b};
        for (size_t i = 0; i < sizeof vt / sizeof vt[0]; i++) tlv__tensor_free(dev, vt[i]);
        tlv_llm_layer *L = &w->layers[l];
        tlv_tensor *lt[] = {&L->attn_norm.w, &L->attn_norm.b, &L->ffn_norm.w, &L->ffn_norm.b, &L->q.w, &L->q.b, &L->k.w,
                            &L->k.b, &L->v.w, &L->v.b, &L->qkv.w, &L->qkv.b, &L->o.w, &L->o.b, &L->q_norm, &L->k_norm,
                            &L->gate.w, &L->gate.b, &L->up.w, &L->up.b, &L->down.w, &L->down.b};
        for (size_t i = 0; i < sizeof lt / sizeof lt[0]; i++) tlv__tensor_free(dev, lt[i]);
    }
    tlv__free(m->alloc, m);
}

/* The RoPE table for the positions any session may use (attention.h). */
static tlv_status finish(tlv_model_core *m, int max_ctx, tlv_err *err)
{
    int ctx = max_ctx > 0 ? max_ctx : m->cfg.tokenizer_max_length > 0 ? m->cfg.tokenizer_max_length : m->llm.max_pos;
    if (ctx > m->llm.max_pos && m->llm.max_pos > 0) ctx = m->llm.max_pos;
    if (ctx <= 0) ctx = 2048;
    m->max_ctx = ctx;
    int rot = m->llm.rot_dim > 0 ? m->llm.rot_dim : 2;
    int64_t shape[2] = {ctx, rot};
    tlv__tensor_init(&m->w.rope_table, TLV_F32, 2, shape);
    float *table = tlv__malloc(m->alloc, (size_t)ctx * (size_t)rot * sizeof(float));
    if (!table) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory for the RoPE table");
    tlv__rope_table_fill(table, ctx, rot, m->llm.rope_theta);
    tlv_status s = tlv__tensor_alloc(m->dev, &m->w.rope_table, TLV_MEM_DEVICE, err);
    if (!s) s = tlv__tensor_write(m->dev, &m->w.rope_table, table, err);
    tlv__free(m->alloc, table);
    return s;
}

/* The two passes over src: find everything (names, shapes, dtypes, byte total), then upload.
 * plan_only: the first pass alone (no device). */
static tlv_status bind_all(tlv_model_core *m, tlv_weight_source *src, int plan_only, tlv_load_progress_fn progress,
                           void *progress_ud, tlv_err *err)
{
    binder b = {m, src, err, 0, 0, progress, progress_ud, 1, TLV_PART_VISION, 0, 0};
    tlv_status s;
    if ((s = bind_vision(&b)) || (s = bind_llm(&b))) return s;
    if (src->check_unused && (s = src->check_unused(src, ignorable, m, err))) return s;
    if (m->llm.arch != TLV_ARCH_OPENELM) {
        if (b.mixed_qkv) m->llm.fused_qkv = 0;
        if (b.mixed_gate_up) m->llm.fused_gate_up = 0;
    }
    if (plan_only) return TLV_OK;
    if (src->reset) src->reset(src);
    b.counting = 0;
    b.done = 0;
    if ((s = bind_vision(&b)) || (s = bind_llm(&b))) return s;
    if (src->finish && (s = src->finish(src, err))) return s;
    m->weight_dtype = m->w.layers[0].o.w.dtype;
    m->tied_head = m->w.lm_head.w.n_slabs == 0;
    return TLV_OK;
}

/* Config, the vocabulary from the embedding table's real size, the architecture. */
static tlv_status read_config(tlv_model_core *m, const char *dir, tlv_weight_source *src, tlv_err *err)
{
    tlv_status s = tlv__config_load(dir, &m->cfg, err);
    if (s) return s;
    /* The embedding table is authoritative for the vocabulary (padded rows included); a
     * quantized one is stored as [rows, row bytes], rows the same. */
    const char *embed_name = m->cfg.llm.arch == TLV_ARCH_OPENELM ? "transformer.token_embeddings.weight" : "model.embed_tokens.weight";
    char name[512];
    snprintf(name, sizeof name, "%s%s", m->cfg.prefix_llm, embed_name);
    const tlv_st_tensor *emb = tlv__checkpoint_find(tlv__source_checkpoint_file(src), name);
    if (emb && emb->ndim == 2) m->cfg.llm.vocab = (int32_t)emb->shape[0];
    return describe(m, dir, err);
}

tlv_status tlv__model_load_recipe(tlv_vk_device *dev, const char *dir, int max_ctx, const tlv_recipe *recipe,
                                  tlv_load_progress_fn progress, void *progress_ud, const tlv_allocator *alloc,
                                  tlv_model_core **out, tlv_err *err)
{
    *out = NULL;
    tlv_model_core *m = tlv__calloc(alloc, 1, sizeof *m);
    if (!m) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory loading %s", dir);
    m->alloc = alloc;
    m->dev = dev;
    if (recipe) m->recipe = *recipe;
    tlv_weight_source *src = NULL;
    tlv_status s;
    /* the config first: a folder without config.json says so before anything about weights */
    if ((s = tlv__config_load(dir, &m->cfg, err))) goto fail;
    if ((s = tlv__source_checkpoint(dev, dir, tlv__recipe_is_identity(recipe) ? NULL : recipe, alloc, &src, err))) goto fail;
    if ((s = read_config(m, dir, src, err))) goto fail;
    if ((s = bind_all(m, src, 0, progress, progress_ud, err))) goto fail;
    if ((s = finish(m, max_ctx, err))) goto fail;
    src->destroy(src);
    *out = m;
    return TLV_OK;
fail:
    if (src) src->destroy(src);
    tlv__model_destroy(m);
    return s;
}

tlv_status tlv__model_load(tlv_vk_device *dev, const char *dir, int max_ctx, tlv_load_progress_fn progress,
                           void *progress_ud, const tlv_allocator *alloc, tlv_model_core **out, tlv_err *err)
{
    return tlv__model_load_recipe(dev, dir, max_ctx, NULL, progress, progress_ud, alloc, out, err);
}

tlv_status tlv__model_plan(const char *dir, tlv_weight_source *src, const tlv_allocator *alloc, tlv_err *err)
{
    tlv_model_core *m = tlv__calloc(alloc, 1, sizeof *m);
    if (!m) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory planning %s", dir);
    m->alloc = alloc;
    tlv_status s = read_config(m, dir, src, err);
    if (!s) s = bind_all(m, src, 1, NULL, NULL, err);
    tlv__free(alloc, m);
    return s;
}

tlv_status tlv__model_synthetic_recipe(tlv_vk_device *dev, const struct tlv_model_config *cfg, tlv_dtype dtype,
                                       const tlv_recipe *recipe, int max_ctx, const tlv_allocator *alloc,
                                       tlv_model_core **out, tlv_err *err)
{
    *out = NULL;
    tlv_model_core *m = tlv__calloc(alloc, 1, sizeof *m);
    if (!m) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    m->alloc = alloc;
    m->dev = dev;
    m->cfg = *cfg;
    if (recipe) m->recipe = *recipe;
    tlv_weight_source *src = NULL;
    tlv_status s;
    if ((s = describe(m, "(synthetic)", err))) goto fail;
    if ((s = tlv__source_synthetic(dev, m, dtype, tlv__recipe_is_identity(recipe) ? NULL : recipe, &src, err))) goto fail;
    if ((s = bind_all(m, src, 0, NULL, NULL, err))) goto fail;
    if ((s = finish(m, max_ctx, err))) goto fail;
    src->destroy(src);
    *out = m;
    return TLV_OK;
fail:
    if (src) src->destroy(src);
    tlv__model_destroy(m);
    return s;
}

tlv_status tlv__model_synthetic(tlv_vk_device *dev, const struct tlv_model_config *cfg, tlv_dtype dtype, int max_ctx,
                                const tlv_allocator *alloc, tlv_model_core **out, tlv_err *err)
{
    /* a block dtype: F16 weights with that recipe (the bench's -t q8_0, q4_0) */
    tlv_recipe r = {0};
    if (tlv__dtype_is_block(dtype)) {
        r.llm_quant = 1;
        r.llm = dtype;
        dtype = TLV_F16;
    }
    return tlv__model_synthetic_recipe(dev, cfg, dtype, &r, max_ctx, alloc, out, err);
}
