/* tlv__hub_resolve against a local fake hub (fake_hub.py, run with /usr/bin/python3 on 127.0.0.1):
 * fresh download, cache hit with the server stopped, offline mode, resume within a call and
 * across calls, a stale part, corruption, 401/403/404, HF_TOKEN, unreachable endpoint, shards,
 * the tokenizer from the base repo, cancellation, no space left, bad index, allocation failures.
 * The downloads are compared byte for byte with the files the server wrote (ROOT/repos/). */
#define _DEFAULT_SOURCE /* mkdtemp, setenv, kill under -std=c11 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "hub/hub.h"

#define PYTHON "/usr/bin/python3"
#define SERVER TLV_TEST_DATA "/hub/fake_hub.py"

static char g_root[256];      /* temporary folder of this run */
static char g_endpoint[64];   /* http://127.0.0.1:PORT */
static pid_t g_server = -1;
static int g_n_cache;

/* ------------------------------------------------------------------ server */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int server_start(void)
{
    int port = 0;
    int pid = tlv_test_fake_hub_start(PYTHON, SERVER, g_root, 170, &port);
    if (pid < 0) return 0;
    g_server = pid;
    snprintf(g_endpoint, sizeof g_endpoint, "http://127.0.0.1:%d", port);
    return 1;
}

static void server_stop(void)
{
    tlv_test_fake_hub_stop(g_server);
    g_server = -1;
}

struct buf {
    char *p;
    size_t n;
};

static size_t buf_write(char *d, size_t s, size_t n, void *ud)
{
    struct buf *b = ud;
    char *p = realloc(b->p, b->n + s * n + 1);
    if (!p) return 0;
    memcpy(p + b->n, d, s * n);
    b->p = p;
    b->n += s * n;
    p[b->n] = 0;
    return s * n;
}

/* GET {endpoint}{path} (a /_ctl/ request); returns the malloc'ed body or NULL. */
static char *ctl(const char *path)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", g_endpoint, path);
    struct buf b = {0};
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        free(b.p);
        return NULL;
    }
    return b.p ? b.p : calloc(1, 1);
}

static void ctl_reset(void) { free(ctl("/_ctl/reset")); }

/* Requests in the server log whose path contains `path`; *with_range those that carried a
 * Range header, last_range the last Range value seen. */
static int count_requests_auth(const char *path, int *with_range, char *last_range, size_t cap, int *with_auth)
{
    char *text = ctl("/_ctl/log");
    cJSON *log = text ? cJSON_Parse(text) : NULL;
    free(text);
    int n = 0, nr = 0, na = 0;
    if (last_range) last_range[0] = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, log) {
        const cJSON *p = cJSON_GetObjectItem(e, "path"), *r = cJSON_GetObjectItem(e, "range");
        if (!cJSON_IsString(p) || !strstr(p->valuestring, path)) continue;
        n++;
        na += cJSON_IsString(cJSON_GetObjectItem(e, "auth"));
        if (cJSON_IsString(r)) {
            nr++;
            if (last_range) snprintf(last_range, cap, "%s", r->valuestring);
        }
    }
    cJSON_Delete(log);
    if (with_range) *with_range = nr;
    if (with_auth) *with_auth = na;
    return n;
}

static int count_requests(const char *path, int *with_range, char *last_range, size_t cap)
{
    return count_requests_auth(path, with_range, last_range, cap, NULL);
}

/* ------------------------------------------------------------------ files */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static long file_size(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* dir/name equals ROOT/repos/repo/name, byte for byte. */
static int same_file(const char *dir, const char *name, const char *repo)
{
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/%s", dir, name);
    snprintf(b, sizeof b, "%s/repos/%s/%s", g_root, repo, name);
    size_t na = 0, nb = 0;
    char *pa = tlv_test_read_file(a, &na), *pb = tlv_test_read_file(b, &nb);
    int same = pa && pb && na == nb && !memcmp(pa, pb, na);
    if (!same) fprintf(stderr, "  %s (%zu bytes) differs from %s (%zu bytes)\n", a, na, b, nb);
    free(pa);
    free(pb);
    return same;
}

static int exists_in(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return file_size(p) >= 0;
}

/* dir (made with its parents) gets file name holding n zero bytes, or, if link_to, a symlink. */
static int put_file(const char *dir, const char *name, long n, const char *link_to)
{
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        mkdir(p, 0755);
        *q = '/';
    }
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s", dir, name);
    if (link_to) return symlink(link_to, p) == 0;
    FILE *f = fopen(p, "wb");
    if (!f) return 0;
    for (long i = 0; i < n; i++) fputc(0, f);
    return fclose(f) == 0;
}

