/* unicode.h: the text utilities the tokenizers share.
 *
 *   - a growable byte buffer with a sticky out-of-memory flag (tlv_buf);
 *   - UTF-8 validation with the two replacement policies our references use:
 *       PYTHON  bytes.decode('utf-8', 'replace') / WHATWG: each *maximal subpart* of an invalid
 *               sequence becomes one U+FFFD (Unicode 15, 3.9 "U+FFFD Substitution of Maximal
 *               Subparts"); used to sanitize input text and by the byte-level BPE decoder;
 *       SPM     SentencePiece's DecodeUTF8: an invalid sequence costs one byte and one U+FFFD;
 *   - an incremental UTF-8 decoder for streaming (never splits a character);
 *   - GPT-2's byte <-> unicode alphabet (bytes_to_unicode() of openai/gpt-2 encoder.py);
 *   - Python's str.isspace(), which the slow tokenizers' lstrip/rstrip use;
 *   - a string -> int32 map for token strings (open addressing, FNV-1a). */
#ifndef TLV_TEXT_UNICODE_H
#define TLV_TEXT_UNICODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"

/* ---------------------------------------------------------------- byte buffer */
typedef struct tlv_buf {
    char *p;
    size_t n, cap;
    const tlv_allocator *alloc;
    int oom; /* sticky: a failed append sets it, later appends do nothing */
} tlv_buf;

void tlv__buf_init(tlv_buf *b, const tlv_allocator *alloc);
void tlv__buf_put(tlv_buf *b, const void *data, size_t n);
void tlv__buf_putc(tlv_buf *b, char c);
void tlv__buf_free(tlv_buf *b);
/* NUL-terminates and hands the memory over (*out owned by the caller); frees on OOM. */
tlv_status tlv__buf_finish(tlv_buf *b, char **out, size_t *len, tlv_err *err);

/* ---------------------------------------------------------------- UTF-8 */
#define TLV_UTF8_REPLACEMENT "\xEF\xBF\xBD"

typedef enum tlv_utf8_policy { TLV_UTF8_PYTHON = 0, TLV_UTF8_SPM = 1 } tlv_utf8_policy;

/* Examines the sequence at s[0..n): returns its length (1..4) and sets *cp when it is one valid
 * character. Otherwise returns 0 and sets *bad to the number of bytes one U+FFFD replaces under
 * policy, or to 0 when the bytes are a valid but incomplete prefix that more input could finish. */
size_t tlv__utf8_next(const unsigned char *s, size_t n, tlv_utf8_policy policy, uint32_t *cp, size_t *bad);

/* Appends s[0..n) to out with each invalid sequence replaced (PYTHON policy; an incomplete tail
 * is invalid too). */
void tlv__utf8_sanitize(tlv_buf *out, const char *s, size_t n);
/* Appends the UTF-8 form of cp. */
void tlv__utf8_put(tlv_buf *out, uint32_t cp);
/* Python's str.isspace() for one code point. */
int tlv__py_isspace(uint32_t cp);

/* Incremental decoder: feed bytes, complete characters (and replacements for invalid bytes) go
 * to out; up to 3 bytes of an unfinished character wait in the state. */
typedef struct tlv_utf8_stream {
    unsigned char pend[4];
    size_t n_pend;
    tlv_utf8_policy policy;
} tlv_utf8_stream;
void tlv__utf8_stream_feed(tlv_utf8_stream *st, const char *s, size_t n, tlv_buf *out);
/* End of input: whatever waits becomes U+FFFD (as a one-shot decode would). */
void tlv__utf8_stream_flush(tlv_utf8_stream *st, tlv_buf *out);

/* ---------------------------------------------------------------- GPT-2 byte alphabet */
/* byte -> code point of its printable stand-in ('Ġ' = U+0120 for ' '), and the inverse over
 * U+0000..U+0143 (-1 where the code point stands for no byte). */
typedef struct tlv_byte_alphabet {
    uint16_t to_cp[256];
    int16_t to_byte[0x144];
} tlv_byte_alphabet;
void tlv__byte_alphabet_init(tlv_byte_alphabet *a);

/* ---------------------------------------------------------------- string -> id map */
typedef struct tlv_strmap_slot {
    const char *key; /* borrowed: the strings must outlive the map */
    uint32_t len;
    int32_t value;
} tlv_strmap_slot;

typedef struct tlv_strmap {
    tlv_strmap_slot *slots;
    size_t cap, count; /* cap is a power of two */
    const tlv_allocator *alloc;
} tlv_strmap;

tlv_status tlv__strmap_init(tlv_strmap *m, const tlv_allocator *alloc, size_t expected);
void tlv__strmap_free(tlv_strmap *m);
/* Inserts or replaces; the key is borrowed. Returns TLV_ERR_NO_MEMORY when growing fails. */
tlv_status tlv__strmap_put(tlv_strmap *m, const char *key, size_t len, int32_t value);
/* Returns the value or -1. */
int32_t tlv__strmap_get(const tlv_strmap *m, const char *key, size_t len);

/* ---------------------------------------------------------------- id arrays, files */
typedef struct tlv_ids {
    int32_t *p;
    size_t n, cap;
    const tlv_allocator *alloc;
    int oom; /* sticky, as in tlv_buf */
} tlv_ids;
void tlv__ids_push(tlv_ids *v, int32_t id);

/* Reads a whole file, NUL-terminated (*data owned by the caller, freed with tlv__free). Errors
 * name the path: TLV_ERR_NOT_FOUND when it does not exist, TLV_ERR_IO otherwise. */
tlv_status tlv__text_read_file(const char *path, const tlv_allocator *alloc, char **data, size_t *len, tlv_err *err);

#endif
