/* The console's workers against real servers: pages, shows and the
 * overview through the PostgreSQL and Redis lanes, a queued request
 * replaced by one with the same slot, NOTIFY wf_changes arriving as one
 * CHANGED reply, a hung Redis that does not delay the PostgreSQL lane, and
 * LISTEN again after a restart.
 * Run through tests/cli/worker.sh, which provides the servers and data. */
#include <config.h>

#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/command.h"
#include "core/config.h"
#include "core/filter.h"
#include "core/worker.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

static struct config *test_config(void)
{
    struct config *cfg = config_new();
    struct error err;

    assert_int_equal(config_apply(cfg, OPTION_POSTGRES, getenv("OPSDECK_POSTGRES"), CONFIG_ENV,
                                  "OPSDECK_POSTGRES", &err),
                     STATUS_OK);
    assert_int_equal(
        config_apply(cfg, OPTION_REDIS, getenv("OPSDECK_REDIS"), CONFIG_ENV, "OPSDECK_REDIS", &err),
        STATUS_OK);
    assert_int_equal(
        config_apply(cfg, OPTION_CONNECT_TIMEOUT, "1s", CONFIG_FLAG, "--connect-timeout", &err),
        STATUS_OK);
    assert_int_equal(
        config_apply(cfg, OPTION_COMMAND_TIMEOUT, "1s", CONFIG_FLAG, "--command-timeout", &err),
        STATUS_OK);
    return cfg;
}

static struct worker *test_worker(void)
{
    struct config *cfg = test_config();
    struct error err;
    struct worker *w = worker_new(cfg, &err);
    if (w == NULL)
        fail_msg("worker_new: %s", err.msg);
    config_free(cfg); /* the worker holds copies */
    return w;
}

/* The next reply of any kind within ms, or NULL. */
static struct worker_reply *wait_any(struct worker *w, int ms)
{
    int64_t deadline = time_mono_ms() + ms;
    for (;;) {
        struct worker_reply *r = worker_take(w);
        int64_t left = deadline - time_mono_ms();
        if (r != NULL || left <= 0)
            return r;
        struct pollfd p = {.fd = worker_fd(w), .events = POLLIN};
        poll(&p, 1, (int)left);
    }
}

/* The next reply that is not a CHANGED within ms, or NULL: the PostgreSQL
 * lane reports a change after every successful LISTEN, whenever that
 * lands between other replies. */
static struct worker_reply *wait_reply(struct worker *w, int ms)
{
    int64_t deadline = time_mono_ms() + ms;
    for (;;) {
        int64_t left = deadline - time_mono_ms();
        struct worker_reply *r = wait_any(w, left > 0 ? (int)left : 0);
        if (r == NULL || r->kind != WORKER_CHANGED)
            return r;
        worker_reply_free(r);
    }
}

static const struct command *find(const char *a, const char *b)
{
    const char *words[] = {a, b};
    size_t used = 0;
    const struct command *cmd = command_find(words, 2, &used);
    assert_non_null(cmd);
    assert_int_equal(used, 2);
    return cmd;
}

static struct worker_request *fetch_req(const struct command *cmd, unsigned slot, size_t limit,
                                        const char *after)
{
    struct worker_request *req = xcalloc(1, sizeof(*req));
    struct error err;
    req->kind = WORKER_FETCH;
    req->slot = slot;
    req->limit = limit;
    req->after = after != NULL ? xstrdup(after) : NULL;
    assert_int_equal(filter_parse(cmd, "", &req->filter, &err), STATUS_OK);
    req->filter.cmd = cmd;
    return req;
}

static pid_t pidfile(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.pid", getenv("STORES_DIR"), name);
    FILE *f = fopen(path, "r");
    int pid = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &pid), 1);
    fclose(f);
    return (pid_t)pid;
}

static int thaw_redis(void **state)
{
    (void)state;
    kill(pidfile("redis"), SIGCONT);
    return 0;
}

