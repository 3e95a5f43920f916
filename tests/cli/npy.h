/* npy.h: reading the float32 .npy files `tinyllava run --dump` writes (NumPy format 1.0/2.0,
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html): magic "\x93NUMPY",
 * version, header length (u16 for 1.x, u32 for 2.x, little endian), a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (a, b), } padded with spaces and '\n', then
 * the data in C order. Anything else is rejected with a message. */
#ifndef TLV_TESTS_CLI_NPY_H
#define TLV_TESTS_CLI_NPY_H

#include <stddef.h>
#include <stdint.h>

typedef struct npy_array {
    int ndim;
    int64_t shape[8];
    size_t n;       /* product of shape */
    float *data;    /* malloc'ed */
} npy_array;

/* Returns 0 on success; otherwise prints why to stderr and returns -1. */
int npy_load(const char *path, npy_array *out);
void npy_free(npy_array *a);

#endif
