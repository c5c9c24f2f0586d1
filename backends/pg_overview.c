/* Overview counts from PostgreSQL. Every subquery matches a partial or
 * composite index of sql/001_core.sql, so the cost follows the number of
 * active items, not the size of the tables. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "backends/pg_internal.h"
#include "backends/pg_migrate.h"
#include "backends/pg_overview.h"
#include "util/xmalloc.h"

#define EPOCH_US(expr) "(extract(epoch FROM " expr ") * 1000000)::bigint"

enum status pg_overview_get(struct pg_conn *c, const char *schema, struct pg_overview *out,
                            struct error *err)
{
    enum status rc;

    memset(out, 0, sizeof(*out));
    rc = pg_migrate_current(c, schema, &out->schema_version, err);
    if (rc != STATUS_OK || out->schema_version == 0)
        return rc;

    char *sql = xasprintf(
        "SELECT"
        " (SELECT count(*) FROM %1$s.saga_executions WHERE status = 'running'),"
        " (SELECT count(*) FROM %1$s.saga_executions WHERE status = 'compensating'),"
        " (SELECT count(*) FROM %1$s.saga_executions WHERE status IN ('failed', 'compensated')"
        "    AND updated_at > now() - interval '24 hours'),"
        " (SELECT count(*) FROM %1$s.approvals WHERE status = 'pending'),"
        " (SELECT count(*) FROM %1$s.approvals WHERE status = 'pending' AND due_at < now()),"
        " (SELECT " EPOCH_US("min(requested_at)") " FROM %1$s.approvals WHERE status = 'pending'),"
        " (SELECT count(*) FROM %1$s.schedules),"
        " (SELECT count(*) FROM %1$s.schedules WHERE paused),"
        " (SELECT " EPOCH_US("min(next_run_at)") " FROM %1$s.schedules WHERE NOT paused)",
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
