/* tinyllava.h: the public C API of libtinyllava.
 *
 * Run TinyLLaVA vision-language models (published Hugging Face checkpoints, as published) on any
 * Vulkan 1.1 device.
 *
 *   tlv_context   one per application (or per thread group): the Vulkan instance, the chosen
 *                 device, the log callback, the allocator. No global state: two contexts are
 *                 independent.
 *   tlv_model     weights on the device + tokenizer + config. Immutable once loaded; several
 *                 sessions may share it.
 *   tlv_session   one conversation: its KV cache, images and history. One thread at a time
 *                 (different sessions may run on different threads at once).
 *   tlv_vocab     a checkpoint's tokenizer and chat template alone: no weights, no device.
 *
 * Errors: every function returns tlv_status (TLV_OK = 0). The message of the last failure lives on
 * the handle it happened on: tlv_context_errmsg() for context and model-loading calls,
 * tlv_session_errmsg() for session calls, tlv_vocab_errmsg() for vocab calls. A message stays valid until the next call on that
 * handle. A failed call leaves its out-parameters NULL/zero and runs no callback afterwards.
 * No function exits or aborts the process.
 *
 * Ownership: strings returned by the library are owned by the handle they came from and live as
 * long as it (or until the next call, where said). `_destroy(NULL)` does nothing. Callbacks'
 * arguments live only during the call.
 *
 * Typical use:
 *
 *     tlv_context *ctx;
 *     if (tlv_context_create(NULL, &ctx)) { puts(tlv_context_errmsg(ctx)); ... }
 *     tlv_model *m;
 *     if (tlv_model_load(ctx, "Zhang199/TinyLLaVA-Qwen2-0.5B-SigLIP", NULL, &m)) ...
 *     tlv_session *s;
 *     tlv_session_create(m, NULL, &s);
 *     tlv_session_add_image_file(s, "cat.jpg");
 *     tlv_session_add_text(s, "What is in the picture?");
 *     tlv_session_generate(s, NULL, on_token, NULL, NULL);   // streams UTF-8 pieces
 *     tlv_session_destroy(s); tlv_model_destroy(m); tlv_context_destroy(ctx);
 */
#ifndef TINYLLAVA_H
#define TINYLLAVA_H

#include <stddef.h>
#include <stdint.h>

#include "tinyllava_alloc.h"
#include "tinyllava_log.h"
#include "tinyllava_status.h"

#if defined(_WIN32) && defined(TLV_SHARED)
#if defined(TLV_BUILDING_LIBRARY)
#define TLV_API __declspec(dllexport)
#else
#define TLV_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) && defined(TLV_BUILDING_LIBRARY)
#define TLV_API __attribute__((visibility("default")))
#else
#define TLV_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tlv_context tlv_context;
typedef struct tlv_model tlv_model;
typedef struct tlv_session tlv_session;
typedef struct tlv_vocab tlv_vocab;

/* ------------------------------------------------------------------ version */

/* "0.1.0" */
TLV_API const char *tlv_version(void);
/* What this build contains: version, compiler, options and how the shaders are built, e.g.
 * "tinyllava-vk 0.1.0; C11; gcc 12.2.0; Vulkan 1.1 via volk; shaders: GLSL 450 -> SPIR-V, embedded". */
TLV_API const char *tlv_build_info(void);
/* "invalid argument", "no Vulkan device", ... for any status. */
TLV_API const char *tlv_status_string(tlv_status status);

/* ------------------------------------------------------------------ context */

typedef struct tlv_context_options {
    const tlv_allocator *allocator; /* NULL: malloc/free; borrowed, must outlive the context */
    tlv_log_fn log;                  /* NULL: no logging */
    void *log_user_data;
    tlv_log_level log_level;         /* default TLV_LOG_WARN */
    const char *device;              /* NULL/"": $TLV_DEVICE, else discrete > integrated > virtual > CPU;
                                        "N": device N; otherwise a substring of the device name */
    int validation;                  /* 1: Khronos validation layer (also TLV_VALIDATION=1) */
    const char *cache_dir;           /* the folder for the pipeline cache and for downloads. NULL:
                                        pipelines in $TLV_CACHE_DIR, else $XDG_CACHE_HOME/tinyllava,
                                        else ~/.cache/tinyllava; downloads in $TINYLLAVA_CACHE, else
                                        the same default. "" disables the pipeline cache */
    int no_vulkan;                   /* 1: never load Vulkan. The context can pull models
                                        (tlv_model_pull) and open vocabularies (tlv_vocab_open),
                                        which need no device, and nothing else: a tool that only
                                        tokenizes runs where no driver is installed */
} tlv_context_options;

