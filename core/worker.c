/* Store calls off the console's thread: one thread per lane, each with its
 * own session, a request queue per lane and one reply queue behind a pipe
 * the console polls. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/redis_actions.h"
#include "core/cli.h"
#include "core/command.h"
#include "core/out.h"
#include "core/session.h"
#include "core/worker.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define WORKER_LISTEN_CHANNEL  "wf_changes"
#define WORKER_LISTEN_RETRY_MS 3000 /* at most one LISTEN connect per this long */
#define WORKER_NEXT_RUNS       5

/* One lane. Fields marked (lock) are shared with the console's thread;
 * the session and the listen connection belong to the lane's thread once
 * it runs. */
struct worker_thread {
    struct worker *w;
    enum worker_lane lane;
    pthread_t thread;
    bool started;
    int wake[2]; /* submit and free write, the thread polls */
    struct session *s;
    struct worker_request **queue; /* (lock) oldest first */
    size_t nqueue, capqueue;
    struct worker_health health; /* (lock) copied after every call */
    char setup_err[256];         /* why the Redis handle could not be made */
    unsigned running_cancel;     /* (lock) the running RUN's cancel_slot, else 0 */
    atomic_llong progress;       /* what the running RUN has done (dlq export's events) */
    atomic_int cancel;           /* set (under the lock) by worker_cancel; the running
                                  * verb polls it through its session */

    /* PG lane only. */
    struct pg_conn *listen;
    bool listen_wanted;    /* the lane's session has connected once */
    bool listen_was_up;    /* a LISTEN has succeeded before */
    int64_t listen_due_ms; /* monotonic: the next LISTEN attempt */
};

struct worker {
    pthread_mutex_t lock;
    bool lock_ready;
    bool stop;                     /* (lock) */
    uint64_t seq;                  /* (lock) */
    int reply_pipe[2];             /* readable iff replies is not empty */
    struct worker_reply **replies; /* (lock) oldest first */
    size_t nreplies, capreplies;
    bool changed_waiting; /* (lock) a CHANGED reply is not taken yet */
    struct worker_thread lanes[WORKER_LANES];
};

static int64_t worker_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool worker_pipe(int fds[2])
{
    if (pipe(fds) != 0) {
        fds[0] = fds[1] = -1;
        return false;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
    return true;
}

static void worker_pipe_close(int fds[2])
{
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
        fds[i] = -1;
    }
}

/* A full pipe is already a wake-up, so a failed write loses nothing. */
static void worker_poke(int fd)
{
    ssize_t n = write(fd, "x", 1);
    (void)n;
}

/* Copies src into dst, cut to fit. */
static void worker_strcpy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void worker_drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static struct pg_conn *worker_pg_new(const struct config *cfg)
{
    struct pg_conn_options o = {
        .conninfo = config_str(cfg, OPTION_POSTGRES),
        .connect_timeout_ms = config_ms(cfg, OPTION_CONNECT_TIMEOUT),
        .command_timeout_ms = config_ms(cfg, OPTION_COMMAND_TIMEOUT),
        .lock_timeout_ms = config_ms(cfg, OPTION_LOCK_TIMEOUT),
    };
    return pg_conn_new(&o);
}

/* One connection's part of a lane's health. */
static void worker_pg_state(const struct pg_conn *c, struct health *h, const char **endpoint,
                            bool *connected)
{
    *h = *pg_conn_health(c);
    *endpoint = pg_conn_endpoint(c);
    *connected = pg_conn_socket(c) >= 0;
}

static void worker_redis_state(const struct worker_thread *t, struct health *h,
                               const char **endpoint, bool *connected)
{
    if (t->s->redis == NULL) {
        memset(h, 0, sizeof(*h));
        worker_strcpy(h->last_error, sizeof(h->last_error), t->setup_err);
        *endpoint = "";
        *connected = false;
        return;
    }
    *h = *redis_conn_health(t->s->redis);
    *endpoint = redis_conn_endpoint(t->s->redis);
    *connected = h->state == HEALTH_UP;
}

/* Copies the lane's connection health into t->health; the caller holds
 * the lock (or no thread runs yet). The BOTH lane shows whichever of its
 * two connections is down, PostgreSQL first. */
