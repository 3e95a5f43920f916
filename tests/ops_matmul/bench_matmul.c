/* bench_matmul.c: timing of the matrix kernels on the local device, against the roofline probes
 * (not a test; built with the tests, run by hand):
 *
 *     build/tests/ops_matmul/bench_matmul [reps] [decode|prefill]
 *
 * "prefill": only M x 896 -> 4864 for M = 1, 2, 4, 8, 64, 64 x 896 -> 128 and 729 x 1152 -> 4304
 * (F16), the default tuning against matvec variants given as BENCH_VARIANTS="nm,rows[,mode] ..."
 * (x rows per pass, weight rows per lane, mv_mode, default 1; "0,0" = the default tuning), per
 * CPU-second.
 *
 * "decode": no probes, only the M = 1 shapes with the default tuning and its texel-flipped twin
 * (x and w through texel views vs storage buffers), run alternately so that load on a shared
 * machine hits both alike.
 *
 * Prints the best probe_read bandwidth and probe_fma rate (the search tinyllava-bench makes:
 * ops/probe.h, with every configuration of its first pass), then the
 * model shapes: matvec 896 -> 4864 and 2560 -> 10240 (F16, M = 1: Qwen2-0.5B's and Phi-2's MLP
 * up-projections at decode), 896 -> 151936 (F16: Qwen2-0.5B's LM head, three slabs on lavapipe),
 * matmul 729 x 1152 -> 4304 (F16: SigLIP's MLP over 729 patches), each
 * with the device's default tuning and a few others; GPU timestamps, median and best of reps.
 *
 * On a CPU device (lavapipe) the machine is often shared: the bench also reports the process's
 * CPU time per run (lavapipe's worker threads live in this process), and "per CPU-s" rates;
 * rate x the number of lavapipe threads estimates an idle machine. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ops/matmul.h"
#include "ops/probe.h"
#include "ops_common.h"

/* Runs the recording made by fn: a cold run, then reps; returns the median GPU ns (best in *best,
 * and the least CPU time of a run in best_cpu_ns). The probe harness (ops/probe.h) times it. */
typedef void (*record_fn)(tlv_test_gpu *g, void *arg);

static double best_cpu_ns;

struct timed {
    tlv_test_gpu *g;
    record_fn fn;
    void *arg;
};

static void record_timed(tlv_stream *s, void *p)
{
    struct timed *t = p;
    (void)s;
    t->fn(t->g, t->arg);
}

static double time_it(tlv_test_gpu *g, record_fn fn, void *arg, int reps, double *best)
{
    struct timed t = {g, fn, arg};
    tlv_probe_times pt;
    tlv__err_clear(&g->err);
    if (tlv__probe_time(g->s, record_timed, &t, reps, &pt, &g->err) != TLV_OK) {
        fprintf(stderr, "run failed: %s\n", g->err.msg);
        return -1;
    }
    best_cpu_ns = pt.best_cpu_ns;
    *best = pt.best_ns;
    return pt.median_ns;
}

struct mm_arg {
    tlv_tensor *x, *w, *y;
    const tlv_matmul_tuning *t;
};

static void rec_mm(tlv_test_gpu *g, void *p)
{
    struct mm_arg *a = p;
    tlv__op_matmul_rows(g->s, a->x, a->w, NULL, NULL, TLV_ACT_NONE, a->y, 0, a->t);
}

static double best_read_cpu, best_fma_cpu; /* per CPU-second */

static void on_config(void *ud, int fma, uint32_t wg, uint32_t n_wg, int flags, double value, double per_cpu_s)
{
    (void)ud;
    printf("  probe_%s wg %4u x %5u %s%s: %7.1f %s, %7.1f per CPU-s\n", fma ? "fma " : "read", wg, n_wg,
           fma ? "" : flags & TLV_PROBE_LANE_CONTIG ? "lane-contig" : "interleaved", flags & TLV_PROBE_TEXEL ? " texel" : "",
           value, fma ? "GFLOP/s" : "GB/s", per_cpu_s);
}

/* The device's ceilings by the harness tinyllava-bench uses (ops/probe.h): GB/s, GFLOP/s. */
static void probes(tlv_test_gpu *g, int reps, double *gbs, double *gf)
{
    tlv_probe_opts o;
    memset(&o, 0, sizeof o);
    o.reps = reps;
    o.keep = 4;
    o.on_config = on_config;
    tlv_probe_peak pk;
    *gbs = *gf = 0;
    if (tlv__probe_read_peak(g->s, &o, &pk, &g->err) != TLV_OK) {
        fprintf(stderr, "probe_read: %s\n", g->err.msg);
        return;
    }
    *gbs = pk.value;
    best_read_cpu = pk.best_per_cpu_s;
    if (tlv__probe_fma_peak(g->s, &o, &pk, &g->err) != TLV_OK) {
        fprintf(stderr, "probe_fma: %s\n", g->err.msg);
        return;
    }
    *gf = pk.value;
    best_fma_cpu = pk.best_per_cpu_s;
}

