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
#include "core/table.h"
#include "util/buf.h"
#include "util/outfile.h"
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
    {"EVENT", "event_id", TABLE_TEXT, 40},        {"FAILED", "failed_at", TABLE_TIME, 19},
    {"REASON", "failure_reason", TABLE_TEXT, 24}, {"STATUS", "status", TABLE_TEXT, 14},
    {"SOURCE", "source_service", TABLE_TEXT, 20}, {"QUEUE", "original_queue", TABLE_TEXT, 24},
    {"RETRIES", "retry_count", TABLE_INT, 7},     {"ERROR", "error_message", TABLE_TEXT, 60},
};

static enum status cmd_dlq_list_fetch(struct session *s, const struct command *cmd,
                                      const struct command_args *a, json_t **rows, char **next,
                                      struct error *err)
{
    struct listing l;
    struct redis_conn *rc_conn;
    enum status rc = listing_parse(cmd, a, &l, err);

    *rows = NULL;
    *next = NULL;
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
    return redis_dlq_list(rc_conn, &q, rows, next, NULL, err);
}

static const struct command_flag cmd_dlq_show_flags[] = {
    {"--unmask", NULL, "show sensitive fields too (recorded in the audit stream first)"},
    {NULL, NULL, NULL},
};

/* The plain read, without --unmask: its run adds the audit. */
static enum status cmd_dlq_show_fetch(struct session *s, const char *id, json_t **item,
                                      struct error *err)
{
    struct redis_conn *c;
    enum status rc = session_redis(s, &c, err);
    if (rc == STATUS_OK)
        rc = redis_dlq_show(c, config_str(s->cfg, OPTION_DLQ_PREFIX), id, item, err);
    return rc;
}

