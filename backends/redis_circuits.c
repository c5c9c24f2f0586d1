/* Circuit breakers from Redis: the registry set and each breaker's hash as
 * seed 004's get_stats() writes it, with opsdeck's forced state on top. */
#include <config.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    const redisReply *state = redis_circuit_effective(f[CIRCUITS_F_STATE], forced);
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

/* Where a breaker's effective state puts it in the default order: the most
 * urgent first. Anything else (no hash, no state, a state no writer
 * defines) comes last. */
enum circuits_rank {
    CIRCUITS_RANK_OPEN,
    CIRCUITS_RANK_HALF_OPEN,
    CIRCUITS_RANK_CLOSED,
    CIRCUITS_RANK_OTHER,
};

static const char *const circuits_states[] = {"open", "half_open", "closed"};

/* HMGETs of ranks per pipelined round trip: bounds what Redis buffers. */
#define CIRCUITS_BATCH     1000
#define CIRCUITS_MAX_LIMIT 1000

/* A breaker while a page is chosen: its name and rank, nothing else. */
struct circuits_entry {
    const char *name; /* borrowed from the SMEMBERS reply, or the cursor's */
    size_t len;
    int rank;
};

/* The rank of an HMGET state forced_state reply. The forced state wins,
 * and either is read as redis_overview_get counts it, so a filter on a
 * state lists what the Overview counts in it. */
static int circuits_rank(const redisReply *r)
{
    const redisReply *state = r->type == REDIS_REPLY_ARRAY && r->elements >= 2
                                  ? redis_circuit_effective(r->element[0], r->element[1])
                                  : NULL;
    if (state == NULL)
        return CIRCUITS_RANK_OTHER;
    char *norm = redis_overview_normalise(state->str);
    int rank = CIRCUITS_RANK_OTHER;
    for (int i = 0; i < CIRCUITS_RANK_OTHER; i++)
        if (strcasecmp(norm, circuits_states[i]) == 0)
            rank = i;
    free(norm);
    return rank;
}

