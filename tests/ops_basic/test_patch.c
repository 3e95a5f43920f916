/* test_patch.c: tlv__op_patch_embed (conv kernel = stride = P, valid padding, optional bias,
 * CLIP class token, position embeddings) against a double-precision direct convolution.
 *
 * Error measure: max |got - ref| / max |ref| < 1e-5 (f32 sums of 3 P^2 products; weights,
 * bias, class and position tables rounded to their dtype on the host first).
 * Shapes: images whose side is not a multiple of P (the last S - g P pixels must be ignored),
 * non-square images, hidden sizes that are not multiples of the 32-wide tiles, and the real
 * SigLIP-so400m/384 layer (729 x 588 x 1152, F16) when the storage range allows. */
#include <math.h>
#include <stdlib.h>

#include "ops/basic.h"
#include "ops_common.h"

static const char *dt_name[] = {"f32", "f16", "bf16"};

static const char *kernel_name[] = {"auto", "tiles", "lanes"};

static void case_patch(tlv_test_gpu *g, int kernel, tlv_dtype wdt, int64_t H, int64_t W, int64_t P, int64_t hidden,
                       int with_bias, int with_cls, int with_pos, uint64_t seed)
{
    char what[200];
    snprintf(what, sizeof what, "patch_embed (%s) w=%s img 3x%lldx%lld P=%lld hidden=%lld%s%s%s", kernel_name[kernel],
             dt_name[wdt], (long long)H, (long long)W, (long long)P, (long long)hidden, with_bias ? " bias" : "",
             with_cls ? " cls" : "", with_pos ? " pos" : "");
    int64_t gh = H / P, gw = W / P, c0 = with_cls ? 1 : 0, n_tok = c0 + gh * gw, K = 3 * P * P;
    if ((uint64_t)n_tok * hidden * 4 > (uint64_t)g->caps->storage_range_limit * 32 ||
        (uint64_t)3 * H * W * 4 > g->caps->storage_range_limit) {
        printf("  skipped (the image must fit one binding): %s\n", what);
        return;
    }
    float *img = tlv_test_random(seed, (size_t)(3 * H * W), -1, 1);
    float *w = tlv_test_random(seed + 1, (size_t)(hidden * K), -0.1f, 0.1f);
    float *bias = tlv_test_random(seed + 2, (size_t)hidden, -1, 1);
    float *cls = tlv_test_random(seed + 3, (size_t)hidden, -1, 1);
    float *pos = tlv_test_random(seed + 4, (size_t)(n_tok * hidden), -1, 1);
    tlv_test_round(wdt, w, (size_t)(hidden * K));
    tlv_test_round(wdt, bias, (size_t)hidden);
    tlv_test_round(wdt, cls, (size_t)hidden);
    tlv_test_round(wdt, pos, (size_t)(n_tok * hidden));
    float *ref = malloc((size_t)(n_tok * hidden) * sizeof *ref);
    for (int64_t c = 0; c < hidden && with_cls; c++) ref[c] = cls[c] + (with_pos ? pos[c] : 0.0f);
    for (int64_t m = 0; m < gh * gw; m++) {
        int64_t py = m / gw, px = m % gw;
        for (int64_t c = 0; c < hidden; c++) {
            double acc = with_bias ? bias[c] : 0.0;
            for (int64_t ch = 0; ch < 3; ch++)
                for (int64_t ky = 0; ky < P; ky++)
                    for (int64_t kx = 0; kx < P; kx++)
                        acc += (double)img[(ch * H + py * P + ky) * W + px * P + kx] *
                               (double)w[c * K + (ch * P + ky) * P + kx];
            if (with_pos) acc += pos[(c0 + m) * hidden + c];
            ref[(c0 + m) * hidden + c] = (float)acc;
        }
    }
    int64_t shi[3] = {3, H, W}, shw[4] = {hidden, 3, P, P}, shv[1] = {hidden}, shp[2] = {n_tok, hidden};
    tlv_tensor ti, tw, tb, tc, tp, ty;
    CHECK(tlv_test_tensor_make(g, &ti, TLV_F32, 3, shi, img, 1));
    CHECK(tlv_test_tensor_make(g, &tw, wdt, 4, shw, w, 1));
    CHECK(tlv_test_tensor_make(g, &tb, wdt, 1, shv, bias, 1));
    CHECK(tlv_test_tensor_make(g, &tc, wdt, 1, shv, cls, 1));
    CHECK(tlv_test_tensor_make(g, &tp, wdt, 2, shp, pos, 1));
    CHECK(tlv_test_tensor_make(g, &ty, TLV_F32, 2, shp, NULL, 1));
    tlv__stream_begin(g->s, 1);
    tlv__op_patch_embed_kernel(g->s, &ti, &tw, with_bias ? &tb : NULL, with_cls ? &tc : NULL, with_pos ? &tp : NULL,
                               &ty, kernel);
    tlv_err err;
    if (tlv__stream_run(g->s, &err) == TLV_OK) {
        double ns = 0;
        for (uint32_t i = 0; i < tlv__stream_n_dispatches(g->s); i++) ns += tlv__stream_time_ns(g->s, i);
        if (gh * gw > 500) printf("  %s: %u dispatches, %.2f ms GPU\n", what, tlv__stream_n_dispatches(g->s), ns / 1e6);
        float *got = tlv_test_tensor_download(g, &ty);
        tlv_test_compare_rel(what, got, ref, (size_t)(n_tok * hidden), 1e-5);
        CHECK(tlv_test_guards_ok(g, &ty, what));
        free(got);
    } else {
        CHECK(!"stream run");
        fprintf(stderr, "%s: %s\n", what, err.msg);
    }
    tlv__stream_begin(g->s, 0);
    tlv_test_tensor_release(g, &ti);
    tlv_test_tensor_release(g, &tw);
    tlv_test_tensor_release(g, &tb);
    tlv_test_tensor_release(g, &tc);
    tlv_test_tensor_release(g, &tp);
    tlv_test_tensor_release(g, &ty);
    free(img);
    free(w);
    free(bias);
    free(cls);
    free(pos);
    free(ref);
}

