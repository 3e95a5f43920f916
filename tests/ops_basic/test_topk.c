/* test_topk.c: tlv__op_argmax and tlv__op_topk against a C reference (a full sort).
 *
 * Order under test (torch.argmax / torch.topk): larger value first; equal values by lower index;
 * NaN above +inf (so argmax of a row holding a NaN is its first NaN); -inf is an ordinary value.
 * Error measure: exact indices and exact values. Vocab sizes up to 256000 (Gemma), rows 1..33,
 * k in {1, 5, 40, 64}; rows with many ties, NaNs, all-equal and all -inf rows, and ascending rows
 * (every element enters the kept list: the longest loops). */
#include <math.h>
#include <stdlib.h>

#include "ops/basic.h"
#include "ops_common.h"

static const float *sort_vals;

/* 1 if (a) ranks before (b) */
static int ranks_before(int32_t a, int32_t b)
{
    float va = sort_vals[a], vb = sort_vals[b];
    int na = isnan(va), nb = isnan(vb);
    if (na != nb) return na;
    if (!na && va != vb) return va > vb;
    return a < b;
}

static int cmp_rank(const void *pa, const void *pb)
{
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return a == b ? 0 : ranks_before(a, b) ? -1 : 1;
}

enum { DATA_RANDOM, DATA_TIES, DATA_NAN, DATA_EQUAL, DATA_NEGINF, DATA_ASCENDING };
static const char *data_name[] = {"random", "ties", "nan", "all-equal", "-inf", "ascending"};

static void fill_row(float *x, int64_t n, int kind, uint64_t *st)
{
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case DATA_TIES: x[i] = (float)(tlv_test_rand_u32(st) % 7); break;
        case DATA_EQUAL: x[i] = 0.25f; break;
        case DATA_NEGINF: x[i] = -INFINITY; break;
        case DATA_ASCENDING: x[i] = (float)i; break; /* every element beats the kept k: the most work */
        default: x[i] = tlv_test_rand_uniform(st, -20, 20); break;
        }
    }
    if (kind == DATA_NAN) {
        x[n / 2] = NAN;
        x[n - 1] = NAN;
        x[0] = INFINITY;
    }
    if (kind == DATA_NEGINF && n > 3) x[n - 2] = -1e30f;
}

static void case_topk(tlv_test_gpu *g, int64_t rows, int64_t n, uint32_t k, int kind, int argmax, uint64_t seed)
{
    char what[160];
    snprintf(what, sizeof what, "%s rows=%lld n=%lld k=%u data=%s", argmax ? "argmax" : "topk", (long long)rows,
             (long long)n, k, data_name[kind]);
    if ((uint64_t)n * 4 > g->caps->storage_range_limit) {
        printf("  skipped (a row exceeds the storage range): %s\n", what);
        return;
    }
    size_t ne = (size_t)(rows * n);
    float *x = malloc(ne * sizeof *x);
    uint64_t st = seed;
    for (int64_t r = 0; r < rows; r++) fill_row(x + r * n, n, kind, &st);
    int32_t *ref_i = malloc((size_t)rows * k * sizeof *ref_i), *order = malloc((size_t)n * sizeof *order);
    float *ref_v = malloc((size_t)rows * k * sizeof *ref_v);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < n; i++) order[i] = (int32_t)i;
        sort_vals = x + r * n;
        qsort(order, (size_t)n, sizeof *order, cmp_rank);
        for (uint32_t j = 0; j < k; j++) {
            ref_i[r * k + j] = order[j];
            ref_v[r * k + j] = x[r * n + order[j]];
        }
    }
    int64_t sh[2] = {rows, n}, shv[2] = {rows, k};
    tlv_tensor tx, tv;
    tlv_vk_buffer scratch, idx;
    uint64_t sbytes = tlv__op_topk_scratch_bytes(g->dev, rows, n, k);
    CHECK(tlv_test_tensor_make(g, &tx, TLV_F32, 2, sh, x, 1));
    CHECK(tlv_test_tensor_make(g, &tv, TLV_F32, 2, shv, NULL, 1));
    CHECK(tlv_test_buffer_make(g, &scratch, (size_t)sbytes, NULL, 1));
    CHECK(tlv_test_buffer_make(g, &idx, (size_t)rows * k * 4 + 8, NULL, 1));
    /* indices at byte 8 of their buffer: offsets need not be aligned */
    if (argmax) tlv__op_argmax(g->s, &tx, &scratch, 0, &idx, 8);
    else tlv__op_topk(g->s, &tx, k, &scratch, 0, &idx, 8, &tv);
    if (tlv_test_run(g)) {
        int32_t *got = malloc((size_t)rows * k * 4 + 8);
        if (tlv_test_buffer_download(g, &idx, got, (size_t)rows * k * 4 + 8))
            tlv_test_compare_i32(what, got + 2, ref_i, (size_t)(rows * k));
        CHECK_EQ_INT(got[0], (int32_t)TLV_TEST_SENTINEL); /* the 8 bytes before the indices are untouched */
        CHECK_EQ_INT(got[1], (int32_t)TLV_TEST_SENTINEL);
        free(got);
        if (!argmax) {
            float *gv = tlv_test_tensor_download(g, &tv);
            int bad = 0;
            for (size_t i = 0; gv && i < (size_t)(rows * k); i++)
                if (!(gv[i] == ref_v[i] || (isnan(gv[i]) && isnan(ref_v[i])))) bad++;
            CHECK_EQ_INT(bad, 0);
            free(gv);
        }
        CHECK(tlv_test_buffer_guards_ok(g, &idx, what));
        CHECK(tlv_test_buffer_guards_ok(g, &scratch, what));
        CHECK(tlv_test_guards_ok(g, &tv, what));
    }
    tlv_test_tensor_release(g, &tx);
    tlv_test_tensor_release(g, &tv);
    tlv_test_buffer_release(g, &scratch);
    tlv_test_buffer_release(g, &idx);
    free(x);
    free(ref_i);
    free(ref_v);
    free(order);
}

