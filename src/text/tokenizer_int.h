/* tokenizer_int.h: the tokenizer's layout, shared by tokenizer.c (loading, encoding) and
 * decode.c (decoding and the streaming detokenizer); nothing else sees it. */
#ifndef TLV_TEXT_TOKENIZER_INT_H
#define TLV_TEXT_TOKENIZER_INT_H

#include "text/bpe.h"
#include "text/spm.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

#define SPACE_SYMBOL "\xE2\x96\x81" /* U+2581 '▁' */

typedef struct added_tok {
    char *content;
    size_t len;
    int32_t id;
    uint8_t lstrip, rstrip, single_word, special;
} added_tok;

enum { F_SPECIAL = 1, F_LEGACY_ADDED = 2 };

/* The special-token attributes of SpecialTokensMixin, in its order. */
static const char *const SPECIAL_ATTRS[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                            "pad_token", "cls_token", "mask_token"};
enum { N_ATTRS = 7 };

struct tlv_tokenizer {
    const tlv_allocator *alloc;
    tlv_tokenizer_kind kind;
    tlv_bpe *bpe;
    tlv_spm *spm;
    int32_t n_model;  /* model vocabulary size */
    int32_t n_tokens; /* len(tokenizer) */
    added_tok *added;
    size_t n_added, cap_added;
    tlv_strmap added_map;  /* content -> index in added */
    int32_t *added_of_id;  /* [n_tokens] index in added or -1 */
    uint8_t *flags;        /* [n_tokens] F_* */
    int32_t *match_order;  /* added indices sorted by first byte, longer first */
    int32_t match_at[257]; /* match_order[match_at[c] .. match_at[c+1]) start with byte c */
    char *attr[N_ATTRS];   /* special token strings or NULL */
    char **extra;          /* additional_special_tokens */
    size_t n_extra;
    int32_t bos, eos, unk;
    int add_bos, add_eos, nfc, add_prefix_space, legacy, spaces_between_special;
    size_t unk_len; /* Llama legacy=False: ids of unk_token without a dummy prefix */
};


/* tokenizer.c */
tlv_status tlv__tokenizer_oom(tlv_err *err);
size_t tlv__tokenizer_cp_len(const char *p, size_t n, uint32_t *cp);

#endif
