/* test_ew.c: elementwise ops (add, mul, scale, activations, gated SwiGLU / GeGLU) against C
 * references.
 *
 * Error measures:
 *   add, mul, scale: exact (one f32 operation on both sides; F16/BF16 operands widen exactly);
 *   activations and gated forms, against double-precision libm (erf, tanh, exp):
 *     every |got - ref| <= 2e-7 * max|ref| + 1e-6 * |ref|  (a few f32 ulps of exp/division, and the
 *     erfc fit's 1.2e-7; measured worst on lavapipe: 0.13 of the bound); the wide-range cases start
 *     with special values (0, -0, +-1e-30, +-30, +-88, +-1e4: saturation without inf/inf = NaN). */
#include <math.h>
#include <stdlib.h>

#include "ops/basic.h"
#include "ops_common.h"

static const char *dt_name[] = {"f32", "f16", "bf16"};
static const char *act_name[] = {"none", "gelu_erf", "gelu_tanh", "quick_gelu", "silu"};

static double act_ref(tlv_act act, double x)
{
    switch (act) {
    case TLV_ACT_GELU_ERF: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case TLV_ACT_GELU_TANH: return 0.5 * x * (1.0 + tanh(sqrt(2.0 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
    case TLV_ACT_QUICK_GELU: return x / (1.0 + exp(-1.702 * x));
    case TLV_ACT_SILU: return x / (1.0 + exp(-x));
    default: return x;
    }
}

static int compare_act(const char *what, const float *got, const float *ref, size_t n)
{
    double maxref = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(ref[i]) > maxref) maxref = fabs(ref[i]);
    double worst = 0;
    for (size_t i = 0; got && i < n; i++) {
        double e = fabs((double)got[i] - ref[i]) / (2e-7 * maxref + 1e-6 * fabs(ref[i]));
        if (e > worst) worst = e;
    }
    printf("  %s: worst error / bound = %.3f\n", what, worst);
    return tlv_test_compare_elem(what, got, ref, n, 2e-7 * maxref, 1e-6);
}

enum { OP_ADD, OP_MUL, OP_SCALE };

/* add / mul / scale; b: same shape in dtype bdt, or broadcast row vector */
static void case_binary(tlv_test_gpu *g, int op, tlv_dtype bdt, int bcast, int in_place, int64_t rows, int64_t n,
                        uint64_t seed)
{
    static const char *names[] = {"add", "mul", "scale"};
    char what[160];
    snprintf(what, sizeof what, "%s b=%s%s%s rows=%lld n=%lld", names[op], dt_name[bdt], bcast ? " broadcast" : "",
             in_place ? " in-place" : "", (long long)rows, (long long)n);
    size_t ne = (size_t)(rows * n), nb = bcast ? (size_t)n : ne;
    float *a = tlv_test_random(seed, ne, -5, 5), *b = tlv_test_random(seed + 1, nb, -5, 5);
    float *ref = malloc(ne * sizeof *ref);
    tlv_test_round(bdt, b, nb);
    const float scale = 45.254833995939045f; /* Gemma's sqrt(2048) */
    for (size_t i = 0; i < ne; i++) {
        float bv = b[bcast ? i % (size_t)n : i];
        ref[i] = op == OP_ADD ? a[i] + bv : op == OP_MUL ? a[i] * bv : a[i] * scale;
    }
    int64_t sh[2] = {rows, n}, shb[1] = {n};
    tlv_tensor ta, tb, ty;
    CHECK(tlv_test_tensor_make(g, &ta, TLV_F32, 2, sh, a, 1));
    CHECK(tlv_test_tensor_make(g, &tb, bdt, bcast ? 1 : 2, bcast ? shb : sh, b, 1));
    CHECK(tlv_test_tensor_make(g, &ty, TLV_F32, 2, sh, NULL, 1));
    tlv_tensor *out = in_place ? &ta : &ty;
    if (op == OP_ADD) tlv__op_add(g->s, &ta, &tb, out);
    else if (op == OP_MUL) tlv__op_mul(g->s, &ta, &tb, out);
    else tlv__op_scale(g->s, &ta, scale, out);
    if (tlv_test_run(g)) {
        float *got = tlv_test_tensor_download(g, out);
        tlv_test_compare_elem(what, got, ref, ne, 0, 0);
        CHECK(tlv_test_guards_ok(g, &ta, what));
        CHECK(tlv_test_guards_ok(g, &ty, what));
        free(got);
    }
    tlv_test_tensor_release(g, &ta);
    tlv_test_tensor_release(g, &tb);
    tlv_test_tensor_release(g, &ty);
    free(a);
    free(b);
    free(ref);
}

/* act (gated == 0) or gated: separate (fused == 0) or [gate | up] halves of one tensor */
static void case_act(tlv_test_gpu *g, tlv_act act, int gated, int fused, int in_place, int64_t rows, int64_t n,
                     float lo, float hi, uint64_t seed)
{
    char what[160];
    snprintf(what, sizeof what, "%s %s%s%s rows=%lld n=%lld range [%g, %g]", gated ? "gated" : "act", act_name[act],
             fused ? " fused" : "", in_place ? " in-place" : "", (long long)rows, (long long)n, (double)lo, (double)hi);
    size_t ne = (size_t)(rows * n);
    float *a = tlv_test_random(seed, ne, lo, hi), *b = tlv_test_random(seed + 1, ne, -2, 2);
    float *ref = malloc(ne * sizeof *ref), *cat = malloc(2 * ne * sizeof *cat);
    /* special values at the front */
    static const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 88.0f, -88.0f, 1e4f, -1e4f, 30.0f, -30.0f};
    for (size_t i = 0; i < ne && i < sizeof special / sizeof *special && lo < -20; i++) a[i] = special[i];
    for (size_t i = 0; i < ne; i++) ref[i] = (float)(act_ref(act, a[i]) * (gated ? b[i] : 1.0));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < n; c++) {
            cat[r * 2 * n + c] = a[r * n + c];
            cat[r * 2 * n + n + c] = b[r * n + c];
        }
    int64_t sh[2] = {rows, n}, sh2[2] = {rows, 2 * n};
    tlv_tensor ta, tb, ty;
    if (fused) CHECK(tlv_test_tensor_make(g, &ta, TLV_F32, 2, sh2, cat, 1));
    else CHECK(tlv_test_tensor_make(g, &ta, TLV_F32, 2, sh, a, 1));
    CHECK(tlv_test_tensor_make(g, &tb, TLV_F32, 2, sh, b, 1));
    CHECK(tlv_test_tensor_make(g, &ty, TLV_F32, 2, sh, NULL, 1));
    tlv_tensor *out = in_place ? &ta : &ty;
    if (!gated) tlv__op_act(g->s, act, &ta, out);
    else tlv__op_gated(g->s, act, &ta, fused ? NULL : &tb, out);
    if (tlv_test_run(g)) {
        float *got = tlv_test_tensor_download(g, out);
        compare_act(what, got, ref, ne);
        CHECK(tlv_test_guards_ok(g, &ta, what));
        CHECK(tlv_test_guards_ok(g, &ty, what));
        free(got);
    }
    tlv_test_tensor_release(g, &ta);
    tlv_test_tensor_release(g, &tb);
    tlv_test_tensor_release(g, &ty);
    free(a);
    free(b);
    free(ref);
    free(cat);
}

