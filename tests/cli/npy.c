/* npy.c: a strict reader for float32 C-order .npy files (npy.h). */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int fail(const char *path, const char *why)
{
    fprintf(stderr, "%s: %s\n", path, why);
    return -1;
}

int npy_load(const char *path, npy_array *out)
{
    memset(out, 0, sizeof *out);
    size_t len = 0;
    char *bytes = tlv_test_read_file(path, &len);
    if (!bytes) return fail(path, "cannot read");
    int rc = -1;
    const unsigned char *u = (const unsigned char *)bytes;
    if (len < 12 || memcmp(bytes, "\x93NUMPY", 6)) {
        fail(path, "no NUMPY magic");
        goto out;
    }
    size_t hl, start;
    if (u[6] == 1) {
        hl = (size_t)u[8] | (size_t)u[9] << 8;
        start = 10;
    } else if (u[6] == 2 || u[6] == 3) {
        hl = (size_t)u[8] | (size_t)u[9] << 8 | (size_t)u[10] << 16 | (size_t)u[11] << 24;
        start = 12;
    } else {
        fail(path, "unknown version");
        goto out;
    }
    if (start + hl > len || (start + hl) % 16 || bytes[start + hl - 1] != '\n') {
        fail(path, "header length: data must start at a multiple of 16 after a '\\n'");
        goto out;
    }
    char *hdr = malloc(hl + 1);
    if (!hdr) goto out;
    memcpy(hdr, bytes + start, hl);
    hdr[hl] = 0;
    const char *shape = strstr(hdr, "'shape': (");
    if (!strstr(hdr, "'descr': '<f4'") || !strstr(hdr, "'fortran_order': False") || !shape || hdr[0] != '{') {
        fprintf(stderr, "%s: header %s: expected descr '<f4', fortran_order False and a shape\n", path, hdr);
        free(hdr);
        goto out;
    }
    const char *s = shape + strlen("'shape': (");
    out->n = 1;
    while (*s != ')') {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || out->ndim == 8) break;
        out->shape[out->ndim++] = v;
        out->n *= (size_t)v;
        s = end;
        while (*s == ',' || *s == ' ') s++;
    }
    int shape_ok = *s == ')' && out->ndim > 0;
    free(hdr);
    if (!shape_ok) {
        fail(path, "cannot parse the shape");
        goto out;
    }
    if (len - start - hl != out->n * sizeof(float)) {
        fprintf(stderr, "%s: %zu data bytes for %zu floats\n", path, len - start - hl, out->n);
        goto out;
    }
    out->data = malloc(out->n * sizeof(float) + 1);
    if (!out->data) goto out;
    memcpy(out->data, bytes + start + hl, out->n * sizeof(float)); /* little-endian host (x86-64, aarch64) */
    rc = 0;
out:
    free(bytes);
    return rc;
}

void npy_free(npy_array *a)
{
    free(a->data);
    memset(a, 0, sizeof *a);
}
