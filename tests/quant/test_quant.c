/* Q8_0 / Q4_0 on the host (src/tensor/quant.c, tensor/dtype.h): blocks pinned byte for byte,
 * dequantizing, errors, and a randomized round trip.
 *
 * The expected bytes below were derived by tests/quant/gen/ggml_ref.py, an independent numpy
 * model of ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref (it shares no code with ours),
 * and checked by hand where the comments say so. Regenerate: /usr/bin/python3 gen/ggml_ref.py */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"
#include "tensor/quant.h"

typedef struct q8_case {
    const char *name;
    float x[32];
    uint8_t bytes[34];
} q8_case;

typedef struct q4_case {
    const char *name;
    float x[32];
    uint8_t bytes[18];
} q4_case;

/* By hand: "outlier" amax 5, d = 5/127 = 0.03937 -> f16 0x290a; 0.1 * 25.4 = 2.54 -> 3, -5 -> -127.
 * "ties" d = 1: roundf(2.5) = 3, roundf(-2.5) = -3, roundf(+-0.5) = +-1 (halves away from zero),
 * -126.5 -> -127, 0.49999997 -> 0. "negative_extreme": -amax -> -127 (0x81), never -128.
 * "scale_carries": d = 0.0078124... rounds up to the f16 2^-7 (0x2000). "tiny": d is an f32
 * subnormal, f16(d) = 0 but the q are computed with the f32 1/d. "subnormal_inputs": 1/d
 * overflows, q = 0 (quant.h), d = 0. */
