/* `opsdeck sim --populate`: fills the stores to a given size in minutes,
 * in the shapes the simulated engine writes. PostgreSQL gets COPY in
 * transactions of a few seconds each, with the change triggers out of the
 * way; Redis gets MULTI/EXEC batches, two in flight, with the stats
 * counters of each batch inside it. Every row is a pure function of the
 * seed and its index, so sagas, their approvals and their dead letters
 * agree without the loader remembering anything between them. */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/pg_internal.h"
#include "backends/redis_internal.h"
#include "backends/sim_internal.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define POP_SECOND INT64_C(1000000)
#define POP_MINUTE (60 * POP_SECOND)
#define POP_HOUR   (60 * POP_MINUTE)
#define POP_DAY    (24 * POP_HOUR)
/* Sagas, approvals and schedules spread over the last 30 days. Dead
 * letters spread over 28: their hashes expire 30 days after the failure,
 * as seed 004 sets, so every one outlives the load by two days. */
#define POP_SPAN     (30 * POP_DAY)
#define POP_DLQ_SPAN (28 * POP_DAY)
#define POP_DLQ_TTL  (30 * POP_DAY)
/* Pending approvals without a saga of their own were requested within
 * this long. */
#define POP_PENDING_SPAN (2 * POP_DAY)
/* A saga younger than this may still be moving. */
#define POP_YOUNG (15 * POP_MINUTE)
/* The newest saga starts this long before the load. */
#define POP_EDGE POP_MINUTE

/* Rows per transaction: a few seconds of work, so that a stop, a lock
 * another writer waits for, or a failure costs little. */
#define POP_SAGA_BATCH 20000
#define POP_ROW_BATCH  50000
/* COPY data handed to libpq at a time; the next chunk is built while the
 * server reads this one. */
#define POP_COPY_CHUNK (1 << 20)
/* Events per MULTI/EXEC; two batches are in flight. */
#define POP_DLQ_BATCH     2000
#define POP_CIRCUIT_BATCH 500
/* Payload variants per event type, and how rare the bulk ones are. */
#define POP_POOL         256
#define POP_LARGE_MAX    4
#define POP_LARGE_ONE_IN 50000
/* Bigger than this is one of sim_payload.c's bulk orders. */
#define POP_COMPACT_MAX 16384
/* One progress line at most this often. */
#define POP_LOG_MS 2000

/* Independent random streams, one per kind of row. */
enum pop_salt {
    POP_SALT_SAGA = 1,
    POP_SALT_APPROVAL,
    POP_SALT_SCHEDULE,
    POP_SALT_EVENT,
    POP_SALT_CIRCUIT,
    POP_SALT_POOL,
    POP_SALT_INCIDENT,
};

/* ---- what the rows are made of ------------------------------------------ */

enum pop_status {
    POP_PENDING,
    POP_RUNNING,
    POP_COMPLETED,
    POP_FAILED,
    POP_COMPENSATING,
    POP_COMPENSATED,
    POP_SKIPPED,
};

static const char *const pop_status_names[] = {
    "pending", "running", "completed", "failed", "compensating", "compensated", "skipped",
};

/* The simulator's order saga (backends/sim_sagas.c), step for step: small
 * orders skip the approval. */
enum { POP_STEPS = 5, POP_APPROVAL_STEP = 1 };

static const struct pop_step_def {
    const char *step_id, *name, *service, *event_type, *queue, *compensation;
} pop_steps[POP_STEPS] = {
    {"reserve_inventory", "Reserve inventory", "inventory-service", "inventory.reserve",
     "orders.events", "release_inventory"},
    {"approve_order", "Manager approval", NULL, NULL, NULL, NULL},
    {"charge_payment", "Charge payment", "payment-gateway", "payment.charge", "payments.events",
     "refund_payment"},
    {"create_shipment", "Create shipment", "shipping-api", "shipment.create", "shipping.events",
     "cancel_shipment"},
    {"notify_customer", "Notify customer", "email-provider", "customer.notify",
     "notifications.events", NULL},
};
/* Where a saga fails for good, or stays running, by weight in 100. */
static const unsigned pop_step_weights[POP_STEPS] = {25, 0, 40, 25, 10};

/* Seed 004's DLQReason: the value the stats keys use and the enum name its
 * Python writer puts into the data. */
static const struct pop_reason {
    const char *value, *name;
    unsigned weight;
} pop_reasons[] = {
    {"max_retries_exceeded", "MAX_RETRIES_EXCEEDED", 15},
    {"validation_failed", "VALIDATION_FAILED", 20},
    {"processing_timeout", "PROCESSING_TIMEOUT", 25},
    {"unknown_event_type", "UNKNOWN_EVENT_TYPE", 5},
    {"business_rule_violation", "BUSINESS_RULE_VIOLATION", 10},
    {"infrastructure_error", "INFRASTRUCTURE_ERROR", 25},
};
enum {
    POP_MAX_RETRIES,
    POP_VALIDATION,
    POP_TIMEOUT,
    POP_UNKNOWN_TYPE,
    POP_BUSINESS,
    POP_INFRA,
};
/* How the simulator's steps fail (sim_sagas.c). */
static const unsigned pop_step_reasons[] = {POP_TIMEOUT, POP_INFRA, POP_BUSINESS, POP_VALIDATION};

static const struct pop_source {
    const char *name;
    unsigned weight;
} pop_sources[] = {
    {"order-service", 30},        {"payment-service", 18},   {"shipping-service", 14},
    {"notification-service", 12}, {"inventory-service", 10}, {"checkout-api", 8},
    {"pricing-service", 5},       {"fraud-service", 3},
};
enum { POP_ORDER_SERVICE = 0 };

/* Services events are sent to: the DLQ's targets, and the breakers. The
 * first four are the saga's steps. */
static const struct pop_target {
    const char *service, *event_type, *queue;
    unsigned weight;
} pop_targets[] = {
    {"inventory-service", "inventory.reserve", "orders.events", 14},
    {"payment-gateway", "payment.charge", "payments.events", 20},
    {"shipping-api", "shipment.create", "shipping.events", 14},
    {"email-provider", "customer.notify", "notifications.events", 12},
    {"tax-service", "payment.tax", "payments.events", 6},
    {"fraud-check", "payment.authorize", "payments.events", 8},
    {"search-index", "order.created", "orders.events", 6},
    {"recommendation-engine", "order.created", "orders.events", 4},
    {"ledger", "payment.refund", "payments.events", 6},
    {"sms-gateway", "customer.notify", "notifications.events", 5},
    {"warehouse-api", "inventory.release", "shipping.events", 5},
};

/* More services with breakers, and where they run: circuit names are a
 * service, then service-region, then service-region-N. */
static const char *const pop_more_services[] = {
    "pricing-service", "loyalty-service", "address-validation",
    "currency-rates",  "invoice-service", "customer-profile",
    "coupon-service",  "returns-service", "identity-provider",
};
static const char *const pop_regions[] = {
    "eu-west-1",      "eu-central-1",   "us-east-1", "us-west-2",
    "ap-southeast-1", "ap-northeast-1", "sa-east-1", "eu-north-1",
};

static const char *const pop_operators[] = {
    "alice", "bob", "carol", "dmitri", "eve", "françois", "grace", "hiro", "inès", "jakub",
};
static const char *const pop_approve_notes[] = {
    "ok",
    "customer verified by phone",
    "within budget",
    "amount matches the invoice",
    "regular customer, approved",
    "approved after call with sales",
};
static const char *const pop_reject_notes[] = {
    "card country does not match the shipping address",
    "duplicate order",
    "exceeds the customer's credit limit",
    "suspected fraud: new account, high value",
};
static const char *const pop_cancel_notes[] = {
    "order cancelled by the customer",
    "duplicate request",
    "superseded by a corrected order",
};
static const char *const pop_groups[] = {"finance-approvers", "finance-approvers",
                                         "finance-approvers", "risk-review", "ops-leads"};
static const char *const pop_resolution_notes[] = {
    "fixed upstream, no replay needed", "duplicate of an event already processed",
    "customer refunded by hand",        "schema mismatch fixed in 2.3.1",
    "test event from staging",
};
static const char *const pop_retry_errors[] = {
    "Error 111 connecting to redis:6379. Connection refused.",
    "Timeout reading from socket",
};
static const char *const pop_consumers[] = {
    "orders-worker-1",   "orders-worker-2",   "payments-worker-1",
    "payments-worker-3", "shipping-worker-2", "notify-worker-1",
};

static const struct pop_cron {
    const char *expr[2];
    int64_t period_s; /* about how often it fires */
} pop_crons[] = {
    {{"*/5 * * * *", NULL}, 300},
    {{"*/15 * * * *", NULL}, 900},
    {{"0 * * * *", NULL}, 3600},
    {{"30 */4 * * *", NULL}, 14400},
    {{"0 2 * * *", NULL}, 86400},
    {{"30 6 * * 1-5", NULL}, 86400},
    {{"45 23 * * *", NULL}, 86400},
    {{"0 0 * * 0", NULL}, 604800},
    {{"0 3 1 * *", NULL}, 2592000},
    {{"0 8,12,17 * * 1-5", NULL}, 28800},
    {{"0 8 * * 1-5", "0 10 * * 6,0"}, 86400},
};
static const int64_t pop_intervals[] = {60, 300, 900, 3600, 21600, 86400};
static const char *const pop_workflow_types[] = {
    "nightly-settlement", "inventory-sync",        "report-export",    "cart-cleanup",
    "search-reindex",     "dunning-run",           "fx-rates-refresh", "partner-feed-import",
    "invoice-batch",      "loyalty-points-expiry", "gdpr-erasure",     "warehouse-replenishment",
};
struct pop_weighted {
    const char *name;
    unsigned weight;
};
static const struct pop_weighted pop_overlaps[] = {
    {"skip", 40}, {"buffer_one", 20}, {"buffer_all", 10}, {"cancel_other", 10}, {"allow_all", 20},
};
static const struct pop_weighted pop_zones[] = {
    {"UTC", 60},       {"Europe/Berlin", 20}, {"America/New_York", 10},
    {"Asia/Tokyo", 5}, {"Europe/London", 5},
};
static const struct pop_weighted pop_run_statuses[] = {
    {"completed", 85},
    {"failed", 7},
    {"compensated", 5},
    {"running", 3},
};
static const char *const pop_pause_notes[] = {
    "maintenance window for the warehouse database",
    "paused during incident INC-2291",
    "partner API rate limit, waiting for a new quota",
    "holiday freeze",
    "investigating duplicate runs",
};

/* ---- the loader's state -------------------------------------------------- */

/* One variant of an event type's payload, serialised without its braces
 * (empty for an empty object), compact and the way Python's json.dumps
 * writes it (", " and ": ", non-ASCII escaped). */
struct pop_variant {
    char *compact, *python;
};

struct pop_pool {
    const char *event_type;
    struct pop_variant v[POP_POOL];
    struct pop_variant large[POP_LARGE_MAX];
    size_t nlarge;
};

/* A burst of failures of one service for one reason. */
struct pop_incident {
    int64_t start, length;
    unsigned target, reason;
};

struct pop {
    struct sim *s;
    const struct sim_sizes *z;
    uint64_t seed;
    int64_t now;
    /* Unique per run (the load's start in milliseconds, base 36), in every
     * id, so that a second load with the same seed adds instead of
     * colliding. */
    char run[16];
    /* Approvals and sagas (see pop_links). */
    uint64_t n, recent, decided, pending, link_decided, link_pending;
    /* Payloads: the DLQ's per event type; customers and payments for the
     * sagas' contexts, from order.created events. */
    struct pop_pool *pools;
    size_t npools;
    char *customers[POP_POOL], *payments[POP_POOL];
    struct pop_incident incidents[6];
    /* PostgreSQL: the COPY being written, and how triggers are kept quiet. */
    PGconn *conn;
    struct buf copy;
    bool replica;
    /* Redis: whether <prefix>:stats has status:pending_review to keep. */
    bool count_pending;
    /* Progress. */
    int64_t started_ms, logged_ms;
};

/* ---- randomness ----------------------------------------------------------- */

/* A random source for row i of a kind: the same seed gives the same row,
 * whatever else was generated before it. */
static void pop_rng(const struct pop *p, struct sim *t, enum pop_salt salt, uint64_t i)
{
    memset(t, 0, sizeof(*t));
    t->o = p->s->o;
    t->now_us = p->now;
    t->rng = p->seed ^ ((uint64_t)salt * UINT64_C(0xd1b54a32d192ed03)) ^
             (i * UINT64_C(0x9e3779b97f4a7c15));
    sim_rand(t);
}

static unsigned pop_weighted(struct sim *t, const unsigned *weights, size_t n, size_t stride)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += *(const unsigned *)((const char *)weights + i * stride);
    uint64_t r = sim_rand(t) % total;
    for (size_t i = 0; i < n; i++) {
        unsigned w = *(const unsigned *)((const char *)weights + i * stride);
        if (r < w)
            return (unsigned)i;
        r -= w;
    }
    return 0;
}

#define POP_PICK_WEIGHTED(t, table)                                                                \
    pop_weighted((t), &(table)[0].weight, COUNT(table), sizeof((table)[0]))