/* Unmasked data is returned only once the audit stream says who saw it. */
static enum status cmd_dlq_show_unmasked(struct session *s, const char *event_id, json_t **item,
                                         struct error *err)
{
    struct redis_conn *c;
    const char *prefix = config_str(s->cfg, OPTION_DLQ_PREFIX);
    enum status rc = cmd_dlq_show_fetch(s, event_id, item, err);
    if (rc != STATUS_OK)
        return rc;
    struct action_ident id;
    action_identity(s, &id);
    const char *fields[] = {"operator",  id.operator_, "client_host", id.host,       "client_addr",
                            id.addr,     "action",     "dlq.unmask",  "target_kind", "dlq_event",
                            "target_id", event_id,     "outcome",     "ok"};
    rc = session_redis(s, &c, err);
    if (rc == STATUS_OK)
        rc = redis_audit_append(c, prefix, fields, sizeof(fields) / sizeof(fields[0]) / 2, err);
    if (rc != STATUS_OK) {
        json_decref(*item);
        *item = NULL;
        error_prefix(err, "cannot record the unmask in the audit stream, so nothing is shown: ");
    }
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
    /* Counters keyed by reason and service name, no payload: not redacted
     * (a service called email-provider is not an email address). Text is
     * still sanitized on the way out. */
    if (rc == STATUS_OK && s->json) {
        out_json(s, item);
    } else if (rc == STATUS_OK) {
        table_print_detail(s, item);
        json_decref(item);
    }
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
    .run = listing_run,
    .fetch = cmd_dlq_list_fetch,
    .cols = cmd_dlq_cols,
    .ncols = sizeof(cmd_dlq_cols) / sizeof(cmd_dlq_cols[0]),
    .id_field = "event_id",
    .show = "dlq show",
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
    .run = listing_run_one,
    .fetch_one = cmd_dlq_show_fetch,
    .fetch_unmasked = cmd_dlq_show_unmasked,
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
    {"--dry-run", NULL,
     "say what would be replayed, change nothing (--json: {dry_run, count, items})"},
    {"--ids-from", "FILE", "replay the ids in FILE too, one a line (- for standard input)"},
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
        json_array_foreach(rows, i, row)
        {
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

/* The ids given as arguments, then those of FILE ("-": standard input),
 * one a line, blank lines skipped: more than a command line holds. */
static enum status cmd_dlq_replay_read_ids(const char *file, const char *const *pos, size_t npos,
                                           char ***ids, size_t *n, struct error *err)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    size_t cap = npos + 1024;
    char *line = NULL;
    size_t len = 0;
    ssize_t got;

    if (f == NULL)
        return error_set(err, STATUS_USAGE, "--ids-from %s: %s; nothing changed", file,
                         strerror(errno));
    *ids = xreallocarray(NULL, cap, sizeof(**ids));
    for (*n = 0; *n < npos; (*n)++)
        (*ids)[*n] = xstrdup(pos[*n]);
    while ((got = getline(&line, &len, f)) > 0) {
        while (got > 0 && strchr(" \t\r\n", line[got - 1]) != NULL)
            line[--got] = '\0';
        if (got == 0)
            continue;
        if (*n == cap) {
            cap *= 2;
            *ids = xreallocarray(*ids, cap, sizeof(**ids));
        }
        (*ids)[(*n)++] = xstrdup(line);
    }
    free(line);
    bool bad = ferror(f) != 0;
    if (f != stdin)
        fclose(f);
    if (bad)
        return error_set(err, STATUS_USAGE, "--ids-from %s: cannot read it; nothing changed", file);
    return STATUS_OK;
}

/* Replays one chunk of ids, adding an outcome per id to the tally: one
 * pipelined read of the events, then one pipelined batch of scripts. What
 * is sent is the event's original event as its producer wrote it,
 * unredacted; the script checks the status atomically when it sends it. An event without data or
 * without an original event goes to the script without a payload, which says so (and, in a job,
 * counts it). With dry, prints what would be sent and adds their number to *would instead. */
static enum status cmd_dlq_replay_chunk(struct session *s, struct redis_conn *c,
                                        const struct redis_action_ctx *ctx, bool force, bool job,
                                        bool dry, const char *const *chunk, size_t n,
                                        struct action_tally *t, size_t *would, json_t *dry_items,
                                        struct error *err)
{
    const char *prefix = config_str(s->cfg, OPTION_DLQ_PREFIX);
    char **payloads = xcalloc(n + 1, sizeof(*payloads)), **routes = xcalloc(n + 1, sizeof(*routes));
    char **queues = xcalloc(n + 1, sizeof(*queues));
    enum status rc = redis_actions_replay_read(c, prefix, n, chunk, payloads, queues, err);

    for (size_t i = 0; rc == STATUS_OK && i < n; i++)
        if (payloads[i] != NULL)
            routes[i] = cmd_dlq_route(s, queues[i]);
    if (rc != STATUS_OK)
        goto out;
    if (dry) {
        for (size_t i = 0; i < n; i++) {
            if (payloads[i] == NULL)
                continue;
            (*would)++;
            if (s->json) {
                /* Bytes that are not UTF-8 escaped as the lists show them
                 * (which the verbs take back). */
                json_t *item = json_object();
                json_object_set_new(item, "event_id", out_jstr(chunk[i]));
                if (queues[i] != NULL)
                    json_object_set_new(item, "original_queue", out_jstr(queues[i]));
                json_object_set_new(item, "route", out_jstr(routes[i]));
                json_array_append_new(dry_items, item);
                continue;
            }
            char *id = out_safe(s, chunk[i], 0), *route = out_safe(s, routes[i], 0);
            out_printf(s, "would replay %s to %s\n", id, route);
            free(route);
            free(id);
        }
        goto out;
    }
    struct redis_action_result *res = xcalloc(n, sizeof(*res));
    rc = (job ? redis_actions_replay_job
              : redis_actions_replay)(c, prefix, ctx, n, chunk, (const char *const *)payloads,
                                      (const char *const *)routes, force, res, err);
    for (size_t i = 0; i < n; i++)
        if (res[i].result != NULL)
            action_tally_add(s, t, json_incref(res[i].result));
    redis_actions_results_done(res, n);
    free(res);
    if (rc == STATUS_UNAVAILABLE && !job) {
        /* Lost while sending: the key tells what happened, without
         * sending twice. (A job says how to resume instead.) */
        char was[sizeof(err->msg)];
        snprintf(was, sizeof(was), "%s", err->msg);
        error_set(err, rc,
                  "%s; whether it was replayed is unknown: run it again with "
                  "--idempotency-key %s to find out (nothing is sent twice)",
                  was, ctx->idempotency_key);
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(payloads[i]);
        free(queues[i]);
        free(routes[i]);
    }
    free(queues);
    free(routes);
    free(payloads);
    return rc;
}

/* What a bulk replay chose, in words, for its job hash. */
static char *cmd_dlq_replay_selection(const struct command *cmd, const struct command_args *a,
                                      const char *const *ids, size_t n, bool all)
{
    static const char *const filters[] = {"--reason", "--source", "--target", "--queue",
                                          "--status", "--since",  "--until",  "--search"};
    struct buf b;
    buf_init(&b);
    if (all) {
        buf_addf(&b, "--all");
        for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
            const char *v = command_arg(cmd, a, filters[i]);
            if (v != NULL)
                buf_addf(&b, " %s %s", filters[i], v);
        }
        buf_addf(&b, " (%zu matched)", n);
    } else {
        buf_addf(&b, "%zu ids:", n);
        for (size_t i = 0; i < n && i < 10; i++)
            buf_addf(&b, "%s %s", i ? "," : "", ids[i]);
        if (n > 10)
            buf_addf(&b, ", and %zu more", n - 10);
    }
    if (command_arg(cmd, a, "--force") != NULL)
        buf_addf(&b, " --force");
    return buf_take(&b);
}

