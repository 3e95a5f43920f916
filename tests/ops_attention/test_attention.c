/* test_attention.c: tlv__op_attention, tlv__op_rope, tlv__op_kv_write and tlv__rope_table_fill
 * against plain-C references in double.
 *
 * `test_attention --kv f16`: the same with the f16 KV cache: every K and V operand of attention
 * (caches, separate projections, the K/V parts of a fused QKV tensor: a copy in F16 with the same
 * offsets and strides) is an F16 tensor, and the reference reads the same values rounded to f16
 * (round to nearest even, as uploaded), so the 1e-5 bound below still holds; kv_write and
 * qkv_rope_write write F16 caches, also with odd head_dim (words shared by two heads or
 * positions: the atomic path), checked against the double reference within one f16 ulp of the
 * largest value (2^-11 * max |ref|: rounding is half an ulp, the f32 rotation a little more).
 *
 * Error measures:
 *   attention, rope, kv_write: max |got - ref| <= 1e-5 * max |ref| over the view (f32 inputs);
 *   rope table vs Hugging Face (data/rope_hf.txt, made by gen/gen_rope_hf.py with PyTorch):
 *     |cos, sin - HF| <= 2.5e-7 up to position 4096 and <= 1.5e-6 up to 32767. We compute
 *     inv_freq with a correctly rounded pow; PyTorch's vectorised powf (SLEEF, 1 ulp) differs in
 *     one entry of 128 for rot 256, theta 1e4 (j = 111), which moves the angle by ~1e-6 at
 *     position 32767. A different f32 exponent or product order would move it by far more.
 * Guards: every output tensor has guard regions (ops_common), and elements of the output tensor
 * outside the view (padding columns, other cache positions) must keep the NaN sentinel. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ops/attention.h"
#include "ops_common.h"

/* A view over host data, same convention as tlv_attn_view. */
struct hview {
    const float *d;
    int64_t off, rs, hs;
};

static double hv(const struct hview *v, int64_t pos, int64_t head, int64_t dim)
{
    return v->d[v->off + pos * v->rs + head * v->hs + dim];
}

/* --kv f16: K and V operands (and the caches written) are F16 */
static int g_kv16;
static tlv_dtype kv_dtype(void) { return g_kv16 ? TLV_F16 : TLV_F32; }

/* x rounded to the KV dtype (f16: nearest even, as the upload does) */
static float kv_round(float x)
{
    return g_kv16 ? tlv__f16_to_f32(tlv__f32_to_f16(x)) : x;
}

static float *kv_round_all(float *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++) d[i] = kv_round(d[i]);
    return d;
}

/* The guard/untouched sentinel as downloaded from a tensor of dtype dt (F16: the NaN half). */
static int is_sentinel(float x, tlv_dtype dt)
{
    if (dt == TLV_F16) return isnan(x);
    uint32_t u;
    memcpy(&u, &x, 4);
    return u == TLV_TEST_SENTINEL;
}

/* o[i][h][d] (compact) = softmax(q k^T scale + mask) v, in double. */
static void ref_attention(const tlv_attn_params *p, const struct hview *q, const struct hview *k,
                          const struct hview *v, double *o)
{
    const int group = p->n_head / p->n_kv_head;
    const int hd = p->head_dim;
    double *s = malloc(sizeof(double) * (size_t)p->n_kv);
    for (int i = 0; i < p->n_q; i++) {
        const int lim = p->causal ? p->pos0 + i + 1 : p->n_kv;
        for (int h = 0; h < p->n_head; h++) {
            const int kh = h / group;
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j < lim; j++) {
                double dot = 0;
                for (int d = 0; d < hd; d++) dot += hv(q, i, h, d) * hv(k, j, kh, d);
                s[j] = dot * p->scale;
                if (s[j] > mx) mx = s[j];
            }
            for (int j = 0; j < lim; j++) {
                s[j] = exp(s[j] - mx);
                sum += s[j];
            }
            double *out = o + ((size_t)i * p->n_head + h) * hd;
            for (int d = 0; d < hd; d++) {
                double a = 0;
                for (int j = 0; j < lim; j++) a += s[j] * hv(v, j, kh, d);
                out[d] = a / sum;
            }
        }
    }
    free(s);
}

/* Compares the view (n_pos x n_heads x hd) of a downloaded tensor with a compact reference, and
 * checks that every other element of the tensor still holds the sentinel. */
static void compare_view(const char *what, const float *got, int64_t nelem, const struct hview *gv, int n_pos,
                         int n_heads, int hd, const double *ref, tlv_dtype dt, double tol)
{
    const size_t n = (size_t)n_pos * n_heads * hd;
    float *g = malloc(n * sizeof(float));
    float *r = malloc(n * sizeof(float));
    unsigned char *covered = calloc((size_t)nelem, 1);
    double maxref = 0;
    for (int i = 0; i < n_pos; i++)
        for (int h = 0; h < n_heads; h++)
            for (int d = 0; d < hd; d++) {
                const size_t c = ((size_t)i * n_heads + h) * hd + d;
                const int64_t e = gv->off + i * gv->rs + h * gv->hs + d;
                g[c] = got[e];
                covered[e] = 1;
                r[c] = (float)ref[c];
                if (fabs(ref[c]) > maxref) maxref = fabs(ref[c]);
            }
    tlv_test_compare_rel(what, g, r, n, tol);
    int64_t bad = -1;
    for (int64_t e = 0; e < nelem && bad < 0; e++)
        if (!covered[e] && !is_sentinel(got[e], dt)) bad = e;
    CHECK(bad < 0);
    if (bad >= 0) fprintf(stderr, "%s: element %lld outside the view was written (%g)\n", what, (long long)bad,
                          (double)got[bad]);
    free(g);
    free(r);
    free(covered);
}

