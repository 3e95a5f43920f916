/* dtype.c: names and sizes of the element types (dtype.h). */
#include "tensor/dtype.h"

static const struct {
    const char *name;
    uint32_t block_elems, block_bytes;
} info[TLV_DTYPE_COUNT] = {
    [TLV_F32] = {"F32", 1, 4},
    [TLV_F16] = {"F16", 1, 2},
    [TLV_BF16] = {"BF16", 1, 2},
    /* ggml's block_q8_0: ggml_half d; int8_t qs[32] */
    [TLV_Q8_0] = {"Q8_0", TLV_QK, 2 + TLV_QK},
    /* ggml's block_q4_0: ggml_half d; uint8_t qs[16] */
    [TLV_Q4_0] = {"Q4_0", TLV_QK, 2 + TLV_QK / 2},
};

const char *tlv__dtype_name(tlv_dtype t)
{
    return (unsigned)t < TLV_DTYPE_COUNT ? info[t].name : "?";
}

uint32_t tlv__dtype_size(tlv_dtype t)
{
    return (unsigned)t < TLV_DTYPE_COUNT && info[t].block_elems == 1 ? info[t].block_bytes : 0;
}

int tlv__dtype_is_block(tlv_dtype t)
{
    return (unsigned)t < TLV_DTYPE_COUNT && info[t].block_elems > 1;
}

uint32_t tlv__dtype_block_elems(tlv_dtype t)
{
    return (unsigned)t < TLV_DTYPE_COUNT ? info[t].block_elems : 1;
}

uint32_t tlv__dtype_block_bytes(tlv_dtype t)
{
    return (unsigned)t < TLV_DTYPE_COUNT ? info[t].block_bytes : 0;
}

uint64_t tlv__dtype_row_bytes(tlv_dtype t, int64_t n)
{
    uint32_t be = tlv__dtype_block_elems(t);
    if (n <= 0 || n % be) return 0;
    return (uint64_t)(n / be) * tlv__dtype_block_bytes(t);
}
