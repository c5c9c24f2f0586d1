/* Calls of the action functions. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "backends/pg_actions.h"
#include "backends/pg_internal.h"
#include "util/xmalloc.h"

static json_t *pg_actions_ctx_json(const struct pg_action_ctx *ctx)
{
    json_t *j = json_object();
    json_object_set_new(j, "operator", json_string(ctx->operator_ ? ctx->operator_ : "unknown"));
    json_object_set_new(j, "client_host", ctx->client_host ? json_string(ctx->client_host) : json_null());
    json_object_set_new(j, "client_addr", ctx->client_addr ? json_string(ctx->client_addr) : json_null());
    json_object_set_new(j, "idempotency_key",
                        ctx->idempotency_key ? json_string(ctx->idempotency_key) : json_null());
    json_object_set_new(j, "expect_version",
                        ctx->expect_version >= 0 ? json_integer(ctx->expect_version) : json_null());
    return j;
}

char *pg_actions_ctx_text(const struct pg_action_ctx *ctx)
{
    json_t *cj = pg_actions_ctx_json(ctx);
    char *text = json_dumps(cj, JSON_COMPACT);
    json_decref(cj);
    return text;
}

enum status pg_actions_run(struct pg_conn *c, const char *schema, enum pg_action action,
                           const struct pg_action_args *args, const struct pg_action_ctx *ctx,
                           json_t **result, struct error *err)
{
    char *ctxs = pg_actions_ctx_text(ctx);
    const char *params[6];
    int n = 0;
    char *sql = NULL;
    enum status rc = STATUS_OK;

    *result = NULL;
    switch (action) {
    case PG_ACTION_APPROVE:
    case PG_ACTION_REJECT:
    case PG_ACTION_SAGA_ABORT:
    case PG_ACTION_SCHEDULE_RESUME:
        sql = xasprintf("SELECT %s.%s($1, $2, $3::jsonb)::text", schema,
                        action == PG_ACTION_APPROVE      ? "act_approve"
                        : action == PG_ACTION_REJECT     ? "act_reject"
                        : action == PG_ACTION_SAGA_ABORT ? "act_saga_abort"
                                                         : "act_schedule_resume");
        params[n++] = args->target;
        params[n++] = args->text;
        break;
    case PG_ACTION_SAGA_RETRY_STEP:
        sql = xasprintf("SELECT %s.act_saga_retry_step($1, $2, $3, $4::jsonb)::text", schema);
        params[n++] = args->target;
        params[n++] = args->step_id;
        params[n++] = args->text;
        break;
    case PG_ACTION_SCHEDULE_PAUSE:
        sql = xasprintf("SELECT %s.act_schedule_pause($1, $2, $3::timestamptz, $4::jsonb)::text",
                        schema);
        params[n++] = args->target;
        params[n++] = args->text;
        params[n++] = args->time1;
        break;
    case PG_ACTION_SCHEDULE_TRIGGER:
        sql = xasprintf("SELECT %s.act_schedule_trigger($1, $2, $3::jsonb)::text", schema);
        params[n++] = args->target;
        params[n++] = args->overlap;
        break;
    case PG_ACTION_SCHEDULE_BACKFILL:
        sql = xasprintf("SELECT %s.act_schedule_backfill($1, $2::timestamptz, $3::timestamptz, $4, "
                        "$5::jsonb)::text", schema);
        params[n++] = args->target;
        params[n++] = args->time1;
        params[n++] = args->time2;
        params[n++] = args->overlap;
        break;
    }
    params[n++] = ctxs;

    PGresult *res = pg_conn_query(c, sql, n, params, NULL, err);
    if (res == NULL) {
        rc = err->status;
        goto out;
    }
    json_error_t je;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) ||
        (*result = json_loads(PQgetvalue(res, 0, 0), 0, &je)) == NULL ||
        !json_is_object(*result)) {
        json_decref(*result);
        *result = NULL;
        rc = error_set(err, STATUS_UNAVAILABLE, "postgres at %s: the action function gave no "
                       "outcome", pg_conn_endpoint(c));
    }
    PQclear(res);
out:
    free(sql);
    free(ctxs);
    return rc;
}
