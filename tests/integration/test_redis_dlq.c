/* The DLQ and circuit-breaker read side against a real Redis: events as
 * seed 004's Python writes them and in the clean form, every kind of
 * malformed entry, keyset paging across ties with at most two round trips,
 * server-side filters that fill pages, script cache loss, stats, and
 * circuits paged in the state and the name order. Run through
 * tests/cli/redis_dlq.sh, which provides the server. */
#include <config.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "backends/redis_circuits.h"
#include "backends/redis_dlq.h"
#include "backends/redis_internal.h"
#include "backends/redis_overview.h"
#include "tests/common/testutil.h"
#include "util/xmalloc.h"

/* 2026-11-23 17:52:16 UTC: seed 004's example time. */
#define T0 1795456336LL

static struct redis_conn *conn;

/* ---- Redis helpers ------------------------------------------------------ */

static redisReply *cmdv(int argc, const char **argv, const size_t *lens)
{
    struct error err;
    redisReply *r = redis_conn_command(conn, argc, argv, lens, &err);
    if (r == NULL)
        fail_msg("redis %s: %s", argv[0], err.msg);
    return r;
}

/* Runs a command of NUL-terminated words (ended by NULL) and frees the reply. */
static void cmd(const char *first, ...)
{
    const char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 32; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    freeReplyObject(cmdv(argc, argv, NULL));
}

static int pipe_pending;

static void pipe_add(int argc, const char **argv, const size_t *lens)
{
    struct error err;
    if (redis_conn_append(conn, argc, argv, lens, &err) != STATUS_OK)
        fail_msg("append %s: %s", argv[0], err.msg);
    pipe_pending++;
}

static void pipe_flush(void)
{
    struct error err;
    for (; pipe_pending > 0; pipe_pending--) {
        redisReply *r = redis_conn_reply(conn, &err);
        if (r == NULL)
            fail_msg("reply: %s", err.msg);
        if (r->type == REDIS_REPLY_ERROR)
            fail_msg("reply: %s", r->str);
        freeReplyObject(r);
    }
}

/* Deletes every key of a test's prefix. */
static void cleanup(const char *prefix)
{
    char *match = xasprintf("%s:*", prefix);
    char cursor[32] = "0";
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", match, "COUNT", "1000"};
        redisReply *r = cmdv(6, argv, NULL);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const char *a[] = {"UNLINK", keys->element[i]->str};
            const size_t l[] = {6, keys->element[i]->len};
            pipe_add(2, a, l);
        }
        pipe_flush();
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    free(match);
}

/* Writes one event the way seed 004's send_to_dlq does: the hash (data,
 * created_at, status) with its 30-day expiry, and the index entry. A NULL
 * data leaves the hash out; a negative score leaves the index entry out. */
static void put_event(const char *prefix, const char *id, size_t idlen, double score,
                      const char *data, const char *created_at, const char *status)
{
    size_t plen = strlen(prefix);
    char *key = xmalloc(plen + 1 + idlen + 1);
    memcpy(key, prefix, plen);
    key[plen] = ':';
    memcpy(key + plen + 1, id, idlen);
    size_t klen = plen + 1 + idlen;
    char *index = xasprintf("%s:index", prefix);
    char sc[64];
    snprintf(sc, sizeof(sc), "%.6f", score);
    if (data != NULL) {
        const char *a[] = {"HSET", key, "data", data, "created_at", created_at, "status", status};
        size_t l[8];
        for (int i = 0; i < 8; i++)
            l[i] = i == 1 ? klen : strlen(a[i]);
        pipe_add(8, a, l);
        const char *e[] = {"EXPIRE", key, "2592000"};
        const size_t el[] = {6, klen, 7};
        pipe_add(3, e, el);
    }
    if (score >= 0) {
        const char *z[] = {"ZADD", index, sc, id};
        const size_t zl[] = {4, strlen(index), strlen(sc), idlen};
        pipe_add(4, z, zl);
    }
    free(index);
    free(key);
}

/* json.dumps(asdict(FailedEvent(...)), default=str) as seed 004 writes it:
 * the reason's enum repr, str(datetime) times, stack_trace null. */
static char *seed_data(const char *id, const char *reason_repr, const char *msg, int retries,
                       const char *when, const char *source, const char *target, const char *queue,
                       const char *context)
{
    return xasprintf("{\"event_id\": \"%s\", \"original_event\": {\"event_id\": \"%s\", "
                     "\"type\": \"order.created\", \"payload\": {\"amount\": 19.99, "
                     "\"note\": \"caf\\u00e9\"}}, \"failure_reason\": \"%s\", "
                     "\"error_message\": \"%s\", \"retry_count\": %d, "
                     "\"first_failure_time\": \"%s\", \"last_failure_time\": \"%s\", "
                     "\"source_service\": \"%s\", \"target_service\": \"%s\", "
                     "\"original_queue\": \"%s\", \"stack_trace\": null, \"context\": %s}",
                     id, id, reason_repr, msg, retries, when, when, source, target, queue, context);
}

/* ---- JSON helpers --------------------------------------------------------- */

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void assert_jstr(json_t *o, const char *k, const char *want)
{
    const char *got = jstr(o, k);
    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("%s: expected \"%s\", got %s", k, want, got != NULL ? got : "(not a string)");
}

static void assert_jnull(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (v == NULL || !json_is_null(v))
        fail_msg("%s: expected null", k);
}

/* Output must be valid JSON however bad the input: dump and read back. */
static void assert_valid_json(json_t *j)
{
    char *s = json_dumps(j, JSON_ENCODE_ANY);
    assert_non_null(s);
    json_error_t je;
    json_t *back = json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    assert_non_null(back);
    assert_true(json_equal(j, back));
    json_decref(back);
    free(s);
}

static json_t *find_row(json_t *rows, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        const char *e = jstr(r, "event_id");
        if (e != NULL && strcmp(e, id) == 0)
            return r;
    }
    return NULL;
}

static json_t *list(const struct redis_dlq_query *q, char **next, int *trips)
{
    json_t *rows = NULL;
    struct error err;
    enum status st = redis_dlq_list(conn, q, &rows, next, trips, &err);
    if (st != STATUS_OK)
        fail_msg("redis_dlq_list: %s", err.msg);
    assert_non_null(rows);
    return rows;
}

static json_t *show(const char *prefix, const char *id)
{
    json_t *row = NULL;
    struct error err;
    if (redis_dlq_show(conn, prefix, id, &row, &err) != STATUS_OK)
        fail_msg("redis_dlq_show %s: %s", id, err.msg);
    assert_valid_json(row);
    return row;
}

/* ---- reference order ----------------------------------------------------- */

struct entry {
    char *member;
    size_t len;
    double score;
};

/* The whole index newest first, as ZREVRANGE orders it (score, then
 * member, both descending): what paging must reproduce. */
