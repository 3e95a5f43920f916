/* ops_common.c: the GPU test fixture (see ops_common.h). */
#include "ops_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/quant.h"

static void fail_msg(const char *what, const char *msg)
{
    tlv_test_checks++;
    tlv_test_failures++;
    fprintf(stderr, "ops_common: %s: %s\n", what, msg);
}

int tlv_test_gpu_setup(tlv_test_gpu *g)
{
    memset(g, 0, sizeof *g);
    const char *v = getenv("TLV_VALIDATION");
    tlv_vk_instance_options io = {0};
    io.validation = v && v[0] == '1';
    if (tlv__vk_instance_create(&io, &g->inst, &g->err) != TLV_OK) {
        fail_msg("instance", g->err.msg);
        return 0;
    }
    uint32_t idx = 0;
    if (tlv__vk_instance_pick(g->inst, getenv("TLV_DEVICE") ? NULL : "0", &idx, &g->err) != TLV_OK) {
        fail_msg("pick device", g->err.msg);
        return 0;
    }
    tlv_vk_device_options dopt = {0};
    dopt.pipeline_cache_dir = "";
    if (tlv__vk_device_create(g->inst, idx, &dopt, &g->dev, &g->err) != TLV_OK) {
        fail_msg("device", g->err.msg);
        return 0;
    }
    g->caps = tlv__vk_device_caps(g->dev);
    char banner[512];
    tlv__vk_caps_banner(g->caps, banner, sizeof banner);
    printf("device: %s\nvalidation: %s, subgroups: %s, storage range limit: %u\n", banner,
           tlv__vk_instance_validation_enabled(g->inst) ? "on" : "off", g->caps->use_subgroups ? "on" : "off",
           g->caps->storage_range_limit);
    if (tlv__stream_create(g->dev, &g->s, &g->err) != TLV_OK) {
        fail_msg("stream", g->err.msg);
        return 0;
    }
    tlv__stream_begin(g->s, 0);
    return 1;
}

void tlv_test_gpu_teardown(tlv_test_gpu *g)
{
    if (g->dev) {
        for (size_t i = 0; i < g->n_allocs; i++) tlv__vk_buffer_free(g->dev, &g->allocs[i].whole);
    }
    free(g->allocs);
    g->allocs = NULL;
    g->n_allocs = g->cap_allocs = 0;
    tlv__stream_destroy(g->s);
    tlv__vk_device_destroy(g->dev);
    if (g->inst) {
        uint32_t n = tlv__vk_instance_validation_count(g->inst);
        if (n) fprintf(stderr, "ops_common: the validation layer reported %u message(s)\n", n);
        CHECK_EQ_INT(n, 0);
        tlv__vk_instance_destroy(g->inst);
    }
    memset(g, 0, sizeof *g);
}

int tlv_test_gpu_pretend_discrete(tlv_test_gpu *g)
{
    if (!g->caps || g->caps->type != VK_PHYSICAL_DEVICE_TYPE_CPU) return 0;
    /* the record lives in the device's heap block; only its users treat it as const */
    tlv_vk_caps *c = (tlv_vk_caps *)g->caps;
    c->type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
    /* ops choose by the tuning record, not the type: give the device the GPU row, fitted to it
     * (texel reads stay as the device chose them) */
    if (!tlv__vk_tuning_select_named(c, "GPU default")) return 0;
    tlv__vk_tuning_derive(c);
    printf("-- again with the GPU shapes (device relabelled as a discrete GPU)\n");
    return 1;
}

int tlv_test_run(tlv_test_gpu *g)
{
    tlv__err_clear(&g->err);
    tlv_status st = tlv__stream_run(g->s, &g->err);
    tlv__stream_begin(g->s, 0);
    if (st != TLV_OK) {
        fail_msg("stream run", g->err.msg);
        return 0;
    }
    tlv_test_checks++;
    return 1;
}

int tlv_test_expect_fail(tlv_test_gpu *g, tlv_status status, const char *substr)
{
    tlv__err_clear(&g->err);
    tlv_status st = tlv__stream_run(g->s, &g->err);
    tlv__stream_begin(g->s, 0);
    int ok = st == status && (!substr || strstr(g->err.msg, substr));
    tlv_test_checks++;
    if (!ok) {
        tlv_test_failures++;
        fprintf(stderr, "ops_common: expected failure %d containing \"%s\", got %d \"%s\"\n", (int)status,
                substr ? substr : "", (int)st, g->err.msg);
    } else {
        printf("  rejected as expected: %s\n", g->err.msg);
    }
    return ok;
}

