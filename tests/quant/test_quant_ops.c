/* Q8_0 / Q4_0 tensors on a device: they allocate (row bytes from tensor/dtype.h, slabs by the
 * usual rule), their GGUF bytes go up and come back identical across slabs and conversion chunks
 * (tensor.c converts to and from the device layout, tensor.h), the device layout is the one
 * documented (a kernel-free check: the raw slab bytes), synthetic fills (tlv__op_fill_random)
 * hold the values they promise, and every op other than the matrix kernels and the embedding
 * gather (tested in tests/ops_matmul and tests/ops_basic) refuses them by name. Also run with
 * TLV_MAX_STORAGE_RANGE=65536 (tests/quant/CMakeLists.txt) so the big tensor is split. */
#include "ops_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/basic.h"
#include "ops/fill.h"
#include "ops/matmul.h"
#include "tensor/quant.h"

static void test_alloc(tlv_test_gpu *g)
{
    tlv_tensor t;
    tlv_err err;
    /* 1-D and rows that are not whole blocks are refused */
    tlv__tensor_init(&t, TLV_Q8_0, 1, (const int64_t[]){64});
    CHECK_EQ_INT(tlv__tensor_alloc(g->dev, &t, TLV_MEM_DEVICE, &err), TLV_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "a Q8_0 tensor needs 2 or more dimensions, the last a multiple of 32; found 1-D");
    tlv__tensor_init(&t, TLV_Q4_0, 2, (const int64_t[]){4, 40});
    CHECK_EQ_INT(tlv__tensor_alloc(g->dev, &t, TLV_MEM_DEVICE, &err), TLV_ERR_SHAPE);
    CHECK_CONTAINS(err.msg, "last dimension 40");
    CHECK_EQ_INT(t.n_slabs, 0);

    /* [20000, 64] Q8_0: 68-byte rows, 1.36 MB: one slab converted in two host chunks (1 MiB), or
     * several slabs under a small range */
    for (int f = 0; f < 2; f++) {
        tlv_dtype dt = f ? TLV_Q4_0 : TLV_Q8_0;
        const int64_t rows = 20000, cols = 64;
        const uint64_t rb = f ? 36 : 68;
        tlv__tensor_init(&t, dt, 2, (const int64_t[]){rows, cols});
        CHECK_EQ_INT(tlv__tensor_row_bytes(&t), rb);
        CHECK_EQ_INT(tlv__tensor_bytes(&t), rows * rb);
        CHECK_EQ_INT(tlv__tensor_alloc(g->dev, &t, TLV_MEM_DEVICE, &err), TLV_OK);
        uint64_t limit = g->caps->storage_range_limit;
        if (rows * rb <= limit) {
            CHECK_EQ_INT(t.n_slabs, 1);
        } else {
            int64_t want = (int64_t)(limit / rb) & ~(int64_t)7;
            CHECK_EQ_INT(t.slab_rows, want);
            CHECK_EQ_INT(t.n_slabs, (rows + want - 1) / want);
            printf("%s [%lld, %lld]: %d slabs of %lld rows\n", tlv__dtype_name(dt), (long long)rows, (long long)cols,
                   t.n_slabs, (long long)t.slab_rows);
        }
        for (int i = 0; i < t.n_slabs; i++) CHECK(t.slabs[i].size >= (uint64_t)tlv__tensor_slab_nrows(&t, i) * rb);
        /* bytes in, the same bytes out, whole and by row ranges that cross slabs */
        size_t n = (size_t)(rows * rb);
        uint8_t *src = malloc(n), *back = malloc(n);
        uint64_t seed = 99;
        for (size_t i = 0; i < n; i++) src[i] = (uint8_t)tlv_test_rand_u32(&seed);
        CHECK_EQ_INT(tlv__tensor_write(g->dev, &t, src, &err), TLV_OK);
        memset(back, 0, n);
        CHECK_EQ_INT(tlv__tensor_read(g->dev, &t, back, &err), TLV_OK);
        CHECK(memcmp(src, back, n) == 0);
        for (size_t i = 0; i < n; i++) src[i] ^= 0x5a;
        CHECK_EQ_INT(tlv__tensor_write_rows(g->dev, &t, 0, 1000, src, &err), TLV_OK);
        CHECK_EQ_INT(tlv__tensor_write_rows(g->dev, &t, 1000, rows - 1000, src + 1000 * rb, &err), TLV_OK);
        CHECK_EQ_INT(tlv__tensor_read(g->dev, &t, back, &err), TLV_OK);
        CHECK(memcmp(src, back, n) == 0);
        /* a few rows in the middle of a slab (quants and scales: two ranges of that slab) */
        for (size_t i = 5001 * rb; i < 5004 * rb; i++) src[i] ^= 0xff;
        CHECK_EQ_INT(tlv__tensor_write_rows(g->dev, &t, 5001, 3, src + 5001 * rb, &err), TLV_OK);
        CHECK_EQ_INT(tlv__tensor_read(g->dev, &t, back, &err), TLV_OK);
        CHECK(memcmp(src, back, n) == 0);
        /* the device layout itself (tensor.h): slab 0's quants, then its scales */
        {
            uint32_t qb = f ? 16 : 32, nb = (uint32_t)(cols / TLV_QK);
            int64_t n0 = tlv__tensor_slab_nrows(&t, 0);
            uint64_t nblk = (uint64_t)n0 * nb;
            uint8_t *raw = malloc((size_t)(nblk * (qb + 2)));
            CHECK_EQ_INT(tlv__tensor_block_scales_offset(&t, 0), nblk * qb);
            CHECK_EQ_INT(tlv__vk_buffer_read(g->dev, &t.slabs[0], 0, raw, (size_t)(nblk * (qb + 2)), &err), TLV_OK);
            int same = 1;
            for (uint64_t b = 0; b < nblk; b++) {
                same &= memcmp(raw + b * qb, src + b * (qb + 2) + 2, qb) == 0;
                same &= memcmp(raw + nblk * qb + 2 * b, src + b * (qb + 2), 2) == 0;
            }
            CHECK(same);
            free(raw);
        }
        free(src);
        free(back);
        tlv__tensor_free(g->dev, &t);
    }
}

