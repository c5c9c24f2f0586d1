/* Circuit breakers from Redis: the registry set and each breaker's hash as
 * seed 004's get_stats() writes it, with opsdeck's forced state on top. */
#include <config.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/redis_circuits.h"
#include "backends/redis_internal.h"
#include "backends/redis_rows.h"
#include "backends/redis_overview.h"
#include "util/buf.h"
#include "util/sanitize.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

/* The hash fields a row shows, and how each is read; show adds every other
 * field as it is. */
enum circuits_kind { CIRCUITS_TEXT, CIRCUITS_INT, CIRCUITS_REAL, CIRCUITS_TIME };

#define CIRCUITS_FIELDS(X)                                                                         \
    X(STATE, "state", CIRCUITS_TEXT)                                                               \
    X(FAILURE_COUNT, "failure_count", CIRCUITS_INT)                                                \
    X(SUCCESS_COUNT, "success_count", CIRCUITS_INT)                                                \
    X(CALL_COUNT, "call_count", CIRCUITS_INT)                                                      \
    X(TOTAL_FAILURES, "total_failures", CIRCUITS_INT)                                              \
    X(FAILURE_RATE, "failure_rate", CIRCUITS_REAL)                                                 \
    X(LAST_FAILURE_TIME, "last_failure_time", CIRCUITS_TIME)                                       \
    X(LAST_SUCCESS_TIME, "last_success_time", CIRCUITS_TIME)                                       \
    X(CONFIG, "config", CIRCUITS_TEXT)                                                             \
    X(FORCED_STATE, "forced_state", CIRCUITS_TEXT)                                                 \
    X(FORCED_BY, "forced_by", CIRCUITS_TEXT)                                                       \
    X(FORCED_AT, "forced_at", CIRCUITS_TIME)                                                       \
    X(FORCED_REASON, "forced_reason", CIRCUITS_TEXT)                                               \
    X(UPDATED_AT, "updated_at", CIRCUITS_TIME)

enum circuits_field {
#define CIRCUITS_ENUM(id, name, kind) CIRCUITS_F_##id,
    CIRCUITS_FIELDS(CIRCUITS_ENUM)
#undef CIRCUITS_ENUM
        CIRCUITS_F_COUNT
};

static const struct {
    const char *name;
    enum circuits_kind kind;
} circuits_fields[CIRCUITS_F_COUNT] = {
#define CIRCUITS_INFO(id, name, kind) {name, kind},
    CIRCUITS_FIELDS(CIRCUITS_INFO)
#undef CIRCUITS_INFO
};
/* What Python writers leave for "no value". */
static bool circuits_empty(const redisReply *v)
{
    return v->len == 0 || strcmp(v->str, "None") == 0 || strcmp(v->str, "null") == 0;
}

static void circuits_set_raw(json_t *row, const char *key, const redisReply *v, bool *bad)
{
    char *raw_key = xasprintf("%s_raw", key);
    json_object_set_new(row, raw_key, redis_rows_str(v->str, v->len, bad));
    free(raw_key);
}

/* One known field into the row: numbers as numbers, times in ISO Z form;
 * a value that does not read as its kind stays, as written, in key_raw. */
static void circuits_set(json_t *row, const char *key, enum circuits_kind kind, const redisReply *v,
                         bool *bad)
{
    char *end;
    int64_t us;
    char iso[48];

    if (kind != CIRCUITS_TEXT && circuits_empty(v))
        return;
    bool whole = strlen(v->str) == v->len;
    switch (kind) {
    case CIRCUITS_TEXT:
        json_object_set_new(row, key, redis_rows_str(v->str, v->len, bad));
        return;
    case CIRCUITS_INT: {
        long long x = strtoll(v->str, &end, 10);
        if (whole && *end == '\0' && (isdigit((unsigned char)*v->str) || *v->str == '-')) {
            json_object_set_new(row, key, json_integer(x));
            return;
        }
        break;
    }
    case CIRCUITS_REAL: {
        double x = strtod(v->str, &end);
        if (whole && *end == '\0' && !isspace((unsigned char)*v->str) && x == x && x - x == 0) {
            json_object_set_new(row, key, json_real(x));
            return;
        }
        break;
    }
    case CIRCUITS_TIME:
        if (whole && time_parse_iso(v->str, &us)) {
            int64_t frac = us % 1000000;
            if (frac < 0)
                frac += 1000000;
            time_format_iso(us, iso, sizeof(iso));
            size_t n = strlen(iso);
            if (frac != 0 && n > 0)
                snprintf(iso + n - 1, sizeof(iso) - (n - 1), ".%06lldZ", (long long)frac);
            json_object_set_new(row, key, json_string(iso));
            return;
        }
        break;
    }
    circuits_set_raw(row, key, v, bad);
}
/* One breaker's row from its name and HGETALL reply (empty when the hash
 * is gone). full is show's row: whether the registry names it, and every
 * other hash field too. */
