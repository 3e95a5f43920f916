/* fill.h: synthetic weights (the bench's models, tests that need a big tensor fast): a tensor
 * filled on the device with hashed uniform numbers (fill.c; shaders/fill_random.comp). */
#ifndef TLV_OPS_FILL_H
#define TLV_OPS_FILL_H

#include "ops/ops.h"

/* t = offset + scale * U[-1, 1), every slab (Q8_0 / Q4_0: random quants of those values under
 * one scale per tensor, (|offset| + |scale|) / 127 or / 7, so within half a scale of them;
 * shaders/fill_random.comp); u depends on (*seed, element index) only, so the
 * same seed gives the same tensor on every device. *seed advances by one per slab. Records on s. */
tlv_status tlv__op_fill_random(tlv_stream *s, const tlv_tensor *t, uint32_t *seed, float scale, float offset);

#endif
