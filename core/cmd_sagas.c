/* `opsdeck sagas list|show`: saga executions and their steps. */
#include <config.h>

#include "backends/pg_lists.h"
#include "core/action.h"
#include "core/listing.h"

static const struct command_flag cmd_sagas_list_flags[] = {
    {"--status", "S", "pending, running, completed, failed, compensating or compensated"},
    {"--saga", "ID", "only executions of saga ID"},
    {"--since", "DUR", "created within DUR (15m, 24h, 7d)"},
    {"--until", "TIME", "created before TIME (ISO 8601 or a DUR ago)"},
    {"--search", "TEXT", "TEXT in the id, saga, name, error or trace id"},
    LISTING_FLAGS,
    {NULL, NULL, NULL},
};

static const struct table_col cmd_sagas_cols[] = {
    {"EXECUTION", "execution_id", TABLE_TEXT, 40},
    {"SAGA", "saga_id", TABLE_TEXT, 24},
    {"STATUS", "status", TABLE_TEXT, 12},
    {"STEP", "current_step", TABLE_TEXT, 20},
    {"STARTED", "started_at", TABLE_TIME, 19},
    {"UPDATED", "updated_at", TABLE_TIME, 19},
    {"ERROR", "error", TABLE_TEXT, 60},
};

static enum status cmd_sagas_list_fetch(struct session *s, const struct command *cmd,
                                        const struct command_args *a, json_t **rows, char **next,
                                        struct error *err)
{
    struct listing l;
    enum status rc = listing_parse(cmd, a, &l, err);

    *rows = NULL;
    *next = NULL;
    if (rc != STATUS_OK)
        return rc;
    struct pg_list_query q = {
        .schema = session_schema(s),
        .status = command_arg(cmd, a, "--status"),
        .saga_id = command_arg(cmd, a, "--saga"),
        .search = command_arg(cmd, a, "--search"),
        .since_us = l.since_us,
        .until_us = l.until_us,
        .limit = l.limit,
        .after = l.after,
    };
    return pg_lists_sagas(session_pg(s), &q, rows, next, err);
}

static const struct command_flag cmd_sagas_show_flags[] = {
    {"--unmask", NULL, "show sensitive fields too (recorded in the audit log first)"},
    {NULL, NULL, NULL},
};

static enum status cmd_sagas_show_fetch(struct session *s, const char *id, json_t **item,
                                        struct error *err)
{
    return pg_lists_saga(session_pg(s), session_schema(s), id, item, err);
}

/* Unmasked data is returned only once the audit log says who saw it: the
 * read and the audit row are one statement. */
static enum status cmd_sagas_show_unmasked(struct session *s, const char *id, json_t **item,
                                           struct error *err)
{
    struct action_ident who;
    struct pg_action_ctx ctx;
    action_pg_ctx(s, &who, &ctx);
    enum status rc = pg_lists_saga_unmasked(session_pg(s), session_schema(s), id, &ctx, item, err);
    if (rc != STATUS_OK && rc != STATUS_NOT_FOUND)
        error_prefix(err, "cannot record the unmask in the audit log, so nothing is shown: ");
    return rc;
}

const struct command cmd_sagas_list_entry = {
    .name = "sagas list",
    .usage = "[--status S] [--saga ID] [--since DUR] [--search TEXT]",
    .summary = "saga executions, newest first",
    .help = "Lists saga executions newest first, a page at a time (keyset paging: a deep page "
            "costs what the first does).",
    .opts = cmd_sagas_list_flags,
    .max_args = 0,
    .run = listing_run,
    .fetch = cmd_sagas_list_fetch,
    .cols = cmd_sagas_cols,
    .ncols = sizeof(cmd_sagas_cols) / sizeof(cmd_sagas_cols[0]),
    .id_field = "execution_id",
    .show = "sagas show",
};

const struct command cmd_sagas_show_entry = {
    .name = "sagas show",
    .usage = "EXEC_ID [--unmask]",
    .summary = "one execution: steps, context (redacted), error",
    .help = "Shows one saga execution with its steps in order, its context with sensitive "
            "fields masked, and its error. --unmask shows the masked fields after recording "
            "who saw them in the audit log (saga.unmask); it needs the opsdeck_operator role.",
    .opts = cmd_sagas_show_flags,
    .min_args = 1,
    .max_args = 1,
    .run = listing_run_one,
    .fetch_one = cmd_sagas_show_fetch,
    .fetch_unmasked = cmd_sagas_show_unmasked,
};

static const struct command_flag cmd_sagas_abort_flags[] = {
    {"--reason", "TEXT", "why (required)"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

static const struct command_flag cmd_sagas_retry_flags[] = {
    {"--reason", "TEXT", "why"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

static enum status cmd_sagas_abort_run(struct session *s, const struct command *cmd,
                                       const struct command_args *a, struct error *err)
{
    struct pg_action_args args = {.text = command_arg(cmd, a, "--reason")};
    if (args.text == NULL || args.text[0] == '\0')
        return error_set(err, STATUS_USAGE, "sagas abort needs --reason TEXT; nothing changed");
    return action_run_pg(s, cmd, a, PG_ACTION_SAGA_ABORT, "abort", a->pos, 1, &args, err);
}

static enum status cmd_sagas_retry_run(struct session *s, const struct command *cmd,
                                       const struct command_args *a, struct error *err)
{
    struct pg_action_args args = {.step_id = a->pos[1], .text = command_arg(cmd, a, "--reason")};
    return action_run_pg(s, cmd, a, PG_ACTION_SAGA_RETRY_STEP, "retry a step of", a->pos, 1, &args,
                         err);
}

const struct command cmd_sagas_abort_entry = {
    .name = "sagas abort",
    .usage = "EXEC_ID --reason TEXT",
    .summary = "abort a running saga (it compensates)",
    .help = "Sends the abort signal to a pending or running saga, which then compensates its "
            "completed steps; audited with the reason. A finished saga is refused.",
    .flags = COMMAND_WRITES,
    .opts = cmd_sagas_abort_flags,
    .min_args = 1,
    .max_args = 1,
    .run = cmd_sagas_abort_run,
};

const struct command cmd_sagas_retry_entry = {
    .name = "sagas retry-step",
    .usage = "EXEC_ID STEP_ID [--reason TEXT]",
    .summary = "retry a failed step of a saga",
    .help = "Sends the retry_step signal for a failed step; audited. A step that did not fail, "
            "or a saga that finished, is refused.",
    .flags = COMMAND_WRITES,
    .opts = cmd_sagas_retry_flags,
    .min_args = 2,
    .max_args = 2,
    .run = cmd_sagas_retry_run,
};
