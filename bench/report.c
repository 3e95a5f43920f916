/* report.c: result records, the terminal table, --json and --compare (markdown + SVG). */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tinyllava.h"

bench_op *bench_op_find(bench_op *ops, int *n_ops, const char *label)
{
    for (int i = 0; i < *n_ops; i++)
        if (!strcmp(ops[i].label, label)) return &ops[i];
    if (*n_ops == BENCH_MAX_OPS) return NULL;
    bench_op *o = &ops[(*n_ops)++];
    memset(o, 0, sizeof *o);
    snprintf(o->label, sizeof o->label, "%s", label);
    return o;
}

void bench_stream_work(const tlv_stream *s, double *bytes, double *flops)
{
    *bytes = *flops = 0;
    for (uint32_t i = 0, n = tlv__stream_n_dispatches(s); i < n; i++) {
        *bytes += tlv__stream_bytes(s, i);
        *flops += tlv__stream_flops(s, i);
    }
}

double bench_roofline_frac(const bench_peaks *p, double bytes, double flops, double ms)
{
    if (ms <= 0 || (!p->read_gbs && !p->fma_gflops)) return 0;
    double t_mem = p->read_gbs > 0 ? bytes / (p->read_gbs * 1e6) : 0;     /* ms */
    double t_fma = p->fma_gflops > 0 ? flops / (p->fma_gflops * 1e6) : 0; /* ms */
    return (t_mem > t_fma ? t_mem : t_fma) / ms;
}

