/* Circuit breakers in Redis, read side (seed 004 section 2.2): the
 * breakers named in <prefix>:index with their hashes, a page at a time. */
#ifndef OPSDECK_BACKENDS_REDIS_CIRCUITS_H
#define OPSDECK_BACKENDS_REDIS_CIRCUITS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "backends/redis_conn.h"
#include "util/status.h"

struct redis_circuits_query {
    const char *prefix; /* the registry's prefix; NULL or "" for circuit_breakers */
    const char *state;  /* open, half_open or closed: only breakers whose effective state
                         * it is; NULL for all */
    bool by_name;       /* by name only; else open, half_open, closed, then the rest, each
                         * by name */
    size_t limit;       /* 1..1000 */
    const char *after;  /* the cursor of the page before, or NULL */
};

/* Fills *rows (new JSON array) with a page of the breakers registered in
 * <prefix>:index, in q's order: state (effective, i.e. forced_state
 * when set; an enum repr read as its value), raw state, counts, failure
 * rate, last failure/success, config (parsed), forced state/by/at/reason,
 * updated_at. A name whose hash is gone is a row with "missing": true, a
 * key of another type one with "malformed". *next is a heap cursor (caller
 * frees), NULL on the last page. Every name is read (SMEMBERS) and, for the
 * state order or a state filter, every breaker's state and forced state
 * (pipelined HMGETs, 1000 a round trip), keeping only name and rank; the
 * hashes are read for the page's rows only (one round trip). A bad state,
 * limit or cursor is STATUS_USAGE naming the flag. */
enum status redis_circuits_list(struct redis_conn *c, const struct redis_circuits_query *q,
                                json_t **rows, char **next, struct error *err);

/* One breaker; STATUS_NOT_FOUND when it has no hash. */
enum status redis_circuits_show(struct redis_conn *c, const char *prefix, const char *name,
                                json_t **out, struct error *err);

#endif
