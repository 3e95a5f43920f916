/* model.h: a TinyLLaVA model on the device: the architecture as data (what MODELS.md says each
 * family does) and the weights, bound from the checkpoint's tensor names.
 *
 *   image -> vision tower (SigLIP | CLIP) -> select layer, drop token -> connector (mlp2x_gelu)
 *         -> rows in LLM width, spliced at the <image> placeholder -> LLM (phi | llama | qwen2 |
 *         gemma | stablelm | openelm) -> logits
 *
 * Shapes use MODELS.md's names: a Linear weight is [out, in]; activations [rows, width].
 * A tensor with n_slabs == 0 is absent (no bias, tied head...). */
#ifndef TLV_MODEL_MODEL_H
#define TLV_MODEL_MODEL_H

#include <stdint.h>

#include "formats/config.h"
#include "formats/safetensors.h"
#include "model/recipe.h"
#include "ops/basic.h"
#include "ops/ops.h"
#include "tensor.h"

#define TLV_MAX_LAYERS 128

/* The LLM, as data. Filled from the config by tlv__model_load; the graph functions (graph.c)
 * branch on these fields only, never on the architecture name. */
typedef struct tlv_llm_desc {
    tlv_llm_arch arch;
    int n_layer, hidden, vocab;
    int n_head[TLV_MAX_LAYERS], n_kv_head[TLV_MAX_LAYERS], ffn[TLV_MAX_LAYERS]; /* per layer (OpenELM varies) */
    int head_dim;
    int rot_dim;              /* rotated dims of each head (partial rotary: Phi-2 32 of 80) */
    float rope_theta;
    tlv_norm_kind norm;       /* LAYER (phi, stablelm), RMS (llama, qwen2, openelm), RMS_1P (gemma) */
    float norm_eps;
    int parallel;             /* Phi-2: x + attn(h) + mlp(h) with one norm */
    int gated;                /* SwiGLU/GeGLU: act(gate) * up */
    int fused_qkv;            /* q, k, v as one weight (layer.qkv): OpenELM's qkv_proj, or the
                                 loader's concatenation of q_proj/k_proj/v_proj (every other LLM,
                                 unless their dtypes differ: then 0) */
    int fused_gate_up;        /* gated MLPs: gate and up as one weight [gate | up] (layer.up):
                                 OpenELM's proj_1, or the loader's concatenation, same rule */
    int qk_norm;              /* OpenELM per-head q_norm, k_norm */
    tlv_act act;
    float embed_scale;        /* Gemma: sqrt(hidden) on every input row (text and image); else 1 */
    int max_pos;
    int bos_id, eos_id;
} tlv_llm_desc;

typedef struct tlv_vision_desc {
    tlv_vision_arch arch;
    int image_size, patch, grid;   /* grid = image_size / patch (valid conv) */
    int hidden, n_head, head_dim, ffn;
    int n_run;                     /* encoder layers to run: the selected layer's output */
    tlv_act act;
    float eps;
    int class_token;               /* CLIP: CLS at row 0, pre_layrnorm */
    int drop_first;                /* strategy "patch": drop row 0 (CLS for CLIP; the first patch for Factory SigLIP) */
    int n_tokens;                  /* rows per image handed to the connector */
} tlv_vision_desc;

typedef struct tlv_linear {
    tlv_tensor w, b;                /* b absent when the layer has no bias */
} tlv_linear;

typedef struct tlv_norm_w {
    tlv_tensor w, b;
} tlv_norm_w;

typedef struct tlv_llm_layer {
    tlv_norm_w attn_norm, ffn_norm;         /* ffn_norm absent for Phi-2 (parallel) */
    tlv_linear q, k, v, qkv, o;             /* qkv when fused_qkv, else q, k, v */
    tlv_tensor q_norm, k_norm;              /* OpenELM */
    tlv_linear gate, up, down;              /* non-gated: up = fc1, down = fc2; fused_gate_up: up = [gate | up] */
} tlv_llm_layer;

typedef struct tlv_vision_layer {
    tlv_norm_w ln1, ln2;
    tlv_linear q, k, v, o, fc1, fc2;
} tlv_vision_layer;

