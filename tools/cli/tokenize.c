/* tokenize.c: `tinyllava tokenize` and `tinyllava pull`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "hub/hub.h"
#include "text/tokenizer.h"

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

/* Prints one text's tokens: plain, one "  ID  \"TOKEN\"" line per id (the vocabulary form,
 * JSON-quoted: 'Ġchat', '▁def', '<0x0A>'); --json, one object: ids, tokens (vocabulary
 * form, as transformers' convert_ids_to_tokens), pieces (the text each id adds; a character
 * split over byte tokens appears with its last byte; the pieces join to `text`) and text (the
 * decode with special tokens kept). jsonl: a JSON array of ids. Returns 0 or an exit code. */
static int print_tokens(const tlv_tokenizer *t, const char *text, size_t len, int add, int json, int jsonl)
{
    const tlv_allocator *a = tlv__tokenizer_allocator(t);
    int32_t *ids = NULL;
    size_t n = 0;
    tlv_err err;
    tlv__err_clear(&err);
    if (tlv__tokenizer_encode(t, text, len, add, &ids, &n, &err)) {
        fprintf(stderr, "tinyllava: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (jsonl) {
        putchar('[');
        for (size_t i = 0; i < n; i++) printf(i ? ", %d" : "%d", ids[i]);
        puts("]");
    } else if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *jids = cJSON_AddArrayToObject(o, "ids"), *jt = cJSON_AddArrayToObject(o, "tokens"),
              *jp = cJSON_AddArrayToObject(o, "pieces");
        tlv_detok *d = NULL;
        char *all = NULL;
        size_t all_len = 0;
        if (!o || !jids || !jt || !jp || tlv__detok_create(t, 0, &d) ||
            tlv__tokenizer_decode(t, ids, n, 0, &all, &all_len, &err)) {
            fprintf(stderr, "tinyllava: %s\n", err.status ? err.msg : "out of memory");
            rc = 1;
        }
        for (size_t i = 0; !rc && i < n; i++) {
            size_t pl = 0;
            const char *piece = tlv__detok_push(d, ids[i], &pl);
            const char *tok = tlv__tokenizer_piece(t, ids[i]);
            cJSON_AddItemToArray(jp, cJSON_CreateString(piece ? piece : ""));
            cJSON_AddItemToArray(jids, cJSON_CreateNumber(ids[i]));
            cJSON_AddItemToArray(jt, cJSON_CreateString(tok ? tok : ""));
        }
        size_t fl = 0;
        const char *rest = !rc && n ? tlv__detok_flush(d, &fl) : NULL;
        if (rest && fl) { /* what the detokenizer held back goes to the last piece */
            cJSON *last = cJSON_GetArrayItem(jp, (int)n - 1);
            size_t ll = strlen(last->valuestring);
            char *joined = malloc(ll + fl + 1);
            if (joined) {
                memcpy(joined, last->valuestring, ll);
                memcpy(joined + ll, rest, fl + 1);
                cJSON_ReplaceItemInArray(jp, (int)n - 1, cJSON_CreateString(joined));
                free(joined);
            }
        }
        if (!rc) {
            cJSON_AddStringToObject(o, "text", all ? all : "");
            char *str = cJSON_PrintUnformatted(o);
            if (str) puts(str);
            free(str);
        }
        tlv__free(a, all);
        tlv__detok_destroy(d);
        cJSON_Delete(o);
    } else {
        for (size_t i = 0; i < n; i++) {
            const char *tok = tlv__tokenizer_piece(t, ids[i]);
            cJSON *js = cJSON_CreateString(tok ? tok : "");
            char *q = js ? cJSON_PrintUnformatted(js) : NULL;
            printf("%6d  %s\n", ids[i], q ? q : "?");
            free(q);
            cJSON_Delete(js);
        }
    }
    tlv__free(a, ids);
    return rc;
}

/* `tokenize` needs only the tokenizer files: no Vulkan device, no weights read. */
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
    char *dir = NULL;
    tlv_tokenizer *t = NULL;
    tlv_err err;
    tlv__err_clear(&err);
    tlv_status st = cli_pull(o->model, o->offline, cli_progress, &dir);
    if (!st && (st = tlv__tokenizer_load(dir, NULL, &t, &err))) fprintf(stderr, "tinyllava: %s\n", err.msg);
    int rc = cli_exit_code(st);
    int add = !o->no_special;
    if (st) goto out;
    if (jl) {
        /* one JSON string per line in, one JSON array of ids per line out */
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        long lineno = 0;
        while (!rc && (got = getline(&line, &cap, jl)) > 0) {
            lineno++;
            cJSON *j = cJSON_Parse(line);
            if (!cJSON_IsString(j)) {
                fprintf(stderr, "tinyllava: %s:%ld: expected a JSON string\n", o->jsonl, lineno);
                rc = 4;
            } else {
                rc = print_tokens(t, j->valuestring, strlen(j->valuestring), add, 0, 1);
            }
            cJSON_Delete(j);
        }
        free(line);
    } else if (owned) {
        rc = print_tokens(t, owned, len, add, o->json, 0);
    } else {
        rc = print_tokens(t, o->positional[0], strlen(o->positional[0]), add, o->json, 0);
    }
out:
    if (jl) fclose(jl);
    free(owned);
    free(dir);
    tlv__tokenizer_destroy(t);
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
