/* bench_attention.c: GPU time of the attention kernels on real-model shapes (not a test).
 * Usage: bench_attention [reps]. Prints per shape the best GPU time over reps runs (timestamps)
 * and the least process CPU time of a run, and for decode the KV bytes read per second of each. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "ops/attention.h"
#include "ops/probe.h"
#include "ops_common.h"

struct attn_run {
    const tlv_attn_params *p;
    tlv_attn_view q, k, v, o;
    const tlv_tensor *scratch;
};

static void record_attn(tlv_stream *s, void *arg)
{
    struct attn_run *a = arg;
    tlv__op_attention(s, a->p, a->q, a->k, a->v, a->o, a->scratch);
}

/* Best GPU time (timestamps) of one op over reps runs after a cold one, and the least process CPU
 * time of a run (lavapipe runs the shaders on this process's threads: on a shared machine CPU
 * seconds are the stable measure, wall time ~ CPU time / cores on an idle one). The probe
 * harness (ops/probe.h) times it, as tinyllava-bench does. */
static double run_best(tlv_test_gpu *g, const tlv_attn_params *p, tlv_attn_view q, tlv_attn_view k,
                       tlv_attn_view v, tlv_attn_view o, const tlv_tensor *scratch, int reps, double *cpu_per_op)
{
    struct attn_run a = {p, q, k, v, o, scratch};
    tlv_probe_times t;
    tlv_err err = {0};
    if (tlv__probe_time(g->s, record_attn, &a, reps, &t, &err) != TLV_OK) {
        fprintf(stderr, "run failed: %s\n", err.msg);
        return -1;
    }
    *cpu_per_op = t.best_cpu_ns * 1e-9;
    return t.best_ns;
}

static void decode(tlv_test_gpu *g, const char *name, int nh, int nkv, int hd, int L, int reps)
{
    tlv_tensor q = {0}, kc = {0}, vc = {0}, o = {0}, sc = {0};
    float *dq = tlv_test_random(1, (size_t)nh * hd, -1, 1);
    float *dk = tlv_test_random(2, (size_t)nkv * L * hd, -1, 1);
    tlv_test_tensor_make(g, &q, TLV_F32, 2, (int64_t[]){1, (int64_t)nh * hd}, dq, 0);
    tlv_test_tensor_make(g, &kc, TLV_F32, 3, (int64_t[]){nkv, L, hd}, dk, 0);
    tlv_test_tensor_make(g, &vc, TLV_F32, 3, (int64_t[]){nkv, L, hd}, dk, 0);
    tlv_test_tensor_make(g, &o, TLV_F32, 2, (int64_t[]){1, (int64_t)nh * hd}, NULL, 0);
    tlv_attn_params p = {1, L, nh, nkv, hd, 1, L - 1, 1.0f / sqrtf((float)hd), 0};
    int64_t n = tlv__op_attention_scratch_elems(g->dev, &p);
    tlv_test_tensor_make(g, &sc, TLV_F32, 1, (int64_t[]){n > 0 ? n : 16}, NULL, 0);
    const double bytes = 2.0 * nkv * L * hd * 4;
    for (int split = 0; split < 2; split++) {
        double cpu = 0;
        double t = run_best(g, &p, tlv__attn_rows(&q, 0, hd), tlv__attn_cache(&kc), tlv__attn_cache(&vc),
                            tlv__attn_rows(&o, 0, hd), split ? &sc : NULL, reps, &cpu);
        printf("decode %-10s heads %d/%d hd %d L %d %-9s: GPU %8.1f us %6.2f GB/s | CPU %8.1f us %6.2f GB/s per "
               "CPU-second\n", name, nh, nkv, hd, L, split ? "split" : "no split", t / 1e3, bytes / t, cpu * 1e6,
               bytes / cpu / 1e9);
    }
    tlv_test_tensor_release(g, &q);
    tlv_test_tensor_release(g, &kc);
    tlv_test_tensor_release(g, &vc);
    tlv_test_tensor_release(g, &o);
    tlv_test_tensor_release(g, &sc);
    free(dq);
    free(dk);
}

static void prefill(tlv_test_gpu *g, const char *name, int n, int nh, int hd, int causal, int reps)
{
    tlv_tensor x = {0}, o = {0};
    const int64_t cols = (int64_t)3 * nh * hd;
    float *dx = tlv_test_random(3, (size_t)n * cols, -1, 1);
    tlv_test_tensor_make(g, &x, TLV_F32, 2, (int64_t[]){n, cols}, dx, 0);
    tlv_test_tensor_make(g, &o, TLV_F32, 2, (int64_t[]){n, (int64_t)nh * hd}, NULL, 0);
    tlv_attn_params p = {n, n, nh, nh, hd, causal, 0, 1.0f / sqrtf((float)hd), 0};
    double cpu = 0;
    double t = run_best(g, &p, tlv__attn_rows(&x, 0, hd), tlv__attn_rows(&x, (int64_t)nh * hd, hd),
                        tlv__attn_rows(&x, (int64_t)2 * nh * hd, hd), tlv__attn_rows(&o, 0, hd), NULL, reps, &cpu);
    const double flop = 4.0 * n * n * hd * nh * (causal ? 0.5 : 1.0);
    printf("%-8s %d tokens x %d heads x %d %s: GPU %8.2f ms %6.2f GFLOP/s | CPU %8.2f ms %6.2f GFLOP per "
           "CPU-second\n", name, n, nh, hd, causal ? "causal" : "non-causal", t / 1e6, flop / t, cpu * 1e3,
           flop / cpu / 1e9);
    tlv_test_tensor_release(g, &x);
    tlv_test_tensor_release(g, &o);
    free(dx);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return 1;
    decode(&g, "qwen2-0.5b", 14, 2, 64, 1024, reps);
    decode(&g, "qwen2-0.5b", 14, 2, 64, 3000, reps);
    decode(&g, "phi-2", 32, 32, 80, 1024, reps);
    decode(&g, "gemma-2b", 8, 1, 256, 1024, reps);
    prefill(&g, "siglip", 729, 16, 72, 0, reps > 2 ? 2 : reps);
    prefill(&g, "phi-2", 800, 32, 80, 1, 1);
    prefill(&g, "gemma", 300, 8, 256, 1, 1);
    tlv_test_gpu_teardown(&g);
    return 0;
}
