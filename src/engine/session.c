/* session.c: one conversation on a model (engine.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"

#define MAX_IMAGES 16
#define ITEM_IMAGE(img, row) (-1 - ((int64_t)(img) << 24) - (int64_t)(row))
#define ITEM_IS_IMAGE(it) ((it) < 0)
#define ITEM_IMG(it) ((int)((-1 - (it)) >> 24))
#define ITEM_ROW(it) ((int)((-1 - (it)) & 0xFFFFFF))

typedef struct img_slot {
    float *chw;            /* preprocessed pixels, 3*S*S */
    tlv_tensor features;   /* [n_tokens, hidden] once encoded */
    int encoded;
} img_slot;

struct tlv_engine_session {
    tlv_engine_model *m;
    const tlv_allocator *a;
    tlv_model_scratch sc;
    tlv_stream *stream;
    int n_ctx, n_batch;

    tlv_chat_turn *turns;   /* the history, as the template reads it; the strings are ours */
    int n_turns, cap_turns;
    char *pending;          /* text of the next user message */
    int pending_images;
    img_slot imgs[MAX_IMAGES];
    int n_imgs;

    int64_t *cached;        /* items whose KV is in the cache, n_ctx capacity */
    int n_cached;
    int64_t *seq;           /* scratch for the new sequence, n_ctx capacity */

