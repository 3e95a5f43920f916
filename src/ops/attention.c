/* attention.c: flash attention, RoPE, KV-cache write (see attention.h for layouts and the why). */
#include "ops/attention.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Push blocks, field for field as in the shaders. */
struct attn_push {
    uint32_t q_off, q_rs, q_hs;
    uint32_t k_off, k_rs, k_hs;
    uint32_t v_off, v_rs, v_hs;
    uint32_t o_off, o_rs, o_hs;
    uint32_t n_rows, group, n_kv, pos0, causal, chunk, partial, n_kv_head;
    float scale;
};
_Static_assert(sizeof(struct attn_push) <= 128, "attn push constants");

struct attn_combine_push {
    uint32_t o_off, o_rs, o_hs;
    uint32_t n_rows, group, n_kv_head, n_chunks, head_dim, x_count;
};
_Static_assert(sizeof(struct attn_combine_push) <= 128, "attn_combine push constants");

struct rope_push {
    uint32_t off, rs, hs;
    uint32_t n_rows, n_heads, half_rot, use_pos, pos_off, pos0, table_rows, y_count;
};
_Static_assert(sizeof(struct rope_push) <= 128, "rope push constants");

struct kv_write_push {
    uint32_t src_off, src_rs, src_hs;
    uint32_t dst_off, dst_rs, dst_hs;
    uint32_t n_rows, n_heads, head_dim, pos0, half_rot, table_rows, y_count;
    uint32_t pairs;
};
_Static_assert(sizeof(struct kv_write_push) <= 128, "kv_write push constants");

struct qkv_rope_write_push {
    uint32_t q_off, k_off, v_off, src_rs;
    uint32_t k_dst_off, v_dst_off, dst_rs, dst_hs;
    uint32_t n_rows, n_head, n_kv, head_dim;
    uint32_t pos0, half_rot, table_rows, y_count;
    uint32_t pairs;
};
_Static_assert(sizeof(struct qkv_rope_write_push) <= 128, "qkv_rope_write push constants");

/* ------------------------------------------------------------------------------------------
 * Tuning, per device. */

struct attn_tune {
    uint32_t wg_rows;    /* attn: rows (query, q head) per workgroup; attn_dsplit: lanes per row */
    uint32_t bc;         /* keys per online-softmax block */
    uint32_t wg_1d;      /* workgroup size of the elementwise kernels (combine, rope, kv_write) */
    uint32_t target_wgs; /* split the keys until about this many workgroups run */
    uint32_t min_chunk;  /* fewest keys per chunk worth a split */
    uint32_t max_chunk;  /* most keys one workgroup may walk (lavapipe's loop limiter) */
    int dsplit;          /* 1: attn_dsplit (head dim over the lanes, `rows` rows per workgroup) */
    uint32_t rows;       /* attn_dsplit: rows per workgroup */
    const char *shader;
};

/* Whether q, k, v can be read as vec4s (attn_dsplit): head_dim, offsets and strides multiples of 4. */
static int attn_vec4_ok(const tlv_attn_params *p, const tlv_attn_view *q, const tlv_attn_view *k,
                        const tlv_attn_view *v)
{
    if (p->head_dim % 4) return 0;
    const tlv_attn_view *vs[3] = {q, k, v};
    for (int i = 0; i < 3; i++)
        if (vs[i] && (vs[i]->offset % 4 || vs[i]->row_stride % 4 || vs[i]->head_stride % 4)) return 0;
    return 1;
}

/* The kernel and its shape for attention p on device c. vec4_ok: attn_vec4_ok(). */
static struct attn_tune attn_tune_for(const tlv_vk_caps *c, const tlv_attn_params *p, int vec4_ok)
{
    /* the device's tuning record (vk/tuning.c; why: docs/BENCHMARKS.md "Why the tuning table
     * says what it says"), shaped for this head size and GQA ratio */
    const tlv_vk_tuning *r = &c->tune;
    struct attn_tune t;
    const int64_t rows_per_kv_head = (int64_t)p->n_q * (p->n_head / (p->n_kv_head > 0 ? p->n_kv_head : 1));
    const int wide = p->head_dim > 128;
    t.wg_rows = wide ? r->attn_wg_rows_wide : r->attn_wg_rows;
    t.bc = wide ? r->attn_bc_wide : p->head_dim > 64 ? r->attn_bc_mid : r->attn_bc;
    t.wg_1d = r->attn_wg_1d;
    t.target_wgs = r->attn_target_wgs;
    t.min_chunk = r->attn_min_chunk;
    t.max_chunk = r->attn_max_chunk;
    t.dsplit = r->attn_dsplit && vec4_ok;
    uint32_t max_rows = wide ? r->attn_rows_wide : r->attn_rows;
    t.rows = rows_per_kv_head < (int64_t)max_rows ? (uint32_t)rows_per_kv_head : max_rows;
    if (t.rows < 1) t.rows = 1;
    /* subgroupAdd sums the whole workgroup only when it is one subgroup: the record says whether
     * the driver guarantees that (lavapipe: always one SIMD group); else shared memory */
    const int sg = r->attn_subgroup_sum && c->subgroup_size == t.wg_rows;
    t.shader = !t.dsplit ? "attn" : sg ? "attn_dsplit" : "attn_dsplit_shared";
    return t;
}

