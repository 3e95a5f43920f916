/* proc.c: children with pipes and deadlines for the tests/cli drivers (proc.h). */
#include "proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TLV_CLI_PIPELINE_CACHE
#define TLV_CLI_PIPELINE_CACHE ""
#endif

static const char *g_binary = "tinyllava";
static char g_root[512];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void proc_set_binary(const char *path)
{
    g_binary = path;
}

int proc_setup(char *tmp_root, size_t size)
{
    signal(SIGPIPE, SIG_IGN); /* a child that exited early must not kill the driver */
    const char *t = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/tlv_cli_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        return -1;
    }
    snprintf(tmp_root, size, "%s", g_root);
    char path[600];
    snprintf(path, sizeof path, "%s/hubcache", g_root);
    if (mkdir(path, 0700) != 0) return -1;
    /* the closed port: nothing listens there, so any download fails at once */
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", proc_closed_port());
    setenv("HF_ENDPOINT", ep, 1);
    setenv("TINYLLAVA_CACHE", path, 1);
    if (*TLV_CLI_PIPELINE_CACHE) setenv("TLV_CACHE_DIR", TLV_CLI_PIPELINE_CACHE, 1);
    unsetenv("HF_TOKEN");
    unsetenv("HF_TOKEN_PATH");
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("TLV_DEVICE");
    setenv("HF_HOME", g_root, 1); /* no saved token from ~/.cache/huggingface */
    return 0;
}

void proc_cleanup(void)
{
    if (!g_root[0]) return;
    const char *argv[] = {"/bin/rm", "-rf", g_root, NULL};
    free(proc_capture(argv, 30));
    g_root[0] = 0;
}

int proc_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 9; /* discard: closed on any test machine */
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static void buf_add(proc_buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p) abort(); /* test driver: out of memory is fatal */
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static pid_t spawn(const char *const *argv, const proc_opts *o, int *in_fd, int *out_fd, int *err_fd)
{
    int pin[2], pout[2], perr[2];
    if (pipe(pin) || pipe(pout) || pipe(perr)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]), close(perr[0]), close(perr[1]);
        for (int i = 0; o && o->env && o->env[i]; i++) {
            const char *eq = strchr(o->env[i], '=');
            if (eq) {
                char name[128];
                snprintf(name, sizeof name, "%.*s", (int)(eq - o->env[i]), o->env[i]);
                setenv(name, eq + 1, 1);
            } else {
                unsetenv(o->env[i]);
            }
        }
        if (o && o->fsize_limit > 0) {
            struct rlimit rl = {(rlim_t)o->fsize_limit, (rlim_t)o->fsize_limit};
            setrlimit(RLIMIT_FSIZE, &rl);
            signal(SIGXFSZ, SIG_IGN); /* inherited through exec: writes fail with EFBIG instead */
        }
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pin[0]), close(pout[1]), close(perr[1]);
    *in_fd = pin[1];
    *out_fd = pout[0];
    *err_fd = perr[0];
    return pid;
}

int proc_start(proc *p, const char *const *args, const proc_opts *o)
{
    memset(p, 0, sizeof *p);
    p->in_fd = p->out_fd = p->err_fd = -1;
    const char *argv[64];
    int n = 0;
    argv[n++] = g_binary;
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    buf_add(&p->out, "", 0);
    buf_add(&p->err, "", 0);
    p->pid = spawn(argv, o, &p->in_fd, &p->out_fd, &p->err_fd);
    return p->pid > 0 ? 0 : -1;
}

