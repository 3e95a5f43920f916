/* test_cli_tokenize: `tinyllava tokenize` on the fixtures' tokenizers against the reference ids
 * of tests/text (Hugging Face tokenizers / sentencepiece, one line per tests/text/data/strings.jsonl
 * line, with special tokens; tests/text/gen says how they were made):
 *
 *   --jsonl FILE    every text string of strings.jsonl (phi2, qwen2, llama fixture tokenizers)
 *   TEXT            the plain listing, one "   ID  \"TOKEN\"" line per id
 *   --json          ids; pieces and text equal to the reference decode
 *   fixture prompts split at <image>: ids and vocabulary tokens against expected.json
 *                   (transformers' input_ids / convert_ids_to_tokens)
 *   -f FILE         a file with newlines and tabs
 *   --no-special    llama without its BOS
 *   bad input       no text (2), unreadable file (4), a --jsonl line that is not a JSON string (4) */
#include <stdlib.h>

#include "common.h"

static char g_root[512];

typedef struct ref {
    cJSON **lines; /* parsed ref_*.jsonl lines: {"ids": [...], "dec": ..., "dec_skip": ...} */
    int n;
} ref;

/* gunzips tests/text/data/<name> with the system's gzip and parses each line. */
static int load_ref(const char *name, ref *r)
{
    char path[600];
    snprintf(path, sizeof path, "%s/text/data/%s", TLV_TEST_DATA, name);
    const char *argv[] = {"/bin/sh", "-c", "exec gzip -dc \"$0\"", path, NULL};
    char *text = proc_capture(argv, 30);
    if (!text) {
        fprintf(stderr, "gzip -dc %s failed\n", path);
        return -1;
    }
    r->n = 0;
    r->lines = calloc(1024, sizeof *r->lines);
    for (char *s = text, *nl; r->lines && *s && r->n < 1024; s = nl + 1) {
        nl = strchr(s, '\n');
        if (nl) *nl = 0;
        r->lines[r->n++] = cJSON_Parse(s);
        if (!nl) break;
    }
    free(text);
    return 0;
}

static void free_ref(ref *r)
{
    for (int i = 0; i < r->n; i++) cJSON_Delete(r->lines[i]);
    free(r->lines);
}

/* The strings of strings.jsonl that a JSON string can carry (no "hex" byte strings, no NUL):
 * their line numbers in *idx, written one JSON string per line to path. Returns the count. */
static int write_jsonl(const char *path, int *idx, int max)
{
    char *text = tlv_test_read_file(TLV_TEST_DATA "/text/data/strings.jsonl", NULL);
    FILE *f = fopen(path, "w");
    int n = 0, line = 0;
    for (char *s = text, *nl; text && f && *s; s = nl + 1, line++) {
        nl = strchr(s, '\n');
        if (nl) *nl = 0;
        cJSON *o = cJSON_Parse(s);
        const cJSON *t = cJSON_GetObjectItem(o, "t");
        if (cJSON_IsString(t) && !strstr(s, "\\u0000") && n < max) {
            char *js = cJSON_PrintUnformatted(t);
            fprintf(f, "%s\n", js);
            free(js);
            idx[n++] = line;
        }
        cJSON_Delete(o);
        if (!nl) break;
    }
    if (f) fclose(f);
    free(text);
    return n;
}

static void jsonl_case(const char *fixture, const char *ref_name, const char *jsonl, const int *idx, int n)
{
    ref r;
    CHECK_EQ_INT(load_ref(ref_name, &r), 0);
    char model[700];
    snprintf(model, sizeof model, "%s/%s/model", FIXTURES, fixture);
    proc p;
    const char *args[] = {"tokenize", "-m", model, "--jsonl", jsonl, NULL};
    CHECK_EQ_INT(proc_run(&p, args, NULL, NULL, 60), 0);
    int same = 0, lines = 0;
    char *s = p.out.p;
    for (char *nl; *s; s = nl + 1, lines++) {
        nl = strchr(s, '\n');
        if (!nl) break;
        *nl = 0;
        cJSON *got = cJSON_Parse(s);
        if (lines < n && idx[lines] < r.n) {
            char what[64];
            snprintf(what, sizeof what, "%s: string %d", fixture, idx[lines]);
            same += ct_same_ids(got, cJSON_GetObjectItem(r.lines[idx[lines]], "ids"), what);
        }
        cJSON_Delete(got);
    }
    printf("%s: %d/%d strings tokenized as the reference (%s)\n", fixture, same, n, ref_name);
    CHECK_EQ_INT(lines, n);
    CHECK_EQ_INT(same, n);
    proc_free(&p);
    free_ref(&r);
}

