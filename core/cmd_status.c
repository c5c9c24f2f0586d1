/* `opsdeck status [--json]`: each store's health and round trip, the
 * schema version, the overview counts and alerts. With a store down it
 * reports the other, marks the dead one and exits 3. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/command.h"
#include "core/out.h"
#include "core/overview.h"
#include "util/timeutil.h"

static json_t *cmd_status_time(int64_t us)
{
    char buf[32];
    return us != 0 ? json_string(time_format_iso(us, buf, sizeof(buf))) : json_null();
}

static json_t *cmd_status_backend(const struct overview_backend *b)
{
    return json_pack("{s:s, s:o, s:o, s:o}", "state", b->up ? "up" : "down", "endpoint",
                     out_jstr(b->endpoint), "rtt_us",
                     b->up ? json_integer(b->rtt_us) : json_null(), "error",
                     b->status == STATUS_OK ? json_null() : out_jstr(b->err.msg));
}

/* Everything as one JSON document; the text form is printed from it too,
 * so both faces always say the same. */
static json_t *cmd_status_json(struct session *s, const struct overview *ov)
{
    json_t *root = json_object();
    json_t *backends = json_object();
    json_t *pg = cmd_status_backend(&ov->pg);
    char *profile = config_display(s->cfg, OPTION_PROFILE);

    json_object_set_new(root, "profile", out_jstr(profile));
    free(profile);
    json_object_set_new(root, "at", cmd_status_time(ov->at_us));
    json_object_set_new(pg, "schema", json_string(session_schema(s)));
    json_object_set_new(pg, "schema_version",
                        ov->pg.status == STATUS_OK ? json_integer(ov->pgo.schema_version) : json_null());
    json_object_set_new(pg, "schema_latest", json_integer(ov->latest_schema));
    json_object_set_new(backends, "postgres", pg);
    json_object_set_new(backends, "redis", cmd_status_backend(&ov->redis));
    json_object_set_new(root, "backends", backends);

    if (ov->pg.status == STATUS_OK && ov->pgo.schema_version > 0) {
        const struct pg_overview *p = &ov->pgo;
        json_object_set_new(root, "sagas",
                            json_pack("{s:I, s:I, s:I}", "running", (json_int_t)p->sagas_running,
                                      "compensating", (json_int_t)p->sagas_compensating,
                                      "failed_24h", (json_int_t)p->sagas_failed_24h));
        json_object_set_new(
            root, "approvals",
            json_pack("{s:I, s:I, s:o, s:o}", "pending", (json_int_t)p->approvals_pending,
                      "overdue", (json_int_t)p->approvals_overdue, "oldest_requested_at",
                      cmd_status_time(p->approvals_oldest_us), "oldest_age_s",
                      p->approvals_oldest_us
                          ? json_integer((ov->at_us - p->approvals_oldest_us) / 1000000)
                          : json_null()));
        json_object_set_new(root, "schedules",
                            json_pack("{s:I, s:I, s:o}", "total", (json_int_t)p->schedules_total,
                                      "paused", (json_int_t)p->schedules_paused, "next_run_at",
                                      cmd_status_time(p->schedules_next_run_us)));
    } else {
        json_object_set_new(root, "sagas", json_null());
        json_object_set_new(root, "approvals", json_null());
        json_object_set_new(root, "schedules", json_null());
    }
    if (ov->redis.status == STATUS_OK) {
        const struct redis_overview *r = &ov->rdo;
        json_t *reasons = json_array();
        for (size_t i = 0; i < r->nreasons; i++)
            json_array_append_new(reasons, json_pack("{s:o, s:I}", "reason",
                                                     out_jstr(r->reasons[i].name), "count",
                                                     (json_int_t)r->reasons[i].count));
        json_object_set_new(root, "dlq",
                            json_pack("{s:I, s:I, s:I, s:o}", "depth", (json_int_t)r->dlq_depth,
                                      "last_hour", (json_int_t)r->dlq_last_hour, "total_failed",
                                      (json_int_t)r->dlq_total_failed, "by_reason", reasons));
        json_object_set_new(
            root, "circuits",
            json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "registry", r->circuits_registry,
                      "total", (json_int_t)r->circuits_total,
                      "closed", (json_int_t)r->circuits_closed, "open",
                      (json_int_t)r->circuits_open, "half_open", (json_int_t)r->circuits_half_open,
                      "forced", (json_int_t)r->circuits_forced, "unknown",
                      (json_int_t)r->circuits_unknown));
    } else {
        json_object_set_new(root, "dlq", json_null());
        json_object_set_new(root, "circuits", json_null());
    }
    struct overview_alert alerts[8];
    size_t n = overview_alerts(ov, alerts, 8);
    json_t *ja = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ja, json_string(alerts[i].text));
    json_object_set_new(root, "alerts", ja);
    return root;
}

