/* The PostgreSQL list and show queries of SPEC section 2: sagas, approvals,
 * schedules and the audit log, with their filters and keyset paging. Rows
 * come back as JSON objects with stable field names, built by the query
 * itself, so the CLI's --json, its tables and the console read one shape. */
#ifndef OPSDECK_BACKENDS_PG_LISTS_H
#define OPSDECK_BACKENDS_PG_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backends/pg_actions.h"
#include "backends/pg_conn.h"
#include "util/status.h"

/* One page request. Unused filters are NULL / 0 / false; each list reads
 * the filters that make sense for it and ignores the others. */
struct pg_list_query {
    const char *schema;
    const char *status;    /* sagas, approvals: exact status */
    const char *saga_id;   /* sagas */
    const char *name;      /* sagas: exact name */
    const char *search;    /* case-insensitive substring over the list's text columns */
    int64_t since_us;      /* newer than (sagas: created_at; approvals: requested_at; audit: at) */
    int64_t until_us;      /* older than, same column */
    bool overdue;          /* approvals: pending and past due_at */
    bool paused;           /* schedules: paused only */
    const char *operator_; /* audit */
    const char *action;    /* audit */
    size_t limit;          /* 1..1000 */
    const char *after;     /* the cursor a previous page returned, or NULL */
};

/* Each list fills *rows with a new JSON array of row objects and *next
 * with a heap cursor for the following page (caller frees), or NULL on the
 * last page. A cursor that does not parse is STATUS_USAGE. Ordering:
 * sagas newest first (created_at, execution_id); approvals pending first,
 * then most urgent (due_at), then newest; schedules by schedule_id; audit
 * newest first (at, audit_id). */
enum status pg_lists_sagas(struct pg_conn *c, const struct pg_list_query *q, json_t **rows,
                           char **next, struct error *err);
enum status pg_lists_approvals(struct pg_conn *c, const struct pg_list_query *q, json_t **rows,
                               char **next, struct error *err);
enum status pg_lists_schedules(struct pg_conn *c, const struct pg_list_query *q, json_t **rows,
                               char **next, struct error *err);
enum status pg_lists_audit(struct pg_conn *c, const struct pg_list_query *q, json_t **rows,
                           char **next, struct error *err);

/* The audit list's cursor just after row (a row of pg_lists_audit), for
 * callers that merge the audit log with another source and stop inside a
 * page. Heap string, or NULL when the row lacks its keys. */
char *pg_lists_audit_cursor(const json_t *row);

/* One item with its details (a saga with its steps in order; an approval
 * with the saga it belongs to when one shares its workflow_id; a
 * schedule). STATUS_NOT_FOUND when there is no such id. *out is a new
 * reference. */
enum status pg_lists_saga(struct pg_conn *c, const char *schema, const char *execution_id,
                          json_t **out, struct error *err);
enum status pg_lists_approval(struct pg_conn *c, const char *schema, const char *approval_id,
                              json_t **out, struct error *err);
enum status pg_lists_schedule(struct pg_conn *c, const char *schema, const char *schedule_id,
                              json_t **out, struct error *err);

/* The same item as pg_lists_saga and pg_lists_approval, read through
 * unmask_saga() and unmask_approval() of sql/004_unmask.sql, for showing
 * unredacted: the statement that returns the item also writes the audit
 * row (saga.unmask, approval.unmask) for ctx's operator, client host and
 * address (its key and version are not used), so *out is filled only once
 * that row is committed; on any failure nothing is returned. An unknown
 * id is STATUS_NOT_FOUND and writes no audit row; a role without EXECUTE
 * on the function (opsdeck_viewer) is STATUS_DENIED; a schema without it
 * (not migrated to 004) is STATUS_UNAVAILABLE, saying to migrate. */
enum status pg_lists_saga_unmasked(struct pg_conn *c, const char *schema, const char *execution_id,
                                   const struct pg_action_ctx *ctx, json_t **out,
                                   struct error *err);
enum status pg_lists_approval_unmasked(struct pg_conn *c, const char *schema,
                                       const char *approval_id, const struct pg_action_ctx *ctx,
                                       json_t **out, struct error *err);

#endif
