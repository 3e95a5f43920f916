/* dtype.h: the dtype codes the kernels are given (specialization constants, push constants),
 * shared by C (src/ops/ops.c maps tlv_dtype to them) and GLSL (#include "dtype.h"), so both sides
 * read one list. Plain #defines of int literals, valid C and valid GLSL, and usable in #if (the
 * GLSL preprocessor rejects a 0u there); GLSL converts them to uint where compared with one.
 *
 * A new weight format gets its code here, its reads in shaders/dtype.glsl, its row in the C table
 * (src/ops/ops.c) and its name in TLV_WEIGHT_FORMATS (cmake/Shaders.cmake). */
#ifndef TLV_SHADERS_DTYPE_H
#define TLV_SHADERS_DTYPE_H

#define TLV_DT_F32 0
#define TLV_DT_F16 1
#define TLV_DT_BF16 2
#define TLV_DT_NONE 3 /* no tensor bound (an absent bias or norm weight) */
/* Block formats (weights and embedding tables only; device layout: src/tensor.h, docs/FORMATS.md
 * "Device layout"): the quants of every block of the slab, then its f16 scales. */
#define TLV_DT_Q8_0 4
#define TLV_DT_Q4_0 5

#endif
