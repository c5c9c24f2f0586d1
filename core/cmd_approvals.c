/* `opsdeck approvals list|show`: human-in-the-loop approvals. */
#include <config.h>

#include "backends/pg_lists.h"
#include "core/action.h"
#include "core/listing.h"

static const struct command_flag cmd_approvals_list_flags[] = {
    {"--status", "S", "pending, approved, rejected, expired or cancelled"},
    {"--overdue", NULL, "only pending approvals past their due time"},
    {"--since", "DUR", "requested within DUR"},
    {"--search", "TEXT", "TEXT in the id, workflow, title, requester or group"},
    LISTING_FLAGS,
    {NULL, NULL, NULL},
};

static const struct table_col cmd_approvals_cols[] = {
    {"APPROVAL", "approval_id", TABLE_TEXT, 32}, {"STATUS", "status", TABLE_TEXT, 10},
    {"DUE IN", "due_in_s", TABLE_SPAN, 10},      {"TITLE", "title", TABLE_TEXT, 40},
    {"GROUP", "assignee_group", TABLE_TEXT, 16}, {"REQUESTED", "requested_at", TABLE_TIME, 19},
    {"WORKFLOW", "workflow_id", TABLE_TEXT, 32},
};

static enum status cmd_approvals_list_fetch(struct session *s, const struct command *cmd,
                                            const struct command_args *a, json_t **rows,
                                            char **next, struct error *err)
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
        .overdue = command_arg(cmd, a, "--overdue") != NULL,
        .search = command_arg(cmd, a, "--search"),
        .since_us = l.since_us,
        .limit = l.limit,
        .after = l.after,
    };
    return pg_lists_approvals(session_pg(s), &q, rows, next, err);
}

static const struct command_flag cmd_approvals_show_flags[] = {
    {"--unmask", NULL, "show sensitive fields too (recorded in the audit log first)"},
    {NULL, NULL, NULL},
};

static enum status cmd_approvals_show_fetch(struct session *s, const char *id, json_t **item,
                                            struct error *err)
{
    return pg_lists_approval(session_pg(s), session_schema(s), id, item, err);
}

/* Unmasked data is returned only once the audit log says who saw it: the
 * read and the audit row are one statement. */
static enum status cmd_approvals_show_unmasked(struct session *s, const char *id, json_t **item,
                                               struct error *err)
{
    struct action_ident who;
    struct pg_action_ctx ctx;
    action_pg_ctx(s, &who, &ctx);
    enum status rc =
        pg_lists_approval_unmasked(session_pg(s), session_schema(s), id, &ctx, item, err);
    if (rc != STATUS_OK && rc != STATUS_NOT_FOUND)
        error_prefix(err, "cannot record the unmask in the audit log, so nothing is shown: ");
    return rc;
}

const struct command cmd_approvals_list_entry = {
    .name = "approvals list",
    .usage = "[--status S] [--overdue] [--search TEXT]",
    .summary = "approvals, pending and most urgent first",
    .help = "Lists approvals: pending ones first, the most urgent (earliest due) first, with "
            "the time left until due (negative when overdue).",
    .opts = cmd_approvals_list_flags,
    .max_args = 0,
    .run = listing_run,
    .fetch = cmd_approvals_list_fetch,
    .cols = cmd_approvals_cols,
    .ncols = sizeof(cmd_approvals_cols) / sizeof(cmd_approvals_cols[0]),
    .id_field = "approval_id",
    .show = "approvals show",
};

const struct command cmd_approvals_show_entry = {
    .name = "approvals show",
    .usage = "ID [--unmask]",
    .summary = "one approval: request data (redacted) and its workflow",
    .help = "Shows one approval with its request data (sensitive fields masked) and the saga "
            "of its workflow when there is one. --unmask shows the masked fields after "
            "recording who saw them in the audit log (approval.unmask); it needs the "
            "opsdeck_operator role.",
    .opts = cmd_approvals_show_flags,
    .min_args = 1,
    .max_args = 1,
    .run = listing_run_one,
    .fetch_one = cmd_approvals_show_fetch,
    .fetch_unmasked = cmd_approvals_show_unmasked,
};
