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

/* Migrations may build indexes on large tables: their bodies get an hour.
 * Every other statement of a migration keeps the command timeout, so that
 * a server freezing there is given up on as quickly as anywhere else. */
#define MIGRATE_BODY_MS (3600 * 1000)

/* How long a migrate waits for another one of the same schema to finish
 * before giving up; the server's lock_timeout during that wait. */
#define MIGRATE_LOCK_WAIT_MS (60 * 1000)

/* What a lock_timeout (55P03) anywhere else means. */
#define MIGRATE_TABLE_LOCKED "a table is locked by another session; try again when it is free"

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

/* The bookkeeping every migration transaction runs once it holds the
 * lock; it needs the rights to create the schema and a table in it. */
static char *pg_migrate_prologue(const char *schema)
{
    return xasprintf("CREATE SCHEMA IF NOT EXISTS %s;"
                     "CREATE TABLE IF NOT EXISTS %s.schema_migrations ("
                     " version integer PRIMARY KEY,"
                     " name text NOT NULL,"
                     " checksum text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now(),"
                     " applied_by text NOT NULL DEFAULT session_user);"
                     "SELECT 1",
                     schema, schema);
}

/* pg_conn_query with the client deadline raised by extra_ms for this one
 * statement. A lock wait that timed out (55P03) gets locked_by in front of
 * the server's message, to say who is in the way. */
static PGresult *pg_migrate_query(struct pg_conn *c, int64_t extra_ms, const char *sql, int nparams,
                                  const char *const *params, const char *locked_by, char state[6],
                                  struct error *err)
{
    int64_t normal = pg_conn_set_command_timeout(c, pg_conn_command_timeout(c) + extra_ms);
    PGresult *res = pg_conn_query(c, sql, nparams, params, state, err);
    pg_conn_set_command_timeout(c, normal);
    if (res == NULL && strcmp(state, "55P03") == 0)
        error_prefix(err, "%s: ", locked_by);
    return res;
}

static enum status pg_migrate_exec(struct pg_conn *c, int64_t extra_ms, const char *sql,
                                   int nparams, const char *const *params, const char *locked_by,
                                   struct error *err)
{
    char state[6];
    PGresult *res = pg_migrate_query(c, extra_ms, sql, nparams, params, locked_by, state, err);
    if (res == NULL)
        return err->status;
    PQclear(res);
    return STATUS_OK;
}

/* Applies m in a transaction of its own, unless it is recorded already. In
 * order: remember the session's timeouts; wait for the schema's advisory
 * lock, which serialises two migrates, with the statement timeout lifted
 * and a lock_timeout of MIGRATE_LOCK_WAIT_MS; restore the timeouts, so that
 * the bookkeeping and the body's table locks fail as fast as any other
 * statement; create the schema and schema_migrations; look again whether m
 * is recorded (another migrate may have applied it while we waited); run
 * the body without a statement timeout and with a client deadline of
 * MIGRATE_BODY_MS; record it; commit. */
