/* test_matmul.c: tlv__op_matmul / tlv__op_matmul_rows against a plain-C double-precision reference,
 * both kernels (matvec, tiled) and the automatic choice, every weight and bias dtype, every
 * activation, residuals in place and separate, a row offset into a bigger y; the down projection
 * on a gated product (tlv__op_matmul_gated); the activations' tails element by element (below);
 * bad arguments; the roofline probes.
 *
 * Error measure: max_i |y_i - ref_i| <= 1e-5 * max_i |ref_i| over the rows written. The reference
 * uses the same rounded weights, bias and inputs as the device (tlv_test_round), so F16/BF16 get
 * the same bound as F32; what remains is f32 accumulation order (~1e-6 at K = 4096).
 * Rows of y outside the written range keep their contents exactly; guard regions around every
 * slab of y stay intact.
 *
 * CMakeLists.txt runs this binary four times: as is, with TLV_DISABLE_SUBGROUPS=1, with
 * TLV_DISABLE_TEXEL=1 (storage buffers where the device would read x and w through texel views)
 * and with TLV_MAX_STORAGE_RANGE=65536 (weights split into row slabs, each its own view; x and y
 * are kept below 64 KiB so they stay one slab, which the op requires). The "texel flipped"
 * configurations run the other read path in every run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ops/matmul.h"
#include "ops_common.h"

enum res_mode { RES_NONE, RES_IN_PLACE, RES_SEPARATE };

typedef struct mm_case {
    int64_t M, N, K;
    tlv_dtype wdt;
    int bias;            /* 0 none, else 1 + dtype */
    tlv_act act;
    enum res_mode res;
    int64_t y_row0, y_extra; /* write rows [y_row0, y_row0 + M) of a y with M + y_extra rows */
    int kernel;              /* index into configs[] */
    int gated;               /* 1 + tlv_act: tlv__op_matmul_gated, x = [gate | up] of width 2K */
} mm_case;

/* Kernel configurations: the device's own choices, and the shapes other devices get, run here
 * too so that every code path of the shaders is tested on any device. */
enum { K_AUTO, K_MATVEC, K_TILED, K_MV_WIDE, K_MV_SG, K_MV_T1, K_MV_NM8, K_TILED_GPU, K_TILED_ODD, K_MV_FLIP, K_TILED_FLIP,
       K_MV_MANY, K_MV_MANY_ODD, K_MV_XSHUF, N_CONFIGS };
static const char *const config_names[N_CONFIGS] = {
    "auto", "matvec", "tiled", "matvec 64/32", "matvec 4sg/sg R2 nm4", "matvec 8/1 mode 0 R3", "matvec default nm8 R1", "tiled 64x64x16 4x4",
    "tiled 24x40x12 3x5", "matvec, texel flipped", "tiled, texel flipped", "matvec mode 2 R8 nm4 (M >= 3)",
    "matvec mode 2 16/1 R3 nm2 (all M), texel flipped", "matvec, x shuffle flipped"};
static tlv_matmul_tuning configs[N_CONFIGS];

