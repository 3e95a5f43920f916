/* Image decoding and preprocessing against Pillow 9.4 + transformers 4.40.1 (the reference).
 * data/cases.txt, written by gen/gen_image_tests.py, lists what Pillow gives for each input;
 * see that script for the line formats. Then bad inputs, out-of-memory, and the 4 end-to-end
 * fixtures' pixel_values.
 *
 *   test_image                 run everything
 *   test_image --bench FILE    time load + preprocess of FILE to 384x384 (SigLIP, square) */
#include "harness.h"
#include "hub/sha256.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "core/alloc.h"
#include "formats/config.h"
#include "image/image.h"

#define DATA TLV_TEST_DATA "/image/data/"

static const double MEANS[3][3] = {{0.5, 0.5, 0.5}, {0.48145466, 0.4578275, 0.40821073}, {0.999, 0.0039, 0.25098}};
static const double STDS[3][3] = {{0.5, 0.5, 0.5}, {0.26862954, 0.26130258, 0.27577711}, {0.1, 2.0, 0.3}};
static float g_norm[3][3][256];   /* data/norm.f32: numpy's normalize of every level */

static int load(const char *rel, tlv_image *img)
{
    char path[512];
    snprintf(path, sizeof path, DATA "%s", rel);
    tlv_err e;
    tlv_status st = tlv__image_load_file(path, 0, NULL, img, &e);
    if (st != TLV_OK) fprintf(stderr, "load %s: %s\n", rel, e.msg);
    CHECK_EQ_INT(st, TLV_OK);
    return st == TLV_OK;
}

static void check_digest(const uint8_t *buf, size_t n, const char *want, const char *what)
{
    char hex[65];
    tlv_sha256 h;
    tlv__sha256_init(&h);
    tlv__sha256_update(&h, buf, n);
    tlv__sha256_final_hex(&h, hex);
    tlv_test_checks++;
    if (strcmp(hex, want)) {
        tlv_test_failures++;
        fprintf(stderr, "%s: SHA-256 %s, Pillow %s\n", what, hex, want);
    }
}

static tlv_image_params params(const char *aspect, const char *resize, int S, int ms)
{
    tlv_image_params p = { .size = S, .resize_to = 0,
                           .aspect = strcmp(aspect, "pad") ? TLV_IMAGE_ASPECT_SQUARE : TLV_IMAGE_ASPECT_PAD,
                           .resize = strcmp(resize, "crop") ? TLV_IMAGE_RESIZE_EXACT
                                                            : TLV_IMAGE_RESIZE_SHORTEST_EDGE };
    memcpy(p.mean, MEANS[ms], sizeof p.mean);
    memcpy(p.std, STDS[ms], sizeof p.std);
    return p;
}

static void case_decode(const char *file, int w, int h, const char *digest)
{
    tlv_image img;
    if (!load(file, &img)) return;
    CHECK_EQ_INT(img.w, w);
    CHECK_EQ_INT(img.h, h);
    if (img.w == w && img.h == h) check_digest(img.rgb, (size_t)w * h * 3, digest, file);
    tlv__image_free(NULL, &img);
}

/* JPEG: stb_image and libjpeg-turbo differ by a few levels; report and bound the difference. */
static void case_jpeg(const char *file, int w, int h, const char *pillow_rgb)
{
    tlv_image img;
    if (!load(file, &img)) return;
    char path[512];
    snprintf(path, sizeof path, DATA "%s", pillow_rgb);
    size_t n = 0;
    uint8_t *ref = (uint8_t *)tlv_test_read_file(path, &n);
    CHECK(ref && n == (size_t)w * h * 3);
    CHECK_EQ_INT(img.w, w);
    CHECK_EQ_INT(img.h, h);
    if (ref && n == (size_t)w * h * 3 && img.w == w && img.h == h) {
        int maxd = 0;
        size_t ndiff = 0;
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            int d = abs((int)img.rgb[i] - (int)ref[i]);
            if (d > maxd) maxd = d;
            ndiff += d != 0;
            sum += d;
        }
        printf("jpeg %-22s stb vs Pillow: max %d levels, %.1f%% of values differ, mean %.3f\n",
               file, maxd, 100.0 * ndiff / n, sum / n);
        CHECK(maxd <= 8);
        CHECK(sum / n < 1.0);
    }
    free(ref);
    tlv__image_free(NULL, &img);
}

