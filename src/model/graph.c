/* graph.c: the forward passes, as straight lists of ops (llama2.c's forward()). Every op records
 * into the stream; errors are sticky on the stream, so no check after each op.
 *
 * Buffers come from tlv_model_scratch, planned once per session. A view with fewer rows than the
 * buffer is the same tensor with shape[0] lowered (rows() below): buffers are row-major and start
 * at row 0, so nothing moves. */
#include <math.h>
#include <string.h>

#include "model/model.h"
#include "ops/attention.h"
#include "ops/matmul.h"

static tlv_tensor rows(const tlv_tensor *t, int64_t n)
{
    tlv_tensor v = *t;
    v.shape[0] = n;
    return v;
}

/* [n, cols] view of a buffer planned wider (q of a layer with fewer heads, OpenELM). */
static tlv_tensor shape2(const tlv_tensor *t, int64_t n, int64_t cols)
{
    tlv_tensor v = *t;
    v.ndim = 2;
    v.shape[0] = n;
    v.shape[1] = cols;
    return v;
}

static const tlv_tensor *opt(const tlv_tensor *t)
{
    return t->n_slabs ? t : NULL;
}

static void linear(tlv_stream *s, const tlv_tensor *x, const tlv_linear *l, const tlv_tensor *residual, tlv_act act,
                   tlv_tensor *y)
{
    tlv__op_matmul(s, x, &l->w, opt(&l->b), residual, act, y);
}

static void norm(tlv_stream *s, tlv_norm_kind kind, tlv_tensor *x, const tlv_norm_w *n, float eps, tlv_tensor *y)
{
    tlv__op_norm(s, kind, x, NULL, opt(&n->w), opt(&n->b), eps, y);
}

/* ------------------------------------------------------------------ vision tower + connector */

tlv_status tlv__model_record_image(tlv_model_core *m, tlv_model_scratch *sc, tlv_stream *s, tlv_tensor *features)
{
    const tlv_vision_desc *d = &m->vis;
    const tlv_model_weights *w = &m->w;
    int T = d->grid * d->grid + (d->class_token ? 1 : 0);
    tlv_tensor x = rows(&sc->vx, T), h = rows(&sc->vh, T), q = rows(&sc->vq, T), k = rows(&sc->vk, T),
               v = rows(&sc->vv, T), a = rows(&sc->va, T), f = rows(&sc->vf, T);

    /* MODELS.md 3.2: conv (stride = kernel = patch, valid) -> [+ CLS] -> + position embedding */
    tlv__op_patch_embed(s, &sc->img, &w->patch_w, opt(&w->patch_b), d->class_token ? &w->class_emb : NULL, &w->pos_emb,
                        &x);
    if (d->class_token) norm(s, TLV_NORM_LAYER, &x, &w->pre_norm, d->eps, &x); /* CLIP pre_layrnorm */

    tlv_attn_params ap = {0};
    ap.n_q = ap.n_kv = T;
    ap.n_head = ap.n_kv_head = d->n_head;
    ap.head_dim = d->head_dim;
    ap.causal = 0;
    ap.scale = 1.0f / sqrtf((float)d->head_dim);
    for (int l = 0; l < d->n_run; l++) {
        const tlv_vision_layer *L = &w->vlayers[l];
        norm(s, TLV_NORM_LAYER, &x, &L->ln1, d->eps, &h);
        linear(s, &h, &L->q, NULL, TLV_ACT_NONE, &q);
        linear(s, &h, &L->k, NULL, TLV_ACT_NONE, &k);
        linear(s, &h, &L->v, NULL, TLV_ACT_NONE, &v);
        tlv__op_attention(s, &ap, tlv__attn_rows(&q, 0, d->head_dim), tlv__attn_rows(&k, 0, d->head_dim),
                          tlv__attn_rows(&v, 0, d->head_dim), tlv__attn_rows(&a, 0, d->head_dim),
                          opt(&sc->vattn_scratch));
        linear(s, &a, &L->o, &x, TLV_ACT_NONE, &x);                 /* x += out_proj(a) */
        norm(s, TLV_NORM_LAYER, &x, &L->ln2, d->eps, &h);
        linear(s, &h, &L->fc1, NULL, d->act, &f);
        linear(s, &f, &L->fc2, &x, TLV_ACT_NONE, &x);               /* x += fc2(act(fc1(h))) */
    }

    /* MODELS.md 6.1: strategy "patch" drops row 0 (the CLS for CLIP, the top-left patch for
     * Factory SigLIP); legacy SigLIP keeps all rows. */
    int n = d->n_tokens;
    tlv_tensor sel = rows(&sc->vsel, n), c = rows(&sc->vc, n);
    tlv__op_copy_rows(s, &x, d->drop_first ? 1 : 0, &sel, 0, n);
    /* MODELS.md 3.3: Linear -> GELU (erf) -> Linear */
    linear(s, &sel, &w->conn1, NULL, TLV_ACT_GELU_ERF, &c);
    linear(s, &c, &w->conn2, NULL, TLV_ACT_NONE, features);
    return tlv__stream_status(s);
}

