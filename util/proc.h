/* Child processes and pid files: spawning a server as another user,
 * waiting with a deadline, and stopping by pid only what is ours. */
#ifndef OPSDECK_UTIL_PROC_H
#define OPSDECK_UTIL_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Who a spawned process runs as; uid (uid_t)-1 means "as we are". */
struct proc_user {
    uid_t uid;
    gid_t gid;
    const char *name;
};

/* Forks and execs argv[0] (a path) in a new session, stdin from /dev/null
 * and stdout/stderr appended to log_path, as user (when root). Returns the
 * child's pid, or -1 with errno set when fork fails. A failed exec makes
 * the child exit 127 after writing the reason to the log. */
pid_t proc_spawn(char *const argv[], const struct proc_user *user, const char *log_path);

/* Runs argv like proc_spawn and waits up to timeout_ms; returns the exit
 * status (0..255), 128+signal, or -1 on timeout (the child is killed). */
int proc_run(char *const argv[], const struct proc_user *user, const char *log_path,
             int64_t timeout_ms);

/* True when pid exists and is not a zombie. */
bool proc_alive(pid_t pid);

/* True when the basename of pid's argv[0] starts with name (Linux /proc);
 * protects against signalling a recycled pid. */
bool proc_is(pid_t pid, const char *name);

/* Reads a pid file: the first line as a positive pid, else 0. */
pid_t proc_read_pidfile(const char *path);

/* Writes pid and a newline to path (mode 0644) atomically; 0 or -1. */
int proc_write_pidfile(const char *path, pid_t pid);

/* Sends sig to pid (SIGCONT first, so a stopped process can act on it)
 * and waits up to timeout_ms for it to go; then SIGKILLs its process group.
 * Returns true when it is gone. */
bool proc_stop(pid_t pid, int sig, int64_t timeout_ms);

#endif
