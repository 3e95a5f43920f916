/* config_int.h: what config.c and config_nets.c share (config.h is what the rest may call). */
#ifndef TLV_FORMATS_CONFIG_INT_H
#define TLV_FORMATS_CONFIG_INT_H

#include "formats/config.h"
#include "formats/json.h"

/* Fills llm from the defaults of the transformers 4.40.1 class for model_type, then from the
 * keys present in obj (a text_config, or the top level of a legacy config); `where` names obj in
 * messages (NULL at the top level). legacy: model_type is the LLM's own ("phi", "llama",
 * "stablelm_epoch"), picked by the caller from the legacy model_type. Checks the LLM's own
 * consistency. Errors go to r. */
tlv_status tlv__config_read_llm(tlv_json_reader *r, const cJSON *obj, const char *where, const char *model_type,
                                struct tlv_llm_config *llm);

/* Fills v from SiglipVisionConfig / CLIPVisionConfig defaults (kind), then obj (may be NULL). */
tlv_status tlv__config_read_vision(tlv_json_reader *r, const cJSON *obj, const char *where, tlv_vision_arch kind,
                                   struct tlv_vision_config *v);

/* The published towers' sizes (siglip-so400m-patch14-384, clip-vit-large-patch14-336), for
 * legacy configs that name the tower but do not describe it. */
void tlv__config_vision_assume(tlv_vision_arch kind, struct tlv_vision_config *v);

/* Activation by transformers name (ACT2FN keys we support); 0 if unknown. */
tlv_cfg_act tlv__config_act_from_name(const char *name);

#endif
