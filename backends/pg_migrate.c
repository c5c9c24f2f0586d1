/* Applies and reports the embedded schema migrations. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/pg_internal.h"
#include "backends/pg_migrate.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

/* Migrations may build indexes on large tables: they get an hour. */
#define MIGRATE_TIMEOUT_MS (3600 * 1000)

static void pg_migrate_checksum(const char *sql, char out[17])
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a 64 */
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static char *pg_migrate_expand(const char *sql, const char *schema)
{
    struct buf b;
    const char *p = sql, *hit;
    buf_init(&b);
    while ((hit = strstr(p, "@schema@")) != NULL) {
        buf_add(&b, p, (size_t)(hit - p));
        buf_adds(&b, schema);
        p = hit + strlen("@schema@");
    }
    buf_adds(&b, p);
    return buf_take(&b);
}

int pg_migrate_latest(void)
{
    return pg_migrations_count > 0 ? pg_migrations[pg_migrations_count - 1].version : 0;
}

/* The bookkeeping every migration transaction starts with; the advisory
 * lock serialises two operators migrating at once. */
static char *pg_migrate_prologue(const char *schema)
{
    return xasprintf("BEGIN;"
                     "SET LOCAL statement_timeout = 0;"
                     "SELECT pg_advisory_xact_lock(hashtext('opsdeck.migrate.%s'));"
                     "CREATE SCHEMA IF NOT EXISTS %s;"
                     "CREATE TABLE IF NOT EXISTS %s.schema_migrations ("
                     " version integer PRIMARY KEY,"
                     " name text NOT NULL,"
                     " checksum text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now(),"
                     " applied_by text NOT NULL DEFAULT session_user);"
                     "SELECT 1",
                     schema, schema, schema);
}

static enum status pg_migrate_one(struct pg_conn *c, const char *schema,
                                  const struct pg_migration *m, bool *did, struct error *err)
{
    char version[16], sum[17];
    char *prologue = pg_migrate_prologue(schema);
    char *check = xasprintf("SELECT 1 FROM %s.schema_migrations WHERE version = $1", schema);
    char *record = xasprintf("INSERT INTO %s.schema_migrations (version, name, checksum) "
                             "VALUES ($1, $2, $3)", schema);
    char *body = pg_migrate_expand(m->sql, schema);
    enum status rc;
    PGresult *res = NULL;

    *did = false;
    snprintf(version, sizeof(version), "%d", m->version);
    pg_migrate_checksum(m->sql, sum);
    rc = pg_conn_exec(c, prologue, 0, NULL, err);
    if (rc != STATUS_OK)
        goto out;
    const char *vp[1] = {version};
    res = pg_conn_query(c, check, 1, vp, NULL, err);
    if (res == NULL) {
        rc = err->status;
        goto rollback;
    }
    if (PQntuples(res) > 0) {
        rc = pg_conn_exec(c, "COMMIT", 0, NULL, err);
        goto out;
    }
    rc = pg_conn_exec(c, body, 0, NULL, err);
    if (rc != STATUS_OK) {
        error_prefix(err, "migration %s: ", m->name);
        goto rollback;
    }
    const char *rp[3] = {version, m->name, sum};
    rc = pg_conn_exec(c, record, 3, rp, err);
    if (rc != STATUS_OK)
        goto rollback;
    rc = pg_conn_exec(c, "COMMIT", 0, NULL, err);
    *did = rc == STATUS_OK;
    goto out;
rollback: {
    struct error ignored;
    pg_conn_exec(c, "ROLLBACK", 0, NULL, &ignored);
}
out:
    if (res != NULL)
        PQclear(res);
    free(body);
    free(record);
    free(check);
    free(prologue);
    return rc;
}

enum status pg_migrate_apply(struct pg_conn *c, const char *schema, int *applied,
                             struct error *err)
{
    enum status rc = STATUS_OK;
    int64_t old = pg_conn_set_command_timeout(c, MIGRATE_TIMEOUT_MS);

    *applied = 0;
    for (size_t i = 0; i < pg_migrations_count; i++) {
        bool did;
        rc = pg_migrate_one(c, schema, &pg_migrations[i], &did, err);
        if (rc != STATUS_OK)
            break;
        *applied += did;
    }
    pg_conn_set_command_timeout(c, old);
    return rc;
}

static bool pg_migrate_missing_table(const char *sqlstate)
{
    /* undefined_table, invalid_schema_name: nothing applied yet */
    return strcmp(sqlstate, "42P01") == 0 || strcmp(sqlstate, "3F000") == 0;
}

enum status pg_migrate_current(struct pg_conn *c, const char *schema, int *version,
                               struct error *err)
{
    char state[6];
    char *sql = xasprintf("SELECT coalesce(max(version), 0) FROM %s.schema_migrations", schema);
    PGresult *res = pg_conn_query(c, sql, 0, NULL, state, err);
    free(sql);
    *version = 0;
    if (res == NULL) {
        if (pg_migrate_missing_table(state)) {
            error_clear(err);
            return STATUS_OK;
        }
        return err->status;
    }
    *version = (int)pg_value_int(res, 0, 0);
    PQclear(res);
    return STATUS_OK;
}

enum status pg_migrate_status(struct pg_conn *c, const char *schema,
                              struct pg_migration_state **out, size_t *count, struct error *err)
{
    char state[6];
    char *sql = xasprintf("SELECT version, name, checksum, "
                          "(extract(epoch FROM applied_at) * 1000000)::bigint, applied_by "
                          "FROM %s.schema_migrations ORDER BY version", schema);
    PGresult *res = pg_conn_query(c, sql, 0, NULL, state, err);
    free(sql);
    if (res == NULL && !pg_migrate_missing_table(state))
        return err->status;
    error_clear(err);

    size_t rows = res != NULL ? (size_t)PQntuples(res) : 0;
    struct pg_migration_state *list = xcalloc(pg_migrations_count + rows, sizeof(*list));
    size_t n = 0;
    for (size_t i = 0; i < pg_migrations_count; i++) {
        struct pg_migration_state *s = &list[n++];
        char sum[17];
        s->version = pg_migrations[i].version;
        snprintf(s->name, sizeof(s->name), "%s", pg_migrations[i].name);
        s->known = true;
        pg_migrate_checksum(pg_migrations[i].sql, sum);
        for (size_t r = 0; r < rows; r++) {
            if (pg_value_int(res, (int)r, 0) != s->version)
                continue;
            s->applied = true;
            s->checksum_ok = strcmp(PQgetvalue(res, (int)r, 2), sum) == 0;
            s->applied_at_us = pg_value_int(res, (int)r, 3);
            snprintf(s->applied_by, sizeof(s->applied_by), "%s", PQgetvalue(res, (int)r, 4));
        }
    }
    for (size_t r = 0; r < rows; r++) {
        int v = (int)pg_value_int(res, (int)r, 0);
        bool known = false;
        for (size_t i = 0; i < pg_migrations_count; i++)
            known |= pg_migrations[i].version == v;
        if (known)
            continue;
        struct pg_migration_state *s = &list[n++];
        s->version = v;
        snprintf(s->name, sizeof(s->name), "%s", PQgetvalue(res, (int)r, 1));
        s->applied = true;
        s->applied_at_us = pg_value_int(res, (int)r, 3);
        snprintf(s->applied_by, sizeof(s->applied_by), "%s", PQgetvalue(res, (int)r, 4));
    }
    if (res != NULL)
        PQclear(res);
    *out = list;
    *count = n;
    return STATUS_OK;
}
