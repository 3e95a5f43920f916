/* config.h: a TinyLLaVA checkpoint's config.json (+ preprocessor_config.json) as one struct.
 *
 * Three checkpoint generations (MODELS.md 1-2) are read into the same record:
 *
 *   generation  recognised by                         LLM fields            tensor prefixes
 *   factory     model_type "tinyllava"                text_config {...}     language_model.
 *               (TinyLLaVA_Factory, transformers      vision_config {...}   vision_tower._vision_tower.vision_model.
 *               4.40.1)                                                     connector._connector.{0,2}.
 *   legacy      model_type tiny_llava_phi /            top level, mm_*       (none: model.*, lm_head.*)
 *               tiny_llava_stablelm / tiny_llava /     fields for vision     model.vision_tower.vision_tower.vision_model.
 *               llava_phi..., or mm_vision_tower       and projector         model.mm_projector.{0,2}.
 *               (TinyLLaVABench)
 *   hf_llava    model_type "llava"                     text_config {...}     language_model.
 *               (LlavaForConditionalGeneration,        vision_config {...}   vision_tower.vision_model.
 *               bczhou/tiny-llava-v1-hf)                                     multi_modal_projector.linear_{1,2}.
 *
 * transformers writes nested configs as a diff: keys equal to the config class's default are
 * left out (fixtures/README.md "Omitted config keys"). Every omitted key is filled from the
 * default of the transformers 4.40.1 class named by model_type (config_defaults.c cites each
 * class), so e.g. a Llama text_config without rope_theta means 10000.
 *
 * Checks (errors name the file and field, expected vs found): unknown or unsupported
 * model_type / activation / connector / aspect ratio / rope_scaling; hidden size not divisible by
 * the head count (when head_dim is not given); query heads not a multiple of KV heads; rotary
 * dims odd or larger than head_dim; vision image smaller than a patch; vision_feature_layer out
 * of range; layer counts over TLV_CONFIG_MAX_LAYERS; top-level hidden_size / vision_hidden_size /
 * mm_hidden_size disagreeing with the nested configs.
 *
 * What the tensors decide, not the config: lm_head bias presence (Factory Phi has one, legacy Phi
 * not), whether a tied model also stores lm_head, the weights' dtype. The model code reads those
 * from the checkpoint. */
#ifndef TLV_FORMATS_CONFIG_H
#define TLV_FORMATS_CONFIG_H

#include <stdint.h>

#include "core/error.h"

#define TLV_CONFIG_MAX_LAYERS 256
#define TLV_CONFIG_NAME_MAX 256
#define TLV_CONFIG_MAX_IMAGE_SIZE 8192 /* vision image_size, pixels */
#define TLV_CONFIG_MAX_DIM (1 << 24)    /* any width, vocabulary or head count */

typedef enum tlv_generation {
    TLV_GEN_FACTORY = 1, /* TinyLLaVA_Factory, model_type "tinyllava" */
    TLV_GEN_LEGACY,      /* TinyLLaVABench */
    TLV_GEN_HF_LLAVA     /* transformers LlavaForConditionalGeneration */
} tlv_generation;

typedef enum tlv_llm_arch {
    TLV_ARCH_PHI = 1,
    TLV_ARCH_LLAMA,
    TLV_ARCH_QWEN2,
    TLV_ARCH_GEMMA,
    TLV_ARCH_STABLELM,
    TLV_ARCH_OPENELM
} tlv_llm_arch;

/* Activation and norm as the config names them. The ops layer has its own enums (ops/ops.h
 * tlv_act, ops/norm.h tlv_norm_kind); formats/ must not include ops/, so the model code maps
 * these one to one. */
typedef enum tlv_cfg_norm {
    TLV_CFG_NORM_LAYER = 1, /* (x - mean) / sqrt(var + eps) * w + b */
    TLV_CFG_NORM_RMS,       /* x * rsqrt(mean(x^2) + eps) * w */
    TLV_CFG_NORM_RMS_1P  /* x * rsqrt(mean(x^2) + eps) * (1 + w) */
} tlv_cfg_norm;

