/* decode.c: ids -> text, whole and streamed (tokenizer.c's header comment describes the rules:
 * PreTrainedTokenizer._decode() of transformers 4.40.1). One state machine serves
 * tlv__tokenizer_decode() and the streaming detokenizer, so both give the same text, and the
 * stream never splits a UTF-8 character. */
#include "text/tokenizer_int.h"

#include <string.h>

/* ---------------------------------------------------------------- decoding */
struct tlv_detok {
    const tlv_tokenizer *t;
    int skip_special;
    tlv_buf out;  /* text produced by the current push */
    tlv_buf tmp;  /* characters completed by the UTF-8 decoder */
    tlv_buf held; /* Llama: text of the current sp_model.decode() call not yet written */
    tlv_utf8_stream u8;
    size_t n_sub;     /* sub-texts written so far */
    int sub_open;     /* a convert_tokens_to_string run has tokens */
    int sub_written;  /* ... and has produced text */
    size_t seg_i;     /* index of the token in the run */
    int prev_special; /* Llama: the previous token in the run was special */
    int call_empty;   /* Llama: the current sp_model.decode() call has produced nothing yet */
    int call_ws_done; /* ... and has dropped its dummy-prefix space */
};

/* Writes text of the current sub-text, with the " " that joins sub-texts before its first byte. */
static void dk_write(tlv_detok *d, tlv_buf *out, const char *p, size_t n)
{
    if (!n) return;
    if (!d->sub_written) {
        if (d->n_sub && d->t->spaces_between_special) tlv__buf_putc(out, ' ');
        d->n_sub++;
        d->sub_written = 1;
    }
    tlv__buf_put(out, p, n);
}

static void dk_drain(tlv_detok *d, tlv_buf *out, int final)
{
    if (final) tlv__utf8_stream_flush(&d->u8, &d->tmp);
    dk_write(d, out, d->tmp.p, d->tmp.n);
    d->tmp.n = 0;
}

static void dk_feed(tlv_detok *d, tlv_buf *out, const char *p, size_t n)
{
    tlv__utf8_stream_feed(&d->u8, p, n, &d->tmp);
    dk_drain(d, out, 0);
}

static void sp_collect(tlv_detok *d, int final);
static void sp_release(tlv_detok *d, tlv_buf *out);

/* Ends the current run of model tokens (before a legacy added token: final = 0, the run is
 * dropped when empty; at the end: final = 1, an empty run still counts as a sub-text). */
static void dk_end_run(tlv_detok *d, tlv_buf *out, int final)
{
    if (!d->sub_open) return;
    if (d->t->spm) {
        sp_collect(d, 1);
        sp_release(d, out);
    } else {
        dk_drain(d, out, 1);
    }
    if (final && !d->sub_written) {
        if (d->n_sub && d->t->spaces_between_special) tlv__buf_putc(out, ' ');
        d->n_sub++;
    }
    d->sub_open = d->sub_written = 0;
}

static void dk_start_run(tlv_detok *d)
{
    if (d->sub_open) return;
    d->sub_open = 1;
    d->sub_written = 0;
    d->seg_i = 0;
    d->prev_special = 0;
    d->call_empty = 1;
    d->call_ws_done = 0;
}

/* Byte-level: the token's characters mapped back through the GPT-2 alphabet. */
static void dk_bpe_token(tlv_detok *d, tlv_buf *out, int32_t id)
{
    const tlv_tokenizer *t = d->t;
    size_t n;
    const char *bytes = t->added_of_id[id] < 0 ? tlv__bpe_piece_bytes(t->bpe, id, &n) : NULL;
    if (bytes) {
        dk_feed(d, out, bytes, n);
        return;
    }
    /* An added token inside a run (a special one): map what is in the alphabet. */
    tlv_byte_alphabet ab;
    tlv__byte_alphabet_init(&ab);
    const char *p = tlv__tokenizer_piece(t, id);
    size_t len = strlen(p);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = tlv__tokenizer_cp_len(p + i, len - i, &cp);
        if (cp < 0x144 && ab.to_byte[cp] >= 0) {
            char c = (char)ab.to_byte[cp];
            dk_feed(d, out, &c, 1);
        } else {
            dk_feed(d, out, p + i, k);
        }
        i += k;
    }
}

