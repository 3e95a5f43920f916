/* safetensors reading: a single file and a sharded checkpoint written by gen/make_safetensors.py
 * (values decoded by numpy in st_expected.json), the fixture checkpoints (headers and value sums
 * from numpy in fixture_st.json), the "used" marks, and an out-of-memory pass. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "formats/mapfile.h"
#include "formats/safetensors.h"

static double f16_to_double(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

static double value_at(const tlv_st_tensor *t, uint64_t i)
{
    const uint8_t *p = (const uint8_t *)t->data + i * tlv__st_dtype_size(t->dtype);
    switch (t->dtype) {
    case TLV_ST_F32: { float f; memcpy(&f, p, 4); return f; }
    case TLV_ST_F16: { uint16_t h; memcpy(&h, p, 2); return f16_to_double(h); }
    case TLV_ST_BF16: { uint32_t u = (uint32_t)(p[0] | p[1] << 8) << 16; float f; memcpy(&f, &u, 4); return f; }
    case TLV_ST_I64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    case TLV_ST_U8: return p[0];
    default: return NAN;
    }
}

static cJSON *load_json(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TLV_TEST_DATA, rel);
    size_t n;
    char *s = tlv_test_read_file(path, &n);
    cJSON *j = s ? cJSON_ParseWithLength(s, n) : NULL;
    free(s);
    if (!j) fprintf(stderr, "cannot read %s\n", path);
    return j;
}

/* Every tensor of `exp` (name -> {dtype, shape, file, values}) is in c with those properties, and
 * c has nothing else. */
static void check_against(const tlv_checkpoint *c, const cJSON *exp)
{
    CHECK_EQ_INT(tlv__checkpoint_count(c), cJSON_GetArraySize(exp));
    for (const cJSON *e = exp->child; e; e = e->next) {
        const tlv_st_tensor *t = tlv__checkpoint_find(c, e->string);
        CHECK(t != NULL);
        if (!t) continue;
        CHECK_EQ_STR(tlv__st_dtype_name(t->dtype), cJSON_GetObjectItem(e, "dtype")->valuestring);
        const cJSON *shape = cJSON_GetObjectItem(e, "shape");
        CHECK_EQ_INT(t->ndim, cJSON_GetArraySize(shape));
        uint64_t n = 1;
        int d = 0;
        for (const cJSON *s = shape->child; s; s = s->next, d++) {
            CHECK_EQ_INT(t->shape[d], s->valueint);
            n *= (uint64_t)s->valueint;
        }
        CHECK_EQ_INT(t->n_elems, n);
        CHECK_EQ_INT(t->n_bytes, n * tlv__st_dtype_size(t->dtype));
        const char *base = strrchr(t->file, '/') ? strrchr(t->file, '/') + 1 : t->file;
        CHECK_EQ_STR(base, cJSON_GetObjectItem(e, "file")->valuestring);
        const cJSON *vals = cJSON_GetObjectItem(e, "values");
        CHECK_EQ_INT(cJSON_GetArraySize(vals), n);
        uint64_t i = 0;
        for (const cJSON *v = vals->child; v && i < n; v = v->next, i++) CHECK_NEAR(value_at(t, i), v->valuedouble, 0);
        CHECK(n ? t->data != NULL : t->data == NULL);
    }
    for (size_t i = 1; i < tlv__checkpoint_count(c); i++)
        CHECK(strcmp(tlv__checkpoint_at(c, i - 1)->name, tlv__checkpoint_at(c, i)->name) < 0);
}

static void test_single(const cJSON *exp)
{
    tlv_err err;
    tlv_checkpoint *c = NULL;
    CHECK_EQ_INT(tlv__safetensors_open(TLV_TEST_DATA "/formats/data/st_single/model.safetensors", NULL, &c, &err), TLV_OK);
    if (!c) { fprintf(stderr, "%s\n", err.msg); return; }
    check_against(c, cJSON_GetObjectItem(exp, "st_single"));
    CHECK_EQ_INT(tlv__checkpoint_n_shards(c), 1);
    CHECK_EQ_STR(tlv__checkpoint_metadata(c, "format"), "pt");
    CHECK_EQ_STR(tlv__checkpoint_metadata(c, "note"), "tinyllava-vk test");
    CHECK(tlv__checkpoint_metadata(c, "nothing") == NULL);
    const tlv_st_tensor *t = tlv__checkpoint_find(c, "d.i64");
    CHECK(t && !tlv__st_dtype_supported(t->dtype) && t->dtype == TLV_ST_I64);
    t = tlv__checkpoint_find(c, "f.scalar");
    CHECK(t && t->ndim == 0 && t->n_elems == 1);
    /* align=1 in the generator: the data section starts at an odd offset */
    CHECK(tlv__checkpoint_find(c, "zzz") == NULL && tlv__checkpoint_find(c, "") == NULL);
    tlv__checkpoint_destroy(c);

    /* the same file through the directory entry point */
    CHECK_EQ_INT(tlv__checkpoint_open(TLV_TEST_DATA "/formats/data/st_single", NULL, &c, &err), TLV_OK);
    if (c) CHECK_EQ_INT(tlv__checkpoint_count(c), 7);
    tlv__checkpoint_destroy(c);
}

