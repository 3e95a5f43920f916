/* Core utilities: error messages, the allocation hook, checked arithmetic. */
#include "harness.h"

#include "core/alloc.h"
#include "core/checked.h"
#include "core/error.h"

int main(void)
{
    tlv_err e;
    tlv__err_clear(&e);
    CHECK_EQ_INT(tlv__err_set(&e, TLV_ERR_FORMAT, "tensor '%s': expected %s, found %s", "w", "F16", "BF16"), TLV_ERR_FORMAT);
    tlv__err_prefix(&e, "%s", "model.safetensors");
    CHECK_EQ_STR(e.msg, "model.safetensors: tensor 'w': expected F16, found BF16");
    CHECK_EQ_INT(e.status, TLV_ERR_FORMAT);
    CHECK_EQ_INT(tlv__err_set(NULL, TLV_ERR_IO, "x"), TLV_ERR_IO);

    uint64_t r;
    CHECK(tlv__mul_u64(1ull << 32, 1ull << 31, &r) && r == 1ull << 63);
    CHECK(!tlv__mul_u64(1ull << 32, 1ull << 32, &r));
    CHECK(!tlv__add_u64(UINT64_MAX, 1, &r));

    tlv_allocator a;
    tlv_test_failing_alloc st;
    tlv_test_failing_alloc_init(&a, &st, 2);
    void *p1 = tlv__malloc(&a, 10), *p2 = tlv__calloc(&a, 3, 4), *p3 = tlv__malloc(&a, 1);
    CHECK(p1 && p2 && !p3);
    CHECK(tlv__calloc(&a, SIZE_MAX / 2, 4) == NULL);
    tlv__free(&a, p1);
    tlv__free(&a, p2);
    CHECK_EQ_INT(st.live, 0);
    return tlv_test_finish("test_core");
}