/* shaders/fill_random.comp's numbers, in C (pcg hash of (seed, element index)) */
static uint32_t pcg_hash(uint32_t v)
{
    uint32_t state = v * 747796405u + 2891336453u;
    uint32_t word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

/* tlv__op_fill_random on Q8_0 / Q4_0: every element within half a scale of offset + scale * u(i)
 * (the C model of the shader's hash), the scale (|offset| + |scale|) / 127 or / 7 in every block,
 * across slabs (the slab run splits [600, 192]). A wrong nibble or byte order puts elements
 * several scales off. */
static void test_fill(tlv_test_gpu *g)
{
    const int64_t rows = 600, cols = 192;
    const float scale = 0.5f, offset = 0.125f;
    for (int f = 0; f < 2; f++) {
        tlv_dtype dt = f ? TLV_Q4_0 : TLV_Q8_0;
        tlv_tensor t;
        CHECK(tlv_test_tensor_make(g, &t, dt, 2, (const int64_t[]){rows, cols}, NULL, 1));
        uint32_t seed = 7, seed0 = seed;
        tlv__op_fill_random(g->s, &t, &seed, scale, offset);
        CHECK_EQ_INT(seed, seed0 + (uint32_t)t.n_slabs);
        if (!tlv_test_run(g)) {
            tlv_test_tensor_release(g, &t);
            continue;
        }
        float *got = tlv_test_tensor_download(g, &t);
        double d = tlv__f16_to_f32(tlv__f32_to_f16((fabsf(offset) + fabsf(scale)) / (f ? 7.0f : 127.0f)));
        double worst = 0;
        int64_t worst_i = 0;
        for (int64_t i = 0; got && i < rows * cols; i++) {
            int sl = (int)(i / cols / t.slab_rows);
            uint32_t e = (uint32_t)(i - (int64_t)sl * t.slab_rows * cols); /* element in its slab */
            uint32_t h = pcg_hash(e ^ pcg_hash(seed0 + (uint32_t)sl));
            double want = offset + scale * ((double)(h >> 8) * (2.0 / 16777216.0) - 1.0);
            double err = fabs(got[i] - want);
            if (err > worst) worst = err, worst_i = i;
        }
        printf("fill_random %s: %d slabs, worst |x - want| = %.4g at %lld (scale %.4g)\n", tlv__dtype_name(dt), t.n_slabs,
               worst, (long long)worst_i, d);
        CHECK(got != NULL);
        CHECK(worst <= 0.5 * d + 1e-6);
        CHECK(tlv_test_guards_ok(g, &t, "fill_random block"));
        free(got);
        tlv_test_tensor_release(g, &t);
    }
}

/* Slab records are sized to need (tensor.h, ownership): a tensor in more than 64 slabs (the old
 * inline limit) allocates, round-trips its bytes and frees its record array (ASan/LSan builds catch
 * a leak or an overrun); a struct copy is a view that shares the owner's slabs. */
static void test_many_slabs(tlv_test_gpu *g)
{
    tlv_err err;
    tlv_tensor t, z = {0};
    printf("sizeof(tlv_tensor) = %zu bytes\n", sizeof(tlv_tensor));
    CHECK(sizeof(tlv_tensor) <= 96);
    tlv__tensor_free(g->dev, &z); /* a zeroed tensor frees to nothing */
    CHECK(z.slabs == NULL && z.n_slabs == 0);
    /* [1600, 1024] F32: 4 KiB rows; a 64 KiB range gives 16 rows a slab, 100 slabs */
    const int64_t rows = 1600, cols = 1024;
    const uint64_t rb = cols * 4;
    tlv__tensor_init(&t, TLV_F32, 2, (const int64_t[]){rows, cols});
    CHECK(t.slabs == NULL);
    CHECK_EQ_INT(tlv__tensor_alloc(g->dev, &t, TLV_MEM_DEVICE, &err), TLV_OK);
    uint64_t limit = g->caps->storage_range_limit;
    int64_t per = rows * rb <= limit ? rows : (int64_t)(limit / rb) & ~(int64_t)7;
    CHECK_EQ_INT(t.n_slabs, (rows + per - 1) / per);
    if (limit <= 65536) CHECK(t.n_slabs > 64);
    printf("F32 [%lld, %lld]: %d slabs\n", (long long)rows, (long long)cols, t.n_slabs);
    size_t n = (size_t)(rows * rb);
    uint8_t *src = malloc(n), *back = calloc(1, n);
    CHECK(src && back);
    if (!src || !back) goto out;
    uint64_t seed = 7;
    for (size_t i = 0; i < n; i++) src[i] = (uint8_t)tlv_test_rand_u32(&seed);
    CHECK_EQ_INT(tlv__tensor_write(g->dev, &t, src, &err), TLV_OK);
    CHECK_EQ_INT(tlv__tensor_read(g->dev, &t, back, &err), TLV_OK);
    CHECK(memcmp(src, back, n) == 0);
    /* a view of the first 40 rows (crosses slabs under a small range), as graph.c's rows() makes */
    tlv_tensor v = t;
    v.shape[0] = 40;
    CHECK(v.slabs == t.slabs);
    memset(back, 0, n);
    CHECK_EQ_INT(tlv__tensor_read(g->dev, &v, back, &err), TLV_OK);
    CHECK(memcmp(src, back, (size_t)(40 * rb)) == 0);
    /* writes through the view land in the owner's storage */
    for (size_t i = 0; i < (size_t)(40 * rb); i++) src[i] ^= 0xa5;
    CHECK_EQ_INT(tlv__tensor_write(g->dev, &v, src, &err), TLV_OK);
    CHECK_EQ_INT(tlv__tensor_read(g->dev, &t, back, &err), TLV_OK);
    CHECK(memcmp(src, back, n) == 0);
out:
    free(src);
    free(back);
    tlv__tensor_free(g->dev, &t); /* the owner frees; the view is dropped */
    CHECK(t.slabs == NULL && t.n_slabs == 0);
    tlv__tensor_free(g->dev, &t); /* freeing twice is harmless */
}

/* Every op that reads a weight, table or float operand refuses a block dtype with its name. */
static void test_ops_refuse(tlv_test_gpu *g)
{
    tlv_tensor x, y, w8, w4, vec8, xq, yq, img, ys, y4;
    tlv_err err;
    tlv_vk_buffer ids;
    const int64_t M = 2, K = 64, N = 32;
    float xs[2 * 64];
    for (int i = 0; i < 2 * 64; i++) xs[i] = 0.01f * (float)i;
    CHECK(tlv_test_tensor_make(g, &x, TLV_F32, 2, (const int64_t[]){M, K}, xs, 0));
    CHECK(tlv_test_tensor_make(g, &y, TLV_F32, 2, (const int64_t[]){M, N}, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &y4, TLV_F32, 2, (const int64_t[]){M, K}, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &img, TLV_F32, 3, (const int64_t[]){3, 28, 28}, NULL, 0));
    CHECK(tlv_test_tensor_make(g, &ys, TLV_F32, 2, (const int64_t[]){4, 32}, NULL, 0));
    CHECK(tlv_test_buffer_make(g, &ids, 16, (const int32_t[]){0, 1, 2, 3}, 0));
    tlv_tensor *qs[5] = {&w8, &w4, &vec8, &xq, &yq};
    const tlv_dtype qd[5] = {TLV_Q8_0, TLV_Q4_0, TLV_Q8_0, TLV_Q4_0, TLV_Q8_0};
    const int64_t qshape[5][2] = {{N, K}, {N, K}, {1, K}, {M, K}, {M, K}};
    for (int i = 0; i < 5; i++) {
        tlv__tensor_init(qs[i], qd[i], 2, qshape[i]);
        CHECK_EQ_INT(tlv__tensor_alloc(g->dev, qs[i], TLV_MEM_DEVICE, &err), TLV_OK);
    }

    /* block weights are taken by the matrix kernels (tests/ops_matmul), but only as weights */
    tlv__op_matmul(g->s, &xq, &w8, NULL, NULL, TLV_ACT_NONE, &y);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: x: expected F32 [any, any], found Q4_0 [2, 64]");
    tlv__op_matmul(g->s, &x, &w4, NULL, NULL, TLV_ACT_NONE, &y4);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: y: expected F32 [any, 32], found F32 [2, 64]");
    /* bias of a block dtype */
    tlv_tensor wf;
    CHECK(tlv_test_tensor_make(g, &wf, TLV_F16, 2, (const int64_t[]){K, K}, NULL, 0));
    tlv__op_matmul(g->s, &x, &wf, &vec8, NULL, TLV_ACT_NONE, &y4);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "matmul: bias: expected [64] (F32, F16 or BF16), found Q8_0");
    tlv__op_norm(g->s, TLV_NORM_RMS, &x, NULL, &vec8, NULL, 1e-5f, &y4);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "found Q8_0 [1, 64]");
    tlv__op_add(g->s, &x, &xq, &y4);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "found Q4_0 [2, 64]");
    tlv__op_mul(g->s, &x, &vec8, &y4);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "found Q8_0 [1, 64]");
    tlv__op_copy_rows(g->s, &xq, 0, &y4, 0, 1);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "copy_rows: x: expected F32, F16 or BF16, found Q4_0");
    tlv__op_copy_rows(g->s, &x, 0, &yq, 0, 1);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "copy_rows: y: expected F32, F16 or BF16, found Q8_0");
    tlv__op_cast(g->s, &x, &yq);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "cast: y: expected F32, F16 or BF16, found Q8_0");
    tlv__op_patch_embed(g->s, &img, &w8, NULL, NULL, NULL, &ys);
    tlv_test_expect_fail(g, TLV_ERR_SHAPE, "found Q8_0");

    for (int i = 0; i < 5; i++) tlv__tensor_free(g->dev, qs[i]);
    tlv_test_tensor_release(g, &wf);
    tlv_test_tensor_release(g, &x);
    tlv_test_tensor_release(g, &y);
    tlv_test_tensor_release(g, &y4);
    tlv_test_tensor_release(g, &img);
    tlv_test_tensor_release(g, &ys);
    tlv_test_buffer_release(g, &ids);
}

int main(void)
{
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return tlv_test_finish("test_quant_ops");
    test_alloc(&g);
    test_many_slabs(&g);
    test_ops_refuse(&g);
    test_fill(&g);
    tlv_test_gpu_teardown(&g);
    return tlv_test_finish("test_quant_ops");
}
