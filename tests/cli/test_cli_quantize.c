/* test_cli_quantize: `tinyllava quantize` and the recipe flags, as a user runs them (docs/CLI.md):
 *
 *   quantize SRC DST --weights q4_0     exit 0, DST on stdout, a folder that loads with -m DST
 *   info -m DST --json                  every part's format and bytes: embedding Q8_0, LLM layers
 *                                       Q4_0, vision tower and connector as published, head tied
 *   run -m DST == run -m SRC --weights q4_0   the same greedy ids and text (the same weights
 *                                       on the device: the file and quantize-on-load agree)
 *   chat -m SRC --weights q4_0          answers (the flag reaches chat's model too)
 *   2  quantize without DST, without --weights, --weights q5 (run too), DST holding a checkpoint
 *   4  quantize from a folder that is no model */
#include <stdlib.h>

#include "common.h"

static char g_root[512];

#define QCASE TLV_TEST_DATA "/models/q_qwen2_siglip"
#define SRC QCASE "/model"
#define IMAGE QCASE "/image.png"

static void expect(const char *const *args, int code, const char *msg)
{
    proc p;
    CHECK_EQ_INT(proc_run(&p, args, NULL, NULL, 120), code);
    if (msg) CHECK_CONTAINS(p.err.p, msg);
    if (code != 0) CHECK_EQ_STR(p.out.p, "");
    proc_free(&p);
}

static const cJSON *part(const cJSON *parts, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, parts)
    {
        const cJSON *n = cJSON_GetObjectItem(e, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name)) return e;
    }
    fprintf(stderr, "part '%s' missing\n", name);
    return NULL;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItem(o, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItem(o, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static cJSON *run_json(const char *const *args)
{
    proc p;
    CHECK_EQ_INT(proc_run(&p, args, NULL, NULL, 120), 0);
    ct_check_clean(&p);
    cJSON *j = cJSON_Parse(p.out.p);
    CHECK(j != NULL);
    if (!j) fprintf(stderr, "stdout: %s\nstderr: %s\n", p.out.p, p.err.p);
    proc_free(&p);
    return j;
}

int main(int argc, char **argv)
{
    if (ct_setup(argc, argv, g_root, sizeof g_root)) return 1;
    char dst[700];
    snprintf(dst, sizeof dst, "%s/qwen2-q4", g_root);

    /* usage */
    const char *no_dst[] = {"quantize", SRC, "--weights", "q4_0", NULL};
    expect(no_dst, 2, "usage: tinyllava quantize SRC DST");
    const char *no_fmt[] = {"quantize", SRC, dst, NULL};
    expect(no_fmt, 2, "quantize needs --weights");
    const char *bad_fmt[] = {"quantize", SRC, dst, "--weights", "q5", NULL};
    expect(bad_fmt, 2, "weights 'q5': unknown weight format (expected q8_0 or q4_0");
    const char *bad_vfmt[] = {"quantize", SRC, dst, "--weights", "q4_0", "--vision-weights", "fp8", NULL};
    expect(bad_vfmt, 2, "vision weights 'fp8'");
    const char *bad_run[] = {"run", "-m", SRC, "-p", "hi", "--weights", "q2_k", NULL};
    expect(bad_run, 2, "weights 'q2_k'");
    const char *not_model[] = {"quantize", FIXTURES, dst, "--weights", "q4_0", NULL};
    expect(not_model, 4, NULL);

    /* quantize */
    proc p;
    const char *q[] = {"quantize", SRC, dst, "--weights", "q4_0", NULL};
    CHECK_EQ_INT(proc_run(&p, q, NULL, NULL, 120), 0);
    CHECK_CONTAINS(p.out.p, dst);
    proc_free(&p);
    expect(q, 2, "already holds a checkpoint");

    /* info: the parts */
    const char *info[] = {"info", "-m", dst, "--json", NULL};
    cJSON *j = run_json(info);
    const cJSON *parts = j ? cJSON_GetObjectItem(j, "parts") : NULL;
    CHECK_EQ_INT(cJSON_GetArraySize(parts), 5);
    CHECK_EQ_STR(str(j, "dtype"), "Q4_0");
    CHECK_EQ_STR(str(part(parts, "embedding"), "format"), "Q8_0");
    CHECK_EQ_INT(num(part(parts, "embedding"), "bytes"), 1024 * 68);
    CHECK_EQ_STR(str(part(parts, "LLM layers"), "format"), "Q4_0");
    CHECK_EQ_STR(str(part(parts, "LLM layers"), "vector_format"), "BF16");
    CHECK_EQ_STR(str(part(parts, "vision tower"), "format"), "BF16");
    CHECK_EQ_STR(str(part(parts, "connector"), "format"), "BF16");
    CHECK_EQ_STR(str(part(parts, "output head"), "format"), "tied");
    double sum = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, parts) sum += num(e, "bytes");
    CHECK_EQ_INT(sum, num(j, "device_bytes"));
    cJSON_Delete(j);
    /* the table */
    const char *info_text[] = {"info", "-m", SRC, "--weights", "q8_0", "--vision-weights", "q8_0", NULL};
    CHECK_EQ_INT(proc_run(&p, info_text, NULL, NULL, 120), 0);
    CHECK_CONTAINS(p.out.p, "LLM layers    Q8_0");
    CHECK_CONTAINS(p.out.p, "connector     Q8_0");
    CHECK_CONTAINS(p.out.p, "output head   tied");
    proc_free(&p);

    /* the written folder and quantize-on-load give the same answer */
    const char *run_dst[] = {"run", "-m", dst, "--image", IMAGE, "-p", "What is in the picture?", "-n", "12", "--json", NULL};
    const char *run_src[] = {"run", "-m", SRC, "--weights", "q4_0", "--image", IMAGE, "-p", "What is in the picture?",
                             "-n", "12", "--json", NULL};
    cJSON *a = run_json(run_dst), *b = run_json(run_src);
    if (a && b) {
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(a, "generated_ids")) > 0);
        CHECK(ct_same_ids(cJSON_GetObjectItem(a, "generated_ids"), cJSON_GetObjectItem(b, "generated_ids"), "generated_ids"));
        CHECK_EQ_STR(str(a, "text"), str(b, "text"));
    }
    cJSON_Delete(a);
    cJSON_Delete(b);

    /* chat takes the flag too */
    const char *chat[] = {"chat", "-m", SRC, "--weights", "q4_0", "-n", "4", NULL};
    CHECK_EQ_INT(proc_run(&p, chat, NULL, "hello\n", 120), 0);
    ct_check_clean(&p);
    proc_free(&p);

    proc_cleanup();
    return tlv_test_finish("test_cli_quantize");
}
