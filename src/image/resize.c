/* resize.c: Pillow's BICUBIC resize for RGB8, integer for integer (MODELS.md 3.1 step 3).
 *
 * Pillow 9.4 src/libImaging/Resample.c, ImagingResampleInner, as read from its source:
 *   1. For each axis: scale = in/out; filterscale = max(scale, 1) (antialiasing: when shrinking,
 *      the filter is stretched by the shrink factor); support = 2 * filterscale;
 *      ksize = ceil(support)*2 + 1 coefficients at most per output sample.
 *   2. Output sample i: center = (i + 0.5)*scale; taps xmin = (int)(center - support + 0.5)
 *      clamped to >= 0, xmax = (int)(center + support + 0.5) clamped to <= in; weight of tap x =
 *      bicubic((x - center + 0.5) / filterscale) with a = -0.5, divided by the taps' sum (double).
 *   3. Weights become int32 with PRECISION_BITS = 32 - 8 - 2 = 22: (int)(w*2^22 +- 0.5) (round
 *      half away from zero, by truncation).
 *   4. Horizontal pass first (only over the source rows the vertical pass will read), then the
 *      vertical pass. Each pass: acc = 2^21 + sum(pixel * k) in int32, result = clamp(acc >> 22,
 *      0, 255): rounding and clipping to uint8 after EACH pass.
 *   5. A pass is skipped when its output size equals its input size (the box is the whole image).
 * The float filter arithmetic is written in the same order as Pillow's; clang could fuse a*b+c
 * into an FMA and change the last bit, so contraction is switched off here (GCC does not contract
 * in ISO C mode, -std=c11). */
#include "image/image.h"

#include <math.h>
#include <string.h>

#include "core/checked.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define PRECISION_BITS (32 - 8 - 2)

static double bicubic(double x)
{
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* Coefficients of one axis, for the output samples [first, first + n) of an in -> out resize. */
typedef struct axis {
    int ksize;
    int *start;      /* [n] first input sample */
    int *count;      /* [n] number of taps */
    int32_t *k;      /* [n][ksize] fixed-point weights */
    double *kd;      /* [ksize] scratch */
} axis;

static void axis_free(const tlv_allocator *a, axis *ax)
{
    tlv__free(a, ax->start);
    tlv__free(a, ax->count);
    tlv__free(a, ax->k);
    tlv__free(a, ax->kd);
    memset(ax, 0, sizeof *ax);
}

static tlv_status axis_init(axis *ax, int in, int out, int first, int n, const tlv_allocator *a,
                            tlv_err *err)
{
    memset(ax, 0, sizeof *ax);
    /* Pillow: box (0, 0, in, out) in float, scale = (double)(in1 - in0) / outSize */
    double scale = (double)(float)in / out;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    double kmax = ceil(support) * 2 + 1;
    if (kmax > (double)in + 5) kmax = (double)in + 5;   /* taps are clamped to the input anyway */
    ax->ksize = (int)kmax;
    uint64_t nk;
    if (!tlv__mul_u64((uint64_t)n, (uint64_t)ax->ksize, &nk) || nk > SIZE_MAX / sizeof(int32_t))
        return tlv__err_set(err, TLV_ERR_LIMIT, "resize %d -> %d: %d x %d coefficients overflow",
                            in, out, n, ax->ksize);
    ax->start = tlv__malloc(a, (size_t)n * sizeof(int));
    ax->count = tlv__malloc(a, (size_t)n * sizeof(int));
    ax->k = tlv__malloc(a, (size_t)nk * sizeof(int32_t));
    ax->kd = tlv__malloc(a, (size_t)ax->ksize * sizeof(double));
    if (!ax->start || !ax->count || !ax->k || !ax->kd) {
        axis_free(a, ax);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "resize %d -> %d: out of memory for coefficients",
                            in, out);
    }
    double ss = 1.0 / filterscale;
    for (int i = 0; i < n; i++) {
        int xx = first + i;
        double center = (xx + 0.5) * scale;
        double ww = 0.0;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in) xmax = in;
        xmax -= xmin;
        if (xmax > ax->ksize) xmax = ax->ksize;   /* cannot happen; keeps the writes in bounds */
        for (int x = 0; x < xmax; x++) {
            double w = bicubic((x + xmin - center + 0.5) * ss);
            ax->kd[x] = w;
            ww += w;
        }
        int32_t *k = ax->k + (size_t)i * ax->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? ax->kd[x] / ww : ax->kd[x];
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                         : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        ax->start[i] = xmin;
        ax->count[i] = xmax;
    }
    return TLV_OK;
}

