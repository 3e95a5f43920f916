/* Quantized weights end to end on the host side (issue 12 items 2, 3): the recipe's rules, the
 * public API's options and errors, `tlv_model_quantize` writing a checkpoint folder, and loading
 * it, against independent references:
 *
 *   - the recipe table (recipe.h) case by case, and a bad format name on load and on quantize;
 *   - tlv_model_quantize(q_qwen2_siglip, --weights q4_0): the folder's file lists, its tensors'
 *     stored dtypes and tlv.format metadata as the recipe says (linear q4_0, embedding q8_0, the
 *     rest as stored); a second run into the same folder, the source as destination, a cancel
 *     from the progress callback (nothing left behind): errors;
 *   - loading the folder through the public API: every part's format and bytes, the bytes
 *     computed here from the source's shapes (GGUF block sizes), the vision tower and connector
 *     unchanged from the as-published load;
 *   - device weights: quantizing on load (tlv__model_load_recipe) and the written folder give the
 *     same bytes for every tensor, and the quantized ones equal tlv__quantize_tensor's (the
 *     ggml-exact quantizer tests/tensor pins) of the source tensor, uploaded as a tensor of its own;
 *   - the fallback: a fixture with hidden 24 keeps the rows of 24 as stored and quantizes rows
 *     of 64; --vision-weights q8_0 quantizes the tower and the connector where rows allow;
 *   - a quantized folder loaded with another recipe (requantizing: an error), with its own (fine);
 *     its config.json disagreeing with the metadata's logical shape: an error naming both shapes.
 *
 *   test_quant_model Q_QWEN2_DIR SMALL_FIXTURE_DIR Q_PHI_DIR */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/safetensors.h"
#include "model/model.h"
#include "tensor/quant.h"
#include "tinyllava.h"

