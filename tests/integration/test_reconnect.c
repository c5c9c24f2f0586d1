/* The connection modules against real servers that stop, hang and come
 * back: timeouts bound every call, health records the outage, the breaker
 * fails fast until the next retry, and the next allowed call reconnects.
 * Run through tests/cli/reconnect.sh, which provides the servers. */
#include <config.h>

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

#include "backends/pg_conn.h"
#include "backends/redis_conn.h"
#include "tests/common/testutil.h"
#include "util/timeutil.h"

static pid_t pidfile(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s.pid", getenv("STORES_DIR"), name);
    FILE *f = fopen(path, "r");
    int pid = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d", &pid), 1); /* "PID STARTTIME" */
    fclose(f);
    return (pid_t)pid;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Freezes or thaws a whole PostgreSQL server: the postmaster and every
 * backend, each of which PostgreSQL puts in a session of its own. */
static void pg_signal_all(pid_t postmaster, const char *sig)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "pkill -%s -P %d; kill -%s %d", sig, (int)postmaster, sig,
             (int)postmaster);
    assert_int_equal(system(cmd), 0);
}

static void stores(const char *verb)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "\"%s\" stores %s --dir \"%s\" >/dev/null", getenv("OPSDECK"), verb,
             getenv("STORES_DIR"));
    assert_int_equal(system(cmd), 0);
}

/* Whatever a test left frozen runs again, so the harness can stop it. */
static int thaw_all(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "for f in \"%s\"/postgres.pid \"%s\"/redis.pid; do p=$(cut -d' ' -f1 \"$f\" 2>/dev/null) "
             "&& { pkill -CONT -P \"$p\"; kill -CONT \"$p\"; }; done 2>/dev/null; true",
             getenv("STORES_DIR"), getenv("STORES_DIR"));
    return system(cmd) == 0 ? 0 : -1;
}

static void test_pg_outage(void **state)
{
    (void)state;
    struct pg_conn_options o = {.conninfo = getenv("OPSDECK_POSTGRES"),
                                .connect_timeout_ms = 1000, .command_timeout_ms = 1000};
    struct pg_conn *c = pg_conn_new(&o);
    struct error err;
    int64_t rtt, t0;

    assert_int_equal(pg_conn_ping(c, &rtt, &err), STATUS_OK);
    assert_int_equal(pg_conn_health(c)->state, HEALTH_UP);

    /* A hung server: the command deadline, not a hang. */
    pid_t pid = pidfile("postgres");
    pg_signal_all(pid, "STOP");
    t0 = time_mono_ms();
    assert_int_equal(pg_conn_ping(c, &rtt, &err), STATUS_UNAVAILABLE);
    assert_true(time_mono_ms() - t0 < 2500);
    assert_non_null(strstr(err.msg, "no answer within 1s"));
    assert_non_null(strstr(err.msg, ":5432"));
    assert_int_equal(pg_conn_health(c)->state, HEALTH_DOWN);
    assert_true(pg_conn_health(c)->down_since_us > 0);

    /* Open breaker: the next call fails fast and says when it retries. */
    t0 = time_mono_ms();
    assert_int_equal(pg_conn_ping(c, &rtt, &err), STATUS_UNAVAILABLE);
    assert_true(time_mono_ms() - t0 < 100);
    assert_non_null(strstr(err.msg, "down since"));
    assert_non_null(strstr(err.msg, "retrying in"));

    /* Back: once the retry time has come, the call reconnects. */
    pg_signal_all(pid, "CONT");
    sleep_ms(health_retry_in_ms(pg_conn_health(c), time_mono_ms()) + 20);
    assert_int_equal(pg_conn_ping(c, &rtt, &err), STATUS_OK);
    assert_int_equal(pg_conn_health(c)->state, HEALTH_UP);
    assert_int_equal(pg_conn_health(c)->down_since_us, 0);

    /* A restart drops the session; the next allowed call reconnects. */
    stores("stop");
    assert_int_equal(pg_conn_ping(c, &rtt, &err), STATUS_UNAVAILABLE);
    int64_t first_wait = health_retry_in_ms(pg_conn_health(c), time_mono_ms());
    sleep_ms(first_wait + 20);
    assert_int_equal(pg_conn_ping(c, &rtt, &err), STATUS_UNAVAILABLE);
    /* A failed probe backs off further (jitter keeps it within [d/2, d]). */
    assert_true(pg_conn_health(c)->backoff_ms >= 1000);
    stores("start");
    sleep_ms(health_retry_in_ms(pg_conn_health(c), time_mono_ms()) + 20);
    assert_int_equal(pg_conn_ping(c, &rtt, &err), STATUS_OK);
    assert_non_null(pg_conn_session_user(c));
    assert_string_equal(pg_conn_session_user(c), "postgres");
    pg_conn_free(c);
}

static void test_redis_outage(void **state)
{
    (void)state;
    struct redis_conn_options o = {.url = getenv("OPSDECK_REDIS"), .connect_timeout_ms = 1000,
                                   .command_timeout_ms = 1000};
    struct redis_conn *c = NULL;
    struct error err;
    int64_t rtt, t0;

    assert_int_equal(redis_conn_new(&o, &c, &err), STATUS_OK);
    assert_int_equal(redis_conn_ping(c, &rtt, &err), STATUS_OK);

    /* Connected first, then hung: only the command timeout set after the
     * connect (hiredis 0.14 times only the connect) bounds this PING. */
    pid_t pid = pidfile("redis");
    kill(pid, SIGSTOP);
    t0 = time_mono_ms();
    assert_int_equal(redis_conn_ping(c, &rtt, &err), STATUS_UNAVAILABLE);
    assert_true(time_mono_ms() - t0 < 2500);
    assert_non_null(strstr(err.msg, "no answer within 1s"));
    assert_non_null(strstr(err.msg, "redis.sock"));
    assert_int_equal(redis_conn_health(c)->state, HEALTH_DOWN);

    t0 = time_mono_ms();
    assert_int_equal(redis_conn_ping(c, &rtt, &err), STATUS_UNAVAILABLE);
    assert_true(time_mono_ms() - t0 < 100);
    assert_non_null(strstr(err.msg, "retrying in"));

    kill(pid, SIGCONT);
    sleep_ms(health_retry_in_ms(redis_conn_health(c), time_mono_ms()) + 20);
    assert_int_equal(redis_conn_ping(c, &rtt, &err), STATUS_OK);
    assert_int_equal(redis_conn_health(c)->state, HEALTH_UP);

    /* The reconnected session has the command timeout again. */
    kill(pid, SIGSTOP);
    redis_conn_close(c);
    sleep_ms(10);
    t0 = time_mono_ms();
    assert_int_equal(redis_conn_ping(c, &rtt, &err), STATUS_UNAVAILABLE);
    assert_true(time_mono_ms() - t0 < 2500);
    kill(pid, SIGCONT);
    redis_conn_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_pg_outage, thaw_all),
        cmocka_unit_test_teardown(test_redis_outage, thaw_all),
    };
    if (getenv("STORES_DIR") == NULL || getenv("OPSDECK") == NULL) {
        fprintf(stderr, "test_reconnect: run me through tests/cli/reconnect.sh\n");
        return 1;
    }
    /* A hang is the bug this test looks for: fail instead of waiting. */
    testutil_watchdog("test_reconnect", 60);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
