/* The console's one-line editor: wide characters in, UTF-8 out. */
#include <config.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "tui/draw.h"
#include "tui/prompt.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#define PROMPT_HISTORY_MAX 50
#define PROMPT_CTRL(c)     ((c)&0x1f)

void prompt_init(struct prompt *p)
{
    memset(p, 0, sizeof(*p));
}

void prompt_done(struct prompt *p)
{
    for (size_t i = 0; i < p->nhistory; i++)
        free(p->history[i]);
    free(p->history);
    free(p->hint);
    memset(p, 0, sizeof(*p));
}

static void prompt_set_utf8(struct prompt *p, const char *s)
{
    mbstate_t st;
    memset(&st, 0, sizeof(st));
    p->len = 0;
    while (s != NULL && *s != '\0' && p->len < PROMPT_MAX - 1) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, s, strlen(s), &st);
        if (n == (size_t)-1 || n == (size_t)-2) {
            /* Not valid in this locale: keep the byte as a '?' */
            wc = L'?';
            n = 1;
            memset(&st, 0, sizeof(st));
        } else if (n == 0) {
            break;
        }
        p->text[p->len++] = wc;
        s += n;
    }
    p->text[p->len] = L'\0';
    p->cursor = p->len;
}

void prompt_open(struct prompt *p, wchar_t lead, const char *initial, prompt_complete_fn complete,
                 void *ctx)
{
    p->active = true;
    p->lead = lead;
    p->complete = complete;
    p->ctx = ctx;
    p->hpos = p->nhistory;
    free(p->hint);
    p->hint = NULL;
    prompt_set_utf8(p, initial);
}

char *prompt_text(const struct prompt *p)
{
    struct buf b;
    buf_init(&b);
    mbstate_t st;
    memset(&st, 0, sizeof(st));
    for (size_t i = 0; i < p->len; i++) {
        char mb[MB_LEN_MAX];
        size_t n = wcrtomb(mb, p->text[i], &st);
        if (n == (size_t)-1) {
            buf_add(&b, "?", 1);
            memset(&st, 0, sizeof(st));
        } else {
            buf_add(&b, mb, n);
        }
    }
    return buf_take(&b);
}

static void prompt_delete(struct prompt *p, size_t from, size_t to)
{
    if (to <= from)
        return;
    wmemmove(p->text + from, p->text + to, p->len - to + 1);
    p->len -= to - from;
    p->cursor = from;
}

static void prompt_insert(struct prompt *p, const wchar_t *s, size_t n)
{
    if (p->len + n >= PROMPT_MAX)
        n = PROMPT_MAX - 1 - p->len;
    wmemmove(p->text + p->cursor + n, p->text + p->cursor, p->len - p->cursor + 1);
    wmemcpy(p->text + p->cursor, s, n);
    p->len += n;
    p->cursor += n;
}

static void prompt_complete(struct prompt *p)
{
    char *cand[64];
    size_t start = p->cursor;
    size_t n = p->complete != NULL ? p->complete(p->ctx, p->text, p->cursor, &start, cand, 64) : 0;
    free(p->hint);
    p->hint = NULL;
    if (n == 0)
        return;
    /* Insert the longest common prefix of the candidates. */
    size_t common = strlen(cand[0]);
    for (size_t i = 1; i < n; i++) {
        size_t k = 0;
        while (k < common && cand[i][k] == cand[0][k])
            k++;
        common = k;
    }
    /* Never end inside a UTF-8 character. */
    while (common > 0 && ((unsigned char)cand[0][common] & 0xC0) == 0x80)
        common--;
    char *prefix = xstrndup(cand[0], common);
    struct prompt tmp;
    prompt_init(&tmp);
    prompt_set_utf8(&tmp, prefix);
    free(prefix);
    if (tmp.len >= p->cursor - start) {
        prompt_delete(p, start, p->cursor);
        prompt_insert(p, tmp.text, tmp.len);
        if (n == 1)
            prompt_insert(p, L" ", 1);
    }
    if (n > 1) {
        struct buf b;
        buf_init(&b);
        for (size_t i = 0; i < n; i++)
            buf_addf(&b, "%s%s", i ? "  " : "", cand[i]);
        p->hint = buf_take(&b);
    }
    for (size_t i = 0; i < n; i++)
        free(cand[i]);
}

static void prompt_history_show(struct prompt *p)
{
    if (p->hpos < p->nhistory) {
        prompt_set_utf8(p, p->history[p->hpos]);
    } else {
        p->len = p->cursor = 0;
        p->text[0] = L'\0';
    }
}

