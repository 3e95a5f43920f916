/* fuzz_safetensors: the safetensors header parser (src/formats/safetensors.c).
 *
 * Input: the bytes of one model.safetensors (tlv__safetensors_open), or, when it starts with a
 * "#tlv-fuzz " header (fuzz_common.h), a checkpoint folder: model.safetensors or
 * model.safetensors.index.json with up to two shards (names in `known`) (tlv__checkpoint_open). An open
 * that succeeds is walked: every tensor's record must lie inside the file. */
#include "fuzz_common.h"

#include "formats/safetensors.h"

static const char *const known[] = {"model.safetensors", "model.safetensors.index.json",
                                    "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                                    "s1.safetensors", "s2.safetensors"};
#define N_KNOWN (sizeof known / sizeof known[0])

static void walk(tlv_checkpoint *c)
{
    size_t n = tlv__checkpoint_count(c);
    for (size_t i = 0; i < n; i++) {
        const tlv_st_tensor *t = tlv__checkpoint_at(c, i);
        FUZZ_EXPECT(t && t->name && t->ndim >= 0 && t->ndim <= TLV_ST_MAX_DIMS);
        FUZZ_EXPECT(tlv__checkpoint_find(c, t->name) == t);
        FUZZ_EXPECT(t->n_bytes == t->n_elems * tlv__st_dtype_size(t->dtype) || !tlv__st_dtype_size(t->dtype));
        /* touch the first and last byte: ASan sees a record that points outside the mapping */
        if (t->n_bytes) {
            volatile uint8_t a = ((const uint8_t *)t->data)[0], b = ((const uint8_t *)t->data)[t->n_bytes - 1];
            (void)a;
            (void)b;
        }
        (void)tlv__checkpoint_use(c, t->name);
    }
    FUZZ_EXPECT(tlv__checkpoint_n_unused(c) == 0);
    (void)tlv__checkpoint_metadata(c, "format");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *dir = fuzz_scratch();
    char path[512];
    tlv_err err = {0};
    tlv_checkpoint *c = NULL;
    tlv_status st;
    for (size_t k = 0; k < N_KNOWN; k++) fuzz_remove(known[k]);
    if (n >= sizeof FUZZ_HEADER - 1 && !memcmp(data, FUZZ_HEADER, sizeof FUZZ_HEADER - 1)) {
        fuzz_file f[N_KNOWN];
        size_t nf = fuzz_split(data, n, known, N_KNOWN, f, N_KNOWN);
        for (size_t i = 0; i < nf; i++) fuzz_write(f[i].name, f[i].data, f[i].n);
        st = tlv__checkpoint_open(dir, NULL, &c, &err);
    } else {
        fuzz_write("model.safetensors", data, n);
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        st = tlv__safetensors_open(path, NULL, &c, &err);
    }
    fuzz_report("open", st, err.msg);
    if (st == TLV_OK) {
        FUZZ_EXPECT(c != NULL);
        walk(c);
        tlv__checkpoint_destroy(c);
    } else {
        FUZZ_EXPECT(c == NULL && err.status == st && err.msg[0]);
    }
    return 0;
}
