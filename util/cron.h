/* Five-field cron expressions (minute hour day-of-month month day-of-week),
 * parsed once and evaluated in UTC: when does a schedule fire next. */
#ifndef OPSDECK_UTIL_CRON_H
#define OPSDECK_UTIL_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "util/status.h"

/* A parsed expression: one bit per allowed value of each field. */
struct cron {
    uint64_t minutes; /* bits 0-59 */
    uint32_t hours;   /* bits 0-23 */
    uint32_t mdays;   /* bits 1-31 */
    uint16_t months;  /* bits 1-12 */
    uint8_t wdays;    /* bits 0-6, Sunday is 0 (7 in the text is Sunday too) */
    /* The day field began with '*': Vixie cron's test for "unrestricted".
     * When both day fields are restricted a day matches if either does;
     * otherwise both must (so "*" in one leaves the other to decide). */
    bool mdays_star;
    bool wdays_star;
};

/* Parses text into *out. Accepted, in each field: "*", a number, a range
 * "a-b", a step "/n" after "*", after a range or after a single start "a"
 * (from a to the field's end), and comma-separated lists of those; month
 * names jan-dec and day names sun-sat (any case) wherever a number may
 * stand; 0 or 7 for Sunday. Also @yearly, @annually, @monthly, @weekly,
 * @daily, @midnight and @hourly.
 * An expression that can never fire (day-of-month 30 in February alone)
 * is refused too. On failure returns STATUS_USAGE with err saying which
 * field is wrong and why, and leaves *out untouched. Never blocks. */
enum status cron_parse(const char *text, struct cron *out, struct error *err);

/* The first whole minute strictly after after_us (unix microseconds, UTC)
 * that c matches, in unix microseconds; -1 when there is none before the
 * year 10000. */
int64_t cron_next(const struct cron *c, int64_t after_us);

#endif
