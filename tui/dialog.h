/* The action dialog: a box over the view that says exactly what will
 * happen, with text fields (a reason, a time, a confirmation word) and
 * choices (an overlap policy, a rate). Enter goes on, Esc cancels with
 * nothing changed. Drawing and editing only; tui/act.c decides what it
 * asks and what it runs. */
#ifndef OPSDECK_TUI_DIALOG_H
#define OPSDECK_TUI_DIALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>

#include <curses.h>

#include "tui/prompt.h"

#define DIALOG_LINES  10
#define DIALOG_FIELDS 4

enum dialog_result {
    DIALOG_EDITING,
    DIALOG_OK,     /* every field is valid: go on */
    DIALOG_CANCEL, /* Esc: nothing happens */
};

struct dialog_field {
    char *label;        /* owned: "Reason (required)" */
    struct prompt edit; /* text fields */
    bool required;
    char *confirm;              /* owned: the word that must be typed, or NULL */
    const char *const *choices; /* a choice field: borrowed list, NULL for text */
    size_t nchoices, choice;
};

struct dialog {
    bool open;
    char *title;               /* owned */
    char *lines[DIALOG_LINES]; /* owned: what will happen (store text is sanitized
                                * when drawn) */
    size_t nlines;
    struct dialog_field fields[DIALOG_FIELDS];
    size_t nfields;
    size_t focus;
    char error[256]; /* why Enter did not go on */
};

void dialog_init(struct dialog *d);
void dialog_close(struct dialog *d);

/* Starts a dialog under title (replacing any open one). */
void dialog_open(struct dialog *d, const char *title);
void dialog_line(struct dialog *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A text field; confirm non-NULL makes it a confirmation: Enter goes on
 * only when exactly that word was typed. */
void dialog_text(struct dialog *d, const char *label, bool required, const char *confirm);

/* Field i's text, as if typed (a default the operator may edit). */
void dialog_set(struct dialog *d, size_t i, const char *text);

/* A choice field: Left/Right (or Space) cycle through choices. */
void dialog_choice(struct dialog *d, const char *label, const char *const *choices, size_t n,
                   size_t initial);

/* Feeds one key: Tab/Shift-Tab/Down/Up move between fields, Enter on the
 * last field (or any, when all are valid) finishes. */
enum dialog_result dialog_key(struct dialog *d, wint_t ch, bool is_key);

/* Field i's value: heap UTF-8 for text fields (caller frees), or the
 * chosen string (borrowed) for choices. */
char *dialog_value(const struct dialog *d, size_t i);

/* Sets the message shown under the fields (e.g. a value that did not
 * parse). */
void dialog_error(struct dialog *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Draws the box centred in rows x cols. */
void dialog_draw(struct dialog *d, WINDOW *w, int rows, int cols);

#endif
