/* The simulator's sagas, approvals and signals, as a real engine should
 * keep them: every change of a saga is saved through save_saga with seed
 * 004's document; an approval is a row the engine inserts and a decision
 * is a signal the engine consumes exactly once (claimed FOR UPDATE SKIP
 * LOCKED, acted on and marked consumed_at in one transaction); a saga that
 * waits for a person is parked in the store, not in memory, so whichever
 * engine consumes the decision carries it on. */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/pg_internal.h"
#include "backends/sim_internal.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

/* Most sagas one engine drives at once; beyond it none are started. */
#define SAGAS_ACTIVE_MAX 2000
/* How often pending approvals and unconsumed signals are looked at when
 * no notification says so. */
#define SAGAS_POLL_US 1000000
/* Signals consumed per tick, at most. */
#define SAGAS_SIGNALS_MAX 50

enum saga_status {
    SAGA_PENDING,
    SAGA_RUNNING,
    SAGA_COMPLETED,
    SAGA_FAILED,
    SAGA_COMPENSATING,
    SAGA_COMPENSATED,
    SAGA_SKIPPED, /* steps only */
};

static const char *const saga_status_names[] = {
    "pending", "running", "completed", "failed", "compensating", "compensated", "skipped",
};

/* One step of a kind of saga: what it calls, how it is undone. */
struct saga_step_def {
    const char *step_id;
    const char *name;
    const char *service;    /* the circuit breaker the call goes through */
    const char *event_type; /* what is dead-lettered when it fails for good */
    const char *queue;
    const char *compensation; /* NULL: nothing to undo */
    bool approval;            /* a person decides, through a signal */
};

struct saga_kind {
    const char *saga_id;
    const char *name;
    const struct saga_step_def *steps;
    size_t nsteps;
};

/* Seed 002 §14.4 and seed 004 §4: an order placed, paid, shipped and
 * announced; large orders wait for a manager's approval. */
static const struct saga_step_def order_steps[] = {
    {"reserve_inventory", "Reserve inventory", "inventory-service", "inventory.reserve",
     "orders.events", "release_inventory", false},
    {"approve_order", "Manager approval", NULL, NULL, NULL, NULL, true},
    {"charge_payment", "Charge payment", "payment-gateway", "payment.charge", "payments.events",
     "refund_payment", false},
    {"create_shipment", "Create shipment", "shipping-api", "shipment.create", "shipping.events",
     "cancel_shipment", false},
    {"notify_customer", "Notify customer", "email-provider", "customer.notify",
     "notifications.events", NULL, false},
};

/* What a schedule starts: a short batch job. */
static const struct saga_step_def job_steps[] = {
    {"collect", "Collect input", "search-index", "job.collect", "orders.events", NULL, false},
    {"process", "Process", "tax-service", "job.process", "payments.events", "discard_output",
     false},
    {"publish", "Publish results", "recommendation-engine", "job.publish", "notifications.events",
     "unpublish", false},
};

static const struct saga_kind saga_kinds[] = {
    {"order-fulfillment", "Order fulfillment", order_steps,
     sizeof(order_steps) / sizeof(order_steps[0])},
    {"scheduled-job", "Scheduled job", job_steps, sizeof(job_steps) / sizeof(job_steps[0])},
};

#define SAGA_STEPS_MAX 8

struct saga_step {
    const struct saga_step_def *def;
    enum saga_status status;
    int retry_count;
    int max_retries;
    int64_t started_us, completed_us;
    json_t *result; /* owned; NULL for none */
    char *error;
};

struct saga {
    char *execution_id;
    const struct saga_kind *kind;
    enum saga_status status;
    json_t *context; /* owned */
    char *error;
    char *schedule_id; /* the schedule that started it, or NULL */
    int64_t started_us, completed_us;
    struct saga_step steps[SAGA_STEPS_MAX];
    size_t nsteps;
    size_t cur;      /* the step running, or being compensated */
    int64_t next_us; /* when the current step moves on */
    bool dirty;      /* changed since last saved */
    bool done;       /* finished or parked: saved once more, then dropped */
    struct saga *next;
};

struct sim_sagas {
    const void *listening; /* the connection LISTEN was sent on */
    bool adopted_own;      /* an earlier run's sagas have all been taken back */
    struct saga *active;
    size_t nactive;
    double owed;       /* sagas due to start, fractional */
    int64_t last_us;   /* when sagas were last started */
    int64_t polled_us; /* when approvals and signals were last looked at */
    uint64_t started, completed, compensated, failed;
};

/* ---- the in-memory saga ------------------------------------------------ */

static void saga_free(struct saga *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->nsteps; i++) {
        json_decref(g->steps[i].result);
        free(g->steps[i].error);
    }
    json_decref(g->context);
    free(g->execution_id);
    free(g->error);
    free(g->schedule_id);
    free(g);
}

static const struct saga_kind *saga_kind_find(const char *saga_id)
{
    for (size_t i = 0; i < sizeof(saga_kinds) / sizeof(saga_kinds[0]); i++)
        if (strcmp(saga_kinds[i].saga_id, saga_id) == 0)
            return &saga_kinds[i];
    return NULL;
}

static int64_t saga_step_delay(struct sim *s)
{
    return (int64_t)sim_between(s, 300, 2500) * 1000;
}

static void saga_set_error(char **slot, char *msg)
{
    free(*slot);
    *slot = msg;
}

/* The document seed 004's _persist_state builds, plus name and
 * max_retries, which save_saga also takes. */
static json_t *saga_document(const struct saga *g)
{
    char t1[32], t2[32];
    json_t *steps = json_array();
    for (size_t i = 0; i < g->nsteps; i++) {
        const struct saga_step *st = &g->steps[i];
        if (st->started_us)
            sim_iso(st->started_us, false, t1);
        if (st->completed_us)
            sim_iso(st->completed_us, false, t2);
        json_array_append_new(steps, json_pack("{s:s, s:s, s:s, s:O?, s:s?, s:s?, s:s?, s:i, s:i}",
                                               "step_id", st->def->step_id, "name", st->def->name,
                                               "status", saga_status_names[st->status], "result",
                                               st->result, "error", st->error, "started_at",
                                               st->started_us ? t1 : NULL, "completed_at",
                                               st->completed_us ? t2 : NULL, "retry_count",
                                               st->retry_count, "max_retries", st->max_retries));
    }
    if (g->started_us)
        sim_iso(g->started_us, false, t1);
    if (g->completed_us)
        sim_iso(g->completed_us, false, t2);
    return json_pack("{s:s, s:s, s:s, s:s, s:O, s:s?, s:s?, s:s?, s:o}", "execution_id",
                     g->execution_id, "saga_id", g->kind->saga_id, "name", g->kind->name, "status",
                     saga_status_names[g->status], "context", g->context, "started_at",
                     g->started_us ? t1 : NULL, "completed_at", g->completed_us ? t2 : NULL,
                     "error", g->error, "steps", steps);
}

