/* The simulator's circuit breakers, kept as a real service keeps them:
 * in memory, by seed 004's CircuitBreaker (section 2.2), with each
 * breaker's get_stats() written to <circuit_prefix>:<name> and its name
 * registered in <circuit_prefix>:index. Operators reach the breakers
 * through the store: a forced state on the hash (read every round) and a
 * command on <circuit_prefix>:control (acted on at once). Background
 * traffic with random incidents moves them through closed, open and
 * half-open. */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/redis_internal.h"
#include "backends/sim_internal.h"
#include "util/xmalloc.h"

/* How often background traffic runs and the hashes are written. */
#define CB_ROUND_US (500 * INT64_C(1000))
/* Chance per round and breaker, per unit of --failures, that an incident
 * starts (at the default 0.08, one of eight breakers every 15 s or so). */
#define CB_INCIDENT_SHARE 0.05
/* Chance, per unit of --failures, that a call fails outside incidents. */
#define CB_NOISE_SHARE 0.1
/* Control messages handled per tick, at most. */
#define CB_MESSAGES_MAX 100

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum cb_state { CB_CLOSED, CB_OPEN, CB_HALF_OPEN };
static const char *const cb_state_names[] = {"closed", "open", "half_open"};

/* What an operator set on the hash: forced_state. */
enum cb_forced { CB_FORCED_NONE, CB_FORCED_OPEN, CB_FORCED_CLOSED };

/* Seed 004's CircuitBreakerConfig per dependency; recovery timeouts are
 * seconds rather than the seed's minute, so a demo shows every state. */
static const struct cb_service {
    const char *name;
    int failure_threshold;
    int recovery_timeout; /* seconds open before a trial call */
    int success_threshold;
    double timeout; /* seconds a call may take */
} cb_services[] = {
    {"payment-gateway", 5, 10, 3, 30.0}, {"inventory-service", 5, 8, 3, 10.0},
    {"shipping-api", 4, 12, 2, 15.0},    {"email-provider", 3, 6, 2, 5.0},
    {"fraud-check", 5, 10, 3, 2.5},      {"tax-service", 4, 8, 2, 5.0},
    {"search-index", 3, 5, 2, 1.0},      {"recommendation-engine", 3, 5, 2, 0.5},
};

#define CB_N COUNT(cb_services)

struct breaker {
    const struct cb_service *svc;
    char *key; /* <circuit_prefix>:<name> */
    enum cb_state state;
    int failure_count;
    int success_count;
    int64_t call_count;
    int64_t total_failures;
    int64_t last_failure_us; /* 0: never */
    int64_t last_success_us;
    int64_t opened_us; /* when it last opened */
    enum cb_forced forced;
    int64_t incident_until_us; /* the dependency is failing until then */
    double incident_failure;   /* chance a call fails during the incident */
};

struct sim_circuits {
    struct breaker b[CB_N];
    char *index;            /* <circuit_prefix>:index */
    char *channel;          /* <circuit_prefix>:control */
    struct redis_conn *sub; /* subscriber of the control channel, or NULL */
    bool subscribed;
    bool sub_lost_logged;
    int64_t next_round_us;
};

static struct breaker *cb_find(struct sim_circuits *c, const char *name)
{
    for (size_t i = 0; c != NULL && i < CB_N; i++)
        if (strcmp(c->b[i].svc->name, name) == 0)
            return &c->b[i];
    return NULL;
}

static void cb_move(struct sim *s, struct breaker *b, enum cb_state to, const char *why)
{
    sim_log(s, "circuit %s %s -> %s (%s)", b->svc->name, cb_state_names[b->state],
            cb_state_names[to], why);
    if (to == CB_OPEN)
        b->opened_us = s->now_us;
    b->state = to;
}

/* ---- seed 004's CircuitBreaker -------------------------------------------- */

/* _update_state: runs before every call. The seed times recovery from the
 * last failure; a breaker an operator opened may have none, so the time it
 * opened counts too. A breaker held open by an operator stays open. */
