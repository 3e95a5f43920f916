/* hub.c: which files a TinyLLaVA checkpoint needs, the cache folder and its manifest (hub.h). */
#define _DEFAULT_SOURCE /* flock, fsync under -std=c11 */
#include "hub/hub.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#ifndef TLV_NO_CURL
#include <curl/curl.h>
#endif

#include "hub/fetch.h"

#define MANIFEST_NAME ".tinyllava-download.json"
#define MANIFEST_MAX_BYTES (4u << 20)
#define DEFAULT_ENDPOINT "https://huggingface.co"

/* MODELS.md 2: the files besides the weights. All optional: a repo has some of them. */
static const char *const k_extra_files[] = {
    "vocab.json", "merges.txt", "added_tokens.json", "tokenizer.json", "tokenizer.model",
    "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "preprocessor_config.json",
};
/* What we take from the base LLM's repo when the checkpoint has no tokenizer. */
static const char *const k_tokenizer_files[] = {
    "vocab.json", "merges.txt", "added_tokens.json", "tokenizer.json", "tokenizer.model",
    "tokenizer_config.json", "special_tokens_map.json",
};
/* Having one of these means the folder has a tokenizer (src/text/tokenizer.h). */
static const char *const k_tokenizer_core[] = {"tokenizer.json", "tokenizer.model", "vocab.json"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The resolved settings: options, else environment, else defaults. */
struct settings {
    const tlv_allocator *alloc;
    char *cache;
    char *endpoint; /* without trailing '/' */
    const char *token;
    char *token_from_file; /* owns token when it came from huggingface-cli's token file */
    const char *revision;
    int offline;
};

/* One file of the manifest. */
struct entry {
    char name[208];
    char repo[208];
    uint64_t size;
    char sha256[65];
};

struct plan {
    const tlv_allocator *alloc;
    struct entry *v;
    size_t n, cap;
    char commit[48];
    char tokenizer_from[208]; /* "" when the checkpoint has its own */
};

/* ------------------------------------------------------------------ small helpers */

static char *fmt_alloc(const tlv_allocator *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static char *fmt_alloc(const tlv_allocator *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *s = tlv__malloc(a, (size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ASCII by hand: isalnum() follows the locale. */
static int name_char_ok(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* One part of an id, or a file name: 1..max characters of [A-Za-z0-9._-], no leading '.' or
 * '-', no "..". */
static int part_ok(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max || s[0] == '.' || s[0] == '-') return 0;
    for (size_t i = 0; i < n; i++) {
        if (!name_char_ok((unsigned char)s[i])) return 0;
        if (i && s[i] == '.' && s[i - 1] == '.') return 0;
    }
    return 1;
}

int tlv__hub_is_repo_id(const char *s)
{
    if (!s) return 0;
    const char *slash = strchr(s, '/');
    if (!slash || strchr(slash + 1, '/')) return 0;
    return part_ok(s, (size_t)(slash - s), 96) && part_ok(slash + 1, strlen(slash + 1), 96);
}

static int file_name_ok(const char *s) { return part_ok(s, strlen(s), 200); }

/* mkdir -p */
static tlv_status make_dirs(char *path, tlv_err *err)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = 0;
        int rc = mkdir(path, 0755);
        int e = errno;
        *p = c;
        if (rc != 0 && e != EEXIST) return tlv__err_set(err, TLV_ERR_IO, "cannot create folder %.*s: %s",
                                                        (int)(p - path), path, strerror(e));
        if (!c) break;
    }
    return is_dir(path) ? TLV_OK : tlv__err_set(err, TLV_ERR_IO, "%s exists and is not a folder", path);
}

/* Reads a small file whole, NUL-terminated. */
static tlv_status read_small(const tlv_allocator *a, const char *path, char **out, tlv_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return tlv__err_set(err, TLV_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0;
    tlv_status st = TLV_OK;
    if (fseek(f, 0, SEEK_END) != 0) goto io;
    long len = ftell(f);
    if (len < 0) goto io;
    if ((unsigned long)len > MANIFEST_MAX_BYTES) {
        st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: %ld bytes, at most %u expected", path, len, MANIFEST_MAX_BYTES);
        goto done;
    }
    rewind(f);
    buf = tlv__malloc(a, (size_t)len + 1);
    if (!buf) {
        st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory reading %s", path);
        goto done;
    }
    n = fread(buf, 1, (size_t)len, f);
    if (n != (size_t)len) goto io;
    buf[n] = 0;
    *out = buf;
    buf = NULL;
    goto done;
io:
    st = tlv__err_set(err, TLV_ERR_IO, "cannot read %s: %s", path, strerror(errno));
done:
    tlv__free(a, buf);
    fclose(f);
    return st;
}

static int env_true(const char *v)
{
    return v && (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"));
}

static void settings_free(struct settings *s)
{
    tlv__free(s->alloc, s->cache);
    tlv__free(s->alloc, s->endpoint);
    tlv__free(s->alloc, s->token_from_file);
    s->cache = s->endpoint = s->token_from_file = NULL;
}

/* The token `huggingface-cli login` saved, as huggingface_hub finds it: $HF_TOKEN_PATH, else
 * $HF_HOME/token, else ~/.cache/huggingface/token. NULL when there is none. */
static char *token_file(const tlv_allocator *a)
{
    const char *v;
    char *path = NULL, *text = NULL;
    if ((v = getenv("HF_TOKEN_PATH")) && *v) path = tlv__strdup(a, v);
    else if ((v = getenv("HF_HOME")) && *v) path = fmt_alloc(a, "%s/token", v);
    else if ((v = getenv("HOME")) && *v) path = fmt_alloc(a, "%s/.cache/huggingface/token", v);
    if (path && read_small(a, path, &text, NULL) == TLV_OK) {
        char *b = text, *e = text + strlen(text);
        while (b < e && isspace((unsigned char)*b)) b++;
        while (e > b && isspace((unsigned char)e[-1])) e--;
        *e = 0;
        if (b > text) memmove(text, b, (size_t)(e - b) + 1);
        if (!*text) {
            tlv__free(a, text);
            text = NULL;
        }
    }
    tlv__free(a, path);
    return text;
}

static tlv_status settings_load(const tlv_hub_options *o, struct settings *s, tlv_err *err)
{
    memset(s, 0, sizeof *s);
    s->alloc = o ? o->alloc : NULL;
    const char *v;
    if (o && o->cache_dir && *o->cache_dir) s->cache = tlv__strdup(s->alloc, o->cache_dir);
    else if ((v = getenv("TINYLLAVA_CACHE")) && *v) s->cache = tlv__strdup(s->alloc, v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v == '/') s->cache = fmt_alloc(s->alloc, "%s/tinyllava", v);
    else if ((v = getenv("HOME")) && *v) s->cache = fmt_alloc(s->alloc, "%s/.cache/tinyllava", v);
    else return tlv__err_set(err, TLV_ERR_INVALID_ARG, "no cache folder: set TINYLLAVA_CACHE (HOME is not set)");
    const char *ep = o && o->endpoint && *o->endpoint ? o->endpoint : (v = getenv("HF_ENDPOINT")) && *v ? v : DEFAULT_ENDPOINT;
    s->endpoint = tlv__strdup(s->alloc, ep);
    if (!s->cache || !s->endpoint) {
        settings_free(s);
        return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
    }
    size_t n = strlen(s->endpoint);
    while (n > 1 && s->endpoint[n - 1] == '/') s->endpoint[--n] = 0;
    n = strlen(s->cache);
    while (n > 1 && s->cache[n - 1] == '/') s->cache[--n] = 0;
    s->token = o && o->token ? o->token : getenv("HF_TOKEN");
    if (!s->token) s->token = s->token_from_file = token_file(s->alloc);
    s->revision = o && o->revision && *o->revision ? o->revision : "main";
    s->offline = (o && o->offline) || env_true(getenv("HF_HUB_OFFLINE"));
    return TLV_OK;
}

static tlv_status repo_dir(const struct settings *s, const char *model, char **out, tlv_err *err)
{
    if (!strcmp(s->revision, "main")) {
        *out = fmt_alloc(s->alloc, "%s/%s", s->cache, model);
    } else {
        char *rev = tlv__hub_escape(s->alloc, s->revision);
        *out = rev ? fmt_alloc(s->alloc, "%s/%s@%s", s->cache, model, rev) : NULL;
        tlv__free(s->alloc, rev);
    }
    return *out ? TLV_OK : tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
}

/* ------------------------------------------------------------------ manifest */

/* Whether dir holds a complete download: a manifest whose files all exist with their sizes.
 * repair: delete listed files whose size is wrong (only with the folder's lock held), so the
 * download that follows fetches them again instead of taking them as they are. */
static int manifest_complete(const tlv_allocator *a, const char *dir, int repair)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/" MANIFEST_NAME, dir) >= (int)sizeof path) return 0;
    char *text = NULL;
    if (read_small(a, path, &text, NULL) != TLV_OK) return 0;
    cJSON *root = cJSON_Parse(text);
    tlv__free(a, text);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
    int ok = cJSON_IsArray(files) && cJSON_GetArraySize(files) > 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, files) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(f, "name");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(f, "size");
        if (!cJSON_IsString(name) || !file_name_ok(name->valuestring) || !cJSON_IsNumber(size)) {
            ok = 0;
            break;
        }
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, name->valuestring) >= (int)sizeof path) ok = 0;
        else if (stat(path, &st) != 0) ok = 0;
        else if (!S_ISREG(st.st_mode) || (double)st.st_size != size->valuedouble) {
            ok = 0;
            if (repair) unlink(path);
        }
    }
    cJSON_Delete(root);
    return ok;
}

