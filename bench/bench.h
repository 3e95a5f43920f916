/* bench.h: tinyllava-bench, the benchmark (docs/BENCHMARKS.md).
 *
 *   main.c     options, device setup, the two modes, --compare
 *   roofline.c the device's measured ceilings (the probe harness: src/ops/probe.h)
 *   kernels.c  every kernel at the published models' shapes (`tinyllava-bench kernels`)
 *   model.c    llama-bench style tests on a synthetic model (presets) or a checkpoint (-m)
 *   report.c   result records: terminal table, --json, --compare (markdown + SVG)
 *   presets.c  GENERATED from presets/NAME.json by presets/gen.py: the published config.json files
 *
 * Timing rules (ANCHORS.md lesson 19): every test runs once cold (reported on its own), then
 * -r timed repeats whose median and spread are reported. Timed runs record without timestamps
 * (a timestamped stream puts a barrier before every dispatch); one extra run with per-dispatch
 * GPU timestamps gives the per-op breakdown. Kernel tests use GPU time (timestamps, scaled by
 * timestampPeriod and masked to timestampValidBits by stream.c); model tests use wall time
 * around submit + wait, which is what a user waits for. */
#ifndef TLV_BENCH_BENCH_H
#define TLV_BENCH_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "model/model.h"
#include "ops/attention.h"
#include "ops/matmul.h"
#include "tensor.h"
#include "vk/vk.h"

#ifndef TLV_GIT_COMMIT
#define TLV_GIT_COMMIT "unknown"
#endif

#define BENCH_MAX_LIST 16
#define BENCH_MAX_OPS 32

typedef struct bench_preset {
    const char *name;
    const char *repo;   /* the published checkpoint whose config.json this is */
    const char *config; /* config.json text */
} bench_preset;

extern const bench_preset bench_presets[]; /* ends with a NULL name */

typedef struct bench_opts {
    int kernels_mode;
    int reps;                        /* timed repeats after the cold run (-r) */
    int quick;                       /* smaller probe search (tests, a first look) */
    const char *presets[BENCH_MAX_LIST];
    int n_presets;
    const char *model_dir;           /* -m: a real checkpoint instead of presets */
    tlv_dtype dtypes[3];
    int n_dtypes;
    const char *weights, *vision_weights; /* the recipe: --weights (with -m), --vision-weights */
    int pp[BENCH_MAX_LIST], n_pp;    /* -p: prompt lengths */
    int tg[BENCH_MAX_LIST], n_tg;    /* -n: generated tokens */
    int depth[BENCH_MAX_LIST], n_depth; /* -d: context depth before tg */
    int image;                       /* image encode test, and pp with an image in front */
    int ttft_q;                      /* question tokens of the time-to-first-token test; 0: skip */
    int n_batch;                     /* -b: rows per forward pass */
    tlv_dtype kv_dtype;              /* --kv: the KV cache's dtype (F16 or F32) */
    int ctx;                         /* --ctx: KV positions reserved (0: what the tests need) */
    int profile;                     /* per-op breakdown */
    int probe;                       /* measure the roofline in model mode */
    int cooldown_ms;                 /* pause between tests (thermals on phones and laptops) */
    const char *only;                /* kernels mode: comma-separated substrings of kernel names */
    const char *device;              /* -D / TLV_DEVICE */
    int pipeline_cache;
    const char *json_path;           /* NULL: none; "-": stdout */
    int verbose;
} bench_opts;

/* The device's measured ceilings (roofline.c). 0 = not measured. */
typedef struct bench_peaks {
    double read_gbs;
    uint32_t read_wg, read_nwg;
    int read_lane_contig;
    double fma_gflops;
    uint32_t fma_wg, fma_nwg;
} bench_peaks;

/* One row of the per-op breakdown. bytes / flops 0 when unknown for that label. */
typedef struct bench_op {
    char label[32];
    int count;
    double ms;
    double bytes, flops;
} bench_op;

/* One test result. */
typedef struct bench_result {
    char kind[16];       /* "roofline", "kernel", "model" */
    char model[64];      /* preset name, checkpoint folder or "-" */
    char dtype[8];
    char test[64];       /* "pp64", "tg128@d1024", "image", "matvec 2560x10240"... */
    char unit[12];       /* of value: "tok/s", "ms", "GB/s", "GFLOP/s" */
    double value;        /* the headline number (median) */
    int higher_better;
    int n_tokens, depth;
    int reps;
    char timer[8];       /* "gpu" (timestamps) or "wall" */
    double cold_ms, median_ms, min_ms, max_ms, stddev_ms;
    double bytes, flops; /* per run, when known */
    double gbs, gflops, roofline; /* roofline: fraction of max(bytes/bw, flops/fma) time */
    double cpu_ms_per_tok, thread_cpu_ms_per_tok;
    uint64_t peak_mem_bytes;
    uint64_t weight_bytes, kv_bytes; /* model mode: weights on the device, the KV cache reserved */
    int kv_positions;
    char kv[4];          /* "f16" / "f32"; "" outside model mode */
    double load_ms;
    char note[160];
    bench_op ops[BENCH_MAX_OPS];
    int n_ops;
} bench_result;

typedef struct bench_ctx {
    bench_opts o;
    tlv_vk_instance *inst;
    uint32_t dev_index;
    tlv_vk_device *dev;  /* current device (model mode re-creates it per model) */
    const tlv_vk_caps *caps;
    tlv_stream *s;
    bench_peaks peaks;
    bench_result *res;
    int n_res, cap_res;
    char banner[512];
} bench_ctx;

/* main.c */
tlv_status bench_device_open(bench_ctx *b, tlv_err *err);
void bench_device_close(bench_ctx *b);
double bench_now_ms(void);
const char *bench_dtype_name(tlv_dtype t); /* "f16", as -t spells it */
double bench_cpu_ms(int thread);
void bench_cooldown(const bench_ctx *b);

/* roofline.c */
tlv_status bench_roofline(bench_ctx *b, int record, tlv_err *err);

/* kernels.c */
tlv_status bench_kernels(bench_ctx *b, tlv_err *err);

/* model.c */
tlv_status bench_models(bench_ctx *b, tlv_err *err);
/* Parses the preset's config.json text with tlv__config_parse (the runtime's parser). */
tlv_status bench_preset_config(const bench_preset *p, tlv_model_config *cfg, tlv_err *err);

/* report.c */
/* The op row of label in ops (a new zeroed one when absent; NULL when ops is full). */
bench_op *bench_op_find(bench_op *ops, int *n_ops, const char *label);
/* Sum of the bytes and FLOPs the ops noted on the dispatches of the stream's last recording
 * (tlv__stream_note_work): the work figures come from what the engine dispatched. */
void bench_stream_work(const tlv_stream *s, double *bytes, double *flops);
/* Roofline fraction of a piece of work done in ms: max(bytes / bw, flops / fma) / time. */
double bench_roofline_frac(const bench_peaks *p, double bytes, double flops, double ms);
bench_result *bench_result_add(bench_ctx *b);
/* Fills median/min/max/stddev from times[0..n). */
void bench_stats(bench_result *r, const double *times, int n);
void bench_print_header(FILE *f);
void bench_print_result(FILE *f, const bench_ctx *b, const bench_result *r);
int bench_write_json(const bench_ctx *b, const char *path);
int bench_compare(int n_files, char **files, const char *svg_path);

#endif