static void test_sharded(const cJSON *exp)
{
    tlv_err err;
    tlv_checkpoint *c = NULL;
    CHECK_EQ_INT(tlv__checkpoint_open(TLV_TEST_DATA "/formats/data/st_sharded/", NULL, &c, &err), TLV_OK);
    if (!c) { fprintf(stderr, "%s\n", err.msg); return; }
    check_against(c, cJSON_GetObjectItem(exp, "st_sharded"));
    CHECK_EQ_INT(tlv__checkpoint_n_shards(c), 2);
    CHECK_EQ_STR(tlv__checkpoint_metadata(c, "format"), "pt");

    /* marks: bind three, one stays unused, a missing one is reported with the path */
    CHECK_EQ_INT(tlv__checkpoint_n_unused(c), 4);
    const tlv_st_tensor *t;
    CHECK_EQ_INT(tlv__checkpoint_get(c, "language_model.model.embed_tokens.weight", &t, &err), TLV_OK);
    CHECK(tlv__checkpoint_use(c, "connector._connector.0.weight") != NULL);
    CHECK(tlv__checkpoint_use(c, "connector._connector.0.bias") != NULL);
    CHECK(tlv__checkpoint_use(c, "connector._connector.2.bias") == NULL);
    CHECK_EQ_INT(tlv__checkpoint_get(c, "language_model.lm_head.bias", &t, &err), TLV_ERR_NOT_FOUND);
    CHECK(t == NULL);
    CHECK_CONTAINS(err.msg, "st_sharded/: tensor 'language_model.lm_head.bias' not found");
    CHECK_EQ_INT(tlv__checkpoint_n_unused(c), 1);
    for (size_t i = 0; i < tlv__checkpoint_count(c); i++)
        if (!tlv__checkpoint_is_used(c, i)) CHECK_EQ_STR(tlv__checkpoint_at(c, i)->name, "language_model.lm_head.weight");
    tlv__checkpoint_clear_marks(c);
    CHECK_EQ_INT(tlv__checkpoint_n_unused(c), 4);
    tlv__checkpoint_destroy(c);
}

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

static void test_fixtures(void)
{
    const char *dir = fixtures_dir();
    if (!dir) {
        printf("fixtures not found (set TLV_FIXTURES_DIR): skipping the fixture checkpoints\n");
        return;
    }
    cJSON *summ = load_json("formats/data/fixture_st.json");
    CHECK(summ != NULL);
    if (!summ) return;
    int n_cases = 0;
    for (const cJSON *cs = summ->child; cs; cs = cs->next, n_cases++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/model", dir, cs->string);
        tlv_err err;
        tlv_checkpoint *c = NULL;
        CHECK_EQ_INT(tlv__checkpoint_open(path, NULL, &c, &err), TLV_OK);
        if (!c) { fprintf(stderr, "%s\n", err.msg); continue; }
        CHECK_EQ_INT(tlv__checkpoint_count(c), cJSON_GetArraySize(cs));
        for (const cJSON *e = cs->child; e; e = e->next) {
            const tlv_st_tensor *t = tlv__checkpoint_find(c, e->string);
            CHECK(t != NULL);
            if (!t) continue;
            CHECK_EQ_STR(tlv__st_dtype_name(t->dtype), cJSON_GetObjectItem(e, "dtype")->valuestring);
            const cJSON *shape = cJSON_GetObjectItem(e, "shape"), *off = cJSON_GetObjectItem(e, "data_offsets");
            CHECK_EQ_INT(t->ndim, cJSON_GetArraySize(shape));
            int d = 0;
            for (const cJSON *s = shape->child; s; s = s->next, d++) CHECK_EQ_INT(t->shape[d], s->valueint);
            CHECK_EQ_INT(t->n_bytes, off->child->next->valuedouble - off->child->valuedouble);
            double sum = 0, abs_sum = 0;
            for (uint64_t i = 0; i < t->n_elems; i++) {
                double v = value_at(t, i);
                sum += v;
                abs_sum += fabs(v);
            }
            double es = cJSON_GetObjectItem(e, "abs_sum")->valuedouble;
            CHECK_NEAR(abs_sum, es, 1e-9 * es + 1e-12);
            CHECK_NEAR(sum, cJSON_GetObjectItem(e, "sum")->valuedouble, 1e-9 * es + 1e-12);
        }
        tlv__checkpoint_destroy(c);
    }
    CHECK_EQ_INT(n_cases, 4);
    cJSON_Delete(summ);
}

/* Every allocation failure is reported as TLV_ERR_NO_MEMORY and frees what was built. */
static void test_oom(void)
{
    const char *paths[] = {TLV_TEST_DATA "/formats/data/st_single", TLV_TEST_DATA "/formats/data/st_sharded"};
    for (int p = 0; p < 2; p++) {
        int ok = 0;
        for (long k = 0; k < 200 && !ok; k++) {
            tlv_allocator a;
            tlv_test_failing_alloc st;
            tlv_test_failing_alloc_init(&a, &st, k);
            tlv_err err;
            tlv_checkpoint *c = NULL;
            tlv_status s = tlv__checkpoint_open(paths[p], &a, &c, &err);
            if (s == TLV_OK) {
                ok = 1;
                CHECK(c != NULL);
            } else {
                CHECK_EQ_INT(s, TLV_ERR_NO_MEMORY);
                CHECK(c == NULL);
            }
            tlv__checkpoint_destroy(c);
            CHECK_EQ_INT(st.live, 0);
        }
        CHECK(ok);
    }
}

int main(void)
{
    cJSON *exp = load_json("formats/data/st_expected.json");
    CHECK(exp != NULL);
    if (exp) {
        test_single(exp);
        test_sharded(exp);
    }
    cJSON_Delete(exp);
    test_fixtures();
    test_oom();
    return tlv_test_finish("test_safetensors");
}