/* Names in byte order (a prefix first). */
static int circuits_name_cmp(const struct circuits_entry *x, const struct circuits_entry *y)
{
    int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int circuits_cmp(const struct circuits_entry *x, const struct circuits_entry *y,
                        bool by_name)
{
    if (!by_name && x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return circuits_name_cmp(x, y);
}

static int circuits_cmp_name(const void *a, const void *b)
{
    return circuits_cmp(a, b, true);
}

static int circuits_cmp_state(const void *a, const void *b)
{
    return circuits_cmp(a, b, false);
}

/* The cursor is the page's last row: "R:NAME" in the state order (R its
 * rank digit), "n:NAME" by name. NAME is percent-encoded, so any bytes a
 * name holds survive a terminal and a shell, and names like
 * "payments-api" read as they are. */
static bool circuits_plain(unsigned char ch)
{
    /* ASCII only, whatever the locale says a letter is. */
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_' || ch == '.' || ch == '~';
}

static char *circuits_cursor(const struct circuits_entry *e, bool by_name)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b;
    buf_init(&b);
    buf_addc(&b, by_name ? 'n' : (char)('0' + e->rank));
    buf_addc(&b, ':');
    for (size_t i = 0; i < e->len; i++) {
        unsigned char ch = (unsigned char)e->name[i];
        if (circuits_plain(ch)) {
            buf_addc(&b, (char)ch);
        } else {
            buf_addc(&b, '%');
            buf_addc(&b, hex[ch >> 4]);
            buf_addc(&b, hex[ch & 15]);
        }
    }
    return buf_take(&b);
}

static int circuits_hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Reads a cursor of the given order into *pos and returns the name it
 * points into (heap, caller frees), or NULL when s is not such a cursor. */
static char *circuits_cursor_parse(const char *s, bool by_name, struct circuits_entry *pos)
{
    if (by_name ? s[0] != 'n' : (s[0] < '0' || s[0] > '0' + CIRCUITS_RANK_OTHER))
        return NULL;
    if (s[1] != ':')
        return NULL;
    char *name = xmalloc(strlen(s) + 1);
    size_t len = 0;
    for (const char *p = s + 2; *p != '\0'; p++) {
        if (*p == '%') {
            int hi = circuits_hex(p[1]), lo = hi >= 0 ? circuits_hex(p[2]) : -1;
            if (lo < 0) {
                free(name);
                return NULL;
            }
            name[len++] = (char)(hi << 4 | lo);
            p += 2;
        } else if (circuits_plain((unsigned char)*p)) {
            name[len++] = *p;
        } else {
            free(name);
            return NULL;
        }
    }
    name[len] = '\0';
    pos->name = name;
    pos->len = len;
    pos->rank = by_name ? CIRCUITS_RANK_OTHER : s[0] - '0';
    return name;
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

/* An error reply that is not about the key's data (a key of another type
 * is: its row says so) but a refusal, NOPERM for this user say: it would
 * leave the order, a state filter or the rows silently wrong, so the page
 * fails with it, once every reply of the round trip is read and the
 * connection is in step again. */
static bool circuits_refusal(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "WRONGTYPE", 9) != 0;
}

/* Ranks e[0..n) with HMGET state forced_state, CIRCUITS_BATCH a round
 * trip; each reply is freed as soon as its rank is taken. */
static enum status circuits_rank_all(struct redis_conn *c, const char *prefix,
                                     struct circuits_entry *e, size_t n, struct error *err)
{
    for (size_t done = 0; done < n;) {
        size_t batch = n - done < CIRCUITS_BATCH ? n - done : CIRCUITS_BATCH;
        for (size_t i = done; i < done + batch; i++) {
            size_t klen;
            char *key = circuits_key(prefix, e[i].name, e[i].len, &klen);
            const char *av[] = {"HMGET", key, "state", "forced_state"};
            const size_t lens[] = {5, klen, 5, 12};
            enum status rc = redis_conn_append(c, 4, av, lens, err);
            free(key);
            if (rc != STATUS_OK)
                return rc;
        }
        enum status refused = STATUS_OK;
        for (size_t i = done; i < done + batch; i++) {
            redisReply *r = redis_conn_reply(c, err);
            if (r == NULL)
                return err->status;
            /* A key of another type ranks as unknown (its row says so). */
            if (circuits_refusal(r) && refused == STATUS_OK)
                refused = redis_conn_reply_error(c, r, err);
            e[i].rank = circuits_rank(r);
            freeReplyObject(r);
        }
        if (refused != STATUS_OK)
            return refused;
        done += batch;
    }
    return STATUS_OK;
}

/* The row of a registered name whose key is not a hash: the list goes on. */
static json_t *circuits_row_unreadable(const struct circuits_entry *e, const redisReply *r)
{
    bool bad = false;
    json_t *row = json_object();
    json_object_set_new(row, "name", redis_rows_str(e->name, e->len, &bad));
    json_object_set_new(row, "state", json_null());
    json_object_set_new(row, "missing", json_false());
    json_object_set_new(row, "malformed",
                        redis_rows_str(r->type == REDIS_REPLY_ERROR ? r->str : "no hash",
                                       r->type == REDIS_REPLY_ERROR ? r->len : 7, &bad));
    if (bad)
        json_object_set_new(row, "invalid_utf8", json_true());
    return row;
}

/* The rows of e[0..n) from one pipelined round trip of HGETALLs. */
static enum status circuits_page(struct redis_conn *c, const char *prefix,
                                 const struct circuits_entry *e, size_t n, json_t *out,
                                 struct error *err)
{
    for (size_t i = 0; i < n; i++) {
        size_t klen;
        char *key = circuits_key(prefix, e[i].name, e[i].len, &klen);
        const char *av[] = {"HGETALL", key};
        const size_t lens[] = {7, klen};
        enum status rc = redis_conn_append(c, 2, av, lens, err);
        free(key);
        if (rc != STATUS_OK)
            return rc;
    }
    enum status refused = STATUS_OK;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = redis_conn_reply(c, err);
        if (r == NULL)
            return err->status;
        if (circuits_refusal(r) && refused == STATUS_OK)
            refused = redis_conn_reply_error(c, r, err);
        json_array_append_new(out, r->type == REDIS_REPLY_ARRAY
                                       ? circuits_row(e[i].name, e[i].len, r, false, true)
                                       : circuits_row_unreadable(&e[i], r));
        freeReplyObject(r);
    }
    return refused;
}

