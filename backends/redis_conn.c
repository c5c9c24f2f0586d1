/* Redis connection: URL, authentication, timeouts, health, reconnection. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "backends/redis_internal.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

struct redis_conn {
    char *host;      /* NULL for a unix socket */
    int port;
    char *path;      /* unix socket path, or NULL */
    int db;
    char *user;      /* ACL user, or NULL */
    char *password;  /* or NULL */
    int64_t connect_timeout_ms;
    int64_t command_timeout_ms;
    redisContext *ctx;
    int pending;     /* commands appended whose replies were not read */
    struct health health;
    char endpoint[256];
};

static char *redis_conn_unescape(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            out[j++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

static bool redis_conn_parse_db(const char *s, int *db)
{
    char *end;
    if (*s == '\0')
        return true;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v < 0 || v > 1000000 || !isdigit((unsigned char)*s))
        return false;
    *db = (int)v;
    return true;
}

/* Parses the URL into c; on failure returns a reason (static text). */
static const char *redis_conn_parse(struct redis_conn *c, const char *url)
{
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = url + 7;
        const char *q = strchr(p, '?');
        if (*p != '/')
            return "a unix:// URL needs an absolute path, e.g. unix:///run/redis.sock";
        c->path = q != NULL ? xstrndup(p, (size_t)(q - p)) : xstrdup(p);
        if (q != NULL) {
            if (strncmp(q, "?db=", 4) != 0 || !redis_conn_parse_db(q + 4, &c->db))
                return "the only query a unix:// URL takes is ?db=N";
        }
        snprintf(c->endpoint, sizeof(c->endpoint), "%s", c->path);
        return NULL;
    }
    if (strncmp(url, "rediss://", 9) == 0)
        return "TLS (rediss://) is not supported; use a local TLS proxy or unix socket";
    if (strncmp(url, "redis://", 8) != 0)
        return "expected redis://[user[:password]@]host[:port][/db] or unix:///path";
    const char *p = url + 8;
    size_t alen = strcspn(p, "/?");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (p[i] == '@')
            at = p + i;
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon != NULL) {
            if (colon > p)
                c->user = redis_conn_unescape(p, (size_t)(colon - p));
            c->password = redis_conn_unescape(colon + 1, (size_t)(at - colon - 1));
        } else if (at > p) {
            c->user = redis_conn_unescape(p, (size_t)(at - p));
        }
        alen -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    const char *hend = p + alen;
    const char *portp = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', alen);
        if (rb == NULL)
            return "unterminated [IPv6] host";
        c->host = xstrndup(p + 1, (size_t)(rb - p - 1));
        if (rb + 1 < hend && rb[1] == ':')
            portp = rb + 2;
    } else {
        const char *colon = memchr(p, ':', alen);
        c->host = xstrndup(p, (size_t)((colon != NULL ? colon : hend) - p));
        if (colon != NULL)
            portp = colon + 1;
    }
    if (c->host[0] == '\0') {
        free(c->host);
        c->host = xstrdup("127.0.0.1");
    }
    c->port = 6379;
    if (portp != NULL) {
        char *end;
        long v = strtol(portp, &end, 10);
        if (end != hend || v < 1 || v > 65535)
            return "bad port";
        c->port = (int)v;
    }
    p = hend;
    if (*p == '/') {
        p++;
        size_t n = strcspn(p, "?");
        char *db = xstrndup(p, n);
        bool ok = redis_conn_parse_db(db, &c->db);
        free(db);
        if (!ok)
            return "the path of a redis:// URL is the database number";
        p += n;
    }
    if (*p == '?') {
        if (strncmp(p, "?db=", 4) != 0 || !redis_conn_parse_db(p + 4, &c->db))
            return "the only query a redis:// URL takes is ?db=N";
    }
    snprintf(c->endpoint, sizeof(c->endpoint), strchr(c->host, ':') ? "[%s]:%d" : "%s:%d",
             c->host, c->port);
    return NULL;
}

static enum status redis_conn_read_password(struct redis_conn *c, const char *file,
                                            struct error *err)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return error_set(err, STATUS_USAGE, "redis_password_file %s: %s", file, strerror(errno));
    char line[1024];
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0')
        return error_set(err, STATUS_USAGE, "redis_password_file %s: empty first line", file);
    c->password = xstrdup(line);
    return STATUS_OK;
}

enum status redis_conn_new(const struct redis_conn_options *opt, struct redis_conn **out,
                           struct error *err)
{
    struct redis_conn *c = xcalloc(1, sizeof(*c));
    const char *url = opt->url != NULL && *opt->url ? opt->url : "redis://127.0.0.1:6379/0";