static void configs_init(const tlv_vk_caps *c)
{
    tlv_matmul_tuning d;
    tlv__matmul_tuning_default(c, &d);
    for (int i = 0; i < N_CONFIGS; i++) configs[i] = d;
    configs[K_MATVEC].kernel = TLV_MATMUL_MATVEC;
    configs[K_TILED].kernel = TLV_MATMUL_TILED;
    /* a GPU's matvec: 32 threads a row, shared-memory reduction (or subgroupAdd where the
     * subgroup is 32 wide) */
    tlv_matmul_tuning *t = &configs[K_MV_WIDE];
    t->kernel = TLV_MATMUL_MATVEC, t->mv_wg = 64, t->mv_t = 32, t->mv_mode = 0, t->mv_rows = 1, t->mv_max_nm = 8;
    t->mv_subgroup = c->use_subgroups && (c->subgroup_ops & TLV_SUBGROUP_ARITH);
    t->loop_budget = 0;
    t->mv_many_m = 0;
    /* a row per subgroup, subgroupAdd */
    t = &configs[K_MV_SG];
    t->kernel = TLV_MATMUL_MATVEC, t->mv_t = c->subgroup_size >= 1 && c->subgroup_size <= 64 ? c->subgroup_size : 8;
    t->mv_wg = 4 * t->mv_t, t->mv_mode = 0, t->mv_subgroup = configs[K_MV_WIDE].mv_subgroup;
    t->mv_rows = 2, t->mv_max_nm = 4, t->mv_many_m = 0;
    /* a lane per row without subgroups (lavapipe's fallback) */
    t = &configs[K_MV_T1];
    t->kernel = TLV_MATMUL_MATVEC, t->mv_wg = 8, t->mv_t = 1, t->mv_mode = 0, t->mv_subgroup = 0, t->mv_rows = 3;
    t->mv_many_m = 0;
    /* the device's own matvec shape with 8 rows of x a pass */
    t = &configs[K_MV_NM8];
    t->kernel = TLV_MATMUL_MATVEC, t->mv_rows = 1, t->mv_max_nm = 8, t->mv_many_m = 0;
    /* mode 2 (lavapipe's shape for many rows of x, scalar sums): the CPU devices' default
     * shape from M = 3 on (the same pipelines as K_MATVEC there: they compile slowly), and an
     * odd one for every M (3 weight rows per lane, 16 lanes) on the other read path */
    t = &configs[K_MV_MANY];
    t->kernel = TLV_MATMUL_MATVEC, t->mv_wg = 8, t->mv_t = 1, t->mv_subgroup = 0;
    t->mv_many_m = 3, t->mv_many_mode = 2, t->mv_many_rows = 8, t->mv_many_nm = 4;
    t = &configs[K_MV_MANY_ODD];
    t->kernel = TLV_MATMUL_MATVEC, t->mv_wg = 16, t->mv_t = 1, t->mv_subgroup = 0;
    t->mv_many_m = 1, t->mv_many_mode = 2, t->mv_many_rows = 3, t->mv_many_nm = 2;
    /* a GPU's tiles, and odd ones (k step not a multiple of 8: the element-wise copies) */
    t = &configs[K_TILED_GPU];
    t->kernel = TLV_MATMUL_TILED, t->bm = 64, t->bn = 64, t->bk = 16, t->tm = 4, t->tn = 4;
    t = &configs[K_TILED_ODD];
    t->kernel = TLV_MATMUL_TILED, t->bm = 24, t->bn = 40, t->bk = 12, t->tm = 3, t->tn = 5;
    /* the other read path (texel views <-> storage buffers) where the device has texel buffers:
     * every run tests both, whatever caps.use_texel (and TLV_DISABLE_TEXEL) chose */
    int texel_ok = (c->texel_formats & (1u << TLV_TEXEL_RGBA32UI)) && c->max_texel_buffers >= 2 &&
                   (c->subgroup_ops & TLV_SUBGROUP_SHUFFLE);
    configs[K_MV_FLIP] = configs[K_MATVEC];
    configs[K_TILED_FLIP] = configs[K_TILED_ODD];
    configs[K_MV_FLIP].texel = configs[K_TILED_FLIP].texel = configs[K_MV_MANY_ODD].texel = texel_ok && !d.texel;
    /* mode 1 through texel views: x handed out by subgroupShuffle, or fetched lane-uniform
     * (the other one than the device's default; where the default is not mode 1 through texel
     * views the switch does nothing and this is K_MATVEC again) */
    configs[K_MV_XSHUF] = configs[K_MATVEC];
    configs[K_MV_XSHUF].mv_x_shuffle = !d.mv_x_shuffle && d.mv_mode == 1 && d.texel && c->use_subgroups &&
                                       (c->subgroup_ops & TLV_SUBGROUP_SHUFFLE);
}

static double act_ref(double v, tlv_act a)
{
    switch (a) {
    case TLV_ACT_GELU_ERF: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    case TLV_ACT_GELU_TANH: return 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    case TLV_ACT_QUICK_GELU: return v / (1.0 + exp(-1.702 * v));
    case TLV_ACT_SILU: return v / (1.0 + exp(-v));
    default: return v;
    }
}

/* Cases are recorded in batches and run with one submit per batch: on a loaded machine every
 * submit-and-wait can cost a scheduler delay, and there are hundreds of cases. */
#define BATCH 24

typedef struct pending {
    mm_case c;
    char what[200];
    tlv_tensor tx, tw, tb, ty, tr, tf;
    float *y0, *ref; /* y's prior contents; reference of the written rows */
} pending;

static pending batch[BATCH];
static int n_batch;

static void release_case(tlv_test_gpu *g, pending *q)
{
    tlv_test_tensor_release(g, &q->tx);
    tlv_test_tensor_release(g, &q->tw);
    tlv_test_tensor_release(g, &q->tb);
    tlv_test_tensor_release(g, &q->ty);
    tlv_test_tensor_release(g, &q->tr);
    tlv_test_tensor_release(g, &q->tf);
    free(q->y0);
    free(q->ref);
}

/* Runs the recorded batch and checks every case in it. */
static void flush(tlv_test_gpu *g)
{
    if (n_batch == 0) return;
    int ran = tlv_test_run(g);
    for (int i = 0; i < n_batch; i++) {
        pending *q = &batch[i];
        const mm_case *c = &q->c;
        int64_t M = c->M, N = c->N, YR = M + c->y_extra;
        float *got = ran ? tlv_test_tensor_download(g, &q->ty) : NULL;
        if (got) {
            /* written rows: relative measure; other rows: untouched */
            if (!tlv_test_compare_rel(q->what, got + c->y_row0 * N, q->ref, (size_t)(M * N), 1e-5))
                fprintf(stderr, "  (failed: %s)\n", q->what);
            int untouched = 1;
            for (int64_t j = 0; j < YR * N; j++) {
                int64_t row = j / N;
                if ((row < c->y_row0 || row >= c->y_row0 + M) && memcmp(&got[j], &q->y0[j], 4)) untouched = 0;
            }
            CHECK(untouched);
            if (!untouched) fprintf(stderr, "  rows outside the range changed: %s\n", q->what);
            free(got);
            tlv_test_guards_ok(g, &q->ty, q->what);
        } else {
            fprintf(stderr, "  in case %s\n", q->what);
        }
        release_case(g, q);
    }
    n_batch = 0;
}

