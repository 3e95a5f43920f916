/* tokenize.c: `tinyllava tokenize` and `tinyllava pull`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "hub/hub.h"

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

/* Ids of text; returns malloc'ed ids or NULL with an error printed. */
static int32_t *ids_of(tlv_model *m, tlv_context *ctx, const char *text, int add_special, size_t *n)
{
    size_t count = 0;
    if (tlv_model_tokenize(m, text, add_special, NULL, 0, &count)) {
        fprintf(stderr, "tinyllava: %s\n", tlv_context_errmsg(ctx));
        return NULL;
    }
    int32_t *ids = malloc((count ? count : 1) * sizeof *ids);
    if (!ids || tlv_model_tokenize(m, text, add_special, ids, count, n)) {
        free(ids);
        return NULL;
    }
    return ids;
}

int cli_tokenize(const cli_opts *o)
{
    if (!o->n_positional && !o->file && !o->jsonl) {
        fprintf(stderr, "tinyllava: tokenize needs TEXT, -f FILE or --jsonl FILE\n");
        return 2;
    }
    char *owned = NULL;
    size_t len = 0;
    if (o->file && !(owned = read_all(o->file, &len))) {
        fprintf(stderr, "tinyllava: cannot read %s\n", o->file);
        return 4;
    }
    FILE *jl = NULL;
    if (o->jsonl && !(jl = fopen(o->jsonl, "r"))) {
        free(owned);
        fprintf(stderr, "tinyllava: cannot read %s\n", o->jsonl);
        return 4;
    }
    tlv_context *ctx = NULL;
    tlv_model *m = NULL;
    tlv_status st = cli_open(o, &ctx, &m);
    int rc = cli_exit_code(st);
    int add = !o->no_special;
    if (st) goto out;
    if (jl) {
        /* one JSON string per line in, one JSON array of ids per line out */
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        long lineno = 0;
        while ((got = getline(&line, &cap, jl)) > 0) {
            lineno++;
            cJSON *j = cJSON_Parse(line);
            if (!cJSON_IsString(j)) {
                fprintf(stderr, "tinyllava: %s:%ld: expected a JSON string\n", o->jsonl, lineno);
                cJSON_Delete(j);
                rc = 4;
                break;
            }
            size_t n = 0;
            int32_t *ids = ids_of(m, ctx, j->valuestring, add, &n);
            cJSON_Delete(j);
            if (!ids) {
                rc = 1;
                break;
            }
            putchar('[');
            for (size_t i = 0; i < n; i++) printf(i ? ", %d" : "%d", ids[i]);
            puts("]");
            free(ids);
        }
        free(line);
        goto out;
    }
    const char *text = owned ? owned : o->positional[0];
    size_t n = 0;
    int32_t *ids = ids_of(m, ctx, text, add, &n);
    if (!ids) {
        rc = 1;
        goto out;
    }
    cJSON *arr = o->json ? cJSON_CreateObject() : NULL;
    cJSON *jids = arr ? cJSON_AddArrayToObject(arr, "ids") : NULL, *jp = arr ? cJSON_AddArrayToObject(arr, "pieces") : NULL;
    for (size_t i = 0; i < n; i++) {
        char piece[256];
        size_t pl = 0;
        tlv_model_token_text(m, ids[i], piece, sizeof piece - 1, &pl);
        piece[pl < sizeof piece - 1 ? pl : sizeof piece - 1] = 0;
        if (arr) {
            cJSON_AddItemToArray(jids, cJSON_CreateNumber(ids[i]));
            cJSON_AddItemToArray(jp, cJSON_CreateString(piece));
        } else {
            printf("%6d  '%s'\n", ids[i], piece);
        }
    }
    if (arr) {
        char *s = cJSON_PrintUnformatted(arr);
        puts(s);
        free(s);
        cJSON_Delete(arr);
    }
    free(ids);
out:
    if (jl) fclose(jl);
    free(owned);
    tlv_model_destroy(m);
    tlv_context_destroy(ctx);
    return rc;
}

typedef struct pull_ctx {
    tlv_progress_fn progress;
} pull_ctx;

static int on_pull(void *ud, const char *repo, const char *file, uint64_t done, uint64_t total)
{
    const pull_ctx *p = ud;
    (void)repo;
    (void)file;
    return p->progress ? p->progress(NULL, "download", done, total) : 0;
}

tlv_status cli_pull(const char *id, int offline, tlv_progress_fn progress, char **dir)
{
    tlv_hub_options ho;
    memset(&ho, 0, sizeof ho);
    pull_ctx pc = {progress};
    ho.progress = on_pull;
    ho.progress_user = &pc;
    ho.offline = offline;
    tlv_err err;
    tlv__err_clear(&err);
    tlv_status st = tlv__hub_resolve(id, &ho, dir, &err);
    if (st) fprintf(stderr, "tinyllava: %s\n", err.msg);
    return st;
}