    int32_t *prompt_ids;
    size_t n_prompt_ids;
    int32_t *gen;
    size_t n_gen;
    float *last_logits, *work_logits;
    float *inspect_buf;     /* image features read back for tlv__engine_inspect */
    size_t inspect_cap;
    char *answer;
    size_t answer_len, answer_cap;
    volatile int cancel;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void tlv__engine_session_destroy(tlv_engine_session *s)
{
    if (!s) return;
    const tlv_allocator *a = s->a;
    tlv__engine_reset(s);
    tlv__stream_destroy(s->stream);
    tlv__model_scratch_destroy(s->m->core, &s->sc);
    tlv__free(a, s->turns);
    tlv__free(a, s->cached);
    tlv__free(a, s->seq);
    tlv__free(a, s->gen);
    tlv__free(a, s->last_logits);
    tlv__free(a, s->work_logits);
    tlv__free(a, s->answer);
    tlv__free(a, s->inspect_buf);
    tlv__free(a, s);
}

tlv_status tlv__engine_session_create(tlv_engine_model *m, int n_ctx, int n_batch, tlv_dtype kv_dtype,
                                      tlv_engine_session **out, tlv_err *err)
{
    *out = NULL;
    const tlv_allocator *a = m->alloc;
    tlv_model_core *core = m->core;
    if (n_ctx <= 0) n_ctx = core->max_ctx < 2048 ? core->max_ctx : 2048;
    if (n_ctx > core->max_ctx)
        return tlv__err_set(err, TLV_ERR_LIMIT, "context of %d positions requested, the model supports %d", n_ctx, core->max_ctx);
    if (n_batch <= 0) n_batch = 1024; /* a TinyLLaVA prompt with one image (~800 positions) in one pass */
    if (n_batch > n_ctx) n_batch = n_ctx;
    tlv_engine_session *s = tlv__calloc(a, 1, sizeof *s);
    if (!s) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory creating a session");
    s->m = m;
    s->a = a;
    s->n_ctx = n_ctx;
    s->n_batch = n_batch;
    tlv_status st;
    s->cached = tlv__calloc(a, (size_t)n_ctx, sizeof *s->cached);
    s->seq = tlv__calloc(a, (size_t)n_ctx, sizeof *s->seq);
    s->gen = tlv__calloc(a, (size_t)n_ctx, sizeof *s->gen);
    s->last_logits = tlv__calloc(a, (size_t)core->llm.vocab, sizeof(float));
    s->work_logits = tlv__calloc(a, (size_t)core->llm.vocab, sizeof(float));
    if (!s->cached || !s->seq || !s->gen || !s->last_logits || !s->work_logits) {
        st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory creating a session");
        goto fail;
    }
    if ((st = tlv__model_scratch_create_kv(core, n_batch, n_ctx, kv_dtype, &s->sc, err))) goto fail;
    if ((st = tlv__stream_create(core->dev, &s->stream, err))) goto fail;
    *out = s;
    return TLV_OK;
fail:
    tlv__engine_session_destroy(s);
    return st;
}

void tlv__engine_session_kv(const tlv_engine_session *s, int *n_ctx, tlv_dtype *kv_dtype, uint64_t *kv_bytes)
{
    *n_ctx = s->n_ctx;
    *kv_dtype = s->sc.kv_dtype;
    *kv_bytes = s->sc.kv_bytes;
}

void tlv__engine_reset(tlv_engine_session *s)
{
    for (int i = 0; i < s->n_turns; i++) {
        tlv__free(s->a, (char *)s->turns[i].user);
        tlv__free(s->a, (char *)s->turns[i].assistant);
    }
    s->n_turns = 0;
    tlv__free(s->a, s->pending);
    s->pending = NULL;
    s->pending_images = 0;
    for (int i = 0; i < s->n_imgs; i++) {
        tlv__free(s->a, s->imgs[i].chw);
        tlv__tensor_free(s->m->core->dev, &s->imgs[i].features);
        memset(&s->imgs[i], 0, sizeof s->imgs[i]);
    }
    s->n_imgs = 0;
    s->n_cached = 0;
    tlv__free(tlv__tokenizer_allocator(s->m->tok), s->prompt_ids);
    s->prompt_ids = NULL;
    s->n_prompt_ids = 0;
    s->n_gen = 0;
    s->answer_len = 0;
    if (s->answer) s->answer[0] = 0;
    s->cancel = 0;
}

void tlv__engine_cancel(tlv_engine_session *s)
{
    __atomic_store_n(&s->cancel, 1, __ATOMIC_RELAXED);
}

const char *tlv__engine_last_answer(const tlv_engine_session *s)
{
    return s->answer ? s->answer : "";
}

tlv_status tlv__engine_add_image(tlv_engine_session *s, tlv_image *img, tlv_err *err)
{
    const tlv_allocator *a = s->a;
    if (s->n_imgs == MAX_IMAGES) {
        tlv__image_free(a, img);
        return tlv__err_set(err, TLV_ERR_LIMIT, "at most %d images per conversation", MAX_IMAGES);
    }
    int S = s->m->image_params.size;
    float *chw = tlv__malloc(a, (size_t)3 * S * S * sizeof(float));
    if (!chw) {
        tlv__image_free(a, img);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory for an image");
    }
    tlv_status st = tlv__image_preprocess(img, &s->m->image_params, a, chw, err);
    tlv__image_free(a, img);
    if (st) {
        tlv__free(a, chw);
        return st;
    }
    s->imgs[s->n_imgs].chw = chw;
    s->n_imgs++;
    s->pending_images++;
    return TLV_OK;
}

tlv_status tlv__engine_add_text(tlv_engine_session *s, const char *text, tlv_err *err)
{
    size_t old = s->pending ? strlen(s->pending) : 0, n = strlen(text);
    char *p = tlv__realloc(s->a, s->pending, old + n + 1);
    if (!p) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    memcpy(p + old, text, n + 1);
    s->pending = p;
    return TLV_OK;
}

static tlv_chat_turn *push_turn(tlv_engine_session *s)
{
    if (s->n_turns == s->cap_turns) {
        int nc = s->cap_turns ? 2 * s->cap_turns : 8;
        tlv_chat_turn *nt = tlv__realloc(s->a, s->turns, (size_t)nc * sizeof *nt);
        if (!nt) return NULL;
        s->turns = nt;
        s->cap_turns = nc;
    }
    tlv_chat_turn *t = &s->turns[s->n_turns++];
    memset(t, 0, sizeof *t);
    return t;
}

tlv_status tlv__engine_add_turn(tlv_engine_session *s, const char *user, const char *assistant, tlv_err *err)
{
    tlv_status st = tlv__engine_add_text(s, user, err);
    if (st) return st;
    char *a = tlv__strdup(s->a, assistant);
    tlv_chat_turn *t = a ? push_turn(s) : NULL;
    if (!t) {
        tlv__free(s->a, a);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    }
    t->user = s->pending;
    t->n_images = s->pending_images;
    t->assistant = a;
    s->pending = NULL;
    s->pending_images = 0;
    return TLV_OK;
}

/* ------------------------------------------------------------------ generation
 *
 * tlv__engine_generate, in order:
 *   answer_open      sampler, detokenizer and stop strings (every host allocation of the
 *                    decode loop, done before anything changes)
 *   open_turn        the pending text and images become the open turn of the history
 *   build_sequence   the whole conversation rendered and tokenised into s->seq
 *   encode_images    the images not encoded yet
 *   prefill          the positions past the longest prefix the KV cache already holds
 *   decode           sample, stream (holding back what could still become a stop string), step
 *   close_turn       the answer, stripped, joins the history
 * The last answer is forgotten first, so a failure never leaves the previous one in its place.
 * A failure before the answer begins gives the turn back (its text and images are pending
 * again and a later generate retries it); a cancel, or a failure once decoding has begun, keeps
 * the turn with the answer so far (empty after a cancel during prefill). */

static int cancelled(tlv_engine_session *s)
{
    return __atomic_load_n(&s->cancel, __ATOMIC_RELAXED);
}

static tlv_status encode_images(tlv_engine_session *s, double *ms, tlv_err *err)
{
    tlv_model_core *core = s->m->core;
    double t0 = now_ms();
    for (int i = 0; i < s->n_imgs; i++) {
        img_slot *im = &s->imgs[i];
        if (im->encoded) continue;
        int64_t shape[2] = {core->vis.n_tokens, core->llm.hidden};
        tlv__tensor_init(&im->features, TLV_F32, 2, shape);
        tlv_status st = tlv__tensor_alloc(core->dev, &im->features, TLV_MEM_DEVICE, err);
        if (!st) st = tlv__tensor_write(core->dev, &s->sc.img, im->chw, err);
        if (st) return st;
        tlv__stream_begin(s->stream, 0);
        tlv__model_record_image(core, &s->sc, s->stream, &im->features);
        if ((st = tlv__stream_run(s->stream, err))) return tlv__err_prefix(err, "image %d", i + 1);
        im->encoded = 1;
    }
    *ms += now_ms() - t0;
    return TLV_OK;
}

/* One forward pass over items [from, to) of s->seq at positions from..to-1; logits of the last. */
static tlv_status forward(tlv_engine_session *s, int from, int to, tlv_err *err)
{
    tlv_model_core *core = s->m->core;
    tlv_input_span spans[2 * MAX_IMAGES + 2];
    int n_spans = 0, n_ids = 0;
    int32_t *ids = (int32_t *)s->sc.ids.map;
    for (int i = from; i < to;) {
        tlv_input_span *sp = &spans[n_spans++];
        memset(sp, 0, sizeof *sp);
        if (ITEM_IS_IMAGE(s->seq[i])) {
            int img = ITEM_IMG(s->seq[i]);
            sp->image = &s->imgs[img].features;
            sp->image_row0 = ITEM_ROW(s->seq[i]);
            sp->id0 = -1;
            while (i < to && ITEM_IS_IMAGE(s->seq[i]) && ITEM_IMG(s->seq[i]) == img) {
                sp->n++;
                i++;
            }
        } else {
            sp->id0 = n_ids;
            while (i < to && !ITEM_IS_IMAGE(s->seq[i])) {
                ids[n_ids++] = (int32_t)s->seq[i];
                sp->n++;
                i++;
            }
        }
    }
    tlv__stream_begin(s->stream, 0);
    tlv__model_record_llm(core, &s->sc, s->stream, spans, n_spans, from);
    return tlv__stream_run(s->stream, err);
}

static int append_answer(tlv_engine_session *s, const char *p, size_t n)
{
    if (s->answer_len + n + 1 > s->answer_cap) {
        size_t cap = (s->answer_len + n + 1) * 2;
        char *a = tlv__realloc(s->a, s->answer, cap);
        if (!a) return 0;
        s->answer = a;
        s->answer_cap = cap;
    }
    memcpy(s->answer + s->answer_len, p, n);
    s->answer_len += n;
    s->answer[s->answer_len] = 0;
    return 1;
}

static void forget_answer(tlv_engine_session *s)
{
    s->n_gen = 0;
    s->answer_len = 0;
    if (s->answer) s->answer[0] = 0;
}

/* Where the first stop string starts in the answer (or -1), and how many trailing bytes could
 * still become one (held back from the stream). */
static long find_stop(const char *text, size_t len, const char *const *stops, size_t *hold)
{
    long best = -1;
    *hold = 0;
    for (int i = 0; stops && stops[i]; i++) {
        size_t sl = strlen(stops[i]);
        if (!sl) continue;
        for (size_t p = 0; p + sl <= len; p++)
            if (!memcmp(text + p, stops[i], sl)) {
                if (best < 0 || (long)p < best) best = (long)p;
                break;
            }
        for (size_t k = sl - 1; k > 0; k--)
            if (k <= len && !memcmp(text + len - k, stops[i], k)) {
                if (k > *hold) *hold = k;
                break;
            }
    }
    return best;
}

/* The answer as it is decoded and streamed. */
typedef struct answer_stream {
    tlv_token_fn cb;
    void *ud;
    tlv_sampler smp;
    tlv_detok *dt;
    const char **stops;   /* the template's, then the caller's; NULL-terminated */
    size_t emitted;       /* bytes of s->answer handed to cb */
    int started;          /* leading whitespace of the answer is dropped (the reference strips) */
} answer_stream;

static void answer_close(tlv_engine_session *s, answer_stream *as)
{
    tlv__detok_destroy(as->dt);
    tlv__sampler_free(&as->smp);
    tlv__free(s->a, (void *)as->stops);
}

static tlv_status answer_open(tlv_engine_session *s, const tlv_sampling *p, tlv_token_fn cb, void *ud,
                              answer_stream *as, tlv_err *err)
{
    memset(as, 0, sizeof *as);
    as->cb = cb;
    as->ud = ud;
    const tlv_chat_template *tpl = s->m->tpl;
    size_t n_tpl = 0, n_user = 0;
    while (n_tpl < sizeof tpl->stop / sizeof tpl->stop[0] && tpl->stop[n_tpl]) n_tpl++;
    while (p->stop && p->stop[n_user]) n_user++;
    as->stops = tlv__calloc(s->a, n_tpl + n_user + 1, sizeof *as->stops);
    if (!as->stops || tlv__sampler_init(&as->smp, p, s->m->core->llm.vocab, s->a) ||
        tlv__detok_create(s->m->tok, 1, &as->dt) || !append_answer(s, "", 0)) {
        answer_close(s, as);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    }
    memcpy(as->stops, tpl->stop, n_tpl * sizeof *as->stops);
    if (n_user) memcpy(as->stops + n_tpl, p->stop, n_user * sizeof *as->stops);
    return TLV_OK;
}

/* Appends the text of id to the answer and hands cb what can no longer become part of a stop
 * string. *reason: "stop_string" (the answer is cut where it begins) or "callback" (cb asked to
 * stop); unchanged otherwise. */
static tlv_status answer_push(tlv_engine_session *s, answer_stream *as, int32_t id, const char **reason, tlv_err *err)
{
    size_t plen = 0;
    const char *piece = tlv__detok_push(as->dt, id, &plen);
    if (!piece) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    if (!as->started) {
        while (plen && (*piece == ' ' || *piece == '\n' || *piece == '\t' || *piece == '\r')) {
            piece++;
            plen--;
        }
        if (plen) as->started = 1;
    }
    if (plen && !append_answer(s, piece, plen)) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    size_t hold = 0;
    long at = find_stop(s->answer, s->answer_len, as->stops, &hold);
    size_t upto = at >= 0 ? (size_t)at : s->answer_len - hold;
    int stop_cb = 0;
    if (as->cb && upto > as->emitted) stop_cb = as->cb(as->ud, s->answer + as->emitted, upto - as->emitted, id);
    if (upto > as->emitted) as->emitted = upto;
    if (at >= 0) {
        s->answer_len = (size_t)at;
        s->answer[at] = 0;
        *reason = "stop_string";
    } else if (stop_cb) {
        *reason = "callback";
    }
    return TLV_OK;
}

/* The end of an answer no stop string cut: what the detokenizer held back (a character that
 * never completed) and the tail that could have begun a stop string. */
static tlv_status answer_flush(tlv_engine_session *s, answer_stream *as, tlv_err *err)
{
    size_t fl = 0;
    const char *rest = tlv__detok_flush(as->dt, &fl);
    if (fl && as->started && !append_answer(s, rest, fl))
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    if (as->cb && s->answer_len > as->emitted) as->cb(as->ud, s->answer + as->emitted, s->answer_len - as->emitted, -1);
    as->emitted = s->answer_len;
    return TLV_OK;
}

static tlv_status lay_out(tlv_engine_session *s, const int32_t *ids, size_t n_ids, int *out_len, int *n_image_rows,
                          tlv_err *err);

/* The history's turns plus the open one, rendered, tokenised and laid out as s->seq (image
 * placeholders expanded to their rows). */
static tlv_status build_sequence(tlv_engine_session *s, int *out_len, int *n_image_rows, tlv_err *err)
{
    tlv_engine_model *m = s->m;
    char *prompt = NULL;
    size_t plen = 0, n_img = 0;
    tlv_status st = tlv__template_render(m->tpl, s->turns, (size_t)s->n_turns, s->a, &prompt, &plen, err);
    if (st) return st;
    tlv__free(tlv__tokenizer_allocator(m->tok), s->prompt_ids);
    s->prompt_ids = NULL;
    s->n_prompt_ids = 0;
    int32_t image_id = m->core->cfg.image_token_index;
    st = tlv__template_tokenize(m->tok, prompt, plen, image_id, &s->prompt_ids, &s->n_prompt_ids, &n_img, err);
    tlv__free(s->a, prompt);
    if (st) return st;
    if ((int)n_img != s->n_imgs)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "the prompt has %zu image placeholders for %d images", n_img, s->n_imgs);
    return lay_out(s, s->prompt_ids, s->n_prompt_ids, out_len, n_image_rows, err);
}

