/* quantize.c: `tinyllava quantize` (model.h's tlv__model_quantize): a checkpoint folder in, a
 * quantized checkpoint folder out, without a device.
 *
 * The recipe decides tensor by tensor exactly as a load with the same recipe does: the folder is
 * planned with the loader's own first pass (tlv__model_plan: every name, shape and dtype checked,
 * each tensor's format chosen by recipe.c), and the bytes come from the same row quantizer
 * (tlv__quantize_rows), so loading the written folder puts the same bytes on the device as
 * quantizing on load. Tensors the model never reads (ignorable ones) are copied as stored.
 *
 * Streaming: tensors go out in the writer's file order (safetensors_write.h), a chunk of rows
 * (about 1 MiB of blocks) quantized at a time, stored tensors copied from the mmap in 16 MiB
 * pieces: host memory stays near one chunk, whatever the model's size. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/safetensors_write.h"
#include "model/model.h"
#include "model/source.h"

/* Files of a checkpoint folder that are weights (not copied). */
static int is_weight_file(const char *name)
{
    static const char *const ext[] = {".safetensors", ".safetensors.index.json", ".bin", ".bin.index.json", ".pt",
                                      ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".gguf"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t e = strlen(ext[i]);
        if (n >= e && !strcmp(name + n - e, ext[i])) return 1;
    }
    return 0;
}

static tlv_status copy_file(const char *from, const char *to, tlv_err *err)
{
    FILE *in = fopen(from, "rb");
    if (!in) return tlv__err_set(err, TLV_ERR_IO, "%s: cannot open: %s", from, strerror(errno));
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return tlv__err_set(err, TLV_ERR_IO, "%s: cannot create: %s", to, strerror(errno));
    }
    char buf[65536];
    size_t n;
    int ok = 1;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
    ok = ok && !ferror(in);
    fclose(in);
    if (fclose(out) != 0) ok = 0;
    if (!ok) return tlv__err_set(err, TLV_ERR_IO, "copying %s to %s failed: %s", from, to, strerror(errno));
    return TLV_OK;
}

/* Every regular file of src (symlinks followed: the hub's cache and the test fixtures link their
 * tokenizer files) but hidden ones and weights, into dst. */
static tlv_status copy_side_files(const char *src, const char *dst, tlv_err *err)
{
    DIR *d = opendir(src);
    if (!d) return tlv__err_set(err, TLV_ERR_IO, "%s: cannot list: %s", src, strerror(errno));
    tlv_status st = TLV_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        if (e->d_name[0] == '.' || is_weight_file(e->d_name)) continue;
        char from[PATH_MAX], to[PATH_MAX];
        if (snprintf(from, sizeof from, "%s/%s", src, e->d_name) >= (int)sizeof from ||
            snprintf(to, sizeof to, "%s/%s", dst, e->d_name) >= (int)sizeof to) {
            st = tlv__err_set(err, TLV_ERR_LIMIT, "%s/%s: path too long", src, e->d_name);
            break;
        }
        struct stat sb;
        if (stat(from, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        st = copy_file(from, to, err);
    }
    closedir(d);
    return st;
}

/* mkdir -p */
static int make_dirs(const char *dst)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", dst) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *c = p + 1; *c; c++) {
        if (*c != '/') continue;
        *c = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) return -1;
        *c = '/';
    }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* dst: created if missing (with its parents); not src; holding no checkpoint. */
static tlv_status prepare_dst(const char *src, const char *dst, tlv_err *err)
{
    if (make_dirs(dst) != 0) return tlv__err_set(err, TLV_ERR_IO, "%s: cannot create: %s", dst, strerror(errno));
    struct stat sb;
    if (stat(dst, &sb) != 0 || !S_ISDIR(sb.st_mode)) return tlv__err_set(err, TLV_ERR_IO, "%s: not a folder", dst);
    struct stat sa;
    if (stat(src, &sa) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "%s: the destination is the source folder", dst);
    static const char *const taken[] = {"model.safetensors", "model.safetensors.index.json"};
    for (size_t i = 0; i < 2; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dst, taken[i]);
        if (stat(p, &sb) == 0)
            return tlv__err_set(err, TLV_ERR_INVALID_ARG, "%s already holds a checkpoint (%s): remove it or choose another "
                                "folder", dst, taken[i]);
    }
    return TLV_OK;
}

typedef struct plan_entry {
    tlv_dtype quant;   /* TLV_Q8_0 / TLV_Q4_0 to quantize into; else copied */
    int64_t rows, cols;
} plan_entry;

typedef struct job {
    const char *dir;
    tlv_load_progress_fn progress;
    void *progress_ud;
    uint64_t done, total;
} job;

static tlv_status advance(job *j, uint64_t bytes, tlv_err *err)
{
    j->done += bytes;
    if (j->progress && j->progress(j->progress_ud, j->done, j->total))
        return tlv__err_set(err, TLV_ERR_CANCELLED, "quantizing cancelled");
    return TLV_OK;
}

