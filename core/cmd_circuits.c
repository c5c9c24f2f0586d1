/* `opsdeck circuits list|show`: circuit breakers and their states. */
#include <config.h>

#include "backends/redis_circuits.h"
#include "core/listing.h"

static const struct table_col cmd_circuits_cols[] = {
    {"CIRCUIT", "name", TABLE_TEXT, 32},
    {"STATE", "state", TABLE_TEXT, 10},
    {"FORCED", "forced_state", TABLE_TEXT, 8},
    {"FAILURES", "failure_count", TABLE_INT, 8},
    {"RATE", "failure_rate", TABLE_TEXT, 8},
    {"LAST FAILURE", "last_failure_time", TABLE_TIME, 19},
    {"LAST SUCCESS", "last_success_time", TABLE_TIME, 19},
};

static enum status cmd_circuits_list_run(struct session *s, const struct command *cmd,
                                         const struct command_args *a, struct error *err)
{
    (void)cmd;
    (void)a;
    struct redis_conn *c;
    json_t *rows = NULL;
    enum status rc = session_redis(s, &c, err);
    if (rc == STATUS_OK)
        rc = redis_circuits_list(c, config_str(s->cfg, OPTION_CIRCUIT_PREFIX), &rows, err);
    if (rc == STATUS_OK)
        listing_print(s, cmd_circuits_cols,
                      sizeof(cmd_circuits_cols) / sizeof(cmd_circuits_cols[0]), rows, NULL);
    return rc;
}

static enum status cmd_circuits_show_run(struct session *s, const struct command *cmd,
                                         const struct command_args *a, struct error *err)
{
    (void)cmd;
    struct redis_conn *c;
    json_t *item = NULL;
    enum status rc = session_redis(s, &c, err);
    if (rc == STATUS_OK)
        rc = redis_circuits_show(c, config_str(s->cfg, OPTION_CIRCUIT_PREFIX), a->pos[0], &item,
                                 err);
    if (rc == STATUS_OK)
        listing_print_one(s, item);
    return rc;
}

const struct command cmd_circuits_list_entry = {
    .name = "circuits list",
    .usage = "",
    .summary = "circuit breakers: state, failures, forced state",
    .help = "Lists every registered circuit breaker with its effective state (a forced state "
            "wins), counts, failure rate and last failure and success.",
    .max_args = 0,
    .run = cmd_circuits_list_run,
};

const struct command cmd_circuits_show_entry = {
    .name = "circuits show",
    .usage = "NAME",
    .summary = "one circuit breaker with its config",
    .help = "Shows one circuit breaker with every field and its config.",
    .min_args = 1,
    .max_args = 1,
    .run = cmd_circuits_show_run,
};