static json_int_t cmd_status_int(json_t *obj, const char *key)
{
    return json_integer_value(json_object_get(obj, key));
}

static void cmd_status_backend_line(struct session *s, const char *name, json_t *b,
                                    const char *extra)
{
    char *endpoint = out_safe(s, json_string_value(json_object_get(b, "endpoint")), 60);
    if (strcmp(json_string_value(json_object_get(b, "state")), "up") == 0) {
        out_printf(s, "%-10s up    %6.1fms  %s%s\n", name,
                   (double)json_integer_value(json_object_get(b, "rtt_us")) / 1000.0, endpoint,
                   extra);
        if (json_is_string(json_object_get(b, "error"))) {
            char *why = out_safe(s, json_string_value(json_object_get(b, "error")), 0);
            out_printf(s, "%-10s       %s\n", "", why);
            free(why);
        }
    } else {
        char *why = out_safe(s, json_string_value(json_object_get(b, "error")), 0);
        out_printf(s, "%-10s DOWN  %s\n", name, why);
        free(why);
    }
    free(endpoint);
}

static void cmd_status_text(struct session *s, json_t *root)
{
    json_t *backends = json_object_get(root, "backends");
    json_t *pg = json_object_get(backends, "postgres");
    json_t *o;
    char extra[128] = "";

    if (json_is_integer(json_object_get(pg, "schema_version")))
        snprintf(extra, sizeof(extra), "  schema %s v%lld/%lld",
                 json_string_value(json_object_get(pg, "schema")),
                 (long long)cmd_status_int(pg, "schema_version"),
                 (long long)cmd_status_int(pg, "schema_latest"));
    cmd_status_backend_line(s, "postgres", pg, extra);
    cmd_status_backend_line(s, "redis", json_object_get(backends, "redis"), "");

    if ((o = json_object_get(root, "sagas")) && json_is_object(o))
        out_printf(s, "%-10s %lld running, %lld compensating, %lld failed in 24h\n", "sagas",
                   (long long)cmd_status_int(o, "running"),
                   (long long)cmd_status_int(o, "compensating"),
                   (long long)cmd_status_int(o, "failed_24h"));
    else
        out_printf(s, "%-10s unavailable\n", "sagas");
    if ((o = json_object_get(root, "approvals")) && json_is_object(o)) {
        char age[32] = "-";
        if (json_is_integer(json_object_get(o, "oldest_age_s")))
            time_format_span(cmd_status_int(o, "oldest_age_s") * 1000, age, sizeof(age));
        out_printf(s, "%-10s %lld pending, %lld overdue, oldest %s\n", "approvals",
                   (long long)cmd_status_int(o, "pending"), (long long)cmd_status_int(o, "overdue"),
                   age);
    } else {
        out_printf(s, "%-10s unavailable\n", "approvals");
    }
    if ((o = json_object_get(root, "schedules")) && json_is_object(o)) {
        const char *next = json_string_value(json_object_get(o, "next_run_at"));
        char *safe = out_safe(s, next != NULL ? next : "-", 0);
        out_printf(s, "%-10s %lld, %lld paused, next run %s\n", "schedules",
                   (long long)cmd_status_int(o, "total"), (long long)cmd_status_int(o, "paused"),
                   safe);
        free(safe);
    } else {
        out_printf(s, "%-10s unavailable\n", "schedules");
    }
    if ((o = json_object_get(root, "dlq")) && json_is_object(o)) {
        out_printf(s, "%-10s %lld deep, %lld in the last hour, %lld failed in all\n", "dlq",
                   (long long)cmd_status_int(o, "depth"), (long long)cmd_status_int(o, "last_hour"),
                   (long long)cmd_status_int(o, "total_failed"));
        json_t *reasons = json_object_get(o, "by_reason");
        size_t i;
        json_t *r;
        json_array_foreach(reasons, i, r) {
            if (i == 5) {
                out_printf(s, "%-10s   ... %zu more reasons\n", "", json_array_size(reasons) - 5);
                break;
            }
            char *name = out_safe(s, json_string_value(json_object_get(r, "reason")), 40);
            out_printf(s, "%-10s   %-40s %lld\n", "", name, (long long)cmd_status_int(r, "count"));
            free(name);
        }
    } else {
        out_printf(s, "%-10s unavailable\n", "dlq");
    }
    if ((o = json_object_get(root, "circuits")) && json_is_object(o) &&
        !json_is_true(json_object_get(o, "registry")))
        out_printf(s, "%-10s unknown: no registry %s:index (services SADD their breaker names "
                      "to it)\n", "circuits", config_str(s->cfg, OPTION_CIRCUIT_PREFIX));
    else if ((o = json_object_get(root, "circuits")) && json_is_object(o))
        out_printf(s, "%-10s %lld: %lld closed, %lld open, %lld half-open, %lld forced, %lld unknown\n",
                   "circuits", (long long)cmd_status_int(o, "total"),
                   (long long)cmd_status_int(o, "closed"), (long long)cmd_status_int(o, "open"),
                   (long long)cmd_status_int(o, "half_open"), (long long)cmd_status_int(o, "forced"),
                   (long long)cmd_status_int(o, "unknown"));
    else
        out_printf(s, "%-10s unavailable\n", "circuits");
    json_t *alerts = json_object_get(root, "alerts");
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a) {
        out_printf(s, "%-10s %s\n", i == 0 ? "ALERT" : "", json_string_value(a));
    }
}