static tlv_status write_weights(job *j, tlv_checkpoint *ck, tlv_weight_source *src, const char *path,
                                const tlv_allocator *alloc, tlv_err *err)
{
    size_t n = tlv__checkpoint_count(ck);
    plan_entry *plan = tlv__calloc(alloc, n ? n : 1, sizeof *plan);
    tlv_st_writer *w = NULL;
    float *scratch = NULL;
    uint8_t *buf = NULL;
    if (!plan) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    tlv_status st = tlv__st_writer_create(path, alloc, &w, err);
    if (!st) st = tlv__st_writer_metadata(w, "format", "pt", err);
    int64_t max_cols = 0;
    for (size_t i = 0; i < n && !st; i++) {
        const tlv_st_tensor *t = tlv__checkpoint_at(ck, i);
        j->total += t->n_bytes;
        tlv_st_logical l;
        int bound = 0;
        tlv_dtype target = tlv__source_checkpoint_target(src, i, &bound);
        tlv_err ignore;
        plan[i].quant = TLV_F32;
        if (tlv__checkpoint_logical(ck, t, &l, &ignore) == TLV_OK && l.ndim >= 2) {
            plan[i].cols = l.shape[l.ndim - 1];
            plan[i].rows = (int64_t)(l.n_elems / (uint64_t)plan[i].cols);
            if (tlv__dtype_is_block(l.dtype)) {
                /* stored quantized already (bound or not): copied as it is */
                st = tlv__st_writer_add_quant(w, t->name, l.dtype, plan[i].rows, plan[i].cols, err);
                continue;
            }
            if (bound && tlv__dtype_is_block(target)) {
                plan[i].quant = target;
                if (plan[i].cols > max_cols) max_cols = plan[i].cols;
                st = tlv__st_writer_add_quant(w, t->name, target, plan[i].rows, plan[i].cols, err);
                continue;
            }
        }
        st = tlv__st_writer_add(w, t->name, t->dtype, t->ndim, t->shape, err);
    }
    if (!st && max_cols) {
        scratch = tlv__malloc(alloc, (size_t)max_cols * sizeof(float));
        buf = tlv__malloc(alloc, (size_t)(1u << 20) + (size_t)tlv__dtype_row_bytes(TLV_Q8_0, max_cols));
        if (!scratch || !buf) st = tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of host memory");
    }
    if (!st) st = tlv__st_writer_begin(w, err);
    const char *name;
    while (!st && (name = tlv__st_writer_next(w, NULL))) {
        const tlv_st_tensor *t = tlv__checkpoint_find(ck, name);
        size_t i = (size_t)(t - tlv__checkpoint_at(ck, 0));
        const plan_entry *p = &plan[i];
        if (p->quant == TLV_F32) {
            const uint8_t *data = t->data;
            for (uint64_t off = 0; off < t->n_bytes && !st; off += 16u << 20) {
                uint64_t m = t->n_bytes - off < (16u << 20) ? t->n_bytes - off : (16u << 20);
                st = tlv__st_writer_write(w, data + off, (size_t)m, err);
                if (!st) st = advance(j, m, err);
            }
            continue;
        }
        tlv_dtype stored = t->dtype == TLV_ST_F32 ? TLV_F32 : t->dtype == TLV_ST_F16 ? TLV_F16 : TLV_BF16;
        const uint64_t ob = tlv__dtype_row_bytes(p->quant, p->cols);
        const int64_t chunk = tlv__quantize_chunk_rows(ob, p->rows);
        const uint64_t in_row = t->n_bytes / (uint64_t)(p->rows ? p->rows : 1);
        for (int64_t r = 0; r < p->rows && !st; r += chunk) {
            int64_t m = p->rows - r < chunk ? p->rows - r : chunk;
            st = tlv__quantize_rows(t->file, t->name, stored, t->data, r, m, p->cols, p->quant, scratch, buf, err);
            if (!st) st = tlv__st_writer_write(w, buf, (size_t)((uint64_t)m * ob), err);
            if (!st) st = advance(j, (uint64_t)m * in_row, err);
        }
    }
    if (!st) st = tlv__st_writer_finish(w, err);
    tlv__st_writer_destroy(w);
    tlv__free(alloc, scratch);
    tlv__free(alloc, buf);
    tlv__free(alloc, plan);
    return st;
}

tlv_status tlv__model_quantize(const char *src, const char *dst, const tlv_recipe *recipe, tlv_load_progress_fn progress,
                               void *progress_ud, const tlv_allocator *alloc, tlv_err *err)
{
    if (tlv__recipe_is_identity(recipe))
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "quantize: no format given (weights q8_0 or q4_0, and/or vision "
                            "weights q8_0 or q4_0)");
    tlv_weight_source *ws = NULL;
    tlv_status st;
    if ((st = tlv__source_checkpoint(NULL, src, recipe, alloc, &ws, err))) return st;
    if ((st = tlv__model_plan(src, ws, alloc, err))) goto out;
    if ((st = prepare_dst(src, dst, err))) goto out;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/model.safetensors", dst) >= (int)sizeof path) {
        st = tlv__err_set(err, TLV_ERR_LIMIT, "%s: path too long", dst);
        goto out;
    }
    job j = {src, progress, progress_ud, 0, 0};
    if ((st = write_weights(&j, tlv__source_checkpoint_file(ws), ws, path, alloc, err))) goto out;
    st = copy_side_files(src, dst, err);
out:
    ws->destroy(ws);
    return st;
}