/* Workgroup size of the elementwise kernels (rope, kv_write). */
static uint32_t wg_1d_for(const tlv_vk_caps *c)
{
    tlv_attn_params p = {1, 1, 1, 1, 64, 0, 0, 1.0f, 0};
    return attn_tune_for(c, &p, 0).wg_1d;
}

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* Keys a causal attention can see at all. */
static int64_t attn_keys(const tlv_attn_params *p)
{
    int64_t n = p->n_kv;
    if (p->causal && (int64_t)p->pos0 + p->n_q < n) n = (int64_t)p->pos0 + p->n_q;
    return n;
}

static int64_t attn_rows(const tlv_attn_params *p)
{
    return (int64_t)p->n_q * (p->n_head / p->n_kv_head);
}

static int64_t attn_partial_elems(const tlv_attn_params *p, uint32_t n_chunks)
{
    return (int64_t)n_chunks * p->n_kv_head * attn_rows(p) * (p->head_dim + 2);
}

/* Workgroups along x: row blocks. */
static uint64_t attn_row_blocks(const struct attn_tune *t, const tlv_attn_params *p)
{
    return div_up((uint64_t)attn_rows(p), t->dsplit ? t->rows : t->wg_rows);
}

/* Chunks for the keys: the requested split, or enough to reach target_wgs when the row blocks
 * alone do not, never below min_chunk keys, never more than the scratch holds (cap < 0: no cap).
 * *chunk gets the keys per chunk (a multiple of bc). */
static uint32_t attn_plan(const struct attn_tune *t, const tlv_attn_params *p, int64_t cap, uint32_t *chunk)
{
    const int64_t keys = attn_keys(p);
    const uint64_t blocks = attn_row_blocks(t, p) * (uint64_t)p->n_kv_head;
    uint64_t n = 1;
    if (p->n_split > 0) {
        n = (uint64_t)p->n_split;
    } else if (keys > (int64_t)t->min_chunk && blocks < t->target_wgs) {
        n = div_up(t->target_wgs, blocks);
        if (n > (uint64_t)keys / t->min_chunk) n = (uint64_t)keys / t->min_chunk;
        if (cap >= 0) {
            uint64_t fit = (uint64_t)cap / (uint64_t)attn_partial_elems(p, 1);
            if (n > fit) n = fit;
        }
    }
    if (n < div_up((uint64_t)keys, t->max_chunk)) n = div_up((uint64_t)keys, t->max_chunk);
    if (n > (uint64_t)keys) n = (uint64_t)keys;
    if (n < 1) n = 1;
    uint64_t c = div_up(div_up((uint64_t)keys, n), t->bc) * t->bc;
    *chunk = (uint32_t)c;
    return (uint32_t)div_up((uint64_t)keys, c);
}

/* ------------------------------------------------------------------------------------------
 * Views and their checks. */

tlv_attn_view tlv__attn_rows(const tlv_tensor *t, int64_t col0, int64_t head_dim)
{
    tlv_attn_view v = {t, col0, t ? tlv__tensor_row_elems(t) : 0, head_dim};
    return v;
}

tlv_attn_view tlv__attn_cache(const tlv_tensor *t)
{
    tlv_attn_view v = {t, -1, 0, 0}; /* not 3-D: a view every op rejects */
    if (t && t->ndim == 3) {
        v.offset = 0;
        v.row_stride = t->shape[2];
        v.head_stride = t->shape[1] * t->shape[2];
    }
    return v;
}

/* Checks that view v holds n_pos positions x n_heads heads x hd dims inside its tensor and that
 * every index fits the shaders' 32-bit arithmetic; kv: a K or V operand, F16 allowed (the f16 KV
 * cache), else F32 only. Records the error on s; returns 0 when bad. */