/* One string through the plain listing, --json and -f. */
static void single(const char *fixture, const char *ref_name, int line_no, const char *text)
{
    ref r;
    if (load_ref(ref_name, &r) || line_no >= r.n) {
        CHECK(0);
        return;
    }
    const cJSON *want = cJSON_GetObjectItem(r.lines[line_no], "ids");
    const char *dec = cJSON_GetObjectItem(r.lines[line_no], "dec")->valuestring;
    char model[700];
    snprintf(model, sizeof model, "%s/%s/model", FIXTURES, fixture);
    proc p;

    /* plain: one "%6d  \"TOKEN\"" line per id */
    const char *plain[] = {"tokenize", "-m", model, text, NULL};
    CHECK_EQ_INT(proc_run(&p, plain, NULL, NULL, 60), 0);
    cJSON *ids = cJSON_CreateArray();
    int lines_ok = 1;
    for (char *s = p.out.p, *nl; *s; s = nl + 1) {
        nl = strchr(s, '\n');
        if (nl) *nl = 0;
        int id, used = 0;
        cJSON *tok = NULL;
        if (sscanf(s, "%d%n", &id, &used) == 1 && !strncmp(s + used, "  \"", 3)) tok = cJSON_Parse(s + used + 2);
        lines_ok &= cJSON_IsString(tok);
        cJSON_Delete(tok);
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(id));
        if (!nl) break;
    }
    CHECK(lines_ok);
    CHECK(ct_same_ids(ids, want, "plain listing"));
    cJSON_Delete(ids);
    proc_free(&p);

    /* --json: ids; pieces joined = text = the reference decode (special tokens kept) */
    const char *js[] = {"tokenize", "-m", model, "--json", text, NULL};
    CHECK_EQ_INT(proc_run(&p, js, NULL, NULL, 60), 0);
    cJSON *j = cJSON_Parse(p.out.p);
    CHECK(j && ct_same_ids(cJSON_GetObjectItem(j, "ids"), want, "--json ids"));
    char joined[4096] = "";
    for (const cJSON *e = j ? cJSON_GetObjectItem(j, "pieces")->child : NULL; e; e = e->next)
        strncat(joined, e->valuestring, sizeof joined - strlen(joined) - 1);
    CHECK_EQ_STR(joined, dec);
    CHECK_EQ_STR(j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "text")) : NULL, dec);
    CHECK_EQ_INT(j ? cJSON_GetArraySize(cJSON_GetObjectItem(j, "tokens")) : -1, cJSON_GetArraySize(want));
    cJSON_Delete(j);
    proc_free(&p);

    /* -f FILE */
    char path[600];
    snprintf(path, sizeof path, "%s/text_%s.txt", g_root, fixture);
    CHECK_EQ_INT(ct_write(path, text, strlen(text)), 0);
    const char *file[] = {"tokenize", "-m", model, "-f", path, "--json", NULL};
    CHECK_EQ_INT(proc_run(&p, file, NULL, NULL, 60), 0);
    j = cJSON_Parse(p.out.p);
    CHECK(j && ct_same_ids(cJSON_GetObjectItem(j, "ids"), want, "-f ids"));
    cJSON_Delete(j);
    proc_free(&p);
    free_ref(&r);
}

/* The text of strings.jsonl line i. */
static char *string_at(int i)
{
    char *text = tlv_test_read_file(TLV_TEST_DATA "/text/data/strings.jsonl", NULL);
    char *s = text, *out = NULL;
    for (int k = 0; s && k < i; k++) {
        s = strchr(s, '\n');
        if (s) s++;
    }
    if (s) {
        char *nl = strchr(s, '\n');
        if (nl) *nl = 0;
        cJSON *o = cJSON_Parse(s);
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(o, "t"));
        if (t) {
            out = malloc(strlen(t) + 1);
            if (out) strcpy(out, t);
        }
        cJSON_Delete(o);
    }
    free(text);
    return out;
}

/* The first line of strings.jsonl whose text has a newline and a tab (for -f and the listing). */
static int multiline_index(void)
{
    for (int i = 0; i < 600; i++) {
        char *t = string_at(i);
        int ok = t && strchr(t, '\n') && strchr(t, '\t') && strlen(t) < 1000;
        free(t);
        if (ok) return i;
    }
    return -1;
}

/* The fixture prompts split at <image>, each chunk tokenized alone, as TinyLLaVA's
 * tokenizer_image_token does (BOS on the first chunk only): ids and vocabulary tokens against
 * expected.json input_ids / input_tokens. */
