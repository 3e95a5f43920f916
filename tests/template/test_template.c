/* Chat templates: the fixtures' rendered prompts (expected.json "prompt" from the reference
 * TinyLLaVA_Factory run, data/fixture_prompts.json) from their config.json and turns, the
 * template chosen per checkpoint, hand-checked renderings of every template (MODELS.md 3.4,
 * read off [F] template/<name>_template.py and [B] conversation.py), Python-strip edge cases, bad input and
 * an out-of-memory pass. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <dirent.h>

#include "formats/config.h"
#include "text/template.h"

#define SYS "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the user's questions."

static cJSON *load_json(const char *path)
{
    size_t n;
    char *s = tlv_test_read_file(path, &n);
    cJSON *j = s ? cJSON_ParseWithLength(s, n) : NULL;
    free(s);
    return j;
}

static char *render(const char *tname, const tlv_chat_turn *turns, size_t n)
{
    const tlv_chat_template *t = tlv__template_find(tname);
    CHECK(t != NULL);
    char *out = NULL;
    size_t len = 0;
    tlv_err err;
    tlv_status st = tlv__template_render(t, turns, n, NULL, &out, &len, &err);
    CHECK_EQ_INT(st, TLV_OK);
    if (st) fprintf(stderr, "%s\n", err.msg);
    if (out) CHECK_EQ_INT(strlen(out), len);
    return out;
}

static void expect_render(const char *tname, const tlv_chat_turn *turns, size_t n, const char *expected)
{
    char *s = render(tname, turns, n);
    CHECK_EQ_STR(s, expected);
    free(s);
}

static void test_fixtures(void)
{
    cJSON *fx = load_json(TLV_TEST_DATA "/template/data/fixture_prompts.json");
    CHECK(fx != NULL);
    if (!fx) return;
    int n_cases = 0;
    for (const cJSON *c = fx->child; c; c = c->next, n_cases++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/formats/data/fx_%s", TLV_TEST_DATA, c->string);
        tlv_model_config *cfg = calloc(1, sizeof *cfg);
        tlv_err err;
        CHECK_EQ_INT(tlv__config_load(dir, cfg, &err), TLV_OK);
        const tlv_chat_template *t = NULL;
        CHECK_EQ_INT(tlv__template_for_config(cfg, NULL, &t, &err), TLV_OK);
        const char *prompt = cJSON_GetObjectItem(c, "prompt")->valuestring;
        CHECK(t != NULL);
        if (t) {
            CHECK_EQ_STR(t->name, cJSON_GetObjectItem(c, "conv_mode")->valuestring);
            CHECK_EQ_STR(t->stop[0], cJSON_GetObjectItem(c, "stop_str")->valuestring);
            CHECK_EQ_STR(t->eos, cJSON_GetObjectItem(c, "stop_str")->valuestring);
        }
        CHECK_EQ_INT(cfg->image_token_index, cJSON_GetObjectItem(c, "image_token_index")->valuedouble);
        CHECK_EQ_INT(cfg->llm.eos_id, cJSON_GetObjectItem(c, "eos_token_id")->valuedouble);

        /* the turns of case.json, image in the first */
        const cJSON *jt = cJSON_GetObjectItem(c, "turns");
        tlv_chat_turn turns[8];
        size_t n = 0;
        for (const cJSON *e = jt->child; e && n < 8; e = e->next, n++) {
            const cJSON *a = cJSON_GetObjectItem(e, "assistant");
            turns[n].user = cJSON_GetObjectItem(e, "user")->valuestring;
            turns[n].assistant = cJSON_IsString(a) ? a->valuestring : NULL;
            turns[n].n_images = n == 0;
        }
        char *s = NULL;
        size_t len;
        CHECK_EQ_INT(tlv__template_render(t, turns, n, NULL, &s, &len, &err), TLV_OK);
        CHECK_EQ_STR(s, prompt);
        free(s);
        /* and case.json "prompt" as one turn gives the same text */
        tlv_chat_turn one = {cJSON_GetObjectItem(c, "user_prompt")->valuestring, 1, NULL};
        CHECK_EQ_INT(tlv__template_render(t, &one, 1, NULL, &s, &len, &err), TLV_OK);
        CHECK_EQ_STR(s, prompt);
        free(s);
        free(cfg);
    }
    CHECK_EQ_INT(n_cases, 4);
    cJSON_Delete(fx);
}

