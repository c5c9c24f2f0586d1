/* `opsdeck schedules list|show`: schedules and their paused state. */
#include <config.h>

#include <stdlib.h>

#include "backends/pg_lists.h"
#include "core/action.h"
#include "core/listing.h"
#include "core/out.h"
#include "util/xmalloc.h"
#include "util/timeutil.h"

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

static enum status cmd_schedules_list_fetch(struct session *s, const struct command *cmd,
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
        .paused = command_arg(cmd, a, "--paused") != NULL,
        .search = command_arg(cmd, a, "--search"),
        .limit = l.limit,
        .after = l.after,
    };
    return pg_lists_schedules(session_pg(s), &q, rows, next, err);
}

static enum status cmd_schedules_show_fetch(struct session *s, const char *id, json_t **item,
                                            struct error *err)
{
    return pg_lists_schedule(session_pg(s), session_schema(s), id, item, err);
}

const struct command cmd_schedules_list_entry = {
    .name = "schedules list",
    .usage = "[--paused] [--search TEXT]",
    .summary = "schedules: spec, paused state, next and last run",
    .help = "Lists schedules by id with their cron or interval spec, overlap policy, paused "
            "state and note, and next and last run.",
    .opts = cmd_schedules_list_flags,
    .max_args = 0,
    .run = listing_run,
    .fetch = cmd_schedules_list_fetch,
    .cols = cmd_schedules_cols,
    .ncols = sizeof(cmd_schedules_cols) / sizeof(cmd_schedules_cols[0]),
    .id_field = "schedule_id",
    .show = "schedules show",
};

const struct command cmd_schedules_show_entry = {
    .name = "schedules show",
    .usage = "ID",
    .summary = "one schedule",
    .help = "Shows one schedule with every field.",
    .min_args = 1,
    .max_args = 1,
    .run = listing_run_one,
    .fetch_one = cmd_schedules_show_fetch,
};