static struct entry *index_order(const char *prefix, size_t *n)
{
    char *index = xasprintf("%s:index", prefix);
    const char *argv[] = {"ZREVRANGE", index, "0", "-1", "WITHSCORES"};
    redisReply *r = cmdv(5, argv, NULL);
    *n = r->elements / 2;
    struct entry *e = xcalloc(*n + 1, sizeof(*e));
    for (size_t i = 0; i < *n; i++) {
        e[i].len = r->element[2 * i]->len;
        e[i].member = xmalloc(e[i].len + 1);
        memcpy(e[i].member, r->element[2 * i]->str, e[i].len + 1);
        e[i].score = strtod(r->element[2 * i + 1]->str, NULL);
    }
    freeReplyObject(r);
    free(index);
    return e;
}

static void entries_free(struct entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].member);
    free(e);
}

static bool row_is(json_t *row, const struct entry *e)
{
    json_t *id = json_object_get(row, "event_id");
    return json_is_string(id) && json_string_length(id) == e->len &&
           memcmp(json_string_value(id), e->member, e->len) == 0;
}

/* Walks every page of q; checks the rows are exactly want[0..nwant) in
 * order, each page but the last is full, and no page took more than
 * max_trips round trips (0: no bound). Returns the pages walked. */
static int walk(struct redis_dlq_query *q, const struct entry *want, size_t nwant, int max_trips,
                int *total_trips)
{
    size_t at = 0;
    int pages = 0;
    char *cursor = NULL;
    *total_trips = 0;
    for (;;) {
        char *next = NULL;
        int trips = -1;
        q->after = cursor;
        json_t *rows = list(q, &next, &trips);
        pages++;
        *total_trips += trips;
        if (max_trips > 0 && trips > max_trips)
            fail_msg("page %d took %d round trips", pages, trips);
        size_t n = json_array_size(rows);
        if (next != NULL && n != q->limit)
            fail_msg("page %d has %zu rows of %zu while more follow", pages, n, q->limit);
        for (size_t i = 0; i < n; i++) {
            if (at >= nwant)
                fail_msg("page %d: row beyond the %zu expected", pages, nwant);
            if (!row_is(json_array_get(rows, i), &want[at]))
                fail_msg("page %d row %zu: expected %s, got %s", pages, i, want[at].member,
                         jstr(json_array_get(rows, i), "event_id"));
            at++;
        }
        assert_valid_json(rows);
        json_decref(rows);
        free(cursor);
        cursor = next;
        if (cursor == NULL)
            break;
        if (pages > 100000)
            fail_msg("paging does not end");
    }
    q->after = NULL;
    if (at != nwant)
        fail_msg("walk returned %zu rows, expected %zu", at, nwant);
    return pages;
}

/* INFO commandstats calls of one command since the last CONFIG RESETSTAT. */
static long command_calls(const char *name)
{
    const char *argv[] = {"INFO", "commandstats"};
    redisReply *r = cmdv(2, argv, NULL);
    char *pat = xasprintf("cmdstat_%s:calls=", name);
    const char *p = strstr(r->str, pat);
    long calls = p != NULL ? strtol(p + strlen(pat), NULL, 10) : 0;
    free(pat);
    freeReplyObject(r);
    return calls;
}

static json_t *circuits(const struct redis_circuits_query *q, char **next)
{
    json_t *rows = NULL;
    struct error err;
    *next = NULL;
    if (redis_circuits_list(conn, q, &rows, next, &err) != STATUS_OK)
        fail_msg("redis_circuits_list: %s", err.msg);
    assert_non_null(rows);
    return rows;
}

