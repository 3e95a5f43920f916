/* roofline.c: the device's measured ceilings, which every kernel and op is reported against.
 *
 * Streaming read (shaders/probe_read.comp): the best of a search over workgroup size x
 * workgroup count x lane layout (lanes interleaved word by word, or each lane streaming its own
 * piece). The same kernel needs different shapes per device (RUNTIME.md "Measured on lavapipe":
 * 8-lane workgroups streaming long ranges on lavapipe, 64-256 threads and many workgroups on
 * GPUs), so the search is the point. FMA peak (shaders/probe_fma.comp): the same search over
 * workgroup size x count.
 *
 * lavapipe ends an invocation silently after 65535 loop iterations, so a read probe never gives
 * one invocation more than PROBE_WORDS_PER_INV words: a configuration with few invocations
 * covers the buffer in several consecutive dispatches (their GPU times add up). A first pass
 * measures every configuration once on a part of the buffer; the best few are re-measured on
 * the whole buffer with the repeats, and the best median wins. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#define PROBE_WORDS_PER_INV 60000ull
#define PROBE_MAX_CHUNKS 8
#define FMA_ITERS 4096u

typedef struct probe_cfg {
    uint32_t wg, nwg;
    int lane;  /* TLV_PROBE_* flags: lane layout, storage or texel buffer */
    double value; /* GB/s or GFLOP/s of the first pass */
} probe_cfg;

typedef struct probe_buf {
    tlv_vk_buffer chunk[PROBE_MAX_CHUNKS];
    int n_chunks;
    uint64_t chunk_bytes;
    tlv_vk_buffer dst;
} probe_buf;

static void probe_buf_free(tlv_vk_device *d, probe_buf *pb)
{
    for (int i = 0; i < pb->n_chunks; i++) tlv__vk_buffer_free(d, &pb->chunk[i]);
    tlv__vk_buffer_free(d, &pb->dst);
    memset(pb, 0, sizeof *pb);
}

static tlv_status probe_buf_alloc(bench_ctx *b, uint64_t total, probe_buf *pb, tlv_err *err)
{
    memset(pb, 0, sizeof *pb);
    uint64_t cb = b->caps->storage_range_limit;
    if (cb > b->caps->max_alloc_bytes) cb = b->caps->max_alloc_bytes;
    if (cb > (128ull << 20)) cb = 128ull << 20;
    cb &= ~(uint64_t)4095;
    int n = (int)((total + cb - 1) / cb);
    if (n > PROBE_MAX_CHUNKS) n = PROBE_MAX_CHUNKS;
    pb->chunk_bytes = cb;
    tlv_status st = TLV_OK;
    tlv__stream_begin(b->s, 0);
    for (int i = 0; i < n && !st; i++) {
        st = tlv__vk_buffer_alloc(b->dev, cb, TLV_MEM_DEVICE, &pb->chunk[i], err);
        if (!st) {
            pb->n_chunks++;
            tlv__stream_fill(b->s, &pb->chunk[i], 0, cb, 0x01010101u); /* touch every page */
        }
    }
    /* one uint per invocation of the largest configuration */
    if (!st) st = tlv__vk_buffer_alloc(b->dev, 64ull << 20, TLV_MEM_DEVICE, &pb->dst, err);
    if (!st) st = tlv__stream_run(b->s, err);
    if (st) probe_buf_free(b->dev, pb);
    return st;
}

/* Reads `bytes` of the chunks with one configuration; returns GB/s, or -1 when the run failed
 * (err says why). */
static double run_read(bench_ctx *b, probe_buf *pb, uint64_t bytes, const probe_cfg *c, tlv_err *err)
{
    uint64_t inv = (uint64_t)c->wg * c->nwg;
    uint64_t piece = inv * PROBE_WORDS_PER_INV * 16;
    if (inv * 4 > pb->dst.size) return 0;
    double t0 = bench_now_ms();
    tlv__stream_begin(b->s, 1);
    uint64_t left = bytes;
    for (int i = 0; i < pb->n_chunks && left; i++) {
        uint64_t in_chunk = left < pb->chunk_bytes ? left : pb->chunk_bytes;
        for (uint64_t off = 0; off < in_chunk; off += piece) {
            uint64_t n = in_chunk - off < piece ? in_chunk - off : piece;
            tlv__op_probe_read(b->s, &pb->chunk[i], off, n & ~(uint64_t)15, c->wg, c->nwg, c->lane, &pb->dst);
        }
        left -= in_chunk;
    }
    if (tlv__stream_run(b->s, err)) return -1;
    double ns = b->caps->timestamps ? tlv__stream_total_ns(b->s) : (bench_now_ms() - t0) * 1e6;
    return ns > 0 ? (double)(bytes - left) / ns : 0;
}