static char *new_cache(void)
{
    static char paths[64][300];
    char *p = paths[g_n_cache++ % 64];
    snprintf(p, 300, "%s/cache%d", g_root, g_n_cache);
    return p;
}

static tlv_hub_options opts(const char *cache)
{
    tlv_hub_options o;
    memset(&o, 0, sizeof o);
    o.cache_dir = cache;
    o.endpoint = g_endpoint;
    o.token = ""; /* none, whatever the environment says */
    return o;
}

/* Resolves and returns the status; *dir (malloc'ed) on success. */
static tlv_status resolve(const char *model, const tlv_hub_options *o, char **dir, tlv_err *e)
{
    tlv__err_clear(e);
    char *d = NULL;
    tlv_status st = tlv__hub_resolve(model, o, &d, e);
    if (st != TLV_OK) CHECK(d == NULL);
    if (dir) *dir = d;
    else free(d);
    return st;
}

/* ------------------------------------------------------------------ progress */

struct progress {
    int calls;
    int cancel_file_calls;   /* calls for cancel_file */
    const char *cancel_file; /* cancel when this file has done >= cancel_at */
    uint64_t cancel_at;
    uint64_t last_done, last_total;
    char last_file[128];
    int monotonic_violations;
};

static int on_progress(void *ud, const char *repo, const char *file, uint64_t done, uint64_t total)
{
    struct progress *p = ud;
    (void)repo;
    if (!strcmp(p->last_file, file) && done < p->last_done) p->monotonic_violations++;
    snprintf(p->last_file, sizeof p->last_file, "%s", file);
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    if (p->cancel_file && !strcmp(file, p->cancel_file)) {
        p->cancel_file_calls++;
        if (done >= p->cancel_at) return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ scenarios */

static void test_ids_and_dirs(void)
{
    CHECK(tlv__hub_is_repo_id("tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B"));
    CHECK(tlv__hub_is_repo_id("Zhang199/TinyLLaVA-Qwen2.5-3B-SigLIP"));
    CHECK(tlv__hub_is_repo_id("a/b"));
    CHECK(!tlv__hub_is_repo_id("gpt2"));
    CHECK(!tlv__hub_is_repo_id("a/b/c"));
    CHECK(!tlv__hub_is_repo_id("/a/b"));
    CHECK(!tlv__hub_is_repo_id("a/"));
    CHECK(!tlv__hub_is_repo_id("./x"));
    CHECK(!tlv__hub_is_repo_id("a/.."));
    CHECK(!tlv__hub_is_repo_id("a/b..c"));
    CHECK(!tlv__hub_is_repo_id("a b/c"));
    CHECK(!tlv__hub_is_repo_id("tiny/caf\xc3\xa9"));
    CHECK(!tlv__hub_is_repo_id(NULL));

    tlv_err e;
    char *d = NULL;
    tlv_hub_options o = opts(new_cache());
    CHECK_EQ_INT(resolve(TLV_TEST_DATA "/hub", &o, &d, &e), TLV_OK); /* a folder is itself */
    CHECK_EQ_STR(d, TLV_TEST_DATA "/hub");
    free(d);
    CHECK_EQ_INT(resolve("no-such-folder", &o, NULL, &e), TLV_ERR_NOT_FOUND);
    CHECK_CONTAINS(e.msg, "no-such-folder: no such folder, and not a Hugging Face id");
    CHECK_EQ_INT(resolve("", &o, NULL, &e), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(resolve(SERVER, &o, NULL, &e), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(e.msg, "fake_hub.py is a file: expected a model folder or a Hugging Face id");
    CHECK_EQ_INT(tlv__hub_resolve("a/b", &o, NULL, &e), TLV_ERR_INVALID_ARG);

    o.revision = "refs/pr/1";
    CHECK_EQ_INT(tlv__hub_cache_path("tiny/single", &o, &d, &e), TLV_OK);
    char want[512];
    snprintf(want, sizeof want, "%s/tiny/single@refs%%2Fpr%%2F1", o.cache_dir);
    CHECK_EQ_STR(d, want);
    free(d);

    /* Defaults from the environment. */
    setenv("TINYLLAVA_CACHE", "/tmp/tlvcache/", 1);
    CHECK_EQ_INT(tlv__hub_cache_path("o/n", NULL, &d, &e), TLV_OK);
    CHECK_EQ_STR(d, "/tmp/tlvcache/o/n");
    free(d);
    unsetenv("TINYLLAVA_CACHE");
    setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
    CHECK_EQ_INT(tlv__hub_cache_path("o/n", NULL, &d, &e), TLV_OK);
    CHECK_EQ_STR(d, "/tmp/xdg/tinyllava/o/n");
    free(d);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/tmp/home", 1);
    CHECK_EQ_INT(tlv__hub_cache_path("o/n", NULL, &d, &e), TLV_OK);
    CHECK_EQ_STR(d, "/tmp/home/.cache/tinyllava/o/n");
    free(d);
    CHECK_EQ_INT(tlv__hub_cache_path("o", NULL, &d, &e), TLV_ERR_INVALID_ARG);
}

/* Fresh download, then the cache alone (server stopped), offline and not. */
static void test_fresh_then_cache(void)
{
    const char *cache = new_cache();
    tlv_hub_options o = opts(cache);
    struct progress pr = {0};
    o.progress = on_progress;
    o.progress_user = &pr;
    tlv_err e;
    char *d = NULL;
    ctl_reset();
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    if (e.msg[0]) fprintf(stderr, "  %s\n", e.msg);
    char want[512];
    snprintf(want, sizeof want, "%s/tiny/single", cache);
    CHECK_EQ_STR(d, want);
    static const char *const files[] = {"config.json", "generation_config.json", "vocab.json", "merges.txt",
                                        "tokenizer_config.json", "special_tokens_map.json", "model.safetensors"};
    for (size_t i = 0; d && i < sizeof files / sizeof files[0]; i++) CHECK(same_file(d, files[i], "tiny/single"));
    CHECK(d && !exists_in(d, "tokenizer.json"));   /* optional, absent on the hub */
    CHECK(d && !exists_in(d, "README.md"));        /* not needed */
    CHECK(d && !exists_in(d, "model.safetensors.part"));
    CHECK(d && exists_in(d, ".tinyllava-download.json"));
    CHECK(pr.calls > 0);
    CHECK_EQ_INT(pr.monotonic_violations, 0);
    CHECK_EQ_STR(pr.last_file, "model.safetensors");
    CHECK_EQ_INT(pr.last_done, 300000);
    CHECK_EQ_INT(pr.last_total, 300000);
    CHECK_EQ_INT(count_requests("/cdn/", NULL, NULL, 0), 1); /* the LFS file went through the redirect */

    /* The manifest says what came from where. */
    char mpath[600];
    snprintf(mpath, sizeof mpath, "%s/.tinyllava-download.json", d ? d : "");
    char *mtext = tlv_test_read_file(mpath, NULL);
    cJSON *m = mtext ? cJSON_Parse(mtext) : NULL;
    free(mtext);
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "commit")), "0123456789abcdef0123456789abcdef01234567");
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "repo")), "tiny/single");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(m, "files")), 7);
    int found_sha = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(m, "files")) {
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f, "name")), "model.safetensors"))
            found_sha = cJSON_IsString(cJSON_GetObjectItem(f, "sha256"));
    }
    CHECK(found_sha);
    cJSON_Delete(m);
    free(d);

    /* A second call needs no request at all. */
    ctl_reset();
    CHECK_EQ_INT(resolve("tiny/single", &o, NULL, &e), TLV_OK);
    CHECK_EQ_INT(count_requests("/", NULL, NULL, 0), 1); /* only the log request itself */

    /* Server gone: the cache still works, with and without the offline switch. */
    server_stop();
    o.progress = NULL;
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    CHECK_EQ_STR(d, want);
    free(d);
    o.offline = 1;
    CHECK_EQ_INT(resolve("tiny/single", &o, NULL, &e), TLV_OK);
    CHECK_EQ_INT(resolve("tiny/sharded", &o, NULL, &e), TLV_ERR_NOT_FOUND);
    CHECK_CONTAINS(e.msg, "tiny/sharded: offline");
    CHECK_CONTAINS(e.msg, cache);
    o.offline = 0;
    setenv("HF_HUB_OFFLINE", "1", 1);
    CHECK_EQ_INT(resolve("tiny/sharded", &o, NULL, &e), TLV_ERR_NOT_FOUND);
    CHECK_CONTAINS(e.msg, "offline");
    CHECK_EQ_INT(resolve("tiny/single", &o, NULL, &e), TLV_OK);
    unsetenv("HF_HUB_OFFLINE");

    /* Not cached and no server: say so. */
    CHECK_EQ_INT(resolve("tiny/sharded", &o, NULL, &e), TLV_ERR_NETWORK);
    char msg[600];
    snprintf(msg, sizeof msg, "cannot reach %s: ", g_endpoint);
    CHECK_CONTAINS(e.msg, msg);
    snprintf(msg, sizeof msg, "no cached copy of tiny/sharded in %s/tiny/sharded", cache);
    CHECK_CONTAINS(e.msg, msg);

    /* A truncated cached file makes the cache incomplete again (and is not taken as it is). */
    char path[600];
    snprintf(path, sizeof path, "%s/tiny/single/model.safetensors", cache);
    CHECK_EQ_INT(truncate(path, 1000), 0);
    CHECK_EQ_INT(resolve("tiny/single", &o, NULL, &e), TLV_ERR_NETWORK);
    CHECK_CONTAINS(e.msg, "cannot reach");
    CHECK(server_start());
    o.endpoint = g_endpoint; /* new port */
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    CHECK(d && same_file(d, "model.safetensors", "tiny/single"));
    free(d);
}

