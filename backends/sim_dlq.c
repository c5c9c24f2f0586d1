/* The simulator's dead-letter queue, as a real engine should keep it: a
 * failed event is written in seed 004's layout (hash, index, stats) in one
 * MULTI/EXEC, and replayed events are consumed on every configured route
 * (a list, a stream read by a consumer group, or a pub/sub channel); a
 * replay of an event that is still broken fails and is dead-lettered
 * again. About one event in five is written byte for byte the way seed
 * 004's Python writes it, and one in a hundred with malformed data, since
 * opsdeck meets both in the field. */
#include <config.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/redis_internal.h"
#include "backends/sim_internal.h"
#include "util/buf.h"
#include "util/xmalloc.h"

/* Seed 004: the event hash expires after 30 days; its index entry stays. */
#define DLQ_TTL_SECONDS "2592000"
/* Background failures per second, as a share of the saga rate. */
#define DLQ_BACKGROUND_SHARE 0.3
/* Chance that a replayed event that is not broken fails again anyway. */
#define DLQ_REFAIL_CHANCE 0.15
/* Share of dead letters written the seed's Python way. */
#define DLQ_PYTHON_CHANCE 0.2
/* One dead letter in this many has malformed data. */
#define DLQ_MALFORMED_EVERY 100
/* Most messages taken from one route in one tick, so one busy route
 * cannot starve the rest of the engine. */
#define DLQ_BATCH   "100"
#define DLQ_BATCH_N 100
#define DLQ_SUB_MAX 1000
/* The consumer group every simulated engine joins on stream routes. */
#define DLQ_GROUP "opsdeck-sim"
/* Stream entries another consumer took and did not acknowledge for this
 * long are claimed (that consumer is presumed dead), checked this often. */
#define DLQ_CLAIM_IDLE_MS  "60000"
#define DLQ_CLAIM_EVERY_US (30 * INT64_C(1000000))
/* Attempts at a dead letter when another writer changes its hash between
 * our read and our write. */
#define DLQ_WRITE_ATTEMPTS 3

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const dlq_reasons[] = {
    "max_retries_exceeded", "validation_failed",       "processing_timeout",
    "unknown_event_type",   "business_rule_violation", "infrastructure_error",
};

/* Who sends what on each queue, and who consumes it. */
static const struct dlq_flow {
    const char *queue;
    const char *event_type;
    const char *source;
    const char *target;
} dlq_flows[] = {
    {"orders.events", "order.created", "order-service", "inventory-service"},
    {"orders.events", "inventory.reserve", "order-service", "inventory-service"},
    {"payments.events", "payment.charge", "order-service", "payment-service"},
    {"payments.events", "payment.refund", "payment-service", "ledger-service"},
    {"shipping.events", "shipment.create", "order-service", "shipping-service"},
    {"notifications.events", "customer.notify", "order-service", "notification-service"},
};

/* The event types consumers have handlers for. */
static const char *const dlq_known_types[] = {
    "order.created",   "inventory.reserve", "payment.charge", "payment.refund", "shipment.create",
    "customer.notify", "job.collect",       "job.process",    "job.publish",
};

/* What old or foreign producers send that nobody handles. */
static const char *const dlq_unknown_types[] = {"OrderCreatedV1", "payment.charged",
                                                "shipment.created.v0"};

enum dlq_kind { DLQ_PUBLISH, DLQ_LIST, DLQ_STREAM };

/* One distinct replay route this engine consumes. */
struct dlq_route {
    enum dlq_kind kind;
    char *name;         /* as opsdeck prints it: publish:CHANNEL, list:KEY, stream:KEY */
    const char *target; /* the channel or key, inside name */
    bool group_ready;   /* stream: the consumer group exists */
    bool backlog;       /* stream: re-read entries delivered to us but not acknowledged */
    char claim_cursor[64];
    int64_t next_claim_us;
};

struct sim_dlq {
    struct dlq_route *routes;
    size_t nroutes;
    struct redis_conn *sub; /* subscriber of the publish routes, or NULL */
    bool subscribed;
    bool sub_lost_logged;
    int64_t last_us;       /* the previous tick, for the background rate */
    double owed;           /* background failures due but not yet written */
    uint64_t written;      /* dead letters written, for the malformed ones */
    uint64_t malformed_at; /* which of each hundred is malformed */
};

/* How one dead letter is written. */
struct dlq_letter {
    const char *queue, *reason, *source, *target, *message; /* NULL: as stored, or a default */
    int retry_count;
};

/* What an earlier dead letter of the same event left. */
struct dlq_prior {
    bool found;
    bool wrong_type; /* the key is not a hash: another tool's, left alone */
    json_int_t retry_count;
    char *first_failure_time;
    char *queue, *source, *target;
    /* opsdeck's status counters to move when the event comes back from
     * retried or resolved: decrement the old one only when it is a
     * positive count, increment pending_review only when it is kept */
    char *old_status;
    bool dec_old, inc_pending;
};

static void dlq_prior_done(struct dlq_prior *p)
{
    free(p->first_failure_time);
    free(p->queue);
    free(p->source);
    free(p->target);
    free(p->old_status);
    memset(p, 0, sizeof(*p));
}

