/* Operator actions on the DLQ and the circuit breakers in Redis: each is
 * one server-side script per event (pipelined for many events) that checks
 * the state, acts, updates the event, the status counters and the audit
 * stream atomically, and remembers its outcome under the idempotency key. */
#ifndef OPSDECK_BACKENDS_REDIS_ACTIONS_H
#define OPSDECK_BACKENDS_REDIS_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backends/redis_conn.h"
#include "util/status.h"

/* Who acts, from where, and the key that makes a retry harmless. */
struct redis_action_ctx {
    const char *operator_;       /* required */
    const char *client_host;     /* may be NULL */
    const char *client_addr;     /* may be NULL */
    const char *idempotency_key; /* required; per event the script uses KEY:event_id */
    const char *reason;          /* note or reason; required where the verb says so */
};

enum redis_action_outcome {
    REDIS_ACTION_APPLIED,
    REDIS_ACTION_REFUSED,   /* state did not allow it; result says the state and who set it */
    REDIS_ACTION_NOT_FOUND,
};

/* The outcome of one item, as the script returned it: a JSON object
 * {"outcome", "action", "target_id", "state", "by", "at", "message",
 * "replayed"} (new reference in result). */
struct redis_action_result {
    enum redis_action_outcome outcome;
    json_t *result;
};

/* Every batch call returns STATUS_OK when each item got an outcome in
 * out[i]. On STATUS_DENIED or STATUS_UNAVAILABLE, the items whose script
 * ran keep their outcome and the others have result NULL (not tried).
 * Idempotency keys are 1-200 characters without ':'. */

/* Replays events: for each id, in one script call each (all pipelined in
 * one round trip), checks status pending_review (or retried with force),
 * sends payloads[i] (the original event as JSON, prepared by the caller)
 * on routes[i] ("publish:CHANNEL", "list:KEY" or "stream:KEY"), sets status
 * retried, retried_at, retried_by, HINCRBY replay_count, moves the
 * status:<s> counters of <prefix>:stats, adds an entry to <prefix>:audit,
 * and stores the outcome under <prefix>:idem:KEY:event_id (24 h). A repeat
 * of the key returns the stored outcome with "replayed": true and changes
 * nothing. Survives a flushed script cache (NOSCRIPT → load, retry). out
 * has n entries, filled in order. */
enum status redis_actions_replay(struct redis_conn *c, const char *prefix,
                                 const struct redis_action_ctx *ctx, size_t n,
                                 const char *const *ids, const char *const *payloads,
                                 const char *const *routes, bool force,
                                 struct redis_action_result *out, struct error *err);

/* Marks events resolved (pending_review or retried → resolved, resolved_at,
 * resolved_by, resolution_note = ctx->reason) with the same guarantees. */
enum status redis_actions_resolve(struct redis_conn *c, const char *prefix,
                                  const struct redis_action_ctx *ctx, size_t n,
                                  const char *const *ids, struct redis_action_result *out,
                                  struct error *err);

/* Deletes events (hash and index entry; counters moved; the audit entry
 * keeps the event's reason, source and status). */
enum status redis_actions_delete(struct redis_conn *c, const char *prefix,
                                 const struct redis_action_ctx *ctx, size_t n,
                                 const char *const *ids, struct redis_action_result *out,
                                 struct error *err);

enum redis_circuit_action {
    REDIS_CIRCUIT_RESET,      /* clears counts and forced state, state closed */
    REDIS_CIRCUIT_FORCE_OPEN, /* forced_state open, forced_by/at/reason */
    REDIS_CIRCUIT_RELEASE,    /* clears the forced state */
};

/* Acts on one breaker: sets or clears the forced_* fields (reset also sets
 * state closed and zeroes failure_count/success_count), PUBLISHes
 * {name, action, by, reason, at} on <prefix>:control, and audits on the
 * DLQ audit stream <dlq_prefix>:audit, atomically. Refused when nothing
 * would change (release of an unforced breaker, force-open of one forced
 * open); NOT_FOUND when the breaker has no hash. */
enum status redis_actions_circuit(struct redis_conn *c, const char *circuit_prefix,
                                  const char *dlq_prefix, const struct redis_action_ctx *ctx,
                                  const char *name, enum redis_circuit_action action,
                                  struct redis_action_result *out, struct error *err);

/* Releases out[0..n). */
void redis_actions_results_done(struct redis_action_result *out, size_t n);

#endif
