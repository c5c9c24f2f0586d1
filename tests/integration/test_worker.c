/* The console's workers against real servers: pages, shows and the
 * overview through the PostgreSQL and Redis lanes, a queued request
 * replaced by one with the same slot, NOTIFY wf_changes arriving as one
 * CHANGED reply, action verbs run as `opsdeck VERB` runs them with their
 * output captured and the terminal untouched, a cancelled replay left
 * resumable, a hung Redis that does not delay the PostgreSQL lane, and
 * LISTEN again after a restart.
 * Run through tests/cli/worker.sh, which provides the servers and data. */
#include <config.h>

#include <fcntl.h>
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
#include "tests/common/testutil.h"
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

/* The first line a shell command prints, without its newline (heap). */
static char *shell_line(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    char line[512] = "";
    assert_non_null(p);
    if (fgets(line, sizeof(line), p) == NULL)
        line[0] = '\0';
    line[strcspn(line, "\n")] = '\0';
    assert_int_equal(pclose(p), 0);
    return xstrdup(line);
}

/* SQL (no double quotes in it) as the superuser: its first value. */
static char *psql_q(const char *sql)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "psql -X -A -t -q -v ON_ERROR_STOP=1 -d \"$OPSDECK_POSTGRES\" -c \"%s\"", sql);
    return shell_line(cmd);
}

static void assert_psql(const char *sql, const char *want)
{
    char *got = psql_q(sql);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got '%s', want '%s'", sql, got, want);
    free(got);
}

static char *redis_q(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "redis-cli -s \"$REDIS_SOCK\" %s", args);
    return shell_line(cmd);
}

/* Workers as the console starts them, read-only or not, with a route for
 * the replay test. */
static struct worker *action_worker(bool read_only)
{
    struct config *cfg = test_config();
    struct error err;

    assert_int_equal(
        config_apply(cfg, OPTION_OPERATOR, "worker-test", CONFIG_FLAG, "--operator", &err),
        STATUS_OK);
    assert_int_equal(config_apply(cfg, OPTION_ROUTE, "wrk.events=list:wrk.replayed", CONFIG_FLAG,
                                  "--route", &err),
                     STATUS_OK);
    if (read_only)
        assert_int_equal(
            config_apply(cfg, OPTION_READ_ONLY, "true", CONFIG_FLAG, "--read-only", &err),
            STATUS_OK);
    config_finish(cfg);
    struct worker *w = worker_new(cfg, &err);
    if (w == NULL)
        fail_msg("worker_new: %s", err.msg);
    config_free(cfg);
    return w;
}

/* What reached the process's stdout and stderr while a verb ran. */
struct quiet {
    int saved[3];
    int pipe[2];
    int pty;
};

/* From here on stdin is a terminal nobody types on (a verb that asked
 * would wait for ever) and stdout and stderr go to a pipe. No cmocka
 * assertion until quiet_end: its messages would go to the pipe. */