TLV_API void tlv_context_options_init(tlv_context_options *o);

/* Creates a context. Without a Vulkan driver it still returns a context (so *out is non-NULL
 * unless memory ran out) whose errmsg says "no Vulkan driver found ..." and the status is
 * TLV_ERR_NO_DEVICE; such a context lists no device and loads no model, but can still pull
 * models and open vocabularies, as a no_vulkan one can. */
TLV_API tlv_status tlv_context_create(const tlv_context_options *o, tlv_context **out);
TLV_API void tlv_context_destroy(tlv_context *ctx);
TLV_API const char *tlv_context_errmsg(const tlv_context *ctx);

typedef struct tlv_device_info {
    char name[256];
    char driver[520];       /* driver name and info */
    char type[16];          /* "discrete", "integrated", "virtual", "cpu", "other" */
    uint32_t vendor_id, device_id;
    uint64_t memory_bytes;  /* device-local heaps */
    int selected;           /* the context uses this one */
} tlv_device_info;

TLV_API uint32_t tlv_device_count(const tlv_context *ctx);
TLV_API tlv_status tlv_device_get_info(tlv_context *ctx, uint32_t index, tlv_device_info *info);
/* One-line capability banner of device `index`, into buf (always NUL-terminated). */
TLV_API tlv_status tlv_device_banner(tlv_context *ctx, uint32_t index, char *buf, size_t size);

/* ---- the device's tuning record ----
 * One line describing the tuning record of device `index` (docs/DEVICES.md "Tuning"): the row of
 * the tuning table that matched it, every kernel choice (texel reads, matvec modes and shapes,
 * tiles, attention split, norm and elementwise workgroups), and what the device's limits and the
 * TLV_TUNE_<FIELD> switches changed: "row: lavapipe, Mesa < 25 | texel 1 | matvec ...". Into buf,
 * always NUL-terminated, cut to size (1024 bytes hold it). TLV_ERR_INVALID_ARG with the switch
 * named in the message when a TLV_TUNE_* value is bad (creating that device fails the same way). */
TLV_API tlv_status tlv_device_tuning(tlv_context *ctx, uint32_t index, char *buf, size_t size);

/* Receives pieces of text as they are decoded (an answer in tlv_session_generate, ids in
 * tlv_vocab_decode_pieces): whole UTF-8 characters, never split; piece lives only during the
 * call. Return nonzero to stop (generate then returns TLV_OK with stop reason "callback"). */
typedef int (*tlv_token_fn)(void *user_data, const char *piece, size_t len, int32_t token_id);

/* ------------------------------------------------------------------ models */

/* Progress: stage ("download", "load", "quantize"), done and total in bytes. Return nonzero to cancel
 * (the call then fails with TLV_ERR_CANCELLED). Called on the loading thread. */
typedef int (*tlv_progress_fn)(void *user_data, const char *stage, uint64_t done, uint64_t total);

typedef struct tlv_model_options {
    uint32_t max_context;     /* 0: the model's own limit (tokenizer_model_max_length / max positions) */
    const char *chat_template;/* NULL: chosen from the checkpoint; else "phi", "llama", "gemma",
                                 "qwen2_base", "qwen2_instruct", "phi_legacy", "v1" */
    tlv_progress_fn progress;
    void *progress_user_data;
    int offline;              /* 1: never touch the network, use the cache only */
    const char *weights;      /* NULL or "": the LLM's weights as published; "q8_0" / "q4_0": its
                                 linear weights quantized on load (token embedding and output head
                                 q8_0; docs/MODELS.md "Quantized weights"). Another name fails
                                 with TLV_ERR_INVALID_ARG */
    const char *vision_weights; /* NULL or "": the vision tower and connector as published;
                                 "q8_0" / "q4_0": their linear weights quantized on load */
} tlv_model_options;

