/* fuzz_common.h: what the libFuzzer targets share (docs/TESTING.md).
 *
 * The parsers read files from a directory (as the runtime does: a checkpoint is a folder), so a
 * target writes its input into a private temporary directory and calls the same entry point the
 * runtime calls. That keeps the parsers free of fuzzing-only code paths.
 *
 * Multi-file inputs (a config with its preprocessor config, a tokenizer folder) are one byte
 * string holding several files, each introduced by a header line at the start of a line:
 *
 *   #tlv-fuzz config.json
 *   {"model_type": ...}
 *   #tlv-fuzz preprocessor_config.json
 *   {...}
 *
 * A file runs to the newline before the next header (that newline is not part of it) or to the
 * end. Names outside the target's list are ignored, so the fuzzer cannot write elsewhere. */
#ifndef TLV_FUZZ_COMMON_H
#define TLV_FUZZ_COMMON_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_HEADER "#tlv-fuzz "

typedef struct fuzz_file {
    const char *name;
    const uint8_t *data;
    size_t n;
} fuzz_file;

static char fuzz_dir[256];

static inline void fuzz_cleanup_dir(void)
{
    if (!fuzz_dir[0]) return;
    DIR *d = opendir(fuzz_dir); /* holds only what our target wrote */
    char path[512];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(fuzz_dir);
}

/* The per-process scratch directory, made once (libFuzzer runs inputs one after another in one
 * process, so one directory per process is enough even with -jobs=N). */
static inline const char *fuzz_scratch(void)
{
    if (fuzz_dir[0]) return fuzz_dir;
    const char *tmp = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/tlv-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fuzz_dir)) {
        perror("tlv fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_cleanup_dir);
    return fuzz_dir;
}

/* Writes dir/name (n bytes); a failure to write is the harness's fault, not the parser's. */
static inline void fuzz_write(const char *name, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_scratch(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
        perror(path);
        abort();
    }
}

static inline void fuzz_remove(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_scratch(), name);
    unlink(path);
}

static inline const uint8_t *fuzz_find_header(const uint8_t *p, const uint8_t *end)
{
    const size_t hl = sizeof FUZZ_HEADER - 1;
    for (; (size_t)(end - p) >= hl; p++) {
        const uint8_t *q = memchr(p, '#', (size_t)(end - p));
        if (!q || (size_t)(end - q) < hl) return NULL;
        if (!memcmp(q, FUZZ_HEADER, hl) && (q == p || q[-1] == '\n')) return q;
        p = q;
    }
    return NULL;
}

/* Splits data into files (see above). Returns how many of the `known` names were found (at most
 * max_files); a name given twice keeps its first copy. Data before the first header is
 * ignored. */
static inline size_t fuzz_split(const uint8_t *data, size_t n, const char *const *known, size_t n_known, fuzz_file *out,
                         size_t max_files)
{
    const uint8_t *end = data + n, *h = n >= sizeof FUZZ_HEADER - 1 && !memcmp(data, FUZZ_HEADER, sizeof FUZZ_HEADER - 1)
                                            ? data : fuzz_find_header(data, end);
    size_t count = 0;
    while (h) {
        const uint8_t *name = h + sizeof FUZZ_HEADER - 1, *nl = memchr(name, '\n', (size_t)(end - name));
        const uint8_t *body = nl ? nl + 1 : end, *next = nl ? fuzz_find_header(body, end) : NULL;
        const uint8_t *body_end = next ? next - 1 : end;
        if (body_end < body) body_end = body;
        size_t name_len = (size_t)((nl ? nl : end) - name);
        for (size_t k = 0; k < n_known && count < max_files; k++) {
            if (strlen(known[k]) != name_len || memcmp(known[k], name, name_len)) continue;
            int dup = 0;
            for (size_t j = 0; j < count; j++) dup |= out[j].name == known[k];
            if (!dup) out[count++] = (fuzz_file){known[k], body, (size_t)(body_end - body)};
            break;
        }
        h = next;
    }
    return count;
}

/* A NUL-terminated copy (the caller frees it). */
static inline char *fuzz_strndup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) abort();
    if (n) memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* TLV_FUZZ_VERBOSE=1: print each call's outcome (for reading what a seed or a crash input does). */
static inline void fuzz_report(const char *what, int status, const char *msg)
{
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("TLV_FUZZ_VERBOSE") && atoi(getenv("TLV_FUZZ_VERBOSE")) > 0;
    if (verbose) fprintf(stderr, "%s: %s\n", what, status ? msg : "ok");
}

/* A failed call must explain itself: a status other than OK comes with a message. */
#define FUZZ_EXPECT(cond)                                                                       \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

#endif
