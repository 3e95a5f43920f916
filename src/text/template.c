/* template.c: chat templates and prompt tokenisation (the rules are in template.h). */
#include "text/template.h"

#include <stdio.h>
#include <string.h>

#define SYSTEM_TEXT                                                                                                   \
    "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, " \
    "and polite answers to the user's questions."

static const tlv_chat_template templates[] = {
    {TLV_TEMPLATE_PHI, "phi", SYSTEM_TEXT, " ", "<|endoftext|>", {"<|endoftext|>", NULL, NULL}, 1},
    {TLV_TEMPLATE_LLAMA, "llama", SYSTEM_TEXT, " ", "</s>", {"</s>", NULL, NULL}, 1},
    {TLV_TEMPLATE_GEMMA, "gemma", SYSTEM_TEXT, " ", "<eos>", {"<eos>", NULL, NULL}, 1},
    {TLV_TEMPLATE_QWEN2_BASE, "qwen2_base", SYSTEM_TEXT, " ", "<|endoftext|>", {"<|endoftext|>", NULL, NULL}, 1},
    /* Qwen2-Instruct's generation_config also stops on <|endoftext|> */
    {TLV_TEMPLATE_QWEN2_INSTRUCT, "qwen2_instruct", SYSTEM_TEXT, " ", "<|im_end|>", {"<|im_end|>", "<|endoftext|>", NULL}, 1},
    {TLV_TEMPLATE_PHI_LEGACY, "phi_legacy", SYSTEM_TEXT, " ", "<|endoftext|>", {"<|endoftext|>", NULL, NULL}, 0},
    {TLV_TEMPLATE_V1, "v1", SYSTEM_TEXT, " ", "</s>", {"</s>", NULL, NULL}, 0},
    {TLV_TEMPLATE_LLAVA_HF, "llava_hf", NULL, "\n", "</s>", {"</s>", NULL, NULL}, 0},
};
#define N_TEMPLATES (sizeof templates / sizeof templates[0])

const tlv_chat_template *tlv__template_get(tlv_template_id id)
{
    for (size_t i = 0; i < N_TEMPLATES; i++)
        if (templates[i].id == id) return &templates[i];
    return NULL;
}

const tlv_chat_template *tlv__template_find(const char *name)
{
    if (!name) return NULL;
    if (!strcmp(name, "conv_phi_v0")) name = "phi_legacy";
    if (!strcmp(name, "vicuna_v1") || !strcmp(name, "conv_vicuna_v1")) name = "v1";
    for (size_t i = 0; i < N_TEMPLATES; i++)
        if (!strcmp(templates[i].name, name)) return &templates[i];
    return NULL;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && (hay[i] | 0x20) == (needle[i] | 0x20)) i++;
        if (i == n) return 1;
    }
    return 0;
}

static tlv_template_id factory_template(const tlv_model_config *cfg)
{
    const char *n = cfg->llm_name;
    /* fixtures/README.md and the Factory README: "phi for Phi-2, StableLM, Qwen-1.5; llama for
     * TinyLlama, OpenELM; gemma for Gemma"; Qwen2 base models were trained with qwen2_base. */
    if (contains_ci(n, "phi") || contains_ci(n, "stablelm") || contains_ci(n, "qwen1.5")) return TLV_TEMPLATE_PHI;
    if (contains_ci(n, "qwen")) return contains_ci(n, "instruct") ? TLV_TEMPLATE_QWEN2_INSTRUCT : TLV_TEMPLATE_QWEN2_BASE;
    if (contains_ci(n, "gemma")) return TLV_TEMPLATE_GEMMA;
    if (contains_ci(n, "llama") || contains_ci(n, "openelm")) return TLV_TEMPLATE_LLAMA;
    switch (cfg->llm.arch) {
    case TLV_ARCH_PHI:
    case TLV_ARCH_STABLELM: return TLV_TEMPLATE_PHI;
    case TLV_ARCH_QWEN2: return TLV_TEMPLATE_QWEN2_BASE;
    case TLV_ARCH_GEMMA: return TLV_TEMPLATE_GEMMA;
    case TLV_ARCH_LLAMA:
    case TLV_ARCH_OPENELM: return TLV_TEMPLATE_LLAMA;
    }
    return TLV_TEMPLATE_LLAMA;
}

