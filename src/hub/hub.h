/* hub.h: a model named by Hugging Face id (ORG/NAME) -> a local directory the runtime can load.
 *
 * tlv__hub_resolve() returns `model` itself when it is an existing directory. For an id it makes
 * sure the cache holds what the runtime needs and returns that repo's cache directory:
 *
 *   CACHE/ORG/NAME/                         revision "main"
 *   CACHE/ORG/NAME@REV/                     any other revision (REV percent-encoded: refs%2Fpr%2F1)
 *     config.json                           required
 *     model.safetensors                     or model.safetensors.index.json + every shard it names
 *     vocab.json merges.txt added_tokens.json tokenizer.json tokenizer.model tokenizer_config.json
 *     special_tokens_map.json generation_config.json preprocessor_config.json   (each optional)
 *     .tinyllava-download.json              the manifest: written last, its presence = complete
 *     .lock                                 flock()ed while a process downloads into the folder
 *     FILE.part                             a download in progress (resumed by the next call)
 *
 * CACHE is o->cache_dir, else $TINYLLAVA_CACHE, else $XDG_CACHE_HOME/tinyllava, else
 * $HOME/.cache/tinyllava.
 *
 * A checkpoint without a tokenizer of its own (none of tokenizer.json, tokenizer.model,
 * vocab.json: OpenELM, Gemma) gets the tokenizer files of the repo its config.json names in
 * tokenizer_name_or_path (else llm_model_name_or_path), revision main, written into the same
 * folder beside the checkpoint's files (a file the checkpoint has itself is kept), so the folder
 * alone is a complete model. The manifest records which repo each file came from.
 *
 * A folder whose manifest lists files all present with their sizes is used without any network
 * access (files are not re-hashed, and "main" is not re-checked for newer commits: delete the
 * folder to update it). Everything else is fetched from
 *   {endpoint}/{ORG/NAME}/resolve/{revision}/{file}
 * following redirects (the hub answers LFS files with a 302 to its CDN). What we rely on from the
 * hub's answer (docs/DOWNLOAD.md):
 *   - X-Linked-Etag on the hub's response (the 302 for LFS files) = "sha256 of the content";
 *     without it, an ETag of exactly 64 hex digits is taken as the sha256. Plain git files (ETag =
 *     git blob sha1, 40 hex digits) are not hashed; curl checks their Content-Length.
 *   - X-Linked-Size: the size of an LFS file; X-Repo-Commit: the commit, recorded in the manifest.
 *   - X-Error-Code (RepoNotFound, EntryNotFound, RevisionNotFound, GatedRepo) and X-Error-Message
 *     explain 4xx answers. The hub answers 401 (not 404) for a repo that does not exist when no
 *     token is sent, since it cannot tell that from a private one.
 * A file is written to FILE.part, resumed with "Range: bytes=N-" (206 appends after checking
 * Content-Range, 200 starts over, 416 discards the part), hashed while it is written, and renamed
 * into place only when size and sha256 match; a mismatch deletes the part. Interrupted transfers,
 * 5xx/429 answers and a CDN refusing after the redirect (401/403 without X-Error-Code: an expired
 * signed URL) are retried, resuming, up to max_retries times. Requests send
 * "Accept-Encoding: identity" (the stored bytes, hashable and resumable), proxies come from the
 * usual environment variables (libcurl), the token goes to the endpoint's host only.
 *
 * Threads: no global state of ours. libcurl's curl_global_init() is called (and balanced by
 * curl_global_cleanup()) around each resolve; libcurl >= 7.84 built thread-safe (Debian 12's
 * 7.88 is; curl_version_info() lists CURL_VERSION_THREADSAFE) makes that safe from any thread.
 * With an older libcurl the application must call curl_global_init() once before starting
 * threads (libcurl's own rule), after which our calls only bump its reference count.
 * Several processes resolving the same model serialise on the folder's .lock. */
#ifndef TLV_HUB_HUB_H
#define TLV_HUB_HUB_H

#include <stdint.h>

#include "core/alloc.h"
#include "core/error.h"

/* Called while a file downloads: file is the repo-relative name (valid during the call only),
 * done/total in bytes (total 0: not known yet). Return nonzero to cancel: the resolve then fails
 * with TLV_ERR_CANCELLED and keeps FILE.part for the next call to resume. */
typedef int (*tlv_hub_progress_fn)(void *user_data, const char *repo, const char *file,
                                   uint64_t done_bytes, uint64_t total_bytes);

typedef struct tlv_hub_options {
    const char *cache_dir; /* NULL: $TINYLLAVA_CACHE, $XDG_CACHE_HOME/tinyllava, ~/.cache/tinyllava */
    const char *endpoint;  /* NULL: $HF_ENDPOINT, else "https://huggingface.co" */
    const char *token;     /* NULL: $HF_TOKEN, else the file `huggingface-cli login` wrote
                            * ($HF_TOKEN_PATH, $HF_HOME/token, ~/.cache/huggingface/token);
                            * "": none. Sent as "Authorization: Bearer", to the hub only. */
    const char *revision;  /* NULL: "main"; a branch, tag or commit */
    int offline;           /* nonzero, or $HF_HUB_OFFLINE=1/true/yes/on: use the cache only */
    int max_retries;       /* interrupted transfers retried per file: 0 = 3, < 0 = none */
    tlv_hub_progress_fn progress; /* NULL: none */
    void *progress_user;
    const tlv_allocator *alloc;   /* NULL: libc; *local_dir is allocated with it */
} tlv_hub_options;

/* Resolves model (a directory or ORG/NAME) to a local directory. o may be NULL (all defaults).
 * On success *local_dir is a NUL-terminated path the caller frees with tlv__free(o->alloc, p);
 * on failure it is NULL and err says why:
 *   TLV_ERR_INVALID_ARG model is an existing file, not a folder
 *   TLV_ERR_NOT_FOUND   no such directory and not an id; the model id or revision does not exist;
 *                       offline and not (completely) cached
 *   TLV_ERR_NETWORK     "cannot reach URL: <curl error>; no cached copy of ORG/NAME in DIR";
 *                       401/403 (token missing, wrong, or no access to a gated repo); 5xx
 *   TLV_ERR_FORMAT      sha256 or size of a download differs from what the hub announced; a bad
 *                       config.json or index
 *   TLV_ERR_UNSUPPORTED the repo has no safetensors weights
 *   TLV_ERR_IO          the cache cannot be written (no space left, permissions)
 *   TLV_ERR_CANCELLED   the progress callback returned nonzero
 *   TLV_ERR_NO_MEMORY */
tlv_status tlv__hub_resolve(const char *model, const tlv_hub_options *o, char **local_dir, tlv_err *err);

/* The cache directory model (ORG/NAME) has or would have under the options, whether or not it
 * exists; no network. Freed like tlv__hub_resolve's result. */
tlv_status tlv__hub_cache_path(const char *model, const tlv_hub_options *o, char **local_dir, tlv_err *err);

/* Whether the linked libcurl is built thread-safe (>= 7.84, CURL_VERSION_THREADSAFE), i.e. whether
 * tlv__hub_resolve may run in any thread without the application initialising libcurl first. */
int tlv__hub_curl_threadsafe(void);

/* Whether s has the shape of a hub id: ORG/NAME, each 1..96 characters of [A-Za-z0-9._-], not
 * starting with '.' or '-', without "..". */
int tlv__hub_is_repo_id(const char *s);

#endif
