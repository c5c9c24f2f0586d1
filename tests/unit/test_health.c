/* Unit tests for the backend health breaker: states, backoff, jitter and reasons. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backends/health.h"

#define BASE_MS 100
#define MAX_MS  3000
#define WALL0   1700000000000000LL

/* Drives h through one more failed probe at now_ms and returns the wait. */
static int64_t probe_fails(struct health *h, int64_t *now_ms)
{
    *now_ms += health_retry_in_ms(h, *now_ms);
    assert_true(health_allow(h, *now_ms));
    assert_int_equal(h->breaker, HEALTH_HALF_OPEN);
    health_failure(h, true, *now_ms, WALL0 + *now_ms * 1000, "still refused");
    assert_int_equal(h->breaker, HEALTH_OPEN);
    return h->next_retry_ms - *now_ms;
}

static void test_initial_state(void **state)
{
    struct health h;
    (void)state;

    health_init(&h, BASE_MS, MAX_MS, 3, 42);
    assert_int_equal(h.state, HEALTH_UNKNOWN);
    assert_int_equal(h.breaker, HEALTH_CLOSED);
    assert_int_equal(h.failures, 0);
    assert_int_equal(h.down_since_us, 0);
    assert_string_equal(h.last_error, "");
    assert_true(health_allow(&h, 0));
    assert_int_equal(health_retry_in_ms(&h, 0), 0);
    assert_string_equal(health_state_name(h.state), "unknown");
    assert_string_equal(health_state_name(HEALTH_UP), "up");
    assert_string_equal(health_state_name(HEALTH_DOWN), "down");
    assert_string_equal(health_state_name((enum health_state)99), "unknown");
}

static void test_seed_zero_and_bad_settings(void **state)
{
    struct health h;
    (void)state;

    health_init(&h, 0, -5, 0, 0);
    assert_true(h.rng != 0);
    assert_true(h.base_ms >= 1);
    assert_true(h.max_ms >= h.base_ms);
    assert_int_equal(h.threshold, 1);
    /* threshold 0 would mean "never open"; it is read as 1. */
    health_failure(&h, false, 0, WALL0, "err");
    assert_int_equal(h.breaker, HEALTH_OPEN);
}

static void test_hard_failure_opens(void **state)
{
    struct health h;
    int64_t now = 1000;
    (void)state;

    health_init(&h, BASE_MS, MAX_MS, 3, 7);
    assert_true(health_allow(&h, now));
    health_failure(&h, true, now, WALL0, "connection refused");
    assert_int_equal(h.state, HEALTH_DOWN);
    assert_int_equal(h.breaker, HEALTH_OPEN);
    assert_int_equal(h.failures, 1);
    assert_int_equal(h.backoff_ms, BASE_MS);
    assert_string_equal(h.last_error, "connection refused");
    assert_true(h.next_retry_ms >= now + BASE_MS / 2);
    assert_true(h.next_retry_ms <= now + BASE_MS);

    int64_t wait = h.next_retry_ms - now;
    assert_int_equal(health_retry_in_ms(&h, now), wait);
    assert_false(health_allow(&h, now));
    assert_false(health_allow(&h, h.next_retry_ms - 1));
    assert_int_equal(health_retry_in_ms(&h, h.next_retry_ms - 1), 1);
    assert_int_equal(h.breaker, HEALTH_OPEN);

    assert_true(health_allow(&h, h.next_retry_ms));
    assert_int_equal(h.breaker, HEALTH_HALF_OPEN);
    assert_int_equal(health_retry_in_ms(&h, h.next_retry_ms), 0);
    /* A second call during the probe is the same probe. */
    assert_true(health_allow(&h, h.next_retry_ms));
    assert_int_equal(h.breaker, HEALTH_HALF_OPEN);
}

static void test_allow_after_retry_time(void **state)
{
    struct health h;
    (void)state;

    health_init(&h, BASE_MS, MAX_MS, 3, 9);
    health_failure(&h, true, 0, WALL0, "timeout");
    int64_t later = h.next_retry_ms + 5000;
    assert_int_equal(health_retry_in_ms(&h, later), 0);
    assert_true(health_allow(&h, later));
    assert_int_equal(h.breaker, HEALTH_HALF_OPEN);
}

static void test_backoff_doubles_and_caps(void **state)
{
    struct health h;
    int64_t now = 0;
    int64_t expect = BASE_MS;
    (void)state;

    health_init(&h, BASE_MS, MAX_MS, 3, 12345);
    health_failure(&h, true, now, WALL0, "refused");
    assert_int_equal(h.backoff_ms, BASE_MS);
    /* 100, 200, 400, 800, 1600, then the 3000 ceiling for good. */
    for (int k = 2; k <= 12; k++) {
        expect = expect * 2 > MAX_MS ? MAX_MS : expect * 2;
        int64_t wait = probe_fails(&h, &now);
        assert_int_equal(h.backoff_ms, expect);
        assert_true(wait >= expect / 2);
        assert_true(wait <= expect);
        assert_int_equal(h.failures, (unsigned)k);
    }
    assert_int_equal(h.backoff_ms, MAX_MS);
}

