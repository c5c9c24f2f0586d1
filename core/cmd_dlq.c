/* `opsdeck dlq list|show|stats`: the dead-letter queue, read side. */
#include <config.h>

#include "backends/redis_audit.h"
#include "backends/redis_dlq.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/action.h"
#include "core/listing.h"
#include "core/out.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

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

static const struct command_flag cmd_dlq_show_flags[] = {
    {"--unmask", NULL, "show sensitive fields too (recorded in the audit stream first)"},
    {NULL, NULL, NULL},
};

static enum status cmd_dlq_show_run(struct session *s, const struct command *cmd,
                                    const struct command_args *a, struct error *err)
{
    struct redis_conn *c;
    json_t *item = NULL;
    const char *prefix = config_str(s->cfg, OPTION_DLQ_PREFIX);
    enum status rc = session_redis(s, &c, err);
    if (rc == STATUS_OK)
        rc = redis_dlq_show(c, prefix, a->pos[0], &item, err);
    if (rc != STATUS_OK)
        return rc;
    if (command_arg(cmd, a, "--unmask") == NULL) {
        listing_print_one(s, item);
        return STATUS_OK;
    }
    /* Unmasked data is shown only once the audit stream says who saw it. */
    struct action_ident id;
    action_identity(s, &id);
    const char *fields[] = {"operator", id.operator_, "client_host", id.host,
                            "client_addr", id.addr, "action", "dlq.unmask",
                            "target_kind", "dlq_event", "target_id", a->pos[0],
                            "outcome", "ok"};
    rc = redis_audit_append(c, prefix, fields, sizeof(fields) / sizeof(fields[0]) / 2, err);
    if (rc != STATUS_OK) {
        json_decref(item);
        error_prefix(err, "cannot record the unmask in the audit stream, so nothing is shown: ");
        return rc;
    }
    if (s->json) {
        out_json(s, item);
    } else {
        table_print_detail(s, item);
        json_decref(item);
    }
    return STATUS_OK;
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
    .usage = "ID [--unmask]",
    .summary = "one event: original event (redacted), error, stack trace, history",
    .help = "Shows one dead-lettered event: the original event pretty-printed with sensitive "
            "fields masked, the error and stack trace, retry count and what operators did. "
            "--unmask shows the masked fields after recording who saw them in the audit "
            "stream.",
    .opts = cmd_dlq_show_flags,
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

/* ---- actions ---- */

static const struct command_flag cmd_dlq_replay_flags[] = {
    {"--all", NULL, "every event matching the filters below (pending_review unless --status)"},
    {"--reason", "R", "with --all: failure reason"},
    {"--source", "S", "with --all: source service"},
    {"--target", "T", "with --all: target service"},
    {"--queue", "Q", "with --all: original queue"},
    {"--status", "S", "with --all: status (default pending_review)"},
    {"--since", "DUR", "with --all: failed within DUR"},
    {"--until", "TIME", "with --all: failed before TIME"},
    {"--search", "TEXT", "with --all: TEXT in the id, the error or the event"},
    {"--rate", "N", "send at most N events per second"},
    {"--force", NULL, "replay events that were already retried"},
    {"--dry-run", NULL, "say what would be replayed, change nothing"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

static const struct command_flag cmd_dlq_resolve_flags[] = {
    {"--note", "TEXT", "how it was resolved (required)"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

static const struct command_flag cmd_dlq_delete_flags[] = {
    {"--reason", "TEXT", "why (required)"},
    ACTION_FLAGS,
    {NULL, NULL, NULL},
};

/* The route for an event's queue, as the replay script takes it. */
static char *cmd_dlq_route(struct session *s, const char *queue)
{
    const char *r = config_route_for(s->cfg, queue);
    return strcmp(r, "publish") == 0 ? xasprintf("publish:%s", queue) : xstrdup(r);
}

/* The ids of every event matching the filters of --all, newest first. */
static enum status cmd_dlq_replay_collect(struct session *s, const struct command *cmd,
                                          const struct command_args *a, struct redis_conn *c,
                                          char ***ids, size_t *n, struct error *err)
{
    struct listing l;
    char *cursor = NULL;
    size_t cap = 0;
    enum status rc = listing_parse(cmd, a, &l, err);
    const char *status = command_arg(cmd, a, "--status");

    *ids = NULL;
    *n = 0;
    if (status == NULL && command_arg(cmd, a, "--force") == NULL)
        status = "pending_review";
    while (rc == STATUS_OK) {
        struct redis_dlq_query q = {
            .prefix = config_str(s->cfg, OPTION_DLQ_PREFIX),
            .reason = command_arg(cmd, a, "--reason"),
            .source = command_arg(cmd, a, "--source"),
            .target = command_arg(cmd, a, "--target"),
            .queue = command_arg(cmd, a, "--queue"),
            .status = status,
            .search = command_arg(cmd, a, "--search"),
            .since_us = l.since_us,
            .until_us = l.until_us,
            .limit = 1000,
            .after = cursor,
        };
        json_t *rows = NULL;
        char *next = NULL;
        if ((rc = redis_dlq_list(c, &q, &rows, &next, NULL, err)) != STATUS_OK)
            break;
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
            const char *id = json_string_value(json_object_get(row, "event_id"));
            if (id == NULL)
                continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 1024;
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

/* Replays one chunk of ids, appending an outcome per id to results: one
 * pipelined read of the events, then one pipelined batch of scripts. What
 * is sent comes from the event itself, unredacted; the script checks the
 * status atomically when it sends it. */
static enum status cmd_dlq_replay_chunk(struct session *s, struct redis_conn *c,
                                        const struct redis_action_ctx *ctx, bool force,
                                        bool dry, const char *const *chunk, size_t n,
                                        json_t *results, struct error *err)
{
    const char *prefix = config_str(s->cfg, OPTION_DLQ_PREFIX);
    const char **ids = xcalloc(n + 1, sizeof(*ids));
    char **payloads = xcalloc(n + 1, sizeof(*payloads)), **routes = xcalloc(n + 1, sizeof(*routes));
    size_t m = 0;
    enum status rc = STATUS_OK;

    json_t **data = xcalloc(n + 1, sizeof(*data));
    rc = redis_dlq_data_many(c, prefix, chunk, n, data, err);
    for (size_t i = 0; rc == STATUS_OK && i < n; i++) {
        json_t *ev = data[i];
        if (ev == NULL) {
            char *msg = xasprintf("dlq event %s not found", chunk[i]);
            json_array_append_new(results, json_pack("{s:s, s:s, s:s}", "outcome", "not_found",
                                                     "target_id", chunk[i], "message", msg));
            free(msg);
            continue;
        }
        json_t *orig = json_object_get(ev, "original_event");
        const char *queue = json_string_value(json_object_get(ev, "original_queue"));
        if (orig == NULL || queue == NULL) {
            char *msg = xasprintf("dlq event %s is malformed (no original event or queue); "
                                  "nothing changed", chunk[i]);
            json_array_append_new(results, json_pack("{s:s, s:s, s:s}", "outcome", "refused",
                                                     "target_id", chunk[i], "message", msg));
            free(msg);
            continue;
        }
        ids[m] = chunk[i];
        payloads[m] = json_dumps(orig, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
        routes[m] = cmd_dlq_route(s, queue);
        m++;
    }
    for (size_t i = 0; i < n; i++)
        json_decref(data[i]);
    free(data);
    if (rc != STATUS_OK)
        goto out;
    if (dry) {
        for (size_t i = 0; i < m; i++) {
            char *id = out_safe(s, ids[i], 0), *route = out_safe(s, routes[i], 0);
            out_printf(s, "would replay %s to %s\n", id, route);
            free(route);
            free(id);
        }
        json_array_append_new(results,
                              json_pack("{s:b, s:I}", "dry_run", 1, "count", (json_int_t)m));
        goto out;
    }
    if (m > 0) {
        struct redis_action_result *res = xcalloc(m, sizeof(*res));
        rc = redis_actions_replay(c, prefix, ctx, m, ids, (const char *const *)payloads,
                                  (const char *const *)routes, force, res, err);
        for (size_t i = 0; i < m; i++)
            if (res[i].result != NULL)
                json_array_append(results, res[i].result);
        redis_actions_results_done(res, m);
        free(res);
    }
out:
    for (size_t i = 0; i < m; i++) {
        free(payloads[i]);
        free(routes[i]);
    }
    free(routes);
    free(payloads);
    free(ids);
    return rc;
}

static enum status cmd_dlq_replay_run(struct session *s, const struct command *cmd,
                                      const struct command_args *a, struct error *err)
{
    struct redis_conn *c;
    char **owned = NULL;
    const char *const *ids = a->pos;
    size_t n = a->npos, owned_n = 0;
    bool all = command_arg(cmd, a, "--all") != NULL;
    bool dry = command_arg(cmd, a, "--dry-run") != NULL;
    const char *rate_s = command_arg(cmd, a, "--rate");
    long rate = 0;
    enum status rc;

    if (all == (n > 0))
        return error_set(err, STATUS_USAGE, "dlq replay takes event ids or --all with filters; "
                         "nothing changed");
    if (rate_s != NULL) {
        char *end;
        rate = strtol(rate_s, &end, 10);
        if (*rate_s == '\0' || *end != '\0' || rate < 1 || rate > 100000)
            return error_set(err, STATUS_USAGE, "--rate: expected 1 to 100000 events per second, "
                             "got '%s'", rate_s);
    }
    if ((rc = session_redis(s, &c, err)) != STATUS_OK)
        return rc;
    if (all) {
        if ((rc = cmd_dlq_replay_collect(s, cmd, a, c, &owned, &owned_n, err)) != STATUS_OK)
            goto out;
        ids = (const char *const *)owned;
        n = owned_n;
    }
    if (!dry && (rc = action_confirm(cmd, a, "replay", ids, n, all || n > 1, err)) != STATUS_OK)
        goto out;

    struct action_ident ident;
    struct redis_action_ctx ctx;
    char *key;
    json_t *results = json_array();
    action_redis_ctx(s, cmd, a, &ident, &ctx, &key, NULL);
    /* Chunks of at most --rate events, one second apart. One key for the
     * whole run: running it again with the same --idempotency-key resumes
     * an interrupted replay without sending any event twice. */
    size_t chunk = rate > 0 ? (size_t)rate : 2000;
    for (size_t i = 0; i < n && rc == STATUS_OK; i += chunk) {
        int64_t t0 = time_mono_ms();
        size_t k = n - i < chunk ? n - i : chunk;
        rc = cmd_dlq_replay_chunk(s, c, &ctx, command_arg(cmd, a, "--force") != NULL, dry,
                                  ids + i, k, results, err);
        if (rate > 0 && i + k < n) {
            int64_t left = 1000 - (time_mono_ms() - t0);
            if (left > 0) {
                struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000};
                nanosleep(&ts, NULL);
            }
        }
    }
    if (rc == STATUS_OK && dry) {
        size_t count = 0, j;
        json_t *r;
        json_array_foreach(results, j, r)
            count += (size_t)json_integer_value(json_object_get(r, "count"));
        out_printf(s, "%zu event%s would be replayed; nothing changed\n", count,
                   count == 1 ? "" : "s");
        json_decref(results);
    } else if (rc == STATUS_OK) {
        rc = action_report(s, results, err);
    } else {
        json_decref(results);
    }
    free(key);
out:
    for (size_t i = 0; i < owned_n; i++)
        free(owned[i]);
    free(owned);
    return rc;
}

static enum status cmd_dlq_mark_run(struct session *s, const struct command *cmd,
                                    const struct command_args *a, bool resolve, struct error *err)
{
    struct redis_conn *c;
    const char *text = command_arg(cmd, a, resolve ? "--note" : "--reason");
    enum status rc;
    if (text == NULL || *text == '\0')
        return error_set(err, STATUS_USAGE, "dlq %s needs %s TEXT; nothing changed",
                         resolve ? "resolve" : "delete", resolve ? "--note" : "--reason");
    if ((rc = session_redis(s, &c, err)) != STATUS_OK ||
        (rc = action_confirm(cmd, a, resolve ? "resolve" : "delete", a->pos, a->npos,
                             a->npos > 1, err)) != STATUS_OK)
        return rc;
    struct action_ident ident;
    struct redis_action_ctx ctx;
    char *key;
    action_redis_ctx(s, cmd, a, &ident, &ctx, &key, text);
    struct redis_action_result *res = xcalloc(a->npos, sizeof(*res));
    const char *prefix = config_str(s->cfg, OPTION_DLQ_PREFIX);
    rc = resolve ? redis_actions_resolve(c, prefix, &ctx, a->npos, a->pos, res, err)
                 : redis_actions_delete(c, prefix, &ctx, a->npos, a->pos, res, err);
    if (rc == STATUS_OK)
        rc = action_report_redis(s, res, a->npos, err);
    redis_actions_results_done(res, a->npos);
    free(res);
    free(key);
    return rc;
}

static enum status cmd_dlq_resolve_run(struct session *s, const struct command *cmd,
                                       const struct command_args *a, struct error *err)
{
    return cmd_dlq_mark_run(s, cmd, a, true, err);
}

static enum status cmd_dlq_delete_run(struct session *s, const struct command *cmd,
                                      const struct command_args *a, struct error *err)
{
    return cmd_dlq_mark_run(s, cmd, a, false, err);
}

const struct command cmd_dlq_replay_entry = {
    .name = "dlq replay",
    .usage = "(ID... | --all FILTERS) [--rate N] [--force] [--dry-run]",
    .summary = "send events back to their queues, exactly once",
    .help = "Sends each event's original event back on its queue's route (publish, list:KEY "
            "or stream:KEY; see the route setting) in one atomic script per event that checks "
            "the status is pending_review (or retried, with --force), sends, marks it retried "
            "and audits. Two operators or a retried command never send an event twice. --all "
            "replays every event matching the filters (pending_review unless --status); --rate "
            "sends at most N a second. Running an interrupted replay again with the same "
            "--idempotency-key resumes it: what was sent is not sent again.",
    .flags = COMMAND_WRITES,
    .opts = cmd_dlq_replay_flags,
    .reads_with = "--dry-run",
    .min_args = 0,
    .max_args = 100000,
    .run = cmd_dlq_replay_run,
};

const struct command cmd_dlq_resolve_entry = {
    .name = "dlq resolve",
    .usage = "ID... --note TEXT",
    .summary = "mark events resolved by hand",
    .help = "Marks each event resolved with the note, atomically and audited; a resolved one "
            "is refused naming who resolved it.",
    .flags = COMMAND_WRITES,
    .opts = cmd_dlq_resolve_flags,
    .min_args = 1,
    .max_args = 100000,
    .run = cmd_dlq_resolve_run,
};

const struct command cmd_dlq_delete_entry = {
    .name = "dlq delete",
    .usage = "ID... --reason TEXT",
    .summary = "delete events (reason required)",
    .help = "Deletes each event and its index entry, atomically and audited with what it was.",
    .flags = COMMAND_WRITES,
    .opts = cmd_dlq_delete_flags,
    .min_args = 1,
    .max_args = 100000,
    .run = cmd_dlq_delete_run,
};

/* ---- export ---- */

static const struct command_flag cmd_dlq_export_flags[] = {
    {"--reason", "R", "failure reason"},
    {"--source", "S", "source service"},
    {"--target", "T", "target service"},
    {"--queue", "Q", "original queue"},
    {"--status", "S", "pending_review, retried, resolved or expired"},
    {"--since", "DUR", "failed within DUR"},
    {"--until", "TIME", "failed before TIME"},
    {"--search", "TEXT", "TEXT in the id, the error or the event"},
    {"--output", "FILE", "write to FILE (mode 0600, complete or not at all) instead of stdout"},
    {"--unmask", NULL, "keep sensitive fields (recorded in the audit stream first)"},
    {NULL, NULL, NULL},
};

static enum status cmd_dlq_export_run(struct session *s, const struct command *cmd,
                                      const struct command_args *a, struct error *err)
{
    struct listing l;
    struct redis_conn *c;
    const char *prefix = config_str(s->cfg, OPTION_DLQ_PREFIX);
    const char *output = command_arg(cmd, a, "--output");
    bool unmask = command_arg(cmd, a, "--unmask") != NULL;
    char *tmp = NULL, *cursor = NULL;
    FILE *f = stdout;
    size_t count = 0;
    enum status rc = listing_parse(cmd, a, &l, err);

    if (rc == STATUS_OK)
        rc = session_redis(s, &c, err);
    if (rc != STATUS_OK)
        return rc;
    if (unmask) {
        struct action_ident id;
        action_identity(s, &id);
        const char *fields[] = {"operator", id.operator_, "client_host", id.host, "client_addr",
                                id.addr, "action", "dlq.export_unmasked", "target_kind",
                                "dlq", "target_id", "*", "outcome", "ok"};
        if ((rc = redis_audit_append(c, prefix, fields, 7, err)) != STATUS_OK) {
            error_prefix(err, "cannot record the unmasked export in the audit stream: ");
            return rc;
        }
    }
    if (output != NULL) {
        /* The events hold personal data: private, and whole or nothing. */
        tmp = xasprintf("%s.XXXXXX", output);
        int fd = mkstemp(tmp);
        if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
            rc = error_set(err, STATUS_USAGE, "%s: %s", output, strerror(errno));
            if (fd >= 0)
                close(fd);
            goto out;
        }
    }
    for (;;) {
        struct redis_dlq_query q = {
            .prefix = prefix,
            .reason = command_arg(cmd, a, "--reason"),
            .source = command_arg(cmd, a, "--source"),
            .target = command_arg(cmd, a, "--target"),
            .queue = command_arg(cmd, a, "--queue"),
            .status = command_arg(cmd, a, "--status"),
            .search = command_arg(cmd, a, "--search"),
            .since_us = l.since_us,
            .until_us = l.until_us,
            .limit = 500,
            .after = cursor,
        };
        json_t *rows = NULL;
        char *next = NULL;
        if ((rc = redis_dlq_list(c, &q, &rows, &next, NULL, err)) != STATUS_OK)
            break;
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
            const char *id = json_string_value(json_object_get(row, "event_id"));
            json_t *ev = NULL;
            enum status st = id != NULL ? redis_dlq_show(c, prefix, id, &ev, err) : STATUS_NOT_FOUND;
            if (st == STATUS_NOT_FOUND) {
                ev = json_incref(row); /* gone since it was listed: export what was seen */
            } else if (st != STATUS_OK) {
                rc = st;
                break;
            }
            json_t *outv = unmask ? json_incref(ev) : redact_copy(&s->redact, ev, NULL);
            char *line = json_dumps(outv, JSON_COMPACT | out_json_flags(f));
            fprintf(f, "%s\n", line != NULL ? line : "{}");
            free(line);
            json_decref(outv);
            json_decref(ev);
            count++;
        }
        json_decref(rows);
        free(cursor);
        cursor = next;
        if (rc != STATUS_OK || cursor == NULL)
            break;
    }
    if (output != NULL) {
        bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok = fclose(f) == 0 && ok;
        f = NULL;
        if (rc == STATUS_OK && !ok)
            rc = error_set(err, STATUS_USAGE, "%s: %s", output, strerror(errno));
        if (rc == STATUS_OK && rename(tmp, output) != 0)
            rc = error_set(err, STATUS_USAGE, "%s: %s", output, strerror(errno));
        if (rc != STATUS_OK)
            unlink(tmp);
        else
            fprintf(stderr, "opsdeck: exported %zu event%s to %s%s\n", count, count == 1 ? "" : "s",
                    output, unmask ? " (unmasked)" : "");
    }
out:
    free(cursor);
    free(tmp);
    return rc;
}

const struct command cmd_dlq_export_entry = {
    .name = "dlq export",
    .usage = "[FILTERS] [--output FILE] [--unmask]",
    .summary = "write events as JSON lines (redacted)",
    .help = "Writes every event matching the filters of dlq list, newest first, one JSON "
            "object per line, with sensitive fields masked unless --unmask (audited). With "
            "--output the file is private (0600) and appears only when complete.",
    .opts = cmd_dlq_export_flags,
    .max_args = 0,
    .run = cmd_dlq_export_run,
};