/* ---- times and encodings -------------------------------------------------- */

/* A time the way Python's datetime prints a naive UTC value: str() with a
 * space, isoformat() with a T, and no fraction when it is zero. */
static void dlq_time_python(int64_t us, bool space, char out[32])
{
    sim_iso(us, space, out);
    if (us % 1000000 == 0)
        out[19] = '\0';
}

/* A time the clean way: ISO 8601 with its zone. */
static void dlq_time_clean(int64_t us, char out[40])
{
    sim_iso(us, false, out);
    strcat(out, "Z");
}

/* Python's json.dumps escapes non-ASCII as \u00eb with lower-case hex;
 * jansson writes \u00EB. */
static void dlq_lower_escapes(char *s)
{
    for (; *s; s++) {
        if (*s != '\\')
            continue;
        if (s[1] == 'u')
            for (int i = 2; i < 6 && s[i]; i++)
                s[i] = (char)tolower((unsigned char)s[i]);
        if (s[1] != '\0')
            s++;
    }
}

/* "DLQReason.VALIDATION_FAILED": what str() of the seed's enum gives, and
 * so what json.dumps(..., default=str) writes. */
static char *dlq_reason_repr(const char *reason)
{
    char *r = xasprintf("DLQReason.%s", reason);
    for (char *p = r + 10; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return r;
}

/* ---- writing a dead letter ------------------------------------------------ */

static char *dlq_dup_field(json_t *data, const char *key)
{
    const char *v = json_string_value(json_object_get(data, key));
    return v != NULL ? xstrdup(v) : NULL;
}

/* Sends a batch queued with redis_conn_append and reads all n replies
 * into r (each freed by the caller). */
static enum status dlq_replies(struct sim *s, redisReply **r, size_t n, struct error *err)
{
    for (size_t i = 0; i < n; i++) {
        if ((r[i] = redis_conn_reply(s->redis, err)) == NULL) {
            for (size_t j = 0; j < i; j++)
                freeReplyObject(r[j]);
            return err->status != STATUS_OK ? err->status : STATUS_UNAVAILABLE;
        }
    }
    return STATUS_OK;
}

/* WATCHes the event's hash and reads what an earlier dead letter of the
 * same event left there, so that our write can keep its first failure
 * time and count one more retry, and is refused (EXEC returns nil) if
 * anyone changes the hash before it lands. */
static enum status dlq_read_prior(struct sim *s, const char *key, struct dlq_prior *p,
                                  struct error *err)
{
    const char *watch[] = {"WATCH", key}, *hget[] = {"HGET", key, "data"};
    const char *hstatus[] = {"HGET", key, "status"};
    redisReply *r[3];
    enum status rc;

    memset(p, 0, sizeof(*p));
    if ((rc = redis_conn_append(s->redis, 2, watch, NULL, err)) != STATUS_OK ||
        (rc = redis_conn_append(s->redis, 3, hget, NULL, err)) != STATUS_OK ||
        (rc = redis_conn_append(s->redis, 3, hstatus, NULL, err)) != STATUS_OK ||
        (rc = dlq_replies(s, r, 3, err)) != STATUS_OK)
        return rc;
    if (r[2]->type == REDIS_REPLY_STRING && strcmp(r[2]->str, "pending_review") != 0) {
        char *stats = xasprintf("%s:stats", s->o->dlq_prefix);
        char *field = xasprintf("status:%s", r[2]->str);
        const char *hmget[] = {"HMGET", stats, field, "status:pending_review"};
        redisReply *c = redis_conn_command(s->redis, 4, hmget, NULL, err);
        if (c != NULL && c->type == REDIS_REPLY_ARRAY && c->elements == 2) {
            p->old_status = xstrdup(r[2]->str);
            p->dec_old = c->element[0]->type == REDIS_REPLY_STRING && atoll(c->element[0]->str) > 0;
            p->inc_pending = c->element[1]->type == REDIS_REPLY_STRING;
        }
        if (c != NULL)
            freeReplyObject(c);
        free(field);
        free(stats);
    }
    freeReplyObject(r[2]);
    if (r[0]->type == REDIS_REPLY_ERROR || r[1]->type == REDIS_REPLY_ERROR) {
        const char *msg = r[r[0]->type == REDIS_REPLY_ERROR ? 0 : 1]->str;
        rc = redis_conn_error_status(msg);
        if (rc == STATUS_DENIED || strncmp(msg, "WRONGTYPE", 9) != 0) {
            error_set(err, rc, "redis: %.300s", msg);
        } else {
            p->wrong_type = true;
            rc = STATUS_OK;
        }
    } else if (r[1]->type == REDIS_REPLY_STRING) {
        p->found = true;
        json_t *data = json_loadb(r[1]->str, r[1]->len, 0, NULL);
        /* Malformed earlier data: count from one again, nothing to keep. */
        json_t *n = json_object_get(data, "retry_count");
        p->retry_count = json_is_integer(n) ? json_integer_value(n) : 0;
        p->first_failure_time = dlq_dup_field(data, "first_failure_time");
        p->queue = dlq_dup_field(data, "original_queue");
        p->source = dlq_dup_field(data, "source_service");
        p->target = dlq_dup_field(data, "target_service");
        json_decref(data);
    }
    freeReplyObject(r[0]);
    freeReplyObject(r[1]);
    return rc;
}

/* Ends the WATCH of an attempt that writes nothing. */
static enum status dlq_unwatch(struct sim *s, struct error *err)
{
    const char *argv[] = {"UNWATCH"};
    redisReply *r = redis_conn_command(s->redis, 1, argv, NULL, err);
    if (r == NULL)
        return err->status;
    freeReplyObject(r);
    return STATUS_OK;
}

/* A stack trace as a Python service would record it, for the failures
 * that raise; validation and rule failures have none. */
static json_t *dlq_stack_trace(struct sim *s, const struct dlq_letter *l, const char *target)
{
    if (strcmp(l->reason, "validation_failed") == 0 ||
        strcmp(l->reason, "business_rule_violation") == 0 ||
        strcmp(l->reason, "unknown_event_type") == 0)
        return json_null();
    char *t = xasprintf("Traceback (most recent call last):\n"
                        "  File \"/srv/%s/handlers.py\", line %" PRIu64 ", in process_event\n"
                        "    await self._handle_event(event)\n"
                        "  File \"/srv/%s/clients.py\", line %" PRIu64 ", in call\n"
                        "    raise ExternalAPIError(api_name, resp.status, body)\n"
                        "ExternalAPIError: %s",
                        target, sim_between(s, 40, 400), target, sim_between(s, 20, 200),
                        l->message ? l->message : "");
    json_t *j = json_string(t);
    free(t);
    return j;
}

/* Data that is not JSON, as buggy writers leave it: Python's str() of
 * the dict instead of json.dumps, or a write cut short. */
static char *dlq_malformed(struct sim *s, const char *id, const char *reason, const char *json)
{
    if (sim_chance(s, 0.5)) {
        char *repr = dlq_reason_repr(reason);
        char *out = xasprintf("{'event_id': '%s', 'failure_reason': <%s: '%s'>, "
                              "'retry_count': 0, 'original_event': {...}}",
                              id, repr, reason);
        free(repr);
        return out;
    }
    size_t len = strlen(json);
    return xstrndup(json, len / 2 > 0 ? len / 2 : len);
}

/* How an attempt at a dead letter ended. */
enum dlq_outcome {
    DLQ_WRITTEN,
    DLQ_RACED,   /* another writer changed the hash after we read it: nothing written */
    DLQ_REFUSED, /* cannot be written (logged); trying again would not help */
};

/* Queues one MULTI/EXEC that writes the hash, its expiry, the index
 * entry and the stats, and runs it. */
static enum status dlq_commit(struct sim *s, const char *key, const char *id, json_t *event,
                              const struct dlq_letter *l, const struct dlq_prior *p, bool python,
                              bool malformed, enum dlq_outcome *outcome, struct error *err)
{
    const char *prefix = s->o->dlq_prefix;
    const char *queue = l->queue ? l->queue : p->queue ? p->queue : "unknown";
    const char *source = l->source ? l->source : p->source ? p->source : "unknown";
    const char *target = l->target ? l->target : p->target ? p->target : "unknown";
    char now[40], created[40], score[32];
    enum status rc;

    *outcome = DLQ_RACED;
    if (python) {
        dlq_time_python(s->now_us, true, now);
        dlq_time_python(s->now_us, false, created);
    } else {
        dlq_time_clean(s->now_us, now);
        dlq_time_clean(s->now_us, created);
    }
    const char *first = p->first_failure_time ? p->first_failure_time : now;
    snprintf(score, sizeof(score), "%.6f", (double)s->now_us / 1e6);

    /* Seed 004's FailedEvent, field for field and in its order. */
    char *repr = python ? dlq_reason_repr(l->reason) : NULL;
    json_t *context = json_object();
    if (!python || sim_chance(s, 0.5)) {
        /* What an operator needs to find the failure elsewhere. */
        json_t *v;
        if ((v = json_object_get(event, "trace_id")) != NULL)
            json_object_set(context, "trace_id", v);
        if ((v = json_object_get(event, "execution_id")) != NULL)
            json_object_set(context, "execution_id", v);
        json_object_set_new(context, "engine", json_string(s->o->instance));
        json_object_set_new(context, "handler",
                            json_pack("{s:s, s:I}", "service", target, "attempt",
                                      (json_int_t)(p->found ? p->retry_count + 2 : 1)));
    }
    json_t *data =
        json_pack("{s:s, s:O, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "event_id", id,
                  "original_event", event, "failure_reason", python ? repr : l->reason,
                  "error_message", l->message ? l->message : "", "retry_count",
                  (json_int_t)(p->found ? p->retry_count + 1 : l->retry_count),
                  "first_failure_time", first, "last_failure_time", now, "source_service", source,
                  "target_service", target, "original_queue", queue, "stack_trace",
                  python ? json_null() : dlq_stack_trace(s, l, target), "context", context);
    free(repr);
    if (data == NULL) {
        /* Text that is not UTF-8 cannot be JSON: the caller's bug, not
         * the store's. */
        sim_log(s, "dead letter %s not written: its fields are not UTF-8", id);
        *outcome = DLQ_REFUSED;
        return dlq_unwatch(s, err);
    }

    /* json.dumps defaults: ", " and ": " separators, ASCII only. */
    char *text = json_dumps(data, python ? JSON_ENSURE_ASCII : JSON_COMPACT);
    json_decref(data);
    if (python)
        dlq_lower_escapes(text);
    if (malformed) {
        char *bad = dlq_malformed(s, id, l->reason, text);
        free(text);
        text = bad;
    }

    char *index = xasprintf("%s:index", prefix), *stats = xasprintf("%s:stats", prefix);
    char *by_reason = xasprintf("reason:%s", l->reason);
    char *by_source = xasprintf("source:%s", source), *by_target = xasprintf("target:%s", target);
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    /* HSET, not DEL first: like the seed, fields opsdeck added (retried_at,
     * replay_count, ...) stay, and status goes back to pending_review. */
    const char *hset[] = {"HSET",       key,     "data",   text,
                          "created_at", created, "status", "pending_review"};
    const char *expire[] = {"EXPIRE", key, DLQ_TTL_SECONDS};
    const char *zadd[] = {"ZADD", index, score, id};
    const char *total[] = {"HINCRBY", stats, "total_failed_events", "1"};
    const char *reason[] = {"HINCRBY", stats, by_reason, "1"};
    const char *src[] = {"HINCRBY", stats, by_source, "1"};
    const char *tgt[] = {"HINCRBY", stats, by_target, "1"};
    const char *updated[] = {"HSET", stats, "last_updated", created};
    char *by_old = xasprintf("status:%s", p->old_status ? p->old_status : "");
    const char *dec[] = {"HINCRBY", stats, by_old, "-1"};
    const char *inc[] = {"HINCRBY", stats, "status:pending_review", "1"};
    const char *noop[] = {"PING"};
    struct {
        int argc;
        const char **argv;
    } cmds[] = {
        {1, multi},  {8, hset}, {3, expire}, {4, zadd},    {4, total},
        {4, reason}, {4, src},  {4, tgt},    {4, updated},
        /* the counters opsdeck keeps, moved back with the status */
        {p->dec_old ? 4 : 1, p->dec_old ? dec : noop},
        {p->inc_pending ? 4 : 1, p->inc_pending ? inc : noop},
        {1, exec},
    };
    redisReply *r[COUNT(cmds)];
    rc = STATUS_OK;
    for (size_t i = 0; i < COUNT(cmds) && rc == STATUS_OK; i++)
        rc = redis_conn_append(s->redis, cmds[i].argc, cmds[i].argv, NULL, err);
    if (rc == STATUS_OK)
        rc = dlq_replies(s, r, COUNT(cmds), err);
    if (rc == STATUS_OK) {
        redisReply *x = r[COUNT(cmds) - 1];
        if (x->type == REDIS_REPLY_ARRAY) {
            *outcome = DLQ_WRITTEN;
            /* EXEC ran every command; one on a key of another type fails
             * alone. Say so and carry on: the data is another tool's. */
            for (size_t i = 0; i < x->elements; i++)
                if (x->element[i]->type == REDIS_REPLY_ERROR)
                    sim_log(s, "dead letter %s partly written: %s", id, x->element[i]->str);
        } else if (x->type == REDIS_REPLY_ERROR) {
            *outcome = DLQ_REFUSED; /* nothing written */
            sim_log(s, "dead letter %s not written: %s", id, x->str);
        }
        for (size_t i = 0; i < COUNT(cmds); i++)
            freeReplyObject(r[i]);
    }
    free(by_old);
    free(by_target);
    free(by_source);
    free(by_reason);
    free(stats);
    free(index);
    free(text);
    return rc;
}

/* Dead-letters event (taken). Fields of l that are NULL come from an
 * earlier dead letter of the same event, if any. */
static enum status dlq_write(struct sim *s, json_t *event, const struct dlq_letter *l,
                             struct error *err)
{
    struct sim_dlq *d = s->dlq;
    const char *given = json_string_value(json_object_get(event, "event_id"));
    /* The seed's _generate_event_id when the event has none. */
    char *id = given != NULL && *given ? xstrdup(given) : sim_new_id(s, "failed");
    char *key = xasprintf("%s:%s", s->o->dlq_prefix, id);
    bool python = sim_chance(s, DLQ_PYTHON_CHANCE);
    bool malformed = d != NULL && d->written % DLQ_MALFORMED_EVERY == d->malformed_at;
    enum dlq_outcome outcome = DLQ_RACED;
    struct dlq_prior p = {0};
    enum status rc = STATUS_OK;

    if (event == NULL)
        event = json_object();
    for (int attempt = 0; attempt < DLQ_WRITE_ATTEMPTS && outcome == DLQ_RACED; attempt++) {
        dlq_prior_done(&p);
        if ((rc = dlq_read_prior(s, key, &p, err)) != STATUS_OK)
            break;
        if (p.wrong_type) {
            sim_log(s, "dead letter %s not written: %s is not a hash", id, key);
            outcome = DLQ_REFUSED;
            rc = dlq_unwatch(s, err);
            break;
        }
        rc = dlq_commit(s, key, id, event, l, &p, python, malformed, &outcome, err);
        if (rc != STATUS_OK)
            break;
    }
    if (rc == STATUS_OK && outcome == DLQ_WRITTEN) {
        if (d != NULL)
            d->written++;
        const char *queue = l->queue ? l->queue : p.queue ? p.queue : "unknown";
        if (p.found)
            sim_log(s, "dead-lettered %s from %s: %s (again, retry_count %" JSON_INTEGER_FORMAT ")",
                    id, queue, l->reason, p.retry_count + 1);
        else
            sim_log(s, "dead-lettered %s from %s: %s%s", id, queue, l->reason,
                    malformed ? " (malformed data)" : "");
    } else if (rc == STATUS_OK && outcome == DLQ_RACED) {
        sim_log(s, "dead letter %s not written: its hash kept changing", id);
    }
    dlq_prior_done(&p);
    free(key);
    free(id);
    json_decref(event);
    return rc;
}

enum status sim_dlq_dead_letter(struct sim *s, json_t *event, const char *queue, const char *reason,
                                const char *source, const char *target, const char *message,
                                struct error *err)
{
    /* The seed's EventProcessor: an event that ran out of retries carries
     * its count; one refused outright has none. */
    struct dlq_letter l = {
        .queue = queue,
        .reason = reason,
        .source = source,
        .target = target,
        .message = message,
        .retry_count = strcmp(reason, "max_retries_exceeded") == 0 ? 3 : 0,
    };
    return dlq_write(s, event, &l, err);
}

/* ---- background failures -------------------------------------------------- */

/* One failing event of some service, with a reason that fits what is
 * wrong with it; validation and unknown-type failures are built broken,
 * so a replay of them fails again. */
static enum status dlq_background(struct sim *s, struct error *err)
{
    const char *const *queues = sim_queues();
    size_t nq = 0;
    while (queues[nq] != NULL)
        nq++;
    const char *queue = sim_pick(s, queues, nq);
    const struct dlq_flow *candidates[COUNT(dlq_flows)], *f = NULL;
    size_t nc = 0;
    for (size_t i = 0; i < COUNT(dlq_flows); i++)
        if (strcmp(dlq_flows[i].queue, queue) == 0)
            candidates[nc++] = &dlq_flows[i];
    f = nc > 0 ? candidates[sim_rand(s) % nc] : &dlq_flows[0];

    const char *reason = sim_pick(s, dlq_reasons, COUNT(dlq_reasons));
    json_t *ev = sim_payload_event(s, f->event_type);
    json_t *payment = json_object_get(json_object_get(ev, "payload"), "payment");
    char *message;
    int retries = 0;

    if (strcmp(reason, "validation_failed") == 0) {
        json_object_set_new(payment, "currency", json_string(""));
        message = xstrdup("Data validation failed: payment.currency = '' violates rule "
                          "'ISO 4217 currency code'");
    } else if (strcmp(reason, "unknown_event_type") == 0) {
        const char *t = sim_pick(s, dlq_unknown_types, COUNT(dlq_unknown_types));
        json_object_set_new(ev, "event_type", json_string(t));
        message = xasprintf("No handler registered for event type '%s'", t);
    } else if (strcmp(reason, "business_rule_violation") == 0) {
        message = xasprintf("Business Rule 'credit_limit' violated: order total %s %s exceeds "
                            "the customer's limit",
                            json_string_value(json_object_get(payment, "amount")),
                            json_string_value(json_object_get(payment, "currency")));
    } else if (strcmp(reason, "processing_timeout") == 0) {
        message = xasprintf("Circuit breaker '%s' timeout after 30.0s", f->target);
    } else if (strcmp(reason, "infrastructure_error") == 0) {
        message = xasprintf("Database connection failed: %s-db", f->target);
    } else {
        retries = (int)sim_between(s, 3, 5);
        message = xasprintf("External API '%s' failed: HTTP %s", f->target,
                            sim_chance(s, 0.5) ? "503" : "502");
    }
    struct dlq_letter l = {
        .queue = queue,
        .reason = reason,
        .source = f->source,
        .target = f->target,
        .message = message,
        .retry_count = retries,
    };
    enum status rc = dlq_write(s, ev, &l, err);
    free(message);
    return rc;
}

/* ---- consuming replayed events -------------------------------------------- */

/* What a consumer checks before it handles an event; NULL when it passes,
 * else the failure reason and *why. */
static const char *dlq_check(json_t *ev, char **why)
{
    const char *type = json_string_value(json_object_get(ev, "event_type"));
    size_t i;
    for (i = 0; type != NULL && i < COUNT(dlq_known_types); i++)
        if (strcmp(type, dlq_known_types[i]) == 0)
            break;
    if (type == NULL || i == COUNT(dlq_known_types)) {
        *why = xasprintf("No handler registered for event type '%s'", type ? type : "(none)");
        return "unknown_event_type";
    }
    json_t *payment = json_object_get(json_object_get(ev, "payload"), "payment");
    const char *cur = json_string_value(json_object_get(payment, "currency"));
    if (payment != NULL && (cur == NULL || strlen(cur) != 3 || !isupper((unsigned char)cur[0]) ||
                            !isupper((unsigned char)cur[1]) || !isupper((unsigned char)cur[2]))) {
        *why = xasprintf("Data validation failed: payment.currency = '%s' violates rule "
                         "'ISO 4217 currency code'",
                         cur ? cur : "");
        return "validation_failed";
    }
    return NULL;
}

/* Handles one message from a route: logs it consumed, then processes it
 * or, when it is still broken or fails by chance, dead-letters it again.
 * A message that is not an event is logged and skipped. Returns the
 * status of the dead-letter write (STATUS_UNAVAILABLE: not handled). */
static enum status dlq_consume(struct sim *s, const struct dlq_route *r, const char *msg,
                               size_t len, struct error *err)
{
    json_error_t je;
    json_t *ev = json_loadb(msg, len, 0, &je);
    const char *id = json_string_value(json_object_get(ev, "event_id"));

    if (ev == NULL || id == NULL || *id == '\0') {
        if (ev == NULL)
            sim_log(s, "skipped a message on %s: not JSON (%s at byte %d)", r->name, je.text,
                    je.position);
        else
            sim_log(s, "skipped a message on %s: no event_id", r->name);
        json_decref(ev);
        return STATUS_OK;
    }
    sim_log(s, "consumed %s from %s", id, r->name);

    char *why = NULL;
    const char *reason = dlq_check(ev, &why);
    if (reason == NULL && s->o->failures > 0 && sim_chance(s, DLQ_REFAIL_CHANCE)) {
        reason = sim_chance(s, 0.5) ? "processing_timeout" : "infrastructure_error";
        why = xstrdup(strcmp(reason, "processing_timeout") == 0
                          ? "Replay timed out after 30.0s waiting for the downstream service"
                          : "Database connection failed while handling the replay");
    }
    if (reason == NULL) {
        sim_log(s, "processed %s", id);
        json_decref(ev);
        return STATUS_OK;
    }
    sim_log(s, "failed again %s (%s)", id, reason);
    /* Queue and services (left NULL) as the first failure recorded them. */
    struct dlq_letter l = {.reason = reason, .message = why};
    enum status rc = dlq_write(s, ev, &l, err);
    free(why);
    return rc;
}

/* The publish routes: (re)subscribe when needed, then take what arrived. */
static enum status dlq_drain_subscriber(struct sim *s, struct sim_dlq *d, struct error *err)
{
    enum status rc = STATUS_OK;
    if (d->sub == NULL)
        return STATUS_OK;
    if (!d->subscribed) {
        const char **channels = xcalloc(d->nroutes + 1, sizeof(*channels));
        size_t n = 0;
        for (size_t i = 0; i < d->nroutes; i++)
            if (d->routes[i].kind == DLQ_PUBLISH)
                channels[n++] = d->routes[i].target;
        rc = redis_conn_subscribe(d->sub, n, channels, err);
        free(channels);
        if (rc != STATUS_OK)
            return rc;
        d->subscribed = true;
        d->sub_lost_logged = false;
        sim_log(s, "listening for replays on %zu channel%s", n, n == 1 ? "" : "s");
    }
    for (int i = 0; i < DLQ_SUB_MAX; i++) {
        redisReply *m;
        if ((rc = redis_conn_next_message(d->sub, &m, err)) != STATUS_OK) {
            d->subscribed = false;
            if (!d->sub_lost_logged)
                sim_log(s, "replay subscriber lost, subscribing again: %s", err->msg);
            d->sub_lost_logged = true;
            return rc;
        }
        if (m == NULL)
            break;
        /* ["message", channel, payload]; confirmations are skipped. */
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
            m->element[0]->type == REDIS_REPLY_STRING &&
            strcmp(m->element[0]->str, "message") == 0 &&
            m->element[1]->type == REDIS_REPLY_STRING &&
            m->element[2]->type == REDIS_REPLY_STRING) {
            for (size_t j = 0; j < d->nroutes; j++) {
                struct dlq_route *r = &d->routes[j];
                if (r->kind == DLQ_PUBLISH && strcmp(r->target, m->element[1]->str) == 0) {
                    rc = dlq_consume(s, r, m->element[2]->str, m->element[2]->len, err);
                    break;
                }
            }
        }
        freeReplyObject(m);
        if (rc != STATUS_OK)
            return rc;
    }
    return STATUS_OK;
}