static void fixture_chunks(const char *fixture)
{
    char path[700], model[700];
    snprintf(path, sizeof path, "%s/%s/expected.json", FIXTURES, fixture);
    snprintf(model, sizeof model, "%s/%s/model", FIXTURES, fixture);
    cJSON *ex = ct_json_file(path);
    if (!ex) {
        CHECK(0);
        return;
    }
    const char *prompt = cJSON_GetObjectItem(ex, "prompt")->valuestring;
    const cJSON *ids = cJSON_GetObjectItem(ex, "input_ids"), *toks = cJSON_GetObjectItem(ex, "input_tokens");
    const char *at = strstr(prompt, "<image>");
    int k = 0;
    for (const cJSON *e = ids->child; e && e->valueint != -200; e = e->next) k++;
    CHECK(at != NULL && k < cJSON_GetArraySize(ids));
    if (!at) goto out;
    char *before = malloc((size_t)(at - prompt) + 1);
    memcpy(before, prompt, (size_t)(at - prompt));
    before[at - prompt] = 0;
    for (int part = 0; part < 2; part++) {
        proc p;
        const char *text = part ? at + strlen("<image>") : before;
        const char *args[] = {"tokenize", "-m", model, "--json", text, part ? "--no-special" : NULL, NULL};
        CHECK_EQ_INT(proc_run(&p, args, NULL, NULL, 60), 0);
        cJSON *j = cJSON_Parse(p.out.p);
        cJSON *want_ids = cJSON_CreateArray(), *want_toks = cJSON_CreateArray();
        int from = part ? k + 1 : 0, to = part ? cJSON_GetArraySize(ids) : k;
        for (int i = from; i < to; i++) {
            cJSON_AddItemToArray(want_ids, cJSON_CreateNumber(cJSON_GetArrayItem(ids, i)->valuedouble));
            cJSON_AddItemToArray(want_toks, cJSON_CreateString(cJSON_GetArrayItem(toks, i)->valuestring));
        }
        CHECK(j && ct_same_ids(cJSON_GetObjectItem(j, "ids"), want_ids, part ? "after <image>" : "before <image>"));
        const cJSON *got_toks = j ? cJSON_GetObjectItem(j, "tokens") : NULL;
        int same = cJSON_GetArraySize(got_toks) == cJSON_GetArraySize(want_toks);
        for (int i = 0; same && i < cJSON_GetArraySize(want_toks); i++) {
            same = !strcmp(cJSON_GetArrayItem(got_toks, i)->valuestring, cJSON_GetArrayItem(want_toks, i)->valuestring);
            if (!same)
                fprintf(stderr, "%s: token %d: \"%s\", expected \"%s\"\n", fixture, from + i,
                        cJSON_GetArrayItem(got_toks, i)->valuestring, cJSON_GetArrayItem(want_toks, i)->valuestring);
        }
        CHECK(same);
        cJSON_Delete(want_ids);
        cJSON_Delete(want_toks);
        cJSON_Delete(j);
        proc_free(&p);
    }
    free(before);
out:
    cJSON_Delete(ex);
}

static void no_special(void)
{
    ref r;
    if (load_ref("ref_llama.jsonl.gz", &r)) {
        CHECK(0);
        return;
    }
    char *text = string_at(2);
    const cJSON *want = cJSON_GetObjectItem(r.lines[2], "ids");
    CHECK_EQ_INT(cJSON_GetArrayItem(want, 0)->valueint, 1); /* <s> */
    proc p;
    const char *args[] = {"tokenize", "-m", FIXTURES "/llama_clip_pad/model", "--json", "--no-special", text, NULL};
    CHECK_EQ_INT(proc_run(&p, args, NULL, NULL, 60), 0);
    cJSON *j = cJSON_Parse(p.out.p);
    cJSON *rest = cJSON_Duplicate(want, 1);
    cJSON_DeleteItemFromArray(rest, 0);
    CHECK(j && ct_same_ids(cJSON_GetObjectItem(j, "ids"), rest, "--no-special"));
    cJSON_Delete(rest);
    cJSON_Delete(j);
    proc_free(&p);
    free(text);
    free_ref(&r);
}

/* tokenize and pull need no Vulkan: with the loader pointed at a driver that does not exist they
 * give the same output as with one, exit 0, and say nothing on stderr. */
