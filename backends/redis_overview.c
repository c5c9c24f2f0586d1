/* Overview counts from Redis, pipelined: the first round trip reads the DLQ
 * index, its stats hash and the circuit registry; the second reads each
 * registered circuit's state. Breakers are found through the registry set
 * <circuit_prefix>:index, never by scanning the key space; a store without
 * the registry is reported as such, not as "no circuits". */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends/redis_internal.h"
#include "backends/redis_overview.h"
#include "util/xmalloc.h"

/* A registry larger than this is read in part; the overview says so by
 * circuits_total exceeding the sum of the states. */
#define CIRCUITS_MAX 10000

char *redis_overview_normalise(const char *s)
{
    /* Only a Python enum repr ("DLQReason.VALIDATION_FAILED") is rewritten:
     * any other value is data and stays exactly as written. */
    const char *dot = strchr(s, '.');
    bool repr = dot != NULL && dot > s && dot[1] != '\0' && strchr(dot + 1, '.') == NULL;
    for (const char *p = s; repr && p < dot; p++)
        repr = isalnum((unsigned char)*p) || *p == '_';
    for (const char *p = dot + 1; repr && *p; p++)
        repr = isupper((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_';
    if (!repr)
        return xstrdup(s);
    char *out = xstrdup(dot + 1);
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return out;
}

static int64_t redis_overview_int(const redisReply *r)
{
    if (r == NULL)
        return 0;
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type == REDIS_REPLY_STRING)
        return strtoll(r->str, NULL, 10);
    return 0;
}

static int redis_overview_count_cmp(const void *a, const void *b)
{
    const struct redis_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->name, y->name);
}

static void redis_overview_stats(struct redis_overview *out, const redisReply *stats)
{
    if (stats == NULL || stats->type != REDIS_REPLY_ARRAY)
        return;
    out->reasons = xcalloc(stats->elements / 2 + 1, sizeof(*out->reasons));
    for (size_t i = 0; i + 1 < stats->elements; i += 2) {
        const redisReply *k = stats->element[i], *v = stats->element[i + 1];
        if (k->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "total_failed_events") == 0) {
            out->dlq_total_failed = redis_overview_int(v);
        } else if (strncmp(k->str, "status:", 7) == 0) {
            /* Every status move (resolve, replay, fail again) moves these:
             * a cheap sign that some event changed. */
            uint64_t h = 5381;
            for (const char *c = k->str + 7; *c != '\0'; c++)
                h = h * 33 + (unsigned char)*c;
            /* A sum, so the hash's field order does not matter. */
            out->dlq_status_sum += redis_overview_int(v) * (int64_t)(h % 1000003 + 1);
        } else if (strncmp(k->str, "reason:", 7) == 0) {
            /* One writer's repr and another's value are the same reason. */
            char *name = redis_overview_normalise(k->str + 7);
            size_t j;
            for (j = 0; j < out->nreasons; j++)
                if (strcmp(out->reasons[j].name, name) == 0)
                    break;
            if (j == out->nreasons) {
                out->reasons[j].name = name;
                out->nreasons++;
            } else {
                free(name);
            }
            out->reasons[j].count += redis_overview_int(v);
        }
    }
    qsort(out->reasons, out->nreasons, sizeof(*out->reasons), redis_overview_count_cmp);
}

const redisReply *redis_circuit_effective(const redisReply *state, const redisReply *forced)
{
    if (forced != NULL && forced->type == REDIS_REPLY_STRING && forced->len > 0)
        return forced;
    return state != NULL && state->type == REDIS_REPLY_STRING ? state : NULL;
}

static void redis_overview_circuit(struct redis_overview *out, const redisReply *r)
{
    const redisReply *eff = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 2
                                ? redis_circuit_effective(r->element[0], r->element[1])
                                : NULL;
    if (eff == NULL) {
        out->circuits_unknown++;
        return;
    }
    bool is_forced = eff == r->element[1];
    char *state = redis_overview_normalise(eff->str);
    out->circuits_forced += is_forced;
    if (strcasecmp(state, "closed") == 0)
        out->circuits_closed++;
    else if (strcasecmp(state, "open") == 0)
        out->circuits_open++;
    else if (strcasecmp(state, "half_open") == 0)
        out->circuits_half_open++;
    else
        out->circuits_unknown++;
    free(state);
}

enum status redis_overview_get(struct redis_conn *c, const char *dlq_prefix,
                               const char *circuit_prefix, int64_t now_us,
                               struct redis_overview *out, struct error *err)
{
    enum status rc = STATUS_OK;
    redisReply *replies[5] = {NULL, NULL, NULL, NULL, NULL};
    char *index = xasprintf("%s:index", dlq_prefix);
    char *stats = xasprintf("%s:stats", dlq_prefix);
    char *circuits = xasprintf("%s:index", circuit_prefix);
    char since[32];

