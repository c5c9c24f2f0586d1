/* The Circuits view: the registered breakers a page at a time, open ones
 * first, with their states coloured. */
#include <config.h>

#include <string.h>

#include "tui/list.h"

static const struct list_col view_circuits_cols[] = {
    {"CIRCUIT", "name", LIST_TEXT, 24, 0},
    {"STATE", "state", LIST_TEXT, 10, 0},
    {"FORCED", "forced_state", LIST_TEXT, 8, 0},
    {"FAILS", "failure_count", LIST_INT, 6, 0},
    {"RATE", "failure_rate", LIST_RATE, 5, 0},
    {"LAST FAILURE", "last_failure_time", LIST_TIME, 14, 0},
    {"LAST SUCCESS", "last_success_time", LIST_TIME, 14, 100},
};

static enum theme_role view_circuits_cell_role(const struct list_col *col, const json_t *row,
                                               int64_t now_us)
{
    (void)now_us;
    if (strcmp(col->field, "state") != 0 && strcmp(col->field, "forced_state") != 0)
        return ROLE_COUNT;
    const char *s = json_string_value(json_object_get(row, col->field));
    if (s == NULL)
        return ROLE_COUNT;
    if (strcmp(s, "open") == 0)
        return ROLE_CIRCUIT_OPEN;
    if (strcmp(s, "half_open") == 0)
        return ROLE_CIRCUIT_HALF_OPEN;
    if (strcmp(s, "closed") == 0)
        return ROLE_CIRCUIT_CLOSED;
    return ROLE_COUNT;
}

static const struct list_spec view_circuits_spec = {
    .verb = "circuits list",
    .lane = WORKER_LANE_REDIS,
    .cols = view_circuits_cols,
    .ncols = sizeof(view_circuits_cols) / sizeof(view_circuits_cols[0]),
    .empty = "No circuit breakers registered (circuit_breakers:index is empty).",
    .cell_role = view_circuits_cell_role,
    .poll = true, /* no counter moves with a failure count */
};

const struct view_ops view_circuits_ops =
    LIST_VIEW_OPS("circuits", "Circuits", "Circ", &view_circuits_spec);