/* The rows' names, space-separated (a static buffer). */
static const char *circuit_names(json_t *rows)
{
    static char out[512];
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(rows); i++)
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i > 0 ? " " : "",
                 jstr(json_array_get(rows, i), "name"));
    return out;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_seed_and_clean_forms(void **state)
{
    (void)state;
    const char *p = "t1dlq";
    cleanup(p);
    char *seed =
        seed_data("evt-seed", "DLQReason.VALIDATION_FAILED", "schema \\\"mismatch\\\"", 3,
                  "2026-11-23 17:52:16.961247", "orders", "billing", "orders.events", "{}");
    put_event(p, "evt-seed", 8, (double)T0 + 0.961247, seed, "2026-11-17T00:36:49.039618",
              "pending_review");
    const char *clean =
        "{\"event_id\": \"evt-clean\", \"original_event\": {\"id\": 7}, "
        "\"failure_reason\": \"processing_timeout\", \"error_message\": \"took too long\", "
        "\"retry_count\": 5, \"first_failure_time\": \"2026-11-23T17:50:00Z\", "
        "\"last_failure_time\": \"2026-11-23T17:52:26+01:00\", \"source_service\": \"ledger\", "
        "\"target_service\": \"payments\", \"original_queue\": \"ledger.q\", "
        "\"stack_trace\": \"Traceback (most recent call last)\", "
        "\"context\": {\"trace_id\": \"tr-1\", \"attempts\": [1, 2], \"meta\": {\"k\": \"v\"}}, "
        "\"tenant\": \"acme\"}";
    put_event(p, "evt-clean", 9, (double)T0 + 10, clean, "2026-11-23T17:52:26Z", "retried");
    char *odd = seed_data("evt-odd", "Weird Value", "x", 0, "2026-11-23 17:52:36", "a", "b", "c",
                          "{\"nested\": {\"deep\": [true, null]}}");
    put_event(p, "evt-odd", 7, (double)T0 + 20, odd, "2026-11-23T17:52:36", "resolved");
    pipe_flush();
    {
        const char *a[] = {
            "HSET",   "t1dlq:evt-clean", "retried_at", "2026-11-23T18:00:00.5", "retried_by",
            "alice",  "replay_count",    "2",          "retry_error",           "boom",
            "status", "retried"};
        freeReplyObject(cmdv(12, a, NULL));
        cmd("HSET", "t1dlq:evt-odd", "resolved_at", "2026-11-24T08:00:00", "resolution_note",
            "fixed upstream", "failure_reason", "collides", NULL);
    }

    struct redis_dlq_query q = {.prefix = p, .limit = 10};
    char *next = NULL;
    int trips = 0;
    json_t *rows = list(&q, &next, &trips);
    assert_int_equal(json_array_size(rows), 3);
    assert_null(next);
    assert_true(trips <= 2);
    assert_valid_json(rows);
    assert_jstr(json_array_get(rows, 0), "event_id", "evt-odd");
    assert_jstr(json_array_get(rows, 1), "event_id", "evt-clean");
    assert_jstr(json_array_get(rows, 2), "event_id", "evt-seed");

    json_t *s = json_array_get(rows, 2);
    assert_jstr(s, "status", "pending_review");
    assert_jstr(s, "failed_at", "2026-11-23T17:52:16.961247Z");
    assert_jstr(s, "created_at", "2026-11-17T00:36:49.039618Z");
    assert_jstr(s, "failure_reason", "validation_failed");
    assert_jstr(s, "error_message", "schema \"mismatch\"");
    assert_int_equal(json_integer_value(json_object_get(s, "retry_count")), 3);
    assert_jstr(s, "first_failure_time", "2026-11-23T17:52:16.961247Z");
    assert_jstr(s, "last_failure_time", "2026-11-23T17:52:16.961247Z");
    assert_jstr(s, "source_service", "orders");
    assert_jstr(s, "target_service", "billing");
    assert_jstr(s, "original_queue", "orders.events");
    assert_jnull(s, "malformed");
    assert_jnull(s, "retried_at");
    assert_null(json_object_get(s, "data_raw"));
    assert_null(json_object_get(s, "original_event"));
    assert_null(json_object_get(s, "invalid_utf8"));

    json_t *c = json_array_get(rows, 1);
    assert_jstr(c, "status", "retried");
    assert_jstr(c, "failure_reason", "processing_timeout");
    assert_jstr(c, "first_failure_time", "2026-11-23T17:50:00Z");
    assert_jstr(c, "last_failure_time", "2026-11-23T16:52:26Z");
    assert_jstr(c, "retried_at", "2026-11-23T18:00:00.500000Z");
    assert_jstr(c, "retried_by", "alice");
    assert_int_equal(json_integer_value(json_object_get(c, "replay_count")), 2);

    json_t *o = json_array_get(rows, 0);
    assert_jstr(o, "failure_reason", "Weird Value");
    assert_jstr(o, "status", "resolved");
    assert_jstr(o, "resolved_at", "2026-11-24T08:00:00Z");
    assert_jstr(o, "first_failure_time", "2026-11-23T17:52:36Z");
    json_decref(rows);

    json_t *d = show(p, "evt-clean");
    assert_jstr(d, "stack_trace", "Traceback (most recent call last)");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(d, "original_event"), "id")), 7);
    json_error_t je;
    json_t *ctx = json_loads("{\"trace_id\": \"tr-1\", \"attempts\": [1, 2], \"meta\": {\"k\": "
                             "\"v\"}}",
                             0, &je);
    assert_true(json_equal(json_object_get(d, "context"), ctx));
    json_decref(ctx);
    assert_jstr(d, "retry_error", "boom");
    assert_true(json_is_true(json_object_get(d, "in_index")));
    assert_jstr(json_object_get(d, "data_extra"), "tenant", "acme");
    json_decref(d);

    d = show(p, "evt-seed");
    assert_jnull(d, "stack_trace");
    assert_true(json_is_object(json_object_get(d, "context")));
    assert_int_equal(json_object_size(json_object_get(d, "context")), 0);
    assert_jstr(json_object_get(json_object_get(d, "original_event"), "payload"), "note",
                "caf\xc3\xa9");
    json_decref(d);

    /* A hash field named like a row field does not hide the row's. */
    d = show(p, "evt-odd");
    assert_jstr(d, "failure_reason", "Weird Value");
    assert_jstr(json_object_get(d, "other_fields"), "failure_reason", "collides");
    assert_jstr(d, "resolution_note", "fixed upstream");
    json_decref(d);

    free(seed);
    free(odd);
    cleanup(p);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *p = "t2dlq";
    cleanup(p);
    const char *now = "2026-11-23T17:52:16";
    double t = (double)T0;
    put_event(p, "m-badjson", 9, t + 1, "{\"event_id\": \"m-badjson\", oops", now,
              "pending_review");
    put_event(p, "m-array", 7, t + 2, "[1, 2, 3]", now, "pending_review");
    put_event(p, "m-missing", 9, t + 3, "{\"event_id\": \"m-missing\", \"error_message\": \"x\"}",
              now, "pending_review");
    char *utf = seed_data("m-utf8", "DLQReason.UNKNOWN_EVENT_TYPE", "bad \xff\xfe bytes", 1,
                          "2026-11-23 17:52:20.5", "caf\xc3\xa9", "t", "q", "{}");
    put_event(p, "m-utf8", 6, t + 4, utf, now, "pending_review");
    put_event(p, "m-\xff-id", 6, t + 5, "{}", now, "pending_review");
    put_event(p, "m-expired", 9, t + 6, NULL, NULL, NULL);
    put_event(p, "m-orphan", 8, -1, "{\"event_id\": \"m-orphan\"}", now, "resolved");
    char *big = xmalloc(10001);
    memset(big, 'x', 10000);
    big[0] = '{';
    big[10000] = '\0';
    put_event(p, "m-big", 5, t + 7, big, now, "pending_review");
    char *badtime = seed_data("m-badtime", "DLQReason.INFRASTRUCTURE_ERROR", "down", 2, "yesterday",
                              "s", "t", "q", "{}");
    put_event(p, "m-badtime", 9, t + 8, badtime, "not a time", "pending_review");
    put_event(p, "m-wrongtype", 11, t + 9, NULL, NULL, NULL);
    /* Python writes integers of any size. */
    char *huge = seed_data("m-huge", "DLQReason.MAX_RETRIES_EXCEEDED", "big", 1, "2026-11-23", "s",
                           "t", "q", "{\"n\": 123456789012345678901234567890}");
    put_event(p, "m-huge", 6, t + 10, huge, now, "pending_review");
    pipe_flush();
    cmd("SET", "t2dlq:m-wrongtype", "a string", NULL);
    cmd("HSET", "t2dlq:m-nodata", "status", "pending_review", NULL);
    cmd("ZADD", "t2dlq:index", "1795456346", "m-nodata", NULL);

    struct redis_dlq_query q = {.prefix = p, .limit = 100};
    char *next = NULL;
    int trips = 0;
    json_t *rows = list(&q, &next, &trips), *r;
    assert_valid_json(rows);
    assert_int_equal(json_array_size(rows), 11);
    assert_null(next);
    assert_true(trips <= 2);
    assert_null(find_row(rows, "m-orphan"));
    r = find_row(rows, "m-huge");
    assert_jnull(r, "malformed");
    assert_jstr(r, "failure_reason", "max_retries_exceeded");
    assert_jstr(r, "first_failure_time", "2026-11-23T00:00:00Z");

    r = find_row(rows, "m-badjson");
    assert_non_null(r);
    assert_true(strncmp(jstr(r, "malformed"), "bad JSON at byte ", 17) == 0);
    assert_jstr(r, "data_raw", "{\"event_id\": \"m-badjson\", oops");
    assert_jstr(r, "status", "pending_review");

    r = find_row(rows, "m-array");
    assert_jstr(r, "malformed", "data is not a JSON object");
    assert_jstr(r, "data_raw", "[1, 2, 3]");

    r = find_row(rows, "m-missing");
    assert_non_null(strstr(jstr(r, "malformed"), "missing "));
    assert_non_null(strstr(jstr(r, "malformed"), "failure_reason"));
    assert_null(strstr(jstr(r, "malformed"), "error_message"));
    assert_jstr(r, "error_message", "x");
    assert_non_null(jstr(r, "data_raw"));

    r = find_row(rows, "m-nodata");
    assert_jstr(r, "malformed", "missing data");

    r = find_row(rows, "m-utf8");
    assert_true(json_is_true(json_object_get(r, "invalid_utf8")));
    assert_jstr(r, "error_message", "bad \\xff\\xfe bytes");
    assert_jstr(r, "source_service", "caf\xc3\xa9");
    assert_jstr(r, "failure_reason", "unknown_event_type");
    assert_jstr(r, "first_failure_time", "2026-11-23T17:52:20.500000Z");
    assert_jnull(r, "malformed");

    r = find_row(rows, "m-\\xff-id");
    assert_non_null(r);
    assert_true(json_is_true(json_object_get(r, "invalid_utf8")));
    assert_non_null(strstr(jstr(r, "malformed"), "missing event_id"));

    r = find_row(rows, "m-expired");
    assert_jstr(r, "status", "expired");
    assert_jnull(r, "malformed");
    assert_jstr(r, "failed_at", "2026-11-23T17:52:22Z");

    r = find_row(rows, "m-big");
    assert_true(strncmp(jstr(r, "malformed"), "bad JSON", 8) == 0);
    assert_int_equal(strlen(jstr(r, "data_raw")), 4096);
    assert_int_equal(json_integer_value(json_object_get(r, "data_raw_bytes")), 10000);

    r = find_row(rows, "m-badtime");
    assert_jnull(r, "first_failure_time");
    assert_jstr(r, "first_failure_time_raw", "yesterday");
    assert_jnull(r, "created_at");
    assert_jstr(r, "created_at_raw", "not a time");
    assert_jnull(r, "malformed");

    r = find_row(rows, "m-wrongtype");
    assert_true(strncmp(jstr(r, "malformed"), "hash unreadable: WRONGTYPE", 26) == 0);
    json_decref(rows);

    /* show: the whole raw data, the orphan hash, the expired entry. */
    json_t *d = show(p, "m-big");
    assert_int_equal(strlen(jstr(d, "data_raw")), 10000);
    json_decref(d);
    d = show(p, "m-orphan");
    assert_false(json_is_true(json_object_get(d, "in_index")));
    assert_jnull(d, "failed_at");
    assert_jstr(d, "status", "resolved");
    json_decref(d);
    d = show(p, "m-expired");
    assert_jstr(d, "status", "expired");
    assert_true(json_is_true(json_object_get(d, "in_index")));
    json_decref(d);
    d = show(p, "m-\xff-id");
    assert_jstr(d, "event_id", "m-\\xff-id");
    json_decref(d);
    json_t *none = NULL;
    struct error err;
    assert_int_equal(redis_dlq_show(conn, p, "no-such", &none, &err), STATUS_NOT_FOUND);
    assert_null(none);

    /* The filter scan reads the same entries. */
    q.status = "expired";
    rows = list(&q, &next, &trips);
    assert_int_equal(json_array_size(rows), 1);
    assert_jstr(json_array_get(rows, 0), "event_id", "m-expired");
    json_decref(rows);
    q.status = NULL;
    q.search = "OOPS";
    rows = list(&q, &next, &trips);
    assert_int_equal(json_array_size(rows), 1);
    assert_jstr(json_array_get(rows, 0), "event_id", "m-badjson");
    assert_valid_json(rows);
    json_decref(rows);
    q.search = NULL;
    q.reason = "unknown_event_type";
    rows = list(&q, &next, &trips);
    assert_int_equal(json_array_size(rows), 1);
    assert_jstr(json_array_get(rows, 0), "event_id", "m-utf8");
    json_decref(rows);
    q.reason = NULL;
    q.status = "pending_review";
    rows = list(&q, &next, &trips);
    assert_int_equal(json_array_size(rows), 9);
    assert_null(find_row(rows, "m-wrongtype"));
    json_decref(rows);

    free(huge);
    free(utf);
    free(big);
    free(badtime);
    cleanup(p);
}