TLV_API void tlv_model_options_init(tlv_model_options *o);

/* Loads a model from a checkpoint directory or a Hugging Face id "ORG/NAME" (downloaded into the
 * cache on first use; honours HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE). Errors name the file,
 * tensor or field and what was expected vs found. */
TLV_API tlv_status tlv_model_load(tlv_context *ctx, const char *path_or_id, const tlv_model_options *o,
                                  tlv_model **out);
/* Downloads a model (a Hugging Face id, into the cache, resuming and checking what is there) or
 * checks a checkpoint folder, without loading it or touching a device: any context will do, one
 * without a driver or made with no_vulkan included. o may be NULL; its progress ("download"),
 * offline are used. The model's local folder is written to dir, NUL-terminated; a dir of cap
 * bytes too small fails with TLV_ERR_LIMIT (4096 is always enough on Linux). Errors in
 * tlv_context_errmsg(ctx). */
TLV_API tlv_status tlv_model_pull(tlv_context *ctx, const char *path_or_id, const tlv_model_options *o, char *dir,
                                  size_t cap);
TLV_API void tlv_model_destroy(tlv_model *m);

typedef struct tlv_model_info {
    const char *llm_arch;        /* "phi", "llama", "qwen2", "gemma", "stablelm", "openelm" */
    const char *vision_arch;     /* "siglip", "clip" */
    const char *generation;      /* "factory", "legacy", "hf_llava" */
    const char *chat_template;
    const char *weight_dtype;    /* "F16", "BF16", "F32", "Q8_0", "Q4_0" (of the LLM's first
                                    layer; tlv_model_get_part gives every part's) */
    uint32_t n_layer, hidden, n_head, n_kv_head, head_dim, vocab;
    uint32_t vision_layers, vision_hidden, image_size, patch_size;
    uint32_t tokens_per_image;
    uint32_t max_context;
    uint64_t n_params;
    uint64_t device_bytes;       /* weights on the device */
} tlv_model_info;

/* Strings in info live as long as the model. */
TLV_API tlv_status tlv_model_get_info(const tlv_model *m, tlv_model_info *info);

/* The parts of a loaded model, in this order: "vision tower", "connector", "embedding",
 * "LLM layers" (the final norm included), "output head" (`tinyllava info` lists them). */
typedef struct tlv_model_part {
    const char *name;
    const char *format;       /* the formats of its matrices (2+ dimensions), most bytes first,
                                 '+'-joined: "Q4_0", "Q4_0+F16" (some rows not multiples of 32),
                                 "BF16"; "tied" for an output head that is the embedding */
    const char *vector_format;/* the same for its vectors (norms, biases); "" when it has none */
    uint64_t bytes;           /* on the device */
    uint64_t n_params;
    uint32_t n_tensors;       /* checkpoint tensors */
} tlv_model_part;

TLV_API uint32_t tlv_model_part_count(const tlv_model *m);
/* Strings in part live as long as the model. TLV_ERR_NOT_FOUND for index >= the count. */
TLV_API tlv_status tlv_model_get_part(const tlv_model *m, uint32_t index, tlv_model_part *part);

/* Writes a quantized copy of a checkpoint (a folder or a Hugging Face id, pulled as
 * tlv_model_pull does) into the folder dst_dir (created if missing; it must not hold a checkpoint
 * already), without a device: any context will do, a no_vulkan one included. o->weights and
 * o->vision_weights give the recipe exactly as tlv_model_load takes it (at least one is needed),
 * o->progress is called with stage "quantize" (and "download"), o->offline is used. The folder
 * gets model.safetensors, the quantized tensors as U8 [rows, row bytes] in GGUF's block order with
 * their formats in __metadata__ (docs/FORMATS.md "Quantized checkpoints"), every other tensor as
 * stored, and every other file of the source (config, tokenizer, preprocessor) copied. Host
 * memory stays near a megabyte of rows whatever the model's size. Loading dst_dir gives the same
 * weights on the device as loading the source with the same recipe. Errors in
 * tlv_context_errmsg(ctx). */
