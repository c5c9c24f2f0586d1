/* The overview: both stores' health and the counts of SPEC section 2, and
 * the alert lines of seed 000's thresholds. `opsdeck status` prints it; the
 * console's Overview draws it. */
#ifndef OPSDECK_CORE_OVERVIEW_H
#define OPSDECK_CORE_OVERVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/pg_overview.h"
#include "backends/redis_overview.h"
#include "core/session.h"
#include "util/status.h"

/* Seed 000's alert thresholds. */
#define OVERVIEW_DLQ_DEPTH_ALERT 10
#define OVERVIEW_APPROVAL_AGE_ALERT_MS (3600 * 1000)

struct overview_backend {
    bool up;                /* it answered a ping */
    enum status status;     /* STATUS_OK when its counts are fresh */
    struct error err;       /* why not */
    int64_t rtt_us;
    const char *endpoint;   /* borrowed from the connection */
};

struct overview {
    int64_t at_us;          /* when collected */
    struct overview_backend pg;
    struct overview_backend redis;
    struct pg_overview pgo;
    struct redis_overview rdo;
    int latest_schema;      /* the version this binary carries */
    char *redis_url_masked; /* owned: the endpoint shown when the URL is bad */
};

enum overview_alert_kind {
    OVERVIEW_ALERT_DLQ_DEPTH,
    OVERVIEW_ALERT_APPROVAL_AGE,
    OVERVIEW_ALERT_CIRCUIT_OPEN,
    OVERVIEW_ALERT_SCHEMA,
};

struct overview_alert {
    enum overview_alert_kind kind;
    char text[160];
};

/* Collects everything, each store within its own timeouts; a dead store
 * leaves its part zero with its error filled. Release with overview_done. */
void overview_collect(struct session *s, struct overview *ov);
void overview_done(struct overview *ov);

/* Each store's half of overview_collect, for the console's workers, which
 * collect the two on their own threads: the other half is left zero. Both
 * set at_us and latest_schema. Release with overview_done. */
void overview_collect_pg(struct session *s, struct overview *ov);
void overview_collect_redis(struct session *s, struct overview *ov);

/* Fills up to max alerts; returns how many apply. */
size_t overview_alerts(const struct overview *ov, struct overview_alert *out, size_t max);

#endif