static inline uint8_t clip8(int32_t acc)
{
    if (acc < 0) return 0;   /* floor(acc / 2^22) < 0 */
    acc >>= PRECISION_BITS;
    return acc > 255 ? 255 : (uint8_t)acc;
}

/* One output row of the horizontal pass: dst[i] for i < n from the source row `row`. */
static void resample_row(const axis *ax, int n, const uint8_t *row, uint8_t *dst)
{
    for (int i = 0; i < n; i++) {
        const int32_t *k = ax->k + (size_t)i * ax->ksize;
        const uint8_t *p = row + (size_t)ax->start[i] * 3;
        int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
        for (int x = 0; x < ax->count[i]; x++, p += 3) {
            s0 += p[0] * k[x];
            s1 += p[1] * k[x];
            s2 += p[2] * k[x];
        }
        dst[3 * i + 0] = clip8(s0);
        dst[3 * i + 1] = clip8(s1);
        dst[3 * i + 2] = clip8(s2);
    }
}

/* Canvas row cy: the image row itself when the canvas is the image, otherwise `scratch` (already
 * filled with the fill colour, canvas_w*3 bytes) with the image row copied in, or `fill_row`. */
static const uint8_t *canvas_row(const tlv_image_canvas *c, int cy, uint8_t *scratch,
                                 const uint8_t *fill_row)
{
    const tlv_image *img = c->img;
    int iy = cy - c->off_y;
    if (iy < 0 || iy >= img->h) return fill_row;
    const uint8_t *src = img->rgb + (size_t)iy * img->stride;
    if (c->off_x == 0 && img->w == c->canvas_w) return src;
    memcpy(scratch + (size_t)c->off_x * 3, src, (size_t)img->w * 3);
    return scratch;
}

static tlv_status check_args(const tlv_image_canvas *c, int out_w, int out_h, int win_x, int win_y,
                             int win_w, int win_h, const uint8_t *dst, size_t dst_stride, tlv_err *err)
{
    if (!c || !c->img || !c->img->rgb || !dst)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "resize: NULL image or output");
    const tlv_image *im = c->img;
    if (im->w <= 0 || im->h <= 0 || im->stride < (size_t)im->w * 3)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "resize: image %dx%d stride %zu, expected a "
                            "non-zero size and stride >= 3*width", im->w, im->h, im->stride);
    if (c->off_x < 0 || c->off_y < 0 || c->canvas_w - c->off_x < im->w || c->canvas_h - c->off_y < im->h)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "resize: image %dx%d at (%d,%d) does not fit "
                            "the %dx%d canvas", im->w, im->h, c->off_x, c->off_y, c->canvas_w, c->canvas_h);
    if (out_w <= 0 || out_h <= 0 || win_w <= 0 || win_h <= 0 || win_x < 0 || win_y < 0 ||
        out_w - win_x < win_w || out_h - win_y < win_h)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "resize: window %dx%d at (%d,%d) of a %dx%d "
                            "output, expected non-empty and inside", win_w, win_h, win_x, win_y, out_w, out_h);
    if (dst_stride < (size_t)win_w * 3)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "resize: output stride %zu < 3*%d", dst_stride, win_w);
    return TLV_OK;
}

