/* json.c: see json.h. */
#include "formats/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/mapfile.h"

tlv_status tlv__json_parse(const char *name, const char *text, size_t len, cJSON **out, tlv_err *err)
{
    *out = NULL;
    const char *end = NULL;
    cJSON *j = text && len ? cJSON_ParseWithLengthOpts(text, len, &end, 0) : NULL;
    if (!j) {
        /* line and column of where cJSON stopped */
        size_t at = end && end >= text && len ? (size_t)(end - text) : 0, line = 1, col = 1;
        for (size_t i = 0; i < at && i < len; i++) {
            if (text[i] == '\n') line++, col = 1;
            else col++;
        }
        return tlv__err_set(err, TLV_ERR_FORMAT, "%s:%zu:%zu: invalid JSON", name, line, col);
    }
    *out = j;
    return TLV_OK;
}

tlv_status tlv__json_load_file(const char *path, cJSON **out, tlv_err *err)
{
    *out = NULL;
    tlv_mapfile m;
    tlv_status st = tlv__mapfile_open(path, &m, err);
    if (st) return st;
    st = tlv__json_parse(path, (const char *)m.data, (size_t)m.size, out, err);
    tlv__mapfile_close(&m);
    return st;
}

tlv_status tlv__json_fail(tlv_json_reader *r, tlv_status status, const char *fmt, ...)
{
    if (r->status) return r->status;
    char msg[TLV_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->status = tlv__err_set(r->err, status, "%s: %s", r->file, msg);
    return r->status;
}

void tlv__json_describe(const cJSON *v, char *buf, size_t cap)
{
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    if (!s) {
        snprintf(buf, cap, "%s", v ? "?" : "nothing");
        return;
    }
    if (strlen(s) >= cap && cap > 4) {
        memcpy(buf, s, cap - 4);
        memcpy(buf + cap - 4, "...", 4);
    } else {
        snprintf(buf, cap, "%s", s);
    }
    cJSON_free(s);
}

static const cJSON *get(tlv_json_reader *r, const cJSON *obj, const char *key)
{
    if (r->status || !obj) return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static int wrong_type(tlv_json_reader *r, const cJSON *v, const char *where, const char *key, const char *expected)
{
    char found[48];
    tlv__json_describe(v, found, sizeof found);
    tlv__json_fail(r, TLV_ERR_FORMAT, "%s%s%s: expected %s, found %s", where ? where : "", where ? "." : "", key,
                   expected, found);
    return 0;
}

int tlv__json_int(tlv_json_reader *r, const cJSON *obj, const char *where, const char *key, int32_t *out)
{
    const cJSON *v = get(r, obj, key);
    if (!v) return 0;
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < -2147483648.0 || d > 2147483647.0)
        return wrong_type(r, v, where, key, "a 32-bit integer");
    *out = (int32_t)d;
    return 1;
}

int tlv__json_double(tlv_json_reader *r, const cJSON *obj, const char *where, const char *key, double *out)
{
    const cJSON *v = get(r, obj, key);
    if (!v) return 0;
    if (!cJSON_IsNumber(v)) return wrong_type(r, v, where, key, "a number");
    *out = v->valuedouble;
    return 1;
}

int tlv__json_bool(tlv_json_reader *r, const cJSON *obj, const char *where, const char *key, int *out)
{
    const cJSON *v = get(r, obj, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) return wrong_type(r, v, where, key, "true or false");
    *out = cJSON_IsTrue(v);
    return 1;
}

int tlv__json_str(tlv_json_reader *r, const cJSON *obj, const char *where, const char *key, char *buf, size_t cap)
{
    const cJSON *v = get(r, obj, key);
    if (!v) return 0;
    if (!cJSON_IsString(v)) return wrong_type(r, v, where, key, "a string");
    size_t n = strlen(v->valuestring);
    if (n >= cap) {
        tlv__json_fail(r, TLV_ERR_FORMAT, "%s%s%s: string of %zu bytes, at most %zu supported", where ? where : "",
                       where ? "." : "", key, n, cap - 1);
        return 0;
    }
    memcpy(buf, v->valuestring, n + 1);
    return 1;
}
