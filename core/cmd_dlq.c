/* `opsdeck dlq list|show|stats`: the dead-letter queue, read side. */
#include <config.h>

#include "backends/redis_dlq.h"
#include "core/listing.h"
#include "core/out.h"

static const struct command_flag cmd_dlq_list_flags[] = {
    {"--reason", "R", "failure reason (validation_failed, processing_timeout, ...)"},
    {"--source", "S", "source service"},
    {"--target", "T", "target service"},
    {"--queue", "Q", "original queue"},
    {"--status", "S", "pending_review, retried, resolved, or expired (index entry only)"},
    {"--since", "DUR", "failed within DUR (15m, 24h, 7d)"},
    {"--until", "TIME", "failed before TIME (ISO 8601 or a DUR ago)"},
    {"--search", "TEXT", "TEXT in the id, the error or the event"},
    LISTING_FLAGS,
    {NULL, NULL, NULL},
};

static const struct table_col cmd_dlq_cols[] = {
    {"EVENT", "event_id", TABLE_TEXT, 40},
    {"FAILED", "failed_at", TABLE_TIME, 19},
    {"REASON", "failure_reason", TABLE_TEXT, 24},
    {"STATUS", "status", TABLE_TEXT, 14},
    {"SOURCE", "source_service", TABLE_TEXT, 20},
    {"QUEUE", "original_queue", TABLE_TEXT, 24},
    {"RETRIES", "retry_count", TABLE_INT, 7},
    {"ERROR", "error_message", TABLE_TEXT, 60},
};

static enum status cmd_dlq_list_run(struct session *s, const struct command *cmd,
                                    const struct command_args *a, struct error *err)
{
    struct listing l;
    struct redis_conn *rc_conn;
    enum status rc = listing_parse(cmd, a, &l, err);
    if (rc == STATUS_OK)
        rc = session_redis(s, &rc_conn, err);
    if (rc != STATUS_OK)
        return rc;
    struct redis_dlq_query q = {
        .prefix = config_str(s->cfg, OPTION_DLQ_PREFIX),
        .reason = command_arg(cmd, a, "--reason"),
        .source = command_arg(cmd, a, "--source"),
        .target = command_arg(cmd, a, "--target"),
        .queue = command_arg(cmd, a, "--queue"),
        .status = command_arg(cmd, a, "--status"),
        .search = command_arg(cmd, a, "--search"),
        .since_us = l.since_us,
        .until_us = l.until_us,
        .limit = l.limit,
        .after = l.after,
    };
    json_t *rows = NULL;
    char *next = NULL;
    rc = redis_dlq_list(rc_conn, &q, &rows, &next, NULL, err);
    if (rc == STATUS_OK)
        listing_print(s, cmd_dlq_cols, sizeof(cmd_dlq_cols) / sizeof(cmd_dlq_cols[0]), rows,
                      next);
    return rc;
}

static enum status cmd_dlq_show_run(struct session *s, const struct command *cmd,
                                    const struct command_args *a, struct error *err)
{
    (void)cmd;
    struct redis_conn *c;
    json_t *item = NULL;
    enum status rc = session_redis(s, &c, err);
    if (rc == STATUS_OK)
        rc = redis_dlq_show(c, config_str(s->cfg, OPTION_DLQ_PREFIX), a->pos[0], &item, err);
    if (rc == STATUS_OK)
        listing_print_one(s, item);
    return rc;
}

static enum status cmd_dlq_stats_run(struct session *s, const struct command *cmd,
                                     const struct command_args *a, struct error *err)
{
    (void)cmd;
    (void)a;
    struct redis_conn *c;
    json_t *item = NULL;
    enum status rc = session_redis(s, &c, err);
    if (rc == STATUS_OK)
        rc = redis_dlq_stats(c, config_str(s->cfg, OPTION_DLQ_PREFIX), &item, err);
    if (rc == STATUS_OK)
        listing_print_one(s, item);
    return rc;
}

const struct command cmd_dlq_list_entry = {
    .name = "dlq list",
    .usage = "[--reason R] [--source S] [--target T] [--queue Q] [--status S] [--since DUR] "
             "[--until TIME] [--search TEXT]",
    .summary = "dead-lettered events, newest first",
    .help = "Lists failed events newest first over any number of events: a page costs at most "
            "two round trips without filters, and filtered pages are still full pages. Events "
            "written by other tools in other spellings (enum reprs, naive times) read as the "
            "same thing; malformed ones are listed as such, and an index entry whose event "
            "expired shows status expired.",
    .opts = cmd_dlq_list_flags,
    .max_args = 0,
    .run = cmd_dlq_list_run,
};

const struct command cmd_dlq_show_entry = {
    .name = "dlq show",
    .usage = "ID",
    .summary = "one event: original event (redacted), error, stack trace, history",
    .help = "Shows one dead-lettered event: the original event pretty-printed with sensitive "
            "fields masked, the error and stack trace, retry count and what operators did.",
    .min_args = 1,
    .max_args = 1,
    .run = cmd_dlq_show_run,
};

const struct command cmd_dlq_stats_entry = {
    .name = "dlq stats",
    .usage = "",
    .summary = "DLQ counters: totals by reason, source and target",
    .help = "Prints the DLQ's stats hash (totals by reason, source service and target service) "
            "and the index depth, from counters: nothing is scanned.",
    .max_args = 0,
    .run = cmd_dlq_stats_run,
};
