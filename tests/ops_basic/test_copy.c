/* test_copy.c: tlv__op_cast, tlv__op_copy_rows (the prompt splice) and tlv__op_embed_rows
 * against host references.
 *
 * Error measures: all exact. Casts compare with tensor.c's host conversions (round to nearest
 * even), bit for bit including the sign of zero, NaN as NaN; copies and embedding rows are exact
 * (an embedding row times the scale is one f32 multiply on both sides). Rows an op must not touch
 * keep the fixture's NaN sentinel. Q8_0 / Q4_0 tables: the reference is the host's dequantized
 * rows (tlv__dequantize_row: q * d in f32, as the shader) times the scale, also exact. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/basic.h"
#include "ops_common.h"

static const char *dt_name[] = {"f32", "f16", "bf16", "q8_0", "q4_0"};

static int same_value(float a, float b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

static void compare_exact(const char *what, const float *got, const float *ref, size_t n)
{
    tlv_test_checks++;
    if (!got) {
        tlv_test_failures++;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!same_value(got[i], ref[i])) {
            tlv_test_failures++;
            fprintf(stderr, "FAIL %s: first difference at %zu: got %.9g, ref %.9g\n", what, i, (double)got[i],
                    (double)ref[i]);
            return;
        }
    }
}

static void case_cast(tlv_test_gpu *g, tlv_dtype xdt, tlv_dtype ydt, int64_t rows, int64_t n, int reshape,
                      uint64_t seed)
{
    char what[160];
    snprintf(what, sizeof what, "cast %s -> %s [%lld, %lld]%s", dt_name[xdt], dt_name[ydt], (long long)rows,
             (long long)n, reshape ? " reshaped" : "");
    size_t ne = (size_t)(rows * n);
    float *x = tlv_test_random(seed, ne, -3, 3);
    /* rounding edge cases: halfway points of F16 and BF16, overflow, subnormals, specials */
    static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 65504.0f, 65519.0f, 65520.0f, 1e6f,
                                    -1e6f, 1e-6f, -3e-7f, 5.96e-8f, 2.9e-8f, 1e-40f, 1.00048828125f,
                                    1.00146484375f, 1.0f + 1.0f / 256, 1.0f + 3.0f / 256, 3.4e38f, -1.17549e-38f};
    for (size_t i = 0; i < ne && i < sizeof special / sizeof *special; i++) x[i] = special[i];
    tlv_test_round(xdt, x, ne);
    float *ref = malloc(ne * sizeof *ref);
    for (size_t i = 0; i < ne; i++) ref[i] = tlv_test_round1(ydt, x[i]);
    int64_t sh[2] = {rows, n}, shy[2] = {n, rows}, shf[1] = {rows * n};
    tlv_tensor tx, ty;
    CHECK(tlv_test_tensor_make(g, &tx, xdt, 2, sh, x, 1));
    if (reshape) CHECK(tlv_test_tensor_make(g, &ty, ydt, rows == 1 ? 1 : 2, rows == 1 ? shf : shy, NULL, 1));
    else CHECK(tlv_test_tensor_make(g, &ty, ydt, 2, sh, NULL, 1));
    tlv__op_cast(g->s, &tx, &ty);
    if (tlv_test_run(g)) {
        float *got = tlv_test_tensor_download(g, &ty);
        compare_exact(what, got, ref, ne);
        CHECK(tlv_test_guards_ok(g, &ty, what));
        free(got);
    }
    tlv_test_tensor_release(g, &tx);
    tlv_test_tensor_release(g, &ty);
    free(x);
    free(ref);
}

/* rows [x0, x0 + nr) of x [xrows, n] to rows [y0, ...) of y [yrows, n] */
static void case_copy_rows(tlv_test_gpu *g, tlv_dtype xdt, tlv_dtype ydt, int64_t xrows, int64_t yrows, int64_t n,
                           int64_t x0, int64_t y0, int64_t nr, uint64_t seed)
{
    char what[200];
    snprintf(what, sizeof what, "copy_rows %s -> %s n=%lld x[%lld..+%lld] of %lld -> y[%lld..] of %lld", dt_name[xdt],
             dt_name[ydt], (long long)n, (long long)x0, (long long)nr, (long long)xrows, (long long)y0,
             (long long)yrows);
    float *x = tlv_test_random(seed, (size_t)(xrows * n), -3, 3);
    float *ref = malloc((size_t)(yrows * n) * sizeof *ref);
    tlv_test_round(xdt, x, (size_t)(xrows * n));
    for (int64_t i = 0; i < yrows * n; i++) ref[i] = NAN; /* the sentinel */
    for (int64_t r = 0; r < nr; r++)
        for (int64_t c = 0; c < n; c++) ref[(y0 + r) * n + c] = tlv_test_round1(ydt, x[(x0 + r) * n + c]);
    int64_t shx[2] = {xrows, n}, shy[2] = {yrows, n};
    tlv_tensor tx, ty;
    CHECK(tlv_test_tensor_make(g, &tx, xdt, 2, shx, x, 1));
    CHECK(tlv_test_tensor_make(g, &ty, ydt, 2, shy, NULL, 1));
    tlv__op_copy_rows(g->s, &tx, x0, &ty, y0, nr);
    if (tlv_test_run(g)) {
        float *got = tlv_test_tensor_download(g, &ty);
        compare_exact(what, got, ref, (size_t)(yrows * n));
        CHECK(tlv_test_guards_ok(g, &ty, what));
        free(got);
    }
    tlv_test_tensor_release(g, &tx);
    tlv_test_tensor_release(g, &ty);
    free(x);
    free(ref);
}

