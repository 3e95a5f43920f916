/* test_work.c: the bytes and FLOPs ops note on their dispatch records (tlv__stream_note_work,
 * src/vk/vk.h), which the bench's GB/s, GFLOP/s and roofline figures are made of, against counts
 * made here from the shapes (docs/BENCHMARKS.md "How the work is counted"):
 *
 *   matmul (matvec and tiled kernels, f16 weights in row slabs under TLV_MAX_STORAGE_RANGE,
 *           f32 bias, residual in place): weights + bias + x + 2 y bytes, 2MNK FLOPs, one noted
 *           dispatch per weight slab;
 *   matmul_gated: x counts [gate | up] when the kernel reads it fused, else the gated op's
 *           output f (and the gated dispatch notes nothing);
 *   attention: q, o, visible keys and values once; 4 head_dim FLOPs per (query, visible key,
 *           head), causal and not, with a cache longer than the visible keys;
 *   the stream: a note after a record that dispatched nothing attaches to nothing. */
#include <stdlib.h>
#include <string.h>

#include "ops/attention.h"
#include "ops/matmul.h"
#include "ops_common.h"

/* Runs the recording and sums its records; -1 on failure. Begins a new recording. */
static int run_sum(tlv_test_gpu *g, double *bytes, double *flops, int *noted, int *gated)
{
    *bytes = *flops = 0;
    *noted = *gated = 0;
    tlv_status st = tlv__stream_run(g->s, &g->err);
    if (st) fprintf(stderr, "run: %s\n", g->err.msg);
    CHECK_EQ_INT(st, TLV_OK);
    for (uint32_t i = 0; !st && i < tlv__stream_n_dispatches(g->s); i++) {
        double b = tlv__stream_bytes(g->s, i), f = tlv__stream_flops(g->s, i);
        *bytes += b;
        *flops += f;
        if (b > 0 || f > 0) ++*noted;
        if (!strcmp(tlv__stream_label(g->s, i), "gated")) ++*gated;
    }
    tlv__stream_begin(g->s, 0);
    return st ? -1 : 0;
}

static void check_eq(const char *what, double got, double want)
{
    if (got != want) fprintf(stderr, "%s: recorded %.0f, counted %.0f\n", what, got, want);
    CHECK(got == want);
}

static void test_matmul(tlv_test_gpu *g)
{
    const int64_t M = 5, K = 40, N = 1000; /* w: 80000 bytes in f16: two slabs under a 64 KiB range */
    float *hx = tlv_test_random(1, (size_t)(M * K), -1, 1), *hw = tlv_test_random(2, (size_t)(N * K), -1, 1);
    float *hb = tlv_test_random(3, (size_t)N, -1, 1), *hy = tlv_test_random(4, (size_t)(M * N), -1, 1);
    tlv_tensor x, w, b, y;
    int ok = tlv_test_tensor_make(g, &x, TLV_F32, 2, (int64_t[]){M, K}, hx, 0) &&
             tlv_test_tensor_make(g, &w, TLV_F16, 2, (int64_t[]){N, K}, hw, 0) &&
             tlv_test_tensor_make(g, &b, TLV_F32, 1, (int64_t[]){N}, hb, 0) &&
             tlv_test_tensor_make(g, &y, TLV_F32, 2, (int64_t[]){M, N}, hy, 0);
    CHECK(ok);
    if (ok) {
        printf("matmul %lld x %lld -> %lld: weights in %d slab(s)\n", (long long)M, (long long)K, (long long)N, w.n_slabs);
        const double want_b = (double)N * K * 2 + (double)N * 4 + (double)M * K * 4 + (double)M * N * 4 * 2;
        const double want_f = 2.0 * M * N * K;
        tlv_matmul_kernel kernels[2] = {TLV_MATMUL_MATVEC, TLV_MATMUL_TILED};
        for (int k = 0; k < 2; k++) {
            tlv_matmul_tuning t;
            tlv__matmul_tuning_default(g->caps, &t);
            t.kernel = kernels[k];
            tlv__op_matmul_rows(g->s, &x, &w, &b, &y, TLV_ACT_NONE, &y, 0, &t);
            double bytes, flops;
            int noted, gated;
            if (run_sum(g, &bytes, &flops, &noted, &gated)) continue;
            check_eq(k ? "tiled bytes" : "matvec bytes", bytes, want_b);
            check_eq(k ? "tiled flops" : "matvec flops", flops, want_f);
            CHECK_EQ_INT(noted, w.n_slabs);
        }
        /* a residual in another tensor: the copy into y notes nothing, the figures are the same */
        tlv_tensor y2;
        if (tlv_test_tensor_make(g, &y2, TLV_F32, 2, (int64_t[]){M, N}, NULL, 0)) {
            tlv__op_matmul(g->s, &x, &w, &b, &y, TLV_ACT_NONE, &y2);
            double bytes, flops;
            int noted, gated;
            if (!run_sum(g, &bytes, &flops, &noted, &gated)) {
                check_eq("separate residual bytes", bytes, want_b);
                check_eq("separate residual flops", flops, want_f);
            }
            tlv_test_tensor_release(g, &y2);
        }
    }
    tlv_tensor *ts[] = {&x, &w, &b, &y};
    for (int i = 0; i < 4; i++) tlv_test_tensor_release(g, ts[i]);
    free(hx);
    free(hw);
    free(hb);
    free(hy);
}

