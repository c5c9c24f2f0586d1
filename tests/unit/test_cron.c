/* Unit tests for the cron parser and evaluator: fields, names, steps, the
 * Vixie day rule, calendar edges (leap days, month and year ends), a
 * brute-force cross-check, and the messages for bad expressions. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util/cron.h"
#include "util/timeutil.h"

#define MIN_US INT64_C(60000000)

/* An ISO 8601 UTC time in unix microseconds. */
static int64_t at(const char *iso)
{
    int64_t us = 0;
    if (!time_parse_iso(iso, &us))
        fail_msg("bad time in the test: %s", iso);
    return us;
}

static struct cron parse_ok(const char *expr)
{
    struct cron c;
    struct error err = {0};
    if (cron_parse(expr, &c, &err) != STATUS_OK)
        fail_msg("cron_parse(\"%s\") failed: %s", expr, err.msg);
    return c;
}

/* cron_next of expr after the time `after` is the time `want` (or -1 when
 * want is NULL). */
static void check_next(const char *expr, const char *after, const char *want)
{
    struct cron c = parse_ok(expr);
    int64_t got = cron_next(&c, at(after));
    int64_t exp = want != NULL ? at(want) : -1;
    if (got != exp) {
        char g[40] = "none";
        if (got >= 0)
            time_format_iso(got, g, sizeof(g));
        fail_msg("\"%s\" after %s: expected %s, got %s", expr, after, want ? want : "none", g);
    }
}

static void test_every_minute(void **state)
{
    (void)state;
    check_next("* * * * *", "2026-11-23T10:03:00", "2026-11-23T10:04:00");
    check_next("* * * * *", "2026-11-23T10:03:59.999999", "2026-11-23T10:04:00");
    check_next("* * * * *", "2026-12-31T23:59:30", "2027-01-01T00:00:00");
    check_next("  *\t* * *  *  ", "2026-11-23T10:03:00", "2026-11-23T10:04:00");
}

static void test_seed_examples(void **state)
{
    (void)state;
    /* Seed 002 section 14.3: weekdays at 9, every 15 minutes, the 1st at midnight. */
    check_next("0 9 * * 1-5", "2026-11-20T10:00", "2026-11-23T09:00"); /* Fri -> Mon */
    check_next("0 9 * * 1-5", "2026-11-23T08:59:59", "2026-11-23T09:00");
    check_next("*/15 * * * *", "2026-11-23T10:07", "2026-11-23T10:15");
    check_next("*/15 * * * *", "2026-11-23T10:45", "2026-11-23T11:00"); /* strictly after */
    check_next("*/15 * * * *", "2026-11-23T10:44:59.999999", "2026-11-23T10:45");
    check_next("0 0 1 * *", "2026-01-31T12:00", "2026-02-01T00:00");
    check_next("0 6 * * *", "2026-11-23T06:00", "2026-11-24T06:00");
}

static void test_lists_ranges_steps(void **state)
{
    (void)state;
    check_next("5,35 * * * *", "2026-11-23T10:06", "2026-11-23T10:35");
    check_next("10-30/10 * * * *", "2026-11-23T10:30", "2026-11-23T11:10");
    check_next("5/20 * * * *", "2026-11-23T10:46", "2026-11-23T11:05"); /* 5,25,45 */
    check_next("0 */6 * * *", "2026-11-23T12:00", "2026-11-23T18:00");
    check_next("0 22/5 * * *", "2026-11-23T22:00", "2026-11-24T22:00"); /* 22 only */
    check_next("0 0 * * 1,3-4", "2026-11-23T00:00", "2026-11-25T00:00");
    check_next("59 23 31 12 *", "2026-12-31T23:59", "2027-12-31T23:59");
    check_next("0 0 1 1 *", "1969-06-01T00:00", "1970-01-01T00:00");
    /* equal parses for equal meanings */
    struct cron a = parse_ok("0-59 0-23 1-31 1-12 0-6"), b = parse_ok("* * * * *");
    assert_true(a.minutes == b.minutes && a.hours == b.hours && a.mdays == b.mdays &&
                a.months == b.months && a.wdays == b.wdays);
    assert_true(b.mdays_star && b.wdays_star && !a.mdays_star && !a.wdays_star);
}

