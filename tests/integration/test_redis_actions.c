/* The Redis actions against a real Redis: replay, resolve and delete on
 * each status, the event, counters and audit entries after each,
 * idempotency across a flushed script cache, a pipelined batch of 500 in
 * one round trip, each replay route read by a real reader, 8 processes
 * racing for 1,000 events, a user without write rights, and circuit
 * breakers. Run through tests/cli/redis_actions.sh, which provides the
 * server. */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "backends/redis_actions.h"
#include "backends/redis_circuits.h"
#include "backends/redis_internal.h"
#include "tests/common/testutil.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define RACE_PROCS  8
#define RACE_ROUNDS 1000
#define BATCH       500

static struct redis_conn *conn;

/* ---- Redis helpers ------------------------------------------------------ */

static redisReply *cmdv(int argc, const char **argv)
{
    struct error err;
    redisReply *r = redis_conn_command(conn, argc, argv, NULL, &err);
    if (r == NULL)
        fail_msg("redis %s: %s", argv[0], err.msg);
    return r;
}

/* Runs a command of words ended by NULL and returns its reply. */
static redisReply *cmdr(const char *first, ...)
{
    const char *argv[40];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 40; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    return cmdv(argc, argv);
}

#define cmd(...) freeReplyObject(cmdr(__VA_ARGS__, NULL))

/* The value of a string reply as a heap string, NULL for nil. */
static char *cmd_str(const char *first, ...)
{
    const char *argv[8];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 8; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    redisReply *r = cmdv(argc, argv);
    char *s = r->type == REDIS_REPLY_STRING ? xstrdup(r->str) : NULL;
    freeReplyObject(r);
    return s;
}

