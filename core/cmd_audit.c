/* `opsdeck audit list`: every operator action, newest first, from both
 * stores: the PostgreSQL audit log and the Redis audit stream merged by
 * time. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "backends/pg_lists.h"
#include "backends/redis_audit.h"
#include "core/listing.h"
#include "util/xmalloc.h"

static const struct command_flag cmd_audit_list_flags[] = {
    {"--operator", "O", "only actions by operator O"},
    {"--action", "A", "only actions named A (approve, dlq.replay, ...)"},
    {"--since", "DUR", "within DUR"},
    {"--search", "TEXT", "TEXT in the operator, action, target, reason or detail (PostgreSQL)"},
    LISTING_FLAGS,
    {NULL, NULL, NULL},
};

static const struct table_col cmd_audit_cols[] = {
    {"AT", "at", TABLE_TIME, 19},
    {"OPERATOR", "operator", TABLE_TEXT, 16},
    {"FROM", "client_addr", TABLE_TEXT, 16},
    {"ACTION", "action", TABLE_TEXT, 18},
    {"TARGET", "target_id", TABLE_TEXT, 32},
    {"OUTCOME", "outcome", TABLE_TEXT, 8},
    {"REASON", "reason", TABLE_TEXT, 50},
};

/* The merged cursor: "m1.PG.REDIS", each part a source's own cursor, ""
 * for its first page, "x" when it is exhausted. Neither base64url nor a
 * stream id contains a dot. */
static enum status cmd_audit_cursor_parse(const char *cursor, char **pg, char **rd,
                                          struct error *err)
{
    *pg = *rd = NULL;
    if (cursor == NULL)
        return STATUS_OK;
    const char *d1 = strncmp(cursor, "m1.", 3) == 0 ? cursor + 3 : NULL;
    const char *d2 = d1 != NULL ? strchr(d1, '.') : NULL;
    if (d2 == NULL || strchr(d2 + 1, '.') != NULL)
        return error_set(err, STATUS_USAGE, "bad --after cursor: not one of the audit list");
    *pg = xstrndup(d1, (size_t)(d2 - d1));
    *rd = xstrdup(d2 + 1);
    return STATUS_OK;
}

static enum status cmd_audit_list_fetch(struct session *s, const struct command *cmd,
                                        const struct command_args *a, json_t **out_rows,
                                        char **out_next, struct error *err)
{
    struct listing l;
    struct redis_conn *rconn;
    char *pgc = NULL, *rdc = NULL, *pg_next = NULL, *next = NULL;
    json_t *pg_rows = NULL, *rd_rows = NULL, *rows = json_array();
    bool rd_done = false, pg_done;
    enum status rc = listing_parse(cmd, a, &l, err);

    *out_rows = NULL;
    *out_next = NULL;
    if (rc == STATUS_OK)
        rc = cmd_audit_cursor_parse(l.after, &pgc, &rdc, err);
    if (rc == STATUS_OK)
        rc = session_redis(s, &rconn, err);
    if (rc != STATUS_OK)
        goto out;
    pg_done = pgc != NULL && strcmp(pgc, "x") == 0;
    rd_done = rdc != NULL && strcmp(rdc, "x") == 0;
    if (!pg_done) {
        struct pg_list_query q = {
            .schema = session_schema(s),
            .operator_ = command_arg(cmd, a, "--operator"),
            .action = command_arg(cmd, a, "--action"),
            .search = command_arg(cmd, a, "--search"),
            .since_us = l.since_us,
            .limit = l.limit,
            .after = pgc != NULL && *pgc ? pgc : NULL,
        };
        if ((rc = pg_lists_audit(session_pg(s), &q, &pg_rows, &pg_next, err)) != STATUS_OK)
            goto out;
    } else {
        pg_rows = json_array();
    }
    if (!rd_done && command_arg(cmd, a, "--search") == NULL) {
        if ((rc = redis_audit_list(rconn, config_str(s->cfg, OPTION_DLQ_PREFIX),
                                   rdc != NULL && *rdc ? rdc : NULL, l.limit,
                                   command_arg(cmd, a, "--operator"),
                                   command_arg(cmd, a, "--action"), l.since_us, &rd_rows,
                                   &rd_done, err)) != STATUS_OK)
            goto out;
    } else {
        rd_rows = json_array();
        rd_done = true;
    }

    /* Merge newest first; both sources write "at" as ISO 8601 UTC with
     * microseconds, which sorts as text. */
    size_t ip = 0, ir = 0, np = json_array_size(pg_rows), nr = json_array_size(rd_rows);
    const json_t *last_pg = NULL, *last_rd = NULL;
    while (json_array_size(rows) < l.limit && (ip < np || ir < nr)) {
        const json_t *p = ip < np ? json_array_get(pg_rows, ip) : NULL;
        const json_t *r = ir < nr ? json_array_get(rd_rows, ir) : NULL;
        const char *pa = p ? json_string_value(json_object_get(p, "at")) : NULL;
        const char *ra = r ? json_string_value(json_object_get(r, "at")) : NULL;
        if (p != NULL && (r == NULL || strcmp(pa ? pa : "", ra ? ra : "") >= 0)) {
            json_array_append(rows, (json_t *)p);
            last_pg = p;
            ip++;
        } else {
            json_array_append(rows, (json_t *)r);
            last_rd = r;
            ir++;
        }
    }
    bool pg_end = pg_done || (ip == np && pg_next == NULL);
    bool rd_end = rd_done && ir == nr;
    if (!pg_end || !rd_end) {
        char *pgpart = pg_end ? xstrdup("x")
                       : last_pg != NULL ? pg_lists_audit_cursor(last_pg)
                                         : xstrdup(pgc != NULL ? pgc : "");
        const char *rid = last_rd != NULL ? json_string_value(json_object_get(last_rd, "audit_id"))
                                          : NULL;
        char *rdpart = rd_end ? xstrdup("x") : xstrdup(rid != NULL ? rid : rdc != NULL ? rdc : "");
        next = xasprintf("m1.%s.%s", pgpart != NULL ? pgpart : "x", rdpart);
        free(rdpart);
        free(pgpart);
    }
    *out_rows = rows;
    *out_next = next;
    rows = NULL;
    next = NULL;
out:
    json_decref(rows);
    json_decref(pg_rows);
    json_decref(rd_rows);
    free(next);
    free(pg_next);
    free(rdc);
    free(pgc);
    return rc;
}

const struct command cmd_audit_list_entry = {
    .name = "audit list",
    .usage = "[--operator O] [--action A] [--since DUR]",
    .summary = "operator actions on both stores, newest first",
    .help = "Lists every operator action newest first: the PostgreSQL audit log and the Redis "
            "audit stream of DLQ and circuit actions, merged by time: who, from where, when, "
            "what, target, reason and outcome. --search reads the PostgreSQL log only.",
    .opts = cmd_audit_list_flags,
    .max_args = 0,
    .run = listing_run,
    .fetch = cmd_audit_list_fetch,
    .cols = cmd_audit_cols,
    .ncols = sizeof(cmd_audit_cols) / sizeof(cmd_audit_cols[0]),
    .id_field = "audit_id",
};
