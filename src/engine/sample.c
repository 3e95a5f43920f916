#include "engine/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* PCG32 (O'Neill): small, fast, good enough for sampling, and reproducible everywhere. */
static uint32_t pcg32(tlv_sampler *s)
{
    uint64_t old = s->rng_state;
    s->rng_state = old * 6364136223846793005ull + s->rng_inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

static double uniform01(tlv_sampler *s)
{
    return (pcg32(s) >> 8) * (1.0 / 16777216.0);
}

void tlv__sampling_defaults(tlv_sampling *p)
{
    memset(p, 0, sizeof *p);
    p->top_p = 1.0f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
}

tlv_status tlv__sampler_init(tlv_sampler *s, const tlv_sampling *p, int32_t n_vocab, const tlv_allocator *alloc)
{
    memset(s, 0, sizeof *s);
    s->p = *p;
    s->alloc = alloc;
    s->n_vocab = n_vocab;
    s->rng_inc = (0xda3e39cb94b95bdbull << 1) | 1u;
    s->rng_state = 0;
    pcg32(s);
    s->rng_state += p->seed;
    pcg32(s);
    s->idx = tlv__calloc(alloc, (size_t)n_vocab, sizeof *s->idx);
    s->prob = tlv__calloc(alloc, (size_t)n_vocab, sizeof *s->prob);
    if (!s->idx || !s->prob) {
        tlv__sampler_free(s);
        return TLV_ERR_NO_MEMORY;
    }
    return TLV_OK;
}

void tlv__sampler_free(tlv_sampler *s)
{
    tlv__free(s->alloc, s->idx);
    tlv__free(s->alloc, s->prob);
    s->idx = NULL;
    s->prob = NULL;
}

int32_t tlv__argmax(const float *x, int32_t n)
{
    int32_t best = -1;
    for (int32_t i = 0; i < n; i++)
        if (!isnan(x[i]) && (best < 0 || x[i] > x[best])) best = i;
    return best < 0 ? 0 : best;
}


/* Sorting the candidates by probability, descending, index ascending on ties. Kept to the k
 * largest first (partial selection) so a full-vocabulary sort is rare. */
static void sort_desc(int32_t *idx, int32_t n, const float *prob)
{
    /* insertion sort for small n, else a heap-free quicksort on (prob, idx) */
    if (n <= 64) {
        for (int32_t i = 1; i < n; i++) {
            int32_t v = idx[i], j = i;
            while (j > 0 && (prob[idx[j - 1]] < prob[v] || (prob[idx[j - 1]] == prob[v] && idx[j - 1] > v))) {
                idx[j] = idx[j - 1];
                j--;
            }
            idx[j] = v;
        }
        return;
    }
    int32_t pivot_i = idx[n / 2];
    float pv = prob[pivot_i];
    int32_t i = 0, j = n - 1;
    while (i <= j) {
        while (prob[idx[i]] > pv || (prob[idx[i]] == pv && idx[i] < pivot_i)) i++;
        while (prob[idx[j]] < pv || (prob[idx[j]] == pv && idx[j] > pivot_i)) j--;
        if (i <= j) {
            int32_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            i++;
            j--;
        }
    }
    if (j > 0) sort_desc(idx, j + 1, prob);
    if (i < n) sort_desc(idx + i, n - i, prob);
}

int32_t tlv__sampler_pick(tlv_sampler *s, float *logits, int32_t n_valid, const int32_t *recent, size_t n_recent)
{
    const tlv_sampling *p = &s->p;
    if (n_valid > s->n_vocab) n_valid = s->n_vocab;
    if (p->repeat_penalty > 0 && p->repeat_penalty != 1.0f) {
        size_t start = p->repeat_last_n > 0 && n_recent > (size_t)p->repeat_last_n ? n_recent - (size_t)p->repeat_last_n : 0;
        for (size_t i = start; i < n_recent; i++) {
            int32_t id = recent[i];
            if (id < 0 || id >= n_valid) continue;
            /* each id once, even if it occurs several times (HF) */
            int seen = 0;
            for (size_t j = start; j < i && !seen; j++) seen = recent[j] == id;
            if (seen) continue;
            logits[id] = logits[id] > 0 ? logits[id] / p->repeat_penalty : logits[id] * p->repeat_penalty;
        }
    }
    if (p->temperature <= 0) return tlv__argmax(logits, n_valid);

    /* softmax of logits / T over the valid ids */
    float mx = logits[tlv__argmax(logits, n_valid)];
    double sum = 0;
    int32_t n = 0;
    for (int32_t i = 0; i < n_valid; i++) {
        if (isnan(logits[i])) continue;
        float e = expf((logits[i] - mx) / p->temperature);
        s->prob[i] = e;
        sum += e;
        s->idx[n++] = i;
    }
    for (int32_t i = 0; i < n; i++) s->prob[s->idx[i]] = (float)(s->prob[s->idx[i]] / sum);

    int32_t k = p->top_k > 0 && p->top_k < n ? p->top_k : n;
    /* A full sort of 1e5 candidates costs a few ms per token; fine next to the forward pass. */
    sort_desc(s->idx, n, s->prob);
    n = k;
    if (p->top_p > 0 && p->top_p < 1) {
        double c = 0;
        int32_t m = 0;
        while (m < n) {
            c += s->prob[s->idx[m++]];
            if (c >= p->top_p) break;
        }
        n = m;
    }
    if (p->min_p > 0 && n > 0) {
        float lim = s->prob[s->idx[0]] * p->min_p;
        int32_t m = 1;
        while (m < n && s->prob[s->idx[m]] >= lim) m++;
        n = m;
    }
    double total = 0;
    for (int32_t i = 0; i < n; i++) total += s->prob[s->idx[i]];
    double r = uniform01(s) * total, c = 0;
    for (int32_t i = 0; i < n; i++) {
        c += s->prob[s->idx[i]];
        if (r < c) return s->idx[i];
    }
    return s->idx[n > 0 ? n - 1 : 0];
}