    memset(out, 0, sizeof(*out));
    snprintf(since, sizeof(since), "%lld", (long long)(now_us / 1000000 - 3600));
    const char *a0[] = {"ZCARD", index};
    const char *a1[] = {"ZCOUNT", index, since, "+inf"};
    const char *a2[] = {"HGETALL", stats};
    const char *a3[] = {"SMEMBERS", circuits};
    const char *a4[] = {"EXISTS", circuits};
    if ((rc = redis_conn_append(c, 2, a0, NULL, err)) != STATUS_OK ||
        (rc = redis_conn_append(c, 4, a1, NULL, err)) != STATUS_OK ||
        (rc = redis_conn_append(c, 2, a2, NULL, err)) != STATUS_OK ||
        (rc = redis_conn_append(c, 2, a3, NULL, err)) != STATUS_OK ||
        (rc = redis_conn_append(c, 2, a4, NULL, err)) != STATUS_OK)
        goto out;
    for (int i = 0; i < 5; i++) {
        replies[i] = redis_conn_reply(c, err);
        if (replies[i] == NULL) {
            rc = err->status;
            goto out;
        }
        if (replies[i]->type == REDIS_REPLY_ERROR) {
            rc = redis_conn_reply_error(c, replies[i], err);
            /* read the rest so the connection stays in step */
            for (int j = i + 1; j < 5; j++)
                replies[j] = redis_conn_reply(c, NULL);
            goto out;
        }
    }
    out->circuits_registry = redis_overview_int(replies[4]) > 0;
    out->dlq_depth = redis_overview_int(replies[0]);
    out->dlq_last_hour = redis_overview_int(replies[1]);
    redis_overview_stats(out, replies[2]);

    const redisReply *names = replies[3];
    size_t n = names->type == REDIS_REPLY_ARRAY ? names->elements : 0;
    out->circuits_total = (int64_t)n;
    if (n > CIRCUITS_MAX)
        n = CIRCUITS_MAX;
    size_t sent = 0;
    for (size_t i = 0; i < n; i++) {
        const redisReply *name = names->element[i];
        if (name->type != REDIS_REPLY_STRING)
            continue;
        char *key = xasprintf("%s:%.*s", circuit_prefix, (int)name->len, name->str);
        const char *av[] = {"HMGET", key, "state", "forced_state"};
        rc = redis_conn_append(c, 4, av, NULL, err);
        free(key);
        if (rc != STATUS_OK)
            goto out;
        sent++;
    }
    for (size_t i = 0; i < sent; i++) {
        redisReply *r = redis_conn_reply(c, err);
        if (r == NULL) {
            rc = err->status;
            goto out;
        }
        redis_overview_circuit(out, r);
        freeReplyObject(r);
    }
out:
    for (int i = 0; i < 5; i++)
        if (replies[i] != NULL)
            freeReplyObject(replies[i]);
    free(circuits);
    free(stats);
    free(index);
    if (rc != STATUS_OK)
        redis_overview_done(out);
    return rc;
}

enum status redis_overview_inflow(struct redis_conn *c, const char *dlq_prefix, int64_t now_us,
                                  size_t minutes, int64_t *counts, struct error *err)
{
    enum status rc = STATUS_OK;
    char *index = xasprintf("%s:index", dlq_prefix);
    /* Scores are unix seconds (seed 004 writes time.time()): minute i is
     * [start, start + 60), and the last one holds now. */
    int64_t now_s = now_us >= 0 ? now_us / 1000000 : (now_us - 999999) / 1000000;
    int64_t first = (now_s - (now_s % 60 + 60) % 60) - ((int64_t)minutes - 1) * 60;
    size_t sent = 0, got = 0;

    for (size_t i = 0; i < minutes; i++)
        counts[i] = 0;
    for (; sent < minutes; sent++) {
        char lo[32], hi[32];
        int64_t start = first + (int64_t)sent * 60;
        snprintf(lo, sizeof(lo), "%lld", (long long)start);
        snprintf(hi, sizeof(hi), "(%lld", (long long)(start + 60));
        const char *av[] = {"ZCOUNT", index, lo, hi};
        if ((rc = redis_conn_append(c, 4, av, NULL, err)) != STATUS_OK)
            goto out;
    }
    for (; got < sent; got++) {
        redisReply *r = redis_conn_reply(c, err);
        if (r == NULL) {
            rc = err != NULL ? err->status : STATUS_UNAVAILABLE;
            goto out;
        }
        if (r->type == REDIS_REPLY_ERROR && rc == STATUS_OK)
            rc = redis_conn_reply_error(c, r, err);
        else if (r->type == REDIS_REPLY_INTEGER)
            counts[got] = r->integer;
        freeReplyObject(r);
    }
out:
    /* Whatever was queued is read, so the connection stays in step. */
    for (; got < sent; got++) {
        redisReply *r = redis_conn_reply(c, NULL);
        if (r == NULL)
            break;
        freeReplyObject(r);
    }
    free(index);
    if (rc != STATUS_OK)
        for (size_t i = 0; i < minutes; i++)
            counts[i] = 0;
    return rc;
}

void redis_overview_done(struct redis_overview *out)
{
    for (size_t i = 0; i < out->nreasons; i++)
        free(out->reasons[i].name);
    free(out->reasons);
    out->reasons = NULL;
    out->nreasons = 0;
}