typedef struct tlv_model_weights {
    /* vision */
    tlv_tensor patch_w, patch_b, class_emb, pos_emb;
    tlv_norm_w pre_norm;                    /* CLIP pre_layrnorm */
    tlv_vision_layer vlayers[TLV_MAX_LAYERS];
    /* connector */
    tlv_linear conn1, conn2;
    /* LLM */
    tlv_tensor embed;                       /* [vocab, hidden] */
    tlv_llm_layer layers[TLV_MAX_LAYERS];
    tlv_norm_w final_norm;
    tlv_linear lm_head;                     /* w absent when tied: use embed */
    tlv_tensor rope_table;                  /* [max_ctx, rot_dim] F32 (attention.h) */
} tlv_model_weights;

/* The figures of one part of the model (recipe.h's parts; tlv_model_get_part): what it holds on
 * the device, by dtype, for its matrices (2+ dims) and its vectors (norms, biases). */
typedef struct tlv_part_stats {
    uint64_t bytes, n_params;
    uint32_t n_tensors;                     /* source tensors (a fused q/k/v counts 3) */
    uint64_t matrix_bytes[TLV_DTYPE_COUNT], vector_bytes[TLV_DTYPE_COUNT];
} tlv_part_stats;

typedef struct tlv_model_core {
    const tlv_allocator *alloc;
    tlv_vk_device *dev;
    tlv_model_config cfg;
    tlv_llm_desc llm;
    tlv_vision_desc vis;
    tlv_model_weights w;
    int max_ctx;                            /* rope table rows; sessions use at most this */
    uint64_t device_bytes, n_params;
    tlv_dtype weight_dtype;                 /* of the LLM's first layer's o projection */
    tlv_recipe recipe;                      /* what the weights were loaded with */
    tlv_part_stats parts[TLV_PART_COUNT];
    int tied_head;                          /* the output head is the embedding */
} tlv_model_core;

typedef int (*tlv_load_progress_fn)(void *user_data, uint64_t done, uint64_t total);

/* Reads config + checkpoint from dir, checks every tensor's name, shape and dtype, uploads the
 * weights (bounded staging; direct on UMA) and reports missing or unexpected tensors by name.
 * max_ctx 0: the model's own limit. */
tlv_status tlv__model_load(tlv_vk_device *dev, const char *dir, int max_ctx, tlv_load_progress_fn progress,
                           void *progress_ud, const tlv_allocator *alloc, tlv_model_core **out, tlv_err *err);
/* The same with a recipe (recipe.h; NULL: as published): the weights it quantizes are quantized
 * on load, streaming from the mmap a chunk of rows at a time. */
tlv_status tlv__model_load_recipe(tlv_vk_device *dev, const char *dir, int max_ctx, const tlv_recipe *recipe,
                                  tlv_load_progress_fn progress, void *progress_ud, const tlv_allocator *alloc,
                                  tlv_model_core **out, tlv_err *err);
void tlv__model_destroy(tlv_model_core *m);

/* A model with the shapes of cfg and random weights of dtype generated on the device (the bench:
 * nothing to download; synth.c). The numbers are meaningless; the work is the real model's. A
 * block dtype (Q8_0, Q4_0) means F16 weights with that recipe (--weights), as the bench's -t. */
tlv_status tlv__model_synthetic(tlv_vk_device *dev, const struct tlv_model_config *cfg, tlv_dtype dtype, int max_ctx,
                                const tlv_allocator *alloc, tlv_model_core **out, tlv_err *err);
/* dtype F32, F16 or BF16, and a recipe on top (NULL: none). */
tlv_status tlv__model_synthetic_recipe(tlv_vk_device *dev, const struct tlv_model_config *cfg, tlv_dtype dtype,
                                       const tlv_recipe *recipe, int max_ctx, const tlv_allocator *alloc,
                                       tlv_model_core **out, tlv_err *err);

/* The first pass of a load without a device: reads dir's config and finds every tensor in src (a
 * checkpoint source, source.h) with every check a load makes, so that afterwards
 * tlv__source_checkpoint_target says what each tensor becomes (tlv__model_quantize). */
