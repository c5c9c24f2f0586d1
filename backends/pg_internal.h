/* What backends/pg_*.c share about a PostgreSQL connection: raw libpq
 * access and the query helper with deadline and error mapping. Only
 * backends/ includes this header (and so libpq-fe.h). */
#ifndef OPSDECK_BACKENDS_PG_INTERNAL_H
#define OPSDECK_BACKENDS_PG_INTERNAL_H

#include <libpq-fe.h>

#include "backends/pg_conn.h"

/* Runs sql with text parameters (params may be NULL when nparams is 0) and
 * waits for its one result within the command timeout. Returns the result
 * (caller PQclear()s it) or NULL with err filled, the server's message and
 * SQLSTATE in it, and *sqlstate (if not NULL) set to the SQLSTATE ("" when
 * there is none). Failures map by SQLSTATE, a code before its class:
 *   - no answer in time, connection lost, class 08 (connection exception)
 *     or 57P* (shutdown, crash): STATUS_UNAVAILABLE; the connection is
 *     dropped and health records a hard failure;
 *   - 57014 (statement timeout): STATUS_UNAVAILABLE; health records a soft
 *     failure (the server is alive but too slow);
 *   - 55P03 (lock_timeout), class 53 (insufficient resources), class 58
 *     (system error): STATUS_UNAVAILABLE;
 *   - class 28 (invalid authorization), 42501 (insufficient privilege),
 *     25006 (read-only transaction): STATUS_DENIED;
 *   - class 22 (data exception), class 23 (constraint violation), class 42
 *     other than 42501 (syntax error, undefined object): STATUS_USAGE;
 *   - P0002 (no_data_found): STATUS_NOT_FOUND;
 *   - anything else: STATUS_UNAVAILABLE.
 * Only the first two touch health. Connects first if needed. sql may hold
 * several statements when nparams is 0; the last statement's result is
 * returned. */
PGresult *pg_conn_query(struct pg_conn *c, const char *sql, int nparams,
                        const char *const *params, char sqlstate[6], struct error *err);

/* The same, for a statement whose result is not needed: returns a status. */
enum status pg_conn_exec(struct pg_conn *c, const char *sql, int nparams,
                         const char *const *params, struct error *err);

/* The client-side deadline of one query, in milliseconds. */
int64_t pg_conn_command_timeout(const struct pg_conn *c);

/* Sets the client-side deadline of later queries (e.g. long for
 * migrations); returns the previous one. The server's statement_timeout is
 * not changed: SET LOCAL it in the transaction that needs more. */
int64_t pg_conn_set_command_timeout(struct pg_conn *c, int64_t ms);

/* The libpq connection, NULL when not connected: for COPY and LISTEN in
 * the simulator. Borrowed; a failure seen through it should be followed by
 * pg_conn_close so health and reconnection stay right. */
PGconn *pg_conn_raw(struct pg_conn *c);

/* Value of row/column as int64 (0 when NULL or not a number). */
int64_t pg_value_int(const PGresult *res, int row, int col);

#endif
