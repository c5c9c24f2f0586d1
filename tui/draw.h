/* Drawing text safely: every string goes through the sanitizer, is
 * measured in display columns and drawn with wide-character calls, in a
 * theme role. The one place that turns roles into curses attributes. */
#ifndef OPSDECK_TUI_DRAW_H
#define OPSDECK_TUI_DRAW_H

#include <stdbool.h>
#include <stddef.h>

#include <curses.h>

#include "tui/theme.h"

#define DRAW_PAD   (1u << 0) /* fill the rest of width with blanks in the role */
#define DRAW_RIGHT (1u << 1) /* align right within width */

/* Applies t to the terminal: one colour pair per role when colour is true
 * (start_color must have been called), attributes only otherwise. */
void draw_theme_apply(const struct theme *t, bool colour);

/* The curses attributes (pair included) of role under the applied theme. */
attr_t draw_attr(enum theme_role role);

/* Draws s at y,x in at most width display columns, sanitized (cut with an
 * ellipsis when wider), in role; line breaks show as "\n". Returns the
 * columns drawn (with DRAW_PAD: width). Never draws outside width or the
 * window. s NULL draws nothing (but pads). */
int draw_text(WINDOW *w, int y, int x, int width, const char *s, enum theme_role role,
              unsigned flags);

/* Same for len bytes of s. */
int draw_textn(WINDOW *w, int y, int x, int width, const char *s, size_t len, enum theme_role role,
               unsigned flags);

/* printf into draw_text: for the console's own text built from store
 * values, which are sanitized with the rest. */
int draw_printf(WINDOW *w, int y, int x, int width, enum theme_role role, unsigned flags,
                const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Blanks width columns at y,x in role. */
void draw_fill(WINDOW *w, int y, int x, int width, enum theme_role role);

/* Display width of s after sanitizing. */
int draw_width(const char *s);

/* The console's own symbols: utf8 on a UTF-8 terminal, else ascii (the
 * sanitizer would show a non-ASCII symbol escaped). */
const char *draw_sym(const char *utf8, const char *ascii);
#define DRAW_DOT draw_sym(" · ", " - ")
#define DRAW_ELLIPSIS draw_sym("…", "...")
#define DRAW_MORE draw_sym(" ›", " >")

/* The sanitize flags of this terminal (ASCII-only outside UTF-8 locales),
 * fixed at the first call. */
unsigned draw_sanitize_flags(void);

#endif