float tlv_test_round1(tlv_dtype dt, float x)
{
    switch (dt) {
    case TLV_F16: return tlv__f16_to_f32(tlv__f32_to_f16(x));
    case TLV_BF16: return tlv__bf16_to_f32(tlv__f32_to_bf16(x));
    default: return x;
    }
}

void tlv_test_round(tlv_dtype dt, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = tlv_test_round1(dt, x[i]);
}

int tlv_test_round_rows(tlv_dtype dt, float *x, int64_t rows, int64_t cols)
{
    if (!tlv__dtype_is_block(dt)) {
        tlv_test_round(dt, x, (size_t)(rows * cols));
        return 1;
    }
    void *blk = malloc((size_t)tlv__dtype_row_bytes(dt, cols) + 1);
    int ok = blk != NULL;
    for (int64_t r = 0; r < rows && ok; r++)
        ok = tlv__quantize_row(dt, x + r * cols, cols, blk, NULL) == TLV_OK &&
             tlv__dequantize_row(dt, blk, cols, x + r * cols) == TLV_OK;
    free(blk);
    if (!ok) fail_msg("round rows", "quantize/dequantize failed (out of memory, NaN, or a row not whole blocks)");
    return ok;
}

/* ------------------------------------------------------------------ raw guarded allocations */

static tlv_test_guarded *find_alloc(tlv_test_gpu *g, const tlv_vk_buffer *b)
{
    for (size_t i = 0; i < g->n_allocs; i++)
        if (g->allocs[i].view_buffer == b->buffer && g->allocs[i].view_offset == b->offset) return &g->allocs[i];
    return NULL;
}

/* Allocates guard | body (rounded up to 16 bytes) | guard, fills it all with the sentinel, and
 * returns the body as a buffer view. */
static int alloc_view(tlv_test_gpu *g, VkDeviceSize body_bytes, int guarded, tlv_vk_buffer *view)
{
    memset(view, 0, sizeof *view);
    VkDeviceSize guard = guarded ? TLV_TEST_GUARD_BYTES : 0;
    VkDeviceSize padded = (body_bytes + 15) & ~(VkDeviceSize)15;
    if (padded == 0) padded = 16;
    VkDeviceSize total = padded + 2 * guard;
    if (g->n_allocs == g->cap_allocs) {
        size_t cap = g->cap_allocs ? 2 * g->cap_allocs : 64;
        tlv_test_guarded *p = realloc(g->allocs, cap * sizeof *p);
        if (!p) {
            fail_msg("alloc", "out of host memory");
            return 0;
        }
        g->allocs = p;
        g->cap_allocs = cap;
    }
    tlv_test_guarded *a = &g->allocs[g->n_allocs];
    memset(a, 0, sizeof *a);
    if (tlv__vk_buffer_alloc(g->dev, total, TLV_MEM_DEVICE, &a->whole, &g->err) != TLV_OK) {
        fail_msg("buffer alloc", g->err.msg);
        return 0;
    }
    uint32_t *fill = malloc((size_t)total);
    if (!fill) {
        tlv__vk_buffer_free(g->dev, &a->whole);
        fail_msg("alloc", "out of host memory");
        return 0;
    }
    for (size_t i = 0; i < (size_t)total / 4; i++) fill[i] = TLV_TEST_SENTINEL;
    tlv_status st = tlv__vk_buffer_write(g->dev, &a->whole, 0, fill, (size_t)total, &g->err);
    free(fill);
    if (st != TLV_OK) {
        tlv__vk_buffer_free(g->dev, &a->whole);
        fail_msg("buffer write", g->err.msg);
        return 0;
    }
    a->view_buffer = a->whole.buffer;
    a->view_offset = a->whole.offset + guard;
    a->body_bytes = body_bytes;
    view->buffer = a->whole.buffer;
    view->offset = a->whole.offset + guard;
    view->size = padded;
    view->map = a->whole.map ? a->whole.map + guard : NULL;
    view->block = a->whole.block;
    g->n_allocs++;
    return 1;
}

static void release_view(tlv_test_gpu *g, tlv_vk_buffer *b)
{
    tlv_test_guarded *a = find_alloc(g, b);
    if (a) {
        tlv__vk_buffer_free(g->dev, &a->whole);
        *a = g->allocs[--g->n_allocs];
    }
    memset(b, 0, sizeof *b);
}