/* A time in [lo, hi). */
static int64_t pop_within(struct sim *t, int64_t lo, int64_t hi)
{
    return hi <= lo ? lo : lo + (int64_t)(sim_unit(t) * (double)(hi - lo));
}

/* ---- formatting ------------------------------------------------------------ */

static void pop_addu(struct buf *b, uint64_t v)
{
    char t[24];
    int i = (int)sizeof(t);
    do
        t[--i] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    buf_add(b, t + i, sizeof(t) - (size_t)i);
}

/* v in base 36, at least width digits. */
static void pop_b36(struct buf *b, uint64_t v, int width)
{
    char t[16];
    int i = (int)sizeof(t);
    do {
        t[--i] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    } while ((v != 0 || (int)sizeof(t) - i < width) && i > 0);
    buf_add(b, t + i, sizeof(t) - (size_t)i);
}

static void pop_hex(struct buf *b, uint64_t v, int digits)
{
    char t[16];
    for (int i = digits - 1; i >= 0; i--, v >>= 4)
        t[i] = "0123456789abcdef"[v & 15];
    buf_add(b, t, (size_t)digits);
}

/* A unix-microsecond time as "2026-11-23T17:52:16.961247" (sep 'T' or
 * ' '), then zone ("", "Z" or "+00"). Days to civil date after Howard
 * Hinnant's algorithm: a million of these must be cheap. */
static void pop_time(struct buf *b, int64_t us, char sep, const char *zone)
{
    int64_t secs = us >= 0 ? us / POP_SECOND : (us - POP_SECOND + 1) / POP_SECOND;
    int64_t frac = us - secs * POP_SECOND;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
    unsigned h = (unsigned)(rem / 3600), mi = (unsigned)(rem % 3600 / 60), s = (unsigned)(rem % 60);
    char t[32];
    int n = 0;
#define POP_DIGITS(v, w)                                                                           \
    do {                                                                                           \
        uint64_t x_ = (uint64_t)(v);                                                               \
        for (int k_ = (w)-1; k_ >= 0; k_--, x_ /= 10)                                              \
            t[n + k_] = (char)('0' + x_ % 10);                                                     \
        n += (w);                                                                                  \
    } while (0)
    POP_DIGITS(y, 4);
    t[n++] = '-';
    POP_DIGITS(m, 2);
    t[n++] = '-';
    POP_DIGITS(d, 2);
    t[n++] = sep;
    POP_DIGITS(h, 2);
    t[n++] = ':';
    POP_DIGITS(mi, 2);
    t[n++] = ':';
    POP_DIGITS(s, 2);
    t[n++] = '.';
    POP_DIGITS(frac, 6);
#undef POP_DIGITS
    buf_add(b, t, (size_t)n);
    buf_adds(b, zone);
}

/* Unix seconds with microseconds, as a sorted-set score. */
static void pop_score(struct buf *b, int64_t us)
{
    pop_addu(b, (uint64_t)(us / POP_SECOND));
    char t[8];
    snprintf(t, sizeof(t), ".%06u", (unsigned)(us % POP_SECOND));
    buf_adds(b, t);
}

static void pop_money(struct buf *b, uint64_t cents)
{
    pop_addu(b, cents / 100);
    buf_addc(b, '.');
    buf_addc(b, (char)('0' + cents / 10 % 10));
    buf_addc(b, (char)('0' + cents % 10));
}

/* "PREFIX-RUN-SEQ": unique per run and row. */
static void pop_id(struct buf *b, const struct pop *p, const char *prefix, uint64_t seq)
{
    buf_adds(b, prefix);
    buf_addc(b, '-');
    buf_adds(b, p->run);
    buf_addc(b, '-');
    pop_b36(b, seq, 6);
}

/* COPY text format: a value with its backslashes, tabs and line ends
 * escaped; a NULL. */
static void pop_copy_text(struct buf *b, const char *s)
{
    const char *run = s;
    for (; *s != '\0'; s++) {
        const char *esc = *s == '\\'   ? "\\\\"
                          : *s == '\t' ? "\\t"
                          : *s == '\n' ? "\\n"
                          : *s == '\r' ? "\\r"
                                       : NULL;
        if (esc == NULL)
            continue;
        buf_add(b, run, (size_t)(s - run));
        buf_adds(b, esc);
        run = s + 1;
    }
    buf_add(b, run, (size_t)(s - run));
}

static void pop_copy_null(struct buf *b)
{
    buf_adds(b, "\\N");
}

static void pop_copy_time(struct buf *b, int64_t us)
{
    if (us == 0)
        pop_copy_null(b);
    else
        pop_time(b, us, ' ', "+00");
}

/* ---- payload pools ---------------------------------------------------- */

/* What an event of a kind carries, no more: a charge has the card but
 * not the order lines, a shipment the address but not the card. Keeps a
 * typical dead letter under a kilobyte; the PII that redaction must find
 * (email, phone, card number, IBAN) stays. */
static void pop_trim(json_t *ev)
{
    static const struct {
        const char *prefix;
        const char *drop[6]; /* "customer.x" drops a field of the customer */
    } kinds[] = {
        {"payment.refund", {"items", "customer.phone", "customer.address"}},
        {"payment.", {"items", "customer.phone", "customer.address", "payment.iban"}},
        {"shipment.", {"payment", "customer.email"}},
        {"customer.", {"items", "payment", "customer.address"}},
        {"inventory.", {"payment", "customer"}},
        {"order.", {"customer.phone", "customer.address", "payment.iban", "payment.card_number"}},
    };
    const char *type = json_string_value(json_object_get(ev, "event_type"));
    json_t *payload = json_object_get(ev, "payload");
    if (type == NULL || !json_is_object(payload))
        return;
    for (size_t i = 0; i < COUNT(kinds); i++) {
        if (strncmp(type, kinds[i].prefix, strlen(kinds[i].prefix)) != 0)
            continue;
        for (size_t k = 0; k < COUNT(kinds[i].drop) && kinds[i].drop[k] != NULL; k++) {
            const char *d = kinds[i].drop[k], *dot = strchr(d, '.');
            if (dot == NULL) {
                json_object_del(payload, d);
            } else {
                char *obj = xstrndup(d, (size_t)(dot - d));
                json_object_del(json_object_get(payload, obj), dot + 1);
                free(obj);
            }
        }
        break;
    }
    json_t *items = json_object_get(payload, "items");
    while (json_array_size(items) > 2)
        json_array_remove(items, json_array_size(items) - 1);
}

/* Python writes \u escapes in lower case. */
static void pop_python_escapes(char *s)
{
    for (; *s != '\0'; s++) {
        if (*s != '\\')
            continue;
        if (s[1] == 'u')
            for (int i = 2; i < 6 && s[i] != '\0'; i++)
                if (s[i] >= 'A' && s[i] <= 'F')
                    s[i] = (char)(s[i] - 'A' + 'a');
        if (s[1] != '\0')
            s++;
    }
}

/* s without its first and last character (the braces of an object). */
static char *pop_inner(char *s)
{
    size_t n = strlen(s);
    char *inner = xstrndup(n >= 2 ? s + 1 : s, n >= 2 ? n - 2 : n);
    free(s);
    return inner;
}

static struct pop_variant pop_variant_of(json_t *ev)
{
    struct pop_variant v;
    char *compact = json_dumps(ev, JSON_COMPACT);
    char *python = json_dumps(ev, JSON_ENSURE_ASCII);
    if (compact == NULL || python == NULL)
        xfatal("out of memory serialising an event");
    pop_python_escapes(python);
    v.compact = pop_inner(compact);
    v.python = pop_inner(python);
    return v;
}

static void pop_pools_init(struct pop *p)
{
    struct sim t;
    /* The event types, once each, in the order of pop_targets. */
    p->pools = xcalloc(COUNT(pop_targets), sizeof(*p->pools));
    for (size_t i = 0; i < COUNT(pop_targets); i++) {
        size_t k;
        for (k = 0; k < p->npools; k++)
            if (strcmp(p->pools[k].event_type, pop_targets[i].event_type) == 0)
                break;
        if (k == p->npools)
            p->pools[p->npools++].event_type = pop_targets[i].event_type;
    }
    uint64_t seq = 0;
    for (size_t k = 0; k < p->npools; k++) {
        struct pop_pool *pool = &p->pools[k];
        for (size_t n = 0; n < POP_POOL;) {
            pop_rng(p, &t, POP_SALT_POOL, seq++);
            json_t *ev = sim_payload_event(&t, pool->event_type);
            /* Set per event: its id, when it happened, its trace. */
            json_object_del(ev, "event_id");
            json_object_del(ev, "occurred_at");
            json_object_del(ev, "trace_id");
            json_object_del(ev, "execution_id");
            if (json_object_get(ev, "event_type") == NULL)
                json_object_set_new(ev, "event_type", json_string(pool->event_type));
            size_t size = json_dumpb(ev, NULL, 0, JSON_COMPACT);
            if (size <= POP_COMPACT_MAX) {
                pop_trim(ev);
                pool->v[n++] = pop_variant_of(ev);
            } else if (pool->nlarge < POP_LARGE_MAX) {
                pool->large[pool->nlarge++] = pop_variant_of(ev);
            }
            json_decref(ev);
        }
    }
    /* Customers and their payment details for the sagas' contexts, as
     * sim_sagas.c takes them from the order.created event. */
    for (size_t n = 0; n < POP_POOL; n++) {
        pop_rng(p, &t, POP_SALT_POOL, seq++);
        json_t *ev = sim_payload_event(&t, "order.created");
        json_t *payload = json_object_get(ev, "payload");
        json_t *customer = json_object_get(payload, "customer");
        json_t *payment = json_object_get(payload, "payment");
        p->customers[n] = customer != NULL ? json_dumps(customer, JSON_COMPACT) : NULL;
        p->payments[n] = payment != NULL ? json_dumps(payment, JSON_COMPACT) : NULL;
        json_decref(ev);
    }
}

static void pop_pools_free(struct pop *p)
{
    for (size_t k = 0; k < p->npools; k++) {
        for (size_t n = 0; n < POP_POOL; n++) {
            free(p->pools[k].v[n].compact);
            free(p->pools[k].v[n].python);
        }
        for (size_t n = 0; n < p->pools[k].nlarge; n++) {
            free(p->pools[k].large[n].compact);
            free(p->pools[k].large[n].python);
        }
    }
    free(p->pools);
    for (size_t n = 0; n < POP_POOL; n++) {
        free(p->customers[n]);
        free(p->payments[n]);
    }
}

static const struct pop_pool *pop_pool_for(const struct pop *p, const char *event_type)
{
    for (size_t k = 0; k < p->npools; k++)
        if (strcmp(p->pools[k].event_type, event_type) == 0)
            return &p->pools[k];
    return &p->pools[0];
}

/* ---- the plan: sagas and their approvals -------------------------------------
 *
 * Saga j (0 <= j < n) starts at a time that grows with j, so ids, the
 * created_at indexes and the primary key fill in order. Approvals link to
 * sagas exactly, so that the counts asked for are the counts written:
 *   - approvals k < decided are decided and belong to sagas spread evenly
 *     over the older sagas [0, n - recent);
 *   - approvals k >= decided are pending and belong to sagas spread over
 *     the newest `recent` ones, about one in seven of them (as many orders
 *     as the simulator's are large), whose sagas wait at approve_order.
 * Approvals beyond what the sagas can hold name a saga that does not
 * exist, as a store with a trimmed history has. */

static void pop_links(struct pop *p)
{
    const struct sim_sizes *z = p->z;
    p->n = z->sagas;
    p->pending = z->approvals_pending;
    p->decided = z->approvals - z->approvals_pending;
    p->recent = p->pending == 0 ? 0 : p->pending * 100 / 15 + 1;
    if (p->recent > p->n)
        p->recent = p->n;
    p->link_pending = p->pending < p->recent ? p->pending : p->recent;
    p->link_decided = p->decided < p->n - p->recent ? p->decided : p->n - p->recent;
}

/* i of l spread over m >= l slots, and back: slot i * m / l. */
static uint64_t pop_spread(uint64_t i, uint64_t l, uint64_t m)
{
    return i * m / l;
}

static bool pop_unspread(uint64_t slot, uint64_t l, uint64_t m, uint64_t *i)
{
    if (l == 0)
        return false;
    uint64_t c = (slot * l + m - 1) / m;
    if (c >= l || c * m / l != slot)
        return false;
    *i = c;
    return true;
}

/* The approval of saga j, if it has one. */
static bool pop_saga_approval(const struct pop *p, uint64_t j, uint64_t *k)
{
    uint64_t old = p->n - p->recent, i;
    if (j >= old) {
        if (!pop_unspread(j - old, p->link_pending, p->recent, &i))
            return false;
        *k = p->decided + i;
        return true;
    }
    if (!pop_unspread(j, p->link_decided, old, &i))
        return false;
    *k = i;
    return true;
}

/* What is drawn for saga j before anything depends on its approval. */
struct pop_base {
    int64_t created, started;
    int64_t took[POP_STEPS], undo[POP_STEPS], signal;
    unsigned retries[POP_STEPS];
    uint64_t small, large, order, trace[2];
    unsigned pool;
    double outcome, where, undo_fail, run_retry;
    unsigned reason;
    bool open;
};

