/* The list and show queries of SPEC section 2 over PostgreSQL: each page is
 * one statement that builds its rows as JSON on the server and pages by
 * keyset along an index of sql/001_core.sql or sql/002_list_indexes.sql, so
 * a deep page costs what the first one does. */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/pg_actions.h"
#include "backends/pg_internal.h"
#include "backends/pg_lists.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define PG_LISTS_MAX_LIMIT  1000
#define PG_LISTS_MAX_PARAMS 16
/* Room for any id a btree index can hold (about 2.7 kB), JSON-escaped. */
#define PG_LISTS_CURSOR_MAX 16384

/* Sort times travel in cursors as microseconds since the epoch; infinite
 * times as the two ends of int64. Finite times start at PostgreSQL's first
 * timestamp (4714-11-24 BC). */
#define PG_LISTS_US_MIN (-INT64_C(210866803200000000))

/* The SQL fragments below are kept one clause per line. */
/* clang-format off */
/* A time as every list shows it: ISO 8601 in UTC with microseconds and 'Z'
 * (NULL for NULL and for infinite times). */
#define PG_LISTS_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* A sort time as the microseconds that go into a cursor. */
#define PG_LISTS_KEY_US(col)                                                                       \
    "CASE WHEN " col " = 'infinity' THEN 9223372036854775807"                                      \
    " WHEN " col " = '-infinity' THEN -9223372036854775807 - 1"                                    \
    " ELSE (extract(epoch FROM " col ") * 1000000)::bigint END"

#define PG_LISTS_KEY_SAGA      PG_LISTS_KEY_US("e.created_at")
#define PG_LISTS_KEY_DUE       PG_LISTS_KEY_US("a.due_at")
#define PG_LISTS_KEY_REQUESTED PG_LISTS_KEY_US("a.requested_at")
#define PG_LISTS_KEY_AUDIT     PG_LISTS_KEY_US("x.at")

/* A saga row, over e (an execution) and st (PG_LISTS_SAGA_STEPS). */
#define PG_LISTS_SAGA_JSON                                                                         \
    "json_build_object('execution_id', e.execution_id, 'saga_id', e.saga_id, 'name', e.name,"     \
    " 'status', e.status, 'trace_id', e.trace_id, 'error', e.error,"                               \
    " 'started_at', " PG_LISTS_ISO("e.started_at") ","                                             \
    " 'completed_at', " PG_LISTS_ISO("e.completed_at") ","                                         \
    " 'created_at', " PG_LISTS_ISO("e.created_at") ","                                             \
    " 'updated_at', " PG_LISTS_ISO("e.updated_at") ","                                             \
    " 'version', e.version, 'steps_total', st.total, 'steps_completed', st.completed,"            \
    " 'steps_failed', st.failed, 'steps_compensated', st.compensated,"                             \
    " 'current_step', st.current_step)"

/* The step counts of execution e, from the primary key of saga_steps: the
 * cost is the page's steps, never the table's. The current step is the
 * first failed one, else the first running or compensating one. Needs the
 * schema as printf argument 1. */
#define PG_LISTS_SAGA_STEPS                                                                        \
    " LEFT JOIN LATERAL (SELECT count(*) AS total,"                                                \
    " count(*) FILTER (WHERE s.status = 'completed') AS completed,"                                \
    " count(*) FILTER (WHERE s.status = 'failed') AS failed,"                                      \
    " count(*) FILTER (WHERE s.status = 'compensated') AS compensated,"                            \
    " coalesce((array_agg(coalesce(s.name, s.step_id) ORDER BY s.position, s.step_id)"             \
    "           FILTER (WHERE s.status = 'failed'))[1],"                                           \
    "          (array_agg(coalesce(s.name, s.step_id) ORDER BY s.position, s.step_id)"             \
    "           FILTER (WHERE s.status IN ('running', 'compensating')))[1]) AS current_step"       \
    " FROM %1$s.saga_steps s WHERE s.execution_id = e.execution_id) st ON true"

/* A step of a saga's detail, over s; result is filled from its own column. */
#define PG_LISTS_STEP_JSON                                                                         \
    "json_build_object('step_id', s.step_id, 'name', s.name, 'status', s.status,"                 \
    " 'result', NULL, 'error', s.error,"                                                           \
    " 'started_at', " PG_LISTS_ISO("s.started_at") ","                                             \
    " 'completed_at', " PG_LISTS_ISO("s.completed_at") ","                                         \
    " 'retry_count', s.retry_count, 'max_retries', s.max_retries, 'position', s.position)"

/* An approval row, over a. overdue and due_in_s use the statement's now(). */
#define PG_LISTS_APPROVAL_JSON                                                                     \
    "json_build_object('approval_id', a.approval_id, 'workflow_id', a.workflow_id,"               \
    " 'step_id', a.step_id, 'title', a.title, 'requested_by', a.requested_by,"                     \
    " 'assignee_group', a.assignee_group,"                                                         \
    " 'requested_at', " PG_LISTS_ISO("a.requested_at") ","                                         \
    " 'due_at', " PG_LISTS_ISO("a.due_at") ","                                                     \
    " 'escalate_at', " PG_LISTS_ISO("a.escalate_at") ","                                           \
    " 'escalated_at', " PG_LISTS_ISO("a.escalated_at") ","                                         \
    " 'status', a.status, 'decided_by', a.decided_by,"                                             \
    " 'decided_at', " PG_LISTS_ISO("a.decided_at") ","                                             \
    " 'decision_note', a.decision_note,"                                                           \
    " 'updated_at', " PG_LISTS_ISO("a.updated_at") ","                                             \
    " 'version', a.version,"                                                                       \
    " 'overdue', coalesce(a.status = 'pending' AND a.due_at < now(), false),"                      \
    " 'due_in_s', CASE WHEN isfinite(a.due_at)"                                                    \
    "             THEN floor(extract(epoch FROM a.due_at - now()))::bigint END)"

