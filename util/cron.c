/* Five-field cron expressions: the parser (one bit set per field) and the
 * evaluator that finds the next minute a parsed expression matches, in UTC. */
#include <config.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/cron.h"

/* Longer than any sensible expression; keeps error messages one line. */
#define CRON_TEXT_MAX 256
/* How much of the expression an error message quotes. */
#define CRON_QUOTE_MAX  60
#define CRON_US_PER_MIN INT64_C(60000000)

static const char *const cron_month_names[] = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
};
static const char *const cron_wday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* What each field accepts: values lo..hi, and lo..top for "*" and for an
 * open step "a/n" (day-of-week accepts 7 for Sunday but "*" stops at 6). */
static const struct cron_field {
    const char *name;
    int lo, hi, top;
    const char *const *names; /* names[i] stands for lo + i; NULL: numbers only */
    size_t nnames;
    const char *names_hint;
} cron_fields[] = {
    {"minute", 0, 59, 59, NULL, 0, NULL},
    {"hour", 0, 23, 23, NULL, 0, NULL},
    {"day-of-month", 1, 31, 31, NULL, 0, NULL},
    {"month", 1, 12, 12, cron_month_names, 12, "jan-dec"},
    {"day-of-week", 0, 7, 6, cron_wday_names, 7, "sun-sat"},
};
#define CRON_NFIELDS (sizeof(cron_fields) / sizeof(cron_fields[0]))

/* The shorthands of Vixie cron that name a time (not @reboot). */
static const struct {
    const char *name;
    const char *expr;
} cron_macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* Days in each month, February in a leap year: the most a month can have. */
static const int cron_month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* What a parse is working on, for error messages. */
struct cron_parser {
    const char *text;
    const struct cron_field *field; /* NULL before the fields are split */
    struct error *err;
};

/* Fails the parse: `cron "TEXT": FIELD: reason`. */
__attribute__((format(printf, 2, 3))) static enum status cron_bad(struct cron_parser *p,
                                                                  const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    size_t n = strlen(p->text);
    return error_set(p->err, STATUS_USAGE, "cron \"%.*s%s\": %s%s%s", CRON_QUOTE_MAX, p->text,
                     n > CRON_QUOTE_MAX ? "..." : "", p->field ? p->field->name : "",
                     p->field ? ": " : "", why);
}

/* Reads one number or name at *s (before end) and advances past it. */
static enum status cron_value(struct cron_parser *p, const char **s, const char *end, int *out)
{
    const struct cron_field *f = p->field;
    const char *q = *s;

    if (q == end)
        return cron_bad(p, "a value is missing at the end");
    if (isdigit((unsigned char)*q)) {
        long v = 0;
        for (; q < end && isdigit((unsigned char)*q); q++)
            if (v < 100000)
                v = v * 10 + (*q - '0');
        if (v < f->lo || v > f->hi)
            return cron_bad(p, "%.*s is out of range %d-%d", (int)(q - *s), *s, f->lo, f->hi);
        *out = (int)v;
    } else if (isalpha((unsigned char)*q)) {
        for (; q < end && isalpha((unsigned char)*q); q++)
            ;
        int len = (int)(q - *s);
        if (f->names == NULL)
            return cron_bad(p, "\"%.*s\" is not a number (names are for months and weekdays)", len,
                            *s);
        size_t i;
        for (i = 0; i < f->nnames; i++)
            if (len == 3 && strncasecmp(*s, f->names[i], 3) == 0)
                break;
        if (i == f->nnames)
            return cron_bad(p, "unknown name \"%.*s\" (expected %s)", len, *s, f->names_hint);
        *out = f->lo + (int)i;
    } else {
        return cron_bad(p, "unexpected \"%c\"", *q);
    }
    *s = q;
    return STATUS_OK;
}

/* Parses one field (len bytes at s) into a bit per value. */
static enum status cron_field_parse(struct cron_parser *p, const char *s, size_t len,
                                    uint64_t *bits)
{
    const struct cron_field *f = p->field;
    const char *end = s + len;
    uint64_t set = 0;
    enum status rc;

    for (;;) {
        int lo, hi, step = 1;
        if (s < end && *s == '*') {
            lo = f->lo;
            hi = f->top;
            s++;
        } else {
            if ((rc = cron_value(p, &s, end, &lo)) != STATUS_OK)
                return rc;
            hi = lo;
            if (s < end && *s == '-') {
                s++;
                if ((rc = cron_value(p, &s, end, &hi)) != STATUS_OK)
                    return rc;
                if (hi < lo)
                    return cron_bad(p, "the range %d-%d runs backwards", lo, hi);
            } else if (s < end && *s == '/') {
                hi = f->top; /* "a/n": from a to the field's end, as Quartz and cronie read it */
            }
        }
        if (s < end && *s == '/') {
            s++;
            const char *d = s;
            long n = 0;
            for (; s < end && isdigit((unsigned char)*s); s++)
                if (n < 100000)
                    n = n * 10 + (*s - '0');
            if (s == d)
                return cron_bad(p, "a step must be a number after \"/\"");
            if (n < 1 || n > f->top - f->lo + 1)
                return cron_bad(p, "the step %.*s is not between 1 and %d", (int)(s - d), d,
                                f->top - f->lo + 1);
            step = (int)n;
        }
        for (int v = lo; v <= hi; v += step)
            set |= UINT64_C(1) << v;
        if (s == end)
            break;
        if (*s != ',')
            return cron_bad(p, "unexpected \"%c\"", *s);
        if (++s == end)
            return cron_bad(p, "the list ends with \",\"");
        if (*s == ',')
            return cron_bad(p, "the list has an empty item");
    }
    *bits = set;
    return STATUS_OK;
}