static void case_resize(const char *file, int w, int h, const char *digest)
{
    tlv_image img;
    if (!load(file, &img)) return;
    uint8_t *out = malloc((size_t)w * h * 3);
    tlv_image_canvas c = { .img = &img, .canvas_w = img.w, .canvas_h = img.h };
    tlv_err e;
    tlv_status st = tlv__image_resample(&c, w, h, 0, 0, w, h, out, (size_t)w * 3, NULL, &e);
    CHECK_EQ_INT(st, TLV_OK);
    char what[600];
    snprintf(what, sizeof what, "resize %s %dx%d -> %dx%d", file, img.w, img.h, w, h);
    if (st == TLV_OK) check_digest(out, (size_t)w * h * 3, digest, what);
    free(out);
    tlv__image_free(NULL, &img);
}

/* Full preprocessing: the uint8 image must be Pillow's bit for bit, the floats numpy's. */
static void case_prep(const char *file, const char *aspect, const char *resize, int S, int R, int ms,
                      const char *digest)
{
    tlv_image img;
    if (!load(file, &img)) return;
    tlv_image_params p = params(aspect, resize, S, ms);
    p.resize_to = R;
    size_t n = (size_t)S * S;
    uint8_t *u8 = malloc(n * 3);
    float *f = malloc(n * 3 * sizeof(float));
    tlv_err e;
    CHECK_EQ_INT(tlv__image_preprocess_u8(&img, &p, NULL, u8, &e), TLV_OK);
    CHECK_EQ_INT(tlv__image_preprocess(&img, &p, NULL, f, &e), TLV_OK);
    char what[600];
    snprintf(what, sizeof what, "prep %s %s %s S=%d R=%d meanset %d", file, aspect, resize, S, R, ms);
    check_digest(u8, n * 3, digest, what);
    double maxd = 0;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)f[c * n + i] - (double)g_norm[ms][c][u8[3 * i + c]]);
            if (d > maxd) maxd = d;
        }
    CHECK_NEAR(maxd, 0, 1e-6);
    free(u8);
    free(f);
    tlv__image_free(NULL, &img);
}

/* The engine's path: the checkpoint's config.json + preprocessor_config.json -> params ->
 * preprocess; the params must also be the ones the case line states. */
static void case_fixture(const char *file, const char *aspect, const char *resize, int S, int ms,
                         const char *pv_file, double tol)
{
    tlv_image img;
    if (!load(file, &img)) return;
    char path[512];
    snprintf(path, sizeof path, DATA "%s", pv_file);
    size_t nb = 0, n = (size_t)3 * S * S;
    float *ref = (float *)tlv_test_read_file(path, &nb);
    CHECK(ref && nb == n * sizeof(float));
    float *f = malloc(n * sizeof(float));
    tlv_image_params want = params(aspect, resize, S, ms), p;
    static tlv_model_config cfg;
    tlv_err e;
    snprintf(path, sizeof path, DATA "%s", pv_file);
    *strrchr(path, '.') = 0;   /* fixtures/<case>.f32 -> fixtures/<case>/ */
    tlv_status st = tlv__config_load(path, &cfg, &e);
    if (st != TLV_OK) fprintf(stderr, "config %s: %s\n", path, e.msg);
    CHECK_EQ_INT(st, TLV_OK);
    st = st == TLV_OK ? tlv__image_params_from_config(&cfg, &p, &e) : st;
    if (st != TLV_OK) p = want;
    CHECK_EQ_INT(st, TLV_OK);
    CHECK(p.size == S && (p.resize_to == S || p.resize_to == 0) && p.aspect == want.aspect &&
          p.resize == want.resize);
    for (int c = 0; c < 3; c++) {
        CHECK_NEAR(p.mean[c], want.mean[c], 1e-7);   /* formats keeps float32 */
        CHECK_NEAR(p.std[c], want.std[c], 1e-7);
        CHECK_EQ_INT((int)(p.mean[c] * 255), (int)(want.mean[c] * 255));
    }
    CHECK_EQ_INT(tlv__image_preprocess(&img, &p, NULL, f, &e), TLV_OK);
    if (ref && nb == n * sizeof(float)) {
        double maxd = 0;
        size_t over = 0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)f[i] - (double)ref[i]);
            if (d > maxd) maxd = d;
            over += d > 1e-5;
        }
        printf("fixture %-40s pixel_values max |diff| %.3g (%zu of %zu values over 1e-5)\n", file,
               maxd, over, n);
        CHECK_NEAR(maxd, 0, tol);
    }
    free(ref);
    free(f);
    tlv__image_free(NULL, &img);
}

