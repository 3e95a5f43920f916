/* ops_common.h: the GPU test fixture shared by every kernel test (tests/ops_*).
 *
 * Use: list ../ops_common.c among the test's sources, e.g. in tests/ops_foo/CMakeLists.txt
 *     tlv_add_test(test_foo test_foo.c ../ops_common.c)
 * and register the same binary again under the switch variants (see tests/ops_basic/CMakeLists.txt):
 *     TLV_DISABLE_SUBGROUPS=1 and TLV_MAX_STORAGE_RANGE=65536, each with TLV_VALIDATION=1.
 *
 * A typical test:
 *     tlv_test_gpu g;
 *     if (!tlv_test_gpu_setup(&g)) return tlv_test_finish("test_foo");
 *     tlv_tensor x, y;
 *     tlv_test_tensor_make(&g, &x, TLV_F32, 2, (int64_t[]){rows, n}, host_x, 0);
 *     tlv_test_tensor_make(&g, &y, TLV_F32, 2, (int64_t[]){rows, n}, NULL, 1);   // output, guarded
 *     tlv__op_foo(g.s, &x, &y);
 *     if (tlv_test_run(&g)) {
 *         float *got = tlv_test_tensor_download(&g, &y);
 *         tlv_test_compare_rel("foo rows=3", got, ref, n_elems, 1e-5);
 *         tlv_test_guards_ok(&g, &y, "foo y");
 *         free(got);
 *     }
 *     tlv_test_tensor_release(&g, &x); ...
 *     tlv_test_gpu_teardown(&g);      // fails the test if the validation layer said anything
 *     return tlv_test_finish("test_foo");
 *
 * Tensors made here are NOT freed with tlv__tensor_free (guarded ones are views into a larger
 * allocation): always tlv_test_tensor_release. Tensors larger than caps.storage_range_limit are
 * split into row slabs here by the rule of tlv__tensor_alloc (rows a multiple of 8), each slab its
 * own allocation (rounded up to 16 bytes) with its own guards, so slabbed weights and outputs are
 * guarded too.
 *
 * Guard regions: TLV_TEST_GUARD_BYTES before and after each slab, filled with TLV_TEST_SENTINEL.
 * An output made with data == NULL is filled with the sentinel as well (a NaN in F32, F16 and
 * BF16), so elements a kernel forgets to write show up as NaN mismatches in the comparison.
 *
 * Every helper returning int returns 1 on success and 0 on failure, after recording a failed
 * check (harness.h) with a message on stderr; tests can just keep going. */
#ifndef TLV_TESTS_OPS_COMMON_H
#define TLV_TESTS_OPS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "tensor.h"
#include "vk/vk.h"

#define TLV_TEST_SENTINEL 0x7fc07fc0u /* NaN as F32, and both halves NaN as F16 / BF16 */
#define TLV_TEST_GUARD_BYTES 256u     /* >= any minStorageBufferOffsetAlignment (spec max 256) */

typedef struct tlv_test_guarded {
    tlv_vk_buffer whole; /* the allocation: guard | body | guard */
    VkBuffer view_buffer;
    VkDeviceSize view_offset; /* whole.offset + guard */
    VkDeviceSize body_bytes;
} tlv_test_guarded;

typedef struct tlv_test_gpu {
    tlv_vk_instance *inst;
    tlv_vk_device *dev;
    tlv_stream *s;          /* in recording state after setup and after every tlv_test_run */
    const tlv_vk_caps *caps;
    tlv_err err;
    tlv_test_guarded *allocs; /* everything made by tlv_test_tensor_make / tlv_test_buffer_make */
    size_t n_allocs, cap_allocs;
} tlv_test_gpu;

/* Instance (validation on when TLV_VALIDATION=1), device 0 (or TLV_DEVICE), no pipeline cache
 * on disk, one stream, begun. Prints the caps banner. 0 when there is no device (a failed check). */
int tlv_test_gpu_setup(tlv_test_gpu *g);
/* Releases whatever the test left, destroys everything, and CHECKs that the validation layer
 * reported nothing (tlv__vk_instance_validation_count == 0). */
void tlv_test_gpu_teardown(tlv_test_gpu *g);