static void test_fetch_show_overview(void **state)
{
    (void)state;
    struct worker *w = test_worker();
    struct worker_health h;

    uint64_t pg_seq =
        worker_submit(w, WORKER_LANE_PG, fetch_req(find("sagas", "list"), 1, 5, NULL));
    uint64_t rd_seq =
        worker_submit(w, WORKER_LANE_REDIS, fetch_req(find("dlq", "list"), 2, 5, NULL));
    assert_true(rd_seq > pg_seq);

    struct worker_reply *pg = NULL, *rd = NULL;
    for (int i = 0; i < 2; i++) {
        struct worker_reply *r = wait_reply(w, 5000);
        assert_non_null(r);
        if (r->status != STATUS_OK)
            fail_msg("lane %d: %s", (int)r->lane, r->err.msg);
        if (r->lane == WORKER_LANE_PG)
            pg = r;
        else
            rd = r;
    }
    assert_non_null(pg);
    assert_non_null(rd);
    assert_int_equal(pg->seq, pg_seq);
    assert_int_equal(pg->slot, 1);
    assert_int_equal(pg->kind, WORKER_FETCH);
    assert_int_equal(json_array_size(pg->rows), 5);
    assert_non_null(pg->next);
    assert_null(pg->after);
    assert_true(pg->took_us > 0);
    assert_int_equal(rd->seq, rd_seq);
    assert_int_equal(rd->lane, WORKER_LANE_REDIS);
    assert_int_equal(json_array_size(rd->rows), 5);
    assert_non_null(rd->next);

    worker_health_get(w, WORKER_LANE_PG, &h);
    assert_true(h.connected);
    assert_false(h.busy);
    assert_int_equal(h.health.state, HEALTH_UP);
    assert_true(h.endpoint[0] != '\0');
    worker_health_get(w, WORKER_LANE_REDIS, &h);
    assert_true(h.connected);
    assert_non_null(strstr(h.endpoint, "redis.sock"));

    /* The second page follows the first; the cursor is echoed. */
    worker_submit(w, WORKER_LANE_PG, fetch_req(find("sagas", "list"), 1, 5, pg->next));
    struct worker_reply *p2 = wait_reply(w, 5000);
    assert_non_null(p2);
    assert_int_equal(p2->status, STATUS_OK);
    assert_string_equal(p2->after, pg->next);
    assert_int_equal(json_array_size(p2->rows), 5);
    const char *first_id =
        json_string_value(json_object_get(json_array_get(pg->rows, 0), "execution_id"));
    assert_non_null(first_id);
    assert_string_not_equal(
        first_id, json_string_value(json_object_get(json_array_get(p2->rows, 0), "execution_id")));

    /* A show. */
    struct worker_request *req = xcalloc(1, sizeof(*req));
    req->kind = WORKER_SHOW;
    req->slot = 3;
    req->show = find("sagas", "show");
    req->id = xstrdup(first_id);
    worker_submit(w, WORKER_LANE_PG, req);
    struct worker_reply *sh = wait_reply(w, 5000);
    assert_non_null(sh);
    if (sh->status != STATUS_OK)
        fail_msg("show: %s", sh->err.msg);
    assert_int_equal(sh->kind, WORKER_SHOW);
    assert_true(json_is_object(sh->item));

    /* Each lane's half of the overview with its extras. */
    for (int lane = WORKER_LANE_PG; lane <= WORKER_LANE_REDIS; lane++) {
        req = xcalloc(1, sizeof(*req));
        req->kind = WORKER_OVERVIEW;
        req->slot = 4;
        worker_submit(w, (enum worker_lane)lane, req);
        struct worker_reply *ov = wait_reply(w, 5000);
        assert_non_null(ov);
        if (ov->status != STATUS_OK)
            fail_msg("overview lane %d: %s", lane, ov->err.msg);
        assert_non_null(ov->ovw);
        if (lane == WORKER_LANE_PG) {
            assert_true(ov->ovw->ov.pg.up);
            assert_true(ov->ovw->ov.pgo.schedules_total > 0);
            assert_true(json_is_array(ov->ovw->next_runs));
            assert_true(json_array_size(ov->ovw->next_runs) > 0);
        } else {
            int64_t sum = 0;
            for (int i = 0; i < WORKER_INFLOW_MINUTES; i++)
                sum += ov->ovw->inflow[i];
            assert_true(ov->ovw->ov.redis.up);
            assert_true(ov->ovw->ov.rdo.dlq_depth > 0);
            assert_true(sum >= 0);
        }
        worker_reply_free(ov);
    }

    worker_reply_free(sh);
    worker_reply_free(p2);
    worker_reply_free(pg);
    worker_reply_free(rd);
    worker_free(w);
}

