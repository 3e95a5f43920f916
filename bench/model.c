/* model.c: the model tests (llama-bench style) on a synthetic model at a preset's exact shapes,
 * or on a checkpoint (-m). The passes are driven as src/engine/session.c drives them: one
 * stream per forward pass of at most n_batch rows, submit, wait; decode reads the logits back
 * and picks the next token on the host (argmax), as greedy generation does.
 *
 *   image            vision tower + connector for one image (SigLIP 384 / CLIP 336)
 *   ppN              prefill of N text tokens at position 0                      tok/s
 *   ppN+img          the image's rows, then N text tokens                        tok/s (all rows)
 *   tgN@dD           N decode steps after D positions of context (filled once)   tok/s
 *   ttft img+qQ      image encode + prefill of image rows and Q question tokens
 *                    + the first token: what a user waits for                   ms
 *
 * Each test: one cold run (first use: pipelines compiled or read from the cache, memory
 * first touched), -r timed runs (median, min..max), and with profiling one extra run with
 * per-dispatch timestamps for the per-op breakdown. */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

typedef struct mbench {
    bench_ctx *b;
    tlv_model_core *m;
    tlv_model_scratch sc;
    int have_sc;
    tlv_tensor feat;
    char name[64];
    char dtype[8];
    int n_ctx;
    double load_ms;
    uint32_t rng;
    int first_result;     /* index of this model's first record */
} mbench;

static FILE *table(const bench_ctx *b)
{
    return b->o.json_path && !strcmp(b->o.json_path, "-") ? stderr : stdout;
}

static uint32_t next_rand(mbench *mb)
{
    mb->rng = mb->rng * 1664525u + 1013904223u;
    return mb->rng >> 8;
}

/* Adds the stream's per-dispatch records to ops, by label: GPU time, and the bytes and FLOPs the
 * ops noted on their dispatches (tlv__stream_note_work: matvec / matmul and attention). */
static void collect(const tlv_stream *s, bench_op *ops, int *n_ops)
{
    uint32_t n = tlv__stream_n_dispatches(s);
    for (uint32_t i = 0; i < n; i++) {
        bench_op *o = bench_op_find(ops, n_ops, tlv__stream_label(s, i));
        if (!o) continue;
        o->count++;
        o->ms += tlv__stream_time_ns(s, i) * 1e-6;
        o->bytes += tlv__stream_bytes(s, i);
        o->flops += tlv__stream_flops(s, i);
    }
}

/* Prefill of img_rows image rows (the features) then n_text random tokens, at positions
 * pos0.., in passes of n_batch rows. prof: collect timestamps and work into ops. */
static tlv_status prefill(mbench *mb, int pos0, int img_rows, int n_text, bench_op *ops, int *n_ops, tlv_err *err)
{
    bench_ctx *b = mb->b;
    int total = img_rows + n_text, nb = mb->sc.n_batch;
    int32_t *ids = (int32_t *)mb->sc.ids.map;
    for (int from = 0; from < total; from += nb) {
        int to = from + nb < total ? from + nb : total;
        tlv_input_span spans[2];
        int n_spans = 0;
        memset(spans, 0, sizeof spans);
        if (from < img_rows) {
            spans[0].n = (to < img_rows ? to : img_rows) - from;
            spans[0].id0 = -1;
            spans[0].image = &mb->feat;
            spans[0].image_row0 = from;
            n_spans = 1;
        }
        int t0 = from > img_rows ? from : img_rows;
        if (to > t0) {
            spans[n_spans].n = to - t0;
            spans[n_spans].id0 = 0;
            for (int i = 0; i < to - t0; i++) ids[i] = (int32_t)(next_rand(mb) % (uint32_t)mb->m->llm.vocab);
            n_spans++;
        }
        tlv__stream_begin(b->s, ops != NULL);
        tlv__model_record_llm(mb->m, &mb->sc, b->s, spans, n_spans, pos0 + from);
        tlv_status st = tlv__stream_run(b->s, err);
        if (st) return st;
        if (ops) collect(b->s, ops, n_ops);
    }
    return TLV_OK;
}

