/* A view is an object: a const ops struct (open, refresh, reply, draw,
 * act, close) and a private state behind it. The console holds one per tab
 * and talks to the current one only through these ops. */
#ifndef OPSDECK_TUI_VIEW_H
#define OPSDECK_TUI_VIEW_H

#include <stdbool.h>

#include <curses.h>

#include "core/worker.h"
#include "tui/keys.h"

struct tui;
struct view;
struct list_spec;

/* What a handler asks of the loop; handlers never draw. */
#define REACT_NONE    0u
#define REACT_REDRAW  (1u << 0) /* draw the screen again */
#define REACT_REFETCH (1u << 1) /* ask the store again for what is visible */
#define REACT_QUIT    (1u << 2)
#define REACT_UNUSED  (1u << 3) /* the view did not use the key; the console may */

struct view_ops {
    const char *name;             /* "dlq": the `:` command and tab id */
    const char *title;            /* "DLQ" */
    const char *short_title;      /* for narrow terminals: "DLQ" */
    unsigned keys;                /* KEYS_VIEW_* groups this view answers, for help and hints */
    const struct list_spec *list; /* list views: what tui/list.c needs; NULL otherwise */
    void *(*open)(struct view *v, struct tui *t);
    void (*close)(void *state);
    /* Submits the fetches for what the view shows now. */
    void (*reload)(struct view *v, struct tui *t);
    /* A reply for one of the view's slots; taken. Returns REACT_*. */
    unsigned (*reply)(struct view *v, struct tui *t, struct worker_reply *r);
    /* Draws into stdscr's area y,x,h,w. */
    void (*draw)(struct view *v, struct tui *t, WINDOW *win, int y, int x, int h, int w);
    /* One key action; REACT_UNUSED when not the view's. */
    unsigned (*act)(struct view *v, struct tui *t, enum keys_action a);
    /* Sets the filter from text (the `/` line or `:dlq FILTER`); false with
     * a message on the console's message line when it does not parse. */
    bool (*filter)(struct view *v, struct tui *t, const char *text);
    /* True when the view's data came from lane's store (a change there
     * should refetch it). */
    bool (*uses)(const struct view *v, enum worker_lane lane);
    /* Seconds until the view's drawing changes by itself (countdowns), 0
     * for never. */
    int (*ticks)(const struct view *v);
};

struct view {
    const struct view_ops *ops;
    void *state;
    unsigned slot_base; /* the view's worker slots are slot_base + 0..7 */
};

extern const struct view_ops view_overview_ops;
extern const struct view_ops view_sagas_ops;
extern const struct view_ops view_approvals_ops;
extern const struct view_ops view_dlq_ops;
extern const struct view_ops view_schedules_ops;
extern const struct view_ops view_circuits_ops;
extern const struct view_ops view_audit_ops;

#endif
