/* The action dialog's fields, keys and box. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/dialog.h"
#include "tui/draw.h"
#include "util/xmalloc.h"

void dialog_init(struct dialog *d)
{
    memset(d, 0, sizeof(*d));
}

void dialog_close(struct dialog *d)
{
    free(d->title);
    for (size_t i = 0; i < d->nlines; i++)
        free(d->lines[i]);
    for (size_t i = 0; i < d->nfields; i++) {
        free(d->fields[i].label);
        free(d->fields[i].confirm);
        prompt_done(&d->fields[i].edit);
    }
    memset(d, 0, sizeof(*d));
}

void dialog_open(struct dialog *d, const char *title)
{
    dialog_close(d);
    d->open = true;
    d->title = xstrdup(title);
}

void dialog_line(struct dialog *d, const char *fmt, ...)
{
    if (d->nlines == DIALOG_LINES)
        return;
    va_list ap;
    va_start(ap, fmt);
    d->lines[d->nlines++] = xvasprintf(fmt, ap);
    va_end(ap);
}

void dialog_text(struct dialog *d, const char *label, bool required, const char *confirm)
{
    if (d->nfields == DIALOG_FIELDS)
        return;
    struct dialog_field *f = &d->fields[d->nfields++];
    f->label = xstrdup(label);
    f->required = required;
    f->confirm = confirm != NULL ? xstrdup(confirm) : NULL;
    prompt_init(&f->edit);
    prompt_open(&f->edit, 0, NULL, NULL, NULL);
}

void dialog_set(struct dialog *d, size_t i, const char *text)
{
    if (i >= d->nfields || d->fields[i].choices != NULL)
        return;
    prompt_done(&d->fields[i].edit);
    prompt_init(&d->fields[i].edit);
    prompt_open(&d->fields[i].edit, 0, text, NULL, NULL);
}

void dialog_choice(struct dialog *d, const char *label, const char *const *choices, size_t n,
                   size_t initial)
{
    if (d->nfields == DIALOG_FIELDS || n == 0)
        return;
    struct dialog_field *f = &d->fields[d->nfields++];
    f->label = xstrdup(label);
    f->choices = choices;
    f->nchoices = n;
    f->choice = initial < n ? initial : 0;
}

void dialog_error(struct dialog *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->error, sizeof(d->error), fmt, ap);
    va_end(ap);
}

char *dialog_value(const struct dialog *d, size_t i)
{
    const struct dialog_field *f = &d->fields[i];
    if (f->choices != NULL)
        return xstrdup(f->choices[f->choice]);
    return prompt_text(&f->edit);
}

/* The first field that keeps Enter from going on, with why; -1 if none. */
static int dialog_invalid(struct dialog *d)
{
    for (size_t i = 0; i < d->nfields; i++) {
        const struct dialog_field *f = &d->fields[i];
        if (f->choices != NULL)
            continue;
        char *v = dialog_value(d, i);
        bool blank = strspn(v, " \t") == strlen(v);
        int bad = 0;
        if (f->required && blank) {
            dialog_error(d, "%s: needed", f->label);
            bad = 1;
        } else if (f->confirm != NULL && strcmp(v, f->confirm) != 0) {
            dialog_error(d, "type %s to confirm", f->confirm);
            bad = 1;
        }
        free(v);
        if (bad)
            return (int)i;
    }
    return -1;
}

enum dialog_result dialog_key(struct dialog *d, wint_t ch, bool is_key)
{
    struct dialog_field *f = d->nfields > 0 ? &d->fields[d->focus] : NULL;
    d->error[0] = '\0';
    if (!is_key && ch == 27) {
        d->open = false;
        return DIALOG_CANCEL;
    }
    if ((!is_key && ch == '\t') || (is_key && ch == KEY_DOWN)) {
        if (d->nfields > 0)
            d->focus = (d->focus + 1) % d->nfields;
        return DIALOG_EDITING;
    }
    if (is_key && (ch == KEY_BTAB || ch == KEY_UP)) {
        if (d->nfields > 0)
            d->focus = (d->focus + d->nfields - 1) % d->nfields;
        return DIALOG_EDITING;
    }
    if ((!is_key && (ch == '\n' || ch == '\r')) || (is_key && ch == KEY_ENTER)) {
        int bad = dialog_invalid(d);
        if (bad >= 0) {
            d->focus = (size_t)bad;
            return DIALOG_EDITING;
        }
        d->open = false;
        return DIALOG_OK;
    }
    if (f == NULL)
        return DIALOG_EDITING;
    if (f->choices != NULL) {
        if ((is_key && ch == KEY_RIGHT) || (!is_key && ch == ' '))
            f->choice = (f->choice + 1) % f->nchoices;
        else if (is_key && ch == KEY_LEFT)
            f->choice = (f->choice + f->nchoices - 1) % f->nchoices;
        return DIALOG_EDITING;
    }
    /* The line editor's own keys; its Enter and Esc are handled above. */
    prompt_key(&f->edit, ch, is_key);
    f->edit.active = true;
    return DIALOG_EDITING;
}

void dialog_draw(struct dialog *d, WINDOW *w, int rows, int cols)
{
    int bw = cols - 4 < 76 ? cols - 4 : 76;
    int bh = 4 + (int)d->nlines + 2 * (int)d->nfields + 2;
    if (bh > rows - 2)
        bh = rows - 2;
    int by = (rows - bh) / 2, bx = (cols - bw) / 2;
    int inner = bw - 4;

    for (int i = 0; i < bh; i++)
        draw_fill(w, by + i, bx, bw, ROLE_DIALOG);
    draw_text(w, by, bx + 2, inner, d->title, ROLE_TITLE, DRAW_PAD);
    int y = by + 2;
    for (size_t i = 0; i < d->nlines && y < by + bh - 2; i++, y++)
        draw_text(w, y, bx + 2, inner, d->lines[i], ROLE_DIALOG, 0);
    y++;
    int cursor_y = -1, cursor_x = -1;
    for (size_t i = 0; i < d->nfields && y < by + bh - 1; i++) {
        struct dialog_field *f = &d->fields[i];
        bool focus = i == d->focus;
        int lw = draw_text(w, y, bx + 2, inner, f->label, focus ? ROLE_PROMPT : ROLE_DIALOG, 0);
        int fx = bx + 2 + lw + 2, fw = inner - lw - 2;
        if (fw < 8) {
            y++;
            fx = bx + 4;
            fw = inner - 2;
        }
        if (f->choices != NULL) {
            draw_printf(w, y, fx, fw, focus ? ROLE_SELECTED : ROLE_DIALOG, DRAW_PAD, "< %s >",
                        f->choices[f->choice]);
        } else {
            prompt_draw(&f->edit, w, y, fx, fw, focus ? ROLE_SELECTED : ROLE_PROMPT);
            if (focus)
                getyx(w, cursor_y, cursor_x);
        }
        y += 2;
    }
    draw_text(w, by + bh - 1, bx + 2, inner,
              d->error[0] ? d->error : "Enter: do it   Esc: cancel   Tab: next field",
              d->error[0] ? ROLE_MESSAGE_ERROR : ROLE_DIM, DRAW_PAD);
    if (cursor_y >= 0) {
        wmove(w, cursor_y, cursor_x);
        curs_set(1);
    } else {
        curs_set(0);
    }
}