static void test_names_and_sunday(void **state)
{
    (void)state;
    struct cron s0 = parse_ok("0 0 * * 0"), s7 = parse_ok("0 0 * * 7"),
                sn = parse_ok("0 0 * * SUN");
    assert_int_equal(s0.wdays, 1);
    assert_int_equal(s7.wdays, 1);
    assert_int_equal(sn.wdays, 1);
    assert_int_equal(parse_ok("0 0 * * 5-7").wdays, 0x61); /* fri, sat, sun */
    assert_int_equal(parse_ok("0 0 * * 0-7").wdays, 0x7f);
    assert_int_equal(parse_ok("0 0 * * mon-Fri").wdays, parse_ok("0 0 * * 1-5").wdays);
    assert_int_equal(parse_ok("0 0 * * */2").wdays, 0x55); /* sun tue thu sat: '*' stops at 6 */
    assert_int_equal(parse_ok("0 0 1 jan,JUL *").months, (1 << 1) | (1 << 7));
    assert_int_equal(parse_ok("0 0 1 mar-may *").months, (1 << 3) | (1 << 4) | (1 << 5));
    check_next("0 0 * * sun", "2026-11-23T00:00", "2026-11-29T00:00");
    check_next("0 0 * * 7", "2026-11-29T00:00", "2026-12-06T00:00");
    check_next("30 8 1 dec *", "2026-11-23T00:00", "2026-12-01T08:30");
}

static void test_shorthands(void **state)
{
    (void)state;
    check_next("@hourly", "2026-11-23T10:03", "2026-11-23T11:00");
    check_next("@daily", "2026-11-23T10:03", "2026-11-24T00:00");
    check_next("@midnight", "2026-11-23T10:03", "2026-11-24T00:00");
    check_next("@weekly", "2026-11-23T10:03", "2026-11-29T00:00");
    check_next("@monthly", "2026-11-23T10:03", "2026-12-01T00:00");
    check_next("@yearly", "2026-11-23T10:03", "2027-01-01T00:00");
    check_next("@ANNUALLY", "2026-11-23T10:03", "2027-01-01T00:00");
}

static void test_month_ends_and_leap_days(void **state)
{
    (void)state;
    check_next("0 0 31 * *", "2026-04-01T00:00", "2026-05-31T00:00"); /* April has 30 */
    check_next("0 0 31 * *", "2026-01-31T00:00", "2026-03-31T00:00"); /* Feb has none */
    check_next("0 12 30 * *", "2026-02-01T00:00", "2026-03-30T12:00");
    check_next("0 0 29 2 *", "2026-03-01T00:00", "2028-02-29T00:00");
    check_next("0 0 29 2 *", "2024-02-29T00:00", "2028-02-29T00:00");
    check_next("0 0 29 2 *", "2096-03-01T00:00", "2104-02-29T00:00"); /* 2100 is no leap year */
    check_next("0 0 29 2 *", "1999-01-01T00:00", "2000-02-29T00:00"); /* 2000 is */
    check_next("0 0 28-31 2 *", "2027-02-28T00:00", "2028-02-28T00:00");
    check_next("0 0 28-31 2 *", "2028-02-28T00:00", "2028-02-29T00:00");
    check_next("0 0 1 3 *", "2028-02-29T23:59", "2028-03-01T00:00");
    check_next("0 0 * * *", "2028-02-28T00:00", "2028-02-29T00:00");
}

