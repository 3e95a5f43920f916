/* decode.c: file and memory bytes -> RGB8, with stb_image, converting the way Pillow 9.4's
 * Image.open(...).convert("RGB") does (image.h has the rules, docs/IMAGES.md the evidence).
 *
 * Order of checks, so that a hostile file costs nothing before it is refused: empty -> format
 * sniff (named unsupported formats) -> width/height from the header, read here -> zero size /
 * pixel limit -> stbi_info (and the same checks on its answer, for TGA) -> truncation and the
 * JPEG Huffman-table guard -> decode.
 * stb_image keeps its failure reason thread-local (STBI_THREAD_LOCAL in 2.27): no shared state. */
#include "image/image.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"

/* stb_image is compiled here, static, with only the formats we promise. Its allocations are
 * plain malloc/realloc/free, so with a NULL allocator (= the C library, alloc.c) its pixel
 * buffer can be adopted as is instead of copied. */
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_ONLY_TGA
/* calloc: stb_image 2.27 reads decoder state it never wrote for some corrupt files (a JPEG scan
 * with an undefined Huffman table, which jpeg_scan below also refuses); zeroed memory keeps any
 * such path deterministic instead of depending on what the heap held before. */
#define STBI_MALLOC(sz) calloc(1, sz)
#define STBI_REALLOC(p, newsz) realloc(p, newsz)
#define STBI_FREE(p) free(p)
#if defined(__GNUC__)
/* Static stb leaves functions we never call; GCC reports those at the end of the file, so this
 * one stays off for the whole file. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static const char *name_or_default(const char *name)
{
    return name && name[0] ? name : "<memory>";
}

/* What the first bytes say, for messages; stb decides what is actually decodable. TGA has no
 * magic number, so anything unknown may still be a TGA. */
/* Where a JPEG's first marker after SOI starts, or 0 if b is not one. stb_image, like libjpeg,
 * takes fill bytes (0xFF) before SOI: FF FF D8 is a JPEG too (found by fuzz_image: such a file
 * went unrecognised here, so none of the JPEG checks below ran; tests/bad: fill_before_soi.jpg). */
static size_t jpeg_start(const uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i < n && b[i] == 0xFF) i++;
    return i >= 1 && i + 1 < n && b[i] == 0xD8 && b[i + 1] == 0xFF ? i + 1 : 0;
}

static const char *sniff_format(const uint8_t *b, size_t n)
{
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
    if (jpeg_start(b, n)) return "JPEG";
    if (n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6))) return "GIF";
    if (n >= 2 && b[0] == 'B' && b[1] == 'M') return "BMP";
    return NULL;
}

/* Formats people try that we do not read, named in the error instead of "unknown". */
static const char *sniff_unsupported(const uint8_t *b, size_t n)
{
    if (n >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)) return "WebP";
    if (n >= 12 && !memcmp(b + 4, "ftyp", 4)) {
        if (!memcmp(b + 8, "avif", 4) || !memcmp(b + 8, "avis", 4)) return "AVIF";
        if (!memcmp(b + 8, "heic", 4) || !memcmp(b + 8, "heix", 4) || !memcmp(b + 8, "mif1", 4))
            return "HEIF/HEIC";
    }
    if (n >= 4 && (!memcmp(b, "II*\0", 4) || !memcmp(b, "MM\0*", 4))) return "TIFF";
    if (n >= 4 && !memcmp(b, "8BPS", 4)) return "PSD";
    if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') return "PNM";
    return NULL;
}

/* Walks a JPEG's marker segments and entropy-coded data (skipping each segment by its length, so
 * an EXIF thumbnail's own markers do not count) and reports what stb_image would get wrong:
 *  - JPEG_TRUNCATED: the data ends before the EOI marker. libjpeg (Pillow) fails with "image file
 *    is truncated"; stb_image pads the missing data with zeros and succeeds.
 *  - JPEG_BAD_HUFFMAN: a DHT table with more than 256 codes. stb_image 2.27 (Debian 12) writes
 *    past its 257-entry size table in stbi__build_huffman on such a file (found by fuzzing under
 *    ASan); libjpeg rejects it ("Bogus Huffman table definition"). stbi_info already builds the
 *    tables that come before the frame header, so this runs before any stb call
 *    (tests/bad: dht_before_sof.jpg). A table cut short by the end of the file counts too: stb
 *    reads the missing counts as 0 (dht_cut.jpg).
 *  - JPEG_NO_HUFFMAN: a scan that decodes with a Huffman table no DHT segment before it defined.
 *    stb_image 2.27 then decodes with the uninitialised table (it mallocs its decoder state) and
 *    indexes far outside it (found by fuzzing under UBSan; tests/bad: scan_no_dht.jpg,
 *    prog_ac_no_dht.jpg).
 *    libjpeg-turbo (Pillow) substitutes the standard tables, as Motion-JPEG frames expect; we
 *    refuse such files instead. Which tables a scan decodes with follows stb: a sequential scan
 *    its components' DC and AC tables, a progressive DC first pass the DC tables, a progressive
 *    AC pass (first or refinement) the AC tables, a DC refinement none. */
