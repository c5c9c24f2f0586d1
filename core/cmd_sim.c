/* `opsdeck sim`: runs the simulated workflow engine against the configured
 * stores until stopped, or fills them to given sizes with --populate. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/sim.h"
#include "core/cmd_sim.h"
#include "core/command.h"
#include "core/out.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

static volatile sig_atomic_t cmd_sim_stop;

static void cmd_sim_on_signal(int sig)
{
    (void)sig;
    cmd_sim_stop = 1;
}

static const struct command_flag cmd_sim_flags[] = {
    {"--rate", "N", "sagas started per second (default 2; other work scales with it)"},
    {"--failures", "P", "chance that a call fails, 0 to 1 (default 0.08; 0: none)"},
    {"--seed", "N", "repeat the same ids and choices (default: a new seed each run)"},
    {"--duration", "DUR", "stop after this long (default: until SIGINT or SIGTERM)"},
    {"--name", "NAME", "this engine's name in the log (default sim-PID)"},
    {"--populate", NULL, "fill the stores to the sizes below instead, then exit"},
    {"--dlq-events", "N", "with --populate: DLQ events (default 0)"},
    {"--sagas", "N", "with --populate: saga executions (default 0)"},
    {"--approvals", "N", "with --populate: approvals (default 0)"},
    {"--pending", "N", "with --populate: of the approvals, how many pending (default 10%)"},
    {"--schedules", "N", "with --populate: schedules (default 0)"},
    {"--circuits", "N", "with --populate: circuit breakers (default 0)"},
    {NULL, NULL, NULL},
};

/* A count flag: 0 to 1e9, with an optional k/M suffix (10M, 500k). */
static enum status cmd_sim_count(const struct command *cmd, const struct command_args *a,
                                 const char *flag, uint64_t *out, struct error *err)
{
    const char *v = command_arg(cmd, a, flag);
    if (v == NULL)
        return STATUS_OK;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (end != v && (*end == 'k' || *end == 'K') && end[1] == '\0')
        n *= 1000, end++;
    else if (end != v && *end == 'M' && end[1] == '\0')
        n *= 1000000, end++;
    if (*v == '-' || end == v || *end != '\0' || errno != 0 || n > 1000000000ULL)
        return error_set(err, STATUS_USAGE, "%s: expected a count like 1000, 500k or 10M, got '%s'",
                         flag, v);
    *out = n;
    return STATUS_OK;
}

enum status cmd_sim_options(struct session *s, const struct command *cmd,
                            const struct command_args *a, struct sim_options *o,
                            struct sim_route routes[], size_t nroutes_max, struct error *err)
{
    const char *rate = command_arg(cmd, a, "--rate"), *seed = command_arg(cmd, a, "--seed");
    const char *dur = command_arg(cmd, a, "--duration");
    const char *fail = command_arg(cmd, a, "--failures");
    const char *const *queues = sim_queues();
    size_t n = 0;

    memset(o, 0, sizeof(*o));
    o->schema = session_schema(s);
    o->dlq_prefix = config_str(s->cfg, OPTION_DLQ_PREFIX);
    o->circuit_prefix = config_str(s->cfg, OPTION_CIRCUIT_PREFIX);
    o->rate = 2.0;
    if (rate != NULL) {
        char *end;
        o->rate = strtod(rate, &end);
        if (end == rate || *end != '\0' || !(o->rate > 0.0 && o->rate <= 10000.0))
            return error_set(err, STATUS_USAGE, "--rate: expected 0.01 to 10000 sagas a second, "
                             "got '%s'", rate);
    }
    o->failures = 0.08;
    if (fail != NULL) {
        char *end;
        o->failures = strtod(fail, &end);
        if (end == fail || *end != '\0' || !(o->failures >= 0.0 && o->failures <= 1.0))
            return error_set(err, STATUS_USAGE, "--failures: expected a chance from 0 to 1, "
                             "got '%s'", fail);
    }
    if (seed != NULL) {
        char *end;
        errno = 0;
        o->seed = strtoull(seed, &end, 10);
        if (*seed == '-' || end == seed || *end != '\0' || errno != 0 || o->seed == 0)
            return error_set(err, STATUS_USAGE, "--seed: expected a positive number, got '%s'",
                             seed);
    }
    if (dur != NULL && (!time_parse_duration(dur, &o->duration_ms) || o->duration_ms <= 0))
        return error_set(err, STATUS_USAGE, "--duration: expected a duration like 30s or 5m, "
                         "got '%s'", dur);
    for (; queues[n] != NULL && n < nroutes_max; n++)
        routes[n] = (struct sim_route){queues[n], config_route_for(s->cfg, queues[n])};
    o->routes = routes;
    o->nroutes = n;
    o->log = stdout;
    return STATUS_OK;
}

