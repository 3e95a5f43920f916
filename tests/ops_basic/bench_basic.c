/* bench_basic.c: GPU times of the basic kernels at the real models' shapes (not a test).
 * Run: build-dir/tests/ops_basic/bench_basic. Each op runs 3 times; the best time is printed
 * with the bytes it moves per second. */
#include <stdlib.h>

#include "ops/basic.h"
#include "ops_common.h"

static tlv_test_gpu g;

static double best_ms;

static void begin(void)
{
    tlv__stream_begin(g.s, 1);
}

static void end(const char *what, double bytes)
{
    tlv_err err;
    if (tlv__stream_run(g.s, &err) != TLV_OK) {
        printf("%-48s failed: %s\n", what, err.msg);
        return;
    }
    double ns = 0;
    for (uint32_t i = 0; i < tlv__stream_n_dispatches(g.s); i++) ns += tlv__stream_time_ns(g.s, i);
    if (best_ms < 0 || ns / 1e6 < best_ms) best_ms = ns / 1e6;
}

static void report(const char *what, double bytes)
{
    printf("%-56s %9.3f ms %8.2f GB/s\n", what, best_ms, bytes / (best_ms * 1e6));
}

static tlv_tensor make(tlv_dtype dt, int ndim, int64_t a, int64_t b)
{
    int64_t sh[2] = {a, b};
    tlv_tensor t;
    size_t n = (size_t)(a * (ndim == 2 ? b : 1));
    float *x = tlv_test_random((uint64_t)n, n, -1, 1);
    tlv_test_tensor_make(&g, &t, dt, ndim, sh, x, 0);
    free(x);
    return t;
}

int main(void)
{
    if (!tlv_test_gpu_setup(&g)) return 1;
    const int64_t R = 770; /* Phi-2 prefill: 32 + 728 + 10 */
    tlv_tensor x = make(TLV_F32, 2, R, 2560), r = make(TLV_F32, 2, R, 2560), y = make(TLV_F32, 2, R, 2560);
    tlv_tensor w = make(TLV_F16, 1, 2560, 0), b = make(TLV_F16, 1, 2560, 0);
    tlv_tensor x1 = make(TLV_F32, 2, 1, 2560), y1 = make(TLV_F32, 2, 1, 2560);
    tlv_tensor up = make(TLV_F32, 2, R, 2 * 10240), act = make(TLV_F32, 2, R, 10240);

    best_ms = -1;
    for (int i = 0; i < 3; i++) { begin(); tlv__op_norm(g.s, TLV_NORM_LAYER, &x, NULL, &w, &b, 1e-5f, &y); end("", 0); }
    report("layernorm [770, 2560] f16 w+b", 2.0 * R * 2560 * 4);
    best_ms = -1;
    for (int i = 0; i < 3; i++) { begin(); tlv__op_norm(g.s, TLV_NORM_RMS, &x, &r, &w, NULL, 1e-6f, &y); end("", 0); }
    report("rmsnorm + residual [770, 2560]", 4.0 * R * 2560 * 4);
    best_ms = -1;
    for (int i = 0; i < 3; i++) { begin(); tlv__op_norm(g.s, TLV_NORM_LAYER, &x1, NULL, &w, &b, 1e-5f, &y1); end("", 0); }
    report("layernorm [1, 2560] (decode)", 2.0 * 2560 * 4);
    best_ms = -1;
    for (int i = 0; i < 3; i++) { begin(); tlv__op_add(g.s, &x, &r, &x); end("", 0); }
    report("add in place [770, 2560]", 3.0 * R * 2560 * 4);
    best_ms = -1;
    for (int i = 0; i < 3; i++) { begin(); tlv__op_act(g.s, TLV_ACT_GELU_TANH, &act, &act); end("", 0); }
    report("gelu_tanh in place [770, 10240]", 2.0 * R * 10240 * 4);
    best_ms = -1;
    for (int i = 0; i < 3; i++) { begin(); tlv__op_gated(g.s, TLV_ACT_SILU, &up, NULL, &act); end("", 0); }
    report("silu(a) * b from [770, 2 x 10240]", 3.0 * R * 10240 * 4);

    /* the splice: 728 image rows into the prompt rows 32.. */
    tlv_tensor feats = make(TLV_F32, 2, 728, 2560);
    best_ms = -1;
    for (int i = 0; i < 3; i++) { begin(); tlv__op_copy_rows(g.s, &feats, 0, &x, 32, 728); end("", 0); }
    report("copy_rows [728, 2560] f32 -> rows 32.. of [770, 2560]", 2.0 * 728 * 2560 * 4);
    tlv_tensor fh = make(TLV_F16, 2, 728, 2560);
    best_ms = -1;
    for (int i = 0; i < 3; i++) { begin(); tlv__op_copy_rows(g.s, &feats, 0, &fh, 0, 728); end("", 0); }
    report("cast [728, 2560] f32 -> f16", 728 * 2560 * 6.0);

    /* embeddings: Qwen2-0.5B-sized table, a prompt of 40 ids */
    tlv_tensor table = make(TLV_BF16, 2, 151936, 896), emb = make(TLV_F32, 2, 800, 896);
    tlv_vk_buffer ids;
    int32_t idv[40];
    for (int i = 0; i < 40; i++) idv[i] = i * 3797;
    tlv_test_buffer_make(&g, &ids, sizeof idv, idv, 0);
    best_ms = -1;
    for (int i = 0; i < 3; i++) { begin(); tlv__op_embed_rows(g.s, &table, &ids, 0, 40, 1.0f, &emb, 0); end("", 0); }
    report("embed 40 rows of a [151936, 896] bf16 table", 40.0 * 896 * 6);

    /* argmax / top-k over Gemma's vocabulary */
    tlv_tensor logits = make(TLV_F32, 2, 1, 256000), vals = make(TLV_F32, 2, 1, 64);
    tlv_vk_buffer scratch, idx;
    tlv_test_buffer_make(&g, &scratch, (size_t)tlv__op_topk_scratch_bytes(g.dev, 1, 256000, 64), NULL, 0);
    tlv_test_buffer_make(&g, &idx, 64 * 4, NULL, 0);
    best_ms = -1;
    for (int i = 0; i < 3; i++) { begin(); tlv__op_argmax(g.s, &logits, &scratch, 0, &idx, 0); end("", 0); }
    report("argmax [1, 256000]", 256000.0 * 4);
    best_ms = -1;
    for (int i = 0; i < 3; i++) { begin(); tlv__op_topk(g.s, &logits, 64, &scratch, 0, &idx, 0, &vals); end("", 0); }
    report("top-64 [1, 256000]", 256000.0 * 4);

    tlv__stream_begin(g.s, 0);
    tlv_test_gpu_teardown(&g);
    return 0;
}