static void test_backoff_huge_ceiling_no_overflow(void **state)
{
    struct health h;
    int64_t now = 0;
    (void)state;

    health_init(&h, 1, INT64_MAX / 4, 1, 3);
    health_failure(&h, true, now, WALL0, "refused");
    for (int k = 0; k < 80; k++) {
        int64_t prev = h.backoff_ms;
        /* Skip straight to HALF_OPEN without walking the clock that far. */
        assert_true(health_allow(&h, h.next_retry_ms));
        health_failure(&h, true, 0, WALL0, "refused");
        assert_true(h.backoff_ms >= prev);
        assert_true(h.backoff_ms <= INT64_MAX / 4);
        assert_true(h.backoff_ms > 0);
    }
    assert_int_equal(h.backoff_ms, INT64_MAX / 4);
}

static void test_jitter_within_bounds(void **state)
{
    (void)state;

    for (uint64_t seed = 1; seed <= 2000; seed++) {
        struct health h;
        int64_t now = 500;
        int64_t d = BASE_MS;

        health_init(&h, BASE_MS, MAX_MS, 3, seed * 0x9e3779b97f4a7c15ULL);
        health_failure(&h, true, now, WALL0, "refused");
        int64_t wait = h.next_retry_ms - now;
        assert_true(wait >= d / 2 && wait <= d);
        for (int k = 0; k < 7; k++) {
            d = d * 2 > MAX_MS ? MAX_MS : d * 2;
            wait = probe_fails(&h, &now);
            assert_true(wait >= d / 2);
            assert_true(wait <= d);
        }
    }
}

static void test_jitter_spreads(void **state)
{
    int64_t lo = INT64_MAX, hi = 0;
    (void)state;

    /* Jitter that always picked the same end would not spread retries. */
    for (uint64_t seed = 1; seed <= 500; seed++) {
        struct health h;
        health_init(&h, 1000, 60000, 3, seed);
        health_failure(&h, true, 0, WALL0, "refused");
        if (h.next_retry_ms < lo)
            lo = h.next_retry_ms;
        if (h.next_retry_ms > hi)
            hi = h.next_retry_ms;
    }
    assert_true(lo < 600);
    assert_true(hi > 900);
}

static void test_soft_failures_below_threshold(void **state)
{
    struct health h;
    (void)state;

    health_init(&h, BASE_MS, MAX_MS, 3, 5);
    health_success(&h, 250);
    health_failure(&h, false, 10, WALL0, "ERROR: relation missing");
    assert_int_equal(h.breaker, HEALTH_CLOSED);
    assert_true(health_allow(&h, 10));
    health_failure(&h, false, 20, WALL0 + 10000, "ERROR: again");
    assert_int_equal(h.breaker, HEALTH_CLOSED);
    assert_int_equal(h.failures, 2);
    assert_true(health_allow(&h, 20));
    assert_int_equal(health_retry_in_ms(&h, 20), 0);
    assert_string_equal(h.last_error, "ERROR: again");

    health_failure(&h, false, 30, WALL0 + 20000, "ERROR: third");
    assert_int_equal(h.breaker, HEALTH_OPEN);
    assert_int_equal(h.backoff_ms, BASE_MS);
    assert_false(health_allow(&h, 30));
}

static void test_soft_failure_in_half_open_reopens(void **state)
{
    struct health h;
    (void)state;

    health_init(&h, BASE_MS, MAX_MS, 3, 5);
    health_failure(&h, true, 0, WALL0, "refused");
    int64_t t = h.next_retry_ms;
    assert_true(health_allow(&h, t));
    health_failure(&h, false, t, WALL0, "ERROR: probe failed");
    assert_int_equal(h.breaker, HEALTH_OPEN);
    assert_int_equal(h.backoff_ms, 2 * BASE_MS);
    assert_false(health_allow(&h, t));
}

static void test_success_resets(void **state)
{
    struct health h;
    int64_t now = 0;
    (void)state;

    health_init(&h, BASE_MS, MAX_MS, 3, 77);
    health_failure(&h, true, now, WALL0, "refused");
    probe_fails(&h, &now);
    probe_fails(&h, &now);
    assert_int_equal(h.backoff_ms, 4 * BASE_MS);

    now = h.next_retry_ms;
    assert_true(health_allow(&h, now));
    health_success(&h, 1234);
    assert_int_equal(h.state, HEALTH_UP);
    assert_int_equal(h.breaker, HEALTH_CLOSED);
    assert_int_equal(h.failures, 0);
    assert_int_equal(h.rtt_us, 1234);
    assert_int_equal(h.down_since_us, 0);
    assert_string_equal(h.last_error, "");
    assert_true(health_allow(&h, now));
    assert_int_equal(health_retry_in_ms(&h, now), 0);
    assert_string_equal(health_state_name(h.state), "up");

    /* The next outage starts from base again, not from the old backoff. */
    health_failure(&h, true, now, WALL0 + 99, "refused");
    assert_int_equal(h.backoff_ms, BASE_MS);
    assert_int_equal(h.failures, 1);
    assert_int_equal(h.down_since_us, WALL0 + 99);

    /* Soft failures are counted from zero again after a success. */
    health_init(&h, BASE_MS, MAX_MS, 3, 77);
    health_failure(&h, false, 0, WALL0, "e1");
    health_failure(&h, false, 0, WALL0, "e2");
    health_success(&h, 1);
    health_failure(&h, false, 0, WALL0, "e3");
    health_failure(&h, false, 0, WALL0, "e4");
    assert_int_equal(h.breaker, HEALTH_CLOSED);
}