bench_result *bench_result_add(bench_ctx *b)
{
    if (b->n_res == b->cap_res) {
        int nc = b->cap_res ? 2 * b->cap_res : 32;
        bench_result *nr = realloc(b->res, (size_t)nc * sizeof *nr);
        if (!nr) return NULL;
        b->res = nr;
        b->cap_res = nc;
    }
    bench_result *r = &b->res[b->n_res++];
    memset(r, 0, sizeof *r);
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_stats(bench_result *r, const double *times, int n)
{
    r->reps = n;
    if (n <= 0) return;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return;
    memcpy(s, times, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    r->median_ms = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    r->min_ms = s[0];
    r->max_ms = s[n - 1];
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += s[i];
    mean /= n;
    for (int i = 0; i < n; i++) var += (s[i] - mean) * (s[i] - mean);
    r->stddev_ms = n > 1 ? sqrt(var / (n - 1)) : 0;
    free(s);
}

/* ------------------------------------------------------------------ terminal */

void bench_print_header(FILE *f)
{
    fprintf(f, "| %-20s | %-5s | %-28s | %14s | %22s | %10s | %8s |\n", "model", "dtype", "test", "value", "median ms (min..max)",
            "cold ms", "roofline");
    fprintf(f, "|%s|%s|%s|%s|%s|%s|%s|\n", "----------------------", "-------", "------------------------------",
            "---------------:", "-----------------------:", "-----------:", "---------:");
}

void bench_print_result(FILE *f, const bench_ctx *b, const bench_result *r)
{
    char val[32], med[48] = "", cold[24] = "", roof[16] = "";
    snprintf(val, sizeof val, "%.2f %s", r->value, r->unit);
    if (!strcmp(r->kind, "roofline")) {
        snprintf(med, sizeof med, "(%.1f..%.1f)", r->min_ms, r->max_ms);
        snprintf(cold, sizeof cold, "%.1f", r->cold_ms);
    } else {
        snprintf(med, sizeof med, "%.2f (%.2f..%.2f)", r->median_ms, r->min_ms, r->max_ms);
        snprintf(cold, sizeof cold, "%.1f", r->cold_ms);
        if (r->roofline > 0) snprintf(roof, sizeof roof, "%.0f%%", 100 * r->roofline);
    }
    fprintf(f, "| %-20.20s | %-5s | %-28.28s | %14s | %22s | %10s | %8s |\n", r->model, r->dtype, r->test, val, med, cold,
            roof);
    if (r->n_ops) {
        double total = 0;
        for (int i = 0; i < r->n_ops; i++) total += r->ops[i].ms;
        for (int i = 0; i < r->n_ops; i++) {
            const bench_op *o = &r->ops[i];
            char extra[96] = "";
            if (o->bytes > 0 || o->flops > 0)
                snprintf(extra, sizeof extra, "  %8.1f GB/s %9.1f GFLOP/s  roofline %3.0f%%", o->bytes / (o->ms * 1e6),
                         o->flops / (o->ms * 1e6), 100 * bench_roofline_frac(&b->peaks, o->bytes, o->flops, o->ms));
            fprintf(f, "|   %-18s  %5d x  %9.3f ms  %5.1f%%%s\n", o->label, o->count, o->ms,
                    total > 0 ? 100 * o->ms / total : 0, extra);
        }
    }
    if (r->cpu_ms_per_tok > 0)
        fprintf(f, "|   host CPU per token: %.2f ms (process), %.2f ms (calling thread)\n", r->cpu_ms_per_tok,
                r->thread_cpu_ms_per_tok);
    fflush(f);
    /* the JSON file is rewritten after every record, so a run stopped by a time limit keeps
     * what it measured (main writes it once more at the end, with the peak memory) */
    if (b->o.json_path && strcmp(b->o.json_path, "-")) bench_write_json(b, b->o.json_path);
}

/* ------------------------------------------------------------------ JSON */

static void driver_version_string(const tlv_vk_caps *c, char *buf, size_t cap)
{
    uint32_t v = c->driver_version;
    if (c->vendor_id == 0x10DE) /* NVIDIA: 10.8.8.6 bits */
        snprintf(buf, cap, "%u.%u.%u.%u", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff, v & 0x3f);
    else if (c->vendor_id == 0x8086 && c->driver_id == VK_DRIVER_ID_INTEL_PROPRIETARY_WINDOWS) /* Intel Windows: 18.14 */
        snprintf(buf, cap, "%u.%u", v >> 14, v & 0x3fff);
    else
        snprintf(buf, cap, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

static const char *type_name(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

static cJSON *device_json(const bench_ctx *b)
{
    const tlv_vk_caps *c = b->caps;
    cJSON *d = cJSON_CreateObject();
    char buf[64];
    cJSON_AddStringToObject(d, "name", c->device_name);
    snprintf(buf, sizeof buf, "0x%04x", c->vendor_id);
    cJSON_AddStringToObject(d, "vendor_id", buf);
    snprintf(buf, sizeof buf, "0x%04x", c->device_id);
    cJSON_AddStringToObject(d, "device_id", buf);
    cJSON_AddStringToObject(d, "type", type_name(c->type));
    cJSON_AddStringToObject(d, "driver_name", c->driver_name);
    cJSON_AddStringToObject(d, "driver_info", c->driver_info);
    driver_version_string(c, buf, sizeof buf);
    cJSON_AddStringToObject(d, "driver_version", buf);
    snprintf(buf, sizeof buf, "%u.%u.%u", VK_API_VERSION_MAJOR(c->api_version), VK_API_VERSION_MINOR(c->api_version),
             VK_API_VERSION_PATCH(c->api_version));
    cJSON_AddStringToObject(d, "api_version", buf);
    cJSON_AddStringToObject(d, "caps", b->banner);
    char tuning[1024];
    tlv__vk_tuning_describe(&c->tune, tuning, sizeof tuning);
    cJSON_AddStringToObject(d, "tuning", tuning);
    cJSON_AddNumberToObject(d, "timestamp_valid_bits", c->timestamp_bits);
    cJSON_AddNumberToObject(d, "timestamp_period_ns", c->timestamp_period_ns);
    return d;
}

static void add_num(cJSON *o, const char *k, double v)
{
    cJSON_AddNumberToObject(o, k, isfinite(v) ? v : 0);
}

static cJSON *result_json(const bench_ctx *b, const bench_result *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "kind", r->kind);
    cJSON_AddStringToObject(j, "model", r->model);
    cJSON_AddStringToObject(j, "dtype", r->dtype);
    cJSON_AddStringToObject(j, "test", r->test);
    add_num(j, "value", r->value);
    cJSON_AddStringToObject(j, "unit", r->unit);
    cJSON_AddBoolToObject(j, "higher_is_better", r->higher_better);
    cJSON_AddNumberToObject(j, "n_tokens", r->n_tokens);
    cJSON_AddNumberToObject(j, "depth", r->depth);
    cJSON_AddNumberToObject(j, "reps", r->reps);
    cJSON_AddStringToObject(j, "timer", r->timer);
    int roof = !strcmp(r->kind, "roofline");
    cJSON_AddStringToObject(j, "stats_unit", roof ? r->unit : "ms");
    add_num(j, "cold", r->cold_ms);
    add_num(j, "median", roof ? r->value : r->median_ms);
    add_num(j, "min", r->min_ms);
    add_num(j, "max", r->max_ms);
    add_num(j, "stddev", r->stddev_ms);
    add_num(j, "bytes", r->bytes);
    add_num(j, "flops", r->flops);
    add_num(j, "gbs", r->gbs);
    if (r->bytes > 0 && r->n_tokens > 0 && !strcmp(r->kind, "model")) add_num(j, "bytes_per_token", r->bytes / r->n_tokens);
    add_num(j, "gflops", r->gflops);
    add_num(j, "roofline_fraction", r->roofline);
    if (r->cpu_ms_per_tok > 0) {
        add_num(j, "host_cpu_ms_per_token", r->cpu_ms_per_tok);
        add_num(j, "host_thread_cpu_ms_per_token", r->thread_cpu_ms_per_tok);
    }
    if (r->peak_mem_bytes) add_num(j, "peak_device_memory_bytes", (double)r->peak_mem_bytes);
    if (r->weight_bytes) add_num(j, "weight_bytes", (double)r->weight_bytes);
    if (r->kv[0]) {
        cJSON_AddStringToObject(j, "kv", r->kv);
        add_num(j, "kv_bytes", (double)r->kv_bytes);
        cJSON_AddNumberToObject(j, "kv_positions", r->kv_positions);
    }
    if (r->load_ms > 0) add_num(j, "load_ms", r->load_ms);
    if (r->note[0]) cJSON_AddStringToObject(j, "note", r->note);
    if (r->n_ops) {
        cJSON *ops = cJSON_AddArrayToObject(j, "ops");
        double total = 0;
        for (int i = 0; i < r->n_ops; i++) total += r->ops[i].ms;
        for (int i = 0; i < r->n_ops; i++) {
            const bench_op *o = &r->ops[i];
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "label", o->label);
            cJSON_AddNumberToObject(x, "count", o->count);
            add_num(x, "ms", o->ms);
            add_num(x, "share", total > 0 ? o->ms / total : 0);
            if (o->bytes > 0 || o->flops > 0) {
                add_num(x, "bytes", o->bytes);
                add_num(x, "flops", o->flops);
                add_num(x, "gbs", o->ms > 0 ? o->bytes / (o->ms * 1e6) : 0);
                add_num(x, "gflops", o->ms > 0 ? o->flops / (o->ms * 1e6) : 0);
                add_num(x, "roofline_fraction", bench_roofline_frac(&b->peaks, o->bytes, o->flops, o->ms));
            }
            cJSON_AddItemToArray(ops, x);
        }
    }
    cJSON_AddItemToObject(j, "device", device_json(b));
    cJSON *bu = cJSON_AddObjectToObject(j, "build");
    cJSON_AddStringToObject(bu, "library_version", tlv_version());
    cJSON_AddStringToObject(bu, "git_commit", TLV_GIT_COMMIT);
    cJSON *pk = cJSON_AddObjectToObject(j, "peaks");
    add_num(pk, "read_gbs", b->peaks.read_gbs);
    add_num(pk, "fma_gflops", b->peaks.fma_gflops);
    cJSON *s = cJSON_AddObjectToObject(j, "settings");
    cJSON_AddNumberToObject(s, "reps", b->o.reps);
    cJSON_AddNumberToObject(s, "n_batch", b->o.n_batch);
    cJSON_AddBoolToObject(s, "quick", b->o.quick);
    cJSON_AddBoolToObject(s, "pipeline_cache", b->o.pipeline_cache);
    cJSON_AddNumberToObject(s, "cooldown_ms", b->o.cooldown_ms);
    static const char *env[] = {"TLV_DEVICE", "TLV_DISABLE_FP16", "TLV_DISABLE_SUBGROUPS", "TLV_MAX_STORAGE_RANGE",
                                "TLV_VALIDATION"};
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
        const char *v = getenv(env[i]);
        if (v) cJSON_AddStringToObject(s, env[i], v);
    }
    FILE *la = fopen("/proc/loadavg", "r");
    char line[128];
    if (la && fgets(line, sizeof line, la)) {
        line[strcspn(line, "\n")] = 0;
        cJSON_AddStringToObject(s, "host_loadavg_at_end", line);
    }
    if (la) fclose(la);
    return j;
}

int bench_write_json(const bench_ctx *b, const char *path)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < b->n_res; i++) cJSON_AddItemToArray(arr, result_json(b, &b->res[i]));
    char *text = cJSON_Print(arr);
    cJSON_Delete(arr);
    if (!text) return 1;
    int rc = 0;
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0) rc = 1;
    if (f && f != stdout && fclose(f)) rc = 1;
    if (rc) fprintf(stderr, "tinyllava-bench: cannot write %s\n", path);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------ --compare */

