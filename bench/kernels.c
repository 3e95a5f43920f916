/* kernels.c: `tinyllava-bench kernels`: every kernel at the real shapes of
 * TinyLLaVA-Phi-2-SigLIP-3.1B and TinyLLaVA-Qwen2-0.5B-SigLIP (MODELS.md 1.3-1.4), GPU time from
 * timestamps, reported as GB/s, GFLOP/s and the fraction of the probed roofline.
 *
 *   matvec  2560 -> 10240   Phi-2 fc1, one token (decode)
 *   matvec  10240 -> 2560   Phi-2 fc2
 *   matvec  896 -> 4864     Qwen2-0.5B gate / up
 *   matvec  896 -> 151936   Qwen2-0.5B head (tied embedding, 272 MB in f16: row slabs where the
 *                           storage range is 128 MiB, lavapipe and many phones)
 *   matmul  729 x 1152 -> 4304   SigLIP fc1 over one image's 729 patches, both kernels
 *   attn    729 tokens x 16 heads x 72, non-causal (SigLIP)
 *   attn    decode at L = 1024, 14 q / 2 kv heads x 64 (Qwen2-0.5B)
 *
 * Inputs are constant fills: the kernels' timing does not depend on the values. */
#include "bench.h"

#include <math.h>
#include <string.h>

typedef struct kernel_case {
    const char *name;
    int kind;            /* 0 linear, 1 attention */
    int64_t m, k, n;     /* linear: x [m, k], w [n, k] */
    tlv_matmul_kernel kernel;
    int n_q, n_kv, n_head, n_kv_head, head_dim, causal; /* attention */
} kernel_case;

static const kernel_case cases[] = {
    {"matvec 2560x10240", 0, 1, 2560, 10240, TLV_MATMUL_AUTO, 0, 0, 0, 0, 0, 0},
    {"matvec 10240x2560", 0, 1, 10240, 2560, TLV_MATMUL_AUTO, 0, 0, 0, 0, 0, 0},
    {"matvec 896x4864", 0, 1, 896, 4864, TLV_MATMUL_AUTO, 0, 0, 0, 0, 0, 0},
    {"matvec 896x151936", 0, 1, 896, 151936, TLV_MATMUL_AUTO, 0, 0, 0, 0, 0, 0},
    {"matmul 729x1152x4304 tiled", 0, 729, 1152, 4304, TLV_MATMUL_TILED, 0, 0, 0, 0, 0, 0},
    {"matmul 729x1152x4304 matvec", 0, 729, 1152, 4304, TLV_MATMUL_MATVEC, 0, 0, 0, 0, 0, 0},
    {"attn 729x16x72", 1, 0, 0, 0, TLV_MATMUL_AUTO, 729, 729, 16, 16, 72, 0},
    {"attn decode L1024 14/2x64", 1, 0, 0, 0, TLV_MATMUL_AUTO, 1, 1024, 14, 2, 64, 1},
};

static int selected(const char *only, const char *name)
{
    if (!only || !*only) return 1;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", only);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (strstr(name, tok)) return 1;
    return 0;
}

/* A small constant of each dtype, as a 32-bit fill pattern. */
static uint32_t fill_pattern(tlv_dtype t)
{
    /* Q8_0 / Q4_0 (device layout, tensor.h): quants 0x1f / 0x21, scales 0.01 */
    if (t == TLV_F16 || t == TLV_Q8_0 || t == TLV_Q4_0) return 0x211f211fu; /* 0.01 */
    if (t == TLV_BF16) return 0x3c243c24u; /* 0.01 */
    return 0x3c23d70au;                    /* 0.01 */
}

static tlv_status tensor_make(bench_ctx *b, tlv_tensor *t, tlv_dtype dt, int ndim, const int64_t *shape, tlv_err *err)
{
    tlv__tensor_init(t, dt, ndim, shape);
    tlv_status st = tlv__tensor_alloc(b->dev, t, TLV_MEM_DEVICE, err);
    if (st) return st;
    for (int i = 0; i < t->n_slabs; i++) tlv__stream_fill(b->s, &t->slabs[i], 0, t->slabs[i].size & ~(VkDeviceSize)3, fill_pattern(dt));
    return TLV_OK;
}

