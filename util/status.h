/* The one status enum of opsdeck: every failing function returns it, and
 * the command line turns it into the exit codes of SPEC.md section 1. */
#ifndef OPSDECK_UTIL_STATUS_H
#define OPSDECK_UTIL_STATUS_H

#include <stdarg.h>

/* X(NAME, exit code, what the code means). The only list of statuses. */
#define STATUS_LIST(X)                                                                             \
    X(OK, 0, "done")                                                                               \
    X(REFUSED, 1, "refused because of the item's state; nothing changed")                          \
    X(USAGE, 2, "usage error or bad input; nothing changed")                                       \
    X(UNAVAILABLE, 3, "a backend is unreachable, timed out or failed")                             \
    X(NOT_FOUND, 4, "not found; nothing changed")                                                  \
    X(DENIED, 5, "permission denied; nothing changed")

enum status {
#define STATUS_ENUM(name, code, text) STATUS_##name = code,
    STATUS_LIST(STATUS_ENUM)
#undef STATUS_ENUM
};

/* A failure's one-line reason, filled by the function that failed. */
struct error {
    enum status status;
    char msg[512];
};

/* Returns the exit code for a status (its numeric value). */
int status_exit_code(enum status st);

/* Returns "OK", "REFUSED", ...; never NULL. */
const char *status_name(enum status st);

/* Returns the one-line meaning of a status; never NULL. */
const char *status_text(enum status st);

/* Fills err (may be NULL) with st and a printf-style reason, folded onto
 * one line, and returns st so a caller can write `return error_set(...)`. */
enum status error_set(struct error *err, enum status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum status error_setv(struct error *err, enum status st, const char *fmt, va_list ap);

/* Prefixes err's message with a printf-style context ("postgres: ..."). */
void error_prefix(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err to STATUS_OK with an empty message. */
void error_clear(struct error *err);

#endif
