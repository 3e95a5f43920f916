/* test_norm.c: tlv__op_norm (LayerNorm, RMSNorm, Gemma's (1+w) RMSNorm, fused residual add) and
 * tlv__op_norm_heads (OpenELM's per-head q/k norm) against double-precision C references.
 *
 * Error measures:
 *   normalised output: max |got - ref| / max |ref| < 1e-5 (f32 statistics over up to 4097
 *     elements; weights are rounded to their dtype on the host first, so the dtype itself adds no
 *     error); 1e-4 for rows with a large common offset (|mean| = 100 x the spread), where f32 loses
 *     digits in the mean as PyTorch's f32 LayerNorm does;
 *   residual sum x + r: exact (one f32 addition on both sides);
 *   columns a per-head norm must not touch: exact. */
#include <math.h>
#include <stdlib.h>

#include "ops/basic.h"
#include "ops_common.h"

static const char *kind_name[] = {"layer", "rms", "rms1p"};
static const char *dt_name[] = {"f32", "f16", "bf16"};

/* y = norm(x) in double; w, b already rounded (NULL = absent) */
static void ref_norm(tlv_norm_kind kind, const float *x, const float *w, const float *b, float eps, int64_t rows,
                     int64_t n, int64_t stride, float *y)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * stride;
        double mean = 0, var = 0;
        if (kind == TLV_NORM_LAYER) {
            for (int64_t i = 0; i < n; i++) mean += xr[i];
            mean /= (double)n;
        }
        for (int64_t i = 0; i < n; i++) var += ((double)xr[i] - mean) * ((double)xr[i] - mean);
        var /= (double)n;
        double rstd = 1.0 / sqrt(var + (double)eps);
        for (int64_t i = 0; i < n; i++) {
            double wv = w ? w[i] : 1.0;
            if (kind == TLV_NORM_RMS_1P) wv += 1.0;
            y[r * stride + i] = (float)(((double)xr[i] - mean) * rstd * wv + (b ? b[i] : 0.0));
        }
    }
}

static void case_norm(tlv_test_gpu *g, tlv_norm_kind kind, tlv_dtype wdt, int64_t rows, int64_t n, int with_b,
                      int with_res, int in_place, float offset, uint64_t seed)
{
    char what[160];
    snprintf(what, sizeof what, "norm %s w=%s rows=%lld n=%lld%s%s%s%s", kind_name[kind], dt_name[wdt],
             (long long)rows, (long long)n, with_b ? " bias" : "", with_res ? " res" : "", in_place ? " in-place" : "",
             offset != 0 ? " offset" : "");
    size_t ne = (size_t)(rows * n);
    float *x = tlv_test_random(seed, ne, -2, 2);
    float *r = tlv_test_random(seed + 1, ne, -1, 1);
    float *w = tlv_test_random(seed + 2, (size_t)n, 0.5f, 1.5f);
    float *b = tlv_test_random(seed + 3, (size_t)n, -0.5f, 0.5f);
    float *sum = malloc(ne * sizeof *sum), *ref = malloc(ne * sizeof *ref);
    for (size_t i = 0; i < ne; i++) x[i] += offset;
    tlv_test_round(wdt, w, (size_t)n);
    tlv_test_round(wdt, b, (size_t)n);
    for (size_t i = 0; i < ne; i++) sum[i] = with_res ? x[i] + r[i] : x[i];
    float eps = kind == TLV_NORM_LAYER ? 1e-5f : 1e-6f;
    ref_norm(kind, sum, w, with_b ? b : NULL, eps, rows, n, n, ref);

    int64_t sh[2] = {rows, n}, shv[1] = {n};
    tlv_tensor tx, tr, tw, tb, ty;
    CHECK(tlv_test_tensor_make(g, &tx, TLV_F32, 2, sh, x, 1));
    CHECK(tlv_test_tensor_make(g, &tr, TLV_F32, 2, sh, r, 1));
    CHECK(tlv_test_tensor_make(g, &tw, wdt, 1, shv, w, 1));
    CHECK(tlv_test_tensor_make(g, &tb, wdt, 1, shv, b, 1));
    CHECK(tlv_test_tensor_make(g, &ty, TLV_F32, 2, sh, NULL, 1));
    tlv_tensor *out = in_place ? &tx : &ty;
    tlv__op_norm(g->s, kind, &tx, with_res ? &tr : NULL, &tw, with_b ? &tb : NULL, eps, out);
    if (tlv_test_run(g)) {
        float *got = tlv_test_tensor_download(g, out);
        double tol = offset != 0 ? 1e-4 : 1e-5;
        tlv_test_compare_rel(what, got, ref, ne, tol);
        free(got);
        if (with_res && !in_place) {
            float *gs = tlv_test_tensor_download(g, &tx);
            char w2[200];
            snprintf(w2, sizeof w2, "%s: residual sum", what);
            tlv_test_compare_elem(w2, gs, sum, ne, 0, 0);
            free(gs);
        }
        CHECK(tlv_test_guards_ok(g, &tx, what));
        CHECK(tlv_test_guards_ok(g, &ty, what));
    }
    tlv_test_tensor_release(g, &tx);
    tlv_test_tensor_release(g, &tr);
    tlv_test_tensor_release(g, &tw);
    tlv_test_tensor_release(g, &tb);
    tlv_test_tensor_release(g, &ty);
    free(x);
    free(r);
    free(w);
    free(b);
    free(sum);
    free(ref);
}

