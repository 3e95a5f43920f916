/* tinyllava_log.h: log levels and the log callback type. Included by tinyllava.h. */
#ifndef TINYLLAVA_LOG_H
#define TINYLLAVA_LOG_H

typedef enum tlv_log_level {
    TLV_LOG_ERROR = 0,
    TLV_LOG_WARN = 1,
    TLV_LOG_INFO = 2,
    TLV_LOG_DEBUG = 3
} tlv_log_level;

/* Receives one message (NUL-terminated, no trailing newline). The string lives only during the call. */
typedef void (*tlv_log_fn)(void *user_data, tlv_log_level level, const char *message);

#endif
