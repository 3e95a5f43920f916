/* quant.c: Q8_0 / Q4_0 quantizing and dequantizing on the host (the rules are in quant.h). */
#include "tensor/quant.h"

#include <math.h>
#include <string.h>

#include "tensor.h"

/* x * id + 8.5f must be a rounded product, then a rounded sum, as in ggml's reference: a fused
 * multiply-add (clang contracts by default, and aarch64 has FMA) can move a value across a .5
 * and change a nibble. GCC in ISO C mode (-std=c11, our build) does not contract. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static int finite_bits(float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    return (b & 0x7f800000u) != 0x7f800000u;
}

/* f16(d) would be +-Inf: the block cannot be stored. */
static int scale_overflows(uint16_t h)
{
    return (h & 0x7c00u) == 0x7c00u;
}

/* roundf(v) into int8 for |v| <= 127 (plus rounding noise); q = 0 where v is not finite (1/d
 * overflowed: quant.h). */
static int8_t q8_of(float v)
{
    if (!finite_bits(v)) return 0;
    return (int8_t)roundf(v);
}

/* min(15, (int8_t)(v + 8.5f)) for v in about [-8, 8]; 0 where v is not finite. */
static uint8_t q4_of(float v)
{
    if (!finite_bits(v)) return 0;
    const float s = v + 8.5f; /* rounded to float here, even where floats are evaluated wider (x87) */
    int q = (int)(int8_t)s;
    return (uint8_t)(q < 15 ? q : 15);
}

static void put_f16(uint8_t *p, uint16_t h)
{
    p[0] = (uint8_t)(h & 0xff);
    p[1] = (uint8_t)(h >> 8);
}

static uint16_t get_f16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* One block; x has TLV_QK finite values. Returns TLV_ERR_UNSUPPORTED with *at = the element that
 * set the scale when the scale does not fit f16. */