    *out = NULL;
    c->connect_timeout_ms = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : 3000;
    c->command_timeout_ms = opt->command_timeout_ms > 0 ? opt->command_timeout_ms : 5000;
    health_init(&c->health, 500, 30000, 3, (uint64_t)time_now_us() ^ ((uint64_t)getpid() << 16));
    const char *why = redis_conn_parse(c, url);
    if (why != NULL) {
        redis_conn_free(c);
        return error_set(err, STATUS_USAGE, "redis: bad URL: %s", why);
    }
    if (c->password == NULL && opt->password_file != NULL && *opt->password_file) {
        enum status rc = redis_conn_read_password(c, opt->password_file, err);
        if (rc != STATUS_OK) {
            redis_conn_free(c);
            return rc;
        }
    }
    if (c->password == NULL && getenv("REDISCLI_AUTH") != NULL && *getenv("REDISCLI_AUTH"))
        c->password = xstrdup(getenv("REDISCLI_AUTH"));
    *out = c;
    return STATUS_OK;
}

void redis_conn_close(struct redis_conn *c)
{
    if (c != NULL && c->ctx != NULL) {
        redisFree(c->ctx);
        c->ctx = NULL;
        c->pending = 0;
    }
}

void redis_conn_free(struct redis_conn *c)
{
    if (c == NULL)
        return;
    redis_conn_close(c);
    free(c->host);
    free(c->path);
    free(c->user);
    if (c->password != NULL) {
        memset(c->password, 0, strlen(c->password));
        free(c->password);
    }
    free(c);
}

const struct health *redis_conn_health(const struct redis_conn *c)
{
    return &c->health;
}

const char *redis_conn_endpoint(const struct redis_conn *c)
{
    return c->endpoint;
}