enum prompt_result prompt_key(struct prompt *p, wint_t ch, bool is_key)
{
    if (is_key) {
        switch (ch) {
        case KEY_LEFT:
            if (p->cursor > 0)
                p->cursor--;
            break;
        case KEY_RIGHT:
            if (p->cursor < p->len)
                p->cursor++;
            break;
        case KEY_HOME:
            p->cursor = 0;
            break;
        case KEY_END:
            p->cursor = p->len;
            break;
        case KEY_BACKSPACE:
            if (p->cursor > 0) {
                prompt_delete(p, p->cursor - 1, p->cursor);
            } else if (p->len == 0) {
                p->active = false;
                return PROMPT_CANCEL;
            }
            break;
        case KEY_DC:
            if (p->cursor < p->len)
                prompt_delete(p, p->cursor, p->cursor + 1);
            break;
        case KEY_UP:
            if (p->hpos > 0) {
                p->hpos--;
                prompt_history_show(p);
            }
            break;
        case KEY_DOWN:
            if (p->hpos < p->nhistory) {
                p->hpos++;
                prompt_history_show(p);
            }
            break;
        case KEY_ENTER:
            p->active = false;
            return PROMPT_DONE;
        default:
            break;
        }
        return PROMPT_EDITING;
    }
    switch (ch) {
    case 27:
        p->active = false;
        return PROMPT_CANCEL;
    case '\n':
    case '\r':
        p->active = false;
        return PROMPT_DONE;
    case PROMPT_CTRL('a'):
        p->cursor = 0;
        break;
    case PROMPT_CTRL('e'):
        p->cursor = p->len;
        break;
    case PROMPT_CTRL('b'):
        if (p->cursor > 0)
            p->cursor--;
        break;
    case PROMPT_CTRL('f'):
        if (p->cursor < p->len)
            p->cursor++;
        break;
    case PROMPT_CTRL('u'):
        prompt_delete(p, 0, p->cursor);
        break;
    case PROMPT_CTRL('k'):
        p->len = p->cursor;
        p->text[p->len] = L'\0';
        break;
    case PROMPT_CTRL('w'): {
        size_t i = p->cursor;
        while (i > 0 && iswspace((wint_t)p->text[i - 1]))
            i--;
        while (i > 0 && !iswspace((wint_t)p->text[i - 1]))
            i--;
        prompt_delete(p, i, p->cursor);
        break;
    }
    case PROMPT_CTRL('h'):
    case 127:
        if (p->cursor > 0)
            prompt_delete(p, p->cursor - 1, p->cursor);
        else if (p->len == 0) {
            p->active = false;
            return PROMPT_CANCEL;
        }
        break;
    case PROMPT_CTRL('d'):
        if (p->cursor < p->len)
            prompt_delete(p, p->cursor, p->cursor + 1);
        break;
    case '\t':
        prompt_complete(p);
        return PROMPT_EDITING;
    default:
        if (iswprint(ch)) {
            wchar_t wc = (wchar_t)ch;
            prompt_insert(p, &wc, 1);
        }
        break;
    }
    free(p->hint);
    p->hint = NULL;
    return PROMPT_EDITING;
}

char *prompt_take(struct prompt *p)
{
    char *s = prompt_text(p);
    if (s[0] != '\0' && (p->nhistory == 0 || strcmp(p->history[p->nhistory - 1], s) != 0)) {
        if (p->nhistory == PROMPT_HISTORY_MAX) {
            free(p->history[0]);
            memmove(p->history, p->history + 1, (p->nhistory - 1) * sizeof(*p->history));
            p->nhistory--;
        }
        p->history = xrealloc(p->history, (p->nhistory + 1) * sizeof(*p->history));
        p->history[p->nhistory++] = xstrdup(s);
    }
    p->hpos = p->nhistory;
    return s;
}

void prompt_draw(struct prompt *p, WINDOW *w, int y, int x, int width, enum theme_role role)
{
    int lead = p->lead != 0 ? 2 : 0;
    draw_fill(w, y, x, width, role);
    if (p->lead != 0) {
        char l[2] = {(char)p->lead, '\0'};
        draw_text(w, y, x, 1, l, role, 0);
    }
    if (p->hint != NULL) {
        /* Candidates replace the line until the next key. */
        draw_text(w, y, x + lead, width - lead, p->hint, ROLE_DIM, 0);
        return;
    }
    /* Scroll so the cursor stays in view: the text is the operator's own,
     * drawn as typed (wide characters, measured by wcwidth). */
    int avail = width - lead;
    size_t start = 0;
    int before = 0;
    for (size_t i = 0; i < p->cursor; i++) {
        int cw = wcwidth(p->text[i]);
        before += cw > 0 ? cw : 1;
    }
    while (before >= avail && start < p->cursor) {
        int cw = wcwidth(p->text[start]);
        before -= cw > 0 ? cw : 1;
        start++;
    }
    int col = lead > 0 ? 1 : 0;
    int cursor_col = col;
    attr_t a = draw_attr(role);
    for (size_t i = start; i < p->len; i++) {
        int cw = wcwidth(p->text[i]);
        if (cw < 1)
            cw = 1;
        if (col + cw > width)
            break;
        if (i == p->cursor)
            cursor_col = col;
        cchar_t cc;
        wchar_t wc[2] = {iswprint((wint_t)p->text[i]) ? p->text[i] : L'?', L'\0'};
        setcchar(&cc, wc, a & ~A_COLOR, (short)PAIR_NUMBER(a), NULL);
        mvwadd_wch(w, y, x + col, &cc);
        col += cw;
    }
    if (p->cursor >= p->len)
        cursor_col = col;
    wmove(w, y, x + (cursor_col < width ? cursor_col : width - 1));
}
