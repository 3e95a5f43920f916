/* tokenize.c: `tinyllava tokenize` and `tinyllava pull`, through a tlv_vocab and tlv_model_pull:
 * neither needs a Vulkan device (their context is made with no_vulkan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

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

/* The ids of len bytes of text (malloc'ed), or NULL with the error printed. */
static int32_t *encode(tlv_vocab *v, const char *text, size_t len, int add, size_t *n)
{
    size_t count = 0;
    int32_t *ids = NULL;
    if (!tlv_vocab_encode(v, text, len, add, NULL, 0, &count) && (ids = malloc((count ? count : 1) * sizeof *ids)) &&
        !tlv_vocab_encode(v, text, len, add, ids, count, n))
        return ids;
    free(ids);
    fprintf(stderr, "tinyllava: %s\n", *tlv_vocab_errmsg(v) ? tlv_vocab_errmsg(v) : "out of memory");
    return NULL;
}

/* tlv_vocab_decode_pieces: one string per id; what the flush (id -1) gives joins the last one. */
static int add_piece(void *ud, const char *piece, size_t len, int32_t id)
{
    cJSON *arr = ud;
    char *s = malloc(len + 1);
    if (!s) return 1;
    memcpy(s, piece, len);
    s[len] = 0;
    cJSON *last = cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1);
    if (id < 0 && last) {
        size_t ll = strlen(last->valuestring);
        char *joined = malloc(ll + len + 1);
        if (joined) {
            memcpy(joined, last->valuestring, ll);
            memcpy(joined + ll, s, len + 1);
            cJSON_ReplaceItemInArray(arr, cJSON_GetArraySize(arr) - 1, cJSON_CreateString(joined));
            free(joined);
        }
    } else {
        cJSON_AddItemToArray(arr, cJSON_CreateString(s));
    }
    free(s);
    return 0;
}

/* Prints one text's tokens: plain, one "  ID  \"TOKEN\"" line per id (the vocabulary form,
 * JSON-quoted: 'Ġchat', '▁def', '<0x0A>'); --json, one object: ids, tokens (vocabulary
 * form, as transformers' convert_ids_to_tokens), pieces (the text each id adds; a character
 * split over byte tokens appears with its last byte; the pieces join to `text`) and text (the
 * decode with special tokens kept). jsonl: a JSON array of ids. Returns 0 or an exit code. */
static int print_tokens(tlv_vocab *v, const char *text, size_t len, int add, int json, int jsonl)
{
    size_t n = 0;
    int32_t *ids = encode(v, text, len, add, &n);
    if (!ids) return 1;
    int rc = 0;
    if (jsonl) {
        putchar('[');
        for (size_t i = 0; i < n; i++) printf(i ? ", %d" : "%d", ids[i]);
        puts("]");
    } else if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *jids = cJSON_AddArrayToObject(o, "ids"), *jt = cJSON_AddArrayToObject(o, "tokens"),
              *jp = cJSON_AddArrayToObject(o, "pieces");
        size_t all_len = 0;
        char *all = NULL;
        if (!o || !jids || !jt || !jp || tlv_vocab_decode_pieces(v, ids, n, 0, add_piece, jp) ||
            tlv_vocab_decode(v, ids, n, 0, NULL, 0, &all_len) || !(all = malloc(all_len + 1)) ||
            tlv_vocab_decode(v, ids, n, 0, all, all_len + 1, &all_len)) {
            fprintf(stderr, "tinyllava: %s\n", *tlv_vocab_errmsg(v) ? tlv_vocab_errmsg(v) : "out of memory");
            rc = 1;
        }
        for (size_t i = 0; !rc && i < n; i++) {
            const char *tok = tlv_vocab_token(v, ids[i]);
            cJSON_AddItemToArray(jids, cJSON_CreateNumber(ids[i]));
            cJSON_AddItemToArray(jt, cJSON_CreateString(tok ? tok : ""));
        }
        if (!rc) {
            cJSON_AddStringToObject(o, "text", all);
            char *str = cJSON_PrintUnformatted(o);
            if (str) puts(str);
            free(str);
        }
        free(all);
        cJSON_Delete(o);
    } else {
        for (size_t i = 0; i < n; i++) {
            const char *tok = tlv_vocab_token(v, ids[i]);
            cJSON *js = cJSON_CreateString(tok ? tok : "");
            char *q = js ? cJSON_PrintUnformatted(js) : NULL;
            printf("%6d  %s\n", ids[i], q ? q : "?");
            free(q);
            cJSON_Delete(js);
        }
    }
    free(ids);
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
    tlv_context *ctx = NULL;
    tlv_vocab *v = NULL;
    tlv_status st = cli_open_no_vulkan(o, &ctx);
    if (!st) {
        tlv_model_options mo;
        tlv_model_options_init(&mo);
        mo.progress = cli_progress;
        mo.offline = o->offline;
        if ((st = tlv_vocab_open(ctx, o->model, &mo, &v))) fprintf(stderr, "tinyllava: %s\n", tlv_context_errmsg(ctx));
    }
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
                rc = print_tokens(v, j->valuestring, strlen(j->valuestring), add, 0, 1);
            }
            cJSON_Delete(j);
        }
        free(line);
    } else if (owned) {
        rc = print_tokens(v, owned, len, add, o->json, 0);
    } else {
        rc = print_tokens(v, o->positional[0], strlen(o->positional[0]), add, o->json, 0);
    }
out:
    if (jl) fclose(jl);
    free(owned);
    tlv_vocab_destroy(v);
    tlv_context_destroy(ctx);
    return rc;
}

int cli_pull(const cli_opts *o, const char *id)
{
    tlv_context *ctx = NULL;
    tlv_status st = cli_open_no_vulkan(o, &ctx);
    if (!st) {
        tlv_model_options mo;
        tlv_model_options_init(&mo);
        mo.progress = cli_progress;
        mo.offline = o->offline;
        char dir[4096];
        if ((st = tlv_model_pull(ctx, id, &mo, dir, sizeof dir))) fprintf(stderr, "tinyllava: %s\n", tlv_context_errmsg(ctx));
        else printf("%s\n", dir);
    }
    tlv_context_destroy(ctx);
    return cli_exit_code(st);
}