static int check_view_dt(tlv_stream *s, const char *op, const char *what, const tlv_attn_view *v, int64_t n_pos,
                         int64_t n_heads, int64_t hd, int kv)
{
    const tlv_tensor *t = v->t;
    if (!t) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: %s: tensor is NULL", op, what);
        return 0;
    }
    if (t->dtype != TLV_F32 && !(kv && t->dtype == TLV_F16)) {
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: %s: expected %s, found %s", op, what, kv ? "F32 or F16" : "F32",
                         tlv__dtype_name(t->dtype));
        return 0;
    }
    if (t->n_slabs != 1) {
        tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: %s: expected a tensor in one slab, found %d slabs", op, what,
                         t->n_slabs);
        return 0;
    }
    if (v->offset < 0 || v->row_stride < 0 || v->head_stride < 0) {
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: %s: negative offset or stride (%lld, %lld, %lld)", op, what,
                         (long long)v->offset, (long long)v->row_stride, (long long)v->head_stride);
        return 0;
    }
    if (n_pos > 0 && n_heads > 0 && hd > 0) {
        const int64_t nelem = tlv__tensor_nelem(t);
        const int64_t last = v->offset + (n_pos - 1) * v->row_stride + (n_heads - 1) * v->head_stride + hd - 1;
        if (last >= nelem || v->row_stride >= nelem + 1 || v->head_stride >= nelem + 1) {
            tlv__stream_fail(s, TLV_ERR_SHAPE,
                             "%s: %s: %lld positions x %lld heads x %lld dims (offset %lld, strides %lld, %lld) "
                             "reach element %lld, tensor has %lld",
                             op, what, (long long)n_pos, (long long)n_heads, (long long)hd, (long long)v->offset,
                             (long long)v->row_stride, (long long)v->head_stride, (long long)last,
                             (long long)nelem);
            return 0;
        }
        if (nelem > (int64_t)UINT32_MAX) {
            tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: %s: %lld elements exceed 32-bit indexing", op, what,
                             (long long)nelem);
            return 0;
        }
    }
    return 1;
}

static int check_view(tlv_stream *s, const char *op, const char *what, const tlv_attn_view *v, int64_t n_pos,
                      int64_t n_heads, int64_t hd)
{
    return check_view_dt(s, op, what, v, n_pos, n_heads, hd, 0);
}

/* Whether a K/V pair of views holds the same dtype; records the error on s. */
static int check_kv_dtypes(tlv_stream *s, const char *op, const char *a, const tlv_attn_view *x, const char *b,
                           const tlv_attn_view *y)
{
    if (x->t->dtype == y->t->dtype) return 1;
    tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: %s is %s, %s is %s: expected one dtype", op, a, tlv__dtype_name(x->t->dtype),
                     b, tlv__dtype_name(y->t->dtype));
    return 0;
}

/* An F16 cache view that one invocation can write a whole word of (two halves) at a time. */
static int kv_pairs_ok(const tlv_attn_view *v, int head_dim)
{
    return v->t->dtype == TLV_F16 && head_dim % 2 == 0 && v->offset % 2 == 0 && v->row_stride % 2 == 0 &&
           v->head_stride % 2 == 0;
}

/* Grid for `rows` rows of `per_row` invocations: x over the row, rows in y (spilling into z). */
static int grid_rows(tlv_stream *s, const char *op, const tlv_vk_caps *c, uint32_t wg, int64_t rows, int64_t per_row,
                     uint32_t g[3])
{
    const uint64_t gx = div_up((uint64_t)per_row, wg);
    const uint64_t gy = (uint64_t)rows < c->max_wg_count[1] ? (uint64_t)rows : c->max_wg_count[1];
    const uint64_t gz = div_up((uint64_t)rows, gy);
    if (gx > c->max_wg_count[0] || gz > c->max_wg_count[2]) {
        tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: %lld rows x %lld exceed the device's workgroup counts", op,
                         (long long)rows, (long long)per_row);
        return 0;
    }
    g[0] = (uint32_t)gx;
    g[1] = (uint32_t)gy;
    g[2] = (uint32_t)gz;
    return 1;
}

/* Whether t can be read through an RGBA32UI uniform texel buffer view on this device (and the
 * device wants texel reads): the view starts at the slab and must hold it. */
static int texel_fits(const tlv_vk_caps *c, const tlv_tensor *t)
{
    if (!c->tune.texel || !(c->texel_formats & (1u << TLV_TEXEL_RGBA32UI)) || c->max_texel_buffers < 2 ||
        !c->min_texel_align || t->n_slabs != 1)
        return 0;
    return (t->slabs[0].size + 15) / 16 <= c->max_texel_elements && t->slabs[0].offset % c->min_texel_align == 0;
}

static tlv_status fail_status(tlv_stream *s)
{
    tlv_status st = tlv__stream_status(s);
    return st != TLV_OK ? st : TLV_ERR_SHAPE;
}

static tlv_status get_pipeline(tlv_stream *s, const char *name, const uint32_t *spec, uint32_t n_spec,
                               uint32_t n_bind, uint32_t texel_mask, uint32_t push_bytes,
                               const tlv_vk_pipeline **out)
{
    tlv_err err = {0};
    tlv_status st = tlv__vk_pipeline_get_ex(tlv__stream_device(s), name, spec, n_spec, n_bind, texel_mask, push_bytes,
                                            out, &err);
    if (st != TLV_OK) return tlv__stream_fail(s, st, "%s", err.msg);
    return TLV_OK;
}