static int32_t host_argmax(const mbench *mb)
{
    const float *l = (const float *)mb->sc.logits.slabs[0].map;
    int32_t best = 0;
    for (int32_t i = 1; i < mb->m->llm.vocab; i++)
        if (l[i] > l[best]) best = i;
    return best;
}

/* n decode steps from position pos: token in, logits out, argmax on the host, next token. */
static tlv_status decode(mbench *mb, int pos, int n, bench_op *ops, int *n_ops, tlv_err *err)
{
    bench_ctx *b = mb->b;
    int32_t *ids = (int32_t *)mb->sc.ids.map;
    int32_t id = (int32_t)(next_rand(mb) % (uint32_t)mb->m->llm.vocab);
    for (int i = 0; i < n; i++) {
        tlv_input_span sp = {1, 0, NULL, 0};
        ids[0] = id;
        tlv__stream_begin(b->s, ops != NULL);
        tlv__model_record_llm(mb->m, &mb->sc, b->s, &sp, 1, pos + i);
        tlv_status st = tlv__stream_run(b->s, err);
        if (st) return st;
        if (ops) collect(b->s, ops, n_ops);
        id = host_argmax(mb);
    }
    return TLV_OK;
}

static tlv_status encode(mbench *mb, bench_op *ops, int *n_ops, tlv_err *err)
{
    bench_ctx *b = mb->b;
    tlv__stream_begin(b->s, ops != NULL);
    tlv__model_record_image(mb->m, &mb->sc, b->s, &mb->feat);
    tlv_status st = tlv__stream_run(b->s, err);
    if (!st && ops) collect(b->s, ops, n_ops);
    return st;
}

typedef enum test_kind { T_IMAGE, T_PP, T_TG, T_TTFT } test_kind;

typedef struct test_spec {
    test_kind kind;
    int n;       /* tokens: pp length, tg steps, question tokens */
    int image;   /* pp with the image in front */
    int depth;
} test_spec;

static tlv_status run_test(mbench *mb, const test_spec *t, bench_op *ops, int *n_ops, tlv_err *err)
{
    int img = mb->m->vis.n_tokens;
    tlv_status st = TLV_OK;
    switch (t->kind) {
    case T_IMAGE: return encode(mb, ops, n_ops, err);
    case T_PP: return prefill(mb, 0, t->image ? img : 0, t->n, ops, n_ops, err);
    case T_TG: return decode(mb, t->depth, t->n, ops, n_ops, err);
    case T_TTFT:
        if (!(st = encode(mb, ops, n_ops, err)) && !(st = prefill(mb, 0, img, t->n, ops, n_ops, err)))
            (void)host_argmax(mb);
        return st;
    }
    return st;
}

static int cmp_ops(const void *a, const void *b)
{
    double x = ((const bench_op *)a)->ms, y = ((const bench_op *)b)->ms;
    return (x < y) - (x > y);
}

/* Ideal time of the work in ops on the probed roofline: each label at max(bytes/bw, flops/fma). */
static double ideal_ms(const bench_peaks *p, const bench_op *ops, int n)
{
    double t = 0;
    for (int i = 0; i < n; i++) {
        double tm = p->read_gbs > 0 ? ops[i].bytes / (p->read_gbs * 1e6) : 0;
        double tf = p->fma_gflops > 0 ? ops[i].flops / (p->fma_gflops * 1e6) : 0;
        t += tm > tf ? tm : tf;
    }
    return t;
}