static void bad_args(tlv_test_gpu *g)
{
    int64_t sh[2] = {3, 100}, shv[2] = {3, 4}, shh[2] = {3, 100};
    tlv_tensor x, v, xh;
    tlv_vk_buffer scratch, idx;
    CHECK(tlv_test_tensor_make(g, &x, TLV_F32, 2, sh, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &v, TLV_F32, 2, shv, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &xh, TLV_F16, 2, shh, NULL, 0));
    uint64_t need = tlv__op_topk_scratch_bytes(g->dev, 3, 100, 5);
    CHECK(tlv_test_buffer_make(g, &scratch, (size_t)need, NULL, 0));
    CHECK(tlv_test_buffer_make(g, &idx, 3 * 5 * 4, NULL, 0));
    tlv__op_topk(g->s, &x, 0, &scratch, 0, &idx, 0, NULL);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "topk: k = 0, expected 1..64");
    tlv__op_topk(g->s, &x, 65, &scratch, 0, &idx, 0, NULL);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "topk: k = 65");
    tlv__op_topk(g->s, &x, 5, &scratch, 0, &idx, 0, &v);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "topk: values: expected F32 [3, 5], found F32 [3, 4]");
    tlv__op_topk(g->s, &x, 5, &scratch, 0, &idx, 8, NULL); /* 60 bytes at 8 > 64 (padded size) */
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "topk: indices: 15 int32 at byte 8 do not fit");
    tlv__op_topk(g->s, &x, 5, &scratch, 16, &idx, 0, NULL);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "topk: scratch");
    tlv__op_argmax(g->s, &xh, &scratch, 0, &idx, 0);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "argmax: x: expected F32");
    tlv__op_argmax(g->s, &x, NULL, 0, &idx, 0);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "argmax: scratch");
    /* with a loop limit (lavapipe) the row length for a given k is capped */
    if (g->caps->type == VK_PHYSICAL_DEVICE_TYPE_CPU && g->caps->max_loop_iterations &&
        g->caps->max_loop_iterations <= 65535u && g->caps->storage_range_limit >= 16u << 20) {
        int64_t shl[2] = {1, 4000000};
        tlv_tensor xl;
        tlv_vk_buffer idx64;
        CHECK(tlv_test_tensor_make(g, &xl, TLV_F32, 2, shl, NULL, 0));
        CHECK(tlv_test_buffer_make(g, &idx64, 64 * 4, NULL, 0));
        tlv__op_topk(g->s, &xl, 64, &scratch, 0, &idx64, 0, NULL);
        tlv_test_expect_fail(g, TLV_ERR_LIMIT, "topk: rows of 4000000 elements with k = 64 are too long");
        tlv_test_tensor_release(g, &xl);
        tlv_test_buffer_release(g, &idx64);
    }
    tlv_test_tensor_release(g, &x);
    tlv_test_tensor_release(g, &v);
    tlv_test_tensor_release(g, &xh);
    tlv_test_buffer_release(g, &scratch);
    tlv_test_buffer_release(g, &idx);
}

/* The cases; on CPU devices they run twice, the second time with the GPU shapes. */
static void run_cases(tlv_test_gpu *g, int second)
{
    (void)second;
    uint64_t seed = 5000;
    const int64_t ns[4] = {1, 7, 1000, 4097};
    const int64_t rows[4] = {33, 5, 1, 9};
    const uint32_t ks[4] = {1, 5, 40, 64};
    for (int i = 0; i < 4; i++)
        for (int kind = 0; kind < 5; kind++) {
            case_topk(g, rows[i], ns[i], 1, kind, 1, seed++);
            for (int j = 0; j < 4; j++)
                if ((int64_t)ks[j] <= ns[i] && (kind == DATA_RANDOM || kind == DATA_TIES || j == 1))
                    case_topk(g, rows[(i + j) % 4], ns[i], ks[j], kind, 0, seed++);
        }
    /* vocabularies of the real models: Phi-2 51200, Qwen2 151936, Gemma 256000 */
    case_topk(g, 1, 51200, 1, DATA_RANDOM, 1, seed++);
    case_topk(g, 2, 51200, 40, DATA_TIES, 0, seed++);
    case_topk(g, 1, 151936, 64, DATA_RANDOM, 0, seed++);
    case_topk(g, 3, 256000, 1, DATA_NAN, 1, seed++);
    case_topk(g, 1, 256000, 50, DATA_RANDOM, 0, seed++);
    case_topk(g, 2, 256000, 64, DATA_TIES, 0, seed++);
    /* the worst case for the insertion lists (lavapipe ends invocations after 65535 loop steps) */
    case_topk(g, 1, 256000, 64, DATA_ASCENDING, 0, seed++);
    case_topk(g, 2, 151936, 1, DATA_ASCENDING, 1, seed++);
}

int main(void)
{
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return tlv_test_finish("test_topk");
    run_cases(&g, 0);
    bad_args(&g);
    if (tlv_test_gpu_pretend_discrete(&g)) run_cases(&g, 1);
    tlv_test_gpu_teardown(&g);
    return tlv_test_finish("test_topk");
}