/* A list route: RPOP takes up to a batch. Popping is at most once: what
 * was popped and not handled (the engine died, or the store went away
 * while it dead-lettered one of them) is lost; LMOVE to a processing list
 * would keep it, but seed 004's queues are plain lists. */
static enum status dlq_drain_list(struct sim *s, struct dlq_route *r, struct error *err)
{
    const char *argv[] = {"RPOP", r->target, DLQ_BATCH};
    redisReply *x = redis_conn_command(s->redis, 3, argv, NULL, err);
    enum status rc = STATUS_OK;
    size_t i = 0;
    if (x == NULL)
        return err->status;
    for (; x->type == REDIS_REPLY_ARRAY && i < x->elements && rc == STATUS_OK; i++)
        if (x->element[i]->type == REDIS_REPLY_STRING)
            rc = dlq_consume(s, r, x->element[i]->str, x->element[i]->len, err);
    if (rc != STATUS_OK && i < x->elements)
        sim_log(s, "lost %zu popped messages on %s: %s", x->elements - i, r->name, err->msg);
    freeReplyObject(x);
    return rc;
}

/* Handles stream entries [[id, [field, value, ...]], ...] and acknowledges
 * each one handled. An entry whose handling failed stays pending and is
 * read again from the backlog. */
static enum status dlq_stream_entries(struct sim *s, struct dlq_route *r, const redisReply *es,
                                      size_t *n, struct error *err)
{
    enum status rc = STATUS_OK;
    *n = 0;
    for (size_t i = 0; es != NULL && es->type == REDIS_REPLY_ARRAY && i < es->elements; i++) {
        const redisReply *e = es->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            continue;
        (*n)++;
        const redisReply *f = e->element[1], *payload = NULL;
        for (size_t j = 0; f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements; j += 2)
            if (f->element[j]->type == REDIS_REPLY_STRING &&
                strcmp(f->element[j]->str, "event") == 0 &&
                f->element[j + 1]->type == REDIS_REPLY_STRING)
                payload = f->element[j + 1];
        if (payload != NULL)
            rc = dlq_consume(s, r, payload->str, payload->len, err);
        else if (f->type == REDIS_REPLY_ARRAY)
            sim_log(s, "skipped a message on %s: entry %s has no event field", r->name,
                    e->element[0]->str);
        /* else: trimmed from the stream since delivery; only the ack is left. */
        if (rc != STATUS_OK) {
            r->backlog = true;
            return rc;
        }
        const char *ack[] = {"XACK", r->target, DLQ_GROUP, e->element[0]->str};
        redisReply *a = redis_conn_command(s->redis, 4, ack, NULL, err);
        if (a == NULL)
            return err->status;
        freeReplyObject(a);
    }
    return rc;
}

