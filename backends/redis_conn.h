/* The Redis connection: URL parsing, password from a file or the
 * environment, connect and command timeouts (set again after every
 * connect, since hiredis 0.14 times only the connect unless told),
 * keepalives, health with backoff and a breaker, and reconnection. */
#ifndef OPSDECK_BACKENDS_REDIS_CONN_H
#define OPSDECK_BACKENDS_REDIS_CONN_H

#include <stdint.h>

#include "backends/health.h"
#include "util/status.h"

struct redis_conn;

struct redis_conn_options {
    const char *url;            /* redis://[user[:password]@]host[:port][/db] or unix:///path[?db=N] */
    const char *password_file;  /* first line is the password; "" or NULL for none */
    int64_t connect_timeout_ms;
    int64_t command_timeout_ms;
};

/* Parses the URL and reads the password file; does not connect. On a bad
 * URL or unreadable file returns STATUS_USAGE with the reason (never the
 * password). The caller frees *out with redis_conn_free (NULL-safe).
 * Password precedence: the URL's, then the file's, then REDISCLI_AUTH. */
enum status redis_conn_new(const struct redis_conn_options *opt, struct redis_conn **out,
                           struct error *err);
void redis_conn_free(struct redis_conn *c);

/* Connects (AUTH, SELECT) unless connected; fails fast with
 * STATUS_UNAVAILABLE while the breaker is open. Blocks at most the
 * connect timeout plus one command timeout. */
enum status redis_conn_ensure(struct redis_conn *c, struct error *err);

void redis_conn_close(struct redis_conn *c);

/* PING round trip in microseconds; connects first if needed. */
enum status redis_conn_ping(struct redis_conn *c, int64_t *rtt_us, struct error *err);

const struct health *redis_conn_health(const struct redis_conn *c);

/* "HOST:PORT" or the socket path, for messages; never a password. */
const char *redis_conn_endpoint(const struct redis_conn *c);

#endif