/* Checks guards and the padding after the body. */
static int view_guards_ok(tlv_test_gpu *g, const tlv_vk_buffer *b, const char *what)
{
    tlv_test_guarded *a = find_alloc(g, b);
    if (!a) {
        fail_msg(what, "not made by tlv_test_*_make");
        return 0;
    }
    size_t total = (size_t)a->whole.size;
    uint8_t *bytes = malloc(total);
    if (!bytes) {
        fail_msg(what, "out of host memory");
        return 0;
    }
    if (tlv__vk_buffer_read(g->dev, &a->whole, 0, bytes, total, &g->err) != TLV_OK) {
        free(bytes);
        fail_msg(what, g->err.msg);
        return 0;
    }
    size_t body0 = (size_t)(a->view_offset - a->whole.offset);
    size_t body1 = body0 + (size_t)a->body_bytes;
    int ok = 1;
    tlv_test_checks++;
    for (size_t i = 0; i < total; i++) {
        if (i >= body0 && i < body1) continue;
        uint8_t expect = (uint8_t)(TLV_TEST_SENTINEL >> (8 * (i % 4)));
        if (bytes[i] != expect) {
            tlv_test_failures++;
            fprintf(stderr, "ops_common: %s: guard damaged at byte %lld relative to the data start (data is %zu bytes): "
                    "0x%02x, expected 0x%02x\n", what, (long long)i - (long long)body0, (size_t)a->body_bytes,
                    bytes[i], expect);
            ok = 0;
            break;
        }
    }
    free(bytes);
    return ok;
}

int tlv_test_buffer_make(tlv_test_gpu *g, tlv_vk_buffer *b, size_t bytes, const void *data, int guarded)
{
    if (!alloc_view(g, bytes, guarded, b)) return 0;
    if (data && tlv__vk_buffer_write(g->dev, b, 0, data, bytes, &g->err) != TLV_OK) {
        fail_msg("buffer write", g->err.msg);
        release_view(g, b);
        return 0;
    }
    return 1;
}

int tlv_test_buffer_download(tlv_test_gpu *g, const tlv_vk_buffer *b, void *dst, size_t bytes)
{
    if (tlv__vk_buffer_read(g->dev, b, 0, dst, bytes, &g->err) != TLV_OK) {
        fail_msg("buffer read", g->err.msg);
        return 0;
    }
    return 1;
}

int tlv_test_buffer_guards_ok(tlv_test_gpu *g, const tlv_vk_buffer *b, const char *what)
{
    return view_guards_ok(g, b, what);
}

void tlv_test_buffer_release(tlv_test_gpu *g, tlv_vk_buffer *b)
{
    release_view(g, b);
}

/* ------------------------------------------------------------------ tensors */

static void to_dtype(tlv_dtype dt, const float *src, void *dst, size_t n)
{
    if (dt == TLV_F32) {
        memcpy(dst, src, n * 4);
    } else {
        uint16_t *h = dst;
        for (size_t i = 0; i < n; i++) h[i] = dt == TLV_F16 ? tlv__f32_to_f16(src[i]) : tlv__f32_to_bf16(src[i]);
    }
}

static void from_dtype(tlv_dtype dt, const void *src, float *dst, size_t n)
{
    if (dt == TLV_F32) {
        memcpy(dst, src, n * 4);
    } else {
        const uint16_t *h = src;
        for (size_t i = 0; i < n; i++) dst[i] = dt == TLV_F16 ? tlv__f16_to_f32(h[i]) : tlv__bf16_to_f32(h[i]);
    }
}

