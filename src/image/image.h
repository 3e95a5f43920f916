/* image.h: image decoding and preprocessing, bit-exact with the reference (MODELS.md 3.1).
 *
 * The reference loads with Pillow, `.convert("RGB")`, optionally pads to a square, resizes with
 * Pillow's BICUBIC on uint8, then rescales and normalizes in float32. We do the same steps:
 *
 *   file / memory --decode.c--> tlv_image (RGB8)          stb_image; Pillow's convert("RGB") rules
 *   tlv_image --preprocess.c--> S x S RGB8                 pad / shortest-edge + centre crop geometry
 *                  (resize.c)                              Pillow's two-pass bicubic, same integers
 *   S x S RGB8 --preprocess.c--> float32 [3][S][S]         x/255 in double -> float, (x-mean)/std in float
 *
 * Pixel layout of tlv_image:
 *   OFFSET                     SIZE   DESCRIPTION
 *   y*stride + 3*x + 0         1      R of pixel (x, y), x < w, y < h, origin top-left
 *   y*stride + 3*x + 1         1      G
 *   y*stride + 3*x + 2         1      B
 *   stride >= 3*w; bytes between 3*w and stride are never read.
 * Output of preprocessing: float32 CHW, index (c*S + y)*S + x, channels R, G, B (the fixtures'
 * pixel_values without the batch dimension).
 *
 * Conversions to RGB, as Pillow 9.4's convert("RGB") does (docs/IMAGES.md has the table):
 *   gray L -> (v,v,v); gray+alpha, RGBA -> alpha DROPPED, not composited; palette -> palette
 *   colour (palette alpha dropped); 16-bit RGB(A) and gray+alpha PNG -> high byte; 16-bit gray
 *   PNG -> min(v, 255) (Pillow opens it as mode "I" and clips, so most such images turn white).
 * The size is read from the header and checked (zero, over max_pixels) before anything is
 * decoded. EXIF orientation is ignored, as Pillow's Image.open and the reference do.
 *
 * Geometry (params.aspect x params.resize), S = params.size, R = params.resize_to (0: R = S):
 *   aspect PAD:    canvas of side max(W,H) filled with int(mean[c]*255), the image pasted at
 *                  ((side-W)//2, (side-H)//2)   (TinyLLaVA's expand2square). SQUARE: no canvas.
 *   resize EXACT:  to R x R, aspect not kept (SigLIP processors: R = S).
 *   resize SHORTEST_EDGE: short edge -> R, long edge -> int(R*long/short) (transformers 4.40.1
 *                  get_resize_output_image_size, default_to_square=False; CLIP processors).
 *   then centre crop S x S at top=(h-S)//2, left=(w-S)//2 (transformers center_crop; a no-op when
 *                  the resized image is S x S). Only the window is computed: each output pixel
 *                  depends only on its own coefficients, so the result is identical to resizing
 *                  everything and cropping. R < S (crop larger than the image) is unsupported.
 * Checkpoint config -> params: tlv__image_params_from_config() below.
 * Memory: pixels of a loaded tlv_image come from the allocator given to the load call and are
 * freed with tlv__image_free(); a tlv_image the caller fills itself is a borrowed view and is
 * never freed here. Scratch memory of the resize comes from the allocator and is freed before
 * return. stb_image's own scratch uses the C library (malloc/free). */
#ifndef TLV_IMAGE_IMAGE_H
#define TLV_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"

/* Default limit on decoded pixels (width*height): 64 Mpx = 192 MiB of RGB8. */
#define TLV_IMAGE_DEFAULT_MAX_PIXELS (64ull * 1024 * 1024)

typedef struct tlv_image {
    int w, h;        /* pixels, both > 0 */
    size_t stride;   /* bytes from one row to the next, >= 3*w */
    uint8_t *rgb;    /* RGB8 rows (layout above); owned by the image only after a load call */
} tlv_image;

typedef enum tlv_image_aspect {
    TLV_IMAGE_ASPECT_SQUARE = 0, /* no padding: the resize decides (stretch or crop) */
    TLV_IMAGE_ASPECT_PAD = 1     /* expand2square with the mean colour first */
} tlv_image_aspect;

typedef enum tlv_image_resize {
    TLV_IMAGE_RESIZE_EXACT = 0,          /* to R x R (SigLIP) */
    TLV_IMAGE_RESIZE_SHORTEST_EDGE = 1   /* short edge to R, long edge in proportion (CLIP) */
} tlv_image_resize;

typedef struct tlv_image_params {
    int size;                 /* S: output is S x S (the vision tower's image_size) */
    int resize_to;            /* R: EXACT side or SHORTEST_EDGE length; 0 means S */
    tlv_image_aspect aspect;
    tlv_image_resize resize;
    double mean[3], std[3];   /* image_mean, image_std (the pad colour is int(mean*255) in double;
                                 normalize uses them as float32, as transformers does) */
} tlv_image_params;

