/* fetch.c: one file from the hub: FILE.part, Range resume, sha256 while writing, atomic rename.
 *
 * One GET per attempt, no HEAD first: the hub's answer to the GET carries everything the HEAD
 * would (X-Linked-Etag, X-Linked-Size, X-Repo-Commit on the 302 that points LFS files to the CDN),
 * and libcurl hands us the headers of every response in the redirect chain. */
#define _DEFAULT_SOURCE /* fsync, pread, ftruncate under -std=c11 */
#include "hub/fetch.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef TLV_NO_CURL
#include <curl/curl.h>

#include "hub/sha256.h"

#define RETRY_DEFAULT 3
#define ERRBODY_MAX 200

/* What one attempt learnt. Header fields marked "chain" keep the first value seen in any
 * response of the redirect chain (the hub's 302 has them, the CDN's 200 does not); the others
 * describe the latest response and are reset at each status line. */
struct xfer {
    tlv_hub_client *c;
    const char *repo, *file;
    int fd;
    uint64_t offset;               /* bytes of FILE.part kept from earlier attempts */
    long status;                   /* latest response */
    int n_responses;
    char linked_etag[72];          /* chain: X-Linked-Etag, quotes stripped */
    char etag64[72];               /* chain: first ETag that is 64 hex digits */
    uint64_t linked_size;          /* chain: X-Linked-Size */
    int has_linked_size;
    char commit[48];               /* chain: X-Repo-Commit */
    uint64_t content_length;       /* latest */
    int has_content_length;
    uint64_t range_start, range_total; /* latest: Content-Range bytes START-END/TOTAL */
    int has_range;
    char error_code[48];           /* latest: X-Error-Code */
    char error_msg[160];           /* latest: X-Error-Message */
    int body_begun, discard;
    uint64_t written;              /* body bytes written by this attempt */
    tlv_sha256 prefix_sha;         /* of the offset bytes already in the part */
    tlv_sha256 sha;
    int io_errno;
    int bad_range;
    int cancelled;
    char errbody[ERRBODY_MAX + 1];
    size_t errbody_len;
};
#endif

char *tlv__hub_escape(const tlv_allocator *alloc, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = tlv__malloc(alloc, 3 * n + 1), *p = out;
    if (!out) return NULL;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        /* ASCII by hand: isalnum() follows the locale */
        if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
            *q == '.' || *q == '_' || *q == '-') {
            *p++ = (char)*q;
        } else {
            *p++ = '%';
            *p++ = hex[*q >> 4];
            *p++ = hex[*q & 15];
        }
    }
    *p = 0;
    return out;
}

#ifdef TLV_NO_CURL
/* Built without libcurl (cmake -DTLV_WITH_CURL=OFF, the default on Android, where downloading
 * is the app's job): tlv__hub_resolve() stops before it would download (hub.c), so these are
 * never reached; they keep the rest of the hub code (cached copies, folders) the same. */
tlv_status tlv__hub_client_init(tlv_hub_client *c, const tlv_hub_options *o, const char *endpoint,
                                const char *token, tlv_err *err)
{
    memset(c, 0, sizeof *c);
    return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "built without download support (TLV_WITH_CURL=OFF)");
}

void tlv__hub_client_cleanup(tlv_hub_client *c) { (void)c; }

tlv_status tlv__hub_fetch(tlv_hub_client *c, const char *repo, const char *revision, const char *file,
                          const char *dir, int optional, tlv_hub_file *out, tlv_err *err)
{
    memset(out, 0, sizeof *out);
    return tlv__err_set(err, TLV_ERR_UNSUPPORTED, "%s/%s: built without download support (TLV_WITH_CURL=OFF)",
                        repo, file);
}
#else
/* ------------------------------------------------------------------ header parsing */

static int is_hex64(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i])) return 0;
    return s[64] == 0;
}

/* Copies the header value v (len bytes, no CRLF) into dst, trimmed, without a W/ prefix and
 * quotes (ETag: W/"abc" -> abc). */
static void copy_value(char *dst, size_t cap, const char *v, size_t len, int strip_etag)
{
    while (len && (*v == ' ' || *v == '\t')) v++, len--;
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t')) len--;
    if (strip_etag) {
        if (len >= 2 && v[0] == 'W' && v[1] == '/') v += 2, len -= 2;
        if (len >= 2 && v[0] == '"' && v[len - 1] == '"') v++, len -= 2;
    }
    if (len >= cap) len = cap - 1;
    memcpy(dst, v, len);
    dst[len] = 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!isdigit((unsigned char)*s)) return 0;
    for (; isdigit((unsigned char)*s); s++) {
        if (v > (UINT64_MAX - 9) / 10) return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 1;
}

