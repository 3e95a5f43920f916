/* Binding a checkpoint to the model: missing, extra, misnamed, mis-shaped and mis-typed tensors
 * each get an error naming the tensor and what was expected vs found; nothing leaks. The bad
 * checkpoints are rewritten from a good fixture by a small safetensors writer here.
 * Also: a checkpoint whose q/k/v or gate/up differ in dtype loads unfused (one weight each, not
 * one fused weight), and its logits match the fused load of the original. */
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/safetensors.h"
#include "model/model.h"

typedef struct edit {
    const char *drop;       /* leave this tensor out */
    const char *rename_from, *rename_to;
    const char *reshape;    /* swap the dims of this 2-D tensor */
    const char *retype;     /* write this tensor as I32 */
    const char *extra;      /* add an unknown tensor of this name */
    const char *widen[2];   /* write these F16 tensors as F32 (the same values) */
} edit;

static int widened(const edit *e, const tlv_st_tensor *t)
{
    return t && t->dtype == TLV_ST_F16 && ((e->widen[0] && !strcmp(t->name, e->widen[0])) ||
                                          (e->widen[1] && !strcmp(t->name, e->widen[1])));
}

static const char *dtype_str(tlv_st_dtype d)
{
    return tlv__st_dtype_name(d);
}

/* Writes dir/model.safetensors from src with one edit applied. */
static int write_checkpoint(const tlv_checkpoint *src, const char *path, const edit *e)
{
    size_t n = tlv__checkpoint_count(src);
    size_t cap = 1 << 20, len = 0;
    char *hdr = malloc(cap);
    uint64_t off = 0;
    len += (size_t)snprintf(hdr + len, cap - len, "{");
    int first = 1;
    for (size_t i = 0; i <= n; i++) {
        const tlv_st_tensor *t = i < n ? tlv__checkpoint_at(src, i) : NULL;
        const char *name = t ? t->name : e->extra;
        if (!name || (e->drop && !strcmp(name, e->drop))) continue;
        if (e->rename_from && !strcmp(name, e->rename_from)) name = e->rename_to;
        const char *dt = t ? dtype_str(t->dtype) : "F16";
        uint64_t bytes = t ? t->n_bytes : 8;
        if (widened(e, t)) dt = "F32", bytes *= 2;
        char shape[128];
        if (!t) snprintf(shape, sizeof shape, "[4]");
        else if (t->ndim == 2 && e->reshape && !strcmp(t->name, e->reshape))
            snprintf(shape, sizeof shape, "[%lld,%lld]", (long long)t->shape[1], (long long)t->shape[0]);
        else {
            int k = snprintf(shape, sizeof shape, "[");
            for (int d = 0; d < t->ndim; d++) k += snprintf(shape + k, sizeof shape - (size_t)k, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            snprintf(shape + k, sizeof shape - (size_t)k, "]");
        }
        if (t && e->retype && !strcmp(t->name, e->retype) && t->dtype == TLV_ST_F16) {
            /* same bytes, half the elements: keep the byte length consistent */
            dt = "I32";
            snprintf(shape, sizeof shape, "[%llu]", (unsigned long long)(bytes / 4));
        }
        len += (size_t)snprintf(hdr + len, cap - len, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%llu,%llu]}",
                                first ? "" : ",", name, dt, shape, (unsigned long long)off, (unsigned long long)(off + bytes));
        first = 0;
        off += bytes;
    }
    len += (size_t)snprintf(hdr + len, cap - len, "}");
    while (len % 8) hdr[len++] = ' ';
    FILE *f = fopen(path, "wb");
    uint64_t hl = len;
    fwrite(&hl, 8, 1, f);
    fwrite(hdr, 1, len, f);
    static const uint8_t zeros[8];
    for (size_t i = 0; i <= n; i++) {
        const tlv_st_tensor *t = i < n ? tlv__checkpoint_at(src, i) : NULL;
        const char *name = t ? t->name : e->extra;
        if (!name || (e->drop && !strcmp(name, e->drop))) continue;
        if (widened(e, t)) {
            for (uint64_t j = 0; j < t->n_bytes / 2; j++) {
                uint16_t h;
                memcpy(&h, (const uint8_t *)t->data + 2 * j, 2);
                float v = tlv__f16_to_f32(h);
                fwrite(&v, 4, 1, f);
            }
        } else if (t) {
            fwrite(t->data, 1, t->n_bytes, f);
        } else {
            fwrite(zeros, 1, 8, f);
        }
    }
    fclose(f);
    free(hdr);
    return 1;
}

