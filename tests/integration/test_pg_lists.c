/* The PostgreSQL lists and shows of backends/pg_lists.c against a real
 * server: every list paged to its end at several page sizes (ties on the
 * sort time included) and compared with an order computed here, every
 * filter, search with LIKE's wildcards taken literally, limits, bad
 * cursors, shows and their links. Run through tests/cli/pg_lists.sh, which
 * provides the server (OPSDECK_POSTGRES); the test migrates a schema of its
 * own, so it starts from a known state and never touches wf. */
#include <config.h>

#include <inttypes.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "backends/pg_internal.h"
#include "backends/pg_lists.h"
#include "backends/pg_migrate.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define SCHEMA "opsdeck_test_lists"
#define SEC    INT64_C(1000000)
#define HOUR   (3600 * SEC)
/* 2026-11-18T...: the fixtures' times, away from now. */
#define T0 INT64_C(1795000000000000)

static struct pg_conn *conn;
static int64_t now_us;

typedef enum status (*list_fn)(struct pg_conn *c, const struct pg_list_query *q, json_t **rows,
                               char **next, struct error *err);

/* ------------------------------------------------------------------------
 * Helpers */

static void sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sql(const char *fmt, ...)
{
    va_list ap;
    struct error err = {0};
    va_start(ap, fmt);
    char *body = xvasprintf(fmt, ap);
    va_end(ap);
    char *text = xasprintf("SET search_path = " SCHEMA ", pg_catalog; %s", body);
    enum status rc = pg_conn_exec(conn, text, 0, NULL, &err);
    if (rc != STATUS_OK)
        fail_msg("SQL failed: %s\n%s", err.msg, body);
    free(text);
    free(body);
}

/* A time literal for microseconds since the epoch, exact. */
static char *ts(int64_t us, char *out, size_t size)
{
    int n = us == INT64_MAX
                ? snprintf(out, size, "'infinity'::timestamptz")
                : snprintf(out, size,
                           "(timestamptz 'epoch' + %" PRId64 " * interval '1 microsecond')", us);
    if (n < 0 || (size_t)n >= size)
        fail_msg("time literal too long");
    return out;
}

#define TS(us) ts((us), (char[96]){0}, 96)

/* SQL text literal or NULL. */
static char *lit(const char *s, char *out, size_t size)
{
    int n = s == NULL ? snprintf(out, size, "NULL") : snprintf(out, size, "$q$%s$q$", s);
    if (n < 0 || (size_t)n >= size)
        fail_msg("literal too long: %s", s);
    return out;
}

#define LIT(s) lit((s), (char[256]){0}, 256)

#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        struct error err_ = {0};                                                                   \
        enum status rc_ = (call);                                                                  \
        if (rc_ != STATUS_OK)                                                                      \
            fail_msg("%s: %s (%s)", #call, status_name(rc_), err_.msg);                            \
    } while (0)

/* Pages through a list at page size limit and returns every row. Each
 * page but the last is full, the last has no cursor, and no page after
 * the first is empty (fetching limit + 1 rows tells the end). */
static json_t *collect(list_fn fn, struct pg_list_query q, size_t limit)
{
    json_t *all = json_array();
    char *after = NULL;
    for (int page = 0;; page++) {
        json_t *rows = NULL;
        char *next = NULL;
        struct error err = {0};
        assert_true(page < 500);
        q.limit = limit;
        q.after = after;
        enum status rc = fn(conn, &q, &rows, &next, &err);
        if (rc != STATUS_OK)
            fail_msg("page %d: %s", page, err.msg);
        assert_true(json_is_array(rows));
        if (next != NULL)
            assert_int_equal(json_array_size(rows), limit);
        else
            assert_true(json_array_size(rows) <= limit);
        if (page > 0)
            assert_true(json_array_size(rows) > 0);
        json_array_extend(all, rows);
        json_decref(rows);
        free(after);
        after = next;
        if (next == NULL)
            break;
    }
    return all;
}

/* rows' key fields equal expected, in order. */
static void assert_ids(json_t *rows, const char *key, char **expected, size_t n)
{
    size_t got = json_array_size(rows);
    for (size_t i = 0; i < got && i < n; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(rows, i), key));
        if (id == NULL || strcmp(id, expected[i]) != 0)
            fail_msg("row %zu: expected %s, got %s", i, expected[i], id != NULL ? id : "(none)");
    }
    if (got != n)
        fail_msg("expected %zu rows, got %zu", n, got);
}

static void assert_iso(json_t *v)
{
    static regex_t re;
    static bool compiled;
    if (!compiled) {
        assert_int_equal(regcomp(&re,
                                 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                                 "\\.[0-9]{6}Z$",
                                 REG_EXTENDED | REG_NOSUB),
                         0);
        compiled = true;
    }
    assert_true(json_is_string(v));
    if (regexec(&re, json_string_value(v), 0, NULL, 0) != 0)
        fail_msg("not an ISO 8601 UTC time: %s", json_string_value(v));
}

static int64_t iso_us(json_t *v)
{
    int64_t us = 0;
    assert_true(json_is_string(v));
    assert_true(time_parse_iso(json_string_value(v), &us));
    return us;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static char *b64url(const char *s)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s);
    char *out = xmalloc(n / 3 * 4 + 5);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        out[o++] = a[(v >> 18) & 63];
        out[o++] = a[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = a[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = a[v & 63];
    }
    out[o] = '\0';
    return out;
}

/* ------------------------------------------------------------------------
 * Fixtures, and the order each list must have, computed here */

struct saga_fx {
    char id[32];
    int64_t created;
    const char *status;
    const char *saga_id;
    const char *name;
    const char *error;
    char trace[32];
};

#define NSAGAS 44
static struct saga_fx sagas[NSAGAS];

static const char *const saga_statuses[] = {"pending", "running",      "completed",
                                            "failed",  "compensating", "compensated"};