/* Exponential backoff of sim_sagas.c before retry n: 1 s, then 2 s. */
static int64_t pop_backoff(unsigned retries)
{
    int64_t t = 0;
    for (unsigned r = 1; r <= retries; r++)
        t += (int64_t)500000 << r;
    return t;
}

static void pop_saga_base(const struct pop *p, uint64_t j, struct pop_base *b)
{
    struct sim t;
    pop_rng(p, &t, POP_SALT_SAGA, j);
    int64_t slot = (POP_SPAN - POP_EDGE) / (int64_t)(p->n > 0 ? p->n : 1);
    b->created = p->now - POP_SPAN + (int64_t)j * slot + pop_within(&t, 0, slot > 0 ? slot : 1);
    b->started = b->created + (int64_t)sim_between(&t, 5, 400) * 1000;
    for (int i = 0; i < POP_STEPS; i++) {
        b->took[i] = (int64_t)sim_between(&t, 300, 2500) * 1000;
        b->undo[i] = (int64_t)sim_between(&t, 300, 2500) * 1000;
        double u = sim_unit(&t);
        b->retries[i] = u < 0.9 ? 0 : u < 0.97 ? 1 : 2;
    }
    b->signal = (int64_t)sim_between(&t, 100, 900) * 1000;
    b->small = sim_between(&t, 1500, 60000);
    b->large = sim_between(&t, 100001, 600000);
    b->order = sim_rand(&t) & UINT64_C(0xffffffffffff);
    b->trace[0] = sim_rand(&t);
    b->trace[1] = sim_rand(&t);
    b->pool = (unsigned)(sim_rand(&t) % POP_POOL);
    b->outcome = sim_unit(&t);
    b->where = sim_unit(&t);
    b->undo_fail = sim_unit(&t);
    b->run_retry = sim_unit(&t);
    b->reason = pop_step_reasons[sim_rand(&t) % COUNT(pop_step_reasons)];
    b->open = b->reason == POP_INFRA && sim_chance(&t, 0.4);
}

/* When the approval step of a saga starts: after its first step. */
static int64_t pop_base_approval_at(const struct pop_base *b)
{
    return b->started + b->took[0] * (1 + b->retries[0]) + pop_backoff(b->retries[0]);
}

enum pop_decision {
    POP_AP_PENDING,
    POP_AP_APPROVED,
    POP_AP_REJECTED,
    POP_AP_EXPIRED,
    POP_AP_CANCELLED
};
static const char *const pop_decision_names[] = {"pending", "approved", "rejected", "expired",
                                                 "cancelled"};

struct pop_approval {
    uint64_t k, j; /* j: the saga it belongs to (>= n: none) */
    enum pop_decision status;
    int64_t requested, due, escalate, escalated, decided, updated;
    unsigned version;
    const char *by, *note, *group;
    uint64_t cents, order;
    unsigned pool;
};

static void pop_approval_plan(const struct pop *p, uint64_t k, struct pop_approval *a)
{
    static const int64_t dues[] = {POP_HOUR, 4 * POP_HOUR, 8 * POP_HOUR, 24 * POP_HOUR,
                                   48 * POP_HOUR};
    struct sim t;
    bool pending = k >= p->decided;
    uint64_t i = pending ? k - p->decided : k;

    pop_rng(p, &t, POP_SALT_APPROVAL, k);
    memset(a, 0, sizeof(*a));
    a->k = k;
    int64_t due = dues[sim_rand(&t) % COUNT(dues)];
    double u = sim_unit(&t), when = sim_unit(&t);
    a->by = sim_pick(&t, pop_operators, COUNT(pop_operators));
    a->group = sim_pick(&t, pop_groups, COUNT(pop_groups));
    int64_t escalation_delay = (int64_t)sim_between(&t, 1, 30) * POP_SECOND;
    uint64_t own_cents = sim_between(&t, 100001, 600000);
    uint64_t own_order = sim_rand(&t) & UINT64_C(0xffffffffffff);
    unsigned own_pool = (unsigned)(sim_rand(&t) % POP_POOL);
    double own_time = sim_unit(&t);

    if (pending)
        a->status = POP_AP_PENDING;
    else
        a->status = u < 0.78   ? POP_AP_APPROVED
                    : u < 0.92 ? POP_AP_REJECTED
                    : u < 0.98 ? POP_AP_EXPIRED
                               : POP_AP_CANCELLED;
    if (a->status == POP_AP_APPROVED)
        a->note = sim_pick(&t, pop_approve_notes, COUNT(pop_approve_notes));
    else if (a->status == POP_AP_REJECTED)
        a->note = sim_pick(&t, pop_reject_notes, COUNT(pop_reject_notes));
    else if (a->status == POP_AP_CANCELLED)
        a->note = sim_pick(&t, pop_cancel_notes, COUNT(pop_cancel_notes));
    else if (a->status == POP_AP_EXPIRED)
        a->note = "no decision before due_at";

    bool linked = pending ? i < p->link_pending : i < p->link_decided;
    if (linked) {
        struct pop_base b;
        a->j = pending ? p->n - p->recent + pop_spread(i, p->link_pending, p->recent)
                       : pop_spread(i, p->link_decided, p->n - p->recent);
        pop_saga_base(p, a->j, &b);
        a->requested = pop_base_approval_at(&b);
        a->cents = b.large;
        a->order = b.order;
        a->pool = b.pool;
    } else {
        a->j = p->n + k;
        uint64_t of = pending ? p->pending : p->decided;
        int64_t span = pending ? POP_PENDING_SPAN : POP_SPAN - POP_HOUR;
        int64_t slot = span / (int64_t)of;
        a->requested = p->now - (pending ? POP_PENDING_SPAN : POP_SPAN) + (int64_t)i * slot +
                       (int64_t)(own_time * (double)slot);
        a->cents = own_cents;
        a->order = own_order;
        a->pool = own_pool;
    }

    /* Decided before now, and an expiry exactly at the due time. */
    int64_t room = p->now - 5 * POP_SECOND - a->requested;
    if (room < 2 * POP_SECOND)
        room = 2 * POP_SECOND;
    if (!pending && due > room)
        due = room;
    a->due = a->requested + due;
    a->escalate = a->requested + due / 2;
    int64_t until = p->now;
    if (a->status == POP_AP_EXPIRED) {
        a->decided = a->due + escalation_delay / 10;
    } else if (!pending) {
        int64_t lo = due / 20 < POP_MINUTE ? due / 20 : POP_MINUTE;
        a->decided = a->requested + lo + (int64_t)(when * (double)(due - lo));
    }
    if (a->decided != 0)
        until = a->decided;
    if (a->escalate + escalation_delay < until)
        a->escalated = a->escalate + escalation_delay;
    a->by = a->status == POP_AP_PENDING   ? NULL
            : a->status == POP_AP_EXPIRED ? (p->s->o->instance ? p->s->o->instance : "sim")
                                          : a->by;
    a->updated = a->decided ? a->decided : a->escalated ? a->escalated : a->requested;
    a->version = 1 + (a->escalated != 0) + (a->decided != 0);
}

struct pop_step {
    enum pop_status status;
    unsigned retries;
    int64_t started, completed, took;
    bool failed_here; /* failed for good (not its compensation) */
};

struct pop_saga {
    uint64_t j;
    enum pop_status status;
    bool large;
    struct pop_approval ap;
    int failed;      /* the step that failed for good, or -1 */
    int undo_failed; /* the step whose compensation failed, or -1 */
    int running;     /* the step running with a retry behind it, or -1 */
    int64_t created, started, completed, updated;
    unsigned version;
    struct pop_base b;
    struct pop_step steps[POP_STEPS];
};

/* Undoes the completed steps before f, last first, as far as time allows;
 * stuck: the first undo never ends. */
static void pop_saga_undo(const struct pop *p, struct pop_saga *g, int f, int64_t t, bool stuck)
{
    g->status = POP_COMPENSATING;
    g->updated = t;
    g->version++;
    for (int c = f - 1; c >= 0; c--) {
        struct pop_step *st = &g->steps[c];
        if (st->status != POP_COMPLETED || pop_steps[c].compensation == NULL)
            continue;
        st->status = POP_COMPENSATING;
        g->version++;
        int64_t end = t + g->b.undo[c];
        if (stuck || end > p->now)
            return;
        if (g->b.undo_fail < 0.04) {
            st->status = POP_FAILED;
            g->undo_failed = c;
            g->status = POP_FAILED;
            g->completed = g->updated = end;
            g->version++;
            return;
        }
        st->status = POP_COMPENSATED;
        st->completed = end;
        g->updated = t = end;
        g->version++;
    }
    g->status = POP_COMPENSATED;
    g->completed = g->updated = t;
    g->version++;
}

/* Saga j as the simulator would have left it by now. */
static void pop_saga_plan(const struct pop *p, uint64_t j, struct pop_saga *g)
{
    enum { O_DONE, O_FAIL, O_RUN, O_UNDO, O_PENDING } o;
    uint64_t k;

    memset(g, 0, sizeof(*g));
    g->j = j;
    g->failed = g->undo_failed = g->running = -1;
    pop_saga_base(p, j, &g->b);
    const struct pop_base *b = &g->b;
    g->large = pop_saga_approval(p, j, &k);
    if (g->large)
        pop_approval_plan(p, k, &g->ap);
    for (int i = 0; i < POP_STEPS; i++)
        g->steps[i].status = i == POP_APPROVAL_STEP && !g->large ? POP_SKIPPED : POP_PENDING;

    /* Old sagas have finished but for a few stuck ones; young ones may
     * still be moving. */
    double u = b->outcome;
    if (p->now - b->created < POP_YOUNG)
        o = u < .02 ? O_PENDING : u < .25 ? O_RUN : u < .28 ? O_UNDO : u < .40 ? O_FAIL : O_DONE;
    else
        o = u < .0002   ? O_PENDING
            : u < .0007 ? O_RUN
            : u < .0009 ? O_UNDO
            : u < .1309 ? O_FAIL
                        : O_DONE;
    int at = 0;
    for (unsigned w = (unsigned)(b->where * 100), i = 0; i < POP_STEPS; i++) {
        if (w < pop_step_weights[i]) {
            at = (int)i;
            break;
        }
        w -= pop_step_weights[i];
    }
    if (o == O_UNDO && at != 2 && at != 3)
        at = b->where < 0.5 ? 2 : 3;
    if (g->large) {
        /* Its first step is done: the approval was requested. */
        if (o == O_PENDING)
            o = O_DONE;
        if (at == 0)
            at = 2;
    }

    g->created = g->updated = b->created;
    g->version = 1;
    if (o == O_PENDING) {
        g->status = POP_PENDING;
        return;
    }
    g->status = POP_RUNNING;
    g->started = b->started;
    g->version++;
    int64_t t = b->started;
    for (int i = 0; i < POP_STEPS; i++) {
        struct pop_step *st = &g->steps[i];
        if (st->status == POP_SKIPPED)
            continue;
        st->started = g->updated = t;
        if (i == POP_APPROVAL_STEP) {
            if (g->ap.status == POP_AP_PENDING) {
                st->status = POP_RUNNING; /* parked until a person decides */
                return;
            }
            st->completed = g->ap.decided;
            t = g->ap.decided + b->signal;
            g->version++;
            if (g->ap.status == POP_AP_APPROVED) {
                st->status = POP_COMPLETED;
                continue;
            }
            st->status = POP_FAILED;
            pop_saga_undo(p, g, i, t, false);
            return;
        }
        if (o == O_RUN && i == at) {
            /* Slow, or stuck: a retry behind it, now and then. */
            st->status = POP_RUNNING;
            st->retries = b->run_retry < 0.2 ? 1 : 0;
            if (st->retries > 0)
                g->running = i;
            g->version += st->retries;
            return;
        }
        if ((o == O_FAIL || o == O_UNDO) && i == at) {
            int64_t end = t + 3 * b->took[i] + pop_backoff(2);
            if (end > p->now) {
                st->status = POP_RUNNING;
                return;
            }
            st->status = POP_FAILED;
            st->retries = 2;
            st->completed = g->updated = end;
            st->failed_here = true;
            g->failed = i;
            g->version += 3;
            if (pop_steps[i].compensation == NULL && i == POP_STEPS - 1) {
                /* The goods have shipped: nothing is undone for a notice. */
                g->status = POP_FAILED;
                g->completed = end;
                return;
            }
            pop_saga_undo(p, g, i, end, o == O_UNDO);
            return;
        }
        int64_t end = t + b->took[i] * (1 + b->retries[i]) + pop_backoff(b->retries[i]);
        if (end > p->now) {
            st->status = POP_RUNNING;
            return;
        }
        st->status = POP_COMPLETED;
        st->retries = b->retries[i];
        st->completed = end;
        st->took = (end - t) / 1000;
        g->version += 1 + b->retries[i];
        t = end;
    }
    g->status = POP_COMPLETED;
    g->completed = g->updated = t;
}

/* A step's failure as sim_sagas.c words it. */
static void pop_step_error(const struct pop_saga *g, int i, struct buf *b)
{
    if (g->b.open && g->failed == i) {
        buf_addf(b, "circuit %s is open; call not made", pop_steps[i].service);
        return;
    }
    buf_addf(b, "%s failed: %s", pop_steps[i].service, pop_reasons[g->b.reason].value);
}

/* ---- PostgreSQL rows ---------------------------------------------------------- */