static void run_case(tlv_test_gpu *g, const mm_case *c, uint64_t seed)
{
    int64_t M = c->M, N = c->N, K = c->K, YR = M + c->y_extra;
    pending *q = &batch[n_batch];
    memset(q, 0, sizeof *q);
    q->c = *c;
    snprintf(q->what, sizeof q->what, "M=%lld N=%lld K=%lld w=%s bias=%s act=%d res=%d y_row0=%lld/%lld kernel=%s gated=%d",
             (long long)M, (long long)N, (long long)K, tlv__dtype_name(c->wdt),
             c->bias ? tlv__dtype_name((tlv_dtype)(c->bias - 1)) : "none", (int)c->act, (int)c->res,
             (long long)c->y_row0, (long long)YR, config_names[c->kernel], c->gated - 1);

    int64_t XK = c->gated ? 2 * K : K; /* columns of x */
    float *xin = tlv_test_random(seed, (size_t)(M * XK), -2.0f, 2.0f);
    float *x = malloc(sizeof(float) * (size_t)(M * K) + 1); /* the product's x (gated: act(g) * u) */
    if (xin && x)
        for (int64_t m = 0; m < M; m++)
            for (int64_t k = 0; k < K; k++)
                x[m * K + k] = c->gated ? (float)(act_ref(xin[m * XK + k], (tlv_act)(c->gated - 1)) * xin[m * XK + K + k])
                                        : xin[m * K + k];
    float *w = tlv_test_random(seed + 1, (size_t)(N * K), -1.0f, 1.0f);
    float *wr = malloc(sizeof(float) * (size_t)(N * K) + 1); /* w as the device holds it */
    float *b = tlv_test_random(seed + 2, (size_t)N, -0.5f, 0.5f);
    float *r = tlv_test_random(seed + 4, (size_t)(M * N), -1.0f, 1.0f); /* separate residual */
    q->y0 = tlv_test_random(seed + 3, (size_t)(YR * N), -1.0f, 1.0f);  /* y's prior contents */
    q->ref = malloc(sizeof(float) * (size_t)(M * N));
    if (!xin || !x || !w || !wr || !b || !r || !q->y0 || !q->ref) {
        CHECK(!"out of host memory");
        free(q->y0);
        free(q->ref);
        goto done;
    }
    /* the reference's weights: rounded to F16/BF16, or quantized and dequantized row by row
     * (Q8_0/Q4_0); the device gets w itself (tlv_test_tensor_make rounds / quantizes it alike) */
    memcpy(wr, w, sizeof(float) * (size_t)(N * K));
    if (!tlv_test_round_rows(c->wdt, wr, N, K)) {
        free(q->y0);
        free(q->ref);
        goto done;
    }
    if (c->bias) tlv_test_round((tlv_dtype)(c->bias - 1), b, (size_t)N);

    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++) acc += (double)x[m * K + k] * (double)wr[n * K + k];
            if (c->bias) acc += b[n];
            acc = act_ref(acc, c->act);
            if (c->res == RES_IN_PLACE) acc += q->y0[(c->y_row0 + m) * N + n];
            if (c->res == RES_SEPARATE) acc += r[m * N + n];
            q->ref[m * N + n] = (float)acc;
        }

    int ok = tlv_test_tensor_make(g, &q->tx, TLV_F32, 2, (int64_t[]){M, XK}, xin, 0);
    ok = ok && (!c->gated || tlv_test_tensor_make(g, &q->tf, TLV_F32, 2, (int64_t[]){M, K}, NULL, 0));
    ok = ok && tlv_test_tensor_make(g, &q->tw, c->wdt, 2, (int64_t[]){N, K}, w, 0);
    ok = ok && (!c->bias || tlv_test_tensor_make(g, &q->tb, (tlv_dtype)(c->bias - 1), 1, (int64_t[]){N}, b, 0));
    ok = ok && tlv_test_tensor_make(g, &q->ty, TLV_F32, 2, (int64_t[]){YR, N}, q->y0, 1);
    ok = ok && (c->res != RES_SEPARATE || tlv_test_tensor_make(g, &q->tr, TLV_F32, 2, (int64_t[]){M, N}, r, 0));
    if (!ok) {
        fprintf(stderr, "  in case %s\n", q->what);
        release_case(g, q);
        goto done;
    }
    const tlv_tensor *res = c->res == RES_IN_PLACE ? &q->ty : c->res == RES_SEPARATE ? &q->tr : NULL;
    const tlv_tensor *bias = c->bias ? &q->tb : NULL;
    if (c->gated)
        tlv__op_matmul_gated(g->s, (tlv_act)(c->gated - 1), &q->tx, &q->tf, &q->tw, bias, res, c->act, &q->ty,
                             c->kernel == K_AUTO ? NULL : &configs[c->kernel]);
    else if (c->y_row0 == 0 && c->y_extra == 0 && c->kernel == K_AUTO)
        tlv__op_matmul(g->s, &q->tx, &q->tw, bias, res, c->act, &q->ty);
    else
        tlv__op_matmul_rows(g->s, &q->tx, &q->tw, bias, res, c->act, &q->ty, c->y_row0,
                            c->kernel == K_AUTO ? NULL : &configs[c->kernel]);
    if (++n_batch == BATCH) flush(g);