/* Before a bulk replay sends anything: resumes the job of this key when
 * there is one (saying how far it got), or starts it, and says how to
 * resume it. */
static enum status cmd_dlq_replay_job_start(struct session *s, struct redis_conn *c,
                                            const struct command *cmd, const struct command_args *a,
                                            const struct redis_action_ctx *ctx,
                                            const char *const *ids, size_t n, bool all, bool force,
                                            struct error *err)
{
    const char *prefix = config_str(s->cfg, OPTION_DLQ_PREFIX);
    const char *key = ctx->idempotency_key;
    json_t *prev = NULL;
    size_t already = 0;
    char *line = NULL;
    enum status rc = redis_actions_job_get(c, prefix, key, &prev, err);

    if (rc == STATUS_NOT_FOUND) {
        rc = STATUS_OK;
        line = xasprintf("replay job %s: %zu event%s; if it is interrupted, run it again with "
                         "--idempotency-key %s to resume",
                         key, n, n == 1 ? "" : "s", key);
    } else if (rc == STATUS_OK) {
        const char *st = json_string_value(json_object_get(prev, "status"));
        const char *upd = json_string_value(json_object_get(prev, "updated_at"));
        json_int_t done = json_integer_value(json_object_get(prev, "done"));
        json_int_t total = json_integer_value(json_object_get(prev, "total"));
        int64_t at;
        /* The per-event records that stop a second send last 24 hours; with
         * --force the status no longer does. */
        if (force && upd != NULL && time_parse_iso(upd, &at) &&
            time_now_us() - at > INT64_C(86400000000)) {
            rc = error_set(err, STATUS_REFUSED,
                           "replay job %s was last active at %s, longer ago than its per-event "
                           "records last (24 h): with --force it could send events twice; "
                           "nothing changed",
                           key, upd);
            goto out;
        }
        if (st != NULL && strcmp(st, "completed") == 0)
            line = xasprintf("replay job %s was completed (%" JSON_INTEGER_FORMAT " of "
                             "%" JSON_INTEGER_FORMAT " done); running it again sends only what "
                             "it has not sent",
                             key, done, total);
        else
            line = xasprintf("resuming replay job %s: %" JSON_INTEGER_FORMAT " of "
                             "%" JSON_INTEGER_FORMAT " done",
                             key, done, total);
        rc = redis_actions_job_recorded(c, prefix, key, n, ids, &already, err);
    }
    if (rc == STATUS_OK) {
        char *sel = cmd_dlq_replay_selection(cmd, a, ids, n, all);
        rc = redis_actions_job_begin(c, prefix, ctx, n, already, sel, force, err);
        free(sel);
    }
    if (rc == STATUS_OK)
        out_error(line);
out:
    free(line);
    json_decref(prev);
    return rc;
}