/* A stream route: the group is created once (from the start of the
 * stream, so replays sent before any engine ran are handled); entries
 * delivered to this consumer and never acknowledged are read again first;
 * entries a dead consumer left are claimed now and then. */
static enum status dlq_drain_stream(struct sim *s, struct dlq_route *r, struct error *err)
{
    enum status rc = STATUS_OK;
    size_t n;

    if (!r->group_ready) {
        const char *argv[] = {"XGROUP", "CREATE", r->target, DLQ_GROUP, "0", "MKSTREAM"};
        redisReply *x = redis_conn_command(s->redis, 6, argv, NULL, err);
        if (x == NULL && strstr(err->msg, "BUSYGROUP") == NULL)
            return err->status;
        freeReplyObject(x);
        *err = (struct error){0};
        r->group_ready = true;
        r->backlog = true;
    }
    if (s->now_us >= r->next_claim_us) {
        const char *argv[] = {"XAUTOCLAIM",      r->target,       DLQ_GROUP, s->o->instance,
                              DLQ_CLAIM_IDLE_MS, r->claim_cursor, "COUNT",   DLQ_BATCH};
        redisReply *x = redis_conn_command(s->redis, 8, argv, NULL, err);
        if (x == NULL)
            return err->status;
        if (x->type == REDIS_REPLY_ARRAY && x->elements >= 2 &&
            x->element[0]->type == REDIS_REPLY_STRING && x->element[1]->type == REDIS_REPLY_ARRAY) {
            snprintf(r->claim_cursor, sizeof(r->claim_cursor), "%s", x->element[0]->str);
            if (x->element[1]->elements > 0)
                sim_log(s, "claimed %zu entries another consumer left unacknowledged on %s",
                        x->element[1]->elements, r->name);
            rc = dlq_stream_entries(s, r, x->element[1], &n, err);
        }
        freeReplyObject(x);
        if (rc != STATUS_OK)
            return rc;
        if (strcmp(r->claim_cursor, "0-0") == 0)
            r->next_claim_us = s->now_us + DLQ_CLAIM_EVERY_US;
    }
    /* "0": our own pending entries; ">": entries nobody was given yet. */
    const char *argv[] = {"XREADGROUP", "GROUP",   DLQ_GROUP, s->o->instance,        "COUNT",
                          DLQ_BATCH,    "STREAMS", r->target, r->backlog ? "0" : ">"};
    bool backlog = r->backlog;
    redisReply *x = redis_conn_command(s->redis, 9, argv, NULL, err);
    if (x == NULL) {
        /* The stream or group was deleted under us: create it again. */
        if (strstr(err->msg, "NOGROUP") != NULL)
            r->group_ready = false;
        return err->status;
    }
    n = 0;
    if (x->type == REDIS_REPLY_ARRAY && x->elements > 0 &&
        x->element[0]->type == REDIS_REPLY_ARRAY && x->element[0]->elements == 2)
        rc = dlq_stream_entries(s, r, x->element[0]->element[1], &n, err);
    if (backlog && rc == STATUS_OK && n == 0)
        r->backlog = false;
    freeReplyObject(x);
    return rc;
}