typedef struct kernel_run {
    tlv_tensor x, w, y, q, k, v, o, scratch;
    tlv_attn_params ap;
    tlv_matmul_tuning tune;
} kernel_run;

static void record(bench_ctx *b, const kernel_case *c, kernel_run *kr)
{
    if (c->kind == 0) {
        tlv__op_matmul_rows(b->s, &kr->x, &kr->w, NULL, NULL, TLV_ACT_NONE, &kr->y, 0, &kr->tune);
        return;
    }
    tlv_attn_view kv = c->causal ? tlv__attn_cache(&kr->k) : tlv__attn_rows(&kr->k, 0, c->head_dim);
    tlv_attn_view vv = c->causal ? tlv__attn_cache(&kr->v) : tlv__attn_rows(&kr->v, 0, c->head_dim);
    tlv__op_attention(b->s, &kr->ap, tlv__attn_rows(&kr->q, 0, c->head_dim), kv, vv,
                      tlv__attn_rows(&kr->o, 0, c->head_dim), kr->scratch.n_slabs ? &kr->scratch : NULL);
}

/* One timed run: GPU time in ms (wall when there are no timestamps), -1 on failure. */
static double run_once(bench_ctx *b, const kernel_case *c, kernel_run *kr, tlv_err *err)
{
    double t0 = bench_now_ms();
    tlv__stream_begin(b->s, 1);
    record(b, c, kr);
    if (tlv__stream_run(b->s, err)) return -1;
    return b->caps->timestamps ? tlv__stream_total_ns(b->s) * 1e-6 : bench_now_ms() - t0;
}

static void kernel_free(bench_ctx *b, kernel_run *kr)
{
    tlv_tensor *ts[] = {&kr->x, &kr->w, &kr->y, &kr->q, &kr->k, &kr->v, &kr->o, &kr->scratch};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        if (ts[i]->n_slabs) tlv__tensor_free(b->dev, ts[i]);
}