/* ------------------------------------------------------------------------------------------
 * Attention */

static int check_params(tlv_stream *s, const tlv_attn_params *p)
{
    const char *op = "attention";
    if (p->n_q < 1 || p->n_kv < 1 || p->n_head < 1 || p->n_kv_head < 1) {
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: expected n_q, n_kv, n_head, n_kv_head >= 1, found %d, %d, %d, %d", op,
                         p->n_q, p->n_kv, p->n_head, p->n_kv_head);
        return 0;
    }
    if (p->n_head % p->n_kv_head) {
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: n_head %d is not a multiple of n_kv_head %d", op, p->n_head,
                         p->n_kv_head);
        return 0;
    }
    if (p->head_dim < 1 || p->head_dim > TLV_ATTN_MAX_HEAD_DIM) {
        tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: head_dim %d: expected 1..%d", op, p->head_dim,
                         TLV_ATTN_MAX_HEAD_DIM);
        return 0;
    }
    if (p->causal && (p->pos0 < 0 || (int64_t)p->pos0 + p->n_q > p->n_kv)) {
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: causal queries at positions %d..%lld need keys up to there, n_kv is %d",
                         op, p->pos0, (long long)p->pos0 + p->n_q - 1, p->n_kv);
        return 0;
    }
    if (p->n_split < 0 || !(p->scale > 0.0f) || !isfinite(p->scale)) {
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: expected n_split >= 0 and a finite scale > 0, found %d, %g", op,
                         p->n_split, (double)p->scale);
        return 0;
    }
    return 1;
}

int64_t tlv__op_attention_scratch_elems(const tlv_vk_device *d, const tlv_attn_params *p)
{
    if (!d || !p || p->n_q < 1 || p->n_kv < 1 || p->n_kv_head < 1 || p->n_head % p->n_kv_head || p->head_dim < 1)
        return 0;
    /* views unknown here: assume vec4-aligned ones (the split plan does not depend on it) */
    const struct attn_tune t = attn_tune_for(tlv__vk_device_caps(d), p, p->head_dim % 4 == 0);
    uint32_t chunk;
    const uint32_t n = attn_plan(&t, p, -1, &chunk);
    return n > 1 ? attn_partial_elems(p, n) : 0;
}

/* The work of one attention, noted on its main dispatch: q and o once, the keys and values it
 * can see once (at the cache's dtype); 4 * head_dim FLOPs per (query, visible key, head): q.k and
 * p.v. */
static void note_work(tlv_stream *s, const tlv_attn_params *p, const tlv_attn_view *q, const tlv_attn_view *k,
                      const tlv_attn_view *v, const tlv_attn_view *o)
{
    const int64_t keys = attn_keys(p);
    double pairs = (double)p->n_q * (double)keys;
    if (p->causal) { /* query i sees min(pos0 + i + 1, n_kv) keys */
        pairs = 0;
        for (int64_t i = 0; i < p->n_q; i++) pairs += (double)(p->pos0 + i + 1 < p->n_kv ? p->pos0 + i + 1 : p->n_kv);
    }
    const double qo = (double)p->n_q * p->n_head, kv = (double)keys * p->n_kv_head;
    double bytes = qo * (double)(tlv__dtype_row_bytes(q->t->dtype, p->head_dim) + tlv__dtype_row_bytes(o->t->dtype, p->head_dim)) +
                   kv * (double)(tlv__dtype_row_bytes(k->t->dtype, p->head_dim) + tlv__dtype_row_bytes(v->t->dtype, p->head_dim));
    tlv__stream_note_work(s, bytes, 4.0 * p->head_dim * pairs * p->n_head);
}

