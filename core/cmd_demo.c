/* `opsdeck demo`: private PostgreSQL and Redis in a folder of their own, the
 * schema, the simulator, and a view of it all; on exit it stops what it
 * started, and a watchdog and the simulator's parent-death signal do the
 * same when it is killed. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/pg_migrate.h"
#include "core/command.h"
#include "core/out.h"
#include "core/stores.h"
#include "util/buf.h"
#include "util/proc.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

extern char **environ;

/* The demo's replay routes: one queue of each kind, so every route has a
 * consumer in the simulator. */
static const char *const cmd_demo_routes[][2] = {
    {NULL, "publish"},
    {"orders.events", "list:queue:orders"},
    {"payments.events", "stream:stream:payments"},
};

static volatile sig_atomic_t cmd_demo_quit;

static void cmd_demo_on_signal(int sig)
{
    (void)sig;
    cmd_demo_quit = 1;
}

static const struct command_flag cmd_demo_flags[] = {
    {"--dir", "DIR", "the demo's folder (default $XDG_STATE_HOME/opsdeck/demo)"},
    {"--keep", NULL, "leave the servers and simulator running and print how to connect"},
    {"--stop", NULL, "stop a demo left running with --keep"},
    {"--rate", "N", "sagas the simulator starts per second (default 2)"},
    {"--seed", "N", "the simulator's seed"},
    {NULL, NULL, NULL},
};

static char *cmd_demo_path(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

/* Writes DIR/opsdeck.conf: the settings that reach the demo's stores,
 * for the simulator, for an attaching demo and for the operator. */
static enum status cmd_demo_write_config(const char *dir, struct error *err)
{
    char *conninfo = stores_postgres_conninfo(dir), *url = stores_redis_url(dir);
    char *path = cmd_demo_path(dir, "opsdeck.conf"), *tmp = cmd_demo_path(dir, ".opsdeck.conf");
    struct buf b;
    enum status rc = STATUS_OK;

    buf_init(&b);
    buf_addf(&b, "# Written by opsdeck demo: the settings of the demo's private stores.\n"
                   "# Use them with: export OPSDECK_CONFIG=%s\n"
                   "postgres = %s\nredis = %s\n",
               path, conninfo, url);
    for (size_t i = 0; i < sizeof(cmd_demo_routes) / sizeof(cmd_demo_routes[0]); i++) {
        if (cmd_demo_routes[i][0] == NULL)
            buf_addf(&b, "route = %s\n", cmd_demo_routes[i][1]);
        else
            buf_addf(&b, "route.%s = %s\n", cmd_demo_routes[i][0], cmd_demo_routes[i][1]);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf_get(&b), b.len) != (ssize_t)b.len || close(fd) != 0 ||
        rename(tmp, path) != 0)
        rc = error_set(err, STATUS_UNAVAILABLE, "cannot write %s: %s", path, strerror(errno));
    buf_done(&b);
    free(tmp);
    free(path);
    free(url);
    free(conninfo);
    return rc;
}

/* Points the session at the demo's stores, over whatever the user's own
 * configuration says. */
static enum status cmd_demo_configure(struct session *s, const char *dir, struct error *err)
{
    char *conninfo = stores_postgres_conninfo(dir), *url = stores_redis_url(dir);
    /* The operator's name, as every command works it out (SUDO_USER, USER). */
    config_finish(s->cfg);
    enum status rc = config_apply(s->cfg, OPTION_POSTGRES, conninfo, CONFIG_FLAG, "demo", err);
    if (rc == STATUS_OK)
        rc = config_apply(s->cfg, OPTION_REDIS, url, CONFIG_FLAG, "demo", err);
    if (rc == STATUS_OK)
        rc = config_apply(s->cfg, OPTION_REDIS_PASSWORD_FILE, "", CONFIG_FLAG, "demo", err);
    /* Nothing of the caller's environment points the demo at other
     * stores, but the theme is theirs (a --theme flag still wins). */
    const char *theme = getenv("OPSDECK_THEME");
    if (rc == STATUS_OK && theme != NULL && theme[0] != '\0')
        rc = config_apply(s->cfg, OPTION_THEME, theme, CONFIG_ENV, "OPSDECK_THEME", err);
    for (size_t i = 0; rc == STATUS_OK && i < sizeof(cmd_demo_routes) / sizeof(cmd_demo_routes[0]);
         i++) {
        char *item = cmd_demo_routes[i][0] == NULL
                         ? xstrdup(cmd_demo_routes[i][1])
                         : xasprintf("%s=%s", cmd_demo_routes[i][0], cmd_demo_routes[i][1]);
        rc = config_apply(s->cfg, OPTION_ROUTE, item, CONFIG_FLAG, "demo", err);
        free(item);
    }
    free(url);
    free(conninfo);
    return rc;
}

