/* The audit stream of Redis actions (<dlq_prefix>:audit), newest first, in
 * the row shape of the PostgreSQL audit log, so both can be listed
 * together. */
#ifndef OPSDECK_BACKENDS_REDIS_AUDIT_H
#define OPSDECK_BACKENDS_REDIS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backends/redis_conn.h"
#include "util/status.h"

/* Fills *rows (new JSON array) with up to limit entries older than the
 * stream id before (NULL: the newest), matching operator and action when
 * given and not older than since_us (0: any). *exhausted is set when the
 * stream has nothing older. Each row has "store": "redis", "audit_id" the
 * stream id, and the audit fields (before and after parsed as JSON). At
 * most a few round trips, each reading a bounded batch. */
enum status redis_audit_list(struct redis_conn *c, const char *dlq_prefix, const char *before,
                             size_t limit, const char *operator_, const char *action,
                             int64_t since_us, json_t **rows, bool *exhausted, struct error *err);

/* Appends one entry to the audit stream (fields and values, n pairs, plus
 * "at" now) in one XADD: for operator reads that must leave a trace, such
 * as unmasking. Fails (STATUS_DENIED without the right) rather than let the
 * read happen unaudited. */
enum status redis_audit_append(struct redis_conn *c, const char *dlq_prefix,
                               const char *const *fields, size_t n, struct error *err);

#endif
