/* test_bench.c: runs tinyllava-bench (argv[1]) with tiny settings and checks that it exits 0,
 * that its --json parses into the records docs/BENCHMARKS.md describes, that --compare writes a
 * markdown table and an SVG, that every preset's config.json gives the published shapes through
 * the runtime's parser (expected values: MODELS.md 1.3-1.4), and that bad options fail.
 * Nothing here asserts a time or a speed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"

static const char *bench;
static char tmp[256];

/* Runs the bench with args (a shell fragment); returns the exit status; output to out_path. */
static int run(const char *args, const char *out_path)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2>&1", bench, args, out_path);
    int rc = system(cmd);
    int code = rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
    if (code != 0) {
        fprintf(stderr, "command: %s -> %d; output:\n", cmd, code);
        char line[512];
        FILE *f = fopen(out_path, "r");
        while (f && fgets(line, sizeof line, f)) fputs(line, stderr);
        if (f) fclose(f);
    }
    return code;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (b) b[n] = 0;
    fclose(f);
    return b;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Parses a --json file and checks the fields every record carries; returns the array. */
static cJSON *check_json(const char *path, int min_records)
{
    char *text = slurp(path);
    cJSON *arr = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(cJSON_IsArray(arr));
    if (!cJSON_IsArray(arr)) return arr;
    CHECK(cJSON_GetArraySize(arr) >= min_records);
    const cJSON *r;
    cJSON_ArrayForEach(r, arr) {
        const cJSON *dev = cJSON_GetObjectItemCaseSensitive(r, "device");
        const cJSON *build = cJSON_GetObjectItemCaseSensitive(r, "build");
        CHECK(cJSON_IsObject(dev) && cJSON_IsObject(build));
        CHECK(strlen(str(dev, "name")) > 0);
        CHECK(strlen(str(dev, "driver_version")) > 0);
        CHECK(strlen(str(dev, "api_version")) > 0);
        CHECK_CONTAINS(str(dev, "caps"), "timestamps");
        CHECK(strlen(str(build, "git_commit")) > 0);
        CHECK(strlen(str(build, "library_version")) > 0);
        CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "settings")));
        CHECK(strlen(str(r, "test")) > 0 && strlen(str(r, "unit")) > 0);
        CHECK(num(r, "value") > 0);
        CHECK(num(r, "reps") >= 1);
    }
    return arr;
}

static const cJSON *find_test(const cJSON *arr, const char *prefix)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, arr) if (!strncmp(str(r, "test"), prefix, strlen(prefix))) return r;
    return NULL;
}

/* ---- an independent count of the work of tests/models/llava_hf_clip (from its config.json),
 * to check the bytes and FLOPs the ops note on their dispatches (tlv__stream_note_work) and the
 * bench sums. The rules (docs/BENCHMARKS.md "How the work is counted"): a Linear of M rows moves
 * its weights (f16 here) and bias once, x once, y once (twice with a residual) and does 2MNK
 * FLOPs; attention moves q, o and the visible keys and values once (f32) and does 4 head_dim
 * FLOPs per (query, visible key, head). The model runs as MODELS.md says: the CLIP tower's q, k,
 * v, o, fc1, fc2 with biases on T = grid^2 + 1 rows, the connector on the image tokens, the LLM
 * with q/k/v and gate/up fused into one weight each (model/load.c) and the head on one row. */
typedef struct work {
    double bytes, bytes_alt, flops; /* bytes_alt: the down projection reading [gate | up] (fused) */
} work;

static void lin(work *w, double m, double n, double k, int bias, int residual)
{
    double b = n * k * 2 + (bias ? n * 2 : 0) + m * k * 4 + m * n * 4 * (residual ? 2 : 1);
    w->bytes += b;
    w->bytes_alt += b;
    w->flops += 2 * m * n * k;
}

static void attn(work *w, double n_q, double keys, double pairs, double nh, double nkv, double hd)
{
    double b = 4 * hd * (2 * n_q * nh + 2 * keys * nkv);
    w->bytes += b;
    w->bytes_alt += b;
    w->flops += 4 * hd * pairs * nh;
}