static void bad_args(tlv_test_gpu *g)
{
    int64_t shi[3] = {3, 20, 20}, shi4[3] = {4, 20, 20}, shw[4] = {8, 3, 5, 5}, shw2[4] = {8, 3, 5, 4},
            shv7[1] = {7}, shp[2] = {16, 8}, shp2[2] = {17, 8}, shy[2] = {16, 8}, shbig[4] = {8, 3, 21, 21};
    tlv_tensor img, img4, w, w2, v7, pos, pos2, y, wbig;
    CHECK(tlv_test_tensor_make(g, &img, TLV_F32, 3, shi, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &img4, TLV_F32, 3, shi4, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &w, TLV_F16, 4, shw, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &w2, TLV_F16, 4, shw2, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &v7, TLV_F16, 1, shv7, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &pos, TLV_F16, 2, shp, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &pos2, TLV_F16, 2, shp2, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &y, TLV_F32, 2, shy, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &wbig, TLV_F16, 4, shbig, NULL, 0));
    tlv__op_patch_embed(g->s, &img4, &w, NULL, NULL, NULL, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "patch_embed: img: expected F32 [3, H, W]");
    tlv__op_patch_embed(g->s, &img, &w2, NULL, NULL, NULL, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "patch_embed: w: expected [hidden, 3, P, P]");
    tlv__op_patch_embed(g->s, &img, &w, &v7, NULL, NULL, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "patch_embed: bias: expected a vector [8]");
    tlv__op_patch_embed(g->s, &img, &w, NULL, &v7, NULL, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "patch_embed: cls");
    tlv__op_patch_embed(g->s, &img, &w, NULL, NULL, &pos2, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "patch_embed: pos: expected [16, 8], found [17, 8]");
    tlv__op_patch_embed(g->s, &img, &w, NULL, NULL, &pos, &pos);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "patch_embed: y: expected F32 [16, 8], found F16 [16, 8]");
    tlv__op_patch_embed(g->s, &img, &wbig, NULL, NULL, NULL, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "smaller than the patch");
    tlv_test_tensor_release(g, &img);
    tlv_test_tensor_release(g, &img4);
    tlv_test_tensor_release(g, &w);
    tlv_test_tensor_release(g, &w2);
    tlv_test_tensor_release(g, &v7);
    tlv_test_tensor_release(g, &pos);
    tlv_test_tensor_release(g, &pos2);
    tlv_test_tensor_release(g, &y);
    tlv_test_tensor_release(g, &wbig);
}

/* The cases; on CPU devices they run twice, the second time with the GPU shapes. */
static void run_cases(tlv_test_gpu *g, int second)
{
    uint64_t seed = 9000;
    for (int k = 1; k <= 2; k++) {
        for (int d = 0; d < 3; d++) {
            /* SigLIP-like: bias + positions, 30 = 4 x 7 + 2 ignored pixels */
            case_patch(g, k, (tlv_dtype)d, 30, 30, 7, 40, 1, 0, 1, seed += 10);
            /* CLIP-like: no bias, class token + positions */
            case_patch(g, k, (tlv_dtype)d, 28, 28, 14, 33, 0, 1, 1, seed += 10);
            /* non-square, odd P (F16 weight rows start mid-word), bare conv */
            case_patch(g, k, (tlv_dtype)d, 29, 45, 5, 65, 1, 0, 0, seed += 10);
            /* one patch, hidden 1 */
            case_patch(g, k, (tlv_dtype)d, 3, 3, 3, 1, 1, 1, 1, seed += 10);
        }
        /* several tiles / lane blocks both ways, 64 KiB slabs of weights and outputs */
        case_patch(g, k, TLV_BF16, 56, 70, 7, 300, 1, 1, 1, seed += 10);
    }
    /* the real SigLIP-so400m/384 patch layer, with the device's own kernel (once: both kernels
     * ran above) */
    if (!second) case_patch(g, 0, TLV_F16, 384, 384, 14, 1152, 1, 0, 1, seed += 10);
}

int main(void)
{
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return tlv_test_finish("test_patch");
    run_cases(&g, 0);
    bad_args(&g);
    if (tlv_test_gpu_pretend_discrete(&g)) run_cases(&g, 1);
    tlv_test_gpu_teardown(&g);
    return tlv_test_finish("test_patch");
}