enum { JPEG_OK, JPEG_TRUNCATED, JPEG_BAD_HUFFMAN, JPEG_NO_HUFFMAN };

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }

static int jpeg_scan(const uint8_t *b, size_t n)
{
    size_t i = jpeg_start(b, n);   /* after SOI */
    unsigned defined = 0;   /* bit (class * 4 + id): DC 0-3, AC 4-7 */
    int progressive = 0;
    while (i + 1 < n) {
        if (b[i] != 0xFF) { i++; continue; }   /* stray bytes: libjpeg warns and goes on */
        uint8_t m = b[i + 1];
        if (m == 0xFF) { i++; continue; }                       /* fill byte */
        if (m == 0xD9) return JPEG_OK;                          /* EOI */
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { i += 2; continue; } /* TEM, RSTn: no length */
        if (i + 3 >= n) return JPEG_TRUNCATED;
        size_t len = be16(b + i + 2);
        if (len < 2) return JPEG_TRUNCATED;
        if (m == 0xC4) {   /* DHT: tables of (class/id, 16 counts, symbols) */
            size_t p = i + 4, end = i + 2 + len;
            while (p < end && p < n) {
                size_t total = 0;
                for (size_t k = 1; k <= 16 && p + k < n; k++) total += b[p + k];
                if (total > 256) return JPEG_BAD_HUFFMAN;
                if ((b[p] >> 4) <= 1 && (b[p] & 15) <= 3) defined |= 1u << ((b[p] >> 4) * 4 + (b[p] & 15));
                p += 17 + total;
            }
        }
        if (m >= 0xC0 && m <= 0xC2) progressive = m == 0xC2; /* the frame types stb reads */
        if (m == 0xDA) { /* SOS: Ns, Ns x (component, DC table << 4 | AC table), Ss, Se, Ah << 4 | Al */
            if (i + 2 + len > n) return JPEG_TRUNCATED;
            size_t ns = len >= 6 ? b[i + 4] : 0, ss = 0, ah = 0;
            if (len != 6 + 2 * ns) ns = 0; /* stb refuses the scan ("bad SOS len") */
            else ss = b[i + 5 + 2 * ns], ah = b[i + 7 + 2 * ns] >> 4;
            int dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss != 0;
            for (size_t k = 0; k < ns; k++) {
                unsigned t = b[i + 6 + 2 * k];
                if ((dc && (t >> 4) <= 3 && !(defined & 1u << (t >> 4))) ||
                    (ac && (t & 15) <= 3 && !(defined & 1u << (4 + (t & 15)))))
                    return JPEG_NO_HUFFMAN;
            }
        }
        i += 2 + len;
        if (m != 0xDA) continue;
        /* SOS: entropy-coded data up to the next marker that is not a stuffed 0xFF00 or RSTn. */
        while (i + 1 < n) {
            if (b[i] == 0xFF && b[i + 1] != 0x00 && b[i + 1] != 0xFF &&
                !(b[i + 1] >= 0xD0 && b[i + 1] <= 0xD7))
                break;
            i++;
        }
    }
    return JPEG_TRUNCATED;
}

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[1] << 8 | p[0]; }
static uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }
static uint32_t le32(const uint8_t *p) { return le16(p + 2) << 16 | le16(p); }

/* Width and height as the header states them, read here rather than by stbi_info so that a
 * header claiming a huge or empty image is reported as such (stb rejects dimensions over 2^24 or
 * a PNG over 2^30 bytes with only "too large"). Returns 0 when the header is not readable. */
