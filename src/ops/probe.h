/* probe.h: the one probe harness. Timing a recording over repeats, and the device's measured
 * ceilings (streaming read, FMA peak) found by a search over launch shapes; tinyllava-bench
 * (bench/roofline.c, bench/kernels.c) and the kernel benches of tests/ (bench_matmul,
 * bench_attention) use it, so that every figure is measured the same way.
 *
 * Timing: one cold run (first use: lavapipe compiles at the first dispatch), then the timed
 * runs; a run's time is the GPU time from the first to the last dispatch (timestamps, which
 * serialise the dispatches) or, without timestamps, the wall time around record + submit + wait.
 * The process CPU time of each run is kept too: lavapipe runs the shaders on this process's
 * threads, so on a shared machine CPU seconds are the steadier measure.
 *
 * Ceilings (shaders/probe_read.comp, shaders/probe_fma.comp via ops/matmul.h): the best of a
 * search over workgroup size x workgroup count (x lane layout x storage or texel buffer for the
 * read). The same kernel needs different shapes per device (RUNTIME.md "Measured on lavapipe":
 * 8-lane workgroups streaming long ranges on lavapipe, 64-256 threads and many workgroups on
 * GPUs), so the search is the point. A first pass measures every configuration once on a part of
 * the buffer; the best few are re-measured on the whole buffer with the repeats, and the best
 * median wins. lavapipe ends an invocation silently after 65535 loop iterations, so a read probe
 * never gives one invocation more than 60000 words: a configuration with few invocations covers
 * the buffer in several consecutive dispatches (their GPU times add up). */
#ifndef TLV_OPS_PROBE_H
#define TLV_OPS_PROBE_H

#include "ops/matmul.h"

#define TLV_PROBE_MAX_REPS 64

typedef void (*tlv_probe_record_fn)(tlv_stream *s, void *arg);

typedef struct tlv_probe_times {
    int n;                            /* timed runs in ns[] */
    double ns[TLV_PROBE_MAX_REPS];    /* per timed run */
    double cold_ns;                   /* the first run */
    double median_ns, best_ns;
    double best_cpu_ns;               /* least process CPU time of a timed run */
    int gpu;                          /* 1: GPU timestamps; 0: wall time */
} tlv_probe_times;

/* Records fn(s, arg) into a fresh recording of s (with timestamps) and runs it: once cold, then
 * reps times (at most TLV_PROBE_MAX_REPS; 0: the cold run is the only one and fills ns[0]). The
 * last run's dispatch records stay readable on s until its next begin (labels, times, the work
 * the ops noted). The first error stops it. */
tlv_status tlv__probe_time(tlv_stream *s, tlv_probe_record_fn fn, void *arg, int reps, tlv_probe_times *t,
                           tlv_err *err);

typedef struct tlv_probe_opts {
    int quick;    /* a smaller grid and buffer (tests, a first look) */
    int reps;     /* timed runs of each finalist (at least 3 are made) */
    int keep;     /* finalists re-measured with the repeats (0: 2) */
    /* called for every configuration of the first pass (NULL: quiet); value in GB/s or GFLOP/s,
     * per_cpu_s the same work per CPU-second */
    void (*on_config)(void *ud, int fma, uint32_t wg, uint32_t n_wg, int flags, double value, double per_cpu_s);
    void *ud;
} tlv_probe_opts;

typedef struct tlv_probe_peak {
    double value;                       /* GB/s or GFLOP/s: the winner's median */
    double runs[TLV_PROBE_MAX_REPS];    /* the winner's timed runs, in the same unit */
    int n_runs;
    double cold;                        /* the winner's cold run, in the same unit */
    double best_per_cpu_s;              /* most GB or GFLOP per CPU-second of any configuration */
    double work;                        /* bytes or FLOPs of one run of the winner */
    uint32_t wg, n_wg;                  /* the winner */
    int flags;                          /* read: TLV_PROBE_LANE_CONTIG | TLV_PROBE_TEXEL */
    int n_configs;                      /* configurations searched */
} tlv_probe_peak;

/* The device's streaming-read bandwidth (GB/s) and f32 FMA rate (GFLOP/s) on s's device. */
tlv_status tlv__probe_read_peak(tlv_stream *s, const tlv_probe_opts *o, tlv_probe_peak *out, tlv_err *err);
tlv_status tlv__probe_fma_peak(tlv_stream *s, const tlv_probe_opts *o, tlv_probe_peak *out, tlv_err *err);

#endif
