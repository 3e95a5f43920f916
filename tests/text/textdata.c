#define _XOPEN_SOURCE 700
#include "textdata.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gunzip.h"
#include "harness.h"

char *textdata_read(const char *rel, size_t *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/text/data/%s", TLV_TEST_DATA, rel);
    size_t len;
    char *raw = tlv_test_read_file(path, &len);
    if (!raw) {
        fprintf(stderr, "cannot read %s\n", path);
        return NULL;
    }
    size_t k = strlen(rel);
    if (k < 3 || strcmp(rel + k - 3, ".gz")) {
        *n = len;
        return raw;
    }
    char *out = (char *)test_gunzip((const unsigned char *)raw, len, n);
    free(raw);
    if (!out) fprintf(stderr, "%s: corrupt gzip data\n", path);
    return out;
}

int textdata_write(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int textdata_mkdir(const char *path)
{
    return mkdir(path, 0700) == 0 ? 0 : -1;
}

static int copy_in(const char *root, const char *dir, const char *rel, const char *name)
{
    size_t n;
    char *d = textdata_read(rel, &n);
    if (!d) return -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
    int rc = textdata_write(path, d, n);
    free(d);
    return rc;
}

int textdata_setup(char *root, size_t root_size)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, root_size, "%s/tlv_text_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) return -1;
    static const char *const dirs[] = {"gpt2", "phi2", "qwen2", "llama", "llama_legacy", "llama_json", "phi2_strip", "qwen2_bare"};
    char path[1024];
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(path, sizeof path, "%s/%s", root, dirs[i]);
        if (textdata_mkdir(path)) return -1;
    }
    static const char *const cfg[] = {"tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"};
    int rc = 0;
    rc |= copy_in(root, "gpt2", "gpt2/vocab.json.gz", "vocab.json");
    rc |= copy_in(root, "gpt2", "gpt2/merges.txt.gz", "merges.txt");
    rc |= copy_in(root, "phi2", "gpt2/vocab.json.gz", "vocab.json");
    rc |= copy_in(root, "phi2", "gpt2/merges.txt.gz", "merges.txt");
    rc |= copy_in(root, "phi2_strip", "gpt2/vocab.json.gz", "vocab.json");
    rc |= copy_in(root, "phi2_strip", "gpt2/merges.txt.gz", "merges.txt");
    rc |= copy_in(root, "qwen2", "qwen2.5/vocab.json.gz", "vocab.json");
    rc |= copy_in(root, "qwen2_bare", "qwen2.5/vocab.json.gz", "vocab.json");
    rc |= copy_in(root, "qwen2_bare", "qwen2.5/merges.txt.gz", "merges.txt");
    rc |= copy_in(root, "qwen2", "qwen2.5/merges.txt.gz", "merges.txt");
    for (int i = 0; i < 3; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "phi2/%s", cfg[i]);
        rc |= copy_in(root, "phi2", rel, cfg[i]);
        snprintf(rel, sizeof rel, "phi2_strip/%s", cfg[i]);
        rc |= copy_in(root, "phi2_strip", rel, cfg[i]);
        snprintf(rel, sizeof rel, "qwen2/%s", cfg[i]);
        rc |= copy_in(root, "qwen2", rel, cfg[i]);
    }
    rc |= copy_in(root, "llama", "llama2/tokenizer.model.gz", "tokenizer.model");
    rc |= copy_in(root, "llama", "llama/tokenizer_config.json", "tokenizer_config.json");
    rc |= copy_in(root, "llama", "llama/special_tokens_map.json", "special_tokens_map.json");
    rc |= copy_in(root, "llama_legacy", "llama2/tokenizer.model.gz", "tokenizer.model");
    rc |= copy_in(root, "llama_json", "llama_json/tokenizer.json.gz", "tokenizer.json");
    rc |= copy_in(root, "llama_json", "llama/tokenizer_config.json", "tokenizer_config.json");
    rc |= copy_in(root, "llama_json", "llama/special_tokens_map.json", "special_tokens_map.json");
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void textdata_cleanup(const char *root)
{
    if (root && *root) nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
