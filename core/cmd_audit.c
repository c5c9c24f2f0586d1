/* `opsdeck audit list`: every operator action, newest first. */
#include <config.h>

#include "backends/pg_lists.h"
#include "core/listing.h"

static const struct command_flag cmd_audit_list_flags[] = {
    {"--operator", "O", "only actions by operator O"},
    {"--action", "A", "only actions named A (approve, dlq.replay, ...)"},
    {"--since", "DUR", "within DUR"},
    {"--search", "TEXT", "TEXT in the operator, action, target, reason or detail"},
    LISTING_FLAGS,
    {NULL, NULL, NULL},
};

static const struct table_col cmd_audit_cols[] = {
    {"AT", "at", TABLE_TIME, 19},
    {"OPERATOR", "operator", TABLE_TEXT, 16},
    {"FROM", "client_addr", TABLE_TEXT, 16},
    {"ACTION", "action", TABLE_TEXT, 16},
    {"TARGET", "target_id", TABLE_TEXT, 32},
    {"OUTCOME", "outcome", TABLE_TEXT, 8},
    {"REASON", "reason", TABLE_TEXT, 50},
};

static enum status cmd_audit_list_run(struct session *s, const struct command *cmd,
                                      const struct command_args *a, struct error *err)
{
    struct listing l;
    enum status rc = listing_parse(cmd, a, &l, err);
    if (rc != STATUS_OK)
        return rc;
    struct pg_list_query q = {
        .schema = session_schema(s),
        .operator_ = command_arg(cmd, a, "--operator"),
        .action = command_arg(cmd, a, "--action"),
        .search = command_arg(cmd, a, "--search"),
        .since_us = l.since_us,
        .limit = l.limit,
        .after = l.after,
    };
    json_t *rows = NULL;
    char *next = NULL;
    rc = pg_lists_audit(session_pg(s), &q, &rows, &next, err);
    if (rc == STATUS_OK)
        listing_print(s, cmd_audit_cols, sizeof(cmd_audit_cols) / sizeof(cmd_audit_cols[0]),
                      rows, next);
    return rc;
}

const struct command cmd_audit_list_entry = {
    .name = "audit list",
    .usage = "[--operator O] [--action A] [--since DUR]",
    .summary = "operator actions, newest first",
    .help = "Lists the audit log of operator actions newest first: who, from where, when, "
            "what, target, reason and outcome.",
    .opts = cmd_audit_list_flags,
    .max_args = 0,
    .run = cmd_audit_list_run,
};