/* Saves the given documents with one statement: one round trip for every
 * saga that changed this tick. */
static enum status saga_save_docs(struct sim *s, json_t *docs, struct error *err)
{
    if (json_array_size(docs) == 0)
        return STATUS_OK;
    char *text = json_dumps(docs, JSON_COMPACT);
    char *sql = xasprintf("SELECT count(%s.save_saga(d)) FROM jsonb_array_elements($1::jsonb) d",
                          s->o->schema);
    const char *params[] = {text};
    enum status rc = pg_conn_exec(s->pg, sql, 1, params, err);
    free(sql);
    free(text);
    return rc;
}

/* Ownership: while an engine drives a saga, context.engine names it, so
 * signals for it are left to that engine; a parked saga has none and any
 * engine may carry it on. */
static void saga_own(struct sim *s, struct saga *g, bool own)
{
    json_object_set_new(g->context, "engine", own ? json_string(s->o->instance) : json_null());
}

static void saga_finish(struct sim *s, struct saga *g, enum saga_status status)
{
    g->status = status;
    g->completed_us = s->now_us;
    g->done = true;
    g->dirty = true;
    saga_own(s, g, false);
}

/* Starts undoing the completed steps, last first. */
static void saga_compensate(struct sim *s, struct saga *g, char *why)
{
    saga_set_error(&g->error, why);
    g->status = SAGA_COMPENSATING;
    g->next_us = s->now_us + saga_step_delay(s);
    g->dirty = true;
    sim_log(s, "saga %s compensating: %s", g->execution_id, g->error);
}

/* The next step to undo, from cur downwards, or nsteps when none is left. */
static size_t saga_next_to_undo(const struct saga *g)
{
    size_t from = g->cur < g->nsteps ? g->cur + 1 : g->nsteps;
    for (size_t i = from; i-- > 0;) {
        const struct saga_step *st = &g->steps[i];
        if ((st->status == SAGA_COMPLETED || st->status == SAGA_COMPENSATING) &&
            st->def->compensation != NULL)
            return i;
    }
    return g->nsteps;
}

static enum status saga_dead_letter(struct sim *s, const struct saga *g, const struct saga_step *st,
                                    const char *reason, struct error *err)
{
    json_t *ev = sim_payload_event(s, st->def->event_type);
    json_object_set_new(ev, "execution_id", json_string(g->execution_id));
    return sim_dlq_dead_letter(s, ev, st->def->queue, reason, "order-service", st->def->service,
                               st->error, err);
}

/* Requests the approval a step waits for and parks the saga. */
static enum status saga_request_approval(struct sim *s, struct saga *g, struct saga_step *st,
                                         struct error *err)
{
    char *id = sim_new_id(s, "apr");
    json_t *order = json_object_get(g->context, "order");
    json_t *data = json_pack(
        "{s:O?, s:O?, s:O?, s:O?}", "order_id", json_object_get(order, "order_id"), "amount",
        json_object_get(order, "amount"), "currency", json_object_get(order, "currency"),
        "customer", json_object_get(g->context, "customer"));
    char *data_s = json_dumps(data, JSON_COMPACT);
    char *title = xasprintf("Approve order %s over %s %s",
                            json_string_value(json_object_get(order, "order_id")),
                            json_string_value(json_object_get(order, "amount_text")),
                            json_string_value(json_object_get(order, "currency")));
    int64_t due = s->now_us + (int64_t)sim_between(s, 45, 600) * 1000000;
    int64_t escalate = s->now_us + (due - s->now_us) / 2;
    char due_s[32], esc_s[32];
    sim_iso(due, false, due_s);
    sim_iso(escalate, false, esc_s);
    char *sql = xasprintf("INSERT INTO %s.approvals (approval_id, workflow_id, step_id, title, "
                          "request_data, requested_by, assignee_group, due_at, escalate_at) "
                          "VALUES ($1, $2, $3, $4, $5::jsonb, 'order-service', "
                          "'finance-approvers', $6::timestamp AT TIME ZONE 'UTC', "
                          "$7::timestamp AT TIME ZONE 'UTC')",
                          s->o->schema);
    const char *params[] = {id, g->execution_id, st->def->step_id, title, data_s, due_s, esc_s};
    enum status rc = pg_conn_exec(s->pg, sql, 7, params, err);
    if (rc == STATUS_OK) {
        json_decref(st->result);
        st->result = json_pack("{s:s}", "approval_id", id);
        sim_log(s, "approval %s requested for saga %s (due %.19sZ)", id, g->execution_id, due_s);
        /* Parked: saved once more without an engine, then dropped. */
        g->done = true;
        g->dirty = true;
        saga_own(s, g, false);
    }
    free(sql);
    free(title);
    free(data_s);
    json_decref(data);
    free(id);
    return rc;
}

/* Starts the step at cur, or finishes the saga after the last one. */
static enum status saga_begin_step(struct sim *s, struct saga *g, struct error *err)
{
    g->dirty = true;
    while (g->cur < g->nsteps && g->steps[g->cur].status == SAGA_SKIPPED)
        g->cur++;
    if (g->cur >= g->nsteps) {
        saga_finish(s, g, SAGA_COMPLETED);
        sim_log(s, "saga %s completed", g->execution_id);
        return STATUS_OK;
    }
    struct saga_step *st = &g->steps[g->cur];
    st->status = SAGA_RUNNING;
    st->started_us = s->now_us;
    g->next_us = s->now_us + saga_step_delay(s);
    if (st->def->approval)
        return saga_request_approval(s, g, st, err);
    return STATUS_OK;
}