static long long cmd_int(const char *first, ...)
{
    const char *argv[8];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL && argc < 8; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    redisReply *r = cmdv(argc, argv);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void cleanup(const char *prefix)
{
    char *match = xasprintf("%s*", prefix);
    char cursor[32] = "0";
    do {
        redisReply *r = cmdr("SCAN", cursor, "MATCH", match, "COUNT", "1000", NULL);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            cmd("UNLINK", r->element[1]->element[i]->str);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    free(match);
}

/* A unique prefix per test, so runs and tests never meet. */
static char *new_prefix(const char *what)
{
    static int seq;
    return xasprintf("t%ld-%d-%s", (long)getpid(), ++seq, what);
}

/* An event as seed 004 writes it, with extra hash fields (NULL-ended). */
static void put_event(const char *prefix, const char *id, const char *status, ...)
{
    char *key = xasprintf("%s:%s", prefix, id);
    char *index = xasprintf("%s:index", prefix);
    char *data = xasprintf("{\"event_id\": \"%s\", \"original_event\": {\"n\": 1}, "
                           "\"failure_reason\": \"DLQReason.VALIDATION_FAILED\", "
                           "\"source_service\": \"orders\", \"target_service\": \"billing\", "
                           "\"original_queue\": \"orders.in\"}",
                           id);
    const char *argv[32] = {"HSET", key, "data", data, "created_at", "2026-11-17T00:36:49.039618",
                            "status", status};
    int argc = 8;
    va_list ap;
    va_start(ap, status);
    for (const char *a = va_arg(ap, const char *); a != NULL && argc < 32;
         a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    freeReplyObject(cmdv(argc, argv));
    cmd("ZADD", index, "1795456336", id);
    free(data);
    free(index);
    free(key);
}

static char *hget(const char *prefix, const char *id, const char *field)
{
    char *key = xasprintf("%s:%s", prefix, id);
    char *v = cmd_str("HGET", key, field, NULL);
    free(key);
    return v;
}

static void assert_hget(const char *prefix, const char *id, const char *field, const char *want)
{
    char *v = hget(prefix, id, field);
    if (want == NULL) {
        if (v != NULL)
            fail_msg("%s:%s %s: expected nothing, got [%s]", prefix, id, field, v);
    } else {
        if (v == NULL || strcmp(v, want) != 0)
            fail_msg("%s:%s %s: expected [%s], got [%s]", prefix, id, field, want,
                     v != NULL ? v : "(nil)");
    }
    free(v);
}

/* A status counter of <prefix>:stats, -1000 when absent. */
static long long counter(const char *prefix, const char *status)
{
    char *key = xasprintf("%s:stats", prefix);
    char *field = xasprintf("status:%s", status);
    char *v = cmd_str("HGET", key, field, NULL);
    long long n = v != NULL ? atoll(v) : -1000;
    free(v);
    free(field);
    free(key);
    return n;
}

/* The audit stream's entries as JSON objects of their fields. */
static json_t *audit(const char *prefix)
{
    char *key = xasprintf("%s:audit", prefix);
    redisReply *r = cmdr("XRANGE", key, "-", "+", NULL);
    json_t *out = json_array();
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        json_t *o = json_object();
        for (size_t j = 0; j + 1 < f->elements; j += 2)
            json_object_set_new(o, f->element[j]->str, json_string(f->element[j + 1]->str));
        json_array_append_new(out, o);
    }
    freeReplyObject(r);
    free(key);
    return out;
}

static void assert_jstr(const json_t *o, const char *key, const char *want)
{
    const json_t *v = json_object_get(o, key);
    if (want == NULL) {
        if (v != NULL && !json_is_null(v))
            fail_msg("%s: expected null", key);
        return;
    }
    if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0) {
        char *s = json_dumps(o, JSON_COMPACT);
        fail_msg("%s: expected [%s] in %s", key, want, s);
    }
}

/* 2026-11-23T10:03:12.123456Z, and within a minute of now: the scripts'
 * own calendar arithmetic from the server's TIME. */
static bool is_iso_z(const char *s)
{
    int64_t us;
    if (s == NULL || strlen(s) != 27 || s[4] != '-' || s[10] != 'T' || s[19] != '.' ||
        s[26] != 'Z' || !time_parse_iso(s, &us))
        return false;
    int64_t d = us - time_now_us();
    return d > -60000000 && d < 60000000;
}

static struct redis_action_ctx actor(const char *op, const char *key, const char *reason)
{
    struct redis_action_ctx ctx = {.operator_ = op,
                                   .client_host = "bastion",
                                   .client_addr = "10.0.0.9",
                                   .idempotency_key = key,
                                   .reason = reason};
    return ctx;
}

/* ---- replay, resolve, delete ------------------------------------------------ */

static void test_replay(void **state)
{
    (void)state;
    char *p = new_prefix("replay");
    char *list = xasprintf("list:%s:out", p);
    char *lkey = xasprintf("%s:out", p);
    char *stats = xasprintf("%s:stats", p);
    put_event(p, "ev-1", "pending_review", NULL);
    put_event(p, "ev-2", "retried", "retried_at", "2026-11-23T10:03:12.5", "retried_by", "alice",
              "replay_count", "1", NULL);
    put_event(p, "ev-3", "resolved", "resolved_at", "2026-11-22T09:00:00Z", "resolved_by", "bob",
              NULL);
    char *idx = xasprintf("%s:index", p);
    cmd("ZADD", idx, "1795456000", "ev-gone");
    cmd("HSET", stats, "status:retried", "1", "status:resolved", "1");

    const char *ids[] = {"ev-1", "ev-2", "ev-3", "ev-gone", "ev-none"};
    const char *payloads[] = {"{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":4}", "{\"n\":5}"};
    const char *routes[] = {list, list, list, list, list};
    struct redis_action_result out[5];
    struct error err;
    struct redis_action_ctx ctx = actor("carol", "k1", "customer asked");
    assert_int_equal(redis_actions_replay(conn, p, &ctx, 5, ids, payloads, routes, false, out, &err),
                     STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_APPLIED);
    assert_jstr(out[0].result, "outcome", "applied");
    assert_jstr(out[0].result, "action", "dlq.replay");
    assert_jstr(out[0].result, "target_id", "ev-1");
    assert_jstr(out[0].result, "state", "retried");
    assert_jstr(out[0].result, "by", "carol");
    assert_true(is_iso_z(json_string_value(json_object_get(out[0].result, "at"))));
    assert_true(json_is_false(json_object_get(out[0].result, "replayed")));
    assert_int_equal(out[1].outcome, REDIS_ACTION_REFUSED);
    assert_jstr(out[1].result, "state", "retried");
    assert_jstr(out[1].result, "by", "alice");
    assert_jstr(out[1].result, "message",
                "dlq event ev-2 was already retried by alice at 2026-11-23 10:03Z; nothing "
                "changed (use --force to replay again)");
    assert_int_equal(out[2].outcome, REDIS_ACTION_REFUSED);
    assert_jstr(out[2].result, "message",
                "dlq event ev-3 was already resolved by bob at 2026-11-22 09:00Z; nothing changed");
    assert_int_equal(out[3].outcome, REDIS_ACTION_NOT_FOUND);
    assert_jstr(out[3].result, "message", "dlq event ev-gone not found");
    assert_int_equal(out[4].outcome, REDIS_ACTION_NOT_FOUND);
    redis_actions_results_done(out, 5);

    /* The event, the list, the counters: only ev-1 moved. */
    assert_hget(p, "ev-1", "status", "retried");
    assert_hget(p, "ev-1", "retried_by", "carol");
    assert_hget(p, "ev-1", "replay_count", "1");
    char *at = hget(p, "ev-1", "retried_at");
    assert_true(is_iso_z(at));
    free(at);
    assert_hget(p, "ev-2", "replay_count", "1");
    assert_hget(p, "ev-3", "status", "resolved");
    assert_int_equal(cmd_int("LLEN", lkey, NULL), 1);
    char *got = cmd_str("LINDEX", lkey, "0", NULL);
    assert_string_equal(got, "{\"n\":1}");
    free(got);
    assert_int_equal(counter(p, "retried"), 2);
    assert_int_equal(counter(p, "resolved"), 1);
    assert_int_equal(counter(p, "pending_review"), -1000); /* never made negative */
    char *ghost = xasprintf("%s:ev-gone", p);
    assert_int_equal(cmd_int("EXISTS", ghost, NULL), 0);
    free(ghost);

    /* Audit: the applied one and both refusals, nothing for not found. */
    json_t *a = audit(p);
    assert_int_equal(json_array_size(a), 3);
    json_t *e = json_array_get(a, 0);
    assert_jstr(e, "operator", "carol");
    assert_jstr(e, "client_host", "bastion");
    assert_jstr(e, "client_addr", "10.0.0.9");
    assert_jstr(e, "action", "dlq.replay");
    assert_jstr(e, "target_kind", "dlq_event");
    assert_jstr(e, "target_id", "ev-1");
    assert_jstr(e, "reason", "customer asked");
    assert_jstr(e, "outcome", "ok");
    assert_jstr(e, "detail", list);
    assert_jstr(e, "idempotency_key", "k1");
    assert_true(is_iso_z(json_string_value(json_object_get(e, "at"))));
    json_t *before = json_loads(json_string_value(json_object_get(e, "before")), 0, NULL);
    json_t *after = json_loads(json_string_value(json_object_get(e, "after")), 0, NULL);
    assert_jstr(before, "status", "pending_review");
    assert_jstr(after, "status", "retried");
    assert_jstr(after, "replay_count", "1");
    json_decref(before);
    json_decref(after);
    assert_jstr(json_array_get(a, 1), "outcome", "refused");
    assert_jstr(json_array_get(a, 1), "target_id", "ev-2");
    assert_jstr(json_array_get(a, 2), "outcome", "refused");
    json_decref(a);

    /* --force replays a retried event again; the counters stay. */
    ctx.idempotency_key = "k2";
    assert_int_equal(redis_actions_replay(conn, p, &ctx, 1, ids + 1, payloads + 1, routes, true,
                                          out, &err),
                     STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_APPLIED);
    assert_int_equal(json_integer_value(json_object_get(out[0].result, "replay_count")), 2);
    redis_actions_results_done(out, 1);
    assert_hget(p, "ev-2", "replay_count", "2");
    assert_hget(p, "ev-2", "retried_by", "carol");
    assert_int_equal(counter(p, "retried"), 2);
    assert_int_equal(cmd_int("LLEN", lkey, NULL), 2);

    /* A resolved event stays refused even with --force. */
    ctx.idempotency_key = "k3";
    assert_int_equal(redis_actions_replay(conn, p, &ctx, 1, ids + 2, payloads + 2, routes, true,
                                          out, &err),
                     STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_REFUSED);
    redis_actions_results_done(out, 1);

    /* Bad input is refused before anything is sent. */
    const char *bad_routes[] = {"queue:x"};
    assert_int_equal(redis_actions_replay(conn, p, &ctx, 1, ids, payloads, bad_routes, false, out,
                                          &err),
                     STATUS_USAGE);
    ctx.idempotency_key = "a:b";
    assert_int_equal(redis_actions_replay(conn, p, &ctx, 1, ids, payloads, routes, false, out,
                                          &err),
                     STATUS_USAGE);
    redis_actions_results_done(out, 1);
    assert_int_equal(cmd_int("LLEN", lkey, NULL), 2);

    cleanup(p);
    free(idx);
    free(stats);
    free(lkey);
    free(list);
    free(p);
}

static void test_resolve(void **state)
{
    (void)state;
    char *p = new_prefix("resolve");
    char *stats = xasprintf("%s:stats", p);
    put_event(p, "ev-1", "pending_review", NULL);
    put_event(p, "ev-2", "retried", "retried_at", "2026-11-23T10:03:00Z", "retried_by", "alice",
              NULL);
    put_event(p, "ev-3", "resolved", "resolved_at", "2026-11-23T11:00:00", "resolved_by", "bob",
              NULL);
    cmd("HSET", stats, "status:retried", "1", "status:resolved", "1");
    const char *ids[] = {"ev-1", "ev-2", "ev-3", "ev-none"};
    struct redis_action_result out[4];
    struct error err;
    struct redis_action_ctx ctx = actor("dave", "r1", "fixed upstream");
    assert_int_equal(redis_actions_resolve(conn, p, &ctx, 4, ids, out, &err), STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_APPLIED);
    assert_jstr(out[0].result, "state", "resolved");
    assert_int_equal(out[1].outcome, REDIS_ACTION_APPLIED);
    assert_int_equal(out[2].outcome, REDIS_ACTION_REFUSED);
    assert_jstr(out[2].result, "by", "bob");
    assert_jstr(out[2].result, "message",
                "dlq event ev-3 was already resolved by bob at 2026-11-23 11:00Z; nothing changed");
    assert_int_equal(out[3].outcome, REDIS_ACTION_NOT_FOUND);
    redis_actions_results_done(out, 4);
    for (int i = 0; i < 2; i++) {
        assert_hget(p, ids[i], "status", "resolved");
        assert_hget(p, ids[i], "resolved_by", "dave");
        assert_hget(p, ids[i], "resolution_note", "fixed upstream");
        char *at = hget(p, ids[i], "resolved_at");
        assert_true(is_iso_z(at));
        free(at);
    }
    assert_hget(p, "ev-3", "resolved_by", "bob");
    assert_int_equal(counter(p, "resolved"), 3);
    assert_int_equal(counter(p, "retried"), 0);
    assert_int_equal(counter(p, "pending_review"), -1000);
    json_t *a = audit(p);
    assert_int_equal(json_array_size(a), 3);
    assert_jstr(json_array_get(a, 0), "action", "dlq.resolve");
    assert_jstr(json_array_get(a, 0), "reason", "fixed upstream");
    assert_jstr(json_array_get(a, 1), "outcome", "ok");
    assert_jstr(json_array_get(a, 2), "outcome", "refused");
    json_decref(a);
    cleanup(p);
    free(stats);
    free(p);
}

static void test_delete(void **state)
{
    (void)state;
    char *p = new_prefix("delete");
    char *stats = xasprintf("%s:stats", p);
    char *idx = xasprintf("%s:index", p);
    put_event(p, "ev-1", "pending_review", NULL);
    put_event(p, "ev-2", "retried", NULL);
    cmd("ZADD", idx, "1795456000", "ev-gone");
    cmd("HSET", stats, "status:retried", "1", "reason:validation_failed", "2",
        "total_failed_events", "3");
    const char *ids[] = {"ev-1", "ev-2", "ev-gone", "ev-none"};
    struct redis_action_result out[4];
    struct error err;
    struct redis_action_ctx ctx = actor("erin", "d1", "poison message");
    assert_int_equal(redis_actions_delete(conn, p, &ctx, 4, ids, out, &err), STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_APPLIED);
    assert_jstr(out[0].result, "state", "deleted");
    assert_jstr(out[0].result, "previous_state", "pending_review");
    assert_int_equal(out[1].outcome, REDIS_ACTION_APPLIED);
    assert_int_equal(out[2].outcome, REDIS_ACTION_APPLIED); /* the orphan index entry */
    assert_jstr(out[2].result, "previous_state", "expired");
    assert_int_equal(out[3].outcome, REDIS_ACTION_NOT_FOUND);
    redis_actions_results_done(out, 4);
    assert_int_equal(cmd_int("ZCARD", idx, NULL), 0);
    char *k1 = xasprintf("%s:ev-1", p), *k2 = xasprintf("%s:ev-2", p);
    assert_int_equal(cmd_int("EXISTS", k1, k2, NULL), 0);
    free(k1);
    free(k2);
    assert_int_equal(counter(p, "retried"), 0);
    assert_int_equal(counter(p, "pending_review"), -1000);
    /* Cumulative counters of failures are history, not depth: kept. */
    char *tf = cmd_str("HGET", stats, "total_failed_events", NULL);
    assert_string_equal(tf, "3");
    free(tf);
    json_t *a = audit(p);
    assert_int_equal(json_array_size(a), 3);
    json_t *e = json_array_get(a, 0);
    assert_jstr(e, "action", "dlq.delete");
    assert_jstr(e, "reason", "poison message");
    json_t *d = json_loads(json_string_value(json_object_get(e, "detail")), 0, NULL);
    assert_non_null(d);
    assert_jstr(d, "status", "pending_review");
    assert_jstr(d, "failure_reason", "DLQReason.VALIDATION_FAILED");
    assert_jstr(d, "source_service", "orders");
    json_decref(d);
    json_decref(a);
    cleanup(p);
    free(idx);
    free(stats);
    free(p);
}

/* The same key three times, with the script cache flushed in between:
 * applied once, the stored outcome twice, one audit entry, one send. */
static void test_idempotency(void **state)
{
    (void)state;
    char *p = new_prefix("idem");
    char *route = xasprintf("stream:%s:out", p);
    char *skey = xasprintf("%s:out", p);
    put_event(p, "ev-1", "pending_review", NULL);
    const char *ids[] = {"ev-1"};
    const char *payloads[] = {"{\"n\":1}"};
    const char *routes[] = {route};
    struct redis_action_result out[1];
    struct error err;
    struct redis_action_ctx ctx = actor("frank", "same-key", "");
    for (int i = 0; i < 3; i++) {
        cmd("SCRIPT", "FLUSH");
        assert_int_equal(
            redis_actions_replay(conn, p, &ctx, 1, ids, payloads, routes, false, out, &err),
            STATUS_OK);
        assert_int_equal(out[0].outcome, REDIS_ACTION_APPLIED);
        assert_true(json_is_boolean(json_object_get(out[0].result, "replayed")));
        assert_int_equal(json_is_true(json_object_get(out[0].result, "replayed")), i > 0);
        assert_jstr(out[0].result, "by", "frank");
        redis_actions_results_done(out, 1);
    }
    assert_int_equal(cmd_int("XLEN", skey, NULL), 1);
    assert_hget(p, "ev-1", "replay_count", "1");
    json_t *a = audit(p);
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);
    char *ik = xasprintf("%s:idem:same-key:ev-1", p);
    long long ttl = cmd_int("TTL", ik, NULL);
    assert_true(ttl > 86000 && ttl <= 86400);
    free(ik);

    /* The same key for another action is refused, with no record. */
    assert_int_equal(redis_actions_resolve(conn, p, &ctx, 1, ids, out, &err), STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_REFUSED);
    assert_jstr(out[0].result, "message",
                "idempotency key same-key was already used for dlq.replay on ev-1; nothing "
                "changed");
    redis_actions_results_done(out, 1);
    assert_hget(p, "ev-1", "status", "retried");
    a = audit(p);
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);

    /* A refusal is the first outcome too. */
    ctx.idempotency_key = "other";
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            redis_actions_replay(conn, p, &ctx, 1, ids, payloads, routes, false, out, &err),
            STATUS_OK);
        assert_int_equal(out[0].outcome, REDIS_ACTION_REFUSED);
        assert_int_equal(json_is_true(json_object_get(out[0].result, "replayed")), i > 0);
        redis_actions_results_done(out, 1);
    }
    a = audit(p);
    assert_int_equal(json_array_size(a), 2);
    json_decref(a);
    cleanup(p);
    free(skey);
    free(route);
    free(p);
}

