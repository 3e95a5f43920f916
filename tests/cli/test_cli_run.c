/* test_cli_run: `tinyllava run` and `tinyllava info` on the four reference fixtures
 * (tests/fixtures, outputs of transformers + TinyLLaVA_Factory; fixtures/README.md).
 *
 *   run --json      prompt_ids, n_image_tokens, generated_ids and text equal expected.json
 *   run --dump DIR  pixel_values.npy [1,3,S,S], image_features.npy [N,hidden], last_logits.npy
 *                   [vocab] against expected.json with tests/e2e/test_e2e.c's tolerances:
 *                   pixels 1e-5 (PNG) / 0.05 (JPEG), features 1e-3 / 0.05, logits 1e-3 / 0.1
 *   run (plain)     stdout is the reference answer and a newline; --verbose adds the stats line
 *   info (--json)   architecture and sizes against case.json, parameters against the
 *                   safetensors header
 * The multi-turn fixture goes through `run` with case.json's single-turn `prompt`, which yields
 * the same token ids (fixtures/README.md). */
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "npy.h"

static char g_root[512];

static const char *const CASES[] = {"phi2_siglip_square", "qwen2_siglip_square", "llama_clip_pad",
                                    "phi2_siglip_pad_multiturn"};

static double max_diff(const npy_array *a, const cJSON *want, const char *what)
{
    int n = cJSON_GetArraySize(want);
    if ((size_t)n != a->n) {
        fprintf(stderr, "%s: %zu values, expected %d\n", what, a->n, n);
        return INFINITY;
    }
    double worst = 0;
    size_t i = 0;
    for (const cJSON *e = want->child; e; e = e->next, i++) {
        double d = fabs(e->valuedouble - a->data[i]);
        if (!(d <= worst)) worst = d; /* NaN sticks */
    }
    return worst;
}

static int same_shape(const npy_array *a, const int64_t *want, int ndim, const char *what)
{
    int ok = a->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = a->shape[i] == want[i];
    if (!ok) {
        fprintf(stderr, "%s: shape (", what);
        for (int i = 0; i < a->ndim; i++) fprintf(stderr, "%s%lld", i ? ", " : "", (long long)a->shape[i]);
        fprintf(stderr, "), expected (");
        for (int i = 0; i < ndim; i++) fprintf(stderr, "%s%lld", i ? ", " : "", (long long)want[i]);
        fprintf(stderr, ")\n");
    }
    return ok;
}

