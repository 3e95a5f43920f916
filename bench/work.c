/* work.c: the bytes and FLOPs one recorded forward pass moves and computes, per dispatch label,
 * from the model's shapes, so the per-op breakdown can give GB/s, GFLOP/s and a roofline
 * fraction for the labels that carry the work (matvec / matmul and attn).
 *
 * The passes are those of src/model/graph.c: every Linear of a pass of n rows is one
 * tlv__op_matmul with M = n (the head: M = 1, the last row only); the vision tower runs T rows
 * (patches, + CLS) through vis.n_run layers and the connector on vis.n_tokens rows. Which label a
 * Linear lands on follows TLV_MATMUL_AUTO (ops/matmul.h): "matvec" for M <= mv_max_m of the
 * device's default tuning, else "matmul".
 *
 * Bytes are the unique bytes: weights (and bias) once, x and y once (y twice with a residual);
 * the matvec kernel re-reads weights per 8 rows of x, mostly from cache, so for M > 8 the GB/s
 * are of unique bytes. Attention: 4 * hd FLOPs per (query, key, head) pair (q.k and p.v); bytes
 * q, k, v and o once. */
#include "bench.h"

#include <string.h>

bench_op *bench_op_find(bench_op *ops, int *n_ops, const char *label)
{
    for (int i = 0; i < *n_ops; i++)
        if (!strcmp(ops[i].label, label)) return &ops[i];
    if (*n_ops == BENCH_MAX_OPS) return NULL;
    bench_op *o = &ops[(*n_ops)++];
    memset(o, 0, sizeof *o);
    snprintf(o->label, sizeof o->label, "%s", label);
    return o;
}

double bench_roofline_frac(const bench_peaks *p, double bytes, double flops, double ms)
{
    if (ms <= 0 || (!p->read_gbs && !p->fma_gflops)) return 0;
    double t_mem = p->read_gbs > 0 ? bytes / (p->read_gbs * 1e6) : 0;     /* ms */
    double t_fma = p->fma_gflops > 0 ? flops / (p->fma_gflops * 1e6) : 0; /* ms */
    return (t_mem > t_fma ? t_mem : t_fma) / ms;
}

static void add(bench_op *ops, int *n_ops, const char *label, double bytes, double flops)
{
    bench_op *o = bench_op_find(ops, n_ops, label);
    if (!o) return;
    o->bytes += bytes;
    o->flops += flops;
}

static void linear(const tlv_linear *l, const tlv_tensor *w_override, int64_t m, int residual,
                   const tlv_matmul_tuning *t, bench_op *ops, int *n_ops)
{
    const tlv_tensor *w = w_override ? w_override : &l->w;
    if (!w->n_slabs) return;
    double n = (double)w->shape[0], k = (double)tlv__tensor_row_elems(w);
    double bytes = (double)tlv__tensor_bytes(w) + (l->b.n_slabs ? (double)tlv__tensor_bytes(&l->b) : 0) +
                   (double)m * k * 4 + (double)m * n * 4 * (residual ? 2 : 1);
    int mv = t->kernel == TLV_MATMUL_MATVEC || (t->kernel == TLV_MATMUL_AUTO && (uint64_t)m <= t->mv_max_m);
    add(ops, n_ops, mv ? "matvec" : "matmul", bytes, 2.0 * (double)m * n * k);
}

static void attention(int64_t n_q, int64_t pairs, int64_t n_kv, int nh, int nkv, int hd, bench_op *ops, int *n_ops)
{
    double bytes = 4.0 * hd * ((double)n_q * nh * 2 + (double)n_kv * nkv * 2);
    add(ops, n_ops, "attn", bytes, 4.0 * hd * (double)pairs * nh);
}

void bench_work_image(const tlv_model_core *m, const tlv_vk_caps *c, bench_op *ops, int *n_ops)
{
    tlv_matmul_tuning t;
    tlv__matmul_tuning_default(c, &t);
    const tlv_vision_desc *d = &m->vis;
    const tlv_model_weights *w = &m->w;
    int64_t T = (int64_t)d->grid * d->grid + (d->class_token ? 1 : 0);
    for (int l = 0; l < d->n_run; l++) {
        const tlv_vision_layer *L = &w->vlayers[l];
        linear(&L->q, NULL, T, 0, &t, ops, n_ops);
        linear(&L->k, NULL, T, 0, &t, ops, n_ops);
        linear(&L->v, NULL, T, 0, &t, ops, n_ops);
        attention(T, T * T, T, d->n_head, d->n_head, d->head_dim, ops, n_ops);
        linear(&L->o, NULL, T, 1, &t, ops, n_ops);
        linear(&L->fc1, NULL, T, 0, &t, ops, n_ops);
        linear(&L->fc2, NULL, T, 1, &t, ops, n_ops);
    }
    linear(&w->conn1, NULL, d->n_tokens, 0, &t, ops, n_ops);
    linear(&w->conn2, NULL, d->n_tokens, 0, &t, ops, n_ops);
}

void bench_work_llm(const tlv_model_core *m, const tlv_vk_caps *c, int n, int pos0, bench_op *ops, int *n_ops)
{
    tlv_matmul_tuning t;
    tlv__matmul_tuning_default(c, &t);
    const tlv_llm_desc *d = &m->llm;
    const tlv_model_weights *w = &m->w;
    /* causal: query i sees pos0 + i + 1 keys */
    int64_t pairs = (int64_t)n * pos0 + (int64_t)n * (n + 1) / 2;
    for (int l = 0; l < d->n_layer; l++) {
        const tlv_llm_layer *L = &w->layers[l];
        if (d->fused_qkv) {
            linear(&L->qkv, NULL, n, 0, &t, ops, n_ops);
        } else {
            linear(&L->q, NULL, n, 0, &t, ops, n_ops);
            linear(&L->k, NULL, n, 0, &t, ops, n_ops);
            linear(&L->v, NULL, n, 0, &t, ops, n_ops);
        }
        attention(n, pairs, pos0 + n, d->n_head[l], d->n_kv_head[l], d->head_dim, ops, n_ops);
        linear(&L->o, NULL, n, 1, &t, ops, n_ops);
        if (d->gated && !d->fused_gate_up) linear(&L->gate, NULL, n, 0, &t, ops, n_ops);
        linear(&L->up, NULL, n, 0, &t, ops, n_ops);
        linear(&L->down, NULL, n, 1, &t, ops, n_ops);
    }
    linear(&w->lm_head, w->lm_head.w.n_slabs ? NULL : &w->embed, 1, 0, &t, ops, n_ops);
}