tlv_status tlv__template_for_config(const tlv_model_config *cfg, const char *override, const tlv_chat_template **out,
                                    tlv_err *err)
{
    *out = NULL;
    if (override) {
        *out = tlv__template_find(override);
        if (!*out)
            return tlv__err_set(err, TLV_ERR_INVALID_ARG,
                                "unknown chat template '%s' (expected phi, llama, gemma, qwen2_base, qwen2_instruct, "
                                "phi_legacy, v1 or llava_hf)",
                                override);
        return TLV_OK;
    }
    tlv_template_id id;
    switch (cfg->generation) {
    case TLV_GEN_LEGACY:
        /* TinyLLaVABench README: 3.1B and 2.0B use conv_mode phi, 1.5B uses v1 ([I#48]) */
        id = cfg->llm.arch == TLV_ARCH_LLAMA ? TLV_TEMPLATE_V1 : TLV_TEMPLATE_PHI_LEGACY;
        break;
    case TLV_GEN_HF_LLAVA: id = TLV_TEMPLATE_LLAVA_HF; break;
    default: id = factory_template(cfg); break;
    }
    *out = tlv__template_get(id);
    return TLV_OK;
}

/* ---------------------------------------------------------------- Python's str.strip() */

/* One UTF-8 character at s[0..n): its code point and length; invalid bytes count as a
 * one-byte non-space character. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) return *cp = s[0], 1;
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (!len || len > n) return *cp = 0xFFFD, 1;
    uint32_t c = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return *cp = 0xFFFD, 1;
        c = c << 6 | (s[i] & 0x3F);
    }
    return *cp = c, len;
}

static int py_isspace(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

void tlv__py_strip(const char *s, size_t len, size_t *begin, size_t *end)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, b = len, e = 0;
    while (i < len) {
        uint32_t c;
        size_t k = utf8_next(u + i, len - i, &c);
        if (!py_isspace(c)) {
            if (b == len) b = i;
            e = i + k;
        }
        i += k;
    }
    if (b == len) b = e = 0; /* all whitespace: empty */
    *begin = b;
    *end = e;
}

/* ---------------------------------------------------------------- rendering */

typedef struct sbuf {
    const tlv_allocator *a;
    char *p;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->failed || !n) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = tlv__realloc(b->a, b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Appends s[from, to) with every "<image>" removed, including those a removal creates
 * ("<ima<image>ge>"): the text then holds no placeholder, so the images and the placeholders
 * match in number (Python's one-pass str.replace would leave one, and the reference would
 * then count an image that is not there). Each byte is copied once and the copy is checked
 * where a placeholder could end, so the output never holds one: a stack, linear time. */
static void sb_text(sbuf *b, const char *s, size_t from, size_t to)
{
    const size_t pl = sizeof TLV_IMAGE_PLACEHOLDER - 1;
    size_t base = b->n;
    sb_add(b, s + from, to - from);
    if (b->failed || b->n == base) return;
    size_t w = base;
    for (size_t r = base; r < b->n; r++) {
        b->p[w++] = b->p[r];
        if (b->p[r] == '>' && w - base >= pl && !memcmp(b->p + w - pl, TLV_IMAGE_PLACEHOLDER, pl)) w -= pl;
    }
    b->n = w;
    b->p[w] = 0;
}

/* A user turn: the placeholders, then the text without "<image>", stripped as the Factory does
 * (replace first, then strip; then the whole "<image>\n..." is stripped again, which only
 * matters for an empty question: "<image>\n" becomes "<image>"). */
static void add_user(sbuf *b, const tlv_chat_template *t, const tlv_chat_turn *turn)
{
    for (int i = 0; i < turn->n_images; i++) sb_str(b, TLV_IMAGE_PLACEHOLDER "\n");
    size_t start = b->n;
    sb_text(b, turn->user, 0, strlen(turn->user));
    if (b->failed || !(turn->n_images > 0 && t->strip_image_turns)) return;
    size_t sb, se;
    tlv__py_strip(b->p + start, b->n - start, &sb, &se);
    memmove(b->p + start, b->p + start + sb, se - sb);
    b->n = start + (se - sb);
    if (b->n == start) b->n--; /* empty question: drop the last placeholder's "\n" */
    b->p[b->n] = 0;
}

tlv_status tlv__template_render(const tlv_chat_template *t, const tlv_chat_turn *turns, size_t n_turns,
                                const tlv_allocator *alloc, char **out, size_t *out_len, tlv_err *err)
{
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!t || !turns || !n_turns) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "chat template: no turns to render");
    for (size_t i = 0; i < n_turns; i++) {
        if (!turns[i].user) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "chat template: turn %zu has no user text", i);
        if (turns[i].n_images < 0)
            return tlv__err_set(err, TLV_ERR_INVALID_ARG, "chat template: turn %zu has %d images", i, turns[i].n_images);
        if (!turns[i].assistant && i + 1 < n_turns)
            return tlv__err_set(err, TLV_ERR_INVALID_ARG,
                                "chat template: turn %zu of %zu has no answer; only the last turn may be open", i, n_turns);
    }
    sbuf b = {alloc, NULL, 0, 0, 0};
    if (t->system) {
        sb_str(&b, t->system);
        sb_str(&b, " ");
    }
    for (size_t i = 0; i < n_turns; i++) {
        sb_str(&b, "USER: ");
        add_user(&b, t, &turns[i]);
        sb_str(&b, t->before_answer);
        if (turns[i].assistant) {
            sb_str(&b, "ASSISTANT: ");
            sb_text(&b, turns[i].assistant, 0, strlen(turns[i].assistant));
            sb_str(&b, t->eos);
        } else {
            sb_str(&b, "ASSISTANT:");
        }
    }
    if (b.failed) {
        tlv__free(alloc, b.p);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "chat template: out of memory rendering %zu turns", n_turns);
    }
    *out = b.p;
    if (out_len) *out_len = b.n;
    return TLV_OK;
}