/* The progress line of a bulk replay on a terminal: count, rate (at most
 * --rate, when given), ETA. */
static void cmd_dlq_replay_progress(size_t done, size_t n, int64_t t0, long cap, bool last)
{
    double secs = (double)(time_mono_ms() - t0) / 1000.0;
    double rate = secs > 0 ? (double)done / secs : 0;
    char eta[48] = "", span[32];
    if (cap > 0 && rate > (double)cap)
        rate = (double)cap;
    if (!last && rate > 0)
        snprintf(
            eta, sizeof(eta), ", ETA %s",
            time_format_span((int64_t)((double)(n - done) / rate * 1000.0), span, sizeof(span)));
    fprintf(stderr, "\r\033[Kreplayed %zu of %zu, %.0f/s%s%s", done, n, rate, eta,
            last ? "\n" : "");
    fflush(stderr);
}

static enum status cmd_dlq_replay_run(struct session *s, const struct command *cmd,
                                      const struct command_args *a, struct error *err)
{
    struct redis_conn *c;
    char **owned = NULL;
    const char *const *ids = a->pos;
    const char *prefix = config_str(s->cfg, OPTION_DLQ_PREFIX);
    size_t n = a->npos, owned_n = 0;
    bool all = command_arg(cmd, a, "--all") != NULL;
    bool dry = command_arg(cmd, a, "--dry-run") != NULL;
    bool force = command_arg(cmd, a, "--force") != NULL;
    const char *rate_s = command_arg(cmd, a, "--rate");
    const char *from = command_arg(cmd, a, "--ids-from");
    long rate = 0;
    enum status rc;

    if (all == (n > 0 || from != NULL))
        return error_set(err, STATUS_USAGE,
                         "dlq replay takes event ids (or --ids-from FILE) or "
                         "--all with filters; nothing changed");
    if (rate_s != NULL) {
        char *end;
        rate = strtol(rate_s, &end, 10);
        if (*rate_s == '\0' || *end != '\0' || rate < 1 || rate > 100000)
            return error_set(err, STATUS_USAGE,
                             "--rate: expected 1 to 100000 events per second, "
                             "got '%s'",
                             rate_s);
    }
    if ((rc = session_redis(s, &c, err)) != STATUS_OK)
        return rc;
    if (all || from != NULL) {
        rc = all ? cmd_dlq_replay_collect(s, cmd, a, c, &owned, &owned_n, err)
                 : cmd_dlq_replay_read_ids(from, a->pos, a->npos, &owned, &owned_n, err);
        if (rc != STATUS_OK)
            goto out;
        ids = (const char *const *)owned;
        n = owned_n;
    }
    if (!all) {
        /* Typed ids as the store holds them (an escaped one as its bytes). */
        char **raw;
        if ((rc = redis_dlq_ids_raw(c, prefix, n, ids, &raw, err)) != STATUS_OK)
            goto out;
        for (size_t i = 0; i < owned_n; i++)
            free(owned[i]);
        free(owned);
        owned = raw;
        owned_n = n;
        ids = (const char *const *)owned;
    }
    if (!dry && (rc = action_confirm(cmd, a, "replay", ids, n, all || n > 1, err)) != STATUS_OK)
        goto out;

    struct action_ident ident;
    struct redis_action_ctx ctx;
    struct action_tally t;
    char *key;
    size_t would = 0;
    json_t *dry_items = json_array();
    /* A bulk replay is a job: its progress hash, counted by the scripts
     * that send, lets a run with the same key resume it. */
    bool job = !dry && (all || n > 1);
    /* Drawn on the operator's terminal only: never into a capture. */
    bool progress = job && !out_capturing() && isatty(STDERR_FILENO);
    action_redis_ctx(s, cmd, a, &ident, &ctx, &key, NULL);
    action_tally_init(&t, s);
    if (job &&
        (rc = cmd_dlq_replay_job_start(s, c, cmd, a, &ctx, ids, n, all, force, err)) != STATUS_OK)
        job = false; /* nothing was sent: no job to stop or finish */
    /* Chunks of at most --rate events, one second apart. */
    size_t chunk = rate > 0 ? (size_t)rate : 2000;
    int64_t start = time_mono_ms();
    for (size_t i = 0; i < n && rc == STATUS_OK; i += chunk) {
        int64_t t0 = time_mono_ms();
        size_t k = n - i < chunk ? n - i : chunk;
        /* Cancelled (the console's worker): stop between chunks, as any
         * failure does, so the job is left interrupted and resumable. */
        if (s->cancel != NULL && atomic_load(s->cancel)) {
            rc = error_set(err, STATUS_REFUSED, "cancelled after %zu of %zu", i, n);
            if (progress)
                cmd_dlq_replay_progress(i, n, start, rate, true);
            break;
        }
        if (progress)
            fputs("\r\033[K", stderr);
        rc = cmd_dlq_replay_chunk(s, c, &ctx, force, job, dry, ids + i, k, &t, &would, dry_items,
                                  err);
        if (progress) {
            fflush(s->out);
            cmd_dlq_replay_progress(i + k, n, start, rate, i + k >= n || rc != STATUS_OK);
        }
        if (rate > 0 && i + k < n && rc == STATUS_OK) {
            int64_t left = 1000 - (time_mono_ms() - t0);
            if (left > 0) {
                struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000};
                nanosleep(&ts, NULL);
            }
        }
    }
    json_t *doc = NULL;
    if (rc == STATUS_OK && dry && s->json) {
        /* What a script (or the console's dialog) counts before acting. */
        out_json(s, json_pack("{s:b, s:I, s:O}", "dry_run", 1, "count", (json_int_t)would, "items",
                              dry_items));
        action_tally_discard(&t);
        json_decref(dry_items);
        free(key);
        goto out;
    }
    json_decref(dry_items);
    if (job) {
        /* Interrupted: the hash keeps what was sent, and the same key
         * resumes. The connection may be gone, so this is best effort. */
        struct error ignored;
        if (rc != STATUS_OK) {
            redis_actions_job_end(c, prefix, key, "interrupted", &ignored);
            error_prefix(err,
                         "replay job %s stopped (run it again with --idempotency-key %s "
                         "to resume): ",
                         key, key);
        } else if ((rc = redis_actions_job_end(c, prefix, key, "completed", err)) == STATUS_OK &&
                   s->json) {
            rc = redis_actions_job_get(c, prefix, key, &doc, err);
        }
    }
    if (rc == STATUS_OK && dry) {
        out_printf(s, "%zu event%s would be replayed; nothing changed\n", would,
                   would == 1 ? "" : "s");
        action_tally_discard(&t);
    } else if (rc == STATUS_OK) {
        rc = action_tally_finish(s, &t, doc, err);
    } else {
        /* Text lines went out as they came; no JSON after a failure. */
        json_decref(doc);
        action_tally_discard(&t);
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
    const char *prefix = config_str(s->cfg, OPTION_DLQ_PREFIX);
    char **ids = NULL;
    if ((rc = session_redis(s, &c, err)) != STATUS_OK ||
        (rc = action_confirm(cmd, a, resolve ? "resolve" : "delete", a->pos, a->npos, a->npos > 1,
                             err)) != STATUS_OK ||
        (rc = redis_dlq_ids_raw(c, prefix, a->npos, a->pos, &ids, err)) != STATUS_OK)
        return rc;
    struct action_ident ident;
    struct redis_action_ctx ctx;
    char *key;
    action_redis_ctx(s, cmd, a, &ident, &ctx, &key, text);
    struct redis_action_result *res = xcalloc(a->npos, sizeof(*res));
    const char *const *raw = (const char *const *)ids;
    rc = resolve ? redis_actions_resolve(c, prefix, &ctx, a->npos, raw, res, err)
                 : redis_actions_delete(c, prefix, &ctx, a->npos, raw, res, err);
    if (rc == STATUS_OK)
        rc = action_report_redis(s, res, a->npos, err);
    redis_actions_results_done(res, a->npos);
    free(res);
    free(key);
    for (size_t i = 0; i < a->npos; i++)
        free(ids[i]);
    free(ids);
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
    .usage = "(ID... | --ids-from FILE | --all FILTERS) [--rate N] [--force] [--dry-run]",
    .summary = "send events back to their queues, exactly once",
    .help = "Sends each event's original event, exactly as its producer wrote it, back on its "
            "queue's route (publish, list:KEY or stream:KEY; see the route setting) in atomic "
            "scripts (one call per 100 events) that check the status is pending_review (or "
            "retried, with --force), send, mark it retried and audit. Two operators or a "
            "retried command never send an event twice. --all replays every event matching "
            "the filters (pending_review unless --status); --rate sends at most N a second. A "
            "bulk replay is a job named by its idempotency key, whose progress the sending "
            "scripts record in <dlq_prefix>:replay:KEY: running it again with the same "
            "--idempotency-key resumes it, and what was sent is not sent again.",
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
    char *cursor = NULL;
    FILE *f = s->out;
    size_t count = 0;
    enum status rc = listing_parse(cmd, a, &l, err);

    if (rc == STATUS_OK)
        rc = session_redis(s, &c, err);
    if (rc != STATUS_OK)
        return rc;
    if (unmask) {
        struct action_ident id;
        action_identity(s, &id);
        const char *fields[] = {"operator",    id.operator_, "client_host", id.host,
                                "client_addr", id.addr,      "action",      "dlq.export_unmasked",
                                "target_kind", "dlq",        "target_id",   "*",
                                "outcome",     "ok"};
        if ((rc = redis_audit_append(c, prefix, fields, 7, err)) != STATUS_OK) {
            error_prefix(err, "cannot record the unmasked export in the audit stream: ");
            return rc;
        }
    }
    struct outfile of = {0};
    if (output != NULL) {
        /* The events hold personal data: private, and whole or nothing. */
        if ((rc = outfile_open(&of, output, err)) != STATUS_OK)
            goto out;
        f = of.f;
    }
    size_t flags = JSON_COMPACT | out_json_flags(f);
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
            .full = true, /* whole events, read with the page */
        };
        json_t *rows = NULL;
        char *next = NULL;
        if ((rc = redis_dlq_list(c, &q, &rows, &next, NULL, err)) != STATUS_OK)
            break;
        size_t i;
        json_t *ev;
        /* Asked to stop (the console's x): between pages, and no file. */
        if (s->cancel != NULL && atomic_load(s->cancel)) {
            json_decref(rows);
            free(next);
            rc = error_set(err, STATUS_REFUSED, "export cancelled after %zu event%s; %s", count,
                           count == 1 ? "" : "s",
                           output != NULL ? "no file written" : "the output is incomplete");
            break;
        }
        json_array_foreach(rows, i, ev)
        {
            json_t *outv = unmask ? json_incref(ev) : redact_copy(&s->redact, ev, NULL);
            char *line = json_dumps(outv, flags);
            fprintf(f, "%s\n", line != NULL ? line : "{}");
            free(line);
            json_decref(outv);
            count++;
            if (s->progress != NULL)
                atomic_fetch_add(s->progress, 1);
        }
        json_decref(rows);
        free(cursor);
        cursor = next;
        if (rc != STATUS_OK || cursor == NULL)
            break;
    }
    if (output != NULL && rc != STATUS_OK) {
        outfile_abort(&of);
    } else if (output != NULL && (rc = outfile_commit(&of, err)) == STATUS_OK) {
        fprintf(out_diag(), "opsdeck: exported %zu event%s to %s%s\n", count, count == 1 ? "" : "s",
                output, unmask ? " (unmasked)" : "");
    }
out:
    free(cursor);
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