/* "prefill" mode: the default tuning against matvec variants (x rows per pass, weight rows per
 * lane), F16 weights, per CPU-second. */
static void bench_prefill(tlv_test_gpu *g, int64_t M, int64_t K, int64_t N, int reps)
{
    float *x = tlv_test_random(1, (size_t)(M * K), -1, 1), *w = tlv_test_random(2, (size_t)(N * K), -1, 1);
    tlv_tensor tx, tw, ty;
    if (!x || !w || !tlv_test_tensor_make(g, &tx, TLV_F32, 2, (int64_t[]){M, K}, x, 0) ||
        !tlv_test_tensor_make(g, &tw, TLV_F16, 2, (int64_t[]){N, K}, w, 0) ||
        !tlv_test_tensor_make(g, &ty, TLV_F32, 2, (int64_t[]){M, N}, NULL, 0)) {
        free(x);
        free(w);
        return;
    }
    double flops = 2.0 * M * N * K;
    printf("\n[%lld x %lld] . [%lld x %lld]^T F16: %.2f GFLOP\n", (long long)M, (long long)K, (long long)N,
           (long long)K, flops / 1e9);
    tlv_matmul_tuning d;
    tlv__matmul_tuning_default(g->caps, &d);
    const char *var = getenv("BENCH_VARIANTS"); /* "nm,rows nm,rows ..." (default: a small grid) */
    if (!var) var = "0,0 2,4,1 4,8,2 8,4,2"; /* the default, lavapipe's decode shape, mode 2 shapes */
    while (*var) {
        unsigned nm = 0, rows = 0, mode = 1;
        int used = 0;
        if (sscanf(var, "%u,%u%n", &nm, &rows, &used) != 2) break;
        if (var[used] == ',') {
            int u2 = 0;
            if (sscanf(var + used, ",%u%n", &mode, &u2) != 1) break;
            used += u2;
        }
        var += used;
        while (*var == ' ') var++;
        tlv_matmul_tuning t = d;
        if (nm) t.kernel = TLV_MATMUL_MATVEC, t.mv_max_nm = nm, t.mv_rows = rows, t.mv_mode = mode, t.mv_many_m = 0;
        struct mm_arg a = {&tx, &tw, &ty, &t};
        double best = 0, med = time_it(g, rec_mm, &a, reps, &best);
        if (t.mv_many_m && (uint64_t)M >= t.mv_many_m) /* what the op runs */
            t.mv_mode = t.mv_many_mode, t.mv_max_nm = t.mv_many_nm, t.mv_rows = t.mv_many_rows;
        if (med <= 0) {
            printf("  nm %u rows %u failed\n", nm, rows);
            continue;
        }
        printf("  %s mode %u nm %u rows %u: median %8.2f ms, best %8.2f ms, %6.2f GFLOP/s, %6.2f GFLOP per CPU-s\n",
               nm ? "matvec " : "default", t.mv_mode, t.mv_max_nm, t.mv_rows, med / 1e6, best / 1e6, flops / best,
               flops / best_cpu_ns);
    }
    tlv_test_tensor_release(g, &tx);
    tlv_test_tensor_release(g, &tw);
    tlv_test_tensor_release(g, &ty);
    free(x);
    free(w);
}