/* ---------------------------------------------------------------- tokenisation */

static const char *find_placeholder(const char *s, size_t n)
{
    const size_t pl = sizeof TLV_IMAGE_PLACEHOLDER - 1;
    for (size_t i = 0; i + pl <= n; i++)
        if (s[i] == '<' && !memcmp(s + i, TLV_IMAGE_PLACEHOLDER, pl)) return s + i;
    return NULL;
}

tlv_status tlv__template_tokenize(const tlv_tokenizer *tok, const char *prompt, size_t len, int32_t image_token_id,
                                  int32_t **ids, size_t *n_ids, size_t *n_images, tlv_err *err)
{
    *ids = NULL;
    *n_ids = 0;
    if (n_images) *n_images = 0;
    const tlv_allocator *a = tlv__tokenizer_allocator(tok);
    const size_t pl = sizeof TLV_IMAGE_PLACEHOLDER - 1;
    int32_t bos = tlv__tokenizer_bos(tok);
    int32_t *out = NULL;
    size_t n = 0, cap = 0, images = 0, drop = 0;
    const char *p = prompt, *end = prompt + len;
    tlv_status st = TLV_OK;
    for (int chunk = 0;; chunk++) {
        const char *ph = find_placeholder(p, (size_t)(end - p));
        const char *stop = ph ? ph : end;
        int32_t *cids = NULL;
        size_t cn = 0;
        if ((st = tlv__tokenizer_encode(tok, p, (size_t)(stop - p), 1, &cids, &cn, err))) break;
        if (chunk == 0 && cn > 0 && bos >= 0 && cids[0] == bos) drop = 1; /* keep one BOS, from chunk 0 */
        size_t skip = chunk == 0 ? 0 : (drop < cn ? drop : cn);
        size_t need = n + (cn - skip) + 1;
        if (need > cap) {
            size_t nc = cap ? cap : 64;
            while (nc < need) nc *= 2;
            int32_t *q = tlv__realloc(a, out, nc * sizeof *q);
            if (!q) {
                tlv__free(a, cids);
                st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory tokenising the prompt");
                break;
            }
            out = q;
            cap = nc;
        }
        memcpy(out + n, cids + skip, (cn - skip) * sizeof *out);
        n += cn - skip;
        tlv__free(a, cids);
        if (!ph) break;
        out[n++] = image_token_id; /* room reserved by the +1 above */
        images++;
        p = ph + pl;
    }
    if (st) {
        tlv__free(a, out);
        return st;
    }
    *ids = out;
    *n_ids = n;
    if (n_images) *n_images = images;
    return TLV_OK;
}