tlv_status tlv__image_resample(const tlv_image_canvas *c, int out_w, int out_h, int win_x,
                               int win_y, int win_w, int win_h, uint8_t *dst, size_t dst_stride,
                               const tlv_allocator *a, tlv_err *err)
{
    tlv_status st = check_args(c, out_w, out_h, win_x, win_y, win_w, win_h, dst, dst_stride, err);
    if (st != TLV_OK) return st;
    const int cw = c->canvas_w, ch = c->canvas_h;
    const int need_h = out_w != cw, need_v = out_h != ch;   /* Pillow's pass skipping */
    axis ax_h = {0}, ax_v = {0};
    uint8_t *temp = NULL, *scratch = NULL, *fill_row = NULL;
    int32_t *acc = NULL;

    /* Rows of the canvas the vertical pass reads, and where each window row's taps start. */
    int row0 = win_y, row1 = win_y + win_h;
    if (need_v) {
        st = axis_init(&ax_v, ch, out_h, win_y, win_h, a, err);
        if (st != TLV_OK) goto fail;
        row0 = ax_v.start[0];
        row1 = ax_v.start[win_h - 1] + ax_v.count[win_h - 1];
        for (int i = 1; i < win_h; i++)
            if (ax_v.start[i] + ax_v.count[i] > row1) row1 = ax_v.start[i] + ax_v.count[i];
    }
    if (need_h) {
        st = axis_init(&ax_h, cw, out_w, win_x, win_w, a, err);
        if (st != TLV_OK) goto fail;
    }

    size_t row_bytes = (size_t)win_w * 3, canvas_bytes = (size_t)cw * 3;
    uint64_t temp_bytes;
    if (!tlv__mul_u64(row_bytes, (uint64_t)(row1 - row0), &temp_bytes) || temp_bytes > SIZE_MAX) {
        st = tlv__err_set(err, TLV_ERR_LIMIT, "resize: %zu x %d temporary bytes overflow", row_bytes, row1 - row0);
        goto fail;
    }
    temp = tlv__malloc(a, (size_t)temp_bytes);
    scratch = tlv__malloc(a, canvas_bytes);
    fill_row = tlv__malloc(a, canvas_bytes);
    acc = tlv__malloc(a, row_bytes * sizeof(int32_t));
    if (!temp || !scratch || !fill_row || !acc) {
        st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "resize %dx%d -> %dx%d: out of memory", cw, ch, out_w, out_h);
        goto fail;
    }
    for (size_t i = 0; i < canvas_bytes; i += 3) memcpy(fill_row + i, c->fill, 3);
    memcpy(scratch, fill_row, canvas_bytes);

    /* Horizontal pass (or the window's columns as they are), rows [row0, row1). Rows of pure
     * fill colour all give the same result: compute the first, copy it after. */
    const uint8_t *fill_done = NULL;
    for (int cy = row0; cy < row1; cy++) {
        const uint8_t *src = canvas_row(c, cy, scratch, fill_row);
        uint8_t *t = temp + (size_t)(cy - row0) * row_bytes;
        if (src == fill_row && fill_done) {
            memcpy(t, fill_done, row_bytes);
        } else if (need_h) {
            resample_row(&ax_h, win_w, src, t);
        } else {
            memcpy(t, src + (size_t)win_x * 3, row_bytes);
        }
        if (src == fill_row && !fill_done) fill_done = t;
    }

    /* Vertical pass (or the rows as they are), row by row into int32 sums so that the source
     * rows are read in order. */
    for (int j = 0; j < win_h; j++) {
        uint8_t *d = dst + (size_t)j * dst_stride;
        if (!need_v) {
            memcpy(d, temp + (size_t)(win_y + j - row0) * row_bytes, row_bytes);
            continue;
        }
        const int32_t *k = ax_v.k + (size_t)j * ax_v.ksize;
        const uint8_t *p = temp + (size_t)(ax_v.start[j] - row0) * row_bytes;
        for (size_t xb = 0; xb < row_bytes; xb++) acc[xb] = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < ax_v.count[j]; y++, p += row_bytes) {
            int32_t ky = k[y];
            for (size_t xb = 0; xb < row_bytes; xb++) acc[xb] += p[xb] * ky;
        }
        for (size_t xb = 0; xb < row_bytes; xb++) d[xb] = clip8(acc[xb]);
    }
    st = TLV_OK;
fail:
    axis_free(a, &ax_h);
    axis_free(a, &ax_v);
    tlv__free(a, temp);
    tlv__free(a, scratch);
    tlv__free(a, fill_row);
    tlv__free(a, acc);
    return st;
}