/* Members in groups of equal scores (one of 60), some with bytes a cursor
 * must carry safely (':', NUL, UTF-8). */
static void put_ties(const char *p, int n)
{
    for (int i = 0; i < n; i++) {
        char id[32];
        int len = snprintf(id, sizeof(id), "p-%03d", (i * 37) % n);
        if (i % 50 == 3)
            len = snprintf(id, sizeof(id), "p:%03d:\xc3\xbc", i);
        if (i % 50 == 4) {
            len = snprintf(id, sizeof(id), "p-%03dx", i);
            id[1] = '\0';
        }
        double score = i < 60 ? (double)T0 + 1000 : (double)T0 + (double)(i / 7);
        char *data = xasprintf("{\"event_id\": \"p-%d\", \"original_event\": {}, "
                               "\"failure_reason\": \"validation_failed\", "
                               "\"error_message\": \"e\", \"retry_count\": 0, "
                               "\"first_failure_time\": \"2026-11-23T17:52:16Z\", "
                               "\"last_failure_time\": \"2026-11-23T17:52:16Z\", "
                               "\"source_service\": \"s\", \"target_service\": \"t\", "
                               "\"original_queue\": \"q\", \"stack_trace\": null, "
                               "\"context\": {}}",
                               i);
        put_event(p, id, (size_t)len, score, data, "2026-11-23T17:52:16", "pending_review");
        free(data);
    }
    pipe_flush();
}

static void test_paging_ties(void **state)
{
    (void)state;
    const char *p = "t3dlq";
    cleanup(p);
    put_ties(p, 300);
    size_t n;
    struct entry *ref = index_order(p, &n);
    assert_int_equal(n, 300);

    static const size_t limits[] = {1, 7, 10, 59, 61, 299, 1000};
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        struct redis_dlq_query q = {.prefix = p, .limit = limits[i]};
        int total;
        int pages = walk(&q, ref, n, 2, &total);
        assert_true(pages >= (int)((n + limits[i] - 1) / limits[i]));
    }

    /* The server's own count: one index read and one pipelined batch of
     * HGETALL per page, never one command round trip per event. */
    cmd("CONFIG", "RESETSTAT", NULL);
    struct redis_dlq_query q = {.prefix = p, .limit = 50};
    char *next = NULL;
    int trips = 0;
    json_t *rows = list(&q, &next, &trips);
    assert_int_equal(trips, 2);
    assert_int_equal(command_calls("zrevrangebyscore"), 1);
    assert_int_equal(command_calls("hgetall"), 50);
    json_decref(rows);
    free(next);

    /* since/until bound the walk (until is exclusive). */
    q.since_us = (T0 + 10) * 1000000;
    q.until_us = (T0 + 20) * 1000000;
    q.limit = 4;
    size_t lo = n, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (ref[i].score >= (double)T0 + 10 && ref[i].score < (double)T0 + 20) {
            lo = i < lo ? i : lo;
            hi = i + 1;
        }
    }
    int total;
    walk(&q, ref + lo, hi - lo, 2, &total);
    entries_free(ref, n);
    cleanup(p);
}

/* Strictly after (score, member) in the index's order. */
static bool after(const struct entry *e, double score, const char *m, size_t mlen)
{
    if (e->score != score)
        return e->score < score;
    int c = memcmp(e->member, m, e->len < mlen ? e->len : mlen);
    return c != 0 ? c < 0 : e->len < mlen;
}

/* Pages go on correctly when the tie group under the cursor changes
 * between pages: returned entries deleted (the cursor's own among them,
 * more than the cursor's tie hint allows for), or many entries added
 * before the cursor's member; and entries added after it are returned. */
