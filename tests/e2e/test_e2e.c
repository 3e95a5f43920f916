/* One reference case end to end through the public API: prompt ids, pixels, image features,
 * last-prompt logits and 16 greedy ids against expected.json (fixtures/README.md).
 *
 * Tolerances (fixtures/README.md "Suggested tolerances"; we compute in f32 with the stored
 * fp16/bf16/f32 weights, as the reference does):
 *   prompt ids, generated ids       exact
 *   pixel_values                    1e-5 (PNG: Pillow-exact resize); 0.05 (JPEG: decoders differ)
 *   image_features                  1e-3 absolute (PNG); 0.05 (JPEG, through the decoder difference)
 *   last_prompt_logits              1e-3 absolute (PNG; measured 1e-5 to 6e-5); 0.1 (JPEG)
 * The measured differences are printed. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "engine/engine.h"
#include "tinyllava.h"

tlv_engine_session *tlv__session_engine(tlv_session *s);
uint32_t tlv__context_validation_count(const tlv_context *ctx);

static cJSON *load_json(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = tlv_test_read_file(path, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!j) fprintf(stderr, "cannot read %s\n", path);
    return j;
}

static double max_diff(const cJSON *arr, const float *got, int n, int *count_mismatch)
{
    double worst = 0;
    int i = 0, m = cJSON_GetArraySize(arr);
    if (m != n) {
        fprintf(stderr, "length %d expected, %d computed\n", m, n);
        *count_mismatch = 1;
        return INFINITY;
    }
    for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next, i++) {
        double d = fabs(e->valuedouble - got[i]);
        if (!(d <= worst)) worst = d; /* NaN makes it NaN */
    }
    return worst;
}

static void log_cb(void *ud, tlv_log_level l, const char *msg)
{
    (void)ud;
    (void)l;
    fprintf(stderr, "log: %s\n", msg);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_e2e CASE_DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    cJSON *cs = load_json(dir, "case.json"), *ex = load_json(dir, "expected.json");
    if (!cs || !ex) return 1;
    const char *image = cJSON_GetObjectItem(cs, "image")->valuestring;
    int jpeg = strstr(image, ".jpg") != NULL;
    double tol_px = jpeg ? 0.05 : 1e-5, tol_feat = jpeg ? 0.05 : 1e-3, tol_logit = jpeg ? 0.1 : 1e-3;

    tlv_context_options co;
    tlv_context_options_init(&co);
    co.log = log_cb;
    tlv_context *ctx = NULL;
    tlv_status st = tlv_context_create(&co, &ctx);
    if (st) fprintf(stderr, "%s\n", tlv_context_errmsg(ctx));
    CHECK_EQ_INT(st, TLV_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/model", dir);
    tlv_model *m = NULL;
    st = tlv_model_load(ctx, path, NULL, &m);
    if (st) fprintf(stderr, "%s\n", tlv_context_errmsg(ctx));
    CHECK_EQ_INT(st, TLV_OK);
    tlv_session *s = NULL;
    tlv_session_options so = {512};
    if (m) CHECK_EQ_INT(tlv_session_create(m, &so, &s), TLV_OK);
    if (!s) goto out;

    snprintf(path, sizeof path, "%s/%s", dir, image);
    CHECK_EQ_INT(tlv_session_add_image_file(s, path), TLV_OK);
    const cJSON *turns = cJSON_GetObjectItem(cs, "turns");
    if (turns) {
        int n = cJSON_GetArraySize(turns);
        for (int i = 0; i < n; i++) {
            const cJSON *t = cJSON_GetArrayItem(turns, i), *a = cJSON_GetObjectItem(t, "assistant");
            const char *u = cJSON_GetObjectItem(t, "user")->valuestring;
            if (a) CHECK_EQ_INT(tlv_session_add_turn(s, u, a->valuestring), TLV_OK);
            else CHECK_EQ_INT(tlv_session_add_text(s, u), TLV_OK);
        }
    } else {
        CHECK_EQ_INT(tlv_session_add_text(s, cJSON_GetObjectItem(cs, "prompt")->valuestring), TLV_OK);
    }
    tlv_sampling sp;
    tlv_sampling_init(&sp);
    sp.max_tokens = 16;
    tlv_generate_stats r;
    st = tlv_session_generate(s, &sp, NULL, NULL, &r);
    if (st) fprintf(stderr, "%s\n", tlv_session_errmsg(s));
    CHECK_EQ_INT(st, TLV_OK);

    tlv_engine_session *es = tlv__session_engine(s);
    tlv_engine_trace t;
    tlv__engine_trace(es, &t);
    /* prompt ids */
    const cJSON *ids = cJSON_GetObjectItem(ex, "input_ids");
    int n_ids = cJSON_GetArraySize(ids), same = n_ids == (int)t.n_prompt_ids;
    for (int i = 0; same && i < n_ids; i++) same = cJSON_GetArrayItem(ids, i)->valueint == t.prompt_ids[i];
    CHECK(same);
    /* pixels */
    int S = t.image_size, bad = 0;
    float *px = malloc((size_t)3 * S * S * sizeof(float));
    tlv_err e;
    CHECK_EQ_INT(tlv__engine_image_pixels(es, 0, px, &e), TLV_OK);
    double dpx = max_diff(cJSON_GetObjectItem(ex, "pixel_values"), px, 3 * S * S, &bad);
    free(px);
    /* features */
    int nf = t.n_image_tokens * t.hidden;
    float *feat = malloc((size_t)nf * sizeof(float));
    CHECK_EQ_INT(tlv__engine_image_features(es, 0, feat, &e), TLV_OK);
    double dfeat = max_diff(cJSON_GetObjectItem(ex, "image_features"), feat, nf, &bad);
    free(feat);
    CHECK_EQ_INT(t.n_image_tokens, cJSON_GetObjectItem(ex, "num_image_tokens")->valueint);
    /* logits */
    double dlog = max_diff(cJSON_GetObjectItem(ex, "last_prompt_logits"), t.last_logits, t.vocab, &bad);
    CHECK_EQ_INT(bad, 0);
    printf("%s: max |diff| pixels %.3g (tol %g), features %.3g (tol %g), logits %.3g (tol %g); "
           "image %.0f ms, prefill %u tokens %.0f ms, decode %u tokens %.0f ms\n",
           dir, dpx, tol_px, dfeat, tol_feat, dlog, tol_logit, r.image_ms, r.prompt_tokens, r.prefill_ms,
           r.generated_tokens, r.decode_ms);
    CHECK(dpx <= tol_px);
    CHECK(dfeat <= tol_feat);
    CHECK(dlog <= tol_logit);
    /* greedy ids */
    const cJSON *gen = cJSON_GetObjectItem(ex, "generated_ids");
    int n_gen = cJSON_GetArraySize(gen);
    CHECK_EQ_INT((int)t.n_generated, n_gen);
    for (int i = 0; i < n_gen && i < (int)t.n_generated; i++) CHECK_EQ_INT(t.generated[i], cJSON_GetArrayItem(gen, i)->valueint);
    const cJSON *text = cJSON_GetObjectItem(ex, "generated_text");
    if (text) CHECK_EQ_STR(tlv_session_last_answer(s), text->valuestring);

out:
    tlv_session_destroy(s);
    tlv_model_destroy(m);
    CHECK_EQ_INT(tlv__context_validation_count(ctx), 0);
    tlv_context_destroy(ctx);
    cJSON_Delete(cs);
    cJSON_Delete(ex);
    return tlv_test_finish("test_e2e");
}