typedef struct cmp_row {
    char key[200];   /* model | dtype | test */
    char unit[12];
    int higher;
    double v[16];    /* per file; NAN: absent */
    double roof[16];
} cmp_row;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r < 4096) break;
    }
    fclose(f);
    buf[n] = 0;
    return buf;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

static void write_svg(const char *path, int nf, char names[][96], const cmp_row *rows, int n_rows)
{
    static const char *colors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"};
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "tinyllava-bench: cannot write %s\n", path);
        return;
    }
    const int label_w = 300, bar_w = 420, bar_h = 14, gap = 10, legend_h = 22 * nf + 30;
    int height = legend_h + n_rows * (nf * bar_h + gap) + 20, width = label_w + bar_w + 150;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
               "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", width, height);
    fprintf(f, "<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">tinyllava-bench: bars scaled per test "
               "to the best device</text>\n");
    for (int i = 0; i < nf; i++) {
        fprintf(f, "<rect x=\"10\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/><text x=\"30\" y=\"%d\">",
                28 + 22 * i, colors[i % 8], 40 + 22 * i);
        xml_escape(f, names[i]);
        fputs("</text>\n", f);
    }
    int y = legend_h;
    for (int r = 0; r < n_rows; r++) {
        const cmp_row *row = &rows[r];
        double best = 0;
        for (int i = 0; i < nf; i++) {
            double v = row->v[i];
            if (isnan(v) || v <= 0) continue;
            double score = row->higher ? v : 1.0 / v;
            if (score > best) best = score;
        }
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 8, y + nf * bar_h / 2 + 4);
        xml_escape(f, row->key);
        fprintf(f, " (%s%s)</text>\n", row->unit, row->higher ? "" : ", lower is better");
        for (int i = 0; i < nf; i++) {
            double v = row->v[i];
            int yy = y + i * bar_h;
            if (!isnan(v) && v > 0 && best > 0) {
                double score = row->higher ? v : 1.0 / v;
                int w = (int)(bar_w * score / best + 0.5);
                fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>", label_w, yy, w < 1 ? 1 : w,
                        bar_h - 2, colors[i % 8]);
                fprintf(f, v >= 1e4 ? "<text x=\"%d\" y=\"%d\" font-size=\"11\">%.0f</text>\n"
                                     : "<text x=\"%d\" y=\"%d\" font-size=\"11\">%.4g</text>\n",
                        label_w + w + 4, yy + bar_h - 3, v);
            } else {
                fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#888\">n/a</text>\n", label_w + 4, yy + bar_h - 3);
            }
        }
        y += nf * bar_h + gap;
    }
    fputs("</svg>\n", f);
    fclose(f);
}

