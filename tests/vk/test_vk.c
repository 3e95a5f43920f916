/* The Vulkan device layer on the real driver (lavapipe here): instance, caps, memory
 * sub-allocation, pipelines and the persistent cache, streams with automatic barriers. */
#include "harness.h"

#include <stdlib.h>
#include <unistd.h>

#include "vk/vk.h"

static tlv_vk_instance *inst;

static void log_stderr(void *ud, tlv_log_level level, const char *msg)
{
    (void)ud;
    if (level <= TLV_LOG_WARN) fprintf(stderr, "%s\n", msg);
}
static const tlv_logger logger = {log_stderr, NULL, TLV_LOG_WARN};

static tlv_vk_device *open_device(const char *cache_dir)
{
    tlv_err e;
    uint32_t idx = 0;
    CHECK_EQ_INT(tlv__vk_instance_pick(inst, NULL, &idx, &e), TLV_OK);
    tlv_vk_device_options o = {cache_dir};
    tlv_vk_device *d = NULL;
    tlv_status st = tlv__vk_device_create(inst, idx, &o, &d, &e);
    if (st) fprintf(stderr, "device: %s\n", e.msg);
    CHECK_EQ_INT(st, TLV_OK);
    return d;
}

static void test_memory(tlv_vk_device *d)
{
    tlv_err e;
    enum { N = 40 };
    tlv_vk_buffer b[N];
    const tlv_vk_caps *c = tlv__vk_device_caps(d);
    uint64_t sizes[N];
    for (int i = 0; i < N; i++) {
        sizes[i] = (uint64_t)(i * 7919 % 5000) + 1;
        CHECK_EQ_INT(tlv__vk_buffer_alloc(d, sizes[i], TLV_MEM_DEVICE, &b[i], &e), TLV_OK);
        CHECK((b[i].offset % c->min_storage_align) == 0);
    }
    /* no two live ranges overlap */
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            if (b[i].buffer == b[j].buffer)
                CHECK(b[i].offset + sizes[i] <= b[j].offset || b[j].offset + sizes[j] <= b[i].offset);
    /* free every other one, reallocate, contents survive */
    uint32_t pattern = 0xA5A5A5A5;
    CHECK_EQ_INT(tlv__vk_buffer_write(d, &b[1], 0, &pattern, 4, &e), TLV_OK);
    for (int i = 0; i < N; i += 2) tlv__vk_buffer_free(d, &b[i]);
    for (int i = 0; i < N; i += 2) CHECK_EQ_INT(tlv__vk_buffer_alloc(d, 300, TLV_MEM_DEVICE, &b[i], &e), TLV_OK);
    uint32_t back = 0;
    CHECK_EQ_INT(tlv__vk_buffer_read(d, &b[1], 0, &back, 4, &e), TLV_OK);
    CHECK_EQ_INT(back, pattern);
    /* out-of-range copies are errors */
    CHECK_EQ_INT(tlv__vk_buffer_read(d, &b[1], sizes[1], &back, 4, &e), TLV_ERR_INVALID_ARG);
    for (int i = 0; i < N; i++) tlv__vk_buffer_free(d, &b[i]);
    uint64_t now = 1, peak = 0;
    tlv__vk_device_memory_usage(d, &now, &peak);
    CHECK_EQ_INT(now, 0);
    CHECK(peak > 0);
    tlv__vk_buffer_free(d, &b[0]); /* freeing twice is harmless */
    /* a request larger than maxMemoryAllocationSize is a clear error */
    if (c->max_alloc_bytes < (1ull << 62)) {
        tlv_vk_buffer big;
        CHECK_EQ_INT(tlv__vk_buffer_alloc(d, c->max_alloc_bytes + 4096, TLV_MEM_DEVICE, &big, &e), TLV_ERR_DEVICE_MEMORY);
        CHECK_CONTAINS(e.msg, "maxMemoryAllocationSize");
    }
}

/* A chain y1 = 2x+1, y2 = 3*y1 - 1, ... through the same buffers: wrong barriers give wrong sums
 * (and the synchronization validation layer complains). */