static tlv_status run_case(bench_ctx *b, const kernel_case *c, tlv_dtype dt, tlv_err *err)
{
    FILE *tab = b->o.json_path && !strcmp(b->o.json_path, "-") ? stderr : stdout;
    kernel_run kr;
    memset(&kr, 0, sizeof kr);
    tlv_status st = TLV_OK;
    double bytes, flops;
    tlv__stream_begin(b->s, 0);
    if (c->kind == 0) {
        tlv__matmul_tuning_default(b->caps, &kr.tune);
        kr.tune.kernel = c->kernel;
        int64_t xs[2] = {c->m, c->k}, ws[2] = {c->n, c->k}, ys[2] = {c->m, c->n};
        if ((st = tensor_make(b, &kr.x, TLV_F32, 2, xs, err)) || (st = tensor_make(b, &kr.w, dt, 2, ws, err)) ||
            (st = tensor_make(b, &kr.y, TLV_F32, 2, ys, err)))
            goto out;
        bytes = (double)tlv__tensor_bytes(&kr.w) + 4.0 * (double)(c->m * c->k + c->m * c->n);
        flops = 2.0 * (double)c->m * (double)c->n * (double)c->k;
    } else {
        tlv_attn_params *p = &kr.ap;
        p->n_q = c->n_q, p->n_kv = c->n_kv, p->n_head = c->n_head, p->n_kv_head = c->n_kv_head;
        p->head_dim = c->head_dim, p->causal = c->causal, p->pos0 = c->causal ? c->n_kv - c->n_q : 0;
        p->scale = 1.0f / sqrtf((float)c->head_dim);
        int64_t qs[2] = {c->n_q, (int64_t)c->n_head * c->head_dim};
        int64_t ks[3] = {c->n_kv, (int64_t)c->n_kv_head * c->head_dim, 1};
        int nd = 2;
        if (c->causal) { /* the KV cache layout [n_kv_head, max_ctx, hd] (attention.h) */
            ks[0] = c->n_kv_head, ks[1] = c->n_kv, ks[2] = c->head_dim;
            nd = 3;
        }
        if ((st = tensor_make(b, &kr.q, TLV_F32, 2, qs, err)) || (st = tensor_make(b, &kr.k, TLV_F32, nd, ks, err)) ||
            (st = tensor_make(b, &kr.v, TLV_F32, nd, ks, err)) || (st = tensor_make(b, &kr.o, TLV_F32, 2, qs, err)))
            goto out;
        int64_t se = tlv__op_attention_scratch_elems(b->dev, p);
        int64_t ss[2] = {1, se};
        if (se > 0 && (st = tensor_make(b, &kr.scratch, TLV_F32, 2, ss, err))) goto out;
        bytes = 4.0 * c->head_dim * (2.0 * c->n_q * c->n_head + 2.0 * c->n_kv * c->n_kv_head);
        double pairs = c->causal ? (double)c->n_q * (c->n_kv - c->n_q) + (double)c->n_q * (c->n_q + 1) / 2
                                 : (double)c->n_q * c->n_kv;
        flops = 4.0 * c->head_dim * pairs * c->n_head;
    }
    if ((st = tlv__stream_run(b->s, err))) goto out;

    double times[64];
    double cold = run_once(b, c, &kr, err);
    int n = 0;
    for (; cold >= 0 && n < b->o.reps && n < 64; n++)
        if ((times[n] = run_once(b, c, &kr, err)) < 0) cold = -1;
    if (cold < 0) {
        st = tlv__err_prefix(err, "%s", c->name);
        goto out;
    }
    if (n == 0) times[n++] = cold; /* -r 0 */
    bench_result *r = bench_result_add(b);
    if (!r) {
        st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
        goto out;
    }
    snprintf(r->kind, sizeof r->kind, "kernel");
    snprintf(r->model, sizeof r->model, "-");
    snprintf(r->dtype, sizeof r->dtype, "%s", c->kind == 0 ? bench_dtype_name(dt) : "f32");
    snprintf(r->test, sizeof r->test, "%s", c->name);
    snprintf(r->timer, sizeof r->timer, "%s", b->caps->timestamps ? "gpu" : "wall");
    bench_stats(r, times, n);
    r->cold_ms = cold;
    r->bytes = bytes, r->flops = flops;
    r->gbs = bytes / (r->median_ms * 1e6);
    r->gflops = flops / (r->median_ms * 1e6);
    r->roofline = bench_roofline_frac(&b->peaks, bytes, flops, r->median_ms);
    r->higher_better = 1;
    /* the headline: GB/s where the kernel should be memory-bound on any device, else GFLOP/s */
    int mem = (c->kind == 0 && c->m == 1) || (c->kind == 1 && c->n_q == 1);
    snprintf(r->unit, sizeof r->unit, "%s", mem ? "GB/s" : "GFLOP/s");
    r->value = mem ? r->gbs : r->gflops;
    if (c->kind == 0) {
        tlv_matmul_tuning d;
        tlv__matmul_tuning_default(b->caps, &d);
        int auto_mv = d.kernel == TLV_MATMUL_MATVEC || (d.kernel == TLV_MATMUL_AUTO && (uint64_t)c->m <= d.mv_max_m);
        int is_mv = c->kernel == TLV_MATMUL_MATVEC || (c->kernel == TLV_MATMUL_AUTO && auto_mv);
        snprintf(r->note, sizeof r->note, "%s kernel%s; %d slab(s); %.1f GB/s, %.1f GFLOP/s", is_mv ? "matvec" : "tiled",
                 is_mv == auto_mv ? " (the model's choice)" : "", kr.w.n_slabs, r->gbs, r->gflops);
    } else {
        snprintf(r->note, sizeof r->note, "%.1f GB/s, %.1f GFLOP/s", r->gbs, r->gflops);
    }
    bench_print_result(tab, b, r);
out:
    kernel_free(b, &kr);
    return st;
}

tlv_status bench_kernels(bench_ctx *b, tlv_err *err)
{
    FILE *tab = b->o.json_path && !strcmp(b->o.json_path, "-") ? stderr : stdout;
    fprintf(tab, "\n");
    bench_print_header(tab);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const kernel_case *c = &cases[i];
        if (!selected(b->o.only, c->name)) continue;
        int n_dt = c->kind == 0 ? b->o.n_dtypes : 1;
        for (int d = 0; d < n_dt; d++) {
            tlv_status st = run_case(b, c, b->o.dtypes[d], err);
            if (st) return st;
            bench_cooldown(b);
        }
    }
    return TLV_OK;
}