static void case_embed(tlv_test_gpu *g, tlv_dtype tdt, int64_t vocab, int64_t hidden, int64_t yrows, int64_t y0,
                       uint32_t n_ids, float scale, uint64_t seed)
{
    char what[200];
    snprintf(what, sizeof what, "embed_rows %s [%lld, %lld] %u ids -> rows [%lld..] of %lld, scale %g", dt_name[tdt],
             (long long)vocab, (long long)hidden, n_ids, (long long)y0, (long long)yrows, (double)scale);
    float *table = tlv_test_random(seed, (size_t)(vocab * hidden), -1, 1);
    /* the reference's table: rounded, or quantized and dequantized by row (block dtypes); the
     * device gets the unrounded floats and rounds / quantizes them itself */
    float *tref = malloc((size_t)(vocab * hidden) * sizeof *tref);
    memcpy(tref, table, (size_t)(vocab * hidden) * sizeof *tref);
    CHECK(tlv_test_round_rows(tdt, tref, vocab, hidden));
    int32_t *ids = malloc((n_ids + 1) * sizeof *ids);
    uint64_t st = seed;
    for (uint32_t i = 0; i < n_ids; i++) ids[i] = (int32_t)(tlv_test_rand_u32(&st) % (uint32_t)vocab);
    /* the ends of the table, and ids a host check would reject: clamped, never read out of bounds */
    if (n_ids > 0) ids[0] = (int32_t)vocab - 1;
    if (n_ids > 1) ids[1] = 0;
    if (n_ids > 3) ids[2] = -5;
    if (n_ids > 3) ids[3] = (int32_t)vocab + 3;
    float *ref = malloc((size_t)(yrows * hidden) * sizeof *ref);
    for (int64_t i = 0; i < yrows * hidden; i++) ref[i] = NAN;
    for (uint32_t i = 0; i < n_ids; i++) {
        int64_t id = ids[i] < 0 ? 0 : ids[i] >= vocab ? vocab - 1 : ids[i];
        for (int64_t c = 0; c < hidden; c++) ref[(y0 + i) * hidden + c] = tref[id * hidden + c] * scale;
    }
    int64_t sht[2] = {vocab, hidden}, shy[2] = {yrows, hidden};
    tlv_tensor tt, ty;
    tlv_vk_buffer bi;
    CHECK(tlv_test_tensor_make(g, &tt, tdt, 2, sht, table, 1));
    CHECK(tlv_test_tensor_make(g, &ty, TLV_F32, 2, shy, NULL, 1));
    /* ids at byte offset 12 of their buffer: offsets need not be aligned */
    int32_t *idbuf = calloc(n_ids + 3, sizeof *idbuf);
    memcpy(idbuf + 3, ids, n_ids * sizeof *ids);
    CHECK(tlv_test_buffer_make(g, &bi, (n_ids + 3) * 4, idbuf, 1));
    tlv__op_embed_rows(g->s, &tt, &bi, 12, n_ids, scale, &ty, y0);
    if (tlv_test_run(g)) {
        float *got = tlv_test_tensor_download(g, &ty);
        compare_exact(what, got, ref, (size_t)(yrows * hidden));
        CHECK(tlv_test_guards_ok(g, &ty, what));
        free(got);
    }
    if (tt.n_slabs > 1) printf("  (table in %d slabs)\n", tt.n_slabs);
    tlv_test_tensor_release(g, &tt);
    tlv_test_tensor_release(g, &ty);
    tlv_test_buffer_release(g, &bi);
    free(table);
    free(tref);
    free(ids);
    free(idbuf);
    free(ref);
}

