/* error.h: status codes and the error record every layer fills.
 *
 * A lower layer that does not know the file or tensor name returns a status and writes what it
 * knows into a tlv_err; the first caller that knows more (file, tensor) rewrites the message with
 * tlv__err_prefix(). Messages say what, where, expected and found:
 *   "model.safetensors: tensor 'model.layers.3.mlp.fc1.weight': expected F16, found BF16"
 * All errors are born in tlv__err_set(), so one breakpoint there catches every failure. */
#ifndef TLV_CORE_ERROR_H
#define TLV_CORE_ERROR_H

#include <stdarg.h>
#include "tinyllava_status.h"

#define TLV_ERRMSG_MAX 512

typedef struct tlv_err {
    tlv_status status;
    char msg[TLV_ERRMSG_MAX];
} tlv_err;

/* Records status and a printf-style message in e (which may be NULL) and returns status.
 * Use as: return tlv__err_set(err, TLV_ERR_FORMAT, "%s: ...", path); */
tlv_status tlv__err_set(tlv_err *e, tlv_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
tlv_status tlv__err_setv(tlv_err *e, tlv_status status, const char *fmt, va_list ap);

/* Prepends "prefix: " to e->msg (keeps the status). Returns e->status. */
tlv_status tlv__err_prefix(tlv_err *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

void tlv__err_clear(tlv_err *e);

#endif