/* OpenELM: x [rows, cols]; heads [col0, col0 + n_head * hd) normalised in place. */
static void case_heads(tlv_test_gpu *g, tlv_norm_kind kind, tlv_dtype wdt, int64_t rows, int64_t cols, int64_t col0,
                       int64_t n_head, int64_t hd, uint64_t seed)
{
    char what[160];
    snprintf(what, sizeof what, "norm_heads %s w=%s rows=%lld cols=%lld col0=%lld heads=%lldx%lld", kind_name[kind],
             dt_name[wdt], (long long)rows, (long long)cols, (long long)col0, (long long)n_head, (long long)hd);
    size_t ne = (size_t)(rows * cols);
    float *x = tlv_test_random(seed, ne, -3, 3);
    float *w = tlv_test_random(seed + 1, (size_t)hd, 0.5f, 1.5f);
    float *ref = malloc(ne * sizeof *ref);
    tlv_test_round(wdt, w, (size_t)hd);
    for (size_t i = 0; i < ne; i++) ref[i] = x[i];
    for (int64_t r = 0; r < rows; r++)
        ref_norm(kind, x + r * cols + col0, w, NULL, 1e-6f, n_head, hd, hd, ref + r * cols + col0);
    int64_t sh[2] = {rows, cols}, shv[1] = {hd};
    tlv_tensor tx, tw;
    CHECK(tlv_test_tensor_make(g, &tx, TLV_F32, 2, sh, x, 1));
    CHECK(tlv_test_tensor_make(g, &tw, wdt, 1, shv, w, 1));
    tlv__op_norm_heads(g->s, kind, &tx, col0, n_head, &tw, 1e-6f);
    if (tlv_test_run(g)) {
        float *got = tlv_test_tensor_download(g, &tx);
        tlv_test_compare_rel(what, got, ref, ne, 1e-5);
        /* untouched columns: exact */
        int bad = 0;
        for (int64_t r = 0; r < rows && got; r++)
            for (int64_t c = 0; c < cols; c++)
                if ((c < col0 || c >= col0 + n_head * hd) && got[r * cols + c] != x[r * cols + c]) bad++;
        CHECK_EQ_INT(bad, 0);
        CHECK(tlv_test_guards_ok(g, &tx, what));
        free(got);
    }
    tlv_test_tensor_release(g, &tx);
    tlv_test_tensor_release(g, &tw);
    free(x);
    free(w);
    free(ref);
}

static void bad_args(tlv_test_gpu *g)
{
    int64_t sh[2] = {3, 8}, sh2[2] = {3, 9}, shv[1] = {8}, shv2[1] = {7};
    tlv_tensor x, y, y2, w, w2, xh;
    CHECK(tlv_test_tensor_make(g, &x, TLV_F32, 2, sh, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &y, TLV_F32, 2, sh, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &y2, TLV_F32, 2, sh2, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &w, TLV_F16, 1, shv, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &w2, TLV_F32, 1, shv2, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &xh, TLV_F16, 2, sh, NULL, 0));

    tlv__op_norm(g->s, TLV_NORM_RMS, &x, NULL, &w2, NULL, 1e-6f, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "rmsnorm: w: expected a vector [8]");
    tlv__op_norm(g->s, TLV_NORM_LAYER, &x, NULL, &w, NULL, 1e-5f, &y2);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "layernorm: y: expected F32 [3, 8], found F32 [3, 9]");
    tlv__op_norm(g->s, TLV_NORM_LAYER, &xh, NULL, &w, NULL, 1e-5f, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "layernorm: x: expected F32");
    tlv__op_norm(g->s, TLV_NORM_RMS, &x, &y2, &w, NULL, 1e-6f, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "rmsnorm: res");
    tlv__op_norm(g->s, TLV_NORM_RMS, &x, NULL, &w, &w, 1e-6f, &y);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "only for LayerNorm");
    tlv__op_norm(g->s, (tlv_norm_kind)7, &x, NULL, &w, NULL, 1e-6f, &y);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "not a tlv_norm_kind");
    tlv__op_norm(g->s, TLV_NORM_RMS, &x, NULL, &w, NULL, -1.0f, &y);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "eps");
    tlv__op_norm(g->s, TLV_NORM_RMS, NULL, NULL, &w, NULL, 1e-6f, &y);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "x: missing");
    tlv__op_norm_heads(g->s, TLV_NORM_RMS, &x, 1, 1, &w, 1e-6f); /* 1 + 8 > 8 columns */
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "do not fit");
    tlv__op_norm_heads(g->s, TLV_NORM_LAYER, &x, 0, 1, &w, 1e-6f);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "kind must be RMS");
    /* a failed op makes later ones no-ops until the stream is begun again */
    tlv__op_norm(g->s, TLV_NORM_RMS, &x, NULL, &w2, NULL, 1e-6f, &y);
    CHECK_EQ_INT(tlv__op_norm(g->s, TLV_NORM_RMS, &x, NULL, &w, NULL, 1e-6f, &y), TLV_ERR_SHAPE);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "w: expected");

    tlv_test_tensor_release(g, &x);
    tlv_test_tensor_release(g, &y);
    tlv_test_tensor_release(g, &y2);
    tlv_test_tensor_release(g, &w);
    tlv_test_tensor_release(g, &w2);
    tlv_test_tensor_release(g, &xh);
}

