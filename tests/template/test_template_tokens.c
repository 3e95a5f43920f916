/* Prompt tokenisation with the split-at-<image> rule: the fixtures' prompts, tokenised with
 * their own tokenizer files, must give expected.json "input_ids" exactly (the reference:
 * tokenizer_image_token with the slow Hugging Face tokenizers; data/fixture_prompts.json). The
 * fixture checkpoints are found through TLV_FIXTURES_DIR, tests/fixtures or
 * /work/shared/fixtures; the test is skipped without them. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <dirent.h>

#include "formats/config.h"
#include "formats/mapfile.h"
#include "text/template.h"
#include "text/tokenizer.h"

static const char *fixtures_dir(void)
{
    static const char *cands[] = {NULL, TLV_TEST_DATA "/fixtures", "/work/shared/fixtures"};
    cands[0] = getenv("TLV_FIXTURES_DIR");
    for (int i = 0; i < 3; i++) {
        char p[1024];
        if (!cands[i]) continue;
        snprintf(p, sizeof p, "%s/phi2_siglip_square/model/config.json", cands[i]);
        if (tlv__file_exists(p)) return cands[i];
    }
    return NULL;
}

static cJSON *load_json(const char *path)
{
    size_t n;
    char *s = tlv_test_read_file(path, &n);
    cJSON *j = s ? cJSON_ParseWithLength(s, n) : NULL;
    free(s);
    return j;
}

/* The prompt of expected.json, tokenised with the case's own tokenizer files and its config's
 * image token id, gives its input_ids. */
static void check_ids(const char *name, const char *model_dir, const char *prompt, int32_t image_id, const cJSON *want)
{
    tlv_tokenizer *tok = NULL;
    tlv_err err;
    CHECK_EQ_INT(tlv__tokenizer_load(model_dir, NULL, &tok, &err), TLV_OK);
    if (!tok) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        return;
    }
    int32_t *ids = NULL;
    size_t n_ids = 0, n_images = 0;
    CHECK_EQ_INT(tlv__template_tokenize(tok, prompt, strlen(prompt), image_id, &ids, &n_ids, &n_images, &err), TLV_OK);
    CHECK_EQ_INT(n_images, 1);
    CHECK_EQ_INT(n_ids, cJSON_GetArraySize(want));
    size_t i = 0;
    int first_bad = -1;
    for (const cJSON *e = want->child; e && i < n_ids; e = e->next, i++)
        if (ids[i] != (int32_t)e->valuedouble && first_bad < 0) first_bad = (int)i;
    CHECK_EQ_INT(first_bad, -1);
    if (first_bad >= 0) fprintf(stderr, "%s: first difference at id %d\n", name, first_bad);
    tlv__free(tlv__tokenizer_allocator(tok), ids);
    tlv__tokenizer_destroy(tok);
}

static void test_models_cases(void)
{
    DIR *d = opendir(TLV_TEST_DATA "/models");
    if (!d) {
        printf("tests/models not found: skipped\n");
        return;
    }
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char path[1200], dir[1200];
        snprintf(path, sizeof path, "%s/models/%s/expected.json", TLV_TEST_DATA, e->d_name);
        cJSON *exp = e->d_name[0] != '.' ? load_json(path) : NULL;
        if (!exp) continue;
        snprintf(dir, sizeof dir, "%s/models/%s/model", TLV_TEST_DATA, e->d_name);
        tlv_model_config *cfg = calloc(1, sizeof *cfg);
        tlv_err err;
        CHECK_EQ_INT(tlv__config_load(dir, cfg, &err), TLV_OK);
        check_ids(e->d_name, dir, cJSON_GetObjectItem(exp, "prompt")->valuestring, cfg->image_token_index,
                  cJSON_GetObjectItem(exp, "input_ids"));
        free(cfg);
        cJSON_Delete(exp);
        n++;
    }
    closedir(d);
    printf("%d tests/models cases\n", n);
}

int main(void)
{
    test_models_cases();
    const char *fx = fixtures_dir();
    if (!fx) {
        printf("fixtures not found (set TLV_FIXTURES_DIR): skipped\n");
        return tlv_test_finish("test_template_tokens");
    }
    size_t n;
    char *s = tlv_test_read_file(TLV_TEST_DATA "/template/data/fixture_prompts.json", &n);
    cJSON *all = s ? cJSON_ParseWithLength(s, n) : NULL;
    free(s);
    CHECK(all != NULL);
    int n_cases = 0;
    for (const cJSON *c = all ? all->child : NULL; c; c = c->next, n_cases++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s/model", fx, c->string);
        tlv_tokenizer *tok = NULL;
        tlv_err err;
        CHECK_EQ_INT(tlv__tokenizer_load(dir, NULL, &tok, &err), TLV_OK);
        if (!tok) {
            fprintf(stderr, "%s: %s\n", c->string, err.msg);
            continue;
        }
        const char *prompt = cJSON_GetObjectItem(c, "prompt")->valuestring;
        const cJSON *want = cJSON_GetObjectItem(c, "input_ids");
        int32_t *ids = NULL;
        size_t n_ids = 0, n_images = 0;
        CHECK_EQ_INT(tlv__template_tokenize(tok, prompt, strlen(prompt), TLV_IMAGE_TOKEN_ID, &ids, &n_ids, &n_images, &err),
                     TLV_OK);
        CHECK_EQ_INT(n_images, 1);
        CHECK_EQ_INT(n_ids, cJSON_GetArraySize(want));
        size_t i = 0;
        int first_bad = -1;
        for (const cJSON *e = want->child; e && i < n_ids; e = e->next, i++)
            if (ids[i] != (int32_t)e->valuedouble && first_bad < 0) first_bad = (int)i;
        CHECK_EQ_INT(first_bad, -1);
        if (first_bad >= 0) fprintf(stderr, "%s: first difference at id %d\n", c->string, first_bad);
        /* one BOS at most, and only at the front */
        int32_t bos = tlv__tokenizer_bos(tok);
        for (i = 1; i < n_ids && bos >= 0 && tlv__tokenizer_adds_bos(tok); i++) CHECK(ids[i] != bos);
        tlv__free(tlv__tokenizer_allocator(tok), ids);

        /* text without a placeholder: one chunk, no sentinel */
        CHECK_EQ_INT(tlv__template_tokenize(tok, "USER: hi", 8, TLV_IMAGE_TOKEN_ID, &ids, &n_ids, &n_images, &err), TLV_OK);
        CHECK_EQ_INT(n_images, 0);
        for (i = 0; i < n_ids; i++) CHECK(ids[i] != TLV_IMAGE_TOKEN_ID);
        tlv__free(tlv__tokenizer_allocator(tok), ids);
        /* two placeholders, the second at the very end: two sentinels, in place */
        const char *two = "<image>\na<image>";
        CHECK_EQ_INT(tlv__template_tokenize(tok, two, strlen(two), 32000, &ids, &n_ids, &n_images, &err), TLV_OK);
        CHECK_EQ_INT(n_images, 2);
        if (n_ids) CHECK_EQ_INT(ids[n_ids - 1], 32000);
        tlv__free(tlv__tokenizer_allocator(tok), ids);
        tlv__tokenizer_destroy(tok);
    }
    CHECK_EQ_INT(n_cases, 4);
    cJSON_Delete(all);
    return tlv_test_finish("test_template_tokens");
}