/* ids (image placeholders in order of the session's images) laid out as s->seq, each
 * placeholder expanded to its image's rows; room for one more position is left. */
static tlv_status lay_out(tlv_engine_session *s, const int32_t *ids, size_t n_ids, int *out_len, int *n_image_rows,
                          tlv_err *err)
{
    tlv_engine_model *m = s->m;
    int32_t image_id = m->core->cfg.image_token_index;
    int n = 0, img = 0, rows = m->core->vis.n_tokens;
    *n_image_rows = 0;
    for (size_t i = 0; i < n_ids; i++) {
        int32_t id = ids[i];
        int need = id == image_id ? rows : 1;
        if (n + need >= s->n_ctx)
            return tlv__err_set(err, TLV_ERR_LIMIT,
                                "the prompt needs more than %d positions (%zu tokens, %d images of %d rows): "
                                "it exceeds the context of %d; shorten it or raise the context size",
                                n + need, n_ids, s->n_imgs, rows, s->n_ctx);
        if (id == image_id) {
            if (img == s->n_imgs)
                return tlv__err_set(err, TLV_ERR_INVALID_ARG, "the prompt has more image placeholders than the %d images",
                                    s->n_imgs);
            for (int r = 0; r < rows; r++) s->seq[n++] = ITEM_IMAGE(img, r);
            img++;
            *n_image_rows += rows;
        } else {
            if (id < 0 || id >= m->core->llm.vocab)
                return tlv__err_set(err, TLV_ERR_FORMAT, "token id %d outside the embedding table (%d rows)", id,
                                    m->core->llm.vocab);
            s->seq[n++] = id;
        }
    }
    *out_len = n;
    return TLV_OK;
}

