/* Drawing text in theme roles: sanitize, measure, convert to wide
 * characters and draw within the given width and the window's edge. */
#include <config.h>

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <curses.h>

#include "tui/draw.h"
#include "tui/theme.h"
#include "util/buf.h"
#include "util/sanitize.h"
#include "util/xmalloc.h"

/* The curses attributes of each role under the applied theme; A_NORMAL
 * until draw_theme_apply runs. */
static attr_t draw_role_attr[ROLE_COUNT];

/* Maps a colour the terminal lacks to the nearest of the 8 ANSI colours:
 * brightred to red, a palette colour by its hue. Bright black and the
 * palette's greys become -1 (the terminal's default): which grey is
 * readable depends on the terminal's background, which we cannot know. */
static short draw_clamp_colour(short c)
{
    short basic = -1;

    if (c >= 0 && c < COLORS)
        return c;
    if (c >= 9 && c <= 15 && COLORS >= 8) {
        basic = (short)(c - 8);
    } else if (c >= 16 && c <= 231 && COLORS >= 8) {
        /* The 6x6x6 cube: a component is on when within one step of the
         * brightest, so 0x5f87af (steel blue) is cyan and 0xaf8700 yellow. */
        int v = c - 16, r = v / 36, g = (v / 6) % 6, b = v % 6;
        int top = r > g ? (r > b ? r : b) : (g > b ? g : b);
        if (top > 0) {
            int lim = top > 1 ? top - 1 : 1;
            basic = (short)((r >= lim ? 1 : 0) | (g >= lim ? 2 : 0) | (b >= lim ? 4 : 0));
        }
        if (basic == COLOR_BLACK || basic == COLOR_WHITE)
            basic = -1;
    }
    return basic;
}

/* Without use_default_colors, -1 is not a colour: use white on black. */
static short draw_resolve(short c, bool default_ok, short fallback)
{
    c = draw_clamp_colour(c);
    if (c < 0 && !default_ok)
        c = fallback;
    return c;
}

static attr_t draw_curses_attrs(unsigned attrs)
{
    attr_t a = A_NORMAL;
    if (attrs & THEME_ATTR_BOLD)
        a |= A_BOLD;
    if (attrs & THEME_ATTR_DIM)
        a |= A_DIM;
    if (attrs & THEME_ATTR_UNDERLINE)
        a |= A_UNDERLINE;
    if (attrs & THEME_ATTR_REVERSE)
        a |= A_REVERSE;
    if (attrs & THEME_ATTR_STANDOUT)
        a |= A_STANDOUT;
#ifdef A_ITALIC
    if (attrs & THEME_ATTR_ITALIC)
        a |= A_ITALIC;
#endif
    return a;
}

void draw_theme_apply(const struct theme *t, bool colour)
{
    struct theme mono;
    bool default_ok = false;

    theme_mono(&mono);
    if (colour && !has_colors())
        colour = false;
#ifdef NCURSES_VERSION
    if (colour)
        default_ok = use_default_colors() == OK;
#endif

    for (int i = 0; i < ROLE_COUNT; i++) {
        const struct theme_style *s = &t->style[i];
        attr_t a = draw_curses_attrs(s->attrs);

        if (!colour) {
            /* A role told apart by colour alone would vanish: add the
             * mono attributes of the roles that name a colour. */
            if (s->fg >= 0 || s->bg >= 0)
                a |= draw_curses_attrs(mono.style[i].attrs);
        } else {
            short fg = draw_resolve(s->fg, default_ok, COLOR_WHITE);
            short bg = draw_resolve(s->bg, default_ok, COLOR_BLACK);
            int pair = i + 1;
            /* A grey text colour the terminal lacks is still meant to
             * recede: show it dim. */
            if (s->fg >= 0 && draw_clamp_colour(s->fg) < 0)
                a |= A_DIM;
            /* Pair 0 is the terminal's default; keep it for roles without
             * colour so they follow the terminal. */
            if (!(fg < 0 && bg < 0) && pair < COLOR_PAIRS && pair <= 255 &&
                init_pair((short)pair, fg, bg) == OK)
                a |= COLOR_PAIR(pair);
        }
        draw_role_attr[i] = a;
    }
    /* Blank cells of the screen take the default role's colours. */
    if (stdscr != NULL)
        wbkgd(stdscr, ' ' | (draw_role_attr[ROLE_DEFAULT] & A_COLOR));
}

attr_t draw_attr(enum theme_role role)
{
    if ((int)role < 0 || role >= ROLE_COUNT)
        return A_NORMAL;
    return draw_role_attr[role];
}

