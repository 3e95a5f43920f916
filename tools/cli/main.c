/* tinyllava: the command-line front end of libtinyllava.
 *
 *   tinyllava run -m MODEL --image IMG -p "question"     answer streams to stdout
 *   tinyllava chat -m MODEL [--image IMG]                interactive, multi-turn
 *   tinyllava devices [--verbose]                        Vulkan devices, banners (and tuning records)
 *   tinyllava info -m MODEL                              architecture, sizes, template
 *   tinyllava tokenize -m MODEL TEXT                     ids and pieces
 *   tinyllava pull MODEL                                 download only
 *   tinyllava quantize SRC DST --weights q4_0            a quantized checkpoint folder
 *
 * Exit codes (docs/CLI.md): 0 ok; 1 error while running; 2 bad usage; 3 no Vulkan device;
 * 4 model or input file not found or invalid; 5 network; 130 interrupted (Ctrl-C). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

#if defined(TLV_SANITIZE_BUILD)
#include <dlfcn.h>
/* Sanitizer builds only, as tests/harness.c does for the test programs (tests/cli runs this
 * binary): the Vulkan loader unloads the validation layer and lavapipe at vkDestroyInstance, and
 * their exit-time allocations would show as leaks in unnamed modules. Pinned, they keep their
 * names and tests/lsan.supp suppresses exactly them. */
__attribute__((constructor)) static void pin_vulkan_modules(void)
{
    static const char *libs[] = {"libVkLayer_khronos_validation.so", "libvulkan_lvp.so"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) dlopen(libs[i], RTLD_NOW | RTLD_NODELETE | RTLD_LOCAL);
}
#endif

static volatile sig_atomic_t g_interrupted;
static tlv_session *volatile g_session;

static void on_sigint(int sig)
{
    (void)sig;
    g_interrupted++;
    if (g_session) tlv_session_cancel(g_session);
    if (g_interrupted > 2) _exit(130);
}

int cli_exit_code(tlv_status st)
{
    switch (st) {
    case TLV_OK: return 0;
    case TLV_ERR_INVALID_ARG: return 2;
    case TLV_ERR_NO_DEVICE: return 3;
    case TLV_ERR_IO:
    case TLV_ERR_FORMAT:
    case TLV_ERR_NOT_FOUND:
    case TLV_ERR_SHAPE:
    case TLV_ERR_UNSUPPORTED: return 4;
    case TLV_ERR_NETWORK: return 5;
    case TLV_ERR_CANCELLED: return 130;
    default: return 1;
    }
}

static void log_to_stderr(void *ud, tlv_log_level level, const char *msg)
{
    (void)ud;
    static const char *names[] = {"error", "warning", "info", "debug"};
    fprintf(stderr, "tinyllava: %s: %s\n", names[level], msg);
}