/* The template each hand-written config maps to (expected.json "template"). */
static void test_selection(void)
{
    const char *dirs[] = {"cfg_legacy_phi", "cfg_legacy_stablelm", "cfg_legacy_tinyllama", "cfg_hf_llava",
                          "cfg_factory_gemma", "cfg_factory_stablelm", "cfg_factory_qwen2", "cfg_factory_openelm"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char dir[1024], path[1100];
        snprintf(dir, sizeof dir, "%s/formats/data/%s", TLV_TEST_DATA, dirs[i]);
        snprintf(path, sizeof path, "%s/expected.json", dir);
        cJSON *exp = load_json(path);
        tlv_model_config *cfg = calloc(1, sizeof *cfg);
        tlv_err err;
        const tlv_chat_template *t = NULL;
        CHECK_EQ_INT(tlv__config_load(dir, cfg, &err), TLV_OK);
        CHECK_EQ_INT(tlv__template_for_config(cfg, NULL, &t, &err), TLV_OK);
        CHECK_EQ_STR(t ? t->name : NULL, cJSON_GetObjectItem(exp, "template")->valuestring);
        /* an override wins; an unknown one lists the known names */
        CHECK_EQ_INT(tlv__template_for_config(cfg, "gemma", &t, &err), TLV_OK);
        CHECK(t && t->id == TLV_TEMPLATE_GEMMA);
        CHECK_EQ_INT(tlv__template_for_config(cfg, "chatml", &t, &err), TLV_ERR_INVALID_ARG);
        CHECK(t == NULL);
        CHECK_CONTAINS(err.msg, "unknown chat template 'chatml'");
        cJSON_Delete(exp);
        free(cfg);
    }
    /* Factory by hub name when the name says more than the architecture */
    tlv_model_config *cfg = calloc(1, sizeof *cfg);
    const tlv_chat_template *t;
    cfg->generation = TLV_GEN_FACTORY;
    cfg->llm.arch = TLV_ARCH_QWEN2;
    snprintf(cfg->llm_name, sizeof cfg->llm_name, "Qwen/Qwen2-0.5B-Instruct");
    tlv__template_for_config(cfg, NULL, &t, NULL);
    CHECK_EQ_STR(t->name, "qwen2_instruct");
    snprintf(cfg->llm_name, sizeof cfg->llm_name, "Qwen/Qwen1.5-1.8B");
    tlv__template_for_config(cfg, NULL, &t, NULL);
    CHECK_EQ_STR(t->name, "phi");
    cfg->llm_name[0] = 0;
    tlv__template_for_config(cfg, NULL, &t, NULL);
    CHECK_EQ_STR(t->name, "qwen2_base");
    cfg->llm.arch = TLV_ARCH_OPENELM;
    tlv__template_for_config(cfg, NULL, &t, NULL);
    CHECK_EQ_STR(t->name, "llama");
    free(cfg);
    CHECK(tlv__template_find("conv_phi_v0") == tlv__template_get(TLV_TEMPLATE_PHI_LEGACY));
    CHECK(tlv__template_find("vicuna_v1") == tlv__template_get(TLV_TEMPLATE_V1));
    CHECK(tlv__template_find("nope") == NULL && tlv__template_find(NULL) == NULL);
}