done:
    free(xin);
    free(x);
    free(w);
    free(wr);
    free(b);
    free(r);
}

static void test_shapes(tlv_test_gpu *g)
{
    static const int64_t Ms[] = {1, 2, 3, 7, 9, 33, 100};
    static const tlv_dtype dts[] = {TLV_F32, TLV_F16, TLV_BF16};
    static const int ks[] = {K_MATVEC, K_TILED, K_MV_WIDE, K_MV_SG, K_MV_T1, K_MV_NM8, K_TILED_GPU, K_TILED_ODD,
                             K_MV_FLIP, K_TILED_FLIP, K_MV_MANY, K_MV_MANY_ODD, K_MV_XSHUF};
    const size_t nk = sizeof ks / sizeof ks[0];
    uint64_t seed = 1000;
    /* N, K not multiples of any tile; K odd so F16/BF16 rows start mid-word */
    for (size_t d = 0; d < 3; d++)
        for (size_t i = 0; i < sizeof Ms / sizeof Ms[0]; i++)
            for (size_t k = 0; k < nk; k++) {
                mm_case c = {Ms[i], 37, 83, dts[d], 0, TLV_ACT_NONE, RES_NONE, 0, 0, ks[k]};
                run_case(g, &c, seed += 10);
            }
    /* K a multiple of 8 and of 32 (the aligned paths), with and without a tail past 32 */
    for (size_t d = 0; d < 3; d++)
        for (size_t k = 0; k < nk; k++) {
            mm_case c1 = {5, 37, 96, dts[d], 0, TLV_ACT_NONE, RES_NONE, 0, 0, ks[k]};
            mm_case c2 = {9, 70, 104, dts[d], 0, TLV_ACT_NONE, RES_NONE, 0, 0, ks[k]};
            mm_case c3 = {33, 37, 8, dts[d], 0, TLV_ACT_NONE, RES_NONE, 0, 0, ks[k]};
            run_case(g, &c1, seed += 10);
            run_case(g, &c2, seed += 10);
            run_case(g, &c3, seed += 10);
        }
    /* long K: aligned and odd; x stays below 64 KiB for the slab run */
    for (size_t k = 0; k < nk; k++) {
        mm_case c1 = {3, 37, 4096, TLV_F16, 0, TLV_ACT_NONE, RES_NONE, 0, 0, ks[k]};
        mm_case c2 = {1, 37, 4099, TLV_BF16, 0, TLV_ACT_NONE, RES_NONE, 0, 0, ks[k]};
        mm_case c3 = {2, 19, 4097, TLV_F16, 0, TLV_ACT_NONE, RES_NONE, 0, 0, ks[k]};
        mm_case c4 = {1, 21, 4100, TLV_F32, 0, TLV_ACT_NONE, RES_NONE, 0, 0, ks[k]};
        run_case(g, &c1, seed += 10);
        run_case(g, &c2, seed += 10);
        run_case(g, &c3, seed += 10);
        run_case(g, &c4, seed += 10);
    }
    /* a model-like shape (Qwen2-0.5B's MLP in, 896 -> 300 of its 4864 rows) through AUTO */
    mm_case big = {4, 300, 896, TLV_F16, 1 + TLV_F32, TLV_ACT_SILU, RES_NONE, 0, 0, K_AUTO};
    run_case(g, &big, seed += 10);
    mm_case big1 = {1, 300, 896, TLV_BF16, 1 + TLV_BF16, TLV_ACT_NONE, RES_IN_PLACE, 0, 0, K_AUTO};
    run_case(g, &big1, seed += 10);
    /* prefill-like: many rows of x through AUTO (mode 2 on CPU devices), epilogue and residual;
     * x below 64 KiB for the slab run */
    mm_case big2 = {40, 300, 384, TLV_F16, 1 + TLV_F16, TLV_ACT_GELU_TANH, RES_IN_PLACE, 0, 0, K_AUTO};
    run_case(g, &big2, seed += 10);
}

/* Q8_0 and Q4_0 weights (device layout: tensor.h) in every kernel configuration: K = 32 (one
 * block), odd block counts per row (3, 5, 127), N not a multiple of any workgroup or tile, x rows
 * from 1 to 100; the reference dequantizes on the host (tlv__dequantize_row) and sums in double.
 * A wrong nibble order or a neighbour's scale moves results by ~10% of max |ref|: far past 1e-5.
 * The slab run splits the long-K weights ([37, 4064] Q8_0 is 160 KB) into row slabs. */
