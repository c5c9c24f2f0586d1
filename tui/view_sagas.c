/* The Sagas view: executions newest first, their status coloured, and the
 * steps as a timeline beside their compensations in the detail. */
#include <config.h>

#include <string.h>

#include "tui/list.h"

static const struct list_col view_sagas_cols[] = {
    {"STARTED", "created_at", LIST_TIME, 14, 0},   {"STATUS", "status", LIST_TEXT, 12, 0},
    {"SAGA", "saga_id", LIST_TEXT, 18, 0},         {"STEP", "current_step", LIST_TEXT, 16, 100},
    {"UPDATED", "updated_at", LIST_TIME, 14, 110}, {"EXECUTION", "execution_id", LIST_TEXT, 20, 0},
    {"ERROR", "error", LIST_TEXT, 20, 140},
};

/* Status colours shared by sagas and steps. */
static enum theme_role view_sagas_role(const char *status)
{
    if (status == NULL)
        return ROLE_DEFAULT;
    if (strcmp(status, "completed") == 0)
        return ROLE_STATUS_OK;
    if (strcmp(status, "running") == 0 || strcmp(status, "pending") == 0)
        return ROLE_STATUS_RUNNING;
    if (strcmp(status, "compensating") == 0 || strcmp(status, "compensated") == 0)
        return ROLE_STATUS_WARN;
    if (strcmp(status, "failed") == 0)
        return ROLE_STATUS_FAILED;
    return ROLE_DEFAULT;
}

static enum theme_role view_sagas_cell_role(const struct list_col *col, const json_t *row,
                                            int64_t now_us)
{
    (void)now_us;
    if (strcmp(col->field, "status") != 0)
        return ROLE_COUNT;
    return view_sagas_role(json_string_value(json_object_get(row, "status")));
}

static const struct list_spec view_sagas_spec = {
    .verb = "sagas list",
    .lane = WORKER_LANE_PG,
    .cols = view_sagas_cols,
    .ncols = sizeof(view_sagas_cols) / sizeof(view_sagas_cols[0]),
    .empty = "No saga executions.",
    .cell_role = view_sagas_cell_role,
};

const struct view_ops view_sagas_ops = LIST_VIEW_OPS("sagas", "Sagas", "Sagas", &view_sagas_spec);