/* ---- the part's life ------------------------------------------------------ */

static bool dlq_parse_route(const struct sim_route *sr, struct dlq_route *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->claim_cursor, sizeof(out->claim_cursor), "0-0");
    if (sr->route == NULL || strcmp(sr->route, "publish") == 0) {
        out->kind = DLQ_PUBLISH;
        out->name = xasprintf("publish:%s", sr->queue);
    } else if (strncmp(sr->route, "list:", 5) == 0 && sr->route[5] != '\0') {
        out->kind = DLQ_LIST;
        out->name = xstrdup(sr->route);
    } else if (strncmp(sr->route, "stream:", 7) == 0 && sr->route[7] != '\0') {
        out->kind = DLQ_STREAM;
        out->name = xstrdup(sr->route);
    } else {
        return false;
    }
    out->target = strchr(out->name, ':') + 1;
    return true;
}

enum status sim_dlq_new(struct sim *s, struct sim_dlq **out, struct error *err)
{
    struct sim_dlq *d = xcalloc(1, sizeof(*d));
    bool publish = false;

    *out = NULL;
    d->routes = xcalloc(s->o->nroutes + 1, sizeof(*d->routes));
    for (size_t i = 0; i < s->o->nroutes; i++) {
        struct dlq_route r;
        if (!dlq_parse_route(&s->o->routes[i], &r)) {
            sim_dlq_free(d);
            return error_set(err, STATUS_USAGE,
                             "route for %s: '%s' is not publish, list:KEY "
                             "or stream:KEY",
                             s->o->routes[i].queue, s->o->routes[i].route);
        }
        /* Several queues may share a route; it has one consumer. */
        size_t j;
        for (j = 0; j < d->nroutes; j++)
            if (strcmp(d->routes[j].name, r.name) == 0)
                break;
        if (j < d->nroutes) {
            free(r.name);
            continue;
        }
        publish |= r.kind == DLQ_PUBLISH;
        d->routes[d->nroutes++] = r;
    }
    if (publish && s->o->redis_options == NULL)
        sim_log(s, "no settings for a subscriber: replays on publish routes are not consumed");
    if (publish && s->o->redis_options != NULL) {
        enum status rc = redis_conn_new(s->o->redis_options, &d->sub, err);
        if (rc != STATUS_OK) {
            sim_dlq_free(d);
            return rc;
        }
    }
    d->malformed_at = sim_between(s, 0, DLQ_MALFORMED_EVERY - 1);
    d->last_us = s->now_us;
    *out = d;
    return STATUS_OK;
}

