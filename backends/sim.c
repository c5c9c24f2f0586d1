/* The simulator's engine loop: one poll() over the PostgreSQL socket (for
 * NOTIFY) and the Redis subscribers, a tick every 100 ms that gives each
 * part its turn, and the shared random source, ids, times and log. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/pg_internal.h"
#include "backends/sim_internal.h"
#include "util/buf.h"
#include "util/sanitize.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

/* The loop's cadence; parts keep their own slower timers. */
#define SIM_TICK_MS 100
/* How often a store that is down is tried again (the connection's own
 * breaker decides; this only bounds the log). */
#define SIM_DOWN_LOG_MS 10000

static const char *const sim_queue_list[] = {
    "orders.events", "payments.events", "shipping.events", "notifications.events", NULL,
};

const char *const *sim_queues(void)
{
    return sim_queue_list;
}

/* ---- randomness, ids, times, log ---------------------------------------- */

/* splitmix64: small, fast, and the same sequence for the same seed on
 * every platform. */
uint64_t sim_rand(struct sim *s)
{
    uint64_t z = (s->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

double sim_unit(struct sim *s)
{
    return (double)(sim_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

bool sim_chance(struct sim *s, double p)
{
    return sim_unit(s) < p;
}

uint64_t sim_between(struct sim *s, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + sim_rand(s) % (hi - lo + 1);
}

const char *sim_pick(struct sim *s, const char *const *list, size_t n)
{
    return list[sim_rand(s) % n];
}

char *sim_new_id(struct sim *s, const char *prefix)
{
    return xasprintf("%s-%012" PRIx64, prefix, sim_rand(s) & UINT64_C(0xffffffffffff));
}

void sim_iso(int64_t us, bool space, char out[32])
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, space ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06u", (unsigned)(us % 1000000));
}

void sim_log(struct sim *s, const char *fmt, ...)
{
    if (s->o->log == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *what = xvasprintf(fmt, ap);
    va_end(ap);
    char when[32];
    sim_iso(time_now_us(), false, when);
    /* The whole line: the engine's name is the user's text too. */
    char *raw = xasprintf("%.23sZ %s %s", when, s->o->instance, what);
    char *safe = sanitize_dup(raw, 0);
    fprintf(s->o->log, "%s\n", safe);
    free(what);
    fflush(s->o->log);
    free(safe);
    free(raw);
}

/* ---- the loop ------------------------------------------------------------ */

/* Reads what arrived on the PostgreSQL socket and notes the channels. */
static void sim_notifies(struct sim *s)
{
    PGconn *conn = pg_conn_raw(s->pg);
    if (conn == NULL)
        return;
    if (!PQconsumeInput(conn)) {
        pg_conn_close(s->pg);
        return;
    }
    PGnotify *n;
    while ((n = PQnotifies(conn)) != NULL) {
        if (strcmp(n->relname, "wf_signals") == 0)
            s->signals_note = true;
        else if (strcmp(n->relname, "wf_schedule_requests") == 0)
            s->requests_note = true;
        PQfreemem(n);
    }
}

/* A part's failure: a store that is down is waited out (the connections
 * back off on their own); anything else ends the run. */
static bool sim_survives(struct sim *s, enum status rc, struct error *err, int64_t *logged_ms)
{
    if (rc == STATUS_OK)
        return true;
    if (rc != STATUS_UNAVAILABLE)
        return false;
    int64_t now = time_mono_ms();
    if (*logged_ms == 0 || now - *logged_ms >= SIM_DOWN_LOG_MS) {
        sim_log(s, "store unavailable, retrying: %s", err->msg);
        *logged_ms = now;
    }
    return true;
}

enum status sim_run(struct pg_conn *pg, struct redis_conn *redis, const struct sim_options *o,
                    const volatile sig_atomic_t *stop, struct error *err)
{
    struct sim s = {.o = o, .pg = pg, .redis = redis};
    enum status rc;
    int64_t started = time_mono_ms(), logged = 0;

    s.rng = o->seed != 0 ? o->seed : (uint64_t)time_now_us() ^ ((uint64_t)getpid() << 32);
    s.now_us = time_now_us();
    if ((rc = sim_circuits_new(&s, &s.circuits, err)) != STATUS_OK ||
        (rc = sim_dlq_new(&s, &s.dlq, err)) != STATUS_OK ||
        (rc = sim_schedules_new(&s, &s.schedules, err)) != STATUS_OK ||
        (rc = sim_sagas_new(&s, &s.sagas, err)) != STATUS_OK)
        goto out;
    sim_log(&s, "engine started (rate %.2f sagas/s, seed %" PRIu64 ")", o->rate,
            o->seed != 0 ? o->seed : s.rng);

    while (!*stop) {
        int64_t t0 = time_mono_ms();
        if (o->duration_ms > 0 && t0 - started >= o->duration_ms)
            break;
        s.now_us = time_now_us();
        struct error e = {0};
        if (!sim_survives(&s, sim_circuits_tick(&s, &e), &e, &logged) ||
            !sim_survives(&s, sim_sagas_tick(&s, &e), &e, &logged) ||
            !sim_survives(&s, sim_schedules_tick(&s, &e), &e, &logged) ||
            !sim_survives(&s, sim_dlq_tick(&s, &e), &e, &logged)) {
            *err = e;
            rc = e.status != STATUS_OK ? e.status : STATUS_UNAVAILABLE;
            goto out;
        }

        /* Sleep until the next tick, waking early for a notification. */
        struct pollfd fds[3];
        nfds_t nfds = 0;
        PGconn *conn = pg_conn_raw(pg);
        int pgfd = conn != NULL ? PQsocket(conn) : -1;
        if (pgfd >= 0)
            fds[nfds++] = (struct pollfd){.fd = pgfd, .events = POLLIN};
        int fd = sim_dlq_fd(s.dlq);
        if (fd >= 0)
            fds[nfds++] = (struct pollfd){.fd = fd, .events = POLLIN};
        fd = sim_circuits_fd(s.circuits);
        if (fd >= 0)
            fds[nfds++] = (struct pollfd){.fd = fd, .events = POLLIN};
        int64_t left = SIM_TICK_MS - (time_mono_ms() - t0);
        if (left > 0 && poll(fds, nfds, (int)left) < 0 && errno != EINTR) {
            rc = error_set(err, STATUS_UNAVAILABLE, "poll: %s", strerror(errno));
            goto out;
        }
        if (pgfd >= 0)
            sim_notifies(&s);
    }
    struct error e = {0};
    if (sim_sagas_park(&s, &e) != STATUS_OK)
        sim_log(&s, "could not release the running sagas: %s", e.msg);
    sim_log(&s, "engine stopped");
    rc = STATUS_OK;
out:
    sim_sagas_free(s.sagas);
    sim_schedules_free(s.schedules);
    sim_dlq_free(s.dlq);
    sim_circuits_free(s.circuits);
    return rc;
}

enum status sim_populate(struct pg_conn *pg, struct redis_conn *redis, const struct sim_options *o,
                         const struct sim_sizes *sizes, const volatile sig_atomic_t *stop,
                         struct error *err)
{
    struct sim s = {.o = o, .pg = pg, .redis = redis};
    enum status rc;

    s.rng = o->seed != 0 ? o->seed : (uint64_t)time_now_us() ^ ((uint64_t)getpid() << 32);
    s.now_us = time_now_us();
    if ((rc = sim_populate_pg(&s, sizes, stop, err)) != STATUS_OK)
        return rc;
    return sim_populate_redis(&s, sizes, stop, err);
}