static tlv_status bench_test(mbench *mb, const test_spec *t, tlv_err *err)
{
    bench_ctx *b = mb->b;
    int reps = b->o.reps < 64 ? b->o.reps : 64;
    double times[64], cold, cpu0 = 0, thr0 = 0;
    tlv_status st;
    if (t->kind == T_TG && t->depth > 0 && (st = prefill(mb, 0, 0, t->depth, NULL, NULL, err))) return st;

    double t0 = bench_now_ms();
    if ((st = run_test(mb, t, NULL, NULL, err))) return st;
    cold = bench_now_ms() - t0;
    cpu0 = bench_cpu_ms(0), thr0 = bench_cpu_ms(1);
    for (int i = 0; i < reps; i++) {
        t0 = bench_now_ms();
        if ((st = run_test(mb, t, NULL, NULL, err))) return st;
        times[i] = bench_now_ms() - t0;
    }
    double cpu = bench_cpu_ms(0) - cpu0, thr = bench_cpu_ms(1) - thr0;
    int cold_only = reps == 0; /* -r 0: slow devices; the cold run is all there is */
    if (cold_only) times[reps++] = cold;

    bench_result *r = bench_result_add(b);
    if (!r) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    snprintf(r->kind, sizeof r->kind, "model");
    snprintf(r->model, sizeof r->model, "%s", mb->name);
    snprintf(r->dtype, sizeof r->dtype, "%s", mb->dtype);
    snprintf(r->timer, sizeof r->timer, "wall");
    bench_stats(r, times, reps);
    r->cold_ms = cold;
    r->load_ms = mb->load_ms;
    r->depth = t->kind == T_TG ? t->depth : 0;
    if (cold_only) snprintf(r->note, sizeof r->note, "-r 0: the cold run only (includes first-use costs)");
    int img = mb->m->vis.n_tokens;
    switch (t->kind) {
    case T_IMAGE:
        snprintf(r->test, sizeof r->test, "image %dpx", mb->m->vis.image_size);
        snprintf(r->unit, sizeof r->unit, "ms");
        r->value = r->median_ms;
        r->n_tokens = img;
        break;
    case T_PP:
        snprintf(r->test, sizeof r->test, "pp%d%s", t->n, t->image ? "+img" : "");
        r->n_tokens = t->n + (t->image ? img : 0);
        break;
    case T_TG:
        snprintf(r->test, sizeof r->test, "tg%d@d%d", t->n, t->depth);
        r->n_tokens = t->n;
        if (!cold_only) {
            r->cpu_ms_per_tok = cpu / ((double)reps * t->n);
            r->thread_cpu_ms_per_tok = thr / ((double)reps * t->n);
        }
        break;
    case T_TTFT:
        snprintf(r->test, sizeof r->test, "ttft img+q%d", t->n);
        snprintf(r->unit, sizeof r->unit, "ms");
        r->value = r->median_ms;
        r->n_tokens = img + t->n;
        break;
    }
    if (t->kind == T_PP || t->kind == T_TG) {
        snprintf(r->unit, sizeof r->unit, "tok/s");
        r->value = r->median_ms > 0 ? r->n_tokens / (r->median_ms * 1e-3) : 0;
        r->higher_better = 1;
    }

    /* work of one run, and the per-op breakdown from one timestamped run */
    if (b->o.profile && b->caps->timestamps) {
        bench_op ops[BENCH_MAX_OPS];
        int n_ops = 0;
        memset(ops, 0, sizeof ops);
        if ((st = run_test(mb, t, ops, &n_ops, err))) return st;
        qsort(ops, (size_t)n_ops, sizeof ops[0], cmp_ops);
        /* the profile is one run: scale nothing; the ideal time is the work on the roofline */
        double bytes = 0, flops = 0;
        for (int i = 0; i < n_ops; i++) bytes += ops[i].bytes, flops += ops[i].flops;
        r->bytes = bytes, r->flops = flops;
        r->gbs = bytes / (r->median_ms * 1e6);
        r->gflops = flops / (r->median_ms * 1e6);
        r->roofline = ideal_ms(&b->peaks, ops, n_ops) / r->median_ms;
        memcpy(r->ops, ops, sizeof ops);
        r->n_ops = n_ops;
    }
    bench_print_result(table(b), b, r);
    bench_cooldown(b);
    return TLV_OK;
}

/* The preset's config.json through the runtime's parser, from the text (no preprocessor file:
 * its defaults, as for a checkpoint without one). */
tlv_status bench_preset_config(const bench_preset *p, tlv_model_config *cfg, tlv_err *err)
{
    tlv_status st = tlv__config_parse(p->repo, p->config, NULL, cfg, err);
    if (st) tlv__err_prefix(err, "preset %s", p->name);
    return st;
}

static void mbench_free(mbench *mb)
{
    if (mb->feat.n_slabs) tlv__tensor_free(mb->m->dev, &mb->feat);
    if (mb->have_sc) tlv__model_scratch_destroy(mb->m, &mb->sc);
    tlv__model_destroy(mb->m);
    mb->m = NULL;
}