static void pop_row_execution(struct pop *p, uint64_t j, struct buf *b)
{
    struct pop_saga g;
    pop_saga_plan(p, j, &g);

    pop_id(b, p, "exec", j);
    buf_adds(b, "\torder-fulfillment\tOrder fulfillment\t");
    buf_adds(b, pop_status_names[g.status]);
    buf_adds(b, "\t{\"trace_id\":\"");
    pop_hex(b, g.b.trace[0], 16);
    pop_hex(b, g.b.trace[1], 16);
    buf_adds(b, "\",\"order\":{\"order_id\":\"ORD-");
    pop_hex(b, g.b.order, 12);
    uint64_t cents = g.large ? g.b.large : g.b.small;
    buf_adds(b, "\",\"amount\":");
    pop_money(b, cents);
    buf_adds(b, ",\"amount_text\":\"");
    pop_money(b, cents);
    buf_adds(b, "\",\"currency\":\"EUR\"}");
    if (p->customers[g.b.pool] != NULL) {
        buf_adds(b, ",\"customer\":");
        pop_copy_text(b, p->customers[g.b.pool]);
    }
    if (p->payments[g.b.pool] != NULL) {
        buf_adds(b, ",\"payment\":");
        pop_copy_text(b, p->payments[g.b.pool]);
    }
    buf_adds(b, ",\"engine\":null}\t");
    struct buf e;
    buf_init(&e);
    if (g.undo_failed >= 0) {
        buf_addf(&e, "compensation %s failed", pop_steps[g.undo_failed].compensation);
    } else if (g.failed >= 0) {
        buf_addf(&e, "step %s failed: ", pop_steps[g.failed].step_id);
        pop_step_error(&g, g.failed, &e);
    } else if (g.large && g.steps[POP_APPROVAL_STEP].status == POP_FAILED) {
        if (g.ap.status == POP_AP_EXPIRED) {
            buf_adds(&e, "approval ");
            pop_id(&e, p, "apr", g.ap.k);
            buf_adds(&e, " expired");
        } else {
            buf_addf(&e, "%s by %s",
                     g.ap.status == POP_AP_CANCELLED ? "aborted" : "approval rejected", g.ap.by);
        }
    }
    if (e.len > 0)
        pop_copy_text(b, buf_get(&e));
    else
        pop_copy_null(b);
    buf_done(&e);
    buf_addc(b, '\t');
    pop_hex(b, g.b.trace[0], 16);
    pop_hex(b, g.b.trace[1], 16);
    buf_addc(b, '\t');
    pop_copy_time(b, g.started);
    buf_addc(b, '\t');
    pop_copy_time(b, g.completed);
    buf_addc(b, '\t');
    pop_copy_time(b, g.created);
    buf_addc(b, '\t');
    pop_copy_time(b, g.updated);
    buf_addc(b, '\t');
    pop_addu(b, g.version);
    buf_addc(b, '\n');
}

static void pop_row_steps(struct pop *p, uint64_t j, struct buf *b)
{
    struct pop_saga g;
    struct buf e;
    pop_saga_plan(p, j, &g);
    buf_init(&e);
    for (int i = 0; i < POP_STEPS; i++) {
        const struct pop_step *st = &g.steps[i];
        const struct pop_step_def *d = &pop_steps[i];
        pop_id(b, p, "exec", j);
        buf_addf(b, "\t%s\t%d\t%s\t%s\t", d->step_id, i, d->name, pop_status_names[st->status]);
        /* result */
        if (i == POP_APPROVAL_STEP && g.large && st->status != POP_PENDING) {
            buf_adds(b, "{\"approval_id\":\"");
            pop_id(b, p, "apr", g.ap.k);
            buf_addc(b, '"');
            if (g.ap.status == POP_AP_APPROVED || g.ap.status == POP_AP_REJECTED ||
                g.ap.status == POP_AP_EXPIRED) {
                buf_addf(b, ",\"decision\":\"%s\",\"by\":\"",
                         g.ap.status == POP_AP_APPROVED ? "approved" : "rejected");
                pop_copy_text(b, g.ap.by);
                buf_adds(b, "\",\"note\":\"");
                pop_copy_text(b, g.ap.status == POP_AP_EXPIRED ? "approval expired" : g.ap.note);
                buf_addc(b, '"');
            }
            buf_addc(b, '}');
        } else if (st->completed != 0 && i != POP_APPROVAL_STEP && !st->failed_here) {
            buf_addf(b, "{\"service\":\"%s\",\"duration_ms\":", d->service);
            pop_addu(b, (uint64_t)st->took);
            buf_addc(b, '}');
        } else {
            pop_copy_null(b);
        }
        buf_addc(b, '\t');
        /* error */
        buf_reset(&e);
        if (st->failed_here || g.running == i) {
            pop_step_error(&g, i, &e);
        } else if (g.undo_failed == i) {
            buf_addf(&e, "%s failed", d->compensation);
        } else if (i == POP_APPROVAL_STEP && st->status == POP_FAILED) {
            if (g.ap.status == POP_AP_EXPIRED) {
                buf_adds(&e, "approval ");
                pop_id(&e, p, "apr", g.ap.k);
                buf_adds(&e, " expired");
            } else {
                buf_addf(&e, "%s by %s", g.ap.status == POP_AP_CANCELLED ? "aborted" : "rejected",
                         g.ap.by);
            }
        }
        if (e.len > 0)
            pop_copy_text(b, buf_get(&e));
        else
            pop_copy_null(b);
        buf_addc(b, '\t');
        pop_copy_time(b, st->started);
        buf_addc(b, '\t');
        pop_copy_time(b, st->completed);
        buf_addc(b, '\t');
        pop_addu(b, st->retries);
        buf_adds(b, i == POP_APPROVAL_STEP ? "\t0\n" : "\t2\n");
    }
    buf_done(&e);
}

static void pop_row_approval(struct pop *p, uint64_t k, struct buf *b)
{
    struct pop_approval a;
    pop_approval_plan(p, k, &a);

    pop_id(b, p, "apr", k);
    buf_addc(b, '\t');
    pop_id(b, p, "exec", a.j);
    buf_adds(b, "\tapprove_order\tApprove order ORD-");
    pop_hex(b, a.order, 12);
    buf_adds(b, " over ");
    pop_money(b, a.cents);
    buf_adds(b, " EUR\t{\"order_id\":\"ORD-");
    pop_hex(b, a.order, 12);
    buf_adds(b, "\",\"amount\":");
    pop_money(b, a.cents);
    buf_adds(b, ",\"currency\":\"EUR\"");
    if (p->customers[a.pool] != NULL) {
        buf_adds(b, ",\"customer\":");
        pop_copy_text(b, p->customers[a.pool]);
    }
    buf_adds(b, "}\torder-service\t");
    buf_adds(b, a.group);
    buf_addc(b, '\t');
    pop_copy_time(b, a.requested);
    buf_addc(b, '\t');
    pop_copy_time(b, a.due);
    buf_addc(b, '\t');
    pop_copy_time(b, a.escalate);
    buf_addc(b, '\t');
    pop_copy_time(b, a.escalated);
    buf_addc(b, '\t');
    buf_adds(b, pop_decision_names[a.status]);
    buf_addc(b, '\t');
    if (a.by != NULL)
        pop_copy_text(b, a.by);
    else
        pop_copy_null(b);
    buf_addc(b, '\t');
    pop_copy_time(b, a.decided);
    buf_addc(b, '\t');
    if (a.note != NULL)
        pop_copy_text(b, a.note);
    else
        pop_copy_null(b);
    buf_addc(b, '\t');
    pop_copy_time(b, a.updated);
    buf_addc(b, '\t');
    pop_addu(b, a.version);
    buf_addc(b, '\n');
}

static const char *pop_pick_weighted(struct sim *t, const struct pop_weighted *w, size_t n)
{
    return w[pop_weighted(t, &w[0].weight, n, sizeof(w[0]))].name;
}

static void pop_row_schedule(struct pop *p, uint64_t i, struct buf *b)
{
    struct sim t;
    pop_rng(p, &t, POP_SALT_SCHEDULE, i);
    const char *type = sim_pick(&t, pop_workflow_types, COUNT(pop_workflow_types));
    bool cron = sim_chance(&t, 0.7);
    const struct pop_cron *c = &pop_crons[sim_rand(&t) % COUNT(pop_crons)];
    int64_t interval = pop_intervals[sim_rand(&t) % COUNT(pop_intervals)];
    int64_t period = (cron ? c->period_s : interval) * POP_SECOND;
    const char *zone = cron ? pop_pick_weighted(&t, pop_zones, COUNT(pop_zones)) : "UTC";
    const char *overlap = pop_pick_weighted(&t, pop_overlaps, COUNT(pop_overlaps));
    bool paused = sim_chance(&t, 0.1);
    const char *note = sim_pick(&t, pop_pause_notes, COUNT(pop_pause_notes));
    const char *by = sim_pick(&t, pop_operators, COUNT(pop_operators));
    int64_t created = p->now - pop_within(&t, POP_DAY, 180 * POP_DAY);
    int64_t paused_at = p->now - pop_within(&t, 5 * POP_MINUTE, 7 * POP_DAY);
    int64_t resume_at =
        sim_chance(&t, 0.5) ? p->now + pop_within(&t, 10 * POP_MINUTE, 3 * POP_DAY) : 0;
    bool never_ran = sim_chance(&t, 0.05);
    const char *last_status = pop_pick_weighted(&t, pop_run_statuses, COUNT(pop_run_statuses));
    uint64_t last_id = sim_rand(&t) & UINT64_C(0xffffffffffff);
    double phase = sim_unit(&t);
    unsigned running =
        strcmp(last_status, "running") == 0
            ? (strcmp(overlap, "allow_all") == 0 ? (unsigned)sim_between(&t, 1, 3) : 1)
            : 0;

    if (paused_at < created)
        paused_at = created + (p->now - created) / 2;
    int64_t before = paused ? paused_at : p->now;
    int64_t last_run =
        never_ran || before - created < period ? 0 : before - (int64_t)(phase * (double)period);
    int64_t next_run = 0;
    if (!paused) {
        next_run = last_run ? last_run + period : created + period;
        if (next_run <= p->now)
            next_run = p->now + (int64_t)(phase * (double)period) + POP_SECOND;
    }
    int64_t updated = last_run > created ? last_run : created;
    if (paused && paused_at > updated)
        updated = paused_at;
    uint64_t runs = last_run ? (uint64_t)((last_run - created) / period) : 0;

    buf_adds(b, type);
    buf_addc(b, '-');
    buf_adds(b, p->run);
    buf_addc(b, '-');
    pop_b36(b, i, 6);
    buf_addc(b, '\t');
    buf_adds(b, type);
    buf_addc(b, '\t');
    if (cron) {
        buf_addf(b, "{\"%s\"", c->expr[0]);
        if (c->expr[1] != NULL)
            buf_addf(b, ",\"%s\"", c->expr[1]);
        buf_adds(b, "}\t\\N\t");
    } else {
        buf_adds(b, "{}\t");
        pop_addu(b, (uint64_t)interval);
        buf_addc(b, '\t');
    }
    buf_adds(b, zone);
    buf_addc(b, '\t');
    buf_adds(b, overlap);
    buf_adds(b, paused ? "\tt\t" : "\tf\t");
    if (paused) {
        pop_copy_text(b, note);
        buf_addc(b, '\t');
        pop_copy_text(b, by);
        buf_addc(b, '\t');
        pop_copy_time(b, paused_at);
        buf_addc(b, '\t');
        pop_copy_time(b, resume_at);
    } else {
        buf_adds(b, "\\N\t\\N\t\\N\t\\N");
    }
    buf_addc(b, '\t');
    pop_copy_time(b, last_run);
    buf_addc(b, '\t');
    if (last_run != 0) {
        buf_adds(b, last_status);
        buf_adds(b, "\texec-");
        pop_hex(b, last_id, 12);
    } else {
        buf_adds(b, "\\N\t\\N");
    }
    buf_addc(b, '\t');
    pop_copy_time(b, next_run);
    buf_addc(b, '\t');
    pop_addu(b, last_run != 0 ? running : 0);
    buf_addc(b, '\t');
    pop_copy_time(b, created);
    buf_addc(b, '\t');
    pop_copy_time(b, updated);
    buf_addc(b, '\t');
    pop_addu(b, 1 + (runs < 1000000 ? runs : 1000000) + paused);
    buf_addc(b, '\n');
}

/* ---- PostgreSQL: COPY over the connection's socket ---------------------------------- */

/* How long one wait on the server may take: a busy server checkpointing
 * may not read for a while; a dead one is found by the keepalives. */
static int64_t pop_pg_wait_ms(struct pop *p)
{
    int64_t ms = pg_conn_command_timeout(p->s->pg);
    return ms > 120000 ? ms : 120000;
}

/* The connection broke under a COPY: drop it, so health and reconnection
 * stay right. */
static enum status pop_pg_lost(struct pop *p, const char *what, struct error *err)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "%s", p->conn != NULL ? PQerrorMessage(p->conn) : "no connection");
    msg[strcspn(msg, "\n")] = '\0';
    error_set(err, STATUS_UNAVAILABLE, "postgres at %s: %s: %s", pg_conn_endpoint(p->s->pg), what,
              msg);
    pg_conn_close(p->s->pg);
    p->conn = NULL;
    return STATUS_UNAVAILABLE;
}

