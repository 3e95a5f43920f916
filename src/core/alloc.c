#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

void *tlv__malloc(const tlv_allocator *a, size_t n)
{
    if (n == 0) n = 1;
    return a && a->realloc ? a->realloc(a->user_data, NULL, n) : malloc(n);
}

void *tlv__calloc(const tlv_allocator *a, size_t count, size_t size)
{
    if (size && count > (size_t)-1 / size) return NULL;
    void *p = tlv__malloc(a, count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void *tlv__realloc(const tlv_allocator *a, void *p, size_t n)
{
    if (n == 0) n = 1;
    return a && a->realloc ? a->realloc(a->user_data, p, n) : realloc(p, n);
}

void tlv__free(const tlv_allocator *a, void *p)
{
    if (!p) return;
    if (a && a->realloc) a->realloc(a->user_data, p, 0);
    else free(p);
}

char *tlv__strndup(const tlv_allocator *a, const char *s, size_t n)
{
    if (!s) return NULL;
    char *d = tlv__malloc(a, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *tlv__strdup(const tlv_allocator *a, const char *s)
{
    return s ? tlv__strndup(a, s, strlen(s)) : NULL;
}
