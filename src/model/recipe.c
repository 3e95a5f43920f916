/* recipe.c: the weight recipe (recipe.h). */
#include "model/recipe.h"

#include <string.h>

const char *tlv__part_name(tlv_model_part_id p)
{
    static const char *const names[TLV_PART_COUNT] = {"vision tower", "connector", "embedding", "LLM layers", "output head"};
    return (unsigned)p < TLV_PART_COUNT ? names[p] : "?";
}

tlv_status tlv__recipe_parse_format(const char *what, const char *name, int *quant, tlv_dtype *fmt, tlv_err *err)
{
    *quant = 0;
    *fmt = TLV_F32;
    if (!name || !*name) return TLV_OK;
    if (!strcmp(name, "q8_0")) *fmt = TLV_Q8_0;
    else if (!strcmp(name, "q4_0")) *fmt = TLV_Q4_0;
    else
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "%s '%s': unknown weight format (expected q8_0 or q4_0; none for the "
                            "weights as published)", what, name);
    *quant = 1;
    return TLV_OK;
}

tlv_status tlv__recipe_parse(const char *weights, const char *vision_weights, tlv_recipe *out, tlv_err *err)
{
    memset(out, 0, sizeof *out);
    tlv_status st = tlv__recipe_parse_format("weights", weights, &out->llm_quant, &out->llm, err);
    if (!st) st = tlv__recipe_parse_format("vision weights", vision_weights, &out->vision_quant, &out->vision, err);
    if (st) memset(out, 0, sizeof *out);
    return st;
}

int tlv__recipe_is_identity(const tlv_recipe *r)
{
    return !r || (!r->llm_quant && !r->vision_quant);
}

/* want if a row of row_len fits it, else q8_0 if that fits, else stored */
static tlv_dtype fit(tlv_dtype want, tlv_dtype stored, int64_t row_len)
{
    if (row_len > 0 && row_len % tlv__dtype_block_elems(want) == 0) return want;
    if (row_len > 0 && row_len % tlv__dtype_block_elems(TLV_Q8_0) == 0) return TLV_Q8_0;
    return stored;
}

tlv_status tlv__recipe_dtype(const tlv_recipe *r, tlv_weight_role role, tlv_dtype stored, int ndim, int64_t row_len,
                             const char *file, const char *name, tlv_dtype *out, tlv_err *err)
{
    *out = stored;
    if (!r || ndim < 2) return TLV_OK;
    int quant = 0;
    tlv_dtype want = stored;
    switch (role) {
    case TLV_ROLE_LLM_LINEAR:
        quant = r->llm_quant;
        want = r->llm;
        break;
    case TLV_ROLE_EMBED:
    case TLV_ROLE_HEAD:
        quant = r->llm_quant;
        want = TLV_Q8_0;
        break;
    case TLV_ROLE_VISION_LINEAR:
        quant = r->vision_quant;
        want = r->vision;
        break;
    case TLV_ROLE_OTHER: break;
    }
    if (!quant) return TLV_OK;
    if (tlv__dtype_is_block(stored)) {
        if (stored == want) return TLV_OK;
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: tensor '%s' is stored as %s; the recipe asks for %s, and a "
                            "quantized tensor is not quantized again (quantize from the original checkpoint)", file, name,
                            tlv__dtype_name(stored), tlv__dtype_name(want));
    }
    *out = fit(want, stored, row_len);
    return TLV_OK;
}