static enum status cmd_sim_run(struct session *s, const struct command *cmd,
                               const struct command_args *a, struct error *err)
{
    struct sim_options o;
    struct sim_route routes[16];
    struct redis_conn *redis;
    enum status rc;
    const char *name = command_arg(cmd, a, "--name");
    char *instance = name != NULL ? xstrdup(name) : xasprintf("sim-%ld", (long)getpid());

    if ((rc = cmd_sim_options(s, cmd, a, &o, routes, 16, err)) != STATUS_OK ||
        (rc = session_redis(s, &redis, err)) != STATUS_OK)
        goto out;
    o.instance = instance;
    struct redis_conn_options ropt = {
        .url = config_str(s->cfg, OPTION_REDIS),
        .password_file = config_str(s->cfg, OPTION_REDIS_PASSWORD_FILE),
        .connect_timeout_ms = config_ms(s->cfg, OPTION_CONNECT_TIMEOUT),
        .command_timeout_ms = config_ms(s->cfg, OPTION_COMMAND_TIMEOUT),
    };
    o.redis_options = &ropt;

    struct sigaction sa = {.sa_handler = cmd_sim_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    cmd_sim_stop = 0;

    if (command_arg(cmd, a, "--populate") != NULL) {
        struct sim_sizes z = {0};
        bool pending_given = command_arg(cmd, a, "--pending") != NULL;
        if ((rc = cmd_sim_count(cmd, a, "--dlq-events", &z.dlq_events, err)) != STATUS_OK ||
            (rc = cmd_sim_count(cmd, a, "--sagas", &z.sagas, err)) != STATUS_OK ||
            (rc = cmd_sim_count(cmd, a, "--approvals", &z.approvals, err)) != STATUS_OK ||
            (rc = cmd_sim_count(cmd, a, "--pending", &z.approvals_pending, err)) != STATUS_OK ||
            (rc = cmd_sim_count(cmd, a, "--schedules", &z.schedules, err)) != STATUS_OK ||
            (rc = cmd_sim_count(cmd, a, "--circuits", &z.circuits, err)) != STATUS_OK)
            goto out;
        if (!pending_given)
            z.approvals_pending = z.approvals / 10;
        if (z.approvals_pending > z.approvals) {
            rc = error_set(err, STATUS_USAGE, "--pending (%" PRIu64 ") is more than --approvals "
                           "(%" PRIu64 "); nothing changed", z.approvals_pending, z.approvals);
            goto out;
        }
        o.log = stderr;
        rc = sim_populate(session_pg(s), redis, &o, &z, &cmd_sim_stop, err);
    } else {
        rc = sim_run(session_pg(s), redis, &o, &cmd_sim_stop, err);
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
out:
    free(instance);
    return rc;
}

const struct command cmd_sim_entry = {
    .name = "sim",
    .usage = "[--rate N] [--failures P] [--seed N] [--duration DUR] [--name NAME] | "
             "--populate [SIZES]",
    .summary = "play the workflow engine against the stores, or fill them",
    .help = "Plays the workflow engine that the store contract describes, through the same "
            "tables, functions, keys and channels a real engine uses: starts sagas (reserve "
            "inventory, charge payment, create shipment, notify) that retry, fail and "
            "compensate; requests approvals and continues or compensates once a decision's "
            "signal is consumed; runs schedules and honours pauses and resume times; "
            "dead-letters failing events and consumes replayed ones on every route; moves "
            "circuit breakers through closed, open and half-open. One line per event goes to "
            "standard output. Stops cleanly on SIGINT or SIGTERM. With --populate it instead "
            "fills the stores to the given sizes in bulk and exits.",
    .flags = COMMAND_WRITES,
    .opts = cmd_sim_flags,
    .min_args = 0,
    .max_args = 0,
    .run = cmd_sim_run,
};
