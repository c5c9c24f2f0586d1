/* The Redis half of the overview: DLQ depth, inflow and reasons, and
 * circuits by state, from the index, the stats counters and the circuit
 * registry; never a scan of the key space. */
#ifndef OPSDECK_BACKENDS_REDIS_OVERVIEW_H
#define OPSDECK_BACKENDS_REDIS_OVERVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/redis_conn.h"
#include "util/status.h"

struct redis_count {
    char *name;     /* raw from the store: sanitize before printing */
    int64_t count;
};

struct redis_overview {
    int64_t dlq_depth;          /* entries in <dlq>:index */
    int64_t dlq_last_hour;      /* entries scored within the last hour */
    int64_t dlq_total_failed;   /* <dlq>:stats total_failed_events */
    int64_t dlq_status_sum;     /* a digest of the stats' status:* counters: changes when an
                                 * event's status moves */
    struct redis_count *reasons; /* <dlq>:stats reason:* by count, largest first */
    size_t nreasons;
    bool circuits_registry;     /* <circuit>:index exists; without it states are unknown */
    int64_t circuits_total;     /* names in <circuit>:index */
    int64_t circuits_closed;
    int64_t circuits_open;
    int64_t circuits_half_open;
    int64_t circuits_forced;    /* with a forced_state */
    int64_t circuits_unknown;   /* hash missing or state unrecognised */
};

/* Fills out in two round trips at most. now_us scores the last hour. */
enum status redis_overview_get(struct redis_conn *c, const char *dlq_prefix,
                               const char *circuit_prefix, int64_t now_us,
                               struct redis_overview *out, struct error *err);

/* Releases what redis_overview_get allocated; out may be reused. */
void redis_overview_done(struct redis_overview *out);

/* Reads a reason or state as seed 004's Python writes it: an enum repr
 * ("DLQReason.VALIDATION_FAILED", "CircuitBreakerState.OPEN") becomes its
 * lower-case value; anything else is returned unchanged. Heap string,
 * caller frees. */
char *redis_overview_normalise(const char *s);

/* DLQ inflow per minute: counts[i] is how many index entries are scored in
 * minute i of the last `minutes` whole minutes before now_us, oldest first
 * (the current, partial minute last). One pipelined round trip of ZCOUNTs. */
enum status redis_overview_inflow(struct redis_conn *c, const char *dlq_prefix, int64_t now_us,
                                  size_t minutes, int64_t *counts, struct error *err);

#endif
