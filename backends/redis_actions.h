/* Operator actions on the DLQ and the circuit breakers in Redis: each is
 * one server-side script per event, or per batch of events for replay
 * (pipelined for many), that checks the state, acts, updates the event,
 * the status counters and the audit stream atomically, and remembers its
 * outcome under the idempotency key; and the progress hashes of bulk
 * replay jobs. */
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

/* Reads what replaying ids needs, in one pipelined round trip: each
 * event's original_event exactly as its producer wrote it (the JSON text
 * of that field of the event's data, whitespace between tokens removed;
 * numbers, strings and key order byte for byte) and its original_queue.
 * payloads[i] and queues[i] (n entries each) are heap strings the caller
 * frees; both NULL when the event has no data, its data is not a JSON
 * object (RFC 8259, UTF-8), or it lacks either field. */
enum status redis_actions_replay_read(struct redis_conn *c, const char *prefix, size_t n,
                                      const char *const *ids, char **payloads, char **queues,
                                      struct error *err);

/* Replays events: for each id, atomically, checks status pending_review
 * (or retried with force), sends payloads[i] (the original event as JSON,
 * prepared by the caller) on routes[i] ("publish:CHANNEL", "list:KEY" or
 * "stream:KEY"), sets status retried, retried_at, retried_by, HINCRBY
 * replay_count, moves the status:<s> counters of <prefix>:stats, adds an
 * entry to <prefix>:audit, and stores the outcome under
 * <prefix>:idem:KEY:event_id (24 h). A payload of NULL (routes[i] then
 * unused) says the caller found no event or no original event: the result
 * is not found, or refused as malformed (audited, stored). A repeat of the
 * key returns the stored outcome with "replayed": true and changes
 * nothing; so does an id given twice. One script call covers up to 100
 * events, each call atomic, all calls pipelined in one round trip; a call
 * refused for rights (NOPERM) or key types writes nothing. Survives a
 * flushed script cache (NOSCRIPT → load, retry). out has n entries, filled
 * in order. */
enum status redis_actions_replay(struct redis_conn *c, const char *prefix,
                                 const struct redis_action_ctx *ctx, size_t n,
                                 const char *const *ids, const char *const *payloads,
                                 const char *const *routes, bool force,
                                 struct redis_action_result *out, struct error *err);

/* As redis_actions_replay, as part of the bulk replay job whose id is
 * ctx->idempotency_key (see redis_actions_job_begin): the same script call
 * that sends also adds its first outcomes to the job's hash
 * <prefix>:replay:<job_id> (done, applied, refused, not_found, updated_at,
 * last_id), so the hash always counts exactly what was sent; not found is
 * stored as an outcome too, so a resumed job counts nothing twice. */
enum status redis_actions_replay_job(struct redis_conn *c, const char *prefix,
                                     const struct redis_action_ctx *ctx, size_t n,
                                     const char *const *ids, const char *const *payloads,
                                     const char *const *routes, bool force,
                                     struct redis_action_result *out, struct error *err);

/* A bulk replay job's hash <prefix>:replay:<job_id> as a JSON object (new
 * reference in *out): job_id, status (running, completed, interrupted),
 * total, done, applied, refused, not_found, runs (integers), force
 * (boolean), operator, client_host, selection, started_at, updated_at,
 * resumed_at, finished_at, last_id. STATUS_NOT_FOUND when there is none. */
enum status redis_actions_job_get(struct redis_conn *c, const char *prefix, const char *job_id,
                                  json_t **out, struct error *err);

/* Starts the job ctx->idempotency_key before anything is sent: creates its
 * hash (status running, total n, counts 0, operator, started_at,
 * selection: what was chosen, in words; force) or, when it exists, sets it
 * running again with total = done + n - already, where already is how
 * many of this run's n events already have an outcome under the key (see
 * redis_actions_job_recorded). Kept 7 days. STATUS_DENIED without the
 * rights to write it. */
enum status redis_actions_job_begin(struct redis_conn *c, const char *prefix,
                                    const struct redis_action_ctx *ctx, size_t n,
                                    size_t already, const char *selection, bool force,
                                    struct error *err);

/* Sets the job's status (completed, interrupted) and updated_at, and
 * finished_at when completed; nothing when the hash is gone. */
enum status redis_actions_job_end(struct redis_conn *c, const char *prefix, const char *job_id,
                                  const char *status, struct error *err);

/* How many of ids have an outcome stored under the key job_id, in one
 * round trip. */
enum status redis_actions_job_recorded(struct redis_conn *c, const char *prefix,
                                       const char *job_id, size_t n, const char *const *ids,
                                       size_t *count, struct error *err);

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
