/* api.c: the public C API (include/tinyllava.h), a thin layer over the engine (src/engine/) and
 * the hub: it checks arguments, owns the handles and their error text, and turns the engine's
 * results into the public types. Nothing here is global. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "engine/engine.h"
#include "hub/hub.h"
#include "tinyllava.h"
#include "vk/vk.h"

#ifndef TLV_VERSION_STRING
#define TLV_VERSION_STRING "dev"
#endif

struct tlv_context {
    tlv_allocator alloc_copy;
    const tlv_allocator *alloc;
    tlv_logger log;
    tlv_vk_instance *inst;
    tlv_vk_device *dev;
    uint32_t dev_index;
    char *cache_dir;
    char device_spec[128];
    int no_vulkan;
    tlv_err err;
};

struct tlv_model {
    tlv_context *ctx;
    tlv_engine_model *em;
    const char *weight_dtype;
};

struct tlv_session {
    tlv_model *model;
    tlv_engine_session *es;
    tlv_err err;
};

struct tlv_vocab {
    tlv_context *ctx;
    tlv_engine_vocab *ev;
    tlv_err err;
};

const char *tlv_version(void)
{
    return TLV_VERSION_STRING;
}

const char *tlv_build_info(void)
{
    return "tinyllava-vk " TLV_VERSION_STRING "; C11"
#if defined(__clang__)
           "; clang " __clang_version__
#elif defined(__GNUC__)
           "; gcc " __VERSION__
#endif
#if defined(__SANITIZE_ADDRESS__)
           "; asan"
#endif
#if defined(TLV_NO_CURL)
           "; no downloads (TLV_WITH_CURL=OFF)"
#endif
           "; Vulkan 1.1 via volk; shaders: GLSL 450 -> SPIR-V, embedded";
}

const char *tlv_status_string(tlv_status s)
{
    switch (s) {
    case TLV_OK: return "ok";
    case TLV_ERR_INVALID_ARG: return "invalid argument";
    case TLV_ERR_NO_MEMORY: return "out of host memory";
    case TLV_ERR_IO: return "I/O error";
    case TLV_ERR_FORMAT: return "bad file format";
    case TLV_ERR_UNSUPPORTED: return "unsupported";
    case TLV_ERR_NO_DEVICE: return "no Vulkan device";
    case TLV_ERR_DEVICE: return "device error";
    case TLV_ERR_DEVICE_MEMORY: return "out of device memory";
    case TLV_ERR_SHAPE: return "shape mismatch";
    case TLV_ERR_LIMIT: return "limit exceeded";
    case TLV_ERR_CANCELLED: return "cancelled";
    case TLV_ERR_NETWORK: return "network error";
    case TLV_ERR_NOT_FOUND: return "not found";
    }
    return "unknown status";
}

/* ------------------------------------------------------------------ context */

void tlv_context_options_init(tlv_context_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->log_level = TLV_LOG_WARN;
}

static tlv_status ctx_fail(tlv_context *ctx, tlv_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tlv__err_setv(&ctx->err, st, fmt, ap);
    va_end(ap);
    return st;
}

tlv_status tlv_context_create(const tlv_context_options *o, tlv_context **out)
{
    if (!out) return TLV_ERR_INVALID_ARG;
    *out = NULL;
    tlv_context_options defaults;
    tlv_context_options_init(&defaults);
    if (!o) o = &defaults;
    tlv_context *ctx = tlv__calloc(o->allocator, 1, sizeof *ctx);
    if (!ctx) return TLV_ERR_NO_MEMORY;
    if (o->allocator) {
        ctx->alloc_copy = *o->allocator;
        ctx->alloc = &ctx->alloc_copy;
    }
    ctx->log.fn = o->log;
    ctx->log.user_data = o->log_user_data;
    ctx->log.level = o->log_level;
    if (o->device) snprintf(ctx->device_spec, sizeof ctx->device_spec, "%s", o->device);
    ctx->cache_dir = o->cache_dir ? tlv__strdup(ctx->alloc, o->cache_dir) : NULL;
    *out = ctx;
    if (o->cache_dir && !ctx->cache_dir) return ctx_fail(ctx, TLV_ERR_NO_MEMORY, "out of host memory");
    ctx->no_vulkan = o->no_vulkan;
    if (o->no_vulkan) return TLV_OK;
    tlv_vk_instance_options io = {ctx->alloc, &ctx->log, o->validation};
    tlv_status st = tlv__vk_instance_create(&io, &ctx->inst, &ctx->err);
    if (st) return st;
    if ((st = tlv__vk_instance_pick(ctx->inst, ctx->device_spec, &ctx->dev_index, &ctx->err))) return st;
    return TLV_OK;
}