/* ------------------------------------------------------------------ LLM */

tlv_status tlv__model_record_llm(tlv_model_core *m, tlv_model_scratch *sc, tlv_stream *s, const tlv_input_span *spans,
                                 int n_spans, int pos0)
{
    const tlv_llm_desc *d = &m->llm;
    const tlv_model_weights *w = &m->w;
    int n = 0;
    for (int i = 0; i < n_spans; i++) n += spans[i].n;
    if (n <= 0 || n > sc->n_batch)
        return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "forward pass of %d rows, the session planned 1..%d", n,
                                sc->n_batch);
    if (pos0 + n > sc->n_ctx)
        return tlv__stream_fail(s, TLV_ERR_LIMIT, "positions %d..%d exceed the context of %d", pos0, pos0 + n - 1,
                                sc->n_ctx);
    const int hd = d->head_dim, H = d->hidden;
    tlv_tensor x = rows(&sc->x, n), h = rows(&sc->h, n);

    /* Input rows: token embeddings and image features, in order (MODELS.md 3.5). */
    int row = 0;
    for (int i = 0; i < n_spans; i++) {
        const tlv_input_span *sp = &spans[i];
        if (sp->image) tlv__op_copy_rows(s, sp->image, sp->image_row0, &x, row, sp->n);
        else tlv__op_embed_rows(s, &w->embed, &sc->ids, (uint64_t)sp->id0 * 4, (uint32_t)sp->n, 1.0f, &x, row);
        row += sp->n;
    }
    /* Gemma (transformers 4.40): inputs_embeds * sqrt(hidden) inside the model, image rows
     * included (MODELS.md 3.5). */
    if (d->embed_scale != 1.0f) tlv__op_scale(s, &x, d->embed_scale, &x);

    tlv_attn_params ap = {0};
    ap.n_q = n;
    ap.n_kv = pos0 + n;
    ap.head_dim = hd;
    ap.causal = 1;
    ap.pos0 = pos0;
    ap.scale = 1.0f / sqrtf((float)hd);

    for (int l = 0; l < d->n_layer; l++) {
        const tlv_llm_layer *L = &w->layers[l];
        const int nh = d->n_head[l], nkv = d->n_kv_head[l], ffn = d->ffn[l];
        /* the views below point at these tensors: they live for the whole layer */
        tlv_tensor q = shape2(&sc->q, n, (int64_t)nh * hd), a = shape2(&sc->a, n, (int64_t)nh * hd);
        tlv_tensor qkv = shape2(&sc->qkv, n, (int64_t)(nh + 2 * nkv) * hd);
        tlv_tensor k = shape2(&sc->k, n, (int64_t)nkv * hd), v = shape2(&sc->v, n, (int64_t)nkv * hd);
        tlv_attn_view qv, kv, vv;

        norm(s, d->norm, &x, &L->attn_norm, d->norm_eps, &h);
        if (d->fused_qkv) {
            /* OpenELM: one projection, heads ordered [q | k | v] */
            linear(s, &h, &L->qkv, NULL, TLV_ACT_NONE, &qkv);
            if (d->qk_norm) {
                tlv__op_norm_heads(s, TLV_NORM_RMS, &qkv, 0, nh, &L->q_norm, d->norm_eps);
                tlv__op_norm_heads(s, TLV_NORM_RMS, &qkv, (int64_t)nh * hd, nkv, &L->k_norm, d->norm_eps);
            }
            qv = tlv__attn_rows(&qkv, 0, hd);
            kv = tlv__attn_rows(&qkv, (int64_t)nh * hd, hd);
            vv = tlv__attn_rows(&qkv, (int64_t)(nh + nkv) * hd, hd);
            qv.row_stride = kv.row_stride = vv.row_stride = (int64_t)(nh + 2 * nkv) * hd;
        } else {
            linear(s, &h, &L->q, NULL, TLV_ACT_NONE, &q);
            linear(s, &h, &L->k, NULL, TLV_ACT_NONE, &k);
            linear(s, &h, &L->v, NULL, TLV_ACT_NONE, &v);
            qv = tlv__attn_rows(&q, 0, hd);
            kv = tlv__attn_rows(&k, 0, hd);
            vv = tlv__attn_rows(&v, 0, hd);
        }
        /* RoPE on q here; on k while it is written into the cache (MODELS.md 4: rotate-half on
         * the first rot_dim dims of each head, positions pos0 .. pos0+n-1). */
        if (d->fused_qkv) {
            tlv__op_qkv_rope_write(s, qv, kv, vv, tlv__attn_cache(&sc->kcache[l]), tlv__attn_cache(&sc->vcache[l]), n, nh,
                                   nkv, hd, pos0, d->rot_dim, &w->rope_table);
        } else {
            tlv__op_rope(s, qv, n, nh, hd, d->rot_dim, &w->rope_table, NULL, 0, pos0);
            tlv__op_kv_write(s, kv, tlv__attn_cache(&sc->kcache[l]), n, nkv, hd, pos0, d->rot_dim, &w->rope_table);
            tlv__op_kv_write(s, vv, tlv__attn_cache(&sc->vcache[l]), n, nkv, hd, pos0, 0, NULL);
        }
        ap.n_head = nh;
        ap.n_kv_head = nkv;
        tlv__op_attention(s, &ap, qv, tlv__attn_cache(&sc->kcache[l]), tlv__attn_cache(&sc->vcache[l]),
                          tlv__attn_rows(&a, 0, hd), opt(&sc->attn_scratch));

        if (d->parallel) {
            /* Phi-2: x = x + dense(attn) + fc2(gelu(fc1(h))), both from the same h */
            tlv_tensor f = shape2(&sc->f1, n, ffn);
            linear(s, &a, &L->o, &x, TLV_ACT_NONE, &x);
            linear(s, &h, &L->up, NULL, d->act, &f);
            linear(s, &f, &L->down, &x, TLV_ACT_NONE, &x);
            continue;
        }
        linear(s, &a, &L->o, &x, TLV_ACT_NONE, &x);
        norm(s, d->norm, &x, &L->ffn_norm, d->norm_eps, &h);
        tlv_tensor f = shape2(&sc->f1, n, ffn);
        if (!d->gated) {
            linear(s, &h, &L->up, NULL, d->act, &f);
        } else if (d->fused_gate_up) {
            /* [gate | up] in one projection; the down projection reads act(gate) * up from it
             * (decode: no gated dispatch, matmul.h) */
            tlv_tensor gu = shape2(&sc->f2, n, 2 * (int64_t)ffn);
            linear(s, &h, &L->up, NULL, TLV_ACT_NONE, &gu);
            tlv__op_matmul_gated(s, d->act, &gu, &f, &L->down.w, opt(&L->down.b), &x, TLV_ACT_NONE, &x, NULL);
            continue;
        } else {
            tlv_tensor g = shape2(&sc->f2, n, ffn), u = shape2(&sc->f3, n, ffn);
            linear(s, &h, &L->gate, NULL, TLV_ACT_NONE, &g);
            linear(s, &h, &L->up, NULL, TLV_ACT_NONE, &u);
            tlv__op_gated(s, d->act, &g, &u, &f);
        }
        linear(s, &f, &L->down, &x, TLV_ACT_NONE, &x);
    }

    /* Only the last position's logits are needed: norm and head on one row. */
    tlv__op_copy_rows(s, &x, n - 1, &sc->last, 0, 1);
    norm(s, d->norm, &sc->last, &w->final_norm, d->norm_eps, &sc->last);
    const tlv_tensor *head = w->lm_head.w.n_slabs ? &w->lm_head.w : &w->embed;
    tlv__op_matmul(s, &sc->last, head, opt(&w->lm_head.b), NULL, TLV_ACT_NONE, &sc->logits);
    (void)H;
    return tlv__stream_status(s);
}