static void load_sagas(void)
{
    for (int i = 0; i < 40; i++) {
        struct saga_fx *s = &sagas[i];
        snprintf(s->id, sizeof(s->id), "ex-%03d", i);
        /* Groups of four share a second; the lowest id of each group is a
         * microsecond newer (so first), and cursors must keep microseconds. */
        s->created = T0 - (i / 4) * SEC + (i % 4 == 0 ? 1 : 0);
        s->status = saga_statuses[i % 6];
        s->saga_id = i % 3 == 0 ? "payment" : "order";
        s->name = i % 5 == 0 ? NULL : i % 2 ? "OrderSaga" : "RefundSaga";
        s->error = i == 5    ? "coupon 50%_off refused"
                   : i == 11 ? "coupon 500_off refused"
                   : i == 17 ? "coupon 50 percent_off"
                   : i == 23 ? "path a\\b broken"
                   : i == 29 ? "path ab broken"
                             : NULL;
        snprintf(s->trace, sizeof(s->trace), "tr-%03d", i);
    }
    /* Sagas for the shows and the approvals' links. */
    const struct {
        const char *id, *trace;
        int64_t created;
    } extra[] = {
        {"sx-show", "tr-x", T0 + 5 * SEC},
        {"sx-trace-old", "tr-show", T0 + 6 * SEC},
        {"sx-trace-new", "tr-show", T0 + 7 * SEC},
        {"sx-pref", "ex-003", T0 + 8 * SEC},
    };
    for (int i = 0; i < 4; i++) {
        struct saga_fx *s = &sagas[40 + i];
        snprintf(s->id, sizeof(s->id), "%s", extra[i].id);
        snprintf(s->trace, sizeof(s->trace), "%s", extra[i].trace);
        s->created = extra[i].created;
        s->status = "running";
        s->saga_id = "show";
        s->name = "ShowSaga";
        s->error = NULL;
    }
    for (int i = 0; i < NSAGAS; i++) {
        struct saga_fx *s = &sagas[i];
        if (strcmp(s->id, "sx-show") == 0)
            continue;
        sql("INSERT INTO saga_executions (execution_id, saga_id, name, status, context, error,"
            " trace_id, started_at, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, '{\"n\": %d}', %s, %s, %s, %s, %s)",
            LIT(s->id), LIT(s->saga_id), LIT(s->name), LIT(s->status), i, LIT(s->error),
            LIT(s->trace), TS(s->created), TS(s->created), TS(s->created + SEC));
    }
    /* Steps inserted neither in position nor in step_id order. */
    sql("INSERT INTO saga_steps (execution_id, step_id, position, name, status) VALUES"
        " ('sx-pref', 'a-last', 2, 'Last', 'pending'),"
        " ('sx-pref', 'z-first', 0, 'First', 'completed'),"
        " ('sx-pref', 'm-mid', 1, 'Mid', 'running')");
    /* sx-show the way an engine writes it (save_saga), then its creation
     * time pinned. */
    sql("SELECT save_saga($d${\"execution_id\": \"sx-show\", \"saga_id\": \"show\","
        " \"name\": \"ShowSaga\", \"status\": \"running\", \"trace_id\": \"tr-x\","
        " \"context\": {\"order\": {\"id\": 7, \"items\": [1, 2]}, \"card\": \"4111\","
        "              \"big\": 123456789012345678901234567890},"
        " \"started_at\": \"2026-11-18T10:00:00.5\", \"completed_at\": null, \"error\": null,"
        " \"steps\": ["
        "  {\"step_id\": \"reserve\", \"name\": \"Reserve stock\", \"status\": \"completed\","
        "   \"result\": {\"reserved\": 3}, \"error\": null,"
        "   \"started_at\": \"2026-11-18T10:00:01\","
        "   \"completed_at\": \"2026-11-18T10:00:02\", \"retry_count\": 0},"
        "  {\"step_id\": \"charge\", \"name\": \"Charge card\", \"status\": \"failed\","
        "   \"result\": null, \"error\": \"card declined\","
        "   \"started_at\": \"2026-11-18T10:00:03\","
        "   \"completed_at\": null, \"retry_count\": 2, \"max_retries\": 3},"
        "  {\"step_id\": \"ship\", \"name\": null, \"status\": \"compensated\","
        "   \"result\": [1, \"a\"],"
        "   \"error\": null, \"started_at\": null, \"completed_at\": null, \"retry_count\": 0},"
        "  {\"step_id\": \"notify\", \"name\": \"Notify\", \"status\": \"running\", \"result\": 5,"
        "   \"error\": null, \"started_at\": null, \"completed_at\": null, \"retry_count\": 0}"
        "]}$d$::jsonb)");
    sql("UPDATE saga_executions SET created_at = %s WHERE execution_id = 'sx-show'",
        TS(T0 + 5 * SEC));
}

static int saga_cmp(const void *a, const void *b)
{
    const struct saga_fx *x = *(const struct saga_fx *const *)a;
    const struct saga_fx *y = *(const struct saga_fx *const *)b;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    return -strcmp(x->id, y->id);
}

static bool icontains(const char *hay, const char *needle)
{
    if (hay == NULL)
        return false;
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return true;
    return n == 0;
}

/* The expected ids of the sagas matching pred, in list order. */
static size_t saga_expect(bool (*pred)(const struct saga_fx *, const void *), const void *arg,
                          char **out)
{
    const struct saga_fx *sorted[NSAGAS];
    size_t n = 0;
    for (int i = 0; i < NSAGAS; i++)
        if (pred == NULL || pred(&sagas[i], arg))
            sorted[n++] = &sagas[i];
    qsort(sorted, n, sizeof(sorted[0]), saga_cmp);
    for (size_t i = 0; i < n; i++)
        out[i] = (char *)sorted[i]->id;
    return n;
}

struct approval_fx {
    char id[32];
    const char *status;
    bool has_due;
    int64_t due; /* INT64_MAX: infinity */
    int64_t requested;
    const char *title;
    const char *workflow;
};

#define NAPPROVALS 32
static struct approval_fx approvals[NAPPROVALS];
static int napprovals;

static void approval_add(const char *id, const char *status, bool has_due, int64_t due,
                         int64_t requested, const char *title, const char *workflow)
{
    struct approval_fx *a = &approvals[napprovals++];
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->status = status;
    a->has_due = has_due;
    a->due = due;
    a->requested = requested;
    a->title = title;
    a->workflow = workflow != NULL ? workflow : "wf-none";
}

static void load_approvals(void)
{
    int64_t n = now_us;
    /* Pending with a due time: ties on due, on due and requested, overdue
     * ones, and an infinite due time (after every finite one, before
     * those without). */
    approval_add("a-p01", "pending", true, n + 2 * HOUR, T0 - 10 * SEC, "Refund 50%_off", "ex-000");
    approval_add("a-p02", "pending", true, n + 2 * HOUR, T0 - 10 * SEC, "Refund 500_off",
                 "tr-show");
    approval_add("a-p03", "pending", true, n + 2 * HOUR, T0 - 10 * SEC, "Deploy", "ex-003");
    approval_add("a-p04", "pending", true, n + 2 * HOUR, T0 - 5 * SEC, "Deploy", NULL);
    approval_add("a-p05", "pending", true, n + 1 * HOUR, T0 - 20 * SEC, "Deploy", NULL);
    approval_add("a-p06", "pending", true, n - 1 * HOUR, T0 - 30 * SEC, "Late", NULL);
    approval_add("a-p07", "pending", true, n - 1 * HOUR, T0 - 30 * SEC, "Late", NULL);
    approval_add("a-p08", "pending", true, n - 3 * HOUR, T0 - 1 * SEC, "Later", NULL);
    approval_add("a-p09", "pending", true, INT64_MAX, T0, "Forever", NULL);
    approval_add("a-p10", "pending", true, n + 1 * HOUR, T0 - 20 * SEC, "Deploy", NULL);
    /* Pending without a due time, with ties on requested_at. */
    approval_add("a-p11", "pending", false, 0, T0 - 3 * SEC, "Open", NULL);
    approval_add("a-p12", "pending", false, 0, T0 - 3 * SEC, "Open", NULL);
    approval_add("a-p13", "pending", false, 0, T0 - 3 * SEC, "Open", NULL);
    approval_add("a-p14", "pending", false, 0, T0 - 4 * SEC, "Open", NULL);
    approval_add("a-p15", "pending", false, 0, T0 - 4 * SEC, "Open", NULL);
    approval_add("a-p16", "pending", false, 0, T0 - 2 * SEC + 7, "Open", NULL);
    /* Decided ones: newest first whatever their due time. */
    static const char *const st[] = {"approved", "rejected", "expired", "cancelled"};
    for (int i = 0; i < 14; i++) {
        char id[16];
        snprintf(id, sizeof(id), "a-d%02d", i);
        approval_add(id, st[i % 4], i % 2 == 0, n - (i + 1) * HOUR, T0 - (i / 3) * SEC,
                     i == 4 ? "Refund 50%_off done" : "Done", NULL);
    }
    for (int i = 0; i < napprovals; i++) {
        struct approval_fx *a = &approvals[i];
        char due[96];
        sql("INSERT INTO approvals (approval_id, workflow_id, step_id, title, request_data,"
            " requested_by, assignee_group, requested_at, due_at, status, decided_by, decided_at)"
            " VALUES (%s, %s, 'approve', %s, '{\"amount\": %d, \"password\": \"x\"}', %s, %s, %s,"
            " %s, %s, %s, %s)",
            LIT(a->id), LIT(a->workflow), LIT(a->title), i, i % 2 ? "'alice'" : "'bob'",
            i % 3 ? "'finance'" : "'ops'", TS(a->requested),
            a->has_due ? ts(a->due, due, sizeof(due)) : "NULL", LIT(a->status),
            strcmp(a->status, "pending") == 0 ? "NULL" : "'carol'",
            strcmp(a->status, "pending") == 0 ? "NULL" : TS(T0));
    }
}