/* A verb whose fetch waits for the test: it keeps a lane busy for as long
 * as the test needs, and echoes the cursor of the request it ran. */
static int gate[2] = {-1, -1};

static const struct command_flag gate_flags[] = {
    {"--limit", "N", "page size"},
    {"--after", "CURSOR", "cursor"},
    {NULL, NULL, NULL},
};

static enum status gate_fetch(struct session *s, const struct command *cmd,
                              const struct command_args *a, json_t **rows, char **next,
                              struct error *err)
{
    (void)s;
    const char *after = command_arg(cmd, a, "--after");
    char c;
    /* On the lane's thread: no cmocka assertions here. */
    if (after != NULL && strcmp(after, "gate") == 0 && read(gate[0], &c, 1) != 1)
        return error_set(err, STATUS_UNAVAILABLE, "gate: read failed");
    *rows = json_pack("[{s:s?}]", "after", after);
    *next = NULL;
    return STATUS_OK;
}

static const struct command gate_cmd = {
    .name = "gate list",
    .opts = gate_flags,
    .run = NULL,
    .fetch = gate_fetch,
};

static void *open_gate_later(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    if (write(gate[1], "x", 1) != 1)
        abort();
    return NULL;
}

static void test_replace_by_slot(void **state)
{
    (void)state;
    struct worker *w = test_worker();
    struct worker_health h;

    assert_int_equal(pipe(gate), 0);
    uint64_t busy = worker_submit(w, WORKER_LANE_PG, fetch_req(&gate_cmd, 9, 1, "gate"));
    int64_t deadline = time_mono_ms() + 5000;
    do {
        worker_health_get(w, WORKER_LANE_PG, &h);
    } while (!h.busy && time_mono_ms() < deadline);
    assert_true(h.busy);
    assert_true(h.busy_since_us > 0);

    /* Queued behind the busy one: the second of slot 1 replaces the first,
     * which never runs. */
    uint64_t stale = worker_submit(w, WORKER_LANE_PG, fetch_req(&gate_cmd, 1, 1, "stale"));
    uint64_t other = worker_submit(w, WORKER_LANE_PG, fetch_req(&gate_cmd, 2, 1, "other"));
    uint64_t fresh = worker_submit(w, WORKER_LANE_PG, fetch_req(&gate_cmd, 1, 1, "fresh"));
    assert_true(fresh > other && other > stale && stale > busy);
    assert_int_equal(write(gate[1], "x", 1), 1);

    /* The replacement takes the dropped one's place in the queue. */
    const uint64_t want[] = {busy, fresh, other};
    const char *cursor[] = {"gate", "fresh", "other"};
    for (size_t i = 0; i < 3; i++) {
        struct worker_reply *r = wait_reply(w, 5000);
        assert_non_null(r);
        assert_int_equal(r->status, STATUS_OK);
        assert_int_equal(r->seq, want[i]);
        assert_string_equal(json_string_value(json_object_get(json_array_get(r->rows, 0), "after")),
                            cursor[i]);
        worker_reply_free(r);
    }
    assert_null(wait_reply(w, 300));

    /* Freed with a request running, one queued behind it and a reply not
     * taken: the running one ends, the queued one never starts, and
     * nothing leaks (the sanitizer build checks). */
    worker_submit(w, WORKER_LANE_PG, fetch_req(&gate_cmd, 9, 1, "gate"));
    worker_submit(w, WORKER_LANE_PG, fetch_req(&gate_cmd, 1, 1, "queued"));
    worker_submit(w, WORKER_LANE_REDIS, fetch_req(&gate_cmd, 1, 1, "answered"));
    struct pollfd p = {.fd = worker_fd(w), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
    worker_free(w);
    pthread_join(opener, NULL);
    close(gate[0]);
    close(gate[1]);
}

static void notify(int n)
{
    char cmd[1024];
    int len = snprintf(cmd, sizeof(cmd), "psql -X -q -d \"$OPSDECK_POSTGRES\" -c \"");
    for (int i = 0; i < n; i++)
        len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, "NOTIFY wf_changes, 'test %d';", i);
    snprintf(cmd + len, sizeof(cmd) - (size_t)len, "\" >/dev/null");
    assert_int_equal(system(cmd), 0);
}