static enum status cmd_status_run(struct session *s, const struct command *cmd,
                                  const struct command_args *a, struct error *err)
{
    struct overview ov;
    (void)cmd;
    (void)a;

    overview_collect(s, &ov);
    json_t *root = cmd_status_json(s, &ov);
    if (s->json)
        out_json(s, root);
    else {
        cmd_status_text(s, root);
        json_decref(root);
    }

    /* One line on stderr naming every store that failed. */
    enum status rc = STATUS_OK;
    if (ov.pg.status != STATUS_OK && ov.redis.status != STATUS_OK) {
        rc = ov.pg.status == STATUS_USAGE || ov.redis.status == STATUS_USAGE ? STATUS_USAGE
                                                                              : STATUS_UNAVAILABLE;
        error_set(err, rc, "%s; %s", ov.pg.err.msg, ov.redis.err.msg);
    } else if (ov.pg.status != STATUS_OK) {
        rc = error_set(err, ov.pg.status, "%s; redis is up", ov.pg.err.msg);
    } else if (ov.redis.status != STATUS_OK) {
        rc = error_set(err, ov.redis.status, "%s; postgres is up", ov.redis.err.msg);
    }
    overview_done(&ov);
    return rc;
}

const struct command cmd_status_entry = {
    .name = "status",
    .usage = "[--json]",
    .summary = "health of both stores, schema version and the overview counts",
    .help = "Prints each store's health and round trip, the schema version, the counts of the "
            "overview (sagas, approvals, schedules, DLQ depth and reasons, circuits by state) "
            "and alert lines for seed 000's thresholds (DLQ depth over 10, an approval pending "
            "over 1h, a circuit OPEN). Counts come from indexes and counters, never from a "
            "scan. With a store down it reports the other and exits 3.",
    .max_args = 0,
    .run = cmd_status_run,
};