/* An endpoint where nothing listens. */
static void test_unreachable(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(s, (struct sockaddr *)&a, &len) == 0);
    close(s);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", ntohs(a.sin_port));
    tlv_hub_options o = opts(new_cache());
    o.endpoint = ep;
    tlv_err e;
    time_t t0 = time(NULL);
    CHECK_EQ_INT(resolve("tiny/single", &o, NULL, &e), TLV_ERR_NETWORK);
    CHECK(time(NULL) - t0 < 5); /* refused is not retried */
    char want[300];
    snprintf(want, sizeof want, "cannot reach %s: ", ep);
    CHECK_CONTAINS(e.msg, want);
    CHECK_CONTAINS(e.msg, "no cached copy of tiny/single in ");
}

static void test_sharded(void)
{
    tlv_hub_options o = opts(new_cache());
    tlv_err e;
    char *d = NULL;
    CHECK_EQ_INT(resolve("tiny/sharded", &o, &d, &e), TLV_OK);
    if (e.msg[0]) fprintf(stderr, "  %s\n", e.msg);
    CHECK(d && same_file(d, "model.safetensors.index.json", "tiny/sharded"));
    CHECK(d && same_file(d, "model-00001-of-00002.safetensors", "tiny/sharded"));
    CHECK(d && same_file(d, "model-00002-of-00002.safetensors", "tiny/sharded"));
    CHECK(d && same_file(d, "tokenizer.json", "tiny/sharded"));
    CHECK(d && !exists_in(d, "model.safetensors"));
    free(d);
}

