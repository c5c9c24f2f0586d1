/* Schema migrations: numbered SQL files compiled into the binary, each
 * applied in its own transaction under an advisory lock and recorded in
 * <schema>.schema_migrations, so running them twice is safe. */
#ifndef OPSDECK_BACKENDS_PG_MIGRATE_H
#define OPSDECK_BACKENDS_PG_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/pg_conn.h"
#include "util/status.h"

struct pg_migration {
    int version;
    const char *name; /* "001_core" */
    const char *sql;  /* with @schema@ placeholders */
};

/* The embedded migrations, ordered by version (generated file). */
extern const struct pg_migration pg_migrations[];
extern const size_t pg_migrations_count;

struct pg_migration_state {
    int version;
    char name[64];
    bool known;          /* this binary carries it */
    bool applied;
    bool checksum_ok;    /* applied text equals the embedded text */
    int64_t applied_at_us;
    char applied_by[64];
};

/* Applies every pending migration to schema; *applied receives how many
 * were applied now. Stops at the first failure (that migration is rolled
 * back, earlier ones stay). With nothing pending it only reads; otherwise
 * it needs rights to create the schema, its objects and roles. */
enum status pg_migrate_apply(struct pg_conn *c, const char *schema, int *applied,
                             struct error *err);

/* Fills out (caller frees with free()) with the embedded migrations and
 * any applied ones this binary does not know, ordered by version. */
enum status pg_migrate_status(struct pg_conn *c, const char *schema,
                              struct pg_migration_state **out, size_t *count, struct error *err);

/* The highest applied version, 0 when the schema has none. */
enum status pg_migrate_current(struct pg_conn *c, const char *schema, int *version,
                               struct error *err);

/* The highest version this binary carries. */
int pg_migrate_latest(void);

#endif
