/* Unit tests for durations, ISO 8601 parsing and the time formats. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/timeutil.h"

#define SEC 1000000LL /* microseconds */

/* 2026-11-23T00:00:00Z, computed by hand: 20780 days after the epoch. */
#define DAY_2026_11_23 (20780LL * 86400 * SEC)

static void test_duration_units(void **state)
{
    static const struct {
        const char *in;
        int64_t ms;
    } cases[] = {
        {"500ms", 500},
        {"3s", 3000},
        {"2m", 120000},
        {"1h", 3600000},
        {"1h30m", 5400000},
        {"7d", 7 * 86400000LL},
        {"1w", 7 * 86400000LL},
        {"1m30s", 90000},
        {"1s500ms", 1500},
        {"0", 0},
        {"0s", 0},
        {"45", 45000},
        {"10ms", 10},
        {"2h0m5s", 7205000},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = -1;
        assert_true(time_parse_duration(cases[i].in, &ms));
        assert_int_equal(ms, cases[i].ms);
    }
}

static void test_duration_bad(void **state)
{
    static const char *const bad[] = {
        "5x",  "",   "m",  "ms",   "-5s",  "1.5s",        " 5s",  "5s ",
        "5 s", "5S", "s5", "1h30", "5sec", "99999999999", "10s5", "+5s",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 1234;
        if (time_parse_duration(bad[i], &ms))
            print_error("accepted bad duration '%s'\n", bad[i]);
        assert_false(time_parse_duration(bad[i], &ms));
        assert_int_equal(ms, 1234); /* untouched on failure */
    }
    int64_t ms = 1234;
    assert_false(time_parse_duration(NULL, &ms));
}

static void test_iso_forms(void **state)
{
    static const struct {
        const char *in;
        int64_t us;
    } cases[] = {
        {"1970-01-01", 0},
        {"1970-01-01T00:00:00Z", 0},
        {"2026-11-23", DAY_2026_11_23},
        {"2026-11-23T10:03", DAY_2026_11_23 + (10 * 3600 + 3 * 60) * SEC},
        {"2026-11-23T10:03:07Z", DAY_2026_11_23 + (10 * 3600 + 3 * 60 + 7) * SEC},
        {"2026-11-23 10:03:07", DAY_2026_11_23 + (10 * 3600 + 3 * 60 + 7) * SEC},
        {"2026-11-23t10:03:07z", DAY_2026_11_23 + (10 * 3600 + 3 * 60 + 7) * SEC},
        {"2026-11-23T10:03:07.5Z", DAY_2026_11_23 + (10 * 3600 + 3 * 60 + 7) * SEC + 500000},
        {"2026-11-23T10:03:07,25", DAY_2026_11_23 + (10 * 3600 + 3 * 60 + 7) * SEC + 250000},
        {"2026-11-23T10:03:07+01:00", DAY_2026_11_23 + (9 * 3600 + 3 * 60 + 7) * SEC},
        {"2026-11-23T10:03:07-0500", DAY_2026_11_23 + (15 * 3600 + 3 * 60 + 7) * SEC},
        {"2026-11-23T10:03:07 UTC", DAY_2026_11_23 + (10 * 3600 + 3 * 60 + 7) * SEC},
        {"2026-11-23T00:30:00+01:00", DAY_2026_11_23 - 30 * 60 * SEC},
        {"2024-02-29", (19782LL * 86400) * SEC},
        {"1969-12-31T23:59:59Z", -1 * SEC},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t us = 0;
        if (!time_parse_iso(cases[i].in, &us))
            print_error("rejected '%s'\n", cases[i].in);
        assert_true(time_parse_iso(cases[i].in, &us));
        assert_int_equal(us, cases[i].us);
    }
}

/* Seed 004 writes naive timestamps (datetime.now().isoformat() and str()),
 * which must be read as UTC with their microseconds intact. */
static void test_iso_seed_004(void **state)
{
    int64_t us = 0;
    (void)state;
    assert_true(time_parse_iso("2026-11-23 17:52:16.961247", &us));
    assert_int_equal(us, DAY_2026_11_23 + (17 * 3600 + 52 * 60 + 16) * SEC + 961247);
    assert_true(time_parse_iso("2026-11-17T00:36:49.039618", &us));
    assert_int_equal(us, DAY_2026_11_23 - 6 * 86400 * SEC + (36 * 60 + 49) * SEC + 39618);
}

