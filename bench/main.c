/* main.c: tinyllava-bench's options, device setup and modes (bench.h, docs/BENCHMARKS.md). */
#include "bench.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tinyllava.h"

/* Sanitizer builds (the smoke test runs the bench under ASan with the validation layer on): the
 * Vulkan loader dlclose()s the layer and lavapipe at instance destruction, and both keep a few
 * C++ allocations alive at exit in modules LeakSanitizer can no longer name. Pinning them keeps
 * the names, which tests/lsan.supp suppresses narrowly; the same as tests/harness.c does. */
#if defined(TLV_SANITIZE_BUILD)
__attribute__((constructor)) static void pin_vulkan_modules(void)
{
    static const char *libs[] = {"libVkLayer_khronos_validation.so", "libvulkan_lvp.so"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) dlopen(libs[i], RTLD_NOW | RTLD_NODELETE | RTLD_LOCAL);
}
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tinyllava-bench [kernels] [options]\n"
            "       tinyllava-bench --compare a.json b.json ... [--svg chart.svg]\n"
            "\n"
            "model mode (default): llama-bench style tests on synthetic weights at the exact shapes of a\n"
            "published model (nothing to download), or on a checkpoint with -m\n"
            "  -P, --preset LIST    presets, comma-separated (default qwen2-0.5b-siglip; 'all'; --list)\n"
            "  -m, --model DIR      a checkpoint folder (config.json + safetensors) instead of presets\n"
            "  -t, --type LIST      weight dtypes of synthetic models: f16,bf16,f32,q8_0,q4_0 (default f16;\n"
            "                       q8_0/q4_0: f16 weights with the recipe --weights q8_0/q4_0; in\n"
            "                       kernels mode, the matrix kernels on block weights)\n"
            "  --weights q8_0|q4_0  (-m) quantize the checkpoint's LLM weights on load (the recipe)\n"
            "  --vision-weights q8_0|q4_0  quantize the vision tower and connector too (presets and -m)\n"
            "  -p LIST              prompt lengths (default 64,512); also run with an image in front\n"
            "  -n LIST              generated tokens (default 128)\n"
            "  -d LIST              context depth before generating (default 0,1024)\n"
            "  -b N                 rows per forward pass (default 512)\n"
            "  --kv f16|f32         KV cache precision (default f32, as sessions)\n"
            "  --ctx N              reserve the KV cache for N positions (default: what the tests need;\n"
            "                       tests that need more are skipped): what a context costs in memory\n"
            "  --ttft N             question tokens of the image + question time to first token (32; 0 skips)\n"
            "  --no-image           skip the image encode, image + prompt and ttft tests\n"
            "  --no-profile         skip the per-op breakdown run\n"
            "  --no-probe           skip the roofline probe (no roofline fractions)\n"
            "kernels mode: roofline probes, then every kernel at the real shapes\n"
            "  --only LIST          kernels whose name contains one of these substrings\n"
            "common:\n"
            "  -r N                 timed repeats after the cold run (default 3; 0: the cold run only)\n"
            "  -D, --device SPEC    device index or name substring (default: TLV_DEVICE, else the best)\n"
            "  --quick              smaller probe search\n"
            "  --cooldown MS        pause between tests (thermals)\n"
            "  --no-pipeline-cache  compile every pipeline (cold start as on first install)\n"
            "  --json PATH          also write the records as JSON ('-': stdout, the table goes to stderr)\n"
            "  --list               list the presets\n"
            "  --check-presets      parse every preset's config.json and print the shapes it gives\n");
}

double bench_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

const char *bench_dtype_name(tlv_dtype t)
{
    return t == TLV_F16 ? "f16" : t == TLV_BF16 ? "bf16" : t == TLV_Q8_0 ? "q8_0" : t == TLV_Q4_0 ? "q4_0" : "f32";
}

