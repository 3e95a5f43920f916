/* The harness itself (harness.c): a test that ran no checks fails, a skip says why and exits 77,
 * a failed check fails. Each case runs as a child of this program (argv[0] CASE), since
 * tlv_test_finish decides the exit code of a whole process. */
#include "harness.h"

#include <stdlib.h>
#include <sys/wait.h>

static int child(const char *which)
{
    if (!strcmp(which, "none")) return tlv_test_finish("none");
    if (!strcmp(which, "skip")) return tlv_test_skip("skip", "no such device here");
    if (!strcmp(which, "fail")) {
        CHECK_EQ_INT(1, 2);
        return tlv_test_finish("fail");
    }
    if (!strcmp(which, "pass")) {
        CHECK_EQ_INT(2, 2);
        return tlv_test_finish("pass");
    }
    return 2;
}

/* Runs `self which`; returns its exit code, its stdout in out. */
static int run(const char *self, const char *which, char *out, size_t cap)
{
    /* a cross build runs its tests under an emulator (qemu-user): the child must run there too */
    const char *emu = getenv("TLV_TEST_EMULATOR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s '%s' %s 2>/dev/null", emu ? emu : "", self, which);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = 0;
    int status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv)
{
    if (argc > 1) return child(argv[1]);
    char out[1024];
    CHECK_EQ_INT(run(argv[0], "none", out, sizeof out), 1);
    CHECK_CONTAINS(out, "ran no checks");
    CHECK_EQ_INT(run(argv[0], "skip", out, sizeof out), TLV_TEST_SKIPPED);
    CHECK_CONTAINS(out, "skip: skipped: no such device here");
    CHECK_EQ_INT(run(argv[0], "fail", out, sizeof out), 1);
    CHECK_CONTAINS(out, "1 checks, 1 failed");
    CHECK_EQ_INT(run(argv[0], "pass", out, sizeof out), 0);
    CHECK_CONTAINS(out, "1 checks, 0 failed");
    return tlv_test_finish("test_harness");
}
