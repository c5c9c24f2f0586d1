/* The Approvals view: pending first and most urgent first (the store's
 * order), with countdowns to the due time and overdue ones highlighted. */
#include <config.h>

#include <string.h>

#include "tui/list.h"
#include "util/timeutil.h"

static const struct list_col view_approvals_cols[] = {
    {"DUE", "due_at", LIST_DUE, 15, 0},
    {"STATUS", "status", LIST_TEXT, 9, 0},
    {"TITLE", "title", LIST_TEXT, 24, 0},
    {"GROUP", "assignee_group", LIST_TEXT, 12, 100},
    {"ESCALATES", "escalate_at", LIST_DUE, 15, 110},
    {"REQUESTED", "requested_at", LIST_TIME, 14, 130},
    {"APPROVAL", "approval_id", LIST_TEXT, 16, 0},
};

static enum theme_role view_approvals_row_role(const json_t *row, int64_t now_us)
{
    const char *status = json_string_value(json_object_get(row, "status"));
    if (status == NULL || strcmp(status, "pending") != 0)
        return ROLE_DIM;
    int64_t due;
    const char *at = json_string_value(json_object_get(row, "due_at"));
    if (at == NULL || !time_parse_iso(at, &due))
        return ROLE_DEFAULT;
    if (due <= now_us)
        return ROLE_APPROVAL_OVERDUE;
    if (due - now_us <= INT64_C(3600000000))
        return ROLE_APPROVAL_DUE_SOON;
    return ROLE_DEFAULT;
}

static const struct list_spec view_approvals_spec = {
    .verb = "approvals list",
    .lane = WORKER_LANE_PG,
    .cols = view_approvals_cols,
    .ncols = sizeof(view_approvals_cols) / sizeof(view_approvals_cols[0]),
    .empty = "No approvals.",
    .row_role = view_approvals_row_role,
    .ticks = 1,
};

const struct view_ops view_approvals_ops =
    LIST_VIEW_OPS("approvals", "Approvals", "Appr", &view_approvals_spec);