typedef enum tlv_cfg_act {
    TLV_CFG_ACT_GELU_TANH = 1, /* gelu_new, gelu_pytorch_tanh, gelu_fast */
    TLV_CFG_ACT_GELU_ERF,      /* gelu (exact) */
    TLV_CFG_ACT_QUICK_GELU,    /* x * sigmoid(1.702 x) */
    TLV_CFG_ACT_SILU           /* silu, swish */
} tlv_cfg_act;

typedef enum tlv_vision_arch { TLV_VISION_SIGLIP = 1, TLV_VISION_CLIP } tlv_vision_arch;
typedef enum tlv_connector_kind { TLV_CONNECTOR_MLP2X_GELU = 1 } tlv_connector_kind;
/* SQUARE: no padding (the processor's resize decides: SigLIP stretches to SxS, CLIP resizes the
 * shortest edge and crops); PAD: expand2square with the mean colour first (MODELS.md 3.1). */
typedef enum tlv_aspect { TLV_ASPECT_SQUARE = 1, TLV_ASPECT_PAD } tlv_aspect;
typedef enum tlv_resize_kind {
    TLV_RESIZE_EXACT = 1,    /* to resize_h x resize_w (SigLIP) */
    TLV_RESIZE_SHORTEST_EDGE /* shortest edge to shortest_edge, long edge int(s * long / short) (CLIP) */
} tlv_resize_kind;

struct tlv_llm_config {
    tlv_llm_arch arch;
    char model_type[32];      /* as written: "phi", "llama", "stablelm_epoch", ... */
    int32_t hidden;           /* hidden_size (OpenELM model_dim) */
    int32_t n_layer;
    int32_t n_head;           /* query heads; OpenELM: the largest over layers */
    int32_t n_kv_head;        /* OpenELM: the largest over layers */
    int32_t head_dim;
    int32_t intermediate;     /* FFN inner width (gate/up rows); OpenELM: the largest over layers */
    int32_t vocab;            /* embedding rows (config vocab_size; the tensor is authoritative) */
    int32_t max_positions;
    double rope_theta;
    double partial_rotary_factor; /* 1.0 = full */
    int32_t rotary_dim;           /* rotated dims per head: int(head_dim * partial_rotary_factor) */
    tlv_cfg_norm norm;
    double norm_eps;
    tlv_cfg_act act;
    char act_name[24];        /* the effective activation's transformers name, e.g. "gelu_new" */
    int tie_embeddings;       /* logits use the embedding table */
    int qkv_bias;             /* q/k/v projections have bias */
    int o_bias;               /* output projection has bias (Phi "dense") */
    int mlp_bias;             /* FFN projections have bias (Phi fc1/fc2) */
    int gated_mlp;            /* act(gate) * up (all but Phi) */
    int qk_norm;              /* per-head norm on q and k (Phi/StableLM qk_layernorm, OpenELM) */
    int parallel_residual;    /* x + attn(h) + mlp(h) with one norm (Phi; StableLM option) */
    int scale_embeddings;     /* Gemma: every input row, image rows too, times sqrt(hidden) (MODELS.md 3.5) */
    int32_t sliding_window;   /* 0 = none (Qwen2 with use_sliding_window false) */
    int32_t bos_id, eos_id, pad_id; /* -1 when the config has none */
    /* Per layer, filled for every architecture (uniform ones repeat the values above). */
    int32_t layer_n_head[TLV_CONFIG_MAX_LAYERS];
    int32_t layer_n_kv_head[TLV_CONFIG_MAX_LAYERS];
    int32_t layer_intermediate[TLV_CONFIG_MAX_LAYERS];
};

