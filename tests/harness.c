#include "harness.h"

#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tinyllava_alloc.h"

int tlv_test_failures;
int tlv_test_checks;

int tlv_test_finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, tlv_test_checks, tlv_test_failures);
    if (tlv_test_checks == 0) {
        printf("%s: FAILED: ran no checks (a test that cannot run says why with tlv_test_skip)\n", name);
        return 1;
    }
    return tlv_test_failures ? 1 : 0;
}

int tlv_test_skip(const char *name, const char *why)
{
    printf("%s: skipped: %s\n", name, why && *why ? why : "(no reason given)");
    return TLV_TEST_SKIPPED;
}

char *tlv_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        if (len) *len = (size_t)n;
    }
    return buf;
}

uint32_t tlv_test_rand_u32(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return (uint32_t)(x >> 32);
}

float tlv_test_rand_uniform(uint64_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)(tlv_test_rand_u32(s) >> 8) / 16777216.0f;
}

/* Every block carries a header with its size, so realloc can account for it. */
static void *failing_realloc(void *ud, void *p, size_t n)
{
    tlv_test_failing_alloc *st = ud;
    if (n == 0) {
        if (p) {
            st->live--;
            free(p);
        }
        return NULL;
    }
    if (st->fail_after >= 0 && st->n_calls >= st->fail_after) return NULL;
    st->n_calls++;
    void *q = realloc(p, n);
    if (q && !p) st->live++;
    return q;
}

void tlv_test_failing_alloc_init(struct tlv_allocator *a, tlv_test_failing_alloc *state, long fail_after)
{
    state->fail_after = fail_after;
    state->n_calls = 0;
    state->live = 0;
    a->realloc = failing_realloc;
    a->user_data = state;
}

/* Sanitizer builds: the Vulkan loader dlclose()s the validation layer and the lavapipe driver when
 * an instance is destroyed, and both keep a few C++ allocations alive at exit. LeakSanitizer then
 * sees frames in unloaded modules it cannot name, so no suppression can match them narrowly.
 * Pinning the two libraries (RTLD_NODELETE) keeps them mapped, the frames get their module names,
 * and tests/lsan.supp suppresses exactly those modules: our own leaks still fail the test. Test
 * code only; the library itself does nothing at load time. */
#if defined(TLV_SANITIZE_BUILD)
__attribute__((constructor)) static void pin_vulkan_modules(void)
{
    static const char *libs[] = {"libVkLayer_khronos_validation.so", "libvulkan_lvp.so"};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) dlopen(libs[i], RTLD_NOW | RTLD_NODELETE | RTLD_LOCAL);
}
#endif

int tlv_test_fake_hub_start(const char *python, const char *server, const char *root, int lifetime_s, int *port)
{
    char port_file[1024], life[16];
    snprintf(port_file, sizeof port_file, "%s/port", root);
    snprintf(life, sizeof life, "%d", lifetime_s);
    unlink(port_file);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execl(python, python, server, "--root", root, "--port-file", port_file, "--lifetime", life, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) { /* 10 s */
        FILE *f = fopen(port_file, "r");
        int p = 0;
        if (f) {
            if (fscanf(f, "%d", &p) != 1) p = 0;
            fclose(f);
        }
        if (p > 0) {
            *port = p;
            return (int)pid;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) return -1;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

void tlv_test_fake_hub_stop(int pid)
{
    if (pid <= 0) return;
    kill((pid_t)pid, SIGTERM);
    int status;
    waitpid((pid_t)pid, &status, 0);
}