enum status redis_circuits_list(struct redis_conn *c, const struct redis_circuits_query *q,
                                json_t **rows, char **next, struct error *err)
{
    enum status rc = STATUS_OK;
    const char *prefix = q->prefix != NULL && *q->prefix != '\0' ? q->prefix : "circuit_breakers";
    struct circuits_entry pos = {NULL, 0, 0}, *e = NULL;
    bool after = q->after != NULL && *q->after != '\0';
    char *after_name = NULL;
    int want = CIRCUITS_RANK_OTHER;
    redisReply *members = NULL;
    char *index = NULL;
    json_t *out = json_array();
    size_t n = 0;

    *rows = NULL;
    *next = NULL;
    if (q->limit < 1 || q->limit > CIRCUITS_MAX_LIMIT) {
        rc = error_set(err, STATUS_USAGE, "--limit: expected 1 to %d, got %zu", CIRCUITS_MAX_LIMIT,
                       q->limit);
        goto out;
    }
    if (q->state != NULL) {
        for (want = 0; want < CIRCUITS_RANK_OTHER; want++)
            if (strcmp(q->state, circuits_states[want]) == 0)
                break;
        if (want == CIRCUITS_RANK_OTHER) {
            rc = error_set(err, STATUS_USAGE,
                           "--state: expected open, half_open or closed; got '%s'", q->state);
            goto out;
        }
    }
    if (after && (after_name = circuits_cursor_parse(q->after, q->by_name, &pos)) == NULL) {
        rc = error_set(err, STATUS_USAGE,
                       "--after: not a cursor that circuits list printed for the %s order",
                       q->by_name ? "name" : "state");
        goto out;
    }

    /* The registry has no order: its names are read and sorted here. Only
     * names and ranks are kept for every breaker; rows are built for the
     * page alone. */
    index = xasprintf("%s:index", prefix);
    const char *argv[] = {"SMEMBERS", index};
    members = redis_conn_command(c, 2, argv, NULL, err);
    if (members == NULL) {
        rc = err->status;
        goto out;
    }
    if (members->type != REDIS_REPLY_ARRAY) {
        rc = error_set(err, STATUS_UNAVAILABLE, "redis at %s: unexpected reply to SMEMBERS",
                       redis_conn_endpoint(c));
        goto out;
    }
    e = xcalloc(members->elements + 1, sizeof(*e));
    for (size_t i = 0; i < members->elements; i++) {
        const redisReply *m = members->element[i];
        if (m->type == REDIS_REPLY_STRING)
            e[n++] = (struct circuits_entry){m->str, m->len, CIRCUITS_RANK_OTHER};
    }
    if (!q->by_name || q->state != NULL) {
        if ((rc = circuits_rank_all(c, prefix, e, n, err)) != STATUS_OK)
            goto out;
    }
    if (q->state != NULL) {
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
            if (e[i].rank == want)
                e[kept++] = e[i];
        n = kept;
    }
    qsort(e, n, sizeof(*e), q->by_name ? circuits_cmp_name : circuits_cmp_state);

    /* The page starts after the cursor's row, whether or not that breaker
     * is still there. */
    size_t start = 0;
    if (after) {
        size_t hi = n;
        while (start < hi) {
            size_t mid = start + (hi - start) / 2;
            if (circuits_cmp(&e[mid], &pos, q->by_name) <= 0)
                start = mid + 1;
            else
                hi = mid;
        }
    }
    size_t count = n - start < q->limit ? n - start : q->limit;
    if ((rc = circuits_page(c, prefix, e + start, count, out, err)) != STATUS_OK)
        goto out;
    if (start + count < n)
        *next = circuits_cursor(&e[start + count - 1], q->by_name);
out:
    if (rc == STATUS_OK)
        *rows = out;
    else
        json_decref(out);
    free(e);
    if (members != NULL)
        freeReplyObject(members);
    free(index);
    free(after_name);
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