static void run_case(const char *name)
{
    char dir[600], model[700], image[700], dump[700], path[800];
    snprintf(dir, sizeof dir, "%s/%s", FIXTURES, name);
    snprintf(path, sizeof path, "%s/case.json", dir);
    cJSON *cs = ct_json_file(path);
    snprintf(path, sizeof path, "%s/expected.json", dir);
    cJSON *ex = ct_json_file(path);
    CHECK(cs && ex);
    if (!cs || !ex) goto out;
    const char *img = cJSON_GetObjectItem(cs, "image")->valuestring;
    int jpeg = strstr(img, ".jpg") != NULL;
    double tol_px = jpeg ? 0.05 : 1e-5, tol_feat = jpeg ? 0.05 : 1e-3, tol_logit = jpeg ? 0.1 : 1e-3;
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(image, sizeof image, "%s/%s", dir, img);
    snprintf(dump, sizeof dump, "%s/dump_%s", g_root, name);
    const char *prompt = cJSON_GetObjectItem(cs, "prompt")->valuestring;

    proc p;
    const char *args[] = {"run", "-m", model, "--image", image, "-p", prompt, "-n", "16", "--json", "--dump", dump, NULL};
    CHECK_EQ_INT(proc_run(&p, args, NULL, NULL, 120), 0);
    ct_check_clean(&p);
    cJSON *j = cJSON_Parse(p.out.p);
    CHECK(j != NULL);
    if (j) {
        CHECK(ct_same_ids(cJSON_GetObjectItem(j, "prompt_ids"), cJSON_GetObjectItem(ex, "input_ids"), "prompt_ids"));
        CHECK(ct_same_ids(cJSON_GetObjectItem(j, "generated_ids"), cJSON_GetObjectItem(ex, "generated_ids"), "generated_ids"));
        CHECK_EQ_INT(cJSON_GetObjectItem(j, "n_image_tokens")->valueint, cJSON_GetObjectItem(ex, "num_image_tokens")->valueint);
        CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "text")),
                     cJSON_GetObjectItem(ex, "generated_text")->valuestring);
        CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "stop_reason")), "max_tokens");
        const cJSON *tm = cJSON_GetObjectItem(j, "timings");
        CHECK_EQ_INT(cJSON_GetObjectItem(tm, "prefill_tokens")->valueint,
                     cJSON_GetObjectItem(ex, "sequence_length")->valueint);
        CHECK_EQ_INT(cJSON_GetObjectItem(tm, "decode_tokens")->valueint, 16);
        CHECK_EQ_INT(cJSON_GetObjectItem(tm, "reused_tokens")->valueint, 0);
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(tm, "image_encode_ms")));
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(tm, "decode_tok_per_s")));
    } else {
        fprintf(stderr, "stdout: %.2000s\n", p.out.p);
    }
    cJSON_Delete(j);
    proc_free(&p);

    /* the dumps */
    const cJSON *pvs = cJSON_GetObjectItem(ex, "pixel_values_shape"), *ifs = cJSON_GetObjectItem(ex, "image_features_shape");
    int64_t S = cJSON_GetArrayItem(pvs, 2)->valueint;
    int64_t px_shape[4] = {1, 3, S, S};
    int64_t feat_shape[2] = {cJSON_GetArrayItem(ifs, 1)->valueint, cJSON_GetArrayItem(ifs, 2)->valueint};
    int64_t logit_shape[1] = {cJSON_GetArraySize(cJSON_GetObjectItem(ex, "last_prompt_logits"))};
    struct {
        const char *file, *field;
        const int64_t *shape;
        int ndim;
        double tol;
    } dumps[3] = {{"pixel_values.npy", "pixel_values", px_shape, 4, tol_px},
                  {"image_features.npy", "image_features", feat_shape, 2, tol_feat},
                  {"last_logits.npy", "last_prompt_logits", logit_shape, 1, tol_logit}};
    printf("%s:", name);
    for (int i = 0; i < 3; i++) {
        npy_array a;
        snprintf(path, sizeof path, "%s/%s", dump, dumps[i].file);
        CHECK_EQ_INT(npy_load(path, &a), 0);
        if (!a.data) continue;
        CHECK(same_shape(&a, dumps[i].shape, dumps[i].ndim, dumps[i].file));
        double d = max_diff(&a, cJSON_GetObjectItem(ex, dumps[i].field), dumps[i].file);
        printf(" %s max |diff| %.3g (tol %g);", dumps[i].field, d, dumps[i].tol);
        CHECK(d <= dumps[i].tol);
        npy_free(&a);
    }
    printf("\n");
out:
    cJSON_Delete(cs);
    cJSON_Delete(ex);
}

