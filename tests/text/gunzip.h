/* gunzip.h: decompresses a whole .gz file held in memory (test code only). */
#ifndef TLV_TESTS_TEXT_GUNZIP_H
#define TLV_TESTS_TEXT_GUNZIP_H

#include <stddef.h>

/* Returns malloc'ed bytes (NUL-terminated; *out_len excludes the NUL) or NULL if corrupt. */
unsigned char *test_gunzip(const unsigned char *gz, size_t n, size_t *out_len);

#endif