static void test_gated(tlv_test_gpu *g)
{
    const int64_t K = 48, N = 24;
    for (int64_t M = 1; M <= 4; M += 3) { /* decode (the fused path where the device takes it) and a few rows */
        float *hgu = tlv_test_random(5, (size_t)(M * 2 * K), -1, 1), *hw = tlv_test_random(6, (size_t)(N * K), -1, 1);
        tlv_tensor gu, f, w, y;
        int ok = tlv_test_tensor_make(g, &gu, TLV_F32, 2, (int64_t[]){M, 2 * K}, hgu, 0) &&
                 tlv_test_tensor_make(g, &f, TLV_F32, 2, (int64_t[]){M, K}, NULL, 0) &&
                 tlv_test_tensor_make(g, &w, TLV_F16, 2, (int64_t[]){N, K}, hw, 0) &&
                 tlv_test_tensor_make(g, &y, TLV_F32, 2, (int64_t[]){M, N}, NULL, 0);
        CHECK(ok);
        if (ok) {
            tlv__op_matmul_gated(g->s, TLV_ACT_SILU, &gu, &f, &w, NULL, NULL, TLV_ACT_NONE, &y, NULL);
            double bytes, flops;
            int noted, gated;
            if (!run_sum(g, &bytes, &flops, &noted, &gated)) {
                double x_cols = gated ? (double)K : 2.0 * K; /* fused: the kernel reads [gate | up] */
                printf("matmul_gated M = %lld: %s\n", (long long)M, gated ? "gated dispatch, then matmul" : "fused");
                check_eq("gated bytes", bytes, (double)N * K * 2 + M * x_cols * 4 + (double)M * N * 4);
                check_eq("gated flops", flops, 2.0 * M * N * K);
                CHECK_EQ_INT(noted, 1);
            }
        }
        tlv_tensor *ts[] = {&gu, &f, &w, &y};
        for (int i = 0; i < 4; i++) tlv_test_tensor_release(g, ts[i]);
        free(hgu);
        free(hw);
    }
}