static int header_is(const char *line, size_t name_len, const char *name)
{
    return strlen(name) == name_len && !strncasecmp(line, name, name_len);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * nitems, n = len;
    while (n && (buf[n - 1] == '\r' || buf[n - 1] == '\n')) n--;
    if (n >= 5 && !memcmp(buf, "HTTP/", 5)) {
        const char *sp = memchr(buf, ' ', n);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->n_responses++;
        x->has_content_length = x->has_range = 0;
        x->error_code[0] = x->error_msg[0] = 0;
        return len;
    }
    const char *colon = memchr(buf, ':', n);
    if (!colon) return len;
    size_t name_len = (size_t)(colon - buf);
    const char *v = colon + 1;
    size_t vlen = n - name_len - 1;
    char tmp[160];
    if (header_is(buf, name_len, "x-linked-etag") && !x->linked_etag[0]) {
        copy_value(x->linked_etag, sizeof x->linked_etag, v, vlen, 1);
    } else if (header_is(buf, name_len, "etag") && !x->etag64[0]) {
        copy_value(tmp, sizeof tmp, v, vlen, 1);
        if (is_hex64(tmp)) memcpy(x->etag64, tmp, 65);
    } else if (header_is(buf, name_len, "x-linked-size") && !x->has_linked_size) {
        copy_value(tmp, sizeof tmp, v, vlen, 0);
        x->has_linked_size = parse_u64(tmp, &x->linked_size);
    } else if (header_is(buf, name_len, "x-repo-commit") && !x->commit[0]) {
        copy_value(x->commit, sizeof x->commit, v, vlen, 0);
    } else if (header_is(buf, name_len, "content-length")) {
        copy_value(tmp, sizeof tmp, v, vlen, 0);
        x->has_content_length = parse_u64(tmp, &x->content_length);
    } else if (header_is(buf, name_len, "content-range")) {
        /* "bytes START-END/TOTAL" (RFC 9110 14.4) */
        copy_value(tmp, sizeof tmp, v, vlen, 0);
        const char *p = tmp;
        uint64_t end;
        x->has_range = 0;
        if (!strncasecmp(p, "bytes ", 6) && parse_u64(p + 6, &x->range_start)) {
            p = strchr(p, '-');
            const char *slash = strchr(tmp, '/');
            if (p && slash && parse_u64(p + 1, &end) && parse_u64(slash + 1, &x->range_total))
                x->has_range = 1;
        }
    } else if (header_is(buf, name_len, "x-error-code")) {
        copy_value(x->error_code, sizeof x->error_code, v, vlen, 0);
    } else if (header_is(buf, name_len, "x-error-message")) {
        copy_value(x->error_msg, sizeof x->error_msg, v, vlen, 0);
    }
    return len;
}

/* ------------------------------------------------------------------ body */

/* Hashes the n bytes the part already holds. Done before the request, not when the 206 arrives:
 * gigabytes take seconds to hash, and the server would wait that long on an idle connection. */
static int hash_prefix(int fd, uint64_t n, tlv_sha256 *s)
{
    uint8_t buf[1 << 14];
    tlv__sha256_init(s);
    for (uint64_t pos = 0; pos < n;) {
        size_t want = n - pos < sizeof buf ? (size_t)(n - pos) : sizeof buf;
        ssize_t got = pread(fd, buf, want, (off_t)pos);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return got < 0 ? errno : EIO;
        tlv__sha256_update(s, buf, (size_t)got);
        pos += (uint64_t)got;
    }
    return 0;
}

/* The first body byte of the final response (or its end, for an empty body): decides where the
 * bytes go. 206 continues the part (and its hash); 200 starts it over. */
static int begin_body(struct xfer *x)
{
    x->body_begun = 1;
    tlv__sha256_init(&x->sha);
    if (x->status == 206) {
        if (!x->has_range || x->range_start != x->offset) {
            x->bad_range = 1;
            return -1;
        }
        x->sha = x->prefix_sha;
    } else if (x->status == 200) {
        if (x->offset && ftruncate(x->fd, 0) != 0) {
            x->io_errno = errno;
            return -1;
        }
        x->offset = 0;
    } else {
        x->discard = 1;
    }
    return 0;
}

