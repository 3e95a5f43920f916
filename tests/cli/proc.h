/* proc.h: running the tinyllava command from the tests/cli drivers.
 *
 * A child gets pipes for stdin, stdout and stderr; the driver writes to its stdin, waits for text
 * to appear on its output, sends it signals and collects the exit code, always with a deadline
 * (a child past it is killed and reported). The environment of every child is the driver's
 * with these changes, so no test ever reaches the network or a home folder:
 *   HF_ENDPOINT      a closed local port (tests that want a hub set their own)
 *   TINYLLAVA_CACHE  a fresh temporary folder (downloads)
 *   TLV_CACHE_DIR    TLV_CLI_PIPELINE_CACHE, shared by the runs (compiled pipelines)
 *   HF_TOKEN, HF_HUB_OFFLINE, TLV_DEVICE  unset
 * plus the "NAME=VALUE" (set) and "NAME" (unset) entries the caller passes. */
#ifndef TLV_TESTS_CLI_PROC_H
#define TLV_TESTS_CLI_PROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct proc_buf {
    char *p;      /* NUL-terminated */
    size_t n, cap;
} proc_buf;

typedef struct proc {
    pid_t pid;
    int in_fd, out_fd, err_fd; /* -1 once closed */
    proc_buf out, err;
    int exit_code;             /* after proc_finish: the exit status, 128+N for signal N, -1 timed out */
} proc;

typedef struct proc_opts {
    const char *const *env;    /* NULL-terminated "NAME=VALUE" / "NAME" list, or NULL */
    long fsize_limit;          /* > 0: RLIMIT_FSIZE in bytes, with SIGXFSZ ignored (writes fail EFBIG) */
} proc_opts;

/* Sets up the common environment (call once, before anything else); returns 0 on success.
 * tmp_root receives a fresh folder for the tests' files, removed by proc_cleanup. */
int proc_setup(char *tmp_root, size_t size);
void proc_cleanup(void);
/* The tinyllava binary (argv[1] of every driver). */
void proc_set_binary(const char *path);

/* Starts `tinyllava args...` (args NULL-terminated). Returns 0 on success. */
int proc_start(proc *p, const char *const *args, const proc_opts *o);
/* Writes text to the child's stdin (blocking). */
int proc_write(proc *p, const char *text);
void proc_close_stdin(proc *p);
/* Reads the child's output until `needle` appears in stdout (fd 1) or stderr (fd 2), at or after
 * byte `from`; returns 1 when found, 0 on EOF or after timeout_s seconds. */
int proc_wait_for(proc *p, int fd, size_t from, const char *needle, double timeout_s);
/* Closes stdin, reads everything, waits for the exit (kills it after timeout_s); returns
 * p->exit_code. */
int proc_finish(proc *p, double timeout_s);
void proc_free(proc *p);

/* Start + write stdin_text (may be NULL) + finish. Prints the command line and its exit code
 * (and its stderr when that is not 0). Returns the exit code. */
int proc_run(proc *p, const char *const *args, const proc_opts *o, const char *stdin_text, double timeout_s);

/* Runs any program (not tinyllava), e.g. gzip -dc; returns its stdout (malloc'ed) or NULL. */
char *proc_capture(const char *const *argv, double timeout_s);

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
int proc_closed_port(void);

#endif
