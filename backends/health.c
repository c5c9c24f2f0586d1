/* A backend's health and circuit breaker: pure state changes driven by the
 * clocks the caller passes. */
#include <config.h>

#include <string.h>

#include "backends/health.h"

/* xorshift64 (Marsaglia): enough for jitter, and a given seed replays the
 * same delays, which is what the tests rely on. A non-zero state never
 * becomes zero. */
static uint64_t health_next_random(struct health *h)
{
    uint64_t x = h->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    h->rng = x;
    return x;
}

/* The nominal delay for this opening: base on the first opening of a run,
 * twice the previous one after that. Doubling is checked against max_ms
 * before it happens so that it can never overflow. */
static int64_t health_next_delay(const struct health *h, bool reopening)
{
    if (!reopening || h->backoff_ms <= 0)
        return h->base_ms < h->max_ms ? h->base_ms : h->max_ms;
    if (h->backoff_ms > h->max_ms / 2)
        return h->max_ms;
    return h->backoff_ms * 2;
}

/* Opens the breaker. backoff_ms keeps the nominal delay d, not the jittered
 * wait, because the next opening doubles d; the wait itself is visible as
 * next_retry_ms - now_ms. Jitter spreads the retries of several consoles
 * that lost the same backend at the same moment. */
static void health_open(struct health *h, int64_t now_ms, bool reopening)
{
    int64_t d = health_next_delay(h, reopening);
    int64_t lo = d / 2;
    uint64_t span = (uint64_t)(d - lo) + 1;
    int64_t wait = lo + (int64_t)(health_next_random(h) % span);

    h->backoff_ms = d;
    h->breaker = HEALTH_OPEN;
    h->next_retry_ms = now_ms + wait;
}

/* Copies reason into last_error on one line: line breaks and other control
 * bytes become spaces (the field is shown in a status line and a log line),
 * and a cut backs off to a UTF-8 character boundary so that the stored text
 * is never a broken sequence of our making. */
static void health_set_error(struct health *h, const char *reason)
{
    size_t cap = sizeof h->last_error - 1;
    size_t n;

    if (reason == NULL || reason[0] == '\0')
        reason = "failed";
    n = strnlen(reason, cap + 1);
    if (n > cap) {
        n = cap;
        while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)reason[i];
        h->last_error[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    h->last_error[n] = '\0';
}

void health_init(struct health *h, int64_t base_ms, int64_t max_ms, unsigned threshold,
                 uint64_t seed)
{
    memset(h, 0, sizeof *h);
    h->state = HEALTH_UNKNOWN;
    h->breaker = HEALTH_CLOSED;
    /* A zero or negative base would retry in a tight loop; a ceiling below
     * the base would make the first delay the largest. */
    h->base_ms = base_ms > 0 ? base_ms : 1;
    h->max_ms = max_ms > h->base_ms ? max_ms : h->base_ms;
    h->threshold = threshold > 0 ? threshold : 1;
    h->rng = seed != 0 ? seed : 1;
}

bool health_allow(struct health *h, int64_t now_ms)
{
    if (h->breaker != HEALTH_OPEN)
        return true;
    if (now_ms < h->next_retry_ms)
        return false;
    h->breaker = HEALTH_HALF_OPEN;
    return true;
}

void health_success(struct health *h, int64_t rtt_us)
{
    h->state = HEALTH_UP;
    h->breaker = HEALTH_CLOSED;
    h->down_since_us = 0;
    h->next_retry_ms = 0;
    /* The next outage starts again from base_ms. */
    h->backoff_ms = 0;
    h->failures = 0;
    h->rtt_us = rtt_us;
    h->last_error[0] = '\0';
}

void health_failure(struct health *h, bool hard, int64_t now_ms, int64_t wall_us,
                    const char *reason)
{
    /* The outage began with the first failure after a success (or ever);
     * later failures must not move it, or "down for" would restart. */
    if (h->failures == 0 || h->down_since_us == 0)
        h->down_since_us = wall_us;
    if (h->failures < (unsigned)-1)
        h->failures++;
    h->state = HEALTH_DOWN;
    health_set_error(h, reason);

    /* A failure while not CLOSED is a failed probe (or a call that ignored
     * health_allow): either way the backend is still dead, so back off
     * further. From CLOSED, only a hard failure or a run of soft ones
     * opens. */
    if (h->breaker != HEALTH_CLOSED)
        health_open(h, now_ms, true);
    else if (hard || h->failures >= h->threshold)
        health_open(h, now_ms, false);
}

int64_t health_retry_in_ms(const struct health *h, int64_t now_ms)
{
    if (h->breaker != HEALTH_OPEN || now_ms >= h->next_retry_ms)
        return 0;
    return h->next_retry_ms - now_ms;
}

const char *health_state_name(enum health_state state)
{
    switch (state) {
    case HEALTH_UP:
        return "up";
    case HEALTH_DOWN:
        return "down";
    case HEALTH_UNKNOWN:
        break;
    }
    return "unknown";
}
