/* test_cli_surface: the command's surface and its documented exit codes (docs/CLI.md):
 *
 *   --help, help, COMMAND --help, no arguments (usage on stderr, 2), --version
 *   devices, devices --json (parses; one device selected), devices --verbose (tuning records), --device N|NAME
 *   1  a prompt longer than the context (-c)
 *   2  unknown command or option, an unknown --template, an option without its value, a non-number, run without
 *      -p/--image, too many images, too many arguments, a file given as the model
 *   3  no Vulkan driver (VK_ICD_FILENAMES / VK_DRIVER_FILES pointing nowhere), --device naming
 *      no device
 *   4  a model folder that does not exist, a folder that is not a model, a missing image,
 *      a truncated PNG, a file that is no image, an empty image file
 *   5  a Hugging Face id with no network (HF_ENDPOINT on a closed port)
 *   4  offline (--offline, HF_HUB_OFFLINE=1) and not in the cache
 * Each error message must name the thing that is wrong. */
#include <stdlib.h>

#include "common.h"
#include "tinyllava.h"

static char g_root[512];

#define MODEL FIXTURES "/phi2_siglip_square/model"
#define IMAGE FIXTURES "/phi2_siglip_square/image.png"

/* Runs args, checks the exit code and that stderr contains `msg` (if not NULL). */
static void expect(const char *const *args, const proc_opts *o, int code, const char *msg)
{
    proc p;
    CHECK_EQ_INT(proc_run(&p, args, o, NULL, 60), code);
    if (msg) CHECK_CONTAINS(p.err.p, msg);
    if (code != 0) CHECK_EQ_STR(p.out.p, ""); /* errors go to stderr only */
    proc_free(&p);
}

static void help_and_version(void)
{
    proc p;
    const char *help[] = {"--help", NULL};
    CHECK_EQ_INT(proc_run(&p, help, NULL, NULL, 30), 0);
    CHECK_CONTAINS(p.out.p, "usage: tinyllava COMMAND");
    const char *commands[] = {"run", "chat", "devices", "info", "tokenize", "pull"};
    for (int i = 0; i < 6; i++) CHECK_CONTAINS(p.out.p, commands[i]);
    CHECK_CONTAINS(p.out.p, "exit codes:");
    proc_free(&p);
    const char *help2[] = {"help", NULL};
    CHECK_EQ_INT(proc_run(&p, help2, NULL, NULL, 30), 0);
    CHECK_CONTAINS(p.out.p, "usage:");
    proc_free(&p);
    const char *help3[] = {"run", "--help", NULL};
    CHECK_EQ_INT(proc_run(&p, help3, NULL, NULL, 30), 0);
    CHECK_CONTAINS(p.out.p, "--image PATH");
    proc_free(&p);
    const char *none[] = {NULL};
    CHECK_EQ_INT(proc_run(&p, none, NULL, NULL, 30), 2);
    CHECK_CONTAINS(p.err.p, "usage:");
    CHECK_EQ_STR(p.out.p, "");
    proc_free(&p);
    const char *version[] = {"--version", NULL};
    CHECK_EQ_INT(proc_run(&p, version, NULL, NULL, 30), 0);
    char want[64];
    snprintf(want, sizeof want, "tinyllava %s\n", tlv_version());
    CHECK(!strncmp(p.out.p, want, strlen(want)));
    CHECK_CONTAINS(p.out.p, tlv_build_info());
    proc_free(&p);
}