/* Prefills items [keep, len) of s->seq in passes of n_batch rows, keep being the longest prefix
 * the cache already holds (the last position is always recomputed: its logits start the answer),
 * and keeps those logits in s->last_logits. A cancel is seen after each pass. */
static tlv_status prefill(tlv_engine_session *s, int len, tlv_generate_stats *r, tlv_err *err)
{
    int keep = 0;
    while (keep < s->n_cached && keep < len && s->cached[keep] == s->seq[keep]) keep++;
    if (keep >= len) keep = len - 1;
    r->reused_tokens = (uint32_t)keep;
    r->prompt_tokens = (uint32_t)(len - keep);
    double t0 = now_ms();
    s->n_cached = keep;
    for (int from = keep; from < len; from += s->n_batch) {
        int to = from + s->n_batch < len ? from + s->n_batch : len;
        tlv_status st = forward(s, from, to, err);
        if (st) return st;
        memcpy(s->cached + from, s->seq + from, (size_t)(to - from) * sizeof *s->cached);
        s->n_cached = to;
        if (cancelled(s)) return tlv__err_set(err, TLV_ERR_CANCELLED, "generation cancelled");
    }
    r->prefill_ms = now_ms() - t0;
    memcpy(s->last_logits, s->sc.logits.slabs[0].map, (size_t)s->m->core->llm.vocab * sizeof(float));
    return TLV_OK;
}