static void cb_update_state(struct sim *s, struct breaker *b)
{
    if (b->state == CB_OPEN && b->forced != CB_FORCED_OPEN) {
        int64_t since = b->last_failure_us > b->opened_us ? b->last_failure_us : b->opened_us;
        if (s->now_us - since > (int64_t)b->svc->recovery_timeout * 1000000) {
            char why[64];
            snprintf(why, sizeof(why), "recovery timeout of %ds passed", b->svc->recovery_timeout);
            cb_move(s, b, CB_HALF_OPEN, why);
            b->success_count = 0;
        }
    } else if (b->state == CB_HALF_OPEN && b->success_count >= b->svc->success_threshold) {
        char why[64];
        snprintf(why, sizeof(why), "%d successes", b->success_count);
        cb_move(s, b, CB_CLOSED, why);
        b->failure_count = 0;
    }
}

static void cb_record_success(struct sim *s, struct breaker *b)
{
    b->last_success_us = s->now_us;
    if (b->state == CB_HALF_OPEN)
        b->success_count++;
    else if (b->state == CB_CLOSED && b->failure_count > 0)
        b->failure_count--; /* the seed forgives one failure per success */
}

/* A breaker forced closed counts failures but does not open. */
static void cb_record_failure(struct sim *s, struct breaker *b)
{
    b->failure_count++;
    b->total_failures++;
    b->last_failure_us = s->now_us;
    if (b->forced == CB_FORCED_CLOSED)
        return;
    if (b->state == CB_CLOSED && b->failure_count >= b->svc->failure_threshold) {
        char why[64];
        snprintf(why, sizeof(why), "%d failures", b->failure_count);
        cb_move(s, b, CB_OPEN, why);
    } else if (b->state == CB_HALF_OPEN) {
        cb_move(s, b, CB_OPEN, "a trial call failed");
    }
}

/* __call__: whether the call may go out; when it may, its outcome counts.
 * An open breaker fails the call fast without counting it, as the seed
 * raises before call_count moves. */
static bool cb_call(struct sim *s, struct breaker *b, bool ok)
{
    cb_update_state(s, b);
    if (b->forced == CB_FORCED_OPEN || (b->state == CB_OPEN && b->forced != CB_FORCED_CLOSED))
        return false;
    b->call_count++;
    if (ok)
        cb_record_success(s, b);
    else
        cb_record_failure(s, b);
    return true;
}

bool sim_circuits_call(struct sim *s, const char *service, bool ok)
{
    struct breaker *b = cb_find(s->circuits, service);
    return b == NULL || cb_call(s, b, ok);
}

/* ---- operators: forced states and control messages ------------------------ */

/* Applies an operator's forced state, whether read from the hash or told
 * on the control channel (whichever comes first logs it). */
static void cb_force(struct sim *s, struct breaker *b, enum cb_forced f, const char *by,
                     const char *reason)
{
    if (f == b->forced)
        return;
    enum cb_forced was = b->forced;
    b->forced = f;
    char why[256];
    snprintf(why, sizeof(why), "forced%s%s%s%s", by && *by ? " by " : "", by && *by ? by : "",
             reason && *reason ? ": " : "", reason && *reason ? reason : "");
    if (f == CB_FORCED_OPEN) {
        if (b->state != CB_OPEN)
            cb_move(s, b, CB_OPEN, why);
        else
            sim_log(s, "circuit %s held open (%s)", b->svc->name, why);
    } else if (f == CB_FORCED_CLOSED) {
        if (b->state != CB_CLOSED)
            cb_move(s, b, CB_CLOSED, why);
        b->failure_count = 0;
    } else {
        /* Released: the breaker runs on from where it is; an open one
         * tries a call once its recovery timeout has passed. */
        sim_log(s, "circuit %s released%s%s (%s)", b->svc->name, by && *by ? " by " : "",
                by && *by ? by : "",
                was == CB_FORCED_OPEN ? "was forced open" : "was forced closed");
    }
}