static void test_hand_checked(void)
{
    /* single turn, each Factory template: only the EOS string differs, and it does not show */
    tlv_chat_turn one = {"  What are these?\n", 1, NULL};
    const char *single = SYS " USER: <image>\nWhat are these? ASSISTANT:";
    const char *factory[] = {"phi", "llama", "gemma", "qwen2_base", "qwen2_instruct"};
    for (int i = 0; i < 5; i++) expect_render(factory[i], &one, 1, single);
    /* legacy templates prepend "<image>\n" without stripping ([B] run_tiny_llava / cli.py) */
    expect_render("phi_legacy", &one, 1, SYS " USER: <image>\n  What are these?\n ASSISTANT:");
    expect_render("v1", &one, 1, SYS " USER: <image>\n  What are these?\n ASSISTANT:");
    /* the tiny-llava-v1-hf card */
    tlv_chat_turn card = {"What are these?", 1, NULL};
    expect_render("llava_hf", &card, 1, "USER: <image>\nWhat are these?\nASSISTANT:");

    /* two and three turns: EOS after each answer, no space after it */
    tlv_chat_turn three[] = {{"Describe it.", 1, "A red house."}, {"And the sky?", 0, "Blue."}, {" Thanks ", 0, NULL}};
    const struct { const char *name, *eos; } eos[] = {{"phi", "<|endoftext|>"}, {"llama", "</s>"}, {"gemma", "<eos>"},
                                                      {"qwen2_base", "<|endoftext|>"}, {"qwen2_instruct", "<|im_end|>"},
                                                      {"phi_legacy", "<|endoftext|>"}, {"v1", "</s>"}};
    for (int i = 0; i < 7; i++) {
        char want[1024];
        snprintf(want, sizeof want,
                 SYS " USER: <image>\nDescribe it. ASSISTANT: A red house.%sUSER: And the sky? ASSISTANT: Blue.%sUSER:  Thanks  ASSISTANT:",
                 eos[i].eos, eos[i].eos);
        expect_render(eos[i].name, three, 3, want);
    }
    expect_render("llava_hf", three, 3,
                  "USER: <image>\nDescribe it.\nASSISTANT: A red house.</s>USER: And the sky?\nASSISTANT: Blue.</s>USER:  Thanks \nASSISTANT:");

    /* a finished last turn renders without the open ASSISTANT: */
    expect_render("gemma", three, 2, SYS " USER: <image>\nDescribe it. ASSISTANT: A red house.<eos>USER: And the sky? ASSISTANT: Blue.<eos>");

    /* text only, kept verbatim (no strip without an image) */
    tlv_chat_turn text = {" Hello\t", 0, NULL};
    expect_render("phi", &text, 1, SYS " USER:  Hello\t ASSISTANT:");

    /* several images: one placeholder each, in order; images in a later turn too */
    tlv_chat_turn multi[] = {{"\tCompare them. ", 2, "The left one."}, {"And this one?", 1, NULL}};
    expect_render("qwen2_base", multi, 2,
                  SYS " USER: <image>\n<image>\nCompare them. ASSISTANT: The left one.<|endoftext|>USER: <image>\nAnd this one? ASSISTANT:");

    /* a typed "<image>" is removed (replace, then strip, as the Factory does) */
    tlv_chat_turn typed[] = {{"<image>\n What is <image>this?", 1, NULL}};
    expect_render("llama", typed, 1, SYS " USER: <image>\nWhat is this? ASSISTANT:");
    tlv_chat_turn typed_text[] = {{"a<image>b", 0, NULL}};
    expect_render("llama", typed_text, 1, SYS " USER: ab ASSISTANT:");
    /* removing one "<image>" must not join its neighbours into another (fuzz_template found
     * "<image<image>>" rendering as a placeholder no image stands behind; Python's single
     * str.replace would leave it too, and tokenizer_image_token would then count two images) */
    tlv_chat_turn nested[] = {{"<image<image>>\nWhat?", 1, "<im<image>age> ok <<image>image>"}, {"<ima<image>ge>", 0, NULL}};
    expect_render("llama", nested, 2, SYS " USER: <image>\nWhat? ASSISTANT:  ok </s>USER:  ASSISTANT:");

    /* empty question with an image: "<image>\n".strip() == "<image>" */
    tlv_chat_turn empty = {" \n", 1, NULL};
    expect_render("phi", &empty, 1, SYS " USER: <image> ASSISTANT:");
    expect_render("v1", &empty, 1, SYS " USER: <image>\n \n ASSISTANT:");

    /* Python's str.strip() whitespace: NBSP, ideographic space, U+2028, \x1c; not U+200B */
    tlv_chat_turn uni = {"\xc2\xa0\xe3\x80\x80\x1cWhy?\xe2\x80\xa8\xe2\x80\x8b\xc2\xa0", 1, NULL};
    expect_render("phi", &uni, 1, SYS " USER: <image>\nWhy?\xe2\x80\xa8\xe2\x80\x8b ASSISTANT:");
    size_t b, e;
    tlv__py_strip("   ", 3, &b, &e);
    CHECK(b == 0 && e == 0);
    tlv__py_strip("\xff x \xff", 5, &b, &e); /* invalid bytes are not whitespace */
    CHECK(b == 0 && e == 5);
    tlv__py_strip("\x0b\x0c\rok\x85", 6, &b, &e); /* a lone 0x85 byte is invalid UTF-8, not NEL */
    CHECK(b == 3 && e == 6);
    tlv__py_strip("\x0b\x0c\rok\xc2\x85", 7, &b, &e);
    CHECK(b == 3 && e == 5);
}

