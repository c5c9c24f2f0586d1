/* The simulator: a workflow engine that writes the store contract the way
 * a real one should (sagas through save_saga, approvals decided by consumed
 * signals, schedules, the DLQ in seed 004's layout, circuit breakers), and
 * a loader that fills the stores to a given size for benchmarks. */
#ifndef OPSDECK_BACKENDS_SIM_H
#define OPSDECK_BACKENDS_SIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "backends/pg_conn.h"
#include "backends/redis_conn.h"
#include "util/status.h"

/* Where replayed events of one queue arrive: "publish" (PUBLISH on the
 * channel named like the queue), "list:KEY" or "stream:KEY". */
struct sim_route {
    const char *queue;
    const char *route;
};

struct sim_options {
    const char *schema;          /* PostgreSQL schema, e.g. "wf" */
    const char *dlq_prefix;      /* e.g. "dlq" */
    const char *circuit_prefix;  /* e.g. "circuit_breakers" */
    const struct sim_route *routes; /* one per name of sim_queues() */
    size_t nroutes;
    double rate;                 /* sagas started per second; other work scales with it */
    double failures;             /* chance that a call fails (0..1); 0 turns off every
                                  * random failure: steps, incidents, dead letters */
    uint64_t seed;               /* ids and choices repeat for the same seed; 0 picks one */
    int64_t duration_ms;         /* stop after this long; 0 runs until *stop */
    const char *instance;        /* this engine's name in logs and records */
    FILE *log;                   /* one line per engine event; NULL for none */
    /* Redis settings for the simulator's own subscriber connection. */
    const struct redis_conn_options *redis_options;
};

/* The queues the simulator's services dead-letter from, NULL-terminated:
 * the caller maps each to its configured replay route. */
const char *const *sim_queues(void);

/* Runs the engine until *stop becomes non-zero or the duration passes.
 * Registers its circuits and schedules on first use, then every tick
 * starts sagas, consumes signals (LISTEN wf_signals; each signal is
 * claimed by exactly one engine with FOR UPDATE SKIP LOCKED and marked
 * consumed_at), runs due schedules and consumes trigger/backfill
 * requests, dead-letters failing events and consumes replayed ones, and
 * moves circuits. Returns STATUS_OK on a clean stop; a store that stays
 * down is retried with backoff, not fatal. Blocks. */
enum status sim_run(struct pg_conn *pg, struct redis_conn *redis, const struct sim_options *o,
                    const volatile sig_atomic_t *stop, struct error *err);

/* How much --populate writes. */
struct sim_sizes {
    uint64_t dlq_events;
    uint64_t sagas;              /* executions, four or five steps each */
    uint64_t approvals;
    uint64_t approvals_pending;  /* of approvals */
    uint64_t schedules;
    uint64_t circuits;
};

/* Fills the stores to the given sizes in bulk (COPY into PostgreSQL,
 * pipelined writes to Redis) with the same shapes sim_run writes, adding
 * to what is there. Progress lines go to o->log. Blocks; honours *stop
 * between batches. */
enum status sim_populate(struct pg_conn *pg, struct redis_conn *redis, const struct sim_options *o,
                         const struct sim_sizes *sizes, const volatile sig_atomic_t *stop,
                         struct error *err);

#endif