tlv_status tlv__op_attention(tlv_stream *s, const tlv_attn_params *p, tlv_attn_view q, tlv_attn_view k,
                             tlv_attn_view v, tlv_attn_view o, const tlv_tensor *scratch)
{
    const char *op = "attention";
    if (!s) return TLV_ERR_INVALID_ARG;
    if (tlv__stream_status(s) != TLV_OK) return tlv__stream_status(s);
    if (!p) return tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: params are NULL", op);
    if (!check_params(s, p)) return fail_status(s);
    if (!check_view(s, op, "q", &q, p->n_q, p->n_head, p->head_dim) ||
        !check_view_dt(s, op, "k", &k, p->n_kv, p->n_kv_head, p->head_dim, 1) ||
        !check_view_dt(s, op, "v", &v, p->n_kv, p->n_kv_head, p->head_dim, 1) ||
        !check_view(s, op, "o", &o, p->n_q, p->n_head, p->head_dim) || !check_kv_dtypes(s, op, "k", &k, "v", &v))
        return fail_status(s);
    const int kv16 = k.t->dtype == TLV_F16;
    if (o.t == q.t || o.t == k.t || o.t == v.t)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: o must not share a tensor with q, k or v", op);

    const tlv_vk_caps *caps = tlv__vk_device_caps(tlv__stream_device(s));
    const struct attn_tune t = attn_tune_for(caps, p, attn_vec4_ok(p, &q, &k, &v));
    int64_t cap = -1;
    if (!scratch) {
        cap = 0;
    } else {
        if (scratch->dtype != TLV_F32 || scratch->n_slabs != 1)
            return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: scratch: expected F32 in one slab, found %s in %d slabs",
                                    op, tlv__dtype_name(scratch->dtype), scratch->n_slabs);
        cap = tlv__tensor_nelem(scratch);
        if (scratch == q.t || scratch == k.t || scratch == v.t || scratch == o.t)
            return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: scratch must not be an operand", op);
    }
    uint32_t chunk;
    uint32_t n_chunks = attn_plan(&t, p, cap, &chunk);
    const int64_t need = n_chunks > 1 ? attn_partial_elems(p, n_chunks) : 0;
    if (need > cap && p->n_split > 0)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: scratch: %u chunks need %lld elements, found %lld", op,
                                n_chunks, (long long)need, (long long)cap);
    if (need > cap)
        return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: %lld keys need %u chunks of at most %u on this device: "
                                "scratch: expected %lld elements, found %lld", op, (long long)attn_keys(p), n_chunks,
                                t.max_chunk, (long long)need, (long long)cap);
    if (need > (int64_t)UINT32_MAX)
        return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: %lld partial elements exceed 32-bit indexing", op,
                                (long long)need);

    const int64_t rows = attn_rows(p);
    const uint64_t gx = attn_row_blocks(&t, p);
    if (gx > caps->max_wg_count[0] || (uint32_t)p->n_kv_head > caps->max_wg_count[1] ||
        n_chunks > caps->max_wg_count[2])
        return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: %lld rows x %d KV heads x %u chunks exceed the device's "
                                "workgroup counts", op, (long long)rows, p->n_kv_head, n_chunks);

    /* lavapipe: K and V through uniform texel buffers (a gather a fetch, not a loop over lanes) */
    const char *shader = t.shader;
    uint32_t texel_mask = 0;
    if (!strcmp(shader, "attn_dsplit") && texel_fits(caps, k.t) && texel_fits(caps, v.t)) {
        shader = "attn_dsplit_tex";
        texel_mask = 0x6u;
    }
    /* the f16 KV cache: the same kernels reading two halves a word (shaders/attn*_kvf16.comp) */
    char name[40];
    if (kv16) {
        snprintf(name, sizeof name, "%s_kvf16", shader);
        shader = name;
    }
    const uint32_t spec[6] = {t.wg_rows, 1, 1, (uint32_t)p->head_dim, t.bc, t.rows};
    const tlv_vk_pipeline *pipe;
    if (get_pipeline(s, shader, spec, t.dsplit ? 6 : 5, 4, texel_mask, sizeof(struct attn_push), &pipe) != TLV_OK)
        return tlv__stream_status(s);

    struct attn_push pc = {
        (uint32_t)q.offset, (uint32_t)q.row_stride, (uint32_t)q.head_stride,
        (uint32_t)k.offset, (uint32_t)k.row_stride, (uint32_t)k.head_stride,
        (uint32_t)v.offset, (uint32_t)v.row_stride, (uint32_t)v.head_stride,
        (uint32_t)o.offset, (uint32_t)o.row_stride, (uint32_t)o.head_stride,
        (uint32_t)rows, (uint32_t)(p->n_head / p->n_kv_head), (uint32_t)p->n_kv, (uint32_t)p->pos0,
        (uint32_t)(p->causal != 0), chunk, n_chunks > 1, (uint32_t)p->n_kv_head,
        p->scale * 1.4426950408889634f,
    };
    tlv_vk_binding b[4] = {
        tlv__tensor_binding(q.t, 0, 0), tlv__tensor_binding(k.t, 0, 0), tlv__tensor_binding(v.t, 0, 0),
        n_chunks > 1 ? tlv__tensor_binding(scratch, 0, 1) : tlv__tensor_binding(o.t, 0, 1),
    };
    if (texel_mask) b[1].texel = b[2].texel = TLV_TEXEL_RGBA32UI;
    tlv_status st = tlv__stream_dispatch(s, pipe, b, 4, &pc, sizeof pc, (uint32_t)gx, (uint32_t)p->n_kv_head,
                                         n_chunks, shader);
    note_work(s, p, &q, &k, &v, &o);
    if (st != TLV_OK || n_chunks == 1) return st;

    /* combine the chunks */
    const uint32_t cspec[1] = {t.wg_1d};
    if (get_pipeline(s, "attn_combine", cspec, 1, 2, 0, sizeof(struct attn_combine_push), &pipe) != TLV_OK)
        return tlv__stream_status(s);
    const uint64_t total = (uint64_t)p->n_kv_head * (uint64_t)rows * (uint64_t)p->head_dim;
    uint64_t cgx = div_up(total, t.wg_1d), cgy = 1;
    if (cgx > caps->max_wg_count[0]) {
        cgy = div_up(cgx, caps->max_wg_count[0]);
        cgx = div_up(cgx, cgy);
    }
    struct attn_combine_push cp = {
        (uint32_t)o.offset, (uint32_t)o.row_stride, (uint32_t)o.head_stride,
        (uint32_t)rows, (uint32_t)(p->n_head / p->n_kv_head), (uint32_t)p->n_kv_head, n_chunks,
        (uint32_t)p->head_dim, (uint32_t)(cgx * t.wg_1d),
    };
    tlv_vk_binding cb[2] = {tlv__tensor_binding(scratch, 0, 0), tlv__tensor_binding(o.t, 0, 1)};
    return tlv__stream_dispatch(s, pipe, cb, 2, &cp, sizeof cp, (uint32_t)cgx, (uint32_t)cgy, 1, "attn_combine");
}

