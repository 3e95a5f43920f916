/* recipe.h: which format each weight of a model takes (issue 12's recipe, docs/MODELS.md
 * "Quantized weights"): `--weights q8_0|q4_0` and `--vision-weights q8_0|q4_0`.
 *
 *   part / tensor                                 as published   --weights F          --vision-weights V
 *   LLM layers: linear weights (q, k, v, o,       stored dtype   F                    -
 *     gate, up, down, fc1, fc2, qkv_proj ...)
 *   token embedding, output head (tied or not)    stored dtype   q8_0 (for any F)     -
 *   vision tower linear weights, connector        stored dtype   -                    V
 *   everything else: norms, biases, the patch     stored dtype   stored dtype         stored dtype
 *     convolution, position and class embeddings
 *
 * A tensor whose row (its last dimension, the input dimension) is not a multiple of 32 keeps the
 * next format that fits: q8_0 if it can, else its stored dtype (both block formats have blocks of
 * 32, so in practice the stored dtype). A tensor stored quantized already (a checkpoint written by
 * `tinyllava quantize`) keeps its format when the recipe asks for the same one or for none; asking
 * for another is an error (quantize from the original instead: requantizing loses twice).
 *
 * The parts are what `tinyllava info` lists (tlv_model_get_part). */
#ifndef TLV_MODEL_RECIPE_H
#define TLV_MODEL_RECIPE_H

#include <stdint.h>

#include "core/error.h"
#include "tensor/dtype.h"

typedef struct tlv_recipe {
    int llm_quant;       /* 1: the LLM's linear weights take llm (embedding and head: q8_0) */
    tlv_dtype llm;       /* TLV_Q8_0 or TLV_Q4_0 */
    int vision_quant;    /* 1: the vision tower's and the connector's linear weights take vision */
    tlv_dtype vision;
} tlv_recipe;

/* What a tensor is to the recipe. */
typedef enum tlv_weight_role {
    TLV_ROLE_OTHER = 0,      /* norms, biases, patch conv, position/class embeddings: as stored */
    TLV_ROLE_LLM_LINEAR,
    TLV_ROLE_EMBED,
    TLV_ROLE_HEAD,
    TLV_ROLE_VISION_LINEAR   /* the tower's and the connector's linear weights */
} tlv_weight_role;

/* The parts of a model (tlv_model_get_part lists them in this order). */
typedef enum tlv_model_part_id {
    TLV_PART_VISION = 0,     /* the vision tower: patch embedding, positions, layers, norms */
    TLV_PART_CONNECTOR,
    TLV_PART_EMBED,          /* the token embedding */
    TLV_PART_LAYERS,         /* the LLM's layers and its final norm */
    TLV_PART_HEAD,           /* the output head (weight and bias); tied: none of its own */
    TLV_PART_COUNT
} tlv_model_part_id;

/* "vision tower", "connector", "embedding", "LLM layers", "output head" */
const char *tlv__part_name(tlv_model_part_id p);

/* Parses one format name: NULL or "" leaves *quant 0 (as published); "q8_0" / "q4_0" set *quant
 * and *fmt; anything else is TLV_ERR_INVALID_ARG naming the option (what) and the value. */
tlv_status tlv__recipe_parse_format(const char *what, const char *name, int *quant, tlv_dtype *fmt, tlv_err *err);
/* Both options at once (tlv_model_options.weights / .vision_weights). */
tlv_status tlv__recipe_parse(const char *weights, const char *vision_weights, tlv_recipe *out, tlv_err *err);
/* 1 when the recipe changes nothing (as published). */
int tlv__recipe_is_identity(const tlv_recipe *r);

/* The dtype a tensor of `role` stored as `stored` takes under r, for a row of row_len elements
 * (its last dimension; ndim < 2: never quantized). r may be NULL (as published). TLV_ERR_UNSUPPORTED
 * for a quantized tensor the recipe asks to requantize to another format (the message names the
 * tensor, file = where it is stored, for the message). */
tlv_status tlv__recipe_dtype(const tlv_recipe *r, tlv_weight_role role, tlv_dtype stored, int ndim, int64_t row_len,
                             const char *file, const char *name, tlv_dtype *out, tlv_err *err);

#endif