unsigned draw_sanitize_flags(void)
{
    static bool known;
    static unsigned flags;

    if (!known) {
        flags = (unsigned)sanitize_terminal_flags();
        known = true;
    }
    return flags;
}

/* Clips a run of width columns at y,x to the window. Returns the columns
 * left (0: nothing to draw). */
static int draw_clip(WINDOW *w, int y, int x, int width)
{
    int maxy, maxx;

    if (w == NULL || width <= 0)
        return 0;
    getmaxyx(w, maxy, maxx);
    if (y < 0 || x < 0 || y >= maxy || x >= maxx)
        return 0;
    return width < maxx - x ? width : maxx - x;
}

static void draw_blanks(WINDOW *w, int y, int x, int n, attr_t attr)
{
    if (n > 0)
        mvwhline(w, y, x, ' ' | attr, n);
}

/* Converts sanitized UTF-8 (or ASCII) to wide characters of at most width
 * columns. Returns the count; *cols gets the columns they take. */
static size_t draw_widen(const char *s, size_t len, int width, wchar_t *out, int *cols)
{
    mbstate_t ps;
    size_t n = 0;
    int used = 0;

    memset(&ps, 0, sizeof(ps));
    while (len > 0) {
        wchar_t wc;
        size_t r = mbrtowc(&wc, s, len, &ps);
        int cw;
        if (r == 0 || r == (size_t)-1 || r == (size_t)-2) {
            /* The sanitizer emits only what this locale can decode; a
             * failure here is a bug, shown as '?' rather than drawn raw. */
            wc = L'?';
            r = 1;
            memset(&ps, 0, sizeof(ps));
        }
        cw = wcwidth(wc);
        if (cw < 0) {
            wc = L'?';
            cw = 1;
        }
        if (used + cw > width)
            break;
        out[n++] = wc;
        used += cw;
        s += r;
        len -= r;
    }
    out[n] = L'\0';
    *cols = used;
    return n;
}

int draw_textn(WINDOW *w, int y, int x, int width, const char *s, size_t len, enum theme_role role,
               unsigned flags)
{
    struct buf text;
    wchar_t *wide = NULL;
    attr_t attr = draw_attr(role), saved_attrs;
    short saved_pair;
    int cols = 0, start, drawn = 0;
    size_t n;

    buf_init(&text);
    width = draw_clip(w, y, x, width);
    if (width == 0)
        goto out;
    if (s != NULL && len > 0)
        sanitize_append(&text, s, len, (size_t)width, draw_sanitize_flags());

    wide = xreallocarray(NULL, text.len + 1, sizeof(*wide));
    n = draw_widen(buf_get(&text), text.len, width, wide, &cols);
    start = (flags & DRAW_RIGHT) ? x + width - cols : x;

    wattr_get(w, &saved_attrs, &saved_pair, NULL);
    if (flags & DRAW_PAD) {
        draw_blanks(w, y, x, start - x, attr);
        draw_blanks(w, y, start + cols, x + width - (start + cols), attr);
        drawn = width;
    } else {
        drawn = cols;
    }
    if (n > 0) {
        wattrset(w, attr);
        mvwaddnwstr(w, y, start, wide, (int)n);
    }
    wattr_set(w, saved_attrs, saved_pair, NULL);
out:
    free(wide);
    buf_done(&text);
    return drawn;
}

int draw_text(WINDOW *w, int y, int x, int width, const char *s, enum theme_role role,
              unsigned flags)
{
    return draw_textn(w, y, x, width, s, s != NULL ? strlen(s) : 0, role, flags);
}

int draw_printf(WINDOW *w, int y, int x, int width, enum theme_role role, unsigned flags,
                const char *fmt, ...)
{
    va_list ap;
    char *s;
    int drawn;

    va_start(ap, fmt);
    s = xvasprintf(fmt, ap);
    va_end(ap);
    drawn = draw_text(w, y, x, width, s, role, flags);
    free(s);
    return drawn;
}

void draw_fill(WINDOW *w, int y, int x, int width, enum theme_role role)
{
    width = draw_clip(w, y, x, width);
    draw_blanks(w, y, x, width, draw_attr(role));
}

int draw_width(const char *s)
{
    size_t width;

    if (s == NULL)
        return 0;
    width = sanitize_width(s, strlen(s), draw_sanitize_flags());
    return width > INT_MAX ? INT_MAX : (int)width;
}

const char *draw_sym(const char *utf8, const char *ascii)
{
    return (draw_sanitize_flags() & SANITIZE_ASCII) ? ascii : utf8;
}