static const struct command_flag cmd_schedules_pause_flags[] = {
    {"--note", "TEXT", "why (required)"},
    {"--all", NULL, "every unpaused schedule matching --search (a maintenance window)"},
    {"--search", "TEXT", "with --all: TEXT in the id, workflow type or pause note"},
    {"--until", "TIME", "resume by itself at TIME (ISO 8601, or a DUR from now)"},
    {"--dry-run", NULL, "with --all: say which schedules it would pause, change nothing"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

static const struct command_flag cmd_schedules_resume_flags[] = {
    {"--note", "TEXT", "a note for the audit log"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

static const struct command_flag cmd_schedules_trigger_flags[] = {
    {"--overlap", "POLICY", "skip, buffer_one, buffer_all, cancel_other or allow_all"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

static const struct command_flag cmd_schedules_backfill_flags[] = {
    {"--from", "TIME", "start of the range (required)"},
    {"--to", "TIME", "end of the range (required)"},
    {"--overlap", "POLICY", "skip, buffer_one, buffer_all, cancel_other or allow_all"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

/* TIME as the command line takes it, for the server: ISO 8601 UTC. A
 * duration means that long from now (a future time, unlike --since). */
static enum status cmd_schedules_time(const char *flag, const char *text, char *out, size_t size,
                                      struct error *err)
{
    int64_t us, ms;
    if (!time_parse_iso(text, &us)) {
        if (!time_parse_duration(text, &ms))
            return error_set(err, STATUS_USAGE, "%s: expected an ISO 8601 time or a duration, "
                             "got '%s'", flag, text);
        us = time_now_us() + ms * 1000;
    }
    time_format_iso(us, out, size);
    return STATUS_OK;
}

/* The ids of every unpaused schedule matching --search, for --all. */
static enum status cmd_schedules_collect(struct session *s, const char *search, char ***ids,
                                         size_t *n, struct error *err)
{
    char *cursor = NULL;
    size_t cap = 0;
    enum status rc = STATUS_OK;
    *ids = NULL;
    *n = 0;
    for (;;) {
        struct pg_list_query q = {.schema = session_schema(s), .search = search, .limit = 1000,
                                  .after = cursor};
        json_t *rows = NULL;
        char *next = NULL;
        if ((rc = pg_lists_schedules(session_pg(s), &q, &rows, &next, err)) != STATUS_OK)
            break;
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
            const char *id = json_string_value(json_object_get(row, "schedule_id"));
            if (id == NULL || json_is_true(json_object_get(row, "paused")))
                continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 256;
                *ids = xreallocarray(*ids, cap, sizeof(**ids));
            }
            (*ids)[(*n)++] = xstrdup(id);
        }
        json_decref(rows);
        free(cursor);
        cursor = next;
        if (cursor == NULL)
            break;
    }
    free(cursor);
    return rc;
}

/* What --all --dry-run says: the schedules it would act on, and how many
 * (as JSON {dry_run, count, items} with --json), changing nothing. */
static void cmd_schedules_dry(struct session *s, const char *what, const char *const *ids,
                              size_t n)
{
    if (s->json) {
        json_t *items = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(items, json_pack("{s:s}", "schedule_id", ids[i]));
        out_json(s, json_pack("{s:b, s:I, s:o}", "dry_run", 1, "count", (json_int_t)n, "items",
                              items));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *id = out_safe(s, ids[i], 0);
        out_printf(s, "would be %s: %s\n", what, id);
        free(id);
    }
    out_printf(s, "%zu schedule%s would be %s; nothing changed\n", n, n == 1 ? "" : "s", what);
}

static enum status cmd_schedules_pause_run(struct session *s, const struct command *cmd,
                                           const struct command_args *a, struct error *err)
{
    char until[40];
    struct pg_action_args args = {.text = command_arg(cmd, a, "--note")};
    const char *u = command_arg(cmd, a, "--until");
    bool all = command_arg(cmd, a, "--all") != NULL;
    bool dry = command_arg(cmd, a, "--dry-run") != NULL;
    enum status rc;
    if (dry && !all)
        return error_set(err, STATUS_USAGE, "--dry-run goes with --all; nothing changed");
    if (!dry && (args.text == NULL || args.text[0] == '\0'))
        return error_set(err, STATUS_USAGE, "schedules pause needs --note TEXT; nothing changed");
    if (all == (a->npos > 0))
        return error_set(err, STATUS_USAGE, "schedules pause takes schedule ids or --all; "
                         "nothing changed");
    if (u != NULL) {
        rc = cmd_schedules_time("--until", u, until, sizeof(until), err);
        if (rc != STATUS_OK)
            return rc;
        args.time1 = until;
    }
    if (!all)
        return action_run_pg(s, cmd, a, PG_ACTION_SCHEDULE_PAUSE, "pause", a->pos, a->npos,
                             &args, err);
    char **ids = NULL;
    size_t n = 0;
    rc = cmd_schedules_collect(s, command_arg(cmd, a, "--search"), &ids, &n, err);
    if (rc == STATUS_OK && dry)
        cmd_schedules_dry(s, "paused", (const char *const *)ids, n);
    else if (rc == STATUS_OK && n == 0)
        out_printf(s, "no unpaused schedule matches; nothing changed\n");
    else if (rc == STATUS_OK)
        rc = action_run_pg_bulk(s, cmd, a, PG_ACTION_SCHEDULE_PAUSE, "pause",
                                (const char *const *)ids, n, &args, err);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

static enum status cmd_schedules_resume_run(struct session *s, const struct command *cmd,
                                            const struct command_args *a, struct error *err)
{
    struct pg_action_args args = {.text = command_arg(cmd, a, "--note")};
    return action_run_pg(s, cmd, a, PG_ACTION_SCHEDULE_RESUME, "resume", a->pos, a->npos, &args,
                         err);
}

static enum status cmd_schedules_trigger_run(struct session *s, const struct command *cmd,
                                             const struct command_args *a, struct error *err)
{
    struct pg_action_args args = {.overlap = command_arg(cmd, a, "--overlap")};
    return action_run_pg(s, cmd, a, PG_ACTION_SCHEDULE_TRIGGER, "trigger", a->pos, 1, &args,
                         err);
}

static enum status cmd_schedules_backfill_run(struct session *s, const struct command *cmd,
                                              const struct command_args *a, struct error *err)
{
    char from[40], to[40];
    const char *f = command_arg(cmd, a, "--from"), *t = command_arg(cmd, a, "--to");
    enum status rc;
    if (f == NULL || t == NULL)
        return error_set(err, STATUS_USAGE, "schedules backfill needs --from TIME and --to TIME; "
                         "nothing changed");
    if ((rc = cmd_schedules_time("--from", f, from, sizeof(from), err)) != STATUS_OK ||
        (rc = cmd_schedules_time("--to", t, to, sizeof(to), err)) != STATUS_OK)
        return rc;
    struct pg_action_args args = {.overlap = command_arg(cmd, a, "--overlap"), .time1 = from,
                                  .time2 = to};
    return action_run_pg(s, cmd, a, PG_ACTION_SCHEDULE_BACKFILL, "backfill", a->pos, 1, &args,
                         err);
}

const struct command cmd_schedules_pause_entry = {
    .name = "schedules pause",
    .usage = "(ID... | --all [--search TEXT]) --note TEXT [--until TIME] [--dry-run]",
    .summary = "pause schedules (note required; optional automatic resume)",
    .help = "Pauses each schedule with a note, optionally until TIME when the engine resumes "
            "it; a paused schedule is refused naming who paused it. Several ids are a bulk "
            "action (a maintenance window). --all --dry-run lists what --all would pause "
            "(with --json: {dry_run, count, items}) and changes nothing.",
    .flags = COMMAND_WRITES,
    .reads_with = "--dry-run",
    .opts = cmd_schedules_pause_flags,
    .min_args = 0,
    .max_args = 10000,
    .run = cmd_schedules_pause_run,
};

const struct command cmd_schedules_resume_entry = {
    .name = "schedules resume",
    .usage = "ID... [--note TEXT]",
    .summary = "resume paused schedules",
    .help = "Resumes each paused schedule; one that is not paused is refused.",
    .flags = COMMAND_WRITES,
    .opts = cmd_schedules_resume_flags,
    .min_args = 1,
    .max_args = 10000,
    .run = cmd_schedules_resume_run,
};

const struct command cmd_schedules_trigger_entry = {
    .name = "schedules trigger",
    .usage = "ID [--overlap POLICY]",
    .summary = "run a schedule now",
    .help = "Asks the engine to run the schedule now, with its overlap policy or POLICY.",
    .flags = COMMAND_WRITES,
    .opts = cmd_schedules_trigger_flags,
    .min_args = 1,
    .max_args = 1,
    .run = cmd_schedules_trigger_run,
};

const struct command cmd_schedules_backfill_entry = {
    .name = "schedules backfill",
    .usage = "ID --from TIME --to TIME [--overlap POLICY]",
    .summary = "run a schedule's missed runs of a time range",
    .help = "Asks the engine to run the schedule's runs between --from and --to.",
    .flags = COMMAND_WRITES,
    .opts = cmd_schedules_backfill_flags,
    .min_args = 1,
    .max_args = 1,
    .run = cmd_schedules_backfill_run,
};