/* One decode step: id at the next position; its logits in s->sc.logits. */
static tlv_status step(tlv_engine_session *s, int32_t id, tlv_err *err)
{
    int pos = s->n_cached;
    s->seq[pos] = id;
    tlv_status st = forward(s, pos, pos + 1, err);
    if (st) return st;
    s->cached[pos] = id;
    s->n_cached = pos + 1;
    return TLV_OK;
}

/* Samples from s->last_logits, then one position per step, until a stop condition; r gets the
 * stop reason ("cancelled" with TLV_ERR_CANCELLED; none after another error). */
static tlv_status decode(tlv_engine_session *s, const tlv_sampling *p, answer_stream *as, tlv_generate_stats *r,
                         tlv_err *err)
{
    tlv_engine_model *m = s->m;
    int32_t vocab = m->core->llm.vocab;
    const float *logits = s->last_logits;
    const char *reason = NULL;
    tlv_status st = TLV_OK;
    double t0 = now_ms();
    for (;;) {
        memcpy(s->work_logits, logits, (size_t)vocab * sizeof(float));
        int32_t id = tlv__sampler_pick(&as->smp, s->work_logits, m->n_valid_tokens, s->gen, s->n_gen);
        s->gen[s->n_gen++] = id;
        r->generated_tokens++;
        if (id == m->core->llm.eos_id || id == tlv__tokenizer_eos(m->tok)) {
            reason = "eos";
            break;
        }
        if ((st = answer_push(s, as, id, &reason, err)) || reason) break;
        if (p->max_tokens > 0 && (int)s->n_gen >= p->max_tokens) {
            reason = "max_tokens";
            break;
        }
        int pos = s->n_cached;
        if (pos + 1 >= s->n_ctx) {
            reason = "context_full";
            break;
        }
        if (cancelled(s)) {
            reason = "cancelled";
            st = tlv__err_set(err, TLV_ERR_CANCELLED, "generation cancelled");
            break;
        }
        if ((st = step(s, id, err))) break;
        logits = (const float *)s->sc.logits.slabs[0].map;
    }
    r->decode_ms = now_ms() - t0;
    if (!st && strcmp(reason, "stop_string") != 0) st = answer_flush(s, as, err);
    r->stop_reason = st && st != TLV_ERR_CANCELLED ? NULL : reason;
    return st;
}