static enum status pg_migrate_one(struct pg_conn *c, const char *schema,
                                  const struct pg_migration *m, bool *did, struct error *err)
{
    char version[16], sum[17], span[32], locked_by[160], state[6];
    char *wait = xasprintf("SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = %d",
                           MIGRATE_LOCK_WAIT_MS);
    char *lock = xasprintf("SELECT pg_advisory_xact_lock(hashtext('opsdeck.migrate.%s'))", schema);
    char *prologue = pg_migrate_prologue(schema);
    char *check = xasprintf("SELECT 1 FROM %s.schema_migrations WHERE version = $1", schema);
    char *record = xasprintf("INSERT INTO %s.schema_migrations (version, name, checksum) "
                             "VALUES ($1, $2, $3)", schema);
    char *body = pg_migrate_expand(m->sql, schema);
    enum status rc;
    PGresult *saved = NULL, *res = NULL;

    *did = false;
    snprintf(version, sizeof(version), "%d", m->version);
    pg_migrate_checksum(m->sql, sum);
    snprintf(locked_by, sizeof(locked_by),
             "another migrate of schema %s holds the migration lock (waited %s); try again "
             "when it has finished",
             schema, time_format_span(MIGRATE_LOCK_WAIT_MS, span, sizeof(span)));

    saved = pg_migrate_query(c, 0,
                             "BEGIN; SELECT current_setting('statement_timeout'), "
                             "current_setting('lock_timeout')",
                             0, NULL, MIGRATE_TABLE_LOCKED, state, err);
    if (saved == NULL || PQntuples(saved) != 1) {
        rc = saved == NULL ? err->status
                           : error_set(err, STATUS_UNAVAILABLE, "postgres: no session settings");
        goto rollback;
    }
    /* A statement of its own: servers before 13 time a multi-statement
     * query as one, with the statement_timeout it started with. */
    rc = pg_migrate_exec(c, 0, wait, 0, NULL, MIGRATE_TABLE_LOCKED, err);
    if (rc == STATUS_OK)
        rc = pg_migrate_exec(c, MIGRATE_LOCK_WAIT_MS, lock, 0, NULL, locked_by, err);
    if (rc != STATUS_OK)
        goto rollback;
    const char *tp[2] = {PQgetvalue(saved, 0, 0), PQgetvalue(saved, 0, 1)};
    rc = pg_migrate_exec(c, 0,
                         "SELECT set_config('statement_timeout', $1, true), "
                         "set_config('lock_timeout', $2, true)",
                         2, tp, MIGRATE_TABLE_LOCKED, err);
    if (rc != STATUS_OK)
        goto rollback;
    rc = pg_migrate_exec(c, 0, prologue, 0, NULL, MIGRATE_TABLE_LOCKED, err);
    if (rc != STATUS_OK)
        goto rollback;
    const char *vp[1] = {version};
    res = pg_migrate_query(c, 0, check, 1, vp, MIGRATE_TABLE_LOCKED, state, err);
    if (res == NULL) {
        rc = err->status;
        goto rollback;
    }
    if (PQntuples(res) > 0) {
        rc = pg_migrate_exec(c, 0, "COMMIT", 0, NULL, MIGRATE_TABLE_LOCKED, err);
        goto out;
    }
    rc = pg_migrate_exec(c, 0, "SET LOCAL statement_timeout = 0", 0, NULL, MIGRATE_TABLE_LOCKED,
                         err);
    if (rc == STATUS_OK)
        rc = pg_migrate_exec(c, MIGRATE_BODY_MS, body, 0, NULL, MIGRATE_TABLE_LOCKED, err);
    if (rc != STATUS_OK) {
        error_prefix(err, "migration %s: ", m->name);
        goto rollback;
    }
    const char *rp[3] = {version, m->name, sum};
    rc = pg_migrate_exec(c, 0, record, 3, rp, MIGRATE_TABLE_LOCKED, err);
    if (rc != STATUS_OK)
        goto rollback;
    rc = pg_migrate_exec(c, 0, "COMMIT", 0, NULL, MIGRATE_TABLE_LOCKED, err);
    *did = rc == STATUS_OK;
    goto out;
rollback: {
    /* After a lost connection the breaker makes this fail at once. */
    struct error ignored;
    pg_conn_exec(c, "ROLLBACK", 0, NULL, &ignored);
}
out:
    if (res != NULL)
        PQclear(res);
    if (saved != NULL)
        PQclear(saved);
    free(body);
    free(record);
    free(check);
    free(prologue);
    free(lock);
    free(wait);
    return rc;
}

static bool pg_migrate_missing_table(const char *sqlstate)
{
    /* undefined_table, invalid_schema_name: nothing applied yet */
    return strcmp(sqlstate, "42P01") == 0 || strcmp(sqlstate, "3F000") == 0;
}

/* Counts the embedded migrations schema_migrations does not record, with
 * one read that needs no right but SELECT on it and takes no lock, so that
 * an up-to-date schema needs no write right at all. A missing schema or
 * table means all are pending; so does a table this role may not read:
 * applying them then reports the rights that are missing. */
static enum status pg_migrate_pending(struct pg_conn *c, const char *schema, size_t *pending,
                                      struct error *err)
{
    char state[6];
    char *sql = xasprintf("SELECT version FROM %s.schema_migrations", schema);
    PGresult *res = pg_migrate_query(c, 0, sql, 0, NULL, MIGRATE_TABLE_LOCKED, state, err);
    free(sql);
    *pending = pg_migrations_count;
    if (res == NULL) {
        if (!pg_migrate_missing_table(state) && strcmp(state, "42501") != 0)
            return err->status;
        error_clear(err);
        return STATUS_OK;
    }
    for (size_t i = 0; i < pg_migrations_count; i++) {
        for (int r = 0; r < PQntuples(res); r++) {
            if (pg_value_int(res, r, 0) == pg_migrations[i].version) {
                (*pending)--;
                break;
            }
        }
    }
    PQclear(res);
    return STATUS_OK;
}

enum status pg_migrate_apply(struct pg_conn *c, const char *schema, int *applied,
                             struct error *err)
{
    size_t pending = 0;
    enum status rc;

    *applied = 0;
    rc = pg_migrate_pending(c, schema, &pending, err);
    for (size_t i = 0; rc == STATUS_OK && pending > 0 && i < pg_migrations_count; i++) {
        bool did;
        rc = pg_migrate_one(c, schema, &pg_migrations[i], &did, err);
        *applied += did;
    }
    return rc;
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
