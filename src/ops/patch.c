/* patch.c: the vision tower's patch embedding (patch.h; shaders/patch_embed*.comp), with the
 * class row (a cast) and the position table (an add) recorded after it. */
#include "ops/patch.h"

#include "dtype.h" /* shaders/dtype.h */
#include "ops/copy.h"
#include "ops/elementwise.h"

/* ------------------------------------------------------------------ patch embedding */

struct patch_push {
    uint32_t n_rows, m0, n_cols, n0, K, P, img_h, img_w, gw, y_off, y_stride;
};
_Static_assert(sizeof(struct patch_push) <= 128, "push constants");

#define PATCH_TILE 32 /* TM = TN in patch_embed.comp */
#define PATCH_PM 32   /* PM in patch_embed_lanes.comp */
#define PATCH_PC 16   /* PC in patch_embed_lanes.comp */

tlv_status tlv__op_patch_embed(tlv_stream *s, const tlv_tensor *img, const tlv_tensor *w, const tlv_tensor *bias,
                               const tlv_tensor *cls, const tlv_tensor *pos, tlv_tensor *y)
{
    return tlv__op_patch_embed_kernel(s, img, w, bias, cls, pos, y, 0);
}

tlv_status tlv__op_patch_embed_kernel(tlv_stream *s, const tlv_tensor *img, const tlv_tensor *w,
                                      const tlv_tensor *bias, const tlv_tensor *cls, const tlv_tensor *pos,
                                      tlv_tensor *y, int kernel)
{
    const char *op = "patch_embed";
    tlv_status st = tlv__stream_status(s);
    if (st != TLV_OK) return st;
    if (!img || img->ndim != 3 || img->dtype != TLV_F32 || img->shape[0] != 3)
        return tlv__stream_fail(s, img ? TLV_ERR_SHAPE : TLV_ERR_INVALID_ARG, "%s: img: expected F32 [3, H, W]", op);
    if (img->n_slabs != 1)
        return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "%s: img: expected one storage slab, found %d", op, img->n_slabs);
    if (!tlv__op_check_float(s, op, "w", w)) return tlv__stream_status(s);
    if (w->ndim != 4 || w->shape[1] != 3 || w->shape[2] != w->shape[3] || w->shape[2] < 1)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: w: expected [hidden, 3, P, P], found %d dims [%lld, %lld, ...]", op,
                                w->ndim, (long long)w->shape[0], (long long)w->shape[1]);
    int64_t hidden = w->shape[0], P = w->shape[2], H = img->shape[1], W = img->shape[2];
    int64_t gh = H / P, gw = W / P, c0 = cls ? 1 : 0, n_tok = c0 + gh * gw;
    if (gh < 1 || gw < 1)
        return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: image %lldx%lld is smaller than the patch %lld", op, (long long)H,
                                (long long)W, (long long)P);
    if (bias && !tlv__op_check_vec(s, op, "bias", bias, hidden)) return tlv__stream_status(s);
    if (cls && !tlv__op_check_vec(s, op, "cls", cls, hidden)) return tlv__stream_status(s);
    if (pos) {
        if (!tlv__op_check_float(s, op, "pos", pos)) return tlv__stream_status(s);
        if (pos->ndim != 2 || pos->shape[0] != n_tok || pos->shape[1] != hidden)
            return tlv__stream_fail(s, TLV_ERR_SHAPE, "%s: pos: expected [%lld, %lld], found [%lld, %lld]", op,
                                    (long long)n_tok, (long long)hidden, (long long)pos->shape[0],
                                    (long long)(pos->ndim > 1 ? pos->shape[1] : 0));
    }
    if (!tlv__op_check_2d(s, op, "y", y, TLV_F32, n_tok, hidden)) return tlv__stream_status(s);

    const tlv_vk_caps *c = tlv__op_caps(s);
    if (cls) {
        tlv_row_view vc = {cls, 0, 0, hidden, 1, 0}, vy0 = tlv__op_view_rows(y, 0, 0, 1);
        st = tlv__op_cast_record(s, op, vc, vy0, 1, hidden);
        if (st != TLV_OK) return st;
    }
    if (kernel == 0) kernel = c->tune.patch_kernel == 2 ? 2 : 1;
    uint32_t lane_wg = tlv__op_tune(c).ew_wg;
    uint32_t spec[3] = {kernel == 1 ? 64 : lane_wg, tlv__op_dtype_code(w->dtype),
                        bias ? tlv__op_dtype_code(bias->dtype) : TLV_DT_NONE};
    const tlv_vk_pipeline *p;
    st = tlv__op_pipeline(s, op, kernel == 1 ? "patch_embed" : "patch_embed_lanes", spec, 3, 4,
                          sizeof(struct patch_push), &p);
    if (st != TLV_OK) return st;
    tlv_row_view vy = tlv__op_view_rows(y, c0, 0, 1);
    int64_t M = gh * gw;
    for (int64_t r = 0; r < M;) {
        tlv_chunk_pos py = {0, 0};
        int64_t nr = tlv__op_row_chunk(&vy, 1, r, M - r, &py);
        for (int sl = 0; sl < w->n_slabs; sl++) {
            struct patch_push pc;
            pc.n_rows = (uint32_t)nr;
            pc.m0 = (uint32_t)r;
            pc.n_cols = (uint32_t)tlv__tensor_slab_nrows(w, sl);
            pc.n0 = (uint32_t)((int64_t)sl * w->slab_rows);
            pc.K = (uint32_t)(3 * P * P);
            pc.P = (uint32_t)P;
            pc.img_h = (uint32_t)H;
            pc.img_w = (uint32_t)W;
            pc.gw = (uint32_t)gw;
            pc.y_off = (uint32_t)py.off;
            pc.y_stride = (uint32_t)hidden;
            tlv_vk_binding bd[4] = {tlv__tensor_binding(img, 0, 0), tlv__tensor_binding(w, sl, 0),
                                    bias ? tlv__tensor_binding(bias, 0, 0) : tlv__tensor_binding(img, 0, 0),
                                    tlv__op_bind(&vy, &py)};
            uint32_t gx, gyn;
            if (kernel == 1) {
                gx = (uint32_t)((nr + PATCH_TILE - 1) / PATCH_TILE);
                gyn = (pc.n_cols + PATCH_TILE - 1) / PATCH_TILE;
            } else {
                gx = (uint32_t)((nr + PATCH_PM - 1) / PATCH_PM);
                gyn = (pc.n_cols + lane_wg * PATCH_PC - 1) / (lane_wg * PATCH_PC);
            }
            if (gx > c->max_wg_count[0] || gyn > c->max_wg_count[1])
                return tlv__stream_fail(s, TLV_ERR_LIMIT, "%s: grid %ux%u exceeds the device's limits", op, gx, gyn);
            st = tlv__stream_dispatch(s, p, bd, 4, &pc, sizeof pc, gx, gyn, 1, op);
            if (st != TLV_OK) return st;
        }
        r += nr;
    }
    if (pos) {
        tlv_row_view va = tlv__op_view_rows(y, 0, 0, 0), vb = tlv__op_view_rows(pos, 0, 0, 0), vo = tlv__op_view_rows(y, 0, 0, 1);
        return tlv__op_ew_record(s, op, EW_ADD, TLV_ACT_NONE, va, vb, vo, n_tok, hidden, 1.0f);
    }
    return TLV_OK;
}