static struct timeval redis_conn_tv(int64_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

/* hiredis writes with write(2), so a server that has closed the connection
 * (a restart, CLIENT KILL, an idle timeout) would raise SIGPIPE and end a
 * long-running process such as the simulator. As libpq does: SIGPIPE is
 * blocked around each hiredis call that may write, and one it raised is
 * discarded (one already pending is left alone); the write fails with
 * EPIPE instead, which is a lost connection like any other. */
struct redis_conn_sigpipe {
    sigset_t old;
    bool was_pending;
};

static void redis_conn_sigpipe_block(struct redis_conn_sigpipe *g)
{
    sigset_t only, pending;
    sigemptyset(&only);
    sigaddset(&only, SIGPIPE);
    sigprocmask(SIG_BLOCK, &only, &g->old);
    g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

static void redis_conn_sigpipe_restore(struct redis_conn_sigpipe *g)
{
    int saved = errno; /* the caller reads errno for the reason of a failure */
    sigset_t only, pending;
    sigemptyset(&only);
    sigaddset(&only, SIGPIPE);
    if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        sigtimedwait(&only, NULL, &zero);
    }
    sigprocmask(SIG_SETMASK, &g->old, NULL);
    errno = saved;
}

static redisReply *redis_conn_argv(redisContext *ctx, int argc, const char **argv,
                                   const size_t *argvlen)
{
    struct redis_conn_sigpipe g;
    redis_conn_sigpipe_block(&g);
    redisReply *r = redisCommandArgv(ctx, argc, argv, argvlen);
    redis_conn_sigpipe_restore(&g);
    return r;
}

/* redisGetReply first writes what was appended. A reply already read
 * (most of a pipeline's) needs no I/O, so no signal guard either. */
static int redis_conn_get_reply(redisContext *ctx, void **reply)
{
    *reply = NULL;
    if (redisGetReplyFromReader(ctx, reply) != REDIS_OK)
        return REDIS_ERR;
    if (*reply != NULL)
        return REDIS_OK;
    struct redis_conn_sigpipe g;
    redis_conn_sigpipe_block(&g);
    int rc = redisGetReply(ctx, reply);
    redis_conn_sigpipe_restore(&g);
    return rc;
}

/* A hiredis I/O error, or a timeout (EAGAIN from the socket timeout), made
 * into a reason; drops the connection and records a hard failure. */
static enum status redis_conn_fail_io(struct redis_conn *c, struct error *err)
{
    char reason[256];
    if (c->ctx != NULL && c->ctx->err == REDIS_ERR_IO &&
        (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS)) {
        char span[32];
        snprintf(reason, sizeof(reason), "no answer within %s",
                 time_format_span(c->command_timeout_ms, span, sizeof(span)));
    } else if (c->ctx != NULL && c->ctx->err == REDIS_ERR_EOF) {
        snprintf(reason, sizeof(reason), "connection closed by the server");
    } else {
        snprintf(reason, sizeof(reason), "%s",
                 c->ctx != NULL && c->ctx->errstr[0] ? c->ctx->errstr : "connection lost");
    }
    redis_conn_close(c);
    health_failure(&c->health, true, time_mono_ms(), time_now_us(), reason);
    return error_set(err, STATUS_UNAVAILABLE, "redis at %s: %s", c->endpoint, reason);
}

enum status redis_conn_reply_error(const struct redis_conn *c, const redisReply *r,
                                   struct error *err)
{
    return error_set(err, redis_conn_error_status(r->str), "redis at %s: %.300s", c->endpoint,
                     r->str);
}

enum status redis_conn_error_status(const char *msg)
{
    static const char *const denied[] = {"NOPERM", "NOAUTH", "WRONGPASS", "READONLY"};
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
        if (strncmp(msg, denied[i], strlen(denied[i])) == 0)
            return STATUS_DENIED;
    return STATUS_UNAVAILABLE;
}

/* Runs a command during connection setup, before health counts it as up. */
static enum status redis_conn_setup_cmd(struct redis_conn *c, int argc, const char **argv,
                                        const char *what, struct error *err)
{
    redisReply *r = redis_conn_argv(c->ctx, argc, argv, NULL);
    if (r == NULL)
        return redis_conn_fail_io(c, err);
    if (r->type == REDIS_REPLY_ERROR) {
        enum status st = redis_conn_error_status(r->str);
        char reason[256];
        /* Never echo what was sent: it may be the password. */
        snprintf(reason, sizeof(reason), "%s failed: %.200s", what, r->str);
        freeReplyObject(r);
        redis_conn_close(c);
        if (st != STATUS_DENIED)
            health_failure(&c->health, true, time_mono_ms(), time_now_us(), reason);
        return error_set(err, st, "redis at %s: %s", c->endpoint, reason);
    }
    freeReplyObject(r);
    return STATUS_OK;
}

static enum status redis_conn_connect(struct redis_conn *c, struct error *err)
{
    int64_t t0 = time_mono_ms();
    struct timeval ctv = redis_conn_tv(c->connect_timeout_ms);

    c->ctx = c->path != NULL ? redisConnectUnixWithTimeout(c->path, ctv)
                             : redisConnectWithTimeout(c->host, c->port, ctv);
    if (c->ctx == NULL)
        xfatal("out of memory connecting to redis");
    if (c->ctx->err) {
        char reason[256];
        if (c->ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EINPROGRESS ||
                                            errno == ETIMEDOUT)) {
            char span[32];
            snprintf(reason, sizeof(reason), "no answer within %s",
                     time_format_span(c->connect_timeout_ms, span, sizeof(span)));
        } else {
            snprintf(reason, sizeof(reason), "%s", c->ctx->errstr);
        }
        redis_conn_close(c);
        health_failure(&c->health, true, time_mono_ms(), time_now_us(), reason);
        return error_set(err, STATUS_UNAVAILABLE, "redis at %s: %s", c->endpoint, reason);
    }
    /* hiredis 0.14 applies the connect timeout to the socket only while
     * connecting; without this, a stopped server blocks a command forever. */
    if (redisSetTimeout(c->ctx, redis_conn_tv(c->command_timeout_ms)) != REDIS_OK)
        return redis_conn_fail_io(c, err);
    if (c->path == NULL)
        redisEnableKeepAlive(c->ctx);
    if (c->password != NULL) {
        const char *argv[3] = {"AUTH", c->user != NULL ? c->user : c->password, c->password};
        enum status rc = redis_conn_setup_cmd(c, c->user != NULL ? 3 : 2, argv, "AUTH", err);
        if (rc != STATUS_OK)
            return rc;
    }
    if (c->db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", c->db);
        const char *argv[2] = {"SELECT", db};
        enum status rc = redis_conn_setup_cmd(c, 2, argv, "SELECT", err);
        if (rc != STATUS_OK)
            return rc;
    }
    /* Only an answer proves the server is up: a stopped server still
     * accepts the connection, and counting that as success would restart
     * the outage's "down since" at every retry. With no AUTH or SELECT the
     * first command's answer marks it. */
    if (c->password != NULL || c->db != 0)
        health_success(&c->health, (time_mono_ms() - t0) * 1000);
    return STATUS_OK;
}

enum status redis_conn_ensure(struct redis_conn *c, struct error *err)
{
    if (c->ctx != NULL && c->ctx->err == 0)
        return STATUS_OK;
    redis_conn_close(c);
    int64_t now = time_mono_ms();
    if (!health_allow(&c->health, now)) {
        char since[32], in[32];
        time_format_short(c->health.down_since_us, since, sizeof(since));
        time_format_span(health_retry_in_ms(&c->health, now), in, sizeof(in));
        return error_set(err, STATUS_UNAVAILABLE, "redis at %s down since %s, retrying in %s: %s",
                         c->endpoint, since, in, c->health.last_error);
    }
    return redis_conn_connect(c, err);
}