/* The seed's reset(): closed, with its counters cleared. */
static void cb_reset(struct sim *s, struct breaker *b, const char *by)
{
    sim_log(s, "circuit %s reset by %s (was %s, %d failures)", b->svc->name, by && *by ? by : "?",
            b->forced == CB_FORCED_OPEN ? "forced open" : cb_state_names[b->state],
            b->failure_count);
    b->state = CB_CLOSED;
    b->failure_count = 0;
    b->success_count = 0;
    /* opsdeck's reset clears the forced state on the hash too. */
    b->forced = CB_FORCED_NONE;
}

/* One message from the control channel: {name, action, by, reason, at}.
 * Names of other services' breakers are not ours to act on. */
static void cb_control(struct sim *s, const char *msg, size_t len)
{
    json_error_t je;
    json_t *m = json_loadb(msg, len, 0, &je);
    const char *name = json_string_value(json_object_get(m, "name"));
    const char *action = json_string_value(json_object_get(m, "action"));
    const char *by = json_string_value(json_object_get(m, "by"));
    const char *reason = json_string_value(json_object_get(m, "reason"));

    if (name == NULL || action == NULL) {
        sim_log(s, "ignored a control message: %s", m == NULL ? "not JSON" : "no name or action");
        json_decref(m);
        return;
    }
    struct breaker *b = cb_find(s->circuits, name);
    if (b == NULL) {
        json_decref(m);
        return;
    }
    if (strcmp(action, "reset") == 0)
        cb_reset(s, b, by);
    else if (strcmp(action, "force_open") == 0)
        cb_force(s, b, CB_FORCED_OPEN, by, reason);
    else if (strcmp(action, "release") == 0)
        cb_force(s, b, CB_FORCED_NONE, by, NULL);
    else
        sim_log(s, "ignored a control message for %s: unknown action '%s'", name, action);
    json_decref(m);
}

/* (Re)subscribes when needed, then handles what arrived. */
static enum status cb_drain_control(struct sim *s, struct sim_circuits *c, struct error *err)
{
    enum status rc;
    if (c->sub == NULL)
        return STATUS_OK;
    if (!c->subscribed) {
        const char *channels[] = {c->channel};
        if ((rc = redis_conn_subscribe(c->sub, 1, channels, err)) != STATUS_OK)
            return rc;
        c->subscribed = true;
        c->sub_lost_logged = false;
    }
    for (int i = 0; i < CB_MESSAGES_MAX; i++) {
        redisReply *m;
        if ((rc = redis_conn_next_message(c->sub, &m, err)) != STATUS_OK) {
            c->subscribed = false;
            if (!c->sub_lost_logged)
                sim_log(s, "control subscriber lost, subscribing again: %s", err->msg);
            c->sub_lost_logged = true;
            return rc;
        }
        if (m == NULL)
            break;
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
            m->element[0]->type == REDIS_REPLY_STRING &&
            strcmp(m->element[0]->str, "message") == 0 && m->element[2]->type == REDIS_REPLY_STRING)
            cb_control(s, m->element[2]->str, m->element[2]->len);
        freeReplyObject(m);
    }
    return STATUS_OK;
}

/* Reads every breaker's forced state from its hash, in one round trip: the
 * hash is what holds while a service restarts or misses a message. */
