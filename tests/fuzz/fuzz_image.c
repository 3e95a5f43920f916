/* fuzz_image: image decoding (src/image/decode.c: JPEG, PNG, BMP, GIF, TGA through stb_image)
 * and the preprocessing after it (src/image/preprocess.c, resize.c): pad or not, exact resize
 * or shortest edge + centre crop, normalise.
 *
 * Input: the bytes of an image file. The preprocessing parameters come from the input's length
 * so every seed runs more than one path; the output is small (S <= 48) to keep runs fast, and
 * max_pixels keeps a forged header from asking for gigabytes. It is 2^18, not more: a valid
 * 37x24848 TGA (2^20 pixels) resized shortest-edge took 25 s under the sanitizers, a slow input
 * rather than a hang (the resize is Pillow's, whose cost grows with the resized long edge). */
#include "fuzz_common.h"

#include "image/image.h"

#define FUZZ_MAX_PIXELS (1u << 18)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    tlv_image img = {0};
    tlv_err err = {0};
    /* a copy of exactly n bytes: ASan then catches a read past the end */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) abort();
    if (n) memcpy(copy, data, n);
    tlv_status st = tlv__image_load_memory(copy, n, "fuzz.img", FUZZ_MAX_PIXELS, NULL, &img, &err);
    fuzz_report("decode", st, err.msg);
    free(copy);
    if (st != TLV_OK) {
        FUZZ_EXPECT(err.status == st && err.msg[0] && img.rgb == NULL);
        return 0;
    }
    FUZZ_EXPECT(img.w > 0 && img.h > 0 && (uint64_t)img.w * (uint64_t)img.h <= FUZZ_MAX_PIXELS);
    FUZZ_EXPECT(img.stride >= 3 * (size_t)img.w && img.rgb);

    tlv_image_params p = {0};
    p.size = 8 + (int)(n % 41);
    p.aspect = (n >> 1) & 1 ? TLV_IMAGE_ASPECT_PAD : TLV_IMAGE_ASPECT_SQUARE;
    p.resize = (n >> 2) & 1 ? TLV_IMAGE_RESIZE_SHORTEST_EDGE : TLV_IMAGE_RESIZE_EXACT;
    p.resize_to = p.resize == TLV_IMAGE_RESIZE_SHORTEST_EDGE ? p.size + (int)((n >> 3) % 8) : 0;
    for (int c = 0; c < 3; c++) {
        p.mean[c] = 0.5;
        p.std[c] = 0.5;
    }
    float *out = malloc(sizeof(float) * 3 * (size_t)p.size * (size_t)p.size);
    if (!out) abort();
    st = tlv__image_preprocess(&img, &p, NULL, out, &err);
    fuzz_report("preprocess", st, err.msg);
    FUZZ_EXPECT(st == TLV_OK || (err.status == st && err.msg[0]));
    if (st == TLV_OK)
        for (size_t i = 0; i < 3 * (size_t)p.size * (size_t)p.size; i++) FUZZ_EXPECT(out[i] >= -1.0f && out[i] <= 1.0f);
    free(out);
    tlv__image_free(NULL, &img);
    return 0;
}