/* A field of INFO's text as a number, -1 when absent. */
static long long info_field(const char *section, const char *name)
{
    redisReply *r = cmdr("INFO", section, NULL);
    long long v = -1;
    char *needle = xasprintf("\n%s", name);
    const char *at = strstr(r->str, needle);
    if (at != NULL)
        v = atoll(at + strlen(needle));
    free(needle);
    freeReplyObject(r);
    return v;
}

/* 500 ids in one call: one EVALSHA per 100 events and nothing else, sent
 * before the first reply is read; the server sees a few reads of the one
 * write, not one per id. */
static void test_batch(void **state)
{
    (void)state;
    char *p = new_prefix("batch");
    char *route = xasprintf("list:%s:out", p);
    char *lkey = xasprintf("%s:out", p);
    const char **ids = xcalloc(BATCH, sizeof(*ids));
    const char **payloads = xcalloc(BATCH, sizeof(*payloads));
    const char **routes = xcalloc(BATCH, sizeof(*routes));
    char **own = xcalloc(BATCH, sizeof(*own));
    for (int i = 0; i < BATCH; i++) {
        own[i] = xasprintf("ev-%03d", i);
        ids[i] = own[i];
        payloads[i] = "{\"n\":1}";
        routes[i] = route;
        put_event(p, own[i], "pending_review", NULL);
    }
    struct redis_action_result *out = xcalloc(BATCH, sizeof(*out));
    struct error err;
    struct redis_action_ctx ctx = actor("gina", "b0", "");
    /* Load the script first, so the count below is the steady state. */
    assert_int_equal(redis_actions_replay(conn, p, &ctx, 1, ids, payloads, routes, false, out, &err),
                     STATUS_OK);
    redis_actions_results_done(out, 1);
    cmd("CONFIG", "RESETSTAT");
    long long reads0 = info_field("stats", "total_reads_processed:");
    ctx.idempotency_key = "b1";
    assert_int_equal(
        redis_actions_replay(conn, p, &ctx, BATCH, ids, payloads, routes, false, out, &err),
        STATUS_OK);
    long long reads = info_field("stats", "total_reads_processed:") - reads0 - 1;
    long long evalsha = info_field("commandstats", "cmdstat_evalsha:calls=");
    long long load = info_field("commandstats", "cmdstat_script|load:calls=");
    int applied = 0, refused = 0;
    for (int i = 0; i < BATCH; i++) {
        applied += out[i].outcome == REDIS_ACTION_APPLIED;
        refused += out[i].outcome == REDIS_ACTION_REFUSED;
    }
    redis_actions_results_done(out, BATCH);
    print_message("batch of %d: %lld EVALSHA, %lld SCRIPT LOAD, %lld server reads\n", BATCH,
                  evalsha, load, reads);
    assert_int_equal(applied, BATCH - 1);
    assert_int_equal(refused, 1); /* ev-000, replayed by the warm-up */
    assert_int_equal(evalsha, BATCH / 100);
    assert_true(load <= 0);
    /* One write of ~100 KB is read in 16 KB pieces; a round trip per id
     * would be at least 500 reads. */
    assert_true(reads >= 1 && reads <= 64);
    assert_int_equal(cmd_int("LLEN", lkey, NULL), BATCH);
    assert_int_equal(counter(p, "retried"), BATCH);
    json_t *a = audit(p);
    assert_int_equal(json_array_size(a), BATCH + 1);
    json_decref(a);
    cleanup(p);
    for (int i = 0; i < BATCH; i++)
        free(own[i]);
    free(own);
    free(out);
    free(routes);
    free(payloads);
    free(ids);
    free(lkey);
    free(route);
    free(p);
}

