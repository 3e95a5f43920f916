/* spm.h: SentencePiece BPE with byte fallback (Llama/TinyLlama, OpenELM, Gemma), the model part.
 *
 * tokenizer.model is a serialized sentencepiece.ModelProto (sentencepiece_model.proto); we read
 * the protobuf wire format ourselves, only what encoding and decoding need:
 *
 *   FIELD                                  WIRE     USE
 *   ModelProto.pieces = 1                  LEN      repeated SentencePiece
 *     SentencePiece.piece = 1              LEN      the piece, '▁' for a space
 *     SentencePiece.score = 2              I32      float; higher merges first
 *     SentencePiece.type = 3               VARINT   NORMAL 1, UNKNOWN 2, CONTROL 3,
 *                                                   USER_DEFINED 4, UNUSED 5, BYTE 6
 *   ModelProto.trainer_spec = 2            LEN
 *     TrainerSpec.model_type = 3           VARINT   must be BPE (2); UNIGRAM (1) is refused
 *     TrainerSpec.treat_whitespace_as_suffix = 24
 *     TrainerSpec.byte_fallback = 35       VARINT   unknown characters become <0xXX> pieces
 *   ModelProto.normalizer_spec = 3         LEN
 *     NormalizerSpec.name = 1              LEN      informative
 *     NormalizerSpec.precompiled_charsmap = 2  LEN  must be empty (identity normalizer)
 *     NormalizerSpec.add_dummy_prefix = 3  VARINT   default true: a '▁' goes in front
 *     NormalizerSpec.remove_extra_whitespaces = 4  default true
 *     NormalizerSpec.escape_whitespaces = 5        default true: ' ' -> '▁'
 *
 * Other fields are skipped by wire type. A message field that occurs twice is merged (later
 * scalars win), as protobuf does. Every length is checked against what is left of the file;
 * a truncated or corrupt file fails with "tokenizer.model: byte 1234: ...".
 *
 * Encoding is sentencepiece's bpe_model.cc: user-defined pieces are matched first (longest,
 * and never merged), the rest starts as one symbol per character, and the adjacent pair whose
 * concatenation is the highest-scoring piece merges first (ties: leftmost). */
#ifndef TLV_TEXT_SPM_H
#define TLV_TEXT_SPM_H

#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"
#include "text/unicode.h"

typedef struct tlv_spm tlv_spm;

typedef enum tlv_spm_type {
    TLV_SPM_NORMAL = 1,
    TLV_SPM_UNKNOWN = 2,
    TLV_SPM_CONTROL = 3,
    TLV_SPM_USER_DEFINED = 4,
    TLV_SPM_UNUSED = 5,
    TLV_SPM_BYTE = 6
} tlv_spm_type;

tlv_status tlv__spm_load(const char *path, const tlv_allocator *alloc, tlv_spm **out, tlv_err *err);
/* The same from bytes in memory; name is used in messages. */
tlv_status tlv__spm_load_bytes(const void *data, size_t len, const char *name, const tlv_allocator *alloc,
                               tlv_spm **out, tlv_err *err);
/* A llama-style tokenizer.json (model BPE with byte_fallback; the whole file's root object):
 * merged pieces score -(rank of their first merge); see spm.c. path names the file in errors. */
struct cJSON;
tlv_status tlv__spm_load_json(const struct cJSON *root, const char *path, const tlv_allocator *alloc, tlv_spm **out,
                              tlv_err *err);
void tlv__spm_destroy(tlv_spm *s);

int32_t tlv__spm_vocab_size(const tlv_spm *s);
const char *tlv__spm_piece(const tlv_spm *s, int32_t id);
int32_t tlv__spm_piece_id(const tlv_spm *s, const char *piece, size_t n);
tlv_spm_type tlv__spm_type(const tlv_spm *s, int32_t id);
/* The byte value of a <0xXX> piece, or -1. */
int tlv__spm_byte(const tlv_spm *s, int32_t id);
int32_t tlv__spm_unk(const tlv_spm *s);
int tlv__spm_add_dummy_prefix(const tlv_spm *s);
int tlv__spm_remove_extra_whitespaces(const tlv_spm *s);

/* Appends the ids of text[0..len) (valid UTF-8) to out, as SentencePieceProcessor::Encode does;
 * add_dummy_prefix overrides the model's flag (HF's legacy=False turns it off). */
tlv_status tlv__spm_encode(const tlv_spm *s, const char *text, size_t len, int add_dummy_prefix, tlv_ids *out,
                           tlv_err *err);

#endif