static int header_dims(const uint8_t *b, size_t n, const char *fmt, uint64_t *w, uint64_t *h)
{
    if (!strcmp(fmt, "PNG")) {
        if (n < 24 || memcmp(b + 12, "IHDR", 4)) return 0;
        *w = be32(b + 16);
        *h = be32(b + 20);
        return 1;
    }
    if (!strcmp(fmt, "GIF")) {
        if (n < 10) return 0;
        *w = le16(b + 6);
        *h = le16(b + 8);
        return 1;
    }
    if (!strcmp(fmt, "BMP")) {
        if (n < 26) return 0;
        if (le32(b + 14) == 12) {   /* OS/2 BITMAPCOREHEADER: 16-bit sizes */
            *w = le16(b + 18);
            *h = le16(b + 20);
            return 1;
        }
        int32_t sh = (int32_t)le32(b + 22);   /* negative: rows stored top-down */
        *w = le32(b + 18);
        *h = sh < 0 ? (uint64_t)(-(int64_t)sh) : (uint64_t)sh;
        return 1;
    }
    if (!strcmp(fmt, "JPEG")) {   /* the first SOFn marker segment */
        size_t i = jpeg_start(b, n);
        while (i + 3 < n) {
            if (b[i] != 0xFF) return 0;
            uint8_t m = b[i + 1];
            if (m == 0xFF) { i++; continue; }
            if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { i += 2; continue; }
            if (m == 0xD9 || m == 0xDA) return 0;   /* EOI or scan data before any frame header */
            if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
                if (i + 8 >= n) return 0;
                *h = be16(b + i + 5);
                *w = be16(b + i + 7);
                return 1;
            }
            i += 2 + be16(b + i + 2);
        }
    }
    return 0;
}

static tlv_status check_size(uint64_t w, uint64_t h, uint64_t max_pixels, const char *name,
                             const char *fmt, tlv_err *err)
{
    if (w == 0 || h == 0)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: %s image is %llux%llu, expected a non-zero "
                            "width and height", name, fmt, (unsigned long long)w, (unsigned long long)h);
    if (w * h > max_pixels)   /* both < 2^32: no overflow */
        return tlv__err_set(err, TLV_ERR_LIMIT,
                            "%s: %s image is %llux%llu = %llu pixels, over the limit of %llu pixels",
                            name, fmt, (unsigned long long)w, (unsigned long long)h,
                            (unsigned long long)(w * h), (unsigned long long)max_pixels);
    return TLV_OK;
}

/* stb_image reads past the end of a BMP, TGA or GIF as zeros and succeeds; Pillow stops with
 * "image file is truncated". Bytes an uncompressed BMP or TGA must have, from its header; for a
 * GIF, whether the first frame's data sub-blocks end inside the file. RLE-compressed BMP and TGA
 * are not checked. Returns 1 when complete or unknown; 0 with *need (0 if not known) if not. */
static int data_complete(const uint8_t *b, size_t n, const char *fmt, uint64_t *need)
{
    *need = 0;
    if (!strcmp(fmt, "BMP") && n >= 30) {
        uint64_t off = le32(b + 10), w, h, bpp, comp = 0;
        if (le32(b + 14) == 12) {
            w = le16(b + 18); h = le16(b + 20); bpp = le16(b + 24);
        } else {
            if (n < 34) return 1;
            int32_t sh = (int32_t)le32(b + 22);
            w = le32(b + 18);
            h = sh < 0 ? (uint64_t)(-(int64_t)sh) : (uint64_t)sh;
            bpp = le16(b + 28);
            comp = le32(b + 30);
        }
        if (comp != 0 && comp != 3 && comp != 6) return 1;   /* RLE, JPEG/PNG in BMP */
        if (!w || !h || !bpp || bpp > 32) return 1;
        uint64_t row = (bpp * w + 31) / 32 * 4, last = (bpp * w + 7) / 8;
        *need = off + row * (h - 1) + last;   /* the last row's padding may be missing */
        return n >= *need;
    }
    if (!strcmp(fmt, "TGA") && n >= 18) {
        uint8_t type = b[2];
        if (type != 1 && type != 2 && type != 3) return 1;   /* 9, 10, 11: RLE */
        uint64_t cm = b[1] ? (uint64_t)le16(b + 5) * ((b[7] + 7u) / 8) : 0;
        *need = 18 + (uint64_t)b[0] + cm + (uint64_t)le16(b + 12) * le16(b + 14) * ((b[16] + 7u) / 8);
        return n >= *need;
    }
    if (!strcmp(fmt, "GIF") && n >= 13) {
        size_t i = 13 + ((b[10] & 0x80) ? 3u << ((b[10] & 7) + 1) : 0);
        while (i < n && b[i] == 0x21) {                   /* extensions before the image */
            i += 2;
            while (i < n && b[i]) i += (size_t)b[i] + 1;
            i++;
        }
        if (i + 10 > n || b[i] != 0x2C) return i < n;       /* no image: let stb say */
        i += 10 + ((b[i + 9] & 0x80) ? 3u << ((b[i + 9] & 7) + 1) : 0);
        i++;                                              /* LZW minimum code size */
        while (i < n && b[i]) i += (size_t)b[i] + 1;      /* image data sub-blocks */
        return i < n;                                     /* the 0 terminator is in the file */
    }
    return 1;
}