/* One script call covers a batch of events: an id given twice is sent
 * once, an event without a payload is refused as malformed (audited) or
 * not found, and the status counters move once for the batch and never
 * below zero. */
static void test_batch_edges(void **state)
{
    (void)state;
    char *p = new_prefix("edges");
    char *route = xasprintf("list:%s:out", p);
    char *lkey = xasprintf("%s:out", p);
    char *stats = xasprintf("%s:stats", p);
    put_event(p, "ev-1", "pending_review", NULL);
    put_event(p, "ev-bad", "pending_review", NULL);
    cmd("HSET", stats, "status:pending_review", "1");
    const char *ids[] = {"ev-1", "ev-1", "ev-bad", "ev-none"};
    const char *payloads[] = {"{\"n\":1}", "{\"n\":1}", NULL, NULL};
    const char *routes[] = {route, route, NULL, NULL};
    struct redis_action_result out[4];
    struct error err;
    struct redis_action_ctx ctx = actor("lee", "e1", "");
    assert_int_equal(
        redis_actions_replay(conn, p, &ctx, 4, ids, payloads, routes, false, out, &err), STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_APPLIED);
    assert_true(json_is_false(json_object_get(out[0].result, "replayed")));
    assert_int_equal(out[1].outcome, REDIS_ACTION_APPLIED);
    assert_true(json_is_true(json_object_get(out[1].result, "replayed")));
    assert_int_equal(out[2].outcome, REDIS_ACTION_REFUSED);
    assert_jstr(out[2].result, "message",
                "dlq event ev-bad is malformed (no original event or queue); nothing changed");
    assert_int_equal(out[3].outcome, REDIS_ACTION_NOT_FOUND);
    redis_actions_results_done(out, 4);
    assert_int_equal(cmd_int("LLEN", lkey, NULL), 1);
    assert_hget(p, "ev-1", "replay_count", "1");
    assert_hget(p, "ev-bad", "status", "pending_review");
    assert_int_equal(counter(p, "pending_review"), 0); /* 1 - 1, the malformed one kept */
    assert_int_equal(counter(p, "retried"), 1);
    json_t *a = audit(p);
    assert_int_equal(json_array_size(a), 2); /* ev-1 ok, ev-bad refused */
    assert_jstr(json_array_get(a, 1), "target_id", "ev-bad");
    assert_jstr(json_array_get(a, 1), "outcome", "refused");
    json_decref(a);

    /* 150 events in two calls; the pending counter was 120: it stops at 0. */
    char **own = xcalloc(150, sizeof(*own));
    const char **bids = xcalloc(150, sizeof(*bids)), **bp = xcalloc(150, sizeof(*bp)),
               **br = xcalloc(150, sizeof(*br));
    for (int i = 0; i < 150; i++) {
        own[i] = xasprintf("b-%03d", i);
        bids[i] = own[i];
        bp[i] = "{\"n\":2}";
        br[i] = route;
        put_event(p, own[i], "pending_review", NULL);
    }
    cmd("HSET", stats, "status:pending_review", "120");
    struct redis_action_result *bout = xcalloc(150, sizeof(*bout));
    ctx.idempotency_key = "e2";
    assert_int_equal(redis_actions_replay(conn, p, &ctx, 150, bids, bp, br, false, bout, &err),
                     STATUS_OK);
    for (int i = 0; i < 150; i++)
        assert_int_equal(bout[i].outcome, REDIS_ACTION_APPLIED);
    redis_actions_results_done(bout, 150);
    assert_int_equal(counter(p, "pending_review"), 0);
    assert_int_equal(counter(p, "retried"), 151);
    assert_int_equal(cmd_int("LLEN", lkey, NULL), 151);
    for (int i = 0; i < 150; i++)
        free(own[i]);
    free(bout);
    free(br);
    free(bp);
    free(bids);
    free(own);
    cleanup(p);
    free(stats);
    free(lkey);
    free(route);
    free(p);
}

/* A bulk replay job: its hash counts in the same scripts what was sent;
 * a repeat of the run counts nothing again; begin, end and recorded. */
static void test_job(void **state)
{
    (void)state;
    char *p = new_prefix("job");
    char *route = xasprintf("list:%s:out", p);
    char *lkey = xasprintf("%s:out", p);
    char *jkey = xasprintf("%s:replay:j1", p);
    enum { N = 250 };
    char **own = xcalloc(N, sizeof(*own));
    const char **ids = xcalloc(N, sizeof(*ids)), **pl = xcalloc(N, sizeof(*pl)),
               **rt = xcalloc(N, sizeof(*rt));
    for (int i = 0; i < N; i++) {
        own[i] = xasprintf("j-%03d", i);
        ids[i] = own[i];
        pl[i] = "{\"j\":1}";
        rt[i] = route;
        if (i != 7)
            put_event(p, own[i], "pending_review", NULL);
    }
    pl[7] = NULL; /* the caller found no event */
    struct redis_action_result *out = xcalloc(N, sizeof(*out));
    struct error err;
    struct redis_action_ctx ctx = actor("mia", "j1", "");
    json_t *j = NULL;
    assert_int_equal(redis_actions_job_get(conn, p, "j1", &j, &err), STATUS_NOT_FOUND);
    assert_int_equal(redis_actions_job_begin(conn, p, &ctx, N, 0, "--all", false, &err), STATUS_OK);
    assert_int_equal(cmd_int("TTL", jkey, NULL) > 600000, 1);
    /* The first 120, as an interrupted run would have sent them. */
    assert_int_equal(redis_actions_replay_job(conn, p, &ctx, 120, ids, pl, rt, false, out, &err),
                     STATUS_OK);
    redis_actions_results_done(out, 120);
    assert_int_equal(redis_actions_job_get(conn, p, "j1", &j, &err), STATUS_OK);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), N);
    assert_int_equal(json_integer_value(json_object_get(j, "done")), 120);
    assert_int_equal(json_integer_value(json_object_get(j, "applied")), 119);
    assert_int_equal(json_integer_value(json_object_get(j, "not_found")), 1);
    assert_jstr(j, "status", "running");
    assert_jstr(j, "operator", "mia");
    assert_jstr(j, "last_id", "j-119");
    json_decref(j);
    assert_int_equal(cmd_int("LLEN", lkey, NULL), 119);

    /* Resumed with every id again: 120 have an outcome, the rest is sent. */
    size_t already = 0;
    assert_int_equal(redis_actions_job_recorded(conn, p, "j1", N, ids, &already, &err), STATUS_OK);
    assert_int_equal(already, 120);
    assert_int_equal(redis_actions_job_begin(conn, p, &ctx, N, already, "--all", false, &err),
                     STATUS_OK);
    assert_int_equal(redis_actions_replay_job(conn, p, &ctx, N, ids, pl, rt, false, out, &err),
                     STATUS_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(out[i].outcome, i == 7 ? REDIS_ACTION_NOT_FOUND : REDIS_ACTION_APPLIED);
        assert_int_equal(json_is_true(json_object_get(out[i].result, "replayed")), i < 120);
    }
    redis_actions_results_done(out, N);
    assert_int_equal(redis_actions_job_end(conn, p, "j1", "completed", &err), STATUS_OK);
    assert_int_equal(redis_actions_job_get(conn, p, "j1", &j, &err), STATUS_OK);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), N);
    assert_int_equal(json_integer_value(json_object_get(j, "done")), N);
    assert_int_equal(json_integer_value(json_object_get(j, "applied")), N - 1);
    assert_int_equal(json_integer_value(json_object_get(j, "runs")), 2);
    assert_jstr(j, "status", "completed");
    assert_true(is_iso_z(json_string_value(json_object_get(j, "finished_at"))));
    json_decref(j);
    assert_int_equal(cmd_int("LLEN", lkey, NULL), N - 1);
    /* Without a job nothing is counted. */
    ctx.idempotency_key = "j2";
    assert_int_equal(redis_actions_replay(conn, p, &ctx, 3, ids, pl, rt, true, out, &err),
                     STATUS_OK);
    redis_actions_results_done(out, 3);
    char *j2 = xasprintf("%s:replay:j2", p);
    assert_int_equal(cmd_int("EXISTS", j2, NULL), 0);
    free(j2);
    assert_int_equal(redis_actions_job_end(conn, p, "j2", "completed", &err), STATUS_OK);
    assert_int_equal(redis_actions_job_get(conn, p, "j2", &j, &err), STATUS_NOT_FOUND);

    for (int i = 0; i < N; i++)
        free(own[i]);
    free(out);
    free(rt);
    free(pl);
    free(ids);
    free(own);
    cleanup(p);
    free(jkey);
    free(lkey);
    free(route);
    free(p);
}