/* The connection breaks after N bytes: resumed with a Range, within the call or by the next. */
static void test_resume(void)
{
    tlv_hub_options o = opts(new_cache());
    tlv_err e;
    char *d = NULL, range[64];
    int n_range = 0;
    ctl_reset();
    free(ctl("/_ctl/rule?path=tiny/single/model.safetensors&cut=100000&times=1"));
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    if (e.msg[0]) fprintf(stderr, "  %s\n", e.msg);
    CHECK(d && same_file(d, "model.safetensors", "tiny/single"));
    CHECK_EQ_INT(count_requests("/cdn/", &n_range, range, sizeof range), 2);
    CHECK_EQ_INT(n_range, 1);
    CHECK_EQ_STR(range, "bytes=100000-");
    free(d);

    /* No retries: the call fails, keeps the part, the next call resumes it. */
    o = opts(new_cache());
    o.max_retries = -1;
    ctl_reset();
    free(ctl("/_ctl/rule?path=tiny/single/model.safetensors&cut=120000&times=1"));
    CHECK_EQ_INT(resolve("tiny/single", &o, NULL, &e), TLV_ERR_NETWORK);
    CHECK_CONTAINS(e.msg, "tiny/single/model.safetensors: download failed after 1 attempt");
    CHECK_CONTAINS(e.msg, "run again to resume");
    char part[600];
    snprintf(part, sizeof part, "%s/tiny/single/model.safetensors.part", o.cache_dir);
    CHECK_EQ_INT(file_size(part), 120000);
    CHECK(!exists_in(o.cache_dir, "tiny/single/model.safetensors"));
    CHECK(!exists_in(o.cache_dir, "tiny/single/.tinyllava-download.json"));
    ctl_reset();
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    CHECK(d && same_file(d, "model.safetensors", "tiny/single"));
    CHECK_EQ_INT(count_requests("/cdn/", &n_range, range, sizeof range), 1);
    CHECK_EQ_STR(range, "bytes=120000-");
    CHECK_EQ_INT(file_size(part), -1);
    free(d);

    /* A stale part (other bytes): the resumed file fails its sha256, then one fresh download. */
    o = opts(new_cache());
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tiny/single", o.cache_dir);
    CHECK_EQ_INT(tlv__hub_cache_path("tiny/single", &o, &d, &e), TLV_OK);
    CHECK_EQ_STR(d, dir);
    free(d);
    CHECK(put_file(dir, "model.safetensors.part", 5000, NULL));
    ctl_reset();
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    CHECK(d && same_file(d, "model.safetensors", "tiny/single"));
    CHECK_EQ_INT(count_requests("/cdn/", &n_range, NULL, 0), 2);
    CHECK_EQ_INT(n_range, 1);
    free(d);

    /* A part as long as the file: 416, discarded, downloaded again. */
    o = opts(new_cache());
    snprintf(dir, sizeof dir, "%s/tiny/single", o.cache_dir);
    CHECK(put_file(dir, "model.safetensors.part", 300000, NULL));
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    CHECK(d && same_file(d, "model.safetensors", "tiny/single"));
    free(d);
}

