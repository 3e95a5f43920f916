/* sha256.h: SHA-256 (FIPS 180-4), streaming, for checking downloaded LFS files against the sha256
 * the Hugging Face hub reports (X-Linked-Etag).
 *
 * Why our own: libcurl does not export a hash API (Debian's build links OpenSSL/GnuTLS
 * internally, but linking libcrypto directly for one hash would add a dependency that the Android
 * build would have to carry too). A published algorithm in ~100 lines (+40 for x86 SHA-NI),
 * checked against the FIPS 180-4 examples and Python's hashlib (tests/hub/test_sha256.c). */
#ifndef TLV_HUB_SHA256_H
#define TLV_HUB_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct tlv_sha256 {
    uint32_t h[8];
    uint64_t n_bytes;      /* message length so far */
    uint8_t block[64];     /* pending bytes, n_bytes % 64 of them */
    int accel;             /* 1: the CPU's SHA instructions (x86 SHA-NI) */
} tlv_sha256;

/* Starts a hash; uses the CPU's SHA instructions when it has them. */
void tlv__sha256_init(tlv_sha256 *s);
/* Same, always the portable C code (tests compare the two). */
void tlv__sha256_init_portable(tlv_sha256 *s);
void tlv__sha256_update(tlv_sha256 *s, const void *data, size_t n);
/* Writes the 32-byte digest; s must be re-initialised before reuse. */
void tlv__sha256_final(tlv_sha256 *s, uint8_t digest[32]);
/* Lower-case hex of the digest: 64 characters + NUL. */
void tlv__sha256_final_hex(tlv_sha256 *s, char hex[65]);

#endif
