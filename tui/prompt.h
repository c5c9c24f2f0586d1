/* A one-line editor for the `/` filter and the `:` command line, with the
 * keys that work over SSH (arrows, Home/End, Backspace, Delete, Ctrl-A/E/
 * U/K/W), history and Tab completion through a callback. */
#ifndef OPSDECK_TUI_PROMPT_H
#define OPSDECK_TUI_PROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>

#include <curses.h>

#include "tui/theme.h"

#define PROMPT_MAX 512

enum prompt_result {
    PROMPT_EDITING, /* keep going */
    PROMPT_DONE,    /* Enter: text is final */
    PROMPT_CANCEL,  /* Esc: nothing happens */
};

/* Completes the text before the cursor: fills out (up to max heap strings
 * the prompt frees) with candidates for the word ending at the cursor, and
 * *word_start with where that word starts. Returns how many. */
typedef size_t (*prompt_complete_fn)(void *ctx, const wchar_t *text, size_t cursor,
                                     size_t *word_start, char **out, size_t max);

struct prompt {
    bool active;
    wchar_t lead; /* '/' or ':' */
    wchar_t text[PROMPT_MAX];
    size_t len, cursor;
    prompt_complete_fn complete;
    void *ctx;
    char *hint;     /* owned: candidates shown after a Tab */
    char **history; /* owned: earlier lines, oldest first */
    size_t nhistory;
    size_t hpos; /* position while browsing history */
};

void prompt_init(struct prompt *p);
void prompt_done(struct prompt *p);

/* Starts editing with initial text (UTF-8, may be NULL). */
void prompt_open(struct prompt *p, wchar_t lead, const char *initial, prompt_complete_fn complete,
                 void *ctx);

/* Feeds one key (wint_t from wget_wch; is_key true for KEY_* codes). */
enum prompt_result prompt_key(struct prompt *p, wint_t ch, bool is_key);

/* The text as UTF-8: heap string, caller frees. */
char *prompt_text(const struct prompt *p);

/* The text as UTF-8: heap string, caller frees. Adds it to the history. */
char *prompt_take(struct prompt *p);

/* Draws the line at y,x in width columns (the lead first, unless it is
 * 0), leaving the cursor visible. */
void prompt_draw(struct prompt *p, WINDOW *w, int y, int x, int width, enum theme_role role);

#endif