static void quiet_begin(struct quiet *q)
{
    fflush(stdout);
    fflush(stderr);
    q->pty = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(q->pty >= 0);
    assert_int_equal(grantpt(q->pty), 0);
    assert_int_equal(unlockpt(q->pty), 0);
    int slave = open(ptsname(q->pty), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    assert_int_equal(pipe(q->pipe), 0);
    fcntl(q->pipe[0], F_SETFL, fcntl(q->pipe[0], F_GETFL) | O_NONBLOCK);
    for (int fd = 0; fd < 3; fd++)
        q->saved[fd] = dup(fd);
    dup2(slave, 0);
    dup2(q->pipe[1], 1);
    dup2(q->pipe[1], 2);
    close(slave);
    close(q->pipe[1]);
}

/* Restores the three fds; returns what was written meanwhile (heap). */
static char *quiet_end(struct quiet *q)
{
    char buf[4096];
    size_t len = 0;
    ssize_t n;

    fflush(stdout);
    fflush(stderr);
    for (int fd = 0; fd < 3; fd++) {
        dup2(q->saved[fd], fd);
        close(q->saved[fd]);
    }
    while (len < sizeof(buf) - 1 && (n = read(q->pipe[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(q->pipe[0]);
    close(q->pty);
    return xstrdup(buf);
}

/* Runs `opsdeck VERB ARGS...` (argv NULL-terminated) on lane; asserts that
 * nothing reached the terminal meanwhile. */
static struct worker_reply *run_verb(struct worker *w, enum worker_lane lane,
                                     const struct command *cmd, const char *const *argv)
{
    struct quiet q;
    size_t argc = 0;

    while (argv[argc] != NULL)
        argc++;
    struct worker_request *req = worker_request_run(cmd, argc, argv);
    req->slot = 20;
    quiet_begin(&q);
    uint64_t seq = worker_submit(w, lane, req);
    struct worker_reply *r = wait_reply(w, 5000);
    char *leaked = quiet_end(&q);
    if (leaked[0] != '\0')
        fail_msg("%s wrote to the terminal: [%s]", cmd->name, leaked);
    free(leaked);
    assert_non_null(r);
    assert_int_equal(r->kind, WORKER_RUN);
    assert_int_equal(r->seq, seq);
    assert_int_equal(r->slot, 20);
    assert_non_null(r->text);
    assert_non_null(r->diag);
    return r;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("[%s] does not contain [%s]", haystack, needle);
}

static const struct command *find1(const char *name)
{
    size_t used = 0;
    const struct command *cmd = command_find(&name, 1, &used);
    assert_non_null(cmd);
    return cmd;
}

static void test_run_action(void **state)
{
    (void)state;
    const struct command *approve = find1("approve");
    struct worker_reply *r;

    free(psql_q("INSERT INTO wf.approvals (approval_id, workflow_id, step_id, title, "
                "request_data, requested_by, assignee_group, requested_at, due_at, status) "
                "SELECT 'wrk-apr-' || i, 'wrk-wf-' || i, 'approve', 'refund', '{}', 'engine', "
                "'finance', now(), now() + interval '1 hour', 'pending' "
                "FROM generate_series(1, 3) i"));

    /* Read-only: refused before anything runs. */
    struct worker *ro = action_worker(true);
    r = run_verb(ro, WORKER_LANE_PG, approve, (const char *const[]){"wrk-apr-1", NULL});
    assert_int_equal(r->status, STATUS_DENIED);
    assert_string_equal(r->err.msg, "read-only mode (flag --read-only): 'opsdeck approve' would "
                                    "change the store; nothing changed");
    assert_string_equal(r->text, "");
    worker_reply_free(r);
    worker_free(ro);
    assert_psql("SELECT status FROM wf.approvals WHERE approval_id = 'wrk-apr-1'", "pending");
    assert_psql("SELECT count(*) FROM wf.audit_log WHERE target_id = 'wrk-apr-1'", "0");

    struct worker *w = action_worker(false);
    r = run_verb(w, WORKER_LANE_PG, approve,
                 (const char *const[]){"wrk-apr-1", "--note", "x", NULL});
    if (r->status != STATUS_OK)
        fail_msg("approve: %s", r->err.msg);
    assert_string_equal(r->text, "approved approval wrk-apr-1\n");
    assert_string_equal(r->diag, "");
    worker_reply_free(r);
    assert_psql("SELECT status || ' ' || decided_by FROM wf.approvals "
                "WHERE approval_id = 'wrk-apr-1'",
                "approved worker-test");
    assert_psql("SELECT count(*) FROM wf.audit_log WHERE target_id = 'wrk-apr-1' "
                "AND action = 'approve' AND outcome = 'ok' AND operator = 'worker-test'",
                "1");

    /* Deciding twice is refused, naming who decided. */
    r = run_verb(w, WORKER_LANE_PG, approve, (const char *const[]){"wrk-apr-1", NULL});
    assert_int_equal(r->status, STATUS_REFUSED);
    assert_int_equal(r->err.status, STATUS_REFUSED);
    assert_contains(r->err.msg, "approval wrk-apr-1 was already approved by worker-test at ");
    worker_reply_free(r);

    /* A bulk action without --yes: the blast radius, then a refusal, even
     * with stdin a terminal. */
    r = run_verb(w, WORKER_LANE_PG, approve, (const char *const[]){"wrk-apr-2", "wrk-apr-3", NULL});
    assert_int_equal(r->status, STATUS_USAGE);
    assert_contains(r->err.msg, "needs --yes");
    assert_string_equal(r->diag, "opsdeck: approve 2 items: wrk-apr-2, wrk-apr-3\n");
    assert_string_equal(r->text, "");
    worker_reply_free(r);
    assert_psql("SELECT count(*) FROM wf.approvals WHERE approval_id IN ('wrk-apr-2', "
                "'wrk-apr-3') AND status = 'pending'",
                "2");

    /* With --yes it goes ahead; the flags parse as on a command line. */
    r = run_verb(
        w, WORKER_LANE_PG, approve,
        (const char *const[]){"--yes", "wrk-apr-2", "--note=bulk", "--", "wrk-apr-3", NULL});
    if (r->status != STATUS_OK)
        fail_msg("bulk approve: %s", r->err.msg);
    assert_string_equal(r->text, "approved approval wrk-apr-2\napproved approval wrk-apr-3\n");
    assert_string_equal(r->diag, "opsdeck: approve 2 items: wrk-apr-2, wrk-apr-3\n");
    worker_reply_free(r);
    assert_psql("SELECT count(*) FROM wf.approvals WHERE approval_id IN ('wrk-apr-2', "
                "'wrk-apr-3') AND status = 'approved'",
                "2");

    /* Parsing errors are the command line's; global flags are not taken. */
    r = run_verb(w, WORKER_LANE_PG, approve, (const char *const[]){NULL});
    assert_int_equal(r->status, STATUS_USAGE);
    assert_string_equal(r->err.msg, "'opsdeck approve' needs ID... [--note TEXT]; see --help");
    worker_reply_free(r);
    r = run_verb(w, WORKER_LANE_PG, approve, (const char *const[]){"wrk-apr-1", "--json", NULL});
    assert_int_equal(r->status, STATUS_USAGE);
    assert_contains(r->err.msg, "unknown flag --json for 'opsdeck approve'");
    worker_reply_free(r);
    worker_free(w);
}

/* A replay cancelled midway leaves its job interrupted; the same key
 * resumes it and every event is sent once. */
static void test_run_cancel(void **state)
{
    (void)state;
    const struct command *replay = find("dlq", "replay");
    const char *const argv[] = {"wrk-e-1", "wrk-e-2", "wrk-e-3",           "--rate",
                                "1",       "--yes",   "--idempotency-key", "wrk-job"};
    struct worker *w = action_worker(false);
    struct worker_reply *r;
    char *v;

    for (int i = 1; i <= 3; i++) {
        char args[512];
        snprintf(args, sizeof(args),
                 "HSET dlq:wrk-e-%d data '{\"event_id\": \"wrk-e-%d\", \"original_event\": "
                 "{\"n\": %d}, \"failure_reason\": \"x\", \"original_queue\": "
                 "\"wrk.events\", \"source_service\": \"wrk\"}' status pending_review",
                 i, i, i);
        free(redis_q(args));
        snprintf(args, sizeof(args), "ZADD dlq:index %d wrk-e-%d", 1795456000 + i, i);
        free(redis_q(args));
    }

    struct worker_request *req = worker_request_run(replay, 8, argv);
    req->slot = 30;
    req->cancel_slot = 7;
    worker_submit(w, WORKER_LANE_REDIS, req);
    /* Queued behind it with the same cancel slot: dropped, answered. */
    req = worker_request_run(replay, 8, argv);
    req->slot = 31;
    req->cancel_slot = 7;
    uint64_t queued = worker_submit(w, WORKER_LANE_REDIS, req);
    int64_t deadline = time_mono_ms() + 5000;
    for (;;) {
        v = redis_q("LLEN wrk.replayed");
        bool started = strcmp(v, "0") != 0;
        free(v);
        if (started || time_mono_ms() > deadline)
            break;
        usleep(20 * 1000);
    }
    worker_cancel(w, 7);

    r = wait_reply(w, 5000);
    assert_non_null(r);
    assert_int_equal(r->seq, queued);
    assert_int_equal(r->status, STATUS_REFUSED);
    assert_string_equal(r->err.msg, "cancelled before it started; nothing changed");
    worker_reply_free(r);
    r = wait_reply(w, 5000);
    assert_non_null(r);
    assert_int_equal(r->slot, 30);
    assert_int_equal(r->status, STATUS_REFUSED);
    assert_contains(r->err.msg, "replay job wrk-job stopped (run it again with "
                                "--idempotency-key wrk-job to resume): cancelled after ");
    assert_contains(r->diag, "replay job wrk-job: 3 events;");
    assert_contains(r->text, "replayed on list:wrk.replayed");
    worker_reply_free(r);
    v = redis_q("HGET dlq:replay:wrk-job status");
    assert_string_equal(v, "interrupted");
    free(v);
    v = redis_q("LLEN wrk.replayed");
    assert_true(strcmp(v, "1") == 0 || strcmp(v, "2") == 0);
    free(v);

    /* The same request again resumes the job. */
    r = run_verb(w, WORKER_LANE_REDIS, replay,
                 (const char *const[]){argv[0], argv[1], argv[2], "--yes", "--idempotency-key",
                                       "wrk-job", NULL});
    if (r->status != STATUS_OK)
        fail_msg("resumed replay: %s", r->err.msg);
    assert_contains(r->diag, "resuming replay job wrk-job: ");
    worker_reply_free(r);
    v = redis_q("HGET dlq:replay:wrk-job status");
    assert_string_equal(v, "completed");
    free(v);
    v = redis_q("LLEN wrk.replayed");
    assert_string_equal(v, "3");
    free(v);
    worker_free(w);
}

/* An export of 5,000 events to a file: complete, private, counted as it
 * goes (worker_progress); then one cancelled once it has started: refused,
 * and no file (nor temporary file) is left. */
static void test_run_export(void **state)
{
    (void)state;
    const struct command *export_ = find("dlq", "export");
    struct worker *w = action_worker(true); /* export only reads: read-only runs it */
    char dir[128], path[160], *v;
    struct worker_reply *r;

    assert_int_equal(testutil_tmpdir(dir, sizeof(dir), "opsdeck-export"), 0);
    free(redis_q("EVAL \"for i = 1, 5000 do local id = 'exp-' .. i; "
                 "redis.call('HSET', 'dlq:' .. id, 'data', cjson.encode({event_id = id, "
                 "source_service = 'exp', original_queue = 'q', failure_reason = 'x', "
                 "original_event = {n = i, email = 'a@b.example'}}), 'status', 'pending_review'); "
                 "redis.call('ZADD', 'dlq:index', 1795000000 + i, id) end\" 0"));
    snprintf(path, sizeof(path), "%s/all.jsonl", dir);
    r = run_verb(w, WORKER_LANE_REDIS, export_,
                 (const char *const[]){"--source", "exp", "--output", path, NULL});
    if (r->status != STATUS_OK)
        fail_msg("export: %s", r->err.msg);
    assert_contains(r->diag, "exported 5000 events to ");
    worker_reply_free(r);
    assert_int_equal(worker_progress(w, WORKER_LANE_REDIS), 5000);
    char cmd[1024];
    /* Lines, mode, and the masked field nowhere in clear. */
    snprintf(cmd, sizeof(cmd),
             "echo $(wc -l < '%s') $(stat -c %%a '%s') $(grep -c a@b.example '%s')", path, path,
             path);
    v = shell_line(cmd);
    assert_string_equal(v, "5000 600 0");
    free(v);

    snprintf(path, sizeof(path), "%s/stopped.jsonl", dir);
    const char *argv[] = {"--source", "exp", "--output", path};
    struct worker_request *req = worker_request_run(export_, 4, argv);
    req->slot = 40;
    req->cancel_slot = 9;
    worker_submit(w, WORKER_LANE_REDIS, req);
    int64_t deadline = time_mono_ms() + 5000;
    int64_t p = 0;
    /* The count starts again from 0 with this run: wait until it has begun. */
    while ((p = worker_progress(w, WORKER_LANE_REDIS)) == 0 || p >= 5000) {
        if (time_mono_ms() > deadline)
            fail_msg("the export did not start counting within 5 s (%lld)", (long long)p);
        usleep(500);
    }
    worker_cancel(w, 9);
    r = wait_reply(w, 10000);
    assert_non_null(r);
    assert_int_equal(r->slot, 40);
    assert_int_equal(r->status, STATUS_REFUSED);
    assert_contains(r->err.msg, "export cancelled after ");
    assert_contains(r->err.msg, "no file written");
    worker_reply_free(r);
    snprintf(cmd, sizeof(cmd), "ls '%s'", dir);
    v = shell_line(cmd);
    assert_string_equal(v, "all.jsonl");
    free(v);
    testutil_rmtree(dir);
    free(redis_q("EVAL \"for i = 1, 5000 do redis.call('DEL', 'dlq:exp-' .. i); "
                 "redis.call('ZREM', 'dlq:index', 'exp-' .. i) end\" 0"));
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_show_overview),
        cmocka_unit_test(test_replace_by_slot),
        cmocka_unit_test(test_changed),
        cmocka_unit_test(test_run_action),
        cmocka_unit_test(test_run_cancel),
        cmocka_unit_test(test_run_export),
        cmocka_unit_test_teardown(test_hung_redis, thaw_redis),
        cmocka_unit_test(test_listen_reconnect),
    };
    if (getenv("STORES_DIR") == NULL || getenv("OPSDECK") == NULL) {
        fprintf(stderr, "test_worker: run me through tests/cli/worker.sh\n");
        return 1;
    }
    testutil_watchdog("test_worker", 90);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