/* ------------------------------------------------------------------------------------------
 * Attention cases */

enum { LAYOUT_SEPARATE, LAYOUT_FUSED, LAYOUT_CACHE, LAYOUT_CACHE_POSMAJOR };

struct attn_case {
    const char *name;
    int n_q, n_kv, n_head, n_kv_head, hd, causal, pos0, n_split;
    int layout;
    int o_pad;    /* extra floats at the end of each o row (a strided output view) */
    int scratch;  /* 1: pass a scratch tensor sized by tlv__op_attention_scratch_elems (or n_split) */
    float qamp;   /* q values in [-qamp, qamp] (sharper softmax for larger) */
};

static void run_attn_case(tlv_test_gpu *g, const struct attn_case *c, uint64_t seed)
{
    const int hd = c->hd, nh = c->n_head, nkv = c->n_kv_head;
    tlv_attn_params p = {c->n_q, c->n_kv, nh, nkv, hd, c->causal, c->pos0, 1.0f / sqrtf((float)hd), c->n_split};
    tlv_tensor tq = {0}, tk = {0}, tv = {0}, to = {0}, ts = {0}, tkv = {0};
    struct hview hq, hk, hvv, ho;
    tlv_attn_view q, k, v, o;
    float *dq = NULL, *dk = NULL, *dv = NULL, *dkv = NULL;
    const int max_ctx = c->n_kv + 5;

    if (c->layout == LAYOUT_FUSED) {
        /* one [n, (nh + 2 nkv) hd] buffer, queries and keys are the same rows */
        const int64_t cols = (int64_t)(nh + 2 * nkv) * hd;
        dq = tlv_test_random(seed, (size_t)c->n_kv * cols, -1, 1);
        for (int64_t i = 0; i < (int64_t)c->n_kv; i++)
            for (int64_t e = 0; e < (int64_t)nh * hd; e++) dq[i * cols + e] *= c->qamp;
        tlv_test_tensor_make(g, &tq, TLV_F32, 2, (int64_t[]){c->n_kv, cols}, dq, 0);
        q = tlv__attn_rows(&tq, 0, hd);
        k = tlv__attn_rows(&tq, (int64_t)nh * hd, hd);
        v = tlv__attn_rows(&tq, (int64_t)(nh + nkv) * hd, hd);
        hq = (struct hview){dq, q.offset, q.row_stride, q.head_stride};
        hk = (struct hview){dq, k.offset, k.row_stride, k.head_stride};
        hvv = (struct hview){dq, v.offset, v.row_stride, v.head_stride};
        if (g_kv16) {
            /* q stays F32: k and v from an F16 copy of the fused rows, same offsets and strides */
            const size_t n = (size_t)c->n_kv * (size_t)cols;
            dkv = malloc(n * sizeof(float));
            if (dkv) for (size_t e = 0; e < n; e++) dkv[e] = kv_round(dq[e]);
            tlv_test_tensor_make(g, &tkv, TLV_F16, 2, (int64_t[]){c->n_kv, cols}, dkv, 0);
            k.t = v.t = &tkv;
            hk.d = hvv.d = dkv;
        }
    } else {
        dq = tlv_test_random(seed, (size_t)c->n_q * nh * hd, -c->qamp, c->qamp);
        tlv_test_tensor_make(g, &tq, TLV_F32, 2, (int64_t[]){c->n_q, (int64_t)nh * hd}, dq, 0);
        q = tlv__attn_rows(&tq, 0, hd);
        hq = (struct hview){dq, 0, (int64_t)nh * hd, hd};
        if (c->layout == LAYOUT_SEPARATE) {
            dk = kv_round_all(tlv_test_random(seed + 1, (size_t)c->n_kv * nkv * hd, -1, 1), (size_t)c->n_kv * nkv * hd);
            dv = kv_round_all(tlv_test_random(seed + 2, (size_t)c->n_kv * nkv * hd, -1, 1), (size_t)c->n_kv * nkv * hd);
            tlv_test_tensor_make(g, &tk, kv_dtype(), 2, (int64_t[]){c->n_kv, (int64_t)nkv * hd}, dk, 0);
            tlv_test_tensor_make(g, &tv, kv_dtype(), 2, (int64_t[]){c->n_kv, (int64_t)nkv * hd}, dv, 0);
            k = tlv__attn_rows(&tk, 0, hd);
            v = tlv__attn_rows(&tv, 0, hd);
        } else {
            /* cache with max_ctx > n_kv positions; the unused ones hold NaN, so any read of them shows */
            const size_t n = (size_t)nkv * max_ctx * hd;
            dk = kv_round_all(tlv_test_random(seed + 1, n, -1, 1), n);
            dv = kv_round_all(tlv_test_random(seed + 2, n, -1, 1), n);
            for (int h = 0; h < nkv; h++)
                for (int ps = c->n_kv; ps < max_ctx; ps++)
                    for (int d = 0; d < hd; d++) {
                        size_t e = c->layout == LAYOUT_CACHE ? ((size_t)h * max_ctx + ps) * hd + d
                                                             : ((size_t)ps * nkv + h) * hd + d;
                        dk[e] = dv[e] = NAN;
                    }
            if (c->layout == LAYOUT_CACHE) {
                tlv_test_tensor_make(g, &tk, kv_dtype(), 3, (int64_t[]){nkv, max_ctx, hd}, dk, 0);
                tlv_test_tensor_make(g, &tv, kv_dtype(), 3, (int64_t[]){nkv, max_ctx, hd}, dv, 0);
                k = tlv__attn_cache(&tk);
                v = tlv__attn_cache(&tv);
            } else {
                tlv_test_tensor_make(g, &tk, kv_dtype(), 2, (int64_t[]){max_ctx, (int64_t)nkv * hd}, dk, 0);
                tlv_test_tensor_make(g, &tv, kv_dtype(), 2, (int64_t[]){max_ctx, (int64_t)nkv * hd}, dv, 0);
                k = tlv__attn_rows(&tk, 0, hd);
                v = tlv__attn_rows(&tv, 0, hd);
            }
        }
        hk = (struct hview){dk, k.offset, k.row_stride, k.head_stride};
        hvv = (struct hview){dv, v.offset, v.row_stride, v.head_stride};
    }

    /* o: one guard row before, o_pad columns after each row */
    const int64_t ocols = (int64_t)nh * hd + c->o_pad;
    tlv_test_tensor_make(g, &to, TLV_F32, 2, (int64_t[]){c->n_q + 1, ocols}, NULL, 1);
    o = tlv__attn_rows(&to, 0, hd);
    o.offset = ocols;
    ho = (struct hview){NULL, o.offset, o.row_stride, o.head_stride};

    const tlv_tensor *scratch = NULL;
    if (c->scratch) {
        int64_t n = tlv__op_attention_scratch_elems(g->dev, &p);
        if (n < 16) n = 16;
        tlv_test_tensor_make(g, &ts, TLV_F32, 1, (int64_t[]){n}, NULL, 1);
        scratch = &ts;
    }

    if (tq.n_slabs && to.n_slabs && (c->layout == LAYOUT_FUSED ? !g_kv16 || tkv.n_slabs : tk.n_slabs && tv.n_slabs) &&
        (!c->scratch || ts.n_slabs)) {
        double *ref = malloc(sizeof(double) * (size_t)c->n_q * nh * hd);
        ref_attention(&p, &hq, &hk, &hvv, ref);
        tlv_status st = tlv__op_attention(g->s, &p, q, k, v, o, scratch);
        CHECK_EQ_INT(st, TLV_OK);
        if (tlv_test_run(g)) {
            float *got = tlv_test_tensor_download(g, &to);
            if (got) {
                char what[256];
                snprintf(what, sizeof what, "attention %s (n_q %d, n_kv %d, heads %d/%d, hd %d, %s, pos0 %d, split %d, "
                         "K/V %s)", c->name, c->n_q, c->n_kv, nh, nkv, hd, c->causal ? "causal" : "full", c->pos0,
                         c->n_split, g_kv16 ? "F16" : "F32");
                compare_view(what, got, tlv__tensor_nelem(&to), &ho, c->n_q, nh, hd, ref, TLV_F32, 1e-5);
                tlv_test_guards_ok(g, &to, what);
                printf("  ok? %s\n", what);
            }
            free(got);
        }
        free(ref);
    }
    tlv_test_tensor_release(g, &tq);
    tlv_test_tensor_release(g, &tk);
    tlv_test_tensor_release(g, &tv);
    tlv_test_tensor_release(g, &to);
    tlv_test_tensor_release(g, &ts);
    tlv_test_tensor_release(g, &tkv);
    free(dq);
    free(dk);
    free(dv);
    free(dkv);
}

