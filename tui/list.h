/* The list views' shared engine: a page of a list verb fetched through the
 * worker with the view's filter, keyset paging forward and back, the
 * selection kept by id when data moves, columns fitted to the width, and
 * the detail pane (side by side from 120 columns, full screen below). The
 * view files give a spec; these functions are their ops. */
#ifndef OPSDECK_TUI_LIST_H
#define OPSDECK_TUI_LIST_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/worker.h"
#include "tui/theme.h"
#include "tui/view.h"

/* Side by side from this width. */
#define LIST_WIDE_COLS 120

enum list_kind {
    LIST_TEXT, /* a string, cut with an ellipsis */
    LIST_TIME, /* ISO 8601 shown as "11-23 10:03:07" */
    LIST_INT,  /* right-aligned number */
    LIST_DUE,  /* a due time shown as a countdown: "in 42m", "overdue 1h3m" */
    LIST_RATE, /* a fraction shown as a percentage */
};

struct list_col {
    const char *title;
    const char *field;
    enum list_kind kind;
    int width;      /* columns; the last column takes what is left */
    int min_screen; /* shown only when the list is at least this wide (0: always) */
};

struct list_spec {
    const char *verb; /* the list verb's row: "dlq list" */
    enum worker_lane lane;
    const struct list_col *cols;
    size_t ncols;
    const char *empty; /* what an empty list says */
    /* The role of a whole row (status colours, overdue), or ROLE_DEFAULT. */
    enum theme_role (*row_role)(const json_t *row, int64_t now_us);
    /* The role of one cell, or ROLE_COUNT to use the row's. May be NULL. */
    enum theme_role (*cell_role)(const struct list_col *col, const json_t *row, int64_t now_us);
    int ticks; /* seconds between redraws for countdowns; 0 none */
    bool poll; /* read again at every refresh tick while shown: no counter
                * moves with what the rows show */
};

void *list_open(struct view *v, struct tui *t);
void list_close(void *state);
void list_refresh(struct view *v, struct tui *t);
unsigned list_reply(struct view *v, struct tui *t, struct worker_reply *r);
void list_draw(struct view *v, struct tui *t, WINDOW *win, int y, int x, int h, int w);
unsigned list_act(struct view *v, struct tui *t, enum keys_action a);
bool list_filter(struct view *v, struct tui *t, const char *text);
bool list_uses(const struct view *v, enum worker_lane lane);
int list_ticks(const struct view *v);

/* The key groups of a list view whose detail is open or not. */
unsigned list_key_groups(const struct view *v);

/* The filter text shown for the view ("" for none); borrowed. */
const char *list_filter_text(const struct view *v);

/* The rows an action applies to: every marked row (*marked set), else the
 * selected one; a new array (caller releases), empty when there is none. */
json_t *list_targets(const struct view *v, bool *marked);
/* The view's filter (maybe empty). Borrowed. */
const struct filter *list_view_filter(const struct view *v);

/* The view's filter when every row it matches is marked (* twice), for a
 * filter-wide action; NULL when not. Borrowed. */
const struct filter *list_all_matching(const struct view *v);

void list_marks_clear(struct view *v);

/* The row field that names an item ("event_id"). */
const char *list_id_field(const struct view *v);

/* The selected row, and its detail (redacted) when it is loaded; borrowed,
 * NULL when none. */
const json_t *list_selected_row(const struct view *v);
const json_t *list_detail_item(const struct view *v);

/* Ops for a list view: name, titles and spec vary. */
#define LIST_VIEW_OPS(nm, ttl, sttl, spec_)                                                        \
    {                                                                                              \
        .name = nm, .title = ttl, .short_title = sttl, .keys = KEYS_VIEW_LIST, .list = spec_,      \
        .open = list_open, .close = list_close, .reload = list_refresh, .reply = list_reply,       \
        .draw = list_draw, .act = list_act, .filter = list_filter, .uses = list_uses,              \
        .ticks = list_ticks,                                                                       \
    }

#endif
