/* Overview counts from PostgreSQL. Every subquery matches a partial or
 * composite index of sql/001_core.sql (failed (24h): one of
 * sql/004_unmask.sql), so the cost follows the number of active or recent
 * items, not the size of the tables. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/pg_internal.h"
#include "backends/pg_migrate.h"
#include "backends/pg_overview.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define EPOCH_US(expr) "(extract(epoch FROM " expr ") * 1000000)::bigint"

/* A time as the lists print it: ISO 8601 UTC with microseconds. */
#define PG_OVERVIEW_ISO(col)                                                                       \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* More next runs than a screen shows is a mistake, not a request. */
#define PG_OVERVIEW_NEXT_RUNS_MAX 100

enum status pg_overview_get(struct pg_conn *c, const char *schema, struct pg_overview *out,
                            struct error *err)
{
    enum status rc;

    memset(out, 0, sizeof(*out));
    rc = pg_migrate_current(c, schema, &out->schema_version, err);
    if (rc != STATUS_OK || out->schema_version == 0)
        return rc;

    /* failed (24h): the IN list is the predicate of
     * saga_executions_failed_updated_idx, so the planner takes that index
     * and scans one day of updated_at; a status outside the predicate
     * would lose it. The pending approvals' count, overdue count and
     * oldest come from one scan of approvals_pending_requested_idx, which
     * includes due_at: every index page a count reads costs the most on a
     * session's first query, and every console start is one. */
    char *sql = xasprintf(
        "SELECT"
        " (SELECT count(*) FROM %1$s.saga_executions WHERE status = 'running'),"
        " (SELECT count(*) FROM %1$s.saga_executions WHERE status = 'compensating'),"
        " (SELECT count(*) FROM %1$s.saga_executions WHERE status IN ('failed', 'compensated')"
        "    AND updated_at > now() - interval '24 hours'),"
        " a.pending, a.overdue, a.oldest,"
        " (SELECT count(*) FROM %1$s.schedules),"
        " (SELECT count(*) FROM %1$s.schedules WHERE paused),"
        " (SELECT " EPOCH_US("min(next_run_at)") " FROM %1$s.schedules WHERE NOT paused)"
        " FROM (SELECT count(*) AS pending, count(*) FILTER (WHERE due_at < now()) AS overdue,"
        "   " EPOCH_US("min(requested_at)") " AS oldest"
        "   FROM %1$s.approvals WHERE status = 'pending') a",
        schema);
    PGresult *res = pg_conn_query(c, sql, 0, NULL, NULL, err);
    free(sql);
    if (res == NULL)
        return err->status;
    out->sagas_running = pg_value_int(res, 0, 0);
    out->sagas_compensating = pg_value_int(res, 0, 1);
    out->sagas_failed_24h = pg_value_int(res, 0, 2);
    out->approvals_pending = pg_value_int(res, 0, 3);
    out->approvals_overdue = pg_value_int(res, 0, 4);
    out->approvals_oldest_us = pg_value_int(res, 0, 5);
    out->schedules_total = pg_value_int(res, 0, 6);
    out->schedules_paused = pg_value_int(res, 0, 7);
    out->schedules_next_run_us = pg_value_int(res, 0, 8);
    PQclear(res);
    return STATUS_OK;
}

/* The spec of one schedule in words: its cron expressions, then its
 * interval, "; " between them (a cron expression holds blanks and commas). */
static char *pg_overview_spec(const PGresult *res, int r)
{
    char *spec = xstrdup(PQgetisnull(res, r, 1) ? "" : PQgetvalue(res, r, 1));
    if (!PQgetisnull(res, r, 2)) {
        char span[32], *both;
        time_format_span(pg_value_int(res, r, 2) * 1000, span, sizeof(span));
        both = xasprintf("%s%severy %s", spec, spec[0] != '\0' ? "; " : "", span);
        free(spec);
        spec = both;
    }
    return spec;
}

enum status pg_overview_next_runs(struct pg_conn *c, const char *schema, size_t n,
                                  json_t **rows, struct error *err)
{
    enum status rc = STATUS_OK;
    char limit[24];
    const char *params[] = {limit};
    json_t *out = json_array();

    *rows = NULL;
    snprintf(limit, sizeof(limit), "%zu",
             n < PG_OVERVIEW_NEXT_RUNS_MAX ? n : (size_t)PG_OVERVIEW_NEXT_RUNS_MAX);
    /* WHERE NOT paused ORDER BY next_run_at, schedule_id is the order of
     * schedules_next_run_idx: the first n index entries, no table scan. */
    char *sql = xasprintf("SELECT schedule_id, array_to_string(cron_expressions, '; '),"
                          " interval_seconds, " PG_OVERVIEW_ISO("next_run_at") ", overlap_policy"
                          " FROM %s.schedules WHERE NOT paused AND next_run_at IS NOT NULL"
                          " ORDER BY next_run_at, schedule_id LIMIT $1::bigint",
                          schema);
    PGresult *res = pg_conn_query(c, sql, 1, params, NULL, err);
    free(sql);
    if (res == NULL) {
        rc = err != NULL && err->status != STATUS_OK ? err->status : STATUS_UNAVAILABLE;
        goto out;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        char *spec = pg_overview_spec(res, r);
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}",
                                             "schedule_id", PQgetvalue(res, r, 0),
                                             "spec", spec,
                                             "next_run_at", PQgetvalue(res, r, 3),
                                             "overlap_policy", PQgetvalue(res, r, 4)));
        free(spec);
    }
    PQclear(res);
out:
    if (rc == STATUS_OK)
        *rows = out;
    else
        json_decref(out);
    return rc;
}