static void run_cases(void)
{
    size_t n = 0;
    char *text = tlv_test_read_file(DATA "cases.txt", &n);
    CHECK(text != NULL);
    if (!text) return;
    int counts[6] = {0};
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char kind[16], file[256], a[64], b[64], c[256];
        int w, h, S, R, ms;
        double tol;
        if (sscanf(line, "decode %255s %d %d %64s", file, &w, &h, c) == 4) {
            case_decode(file, w, h, c);
            counts[0]++;
        } else if (sscanf(line, "jpeg %255s %d %d %255s", file, &w, &h, c) == 4) {
            case_jpeg(file, w, h, c);
            counts[1]++;
        } else if (sscanf(line, "resize %255s %d %d %64s", file, &w, &h, c) == 4) {
            case_resize(file, w, h, c);
            counts[2]++;
        } else if (sscanf(line, "prep %255s %63s %63s %d %d %d %64s", file, a, b, &S, &R, &ms, c) == 7) {
            case_prep(file, a, b, S, R, ms, c);
            counts[3]++;
        } else if (sscanf(line, "fixture %255s %63s %63s %d %d %255s %lf", file, a, b, &S, &ms, c, &tol) == 7) {
            case_fixture(file, a, b, S, ms, c, tol);
            counts[4]++;
        } else {
            sscanf(line, "%15s", kind);
            fprintf(stderr, "cases.txt: cannot parse \"%s\"\n", line);
            CHECK(0);
        }
    }
    printf("cases: %d decode, %d jpeg, %d resize, %d prep, %d fixture\n", counts[0], counts[1],
           counts[2], counts[3], counts[4]);
    CHECK(counts[0] >= 15 && counts[2] >= 30 && counts[3] >= 200 && counts[4] == 4);
    free(text);
}

static void test_normalize_table(void)
{
    size_t n = 0;
    float *t = (float *)tlv_test_read_file(DATA "norm.f32", &n);
    CHECK(t && n == sizeof g_norm);
    if (!t || n != sizeof g_norm) { free(t); return; }
    memcpy(g_norm, t, sizeof g_norm);
    free(t);
    /* every level through tlv__image_normalize: a 16x16 image holding 0..255 in each channel */
    uint8_t rgb[256 * 3];
    for (int v = 0; v < 256; v++) rgb[3 * v] = rgb[3 * v + 1] = rgb[3 * v + 2] = (uint8_t)v;
    float out[3 * 256];
    for (int ms = 0; ms < 3; ms++) {
        tlv__image_normalize(rgb, 16, MEANS[ms], STDS[ms], out);
        int exact = 1;
        for (int c = 0; c < 3; c++)
            for (int v = 0; v < 256; v++) {
                CHECK_NEAR(out[c * 256 + v], g_norm[ms][c][v], 1e-6);
                exact &= out[c * 256 + v] == g_norm[ms][c][v];
            }
        CHECK(exact);   /* same float32 operations as numpy: identical, not just close */
    }
}

/* ---- bad input ---- */

static void expect_fail(const void *data, size_t n, const char *name, uint64_t max_px, tlv_status want,
                        const char *needle1, const char *needle2)
{
    tlv_image img;
    tlv_err e;
    tlv__err_clear(&e);
    tlv_status st = tlv__image_load_memory(data, n, name, max_px, NULL, &img, &e);
    CHECK_EQ_INT(st, want);
    CHECK_CONTAINS(e.msg, needle1);
    if (needle2) CHECK_CONTAINS(e.msg, needle2);
    CHECK(img.rgb == NULL && img.w == 0 && img.h == 0);
    if (st == TLV_OK) tlv__image_free(NULL, &img);
    printf("  %-22s -> %s\n", name, e.msg);
}