/* One attempt of the running step: through its circuit breaker; a failure
 * is retried with exponential backoff, and after the last retry the saga
 * compensates (or, when nothing can be undone any more, fails and waits
 * for an operator's retry-step). */
static enum status saga_attempt(struct sim *s, struct saga *g, struct error *err)
{
    struct saga_step *st = &g->steps[g->cur];
    bool ok = !sim_chance(s, s->o->failures);
    bool allowed = st->def->service == NULL || sim_circuits_call(s, st->def->service, ok);
    const char *reason = NULL;

    g->dirty = true;
    if (allowed && ok) {
        st->status = SAGA_COMPLETED;
        st->completed_us = s->now_us;
        saga_set_error(&st->error, NULL);
        json_decref(st->result);
        st->result = json_pack("{s:s, s:I}", "service", st->def->service ? st->def->service : "",
                               "duration_ms", (json_int_t)((s->now_us - st->started_us) / 1000));
        g->cur++;
        return saga_begin_step(s, g, err);
    }
    if (!allowed) {
        saga_set_error(&st->error,
                       xasprintf("circuit %s is open; call not made", st->def->service));
        reason = "infrastructure_error";
    } else {
        static const char *const why[] = {"processing_timeout", "infrastructure_error",
                                          "business_rule_violation", "validation_failed"};
        reason = sim_pick(s, why, 4);
        saga_set_error(&st->error, xasprintf("%s failed: %s", st->def->service, reason));
    }
    if (st->retry_count < st->max_retries) {
        st->retry_count++;
        g->next_us = s->now_us + ((int64_t)500000 << st->retry_count);
        sim_log(s, "saga %s step %s failed, retry %d of %d", g->execution_id, st->def->step_id,
                st->retry_count, st->max_retries);
        return STATUS_OK;
    }
    st->status = SAGA_FAILED;
    st->completed_us = s->now_us;
    enum status rc = saga_dead_letter(s, g, st, reason, err);
    if (rc != STATUS_OK)
        return rc;
    if (st->def->compensation == NULL && g->cur + 1 == g->nsteps) {
        /* The goods have shipped: nothing is undone for a failed notice. */
        saga_set_error(&g->error, xasprintf("step %s failed: %s", st->def->step_id, st->error));
        saga_finish(s, g, SAGA_FAILED);
        sim_log(s, "saga %s failed at %s; waiting for retry-step", g->execution_id,
                st->def->step_id);
        return STATUS_OK;
    }
    saga_compensate(s, g, xasprintf("step %s failed: %s", st->def->step_id, st->error));
    return STATUS_OK;
}

/* Undoes one step; when none is left the saga is compensated. A failed
 * compensation leaves the saga failed, for a person to look at. */
static void saga_undo(struct sim *s, struct saga *g)
{
    size_t i = saga_next_to_undo(g);
    g->dirty = true;
    if (i >= g->nsteps) {
        saga_finish(s, g, SAGA_COMPENSATED);
        sim_log(s, "saga %s compensated", g->execution_id);
        return;
    }
    struct saga_step *st = &g->steps[i];
    g->cur = i;
    if (st->status == SAGA_COMPLETED) {
        st->status = SAGA_COMPENSATING;
        g->next_us = s->now_us + saga_step_delay(s);
        return;
    }
    if (sim_chance(s, s->o->failures * 0.4)) {
        st->status = SAGA_FAILED;
        saga_set_error(&st->error, xasprintf("%s failed", st->def->compensation));
        saga_set_error(&g->error, xasprintf("compensation %s failed", st->def->compensation));
        saga_finish(s, g, SAGA_FAILED);
        sim_log(s, "saga %s failed: %s", g->execution_id, g->error);
        return;
    }
    st->status = SAGA_COMPENSATED;
    st->completed_us = s->now_us;
    g->next_us = s->now_us + saga_step_delay(s);
}

static enum status saga_advance(struct sim *s, struct saga *g, struct error *err)
{
    if (g->done || s->now_us < g->next_us)
        return STATUS_OK;
    switch (g->status) {
    case SAGA_PENDING:
        g->status = SAGA_RUNNING;
        g->started_us = s->now_us;
        return saga_begin_step(s, g, err);
    case SAGA_RUNNING:
        /* An approval step is never run as a call: one running here (its
         * request failed, or the step is retried) is requested again. */
        if (g->cur >= g->nsteps || g->steps[g->cur].status != SAGA_RUNNING ||
            g->steps[g->cur].def->approval)
            return saga_begin_step(s, g, err);
        return saga_attempt(s, g, err);
    case SAGA_COMPENSATING:
        saga_undo(s, g);
        return STATUS_OK;
    default:
        return STATUS_OK;
    }
}

/* ---- starting ----------------------------------------------------------- */

static struct saga *saga_new(struct sim *s, const struct saga_kind *kind, json_t *context)
{
    struct saga *g = xcalloc(1, sizeof(*g));
    g->kind = kind;
    g->execution_id = sim_new_id(s, "exec");
    g->status = SAGA_PENDING;
    g->context = context;
    g->nsteps = kind->nsteps;
    for (size_t i = 0; i < kind->nsteps; i++) {
        g->steps[i].def = &kind->steps[i];
        g->steps[i].status = SAGA_PENDING;
        g->steps[i].max_retries = kind->steps[i].approval ? 0 : 2;
    }
    g->next_us = s->now_us;
    g->dirty = true;
    saga_own(s, g, true);
    return g;
}

static void sagas_add(struct sim_sagas *a, struct saga *g)
{
    g->next = a->active;
    a->active = g;
    a->nactive++;
}

/* Drops g from memory (the caller has its successor). */
static void sagas_remove(struct sim_sagas *a, struct saga *g)
{
    for (struct saga **p = &a->active; *p != NULL; p = &(*p)->next) {
        if (*p == g) {
            *p = g->next;
            a->nactive--;
            saga_free(g);
            return;
        }
    }
}

/* An order: the event that started it, with a customer and an amount;
 * orders over 1,000 wait for a manager. */
