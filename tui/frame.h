/* The console's frame around the current view: the header with each
 * backend's health, the view tabs with their badges, the key-hint bar, the
 * help screen generated from the key and command tables, and the "too
 * small" screen. Drawing only; the data comes from tui/tui.c. */
#ifndef OPSDECK_TUI_FRAME_H
#define OPSDECK_TUI_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curses.h>

#include "tui/theme.h"

/* The smallest screen the console draws in. */
#define FRAME_MIN_COLS 60
#define FRAME_MIN_ROWS 16

struct frame_tab {
    const char *title;
    const char *short_title;
    int64_t badge; /* shown when > 0 */
    bool alert;    /* the badge passed its alert threshold */
};

struct frame_health {
    const char *name; /* "pg", "redis" */
    char text[128];   /* "up", "down since 23:41:02, retry in 3s" */
    enum theme_role role;
};

/* Line 0: "opsdeck · PROFILE · OPERATOR [· MODE]" (MODE: "read-only",
 * "viewer"; NULL for none) and the health of each backend on the right. */
void frame_header(WINDOW *w, int width, const char *profile, const char *operator_,
                  const char *mode, const struct frame_health *health, size_t nhealth);

/* The tabs "1 Overview  2 Sagas  3 Approvals 4 ..." at y; short titles
 * when the long ones do not fit. */
void frame_tabs(WINDOW *w, int y, int width, const struct frame_tab *tabs, size_t n, size_t cur);

/* The key hints of the given key groups at y, the view's action keys
 * first unless read_only. */
void frame_hints(WINDOW *w, int y, int width, unsigned groups, const char *view, bool read_only);

/* The help screen over y..y+h: every key of groups with its action's help,
 * then the `:` commands. read_only, when not NULL, says why the view's
 * action keys are off, instead of listing them. *top scrolls (clamped
 * here). */
void frame_help(WINDOW *w, int y, int h, int width, unsigned groups, const char *view_title,
                const char *view, const char *read_only, size_t *top);

/* The whole screen when it is smaller than FRAME_MIN_COLS x FRAME_MIN_ROWS. */
void frame_too_small(WINDOW *w, int rows, int cols);

#endif