/* ------------------------------------------------------------------------------------------
 * RoPE */

void tlv__rope_table_fill(float *table, int64_t n_pos, int rot_dim, float theta)
{
    /* HF: inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)), all f32 tensors:
     * the exponent is an f32 quotient, the power an f32 result (powf rounds correctly or nearly;
     * computing it in double and rounding once gives the correctly rounded value), the
     * reciprocal an f32 division. freqs = outer(t.float(), inv_freq) in f32, then cos/sin in f32:
     * cos/sin of the f32 angle, rounded once. */
    const int half = rot_dim / 2;
    for (int j = 0; j < half; j++) {
        const float e = (float)(2 * j) / (float)rot_dim;
        const float pw = (float)pow((double)theta, (double)e);
        const float inv = 1.0f / pw;
        for (int64_t ps = 0; ps < n_pos; ps++) {
            const float ang = (float)ps * inv;
            table[ps * rot_dim + 2 * j] = (float)cos((double)ang);
            table[ps * rot_dim + 2 * j + 1] = (float)sin((double)ang);
        }
    }
}

/* The table and rot_dim checks shared by rope and kv_write. */
static int check_rot(tlv_stream *s, const char *op, int head_dim, int rot_dim, const tlv_tensor *table,
                     int64_t last_pos)
{
    if (rot_dim < 2 || rot_dim % 2 || rot_dim > head_dim) {
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: rot_dim %d: expected even, 2..head_dim (%d)", op, rot_dim, head_dim);
        return 0;
    }
    if (!table) {
        tlv__stream_fail(s, TLV_ERR_INVALID_ARG, "%s: table is NULL", op);
        return 0;
    }
    if (table->dtype != TLV_F32 || table->ndim != 2 || table->shape[1] != rot_dim || table->n_slabs != 1) {
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: table: expected F32 [max_pos, %d] in one slab, found %s [%lld, %lld] "
                         "(%d dims, %d slabs)", op, rot_dim, tlv__dtype_name(table->dtype),
                         (long long)table->shape[0], (long long)(table->ndim > 1 ? table->shape[1] : 0), table->ndim,
                         table->n_slabs);
        return 0;
    }
    if (last_pos >= table->shape[0]) {
        tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: position %lld is beyond the table's %lld positions", op,
                         (long long)last_pos, (long long)table->shape[0]);
        return 0;
    }
    return 1;
}

