/* The PostgreSQL connection: connect and command timeouts, keepalives,
 * statement and lock timeouts on the session, health with backoff and a
 * breaker, and reconnection. libpq's own mechanisms (PG* variables, service
 * files, .pgpass, multi-host conninfo with target_session_attrs) work
 * unchanged because the conninfo is handed to libpq as it is. */
#ifndef OPSDECK_BACKENDS_PG_CONN_H
#define OPSDECK_BACKENDS_PG_CONN_H

#include <stdint.h>

#include "backends/health.h"
#include "util/status.h"

struct pg_conn;

struct pg_conn_options {
    const char *conninfo;        /* libpq conninfo or URI; "" for libpq's defaults */
    int64_t connect_timeout_ms;  /* per host of a multi-host conninfo */
    int64_t command_timeout_ms;  /* client deadline and server statement_timeout */
    int64_t lock_timeout_ms;     /* server lock_timeout; 0 leaves the server's */
};

/* Returns a connection handle that has not connected yet; strings are
 * copied. Free with pg_conn_free (NULL-safe). */
struct pg_conn *pg_conn_new(const struct pg_conn_options *opt);
void pg_conn_free(struct pg_conn *c);

/* Connects unless connected. Fails fast with STATUS_UNAVAILABLE while the
 * breaker is open ("postgres at HOST:PORT down since ...; retrying in 4s").
 * Blocks at most the connect timeout (per host). */
enum status pg_conn_ensure(struct pg_conn *c, struct error *err);

/* Closes the connection (if any) without touching health. */
void pg_conn_close(struct pg_conn *c);

/* Round trip of a trivial query, in microseconds, within the command
 * timeout; connects first if needed. */
enum status pg_conn_ping(struct pg_conn *c, int64_t *rtt_us, struct error *err);

/* Health as last observed; borrowed. */
const struct health *pg_conn_health(const struct pg_conn *c);

/* "HOST:PORT" (socket directory for unix sockets) of the server last
 * connected or tried, for messages; never holds a password. Borrowed. */
const char *pg_conn_endpoint(const struct pg_conn *c);

/* The server's session_user once connected, else "". Borrowed. */
const char *pg_conn_session_user(const struct pg_conn *c);

/* LISTEN on channel; pg_conn_notifications re-subscribes after a
 * reconnect on its own. */
enum status pg_conn_listen(struct pg_conn *c, const char *channel, struct error *err);

/* True when the connection is up and subscribed to every channel given
 * to pg_conn_listen. */
bool pg_conn_listening(const struct pg_conn *c);

/* The connection's socket, or -1 when not connected: poll it for POLLIN to
 * wait for notifications. */
int pg_conn_socket(const struct pg_conn *c);

/* Reads what has arrived without blocking and returns how many
 * notifications came since the last call (0 or more), or -1 with err
 * filled when the connection broke (it is then closed, and health marks
 * it down). */
int pg_conn_notifications(struct pg_conn *c, struct error *err);

#endif