/* What a replay sends: the original event's JSON text as the producer
 * wrote it, whitespace between tokens removed; data that is not a JSON
 * object with both fields gives no payload. */
static void test_replay_read(void **state)
{
    (void)state;
    static const struct {
        const char *data, *payload, *queue; /* payload NULL: none */
    } cases[] = {
        {"{\"original_event\": {\"a\": 0.1, \"b\": 1E2, \"c\": 123456789012345678901234567890},"
         " \"original_queue\": \"q\"}",
         "{\"a\":0.1,\"b\":1E2,\"c\":123456789012345678901234567890}", "q"},
        {"{\"original_event\" : { \"s\" : \"a b\\\\\\\" \\u00e9\\/\\ud83e\\udd84 \" , \"n\" : [ 1 "
         ", "
         "true , null , { } , [ ] ] } ,\n\t\"original_queue\":\"orders\\u002eevents\"}  \n",
         "{\"s\":\"a b\\\\\\\" \\u00e9\\/\\ud83e\\udd84 \",\"n\":[1,true,null,{},[]]}",
         "orders.events"},
        {"{\"original_event\": 1, \"original_queue\": \"q\", \"original_event\": \"last\"}",
         "\"last\"", "q"},
        {"{\"original\\u005fevent\": null, \"original_queue\": \"q\", \"x\": \"caf\xc3\xa9\"}",
         "null", "q"},
        {"{\"original_event\": {}, \"original_queue\": 7}", NULL, NULL},
        {"{\"original_event\": {}}", NULL, NULL},
        {"{\"original_queue\": \"q\"}", NULL, NULL},
        {"[\"original_event\", \"original_queue\"]", NULL, NULL},
        {"{\"original_event\": {}, \"original_queue\": \"q\"} x", NULL, NULL},
        {"{\"original_event\": {\"a\": 01}, \"original_queue\": \"q\"}", NULL, NULL},
        {"{\"original_event\": {\"a\": 1.}, \"original_queue\": \"q\"}", NULL, NULL},
        {"{\"original_event\": {\"a\": \"\\ud83e\"}, \"original_queue\": \"q\"}", NULL, NULL},
        {"{\"original_event\": {\"a\": \"\xc3\"}, \"original_queue\": \"q\"}", NULL, NULL},
        {"{\"original_event\": {\"a\": \"\xe0\x80\x80\"}, \"original_queue\": \"q\"}", NULL, NULL},
        {"{\"original_event\": {\"a\": \"tab\there\"}, \"original_queue\": \"q\"}", NULL, NULL},
        {"{\"original_event\": {\"a\": tru}, \"original_queue\": \"q\"}", NULL, NULL},
        {"{\"original_event\": {\"a\": 1,}, \"original_queue\": \"q\"}", NULL, NULL},
        {"", NULL, NULL},
    };
    enum { N = sizeof(cases) / sizeof(cases[0]) };
    char *p = new_prefix("read");
    char ids[N + 2][16];
    const char *idp[N + 2];
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "r-%zu", i);
        idp[i] = ids[i];
        char *key = xasprintf("%s:%s", p, ids[i]);
        cmd("HSET", key, "data", cases[i].data);
        free(key);
    }
    /* Deeper than 2048 levels: refused; an event without data: none. */
    struct buf deep;
    buf_init(&deep);
    buf_adds(&deep, "{\"original_queue\": \"q\", \"original_event\": ");
    for (int i = 0; i < 2100; i++)
        buf_addc(&deep, '[');
    for (int i = 0; i < 2100; i++)
        buf_addc(&deep, ']');
    buf_addc(&deep, '}');
    char *dkey = xasprintf("%s:deep", p);
    cmd("HSET", dkey, "data", buf_get(&deep));
    free(dkey);
    buf_done(&deep);
    idp[N] = "deep";
    idp[N + 1] = "missing";
    char *payloads[N + 2], *queues[N + 2];
    struct error err;
    assert_int_equal(redis_actions_replay_read(conn, p, N + 2, idp, payloads, queues, &err),
                     STATUS_OK);
    for (size_t i = 0; i < N + 2; i++) {
        const char *want = i < N ? cases[i].payload : NULL;
        const char *wantq = i < N ? cases[i].queue : NULL;
        if (want == NULL ? payloads[i] != NULL
                         : payloads[i] == NULL || strcmp(payloads[i], want) != 0)
            fail_msg("case %zu: payload [%s], expected [%s]", i,
                     payloads[i] != NULL ? payloads[i] : "(none)", want != NULL ? want : "(none)");
        if (wantq == NULL ? queues[i] != NULL : queues[i] == NULL || strcmp(queues[i], wantq) != 0)
            fail_msg("case %zu: queue [%s], expected [%s]", i,
                     queues[i] != NULL ? queues[i] : "(none)", wantq != NULL ? wantq : "(none)");
        free(payloads[i]);
        free(queues[i]);
    }
    cleanup(p);
    free(p);
}

/* ---- routes --------------------------------------------------------------- */

/* A second, plain hiredis connection to the test server. */
static redisContext *raw_connect(void)
{
    const char *url = getenv("OPSDECK_REDIS");
    assert_true(strncmp(url, "unix://", 7) == 0);
    char *path = xstrndup(url + 7, strcspn(url + 7, "?"));
    redisContext *r = redisConnectUnix(path);
    free(path);
    assert_non_null(r);
    assert_int_equal(r->err, 0);
    struct timeval tv = {.tv_sec = 0, .tv_usec = 300000};
    redisSetTimeout(r, tv);
    return r;
}