static void devices(void)
{
    proc p;
    const char *plain[] = {"devices", NULL};
    CHECK_EQ_INT(proc_run(&p, plain, NULL, NULL, 60), 0);
    CHECK(p.out.p[0] == '*' || strstr(p.out.p, "\n*") != NULL); /* the selected device */
    CHECK_CONTAINS(p.out.p, " | vk 1.");
    CHECK(strstr(p.out.p, "tuning: ") == NULL);
    proc_free(&p);

    /* --verbose: each device's tuning record too; a bad TLV_TUNE_* switch is named, exit 2 */
    const char *verbose[] = {"devices", "--verbose", NULL};
    CHECK_EQ_INT(proc_run(&p, verbose, NULL, NULL, 60), 0);
    CHECK_CONTAINS(p.out.p, "\n   tuning: row: ");
    CHECK_CONTAINS(p.out.p, "| matvec ");
    proc_free(&p);
    const char *bad_tune_env[] = {"TLV_TUNE_MV_MODE=9", NULL};
    proc_opts bad_tune = {bad_tune_env, 0};
    expect(verbose, &bad_tune, 2, "TLV_TUNE_MV_MODE=9: expected a whole number 0..2");

    const char *json[] = {"devices", "--json", NULL};
    CHECK_EQ_INT(proc_run(&p, json, NULL, NULL, 60), 0);
    cJSON *j = cJSON_Parse(p.out.p);
    CHECK(cJSON_IsArray(j) && cJSON_GetArraySize(j) >= 1);
    int selected = 0, n = cJSON_GetArraySize(j);
    const char *first_name = NULL;
    for (const cJSON *d = j ? j->child : NULL; d; d = d->next) {
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(d, "index")));
        CHECK(cJSON_IsString(cJSON_GetObjectItem(d, "name")));
        CHECK(cJSON_IsString(cJSON_GetObjectItem(d, "type")));
        CHECK(cJSON_IsString(cJSON_GetObjectItem(d, "driver")));
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(d, "vendor_id")));
        CHECK(cJSON_IsNumber(cJSON_GetObjectItem(d, "memory_bytes")));
        CHECK_CONTAINS(cJSON_GetStringValue(cJSON_GetObjectItem(d, "banner")), "storage range");
        selected += cJSON_IsTrue(cJSON_GetObjectItem(d, "selected"));
        if (!first_name) first_name = cJSON_GetStringValue(cJSON_GetObjectItem(d, "name"));
    }
    CHECK_EQ_INT(selected, 1);
    proc_free(&p);

    /* choosing: by index, by a piece of the name, through TLV_DEVICE */
    char last[16], name_part[8] = "";
    snprintf(last, sizeof last, "%d", n - 1);
    if (first_name) snprintf(name_part, sizeof name_part, "%.4s", first_name);
    const char *by_index[] = {"devices", "--json", "--device", last, NULL};
    CHECK_EQ_INT(proc_run(&p, by_index, NULL, NULL, 60), 0);
    cJSON *k = cJSON_Parse(p.out.p);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(k, n - 1), "selected")));
    cJSON_Delete(k);
    proc_free(&p);
    const char *by_name[] = {"devices", "--device", name_part, NULL};
    CHECK_EQ_INT(proc_run(&p, by_name, NULL, NULL, 60), 0);
    proc_free(&p);
    char env_dev[32];
    snprintf(env_dev, sizeof env_dev, "TLV_DEVICE=%d", n - 1);
    const char *env[] = {env_dev, NULL};
    proc_opts o = {env, 0};
    CHECK_EQ_INT(proc_run(&p, json, &o, NULL, 60), 0);
    k = cJSON_Parse(p.out.p);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(k, n - 1), "selected")));
    cJSON_Delete(k);
    proc_free(&p);
    cJSON_Delete(j);

    /* 3: no such device, no driver */
    const char *bad_index[] = {"devices", "--device", "99", NULL};
    expect(bad_index, NULL, 3, "device 99 does not exist");
    const char *bad_name[] = {"run", "-m", MODEL, "-p", "hi", "--device", "NoSuchGPU-xyz", NULL};
    expect(bad_name, NULL, 3, "no Vulkan device name contains 'NoSuchGPU-xyz'");
    const char *no_icd[] = {"VK_ICD_FILENAMES=/nonexistent/icd.json", "VK_DRIVER_FILES=/nonexistent/icd.json", NULL};
    proc_opts none = {no_icd, 0};
    expect(plain, &none, 3, "no Vulkan driver");
    const char *run[] = {"run", "-m", MODEL, "-p", "hi", NULL};
    expect(run, &none, 3, "no Vulkan driver");
}

static void usage_errors(void)
{
    const char *unknown_cmd[] = {"frobnicate", NULL};
    expect(unknown_cmd, NULL, 2, "unknown command 'frobnicate'");
    const char *unknown_opt[] = {"run", "-m", MODEL, "-p", "hi", "--bogus", NULL};
    expect(unknown_opt, NULL, 2, "unknown option '--bogus'");
    const char *no_value[] = {"run", "-p", "hi", "-m", NULL};
    expect(no_value, NULL, 2, "-m needs a value");
    const char *not_number[] = {"run", "-m", MODEL, "-p", "hi", "-n", "many", NULL};
    expect(not_number, NULL, 2, "-n: 'many' is not a number");
    const char *not_number2[] = {"run", "-m", MODEL, "-p", "hi", "--temp", "0.5x", NULL};
    expect(not_number2, NULL, 2, "--temp: '0.5x' is not a number");
    const char *no_prompt[] = {"run", "-m", MODEL, NULL};
    expect(no_prompt, NULL, 2, "run needs -p TEXT and/or --image PATH");
    const char *many[40] = {"run", "-m", MODEL, "-p", "hi"};
    int n = 5;
    for (int i = 0; i < 17; i++) {
        many[n++] = "--image";
        many[n++] = IMAGE;
    }
    many[n] = NULL;
    expect(many, NULL, 2, "at most 16 images");
    const char *bad_template[] = {"run", "-m", MODEL, "-p", "hi", "--template", "alpaca", NULL};
    expect(bad_template, NULL, 2, "unknown chat template 'alpaca'");
    const char *extra[] = {"info", "a", "b", "c", "d", "e", "f", "g", "h", "i", NULL};
    expect(extra, NULL, 2, "unexpected argument 'i'");
}