static void test_bad_input(void)
{
    size_t npng = 0, njpg = 0;
    uint8_t *png = (uint8_t *)tlv_test_read_file(DATA "in/rgb_173x91.png", &npng);
    uint8_t *jpg = (uint8_t *)tlv_test_read_file(DATA "in/rgb420_96x64.jpg", &njpg);
    CHECK(png && jpg);
    if (!png || !jpg) { free(png); free(jpg); return; }
    printf("bad input:\n");

    /* truncated: half of the PNG (IDAT cut), and a PNG cut inside its header */
    expect_fail(png, npng / 2, "half.png", 0, TLV_ERR_FORMAT, "half.png", "PNG");
    expect_fail(png, 20, "header20.png", 0, TLV_ERR_FORMAT, "header20.png", "PNG");
    /* truncated JPEG: stb would pad with zeros; Pillow refuses; so do we */
    expect_fail(jpg, njpg * 2 / 3, "cut.jpg", 0, TLV_ERR_FORMAT, "cut.jpg", "truncated JPEG");
    expect_fail(jpg, 200, "cut200.jpg", 0, TLV_ERR_FORMAT, "cut200.jpg", "JPEG");

    /* truncated BMP, TGA, GIF: stb would read zeros; Pillow refuses; so do we */
    static const char *const others[] = {"rgb_61x39.bmp", "pal_61x39.bmp", "rgb_61x39.tga", "pal_61x39.gif", "palt_61x39.gif"};
    for (size_t k = 0; k < sizeof others / sizeof others[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, DATA "in/%s", others[k]);
        size_t nf = 0;
        uint8_t *buf = (uint8_t *)tlv_test_read_file(path, &nf);
        CHECK(buf != NULL);
        if (!buf) continue;
        expect_fail(buf, nf - 40, others[k], 0, TLV_ERR_FORMAT, others[k], "truncated");
        tlv_image ok;
        tlv_err e2;
        CHECK_EQ_INT(tlv__image_load_memory(buf, nf, others[k], 0, NULL, &ok, &e2), TLV_OK);
        tlv__image_free(NULL, &ok);
        free(buf);
    }

    /* zero width; zero height (stb does not check the CRC, Pillow would reject it too) */
    uint8_t *z = malloc(npng > njpg ? npng : njpg);
    memcpy(z, png, npng);
    z[16] = z[17] = z[18] = z[19] = 0;
    expect_fail(z, npng, "zero_w.png", 0, TLV_ERR_FORMAT, "zero_w.png", "0x91");
    memcpy(z, png, npng);
    z[20] = z[21] = z[22] = z[23] = 0;
    expect_fail(z, npng, "zero_h.png", 0, TLV_ERR_FORMAT, "zero_h.png", "173x0");

    /* over the pixel limit, from the header alone: a PNG claiming 40000x30000 (1.2 Gpx; only
     * the header is present, so nothing could be decoded anyway), and the real image under a
     * limit of 10000 pixels */
    memcpy(z, png, npng);
    z[16] = 0; z[17] = 0; z[18] = 0x9c; z[19] = 0x40;   /* 40000 */
    z[20] = 0; z[21] = 0; z[22] = 0x75; z[23] = 0x30;   /* 30000 */
    expect_fail(z, 33, "huge.png", 0, TLV_ERR_LIMIT, "huge.png: PNG image is 40000x30000 = 1200000000 pixels",
                "limit of 67108864 pixels");
    expect_fail(png, npng, "limit.png", 10000, TLV_ERR_LIMIT, "173x91 = 15743 pixels", "limit of 10000");
    /* JPEG with a 65535x65535 frame header (the first 200 bytes hold SOF0): LIMIT before EOI */
    memcpy(z, jpg, 200);
    for (size_t i = 2; i + 8 < 200; i++)
        if (z[i] == 0xFF && z[i + 1] == 0xC0) { z[i + 5] = z[i + 6] = z[i + 7] = z[i + 8] = 0xFF; break; }
    expect_fail(z, 200, "huge.jpg", 0, TLV_ERR_LIMIT, "huge.jpg: JPEG image is 65535x65535", "limit");
    /* a Huffman table with too many codes (stb_image 2.27 would write out of bounds) */
    memcpy(z, jpg, njpg);
    for (size_t i = 2; i + 21 < njpg; i++)
        if (z[i] == 0xFF && z[i + 1] == 0xC4) { memset(z + i + 5, 0x20, 16); break; }
    expect_fail(z, njpg, "bad_dht.jpg", 0, TLV_ERR_FORMAT, "bad_dht.jpg", "Huffman table");
    /* GIF header claiming 65535x65535 */
    static const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0};
    expect_fail(gif, sizeof gif, "huge.gif", 0, TLV_ERR_LIMIT, "GIF image is 65535x65535", "limit");
    free(z);

    /* random bytes, empty, unsupported formats */
    uint8_t rnd[4096];
    uint64_t seed = 12345;
    for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (uint8_t)tlv_test_rand_u32(&seed);
    expect_fail(rnd, sizeof rnd, "random.bin", 0, TLV_ERR_FORMAT, "random.bin", "not a JPEG, PNG");
    expect_fail(rnd, 0, "empty.png", 0, TLV_ERR_FORMAT, "empty.png", "empty");
    static const uint8_t webp[16] = {'R', 'I', 'F', 'F', 8, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', ' '};
    expect_fail(webp, sizeof webp, "x.webp", 0, TLV_ERR_UNSUPPORTED, "x.webp", "WebP");
    /* a PNG signature followed by garbage */
    uint8_t bad[64];
    memcpy(bad, png, 8);
    memcpy(bad + 8, rnd, sizeof bad - 8);
    expect_fail(bad, sizeof bad, "garbage.png", 0, TLV_ERR_FORMAT, "garbage.png", "PNG");
    /* corrupt PNG data: flip bytes in the middle of IDAT */
    uint8_t *c = malloc(npng);
    memcpy(c, png, npng);
    for (size_t i = npng / 3; i < npng / 3 + 64; i++) c[i] ^= 0x5A;
    expect_fail(c, npng, "flipped.png", 0, TLV_ERR_FORMAT, "flipped.png", "PNG");
    free(c);

    /* files: missing, empty */
    tlv_image img;
    tlv_err e;
    CHECK_EQ_INT(tlv__image_load_file(DATA "no/such/file.png", 0, NULL, &img, &e), TLV_ERR_NOT_FOUND);
    CHECK_CONTAINS(e.msg, "no/such/file.png");
    printf("  missing file -> %s\n", e.msg);
    CHECK_EQ_INT(tlv__image_load_file(DATA "bad/empty.png", 0, NULL, &img, &e), TLV_ERR_FORMAT);
    CHECK_CONTAINS(e.msg, "bad/empty.png: empty file");

    /* bad arguments */
    CHECK_EQ_INT(tlv__image_load_memory(NULL, 10, "x", 0, NULL, &img, &e), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv__image_load_file(NULL, 0, NULL, &img, &e), TLV_ERR_INVALID_ARG);
    uint8_t px[12] = {0};
    tlv_image view = { .w = 2, .h = 2, .stride = 6, .rgb = px };
    float out[3 * 4];
    tlv_image_params p = params("square", "exact", 2, 0);
    p.size = 0;
    CHECK_EQ_INT(tlv__image_preprocess(&view, &p, NULL, out, &e), TLV_ERR_INVALID_ARG);
    p = params("square", "exact", 2, 0);
    p.std[1] = 0;
    CHECK_EQ_INT(tlv__image_preprocess(&view, &p, NULL, out, &e), TLV_ERR_INVALID_ARG);
    p = params("square", "exact", 2, 0);
    p.aspect = (tlv_image_aspect)7;
    CHECK_EQ_INT(tlv__image_preprocess(&view, &p, NULL, out, &e), TLV_ERR_INVALID_ARG);
    p = params("square", "exact", 2, 0);
    view.stride = 5;
    CHECK_EQ_INT(tlv__image_preprocess(&view, &p, NULL, out, &e), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv__image_from_rgb8(px, 0, 2, 6, NULL, &img, &e), TLV_ERR_INVALID_ARG);
    tlv__image_free(NULL, NULL);
    free(png);
    free(jpg);
}