static tlv_status plan_add(struct plan *p, const char *repo, const char *name, const tlv_hub_file *f, tlv_err *err)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 32;
        struct entry *v = tlv__realloc(p->alloc, p->v, cap * sizeof *v);
        if (!v) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
        p->v = v;
        p->cap = cap;
    }
    struct entry *e = &p->v[p->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->repo, sizeof e->repo, "%s", repo);
    e->size = f->size;
    memcpy(e->sha256, f->sha256, sizeof e->sha256);
    return TLV_OK;
}

static int plan_has(const struct plan *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->v[i].name, name)) return 1;
    return 0;
}

/* Writes the manifest: to a temporary name, fsync, rename; it is the last file written. */
static tlv_status manifest_write(const struct settings *s, const char *model, const char *dir,
                                 const struct plan *p, tlv_err *err)
{
    char path[4096], tmp[4096 + 8];
    snprintf(path, sizeof path, "%s/" MANIFEST_NAME, dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cJSON *root = cJSON_CreateObject(), *files = cJSON_CreateArray();
    int ok = root && files;
    if (files && !cJSON_AddItemToObject(root, "files", files)) {
        cJSON_Delete(files);
        ok = 0;
    }
    ok = ok && cJSON_AddStringToObject(root, "repo", model) && cJSON_AddStringToObject(root, "revision", s->revision) &&
         cJSON_AddStringToObject(root, "commit", p->commit) && cJSON_AddStringToObject(root, "endpoint", s->endpoint) &&
         cJSON_AddStringToObject(root, "tokenizer_from", p->tokenizer_from);
    for (size_t i = 0; ok && i < p->n; i++) {
        cJSON *f = cJSON_CreateObject();
        ok = f && cJSON_AddItemToArray(files, f) && cJSON_AddStringToObject(f, "name", p->v[i].name) &&
             cJSON_AddStringToObject(f, "repo", p->v[i].repo) && cJSON_AddNumberToObject(f, "size", (double)p->v[i].size) &&
             (!p->v[i].sha256[0] || cJSON_AddStringToObject(f, "sha256", p->v[i].sha256));
    }
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory writing %s", path);
    tlv_status st = TLV_OK;
    FILE *f = fopen(tmp, "wb");
    size_t len = strlen(text);
    if (!f || fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        st = tlv__err_set(err, TLV_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    }
    if (f && fclose(f) != 0 && st == TLV_OK) st = tlv__err_set(err, TLV_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    if (st == TLV_OK && rename(tmp, path) != 0) st = tlv__err_set(err, TLV_ERR_IO, "cannot rename %s: %s", tmp, strerror(errno));
    if (st != TLV_OK) unlink(tmp);
    cJSON_free(text);
    return st;
}

/* ------------------------------------------------------------------ what to fetch */

/* The shard names of dir/model.safetensors.index.json's weight_map, each once, into p. */
static tlv_status fetch_shards(tlv_hub_client *c, const struct settings *s, const char *model, const char *dir,
                               struct plan *p, tlv_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    char *text = NULL;
    tlv_status st = read_small(s->alloc, path, &text, err);
    if (st != TLV_OK) return st;
    cJSON *root = cJSON_Parse(text);
    tlv__free(s->alloc, text);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map) || !map->child) {
        cJSON_Delete(root);
        unlink(path); /* useless as it is: fetch it again next time */
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s: expected a JSON object with a non-empty \"weight_map\"", path);
    }
    const cJSON *t;
    cJSON_ArrayForEach(t, map) {
        if (!cJSON_IsString(t) || !file_name_ok(t->valuestring)) {
            st = tlv__err_set(err, TLV_ERR_FORMAT, "%s: tensor '%s': expected a shard file name in the same folder, "
                              "found %s", path, t->string ? t->string : "?",
                              cJSON_IsString(t) ? t->valuestring : "a non-string");
            break;
        }
        if (plan_has(p, t->valuestring)) continue;
        tlv_hub_file f;
        st = tlv__hub_fetch(c, model, s->revision, t->valuestring, dir, 0, &f, err);
        if (st == TLV_OK) st = plan_add(p, model, t->valuestring, &f, err);
        if (st != TLV_OK) break;
    }
    cJSON_Delete(root);
    return st;
}