static tlv_status open_turn(tlv_engine_session *s, tlv_err *err)
{
    tlv_chat_turn *t = push_turn(s);
    if (!t) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    t->user = s->pending ? s->pending : tlv__strdup(s->a, "");
    if (!t->user) {
        s->n_turns--;
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    }
    t->n_images = s->pending_images;
    t->assistant = NULL;
    s->pending = NULL;
    s->pending_images = 0;
    return TLV_OK;
}

/* The open turn did not happen: its text and images are pending again. */
static void give_back_turn(tlv_engine_session *s)
{
    tlv_chat_turn *t = &s->turns[--s->n_turns];
    s->pending = (char *)t->user;
    s->pending_images = t->n_images;
}

/* The answer joins the history, stripped as the reference decodes it. */
static tlv_status close_turn(tlv_engine_session *s, tlv_err *err)
{
    while (s->answer_len && (s->answer[s->answer_len - 1] == ' ' || s->answer[s->answer_len - 1] == '\n'))
        s->answer[--s->answer_len] = 0;
    char *a = tlv__strdup(s->a, s->answer);
    if (!a) {
        give_back_turn(s);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    }
    s->turns[s->n_turns - 1].assistant = a;
    return TLV_OK;
}

tlv_status tlv__engine_generate(tlv_engine_session *s, const tlv_sampling *p, tlv_token_fn cb, void *ud,
                                tlv_generate_stats *res, tlv_err *err)
{
    tlv_generate_stats r;
    memset(&r, 0, sizeof r);
    tlv_sampling defaults;
    if (!p) {
        tlv__sampling_defaults(&defaults);
        p = &defaults;
    }
    __atomic_store_n(&s->cancel, 0, __ATOMIC_RELAXED);
    if (!s->pending && !s->pending_images)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "nothing to answer: add text or an image first");
    forget_answer(s);

    answer_stream as;
    tlv_status st = answer_open(s, p, cb, ud, &as, err);
    if (st) return st;
    if ((st = open_turn(s, err))) goto out;
    int len = 0, image_rows = 0;
    st = build_sequence(s, &len, &image_rows, err);
    if (!st) st = encode_images(s, &r.image_ms, err);
    if (!st) r.image_tokens = (uint32_t)image_rows;
    if (!st) st = prefill(s, len, &r, err);
    if (st && st != TLV_ERR_CANCELLED) {
        give_back_turn(s);
        goto out;
    }
    if (st) r.stop_reason = "cancelled";
    else st = decode(s, p, &as, &r, err);
    tlv_status closed = close_turn(s, err);
    if (!st) st = closed;
