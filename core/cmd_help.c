/* `opsdeck help [VERB]`: the verb list, or one verb's usage. */
#include <config.h>

#include <stdio.h>

#include "core/cli.h"

static enum status cmd_help_run(struct session *s, const struct command *cmd,
                                const struct command_args *a, struct error *err)
{
    (void)s;
    (void)cmd;
    if (a->npos == 0) {
        cli_usage(stdout);
        return STATUS_OK;
    }
    size_t used;
    const struct command *c = command_find(a->pos, a->npos, &used);
    if (c == NULL && a->npos == 1 && command_is_group(a->pos[0])) {
        cli_usage_group(stdout, a->pos[0]);
        return STATUS_OK;
    }
    if (c == NULL || used != a->npos)
        return error_set(err, STATUS_USAGE, "no verb '%s'; see opsdeck help", a->pos[0]);
    cli_usage_command(stdout, c);
    return STATUS_OK;
}

const struct command cmd_help_entry = {
    .name = "help",
    .usage = "[VERB]",
    .summary = "list the verbs, or explain one",
    .help = "Prints the verbs, global flags and exit codes, or one verb's usage and flags.",
    .flags = COMMAND_NO_CONFIG,
    .min_args = 0,
    .max_args = 3,
    .run = cmd_help_run,
};