/* GFLOP/s of one configuration, -1 on failure. */
static double run_fma(bench_ctx *b, probe_buf *pb, uint64_t bytes, const probe_cfg *c, tlv_err *err)
{
    (void)bytes;
    if ((uint64_t)c->wg * c->nwg * 4 > pb->dst.size) return 0;
    double t0 = bench_now_ms();
    tlv__stream_begin(b->s, 1);
    tlv__op_probe_fma(b->s, c->wg, c->nwg, FMA_ITERS, &pb->dst);
    if (tlv__stream_run(b->s, err)) return -1;
    double ns = b->caps->timestamps ? tlv__stream_total_ns(b->s) : (bench_now_ms() - t0) * 1e6;
    return ns > 0 ? tlv__probe_fma_flops(c->wg, c->nwg, FMA_ITERS) / ns : 0;
}

static int by_value_desc(const void *a, const void *b)
{
    double x = ((const probe_cfg *)a)->value, y = ((const probe_cfg *)b)->value;
    return (x < y) - (x > y);
}

/* Search grid: on CPU devices small workgroups and few of them (big grids of tiny workgroups
 * cost seconds on lavapipe and never win); on GPUs the usual shapes. */
static int make_grid(const bench_ctx *b, int fma, probe_cfg *cfgs, int cap)
{
    static const uint32_t wg_cpu[] = {8, 16, 32, 64, 256}, wg_gpu[] = {32, 64, 128, 256, 512, 1024};
    static const uint32_t nwg_cpu[] = {1, 2, 4, 8, 16, 32, 64, 256};
    static const uint32_t nwg_gpu[] = {16, 64, 256, 1024, 4096, 16384, 65535};
    int cpu = b->caps->type == VK_PHYSICAL_DEVICE_TYPE_CPU;
    const uint32_t *wgs = cpu ? wg_cpu : wg_gpu, *nwgs = cpu ? nwg_cpu : nwg_gpu;
    int n_wg = cpu ? 5 : 6, n_nwg = cpu ? 8 : 7, n = 0;
    /* texel reads too where the kernels use them (caps.use_texel): there they are the ceiling */
    int texel = b->caps->use_texel && (b->caps->texel_formats & (1u << TLV_TEXEL_RGBA32UI));
    if (b->o.quick) n_wg = cpu ? 2 : 3, n_nwg = cpu ? 5 : 4;
    for (int i = 0; i < n_wg; i++)
        for (int j = 0; j < n_nwg; j++)
            for (int lane = 0; lane <= (fma ? 0 : texel ? 3 : 1); lane++) {
                uint32_t wg = wgs[cpu || !b->o.quick ? i : i + 1], nwg = nwgs[cpu ? j : (b->o.quick ? 2 * j : j)];
                if (j >= n_nwg || wg > b->caps->max_wg_invocations || wg > b->caps->max_wg_size[0] ||
                    nwg > b->caps->max_wg_count[0] || n == cap)
                    continue;
                if (fma && cpu && nwg < 2) continue;
                cfgs[n].wg = wg, cfgs[n].nwg = nwg, cfgs[n].lane = lane, cfgs[n].value = 0;
                n++;
            }
    return n;
}

typedef double (*probe_fn)(bench_ctx *b, probe_buf *pb, uint64_t bytes, const probe_cfg *c, tlv_err *err);

/* First pass over the grid on `first` bytes, then the best `keep` re-measured on `total` bytes
 * (a cold run, then the repeats); fills r with the winner. */