static size_t on_body(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * nitems;
    if (!x->body_begun && begin_body(x) != 0) return 0;
    if (x->discard) {
        size_t take = ERRBODY_MAX - x->errbody_len < len ? ERRBODY_MAX - x->errbody_len : len;
        memcpy(x->errbody + x->errbody_len, buf, take);
        x->errbody_len += take;
        x->errbody[x->errbody_len] = 0;
        return len;
    }
    for (size_t done = 0; done < len;) {
        ssize_t w = write(x->fd, buf + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            x->io_errno = w < 0 ? errno : EIO;
            return 0; /* curl stops with CURLE_WRITE_ERROR */
        }
        done += (size_t)w;
    }
    tlv__sha256_update(&x->sha, buf, len);
    x->written += len;
    return len;
}

static uint64_t expected_total(const struct xfer *x)
{
    if (x->has_linked_size) return x->linked_size;
    if (x->status == 206 && x->has_range) return x->range_total;
    if (x->status == 200 && x->has_content_length) return x->content_length;
    return 0;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = ud;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (!x->c->progress || x->discard || x->status >= 400) return 0;
    if (x->c->progress(x->c->progress_user, x->repo, x->file, x->offset + x->written, expected_total(x))) {
        x->cancelled = 1;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ client */

tlv_status tlv__hub_client_init(tlv_hub_client *c, const tlv_hub_options *o, const char *endpoint,
                                const char *token, tlv_err *err)
{
    memset(c, 0, sizeof *c);
    c->alloc = o ? o->alloc : NULL;
    c->endpoint = endpoint;
    c->max_retries = !o || o->max_retries == 0 ? RETRY_DEFAULT : o->max_retries < 0 ? 0 : o->max_retries;
    c->progress = o ? o->progress : NULL;
    c->progress_user = o ? o->progress_user : NULL;
    CURL *h = curl_easy_init();
    if (!h) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "curl_easy_init failed");
    c->curl = h;
    /* The bytes as stored: a compressed answer would not match the sha256 nor resume by Range
     * (no Accept-Encoding at all would allow any coding, RFC 9110 12.5.3). */
    struct curl_slist *l = curl_slist_append(NULL, "Accept-Encoding: identity");
    if (!l) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "curl_slist_append failed");
    c->headers = l;
    if (token && *token) {
        char auth[1024];
        int n = snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        if (n < 0 || (size_t)n >= sizeof auth)
            return tlv__err_set(err, TLV_ERR_INVALID_ARG, "HF token is %zu characters long, at most 1000 expected", strlen(token));
        l = curl_slist_append(l, auth);
        if (!l) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "curl_slist_append failed");
        c->headers = l;
        c->has_token = 1;
    }
    /* libcurl sends a custom Authorization header to the host of the first URL only, not after
     * a redirect to another host (since 7.58; CURLOPT_UNRESTRICTED_AUTH stays 0), so the token
     * never reaches the CDN, whose pre-signed URLs would reject it anyway. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for DNS timeouts: threads */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A stalled transfer (under 1 byte/s for 60 s) fails and is retried with a Range. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "tinyllava-vk/" TLV_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    return TLV_OK;
}

void tlv__hub_client_cleanup(tlv_hub_client *c)
{
    if (c->curl) curl_easy_cleanup(c->curl);
    if (c->headers) curl_slist_free_all(c->headers);
    c->curl = c->headers = NULL;
}

/* ------------------------------------------------------------------ one file */

/* No HTTP answer at all: the endpoint cannot be reached. */
static int is_unreachable(CURLcode rc)
{
    return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
           rc == CURLE_COULDNT_CONNECT || rc == CURLE_SSL_CONNECT_ERROR ||
           rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_PEER_FAILED_VERIFICATION;
}

/* Worth another attempt: the transfer broke, the answer may come next time. */
static int is_transient(CURLcode rc)
{
    return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_HTTP2 ||
           rc == CURLE_HTTP2_STREAM || rc == CURLE_COULDNT_CONNECT;
}

