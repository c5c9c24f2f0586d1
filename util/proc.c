/* Child processes and pid files. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/proc.h"
#include "util/timeutil.h"

static void proc_child(char *const argv[], const struct proc_user *user, const char *log_path)
{
    int null = open("/dev/null", O_RDONLY);
    int log = open(log_path != NULL ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null < 0 || log < 0)
        _exit(127);
    if (user != NULL && user->uid != (uid_t)-1 && log_path != NULL)
        (void)fchown(log, user->uid, user->gid);
    dup2(null, STDIN_FILENO);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    if (null > 2)
        close(null);
    if (log > 2)
        close(log);
    /* Our parent's signal dispositions must not leak into a server. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    setsid();
    if (user != NULL && user->uid != (uid_t)-1 && geteuid() == 0) {
        if (setgroups(0, NULL) != 0 || setgid(user->gid) != 0 || setuid(user->uid) != 0) {
            dprintf(STDERR_FILENO, "opsdeck: cannot switch to user %s: %s\n",
                    user->name != NULL ? user->name : "?", strerror(errno));
            _exit(127);
        }
    }
    execv(argv[0], argv);
    dprintf(STDERR_FILENO, "opsdeck: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

pid_t proc_spawn(char *const argv[], const struct proc_user *user, const char *log_path)
{
    pid_t pid = fork();
    if (pid == 0)
        proc_child(argv, user, log_path);
    return pid;
}

static void proc_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int proc_run(char *const argv[], const struct proc_user *user, const char *log_path,
             int64_t timeout_ms)
{
    pid_t pid = proc_spawn(argv, user, log_path);
    int64_t deadline = time_mono_ms() + timeout_ms;
    int st;

    if (pid < 0)
        return -1;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (time_mono_ms() > deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        proc_sleep_ms(20);
    }
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

/* The state letter of /proc/PID/stat, or 0 when unreadable. */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) S ...": comm may hold spaces and parentheses */
    char *rp = strrchr(buf, ')');
    return rp != NULL && rp[1] == ' ' ? rp[2] : 0;
}

bool proc_alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return false;
    /* A zombie still answers kill(0) but is gone for us. */
    char st = proc_state(pid);
    return st != 'Z' && st != 'X';
}

bool proc_is(pid_t pid, const char *name)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* argv[0] ends at the first NUL or, once a server retitles itself, a blank */
    buf[strcspn(buf, " ")] = '\0';
    const char *base = strrchr(buf, '/');
    base = base != NULL ? base + 1 : buf;
    return strncmp(base, name, strlen(name)) == 0;
}

pid_t proc_read_pidfile(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld", &v) != 1 || v <= 0 || v > 4194304)
        v = 0;
    fclose(f);
    return (pid_t)v;
}

int proc_write_pidfile(const char *path, pid_t pid)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%d\n", (int)pid);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* A process that exited may stay a zombie until its parent (init, for a
 * server we started) reaps it; wait a little so that "stopped" means gone
 * to everyone who checks with kill(pid, 0). */
static void proc_wait_reaped(pid_t pid)
{
    for (int i = 0; i < 100 && kill(pid, 0) == 0; i++) {
        waitpid(pid, NULL, WNOHANG);
        proc_sleep_ms(20);
    }
}

bool proc_stop(pid_t pid, int sig, int64_t timeout_ms)
{
    int64_t deadline = time_mono_ms() + timeout_ms;
    if (!proc_alive(pid))
        return true;
    kill(pid, sig);
    kill(pid, SIGCONT);
    while (time_mono_ms() < deadline) {
        /* reap it if it happens to be our child */
        waitpid(pid, NULL, WNOHANG);
        if (!proc_alive(pid)) {
            proc_wait_reaped(pid);
            return true;
        }
        proc_sleep_ms(20);
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    for (int i = 0; i < 100 && proc_alive(pid); i++) {
        waitpid(pid, NULL, WNOHANG);
        proc_sleep_ms(20);
    }
    return !proc_alive(pid);
}
