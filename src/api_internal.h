/* api_internal.h: what the tests may ask a public handle beyond tinyllava.h. Not exported from
 * the shared library (no TLV_API): the tests link the internal static library. */
#ifndef TLV_API_INTERNAL_H
#define TLV_API_INTERNAL_H

#include <stdint.h>

#include "tinyllava.h"

/* Validation-layer messages seen by this context (tests fail on any). */
uint32_t tlv__context_validation_count(const tlv_context *ctx);

#endif