static void test_routes(void **state)
{
    (void)state;
    char *p = new_prefix("routes");
    char *channel = xasprintf("%s.orders", p);
    char *r_pub = xasprintf("publish:%s", channel);
    char *r_list = xasprintf("list:%s:list", p);
    char *r_stream = xasprintf("stream:%s:stream", p);
    put_event(p, "ev-p", "pending_review", NULL);
    put_event(p, "ev-l", "pending_review", NULL);
    put_event(p, "ev-s", "pending_review", NULL);

    redisContext *sub = raw_connect();
    redisReply *r = redisCommand(sub, "SUBSCRIBE %s", channel);
    assert_non_null(r);
    freeReplyObject(r);

    const char *ids[] = {"ev-p", "ev-l", "ev-s"};
    const char *payloads[] = {"{\"route\":\"publish\"}", "{\"route\":\"list\"}",
                              "{\"route\":\"stream\"}"};
    const char *routes[] = {r_pub, r_list, r_stream};
    struct redis_action_result out[3];
    struct error err;
    for (int round = 0; round < 2; round++) {
        /* The second round is refused: nothing is sent again. */
        struct redis_action_ctx ctx = actor("hal", round == 0 ? "x1" : "x2", "");
        assert_int_equal(
            redis_actions_replay(conn, p, &ctx, 3, ids, payloads, routes, false, out, &err),
            STATUS_OK);
        for (int i = 0; i < 3; i++)
            assert_int_equal(out[i].outcome,
                             round == 0 ? REDIS_ACTION_APPLIED : REDIS_ACTION_REFUSED);
        if (round == 0)
            assert_int_equal(json_integer_value(json_object_get(out[0].result, "receivers")), 1);
        redis_actions_results_done(out, 3);
    }

    /* publish: the subscriber gets one message, then nothing. */
    void *m = NULL;
    assert_int_equal(redisGetReply(sub, &m), REDIS_OK);
    r = m;
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    assert_string_equal(r->element[0]->str, "message");
    assert_string_equal(r->element[2]->str, payloads[0]);
    freeReplyObject(r);
    m = NULL;
    assert_int_not_equal(redisGetReply(sub, &m), REDIS_OK); /* the timeout: no second */
    redisFree(sub);

    /* list: a BRPOP reader gets it once. */
    char *lkey = xasprintf("%s:list", p);
    r = cmdr("BRPOP", lkey, "1", NULL);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[1]->str, payloads[1]);
    freeReplyObject(r);
    assert_int_equal(cmd_int("LLEN", lkey, NULL), 0);

    /* stream: an XREAD reader sees one entry with the event in "event". */
    char *skey = xasprintf("%s:stream", p);
    r = cmdr("XREAD", "COUNT", "10", "STREAMS", skey, "0", NULL);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    const redisReply *entries = r->element[0]->element[1];
    assert_int_equal(entries->elements, 1);
    const redisReply *fields = entries->element[0]->element[1];
    assert_int_equal(fields->elements, 2);
    assert_string_equal(fields->element[0]->str, "event");
    assert_string_equal(fields->element[1]->str, payloads[2]);
    freeReplyObject(r);

    cleanup(p);
    free(skey);
    free(lkey);
    free(r_stream);
    free(r_list);
    free(r_pub);
    free(channel);
    free(p);
}

/* ---- race ----------------------------------------------------------------- */

/* One racer: for each round, waits for the parent's go byte, replays
 * that round's event with its own key, and answers one byte (1 applied,
 * 0 not). All 8 start each round together, so every round is contested. */
static void racer(int id, const char *prefix, const char *route, int go_fd, int out_fd)
{
    struct redis_conn_options o = {
        .url = getenv("OPSDECK_REDIS"), .connect_timeout_ms = 2000, .command_timeout_ms = 10000};
    struct redis_conn *c;
    struct error err;
    if (redis_conn_new(&o, &c, &err) != STATUS_OK || redis_conn_ensure(c, &err) != STATUS_OK)
        _exit(2);
    for (int r = 0; r < RACE_ROUNDS; r++) {
        char ev[32], key[32], go;
        if (read(go_fd, &go, 1) != 1)
            _exit(2);
        snprintf(ev, sizeof(ev), "race-%d", r);
        snprintf(key, sizeof(key), "p%d-r%d", id, r);
        const char *ids[] = {ev};
        const char *payloads[] = {"{}"};
        const char *routes[] = {route};
        struct redis_action_result out[1];
        struct redis_action_ctx ctx = {.operator_ = "racer", .idempotency_key = key};
        if (redis_actions_replay(c, prefix, &ctx, 1, ids, payloads, routes, false, out, &err) !=
            STATUS_OK)
            _exit(3);
        unsigned char won = out[0].outcome == REDIS_ACTION_APPLIED;
        redis_actions_results_done(out, 1);
        if (write(out_fd, &won, 1) != 1)
            _exit(4);
    }
    redis_conn_free(c);
    _exit(0);
}

static void test_race(void **state)
{
    (void)state;
    char *p = new_prefix("race");
    char *route = xasprintf("list:%s:out", p);
    char *lkey = xasprintf("%s:out", p);
    for (int r = 0; r < RACE_ROUNDS; r++) {
        char ev[32];
        snprintf(ev, sizeof(ev), "race-%d", r);
        put_event(p, ev, "pending_review", NULL);
    }
    int go[RACE_PROCS][2], res[RACE_PROCS][2];
    pid_t pids[RACE_PROCS];
    int wins[RACE_PROCS] = {0};
    for (int i = 0; i < RACE_PROCS; i++) {
        assert_int_equal(pipe(go[i]), 0);
        assert_int_equal(pipe(res[i]), 0);
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            for (int j = 0; j < i; j++) {
                close(go[j][1]);
                close(res[j][0]);
            }
            close(go[i][1]);
            close(res[i][0]);
            racer(i, p, route, go[i][0], res[i][1]);
        }
        close(go[i][0]);
        close(res[i][1]);
    }
    int applied = 0;
    for (int r = 0; r < RACE_ROUNDS; r++) {
        int winners = 0;
        for (int i = 0; i < RACE_PROCS; i++)
            assert_int_equal(write(go[i][1], "g", 1), 1);
        for (int i = 0; i < RACE_PROCS; i++) {
            unsigned char won;
            ssize_t n;
            while ((n = read(res[i][0], &won, 1)) < 0 && errno == EINTR)
                ;
            if (n != 1)
                fail_msg("racer %d died in round %d", i, r);
            winners += won;
            wins[i] += won;
        }
        if (winners != 1)
            fail_msg("round %d: %d applied", r, winners);
        applied += winners;
    }
    for (int i = 0; i < RACE_PROCS; i++) {
        int st;
        close(go[i][1]);
        close(res[i][0]);
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    assert_int_equal(applied, RACE_ROUNDS);
    print_message("race: %d rounds x %d processes; wins per process: %d %d %d %d %d %d %d %d\n",
                  RACE_ROUNDS, RACE_PROCS, wins[0], wins[1], wins[2], wins[3], wins[4], wins[5],
                  wins[6], wins[7]);
    assert_int_equal(cmd_int("LLEN", lkey, NULL), RACE_ROUNDS);
    assert_int_equal(counter(p, "retried"), RACE_ROUNDS);
    json_t *a = audit(p);
    int ok = 0, refused = 0;
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) {
        const char *o = json_string_value(json_object_get(e, "outcome"));
        ok += strcmp(o, "ok") == 0;
        refused += strcmp(o, "refused") == 0;
    }
    json_decref(a);
    assert_int_equal(ok, applied);
    assert_int_equal(refused, RACE_ROUNDS * (RACE_PROCS - 1));
    for (int r = 0; r < RACE_ROUNDS; r += 97) {
        char ev[32];
        snprintf(ev, sizeof(ev), "race-%d", r);
        assert_hget(p, ev, "replay_count", "1");
    }
    cleanup(p);
    free(lkey);
    free(route);
    free(p);
}

/* ---- no write rights ---------------------------------------------------- */

/* A connection through the same code (redis_conn), authenticated as user
 * with an AUTH on it, so every action goes through the real path. */