/* The cases; on CPU devices they run twice, the second time with the GPU shapes. */
static void run_cases(tlv_test_gpu *g, int second)
{
    (void)second;
    const int64_t ns[4] = {1, 7, 1000, 4097};
    const int64_t rows[4] = {1, 2, 33, 5};
    uint64_t seed = 1;
    for (int kind = 0; kind < 3; kind++)
        for (int dt = 0; dt < 3; dt++)
            for (int i = 0; i < 4; i++)
                case_norm(g, (tlv_norm_kind)kind, (tlv_dtype)dt, rows[(i + dt) % 4], ns[i], kind == 0, 0, 0, 0,
                          seed += 10);
    /* fused residual, in place, bias-free LayerNorm, large offsets */
    for (int kind = 0; kind < 3; kind++) {
        case_norm(g, (tlv_norm_kind)kind, TLV_F16, 7, 1000, kind == 0, 1, 0, 0, seed += 10);
        case_norm(g, (tlv_norm_kind)kind, TLV_BF16, 33, 4097, 0, 1, 0, 0, seed += 10);
        case_norm(g, (tlv_norm_kind)kind, TLV_F32, 3, 7, kind == 0, 1, 1, 0, seed += 10);
        case_norm(g, (tlv_norm_kind)kind, TLV_F32, 4, 1000, 0, 0, 1, 0, seed += 10);
    }
    case_norm(g, TLV_NORM_LAYER, TLV_F32, 5, 4097, 1, 0, 0, 100.0f, seed += 10);
    /* real shapes: Phi-2 LayerNorm 2560, SigLIP 1152 with residual */
    case_norm(g, TLV_NORM_LAYER, TLV_F16, 9, 2560, 1, 0, 0, 0, seed += 10);
    case_norm(g, TLV_NORM_LAYER, TLV_F16, 17, 1152, 1, 1, 0, 0, seed += 10);
    /* OpenELM q_norm / k_norm: qkv [rows, (q + 2 kv) * 64], q heads at 0, k heads after them */
    case_heads(g, TLV_NORM_RMS, TLV_F16, 5, (12 + 2 * 3) * 64, 0, 12, 64, seed += 10);
    case_heads(g, TLV_NORM_RMS, TLV_BF16, 5, (12 + 2 * 3) * 64, 12 * 64, 3, 64, seed += 10);
    case_heads(g, TLV_NORM_RMS_1P, TLV_F32, 33, 3 * 7 + 4, 3, 3, 7, seed += 10);
    case_heads(g, TLV_NORM_RMS, TLV_F32, 1, 1, 0, 1, 1, seed += 10);
}

int main(void)
{
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return tlv_test_finish("test_norm");
    run_cases(&g, 0);
    bad_args(&g);
    if (tlv_test_gpu_pretend_discrete(&g)) run_cases(&g, 1);
    /* a device with the spec minimum of 4 storage buffers per stage: the fused residual form
     * (5 bindings) falls back to add + norm (the record is relabelled as in ops_common.c) */
    ((tlv_vk_caps *)g.caps)->max_storage_buffers = 4;
    for (int kind = 0; kind < 3; kind++) {
        case_norm(&g, (tlv_norm_kind)kind, TLV_F16, 7, 1000, kind == 0, 1, 0, 0, 7000 + kind);
        case_norm(&g, (tlv_norm_kind)kind, TLV_F32, 3, 7, kind == 0, 1, 1, 0, 7100 + kind);
    }
    tlv_test_gpu_teardown(&g);
    return tlv_test_finish("test_norm");
}