/* CPU devices only (lavapipe): relabels the device as a discrete GPU in its capability record
 * and gives it the tuning table's "GPU default" row (fitted to the device, texel reads as they
 * were), so that ops pick their GPU shapes (workgroup sizes, interleaved lanes, work splits) and
 * those code paths run in the tests too. Test-only: the record is const everywhere else. Returns 1 if it
 * relabelled, 0 on a real GPU (nothing to do). Keep the shapes modest afterwards: lavapipe still
 * ends an invocation after 65535 loop iterations, which GPU shapes do not plan for. */
int tlv_test_gpu_pretend_discrete(tlv_test_gpu *g);

/* Submits the recording, waits, CHECKs success (printing the error), begins a new recording. */
int tlv_test_run(tlv_test_gpu *g);
/* For bad-argument tests: CHECKs that the recording failed with `status` and that the message
 * contains `substr` (NULL: any message), then begins a new recording. */
int tlv_test_expect_fail(tlv_test_gpu *g, tlv_status status, const char *substr);

/* Host rounding to a dtype's precision (round to nearest even), for references. */
float tlv_test_round1(tlv_dtype dt, float x);
void tlv_test_round(tlv_dtype dt, float *x, size_t n);

/* Rounds rows x cols floats to what dtype holds: tlv_test_round, or for a block dtype (Q8_0,
 * Q4_0) each row quantized and dequantized on the host (tlv__quantize_row / tlv__dequantize_row:
 * the plain-C reference of the quantized kernels). 0 on failure (a failed check). */
int tlv_test_round_rows(tlv_dtype dt, float *x, int64_t rows, int64_t cols);

/* A tensor of the given dtype and shape. data: nelem host floats (rows contiguous), converted to
 * dtype with round-to-nearest-even (block dtypes: quantized by tlv__quantize_row and written with
 * tlv__tensor_write, so the device layout conversion is exercised; pass the unrounded floats);
 * NULL fills it with TLV_TEST_SENTINEL. guarded: adds guard
 * regions (checked by tlv_test_guards_ok). On failure t is left with n_slabs == 0. */
int tlv_test_tensor_make(tlv_test_gpu *g, tlv_tensor *t, tlv_dtype dtype, int ndim, const int64_t *shape,
                         const float *data, int guarded);
/* Rewrites the whole tensor from host floats. */
int tlv_test_tensor_upload(tlv_test_gpu *g, const tlv_tensor *t, const float *data);
/* The tensor's elements converted to float: malloc'ed (free()), NULL on failure. */
float *tlv_test_tensor_download(tlv_test_gpu *g, const tlv_tensor *t);
/* CHECKs every guard byte of every slab of t; names `what` and the first damaged offset. */
int tlv_test_guards_ok(tlv_test_gpu *g, const tlv_tensor *t, const char *what);
void tlv_test_tensor_release(tlv_test_gpu *g, tlv_tensor *t);

/* Raw buffers (int32 ids, indices): bytes (a multiple of 4) of data, or the sentinel if NULL. */
int tlv_test_buffer_make(tlv_test_gpu *g, tlv_vk_buffer *b, size_t bytes, const void *data, int guarded);
int tlv_test_buffer_download(tlv_test_gpu *g, const tlv_vk_buffer *b, void *dst, size_t bytes);
int tlv_test_buffer_guards_ok(tlv_test_gpu *g, const tlv_vk_buffer *b, const char *what);
void tlv_test_buffer_release(tlv_test_gpu *g, tlv_vk_buffer *b);

/* Comparisons: CHECK and, on failure, print `what`, the measure, the worst index with got and ref.
 * A NaN in got fails unless ref is NaN there too.
 *   _rel:  max_i |got_i - ref_i| <= tol * max_i |ref_i|   (max |ref| floored at 1e-30)
 *   _elem: every |got_i - ref_i| <= atol + rtol * |ref_i|
 *   _i32:  exact equality */
int tlv_test_compare_rel(const char *what, const float *got, const float *ref, size_t n, double tol);
int tlv_test_compare_elem(const char *what, const float *got, const float *ref, size_t n, double atol, double rtol);
int tlv_test_compare_i32(const char *what, const int32_t *got, const int32_t *ref, size_t n);

/* Deterministic test data: n uniform floats in [lo, hi) (malloc'ed), from a seed. */
float *tlv_test_random(uint64_t seed, size_t n, float lo, float hi);

#endif