static void test_attention(tlv_test_gpu *g)
{
    const int nh = 4, nkv = 2, hd = 8, max_ctx = 16;
    tlv_tensor q, o, kc, vc;
    float *hq = tlv_test_random(7, (size_t)8 * nh * hd, -1, 1), *hk = tlv_test_random(8, (size_t)nkv * max_ctx * hd, -1, 1);
    int ok = tlv_test_tensor_make(g, &q, TLV_F32, 2, (int64_t[]){8, (int64_t)nh * hd}, hq, 0) &&
             tlv_test_tensor_make(g, &o, TLV_F32, 2, (int64_t[]){8, (int64_t)nh * hd}, NULL, 0) &&
             tlv_test_tensor_make(g, &kc, TLV_F32, 3, (int64_t[]){nkv, max_ctx, hd}, hk, 0) &&
             tlv_test_tensor_make(g, &vc, TLV_F32, 3, (int64_t[]){nkv, max_ctx, hd}, hk, 0);
    CHECK(ok);
    /* {n_q, n_kv, causal, pos0, visible keys, (query, key) pairs} */
    static const int cases[][6] = {
        {3, 5, 1, 2, 5, 3 + 4 + 5},   /* prefill of 3 rows after 2 */
        {3, 12, 1, 2, 5, 3 + 4 + 5},  /* the same, the cache holds more than is visible */
        {1, 9, 1, 8, 9, 9},           /* decode */
        {8, 16, 1, 8, 16, 8 * 8 + 36}, /* 8 rows after 8 */
        {4, 6, 0, 0, 6, 24},          /* non-causal */
    };
    for (size_t c = 0; ok && c < sizeof cases / sizeof cases[0]; c++) {
        const int *k = cases[c];
        tlv_attn_params p = {k[0], k[1], nh, nkv, hd, k[2], k[3], 0.35f, 0};
        tlv__op_attention(g->s, &p, tlv__attn_rows(&q, 0, hd), tlv__attn_cache(&kc), tlv__attn_cache(&vc),
                          tlv__attn_rows(&o, 0, hd), NULL);
        double bytes, flops;
        int noted, gated;
        if (run_sum(g, &bytes, &flops, &noted, &gated)) continue;
        char what[64];
        snprintf(what, sizeof what, "attention case %zu bytes", c);
        check_eq(what, bytes, 4.0 * hd * (2.0 * k[0] * nh + 2.0 * k[4] * nkv));
        snprintf(what, sizeof what, "attention case %zu flops", c);
        check_eq(what, flops, 4.0 * hd * k[5] * nh);
        CHECK_EQ_INT(noted, 1);
    }
    tlv_tensor *ts[] = {&q, &o, &kc, &vc};
    for (int i = 0; i < 4; i++) tlv_test_tensor_release(g, ts[i]);
    free(hq);
    free(hk);
}

static void test_stream(tlv_test_gpu *g)
{
    tlv_vk_buffer b;
    if (!tlv_test_buffer_make(g, &b, 256, NULL, 0)) return;
    tlv__stream_note_work(g->s, 7, 7); /* nothing recorded yet: nothing to attach to */
    tlv__stream_fill(g->s, &b, 0, 0, 0); /* an empty fill records nothing */
    tlv__stream_note_work(g->s, 7, 7);
    CHECK_EQ_INT(tlv__stream_n_dispatches(g->s), 0);
    tlv__stream_fill(g->s, &b, 0, 256, 0);
    tlv__stream_note_work(g->s, 256, 0); /* attaches to the fill */
    tlv__stream_fill(g->s, &b, 0, 0, 0);
    tlv__stream_note_work(g->s, 1000, 1000); /* the latest record made nothing: dropped */
    double bytes, flops;
    int noted, gated;
    if (!run_sum(g, &bytes, &flops, &noted, &gated)) {
        check_eq("fill bytes", bytes, 256);
        check_eq("fill flops", flops, 0);
    }
    CHECK(tlv__stream_bytes(g->s, 0) == 0.0); /* a new recording starts clean; out of range reads 0 */
    tlv_test_buffer_release(g, &b);
}

int main(void)
{
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return tlv_test_finish("test_work");
    test_matmul(&g);
    test_gated(&g);
    test_attention(&g);
    test_stream(&g);
    tlv_test_gpu_teardown(&g);
    return tlv_test_finish("test_work");
}
