/* checked.h: overflow-checked size arithmetic for every offset and shape product read from a
 * file (stb's stbi__mad3sizes_valid). Each returns 1 on success, 0 on overflow. */
#ifndef TLV_CORE_CHECKED_H
#define TLV_CORE_CHECKED_H

#include <stdint.h>

static inline int tlv__mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static inline int tlv__add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b > UINT64_MAX - a) return 0;
    *out = a + b;
    return 1;
}

#endif
