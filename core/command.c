/* The command table and lookups over it. */
#include <config.h>

#include <string.h>

#include "core/command.h"

extern const struct command cmd_status_entry;
extern const struct command cmd_migrate_entry;
extern const struct command cmd_config_entry;
extern const struct command cmd_stores_start_entry;
extern const struct command cmd_stores_stop_entry;
extern const struct command cmd_stores_env_entry;
extern const struct command cmd_help_entry;
extern const struct command cmd_sim_entry;
extern const struct command cmd_demo_entry;
extern const struct command cmd_sagas_list_entry;
extern const struct command cmd_sagas_show_entry;
extern const struct command cmd_approvals_list_entry;
extern const struct command cmd_approvals_show_entry;
extern const struct command cmd_schedules_list_entry;
extern const struct command cmd_schedules_show_entry;
extern const struct command cmd_audit_list_entry;
extern const struct command cmd_approve_entry;
extern const struct command cmd_reject_entry;
extern const struct command cmd_sagas_abort_entry;
extern const struct command cmd_sagas_retry_entry;
extern const struct command cmd_schedules_pause_entry;
extern const struct command cmd_schedules_resume_entry;
extern const struct command cmd_schedules_trigger_entry;
extern const struct command cmd_schedules_backfill_entry;
extern const struct command cmd_dlq_list_entry;
extern const struct command cmd_dlq_show_entry;
extern const struct command cmd_dlq_stats_entry;
extern const struct command cmd_dlq_export_entry;
extern const struct command cmd_dlq_replay_entry;
extern const struct command cmd_dlq_resolve_entry;
extern const struct command cmd_dlq_delete_entry;
extern const struct command cmd_circuits_reset_entry;
extern const struct command cmd_circuits_force_open_entry;
extern const struct command cmd_circuits_release_entry;
extern const struct command cmd_circuits_list_entry;
extern const struct command cmd_circuits_show_entry;

static const struct command *const command_rows[] = {
    &cmd_status_entry,
    &cmd_migrate_entry,
    &cmd_config_entry,
    &cmd_sagas_list_entry,
    &cmd_sagas_show_entry,
    &cmd_sagas_abort_entry,
    &cmd_sagas_retry_entry,
    &cmd_approvals_list_entry,
    &cmd_approvals_show_entry,
    &cmd_approve_entry,
    &cmd_reject_entry,
    &cmd_schedules_list_entry,
    &cmd_schedules_show_entry,
    &cmd_schedules_pause_entry,
    &cmd_schedules_resume_entry,
    &cmd_schedules_trigger_entry,
    &cmd_schedules_backfill_entry,
    &cmd_dlq_list_entry,
    &cmd_dlq_show_entry,
    &cmd_dlq_stats_entry,
    &cmd_dlq_export_entry,
    &cmd_dlq_replay_entry,
    &cmd_dlq_resolve_entry,
    &cmd_dlq_delete_entry,
    &cmd_circuits_list_entry,
    &cmd_circuits_show_entry,
    &cmd_circuits_reset_entry,
    &cmd_circuits_force_open_entry,
    &cmd_circuits_release_entry,
    &cmd_audit_list_entry,
    &cmd_demo_entry,
    &cmd_sim_entry,
    &cmd_stores_start_entry,
    &cmd_stores_stop_entry,
    &cmd_stores_env_entry,
    &cmd_help_entry,
};

#define COMMAND_COUNT (sizeof(command_rows) / sizeof(command_rows[0]))

const struct command *const *command_table(size_t *count)
{
    *count = COMMAND_COUNT;
    return command_rows;
}

/* Does name consist of exactly words[0..k)? */
static bool command_matches(const char *name, const char *const *words, size_t k)
{
    const char *p = name;
    for (size_t i = 0; i < k; i++) {
        size_t len = strlen(words[i]);
        if (strncmp(p, words[i], len) != 0)
            return false;
        p += len;
        if (i + 1 < k) {
            if (*p != ' ')
                return false;
            p++;
        }
    }
    return *p == '\0';
}

const struct command *command_named(const char *name)
{
    size_t n;
    const struct command *const *rows = command_table(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i]->name, name) == 0)
            return rows[i];
    return NULL;
}

const struct command *command_find(const char *const *words, size_t n, size_t *used)
{
    for (size_t k = n < 3 ? n : 3; k > 0; k--) {
        for (size_t i = 0; i < COMMAND_COUNT; i++) {
            if (command_matches(command_rows[i]->name, words, k)) {
                *used = k;
                return command_rows[i];
            }
        }
    }
    *used = 0;
    return NULL;
}

bool command_is_group(const char *word)
{
    size_t len = strlen(word);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strncmp(command_rows[i]->name, word, len) == 0 && command_rows[i]->name[len] == ' ')
            return true;
    return false;
}

int command_flag_index(const struct command *cmd, const char *name)
{
    if (cmd->opts == NULL)
        return -1;
    for (int i = 0; cmd->opts[i].name != NULL && i < COMMAND_FLAGS_MAX; i++)
        if (strcmp(cmd->opts[i].name, name) == 0)
            return i;
    return -1;
}

const char *command_arg(const struct command *cmd, const struct command_args *a,
                        const char *name)
{
    int i = command_flag_index(cmd, name);
    return i < 0 ? NULL : a->value[i];
}

bool command_writes(const struct command *cmd, const struct command_args *a)
{
    if (!(cmd->flags & COMMAND_WRITES))
        return false;
    return cmd->reads_with == NULL || command_arg(cmd, a, cmd->reads_with) == NULL;
}