/* The repo config.json names for the tokenizer, or NULL (MODELS.md 2.1: tokenizer_name_or_path,
 * llm_model_name_or_path). */
static char *tokenizer_repo(const struct settings *s, const char *dir)
{
    char path[4096], *text = NULL, *out = NULL;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (read_small(s->alloc, path, &text, NULL) != TLV_OK) return NULL;
    cJSON *root = cJSON_Parse(text);
    tlv__free(s->alloc, text);
    static const char *const keys[] = {"tokenizer_name_or_path", "llm_model_name_or_path"};
    for (size_t i = 0; i < N_OF(keys) && !out; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
        if (cJSON_IsString(v) && tlv__hub_is_repo_id(v->valuestring)) out = tlv__strdup(s->alloc, v->valuestring);
    }
    cJSON_Delete(root);
    return out;
}

static int has_tokenizer(const struct plan *p)
{
    for (size_t i = 0; i < N_OF(k_tokenizer_core); i++)
        if (plan_has(p, k_tokenizer_core[i])) return 1;
    return 0;
}

/* Everything, small files first so that a missing or gated base tokenizer shows up before
 * gigabytes of weights. */
static tlv_status download(tlv_hub_client *c, const struct settings *s, const char *model, const char *dir,
                           struct plan *p, tlv_err *err)
{
    tlv_hub_file f;
    tlv_status st = tlv__hub_fetch(c, model, s->revision, "config.json", dir, 0, &f, err);
    if (st == TLV_OK) st = plan_add(p, model, "config.json", &f, err);
    if (st != TLV_OK) return st;
    tlv_hub_file index;
    st = tlv__hub_fetch(c, model, s->revision, "model.safetensors.index.json", dir, 1, &index, err);
    if (st == TLV_OK && index.present) st = plan_add(p, model, "model.safetensors.index.json", &index, err);
    for (size_t i = 0; st == TLV_OK && i < N_OF(k_extra_files); i++) {
        st = tlv__hub_fetch(c, model, s->revision, k_extra_files[i], dir, 1, &f, err);
        if (st == TLV_OK && f.present) st = plan_add(p, model, k_extra_files[i], &f, err);
    }
    if (st != TLV_OK) return st;