static void test_paging_under_changes(void **state)
{
    (void)state;
    const char *p = "t3bdlq";
    for (int variant = 0; variant < 4; variant++) {
        bool filtered = variant % 2 == 1, inserts = variant >= 2;
        cleanup(p);
        put_ties(p, 300);
        size_t n;
        struct entry *ref = index_order(p, &n);

        /* The first page ends inside the group of 60 equal scores. */
        struct redis_dlq_query q = {
            .prefix = p, .limit = 40, .status = filtered ? "pending_review" : NULL};
        char *next = NULL;
        int trips;
        json_t *rows = list(&q, &next, &trips);
        assert_non_null(next);
        assert_int_equal(json_array_size(rows), 40);
        json_decref(rows);
        struct entry last = ref[39];
        last.member = xmalloc(last.len + 1);
        memcpy(last.member, ref[39].member, last.len + 1);

        char *index = xasprintf("%s:index", p);
        if (inserts) {
            for (int i = 0; i < 40; i++) {
                char id[16];
                snprintf(id, sizeof(id), "zzz-%02d", i);
                cmd("ZADD", index, "1795457336", id, NULL);
            }
        } else {
            for (size_t i = 20; i < 40; i++) {
                const char *a[] = {"ZREM", index, ref[i].member};
                const size_t l[] = {4, strlen(index), ref[i].len};
                freeReplyObject(cmdv(3, a, l));
            }
            cmd("ZADD", index, "1795457336", "zzz-before", NULL);
        }
        cmd("ZADD", index, "1795457336", "p-", NULL);
        entries_free(ref, n);
        ref = index_order(p, &n);
        size_t from = 0;
        while (from < n && !after(&ref[from], last.score, last.member, last.len))
            from++;
        assert_true(from < n && strcmp(ref[from].member, "p-") != 0);

        q.limit = 15;
        size_t at = from;
        char *cursor = next;
        for (int page = 0; cursor != NULL; page++) {
            q.after = cursor;
            char *nx = NULL;
            rows = list(&q, &nx, &trips);
            /* Deleted under the hint: one more index read, from lower in
             * the group. Added before the member: reads past them. */
            if (page == 0 && !filtered)
                assert_int_equal(trips, inserts ? 5 : 3);
            for (size_t i = 0; i < json_array_size(rows); i++, at++) {
                json_t *row = json_array_get(rows, i);
                /* p- has no hash: expired, skipped by the status filter. */
                while (filtered && at < n && strcmp(ref[at].member, "p-") == 0)
                    at++;
                assert_true(at < n);
                if (!row_is(row, &ref[at]))
                    fail_msg("after changes: expected %s, got %s", ref[at].member,
                             jstr(row, "event_id"));
            }
            json_decref(rows);
            free(cursor);
            cursor = nx;
        }
        assert_int_equal(at, n);
        free(index);
        free(last.member);
        entries_free(ref, n);
    }
    cleanup(p);
}

/* The event of the filter test: reasons in both spellings, sources,
 * targets, queues and statuses in cycles, and a few rare ones far apart. */
struct fev {
    char id[16];
    const char *reason;
    char source[16], target[16], queue[16], message[64];
    const char *status;
    char *data;
};

static const char *const reasons[] = {"max_retries_exceeded",    "validation_failed",
                                      "processing_timeout",      "unknown_event_type",
                                      "business_rule_violation", "infrastructure_error"};

#define NFEV 3000

static struct fev *put_filter_events(const char *p)
{
    struct fev *f = xcalloc(NFEV, sizeof(*f));
    for (int i = 0; i < NFEV; i++) {
        snprintf(f[i].id, sizeof(f[i].id), "f-%05d", i);
        f[i].reason = reasons[i % 6];
        snprintf(f[i].source, sizeof(f[i].source), "%s",
                 i == 5 || i == 2995 ? "svc-rare" : (i % 5 == 0 ? "svc-0" : "svc-2"));
        snprintf(f[i].target, sizeof(f[i].target), "tgt-%d", i % 3);
        snprintf(f[i].queue, sizeof(f[i].queue), "q-%d", i % 4);
        snprintf(f[i].message, sizeof(f[i].message),
                 i % 50 == 0 ? "Error %d: TimeOut talking to DB" : "failure %d", i);
        f[i].status = i % 10 == 0 ? "retried" : i % 10 == 1 ? "resolved" : "pending_review";
        char repr[64];
        snprintf(repr, sizeof(repr), "DLQReason.%s", reasons[i % 6]);
        for (char *c = repr + 10; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
        f[i].data =
            seed_data(f[i].id, i % 2 == 0 ? repr : reasons[i % 6], f[i].message, i % 4,
                      "2026-11-23 17:52:16.961247", f[i].source, f[i].target, f[i].queue, "{}");
        put_event(p, f[i].id, strlen(f[i].id), (double)T0 + (double)(i / 3), f[i].data,
                  "2026-11-23T17:52:16", f[i].status);
    }
    pipe_flush();
    return f;
}

static bool ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && (hay[i] | 32) == (needle[i] | 32))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

static bool fev_match(const struct fev *f, const struct redis_dlq_query *q)
{
    if (q->reason != NULL && strcmp(f->reason, q->reason) != 0 &&
        !(strncmp(q->reason, "DLQReason.", 10) == 0 && ci_contains(f->reason, q->reason + 10) &&
          strlen(f->reason) == strlen(q->reason + 10)))
        return false;
    if (q->source != NULL && strcmp(f->source, q->source) != 0)
        return false;
    if (q->target != NULL && strcmp(f->target, q->target) != 0)
        return false;
    if (q->queue != NULL && strcmp(f->queue, q->queue) != 0)
        return false;
    if (q->status != NULL && strcmp(f->status, q->status) != 0)
        return false;
    if (q->search != NULL && !ci_contains(f->id, q->search) && !ci_contains(f->data, q->search))
        return false;
    return true;
}

static void test_filters(void **state)
{
    (void)state;
    const char *p = "t4dlq";
    cleanup(p);
    struct fev *f = put_filter_events(p);
    size_t n;
    struct entry *ref = index_order(p, &n);
    assert_int_equal(n, NFEV);

    struct redis_dlq_query qs[] = {
        {.reason = "validation_failed"},
        {.reason = "DLQReason.PROCESSING_TIMEOUT"},
        {.source = "svc-2"},
        {.target = "tgt-1"},
        {.queue = "q-3"},
        {.status = "retried"},
        {.status = "pending_review", .target = "tgt-2"},
        {.search = "timeout"},
        {.search = "TIMEOUT TALKING"},
        {.reason = "infrastructure_error", .source = "svc-0", .queue = "q-3"},
        {.source = "svc-rare"},
        {.status = "resolved", .since_us = (T0 + 100) * 1000000, .until_us = (T0 + 400) * 1000000},
        {.source = "nobody"},
    };
    struct entry *want = xcalloc(n, sizeof(*want));
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
        struct redis_dlq_query *q = &qs[k];
        q->prefix = p;
        q->limit = q->source != NULL && strcmp(q->source, "svc-rare") == 0 ? 1 : 25;
        size_t nw = 0;
        for (size_t i = 0; i < n; i++) {
            int idx = atoi(ref[i].member + 2);
            if (q->since_us != 0 && ref[i].score < (double)(q->since_us / 1000000))
                continue;
            if (q->until_us != 0 && ref[i].score >= (double)(q->until_us / 1000000))
                continue;
            if (fev_match(&f[idx], q))
                want[nw++] = ref[i];
        }
        int total;
        int pages = walk(q, want, nw, 0, &total);
        if (q->limit == 1) {
            /* 2990 entries lie between the two rare events: the scan goes
             * on past its per-call budget to fill the page. */
            assert_int_equal(nw, 2);
            assert_true(total >= 3);
        } else {
            assert_true(nw > 0 || strcmp(q->source, "nobody") == 0);
            assert_true(pages >= (int)(nw / 25));
        }
    }
    free(want);
    entries_free(ref, n);
    for (int i = 0; i < NFEV; i++)
        free(f[i].data);
    free(f);
    cleanup(p);
}

