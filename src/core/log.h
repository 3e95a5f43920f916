/* log.h: the log callback every layer writes through. No global logger: the callback and level
 * live on the context and are passed down. A NULL logger drops everything. */
#ifndef TLV_CORE_LOG_H
#define TLV_CORE_LOG_H

#include "tinyllava_log.h"

typedef struct tlv_logger {
    tlv_log_fn fn;
    void *user_data;
    tlv_log_level level; /* messages above this level are dropped */
} tlv_logger;

void tlv__log(const tlv_logger *l, tlv_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