/* ------------------------------------------------------------------ options */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tinyllava COMMAND [options]\n"
            "\n"
            "commands:\n"
            "  run       answer a question about one or more images (streams the answer)\n"
            "  chat      interactive chat (/image PATH, /reset, /quit); reads stdin when it is not a terminal\n"
            "  devices   list the Vulkan devices with their capability banners (--verbose: tuning records)\n"
            "  info      describe a model (-m)\n"
            "  tokenize  print the token ids of a text (-m MODEL TEXT | -f FILE | --jsonl FILE)\n"
            "  pull      download a model from the Hugging Face hub into the cache\n"
            "  quantize  SRC DST --weights q8_0|q4_0 [--vision-weights q8_0|q4_0]: write a quantized\n"
            "            checkpoint folder (loads with -m DST like any checkpoint)\n"
            "\n"
            "options:\n"
            "  -m, --model DIR|ORG/NAME  checkpoint directory or Hugging Face id\n"
            "                            (default Zhang199/TinyLLaVA-Qwen2-0.5B-SigLIP)\n"
            "  --image PATH              image (repeat for several; JPEG, PNG, BMP, GIF, TGA)\n"
            "  -p, --prompt TEXT         the question\n"
            "  -n, --n-predict N         at most N new tokens (default 512)\n"
            "  --temp T                  temperature, 0 = greedy (default 0)\n"
            "  --top-k K, --top-p P, --min-p P, --repeat-penalty R, --seed S\n"
            "  -c, --ctx-size N          context length (default: the model's, at most 2048)\n"
            "  --kv f16|f32              KV cache precision (default f32)\n"
            "  --template NAME           chat template (phi, llama, gemma, qwen2_base, qwen2_instruct,\n"
            "                            phi_legacy, v1, llava_hf)\n"
            "  --device N|NAME           Vulkan device (default: $TLV_DEVICE, else the best one)\n"
            "  --json                    print one JSON object (run, tokenize, info, devices)\n"
            "  --dump DIR                (run) write pixel_values.npy, image_features.npy, last_logits.npy\n"
            "  --weights q8_0|q4_0       (run, chat, info, quantize) quantize the LLM's linear weights\n"
            "                            (embedding and head q8_0); default: as published\n"
            "  --vision-weights q8_0|q4_0  (run, chat, info, quantize) quantize the vision tower and\n"
            "                            connector too; default: as published\n"
            "  --offline                 never use the network (cache only)\n"
            "  --no-special              (tokenize) no BOS\n"
            "  --verbose                 log what happens\n"
            "  -h, --help                this text\n"
            "\n"
            "examples:\n"
            "  tinyllava run -m Zhang199/TinyLLaVA-Qwen2-0.5B-SigLIP --image cat.jpg -p \"What is this?\"\n"
            "  tinyllava run -m ./TinyLLaVA-Phi-2-SigLIP-3.1B --image a.png --temp 0 -n 64 --json\n"
            "  tinyllava chat -m tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B --image street.jpg\n"
            "  tinyllava tokenize -m ./model \"Hello world\"\n"
            "  tinyllava quantize ./TinyLLaVA-Phi-2-SigLIP-3.1B ./phi2-q4 --weights q4_0\n"
            "\n"
            "environment: TLV_DEVICE, TLV_VALIDATION, TINYLLAVA_CACHE, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE,\n"
            "and more (docs/CLI.md)\n"
            "\n"
            "exit codes: 0 ok, 1 runtime error, 2 bad usage, 3 no Vulkan device, 4 model or file\n"
            "not found or invalid, 5 network error, 130 interrupted\n");
}

static int need_arg(int i, int argc, const char *flag)
{
    if (i + 1 >= argc) {
        fprintf(stderr, "tinyllava: %s needs a value (see tinyllava --help)\n", flag);
        return 0;
    }
    return 1;
}

static int parse_num(const char *s, const char *flag, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) {
        fprintf(stderr, "tinyllava: %s: '%s' is not a number\n", flag, s);
        return 0;
    }
    *out = v;
    return 1;
}