static void test_corrupt(void)
{
    tlv_hub_options o = opts(new_cache());
    tlv_err e;
    char *d = NULL;
    ctl_reset();
    free(ctl("/_ctl/rule?path=tiny/single/model.safetensors&corrupt=1&times=-1"));
    CHECK_EQ_INT(resolve("tiny/single", &o, NULL, &e), TLV_ERR_FORMAT);
    CHECK_CONTAINS(e.msg, "tiny/single/model.safetensors: sha256 mismatch: the hub announced "
                          "6edf90530215a4eb6e9e91e32d961c38e962bb2e4226dd4d1370b0e20822fdb0");
    CHECK(!exists_in(o.cache_dir, "tiny/single/model.safetensors"));
    CHECK(!exists_in(o.cache_dir, "tiny/single/model.safetensors.part"));
    CHECK(!exists_in(o.cache_dir, "tiny/single/.tinyllava-download.json"));
    ctl_reset();
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    CHECK(d && same_file(d, "model.safetensors", "tiny/single"));
    free(d);
}

static void test_http_errors(void)
{
    tlv_hub_options o = opts(new_cache());
    tlv_err e;
    char *d = NULL;
    /* The CDN refuses once (an expired signed URL): asked again through the hub. Always: error. */
    ctl_reset();
    free(ctl("/_ctl/rule?path=tiny/single/model.safetensors&status=403&times=1"));
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    CHECK(d && same_file(d, "model.safetensors", "tiny/single"));
    CHECK_EQ_INT(count_requests("/cdn/", NULL, NULL, 0), 2);
    free(d);
    o = opts(new_cache());
    o.max_retries = 1;
    free(ctl("/_ctl/rule?path=tiny/single/model.safetensors&status=403&times=-1"));
    CHECK_EQ_INT(resolve("tiny/single", &o, NULL, &e), TLV_ERR_NETWORK);
    CHECK_CONTAINS(e.msg, "tiny/single/model.safetensors: the file server the hub redirected to refused the "
                          "download (HTTP 403: <Error>");
    ctl_reset();
    o = opts(new_cache());
    /* No token: the hub cannot tell missing from private, and says 401. */
    CHECK_EQ_INT(resolve("tiny/doesnotexist", &o, NULL, &e), TLV_ERR_NETWORK);
    CHECK_CONTAINS(e.msg, "tiny/doesnotexist: HTTP 401");
    CHECK_CONTAINS(e.msg, "RepoNotFound");
    CHECK_CONTAINS(e.msg, "does not exist, or it is private or gated and needs a token: set HF_TOKEN");
    /* With a token: 404. */
    o.token = "other-token";
    CHECK_EQ_INT(resolve("tiny/doesnotexist", &o, NULL, &e), TLV_ERR_NOT_FOUND);
    CHECK_CONTAINS(e.msg, "model tiny/doesnotexist does not exist on http://127.0.0.1:");
    /* Private/gated repo. */
    o.token = "";
    CHECK_EQ_INT(resolve("tiny/private", &o, NULL, &e), TLV_ERR_NETWORK);
    CHECK_CONTAINS(e.msg, "tiny/private: HTTP 401");
    CHECK_CONTAINS(e.msg, "GatedRepo");
    CHECK_CONTAINS(e.msg, "set HF_TOKEN");
    o.token = "other-token";
    CHECK_EQ_INT(resolve("tiny/private", &o, NULL, &e), TLV_ERR_NETWORK);
    CHECK_CONTAINS(e.msg, "HTTP 403");
    CHECK_CONTAINS(e.msg, "the token has no access");
    o.token = "wrong";
    CHECK_EQ_INT(resolve("tiny/private", &o, NULL, &e), TLV_ERR_NETWORK);
    CHECK_CONTAINS(e.msg, "Invalid credentials in Authorization header");
    CHECK_CONTAINS(e.msg, "the token in HF_TOKEN was rejected");
    /* HF_TOKEN from the environment, sent as a Bearer token. */
    o.token = NULL;
    setenv("HF_TOKEN", "secret-token", 1);
    ctl_reset();
    CHECK_EQ_INT(resolve("tiny/private", &o, &d, &e), TLV_OK);
    if (e.msg[0]) fprintf(stderr, "  %s\n", e.msg);
    CHECK(d && same_file(d, "model.safetensors", "tiny/private"));
    free(d);
    int n_auth = -1;
    CHECK_EQ_INT(count_requests_auth("/tiny/private/resolve/main/", NULL, NULL, 0, &n_auth), 12);
    CHECK_EQ_INT(n_auth, 12);           /* the hub gets the token... */
    CHECK_EQ_INT(count_requests_auth("/cdn/", NULL, NULL, 0, &n_auth), 1);
    CHECK_EQ_INT(n_auth, 0);            /* ...the CDN (another host) does not */
    unsetenv("HF_TOKEN");
    /* The token file huggingface-cli login writes ($HF_HOME/token), when HF_TOKEN is not set. */
    char hf_home[300], token_path[320];
    snprintf(hf_home, sizeof hf_home, "%s/hf_home", g_root);
    snprintf(token_path, sizeof token_path, "%s/token", hf_home);
    CHECK(put_file(hf_home, "token", 0, NULL));
    FILE *tf = fopen(token_path, "w");
    if (tf) {
        fputs("  secret-token\n", tf);
        fclose(tf);
    }
    setenv("HF_HOME", hf_home, 1);
    o.cache_dir = new_cache();
    CHECK_EQ_INT(resolve("tiny/private", &o, NULL, &e), TLV_OK);
    o.token = ""; /* "" means none, whatever the file says */
    o.cache_dir = new_cache();
    CHECK_EQ_INT(resolve("tiny/private", &o, NULL, &e), TLV_ERR_NETWORK);
    unsetenv("HF_HOME");

    /* Revision that does not exist; one that does, in its own folder. */
    o.revision = "v9";
    CHECK_EQ_INT(resolve("tiny/single", &o, NULL, &e), TLV_ERR_NOT_FOUND);
    CHECK_CONTAINS(e.msg, "tiny/single has no revision 'v9'");
    o.revision = "refs/pr/1";
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    CHECK_CONTAINS(d, "/tiny/single@refs%2Fpr%2F1");
    CHECK(d && same_file(d, "model.safetensors", "tiny/single"));
    free(d);
    o.revision = NULL;

    /* No safetensors. */
    CHECK_EQ_INT(resolve("tiny/pt", &o, NULL, &e), TLV_ERR_UNSUPPORTED);
    CHECK_CONTAINS(e.msg, "tiny/pt (revision main) has neither model.safetensors nor model.safetensors.index.json");
    /* An index naming a file outside the folder. */
    CHECK_EQ_INT(resolve("tiny/badindex", &o, NULL, &e), TLV_ERR_FORMAT);
    CHECK_CONTAINS(e.msg, "tensor 'a': expected a shard file name in the same folder, found ../evil.safetensors");
    CHECK(!exists_in(o.cache_dir, "tiny/evil.safetensors"));
    /* A renamed repo: the hub's relative 307 is followed. */
    CHECK_EQ_INT(resolve("tiny/oldname", &o, &d, &e), TLV_OK);
    CHECK(d && same_file(d, "model.safetensors", "tiny/single"));
    free(d);
    /* HF_ENDPOINT from the environment (trailing '/' tolerated). */
    char ep[80];
    snprintf(ep, sizeof ep, "%s/", g_endpoint);
    setenv("HF_ENDPOINT", ep, 1);
    o = opts(new_cache());
    o.endpoint = NULL;
    CHECK_EQ_INT(resolve("tiny/notok", &o, NULL, &e), TLV_OK);
    unsetenv("HF_ENDPOINT");
}

