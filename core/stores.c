/* Private PostgreSQL and Redis servers for tests and the demo. The layout
 * of a stores folder:
 *   run/          unix sockets (.s.PGSQL.5432, redis.sock), mode 0700
 *   pg/           the PostgreSQL cluster (initdb on first start)
 *   redis/        Redis's working folder
 *   log/          initdb.log, postgres.log, redis.log (written by the servers' user)
 *   postgres.pid redis.pid watchdog.pid   "PID STARTTIME": what stop signals
 *   watchdog.log  the watchdog's complaints
 *   lock          serialises start and stop
 * The folder itself must be ours and writable by nobody else: everything
 * we (maybe root) write goes there, and the servers' user writes only in
 * the subfolders it owns. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/pg_conn.h"
#include "backends/redis_conn.h"
#include "core/stores.h"
#include "util/proc.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define STORES_PG_PORT "5432"
#define STORES_READY_MS 60000
#define STORES_STOP_MS 15000

char *stores_default_dir(void)
{
    /* Root's home is closed to the user the servers run as. */
    if (geteuid() == 0)
        return xstrdup("/var/lib/opsdeck/demo");
    const char *state = getenv("XDG_STATE_HOME");
    if (state != NULL && state[0] == '/')
        return xasprintf("%s/opsdeck/demo", state);
    const char *home = getenv("HOME");
    return xasprintf("%s/.local/state/opsdeck/demo", home != NULL && *home ? home : "/tmp");
}

static char *stores_path(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

char *stores_postgres_conninfo(const char *dir)
{
    /* libpq's quoting: the folder may hold blanks, quotes or backslashes */
    struct buf b;
    buf_init(&b);
    buf_adds(&b, "host='");
    for (const char *p = dir; *p; p++) {
        if (*p == '\'' || *p == '\\')
            buf_addc(&b, '\\');
        buf_addc(&b, *p);
    }
    buf_adds(&b, "/run' port=" STORES_PG_PORT " user=postgres dbname=postgres");
    return buf_take(&b);
}

char *stores_redis_url(const char *dir)
{
    return xasprintf("unix://%s/run/redis.sock", dir);
}

/* mkdir -p with mode for the last component. */
static int stores_mkdirs(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* The user the servers run as: ourselves, or when root a dedicated
 * unprivileged user: OPSDECK_STORES_USER, else "postgres" (Debian's
 * packages create it). Never a shared one like nobody: the private cluster
 * trusts every local connection its user can make. */
static enum status stores_user(struct proc_user *user, struct error *err)
{
    user->uid = (uid_t)-1;
    user->gid = (gid_t)-1;
    user->name = NULL;
    if (geteuid() != 0)
        return STATUS_OK;
    const char *name = getenv("OPSDECK_STORES_USER");
    if (name == NULL || *name == '\0')
        name = "postgres";
    struct passwd *pw = getpwnam(name);
    if (pw == NULL || pw->pw_uid == 0)
        return error_set(err, STATUS_USAGE,
                         "running as root, the servers need an unprivileged user of their own: "
                         "user %s does not exist (install postgresql, or set "
                         "OPSDECK_STORES_USER)", name);
    user->uid = pw->pw_uid;
    user->gid = pw->pw_gid;
    user->name = pw->pw_name;
    return STATUS_OK;
}

/* When the servers run as another user, every folder above dir must let
 * that user through, or initdb fails with a confusing message. */
static enum status stores_check_reachable(const char *dir, const struct proc_user *user,
                                          struct error *err)
{
    char tmp[PATH_MAX];
    if (user->uid == (uid_t)-1)
        return STATUS_OK;
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + strlen(tmp); p > tmp; p--) {
        if (*p != '/')
            continue;
        *p = '\0';
        struct stat st;
        if (tmp[0] != '\0' && stat(tmp, &st) == 0) {
            bool pass = (st.st_mode & S_IXOTH) || (st.st_uid == user->uid && (st.st_mode & S_IXUSR)) ||
                        (st.st_gid == user->gid && (st.st_mode & S_IXGRP));
            if (!pass)
                return error_set(err, STATUS_USAGE,
                                 "%s is not reachable by user %s, who runs the servers "
                                 "(chmod o+x %s, or choose another --dir)",
                                 dir, user->name, tmp);
        }
    }
    return STATUS_OK;
}

/* Everything we write lands in dir: it must be a real folder of ours that
 * nobody else can write, or another user could plant symlinks in it. */
static enum status stores_check_dir(const char *dir, struct error *err)
{
    struct stat st;
    if (lstat(dir, &st) != 0)
        return error_set(err, STATUS_USAGE, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return error_set(err, STATUS_USAGE, "%s is not a folder", dir);
    if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
        return error_set(err, STATUS_USAGE,
                         "%s must belong to you and be writable by nobody else "
                         "(owner %d, mode %03o)", dir, (int)st.st_uid,
                         (unsigned)(st.st_mode & 0777));
    return STATUS_OK;
}

static bool stores_own(const char *path, const struct proc_user *user)
{
    if (user->uid == (uid_t)-1)
        return true;
    return chown(path, user->uid, user->gid) == 0;
}

static char *stores_find_pg_bindir(void)
{
    const char *env = getenv("OPSDECK_PG_BINDIR");
    if (env != NULL && *env)
        return xstrdup(env);
    /* Debian keeps server binaries per major version; take the newest. */
    DIR *d = opendir("/usr/lib/postgresql");
    int best = 0;
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            int v = atoi(e->d_name);
            char probe[PATH_MAX];
            snprintf(probe, sizeof(probe), "/usr/lib/postgresql/%s/bin/initdb", e->d_name);
            if (v > best && access(probe, X_OK) == 0)
                best = v;
        }
        closedir(d);
    }
    if (best > 0)
        return xasprintf("/usr/lib/postgresql/%d/bin", best);
    const char *path = getenv("PATH");
    char *copy = xstrdup(path != NULL ? path : "/usr/bin:/bin");
    char *found = NULL;
    for (char *tok = strtok(copy, ":"); tok != NULL && found == NULL; tok = strtok(NULL, ":")) {
        char probe[PATH_MAX];
        snprintf(probe, sizeof(probe), "%s/initdb", tok);
        if (access(probe, X_OK) == 0)
            found = xstrdup(tok);
    }
    free(copy);
    return found;
}

