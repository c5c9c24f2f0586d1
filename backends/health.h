/* A backend's health: up or down and since when, when the next attempt is
 * allowed, and a breaker (seed 004 section 2.2) so that a dead backend fails
 * fast instead of making every caller wait for a timeout. Pure logic: the
 * caller passes the clocks, so tests can drive it. */
#ifndef OPSDECK_BACKENDS_HEALTH_H
#define OPSDECK_BACKENDS_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

enum health_state {
    HEALTH_UNKNOWN, /* never tried */
    HEALTH_UP,
    HEALTH_DOWN,
};

enum health_breaker {
    HEALTH_CLOSED,    /* calls go through */
    HEALTH_OPEN,      /* calls fail fast until next_retry_ms */
    HEALTH_HALF_OPEN, /* one probe call is under way */
};

struct health {
    enum health_state state;
    enum health_breaker breaker;
    int64_t down_since_us;  /* wall clock of the first failure of this outage; 0 when up */
    int64_t next_retry_ms;  /* monotonic; meaningful when OPEN */
    int64_t backoff_ms;     /* the delay chosen at the last opening */
    unsigned failures;      /* consecutive failures */
    int64_t rtt_us;         /* round trip of the last success */
    char last_error[256];   /* one line, "" when up */

    /* settings, from health_init */
    int64_t base_ms;        /* first backoff */
    int64_t max_ms;         /* backoff ceiling */
    unsigned threshold;     /* soft failures in a row that open the breaker */
    uint64_t rng;           /* xorshift state for jitter; never 0 */
};

/* Initialises h: UNKNOWN, CLOSED. Backoff doubles from base_ms up to max_ms
 * with jitter (each delay drawn from [d/2, d]); threshold soft failures in a
 * row open the breaker (hard failures open it at once). seed 0 picks 1. */
void health_init(struct health *h, int64_t base_ms, int64_t max_ms, unsigned threshold,
                 uint64_t seed);

/* May a call be made at now_ms? True when CLOSED; when OPEN, false before
 * next_retry_ms (the caller fails fast) and true at or after it, moving to
 * HALF_OPEN: that call is the probe. True in HALF_OPEN as well (callers are
 * single-threaded; a second call during a probe is the same probe). */
bool health_allow(struct health *h, int64_t now_ms);

/* Records a successful call: UP, CLOSED, failures reset, rtt kept. */
void health_success(struct health *h, int64_t rtt_us);

/* Records a failure with its one-line reason. hard (connection refused or
 * lost, timeout) opens the breaker at once; a soft one (a command error on a
 * live connection) opens it after threshold in a row. A failed probe opens it
 * again with twice the backoff. wall_us stamps down_since on the first
 * failure of an outage. */
void health_failure(struct health *h, bool hard, int64_t now_ms, int64_t wall_us,
                    const char *reason);

/* Milliseconds until the next attempt is allowed (0 when allowed now). */
int64_t health_retry_in_ms(const struct health *h, int64_t now_ms);

/* "up", "down" or "unknown". */
const char *health_state_name(enum health_state state);

#endif
