/* harness.h: the tiny test framework. A check that fails prints file:line, the expression and
 * both values, and marks the test failed; main() returns tlv_test_finish(). */
#ifndef TLV_TESTS_HARNESS_H
#define TLV_TESTS_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int tlv_test_failures;
extern int tlv_test_checks;

#define CHECK(cond) do { tlv_test_checks++; if (!(cond)) { tlv_test_failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); } } while (0)

#define CHECK_EQ_INT(a, b) do { long long va_ = (long long)(a), vb_ = (long long)(b); tlv_test_checks++; \
    if (va_ != vb_) { tlv_test_failures++; fprintf(stderr, "%s:%d: %s == %s failed: %lld vs %lld\n", \
    __FILE__, __LINE__, #a, #b, va_, vb_); } } while (0)

#define CHECK_EQ_STR(a, b) do { const char *sa_ = (a), *sb_ = (b); tlv_test_checks++; \
    if (!sa_ || !sb_ || strcmp(sa_, sb_)) { tlv_test_failures++; fprintf(stderr, \
    "%s:%d: %s == %s failed: \"%s\" vs \"%s\"\n", __FILE__, __LINE__, #a, #b, \
    sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); } } while (0)

/* Substring check, for error messages. */
#define CHECK_CONTAINS(hay, needle) do { const char *h_ = (hay), *n_ = (needle); tlv_test_checks++; \
    if (!h_ || !strstr(h_, n_)) { tlv_test_failures++; fprintf(stderr, \
    "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, h_ ? h_ : "(null)", n_); } } while (0)

#define CHECK_NEAR(a, b, tol) do { double va_ = (a), vb_ = (b); tlv_test_checks++; \
    if (!(va_ - vb_ <= (tol) && vb_ - va_ <= (tol))) { tlv_test_failures++; fprintf(stderr, \
    "%s:%d: |%s - %s| <= %g failed: %.9g vs %.9g\n", __FILE__, __LINE__, #a, #b, (double)(tol), va_, vb_); } } while (0)

/* Prints a summary line and returns the process exit code: 0 when every check passed, 1 when one
 * failed or when none ran (a test that checks nothing proves nothing; one that cannot run says
 * so with tlv_test_skip). */
int tlv_test_finish(const char *name);

/* For a test that cannot run here: prints "NAME: skipped: WHY" and returns TLV_TEST_SKIPPED, the
 * exit code ctest reports as skipped (SKIP_RETURN_CODE, set for every tlv_add_test). */
#define TLV_TEST_SKIPPED 77
int tlv_test_skip(const char *name, const char *why);

/* Reads a whole file; returns malloc'ed bytes (NUL-terminated) or NULL. */
char *tlv_test_read_file(const char *path, size_t *len);

/* Deterministic random numbers for test data (xorshift). */
uint32_t tlv_test_rand_u32(uint64_t *state);
float tlv_test_rand_uniform(uint64_t *state, float lo, float hi);

/* Starts the fake Hugging Face hub (tests/hub/fake_hub.py) with `python` on 127.0.0.1, serving
 * root for at most lifetime_s seconds; waits up to 10 s for its port. Returns the server's pid
 * and sets *port, or -1 if it did not come up (the child is reaped). */
int tlv_test_fake_hub_start(const char *python, const char *server, const char *root, int lifetime_s, int *port);
/* Stops it (SIGTERM) and reaps it; pid <= 0 is a no-op. */
void tlv_test_fake_hub_stop(int pid);

/* A tlv_allocator that fails every allocation after `fail_after` successful ones
 * (fail_after < 0: never fails). Counts live blocks, so tests can check for leaks. */
struct tlv_allocator;
typedef struct tlv_test_failing_alloc {
    long fail_after;
    long n_calls;
    long live;
} tlv_test_failing_alloc;
void tlv_test_failing_alloc_init(struct tlv_allocator *a, tlv_test_failing_alloc *state, long fail_after);

#endif
