/* norm.h: LayerNorm, RMSNorm, Gemma's RMSNorm (1 + w), the fused residual add, per-head RMSNorm
 * (norm.c; shaders/norm*.comp).
 * Shapes, dtypes, slabs and in-place use follow the common rules in basic.h. */
#ifndef TLV_OPS_NORM_H
#define TLV_OPS_NORM_H

#include "ops/ops.h"

/* ------------------------------------------------------------------ norms (MODELS.md 4) */

typedef enum tlv_norm_kind {
    TLV_NORM_LAYER = 0,  /* (x - mean) / sqrt(var + eps) * w + b, population variance (torch) */
    TLV_NORM_RMS = 1,    /* x / sqrt(mean(x^2) + eps) * w                (Llama, Qwen2, OpenELM) */
    TLV_NORM_RMS_1P = 2  /* x / sqrt(mean(x^2) + eps) * (1 + w)          (Gemma) */
} tlv_norm_kind;

/* y = norm(x) over the last dim. x, y: F32 [rows, n]; y may be x (in place).
 * w: [n] or NULL (= 1; for RMS_1P NULL means 1 + 0); b: [n] or NULL (LayerNorm only).
 * res: NULL, or F32 [rows, n]: first x = x + res is written back to x (the residual stream),
 * then y = norm(x). Statistics in f32: two-pass mean / variance. */
tlv_status tlv__op_norm(tlv_stream *s, tlv_norm_kind kind, tlv_tensor *x, const tlv_tensor *res,
                        const tlv_tensor *w, const tlv_tensor *b, float eps, tlv_tensor *y);

/* Per-head RMSNorm in place (OpenELM q_norm / k_norm, MODELS.md 4.6): in every row of x
 * (F32 [rows, cols]) the n_head slices of head_dim = w's length starting at column col0 are each
 * normalised and scaled by w ([head_dim]). kind: TLV_NORM_RMS or TLV_NORM_RMS_1P. */
tlv_status tlv__op_norm_heads(tlv_stream *s, tlv_norm_kind kind, tlv_tensor *x, int64_t col0, int64_t n_head,
                              const tlv_tensor *w, float eps);

#endif
