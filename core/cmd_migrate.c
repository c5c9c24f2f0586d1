/* `opsdeck migrate [--status]`: applies the embedded schema migrations, or
 * lists which are applied and which are pending. */
#include <config.h>

#include <stdlib.h>

#include "backends/pg_migrate.h"
#include "core/command.h"
#include "core/out.h"
#include "util/timeutil.h"

static enum status cmd_migrate_status(struct session *s, struct error *err)
{
    struct pg_migration_state *list = NULL;
    size_t n = 0;
    enum status rc = pg_migrate_status(session_pg(s), session_schema(s), &list, &n, err);
    if (rc != STATUS_OK)
        return rc;
    json_t *arr = json_array();
    if (!s->json)
        out_printf(s, "%-8s %-24s %-8s %-21s %s\n", "VERSION", "NAME", "STATE", "APPLIED AT", "BY");
    for (size_t i = 0; i < n; i++) {
        const struct pg_migration_state *m = &list[i];
        const char *state = !m->applied ? "pending"
                            : !m->known ? "unknown"
                            : m->checksum_ok ? "applied" : "changed";
        char at[32] = "";
        if (m->applied)
            time_format_iso(m->applied_at_us, at, sizeof(at));
        if (s->json) {
            json_array_append_new(arr, json_pack("{s:i, s:o, s:s, s:o, s:o}", "version", m->version,
                                                 "name", out_jstr(m->name), "state", state,
                                                 "applied_at", m->applied ? json_string(at) : json_null(),
                                                 "applied_by", m->applied ? out_jstr(m->applied_by) : json_null()));
        } else {
            char *name = out_safe(s, m->name, 24), *by = out_safe(s, m->applied_by, 32);
            out_printf(s, "%-8d %-24s %-8s %-21s %s\n", m->version, name, state,
                       m->applied ? at : "-", m->applied ? by : "-");
            free(by);
            free(name);
        }
    }
    if (s->json)
        out_json(s, json_pack("{s:s, s:i, s:o}", "schema", session_schema(s), "latest",
                              pg_migrate_latest(), "migrations", arr));
    else
        json_decref(arr);
    free(list);
    return STATUS_OK;
}

static enum status cmd_migrate_run(struct session *s, const struct command *cmd,
                                   const struct command_args *a, struct error *err)
{
    int applied = 0, version = 0;
    enum status rc;

    if (command_arg(cmd, a, "--status") != NULL)
        return cmd_migrate_status(s, err);
    rc = pg_migrate_apply(session_pg(s), session_schema(s), &applied, err);
    if (rc == STATUS_OK)
        rc = pg_migrate_current(session_pg(s), session_schema(s), &version, err);
    if (rc != STATUS_OK)
        return rc;
    if (s->json)
        out_json(s, json_pack("{s:s, s:i, s:i}", "schema", session_schema(s), "applied", applied,
                              "version", version));
    else if (applied == 0)
        out_printf(s, "schema %s is up to date at version %d; nothing changed\n",
                   session_schema(s), version);
    else
        out_printf(s, "applied %d migration%s to schema %s; now at version %d\n", applied,
                   applied == 1 ? "" : "s", session_schema(s), version);
    return STATUS_OK;
}

static const struct command_flag cmd_migrate_flags[] = {
    {"--status", NULL, "list applied and pending migrations instead of applying them"},
    {NULL, NULL, NULL},
};

const struct command cmd_migrate_entry = {
    .name = "migrate",
    .usage = "[--status]",
    .summary = "apply the PostgreSQL schema, or list what is applied",
    .help = "Applies every pending migration to the configured schema, each in its own "
            "transaction under an advisory lock, and records it in SCHEMA.schema_migrations; "
            "running it again changes nothing and needs only read rights. Applying needs rights "
            "to create the schema, its objects and the roles opsdeck_viewer and "
            "opsdeck_operator.",
    .flags = COMMAND_WRITES,
    .reads_with = "--status",
    .opts = cmd_migrate_flags,
    .max_args = 0,
    .run = cmd_migrate_run,
};
