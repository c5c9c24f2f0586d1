/* `opsdeck schedules list|show`: schedules and their paused state. */
#include <config.h>

#include "backends/pg_lists.h"
#include "core/listing.h"

static const struct command_flag cmd_schedules_list_flags[] = {
    {"--paused", NULL, "only paused schedules"},
    {"--search", "TEXT", "TEXT in the id, workflow type or pause note"},
    LISTING_FLAGS,
    {NULL, NULL, NULL},
};

static const struct table_col cmd_schedules_cols[] = {
    {"SCHEDULE", "schedule_id", TABLE_TEXT, 32},
    {"WORKFLOW", "workflow_type", TABLE_TEXT, 24},
    {"SPEC", "cron_expressions", TABLE_TEXT, 24},
    {"EVERY", "interval_seconds", TABLE_SPAN, 8},
    {"PAUSED", "paused", TABLE_TEXT, 6},
    {"NEXT RUN", "next_run_at", TABLE_TIME, 19},
    {"LAST", "last_run_status", TABLE_TEXT, 10},
    {"NOTE", "pause_note", TABLE_TEXT, 40},
};

static enum status cmd_schedules_list_run(struct session *s, const struct command *cmd,
                                          const struct command_args *a, struct error *err)
{
    struct listing l;
    enum status rc = listing_parse(cmd, a, &l, err);
    if (rc != STATUS_OK)
        return rc;
    struct pg_list_query q = {
        .schema = session_schema(s),
        .paused = command_arg(cmd, a, "--paused") != NULL,
        .search = command_arg(cmd, a, "--search"),
        .limit = l.limit,
        .after = l.after,
    };
    json_t *rows = NULL;
    char *next = NULL;
    rc = pg_lists_schedules(session_pg(s), &q, &rows, &next, err);
    if (rc == STATUS_OK)
        listing_print(s, cmd_schedules_cols,
                      sizeof(cmd_schedules_cols) / sizeof(cmd_schedules_cols[0]), rows, next);
    return rc;
}

static enum status cmd_schedules_show_run(struct session *s, const struct command *cmd,
                                          const struct command_args *a, struct error *err)
{
    (void)cmd;
    json_t *item = NULL;
    enum status rc = pg_lists_schedule(session_pg(s), session_schema(s), a->pos[0], &item, err);
    if (rc == STATUS_OK)
        listing_print_one(s, item);
    return rc;
}

const struct command cmd_schedules_list_entry = {
    .name = "schedules list",
    .usage = "[--paused] [--search TEXT]",
    .summary = "schedules: spec, paused state, next and last run",
    .help = "Lists schedules by id with their cron or interval spec, overlap policy, paused "
            "state and note, and next and last run.",
    .opts = cmd_schedules_list_flags,
    .max_args = 0,
    .run = cmd_schedules_list_run,
};

const struct command cmd_schedules_show_entry = {
    .name = "schedules show",
    .usage = "ID",
    .summary = "one schedule",
    .help = "Shows one schedule with every field.",
    .min_args = 1,
    .max_args = 1,
    .run = cmd_schedules_show_run,
};
