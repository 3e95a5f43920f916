/* sha256.c: FIPS 180-4 section 6.2, written straight from the standard, plus the x86 SHA
 * extensions (SHA-NI: Intel since Goldmont/Ice Lake, AMD since Zen) when the CPU has them: the
 * portable code does ~100-200 MB/s, less than a fast link delivers a checkpoint, SHA-NI ~1-2 GB/s.
 * Both are checked against the same vectors (tests/hub/test_sha256.c). */
#include "hub/sha256.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TLV_SHA256_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* FIPS 180-4 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64
 * primes. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

/* 6.2.2: one 512-bit block. */
static void compress(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

#ifdef TLV_SHA256_X86
/* The 64 rounds as 16 groups of 4: sha256rnds2 does two rounds on the state split as ABEF and
 * CDGH, sha256msg1/msg2 compute the message schedule 4 words at a time (Intel, "Intel SHA
 * Extensions", white paper, 2013). m[] holds w[4i..4i+3] of the current group in m[i % 4]. */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_shani(uint32_t h[8], const uint8_t *p, size_t n_blocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1); /* CDAB */
    __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);  /* EFGH */
    __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);                                        /* ABEF */
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);                                             /* CDGH */
    for (; n_blocks; n_blocks--, p += 64) {
        __m128i abef = s0, cdgh = s1, m[4];
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 16 /* constant indices keep m[] in registers (clang unrolls by itself) */
#endif
        for (int i = 0; i < 16; i++) {
            if (i < 4) m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
            __m128i msg = _mm_add_epi32(m[i & 3], _mm_loadu_si128((const __m128i *)&K[4 * i]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
            if (i >= 3 && i < 15) { /* w[4(i+1)..] from the four groups before it */
                __m128i next = _mm_add_epi32(m[(i + 1) & 3], _mm_alignr_epi8(m[i & 3], m[(i - 1) & 3], 4));
                m[(i + 1) & 3] = _mm_sha256msg2_epu32(next, m[i & 3]);
            }
            s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(msg, 0x0E));
            if (i >= 1 && i < 13) m[(i - 1) & 3] = _mm_sha256msg1_epu32(m[(i - 1) & 3], m[i & 3]);
        }
        s0 = _mm_add_epi32(s0, abef);
        s1 = _mm_add_epi32(s1, cdgh);
    }
    /* Back from ABEF/CDGH to h[0..3] = A B C D, h[4..7] = E F G H. */
    tmp = _mm_shuffle_epi32(s0, 0x1B);
    s1 = _mm_shuffle_epi32(s1, 0xB1);
    s0 = _mm_blend_epi16(tmp, s1, 0xF0);
    s1 = _mm_alignr_epi8(s1, tmp, 8);
    _mm_storeu_si128((__m128i *)&h[0], s0);
    _mm_storeu_si128((__m128i *)&h[4], s1);
}

static int cpu_has_shani(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3)) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 29) & 1; /* CPUID.(EAX=7,ECX=0):EBX.SHA[bit 29] */
}
#endif

static void compress_blocks(tlv_sha256 *s, const uint8_t *p, size_t n_blocks)
{
#ifdef TLV_SHA256_X86
    if (s->accel) {
        compress_shani(s->h, p, n_blocks);
        return;
    }
#endif
    for (; n_blocks; n_blocks--, p += 64) compress(s->h, p);
}

void tlv__sha256_init_portable(tlv_sha256 *s)
{
    /* 5.3.3: the initial hash value. */
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->n_bytes = 0;
    s->accel = 0;
}

void tlv__sha256_init(tlv_sha256 *s)
{
    tlv__sha256_init_portable(s);
#ifdef TLV_SHA256_X86
    s->accel = cpu_has_shani();
#endif
}

void tlv__sha256_update(tlv_sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    size_t used = (size_t)(s->n_bytes % 64);
    s->n_bytes += n;
    if (used) {
        size_t take = 64 - used < n ? 64 - used : n;
        memcpy(s->block + used, p, take);
        p += take;
        n -= take;
        if (used + take < 64) return;
        compress_blocks(s, s->block, 1);
    }
    compress_blocks(s, p, n / 64);
    p += n / 64 * 64;
    n %= 64;
    if (n) memcpy(s->block, p, n);
}

void tlv__sha256_final(tlv_sha256 *s, uint8_t digest[32])
{
    /* 5.1.1: append 1 bit, zeros to 448 mod 512, then the bit length as 64-bit big endian. */
    uint64_t n_bits = s->n_bytes * 8;
    size_t used = (size_t)(s->n_bytes % 64);
    s->block[used++] = 0x80;
    if (used > 56) {
        memset(s->block + used, 0, 64 - used);
        compress_blocks(s, s->block, 1);
        used = 0;
    }
    memset(s->block + used, 0, 56 - used);
    for (int i = 0; i < 8; i++) s->block[56 + i] = (uint8_t)(n_bits >> (56 - 8 * i));
    compress_blocks(s, s->block, 1);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(s->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)s->h[i];
    }
}

void tlv__sha256_final_hex(tlv_sha256 *s, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t d[32];
    tlv__sha256_final(s, d);
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = 0;
}