static void test_stream(tlv_vk_device *d)
{
    tlv_err e;
    enum { N = 1000 };
    tlv_stream *s = NULL;
    CHECK_EQ_INT(tlv__stream_create(d, &s, &e), TLV_OK);
    const tlv_vk_pipeline *p = NULL, *p2 = NULL;
    uint32_t spec[2] = {64, 0};
    CHECK_EQ_INT(tlv__vk_pipeline_get(d, "vk_selftest", spec, 2, 2, 12, &p, &e), TLV_OK);
    CHECK_EQ_INT(tlv__vk_pipeline_get(d, "vk_selftest", spec, 2, 2, 12, &p2, &e), TLV_OK);
    CHECK(p == p2); /* created once */
    uint32_t spec1[2] = {64, 1};
    const tlv_vk_pipeline *pstep = NULL;
    CHECK_EQ_INT(tlv__vk_pipeline_get(d, "vk_selftest", spec1, 2, 2, 12, &pstep, &e), TLV_OK);
    CHECK(pstep != p);
    CHECK_EQ_INT(tlv__vk_pipeline_get(d, "no_such_shader", spec, 2, 2, 12, &p2, &e), TLV_ERR_UNSUPPORTED);
    CHECK_CONTAINS(e.msg, "no_such_shader");

    tlv_vk_buffer a, b, out;
    CHECK_EQ_INT(tlv__vk_buffer_alloc(d, N * 4, TLV_MEM_DEVICE, &a, &e), TLV_OK);
    CHECK_EQ_INT(tlv__vk_buffer_alloc(d, N * 4, TLV_MEM_DEVICE, &b, &e), TLV_OK);
    CHECK_EQ_INT(tlv__vk_buffer_alloc(d, N * 4 + 64, TLV_MEM_READBACK, &out, &e), TLV_OK);
    float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)i * 0.5f;
    CHECK_EQ_INT(tlv__vk_buffer_write(d, &a, 0, x, sizeof x, &e), TLV_OK);

    for (int ts = 0; ts < 2; ts++) {
        tlv__stream_begin(s, ts);
        struct { uint32_t n; float a, b; } pc = {N, 2.0f, 1.0f};
        tlv_vk_binding ab[2] = {{&a, 0, 0, 0}, {&b, 0, 0, 1}}, ba[2] = {{&b, 0, 0, 0}, {&a, 0, 0, 1}};
        tlv__stream_dispatch(s, p, ab, 2, &pc, sizeof pc, (N + 63) / 64, 1, 1, "a->b");
        pc.a = 3.0f;
        pc.b = -1.0f;
        tlv__stream_dispatch(s, pstep, ba, 2, &pc, sizeof pc, (N + 63) / 64, 1, 1, "b->a");
        tlv__stream_fill(s, &out, N * 4, 64, 0xDEADBEEFu);
        tlv__stream_copy(s, &a, 0, &out, 0, N * 4);
        CHECK_EQ_INT(tlv__stream_run(s, &e), TLV_OK);
        CHECK_EQ_INT(tlv__stream_n_dispatches(s), 4);
        CHECK_EQ_STR(tlv__stream_label(s, 1), "b->a");
        if (ts && tlv__vk_device_caps(d)->timestamps) CHECK(tlv__stream_total_ns(s) > 0);
        float y[N];
        uint32_t guard[16];
        CHECK_EQ_INT(tlv__vk_buffer_read(d, &out, 0, y, sizeof y, &e), TLV_OK);
        CHECK_EQ_INT(tlv__vk_buffer_read(d, &out, N * 4, guard, sizeof guard, &e), TLV_OK);
        int bad = 0;
        for (int i = 0; i < N; i++) {
            float want = 3.0f * (2.0f * x[i] + 1.0f) - 1.0f + (float)i;
            if (y[i] != want) bad++;
        }
        CHECK_EQ_INT(bad, 0);
        CHECK_EQ_INT(guard[15], 0xDEADBEEFu);
        /* restore a for the second round */
        CHECK_EQ_INT(tlv__vk_buffer_write(d, &a, 0, x, sizeof x, &e), TLV_OK);
    }

    /* sticky errors: a bad dispatch makes the whole recording fail, later records do nothing */
    tlv__stream_begin(s, 0);
    struct { uint32_t n; float a, b; } pc = {N, 1, 0};
    tlv_vk_binding ab[2] = {{&a, 0, 0, 0}, {&b, 0, 0, 1}};
    CHECK_EQ_INT(tlv__stream_dispatch(s, p, ab, 1, &pc, sizeof pc, 1, 1, 1, "bad"), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv__stream_dispatch(s, p, ab, 2, &pc, sizeof pc, 1, 1, 1, "ok"), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv__stream_run(s, &e), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(e.msg, "bad: 1 bindings given");
    /* misaligned binding offset */
    tlv__stream_begin(s, 0);
    tlv_vk_binding mis[2] = {{&a, 4, 0, 0}, {&b, 0, 0, 1}};
    CHECK_EQ_INT(tlv__stream_dispatch(s, p, mis, 2, &pc, sizeof pc, 1, 1, 1, "mis"), TLV_ERR_INVALID_ARG);
    /* the stream is usable again after begin */
    tlv__stream_begin(s, 0);
    CHECK_EQ_INT(tlv__stream_dispatch(s, p, ab, 2, &pc, sizeof pc, 1, 1, 1, "ok"), TLV_OK);
    CHECK_EQ_INT(tlv__stream_run(s, &e), TLV_OK);

    tlv__vk_buffer_free(d, &a);
    tlv__vk_buffer_free(d, &b);
    tlv__vk_buffer_free(d, &out);
    tlv__stream_destroy(s);
}

