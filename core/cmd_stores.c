/* `opsdeck stores start|stop|env`: private PostgreSQL and Redis servers for
 * trying opsdeck out and for the test harness. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "core/command.h"
#include "core/out.h"
#include "core/stores.h"
#include "util/xmalloc.h"

static const struct command_flag cmd_stores_start_flags[] = {
    {"--dir", "DIR", "the stores' folder (default $XDG_STATE_HOME/opsdeck/demo)"},
    {"--watch", "PID", "stop the servers once process PID has exited"},
    {NULL, NULL, NULL},
};

static const struct command_flag cmd_stores_flags[] = {
    {"--dir", "DIR", "the stores' folder (default $XDG_STATE_HOME/opsdeck/demo)"},
    {NULL, NULL, NULL},
};

static char *cmd_stores_dir(const struct command *cmd, const struct command_args *a)
{
    const char *dir = command_arg(cmd, a, "--dir");
    return dir != NULL ? xstrdup(dir) : stores_default_dir();
}

static enum status cmd_stores_start_run(struct session *s, const struct command *cmd,
                                        const struct command_args *a, struct error *err)
{
    char *dir = cmd_stores_dir(cmd, a);
    const char *watch = command_arg(cmd, a, "--watch");
    long owner = 0;

    if (watch != NULL) {
        char *end;
        owner = strtol(watch, &end, 10);
        if (*end != '\0' || owner <= 0) {
            free(dir);
            return error_set(err, STATUS_USAGE, "--watch: expected a process id, got '%s'", watch);
        }
    }
    enum status rc = stores_start(dir, (pid_t)owner, err);
    if (rc == STATUS_OK)
        out_printf(s, "stores running in %s; to use them:\n  eval \"$(opsdeck stores env --dir %s)\"\n",
                   dir, dir);
    free(dir);
    return rc;
}

static enum status cmd_stores_stop_run(struct session *s, const struct command *cmd,
                                       const struct command_args *a, struct error *err)
{
    char *dir = cmd_stores_dir(cmd, a);
    enum status rc = stores_stop(dir, err);
    if (rc == STATUS_OK)
        out_printf(s, "stores in %s stopped; their data stays\n", dir);
    free(dir);
    return rc;
}

static enum status cmd_stores_env_run(struct session *s, const struct command *cmd,
                                      const struct command_args *a, struct error *err)
{
    char *dir = cmd_stores_dir(cmd, a);
    enum status rc = STATUS_OK;
    struct buf b;

    buf_init(&b);
    if (!stores_running(dir)) {
        rc = error_set(err, STATUS_UNAVAILABLE, "no stores running in %s; start them with "
                       "opsdeck stores start --dir %s", dir, dir);
    } else {
        stores_env(dir, &b);
        out_printf(s, "%s", buf_get(&b));
    }
    buf_done(&b);
    free(dir);
    return rc;
}

const struct command cmd_stores_start_entry = {
    .name = "stores start",
    .usage = "[--dir DIR] [--watch PID]",
    .summary = "start private PostgreSQL and Redis servers (unix sockets only)",
    .help = "Starts a private PostgreSQL and Redis in DIR, on unix sockets only, creating the "
            "cluster on first use; as root the servers run as the postgres (or nobody) user. "
            "Running it again while they run changes nothing. The data is disposable: the "
            "servers run without fsync.",
    .flags = COMMAND_NO_CONFIG,
    .opts = cmd_stores_start_flags,
    .max_args = 0,
    .run = cmd_stores_start_run,
};

const struct command cmd_stores_stop_entry = {
    .name = "stores stop",
    .usage = "[--dir DIR]",
    .summary = "stop the private servers by their pids",
    .help = "Stops the private servers of DIR by their pids (and their watchdog); the data "
            "stays for the next start.",
    .flags = COMMAND_NO_CONFIG,
    .opts = cmd_stores_flags,
    .max_args = 0,
    .run = cmd_stores_stop_run,
};

const struct command cmd_stores_env_entry = {
    .name = "stores env",
    .usage = "[--dir DIR]",
    .summary = "print shell settings that point opsdeck at the private servers",
    .help = "Prints export lines for OPSDECK_POSTGRES, OPSDECK_REDIS and the PG* variables of "
            "psql, to use with eval.",
    .flags = COMMAND_NO_CONFIG,
    .opts = cmd_stores_flags,
    .max_args = 0,
    .run = cmd_stores_env_run,
};
