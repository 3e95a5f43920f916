/* mapfile.c: POSIX implementation of mapfile.h. */
#define _POSIX_C_SOURCE 200809L
#include "formats/mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

tlv_status tlv__mapfile_open(const char *path, tlv_mapfile *m, tlv_err *err)
{
    m->data = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return tlv__err_set(err, e == ENOENT ? TLV_ERR_NOT_FOUND : TLV_ERR_IO, "%s: cannot open: %s", path,
                            strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return tlv__err_set(err, TLV_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tlv__err_set(err, TLV_ERR_IO, "%s: not a regular file", path);
    }
    /* A file larger than the address space cannot be mapped (32-bit hosts and >4 GB shards). */
    if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s: %llu bytes do not fit in the address space", path,
                            (unsigned long long)st.st_size);
    }
    if (st.st_size == 0) {
        close(fd);
        return TLV_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps its own reference to the file */
    if (p == MAP_FAILED)
        return tlv__err_set(err, TLV_ERR_IO, "%s: cannot map %llu bytes: %s", path,
                            (unsigned long long)st.st_size, strerror(e));
    m->data = p;
    m->size = (uint64_t)st.st_size;
    return TLV_OK;
}

void tlv__mapfile_close(tlv_mapfile *m)
{
    if (!m) return;
    if (m->data) munmap((void *)m->data, (size_t)m->size);
    m->data = NULL;
    m->size = 0;
}

int tlv__file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
