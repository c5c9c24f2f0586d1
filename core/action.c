/* Identity, idempotency, bulk confirmation and outcome reporting for the
 * action verbs. */
#include <config.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/action.h"
#include "core/out.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

void action_identity(const struct session *s, struct action_ident *id)
{
    id->operator_ = config_str(s->cfg, OPTION_OPERATOR);
    if (gethostname(id->host, sizeof(id->host)) != 0)
        snprintf(id->host, sizeof(id->host), "unknown");
    id->host[sizeof(id->host) - 1] = '\0';
    id->addr[0] = '\0';
    /* "client_ip client_port server_ip server_port" */
    const char *ssh = getenv("SSH_CONNECTION");
    if (ssh != NULL) {
        size_t n = strcspn(ssh, " ");
        if (n > 0 && n < sizeof(id->addr))
            snprintf(id->addr, sizeof(id->addr), "%.*s", (int)n, ssh);
    }
}

char *action_key(const char *given, const char *item, size_t nitems)
{
    if (given != NULL)
        return nitems > 1 ? xasprintf("%s:%s", given, item) : xstrdup(given);
    unsigned char raw[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
        /* never reached on Linux; a key unique enough for one process */
        uint64_t t = (uint64_t)time_now_us() ^ ((uint64_t)getpid() << 32);
        memcpy(raw, &t, sizeof(t));
        memcpy(raw + 8, &item, sizeof(item) < 8 ? sizeof(item) : 8);
    }
    if (fd >= 0)
        close(fd);
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return xasprintf("opsdeck-%s", hex);
}

enum status action_expect_version(const struct command *cmd, const struct command_args *a,
                                  size_t nitems, int64_t *version, struct error *err)
{
    const char *v = command_arg(cmd, a, "--expect-version");
    *version = -1;
    if (v == NULL)
        return STATUS_OK;
    if (nitems != 1)
        return error_set(err, STATUS_USAGE, "--expect-version applies to a single item");
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < 1)
        return error_set(err, STATUS_USAGE, "--expect-version: expected a version number, got "
                         "'%s'", v);
    *version = n;
    return STATUS_OK;
}

void action_pg_ctx(const struct session *s, struct action_ident *id, struct pg_action_ctx *ctx)
{
    action_identity(s, id);
    *ctx = (struct pg_action_ctx){
        .operator_ = id->operator_,
        .client_host = id->host,
        .client_addr = id->addr[0] != '\0' ? id->addr : NULL,
        .expect_version = -1,
    };
}

enum status action_confirm(const struct command *cmd, const struct command_args *a,
                           const char *what, const char *const *ids, size_t n, bool bulk,
                           struct error *err)
{
    if (!bulk)
        return STATUS_OK;
    struct buf b;
    buf_init(&b);
    buf_addf(&b, "%s %zu item%s%s", what, n, n == 1 ? "" : "s", n > 0 ? ":" : "");
    for (size_t i = 0; i < n && i < 10; i++)
        buf_addf(&b, "%s %s", i ? "," : "", ids[i]);
    if (n > 10)
        buf_addf(&b, ", and %zu more", n - 10);
    out_error(buf_get(&b));
    buf_done(&b);
    if (command_arg(cmd, a, "--yes") != NULL)
        return STATUS_OK;
    /* Captured (a console worker), stdin is not ours to read even when it
     * is a terminal: the console asks in its own dialog and passes --yes. */
    if (out_capturing())
        return error_set(err, STATUS_USAGE, "a bulk action needs --yes when it cannot ask on "
                         "a terminal; nothing changed");
    if (!isatty(STDIN_FILENO))
        return error_set(err, STATUS_USAGE, "a bulk action needs --yes when stdin is not a "
                         "terminal; nothing changed");
    fprintf(out_diag(), "Type yes to go on: ");
    char line[16];
    if (fgets(line, sizeof(line), stdin) == NULL || strcmp(line, "yes\n") != 0)
        return error_set(err, STATUS_USAGE, "not confirmed; nothing changed");
    return STATUS_OK;
}

void action_tally_init(struct action_tally *t, const struct session *s)
{
    memset(t, 0, sizeof(*t));
    t->rc = STATUS_OK;
    t->results = s->json ? json_array() : NULL;
}

