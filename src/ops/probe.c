/* probe.c: the one probe harness (probe.h): timing over repeats, and the read and FMA ceilings. */
#include "ops/probe.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROBE_WORDS_PER_INV 60000ull
#define PROBE_MAX_CHUNKS 8
#define FMA_ITERS 4096u
#define MAX_CONFIGS 256

static double clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    if (n <= 0) return 0;
    double s[TLV_PROBE_MAX_REPS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* One run: GPU ns (timestamps) or wall ns; *cpu_ns the process CPU time. */
static tlv_status run_once(tlv_stream *s, tlv_probe_record_fn fn, void *arg, double *ns, double *cpu_ns, tlv_err *err)
{
    double t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    tlv__stream_begin(s, 1);
    fn(s, arg);
    tlv_status st = tlv__stream_run(s, err);
    *cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
    const tlv_vk_caps *c = tlv__vk_device_caps(tlv__stream_device(s));
    *ns = c->timestamps ? tlv__stream_total_ns(s) : clock_ns(CLOCK_MONOTONIC) - t0;
    return st;
}

tlv_status tlv__probe_time(tlv_stream *s, tlv_probe_record_fn fn, void *arg, int reps, tlv_probe_times *t, tlv_err *err)
{
    memset(t, 0, sizeof *t);
    t->gpu = tlv__vk_device_caps(tlv__stream_device(s))->timestamps != 0;
    if (reps > TLV_PROBE_MAX_REPS) reps = TLV_PROBE_MAX_REPS;
    if (reps < 0) reps = 0;
    double cpu;
    tlv_status st = run_once(s, fn, arg, &t->cold_ns, &cpu, err);
    t->best_cpu_ns = cpu;
    if (reps == 0 && !st) {
        t->ns[t->n++] = t->cold_ns; /* the cold run is all there is */
    } else {
        t->best_cpu_ns = 1e300;
        for (int i = 0; i < reps && !st; i++) {
            st = run_once(s, fn, arg, &t->ns[t->n], &cpu, err);
            if (!st) {
                if (cpu < t->best_cpu_ns) t->best_cpu_ns = cpu;
                t->n++;
            }
        }
    }
    if (st) return st;
    t->median_ns = median(t->ns, t->n);
    t->best_ns = t->ns[0];
    for (int i = 1; i < t->n; i++)
        if (t->ns[i] < t->best_ns) t->best_ns = t->ns[i];
    return TLV_OK;
}

/* ------------------------------------------------------------------ the ceilings */

typedef struct probe_cfg {
    uint32_t wg, nwg;
    int flags;    /* TLV_PROBE_* flags: lane layout, storage or texel buffer */
    double value; /* GB/s or GFLOP/s of the first pass */
} probe_cfg;

typedef struct probe_buf {
    tlv_vk_buffer chunk[PROBE_MAX_CHUNKS];
    int n_chunks;
    uint64_t chunk_bytes;
    tlv_vk_buffer dst;
} probe_buf;

typedef struct probe_run {
    probe_buf *pb;
    const probe_cfg *c;
    uint64_t bytes;  /* read: bytes to read */
    uint64_t done;   /* read: bytes the recording reads */
} probe_run;

static void probe_buf_free(tlv_vk_device *d, probe_buf *pb)
{
    for (int i = 0; i < pb->n_chunks; i++) tlv__vk_buffer_free(d, &pb->chunk[i]);
    tlv__vk_buffer_free(d, &pb->dst);
    memset(pb, 0, sizeof *pb);
}

/* total bytes of read source in chunks of at most the storage range (0: none), and a destination
 * of one uint per invocation of the largest configuration. */
static tlv_status probe_buf_alloc(tlv_stream *s, uint64_t total, probe_buf *pb, tlv_err *err)
{
    tlv_vk_device *d = tlv__stream_device(s);
    const tlv_vk_caps *c = tlv__vk_device_caps(d);
    memset(pb, 0, sizeof *pb);
    uint64_t cb = c->storage_range_limit;
    if (cb > c->max_alloc_bytes) cb = c->max_alloc_bytes;
    if (cb > (128ull << 20)) cb = 128ull << 20;
    cb &= ~(uint64_t)4095;
    int n = cb ? (int)((total + cb - 1) / cb) : 0;
    if (n > PROBE_MAX_CHUNKS) n = PROBE_MAX_CHUNKS;
    pb->chunk_bytes = cb;
    tlv_status st = TLV_OK;
    tlv__stream_begin(s, 0);
    for (int i = 0; i < n && !st; i++) {
        st = tlv__vk_buffer_alloc(d, cb, TLV_MEM_DEVICE, &pb->chunk[i], err);
        if (!st) {
            pb->n_chunks++;
            tlv__stream_fill(s, &pb->chunk[i], 0, cb, 0x01010101u); /* touch every page */
        }
    }
    if (!st) st = tlv__vk_buffer_alloc(d, 64ull << 20, TLV_MEM_DEVICE, &pb->dst, err);
    if (!st) st = tlv__stream_run(s, err);
    if (st) probe_buf_free(d, pb);
    return st;
}

static void record_read(tlv_stream *s, void *arg)
{
    probe_run *r = arg;
    const probe_cfg *c = r->c;
    uint64_t piece = (uint64_t)c->wg * c->nwg * PROBE_WORDS_PER_INV * 16;
    uint64_t left = r->bytes;
    r->done = 0;
    for (int i = 0; i < r->pb->n_chunks && left; i++) {
        uint64_t in_chunk = left < r->pb->chunk_bytes ? left : r->pb->chunk_bytes;
        for (uint64_t off = 0; off < in_chunk; off += piece) {
            uint64_t n = in_chunk - off < piece ? in_chunk - off : piece;
            tlv__op_probe_read(s, &r->pb->chunk[i], off, n & ~(uint64_t)15, c->wg, c->nwg, c->flags, &r->pb->dst);
        }
        left -= in_chunk;
        r->done += in_chunk;
    }
}

static void record_fma(tlv_stream *s, void *arg)
{
    probe_run *r = arg;
    tlv__op_probe_fma(s, r->c->wg, r->c->nwg, FMA_ITERS, &r->pb->dst);
}

/* Runs one configuration (reps timed runs after a cold one; reps 0: one run); fills t and *work
 * (bytes or FLOPs of a run). 1 when it ran, 0 when the configuration does not fit, -1 on error. */
static int measure(tlv_stream *s, int fma, probe_buf *pb, uint64_t bytes, const probe_cfg *c, int reps,
                   tlv_probe_times *t, double *work, tlv_err *err)
{
    if ((uint64_t)c->wg * c->nwg * 4 > pb->dst.size) return 0;
    probe_run r = {pb, c, bytes, 0};
    if (tlv__probe_time(s, fma ? record_fma : record_read, &r, reps, t, err)) return -1;
    *work = fma ? tlv__probe_fma_flops(c->wg, c->nwg, FMA_ITERS) : (double)r.done;
    return 1;
}

static int by_value_desc(const void *a, const void *b)
{
    double x = ((const probe_cfg *)a)->value, y = ((const probe_cfg *)b)->value;
    return (x < y) - (x > y);
}

/* Search grid: on CPU devices small workgroups and few of them (big grids of tiny workgroups
 * cost seconds on lavapipe and never win); on GPUs the usual shapes. */
static int make_grid(const tlv_vk_caps *caps, int quick, int fma, probe_cfg *cfgs, int cap)
{
    static const uint32_t wg_cpu[] = {8, 16, 32, 64, 256}, wg_gpu[] = {32, 64, 128, 256, 512, 1024};
    static const uint32_t nwg_cpu[] = {1, 2, 4, 8, 16, 32, 64, 256};
    static const uint32_t nwg_gpu[] = {16, 64, 256, 1024, 4096, 16384, 65535};
    int cpu = caps->type == VK_PHYSICAL_DEVICE_TYPE_CPU;
    const uint32_t *wgs = cpu ? wg_cpu : wg_gpu, *nwgs = cpu ? nwg_cpu : nwg_gpu;
    int n_wg = cpu ? 5 : 6, n_nwg = cpu ? 8 : 7, n = 0;
    /* texel reads too where the kernels use them (caps.use_texel: CPU drivers): there they are
     * the ceiling */
    int texel = caps->use_texel && (caps->texel_formats & (1u << TLV_TEXEL_RGBA32UI));
    if (quick) n_wg = cpu ? 2 : 3, n_nwg = cpu ? 5 : 4;
    for (int i = 0; i < n_wg; i++)
        for (int j = 0; j < n_nwg; j++)
            for (int lane = 0; lane <= (fma ? 0 : texel ? 3 : 1); lane++) {
                uint32_t wg = wgs[cpu || !quick ? i : i + 1], nwg = nwgs[cpu ? j : (quick ? 2 * j : j)];
                if (j >= n_nwg || wg > caps->max_wg_invocations || wg > caps->max_wg_size[0] ||
                    nwg > caps->max_wg_count[0] || n == cap)
                    continue;
                if (fma && cpu && nwg < 2) continue;
                cfgs[n].wg = wg, cfgs[n].nwg = nwg, cfgs[n].flags = lane, cfgs[n].value = 0;
                n++;
            }
    return n;
}

/* First pass over the grid on `first` bytes, then the best `keep` re-measured on `total` bytes
 * (a cold run, then the repeats); the best median wins. */
static tlv_status search(tlv_stream *s, const tlv_probe_opts *o, int fma, probe_buf *pb, uint64_t first,
                         uint64_t total, tlv_probe_peak *out, tlv_err *err)
{
    const tlv_vk_caps *caps = tlv__vk_device_caps(tlv__stream_device(s));
    probe_cfg cfgs[MAX_CONFIGS];
    int n = make_grid(caps, o->quick, fma, cfgs, MAX_CONFIGS);
    int reps = o->reps < 3 ? 3 : o->reps, keep = o->keep > 0 ? o->keep : 2;
    if (reps > TLV_PROBE_MAX_REPS) reps = TLV_PROBE_MAX_REPS;
    tlv_probe_times t;
    double work = 0;
    memset(out, 0, sizeof *out);
    out->n_configs = n;
    for (int i = 0; i < n; i++) {
        int ran = measure(s, fma, pb, first, &cfgs[i], 0, &t, &work, err);
        if (ran < 0) return tlv__err_prefix(err, "roofline probe");
        cfgs[i].value = ran && t.ns[0] > 0 ? work / t.ns[0] : 0;
        double per_cpu = ran && t.best_cpu_ns > 0 ? work / t.best_cpu_ns : 0;
        if (per_cpu > out->best_per_cpu_s) out->best_per_cpu_s = per_cpu;
        if (o->on_config) o->on_config(o->ud, fma, cfgs[i].wg, cfgs[i].nwg, cfgs[i].flags, cfgs[i].value, per_cpu);
    }
    qsort(cfgs, (size_t)n, sizeof *cfgs, by_value_desc);
    for (int k = 0; k < keep && k < n; k++) {
        int ran = measure(s, fma, pb, total, &cfgs[k], reps, &t, &work, err);
        if (ran < 0) return tlv__err_prefix(err, "roofline probe");
        if (!ran) continue;
        double v[TLV_PROBE_MAX_REPS];
        for (int i = 0; i < t.n; i++) v[i] = t.ns[i] > 0 ? work / t.ns[i] : 0;
        double med = median(v, t.n);
        if (med > out->value) {
            out->value = med;
            memcpy(out->runs, v, (size_t)t.n * sizeof *v);
            out->n_runs = t.n;
            out->cold = t.cold_ns > 0 ? work / t.cold_ns : 0;
            out->work = work;
            out->wg = cfgs[k].wg, out->n_wg = cfgs[k].nwg, out->flags = cfgs[k].flags;
        }
    }
    return TLV_OK;
}

tlv_status tlv__probe_read_peak(tlv_stream *s, const tlv_probe_opts *o, tlv_probe_peak *out, tlv_err *err)
{
    uint64_t total = (o->quick ? 64ull : 256ull) << 20;
    probe_buf pb;
    memset(out, 0, sizeof *out);
    tlv_status st = probe_buf_alloc(s, total, &pb, err);
    if (st) return st;
    total = (uint64_t)pb.n_chunks * pb.chunk_bytes;
    st = search(s, o, 0, &pb, total / 4, total, out, err);
    probe_buf_free(tlv__stream_device(s), &pb);
    return st;
}

tlv_status tlv__probe_fma_peak(tlv_stream *s, const tlv_probe_opts *o, tlv_probe_peak *out, tlv_err *err)
{
    probe_buf pb;
    memset(out, 0, sizeof *out);
    tlv_status st = probe_buf_alloc(s, 0, &pb, err);
    if (st) return st;
    st = search(s, o, 1, &pb, 0, 0, out, err);
    probe_buf_free(tlv__stream_device(s), &pb);
    return st;
}