static void test_quantized(tlv_test_gpu *g)
{
    static const int64_t Ms[] = {1, 2, 3, 7, 33, 100};
    static const tlv_dtype dts[] = {TLV_Q8_0, TLV_Q4_0};
    static const int ks[] = {K_MATVEC, K_TILED, K_MV_WIDE, K_MV_SG, K_MV_T1, K_MV_NM8, K_TILED_GPU, K_TILED_ODD,
                             K_MV_FLIP, K_TILED_FLIP, K_MV_MANY, K_MV_MANY_ODD, K_MV_XSHUF};
    const size_t nk = sizeof ks / sizeof ks[0];
    uint64_t seed = 20000;
    for (size_t d = 0; d < 2; d++) {
        for (size_t i = 0; i < sizeof Ms / sizeof Ms[0]; i++)
            for (size_t k = 0; k < nk; k++) {
                mm_case c = {Ms[i], 37, 96, dts[d], 0, TLV_ACT_NONE, RES_NONE, 0, 0, ks[k]};
                run_case(g, &c, seed += 10);
            }
        for (size_t k = 0; k < nk; k++) {
            mm_case c1 = {5, 19, 32, dts[d], 1 + TLV_F32, TLV_ACT_NONE, RES_NONE, 0, 0, ks[k]};
            mm_case c2 = {9, 70, 160, dts[d], 0, TLV_ACT_SILU, RES_IN_PLACE, 0, 0, ks[k]};
            mm_case c3 = {3, 37, 4064, dts[d], 0, TLV_ACT_NONE, RES_NONE, 0, 0, ks[k]};
            mm_case c4 = {1, 21, 4064, dts[d], 1 + TLV_F16, TLV_ACT_NONE, RES_SEPARATE, 1, 2, ks[k]};
            run_case(g, &c1, seed += 10);
            run_case(g, &c2, seed += 10);
            run_case(g, &c3, seed += 10);
            run_case(g, &c4, seed += 10);
        }
        /* model-like (Qwen2-0.5B's MLP in, 896 -> 300 of its rows) through AUTO: decode, prefill */
        mm_case big1 = {1, 300, 896, dts[d], 1 + TLV_F32, TLV_ACT_NONE, RES_IN_PLACE, 0, 0, K_AUTO};
        mm_case big2 = {40, 300, 384, dts[d], 1 + TLV_F16, TLV_ACT_GELU_TANH, RES_IN_PLACE, 0, 0, K_AUTO};
        run_case(g, &big1, seed += 10);
        run_case(g, &big2, seed += 10);
    }
    flush(g);
}

static void test_epilogues(tlv_test_gpu *g)
{
    static const int ks[] = {K_MATVEC, K_TILED, K_AUTO, K_MV_WIDE, K_TILED_GPU, K_MV_MANY};
    static const tlv_act acts[] = {TLV_ACT_NONE, TLV_ACT_GELU_ERF, TLV_ACT_GELU_TANH, TLV_ACT_QUICK_GELU, TLV_ACT_SILU};
    uint64_t seed = 5000;
    for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
        /* every activation, with bias in each dtype */
        for (size_t a = 0; a < 5; a++)
            for (int bd = 1; bd <= 3; bd++) {
                mm_case c = {3, 37, 83, TLV_F16, bd, acts[a], RES_NONE, 0, 0, ks[k]};
                c.M = ks[k] == K_TILED || ks[k] == K_TILED_GPU ? 11 : 3;
                run_case(g, &c, seed += 10);
            }
        /* residuals, alone and with bias + activation, and a row offset into a bigger y */
        mm_case r1 = {2, 37, 64, TLV_F32, 0, TLV_ACT_NONE, RES_IN_PLACE, 0, 0, ks[k]};
        mm_case r2 = {9, 37, 83, TLV_BF16, 1 + TLV_F16, TLV_ACT_GELU_TANH, RES_IN_PLACE, 0, 0, ks[k]};
        mm_case r3 = {7, 37, 83, TLV_F16, 1 + TLV_F32, TLV_ACT_GELU_ERF, RES_SEPARATE, 0, 0, ks[k]};
        mm_case o1 = {5, 37, 96, TLV_F16, 1 + TLV_F32, TLV_ACT_NONE, RES_NONE, 3, 6, ks[k]};
        mm_case o2 = {3, 29, 83, TLV_F32, 0, TLV_ACT_SILU, RES_IN_PLACE, 1, 4, ks[k]};
        mm_case o3 = {4, 37, 83, TLV_BF16, 0, TLV_ACT_NONE, RES_SEPARATE, 2, 2, ks[k]};
        run_case(g, &r1, seed += 10);
        run_case(g, &r2, seed += 10);
        run_case(g, &r3, seed += 10);
        run_case(g, &o1, seed += 10);
        run_case(g, &o2, seed += 10);
        run_case(g, &o3, seed += 10);
    }
}

/* Bad arguments: each recording fails with the status and a message naming what is wrong. */
/* tlv__op_matmul_gated: the down projection reading act(gate) * up from [gate | up] rows
 * (matvec mode 0, the GPU shape; mode 1 with x shuffles, lavapipe's), or the product made first
 * (mode 1 without, mode 2, tiled); aligned and odd K. */