static void test_attention(tlv_test_gpu *g)
{
    static const struct attn_case cases[] = {
        /* vision tower shapes (non-causal, fused QKV from one projection) */
        {"siglip-like", 100, 100, 3, 3, 72, 0, 0, 0, LAYOUT_FUSED, 0, 0, 3.0f},
        {"siglip-like larger", 300, 300, 4, 4, 72, 0, 0, 0, LAYOUT_FUSED, 8, 0, 1.0f},
        {"non-causal separate", 37, 53, 4, 2, 40, 0, 0, 0, LAYOUT_SEPARATE, 0, 0, 2.0f},
        /* causal prefill, GQA 7 (Qwen2-0.5B heads), chat continuation pos0 > 0, head-major cache */
        {"qwen2 prefill cont.", 37, 87, 14, 2, 64, 1, 50, 0, LAYOUT_CACHE, 0, 0, 2.0f},
        {"qwen2 prefill from 0", 29, 29, 14, 2, 64, 1, 0, 0, LAYOUT_FUSED, 0, 0, 2.0f},
        /* Phi-2 heads (hd 80, MHA), StableLM hd 64, Gemma MQA 8:1 hd 256 */
        {"phi2 prefill", 45, 45, 4, 4, 80, 1, 0, 0, LAYOUT_FUSED, 4, 0, 3.0f},
        {"phi2 cont. posmajor", 19, 40, 4, 4, 80, 1, 21, 0, LAYOUT_CACHE_POSMAJOR, 0, 0, 1.0f},
        {"gemma mqa", 20, 25, 8, 1, 256, 1, 5, 0, LAYOUT_CACHE, 0, 0, 1.0f},
        /* GQA 8 (TinyLlama), odd head dims */
        {"gqa8 hd40", 17, 30, 16, 2, 40, 1, 13, 0, LAYOUT_CACHE, 0, 0, 2.0f},
        {"gqa3 hd24", 11, 11, 6, 2, 24, 1, 0, 0, LAYOUT_SEPARATE, 0, 0, 2.0f},
        {"hd 7", 9, 12, 2, 1, 7, 0, 0, 0, LAYOUT_SEPARATE, 0, 0, 2.0f},
        /* decode against a long cache: split over the keys where the device plans one (lavapipe: more
         * than 1024 keys, phi2 L3000), and the same without scratch */
        {"qwen2 decode L1024", 1, 1024, 14, 2, 64, 1, 1023, 0, LAYOUT_CACHE, 0, 1, 2.0f},
        {"qwen2 decode L1024 no split", 1, 1024, 14, 2, 64, 1, 1023, 0, LAYOUT_CACHE, 0, 0, 2.0f},
        {"phi2 decode L3000", 1, 3000, 2, 2, 80, 1, 2999, 0, LAYOUT_CACHE, 0, 1, 3.0f},
        {"gemma decode L1030", 1, 1030, 8, 1, 256, 1, 1029, 0, LAYOUT_CACHE, 0, 1, 1.0f},
        {"gqa14 decode", 1, 700, 14, 1, 64, 1, 699, 0, LAYOUT_CACHE, 0, 1, 1.0f},
        /* one workgroup walks thousands of keys (lavapipe stops loops after 65535 iterations) */
        {"phi2 decode L3000 no split", 1, 3000, 2, 2, 80, 1, 2999, 0, LAYOUT_CACHE, 0, 0, 3.0f},
        {"gemma decode L6000 no split", 1, 6000, 8, 1, 256, 1, 5999, 0, LAYOUT_CACHE, 0, 0, 1.0f},
        /* forced splits: chunks that are partly and wholly masked (causal, pos0 > 0), non-causal */
        {"forced split causal", 23, 90, 6, 2, 24, 1, 67, 5, LAYOUT_CACHE, 0, 1, 2.0f},
        {"forced split full", 5, 77, 3, 3, 72, 0, 0, 4, LAYOUT_SEPARATE, 0, 1, 2.0f},
        {"forced split 1 key/chunk", 1, 9, 2, 1, 16, 1, 8, 9, LAYOUT_CACHE, 0, 1, 2.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_attn_case(g, &cases[i], 1000 + i * 17);
}

/* ------------------------------------------------------------------------------------------
 * RoPE table vs Hugging Face */

static void test_rope_table_hf(void)
{
    size_t len = 0;
    char *txt = tlv_test_read_file(TLV_TEST_DATA "/ops_attention/data/rope_hf.txt", &len);
    CHECK(txt != NULL);
    if (!txt) return;
    char *cur = txt;
    int n_cases = 0;
    for (;;) {
        int rot, npos, used;
        double theta;
        if (sscanf(cur, " case %d %lf %d%n", &rot, &theta, &npos, &used) != 3) break;
        cur += used;
        int *pos = malloc(sizeof(int) * (size_t)npos);
        int maxpos = 0;
        for (int i = 0; i < npos; i++) {
            sscanf(cur, " %d%n", &pos[i], &used);
            cur += used;
            if (pos[i] > maxpos) maxpos = pos[i];
        }
        float *tab = malloc(sizeof(float) * (size_t)(maxpos + 1) * rot);
        tlv__rope_table_fill(tab, maxpos + 1, rot, (float)theta);
        double worst = 0, worst_4k = 0;
        for (int cs = 0; cs < 2; cs++)
            for (int i = 0; i < npos; i++)
                for (int j = 0; j < rot / 2; j++) {
                    unsigned bits;
                    sscanf(cur, " %x%n", &bits, &used);
                    cur += used;
                    float hf;
                    uint32_t b32 = bits;
                    memcpy(&hf, &b32, 4);
                    double e = fabs((double)tab[(size_t)pos[i] * rot + 2 * j + cs] - hf);
                    if (e > worst) worst = e;
                    if (pos[i] <= 4096 && e > worst_4k) worst_4k = e;
                }
        printf("  rope table rot %d theta %g: max |ours - HF| = %.3g (positions <= 4096: %.3g)\n", rot, theta,
               worst, worst_4k);
        CHECK(worst_4k <= 2.5e-7);
        CHECK(worst <= 1.5e-6);
        free(tab);
        free(pos);
        n_cases++;
    }
    CHECK_EQ_INT(n_cases, 6);
    free(txt);
}

/* ------------------------------------------------------------------------------------------
 * RoPE and KV write on the device */

/* x'(row, head) rotated in double with the table's cos/sin. */
static void ref_rope(double *out, const struct hview *x, int n_rows, int n_heads, int hd, int rot,
                     const float *tab, const int *positions)
{
    const int half = rot / 2;
    for (int i = 0; i < n_rows; i++)
        for (int h = 0; h < n_heads; h++) {
            double *o = out + ((size_t)i * n_heads + h) * hd;
            const float *cs = tab + (size_t)positions[i] * rot;
            for (int d = 0; d < hd; d++) o[d] = hv(x, i, h, d);
            for (int j = 0; j < half; j++) {
                const double x1 = hv(x, i, h, j), x2 = hv(x, i, h, j + half);
                o[j] = x1 * cs[2 * j] - x2 * cs[2 * j + 1];
                o[j + half] = x2 * cs[2 * j] + x1 * cs[2 * j + 1];
            }
        }
}

struct rope_case {
    int n_rows, n_heads, n_other_heads, hd, rot;
    float theta;
    int pos0, use_pos;
};

static void run_rope_case(tlv_test_gpu *g, const struct rope_case *c, uint64_t seed)
{
    /* x is the q part of a fused row [q heads | other heads]; other heads must not change */
    const int64_t cols = (int64_t)(c->n_heads + c->n_other_heads) * c->hd;
    const int max_pos = 3001;
    float *dx = tlv_test_random(seed, (size_t)c->n_rows * cols, -2, 2);
    float *tab = malloc(sizeof(float) * (size_t)max_pos * c->rot);
    int *positions = malloc(sizeof(int) * (size_t)c->n_rows);
    uint64_t st = seed;
    for (int i = 0; i < c->n_rows; i++)
        positions[i] = c->use_pos ? (i == 0 ? 3000 : (int)(tlv_test_rand_u32(&st) % max_pos)) : c->pos0 + i;
    tlv__rope_table_fill(tab, max_pos, c->rot, c->theta);
    tlv_tensor tx = {0}, tt = {0};
    tlv_vk_buffer pb = {0};
    tlv_test_tensor_make(g, &tx, TLV_F32, 2, (int64_t[]){c->n_rows, cols}, dx, 1);
    tlv_test_tensor_make(g, &tt, TLV_F32, 2, (int64_t[]){max_pos, c->rot}, tab, 0);
    if (c->use_pos) tlv_test_buffer_make(g, &pb, sizeof(int) * (size_t)(c->n_rows + 3), NULL, 0);
    if (tx.n_slabs && tt.n_slabs) {
        int ok = 1;
        if (c->use_pos) {
            /* positions start at element 3 of the buffer */
            int *pbuf = malloc(sizeof(int) * (size_t)(c->n_rows + 3));
            pbuf[0] = pbuf[1] = pbuf[2] = -7;
            memcpy(pbuf + 3, positions, sizeof(int) * (size_t)c->n_rows);
            tlv_err err = {0};
            ok = tlv__vk_buffer_write(g->dev, &pb, 0, pbuf, sizeof(int) * (size_t)(c->n_rows + 3), &err) == TLV_OK;
            CHECK(ok);
            free(pbuf);
        }
        struct hview hx = {dx, 0, cols, c->hd};
        const size_t n = (size_t)c->n_rows * c->n_heads * c->hd;
        double *ref = malloc(sizeof(double) * n);
        ref_rope(ref, &hx, c->n_rows, c->n_heads, c->hd, c->rot, tab, positions);
        tlv_status s = tlv__op_rope(g->s, tlv__attn_rows(&tx, 0, c->hd), c->n_rows, c->n_heads, c->hd, c->rot, &tt,
                                    c->use_pos ? &pb : NULL, 3, c->pos0);
        CHECK_EQ_INT(s, TLV_OK);
        if (ok && tlv_test_run(g)) {
            float *got = tlv_test_tensor_download(g, &tx);
            if (got) {
                char what[160];
                snprintf(what, sizeof what, "rope rows %d heads %d hd %d rot %d theta %g %s", c->n_rows, c->n_heads,
                         c->hd, c->rot, (double)c->theta, c->use_pos ? "positions buffer" : "pos0 + i");
                /* the other heads: unchanged, exactly */
                float *gq = malloc(sizeof(float) * n);
                float *rq = malloc(sizeof(float) * n);
                int other_ok = 1;
                for (int i = 0; i < c->n_rows; i++)
                    for (int64_t e = 0; e < cols; e++) {
                        const int64_t h = e / c->hd;
                        if (h < c->n_heads) {
                            const size_t ci = ((size_t)i * c->n_heads + (size_t)h) * c->hd + (size_t)(e % c->hd);
                            gq[ci] = got[i * cols + e];
                            rq[ci] = (float)ref[ci];
                        } else if (got[i * cols + e] != dx[i * cols + e]) {
                            other_ok = 0;
                        }
                    }
                tlv_test_compare_rel(what, gq, rq, n, 1e-5);
                CHECK(other_ok);
                tlv_test_guards_ok(g, &tx, what);
                printf("  ok? %s\n", what);
                free(gq);
                free(rq);
            }
            free(got);
        }
        free(ref);
    }
    tlv_test_tensor_release(g, &tx);
    tlv_test_tensor_release(g, &tt);
    if (c->use_pos) tlv_test_buffer_release(g, &pb);
    free(dx);
    free(tab);
    free(positions);
}

static void test_rope(tlv_test_gpu *g)
{
    static const struct rope_case cases[] = {
        {7, 4, 8, 80, 32, 1e4f, 0, 0},        /* Phi-2: 32 of 80 */
        {5, 4, 8, 64, 16, 1e4f, 2990, 0},     /* StableLM: 16 of 64, positions near 3000 */
        {9, 3, 1, 16, 6, 1e4f, 100, 0},       /* 6 of 16 */
        {6, 14, 4, 64, 64, 1e6f, 2995, 0},    /* Qwen2: full 64, theta 1e6 */
        {33, 2, 2, 256, 256, 1e4f, 0, 1},     /* Gemma: full 256, positions from a buffer */
        {11, 3, 0, 80, 32, 1e4f, 0, 1},       /* positions from a buffer, partial */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_rope_case(g, &cases[i], 500 + i * 31);
}

/* kv_write: K with RoPE and V without, from a fused QKV buffer into a head-major cache at pos0,
 * and into a position-major one. Every other cache element must keep the sentinel.
 * fused: tlv__op_qkv_rope_write instead (q rotated in place too, checked against ref_rope).
 * hd 80 (rot 32) or an odd head_dim, 7 (rot 4): with an F16 cache, words shared by two heads or
 * positions, some of them outside the rows written. */
static void test_kv_write(tlv_test_gpu *g, int posmajor, int fused, int hd)
{
    const int n = 9, nh = 4, nkv = 2, rot = hd >= 32 ? 32 : 4, pos0 = 2988, max_ctx = 3000;
    const tlv_dtype cdt = kv_dtype();
    const double ctol = g_kv16 ? 1.0 / 2048 : 1e-5;
    const int64_t cols = (int64_t)(nh + 2 * nkv) * hd;
    float *dx = tlv_test_random(77 + posmajor, (size_t)n * cols, -2, 2);
    float *tab = malloc(sizeof(float) * (size_t)max_ctx * rot);
    tlv__rope_table_fill(tab, max_ctx, rot, 1e4f);
    tlv_tensor tx = {0}, tt = {0}, kc = {0}, vc = {0};
    tlv_test_tensor_make(g, &tx, TLV_F32, 2, (int64_t[]){n, cols}, dx, fused);
    tlv_test_tensor_make(g, &tt, TLV_F32, 2, (int64_t[]){max_ctx, rot}, tab, 0);
    if (posmajor) {
        tlv_test_tensor_make(g, &kc, cdt, 2, (int64_t[]){max_ctx, (int64_t)nkv * hd}, NULL, 1);
        tlv_test_tensor_make(g, &vc, cdt, 2, (int64_t[]){max_ctx, (int64_t)nkv * hd}, NULL, 1);
    } else {
        tlv_test_tensor_make(g, &kc, cdt, 3, (int64_t[]){nkv, max_ctx, hd}, NULL, 1);
        tlv_test_tensor_make(g, &vc, cdt, 3, (int64_t[]){nkv, max_ctx, hd}, NULL, 1);
    }
    if (tx.n_slabs && tt.n_slabs && kc.n_slabs && vc.n_slabs) {
        tlv_attn_view kd = posmajor ? tlv__attn_rows(&kc, 0, hd) : tlv__attn_cache(&kc);
        tlv_attn_view vd = posmajor ? tlv__attn_rows(&vc, 0, hd) : tlv__attn_cache(&vc);
        tlv_attn_view qs = tlv__attn_rows(&tx, 0, hd), ks = tlv__attn_rows(&tx, (int64_t)nh * hd, hd),
                      vs = tlv__attn_rows(&tx, (int64_t)(nh + nkv) * hd, hd);
        if (fused) {
            CHECK_EQ_INT(tlv__op_qkv_rope_write(g->s, qs, ks, vs, kd, vd, n, nh, nkv, hd, pos0, rot, &tt), TLV_OK);
        } else {
            CHECK_EQ_INT(tlv__op_kv_write(g->s, ks, kd, n, nkv, hd, pos0, rot, &tt), TLV_OK);
            CHECK_EQ_INT(tlv__op_kv_write(g->s, vs, vd, n, nkv, hd, pos0, 0, NULL), TLV_OK);
        }
        if (tlv_test_run(g)) {
            int *positions = malloc(sizeof(int) * n);
            for (int i = 0; i < n; i++) positions[i] = pos0 + i;
            double *refk = malloc(sizeof(double) * (size_t)n * nkv * hd);
            double *refv = malloc(sizeof(double) * (size_t)n * nkv * hd);
            struct hview hk = {dx, (int64_t)nh * hd, cols, hd}, hvw = {dx, (int64_t)(nh + nkv) * hd, cols, hd};
            ref_rope(refk, &hk, n, nkv, hd, rot, tab, positions);
            for (int i = 0; i < n; i++)
                for (int h = 0; h < nkv; h++)
                    for (int d = 0; d < hd; d++) refv[((size_t)i * nkv + h) * hd + d] = hv(&hvw, i, h, d);
            float *gk = tlv_test_tensor_download(g, &kc);
            float *gv = tlv_test_tensor_download(g, &vc);
            if (gk && gv) {
                struct hview gkv = {NULL, kd.offset + (int64_t)pos0 * kd.row_stride, kd.row_stride, kd.head_stride};
                struct hview gvv = {NULL, vd.offset + (int64_t)pos0 * vd.row_stride, vd.row_stride, vd.head_stride};
                char wk[160], wv[160];
                snprintf(wk, sizeof wk, "%s K rope (%s, hd %d, %s cache)", fused ? "qkv_rope_write" : "kv_write",
                         posmajor ? "position-major" : "head-major", hd, tlv__dtype_name(cdt));
                snprintf(wv, sizeof wv, "%s V (%s, hd %d, %s cache)", fused ? "qkv_rope_write" : "kv_write",
                         posmajor ? "position-major" : "head-major", hd, tlv__dtype_name(cdt));
                compare_view(wk, gk, tlv__tensor_nelem(&kc), &gkv, n, nkv, hd, refk, cdt, ctol);
                compare_view(wv, gv, tlv__tensor_nelem(&vc), &gvv, n, nkv, hd, refv, cdt, ctol);
                printf("  ok? %s\n  ok? %s\n", wk, wv);
                tlv_test_guards_ok(g, &kc, "kv_write K");
                tlv_test_guards_ok(g, &vc, "kv_write V");
            }
            float *gx = fused ? tlv_test_tensor_download(g, &tx) : NULL;
            if (gx) {
                /* q rotated in place, k and v parts of the rows untouched */
                const size_t nq = (size_t)n * nh * hd;
                double *refq = malloc(sizeof(double) * nq);
                float *rq = malloc(sizeof(float) * nq), *gq = malloc(sizeof(float) * nq);
                struct hview hq = {dx, 0, cols, hd};
                ref_rope(refq, &hq, n, nh, hd, rot, tab, positions);
                for (size_t c = 0; c < nq; c++) {
                    rq[c] = (float)refq[c];
                    gq[c] = gx[(int64_t)(c / ((size_t)nh * hd)) * cols + (int64_t)(c % ((size_t)nh * hd))];
                }
                tlv_test_compare_rel(posmajor ? "qkv_rope_write q (position-major caches)" : "qkv_rope_write q", gq, rq, nq,
                                     1e-5);
                free(rq);
                free(gq);
                int kv_same = 1;
                for (int i = 0; i < n; i++)
                    for (int64_t e = (int64_t)nh * hd; e < cols; e++) kv_same &= gx[i * cols + e] == dx[i * cols + e];
                CHECK(kv_same);
                tlv_test_guards_ok(g, &tx, "qkv_rope_write qkv");
                free(refq);
            }
            free(gx);
            free(gk);
            free(gv);
            free(refk);
            free(refv);
            free(positions);
        }
    }
    tlv_test_tensor_release(g, &tx);
    tlv_test_tensor_release(g, &tt);
    tlv_test_tensor_release(g, &kc);
    tlv_test_tensor_release(g, &vc);
    free(dx);
    free(tab);
}

/* ------------------------------------------------------------------------------------------
 * Bad arguments: every one recorded as an error with a message saying what. */

static void test_bad_args(tlv_test_gpu *g)
{
    tlv_tensor q = {0}, kv = {0}, kv32 = {0}, o = {0}, tab = {0}, tab6 = {0}, f16 = {0}, fake = {0}, kvh = {0}, kvb = {0};
    tlv_test_tensor_make(g, &kvh, TLV_F16, 3, (int64_t[]){2, 8, 16}, NULL, 0);
    tlv_test_tensor_make(g, &kvb, TLV_BF16, 3, (int64_t[]){2, 8, 16}, NULL, 0);
    tlv_test_tensor_make(g, &q, TLV_F32, 2, (int64_t[]){4, 4 * 16}, NULL, 0);
    tlv_test_tensor_make(g, &kv, TLV_F32, 3, (int64_t[]){2, 8, 16}, NULL, 0);
    tlv_test_tensor_make(g, &kv32, TLV_F32, 3, (int64_t[]){2, 32, 16}, NULL, 0);
    tlv_test_tensor_make(g, &o, TLV_F32, 2, (int64_t[]){4, 4 * 16}, NULL, 0);
    tlv_test_tensor_make(g, &tab, TLV_F32, 2, (int64_t[]){8, 8}, NULL, 0);
    tlv_test_tensor_make(g, &tab6, TLV_F32, 2, (int64_t[]){6, 8}, NULL, 0);
    tlv_vk_buffer unbound[2] = {{0}}; /* never-allocated slab records for the two fakes */
    tlv__tensor_init(&f16, TLV_F16, 2, (int64_t[]){4, 4 * 16});
    f16.n_slabs = 1;
    f16.slabs = unbound;
    tlv__tensor_init(&fake, TLV_F32, 2, (int64_t[]){4, 4 * 16});
    fake.n_slabs = 2;
    fake.slabs = unbound;
    if (!q.n_slabs || !kv.n_slabs || !kv32.n_slabs || !o.n_slabs || !tab.n_slabs || !tab6.n_slabs || !kvh.n_slabs ||
        !kvb.n_slabs)
        goto out;

    tlv_attn_params good = {4, 8, 4, 2, 16, 1, 4, 0.25f, 0};
    tlv_attn_view vq = tlv__attn_rows(&q, 0, 16), vk = tlv__attn_cache(&kv), vo = tlv__attn_rows(&o, 0, 16);
    tlv_attn_params p;

    p = good;
    CHECK_EQ_INT(tlv__op_attention(g->s, &p, vq, vk, vk, vo, NULL), TLV_OK);
    tlv_test_run(g);

    p = good, p.n_kv_head = 3;
    tlv__op_attention(g->s, &p, vq, vk, vk, vo, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "not a multiple");
    p = good, p.head_dim = 300;
    tlv__op_attention(g->s, &p, vq, vk, vk, vo, NULL);
    tlv_test_expect_fail(g, TLV_ERR_UNSUPPORTED, "head_dim 300");
    p = good, p.pos0 = 5;
    tlv__op_attention(g->s, &p, vq, vk, vk, vo, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "causal");
    p = good, p.n_kv = 9;
    tlv__op_attention(g->s, &p, vq, vk, vk, vo, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "k: 9 positions");
    p = good, p.n_head = 8;
    tlv__op_attention(g->s, &p, vq, vk, vk, vo, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "q: 4 positions x 8 heads");
    p = good;
    tlv__op_attention(g->s, &p, tlv__attn_rows(&f16, 0, 16), vk, vk, vo, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "q: expected F32, found");
    tlv__op_attention(g->s, &p, vq, vk, vk, tlv__attn_rows(&fake, 0, 16), NULL);
    tlv_test_expect_fail(g, TLV_ERR_UNSUPPORTED, "o: expected a tensor in one slab, found 2 slabs");
    tlv__op_attention(g->s, &p, vq, vk, vk, vq, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "must not share");
    /* the f16 KV cache: K and V of one dtype, F32 or F16 (not BF16); q and o F32 */
    CHECK_EQ_INT(tlv__op_attention(g->s, &p, vq, tlv__attn_cache(&kvh), tlv__attn_cache(&kvh), vo, NULL), TLV_OK);
    tlv_test_run(g);
    tlv__op_attention(g->s, &p, vq, tlv__attn_cache(&kvh), vk, vo, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "k is F16, v is F32: expected one dtype");
    tlv__op_attention(g->s, &p, vq, tlv__attn_cache(&kvb), tlv__attn_cache(&kvb), vo, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "k: expected F32 or F16, found BF16");
    tlv__op_attention(g->s, &p, vq, tlv__attn_cache(&kvh), tlv__attn_cache(&kvh), tlv__attn_rows(&f16, 0, 16), NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "o: expected F32, found F16");
    p = good, p.n_split = 2, p.n_q = 1, p.n_kv = 32, p.pos0 = 31;
    tlv__op_attention(g->s, &p, vq, tlv__attn_cache(&kv32), tlv__attn_cache(&kv32), vo, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "scratch: 2 chunks need");
    p = good, p.scale = NAN;
    tlv__op_attention(g->s, &p, vq, vk, vk, vo, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "scale");
    tlv__op_attention(g->s, NULL, vq, vk, vk, vo, NULL);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "params");
    /* a failed op leaves the stream failed: the next op records nothing and returns that status */
    p = good, p.n_q = 0;
    CHECK(tlv__op_attention(g->s, &p, vq, vk, vk, vo, NULL) != TLV_OK);
    CHECK_EQ_INT(tlv__op_attention(g->s, &good, vq, vk, vk, vo, NULL), TLV_ERR_SHAPE);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "n_q");

    /* rope */
    tlv__op_rope(g->s, vq, 4, 4, 16, 7, &tab, NULL, 0, 0);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "rot_dim 7");
    tlv__op_rope(g->s, vq, 4, 4, 16, 18, &tab, NULL, 0, 0);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "rot_dim 18");
    tlv__op_rope(g->s, vq, 4, 4, 16, 6, &tab, NULL, 0, 0);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "table: expected F32 [max_pos, 6]");
    tlv__op_rope(g->s, vq, 4, 4, 16, 8, &tab, NULL, 0, 5);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "position 8 is beyond the table's 8 positions");
    tlv__op_rope(g->s, vq, 5, 4, 16, 8, &tab, NULL, 0, 0);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "x: 5 positions");
    tlv__op_rope(g->s, vq, 4, 4, 16, 8, NULL, NULL, 0, 0);
    tlv_test_expect_fail(g, TLV_ERR_INVALID_ARG, "table is NULL");
    CHECK_EQ_INT(tlv__op_rope(g->s, vq, 4, 4, 16, 8, &tab, NULL, 0, 4), TLV_OK);
    tlv_test_run(g);

    /* kv_write */
    tlv__op_kv_write(g->s, tlv__attn_rows(&q, 0, 16), vk, 4, 2, 16, 5, 0, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "dst: 9 positions");
    tlv__op_kv_write(g->s, tlv__attn_rows(&q, 0, 16), tlv__attn_cache(&q), 4, 2, 16, 0, 0, NULL);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "dst: negative offset");
    tlv__op_kv_write(g->s, tlv__attn_rows(&q, 0, 16), vk, 4, 2, 16, 3, 8, &tab6);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "position 6 is beyond the table's 6 positions");
    tlv__op_kv_write(g->s, tlv__attn_rows(&q, 0, 16), vk, 4, 2, 16, 0, 8, &tab);
    tlv_test_run(g);
    CHECK_EQ_INT(tlv__op_kv_write(g->s, tlv__attn_rows(&q, 0, 16), tlv__attn_cache(&kvh), 4, 2, 16, 0, 8, &tab), TLV_OK);
    tlv_test_run(g);
    tlv__op_kv_write(g->s, tlv__attn_rows(&q, 0, 16), tlv__attn_cache(&kvb), 4, 2, 16, 0, 8, &tab);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "dst: expected F32 or F16, found BF16");
    tlv__op_kv_write(g->s, tlv__attn_rows(&f16, 0, 16), tlv__attn_cache(&kvh), 4, 2, 16, 0, 8, &tab);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "src: expected F32, found F16");
    /* qkv_rope_write: q, k, v from different tensors; the two caches one tensor; no rotation */
    tlv__op_qkv_rope_write(g->s, tlv__attn_rows(&q, 0, 16), tlv__attn_rows(&o, 0, 16), tlv__attn_rows(&o, 32, 16), vk,
                           tlv__attn_cache(&kv32), 4, 2, 2, 16, 0, 8, &tab);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "parts of one fused QKV tensor");
    tlv__op_qkv_rope_write(g->s, tlv__attn_rows(&q, 0, 16), tlv__attn_rows(&q, 16, 16), tlv__attn_rows(&q, 32, 16), vk, vk,
                           4, 1, 2, 16, 0, 8, &tab);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "four distinct tensors");
    tlv__op_qkv_rope_write(g->s, tlv__attn_rows(&q, 0, 16), tlv__attn_rows(&q, 16, 16), tlv__attn_rows(&q, 32, 16),
                           tlv__attn_cache(&kvh), vk, 4, 1, 2, 16, 0, 8, &tab);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "k_dst is F16, v_dst is F32: expected one dtype");
    tlv__op_qkv_rope_write(g->s, tlv__attn_rows(&q, 0, 16), tlv__attn_rows(&q, 16, 16), tlv__attn_rows(&q, 32, 16), vk,
                           tlv__attn_cache(&kv32), 4, 1, 2, 16, 0, 0, &tab);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "rot");