static void test_bad_input(void)
{
    const tlv_chat_template *t = tlv__template_get(TLV_TEMPLATE_PHI);
    char *out = (char *)1;
    size_t len;
    tlv_err err;
    tlv_chat_turn open_first[] = {{"q1", 1, NULL}, {"q2", 0, NULL}};
    CHECK_EQ_INT(tlv__template_render(t, open_first, 2, NULL, &out, &len, &err), TLV_ERR_INVALID_ARG);
    CHECK(out == NULL);
    CHECK_CONTAINS(err.msg, "only the last turn may be open");
    CHECK_EQ_INT(tlv__template_render(t, open_first, 0, NULL, &out, &len, &err), TLV_ERR_INVALID_ARG);
    tlv_chat_turn no_user = {NULL, 0, NULL};
    CHECK_EQ_INT(tlv__template_render(t, &no_user, 1, NULL, &out, &len, &err), TLV_ERR_INVALID_ARG);
    tlv_chat_turn neg = {"x", -1, NULL};
    CHECK_EQ_INT(tlv__template_render(t, &neg, 1, NULL, &out, &len, &err), TLV_ERR_INVALID_ARG);

    /* out of memory at every allocation: a status, nothing leaked */
    tlv_chat_turn three[] = {{"Describe it.", 1, "A red house."}, {"And the sky?", 0, "Blue."}, {"Thanks", 0, NULL}};
    int ok = 0;
    for (long k = 0; k < 20 && !ok; k++) {
        tlv_allocator a;
        tlv_test_failing_alloc st;
        tlv_test_failing_alloc_init(&a, &st, k);
        tlv_status s = tlv__template_render(t, three, 3, &a, &out, &len, &err);
        if (s == TLV_OK) {
            ok = 1;
            tlv__free(&a, out);
        } else {
            CHECK_EQ_INT(s, TLV_ERR_NO_MEMORY);
            CHECK(out == NULL);
        }
        CHECK_EQ_INT(st.live, 0);
    }
    CHECK(ok);
}

/* tests/models/<case> (tiny checkpoints of the other architectures and generations, rendered by
 * the reference code in tests/models/gen): template choice and the exact prompt. The legacy
 * cases name TinyLLaVABench's conv_mode ("phi", "v1"); ours are phi_legacy and v1. */
static void test_models_cases(void)
{
    DIR *d = opendir(TLV_TEST_DATA "/models");
    if (!d) {
        printf("tests/models not found: skipped\n");
        return;
    }
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char path[1200], dir[1200];
        snprintf(path, sizeof path, "%s/models/%s/expected.json", TLV_TEST_DATA, e->d_name);
        cJSON *exp = e->d_name[0] != '.' ? load_json(path) : NULL;
        snprintf(path, sizeof path, "%s/models/%s/case.json", TLV_TEST_DATA, e->d_name);
        cJSON *cj = exp ? load_json(path) : NULL;
        if (!exp || !cj) {
            cJSON_Delete(exp);
            continue;
        }
        snprintf(dir, sizeof dir, "%s/models/%s/model", TLV_TEST_DATA, e->d_name);
        tlv_model_config *cfg = calloc(1, sizeof *cfg);
        tlv_err err;
        const tlv_chat_template *t = NULL;
        CHECK_EQ_INT(tlv__config_load(dir, cfg, &err), TLV_OK);
        CHECK_EQ_INT(tlv__template_for_config(cfg, NULL, &t, &err), TLV_OK);
        const char *mode = cJSON_GetObjectItem(exp, "conv_mode")->valuestring;
        if (cfg->generation == TLV_GEN_LEGACY && !strcmp(mode, "phi")) mode = "phi_legacy";
        CHECK_EQ_STR(t ? t->name : NULL, mode);
        if (t) CHECK_EQ_STR(t->stop[0], cJSON_GetObjectItem(exp, "stop_str")->valuestring);
        tlv_chat_turn one = {cJSON_GetObjectItem(cj, "prompt")->valuestring, 1, NULL};
        char *s = NULL;
        size_t len;
        if (t) CHECK_EQ_INT(tlv__template_render(t, &one, 1, NULL, &s, &len, &err), TLV_OK);
        CHECK_EQ_STR(s, cJSON_GetObjectItem(exp, "prompt")->valuestring);
        free(s);
        free(cfg);
        cJSON_Delete(exp);
        cJSON_Delete(cj);
        n++;
    }
    closedir(d);
    printf("%d tests/models cases\n", n);
}

int main(void)
{
    test_fixtures();
    test_models_cases();
    test_selection();
    test_hand_checked();
    test_bad_input();
    return tlv_test_finish("test_template");
}
