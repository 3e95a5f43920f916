/* bench_tokenizer.c: encode (and decode) throughput on 1 MB of mixed text: the test strings of
 * strings.jsonl (prose, code, CJK, Arabic, Devanagari, emoji, invalid bytes...) repeated. Prints
 * figures only; nothing here asserts a time. Registered as a ctest with the label "bench". */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "text/tokenizer.h"
#include "text/unicode.h"
#include "textdata.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int build_text(tlv_buf *out, size_t target)
{
    size_t n;
    char *lines = textdata_read("strings.jsonl", &n);
    if (!lines) return -1;
    while (out->n < target && !out->oom) {
        char *cur = lines;
        while (*cur && out->n < target) {
            char *nl = strchr(cur, '\n');
            if (nl) *nl = 0;
            cJSON *o = cJSON_Parse(cur);
            if (nl) *nl = '\n';
            const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(o, "t"));
            if (t) {
                tlv__buf_put(out, t, strlen(t));
                tlv__buf_putc(out, '\n');
            }
            cJSON_Delete(o);
            cur = nl ? nl + 1 : cur + strlen(cur);
        }
    }
    free(lines);
    return out->oom ? -1 : 0;
}

int main(void)
{
    char root[512];
    tlv_buf text;
    tlv__buf_init(&text, NULL);
    if (textdata_setup(root, sizeof root) || build_text(&text, 1 << 20)) {
        textdata_cleanup(root);
        return 1;
    }
    static const char *const names[] = {"gpt2", "phi2", "qwen2", "llama"};
    for (int k = 0; k < 4; k++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/%s", root, names[k]);
        tlv_tokenizer *t;
        tlv_err err = {0};
        double t0 = now_s();
        CHECK_EQ_INT(tlv__tokenizer_load(dir, NULL, &t, &err), TLV_OK);
        double t_load = now_s() - t0;
        if (!t) continue;
        int32_t *ids = NULL;
        size_t n_ids = 0;
        t0 = now_s();
        CHECK_EQ_INT(tlv__tokenizer_encode(t, text.p, text.n, 1, &ids, &n_ids, &err), TLV_OK);
        double t_enc = now_s() - t0;
        char *back = NULL;
        size_t back_len = 0;
        t0 = now_s();
        CHECK_EQ_INT(tlv__tokenizer_decode(t, ids, n_ids, 1, &back, &back_len, &err), TLV_OK);
        double t_dec = now_s() - t0;
        printf("%-6s load %6.1f ms | encode %zu bytes -> %zu tokens in %6.1f ms (%.1f MB/s) | decode %6.1f ms\n",
               names[k], 1e3 * t_load, text.n, n_ids, 1e3 * t_enc, (double)text.n / t_enc / 1e6, 1e3 * t_dec);
        free(ids);
        free(back);
        tlv__tokenizer_destroy(t);
    }
    tlv__buf_free(&text);
    textdata_cleanup(root);
    return tlv_test_finish("bench_tokenizer");
}