static void worker_health_copy(struct worker_thread *t)
{
    struct worker_health *out = &t->health;
    struct health pg_h, rd_h;
    const char *pg_end = "", *rd_end = "";
    bool pg_up = false, rd_up = false;

    memset(&pg_h, 0, sizeof(pg_h));
    memset(&rd_h, 0, sizeof(rd_h));
    if (t->lane != WORKER_LANE_REDIS)
        worker_pg_state(t->s->pg, &pg_h, &pg_end, &pg_up);
    if (t->lane != WORKER_LANE_PG)
        worker_redis_state(t, &rd_h, &rd_end, &rd_up);

    switch (t->lane) {
    case WORKER_LANE_PG:
        out->store = "PostgreSQL";
        out->health = pg_h;
        out->connected = pg_up;
        worker_strcpy(out->endpoint, sizeof(out->endpoint), pg_end);
        break;
    case WORKER_LANE_REDIS:
        out->store = "Redis";
        out->health = rd_h;
        out->connected = rd_up;
        worker_strcpy(out->endpoint, sizeof(out->endpoint), rd_end);
        break;
    default: {
        bool redis_first = pg_h.state != HEALTH_DOWN && rd_h.state == HEALTH_DOWN;
        out->store = redis_first ? "Redis" : "PostgreSQL";
        out->health = redis_first ? rd_h : pg_h;
        out->connected = pg_up && rd_up;
        worker_strcpy(out->endpoint, sizeof(out->endpoint), redis_first ? rd_end : pg_end);
        break;
    }
    }
}

/* Queues r; the caller holds the lock. The pipe holds a byte exactly
 * while the queue is not empty. */
static void worker_post_locked(struct worker *w, struct worker_reply *r)
{
    if (w->nreplies == w->capreplies) {
        w->capreplies = w->capreplies != 0 ? w->capreplies * 2 : 8;
        w->replies = xreallocarray(w->replies, w->capreplies, sizeof(*w->replies));
    }
    w->replies[w->nreplies++] = r;
    if (w->nreplies == 1)
        worker_poke(w->reply_pipe[1]);
}

static void worker_post_changed(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    if (!w->changed_waiting) {
        struct worker_reply *r = xcalloc(1, sizeof(*r));
        r->kind = WORKER_CHANGED;
        r->lane = WORKER_LANE_PG;
        r->status = STATUS_OK;
        error_clear(&r->err);
        w->changed_waiting = true;
        worker_post_locked(w, r);
    }
    pthread_mutex_unlock(&w->lock);
}

static enum status worker_fetch(struct worker_thread *t, struct worker_request *req,
                                struct worker_reply *r)
{
    const struct command *cmd = req->filter.cmd;
    struct command_args args;
    char limit_buf[16];

    if (cmd == NULL || cmd->fetch == NULL)
        return error_set(&r->err, STATUS_USAGE, "%s is not a list verb",
                         cmd != NULL ? cmd->name : "(none)");
    filter_page_args(&req->filter, req->limit, req->after, limit_buf, &args);
    return cmd->fetch(t->s, cmd, &args, &r->rows, &r->next, &r->err);
}

static enum status worker_show(struct worker_thread *t, struct worker_request *req,
                               struct worker_reply *r)
{
    if (req->show == NULL || req->show->fetch_one == NULL)
        return error_set(&r->err, STATUS_USAGE, "%s is not a show verb",
                         req->show != NULL ? req->show->name : "(none)");
    if (req->id == NULL)
        return error_set(&r->err, STATUS_USAGE, "%s: no id", req->show->name);
    if (req->unmask) {
        if (req->show->fetch_unmasked == NULL)
            return error_set(&r->err, STATUS_USAGE, "%s cannot unmask", req->show->name);
        return req->show->fetch_unmasked(t->s, req->id, &r->item, &r->err);
    }
    return req->show->fetch_one(t->s, req->id, &r->item, &r->err);
}

/* A replay job's hash, for a progress bar while the job runs on another
 * lane. */
static enum status worker_job(struct worker_thread *t, struct worker_request *req,
                              struct worker_reply *r)
{
    struct redis_conn *c;
    enum status st = session_redis(t->s, &c, &r->err);
    if (st != STATUS_OK)
        return st;
    return redis_actions_job_get(c, config_str(t->s->cfg, OPTION_DLQ_PREFIX), req->id, &r->item,
                                 &r->err);
}

