/* gunzip.c: a small gzip reader for the test data (RFC 1952 around RFC 1951 inflate), after
 * Mark Adler's puff.c. Test code only: the library never reads compressed files. */
#include "gunzip.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct inflate_state {
    const unsigned char *in;
    size_t in_len, in_pos;
    unsigned bitbuf, bitcnt;
    unsigned char *out;
    size_t out_len, out_cap;
    jmp_buf fail;
} inflate_state;

typedef struct huffman {
    short count[16];
    short symbol[320];
} huffman;

static unsigned bits(inflate_state *s, unsigned need)
{
    unsigned long val = s->bitbuf;
    while (s->bitcnt < need) {
        if (s->in_pos >= s->in_len) longjmp(s->fail, 1);
        val |= (unsigned long)s->in[s->in_pos++] << s->bitcnt;
        s->bitcnt += 8;
    }
    s->bitbuf = (unsigned)(val >> need);
    s->bitcnt -= need;
    return (unsigned)(val & ((1UL << need) - 1));
}

static void put(inflate_state *s, unsigned char c)
{
    if (s->out_len == s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap * 2 : 1 << 16;
        unsigned char *p = realloc(s->out, cap);
        if (!p) longjmp(s->fail, 1);
        s->out = p;
        s->out_cap = cap;
    }
    s->out[s->out_len++] = c;
}

static int decode(inflate_state *s, const huffman *h)
{
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; len++) {
        code |= (int)bits(s, 1);
        int count = h->count[len];
        if (code - count < first) return h->symbol[index + (code - first)];
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    longjmp(s->fail, 1);
}

static void construct(huffman *h, const short *length, int n)
{
    short offs[16];
    memset(h->count, 0, sizeof h->count);
    for (int i = 0; i < n; i++) h->count[length[i]]++;
    offs[1] = 0;
    for (int len = 1; len < 15; len++) offs[len + 1] = (short)(offs[len] + h->count[len]);
    for (int i = 0; i < n; i++)
        if (length[i]) h->symbol[offs[length[i]]++] = (short)i;
}

static void codes(inflate_state *s, const huffman *lencode, const huffman *distcode)
{
    static const short lbase[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const short lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const short dbase[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const short dext[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    for (;;) {
        int symbol = decode(s, lencode);
        if (symbol < 256) {
            put(s, (unsigned char)symbol);
        } else if (symbol == 256) {
            return;
        } else {
            symbol -= 257;
            if (symbol >= 29) longjmp(s->fail, 1);
            size_t len = (size_t)lbase[symbol] + bits(s, (unsigned)lext[symbol]);
            symbol = decode(s, distcode);
            if (symbol < 0 || symbol >= 30) longjmp(s->fail, 1);
            size_t dist = (size_t)dbase[symbol] + bits(s, (unsigned)dext[symbol]);
            if (dist > s->out_len) longjmp(s->fail, 1);
            while (len--) put(s, s->out[s->out_len - dist]);
        }
    }
}

static void fixed(inflate_state *s)
{
    static huffman lencode, distcode;
    short lengths[288];
    int i = 0;
    for (; i < 144; i++) lengths[i] = 8;
    for (; i < 256; i++) lengths[i] = 9;
    for (; i < 280; i++) lengths[i] = 7;
    for (; i < 288; i++) lengths[i] = 8;
    construct(&lencode, lengths, 288);
    for (i = 0; i < 30; i++) lengths[i] = 5;
    construct(&distcode, lengths, 30);
    codes(s, &lencode, &distcode);
}

static void dynamic(inflate_state *s)
{
    static const short order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    short lengths[320];
    huffman lencode, distcode;
    int nlen = (int)bits(s, 5) + 257, ndist = (int)bits(s, 5) + 1, ncode = (int)bits(s, 4) + 4;
    if (nlen > 286 || ndist > 30) longjmp(s->fail, 1);
    int index = 0;
    for (; index < ncode; index++) lengths[order[index]] = (short)bits(s, 3);
    for (; index < 19; index++) lengths[order[index]] = 0;
    construct(&lencode, lengths, 19);
    index = 0;
    while (index < nlen + ndist) {
        int symbol = decode(s, &lencode), len = 0;
        if (symbol < 16) {
            lengths[index++] = (short)symbol;
            continue;
        }
        if (symbol == 16) {
            if (index == 0) longjmp(s->fail, 1);
            len = lengths[index - 1];
            symbol = 3 + (int)bits(s, 2);
        } else if (symbol == 17) {
            symbol = 3 + (int)bits(s, 3);
        } else {
            symbol = 11 + (int)bits(s, 7);
        }
        if (index + symbol > nlen + ndist) longjmp(s->fail, 1);
        while (symbol--) lengths[index++] = (short)len;
    }
    construct(&lencode, lengths, nlen);
    construct(&distcode, lengths + nlen, ndist);
    codes(s, &lencode, &distcode);
}

unsigned char *test_gunzip(const unsigned char *gz, size_t n, size_t *out_len)
{
    /* Header: 1f 8b 08 flags mtime(4) xfl os [extra] [name] [comment] [hcrc]. */
    if (n < 18 || gz[0] != 0x1f || gz[1] != 0x8b || gz[2] != 8) return NULL;
    size_t pos = 10;
    int flags = gz[3];
    if (flags & 4) pos += 2 + (size_t)(gz[10] | gz[11] << 8);
    if (flags & 8) while (pos < n && gz[pos++]) {}
    if (flags & 16) while (pos < n && gz[pos++]) {}
    if (flags & 2) pos += 2;
    if (pos >= n) return NULL;
    inflate_state s;
    memset(&s, 0, sizeof s);
    s.in = gz + pos;
    s.in_len = n - pos;
    if (setjmp(s.fail)) {
        free(s.out);
        return NULL;
    }
    int last;
    do {
        last = (int)bits(&s, 1);
        int type = (int)bits(&s, 2);
        if (type == 0) {
            s.bitbuf = s.bitcnt = 0;
            if (s.in_pos + 4 > s.in_len) longjmp(s.fail, 1);
            size_t len = s.in[s.in_pos] | (size_t)s.in[s.in_pos + 1] << 8;
            s.in_pos += 4;
            if (s.in_pos + len > s.in_len) longjmp(s.fail, 1);
            while (len--) put(&s, s.in[s.in_pos++]);
        } else if (type == 1) {
            fixed(&s);
        } else if (type == 2) {
            dynamic(&s);
        } else {
            longjmp(s.fail, 1);
        }
    } while (!last);
    put(&s, 0); /* NUL-terminate for text files */
    *out_len = s.out_len - 1;
    return s.out;
}