static void link_file(const char *from_dir, const char *to_dir, const char *name)
{
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    if (symlink(a, b) != 0) fprintf(stderr, "symlink %s failed\n", b);
}

/* Logits of the last of a few text tokens (no image), or 0 on failure. */
static int text_logits(tlv_vk_device *dev, tlv_model_core *m, float *out)
{
    tlv_err err;
    tlv_model_scratch sc;
    tlv_stream *s = NULL;
    int ok = 0;
    if (tlv__model_scratch_create(m, 8, 16, &sc, &err) != TLV_OK) return 0;
    if (tlv__stream_create(dev, &s, &err) == TLV_OK) {
        int32_t ids[5] = {1, 7, 42, 3, 11};
        memcpy(sc.ids.map, ids, sizeof ids);
        tlv_input_span sp = {5, 0, NULL, 0};
        tlv__stream_begin(s, 0);
        tlv__model_record_llm(m, &sc, s, &sp, 1, 0);
        if (tlv__stream_run(s, &err) == TLV_OK && tlv__tensor_read(dev, &sc.logits, out, &err) == TLV_OK) ok = 1;
        else fprintf(stderr, "forward pass: %s\n", err.msg);
        tlv__stream_destroy(s);
    }
    tlv__model_scratch_destroy(m, &sc);
    return ok;
}

