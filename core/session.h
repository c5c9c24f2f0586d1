/* A session: the effective configuration and the store connections a
 * command or the console works with, created on first use. */
#ifndef OPSDECK_CORE_SESSION_H
#define OPSDECK_CORE_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "backends/pg_conn.h"
#include "backends/redis_conn.h"
#include "core/config.h"
#include "core/redact.h"
#include "util/status.h"

struct session;

/* The full-screen console, which lives above core: app/main.c hands it to
 * cli_main, and `opsdeck demo` opens it through the session. */
typedef enum status (*session_console_fn)(struct session *s, struct error *err);

struct session {
    struct config *cfg;       /* owned */
    struct pg_conn *pg;       /* created by session_pg; owned */
    struct redis_conn *redis; /* created by session_redis; owned */
    bool json;                /* --json */
    unsigned text_flags;      /* sanitize flags for text output */
    FILE *out;                /* where results go (stdout) */
    struct redact redact;     /* from the redact setting */
    session_console_fn console; /* NULL when there is none (tests) */
    char *console_note;       /* owned: the console's first message, or NULL */
    atomic_int *cancel; /* borrowed, or NULL: set nonzero to ask a long verb
                                    * (dlq replay) to stop at its next safe point */
    atomic_llong *progress; /* borrowed, or NULL: a long verb without a job of
                             * its own (dlq export) counts what it has done */
};

/* Takes ownership of cfg. Free with session_free (NULL-safe). */
struct session *session_new(struct config *cfg);
void session_free(struct session *s);

/* The PostgreSQL handle, created (not connected) on first call. */
struct pg_conn *session_pg(struct session *s);

/* The Redis handle, created on first call; a bad URL or password file is
 * STATUS_USAGE. Connecting happens on first use. */
enum status session_redis(struct session *s, struct redis_conn **out, struct error *err);

/* The schema name, validated by the config. */
const char *session_schema(const struct session *s);

#endif