static int cfg_int(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* The LLM pass of n rows at positions pos0.. (causal). */
static void llm_pass(work *w, const cJSON *tc, int vocab, double n, double pos0)
{
    int H = cfg_int(tc, "hidden_size"), F = cfg_int(tc, "intermediate_size"), L = cfg_int(tc, "num_hidden_layers");
    int nh = cfg_int(tc, "num_attention_heads"), nkv = cfg_int(tc, "num_key_value_heads"), hd = H / nh;
    double pairs = n * pos0 + n * (n + 1) / 2;
    for (int l = 0; l < L; l++) {
        lin(w, n, (double)(nh + 2 * nkv) * hd, H, 0, 0); /* qkv */
        attn(w, n, pos0 + n, pairs, nh, nkv, hd);
        lin(w, n, H, H, 0, 1);     /* o, + residual */
        lin(w, n, 2.0 * F, H, 0, 0); /* [gate | up] */
        lin(w, n, H, F, 0, 1);     /* down, + residual */
        w->bytes_alt += n * F * 4; /* the fused decode path reads [gate | up] for down */
    }
    lin(w, 1, vocab, H, 0, 0); /* head: the last row */
}

static void image_pass(work *w, const cJSON *vc, int llm_hidden)
{
    int C = cfg_int(vc, "hidden_size"), F = cfg_int(vc, "intermediate_size"), L = cfg_int(vc, "num_hidden_layers");
    int nh = cfg_int(vc, "num_attention_heads"), grid = cfg_int(vc, "image_size") / cfg_int(vc, "patch_size");
    double T = (double)grid * grid + 1, hd = (double)C / nh;
    for (int l = 0; l < L - 1; l++) { /* vision_feature_layer -2: all layers but the last */
        for (int i = 0; i < 3; i++) lin(w, T, C, C, 1, 0);
        attn(w, T, T, T * T, nh, nh, hd);
        lin(w, T, C, C, 1, 1);
        lin(w, T, F, C, 1, 0);
        lin(w, T, C, F, 1, 1);
    }
    lin(w, T - 1, llm_hidden, C, 1, 0); /* connector on the image tokens (CLS dropped) */
    lin(w, T - 1, llm_hidden, llm_hidden, 1, 0);
}

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fabs(b) + 0.5;
}