static char *stores_find_program(const char *env_name, const char *name)
{
    const char *env = getenv(env_name);
    if (env != NULL && *env)
        return xstrdup(env);
    const char *path = getenv("PATH");
    char *copy = xasprintf("%s:/usr/bin:/usr/sbin", path != NULL ? path : "/bin");
    char *found = NULL;
    for (char *tok = strtok(copy, ":"); tok != NULL && found == NULL; tok = strtok(NULL, ":")) {
        char *probe = xasprintf("%s/%s", tok, name);
        if (access(probe, X_OK) == 0)
            found = probe;
        else
            free(probe);
    }
    free(copy);
    return found;
}

/* The pid in dir/name.pid when that process is alive and is prog. */
static pid_t stores_pid(const char *dir, const char *name, const char *prog)
{
    char *path = xasprintf("%s/%s.pid", dir, name);
    pid_t pid = proc_read_pidfile(path);
    free(path);
    return pid > 0 && proc_is(pid, prog) ? pid : 0;
}

bool stores_running(const char *dir)
{
    return stores_pid(dir, "postgres", "postgres") > 0 &&
           stores_pid(dir, "redis", "redis-server") > 0;
}

static int stores_lock(const char *dir, struct error *err)
{
    char *path = stores_path(dir, "lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    free(path);
    if (fd < 0) {
        error_set(err, STATUS_USAGE, "%s: %s", dir, strerror(errno));
        return -1;
    }
    /* Wait, boundedly, for another start or stop of the same folder. */
    int64_t deadline = time_mono_ms() + STORES_READY_MS;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            error_set(err, STATUS_USAGE, "%s: cannot lock: %s", dir, strerror(errno));
            close(fd);
            return -1;
        }
        if (time_mono_ms() > deadline) {
            error_set(err, STATUS_UNAVAILABLE, "%s: another opsdeck keeps its lock", dir);
            close(fd);
            return -1;
        }
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    return fd;
}

static enum status stores_initdb(const char *dir, const char *bindir,
                                 const struct proc_user *user, struct error *err)
{
    char *pgdata = stores_path(dir, "pg");
    char *version = stores_path(dir, "pg/PG_VERSION");
    char *initdb = xasprintf("%s/initdb", bindir);
    char *log = stores_path(dir, "log/initdb.log");
    enum status rc = STATUS_OK;

    if (access(version, F_OK) == 0)
        goto out;
    if (stores_mkdirs(pgdata, 0700) != 0 || !stores_own(pgdata, user)) {
        rc = error_set(err, STATUS_USAGE, "%s: %s", pgdata, strerror(errno));
        goto out;
    }
    char *argv[] = {initdb, "-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--locale=C", "--no-sync", NULL};
    int st = proc_run(argv, user, log, 120000);
    if (st != 0)
        rc = error_set(err, STATUS_UNAVAILABLE, "initdb failed (exit %d); see %s", st, log);
out:
    free(log);
    free(initdb);
    free(version);
    free(pgdata);
    return rc;
}