/* A schedule row (every column of the contract), over x. */
#define PG_LISTS_SCHEDULE_JSON                                                                     \
    "json_build_object('schedule_id', x.schedule_id, 'workflow_type', x.workflow_type,"           \
    " 'cron_expressions', to_json(x.cron_expressions), 'interval_seconds', x.interval_seconds,"    \
    " 'timezone', x.timezone, 'overlap_policy', x.overlap_policy, 'paused', x.paused,"             \
    " 'pause_note', x.pause_note, 'paused_by', x.paused_by,"                                       \
    " 'paused_at', " PG_LISTS_ISO("x.paused_at") ","                                               \
    " 'resume_at', " PG_LISTS_ISO("x.resume_at") ","                                               \
    " 'last_run_at', " PG_LISTS_ISO("x.last_run_at") ","                                           \
    " 'last_run_status', x.last_run_status, 'last_workflow_id', x.last_workflow_id,"               \
    " 'next_run_at', " PG_LISTS_ISO("x.next_run_at") ","                                           \
    " 'running_count', x.running_count,"                                                           \
    " 'created_at', " PG_LISTS_ISO("x.created_at") ","                                             \
    " 'updated_at', " PG_LISTS_ISO("x.updated_at") ","                                             \
    " 'version', x.version)"

/* An audit row (every column), over x; before and after are filled from
 * their own columns. */
#define PG_LISTS_AUDIT_JSON                                                                        \
    "json_build_object('audit_id', x.audit_id::text, 'at', " PG_LISTS_ISO("x.at") ","             \
    " 'operator', x.operator, 'db_user', x.db_user, 'client_host', x.client_host,"                 \
    " 'client_addr', x.client_addr, 'action', x.action, 'target_kind', x.target_kind,"             \
    " 'target_id', x.target_id, 'reason', x.reason, 'before', NULL, 'after', NULL,"                \
    " 'outcome', x.outcome, 'detail', x.detail, 'idempotency_key', x.idempotency_key)"
/* clang-format on */

enum pg_lists_kind {
    PG_LISTS_SAGAS,
    PG_LISTS_APPROVALS,
    PG_LISTS_SCHEDULES,
    PG_LISTS_AUDIT,
};

/* Per list: the cursor's tag, and the JSON columns that follow the row
 * object in each result row (their keys in the row). The sort key columns
 * come after those. */
static const struct {
    const char *tag;
    const char *docs[2];
    int ndocs;
} pg_lists_kinds[] = {
    [PG_LISTS_SAGAS] = {"sagas", {NULL, NULL}, 0},
    [PG_LISTS_APPROVALS] = {"approvals", {NULL, NULL}, 0},
    [PG_LISTS_SCHEDULES] = {"schedules", {NULL, NULL}, 0},
    [PG_LISTS_AUDIT] = {"audit", {"before", "after"}, 2},
};

static const char *const pg_lists_saga_statuses[] = {
    "pending", "running", "completed", "failed", "compensating", "compensated", NULL,
};
static const char *const pg_lists_approval_statuses[] = {
    "pending", "approved", "rejected", "expired", "cancelled", NULL,
};

/* Where a page starts: the sort values of the previous page's last row.
 * sagas: t_us, id; approvals: seg (0 pending, 1 the others), due (pending
 * only, may be absent), t_us (requested_at), id; schedules: id; audit:
 * t_us, num (audit_id). */
struct pg_lists_key {
    int seg;
    bool has_due;
    int64_t due_us;
    int64_t t_us;
    int64_t num;
    char *id;
};

/* Bound parameters of one statement (all text, owned). */
struct pg_lists_params {
    int n;
    char *v[PG_LISTS_MAX_PARAMS];
};

/* Adds a parameter (taken) and returns its number for "$n". */
static int pg_lists_param_take(struct pg_lists_params *p, char *value)
{
    if (p->n >= PG_LISTS_MAX_PARAMS)
        xfatal("pg_lists: too many parameters");
    p->v[p->n++] = value;
    return p->n;
}

static int pg_lists_param(struct pg_lists_params *p, const char *value)
{
    return pg_lists_param_take(p, xstrdup(value));
}

static int pg_lists_param_int(struct pg_lists_params *p, int64_t value)
{
    return pg_lists_param_take(p, xasprintf("%" PRId64, value));
}

static void pg_lists_params_done(struct pg_lists_params *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->v[i]);
    p->n = 0;
}