static void test_gated(tlv_test_gpu *g)
{
    static const int64_t Ms[] = {1, 2, 5};
    static const int64_t Ks[] = {64, 37, 96};
    static const int ks[] = {K_AUTO, K_MV_WIDE, K_MV_SG, K_MV_T1, K_MV_FLIP, K_MV_MANY, K_TILED, K_MV_XSHUF};
    static const tlv_act acts[] = {TLV_ACT_SILU, TLV_ACT_GELU_TANH, TLV_ACT_GELU_ERF};
    uint64_t seed = 9000;
    int i = 0;
    for (size_t a = 0; a < sizeof Ms / sizeof Ms[0]; a++)
        for (size_t b = 0; b < sizeof Ks / sizeof Ks[0]; b++)
            for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++, i++) {
                mm_case c = {Ms[a], i % 2 ? 33 : 130, Ks[b], i % 3 == 0 ? TLV_F16 : i % 3 == 1 ? TLV_BF16 : TLV_F32,
                             i % 2 ? 1 + TLV_F16 : 0, TLV_ACT_NONE, i % 2 ? RES_IN_PLACE : RES_NONE, 0, 0, ks[k],
                             1 + (int)acts[i % 3]};
                /* K = 96 (3 blocks): Q8_0 and Q4_0 weights, every gated path */
                if (Ks[b] == 96) c.wdt = i % 2 ? TLV_Q8_0 : TLV_Q4_0;
                run_case(g, &c, seed += 10);
            }
    flush(g);
}

/* The activations' tails, element by element: y = act(v) for v = -6, -5.875, ..., 1.875, every
 * matvec mode and the tiles, in the epilogue and (gated) where x is read as act(gate) * up. The
 * sums are exact (x all ones, weight rows of v / 8), so the bound can be relative: |got - ref| <=
 * 2e-5 |ref| (+ 1e-30). Far on the negative side GELU is tiny, and a form in which 1 + erf(x) or
 * 1 + tanh(u) cancels loses every digit there (the matrix kernels had one before they took
 * shaders/activations.glsl, ew's forms). */
static void test_act_tails(tlv_test_gpu *g)
{
    enum { NV = 64, KT = 8, NG = 4 };
    static const tlv_act acts[] = {TLV_ACT_GELU_ERF, TLV_ACT_GELU_TANH, TLV_ACT_QUICK_GELU, TLV_ACT_SILU};
    static const int ks[] = {K_MATVEC, K_MV_WIDE, K_MV_T1, K_MV_MANY_ODD, K_MV_XSHUF, K_TILED};
    static float ones[2 * KT], wv[NV * KT], gu[NV * 2 * KT], wg[NG * KT], ref[NV * NG];
    for (int k = 0; k < 2 * KT; k++) ones[k] = 1.0f;
    for (int n = 0; n < NV; n++) {
        for (int k = 0; k < KT; k++) {
            wv[n * KT + k] = (-6.0f + 0.125f * (float)n) / KT;
            gu[n * 2 * KT + k] = -6.0f + 0.125f * (float)n; /* gate */
            gu[n * 2 * KT + KT + k] = 1.0f;                  /* up */
        }
    }
    for (int i = 0; i < NG * KT; i++) wg[i] = 1.0f / KT;
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++)
            for (int gated = 0; gated < 2; gated++) {
                char what[160];
                snprintf(what, sizeof what, "activation tails: act=%d kernel=%s%s", (int)acts[a], config_names[ks[k]],
                         gated ? " gated" : "");
                /* epilogue: y [1, NV] = act(x . w^T); gated: y [NV, NG] = (act(gate) * up) . w^T */
                int64_t M = gated ? NV : 1, N = gated ? NG : NV;
                tlv_tensor tx = {0}, tw = {0}, ty = {0}, tf = {0};
                int ok = tlv_test_tensor_make(g, &tx, TLV_F32, 2, (int64_t[]){M, gated ? 2 * KT : KT}, gated ? gu : ones, 0);
                ok = ok && tlv_test_tensor_make(g, &tw, TLV_F32, 2, (int64_t[]){N, KT}, gated ? wg : wv, 0);
                ok = ok && tlv_test_tensor_make(g, &ty, TLV_F32, 2, (int64_t[]){M, N}, NULL, 0);
                ok = ok && (!gated || tlv_test_tensor_make(g, &tf, TLV_F32, 2, (int64_t[]){M, KT}, NULL, 0));
                if (ok) {
                    for (int64_t m = 0; m < M; m++)
                        for (int64_t n = 0; n < N; n++)
                            ref[m * N + n] = (float)act_ref(-6.0 + 0.125 * (double)(gated ? m : n), acts[a]);
                    if (gated)
                        tlv__op_matmul_gated(g->s, acts[a], &tx, &tf, &tw, NULL, NULL, TLV_ACT_NONE, &ty, &configs[ks[k]]);
                    else
                        tlv__op_matmul_rows(g->s, &tx, &tw, NULL, NULL, acts[a], &ty, 0, &configs[ks[k]]);
                    float *got = tlv_test_run(g) ? tlv_test_tensor_download(g, &ty) : NULL;
                    tlv_test_compare_elem(what, got, ref, (size_t)(M * N), 1e-30, 2e-5);
                    free(got);
                } else {
                    fprintf(stderr, "  in case %s\n", what);
                }
                tlv_test_tensor_release(g, &tx);
                tlv_test_tensor_release(g, &tw);
                tlv_test_tensor_release(g, &ty);
                tlv_test_tensor_release(g, &tf);
            }
}

