/* The simulator's schedules, run the way CONTRACT.md asks of a real engine
 * (seed 002 section 14.3): the store, not the engine's memory, decides what
 * runs. Each due schedule and each trigger or backfill request is claimed
 * with FOR UPDATE SKIP LOCKED in a transaction of its own, so two engines
 * never start the same run, and the run's record on the row (last_run_*,
 * running_count, next_run_at) commits with the claim. A paused schedule
 * starts nothing from its spec; resume_at is honoured by whichever engine
 * sees it pass first, with an audit row as an operator's resume has. Every
 * time comes from the store's clock, so engines whose clocks disagree still
 * agree on what is due. */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/pg_internal.h"
#include "backends/sim_internal.h"
#include "util/buf.h"
#include "util/cron.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

/* How often the store is looked at when no notification says so. */
#define SCHED_POLL_US 500000
/* Due schedules, and requests, handled per tick at most (each). */
#define SCHED_CLAIMS_MAX 20
/* Paused schedules resumed per statement at most. */
#define SCHED_RESUMES_MAX 50
/* Runs one backfill request starts at most; the rest of its range is not run. */
#define SCHED_BACKFILL_MAX 100
/* Runs buffer_all holds per schedule; beyond it fire times are skipped. */
#define SCHED_BUFFER_MAX 100
/* Cron expressions per schedule at most. */
#define SCHED_CRONS_MAX 16
/* A schedule whose spec cannot run is left alone this long, then tried
 * (and logged) again, so a fixed spec is picked up without a restart. */
#define SCHED_BAD_RETRY_US INT64_C(60000000)

/* The overlap policies of seed 002 section 14.3, as the store spells them. */
#define SCHED_POLICY_LIST(X)                                                                       \
    X(SKIP, "skip")                                                                                \
    X(BUFFER_ONE, "buffer_one")                                                                    \
    X(BUFFER_ALL, "buffer_all")                                                                    \
    X(CANCEL_OTHER, "cancel_other")                                                                \
    X(ALLOW_ALL, "allow_all")

enum sched_policy {
#define SCHED_POLICY_ENUM(name, text) SCHED_##name,
    SCHED_POLICY_LIST(SCHED_POLICY_ENUM)
#undef SCHED_POLICY_ENUM
};

static const char *const sched_policy_names[] = {
#define SCHED_POLICY_NAME(name, text) text,
    SCHED_POLICY_LIST(SCHED_POLICY_NAME)
#undef SCHED_POLICY_NAME
};

/* The simulator's own schedules, registered when absent: short intervals
 * so a demo visibly moves, cron for the familiar shapes, and every overlap
 * policy. */
static const struct sched_def {
    const char *id;
    const char *workflow_type;
    const char *cron[3]; /* NULL-terminated; none for an interval */
    int interval_s;
    enum sched_policy policy;
} sched_defs[] = {
    {"heartbeat", "health-check", {NULL}, 2, SCHED_ALLOW_ALL},
    {"inventory-sync", "inventory-sync", {NULL}, 3, SCHED_SKIP},
    {"cache-warmup", "cache-warmup", {NULL}, 4, SCHED_CANCEL_OTHER},
    {"order-export", "order-export", {NULL}, 5, SCHED_BUFFER_ONE},
    {"ledger-reconcile", "ledger-reconcile", {NULL}, 7, SCHED_BUFFER_ALL},
    {"search-reindex", "search-reindex", {NULL}, 10, SCHED_SKIP},
    {"minutely-cleanup", "cleanup", {"* * * * *"}, 0, SCHED_SKIP},
    {"metrics-rollup", "metrics-rollup", {"*/15 * * * *"}, 0, SCHED_ALLOW_ALL},
    {"hourly-sync", "data-sync", {"0 * * * *"}, 0, SCHED_SKIP},
    {"daily-report", "generate-report", {"0 6 * * *"}, 0, SCHED_SKIP},
    {"weekday-digest", "send-digest", {"0 9 * * 1-5"}, 0, SCHED_BUFFER_ONE},
    {"business-hours-probe",
     "uptime-probe",
     {"*/5 9-17 * * mon-fri", "0 12 * * sat,sun"},
     0,
     SCHED_CANCEL_OTHER},
    {"monthly-billing", "run-billing", {"0 0 1 * *"}, 0, SCHED_BUFFER_ALL},
};

/* A fire time waiting for the schedule's running runs to end. */
struct sched_buffered {
    char *schedule_id;
    int64_t fire_us;
    enum sched_policy policy;
    bool replaces; /* cancel_other: drops the schedule's older buffered run on commit */
    struct sched_buffered *next;
};

/* A schedule id with a time: bad specs (until when they are left alone),
 * time zones already warned about. */
struct sched_note {
    char *schedule_id;
    int64_t until_us;
    struct sched_note *next;
};

/* A run's end, queued until the store has taken it (it may be down). */
struct sched_ended {
    char *schedule_id, *execution_id, *status;
    struct sched_ended *next;
};

struct sim_schedules {
    bool registered;
    const void *listen_conn; /* the session LISTEN was sent on: connection and backend */
    int listen_pid;
    int64_t next_us; /* next look without a notification */
    bool drain;      /* a run ended while runs of its schedule were buffered */
    /* buffer_one / buffer_all / cancel_other runs, oldest first. The
     * contract has no place for them in the store, so they live in this
     * engine's memory (a real engine would persist them) and a stop drops
     * them. */
    struct sched_buffered *buffer;
    struct sched_note *bad, *tz_warned;
    struct sched_ended *ended;
    char host[256];
    /* statements, schema-qualified once */
    char *sql_register, *sql_resume, *sql_due, *sql_lock, *sql_exists, *sql_next, *sql_started,
        *sql_cancel, *sql_request, *sql_consumed, *sql_ended;
};

