/* fetch.h: one file from the hub into a folder: FILE.part, Range resume, sha256 check, atomic
 * rename (the protocol is described in hub.h). Private to src/hub/. */
#ifndef TLV_HUB_FETCH_H
#define TLV_HUB_FETCH_H

#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"
#include "hub/hub.h"

/* One libcurl easy handle and what every request of a resolve shares. */
typedef struct tlv_hub_client {
    void *curl;                  /* CURL*, connections are reused between files */
    void *headers;               /* struct curl_slist*: Authorization */
    const tlv_allocator *alloc;
    const char *endpoint;        /* no trailing '/' */
    int has_token;
    int max_retries;
    tlv_hub_progress_fn progress;
    void *progress_user;
    int unreachable;             /* a request got no HTTP answer at all */
    char commit[48];             /* X-Repo-Commit of the first answer that carried one */
    char errbuf[256];            /* CURLOPT_ERRORBUFFER */
} tlv_hub_client;

typedef struct tlv_hub_file {
    int present;      /* 0: an optional file the repo does not have (404 EntryNotFound) */
    int fetched;      /* 1: downloaded now; 0: it was already in the folder */
    int unreachable;  /* the failure happened before any HTTP answer (DNS, connect, TLS) */
    uint64_t size;
    char sha256[65];  /* the verified sha256, "" when the hub announced none */
} tlv_hub_file;

/* Creates the client (curl_global_init is the caller's, see hub.c). */
tlv_status tlv__hub_client_init(tlv_hub_client *c, const tlv_hub_options *o, const char *endpoint,
                                const char *token, tlv_err *err);
void tlv__hub_client_cleanup(tlv_hub_client *c);

/* Makes dir/file hold {endpoint}/{repo}/resolve/{revision}/{file}. A file already in dir is
 * taken as it is (only verified files are ever renamed into place). optional: a 404 for the file
 * (not for the repo or revision) is success with out->present = 0. */
tlv_status tlv__hub_fetch(tlv_hub_client *c, const char *repo, const char *revision, const char *file,
                          const char *dir, int optional, tlv_hub_file *out, tlv_err *err);

/* Percent-encodes everything but [A-Za-z0-9._-] (a revision in a URL or a folder name).
 * Allocated with alloc; NULL when out of memory. */
char *tlv__hub_escape(const tlv_allocator *alloc, const char *s);

#endif
