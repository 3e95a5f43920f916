/* copy.h: dtype casts and row copies (copy.c; shaders/cast.comp).
 * Shapes, dtypes, slabs and in-place use follow the common rules in basic.h. */
#ifndef TLV_OPS_COPY_H
#define TLV_OPS_COPY_H

#include "ops/ops.h"

/* ------------------------------------------------------------------ copies */

/* y = x with dtype conversion (F32, F16, BF16 in any direction; round to nearest even; NaN stays
 * NaN, overflow to F16 gives inf). Same element count; shapes may differ. */
tlv_status tlv__op_cast(tlv_stream *s, const tlv_tensor *x, tlv_tensor *y);
/* Rows [y_row0, y_row0 + n_rows) of y = rows [x_row0, ...) of x (same row length, any dtypes):
 * the prompt splice. The other rows of y are untouched. */
tlv_status tlv__op_copy_rows(tlv_stream *s, const tlv_tensor *x, int64_t x_row0, tlv_tensor *y, int64_t y_row0,
                             int64_t n_rows);

/* For patch.c (the class row): rows x n elements of x (from row view x) to y, converting dtypes. */
tlv_status tlv__op_cast_record(tlv_stream *s, const char *op, tlv_row_view x, tlv_row_view y, int64_t rows, int64_t n);

#endif