static void bad_args(tlv_test_gpu *g)
{
    int64_t sh[2] = {4, 8}, sh2[2] = {4, 9}, sht[2] = {10, 8}, sh3[3] = {2, 2, 8};
    tlv_tensor a, b9, t, y3;
    tlv_vk_buffer ids;
    CHECK(tlv_test_tensor_make(g, &a, TLV_F32, 2, sh, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &b9, TLV_F16, 2, sh2, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &t, TLV_F16, 2, sht, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &y3, TLV_F32, 3, sh3, NULL, 0));
    CHECK(tlv_test_buffer_make(g, &ids, 16, NULL, 0));
    tlv__op_cast(g->s, &a, &b9);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "cast: x has 32 elements, y 36");
    tlv__op_copy_rows(g->s, &a, 0, &b9, 0, 1);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "copy_rows: rows of x have 8 elements, rows of y 9");
    tlv__op_copy_rows(g->s, &a, 2, &a, 0, 3);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "copy_rows: rows [2, +3) of x (4 rows)");
    tlv__op_embed_rows(g->s, &t, &ids, 0, 4, 1.0f, &a, 1); /* rows 1..4 of 4 */
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "embed_rows: rows [1, +4) do not fit y's 4 rows");
    tlv__op_embed_rows(g->s, &t, &ids, 4, 4, 1.0f, &a, 0); /* 16 bytes from byte 4 */
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "embed_rows: ids: 4 int32 at byte 4 do not fit");
    tlv__op_embed_rows(g->s, &t, &ids, 2, 1, 1.0f, &a, 0);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "not a multiple of 4");
    tlv__op_embed_rows(g->s, &t, &ids, 0, 1, 1.0f, &b9, 0);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "embed_rows: y: expected F32 [any, 8], found F16 [4, 9]");
    tlv__op_embed_rows(g->s, &y3, &ids, 0, 1, 1.0f, &a, 0);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "embed_rows: table: expected [vocab, hidden]");
    tlv__op_embed_rows(g->s, &t, NULL, 0, 1, 1.0f, &a, 0);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "embed_rows: ids: missing");
    tlv_test_tensor_release(g, &a);
    tlv_test_tensor_release(g, &b9);
    tlv_test_tensor_release(g, &t);
    tlv_test_tensor_release(g, &y3);
    tlv_test_buffer_release(g, &ids);
}

/* The cases; on CPU devices they run twice, the second time with the GPU shapes. */
static void run_cases(tlv_test_gpu *g, int second)
{
    (void)second;
    uint64_t seed = 1000;
    const int64_t shapes[4][2] = {{1, 1}, {7, 7}, {33, 1001}, {3, 4097}};
    for (int xd = 0; xd < 3; xd++)
        for (int yd = 0; yd < 3; yd++)
            for (int i = 0; i < 4; i++) case_cast(g, (tlv_dtype)xd, (tlv_dtype)yd, shapes[i][0], shapes[i][1], 0, seed++);
    case_cast(g, TLV_F32, TLV_F16, 1, 7, 1, seed++);
    case_cast(g, TLV_F32, TLV_F16, 6, 5, 1, seed++);
    case_cast(g, TLV_BF16, TLV_F32, 3, 9, 1, seed++);

    /* the splice: odd row lengths put 16-bit rows mid-word (read-modify-write at the ends) */
    case_copy_rows(g, TLV_F32, TLV_F32, 10, 20, 7, 3, 11, 6, seed++);
    case_copy_rows(g, TLV_F32, TLV_F16, 10, 20, 7, 3, 11, 6, seed++);
    case_copy_rows(g, TLV_F32, TLV_BF16, 10, 20, 7, 0, 0, 1, seed++);
    case_copy_rows(g, TLV_F16, TLV_F16, 10, 20, 7, 9, 19, 1, seed++);
    case_copy_rows(g, TLV_F16, TLV_F32, 300, 333, 77, 1, 30, 299, seed++); /* slabs at 64 KiB */
    case_copy_rows(g, TLV_F32, TLV_F16, 300, 333, 77, 0, 33, 300, seed++);
    case_copy_rows(g, TLV_F32, TLV_F32, 40, 800, 1000, 2, 700, 33, seed++);

    const float gemma = 45.254833995939045f;
    for (int d = 0; d < 3; d++) {
        case_embed(g, (tlv_dtype)d, 1000, 77, 40, 5, 30, 1.0f, seed++);
        case_embed(g, (tlv_dtype)d, 1000, 77, 40, 0, 1, gemma, seed++);
        case_embed(g, (tlv_dtype)d, 3001, 1, 33, 0, 33, 1.0f, seed++);
    }
    case_embed(g, TLV_F16, 500, 2048, 20, 3, 9, gemma, seed++); /* Gemma-sized rows */
    case_embed(g, TLV_BF16, 151, 896, 120, 100, 20, 1.0f, seed++);
    /* quantized tables: one block a row, odd block counts (3, 7), Qwen-sized rows (28 blocks);
     * [3001, 224] Q8_0 is 714 KB: row slabs in the 64 KiB run */
    for (int d = TLV_Q8_0; d <= TLV_Q4_0; d++) {
        case_embed(g, (tlv_dtype)d, 1000, 32, 40, 5, 30, 1.0f, seed++);
        case_embed(g, (tlv_dtype)d, 1000, 96, 40, 0, 1, gemma, seed++);
        case_embed(g, (tlv_dtype)d, 3001, 224, 33, 0, 33, 1.0f, seed++);
        case_embed(g, (tlv_dtype)d, 151, 896, 120, 100, 20, 1.0f, seed++);
    }
}

int main(void)
{
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return tlv_test_finish("test_copy");
    run_cases(&g, 0);
    bad_args(&g);
    if (tlv_test_gpu_pretend_discrete(&g)) run_cases(&g, 1);
    tlv_test_gpu_teardown(&g);
    return tlv_test_finish("test_copy");
}