int bench_compare(int n_files, char **files, const char *svg_path)
{
    if (n_files > 16) n_files = 16;
    /* one column per device: files from the same device (a kernels run and a model run) merge */
    char names[16][96];
    int n_cols = 0, cap = 256, n_rows = 0;
    cmp_row *rows = calloc((size_t)cap, sizeof *rows);
    if (!rows) return 1;
    for (int f = 0; f < n_files; f++) {
        char *text = read_file(files[f]);
        cJSON *arr = text ? cJSON_Parse(text) : NULL;
        free(text);
        if (!cJSON_IsArray(arr)) {
            fprintf(stderr, "tinyllava-bench: %s: not a tinyllava-bench JSON array\n", files[f]);
            cJSON_Delete(arr);
            free(rows);
            return 1;
        }
        const cJSON *rec;
        int col = -1;
        cJSON_ArrayForEach(rec, arr) {
            if (col < 0) {
                const cJSON *dev = cJSON_GetObjectItemCaseSensitive(rec, "device");
                char name[96];
                /* Mesa reports the same driverVersion for every release (lavapipe 22.3 and 25.0 both
                 * say 0.0.1): driverInfo ("Mesa 25.0.7 ...") tells runs on two drivers apart */
                const char *info = jstr(dev, "driver_info");
                snprintf(name, sizeof name, "%s (%s)", jstr(dev, "name"), *info ? info : jstr(dev, "driver_version"));
                for (col = 0; col < n_cols && strcmp(names[col], name); col++) {}
                if (col == n_cols) snprintf(names[n_cols++], sizeof names[0], "%s", name);
            }
            char key[200];
            snprintf(key, sizeof key, "%s %s %s", jstr(rec, "model"), jstr(rec, "dtype"), jstr(rec, "test"));
            if (!strcmp(jstr(rec, "kind"), "roofline")) snprintf(key, sizeof key, "%s", jstr(rec, "test"));
            else if (!strcmp(jstr(rec, "model"), "-")) snprintf(key, sizeof key, "%s %s", jstr(rec, "dtype"), jstr(rec, "test"));
            int r = 0;
            while (r < n_rows && strcmp(rows[r].key, key)) r++;
            if (r == n_rows) {
                if (n_rows == cap) break;
                n_rows++;
                snprintf(rows[r].key, sizeof rows[r].key, "%s", key);
                snprintf(rows[r].unit, sizeof rows[r].unit, "%s", jstr(rec, "unit"));
                const cJSON *hb = cJSON_GetObjectItemCaseSensitive(rec, "higher_is_better");
                rows[r].higher = !cJSON_IsFalse(hb);
                for (int i = 0; i < 16; i++) rows[r].v[i] = rows[r].roof[i] = NAN;
            }
            rows[r].v[col] = jnum(rec, "value");
            rows[r].roof[col] = jnum(rec, "roofline_fraction");
        }
        cJSON_Delete(arr);
    }
    n_files = n_cols;
    printf("| test |");
    for (int f = 0; f < n_files; f++) printf(" %s |", names[f]);
    printf("\n|---|");
    for (int f = 0; f < n_files; f++) printf("---:|");
    printf("\n");
    for (int r = 0; r < n_rows; r++) {
        printf("| %s (%s) |", rows[r].key, rows[r].unit);
        for (int f = 0; f < n_files; f++) {
            double v = rows[r].v[f], rf = rows[r].roof[f];
            if (isnan(v)) printf(" - |");
            else if (!isnan(rf) && rf > 0 && rf != 1) printf(v >= 1e4 ? " %.0f (%.0f%%) |" : " %.4g (%.0f%%) |", v, 100 * rf);
            else printf(v >= 1e4 ? " %.0f |" : " %.4g |", v);
        }
        printf("\n");
    }
    write_svg(svg_path, n_files, names, rows, n_rows);
    free(rows);
    return 0;
}