/* The colour Pillow 9.4 shows where stb_image leaves a GIF's first frame transparent (alpha 0):
 * Pillow keeps the frame as palette indices and convert("RGB") drops transparency, so a
 * transparent pixel shows the palette colour of the transparent index; the canvas outside the
 * frame is filled with that index too (GifImagePlugin.load_prepare), or with index 0 when there
 * is no transparency. The palette is the frame's local table, else the global one. Returns 0
 * when the stream does not say (then stb's black stays). */
static int gif_hidden_colour(const uint8_t *b, size_t n, uint8_t rgb[3])
{
    if (n < 13) return 0;
    const uint8_t *global = NULL, *table = NULL;
    size_t i = 13;
    if (b[10] & 0x80) {
        global = b + 13;
        i += 3u << ((b[10] & 7) + 1);
    }
    int trans = -1;
    while (i < n) {
        if (b[i] == 0x21 && i + 1 < n) {            /* extension */
            if (b[i + 1] == 0xF9 && i + 6 < n && b[i + 2] == 4 && (b[i + 3] & 1)) trans = b[i + 6];
            i += 2;
            while (i < n && b[i]) i += (size_t)b[i] + 1;   /* sub-blocks */
            i++;
        } else if (b[i] == 0x2C && i + 9 < n) {     /* first image descriptor */
            table = global;
            if (b[i + 9] & 0x80) table = b + i + 10;
            break;
        } else {
            return 0;
        }
    }
    if (!table) return 0;
    size_t idx = trans >= 0 ? (size_t)trans : 0;
    if (table + 3 * idx + 3 > b + n) return 0;
    memcpy(rgb, table + 3 * idx, 3);
    return 1;
}

/* GIF: decode as RGBA, give the alpha-0 pixels Pillow's colour, drop alpha. */
static tlv_status load_gif(const uint8_t *data, int len, const char *name, const tlv_allocator *a,
                           tlv_image *out, tlv_err *err)
{
    int w = 0, h = 0, comp = 0;
    uint8_t *px = stbi_load_from_memory(data, len, &w, &h, &comp, 4);
    if (!px)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: corrupt or truncated GIF image (stb_image: %s)",
                            name, stbi_failure_reason());
    size_t n_px = (size_t)w * (size_t)h;
    uint8_t *rgb = tlv__malloc(a, n_px * 3);
    if (!rgb) {
        stbi_image_free(px);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "%s: out of memory for %dx%d RGB pixels", name, w, h);
    }
    uint8_t hidden[3] = {0, 0, 0};
    gif_hidden_colour(data, (size_t)len, hidden);
    for (size_t i = 0; i < n_px; i++)
        memcpy(rgb + 3 * i, px[4 * i + 3] ? px + 4 * i : hidden, 3);
    stbi_image_free(px);
    *out = (tlv_image){ .w = w, .h = h, .stride = (size_t)w * 3, .rgb = rgb };
    return TLV_OK;
}

/* 16-bit grayscale PNG: Pillow opens it as mode "I" (32-bit ints) and convert("RGB") clips each
 * value to 0..255 (Convert.c i2rgb), it does not take the high byte. Match that. */
