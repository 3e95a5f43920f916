/* preprocess.c: the geometry of MODELS.md 3.1 (pad, stretch, shortest edge + centre crop) and
 * the rescale/normalize step, in the reference's exact order of roundings. */
#include "image/image.h"

#include <math.h>
#include <string.h>

/* Largest output side we accept: far above any vision tower (SigLIP 384, CLIP 336). */
#define MAX_SIZE 8192

static tlv_status check_params(const tlv_image *img, const tlv_image_params *p, tlv_err *err)
{
    if (!img || !img->rgb || !p)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image preprocess: NULL %s", p ? "image" : "params");
    if (img->w <= 0 || img->h <= 0 || img->stride < (size_t)img->w * 3)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image preprocess: image %dx%d stride %zu, expected "
                            "a non-zero size and stride >= 3*width", img->w, img->h, img->stride);
    if (p->size <= 0 || p->size > MAX_SIZE)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image preprocess: size %d, expected 1..%d",
                            p->size, MAX_SIZE);
    if (p->aspect != TLV_IMAGE_ASPECT_SQUARE && p->aspect != TLV_IMAGE_ASPECT_PAD)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image preprocess: aspect mode %d, expected "
                            "SQUARE (0) or PAD (1)", (int)p->aspect);
    if (p->resize != TLV_IMAGE_RESIZE_EXACT && p->resize != TLV_IMAGE_RESIZE_SHORTEST_EDGE)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image preprocess: resize mode %d, expected "
                            "EXACT (0) or SHORTEST_EDGE (1)", (int)p->resize);
    if (p->resize_to < 0 || p->resize_to > MAX_SIZE)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image preprocess: resize_to %d, expected 0..%d",
                            p->resize_to, MAX_SIZE);
    if (p->resize_to && p->resize_to < p->size)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "image preprocess: resize to %d then crop %d: a crop "
                            "larger than the image (transformers pads it) is not supported",
                            p->resize_to, p->size);
    for (int c = 0; c < 3; c++) {
        if (!isfinite(p->mean[c]) || !isfinite(p->std[c]) || p->std[c] == 0.0)
            return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image preprocess: channel %d mean %g std %g, "
                                "expected finite values and std != 0", c, p->mean[c], p->std[c]);
    }
    return TLV_OK;
}

tlv_status tlv__image_preprocess_u8(const tlv_image *img, const tlv_image_params *p,
                                    const tlv_allocator *a, uint8_t *out_rgb, tlv_err *err)
{
    tlv_status st = check_params(img, p, err);
    if (st != TLV_OK) return st;
    if (!out_rgb) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image preprocess: NULL output");
    const int S = p->size;

    /* expand2square: Image.new(mode, (side, side), tuple(int(x*255) for x in image_mean)),
     * paste at ((side-W)//2, (side-H)//2); a square image is returned as is. */
    tlv_image_canvas c = { .img = img, .canvas_w = img->w, .canvas_h = img->h };
    if (p->aspect == TLV_IMAGE_ASPECT_PAD && img->w != img->h) {
        int side = img->w > img->h ? img->w : img->h;
        c.canvas_w = c.canvas_h = side;
        c.off_x = (side - img->w) / 2;
        c.off_y = (side - img->h) / 2;
        for (int ch = 0; ch < 3; ch++) {
            double v = p->mean[ch] * 255;   /* int() truncates toward zero */
            c.fill[ch] = v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(int)v;
        }
    }

    const int R = p->resize_to ? p->resize_to : S;
    int out_w = R, out_h = R;
    if (p->resize == TLV_IMAGE_RESIZE_SHORTEST_EDGE) {
        /* transformers 4.40.1 get_resize_output_image_size(default_to_square=False):
         * short, long = (w, h) if w <= h else (h, w); new_long = int(R * long / short), Python
         * true division (correctly rounded, as is this double division: both operands exact). */
        int w = c.canvas_w, h = c.canvas_h;
        int shrt = w <= h ? w : h, lng = w <= h ? h : w;
        double q = (double)((int64_t)R * lng) / (double)shrt;
        if (q > 1e9)
            return tlv__err_set(err, TLV_ERR_LIMIT, "image preprocess: %dx%d image: shortest edge %d "
                                "would make the long edge %.0f pixels", w, h, R, q);
        int new_long = (int)q;
        if (w <= h) { out_w = R; out_h = new_long; }
        else        { out_w = new_long; out_h = R; }
    }
    /* center_crop: top = (h - S)//2, left = (w - S)//2, both >= 0 as R >= S. */
    int top = (out_h - S) / 2, left = (out_w - S) / 2;
    st = tlv__image_resample(&c, out_w, out_h, left, top, S, S, out_rgb, (size_t)S * 3, a, err);
    if (st != TLV_OK) tlv__err_prefix(err, "image %dx%d", img->w, img->h);
    return st;
}

void tlv__image_normalize(const uint8_t *rgb, int size, const double mean[3], const double std[3],
                          float *out_chw)
{
    /* transformers: rescale = (uint8 array * 1/255) in float64, .astype(float32); normalize =
     * (x - float32(mean)) / float32(std) in float32. 256 values per channel: a table. */
    float lut[3][256];
    for (int c = 0; c < 3; c++) {
        const float m = (float)mean[c], s = (float)std[c];
        for (int v = 0; v < 256; v++) {
            const float x = (float)(v * (1.0 / 255.0));
            lut[c][v] = (x - m) / s;
        }
    }
    const size_t plane = (size_t)size * size;
    for (size_t i = 0; i < plane; i++) {
        out_chw[i] = lut[0][rgb[3 * i + 0]];
        out_chw[plane + i] = lut[1][rgb[3 * i + 1]];
        out_chw[2 * plane + i] = lut[2][rgb[3 * i + 2]];
    }
}

tlv_status tlv__image_preprocess(const tlv_image *img, const tlv_image_params *p,
                                 const tlv_allocator *a, float *out_chw, tlv_err *err)
{
    tlv_status st = check_params(img, p, err);
    if (st != TLV_OK) return st;
    if (!out_chw) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image preprocess: NULL output");
    uint8_t *u8 = tlv__malloc(a, (size_t)p->size * p->size * 3);
    if (!u8)
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "image preprocess: out of memory for %dx%d pixels",
                            p->size, p->size);
    st = tlv__image_preprocess_u8(img, p, a, u8, err);
    if (st == TLV_OK) tlv__image_normalize(u8, p->size, p->mean, p->std, out_chw);
    tlv__free(a, u8);
    return st;
}
