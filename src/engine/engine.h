/* engine.h: a model ready to serve (weights, tokenizer, template) and sessions on it.
 *
 * A session plans its buffers once (tlv_model_scratch: n_batch rows per pass, n_ctx positions of
 * KV cache), encodes each image once when it first generates with it, and keeps the token
 * sequence whose KV cache is valid. Each generate renders the whole conversation with the chat
 * template, tokenises it, and prefills only what differs from that sequence (the longest common
 * prefix is reused: a follow-up question in a chat does not recompute the earlier turns), in
 * passes of n_batch rows, then decodes one position per pass with the cache on the device.
 *
 * Sequence items: a token id (>= 0), or an image row, coded as ITEM_IMAGE(image, row) < 0. */
#ifndef TLV_ENGINE_ENGINE_H
#define TLV_ENGINE_ENGINE_H

#include "engine/sample.h"
#include "image/image.h"
#include "model/model.h"
#include "text/template.h"
#include "text/tokenizer.h"
#include "tinyllava.h"

typedef struct tlv_engine_model {
    const tlv_allocator *alloc;
    tlv_model_core *core;
    tlv_tokenizer *tok;
    const tlv_chat_template *tpl;
    tlv_image_params image_params;
    int32_t n_valid_tokens;   /* ids >= this have no token string (padded vocabulary) */
    char dir[1024];
    char part_format[TLV_PART_COUNT][48], part_vformat[TLV_PART_COUNT][48]; /* tlv_model_part's strings */
} tlv_engine_model;

/* o's weights / vision_weights are the recipe (recipe.h): a bad name fails before anything loads. */
tlv_status tlv__engine_model_load(tlv_vk_device *dev, const char *dir, const tlv_model_options *o,
                                  const tlv_allocator *alloc, tlv_engine_model **out, tlv_err *err);
void tlv__engine_model_destroy(tlv_engine_model *m);
/* tlv_model_get_part (index < TLV_PART_COUNT). */
void tlv__engine_model_part(const tlv_engine_model *m, uint32_t index, tlv_model_part *out);
/* tlv_model_quantize from a local folder: the recipe from o, progress stage "quantize". */
tlv_status tlv__engine_model_quantize(const char *dir, const char *dst, const tlv_model_options *o,
                                      const tlv_allocator *alloc, tlv_err *err);

typedef struct tlv_engine_session tlv_engine_session;

/* kv_dtype: TLV_F16 or TLV_F32 (the KV cache, tlv__model_scratch_create_kv). */
tlv_status tlv__engine_session_create(tlv_engine_model *m, int n_ctx, int n_batch, tlv_dtype kv_dtype,
                                      tlv_engine_session **out, tlv_err *err);
/* n_ctx, the KV cache's dtype and its device bytes. */
void tlv__engine_session_kv(const tlv_engine_session *s, int *n_ctx, tlv_dtype *kv_dtype, uint64_t *kv_bytes);
void tlv__engine_session_destroy(tlv_engine_session *s);
tlv_status tlv__engine_add_image(tlv_engine_session *s, tlv_image *img, tlv_err *err); /* takes ownership of img's pixels */
tlv_status tlv__engine_add_text(tlv_engine_session *s, const char *text, tlv_err *err);
tlv_status tlv__engine_add_turn(tlv_engine_session *s, const char *user, const char *assistant, tlv_err *err);
tlv_status tlv__engine_generate(tlv_engine_session *s, const tlv_sampling *p, tlv_token_fn cb, void *ud,
                                tlv_generate_stats *res, tlv_err *err);
void tlv__engine_cancel(tlv_engine_session *s);
void tlv__engine_reset(tlv_engine_session *s);
const char *tlv__engine_last_answer(const tlv_engine_session *s);

/* Teacher forcing (tests/e2e/test_teacher_forced, perplexity-style checks) through the engine's own
 * prefill and decode steps. tlv__engine_add_pixels adds an image already preprocessed (3 x S x S
 * floats, as tlv__image_preprocess writes them; copied). tlv__engine_teacher_force lays out ids
 * (the image token id, once per image added, stands for that image's rows), encodes the images,
 * prefills the whole sequence from position 0 in passes of n_batch rows, then feeds forced[0..
 * n_forced) one decode step each; logits [n_forced + 1, vocab] gets the next-token logits after
 * the prompt and after each forced token. The history and the chat template are not used; images
 * added with tlv__engine_add_pixels belong to no turn (tlv__engine_reset clears them before a
 * generate). */
tlv_status tlv__engine_add_pixels(tlv_engine_session *s, const float *chw, tlv_err *err);
tlv_status tlv__engine_teacher_force(tlv_engine_session *s, const int32_t *ids, size_t n_ids, const int32_t *forced,
                                     int n_forced, float *logits, tlv_err *err);

/* tlv_session_inspect (tinyllava.h lists the names, types and shapes): what the last generate
 * saw. out->data lives until the next call on s (image features are read back into a buffer of
 * the session). */
tlv_status tlv__engine_inspect(tlv_engine_session *s, const char *name, uint32_t index, tlv_array *out, tlv_err *err);

/* A checkpoint's tokenizer and chat template without weights or a device (tlv_vocab). The
 * template comes from config.json when there is one; a config.json that cannot be read leaves
 * the vocab without a template and its reason in no_template (rendering reports it). */
typedef struct tlv_engine_vocab {
    const tlv_allocator *alloc;
    tlv_tokenizer *tok;
    const tlv_chat_template *tpl;  /* NULL: none */
    int32_t image_token_id;
    char no_template[512];         /* why tpl is NULL */
} tlv_engine_vocab;

tlv_status tlv__engine_vocab_open(const char *dir, const char *template_name, const tlv_allocator *alloc,
                                  tlv_engine_vocab **out, tlv_err *err);
void tlv__engine_vocab_destroy(tlv_engine_vocab *v);

#endif