/* Waits for the socket; false on timeout or error (errno set). */
static bool pop_pg_wait(struct pop *p, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - time_mono_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return false;
        }
        struct pollfd pfd = {.fd = PQsocket(p->conn), .events = events};
        int r = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
        if (r > 0)
            return true;
        if (r < 0 && errno != EINTR)
            return false;
    }
}

/* Sends what libpq holds; the server's answers are read on the way, so
 * that neither side waits on a full socket. */
static enum status pop_pg_flush(struct pop *p, const char *what, struct error *err)
{
    int64_t deadline = time_mono_ms() + pop_pg_wait_ms(p);
    for (;;) {
        int f = PQflush(p->conn);
        if (f == 0)
            return STATUS_OK;
        if (f < 0 || !pop_pg_wait(p, POLLOUT | POLLIN, deadline) || !PQconsumeInput(p->conn))
            return pop_pg_lost(p, what, err);
    }
}

/* The next result, waiting for it; NULL when there are no more (or the
 * connection broke: *rc says which). */
static PGresult *pop_pg_result(struct pop *p, const char *what, enum status *rc, struct error *err)
{
    int64_t deadline = time_mono_ms() + pop_pg_wait_ms(p);
    *rc = STATUS_OK;
    while (PQisBusy(p->conn)) {
        if (!pop_pg_wait(p, POLLIN, deadline) || !PQconsumeInput(p->conn)) {
            *rc = pop_pg_lost(p, what, err);
            return NULL;
        }
    }
    return PQgetResult(p->conn);
}

/* A server error as a status, by its SQLSTATE class. */
static enum status pop_pg_error(struct pop *p, const PGresult *res, const char *what,
                                struct error *err)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    enum status st = STATUS_UNAVAILABLE;
    if (state == NULL)
        state = "";
    if (strcmp(state, "42501") == 0 || strncmp(state, "28", 2) == 0)
        st = STATUS_DENIED;
    else if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
             strncmp(state, "42", 2) == 0)
        st = STATUS_USAGE;
    return error_set(err, st, "postgres at %s: %s: %s (SQLSTATE %s)", pg_conn_endpoint(p->s->pg),
                     what, msg != NULL ? msg : "error", state);
}

/* Reads the results up to the end of the command; the first error wins. */
static enum status pop_pg_drain(struct pop *p, const char *what, ExecStatusType want,
                                struct error *err)
{
    enum status rc = STATUS_OK, r = STATUS_OK;
    PGresult *res;
    while ((res = pop_pg_result(p, what, &r, rc == STATUS_OK ? err : &(struct error){0})) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (rc == STATUS_OK && st != want && st != PGRES_COMMAND_OK)
            rc = pop_pg_error(p, res, what, err);
        PQclear(res);
        if (st == PGRES_COPY_IN)
            return rc;
    }
    return r != STATUS_OK ? r : rc;
}

static enum status pop_copy_begin(struct pop *p, const char *table, const char *columns,
                                  struct error *err)
{
    char *sql = xasprintf("COPY %s.%s (%s) FROM STDIN", p->s->o->schema, table, columns);
    enum status rc;
    p->conn = pg_conn_raw(p->s->pg);
    if (p->conn == NULL) {
        free(sql);
        return error_set(err, STATUS_UNAVAILABLE, "postgres at %s: connection lost",
                         pg_conn_endpoint(p->s->pg));
    }
    if (!PQsendQuery(p->conn, sql))
        rc = pop_pg_lost(p, sql, err);
    else if ((rc = pop_pg_flush(p, sql, err)) == STATUS_OK)
        rc = pop_pg_drain(p, sql, PGRES_COPY_IN, err);
    free(sql);
    buf_reset(&p->copy);
    return rc;
}

/* The COPY was refused under way: the server's error when the session is
 * still there (the caller rolls back), else the connection is gone. */
static enum status pop_copy_failed(struct pop *p, const char *what, struct error *err)
{
    if (PQstatus(p->conn) != CONNECTION_OK)
        return pop_pg_lost(p, what, err);
    enum status rc = pop_pg_drain(p, what, PGRES_COMMAND_OK, err);
    if (rc == STATUS_OK)
        rc = pop_pg_lost(p, what, err);
    return rc;
}

/* Hands a chunk to libpq once the previous one has gone out, so that the
 * next is built while the server reads this one. */
static enum status pop_copy_send(struct pop *p, const char *what, struct error *err)
{
    if (p->copy.len == 0)
        return STATUS_OK;
    enum status rc = pop_pg_flush(p, what, err);
    if (rc != STATUS_OK)
        return rc;
    if (PQputCopyData(p->conn, p->copy.data, (int)p->copy.len) != 1)
        return pop_copy_failed(p, what, err);
    buf_reset(&p->copy);
    if (PQflush(p->conn) < 0)
        return pop_pg_lost(p, what, err);
    return STATUS_OK;
}

static enum status pop_copy_end(struct pop *p, const char *what, struct error *err)
{
    enum status rc = pop_copy_send(p, what, err);
    if (rc != STATUS_OK)
        return rc;
    int64_t deadline = time_mono_ms() + pop_pg_wait_ms(p);
    int r;
    while ((r = PQputCopyEnd(p->conn, NULL)) == 0)
        if (!pop_pg_wait(p, POLLOUT, deadline))
            return pop_pg_lost(p, what, err);
    if (r < 0)
        return pop_copy_failed(p, what, err);
    if ((rc = pop_pg_flush(p, what, err)) != STATUS_OK)
        return rc;
    return pop_pg_drain(p, what, PGRES_COMMAND_OK, err);
}

/* One COPY of rows lo..hi-1 of a kind. */
static enum status pop_copy_rows(struct pop *p, const char *table, const char *columns,
                                 void (*row)(struct pop *, uint64_t, struct buf *), uint64_t lo,
                                 uint64_t hi, struct error *err)
{
    char what[64];
    snprintf(what, sizeof(what), "COPY %s", table);
    enum status rc = pop_copy_begin(p, table, columns, err);
    for (uint64_t i = lo; rc == STATUS_OK && i < hi; i++) {
        row(p, i, &p->copy);
        if (p->copy.len >= POP_COPY_CHUNK)
            rc = pop_copy_send(p, what, err);
    }
    if (rc == STATUS_OK)
        rc = pop_copy_end(p, what, err);
    return rc;
}

/* ---- PostgreSQL: transactions with the triggers out of the way -------------------------
 *
 * The tables' row triggers NOTIFY wf_changes for every row and bump
 * versions on update. For a million rows that is a million notifications
 * nobody can use, queued at commit. A superuser loads with
 * session_replication_role = replica, SET LOCAL: only this transaction
 * skips the triggers (and the foreign-key checks, which the loader's own
 * consistency makes redundant), other sessions are untouched, nothing is
 * locked, and the setting ends with the transaction whatever happens.
 * The tables' owner instead disables the triggers that are enabled, by
 * name, inside the loading transaction and enables them again before
 * COMMIT: other sessions never see them disabled (the catalog change is
 * transactional), a failure or a lost connection rolls the DISABLE back,
 * and writers wait for the lock only while a batch loads (seconds).
 * Either way each transaction ends with one wf_changes notification per
 * kind with id null ("refresh everything"), so open consoles catch up.
 * Versions are written as the engine's saves would have left them and
 * updated_at as the last change: the loader inserts only, and the version
 * trigger acts on updates. */

struct pop_table {
    const char *name, *columns;
    void (*row)(struct pop *, uint64_t, struct buf *);
};

static const struct pop_table pop_table_executions = {
    "saga_executions",
    "execution_id, saga_id, name, status, context, error, trace_id, started_at, completed_at, "
    "created_at, updated_at, version",
    pop_row_execution,
};
static const struct pop_table pop_table_steps = {
    "saga_steps",
    "execution_id, step_id, position, name, status, result, error, started_at, completed_at, "
    "retry_count, max_retries",
    pop_row_steps,
};
static const struct pop_table pop_table_approvals = {
    "approvals",
    "approval_id, workflow_id, step_id, title, request_data, requested_by, assignee_group, "
    "requested_at, due_at, escalate_at, escalated_at, status, decided_by, decided_at, "
    "decision_note, updated_at, version",
    pop_row_approval,
};
static const struct pop_table pop_table_schedules = {
    "schedules",
    "schedule_id, workflow_type, cron_expressions, interval_seconds, timezone, overlap_policy, "
    "paused, pause_note, paused_by, paused_at, resume_at, last_run_at, last_run_status, "
    "last_workflow_id, next_run_at, running_count, created_at, updated_at, version",
    pop_row_schedule,
};

/* "ALTER TABLE ... DISABLE TRIGGER x; ..." (or ENABLE) for the triggers of
 * the tables that are enabled now, in this transaction. */
static enum status pop_triggers_sql(struct pop *p, const struct pop_table *const *tables,
                                    size_t ntables, char **disable, char **enable,
                                    struct error *err)
{
    struct buf d, e;
    enum status rc = STATUS_OK;
    buf_init(&d);
    buf_init(&e);
    for (size_t i = 0; i < ntables && rc == STATUS_OK; i++) {
        char *rel = xasprintf("%s.%s", p->s->o->schema, tables[i]->name);
        const char *params[] = {rel};
        PGresult *res = pg_conn_query(
            p->s->pg,
            "SELECT quote_ident(tgname) FROM pg_catalog.pg_trigger WHERE tgrelid = $1::regclass "
            "AND NOT tgisinternal AND tgenabled = 'O' ORDER BY tgname",
            1, params, NULL, err);
        if (res == NULL) {
            rc = err->status;
        } else {
            for (int r = 0; r < PQntuples(res); r++) {
                buf_addf(&d, "ALTER TABLE %s DISABLE TRIGGER %s; ", rel, PQgetvalue(res, r, 0));
                buf_addf(&e, "ALTER TABLE %s ENABLE TRIGGER %s; ", rel, PQgetvalue(res, r, 0));
            }
            PQclear(res);
        }
        free(rel);
    }
    *disable = buf_take(&d);
    *enable = buf_take(&e);
    return rc;
}

/* Rows lo..hi-1 into each of the tables, in one transaction. */
static enum status pop_pg_batch(struct pop *p, const struct pop_table *const *tables,
                                size_t ntables, const char *kind, uint64_t lo, uint64_t hi,
                                struct error *err)
{
    char *enable = NULL, *disable = NULL;
    enum status rc = pg_conn_exec(p->s->pg,
                                  p->replica ? "BEGIN; SET LOCAL statement_timeout = '15min'; "
                                               "SET LOCAL session_replication_role = replica"
                                             : "BEGIN; SET LOCAL statement_timeout = '15min'",
                                  0, NULL, err);
    if (rc != STATUS_OK)
        return rc;
    if (!p->replica) {
        if ((rc = pop_triggers_sql(p, tables, ntables, &disable, &enable, err)) != STATUS_OK ||
            (*disable != '\0' && (rc = pg_conn_exec(p->s->pg, disable, 0, NULL, err)) != STATUS_OK))
            goto rollback;
    }
    for (size_t i = 0; i < ntables; i++)
        if ((rc = pop_copy_rows(p, tables[i]->name, tables[i]->columns, tables[i]->row, lo, hi,
                                err)) != STATUS_OK)
            goto rollback;
    if (enable != NULL && *enable != '\0' &&
        (rc = pg_conn_exec(p->s->pg, enable, 0, NULL, err)) != STATUS_OK)
        goto rollback;
    /* The payload of the triggers with id null: "refresh everything". */
    const char *params[] = {p->s->o->schema, kind};
    if ((rc = pg_conn_exec(p->s->pg,
                           "SELECT pg_notify('wf_changes', jsonb_build_object('schema', $1::text, "
                           "'kind', $2::text, 'id', NULL)::text)",
                           2, params, err)) != STATUS_OK ||
        (rc = pg_conn_exec(p->s->pg, "COMMIT", 0, NULL, err)) != STATUS_OK)
        goto rollback;
    goto out;
rollback:
    if (pg_conn_raw(p->s->pg) != NULL)
        pg_conn_exec(p->s->pg, "ROLLBACK", 0, NULL, NULL);
out:
    free(enable);
    free(disable);
    return rc;
}

static void pop_progress(struct pop *p, const char *what, uint64_t done, uint64_t of, uint64_t rows,
                         bool last)
{
    int64_t now = time_mono_ms();
    if (!last && now - p->logged_ms < POP_LOG_MS)
        return;
    p->logged_ms = now;
    double s = (double)(now - p->started_ms) / 1000.0;
    sim_log(p->s,
            "populate: %s %" PRIu64 " of %" PRIu64 "%s (%" PRIu64 " rows, %.0f rows/s, %.1f s)",
            what, done, of, last && done == of ? ", done" : "", rows,
            s > 0 ? (double)rows / s : 0.0, s);
}