static struct redis_conn *connect_as(const char *user, const char *pw)
{
    struct redis_conn_options o = {
        .url = getenv("OPSDECK_REDIS"), .connect_timeout_ms = 2000, .command_timeout_ms = 10000};
    struct redis_conn *c;
    struct error err;
    assert_int_equal(redis_conn_new(&o, &c, &err), STATUS_OK);
    const char *argv[] = {"AUTH", user, pw};
    redisReply *r = redis_conn_command(c, 3, argv, NULL, &err);
    assert_non_null(r);
    freeReplyObject(r);
    const char *who[] = {"ACL", "WHOAMI"};
    r = redis_conn_command(c, 2, who, NULL, &err);
    assert_non_null(r);
    assert_string_equal(r->str, user);
    freeReplyObject(r);
    return c;
}

/* Two users without write rights: one that may not even run scripts
 * (Redis refuses EVALSHA), one that may run scripts but not write (the
 * scripts' ACL check refuses before the first write). Either way:
 * STATUS_DENIED, and the event, counters, audit, idempotency record,
 * route and breaker are as before. */
static void test_denied(void **state)
{
    (void)state;
    char *p = new_prefix("acl");
    char *cbp = xasprintf("%s-cb", p);
    char *cb = xasprintf("%s:svc", cbp);
    char *route = xasprintf("list:%s:out", p);
    char *lkey = xasprintf("%s:out", p);
    char *u1 = xasprintf("ro%ld", (long)getpid()), *u2 = xasprintf("ros%ld", (long)getpid());
    put_event(p, "ev-1", "pending_review", NULL);
    cmd("HSET", cb, "state", "open", "failure_count", "5");
    cmd("ACL", "SETUSER", u1, "reset", "on", ">pw", "~*", "&*", "+@read", "+ping",
        "+acl|whoami");
    cmd("ACL", "SETUSER", u2, "reset", "on", ">pw", "~*", "&*", "+@read", "+ping",
        "+acl|whoami", "+@scripting");

    const char *users[] = {u1, u2};
    for (int u = 0; u < 2; u++) {
        struct redis_conn *c = connect_as(users[u], "pw");
        const char *ids[] = {"ev-1"};
        const char *payloads[] = {"{}"};
        const char *routes[] = {route};
        struct redis_action_result out[1];
        struct error err;
        struct redis_action_ctx ctx = actor("ivan", "deny", "x");
        assert_int_equal(
            redis_actions_replay(c, p, &ctx, 1, ids, payloads, routes, false, out, &err),
            STATUS_DENIED);
        assert_null(out[0].result);
        assert_non_null(strstr(err.msg, "NOPERM"));
        /* The second user got as far as the script, which refused. */
        assert_int_equal(strstr(err.msg, "this action needs") != NULL, u == 1);
        redis_actions_results_done(out, 1);
        assert_int_equal(redis_actions_resolve(c, p, &ctx, 1, ids, out, &err), STATUS_DENIED);
        redis_actions_results_done(out, 1);
        assert_int_equal(redis_actions_delete(c, p, &ctx, 1, ids, out, &err), STATUS_DENIED);
        redis_actions_results_done(out, 1);
        assert_int_equal(redis_actions_circuit(c, cbp, p, &ctx, "svc", REDIS_CIRCUIT_FORCE_OPEN,
                                               out, &err),
                         STATUS_DENIED);
        redis_actions_results_done(out, 1);
        /* A bulk replay job cannot even start. */
        assert_int_equal(redis_actions_job_begin(c, p, &ctx, 2, 0, "--all", false, &err),
                         STATUS_DENIED);
        assert_non_null(strstr(err.msg, "nothing was sent"));
        redis_conn_free(c);
    }

    /* A user who may write ev-1 but not ev-2: one call for both writes
     * nothing at all, ev-1 included. */
    char *u3 = xasprintf("rw%ld", (long)getpid());
    char *w1 = xasprintf("%%W~%s:ev-1", p), *w2 = xasprintf("%%W~%s:idem:*", p);
    char *w3 = xasprintf("%%W~%s:stats", p), *w4 = xasprintf("%%W~%s:audit", p);
    char *w5 = xasprintf("%%W~%s", lkey);
    put_event(p, "ev-2", "pending_review", NULL);
    cmd("ACL", "SETUSER", u3, "reset", "on", ">pw", "&*", "+@all", "%R~*", w1, w2, w3, w4, w5);
    {
        struct redis_conn *c = connect_as(u3, "pw");
        const char *ids[] = {"ev-1", "ev-2"};
        const char *payloads[] = {"{}", "{}"};
        const char *routes[] = {route, route};
        struct redis_action_result out[2];
        struct error err;
        struct redis_action_ctx ctx = actor("ivan", "deny", "x");
        assert_int_equal(
            redis_actions_replay(c, p, &ctx, 2, ids, payloads, routes, false, out, &err),
            STATUS_DENIED);
        assert_non_null(strstr(err.msg, "NOPERM"));
        assert_null(out[0].result);
        redis_actions_results_done(out, 2);
        redis_conn_free(c);
    }
    assert_hget(p, "ev-2", "status", "pending_review");
    cmd("ACL", "DELUSER", u3);
    free(w5);
    free(w4);
    free(w3);
    free(w2);
    free(w1);
    free(u3);

    assert_hget(p, "ev-1", "status", "pending_review");
    assert_hget(p, "ev-1", "retried_at", NULL);
    char *k = xasprintf("%s:idem:deny:ev-1", p), *audit_key = xasprintf("%s:audit", p);
    char *stats = xasprintf("%s:stats", p), *job = xasprintf("%s:replay:deny", p);
    assert_int_equal(cmd_int("EXISTS", k, audit_key, stats, lkey, job, NULL), 0);
    free(job);
    char *fs = cmd_str("HGET", cb, "forced_state", NULL);
    assert_null(fs);
    cmd("ACL", "DELUSER", u1, u2);
    cleanup(p);
    cleanup(cbp);
    free(stats);
    free(audit_key);
    free(k);
    free(u2);
    free(u1);
    free(lkey);
    free(route);
    free(cb);
    free(cbp);
    free(p);
}

/* A user who may read the breaker registry but not the breakers: the
 * circuits list is refused with Redis's NOPERM, in both orders, rather
 * than ranking every breaker "other" or listing them as unreadable; and
 * the connection stays in step for the next command. */
static void test_circuits_denied(void **state)
{
    (void)state;
    char *p = new_prefix("cbacl");
    char *index = xasprintf("%s:index", p), *a = xasprintf("%s:a", p), *b = xasprintf("%s:b", p);
    char *u = xasprintf("cb%ld", (long)getpid()), *only = xasprintf("~%s", index);
    cmd("SADD", index, "a", "b");
    cmd("HSET", a, "state", "open");
    cmd("HSET", b, "state", "closed");
    cmd("ACL", "SETUSER", u, "reset", "on", ">pw", "&*", "+@read", "+ping", "+acl|whoami", only);
    struct redis_conn *c = connect_as(u, "pw");
    for (int by_name = 0; by_name < 2; by_name++) {
        struct redis_circuits_query q = {.prefix = p, .by_name = by_name, .limit = 10};
        json_t *rows;
        char *next;
        struct error err = {0};
        assert_int_equal(redis_circuits_list(c, &q, &rows, &next, &err), STATUS_DENIED);
        assert_null(rows);
        assert_null(next);
        assert_non_null(strstr(err.msg, "NOPERM"));
        const char *ping[] = {"PING"};
        redisReply *r = redis_conn_command(c, 1, ping, NULL, &err);
        assert_non_null(r);
        assert_string_equal(r->str, "PONG");
        freeReplyObject(r);
    }
    redis_conn_free(c);
    cmd("ACL", "DELUSER", u);
    cleanup(p);
    free(only);
    free(u);
    free(b);
    free(a);
    free(index);
    free(p);
}

/* ---- circuits ------------------------------------------------------------- */