static struct saga *saga_new_order(struct sim *s)
{
    json_t *ev = sim_payload_event(s, "order.created");
    json_t *payload = json_object_get(ev, "payload");
    /* Most orders are small; about one in seven is large enough to need
     * a manager. */
    uint64_t cents =
        sim_chance(s, 0.15) ? sim_between(s, 100001, 600000) : sim_between(s, 1500, 60000);
    char *order_id = sim_new_id(s, "ORD");
    char amount[32];
    snprintf(amount, sizeof(amount), "%" PRIu64 ".%02" PRIu64, cents / 100, cents % 100);
    json_t *ctx = json_pack("{s:O?, s:{s:s, s:f, s:s, s:s}, s:O?, s:O?}", "trace_id",
                            json_object_get(ev, "trace_id"), "order", "order_id", order_id,
                            "amount", (double)cents / 100.0, "amount_text", amount, "currency",
                            "EUR", "customer", json_object_get(payload, "customer"), "payment",
                            json_object_get(payload, "payment"));
    if (!json_is_string(json_object_get(ctx, "trace_id")))
        json_object_set_new(ctx, "trace_id", json_string(order_id));
    json_decref(ev);
    free(order_id);
    struct saga *g = saga_new(s, &saga_kinds[0], ctx);
    if (cents <= 100000) {
        /* Small orders skip the approval step. */
        for (size_t i = 0; i < g->nsteps; i++)
            if (g->steps[i].def->approval)
                g->steps[i].status = SAGA_SKIPPED;
    }
    return g;
}

enum status sim_sagas_start(struct sim *s, const char *kind, json_t *context,
                            const char *schedule_id, char **execution_id, struct error *err)
{
    (void)kind;
    (void)err;
    if (context == NULL)
        context = json_object();
    struct saga *g = saga_new(s, &saga_kinds[1], context);
    if (schedule_id != NULL) {
        g->schedule_id = xstrdup(schedule_id);
        json_object_set_new(g->context, "schedule_id", json_string(schedule_id));
    }
    if (!json_is_string(json_object_get(g->context, "trace_id"))) {
        char *t = sim_new_id(s, "trace");
        json_object_set_new(g->context, "trace_id", json_string(t));
        free(t);
    }
    sagas_add(s->sagas, g);
    s->sagas->started++;
    if (execution_id != NULL)
        *execution_id = xstrdup(g->execution_id);
    sim_log(s, "saga %s started (%s%s%s)", g->execution_id, g->kind->saga_id,
            schedule_id ? ", schedule " : "", schedule_id ? schedule_id : "");
    return STATUS_OK;
}

/* ---- loading a parked saga ---------------------------------------------- */

static enum saga_status saga_status_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(saga_status_names) / sizeof(saga_status_names[0]); i++)
        if (name != NULL && strcmp(saga_status_names[i], name) == 0)
            return (enum saga_status)i;
    return SAGA_FAILED;
}

static int64_t saga_time(json_t *v)
{
    int64_t us = 0;
    if (json_is_string(v) && time_parse_iso(json_string_value(v), &us))
        return us;
    return 0;
}

/* Reads a saga from the store under a row lock (in the caller's
 * transaction). NULL with *rc STATUS_OK when there is none, or when its
 * kind or steps are not the simulator's own (another engine's saga). */
static struct saga *saga_load(struct sim *s, const char *execution_id, enum status *rc,
                              struct error *err)
{
    char *sql = xasprintf(
        "SELECT jsonb_build_object('saga_id', e.saga_id, 'status', e.status, 'context', "
        "e.context, 'error', e.error, 'started_at', e.started_at, 'completed_at', "
        "e.completed_at, 'steps', (SELECT coalesce(jsonb_agg(jsonb_build_object('step_id', "
        "t.step_id, 'status', t.status, 'result', t.result, 'error', t.error, 'started_at', "
        "t.started_at, 'completed_at', t.completed_at, 'retry_count', t.retry_count, "
        "'max_retries', t.max_retries) ORDER BY t.position), '[]') FROM %s.saga_steps t "
        "WHERE t.execution_id = e.execution_id))::text FROM %s.saga_executions e "
        "WHERE e.execution_id = $1 FOR UPDATE OF e",
        s->o->schema, s->o->schema);
    const char *params[] = {execution_id};
    PGresult *res = pg_conn_query(s->pg, sql, 1, params, NULL, err);
    struct saga *g = NULL;
    json_t *doc = NULL;

    free(sql);
    *rc = STATUS_OK;
    if (res == NULL) {
        *rc = err->status;
        return NULL;
    }
    if (PQntuples(res) == 1)
        doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    const struct saga_kind *kind =
        doc ? saga_kind_find(json_string_value(json_object_get(doc, "saga_id"))) : NULL;
    json_t *steps = json_object_get(doc, "steps");
    if (kind == NULL || json_array_size(steps) != kind->nsteps)
        goto out;
    g = xcalloc(1, sizeof(*g));
    g->kind = kind;
    g->execution_id = xstrdup(execution_id);
    g->status = saga_status_parse(json_string_value(json_object_get(doc, "status")));
    g->context = json_incref(json_object_get(doc, "context"));
    if (!json_is_object(g->context)) {
        json_decref(g->context);
        g->context = json_object();
    }
    const char *e = json_string_value(json_object_get(doc, "error"));
    g->error = e ? xstrdup(e) : NULL;
    g->started_us = saga_time(json_object_get(doc, "started_at"));
    g->completed_us = saga_time(json_object_get(doc, "completed_at"));
    const char *sched = json_string_value(json_object_get(g->context, "schedule_id"));
    g->schedule_id = sched ? xstrdup(sched) : NULL;
    g->nsteps = kind->nsteps;
    g->cur = kind->nsteps;
    for (size_t i = 0; i < kind->nsteps; i++) {
        json_t *j = json_array_get(steps, i);
        struct saga_step *st = &g->steps[i];
        st->def = &kind->steps[i];
        st->status = saga_status_parse(json_string_value(json_object_get(j, "status")));
        st->retry_count = (int)json_integer_value(json_object_get(j, "retry_count"));
        st->max_retries = (int)json_integer_value(json_object_get(j, "max_retries"));
        json_t *r = json_object_get(j, "result");
        st->result = json_is_null(r) ? NULL : json_incref(r);
        const char *se = json_string_value(json_object_get(j, "error"));
        st->error = se ? xstrdup(se) : NULL;
        st->started_us = saga_time(json_object_get(j, "started_at"));
        st->completed_us = saga_time(json_object_get(j, "completed_at"));
        if (g->cur == kind->nsteps && (st->status == SAGA_RUNNING || st->status == SAGA_FAILED ||
                                       st->status == SAGA_COMPENSATING))
            g->cur = i;
    }
    /* No step under way: a saga not yet begun starts at its first step; a
     * running one at its first pending step. */
    if (g->cur == kind->nsteps && g->status == SAGA_PENDING)
        g->cur = 0;
    for (size_t i = 0; g->cur == kind->nsteps && g->status == SAGA_RUNNING && i < kind->nsteps; i++)
        if (g->steps[i].status == SAGA_PENDING)
            g->cur = i;
    g->next_us = s->now_us;
out:
    json_decref(doc);
    return g;
}

