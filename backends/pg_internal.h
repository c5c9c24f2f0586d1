/* What backends/pg_*.c share about a PostgreSQL connection: raw libpq
 * access and the query helper with deadline and error mapping. Only
 * backends/ includes this header (and so libpq-fe.h). */
#ifndef OPSDECK_BACKENDS_PG_INTERNAL_H
#define OPSDECK_BACKENDS_PG_INTERNAL_H

#include <libpq-fe.h>

#include "backends/pg_conn.h"

/* Runs sql with text parameters (params may be NULL when nparams is 0) and
 * waits for its one result within the command timeout. Returns the result
 * (caller PQclear()s it) or NULL with err filled:
 *   - no answer in time or connection lost: STATUS_UNAVAILABLE, the
 *     connection is dropped and health records a hard failure;
 *   - SQLSTATE 42501 (insufficient privilege) or 25006 (read-only
 *     transaction): STATUS_DENIED;
 *   - any other server error: STATUS_UNAVAILABLE with the server's message
 *     and SQLSTATE; *sqlstate (if not NULL) receives the SQLSTATE.
 * Connects first if needed. sql may hold several statements when nparams
 * is 0; the last statement's result is returned. */
PGresult *pg_conn_query(struct pg_conn *c, const char *sql, int nparams,
                        const char *const *params, char sqlstate[6], struct error *err);

/* The same, for a statement whose result is not needed: returns a status. */
enum status pg_conn_exec(struct pg_conn *c, const char *sql, int nparams,
                         const char *const *params, struct error *err);

/* Sets the client-side deadline of later queries (e.g. long for
 * migrations); returns the previous one. */
int64_t pg_conn_set_command_timeout(struct pg_conn *c, int64_t ms);

/* Value of row/column as int64 (0 when NULL or not a number). */
int64_t pg_value_int(const PGresult *res, int row, int col);

#endif
