/* PostgreSQL connection with deadlines, keepalives, session timeouts,
 * health and reconnection. Every wait is a poll() with a deadline, so a
 * stopped or black-holed server costs at most the configured timeout. */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/pg_internal.h"
#include "util/buf.h"
#include "util/mask.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

struct pg_conn {
    char *conninfo;
    int64_t connect_timeout_ms;
    int64_t command_timeout_ms;
    int64_t lock_timeout_ms;
    int nhosts;
    PGconn *conn;
    struct health health;
    char endpoint[256];
    char session_user[64];
    char *bad_conninfo; /* libpq's reason when the conninfo does not parse */
    bool in_tx;         /* the last query left an explicit transaction open */
    bool lost_tx;       /* the connection went away inside one */
    char **channels;    /* LISTENed on, for every session this handle opens */
    size_t nchannels;
    bool listening;     /* this session has LISTENed on all of them */
};

static void pg_conn_reason(const char *msg, char *out, size_t size);

/* Counts the hosts of a (multi-host) conninfo so the connect deadline can
 * give each its own timeout, and fills the endpoint guess shown before the
 * first attempt. */
static void pg_conn_inspect(struct pg_conn *c)
{
    const char *host = NULL, *port = NULL;
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(c->conninfo, &errmsg);

    c->nhosts = 1;
    if (opts == NULL) {
        /* libpq's reason quotes the text around the mistake, which may be
         * part of a password: say only where to look. */
        c->bad_conninfo = xstrdup("libpq cannot parse it (check quoting: key='value with "
                                  "blanks', and \\' inside quotes)");
    } else {
        for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
            if (o->val == NULL || o->val[0] == '\0')
                continue;
            if (strcmp(o->keyword, "host") == 0 || (host == NULL && strcmp(o->keyword, "hostaddr") == 0))
                host = o->val;
            else if (strcmp(o->keyword, "port") == 0)
                port = o->val;
        }
        if (host != NULL) {
            int n = 1;
            for (const char *p = host; *p; p++)
                n += *p == ',';
            c->nhosts = n;
        }
    }
    if (host == NULL)
        host = getenv("PGHOST");
    if (port == NULL)
        port = getenv("PGPORT");
    snprintf(c->endpoint, sizeof(c->endpoint), "%s:%s",
             host != NULL && *host ? host : "/var/run/postgresql",
             port != NULL && *port ? port : "5432");
    PQconninfoFree(opts);
    PQfreemem(errmsg);
}

struct pg_conn *pg_conn_new(const struct pg_conn_options *opt)
{
    struct pg_conn *c = xcalloc(1, sizeof(*c));
    c->conninfo = xstrdup(opt->conninfo != NULL ? opt->conninfo : "");
    c->connect_timeout_ms = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : 3000;
    c->command_timeout_ms = opt->command_timeout_ms > 0 ? opt->command_timeout_ms : 5000;
    c->lock_timeout_ms = opt->lock_timeout_ms;
    health_init(&c->health, 500, 30000, 3, (uint64_t)time_now_us() ^ (uint64_t)getpid());
    pg_conn_inspect(c);
    return c;
}

void pg_conn_close(struct pg_conn *c)
{
    if (c != NULL && c->conn != NULL) {
        /* A reconnect must not carry a caller's later statements on in
         * autocommit as if its transaction still held: the next query
         * fails once instead (see pg_conn_query). */
        c->lost_tx = c->in_tx;
        c->in_tx = false;
        c->listening = false; /* a new session listens to nothing */
        PQfinish(c->conn);
        c->conn = NULL;
    }
}

void pg_conn_free(struct pg_conn *c)
{
    if (c == NULL)
        return;
    pg_conn_close(c);
    for (size_t i = 0; i < c->nchannels; i++)
        free(c->channels[i]);
    free(c->channels);
    free(c->bad_conninfo);
    free(c->conninfo);
    free(c);
}

const struct health *pg_conn_health(const struct pg_conn *c)
{
    return &c->health;
}

const char *pg_conn_endpoint(const struct pg_conn *c)
{
    return c->endpoint;
}

PGconn *pg_conn_raw(struct pg_conn *c)
{
    return c->conn;
}

const char *pg_conn_session_user(const struct pg_conn *c)
{
    return c->session_user;
}

static void pg_conn_note_endpoint(struct pg_conn *c)
{
    const char *host = PQhost(c->conn);
    const char *port = PQport(c->conn);
    if (host != NULL && *host)
        snprintf(c->endpoint, sizeof(c->endpoint), "%s:%s", host,
                 port != NULL && *port ? port : "5432");
}