/* ---- signals and approvals --------------------------------------------- */

/* The approval step g waits at (parked, the step running), or NULL. */
static struct saga_step *saga_waiting(struct saga *g)
{
    struct saga_step *st = g->cur < g->nsteps ? &g->steps[g->cur] : NULL;
    if (g->status != SAGA_RUNNING || st == NULL || !st->def->approval || st->status != SAGA_RUNNING)
        return NULL;
    return st;
}

/* Whether another engine drives g now: it may have taken the saga up
 * after a claim looked (the claim's snapshot is older than the row lock). */
static const char *saga_driver_other(struct sim *s, const struct saga *g)
{
    const char *e = json_string_value(json_object_get(g->context, "engine"));
    return e != NULL && strcmp(e, s->o->instance) != 0 ? e : NULL;
}

/* Acts on the decision on the approval step st that g waits at: approved,
 * the saga carries on; otherwise the step fails and the saga compensates. */
static const char *saga_decide(struct sim *s, struct saga *g, struct saga_step *st,
                               const char *approval_id, bool approved, const char *by, json_t *note)
{
    json_decref(st->result);
    st->result = json_pack("{s:s?, s:s, s:s?, s:O?}", "approval_id", approval_id, "decision",
                           approved ? "approved" : "rejected", "by", by, "note", note);
    st->completed_us = s->now_us;
    if (approved) {
        st->status = SAGA_COMPLETED;
        g->cur++;
        g->next_us = s->now_us;
        return "approved: continuing";
    }
    st->status = SAGA_FAILED;
    saga_set_error(&st->error, xasprintf("rejected by %s", by ? by : "(unknown)"));
    saga_compensate(s, g, xasprintf("approval rejected by %s", by ? by : "(unknown)"));
    return "rejected: compensating";
}

/* A saga that comes back from the store waiting at its approval step is
 * carried past it when the approval was decided meanwhile. The approval row,
 * not its signal, is the record of the decision: so it is acted on however
 * the saga comes back (its signal, its expiry, or an engine carrying it on
 * before the signal was consumed), and an approval step is never run as if
 * it were a call. Sets *waiting while the approval is pending: the saga
 * stays parked. With no approval row, or when a retried step holds an
 * earlier decision, the step is requested again when the saga advances. Runs in the caller's
 * transaction, under the saga's row lock; *what says what was done, when something was. */
static enum status saga_resume(struct sim *s, struct saga *g, const char **what, bool *waiting,
                               struct error *err)
{
    struct saga_step *st = saga_waiting(g);
    *waiting = false;
    /* A step that holds a decision already runs again (retry-step): it
     * asks anew when the saga advances. */
    if (st == NULL || json_is_string(json_object_get(st->result, "decision")))
        return STATUS_OK;
    char *sql = xasprintf("SELECT approval_id, status, decided_by, decision_note FROM %s.approvals "
                          "WHERE workflow_id = $1 AND step_id = $2 "
                          "ORDER BY approval_id = $3 DESC NULLS LAST, requested_at DESC LIMIT 1",
                          s->o->schema);
    const char *params[] = {g->execution_id, st->def->step_id,
                            json_string_value(json_object_get(st->result, "approval_id"))};
    PGresult *res = pg_conn_query(s->pg, sql, 3, params, NULL, err);

    free(sql);
    if (res == NULL)
        return err->status;
    if (PQntuples(res) == 0)
        goto out;
    const char *id = PQgetvalue(res, 0, 0), *status = PQgetvalue(res, 0, 1);
    const char *by = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
    if (strcmp(status, "pending") == 0) {
        *waiting = true;
        goto out;
    }
    bool expired = strcmp(status, "expired") == 0;
    json_t *note = expired                  ? json_string("approval expired")
                   : PQgetisnull(res, 0, 3) ? NULL
                                            : json_string(PQgetvalue(res, 0, 3));
    sim_log(s, "saga %s: approval %s is %s; acting on it", g->execution_id, id, status);
    *what = saga_decide(s, g, st, id, strcmp(status, "approved") == 0, by, note);
    json_decref(note);
    if (expired) {
        saga_set_error(&g->error, xasprintf("approval %s expired", id));
        saga_set_error(&st->error, xasprintf("approval %s expired", id));
    }
out:
    PQclear(res);
    return STATUS_OK;
}

/* Applies one consumed signal to its saga (loaded and locked); returns
 * what the log says happened. */
