/* The DLQ view: dead-lettered events newest first, paged over millions
 * with the store's cursor, and the original event pretty-printed
 * (redacted) in the detail. */
#include <config.h>

#include <string.h>

#include "tui/list.h"

static const struct list_col view_dlq_cols[] = {
    {"FAILED", "failed_at", LIST_TIME, 14, 0},
    {"REASON", "failure_reason", LIST_TEXT, 18, 0},
    {"STATUS", "status", LIST_TEXT, 14, 0},
    {"SOURCE", "source_service", LIST_TEXT, 16, 100},
    {"QUEUE", "original_queue", LIST_TEXT, 16, 110},
    {"RETRY", "retry_count", LIST_INT, 5, 130},
    {"EVENT", "event_id", LIST_TEXT, 20, 0},
    {"ERROR", "error_message", LIST_TEXT, 20, 150},
};

static enum theme_role view_dlq_cell_role(const struct list_col *col, const json_t *row,
                                          int64_t now_us)
{
    (void)now_us;
    if (strcmp(col->field, "status") != 0)
        return ROLE_COUNT;
    const char *s = json_string_value(json_object_get(row, "status"));
    if (s == NULL)
        return ROLE_COUNT;
    if (strcmp(s, "pending_review") == 0)
        return ROLE_STATUS_FAILED;
    if (strcmp(s, "retried") == 0)
        return ROLE_STATUS_WARN;
    if (strcmp(s, "resolved") == 0)
        return ROLE_STATUS_OK;
    return ROLE_DIM;
}

static const struct list_spec view_dlq_spec = {
    .verb = "dlq list",
    .lane = WORKER_LANE_REDIS,
    .cols = view_dlq_cols,
    .ncols = sizeof(view_dlq_cols) / sizeof(view_dlq_cols[0]),
    .empty = "The dead-letter queue is empty.",
    .cell_role = view_dlq_cell_role,
};

const struct view_ops view_dlq_ops = LIST_VIEW_OPS("dlq", "DLQ", "DLQ", &view_dlq_spec);