/* The positions the tests need, at most the model's limit. */
static int context_needed(const bench_opts *o, int img)
{
    int need = 1;
    for (int i = 0; i < o->n_pp; i++) {
        int n = o->pp[i] + (o->image ? img : 0);
        if (n > need) need = n;
    }
    for (int i = 0; i < o->n_tg; i++)
        for (int j = 0; j < o->n_depth; j++)
            if (o->tg[i] > 0 && o->tg[i] + o->depth[j] > need) need = o->tg[i] + o->depth[j];
    if (o->image && o->ttft_q > 0 && img + o->ttft_q > need) need = img + o->ttft_q;
    return need;
}

static tlv_status run_model(bench_ctx *b, const bench_preset *p, tlv_dtype dt, tlv_err *err)
{
    mbench mb;
    memset(&mb, 0, sizeof mb);
    mb.b = b;
    mb.rng = 12345;
    tlv_status st;
    /* a fresh device per model: its peak memory is this model's, its first runs are cold */
    bench_device_close(b);
    if ((st = bench_device_open(b, err))) return st;

    tlv_model_config cfg;
    const bench_opts *o = &b->o;
    double t0 = bench_now_ms();
    if (p) {
        if ((st = bench_preset_config(p, &cfg, err))) return st;
        int img = cfg.n_image_tokens;
        mb.n_ctx = o->ctx > 0 ? o->ctx : context_needed(o, img);
        if (mb.n_ctx > cfg.llm.max_positions) mb.n_ctx = cfg.llm.max_positions;
        snprintf(mb.name, sizeof mb.name, "%s", p->name);
        snprintf(mb.dtype, sizeof mb.dtype, "%s", bench_dtype_name(dt));
        tlv_recipe r;
        int q = tlv__dtype_is_block(dt);
        if (!(st = tlv__recipe_parse(q ? (dt == TLV_Q8_0 ? "q8_0" : "q4_0") : NULL, o->vision_weights, &r, err)))
            st = tlv__model_synthetic_recipe(b->dev, &cfg, q ? TLV_F16 : dt, &r, mb.n_ctx, NULL, &mb.m, err);
    } else {
        /* a checkpoint: read the config first for the context it needs */
        if ((st = tlv__config_load(o->model_dir, &cfg, err))) return st;
        mb.n_ctx = o->ctx > 0 ? o->ctx : context_needed(o, cfg.n_image_tokens);
        if (mb.n_ctx > cfg.llm.max_positions) mb.n_ctx = cfg.llm.max_positions;
        snprintf(mb.name, sizeof mb.name, "%s", o->model_dir);
        tlv_recipe r;
        if (!(st = tlv__recipe_parse(o->weights, o->vision_weights, &r, err)))
            st = tlv__model_load_recipe(b->dev, o->model_dir, mb.n_ctx, &r, NULL, NULL, NULL, &mb.m, err);
        if (!st) snprintf(mb.dtype, sizeof mb.dtype, "%s", bench_dtype_name(mb.m->weight_dtype));
    }
    if (st) return st;
    mb.load_ms = bench_now_ms() - t0;
    FILE *tab = table(b);
    fprintf(tab, "\n%s %s: %s %d layers, hidden %d, vocab %d; %s %dpx, %d image tokens; %.2f B params, %.2f GiB "
                 "weights (made in %.0f ms); context %d\n",
            mb.name, mb.dtype, tlv__llm_arch_name(mb.m->cfg.llm.arch), mb.m->llm.n_layer, mb.m->llm.hidden,
            mb.m->llm.vocab, mb.m->vis.arch == TLV_VISION_CLIP ? "CLIP" : "SigLIP", mb.m->vis.image_size,
            mb.m->vis.n_tokens, (double)mb.m->n_params * 1e-9, (double)mb.m->device_bytes / (1 << 30), mb.load_ms,
            mb.n_ctx);
    if (b->caps->type == VK_PHYSICAL_DEVICE_TYPE_CPU && mb.m->n_params > 1500000000ull)
        fprintf(stderr, "tinyllava-bench: warning: %s has %.1f B parameters: on a CPU Vulkan driver each test takes "
                        "minutes; run it on a GPU\n", mb.name, (double)mb.m->n_params * 1e-9);
    bench_print_header(tab);
    fflush(tab);

    int nb = o->n_batch < mb.n_ctx ? o->n_batch : mb.n_ctx;
    if ((st = tlv__model_scratch_create_kv(mb.m, nb, mb.n_ctx, o->kv_dtype, &mb.sc, err))) goto out;
    mb.have_sc = 1;
    fprintf(tab, "KV cache: %s, %d positions, %.1f MiB\n", o->kv_dtype == TLV_F16 ? "f16" : "f32", mb.n_ctx,
            (double)mb.sc.kv_bytes / (1 << 20));
    int64_t fs[2] = {mb.m->vis.n_tokens, mb.m->llm.hidden};
    tlv__tensor_init(&mb.feat, TLV_F32, 2, fs);
    if ((st = tlv__tensor_alloc(b->dev, &mb.feat, TLV_MEM_DEVICE, err))) goto out;
    {
        /* a random normalised image in [-1, 1) */
        uint64_t n = (uint64_t)tlv__tensor_nelem(&mb.sc.img);
        float *px = malloc(n * sizeof *px);
        if (!px) {
            st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
            goto out;
        }
        for (uint64_t i = 0; i < n; i++) px[i] = (float)(next_rand(&mb) % 2000u) / 1000.0f - 1.0f;
        st = tlv__tensor_write(b->dev, &mb.sc.img, px, err);
        free(px);
        if (st) goto out;
    }
    mb.first_result = b->n_res;

    int img = mb.m->vis.n_tokens;
    test_spec t;
    if (o->image) {
        t = (test_spec){T_IMAGE, 0, 0, 0};
        if ((st = bench_test(&mb, &t, err))) goto out;
    }
    for (int i = 0; i < o->n_pp; i++)
        for (int im = 0; im <= o->image; im++) {
            if (o->pp[i] == 0 || o->pp[i] + (im ? img : 0) > mb.n_ctx) continue;
            t = (test_spec){T_PP, o->pp[i], im, 0};
            if ((st = bench_test(&mb, &t, err))) goto out;
        }
    for (int i = 0; i < o->n_tg; i++)
        for (int j = 0; j < o->n_depth; j++) {
            if (o->tg[i] == 0 || o->tg[i] + o->depth[j] > mb.n_ctx) continue;
            t = (test_spec){T_TG, o->tg[i], 0, o->depth[j]};
            if ((st = bench_test(&mb, &t, err))) goto out;
        }
    if (o->image && o->ttft_q > 0 && img + o->ttft_q <= mb.n_ctx) {
        t = (test_spec){T_TTFT, o->ttft_q, 1, 0};
        if ((st = bench_test(&mb, &t, err))) goto out;
    }
out:;
    uint64_t now = 0, peak = 0;
    tlv__vk_device_memory_usage(b->dev, &now, &peak);
    for (int i = mb.first_result; i < b->n_res; i++) {
        bench_result *r = &b->res[i];
        r->peak_mem_bytes = peak;
        if (mb.m) r->weight_bytes = mb.m->device_bytes;
        r->kv_bytes = mb.sc.kv_bytes;
        r->kv_positions = mb.n_ctx;
        snprintf(r->kv, sizeof r->kv, "%s", o->kv_dtype == TLV_F16 ? "f16" : "f32");
    }
    fprintf(tab, "peak device memory: %.1f MiB\n", (double)peak / (1 << 20));
    mbench_free(&mb);
    if (st) tlv__err_prefix(err, "%s %s", mb.name, mb.dtype);
    return st;
}

tlv_status bench_models(bench_ctx *b, tlv_err *err)
{
    if (b->o.model_dir) return run_model(b, NULL, TLV_F16, err);
    for (int i = 0; i < b->o.n_presets; i++) {
        const bench_preset *p = bench_presets;
        while (p->name && strcmp(p->name, b->o.presets[i])) p++;
        if (!p->name) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "unknown preset '%s'", b->o.presets[i]);
        for (int d = 0; d < b->o.n_dtypes; d++) {
            tlv_status st = run_model(b, p, b->o.dtypes[d], err);
            if (st) return st;
        }
    }
    return TLV_OK;
}