static void bench_shape(tlv_test_gpu *g, int64_t M, int64_t K, int64_t N, double peak_gbs, double peak_gf, int reps,
                        int decode_only)
{
    float *x = tlv_test_random(1, (size_t)(M * K), -1, 1), *w = tlv_test_random(2, (size_t)(N * K), -1, 1);
    tlv_tensor tx, tw, ty;
    if (!x || !w || !tlv_test_tensor_make(g, &tx, TLV_F32, 2, (int64_t[]){M, K}, x, 0) ||
        !tlv_test_tensor_make(g, &tw, TLV_F16, 2, (int64_t[]){N, K}, w, 0) ||
        !tlv_test_tensor_make(g, &ty, TLV_F32, 2, (int64_t[]){M, N}, NULL, 0)) {
        free(x);
        free(w);
        return;
    }
    tlv_matmul_tuning cfg[8];
    const char *names[8];
    int n = 0;
    tlv__matmul_tuning_default(g->caps, &cfg[n]);
    names[n++] = "default";
    int texel_ok = (g->caps->texel_formats & (1u << TLV_TEXEL_RGBA32UI)) && g->caps->max_texel_buffers >= 2;
    if (texel_ok) {
        cfg[n] = cfg[0], cfg[n].texel = !cfg[0].texel;
        names[n++] = cfg[0].texel ? "default, storage" : "default, texel";
    }
    int n_decode = n;
    cfg[n] = cfg[0], cfg[n].kernel = TLV_MATMUL_MATVEC, cfg[n].mv_mode = 0, cfg[n].mv_t = 1, cfg[n].mv_wg = 8;
    names[n++] = "matvec 8/1 mode 0";
    cfg[n] = cfg[0], cfg[n].kernel = TLV_MATMUL_MATVEC, cfg[n].mv_mode = 0, cfg[n].mv_t = 32, cfg[n].mv_wg = 128;
    cfg[n].mv_subgroup = 0, cfg[n].loop_budget = 0;
    names[n++] = "matvec 128/32 mode 0";
    cfg[n] = cfg[0], cfg[n].kernel = TLV_MATMUL_TILED;
    names[n++] = "tiled default";
    cfg[n] = cfg[0], cfg[n].kernel = TLV_MATMUL_TILED, cfg[n].bm = 64, cfg[n].bn = 64, cfg[n].bk = 16, cfg[n].tm = 4,
    cfg[n].tn = 4;
    names[n++] = "tiled 64x64x16 4x4";
    double bytes = (double)N * K * 2 + (double)M * K * 4 + (double)M * N * 4, flops = 2.0 * M * N * K;
    printf("\n[%lld x %lld] . [%lld x %lld]^T F16: %.1f MB of weights, %.2f GFLOP\n", (long long)M, (long long)K,
           (long long)N, (long long)K, (double)N * K * 2 / 1e6, flops / 1e9);
    if (decode_only) n = n_decode;
    for (int i = 0; i < n; i++) {
        if (M > 64 && i > 0 && g->caps->type == VK_PHYSICAL_DEVICE_TYPE_CPU) continue; /* slow: minutes */
        if (M == 1 && cfg[i].kernel == TLV_MATMUL_TILED) continue;
        struct mm_arg a = {&tx, &tw, &ty, &cfg[i]};
        double best, med = time_it(g, rec_mm, &a, reps, &best);
        if (med <= 0) {
            printf("  %-22s failed\n", names[i]);
            continue;
        }
        printf("  %-22s median %8.3f ms, best %8.3f ms: %6.2f GB/s (%4.0f%% of probe), %7.2f GFLOP/s (%4.0f%% of probe)\n",
               names[i], med / 1e6, best / 1e6, bytes / best, peak_gbs > 0 ? 100 * bytes / best / peak_gbs : 0,
               flops / best, peak_gf > 0 ? 100 * flops / best / peak_gf : 0);
        printf("  %-22s per CPU-s: %6.2f GB (%4.0f%% of probe_read's), %7.2f GFLOP (%4.0f%% of probe_fma's)\n", "",
               bytes / best_cpu_ns, best_read_cpu > 0 ? 100 * bytes / best_cpu_ns / best_read_cpu : 0, flops / best_cpu_ns,
               best_fma_cpu > 0 ? 100 * flops / best_cpu_ns / best_fma_cpu : 0);
    }
    tlv_test_tensor_release(g, &tx);
    tlv_test_tensor_release(g, &tw);
    tlv_test_tensor_release(g, &ty);
    free(x);
    free(w);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (reps < 1) reps = 1;
    int decode = argc > 2 && !strcmp(argv[2], "decode");
    int prefill = argc > 2 && !strcmp(argv[2], "prefill");
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return 1;
    if (prefill) {
        bench_prefill(&g, 1, 896, 4864, reps);
        bench_prefill(&g, 2, 896, 4864, reps);
        bench_prefill(&g, 4, 896, 4864, reps);
        bench_prefill(&g, 8, 896, 4864, reps);
        bench_prefill(&g, 64, 896, 128, reps);
        bench_prefill(&g, 64, 896, 4864, reps);
        bench_prefill(&g, 729, 1152, 4304, reps);
        tlv_test_gpu_teardown(&g);
        return tlv_test_failures ? 1 : 0;
    }
    if (!g.caps->timestamps) printf("no timestamps on this device: nothing to time\n");
    double gbs = 0, gf = 0;
    if (!decode) {
        printf("roofline probes:\n");
        probes(&g, reps, &gbs, &gf);
        printf("best: read %.1f GB/s (%.1f GB per CPU-s), fma %.1f GFLOP/s (%.1f per CPU-s)\n", gbs, best_read_cpu, gf,
               best_fma_cpu);
    }
    /* decode: the texel and storage runs alternate, rounds of reps, best of all */
    for (int round = 0; round < (decode ? 3 : 1); round++) {
        bench_shape(&g, 1, 896, 4864, gbs, gf, reps, decode);
        bench_shape(&g, 1, 2560, 10240, gbs, gf, reps, decode);
        bench_shape(&g, 1, 896, 151936, gbs, gf, reps, decode);
    }
    if (!decode) {
        bench_shape(&g, 8, 896, 4864, gbs, gf, reps, 0);
        bench_shape(&g, 729, 1152, 4304, gbs, gf, reps > 3 ? 3 : reps, 0);
    }
    tlv_test_gpu_teardown(&g);
    return tlv_test_failures ? 1 : 0;
}
