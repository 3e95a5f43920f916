/* quant.h: Q8_0 and Q4_0 on the host: quantize rows of floats, dequantize them back.
 *
 * The formats are GGUF's (ggml-common.h block_q8_0 / block_q4_0; byte layout in dtype.h and
 * docs/FORMATS.md), and quantizing follows ggml's reference quantizers (ggml-quants.c,
 * quantize_row_q8_0_ref / quantize_row_q4_0_ref) step for step, so that a tensor quantized here
 * has the same bytes as llama.cpp's and the published quality figures of these formats apply.
 * Per block of 32 values x[0..31]:
 *
 *   Q8_0  amax = max |x|;  d = amax / 127;  id = d ? 1/d : 0;  q[j] = roundf(x[j] * id)
 *         (roundf: halves away from zero). Stored: f16(d), q as int8.
 *   Q4_0  max = the x of largest magnitude, WITH its sign (the first one on ties);
 *         d = max / -8;  id = d ? 1/d : 0;  q[j] = min(15, (int8_t)(x[j] * id + 8.5f))
 *         ((int8_t) truncates toward zero: x * id + 8.5 >= 0 here, so this is floor(x*id + 8.5),
 *         halves round up). The element `max` itself gets q = 0 (value -8 d = max); its negation
 *         would need q = 16 and is clamped to 15. Stored: f16(d), nibbles as in dtype.h.
 *
 * The q are computed with the f32 id, before the scale is rounded to f16 (as ggml does); the
 * stored d is f16(d) rounded to nearest even (GGML_FP32_TO_FP16: the F16C instruction or ggml's
 * bit-exact fallback, both RNE with subnormals). Dequantizing: x = q * d (Q8_0), (q - 8) * d
 * (Q4_0), with d = f32(stored f16), in f32 (ggml's dequantize_row_q8_0 / _q4_0).
 *
 * Where ggml's reference is undefined or silent we decide, and say so:
 *   - NaN or +-Inf in the input: an error (ggml would write garbage). TLV_ERR_FORMAT, with the
 *     index of the first such element; the caller that knows the tensor names it.
 *   - a scale beyond f16's range (|d| rounds to infinity: amax >= 65520 * 127 for Q8_0,
 *     |max| >= 65520 * 8 for Q4_0): TLV_ERR_UNSUPPORTED (the block would dequantize to Inf/NaN).
 *   - a block so small that 1/d overflows f32 (amax < ~3.7e-37): x * id is Inf or NaN and ggml's
 *     float -> int8 conversion is undefined; we store q = 0 (what x86 builds of ggml produce).
 *     f16(d) is 0 in every such block, so the values are 0 either way.
 *   - -0.0: Q4_0's all-zero block has d = 0 / -8 = -0.0, stored as f16 0x8000 (as ggml does).
 *
 * Rounding bounds (used by the tests): for Q8_0, |dequant(x) - x| <= |d| / 2 plus the f16 error of
 * the scale (|q| <= 127 times half an f16 ulp of d); for Q4_0, <= |d| / 2 except the clamped
 * negation of max, which is off by up to |d|.
 *
 * All functions are pure and thread-safe; no allocation. Rows may be unaligned (mmapped). */
#ifndef TLV_TENSOR_QUANT_H
#define TLV_TENSOR_QUANT_H

#include <stdint.h>

#include "core/error.h"
#include "tensor/dtype.h"

/* Quantizes n floats (n a multiple of TLV_QK) into n / TLV_QK blocks of fmt (TLV_Q8_0 or
 * TLV_Q4_0) at dst (tlv__dtype_row_bytes(fmt, n) bytes). On TLV_ERR_FORMAT (a NaN or Inf) or
 * TLV_ERR_UNSUPPORTED (a scale beyond f16) *bad_index (may be NULL) is the element index where
 * the problem is (for the scale: the element of largest magnitude in its block); dst is then
 * partly written. TLV_ERR_INVALID_ARG for another fmt or a bad n. Writes no message: the caller
 * knows the tensor. */
tlv_status tlv__quantize_row(tlv_dtype fmt, const float *x, int64_t n, void *dst, int64_t *bad_index);

/* y[0..n) = the values of n / TLV_QK blocks of fmt at src. n a multiple of TLV_QK. */
tlv_status tlv__dequantize_row(tlv_dtype fmt, const void *src, int64_t n, float *y);

/* Quantizes a whole [rows, cols] tensor stored row-major in src_dtype (F32, F16 or BF16, as in
 * a checkpoint, possibly unaligned) into rows x tlv__dtype_row_bytes(fmt, cols) bytes at dst, a
 * block of TLV_QK at a time (no scratch memory). cols must be a multiple of TLV_QK. Errors name
 * the tensor, e.g.
 *   "tensor 'model.layers.0.mlp.up_proj.weight': element [3, 17] is NaN, cannot quantize to Q4_0"
 * (the caller prefixes the file). */
tlv_status tlv__quantize_tensor(const char *name, tlv_dtype src_dtype, const void *src, int64_t rows, int64_t cols,
                                tlv_dtype fmt, void *dst, tlv_err *err);

#endif