TLV_API tlv_status tlv_model_quantize(tlv_context *ctx, const char *path_or_id, const char *dst_dir,
                                      const tlv_model_options *o);

/* Tokenizer access. tokenize writes at most cap ids and sets *n to the full count (call with
 * cap 0 to size). add_special: add BOS where the tokenizer does. */
TLV_API tlv_status tlv_model_tokenize(const tlv_model *m, const char *text, int add_special, int32_t *ids,
                                      size_t cap, size_t *n);
/* The text of one id as decode gives it, special tokens included ("<|endoftext|>" for Phi-2's
 * end token), as UTF-8 bytes into buf: at most cap bytes, not NUL-terminated (a byte token can
 * be part of a character); *n = the full length. */
TLV_API tlv_status tlv_model_token_text(const tlv_model *m, int32_t id, char *buf, size_t cap, size_t *n);

/* ------------------------------------------------------------------ vocabularies (no device)
 *
 * The tokenizer and chat template of a checkpoint, without its weights or a Vulkan device (as
 * llama.cpp's llama_vocab): what `tinyllava tokenize` uses. A vocab reads the tokenizer files
 * and, if present, config.json (which template the checkpoint was trained with). One thread at
 * a time per vocab; its errors are in tlv_vocab_errmsg. */

/* Opens path_or_id (a checkpoint folder, or a Hugging Face id, pulled as tlv_model_pull does)
 * on any context (one without a driver or made with no_vulkan included). o may be NULL; its
 * chat_template, progress and offline are used. Destroy the vocab before the context. On failure
 * *out is NULL and the message is in tlv_context_errmsg(ctx). */
TLV_API tlv_status tlv_vocab_open(tlv_context *ctx, const char *path_or_id, const tlv_model_options *o,
                                  tlv_vocab **out);
TLV_API void tlv_vocab_destroy(tlv_vocab *v);
TLV_API const char *tlv_vocab_errmsg(const tlv_vocab *v);

typedef struct tlv_vocab_info {
    const char *kind;           /* "bpe" (byte-level BPE) or "spm" (SentencePiece BPE) */
    int32_t n_tokens;           /* ids 0 .. n_tokens-1, added tokens included (HF len(tokenizer)) */
    int32_t bos_id, eos_id;     /* -1: none */
    int add_bos;                /* encode with add_special puts BOS first */
    int32_t image_token_id;     /* what an image placeholder becomes (-200 for TinyLLaVA) */
    const char *chat_template;  /* "phi", "llama", ...; NULL when there is none (no config.json
                                   and no tlv_model_options.chat_template) */
} tlv_vocab_info;

/* Strings in info live as long as v. */
TLV_API tlv_status tlv_vocab_get_info(const tlv_vocab *v, tlv_vocab_info *info);
/* Encodes len bytes of text (special tokens written in it are recognised; invalid UTF-8 becomes
 * U+FFFD), as the Hugging Face slow tokenizers do. add_special: BOS where the tokenizer adds one.
 * Writes at most cap ids and sets *n to the full count (call with cap 0 to size). */
TLV_API tlv_status tlv_vocab_encode(tlv_vocab *v, const char *text, size_t len, int add_special, int32_t *ids,
                                    size_t cap, size_t *n);
/* The token of id in its vocabulary form ("Ġworld", "▁def", "<0x0A>"), as transformers'
 * convert_ids_to_tokens shows it: NUL-terminated, owned by v, lives as long as v. NULL for an id
 * that is not a token. */
TLV_API const char *tlv_vocab_token(const tlv_vocab *v, int32_t id);
/* Decodes ids to UTF-8 text as Hugging Face decode(ids, skip_special_tokens=skip_special) does.
 * Writes at most cap bytes and a NUL when they fit (cap > *n); *n = the full length without the
 * NUL (call with cap 0 to size). An id that is not a token is TLV_ERR_INVALID_ARG. */