/* OpenELM/Gemma-like checkpoints: the tokenizer comes from the repo config.json names. */
static void test_base_tokenizer(void)
{
    tlv_hub_options o = opts(new_cache());
    tlv_err e;
    char *d = NULL;
    CHECK_EQ_INT(resolve("tiny/notok", &o, &d, &e), TLV_OK);
    if (e.msg[0]) fprintf(stderr, "  %s\n", e.msg);
    CHECK(d && same_file(d, "tokenizer.model", "base/llm"));
    CHECK(d && same_file(d, "tokenizer.json", "base/llm"));
    CHECK(d && same_file(d, "tokenizer_config.json", "base/llm"));
    CHECK(d && same_file(d, "special_tokens_map.json", "tiny/notok")); /* the checkpoint's own wins */
    CHECK(d && same_file(d, "model.safetensors", "tiny/notok"));
    CHECK(d && !exists_in(d, "generation_config.json")); /* only tokenizer files from the base */
    char mpath[600];
    snprintf(mpath, sizeof mpath, "%s/.tinyllava-download.json", d ? d : "");
    char *mtext = tlv_test_read_file(mpath, NULL);
    cJSON *m = mtext ? cJSON_Parse(mtext) : NULL;
    free(mtext);
    CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "tokenizer_from")), "base/llm");
    const cJSON *f;
    int n_from_base = 0;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(m, "files"))
        n_from_base += !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f, "repo")), "base/llm");
    CHECK_EQ_INT(n_from_base, 3);
    cJSON_Delete(m);
    free(d);

    /* The base repo is gated (Gemma, Llama): said before any weights are fetched. */
    CHECK_EQ_INT(resolve("tiny/gatedbase", &o, NULL, &e), TLV_ERR_NETWORK);
    CHECK_CONTAINS(e.msg, "tokenizer of tiny/gatedbase from tiny/private: tiny/private: HTTP 401");
    CHECK_CONTAINS(e.msg, "set HF_TOKEN");
    CHECK(!exists_in(o.cache_dir, "tiny/gatedbase/model.safetensors"));
    o.token = "secret-token";
    CHECK_EQ_INT(resolve("tiny/gatedbase", &o, &d, &e), TLV_OK);
    CHECK(d && same_file(d, "vocab.json", "tiny/private"));
    CHECK(d && same_file(d, "merges.txt", "tiny/private"));
    CHECK(d && same_file(d, "model.safetensors", "tiny/gatedbase"));
    free(d);
    o.token = "";

    /* tokenizer_name_or_path is a local path: llm_model_name_or_path is used. */
    CHECK_EQ_INT(resolve("tiny/llmname", &o, &d, &e), TLV_OK);
    CHECK(d && same_file(d, "tokenizer.model", "base/llm"));
    CHECK(d && same_file(d, "special_tokens_map.json", "base/llm"));
    free(d);
}