tlv_status tlv__op_rope(tlv_stream *s, tlv_attn_view x, int n_rows, int n_heads, int head_dim, int rot_dim,
                        const tlv_tensor *table, const tlv_vk_buffer *pos, int64_t pos_offset, int pos0)
{
    const char *op = "rope";
    if (!s) return TLV_ERR_INVALID_ARG;
    if (tlv__stream_status(s) != TLV_OK) return tlv__stream_status(s);
    if (n_rows < 1 || n_heads < 1 || head_dim < 1 || pos0 < 0)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: expected n_rows, n_heads, head_dim >= 1 and pos0 >= 0, found "
                                "%d, %d, %d, %d", op, n_rows, n_heads, head_dim, pos0);
    if (!check_view(s, op, "x", &x, n_rows, n_heads, head_dim) ||
        !check_rot(s, op, head_dim, rot_dim, table, pos ? 0 : (int64_t)pos0 + n_rows - 1))
        return fail_status(s);
    if (pos && (pos_offset < 0 || (uint64_t)(pos_offset + n_rows) > pos->size / 4))
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: pos: expected %d int32 positions from element %lld, "
                                "the buffer holds %llu", op, n_rows, (long long)pos_offset,
                                (unsigned long long)(pos->size / 4));
    if (table == x.t) return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: table must not be x", op);

    const tlv_vk_caps *caps = tlv__vk_device_caps(tlv__stream_device(s));
    const uint32_t wg = wg_1d_for(caps);
    uint32_t g[3];
    if (!grid_rows(s, op, caps, wg, n_rows, (int64_t)n_heads * (rot_dim / 2), g)) return fail_status(s);
    const uint32_t spec[1] = {wg};
    const tlv_vk_pipeline *pipe;
    if (get_pipeline(s, "rope", spec, 1, 3, 0, sizeof(struct rope_push), &pipe) != TLV_OK) return tlv__stream_status(s);
    struct rope_push pc = {
        (uint32_t)x.offset, (uint32_t)x.row_stride, (uint32_t)x.head_stride,
        (uint32_t)n_rows, (uint32_t)n_heads, (uint32_t)(rot_dim / 2), pos != NULL, (uint32_t)pos_offset,
        (uint32_t)pos0, (uint32_t)table->shape[0], g[1],
    };
    /* Without a position buffer the table is bound twice (read-only) to fill binding 2. */
    tlv_vk_binding b[3] = {
        tlv__tensor_binding(x.t, 0, 1), tlv__tensor_binding(table, 0, 0),
        tlv__tensor_binding(table, 0, 0),
    };
    if (pos) {
        b[2].buf = pos;
        b[2].offset = 0;
        b[2].range = 0;
    }
    return tlv__stream_dispatch(s, pipe, b, 3, &pc, sizeof pc, g[0], g[1], g[2], "rope");
}

/* ------------------------------------------------------------------------------------------
 * KV-cache write */

tlv_status tlv__op_kv_write(tlv_stream *s, tlv_attn_view src, tlv_attn_view dst, int n_rows, int n_kv_head,
                            int head_dim, int pos0, int rot_dim, const tlv_tensor *table)
{
    const char *op = "kv_write";
    if (!s) return TLV_ERR_INVALID_ARG;
    if (tlv__stream_status(s) != TLV_OK) return tlv__stream_status(s);
    if (n_rows < 1 || n_kv_head < 1 || head_dim < 1 || pos0 < 0)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: expected n_rows, n_kv_head, head_dim >= 1 and pos0 >= 0, "
                                "found %d, %d, %d, %d", op, n_rows, n_kv_head, head_dim, pos0);
    const int rope = table != NULL && rot_dim > 0;
    if (!check_view(s, op, "src", &src, n_rows, n_kv_head, head_dim) ||
        !check_view_dt(s, op, "dst", &dst, (int64_t)pos0 + n_rows, n_kv_head, head_dim, 1) ||
        (rope && !check_rot(s, op, head_dim, rot_dim, table, (int64_t)pos0 + n_rows - 1)))
        return fail_status(s);
    if (src.t == dst.t || (rope && table == dst.t))
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: dst must not share a tensor with src or the table", op);

    const tlv_vk_caps *caps = tlv__vk_device_caps(tlv__stream_device(s));
    const uint32_t wg = wg_1d_for(caps);
    const int kv16 = dst.t->dtype == TLV_F16, pairs = kv_pairs_ok(&dst, head_dim);
    uint32_t g[3];
    if (!grid_rows(s, op, caps, wg, n_rows, (int64_t)n_kv_head * (pairs ? head_dim / 2 : head_dim), g))
        return fail_status(s);
    const uint32_t spec[1] = {wg};
    const tlv_vk_pipeline *pipe;
    if (get_pipeline(s, kv16 ? "kv_write_kvf16" : "kv_write", spec, 1, 3, 0, sizeof(struct kv_write_push), &pipe) !=
        TLV_OK)
        return tlv__stream_status(s);
    struct kv_write_push pc = {
        (uint32_t)src.offset, (uint32_t)src.row_stride, (uint32_t)src.head_stride,
        (uint32_t)dst.offset, (uint32_t)dst.row_stride, (uint32_t)dst.head_stride,
        (uint32_t)n_rows, (uint32_t)n_kv_head, (uint32_t)head_dim, (uint32_t)pos0,
        rope ? (uint32_t)(rot_dim / 2) : 0u, rope ? (uint32_t)table->shape[0] : 0u, g[1], (uint32_t)pairs,
    };
    /* Without RoPE src is bound a second time (read-only) to fill the table's binding. */
    tlv_vk_binding b[3] = {
        tlv__tensor_binding(src.t, 0, 0), tlv__tensor_binding(dst.t, 0, 1),
        tlv__tensor_binding(rope ? table : src.t, 0, 0),
    };
    return tlv__stream_dispatch(s, pipe, b, 3, &pc, sizeof pc, g[0], g[1], g[2], rope ? "kv_write_rope" : "kv_write");
}

