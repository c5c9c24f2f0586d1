/* `opsdeck approve|reject ID...`: deciding human-in-the-loop approvals. */
#include <config.h>

#include "core/action.h"

static const struct command_flag cmd_approve_flags[] = {
    {"--note", "TEXT", "a note kept with the decision"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

static const struct command_flag cmd_reject_flags[] = {
    {"--reason", "TEXT", "why (required)"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

static enum status cmd_approve_run(struct session *s, const struct command *cmd,
                                   const struct command_args *a, struct error *err)
{
    struct pg_action_args args = {.text = command_arg(cmd, a, "--note")};
    return action_run_pg(s, cmd, a, PG_ACTION_APPROVE, "approve", a->pos, a->npos, &args, err);
}

static enum status cmd_reject_run(struct session *s, const struct command *cmd,
                                  const struct command_args *a, struct error *err)
{
    struct pg_action_args args = {.text = command_arg(cmd, a, "--reason")};
    if (args.text == NULL || args.text[0] == '\0')
        return error_set(err, STATUS_USAGE, "reject needs --reason TEXT; nothing changed");
    return action_run_pg(s, cmd, a, PG_ACTION_REJECT, "reject", a->pos, a->npos, &args, err);
}

const struct command cmd_approve_entry = {
    .name = "approve",
    .usage = "ID... [--note TEXT]",
    .summary = "approve pending approvals",
    .help = "Approves each pending approval exactly once and signals its workflow, in one "
            "transaction with the audit row. A decided approval is refused (exit 1) naming who "
            "decided it and when; an unknown one is exit 4. Several ids are a bulk action.",
    .flags = COMMAND_WRITES,
    .opts = cmd_approve_flags,
    .min_args = 1,
    .max_args = 10000,
    .run = cmd_approve_run,
};

const struct command cmd_reject_entry = {
    .name = "reject",
    .usage = "ID... --reason TEXT",
    .summary = "reject pending approvals (reason required)",
    .help = "Rejects each pending approval exactly once with the reason and signals its "
            "workflow, which compensates; refusals as for approve.",
    .flags = COMMAND_WRITES,
    .opts = cmd_reject_flags,
    .min_args = 1,
    .max_args = 10000,
    .run = cmd_reject_run,
};