static void test_cancel(void)
{
    tlv_hub_options o = opts(new_cache());
    struct progress pr = {0};
    pr.cancel_file = "model.safetensors";
    pr.cancel_at = 32768;
    o.progress = on_progress;
    o.progress_user = &pr;
    tlv_err e;
    char *d = NULL;
    ctl_reset();
    free(ctl("/_ctl/rule?path=tiny/single/model.safetensors&delay=0.02&times=1"));
    CHECK_EQ_INT(resolve("tiny/single", &o, NULL, &e), TLV_ERR_CANCELLED);
    CHECK_CONTAINS(e.msg, "tiny/single/model.safetensors: download cancelled by the progress callback");
    char part[600];
    snprintf(part, sizeof part, "%s/tiny/single/model.safetensors.part", o.cache_dir);
    long kept = file_size(part);
    CHECK(kept >= 32768 && kept < 300000);
    CHECK(!exists_in(o.cache_dir, "tiny/single/model.safetensors"));
    /* Resumed by the next call. */
    pr.cancel_file = NULL;
    ctl_reset();
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    CHECK(d && same_file(d, "model.safetensors", "tiny/single"));
    int n_range = 0;
    CHECK_EQ_INT(count_requests("/cdn/", &n_range, NULL, 0), 1);
    CHECK_EQ_INT(n_range, 1);
    free(d);
}

/* ENOSPC: the part file is a link to /dev/full, where every write fails with ENOSPC. */
static void test_no_space(void)
{
    if (access("/dev/full", W_OK) != 0) return;
    tlv_hub_options o = opts(new_cache());
    char dir[600];
    snprintf(dir, sizeof dir, "%s/tiny/single", o.cache_dir);
    CHECK(put_file(dir, "model.safetensors.part", 0, "/dev/full"));
    tlv_err e;
    CHECK_EQ_INT(resolve("tiny/single", &o, NULL, &e), TLV_ERR_IO);
    CHECK_CONTAINS(e.msg, "tiny/single/model.safetensors: writing ");
    CHECK_CONTAINS(e.msg, "No space left on device");
    CHECK(!exists_in(dir, "model.safetensors"));
}