static json_t *circuits_row(const char *name, size_t name_len, const redisReply *hash, bool full,
                            bool registered)
{
    static const char *const keys[] = {
        "name",
        "state",
        "raw_state",
        "forced",
        "failure_count",
        "success_count",
        "call_count",
        "total_failures",
        "failure_rate",
        "last_failure_time",
        "last_success_time",
        "config",
        "forced_state",
        "forced_by",
        "forced_at",
        "forced_reason",
        "updated_at",
        "missing",
        "malformed",
    };
    const redisReply *f[CIRCUITS_F_COUNT] = {NULL};
    json_t *row = json_object(), *others = NULL;
    bool bad = false;

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        json_object_set_new(row, keys[i], json_null());
    json_object_set_new(row, "name", redis_rows_str(name, name_len, &bad));
    json_object_set_new(row, "forced", json_false());
    bool missing = hash->elements == 0;
    json_object_set_new(row, "missing", json_boolean(missing));

    for (size_t i = 0; i + 1 < hash->elements; i += 2) {
        const redisReply *k = hash->element[i], *v = hash->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        size_t j;
        for (j = 0; j < CIRCUITS_F_COUNT; j++)
            if (redis_rows_reply_is(k, circuits_fields[j].name))
                break;
        if (j < CIRCUITS_F_COUNT) {
            f[j] = v;
        } else if (full) {
            json_t *kj = redis_rows_str(k->str, k->len, &bad);
            if (others == NULL)
                others = json_object();
            json_object_set_new(others, json_string_value(kj), redis_rows_str(v->str, v->len, &bad));
            json_decref(kj);
        }
    }
    for (size_t j = 0; j < CIRCUITS_F_COUNT; j++) {
        if (f[j] == NULL || j == CIRCUITS_F_STATE || j == CIRCUITS_F_CONFIG)
            continue;
        circuits_set(row, circuits_fields[j].name, circuits_fields[j].kind, f[j], &bad);
    }

    /* The effective state: a forced state wins; either may be an enum repr
     * ("CircuitBreakerState.OPEN"). */
    const redisReply *forced = f[CIRCUITS_F_FORCED_STATE];
    const redisReply *state = forced != NULL && forced->len > 0 ? forced : f[CIRCUITS_F_STATE];
    if (f[CIRCUITS_F_STATE] != NULL)
        json_object_set_new(row, "raw_state",
                            redis_rows_str(f[CIRCUITS_F_STATE]->str, f[CIRCUITS_F_STATE]->len, &bad));
    if (state != NULL) {
        char *norm = redis_overview_normalise(state->str);
        json_object_set_new(row, "state", redis_rows_str(norm, strlen(norm), &bad));
        free(norm);
    }
    json_object_set_new(row, "forced", json_boolean(forced != NULL && forced->len > 0));

    const redisReply *config = f[CIRCUITS_F_CONFIG];
    if (config != NULL && !circuits_empty(config)) {
        json_error_t je;
        json_t *cfg = json_loadb(config->str, config->len, JSON_DECODE_ANY, &je);
        if (cfg != NULL) {
            json_object_set_new(row, "config", cfg);
        } else {
            char why[64];
            snprintf(why, sizeof(why), "bad config JSON at byte %d", je.position);
            json_object_set_new(row, "malformed", json_string(why));
            circuits_set_raw(row, "config", config, &bad);
        }
    }
    if (full)
        json_object_set_new(row, "registered", json_boolean(registered));
    if (bad)
        json_object_set_new(row, "invalid_utf8", json_true());
    /* Fields other writers keep on the hash (seed 004's get_stats() has
     * name), under their own names unless that would hide the row's. */
    redis_rows_merge_others(row, others);
    return row;
}