void action_tally_add(struct session *s, struct action_tally *t, json_t *result)
{
    const char *outcome = json_string_value(json_object_get(result, "outcome"));
    const char *msg = json_string_value(json_object_get(result, "message"));

    t->total++;
    if (outcome != NULL && strcmp(outcome, "applied") == 0) {
        t->applied++;
    } else {
        bool missing = outcome != NULL && strcmp(outcome, "not_found") == 0;
        if (missing)
            t->not_found++;
        else
            t->refused++;
        if (t->rc == STATUS_OK) {
            t->rc = missing ? STATUS_NOT_FOUND : STATUS_REFUSED;
            t->first = xstrdup(msg != NULL ? msg : "refused");
        }
    }
    if (!s->json) {
        char *safe = out_safe(s, msg != NULL ? msg : "(no message)", 0);
        out_printf(s, "%s%s\n", safe,
                   json_is_true(json_object_get(result, "replayed")) ? " (repeated request)" : "");
        free(safe);
    }
    if (t->results != NULL)
        json_array_append_new(t->results, result);
    else
        json_decref(result);
}

enum status action_tally_finish(struct session *s, struct action_tally *t, json_t *doc,
                                struct error *err)
{
    enum status rc = t->rc;

    if (s->json && doc != NULL) {
        json_object_set(doc, "results", t->results);
        out_json(s, doc);
    } else if (s->json) {
        out_json(s, json_array_size(t->results) == 1 ? json_incref(json_array_get(t->results, 0))
                                                     : json_incref(t->results));
    } else {
        json_decref(doc);
    }
    if (rc != STATUS_OK) {
        error_set(err, rc, "%s", t->first);
        if (t->total > 1)
            error_prefix(err, "%zu of %zu applied; first not applied: ", t->applied, t->total);
    }
    action_tally_discard(t);
    return rc;
}

void action_tally_discard(struct action_tally *t)
{
    json_decref(t->results);
    free(t->first);
    memset(t, 0, sizeof(*t));
}

enum status action_report(struct session *s, json_t *results, struct error *err)
{
    struct action_tally t;
    size_t i;
    json_t *r;

    action_tally_init(&t, s);
    json_array_foreach(results, i, r) {
        action_tally_add(s, &t, json_incref(r));
    }
    json_decref(results);
    return action_tally_finish(s, &t, NULL, err);
}

static enum status action_run_pg_items(struct session *s, const struct command *cmd,
                                       const struct command_args *a, enum pg_action action,
                                       const char *what, const char *const *ids, size_t n,
                                       bool bulk, const struct pg_action_args *tmpl,
                                       struct error *err)
{
    struct action_ident id;
    struct pg_action_ctx ctx;
    enum status rc;

    action_pg_ctx(s, &id, &ctx);
    if ((rc = action_expect_version(cmd, a, n, &ctx.expect_version, err)) != STATUS_OK ||
        (rc = action_confirm(cmd, a, what, ids, n, bulk, err)) != STATUS_OK)
        return rc;
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++) {
        struct pg_action_args args = *tmpl;
        char *key = action_key(command_arg(cmd, a, "--idempotency-key"), ids[i], n);
        json_t *result = NULL;
        args.target = ids[i];
        ctx.idempotency_key = key;
        rc = pg_actions_run(session_pg(s), session_schema(s), action, &args, &ctx, &result, err);
        free(key);
        if (rc != STATUS_OK) {
            /* What was done so far is reported; the rest was not tried. */
            if (json_array_size(results) > 0) {
                struct error first = *err;
                action_report(s, results, err);
                *err = first;
                error_prefix(err, "%zu of %zu done, then: ", i, n);
            } else {
                json_decref(results);
            }
            return rc;
        }
        json_array_append_new(results, result);
    }
    return action_report(s, results, err);
}

void action_redis_ctx(struct session *s, const struct command *cmd, const struct command_args *a,
                      struct action_ident *id, struct redis_action_ctx *ctx, char **key,
                      const char *reason)
{
    action_identity(s, id);
    *key = action_key(command_arg(cmd, a, "--idempotency-key"), NULL, 1);
    ctx->operator_ = id->operator_;
    ctx->client_host = id->host;
    ctx->client_addr = id->addr[0] ? id->addr : NULL;
    ctx->idempotency_key = *key;
    ctx->reason = reason;
}

enum status action_report_redis(struct session *s, struct redis_action_result *out, size_t n,
                                struct error *err)
{
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++)
        if (out[i].result != NULL)
            json_array_append(results, out[i].result);
    return action_report(s, results, err);
}

enum status action_run_pg(struct session *s, const struct command *cmd,
                          const struct command_args *a, enum pg_action action, const char *what,
                          const char *const *ids, size_t n, const struct pg_action_args *tmpl,
                          struct error *err)
{
    return action_run_pg_items(s, cmd, a, action, what, ids, n, n > 1, tmpl, err);
}

enum status action_run_pg_bulk(struct session *s, const struct command *cmd,
                               const struct command_args *a, enum pg_action action,
                               const char *what, const char *const *ids, size_t n,
                               const struct pg_action_args *tmpl, struct error *err)
{
    return action_run_pg_items(s, cmd, a, action, what, ids, n, true, tmpl, err);
}