double bench_cpu_ms(int thread)
{
    struct timespec ts;
    clock_gettime(thread ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

void bench_cooldown(const bench_ctx *b)
{
    if (b->o.cooldown_ms <= 0) return;
    struct timespec ts = {b->o.cooldown_ms / 1000, (long)(b->o.cooldown_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

tlv_status bench_device_open(bench_ctx *b, tlv_err *err)
{
    tlv_vk_device_options dopt = {0};
    dopt.pipeline_cache_dir = b->o.pipeline_cache ? NULL : "";
    tlv_status st = tlv__vk_device_create(b->inst, b->dev_index, &dopt, &b->dev, err);
    if (!st) st = tlv__stream_create(b->dev, &b->s, err);
    if (st) return st;
    b->caps = tlv__vk_device_caps(b->dev);
    return TLV_OK;
}

void bench_device_close(bench_ctx *b)
{
    tlv__stream_destroy(b->s);
    tlv__vk_device_destroy(b->dev);
    b->s = NULL;
    b->dev = NULL;
}

/* "64,512" -> {64, 512}; 0 on a bad list. */
static int parse_ints(const char *s, int *out, int *n, int min)
{
    *n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < min || v > 1000000 || *n == BENCH_MAX_LIST) return 0;
        out[(*n)++] = (int)v;
        s = end;
        if (*s == ',') s++;
        else if (*s) return 0;
    }
    return *n > 0;
}

/* Splits a comma list in place into out[]. */
static int split_list(char *s, const char **out, int *n)
{
    *n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (*n == BENCH_MAX_LIST) return 0;
        out[(*n)++] = tok;
    }
    return *n > 0;
}

static int parse_dtypes(char *s, bench_opts *o)
{
    const char *names[BENCH_MAX_LIST];
    int n;
    if (!split_list(s, names, &n) || n > 3) return 0;
    o->n_dtypes = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(names[i], "f16")) o->dtypes[o->n_dtypes++] = TLV_F16;
        else if (!strcmp(names[i], "bf16")) o->dtypes[o->n_dtypes++] = TLV_BF16;
        else if (!strcmp(names[i], "f32")) o->dtypes[o->n_dtypes++] = TLV_F32;
        else if (!strcmp(names[i], "q8_0")) o->dtypes[o->n_dtypes++] = TLV_Q8_0; /* model mode: f16 + the recipe */
        else if (!strcmp(names[i], "q4_0")) o->dtypes[o->n_dtypes++] = TLV_Q4_0;
        else return 0;
    }
    return 1;
}