static void check_recipe_rules(void)
{
    tlv_err err;
    tlv_recipe r;
    tlv_dtype d;
    CHECK_EQ_INT(tlv__recipe_parse(NULL, "", &r, &err), TLV_OK);
    CHECK(tlv__recipe_is_identity(&r));
    CHECK_EQ_INT(tlv__recipe_parse("q5_k", NULL, &r, &err), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.msg, "weights 'q5_k': unknown weight format (expected q8_0 or q4_0");
    CHECK_EQ_INT(tlv__recipe_parse("q4_0", "Q8_0", &r, &err), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(err.msg, "vision weights 'Q8_0'");
    CHECK_EQ_INT(tlv__recipe_parse("q4_0", NULL, &r, &err), TLV_OK);
    CHECK(!tlv__recipe_is_identity(&r));
    /* role, stored, ndim, row -> expected */
    struct {
        tlv_weight_role role;
        tlv_dtype stored;
        int ndim;
        int64_t row;
        tlv_dtype want;
    } q4[] = {
        {TLV_ROLE_LLM_LINEAR, TLV_F16, 2, 64, TLV_Q4_0},   {TLV_ROLE_LLM_LINEAR, TLV_BF16, 2, 2560, TLV_Q4_0},
        {TLV_ROLE_LLM_LINEAR, TLV_F16, 2, 24, TLV_F16},    {TLV_ROLE_LLM_LINEAR, TLV_F32, 2, 88, TLV_F32},
        {TLV_ROLE_EMBED, TLV_F16, 2, 64, TLV_Q8_0},        {TLV_ROLE_HEAD, TLV_BF16, 2, 896, TLV_Q8_0},
        {TLV_ROLE_EMBED, TLV_F16, 2, 48, TLV_F16},         {TLV_ROLE_VISION_LINEAR, TLV_F16, 2, 64, TLV_F16},
        {TLV_ROLE_OTHER, TLV_F16, 2, 64, TLV_F16},         {TLV_ROLE_LLM_LINEAR, TLV_F16, 1, 64, TLV_F16},
        {TLV_ROLE_LLM_LINEAR, TLV_Q4_0, 2, 64, TLV_Q4_0},  {TLV_ROLE_EMBED, TLV_Q8_0, 2, 64, TLV_Q8_0},
        {TLV_ROLE_VISION_LINEAR, TLV_Q8_0, 2, 64, TLV_Q8_0},
    };
    for (size_t i = 0; i < sizeof q4 / sizeof q4[0]; i++) {
        CHECK_EQ_INT(tlv__recipe_dtype(&r, q4[i].role, q4[i].stored, q4[i].ndim, q4[i].row, "f", "t", &d, &err), TLV_OK);
        if (d != q4[i].want) fprintf(stderr, "recipe case %zu: %s\n", i, tlv__dtype_name(d));
        CHECK_EQ_INT(d, q4[i].want);
    }
    /* as published: nothing changes */
    CHECK_EQ_INT(tlv__recipe_dtype(NULL, TLV_ROLE_LLM_LINEAR, TLV_BF16, 2, 64, "f", "t", &d, &err), TLV_OK);
    CHECK_EQ_INT(d, TLV_BF16);
    /* requantizing a quantized tensor to another format */
    CHECK_EQ_INT(tlv__recipe_dtype(&r, TLV_ROLE_LLM_LINEAR, TLV_Q8_0, 2, 64, "dir/model.safetensors", "w", &d, &err),
                 TLV_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "dir/model.safetensors: tensor 'w' is stored as Q8_0; the recipe asks for Q4_0");
    /* vision only, q8_0 */
    CHECK_EQ_INT(tlv__recipe_parse(NULL, "q8_0", &r, &err), TLV_OK);
    CHECK_EQ_INT(tlv__recipe_dtype(&r, TLV_ROLE_VISION_LINEAR, TLV_F16, 2, 1152, "f", "t", &d, &err), TLV_OK);
    CHECK_EQ_INT(d, TLV_Q8_0);
    CHECK_EQ_INT(tlv__recipe_dtype(&r, TLV_ROLE_LLM_LINEAR, TLV_F16, 2, 1152, "f", "t", &d, &err), TLV_OK);
    CHECK_EQ_INT(d, TLV_F16);
    CHECK_EQ_INT(tlv__recipe_dtype(&r, TLV_ROLE_EMBED, TLV_F16, 2, 1152, "f", "t", &d, &err), TLV_OK);
    CHECK_EQ_INT(d, TLV_F16);
    CHECK_EQ_INT(tlv__recipe_dtype(&r, TLV_ROLE_VISION_LINEAR, TLV_F16, 2, 1000, "f", "t", &d, &err), TLV_OK);
    CHECK_EQ_INT(d, TLV_F16);
}

/* The part a source tensor belongs to, by its name (TinyLLaVA Factory layout). */
static tlv_model_part_id part_of(const char *name)
{
    if (!strncmp(name, "vision_tower.", 13)) return TLV_PART_VISION;
    if (!strncmp(name, "connector.", 10)) return TLV_PART_CONNECTOR;
    if (strstr(name, "embed_tokens")) return TLV_PART_EMBED;
    if (strstr(name, "lm_head")) return TLV_PART_HEAD;
    return TLV_PART_LAYERS;
}

static tlv_dtype st_to_dtype(tlv_st_dtype d)
{
    return d == TLV_ST_F32 ? TLV_F32 : d == TLV_ST_F16 ? TLV_F16 : TLV_BF16;
}

/* Every weight tensor of a loaded model, in a fixed order (as tlv__model_destroy walks them). */
static int list_tensors(tlv_model_core *m, tlv_tensor **out, int cap)
{
    int n = 0;
    tlv_model_weights *w = &m->w;
    tlv_tensor *single[] = {&w->patch_w, &w->patch_b, &w->class_emb, &w->pos_emb, &w->pre_norm.w, &w->pre_norm.b,
                            &w->conn1.w, &w->conn1.b, &w->conn2.w, &w->conn2.b, &w->embed, &w->final_norm.w,
                            &w->final_norm.b, &w->lm_head.w, &w->lm_head.b};
    for (size_t i = 0; i < sizeof single / sizeof single[0] && n < cap; i++) out[n++] = single[i];
    for (int l = 0; l < TLV_MAX_LAYERS; l++) {
        tlv_vision_layer *V = &w->vlayers[l];
        tlv_tensor *vt[] = {&V->ln1.w, &V->ln1.b, &V->ln2.w, &V->ln2.b, &V->q.w, &V->q.b, &V->k.w, &V->k.b, &V->v.w, &V->v.b,
                            &V->o.w, &V->o.b, &V->fc1.w, &V->fc1.b, &V->fc2.w, &V->fc2.b};
        tlv_llm_layer *L = &w->layers[l];
        tlv_tensor *lt[] = {&L->attn_norm.w, &L->attn_norm.b, &L->ffn_norm.w, &L->ffn_norm.b, &L->q.w, &L->q.b, &L->k.w,
                            &L->k.b, &L->v.w, &L->v.b, &L->qkv.w, &L->qkv.b, &L->o.w, &L->o.b, &L->q_norm, &L->k_norm,
                            &L->gate.w, &L->gate.b, &L->up.w, &L->up.b, &L->down.w, &L->down.b};
        for (size_t i = 0; i < sizeof vt / sizeof vt[0] && n < cap; i++) out[n++] = vt[i];
        for (size_t i = 0; i < sizeof lt / sizeof lt[0] && n < cap; i++) out[n++] = lt[i];
    }
    return n;
}

static void *read_tensor(tlv_vk_device *dev, const tlv_tensor *t)
{
    tlv_err err;
    uint64_t n = tlv__tensor_bytes(t);
    void *p = malloc(n ? n : 1);
    if (p && tlv__tensor_read(dev, t, p, &err) != TLV_OK) {
        fprintf(stderr, "read: %s\n", err.msg);
        free(p);
        return NULL;
    }
    return p;
}

/* Both models hold the same weights, byte for byte, tensor for tensor; returns the count. */
static int compare_models(tlv_vk_device *dev, tlv_model_core *a, tlv_model_core *b, int *n_quant)
{
    static tlv_tensor *ta[4096], *tb[4096];
    int na = list_tensors(a, ta, 4096), nb = list_tensors(b, tb, 4096), same = 0;
    CHECK_EQ_INT(na, nb);
    *n_quant = 0;
    for (int i = 0; i < na && i < nb; i++) {
        CHECK_EQ_INT(ta[i]->n_slabs, tb[i]->n_slabs);
        if (!ta[i]->n_slabs || ta[i]->n_slabs != tb[i]->n_slabs) continue;
        CHECK_EQ_INT(ta[i]->dtype, tb[i]->dtype);
        CHECK_EQ_INT(tlv__tensor_bytes(ta[i]), tlv__tensor_bytes(tb[i]));
        if (ta[i]->dtype != tb[i]->dtype || tlv__tensor_bytes(ta[i]) != tlv__tensor_bytes(tb[i])) continue;
        void *pa = read_tensor(dev, ta[i]), *pb = read_tensor(dev, tb[i]);
        CHECK(pa && pb);
        int eq = pa && pb && !memcmp(pa, pb, tlv__tensor_bytes(ta[i]));
        if (!eq) fprintf(stderr, "tensor %d (%s) differs\n", i, tlv__dtype_name(ta[i]->dtype));
        CHECK(eq);
        same += eq;
        *n_quant += eq && tlv__dtype_is_block(ta[i]->dtype);
        free(pa);
        free(pb);
    }
    return same;
}

/* The device tensor t equals tlv__quantize_tensor(fmt) of checkpoint tensor name, uploaded to a
 * tensor of its own and read back (so the comparison holds whatever the device layout). */
static void check_against_reference(tlv_vk_device *dev, const tlv_checkpoint *ck, const char *name, const tlv_tensor *t,
                                    tlv_dtype fmt)
{
    tlv_err err;
    const tlv_st_tensor *st = tlv__checkpoint_find(ck, name);
    CHECK(st != NULL);
    CHECK_EQ_INT(t->dtype, fmt);
    if (!st || t->dtype != fmt || st->ndim != 2) return;
    uint64_t bytes = (uint64_t)st->shape[0] * tlv__dtype_row_bytes(fmt, st->shape[1]);
    uint8_t *ref = malloc(bytes);
    CHECK_EQ_INT(tlv__quantize_tensor(name, st_to_dtype(st->dtype), st->data, st->shape[0], st->shape[1], fmt, ref, &err),
                 TLV_OK);
    tlv_tensor r;
    tlv__tensor_init(&r, fmt, 2, st->shape);
    CHECK_EQ_INT(tlv__tensor_alloc(dev, &r, TLV_MEM_DEVICE, &err), TLV_OK);
    CHECK_EQ_INT(tlv__tensor_write(dev, &r, ref, &err), TLV_OK);
    void *a = read_tensor(dev, &r), *b = read_tensor(dev, t);
    int eq = a && b && tlv__tensor_bytes(t) == bytes && !memcmp(a, b, bytes);
    if (!eq) fprintf(stderr, "%s: device bytes differ from tlv__quantize_tensor's\n", name);
    CHECK(eq);
    free(a);
    free(b);
    free(ref);
    tlv__tensor_free(dev, &r);
}

typedef struct progress_rec {
    int calls;
    uint64_t last_done, last_total;
    int monotonic;
    char stage[16];
} progress_rec;

static int on_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    progress_rec *p = ud;
    if (done < p->last_done) p->monotonic = 0;
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    snprintf(p->stage, sizeof p->stage, "%s", stage);
    return 0;
}