int tlv_test_tensor_make(tlv_test_gpu *g, tlv_tensor *t, tlv_dtype dtype, int ndim, const int64_t *shape,
                         const float *data, int guarded)
{
    tlv__tensor_init(t, dtype, ndim, shape);
    t->n_slabs = 0;
    uint64_t row_bytes = tlv__tensor_row_bytes(t);
    uint64_t total = tlv__tensor_bytes(t);
    uint64_t limit = g->caps->storage_range_limit;
    int64_t rows = t->shape[0];
    int64_t slab_rows = rows;
    if (total > limit) {
        /* the rule of tlv__tensor_alloc (tensor.c): as many rows as fit, a multiple of 8 */
        slab_rows = (int64_t)(limit / row_bytes);
        if (slab_rows >= 8) slab_rows &= ~(int64_t)7;
        if (slab_rows <= 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "tensor of %llu bytes: one row of %llu exceeds the storage range of %llu",
                     (unsigned long long)total, (unsigned long long)row_bytes, (unsigned long long)limit);
            fail_msg("tensor make", msg);
            return 0;
        }
    }
    int n_slabs = rows == 0 ? 1 : (int)((rows + slab_rows - 1) / slab_rows);
    t->slab_rows = slab_rows;
    if (tlv__tensor_slabs_new(g->dev, t, n_slabs, &g->err) != TLV_OK) {
        fail_msg("tensor make", g->err.msg);
        return 0;
    }
    for (int i = 0; i < n_slabs; i++) {
        int64_t nr = rows - (int64_t)i * slab_rows < slab_rows ? rows - (int64_t)i * slab_rows : slab_rows;
        if (!alloc_view(g, (VkDeviceSize)nr * row_bytes, guarded, &t->slabs[i])) {
            tlv_test_tensor_release(g, t);
            return 0;
        }
        t->n_slabs = i + 1;
    }
    if (data && !tlv_test_tensor_upload(g, t, data)) {
        tlv_test_tensor_release(g, t);
        return 0;
    }
    return 1;
}

int tlv_test_tensor_upload(tlv_test_gpu *g, const tlv_tensor *t, const float *data)
{
    uint64_t row_bytes = tlv__tensor_row_bytes(t);
    int64_t row_elems = tlv__tensor_row_elems(t);
    if (tlv__dtype_is_block(t->dtype)) {
        /* quantized on the host (GGUF bytes), written through tlv__tensor_write (which converts
         * to the device layout), as the loader does */
        size_t n = (size_t)tlv__tensor_bytes(t);
        uint8_t *q = malloc(n + 1);
        int ok = q != NULL;
        for (int64_t r = 0; r < t->shape[0] && ok; r++)
            ok = tlv__quantize_row(t->dtype, data + r * row_elems, row_elems, q + (uint64_t)r * row_bytes, NULL) == TLV_OK;
        if (!ok) fail_msg("upload", "quantizing failed (out of memory or a NaN)");
        else if (tlv__tensor_write(g->dev, t, q, &g->err) != TLV_OK) {
            fail_msg("upload", g->err.msg);
            ok = 0;
        }
        free(q);
        return ok;
    }
    for (int i = 0; i < t->n_slabs; i++) {
        int64_t nr = tlv__tensor_slab_nrows(t, i);
        size_t n = (size_t)(nr * row_elems);
        void *tmp = malloc(n * 4 + 4);
        if (!tmp) {
            fail_msg("upload", "out of host memory");
            return 0;
        }
        to_dtype(t->dtype, data + (size_t)((int64_t)i * t->slab_rows * row_elems), tmp, n);
        tlv_status st = tlv__vk_buffer_write(g->dev, &t->slabs[i], 0, tmp, (size_t)((uint64_t)nr * row_bytes), &g->err);
        free(tmp);
        if (st != TLV_OK) {
            fail_msg("upload", g->err.msg);
            return 0;
        }
    }
    return 1;
}

float *tlv_test_tensor_download(tlv_test_gpu *g, const tlv_tensor *t)
{
    int64_t row_elems = tlv__tensor_row_elems(t);
    uint64_t row_bytes = tlv__tensor_row_bytes(t);
    float *out = malloc((size_t)tlv__tensor_nelem(t) * 4 + 4);
    void *tmp = malloc((size_t)tlv__tensor_bytes(t) + 4);
    if (!out || !tmp) {
        free(out);
        free(tmp);
        fail_msg("download", "out of host memory");
        return NULL;
    }
    if (tlv__dtype_is_block(t->dtype)) {
        /* GGUF bytes back (tlv__tensor_read converts from the device layout), dequantized */
        int ok = tlv__tensor_read(g->dev, t, tmp, &g->err) == TLV_OK;
        if (!ok) fail_msg("download", g->err.msg);
        for (int64_t r = 0; r < t->shape[0] && ok; r++)
            ok = tlv__dequantize_row(t->dtype, (const uint8_t *)tmp + (uint64_t)r * row_bytes, row_elems,
                                     out + r * row_elems) == TLV_OK;
        free(tmp);
        if (!ok) {
            free(out);
            return NULL;
        }
        return out;
    }
    for (int i = 0; i < t->n_slabs; i++) {
        int64_t nr = tlv__tensor_slab_nrows(t, i);
        if (tlv__vk_buffer_read(g->dev, &t->slabs[i], 0, tmp, (size_t)((uint64_t)nr * row_bytes), &g->err) != TLV_OK) {
            fail_msg("download", g->err.msg);
            free(out);
            free(tmp);
            return NULL;
        }
        from_dtype(t->dtype, tmp, out + (size_t)((int64_t)i * t->slab_rows * row_elems), (size_t)(nr * row_elems));
    }
    free(tmp);
    return out;
}