static int approval_cmp(const void *pa, const void *pb)
{
    const struct approval_fx *x = *(const struct approval_fx *const *)pa;
    const struct approval_fx *y = *(const struct approval_fx *const *)pb;
    int sx = strcmp(x->status, "pending") != 0, sy = strcmp(y->status, "pending") != 0;
    if (sx != sy)
        return sx - sy;
    if (sx == 0) {
        if (x->has_due != y->has_due)
            return x->has_due ? -1 : 1;
        if (x->has_due && x->due != y->due)
            return x->due < y->due ? -1 : 1;
    }
    if (x->requested != y->requested)
        return x->requested > y->requested ? -1 : 1;
    return -strcmp(x->id, y->id);
}

static size_t approval_expect(bool (*pred)(const struct approval_fx *, const void *),
                              const void *arg, char **out)
{
    const struct approval_fx *sorted[NAPPROVALS];
    size_t n = 0;
    for (int i = 0; i < napprovals; i++)
        if (pred == NULL || pred(&approvals[i], arg))
            sorted[n++] = &approvals[i];
    qsort(sorted, n, sizeof(sorted[0]), approval_cmp);
    for (size_t i = 0; i < n; i++)
        out[i] = (char *)sorted[i]->id;
    return n;
}

#define NSCHEDULES 13
static const struct {
    const char *id, *type, *cron, *note;
    int interval;
    bool paused;
} schedules[NSCHEDULES] = {
    {"nightly_backup", "backup", "{\"0 2 * * *\"}", "maintenance 50%_window", 0, true},
    {"nightlyXbackup", "backup", "{\"0 3 * * *\",\"30 3 * * 1-5\"}", NULL, 0, false},
    {"hourly-report", "report", "{\"0 * * * *\"}", NULL, 0, false},
    {"every-5m", "poll", "{}", NULL, 300, false},
    {"a-first", "report", "{\"1 1 * * *\"}", "paused by hand", 0, true},
    {"z-last", "report", "{\"2 2 * * *\"}", NULL, 0, false},
    {"m-mid-1", "sync", "{\"5 * * * *\"}", "500_window", 0, true},
    {"m-mid-2", "sync", "{\"6 * * * *\"}", NULL, 0, false},
    {"m-mid-3", "sync", "{\"7 * * * *\"}", NULL, 0, false},
    {"B-upper", "sync", "{\"8 * * * *\"}", NULL, 0, true},
    {"0-digit", "sync", "{\"9 * * * *\"}", NULL, 0, false},
    {"m-mid-4", "sync", "{\"10 * * * *\"}", NULL, 0, false},
    {"\xc3\xbc-umlaut-\xc3\x9f", "sync", "{\"11 * * * *\"}", NULL, 0, false},
};

static void load_schedules(void)
{
    for (int i = 0; i < NSCHEDULES; i++)
        sql("INSERT INTO schedules (schedule_id, workflow_type, cron_expressions,"
            " interval_seconds, paused, pause_note, paused_by, paused_at, resume_at, next_run_at,"
            " last_run_at, last_run_status, running_count)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'ok', %d)",
            LIT(schedules[i].id), LIT(schedules[i].type), LIT(schedules[i].cron),
            schedules[i].interval ? "300" : "NULL", schedules[i].paused ? "true" : "false",
            LIT(schedules[i].note), schedules[i].paused ? "'alice'" : "NULL",
            schedules[i].paused ? TS(T0) : "NULL", i == 0 ? TS(T0 + HOUR) : "NULL",
            TS(T0 + (i + 1) * SEC), TS(T0 - SEC), i % 3);
}

/* Sorts ids as the server's default collation does (schedule_id's), by
 * asking it to sort the bare values: the order under test stays computed
 * here, only the collation is the server's. */
static void server_sort(char **ids, size_t n)
{
    if (n == 0)
        return;
    char *values = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        char *v = xasprintf("%s%s(%s)", values, i > 0 ? ", " : "", LIT(ids[i]));
        free(values);
        values = v;
    }
    char *q = xasprintf("SELECT id FROM (VALUES %s) v(id) ORDER BY id", values);
    struct error err = {0};
    PGresult *res = pg_conn_query(conn, q, 0, NULL, NULL, &err);
    if (res == NULL)
        fail_msg("sort: %s", err.msg);
    assert_int_equal(PQntuples(res), (int)n);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < NSCHEDULES; j++)
            if (strcmp(schedules[j].id, PQgetvalue(res, (int)i, 0)) == 0)
                ids[i] = (char *)schedules[j].id;
    }
    PQclear(res);
    free(q);
    free(values);
}

static size_t schedule_expect(bool paused_only, const char *search, char **out)
{
    size_t n = 0;
    for (int i = 0; i < NSCHEDULES; i++) {
        if (paused_only && !schedules[i].paused)
            continue;
        if (search != NULL && !icontains(schedules[i].id, search) &&
            !icontains(schedules[i].type, search) && !icontains(schedules[i].note, search))
            continue;
        out[n++] = (char *)schedules[i].id;
    }
    server_sort(out, n);
    return n;
}

struct audit_fx {
    int64_t id;
    int64_t at;
    const char *operator_;
    const char *action;
    const char *reason;
    char idtext[24];
};

#define NAUDIT 25
static struct audit_fx audits[NAUDIT];