static enum status worker_overview_pg(struct worker_thread *t, struct worker_overview *ovw,
                                      struct error *err)
{
    enum status st = ovw->ov.pg.status;

    if (st != STATUS_OK) {
        *err = ovw->ov.pg.err;
        goto out;
    }
    /* Nothing to read from a store that is not migrated yet. */
    if (ovw->ov.pgo.schema_version == 0) {
        ovw->next_runs = json_array();
        goto out;
    }
    st = pg_overview_next_runs(session_pg(t->s), session_schema(t->s), WORKER_NEXT_RUNS,
                               &ovw->next_runs, err);
out:
    return st;
}

static enum status worker_overview_redis(struct worker_thread *t, struct worker_overview *ovw,
                                         struct error *err)
{
    struct redis_conn *conn = NULL;
    enum status st = ovw->ov.redis.status;

    if (st != STATUS_OK) {
        *err = ovw->ov.redis.err;
        goto out;
    }
    st = session_redis(t->s, &conn, err);
    if (st != STATUS_OK)
        goto out;
    st = redis_overview_inflow(conn, config_str(t->s->cfg, OPTION_DLQ_PREFIX), time_now_us(),
                               WORKER_INFLOW_MINUTES, ovw->inflow, err);
out:
    return st;
}

/* The lane's half of the overview and its extras; the reply carries it
 * even when a part failed, with the first failure as its status. */
static enum status worker_overview(struct worker_thread *t, struct worker_reply *r)
{
    struct worker_overview *ovw = xcalloc(1, sizeof(*ovw));
    enum status st = STATUS_OK;
    struct error err2;

    r->ovw = ovw;
    switch (t->lane) {
    case WORKER_LANE_PG:
        overview_collect_pg(t->s, &ovw->ov);
        st = worker_overview_pg(t, ovw, &r->err);
        break;
    case WORKER_LANE_REDIS:
        overview_collect_redis(t->s, &ovw->ov);
        st = worker_overview_redis(t, ovw, &r->err);
        break;
    default:
        overview_collect(t->s, &ovw->ov);
        st = worker_overview_pg(t, ovw, &r->err);
        error_clear(&err2);
        enum status st2 = worker_overview_redis(t, ovw, &err2);
        if (st == STATUS_OK && st2 != STATUS_OK) {
            st = st2;
            r->err = err2;
        }
        break;
    }
    return st;
}

/* Closes a memstream (f may be NULL) and takes its text, "" when there is
 * none: *buf is set by the close. */
static char *worker_memstream_take(FILE *f, char **buf)
{
    if (f != NULL && fclose(f) != 0)
        xfatal("worker: cannot keep a verb's output: %s", strerror(errno));
    return *buf != NULL ? *buf : xstrdup("");
}

/* A verb as the command line runs it (see cli_main), its stdout and stderr
 * kept in the reply. */
static enum status worker_run_verb(struct worker_thread *t, struct worker_request *req,
                                   struct worker_reply *r)
{
    const struct command *cmd = req->cmd;
    struct session *s = t->s;
    struct command_args args;
    const char **pos = NULL;
    char *text = NULL, *diag = NULL;
    size_t ntext = 0, ndiag = 0;
    FILE *out = NULL, *err_f = NULL, *saved_out = s->out;
    bool saved_json = s->json;
    enum status st;

    if (cmd == NULL || cmd->run == NULL) {
        st = error_set(&r->err, STATUS_USAGE, "%s cannot be run",
                       cmd != NULL ? cmd->name : "(no verb)");
        goto out;
    }
    /* These manage the terminal, processes or files of their own. */
    if (cmd->flags & COMMAND_NO_CONFIG) {
        st = error_set(&r->err, STATUS_USAGE, "'opsdeck %s' does not run inside the console",
                       cmd->name);
        goto out;
    }
    if (req->argc > INT_MAX) {
        st = error_set(&r->err, STATUS_USAGE, "too many arguments for 'opsdeck %s'", cmd->name);
        goto out;
    }
    pos = xcalloc(req->argc + 1, sizeof(*pos));
    st = cli_parse_verb_args(cmd, (int)req->argc, req->argv, &args, pos, &r->err);
    if (st != STATUS_OK)
        goto out;
    if (command_writes(cmd, &args) && config_bool(s->cfg, OPTION_READ_ONLY)) {
        st = error_set(&r->err, STATUS_DENIED,
                       "read-only mode (%s): 'opsdeck %s' would change "
                       "the store; nothing changed",
                       config_origin(s->cfg, OPTION_READ_ONLY), cmd->name);
        goto out;
    }