static tlv_status try_load_ex(tlv_vk_device *dev, const tlv_checkpoint *src, const char *good_dir, const edit *e,
                              tlv_err *err, int *fused, float *logits)
{
    char dir[] = "/tmp/tlv_model_bad_XXXXXX";
    if (!mkdtemp(dir)) return TLV_ERR_IO;
    link_file(good_dir, dir, "config.json");
    link_file(good_dir, dir, "preprocessor_config.json");
    char path[1100];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    write_checkpoint(src, path, e);
    tlv_allocator a;
    tlv_test_failing_alloc st;
    tlv_test_failing_alloc_init(&a, &st, -1);
    tlv_model_core *m = NULL;
    tlv_status s = tlv__model_load(dev, dir, 64, NULL, NULL, &a, &m, err);
    if (m && fused) *fused = m->llm.fused_qkv + 2 * m->llm.fused_gate_up;
    if (m && logits) CHECK(text_logits(dev, m, logits));
    tlv__model_destroy(m);
    CHECK_EQ_INT(st.live, 0);
    remove(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    remove(path);
    rmdir(dir);
    return s;
}

static tlv_status try_load(tlv_vk_device *dev, const tlv_checkpoint *src, const char *good_dir, const edit *e,
                           tlv_err *err)
{
    return try_load_ex(dev, src, good_dir, e, err, NULL, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    const char *good = argv[1];
    tlv_err err;
    tlv_vk_instance *inst = NULL;
    tlv_vk_instance_options io = {0};
    CHECK_EQ_INT(tlv__vk_instance_create(&io, &inst, &err), TLV_OK);
    tlv_vk_device_options dopt = {""};
    tlv_vk_device *dev = NULL;
    if (inst) CHECK_EQ_INT(tlv__vk_device_create(inst, 0, &dopt, &dev, &err), TLV_OK);
    tlv_checkpoint *src = NULL;
    CHECK_EQ_INT(tlv__checkpoint_open(good, NULL, &src, &err), TLV_OK);
    if (!dev || !src) return tlv_test_finish("test_model_bad");

    const char *q = "language_model.model.layers.1.self_attn.q_proj.weight";
    struct {
        edit e;
        tlv_status want;
        const char *msg;
    } cases[] = {
        {{0}, TLV_OK, ""}, /* the unmodified copy loads */
        {{q, 0, 0, 0, 0, 0}, TLV_ERR_FORMAT, "tensor 'language_model.model.layers.1.self_attn.q_proj.weight' is missing"},
        {{0, q, "language_model.model.layers.1.self_attn.query.weight", 0, 0, 0}, TLV_ERR_FORMAT,
         "self_attn.q_proj.weight' is missing"},
        {{0, 0, 0, "language_model.model.layers.1.self_attn.k_proj.weight", 0, 0}, TLV_ERR_SHAPE,
         "k_proj.weight': expected shape [8, 24], found [24, 8]"},
        {{0, 0, 0, "language_model.model.layers.0.mlp.up_proj.weight", 0, 0}, TLV_ERR_SHAPE, "expected shape [64, 24], found [24, 64]"},
        {{0, 0, 0, 0, q, 0}, TLV_ERR_UNSUPPORTED, "expected F32, F16 or BF16, found I32"},
        {{0, 0, 0, 0, 0, "language_model.model.layers.0.mlp.extra_proj.weight"}, TLV_ERR_FORMAT,
         "unexpected tensor in the checkpoint ('language_model.model.layers.0.mlp.extra_proj.weight')"},
        {{"connector._connector.2.bias", 0, 0, 0, 0, 0}, TLV_ERR_FORMAT, "'connector._connector.2.bias' is missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tlv__err_clear(&err);
        tlv_status s = try_load(dev, src, good, &cases[i].e, &err);
        if (s != cases[i].want) fprintf(stderr, "case %zu: %s\n", i, err.msg);
        CHECK_EQ_INT(s, cases[i].want);
        CHECK_CONTAINS(err.msg, cases[i].msg);
    }

    /* mixed dtypes inside q/k/v and gate/up: loaded unfused, same logits as the fused original */
    int vocab = 0;
    {
        tlv_model_core *m = NULL;
        if (tlv__model_load(dev, good, 64, NULL, NULL, NULL, &m, &err) == TLV_OK) vocab = m->llm.vocab;
        tlv__model_destroy(m);
    }
    float *l_fused = calloc((size_t)vocab + 1, 4), *l_mixed = calloc((size_t)vocab + 1, 4);
    int fused_a = -1, fused_b = -1;
    edit plain = {0}, mixed = {0};
    mixed.widen[0] = "language_model.model.layers.1.self_attn.k_proj.weight";
    mixed.widen[1] = "language_model.model.layers.0.mlp.up_proj.weight";
    CHECK(vocab > 0);
    if (vocab > 0 && l_fused && l_mixed) {
        CHECK_EQ_INT(try_load_ex(dev, src, good, &plain, &err, &fused_a, l_fused), TLV_OK);
        CHECK_EQ_INT(try_load_ex(dev, src, good, &mixed, &err, &fused_b, l_mixed), TLV_OK);
        CHECK_EQ_INT(fused_a, 3); /* q/k/v fused, gate/up fused */
        CHECK_EQ_INT(fused_b, 0);
        double maxd = 0, maxv = 0;
        for (int i = 0; i < vocab; i++) {
            double dlt = fabs((double)l_fused[i] - l_mixed[i]);
            if (dlt > maxd) maxd = dlt;
            if (fabs(l_fused[i]) > maxv) maxv = fabs(l_fused[i]);
        }
        /* the same numbers in both layouts: only the summation may differ */
        CHECK(maxv > 0);
        CHECK(maxd <= 1e-5 * (maxv > 1 ? maxv : 1));
    }
    free(l_fused);
    free(l_mixed);

    tlv__checkpoint_destroy(src);
    tlv__vk_device_destroy(dev);
    CHECK_EQ_INT(tlv__vk_instance_validation_count(inst), 0);
    tlv__vk_instance_destroy(inst);
    return tlv_test_finish("test_model_bad");
}