static void backoff(int attempt)
{
    struct timespec ts = {0, 200L * 1000 * 1000 * (attempt < 4 ? attempt : 4)};
    nanosleep(&ts, NULL);
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* The message for an HTTP answer that is not the file. */
static tlv_status http_error(const tlv_hub_client *c, const struct xfer *x, const char *revision, tlv_err *err)
{
    const char *why = x->error_msg[0] ? x->error_msg : x->errbody_len ? x->errbody : "";
    const char *code = x->error_code;
    if (x->status == 404 && !strcmp(code, "RevisionNotFound"))
        return tlv__err_set(err, TLV_ERR_NOT_FOUND, "%s has no revision '%s' on %s (HTTP 404 RevisionNotFound)",
                            x->repo, revision, c->endpoint);
    if (x->status == 404 && (!strcmp(code, "EntryNotFound") || !strcmp(code, "")))
        return tlv__err_set(err, TLV_ERR_NOT_FOUND, "%s has no file %s at revision %s (HTTP 404 from %s)",
                            x->repo, x->file, revision, c->endpoint);
    if (x->status == 404)
        return tlv__err_set(err, TLV_ERR_NOT_FOUND, "model %s does not exist on %s (HTTP 404 %s%s%s)",
                            x->repo, c->endpoint, code, *why ? ": " : "", why);
    if (x->status == 401 || x->status == 403) {
        const char *hint = !c->has_token
            ? "the model does not exist, or it is private or gated and needs a token: set HF_TOKEN"
            : x->status == 401 ? "the token in HF_TOKEN was rejected, or the model does not exist"
                               : "the token has no access to this model (a gated model: accept its terms on the model's page)";
        return tlv__err_set(err, TLV_ERR_NETWORK, "%s: HTTP %ld from %s%s%s%s%s: %s", x->repo, x->status, c->endpoint,
                            *code ? " " : "", code, *why ? ": " : "", why, hint);
    }
    return tlv__err_set(err, TLV_ERR_NETWORK, "%s/%s: HTTP %ld from %s%s%s", x->repo, x->file, x->status,
                        c->endpoint, *why ? ": " : "", why);
}

tlv_status tlv__hub_fetch(tlv_hub_client *c, const char *repo, const char *revision, const char *file,
                          const char *dir, int optional, tlv_hub_file *out, tlv_err *err)
{
    memset(out, 0, sizeof *out);
    char final_path[4096], part_path[4096 + 8], url[4096];
    char *rev = tlv__hub_escape(c->alloc, revision);
    if (!rev) return tlv__err_set(err, TLV_ERR_NO_MEMORY, "out of memory");
    int nf = snprintf(final_path, sizeof final_path, "%s/%s", dir, file);
    int nu = snprintf(url, sizeof url, "%s/%s/resolve/%s/%s", c->endpoint, repo, rev, file);
    tlv__free(c->alloc, rev);
    if (nf < 0 || (size_t)nf >= sizeof final_path || nu < 0 || (size_t)nu >= sizeof url)
        return tlv__err_set(err, TLV_ERR_INVALID_ARG, "%s/%s: path or URL too long", dir, file);
    snprintf(part_path, sizeof part_path, "%s.part", final_path);

    struct stat st;
    if (stat(final_path, &st) == 0 && S_ISREG(st.st_mode)) {
        out->present = 1;
        out->size = (uint64_t)st.st_size;
        return TLV_OK;
    }

    CURL *h = c->curl;
    int attempt = 0, restarted = 0;
    for (;;) {
        struct xfer x;
        memset(&x, 0, sizeof x);
        x.c = c;
        x.repo = repo;
        x.file = file;
        x.fd = open(part_path, O_RDWR | O_CREAT | O_APPEND, 0644);
        if (x.fd < 0)
            return tlv__err_set(err, TLV_ERR_IO, "cannot create %s: %s", part_path, strerror(errno));
        if (fstat(x.fd, &st) == 0) x.offset = (uint64_t)st.st_size;
        int e = x.offset ? hash_prefix(x.fd, x.offset, &x.prefix_sha) : 0;
        if (e) {
            close(x.fd);
            return tlv__err_set(err, TLV_ERR_IO, "cannot read %s: %s", part_path, strerror(e));
        }

        char range[32];
        snprintf(range, sizeof range, "%llu-", (unsigned long long)x.offset);
        c->errbuf[0] = 0;
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_RANGE, x.offset ? range : NULL);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
        CURLcode rc = curl_easy_perform(h);
        if (rc == CURLE_OK && !x.body_begun) begin_body(&x); /* empty body */
        if (x.commit[0] && !c->commit[0]) memcpy(c->commit, x.commit, sizeof c->commit);
        int ok_status = x.status == 200 || x.status == 206;
        uint64_t size = x.offset + x.written;
        if (ok_status && !x.io_errno && !x.bad_range && fsync(x.fd) != 0) x.io_errno = errno;
        close(x.fd);
        if (!ok_status && size == 0) unlink(part_path);

        if (x.cancelled)
            return tlv__err_set(err, TLV_ERR_CANCELLED, "%s/%s: download cancelled by the progress callback "
                                "(%llu bytes kept in %s)", repo, file, (unsigned long long)size, part_path);
        if (x.io_errno)
            return tlv__err_set(err, TLV_ERR_IO, "%s/%s: writing %s: %s%s", repo, file, part_path, strerror(x.io_errno),
                                x.io_errno == ENOSPC ? " (free some space, or point TINYLLAVA_CACHE elsewhere)" : "");
        if (x.bad_range || (x.status == 416 && x.offset)) {
            /* The server's range does not continue our part (or the part is longer than the
             * file): it is of no use. Start over once. */
            unlink(part_path);
            if (restarted++) return tlv__err_set(err, TLV_ERR_NETWORK, "%s/%s: the server answers Range requests "
                                                 "inconsistently (HTTP %ld)", repo, file, x.status);
            continue;
        }
        if (rc != CURLE_OK) {
            const char *what = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
            int no_answer = x.n_responses == 0;
            if (!(no_answer && is_unreachable(rc)) && is_transient(rc) && attempt < c->max_retries) {
                backoff(++attempt);
                continue;
            }
            if (no_answer && (is_unreachable(rc) || is_transient(rc))) {
                out->unreachable = c->unreachable = 1;
                return tlv__err_set(err, TLV_ERR_NETWORK, "cannot reach %s: %s", c->endpoint, what);
            }
            return tlv__err_set(err, TLV_ERR_NETWORK, "%s/%s: download failed after %d attempt%s: %s "
                                "(%llu bytes kept in %s; run again to resume)", repo, file, attempt + 1,
                                attempt ? "s" : "", what, (unsigned long long)size, part_path);
        }
        if (x.status == 404 && optional && (!strcmp(x.error_code, "EntryNotFound") || !x.error_code[0]))
            return TLV_OK; /* present = 0 */
        if ((x.status >= 500 || x.status == 429) && attempt < c->max_retries) {
            backoff(++attempt);
            continue;
        }
        if ((x.status == 401 || x.status == 403) && x.n_responses > 1 && !x.error_code[0]) {
            /* Refused after a redirect, without the hub's X-Error-Code: the CDN, whose signed URL
             * may have expired. Asking the hub again gives a fresh one. */
            if (attempt < c->max_retries) {
                backoff(++attempt);
                continue;
            }
            return tlv__err_set(err, TLV_ERR_NETWORK, "%s/%s: the file server the hub redirected to refused the "
                                "download (HTTP %ld%s%s)", repo, file, x.status, x.errbody_len ? ": " : "", x.errbody);
        }
        if (!ok_status) return http_error(c, &x, revision, err);

        if (x.has_linked_size && size != x.linked_size) {
            if (size < x.linked_size && attempt < c->max_retries) {
                backoff(++attempt);
                continue;
            }
            unlink(part_path);
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s/%s: downloaded %llu bytes, the hub announced %llu "
                                "(X-Linked-Size); the partial file was deleted", repo, file,
                                (unsigned long long)size, (unsigned long long)x.linked_size);
        }
        const char *want = is_hex64(x.linked_etag) ? x.linked_etag : x.etag64[0] ? x.etag64 : NULL;
        char got[65];
        tlv__sha256_final_hex(&x.sha, got);
        if (want && strcasecmp(want, got)) {
            unlink(part_path);
            if (x.offset && !restarted++) continue; /* resumed onto stale bytes: once more, whole */
            return tlv__err_set(err, TLV_ERR_FORMAT, "%s/%s: sha256 mismatch: the hub announced %s, the download "
                                "is %s; the corrupt download was deleted", repo, file, want, got);
        }
        if (rename(part_path, final_path) != 0)
            return tlv__err_set(err, TLV_ERR_IO, "cannot rename %s to %s: %s", part_path, final_path, strerror(errno));
        sync_dir(dir);
        if (c->progress) c->progress(c->progress_user, repo, file, size, size);
        out->present = out->fetched = 1;
        out->size = size;
        if (want) memcpy(out->sha256, got, sizeof got);
        return TLV_OK;
    }
}
#endif