static void test_noscript(void **state)
{
    (void)state;
    const char *p = "t5dlq";
    cleanup(p);
    put_ties(p, 30);
    cmd("SCRIPT", "FLUSH", NULL);
    struct redis_dlq_query q = {.prefix = p, .limit = 10, .status = "pending_review"};
    char *next = NULL;
    int trips = 0;
    json_t *rows = list(&q, &next, &trips);
    assert_int_equal(json_array_size(rows), 10);
    /* EVALSHA refused, SCRIPT LOAD, EVALSHA again. */
    assert_int_equal(trips, 3);
    json_decref(rows);
    q.after = next;
    char *next2 = NULL;
    rows = list(&q, &next2, &trips);
    assert_int_equal(json_array_size(rows), 10);
    assert_int_equal(trips, 1);
    json_decref(rows);
    free(next);
    free(next2);
    cleanup(p);
}

static void test_bad_cursor(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "garbage",  "abc:1:YQ",  "nan:1:YQ", "1.5:0:YQ", "1.5:x:YQ", "1.5:1:Y",
        "1.5:1:YR", "1.5:1:a$b", ":1:YQ",    "1.5::YQ",  "1 :1:YQ",  "1.5:1:YQ==",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct redis_dlq_query q = {.prefix = "t6dlq", .limit = 10, .after = bad[i]};
        json_t *rows = NULL;
        char *next = NULL;
        struct error err;
        if (redis_dlq_list(conn, &q, &rows, &next, NULL, &err) != STATUS_USAGE)
            fail_msg("cursor %s accepted", bad[i]);
        assert_string_equal(err.msg, "bad --after cursor");
        assert_null(rows);
        assert_null(next);
        q.status = "retried";
        assert_int_equal(redis_dlq_list(conn, &q, &rows, &next, NULL, &err), STATUS_USAGE);
    }
    struct redis_dlq_query q = {.prefix = "t6dlq", .limit = 0};
    json_t *rows = NULL;
    char *next = NULL;
    struct error err;
    assert_int_equal(redis_dlq_list(conn, &q, &rows, &next, NULL, &err), STATUS_USAGE);
    q.limit = 1001;
    assert_int_equal(redis_dlq_list(conn, &q, &rows, &next, NULL, &err), STATUS_USAGE);
    /* A well-formed cursor into an empty index is an empty last page. */
    q.limit = 5;
    q.after = "1795456336.5:1:YQ";
    int trips;
    rows = list(&q, &next, &trips);
    assert_int_equal(json_array_size(rows), 0);
    assert_null(next);
    json_decref(rows);
}

static void test_stats(void **state)
{
    (void)state;
    const char *p = "t7dlq";
    cleanup(p);
    json_t *s = NULL;
    struct error err;
    assert_int_equal(redis_dlq_stats(conn, p, &s, &err), STATUS_OK);
    assert_jnull(s, "total_failed_events");
    assert_int_equal(json_integer_value(json_object_get(s, "depth")), 0);
    assert_jnull(s, "by_status");
    assert_int_equal(json_object_size(json_object_get(s, "by_reason")), 0);
    json_decref(s);

    /* As seed 004's _update_dlq_stats writes them, plus another writer's
     * enum-repr key for the same reason. */
    const char *k = "t7dlq:stats";
    cmd("HINCRBY", k, "total_failed_events", "5", NULL);
    cmd("HINCRBY", k, "reason:validation_failed", "3", NULL);
    cmd("HINCRBY", k, "reason:DLQReason.VALIDATION_FAILED", "1", NULL);
    cmd("HINCRBY", k, "reason:processing_timeout", "1", NULL);
    cmd("HINCRBY", k, "source:orders", "4", NULL);
    cmd("HINCRBY", k, "source:billing", "1", NULL);
    cmd("HINCRBY", k, "target:billing", "5", NULL);
    cmd("HSET", k, "last_updated", "2026-11-23T17:52:16.961247", "reason:bogus", "many", NULL);
    cmd("ZADD", "t7dlq:index", "1", "a", "2", "b", "3", "c", "4", "d", NULL);
    assert_int_equal(redis_dlq_stats(conn, p, &s, &err), STATUS_OK);
    assert_valid_json(s);
    assert_int_equal(json_integer_value(json_object_get(s, "total_failed_events")), 5);
    assert_int_equal(json_integer_value(json_object_get(s, "depth")), 4);
    json_t *br = json_object_get(s, "by_reason");
    assert_int_equal(json_integer_value(json_object_get(br, "validation_failed")), 4);
    assert_int_equal(json_integer_value(json_object_get(br, "processing_timeout")), 1);
    assert_null(json_object_get(br, "DLQReason.VALIDATION_FAILED"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "by_source"), "orders")),
                     4);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(s, "by_target"), "billing")), 5);
    assert_jstr(s, "last_updated", "2026-11-23T17:52:16.961247Z");
    assert_jnull(s, "by_status");
    assert_jstr(json_object_get(s, "unparsed"), "reason:bogus", "many");
    json_decref(s);

    /* Status counters, as opsdeck's actions keep them. */
    cmd("HSET", k, "status:retried", "1", "status:resolved", "1", NULL);
    assert_int_equal(redis_dlq_stats(conn, p, &s, &err), STATUS_OK);
    json_t *bs = json_object_get(s, "by_status");
    assert_int_equal(json_integer_value(json_object_get(bs, "retried")), 1);
    assert_int_equal(json_integer_value(json_object_get(bs, "resolved")), 1);
    assert_int_equal(json_integer_value(json_object_get(bs, "pending_review")), 2);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(s, "by_status_derived"), 0)),
        "pending_review");
    json_decref(s);
    cleanup(p);
}

