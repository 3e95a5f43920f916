/* common.h: what the tests/cli drivers share: start-up, JSON files, id lists, the --verbose
 * stats line. */
#ifndef TLV_TESTS_CLI_COMMON_H
#define TLV_TESTS_CLI_COMMON_H

#include <cjson/cJSON.h>

#include "harness.h"
#include "proc.h"

#define FIXTURES TLV_TEST_DATA "/fixtures"

/* argv[1] is the tinyllava binary. Sets up proc.h's environment; root gets the temp folder. */
int ct_setup(int argc, char **argv, char *root, size_t size);
cJSON *ct_json_file(const char *path);
/* Compares two JSON arrays of numbers; prints the first difference under `what`. 1 if equal. */
int ct_same_ids(const cJSON *got, const cJSON *want, const char *what);
/* Checks that stderr has no Vulkan validation message (every child runs with TLV_VALIDATION=1). */
void ct_check_clean(const proc *p);
/* Writes a file; 0 on success. */
int ct_write(const char *path, const void *data, size_t n);

/* The `stats:` lines --verbose prints after each answer (tools/cli/run.c print_stats). */
typedef struct ct_stats {
    unsigned image_tokens, prompt_tokens, reused, generated;
    char stop[32];
} ct_stats;
/* Parses up to max stats lines of text; returns how many. */
int ct_parse_stats(const char *text, ct_stats *out, int max);

#endif
