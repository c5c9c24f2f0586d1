/* Circuit breakers in Redis, read side (seed 004 section 2.2): every
 * breaker named in <prefix>:index with its hash. */
#ifndef OPSDECK_BACKENDS_REDIS_CIRCUITS_H
#define OPSDECK_BACKENDS_REDIS_CIRCUITS_H

#include <jansson.h>

#include "backends/redis_conn.h"
#include "util/status.h"

/* Fills *rows (new JSON array, by name) with each registered breaker:
 * state (effective, i.e. forced_state when set), raw state, counts, failure
 * rate, last failure/success, config (parsed), forced state/by/at/reason,
 * updated_at. A name whose hash is gone is a row with "missing": true. In
 * two round trips. */
enum status redis_circuits_list(struct redis_conn *c, const char *prefix, json_t **rows,
                                struct error *err);

/* One breaker; STATUS_NOT_FOUND when it has no hash. */
enum status redis_circuits_show(struct redis_conn *c, const char *prefix, const char *name,
                                json_t **out, struct error *err);

#endif