static void test_both_day_fields(void **state)
{
    (void)state;
    /* Both restricted: the 13th or a Friday (December 2026: Fridays 4, 11,
     * 18, 25; the 13th is a Sunday). */
    check_next("0 0 13 * 5", "2026-12-11T00:00", "2026-12-13T00:00");
    check_next("0 0 13 * 5", "2026-12-13T00:00", "2026-12-18T00:00");
    /* A leading '*' counts as unrestricted (Vixie's DOM_STAR), even with a
     * step: odd days that are also Fridays. */
    check_next("0 0 */2 * 5", "2026-12-01T00:00", "2026-12-11T00:00");
    check_next("0 0 */2 * 5", "2026-12-11T00:00", "2026-12-25T00:00");
    /* Only the weekday restricted: Fridays. */
    check_next("0 0 * * 5", "2026-12-11T00:00", "2026-12-18T00:00");
    /* "1-31" is restricted, so with a weekday it matches every day. */
    check_next("0 0 1-31 * 5", "2026-12-11T00:00", "2026-12-12T00:00");
    /* The 31st or a Monday, in February only: the Mondays carry it. */
    check_next("0 0 31 2 mon", "2027-01-01T00:00", "2027-02-01T00:00");
    /* The 1st or a Sunday: the Sunday comes first. */
    check_next("0 0 1 * sun", "2026-11-23T00:00", "2026-11-29T00:00");
    /* Mondays of February (the day of the month unrestricted). */
    check_next("0 0 * 2 1", "2027-01-01T00:00", "2027-02-01T00:00");
    check_next("0 0 * 2 1", "2027-02-01T00:00", "2027-02-08T00:00");
}

/* An independent reference: does minute t match expr's parse, by gmtime? */
static bool reference_match(const struct cron *c, int64_t us)
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    bool m = c->minutes >> tm.tm_min & 1, h = c->hours >> tm.tm_hour & 1;
    bool mo = c->months >> (tm.tm_mon + 1) & 1;
    bool dm = c->mdays >> tm.tm_mday & 1, dw = c->wdays >> tm.tm_wday & 1;
    bool day = (c->mdays_star || c->wdays_star) ? (dm && dw) : (dm || dw);
    return m && h && mo && day;
}

static void test_brute_force(void **state)
{
    static const char *const exprs[] = {
        "* * * * *",        "*/7 * * * *",  "13 */5 * * *",    "0 0 * * *",
        "30 2 */3 * *",     "0 12 * * 1-5", "15 8 1,15 * *",   "0 0 13 * 5",
        "0 0 */2 * 5",      "45 23 31 * *", "0 4 * jan,jun *", "0 0 29 2 *",
        "5-10/2 3 * * 0,6", "0 0 1 */4 *",  "59 23 * * 7",     "0 0 31 2 mon",
    };
    uint64_t rng = 12345;
    (void)state;
    for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
        struct cron c = parse_ok(exprs[i]);
        for (int k = 0; k < 12; k++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            /* 2020..2031, at any microsecond */
            int64_t after =
                at("2020-01-01T00:00") + (int64_t)((rng >> 20) % (12ULL * 365 * 86400 * 1000000));
            int64_t got = cron_next(&c, after);
            int64_t t = (after / MIN_US + 1) * MIN_US;
            int64_t limit = t + INT64_C(9) * 366 * 1440 * MIN_US;
            while (t < limit && !reference_match(&c, t))
                t += MIN_US;
            if (got != t) {
                char a[40], g[40], w[40];
                fail_msg("\"%s\" after %s: got %s, the scan found %s", exprs[i],
                         time_format_iso(after, a, sizeof(a)), time_format_iso(got, g, sizeof(g)),
                         time_format_iso(t, w, sizeof(w)));
            }
        }
    }
}

static void test_far_future(void **state)
{
    (void)state;
    struct cron c = parse_ok("0 0 1 1 *");
    assert_int_equal(cron_next(&c, at("9999-12-31T00:00")), -1);
    assert_int_equal(cron_next(&c, INT64_MAX), -1);
    check_next("0 0 31 12 *", "9999-01-01T00:00", "9999-12-31T00:00");
}

