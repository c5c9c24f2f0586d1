/* The PostgreSQL half of the overview: saga, approval and schedule counts
 * for `opsdeck status` and the console's Overview, each answered by an
 * index, in one round trip. */
#ifndef OPSDECK_BACKENDS_PG_OVERVIEW_H
#define OPSDECK_BACKENDS_PG_OVERVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backends/pg_conn.h"
#include "util/status.h"

struct pg_overview {
    int schema_version;          /* 0: not migrated (the counts below are 0) */
    int64_t sagas_running;       /* now, any age: a long runner is what is stuck */
    int64_t sagas_compensating;  /* now, any age */
    int64_t sagas_failed_24h;    /* failed or compensated (how a failed saga ends in
                                  * seed 004), last changed in the last 24 h */
    int64_t approvals_pending;
    int64_t approvals_overdue;   /* pending and past due_at */
    int64_t approvals_oldest_us; /* requested_at of the oldest pending one; 0 if none */
    int64_t schedules_total;
    int64_t schedules_paused;
    int64_t schedules_next_run_us; /* earliest next_run_at of an unpaused one; 0 if none */
};

/* Fills out from schema. A schema that is not migrated is not an error:
 * schema_version is 0. */
enum status pg_overview_get(struct pg_conn *c, const char *schema, struct pg_overview *out,
                            struct error *err);

/* Up to n unpaused schedules with the earliest next_run_at, as a new array
 * of {schedule_id, spec, next_run_at, overlap_policy}, from the index on
 * next_run_at. */
enum status pg_overview_next_runs(struct pg_conn *c, const char *schema, size_t n,
                                  json_t **rows, struct error *err);

#endif