static void bad_args(tlv_test_gpu *g)
{
    int64_t sh[2] = {3, 8}, sh2[2] = {3, 9}, sh16[2] = {3, 16}, shv[1] = {7};
    tlv_tensor a, y2, a16, v7, ah;
    CHECK(tlv_test_tensor_make(g, &a, TLV_F32, 2, sh, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &y2, TLV_F32, 2, sh2, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &a16, TLV_F32, 2, sh16, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &v7, TLV_F16, 1, shv, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &ah, TLV_F16, 2, sh, NULL, 0));
    tlv__op_add(g->s, &a, &y2, &a);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "add: b: expected F32 [3, 8], found F32 [3, 9]");
    tlv__op_mul(g->s, &a, &v7, &a);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "mul: b: expected a vector [8]");
    tlv__op_add(g->s, &a, &a, &y2);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "add: y");
    tlv__op_add(g->s, &ah, &a, &a);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "add: a: expected F32");
    tlv__op_scale(g->s, &a, 2.0f, &ah);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "scale: y: expected F32 [3, 8], found F16 [3, 8]");
    tlv__op_act(g->s, (tlv_act)9, &a, &a);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "not a tlv_act");
    tlv__op_gated(g->s, TLV_ACT_SILU, &a, NULL, &a); /* fused input must be [3, 16] */
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "gated: a ([gate | up]): expected F32 [3, 16], found F32 [3, 8]");
    tlv__op_gated(g->s, TLV_ACT_SILU, &a16, &a, &a);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "gated: a: expected F32 [3, 8]");
    tlv__op_add(g->s, &a, NULL, &a);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "add: b: missing");
    tlv_test_tensor_release(g, &a);
    tlv_test_tensor_release(g, &y2);
    tlv_test_tensor_release(g, &a16);
    tlv_test_tensor_release(g, &v7);
    tlv_test_tensor_release(g, &ah);
}

/* The cases; on CPU devices they run twice, the second time with the GPU shapes. */
static void run_cases(tlv_test_gpu *g, int second)
{
    (void)second;
    const int64_t ns[4] = {1, 7, 1000, 4097};
    const int64_t rows[4] = {33, 5, 1, 9};
    uint64_t seed = 100;
    for (int op = 0; op < 3; op++)
        for (int dt = 0; dt < 3; dt++)
            for (int i = 0; i < 4; i++) {
                if (op == OP_SCALE && dt) continue;
                case_binary(g, op, (tlv_dtype)dt, 0, i == 1, rows[i], ns[i], seed += 10);
                if (op != OP_SCALE) case_binary(g, op, (tlv_dtype)dt, 1, i == 2, rows[(i + 1) % 4], ns[i], seed += 10);
            }
    for (int act = 0; act <= TLV_ACT_SILU; act++)
        for (int i = 0; i < 4; i++) {
            case_act(g, (tlv_act)act, 0, 0, i == 3, rows[i], ns[i], -8, 8, seed += 10);
            if (i == 2) case_act(g, (tlv_act)act, 0, 0, 0, 3, 1000, -100, 100, seed += 10);
        }
    const tlv_act gates[2] = {TLV_ACT_SILU, TLV_ACT_GELU_TANH};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 4; i++) {
            case_act(g, gates[k], 1, 0, i == 0, rows[i], ns[i], -6, 6, seed += 10);
            case_act(g, gates[k], 1, 1, 0, rows[(i + 2) % 4], ns[i], -6, 6, seed += 10);
        }
    /* more elements than one workgroup may loop over on lavapipe (65535 steps an invocation) */
    if (g->caps->storage_range_limit >= 64u << 20) case_act(g, TLV_ACT_SILU, 0, 0, 1, 2100, 4097, -6, 6, seed += 10);
}

int main(void)
{
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return tlv_test_finish("test_ew");
    run_cases(&g, 0);
    bad_args(&g);
    if (tlv_test_gpu_pretend_discrete(&g)) run_cases(&g, 1);
    tlv_test_gpu_teardown(&g);
    return tlv_test_finish("test_ew");
}