/* Starts the simulator: this very binary, `sim`, with the demo's config
 * file and nothing of the caller's OPSDECK_* environment, output to
 * DIR/sim.log. Unless kept, it gets SIGTERM when the demo dies, however
 * the demo dies; a kept one runs in a session of its own. */
static pid_t cmd_demo_spawn_sim(const struct command *cmd, const struct command_args *a,
                                const char *dir, bool keep, struct error *err)
{
    char *conf = cmd_demo_path(dir, "opsdeck.conf"), *log = cmd_demo_path(dir, "sim.log");
    const char *rate = command_arg(cmd, a, "--rate"), *seed = command_arg(cmd, a, "--seed");
    char *argv[12];
    int n = 0;
    pid_t parent = getpid();

    argv[n++] = "opsdeck";
    argv[n++] = "--config";
    argv[n++] = conf;
    argv[n++] = "sim";
    argv[n++] = "--name";
    argv[n++] = "demo-sim";
    if (rate != NULL) {
        argv[n++] = "--rate";
        argv[n++] = (char *)rate;
    }
    if (seed != NULL) {
        argv[n++] = "--seed";
        argv[n++] = (char *)seed;
    }
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid < 0) {
        error_set(err, STATUS_UNAVAILABLE, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        if (keep)
            setsid();
        else if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
            _exit(1);
        int fd = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 0);
            close(fd);
        }
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        proc_close_from_3();
        /* The demo's own settings, not the caller's. */
        for (char **e = environ; *e != NULL;) {
            if (strncmp(*e, "OPSDECK_", 8) == 0) {
                char *name = xstrdup(*e);
                *strchr(name, '=') = '\0';
                unsetenv(name);
                free(name);
            } else {
                e++;
            }
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
out:
    free(log);
    free(conf);
    return pid;
}

static void cmd_demo_clear(struct session *s)
{
    if (isatty(fileno(s->out)))
        fputs("\033[H\033[2J", s->out);
}

/* The console on a terminal; otherwise (output to a file or a pipe) the
 * status, refreshed at the refresh interval, until SIGINT, SIGTERM or
 * SIGHUP (or the simulator dies). */
static enum status cmd_demo_watch(struct session *s, const char *dir, pid_t sim, bool owner,
                                  struct error *err)
{
    if (s->console != NULL && isatty(STDIN_FILENO) && isatty(fileno(s->out))) {
        /* The console, until the operator quits it (or a signal ends it);
         * then the demo stops what it started. */
        struct error e = {STATUS_OK, ""};
        free(s->console_note);
        s->console_note = xasprintf("opsdeck demo in %s (%s); q %s", dir,
                                    owner ? "started here" : "attached",
                                    owner ? "stops it" : "leaves it running");
        enum status rc = s->console(s, &e);
        if (rc != STATUS_OK)
            error_set(err, rc, "%s", e.msg); /* said last, after the demo stops */
        return rc;
    }

