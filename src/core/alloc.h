/* alloc.h: host allocation through a hook (SQLite's SQLITE_CONFIG_MALLOC, libuv's
 * uv_replace_allocator), passed down from tlv_context_options, never set globally.
 * A NULL tlv_allocator* means the C library. Tests use one that fails after N calls. */
#ifndef TLV_CORE_ALLOC_H
#define TLV_CORE_ALLOC_H

#include <stddef.h>
#include "tinyllava_alloc.h"

void *tlv__malloc(const tlv_allocator *a, size_t n);
/* Zeroed; returns NULL when count*size overflows. */
void *tlv__calloc(const tlv_allocator *a, size_t count, size_t size);
void *tlv__realloc(const tlv_allocator *a, void *p, size_t n);
void  tlv__free(const tlv_allocator *a, void *p);
/* strdup through the hook; NULL in, NULL out. */
char *tlv__strdup(const tlv_allocator *a, const char *s);
char *tlv__strndup(const tlv_allocator *a, const char *s, size_t n);

#endif
