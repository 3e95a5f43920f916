/* tokenizer.h: text <-> token ids, loaded from whatever a published checkpoint ships.
 *
 *   byte-level BPE (GPT-2/CodeGen for Phi-2, Qwen2/2.5, StableLM-2): vocab.json + merges.txt
 *       (+ added_tokens.json, tokenizer_config.json, special_tokens_map.json) or tokenizer.json
 *       (src/text/bpe.c)
 *   SentencePiece BPE with byte fallback (Llama/TinyLlama, OpenELM, Gemma): tokenizer.model
 *       (the protobuf, src/text/spm.c) or a llama-style tokenizer.json
 *
 * Files, in the order tlv__tokenizer_load() looks for them in dir:
 *   tokenizer.model (unless vocab.json + merges.txt are there too), else vocab.json + merges.txt,
 *   else tokenizer.json; then tokenizer_config.json (tokenizer_class, add_bos_token,
 *   add_eos_token, add_prefix_space, legacy, added_tokens_decoder, special tokens),
 *   special_tokens_map.json (wins over the config), added_tokens.json. All but the model are
 *   optional; the class defaults of transformers 4.40.1 fill the gaps (GPT2Tokenizer /
 *   CodeGenTokenizer: <|endoftext|> as bos/eos/unk, no BOS added; Qwen2Tokenizer: no bos, NFC;
 *   LlamaTokenizer: <s> </s> <unk>, BOS added, legacy=True unless the config says false).
 *
 * Behaviour equals the slow (Python) Hugging Face tokenizers, which TinyLLaVA uses
 * (tokenizer_use_fast: false): added/special tokens are split out of the text first (leftmost,
 * then longest match, as transformers' Trie.split; lstrip/rstrip/single_word honoured; the
 * `normalized` flag only matters to lowercasing tokenizers and is ignored), each remaining
 * segment is encoded by the model, and BOS is added when tokenizer_config.json asks for it
 * (add_bos_token) and the caller wants special tokens. tokenizer.c's header lists each step.
 *
 * Ownership: a tlv_tokenizer is immutable after load and may be shared by threads (encode and
 * decode allocate their own scratch). Arrays returned through out-parameters are allocated with
 * the tokenizer's allocator and freed by the caller with tlv__free(tlv__tokenizer_allocator(t), p). */
#ifndef TLV_TEXT_TOKENIZER_H
#define TLV_TEXT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"

typedef struct tlv_tokenizer tlv_tokenizer;

typedef enum tlv_tokenizer_kind {
    TLV_TOKENIZER_BPE = 1, /* byte-level BPE (GPT-2 family) */
    TLV_TOKENIZER_SPM = 2  /* SentencePiece BPE with byte fallback */
} tlv_tokenizer_kind;

/* Loads the tokenizer files found in dir (see above for the search order). Errors name the
 * file and the problem ("dir/merges.txt:17: merge names unknown token 'xyz'"). */
tlv_status tlv__tokenizer_load(const char *dir, const tlv_allocator *alloc, tlv_tokenizer **out, tlv_err *err);
void tlv__tokenizer_destroy(tlv_tokenizer *t);
const tlv_allocator *tlv__tokenizer_allocator(const tlv_tokenizer *t);

tlv_tokenizer_kind tlv__tokenizer_kind(const tlv_tokenizer *t);
/* Number of ids the tokenizer knows, added tokens included (HF len(tokenizer)). */
int32_t tlv__tokenizer_n_tokens(const tlv_tokenizer *t);
int32_t tlv__tokenizer_bos(const tlv_tokenizer *t); /* -1 if none */
int32_t tlv__tokenizer_eos(const tlv_tokenizer *t); /* -1 if none */
/* Whether encode() with add_special adds BOS (tokenizer_config.json add_bos_token). */
int tlv__tokenizer_adds_bos(const tlv_tokenizer *t);
/* Id of an exact token string (vocabulary or added token), or -1. */
int32_t tlv__tokenizer_token_id(const tlv_tokenizer *t, const char *token);

/* Encodes len bytes of text (any bytes: invalid UTF-8 becomes U+FFFD first, maximal subparts, as
 * Python's bytes.decode('utf-8', 'replace') would give the slow tokenizer a str).
 * add_special: add BOS as the config asks (HF's default add_special_tokens=True).
 * Special/added tokens written in the text are always recognised (HF slow default). */
tlv_status tlv__tokenizer_encode(const tlv_tokenizer *t, const char *text, size_t len, int add_special,
                                 int32_t **ids, size_t *n_ids, tlv_err *err);

/* The token's string as stored in the vocabulary (GPT-2 byte-level form 'Ġhello', SentencePiece
 * form '▁hello', '<0x0A>'), NUL-terminated, owned by the tokenizer; NULL for an unknown id. */
const char *tlv__tokenizer_piece(const tlv_tokenizer *t, int32_t id);
/* Whether id is a special token (skipped by decode with skip_special): one of the special-token
 * attributes (bos/eos/unk/sep/pad/cls/mask_token, additional_special_tokens) or an added token
 * marked "special": true. */
int tlv__tokenizer_is_special(const tlv_tokenizer *t, int32_t id);

/* Decodes ids to UTF-8 text as HF decode(ids, skip_special_tokens=skip_special) does (without
 * clean_up_tokenization_spaces), quirks included: with the slow tokenizers, added tokens that are
 * not special (Phi-2's whitespace runs) are joined to their neighbours with a " "
 * (spaces_between_special_tokens, default True except Qwen2), and Llama drops the leading '▁'
 * of the first token. Invalid UTF-8 from byte tokens becomes U+FFFD (byte-level BPE: one per
 * maximal subpart, as Python's 'replace'; SentencePiece: one per byte, as sentencepiece does).
 * An id that is not a token fails with TLV_ERR_INVALID_ARG. *text is NUL-terminated; *len
 * excludes the NUL. */
tlv_status tlv__tokenizer_decode(const tlv_tokenizer *t, const int32_t *ids, size_t n_ids, int skip_special,
                                 char **text, size_t *len, tlv_err *err);

/* Streaming decoder: feed one id at a time, get back the newly completed text. Pieces never
 * split a UTF-8 character (bytes of an incomplete character wait for the next id); the text
 * streamed in total equals tlv__tokenizer_decode() of all ids (the same state machine does
 * both). An id that is not a token streams as nothing. Llama with legacy=True and special tokens
 * not skipped holds text back until the next special token or the flush (HF puts a " " before a
 * special token that follows normal ones, in front of their text). */
typedef struct tlv_detok tlv_detok;
tlv_status tlv__detok_create(const tlv_tokenizer *t, int skip_special, tlv_detok **out);
/* Returns a pointer, valid until the next call, to the NUL-terminated new text (maybe ""), or
 * NULL when memory ran out (the detokenizer is then unusable; destroy it). */
const char *tlv__detok_push(tlv_detok *d, int32_t id, size_t *len);
/* Flushes what is left (an incomplete character at the end becomes U+FFFD, as HF does); the
 * next push starts a new text. */
const char *tlv__detok_flush(tlv_detok *d, size_t *len);
void tlv__detok_destroy(tlv_detok *d);

#endif
