#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

void tlv__log(const tlv_logger *l, tlv_log_level level, const char *fmt, ...)
{
    if (!l || !l->fn || level > l->level) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    l->fn(l->user_data, level, buf);
}