/* All rows of a kind in batches; *done says how many went in. */
static enum status pop_pg_kind(struct pop *p, const struct pop_table *const *tables, size_t ntables,
                               const char *what, const char *kind, uint64_t count,
                               uint64_t per_batch, unsigned rows_per_item,
                               const volatile sig_atomic_t *stop, uint64_t *done, struct error *err)
{
    enum status rc = STATUS_OK;
    p->started_ms = p->logged_ms = time_mono_ms();
    *done = 0;
    while (*done < count && !*stop) {
        uint64_t hi = count - *done < per_batch ? count : *done + per_batch;
        if ((rc = pop_pg_batch(p, tables, ntables, kind, *done, hi, err)) != STATUS_OK)
            break;
        *done = hi;
        pop_progress(p, what, *done, count, *done * rows_per_item, *done == count);
    }
    if (*stop && *done < count)
        pop_progress(p, what, *done, count, *done * rows_per_item, true);
    return rc;
}

/* Before anything is written: the schema is there, and how the triggers
 * will be kept quiet. */
static enum status pop_pg_check(struct pop *p, struct error *err)
{
    char *sql = xasprintf("SELECT current_setting('is_superuser'), "
                          "to_regclass('%1$s.saga_executions') IS NOT NULL "
                          "AND to_regclass('%1$s.saga_steps') IS NOT NULL "
                          "AND to_regclass('%1$s.approvals') IS NOT NULL "
                          "AND to_regclass('%1$s.schedules') IS NOT NULL",
                          p->s->o->schema);
    PGresult *res = pg_conn_query(p->s->pg, sql, 0, NULL, NULL, err);
    enum status rc = STATUS_OK;
    free(sql);
    if (res == NULL)
        return err->status;
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 1), "t") != 0)
        rc = error_set(err, STATUS_USAGE,
                       "postgres at %s: schema %s has no workflow tables "
                       "(run opsdeck migrate first); nothing written",
                       pg_conn_endpoint(p->s->pg), p->s->o->schema);
    else
        p->replica = strcmp(PQgetvalue(res, 0, 0), "on") == 0;
    PQclear(res);
    return rc;
}

/* Fresh planner statistics for what was loaded: without them the planner
 * sees empty tables and the lists' index plans go astray. */
static enum status pop_pg_analyze(struct pop *p, const char *tables, struct error *err)
{
    int64_t t0 = time_mono_ms();
    int64_t was = pg_conn_set_command_timeout(p->s->pg, 30 * 60 * 1000);
    char *sql = xasprintf("BEGIN; SET LOCAL statement_timeout = 0; ANALYZE %s; COMMIT", tables);
    enum status rc = pg_conn_exec(p->s->pg, sql, 0, NULL, err);
    if (rc != STATUS_OK && pg_conn_raw(p->s->pg) != NULL)
        pg_conn_exec(p->s->pg, "ROLLBACK", 0, NULL, NULL);
    pg_conn_set_command_timeout(p->s->pg, was);
    free(sql);
    if (rc == STATUS_OK)
        sim_log(p->s, "populate: ANALYZE %s in %.1f s", tables,
                (double)(time_mono_ms() - t0) / 1000.0);
    return rc;
}

/* ---- the plan's setup, shared ------------------------------------------------ */

static void pop_init(struct pop *p, struct sim *s, const struct sim_sizes *z)
{
    memset(p, 0, sizeof(*p));
    p->s = s;
    p->z = z;
    p->seed = s->rng;
    p->now = s->now_us;
    struct buf b;
    buf_init(&b);
    pop_b36(&b, (uint64_t)(p->now / 1000), 8);
    snprintf(p->run, sizeof(p->run), "%s", buf_get(&b));
    buf_done(&b);
    pop_links(p);
    buf_init(&p->copy);
}

static void pop_done(struct pop *p)
{
    pop_pools_free(p);
    buf_done(&p->copy);
}

static enum status pop_redis_check(struct pop *p, struct error *err);

enum status sim_populate_pg(struct sim *s, const struct sim_sizes *z,
                            const volatile sig_atomic_t *stop, struct error *err)
{
    struct pop p;
    enum status rc = STATUS_OK;
    uint64_t done = 0;
    struct buf analyze;

    if (z->sagas == 0 && z->approvals == 0 && z->schedules == 0)
        return STATUS_OK;
    pop_init(&p, s, z);
    buf_init(&analyze);
    /* Both stores are checked before either is written. */
    if ((z->dlq_events > 0 || z->circuits > 0) && (rc = pop_redis_check(&p, err)) != STATUS_OK)
        goto out;
    if ((rc = pop_pg_check(&p, err)) != STATUS_OK)
        goto out;
    pop_pools_init(&p);
    sim_log(s, "populate: PostgreSQL, run %s, triggers kept quiet by %s", p.run,
            p.replica ? "session_replication_role (superuser)"
                      : "disabling them inside each transaction (table owner)");

    if (z->sagas > 0 && !*stop) {
        const struct pop_table *t[] = {&pop_table_executions, &pop_table_steps};
        rc = pop_pg_kind(&p, t, 2, "sagas", "saga", z->sagas, POP_SAGA_BATCH, 1 + POP_STEPS, stop,
                         &done, err);
        if (done > 0)
            buf_addf(&analyze, "%s.saga_executions, %s.saga_steps", s->o->schema, s->o->schema);
        if (rc != STATUS_OK)
            goto analyze;
    }
    if (z->approvals > 0 && !*stop) {
        const struct pop_table *t[] = {&pop_table_approvals};
        rc = pop_pg_kind(&p, t, 1, "approvals", "approval", z->approvals, POP_ROW_BATCH, 1, stop,
                         &done, err);
        if (done > 0)
            buf_addf(&analyze, "%s%s.approvals", analyze.len ? ", " : "", s->o->schema);
        if (rc != STATUS_OK)
            goto analyze;
    }
    if (z->schedules > 0 && !*stop) {
        const struct pop_table *t[] = {&pop_table_schedules};
        rc = pop_pg_kind(&p, t, 1, "schedules", "schedule", z->schedules, POP_ROW_BATCH, 1, stop,
                         &done, err);
        if (done > 0)
            buf_addf(&analyze, "%s%s.schedules", analyze.len ? ", " : "", s->o->schema);
    }
analyze:
    if (analyze.len > 0 && pg_conn_raw(s->pg) != NULL) {
        /* After a failure too: what was committed stays and is queried. */
        struct error e = {0};
        enum status a = pop_pg_analyze(&p, buf_get(&analyze), rc == STATUS_OK ? err : &e);
        if (rc == STATUS_OK)
            rc = a;
    }
    if (*stop)
        sim_log(s, "populate: stopped; what was committed stays");
out:
    buf_done(&analyze);
    pop_done(&p);
    return rc;
}

/* ---- Redis --------------------------------------------------------------------- */

struct pop_tally {
    uint64_t total, retried, resolved, pending;
    uint64_t reason[COUNT(pop_reasons)], source[COUNT(pop_sources)], target[COUNT(pop_targets)];
};

/* A reply of the pipeline; an error reply becomes the batch's failure.
 * *lost: no reply at all, the connection broke. */
static enum status pop_redis_take(struct pop *p, int want_type, const char *what, bool *lost,
                                  struct error *err)
{
    redisReply *r = redis_conn_reply(p->s->redis, err);
    enum status rc = STATUS_OK;
    *lost = r == NULL;
    if (r == NULL)
        return err->status != STATUS_OK ? err->status : STATUS_UNAVAILABLE;
    if (r->type == REDIS_REPLY_ERROR) {
        rc = error_set(err, redis_conn_error_status(r->str), "redis at %s: %s: %s",
                       redis_conn_endpoint(p->s->redis), what, r->str);
    } else if (want_type == REDIS_REPLY_ARRAY) {
        if (r->type != REDIS_REPLY_ARRAY) {
            rc = error_set(err, STATUS_UNAVAILABLE, "redis at %s: %s: transaction aborted",
                           redis_conn_endpoint(p->s->redis), what);
        } else {
            for (size_t i = 0; i < r->elements && rc == STATUS_OK; i++)
                if (r->element[i]->type == REDIS_REPLY_ERROR)
                    rc = error_set(err, redis_conn_error_status(r->element[i]->str),
                                   "redis at %s: %s: %s", redis_conn_endpoint(p->s->redis), what,
                                   r->element[i]->str);
        }
    }
    freeReplyObject(r);
    return rc;
}

static enum status pop_redis_append(struct pop *p, int argc, const char **argv, const size_t *lens,
                                    size_t *queued, struct error *err)
{
    enum status rc = redis_conn_append(p->s->redis, argc, argv, lens, err);
    if (rc == STATUS_OK)
        (*queued)++;
    return rc;
}

/* Reads the replies of one batch: MULTI's, one QUEUED per command, EXEC's. */
static enum status pop_redis_collect(struct pop *p, size_t queued, const char *what,
                                     struct error *err)
{
    enum status rc = STATUS_OK;
    struct error e = {0};
    bool lost = false;
    for (size_t i = 0; i < queued && !lost; i++) {
        enum status r = pop_redis_take(p, i + 1 == queued ? REDIS_REPLY_ARRAY : REDIS_REPLY_STATUS,
                                       what, &lost, rc == STATUS_OK ? err : &e);
        if (rc == STATUS_OK)
            rc = r;
    }
    return rc;
}

static enum status pop_redis_check(struct pop *p, struct error *err)
{
    const struct sim_options *o = p->s->o;
    char *index = xasprintf("%s:index", o->dlq_prefix),
         *stats = xasprintf("%s:stats", o->dlq_prefix);
    char *circuits = xasprintf("%s:index", o->circuit_prefix);
    const char *keys[] = {index, stats, circuits};
    const char *want[] = {"zset", "hash", "set"};
    enum status rc = STATUS_OK;
    for (size_t i = 0; i < 3 && rc == STATUS_OK; i++) {
        const char *argv[] = {"TYPE", keys[i]};
        redisReply *r = redis_conn_command(p->s->redis, 2, argv, NULL, err);
        if (r == NULL) {
            rc = err->status;
            break;
        }
        if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "none") != 0 &&
            strcmp(r->str, want[i]) != 0)
            rc = error_set(err, STATUS_USAGE, "redis at %s: %s is a %s, not a %s; nothing written",
                           redis_conn_endpoint(p->s->redis), keys[i], r->str, want[i]);
        freeReplyObject(r);
    }
    if (rc == STATUS_OK) {
        /* Nobody keeps status:pending_review but opsdeck's actions do move
         * it once it exists: then the new events are counted in it too. */
        const char *argv[] = {"HEXISTS", stats, "status:pending_review"};
        redisReply *r = redis_conn_command(p->s->redis, 3, argv, NULL, err);
        if (r == NULL)
            rc = err->status;
        else
            p->count_pending = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        if (r != NULL)
            freeReplyObject(r);
    }
    free(index);
    free(stats);
    free(circuits);
    return rc;
}

static void pop_incidents(struct pop *p)
{
    struct sim t;
    pop_rng(p, &t, POP_SALT_INCIDENT, 0);
    for (size_t i = 0; i < COUNT(p->incidents); i++) {
        struct pop_incident *in = &p->incidents[i];
        in->length = pop_within(&t, 20 * POP_MINUTE, 2 * POP_HOUR);
        in->start = p->now - POP_DLQ_SPAN + pop_within(&t, 0, POP_DLQ_SPAN - in->length);
        in->target = (unsigned)(sim_rand(&t) % COUNT(pop_targets));
        in->reason = (unsigned)(sim_chance(&t, 0.5) ? POP_INFRA : POP_TIMEOUT);
    }
}

/* JSON writer for the DLQ data: compact, or with Python's separators. */
struct pop_json {
    struct buf *b;
    bool python, first;
};

static void pop_json_key(struct pop_json *j, const char *key)
{
    buf_adds(j->b, j->first ? "\"" : j->python ? ", \"" : ",\"");
    buf_adds(j->b, key);
    buf_adds(j->b, j->python ? "\": " : "\":");
    j->first = false;
}

/* val must need no escaping: the loader's own ASCII text. */
static void pop_json_str(struct pop_json *j, const char *key, const char *val)
{
    pop_json_key(j, key);
    if (val == NULL) {
        buf_adds(j->b, "null");
        return;
    }
    buf_addc(j->b, '"');
    buf_adds(j->b, val);
    buf_addc(j->b, '"');
}

static void pop_json_time(struct pop_json *j, const char *key, int64_t us)
{
    pop_json_key(j, key);
    buf_addc(j->b, '"');
    pop_time(j->b, us, j->python ? ' ' : 'T', j->python ? "" : "Z");
    buf_addc(j->b, '"');
}

/* What a failed event looks like, and where it sits. */
struct pop_event {
    uint64_t e;
    bool python, large;
    unsigned source, target, reason, retries;
    int64_t first, last;
    uint64_t trace[2];
    unsigned variant;
    bool linked;
    uint64_t j;
    int step;
    char error[160];
    enum { POP_EV_PENDING, POP_EV_RETRIED, POP_EV_RESOLVED, POP_EV_RETRY_ERROR } status;
    int64_t acted;
    unsigned replays;
    const char *by, *note;
    double shape;
};