    size_t n;
    const struct command *const *rows = command_table(&n);
    const struct command *status = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i]->name, "status") == 0)
            status = rows[i];
    int64_t every = config_ms(s->cfg, OPTION_REFRESH);

    while (!cmd_demo_quit) {
        struct command_args none = {0};
        struct error e = {0};
        cmd_demo_clear(s);
        out_printf(s, "opsdeck demo in %s (%s) - Ctrl-C %s\n\n", dir,
                   owner ? "started here" : "attached", owner ? "stops it" : "leaves it running");
        if (status->run(s, status, &none, &e) != STATUS_OK) {
            char *msg = out_safe(s, e.msg, 0);
            out_printf(s, "opsdeck: %s\n", msg);
            free(msg);
        }
        fflush(s->out);
        if (sim > 0 && owner && waitpid(sim, NULL, WNOHANG) == sim) {
            out_printf(s, "opsdeck: the simulator exited; see %s/sim.log\n", dir);
            return STATUS_UNAVAILABLE;
        }
        for (int64_t t = 0; t < every && !cmd_demo_quit; t += 100) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return STATUS_OK;
}

/* Stops the simulator recorded in DIR/sim.pid, if it runs. */
static void cmd_demo_stop_sim(const char *dir)
{
    char *pidfile = cmd_demo_path(dir, "sim.pid");
    pid_t pid = proc_read_pidfile(pidfile);
    if (pid > 0)
        proc_stop(pid, SIGTERM, 10000);
    unlink(pidfile);
    free(pidfile);
}

static void cmd_demo_print_keep(struct session *s, const char *dir)
{
    struct buf b;
    buf_init(&b);
    stores_env(dir, &b);
    out_printf(s, "demo running in %s and left running. To use it from this shell:\n\n"
                  "  export OPSDECK_CONFIG=%s/opsdeck.conf\n\n"
                  "or, for opsdeck, psql and redis-cli alike:\n\n%s\n"
                  "The simulator logs to %s/sim.log. Stop it all with:\n\n"
                  "  opsdeck demo --stop --dir %s\n",
               dir, dir, buf_get(&b), dir, dir);
    buf_done(&b);
}

static enum status cmd_demo_stop(struct session *s, const char *dir, struct error *err)
{
    char *owner_file = cmd_demo_path(dir, "demo.pid");
    pid_t owner = proc_read_pidfile(owner_file);
    bool running = stores_running(dir);
    enum status rc = STATUS_OK;

    /* A demo with its own console cleans up itself once told to. */
    if (owner > 0 && owner != getpid())
        proc_stop(owner, SIGTERM, 15000);
    cmd_demo_stop_sim(dir);
    unlink(owner_file);
    if (running)
        rc = stores_stop(dir, err);
    if (rc == STATUS_OK)
        out_printf(s, running ? "demo in %s stopped; its data stays\n"
                              : "no demo running in %s; nothing to stop\n",
                   dir);
    free(owner_file);
    return rc;
}

