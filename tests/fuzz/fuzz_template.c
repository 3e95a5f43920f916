/* fuzz_template: chat template input (src/text/template.c): the user's turns through the
 * template and into tokens, with the tokenizers of three fixture checkpoints (Phi-2's byte-level
 * BPE, TinyLlama's SentencePiece, Qwen2's BPE with NFC), loaded once.
 *
 * Input: byte 0 picks the tokenizer, byte 1 the template, bytes 2-3 how many images each of the
 * first eight turns carries (two bits each); the rest is the conversation, its strings split at
 * NUL bytes: user 1, assistant 1, user 2, ... (an odd count leaves the last turn open). The
 * rendered prompt is tokenised with the split-at-<image> rule; the rest of the input is also
 * tokenised as a raw prompt (what an app passing its own prompt does). */
#include "fuzz_common.h"

#include "core/alloc.h"
#include "text/template.h"

#ifndef TLV_FUZZ_FIXTURES
#define TLV_FUZZ_FIXTURES "tests/fixtures"
#endif
#define MAX_TURNS 16

static const char *const fixture_dirs[] = {"phi2_siglip_square", "llama_clip_pad", "qwen2_siglip_square"};
static tlv_tokenizer *toks[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *root = getenv("TLV_FUZZ_FIXTURES");
    if (!root || !*root) root = TLV_FUZZ_FIXTURES;
    for (int i = 0; i < 3; i++) {
        char dir[1024];
        tlv_err err = {0};
        snprintf(dir, sizeof dir, "%s/%s/model", root, fixture_dirs[i]);
        if (tlv__tokenizer_load(dir, NULL, &toks[i], &err) != TLV_OK) {
            fprintf(stderr, "fuzz_template: %s (set TLV_FUZZ_FIXTURES to tests/fixtures)\n", err.msg);
            exit(1);
        }
    }
    return 0;
}

static void tokenize(const tlv_tokenizer *tok, const char *prompt, size_t len, int32_t image_id, size_t want_images)
{
    int32_t *ids = NULL;
    size_t n_ids = 0, n_images = 0;
    tlv_err err = {0};
    tlv_status st = tlv__template_tokenize(tok, prompt, len, image_id, &ids, &n_ids, &n_images, &err);
    fuzz_report("tokenize", st, err.msg);
    if (st != TLV_OK) {
        FUZZ_EXPECT(err.status == st && err.msg[0]);
        return;
    }
    size_t seen = 0;
    int32_t n_tokens = tlv__tokenizer_n_tokens(tok);
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] == image_id) seen++;
        else FUZZ_EXPECT(ids[i] >= 0 && ids[i] < n_tokens);
    }
    FUZZ_EXPECT(seen == n_images);
    if (want_images != (size_t)-1) FUZZ_EXPECT(n_images == want_images);
    tlv__free(tlv__tokenizer_allocator(tok), ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (n < 4) return 0;
    const tlv_tokenizer *tok = toks[data[0] % 3];
    const tlv_chat_template *t = tlv__template_get((tlv_template_id)(TLV_TEMPLATE_PHI + data[1] % 8));
    FUZZ_EXPECT(t != NULL);
    unsigned image_bits = (unsigned)data[2] | (unsigned)data[3] << 8;
    int32_t image_id = TLV_IMAGE_TOKEN_ID; /* negative: cannot collide with a real token */

    /* the conversation: NUL-separated strings, copied so each is NUL-terminated */
    char *text = fuzz_strndup(data + 4, n - 4);
    const char *str[2 * MAX_TURNS];
    size_t n_str = 0;
    for (size_t i = 0, start = 0; i <= n - 4 && n_str < 2 * MAX_TURNS; i++)
        if (i == n - 4 || text[i] == 0) {
            str[n_str++] = text + start;
            start = i + 1;
        }
    tlv_chat_turn turns[MAX_TURNS];
    size_t n_turns = (n_str + 1) / 2, want_images = 0;
    for (size_t i = 0; i < n_turns; i++) {
        turns[i].user = str[2 * i];
        turns[i].assistant = 2 * i + 1 < n_str ? str[2 * i + 1] : NULL;
        turns[i].n_images = i < 8 ? (int)((image_bits >> (2 * i)) & 3) : 0;
        want_images += (size_t)turns[i].n_images;
    }
    /* every turn but the last must be finished */
    char *prompt = NULL;
    size_t len = 0;
    tlv_err err = {0};
    tlv_status st = tlv__template_render(t, turns, n_turns, NULL, &prompt, &len, &err);
    fuzz_report("render", st, err.msg);
    if (st == TLV_OK) {
        FUZZ_EXPECT(prompt && strlen(prompt) == len);
        /* a "<image>" typed in a turn is removed (template.h), so the prompt holds exactly the
         * placeholders asked for */
        tokenize(tok, prompt, len, image_id, want_images);
        tlv__free(NULL, prompt);
    } else {
        FUZZ_EXPECT(err.status == st && err.msg[0]);
    }
    tokenize(tok, text, strlen(text), image_id, (size_t)-1);
    free(text);
    return 0;
}