/* Raw pixels from the app, with a stride: same result as the decoded image. */
static void test_raw_input(void)
{
    tlv_image img;
    if (!load("in/rgb_173x91.png", &img)) return;
    size_t stride = (size_t)img.w * 3 + 13;
    uint8_t *padded = calloc((size_t)img.h, stride);
    for (int y = 0; y < img.h; y++) memcpy(padded + y * stride, img.rgb + (size_t)y * img.stride, (size_t)img.w * 3);
    tlv_image view = { .w = img.w, .h = img.h, .stride = stride, .rgb = padded }, copy;
    tlv_err e;
    CHECK_EQ_INT(tlv__image_from_rgb8(padded, img.w, img.h, stride, NULL, &copy, &e), TLV_OK);
    tlv_image_params p = params("pad", "crop", 76, 1);
    uint8_t a[76 * 76 * 3], b[76 * 76 * 3], c[76 * 76 * 3];
    CHECK_EQ_INT(tlv__image_preprocess_u8(&img, &p, NULL, a, &e), TLV_OK);
    CHECK_EQ_INT(tlv__image_preprocess_u8(&view, &p, NULL, b, &e), TLV_OK);
    CHECK_EQ_INT(tlv__image_preprocess_u8(&copy, &p, NULL, c, &e), TLV_OK);
    CHECK(!memcmp(a, b, sizeof a) && !memcmp(a, c, sizeof a));
    tlv__image_free(NULL, &copy);
    free(padded);
    tlv__image_free(NULL, &img);
}

