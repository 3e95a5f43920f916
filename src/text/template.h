/* template.h: chat templates, the <image> placeholder, and prompt tokenisation.
 *
 * Every TinyLLaVA template is the LLaVA "two separators" conversation (MODELS.md 3.4; [F]
 * tinyllava/data/template/<name>_template.py, [B] conversation.py conv_phi_v0 / conv_vicuna_v1):
 *
 *   <system> " " "USER: " <q1> " " "ASSISTANT: " <a1> <eos> "USER: " <q2> " " "ASSISTANT:"
 *
 * finished turns end with the template's EOS string and no space after it; the open turn ends
 * with "ASSISTANT:" and no trailing space. Templates differ only in the EOS string, except
 * llava_hf (the bczhou/tiny-llava-v1-hf card: no system text, "\n" before "ASSISTANT:").
 *
 *   name            EOS / stop          from
 *   phi             <|endoftext|>       Factory phi_template.py  (Phi-2, StableLM, Qwen1.5)
 *   llama           </s>                Factory llama_template.py (TinyLlama, OpenELM)
 *   gemma           <eos>               Factory gemma_template.py
 *   qwen2_base      <|endoftext|>       Factory qwen2_base_template.py
 *   qwen2_instruct  <|im_end|>          Factory qwen2_instruct_template.py
 *   phi_legacy      <|endoftext|>       TinyLLaVABench conv_phi_v0   (TinyLLaVA-3.1B, -2.0B)
 *   v1              </s>                TinyLLaVABench conv_vicuna_v1 (TinyLLaVA-1.5B, [I#48])
 *   llava_hf        </s>                tiny-llava-v1-hf model card (multi-turn form UNVERIFIED)
 *
 * Images: a turn with n images gets n "<image>\n" in front of its text, in order. As the
 * Factory does for a question holding the placeholder (question.replace('<image>','').strip()),
 * the text of a turn with images is stripped of leading and trailing whitespace (Python's
 * str.isspace set); legacy templates prepend without stripping, as TinyLLaVABench's eval and
 * CLI do. Text-only turns are kept verbatim. A literal "<image>" typed in a turn is removed,
 * so placeholders and images always match in number. Unlike the reference CLI, the assistant
 * text of earlier turns is kept whole (MODELS.md 6.12).
 *
 * Tokenisation (tokenizer_image_token in [F] template/base.py and [B] mm_utils.py): the prompt
 * is split at each "<image>", each chunk is encoded on its own with the tokenizer's special
 * tokens (BOS as tokenizer_config.json says); if chunk 0 starts with BOS, one BOS is kept at
 * the front and the first token of every later chunk is dropped (it is that chunk's BOS); the
 * image sentinel id goes between chunks. */
#ifndef TLV_TEXT_TEMPLATE_H
#define TLV_TEXT_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"
#include "formats/config.h"
#include "text/tokenizer.h"

#define TLV_IMAGE_PLACEHOLDER "<image>"
#define TLV_IMAGE_TOKEN_ID (-200) /* IMAGE_TOKEN_INDEX of both TinyLLaVA code bases */

typedef enum tlv_template_id {
    TLV_TEMPLATE_PHI = 1,
    TLV_TEMPLATE_LLAMA,
    TLV_TEMPLATE_GEMMA,
    TLV_TEMPLATE_QWEN2_BASE,
    TLV_TEMPLATE_QWEN2_INSTRUCT,
    TLV_TEMPLATE_PHI_LEGACY,
    TLV_TEMPLATE_V1,
    TLV_TEMPLATE_LLAVA_HF
} tlv_template_id;

typedef struct tlv_chat_template {
    tlv_template_id id;
    const char *name;
    const char *system;         /* NULL: no system text */
    const char *before_answer;  /* between the user text and "ASSISTANT:" (" " or "\n") */
    const char *eos;            /* ends a finished answer; the first stop string */
    const char *stop[3];        /* stop strings, NULL-terminated */
    int strip_image_turns;      /* Factory: strip the text of turns that carry images */
} tlv_chat_template;

typedef struct tlv_chat_turn {
    const char *user;      /* UTF-8, NUL-terminated; may be "" */
    int n_images;          /* images attached to this turn (placed first, in order) */
    const char *assistant; /* the answer of a finished turn; NULL for the open last turn */
} tlv_chat_turn;

/* By name ("phi", "llama", "gemma", "qwen2_base", "qwen2_instruct", "phi_legacy", "v1",
 * "llava_hf"; also "conv_phi_v0" and "vicuna_v1"); NULL if unknown. */
const tlv_chat_template *tlv__template_find(const char *name);
const tlv_chat_template *tlv__template_get(tlv_template_id id);

/* The template a checkpoint was trained with (MODELS.md 1, 3.4; fixtures/README.md): Factory by
 * the LLM hub name (phi-2, stablelm, Qwen1.5 -> phi; Qwen2/2.5 -> qwen2_base, *-Instruct ->
 * qwen2_instruct; gemma -> gemma; TinyLlama, OpenELM, Llama -> llama), falling back to the
 * architecture; legacy Phi/StableLM -> phi_legacy, legacy TinyLlama -> v1; hf_llava ->
 * llava_hf. override (may be NULL) names one explicitly; an unknown name is
 * TLV_ERR_INVALID_ARG with the list of known ones. */
tlv_status tlv__template_for_config(const tlv_model_config *cfg, const char *override, const tlv_chat_template **out,
                                    tlv_err *err);

/* Renders the conversation. Every turn but the last must be finished (assistant != NULL); a
 * finished last turn renders without the open "ASSISTANT:". *out is NUL-terminated, allocated
 * with alloc, freed by the caller with tlv__free(alloc, *out); *out_len excludes the NUL. */
tlv_status tlv__template_render(const tlv_chat_template *t, const tlv_chat_turn *turns, size_t n_turns,
                                const tlv_allocator *alloc, char **out, size_t *out_len, tlv_err *err);

/* Tokenises a rendered prompt with the split-at-<image> rule above; image_token_id goes where
 * each placeholder was (-200 for TinyLLaVA; the HF llava checkpoint uses its own id, 32000).
 * *ids is allocated with tlv__tokenizer_allocator(tok); *n_images counts the placeholders. */
tlv_status tlv__template_tokenize(const tlv_tokenizer *tok, const char *prompt, size_t len, int32_t image_token_id,
                                  int32_t **ids, size_t *n_ids, size_t *n_images, tlv_err *err);

/* Python's str.strip(): the [*begin, *end) range of s[0..len) without leading and trailing
 * whitespace (str.isspace: ASCII \t\n\v\f\r\x1c-\x1f and space, U+0085, U+00A0, U+1680,
 * U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000). */
void tlv__py_strip(const char *s, size_t len, size_t *begin, size_t *end);

#endif
