/* test_fixture.c: the shared GPU test fixture (tests/ops_common.c) checks itself: round trips in
 * every dtype (against tensor.c's host conversions), slabbed tensors, guard detection. */
#include <stdlib.h>

#include "ops_common.h"

int main(void)
{
    tlv_test_gpu g;
    if (!tlv_test_gpu_setup(&g)) return tlv_test_finish("test_fixture");
    const tlv_dtype dts[3] = {TLV_F32, TLV_F16, TLV_BF16};
    for (int d = 0; d < 3; d++) {
        int64_t shape[2] = {37, 1001}; /* odd: F16 rows start mid-word; > 64 KiB: slabs in the small-range run */
        size_t n = 37 * 1001;
        float *x = tlv_test_random(d + 1, n, -3, 3);
        float *ref = malloc(n * sizeof *ref);
        for (size_t i = 0; i < n; i++) ref[i] = tlv_test_round1(dts[d], x[i]);
        tlv_tensor t;
        CHECK(tlv_test_tensor_make(&g, &t, dts[d], 2, shape, x, 1));
        float *got = tlv_test_tensor_download(&g, &t);
        tlv_test_compare_elem("round trip", got, ref, n, 0, 0);
        CHECK(tlv_test_guards_ok(&g, &t, "round trip"));
        /* a write one element past the end is caught */
        uint32_t bad = 0x12345678u;
        int last = t.n_slabs - 1;
        uint64_t end = (uint64_t)tlv__tensor_slab_nrows(&t, last) * tlv__tensor_row_bytes(&t);
        CHECK_EQ_INT(tlv__vk_buffer_write(g.dev, &t.slabs[last], end, &bad, 4, &g.err), TLV_OK);
        /* the guard check counts its failure; it is the expected one, so it is taken back before
         * checking that it happened (taking it back after the check would hide a miss) */
        int saved = tlv_test_failures;
        int caught = !tlv_test_guards_ok(&g, &t, "deliberately damaged (this failure is expected)");
        int reported = tlv_test_failures - saved;
        tlv_test_failures = saved;
        CHECK(caught);
        CHECK_EQ_INT(reported, 1);
        if (dts[d] == TLV_F32 && g.caps->storage_range_limit < 37 * 1001 * 4) CHECK(t.n_slabs > 1);
        free(got);
        free(ref);
        free(x);
        tlv_test_tensor_release(&g, &t);
    }
    tlv_test_gpu_teardown(&g);
    return tlv_test_finish("test_fixture");
}