static void test_down_since_kept(void **state)
{
    struct health h;
    int64_t now = 0;
    (void)state;

    health_init(&h, BASE_MS, MAX_MS, 2, 11);
    health_failure(&h, false, now, WALL0, "soft");
    assert_int_equal(h.state, HEALTH_DOWN);
    assert_int_equal(h.down_since_us, WALL0);
    health_failure(&h, true, 5, WALL0 + 5000, "hard");
    assert_int_equal(h.down_since_us, WALL0);
    for (int i = 0; i < 5; i++) {
        probe_fails(&h, &now);
        assert_int_equal(h.down_since_us, WALL0);
    }
    assert_string_equal(h.last_error, "still refused");
}

static void test_deterministic_for_equal_seeds(void **state)
{
    struct health a, b, c;
    int64_t ta = 0, tb = 0, tc = 0;
    bool differs = false;
    (void)state;

    health_init(&a, BASE_MS, 100000, 3, 0xdeadbeef);
    health_init(&b, BASE_MS, 100000, 3, 0xdeadbeef);
    health_init(&c, BASE_MS, 100000, 3, 0xfeedface);
    health_failure(&a, true, 0, WALL0, "x");
    health_failure(&b, true, 0, WALL0, "x");
    health_failure(&c, true, 0, WALL0, "x");
    for (int i = 0; i < 10; i++) {
        int64_t wa = probe_fails(&a, &ta);
        int64_t wb = probe_fails(&b, &tb);
        int64_t wc = probe_fails(&c, &tc);
        assert_int_equal(wa, wb);
        assert_int_equal(a.next_retry_ms, b.next_retry_ms);
        if (wa != wc)
            differs = true;
    }
    assert_int_equal(a.rng, b.rng);
    assert_true(differs);
}

static void test_long_reason_truncated(void **state)
{
    struct health h;
    char reason[1000];
    (void)state;

    health_init(&h, BASE_MS, MAX_MS, 3, 1);
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    health_failure(&h, true, 0, WALL0, reason);
    assert_int_equal(strlen(h.last_error), sizeof h.last_error - 1);
    assert_memory_equal(h.last_error, reason, sizeof h.last_error - 1);

    /* A cut inside a multi-byte character backs off to its start: 254
     * ASCII bytes and then "é" (2 bytes) would end one byte short. */
    memset(reason, 'a', 254);
    memcpy(reason + 254, "\xc3\xa9tail", 7);
    health_failure(&h, true, 0, WALL0, reason);
    assert_int_equal(strlen(h.last_error), 254);
    assert_int_equal(h.last_error[253], 'a');

    /* One line: breaks and control bytes become spaces. */
    health_failure(&h, true, 0, WALL0, "line one\nline two\r\tend\x1b[2J");
    assert_string_equal(h.last_error, "line one line two  end [2J");

    health_failure(&h, true, 0, WALL0, NULL);
    assert_true(h.last_error[0] != '\0');
    health_failure(&h, true, 0, WALL0, "");
    assert_true(h.last_error[0] != '\0');

    /* An exact fit is kept whole. */
    memset(reason, 'z', 255);
    reason[255] = '\0';
    health_failure(&h, true, 0, WALL0, reason);
    assert_string_equal(h.last_error, reason);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_state),
        cmocka_unit_test(test_seed_zero_and_bad_settings),
        cmocka_unit_test(test_hard_failure_opens),
        cmocka_unit_test(test_allow_after_retry_time),
        cmocka_unit_test(test_backoff_doubles_and_caps),
        cmocka_unit_test(test_backoff_huge_ceiling_no_overflow),
        cmocka_unit_test(test_jitter_within_bounds),
        cmocka_unit_test(test_jitter_spreads),
        cmocka_unit_test(test_soft_failures_below_threshold),
        cmocka_unit_test(test_soft_failure_in_half_open_reopens),
        cmocka_unit_test(test_success_resets),
        cmocka_unit_test(test_down_since_kept),
        cmocka_unit_test(test_deterministic_for_equal_seeds),
        cmocka_unit_test(test_long_reason_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