struct tlv_vision_config {
    tlv_vision_arch arch;
    char model_type[32];      /* "siglip_vision_model", "clip_vision_model" */
    int32_t image_size, patch_size, n_channels;
    int32_t grid;             /* image_size / patch_size: the conv has no padding, the rest is ignored */
    int32_t n_positions;      /* grid^2, + 1 with CLIP's class token */
    int has_class_token;      /* CLIP */
    int32_t hidden, n_layer, n_head, head_dim, intermediate;
    tlv_cfg_act act;
    char act_name[24];
    double norm_eps;
    int sizes_assumed;        /* legacy config without a vision config: family sizes assumed, check shapes */
};

struct tlv_preprocess_config {
    int from_file;            /* preprocessor_config.json was read; else the tower family's defaults */
    float mean[3], std[3];
    double rescale_factor;    /* 1/255 */
    int do_resize, do_rescale, do_normalize, do_center_crop;
    tlv_resize_kind resize;
    int32_t resize_h, resize_w;   /* TLV_RESIZE_EXACT */
    int32_t shortest_edge;        /* TLV_RESIZE_SHORTEST_EDGE */
    int32_t crop_h, crop_w;       /* when do_center_crop */
    int32_t resample;             /* PIL code: 3 = bicubic */
};

typedef struct tlv_model_config {
    tlv_generation generation;
    char model_type[32];              /* top level */
    struct tlv_llm_config llm;
    struct tlv_vision_config vision;
    struct tlv_preprocess_config preprocess;
    int32_t feature_layer;            /* vision_feature_layer / mm_vision_select_layer, e.g. -2 */
    int32_t vision_layers_run;        /* encoder layers to run: hidden_states[k] is after k layers */
    char select_strategy[16];         /* "patch", "cls_patch", "default", "full" as written */
    int drop_first_token;             /* the selected features lose token 0 (MODELS.md 3.2, 6.1) */
    int32_t n_image_tokens;           /* rows one image contributes to the LLM sequence */
    tlv_connector_kind connector;
    tlv_aspect aspect;
    int32_t image_token_index;        /* -200 (factory, legacy) or 32000 (hf_llava) */
    int32_t tokenizer_max_length;     /* tokenizer_model_max_length; 0 if absent */
    char llm_name[TLV_CONFIG_NAME_MAX];       /* llm_model_name_or_path (hub name) */
    char vision_name[TLV_CONFIG_NAME_MAX];    /* vision_model_name_or_path / mm_vision_tower */
    char tokenizer_name[TLV_CONFIG_NAME_MAX]; /* tokenizer_name_or_path (defaults to llm_name) */
    /* Tensor-name prefixes of this generation (static strings). */
    const char *prefix_llm;           /* + "model.layers.0..." / "lm_head.weight" / "transformer..." */
    const char *prefix_vision;        /* + "embeddings.patch_embedding.weight", "encoder.layers.0..." */
    const char *prefix_connector_0;   /* + "weight" / "bias": first Linear */
    const char *prefix_connector_2;   /* second Linear */
} tlv_model_config;

/* Reads dir/config.json and, when present, dir/preprocessor_config.json (a wrapper over
 * tlv__config_parse's checks: the same record, the same messages). */
tlv_status tlv__config_load(const char *dir, struct tlv_model_config *cfg, tlv_err *err);
/* The same from text in memory (NUL-terminated): config_json is config.json's text,
 * preprocessor_json that of preprocessor_config.json or NULL (the defaults, as when the file is
 * absent). name stands for the folder in messages ("<name>/config.json: ..."); NULL: "(text)". */
tlv_status tlv__config_parse(const char *name, const char *config_json, const char *preprocessor_json,
                             struct tlv_model_config *cfg, tlv_err *err);

const char *tlv__generation_name(tlv_generation g); /* "factory", "legacy", "hf_llava" */
const char *tlv__llm_arch_name(tlv_llm_arch a);     /* "phi", "llama", ... */

#endif