/* Checks the record's bytes and FLOPs (the sums of its ops) against w. */
static void check_work(const cJSON *arr, const char *test, const work *w)
{
    const cJSON *r = NULL, *x;
    cJSON_ArrayForEach(x, arr) if (!strcmp(str(x, "test"), test) || (!strcmp(test, "image") && !strncmp(str(x, "test"), "image ", 6))) r = x;
    CHECK(r != NULL);
    if (!r) return;
    double ob = 0, of = 0;
    const cJSON *op;
    cJSON_ArrayForEach(op, cJSON_GetObjectItemCaseSensitive(r, "ops")) {
        if (cJSON_GetObjectItemCaseSensitive(op, "bytes")) ob += num(op, "bytes");
        if (cJSON_GetObjectItemCaseSensitive(op, "flops")) of += num(op, "flops");
    }
    double b = num(r, "bytes"), f = num(r, "flops");
    printf("%s: recorded %.0f bytes, %.0f FLOPs; counted %.0f (or %.0f fused) bytes, %.0f FLOPs\n", test, b, f, w->bytes,
           w->bytes_alt, w->flops);
    CHECK(near(b, ob) && near(f, of));
    CHECK(near(f, w->flops));
    CHECK(near(b, w->bytes) || near(b, w->bytes_alt));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_bench PATH-TO-tinyllava-bench\n");
        return 2;
    }
    bench = argv[1];
    snprintf(tmp, sizeof tmp, "/tmp/tlv-test-bench-XXXXXX");
    CHECK(mkdtemp(tmp) != NULL);
    char out[300], j1[300], j2[300], j3[300], svg[300], args[2048];
    snprintf(out, sizeof out, "%s/out.txt", tmp);
    snprintf(j1, sizeof j1, "%s/kernels.json", tmp);
    snprintf(j2, sizeof j2, "%s/model.json", tmp);
    snprintf(svg, sizeof svg, "%s/chart.svg", tmp);

    /* presets through the real parser: shapes as MODELS.md 1.3-1.4 list them */
    CHECK_EQ_INT(run("--check-presets", out), 0);
    char *text = slurp(out);
    CHECK(text != NULL);
    if (text) {
        CHECK_CONTAINS(text, "qwen2-0.5b-siglip: factory qwen2 layers 24 hidden 896 heads 14/2 head_dim 64 ffn 4864 vocab 151936");
        CHECK_CONTAINS(text, "phi2-siglip-3.1b: factory phi layers 32 hidden 2560 heads 32/32 head_dim 80 ffn 10240 vocab 51200 rot 32");
        CHECK_CONTAINS(text, "gemma-siglip-2.4b: factory gemma layers 18 hidden 2048 heads 8/1 head_dim 256 ffn 16384 vocab 256000");
        CHECK_CONTAINS(text, "legacy-2.0b: legacy stablelm layers 24 hidden 2048 heads 32/32 head_dim 64 ffn 5632 vocab 100352 rot 16");
        CHECK_CONTAINS(text, "legacy-1.5b: legacy llama layers 22 hidden 2048 heads 32/4");
        CHECK_CONTAINS(text, "siglip 384/14 layers 27 (run 26) hidden 1152 ffn 4304 | image tokens 728");
        CHECK_CONTAINS(text, "legacy-3.1b: legacy phi");
        CHECK_CONTAINS(text, "image tokens 729"); /* legacy SigLIP keeps the first patch */
        CHECK_CONTAINS(text, "clip 336/14 layers 24 (run 23) hidden 1024 ffn 4096 | image tokens 576");
    }
    free(text);

    /* kernel mode, two small kernels */
    snprintf(args, sizeof args, "kernels --quick -r 1 --only '896x4864,decode' --json '%s'", j1);
    CHECK_EQ_INT(run(args, out), 0);
    cJSON *k = check_json(j1, 4);
    CHECK(find_test(k, "read bandwidth") != NULL);
    CHECK(find_test(k, "f32 fma peak") != NULL);
    CHECK(find_test(k, "matvec 896x4864") != NULL);
    CHECK(find_test(k, "attn decode") != NULL);
    cJSON_Delete(k);

    /* model mode on a tiny real checkpoint (tests/models), every test kind */
    snprintf(args, sizeof args, "-m '%s/models/openelm_siglip_square/model' -p 8 -n 2 -d 0,4 -r 1 --quick --ttft 4 "
             "--json '%s'", TLV_TEST_DATA, j2);
    CHECK_EQ_INT(run(args, out), 0);
    cJSON *m = check_json(j2, 8);
    const char *tests[] = {"image", "pp8", "pp8+img", "tg2@d0", "tg2@d4", "ttft img+q4"};
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        const cJSON *r = find_test(m, tests[i]);
        CHECK(r != NULL);
        if (!r) {
            fprintf(stderr, "missing test %s\n", tests[i]);
            continue;
        }
        CHECK(num(r, "peak_device_memory_bytes") > 0);
        CHECK(num(r, "cold") > 0);
        const cJSON *ops = cJSON_GetObjectItemCaseSensitive(r, "ops");
        CHECK(cJSON_IsArray(ops) && cJSON_GetArraySize(ops) > 0);
    }
    const cJSON *tg = find_test(m, "tg2@d0");
    if (tg) CHECK(num(tg, "host_cpu_ms_per_token") > 0);
    cJSON_Delete(m);

    /* the work figures: what the ops noted, against the count above */
    snprintf(j3, sizeof j3, "%s/work.json", tmp);
    snprintf(args, sizeof args, "-m '%s/models/llava_hf_clip/model' -p 8 -n 2 -d 0 -r 0 --no-probe --ttft 0 --json '%s'",
             TLV_TEST_DATA, j3);
    CHECK_EQ_INT(run(args, out), 0);
    snprintf(args, sizeof args, "%s/models/llava_hf_clip/model/config.json", TLV_TEST_DATA);
    char *ct = slurp(args), *wt = slurp(j3);
    cJSON *cfg = ct ? cJSON_Parse(ct) : NULL, *wa = wt ? cJSON_Parse(wt) : NULL;
    free(ct);
    free(wt);
    CHECK(cfg != NULL && cJSON_IsArray(wa));
    if (cfg && cJSON_IsArray(wa)) {
        const cJSON *tc = cJSON_GetObjectItemCaseSensitive(cfg, "text_config"),
                    *vc = cJSON_GetObjectItemCaseSensitive(cfg, "vision_config");
        int vocab = cfg_int(cfg, "vocab_size"), H = cfg_int(tc, "hidden_size");
        CHECK_EQ_STR(str(cJSON_GetArrayItem(wa, 0), "dtype"), "f16");
        work wi = {0, 0, 0}, wp = {0, 0, 0}, wpi = {0, 0, 0}, wt2 = {0, 0, 0};
        image_pass(&wi, vc, H);
        llm_pass(&wp, tc, vocab, 8, 0);
        int img = (cfg_int(vc, "image_size") / cfg_int(vc, "patch_size")) * (cfg_int(vc, "image_size") / cfg_int(vc, "patch_size"));
        llm_pass(&wpi, tc, vocab, 8 + img, 0);
        llm_pass(&wt2, tc, vocab, 1, 0);
        llm_pass(&wt2, tc, vocab, 1, 1);
        check_work(wa, "image", &wi);
        check_work(wa, "pp8", &wp);
        check_work(wa, "pp8+img", &wpi);
        check_work(wa, "tg2@d0", &wt2);
    }
    cJSON_Delete(cfg);
    cJSON_Delete(wa);

    /* --compare: a markdown table with a column per file, and an SVG */
    snprintf(args, sizeof args, "--compare '%s' '%s' --svg '%s'", j1, j2, svg);
    CHECK_EQ_INT(run(args, out), 0);
    text = slurp(out);
    if (text) {
        CHECK_CONTAINS(text, "| test |");
        CHECK_CONTAINS(text, "pp8+img");
        CHECK_CONTAINS(text, "read bandwidth");
        /* columns are named by driverInfo where there is one (Mesa's driverVersion is the same
         * for every release, so two lavapipes would otherwise share a column) */
        char *jt = slurp(j1);
        cJSON *ja = jt ? cJSON_Parse(jt) : NULL;
        free(jt);
        const cJSON *d0 = cJSON_IsArray(ja) ? cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ja, 0), "device") : NULL;
        CHECK(d0 != NULL);
        if (d0 && *str(d0, "driver_info")) CHECK_CONTAINS(text, str(d0, "driver_info"));
        cJSON_Delete(ja);
    }
    free(text);
    text = slurp(svg);
    CHECK(text && !strncmp(text, "<svg", 4));
    if (text) CHECK_CONTAINS(text, "</svg>");
    free(text);

    /* bad input */
    CHECK_EQ_INT(run("-P no-such-model", out), 2);
    CHECK_EQ_INT(run("-t f8", out), 2);
    CHECK_EQ_INT(run("-p 64,x", out), 2);
    CHECK_EQ_INT(run("--bogus", out), 2);
    CHECK_EQ_INT(run("--kv f8", out), 2);
    CHECK_EQ_INT(run("--ctx 0", out), 2);
    CHECK_EQ_INT(run("--compare /nonexistent.json", out), 1);
    snprintf(args, sizeof args, "-m '%s/nonexistent-model' -r 1 --no-probe", tmp);
    CHECK_EQ_INT(run(args, out), 1);

    const char *files[] = {out, j1, j2, j3, svg};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) remove(files[i]);
    rmdir(tmp);
    return tlv_test_finish("test_bench");
}