/* One schedule row as claimed, read from SCHED_COLS. Strings are borrowed
 * from the result, except last_owned. */
struct sched_row {
    const char *id, *workflow_type, *crons_json, *timezone, *last_workflow_id;
    char *last_owned; /* the id of a run this transaction started */
    int interval_s;
    enum sched_policy policy;
    bool has_next, paused;
    int64_t next_us, now_us;
    int running;
};

/* A spec ready to evaluate: the union of its cron expressions and its
 * interval. */
struct sched_spec {
    struct cron crons[SCHED_CRONS_MAX];
    size_t ncrons;
    int64_t interval_us; /* 0: none */
    int64_t phase_us;    /* one instant of the interval's grid */
};

/* What a transaction does outside the store, kept until it commits: the
 * runs it buffered and its log lines. A rolled-back claim leaves no trace;
 * only a saga already started cannot be taken back (see sched_start_run). */
struct sched_txn {
    struct sched_buffered *buffered;
    char **lines;
    size_t nlines;
};

enum sched_verdict { SCHED_RUN, SCHED_SKIPPED, SCHED_BUFFERED, SCHED_CANCELLING };

/* A timestamptz as unix microseconds, and back: exact, unlike float seconds. */
#define SQL_US(x)  "(extract(epoch FROM " x ") * 1000000)::bigint"
#define SQL_TS(p)  "('epoch'::timestamptz + " p "::bigint * interval '1 microsecond')"
#define SQL_ISO(x) "to_char(" x " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The columns struct sched_row is read from (table alias s). */
#define SCHED_NEXT_US SQL_US("s.next_run_at")
#define SCHED_NOW_US  SQL_US("now()")
#define SCHED_COLS                                                                                 \
    "s.schedule_id, s.workflow_type, array_to_json(s.cron_expressions)::text, "                    \
    "coalesce(s.interval_seconds, 0), s.overlap_policy, s.timezone, "                              \
    "s.next_run_at IS NOT NULL, coalesce(" SCHED_NEXT_US ", 0), s.running_count, "                 \
    "s.last_workflow_id, s.paused, " SCHED_NOW_US

/* ---- small helpers -------------------------------------------------------- */

/* name as a quoted SQL identifier: "wf". */
static char *sched_ident(const char *name)
{
    struct buf b;
    buf_init(&b);
    buf_addc(&b, '"');
    for (const char *p = name; *p != '\0'; p++) {
        if (*p == '"')
            buf_addc(&b, '"');
        buf_addc(&b, *p);
    }
    buf_addc(&b, '"');
    return buf_take(&b);
}

static enum sched_policy sched_policy_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(sched_policy_names) / sizeof(sched_policy_names[0]); i++)
        if (name != NULL && strcmp(name, sched_policy_names[i]) == 0)
            return (enum sched_policy)i;
    return SCHED_SKIP; /* the table's CHECK allows no other; skip is the safe reading */
}

static void sched_row_read(const PGresult *res, int row, int col, struct sched_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = PQgetvalue(res, row, col);
    r->workflow_type = PQgetvalue(res, row, col + 1);
    r->crons_json = PQgetvalue(res, row, col + 2);
    r->interval_s = (int)pg_value_int(res, row, col + 3);
    r->policy = sched_policy_parse(PQgetvalue(res, row, col + 4));
    r->timezone = PQgetvalue(res, row, col + 5);
    r->has_next = PQgetvalue(res, row, col + 6)[0] == 't';
    r->next_us = pg_value_int(res, row, col + 7);
    r->running = (int)pg_value_int(res, row, col + 8);
    r->last_workflow_id = PQgetisnull(res, row, col + 9) ? NULL : PQgetvalue(res, row, col + 9);
    r->paused = PQgetvalue(res, row, col + 10)[0] == 't';
    r->now_us = pg_value_int(res, row, col + 11);
}

static char *sched_iso(int64_t us, char out[32])
{
    return time_format_iso(us, out, 32);
}

/* ---- notes: bad specs, warned time zones ---------------------------------- */

/* Forgets the notes whose time has come. */
static void sched_notes_prune(struct sched_note **list, int64_t now_us)
{
    for (struct sched_note **p = list; *p != NULL;) {
        struct sched_note *n = *p;
        if (n->until_us > now_us) {
            p = &n->next;
            continue;
        }
        *p = n->next;
        free(n->schedule_id);
        free(n);
    }
}

static bool sched_note_has(const struct sched_note *n, const char *id)
{
    for (; n != NULL; n = n->next)
        if (strcmp(n->schedule_id, id) == 0)
            return true;
    return false;
}

static void sched_note_add(struct sched_note **list, const char *id, int64_t until_us)
{
    struct sched_note *n = xcalloc(1, sizeof(*n));
    n->schedule_id = xstrdup(id);
    n->until_us = until_us;
    n->next = *list;
    *list = n;
}

static void sched_notes_free(struct sched_note *n)
{
    while (n != NULL) {
        struct sched_note *next = n->next;
        free(n->schedule_id);
        free(n);
        n = next;
    }
}