    out = open_memstream(&text, &ntext);
    err_f = open_memstream(&diag, &ndiag);
    if (out == NULL || err_f == NULL)
        xfatal("worker: open_memstream: %s", strerror(errno));
    s->out = out;
    s->json = req->json; /* text lines, unless the console reads a document */
    s->cancel = &t->cancel;
    s->progress = &t->progress;
    out_capture_begin(err_f);
    st = cmd->run(s, cmd, &args, &r->err);
    out_capture_end();
    s->cancel = NULL;
    s->progress = NULL;
    s->json = saved_json;
    s->out = saved_out;
out:
    r->text = worker_memstream_take(out, &text);
    r->diag = worker_memstream_take(err_f, &diag);
    free(pos);
    return st;
}

/* What the lane's role may do: asked once a connection by the console. */
static enum status worker_rights(struct worker_thread *t, struct worker_reply *r)
{
    struct redis_conn *c;
    enum status st;
    if (t->lane == WORKER_LANE_PG)
        return rights_pg(session_pg(t->s), session_schema(t->s), &r->rights, r->who, sizeof(r->who),
                         &r->err);
    if (t->lane != WORKER_LANE_REDIS)
        return error_set(&r->err, STATUS_USAGE, "rights: asked of a lane of both stores");
    if ((st = session_redis(t->s, &c, &r->err)) != STATUS_OK)
        return st;
    return rights_redis(c, config_str(t->s->cfg, OPTION_DLQ_PREFIX), &r->rights, &r->err);
}

/* Runs req (taken) and posts its reply. */
static void worker_run(struct worker_thread *t, struct worker_request *req)
{
    struct worker *w = t->w;
    struct worker_reply *r = xcalloc(1, sizeof(*r));
    enum status st;
    int64_t t0 = worker_mono_us();

    r->kind = req->kind;
    r->lane = t->lane;
    r->slot = req->slot;
    r->seq = req->seq;
    error_clear(&r->err);
    switch (req->kind) {
    case WORKER_FETCH:
        st = worker_fetch(t, req, r);
        r->after = req->after;
        req->after = NULL;
        break;
    case WORKER_SHOW:
        st = worker_show(t, req, r);
        break;
    case WORKER_JOB:
        st = req->id != NULL ? worker_job(t, req, r)
                             : error_set(&r->err, STATUS_USAGE, "job: no id");
        break;
    case WORKER_OVERVIEW:
        st = worker_overview(t, r);
        break;
    case WORKER_RIGHTS:
        st = worker_rights(t, r);
        break;
    case WORKER_RUN:
        st = worker_run_verb(t, req, r);
        break;
    default:
        st = error_set(&r->err, STATUS_USAGE, "worker: request kind %d is a reply only",
                       (int)req->kind);
        break;
    }
    r->took_us = worker_mono_us() - t0;
    r->status = st;
    if (st == STATUS_OK)
        error_clear(&r->err);
    else
        r->err.status = st;
    worker_request_free(req);

    /* LISTEN follows the lane's first successful connect. */
    if (t->lane == WORKER_LANE_PG && pg_conn_health(t->s->pg)->state == HEALTH_UP)
        t->listen_wanted = true;

    pthread_mutex_lock(&w->lock);
    worker_health_copy(t);
    t->health.busy = false;
    t->health.busy_since_us = 0;
    t->running_cancel = 0;
    worker_post_locked(w, r);
    pthread_mutex_unlock(&w->lock);
}

static void worker_listen_read(struct worker_thread *t)
{
    struct error err;
    int n = pg_conn_notifications(t->listen, &err);

    if (n > 0)
        worker_post_changed(t->w);
    else if (n < 0)
        t->listen_due_ms = time_mono_ms() + WORKER_LISTEN_RETRY_MS;
}

/* (Re)subscribes when the listen connection is down and its time has come.
 * Blocks at most the connect timeout; a LISTEN that succeeds after an
 * outage reports CHANGED, since changes made meanwhile were not heard. */
