/* common.c: shared pieces of the tests/cli drivers (common.h). */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ct_setup(int argc, char **argv, char *root, size_t size)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/TO/tinyllava\n", argv[0]);
        return -1;
    }
    proc_set_binary(argv[1]);
    return proc_setup(root, size);
}

cJSON *ct_json_file(const char *path)
{
    char *text = tlv_test_read_file(path, NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!j) fprintf(stderr, "cannot read JSON %s\n", path);
    return j;
}

int ct_same_ids(const cJSON *got, const cJSON *want, const char *what)
{
    int ng = cJSON_GetArraySize(got), nw = cJSON_GetArraySize(want);
    if (!cJSON_IsArray(got) || !cJSON_IsArray(want)) {
        fprintf(stderr, "%s: not an array\n", what);
        return 0;
    }
    const cJSON *g = got->child, *w = want->child;
    for (int i = 0; g && w; i++, g = g->next, w = w->next) {
        if (g->valuedouble != w->valuedouble) {
            fprintf(stderr, "%s: element %d: %g, expected %g\n", what, i, g->valuedouble, w->valuedouble);
            return 0;
        }
    }
    if (ng != nw) {
        fprintf(stderr, "%s: %d elements, expected %d\n", what, ng, nw);
        return 0;
    }
    return 1;
}

void ct_check_clean(const proc *p)
{
    CHECK(!strstr(p->err.p, "vulkan validation"));
}

int ct_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

int ct_parse_stats(const char *text, ct_stats *out, int max)
{
    int n = 0;
    for (const char *s = strstr(text, "stats: "); s && n < max; s = strstr(s + 1, "stats: ")) {
        ct_stats *st = &out[n];
        memset(st, 0, sizeof *st);
        double ims, pms, ptps, dms, dtps;
        int got = sscanf(s, "stats: image %u tokens %lf ms | prefill %u tokens (%u reused) %lf ms (%lf tok/s) | "
                            "decode %u tokens %lf ms (%lf tok/s) | %31s",
                         &st->image_tokens, &ims, &st->prompt_tokens, &st->reused, &pms, &ptps, &st->generated, &dms,
                         &dtps, st->stop);
        if (got != 10) {
            fprintf(stderr, "cannot parse the stats line: %.200s\n", s);
            continue;
        }
        n++;
    }
    return n;
}