static void pop_event_plan(const struct pop *p, uint64_t e, struct pop_event *v)
{
    struct sim t;
    pop_rng(p, &t, POP_SALT_EVENT, e);
    memset(v, 0, sizeof(*v));
    v->e = e;
    v->python = sim_chance(&t, 0.5);
    v->large = sim_between(&t, 1, POP_LARGE_ONE_IN) == 1;
    v->source = POP_PICK_WEIGHTED(&t, pop_sources);
    v->target = POP_PICK_WEIGHTED(&t, pop_targets);
    v->reason = POP_PICK_WEIGHTED(&t, pop_reasons);
    v->last = p->now - POP_DLQ_SPAN + pop_within(&t, 0, POP_DLQ_SPAN - POP_SECOND);
    if (sim_chance(&t, 0.25)) {
        const struct pop_incident *in = &p->incidents[sim_rand(&t) % COUNT(p->incidents)];
        v->last = in->start + pop_within(&t, 0, in->length);
        if (sim_chance(&t, 0.8)) {
            v->target = in->target;
            v->reason = in->reason;
        }
    }
    v->retries = v->reason == POP_MAX_RETRIES ? (sim_chance(&t, 0.5) ? 3 : 5)
                                              : (unsigned)sim_between(&t, 0, 3);
    v->first = v->last - (int64_t)v->retries * (int64_t)sim_between(&t, 1, 30) * POP_SECOND;
    v->trace[0] = sim_rand(&t);
    v->trace[1] = sim_rand(&t);
    v->variant = (unsigned)sim_rand(&t);
    double u = sim_unit(&t);
    v->status = u < 0.06   ? POP_EV_RETRIED
                : u < 0.10 ? POP_EV_RESOLVED
                : u < 0.11 ? POP_EV_RETRY_ERROR
                           : POP_EV_PENDING;
    v->acted = v->last + pop_within(&t, 5 * POP_MINUTE, 3 * POP_DAY);
    v->replays = sim_chance(&t, 0.15) ? 2 : 1;
    v->by = sim_pick(&t, pop_operators, COUNT(pop_operators));
    v->note = v->status == POP_EV_RETRY_ERROR
                  ? sim_pick(&t, pop_retry_errors, COUNT(pop_retry_errors))
                  : sim_pick(&t, pop_resolution_notes, COUNT(pop_resolution_notes));
    v->shape = sim_unit(&t);
    const char *svc = pop_targets[v->target].service;
    const char *type = pop_targets[v->target].event_type;
    switch (v->reason) {
    case POP_MAX_RETRIES:
        snprintf(v->error, sizeof(v->error), "gave up after %u attempts: HTTP 503 from %s",
                 v->retries, svc);
        break;
    case POP_VALIDATION: {
        static const char *const why[] = {
            "field 'customer.email' is not a valid address",
            "field 'payment.card_number' failed the Luhn check",
            "amount must be positive, got -12.50",
            "currency 'EURO' is not ISO 4217",
        };
        snprintf(v->error, sizeof(v->error), "%s", why[sim_rand(&t) % COUNT(why)]);
        break;
    }
    case POP_TIMEOUT:
        snprintf(v->error, sizeof(v->error), "no answer from %s within 30.0s", svc);
        break;
    case POP_UNKNOWN_TYPE:
        snprintf(v->error, sizeof(v->error), "no handler registered for event type '%s.v3'", type);
        break;
    case POP_BUSINESS: {
        static const char *const why[] = {
            "order total below the minimum of 1.00 EUR",
            "shipping country not served",
            "refund exceeds the captured amount",
            "customer account is blocked",
        };
        snprintf(v->error, sizeof(v->error), "%s", why[sim_rand(&t) % COUNT(why)]);
        break;
    }
    default:
        snprintf(v->error, sizeof(v->error),
                 "ConnectionError: [Errno 111] Connection refused (%s:8443)", svc);
        break;
    }

    /* The first ones follow the sagas that failed: the same trace, the
     * step's service and queue, the step's error. */
    uint64_t linkable = p->z->dlq_events < p->n ? p->z->dlq_events : p->n;
    if (e < linkable) {
        struct pop_saga g;
        uint64_t j = e * p->n / linkable;
        pop_saga_plan(p, j, &g);
        if (g.failed >= 0 && g.steps[g.failed].completed > p->now - POP_DLQ_SPAN) {
            const struct pop_step *st = &g.steps[g.failed];
            v->linked = true;
            v->j = j;
            v->step = g.failed;
            v->source = POP_ORDER_SERVICE;
            v->target = (unsigned)(g.failed == 0 ? 0 : g.failed - 1);
            v->reason = g.b.reason;
            v->retries = st->retries;
            v->first = st->started;
            v->last = st->completed;
            v->trace[0] = g.b.trace[0];
            v->trace[1] = g.b.trace[1];
            struct buf eb;
            buf_init(&eb);
            pop_step_error(&g, g.failed, &eb);
            snprintf(v->error, sizeof(v->error), "%s", buf_get(&eb));
            buf_done(&eb);
            if (v->acted < v->last)
                v->acted = v->last + 10 * POP_MINUTE;
        }
    }
    if (v->acted >= p->now - POP_SECOND)
        v->status = POP_EV_PENDING;
}

/* Seed 004's dataclass as json.dumps(asdict(event), default=str) writes
 * it, or the clean form. */
static void pop_event_data(const struct pop *p, const struct pop_event *v, struct buf *b)
{
    const struct pop_target *tg = &pop_targets[v->target];
    const char *type = v->linked ? pop_steps[v->step].event_type : tg->event_type;
    const struct pop_pool *pool = pop_pool_for(p, type);
    const struct pop_variant *var = v->large && pool->nlarge > 0
                                        ? &pool->large[v->variant % pool->nlarge]
                                        : &pool->v[v->variant % POP_POOL];
    const char *inner = v->python ? var->python : var->compact;
    struct pop_json j = {b, v->python, true};
    struct buf id;

    buf_init(&id);
    pop_id(&id, p, "evt", v->e);
    buf_addc(b, '{');
    pop_json_str(&j, "event_id", buf_get(&id));
    pop_json_key(&j, "original_event");
    struct pop_json oe = {b, v->python, true};
    buf_addc(b, '{');
    pop_json_str(&oe, "event_id", buf_get(&id));
    pop_json_time(&oe, "occurred_at", v->first - 250 * 1000);
    pop_json_key(&oe, "trace_id");
    buf_addc(b, '"');
    pop_hex(b, v->trace[0], 16);
    pop_hex(b, v->trace[1], 16);
    buf_addc(b, '"');
    if (v->linked) {
        pop_json_key(&oe, "execution_id");
        buf_addc(b, '"');
        pop_id(b, p, "exec", v->j);
        buf_addc(b, '"');
    }
    if (*inner != '\0') {
        buf_adds(b, v->python ? ", " : ",");
        buf_adds(b, inner);
    }
    buf_addc(b, '}');

    pop_json_key(&j, "failure_reason");
    buf_addc(b, '"');
    if (v->python) {
        buf_adds(b, "DLQReason.");
        buf_adds(b, pop_reasons[v->reason].name);
    } else {
        buf_adds(b, pop_reasons[v->reason].value);
    }
    buf_addc(b, '"');
    pop_json_str(&j, "error_message", v->error);
    pop_json_key(&j, "retry_count");
    pop_addu(b, v->retries);
    /* The seed's manager stamps both times when it dead-letters. */
    pop_json_time(&j, "first_failure_time", v->python ? v->last : v->first);
    pop_json_time(&j, "last_failure_time", v->last);
    pop_json_str(&j, "source_service", pop_sources[v->source].name);
    pop_json_str(&j, "target_service", v->linked ? pop_steps[v->step].service : tg->service);
    pop_json_str(&j, "original_queue", v->linked ? pop_steps[v->step].queue : tg->queue);
    pop_json_key(&j, "stack_trace");
    if (v->python && v->shape < 0.25) {
        buf_adds(b, "\"Traceback (most recent call last):\\n  File \\\"/app/shared/messaging/"
                    "consumer.py\\\", line 88, in handle\\n    result = await handler(event)\\n"
                    "  File \\\"/app/services/handlers.py\\\", line 142, in on_event\\n    "
                    "await self.client.call(payload)\\n");
        buf_adds(b, v->reason == POP_TIMEOUT ? "asyncio.TimeoutError: " : "RuntimeError: ");
        buf_adds(b, v->error);
        buf_addc(b, '"');
    } else if (!v->python && v->shape < 0.2) {
        buf_addf(b, "\"at %s.call (client.go:214)\"",
                 v->linked ? pop_steps[v->step].service : tg->service);
    } else {
        buf_adds(b, "null");
    }
    pop_json_key(&j, "context");
    struct pop_json cx = {b, v->python, true};
    buf_addc(b, '{');
    if (v->linked) {
        pop_json_key(&cx, "execution_id");
        buf_addc(b, '"');
        pop_id(b, p, "exec", v->j);
        buf_addc(b, '"');
        pop_json_str(&cx, "step_id", pop_steps[v->step].step_id);
    } else if (v->shape < 0.6 && !v->python) {
        pop_json_str(&cx, "consumer", pop_consumers[v->variant % COUNT(pop_consumers)]);
        pop_json_key(&cx, "partition");
        pop_addu(b, v->variant % 12);
    } else if (v->shape > 0.7) {
        pop_json_str(&cx, "consumer", pop_consumers[v->variant % COUNT(pop_consumers)]);
        pop_json_key(&cx, "attempt");
        pop_addu(b, v->retries + 1);
        if (v->shape > 0.9) {
            pop_json_key(&cx, "headers");
            struct pop_json h = {b, v->python, true};
            buf_addc(b, '{');
            pop_json_key(&h, "x-request-id");
            buf_addc(b, '"');
            pop_hex(b, v->trace[1], 16);
            buf_addc(b, '"');
            buf_addc(b, '}');
        }
    }
    buf_adds(b, "}}");
    buf_done(&id);
}

/* Appends one event's commands (HSET, EXPIREAT) and counts it. */
static enum status pop_event_write(struct pop *p, const struct pop_event *v, struct buf *data,
                                   struct pop_tally *tl, size_t *queued, struct error *err)
{
    const struct sim_options *o = p->s->o;
    struct buf key, created, acted, exp;
    const char *argv[16];
    int argc = 0;
    enum status rc;

    buf_init(&key);
    buf_init(&created);
    buf_init(&acted);
    buf_init(&exp);
    buf_adds(&key, o->dlq_prefix);
    buf_addc(&key, ':');
    pop_id(&key, p, "evt", v->e);
    buf_reset(data);
    pop_event_data(p, v, data);
    pop_time(&created, v->last, 'T', v->python ? "" : "Z");
    argv[argc++] = "HSET";
    argv[argc++] = buf_get(&key);
    argv[argc++] = "data";
    argv[argc++] = buf_get(data);
    argv[argc++] = "created_at";
    argv[argc++] = buf_get(&created);
    argv[argc++] = "status";
    /* What opsdeck's actions write (backends/redis_actions.c), or seed
     * 004's retry_failed_event when the replay failed. */
    pop_time(&acted, v->acted, 'T', "Z");
    char replays[4] = {(char)('0' + v->replays), '\0'};
    switch (v->status) {
    case POP_EV_RETRIED:
        argv[argc++] = "retried";
        argv[argc++] = "retried_at";
        argv[argc++] = buf_get(&acted);
        argv[argc++] = "retried_by";
        argv[argc++] = v->by;
        argv[argc++] = "replay_count";
        argv[argc++] = replays;
        tl->retried++;
        break;
    case POP_EV_RESOLVED:
        argv[argc++] = "resolved";
        argv[argc++] = "resolved_at";
        argv[argc++] = buf_get(&acted);
        argv[argc++] = "resolved_by";
        argv[argc++] = v->by;
        argv[argc++] = "resolution_note";
        argv[argc++] = v->note;
        tl->resolved++;
        break;
    case POP_EV_RETRY_ERROR:
        argv[argc++] = "pending_review";
        argv[argc++] = "retry_error";
        argv[argc++] = v->note;
        tl->pending++;
        break;
    default:
        argv[argc++] = "pending_review";
        tl->pending++;
        break;
    }
    rc = pop_redis_append(p, argc, argv, NULL, queued, err);
    if (rc == STATUS_OK) {
        pop_addu(&exp, (uint64_t)((v->last + POP_DLQ_TTL) / POP_SECOND));
        const char *ex[] = {"EXPIREAT", buf_get(&key), buf_get(&exp)};
        rc = pop_redis_append(p, 3, ex, NULL, queued, err);
    }
    tl->total++;
    tl->reason[v->reason]++;
    tl->source[v->source]++;
    tl->target[v->target]++;
    buf_done(&key);
    buf_done(&created);
    buf_done(&acted);
    buf_done(&exp);
    return rc;
}