static void test_iso_bad(void **state)
{
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11",
        "2026-13-01",
        "2026-00-10",
        "2026-11-31",
        "2026-02-30",
        "2026-11-00",
        "26-11-23",
        "2026/11/23",
        "2026-11-23T",
        "2026-11-23T10",
        "2026-11-23T24:00",
        "2026-11-23T10:60",
        "2026-11-23T10:03:07.",
        "2026-11-23T10:03:07X",
        "2026-11-23T10:03:07+25:00",
        "2026-11-23T10:03:07+01:70",
        "2026-11-23 nonsense",
        "yesterday",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t us = 0;
        if (time_parse_iso(bad[i], &us))
            print_error("accepted bad time '%s'\n", bad[i]);
        assert_false(time_parse_iso(bad[i], &us));
    }
    int64_t us = 0;
    assert_false(time_parse_iso(NULL, &us));
}

static void test_point(void **state)
{
    const int64_t now = DAY_2026_11_23 + 12 * 3600 * SEC;
    int64_t us = 0;
    (void)state;
    assert_true(time_parse_point("15m", now, &us));
    assert_int_equal(us, now - 15 * 60 * SEC);
    assert_true(time_parse_point("1h30m", now, &us));
    assert_int_equal(us, now - 5400 * SEC);
    assert_true(time_parse_point("2026-11-23T10:00:00Z", now, &us));
    assert_int_equal(us, DAY_2026_11_23 + 10 * 3600 * SEC);
    assert_true(time_parse_point("2026-11-23", now, &us));
    assert_int_equal(us, DAY_2026_11_23);
    assert_false(time_parse_point("5x", now, &us));
    assert_false(time_parse_point("", now, &us));
}

static void test_format(void **state)
{
    char out[64];
    const int64_t t = DAY_2026_11_23 + (10 * 3600 + 3 * 60 + 7) * SEC + 961247;
    (void)state;
    assert_string_equal(time_format_iso(t, out, sizeof(out)), "2026-11-23T10:03:07Z");
    assert_string_equal(time_format_short(t, out, sizeof(out)), "2026-11-23 10:03Z");
    assert_string_equal(time_format_iso(0, out, sizeof(out)), "1970-01-01T00:00:00Z");
    /* just before the epoch rounds down, not towards zero */
    assert_string_equal(time_format_iso(-1, out, sizeof(out)), "1969-12-31T23:59:59Z");
    /* a round trip through the parser */
    int64_t back = 0;
    assert_true(time_parse_iso(time_format_iso(t, out, sizeof(out)), &back));
    assert_int_equal(back, t - 961247);
}

static void test_format_span(void **state)
{
    static const struct {
        int64_t ms;
        const char *out;
    } cases[] = {
        {0, "0s"},
        {999, "0s"},
        {45000, "45s"},
        {60000, "1m00s"},
        {192000, "3m12s"},
        {3600000, "1h00m"},
        {(3 * 3600 + 12 * 60) * 1000LL, "3h12m"},
        {(2 * 86400 + 4 * 3600) * 1000LL, "2d04h"},
        {-45000, "-45s"},
        {-(3 * 3600 + 12 * 60) * 1000LL, "-3h12m"},
    };
    char out[32];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(time_format_span(cases[i].ms, out, sizeof(out)), cases[i].out);
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t a = time_mono_ms();
    int64_t b = time_mono_ms();
    assert_true(b >= a);
    /* any sane wall clock is past 2020 and reads in microseconds */
    assert_true(time_now_us() > 1577836800LL * SEC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_units), cmocka_unit_test(test_duration_bad),
        cmocka_unit_test(test_iso_forms),      cmocka_unit_test(test_iso_seed_004),
        cmocka_unit_test(test_iso_bad),        cmocka_unit_test(test_point),
        cmocka_unit_test(test_format),         cmocka_unit_test(test_format_span),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
