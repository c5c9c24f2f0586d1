/* Clocks, durations and ISO 8601 times. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/timeutil.h"

int64_t time_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool time_parse_duration(const char *s, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {
        {"ms", 1},           {"s", 1000},          {"m", 60 * 1000},
        {"h", 3600 * 1000},  {"d", 86400 * 1000LL}, {"w", 7 * 86400 * 1000LL},
    };
    int64_t total = 0;
    const char *p = s;

    if (s == NULL || *s == '\0' || strlen(s) > 64)
        return false;
    if (strspn(s, "0123456789") == strlen(s)) {
        long long n = strtoll(s, NULL, 10);
        if (n > 1000000000LL)
            return false;
        *ms = n * 1000; /* a bare number is seconds */
        return true;
    }
    while (*p != '\0') {
        if (!isdigit((unsigned char)*p))
            return false;
        char *end;
        long long n = strtoll(p, &end, 10);
        if (n > 1000000000LL)
            return false;
        p = end;
        size_t i;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t len = strlen(units[i].unit);
            /* "m" must not swallow the "m" of "ms" */
            if (strncmp(p, units[i].unit, len) == 0 && !isalpha((unsigned char)p[len]))
                break;
        }
        if (i == sizeof(units) / sizeof(units[0]))
            return false;
        total += n * units[i].ms;
        p += strlen(units[i].unit);
    }
    *ms = total;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool read_digits(const char **p, int count, int *out)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += count;
    *out = v;
    return true;
}

static bool parse_zone(const char *p, int64_t *offset_s)
{
    while (*p == ' ')
        p++;
    if (*p == '\0' || strcmp(p, "Z") == 0 || strcmp(p, "z") == 0 || strcmp(p, "UTC") == 0) {
        *offset_s = 0;
        return true;
    }
    if (*p != '+' && *p != '-')
        return false;
    int sign = *p == '-' ? -1 : 1;
    int hh, mm = 0;
    p++;
    if (!read_digits(&p, 2, &hh))
        return false;
    if (*p == ':' && *++p == '\0')
        return false;
    if (*p != '\0' && !read_digits(&p, 2, &mm))
        return false;
    if (*p != '\0' || hh > 23 || mm > 59)
        return false;
    *offset_s = sign * (hh * 3600 + mm * 60);
    return true;
}

bool time_parse_iso(const char *s, int64_t *us)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, hh = 0, mi = 0, ss = 0;
    int64_t frac_us = 0, offset_s = 0;
    const char *p = s;

    if (s == NULL)
        return false;
    if (!read_digits(&p, 4, &y) || *p++ != '-' || !read_digits(&p, 2, &mo) || *p++ != '-' ||
        !read_digits(&p, 2, &d))
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return false;
    if (*p == 'T' || *p == 't' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
        p++;
        if (!read_digits(&p, 2, &hh) || *p++ != ':' || !read_digits(&p, 2, &mi))
            return false;
        if (*p == ':') {
            p++;
            if (!read_digits(&p, 2, &ss))
                return false;
            if (*p == '.' || *p == ',') {
                int64_t scale = 100000;
                p++;
                if (!isdigit((unsigned char)*p))
                    return false;
                for (; isdigit((unsigned char)*p); p++) {
                    frac_us += (*p - '0') * scale;
                    scale /= 10;
                }
            }
        }
        if (hh > 23 || mi > 59 || ss > 60)
            return false;
    }
    if (!parse_zone(p, &offset_s))
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss - offset_s;
    *us = secs * 1000000 + frac_us;
    return true;
}

bool time_parse_point(const char *s, int64_t now_us, int64_t *us)
{
    int64_t ms;
    if (time_parse_iso(s, us))
        return true;
    if (time_parse_duration(s, &ms)) {
        *us = now_us - ms * 1000;
        return true;
    }
    return false;
}

static struct tm utc_tm(int64_t us)
{
    time_t t = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm;
}

char *time_format_iso(int64_t us, char *out, size_t size)
{
    struct tm tm = utc_tm(us);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

char *time_format_short(int64_t us, char *out, size_t size)
{
    struct tm tm = utc_tm(us);
    strftime(out, size, "%Y-%m-%d %H:%MZ", &tm);
    return out;
}

char *time_format_span(int64_t ms, char *out, size_t size)
{
    const char *sign = ms < 0 ? "-" : "";
    int64_t s = (ms < 0 ? -ms : ms) / 1000;

    if (s < 60)
        snprintf(out, size, "%s%llds", sign, (long long)s);
    else if (s < 3600)
        snprintf(out, size, "%s%lldm%02llds", sign, (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(out, size, "%s%lldh%02lldm", sign, (long long)(s / 3600),
                 (long long)(s % 3600 / 60));
    else
        snprintf(out, size, "%s%lldd%02lldh", sign, (long long)(s / 86400),
                 (long long)(s % 86400 / 3600));
    return out;
}