void sim_dlq_free(struct sim_dlq *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->nroutes; i++)
        free(d->routes[i].name);
    free(d->routes);
    redis_conn_free(d->sub);
    free(d);
}

int sim_dlq_fd(const struct sim_dlq *d)
{
    return d != NULL && d->subscribed ? redis_conn_fd(d->sub) : -1;
}

/* Keeps the first failure of a tick; a store that is down is
 * STATUS_UNAVAILABLE, which the loop waits out. */
static bool dlq_keep(enum status rc, struct error *e, enum status *first, struct error *err)
{
    if (rc == STATUS_OK)
        return true;
    if (*first == STATUS_OK || rc != STATUS_UNAVAILABLE) {
        *first = rc;
        *err = *e;
    }
    return rc == STATUS_UNAVAILABLE;
}

enum status sim_dlq_tick(struct sim *s, struct error *err)
{
    struct sim_dlq *d = s->dlq;
    enum status first = STATUS_OK;
    struct error e = {0};

    /* Every route gets its turn even when another one's store is down. */
    if (!dlq_keep(dlq_drain_subscriber(s, d, &e), &e, &first, err))
        return first;
    for (size_t i = 0; i < d->nroutes; i++) {
        struct dlq_route *r = &d->routes[i];
        enum status rc = STATUS_OK;
        e = (struct error){0};
        if (r->kind == DLQ_LIST)
            rc = dlq_drain_list(s, r, &e);
        else if (r->kind == DLQ_STREAM)
            rc = dlq_drain_stream(s, r, &e);
        if (!dlq_keep(rc, &e, &first, err))
            return first;
    }

    /* Failures of the services themselves, at a share of the saga rate;
     * --failures 0 turns them off. */
    double dt = (double)(s->now_us - d->last_us) / 1e6;
    d->last_us = s->now_us;
    if (s->o->failures > 0 && dt > 0) {
        d->owed += DLQ_BACKGROUND_SHARE * s->o->rate * (dt < 1.0 ? dt : 1.0);
        while (d->owed >= 1.0 && first == STATUS_OK) {
            d->owed -= 1.0;
            e = (struct error){0};
            if (!dlq_keep(dlq_background(s, &e), &e, &first, err))
                return first;
        }
        /* Store down: do not pile up a burst to write on its return. */
        if (first != STATUS_OK)
            d->owed = 0;
    }
    return first;
}