static void test_bad_args(tlv_test_gpu *g)
{
    tlv_tensor x, w, y, y2, b, xh, r;
    int ok = tlv_test_tensor_make(g, &x, TLV_F32, 2, (int64_t[]){3, 16}, NULL, 0);
    ok = ok && tlv_test_tensor_make(g, &w, TLV_F16, 2, (int64_t[]){5, 16}, NULL, 0);
    ok = ok && tlv_test_tensor_make(g, &y, TLV_F32, 2, (int64_t[]){3, 5}, NULL, 0);
    ok = ok && tlv_test_tensor_make(g, &y2, TLV_F32, 2, (int64_t[]){3, 6}, NULL, 0);
    ok = ok && tlv_test_tensor_make(g, &b, TLV_F32, 1, (int64_t[]){6}, NULL, 0);
    ok = ok && tlv_test_tensor_make(g, &xh, TLV_F16, 2, (int64_t[]){3, 16}, NULL, 0);
    ok = ok && tlv_test_tensor_make(g, &r, TLV_F32, 2, (int64_t[]){2, 5}, NULL, 0);
    if (!ok) return;

    tlv__op_matmul(g->s, &xh, &w, NULL, NULL, TLV_ACT_NONE, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: x: expected F32");
    tlv__op_matmul(g->s, &x, &w, NULL, NULL, TLV_ACT_NONE, &y2);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: y: expected F32 [any, 5], found F32 [3, 6]");
    tlv__op_matmul(g->s, &x, &y2, NULL, NULL, TLV_ACT_NONE, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: w: expected F32 [any, 16]");
    tlv__op_matmul(g->s, &x, &w, &b, NULL, TLV_ACT_NONE, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: bias: expected [5]");
    tlv__op_matmul(g->s, &x, &w, NULL, &r, TLV_ACT_NONE, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: residual: expected F32 [3, 5], found F32 [2, 5]");
    tlv__op_matmul(g->s, &x, &w, NULL, NULL, (tlv_act)9, &y);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "unknown activation 9");
    tlv__op_matmul(g->s, &x, NULL, NULL, NULL, TLV_ACT_NONE, &y);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "matmul: w: missing");
    tlv__op_matmul_rows(g->s, &x, &w, NULL, NULL, TLV_ACT_NONE, &y, 1, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: y: rows [1, 4) outside its 3 rows");
    tlv__op_matmul_rows(g->s, &x, &w, NULL, NULL, TLV_ACT_NONE, &y, -1, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "outside its 3 rows");
    tlv__op_matmul_rows(g->s, &r, &w, NULL, NULL, TLV_ACT_NONE, &y, 0, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: w: expected F16 [any, 5]");
    tlv__op_matmul(g->s, &r, &w, NULL, NULL, TLV_ACT_NONE, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: y: expected 2 rows (as x), found 3");
    /* y == x (same storage, [3, 16] . [16, 16]^T -> [3, 16]) */
    tlv_tensor wsq;
    if (tlv_test_tensor_make(g, &wsq, TLV_F32, 2, (int64_t[]){16, 16}, NULL, 0)) {
        tlv__op_matmul(g->s, &x, &wsq, NULL, NULL, TLV_ACT_NONE, &x);
        tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "x and y overlap");
        tlv_test_tensor_release(g, &wsq);
    }
    /* activations in slabs are refused: a fake two-slab x */
    tlv_tensor x2 = x;
    tlv_vk_buffer two[2] = {x.slabs[0], x.slabs[0]}; /* a view's own slab array: x's has one record */
    x2.n_slabs = 2;
    x2.slab_rows = 2;
    x2.slabs = two;
    tlv__op_matmul(g->s, &x2, &w, NULL, NULL, TLV_ACT_NONE, &y);
    tlv_test_expect_fail(g, TLV_ERR_UNSUPPORTED, "matmul: x: expected one storage slab, found 2");
    /* the sticky status: after a failure, a valid op records nothing and the error stays */
    tlv__op_matmul(g->s, &xh, &w, NULL, NULL, TLV_ACT_NONE, &y);
    tlv__op_matmul(g->s, &x, &w, NULL, NULL, TLV_ACT_NONE, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: x: expected F32");
    /* tunings that do not fit the device */
    tlv_matmul_tuning bad = configs[K_MATVEC];
    bad.mv_t = 3;
    tlv__op_matmul_rows(g->s, &x, &w, NULL, NULL, TLV_ACT_NONE, &y, 0, &bad);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "matmul: tuning not valid");
    bad = configs[K_TILED];
    bad.bm = 4096, bad.tm = 1;
    tlv__op_matmul_rows(g->s, &x, &w, NULL, NULL, TLV_ACT_NONE, &y, 0, &bad);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "matmul: tuning not valid");
    bad = configs[K_MV_MANY];
    bad.mv_many_rows = 9;
    tlv__op_matmul_rows(g->s, &x, &w, NULL, NULL, TLV_ACT_NONE, &y, 0, &bad);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "matmul: tuning not valid");
    bad = configs[K_MV_MANY];
    bad.mv_t = 2;
    tlv__op_matmul_rows(g->s, &x, &w, NULL, NULL, TLV_ACT_NONE, &y, 0, &bad);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "matmul: tuning not valid");
    bad = configs[K_MATVEC];
    bad.texel = 2;
    tlv__op_matmul_rows(g->s, &x, &w, NULL, NULL, TLV_ACT_NONE, &y, 0, &bad);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "matmul: tuning not valid");
    bad = configs[K_MATVEC];
    bad.mv_x_shuffle = 2;
    tlv__op_matmul_rows(g->s, &x, &w, NULL, NULL, TLV_ACT_NONE, &y, 0, &bad);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "matmul: tuning not valid");
    /* probes */
    tlv__op_probe_read(g->s, &y.slabs[0], 0, 7, 8, 1, 0, &y.slabs[0]);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "probe_read: bad arguments");
    tlv__op_probe_fma(g->s, 8, 0, 10, &y.slabs[0]);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "probe_fma: bad arguments");

    tlv_test_tensor_release(g, &x);
    tlv_test_tensor_release(g, &w);
    tlv_test_tensor_release(g, &y);
    tlv_test_tensor_release(g, &y2);
    tlv_test_tensor_release(g, &b);
    tlv_test_tensor_release(g, &xh);
    tlv_test_tensor_release(g, &r);
}

