/* Private PostgreSQL and Redis servers in a folder of their own, on unix
 * sockets only: what the test harness and `opsdeck demo` run against.
 * Started as an unprivileged user when we are root (PostgreSQL refuses
 * root), stopped by pid. */
#ifndef OPSDECK_CORE_STORES_H
#define OPSDECK_CORE_STORES_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/status.h"

/* The default folder: $XDG_STATE_HOME/opsdeck/demo, or
 * ~/.local/state/opsdeck/demo; for root /var/lib/opsdeck/demo, since root's
 * home is closed to the user the servers run as. Heap string, caller
 * frees. */
char *stores_default_dir(void);

/* Starts whichever of the two servers is not running in dir (creating and
 * initialising it on first use) and waits until both answer. Idempotent:
 * with both running it returns STATUS_OK at once. When owner is not 0, a
 * watchdog process stops the servers once owner has exited, so a killed
 * test run or demo leaves nothing behind. */
enum status stores_start(const char *dir, pid_t owner, struct error *err);

/* Stops the servers (and watchdog) of dir by their pids; data stays.
 * Stopping stores that are not running is not an error. */
enum status stores_stop(const char *dir, struct error *err);

/* True when both servers of dir are running. */
bool stores_running(const char *dir);

/* Appends shell `export` lines that point opsdeck, psql and redis-cli at
 * dir's servers (OPSDECK_POSTGRES, OPSDECK_REDIS, PGHOST, PGPORT, PGUSER,
 * PGDATABASE, REDIS_SOCK, STORES_DIR). */
void stores_env(const char *dir, struct buf *out);

/* The conninfo and URL of dir's servers; heap strings, caller frees. */
char *stores_postgres_conninfo(const char *dir);
char *stores_redis_url(const char *dir);

#endif