/* LlamaTokenizer.convert_tokens_to_string, one token at a time. The text of the current
 * sp_model.decode() call collects in d->held: with legacy=True a special token that follows
 * normal ones puts a " " *before* that text, so it is held back until the call ends (only when
 * special tokens are not skipped; otherwise no such token can come). */
static void sp_collect(tlv_detok *d, int final)
{
    if (final) tlv__utf8_stream_flush(&d->u8, &d->tmp);
    tlv__buf_put(&d->held, d->tmp.p, d->tmp.n);
    d->tmp.n = 0;
}

static void sp_release(tlv_detok *d, tlv_buf *out)
{
    dk_write(d, out, d->held.p, d->held.n);
    d->held.n = 0;
}

static void sp_put_text(tlv_detok *d, const char *piece, size_t n)
{
    for (size_t k = 0; k < n;) {
        if (k + 3 <= n && !memcmp(piece + k, SPACE_SYMBOL, 3)) {
            tlv__buf_putc(&d->held, ' ');
            k += 3;
        } else {
            tlv__buf_putc(&d->held, piece[k]);
            k++;
        }
    }
}

static void dk_spm_token(tlv_detok *d, tlv_buf *out, int32_t id)
{
    const tlv_tokenizer *t = d->t;
    const char *piece = tlv__tokenizer_piece(t, id);
    size_t n = strlen(piece);
    size_t i = d->seg_i++;
    if (i == 0 && n >= 3 && !memcmp(piece, SPACE_SYMBOL, 3)) { /* "we manually add the prefix space" */
        piece += 3;
        n -= 3;
    }
    if (t->flags[id] & F_SPECIAL) {
        if (!d->prev_special && i != 0 && t->legacy) dk_write(d, out, " ", 1);
        sp_collect(d, 1); /* the end of this sp_model.decode() call */
        sp_release(d, out);
        dk_write(d, out, piece, n);
        d->prev_special = 1;
        d->call_empty = 1;
        d->call_ws_done = 0;
        return;
    }
    d->prev_special = 0;
    int byte = t->added_of_id[id] < 0 ? tlv__spm_byte(t->spm, id) : -1;
    if (byte >= 0) {
        char c = (char)byte;
        tlv__utf8_stream_feed(&d->u8, &c, 1, &d->tmp);
        sp_collect(d, 0);
        d->call_empty = 0;
    } else {
        sp_collect(d, 1); /* ProcessBytePieces before a normal piece */
        tlv_spm_type type = t->added_of_id[id] < 0 ? tlv__spm_type(t->spm, id) : TLV_SPM_USER_DEFINED;
        if (type == TLV_SPM_CONTROL) {
            n = 0;
        } else if (type == TLV_SPM_UNKNOWN && i != 0) {
            piece = " \xE2\x81\x87 "; /* sentencepiece's unk_surface " ⁇ " */
            n = 5;
        }
        int dummy = t->legacy ? tlv__spm_add_dummy_prefix(t->spm) : 0;
        /* sentencepiece drops the dummy-prefix space once, from the first piece that starts
         * with '▁' while the call's text is still empty (python3-sentencepiece 0.1.97:
         * decode(['▁', '▁Hello']) == ' Hello', decode(['<s>', '▁Hello']) == 'Hello'). */
        if (d->call_empty && !d->call_ws_done && (dummy || tlv__spm_remove_extra_whitespaces(t->spm)) && n >= 3 &&
            !memcmp(piece, SPACE_SYMBOL, 3)) {
            piece += 3;
            n -= 3;
            d->call_ws_done = 1;
        }
        sp_put_text(d, piece, n);
        if (n) d->call_empty = 0;
    }
    if (!(t->legacy && !d->skip_special)) sp_release(d, out);
}