static void test_changed(void **state)
{
    (void)state;
    struct worker *w = test_worker();
    struct worker_reply *r;

    /* LISTEN starts once the lane has connected. */
    worker_submit(w, WORKER_LANE_PG, fetch_req(find("sagas", "list"), 1, 1, NULL));
    r = wait_reply(w, 5000);
    assert_non_null(r);
    assert_int_equal(r->status, STATUS_OK);
    worker_reply_free(r);

    /* The LISTEN may not be in place yet: notify until it is heard. */
    r = NULL;
    for (int i = 0; i < 50 && r == NULL; i++) {
        notify(1);
        r = wait_any(w, 200);
    }
    assert_non_null(r);
    assert_int_equal(r->kind, WORKER_CHANGED);
    assert_int_equal(r->lane, WORKER_LANE_PG);
    worker_reply_free(r);
    while ((r = wait_any(w, 500)) != NULL) {
        assert_int_equal(r->kind, WORKER_CHANGED);
        worker_reply_free(r);
    }

    /* Many notifications while none is taken: one CHANGED waits. */
    notify(5);
    notify(3);
    usleep(500 * 1000);
    r = worker_take(w);
    assert_non_null(r);
    assert_int_equal(r->kind, WORKER_CHANGED);
    worker_reply_free(r);
    assert_null(worker_take(w));

    /* Taken, the next change is reported again. */
    notify(1);
    r = wait_any(w, 3000);
    assert_non_null(r);
    assert_int_equal(r->kind, WORKER_CHANGED);
    worker_reply_free(r);
    worker_free(w);
}

