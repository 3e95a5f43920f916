/* bench_basic.c: GPU times of the basic kernels at the real models' shapes (not a test).
 * Run: build-dir/tests/ops_basic/bench_basic. Each op runs once cold and 3 times timed (the probe
 * harness, ops/probe.h); the best time is printed with the bytes it moves per second. */
#include <stdlib.h>

#include "ops/basic.h"
#include "ops/probe.h"
#include "ops_common.h"

static tlv_test_gpu g;

/* The operands, shared by the recordings below. */
static tlv_tensor x, r, y, w, b, x1, y1, up, act, feats, fh, table, emb, logits, vals;
static tlv_vk_buffer ids, scratch, idx;

/* Best GPU time of 3 runs after a cold one (the probe harness, ops/probe.h, as tinyllava-bench
 * times its kernels), printed with the bytes the op moves per second. */
static void bench(const char *what, tlv_probe_record_fn fn, double bytes)
{
    tlv_probe_times t;
    tlv_err err;
    if (tlv__probe_time(g.s, fn, NULL, 3, &t, &err) != TLV_OK) {
        printf("%-56s failed: %s\n", what, err.msg);
        return;
    }
    double ms = t.best_ns / 1e6;
    printf("%-56s %9.3f ms %8.2f GB/s\n", what, ms, bytes / (ms * 1e6));
}

static void rec_layernorm(tlv_stream *s, void *a) { (void)a; tlv__op_norm(s, TLV_NORM_LAYER, &x, NULL, &w, &b, 1e-5f, &y); }
static void rec_rmsnorm(tlv_stream *s, void *a) { (void)a; tlv__op_norm(s, TLV_NORM_RMS, &x, &r, &w, NULL, 1e-6f, &y); }
static void rec_layernorm1(tlv_stream *s, void *a) { (void)a; tlv__op_norm(s, TLV_NORM_LAYER, &x1, NULL, &w, &b, 1e-5f, &y1); }
static void rec_add(tlv_stream *s, void *a) { (void)a; tlv__op_add(s, &x, &r, &x); }
static void rec_gelu(tlv_stream *s, void *a) { (void)a; tlv__op_act(s, TLV_ACT_GELU_TANH, &act, &act); }
static void rec_gated(tlv_stream *s, void *a) { (void)a; tlv__op_gated(s, TLV_ACT_SILU, &up, NULL, &act); }
static void rec_splice(tlv_stream *s, void *a) { (void)a; tlv__op_copy_rows(s, &feats, 0, &x, 32, 728); }
static void rec_cast(tlv_stream *s, void *a) { (void)a; tlv__op_copy_rows(s, &feats, 0, &fh, 0, 728); }
static void rec_embed(tlv_stream *s, void *a) { (void)a; tlv__op_embed_rows(s, &table, &ids, 0, 40, 1.0f, &emb, 0); }
static void rec_argmax(tlv_stream *s, void *a) { (void)a; tlv__op_argmax(s, &logits, &scratch, 0, &idx, 0); }
static void rec_topk(tlv_stream *s, void *a) { (void)a; tlv__op_topk(s, &logits, 64, &scratch, 0, &idx, 0, &vals); }

static tlv_tensor make(tlv_dtype dt, int ndim, int64_t rows, int64_t cols)
{
    int64_t sh[2] = {rows, cols};
    tlv_tensor t;
    size_t n = (size_t)(rows * (ndim == 2 ? cols : 1));
    float *data = tlv_test_random((uint64_t)n, n, -1, 1);
    tlv_test_tensor_make(&g, &t, dt, ndim, sh, data, 0);
    free(data);
    return t;
}

int main(void)
{
    if (!tlv_test_gpu_setup(&g)) return 1;
    const int64_t R = 770; /* Phi-2 prefill: 32 + 728 + 10 */
    x = make(TLV_F32, 2, R, 2560), r = make(TLV_F32, 2, R, 2560), y = make(TLV_F32, 2, R, 2560);
    w = make(TLV_F16, 1, 2560, 0), b = make(TLV_F16, 1, 2560, 0);
    x1 = make(TLV_F32, 2, 1, 2560), y1 = make(TLV_F32, 2, 1, 2560);
    up = make(TLV_F32, 2, R, 2 * 10240), act = make(TLV_F32, 2, R, 10240);

    bench("layernorm [770, 2560] f16 w+b", rec_layernorm, 2.0 * R * 2560 * 4);
    bench("rmsnorm + residual [770, 2560]", rec_rmsnorm, 4.0 * R * 2560 * 4);
    bench("layernorm [1, 2560] (decode)", rec_layernorm1, 2.0 * 2560 * 4);
    bench("add in place [770, 2560]", rec_add, 3.0 * R * 2560 * 4);
    bench("gelu_tanh in place [770, 10240]", rec_gelu, 2.0 * R * 10240 * 4);
    bench("silu(a) * b from [770, 2 x 10240]", rec_gated, 3.0 * R * 10240 * 4);

    /* the splice: 728 image rows into the prompt rows 32.. */
    feats = make(TLV_F32, 2, 728, 2560);
    bench("copy_rows [728, 2560] f32 -> rows 32.. of [770, 2560]", rec_splice, 2.0 * 728 * 2560 * 4);
    fh = make(TLV_F16, 2, 728, 2560);
    bench("cast [728, 2560] f32 -> f16", rec_cast, 728 * 2560 * 6.0);

    /* embeddings: Qwen2-0.5B-sized table, a prompt of 40 ids */
    table = make(TLV_BF16, 2, 151936, 896), emb = make(TLV_F32, 2, 800, 896);
    int32_t idv[40];
    for (int i = 0; i < 40; i++) idv[i] = i * 3797;
    tlv_test_buffer_make(&g, &ids, sizeof idv, idv, 0);
    bench("embed 40 rows of a [151936, 896] bf16 table", rec_embed, 40.0 * 896 * 6);

    /* argmax / top-k over Gemma's vocabulary */
    logits = make(TLV_F32, 2, 1, 256000), vals = make(TLV_F32, 2, 1, 64);
    tlv_test_buffer_make(&g, &scratch, (size_t)tlv__op_topk_scratch_bytes(g.dev, 1, 256000, 64), NULL, 0);
    tlv_test_buffer_make(&g, &idx, 64 * 4, NULL, 0);
    bench("argmax [1, 256000]", rec_argmax, 256000.0 * 4);
    bench("top-64 [1, 256000]", rec_topk, 256000.0 * 4);

    tlv__stream_begin(g.s, 0);
    tlv_test_gpu_teardown(&g);
    return 0;
}
