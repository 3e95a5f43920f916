/* roofline.c: the device's measured ceilings, which every kernel and op is reported against:
 * the streaming-read bandwidth and the f32 FMA peak, each the best of a search over launch
 * shapes by the probe harness the kernel benches of tests/ share (ops/probe.h says how). */
#include "bench.h"

#include <string.h>

#include "ops/probe.h"

static void on_config(void *ud, int fma, uint32_t wg, uint32_t n_wg, int flags, double value, double per_cpu_s)
{
    (void)ud;
    (void)per_cpu_s;
    fprintf(stderr, "%s wg %u x %u %s%s: %.1f %s\n", fma ? "probe_fma" : "probe_read", wg, n_wg,
            fma ? "" : flags & TLV_PROBE_LANE_CONTIG ? "contiguous" : "interleaved", flags & TLV_PROBE_TEXEL ? " texel" : "",
            value, fma ? "GFLOP/s" : "GB/s");
}

/* Fills r from the search's winner. */
static void from_peak(bench_result *r, const tlv_probe_peak *pk, int fma)
{
    bench_stats(r, pk->runs, pk->n_runs); /* over values here (GB/s or GFLOP/s), not times */
    r->value = r->median_ms;
    r->cold_ms = pk->cold;
    snprintf(r->note, sizeof r->note, "workgroup %u x %u%s%s, best of %d configurations; spread and cold in %s", pk->wg,
             pk->n_wg, fma ? "" : pk->flags & TLV_PROBE_LANE_CONTIG ? ", contiguous lanes" : ", interleaved lanes",
             fma ? "" : pk->flags & TLV_PROBE_TEXEL ? ", texel buffer" : ", storage buffer", pk->n_configs,
             fma ? "GFLOP/s" : "GB/s");
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
    tlv_probe_opts po;
    memset(&po, 0, sizeof po);
    po.quick = b->o.quick;
    po.reps = b->o.reps;
    po.keep = thorough ? 4 : 2;
    if (b->o.verbose) po.on_config = on_config;
    tlv_probe_peak pk;
    tlv_status st = tlv__probe_read_peak(b->s, &po, &pk, err);
    bench_result *r = st ? NULL : new_record(b, "read bandwidth", "GB/s");
    if (!st && !r) st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    if (!st) {
        from_peak(r, &pk, 0);
        b->peaks.read_gbs = r->value;
        b->peaks.read_wg = pk.wg, b->peaks.read_nwg = pk.n_wg, b->peaks.read_lane_contig = pk.flags;
        r->bytes = pk.work;
        r->gbs = r->value;
        bench_print_result(tab, b, r);
        st = tlv__probe_fma_peak(b->s, &po, &pk, err);
    }
    if (!st) {
        r = new_record(b, "f32 fma peak", "GFLOP/s");
        if (!r) st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    }
    if (!st) {
        from_peak(r, &pk, 1);
        b->peaks.fma_gflops = r->value;
        b->peaks.fma_wg = pk.wg, b->peaks.fma_nwg = pk.n_wg;
        r->flops = pk.work;
        r->gflops = r->value;
        bench_print_result(tab, b, r);
    }
    fflush(tab);
    return st;
}
