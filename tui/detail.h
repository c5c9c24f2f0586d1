/* The detail pane: one item (a JSON object, already redacted by the
 * caller) laid out as lines and drawn in a window area, scrolled with its
 * own keys. JSON is pretty-printed with roles per token; long strings and
 * big arrays or objects are folded to one line until unfolded. A saga
 * (an object with "steps") leads with its steps as a timeline, each beside
 * its compensation. */
#ifndef OPSDECK_TUI_DETAIL_H
#define OPSDECK_TUI_DETAIL_H

#include <stdbool.h>
#include <stddef.h>

#include <curses.h>
#include <jansson.h>

/* Values longer than this many bytes, and arrays or objects with more than
 * this many members, start folded. */
#define DETAIL_FOLD_BYTES   160
#define DETAIL_FOLD_MEMBERS 12

struct detail_line;

struct detail {
    json_t *item;              /* owned */
    int width;                 /* the width lines were laid out for */
    struct detail_line *lines; /* owned */
    size_t nlines;
    size_t top;      /* first line shown */
    size_t cursor;   /* the line Enter folds or unfolds */
    char **unfolded; /* JSON paths the operator unfolded; owned */
    size_t nunfolded;
    char *title; /* owned: shown on the first line */
};

void detail_init(struct detail *d);
void detail_done(struct detail *d);

/* Shows item (taken; may be NULL for "nothing selected") under title.
 * Unfolded paths are kept when the item has the same title (a refresh of
 * the same item), and reset otherwise. */
void detail_set(struct detail *d, const char *title, json_t *item);

/* Draws the pane into w's area y,x,h,width: the title line, then lines
 * from top. Lays out again when width changed. */
void detail_draw(struct detail *d, WINDOW *w, int y, int x, int h, int width);

/* Handles a key: up/down/j/k move the cursor, PgUp/PgDn/g/G scroll,
 * Enter or space folds or unfolds the value at the cursor. Returns true
 * when the key was used (the pane must be drawn again). */
bool detail_key(struct detail *d, int key, int h);

#endif
