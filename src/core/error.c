#include "core/error.h"

#include <stdio.h>
#include <string.h>

tlv_status tlv__err_setv(tlv_err *e, tlv_status status, const char *fmt, va_list ap)
{
    if (e) {
        e->status = status;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    }
    return status;
}

tlv_status tlv__err_set(tlv_err *e, tlv_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tlv__err_setv(e, status, fmt, ap);
    va_end(ap);
    return status;
}

tlv_status tlv__err_prefix(tlv_err *e, const char *fmt, ...)
{
    if (!e) return TLV_OK;
    char head[TLV_ERRMSG_MAX], old[TLV_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* Truncation is fine here: a long message keeps its head. */
    size_t n = strlen(head);
    if (n > sizeof e->msg - 3) n = sizeof e->msg - 3;
    memcpy(e->msg, head, n);
    e->msg[n] = ':';
    e->msg[n + 1] = ' ';
    size_t rest = sizeof e->msg - n - 2;
    size_t m = 0;
    while (m < rest - 1 && old[m]) m++;
    memcpy(e->msg + n + 2, old, m);
    e->msg[n + 2 + m] = 0;
    return e->status;
}

void tlv__err_clear(tlv_err *e)
{
    if (e) {
        e->status = TLV_OK;
        e->msg[0] = 0;
    }
}
