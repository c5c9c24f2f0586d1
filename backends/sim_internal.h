/* What the simulator's parts share: the engine's state, its deterministic
 * random source, its log, and the calls the parts make into each other
 * (a saga step goes through a circuit breaker; a failed event is
 * dead-lettered; a schedule run starts a saga). Only backends/sim*.c
 * include this header. */
#ifndef OPSDECK_BACKENDS_SIM_INTERNAL_H
#define OPSDECK_BACKENDS_SIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backends/sim.h"

struct sim_sagas;
struct sim_schedules;
struct sim_dlq;
struct sim_circuits;

struct sim {
    const struct sim_options *o;
    struct pg_conn *pg;
    struct redis_conn *redis;
    uint64_t rng;         /* splitmix64 state */
    int64_t now_us;       /* wall clock, unix microseconds, at the start of this tick */
    struct sim_sagas *sagas;
    struct sim_schedules *schedules;
    struct sim_dlq *dlq;
    struct sim_circuits *circuits;
    /* Set by the loop when a NOTIFY arrived on wf_signals or
     * wf_schedule_requests; the part that consumes them clears it. Parts
     * also look every second, so a missed notification only delays. */
    bool signals_note;
    bool requests_note;
};

/* ---- sim.c: randomness, ids, times, the log ---------------------------- */

uint64_t sim_rand(struct sim *s);
/* Uniform in [0, 1). */
double sim_unit(struct sim *s);
bool sim_chance(struct sim *s, double p);
/* Uniform in [lo, hi], inclusive. */
uint64_t sim_between(struct sim *s, uint64_t lo, uint64_t hi);
/* One of list[0..n-1]; borrowed. */
const char *sim_pick(struct sim *s, const char *const *list, size_t n);
/* "PREFIX-" and 12 hex digits from the random source; heap string. */
char *sim_new_id(struct sim *s, const char *prefix);
/* A unix-microsecond time as seed 004 writes it: naive UTC ISO 8601,
 * "2026-11-23T17:52:16.961247" (T, or ' ' when space is true). */
void sim_iso(int64_t us, bool space, char out[32]);
/* One line to o->log, prefixed with the time and the instance name; the
 * text is sanitized. Does nothing without a log. */
void sim_log(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- sim_payload.c: realistic events ------------------------------------ */

/* An order-flow event of the given type ("order.created", "payment.charge",
 * "shipment.create", "customer.notify", ...): nested JSON with PII-like
 * fields (email, card_number, iban, phone), unicode names and amounts.
 * New reference. */
json_t *sim_payload_event(struct sim *s, const char *event_type);

/* ---- sim_sagas.c: sagas, approvals, signals ----------------------------- */

enum status sim_sagas_new(struct sim *s, struct sim_sagas **out, struct error *err);
void sim_sagas_free(struct sim_sagas *g);
/* Starts sagas at the configured rate, advances running ones, handles
 * approvals falling due or escalating, and consumes signals. */
enum status sim_sagas_tick(struct sim *s, struct error *err);
/* On a clean stop: saves every saga this engine drives without its
 * engine mark, so another engine may carry them on. */
enum status sim_sagas_park(struct sim *s, struct error *err);
/* Starts one saga of the named kind for a schedule run (schedule_id may be
 * NULL); context is taken. Sets *execution_id (heap) when not NULL. */
enum status sim_sagas_start(struct sim *s, const char *kind, json_t *context,
                            const char *schedule_id, char **execution_id, struct error *err);

/* ---- sim_schedules.c: schedules and their requests --------------------- */

enum status sim_schedules_new(struct sim *s, struct sim_schedules **out, struct error *err);
void sim_schedules_free(struct sim_schedules *c);
/* Registers the simulator's schedules on first use, resumes those whose
 * resume_at has passed, starts due runs by their overlap policy (none while
 * paused) and consumes trigger and backfill requests. */
enum status sim_schedules_tick(struct sim *s, struct error *err);
/* A run started by schedule_id has ended with status ("completed",
 * "failed", "compensated"). */
enum status sim_schedules_finished(struct sim *s, const char *schedule_id,
                                   const char *execution_id, const char *status,
                                   struct error *err);

/* ---- sim_dlq.c: dead-lettering and replay consumers --------------------- */

enum status sim_dlq_new(struct sim *s, struct sim_dlq **out, struct error *err);
void sim_dlq_free(struct sim_dlq *d);
/* Socket the loop should poll for replayed events (the subscriber of the
 * publish routes), or -1. */
int sim_dlq_fd(const struct sim_dlq *d);
/* Dead-letters events of failing services on their own, and consumes
 * replayed events on every route (a replay of a still-broken event may
 * fail and be dead-lettered again). */
enum status sim_dlq_tick(struct sim *s, struct error *err);
/* Dead-letters one failed event in seed 004's layout (hash <prefix>:<id>
 * with data/created_at/status, <prefix>:index, <prefix>:stats) in one
 * MULTI/EXEC. event is the original event (taken); reason is a failure
 * reason value such as "validation_failed". */
enum status sim_dlq_dead_letter(struct sim *s, json_t *event, const char *queue,
                                const char *reason, const char *source, const char *target,
                                const char *message, struct error *err);

/* ---- sim_circuits.c: circuit breakers ----------------------------------- */

enum status sim_circuits_new(struct sim *s, struct sim_circuits **out, struct error *err);
void sim_circuits_free(struct sim_circuits *c);
/* Subscriber socket of circuit_breakers:control, or -1. */
int sim_circuits_fd(const struct sim_circuits *c);
/* Moves breakers with background traffic, honours forced states and
 * control messages, and writes each breaker's stats hash. */
enum status sim_circuits_tick(struct sim *s, struct error *err);
/* Whether a call to service may go out now (false: its breaker is open or
 * forced open, the call fails fast); when it may, ok is its outcome and is
 * counted. Services without a breaker always may. */
bool sim_circuits_call(struct sim *s, const char *service, bool ok);

/* ---- sim_populate*.c ---------------------------------------------------- */

enum status sim_populate_pg(struct sim *s, const struct sim_sizes *sizes,
                            const volatile sig_atomic_t *stop, struct error *err);
enum status sim_populate_redis(struct sim *s, const struct sim_sizes *sizes,
                               const volatile sig_atomic_t *stop, struct error *err);

#endif
