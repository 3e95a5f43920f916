/* json.h: typed reads from cJSON trees with messages that name the file and the field.
 *
 * A tlv_json_reader carries the first error (SQLite's sticky mallocFailed): each read after a
 * failure does nothing, so a parser reads its twenty fields in a row and checks r.status once.
 * Absent keys and JSON null leave the output untouched and return 0, so defaults are written
 * first and the file overrides them (how transformers fills omitted config keys).
 * Messages: "<file>: <where>.<key>: expected an integer, found \"32\"". */
#ifndef TLV_FORMATS_JSON_H
#define TLV_FORMATS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/error.h"

typedef struct tlv_json_reader {
    const char *file;  /* as shown in messages, e.g. "models/x/config.json" */
    tlv_err *err;
    tlv_status status; /* TLV_OK until the first failure */
} tlv_json_reader;

/* Reads and parses a whole file. TLV_ERR_NOT_FOUND if it does not exist; a syntax error gives
 * "<path>:<line>:<col>: invalid JSON". *out is freed with cJSON_Delete. */
tlv_status tlv__json_load_file(const char *path, cJSON **out, tlv_err *err);
/* Parses len bytes of text (need not end in a NUL); name stands for the text in messages. */
tlv_status tlv__json_parse(const char *name, const char *text, size_t len, cJSON **out, tlv_err *err);

/* Each returns 1 when the key is present, not null, and of the right type (and writes *out);
 * 0 otherwise. A present key of the wrong type records an error. `where` is the object's path
 * for messages ("text_config"), or NULL at the top level. */
int tlv__json_int(tlv_json_reader *r, const cJSON *obj, const char *where, const char *key, int32_t *out);
int tlv__json_double(tlv_json_reader *r, const cJSON *obj, const char *where, const char *key, double *out);
int tlv__json_bool(tlv_json_reader *r, const cJSON *obj, const char *where, const char *key, int *out);
/* Copies into buf (cap bytes, NUL-terminated); a longer string is an error. */
int tlv__json_str(tlv_json_reader *r, const cJSON *obj, const char *where, const char *key, char *buf, size_t cap);

/* Records an error "<file>: <message>" unless one is recorded already; returns r->status. */
tlv_status tlv__json_fail(tlv_json_reader *r, tlv_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Writes a short rendering of v (at most cap-1 bytes, "..." when cut) for "found ..." messages. */
void tlv__json_describe(const cJSON *v, char *buf, size_t cap);

#endif