out:
    answer_close(s, &as);
    if (res) *res = r;
    return st;
}

/* ------------------------------------------------------------------ teacher forcing */

tlv_status tlv__engine_add_pixels(tlv_engine_session *s, const float *chw, tlv_err *err)
{
    if (s->n_imgs == MAX_IMAGES) return tlv__err_set(err, TLV_ERR_LIMIT, "at most %d images per conversation", MAX_IMAGES);
    int S = s->m->image_params.size;
    float *copy = tlv__malloc(s->a, (size_t)3 * S * S * sizeof(float));
    if (!copy) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory for an image");
    memcpy(copy, chw, (size_t)3 * S * S * sizeof(float));
    s->imgs[s->n_imgs].chw = copy;
    s->n_imgs++;
    return TLV_OK;
}

tlv_status tlv__engine_teacher_force(tlv_engine_session *s, const int32_t *ids, size_t n_ids, const int32_t *forced,
                                     int n_forced, float *logits, tlv_err *err)
{
    const int32_t vocab = s->m->core->llm.vocab;
    if (!n_ids || n_forced < 0)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "teacher forcing: %zu prompt ids and %d forced tokens (expected "
                            "at least 1 and 0)", n_ids, n_forced);
    s->n_cached = 0; /* a fresh sequence: nothing of the cache is reused */
    int len = 0, image_rows = 0;
    double image_ms = 0;
    tlv_generate_stats r;
    memset(&r, 0, sizeof r);
    tlv_status st = lay_out(s, ids, n_ids, &len, &image_rows, err);
    if (!st) st = encode_images(s, &image_ms, err);
    if (!st && len + n_forced >= s->n_ctx)
        st = tlv__err_set(err, TLV_ERR_LIMIT, "teacher forcing: %d + %d positions exceed the context of %d", len,
                          n_forced, s->n_ctx);
    if (!st) st = prefill(s, len, &r, err);
    if (st) return st;
    memcpy(logits, s->last_logits, (size_t)vocab * sizeof(float));
    for (int i = 0; i < n_forced; i++) {
        if (forced[i] < 0 || forced[i] >= vocab)
            return tlv__err_set(err, TLV_ERR_INVALID_ARG, "teacher forcing: token %d: id %d outside the vocabulary (%d)",
                                i, forced[i], vocab);
        if ((st = step(s, forced[i], err))) return st;
        memcpy(logits + (size_t)(i + 1) * vocab, s->sc.logits.slabs[0].map, (size_t)vocab * sizeof(float));
    }
    return TLV_OK;
}

