/* cli.h: the pieces of the tinyllava command shared between its files. The command is built on
 * the public API alone (tinyllava.h and the library; tools/cli/CMakeLists.txt puts nothing else
 * on the include path): whatever it does, a program can do. */
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
    const char *weights, *vision_weights; /* --weights, --vision-weights: the recipe */
    int n_predict;
    int ctx_size;
    int kv_type;               /* --kv: tlv_kv_type (0: the library's default) */
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
/* A context without Vulkan (pull, tokenize: no device needed), with the CLI's logging. */
tlv_status cli_open_no_vulkan(const cli_opts *o, tlv_context **ctx);

int cli_run(const cli_opts *o, tlv_session *volatile *current, volatile sig_atomic_t *interrupted);
int cli_chat(const cli_opts *o, tlv_session *volatile *current, volatile sig_atomic_t *interrupted);
int cli_tokenize(const cli_opts *o);
/* `tinyllava quantize SRC DST --weights F [--vision-weights F]`; returns the exit code. */
int cli_quantize(const cli_opts *o);
/* `tinyllava pull`: prints the model's folder; returns the exit code. */
int cli_pull(const cli_opts *o, const char *id);

#endif
