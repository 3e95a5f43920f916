/* cli.h: the pieces of the tinyllava command shared between its files. */
#ifndef TLV_TOOLS_CLI_H
#define TLV_TOOLS_CLI_H

#include <signal.h>

#include "tinyllava.h"

#define CLI_MAX_IMAGES 16
#define CLI_MAX_POSITIONAL 8

typedef struct cli_opts {
    const char *model;
    int model_given;
    const char *images[CLI_MAX_IMAGES];
    int n_images;
    const char *prompt;
    const char *file;
    const char *jsonl;
    const char *template_name;
    const char *device;
    const char *dump;
    int n_predict;
    int ctx_size;
    tlv_sampling sampling;
    int json, offline, no_special, verbose, help;
    const char *positional[CLI_MAX_POSITIONAL];
    int n_positional;
} cli_opts;

int cli_exit_code(tlv_status st);
/* The progress bar on stderr (a terminal only); returns 1 (cancel) after Ctrl-C. */
int cli_progress(void *ud, const char *stage, uint64_t done, uint64_t total);
/* Context (and model when model != NULL) with the CLI's logging and progress bar; prints the
 * error itself. */
tlv_status cli_open(const cli_opts *o, tlv_context **ctx, tlv_model **model);

int cli_run(const cli_opts *o, tlv_session *volatile *current, volatile sig_atomic_t *interrupted);
int cli_chat(const cli_opts *o, tlv_session *volatile *current, volatile sig_atomic_t *interrupted);
int cli_tokenize(const cli_opts *o);
tlv_status cli_pull(const char *id, int offline, tlv_progress_fn progress, char **dir);

#endif
