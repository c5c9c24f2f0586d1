/* `opsdeck circuits list|show`: circuit breakers and their states. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "backends/redis_circuits.h"
#include "core/action.h"
#include "core/listing.h"

/* Scripts read every breaker with one `circuits list` for registries of up
 * to this many; past it the next cursor is printed as for any list. */
#define CMD_CIRCUITS_LIMIT LISTING_MAX_LIMIT

static const struct command_flag cmd_circuits_list_flags[] = {
    {"--state", "S", "only breakers in effective state S: open, half_open or closed"},
    {"--order", "ORDER", "state (open, half_open, closed, then the rest; the default) or name"},
    LISTING_FLAGS_DEFAULT(CMD_CIRCUITS_LIMIT),
    {NULL, NULL, NULL},
};

static const struct table_col cmd_circuits_cols[] = {
    {"CIRCUIT", "name", TABLE_TEXT, 32},
    {"STATE", "state", TABLE_TEXT, 10},
    {"FORCED", "forced_state", TABLE_TEXT, 8},
    {"FAILURES", "failure_count", TABLE_INT, 8},
    {"RATE", "failure_rate", TABLE_TEXT, 8},
    {"LAST FAILURE", "last_failure_time", TABLE_TIME, 19},
    {"LAST SUCCESS", "last_success_time", TABLE_TIME, 19},
};

static enum status cmd_circuits_list_fetch(struct session *s, const struct command *cmd,
                                           const struct command_args *a, json_t **rows,
                                           char **next, struct error *err)
{
    struct listing l;
    struct redis_conn *c;
    const char *order = command_arg(cmd, a, "--order");
    enum status rc = listing_parse_default(cmd, a, CMD_CIRCUITS_LIMIT, &l, err);

    *rows = NULL;
    *next = NULL;
    if (rc != STATUS_OK)
        return rc;
    if (order != NULL && strcmp(order, "state") != 0 && strcmp(order, "name") != 0)
        return error_set(err, STATUS_USAGE, "--order: expected state or name; got '%s'", order);
    if ((rc = session_redis(s, &c, err)) != STATUS_OK)
        return rc;
    struct redis_circuits_query q = {
        .prefix = config_str(s->cfg, OPTION_CIRCUIT_PREFIX),
        .state = command_arg(cmd, a, "--state"),
        .by_name = order != NULL && strcmp(order, "name") == 0,
        .limit = l.limit,
        .after = l.after,
    };
    return redis_circuits_list(c, &q, rows, next, err);
}

static enum status cmd_circuits_show_fetch(struct session *s, const char *id, json_t **item,
                                           struct error *err)
{
    struct redis_conn *c;
    enum status rc = session_redis(s, &c, err);
    if (rc == STATUS_OK)
        rc = redis_circuits_show(c, config_str(s->cfg, OPTION_CIRCUIT_PREFIX), id, item, err);
    return rc;
}

const struct command cmd_circuits_list_entry = {
    .name = "circuits list",
    .usage = "[--state S] [--order state|name]",
    .summary = "circuit breakers: state, failures, forced state",
    .help = "Lists the registered circuit breakers with their effective state (a forced state "
            "wins), counts, failure rate and last failure and success: open first, then "
            "half_open, closed and the rest, each by name (--order name: by name only).",
    .opts = cmd_circuits_list_flags,
    .max_args = 0,
    .run = listing_run,
    .fetch = cmd_circuits_list_fetch,
    .cols = cmd_circuits_cols,
    .ncols = sizeof(cmd_circuits_cols) / sizeof(cmd_circuits_cols[0]),
    .id_field = "name",
    .show = "circuits show",
};

const struct command cmd_circuits_show_entry = {
    .name = "circuits show",
    .usage = "NAME",
    .summary = "one circuit breaker with its config",
    .help = "Shows one circuit breaker with every field and its config.",
    .min_args = 1,
    .max_args = 1,
    .run = listing_run_one,
    .fetch_one = cmd_circuits_show_fetch,
};

/* ---- actions ---- */

static const struct command_flag cmd_circuits_reason_flags[] = {
    {"--reason", "TEXT", "why (required for reset and force-open)"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

static enum status cmd_circuits_act(struct session *s, const struct command *cmd,
                                    const struct command_args *a,
                                    enum redis_circuit_action action, bool reason_required,
                                    struct error *err)
{
    struct redis_conn *c;
    const char *reason = command_arg(cmd, a, "--reason");
    enum status rc;
    if (reason_required && (reason == NULL || *reason == '\0'))
        return error_set(err, STATUS_USAGE, "'opsdeck %s' needs --reason TEXT; nothing changed",
                         cmd->name);
    if ((rc = session_redis(s, &c, err)) != STATUS_OK)
        return rc;
    struct action_ident ident;
    struct redis_action_ctx ctx;
    char *key;
    struct redis_action_result res = {0};
    action_redis_ctx(s, cmd, a, &ident, &ctx, &key, reason);
    rc = redis_actions_circuit(c, config_str(s->cfg, OPTION_CIRCUIT_PREFIX),
                               config_str(s->cfg, OPTION_DLQ_PREFIX), &ctx, a->pos[0], action,
                               &res, err);
    if (rc == STATUS_OK)
        rc = action_report_redis(s, &res, 1, err);
    redis_actions_results_done(&res, 1);
    free(key);
    return rc;
}

static enum status cmd_circuits_reset_run(struct session *s, const struct command *cmd,
                                          const struct command_args *a, struct error *err)
{
    return cmd_circuits_act(s, cmd, a, REDIS_CIRCUIT_RESET, true, err);
}

static enum status cmd_circuits_open_run(struct session *s, const struct command *cmd,
                                         const struct command_args *a, struct error *err)
{
    return cmd_circuits_act(s, cmd, a, REDIS_CIRCUIT_FORCE_OPEN, true, err);
}

static enum status cmd_circuits_release_run(struct session *s, const struct command *cmd,
                                            const struct command_args *a, struct error *err)
{
    return cmd_circuits_act(s, cmd, a, REDIS_CIRCUIT_RELEASE, false, err);
}

const struct command cmd_circuits_reset_entry = {
    .name = "circuits reset",
    .usage = "NAME --reason TEXT",
    .summary = "reset a breaker to closed",
    .help = "Clears a breaker's counts and forced state, sets it closed and tells the services "
            "on the control channel; audited.",
    .flags = COMMAND_WRITES,
    .opts = cmd_circuits_reason_flags,
    .min_args = 1,
    .max_args = 1,
    .run = cmd_circuits_reset_run,
};

const struct command cmd_circuits_force_open_entry = {
    .name = "circuits force-open",
    .usage = "NAME --reason TEXT",
    .summary = "isolate a dependency: force its breaker open",
    .help = "Forces a breaker open (forced_state, forced_by, forced_at, forced_reason) and tells "
            "the services on the control channel; audited. Refused when already forced open.",
    .flags = COMMAND_WRITES,
    .opts = cmd_circuits_reason_flags,
    .min_args = 1,
    .max_args = 1,
    .run = cmd_circuits_open_run,
};

const struct command cmd_circuits_release_entry = {
    .name = "circuits release",
    .usage = "NAME [--reason TEXT]",
    .summary = "release a forced breaker state",
    .help = "Clears a breaker's forced state; refused when none is set.",
    .flags = COMMAND_WRITES,
    .opts = cmd_circuits_reason_flags,
    .min_args = 1,
    .max_args = 1,
    .run = cmd_circuits_release_run,
};