/* The device is created on first use (listing devices needs none). */
static tlv_status ctx_device(tlv_context *ctx)
{
    if (ctx->dev) return TLV_OK;
    if (ctx->no_vulkan)
        return ctx_fail(ctx, TLV_ERR_NO_DEVICE, "this context was created with no_vulkan: it can pull models and open "
                                                "vocabularies, not load models");
    if (!ctx->inst) return ctx->err.status ? ctx->err.status : ctx_fail(ctx, TLV_ERR_NO_DEVICE, "no Vulkan device");
    char pdir[1024];
    const char *dir = NULL;
    if (ctx->cache_dir) {
        if (!*ctx->cache_dir) dir = "";
        else {
            snprintf(pdir, sizeof pdir, "%s", ctx->cache_dir);
            dir = pdir;
        }
    }
    tlv_vk_device_options dopt = {dir};
    return tlv__vk_device_create(ctx->inst, ctx->dev_index, &dopt, &ctx->dev, &ctx->err);
}

void tlv_context_destroy(tlv_context *ctx)
{
    if (!ctx) return;
    tlv__vk_device_destroy(ctx->dev);
    tlv__vk_instance_destroy(ctx->inst);
    tlv__free(ctx->alloc, ctx->cache_dir);
    tlv__free(ctx->alloc, ctx);
}

const char *tlv_context_errmsg(const tlv_context *ctx)
{
    if (!ctx) return "no context (out of memory?)";
    return ctx->err.status ? ctx->err.msg : "";
}

uint32_t tlv_device_count(const tlv_context *ctx)
{
    return ctx ? tlv__vk_instance_device_count(ctx->inst) : 0;
}

