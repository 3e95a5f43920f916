/* Bad inputs (SQLite's corruptN tests, zstd's folder of bad inputs): every line of cases.txt
 * names a file or directory under data/, the status it must produce and a substring of the
 * message. Each must fail cleanly: the right status, a message naming the file and what is
 * wrong, no crash, no leak (this test runs under ASan + UBSan in CI), and no half-built object
 * handed out. Regenerate with gen/make_bad.py. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "formats/config.h"
#include "formats/safetensors.h"
#include "image/image.h"
#include "model/model.h"
#include "model/source.h"

static tlv_status status_from_name(const char *s)
{
    static const struct { const char *name; tlv_status st; } map[] = {
        {"FORMAT", TLV_ERR_FORMAT}, {"UNSUPPORTED", TLV_ERR_UNSUPPORTED}, {"NOT_FOUND", TLV_ERR_NOT_FOUND},
        {"IO", TLV_ERR_IO}, {"INVALID_ARG", TLV_ERR_INVALID_ARG}, {"NO_MEMORY", TLV_ERR_NO_MEMORY},
        {"LIMIT", TLV_ERR_LIMIT}, {"SHAPE", TLV_ERR_SHAPE}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(map[i].name, s)) return map[i].st;
    return TLV_OK;
}

static tlv_status run_case(const char *kind, const char *path, tlv_err *err)
{
    tlv__err_clear(err);
    if (!strcmp(kind, "st") || !strcmp(kind, "ckpt")) {
        tlv_checkpoint *c = (tlv_checkpoint *)1;
        tlv_status st = kind[0] == 's' ? tlv__safetensors_open(path, NULL, &c, err) : tlv__checkpoint_open(path, NULL, &c, err);
        CHECK(c == NULL); /* a failed open hands out nothing */
        if (st == TLV_OK && c) tlv__checkpoint_destroy(c);
        return st;
    }
    if (!strcmp(kind, "config")) {
        tlv_model_config *cfg = calloc(1, sizeof *cfg);
        tlv_status st = tlv__config_load(path, cfg, err);
        free(cfg);
        return st;
    }
    if (!strcmp(kind, "model")) {
        /* the loader's first pass, no device: every name, shape and dtype against config.json */
        tlv_weight_source *src = NULL;
        tlv_status st = tlv__source_checkpoint(NULL, path, NULL, NULL, &src, err);
        if (!st) st = tlv__model_plan(path, src, NULL, err);
        if (src) src->destroy(src);
        return st;
    }
    if (!strcmp(kind, "image")) {
        tlv_image img;
        tlv_status st = tlv__image_load_file(path, 0, NULL, &img, err);
        CHECK(img.rgb == NULL); /* a failed load hands out nothing */
        if (st == TLV_OK) tlv__image_free(NULL, &img);
        return st;
    }
    CHECK(!"unknown kind in cases.txt");
    return TLV_OK;
}

int main(void)
{
    size_t n;
    char *text = tlv_test_read_file(TLV_TEST_DATA "/bad/cases.txt", &n);
    CHECK(text != NULL);
    if (!text) return tlv_test_finish("test_bad");
    int n_cases = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !line[0]) continue;
        char *kind = line, *rel = strchr(kind, '|'), *stname = rel ? strchr(rel + 1, '|') : NULL;
        char *msg = stname ? strchr(stname + 1, '|') : NULL;
        CHECK(msg != NULL);
        if (!msg) continue;
        *rel++ = 0;
        *stname++ = 0;
        *msg++ = 0;
        char path[1024];
        snprintf(path, sizeof path, "%s/bad/data/%s", TLV_TEST_DATA, rel);
        tlv_err err;
        tlv_status want = status_from_name(stname), got = run_case(kind, path, &err);
        int before = tlv_test_failures;
        CHECK(want != TLV_OK);
        CHECK_EQ_INT(got, want);
        CHECK_EQ_INT(err.status, want);
        CHECK_CONTAINS(err.msg, msg);
        /* the message names the file (or directory) it is about */
        const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
        CHECK_CONTAINS(err.msg, base);
        if (tlv_test_failures != before) fprintf(stderr, "  case %s (%s)\n", rel, kind);
        n_cases++;
    }
    /* the control of the model cases: the same quantized folder with its own config.json */
    tlv_err err;
    tlv_status sound = run_case("model", TLV_TEST_DATA "/bad/data/model/q_sound", &err);
    if (sound) fprintf(stderr, "model/q_sound: %s\n", err.msg);
    CHECK_EQ_INT(sound, TLV_OK);
    printf("%d bad inputs\n", n_cases);
    CHECK(n_cases >= 70);
    free(text);
    return tlv_test_finish("test_bad");
}
