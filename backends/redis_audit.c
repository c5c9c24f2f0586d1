/* Reading the Redis audit stream. */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/redis_audit.h"
#include "backends/redis_internal.h"
#include "util/sanitize.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

/* Batches read per page before giving up on filling it with matches. */
#define REDIS_AUDIT_BATCHES 5

static json_t *redis_audit_str(const redisReply *r)
{
    if (r == NULL || r->type != REDIS_REPLY_STRING)
        return json_null();
    json_t *j = json_stringn(r->str, r->len);
    if (j == NULL) {
        /* not UTF-8: keep it visible and valid */
        struct buf b;
        buf_init(&b);
        sanitize_append(&b, r->str, r->len, 0, 0);
        j = json_string(buf_get(&b));
        buf_done(&b);
    }
    return j != NULL ? j : json_null();
}

static json_t *redis_audit_row(const redisReply *entry)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING ||
        entry->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const redisReply *fields = entry->element[1];
    json_t *row = json_object();
    json_object_set_new(row, "store", json_string("redis"));
    json_object_set_new(row, "audit_id", redis_audit_str(entry->element[0]));
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type != REDIS_REPLY_STRING)
            continue;
        json_t *val = NULL;
        if ((strcmp(k->str, "before") == 0 || strcmp(k->str, "after") == 0) &&
            v->type == REDIS_REPLY_STRING) {
            json_error_t je;
            val = json_loadb(v->str, v->len, JSON_DECODE_ANY, &je);
        }
        if (val == NULL)
            val = redis_audit_str(v);
        if (json_is_string(val) && json_string_length(val) == 0) {
            json_decref(val);
            val = json_null();
        }
        char *key = xstrndup(k->str, k->len);
        json_object_set_new(row, key, val);
        free(key);
    }
    return row;
}

static bool redis_audit_match(const json_t *row, const char *operator_, const char *action)
{
    const char *op = json_string_value(json_object_get(row, "operator"));
    const char *ac = json_string_value(json_object_get(row, "action"));
    return (operator_ == NULL || (op != NULL && strcmp(op, operator_) == 0)) &&
           (action == NULL || (ac != NULL && strcmp(ac, action) == 0));
}

enum status redis_audit_list(struct redis_conn *c, const char *dlq_prefix, const char *before,
                             size_t limit, const char *operator_, const char *action,
                             int64_t since_us, json_t **rows, bool *exhausted, struct error *err)
{
    char *key = xasprintf("%s:audit", dlq_prefix);
    char *start = before != NULL ? xasprintf("(%s", before) : xstrdup("+");
    char min[48], count[24];
    enum status rc = STATUS_OK;

    /* Stream ids start with milliseconds: --since becomes the lower bound. */
    snprintf(min, sizeof(min), since_us > 0 ? "%lld" : "-", (long long)(since_us / 1000));
    snprintf(count, sizeof(count), "%zu", limit * 2 < 1000 ? limit * 2 : 1000);
    *rows = json_array();
    *exhausted = false;
    for (int batch = 0; batch < REDIS_AUDIT_BATCHES && json_array_size(*rows) < limit; batch++) {
        const char *argv[] = {"XREVRANGE", key, start, min, "COUNT", count};
        redisReply *r = redis_conn_command(c, 6, argv, NULL, err);
        if (r == NULL) {
            rc = err->status;
            break;
        }
        size_t n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0, i;
        for (i = 0; i < n && json_array_size(*rows) < limit; i++) {
            const redisReply *e = r->element[i];
            if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
                e->element[0]->type == REDIS_REPLY_STRING) {
                free(start);
                start = xasprintf("(%.*s", (int)e->element[0]->len, e->element[0]->str);
            }
            json_t *row = redis_audit_row(e);
            if (row != NULL && redis_audit_match(row, operator_, action))
                json_array_append_new(*rows, row);
            else
                json_decref(row);
        }
        /* A short batch read to its end is the end of the stream. */
        if (i == n && n < (size_t)atoll(count))
            *exhausted = true;
        freeReplyObject(r);
        if (*exhausted)
            break;
    }
    if (rc != STATUS_OK) {
        json_decref(*rows);
        *rows = NULL;
    }
    free(start);
    free(key);
    return rc;
}

enum status redis_audit_append(struct redis_conn *c, const char *dlq_prefix,
                               const char *const *fields, size_t n, struct error *err)
{
    char *key = xasprintf("%s:audit", dlq_prefix);
    char at[40], secs[24];
    int64_t now = time_now_us();
    /* the shape the action scripts write: microseconds and Z */
    time_format_iso(now, secs, sizeof(secs));
    snprintf(at, sizeof(at), "%.19s.%06lldZ", secs, (long long)(now % 1000000));
    const char *head[] = {"XADD", key, "MAXLEN", "~", "100000", "*", "at", at};
    size_t nhead = sizeof(head) / sizeof(head[0]), argc = 0;
    const char **argv = xcalloc(nhead + 2 * n, sizeof(*argv));
    for (size_t j = 0; j < nhead; j++)
        argv[argc++] = head[j];
    for (size_t j = 0; j < 2 * n; j++)
        argv[argc++] = fields[j] != NULL ? fields[j] : "";
    redisReply *r = redis_conn_command(c, (int)argc, argv, NULL, err);
    enum status rc = r != NULL ? STATUS_OK : err->status;
    if (r != NULL)
        freeReplyObject(r);
    free(argv);
    free(key);
    return rc;
}