static const char *type_name(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

tlv_status tlv_device_get_info(tlv_context *ctx, uint32_t index, tlv_device_info *info)
{
    if (!ctx || !info) return TLV_ERR_INVALID_ARG;
    const tlv_vk_caps *c = tlv__vk_instance_caps(ctx->inst, index);
    if (!c) return ctx_fail(ctx, TLV_ERR_NOT_FOUND, "device %u does not exist (%u found)", index, tlv_device_count(ctx));
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", c->device_name);
    snprintf(info->driver, sizeof info->driver, "%s %s", c->driver_name, c->driver_info);
    snprintf(info->type, sizeof info->type, "%s", type_name(c->type));
    info->vendor_id = c->vendor_id;
    info->device_id = c->device_id;
    info->memory_bytes = c->device_local_bytes;
    info->selected = index == ctx->dev_index;
    return TLV_OK;
}

tlv_status tlv_device_banner(tlv_context *ctx, uint32_t index, char *buf, size_t size)
{
    if (!ctx || !buf || !size) return TLV_ERR_INVALID_ARG;
    const tlv_vk_caps *c = tlv__vk_instance_caps(ctx->inst, index);
    if (!c) return ctx_fail(ctx, TLV_ERR_NOT_FOUND, "device %u does not exist (%u found)", index, tlv_device_count(ctx));
    tlv__vk_caps_banner(c, buf, size);
    return TLV_OK;
}

/* ------------------------------------------------------------------ device tuning record */

tlv_status tlv_device_tuning(tlv_context *ctx, uint32_t index, char *buf, size_t size)
{
    if (!ctx || !buf || !size) return TLV_ERR_INVALID_ARG;
    const tlv_vk_caps *c = tlv__vk_instance_caps(ctx->inst, index);
    if (!c) return ctx_fail(ctx, TLV_ERR_NOT_FOUND, "device %u does not exist (%u found)", index, tlv_device_count(ctx));
    tlv__vk_tuning_describe(&c->tune, buf, size);
    if (c->tune.error[0]) return ctx_fail(ctx, TLV_ERR_INVALID_ARG, "%s", c->tune.error);
    return TLV_OK;
}

/* ------------------------------------------------------------------ models */

void tlv_model_options_init(tlv_model_options *o)
{
    if (o) memset(o, 0, sizeof *o);
}

typedef struct hub_progress {
    const tlv_model_options *o;
} hub_progress;

static int on_download(void *ud, const char *repo, const char *file, uint64_t done, uint64_t total)
{
    const hub_progress *h = ud;
    (void)repo;
    (void)file;
    return h->o && h->o->progress ? h->o->progress(h->o->progress_user_data, "download", done, total) : 0;
}

/* The local folder of a checkpoint folder or hub id (downloaded first if needed); *dir is
 * allocated with the context's allocator. */
static tlv_status resolve(tlv_context *ctx, const char *path_or_id, const tlv_model_options *o, char **dir)
{
    *dir = NULL;
    if (!path_or_id || !*path_or_id) return ctx_fail(ctx, TLV_ERR_INVALID_ARG, "no model given");
    tlv_hub_options ho;
    memset(&ho, 0, sizeof ho);
    ho.alloc = ctx->alloc;
    ho.cache_dir = ctx->cache_dir && *ctx->cache_dir ? ctx->cache_dir : NULL;
    hub_progress hp = {o};
    ho.progress = on_download;
    ho.progress_user = &hp;
    if (o && o->offline) ho.offline = 1;
    return tlv__hub_resolve(path_or_id, &ho, dir, &ctx->err);
}

tlv_status tlv_model_pull(tlv_context *ctx, const char *path_or_id, const tlv_model_options *o, char *dir, size_t cap)
{
    if (!ctx || (cap && !dir)) return TLV_ERR_INVALID_ARG;
    if (cap) dir[0] = 0;
    char *local = NULL;
    tlv_status st = resolve(ctx, path_or_id, o, &local);
    if (st) return st;
    size_t n = strlen(local);
    if (n >= cap)
        st = ctx_fail(ctx, TLV_ERR_LIMIT, "%s: the folder's path takes %zu bytes with its NUL, %zu given", local, n + 1, cap);
    else memcpy(dir, local, n + 1);
    tlv__free(ctx->alloc, local);
    return st;
}

tlv_status tlv_model_load(tlv_context *ctx, const char *path_or_id, const tlv_model_options *o, tlv_model **out)
{
    if (!ctx || !out) return TLV_ERR_INVALID_ARG;
    *out = NULL;
    if (!path_or_id || !*path_or_id) return ctx_fail(ctx, TLV_ERR_INVALID_ARG, "no model given");
    tlv_status st = ctx_device(ctx);
    if (st) return st;
    char *dir = NULL;
    if ((st = resolve(ctx, path_or_id, o, &dir))) return st;
    tlv_model *m = tlv__calloc(ctx->alloc, 1, sizeof *m);
    if (!m) {
        tlv__free(ctx->alloc, dir);
        return ctx_fail(ctx, TLV_ERR_NO_MEMORY, "out of host memory");
    }
    m->ctx = ctx;
    st = tlv__engine_model_load(ctx->dev, dir, o, ctx->alloc, &m->em, &ctx->err);
    tlv__free(ctx->alloc, dir);
    if (st) {
        tlv__free(ctx->alloc, m);
        return st;
    }
    m->weight_dtype = tlv__dtype_name(m->em->core->weight_dtype);
    *out = m;
    return TLV_OK;
}

void tlv_model_destroy(tlv_model *m)
{
    if (!m) return;
    tlv__engine_model_destroy(m->em);
    tlv__free(m->ctx->alloc, m);
}

tlv_status tlv_model_get_info(const tlv_model *m, tlv_model_info *info)
{
    if (!m || !info) return TLV_ERR_INVALID_ARG;
    const tlv_model_core *c = m->em->core;
    memset(info, 0, sizeof *info);
    info->llm_arch = tlv__llm_arch_name(c->llm.arch);
    info->vision_arch = c->vis.arch == TLV_VISION_CLIP ? "clip" : "siglip";
    info->generation = tlv__generation_name(c->cfg.generation);
    info->chat_template = m->em->tpl->name;
    info->weight_dtype = m->weight_dtype;
    info->n_layer = (uint32_t)c->llm.n_layer;
    info->hidden = (uint32_t)c->llm.hidden;
    info->n_head = (uint32_t)c->llm.n_head[0];
    info->n_kv_head = (uint32_t)c->llm.n_kv_head[0];
    info->head_dim = (uint32_t)c->llm.head_dim;
    info->vocab = (uint32_t)c->llm.vocab;
    info->vision_layers = (uint32_t)c->vis.n_run;
    info->vision_hidden = (uint32_t)c->vis.hidden;
    info->image_size = (uint32_t)c->vis.image_size;
    info->patch_size = (uint32_t)c->vis.patch;
    info->tokens_per_image = (uint32_t)c->vis.n_tokens;
    info->max_context = (uint32_t)c->max_ctx;
    info->n_params = c->n_params;
    info->device_bytes = c->device_bytes;
    return TLV_OK;
}

uint32_t tlv_model_part_count(const tlv_model *m)
{
    return m ? TLV_PART_COUNT : 0;
}

tlv_status tlv_model_get_part(const tlv_model *m, uint32_t index, tlv_model_part *part)
{
    if (!m || !part) return TLV_ERR_INVALID_ARG;
    memset(part, 0, sizeof *part);
    if (index >= TLV_PART_COUNT)
        return ctx_fail(m->ctx, TLV_ERR_NOT_FOUND, "model part %u does not exist (%d parts)", index, TLV_PART_COUNT);
    tlv__engine_model_part(m->em, index, part);
    return TLV_OK;
}

tlv_status tlv_model_quantize(tlv_context *ctx, const char *path_or_id, const char *dst_dir, const tlv_model_options *o)
{
    if (!ctx) return TLV_ERR_INVALID_ARG;
    if (!dst_dir || !*dst_dir) return ctx_fail(ctx, TLV_ERR_INVALID_ARG, "quantize: no destination folder given");
    char *dir = NULL;
    tlv_status st = resolve(ctx, path_or_id, o, &dir);
    if (st) return st;
    st = tlv__engine_model_quantize(dir, dst_dir, o, ctx->alloc, &ctx->err);
    tlv__free(ctx->alloc, dir);
    return st;
}

tlv_status tlv_model_tokenize(const tlv_model *m, const char *text, int add_special, int32_t *ids, size_t cap, size_t *n)
{
    if (!m || !text || !n || (cap && !ids)) return TLV_ERR_INVALID_ARG;
    int32_t *all = NULL;
    size_t count = 0;
    tlv_status st = tlv__tokenizer_encode(m->em->tok, text, strlen(text), add_special, &all, &count, &m->ctx->err);
    if (st) return st;
    if (cap) memcpy(ids, all, (count < cap ? count : cap) * sizeof *ids);
    *n = count;
    tlv__free(tlv__tokenizer_allocator(m->em->tok), all);
    return TLV_OK;
}

tlv_status tlv_model_token_text(const tlv_model *m, int32_t id, char *buf, size_t cap, size_t *n)
{
    if (!m || !n || (cap && !buf)) return TLV_ERR_INVALID_ARG;
    char *text = NULL;
    size_t len = 0;
    tlv_status st = tlv__tokenizer_decode(m->em->tok, &id, 1, 0, &text, &len, &m->ctx->err);
    if (st) return st;
    if (cap) memcpy(buf, text, len < cap ? len : cap);
    *n = len;
    tlv__free(tlv__tokenizer_allocator(m->em->tok), text);
    return TLV_OK;
}

/* ------------------------------------------------------------------ vocabularies */

tlv_status tlv_vocab_open(tlv_context *ctx, const char *path_or_id, const tlv_model_options *o, tlv_vocab **out)
{
    if (!ctx || !out) return TLV_ERR_INVALID_ARG;
    *out = NULL;
    char *dir = NULL;
    tlv_status st = resolve(ctx, path_or_id, o, &dir);
    if (st) return st;
    tlv_vocab *v = tlv__calloc(ctx->alloc, 1, sizeof *v);
    if (!v) st = ctx_fail(ctx, TLV_ERR_NO_MEMORY, "out of host memory");
    else st = tlv__engine_vocab_open(dir, o ? o->chat_template : NULL, ctx->alloc, &v->ev, &ctx->err);
    tlv__free(ctx->alloc, dir);
    if (st) {
        tlv__free(ctx->alloc, v);
        return st;
    }
    v->ctx = ctx;
    *out = v;
    return TLV_OK;
}

void tlv_vocab_destroy(tlv_vocab *v)
{
    if (!v) return;
    tlv__engine_vocab_destroy(v->ev);
    tlv__free(v->ctx->alloc, v);
}

const char *tlv_vocab_errmsg(const tlv_vocab *v)
{
    if (!v) return "no vocab";
    return v->err.status ? v->err.msg : "";
}

tlv_status tlv_vocab_get_info(const tlv_vocab *v, tlv_vocab_info *info)
{
    if (!v || !info) return TLV_ERR_INVALID_ARG;
    const tlv_tokenizer *t = v->ev->tok;
    memset(info, 0, sizeof *info);
    info->kind = tlv__tokenizer_kind(t) == TLV_TOKENIZER_SPM ? "spm" : "bpe";
    info->n_tokens = tlv__tokenizer_n_tokens(t);
    info->bos_id = tlv__tokenizer_bos(t);
    info->eos_id = tlv__tokenizer_eos(t);
    info->add_bos = tlv__tokenizer_adds_bos(t);
    info->image_token_id = v->ev->image_token_id;
    info->chat_template = v->ev->tpl ? v->ev->tpl->name : NULL;
    return TLV_OK;
}

/* Copies n bytes of text into buf (cap bytes), with its NUL when it fits. */
static void copy_text(const char *text, size_t n, char *buf, size_t cap)
{
    if (!cap) return;
    memcpy(buf, text, n < cap ? n : cap);
    if (n < cap) buf[n] = 0;
}

tlv_status tlv_vocab_encode(tlv_vocab *v, const char *text, size_t len, int add_special, int32_t *ids, size_t cap, size_t *n)
{
    if (!v || !n || (cap && !ids) || (len && !text)) return TLV_ERR_INVALID_ARG;
    *n = 0;
    int32_t *all = NULL;
    size_t count = 0;
    tlv_status st = tlv__tokenizer_encode(v->ev->tok, text ? text : "", len, add_special, &all, &count, &v->err);
    if (st) return st;
    if (cap) memcpy(ids, all, (count < cap ? count : cap) * sizeof *ids);
    *n = count;
    tlv__free(tlv__tokenizer_allocator(v->ev->tok), all);
    return TLV_OK;
}

const char *tlv_vocab_token(const tlv_vocab *v, int32_t id)
{
    return v ? tlv__tokenizer_piece(v->ev->tok, id) : NULL;
}

tlv_status tlv_vocab_decode(tlv_vocab *v, const int32_t *ids, size_t n_ids, int skip_special, char *text, size_t cap, size_t *n)
{
    if (!v || !n || (cap && !text) || (n_ids && !ids)) return TLV_ERR_INVALID_ARG;
    *n = 0;
    char *all = NULL;
    size_t len = 0;
    tlv_status st = tlv__tokenizer_decode(v->ev->tok, ids, n_ids, skip_special, &all, &len, &v->err);
    if (st) return st;
    copy_text(all, len, text, cap);
    *n = len;
    tlv__free(tlv__tokenizer_allocator(v->ev->tok), all);
    return TLV_OK;
}

tlv_status tlv_vocab_decode_pieces(tlv_vocab *v, const int32_t *ids, size_t n_ids, int skip_special, tlv_token_fn cb,
                                   void *user_data)
{
    if (!v || !cb || (n_ids && !ids)) return TLV_ERR_INVALID_ARG;
    tlv_detok *d = NULL;
    if (tlv__detok_create(v->ev->tok, skip_special, &d)) return tlv__err_set(&v->err, TLV_ERR_NO_MEMORY, "out of host memory");
    tlv_status st = TLV_OK;
    int stop = 0;
    for (size_t i = 0; i < n_ids && !stop; i++) {
        size_t len = 0;
        const char *piece = tlv__detok_push(d, ids[i], &len);
        if (!piece) {
            st = tlv__err_set(&v->err, TLV_ERR_NO_MEMORY, "out of host memory");
            break;
        }
        stop = cb(user_data, piece, len, ids[i]);
    }
    if (!st && !stop) {
        size_t len = 0;
        const char *rest = tlv__detok_flush(d, &len);
        if (rest && len) cb(user_data, rest, len, -1);
    }
    tlv__detok_destroy(d);
    return st;
}

tlv_status tlv_vocab_render_chat(tlv_vocab *v, const tlv_turn *turns, size_t n_turns, char *text, size_t cap, size_t *n)
{
    if (!v || !n || (cap && !text) || (n_turns && !turns)) return TLV_ERR_INVALID_ARG;
    *n = 0;
    if (!v->ev->tpl) return tlv__err_set(&v->err, TLV_ERR_UNSUPPORTED, "%s", v->ev->no_template);
    tlv_chat_turn *ct = tlv__calloc(v->ctx->alloc, n_turns ? n_turns : 1, sizeof *ct);
    if (!ct) return tlv__err_set(&v->err, TLV_ERR_NO_MEMORY, "out of host memory");
    for (size_t i = 0; i < n_turns; i++) {
        ct[i].user = turns[i].user ? turns[i].user : "";
        ct[i].n_images = (int)turns[i].n_images;
        ct[i].assistant = turns[i].assistant;
    }
    char *all = NULL;
    size_t len = 0;
    tlv_status st = tlv__template_render(v->ev->tpl, ct, n_turns, v->ctx->alloc, &all, &len, &v->err);
    tlv__free(v->ctx->alloc, ct);
    if (st) return st;
    copy_text(all, len, text, cap);
    *n = len;
    tlv__free(v->ctx->alloc, all);
    return TLV_OK;
}

/* ------------------------------------------------------------------ sessions */

tlv_status tlv_session_create(tlv_model *m, const tlv_session_options *o, tlv_session **out)
{
    if (!m || !out) return TLV_ERR_INVALID_ARG;
    *out = NULL;
    tlv_session *s = tlv__calloc(m->ctx->alloc, 1, sizeof *s);
    if (!s) return TLV_ERR_NO_MEMORY;
    s->model = m;
    const uint32_t kv = o ? o->kv_type : TLV_KV_DEFAULT;
    tlv_status st;
    if (kv > TLV_KV_F32)
        st = tlv__err_set(&m->ctx->err, TLV_ERR_INVALID_ARG, "session options: kv_type %u: expected TLV_KV_DEFAULT (0), "
                          "TLV_KV_F16 (1) or TLV_KV_F32 (2)", kv);
    else
        st = tlv__engine_session_create(m->em, o ? (int)o->n_ctx : 0, 0,
                                        kv == TLV_KV_F32 ? TLV_F32 : kv == TLV_KV_F16 ? TLV_F16 : TLV_KV_DTYPE_DEFAULT,
                                        &s->es, &m->ctx->err);
    if (st) {
        tlv__free(m->ctx->alloc, s);
        return st;
    }
    *out = s;
    return TLV_OK;
}

tlv_status tlv_session_get_info(const tlv_session *s, tlv_session_info *info)
{
    if (!s || !info) return TLV_ERR_INVALID_ARG;
    int n_ctx;
    tlv_dtype dt;
    uint64_t bytes;
    tlv__engine_session_kv(s->es, &n_ctx, &dt, &bytes);
    memset(info, 0, sizeof *info);
    info->n_ctx = (uint32_t)n_ctx;
    info->kv_type = dt == TLV_F16 ? TLV_KV_F16 : TLV_KV_F32;
    info->kv_bytes = bytes;
    return TLV_OK;
}

void tlv_session_destroy(tlv_session *s)
{
    if (!s) return;
    tlv__engine_session_destroy(s->es);
    tlv__free(s->model->ctx->alloc, s);
}

const char *tlv_session_errmsg(const tlv_session *s)
{
    if (!s) return "no session";
    return s->err.status ? s->err.msg : "";
}

tlv_status tlv_session_add_image_file(tlv_session *s, const char *path)
{
    if (!s) return TLV_ERR_INVALID_ARG;
    if (!path) return tlv__err_set(&s->err, TLV_ERR_INVALID_ARG, "no image path given");
    tlv_image img;
    tlv_status st = tlv__image_load_file(path, TLV_IMAGE_DEFAULT_MAX_PIXELS, s->model->ctx->alloc, &img, &s->err);
    if (!st) st = tlv__engine_add_image(s->es, &img, &s->err);
    return st;
}

tlv_status tlv_session_add_image_rgb(tlv_session *s, const uint8_t *pixels, uint32_t width, uint32_t height, size_t stride)
{
    if (!s) return TLV_ERR_INVALID_ARG;
    if (!pixels) return tlv__err_set(&s->err, TLV_ERR_INVALID_ARG, "no pixels given");
    if (width == 0 || height == 0 || width > 65535 || height > 65535 || stride < (size_t)width * 3)
        return tlv__err_set(&s->err, TLV_ERR_INVALID_ARG, "image of %ux%u with stride %zu: expected 1..65535 pixels a side and stride >= 3*width",
                            width, height, stride);
    if ((uint64_t)width * height > TLV_IMAGE_DEFAULT_MAX_PIXELS)
        return tlv__err_set(&s->err, TLV_ERR_LIMIT, "image of %ux%u exceeds the pixel limit of %llu", width, height,
                            (unsigned long long)TLV_IMAGE_DEFAULT_MAX_PIXELS);
    tlv_image img;
    tlv_status st = tlv__image_from_rgb8(pixels, (int)width, (int)height, stride, s->model->ctx->alloc, &img, &s->err);
    if (!st) st = tlv__engine_add_image(s->es, &img, &s->err);
    return st;
}

tlv_status tlv_session_add_text(tlv_session *s, const char *text)
{
    if (!s) return TLV_ERR_INVALID_ARG;
    if (!text) return tlv__err_set(&s->err, TLV_ERR_INVALID_ARG, "no text given");
    return tlv__engine_add_text(s->es, text, &s->err);
}

tlv_status tlv_session_add_turn(tlv_session *s, const char *user_text, const char *assistant_text)
{
    if (!s) return TLV_ERR_INVALID_ARG;
    if (!user_text || !assistant_text) return tlv__err_set(&s->err, TLV_ERR_INVALID_ARG, "add_turn needs user and assistant text");
    return tlv__engine_add_turn(s->es, user_text, assistant_text, &s->err);
}

void tlv_sampling_init(tlv_sampling *p)
{
    if (p) tlv__sampling_defaults(p);
}

tlv_status tlv_session_generate(tlv_session *s, const tlv_sampling *p, tlv_token_fn cb, void *user_data, tlv_generate_stats *result)
{
    if (!s) return TLV_ERR_INVALID_ARG;
    if (result) memset(result, 0, sizeof *result);
    return tlv__engine_generate(s->es, p, cb, user_data, result, &s->err);
}

const char *tlv_session_last_answer(const tlv_session *s)
{
    return s ? tlv__engine_last_answer(s->es) : "";
}

void tlv_session_cancel(tlv_session *s)
{
    if (s) tlv__engine_cancel(s->es);
}

tlv_status tlv_session_reset(tlv_session *s)
{
    if (!s) return TLV_ERR_INVALID_ARG;
    tlv__engine_reset(s->es);
    return TLV_OK;
}

tlv_status tlv_session_inspect(tlv_session *s, const char *name, uint32_t index, tlv_array *out)
{
    if (!s) return TLV_ERR_INVALID_ARG;
    if (!name || !out) return tlv__err_set(&s->err, TLV_ERR_INVALID_ARG, "inspect needs a name and an array to fill");
    memset(out, 0, sizeof *out);
    tlv_status st = tlv__engine_inspect(s->es, name, index, out, &s->err);
    if (st) memset(out, 0, sizeof *out);
    return st;
}

uint32_t tlv__context_validation_count(const tlv_context *ctx)
{
    return ctx ? tlv__vk_instance_validation_count(ctx->inst) : 0;
}