/* Every allocation failing in turn: a clean NO_MEMORY, nothing leaked. */
static void test_out_of_memory(void)
{
    size_t n = 0;
    uint8_t *png = (uint8_t *)tlv_test_read_file(DATA "in/rgb_173x91.png", &n);
    if (!png) { CHECK(0); return; }
    int ok_at = -1;
    for (long k = 0; k < 40 && ok_at < 0; k++) {
        tlv_allocator a;
        tlv_test_failing_alloc st;
        tlv_test_failing_alloc_init(&a, &st, k);
        tlv_image img;
        tlv_err e;
        tlv_status s = tlv__image_load_memory(png, n, "oom.png", 0, &a, &img, &e);
        if (s == TLV_OK) {
            tlv_image_params p = params("pad", "crop", 40, 1);
            float out[3 * 40 * 40];
            s = tlv__image_preprocess(&img, &p, &a, out, &e);
            tlv__image_free(&a, &img);
            if (s == TLV_OK) ok_at = (int)k;
        }
        if (s != TLV_OK) CHECK_EQ_INT(s, TLV_ERR_NO_MEMORY);
        CHECK_EQ_INT(st.live, 0);
    }
    CHECK(ok_at > 0);
    printf("out of memory: clean failures at each of the first %d allocations\n", ok_at);
    free(png);
}

/* Config -> params: what the processors of the published towers say, and what we refuse. */
static void test_params_from_config(void)
{
    static tlv_model_config cfg;   /* large; zeroed */
    tlv_image_params p;
    tlv_err e;
    struct tlv_preprocess_config *pp = &cfg.preprocess;
    memset(&cfg, 0, sizeof cfg);
    cfg.vision.image_size = 384;
    cfg.aspect = TLV_ASPECT_SQUARE;
    *pp = (struct tlv_preprocess_config){ .mean = {0.5f, 0.5f, 0.5f}, .std = {0.5f, 0.5f, 0.5f},
        .rescale_factor = 1.0 / 255.0, .do_resize = 1, .do_rescale = 1, .do_normalize = 1,
        .resize = TLV_RESIZE_EXACT, .resize_h = 384, .resize_w = 384, .resample = 3 };
    CHECK_EQ_INT(tlv__image_params_from_config(&cfg, &p, &e), TLV_OK);
    CHECK(p.size == 384 && p.resize_to == 384 && p.resize == TLV_IMAGE_RESIZE_EXACT &&
          p.aspect == TLV_IMAGE_ASPECT_SQUARE && p.mean[0] == 0.5 && p.std[2] == 0.5);
    /* CLIP-336 with pad */
    cfg.vision.image_size = 336;
    cfg.aspect = TLV_ASPECT_PAD;
    pp->resize = TLV_RESIZE_SHORTEST_EDGE;
    pp->shortest_edge = 336;
    pp->do_center_crop = 1;
    pp->crop_h = pp->crop_w = 336;
    pp->mean[0] = 0.48145466f;
    CHECK_EQ_INT(tlv__image_params_from_config(&cfg, &p, &e), TLV_OK);
    CHECK(p.size == 336 && p.resize_to == 336 && p.resize == TLV_IMAGE_RESIZE_SHORTEST_EDGE &&
          p.aspect == TLV_IMAGE_ASPECT_PAD && (int)(p.mean[0] * 255) == 122);
    /* shortest edge 384, crop 336 */
    pp->shortest_edge = 384;
    CHECK_EQ_INT(tlv__image_params_from_config(&cfg, &p, &e), TLV_OK);
    CHECK(p.size == 336 && p.resize_to == 384);
    /* refused */
    pp->resample = 2;
    CHECK_EQ_INT(tlv__image_params_from_config(&cfg, &p, &e), TLV_ERR_UNSUPPORTED);
    CHECK_CONTAINS(e.msg, "resample 2");
    pp->resample = 3;
    pp->crop_w = 300;
    CHECK_EQ_INT(tlv__image_params_from_config(&cfg, &p, &e), TLV_ERR_UNSUPPORTED);
    CHECK_CONTAINS(e.msg, "300x336");
    pp->crop_w = 336;
    pp->shortest_edge = 300;
    CHECK_EQ_INT(tlv__image_params_from_config(&cfg, &p, &e), TLV_ERR_UNSUPPORTED);
    pp->shortest_edge = 336;
    pp->do_center_crop = 0;
    CHECK_EQ_INT(tlv__image_params_from_config(&cfg, &p, &e), TLV_ERR_UNSUPPORTED);
    pp->do_center_crop = 1;
    pp->rescale_factor = 1.0 / 256;
    CHECK_EQ_INT(tlv__image_params_from_config(&cfg, &p, &e), TLV_ERR_UNSUPPORTED);
    pp->rescale_factor = 1.0 / 255;
    pp->do_normalize = 0;
    CHECK_EQ_INT(tlv__image_params_from_config(&cfg, &p, &e), TLV_OK);
    CHECK(p.mean[1] == 0.0 && p.std[1] == 1.0);
    CHECK_EQ_INT(tlv__image_params_from_config(NULL, &p, &e), TLV_ERR_INVALID_ARG);
}