/* The stats fields of one batch, as HINCRBY, and last_updated. */
static enum status pop_tally_write(struct pop *p, const struct pop_tally *tl, size_t *queued,
                                   struct error *err)
{
    const struct sim_options *o = p->s->o;
    char *stats = xasprintf("%s:stats", o->dlq_prefix);
    enum status rc = STATUS_OK;
    struct buf f, n, now;
    buf_init(&f);
    buf_init(&n);
    buf_init(&now);

#define POP_INCR(field, count)                                                                     \
    do {                                                                                           \
        if ((count) > 0 && rc == STATUS_OK) {                                                      \
            buf_reset(&n);                                                                         \
            pop_addu(&n, (count));                                                                 \
            const char *a_[] = {"HINCRBY", stats, (field), buf_get(&n)};                           \
            rc = pop_redis_append(p, 4, a_, NULL, queued, err);                                    \
        }                                                                                          \
    } while (0)
    POP_INCR("total_failed_events", tl->total);
    for (size_t i = 0; i < COUNT(pop_reasons); i++) {
        buf_reset(&f);
        buf_addf(&f, "reason:%s", pop_reasons[i].value);
        POP_INCR(buf_get(&f), tl->reason[i]);
    }
    for (size_t i = 0; i < COUNT(pop_sources); i++) {
        buf_reset(&f);
        buf_addf(&f, "source:%s", pop_sources[i].name);
        POP_INCR(buf_get(&f), tl->source[i]);
    }
    for (size_t i = 0; i < COUNT(pop_targets); i++) {
        buf_reset(&f);
        buf_addf(&f, "target:%s", pop_targets[i].service);
        POP_INCR(buf_get(&f), tl->target[i]);
    }
    POP_INCR("status:retried", tl->retried);
    POP_INCR("status:resolved", tl->resolved);
    if (p->count_pending)
        POP_INCR("status:pending_review", tl->pending);
#undef POP_INCR
    if (rc == STATUS_OK) {
        pop_time(&now, time_now_us(), 'T', "");
        const char *a[] = {"HSET", stats, "last_updated", buf_get(&now)};
        rc = pop_redis_append(p, 4, a, NULL, queued, err);
    }
    buf_done(&f);
    buf_done(&n);
    buf_done(&now);
    free(stats);
    return rc;
}

/* Events lo..hi-1 as one MULTI ... EXEC, appended but not sent. */
static enum status pop_dlq_batch(struct pop *p, uint64_t lo, uint64_t hi, size_t *queued,
                                 struct error *err)
{
    const struct sim_options *o = p->s->o;
    struct pop_tally tl;
    struct pop_event v;
    struct buf data, zargs;
    size_t n = hi - lo;
    const char **zv = xcalloc(2 + 2 * n, sizeof(*zv));
    size_t *zoff = xcalloc(2 * n, sizeof(*zoff));
    char *index = xasprintf("%s:index", o->dlq_prefix);
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
    enum status rc;

    memset(&tl, 0, sizeof(tl));
    buf_init(&data);
    buf_init(&zargs);
    *queued = 0;
    rc = pop_redis_append(p, 1, multi, NULL, queued, err);
    for (uint64_t e = lo; rc == STATUS_OK && e < hi; e++) {
        pop_event_plan(p, e, &v);
        rc = pop_event_write(p, &v, &data, &tl, queued, err);
        /* Score and member for the one ZADD of the batch. */
        zoff[2 * (e - lo)] = zargs.len;
        pop_score(&zargs, v.last);
        buf_addc(&zargs, '\0');
        zoff[2 * (e - lo) + 1] = zargs.len;
        pop_id(&zargs, p, "evt", e);
        buf_addc(&zargs, '\0');
    }
    if (rc == STATUS_OK) {
        zv[0] = "ZADD";
        zv[1] = index;
        for (size_t i = 0; i < 2 * n; i++)
            zv[2 + i] = zargs.data + zoff[i];
        rc = pop_redis_append(p, (int)(2 + 2 * n), zv, NULL, queued, err);
    }
    if (rc == STATUS_OK)
        rc = pop_tally_write(p, &tl, queued, err);
    if (rc == STATUS_OK)
        rc = pop_redis_append(p, 1, exec, NULL, queued, err);
    free(index);
    free(zoff);
    free(zv);
    buf_done(&zargs);
    buf_done(&data);
    return rc;
}

static enum status pop_dlq(struct pop *p, const volatile sig_atomic_t *stop, struct error *err)
{
    uint64_t count = p->z->dlq_events, next = 0, done = 0;
    struct {
        uint64_t hi;
        size_t queued;
    } fl[2];
    int nfl = 0;
    enum status rc = STATUS_OK;

    pop_incidents(p);
    p->started_ms = p->logged_ms = time_mono_ms();
    /* Two batches in flight: reading the replies of one sends the next, so
     * Redis runs one while the loader builds the one after. A batch once
     * built is always sent and read: *stop is honoured between batches. */
    for (;;) {
        if (next < count && !*stop) {
            uint64_t hi = count - next < POP_DLQ_BATCH ? count : next + POP_DLQ_BATCH;
            if ((rc = pop_dlq_batch(p, next, hi, &fl[nfl].queued, err)) != STATUS_OK)
                break;
            fl[nfl++].hi = next = hi;
            if (nfl < 2)
                continue;
        }
        if (nfl == 0)
            break;
        if ((rc = pop_redis_collect(p, fl[0].queued, "dlq batch", err)) != STATUS_OK)
            break;
        done = fl[0].hi;
        fl[0] = fl[1];
        nfl--;
        pop_progress(p, "dlq events", done, count, done, done == count);
    }
    if (rc != STATUS_OK) {
        /* Replies may be outstanding: the connection is of no further use. */
        redis_conn_close(p->s->redis);
        return rc;
    }
    if (*stop && done < count)
        pop_progress(p, "dlq events", done, count, done, true);
    return STATUS_OK;
}

/* ---- circuit breakers ------------------------------------------------------------ */

static void pop_circuit_name(uint64_t i, struct buf *b)
{
    size_t ns = COUNT(pop_targets) + COUNT(pop_more_services), nr = COUNT(pop_regions);
    uint64_t svc = i % ns, region = i / ns % nr, shard = i / (ns * nr);
    buf_adds(b, svc < COUNT(pop_targets) ? pop_targets[svc].service
                                         : pop_more_services[svc - COUNT(pop_targets)]);
    if (region != 0 || shard != 0) {
        buf_addc(b, '-');
        buf_adds(b, pop_regions[region]);
    }
    if (shard != 0) {
        buf_addc(b, '-');
        pop_addu(b, shard);
    }
}

/* One breaker's hash as seed 004's get_stats() has it (and what opsdeck
 * forced now and then), and its registry entry. */
static enum status pop_circuit_write(struct pop *p, uint64_t i, size_t *queued, struct error *err)
{
    static const int thresholds[] = {3, 5, 5, 10}, recoveries[] = {30, 60, 60, 120, 300},
                     successes[] = {2, 3, 3, 5};
    static const char *const timeouts[] = {"5.0", "10.0", "30.0", "30.0"};
    const struct sim_options *o = p->s->o;
    struct sim t;
    struct buf name, key, f[12];
    const char *argv[40];
    int argc = 0;
    enum status rc;

    pop_rng(p, &t, POP_SALT_CIRCUIT, i);
    int threshold = thresholds[sim_rand(&t) % COUNT(thresholds)];
    int recovery = recoveries[sim_rand(&t) % COUNT(recoveries)];
    int success = successes[sim_rand(&t) % COUNT(successes)];
    const char *timeout = timeouts[sim_rand(&t) % COUNT(timeouts)];
    double u = sim_unit(&t);
    const char *state = u < 0.85 ? "closed" : u < 0.93 ? "open" : "half_open";
    uint64_t calls = sim_between(&t, 1000, 5000000);
    double rate = state[0] == 'c' ? sim_unit(&t) * 0.02 : 0.05 + sim_unit(&t) * 0.35;
    uint64_t failures = (uint64_t)((double)calls * rate);
    int64_t last_fail, last_ok;
    uint64_t failure_count, success_count = 0;
    if (state[0] == 'c') {
        failure_count = sim_between(&t, 0, (uint64_t)threshold - 1);
        last_fail = p->now - pop_within(&t, POP_MINUTE, POP_DAY);
        last_ok = p->now - pop_within(&t, 0, POP_MINUTE);
    } else if (state[0] == 'o') {
        failure_count = sim_between(&t, (uint64_t)threshold, (uint64_t)threshold + 20);
        last_fail = p->now - pop_within(&t, 0, (int64_t)recovery * POP_SECOND);
        last_ok = p->now - pop_within(&t, 5 * POP_MINUTE, 6 * POP_HOUR);
    } else {
        failure_count = sim_between(&t, (uint64_t)threshold, (uint64_t)threshold + 20);
        success_count = sim_between(&t, 0, (uint64_t)success - 1);
        last_fail = p->now - pop_within(&t, (int64_t)recovery * POP_SECOND, 2 * POP_HOUR);
        last_ok = p->now - pop_within(&t, 0, 30 * POP_SECOND);
    }
    bool forced = sim_chance(&t, 0.01);
    const char *by = sim_pick(&t, pop_operators, COUNT(pop_operators));
    if (failures < failure_count)
        failures = failure_count;

    buf_init(&name);
    buf_init(&key);
    for (size_t k = 0; k < COUNT(f); k++)
        buf_init(&f[k]);
    pop_circuit_name(i, &name);
    buf_addf(&key, "%s:%s", o->circuit_prefix, buf_get(&name));
    pop_addu(&f[0], failure_count);
    pop_addu(&f[1], success_count);
    pop_addu(&f[2], calls);
    pop_addu(&f[3], failures);
    if (failures > 0)
        pop_time(&f[4], last_fail, 'T', "");
    else
        buf_adds(&f[4], "None");
    pop_time(&f[5], last_ok, 'T', "");
    buf_addf(&f[6], "%.12g", (double)failures / (double)(calls > 0 ? calls : 1));
    buf_addf(&f[7],
             "{\"failure_threshold\": %d, \"recovery_timeout\": %d, "
             "\"success_threshold\": %d, \"timeout\": %s}",
             threshold, recovery, success, timeout);
    pop_time(&f[8], p->now - pop_within(&t, 0, 30 * POP_SECOND), 'T', "");
    const char *pairs[][2] = {
        {"name", buf_get(&name)},
        {"state", state},
        {"failure_count", buf_get(&f[0])},
        {"success_count", buf_get(&f[1])},
        {"call_count", buf_get(&f[2])},
        {"total_failures", buf_get(&f[3])},
        {"last_failure_time", buf_get(&f[4])},
        {"last_success_time", buf_get(&f[5])},
        {"failure_rate", buf_get(&f[6])},
        {"config", buf_get(&f[7])},
        {"updated_at", buf_get(&f[8])},
    };
    argv[argc++] = "HSET";
    argv[argc++] = buf_get(&key);
    for (size_t k = 0; k < COUNT(pairs); k++) {
        argv[argc++] = pairs[k][0];
        argv[argc++] = pairs[k][1];
    }
    if (forced) {
        /* As `opsdeck circuits force-open` leaves it. */
        pop_time(&f[9], p->now - pop_within(&t, 10 * POP_MINUTE, POP_DAY), 'T', "Z");
        argv[argc++] = "forced_state";
        argv[argc++] = "open";
        argv[argc++] = "forced_by";
        argv[argc++] = by;
        argv[argc++] = "forced_at";
        argv[argc++] = buf_get(&f[9]);
        argv[argc++] = "forced_reason";
        argv[argc++] = "vendor maintenance window";
    }
    rc = pop_redis_append(p, argc, argv, NULL, queued, err);
    if (rc == STATUS_OK) {
        char *index = xasprintf("%s:index", o->circuit_prefix);
        const char *sadd[] = {"SADD", index, buf_get(&name)};
        rc = pop_redis_append(p, 3, sadd, NULL, queued, err);
        free(index);
    }
    buf_done(&name);
    buf_done(&key);
    for (size_t k = 0; k < COUNT(f); k++)
        buf_done(&f[k]);
    return rc;
}

static enum status pop_circuits(struct pop *p, const volatile sig_atomic_t *stop, struct error *err)
{
    uint64_t count = p->z->circuits, done = 0;
    enum status rc = STATUS_OK;
    p->started_ms = p->logged_ms = time_mono_ms();
    while (done < count && !*stop && rc == STATUS_OK) {
        uint64_t hi = count - done < POP_CIRCUIT_BATCH ? count : done + POP_CIRCUIT_BATCH;
        size_t queued = 0;
        const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};
        rc = pop_redis_append(p, 1, multi, NULL, &queued, err);
        for (uint64_t i = done; rc == STATUS_OK && i < hi; i++)
            rc = pop_circuit_write(p, i, &queued, err);
        if (rc == STATUS_OK)
            rc = pop_redis_append(p, 1, exec, NULL, &queued, err);
        if (rc == STATUS_OK)
            rc = pop_redis_collect(p, queued, "circuits batch", err);
        if (rc == STATUS_OK) {
            done = hi;
            pop_progress(p, "circuits", done, count, done, done == count);
        }
    }
    if (rc != STATUS_OK)
        redis_conn_close(p->s->redis);
    return rc;
}

enum status sim_populate_redis(struct sim *s, const struct sim_sizes *z,
                               const volatile sig_atomic_t *stop, struct error *err)
{
    struct pop p;
    enum status rc;

    if ((z->dlq_events == 0 && z->circuits == 0) || *stop)
        return STATUS_OK;
    pop_init(&p, s, z);
    if ((rc = pop_redis_check(&p, err)) != STATUS_OK)
        goto out;
    sim_log(s, "populate: Redis, run %s", p.run);
    if (z->dlq_events > 0) {
        pop_pools_init(&p);
        if ((rc = pop_dlq(&p, stop, err)) != STATUS_OK)
            goto out;
    }
    if (z->circuits > 0 && !*stop)
        rc = pop_circuits(&p, stop, err);
    if (*stop)
        sim_log(s, "populate: stopped; the batches written stay, with their counters");
out:
    pop_done(&p);
    return rc;
}