/* Returns 0 on success, 2 on a usage error. */
static int parse_args(int argc, char **argv, cli_opts *o)
{
    memset(o, 0, sizeof o[0]);
    o->model = "Zhang199/TinyLLaVA-Qwen2-0.5B-SigLIP";
    o->n_predict = 512;
    tlv_sampling_init(&o->sampling);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        double v;
#define FLAG(s, l) (!strcmp(a, s) || !strcmp(a, l))
        if (FLAG("-h", "--help")) {
            o->help = 1;
        } else if (FLAG("-m", "--model")) {
            if (!need_arg(i, argc, a)) return 2;
            o->model = argv[++i];
            o->model_given = 1;
        } else if (!strcmp(a, "--image")) {
            if (!need_arg(i, argc, a)) return 2;
            if (o->n_images == CLI_MAX_IMAGES) {
                fprintf(stderr, "tinyllava: at most %d images\n", CLI_MAX_IMAGES);
                return 2;
            }
            o->images[o->n_images++] = argv[++i];
        } else if (FLAG("-p", "--prompt")) {
            if (!need_arg(i, argc, a)) return 2;
            o->prompt = argv[++i];
        } else if (FLAG("-f", "--file")) {
            if (!need_arg(i, argc, a)) return 2;
            o->file = argv[++i];
        } else if (!strcmp(a, "--jsonl")) {
            if (!need_arg(i, argc, a)) return 2;
            o->jsonl = argv[++i];
        } else if (FLAG("-n", "--n-predict")) {
            if (!need_arg(i, argc, a) || !parse_num(argv[++i], a, &v)) return 2;
            o->n_predict = (int)v;
        } else if (!strcmp(a, "--temp")) {
            if (!need_arg(i, argc, a) || !parse_num(argv[++i], a, &v)) return 2;
            o->sampling.temperature = (float)v;
        } else if (!strcmp(a, "--top-k")) {
            if (!need_arg(i, argc, a) || !parse_num(argv[++i], a, &v)) return 2;
            o->sampling.top_k = (int32_t)v;
        } else if (!strcmp(a, "--top-p")) {
            if (!need_arg(i, argc, a) || !parse_num(argv[++i], a, &v)) return 2;
            o->sampling.top_p = (float)v;
        } else if (!strcmp(a, "--min-p")) {
            if (!need_arg(i, argc, a) || !parse_num(argv[++i], a, &v)) return 2;
            o->sampling.min_p = (float)v;
        } else if (!strcmp(a, "--repeat-penalty")) {
            if (!need_arg(i, argc, a) || !parse_num(argv[++i], a, &v)) return 2;
            o->sampling.repeat_penalty = (float)v;
        } else if (!strcmp(a, "--seed")) {
            if (!need_arg(i, argc, a) || !parse_num(argv[++i], a, &v)) return 2;
            o->sampling.seed = (uint64_t)v;
        } else if (FLAG("-c", "--ctx-size")) {
            if (!need_arg(i, argc, a) || !parse_num(argv[++i], a, &v)) return 2;
            o->ctx_size = (int)v;
        } else if (!strcmp(a, "--kv")) {
            if (!need_arg(i, argc, a)) return 2;
            const char *k = argv[++i];
            if (!strcmp(k, "f16")) {
                o->kv_type = TLV_KV_F16;
            } else if (!strcmp(k, "f32")) {
                o->kv_type = TLV_KV_F32;
            } else {
                fprintf(stderr, "tinyllava: --kv: expected f16 or f32, found '%s'\n", k);
                return 2;
            }
        } else if (!strcmp(a, "--template")) {
            if (!need_arg(i, argc, a)) return 2;
            o->template_name = argv[++i];
        } else if (!strcmp(a, "--device")) {
            if (!need_arg(i, argc, a)) return 2;
            o->device = argv[++i];
        } else if (!strcmp(a, "--weights")) {
            if (!need_arg(i, argc, a)) return 2;
            o->weights = argv[++i];
        } else if (!strcmp(a, "--vision-weights")) {
            if (!need_arg(i, argc, a)) return 2;
            o->vision_weights = argv[++i];
        } else if (!strcmp(a, "--dump")) {
            if (!need_arg(i, argc, a)) return 2;
            o->dump = argv[++i];
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--offline")) {
            o->offline = 1;
        } else if (!strcmp(a, "--no-special")) {
            o->no_special = 1;
        } else if (!strcmp(a, "--verbose")) {
            o->verbose = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tinyllava: unknown option '%s' (see tinyllava --help)\n", a);
            return 2;
        } else if (o->n_positional < CLI_MAX_POSITIONAL) {
            o->positional[o->n_positional++] = a;
        } else {
            fprintf(stderr, "tinyllava: unexpected argument '%s'\n", a);
            return 2;
        }
#undef FLAG
    }
    o->sampling.max_tokens = o->n_predict;
    return 0;
}

/* ------------------------------------------------------------------ shared pieces */

int cli_progress(void *ud, const char *stage, uint64_t done, uint64_t total)
{
    (void)ud;
    if (g_interrupted) return 1;
    if (!isatty(2) || total == 0) return 0;
    int width = 30, fill = (int)((double)done / (double)total * width);
    fprintf(stderr, "\r%-8s [", stage);
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : ' ', stderr);
    fprintf(stderr, "] %5.1f%% %.0f/%.0f MB", 100.0 * (double)done / (double)total, done / 1e6, total / 1e6);
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
    return 0;
}

tlv_status cli_open_no_vulkan(const cli_opts *o, tlv_context **ctx)
{
    tlv_context_options co;
    tlv_context_options_init(&co);
    co.log = log_to_stderr;
    co.log_level = o->verbose ? TLV_LOG_INFO : TLV_LOG_WARN;
    co.no_vulkan = 1;
    tlv_status st = tlv_context_create(&co, ctx);
    if (st) fprintf(stderr, "tinyllava: %s\n", tlv_context_errmsg(*ctx));
    return st;
}