/* Uniform texel buffers (vk_texel_selftest.comp): views at aligned offsets, an unaligned start
 * handled the way ops do (view aligned down, element offset in push constants), a range that is
 * not whole texels, bad bindings refused, and barriers: texel reads after storage writes, and
 * storage writes after texel reads, in one recording (the synchronization validation layer
 * checks them too). */
struct texel_push {
    uint32_t n, e4, e1;
    float c;
};

static void texel_expect(tlv_vk_device *d, const tlv_vk_buffer *out, uint32_t n, const float *want, const char *what)
{
    tlv_err e;
    float y[1024];
    CHECK(n <= 1024);
    CHECK_EQ_INT(tlv__vk_buffer_read(d, out, 0, y, n * 4, &e), TLV_OK);
    int bad = 0;
    for (uint32_t i = 0; i < n; i++)
        if (y[i] != want[i]) {
            if (!bad) fprintf(stderr, "%s: y[%u] = %g, want %g\n", what, i, y[i], want[i]);
            bad++;
        }
    CHECK_EQ_INT(bad, 0);
}

static void test_texel(tlv_vk_device *d)
{
    const tlv_vk_caps *c = tlv__vk_device_caps(d);
    const uint32_t need = 1u << TLV_TEXEL_RGBA32UI | 1u << TLV_TEXEL_R32UI;
    if ((c->texel_formats & need) != need || c->max_texel_buffers < 2) {
        printf("texel buffers: not supported here, skipped\n");
        return;
    }
    CHECK(c->min_texel_align >= 1 && c->min_texel_align <= 256);
    CHECK(c->max_texel_elements >= 65536);
    tlv_err e;
    tlv_stream *s = NULL;
    CHECK_EQ_INT(tlv__stream_create(d, &s, &e), TLV_OK);
    const tlv_vk_pipeline *pt = NULL, *pt2 = NULL, *ps = NULL, *pplain = NULL;
    uint32_t spec[1] = {64};
    CHECK_EQ_INT(tlv__vk_pipeline_get_ex(d, "vk_texel_selftest", spec, 1, 3, 0x3, sizeof(struct texel_push), &pt, &e),
                 TLV_OK);
    CHECK_EQ_INT(pt->texel_mask, 0x3);
    CHECK_EQ_INT(tlv__vk_pipeline_get_ex(d, "vk_texel_selftest", spec, 1, 3, 0x3, sizeof(struct texel_push), &pt2, &e),
                 TLV_OK);
    CHECK(pt == pt2);
    /* texel mask 0 is the plain call; a mask past the bindings is refused */
    uint32_t sspec[2] = {64, 0};
    CHECK_EQ_INT(tlv__vk_pipeline_get(d, "vk_selftest", sspec, 2, 2, 12, &pplain, &e), TLV_OK);
    CHECK_EQ_INT(tlv__vk_pipeline_get_ex(d, "vk_selftest", sspec, 2, 2, 0, 12, &ps, &e), TLV_OK);
    CHECK(ps == pplain);
    CHECK_EQ_INT(tlv__vk_pipeline_get_ex(d, "vk_selftest", sspec, 2, 2, 0x4, 12, &ps, &e), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(e.msg, "texel mask");
    CHECK_EQ_INT(tlv__vk_pipeline_get_ex(d, "vk_selftest", sspec, 2, 2, 0, 12, &ps, &e), TLV_OK);

    enum { N = 1000, A = 256 }; /* A: floats of slack before the data read at an offset */
    tlv_vk_buffer src, mid, out;
    CHECK_EQ_INT(tlv__vk_buffer_alloc(d, (A + N) * 4, TLV_MEM_DEVICE, &src, &e), TLV_OK);
    CHECK_EQ_INT(tlv__vk_buffer_alloc(d, N * 4, TLV_MEM_DEVICE, &mid, &e), TLV_OK);
    CHECK_EQ_INT(tlv__vk_buffer_alloc(d, N * 4, TLV_MEM_READBACK, &out, &e), TLV_OK);
    static float x[A + N], want[N];
    for (int i = 0; i < A + N; i++) x[i] = (float)(i % 997) * 0.25f - 7.0f;
    CHECK_EQ_INT(tlv__vk_buffer_write(d, &src, 0, x, sizeof x, &e), TLV_OK);
    uint32_t al = c->min_texel_align; /* bytes */
    uint32_t gx = (N + 63) / 64;

    /* 1. aligned views: RGBA32UI from byte `al`, R32UI from byte 0 (whole buffer) */
    tlv__stream_begin(s, 0);
    struct texel_push pc = {N, 0, 0, 0.5f};
    tlv_vk_binding b1[3] = {{&src, al, (VkDeviceSize)N * 4, 0, TLV_TEXEL_RGBA32UI},
                            {&src, 0, 0, 0, TLV_TEXEL_R32UI},
                            {&out, 0, 0, 1}};
    CHECK_EQ_INT(tlv__stream_dispatch(s, pt, b1, 3, &pc, sizeof pc, gx, 1, 1, "texel aligned"), TLV_OK);
    CHECK_EQ_INT(tlv__stream_run(s, &e), TLV_OK);
    for (int i = 0; i < N; i++) want[i] = x[al / 4 + i] + x[i] + 0.5f;
    texel_expect(d, &out, N, want, "aligned");

    /* 2. data starting off the texel alignment (element 3, and element A - 1 for R32UI): the view
     * starts at the aligned byte below, the element offset goes in the push constants; the range
     * (N - 1 floats) is not whole texels: the last one is rounded up */
    uint32_t start4 = 3 * 4, start1 = (A - 1) * 4;
    uint32_t v4 = start4 / al * al, v1 = start1 / al * al;
    tlv__stream_begin(s, 0);
    pc.n = N - 1;
    pc.e4 = (start4 - v4) / 4;
    pc.e1 = (start1 - v1) / 4;
    pc.c = -1.0f;
    tlv_vk_binding b2[3] = {{&src, v4, start4 - v4 + (VkDeviceSize)(N - 1) * 4, 0, TLV_TEXEL_RGBA32UI},
                            {&src, v1, start1 - v1 + (VkDeviceSize)(N - 1) * 4, 0, TLV_TEXEL_R32UI},
                            {&out, 0, 0, 1}};
    CHECK_EQ_INT(tlv__stream_dispatch(s, pt, b2, 3, &pc, sizeof pc, gx, 1, 1, "texel unaligned"), TLV_OK);
    CHECK_EQ_INT(tlv__stream_run(s, &e), TLV_OK);
    for (int i = 0; i < N - 1; i++) want[i] = x[3 + i] + x[A - 1 + i] - 1.0f;
    texel_expect(d, &out, N - 1, want, "unaligned start");

    /* 3. bad bindings are refused (sticky, named) */
    if (al > 4) {
        tlv__stream_begin(s, 0);
        tlv_vk_binding bad[3] = {{&src, 4, 64, 0, TLV_TEXEL_RGBA32UI}, {&src, 0, 0, 0, TLV_TEXEL_R32UI}, {&out, 0, 0, 1}};
        CHECK_EQ_INT(tlv__stream_dispatch(s, pt, bad, 3, &pc, sizeof pc, 1, 1, 1, "mis"), TLV_ERR_INVALID_ARG);
        CHECK_EQ_INT(tlv__stream_run(s, &e), TLV_ERR_INVALID_ARG);
        CHECK_CONTAINS(e.msg, "mis: binding 0: texel view offset 4 not aligned");
    }
    tlv__stream_begin(s, 0);
    tlv_vk_binding kind[3] = {{&src, 0, 0, 0, TLV_TEXEL_RGBA32UI}, {&src, 0, 0, 0, TLV_TEXEL_NONE}, {&out, 0, 0, 1}};
    CHECK_EQ_INT(tlv__stream_dispatch(s, pt, kind, 3, &pc, sizeof pc, 1, 1, 1, "kind"), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv__stream_run(s, &e), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(e.msg, "binding 1 is a storage buffer, pipeline vk_texel_selftest expects a texel buffer");
    tlv__stream_begin(s, 0);
    tlv_vk_binding wr[3] = {{&src, 0, 0, 1, TLV_TEXEL_RGBA32UI}, {&src, 0, 0, 0, TLV_TEXEL_R32UI}, {&out, 0, 0, 1}};
    CHECK_EQ_INT(tlv__stream_dispatch(s, pt, wr, 3, &pc, sizeof pc, 1, 1, 1, "wr"), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv__stream_run(s, &e), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(e.msg, "read-only");
    tlv__stream_begin(s, 0);
    tlv_vk_binding fmt[3] = {{&src, 0, 0, 0, (tlv_vk_texel)7}, {&src, 0, 0, 0, TLV_TEXEL_R32UI}, {&out, 0, 0, 1}};
    CHECK_EQ_INT(tlv__stream_dispatch(s, pt, fmt, 3, &pc, sizeof pc, 1, 1, 1, "fmt"), TLV_ERR_INVALID_ARG);
    CHECK_EQ_INT(tlv__stream_run(s, &e), TLV_ERR_INVALID_ARG);
    CHECK_CONTAINS(e.msg, "unknown texel format");

    /* 4. hazards in one recording: mid = 2 src + 1 (storage write), texel read of mid into out,
     * mid = 3 src' - 1 (storage write after the texel read), texel read again into out; then
     * many dispatches sharing views (more sets than one descriptor pool holds). */
    tlv__stream_begin(s, 0);
    struct { uint32_t n; float a, b; } sp = {N, 2.0f, 1.0f};
    tlv_vk_binding s2m[2] = {{&src, 0, (VkDeviceSize)N * 4, 0}, {&mid, 0, 0, 1}};
    tlv_vk_binding m2o[3] = {{&mid, 0, 0, 0, TLV_TEXEL_RGBA32UI}, {&mid, 0, 0, 0, TLV_TEXEL_R32UI}, {&out, 0, 0, 1}};
    pc.n = N, pc.e4 = 0, pc.e1 = 0, pc.c = 0.0f;
    tlv__stream_dispatch(s, pplain, s2m, 2, &sp, sizeof sp, gx, 1, 1, "src->mid");
    tlv__stream_dispatch(s, pt, m2o, 3, &pc, sizeof pc, gx, 1, 1, "mid->out (texel)");
    sp.a = 3.0f, sp.b = -1.0f;
    tlv__stream_dispatch(s, pplain, s2m, 2, &sp, sizeof sp, gx, 1, 1, "src->mid again");
    for (int k = 0; k < 600; k++) tlv__stream_dispatch(s, pt, m2o, 3, &pc, sizeof pc, gx, 1, 1, "mid->out (texel)");
    CHECK_EQ_INT(tlv__stream_run(s, &e), TLV_OK);
    CHECK_EQ_INT(tlv__stream_n_dispatches(s), 603);
    for (int i = 0; i < N; i++) want[i] = 2.0f * (3.0f * x[i] - 1.0f);
    texel_expect(d, &out, N, want, "hazards");

    tlv__vk_buffer_free(d, &src);
    tlv__vk_buffer_free(d, &mid);
    tlv__vk_buffer_free(d, &out);
    tlv__stream_destroy(s);
}

static void test_pipeline_cache(void)
{
    char dir[] = "/tmp/tlv_pcache_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    tlv_err e;
    const tlv_vk_pipeline *p;
    uint32_t spec[2] = {32, 0};
    /* 1: empty dir -> miss; creating a pipeline and destroying the device writes the file */
    tlv_vk_device *d = open_device(dir);
    if (!d) return;
    CHECK_EQ_INT(tlv__vk_device_pipeline_cache_hit(d), 0);
    CHECK_EQ_INT(tlv__vk_pipeline_get(d, "vk_selftest", spec, 2, 2, 12, &p, &e), TLV_OK);
    tlv__vk_device_destroy(d);
    char path[256];
    const tlv_vk_caps *c = tlv__vk_instance_caps(inst, 0);
    snprintf(path, sizeof path, "%s/pipelines-%04x-%04x.bin", dir, c->vendor_id, c->device_id);
    size_t len = 0;
    char *blob = tlv_test_read_file(path, &len);
    CHECK(blob != NULL && len > 60);
    /* 2: the file is there -> hit */
    d = open_device(dir);
    CHECK_EQ_INT(tlv__vk_device_pipeline_cache_hit(d), 1);
    tlv__vk_device_destroy(d);
    /* 3: damaged header (other driver version) -> miss, no error */
    if (blob) {
        blob[32] ^= 0xFF;
        FILE *f = fopen(path, "wb");
        fwrite(blob, 1, len, f);
        fclose(f);
        d = open_device(dir);
        CHECK_EQ_INT(tlv__vk_device_pipeline_cache_hit(d), 0);
        tlv__vk_device_destroy(d);
        /* 4: truncated file -> miss */
        f = fopen(path, "wb");
        fwrite(blob, 1, 30, f);
        fclose(f);
        d = open_device(dir);
        CHECK_EQ_INT(tlv__vk_device_pipeline_cache_hit(d), 0);
        CHECK_EQ_INT(tlv__vk_pipeline_get(d, "vk_selftest", spec, 2, 2, 12, &p, &e), TLV_OK);
        tlv__vk_device_destroy(d);
    }
    free(blob);
    remove(path);
    rmdir(dir);
}

int main(void)
{
    tlv_err e;
    tlv_vk_instance_options io = {NULL, &logger, 0};
    tlv_status st = tlv__vk_instance_create(&io, &inst, &e);
    if (st) {
        fprintf(stderr, "instance: %s\n", e.msg);
        CHECK_EQ_INT(st, TLV_OK);
        return tlv_test_finish("test_vk");
    }
    CHECK(tlv__vk_instance_device_count(inst) >= 1);
    char banner[1024];
    tlv__vk_caps_banner(tlv__vk_instance_caps(inst, 0), banner, sizeof banner);
    printf("%s\n", banner);
    uint32_t idx = 99;
    CHECK_EQ_INT(tlv__vk_instance_pick(inst, "0", &idx, &e), TLV_OK);
    CHECK_EQ_INT(idx, 0);
    CHECK_EQ_INT(tlv__vk_instance_pick(inst, "7", &idx, &e), TLV_ERR_NOT_FOUND);
    CHECK_EQ_INT(tlv__vk_instance_pick(inst, "no-such-gpu-xyz", &idx, &e), TLV_ERR_NOT_FOUND);
    CHECK_CONTAINS(e.msg, "no-such-gpu-xyz");

    tlv_vk_device *d = open_device("");
    if (d) {
        test_memory(d);
        test_stream(d);
        test_texel(d);
        tlv__vk_device_destroy(d);
    }
    test_pipeline_cache();
    tlv__vk_device_destroy(NULL);
    if (tlv__vk_instance_validation_enabled(inst)) printf("validation layer on\n");
    CHECK_EQ_INT(tlv__vk_instance_validation_count(inst), 0);
    tlv__vk_instance_destroy(inst);
    return tlv_test_finish("test_vk");
}