static void load_audit(void)
{
    static const char *const ops[] = {"alice", "bob", "carol"};
    static const char *const acts[] = {"approve", "reject", "pause", "resume"};
    for (int i = 0; i < NAUDIT; i++) {
        struct audit_fx *a = &audits[i];
        /* ids are a permutation, not in time order: ties on `at` are
         * broken by audit_id, not by insertion order. */
        a->id = 1000 + (i * 7) % NAUDIT;
        a->at = T0 - (i / 3) * SEC;
        a->operator_ = ops[i % 3];
        a->action = acts[i % 4];
        a->reason = i == 6 ? "fix 50%_rollout" : i == 7 ? "fix 500_rollout" : "routine";
        snprintf(a->idtext, sizeof(a->idtext), "%" PRId64, a->id);
        sql("INSERT INTO audit_log (audit_id, at, operator, client_host, client_addr, action,"
            " target_kind, target_id, reason, before, after, outcome, detail, idempotency_key)"
            " OVERRIDING SYSTEM VALUE"
            " VALUES (%" PRId64 ", %s, %s, 'host1', '10.0.0.%d', %s, 'approval', 'a-p%02d', %s,"
            " %s, %s, 'ok', %s, 'key-%d')",
            a->id, TS(a->at), LIT(a->operator_), i, LIT(a->action), i, LIT(a->reason),
            i == 0 ? "'{\"status\": \"pending\", \"version\": 1}'" : "NULL",
            i == 0   ? "'{\"status\": \"approved\", \"version\": 2}'"
            : i == 1 ? "'{\"n\": 123456789012345678901234567890}'"
                     : "NULL",
            i == 2 ? "'detail with 50%_'" : "NULL", i);
    }
}

static int audit_cmp(const void *pa, const void *pb)
{
    const struct audit_fx *x = *(const struct audit_fx *const *)pa;
    const struct audit_fx *y = *(const struct audit_fx *const *)pb;
    if (x->at != y->at)
        return x->at > y->at ? -1 : 1;
    return x->id > y->id ? -1 : 1;
}

static size_t audit_expect(bool (*pred)(const struct audit_fx *, const void *), const void *arg,
                           char **out)
{
    const struct audit_fx *sorted[NAUDIT];
    size_t n = 0;
    for (int i = 0; i < NAUDIT; i++)
        if (pred == NULL || pred(&audits[i], arg))
            sorted[n++] = &audits[i];
    qsort(sorted, n, sizeof(sorted[0]), audit_cmp);
    for (size_t i = 0; i < n; i++)
        out[i] = (char *)sorted[i]->idtext;
    return n;
}

static int group_setup(void **state)
{
    (void)state;
    const char *conninfo = getenv("OPSDECK_POSTGRES");
    if (conninfo == NULL) {
        fprintf(stderr, "OPSDECK_POSTGRES is not set\n");
        return -1;
    }
    struct pg_conn_options o = {
        .conninfo = conninfo, .connect_timeout_ms = 5000, .command_timeout_ms = 60000};
    conn = pg_conn_new(&o);
    struct error err = {0};
    int applied = 0;
    if (pg_conn_exec(conn,
                     "SET client_min_messages = warning;"
                     " DROP SCHEMA IF EXISTS " SCHEMA " CASCADE",
                     0, NULL, &err) != STATUS_OK ||
        pg_migrate_apply(conn, SCHEMA, &applied, &err) != STATUS_OK) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    now_us = time_now_us();
    load_sagas();
    load_approvals();
    load_schedules();
    load_audit();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    struct error err = {0};
    pg_conn_exec(conn, "DROP SCHEMA IF EXISTS " SCHEMA " CASCADE", 0, NULL, &err);
    pg_conn_free(conn);
    return 0;
}

static const size_t page_sizes[] = {1, 2, 3, 4, 7, 1000};

/* ------------------------------------------------------------------------
 * Sagas */

static bool saga_status_is(const struct saga_fx *s, const void *arg)
{
    return strcmp(s->status, arg) == 0;
}

static bool saga_saga_is(const struct saga_fx *s, const void *arg)
{
    return strcmp(s->saga_id, arg) == 0;
}

static bool saga_name_is(const struct saga_fx *s, const void *arg)
{
    return s->name != NULL && strcmp(s->name, arg) == 0;
}

static bool saga_search(const struct saga_fx *s, const void *arg)
{
    return icontains(s->id, arg) || icontains(s->saga_id, arg) || icontains(s->name, arg) ||
           icontains(s->error, arg) || icontains(s->trace, arg);
}

static bool saga_window(const struct saga_fx *s, const void *arg)
{
    const int64_t *w = arg;
    return s->created >= w[0] && s->created < w[1];
}

static void check_sagas(struct pg_list_query q, bool (*pred)(const struct saga_fx *, const void *),
                        const void *arg, size_t min_expected)
{
    char *exp[NSAGAS];
    size_t n = saga_expect(pred, arg, exp);
    assert_true(n >= min_expected);
    for (size_t i = 0; i < sizeof(page_sizes) / sizeof(page_sizes[0]); i++) {
        json_t *rows = collect(pg_lists_sagas, q, page_sizes[i]);
        assert_ids(rows, "execution_id", exp, n);
        json_decref(rows);
    }
}

static void test_sagas_paging(void **state)
{
    (void)state;
    struct pg_list_query q = {.schema = SCHEMA};
    check_sagas(q, NULL, NULL, NSAGAS);
}

static void test_sagas_filters(void **state)
{
    (void)state;
    struct pg_list_query q = {.schema = SCHEMA, .status = "failed"};
    check_sagas(q, saga_status_is, "failed", 6);
    q = (struct pg_list_query){.schema = SCHEMA, .saga_id = "payment"};
    check_sagas(q, saga_saga_is, "payment", 10);
    q = (struct pg_list_query){.schema = SCHEMA, .name = "RefundSaga"};
    check_sagas(q, saga_name_is, "RefundSaga", 10);
    int64_t w[2] = {T0 - 5 * SEC + 1, T0 - 2 * SEC + 1};
    q = (struct pg_list_query){.schema = SCHEMA, .since_us = w[0], .until_us = w[1]};
    check_sagas(q, saga_window, w, 12);
    /* Case-insensitive, over id, saga, name, error and trace. */
    q = (struct pg_list_query){.schema = SCHEMA, .search = "refundSAGA"};
    check_sagas(q, saga_search, "refundSAGA", 10);
    q = (struct pg_list_query){.schema = SCHEMA, .search = "TR-01"};
    check_sagas(q, saga_search, "TR-01", 10);
    /* LIKE's wildcards and escape are literal: only the exact text. */
    q = (struct pg_list_query){.schema = SCHEMA, .search = "50%_"};
    check_sagas(q, saga_search, "50%_", 1);
    json_t *rows = collect(pg_lists_sagas, q, 10);
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(str(json_array_get(rows, 0), "execution_id"), "ex-005");
    json_decref(rows);
    q = (struct pg_list_query){.schema = SCHEMA, .search = "a\\b"};
    rows = collect(pg_lists_sagas, q, 10);
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(str(json_array_get(rows, 0), "execution_id"), "ex-023");
    json_decref(rows);
    /* Filters combine. */
    q = (struct pg_list_query){.schema = SCHEMA, .status = "pending", .saga_id = "payment"};
    rows = collect(pg_lists_sagas, q, 2);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        assert_string_equal(str(json_array_get(rows, i), "status"), "pending");
        assert_string_equal(str(json_array_get(rows, i), "saga_id"), "payment");
    }
    assert_true(json_array_size(rows) >= 3);
    json_decref(rows);
    /* Nothing matches: an empty page and no cursor. */
    q = (struct pg_list_query){.schema = SCHEMA, .saga_id = "no-such-saga", .limit = 5};
    json_t *page = NULL;
    char *next = NULL;
    CHECK_OK(pg_lists_sagas(conn, &q, &page, &next, &err_));
    assert_int_equal(json_array_size(page), 0);
    assert_null(next);
    json_decref(page);
}