tlv_status cli_open(const cli_opts *o, tlv_context **ctx, tlv_model **model)
{
    tlv_context_options co;
    tlv_context_options_init(&co);
    co.log = log_to_stderr;
    co.log_level = o->verbose ? TLV_LOG_INFO : TLV_LOG_WARN;
    co.device = o->device;
    tlv_status st = tlv_context_create(&co, ctx);
    if (st) {
        fprintf(stderr, "tinyllava: %s\n", tlv_context_errmsg(*ctx));
        /* Every failure here is about the driver or the device (--device / TLV_DEVICE naming one
         * that is not there, TLV_VALIDATION without the layer): "no usable Vulkan device", exit 3 */
        return st == TLV_ERR_NO_MEMORY ? st : TLV_ERR_NO_DEVICE;
    }
    if (!model) return TLV_OK;
    tlv_model_options mo;
    tlv_model_options_init(&mo);
    mo.chat_template = o->template_name;
    mo.progress = cli_progress;
    mo.offline = o->offline;
    mo.weights = o->weights;
    mo.vision_weights = o->vision_weights;
    st = tlv_model_load(*ctx, o->model, &mo, model);
    if (st) fprintf(stderr, "tinyllava: %s\n", tlv_context_errmsg(*ctx));
    return st;
}

/* ------------------------------------------------------------------ devices */

static int cmd_devices(const cli_opts *o)
{
    tlv_context *ctx = NULL;
    tlv_status st = cli_open(o, &ctx, NULL);
    if (st) {
        tlv_context_destroy(ctx);
        return cli_exit_code(st);
    }
    uint32_t n = tlv_device_count(ctx);
    cJSON *arr = o->json ? cJSON_CreateArray() : NULL;
    for (uint32_t i = 0; i < n; i++) {
        tlv_device_info info;
        char banner[1024];
        tlv_device_get_info(ctx, i, &info);
        tlv_device_banner(ctx, i, banner, sizeof banner);
        /* --verbose: the tuning record too (what the kernels choose on this device) */
        char tuning[1024] = "";
        if (o->verbose && tlv_device_tuning(ctx, i, tuning, sizeof tuning) != TLV_OK) {
            fprintf(stderr, "tinyllava: %s\n", tlv_context_errmsg(ctx));
            if (arr) cJSON_Delete(arr);
            tlv_context_destroy(ctx);
            return cli_exit_code(TLV_ERR_INVALID_ARG);
        }
        if (arr) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddNumberToObject(d, "index", i);
            cJSON_AddStringToObject(d, "name", info.name);
            cJSON_AddStringToObject(d, "type", info.type);
            cJSON_AddStringToObject(d, "driver", info.driver);
            cJSON_AddNumberToObject(d, "vendor_id", info.vendor_id);
            cJSON_AddNumberToObject(d, "device_id", info.device_id);
            cJSON_AddNumberToObject(d, "memory_bytes", (double)info.memory_bytes);
            cJSON_AddBoolToObject(d, "selected", info.selected);
            cJSON_AddStringToObject(d, "banner", banner);
            if (o->verbose) cJSON_AddStringToObject(d, "tuning", tuning);
            cJSON_AddItemToArray(arr, d);
        } else {
            printf("%s%u: %s\n   %s\n", info.selected ? "*" : " ", i, info.name, banner);
            if (o->verbose) printf("   tuning: %s\n", tuning);
        }
    }
    if (arr) {
        char *s = cJSON_Print(arr);
        puts(s);
        free(s);
        cJSON_Delete(arr);
    }
    tlv_context_destroy(ctx);
    return 0;
}

/* ------------------------------------------------------------------ info */