/* ------------------------------------------------------------------------------------------
 * RoPE on q and both cache writes, one dispatch */

tlv_status tlv__op_qkv_rope_write(tlv_stream *s, tlv_attn_view q, tlv_attn_view k, tlv_attn_view v, tlv_attn_view k_dst,
                                  tlv_attn_view v_dst, int n_rows, int n_head, int n_kv_head, int head_dim, int pos0,
                                  int rot_dim, const tlv_tensor *table)
{
    const char *op = "qkv_rope_write";
    if (!s) return TLV_ERR_INVALID_ARG;
    if (tlv__stream_status(s) != TLV_OK) return tlv__stream_status(s);
    if (n_rows < 1 || n_head < 1 || n_kv_head < 1 || head_dim < 1 || pos0 < 0)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: expected n_rows, n_head, n_kv_head, head_dim >= 1 and pos0 >= 0, "
                                "found %d, %d, %d, %d, %d", op, n_rows, n_head, n_kv_head, head_dim, pos0);
    if (!check_view(s, op, "q", &q, n_rows, n_head, head_dim) || !check_view(s, op, "k", &k, n_rows, n_kv_head, head_dim) ||
        !check_view(s, op, "v", &v, n_rows, n_kv_head, head_dim) ||
        !check_view_dt(s, op, "k_dst", &k_dst, (int64_t)pos0 + n_rows, n_kv_head, head_dim, 1) ||
        !check_view_dt(s, op, "v_dst", &v_dst, (int64_t)pos0 + n_rows, n_kv_head, head_dim, 1) ||
        !check_kv_dtypes(s, op, "k_dst", &k_dst, "v_dst", &v_dst) ||
        !check_rot(s, op, head_dim, rot_dim, table, (int64_t)pos0 + n_rows - 1))
        return fail_status(s);
    if (q.t != k.t || q.t != v.t || q.row_stride != k.row_stride || q.row_stride != v.row_stride ||
        q.head_stride != head_dim || k.head_stride != head_dim || v.head_stride != head_dim)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: q, k and v must be parts of one fused QKV tensor (one row stride, "
                                "heads of head_dim packed)", op);
    if (k_dst.row_stride != v_dst.row_stride || k_dst.head_stride != v_dst.head_stride)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: k_dst and v_dst must have the same layout", op);
    if (k_dst.t == q.t || v_dst.t == q.t || k_dst.t == v_dst.t || k_dst.t == table || v_dst.t == table || table == q.t)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: the caches, the table and qkv must be four distinct tensors", op);

    const tlv_vk_caps *caps = tlv__vk_device_caps(tlv__stream_device(s));
    const uint32_t wg = wg_1d_for(caps);
    const int kv16 = k_dst.t->dtype == TLV_F16, pairs = kv_pairs_ok(&k_dst, head_dim) && kv_pairs_ok(&v_dst, head_dim);
    const int64_t per_row = (int64_t)n_head * (rot_dim / 2) + 2 * (int64_t)n_kv_head * (pairs ? head_dim / 2 : head_dim);
    uint32_t g[3];
    if (!grid_rows(s, op, caps, wg, n_rows, per_row, g)) return fail_status(s);
    const uint32_t spec[1] = {wg};
    const tlv_vk_pipeline *pipe;
    if (get_pipeline(s, kv16 ? "qkv_rope_write_kvf16" : "qkv_rope_write", spec, 1, 4, 0,
                     sizeof(struct qkv_rope_write_push), &pipe) != TLV_OK)
        return tlv__stream_status(s);
    struct qkv_rope_write_push pc = {
        (uint32_t)q.offset, (uint32_t)k.offset, (uint32_t)v.offset, (uint32_t)q.row_stride,
        (uint32_t)k_dst.offset, (uint32_t)v_dst.offset, (uint32_t)k_dst.row_stride, (uint32_t)k_dst.head_stride,
        (uint32_t)n_rows, (uint32_t)n_head, (uint32_t)n_kv_head, (uint32_t)head_dim,
        (uint32_t)pos0, (uint32_t)(rot_dim / 2), (uint32_t)table->shape[0], g[1], (uint32_t)pairs,
    };
    tlv_vk_binding b[4] = {
        tlv__tensor_binding(q.t, 0, 1), tlv__tensor_binding(k_dst.t, 0, 1), tlv__tensor_binding(v_dst.t, 0, 1),
        tlv__tensor_binding(table, 0, 0),
    };
    return tlv__stream_dispatch(s, pipe, b, 4, &pc, sizeof pc, g[0], g[1], g[2], "qkv_rope_write");
}