static enum status cmd_demo_run(struct session *s, const struct command *cmd,
                                const struct command_args *a, struct error *err)
{
    const char *dir_flag = command_arg(cmd, a, "--dir");
    char *dir = dir_flag != NULL ? xstrdup(dir_flag) : stores_default_dir();
    bool keep = command_arg(cmd, a, "--keep") != NULL;
    char *lock_path = NULL, *sim_file = NULL, *owner_file = NULL;
    int lock = -1;
    pid_t sim = 0;
    enum status rc;

    if (command_arg(cmd, a, "--stop") != NULL) {
        rc = cmd_demo_stop(s, dir, err);
        goto out;
    }
    struct sigaction sa = {.sa_handler = cmd_demo_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    cmd_demo_quit = 0;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        rc = error_set(err, STATUS_UNAVAILABLE, "cannot create %s: %s", dir, strerror(errno));
        goto out;
    }
    lock_path = cmd_demo_path(dir, "demo.lock");
    sim_file = cmd_demo_path(dir, "sim.pid");
    owner_file = cmd_demo_path(dir, "demo.pid");
    lock = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (lock < 0) {
        rc = error_set(err, STATUS_UNAVAILABLE, "cannot open %s: %s", lock_path, strerror(errno));
        goto out;
    }
    /* One demo per folder: the one holding the lock, or a kept one whose
     * simulator runs. Anyone else attaches. */
    bool busy = flock(lock, LOCK_EX | LOCK_NB) != 0;
    if (busy || proc_read_pidfile(sim_file) > 0) {
        if (busy) {
            close(lock);
            lock = -1;
        }
        if (!stores_running(dir)) {
            rc = error_set(err, STATUS_UNAVAILABLE, "a demo is starting in %s; try again in a "
                           "moment", dir);
            goto out;
        }
        if ((rc = cmd_demo_configure(s, dir, err)) != STATUS_OK)
            goto out;
        if (keep) {
            cmd_demo_print_keep(s, dir);
            goto out;
        }
        pid_t owner = proc_read_pidfile(owner_file);
        fprintf(stderr, "opsdeck: a demo is already running in %s (%s); attaching to it. "
                        "Leaving here leaves it running.\n",
                dir, owner > 0 ? "with its own console" : "kept; opsdeck demo --stop ends it");
        rc = cmd_demo_watch(s, dir, 0, false, err);
        goto out;
    }

    out_printf(s, "starting the demo's PostgreSQL and Redis in %s ...\n", dir);
    fflush(s->out);
    if ((rc = stores_start(dir, keep ? 0 : getpid(), err)) != STATUS_OK ||
        (rc = cmd_demo_write_config(dir, err)) != STATUS_OK ||
        (rc = cmd_demo_configure(s, dir, err)) != STATUS_OK)
        goto out;
    int applied = 0;
    if ((rc = pg_migrate_apply(session_pg(s), session_schema(s), &applied, err)) != STATUS_OK)
        goto stop;
    if (!keep && proc_write_pidfile(owner_file, getpid()) != 0) {
        rc = error_set(err, STATUS_UNAVAILABLE, "cannot write %s: %s", owner_file, strerror(errno));
        goto stop;
    }
    if ((sim = cmd_demo_spawn_sim(cmd, a, dir, keep, err)) < 0) {
        rc = err->status;
        goto stop;
    }
    proc_write_pidfile(sim_file, sim);
    if (keep) {
        cmd_demo_print_keep(s, dir);
        goto out;
    }
    rc = cmd_demo_watch(s, dir, sim, true, err);
stop:
    cmd_demo_clear(s);
    out_printf(s, "stopping the demo in %s ...\n", dir);
    if (sim > 0)
        proc_stop(sim, SIGTERM, 10000);
    unlink(sim_file);
    unlink(owner_file);
    {
        struct error e = {0};
        if (stores_stop(dir, &e) != STATUS_OK && rc == STATUS_OK)
            rc = error_set(err, e.status, "%s", e.msg);
    }
    if (rc == STATUS_OK)
        out_printf(s, "demo stopped; its data stays in %s (opsdeck demo starts it again)\n", dir);
out:
    if (lock >= 0)
        close(lock);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    free(owner_file);
    free(sim_file);
    free(lock_path);
    free(dir);
    return rc;
}

const struct command cmd_demo_entry = {
    .name = "demo",
    .usage = "[--dir DIR] [--keep | --stop] [--rate N] [--seed N]",
    .summary = "try opsdeck on private stores with a simulated engine",
    .help = "Starts a private PostgreSQL and Redis in a folder of their own (unix sockets only, "
            "nothing listens on the network), applies the schema, runs the simulator (see "
            "opsdeck sim --help) against them and opens the console on them. Quitting it, "
            "Ctrl-C, SIGTERM or a closed terminal stops everything it started; so does a killed demo, by its "
            "watchdog. A second opsdeck demo on the same folder attaches to the running one. "
            "--keep leaves servers and simulator running and prints the settings that reach "
            "them (an OPSDECK_CONFIG file, or environment variables); --stop ends a kept demo. "
            "As root the servers run as the postgres user.",
    .flags = COMMAND_NO_CONFIG,
    .opts = cmd_demo_flags,
    .reads_with = NULL,
    .min_args = 0,
    .max_args = 0,
    .run = cmd_demo_run,
};