/* ------------------------------------------------------------------ scratch */

static tlv_status alloc2(tlv_vk_device *dev, tlv_tensor *t, int64_t r, int64_t c, tlv_vk_mem_kind kind, tlv_err *err)
{
    int64_t shape[2] = {r, c};
    tlv__tensor_init(t, TLV_F32, 2, shape);
    return tlv__tensor_alloc(dev, t, kind, err);
}

void tlv__model_scratch_destroy(tlv_model_core *m, tlv_model_scratch *sc)
{
    tlv_vk_device *dev = m->dev;
    tlv_tensor *all[] = {&sc->x, &sc->h, &sc->q, &sc->k, &sc->v, &sc->qkv, &sc->a, &sc->f1, &sc->f2, &sc->f3, &sc->last,
                         &sc->logits, &sc->attn_scratch, &sc->img, &sc->vx, &sc->vh, &sc->vq, &sc->vk, &sc->vv, &sc->va,
                         &sc->vf, &sc->vsel, &sc->vc, &sc->vattn_scratch};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tlv__tensor_free(dev, all[i]);
    for (int l = 0; l < TLV_MAX_LAYERS; l++) {
        tlv__tensor_free(dev, &sc->kcache[l]);
        tlv__tensor_free(dev, &sc->vcache[l]);
    }
    tlv__vk_buffer_free(dev, &sc->ids);
}

