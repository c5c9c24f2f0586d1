/* The DLQ in Redis, read side: pages of dead-lettered events newest first
 * over millions of entries, with filters that still fill a page; one event
 * with everything known about it; the stats hash. Reads accept everything
 * other writers produce (seed 004's enum reprs and naive times, malformed
 * JSON, an index entry whose hash expired) and say so in the row instead
 * of failing. Circuit breakers are in redis_circuits.h. */
#ifndef OPSDECK_BACKENDS_REDIS_DLQ_H
#define OPSDECK_BACKENDS_REDIS_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backends/redis_conn.h"
#include "util/status.h"

struct redis_dlq_query {
    const char *prefix;   /* "dlq" or e.g. "{dlq}"; opaque */
    const char *reason;   /* failure_reason value; the enum repr of the same reason matches */
    const char *source;   /* source_service */
    const char *target;   /* target_service */
    const char *queue;    /* original_queue */
    const char *status;   /* pending_review, retried, resolved, or "expired" for index-only entries */
    const char *search;   /* case-insensitive substring of event_id, error_message or the data */
    int64_t since_us;     /* failure time (index score) at or after; 0 none */
    int64_t until_us;     /* before; 0 none */
    size_t limit;         /* 1..1000 */
    const char *after;    /* cursor from a previous page, or NULL */
    bool full;            /* each row as redis_dlq_show has it (the original event,
                           * context, stack trace, data_raw uncut): for export */
};

/* Fills *rows (new JSON array) with up to limit events, newest first, and
 * *next with a heap cursor (caller frees) or NULL at the end. Without
 * filters a page costs at most two round trips; with filters, one per
 * server-side scan step, each bounded so Redis is never blocked long.
 * *round_trips (may be NULL) receives how many were made. */
enum status redis_dlq_list(struct redis_conn *c, const struct redis_dlq_query *q, json_t **rows,
                           char **next, int *round_trips, struct error *err);

/* The ids as the store holds them, for the verbs that take ids: an id
 * that a list showed escaped (one that is not valid UTF-8 can only be
 * typed that way) becomes its bytes, unless an event has the id as typed.
 * Ids without a backslash cost nothing. *out: n owned strings (and a
 * NULL), freed by the caller, or NULL on failure. */
enum status redis_dlq_ids_raw(struct redis_conn *c, const char *prefix, size_t n,
                              const char *const *ids, char ***out, struct error *err);

/* One event: the row fields plus the original event, context, stack trace
 * and the hash's own fields (retried_at, retried_by, replay_count,
 * resolved_at, resolution_note...). STATUS_NOT_FOUND when neither the hash
 * nor an index entry exists. */
enum status redis_dlq_show(struct redis_conn *c, const char *prefix, const char *event_id,
                           json_t **out, struct error *err);

/* The stats hash as JSON (total, by reason/source/target, last_updated) and
 * the index's depth; reasons read as values whatever the writer spelled. */
enum status redis_dlq_stats(struct redis_conn *c, const char *prefix, json_t **out,
                            struct error *err);

#endif