/* The plain answer on stdout and the --verbose stats line. */
static void run_plain(void)
{
    const char *dir = FIXTURES "/phi2_siglip_square";
    cJSON *cs = ct_json_file(FIXTURES "/phi2_siglip_square/case.json");
    cJSON *ex = ct_json_file(FIXTURES "/phi2_siglip_square/expected.json");
    if (!cs || !ex) {
        CHECK(0);
        return;
    }
    char model[700], image[700], want[1024];
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(image, sizeof image, "%s/image.png", dir);
    snprintf(want, sizeof want, "%s\n", cJSON_GetObjectItem(ex, "generated_text")->valuestring);
    const char *prompt = cJSON_GetObjectItem(cs, "prompt")->valuestring;
    proc p;
    const char *args[] = {"run", "--model", model, "--image", image, "--prompt", prompt, "--n-predict", "16", "--verbose", NULL};
    CHECK_EQ_INT(proc_run(&p, args, NULL, NULL, 120), 0);
    CHECK_EQ_STR(p.out.p, want);
    ct_stats st[2];
    CHECK_EQ_INT(ct_parse_stats(p.err.p, st, 2), 1);
    CHECK_EQ_INT(st[0].image_tokens, 48);
    CHECK_EQ_INT(st[0].prompt_tokens, cJSON_GetObjectItem(ex, "sequence_length")->valueint);
    CHECK_EQ_INT(st[0].reused, 0);
    CHECK_EQ_INT(st[0].generated, 16);
    CHECK_EQ_STR(st[0].stop, "max_tokens");
    CHECK_CONTAINS(p.err.p, "tinyllava: info: device: "); /* --verbose logs the device banner */
    ct_check_clean(&p);
    proc_free(&p);

    /* greedy is the default; the same answer with the sampling flags at their "off" values */
    const char *args2[] = {"run", "-m", model, "--image", image, "-p", prompt, "-n", "16", "--temp", "0", "--top-k", "0",
                           "--top-p", "1", "--min-p", "0", "--repeat-penalty", "1", "--seed", "7", "-c", "256", NULL};
    CHECK_EQ_INT(proc_run(&p, args2, NULL, NULL, 120), 0);
    CHECK_EQ_STR(p.out.p, want);
    proc_free(&p);

    /* --kv: the f16 KV cache gives the same greedy answer here (docs/ARCHITECTURE.md "KV cache
     * precision"); --verbose names the cache and its size; anything else is a usage error */
    const char *args3[] = {"run", "-m", model, "--image", image, "-p", prompt, "-n", "16", "-c", "256", "--kv", "f16",
                           "--verbose", NULL};
    CHECK_EQ_INT(proc_run(&p, args3, NULL, NULL, 120), 0);
    CHECK_EQ_STR(p.out.p, want);
    CHECK_CONTAINS(p.err.p, "tinyllava: info: session: 256 positions, KV cache f16, ");
    proc_free(&p);
    const char *args4[] = {"run", "-m", model, "-p", prompt, "--kv", "f8", NULL};
    CHECK_EQ_INT(proc_run(&p, args4, NULL, NULL, 120), 2);
    CHECK_CONTAINS(p.err.p, "--kv: expected f16 or f32, found 'f8'");
    proc_free(&p);
    cJSON_Delete(cs);
    cJSON_Delete(ex);
}