static tlv_status load_png_gray16(const uint8_t *data, int len, const char *name,
                                  const tlv_allocator *a, tlv_image *out, tlv_err *err)
{
    int w = 0, h = 0, comp = 0;
    stbi_us *g = stbi_load_16_from_memory(data, len, &w, &h, &comp, 1);
    if (!g)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: corrupt or truncated PNG image (stb_image: %s)",
                            name, stbi_failure_reason());
    size_t stride = (size_t)w * 3;
    uint8_t *rgb = tlv__malloc(a, stride * (size_t)h);
    if (!rgb) {
        stbi_image_free(g);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "%s: out of memory for %dx%d RGB pixels", name, w, h);
    }
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        uint8_t v = g[i] > 255 ? 255 : (uint8_t)g[i];
        rgb[3 * i + 0] = rgb[3 * i + 1] = rgb[3 * i + 2] = v;
    }
    stbi_image_free(g);
    *out = (tlv_image){ .w = w, .h = h, .stride = stride, .rgb = rgb };
    return TLV_OK;
}

tlv_status tlv__image_load_memory(const void *data, size_t n_bytes, const char *name,
                                  uint64_t max_pixels, const tlv_allocator *a, tlv_image *out,
                                  tlv_err *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!out || (!data && n_bytes))
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image load: NULL %s", out ? "data" : "output");
    name = name_or_default(name);
    if (max_pixels == 0) max_pixels = TLV_IMAGE_DEFAULT_MAX_PIXELS;
    const uint8_t *b = data;
    if (n_bytes == 0)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: empty file (0 bytes), expected an image", name);
    if (n_bytes > INT_MAX)
        return tlv__err_set(err, TLV_ERR_LIMIT, "%s: file is %zu bytes, stb_image reads at most %d",
                            name, n_bytes, INT_MAX);
    int len = (int)n_bytes;

    const char *fmt = sniff_format(b, n_bytes);
    const char *unsupported = sniff_unsupported(b, n_bytes);
    if (unsupported)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED,
                            "%s: %s images are not supported (JPEG, PNG, BMP, GIF and TGA are)",
                            name, unsupported);
    uint64_t hw, hh;
    if (fmt && header_dims(b, n_bytes, fmt, &hw, &hh)) {
        tlv_status st = check_size(hw, hh, max_pixels, name, fmt, err);
        if (st != TLV_OK) return st;
    }
    int jpeg = fmt && !strcmp(fmt, "JPEG") ? jpeg_scan(b, n_bytes) : JPEG_OK;
    /* stb_image 2.27 grows its IDAT buffer to a chunk's declared length before reading it, so a
     * 100-byte PNG could make it allocate 2 GB (found by fuzz_image; tests/bad: idat_huge.png) */
    if (fmt && !strcmp(fmt, "PNG"))
        for (size_t i = 8; i + 8 <= n_bytes;) {
            uint64_t clen = be32(b + i);
            /* only where the allocation matters: a plainly cut file keeps stb's own message */
            if (!memcmp(b + i + 4, "IDAT", 4) && clen > n_bytes - i - 8 && clen > (1u << 24))
                return tlv__err_set(err, TLV_ERR_FORMAT, "%s: corrupt or truncated PNG image: an IDAT chunk declares "
                                    "%llu bytes, %zu remain", name, (unsigned long long)clen, n_bytes - i - 8);
            if (clen > n_bytes) break;
            i += 12 + (size_t)clen;
        }
    if (jpeg == JPEG_BAD_HUFFMAN) /* before stbi_info, which reads the tables up to the frame header */
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: corrupt JPEG image: a Huffman table defines "
                            "more than 256 codes", name);
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(b, len, &w, &h, &comp)) {
        const char *why = stbi_failure_reason();
        if (!fmt)
            return tlv__err_set(err, TLV_ERR_FORMAT,
                                "%s: not a JPEG, PNG, BMP, GIF or TGA image (%zu bytes, first bytes "
                                "%02x %02x %02x %02x)", name, n_bytes, b[0],
                                n_bytes > 1 ? b[1] : 0, n_bytes > 2 ? b[2] : 0, n_bytes > 3 ? b[3] : 0);
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: corrupt or truncated %s header (stb_image: %s)",
                            name, fmt, why ? why : "unknown error");
    }
    if (!fmt) fmt = "TGA";
    tlv_status st = check_size(w < 0 ? 0 : (uint64_t)w, h < 0 ? 0 : (uint64_t)h, max_pixels, name, fmt, err);
    if (st != TLV_OK) return st;

    uint64_t need;
    if (!data_complete(b, n_bytes, fmt, &need)) {
        if (need)
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s: truncated %s image: %zu bytes, the %dx%d "
                                "pixels need %llu", name, fmt, n_bytes, w, h, (unsigned long long)need);
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: truncated %s image: the first frame's data "
                            "ends early", name, fmt);
    }
    if (jpeg == JPEG_TRUNCATED)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: truncated JPEG image: the data ends before "
                            "the end-of-image marker", name);
    if (jpeg == JPEG_NO_HUFFMAN)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: JPEG image: a scan uses a Huffman table "
                            "that no DHT segment defines (implied standard tables are not supported)", name);
    if (!strcmp(fmt, "PNG") && comp == 1 && stbi_is_16_bit_from_memory(b, len))
        return load_png_gray16(b, len, name, a, out, err);
    if (!strcmp(fmt, "GIF"))
        return load_gif(b, len, name, a, out, err);

    int dw = 0, dh = 0, dcomp = 0;
    uint8_t *px = stbi_load_from_memory(b, len, &dw, &dh, &dcomp, 3);
    if (!px)
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: corrupt or truncated %s image (stb_image: %s)",
                            name, fmt, stbi_failure_reason());
    if (dw != w || dh != h) {
        stbi_image_free(px);
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: %s header says %dx%d, decoder produced %dx%d",
                            name, fmt, w, h, dw, dh);
    }
    size_t stride = (size_t)w * 3;
    uint8_t *rgb = px;
    if (a && a->realloc) {   /* a custom allocator must own what it will be asked to free */
        rgb = tlv__malloc(a, stride * (size_t)h);
        if (rgb) memcpy(rgb, px, stride * (size_t)h);
        stbi_image_free(px);
        if (!rgb)
            return tlv__err_set(err, TLV_ERR_NO_MEMORY, "%s: out of memory for %dx%d RGB pixels", name, w, h);
    }
    *out = (tlv_image){ .w = w, .h = h, .stride = stride, .rgb = rgb };
    return TLV_OK;
}