/* libpq's connection errors read 'connection to server at "h" (addr), port
 * 5432 failed: Connection refused\n\tIs the server running...'; we already
 * name host and port, so keep the reason after "failed: " on the first
 * line, without any password that a malformed conninfo might echo. */
static void pg_conn_reason(const char *msg, char *out, size_t size)
{
    const char *p = strstr(msg, " failed: ");
    p = p != NULL ? p + strlen(" failed: ") : msg;
    size_t n = strcspn(p, "\n");
    char *line = xstrndup(p, n);
    char *masked = mask_secret(line);
    snprintf(out, size, "%s", masked[0] ? masked : "unknown error");
    free(masked);
    free(line);
}

/* Waits until fd is ready for events or the deadline passes. Returns 1
 * when ready, 0 on timeout, -1 on error. */
static int pg_conn_wait(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - time_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

/* A refused login is the operator's rights, not an outage (exit 5). A
 * failed connection attempt carries no SQLSTATE for the caller, so this
 * matches the server's English messages. Known limitation: a server whose
 * lc_messages is not English words them differently, and a refused login
 * there reports an outage (exit 3) instead of exit 5. */
static bool pg_conn_auth_failed(const char *msg)
{
    return strstr(msg, "authentication failed") != NULL ||
           strstr(msg, "no password supplied") != NULL ||
           strstr(msg, "permission denied") != NULL ||
           strstr(msg, "no pg_hba.conf entry") != NULL;
}

static enum status pg_conn_fail(struct pg_conn *c, const char *reason, struct error *err)
{
    if (pg_conn_auth_failed(reason)) {
        pg_conn_close(c);
        return error_set(err, STATUS_DENIED, "postgres at %s: %s", c->endpoint, reason);
    }
    pg_conn_close(c);
    health_failure(&c->health, true, time_mono_ms(), time_now_us(), reason);
    return error_set(err, STATUS_UNAVAILABLE, "postgres at %s: %s", c->endpoint, reason);
}

/* Backends never print: libpq's default would write NOTICEs to stderr. */
static void pg_conn_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static enum status pg_conn_setup(struct pg_conn *c, struct error *err)
{
    char lock[64] = "";
    char sql[512];
    /* lock_timeout = 0 would disable it; 0 here means the server's own. */
    if (c->lock_timeout_ms > 0)
        snprintf(lock, sizeof(lock), "SET lock_timeout = %lld; ", (long long)c->lock_timeout_ms);
    snprintf(sql, sizeof(sql),
             "SET statement_timeout = %lld; %s"
             "SET idle_in_transaction_session_timeout = %lld; SET TimeZone = 'UTC'; "
             "SELECT session_user",
             (long long)c->command_timeout_ms, lock, (long long)(c->command_timeout_ms * 4));
    PGresult *res = pg_conn_query(c, sql, 0, NULL, NULL, err);
    if (res == NULL)
        return err != NULL ? err->status : STATUS_UNAVAILABLE;
    if (PQntuples(res) == 1)
        snprintf(c->session_user, sizeof(c->session_user), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return STATUS_OK;
}

static enum status pg_conn_connect(struct pg_conn *c, struct error *err)
{
    char timeout_s[32];
    char reason[256];
    int64_t t0 = time_mono_ms();
    int64_t deadline = t0 + c->connect_timeout_ms * c->nhosts;

    /* Ours come first so that the user's conninfo can override them. */
    snprintf(timeout_s, sizeof(timeout_s), "%lld",
             (long long)((c->connect_timeout_ms + 999) / 1000 < 2 ? 2 : (c->connect_timeout_ms + 999) / 1000));
    const char *keys[] = {"fallback_application_name", "connect_timeout", "keepalives",
                          "keepalives_idle", "keepalives_interval", "keepalives_count",
                          "dbname", NULL};
    const char *vals[] = {"opsdeck", timeout_s, "1", "30", "10", "3", c->conninfo, NULL};

    c->session_user[0] = '\0';
    c->conn = PQconnectStartParams(keys, vals, 1);
    if (c->conn == NULL)
        xfatal("out of memory connecting to postgres");
    PQsetNoticeProcessor(c->conn, pg_conn_notice, NULL);
    if (PQstatus(c->conn) == CONNECTION_BAD) {
        pg_conn_reason(PQerrorMessage(c->conn), reason, sizeof(reason));
        return pg_conn_fail(c, reason, err);
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        pg_conn_note_endpoint(c);
        if (st == PGRES_POLLING_FAILED) {
            pg_conn_reason(PQerrorMessage(c->conn), reason, sizeof(reason));
            return pg_conn_fail(c, reason, err);
        }
        int r = pg_conn_wait(PQsocket(c->conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                             deadline);
        if (r <= 0) {
            char span[32];
            snprintf(reason, sizeof(reason), "no answer within %s",
                     time_format_span(c->connect_timeout_ms, span, sizeof(span)));
            return pg_conn_fail(c, reason, err);
        }
        st = PQconnectPoll(c->conn);
    }
    pg_conn_note_endpoint(c);
    if (PQsetnonblocking(c->conn, 1) != 0)
        return pg_conn_fail(c, "cannot make the connection non-blocking", err);
    enum status rc = pg_conn_setup(c, err);
    if (rc != STATUS_OK)
        return rc;
    health_success(&c->health, (time_mono_ms() - t0) * 1000);
    return STATUS_OK;
}

enum status pg_conn_ensure(struct pg_conn *c, struct error *err)
{
    if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK)
        return STATUS_OK;
    /* A conninfo libpq cannot parse is the operator's input, not an outage. */
    if (c->bad_conninfo != NULL)
        return error_set(err, STATUS_USAGE, "postgres: bad conninfo: %s", c->bad_conninfo);
    pg_conn_close(c);
    int64_t now = time_mono_ms();
    if (!health_allow(&c->health, now)) {
        char since[32], in[32];
        time_format_short(c->health.down_since_us, since, sizeof(since));
        time_format_span(health_retry_in_ms(&c->health, now), in, sizeof(in));
        return error_set(err, STATUS_UNAVAILABLE, "postgres at %s down since %s, retrying in %s: %s",
                         c->endpoint, since, in, c->health.last_error);
    }
    return pg_conn_connect(c, err);
}

/* What a server error means for the session's health. */
enum pg_conn_effect {
    PG_CONN_KEEP, /* the connection and the server are fine */
    PG_CONN_SLOW, /* alive but too slow for us: a soft health failure */
    PG_CONN_LOST, /* the session is gone: drop it, a hard health failure */
};

/* SQLSTATE prefixes (a class, a subclass or one code) and what they mean;
 * the first match wins, so a code comes before its class. pg_internal.h
 * documents this table at pg_conn_query. */
static const struct {
    const char *prefix;
    enum status status;
    enum pg_conn_effect effect;
} pg_conn_errors[] = {
    {"08", STATUS_UNAVAILABLE, PG_CONN_LOST},    /* connection exception */
    {"57P", STATUS_UNAVAILABLE, PG_CONN_LOST},   /* shutdown, crash, database dropped */
    {"57014", STATUS_UNAVAILABLE, PG_CONN_SLOW}, /* statement_timeout (or cancelled) */
    {"55P03", STATUS_UNAVAILABLE, PG_CONN_KEEP}, /* lock_not_available: lock_timeout */
    {"53", STATUS_UNAVAILABLE, PG_CONN_KEEP},    /* insufficient resources */
    {"58", STATUS_UNAVAILABLE, PG_CONN_KEEP},    /* system error (I/O) */
    {"28", STATUS_DENIED, PG_CONN_KEEP},         /* invalid authorization */
    {"42501", STATUS_DENIED, PG_CONN_KEEP},      /* insufficient privilege */
    {"25006", STATUS_DENIED, PG_CONN_KEEP},      /* read-only transaction (a standby) */
    {"22", STATUS_USAGE, PG_CONN_KEEP},          /* data exception: bad input */
    {"23", STATUS_USAGE, PG_CONN_KEEP},          /* integrity constraint violation */
    {"42", STATUS_USAGE, PG_CONN_KEEP},          /* syntax error or access rule */
    {"P0002", STATUS_NOT_FOUND, PG_CONN_KEEP},   /* no_data_found (PL/pgSQL STRICT) */
};

/* Maps a server error to a status and a health effect; anything the table
 * does not name is the backend's failing (STATUS_UNAVAILABLE). */
static enum status pg_conn_map_error(const char *sqlstate, enum pg_conn_effect *effect)
{
    for (size_t i = 0; i < sizeof(pg_conn_errors) / sizeof(pg_conn_errors[0]); i++) {
        const char *prefix = pg_conn_errors[i].prefix;
        if (strncmp(sqlstate, prefix, strlen(prefix)) == 0) {
            *effect = pg_conn_errors[i].effect;
            return pg_conn_errors[i].status;
        }
    }
    *effect = PG_CONN_KEEP;
    return STATUS_UNAVAILABLE;
}

PGresult *pg_conn_query(struct pg_conn *c, const char *sql, int nparams,
                        const char *const *params, char sqlstate[6], struct error *err)
{
    char reason[256];
    int64_t t0 = time_mono_ms();
    int64_t deadline;
    PGresult *last = NULL, *failed = NULL;

    if (sqlstate != NULL)
        sqlstate[0] = '\0';
    if (c->lost_tx) {
        c->lost_tx = false;
        error_set(err, STATUS_UNAVAILABLE, "postgres at %s: the connection was lost inside a "
                  "transaction, which was rolled back", c->endpoint);
        return NULL;
    }
    if (pg_conn_ensure(c, err) != STATUS_OK)
        return NULL;
    deadline = time_mono_ms() + c->command_timeout_ms;
    int sent = nparams > 0 ? PQsendQueryParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0)
                           : PQsendQuery(c->conn, sql);
    if (!sent)
        goto lost;
    for (;;) {
        int f = PQflush(c->conn);
        if (f == 0)
            break;
        if (f < 0)
            goto lost;
        int r = pg_conn_wait(PQsocket(c->conn), POLLOUT | POLLIN, deadline);
        if (r == 0)
            goto timeout;
        if (r < 0 || !PQconsumeInput(c->conn))
            goto lost;
    }
    for (;;) {
        while (PQisBusy(c->conn)) {
            int r = pg_conn_wait(PQsocket(c->conn), POLLIN, deadline);
            if (r == 0)
                goto timeout;
            if (r < 0 || !PQconsumeInput(c->conn))
                goto lost;
        }
        PGresult *res = PQgetResult(c->conn);
        if (res == NULL)
            break;
        ExecStatusType est = PQresultStatus(res);
        if (est == PGRES_FATAL_ERROR && failed == NULL) {
            failed = res;
            continue;
        }
        PQclear(last);
        last = res;
    }
    if (failed != NULL) {
        const char *state = PQresultErrorField(failed, PG_DIAG_SQLSTATE);
        const char *msg = PQresultErrorField(failed, PG_DIAG_MESSAGE_PRIMARY);
        if (state == NULL)
            state = "";
        if (sqlstate != NULL)
            snprintf(sqlstate, 6, "%s", state);
        enum pg_conn_effect effect;
        enum status st = pg_conn_map_error(state, &effect);
        if (PQstatus(c->conn) != CONNECTION_OK || effect == PG_CONN_LOST) {
            pg_conn_reason(msg != NULL ? msg : PQerrorMessage(c->conn), reason, sizeof(reason));
            PQclear(failed);
            PQclear(last);
            pg_conn_fail(c, reason, err);
            return NULL;
        }
        if (effect == PG_CONN_SLOW)
            health_failure(&c->health, false, time_mono_ms(), time_now_us(), "statement timeout");
        /* Bad input the server refused (a function's own refusal, a value
         * out of range) is about the request, not the server: no endpoint. */
        if (st == STATUS_USAGE || st == STATUS_NOT_FOUND)
            error_set(err, st, "%s (refused by postgres, SQLSTATE %s)",
                      msg != NULL ? msg : "error", state);
        else
            error_set(err, st, "postgres at %s: %s (SQLSTATE %s)", c->endpoint,
                      msg != NULL ? msg : "error", state);
        PQclear(failed);
        PQclear(last);
        c->in_tx = PQtransactionStatus(c->conn) == PQTRANS_INERROR;
        return NULL;
    }
    health_success(&c->health, (time_mono_ms() - t0) * 1000);
    PGTransactionStatusType ts = PQtransactionStatus(c->conn);
    c->in_tx = ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR;
    if (last == NULL)
        error_set(err, STATUS_UNAVAILABLE, "postgres at %s: empty answer", c->endpoint);
    return last;

timeout: {
    char span[32];
    snprintf(reason, sizeof(reason), "no answer within %s",
             time_format_span(c->command_timeout_ms, span, sizeof(span)));
}
    PQclear(last);
    PQclear(failed);
    pg_conn_fail(c, reason, err);
    return NULL;
lost:
    pg_conn_reason(PQerrorMessage(c->conn), reason, sizeof(reason));
    PQclear(last);
    PQclear(failed);
    pg_conn_fail(c, reason, err);
    return NULL;
}

enum status pg_conn_exec(struct pg_conn *c, const char *sql, int nparams,
                         const char *const *params, struct error *err)
{
    PGresult *res = pg_conn_query(c, sql, nparams, params, NULL, err);
    if (res == NULL)
        return err != NULL && err->status != STATUS_OK ? err->status : STATUS_UNAVAILABLE;
    PQclear(res);
    return STATUS_OK;
}

enum status pg_conn_ping(struct pg_conn *c, int64_t *rtt_us, struct error *err)
{
    enum status rc = pg_conn_ensure(c, err);
    if (rc != STATUS_OK)
        return rc;
    int64_t t0 = time_now_us();
    PGresult *res = pg_conn_query(c, "SELECT 1", 0, NULL, NULL, err);
    if (res == NULL)
        return err != NULL && err->status != STATUS_OK ? err->status : STATUS_UNAVAILABLE;
    PQclear(res);
    *rtt_us = time_now_us() - t0;
    return STATUS_OK;
}

int64_t pg_value_int(const PGresult *res, int row, int col)
{
    if (row >= PQntuples(res) || col >= PQnfields(res) || PQgetisnull(res, row, col))
        return 0;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int64_t pg_conn_command_timeout(const struct pg_conn *c)
{
    return c->command_timeout_ms;
}

int64_t pg_conn_set_command_timeout(struct pg_conn *c, int64_t ms)
{
    int64_t old = c->command_timeout_ms;
    c->command_timeout_ms = ms;
    return old;
}

/* ---- LISTEN ------------------------------------------------------------- */

/* LISTENs on every remembered channel in one round trip, on the session
 * that is open (connecting first if none is). */
static enum status pg_conn_subscribe(struct pg_conn *c, struct error *err)
{
    struct buf sql;
    enum status rc = pg_conn_ensure(c, err);

    buf_init(&sql);
    if (rc != STATUS_OK || c->listening || c->nchannels == 0)
        goto out;
    for (size_t i = 0; i < c->nchannels; i++) {
        char *quoted = PQescapeIdentifier(c->conn, c->channels[i], strlen(c->channels[i]));
        if (quoted == NULL) {
            rc = error_set(err, STATUS_USAGE, "postgres: cannot LISTEN on channel '%s': %s",
                           c->channels[i], PQerrorMessage(c->conn));
            goto out;
        }
        buf_addf(&sql, "LISTEN %s; ", quoted);
        PQfreemem(quoted);
    }
    if ((rc = pg_conn_exec(c, buf_get(&sql), 0, NULL, err)) == STATUS_OK && c->conn != NULL)
        c->listening = true;
out:
    buf_done(&sql);
    return rc;
}

bool pg_conn_listening(const struct pg_conn *c)
{
    return c->listening && pg_conn_socket(c) >= 0;
}

enum status pg_conn_listen(struct pg_conn *c, const char *channel, struct error *err)
{
    size_t i;

    if (channel == NULL || channel[0] == '\0')
        return error_set(err, STATUS_USAGE, "postgres: LISTEN needs a channel name");
    for (i = 0; i < c->nchannels; i++)
        if (strcmp(c->channels[i], channel) == 0)
            break;
    if (i == c->nchannels) {
        /* Remembered even when the server is down now: the first session
         * that opens LISTENs on it. */
        c->channels = xreallocarray(c->channels, c->nchannels + 1, sizeof(*c->channels));
        c->channels[c->nchannels++] = xstrdup(channel);
        c->listening = false;
    }
    return pg_conn_subscribe(c, err);
}

int pg_conn_socket(const struct pg_conn *c)
{
    return c->conn != NULL ? PQsocket(c->conn) : -1;
}

int pg_conn_notifications(struct pg_conn *c, struct error *err)
{
    char reason[256];
    int n = 0;
    PGnotify *note;

    /* Not connected: nothing can have arrived, and reconnecting (which
     * blocks) is left to the next query. */
    if (c->conn == NULL)
        return 0;
    /* A session opened since the last LISTEN, by any query, listens to
     * nothing yet. */
    if (!c->listening && c->nchannels > 0 && pg_conn_subscribe(c, err) != STATUS_OK)
        return -1;
    if (!PQconsumeInput(c->conn) || PQstatus(c->conn) != CONNECTION_OK) {
        pg_conn_reason(PQerrorMessage(c->conn), reason, sizeof(reason));
        pg_conn_fail(c, reason, err);
        return -1;
    }
    while ((note = PQnotifies(c->conn)) != NULL) {
        n++;
        PQfreemem(note);
    }
    return n;
}