static bool stores_pg_ready(const char *dir)
{
    char *conninfo = stores_postgres_conninfo(dir);
    struct pg_conn_options o = {.conninfo = conninfo, .connect_timeout_ms = 2000,
                                .command_timeout_ms = 2000};
    struct pg_conn *c = pg_conn_new(&o);
    int64_t rtt;
    bool ok = pg_conn_ping(c, &rtt, NULL) == STATUS_OK;
    pg_conn_free(c);
    free(conninfo);
    return ok;
}

static bool stores_redis_ready(const char *dir)
{
    char *url = stores_redis_url(dir);
    struct redis_conn_options o = {.url = url, .connect_timeout_ms = 2000,
                                   .command_timeout_ms = 2000};
    struct redis_conn *c = NULL;
    int64_t rtt;
    bool ok = redis_conn_new(&o, &c, NULL) == STATUS_OK && redis_conn_ping(c, &rtt, NULL) == STATUS_OK;
    redis_conn_free(c);
    free(url);
    return ok;
}

/* Waits until ready() or the child exits or the deadline passes. */
static enum status stores_wait(const char *dir, pid_t pid, const char *what, const char *log,
                               bool (*ready)(const char *), struct error *err)
{
    int64_t deadline = time_mono_ms() + STORES_READY_MS;
    while (time_mono_ms() < deadline) {
        int st;
        /* Our child must be the one answering, not a stray old server. */
        if (waitpid(pid, &st, WNOHANG) == pid)
            return error_set(err, STATUS_UNAVAILABLE, "%s exited while starting; see %s", what, log);
        if (ready(dir)) {
            if (waitpid(pid, &st, WNOHANG) == pid)
                return error_set(err, STATUS_UNAVAILABLE,
                                 "%s exited while starting, and another server answers in "
                                 "%s; see %s", what, dir, log);
            return STATUS_OK;
        }
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    proc_stop(pid, SIGKILL, 1000);
    return error_set(err, STATUS_UNAVAILABLE, "%s did not answer within %ds; see %s", what,
                     STORES_READY_MS / 1000, log);
}

/* The live postmaster of dir/pg per its own postmaster.pid (first line the
 * pid, second the data folder), or 0. */
static pid_t stores_postmaster(const char *dir)
{
    char *path = stores_path(dir, "pg/postmaster.pid");
    char *pgdata = stores_path(dir, "pg");
    FILE *f = fopen(path, "r");
    char line1[64] = "", line2[4096] = "";
    pid_t pid = 0;
    if (f != NULL) {
        if (fgets(line1, sizeof(line1), f) != NULL && fgets(line2, sizeof(line2), f) != NULL) {
            line2[strcspn(line2, "\n")] = '\0';
            long v = strtol(line1, NULL, 10);
            if (v > 0 && strcmp(line2, pgdata) == 0 && proc_alive((pid_t)v) &&
                proc_is((pid_t)v, "postgres"))
                pid = (pid_t)v;
        }
        fclose(f);
    }
    free(pgdata);
    free(path);
    return pid;
}

static enum status stores_start_pg(const char *dir, const struct proc_user *user,
                                   struct error *err)
{
    char *bindir = stores_find_pg_bindir();
    char *postgres = NULL, *pgdata = stores_path(dir, "pg"), *run = stores_path(dir, "run");
    char *log = stores_path(dir, "log/postgres.log"), *pidfile = stores_path(dir, "postgres.pid");
    enum status rc;

    if (bindir == NULL) {
        rc = error_set(err, STATUS_USAGE,
                       "PostgreSQL server programs not found: install the Debian package "
                       "postgresql, or set OPSDECK_PG_BINDIR");
        goto out;
    }
    rc = stores_initdb(dir, bindir, user, err);
    if (rc != STATUS_OK)
        goto out;
    postgres = xasprintf("%s/postgres", bindir);
    /* A private, disposable cluster: durability traded for speed. */
    char *argv[] = {postgres, "-D", pgdata, "-k", run, "-p", STORES_PG_PORT,
                    "-c", "listen_addresses=", "-c", "unix_socket_permissions=0700",
                    "-c", "fsync=off", "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off", "-c", "max_connections=200",
                    "-c", "shared_buffers=128MB", NULL};
    pid_t pid = stores_postmaster(dir);
    if (pid > 0) {
        /* A server of this folder whose pid file we lost: take it back. */
        if (proc_write_pidfile(pidfile, pid) != 0)
            rc = error_set(err, STATUS_USAGE, "%s: %s", pidfile, strerror(errno));
        goto out;
    }
    pid = proc_spawn(argv, user, log);
    if (pid < 0) {
        rc = error_set(err, STATUS_UNAVAILABLE, "cannot start postgres: %s", strerror(errno));
        goto out;
    }
    /* Recorded at once, so an interrupted start still leaves it stoppable. */
    if (proc_write_pidfile(pidfile, pid) != 0) {
        proc_stop(pid, SIGINT, STORES_STOP_MS);
        rc = error_set(err, STATUS_USAGE, "%s: %s", pidfile, strerror(errno));
        goto out;
    }
    rc = stores_wait(dir, pid, "postgres", log, stores_pg_ready, err);
    if (rc != STATUS_OK) {
        proc_stop(pid, SIGINT, STORES_STOP_MS);
        unlink(pidfile);
    }
out:
    free(pidfile);
    free(log);
    free(run);
    free(pgdata);
    free(postgres);
    free(bindir);
    return rc;
}

static enum status stores_start_redis(const char *dir, const struct proc_user *user,
                                      struct error *err)
{
    char *server = stores_find_program("OPSDECK_REDIS_SERVER", "redis-server");
    char *data = stores_path(dir, "redis"), *sock = stores_path(dir, "run/redis.sock");
    char *log = stores_path(dir, "log/redis.log"), *pidfile = stores_path(dir, "redis.pid");
    enum status rc;

    if (server == NULL) {
        rc = error_set(err, STATUS_USAGE,
                       "redis-server not found: install the Debian package redis-server, "
                       "or set OPSDECK_REDIS_SERVER");
        goto out;
    }
    if (stores_mkdirs(data, 0700) != 0 || !stores_own(data, user)) {
        rc = error_set(err, STATUS_USAGE, "%s: %s", data, strerror(errno));
        goto out;
    }
    char *argv[] = {server, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
                    "--dir", data, "--daemonize", "no", "--save", "", "--appendonly", "no",
                    "--protected-mode", "yes", NULL};
    pid_t pid = proc_spawn(argv, user, log);
    if (pid < 0) {
        rc = error_set(err, STATUS_UNAVAILABLE, "cannot start redis-server: %s", strerror(errno));
        goto out;
    }
    if (proc_write_pidfile(pidfile, pid) != 0) {
        proc_stop(pid, SIGTERM, STORES_STOP_MS);
        rc = error_set(err, STATUS_USAGE, "%s: %s", pidfile, strerror(errno));
        goto out;
    }
    rc = stores_wait(dir, pid, "redis-server", log, stores_redis_ready, err);
    if (rc != STATUS_OK) {
        proc_stop(pid, SIGTERM, STORES_STOP_MS);
        unlink(pidfile);
    }
out:
    free(pidfile);
    free(log);
    free(sock);
    free(data);
    free(server);
    return rc;
}

/* Forks a process that outlives us and stops the servers once owner has
 * gone, however it went (even SIGKILL). It ends by itself when the servers
 * were stopped by someone else. */
static void stores_watch(const char *dir, pid_t owner)
{
    char *pidfile = stores_path(dir, "watchdog.pid");
    char *log = stores_path(dir, "watchdog.log");
    pid_t pid = fork();
    if (pid != 0) {
        if (pid > 0) {
            waitpid(pid, NULL, 0); /* the middle child exits at once */
        }
        free(log);
        free(pidfile);
        return;
    }
    /* Double fork: the watchdog is nobody's child we would have to reap. */
    setsid();
    if (fork() != 0)
        _exit(0);
    proc_close_from_3();
    int null = open("/dev/null", O_RDWR);
    int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(lfd >= 0 ? lfd : null, STDOUT_FILENO);
        dup2(lfd >= 0 ? lfd : null, STDERR_FILENO);
    }
    if (chdir("/") != 0)
        _exit(1);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    proc_write_pidfile(pidfile, getpid());
    for (;;) {
        struct timespec ts = {0, 200 * 1000000};
        nanosleep(&ts, NULL);
        if (!stores_running(dir) && stores_pid(dir, "postgres", "postgres") == 0 &&
            stores_pid(dir, "redis", "redis-server") == 0)
            break;
        if (!proc_alive(owner)) {
            struct error e;
            if (stores_stop(dir, &e) != STATUS_OK)
                fprintf(stderr, "opsdeck watchdog: %s\n", e.msg);
            break;
        }
    }
    unlink(pidfile);
    _exit(0);
}