static const char *saga_signal(struct sim *s, struct saga *g, const char *name, json_t *payload)
{
    const char *by = json_string_value(json_object_get(payload, "by"));
    struct saga_step *st = g->cur < g->nsteps ? &g->steps[g->cur] : NULL;

    if (strcmp(name, "approve") == 0 || strcmp(name, "reject") == 0) {
        const char *id = json_string_value(json_object_get(payload, "approval_id"));
        struct saga_step *w = saga_waiting(g);
        const char *want = w ? json_string_value(json_object_get(w->result, "approval_id")) : NULL;
        if (w != NULL && (id == NULL || want == NULL || strcmp(id, want) == 0))
            return saga_decide(s, g, w, id, name[0] == 'a', by,
                               json_object_get(payload, name[0] == 'a' ? "note" : "reason"));
        /* An engine that carried the saga on read the decision from the
         * approval before this signal came. */
        for (size_t i = 0; i < g->nsteps && id != NULL; i++) {
            json_t *r = g->steps[i].result;
            const char *done = json_string_value(json_object_get(r, "approval_id"));
            if (g->steps[i].def->approval && json_is_string(json_object_get(r, "decision")) &&
                done != NULL && strcmp(done, id) == 0)
                return "already acted on: the decision was read from the approval";
        }
        return "ignored: the saga is not waiting for this approval";
    }
    if (strcmp(name, "abort") == 0) {
        if (g->status != SAGA_RUNNING && g->status != SAGA_PENDING)
            return "ignored: the saga is not running";
        if (st != NULL && st->status == SAGA_RUNNING) {
            st->status = SAGA_FAILED;
            st->completed_us = s->now_us;
            saga_set_error(&st->error, xasprintf("aborted by %s", by ? by : "(unknown)"));
        }
        if (g->cur >= g->nsteps)
            g->cur = g->nsteps - 1;
        saga_compensate(s, g, xasprintf("aborted by %s", by ? by : "(unknown)"));
        return "aborting: compensating";
    }
    if (strcmp(name, "retry_step") == 0) {
        const char *step = json_string_value(json_object_get(payload, "step_id"));
        if (g->status != SAGA_FAILED && g->status != SAGA_RUNNING)
            return "ignored: the saga is not failed";
        for (size_t i = 0; i < g->nsteps; i++) {
            struct saga_step *t = &g->steps[i];
            if (step != NULL && strcmp(t->def->step_id, step) == 0 && t->status == SAGA_FAILED) {
                t->status = SAGA_RUNNING;
                t->retry_count++;
                t->started_us = s->now_us;
                t->completed_us = 0;
                g->cur = i;
                g->status = SAGA_RUNNING;
                g->completed_us = 0;
                saga_set_error(&g->error, NULL);
                g->next_us = s->now_us + saga_step_delay(s);
                return "retrying the step";
            }
        }
        return "ignored: no such failed step";
    }
    return "ignored: unknown signal";
}

/* Claims and acts on one signal in one transaction: the claim (FOR UPDATE
 * SKIP LOCKED, so two engines never take the same one), the saga's new
 * state and consumed_at commit together or not at all. Sets *more when a
 * signal was found. Signals for a saga another engine drives are left to
 * it. */
static enum status sagas_consume_one(struct sim *s, bool *more, struct error *err)
{
    const char *sch = s->o->schema;
    char *claim = xasprintf(
        "SELECT g.signal_id, g.workflow_id, g.name, g.payload::text FROM %s.signals g "
        "WHERE g.consumed_at IS NULL AND NOT EXISTS (SELECT 1 FROM %s.saga_executions e "
        "WHERE e.execution_id = g.workflow_id AND e.context->>'engine' IS NOT NULL "
        "AND e.context->>'engine' <> $1) ORDER BY g.signal_id LIMIT 1 FOR UPDATE SKIP LOCKED",
        sch, sch);
    /* consumed_at IS NULL: even a transaction that was not what it seemed
     * can never consume a signal twice. */
    char *mark = xasprintf("UPDATE %s.signals SET consumed_at = now() WHERE signal_id = $1 "
                           "AND consumed_at IS NULL RETURNING signal_id",
                           sch);
    const char *p1[] = {s->o->instance};
    enum status rc;
    PGresult *res = NULL;
    struct saga *g = NULL, *held = NULL;
    json_t *payload = NULL;

    *more = false;
    if ((rc = pg_conn_exec(s->pg, "BEGIN", 0, NULL, err)) != STATUS_OK)
        goto out;
    if ((res = pg_conn_query(s->pg, claim, 1, p1, NULL, err)) == NULL) {
        rc = err->status;
        goto rollback;
    }
    if (PQntuples(res) == 0) {
        rc = pg_conn_exec(s->pg, "COMMIT", 0, NULL, err);
        goto out;
    }
    *more = true;
    const char *sid = PQgetvalue(res, 0, 0), *wf = PQgetvalue(res, 0, 1);
    const char *name = PQgetvalue(res, 0, 2);
    payload = json_loads(PQgetvalue(res, 0, 3), 0, NULL);

    /* The signal is applied to a copy read from the store (under its row
     * lock; what this engine holds in memory was saved before signals are
     * looked at), which replaces the one in memory only once the
     * transaction has committed: a rollback leaves memory as it was. */
    struct sim_sagas *a = s->sagas;
    for (struct saga *h = a->active; h != NULL; h = h->next)
        if (!h->done && strcmp(h->execution_id, wf) == 0)
            held = h;
    const char *what = "ignored: no saga of this engine's kinds";
    g = saga_load(s, wf, &rc, err);
    if (rc != STATUS_OK)
        goto rollback;
    const char *other = g != NULL ? saga_driver_other(s, g) : NULL;
    if (other != NULL) {
        sim_log(s, "signal %s left to %s, which took saga %s up meanwhile", sid, other, wf);
        rc = STATUS_OK;
        goto rollback;
    }
    bool waiting = false;
    if (g != NULL) {
        what = saga_signal(s, g, name, payload);
        if ((rc = saga_resume(s, g, &what, &waiting, err)) != STATUS_OK)
            goto rollback;
    }
    if (waiting) {
        /* Still parked at a pending approval: left as it is. */
        saga_free(g);
        g = NULL;
    }
    if (g != NULL) {
        saga_own(s, g, true);
        json_t *docs = json_array();
        json_array_append_new(docs, saga_document(g));
        rc = saga_save_docs(s, docs, err);
        json_decref(docs);
        if (rc != STATUS_OK)
            goto rollback;
    }
    const char *p2[] = {sid};
    PGresult *marked = pg_conn_query(s->pg, mark, 1, p2, NULL, err);
    if (marked == NULL) {
        rc = err->status;
        goto rollback;
    }
    int nmarked = PQntuples(marked);
    PQclear(marked);
    if (nmarked != 1) {
        sim_log(s, "signal %s was consumed elsewhere meanwhile; left alone", sid);
        rc = STATUS_OK;
        goto rollback;
    }
    if ((rc = pg_conn_exec(s->pg, "COMMIT", 0, NULL, err)) != STATUS_OK) {
        saga_free(g);
        g = NULL;
        goto out;
    }
    sim_log(s, "consumed signal %s %s for %s: %s", sid, name, wf, what);
    if (g != NULL) {
        if (held != NULL)
            sagas_remove(a, held);
        g->dirty = false;
        sagas_add(a, g);
        g = NULL;
    }
    goto out;
rollback:
    pg_conn_exec(s->pg, "ROLLBACK", 0, NULL, NULL);
out:
    saga_free(g);
    json_decref(payload);
    if (res != NULL)
        PQclear(res);
    free(mark);
    free(claim);
    return rc;
}