static void dk_push(tlv_detok *d, int32_t id, tlv_buf *out)
{
    const tlv_tokenizer *t = d->t;
    if (id < 0 || id >= t->n_tokens || !tlv__tokenizer_piece(t, id)) return;
    if (d->skip_special && (t->flags[id] & F_SPECIAL)) return;
    if (t->flags[id] & F_LEGACY_ADDED) {
        dk_end_run(d, out, 0);
        const char *c = tlv__tokenizer_piece(t, id);
        d->sub_written = 0;
        dk_write(d, out, c, strlen(c));
        d->sub_written = 0;
        return;
    }
    dk_start_run(d);
    if (t->bpe) dk_bpe_token(d, out, id);
    else dk_spm_token(d, out, id);
}

static void dk_init(tlv_detok *d, const tlv_tokenizer *t, int skip_special)
{
    memset(d, 0, sizeof *d);
    d->t = t;
    d->skip_special = skip_special;
    tlv__buf_init(&d->out, t->alloc);
    tlv__buf_init(&d->tmp, t->alloc);
    tlv__buf_init(&d->held, t->alloc);
    d->u8.policy = t->bpe ? TLV_UTF8_PYTHON : TLV_UTF8_SPM;
}

tlv_status tlv__tokenizer_decode(const tlv_tokenizer *t, const int32_t *ids, size_t n_ids, int skip_special,
                                 char **text, size_t *len, tlv_err *err)
{
    *text = NULL;
    if (len) *len = 0;
    if (!t || (!ids && n_ids)) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "tokenizer decode: NULL argument");
    for (size_t i = 0; i < n_ids; i++)
        if (!tlv__tokenizer_piece(t, ids[i]))
            return tlv__err_set(err, TLV_ERR_INVALID_ARG, "tokenizer decode: id %d at position %zu is not a token (the tokenizer has %d)",
                                (int)ids[i], i, (int)t->n_tokens);
    tlv_detok d;
    dk_init(&d, t, skip_special);
    for (size_t i = 0; i < n_ids; i++) dk_push(&d, ids[i], &d.out);
    dk_end_run(&d, &d.out, 1);
    int bad = d.tmp.oom || d.held.oom;
    tlv__buf_free(&d.tmp);
    tlv__buf_free(&d.held);
    if (bad) {
        tlv__buf_free(&d.out);
        return tlv__tokenizer_oom(err);
    }
    return tlv__buf_finish(&d.out, text, len, err);
}

tlv_status tlv__detok_create(const tlv_tokenizer *t, int skip_special, tlv_detok **out)
{
    *out = NULL;
    if (!t) return TLV_ERR_INVALID_ARG;
    tlv_detok *d = tlv__malloc(t->alloc, sizeof *d);
    if (!d) return TLV_ERR_NO_MEMORY;
    dk_init(d, t, skip_special);
    *out = d;
    return TLV_OK;
}

static const char *dk_result(tlv_detok *d, size_t *len)
{
    tlv__buf_putc(&d->out, 0);
    if (d->out.oom || d->tmp.oom || d->held.oom) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = d->out.n - 1;
    return d->out.p;
}

const char *tlv__detok_push(tlv_detok *d, int32_t id, size_t *len)
{
    d->out.n = 0;
    dk_push(d, id, &d->out);
    return dk_result(d, len);
}

const char *tlv__detok_flush(tlv_detok *d, size_t *len)
{
    d->out.n = 0;
    dk_end_run(d, &d->out, 1);
    d->n_sub = 0; /* the next push starts a new text */
    return dk_result(d, len);
}

void tlv__detok_destroy(tlv_detok *d)
{
    if (!d) return;
    const tlv_allocator *a = d->t->alloc;
    tlv__buf_free(&d->out);
    tlv__buf_free(&d->tmp);
    tlv__buf_free(&d->held);
    tlv__free(a, d);
}