/* Redis's member order, for a list by name: bytes, then length. */
static int circuits_name_cmp(const void *a, const void *b)
{
    const redisReply *x = *(const redisReply *const *)a, *y = *(const redisReply *const *)b;
    int c = memcmp(x->str, y->str, x->len < y->len ? x->len : y->len);
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static char *circuits_key(const char *prefix, const char *name, size_t name_len, size_t *len)
{
    size_t plen = strlen(prefix);
    char *key = xmalloc(plen + 1 + name_len + 1);
    memcpy(key, prefix, plen);
    key[plen] = ':';
    memcpy(key + plen + 1, name, name_len);
    key[plen + 1 + name_len] = '\0';
    *len = plen + 1 + name_len;
    return key;
}
enum status redis_circuits_list(struct redis_conn *c, const char *prefix, json_t **rows,
                                struct error *err)
{
    enum status rc = STATUS_OK;
    if (prefix == NULL || *prefix == '\0')
        prefix = "circuit_breakers";
    char *index = xasprintf("%s:index", prefix);
    const char *argv[] = {"SMEMBERS", index};
    const redisReply **names = NULL;
    size_t n = 0, sent = 0;
    json_t *out = json_array();

    *rows = NULL;
    redisReply *members = redis_conn_command(c, 2, argv, NULL, err);
    if (members == NULL) {
        rc = err->status;
        goto out;
    }
    if (members->type != REDIS_REPLY_ARRAY) {
        rc = error_set(err, STATUS_UNAVAILABLE, "redis at %s: unexpected reply to SMEMBERS",
                       redis_conn_endpoint(c));
        goto out;
    }
    names = xcalloc(members->elements + 1, sizeof(*names));
    for (size_t i = 0; i < members->elements; i++)
        if (members->element[i]->type == REDIS_REPLY_STRING)
            names[n++] = members->element[i];
    qsort(names, n, sizeof(*names), circuits_name_cmp);

    for (; sent < n; sent++) {
        size_t klen;
        char *key = circuits_key(prefix, names[sent]->str, names[sent]->len, &klen);
        const char *av[] = {"HGETALL", key};
        const size_t lens[] = {7, klen};
        rc = redis_conn_append(c, 2, av, lens, err);
        free(key);
        if (rc != STATUS_OK)
            goto out;
    }
    for (size_t i = 0; i < sent; i++) {
        redisReply *r = redis_conn_reply(c, err);
        if (r == NULL) {
            rc = err->status;
            goto out;
        }
        if (r->type == REDIS_REPLY_ARRAY) {
            json_array_append_new(out, circuits_row(names[i]->str, names[i]->len, r, false, true));
        } else {
            /* One unreadable key (another type) does not lose the list. */
            bool bad = false;
            json_t *row = json_object();
            json_object_set_new(row, "name", redis_rows_str(names[i]->str, names[i]->len, &bad));
            json_object_set_new(row, "state", json_null());
            json_object_set_new(row, "missing", json_false());
            json_object_set_new(row, "malformed",
                                redis_rows_str(r->type == REDIS_REPLY_ERROR ? r->str : "no hash",
                                             r->type == REDIS_REPLY_ERROR ? r->len : 7, &bad));
            if (bad)
                json_object_set_new(row, "invalid_utf8", json_true());
            json_array_append_new(out, row);
        }
        freeReplyObject(r);
    }
out:
    if (rc == STATUS_OK)
        *rows = out;
    else
        json_decref(out);
    free(names);
    if (members != NULL)
        freeReplyObject(members);
    free(index);
    return rc;
}

enum status redis_circuits_show(struct redis_conn *c, const char *prefix, const char *name,
                                json_t **out, struct error *err)
{
    enum status rc;
    redisReply *hash = NULL, *member = NULL;
    if (prefix == NULL || *prefix == '\0')
        prefix = "circuit_breakers";
    size_t klen;
    char *key = circuits_key(prefix, name, strlen(name), &klen);
    char *index = xasprintf("%s:index", prefix);
    const char *a0[] = {"HGETALL", key};
    const char *a1[] = {"SISMEMBER", index, name};

    *out = NULL;
    if ((rc = redis_conn_append(c, 2, a0, NULL, err)) != STATUS_OK ||
        (rc = redis_conn_append(c, 3, a1, NULL, err)) != STATUS_OK)
        goto out;
    if ((hash = redis_conn_reply(c, err)) == NULL || (member = redis_conn_reply(c, err)) == NULL) {
        rc = err->status;
        goto out;
    }
    if (hash->type != REDIS_REPLY_ARRAY) {
        rc = hash->type == REDIS_REPLY_ERROR
                 ? redis_conn_reply_error(c, hash, err)
                 : error_set(err, STATUS_UNAVAILABLE, "redis at %s: unexpected reply to HGETALL",
                             redis_conn_endpoint(c));
        goto out;
    }
    if (hash->elements == 0) {
        char *safe = sanitize_dup(name, 0);
        rc = error_set(err, STATUS_NOT_FOUND, "circuit %s not found", safe);
        free(safe);
        goto out;
    }
    *out = circuits_row(name, strlen(name), hash, true,
                        member->type == REDIS_REPLY_INTEGER && member->integer == 1);
out:
    if (member != NULL)
        freeReplyObject(member);
    if (hash != NULL)
        freeReplyObject(hash);
    free(index);
    free(key);
    return rc;
}