static void test_circuits(void **state)
{
    (void)state;
    char *p = new_prefix("cdlq");
    char *cbp = xasprintf("%s-cb", p);
    char *cb = xasprintf("%s:payments", cbp);
    char *control = xasprintf("%s:control", cbp);
    cmd("HSET", cb, "state", "open", "failure_count", "7", "success_count", "2", "call_count",
        "40");
    redisContext *sub = raw_connect();
    redisReply *r = redisCommand(sub, "SUBSCRIBE %s", control);
    freeReplyObject(r);

    struct redis_action_result out[1];
    struct error err;
    struct redis_action_ctx ctx = actor("judy", "c1", "vendor outage");

    assert_int_equal(
        redis_actions_circuit(conn, cbp, p, &ctx, "payments", REDIS_CIRCUIT_FORCE_OPEN, out, &err),
        STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_APPLIED);
    assert_jstr(out[0].result, "action", "circuit.force_open");
    assert_jstr(out[0].result, "state", "open");
    redis_actions_results_done(out, 1);
    char *v = cmd_str("HGET", cb, "forced_state", NULL);
    assert_string_equal(v, "open");
    free(v);
    v = cmd_str("HGET", cb, "forced_by", NULL);
    assert_string_equal(v, "judy");
    free(v);
    v = cmd_str("HGET", cb, "forced_reason", NULL);
    assert_string_equal(v, "vendor outage");
    free(v);
    v = cmd_str("HGET", cb, "forced_at", NULL);
    assert_true(is_iso_z(v));
    free(v);

    void *m = NULL;
    assert_int_equal(redisGetReply(sub, &m), REDIS_OK);
    r = m;
    json_t *msg = json_loads(r->element[2]->str, 0, NULL);
    assert_non_null(msg);
    assert_jstr(msg, "name", "payments");
    assert_jstr(msg, "action", "force_open");
    assert_jstr(msg, "by", "judy");
    assert_jstr(msg, "reason", "vendor outage");
    assert_true(is_iso_z(json_string_value(json_object_get(msg, "at"))));
    json_decref(msg);
    freeReplyObject(r);

    /* Forced open again: refused, naming who and when. */
    ctx.idempotency_key = "c2";
    assert_int_equal(
        redis_actions_circuit(conn, cbp, p, &ctx, "payments", REDIS_CIRCUIT_FORCE_OPEN, out, &err),
        STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_REFUSED);
    assert_jstr(out[0].result, "by", "judy");
    const char *text = json_string_value(json_object_get(out[0].result, "message"));
    assert_non_null(strstr(text, "circuit payments was already forced open by judy at "));
    redis_actions_results_done(out, 1);

    /* The same key as the first: its outcome again, nothing published. */
    ctx.idempotency_key = "c1";
    assert_int_equal(
        redis_actions_circuit(conn, cbp, p, &ctx, "payments", REDIS_CIRCUIT_FORCE_OPEN, out, &err),
        STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_APPLIED);
    assert_true(json_is_true(json_object_get(out[0].result, "replayed")));
    redis_actions_results_done(out, 1);

    ctx.idempotency_key = "c3";
    assert_int_equal(
        redis_actions_circuit(conn, cbp, p, &ctx, "payments", REDIS_CIRCUIT_RELEASE, out, &err),
        STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_APPLIED);
    assert_jstr(out[0].result, "state", "open");
    redis_actions_results_done(out, 1);
    assert_int_equal(cmd_int("HEXISTS", cb, "forced_state", NULL), 0);
    assert_int_equal(cmd_int("HEXISTS", cb, "forced_by", NULL), 0);

    ctx.idempotency_key = "c4";
    assert_int_equal(
        redis_actions_circuit(conn, cbp, p, &ctx, "payments", REDIS_CIRCUIT_RELEASE, out, &err),
        STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_REFUSED);
    assert_jstr(out[0].result, "message", "circuit payments is not forced; nothing changed");
    redis_actions_results_done(out, 1);

    ctx.idempotency_key = "c5";
    assert_int_equal(
        redis_actions_circuit(conn, cbp, p, &ctx, "payments", REDIS_CIRCUIT_RESET, out, &err),
        STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_APPLIED);
    assert_jstr(out[0].result, "state", "closed");
    redis_actions_results_done(out, 1);
    v = cmd_str("HGET", cb, "state", NULL);
    assert_string_equal(v, "closed");
    free(v);
    v = cmd_str("HGET", cb, "failure_count", NULL);
    assert_string_equal(v, "0");
    free(v);
    v = cmd_str("HGET", cb, "call_count", NULL);
    assert_string_equal(v, "40");
    free(v);

    ctx.idempotency_key = "c6";
    assert_int_equal(
        redis_actions_circuit(conn, cbp, p, &ctx, "nothere", REDIS_CIRCUIT_RESET, out, &err),
        STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_NOT_FOUND);
    assert_jstr(out[0].result, "message", "circuit nothere not found");
    redis_actions_results_done(out, 1);

    /* Published: force_open (above), release, reset; refusals publish nothing. */
    const char *want[] = {"release", "reset"};
    for (int i = 0; i < 2; i++) {
        m = NULL;
        assert_int_equal(redisGetReply(sub, &m), REDIS_OK);
        r = m;
        msg = json_loads(r->element[2]->str, 0, NULL);
        assert_jstr(msg, "action", want[i]);
        json_decref(msg);
        freeReplyObject(r);
    }
    m = NULL;
    assert_int_not_equal(redisGetReply(sub, &m), REDIS_OK);
    redisFree(sub);

    json_t *a = audit(p);
    static const char *const actions[] = {"circuit.force_open", "circuit.force_open",
                                          "circuit.release", "circuit.release", "circuit.reset"};
    static const char *const outcomes[] = {"ok", "refused", "ok", "refused", "ok"};
    assert_int_equal(json_array_size(a), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *e = json_array_get(a, i);
        assert_jstr(e, "action", actions[i]);
        assert_jstr(e, "outcome", outcomes[i]);
        assert_jstr(e, "target_kind", "circuit");
        assert_jstr(e, "target_id", "payments");
    }
    json_decref(a);
    cleanup(p);
    cleanup(cbp);
    free(control);
    free(cb);
    free(cbp);
    free(p);
}

/* A prefix with a hash tag, as a Redis Cluster deployment uses. */
static void test_hash_tag_prefix(void **state)
{
    (void)state;
    char *base = new_prefix("tag");
    char *p = xasprintf("{%s}", base);
    char *route = xasprintf("list:%s:out", p);
    put_event(p, "ev-1", "pending_review", NULL);
    const char *ids[] = {"ev-1"};
    const char *payloads[] = {"{}"};
    const char *routes[] = {route};
    struct redis_action_result out[1];
    struct error err;
    struct redis_action_ctx ctx = actor("kim", "t1", "");
    assert_int_equal(redis_actions_replay(conn, p, &ctx, 1, ids, payloads, routes, false, out, &err),
                     STATUS_OK);
    assert_int_equal(out[0].outcome, REDIS_ACTION_APPLIED);
    redis_actions_results_done(out, 1);
    assert_hget(p, "ev-1", "status", "retried");
    cleanup(p);
    free(route);
    free(p);
    free(base);
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
        cmocka_unit_test(test_replay),      cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_delete),      cmocka_unit_test(test_idempotency),
        cmocka_unit_test(test_batch),       cmocka_unit_test(test_batch_edges),
        cmocka_unit_test(test_job),         cmocka_unit_test(test_replay_read),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_race),        cmocka_unit_test(test_denied),
        cmocka_unit_test(test_circuits_denied),
        cmocka_unit_test(test_circuits),    cmocka_unit_test(test_hash_tag_prefix),
    };
    if (getenv("OPSDECK_REDIS") == NULL) {
        fprintf(stderr, "test_redis_actions: run me through tests/cli/redis_actions.sh\n");
        return 1;
    }
    testutil_watchdog("test_redis_actions", 180);
    return cmocka_run_group_tests(tests, setup, teardown);
}