struct tlv_weight_source;
tlv_status tlv__model_plan(const char *dir, struct tlv_weight_source *src, const tlv_allocator *alloc, tlv_err *err);

/* Writes a quantized copy of checkpoint folder src into folder dst (created if missing; it must not
 * hold a checkpoint already): model.safetensors with the recipe's tensors as U8 [rows, row bytes]
 * in GGUF's block order and the tlv.* metadata (docs/FORMATS.md), every other tensor as stored,
 * then config, tokenizer and preprocessor files copied (every regular file but weights). Streams:
 * a chunk of rows at a time; no device. progress(ud, done, total) in source bytes; nonzero
 * cancels (TLV_ERR_CANCELLED, nothing left behind but the copied files). */
tlv_status tlv__model_quantize(const char *src, const char *dst, const tlv_recipe *recipe, tlv_load_progress_fn progress,
                               void *progress_ud, const tlv_allocator *alloc, tlv_err *err);

/* Scratch of one session: planned once for at most n_batch rows per forward pass, n_ctx
 * positions of KV cache and one image at a time. */
typedef struct tlv_model_scratch {
    int n_batch, n_ctx;
    tlv_dtype kv_dtype;                     /* of kcache/vcache: F16 or F32 */
    uint64_t kv_bytes;                      /* device bytes of every layer's K and V caches */
    /* LLM */
    tlv_tensor x, h, q, k, v, qkv, a, f1, f2, f3, last, logits;
    tlv_tensor kcache[TLV_MAX_LAYERS], vcache[TLV_MAX_LAYERS];
    tlv_tensor attn_scratch;
    tlv_vk_buffer ids;                      /* int32 [n_batch], host-visible */
    /* vision */
    tlv_tensor img, vx, vh, vq, vk, vv, va, vf, vsel, vc;
    tlv_tensor vattn_scratch;
} tlv_model_scratch;

/* The KV cache's dtype when nobody chooses one (tlv_session_options.kv_type TLV_KV_DEFAULT, the
 * bench without --kv): docs/RUNTIME notes in docs/ARCHITECTURE.md "KV cache precision". */
#define TLV_KV_DTYPE_DEFAULT TLV_F32

/* tlv__model_scratch_create_kv with the KV cache in TLV_KV_DTYPE_DEFAULT. */
tlv_status tlv__model_scratch_create(tlv_model_core *m, int n_batch, int n_ctx, tlv_model_scratch *s, tlv_err *err);
/* kv_dtype: TLV_F16 (the f16 KV cache: K and V stored as f16, attention in f32) or TLV_F32. */
tlv_status tlv__model_scratch_create_kv(tlv_model_core *m, int n_batch, int n_ctx, tlv_dtype kv_dtype,
                                        tlv_model_scratch *s, tlv_err *err);
void tlv__model_scratch_destroy(tlv_model_core *m, tlv_model_scratch *s);

/* Records the vision tower + connector for one preprocessed image (F32 CHW in sc->img) into
 * features (F32 [vis.n_tokens, llm.hidden]). */
tlv_status tlv__model_record_image(tlv_model_core *m, tlv_model_scratch *sc, tlv_stream *s, tlv_tensor *features);

/* One piece of an LLM input sequence: n text ids (already in sc->ids at element id0) or the rows
 * of an image's features. */
typedef struct tlv_input_span {
    int n;
    int id0;                 /* text: index into sc->ids; -1 for an image */
    const tlv_tensor *image; /* image features, or NULL */
    int image_row0;          /* first feature row used */
} tlv_input_span;

/* Records the forward pass of n rows (the spans, in order, n <= n_batch) at positions
 * pos0 .. pos0+n-1, writing KV for those positions, and the logits of the last row into
 * sc->logits (F32 [1, vocab], host-visible). */
tlv_status tlv__model_record_llm(tlv_model_core *m, tlv_model_scratch *sc, tlv_stream *s, const tlv_input_span *spans,
                                 int n_spans, int pos0);

#endif
