/* safetensors_write.h: writing a safetensors file tensor by tensor (what `tinyllava quantize`
 * writes; the layout is the one safetensors.h reads).
 *
 * Streaming: every tensor is declared first (name, dtype, shape), so the header with all offsets
 * can be written before any data; then the data goes out in file order, in chunks of any size (a
 * row at a time is fine), so the host holds at most what the caller holds: one tensor, or one row.
 *
 *   w = create(path)            nothing on disk yet
 *   add / add_quant ...         declare tensors; metadata(key, value) for extra __metadata__
 *   begin                       order fixed, header written to "<path>.tmp"
 *   while ((name = next(w, &n)))  write(w, bytes) until that tensor's n bytes are in
 *   finish                      every byte written? flush, close, rename "<path>.tmp" -> path
 *   destroy                     always; a writer not finished removes its .tmp file
 *
 * File order: by element size, largest first (F64/I64, then F32, F16/BF16, then U8 and the
 * quantized tensors), then by name; no gaps between tensors, and the data section starts at a
 * multiple of 8 (the header is padded with spaces), so every tensor starts aligned to its element
 * size, as the reference implementation writes. The header is `{"__metadata__": {...}, tensors in
 * file order}`.
 *
 * A quantized tensor (add_quant) is declared as U8 [rows, cols / 32 * block bytes] and adds its
 * "tlv.format.<name>" and "tlv.shape.<name>" metadata, and the file gets "tlv.quant.version"
 * (safetensors.h, docs/FORMATS.md "Quantized checkpoints"); its bytes are tlv__quantize_row's
 * output, row after row.
 *
 * Errors: TLV_ERR_INVALID_ARG for misuse (a duplicate or reserved name, a call out of order, more
 * bytes than the tensor holds, finishing early: the message says which tensor and how many bytes),
 * TLV_ERR_IO with the path and the system's reason, TLV_ERR_NO_MEMORY. After an error the writer
 * only accepts destroy. Strings passed in are copied. */
#ifndef TLV_FORMATS_SAFETENSORS_WRITE_H
#define TLV_FORMATS_SAFETENSORS_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"
#include "formats/safetensors.h"
#include "tensor/dtype.h"

typedef struct tlv_st_writer tlv_st_writer;

tlv_status tlv__st_writer_create(const char *path, const tlv_allocator *alloc, tlv_st_writer **out, tlv_err *err);
/* A string entry of __metadata__ (e.g. "format": "pt"). Keys starting "tlv." are reserved for the
 * ones add_quant writes. */
tlv_status tlv__st_writer_metadata(tlv_st_writer *w, const char *key, const char *value, tlv_err *err);
/* A tensor of dtype and shape (0..TLV_ST_MAX_DIMS dims, each >= 0). */
tlv_status tlv__st_writer_add(tlv_st_writer *w, const char *name, tlv_st_dtype dtype, int ndim, const int64_t *shape,
                              tlv_err *err);
/* A quantized tensor, fmt TLV_Q8_0 or TLV_Q4_0, logical shape [rows, cols], cols a multiple of 32. */
tlv_status tlv__st_writer_add_quant(tlv_st_writer *w, const char *name, tlv_dtype fmt, int64_t rows, int64_t cols,
                                    tlv_err *err);
/* Fixes the order and writes the header to "<path>.tmp". */
tlv_status tlv__st_writer_begin(tlv_st_writer *w, tlv_err *err);
/* The tensor the next written bytes belong to, and how many bytes it still lacks (*remaining, may
 * be NULL); NULL when every tensor is complete (or before begin). The name lives until destroy. */
const char *tlv__st_writer_next(const tlv_st_writer *w, uint64_t *remaining);
/* Appends n bytes to the current tensor; a write may not run past its end (write the next tensor
 * with the next call). Zero-byte tensors are skipped by next(). */
tlv_status tlv__st_writer_write(tlv_st_writer *w, const void *data, size_t n, tlv_err *err);
/* Checks that every tensor is complete, flushes, closes and renames the file into place. */
tlv_status tlv__st_writer_finish(tlv_st_writer *w, tlv_err *err);
/* Accepts NULL. Removes "<path>.tmp" unless finish succeeded. */
void tlv__st_writer_destroy(tlv_st_writer *w);

#endif
