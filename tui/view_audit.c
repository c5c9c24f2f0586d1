/* The Audit view: every operator action on both stores, newest first. */
#include <config.h>

#include <string.h>

#include "tui/list.h"

static const struct list_col view_audit_cols[] = {
    {"AT", "at", LIST_TIME, 14, 0},
    {"OPERATOR", "operator", LIST_TEXT, 10, 0},
    {"ACTION", "action", LIST_TEXT, 14, 0},
    {"OUTCOME", "outcome", LIST_TEXT, 9, 0},
    {"FROM", "client_host", LIST_TEXT, 12, 120},
    {"TARGET", "target_id", LIST_TEXT, 18, 0},
    {"REASON", "reason", LIST_TEXT, 20, 110},
};

static enum theme_role view_audit_cell_role(const struct list_col *col, const json_t *row,
                                            int64_t now_us)
{
    (void)now_us;
    if (strcmp(col->field, "outcome") != 0)
        return ROLE_COUNT;
    const char *s = json_string_value(json_object_get(row, "outcome"));
    if (s == NULL)
        return ROLE_COUNT;
    return strcmp(s, "ok") == 0 ? ROLE_STATUS_OK : ROLE_STATUS_FAILED;
}

static const struct list_spec view_audit_spec = {
    .verb = "audit list",
    .lane = WORKER_LANE_BOTH,
    .cols = view_audit_cols,
    .ncols = sizeof(view_audit_cols) / sizeof(view_audit_cols[0]),
    .empty = "No operator actions recorded yet.",
    .cell_role = view_audit_cell_role,
};

const struct view_ops view_audit_ops = LIST_VIEW_OPS("audit", "Audit", "Audit", &view_audit_spec);