static void test_hung_redis(void **state)
{
    (void)state;
    struct worker *w = test_worker();
    struct worker_reply *r;
    struct worker_health h;

    /* Both lanes connected first. */
    worker_submit(w, WORKER_LANE_REDIS, fetch_req(find("dlq", "list"), 2, 5, NULL));
    worker_submit(w, WORKER_LANE_PG, fetch_req(find("sagas", "list"), 1, 5, NULL));
    for (int i = 0; i < 2; i++) {
        r = wait_reply(w, 5000);
        assert_non_null(r);
        assert_int_equal(r->status, STATUS_OK);
        worker_reply_free(r);
    }

    pid_t redis = pidfile("redis");
    assert_int_equal(kill(redis, SIGSTOP), 0);
    int64_t t0 = time_mono_ms();
    uint64_t rd_seq =
        worker_submit(w, WORKER_LANE_REDIS, fetch_req(find("dlq", "list"), 2, 5, NULL));
    usleep(100 * 1000);
    worker_health_get(w, WORKER_LANE_REDIS, &h);
    assert_true(h.busy);
    uint64_t pg_seq =
        worker_submit(w, WORKER_LANE_PG, fetch_req(find("sagas", "list"), 1, 5, NULL));

    /* The PostgreSQL page comes first, well before Redis's timeout. */
    r = wait_reply(w, 5000);
    assert_non_null(r);
    assert_int_equal(r->seq, pg_seq);
    assert_int_equal(r->status, STATUS_OK);
    assert_true(time_mono_ms() - t0 < 800);
    worker_reply_free(r);

    /* Redis's fails within its command timeout and marks the lane down. */
    r = wait_reply(w, 5000);
    assert_non_null(r);
    assert_int_equal(r->seq, rd_seq);
    assert_int_equal(r->status, STATUS_UNAVAILABLE);
    assert_int_equal(r->err.status, STATUS_UNAVAILABLE);
    assert_true(r->err.msg[0] != '\0');
    assert_true(time_mono_ms() - t0 < 2500);
    worker_reply_free(r);
    worker_health_get(w, WORKER_LANE_REDIS, &h);
    assert_false(h.busy);
    assert_false(h.connected);
    assert_int_equal(h.health.state, HEALTH_DOWN);
    assert_true(h.health.down_since_us > 0);

    /* Freeing with a Redis call in flight waits no longer than its timeout. */
    worker_health_get(w, WORKER_LANE_REDIS, &h);
    int64_t wait = health_retry_in_ms(&h.health, time_mono_ms());
    usleep((useconds_t)(wait + 20) * 1000);
    worker_submit(w, WORKER_LANE_REDIS, fetch_req(find("dlq", "list"), 2, 5, NULL));
    usleep(100 * 1000);
    t0 = time_mono_ms();
    worker_free(w);
    assert_true(time_mono_ms() - t0 < 3500);
    kill(redis, SIGCONT);
}

static void stores(const char *verb)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "\"%s\" stores %s --dir \"%s\" >/dev/null", getenv("OPSDECK"), verb,
             getenv("STORES_DIR"));
    assert_int_equal(system(cmd), 0);
}

/* A restarted server: the lane LISTENs again on its own, says CHANGED for
 * what it may have missed, and hears the next NOTIFY. */
static void test_listen_reconnect(void **state)
{
    (void)state;
    struct worker *w = test_worker();
    struct worker_reply *r;

    worker_submit(w, WORKER_LANE_PG, fetch_req(find("sagas", "list"), 1, 1, NULL));
    r = wait_reply(w, 5000);
    assert_non_null(r);
    assert_int_equal(r->status, STATUS_OK);
    worker_reply_free(r);
    r = NULL;
    for (int i = 0; i < 50 && r == NULL; i++) {
        notify(1);
        r = wait_any(w, 200);
    }
    assert_non_null(r);
    worker_reply_free(r);
    while ((r = wait_any(w, 300)) != NULL)
        worker_reply_free(r);

    stores("stop");
    stores("start");
    r = wait_any(w, 20000);
    assert_non_null(r);
    assert_int_equal(r->kind, WORKER_CHANGED);
    worker_reply_free(r);
    notify(1);
    r = wait_any(w, 3000);
    assert_non_null(r);
    assert_int_equal(r->kind, WORKER_CHANGED);
    worker_reply_free(r);
    worker_free(w);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_worker: a call hung\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_show_overview),
        cmocka_unit_test(test_replace_by_slot),
        cmocka_unit_test(test_changed),
        cmocka_unit_test_teardown(test_hung_redis, thaw_redis),
        cmocka_unit_test(test_listen_reconnect),
    };
    if (getenv("STORES_DIR") == NULL || getenv("OPSDECK") == NULL) {
        fprintf(stderr, "test_worker: run me through tests/cli/worker.sh\n");
        return 1;
    }
    signal(SIGALRM, on_alarm);
    alarm(90);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