/* The probes compute what they claim: probe_read's per-invocation xor of word sums, probe_fma's
 * chains (compared loosely: the device may or may not fuse the FMA). */
static void test_probes(tlv_test_gpu *g)
{
    const uint32_t n_words = 1000, wg = 8, n_wg = 3;
    uint32_t *data = malloc(n_words * 16);
    uint32_t expect[2][24], got[24];
    if (!data) return;
    for (uint32_t i = 0; i < n_words * 4; i++) data[i] = i * 2654435761u;
    for (int lc = 0; lc < 2; lc++) {
        uint32_t per_wg = (n_words + n_wg - 1) / n_wg;
        for (uint32_t gi = 0; gi < n_wg; gi++)
            for (uint32_t l = 0; l < wg; l++) {
                uint32_t b = gi * per_wg, e = b + per_wg < n_words ? b + per_wg : n_words;
                uint32_t lb = b + l, le = e, step = wg;
                if (lc) {
                    uint32_t per = (e - b + wg - 1) / wg;
                    lb = b + l * per;
                    le = lb + per < e ? lb + per : e;
                    step = 1;
                }
                uint32_t acc[4] = {0, 0, 0, 0};
                for (uint32_t i = lb; i < le; i += step)
                    for (int q = 0; q < 4; q++) acc[q] += data[i * 4 + q];
                expect[lc][gi * wg + l] = acc[0] ^ acc[1] ^ acc[2] ^ acc[3];
            }
    }
    tlv_vk_buffer src, dst;
    if (tlv_test_buffer_make(g, &src, n_words * 16, data, 1) && tlv_test_buffer_make(g, &dst, sizeof got, NULL, 1)) {
        /* storage buffer, then (where the device has them) a texel buffer: the same sums */
        int texel_ok = (g->caps->texel_formats & (1u << TLV_TEXEL_RGBA32UI)) && g->caps->max_texel_buffers >= 1;
        for (int tx = 0; tx <= texel_ok; tx++)
            for (int lc = 0; lc < 2; lc++) {
                tlv__op_probe_read(g->s, &src, 0, n_words * 16, wg, n_wg, lc | (tx ? TLV_PROBE_TEXEL : 0), &dst);
                if (tlv_test_run(g) && tlv_test_buffer_download(g, &dst, got, sizeof got)) {
                    CHECK(memcmp(got, expect[lc], sizeof got) == 0);
                    tlv_test_buffer_guards_ok(g, &dst, "probe_read dst");
                }
            }
        tlv__op_probe_read(g->s, &src, 0, n_words * 16, wg, n_wg, 4, &dst);
        tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "probe_read: bad arguments");
        float fg[24];
        tlv__op_probe_fma(g->s, wg, n_wg, 100, &dst);
        if (tlv_test_run(g) && tlv_test_buffer_download(g, &dst, fg, sizeof fg)) {
            for (uint32_t gid = 0; gid < wg * n_wg; gid++) {
                double total = 0;
                for (int ch = 0; ch < 8; ch++) {
                    float v = (float)gid * 1e-9f + (float)ch;
                    for (int it = 0; it < 200; it++) v = fmaf(v, 0.999f, 0.001f);
                    total += 4.0 * v;
                }
                CHECK_NEAR(fg[gid], total, 1e-4 * fabs(total));
            }
        }
        CHECK_NEAR(tlv__probe_fma_flops(8, 3, 100), 2.0 * 4 * 16 * 100 * 24, 0.5);
    }
    tlv_test_buffer_release(g, &src);
    tlv_test_buffer_release(g, &dst);
    free(data);
}

int main(void)
{
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return tlv_test_finish("test_matmul");
    configs_init(g.caps);
    test_shapes(&g);
    test_epilogues(&g);
    flush(&g);
    test_gated(&g);
    test_quantized(&g);
    test_act_tails(&g);
    test_bad_args(&g);
    test_probes(&g);
    tlv_test_gpu_teardown(&g);
    return tlv_test_finish("test_matmul");
}