static tlv_status search(bench_ctx *b, probe_buf *pb, int fma, uint64_t first, uint64_t total, int keep,
                         bench_result *r, probe_cfg *winner, tlv_err *err)
{
    probe_fn fn = fma ? run_fma : run_read;
    probe_cfg cfgs[256];
    int n = make_grid(b, fma, cfgs, 256);
    int reps = b->o.reps < 3 ? 3 : b->o.reps;
    if (reps > 64) reps = 64;
    for (int i = 0; i < n; i++) {
        if ((cfgs[i].value = fn(b, pb, first, &cfgs[i], err)) < 0) return tlv__err_prefix(err, "roofline probe");
        if (b->o.verbose)
            fprintf(stderr, "%s wg %u x %u %s%s: %.1f %s\n", fma ? "probe_fma" : "probe_read", cfgs[i].wg, cfgs[i].nwg,
                    fma ? "" : cfgs[i].lane & TLV_PROBE_LANE_CONTIG ? "contiguous" : "interleaved",
                    cfgs[i].lane & TLV_PROBE_TEXEL ? " texel" : "", cfgs[i].value, fma ? "GFLOP/s" : "GB/s");
    }
    qsort(cfgs, (size_t)n, sizeof *cfgs, by_value_desc);
    double v[64];
    for (int k = 0; k < keep && k < n; k++) {
        double cold = fn(b, pb, total, &cfgs[k], err);
        int m = 0;
        for (; m < reps && cold >= 0; m++)
            if ((v[m] = fn(b, pb, total, &cfgs[k], err)) < 0) cold = -1;
        if (cold < 0) return tlv__err_prefix(err, "roofline probe");
        bench_result t;
        memset(&t, 0, sizeof t);
        bench_stats(&t, v, m); /* over values here (GB/s or GFLOP/s), not times */
        if (t.median_ms > r->value) {
            r->value = t.median_ms, r->min_ms = t.min_ms, r->max_ms = t.max_ms, r->stddev_ms = t.stddev_ms;
            r->cold_ms = cold;
            r->reps = m;
            *winner = cfgs[k];
        }
    }
    snprintf(r->note, sizeof r->note, "workgroup %u x %u%s%s, best of %d configurations; spread and cold in %s",
             winner->wg, winner->nwg, fma ? "" : winner->lane & TLV_PROBE_LANE_CONTIG ? ", contiguous lanes" : ", interleaved lanes",
             fma ? "" : winner->lane & TLV_PROBE_TEXEL ? ", texel buffer" : ", storage buffer", n,
             fma ? "GFLOP/s" : "GB/s");
    return TLV_OK;
}

static bench_result *new_record(bench_ctx *b, const char *test, const char *unit)
{
    bench_result *r = bench_result_add(b);
    if (!r) return NULL;
    snprintf(r->kind, sizeof r->kind, "roofline");
    snprintf(r->model, sizeof r->model, "-");
    snprintf(r->dtype, sizeof r->dtype, "-");
    snprintf(r->test, sizeof r->test, "%s", test);
    snprintf(r->unit, sizeof r->unit, "%s", unit);
    snprintf(r->timer, sizeof r->timer, "%s", b->caps->timestamps ? "gpu" : "wall");
    r->higher_better = 1;
    r->roofline = 1;
    return r;
}

tlv_status bench_roofline(bench_ctx *b, int thorough, tlv_err *err)
{
    FILE *tab = b->o.json_path && !strcmp(b->o.json_path, "-") ? stderr : stdout;
    uint64_t total = (b->o.quick ? 64ull : 256ull) << 20;
    probe_buf pb;
    tlv_status st = probe_buf_alloc(b, total, &pb, err);
    if (st) return st;
    total = (uint64_t)pb.n_chunks * pb.chunk_bytes;
    int keep = thorough ? 4 : 2;
    probe_cfg win;
    bench_result *r = new_record(b, "read bandwidth", "GB/s");
    if (!r) st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    if (!st) st = search(b, &pb, 0, total / 4, total, keep, r, &win, err);
    if (!st) {
        b->peaks.read_gbs = r->value;
        b->peaks.read_wg = win.wg, b->peaks.read_nwg = win.nwg, b->peaks.read_lane_contig = win.lane;
        r->bytes = (double)total;
        r->gbs = r->value;
        bench_print_result(tab, b, r);
        r = new_record(b, "f32 fma peak", "GFLOP/s");
        if (!r) st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    }
    if (!st) st = search(b, &pb, 1, 0, 0, keep, r, &win, err);
    if (!st) {
        b->peaks.fma_gflops = r->value;
        b->peaks.fma_wg = win.wg, b->peaks.fma_nwg = win.nwg;
        r->flops = tlv__probe_fma_flops(win.wg, win.nwg, FMA_ITERS);
        r->gflops = r->value;
        bench_print_result(tab, b, r);
    }
    fflush(tab);
    probe_buf_free(b->dev, &pb);
    return st;
}