/* The schedules with a bad spec, as a JSON array for the due query. */
static char *sched_bad_json(struct sim_schedules *c, int64_t now_us)
{
    json_t *a = json_array();
    sched_notes_prune(&c->bad, now_us);
    for (struct sched_note *n = c->bad; n != NULL; n = n->next)
        json_array_append_new(a, json_string(n->schedule_id));
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

/* ---- the transaction's deferred effects ------------------------------------ */

__attribute__((format(printf, 2, 3))) static void sched_txn_log(struct sched_txn *t,
                                                                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = xvasprintf(fmt, ap);
    va_end(ap);
    t->lines = xreallocarray(t->lines, t->nlines + 1, sizeof(*t->lines));
    t->lines[t->nlines++] = line;
}

static void sched_buffered_free(struct sched_buffered *b)
{
    while (b != NULL) {
        struct sched_buffered *next = b->next;
        free(b->schedule_id);
        free(b);
        b = next;
    }
}

static void sched_txn_done(struct sched_txn *t)
{
    sched_buffered_free(t->buffered);
    for (size_t i = 0; i < t->nlines; i++)
        free(t->lines[i]);
    free(t->lines);
    memset(t, 0, sizeof(*t));
}

/* Drops the buffered runs of schedule id from list (all, or only the
 * oldest); returns how many. */
static size_t sched_buffer_drop(struct sched_buffered **list, const char *id, bool first_only)
{
    size_t n = 0;
    for (struct sched_buffered **p = list; *p != NULL;) {
        struct sched_buffered *b = *p;
        if (strcmp(b->schedule_id, id) != 0) {
            p = &b->next;
            continue;
        }
        *p = b->next;
        free(b->schedule_id);
        free(b);
        n++;
        if (first_only)
            break;
    }
    return n;
}

/* Buffered runs of schedule id, committed and in this transaction. */
static size_t sched_buffer_count(const struct sim_schedules *c, const struct sched_txn *t,
                                 const char *id)
{
    size_t n = 0;
    for (const struct sched_buffered *b = c->buffer; b != NULL; b = b->next)
        n += strcmp(b->schedule_id, id) == 0;
    for (const struct sched_buffered *b = t->buffered; b != NULL; b = b->next)
        n += strcmp(b->schedule_id, id) == 0;
    return n;
}

static enum status sched_begin(struct sim *s, struct error *err)
{
    return pg_conn_exec(s->pg, "BEGIN", 0, NULL, err);
}

static void sched_rollback(struct sim *s, struct sched_txn *t)
{
    pg_conn_exec(s->pg, "ROLLBACK", 0, NULL, NULL);
    sched_txn_done(t);
}

/* Commits, then applies what the transaction deferred. */
static enum status sched_commit(struct sim *s, struct sched_txn *t, struct error *err)
{
    struct sim_schedules *c = s->schedules;
    enum status rc = pg_conn_exec(s->pg, "COMMIT", 0, NULL, err);
    if (rc == STATUS_OK) {
        struct sched_buffered **tail = &c->buffer;
        for (struct sched_buffered *b = t->buffered; b != NULL; b = b->next)
            if (b->replaces)
                sched_buffer_drop(&c->buffer, b->schedule_id, false);
        while (*tail != NULL)
            tail = &(*tail)->next;
        *tail = t->buffered;
        t->buffered = NULL;
        for (size_t i = 0; i < t->nlines; i++)
            sim_log(s, "%s", t->lines[i]);
    }
    sched_txn_done(t);
    return rc;
}

/* ---- specs ----------------------------------------------------------------- */

/* Reads r's spec. A spec with neither cron nor interval, a cron expression
 * that does not parse, or one that never fires cannot run. */
static enum status sched_spec_read(struct sim *s, struct sim_schedules *c,
                                   const struct sched_row *r, struct sched_spec *sp,
                                   struct error *err)
{
    json_t *crons = json_loads(r->crons_json, 0, NULL);
    enum status rc = STATUS_OK;
    size_t i;
    json_t *v;

    memset(sp, 0, sizeof(*sp));
    if (!json_is_array(crons)) {
        rc = error_set(err, STATUS_USAGE, "cron_expressions is not an array");
        goto out;
    }
    if (json_array_size(crons) > SCHED_CRONS_MAX) {
        rc = error_set(err, STATUS_USAGE, "%zu cron expressions, at most %d",
                       json_array_size(crons), SCHED_CRONS_MAX);
        goto out;
    }
    json_array_foreach(crons, i, v)
    {
        if ((rc = cron_parse(json_string_value(v), &sp->crons[sp->ncrons++], err)) != STATUS_OK)
            goto out;
    }
    sp->interval_us = (int64_t)r->interval_s * 1000000;
    /* Interval fire times keep the grid of the row's next_run_at; a new
     * schedule's grid is whole multiples of the interval since the epoch. */
    sp->phase_us = r->has_next ? r->next_us : 0;
    if (sp->ncrons == 0 && sp->interval_us <= 0)
        rc = error_set(err, STATUS_USAGE, "neither cron_expressions nor interval_seconds");
    /* The simulator evaluates cron in UTC only: say so once per schedule. */
    if (rc == STATUS_OK && sp->ncrons > 0 && strcmp(r->timezone, "UTC") != 0 &&
        !sched_note_has(c->tz_warned, r->id)) {
        sched_note_add(&c->tz_warned, r->id, INT64_MAX);
        sim_log(s,
                "schedule %s: time zone %s is not supported by the simulator; its cron "
                "expressions are evaluated in UTC",
                r->id, r->timezone);
    }
out:
    json_decref(crons);
    return rc;
}

static int64_t sched_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The first fire time of sp strictly after after_us; -1 for none. */
static int64_t sched_spec_next(const struct sched_spec *sp, int64_t after_us)
{
    int64_t best = -1;
    for (size_t i = 0; i < sp->ncrons; i++) {
        int64_t t = cron_next(&sp->crons[i], after_us);
        if (t >= 0 && (best < 0 || t < best))
            best = t;
    }
    if (sp->interval_us > 0) {
        int64_t k = sched_floor_div(after_us - sp->phase_us, sp->interval_us) + 1;
        int64_t t = sp->phase_us + k * sp->interval_us;
        if (best < 0 || t < best)
            best = t;
    }
    return best;
}

/* ---- runs -------------------------------------------------------------------- */

/* What a fire time does while runs of its schedule are going (running in
 * the store, buffered in this engine), by policy. */
static enum sched_verdict sched_overlap(enum sched_policy p, int running, size_t buffered)
{
    if (running == 0 && buffered == 0)
        return SCHED_RUN;
    switch (p) {
    case SCHED_ALLOW_ALL:
        return SCHED_RUN;
    case SCHED_BUFFER_ONE:
        return buffered == 0 ? SCHED_BUFFERED : SCHED_SKIPPED;
    case SCHED_BUFFER_ALL:
        return buffered < SCHED_BUFFER_MAX ? SCHED_BUFFERED : SCHED_SKIPPED;
    case SCHED_CANCEL_OTHER:
        /* Temporal's reading: cancel the running run, start the new one
         * once it has ended (only the newest fire time waits). */
        return running > 0 ? SCHED_CANCELLING : SCHED_BUFFERED;
    case SCHED_SKIP:
        break;
    }
    return SCHED_SKIPPED;
}

/* Starts one run of r for fire time fire_us and records it on the row, in
 * the caller's transaction; request_id names the trigger or backfill
 * request it runs for (NULL: the spec or the buffer). The saga starts in memory before the commit:
 * should the commit fail, the run goes on and the row does not know it, so
 * that fire time may run again (at least once, as seed 002 warns schedules
 * are; context.scheduled_for lets a workflow see the repeat). */
static enum status sched_start_run(struct sim *s, struct sched_txn *t, struct sched_row *r,
                                   enum sched_policy p, int64_t fire_us, const char *request_id,
                                   const char *why, struct error *err)
{
    struct sim_schedules *c = s->schedules;
    char when[32], iso[40];
    char *exec = NULL;
    /* What the workflow learns of why it runs: a repeat of a fire time
     * shows as the same schedule_id and scheduled_for (ISO 8601, UTC, to
     * the microsecond as the action functions write times). */
    sim_iso(fire_us, false, when);
    snprintf(iso, sizeof(iso), "%sZ", when);
    json_t *ctx = json_pack("{s:s, s:s}", "schedule_id", r->id, "scheduled_for", iso);
    if (request_id != NULL)
        json_object_set_new(ctx, "schedule_request_id",
                            json_integer(strtoll(request_id, NULL, 10)));
    enum status rc = sim_sagas_start(s, r->workflow_type, ctx, r->id, &exec, err);
    if (rc != STATUS_OK)
        return rc;
    if (exec == NULL)
        exec = sim_new_id(s, "wf"); /* an engine without sagas still names its run */
    const char *params[] = {r->id, exec};
    if ((rc = pg_conn_exec(s->pg, c->sql_started, 2, params, err)) != STATUS_OK) {
        free(exec);
        return rc;
    }
    r->running++;
    free(r->last_owned);
    r->last_owned = exec;
    r->last_workflow_id = exec;
    sched_txn_log(t, "schedule %s run started (%s, policy %s%s%s)", r->id, exec,
                  sched_policy_names[p], *why ? ", " : "", why);
    return STATUS_OK;
}

/* Asks the run r->last_workflow_id to stop, through the same signal an
 * operator's abort sends; the engine that drives it consumes it. Sent once
 * per run (its key). */
static enum status sched_cancel_run(struct sim *s, const struct sched_row *r, struct error *err)
{
    char *reason = xasprintf("cancelled by schedule %s: overlap policy cancel_other", r->id);
    const char *params[] = {r->last_workflow_id, reason, s->o->instance};
    enum status rc = pg_conn_exec(s->pg, s->schedules->sql_cancel, 3, params, err);
    free(reason);
    return rc;
}

/* One fire time of r by policy p, in the caller's transaction: starts a
 * run, or skips, buffers or cancels per sched_overlap. request_id is the
 * request it comes from (NULL: the spec); why says so for the log ("" for
 * the spec). A buffered run forgets its request. */
static enum status sched_fire(struct sim *s, struct sched_txn *t, struct sched_row *r,
                              enum sched_policy p, int64_t fire_us, const char *request_id,
                              const char *why, enum sched_verdict *out, struct error *err)
{
    struct sim_schedules *c = s->schedules;
    size_t buffered = sched_buffer_count(c, t, r->id);
    enum sched_verdict v = sched_overlap(p, r->running, buffered);
    const char *pn = sched_policy_names[p], *sep = *why ? ", " : "";
    char held[48] = "";
    enum status rc = STATUS_OK;

    if (buffered > 0)
        snprintf(held, sizeof(held), ", %zu buffered", buffered);
    *out = v;
    switch (v) {
    case SCHED_RUN:
        return sched_start_run(s, t, r, p, fire_us, request_id, why, err);
    case SCHED_SKIPPED:
        sched_txn_log(t, "schedule %s skipped (%d running%s, policy %s%s%s)", r->id, r->running,
                      held, pn, sep, why);
        return STATUS_OK;
    case SCHED_CANCELLING:
        if (r->running > 0 && r->last_workflow_id != NULL &&
            (rc = sched_cancel_run(s, r, err)) != STATUS_OK)
            return rc;
        sched_txn_log(t, "schedule %s cancelling %s, run waits for it (%d running, policy %s%s%s)",
                      r->id, r->last_workflow_id ? r->last_workflow_id : "(unknown run)",
                      r->running, pn, sep, why);
        break;
    case SCHED_BUFFERED:
        sched_txn_log(t, "schedule %s run buffered (%d running%s, policy %s%s%s)", r->id,
                      r->running, held, pn, sep, why);
        break;
    }
    struct sched_buffered *b = xcalloc(1, sizeof(*b)), **tail = &t->buffered;
    b->schedule_id = xstrdup(r->id);
    b->fire_us = fire_us;
    b->policy = p;
    b->replaces = p == SCHED_CANCEL_OTHER; /* only the newest fire time waits */
    if (b->replaces)
        sched_buffer_drop(&t->buffered, r->id, false);
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = b;
    return STATUS_OK;
}

/* ---- the tick's steps ---------------------------------------------------------- */

/* LISTEN on the session in use; again after a reconnect, since a new
 * session listens to nothing (the backend pid tells a new session from the
 * old one even if libpq reuses the address). */
static enum status sched_listen(struct sim *s, struct sim_schedules *c, struct error *err)
{
    enum status rc = pg_conn_ensure(s->pg, err);
    if (rc != STATUS_OK)
        return rc;
    PGconn *conn = pg_conn_raw(s->pg);
    if (conn == c->listen_conn && PQbackendPID(conn) == c->listen_pid)
        return STATUS_OK;
    if ((rc = pg_conn_exec(s->pg, "LISTEN wf_schedule_requests", 0, NULL, err)) != STATUS_OK)
        return rc;
    conn = pg_conn_raw(s->pg);
    c->listen_conn = conn;
    c->listen_pid = conn != NULL ? PQbackendPID(conn) : 0;
    s->requests_note = true; /* what arrived while nobody listened */
    return STATUS_OK;
}

/* Registers the simulator's schedules that are not there yet; an operator's
 * changes to existing ones (a pause, say) are left alone. */
static enum status sched_register(struct sim *s, struct sim_schedules *c, struct error *err)
{
    json_t *defs = json_array();
    for (size_t i = 0; i < sizeof(sched_defs) / sizeof(sched_defs[0]); i++) {
        const struct sched_def *d = &sched_defs[i];
        json_t *crons = json_array();
        for (size_t k = 0; k < 3 && d->cron[k] != NULL; k++)
            json_array_append_new(crons, json_string(d->cron[k]));
        json_array_append_new(
            defs, json_pack("{s:s, s:s, s:o, s:o, s:s}", "id", d->id, "type", d->workflow_type,
                            "cron", crons, "interval",
                            d->interval_s > 0 ? json_integer(d->interval_s) : json_null(), "policy",
                            sched_policy_names[d->policy]));
    }
    char *text = json_dumps(defs, JSON_COMPACT);
    const char *params[] = {text};
    PGresult *res = pg_conn_query(s->pg, c->sql_register, 1, params, NULL, err);
    enum status rc = res != NULL ? STATUS_OK : err->status;
    if (res != NULL) {
        c->registered = true;
        sim_log(s, "registered %d schedules (%zu were there)", PQntuples(res),
                json_array_size(defs) - (size_t)PQntuples(res));
        PQclear(res);
    }
    free(text);
    json_decref(defs);
    return rc;
}

/* Writes the queued ends of runs, oldest first: running_count down by one,
 * and last_run_status when the run is the schedule's latest. Stops at the
 * first the store cannot take, keeping it and those after it. */
static enum status sched_write_ended(struct sim *s, struct sim_schedules *c, struct error *err)
{
    while (c->ended != NULL) {
        struct sched_ended *e = c->ended;
        const char *params[] = {e->schedule_id, e->execution_id, e->status};
        PGresult *res = pg_conn_query(s->pg, c->sql_ended, 3, params, NULL, err);
        if (res == NULL)
            return err->status;
        if (PQntuples(res) == 1)
            sim_log(s, "schedule %s run %s %s (%s running)", e->schedule_id, e->execution_id,
                    e->status, PQgetvalue(res, 0, 0));
        PQclear(res);
        if (sched_buffer_count(c, &(struct sched_txn){0}, e->schedule_id) > 0)
            c->drain = true;
        c->ended = e->next;
        free(e->schedule_id);
        free(e->execution_id);
        free(e->status);
        free(e);
    }
    return STATUS_OK;
}

/* Resumes the paused schedules whose resume_at has passed, each with the
 * audit row an operator's resume writes (action schedule.resume), in one
 * statement: the row and its audit commit together. The run that was due
 * during the pause then runs once, as any late fire time does. */
static enum status sched_resume_due(struct sim *s, struct sim_schedules *c, struct error *err)
{
    const char *params[] = {s->o->instance, c->host};
    PGresult *res = pg_conn_query(s->pg, c->sql_resume, 2, params, NULL, err);
    if (res == NULL)
        return err->status;
    for (int i = 0; i < PQntuples(res); i++)
        sim_log(s, "schedule %s resumed automatically (resume_at %s)", PQgetvalue(res, i, 0),
                PQgetvalue(res, i, 1));
    PQclear(res);
    return STATUS_OK;
}

/* Claims one due schedule (or one never evaluated) and handles it: a new
 * one gets its first next_run_at; a due one fires by its overlap policy
 * and moves next_run_at to its next fire time after now. Fire times missed
 * while no engine ran, or while the schedule was paused, run once, late,
 * not once each (a backfill runs them on request). Sets *more when one
 * was claimed. */
static enum status sched_due_one(struct sim *s, bool *more, struct error *err)
{
    struct sim_schedules *c = s->schedules;
    struct sched_txn t = {0};
    struct sched_row r;
    struct sched_spec sp;
    struct error bad = {0};
    PGresult *res = NULL;
    char *skip = sched_bad_json(c, s->now_us);
    const char *p1[] = {skip};
    enum status rc;
    char when[32], nextbuf[32];

    *more = false;
    memset(&r, 0, sizeof(r));
    if ((rc = sched_begin(s, err)) != STATUS_OK)
        goto out;
    if ((res = pg_conn_query(s->pg, c->sql_due, 1, p1, NULL, err)) == NULL) {
        rc = err->status;
        goto rollback;
    }
    if (PQntuples(res) == 0) {
        rc = sched_commit(s, &t, err);
        goto out;
    }
    *more = true;
    sched_row_read(res, 0, 0, &r);
    if (sched_spec_read(s, c, &r, &sp, &bad) != STATUS_OK) {
        sched_note_add(&c->bad, r.id, s->now_us + SCHED_BAD_RETRY_US);
        sched_txn_log(&t, "schedule %s cannot run: %s", r.id, bad.msg);
        rc = sched_commit(s, &t, err);
        goto out;
    }
    int64_t next = sched_spec_next(&sp, r.now_us);
    if (next < 0) {
        sched_note_add(&c->bad, r.id, s->now_us + SCHED_BAD_RETRY_US);
        sched_txn_log(&t,
                      "schedule %s cannot run: its spec has no fire time before the year "
                      "10000",
                      r.id);
        rc = sched_commit(s, &t, err);
        goto out;
    }
    if (r.has_next) {
        enum sched_verdict v;
        char late[64] = "", span[32];
        /* Say so when the fire time is well past (the engine was down, or
         * the schedule paused). */
        if (r.now_us - r.next_us > 5000000)
            snprintf(late, sizeof(late), "late by %s",
                     time_format_span((r.now_us - r.next_us) / 1000, span, sizeof(span)));
        if ((rc = sched_fire(s, &t, &r, r.policy, r.next_us, NULL, late, &v, err)) != STATUS_OK)
            goto rollback;
    } else {
        sched_txn_log(&t, "schedule %s first run at %s", r.id, sched_iso(next, when));
    }
    snprintf(nextbuf, sizeof(nextbuf), "%" PRId64, next);
    const char *p2[] = {r.id, nextbuf};
    if ((rc = pg_conn_exec(s->pg, c->sql_next, 2, p2, err)) != STATUS_OK)
        goto rollback;
    rc = sched_commit(s, &t, err);
    goto out;
rollback:
    sched_rollback(s, &t);
out:
    free(r.last_owned);
    if (res != NULL)
        PQclear(res);
    free(skip);
    return rc;
}

/* Claims and consumes one trigger or backfill request. Both run whether
 * or not the schedule is paused: a pause stops the runs the spec makes,
 * while a request is an operator asking for a run explicitly (the trigger
 * action even answers "though it is paused"), as Temporal does for manual
 * actions. The request's overlap policy (or the schedule's) applies
 * against the runs going. A backfill runs each fire time of the spec in
 * [range_start, range_end], both ends included, at most SCHED_BACKFILL_MAX.
 * Sets *more when one was claimed. */
static enum status sched_request_one(struct sim *s, bool *more, struct error *err)
{
    struct sim_schedules *c = s->schedules;
    struct sched_txn t = {0};
    struct sched_row r;
    struct sched_spec sp;
    struct error bad = {0};
    PGresult *res = NULL;
    enum status rc;
    size_t runs = 0, skipped = 0, held = 0, fires = 0;
    bool capped = false;
    char why[96], when[32], *counts = NULL;

    *more = false;
    memset(&r, 0, sizeof(r));
    if ((rc = sched_begin(s, err)) != STATUS_OK)
        goto out;
    if ((res = pg_conn_query(s->pg, c->sql_request, 0, NULL, NULL, err)) == NULL) {
        rc = err->status;
        goto rollback;
    }
    if (PQntuples(res) == 0) {
        rc = sched_commit(s, &t, err);
        goto out;
    }
    *more = true;
    const char *request_id = PQgetvalue(res, 0, 0), *kind = PQgetvalue(res, 0, 1);
    enum sched_policy p = sched_policy_parse(PQgetvalue(res, 0, 2));
    int64_t start = pg_value_int(res, 0, 3), end = pg_value_int(res, 0, 4);
    bool trigger = strcmp(kind, "trigger") == 0;
    sched_row_read(res, 0, 5, &r);
    snprintf(why, sizeof(why), "%s request %s", kind, request_id);

    if (trigger) {
        enum sched_verdict v;
        if ((rc = sched_fire(s, &t, &r, p, r.now_us, request_id, why, &v, err)) != STATUS_OK)
            goto rollback;
        fires = 1;
        runs = v == SCHED_RUN;
        skipped = v == SCHED_SKIPPED;
        held = v == SCHED_BUFFERED || v == SCHED_CANCELLING;
    } else if (sched_spec_read(s, c, &r, &sp, &bad) != STATUS_OK) {
        counts = xasprintf("; its spec cannot run: %s", bad.msg);
    } else {
        for (int64_t f = sched_spec_next(&sp, start - 1); f >= 0 && f <= end;
             f = sched_spec_next(&sp, f)) {
            enum sched_verdict v;
            if (fires == SCHED_BACKFILL_MAX) {
                capped = true;
                sched_iso(f, when); /* the first fire time not run */
                break;
            }
            snprintf(why, sizeof(why), "backfill request %s for %s", request_id,
                     sched_iso(f, when));
            if ((rc = sched_fire(s, &t, &r, p, f, request_id, why, &v, err)) != STATUS_OK)
                goto rollback;
            fires++;
            runs += v == SCHED_RUN;
            skipped += v == SCHED_SKIPPED;
            held += v == SCHED_BUFFERED || v == SCHED_CANCELLING;
        }
    }
    const char *p1[] = {request_id};
    if ((rc = pg_conn_exec(s->pg, c->sql_consumed, 1, p1, err)) != STATUS_OK)
        goto rollback;
    if (counts == NULL) {
        struct buf b;
        buf_init(&b);
        buf_addf(&b, ": %zu run%s", runs, runs == 1 ? "" : "s");
        if (skipped > 0)
            buf_addf(&b, ", %zu skipped", skipped);
        if (held > 0)
            buf_addf(&b, ", %zu buffered", held);
        buf_addf(&b, " (policy %s%s)", sched_policy_names[p], r.paused ? ", while paused" : "");
        if (capped)
            buf_addf(&b, "; capped at %d fire times, not run from %s on", SCHED_BACKFILL_MAX, when);
        counts = buf_take(&b);
    }
    sched_txn_log(&t, "schedule %s %s request %s consumed%s", r.id, kind, request_id, counts);
    rc = sched_commit(s, &t, err);
    goto out;
rollback:
    sched_rollback(s, &t);
out:
    free(counts);
    free(r.last_owned);
    if (res != NULL)
        PQclear(res);
    return rc;
}

/* Starts the oldest buffered run of each schedule whose runs have all
 * ended, unless it is paused (buffered runs wait for the resume). The row
 * is locked as a due run's is; one held by another engine is tried on the
 * next tick. */
static enum status sched_drain(struct sim *s, struct error *err)
{
    struct sim_schedules *c = s->schedules;
    enum status rc = STATUS_OK;
    char **ids = NULL;
    size_t n = 0;

    /* The schedules with buffered runs, each once, oldest first. */
    for (struct sched_buffered *b = c->buffer; b != NULL; b = b->next) {
        size_t i;
        for (i = 0; i < n && strcmp(ids[i], b->schedule_id) != 0; i++)
            ;
        if (i == n) {
            ids = xreallocarray(ids, n + 1, sizeof(*ids));
            ids[n++] = xstrdup(b->schedule_id);
        }
    }
    for (size_t i = 0; i < n && rc == STATUS_OK; i++) {
        struct sched_txn t = {0};
        struct sched_row r;
        const char *p1[] = {ids[i]};
        PGresult *res = NULL;

        memset(&r, 0, sizeof(r));
        if ((rc = sched_begin(s, err)) != STATUS_OK)
            break;
        if ((res = pg_conn_query(s->pg, c->sql_lock, 1, p1, NULL, err)) == NULL) {
            rc = err->status;
            sched_rollback(s, &t);
            break;
        }
        if (PQntuples(res) == 0) {
            PQclear(res);
            res = pg_conn_query(s->pg, c->sql_exists, 1, p1, NULL, err);
            if (res == NULL) {
                rc = err->status;
                sched_rollback(s, &t);
                break;
            }
            bool gone = PQntuples(res) == 0;
            PQclear(res);
            rc = sched_commit(s, &t, err);
            if (rc == STATUS_OK && gone)
                sim_log(s, "schedule %s is gone: %zu buffered runs dropped", ids[i],
                        sched_buffer_drop(&c->buffer, ids[i], false));
            continue;
        }
        sched_row_read(res, 0, 0, &r);
        struct sched_buffered *first = c->buffer;
        while (strcmp(first->schedule_id, ids[i]) != 0)
            first = first->next;
        if (r.paused || r.running > 0) {
            rc = sched_commit(s, &t, err);
        } else if ((rc = sched_start_run(s, &t, &r, first->policy, first->fire_us, NULL, "buffered",
                                         err)) != STATUS_OK) {
            sched_rollback(s, &t);
        } else if ((rc = sched_commit(s, &t, err)) == STATUS_OK) {
            sched_buffer_drop(&c->buffer, ids[i], true);
        }
        free(r.last_owned);
        PQclear(res);
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

/* ---- the part's API ---------------------------------------------------------- */

enum status sim_schedules_new(struct sim *s, struct sim_schedules **out, struct error *err)
{
    struct sim_schedules *c = xcalloc(1, sizeof(*c));
    char *sch = sched_ident(s->o->schema);

    (void)err;
    if (gethostname(c->host, sizeof(c->host)) != 0)
        snprintf(c->host, sizeof(c->host), "unknown");
    c->host[sizeof(c->host) - 1] = '\0';

    c->sql_register = xasprintf(
        "INSERT INTO %s.schedules (schedule_id, workflow_type, cron_expressions, "
        "interval_seconds, overlap_policy) "
        "SELECT e->>'id', e->>'type', ARRAY(SELECT jsonb_array_elements_text(e->'cron')), "
        "(e->>'interval')::integer, e->>'policy' FROM jsonb_array_elements($1::jsonb) AS e "
        "ON CONFLICT (schedule_id) DO NOTHING RETURNING schedule_id",
        sch);
    /* due: the rows as they were (before), upd: as resumed (after). */
    c->sql_resume = xasprintf(
        "WITH due AS (SELECT * FROM %s.schedules WHERE paused AND resume_at <= now() "
        "ORDER BY resume_at LIMIT %d FOR UPDATE SKIP LOCKED), "
        "upd AS (UPDATE %s.schedules AS x SET paused = false, pause_note = NULL, "
        "paused_by = NULL, paused_at = NULL, resume_at = NULL, version = x.version + 1, "
        "updated_at = now() FROM due WHERE x.schedule_id = due.schedule_id RETURNING x.*), "
        "aud AS (INSERT INTO %s.audit_log (at, operator, client_host, action, target_kind, "
        "target_id, reason, before, after, outcome, detail) "
        "SELECT clock_timestamp(), $1, $2, 'schedule.resume', 'schedule', due.schedule_id, "
        "'automatic: resume_at ' || " SQL_ISO(
            "due.resume_at") " || ' passed', "
                             "to_jsonb(due), to_jsonb(upd), 'ok', "
                             "format('resumed schedule %%s automatically at its resume_at "
                             "(paused%%s%%s)', "
                             "due.schedule_id, ' by ' || due.paused_by, ' at ' || " SQL_ISO(
                                 "due.paused_at") ") "
                                                  "FROM due JOIN upd ON upd.schedule_id = "
                                                  "due.schedule_id) "
                                                  "SELECT due.schedule_id, " SQL_ISO(
                                                      "due.resume_at") " FROM due "
                                                                       "ORDER BY due.resume_at",
        sch, SCHED_RESUMES_MAX, sch, sch);
    c->sql_due =
        xasprintf("SELECT " SCHED_COLS " FROM %s.schedules AS s WHERE NOT s.paused "
                  "AND (s.next_run_at <= now() OR s.next_run_at IS NULL) "
                  "AND s.schedule_id <> ALL (ARRAY(SELECT jsonb_array_elements_text($1::jsonb))) "
                  "ORDER BY s.next_run_at, s.schedule_id LIMIT 1 FOR UPDATE SKIP LOCKED",
                  sch);
    c->sql_lock = xasprintf("SELECT " SCHED_COLS " FROM %s.schedules AS s WHERE s.schedule_id = $1 "
                            "FOR UPDATE SKIP LOCKED",
                            sch);
    c->sql_exists = xasprintf("SELECT 1 FROM %s.schedules WHERE schedule_id = $1", sch);
    c->sql_next = xasprintf("UPDATE %s.schedules SET next_run_at = " SQL_TS(
                                "$2") ", updated_at = now() WHERE schedule_id = $1",
                            sch);
    c->sql_started =
        xasprintf("UPDATE %s.schedules SET last_run_at = now(), last_run_status = 'running', "
                  "last_workflow_id = $2, running_count = running_count + 1, updated_at = now() "
                  "WHERE schedule_id = $1",
                  sch);
    c->sql_cancel = xasprintf(
        "INSERT INTO %s.signals (workflow_id, name, payload, idempotency_key, created_by) "
        "VALUES ($1, 'abort', jsonb_build_object('execution_id', $1::text, 'reason', $2::text, "
        "'by', $3::text, 'at', " SQL_ISO("now()") "), 'engine-cancel:' || $1, $3) "
                                                  "ON CONFLICT (idempotency_key) DO NOTHING",
        sch);
    c->sql_request =
        xasprintf("SELECT r.request_id, r.kind, coalesce(r.overlap_policy, s.overlap_policy), "
                  "coalesce(" SQL_US("r.range_start") ", 0), coalesce(" SQL_US(
                      "r.range_end") ", 0), " SCHED_COLS
                                     " FROM %s.schedule_requests AS r JOIN %s.schedules AS s "
                                     "ON s.schedule_id = r.schedule_id WHERE r.consumed_at IS NULL "
                                     "ORDER BY r.request_id LIMIT 1 FOR UPDATE OF r, s SKIP LOCKED",
                  sch, sch);
    c->sql_consumed =
        xasprintf("UPDATE %s.schedule_requests SET consumed_at = now() WHERE request_id = $1", sch);
    /* last_run_status follows the latest run only: an older run ending
     * must not overwrite a newer one's "running". */
    c->sql_ended = xasprintf(
        "UPDATE %s.schedules SET running_count = greatest(running_count - 1, 0), "
        "last_run_status = CASE WHEN last_workflow_id = $2 THEN $3 ELSE last_run_status END, "
        "updated_at = now() WHERE schedule_id = $1 RETURNING running_count",
        sch);
    free(sch);
    *out = c;
    return STATUS_OK;
}

void sim_schedules_free(struct sim_schedules *c)
{
    if (c == NULL)
        return;
    sched_buffered_free(c->buffer);
    sched_notes_free(c->bad);
    sched_notes_free(c->tz_warned);
    while (c->ended != NULL) {
        struct sched_ended *e = c->ended;
        c->ended = e->next;
        free(e->schedule_id);
        free(e->execution_id);
        free(e->status);
        free(e);
    }
    free(c->sql_register);
    free(c->sql_resume);
    free(c->sql_due);
    free(c->sql_lock);
    free(c->sql_exists);
    free(c->sql_next);
    free(c->sql_started);
    free(c->sql_cancel);
    free(c->sql_request);
    free(c->sql_consumed);
    free(c->sql_ended);
    free(c);
}

enum status sim_schedules_tick(struct sim *s, struct error *err)
{
    struct sim_schedules *c = s->schedules;
    enum status rc;
    bool more = true;

    if (!s->requests_note && !c->drain && c->ended == NULL && s->now_us < c->next_us)
        return STATUS_OK;
    c->next_us = s->now_us + SCHED_POLL_US;
    if ((rc = sched_listen(s, c, err)) != STATUS_OK ||
        (!c->registered && (rc = sched_register(s, c, err)) != STATUS_OK) ||
        (rc = sched_write_ended(s, c, err)) != STATUS_OK ||
        (rc = sched_resume_due(s, c, err)) != STATUS_OK)
        return rc;
    /* Buffered runs first: they are older than anything due now. */
    c->drain = false;
    if (c->buffer != NULL && (rc = sched_drain(s, err)) != STATUS_OK)
        return rc;
    for (int n = 0; more && n < SCHED_CLAIMS_MAX; n++)
        if ((rc = sched_due_one(s, &more, err)) != STATUS_OK)
            return rc;
    /* Cleared before looking, so a request that arrives meanwhile is seen
     * on the next tick. */
    s->requests_note = false;
    more = true;
    for (int n = 0; more && n < SCHED_CLAIMS_MAX; n++)
        if ((rc = sched_request_one(s, &more, err)) != STATUS_OK)
            return rc;
    return STATUS_OK;
}

enum status sim_schedules_finished(struct sim *s, const char *schedule_id, const char *execution_id,
                                   const char *status, struct error *err)
{
    struct sim_schedules *c = s->schedules;
    struct sched_ended *e = xcalloc(1, sizeof(*e)), **tail = &c->ended;

    /* Queued behind any end not yet written, so they are written in order;
     * an end the store cannot take now is kept and written on a later tick
     * (a lost decrement would hold a skip schedule back for good). */
    e->schedule_id = xstrdup(schedule_id);
    e->execution_id = xstrdup(execution_id);
    e->status = xstrdup(status);
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = e;
    return sched_write_ended(s, c, err);
}
