/* run.c: `tinyllava run` (one question, streamed) and `tinyllava chat` (multi-turn). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* ud: a size_t counting the bytes printed, or NULL */
static int print_piece(void *ud, const char *piece, size_t len, int32_t id)
{
    (void)id;
    if (ud) *(size_t *)ud += len;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return 0;
}

/* A .npy file (NumPy format 1.0): float32, C order. */
static int write_npy(const char *dir, const char *name, const void *data, const int64_t *shape, int ndim)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "tinyllava: cannot write %s\n", path);
        return 0;
    }
    char dims[128] = "";
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        char part[32];
        snprintf(part, sizeof part, "%lld,%s", (long long)shape[i], ndim > 1 && i < ndim - 1 ? " " : "");
        strncat(dims, part, sizeof dims - strlen(dims) - 1);
        n *= (size_t)shape[i];
    }
    if (ndim > 1) dims[strlen(dims) - 1] = 0; /* (a, b) not (a, b,) */
    char header[256];
    int hl = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
    int total = 10 + hl + 1;
    int pad = (64 - total % 64) % 64;
    unsigned short hlen = (unsigned short)(hl + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hlen & 0xff, f);
    fputc(hlen >> 8, f);
    fwrite(header, 1, (size_t)hl, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    size_t w = fwrite(data, sizeof(float), n, f);
    int ok = fclose(f) == 0 && w == n;
    if (!ok) fprintf(stderr, "tinyllava: writing %s failed\n", path);
    return ok;
}

/* --dump: the stages a reference run is compared with, for the first image (if any). */
static int dump(tlv_session *s, const char *dir)
{
    mkdir(dir, 0755);
    static const char *const names[] = {"last_logits", "pixel_values", "image_features"};
    int ok = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        tlv_array a;
        tlv_status st = tlv_session_inspect(s, names[i], 0, &a);
        if (st == TLV_ERR_NOT_FOUND && i > 0) continue; /* no image in this run */
        if (st) {
            fprintf(stderr, "tinyllava: %s\n", tlv_session_errmsg(s));
            return 0;
        }
        char file[64];
        snprintf(file, sizeof file, "%s.npy", names[i]);
        ok &= write_npy(dir, file, a.data, a.shape, (int)a.ndim);
    }
    return ok;
}

static void add_ids(cJSON *j, const char *key, tlv_session *s, const char *name)
{
    cJSON *arr = cJSON_AddArrayToObject(j, key);
    tlv_array a;
    if (tlv_session_inspect(s, name, 0, &a)) return;
    const int32_t *ids = a.data;
    for (size_t i = 0; i < a.count; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(ids[i]));
}

static void print_json(tlv_model *m, tlv_session *s, const tlv_generate_stats *r)
{
    tlv_model_info info;
    tlv_model_get_info(m, &info);
    cJSON *j = cJSON_CreateObject();
    add_ids(j, "prompt_ids", s, "prompt_ids");
    cJSON_AddNumberToObject(j, "n_image_tokens", info.tokens_per_image);
    add_ids(j, "generated_ids", s, "generated_ids");
    cJSON_AddStringToObject(j, "text", tlv_session_last_answer(s));
    cJSON_AddStringToObject(j, "stop_reason", r->stop_reason ? r->stop_reason : "");
    cJSON *tm = cJSON_AddObjectToObject(j, "timings");
    cJSON_AddNumberToObject(tm, "image_encode_ms", r->image_ms);
    cJSON_AddNumberToObject(tm, "prefill_tokens", r->prompt_tokens);
    cJSON_AddNumberToObject(tm, "prefill_ms", r->prefill_ms);
    cJSON_AddNumberToObject(tm, "reused_tokens", r->reused_tokens);
    cJSON_AddNumberToObject(tm, "decode_tokens", r->generated_tokens);
    cJSON_AddNumberToObject(tm, "decode_tok_per_s", r->decode_ms > 0 ? r->generated_tokens / (r->decode_ms / 1e3) : 0);
    char *str = cJSON_Print(j);
    puts(str);
    free(str);
    cJSON_Delete(j);
}

/* One line per answer on stderr (--verbose); docs/CLI.md documents it and tests/cli reads it. */
static void print_stats(const tlv_generate_stats *r)
{
    fprintf(stderr,
            "stats: image %u tokens %.0f ms | prefill %u tokens (%u reused) %.0f ms (%.1f tok/s) | "
            "decode %u tokens %.0f ms (%.2f tok/s) | %s\n",
            r->image_tokens, r->image_ms, r->prompt_tokens, r->reused_tokens, r->prefill_ms,
            r->prefill_ms > 0 ? r->prompt_tokens / (r->prefill_ms / 1e3) : 0, r->generated_tokens, r->decode_ms,
            r->decode_ms > 0 ? r->generated_tokens / (r->decode_ms / 1e3) : 0, r->stop_reason ? r->stop_reason : "error");
}

/* --verbose: the context and what its KV cache costs. */
static void print_session(const tlv_session *s)
{
    tlv_session_info si;
    if (tlv_session_get_info(s, &si) == TLV_OK)
        fprintf(stderr, "tinyllava: info: session: %u positions, KV cache %s, %.1f MiB\n", si.n_ctx,
                si.kv_type == TLV_KV_F16 ? "f16" : "f32", (double)si.kv_bytes / (1024.0 * 1024.0));
}