/* Every allocation failing in turn: a clean error or success, nothing leaked. */
static void test_alloc_failures(void)
{
    int n_ok = 0, n_fail = 0;
    for (long k = 0; k < 200 && !n_ok; k++) {
        const char *cache = new_cache(); /* a fresh download each time: every allocation fails once */
        tlv_allocator a;
        tlv_test_failing_alloc st;
        tlv_test_failing_alloc_init(&a, &st, k);
        tlv_hub_options o = opts(cache);
        o.alloc = &a;
        tlv_err e;
        char *d = NULL;
        tlv_status s = tlv__hub_resolve("tiny/sharded", &o, &d, &e);
        if (s == TLV_OK) {
            n_ok++;
            tlv__free(&a, d);
        } else {
            n_fail++;
            CHECK_EQ_INT(s, TLV_ERR_NO_MEMORY);
            CHECK(d == NULL);
        }
        CHECK_EQ_INT(st.live, 0);
    }
    CHECK(n_ok == 1 && n_fail > 10);
    fprintf(stderr, "  download succeeded once %d allocations succeeded\n", n_fail);
    /* And the cache hit path. */
    const char *cache = new_cache();
    tlv_hub_options o = opts(cache);
    tlv_err e;
    CHECK_EQ_INT(resolve("tiny/sharded", &o, NULL, &e), TLV_OK);
    for (long k = 0; k < 20; k++) {
        tlv_allocator a;
        tlv_test_failing_alloc st;
        tlv_test_failing_alloc_init(&a, &st, k);
        o.alloc = &a;
        char *d = NULL;
        tlv_status s = tlv__hub_resolve("tiny/sharded", &o, &d, &e);
        CHECK(s == TLV_OK || s == TLV_ERR_NO_MEMORY);
        if (s == TLV_OK) tlv__free(&a, d);
        CHECK_EQ_INT(st.live, 0);
    }
}

/* Two processes pull the same model: the second waits on the folder's lock and then uses what
 * the first downloaded (one CDN request). Two threads pull different models at once. */
struct job {
    const char *model;
    tlv_hub_options o;
    tlv_status st;
};

static void *run_job(void *ud)
{
    struct job *j = ud;
    tlv_err e;
    j->st = resolve(j->model, &j->o, NULL, &e);
    if (j->st != TLV_OK) fprintf(stderr, "  %s: %s\n", j->model, e.msg);
    return NULL;
}

static void test_concurrent(void)
{
    tlv_hub_options o = opts(new_cache());
    ctl_reset();
    free(ctl("/_ctl/rule?path=tiny/single/model.safetensors&delay=0.01&times=1"));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        tlv_err e;
        char *d = NULL;
        _exit(tlv__hub_resolve("tiny/single", &o, &d, &e) == TLV_OK ? 0 : 1);
    }
    sleep_ms(30);
    tlv_err e;
    char *d = NULL;
    CHECK_EQ_INT(resolve("tiny/single", &o, &d, &e), TLV_OK);
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(d && same_file(d, "model.safetensors", "tiny/single"));
    CHECK_EQ_INT(count_requests("/cdn/", NULL, NULL, 0), 1);
    free(d);

    struct job jobs[3] = {{"tiny/single", opts(new_cache()), TLV_OK},
                          {"tiny/sharded", opts(new_cache()), TLV_OK},
                          {"tiny/notok", opts(new_cache()), TLV_OK}};
    pthread_t th[3];
    for (int i = 0; i < 3; i++) CHECK(pthread_create(&th[i], NULL, run_job, &jobs[i]) == 0);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(jobs[i].st, TLV_OK);
}

static void cleanup(void)
{
    server_stop();
    if (g_root[0]) nftw(g_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    if (access(PYTHON, X_OK) != 0) {
        return tlv_test_skip("test_hub", PYTHON " not found");
    }
    /* Nothing from the caller's environment: no proxy for 127.0.0.1, no token, no offline. */
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    static const char *const unset[] = {"HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE", "TINYLLAVA_CACHE",
                                        "XDG_CACHE_HOME", "HF_HOME", "HF_TOKEN_PATH"};
    for (size_t i = 0; i < sizeof unset / sizeof unset[0]; i++) unsetenv(unset[i]);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    snprintf(g_root, sizeof g_root, "/tmp/tlv_test_hub_XXXXXX");
    if (!mkdtemp(g_root)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    if (!server_start()) {
        fprintf(stderr, "test_hub: cannot start %s %s\n", PYTHON, SERVER);
        cleanup();
        return 1;
    }
    fprintf(stderr, "fake hub at %s, files in %s (libcurl thread-safe: %d)\n", g_endpoint, g_root,
            tlv__hub_curl_threadsafe());
    static const struct { const char *name; void (*fn)(void); } scenarios[] = {
        {"ids_and_dirs", test_ids_and_dirs}, {"fresh_then_cache", test_fresh_then_cache},
        {"unreachable", test_unreachable},   {"sharded", test_sharded},
        {"resume", test_resume},             {"corrupt", test_corrupt},
        {"http_errors", test_http_errors},   {"base_tokenizer", test_base_tokenizer},
        {"cancel", test_cancel},             {"no_space", test_no_space},
        {"alloc_failures", test_alloc_failures}, {"concurrent", test_concurrent},
    };
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int failures = tlv_test_failures;
        scenarios[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        fprintf(stderr, "%-18s %s %.2f s\n", scenarios[i].name, tlv_test_failures == failures ? "ok    " : "FAILED",
                (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    }
    cleanup();
    curl_global_cleanup();
    return tlv_test_finish("test_hub");
}