    if (!has_tokenizer(p)) {
        char *base = tokenizer_repo(s, dir);
        if (base) {
            snprintf(p->tokenizer_from, sizeof p->tokenizer_from, "%s", base);
            for (size_t i = 0; st == TLV_OK && i < N_OF(k_tokenizer_files); i++) {
                if (plan_has(p, k_tokenizer_files[i])) continue; /* the checkpoint's own wins */
                st = tlv__hub_fetch(c, base, "main", k_tokenizer_files[i], dir, 1, &f, err);
                if (st == TLV_OK && f.present) st = plan_add(p, base, k_tokenizer_files[i], &f, err);
            }
            if (st == TLV_OK && !has_tokenizer(p))
                st = tlv__err_set(err, TLV_ERR_NOT_FOUND, "%s has no tokenizer, and neither has %s, which its "
                                  "config.json names (no tokenizer.json, tokenizer.model or vocab.json)", model, base);
            if (st != TLV_OK) tlv__err_prefix(err, "tokenizer of %s from %s", model, base);
            tlv__free(s->alloc, base);
            if (st != TLV_OK) return st;
        }
    }

    if (index.present) return fetch_shards(c, s, model, dir, p, err);
    st = tlv__hub_fetch(c, model, s->revision, "model.safetensors", dir, 1, &f, err);
    if (st == TLV_OK && !f.present)
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s (revision %s) has neither model.safetensors nor "
                            "model.safetensors.index.json: only safetensors checkpoints are supported", model, s->revision);
    if (st == TLV_OK) st = plan_add(p, model, "model.safetensors", &f, err);
    return st;
}

/* ------------------------------------------------------------------ entry points */

tlv_status tlv__hub_cache_path(const char *model, const tlv_hub_options *o, char **local_dir, tlv_err *err)
{
    if (!local_dir) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "tlv__hub_cache_path: local_dir is NULL");
    *local_dir = NULL;
    if (!tlv__hub_is_repo_id(model))
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "'%s' is not a Hugging Face id (ORG/NAME)", model ? model : "(null)");
    struct settings s;
    tlv_status st = settings_load(o, &s, err);
    if (st == TLV_OK) st = repo_dir(&s, model, local_dir, err);
    settings_free(&s);
    return st;
}

