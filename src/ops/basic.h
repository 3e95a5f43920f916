/* basic.h: the small kernels around the matmuls, one header (and one .c) a family: norm.h,
 * elementwise.h, copy.h, embed.h, patch.h, topk.h; this header includes them all and holds the rules
 * they share. Every op records dispatches on a stream and runs nothing (ops.h); shapes and dtypes are
 * checked first and a mismatch is recorded on the stream and returned, naming the op, the tensor,
 * expected and found.
 *
 * Common rules:
 *   - activations (x, y, res, a, b unless said otherwise) are F32; weights (norm w/b, biases,
 *     position tables, embedding tables, patch weights) are F32, F16 or BF16;
 *   - any tensor may be split into row slabs (tensor.h): the ops walk rows slab by slab; a single
 *     row (or a 1-D weight) must fit one slab;
 *   - in-place use is allowed where said (y the same tensor as an input): every element is read
 *     and written by the same GPU invocation;
 *   - int32 buffers (token ids, result indices) are plain buffer ranges: tensor.h has no integer
 *     dtype; offsets are in bytes and multiples of 4.
 * All arithmetic is f32. */
#ifndef TLV_OPS_BASIC_H
#define TLV_OPS_BASIC_H

#include "ops/copy.h"        /* cast, copy_rows */
#include "ops/elementwise.h" /* add, mul, scale, act, gated */
#include "ops/embed.h"       /* embed_rows */
#include "ops/norm.h"        /* norm, norm_heads */
#include "ops/patch.h"       /* patch_embed */
#include "ops/topk.h"        /* topk, argmax */

#endif
