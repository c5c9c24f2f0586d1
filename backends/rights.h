/* Whether the role a connection works as may act: asked once a connection
 * so that the console can hide and refuse what the store would refuse
 * (a viewer role), instead of offering it and showing the refusal. The
 * store still decides: this is only what the console offers. */
#ifndef OPSDECK_BACKENDS_RIGHTS_H
#define OPSDECK_BACKENDS_RIGHTS_H

#include <stddef.h>

#include "backends/pg_conn.h"
#include "backends/redis_conn.h"
#include "util/status.h"

enum rights {
    RIGHTS_UNKNOWN, /* not asked yet, or the store cannot tell: offer, let it decide */
    RIGHTS_ACT,     /* may run the actions */
    RIGHTS_READ,    /* may only read (a viewer) */
};

/* PostgreSQL: whether the session's role may EXECUTE the action functions
 * of schema (one of them stands for all: the contract grants them
 * together). Unknown when they are not there (not migrated). who gets the
 * role's name. */
enum status rights_pg(struct pg_conn *c, const char *schema, enum rights *out, char *who,
                      size_t size, struct error *err);

/* Redis: whether the ACL user may run a script that writes the DLQ's keys
 * under prefix and its audit stream (what every action does), asked with
 * Redis 7's redis.acl_check_cmd. Read when the user may not run scripts
 * at all; unknown before Redis 7. */
enum status rights_redis(struct redis_conn *c, const char *prefix, enum rights *out,
                         struct error *err);

#endif