TLV_API tlv_status tlv_vocab_decode(tlv_vocab *v, const int32_t *ids, size_t n_ids, int skip_special, char *text,
                                    size_t cap, size_t *n);
/* Decodes ids one at a time, as generation streams them: cb gets, for every id in order, the text
 * it completes (whole UTF-8 characters; may be empty, len 0), then, if anything is left (a
 * character that never completed), one last call with token_id -1. The pieces join to
 * tlv_vocab_decode's text. cb returning nonzero stops (TLV_OK). */
TLV_API tlv_status tlv_vocab_decode_pieces(tlv_vocab *v, const int32_t *ids, size_t n_ids, int skip_special,
                                           tlv_token_fn cb, void *user_data);

/* One turn of a conversation for the chat template. */
typedef struct tlv_turn {
    const char *user;      /* UTF-8; "" for none */
    uint32_t n_images;     /* images of this turn: each becomes one "<image>" before the text */
    const char *assistant; /* the answer; NULL for the open last turn (ends with "ASSISTANT:") */
} tlv_turn;

/* Renders a conversation with the vocab's chat template, exactly as a session would before
 * tokenizing it. Every turn but the last must have its assistant text. Writes at most cap bytes
 * and a NUL when they fit; *n = the full length without the NUL (call with cap 0 to size).
 * TLV_ERR_UNSUPPORTED when the vocab has no template. */
TLV_API tlv_status tlv_vocab_render_chat(tlv_vocab *v, const tlv_turn *turns, size_t n_turns, char *text, size_t cap,
                                         size_t *n);

/* ------------------------------------------------------------------ sessions */

/* How the KV cache stores K and V. Attention reads either and computes in f32; f16 halves the
 * cache's bytes (docs/ARCHITECTURE.md "KV cache precision": the e2e outcome of each). */
typedef enum tlv_kv_type {
    TLV_KV_DEFAULT = 0,           /* the library's choice: TLV_KV_F32 (docs/ARCHITECTURE.md says why) */
    TLV_KV_F16 = 1,               /* IEEE half, values clamped to +-65504 */
    TLV_KV_F32 = 2
} tlv_kv_type;

typedef struct tlv_session_options {
    uint32_t n_ctx;               /* positions of KV cache; 0: the model's max_context, at most 2048 */
    uint32_t kv_type;             /* tlv_kv_type; 0: TLV_KV_DEFAULT */
} tlv_session_options;

/* o may be NULL (all defaults). An unknown kv_type fails with TLV_ERR_INVALID_ARG (message in
 * tlv_context_errmsg). */
TLV_API tlv_status tlv_session_create(tlv_model *m, const tlv_session_options *o, tlv_session **out);

typedef struct tlv_session_info {
    uint32_t n_ctx;               /* positions of KV cache reserved */
    uint32_t kv_type;             /* in use: TLV_KV_F16 or TLV_KV_F32 (never TLV_KV_DEFAULT) */
    uint64_t kv_bytes;            /* device bytes of the KV cache: K and V, every layer, n_ctx positions */
} tlv_session_info;

TLV_API tlv_status tlv_session_get_info(const tlv_session *s, tlv_session_info *info);
TLV_API void tlv_session_destroy(tlv_session *s);
TLV_API const char *tlv_session_errmsg(const tlv_session *s);

/* The next user message is built from the images and text added since the last generate: each
 * image becomes one <image> placeholder (images first, in order, as TinyLLaVA places them), then
 * the text. */
TLV_API tlv_status tlv_session_add_image_file(tlv_session *s, const char *path);
/* pixels: RGB8, row-major, stride bytes per row (>= 3 * width); copied. */
TLV_API tlv_status tlv_session_add_image_rgb(tlv_session *s, const uint8_t *pixels, uint32_t width, uint32_t height,
                                             size_t stride);
TLV_API tlv_status tlv_session_add_text(tlv_session *s, const char *text);