static void test_sagas_rows(void **state)
{
    (void)state;
    struct pg_list_query q = {.schema = SCHEMA, .limit = 1000};
    json_t *rows = NULL;
    char *next = NULL;
    CHECK_OK(pg_lists_sagas(conn, &q, &rows, &next, &err_));
    assert_null(next);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        assert_true(json_is_string(json_object_get(r, "execution_id")));
        assert_true(json_is_integer(json_object_get(r, "version")));
        assert_iso(json_object_get(r, "created_at"));
        assert_iso(json_object_get(r, "updated_at"));
        assert_true(json_is_integer(json_object_get(r, "steps_total")));
        assert_null(json_object_get(r, "context"));
        assert_null(json_object_get(r, "steps"));
        const char *id = str(r, "execution_id");
        if (strcmp(id, "ex-007") == 0) {
            assert_int_equal(iso_us(json_object_get(r, "created_at")), T0 - SEC);
            assert_string_equal(str(r, "trace_id"), "tr-007");
            assert_true(json_is_null(json_object_get(r, "completed_at")));
            assert_true(json_is_null(json_object_get(r, "current_step")));
            assert_int_equal(json_integer_value(json_object_get(r, "steps_total")), 0);
        }
        if (strcmp(id, "ex-004") == 0)
            assert_string_equal(str(r, "created_at"), "2026-11-18T11:06:39.000001Z");
        if (strcmp(id, "sx-show") == 0) {
            assert_int_equal(json_integer_value(json_object_get(r, "steps_total")), 4);
            assert_int_equal(json_integer_value(json_object_get(r, "steps_completed")), 1);
            assert_int_equal(json_integer_value(json_object_get(r, "steps_failed")), 1);
            assert_int_equal(json_integer_value(json_object_get(r, "steps_compensated")), 1);
            /* The failed step before the running one. */
            assert_string_equal(str(r, "current_step"), "Charge card");
            assert_string_equal(str(r, "started_at"), "2026-11-18T10:00:00.500000Z");
        }
    }
    json_decref(rows);
}

static void test_saga_show(void **state)
{
    (void)state;
    json_t *s = NULL;
    CHECK_OK(pg_lists_saga(conn, SCHEMA, "sx-show", &s, &err_));
    assert_string_equal(str(s, "execution_id"), "sx-show");
    assert_string_equal(str(s, "status"), "running");
    assert_string_equal(str(s, "trace_id"), "tr-x");
    assert_true(json_is_integer(json_object_get(s, "version")));
    assert_string_equal(str(s, "current_step"), "Charge card");
    /* context is JSON; an integer jansson cannot hold keeps the document
     * as its text rather than failing. */
    json_t *ctx = json_object_get(s, "context");
    assert_true(json_is_string(ctx));
    assert_non_null(strstr(json_string_value(ctx), "123456789012345678901234567890"));
    json_t *steps = json_object_get(s, "steps");
    assert_int_equal(json_array_size(steps), 4);
    const char *order[] = {"reserve", "charge", "ship", "notify"};
    for (size_t i = 0; i < 4; i++) {
        json_t *st = json_array_get(steps, i);
        assert_string_equal(str(st, "step_id"), order[i]);
        assert_int_equal(json_integer_value(json_object_get(st, "position")), (json_int_t)i);
        assert_true(json_is_integer(json_object_get(st, "retry_count")));
    }
    json_t *st = json_array_get(steps, 0);
    assert_string_equal(str(st, "name"), "Reserve stock");
    assert_string_equal(str(st, "status"), "completed");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "result"), "reserved")),
                     3);
    assert_string_equal(str(st, "started_at"), "2026-11-18T10:00:01.000000Z");
    assert_string_equal(str(st, "completed_at"), "2026-11-18T10:00:02.000000Z");
    st = json_array_get(steps, 1);
    assert_string_equal(str(st, "error"), "card declined");
    assert_int_equal(json_integer_value(json_object_get(st, "retry_count")), 2);
    assert_int_equal(json_integer_value(json_object_get(st, "max_retries")), 3);
    assert_true(json_is_null(json_object_get(st, "result")));
    assert_true(json_is_null(json_object_get(st, "completed_at")));
    st = json_array_get(steps, 2);
    assert_true(json_is_null(json_object_get(st, "name")));
    assert_true(json_is_array(json_object_get(st, "result")));
    assert_true(json_is_null(json_object_get(st, "max_retries")));
    st = json_array_get(steps, 3);
    assert_int_equal(json_integer_value(json_object_get(st, "result")), 5);
    json_decref(s);

    /* Steps come in position order, whatever their ids and insertion. */
    CHECK_OK(pg_lists_saga(conn, SCHEMA, "sx-pref", &s, &err_));
    steps = json_object_get(s, "steps");
    assert_int_equal(json_array_size(steps), 3);
    assert_string_equal(str(json_array_get(steps, 0), "step_id"), "z-first");
    assert_string_equal(str(json_array_get(steps, 1), "step_id"), "m-mid");
    assert_string_equal(str(json_array_get(steps, 2), "step_id"), "a-last");
    assert_string_equal(str(s, "current_step"), "Mid");
    assert_int_equal(json_integer_value(json_object_get(s, "steps_total")), 3);
    assert_int_equal(json_integer_value(json_object_get(s, "steps_completed")), 1);
    json_decref(s);

    /* A saga without steps: context an object, steps empty. */
    CHECK_OK(pg_lists_saga(conn, SCHEMA, "ex-002", &s, &err_));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "context"), "n")), 2);
    assert_int_equal(json_array_size(json_object_get(s, "steps")), 0);
    json_decref(s);

    struct error err = {0};
    s = NULL;
    assert_int_equal(pg_lists_saga(conn, SCHEMA, "no-such-exec", &s, &err), STATUS_NOT_FOUND);
    assert_null(s);
    assert_non_null(strstr(err.msg, "no-such-exec"));
}

/* ------------------------------------------------------------------------
 * Approvals */

static bool approval_status_is(const struct approval_fx *a, const void *arg)
{
    return strcmp(a->status, arg) == 0;
}

static bool approval_overdue(const struct approval_fx *a, const void *arg)
{
    (void)arg;
    return strcmp(a->status, "pending") == 0 && a->has_due && a->due != INT64_MAX &&
           a->due < now_us;
}

static bool approval_since(const struct approval_fx *a, const void *arg)
{
    return a->requested >= *(const int64_t *)arg;
}

