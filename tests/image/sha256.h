/* sha256.h: SHA-256 (FIPS 180-4) for the image tests, which store Pillow's results as digests. */
#ifndef TLV_TESTS_IMAGE_SHA256_H
#define TLV_TESTS_IMAGE_SHA256_H

#include <stddef.h>

/* Writes the lowercase hex digest of data[0..n) to hex (65 bytes with the NUL). */
void test_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