/* expr is refused with a message containing each of the fragments. */
static void check_bad(const char *expr, const char *frag)
{
    struct cron c, before;
    struct error err = {0};
    memset(&c, 0x5a, sizeof(c));
    before = c;
    if (cron_parse(expr, &c, &err) != STATUS_USAGE)
        fail_msg("cron_parse(\"%s\") was accepted", expr ? expr : "(null)");
    if (strstr(err.msg, frag) == NULL)
        fail_msg("cron_parse(\"%s\"): message [%s] lacks [%s]", expr ? expr : "(null)", err.msg,
                 frag);
    if (memcmp(&c, &before, sizeof(c)) != 0)
        fail_msg("cron_parse(\"%s\") changed its output on failure", expr);
    if (strchr(err.msg, '\n') != NULL)
        fail_msg("cron_parse(\"%s\"): message is not one line", expr);
}

static void test_bad_input(void **state)
{
    static const struct {
        const char *expr, *frag;
    } cases[] = {
        {NULL, "the expression is empty"},
        {"", "the expression is empty"},
        {"   ", "the expression is empty"},
        {"* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
        {"* * * * * *", "got 6 (seconds are not supported)"},
        {"0 0 * * * * 2026", "got 7"},
        {"60 * * * *", "cron \"60 * * * *\": minute: 60 is out of range 0-59"},
        {"* 24 * * *", "hour: 24 is out of range 0-23"},
        {"* * 0 * *", "day-of-month: 0 is out of range 1-31"},
        {"* * 32 * *", "day-of-month: 32 is out of range 1-31"},
        {"* * * 0 *", "month: 0 is out of range 1-12"},
        {"* * * 13 *", "month: 13 is out of range 1-12"},
        {"* * * * 8", "day-of-week: 8 is out of range 0-7"},
        {"99999999999999999999 * * * *", "minute: 99999999999999999999 is out of range"},
        {"* * * foo *", "month: unknown name \"foo\" (expected jan-dec)"},
        {"* * * january *", "month: unknown name \"january\""},
        {"* * * * funday", "day-of-week: unknown name \"funday\" (expected sun-sat)"},
        {"mon * * * *", "minute: \"mon\" is not a number (names are for months and weekdays)"},
        {"5-1 * * * *", "minute: the range 5-1 runs backwards"},
        {"* * * * fri-mon", "day-of-week: the range 5-1 runs backwards"},
        {"*/0 * * * *", "minute: the step 0 is not between 1 and 60"},
        {"* */25 * * *", "hour: the step 25 is not between 1 and 24"},
        {"*/ * * * *", "minute: a step must be a number after \"/\""},
        {"*/x * * * *", "a step must be a number"},
        {"1,,2 * * * *", "minute: the list has an empty item"},
        {"1, * * * *", "minute: the list ends with \",\""},
        {",1 * * * *", "minute: unexpected \",\""},
        {"1- * * * *", "minute: a value is missing at the end"},
        {"*5 * * * *", "minute: unexpected \"5\""},
        {"-1 * * * *", "minute: unexpected \"-\""},
        {"1-2-3 * * * *", "minute: unexpected \"-\""},
        {"1/2/3 * * * *", "minute: unexpected \"/\""},
        {"? * * * *", "minute: unexpected \"?\""},
        {"0 0 L * *", "day-of-month: \"L\" is not a number"},
        {"0 0 30 2 *", "day-of-month: none of these days occurs in the months given"},
        {"0 0 31 4,6,9,11 *", "would never fire"},
        {"0 0 30,31 feb *", "would never fire"},
        {"@reboot", "unknown shorthand \"@reboot\""},
        {"@daily 5", "a shorthand like @daily stands alone"},
        {"@", "unknown shorthand"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_bad(cases[i].expr, cases[i].frag);

    char longer[400];
    memset(longer, '1', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    check_bad(longer, "too long (399 characters, at most 256)");
    check_bad(longer, "...\": "); /* quoted, cut */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_minute),       cmocka_unit_test(test_seed_examples),
        cmocka_unit_test(test_lists_ranges_steps), cmocka_unit_test(test_names_and_sunday),
        cmocka_unit_test(test_shorthands),         cmocka_unit_test(test_month_ends_and_leap_days),
        cmocka_unit_test(test_both_day_fields),    cmocka_unit_test(test_brute_force),
        cmocka_unit_test(test_far_future),         cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