static const q8_case q8_cases[] = {
    {"zeros", {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
     {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
    {"outlier", {0.1f, 0.1f, 0.1f, 0.1f, 0.1f, -5.0f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f},
     {0x0a, 0x29, 0x03, 0x03, 0x03, 0x03, 0x03, 0x81, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03}},
    {"ties", {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, -126.5f, 0.49999997f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
     {0x00, 0x3c, 0x7f, 0x03, 0xfd, 0x01, 0xff, 0x02, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
    {"negative_extreme", {0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 1.0f, -1.0f},
     {0x08, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x7f, 0x81}},
    {"scale_rounds", {-1.0f, -0.9375f, -0.875f, -0.8125f, -0.75f, -0.6875f, -0.625f, -0.5625f, -0.5f, -0.4375f, -0.375f, -0.3125f, -0.25f, -0.1875f, -0.125f, -0.0625f, 0.0f, 0.0625f, 0.125f, 0.1875f, 0.25f, 0.3125f, 0.375f, 0.4375f, 0.5f, 0.5625f, 0.625f, 0.6875f, 0.75f, 0.8125f, 0.875f, 0.9375f},
     {0x08, 0x20, 0x81, 0x89, 0x91, 0x99, 0xa1, 0xa9, 0xb1, 0xb9, 0xc0, 0xc8, 0xd0, 0xd8, 0xe0, 0xe8, 0xf0, 0xf8, 0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x40, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77}},
    {"scale_carries", {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.99218625f, 0.5f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
     {0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7f, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
    {"subnormal_scale", {-0.001f, -0.00066666666f, -0.00033333333f, 0.0f, 0.00033333333f, 0.00066666666f, 0.001f, -0.001f, -0.00066666666f, -0.00033333333f, 0.0f, 0.00033333333f, 0.00066666666f, 0.001f, -0.001f, -0.00066666666f, -0.00033333333f, 0.0f, 0.00033333333f, 0.00066666666f, 0.001f, -0.001f, -0.00066666666f, -0.00033333333f, 0.0f, 0.00033333333f, 0.00066666666f, 0.001f, -0.001f, -0.00066666666f, -0.00033333333f, 0.0f},
     {0x84, 0x00, 0x81, 0xab, 0xd6, 0x00, 0x2a, 0x55, 0x7f, 0x81, 0xab, 0xd6, 0x00, 0x2a, 0x55, 0x7f, 0x81, 0xab, 0xd6, 0x00, 0x2a, 0x55, 0x7f, 0x81, 0xab, 0xd6, 0x00, 0x2a, 0x55, 0x7f, 0x81, 0xab, 0xd6, 0x00}},
    {"tiny", {-1e-36f, -5e-37f, 0.0f, 5e-37f, 1e-36f, -1e-36f, -5e-37f, 0.0f, 5e-37f, 1e-36f, -1e-36f, -5e-37f, 0.0f, 5e-37f, 1e-36f, -1e-36f, -5e-37f, 0.0f, 5e-37f, 1e-36f, -1e-36f, -5e-37f, 0.0f, 5e-37f, 1e-36f, -1e-36f, -5e-37f, 0.0f, 5e-37f, 1e-36f, -1e-36f, -5e-37f},
     {0x00, 0x00, 0x81, 0xc1, 0x00, 0x3f, 0x7f, 0x81, 0xc1, 0x00, 0x3f, 0x7f, 0x81, 0xc1, 0x00, 0x3f, 0x7f, 0x81, 0xc1, 0x00, 0x3f, 0x7f, 0x81, 0xc1, 0x00, 0x3f, 0x7f, 0x81, 0xc1, 0x00, 0x3f, 0x7f, 0x81, 0xc1}},
    {"subnormal_inputs", {-1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f},
     {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
};

/* By hand: "zeros" d = 0 / -8 = -0.0 -> 0x8000, every nibble 8. "outlier" max 4 -> d = -0.5 (0xb800),
 * id = -2: 4 -> 0.5 -> 0, 0.3 -> 7.9 -> 7, -0.7 -> 9.9 -> 9; element 3 is the low nibble of byte 3,
 * element 17 the high nibble of byte 1. "negative_max": max -4 -> d = 0.5; -4 -> q 0, its negation
 * 4 -> 16.5 -> clamped 15. "magnitude_tie_*": the first of +-3 sets the sign of d. "ties" d = 1:
 * 0.5 -> 9, -0.5 -> 8, 1.5 -> 10, -1.5 -> 7 (halves round up), 7.5 -> 15 (clamped), -7.5 -> 1,
 * 0.49999997 + 8.5 rounds to 9.0 in f32 -> 9. "nibble_layout": byte j = j | (15 - j) << 4. */
static const q4_case q4_cases[] = {
    {"zeros", {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
     {0x00, 0x80, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88}},
    {"outlier", {0.3f, 0.3f, 0.3f, 4.0f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, -0.7f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.3f},
     {0x00, 0xb8, 0x77, 0x97, 0x77, 0x70, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77, 0x77}},
    {"negative_max", {-4.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 4.0f, 3.9f, -3.9f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
     {0x00, 0x38, 0x80, 0x88, 0x88, 0x88, 0xf8, 0xf8, 0x08, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88}},
    {"magnitude_tie_pos_first", {0.0f, 0.0f, 3.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, -3.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
     {0x00, 0xb6, 0x88, 0x88, 0x80, 0x88, 0x85, 0x88, 0x88, 0x88, 0x88, 0x8f, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88}},
    {"magnitude_tie_neg_first", {0.0f, 0.0f, -3.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 3.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
     {0x00, 0x36, 0x88, 0x88, 0x80, 0x88, 0x8b, 0x88, 0x88, 0x88, 0x88, 0x8f, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88}},
    {"ties", {-8.0f, 0.5f, -0.5f, 1.5f, -1.5f, 7.5f, -7.5f, 6.5f, -6.5f, 0.49999997f, -0.49999997f, 8.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
     {0x00, 0x3c, 0x80, 0x89, 0x88, 0x8a, 0x87, 0x8f, 0x81, 0x8f, 0x82, 0x89, 0x88, 0x8f, 0x88, 0x88, 0x88, 0x88}},
    {"nibble_layout", {-8.0f, -7.0f, -6.0f, -5.0f, -4.0f, -3.0f, -2.0f, -1.0f, 0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 7.0f, 6.0f, 5.0f, 4.0f, 3.0f, 2.0f, 1.0f, 0.0f, -1.0f, -2.0f, -3.0f, -4.0f, -5.0f, -6.0f, -7.0f, -8.0f},
     {0x00, 0x3c, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f}},
    {"scale_rounds", {-0.3f, -0.28125f, -0.2625f, -0.24375f, -0.225f, -0.20625f, -0.1875f, -0.16875f, -0.15f, -0.13125f, -0.1125f, -0.09375f, -0.075f, -0.05625f, -0.0375f, -0.01875f, 0.0f, 0.01875f, 0.0375f, 0.05625f, 0.075f, 0.09375f, 0.1125f, 0.13125f, 0.15f, 0.16875f, 0.1875f, 0.20625f, 0.225f, 0.24375f, 0.2625f, 0.28125f},
     {0xcd, 0x28, 0x80, 0x91, 0x91, 0xa2, 0xa2, 0xb3, 0xb3, 0xc4, 0xc4, 0xd5, 0xd5, 0xe6, 0xe6, 0xf7, 0xf7, 0xf8}},
    {"subnormal_scale", {-1e-04f, -7.5e-05f, -5e-05f, -2.5e-05f, 0.0f, 2.5e-05f, 5e-05f, 7.5e-05f, 1e-04f, -1e-04f, -7.5e-05f, -5e-05f, -2.5e-05f, 0.0f, 2.5e-05f, 5e-05f, 7.5e-05f, 1e-04f, -1e-04f, -7.5e-05f, -5e-05f, -2.5e-05f, 0.0f, 2.5e-05f, 5e-05f, 7.5e-05f, 1e-04f, -1e-04f, -7.5e-05f, -5e-05f, -2.5e-05f, 0.0f},
     {0xd2, 0x00, 0xe0, 0xf2, 0x04, 0x26, 0x48, 0x6a, 0x8c, 0xae, 0xcf, 0xe0, 0xf2, 0x04, 0x26, 0x48, 0x6a, 0x8c}},
    {"subnormal_inputs", {-1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f, 1e-40f, -1e-40f, 0.0f},
     {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
};

static void hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) fprintf(stderr, "%02x%s", b[i], i + 1 < n ? " " : "\n");
}

static void check_bytes(const char *what, const char *name, const uint8_t *got, const uint8_t *want, size_t n)
{
    tlv_test_checks++;
    if (memcmp(got, want, n)) {
        tlv_test_failures++;
        fprintf(stderr, "%s %s: bytes differ\n  got  ", what, name);
        hex(got, n);
        fprintf(stderr, "  want ");
        hex(want, n);
    }
}

static void test_dtypes(void)
{
    CHECK_EQ_STR(tlv__dtype_name(TLV_Q8_0), "Q8_0");
    CHECK_EQ_STR(tlv__dtype_name(TLV_Q4_0), "Q4_0");
    CHECK_EQ_STR(tlv__dtype_name(TLV_BF16), "BF16");
    CHECK_EQ_STR(tlv__dtype_name((tlv_dtype)99), "?");
    CHECK_EQ_INT(tlv__dtype_block_elems(TLV_Q8_0), 32);
    CHECK_EQ_INT(tlv__dtype_block_elems(TLV_F16), 1);
    CHECK_EQ_INT(tlv__dtype_block_bytes(TLV_Q8_0), 34);
    CHECK_EQ_INT(tlv__dtype_block_bytes(TLV_Q4_0), 18);
    CHECK_EQ_INT(tlv__dtype_size(TLV_F32), 4);
    CHECK_EQ_INT(tlv__dtype_size(TLV_BF16), 2);
    CHECK_EQ_INT(tlv__dtype_size(TLV_Q4_0), 0);
    CHECK(tlv__dtype_is_block(TLV_Q4_0) && tlv__dtype_is_block(TLV_Q8_0) && !tlv__dtype_is_block(TLV_F16));
    /* Qwen2-0.5B's down projection row: 4864 inputs = 152 blocks */
    CHECK_EQ_INT(tlv__dtype_row_bytes(TLV_Q8_0, 4864), 152 * 34);
    CHECK_EQ_INT(tlv__dtype_row_bytes(TLV_Q4_0, 4864), 152 * 18);
    CHECK_EQ_INT(tlv__dtype_row_bytes(TLV_F16, 7), 14);
    CHECK_EQ_INT(tlv__dtype_row_bytes(TLV_Q4_0, 40), 0); /* not whole blocks */

    tlv_tensor t;
    tlv__tensor_init(&t, TLV_Q4_0, 2, (const int64_t[]){3, 64});
    CHECK_EQ_INT(tlv__tensor_row_elems(&t), 64);
    CHECK_EQ_INT(tlv__tensor_row_bytes(&t), 36);
    CHECK_EQ_INT(tlv__tensor_bytes(&t), 108);
    tlv__tensor_init(&t, TLV_Q8_0, 3, (const int64_t[]){2, 2, 32});
    CHECK_EQ_INT(tlv__tensor_row_bytes(&t), 68);
    CHECK_EQ_INT(tlv__tensor_bytes(&t), 136);
    tlv__tensor_init(&t, TLV_BF16, 2, (const int64_t[]){5, 3});
    CHECK_EQ_INT(tlv__tensor_bytes(&t), 30);
    tlv__tensor_init(&t, TLV_F32, 1, (const int64_t[]){5});
    CHECK_EQ_INT(tlv__tensor_bytes(&t), 20);
}

static void test_pinned(void)
{
    for (size_t i = 0; i < sizeof q8_cases / sizeof q8_cases[0]; i++) {
        uint8_t got[34];
        memset(got, 0xcc, sizeof got);
        CHECK_EQ_INT(tlv__quantize_row(TLV_Q8_0, q8_cases[i].x, 32, got, NULL), TLV_OK);
        check_bytes("q8_0", q8_cases[i].name, got, q8_cases[i].bytes, 34);
    }
    for (size_t i = 0; i < sizeof q4_cases / sizeof q4_cases[0]; i++) {
        uint8_t got[18];
        memset(got, 0xcc, sizeof got);
        CHECK_EQ_INT(tlv__quantize_row(TLV_Q4_0, q4_cases[i].x, 32, got, NULL), TLV_OK);
        check_bytes("q4_0", q4_cases[i].name, got, q4_cases[i].bytes, 18);
    }
    /* Two blocks in a row: each its own scale, one after the other (GGUF's order). */
    float two[64];
    memcpy(two, q4_cases[1].x, sizeof q4_cases[1].x);
    memcpy(two + 32, q4_cases[6].x, sizeof q4_cases[6].x);
    uint8_t got[36];
    CHECK_EQ_INT(tlv__quantize_row(TLV_Q4_0, two, 64, got, NULL), TLV_OK);
    check_bytes("q4_0", "two blocks (first)", got, q4_cases[1].bytes, 18);
    check_bytes("q4_0", "two blocks (second)", got + 18, q4_cases[6].bytes, 18);
}

static void test_dequant(void)
{
    /* q8_0, d = f16 0x3c00 = 1: values are the int8 q, including -128 (never produced, still valid) */
    uint8_t b8[34] = {0x00, 0x3c, 0x7f, 0x81, 0x80, 0x00, 0x01, 0xff};
    float y[64];
    CHECK_EQ_INT(tlv__dequantize_row(TLV_Q8_0, b8, 32, y), TLV_OK);
    CHECK(y[0] == 127.0f && y[1] == -127.0f && y[2] == -128.0f && y[3] == 0.0f && y[4] == 1.0f && y[5] == -1.0f);
    /* d = f16 0x3800 = 0.5, q 3 -> 1.5 */
    b8[1] = 0x38;
    b8[2] = 3;
    CHECK_EQ_INT(tlv__dequantize_row(TLV_Q8_0, b8, 32, y), TLV_OK);
    CHECK(y[0] == 1.5f && y[1] == -63.5f);
    /* q4_0, d = f16 0xbc00 = -1: byte 0 = 0xf0: element 0 (low) q 0 -> (0 - 8) * -1 = 8,
     * element 16 (high) q 15 -> -7 */
    uint8_t b4[18] = {0x00, 0xbc, 0xf0, 0x9a};
    CHECK_EQ_INT(tlv__dequantize_row(TLV_Q4_0, b4, 32, y), TLV_OK);
    CHECK(y[0] == 8.0f && y[16] == -7.0f && y[1] == -2.0f && y[17] == -1.0f && y[2] == 8.0f && y[18] == 8.0f);
    /* a subnormal f16 scale: 0x0001 = 2^-24 */
    uint8_t b4s[18] = {0x01, 0x00, 0x0f};
    CHECK_EQ_INT(tlv__dequantize_row(TLV_Q4_0, b4s, 32, y), TLV_OK);
    CHECK(y[0] == 7.0f * ldexpf(1.0f, -24) && y[16] == -8.0f * ldexpf(1.0f, -24));
    /* every pinned block dequantizes to what its own bytes say, by the formula written out here */
    for (size_t i = 0; i < sizeof q4_cases / sizeof q4_cases[0]; i++) {
        const uint8_t *b = q4_cases[i].bytes;
        float d = tlv__f16_to_f32((uint16_t)(b[0] | b[1] << 8));
        CHECK_EQ_INT(tlv__dequantize_row(TLV_Q4_0, b, 32, y), TLV_OK);
        for (int j = 0; j < 16; j++) {
            CHECK(y[j] == (float)((b[2 + j] & 15) - 8) * d);
            CHECK(y[j + 16] == (float)((b[2 + j] >> 4) - 8) * d);
        }
    }
    CHECK_EQ_INT(tlv__dequantize_row(TLV_Q4_0, b4, 31, y), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv__dequantize_row(TLV_F16, b4, 32, y), TLV_ERR_INVALID_ARG);
}

static void test_errors(void)
{
    float x[64];
    uint8_t out[68];
    int64_t bad = -1;
    for (int j = 0; j < 64; j++) x[j] = 0.01f * (float)j;
    x[39] = NAN;
    CHECK_EQ_INT(tlv__quantize_row(TLV_Q8_0, x, 64, out, &bad), TLV_ERR_FORMAT);
    CHECK_EQ_INT(bad, 39);
    x[39] = -INFINITY;
    bad = -1;
    CHECK_EQ_INT(tlv__quantize_row(TLV_Q4_0, x, 64, out, &bad), TLV_ERR_FORMAT);
    CHECK_EQ_INT(bad, 39);
    x[39] = 1.0f;
    x[2] = INFINITY;
    CHECK_EQ_INT(tlv__quantize_row(TLV_Q4_0, x, 64, out, &bad), TLV_ERR_FORMAT);
    CHECK_EQ_INT(bad, 2);
    x[2] = 0.0f;
    /* the scale's f16 limit: d = 65519 rounds to 65504 (0x7bff); d = 65520 rounds to Inf */
    x[40] = 65519.0f * 127.0f;
    CHECK_EQ_INT(tlv__quantize_row(TLV_Q8_0, x, 64, out, &bad), TLV_OK);
    CHECK_EQ_INT(out[34] | out[35] << 8, 0x7bff);
    x[40] = -65520.0f * 127.0f;
    CHECK_EQ_INT(tlv__quantize_row(TLV_Q8_0, x, 64, out, &bad), TLV_ERR_UNSUPPORTED);
    CHECK_EQ_INT(bad, 40);
    x[40] = 65519.0f * 8.0f; /* q4_0: d = -65519 -> -65504 (0xfbff) */
    CHECK_EQ_INT(tlv__quantize_row(TLV_Q4_0, x, 64, out, &bad), TLV_OK);
    CHECK_EQ_INT(out[18] | out[19] << 8, 0xfbff);
    x[40] = 65520.0f * 8.0f;
    CHECK_EQ_INT(tlv__quantize_row(TLV_Q4_0, x, 64, out, &bad), TLV_ERR_UNSUPPORTED);
    CHECK_EQ_INT(bad, 40);
    CHECK_EQ_INT(tlv__quantize_row(TLV_Q4_0, x, 48, out, NULL), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv__quantize_row(TLV_BF16, x, 32, out, NULL), TLV_ERR_INVALID_ARG);
}

static void put16(uint8_t *p, uint16_t h)
{
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* A [3, 64] tensor in each source dtype, quantized whole and checked against row-by-row
 * quantizing of the same values; then NaN / Inf / overflow messages that name the tensor. */
static void test_tensor(void)
{
    enum { R = 3, C = 64 };
    uint64_t seed = 7;
    float x[R * C];
    for (int i = 0; i < R * C; i++) x[i] = tlv_test_rand_uniform(&seed, -2.0f, 2.0f);
    const tlv_dtype srcs[3] = {TLV_F32, TLV_F16, TLV_BF16};
    const tlv_dtype fmts[2] = {TLV_Q8_0, TLV_Q4_0};
    uint8_t raw[R * C * 4 + 1];
    tlv_err err;
    for (int s = 0; s < 3; s++) {
        float conv[R * C];
        for (int i = 0; i < R * C; i++) {
            /* stored at an odd address, as an mmapped tensor may be */
            uint8_t *p = raw + 1 + (size_t)i * tlv__dtype_size(srcs[s]);
            if (srcs[s] == TLV_F32) memcpy(p, &x[i], 4);
            else put16(p, srcs[s] == TLV_F16 ? tlv__f32_to_f16(x[i]) : tlv__f32_to_bf16(x[i]));
            conv[i] = srcs[s] == TLV_F32 ? x[i]
                    : srcs[s] == TLV_F16 ? tlv__f16_to_f32(tlv__f32_to_f16(x[i])) : tlv__bf16_to_f32(tlv__f32_to_bf16(x[i]));
        }
        for (int f = 0; f < 2; f++) {
            uint8_t got[R * 2 * 34], want[R * 2 * 34];
            uint64_t rb = tlv__dtype_row_bytes(fmts[f], C);
            CHECK_EQ_INT(tlv__quantize_tensor("w", srcs[s], raw + 1, R, C, fmts[f], got, &err), TLV_OK);
            for (int r = 0; r < R; r++) CHECK_EQ_INT(tlv__quantize_row(fmts[f], conv + r * C, C, want + r * rb, NULL), TLV_OK);
            check_bytes(tlv__dtype_name(srcs[s]), tlv__dtype_name(fmts[f]), got, want, (size_t)(R * rb));
        }
    }
    const char *name = "model.layers.0.mlp.up_proj.weight";
    uint8_t out[R * 2 * 34];
    x[1 * C + 37] = NAN;
    CHECK_EQ_INT(tlv__quantize_tensor(name, TLV_F32, x, R, C, TLV_Q4_0, out, &err), TLV_ERR_FORMAT);
    CHECK_EQ_INT(err.status, TLV_ERR_FORMAT);
    CHECK_EQ_STR(err.msg, "tensor 'model.layers.0.mlp.up_proj.weight': element [1, 37] is NaN, cannot quantize to Q4_0");
    x[1 * C + 37] = 0.0f;
    x[2 * C + 63] = -INFINITY;
    CHECK_EQ_INT(tlv__quantize_tensor(name, TLV_F32, x, R, C, TLV_Q8_0, out, &err), TLV_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "tensor 'model.layers.0.mlp.up_proj.weight': element [2, 63] is -Inf, cannot quantize to Q8_0");
    x[2 * C + 63] = 0.0f;
    x[0] = INFINITY;
    CHECK_EQ_INT(tlv__quantize_tensor(name, TLV_F32, x, R, C, TLV_Q8_0, out, &err), TLV_ERR_FORMAT);
    CHECK_CONTAINS(err.msg, "element [0, 0] is +Inf");
    /* an f16 source cannot hold Inf-free overflow, but BF16 can: 1e30 needs a scale past f16 */
    uint8_t bf[R * C * 2];
    for (int i = 0; i < R * C; i++) put16(bf + 2 * i, tlv__f32_to_bf16(i == C + 5 ? 1e30f : 0.5f));
    CHECK_EQ_INT(tlv__quantize_tensor(name, TLV_BF16, bf, R, C, TLV_Q4_0, out, &err), TLV_ERR_UNSUPPORTED);
    CHECK_CONTAINS(err.msg, "tensor 'model.layers.0.mlp.up_proj.weight': element [1, 5] = ");
    CHECK_CONTAINS(err.msg, "needs a Q4_0 scale beyond f16's range");
    CHECK_EQ_INT(tlv__quantize_tensor(name, TLV_F32, x, R, 40, TLV_Q4_0, out, &err), TLV_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "tensor 'model.layers.0.mlp.up_proj.weight': [3, 40] cannot be quantized to Q4_0");
    CHECK_EQ_INT(tlv__quantize_tensor(name, TLV_Q8_0, x, R, C, TLV_Q4_0, out, &err), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv__quantize_tensor(name, TLV_F32, x, R, C, TLV_F16, out, &err), TLV_ERR_INVALID_ARG);
}

/* Random blocks at many scales, some with an outlier: |dequant(quant(x)) - x| within half a step
 * (Q8_0) or a step (Q4_0, whose clamped top nibble loses up to one), plus what rounding the scale
 * to f16 adds (|q| times |f16(d) - d|, |q| <= 127 or 8). The mean error must also be well inside
 * the bound (a quantizer that always hit the bound would be broken); it is taken over blocks with a
 * normal f16 scale, since a subnormal one is itself coarse (that error is the qmax term). */
static void test_round_trip(void)
{
    uint64_t seed = 12345;
    const float scales[] = {1e-6f, 3e-4f, 0.02f, 1.0f, 37.0f, 3000.0f};
    double sum_ratio[2] = {0, 0};
    long n_ratio[2] = {0, 0};
    for (int f = 0; f < 2; f++) {
        tlv_dtype fmt = f ? TLV_Q4_0 : TLV_Q8_0;
        for (int trial = 0; trial < 600; trial++) {
            float x[32], y[32];
            uint8_t q[34];
            float sc = scales[trial % 6];
            for (int j = 0; j < 32; j++) x[j] = sc * tlv_test_rand_uniform(&seed, -1.0f, 1.0f);
            if (trial % 3 == 0) x[tlv_test_rand_u32(&seed) % 32] *= 20.0f;
            CHECK_EQ_INT(tlv__quantize_row(fmt, x, 32, q, NULL), TLV_OK);
            CHECK_EQ_INT(tlv__dequantize_row(fmt, q, 32, y), TLV_OK);
            /* the f32 scale, independently: amax / 127, or the signed max / -8 */
            float amax = 0.0f, mx = 0.0f;
            for (int j = 0; j < 32; j++)
                if (fabsf(x[j]) > amax) {
                    amax = fabsf(x[j]);
                    mx = x[j];
                }
            double d = f ? mx / -8.0f : amax / 127.0f;
            double d16 = tlv__f16_to_f32((uint16_t)(q[0] | q[1] << 8));
            double steps = f ? 1.0 : 0.5, qmax = f ? 8 : 127;
            double bound = steps * fabs(d) + qmax * fabs(d16 - d) + 1e-6 * amax;
            for (int j = 0; j < 32; j++) {
                double e = fabs((double)y[j] - x[j]);
                if (!(e <= bound)) {
                    CHECK(e <= bound);
                    fprintf(stderr, "  %s trial %d element %d: x %.9g y %.9g d %.9g bound %.3g\n", tlv__dtype_name(fmt),
                            trial, j, x[j], y[j], d, bound);
                    return;
                }
                if (fabs(d16) >= ldexp(1.0, -14)) { /* the mean over normal f16 scales only */
                    sum_ratio[f] += e / fabs(d);
                    n_ratio[f]++;
                }
            }
        }
    }
    /* uniform rounding error averages a quarter step */
    double m8 = sum_ratio[0] / (double)n_ratio[0], m4 = sum_ratio[1] / (double)n_ratio[1];
    printf("mean |error| / |d|: q8_0 %.3f, q4_0 %.3f\n", m8, m4);
    CHECK(m8 > 0.15 && m8 < 0.35);
    CHECK(m4 > 0.15 && m4 < 0.40);
}

int main(void)
{
    test_dtypes();
    test_pinned();
    test_dequant();
    test_errors();
    test_tensor();
    test_round_trip();
    return tlv_test_finish("test_quant");
}