tlv_status tlv__image_load_file(const char *path, uint64_t max_pixels, const tlv_allocator *a,
                                tlv_image *out, tlv_err *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image load: NULL %s", path ? "output" : "path");
    FILE *f = fopen(path, "rb");
    if (!f)
        return tlv__err_set(err, errno == ENOENT ? TLV_ERR_NOT_FOUND : TLV_ERR_IO,
                            "%s: cannot open image: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    tlv_status st = TLV_OK;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1 << 16;
            if (ncap > (size_t)INT_MAX + 1) ncap = (size_t)INT_MAX + 1;  /* one byte over: caught below */
            if (ncap == cap) break;
            uint8_t *nb = tlv__realloc(a, buf, ncap);
            if (!nb) {
                st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "%s: out of memory reading the file", path);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        st = tlv__err_set(err, TLV_ERR_IO, "%s: read error: %s", path, strerror(errno));
        goto done;
    }
    st = tlv__image_load_memory(buf, n, path, max_pixels, a, out, err);
done:
    fclose(f);
    tlv__free(a, buf);
    return st;
}

tlv_status tlv__image_from_rgb8(const uint8_t *rgb, int w, int h, size_t stride,
                                const tlv_allocator *a, tlv_image *out, tlv_err *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!rgb || !out)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "image from RGB8: NULL %s", rgb ? "output" : "pixels");
    if (w <= 0 || h <= 0 || stride < (size_t)w * 3)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG,
                            "image from RGB8: %dx%d with stride %zu, expected a non-zero size and "
                            "stride >= 3*width", w, h, stride);
    uint64_t bytes;
    if (!tlv__mul_u64((uint64_t)w * 3, (uint64_t)h, &bytes) || bytes > SIZE_MAX)
        return tlv__err_set(err, TLV_ERR_LIMIT, "image from RGB8: %dx%d is too large", w, h);
    uint8_t *p = tlv__malloc(a, (size_t)bytes);
    if (!p)
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "image from RGB8: out of memory for %dx%d", w, h);
    for (int y = 0; y < h; y++) memcpy(p + (size_t)y * w * 3, rgb + (size_t)y * stride, (size_t)w * 3);
    *out = (tlv_image){ .w = w, .h = h, .stride = (size_t)w * 3, .rgb = p };
    return TLV_OK;
}

void tlv__image_free(const tlv_allocator *a, tlv_image *img)
{
    if (!img) return;
    tlv__free(a, img->rgb);
    memset(img, 0, sizeof *img);
}