int proc_write(proc *p, const char *text)
{
    size_t n = strlen(text), done = 0;
    while (done < n && p->in_fd >= 0) {
        ssize_t w = write(p->in_fd, text + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        done += (size_t)w;
    }
    return done == n ? 0 : -1;
}

void proc_close_stdin(proc *p)
{
    if (p->in_fd >= 0) close(p->in_fd);
    p->in_fd = -1;
}

/* Reads what is available within timeout_ms; returns 0 when both pipes are at EOF. */
static int pump(proc *p, int timeout_ms)
{
    struct pollfd f[2];
    int n = 0;
    if (p->out_fd >= 0) f[n++] = (struct pollfd){p->out_fd, POLLIN, 0};
    if (p->err_fd >= 0) f[n++] = (struct pollfd){p->err_fd, POLLIN, 0};
    if (!n) return 0;
    if (poll(f, (nfds_t)n, timeout_ms) <= 0) return 1;
    for (int i = 0; i < n; i++) {
        if (!f[i].revents) continue;
        char chunk[4096];
        ssize_t r = read(f[i].fd, chunk, sizeof chunk);
        int is_out = f[i].fd == p->out_fd;
        if (r > 0) {
            buf_add(is_out ? &p->out : &p->err, chunk, (size_t)r);
        } else if (r == 0 || errno != EINTR) {
            close(f[i].fd);
            if (is_out) p->out_fd = -1;
            else p->err_fd = -1;
        }
    }
    return 1;
}

int proc_wait_for(proc *p, int fd, size_t from, const char *needle, double timeout_s)
{
    double end = now_s() + timeout_s;
    for (;;) {
        const proc_buf *b = fd == 1 ? &p->out : &p->err;
        if (b->n >= from && strstr(b->p + from, needle)) return 1;
        double left = end - now_s();
        if (left <= 0) return 0;
        if (!pump(p, (int)(left * 1000) + 1)) {
            b = fd == 1 ? &p->out : &p->err;
            return b->n >= from && strstr(b->p + from, needle) != NULL;
        }
    }
}

int proc_finish(proc *p, double timeout_s)
{
    proc_close_stdin(p);
    double end = now_s() + timeout_s;
    while (now_s() < end && pump(p, 100)) {
    }
    int status = 0;
    for (;;) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) break;
        if (r < 0 && errno != EINTR) {
            p->exit_code = -1;
            return -1;
        }
        if (now_s() >= end) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            fprintf(stderr, "proc: killed after %.0f s (timeout)\n", timeout_s);
            p->exit_code = -1;
            goto out;
        }
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    p->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
out:
    if (p->out_fd >= 0) close(p->out_fd);
    if (p->err_fd >= 0) close(p->err_fd);
    p->out_fd = p->err_fd = -1;
    return p->exit_code;
}

void proc_free(proc *p)
{
    proc_close_stdin(p);
    if (p->out_fd >= 0) close(p->out_fd);
    if (p->err_fd >= 0) close(p->err_fd);
    free(p->out.p);
    free(p->err.p);
    memset(p, 0, sizeof *p);
    p->in_fd = p->out_fd = p->err_fd = -1;
}

int proc_run(proc *p, const char *const *args, const proc_opts *o, const char *stdin_text, double timeout_s)
{
    printf("$ tinyllava");
    for (int i = 0; args[i]; i++) printf(strchr(args[i], ' ') || !*args[i] ? " '%s'" : " %s", args[i]);
    for (int i = 0; o && o->env && o->env[i]; i++) printf("  [%s]", o->env[i]);
    if (o && o->fsize_limit > 0) printf("  [ulimit -f %ld bytes]", o->fsize_limit);
    if (proc_start(p, args, o)) {
        printf("\n  cannot start %s\n", g_binary);
        p->exit_code = -1;
        return -1;
    }
    if (stdin_text) proc_write(p, stdin_text);
    int rc = proc_finish(p, timeout_s);
    printf("  -> exit %d\n", rc);
    if (rc != 0 && p->err.n) printf("  stderr: %.2000s\n", p->err.p);
    fflush(stdout);
    return rc;
}

char *proc_capture(const char *const *argv, double timeout_s)
{
    proc p;
    memset(&p, 0, sizeof p);
    buf_add(&p.out, "", 0);
    buf_add(&p.err, "", 0);
    p.pid = spawn(argv, NULL, &p.in_fd, &p.out_fd, &p.err_fd);
    if (p.pid <= 0) {
        proc_free(&p);
        return NULL;
    }
    int rc = proc_finish(&p, timeout_s);
    char *out = rc == 0 ? p.out.p : NULL;
    if (rc == 0) p.out.p = NULL;
    proc_free(&p);
    return out;
}