static enum status cb_read_forced(struct sim *s, struct sim_circuits *c, struct error *err)
{
    enum status rc = STATUS_OK;
    size_t sent = 0;
    for (; sent < CB_N && rc == STATUS_OK; sent++) {
        const char *argv[] = {"HMGET", c->b[sent].key, "forced_state", "forced_by",
                              "forced_reason"};
        rc = redis_conn_append(s->redis, 5, argv, NULL, err);
    }
    if (rc != STATUS_OK)
        return rc;
    for (size_t i = 0; i < CB_N; i++) {
        redisReply *r = redis_conn_reply(s->redis, err);
        if (r == NULL)
            return err->status != STATUS_OK ? err->status : STATUS_UNAVAILABLE;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
            const redisReply *f = r->element[0];
            const char *by = r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : NULL;
            const char *why = r->element[2]->type == REDIS_REPLY_STRING ? r->element[2]->str : NULL;
            enum cb_forced want = CB_FORCED_NONE;
            if (f->type == REDIS_REPLY_STRING && strcmp(f->str, "open") == 0)
                want = CB_FORCED_OPEN;
            else if (f->type == REDIS_REPLY_STRING && strcmp(f->str, "closed") == 0)
                want = CB_FORCED_CLOSED;
            cb_force(s, &c->b[i], want, by, why);
        }
        freeReplyObject(r);
    }
    return STATUS_OK;
}

/* ---- traffic and the stats hashes ----------------------------------------- */

/* A round of calls to each dependency; now and then one has an incident
 * and most of its calls fail for a few seconds. */
static void cb_traffic(struct sim *s, struct sim_circuits *c)
{
    double f = s->o->failures;
    for (size_t i = 0; i < CB_N; i++) {
        struct breaker *b = &c->b[i];
        bool incident = s->now_us < b->incident_until_us;
        if (b->incident_until_us != 0 && !incident) {
            sim_log(s, "incident over: %s answers again", b->svc->name);
            b->incident_until_us = 0;
        }
        if (!incident && f > 0 && sim_chance(s, f * CB_INCIDENT_SHARE)) {
            uint64_t secs = sim_between(s, 3, 12);
            b->incident_until_us = s->now_us + (int64_t)secs * 1000000;
            b->incident_failure = 0.7 + 0.3 * sim_unit(s);
            incident = true;
            sim_log(s, "incident: %s failing for %" PRIu64 "s", b->svc->name, secs);
        }
        for (uint64_t n = sim_between(s, 1, 3); n > 0; n--) {
            double p = incident ? b->incident_failure : f * CB_NOISE_SHARE;
            cb_call(s, b, !sim_chance(s, p));
        }
    }
}

static void cb_time(int64_t us, char out[40])
{
    out[0] = '\0';
    if (us != 0) {
        sim_iso(us, false, out);
        strcat(out, "Z");
    }
}

/* Writes every breaker's get_stats() and registers the names, in one
 * round trip. Only the service's own fields: forced_* are opsdeck's. */
static enum status cb_write(struct sim *s, struct sim_circuits *c, struct error *err)
{
    enum status rc = STATUS_OK;
    char updated[40];
    cb_time(s->now_us, updated);
    for (size_t i = 0; i < CB_N && rc == STATUS_OK; i++) {
        struct breaker *b = &c->b[i];
        char fc[24], sc[24], cc[24], tf[24], rate[32], lf[40], ls[40];
        snprintf(fc, sizeof(fc), "%d", b->failure_count);
        snprintf(sc, sizeof(sc), "%d", b->success_count);
        snprintf(cc, sizeof(cc), "%" PRId64, b->call_count);
        snprintf(tf, sizeof(tf), "%" PRId64, b->total_failures);
        snprintf(rate, sizeof(rate), "%.4f",
                 (double)b->total_failures / (double)(b->call_count > 0 ? b->call_count : 1));
        cb_time(b->last_failure_us, lf);
        cb_time(b->last_success_us, ls);
        json_t *cfg =
            json_pack("{s:i, s:i, s:i, s:f}", "failure_threshold", b->svc->failure_threshold,
                      "recovery_timeout", b->svc->recovery_timeout, "success_threshold",
                      b->svc->success_threshold, "timeout", b->svc->timeout);
        char *cfg_s = json_dumps(cfg, JSON_COMPACT);
        json_decref(cfg);
        /* What the service sees: an operator's forced state wins. */
        const char *state = b->forced == CB_FORCED_OPEN     ? "open"
                            : b->forced == CB_FORCED_CLOSED ? "closed"
                                                            : cb_state_names[b->state];
        /* Field, value: seed 004's get_stats(), then updated_at. */
        /* clang-format off */
        const char *argv[] = {
            "HSET", b->key,
            "name", b->svc->name,
            "state", state,
            "failure_count", fc,
            "success_count", sc,
            "call_count", cc,
            "total_failures", tf,
            "last_failure_time", lf,
            "last_success_time", ls,
            "failure_rate", rate,
            "config", cfg_s,
            "updated_at", updated,
        };
        /* clang-format on */
        rc = redis_conn_append(s->redis, (int)COUNT(argv), argv, NULL, err);
        free(cfg_s);
    }
    if (rc != STATUS_OK)
        return rc;
    const char *sadd[2 + CB_N] = {"SADD", c->index};
    for (size_t i = 0; i < CB_N; i++)
        sadd[2 + i] = c->b[i].svc->name;
    if ((rc = redis_conn_append(s->redis, (int)COUNT(sadd), sadd, NULL, err)) != STATUS_OK)
        return rc;
    for (size_t i = 0; i <= CB_N; i++) {
        redisReply *r = redis_conn_reply(s->redis, err);
        if (r == NULL)
            return err->status != STATUS_OK ? err->status : STATUS_UNAVAILABLE;
        /* A key of another type is someone else's data: say so, go on. */
        if (r->type == REDIS_REPLY_ERROR)
            sim_log(s, "circuit %s not written: %s", i < CB_N ? c->b[i].svc->name : "index",
                    r->str);
        freeReplyObject(r);
    }
    return STATUS_OK;
}

