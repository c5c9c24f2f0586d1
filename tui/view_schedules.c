/* The Schedules view: every schedule with its next and last run, paused
 * ones with who paused them and until when. */
#include <config.h>

#include "tui/list.h"

static const struct list_col view_schedules_cols[] = {
    {"SCHEDULE", "schedule_id", LIST_TEXT, 20, 0},
    {"NEXT RUN", "next_run_at", LIST_TIME, 14, 0},
    {"LAST", "last_run_status", LIST_TEXT, 9, 0},
    {"OVERLAP", "overlap_policy", LIST_TEXT, 12, 100},
    {"PAUSED BY", "paused_by", LIST_TEXT, 10, 110},
    {"UNTIL", "resume_at", LIST_TIME, 14, 120},
    {"TYPE", "workflow_type", LIST_TEXT, 16, 0},
};

static enum theme_role view_schedules_row_role(const json_t *row, int64_t now_us)
{
    (void)now_us;
    return json_is_true(json_object_get(row, "paused")) ? ROLE_STATUS_WARN : ROLE_DEFAULT;
}

static const struct list_spec view_schedules_spec = {
    .verb = "schedules list",
    .lane = WORKER_LANE_PG,
    .cols = view_schedules_cols,
    .ncols = sizeof(view_schedules_cols) / sizeof(view_schedules_cols[0]),
    .empty = "No schedules.",
    .row_role = view_schedules_row_role,
};

const struct view_ops view_schedules_ops =
    LIST_VIEW_OPS("schedules", "Schedules", "Sched", &view_schedules_spec);