static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Parameters stored in a model.safetensors (its JSON header's shapes). */
static double safetensors_params(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char h8[8];
    if (!f || fread(h8, 1, 8, f) != 8) {
        if (f) fclose(f);
        return -1;
    }
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | h8[i];
    char *hdr = hl < 100000000 ? malloc(hl + 1) : NULL;
    double total = -1;
    if (hdr && fread(hdr, 1, hl, f) == hl) {
        hdr[hl] = 0;
        cJSON *j = cJSON_Parse(hdr);
        total = 0;
        for (const cJSON *t = j ? j->child : NULL; t; t = t->next) {
            const cJSON *shape = cJSON_GetObjectItem(t, "shape");
            if (!shape) continue; /* __metadata__ */
            double n = 1;
            for (const cJSON *d = shape->child; d; d = d->next) n *= d->valuedouble;
            total += n;
        }
        cJSON_Delete(j);
    }
    free(hdr);
    fclose(f);
    return total;
}

static void info_case(const char *name)
{
    char model[700], path[800];
    snprintf(model, sizeof model, "%s/%s/model", FIXTURES, name);
    snprintf(path, sizeof path, "%s/%s/case.json", FIXTURES, name);
    cJSON *cs = ct_json_file(path);
    if (!cs) {
        CHECK(0);
        return;
    }
    const cJSON *llm = cJSON_GetObjectItem(cs, "llm"), *vis = cJSON_GetObjectItem(cs, "vision");
    proc p;
    const char *args[] = {"info", "-m", model, "--json", NULL};
    CHECK_EQ_INT(proc_run(&p, args, NULL, NULL, 60), 0);
    cJSON *j = cJSON_Parse(p.out.p);
    CHECK(j != NULL);
    if (j) {
        CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "llm")), cJSON_GetObjectItem(llm, "arch")->valuestring);
        CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "vision")), cJSON_GetObjectItem(vis, "tower")->valuestring);
        CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "template")), cJSON_GetObjectItem(cs, "conv_mode")->valuestring);
        CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "generation")), "factory");
        CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "dtype")), "F16"); /* weights_dtype float16 */
        CHECK_EQ_INT(num(j, "n_layer"), num(llm, "num_hidden_layers"));
        CHECK_EQ_INT(num(j, "hidden"), num(llm, "hidden_size"));
        CHECK_EQ_INT(num(j, "n_head"), num(llm, "num_attention_heads"));
        CHECK_EQ_INT(num(j, "n_kv_head"), num(llm, "num_key_value_heads"));
        CHECK_EQ_INT(num(j, "head_dim"), num(llm, "head_dim"));
        CHECK_EQ_INT(num(j, "vocab"), num(llm, "vocab_size"));
        /* vision_feature_layer -2: the last encoder layer is not run */
        CHECK_EQ_INT(num(j, "vision_layers"), num(vis, "num_hidden_layers") - 1);
        CHECK_EQ_INT(num(j, "vision_hidden"), num(vis, "hidden_size"));
        CHECK_EQ_INT(num(j, "image_size"), num(vis, "image_size"));
        CHECK_EQ_INT(num(j, "patch_size"), num(vis, "patch_size"));
        CHECK_EQ_INT(num(j, "tokens_per_image"), num(cs, "num_image_tokens"));
        CHECK(num(j, "max_context") >= 512);
        /* the loaded parameters: all but the unused vision tensors (last layer, post_layernorm, head) */
        snprintf(path, sizeof path, "%s/model.safetensors", model);
        double stored = safetensors_params(path), n = num(j, "n_params");
        printf("%s: %.0f parameters loaded of %.0f stored\n", name, n, stored);
        CHECK(n > 0.5 * stored && n <= stored);
        CHECK_EQ_INT(num(j, "device_bytes"), 2 * n); /* F16 */
    }
    cJSON_Delete(j);
    proc_free(&p);

    const char *plain[] = {"info", "-m", model, NULL};
    CHECK_EQ_INT(proc_run(&p, plain, NULL, NULL, 60), 0);
    char want[128];
    snprintf(want, sizeof want, "template     %s\n", cJSON_GetObjectItem(cs, "conv_mode")->valuestring);
    CHECK_CONTAINS(p.out.p, want);
    snprintf(want, sizeof want, "image tokens %d\n", cJSON_GetObjectItem(cs, "num_image_tokens")->valueint);
    CHECK_CONTAINS(p.out.p, want);
    snprintf(want, sizeof want, "llm          %s: %d layers, hidden %d", cJSON_GetObjectItem(llm, "arch")->valuestring,
             cJSON_GetObjectItem(llm, "num_hidden_layers")->valueint, cJSON_GetObjectItem(llm, "hidden_size")->valueint);
    CHECK_CONTAINS(p.out.p, want);
    proc_free(&p);
    cJSON_Delete(cs);
}

int main(int argc, char **argv)
{
    if (ct_setup(argc, argv, g_root, sizeof g_root)) return 1;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) run_case(CASES[i]);
    run_plain();
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) info_case(CASES[i]);
    proc_cleanup();
    return tlv_test_finish("test_cli_run");
}