static void worker_listen_retry(struct worker_thread *t)
{
    struct error err;
    int64_t now = time_mono_ms();

    if (!t->listen_wanted || now < t->listen_due_ms)
        return;
    if (t->listen == NULL)
        t->listen = worker_pg_new(t->s->cfg);
    if (pg_conn_listening(t->listen))
        return;
    enum status st = pg_conn_listen(t->listen, WORKER_LISTEN_CHANNEL, &err);
    now = time_mono_ms();
    if (st != STATUS_OK || !pg_conn_listening(t->listen)) {
        int64_t wait = health_retry_in_ms(pg_conn_health(t->listen), now);
        t->listen_due_ms = now + (wait > WORKER_LISTEN_RETRY_MS ? wait : WORKER_LISTEN_RETRY_MS);
        return;
    }
    /* Changes made while nobody listened (an outage, or before the first
     * LISTEN) were not heard: say something may have changed. */
    worker_post_changed(t->w);
    t->listen_was_up = true;
    /* libpq may have read notifications while it waited for LISTEN. */
    worker_listen_read(t);
}

/* How long the idle lane may sleep: until the next LISTEN attempt when it
 * is due, else until woken. */
static int worker_idle_timeout(const struct worker_thread *t)
{
    if (!t->listen_wanted || (t->listen != NULL && pg_conn_listening(t->listen)))
        return -1;
    int64_t wait = t->listen_due_ms - time_mono_ms();
    if (wait < 0)
        return 0;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

static void *worker_main(void *arg)
{
    struct worker_thread *t = arg;
    struct worker *w = t->w;

    for (;;) {
        struct pollfd fds[2];
        nfds_t nfds = 0;
        struct worker_request *req = NULL;
        bool stop, pending;

        pthread_mutex_lock(&w->lock);
        stop = w->stop;
        pending = t->nqueue > 0;
        pthread_mutex_unlock(&w->lock);
        if (stop)
            break;

        /* Notifications are read between requests too, so a busy lane
         * still reports changes. */
        int lfd = t->listen != NULL ? pg_conn_socket(t->listen) : -1;
        fds[nfds++] = (struct pollfd){.fd = t->wake[0], .events = POLLIN};
        if (lfd >= 0)
            fds[nfds++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        int rc = poll(fds, nfds, pending ? 0 : worker_idle_timeout(t));
        worker_drain(t->wake[0]);
        if (rc > 0 && lfd >= 0 && fds[1].revents != 0)
            worker_listen_read(t);

        /* A LISTEN attempt may block up to the connect timeout: only when
         * no request waits and the worker is not being stopped. */
        pthread_mutex_lock(&w->lock);
        stop = w->stop;
        pending = t->nqueue > 0;
        pthread_mutex_unlock(&w->lock);
        if (!stop && !pending)
            worker_listen_retry(t);

        pthread_mutex_lock(&w->lock);
        if (!w->stop && t->nqueue > 0) {
            req = t->queue[0];
            memmove(t->queue, t->queue + 1, (t->nqueue - 1) * sizeof(*t->queue));
            t->nqueue--;
            t->health.busy = true;
            t->health.busy_since_us = time_now_us();
            t->running_cancel = req->kind == WORKER_RUN ? req->cancel_slot : 0;
            atomic_store(&t->cancel, 0);
            if (req->kind == WORKER_RUN)
                atomic_store(&t->progress, 0);
        }
        pthread_mutex_unlock(&w->lock);
        if (req != NULL)
            worker_run(t, req);
    }
    return NULL;
}

/* Builds a lane's session and handles on the caller's thread: making a
 * handle does not connect, so health and endpoint are there at once. */
static enum status worker_lane_init(struct worker *w, enum worker_lane lane,
                                    const struct config *cfg, struct error *err)
{
    struct worker_thread *t = &w->lanes[lane];
    struct redis_conn *rc = NULL;
    struct error rerr;

    t->s = session_new(config_copy(cfg));
    if (lane != WORKER_LANE_REDIS)
        session_pg(t->s);
    if (lane != WORKER_LANE_PG && session_redis(t->s, &rc, &rerr) != STATUS_OK)
        worker_strcpy(t->setup_err, sizeof(t->setup_err), rerr.msg);
    if (!worker_pipe(t->wake))
        return error_set(err, STATUS_UNAVAILABLE, "worker: pipe: %s", strerror(errno));
    worker_health_copy(t);
    return STATUS_OK;
}

struct worker *worker_new(const struct config *cfg, struct error *err)
{
    struct worker *w = xcalloc(1, sizeof(*w));
    sigset_t block, old;
    enum status st = STATUS_OK;

    w->reply_pipe[0] = w->reply_pipe[1] = -1;
    for (int i = 0; i < WORKER_LANES; i++) {
        w->lanes[i].w = w;
        w->lanes[i].lane = (enum worker_lane)i;
        w->lanes[i].wake[0] = w->lanes[i].wake[1] = -1;
    }
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        st = error_set(err, STATUS_UNAVAILABLE, "worker: cannot create a mutex");
        goto out;
    }
    w->lock_ready = true;
    if (!worker_pipe(w->reply_pipe)) {
        st = error_set(err, STATUS_UNAVAILABLE, "worker: pipe: %s", strerror(errno));
        goto out;
    }
    for (int i = 0; i < WORKER_LANES && st == STATUS_OK; i++)
        st = worker_lane_init(w, (enum worker_lane)i, cfg, err);
    if (st != STATUS_OK)
        goto out;

    /* Threads inherit the mask: with these blocked from the start, the
     * console's signals reach only its own thread, and a write to a
     * closed socket fails with EPIPE instead of killing the process. */
    sigemptyset(&block);
    static const int sigs[] = {SIGPIPE, SIGWINCH, SIGINT,  SIGTERM, SIGHUP,  SIGQUIT, SIGTSTP,
                               SIGCONT, SIGTTIN,  SIGTTOU, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&block, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (int i = 0; i < WORKER_LANES; i++) {
        int rc = pthread_create(&w->lanes[i].thread, NULL, worker_main, &w->lanes[i]);
        if (rc != 0) {
            st = error_set(err, STATUS_UNAVAILABLE, "worker: cannot start a thread: %s",
                           strerror(rc));
            break;
        }
        w->lanes[i].started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
    if (st != STATUS_OK) {
        worker_free(w);
        w = NULL;
    }
    return w;
}

bool worker_stop(struct worker *w, int64_t wait_ms)
{
    struct timespec deadline;
    bool all = true;
    if (w->lock_ready) {
        pthread_mutex_lock(&w->lock);
        w->stop = true;
        pthread_mutex_unlock(&w->lock);
    }
    for (int i = 0; i < WORKER_LANES; i++)
        if (w->lanes[i].started)
            worker_poke(w->lanes[i].wake[1]);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)(wait_ms / 1000);
    deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    for (int i = 0; i < WORKER_LANES; i++) {
        struct worker_thread *t = &w->lanes[i];
        if (!t->started)
            continue;
        int rc = wait_ms < 0 ? pthread_join(t->thread, NULL)
                             : pthread_timedjoin_np(t->thread, NULL, &deadline);
        if (rc == 0)
            t->started = false; /* joined */
        else
            all = false;
    }
    return all;
}

void worker_free(struct worker *w)
{
    if (w == NULL)
        return;
    worker_stop(w, -1);
    for (int i = 0; i < WORKER_LANES; i++) {
        struct worker_thread *t = &w->lanes[i];
        for (size_t k = 0; k < t->nqueue; k++)
            worker_request_free(t->queue[k]);
        free(t->queue);
        pg_conn_free(t->listen);
        session_free(t->s);
        worker_pipe_close(t->wake);
    }
    for (size_t k = 0; k < w->nreplies; k++)
        worker_reply_free(w->replies[k]);
    free(w->replies);
    worker_pipe_close(w->reply_pipe);
    if (w->lock_ready)
        pthread_mutex_destroy(&w->lock);
    free(w);
}

int worker_fd(const struct worker *w)
{
    return w->reply_pipe[0];
}

uint64_t worker_submit(struct worker *w, enum worker_lane lane, struct worker_request *req)
{
    struct worker_request *dropped = NULL;
    uint64_t seq;

    if ((unsigned)lane >= WORKER_LANES)
        xfatal("worker_submit: no lane %d", (int)lane);
    struct worker_thread *t = &w->lanes[lane];

    pthread_mutex_lock(&w->lock);
    seq = ++w->seq;
    req->seq = seq;
    /* An action is never dropped unanswered, nor drops another. */
    for (size_t i = 0; i < t->nqueue && dropped == NULL && req->kind != WORKER_RUN; i++) {
        if (t->queue[i]->slot == req->slot && t->queue[i]->kind != WORKER_RUN) {
            dropped = t->queue[i];
            t->queue[i] = req;
        }
    }
    if (dropped == NULL) {
        if (t->nqueue == t->capqueue) {
            t->capqueue = t->capqueue != 0 ? t->capqueue * 2 : 8;
            t->queue = xreallocarray(t->queue, t->capqueue, sizeof(*t->queue));
        }
        t->queue[t->nqueue++] = req;
    }
    pthread_mutex_unlock(&w->lock);

    worker_request_free(dropped);
    worker_poke(t->wake[1]);
    return seq;
}

struct worker_reply *worker_take(struct worker *w)
{
    struct worker_reply *r = NULL;

    pthread_mutex_lock(&w->lock);
    if (w->nreplies > 0) {
        r = w->replies[0];
        memmove(w->replies, w->replies + 1, (w->nreplies - 1) * sizeof(*w->replies));
        w->nreplies--;
        if (r->kind == WORKER_CHANGED)
            w->changed_waiting = false;
    }
    if (w->nreplies == 0)
        worker_drain(w->reply_pipe[0]);
    pthread_mutex_unlock(&w->lock);
    return r;
}

void worker_reply_free(struct worker_reply *r)
{
    if (r == NULL)
        return;
    json_decref(r->rows);
    free(r->next);
    free(r->after);
    json_decref(r->item);
    free(r->text);
    free(r->diag);
    if (r->ovw != NULL) {
        overview_done(&r->ovw->ov);
        json_decref(r->ovw->next_runs);
        free(r->ovw);
    }
    free(r);
}

void worker_health_get(struct worker *w, enum worker_lane lane, struct worker_health *out)
{
    if ((unsigned)lane >= WORKER_LANES) {
        memset(out, 0, sizeof(*out));
        return;
    }
    pthread_mutex_lock(&w->lock);
    *out = w->lanes[lane].health;
    pthread_mutex_unlock(&w->lock);
}

void worker_request_free(struct worker_request *req)
{
    if (req == NULL)
        return;
    filter_done(&req->filter); /* also fine on the zero filter of other kinds */
    free(req->after);
    free(req->id);
    for (size_t i = 0; i < req->argc; i++)
        free(req->argv[i]);
    free(req->argv);
    free(req);
}

struct worker_request *worker_request_run(const struct command *cmd, size_t argc,
                                          const char *const *argv)
{
    struct worker_request *req = xcalloc(1, sizeof(*req));

    req->kind = WORKER_RUN;
    req->cmd = cmd;
    req->argv = xcalloc(argc + 1, sizeof(*req->argv));
    for (size_t i = 0; i < argc; i++)
        req->argv[i] = xstrdup(argv[i]);
    req->argc = argc;
    return req;
}

int64_t worker_progress(struct worker *w, enum worker_lane lane)
{
    return (int64_t)atomic_load(&w->lanes[lane].progress);
}

void worker_cancel(struct worker *w, unsigned cancel_slot)
{
    if (cancel_slot == 0)
        return;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < WORKER_LANES; i++) {
        struct worker_thread *t = &w->lanes[i];
        size_t kept = 0;
        if (t->running_cancel == cancel_slot)
            atomic_store(&t->cancel, 1);
        for (size_t k = 0; k < t->nqueue; k++) {
            struct worker_request *req = t->queue[k];
            if (req->kind != WORKER_RUN || req->cancel_slot != cancel_slot) {
                t->queue[kept++] = req;
                continue;
            }
            struct worker_reply *r = xcalloc(1, sizeof(*r));
            r->kind = WORKER_RUN;
            r->lane = t->lane;
            r->slot = req->slot;
            r->seq = req->seq;
            r->status =
                error_set(&r->err, STATUS_REFUSED, "cancelled before it started; nothing changed");
            r->text = xstrdup("");
            r->diag = xstrdup("");
            worker_post_locked(w, r);
            worker_request_free(req);
        }
        t->nqueue = kept;
    }
    pthread_mutex_unlock(&w->lock);
}