/* Escalates approvals past escalate_at, and expires those past due_at:
 * the expiry and the saga's compensation commit together. */
static enum status sagas_approvals(struct sim *s, struct error *err)
{
    const char *sch = s->o->schema;
    char *esc = xasprintf("UPDATE %s.approvals SET escalated_at = now(), updated_at = now() "
                          "WHERE status = 'pending' AND escalated_at IS NULL AND escalate_at <= "
                          "now() RETURNING approval_id",
                          sch);
    char *due = xasprintf("SELECT approval_id, workflow_id FROM %s.approvals WHERE status = "
                          "'pending' AND due_at <= now() ORDER BY due_at LIMIT 1 "
                          "FOR UPDATE SKIP LOCKED",
                          sch);
    char *expire = xasprintf("UPDATE %s.approvals SET status = 'expired', decided_by = $2, "
                             "decided_at = now(), decision_note = 'no decision before due_at', "
                             "updated_at = now() WHERE approval_id = $1",
                             sch);
    enum status rc;
    PGresult *res = pg_conn_query(s->pg, esc, 0, NULL, NULL, err);

    if (res == NULL) {
        rc = err->status;
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++)
        sim_log(s, "approval %s escalated", PQgetvalue(res, i, 0));
    PQclear(res);
    rc = STATUS_OK;
    for (int n = 0; n < 20 && rc == STATUS_OK; n++) {
        if ((rc = pg_conn_exec(s->pg, "BEGIN", 0, NULL, err)) != STATUS_OK)
            break;
        if ((res = pg_conn_query(s->pg, due, 0, NULL, NULL, err)) == NULL) {
            rc = err->status;
            pg_conn_exec(s->pg, "ROLLBACK", 0, NULL, NULL);
            break;
        }
        if (PQntuples(res) == 0) {
            PQclear(res);
            rc = pg_conn_exec(s->pg, "COMMIT", 0, NULL, err);
            break;
        }
        char *id = xstrdup(PQgetvalue(res, 0, 0)), *wf = xstrdup(PQgetvalue(res, 0, 1));
        PQclear(res);
        const char *p[] = {id, s->o->instance};
        struct saga *g = NULL;
        const char *what = NULL;
        bool waiting = false;
        if ((rc = pg_conn_exec(s->pg, expire, 2, p, err)) == STATUS_OK)
            g = saga_load(s, wf, &rc, err);
        if (rc == STATUS_OK && g != NULL && saga_driver_other(s, g) == NULL)
            rc = saga_resume(s, g, &what, &waiting, err);
        if (what == NULL) {
            /* The saga does not wait for this approval (any more), or
             * another engine has it: only the approval expires. */
            saga_free(g);
            g = NULL;
        }
        if (rc == STATUS_OK && g != NULL) {
            saga_own(s, g, true);
            json_t *docs = json_array();
            json_array_append_new(docs, saga_document(g));
            rc = saga_save_docs(s, docs, err);
            json_decref(docs);
        }
        if (rc == STATUS_OK)
            rc = pg_conn_exec(s->pg, "COMMIT", 0, NULL, err);
        else
            pg_conn_exec(s->pg, "ROLLBACK", 0, NULL, NULL);
        if (rc == STATUS_OK) {
            sim_log(s, "approval %s expired; saga %s: %s", id, wf,
                    g != NULL ? what : "left as it is");
            if (g != NULL) {
                g->dirty = false;
                sagas_add(s->sagas, g);
                g = NULL;
            }
        }
        saga_free(g);
        free(id);
        free(wf);
    }
out:
    free(expire);
    free(due);
    free(esc);
    return rc;
}

/* Carries on sagas no engine drives: released by an engine that stopped
 * cleanly, or marked with this engine's own name by an earlier run of it
 * that was killed. A saga waiting for a decision stays parked. Only the
 * simulator's own sagas (their context names an engine) are taken; each
 * under FOR UPDATE SKIP LOCKED, so two engines never take the same one. */
static enum status sagas_adopt(struct sim *s, struct error *err)
{
    const char *sch = s->o->schema;
    char *sql = xasprintf(
        "SELECT e.execution_id FROM %s.saga_executions e WHERE e.status IN ('pending', "
        "'running', 'compensating') AND e.context ? 'engine' AND ((e.context->>'engine' = $1 "
        "AND $2) OR (e.context->>'engine' IS NULL AND NOT EXISTS (SELECT 1 FROM %s.approvals a "
        "WHERE a.workflow_id = e.execution_id AND a.status = 'pending'))) LIMIT %d "
        "FOR UPDATE SKIP LOCKED",
        sch, sch, s->sagas->adopted_own ? 20 : SAGAS_ACTIVE_MAX);
    struct sim_sagas *a = s->sagas;
    /* Sagas marked with this engine's name are an earlier run's only until
     * the first look: after that they are the ones in memory. */
    const char *p[] = {s->o->instance, a->adopted_own ? "false" : "true"};
    enum status rc = pg_conn_exec(s->pg, "BEGIN", 0, NULL, err);
    PGresult *res = NULL;
    json_t *docs = json_array();
    struct saga *taken = NULL;

