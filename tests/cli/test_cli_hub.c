/* test_cli_hub: `tinyllava pull` / `-m ORG/NAME` against a local fake hub (tests/hub/fake_hub.py,
 * started with /usr/bin/python3 on 127.0.0.1; exit 77 = skipped without it), HF_ENDPOINT pointing
 * at it and TINYLLAVA_CACHE in a temporary folder:
 *
 *   pull tiny/single            0, prints the folder; the files equal what the hub served
 *   pull again, hub gone        0 from the complete cache (no network needed)
 *   -m tiny/doesnotexist        with a token: HTTP 404 -> 4 "does not exist"; without one the hub
 *                               answers 401, which may mean private or gated -> 5 "set HF_TOKEN"
 *   pull with a full disk       RLIMIT_FSIZE of 100 kB (SIGXFSZ ignored: writes fail with EFBIG,
 *                               as ENOSPC would) -> 4 "File too large", no file under its final
 *                               name; the next pull without the limit resumes and completes */
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define PYTHON "/usr/bin/python3"
#define SERVER TLV_TEST_DATA "/hub/fake_hub.py"

static char g_root[512];
static char g_endpoint[96];
static pid_t g_server = -1;

static int server_start(void)
{
    int port = 0;
    int pid = tlv_test_fake_hub_start(PYTHON, SERVER, g_root, 110, &port);
    if (pid < 0) return 0;
    g_server = pid;
    snprintf(g_endpoint, sizeof g_endpoint, "HF_ENDPOINT=http://127.0.0.1:%d", port);
    return 1;
}

static void server_stop(void)
{
    tlv_test_fake_hub_stop(g_server);
    g_server = -1;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = tlv_test_read_file(a, &na), *y = tlv_test_read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

static void pull(void)
{
    char cache[600], env_cache[700], dir[700], path[800], served[800];
    snprintf(cache, sizeof cache, "%s/cache1", g_root);
    snprintf(env_cache, sizeof env_cache, "TINYLLAVA_CACHE=%s", cache);
    snprintf(dir, sizeof dir, "%s/tiny/single\n", cache);
    const char *env[] = {g_endpoint, env_cache, NULL};
    proc_opts o = {env, 0};
    proc p;
    const char *args[] = {"pull", "tiny/single", NULL};
    CHECK_EQ_INT(proc_run(&p, args, &o, NULL, 60), 0);
    CHECK_EQ_STR(p.out.p, dir); /* the folder, on stdout */
    proc_free(&p);
    const char *files[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/tiny/single/%s", cache, files[i]);
        snprintf(served, sizeof served, "%s/repos/tiny/single/%s", g_root, files[i]);
        CHECK(same_file(path, served));
    }
    snprintf(path, sizeof path, "%s/tiny/single/README.md", cache);
    CHECK_EQ_INT(file_size(path), -1); /* only what inference needs */

    /* complete in the cache: no network needed (the default HF_ENDPOINT is a closed port) */
    const char *env2[] = {env_cache, NULL};
    proc_opts o2 = {env2, 0};
    CHECK_EQ_INT(proc_run(&p, args, &o2, NULL, 60), 0);
    CHECK_EQ_STR(p.out.p, dir);
    proc_free(&p);
    const char *offline[] = {"pull", "tiny/single", "--offline", NULL};
    CHECK_EQ_INT(proc_run(&p, offline, &o2, NULL, 60), 0);
    proc_free(&p);
}

static void missing(void)
{
    proc p;
    const char *args[] = {"run", "-m", "tiny/doesnotexist", "-p", "hi", NULL};
    const char *with_token[] = {g_endpoint, "HF_TOKEN=secret-token", NULL};
    proc_opts o = {with_token, 0};
    CHECK_EQ_INT(proc_run(&p, args, &o, NULL, 60), 4);
    CHECK_CONTAINS(p.err.p, "model tiny/doesnotexist does not exist on http://127.0.0.1:");
    proc_free(&p);
    const char *no_token[] = {g_endpoint, NULL};
    proc_opts o2 = {no_token, 0};
    CHECK_EQ_INT(proc_run(&p, args, &o2, NULL, 60), 5);
    CHECK_CONTAINS(p.err.p, "HTTP 401");
    CHECK_CONTAINS(p.err.p, "set HF_TOKEN");
    proc_free(&p);
    const char *info[] = {"info", "-m", "tiny/doesnotexist", NULL};
    CHECK_EQ_INT(proc_run(&p, info, &o, NULL, 60), 4);
    proc_free(&p);
}

static void disk_full(void)
{
    char cache[600], env_cache[700], part[800], final[800], served[800];
    snprintf(cache, sizeof cache, "%s/cache2", g_root);
    snprintf(env_cache, sizeof env_cache, "TINYLLAVA_CACHE=%s", cache);
    snprintf(part, sizeof part, "%s/tiny/single/model.safetensors.part", cache);
    snprintf(final, sizeof final, "%s/tiny/single/model.safetensors", cache);
    snprintf(served, sizeof served, "%s/repos/tiny/single/model.safetensors", g_root);
    const char *env[] = {g_endpoint, env_cache, NULL};
    proc_opts o = {env, 100000};
    proc p;
    const char *args[] = {"pull", "tiny/single", NULL};
    CHECK_EQ_INT(proc_run(&p, args, &o, NULL, 60), 4);
    CHECK_CONTAINS(p.err.p, "model.safetensors.part: File too large");
    CHECK_EQ_STR(p.out.p, "");
    proc_free(&p);
    long got = file_size(part);
    printf("after the failed pull: %s is %ld bytes; %s %s\n", part, got, final, file_size(final) < 0 ? "absent" : "present");
    CHECK(got > 0 && got <= 100000);
    CHECK_EQ_INT(file_size(final), -1); /* never a short file under the final name */

    o.fsize_limit = 0;
    CHECK_EQ_INT(proc_run(&p, args, &o, NULL, 60), 0);
    proc_free(&p);
    CHECK(same_file(final, served));
    CHECK_EQ_INT(file_size(part), -1);
}

int main(int argc, char **argv)
{
    if (ct_setup(argc, argv, g_root, sizeof g_root)) return 1;
    if (access(PYTHON, X_OK) != 0 || !server_start()) {
        proc_cleanup();
        return tlv_test_skip("test_cli_hub", "cannot start " PYTHON " " SERVER);
    }
    pull();
    missing();
    disk_full();
    server_stop();
    proc_cleanup();
    return tlv_test_finish("test_cli_hub");
}
