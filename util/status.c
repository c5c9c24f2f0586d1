/* The status table: names, exit codes and messages of every outcome. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "util/status.h"

static const struct {
    enum status status;
    const char *name;
    const char *text;
} status_table[] = {
#define STATUS_ROW(name, code, text) {STATUS_##name, #name, text},
    STATUS_LIST(STATUS_ROW)
#undef STATUS_ROW
};

#define STATUS_COUNT (sizeof(status_table) / sizeof(status_table[0]))

int status_exit_code(enum status st)
{
    return (int)st;
}

const char *status_name(enum status st)
{
    for (size_t i = 0; i < STATUS_COUNT; i++)
        if (status_table[i].status == st)
            return status_table[i].name;
    return "UNKNOWN";
}

const char *status_text(enum status st)
{
    for (size_t i = 0; i < STATUS_COUNT; i++)
        if (status_table[i].status == st)
            return status_table[i].text;
    return "unknown status";
}

/* A reason is one line: newlines and tabs from libraries become spaces,
 * trailing blanks and a final period are dropped. */
static void error_fold(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '.'))
        s[--n] = '\0';
}

enum status error_setv(struct error *err, enum status st, const char *fmt, va_list ap)
{
    if (err == NULL)
        return st;
    err->status = st;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    error_fold(err->msg);
    return st;
}

enum status error_set(struct error *err, enum status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_setv(err, st, fmt, ap);
    va_end(ap);
    return st;
}

void error_prefix(struct error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char head[256];
    char old[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Truncation is acceptable: the reason stays one bounded line. */
    size_t n = strlen(head);
    if (n >= sizeof(err->msg))
        n = sizeof(err->msg) - 1;
    memcpy(err->msg, head, n);
    size_t rest = strnlen(old, sizeof(old));
    if (rest > sizeof(err->msg) - 1 - n)
        rest = sizeof(err->msg) - 1 - n;
    memcpy(err->msg + n, old, rest);
    err->msg[n + rest] = '\0';
}

void error_clear(struct error *err)
{
    if (err == NULL)
        return;
    err->status = STATUS_OK;
    err->msg[0] = '\0';
}