static void no_vulkan(void)
{
    const char *model = FIXTURES "/phi2_siglip_square/model";
    const char *no_icd[] = {"VK_ICD_FILENAMES=/nonexistent/icd.json", "VK_DRIVER_FILES=/nonexistent/icd.json", NULL};
    proc_opts none = {no_icd, 0};
    proc with, without;
    const char *args[] = {"tokenize", "-m", model, "--json", "Hello world", NULL};
    CHECK_EQ_INT(proc_run(&with, args, NULL, NULL, 60), 0);
    CHECK_EQ_INT(proc_run(&without, args, &none, NULL, 60), 0);
    CHECK_CONTAINS(without.out.p, "\"ids\":[15496,995]");
    CHECK_EQ_STR(without.out.p, with.out.p);
    CHECK_EQ_STR(without.err.p, "");
    proc_free(&with);
    proc_free(&without);
    const char *pull[] = {"pull", model, NULL};
    CHECK_EQ_INT(proc_run(&without, pull, &none, NULL, 60), 0);
    CHECK_CONTAINS(without.out.p, "phi2_siglip_square/model");
    CHECK_EQ_STR(without.err.p, "");
    proc_free(&without);
    /* a command that needs the device still says there is none */
    const char *info[] = {"info", "-m", model, NULL};
    CHECK_EQ_INT(proc_run(&without, info, &none, NULL, 60), 3);
    CHECK_CONTAINS(without.err.p, "no Vulkan driver");
    proc_free(&without);
}

static void bad_input(void)
{
    const char *model = FIXTURES "/phi2_siglip_square/model";
    proc p;
    const char *none[] = {"tokenize", "-m", model, NULL};
    CHECK_EQ_INT(proc_run(&p, none, NULL, NULL, 30), 2);
    CHECK_CONTAINS(p.err.p, "tokenize needs TEXT");
    proc_free(&p);
    const char *missing[] = {"tokenize", "-m", model, "-f", "/nonexistent/text.txt", NULL};
    CHECK_EQ_INT(proc_run(&p, missing, NULL, NULL, 30), 4);
    CHECK_CONTAINS(p.err.p, "cannot read /nonexistent/text.txt");
    proc_free(&p);
    const char *missing_jl[] = {"tokenize", "-m", model, "--jsonl", "/nonexistent/text.jsonl", NULL};
    CHECK_EQ_INT(proc_run(&p, missing_jl, NULL, NULL, 30), 4);
    proc_free(&p);
    char path[600];
    snprintf(path, sizeof path, "%s/bad.jsonl", g_root);
    const char *bad = "\"fine\"\n{\"t\": \"an object\"}\n\"never reached\"\n";
    CHECK_EQ_INT(ct_write(path, bad, strlen(bad)), 0);
    const char *badjl[] = {"tokenize", "-m", model, "--jsonl", path, NULL};
    CHECK_EQ_INT(proc_run(&p, badjl, NULL, NULL, 30), 4);
    CHECK_CONTAINS(p.err.p, "bad.jsonl:2: expected a JSON string");
    /* the first line was answered: one array */
    CHECK(p.out.p[0] == '[' && strchr(p.out.p, '\n') == p.out.p + p.out.n - 1 && p.out.p[p.out.n - 2] == ']');
    proc_free(&p);
}

int main(int argc, char **argv)
{
    if (ct_setup(argc, argv, g_root, sizeof g_root)) return 1;
    static int idx[1024];
    char jsonl[600];
    snprintf(jsonl, sizeof jsonl, "%s/strings.jsonl", g_root);
    int n = write_jsonl(jsonl, idx, 1024);
    printf("%d strings of tests/text/data/strings.jsonl fit a JSON string\n", n);
    CHECK(n > 400);
    jsonl_case("phi2_siglip_square", "ref_phi2.jsonl.gz", jsonl, idx, n);
    jsonl_case("qwen2_siglip_square", "ref_qwen2.jsonl.gz", jsonl, idx, n);
    jsonl_case("llama_clip_pad", "ref_llama.jsonl.gz", jsonl, idx, n);

    int ml = multiline_index();
    CHECK(ml >= 0);
    char *first = string_at(2), *multi = ml >= 0 ? string_at(ml) : NULL;
    if (first && multi) {
        single("phi2_siglip_square", "ref_phi2.jsonl.gz", 2, first);
        single("qwen2_siglip_square", "ref_qwen2.jsonl.gz", ml, multi);
        single("llama_clip_pad", "ref_llama.jsonl.gz", ml, multi);
    }
    free(first);
    free(multi);
    fixture_chunks("phi2_siglip_square");
    fixture_chunks("qwen2_siglip_square");
    fixture_chunks("llama_clip_pad");
    no_special();
    bad_input();
    no_vulkan();
    proc_cleanup();
    return tlv_test_finish("test_cli_tokenize");
}