enum status stores_start(const char *dir, pid_t owner, struct error *err)
{
    struct proc_user user;
    enum status rc;
    int lock = -1;
    char *run = stores_path(dir, "run"), *logdir = stores_path(dir, "log");
    char *sock = stores_path(dir, "run/.s.PGSQL." STORES_PG_PORT);

    if (dir[0] != '/') {
        rc = error_set(err, STATUS_USAGE, "--dir must be an absolute path: %s", dir);
        goto out;
    }
    if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        rc = error_set(err, STATUS_USAGE,
                       "%s is too long for a unix socket path; choose a shorter --dir", dir);
        goto out;
    }
    if ((rc = stores_user(&user, err)) != STATUS_OK)
        goto out;
    if (stores_mkdirs(dir, user.uid == (uid_t)-1 ? 0700 : 0711) != 0) {
        rc = error_set(err, STATUS_USAGE, "%s: %s", dir, strerror(errno));
        goto out;
    }
    if ((rc = stores_check_dir(dir, err)) != STATUS_OK ||
        (rc = stores_check_reachable(dir, &user, err)) != STATUS_OK)
        goto out;
    if ((lock = stores_lock(dir, err)) < 0) {
        rc = err->status;
        goto out;
    }
    if (stores_mkdirs(run, 0700) != 0 || !stores_own(run, &user) ||
        stores_mkdirs(logdir, 0750) != 0 || !stores_own(logdir, &user)) {
        rc = error_set(err, STATUS_USAGE, "%s: %s", dir, strerror(errno));
        goto out;
    }
    if (stores_pid(dir, "postgres", "postgres") == 0 &&
        (rc = stores_start_pg(dir, &user, err)) != STATUS_OK)
        goto out;
    if (stores_pid(dir, "redis", "redis-server") == 0 &&
        (rc = stores_start_redis(dir, &user, err)) != STATUS_OK)
        goto out;
    /* The watchdog must not inherit the lock, or stop would wait forever. */
    close(lock);
    lock = -1;
    if (owner > 0) {
        char *wpid = stores_path(dir, "watchdog.pid");
        pid_t w = proc_read_pidfile(wpid);
        free(wpid);
        if (!(w > 0 && proc_is(w, "opsdeck")))
            stores_watch(dir, owner);
    }