typedef struct tlv_sampling {
    float temperature;        /* 0: greedy (default) */
    int32_t top_k;            /* 0: off */
    float top_p;              /* 1: off */
    float min_p;              /* 0: off */
    float repeat_penalty;     /* 1: off (applied to the last repeat_last_n tokens) */
    int32_t repeat_last_n;
    uint64_t seed;
    int32_t max_tokens;       /* 0: until EOS or the context is full */
    const char *const *stop;  /* extra stop strings, NULL-terminated list, or NULL */
} tlv_sampling;

TLV_API void tlv_sampling_init(tlv_sampling *p);


typedef struct tlv_generate_stats {
    uint32_t prompt_tokens;      /* positions prefilled by this call (after reuse of the cache) */
    uint32_t reused_tokens;      /* positions whose KV came from earlier turns */
    uint32_t image_tokens;
    uint32_t generated_tokens;
    const char *stop_reason;     /* "eos", "stop_string", "max_tokens", "context_full", "callback",
                                    "cancelled"; NULL after an error */
    double image_ms, prefill_ms, decode_ms;
} tlv_generate_stats;

/* Renders the conversation with the chat template, prefills what the KV cache does not already
 * hold, and generates the answer, streaming it through cb (may be NULL). The answer becomes part
 * of the history: a later add_text + generate continues the chat. result may be NULL.
 * p may be NULL (tlv_sampling_init's defaults); p->stop is read during the call only.
 * When it fails: the last answer is cleared first, never left from the previous turn. A failure
 * before the answer begins (rendering, an image, prefill) leaves the turn's text and images
 * pending, so calling generate again retries it; after TLV_ERR_CANCELLED, or a failure while
 * decoding, the turn stays in the history with the answer so far (empty if it was cancelled
 * during prefill). */
TLV_API tlv_status tlv_session_generate(tlv_session *s, const tlv_sampling *p, tlv_token_fn cb, void *user_data,
                                        tlv_generate_stats *result);
/* The whole text of the last answer (valid until the next call on s). */
TLV_API const char *tlv_session_last_answer(const tlv_session *s);
/* Restores history: appends a finished turn (the images and text added since the last generate,
 * then user_text, answered by assistant_text) without generating. Its KV is computed by the next
 * generate. */
TLV_API tlv_status tlv_session_add_turn(tlv_session *s, const char *user_text, const char *assistant_text);
/* Asks a running generate (on another thread) to stop soon; safe to call from any thread or a
 * signal handler. The generate returns TLV_ERR_CANCELLED; the session stays usable. */
TLV_API void tlv_session_cancel(tlv_session *s);
/* What the last generate saw, for comparing a run with a reference implementation stage by
 * stage (`tinyllava run --dump` and --json): one named array at a time.
 *
 *   name            type  shape                    what
 *   "prompt_ids"    I32   [n]                      the prompt's ids, each image placeholder as the
 *                                                  image token id (tlv_vocab_info.image_token_id)
 *   "generated_ids" I32   [n]                      the sampled ids, the end token included
 *   "last_logits"   F32   [vocab]                  the logits at the last prompt position
 *   "pixel_values"  F32   [1, 3, S, S]             image `index` (0 = the first added since the
 *                                                  last reset) preprocessed: CHW, normalised
 *   "image_features" F32  [tokens_per_image, hidden]  image `index` after the connector: the
 *                                                  rows that stand for its placeholder
 * index is 0 except for the two image arrays. TLV_ERR_NOT_FOUND for an unknown name, an image
 * that does not exist (or, for features, is not encoded yet), or an array no generate made yet.
 * data is owned by s and valid until the next call on s (any tlv_session_* function). */
typedef enum tlv_array_type { TLV_ARRAY_F32 = 0, TLV_ARRAY_I32 = 1 } tlv_array_type;

typedef struct tlv_array {
    tlv_array_type type;
    const void *data;      /* float or int32_t, C order */
    uint32_t ndim;
    int64_t shape[4];
    size_t count;          /* elements: the product of shape */
} tlv_array;

TLV_API tlv_status tlv_session_inspect(tlv_session *s, const char *name, uint32_t index, tlv_array *out);
/* Forgets the conversation and images; keeps the buffers. */
TLV_API tlv_status tlv_session_reset(tlv_session *s);

#ifdef __cplusplus
}
#endif

#endif
