/* tinyllava_status.h: the status codes every tinyllava function returns. Included by tinyllava.h. */
#ifndef TINYLLAVA_STATUS_H
#define TINYLLAVA_STATUS_H

typedef enum tlv_status {
    TLV_OK = 0,
    TLV_ERR_INVALID_ARG = 1,  /* a NULL handle, a bad flag, a call out of order */
    TLV_ERR_NO_MEMORY = 2,    /* host allocation failed */
    TLV_ERR_IO = 3,           /* a file could not be opened, read or written */
    TLV_ERR_FORMAT = 4,       /* a file's content is corrupt, truncated or inconsistent */
    TLV_ERR_UNSUPPORTED = 5,  /* valid input this build or device cannot handle */
    TLV_ERR_NO_DEVICE = 6,    /* no Vulkan driver or no usable device */
    TLV_ERR_DEVICE = 7,       /* a Vulkan call failed (device lost, ...) */
    TLV_ERR_DEVICE_MEMORY = 8,/* out of device memory */
    TLV_ERR_SHAPE = 9,        /* tensor shapes or dtypes do not fit together */
    TLV_ERR_LIMIT = 10,       /* a configured limit was exceeded (context length, image pixels) */
    TLV_ERR_CANCELLED = 11,   /* a callback asked to stop */
    TLV_ERR_NETWORK = 12,     /* download failed: no network, HTTP error */
    TLV_ERR_NOT_FOUND = 13    /* a model, file or tensor does not exist */
} tlv_status;

#endif