int tlv_test_guards_ok(tlv_test_gpu *g, const tlv_tensor *t, const char *what)
{
    int ok = 1;
    for (int i = 0; i < t->n_slabs; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s (slab %d of %d)", what, i, t->n_slabs);
        ok &= view_guards_ok(g, &t->slabs[i], name);
    }
    return ok;
}

void tlv_test_tensor_release(tlv_test_gpu *g, tlv_tensor *t)
{
    for (int i = 0; i < t->n_slabs; i++) release_view(g, &t->slabs[i]);
    tlv__tensor_slabs_delete(g->dev, t);
}

/* ------------------------------------------------------------------ comparisons */

static int report(const char *what, const char *measure, size_t worst, float got, float ref, double err, double bound)
{
    tlv_test_failures++;
    fprintf(stderr, "FAIL %s: %s: worst at %zu: got %.9g, ref %.9g (error %.3g > bound %.3g)\n", what, measure,
            worst, (double)got, (double)ref, err, bound);
    return 0;
}

int tlv_test_compare_rel(const char *what, const float *got, const float *ref, size_t n, double tol)
{
    tlv_test_checks++;
    if (!got) return report(what, "no data", 0, 0, 0, 0, 0);
    double maxref = 0, worst_err = -1;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(ref[i]) > maxref) maxref = fabs(ref[i]);
    if (maxref < 1e-30) maxref = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double e;
        if (isnan(ref[i]) || isnan(got[i])) e = isnan(ref[i]) && isnan(got[i]) ? 0 : INFINITY;
        else e = fabs((double)got[i] - (double)ref[i]);
        if (e > worst_err) {
            worst_err = e;
            worst = i;
        }
    }
    if (n && !(worst_err <= tol * maxref))
        return report(what, "max abs error / max |ref|", worst, got[worst], ref[worst], worst_err / maxref, tol);
    return 1;
}

int tlv_test_compare_elem(const char *what, const float *got, const float *ref, size_t n, double atol, double rtol)
{
    tlv_test_checks++;
    if (!got) return report(what, "no data", 0, 0, 0, 0, 0);
    double worst_ratio = -1;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double bound = atol + rtol * fabs(ref[i]);
        double e;
        if (isnan(ref[i]) || isnan(got[i])) e = isnan(ref[i]) && isnan(got[i]) ? 0 : INFINITY;
        else if (isinf(ref[i]) && got[i] == ref[i]) e = 0;
        else e = fabs((double)got[i] - (double)ref[i]);
        double ratio = e / (bound > 0 ? bound : 1e-300);
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            worst = i;
        }
    }
    if (n && !(worst_ratio <= 1.0)) {
        double e = fabs((double)got[worst] - (double)ref[worst]);
        return report(what, "|got - ref| <= atol + rtol |ref|", worst, got[worst], ref[worst], e,
                      atol + rtol * fabs(ref[worst]));
    }
    return 1;
}

int tlv_test_compare_i32(const char *what, const int32_t *got, const int32_t *ref, size_t n)
{
    tlv_test_checks++;
    if (!got) return report(what, "no data", 0, 0, 0, 0, 0);
    for (size_t i = 0; i < n; i++) {
        if (got[i] != ref[i]) {
            tlv_test_failures++;
            fprintf(stderr, "FAIL %s: first difference at %zu: got %d, ref %d\n", what, i, (int)got[i], (int)ref[i]);
            return 0;
        }
    }
    return 1;
}

float *tlv_test_random(uint64_t seed, size_t n, float lo, float hi)
{
    float *x = malloc(n * sizeof *x + 4);
    if (!x) return NULL;
    uint64_t st = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) x[i] = tlv_test_rand_uniform(&st, lo, hi);
    return x;
}
