/* Clocks, durations ("15m", "24h", "7d") and ISO 8601 times, all in UTC. */
#ifndef OPSDECK_UTIL_TIMEUTIL_H
#define OPSDECK_UTIL_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wall clock, microseconds since the epoch. */
int64_t time_now_us(void);
/* Monotonic clock, milliseconds; only differences mean anything. */
int64_t time_mono_ms(void);

/* Parses a duration: one or more <number><unit> with units ms, s, m, h, d, w
 * ("1h30m", "500ms", "7d"). A bare number is seconds. Returns false on bad
 * input, leaving *ms untouched. */
bool time_parse_duration(const char *s, int64_t *ms);

/* Parses an ISO 8601 time: "2026-11-23", "2026-11-23T10:03", with seconds and
 * fractions, a 'T' or a space between date and time, and an optional zone
 * ("Z", "+01:00", "-0500", " UTC"). No zone means UTC, which is how seed
 * 004's naive times must be read. Returns false on bad input. */
bool time_parse_iso(const char *s, int64_t *us);

/* Parses TIME as the command line takes it: ISO 8601, or a duration meaning
 * that long before now_us ("15m" = 15 minutes ago). */
bool time_parse_point(const char *s, int64_t now_us, int64_t *us);

/* "2026-11-23T10:03:07Z" (seconds precision) into out; returns out. */
char *time_format_iso(int64_t us, char *out, size_t size);
/* "2026-11-23 10:03Z", the short form for one-line messages. */
char *time_format_short(int64_t us, char *out, size_t size);
/* An age or span in its two largest units: "45s", "3m12s", "3h12m", "2d4h". */
char *time_format_span(int64_t ms, char *out, size_t size);

#endif