static bool approval_title(const struct approval_fx *a, const void *arg)
{
    return icontains(a->title, arg) || icontains(a->id, arg) || icontains(a->workflow, arg);
}

static void check_approvals(struct pg_list_query q,
                            bool (*pred)(const struct approval_fx *, const void *), const void *arg,
                            size_t min_expected)
{
    char *exp[NAPPROVALS];
    size_t n = approval_expect(pred, arg, exp);
    assert_true(n >= min_expected);
    for (size_t i = 0; i < sizeof(page_sizes) / sizeof(page_sizes[0]); i++) {
        json_t *rows = collect(pg_lists_approvals, q, page_sizes[i]);
        assert_ids(rows, "approval_id", exp, n);
        json_decref(rows);
    }
}

static void test_approvals_paging(void **state)
{
    (void)state;
    struct pg_list_query q = {.schema = SCHEMA};
    check_approvals(q, NULL, NULL, NAPPROVALS - 2);
    /* Pending first: the first page of 16 is exactly the pending ones. */
    char *exp[NAPPROVALS];
    approval_expect(NULL, NULL, exp);
    assert_string_equal(exp[0], "a-p08");  /* most overdue */
    assert_string_equal(exp[9], "a-p09");  /* infinite due: last with a due time */
    assert_string_equal(exp[10], "a-p16"); /* no due time, newest first */
    assert_string_equal(exp[16], "a-d02"); /* decided, newest first, id descending */
}

static void test_approvals_filters(void **state)
{
    (void)state;
    struct pg_list_query q = {.schema = SCHEMA, .status = "pending"};
    check_approvals(q, approval_status_is, "pending", 16);
    q = (struct pg_list_query){.schema = SCHEMA, .status = "approved"};
    check_approvals(q, approval_status_is, "approved", 4);
    q = (struct pg_list_query){.schema = SCHEMA, .status = "cancelled"};
    check_approvals(q, approval_status_is, "cancelled", 3);
    q = (struct pg_list_query){.schema = SCHEMA, .overdue = true};
    check_approvals(q, approval_overdue, NULL, 3);
    q = (struct pg_list_query){.schema = SCHEMA, .overdue = true, .status = "pending"};
    check_approvals(q, approval_overdue, NULL, 3);
    int64_t since = T0 - 4 * SEC;
    q = (struct pg_list_query){.schema = SCHEMA, .since_us = since};
    check_approvals(q, approval_since, &since, 10);
    q = (struct pg_list_query){.schema = SCHEMA, .search = "50%_"};
    check_approvals(q, approval_title, "50%_", 2);
    q = (struct pg_list_query){.schema = SCHEMA, .search = "DEPLOY"};
    check_approvals(q, approval_title, "DEPLOY", 4);

    /* Overdue and a decided status exclude each other. */
    q = (struct pg_list_query){
        .schema = SCHEMA, .overdue = true, .status = "approved", .limit = 10};
    json_t *rows = NULL;
    char *next = NULL;
    CHECK_OK(pg_lists_approvals(conn, &q, &rows, &next, &err_));
    assert_int_equal(json_array_size(rows), 0);
    assert_null(next);
    json_decref(rows);

    /* A cursor from the unfiltered list that points past the pending rows,
     * used with --status pending: an empty last page. */
    q = (struct pg_list_query){.schema = SCHEMA, .limit = 17};
    CHECK_OK(pg_lists_approvals(conn, &q, &rows, &next, &err_));
    assert_non_null(next);
    json_decref(rows);
    q = (struct pg_list_query){.schema = SCHEMA, .status = "pending", .limit = 5, .after = next};
    json_t *rows2 = NULL;
    char *next2 = NULL;
    CHECK_OK(pg_lists_approvals(conn, &q, &rows2, &next2, &err_));
    assert_int_equal(json_array_size(rows2), 0);
    assert_null(next2);
    json_decref(rows2);
    free(next);
}

static void test_approvals_rows(void **state)
{
    (void)state;
    struct pg_list_query q = {.schema = SCHEMA, .limit = 1000};
    json_t *rows = NULL;
    char *next = NULL;
    CHECK_OK(pg_lists_approvals(conn, &q, &rows, &next, &err_));
    size_t i;
    json_t *r;
    int seen = 0;
    json_array_foreach(rows, i, r)
    {
        const char *id = str(r, "approval_id");
        assert_true(json_is_integer(json_object_get(r, "version")));
        assert_true(json_is_boolean(json_object_get(r, "overdue")));
        assert_iso(json_object_get(r, "requested_at"));
        assert_null(json_object_get(r, "request_data"));
        if (strcmp(id, "a-p06") == 0) {
            seen++;
            assert_true(json_is_true(json_object_get(r, "overdue")));
            json_int_t d = json_integer_value(json_object_get(r, "due_in_s"));
            assert_true(d <= -3500 && d >= -3700);
            assert_int_equal(iso_us(json_object_get(r, "requested_at")), T0 - 30 * SEC);
        } else if (strcmp(id, "a-p05") == 0) {
            seen++;
            assert_true(json_is_false(json_object_get(r, "overdue")));
            json_int_t d = json_integer_value(json_object_get(r, "due_in_s"));
            assert_true(d >= 3500 && d <= 3600);
            assert_iso(json_object_get(r, "due_at"));
        } else if (strcmp(id, "a-p11") == 0) {
            seen++;
            assert_true(json_is_false(json_object_get(r, "overdue")));
            assert_true(json_is_null(json_object_get(r, "due_in_s")));
            assert_true(json_is_null(json_object_get(r, "due_at")));
        } else if (strcmp(id, "a-p09") == 0) {
            seen++;
            /* An infinite due time has no ISO form and no countdown. */
            assert_true(json_is_null(json_object_get(r, "due_at")));
            assert_true(json_is_null(json_object_get(r, "due_in_s")));
            assert_true(json_is_false(json_object_get(r, "overdue")));
        } else if (strcmp(id, "a-d00") == 0) {
            seen++;
            /* Past due but decided: not overdue. */
            assert_true(json_is_false(json_object_get(r, "overdue")));
            assert_string_equal(str(r, "decided_by"), "carol");
            assert_iso(json_object_get(r, "decided_at"));
        }
    }
    assert_int_equal(seen, 5);
    json_decref(rows);
}

static void test_approval_show(void **state)
{
    (void)state;
    json_t *a = NULL;
    /* Linked by execution id. */
    CHECK_OK(pg_lists_approval(conn, SCHEMA, "a-p01", &a, &err_));
    assert_string_equal(str(a, "approval_id"), "a-p01");
    assert_string_equal(str(a, "title"), "Refund 50%_off");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(a, "request_data"), "amount")), 0);
    json_t *saga = json_object_get(a, "saga");
    assert_true(json_is_object(saga));
    assert_string_equal(str(saga, "execution_id"), "ex-000");
    assert_true(json_is_integer(json_object_get(saga, "steps_total")));
    json_decref(a);
    /* Linked by trace id: the newest execution carrying it. */
    CHECK_OK(pg_lists_approval(conn, SCHEMA, "a-p02", &a, &err_));
    assert_string_equal(str(json_object_get(a, "saga"), "execution_id"), "sx-trace-new");
    json_decref(a);
    /* An execution id wins over a trace id. */
    CHECK_OK(pg_lists_approval(conn, SCHEMA, "a-p03", &a, &err_));
    assert_string_equal(str(json_object_get(a, "saga"), "execution_id"), "ex-003");
    json_decref(a);
    /* No saga: null, present. */
    CHECK_OK(pg_lists_approval(conn, SCHEMA, "a-p04", &a, &err_));
    assert_non_null(json_object_get(a, "saga"));
    assert_true(json_is_null(json_object_get(a, "saga")));
    json_decref(a);

    struct error err = {0};
    a = NULL;
    assert_int_equal(pg_lists_approval(conn, SCHEMA, "no-such", &a, &err), STATUS_NOT_FOUND);
    assert_null(a);
}