    if (rc != STATUS_OK)
        goto out;
    if ((res = pg_conn_query(s->pg, sql, 2, p, NULL, err)) == NULL) {
        rc = err->status;
        goto rollback;
    }
    for (int i = 0; i < PQntuples(res) && a->nactive < SAGAS_ACTIVE_MAX; i++) {
        struct saga *g = saga_load(s, PQgetvalue(res, i, 0), &rc, err);
        if (rc != STATUS_OK)
            goto rollback;
        if (g == NULL)
            continue;
        const char *what = NULL;
        bool waiting = false;
        if ((rc = saga_resume(s, g, &what, &waiting, err)) != STATUS_OK) {
            saga_free(g);
            goto rollback;
        }
        if (waiting) {
            /* Its approval is pending after all: it stays parked. */
            saga_free(g);
            continue;
        }
        saga_own(s, g, true);
        json_array_append_new(docs, saga_document(g));
        g->next = taken;
        taken = g;
    }
    if ((rc = saga_save_docs(s, docs, err)) != STATUS_OK ||
        (rc = pg_conn_exec(s->pg, "COMMIT", 0, NULL, err)) != STATUS_OK)
        goto rollback;
    a->adopted_own = true;
    while (taken != NULL) {
        struct saga *g = taken;
        taken = g->next;
        sim_log(s, "saga %s carried on (%s)", g->execution_id, saga_status_names[g->status]);
        sagas_add(a, g);
    }
    goto out;
rollback:
    pg_conn_exec(s->pg, "ROLLBACK", 0, NULL, NULL);
out:
    while (taken != NULL) {
        struct saga *g = taken;
        taken = g->next;
        saga_free(g);
    }
    json_decref(docs);
    if (res != NULL)
        PQclear(res);
    free(sql);
    return rc;
}

/* ---- the part's tick ---------------------------------------------------- */

/* LISTEN on the connection in use; again after every reconnect, since a
 * new session listens to nothing. */
static enum status sagas_listen(struct sim *s, struct sim_sagas *a, struct error *err)
{
    enum status rc = pg_conn_ensure(s->pg, err);
    if (rc != STATUS_OK || a->listening == pg_conn_raw(s->pg))
        return rc;
    char *sql =
        xasprintf("LISTEN wf_signals; SELECT 1 FROM %s.saga_executions LIMIT 0", s->o->schema);
    rc = pg_conn_exec(s->pg, sql, 0, NULL, err);
    free(sql);
    if (rc == STATUS_OK) {
        a->listening = pg_conn_raw(s->pg);
        s->signals_note = true; /* what arrived while nobody listened */
    }
    return rc;
}

enum status sim_sagas_new(struct sim *s, struct sim_sagas **out, struct error *err)
{
    struct sim_sagas *a = xcalloc(1, sizeof(*a));
    enum status rc = sagas_listen(s, a, err);

    a->last_us = s->now_us;
    *out = NULL;
    if (rc != STATUS_OK && rc != STATUS_UNAVAILABLE) {
        free(a);
        error_prefix(err, "the workflow schema (has opsdeck migrate run?)");
        return rc;
    }
    *out = a;
    return STATUS_OK;
}

void sim_sagas_free(struct sim_sagas *a)
{
    if (a == NULL)
        return;
    while (a->active != NULL) {
        struct saga *g = a->active;
        a->active = g->next;
        saga_free(g);
    }
    free(a);
}

static enum status sagas_flush(struct sim *s, struct error *err);

enum status sim_sagas_park(struct sim *s, struct error *err)
{
    struct sim_sagas *a = s->sagas;
    if (a == NULL)
        return STATUS_OK;
    for (struct saga *g = a->active; g != NULL; g = g->next)
        if (!g->done) {
            saga_own(s, g, false);
            g->dirty = true;
        }
    return sagas_flush(s, err);
}

/* Saves what changed, then drops finished and parked sagas (telling the
 * schedules about finished runs). */
static enum status sagas_flush(struct sim *s, struct error *err)
{
    struct sim_sagas *a = s->sagas;
    json_t *docs = json_array();
    enum status rc;

    for (struct saga *g = a->active; g != NULL; g = g->next)
        if (g->dirty)
            json_array_append_new(docs, saga_document(g));
    rc = saga_save_docs(s, docs, err);
    json_decref(docs);
    if (rc != STATUS_OK)
        return rc;
    for (struct saga **p = &a->active; *p != NULL;) {
        struct saga *g = *p;
        g->dirty = false;
        if (!g->done) {
            p = &g->next;
            continue;
        }
        if (g->schedule_id != NULL && g->status != SAGA_RUNNING)
            rc = sim_schedules_finished(s, g->schedule_id, g->execution_id,
                                        saga_status_names[g->status], err);
        if (g->status == SAGA_COMPLETED)
            a->completed++;
        else if (g->status == SAGA_COMPENSATED)
            a->compensated++;
        else if (g->status == SAGA_FAILED)
            a->failed++;
        *p = g->next;
        a->nactive--;
        saga_free(g);
        if (rc != STATUS_OK)
            return rc;
    }
    return STATUS_OK;
}

enum status sim_sagas_tick(struct sim *s, struct error *err)
{
    struct sim_sagas *a = s->sagas;
    enum status rc = STATUS_OK;

    if ((rc = sagas_listen(s, a, err)) != STATUS_OK)
        return rc;
    /* New orders at the configured rate. */
    a->owed += s->o->rate * (double)(s->now_us - a->last_us) / 1e6;
    a->last_us = s->now_us;
    while (a->owed >= 1.0) {
        a->owed -= 1.0;
        if (a->nactive >= SAGAS_ACTIVE_MAX)
            continue;
        struct saga *g = saga_new_order(s);
        sagas_add(a, g);
        a->started++;
        sim_log(s, "saga %s started (%s)", g->execution_id, g->kind->saga_id);
    }
    for (struct saga *g = a->active; g != NULL && rc == STATUS_OK; g = g->next)
        rc = saga_advance(s, g, err);
    if (rc == STATUS_OK)
        rc = sagas_flush(s, err);
    if (rc != STATUS_OK)
        return rc;

    if (s->signals_note || s->now_us - a->polled_us >= SAGAS_POLL_US) {
        bool more = true;
        s->signals_note = false;
        for (int i = 0; i < SAGAS_SIGNALS_MAX && more && rc == STATUS_OK; i++)
            rc = sagas_consume_one(s, &more, err);
        if (rc == STATUS_OK && s->now_us - a->polled_us >= SAGAS_POLL_US) {
            rc = sagas_approvals(s, err);
            if (rc == STATUS_OK)
                rc = sagas_adopt(s, err);
            a->polled_us = s->now_us;
        }
    }
    return rc;
}