static tlv_status add_images(tlv_session *s, const cli_opts *o)
{
    for (int i = 0; i < o->n_images; i++) {
        tlv_status st = tlv_session_add_image_file(s, o->images[i]);
        if (st) {
            fprintf(stderr, "tinyllava: %s\n", tlv_session_errmsg(s));
            return st;
        }
    }
    return TLV_OK;
}

int cli_run(const cli_opts *o, tlv_session *volatile *current, volatile sig_atomic_t *interrupted)
{
    if (!o->prompt && !o->n_images) {
        fprintf(stderr, "tinyllava: run needs -p TEXT and/or --image PATH (see tinyllava --help)\n");
        return 2;
    }
    tlv_context *ctx = NULL;
    tlv_model *m = NULL;
    tlv_session *s = NULL;
    tlv_status st = cli_open(o, &ctx, &m);
    if (st) goto out;
    tlv_session_options so = {(uint32_t)o->ctx_size, (uint32_t)o->kv_type};
    if ((st = tlv_session_create(m, &so, &s))) {
        fprintf(stderr, "tinyllava: %s\n", tlv_context_errmsg(ctx));
        goto out;
    }
    if (o->verbose) print_session(s);
    if ((st = add_images(s, o))) goto out;
    if (o->prompt && (st = tlv_session_add_text(s, o->prompt))) {
        fprintf(stderr, "tinyllava: %s\n", tlv_session_errmsg(s));
        goto out;
    }
    *current = s;
    tlv_generate_stats r;
    size_t printed = 0;
    st = tlv_session_generate(s, &o->sampling, o->json ? NULL : print_piece, &printed, &r);
    *current = NULL;
    if (!o->json && (printed || !st)) { /* a failure before any answer leaves stdout empty */
        putchar('\n');
        fflush(stdout); /* the answer before the stats line or the error */
    }
    if (st) {
        fprintf(stderr, "tinyllava: %s\n", tlv_session_errmsg(s));
        if (st == TLV_ERR_CANCELLED || *interrupted) st = TLV_ERR_CANCELLED;
        goto out;
    }
    if (o->json) print_json(m, s, &r);
    else if (o->verbose) print_stats(&r);
    if (o->dump && !dump(s, o->dump)) st = TLV_ERR_IO;
out:
    tlv_session_destroy(s);
    tlv_model_destroy(m);
    tlv_context_destroy(ctx);
    return cli_exit_code(st);
}

int cli_chat(const cli_opts *o, tlv_session *volatile *current, volatile sig_atomic_t *interrupted)
{
    tlv_context *ctx = NULL;
    tlv_model *m = NULL;
    tlv_session *s = NULL;
    tlv_status st = cli_open(o, &ctx, &m);
    if (st) goto out;
    tlv_session_options so = {(uint32_t)o->ctx_size, (uint32_t)o->kv_type};
    if ((st = tlv_session_create(m, &so, &s))) {
        fprintf(stderr, "tinyllava: %s\n", tlv_context_errmsg(ctx));
        goto out;
    }
    if (o->verbose) print_session(s);
    if ((st = add_images(s, o))) goto out;
    int tty = isatty(0);
    if (tty) fprintf(stderr, "chat: type a message; /image PATH adds an image, /reset starts over, /quit ends (Ctrl-C stops an answer)\n");
    char line[16384];
    for (;;) {
        if (tty) {
            fputs("> ", stdout);
            fflush(stdout);
        }
        *interrupted = 0;
        if (!fgets(line, sizeof line, stdin)) {
            /* Ctrl-C at the prompt ends the chat (exit 130); end of input ends it normally */
            if (*interrupted) st = TLV_ERR_CANCELLED;
            break;
        }
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!n) continue;
        if (!strcmp(line, "/quit") || !strcmp(line, "/exit")) break;
        if (!strcmp(line, "/reset")) {
            tlv_session_reset(s);
            fprintf(stderr, "(conversation reset)\n");
            continue;
        }
        if (!strncmp(line, "/image ", 7)) {
            if (tlv_session_add_image_file(s, line + 7)) fprintf(stderr, "tinyllava: %s\n", tlv_session_errmsg(s));
            else fprintf(stderr, "(image added)\n");
            continue;
        }
        if (line[0] == '/') {
            fprintf(stderr, "unknown command %s: /image PATH, /reset, /quit\n", line);
            continue;
        }
        if (tlv_session_add_text(s, line)) {
            fprintf(stderr, "tinyllava: %s\n", tlv_session_errmsg(s));
            continue;
        }
        *current = s;
        tlv_generate_stats r;
        st = tlv_session_generate(s, &o->sampling, print_piece, NULL, &r);
        *current = NULL;
        putchar('\n');
        fflush(stdout);
        if (o->verbose) print_stats(&r);
        if (st == TLV_ERR_CANCELLED) {
            fprintf(stderr, "(stopped)\n");
            st = TLV_OK;
        } else if (st) {
            fprintf(stderr, "tinyllava: %s\n", tlv_session_errmsg(s));
            st = TLV_OK; /* the chat goes on */
        }
    }
out:
    tlv_session_destroy(s);
    tlv_model_destroy(m);
    tlv_context_destroy(ctx);
    return cli_exit_code(st);
}