static void test_circuits(void **state)
{
    (void)state;
    const char *p = "t8cb";
    cleanup(p);
    cmd("SADD", "t8cb:index", "payments", "search", "ledger", "ghost", NULL);
    cmd("HSET", "t8cb:payments", "name", "payments", "state", "closed", "failure_count", "1",
        "success_count", "0", "call_count", "8", "total_failures", "2", "last_failure_time",
        "2026-11-23T17:52:16.961247", "last_success_time", "None", "failure_rate", "0.25", "config",
        "{\"failure_threshold\": 5, \"recovery_timeout\": 60, \"success_threshold\": 3, "
        "\"timeout\": 30.0}",
        "updated_at", "2026-11-23T17:52:17", NULL);
    cmd("HSET", "t8cb:search", "state", "CircuitBreakerState.OPEN", "failure_count", "lots",
        "config", "{oops", NULL);
    cmd("HSET", "t8cb:ledger", "state", "closed", "forced_state", "open", "forced_by", "alice",
        "forced_at", "2026-11-23T10:03:00", "forced_reason", "maintenance", NULL);
    cmd("HSET", "t8cb:orphan", "state", "half_open", NULL);

    json_t *rows = NULL;
    struct error err;
    char *next = NULL;
    struct redis_circuits_query q = {.prefix = p, .limit = 1000};
    rows = circuits(&q, &next);
    assert_null(next);
    assert_valid_json(rows);
    /* Open ones first (a forced state and an enum repr count), then closed,
     * then the breaker without a hash. */
    assert_string_equal(circuit_names(rows), "ledger search payments ghost");
    json_t *l = json_array_get(rows, 0), *s = json_array_get(rows, 1);
    json_t *pay = json_array_get(rows, 2), *g = json_array_get(rows, 3);
    assert_jstr(g, "name", "ghost");
    assert_true(json_is_true(json_object_get(g, "missing")));
    assert_jnull(g, "state");

    assert_jstr(l, "name", "ledger");
    assert_jstr(l, "state", "open");
    assert_jstr(l, "raw_state", "closed");
    assert_true(json_is_true(json_object_get(l, "forced")));
    assert_jstr(l, "forced_by", "alice");
    assert_jstr(l, "forced_at", "2026-11-23T10:03:00Z");
    assert_jstr(l, "forced_reason", "maintenance");

    assert_jstr(pay, "state", "closed");
    assert_false(json_is_true(json_object_get(pay, "forced")));
    assert_false(json_is_true(json_object_get(pay, "missing")));
    assert_int_equal(json_integer_value(json_object_get(pay, "call_count")), 8);
    assert_true(json_real_value(json_object_get(pay, "failure_rate")) == 0.25);
    assert_jstr(pay, "last_failure_time", "2026-11-23T17:52:16.961247Z");
    assert_jnull(pay, "last_success_time");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(pay, "config"), "failure_threshold")),
        5);
    assert_jnull(pay, "malformed");

    assert_jstr(s, "state", "open");
    assert_jstr(s, "raw_state", "CircuitBreakerState.OPEN");
    assert_jnull(s, "config");
    assert_jstr(s, "config_raw", "{oops");
    assert_true(strncmp(jstr(s, "malformed"), "bad config JSON at byte", 23) == 0);
    assert_jnull(s, "failure_count");
    assert_jstr(s, "failure_count_raw", "lots");
    json_decref(rows);
    q.by_name = true;
    rows = circuits(&q, &next);
    assert_null(next);
    assert_string_equal(circuit_names(rows), "ghost ledger payments search");
    json_decref(rows);
    q.by_name = false;

    json_t *d = NULL;
    assert_int_equal(redis_circuits_show(conn, p, "ledger", &d, &err), STATUS_OK);
    assert_true(json_is_true(json_object_get(d, "registered")));
    assert_jstr(d, "state", "open");
    json_decref(d);
    assert_int_equal(redis_circuits_show(conn, p, "payments", &d, &err), STATUS_OK);
    assert_jstr(json_object_get(d, "other_fields"), "name", "payments");
    json_decref(d);
    assert_int_equal(redis_circuits_show(conn, p, "orphan", &d, &err), STATUS_OK);
    assert_false(json_is_true(json_object_get(d, "registered")));
    assert_jstr(d, "state", "half_open");
    json_decref(d);
    d = NULL;
    assert_int_equal(redis_circuits_show(conn, p, "ghost", &d, &err), STATUS_NOT_FOUND);
    assert_null(d);

    /* An empty registry is an empty list. */
    cleanup(p);
    rows = circuits(&q, &next);
    assert_int_equal(json_array_size(rows), 0);
    assert_null(next);
    json_decref(rows);
}

/* Pages of limit names joined: "a b c | d e f | g". Checks that every page
 * but the last has a cursor. */
static char *circuit_walk(struct redis_circuits_query *q)
{
    static char out[1024];
    char *cursor = NULL;
    out[0] = '\0';
    for (int page = 0;; page++) {
        char *next = NULL;
        q->after = cursor;
        json_t *rows = circuits(q, &next);
        assert_true(json_array_size(rows) <= q->limit);
        if (next != NULL)
            assert_int_equal(json_array_size(rows), q->limit);
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", page > 0 ? " | " : "",
                 circuit_names(rows));
        json_decref(rows);
        free(cursor);
        cursor = next;
        if (cursor == NULL)
            break;
        if (page > 100)
            fail_msg("circuit paging does not end");
    }
    q->after = NULL;
    return out;
}

/* One rule for the effective state: a breaker forced open with no state
 * of its own is open for the Overview's count and for the list's
 * state=open filter alike, so the alert's Enter lists what it counted. */
static void test_circuits_effective(void **state)
{
    (void)state;
    const char *p = "t10cb";
    cleanup(p);
    cmd("SADD", "t10cb:index", "forced-only", "plain", NULL);
    cmd("HSET", "t10cb:forced-only", "forced_state", "open", NULL);
    cmd("HSET", "t10cb:plain", "state", "closed", NULL);

    struct redis_overview ov;
    struct error err;
    assert_int_equal(redis_overview_get(conn, "t10dlq", p, 0, &ov, &err), STATUS_OK);
    assert_int_equal(ov.circuits_open, 1);
    assert_int_equal(ov.circuits_forced, 1);
    assert_int_equal(ov.circuits_closed, 1);
    assert_int_equal(ov.circuits_unknown, 0);
    redis_overview_done(&ov);

    char *next = NULL;
    struct redis_circuits_query q = {.prefix = p, .state = "open", .limit = 10};
    json_t *rows = circuits(&q, &next);
    assert_null(next);
    assert_string_equal(circuit_names(rows), "forced-only");
    assert_jstr(json_array_get(rows, 0), "state", "open");
    json_decref(rows);
    cleanup(p);
}