/* ---- the part's life ------------------------------------------------------ */

enum status sim_circuits_new(struct sim *s, struct sim_circuits **out, struct error *err)
{
    struct sim_circuits *c = xcalloc(1, sizeof(*c));
    const char *prefix = s->o->circuit_prefix;

    *out = NULL;
    for (size_t i = 0; i < CB_N; i++) {
        c->b[i].svc = &cb_services[i];
        c->b[i].key = xasprintf("%s:%s", prefix, cb_services[i].name);
        c->b[i].state = CB_CLOSED;
    }
    c->index = xasprintf("%s:index", prefix);
    c->channel = xasprintf("%s:control", prefix);
    if (s->o->redis_options != NULL) {
        enum status rc = redis_conn_new(s->o->redis_options, &c->sub, err);
        if (rc != STATUS_OK) {
            sim_circuits_free(c);
            return rc;
        }
    }
    c->next_round_us = s->now_us;
    *out = c;
    return STATUS_OK;
}

void sim_circuits_free(struct sim_circuits *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < CB_N; i++)
        free(c->b[i].key);
    free(c->index);
    free(c->channel);
    redis_conn_free(c->sub);
    free(c);
}

int sim_circuits_fd(const struct sim_circuits *c)
{
    return c != NULL && c->subscribed ? redis_conn_fd(c->sub) : -1;
}

enum status sim_circuits_tick(struct sim *s, struct error *err)
{
    struct sim_circuits *c = s->circuits;
    enum status rc, first = STATUS_OK;
    struct error e = {0};

    /* Commands first, so this round already honours them. */
    if ((rc = cb_drain_control(s, c, &e)) != STATUS_OK) {
        *err = e;
        if (rc != STATUS_UNAVAILABLE)
            return rc;
        first = rc;
    }
    if (s->now_us < c->next_round_us)
        return first;
    c->next_round_us = s->now_us + CB_ROUND_US;

    /* The services' calls do not need the store: they go on while it is
     * down, with the forced states last seen, and only the writes wait. */
    e = (struct error){0};
    rc = cb_read_forced(s, c, &e);
    cb_traffic(s, c);
    if (rc == STATUS_OK) {
        e = (struct error){0};
        rc = cb_write(s, c, &e);
    }
    if (rc != STATUS_OK && (first == STATUS_OK || rc != STATUS_UNAVAILABLE)) {
        first = rc;
        *err = e;
    }
    return first;
}