/* libcurl's global state, reference counted by libcurl itself (see hub.h for the thread rule). */
int tlv__hub_curl_threadsafe(void)
{
#if defined(TLV_NO_CURL)
    return 1; /* no libcurl, nothing to initialise */
#elif defined(CURL_VERSION_THREADSAFE)
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    return v && (v->features & CURL_VERSION_THREADSAFE);
#else
    return 0;
#endif
}

tlv_status tlv__hub_resolve(const char *model, const tlv_hub_options *o, char **local_dir, tlv_err *err)
{
    if (!local_dir) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "tlv__hub_resolve: local_dir is NULL");
    *local_dir = NULL;
    if (!model || !*model) return tlv__err_set(err, TLV_ERR_INVALID_ARG, "tlv__hub_resolve: no model given");
    const tlv_allocator *a = o ? o->alloc : NULL;
    if (is_dir(model)) {
        *local_dir = tlv__strdup(a, model);
        return *local_dir ? TLV_OK : tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
    }
    struct stat st_model;
    if (stat(model, &st_model) == 0)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "%s is a file: expected a model folder or a Hugging Face id "
                            "(ORG/NAME)", model);
    if (!tlv__hub_is_repo_id(model))
        return tlv__err_set(err, TLV_ERR_NOT_FOUND, "%s: no such folder, and not a Hugging Face id (ORG/NAME)", model);

    struct settings s;
    tlv_status st = settings_load(o, &s, err);
    if (st != TLV_OK) return st;
    char *dir = NULL;
    int lock_fd = -1;
#ifndef TLV_NO_CURL
    int curl_inited = 0;
#endif
    tlv_hub_client c;
    memset(&c, 0, sizeof c);
    struct plan p;
    memset(&p, 0, sizeof p);
    p.alloc = a;

    st = repo_dir(&s, model, &dir, err);
    if (st != TLV_OK) goto out;
    if (manifest_complete(a, dir, 0)) goto done;
    if (s.offline) {
        st = tlv__err_set(err, TLV_ERR_NOT_FOUND, "%s: offline (HF_HUB_OFFLINE or the offline option) and no complete "
                          "cached copy in %s", model, dir);
        goto out;
    }
#ifdef TLV_NO_CURL
    /* TLV_WITH_CURL=OFF: a complete cached copy (above) or a folder is all this build can load. */
    st = tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: built without download support (TLV_WITH_CURL=OFF) and no "
                      "complete cached copy in %s: download the model and load its folder", model, dir);
    goto out;
#endif
    st = make_dirs(dir, err);
    if (st != TLV_OK) goto out;

    /* One downloader per folder; a second process waits here and then finds the manifest. */
    char lock_path[4096];
    snprintf(lock_path, sizeof lock_path, "%s/.lock", dir);
    lock_fd = open(lock_path, O_RDWR | O_CREAT, 0644);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
        st = tlv__err_set(err, TLV_ERR_IO, "cannot lock %s: %s", lock_path, strerror(errno));
        goto out;
    }
    if (manifest_complete(a, dir, 1)) goto done;

#ifndef TLV_NO_CURL
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        st = tlv__err_set(err, TLV_ERR_NETWORK, "curl_global_init failed");
        goto out;
    }
    curl_inited = 1;
#endif
    st = tlv__hub_client_init(&c, o, s.endpoint, s.token, err);
    if (st == TLV_OK) st = download(&c, &s, model, dir, &p, err);
    if (st == TLV_OK) {
        memcpy(p.commit, c.commit, sizeof p.commit);
        st = manifest_write(&s, model, dir, &p, err);
    }
    if (st != TLV_OK && c.unreachable && err) {
        char msg[TLV_ERRMSG_MAX];
        memcpy(msg, err->msg, sizeof msg);
        tlv__err_set(err, st, "%s; no cached copy of %s in %s", msg, model, dir);
    }
    if (st != TLV_OK) goto out;
done:
    *local_dir = dir;
    dir = NULL;
out:
    tlv__hub_client_cleanup(&c);
#ifndef TLV_NO_CURL
    if (curl_inited) curl_global_cleanup();
#endif
    if (lock_fd >= 0) close(lock_fd); /* releases the flock */
    tlv__free(a, p.v);
    tlv__free(a, dir);
    settings_free(&s);
    return st;
}