enum status cron_parse(const char *text, struct cron *out, struct error *err)
{
    struct cron_parser p = {.text = text != NULL ? text : "", .err = err};
    const char *fields[CRON_NFIELDS];
    size_t lens[CRON_NFIELDS], n = 0;
    const char *s = p.text;
    struct cron c = {0};
    uint64_t bits[CRON_NFIELDS];
    enum status rc;

    if (strlen(s) > CRON_TEXT_MAX)
        return cron_bad(&p, "too long (%zu characters, at most %d)", strlen(s), CRON_TEXT_MAX);
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0')
        return cron_bad(&p, "the expression is empty");
    if (*s == '@') {
        size_t len = strcspn(s, " \t");
        if (s[len + strspn(s + len, " \t")] != '\0')
            return cron_bad(&p, "a shorthand like @daily stands alone");
        for (size_t i = 0; i < sizeof(cron_macros) / sizeof(cron_macros[0]); i++)
            if (strlen(cron_macros[i].name) == len && strncasecmp(s, cron_macros[i].name, len) == 0)
                return cron_parse(cron_macros[i].expr, out, err);
        return cron_bad(&p,
                        "unknown shorthand \"%.*s\" (expected @yearly, @monthly, @weekly, "
                        "@daily or @hourly)",
                        (int)len, s);
    }

    /* Split on blanks; count every field so the message can say how many. */
    size_t total = 0;
    while (*s != '\0') {
        size_t len = strcspn(s, " \t");
        if (n < CRON_NFIELDS) {
            fields[n] = s;
            lens[n++] = len;
        }
        total++;
        s += len;
        while (*s == ' ' || *s == '\t')
            s++;
    }
    if (total != CRON_NFIELDS)
        return cron_bad(&p,
                        "expected 5 fields (minute hour day-of-month month day-of-week), "
                        "got %zu%s",
                        total, total == 6 ? " (seconds are not supported)" : "");

    for (size_t i = 0; i < CRON_NFIELDS; i++) {
        p.field = &cron_fields[i];
        if ((rc = cron_field_parse(&p, fields[i], lens[i], &bits[i])) != STATUS_OK)
            return rc;
    }
    c.minutes = bits[0];
    c.hours = (uint32_t)bits[1];
    c.mdays = (uint32_t)bits[2];
    c.months = (uint16_t)bits[3];
    c.wdays = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f); /* 7 is Sunday, bit 0 */
    c.mdays_star = fields[2][0] == '*';
    c.wdays_star = fields[4][0] == '*';

    /* With the weekday unrestricted, the day of the month alone decides:
     * refuse "0 0 30 2 *", which would never fire. */
    if (c.wdays_star) {
        bool possible = false;
        for (int m = 1; m <= 12 && !possible; m++)
            if (c.months >> m & 1)
                possible = (c.mdays & ((UINT64_C(2) << cron_month_days[m - 1]) - 2)) != 0;
        if (!possible) {
            p.field = &cron_fields[2];
            return cron_bad(&p, "none of these days occurs in the months given, so it would "
                                "never fire");
        }
    }
    *out = c;
    return STATUS_OK;
}

/* ---- evaluation ------------------------------------------------------- */

static int64_t cron_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
 * Hinnant's algorithms: exact for every year, no table, no time zone). */
static int64_t cron_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = cron_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void cron_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = cron_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* The smallest value >= from whose bit is set, below n; -1 for none. */
static int cron_bit_from(uint64_t bits, int from, int n)
{
    for (int i = from; i < n; i++)
        if (bits >> i & 1)
            return i;
    return -1;
}

/* Vixie cron's day rule (see struct cron). */
static bool cron_day_matches(const struct cron *c, int mday, int64_t days)
{
    int wday = (int)(days - cron_floor_div(days + 4, 7) * 7 + 4); /* 1970-01-01 was a Thursday */
    bool by_mday = c->mdays >> mday & 1, by_wday = c->wdays >> wday & 1;
    if (c->mdays_star || c->wdays_star)
        return by_mday && by_wday;
    return by_mday || by_wday;
}

int64_t cron_next(const struct cron *c, int64_t after_us)
{
    int64_t mins = cron_floor_div(after_us, CRON_US_PER_MIN) + 1;
    int64_t day = cron_floor_div(mins, 1440), y, y0;
    int minute = (int)(mins - day * 1440), mo, d;
    int h = minute / 60, mi = minute % 60;

    cron_civil_from_days(day, &y, &mo, &d);
    /* Months and days are skipped whole; the calendar repeats every 400
     * years, so a match that is not found by then never comes. */
    for (y0 = y; y <= 9999 && y - y0 <= 400;) {
        if (!(c->months >> mo & 1)) {
            if (++mo > 12) {
                mo = 1;
                y++;
            }
            d = 1;
            h = mi = 0;
            day = cron_days_from_civil(y, mo, d);
            continue;
        }
        int hh = cron_day_matches(c, d, day) ? cron_bit_from(c->hours, h, 24) : -1;
        int mm = hh < 0 ? -1 : cron_bit_from(c->minutes, hh == h ? mi : 0, 60);
        if (mm >= 0)
            return (day * 1440 + hh * 60 + mm) * CRON_US_PER_MIN;
        if (hh >= 0 && hh + 1 < 24) {
            /* Nothing left in that hour: try the next one of the same day. */
            h = hh + 1;
            mi = 0;
            continue;
        }
        cron_civil_from_days(++day, &y, &mo, &d);
        h = mi = 0;
    }
    return -1;
}
