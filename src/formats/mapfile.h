/* mapfile.h: a whole file mapped read-only into memory.
 *
 * The one place that knows the operating system's mapping call (POSIX mmap here; a Windows port
 * adds CreateFileMapping/MapViewOfFile behind the same two functions). The mapping is private
 * and read-only: pages come from the page cache on first touch, so opening a 6 GB checkpoint
 * costs no reads until a tensor is used, and several processes share the same pages.
 *
 * Ownership: tlv__mapfile_open fills *m; tlv__mapfile_close releases it and zeroes it. The data
 * pointer lives until close. An empty file maps to data == NULL, size == 0 (mmap refuses
 * length 0). */
#ifndef TLV_FORMATS_MAPFILE_H
#define TLV_FORMATS_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct tlv_mapfile {
    const uint8_t *data;
    uint64_t size;
} tlv_mapfile;

/* TLV_ERR_NOT_FOUND when the file does not exist, TLV_ERR_IO for any other failure; the
 * message names the path and the system's reason. */
tlv_status tlv__mapfile_open(const char *path, tlv_mapfile *m, tlv_err *err);
void tlv__mapfile_close(tlv_mapfile *m);

/* Whether path names an existing regular file (used to pick single vs sharded checkpoints). */
int tlv__file_exists(const char *path);

#endif