out:
    if (lock >= 0)
        close(lock);
    free(sock);
    free(logdir);
    free(run);
    return rc;
}

enum status stores_stop(const char *dir, struct error *err)
{
    static const struct {
        const char *name, *prog;
        int sig; /* PostgreSQL's fast shutdown is SIGINT */
    } servers[] = {{"postgres", "postgres", SIGINT}, {"redis", "redis-server", SIGTERM}};
    enum status rc = STATUS_OK;
    int lock = stores_lock(dir, err);

    if (lock < 0)
        return err->status;
    for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
        char *pidfile = xasprintf("%s/%s.pid", dir, servers[i].name);
        pid_t pid = stores_pid(dir, servers[i].name, servers[i].prog);
        if (pid > 0 && !proc_stop(pid, servers[i].sig, STORES_STOP_MS))
            rc = error_set(err, STATUS_UNAVAILABLE, "%s (pid %d) did not stop", servers[i].name,
                           (int)pid);
        else
            unlink(pidfile);
        free(pidfile);
    }
    char *wpid = stores_path(dir, "watchdog.pid");
    pid_t w = proc_read_pidfile(wpid);
    if (w > 0 && w != getpid() && proc_is(w, "opsdeck"))
        proc_stop(w, SIGTERM, 2000);
    free(wpid);
    close(lock);
    return rc;
}

/* Appends s single-quoted for a POSIX shell. */
static void stores_shell_quote(struct buf *out, const char *s)
{
    buf_addc(out, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            buf_adds(out, "'\\''");
        else
            buf_addc(out, *s);
    }
    buf_addc(out, '\'');
}

void stores_env(const char *dir, struct buf *out)
{
    char *conninfo = stores_postgres_conninfo(dir);
    char *url = stores_redis_url(dir);
    char *run = stores_path(dir, "run");
    char *sock = stores_path(dir, "run/redis.sock");
    const struct {
        const char *name, *value;
    } vars[] = {
        {"OPSDECK_POSTGRES", conninfo}, {"OPSDECK_REDIS", url}, {"PGHOST", run},
        {"PGPORT", STORES_PG_PORT},     {"PGUSER", "postgres"}, {"PGDATABASE", "postgres"},
        {"REDIS_SOCK", sock},           {"STORES_DIR", dir},
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        buf_addf(out, "export %s=", vars[i].name);
        stores_shell_quote(out, vars[i].value);
        buf_addc(out, '\n');
    }
    free(sock);
    free(run);
    free(url);
    free(conninfo);
}
