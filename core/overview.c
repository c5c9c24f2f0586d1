/* Collecting the overview and deriving its alerts. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/pg_migrate.h"
#include "core/overview.h"
#include "util/mask.h"
#include "util/timeutil.h"

/* What both halves set, on a zeroed overview. */
static void overview_begin(struct overview *ov)
{
    memset(ov, 0, sizeof(*ov));
    ov->at_us = time_now_us();
    ov->latest_schema = pg_migrate_latest();
}

static void overview_fill_pg(struct session *s, struct overview *ov)
{
    struct pg_conn *pg = session_pg(s);
    ov->pg.status = pg_conn_ping(pg, &ov->pg.rtt_us, &ov->pg.err);
    ov->pg.up = ov->pg.status == STATUS_OK;
    if (ov->pg.up)
        ov->pg.status = pg_overview_get(pg, session_schema(s), &ov->pgo, &ov->pg.err);
    ov->pg.endpoint = pg_conn_endpoint(pg);
}

static void overview_fill_redis(struct session *s, struct overview *ov)
{
    struct redis_conn *rc = NULL;

    ov->redis.status = session_redis(s, &rc, &ov->redis.err);
    if (ov->redis.status == STATUS_OK) {
        ov->redis.status = redis_conn_ping(rc, &ov->redis.rtt_us, &ov->redis.err);
        ov->redis.up = ov->redis.status == STATUS_OK;
        if (ov->redis.up)
            ov->redis.status = redis_overview_get(rc, config_str(s->cfg, OPTION_DLQ_PREFIX),
                                                  config_str(s->cfg, OPTION_CIRCUIT_PREFIX),
                                                  ov->at_us, &ov->rdo, &ov->redis.err);
        ov->redis.endpoint = redis_conn_endpoint(rc);
    } else {
        /* The URL did not parse: show it, but never its password. */
        ov->redis_url_masked = mask_secret(config_str(s->cfg, OPTION_REDIS));
        ov->redis.endpoint = ov->redis_url_masked;
    }
}

void overview_collect(struct session *s, struct overview *ov)
{
    overview_begin(ov);
    overview_fill_pg(s, ov);
    overview_fill_redis(s, ov);
}

void overview_collect_pg(struct session *s, struct overview *ov)
{
    overview_begin(ov);
    overview_fill_pg(s, ov);
}

void overview_collect_redis(struct session *s, struct overview *ov)
{
    overview_begin(ov);
    overview_fill_redis(s, ov);
}

void overview_done(struct overview *ov)
{
    redis_overview_done(&ov->rdo);
    free(ov->redis_url_masked);
    ov->redis_url_masked = NULL;
}

size_t overview_alerts(const struct overview *ov, struct overview_alert *out, size_t max)
{
    size_t n = 0;
#define OVERVIEW_ADD(k, ...)                                                                       \
    do {                                                                                           \
        if (n < max) {                                                                             \
            out[n].kind = (k);                                                                     \
            snprintf(out[n].text, sizeof(out[n].text), __VA_ARGS__);                               \
        }                                                                                          \
        n++;                                                                                       \
    } while (0)

    if (ov->pg.status == STATUS_OK) {
        if (ov->pgo.schema_version == 0)
            OVERVIEW_ADD(OVERVIEW_ALERT_SCHEMA, "schema not migrated: run opsdeck migrate");
        else if (ov->pgo.schema_version < ov->latest_schema)
            OVERVIEW_ADD(OVERVIEW_ALERT_SCHEMA, "schema at version %d of %d: run opsdeck migrate",
                         ov->pgo.schema_version, ov->latest_schema);
        if (ov->pgo.approvals_oldest_us != 0 &&
            ov->at_us - ov->pgo.approvals_oldest_us > OVERVIEW_APPROVAL_AGE_ALERT_MS * 1000LL) {
            char age[32];
            time_format_span((ov->at_us - ov->pgo.approvals_oldest_us) / 1000, age, sizeof(age));
            OVERVIEW_ADD(OVERVIEW_ALERT_APPROVAL_AGE, "approval pending for %s (over 1h)", age);
        }
    }
    if (ov->redis.status == STATUS_OK) {
        if (ov->rdo.dlq_depth > OVERVIEW_DLQ_DEPTH_ALERT)
            OVERVIEW_ADD(OVERVIEW_ALERT_DLQ_DEPTH, "DLQ depth %lld (over %d)",
                         (long long)ov->rdo.dlq_depth, OVERVIEW_DLQ_DEPTH_ALERT);
        if (ov->rdo.circuits_open > 0)
            OVERVIEW_ADD(OVERVIEW_ALERT_CIRCUIT_OPEN, "%lld circuit%s OPEN",
                         (long long)ov->rdo.circuits_open, ov->rdo.circuits_open == 1 ? "" : "s");
    }
#undef OVERVIEW_ADD
    return n < max ? n : max;
}
