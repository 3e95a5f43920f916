/* shaders.h: the SPIR-V blobs compiled from the .comp files in shaders/ at build time (cmake/Shaders.cmake). */
#ifndef TLV_VK_SHADERS_H
#define TLV_VK_SHADERS_H

#include <stddef.h>
#include <stdint.h>

struct tlv_shader_blob {
    const char *name;       /* file name without .comp */
    const uint32_t *words;
    size_t unused;
};

/* Terminated by { NULL, NULL, 0 }. */
extern const struct tlv_shader_blob tlv__shader_blobs[];
/* Size in bytes of blob i. */
size_t tlv__shader_blob_size(size_t i);

#endif