static int cmd_info(const cli_opts *o)
{
    tlv_context *ctx = NULL;
    tlv_model *m = NULL;
    tlv_status st = cli_open(o, &ctx, &m);
    if (!st) {
        tlv_model_info i;
        tlv_model_get_info(m, &i);
        if (o->json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "llm", i.llm_arch);
            cJSON_AddStringToObject(j, "vision", i.vision_arch);
            cJSON_AddStringToObject(j, "generation", i.generation);
            cJSON_AddStringToObject(j, "template", i.chat_template);
            cJSON_AddStringToObject(j, "dtype", i.weight_dtype);
            cJSON_AddNumberToObject(j, "n_layer", i.n_layer);
            cJSON_AddNumberToObject(j, "hidden", i.hidden);
            cJSON_AddNumberToObject(j, "n_head", i.n_head);
            cJSON_AddNumberToObject(j, "n_kv_head", i.n_kv_head);
            cJSON_AddNumberToObject(j, "head_dim", i.head_dim);
            cJSON_AddNumberToObject(j, "vocab", i.vocab);
            cJSON_AddNumberToObject(j, "vision_layers", i.vision_layers);
            cJSON_AddNumberToObject(j, "vision_hidden", i.vision_hidden);
            cJSON_AddNumberToObject(j, "image_size", i.image_size);
            cJSON_AddNumberToObject(j, "patch_size", i.patch_size);
            cJSON_AddNumberToObject(j, "tokens_per_image", i.tokens_per_image);
            cJSON_AddNumberToObject(j, "max_context", i.max_context);
            cJSON_AddNumberToObject(j, "n_params", (double)i.n_params);
            cJSON_AddNumberToObject(j, "device_bytes", (double)i.device_bytes);
            cJSON *parts = cJSON_AddArrayToObject(j, "parts");
            for (uint32_t k = 0; k < tlv_model_part_count(m); k++) {
                tlv_model_part p;
                if (tlv_model_get_part(m, k, &p)) continue;
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "name", p.name);
                cJSON_AddStringToObject(e, "format", p.format);
                cJSON_AddStringToObject(e, "vector_format", p.vector_format);
                cJSON_AddNumberToObject(e, "bytes", (double)p.bytes);
                cJSON_AddNumberToObject(e, "n_params", (double)p.n_params);
                cJSON_AddNumberToObject(e, "n_tensors", p.n_tensors);
                cJSON_AddItemToArray(parts, e);
            }
            char *s = cJSON_Print(j);
            puts(s);
            free(s);
            cJSON_Delete(j);
        } else {
            printf("model        %s\n", o->model);
            printf("generation   %s\n", i.generation);
            printf("llm          %s: %u layers, hidden %u, %u heads (%u kv) x %u, vocab %u\n", i.llm_arch, i.n_layer,
                   i.hidden, i.n_head, i.n_kv_head, i.head_dim, i.vocab);
            printf("vision       %s: %u layers run, hidden %u, image %u px, patch %u\n", i.vision_arch, i.vision_layers,
                   i.vision_hidden, i.image_size, i.patch_size);
            printf("image tokens %u\n", i.tokens_per_image);
            printf("template     %s\n", i.chat_template);
            printf("weights      %s, %.1f M parameters, %.1f MB on the device\n", i.weight_dtype, i.n_params / 1e6,
                   i.device_bytes / 1e6);
            printf("context      %u\n", i.max_context);
            printf("parts        %-13s %-10s %-10s %12s %14s\n", "", "matrices", "vectors", "params", "bytes");
            for (uint32_t k = 0; k < tlv_model_part_count(m); k++) {
                tlv_model_part p;
                if (tlv_model_get_part(m, k, &p)) continue;
                printf("             %-13s %-10s %-10s %12llu %14llu\n", p.name, p.format[0] ? p.format : "-",
                       p.vector_format[0] ? p.vector_format : "-", (unsigned long long)p.n_params,
                       (unsigned long long)p.bytes);
            }
        }
    }
    tlv_model_destroy(m);
    tlv_context_destroy(ctx);
    return cli_exit_code(st);
}

/* ------------------------------------------------------------------ pull */

static int cmd_pull(const cli_opts *o)
{
    const char *id = o->n_positional ? o->positional[0] : o->model;
    if (!id) {
        fprintf(stderr, "tinyllava: pull needs a model id\n");
        return 2;
    }
    return cli_pull(o, id);
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tinyllava %s\n%s\n", tlv_version(), tlv_build_info());
        return 0;
    }
    cli_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc;
    if (o.help) {
        usage(stdout);
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);

    const char *cmd = argv[1];
    if (!strcmp(cmd, "devices")) return cmd_devices(&o);
    if (!strcmp(cmd, "info")) return cmd_info(&o);
    if (!strcmp(cmd, "pull")) return cmd_pull(&o);
    if (!strcmp(cmd, "run")) return cli_run(&o, &g_session, &g_interrupted);
    if (!strcmp(cmd, "chat")) return cli_chat(&o, &g_session, &g_interrupted);
    if (!strcmp(cmd, "tokenize")) return cli_tokenize(&o);
    if (!strcmp(cmd, "quantize")) return cli_quantize(&o);
    fprintf(stderr, "tinyllava: unknown command '%s' (see tinyllava --help)\n", cmd);
    return 2;
}
