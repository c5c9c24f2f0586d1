/* Child processes and pid files. */
#include <config.h>

#include <dirent.h>
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

void proc_close_from_3(void)
{
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < max; fd++)
        close(fd);
}

/* Between fork and exec: only what a child needs, in the order that keeps
 * privileges from leaking (drop them before touching the log). */
static void proc_child(char *const argv[], const struct proc_user *user, const char *log_path)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    proc_close_from_3();
    setsid();
    if (user != NULL && user->uid != (uid_t)-1 && geteuid() == 0) {
        if (setgroups(0, NULL) != 0 || setgid(user->gid) != 0 || setuid(user->uid) != 0)
            _exit(127);
    }
    int null = open("/dev/null", O_RDONLY);
    int log = open(log_path != NULL ? log_path : "/dev/null",
                   O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0640);
    if (null < 0 || log < 0)
        _exit(127);
    dup2(null, STDIN_FILENO);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    if (null > 2)
        close(null);
    if (log > 2)
        close(log);
    execv(argv[0], argv);
    static const char msg[] = "opsdeck: cannot run the server program\n";
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
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
            kill(-pid, SIGKILL); /* the child leads its own session */
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

uint64_t proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    /* after "(comm)": state is field 3; starttime is field 22 */
    p += 2;
    for (int field = 3; field < 22 && p != NULL; field++) {
        p = strchr(p, ' ');
        if (p != NULL)
            p++;
    }
    return p != NULL ? strtoull(p, NULL, 10) : 0;
}

pid_t proc_read_pidfile(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    char buf[64];
    long pid = 0;
    unsigned long long start = 0;
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    if (sscanf(buf, "%ld %llu", &pid, &start) != 2 || pid <= 0 || pid > 4194304)
        return 0;
    if (!proc_alive((pid_t)pid) || proc_start_time((pid_t)pid) != start)
        return 0;
    return (pid_t)pid;
}

int proc_write_pidfile(const char *path, pid_t pid)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -1;
    dprintf(fd, "%d %llu\n", (int)pid, (unsigned long long)proc_start_time(pid));
    fchmod(fd, 0644);
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

void proc_signal_children(pid_t pid, int sig)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[512];
        long child = strtol(e->d_name, NULL, 10);
        if (child <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        int ppid = 0;
        if (p != NULL && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == (int)pid)
            kill((pid_t)child, sig);
    }
    closedir(d);
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
    /* A frozen server's children (PostgreSQL's backends, each in a session
     * of its own) must run again to exit. */
    proc_signal_children(pid, SIGCONT);
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
    proc_signal_children(pid, SIGKILL);
    if (getpgid(pid) == pid)
        kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    for (int i = 0; i < 100 && proc_alive(pid); i++) {
        waitpid(pid, NULL, WNOHANG);
        proc_sleep_ms(20);
    }
    return !proc_alive(pid);
}
