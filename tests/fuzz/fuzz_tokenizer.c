/* fuzz_tokenizer: every tokenizer file form (src/text/): tokenizer.json (byte-level BPE and
 * SentencePiece-in-JSON), vocab.json + merges.txt, tokenizer.model (SentencePiece protobuf),
 * with tokenizer_config.json, special_tokens_map.json and added_tokens.json; then, when the
 * folder loads, encode and decode a text with it.
 *
 * Input: files in the "#tlv-fuzz <name>" form (fuzz_common.h), plus an optional "text" entry,
 * the string to encode. The loader picks the form by which files exist, as it does for a
 * checkpoint. Checks beyond "no crash": every id encode returns is a token, and the streaming
 * detokenizer yields the same text as decode (tokenizer.h promises both). */
#include "fuzz_common.h"

#include "core/alloc.h"
#include "text/tokenizer.h"

static const char *const known[] = {"tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                                    "tokenizer.json", "vocab.json", "merges.txt", "tokenizer.model", "text"};
#define N_KNOWN (sizeof known / sizeof known[0])

static void roundtrip(const tlv_tokenizer *t, const char *text, size_t len, int add_special, int skip_special)
{
    tlv_err err = {0};
    const tlv_allocator *a = tlv__tokenizer_allocator(t);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    tlv_status st = tlv__tokenizer_encode(t, text, len, add_special, &ids, &n_ids, &err);
    fuzz_report("encode", st, err.msg);
    if (st != TLV_OK) {
        FUZZ_EXPECT(err.status == st && err.msg[0]);
        return;
    }
    int32_t n_tokens = tlv__tokenizer_n_tokens(t);
    for (size_t i = 0; i < n_ids; i++) FUZZ_EXPECT(ids[i] >= 0 && ids[i] < n_tokens);

    char *out = NULL;
    size_t out_len = 0;
    st = tlv__tokenizer_decode(t, ids, n_ids, skip_special, &out, &out_len, &err);
    FUZZ_EXPECT(st == TLV_OK || (err.status == st && err.msg[0]));
    tlv_detok *d = NULL;
    if (st == TLV_OK && tlv__detok_create(t, skip_special, &d) == TLV_OK) {
        size_t pos = 0, k;
        for (size_t i = 0; i < n_ids; i++) {
            const char *s = tlv__detok_push(d, ids[i], &k);
            FUZZ_EXPECT(s && pos + k <= out_len && !memcmp(out + pos, s, k));
            pos += k;
        }
        const char *s = tlv__detok_flush(d, &k);
        FUZZ_EXPECT(s && pos + k == out_len && !memcmp(out + pos, s, k));
        tlv__detok_destroy(d);
    }
    tlv__free(a, out);
    tlv__free(a, ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *dir = fuzz_scratch();
    fuzz_file f[N_KNOWN];
    for (size_t k = 0; k < N_KNOWN; k++) fuzz_remove(known[k]);
    size_t nf = fuzz_split(data, n, known, N_KNOWN, f, N_KNOWN);
    const uint8_t *text = (const uint8_t *)"Hello world! <|endoftext|> \xe2\x96\x81x\n\n  42";
    size_t text_len = strlen((const char *)text);
    for (size_t i = 0; i < nf; i++) {
        if (!strcmp(f[i].name, "text")) {
            text = f[i].data;
            text_len = f[i].n;
        } else {
            fuzz_write(f[i].name, f[i].data, f[i].n);
        }
    }

    tlv_tokenizer *t = NULL;
    tlv_err err = {0};
    tlv_status st = tlv__tokenizer_load(dir, NULL, &t, &err);
    fuzz_report("load", st, err.msg);
    if (st != TLV_OK) {
        FUZZ_EXPECT(t == NULL && err.status == st && err.msg[0]);
        return 0;
    }
    FUZZ_EXPECT(t != NULL);
    int32_t n_tokens = tlv__tokenizer_n_tokens(t);
    FUZZ_EXPECT(n_tokens >= 0);
    /* every id's piece, and its reverse lookup (an added token may shadow a vocabulary entry) */
    for (int32_t id = -1; id <= n_tokens && id < 4096; id++) {
        const char *p = tlv__tokenizer_piece(t, id);
        if (id < 0 || id >= n_tokens) FUZZ_EXPECT(p == NULL);
        if (p) FUZZ_EXPECT(tlv__tokenizer_token_id(t, p) >= 0);
        (void)tlv__tokenizer_is_special(t, id);
    }
    (void)tlv__tokenizer_bos(t);
    (void)tlv__tokenizer_eos(t);
    char *s = fuzz_strndup(text, text_len); /* encode takes a length; a copy lets ASan see overreads */
    roundtrip(t, s, text_len, 1, 0);
    roundtrip(t, s, text_len, 0, 1);
    free(s);
    tlv__tokenizer_destroy(t);
    return 0;
}
