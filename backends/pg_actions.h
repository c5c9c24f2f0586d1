/* Operator actions on the workflow store: each is one call of an action
 * function of sql/003_actions.sql, which checks the state, applies the
 * change, writes the signal or request and the audit row in one
 * transaction, and remembers its outcome under the idempotency key. */
#ifndef OPSDECK_BACKENDS_PG_ACTIONS_H
#define OPSDECK_BACKENDS_PG_ACTIONS_H

#include <stdint.h>

#include <jansson.h>

#include "backends/pg_conn.h"
#include "util/status.h"

enum pg_action {
    PG_ACTION_APPROVE,
    PG_ACTION_REJECT,
    PG_ACTION_SAGA_ABORT,
    PG_ACTION_SAGA_RETRY_STEP,
    PG_ACTION_SCHEDULE_PAUSE,
    PG_ACTION_SCHEDULE_RESUME,
    PG_ACTION_SCHEDULE_TRIGGER,
    PG_ACTION_SCHEDULE_BACKFILL,
};

struct pg_action_args {
    const char *target;     /* approval, execution or schedule id */
    const char *step_id;    /* retry-step */
    const char *text;       /* note or reason */
    const char *overlap;    /* trigger, backfill: NULL for the schedule's own */
    const char *time1;      /* pause: resume_at; backfill: range start (ISO 8601) */
    const char *time2;      /* backfill: range end */
};

struct pg_action_ctx {
    const char *operator_;
    const char *client_host;
    const char *client_addr;
    const char *idempotency_key;
    int64_t expect_version; /* < 0: none */
};

/* ctx as the action and unmask functions take it: a JSON object text
 * ({"operator", "client_host", "client_addr", "idempotency_key",
 * "expect_version"}, absent ones null). Heap string, caller frees. */
char *pg_actions_ctx_text(const struct pg_action_ctx *ctx);

/* Runs one action. *result (new reference) is the function's answer:
 * {"outcome": "applied"|"refused"|"not_found", "message", "state", "by",
 * "at", "version", "replayed", ...}. Server-side refusals of bad input
 * (SQLSTATE 22023) are STATUS_USAGE; a role without EXECUTE is
 * STATUS_DENIED; the outcome itself is in *result, not in the status. */
enum status pg_actions_run(struct pg_conn *c, const char *schema, enum pg_action action,
                           const struct pg_action_args *args, const struct pg_action_ctx *ctx,
                           json_t **result, struct error *err);

#endif