static tlv_status quant_block_q8_0(const float *x, uint8_t *out, int *at)
{
    float amax = 0.0f;
    int imax = 0;
    for (int j = 0; j < TLV_QK; j++) {
        float a = fabsf(x[j]);
        if (a > amax) { /* ggml: amax = MAX(amax, fabsf(v)); the index is only for messages */
            amax = a;
            imax = j;
        }
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t h = tlv__f32_to_f16(d);
    if (scale_overflows(h)) {
        *at = imax;
        return TLV_ERR_UNSUPPORTED;
    }
    put_f16(out, h);
    for (int j = 0; j < TLV_QK; j++) out[2 + j] = (uint8_t)q8_of(x[j] * id);
    return TLV_OK;
}

static tlv_status quant_block_q4_0(const float *x, uint8_t *out, int *at)
{
    float amax = 0.0f, max = 0.0f;
    int imax = 0;
    for (int j = 0; j < TLV_QK; j++) {
        float a = fabsf(x[j]);
        if (amax < a) { /* strictly: the first element of largest magnitude sets the sign */
            amax = a;
            max = x[j];
            imax = j;
        }
    }
    const float d = max / -8.0f; /* -0.0 for an all-zero block, as in ggml */
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t h = tlv__f32_to_f16(d);
    if (scale_overflows(h)) {
        *at = imax;
        return TLV_ERR_UNSUPPORTED;
    }
    put_f16(out, h);
    for (int j = 0; j < TLV_QK / 2; j++) {
        uint8_t lo = q4_of(x[j] * id), hi = q4_of(x[TLV_QK / 2 + j] * id);
        out[2 + j] = (uint8_t)(lo | hi << 4);
    }
    return TLV_OK;
}

static int quant_fmt(tlv_dtype fmt)
{
    return fmt == TLV_Q8_0 || fmt == TLV_Q4_0;
}

/* Quantizes one block of finite-checked values; *bad (block-relative) on failure. */
static tlv_status quant_block(tlv_dtype fmt, const float *blk, uint8_t *out, int *bad)
{
    for (int j = 0; j < TLV_QK; j++)
        if (!finite_bits(blk[j])) {
            *bad = j;
            return TLV_ERR_FORMAT;
        }
    return fmt == TLV_Q8_0 ? quant_block_q8_0(blk, out, bad) : quant_block_q4_0(blk, out, bad);
}

tlv_status tlv__quantize_row(tlv_dtype fmt, const float *x, int64_t n, void *dst, int64_t *bad_index)
{
    if (!quant_fmt(fmt) || n < 0 || n % TLV_QK) return TLV_ERR_INVALID_ARG;
    uint8_t *out = dst;
    const uint32_t bb = tlv__dtype_block_bytes(fmt);
    for (int64_t b = 0; b < n / TLV_QK; b++) {
        float blk[TLV_QK];
        memcpy(blk, x + b * TLV_QK, sizeof blk); /* x may be unaligned */
        int bad = 0;
        tlv_status st = quant_block(fmt, blk, out + b * bb, &bad);
        if (st) {
            if (bad_index) *bad_index = b * TLV_QK + bad;
            return st;
        }
    }
    return TLV_OK;
}

tlv_status tlv__dequantize_row(tlv_dtype fmt, const void *src, int64_t n, float *y)
{
    if (!quant_fmt(fmt) || n < 0 || n % TLV_QK) return TLV_ERR_INVALID_ARG;
    const uint8_t *p = src;
    const uint32_t bb = tlv__dtype_block_bytes(fmt);
    for (int64_t b = 0; b < n / TLV_QK; b++, p += bb) {
        const float d = tlv__f16_to_f32(get_f16(p));
        float *o = y + b * TLV_QK;
        if (fmt == TLV_Q8_0) {
            for (int j = 0; j < TLV_QK; j++) o[j] = (float)(int8_t)p[2 + j] * d;
        } else {
            for (int j = 0; j < TLV_QK / 2; j++) {
                o[j] = (float)((p[2 + j] & 0x0f) - 8) * d;
                o[TLV_QK / 2 + j] = (float)((p[2 + j] >> 4) - 8) * d;
            }
        }
    }
    return TLV_OK;
}

/* n elements of a checkpoint row in dtype dt (unaligned, little-endian) as floats. */
static void load_floats(tlv_dtype dt, const uint8_t *p, float *out, int n)
{
    for (int j = 0; j < n; j++) {
        if (dt == TLV_F32) {
            memcpy(&out[j], p + 4 * j, 4);
        } else {
            uint16_t h = get_f16(p + 2 * j);
            out[j] = dt == TLV_F16 ? tlv__f16_to_f32(h) : tlv__bf16_to_f32(h);
        }
    }
}

tlv_status tlv__quantize_tensor(const char *name, tlv_dtype src_dtype, const void *src, int64_t rows, int64_t cols,
                                tlv_dtype fmt, void *dst, tlv_err *err)
{
    if (!quant_fmt(fmt))
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "tensor '%s': %s is not a quantized format", name, tlv__dtype_name(fmt));
    if (src_dtype != TLV_F32 && src_dtype != TLV_F16 && src_dtype != TLV_BF16)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "tensor '%s': cannot quantize from %s (expected F32, F16 or BF16)",
                            name, tlv__dtype_name(src_dtype));
    if (rows < 0 || cols <= 0 || cols % TLV_QK)
        return tlv__err_set(err, TLV_ERR_SHAPE, "tensor '%s': [%lld, %lld] cannot be quantized to %s: rows of %lld are not "
                            "whole blocks of %d", name, (long long)rows, (long long)cols, tlv__dtype_name(fmt),
                            (long long)cols, TLV_QK);
    const uint8_t *in = src;
    uint8_t *out = dst;
    const uint32_t es = tlv__dtype_size(src_dtype), bb = tlv__dtype_block_bytes(fmt);
    const int64_t nb = cols / TLV_QK;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t b = 0; b < nb; b++) {
            float blk[TLV_QK];
            load_floats(src_dtype, in + ((uint64_t)r * (uint64_t)cols + (uint64_t)b * TLV_QK) * es, blk, TLV_QK);
            int bad = 0;
            tlv_status st = quant_block(fmt, blk, out + ((uint64_t)r * (uint64_t)nb + (uint64_t)b) * bb, &bad);
            if (st == TLV_ERR_FORMAT) {
                float v = blk[bad];
                return tlv__err_set(err, st, "tensor '%s': element [%lld, %lld] is %s, cannot quantize to %s", name,
                                    (long long)r, (long long)(b * TLV_QK + bad), v != v ? "NaN" : v > 0 ? "+Inf" : "-Inf",
                                    tlv__dtype_name(fmt));
            }
            if (st)
                return tlv__err_set(err, st, "tensor '%s': element [%lld, %lld] = %g needs a %s scale beyond f16's range "
                                    "(|scale| >= 65520)", name, (long long)r, (long long)(b * TLV_QK + bad),
                                    (double)blk[bad], tlv__dtype_name(fmt));
        }
    }
    return TLV_OK;
}