out:
    tlv_test_tensor_release(g, &q);
    tlv_test_tensor_release(g, &kv);
    tlv_test_tensor_release(g, &kv32);
    tlv_test_tensor_release(g, &o);
    tlv_test_tensor_release(g, &tab);
    tlv_test_tensor_release(g, &tab6);
    tlv_test_tensor_release(g, &kvh);
    tlv_test_tensor_release(g, &kvb);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--kv") && (!strcmp(argv[2], "f16") || !strcmp(argv[2], "f32"))) {
        g_kv16 = !strcmp(argv[2], "f16");
    } else if (argc != 1) {
        fprintf(stderr, "usage: test_attention [--kv f16|f32]\n");
        return 2;
    }
    test_rope_table_hf();
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return tlv_test_finish("test_attention");
    test_attention(&g);
    test_rope(&g);
    for (int odd = 0; odd < 2; odd++) {
        test_kv_write(&g, 0, 0, odd ? 7 : 80);
        test_kv_write(&g, 1, 0, odd ? 7 : 80);
        test_kv_write(&g, 0, 1, odd ? 7 : 80);
        test_kv_write(&g, 1, 1, odd ? 7 : 80);
    }
    test_bad_args(&g);
    tlv_test_gpu_teardown(&g);
    return tlv_test_finish("test_attention");
}