redisReply *redis_conn_command(struct redis_conn *c, int argc, const char **argv,
                               const size_t *argvlen, struct error *err)
{
    if (redis_conn_ensure(c, err) != STATUS_OK)
        return NULL;
    int64_t t0 = time_mono_ms();
    redisReply *r = redis_conn_argv(c->ctx, argc, argv, argvlen);
    if (r == NULL) {
        redis_conn_fail_io(c, err);
        return NULL;
    }
    health_success(&c->health, (time_mono_ms() - t0) * 1000);
    if (r->type == REDIS_REPLY_ERROR) {
        redis_conn_reply_error(c, r, err);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

enum status redis_conn_append(struct redis_conn *c, int argc, const char **argv,
                              const size_t *argvlen, struct error *err)
{
    enum status rc = c->pending > 0 ? STATUS_OK : redis_conn_ensure(c, err);
    if (rc != STATUS_OK)
        return rc;
    if (c->ctx == NULL)
        return error_set(err, STATUS_UNAVAILABLE, "redis at %s: connection lost", c->endpoint);
    if (redisAppendCommandArgv(c->ctx, argc, argv, argvlen) != REDIS_OK)
        return redis_conn_fail_io(c, err);
    c->pending++;
    return STATUS_OK;
}

redisReply *redis_conn_reply(struct redis_conn *c, struct error *err)
{
    void *reply = NULL;
    if (c->ctx == NULL || c->pending <= 0) {
        error_set(err, STATUS_UNAVAILABLE, "redis at %s: connection lost", c->endpoint);
        return NULL;
    }
    if (redis_conn_get_reply(c->ctx, &reply) != REDIS_OK || reply == NULL) {
        redis_conn_fail_io(c, err);
        return NULL;
    }
    c->pending--;
    return reply;
}

enum status redis_conn_ping(struct redis_conn *c, int64_t *rtt_us, struct error *err)
{
    const char *argv[1] = {"PING"};
    enum status rc = redis_conn_ensure(c, err);
    if (rc != STATUS_OK)
        return rc;
    int64_t t0 = time_now_us();
    redisReply *r = redis_conn_command(c, 1, argv, NULL, err);
    if (r == NULL)
        return err != NULL && err->status != STATUS_OK ? err->status : STATUS_UNAVAILABLE;
    freeReplyObject(r);
    *rtt_us = time_now_us() - t0;
    return STATUS_OK;
}

/* ---- subscriber mode ----------------------------------------------------- */

enum status redis_conn_subscribe(struct redis_conn *c, size_t n, const char *const *channels,
                                 struct error *err)
{
    /* A fresh connection: one that was subscribed before cannot be told
     * apart from one whose confirmations are still on the way. */
    redis_conn_close(c);
    enum status rc = redis_conn_ensure(c, err);
    if (rc != STATUS_OK)
        return rc;
    const char **argv = xcalloc(n + 1, sizeof(*argv));
    argv[0] = "SUBSCRIBE";
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = channels[i];
    int ok = redisAppendCommandArgv(c->ctx, (int)n + 1, argv, NULL);
    free(argv);
    if (ok != REDIS_OK)
        return redis_conn_fail_io(c, err);
    /* Redis confirms each channel before it delivers any message. */
    for (size_t i = 0; i < n; i++) {
        void *reply = NULL;
        if (redis_conn_get_reply(c->ctx, &reply) != REDIS_OK || reply == NULL)
            return redis_conn_fail_io(c, err);
        redisReply *r = reply;
        if (r->type == REDIS_REPLY_ERROR) {
            rc = redis_conn_reply_error(c, r, err);
            freeReplyObject(r);
            redis_conn_close(c);
            return rc;
        }
        freeReplyObject(r);
    }
    return STATUS_OK;
}

int redis_conn_fd(const struct redis_conn *c)
{
    return c != NULL && c->ctx != NULL && c->ctx->err == 0 ? c->ctx->fd : -1;
}

enum status redis_conn_next_message(struct redis_conn *c, redisReply **out, struct error *err)
{
    void *reply = NULL;

    *out = NULL;
    if (c->ctx == NULL || c->ctx->err != 0)
        return error_set(err, STATUS_UNAVAILABLE, "redis at %s: not connected", c->endpoint);
    /* Replies already read into the buffer first; then one read(2), and
     * only when poll says it will not block. */
    if (redisGetReplyFromReader(c->ctx, &reply) != REDIS_OK)
        return redis_conn_fail_io(c, err);
    if (reply == NULL) {
        struct pollfd p = {.fd = c->ctx->fd, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            return STATUS_OK;
        if (redisBufferRead(c->ctx) != REDIS_OK ||
            redisGetReplyFromReader(c->ctx, &reply) != REDIS_OK)
            return redis_conn_fail_io(c, err);
    }
    *out = reply;
    return STATUS_OK;
}