static void test_circuits_paging(void **state)
{
    (void)state;
    const char *p = "t9cb";
    cleanup(p);
    cmd("SADD", "t9cb:index", "a-closed", "b-open", "c-half", "d-forced", "e-py", "f-weird",
        "g-string", NULL);
    cmd("HSET", "t9cb:a-closed", "state", "closed", "failure_count", "0", NULL);
    cmd("HSET", "t9cb:b-open", "state", "open", "failure_count", "9", NULL);
    cmd("HSET", "t9cb:c-half", "state", "half_open", NULL);
    cmd("HSET", "t9cb:d-forced", "state", "closed", "forced_state", "open", NULL);
    cmd("HSET", "t9cb:e-py", "state", "CircuitState.OPEN", NULL);
    cmd("HSET", "t9cb:f-weird", "state", "sideways", NULL);
    cmd("SET", "t9cb:g-string", "not a hash", NULL);

    /* 7 breakers, 3 a page: 3 + 3 + 1, joined without gaps or repeats. */
    struct redis_circuits_query q = {.prefix = p, .limit = 3};
    assert_string_equal(circuit_walk(&q),
                        "b-open d-forced e-py | c-half a-closed f-weird | g-string");
    q.by_name = true;
    assert_string_equal(circuit_walk(&q),
                        "a-closed b-open c-half | d-forced e-py f-weird | g-string");
    q.by_name = false;

    /* The cursor names the page's last row, rank first in the state order. */
    char *next = NULL;
    json_t *rows = circuits(&q, &next);
    assert_string_equal(next, "0:e-py");
    json_decref(rows);
    free(next);
    q.by_name = true;
    rows = circuits(&q, &next);
    assert_string_equal(next, "n:c-half");
    json_decref(rows);
    free(next);

    /* A page reads the hashes of its own rows only: after the names and
     * one HMGET a breaker for the state order, 3 HGETALLs. */
    q.by_name = false;
    q.after = "0:e-py";
    cmd("CONFIG", "RESETSTAT", NULL);
    json_t *page = circuits(&q, &next);
    assert_string_equal(circuit_names(page), "c-half a-closed f-weird");
    assert_int_equal(command_calls("smembers"), 1);
    assert_int_equal(command_calls("hmget"), 7);
    assert_int_equal(command_calls("hgetall"), 3);
    assert_string_equal(next, "3:f-weird");
    free(next);
    json_decref(page);
    /* By name, no state is read before the page. */
    q.by_name = true;
    q.after = NULL;
    cmd("CONFIG", "RESETSTAT", NULL);
    page = circuits(&q, &next);
    assert_int_equal(command_calls("hmget"), 0);
    assert_int_equal(command_calls("hgetall"), 3);
    free(next);
    json_decref(page);

    /* The key that is not a hash is a row that says so. */
    q.after = "n:f-weird";
    page = circuits(&q, &next);
    assert_null(next);
    assert_int_equal(json_array_size(page), 1);
    assert_jstr(json_array_get(page, 0), "name", "g-string");
    assert_true(strncmp(jstr(json_array_get(page, 0), "malformed"), "WRONGTYPE", 9) == 0);
    json_decref(page);

    /* A filter on the effective state, in either order, paged too. */
    q.after = NULL;
    q.by_name = false;
    q.state = "open";
    assert_string_equal(circuit_walk(&q), "b-open d-forced e-py");
    q.limit = 2;
    assert_string_equal(circuit_walk(&q), "b-open d-forced | e-py");
    q.by_name = true;
    assert_string_equal(circuit_walk(&q), "b-open d-forced | e-py");
    q.state = "closed";
    q.limit = 3;
    cmd("CONFIG", "RESETSTAT", NULL);
    assert_string_equal(circuit_walk(&q), "a-closed");
    assert_int_equal(command_calls("hmget"), 7);
    assert_int_equal(command_calls("hgetall"), 1);
    q.state = "half_open";
    assert_string_equal(circuit_walk(&q), "c-half");
    q.by_name = false;

    /* The cursor's breaker gone: the next page starts after where it was. */
    q.state = NULL;
    q.after = "0:e-py";
    cmd("SREM", "t9cb:index", "e-py", NULL);
    page = circuits(&q, &next);
    assert_string_equal(circuit_names(page), "c-half a-closed f-weird");
    free(next);
    json_decref(page);
    q.after = NULL;

    /* Bad input is refused before anything is read. */
    struct error err;
    const char *bad[] = {"x:a", "0", "0:a b", "0:a%G1", "0:a%", "4:a", "n:a", "0:a:b", "e-py"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        q.after = bad[i];
        rows = NULL;
        next = NULL;
        if (redis_circuits_list(conn, &q, &rows, &next, &err) != STATUS_USAGE)
            fail_msg("cursor '%s' was taken", bad[i]);
        assert_null(rows);
        assert_null(next);
        assert_non_null(strstr(err.msg, "--after"));
        assert_null(strchr(err.msg, '\n'));
    }
    q.by_name = true;
    q.after = "0:b-open"; /* the state order's cursor */
    assert_int_equal(redis_circuits_list(conn, &q, &rows, &next, &err), STATUS_USAGE);
    assert_non_null(strstr(err.msg, "--after"));
    q.after = NULL;
    q.state = "OPEN";
    assert_int_equal(redis_circuits_list(conn, &q, &rows, &next, &err), STATUS_USAGE);
    assert_non_null(strstr(err.msg, "--state"));
    q.state = NULL;
    q.limit = 0;
    assert_int_equal(redis_circuits_list(conn, &q, &rows, &next, &err), STATUS_USAGE);
    assert_null(rows);

    /* A name that is not UTF-8 pages by its bytes, its cursor
     * percent-encoded, and is shown escaped. */
    cleanup(p);
    const char *av[] = {"SADD", "t9cb:index", "a", "a\xff:1", "b"};
    freeReplyObject(cmdv(5, av, NULL));
    cmd("HSET", "t9cb:a", "state", "open", NULL);
    cmd("HSET", "t9cb:a\xff:1", "state", "open", NULL);
    cmd("HSET", "t9cb:b", "state", "open", NULL);
    q.limit = 1;
    for (int by_name = 0; by_name < 2; by_name++) {
        q.by_name = by_name;
        rows = circuits(&q, &next);
        assert_string_equal(circuit_names(rows), "a");
        assert_string_equal(next, by_name ? "n:a" : "0:a");
        json_decref(rows);
        q.after = next;
        rows = circuits(&q, &next);
        free((char *)q.after);
        assert_int_equal(json_array_size(rows), 1);
        assert_true(json_is_true(json_object_get(json_array_get(rows, 0), "invalid_utf8")));
        assert_jstr(json_array_get(rows, 0), "state", "open");
        assert_string_equal(next, by_name ? "n:a%FF%3A1" : "0:a%FF%3A1");
        json_decref(rows);
        q.after = next;
        rows = circuits(&q, &next);
        free((char *)q.after);
        q.after = NULL;
        assert_string_equal(circuit_names(rows), "b");
        assert_null(next);
        json_decref(rows);
    }
    cleanup(p);
}

static int setup(void **state)
{
    (void)state;
    struct redis_conn_options o = {
        .url = getenv("OPSDECK_REDIS"), .connect_timeout_ms = 2000, .command_timeout_ms = 10000};
    struct error err;
    return redis_conn_new(&o, &conn, &err) == STATUS_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    redis_conn_free(conn);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_and_clean_forms),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_paging_ties),
        cmocka_unit_test(test_paging_under_changes),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_noscript),
        cmocka_unit_test(test_bad_cursor),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_circuits),
        cmocka_unit_test(test_circuits_paging),
        cmocka_unit_test(test_circuits_effective),
    };
    if (getenv("OPSDECK_REDIS") == NULL) {
        fprintf(stderr, "test_redis_dlq: run me through tests/cli/redis_dlq.sh\n");
        return 1;
    }
    testutil_watchdog("test_redis_dlq", 120);
    return cmocka_run_group_tests(tests, setup, teardown);
}