static int cancel_now(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    (void)ud;
    (void)stage;
    return done > 0 && done < total;
}

static void get_parts(tlv_model *m, tlv_model_part *parts)
{
    CHECK_EQ_INT(tlv_model_part_count(m), TLV_PART_COUNT);
    for (uint32_t i = 0; i < TLV_PART_COUNT; i++) CHECK_EQ_INT(tlv_model_get_part(m, i, &parts[i]), TLV_OK);
}

static int file_exists(const char *dir, const char *name)
{
    char p[2048];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static void rm_tree(const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* Copies src folder to dst with config.json's first `from` replaced by `to`. */
static int copy_with_config_edit(const char *src, const char *dst, const char *from, const char *to)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cp -rL '%s' '%s'", src, dst);
    if (system(cmd) != 0) return 0;
    char path[2048];
    snprintf(path, sizeof path, "%s/config.json", dst);
    size_t len = 0;
    char *text = tlv_test_read_file(path, &len);
    char *at = text ? strstr(text, from) : NULL;
    if (!at) {
        free(text);
        return 0;
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(text, 1, (size_t)(at - text), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    fclose(f);
    free(text);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: test_quant_model Q_QWEN2_DIR SMALL_FIXTURE_DIR Q_PHI_DIR\n");
        return 2;
    }
    const char *src = argv[1], *small = argv[2], *phi = argv[3];
    check_recipe_rules();

    char tmp[] = "/tmp/tlv_quant_model_XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char dst[1100], dst_bad[1100];
    snprintf(dst, sizeof dst, "%s/q4", tmp);
    snprintf(dst_bad, sizeof dst_bad, "%s/q4_badconfig", tmp);

    /* ---- tlv_model_quantize through the public API, on a context without Vulkan */
    tlv_context_options co;
    tlv_context_options_init(&co);
    co.no_vulkan = 1;
    tlv_context *nctx = NULL;
    CHECK_EQ_INT(tlv_context_create(&co, &nctx), TLV_OK);
    tlv_model_options mo;
    tlv_model_options_init(&mo);
    CHECK(mo.weights == NULL && mo.vision_weights == NULL);
    /* arguments */
    tlv_model_part none;
    CHECK_EQ_INT(tlv_model_part_count(NULL), 0);
    CHECK_EQ_INT(tlv_model_get_part(NULL, 0, &none), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_model_quantize(NULL, src, dst, &mo), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_model_quantize(nctx, src, NULL, &mo), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_model_quantize(nctx, src, "", &mo), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_model_quantize(nctx, NULL, dst, &mo), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv_model_quantize(nctx, src, dst, NULL), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(tlv_context_errmsg(nctx), "no format given");
    CHECK_EQ_INT(tlv_model_quantize(nctx, src, dst, &mo), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(tlv_context_errmsg(nctx), "no format given");
    mo.weights = "q4_1";
    CHECK_EQ_INT(tlv_model_quantize(nctx, src, dst, &mo), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(tlv_context_errmsg(nctx), "weights 'q4_1': unknown weight format");
    CHECK(!file_exists(dst, "config.json"));
    mo.weights = "q4_0";
    /* cancelled from the progress callback: nothing but the folder is left */
    mo.progress = cancel_now;
    CHECK_EQ_INT(tlv_model_quantize(nctx, src, dst, &mo), TLV_ERR_CANCELLED);
    CHECK(!file_exists(dst, "model.safetensors"));
    CHECK(!file_exists(dst, "model.safetensors.tmp"));
    CHECK(!file_exists(dst, "config.json"));
    progress_rec pr = {0, 0, 0, 1, ""};
    mo.progress = on_progress;
    mo.progress_user_data = &pr;
    tlv_status st = tlv_model_quantize(nctx, src, dst, &mo);
    if (st) fprintf(stderr, "quantize: %s\n", tlv_context_errmsg(nctx));
    CHECK_EQ_INT(st, TLV_OK);
    CHECK(pr.calls > 0 && pr.monotonic && pr.last_done == pr.last_total && pr.last_total > 0);
    CHECK_EQ_STR(pr.stage, "quantize");
    static const char *const side[] = {"config.json", "preprocessor_config.json", "tokenizer_config.json", "vocab.json",
                                       "merges.txt", "special_tokens_map.json", "generation_config.json",
                                       "model.safetensors"};
    for (size_t i = 0; i < sizeof side / sizeof side[0]; i++) {
        if (!file_exists(dst, side[i])) fprintf(stderr, "%s missing from %s\n", side[i], dst);
        CHECK(file_exists(dst, side[i]));
    }
    /* again into the same folder; the source as destination */
    mo.progress = NULL;
    CHECK_EQ_INT(tlv_model_quantize(nctx, src, dst, &mo), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(tlv_context_errmsg(nctx), "already holds a checkpoint (model.safetensors)");
    CHECK(tlv_model_quantize(nctx, src, src, &mo) != TLV_OK);
    CHECK_CONTAINS(tlv_context_errmsg(nctx), "the destination is the source folder");

    /* ---- the written file: stored dtypes and formats as the recipe says */
    tlv_err err;
    tlv_checkpoint *ck_src = NULL, *ck_dst = NULL;
    CHECK_EQ_INT(tlv__checkpoint_open(src, NULL, &ck_src, &err), TLV_OK);
    CHECK_EQ_INT(tlv__checkpoint_open(dst, NULL, &ck_dst, &err), TLV_OK);
    if (!ck_src || !ck_dst) return tlv_test_finish("test_quant_model");
    CHECK_EQ_INT(tlv__checkpoint_count(ck_src), tlv__checkpoint_count(ck_dst));
    CHECK_EQ_STR(tlv__checkpoint_metadata(ck_dst, "tlv.quant.version"), "1");
    uint64_t want_bytes[TLV_PART_COUNT] = {0};
    int n_q4 = 0, n_q8 = 0;
    for (size_t i = 0; i < tlv__checkpoint_count(ck_src); i++) {
        const tlv_st_tensor *s = tlv__checkpoint_at(ck_src, i), *d = tlv__checkpoint_find(ck_dst, s->name);
        CHECK(d != NULL);
        if (!d) continue;
        tlv_model_part_id part = part_of(s->name);
        tlv_dtype want = st_to_dtype(s->dtype);
        if (s->ndim == 2 && s->shape[1] % 32 == 0 && (part == TLV_PART_LAYERS || part == TLV_PART_EMBED || part == TLV_PART_HEAD))
            want = part == TLV_PART_LAYERS ? TLV_Q4_0 : TLV_Q8_0;
        tlv_st_logical l;
        CHECK_EQ_INT(tlv__checkpoint_logical(ck_dst, d, &l, &err), TLV_OK);
        if (l.dtype != want) fprintf(stderr, "%s: stored as %s, expected %s\n", s->name, tlv__dtype_name(l.dtype), tlv__dtype_name(want));
        CHECK_EQ_INT(l.dtype, want);
        CHECK_EQ_INT(l.n_elems, s->n_elems);
        n_q4 += want == TLV_Q4_0;
        n_q8 += want == TLV_Q8_0;
        if (tlv__dtype_is_block(want)) {
            CHECK_EQ_INT(d->dtype, TLV_ST_U8);
            CHECK_EQ_INT(d->shape[1], s->shape[1] / 32 * (want == TLV_Q4_0 ? 18 : 34));
        } else {
            CHECK(d->n_bytes == s->n_bytes && !memcmp(d->data, s->data, s->n_bytes));
        }
        if (part != TLV_PART_VISION && part != TLV_PART_CONNECTOR) want_bytes[part] += d->n_bytes;
    }
    CHECK_EQ_INT(n_q4, 2 * 7); /* q, k, v, o, gate, up, down in each of 2 layers */
    CHECK_EQ_INT(n_q8, 1);     /* the embedding (the head is tied) */
    tlv_context_destroy(nctx);

    /* ---- loading: through the public API, parts and bytes */
    tlv_context_options_init(&co);
    tlv_context *ctx = NULL;
    CHECK_EQ_INT(tlv_context_create(&co, &ctx), TLV_OK);
    tlv_model *m_pub = NULL, *m_plain = NULL;
    tlv_model_options_init(&mo);
    mo.weights = "q3";
    CHECK_EQ_INT(tlv_model_load(ctx, src, &mo, &m_pub), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(tlv_context_errmsg(ctx), "weights 'q3': unknown weight format");
    mo.weights = NULL;
    mo.vision_weights = "int8";
    CHECK_EQ_INT(tlv_model_load(ctx, src, &mo, &m_pub), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(tlv_context_errmsg(ctx), "vision weights 'int8'");
    CHECK(m_pub == NULL);
    CHECK_EQ_INT(tlv_model_load(ctx, dst, NULL, &m_pub), TLV_OK);
    CHECK_EQ_INT(tlv_model_load(ctx, src, NULL, &m_plain), TLV_OK);
    if (m_pub && m_plain) {
        tlv_model_part pq[TLV_PART_COUNT], pp[TLV_PART_COUNT];
        get_parts(m_pub, pq);
        get_parts(m_plain, pp);
        CHECK_EQ_STR(pq[TLV_PART_VISION].name, "vision tower");
        CHECK_EQ_STR(pq[TLV_PART_LAYERS].name, "LLM layers");
        CHECK_EQ_STR(pq[TLV_PART_EMBED].format, "Q8_0");
        CHECK_EQ_STR(pq[TLV_PART_LAYERS].format, "Q4_0");
        CHECK_EQ_STR(pq[TLV_PART_LAYERS].vector_format, "BF16");
        CHECK_EQ_STR(pq[TLV_PART_HEAD].format, "tied");
        CHECK_EQ_STR(pq[TLV_PART_VISION].format, "BF16");
        CHECK_EQ_STR(pq[TLV_PART_CONNECTOR].format, "BF16");
        CHECK_EQ_STR(pp[TLV_PART_LAYERS].format, "BF16");
        CHECK_EQ_STR(pp[TLV_PART_EMBED].format, "BF16");
        for (int p = 0; p < TLV_PART_COUNT; p++) {
            if (p == TLV_PART_VISION || p == TLV_PART_CONNECTOR) {
                CHECK_EQ_INT(pq[p].bytes, pp[p].bytes);
                CHECK_EQ_STR(pq[p].format, pp[p].format);
            } else {
                CHECK_EQ_INT(pq[p].bytes, want_bytes[p]);
            }
            CHECK_EQ_INT(pq[p].n_params, pp[p].n_params);
            CHECK_EQ_INT(pq[p].n_tensors, pp[p].n_tensors);
        }
        CHECK_EQ_INT(pq[TLV_PART_EMBED].bytes, 1024 * 68);
        tlv_model_info info;
        CHECK_EQ_INT(tlv_model_get_info(m_pub, &info), TLV_OK);
        CHECK_EQ_STR(info.weight_dtype, "Q4_0");
        uint64_t sum = 0;
        for (int p = 0; p < TLV_PART_COUNT; p++) sum += pq[p].bytes;
        CHECK_EQ_INT(sum, info.device_bytes);
        CHECK_EQ_INT(tlv_model_get_part(m_pub, TLV_PART_COUNT, &none), TLV_ERR_NOT_FOUND);
    }
    tlv_model_destroy(m_pub);
    tlv_model_destroy(m_plain);
    tlv_context_destroy(ctx);

    /* ---- device weights: quantize on load == the written folder == tlv__quantize_tensor */
    tlv_vk_instance *inst = NULL;
    tlv_vk_instance_options io = {0};
    CHECK_EQ_INT(tlv__vk_instance_create(&io, &inst, &err), TLV_OK);
    tlv_vk_device_options dopt = {""};
    tlv_vk_device *dev = NULL;
    if (inst) CHECK_EQ_INT(tlv__vk_device_create(inst, 0, &dopt, &dev, &err), TLV_OK);
    if (dev) {
        tlv_recipe q4;
        CHECK_EQ_INT(tlv__recipe_parse("q4_0", NULL, &q4, &err), TLV_OK);
        tlv_model_core *a = NULL, *b = NULL;
        CHECK_EQ_INT(tlv__model_load_recipe(dev, src, 64, &q4, NULL, NULL, NULL, &a, &err), TLV_OK);
        CHECK_EQ_INT(tlv__model_load(dev, dst, 64, NULL, NULL, NULL, &b, &err), TLV_OK);
        if (a && b) {
            int n_quant = 0;
            int same = compare_models(dev, a, b, &n_quant);
            CHECK(same > 30);
            /* fused q/k/v and gate/up: 2 layers x (qkv, o, gate_up, down) + the embedding */
            CHECK_EQ_INT(n_quant, 2 * 4 + 1);
            CHECK_EQ_INT(a->llm.fused_qkv, 1);
            CHECK_EQ_INT(a->llm.fused_gate_up, 1);
            check_against_reference(dev, ck_src, "language_model.model.embed_tokens.weight", &a->w.embed, TLV_Q8_0);
            check_against_reference(dev, ck_src, "language_model.model.layers.1.mlp.down_proj.weight", &a->w.layers[1].down.w,
                                    TLV_Q4_0);
            check_against_reference(dev, ck_src, "language_model.model.layers.0.self_attn.o_proj.weight", &b->w.layers[0].o.w,
                                    TLV_Q4_0);
        }
        tlv__model_destroy(a);
        tlv__model_destroy(b);

        /* the same recipe on the quantized folder: fine; another: requantizing, an error */
        a = NULL;
        CHECK_EQ_INT(tlv__model_load_recipe(dev, dst, 64, &q4, NULL, NULL, NULL, &a, &err), TLV_OK);
        tlv__model_destroy(a);
        a = NULL;
        tlv_recipe q8;
        CHECK_EQ_INT(tlv__recipe_parse("q8_0", NULL, &q8, &err), TLV_OK);
        CHECK_EQ_INT(tlv__model_load_recipe(dev, dst, 64, &q8, NULL, NULL, NULL, &a, &err), TLV_ERR_UNSUPPORTED);
        CHECK_CONTAINS(err.msg, "is stored as Q4_0; the recipe asks for Q8_0");
        CHECK(a == NULL);

        /* config.json disagreeing with the metadata's logical shape */
        CHECK(copy_with_config_edit(dst, dst_bad, "\"intermediate_size\": 192", "\"intermediate_size\": 160"));
        CHECK_EQ_INT(tlv__model_load(dev, dst_bad, 64, NULL, NULL, NULL, &a, &err), TLV_ERR_SHAPE);
        CHECK_CONTAINS(err.msg, "__metadata__ gives q4_0 [64, 192], the config implies [64, 160]");

        /* fallback: rows of 24 stay F16, rows of 64 (down_proj) take q4_0; the 151936-row
         * embedding of width 24 stays F16 */
        CHECK_EQ_INT(tlv__model_load_recipe(dev, small, 64, &q4, NULL, NULL, NULL, &a, &err), TLV_OK);
        if (a) {
            CHECK_EQ_INT(a->w.embed.dtype, TLV_F16);
            CHECK_EQ_INT(a->w.layers[0].down.w.dtype, TLV_Q4_0);
            CHECK_EQ_INT(a->w.layers[0].o.w.dtype, TLV_F16);
            CHECK_EQ_INT(a->w.layers[0].qkv.w.dtype, TLV_F16);
            CHECK_EQ_INT(a->parts[TLV_PART_LAYERS].matrix_bytes[TLV_Q4_0], a->llm.n_layer * 24 * (64 / 32 * 18));
            CHECK(a->parts[TLV_PART_LAYERS].matrix_bytes[TLV_F16] > 0);
        }
        tlv__model_destroy(a);
        a = NULL;

        /* --vision-weights q8_0: the tower's and connector's linear weights where rows allow (32,
         * 64), patch convolution and positions as stored; an untied head takes q8_0 */
        tlv_recipe v8;
        CHECK_EQ_INT(tlv__recipe_parse("q4_0", "q8_0", &v8, &err), TLV_OK);
        CHECK_EQ_INT(tlv__model_load_recipe(dev, phi, 64, &v8, NULL, NULL, NULL, &a, &err), TLV_OK);
        if (a) {
            CHECK_EQ_INT(a->w.vlayers[0].q.w.dtype, TLV_Q8_0);
            CHECK_EQ_INT(a->w.vlayers[0].fc2.w.dtype, TLV_Q8_0);
            CHECK_EQ_INT(a->w.conn1.w.dtype, TLV_Q8_0);
            CHECK_EQ_INT(a->w.conn2.w.dtype, TLV_Q8_0);
            CHECK_EQ_INT(a->w.patch_w.dtype, TLV_F16);
            CHECK_EQ_INT(a->w.pos_emb.dtype, TLV_F16);
            CHECK_EQ_INT(a->w.lm_head.w.dtype, TLV_Q8_0);
            CHECK_EQ_INT(a->w.embed.dtype, TLV_Q8_0);
            CHECK_EQ_INT(a->w.lm_head.b.dtype, TLV_F16);
            CHECK_EQ_INT(a->w.layers[0].o.w.dtype, TLV_Q4_0);
            CHECK_EQ_INT(a->w.final_norm.w.dtype, TLV_F16);
            CHECK_EQ_INT(a->tied_head, 0);
        }
        tlv__model_destroy(a);
        a = NULL;

        /* synthetic weights (the bench's -t q4_0): the same recipe on f16 */
        tlv_model_config cfg;
        CHECK_EQ_INT(tlv__config_load(src, &cfg, &err), TLV_OK);
        CHECK_EQ_INT(tlv__model_synthetic(dev, &cfg, TLV_Q4_0, 64, NULL, &a, &err), TLV_OK);
        if (a) {
            CHECK_EQ_INT(a->w.layers[1].qkv.w.dtype, TLV_Q4_0);
            CHECK_EQ_INT(a->w.layers[1].down.w.dtype, TLV_Q4_0);
            CHECK_EQ_INT(a->w.embed.dtype, TLV_Q8_0);
            CHECK_EQ_INT(a->w.vlayers[0].q.w.dtype, TLV_F16);
            CHECK_EQ_INT(a->w.final_norm.w.dtype, TLV_F16);
            CHECK_EQ_INT(a->parts[TLV_PART_EMBED].bytes, 1024 * 68);
            CHECK_EQ_INT(a->parts[TLV_PART_LAYERS].matrix_bytes[TLV_Q4_0], want_bytes[TLV_PART_LAYERS] - 2 * 256 * 2 - 64 * 2);
        }
        tlv__model_destroy(a);
    }
    tlv__vk_device_destroy(dev);
    CHECK_EQ_INT(tlv__vk_instance_validation_count(inst), 0);
    tlv__vk_instance_destroy(inst);
    tlv__checkpoint_destroy(ck_src);
    tlv__checkpoint_destroy(ck_dst);
    rm_tree(tmp);
    return tlv_test_finish("test_quant_model");
}