/* Appends " AND " unless cond is empty, then the printf-style condition. */
static void pg_lists_cond(struct buf *cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void pg_lists_cond(struct buf *cond, const char *fmt, ...)
{
    va_list ap;
    if (cond->len > 0)
        buf_adds(cond, " AND ");
    va_start(ap, fmt);
    buf_addvf(cond, fmt, ap);
    va_end(ap);
}

/* The timestamptz of a microseconds parameter, in integer arithmetic (a
 * double would round microseconds away). */
static void pg_lists_sql_time(struct buf *b, int n)
{
    buf_addf(b,
             "(CASE $%1$d::bigint WHEN 9223372036854775807 THEN 'infinity'::timestamptz"
             " WHEN -9223372036854775807 - 1 THEN '-infinity'::timestamptz"
             " ELSE 'epoch'::timestamptz + ($%1$d::bigint / 1000000) * interval '1 second'"
             " + ($%1$d::bigint %% 1000000) * interval '1 microsecond' END)",
             n);
}

/* "col >= since" and "col < until" for the filters that are set. */
static void pg_lists_time_range(struct buf *cond, struct pg_lists_params *p, const char *col,
                                const struct pg_list_query *q)
{
    if (q->since_us != 0) {
        pg_lists_cond(cond, "%s >= ", col);
        pg_lists_sql_time(cond, pg_lists_param_int(p, q->since_us));
    }
    if (q->until_us != 0) {
        pg_lists_cond(cond, "%s < ", col);
        pg_lists_sql_time(cond, pg_lists_param_int(p, q->until_us));
    }
}

/* "(c1 ILIKE $n OR c2 ILIKE $n ...)" for a search text, with LIKE's
 * wildcards and escape in it taken literally. cols is NULL-terminated. */
static void pg_lists_search(struct buf *cond, struct pg_lists_params *p, const char *search,
                            const char *const *cols)
{
    struct buf pat;
    buf_init(&pat);
    buf_addc(&pat, '%');
    for (const char *s = search; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            buf_addc(&pat, '\\');
        buf_addc(&pat, *s);
    }
    buf_addc(&pat, '%');
    int n = pg_lists_param_take(p, buf_take(&pat));
    if (cond->len > 0)
        buf_adds(cond, " AND ");
    buf_addc(cond, '(');
    for (size_t i = 0; cols[i] != NULL; i++)
        buf_addf(cond, "%s%s ILIKE $%d", i > 0 ? " OR " : "", cols[i], n);
    buf_addc(cond, ')');
}

/* A schema name is formatted into SQL, so only plain lower-case
 * identifiers are taken. */
static bool pg_lists_schema_ok(const char *s)
{
    if (s == NULL || !((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
            return false;
    return n <= 63;
}

static enum status pg_lists_check_schema(const char *schema, struct error *err)
{
    if (!pg_lists_schema_ok(schema))
        return error_set(err, STATUS_USAGE,
                         "bad schema name '%s': expected lower-case letters, digits and _",
                         schema != NULL ? schema : "");
    return STATUS_OK;
}

static enum status pg_lists_check_status(const char *status, const char *const *valid,
                                         struct error *err)
{
    if (status == NULL)
        return STATUS_OK;
    for (size_t i = 0; valid[i] != NULL; i++)
        if (strcmp(status, valid[i]) == 0)
            return STATUS_OK;
    struct buf b;
    buf_init(&b);
    for (size_t i = 0; valid[i] != NULL; i++)
        buf_addf(&b, "%s%s", i > 0 ? ", " : "", valid[i]);
    error_set(err, STATUS_USAGE, "--status: expected one of %s; got '%s'", buf_get(&b), status);
    buf_done(&b);
    return STATUS_USAGE;
}

static enum status pg_lists_check_query(const struct pg_list_query *q, struct error *err)
{
    enum status rc = pg_lists_check_schema(q->schema, err);
    if (rc != STATUS_OK)
        return rc;
    if (q->limit < 1 || q->limit > PG_LISTS_MAX_LIMIT)
        return error_set(err, STATUS_USAGE, "--limit: expected 1 to %d, got %zu",
                         PG_LISTS_MAX_LIMIT, q->limit);
    return STATUS_OK;
}

/* ------------------------------------------------------------------------
 * Cursors: base64url (no padding) of a compact JSON array whose first item
 * names the list, e.g. ["sagas",1795461154583641,"exec-7"]. */

static const char pg_lists_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *pg_lists_b64_encode(const unsigned char *in, size_t len)
{
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = pg_lists_b64[(v >> 18) & 63];
        out[o++] = pg_lists_b64[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = pg_lists_b64[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = pg_lists_b64[v & 63];
    }
    out[o] = '\0';
    return out;
}

/* Decodes canonical base64url without padding; NULL on any other input. */
static unsigned char *pg_lists_b64_decode(const char *in, size_t *len)
{
    size_t n = strlen(in);
    if (n == 0 || n % 4 == 1)
        return NULL;
    unsigned char *out = xmalloc(n / 4 * 3 + 3);
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = memchr(pg_lists_b64, in[i], 64);
        if (in[i] == '\0' || p == NULL) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)(p - pg_lists_b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero, so that each position has one spelling. */
    if (acc != 0) {
        free(out);
        return NULL;
    }
    *len = o;
    return out;
}

static bool pg_lists_json_us(json_t *v, int64_t *us)
{
    if (!json_is_integer(v))
        return false;
    json_int_t i = json_integer_value(v);
    if (i != INT64_MIN && i < PG_LISTS_US_MIN)
        return false;
    *us = (int64_t)i;
    return true;
}

/* Parses a cursor of list kind into *key (id heap-owned). Anything but a
 * cursor this file wrote for that list is STATUS_USAGE. */
static enum status pg_lists_cursor_parse(enum pg_lists_kind kind, const char *cursor,
                                         struct pg_lists_key *key, struct error *err)
{
    enum status rc = STATUS_USAGE;
    const char *why = "not a cursor of";
    unsigned char *raw = NULL;
    json_t *a = NULL;
    size_t len = 0;
    json_error_t jerr;

    memset(key, 0, sizeof(*key));
    if (strlen(cursor) > PG_LISTS_CURSOR_MAX)
        goto out;
    raw = pg_lists_b64_decode(cursor, &len);
    if (raw == NULL)
        goto out;
    a = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_array(a) || json_array_size(a) < 2 || !json_is_string(json_array_get(a, 0)))
        goto out;
    const char *tag = json_string_value(json_array_get(a, 0));
    if (strcmp(tag, pg_lists_kinds[kind].tag) != 0) {
        for (size_t k = 0; k < sizeof(pg_lists_kinds) / sizeof(pg_lists_kinds[0]); k++)
            if (strcmp(tag, pg_lists_kinds[k].tag) == 0)
                why = "it belongs to another list, not";
        goto out;
    }
    why = "a malformed cursor of";
    json_t *id = NULL;
    switch (kind) {
    case PG_LISTS_SAGAS:
        if (json_array_size(a) != 3 || !pg_lists_json_us(json_array_get(a, 1), &key->t_us))
            goto out;
        id = json_array_get(a, 2);
        break;
    case PG_LISTS_APPROVALS: {
        json_t *seg = json_array_get(a, 1), *due = json_array_get(a, 2);
        if (json_array_size(a) != 5 || !json_is_integer(seg) ||
            !pg_lists_json_us(json_array_get(a, 3), &key->t_us))
            goto out;
        if (json_integer_value(seg) != 0 && json_integer_value(seg) != 1)
            goto out;
        key->seg = (int)json_integer_value(seg);
        if (json_is_null(due)) {
            key->has_due = false;
        } else if (key->seg == 0 && pg_lists_json_us(due, &key->due_us)) {
            key->has_due = true;
        } else {
            goto out;
        }
        id = json_array_get(a, 4);
        break;
    }
    case PG_LISTS_SCHEDULES:
        if (json_array_size(a) != 2)
            goto out;
        id = json_array_get(a, 1);
        break;
    case PG_LISTS_AUDIT:
        if (json_array_size(a) != 3 || !pg_lists_json_us(json_array_get(a, 1), &key->t_us) ||
            !json_is_integer(json_array_get(a, 2)))
            goto out;
        key->num = json_integer_value(json_array_get(a, 2));
        break;
    }
    if (kind != PG_LISTS_AUDIT) {
        if (!json_is_string(id))
            goto out;
        key->id = xstrdup(json_string_value(id));
    }
    rc = STATUS_OK;
out:
    if (rc != STATUS_OK)
        error_set(err, rc, "bad --after cursor: %s the %s list", why, pg_lists_kinds[kind].tag);
    json_decref(a);
    free(raw);
    return rc;
}

/* The cursor after row r of res, whose key columns start at col. */
static char *pg_lists_cursor_make(enum pg_lists_kind kind, const PGresult *res, int r, int col)
{
    static const size_t items[] = {[PG_LISTS_SAGAS] = 3,
                                   [PG_LISTS_APPROVALS] = 5,
                                   [PG_LISTS_SCHEDULES] = 2,
                                   [PG_LISTS_AUDIT] = 3};
    json_t *a = json_array();
    json_array_append_new(a, json_string(pg_lists_kinds[kind].tag));
    switch (kind) {
    case PG_LISTS_SAGAS:
        json_array_append_new(a, json_integer(pg_value_int(res, r, col)));
        json_array_append_new(a, json_string(PQgetvalue(res, r, col + 1)));
        break;
    case PG_LISTS_APPROVALS:
        json_array_append_new(a, json_integer(pg_value_int(res, r, col)));
        json_array_append_new(a, PQgetisnull(res, r, col + 1)
                                     ? json_null()
                                     : json_integer(pg_value_int(res, r, col + 1)));
        json_array_append_new(a, json_integer(pg_value_int(res, r, col + 2)));
        json_array_append_new(a, json_string(PQgetvalue(res, r, col + 3)));
        break;
    case PG_LISTS_SCHEDULES:
        json_array_append_new(a, json_string(PQgetvalue(res, r, col)));
        break;
    case PG_LISTS_AUDIT:
        json_array_append_new(a, json_integer(pg_value_int(res, r, col)));
        json_array_append_new(a, json_integer(pg_value_int(res, r, col + 1)));
        break;
    }
    /* json_string refuses text that is not UTF-8 (a SQL_ASCII database),
     * which leaves the array short; an id too long would make a cursor the
     * parser refuses. Either way there is no cursor to give. */
    char *out = NULL;
    char *text = json_array_size(a) == items[kind] ? json_dumps(a, JSON_COMPACT) : NULL;
    if (text != NULL && (strlen(text) + 2) / 3 * 4 <= PG_LISTS_CURSOR_MAX)
        out = pg_lists_b64_encode((const unsigned char *)text, strlen(text));
    free(text);
    json_decref(a);
    return out;
}

/* ------------------------------------------------------------------------
 * Rows */

/* A JSON column's value. jsonb holds numbers jansson cannot (integers
 * beyond 64 bits, 1e400): such a document is kept as its text, a string,
 * rather than failing the page. */
static json_t *pg_lists_doc(const PGresult *res, int r, int col)
{
    if (PQgetisnull(res, r, col))
        return json_null();
    const char *text = PQgetvalue(res, r, col);
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        v = json_string(text);
    return v != NULL ? v : json_null();
}

/* The row object of result row r: column 0 parsed, then the JSON columns
 * 1..ndocs set under their keys. */
static enum status pg_lists_row(const PGresult *res, int r, const char *const *docs, int ndocs,
                                const char *what, json_t **out, struct error *err)
{
    json_error_t jerr;
    json_t *row = json_loads(PQgetvalue(res, r, 0), 0, &jerr);
    if (!json_is_object(row)) {
        json_decref(row);
        return error_set(err, STATUS_UNAVAILABLE, "postgres: %s: row %d is not a JSON object: %s",
                         what, r + 1, jerr.text);
    }
    for (int d = 0; d < ndocs; d++)
        json_object_set_new(row, docs[d], pg_lists_doc(res, r, 1 + d));
    *out = row;
    return STATUS_OK;
}

/* Runs a page statement that fetched at most limit + 1 rows, and turns it
 * into the page and the cursor after it. */
static enum status pg_lists_page(struct pg_conn *c, enum pg_lists_kind kind, const char *sql,
                                 struct pg_lists_params *p, size_t limit, json_t **rows,
                                 char **next, struct error *err)
{
    enum status rc = STATUS_OK;
    json_t *page = json_array();
    const char *what = pg_lists_kinds[kind].tag;
    int ndocs = pg_lists_kinds[kind].ndocs;

    PGresult *res = pg_conn_query(c, sql, p->n, (const char *const *)p->v, NULL, err);
    if (res == NULL) {
        rc = err != NULL && err->status != STATUS_OK ? err->status : STATUS_UNAVAILABLE;
        goto out;
    }
    int n = PQntuples(res);
    int keep = (size_t)n > limit ? (int)limit : n;
    for (int r = 0; r < keep; r++) {
        json_t *row;
        rc = pg_lists_row(res, r, pg_lists_kinds[kind].docs, ndocs, what, &row, err);
        if (rc != STATUS_OK)
            goto out;
        json_array_append_new(page, row);
    }
    if (n > keep) {
        *next = pg_lists_cursor_make(kind, res, keep - 1, 1 + ndocs);
        if (*next == NULL)
            rc = error_set(err, STATUS_UNAVAILABLE,
                           "postgres: %s: cannot page past row %d: its sort key is not UTF-8 "
                           "or too long for a cursor",
                           what, keep);
    }
out:
    PQclear(res);
    if (rc == STATUS_OK) {
        *rows = page;
    } else {
        json_decref(page);
        free(*next);
        *next = NULL;
    }
    return rc;
}

/* What every list does first: outputs cleared, query checked, cursor
 * parsed. */
static enum status pg_lists_begin(enum pg_lists_kind kind, const struct pg_list_query *q,
                                  json_t **rows, char **next, struct pg_lists_key *key,
                                  bool *has_key, struct error *err)
{
    *rows = NULL;
    *next = NULL;
    *has_key = false;
    memset(key, 0, sizeof(*key));
    enum status rc = pg_lists_check_query(q, err);
    if (rc != STATUS_OK || q->after == NULL)
        return rc;
    rc = pg_lists_cursor_parse(kind, q->after, key, err);
    *has_key = rc == STATUS_OK;
    return rc;
}

/* ------------------------------------------------------------------------
 * Lists */

enum status pg_lists_sagas(struct pg_conn *c, const struct pg_list_query *q, json_t **rows,
                           char **next, struct error *err)
{
    static const char *const search_cols[] = {"x.execution_id", "x.saga_id",  "x.name",
                                              "x.error",        "x.trace_id", NULL};
    struct pg_lists_key key;
    struct pg_lists_params p = {0};
    struct buf cond, sql;
    bool has_key;

    enum status rc = pg_lists_begin(PG_LISTS_SAGAS, q, rows, next, &key, &has_key, err);
    if (rc == STATUS_OK)
        rc = pg_lists_check_status(q->status, pg_lists_saga_statuses, err);
    if (rc != STATUS_OK) {
        free(key.id);
        return rc;
    }
    buf_init(&cond);
    buf_init(&sql);
    if (q->status != NULL)
        pg_lists_cond(&cond, "x.status = $%d", pg_lists_param(&p, q->status));
    if (q->saga_id != NULL)
        pg_lists_cond(&cond, "x.saga_id = $%d", pg_lists_param(&p, q->saga_id));
    if (q->name != NULL)
        pg_lists_cond(&cond, "x.name = $%d", pg_lists_param(&p, q->name));
    pg_lists_time_range(&cond, &p, "x.created_at", q);
    if (q->search != NULL)
        pg_lists_search(&cond, &p, q->search, search_cols);
    if (has_key) {
        pg_lists_cond(&cond, "(x.created_at, x.execution_id) < (");
        pg_lists_sql_time(&cond, pg_lists_param_int(&p, key.t_us));
        buf_addf(&cond, ", $%d)", pg_lists_param(&p, key.id));
    }
    int lim = pg_lists_param_int(&p, (int64_t)q->limit + 1);

    buf_addf(&sql,
             "SELECT " PG_LISTS_SAGA_JSON "::text, " PG_LISTS_KEY_SAGA ", e.execution_id"
             " FROM (SELECT x.* FROM %1$s.saga_executions x",
             q->schema);
    if (cond.len > 0)
        buf_addf(&sql, " WHERE %s", buf_get(&cond));
    buf_addf(&sql,
             " ORDER BY x.created_at DESC, x.execution_id DESC LIMIT $%2$d) e" PG_LISTS_SAGA_STEPS
             " ORDER BY e.created_at DESC, e.execution_id DESC",
             q->schema, lim);

    rc = pg_lists_page(c, PG_LISTS_SAGAS, buf_get(&sql), &p, q->limit, rows, next, err);
    buf_done(&sql);
    buf_done(&cond);
    pg_lists_params_done(&p);
    free(key.id);
    return rc;
}

/* One arm of the approvals statement: pending (seg 0) ordered by urgency
 * along approvals_pending_list_idx, or the others (seg 1) newest first
 * along approvals_requested_idx / approvals_status_requested_idx. */
static void pg_lists_approvals_arm(struct buf *sql, const char *schema, int seg, const char *common,
                                   const char *extra, int lim)
{
    if (sql->len > 0)
        buf_adds(sql, " UNION ALL ");
    buf_addf(sql, "(SELECT x.*, %d AS seg FROM %s.approvals x WHERE x.status %s 'pending'", seg,
             schema, seg == 0 ? "=" : "<>");
    if (common[0])
        buf_addf(sql, " AND %s", common);
    if (extra[0])
        buf_addf(sql, " AND %s", extra);
    if (seg == 0)
        buf_addf(sql, " ORDER BY x.due_at, x.requested_at DESC, x.approval_id DESC LIMIT $%d)",
                 lim);
    else
        buf_addf(sql, " ORDER BY x.requested_at DESC, x.approval_id DESC LIMIT $%d)", lim);
}

/* Appends the keyset (requested_at, approval_id) < (r, i) of the cursor,
 * adding its parameters the first time (*t, *id: their numbers, 0 before). */
static void pg_lists_approvals_after(struct buf *b, struct pg_lists_params *p,
                                     const struct pg_lists_key *key, int *t, int *id)
{
    if (*t == 0) {
        *t = pg_lists_param_int(p, key->t_us);
        *id = pg_lists_param(p, key->id);
    }
    buf_adds(b, "(x.requested_at, x.approval_id) < (");
    pg_lists_sql_time(b, *t);
    buf_addf(b, ", $%d)", *id);
}

/* The order is pending first; among pending, due_at ascending with no due
 * time last, then requested_at and approval_id descending; then the others,
 * requested_at and approval_id descending. No single row comparison
 * expresses the keyset of that order, so the statement is a UNION ALL of
 * arms that each are one contiguous range of an index, each limited to a
 * page; the outer sort sees at most four pages of rows. After a pending
 * row with due time d, requested r and id i the arms are:
 *   pending, due_at = d and (requested_at, approval_id) < (r, i);
 *   pending, due_at > d;  pending, due_at IS NULL;  the others.
 * After a pending row without due time: pending, due_at IS NULL and
 * (requested_at, approval_id) < (r, i); the others. After another row: the
 * others with (requested_at, approval_id) < (r, i). */
enum status pg_lists_approvals(struct pg_conn *c, const struct pg_list_query *q, json_t **rows,
                               char **next, struct error *err)
{
    static const char *const search_cols[] = {"x.approval_id",  "x.workflow_id",    "x.title",
                                              "x.requested_by", "x.assignee_group", NULL};
    struct pg_lists_key key;
    struct pg_lists_params p = {0};
    struct buf common, arms, tmp, sql;
    bool has_key;
    int after_t = 0, after_id = 0;

    enum status rc = pg_lists_begin(PG_LISTS_APPROVALS, q, rows, next, &key, &has_key, err);
    if (rc == STATUS_OK)
        rc = pg_lists_check_status(q->status, pg_lists_approval_statuses, err);
    if (rc != STATUS_OK) {
        free(key.id);
        return rc;
    }
    buf_init(&common);
    buf_init(&arms);
    buf_init(&tmp);
    buf_init(&sql);

    bool want_pending = q->status == NULL || strcmp(q->status, "pending") == 0;
    bool want_others = !q->overdue && (q->status == NULL || strcmp(q->status, "pending") != 0);
    if (q->status != NULL && want_others)
        pg_lists_cond(&common, "x.status = $%d", pg_lists_param(&p, q->status));
    pg_lists_time_range(&common, &p, "x.requested_at", q);
    if (q->search != NULL)
        pg_lists_search(&common, &p, q->search, search_cols);
    int lim = pg_lists_param_int(&p, (int64_t)q->limit + 1);
    const char *overdue = q->overdue ? "x.due_at < now()" : "";

    /* Parameters are added only with the arm that uses them: PostgreSQL
     * cannot type a parameter that the statement never mentions. */
    if (!has_key) {
        if (want_pending)
            pg_lists_approvals_arm(&arms, q->schema, 0, buf_get(&common), overdue, lim);
    } else if (key.seg == 0 && key.has_due) {
        if (want_pending) {
            int d = pg_lists_param_int(&p, key.due_us);
            buf_reset(&tmp);
            buf_adds(&tmp, "x.due_at = ");
            pg_lists_sql_time(&tmp, d);
            buf_adds(&tmp, " AND ");
            pg_lists_approvals_after(&tmp, &p, &key, &after_t, &after_id);
            if (q->overdue)
                buf_addf(&tmp, " AND %s", overdue);
            pg_lists_approvals_arm(&arms, q->schema, 0, buf_get(&common), buf_get(&tmp), lim);
            buf_reset(&tmp);
            buf_adds(&tmp, "x.due_at > ");
            pg_lists_sql_time(&tmp, d);
            if (q->overdue)
                buf_addf(&tmp, " AND %s", overdue);
            pg_lists_approvals_arm(&arms, q->schema, 0, buf_get(&common), buf_get(&tmp), lim);
            if (!q->overdue)
                pg_lists_approvals_arm(&arms, q->schema, 0, buf_get(&common), "x.due_at IS NULL",
                                       lim);
        }
    } else if (key.seg == 0) {
        if (want_pending && !q->overdue) {
            buf_reset(&tmp);
            buf_adds(&tmp, "x.due_at IS NULL AND ");
            pg_lists_approvals_after(&tmp, &p, &key, &after_t, &after_id);
            pg_lists_approvals_arm(&arms, q->schema, 0, buf_get(&common), buf_get(&tmp), lim);
        }
    }
    if (want_others) {
        buf_reset(&tmp);
        if (has_key && key.seg == 1)
            pg_lists_approvals_after(&tmp, &p, &key, &after_t, &after_id);
        pg_lists_approvals_arm(&arms, q->schema, 1, buf_get(&common), buf_get(&tmp), lim);
    }

    if (arms.len == 0) {
        /* Nothing can follow (e.g. a cursor past the pending rows with
         * --status pending): an empty last page without a round trip. */
        *rows = json_array();
        rc = STATUS_OK;
        goto out;
    }
    buf_addf(&sql,
             "SELECT " PG_LISTS_APPROVAL_JSON "::text, a.seg,"
             " CASE WHEN a.seg = 0 THEN " PG_LISTS_KEY_DUE " END, " PG_LISTS_KEY_REQUESTED ","
             " a.approval_id"
             " FROM (%s) a"
             " ORDER BY a.seg, CASE WHEN a.seg = 0 THEN a.due_at END,"
             " a.requested_at DESC, a.approval_id DESC LIMIT $%d",
             buf_get(&arms), lim);
    rc = pg_lists_page(c, PG_LISTS_APPROVALS, buf_get(&sql), &p, q->limit, rows, next, err);
out:
    buf_done(&sql);
    buf_done(&tmp);
    buf_done(&arms);
    buf_done(&common);
    pg_lists_params_done(&p);
    free(key.id);
    return rc;
}

enum status pg_lists_schedules(struct pg_conn *c, const struct pg_list_query *q, json_t **rows,
                               char **next, struct error *err)
{
    static const char *const search_cols[] = {"x.schedule_id", "x.workflow_type", "x.pause_note",
                                              NULL};
    struct pg_lists_key key;
    struct pg_lists_params p = {0};
    struct buf cond, sql;
    bool has_key;

    enum status rc = pg_lists_begin(PG_LISTS_SCHEDULES, q, rows, next, &key, &has_key, err);
    if (rc != STATUS_OK) {
        free(key.id);
        return rc;
    }
    buf_init(&cond);
    buf_init(&sql);
    if (q->paused)
        pg_lists_cond(&cond, "x.paused");
    if (q->search != NULL)
        pg_lists_search(&cond, &p, q->search, search_cols);
    if (has_key)
        pg_lists_cond(&cond, "x.schedule_id > $%d", pg_lists_param(&p, key.id));
    int lim = pg_lists_param_int(&p, (int64_t)q->limit + 1);

    buf_addf(&sql, "SELECT " PG_LISTS_SCHEDULE_JSON "::text, x.schedule_id FROM %s.schedules x",
             q->schema);
    if (cond.len > 0)
        buf_addf(&sql, " WHERE %s", buf_get(&cond));
    buf_addf(&sql, " ORDER BY x.schedule_id LIMIT $%d", lim);

    rc = pg_lists_page(c, PG_LISTS_SCHEDULES, buf_get(&sql), &p, q->limit, rows, next, err);
    buf_done(&sql);
    buf_done(&cond);
    pg_lists_params_done(&p);
    free(key.id);
    return rc;
}

enum status pg_lists_audit(struct pg_conn *c, const struct pg_list_query *q, json_t **rows,
                           char **next, struct error *err)
{
    static const char *const search_cols[] = {"x.operator", "x.action", "x.target_id",
                                              "x.reason",   "x.detail", NULL};
    struct pg_lists_key key;
    struct pg_lists_params p = {0};
    struct buf cond, sql;
    bool has_key;

    enum status rc = pg_lists_begin(PG_LISTS_AUDIT, q, rows, next, &key, &has_key, err);
    if (rc != STATUS_OK) {
        free(key.id);
        return rc;
    }
    buf_init(&cond);
    buf_init(&sql);
    if (q->operator_ != NULL)
        pg_lists_cond(&cond, "x.operator = $%d", pg_lists_param(&p, q->operator_));
    if (q->action != NULL)
        pg_lists_cond(&cond, "x.action = $%d", pg_lists_param(&p, q->action));
    pg_lists_time_range(&cond, &p, "x.at", q);
    if (q->search != NULL)
        pg_lists_search(&cond, &p, q->search, search_cols);
    if (has_key) {
        pg_lists_cond(&cond, "(x.at, x.audit_id) < (");
        pg_lists_sql_time(&cond, pg_lists_param_int(&p, key.t_us));
        buf_addf(&cond, ", $%d::bigint)", pg_lists_param_int(&p, key.num));
    }
    int lim = pg_lists_param_int(&p, (int64_t)q->limit + 1);

    buf_addf(&sql,
             "SELECT " PG_LISTS_AUDIT_JSON
             "::text, x.before::text, x.after::text, " PG_LISTS_KEY_AUDIT
             ", x.audit_id FROM %s.audit_log x",
             q->schema);
    if (cond.len > 0)
        buf_addf(&sql, " WHERE %s", buf_get(&cond));
    buf_addf(&sql, " ORDER BY x.at DESC, x.audit_id DESC LIMIT $%d", lim);

    rc = pg_lists_page(c, PG_LISTS_AUDIT, buf_get(&sql), &p, q->limit, rows, next, err);
    buf_done(&sql);
    buf_done(&cond);
    pg_lists_params_done(&p);
    free(key.id);
    return rc;
}

/* ------------------------------------------------------------------------
 * Show */

/* Checks the arguments of a show. */
static enum status pg_lists_show_check(const char *schema, const char *id, struct error *err)
{
    enum status rc = pg_lists_check_schema(schema, err);
    if (rc == STATUS_OK && id == NULL)
        rc = error_set(err, STATUS_USAGE, "no id given");
    return rc;
}

/* Runs a show statement (taken) with the id as $1; NULL with err filled
 * on failure. */
static PGresult *pg_lists_show_query(struct pg_conn *c, char *sql, const char *id,
                                     struct error *err)
{
    const char *params[] = {id};
    PGresult *res = pg_conn_query(c, sql, 1, params, NULL, err);
    free(sql);
    return res;
}

/* Runs an unmasking show statement (taken) with the id as $1 and the
 * action context as $2. A schema without the function (one that 004 has
 * not reached) is said so. NULL with err filled on failure. */
static PGresult *pg_lists_unmask_query(struct pg_conn *c, char *sql, const char *schema,
                                       const char *fn, const char *id,
                                       const struct pg_action_ctx *ctx, struct error *err)
{
    char state[6];
    char *ctxs = pg_actions_ctx_text(ctx);
    const char *params[] = {id, ctxs};
    PGresult *res = pg_conn_query(c, sql, 2, params, state, err);
    if (res == NULL && strcmp(state, "42883") == 0)
        error_set(err, STATUS_UNAVAILABLE,
                  "postgres at %s: schema %s has no %s() yet (sql/004_unmask.sql): run opsdeck "
                  "migrate",
                  pg_conn_endpoint(c), schema, fn);
    free(ctxs);
    free(sql);
    return res;
}

static enum status pg_lists_show_status(const struct error *err)
{
    return err != NULL && err->status != STATUS_OK ? err->status : STATUS_UNAVAILABLE;
}

/* The saga show of pg_lists_saga and pg_lists_saga_unmasked: with ctx,
 * the execution comes from unmask_saga() instead of the table. */
static enum status pg_lists_saga_read(struct pg_conn *c, const char *schema,
                                      const char *execution_id, const struct pg_action_ctx *ctx,
                                      json_t **out, struct error *err)
{
    static const char *const exec_docs[] = {"context"};
    static const char *const step_docs[] = {"result"};
    enum status rc = STATUS_OK;
    json_t *item = NULL, *steps = NULL;
    PGresult *res;

    *out = NULL;
    rc = pg_lists_show_check(schema, execution_id, err);
    if (rc != STATUS_OK)
        return rc;
    /* The execution (position NULL) and then its steps, in one statement
     * and so one snapshot; unmasked, it is also the statement that writes
     * the audit row, so the rows arrive only once that row is committed. */
    char *from = ctx != NULL ? xasprintf("%s.unmask_saga($1, $2::jsonb)", schema)
                             : xasprintf("%s.saga_executions", schema);
    char *sql = xasprintf(
        "SELECT " PG_LISTS_SAGA_JSON "::text, e.context::text, NULL::integer AS pos, NULL::text"
        " AS sid FROM %2$s e" PG_LISTS_SAGA_STEPS "%3$s"
        " UNION ALL"
        " SELECT " PG_LISTS_STEP_JSON "::text, s.result::text, s.position, s.step_id"
        " FROM %1$s.saga_steps s WHERE s.execution_id = $1"
        " ORDER BY pos NULLS FIRST, sid",
        schema, from, ctx != NULL ? "" : " WHERE e.execution_id = $1");
    free(from);
    if (ctx == NULL)
        res = pg_lists_show_query(c, sql, execution_id, err);
    else
        res = pg_lists_unmask_query(c, sql, schema, "unmask_saga", execution_id, ctx, err);
    if (res == NULL)
        return pg_lists_show_status(err);
    int n = PQntuples(res);
    if (n == 0 || !PQgetisnull(res, 0, 2)) {
        rc = error_set(err, STATUS_NOT_FOUND, "saga execution '%s' not found", execution_id);
        goto out;
    }
    rc = pg_lists_row(res, 0, exec_docs, 1, "sagas show", &item, err);
    if (rc != STATUS_OK)
        goto out;
    steps = json_array();
    for (int r = 1; r < n; r++) {
        json_t *step;
        rc = pg_lists_row(res, r, step_docs, 1, "sagas show", &step, err);
        if (rc != STATUS_OK)
            goto out;
        json_array_append_new(steps, step);
    }
    json_object_set_new(item, "steps", steps);
    steps = NULL;
    *out = item;
    item = NULL;
out:
    json_decref(steps);
    json_decref(item);
    PQclear(res);
    return rc;
}

enum status pg_lists_saga(struct pg_conn *c, const char *schema, const char *execution_id,
                          json_t **out, struct error *err)
{
    return pg_lists_saga_read(c, schema, execution_id, NULL, out, err);
}

enum status pg_lists_saga_unmasked(struct pg_conn *c, const char *schema, const char *execution_id,
                                   const struct pg_action_ctx *ctx, json_t **out, struct error *err)
{
    return pg_lists_saga_read(c, schema, execution_id, ctx, out, err);
}

/* The approval show of pg_lists_approval and pg_lists_approval_unmasked:
 * with ctx, the approval comes from unmask_approval() instead of the
 * table. */
static enum status pg_lists_approval_read(struct pg_conn *c, const char *schema,
                                          const char *approval_id, const struct pg_action_ctx *ctx,
                                          json_t **out, struct error *err)
{
    static const char *const docs[] = {"request_data", "saga"};
    enum status rc = STATUS_OK;
    PGresult *res;

    *out = NULL;
    rc = pg_lists_show_check(schema, approval_id, err);
    if (rc != STATUS_OK)
        return rc;
    /* The saga: the execution whose id is the workflow id, else the newest
     * one carrying it as trace id (primary key, saga_executions_trace_idx). */
    char *from = ctx != NULL ? xasprintf("%s.unmask_approval($1, $2::jsonb)", schema)
                             : xasprintf("%s.approvals", schema);
    char *sql = xasprintf(
        "SELECT " PG_LISTS_APPROVAL_JSON "::text, a.request_data::text,"
        " CASE WHEN e.execution_id IS NOT NULL THEN " PG_LISTS_SAGA_JSON "::text END"
        " FROM %2$s a"
        " LEFT JOIN LATERAL (SELECT l.* FROM"
        "   (SELECT x.*, 0 AS pref FROM %1$s.saga_executions x WHERE x.execution_id = a.workflow_id"
        "    UNION ALL"
        "    SELECT x.*, 1 AS pref FROM %1$s.saga_executions x WHERE x.trace_id = a.workflow_id) l"
        "   ORDER BY l.pref, l.created_at DESC, l.execution_id DESC LIMIT 1) e ON "
        "true" PG_LISTS_SAGA_STEPS "%3$s",
        schema, from, ctx != NULL ? "" : " WHERE a.approval_id = $1");
    free(from);
    if (ctx == NULL)
        res = pg_lists_show_query(c, sql, approval_id, err);
    else
        res = pg_lists_unmask_query(c, sql, schema, "unmask_approval", approval_id, ctx, err);
    if (res == NULL)
        return pg_lists_show_status(err);
    if (PQntuples(res) == 0)
        rc = error_set(err, STATUS_NOT_FOUND, "approval '%s' not found", approval_id);
    else
        rc = pg_lists_row(res, 0, docs, 2, "approvals show", out, err);
    PQclear(res);
    return rc;
}

enum status pg_lists_approval(struct pg_conn *c, const char *schema, const char *approval_id,
                              json_t **out, struct error *err)
{
    return pg_lists_approval_read(c, schema, approval_id, NULL, out, err);
}

enum status pg_lists_approval_unmasked(struct pg_conn *c, const char *schema,
                                       const char *approval_id, const struct pg_action_ctx *ctx,
                                       json_t **out, struct error *err)
{
    return pg_lists_approval_read(c, schema, approval_id, ctx, out, err);
}

enum status pg_lists_schedule(struct pg_conn *c, const char *schema, const char *schedule_id,
                              json_t **out, struct error *err)
{
    enum status rc = STATUS_OK;

    *out = NULL;
    rc = pg_lists_show_check(schema, schedule_id, err);
    if (rc != STATUS_OK)
        return rc;
    char *sql = xasprintf("SELECT " PG_LISTS_SCHEDULE_JSON "::text"
                          " FROM %1$s.schedules x WHERE x.schedule_id = $1",
                          schema);
    PGresult *res = pg_lists_show_query(c, sql, schedule_id, err);
    if (res == NULL)
        return pg_lists_show_status(err);
    if (PQntuples(res) == 0)
        rc = error_set(err, STATUS_NOT_FOUND, "schedule '%s' not found", schedule_id);
    else
        rc = pg_lists_row(res, 0, NULL, 0, "schedules show", out, err);
    PQclear(res);
    return rc;
}

char *pg_lists_audit_cursor(const json_t *row)
{
    int64_t us;
    const char *at = json_string_value(json_object_get(row, "at"));
    const char *id = json_string_value(json_object_get(row, "audit_id"));
    if (at == NULL || id == NULL || !time_parse_iso(at, &us))
        return NULL;
    json_t *a = json_pack("[s, I, I]", pg_lists_kinds[PG_LISTS_AUDIT].tag, (json_int_t)us,
                          (json_int_t)strtoll(id, NULL, 10));
    char *text = json_dumps(a, JSON_COMPACT);
    char *out = text != NULL ? pg_lists_b64_encode((const unsigned char *)text, strlen(text)) : NULL;
    free(text);
    json_decref(a);
    return out;
}
