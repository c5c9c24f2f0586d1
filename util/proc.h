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

/* Forks and execs argv[0] (a path) in a new session, as user (when root),
 * stdin from /dev/null and stdout/stderr appended to log_path. The child
 * opens the log only after dropping privileges and never through a
 * symlink, and inherits no descriptor but 0-2. Returns the child's pid, or
 * -1 with errno set when fork fails; a failed exec exits 127. */
pid_t proc_spawn(char *const argv[], const struct proc_user *user, const char *log_path);

/* Runs argv like proc_spawn and waits up to timeout_ms; returns the exit
 * status (0..255), 128+signal, or -1 on timeout (the child is killed). */
int proc_run(char *const argv[], const struct proc_user *user, const char *log_path,
             int64_t timeout_ms);

/* True when pid exists and is not a zombie. */
bool proc_alive(pid_t pid);

/* True when the basename of pid's argv[0] starts with name (Linux /proc). */
bool proc_is(pid_t pid, const char *name);

/* The start time of pid in clock ticks since boot (/proc/PID/stat field
 * 22), or 0 when unknown. With the pid it names one process for good: a
 * recycled pid has another start time. */
uint64_t proc_start_time(pid_t pid);

/* Reads a pid file "PID STARTTIME": the pid when that very process is alive,
 * else 0. */
pid_t proc_read_pidfile(const char *path);

/* Writes "PID STARTTIME" to path (mode 0644), through a fresh temporary
 * file and rename, never following a symlink; 0 or -1. */
int proc_write_pidfile(const char *path, pid_t pid);

/* Stops pid: sends sig, with SIGCONT to it and its children so a frozen
 * process can act on it, and waits up to timeout_ms; then SIGKILLs it and
 * its children (and its process group when it leads one). Returns true
 * when it is gone. */
bool proc_stop(pid_t pid, int sig, int64_t timeout_ms);

/* Sends sig to every direct child of pid (found through /proc). */
void proc_signal_children(pid_t pid, int sig);

/* Closes every descriptor from 3 up: for a child about to exec or a
 * daemon, which must hold none of its parent's files. */
void proc_close_from_3(void);

#endif