tlv_status tlv__model_scratch_create(tlv_model_core *m, int n_batch, int n_ctx, tlv_model_scratch *sc, tlv_err *err)
{
    return tlv__model_scratch_create_kv(m, n_batch, n_ctx, TLV_KV_DTYPE_DEFAULT, sc, err);
}

tlv_status tlv__model_scratch_create_kv(tlv_model_core *m, int n_batch, int n_ctx, tlv_dtype kv_dtype,
                                        tlv_model_scratch *sc, tlv_err *err)
{
    memset(sc, 0, sizeof *sc);
    if (kv_dtype != TLV_F16 && kv_dtype != TLV_F32)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "KV cache dtype %s: expected F16 or F32", tlv__dtype_name(kv_dtype));
    sc->kv_dtype = kv_dtype;
    tlv_vk_device *dev = m->dev;
    const tlv_llm_desc *d = &m->llm;
    const tlv_vision_desc *vd = &m->vis;
    sc->n_batch = n_batch;
    sc->n_ctx = n_ctx;
    int max_nh = 0, max_nkv = 0, max_ffn = 0;
    for (int l = 0; l < d->n_layer; l++) {
        if (d->n_head[l] > max_nh) max_nh = d->n_head[l];
        if (d->n_kv_head[l] > max_nkv) max_nkv = d->n_kv_head[l];
        if (d->ffn[l] > max_ffn) max_ffn = d->ffn[l];
    }
    const int64_t hd = d->head_dim;
    tlv_status st;
    if ((st = alloc2(dev, &sc->x, n_batch, d->hidden, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->h, n_batch, d->hidden, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->q, n_batch, max_nh * hd, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->a, n_batch, max_nh * hd, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->f1, n_batch, max_ffn, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->last, 1, d->hidden, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->logits, 1, d->vocab, TLV_MEM_READBACK, err)))
        goto fail;
    if (d->fused_qkv) {
        if ((st = alloc2(dev, &sc->qkv, n_batch, (max_nh + 2 * max_nkv) * hd, TLV_MEM_DEVICE, err))) goto fail;
    } else if ((st = alloc2(dev, &sc->k, n_batch, max_nkv * hd, TLV_MEM_DEVICE, err)) ||
               (st = alloc2(dev, &sc->v, n_batch, max_nkv * hd, TLV_MEM_DEVICE, err))) {
        goto fail;
    }
    if (d->gated && (st = alloc2(dev, &sc->f2, n_batch, (d->fused_gate_up ? 2 : 1) * (int64_t)max_ffn, TLV_MEM_DEVICE, err)))
        goto fail;
    if (d->gated && !d->fused_gate_up && (st = alloc2(dev, &sc->f3, n_batch, max_ffn, TLV_MEM_DEVICE, err))) goto fail;
    for (int l = 0; l < d->n_layer; l++) {
        int64_t shape[3] = {d->n_kv_head[l], n_ctx, hd};
        tlv__tensor_init(&sc->kcache[l], kv_dtype, 3, shape);
        tlv__tensor_init(&sc->vcache[l], kv_dtype, 3, shape);
        if ((st = tlv__tensor_alloc(dev, &sc->kcache[l], TLV_MEM_DEVICE, err)) ||
            (st = tlv__tensor_alloc(dev, &sc->vcache[l], TLV_MEM_DEVICE, err)))
            goto fail;
        sc->kv_bytes += tlv__tensor_bytes(&sc->kcache[l]) + tlv__tensor_bytes(&sc->vcache[l]);
    }
    tlv_attn_params ap = {0};
    ap.n_q = 1;
    ap.n_kv = n_ctx;
    ap.n_head = max_nh;
    ap.n_kv_head = max_nkv;
    ap.head_dim = (int)hd;
    ap.causal = 1;
    ap.pos0 = n_ctx - 1;
    ap.scale = 1;
    int64_t sc_elems = tlv__op_attention_scratch_elems(dev, &ap);
    if (sc_elems > 0 && (st = alloc2(dev, &sc->attn_scratch, 1, sc_elems, TLV_MEM_DEVICE, err))) goto fail;
    if ((st = tlv__vk_buffer_alloc(dev, (VkDeviceSize)n_batch * 4, TLV_MEM_UPLOAD, &sc->ids, err))) goto fail;

    /* vision */
    int T = vd->grid * vd->grid + (vd->class_token ? 1 : 0);
    int64_t img_shape[3] = {3, vd->image_size, vd->image_size};
    tlv__tensor_init(&sc->img, TLV_F32, 3, img_shape);
    if ((st = tlv__tensor_alloc(dev, &sc->img, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->vx, T, vd->hidden, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->vh, T, vd->hidden, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->vq, T, vd->hidden, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->vk, T, vd->hidden, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->vv, T, vd->hidden, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->va, T, vd->hidden, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->vf, T, vd->ffn, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->vsel, vd->n_tokens, vd->hidden, TLV_MEM_DEVICE, err)) ||
        (st = alloc2(dev, &sc->vc, vd->n_tokens, d->hidden, TLV_MEM_DEVICE, err)))
        goto fail;
    ap.n_q = ap.n_kv = T;
    ap.n_head = ap.n_kv_head = vd->n_head;
    ap.head_dim = vd->head_dim;
    ap.causal = 0;
    ap.pos0 = 0;
    sc_elems = tlv__op_attention_scratch_elems(dev, &ap);
    if (sc_elems > 0 && (st = alloc2(dev, &sc->vattn_scratch, 1, sc_elems, TLV_MEM_DEVICE, err))) goto fail;
    return TLV_OK;
fail:
    tlv__model_scratch_destroy(m, sc);
    return st;
}