/* 1: a runtime limit: the prompt (48 image rows + the text) does not fit a 64-position context */
static void runtime_errors(void)
{
    const char *small_ctx[] = {"run", "-m", MODEL, "--image", IMAGE, "-p", "What is the weather like in this picture?",
                               "-c", "64", NULL};
    expect(small_ctx, NULL, 1, "exceeds the context of 64");
}

static void file_errors(void)
{
    const char *no_dir[] = {"run", "-m", "/nonexistent/model", "-p", "hi", NULL};
    expect(no_dir, NULL, 4, "/nonexistent/model: no such folder");
    const char *info_no_dir[] = {"info", "-m", "/nonexistent/model", NULL};
    expect(info_no_dir, NULL, 4, "/nonexistent/model: no such folder");
    const char *not_model[] = {"run", "-m", FIXTURES, "-p", "hi", NULL};
    expect(not_model, NULL, 4, NULL);
    /* a file where a folder or id belongs: the hub layer calls that an invalid argument (2) */
    const char *file_model[] = {"run", "-m", IMAGE, "-p", "hi", NULL};
    expect(file_model, NULL, 2, "is a file: expected a model folder");
    const char *no_image[] = {"run", "-m", MODEL, "--image", "/nonexistent/cat.jpg", "-p", "hi", NULL};
    expect(no_image, NULL, 4, "/nonexistent/cat.jpg: cannot open image");

    /* a truncated PNG: the fixture's first 300 bytes */
    size_t len = 0;
    char *png = tlv_test_read_file(IMAGE, &len);
    char path[600], empty[600];
    snprintf(path, sizeof path, "%s/truncated.png", g_root);
    CHECK(png && len > 300 && ct_write(path, png, 300) == 0);
    free(png);
    const char *trunc[] = {"run", "-m", MODEL, "--image", path, "-p", "hi", NULL};
    expect(trunc, NULL, 4, "corrupt or truncated PNG");
    const char *not_image[] = {"run", "-m", MODEL, "--image", MODEL "/config.json", "-p", "hi", NULL};
    expect(not_image, NULL, 4, "not a JPEG, PNG, BMP, GIF or TGA image");
    snprintf(empty, sizeof empty, "%s/empty.jpg", g_root);
    CHECK_EQ_INT(ct_write(empty, "", 0), 0);
    const char *empty_image[] = {"run", "-m", MODEL, "--image", empty, "-p", "hi", NULL};
    expect(empty_image, NULL, 4, "empty file");
}

static void network_errors(void)
{
    /* a Hugging Face id: HF_ENDPOINT is a closed port (proc.h) */
    const char *run_id[] = {"run", "-m", "tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B", "-p", "hi", NULL};
    expect(run_id, NULL, 5, "cannot reach http://127.0.0.1:");
    const char *pull_id[] = {"pull", "tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B", NULL};
    expect(pull_id, NULL, 5, "cannot reach");
    const char *tok_id[] = {"tokenize", "-m", "Zhang199/TinyLLaVA-Qwen2-0.5B-SigLIP", "hello", NULL};
    expect(tok_id, NULL, 5, "cannot reach");
    /* offline: no request, "not in the cache" */
    const char *offline[] = {"pull", "tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B", "--offline", NULL};
    expect(offline, NULL, 4, "offline");
    const char *env[] = {"HF_HUB_OFFLINE=1", NULL};
    proc_opts o = {env, 0};
    expect(pull_id, &o, 4, "offline");
    const char *bad_id[] = {"pull", "not an id", NULL};
    expect(bad_id, NULL, 4, NULL);
}

int main(int argc, char **argv)
{
    if (ct_setup(argc, argv, g_root, sizeof g_root)) return 1;
    help_and_version();
    devices();
    usage_errors();
    runtime_errors();
    file_errors();
    network_errors();
    proc_cleanup();
    return tlv_test_finish("test_cli_surface");
}
