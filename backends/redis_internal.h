/* What backends/redis_*.c share about a Redis connection: commands and
 * pipelines with the timeout and error mapping. Only backends/ includes
 * this header (and so hiredis.h). */
#ifndef OPSDECK_BACKENDS_REDIS_INTERNAL_H
#define OPSDECK_BACKENDS_REDIS_INTERNAL_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "backends/redis_conn.h"

/* Sends one command (binary-safe argv) and returns its reply, which the
 * caller frees with freeReplyObject, or NULL with err filled:
 *   - I/O error, timeout or closed connection: STATUS_UNAVAILABLE, the
 *     connection is dropped and health records a hard failure;
 *   - an error reply starting NOPERM, NOAUTH, WRONGPASS or READONLY:
 *     STATUS_DENIED;
 *   - any other error reply: STATUS_UNAVAILABLE with Redis's message.
 * Connects first if needed. argvlen may be NULL for NUL-terminated args. */
redisReply *redis_conn_command(struct redis_conn *c, int argc, const char **argv,
                               const size_t *argvlen, struct error *err);

/* Pipelining: queue commands with redis_conn_append (nothing is sent yet),
 * then collect exactly as many replies with redis_conn_reply, in order. The
 * first call of redis_conn_reply sends everything in one write: one round
 * trip for the whole batch. An error reply inside a pipeline is returned
 * as a REDIS_REPLY_ERROR reply, not as a failure, so one bad key does not
 * lose the page; I/O failures are as for redis_conn_command. */
enum status redis_conn_append(struct redis_conn *c, int argc, const char **argv,
                              const size_t *argvlen, struct error *err);
redisReply *redis_conn_reply(struct redis_conn *c, struct error *err);

/* Maps an error reply's text to a status (DENIED or UNAVAILABLE). */
enum status redis_conn_error_status(const char *msg);

/* Fills err from an error reply ("redis at HOST: MESSAGE") and returns
 * its status. */
enum status redis_conn_reply_error(const struct redis_conn *c, const redisReply *r,
                                   struct error *err);

/* A breaker's effective state from its state and forced_state replies
 * (either may be NULL): the forced state when it is a non-empty string,
 * else the state when it is a string, else NULL. One rule for the
 * Overview's counts, the circuits list's order and filter, and its rows. */
const redisReply *redis_circuit_effective(const redisReply *state, const redisReply *forced);

/* Subscriber mode, for a connection of its own (a subscribed connection
 * takes no other commands). redis_conn_subscribe drops any connection c
 * has, connects (failing fast while the breaker is open) and SUBSCRIBEs
 * to the n channels, reading every confirmation: it blocks at most the
 * connect timeout plus one command timeout. After a failure of it or of
 * redis_conn_next_message, c is closed; subscribe again to resume
 * (messages published meanwhile are lost: that is pub/sub). */
enum status redis_conn_subscribe(struct redis_conn *c, size_t n, const char *const *channels,
                                 struct error *err);

/* The connection's socket to poll for input, or -1 when not connected. */
int redis_conn_fd(const struct redis_conn *c);

/* The next reply already received on a subscribed connection, without
 * blocking: *out is a reply the caller frees with freeReplyObject (a
 * ["message", channel, payload] array, or a subscription confirmation),
 * or NULL when nothing has arrived. A closed or broken connection is
 * STATUS_UNAVAILABLE as for redis_conn_command. */
enum status redis_conn_next_message(struct redis_conn *c, redisReply **out, struct error *err);

#endif
