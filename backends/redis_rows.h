/* What backends/redis_dlq.c and redis_circuits.c share when they turn Redis
 * hashes written by other tools into JSON rows. Only backends/ includes
 * this header. */
#ifndef OPSDECK_BACKENDS_REDIS_ROWS_H
#define OPSDECK_BACKENDS_REDIS_ROWS_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

/* A JSON string of len bytes (new reference). Bytes jansson refuses
 * (invalid UTF-8) are escaped the sanitizer's way and *bad is set, so
 * output stays valid JSON and the row can say that it was changed. */
json_t *redis_rows_str(const char *s, size_t len, bool *bad);

/* True when r is a string reply equal to s. */
bool redis_rows_reply_is(const redisReply *r, const char *s);

/* Adds the fields of others (other writers' and later actions' fields)
 * to row under their own names, or under row's "other_fields" where a
 * name would hide one of the row's. Drops the reference to others. */
void redis_rows_merge_others(json_t *row, json_t *others);

#endif
