/* fill.c: synthetic weights on the device (fill.h; shaders/fill_random.comp). */
#include "ops/fill.h"

tlv_status tlv__op_fill_random(tlv_stream *s, const tlv_tensor *t, uint32_t *seed, float scale, float offset)
{
    if (t->dtype != TLV_F32 && t->dtype != TLV_F16 && t->dtype != TLV_BF16 && t->dtype != TLV_Q8_0 && t->dtype != TLV_Q4_0)
        return tlv__stream_fail(s, TLV_ERR_UNSUPPORTED, "fill_random: dtype %s not supported", tlv__dtype_name(t->dtype));
    uint32_t spec[2] = {256, tlv__op_dtype_code(t->dtype)};
    const tlv_vk_pipeline *p;
    tlv_status st = tlv__op_pipeline(s, "fill_random", "fill_random", spec, 2, 1, 16, &p);
    if (st != TLV_OK) return st;
    for (int i = 0; i < t->n_slabs; i++) {
        uint64_t n = (uint64_t)tlv__tensor_slab_nrows(t, i) * (uint64_t)tlv__tensor_row_elems(t);
        /* block formats: the quant words, then the scale words (tensor.h's device layout) */
        uint64_t words = t->dtype == TLV_F32 ? n : t->dtype == TLV_Q8_0 ? n / 4 + (n / 32 + 1) / 2
                         : t->dtype == TLV_Q4_0 ? n / 8 + (n / 32 + 1) / 2 : (n + 1) / 2;
        uint64_t groups = (words + 255) / 256, gx = groups < 65535 ? groups : 65535, gy = (groups + gx - 1) / gx;
        struct { uint32_t n, seed; float scale, offset; } pc = {(uint32_t)n, (*seed)++, scale, offset};
        tlv_vk_binding bind = tlv__tensor_binding(t, i, 1);
        tlv__stream_dispatch(s, p, &bind, 1, &pc, sizeof pc, (uint32_t)gx, (uint32_t)gy, 1, "fill_random");
    }
    return tlv__stream_status(s);
}