/* ------------------------------------------------------------------------
 * Schedules */

static void check_schedules(struct pg_list_query q, size_t min_expected)
{
    char *exp[NSCHEDULES];
    size_t n = schedule_expect(q.paused, q.search, exp);
    assert_true(n >= min_expected);
    for (size_t i = 0; i < sizeof(page_sizes) / sizeof(page_sizes[0]); i++) {
        json_t *rows = collect(pg_lists_schedules, q, page_sizes[i]);
        assert_ids(rows, "schedule_id", exp, n);
        json_decref(rows);
    }
}

static void test_schedules(void **state)
{
    (void)state;
    check_schedules((struct pg_list_query){.schema = SCHEMA}, NSCHEDULES);
    check_schedules((struct pg_list_query){.schema = SCHEMA, .paused = true}, 4);
    check_schedules((struct pg_list_query){.schema = SCHEMA, .search = "nightly_"}, 1);
    check_schedules((struct pg_list_query){.schema = SCHEMA, .search = "50%_"}, 1);
    check_schedules((struct pg_list_query){.schema = SCHEMA, .search = "SYNC", .paused = true}, 2);

    json_t *s = NULL;
    CHECK_OK(pg_lists_schedule(conn, SCHEMA, "nightlyXbackup", &s, &err_));
    json_t *cron = json_object_get(s, "cron_expressions");
    assert_int_equal(json_array_size(cron), 2);
    assert_string_equal(json_string_value(json_array_get(cron, 1)), "30 3 * * 1-5");
    assert_true(json_is_null(json_object_get(s, "interval_seconds")));
    assert_true(json_is_false(json_object_get(s, "paused")));
    assert_string_equal(str(s, "timezone"), "UTC");
    assert_string_equal(str(s, "overlap_policy"), "skip");
    assert_string_equal(str(s, "last_run_status"), "ok");
    assert_iso(json_object_get(s, "next_run_at"));
    assert_iso(json_object_get(s, "last_run_at"));
    assert_true(json_is_integer(json_object_get(s, "running_count")));
    assert_true(json_is_integer(json_object_get(s, "version")));
    json_decref(s);
    CHECK_OK(pg_lists_schedule(conn, SCHEMA, "nightly_backup", &s, &err_));
    assert_true(json_is_true(json_object_get(s, "paused")));
    assert_string_equal(str(s, "pause_note"), "maintenance 50%_window");
    assert_string_equal(str(s, "paused_by"), "alice");
    assert_int_equal(iso_us(json_object_get(s, "resume_at")), T0 + HOUR);
    assert_iso(json_object_get(s, "paused_at"));
    json_decref(s);
    CHECK_OK(pg_lists_schedule(conn, SCHEMA, "every-5m", &s, &err_));
    assert_int_equal(json_array_size(json_object_get(s, "cron_expressions")), 0);
    assert_int_equal(json_integer_value(json_object_get(s, "interval_seconds")), 300);
    json_decref(s);

    struct error err = {0};
    s = NULL;
    assert_int_equal(pg_lists_schedule(conn, SCHEMA, "nope", &s, &err), STATUS_NOT_FOUND);
    assert_null(s);
}

/* ------------------------------------------------------------------------
 * Audit */

static bool audit_operator(const struct audit_fx *a, const void *arg)
{
    return strcmp(a->operator_, arg) == 0;
}

static bool audit_action(const struct audit_fx *a, const void *arg)
{
    return strcmp(a->action, arg) == 0;
}

static bool audit_since(const struct audit_fx *a, const void *arg)
{
    return a->at >= *(const int64_t *)arg;
}

static bool audit_50(const struct audit_fx *a, const void *arg)
{
    (void)arg;
    return strstr(a->reason, "50%_") != NULL || a->id == audits[2].id;
}

static void check_audit(struct pg_list_query q, bool (*pred)(const struct audit_fx *, const void *),
                        const void *arg, size_t min_expected)
{
    char *exp[NAUDIT];
    size_t n = audit_expect(pred, arg, exp);
    assert_true(n >= min_expected);
    for (size_t i = 0; i < sizeof(page_sizes) / sizeof(page_sizes[0]); i++) {
        json_t *rows = collect(pg_lists_audit, q, page_sizes[i]);
        assert_ids(rows, "audit_id", exp, n);
        json_decref(rows);
    }
}

static void test_audit(void **state)
{
    (void)state;
    check_audit((struct pg_list_query){.schema = SCHEMA}, NULL, NULL, NAUDIT);
    check_audit((struct pg_list_query){.schema = SCHEMA, .operator_ = "bob"}, audit_operator, "bob",
                8);
    check_audit((struct pg_list_query){.schema = SCHEMA, .action = "pause"}, audit_action, "pause",
                6);
    int64_t since = T0 - 3 * SEC;
    check_audit((struct pg_list_query){.schema = SCHEMA, .since_us = since}, audit_since, &since,
                12);
    check_audit((struct pg_list_query){.schema = SCHEMA, .search = "50%_"}, audit_50, NULL, 2);

    struct pg_list_query q = {.schema = SCHEMA, .limit = 1000};
    json_t *rows = NULL;
    char *next = NULL;
    CHECK_OK(pg_lists_audit(conn, &q, &rows, &next, &err_));
    size_t i;
    json_t *r;
    int seen = 0;
    json_array_foreach(rows, i, r)
    {
        assert_true(json_is_string(json_object_get(r, "audit_id")));
        assert_iso(json_object_get(r, "at"));
        assert_string_equal(str(r, "client_host"), "host1");
        assert_string_equal(str(r, "outcome"), "ok");
        assert_true(json_is_string(json_object_get(r, "db_user")));
        assert_true(json_is_string(json_object_get(r, "idempotency_key")));
        assert_non_null(json_object_get(r, "before"));
        assert_non_null(json_object_get(r, "after"));
        if (strcmp(str(r, "audit_id"), audits[0].idtext) == 0) {
            seen++;
            assert_string_equal(str(json_object_get(r, "before"), "status"), "pending");
            assert_int_equal(
                json_integer_value(json_object_get(json_object_get(r, "after"), "version")), 2);
            assert_int_equal(iso_us(json_object_get(r, "at")), T0);
        } else if (strcmp(str(r, "audit_id"), audits[1].idtext) == 0) {
            seen++;
            assert_true(json_is_null(json_object_get(r, "before")));
            assert_true(json_is_string(json_object_get(r, "after")));
        }
    }
    assert_int_equal(seen, 2);
    json_decref(rows);
}

