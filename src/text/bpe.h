/* bpe.h: byte-level BPE (GPT-2, CodeGen/Phi-2, Qwen2/2.5, StableLM-2), the model part only.
 *
 * Text is cut into words by the pre-tokenizer regex (PCRE2, UTF + Unicode properties), each
 * word's bytes become GPT-2 alphabet symbols ('Ġ' for ' '), and the symbol pairs are merged by
 * the rank of their line in merges.txt, lowest rank first (the slow tokenizer merges every
 * occurrence of the best pair per round; a heap ordered by (rank, position) gives the same
 * result in O(n log n), as HF tokenizers' Word::merge_all does). Added tokens, NFC and BOS are
 * the caller's business (tokenizer.c).
 *
 * Errors name the file and the line: "merges.txt:17: merge names unknown token 'xyz'". */
#ifndef TLV_TEXT_BPE_H
#define TLV_TEXT_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"
#include "text/unicode.h"

struct cJSON;
typedef struct tlv_bpe tlv_bpe;

/* The pre-tokenizer regexes of the slow tokenizers (GPT2Tokenizer.pat, Qwen2Tokenizer's
 * PRETOKENIZE_REGEX), in Python `regex` syntax, which PCRE2 accepts. */
#define TLV_BPE_PATTERN_GPT2 \
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define TLV_BPE_PATTERN_QWEN2                                                                   \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* vocab.json (token -> id) and merges.txt ("left right" per line, an optional "#version" first
 * line). pattern: the pre-tokenizer regex. */
tlv_status tlv__bpe_load_files(const char *vocab_path, const char *merges_path, const char *pattern,
                               const tlv_allocator *alloc, tlv_bpe **out, tlv_err *err);
/* tokenizer.json's "model" object (type BPE: vocab, merges as "a b" strings or [a, b] pairs);
 * path names the file in errors. */
tlv_status tlv__bpe_load_json(const struct cJSON *model, const char *path, const char *pattern,
                              const tlv_allocator *alloc, tlv_bpe **out, tlv_err *err);
void tlv__bpe_destroy(tlv_bpe *b);
/* Replaces the pre-tokenizer regex (where names the file in errors). */
tlv_status tlv__bpe_set_pattern(tlv_bpe *b, const char *pattern, const char *where, tlv_err *err);

/* Ids run 0..vocab_size-1 (a gap has no piece). */
int32_t tlv__bpe_vocab_size(const tlv_bpe *b);
/* Vocabulary form ('Ġhello') or NULL. */
const char *tlv__bpe_piece(const tlv_bpe *b, int32_t id);
int32_t tlv__bpe_piece_id(const tlv_bpe *b, const char *s, size_t n);
/* The raw bytes a piece stands for ('Ġhello' -> " hello"); characters outside the GPT-2
 * alphabet are kept as their UTF-8. NULL for an unknown id. */
const char *tlv__bpe_piece_bytes(const tlv_bpe *b, int32_t id, size_t *n);

/* Appends the ids of text[0..len) (valid UTF-8) to out. */
tlv_status tlv__bpe_encode(const tlv_bpe *b, const char *text, size_t len, tlv_ids *out, tlv_err *err);

#endif
