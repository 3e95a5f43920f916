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

#include "api_internal.h"
#include "tinyllava.h"

#include "fixture_json.h"

static double max_diff(const cJSON *arr, const void *data, int n, int *count_mismatch)
{
    const float *got = data;
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

    /* every stage through tlv_session_inspect, as `tinyllava run --dump` reads them */
    tlv_array prompt, pixels, features, logits, gen;
    CHECK_EQ_INT(tlv_session_inspect(s, "prompt_ids", 0, &prompt), TLV_OK);
    CHECK_EQ_INT(tlv_session_inspect(s, "pixel_values", 0, &pixels), TLV_OK);
    CHECK_EQ_INT(tlv_session_inspect(s, "image_features", 0, &features), TLV_OK);
    CHECK_EQ_INT(tlv_session_inspect(s, "last_logits", 0, &logits), TLV_OK);
    CHECK_EQ_INT(tlv_session_inspect(s, "generated_ids", 0, &gen), TLV_OK);
    CHECK(prompt.type == TLV_ARRAY_I32 && gen.type == TLV_ARRAY_I32 && pixels.type == TLV_ARRAY_F32 &&
          features.type == TLV_ARRAY_F32 && logits.type == TLV_ARRAY_F32);
    /* prompt ids */
    const cJSON *ids = cJSON_GetObjectItem(ex, "input_ids");
    const int32_t *prompt_ids = prompt.data;
    int n_ids = cJSON_GetArraySize(ids), same = n_ids == (int)prompt.count;
    for (int i = 0; same && i < n_ids; i++) same = cJSON_GetArrayItem(ids, i)->valueint == prompt_ids[i];
    CHECK(same);
    /* shapes as the reference gives them */
    const cJSON *pshape = cJSON_GetObjectItem(ex, "pixel_values_shape"), *fshape = cJSON_GetObjectItem(ex, "image_features_shape");
    CHECK_EQ_INT(pixels.ndim, cJSON_GetArraySize(pshape));
    for (int i = 0; i < (int)pixels.ndim && i < 4; i++) CHECK_EQ_INT(pixels.shape[i], cJSON_GetArrayItem(pshape, i)->valueint);
    CHECK_EQ_INT(features.ndim, 2);
    CHECK_EQ_INT(features.shape[0], cJSON_GetArrayItem(fshape, 1)->valueint); /* [1, N, hidden] there */
    CHECK_EQ_INT(features.shape[1], cJSON_GetArrayItem(fshape, 2)->valueint);
    int bad = 0;
    double dpx = max_diff(cJSON_GetObjectItem(ex, "pixel_values"), pixels.data, (int)pixels.count, &bad);
    double dfeat = max_diff(cJSON_GetObjectItem(ex, "image_features"), features.data, (int)features.count, &bad);
    CHECK_EQ_INT(features.shape[0], cJSON_GetObjectItem(ex, "num_image_tokens")->valueint);
    /* logits */
    double dlog = max_diff(cJSON_GetObjectItem(ex, "last_prompt_logits"), logits.data, (int)logits.count, &bad);
    CHECK_EQ_INT(bad, 0);
    printf("%s: max |diff| pixels %.3g (tol %g), features %.3g (tol %g), logits %.3g (tol %g); "
           "image %.0f ms, prefill %u tokens %.0f ms, decode %u tokens %.0f ms\n",
           dir, dpx, tol_px, dfeat, tol_feat, dlog, tol_logit, r.image_ms, r.prompt_tokens, r.prefill_ms,
           r.generated_tokens, r.decode_ms);
    CHECK(dpx <= tol_px);
    CHECK(dfeat <= tol_feat);
    CHECK(dlog <= tol_logit);
    /* greedy ids */
    const cJSON *want = cJSON_GetObjectItem(ex, "generated_ids");
    const int32_t *got = gen.data;
    int n_gen = cJSON_GetArraySize(want);
    CHECK_EQ_INT((int)gen.count, n_gen);
    for (int i = 0; i < n_gen && i < (int)gen.count; i++) CHECK_EQ_INT(got[i], cJSON_GetArrayItem(want, i)->valueint);
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