struct tlv_model_config;

/* Fills *p from a parsed checkpoint config (formats/config.h): aspect from image_aspect_ratio,
 * resize/crop/mean/std from the preprocessor config (or the tower family's defaults), S from the
 * vision tower's image_size. TLV_ERR_UNSUPPORTED for what the reference does that we do not:
 * a resample filter other than bicubic (3), rescale_factor other than 1/255, no resize, a
 * non-square resize or crop, a crop larger than the resized image. */
tlv_status tlv__image_params_from_config(const struct tlv_model_config *cfg, tlv_image_params *p,
                                         tlv_err *err);

/* ---- decode.c ---- */

/* Decodes a JPEG, PNG, BMP, GIF (first frame) or TGA file to RGB8. `name` (may be NULL) is used
 * in error messages only. max_pixels 0 means TLV_IMAGE_DEFAULT_MAX_PIXELS. On success *out owns
 * its pixels (free with tlv__image_free(a, out)); on failure *out is zeroed and err says what:
 *   TLV_ERR_INVALID_ARG  NULL arguments
 *   TLV_ERR_IO           the file cannot be opened or read
 *   TLV_ERR_FORMAT       empty, not an image we know, truncated or corrupt, zero width/height
 *   TLV_ERR_LIMIT        width*height over max_pixels (checked from the header, nothing decoded)
 *   TLV_ERR_NO_MEMORY    allocation failed */
tlv_status tlv__image_load_file(const char *path, uint64_t max_pixels, const tlv_allocator *a,
                                tlv_image *out, tlv_err *err);
tlv_status tlv__image_load_memory(const void *data, size_t n_bytes, const char *name,
                                  uint64_t max_pixels, const tlv_allocator *a, tlv_image *out,
                                  tlv_err *err);

/* Copies w x h RGB8 pixels (rows `stride` bytes apart) into an image owned by `a`; for apps that
 * decode themselves. A borrowed view ({w, h, stride, pointer}) works as well when the pixels
 * outlive the preprocess call; this copy is for when they do not. */
tlv_status tlv__image_from_rgb8(const uint8_t *rgb, int w, int h, size_t stride,
                                const tlv_allocator *a, tlv_image *out, tlv_err *err);

/* Frees the pixels of a loaded image and zeroes it. NULL or a zeroed image: does nothing. */
void tlv__image_free(const tlv_allocator *a, tlv_image *img);

/* ---- resize.c ---- */

/* What the resampler reads: `img` pasted at (off_x, off_y) on a canvas_w x canvas_h canvas filled
 * with `fill` (the pad mode), or, with offsets 0 and the canvas the image's size, the image. */
typedef struct tlv_image_canvas {
    const tlv_image *img;
    int canvas_w, canvas_h;
    int off_x, off_y;
    uint8_t fill[3];
} tlv_image_canvas;

/* Resizes the canvas to out_w x out_h exactly as Pillow 9.4's Image.resize(..., BICUBIC) does
 * for mode RGB (libImaging/Resample.c: antialiased bicubic a=-0.5, support scaled by the
 * downscale factor, 22-bit fixed-point coefficients, horizontal pass then vertical pass, uint8
 * rounding and clipping after each, a pass skipped when its size is unchanged), and writes the
 * window [win_x, win_x+win_w) x [win_y, win_y+win_h) of the result to dst (RGB8, rows dst_stride
 * bytes apart). The window must lie inside out_w x out_h. */
tlv_status tlv__image_resample(const tlv_image_canvas *src, int out_w, int out_h, int win_x,
                               int win_y, int win_w, int win_h, uint8_t *dst, size_t dst_stride,
                               const tlv_allocator *a, tlv_err *err);

/* ---- preprocess.c ---- */

/* Pads / resizes / crops `img` to p->size x p->size RGB8 (out_rgb: 3*S*S bytes, tightly packed):
 * the uint8 image the reference has just before rescaling. */
tlv_status tlv__image_preprocess_u8(const tlv_image *img, const tlv_image_params *p,
                                    const tlv_allocator *a, uint8_t *out_rgb, tlv_err *err);

/* out_chw[(c*S + y)*S + x] = (float(rgb*(1/255.0)) - float(mean[c])) / float(std[c]), the
 * operations and roundings of transformers 4.40.1 (rescale in float64 then cast, normalize in
 * float32). rgb: S*S*3 bytes, tightly packed. */
void tlv__image_normalize(const uint8_t *rgb, int size, const double mean[3], const double std[3],
                          float *out_chw);

/* The engine's entry point: preprocess_u8 then normalize. out_chw: 3*S*S floats. */
tlv_status tlv__image_preprocess(const tlv_image *img, const tlv_image_params *p,
                                 const tlv_allocator *a, float *out_chw, tlv_err *err);

#endif