/* Every preset through the runtime's config parser: the shapes the bench would build. */
static int check_presets(void)
{
    int rc = 0;
    for (const bench_preset *p = bench_presets; p->name; p++) {
        tlv_model_config c;
        tlv_err err;
        tlv__err_clear(&err);
        if (bench_preset_config(p, &c, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            rc = 1;
            continue;
        }
        const struct tlv_llm_config *l = &c.llm;
        const struct tlv_vision_config *v = &c.vision;
        printf("%s: %s %s layers %d hidden %d heads %d/%d head_dim %d ffn %d vocab %d rot %d tied %d | %s %d/%d "
               "layers %d (run %d) hidden %d ffn %d | image tokens %d\n",
               p->name, tlv__generation_name(c.generation), tlv__llm_arch_name(l->arch), l->n_layer, l->hidden,
               l->n_head, l->n_kv_head, l->head_dim, l->intermediate, l->vocab, l->rotary_dim, l->tie_embeddings,
               v->arch == TLV_VISION_CLIP ? "clip" : "siglip", v->image_size, v->patch_size, v->n_layer,
               c.vision_layers_run, v->hidden, v->intermediate, c.n_image_tokens);
    }
    return rc;
}

static int bad_arg(const char *opt, const char *val)
{
    fprintf(stderr, "tinyllava-bench: bad value for %s: '%s'\n", opt, val ? val : "(missing)");
    return 2;
}

int main(int argc, char **argv)
{
    static char preset_buf[1024];
    bench_ctx b;
    memset(&b, 0, sizeof b);
    bench_opts *o = &b.o;
    o->reps = 3;
    o->presets[0] = "qwen2-0.5b-siglip";
    o->n_presets = 1;
    o->dtypes[0] = TLV_F16;
    o->n_dtypes = 1;
    o->pp[0] = 64, o->pp[1] = 512, o->n_pp = 2;
    o->tg[0] = 128, o->n_tg = 1;
    o->depth[0] = 0, o->depth[1] = 1024, o->n_depth = 2;
    o->image = 1;
    o->ttft_q = 32;
    o->n_batch = 512;
    o->kv_dtype = TLV_KV_DTYPE_DEFAULT;
    o->profile = 1;
    o->probe = 1;
    o->pipeline_cache = 1;

    int i = 1;
    if (argc > 1 && !strcmp(argv[1], "kernels")) {
        o->kernels_mode = 1;
        i = 2;
    }
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE() do { if (!v) return bad_arg(a, v); i++; } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--list")) {
            for (const bench_preset *p = bench_presets; p->name; p++) printf("%-22s %s\n", p->name, p->repo);
            return 0;
        } else if (!strcmp(a, "--check-presets")) {
            return check_presets();
        } else if (!strcmp(a, "--compare")) {
            const char *svg = "bench-compare.svg";
            char *files[64];
            int nf = 0;
            for (i++; i < argc; i++) {
                if (!strcmp(argv[i], "--svg") && i + 1 < argc) svg = argv[++i];
                else if (nf < 64) files[nf++] = argv[i];
            }
            if (nf == 0) return bad_arg("--compare", NULL);
            return bench_compare(nf, files, svg);
        } else if (!strcmp(a, "-P") || !strcmp(a, "--preset")) {
            NEED_VALUE();
            if (!strcmp(v, "all")) {
                o->n_presets = 0;
                for (const bench_preset *p = bench_presets; p->name && o->n_presets < BENCH_MAX_LIST; p++)
                    o->presets[o->n_presets++] = p->name;
            } else {
                snprintf(preset_buf, sizeof preset_buf, "%s", v);
                if (!split_list(preset_buf, o->presets, &o->n_presets)) return bad_arg(a, v);
            }
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            NEED_VALUE();
            o->model_dir = v;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--type")) {
            NEED_VALUE();
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%s", v);
            if (!parse_dtypes(tmp, o)) return bad_arg(a, v);
        } else if (!strcmp(a, "--weights")) {
            NEED_VALUE();
            o->weights = v;
        } else if (!strcmp(a, "--vision-weights")) {
            NEED_VALUE();
            o->vision_weights = v;
        } else if (!strcmp(a, "-p")) {
            NEED_VALUE();
            if (!parse_ints(v, o->pp, &o->n_pp, 0)) return bad_arg(a, v);
        } else if (!strcmp(a, "-n")) {
            NEED_VALUE();
            if (!parse_ints(v, o->tg, &o->n_tg, 0)) return bad_arg(a, v);
        } else if (!strcmp(a, "-d")) {
            NEED_VALUE();
            if (!parse_ints(v, o->depth, &o->n_depth, 0)) return bad_arg(a, v);
        } else if (!strcmp(a, "-r")) {
            NEED_VALUE();
            int n, r[BENCH_MAX_LIST];
            if (!parse_ints(v, r, &n, 0) || n != 1) return bad_arg(a, v);
            o->reps = r[0];
        } else if (!strcmp(a, "-b")) {
            NEED_VALUE();
            int n, r[BENCH_MAX_LIST];
            if (!parse_ints(v, r, &n, 1) || n != 1) return bad_arg(a, v);
            o->n_batch = r[0];
        } else if (!strcmp(a, "--kv")) {
            NEED_VALUE();
            if (!strcmp(v, "f16")) o->kv_dtype = TLV_F16;
            else if (!strcmp(v, "f32")) o->kv_dtype = TLV_F32;
            else return bad_arg(a, v);
        } else if (!strcmp(a, "--ctx")) {
            NEED_VALUE();
            int n, r[BENCH_MAX_LIST];
            if (!parse_ints(v, r, &n, 1) || n != 1) return bad_arg(a, v);
            o->ctx = r[0];
        } else if (!strcmp(a, "--ttft")) {
            NEED_VALUE();
            int n, r[BENCH_MAX_LIST];
            if (!parse_ints(v, r, &n, 0) || n != 1) return bad_arg(a, v);
            o->ttft_q = r[0];
        } else if (!strcmp(a, "--cooldown")) {
            NEED_VALUE();
            int n, r[BENCH_MAX_LIST];
            if (!parse_ints(v, r, &n, 0) || n != 1) return bad_arg(a, v);
            o->cooldown_ms = r[0];
        } else if (!strcmp(a, "--no-image")) {
            o->image = 0;
        } else if (!strcmp(a, "--no-profile")) {
            o->profile = 0;
        } else if (!strcmp(a, "--no-probe")) {
            o->probe = 0;
        } else if (!strcmp(a, "--quick")) {
            o->quick = 1;
        } else if (!strcmp(a, "--no-pipeline-cache")) {
            o->pipeline_cache = 0;
        } else if (!strcmp(a, "--only")) {
            NEED_VALUE();
            o->only = v;
        } else if (!strcmp(a, "-D") || !strcmp(a, "--device")) {
            NEED_VALUE();
            o->device = v;
        } else if (!strcmp(a, "--json")) {
            NEED_VALUE();
            o->json_path = v;
        } else if (!strcmp(a, "-v")) {
            o->verbose = 1;
        } else {
            fprintf(stderr, "tinyllava-bench: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
#undef NEED_VALUE
    }
    for (int k = 0; !o->model_dir && !o->kernels_mode && k < o->n_presets; k++) {
        const bench_preset *p = bench_presets;
        while (p->name && strcmp(p->name, o->presets[k])) p++;
        if (!p->name) {
            fprintf(stderr, "tinyllava-bench: unknown preset '%s' (--list shows them)\n", o->presets[k]);
            return 2;
        }
    }

    tlv_err err;
    tlv__err_clear(&err);
    tlv_vk_instance_options io = {0};
    const char *val = getenv("TLV_VALIDATION");
    io.validation = val && val[0] == '1';
    tlv_status st = tlv__vk_instance_create(&io, &b.inst, &err);
    if (!st) st = tlv__vk_instance_pick(b.inst, o->device, &b.dev_index, &err);
    if (!st) st = bench_device_open(&b, &err);
    if (st) {
        fprintf(stderr, "tinyllava-bench: %s\n", err.msg);
        bench_device_close(&b);
        tlv__vk_instance_destroy(b.inst);
        return 1;
    }
    tlv__vk_caps_banner(b.caps, b.banner, sizeof b.banner);
    FILE *tab = o->json_path && !strcmp(o->json_path, "-") ? stderr : stdout;
    fprintf(tab, "tinyllava-bench %s (%s)\ndevice: %s\n", tlv_version(), TLV_GIT_COMMIT, b.banner);
    char tuning[1024];
    tlv__vk_tuning_describe(&b.caps->tune, tuning, sizeof tuning);
    fprintf(tab, "tuning: %s\n", tuning);
    if (!b.caps->timestamps) fprintf(tab, "note: no GPU timestamps on this queue: kernel times are wall-clock\n");
    fflush(tab);

    if (o->kernels_mode || o->probe) st = bench_roofline(&b, o->kernels_mode, &err);
    if (!st) st = o->kernels_mode ? bench_kernels(&b, &err) : bench_models(&b, &err);
    int rc = 0;
    if (st) {
        fprintf(stderr, "tinyllava-bench: %s\n", err.msg);
        rc = 1;
    }
    if (o->json_path && bench_write_json(&b, o->json_path)) rc = 1;
    uint32_t nval = tlv__vk_instance_validation_count(b.inst);
    if (nval) {
        fprintf(stderr, "tinyllava-bench: the validation layer reported %u message(s)\n", nval);
        rc = 1;
    }
    bench_device_close(&b);
    tlv__vk_instance_destroy(b.inst);
    free(b.res);
    return rc;
}