/* ------------------------------------------------------------------ inspection */

static tlv_status array_of(tlv_array *out, tlv_array_type type, const void *data, uint32_t ndim, const int64_t *shape)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    out->data = data;
    out->ndim = ndim;
    out->count = 1;
    for (uint32_t i = 0; i < ndim; i++) {
        out->shape[i] = shape[i];
        out->count *= (size_t)shape[i];
    }
    return TLV_OK;
}

tlv_status tlv__engine_inspect(tlv_engine_session *s, const char *name, uint32_t index, tlv_array *out, tlv_err *err)
{
    tlv_model_core *core = s->m->core;
    int is_image = !strcmp(name, "pixel_values") || !strcmp(name, "image_features");
    if (!is_image && index != 0)
        return tlv__err_set(err, TLV_ERR_NOT_FOUND, "%s: index %u given, it has only index 0", name, index);
    if (!strcmp(name, "prompt_ids") || !strcmp(name, "generated_ids") || !strcmp(name, "last_logits")) {
        if (!s->prompt_ids) return tlv__err_set(err, TLV_ERR_NOT_FOUND, "%s: no generate since the session began or was reset", name);
        if (name[0] == 'p') {
            int64_t n = (int64_t)s->n_prompt_ids;
            return array_of(out, TLV_ARRAY_I32, s->prompt_ids, 1, &n);
        }
        if (name[0] == 'g') {
            int64_t n = (int64_t)s->n_gen;
            return array_of(out, TLV_ARRAY_I32, s->gen, 1, &n);
        }
        int64_t n = core->llm.vocab;
        return array_of(out, TLV_ARRAY_F32, s->last_logits, 1, &n);
    }
    if (!is_image)
        return tlv__err_set(err, TLV_ERR_NOT_FOUND,
                            "no array named '%s' (prompt_ids, generated_ids, last_logits, pixel_values, image_features)", name);
    if (index >= (uint32_t)s->n_imgs)
        return tlv__err_set(err, TLV_ERR_NOT_FOUND, "%s: no image %u (the session has %d)", name, index, s->n_imgs);
    img_slot *im = &s->imgs[index];
    if (name[0] == 'p') {
        int64_t S = s->m->image_params.size, shape[4] = {1, 3, S, S};
        return array_of(out, TLV_ARRAY_F32, im->chw, 4, shape);
    }
    if (!im->encoded) return tlv__err_set(err, TLV_ERR_NOT_FOUND, "%s: image %u is not encoded yet (no generate since it was added)", name, index);
    size_t n = (size_t)core->vis.n_tokens * (size_t)core->llm.hidden;
    if (n > s->inspect_cap) {
        float *b = tlv__realloc(s->a, s->inspect_buf, n * sizeof *b);
        if (!b) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory reading image features");
        s->inspect_buf = b;
        s->inspect_cap = n;
    }
    tlv_status st = tlv__tensor_read(core->dev, &im->features, s->inspect_buf, err);
    if (st) return st;
    int64_t shape[2] = {core->vis.n_tokens, core->llm.hidden};
    return array_of(out, TLV_ARRAY_F32, s->inspect_buf, 2, shape);
}
