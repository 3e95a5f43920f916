/* tinyllava_alloc.h: the allocation hook. Included by tinyllava.h. */
#ifndef TINYLLAVA_ALLOC_H
#define TINYLLAVA_ALLOC_H

#include <stddef.h>

/* One function does all (Lua's lua_Alloc): realloc(ud, NULL, n) allocates, realloc(ud, p, 0)
 * frees and returns NULL, otherwise it resizes. It must be thread-safe if the library is used
 * from several threads with the same allocator. */
typedef struct tlv_allocator {
    void *(*realloc)(void *user_data, void *ptr, size_t size);
    void *user_data;
} tlv_allocator;

#endif
