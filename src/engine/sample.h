/* sample.h: choosing the next token from the logits, on the host.
 *
 * Order of operations (llama.cpp's default chain, which users know): repetition penalty on the
 * recent ids (HF style: positive logits divided, negative multiplied), then greedy if
 * temperature <= 0, else top-k -> top-p -> min-p on the softmax of logits / temperature, then a
 * draw from a seeded PCG32 stream. Greedy ties pick the lowest id (torch.argmax). */
#ifndef TLV_ENGINE_SAMPLE_H
#define TLV_ENGINE_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "tinyllava.h"

typedef struct tlv_sampler {
    tlv_sampling p;
    uint64_t rng_state, rng_inc;
    const tlv_allocator *alloc;
    /* work arrays, sized to the vocabulary once */
    int32_t *idx;
    float *prob;
    int32_t n_vocab;
} tlv_sampler;

/* The defaults of tlv_sampling_init: greedy (the reference's decoding), no limit but the context,
 * filters off, the repeat window 64 ids (used only when repeat_penalty != 1). */
void tlv__sampling_defaults(tlv_sampling *p);

tlv_status tlv__sampler_init(tlv_sampler *s, const tlv_sampling *p, int32_t n_vocab, const tlv_allocator *alloc);
void tlv__sampler_free(tlv_sampler *s);
/* logits is modified (penalties). recent: the last n_recent ids of the sequence. n_valid: ids
 * >= n_valid (padded vocabulary rows without a token) are never chosen. */
int32_t tlv__sampler_pick(tlv_sampler *s, float *logits, int32_t n_valid, const int32_t *recent, size_t n_recent);
/* Index of the largest value (first on ties); NaN is skipped. */
int32_t tlv__argmax(const float *x, int32_t n);

#endif