/* Process CPU time: on a shared machine it is closer to the uncontended figure than wall time. */
static double now_s(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

static double best_of(int reps, double (*fn)(void *), void *arg)
{
    double best = 1e9;
    for (int i = 0; i < reps; i++) {
        double t = fn(arg);
        if (t < best) best = t;
    }
    return best;
}

typedef struct bench_arg {
    const char *path;
    tlv_image img;
    tlv_image_params p;
    float *out;
} bench_arg;

/* clock() ticks coarsely: time 10 calls and divide */
static double time_load(void *v)
{
    bench_arg *b = v;
    double t0 = now_s();
    for (int i = 0; i < 10; i++) {
        tlv_image img;
        tlv_err e;
        if (tlv__image_load_file(b->path, 0, NULL, &img, &e) == TLV_OK) tlv__image_free(NULL, &img);
    }
    return (now_s() - t0) / 10;
}

static double time_prep(void *v)
{
    bench_arg *b = v;
    tlv_err e;
    double t0 = now_s();
    for (int i = 0; i < 10; i++) tlv__image_preprocess(&b->img, &b->p, NULL, b->out, &e);
    return (now_s() - t0) / 10;
}

static int bench(const char *path)
{
    bench_arg b = { .path = path, .out = malloc(sizeof(float) * 3 * 384 * 384) };
    tlv_err e;
    if (tlv__image_load_file(path, 0, NULL, &b.img, &e) != TLV_OK) {
        fprintf(stderr, "%s\n", e.msg);
        free(b.out);
        return 1;
    }
    printf("%s: %dx%d; CPU time per call, best of 5 x 10 calls:\n", path, b.img.w, b.img.h);
    double load = best_of(5, time_load, &b);
    b.p = params("square", "exact", 384, 0);
    double sq = best_of(5, time_prep, &b);
    b.p = params("pad", "exact", 384, 0);
    double pad = best_of(5, time_prep, &b);
    b.p = params("pad", "crop", 336, 1);
    double padclip = best_of(5, time_prep, &b);
    b.p = params("square", "crop", 336, 1);
    double crop = best_of(5, time_prep, &b);
    printf("  decode %.1f ms\n  preprocess to 384 square (SigLIP) %.1f ms; decode + preprocess %.1f ms\n"
           "  pad + 384 %.1f ms; pad + CLIP 336 %.1f ms; CLIP shortest edge 336 + crop %.1f ms\n",
           load * 1e3, sq * 1e3, (load + sq) * 1e3, pad * 1e3, padclip * 1e3, crop * 1e3);
    tlv__image_free(NULL, &b.img);
    free(b.out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--bench")) return bench(argv[2]);
    test_normalize_table();
    run_cases();
    test_bad_input();
    test_raw_input();
    test_out_of_memory();
    test_params_from_config();
    return tlv_test_finish("test_image");
}