/* ------------------------------------------------------------------------
 * Bad input */

static void expect_usage(list_fn fn, struct pg_list_query q, const char *needle)
{
    json_t *rows = (json_t *)1;
    char *next = (char *)1;
    struct error err = {0};
    if (q.limit == 0 && needle != NULL && strstr(needle, "limit") == NULL)
        q.limit = 10;
    enum status rc = fn(conn, &q, &rows, &next, &err);
    if (rc != STATUS_USAGE)
        fail_msg("expected USAGE for '%s', got %s (%s)", q.after != NULL ? q.after : "",
                 status_name(rc), err.msg);
    assert_null(rows);
    assert_null(next);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("'%s' does not say '%s'", err.msg, needle);
}

static void test_limits(void **state)
{
    (void)state;
    list_fn fns[] = {pg_lists_sagas, pg_lists_approvals, pg_lists_schedules, pg_lists_audit};
    for (size_t i = 0; i < 4; i++) {
        expect_usage(fns[i], (struct pg_list_query){.schema = SCHEMA, .limit = 0}, "--limit");
        expect_usage(fns[i], (struct pg_list_query){.schema = SCHEMA, .limit = 1001}, "--limit");
        expect_usage(fns[i], (struct pg_list_query){.schema = "wf; DROP TABLE x", .limit = 5},
                     "schema");
        expect_usage(fns[i], (struct pg_list_query){.schema = "Wf", .limit = 5}, "schema");
        expect_usage(fns[i], (struct pg_list_query){.schema = NULL, .limit = 5}, "schema");
        json_t *rows = NULL;
        char *next = NULL;
        struct pg_list_query q = {.schema = SCHEMA, .limit = 1000};
        CHECK_OK(fns[i](conn, &q, &rows, &next, &err_));
        assert_null(next);
        json_decref(rows);
        q.limit = 1;
        CHECK_OK(fns[i](conn, &q, &rows, &next, &err_));
        assert_int_equal(json_array_size(rows), 1);
        assert_non_null(next);
        json_decref(rows);
        free(next);
    }
    expect_usage(pg_lists_sagas, (struct pg_list_query){.schema = SCHEMA, .status = "bogus"},
                 "--status");
    expect_usage(pg_lists_approvals, (struct pg_list_query){.schema = SCHEMA, .status = "running"},
                 "--status");

    struct error err = {0};
    json_t *o = NULL;
    assert_int_equal(pg_lists_saga(conn, "bad-schema", "x", &o, &err), STATUS_USAGE);
    assert_int_equal(pg_lists_approval(conn, "", "x", &o, &err), STATUS_USAGE);
    assert_int_equal(pg_lists_schedule(conn, SCHEMA, NULL, &o, &err), STATUS_USAGE);
    assert_null(o);
}

static void test_bad_cursors(void **state)
{
    (void)state;
    list_fn fns[] = {pg_lists_sagas, pg_lists_approvals, pg_lists_schedules, pg_lists_audit};
    char *real[4];
    for (size_t i = 0; i < 4; i++) {
        json_t *rows = NULL;
        struct pg_list_query q = {.schema = SCHEMA, .limit = 1};
        CHECK_OK(fns[i](conn, &q, &rows, &real[i], &err_));
        assert_non_null(real[i]);
        json_decref(rows);
        /* The cursor is URL- and shell-safe text. */
        assert_int_equal(strspn(real[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789-_"),
                         strlen(real[i]));
    }
    char longc[20000];
    memset(longc, 'A', sizeof(longc) - 1);
    longc[sizeof(longc) - 1] = '\0';
    const char *json_bad[] = {
        "[\"sagas\"]",
        "[\"sagas\",\"x\",\"y\"]",
        "[\"sagas\",1,2]",
        "[\"sagas\",1,\"a\",4]",
        "{\"sagas\":1}",
        "[\"sagas\",1.5,\"a\"]",
        "[\"sagas\",-9000000000000000000,\"a\"]",
        "[\"approvals\",2,null,1,\"a\"]",
        "[\"approvals\",1,5,1,\"a\"]",
        "[\"approvals\",0,\"x\",1,\"a\"]",
        "[\"schedules\",7]",
        "[\"audit\",1,\"7\"]",
        "[\"nosuch\",1,\"a\"]",
        "[\"sagas\",1,\"a\"] x",
        "[1,\"sagas\",\"a\"]",
    };
    for (size_t i = 0; i < 4; i++) {
        const char *garbage[] = {"",       "garbage!", "Zm9v", "Zm9vYg==", "%00",   "A",
                                 "Zm9vYh", "e30",      longc,  "W10",      "bnVsbA"};
        for (size_t g = 0; g < sizeof(garbage) / sizeof(garbage[0]); g++)
            expect_usage(fns[i], (struct pg_list_query){.schema = SCHEMA, .after = garbage[g]},
                         "bad --after cursor");
        for (size_t j = 0; j < 4; j++)
            if (j != i)
                expect_usage(fns[i], (struct pg_list_query){.schema = SCHEMA, .after = real[j]},
                             "bad --after cursor: it belongs to another list");
        for (size_t b = 0; b < sizeof(json_bad) / sizeof(json_bad[0]); b++) {
            char *c = b64url(json_bad[b]);
            expect_usage(fns[i], (struct pg_list_query){.schema = SCHEMA, .after = c},
                         "bad --after cursor");
            free(c);
        }
    }
    /* A hand-made but well-formed cursor works: infinity as the time
     * (everything is older) gives the first page. */
    char *c = b64url("[\"sagas\",9223372036854775807,\"zzz\"]");
    json_t *rows = NULL;
    char *next = NULL;
    struct pg_list_query q = {.schema = SCHEMA, .limit = 2, .after = c};
    CHECK_OK(pg_lists_sagas(conn, &q, &rows, &next, &err_));
    char *exp[NSAGAS];
    saga_expect(NULL, NULL, exp);
    assert_ids(rows, "execution_id", exp, 2);
    json_decref(rows);
    free(next);
    free(c);
    /* The far past: nothing is older. */
    c = b64url("[\"audit\",-210866803200000000,1]");
    q = (struct pg_list_query){.schema = SCHEMA, .limit = 2, .after = c};
    CHECK_OK(pg_lists_audit(conn, &q, &rows, &next, &err_));
    assert_int_equal(json_array_size(rows), 0);
    assert_null(next);
    json_decref(rows);
    free(c);
    for (size_t i = 0; i < 4; i++)
        free(real[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sagas_paging),     cmocka_unit_test(test_sagas_filters),
        cmocka_unit_test(test_sagas_rows),       cmocka_unit_test(test_saga_show),
        cmocka_unit_test(test_approvals_paging), cmocka_unit_test(test_approvals_filters),
        cmocka_unit_test(test_approvals_rows),   cmocka_unit_test(test_approval_show),
        cmocka_unit_test(test_schedules),        cmocka_unit_test(test_audit),
        cmocka_unit_test(test_limits),           cmocka_unit_test(test_bad_cursors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
