/* The detail pane: one item laid out as readable "key: value" lines, big
 * values folded, a saga's steps first as a timeline, drawn and scrolled. */
#include <config.h>

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/detail.h"
#include "tui/draw.h"
#include "util/buf.h"
#include "util/sanitize.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

/* A run of one line's text in one role, starting at column x. */
struct detail_span {
    size_t off, len; /* in the line's text */
    int x;           /* columns from the pane's left edge */
    int maxw;        /* columns it may take; 0: up to the right edge */
    enum theme_role role;
};

struct detail_line {
    char *text; /* store bytes and our own, drawn sanitized */
    struct detail_span *spans;
    size_t nspans;
    char *anchor; /* JSON path of the value that begins on this line */
    char *fold;   /* the foldable value Enter toggles here */
    char *jump;   /* a timeline line: the step Enter shows in the JSON */
};

/* Where a layout is: the lines made so far (in d) and the one being made. */
struct detail_layout {
    struct detail *d;
    size_t cap; /* of d->lines */
    int width;
    int max_indent;
    unsigned flags; /* draw_sanitize_flags() */
    bool ascii;
    const char *ellipsis;
    const char *forced; /* a path that starts folded whatever its size */
    struct buf text;
    struct detail_span *spans;
    size_t nspans, spancap;
    int x;
};

/* Timeline columns, measured from the pane's left edge; 0 is hidden. */
struct detail_cols {
    int name, name_w, status, retries, took, started, comp;
};

#define DETAIL_HINT_UNFOLD "Enter unfolds"
#define DETAIL_HINT_FOLD   "Enter folds"

/* ---- paths and fold state ---------------------------------------------- */

/* The JSON Pointer (RFC 6901) of member key of parent. */
static char *detail_path_key(const char *parent, const char *key)
{
    struct buf b;
    buf_init(&b);
    buf_adds(&b, parent);
    buf_addc(&b, '/');
    for (const char *p = key; *p != '\0'; p++) {
        if (*p == '~')
            buf_adds(&b, "~0");
        else if (*p == '/')
            buf_adds(&b, "~1");
        else
            buf_addc(&b, *p);
    }
    return buf_take(&b);
}

static char *detail_path_index(const char *parent, size_t i)
{
    return xasprintf("%s/%zu", parent, i);
}

static bool detail_is_unfolded(const struct detail *d, const char *path)
{
    for (size_t i = 0; i < d->nunfolded; i++)
        if (strcmp(d->unfolded[i], path) == 0)
            return true;
    return false;
}

static void detail_unfold(struct detail *d, const char *path)
{
    if (detail_is_unfolded(d, path))
        return;
    d->unfolded = xreallocarray(d->unfolded, d->nunfolded + 1, sizeof(*d->unfolded));
    d->unfolded[d->nunfolded++] = xstrdup(path);
}

static void detail_refold(struct detail *d, const char *path)
{
    for (size_t i = 0; i < d->nunfolded; i++) {
        if (strcmp(d->unfolded[i], path) == 0) {
            free(d->unfolded[i]);
            d->unfolded[i] = d->unfolded[--d->nunfolded];
            return;
        }
    }
}

static void detail_unfolded_clear(struct detail *d)
{
    for (size_t i = 0; i < d->nunfolded; i++)
        free(d->unfolded[i]);
    free(d->unfolded);
    d->unfolded = NULL;
    d->nunfolded = 0;
}

/* ---- building lines ---------------------------------------------------- */

/* Bytes of the unit at s: a UTF-8 lead byte and its continuation bytes,
 * or one byte. The sanitizer never reads a unit across this boundary, so
 * widths of these pieces add up. */
static size_t detail_unit(const char *s, size_t len)
{
    size_t n = 1;
    if ((unsigned char)s[0] >= 0xc0)
        while (n < len && n < 4 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n++;
    return n;
}

static int detail_width(const struct detail_layout *L, const char *s, size_t len)
{
    size_t w = sanitize_width(s, len, L->flags);
    return w > INT_MAX / 2 ? INT_MAX / 2 : (int)w;
}

/* How many bytes of s fit in maxw columns; *w gets their width. */
static size_t detail_fit(const struct detail_layout *L, const char *s, size_t len, int maxw, int *w)
{
    size_t pos = 0;
    *w = 0;
    while (pos < len) {
        size_t n = detail_unit(s + pos, len - pos);
        int cw = detail_width(L, s + pos, n);
        if (*w + cw > maxw)
            break;
        *w += cw;
        pos += n;
    }
    return pos;
}

static void detail_begin(struct detail_layout *L, int indent)
{
    L->x = indent > L->max_indent ? L->max_indent : indent;
}

/* Appends len bytes of s in role at the current column; maxw > 0 caps the
 * columns it may take (drawn cut). Returns its columns. */
static int detail_addn(struct detail_layout *L, const char *s, size_t len, enum theme_role role,
                       int maxw)
{
    if (len == 0)
        return 0;
    int w = detail_width(L, s, len);
    if (maxw > 0 && w > maxw)
        w = maxw;
    if (L->nspans == L->spancap) {
        L->spancap = L->spancap ? L->spancap * 2 : 8;
        L->spans = xreallocarray(L->spans, L->spancap, sizeof(*L->spans));
    }
    L->spans[L->nspans++] = (struct detail_span){L->text.len, len, L->x, maxw, role};
    buf_add(&L->text, s, len);
    L->x += w;
    return w;
}

static int detail_add(struct detail_layout *L, const char *s, enum theme_role role)
{
    return detail_addn(L, s, strlen(s), role, 0);
}

static int detail_addf(struct detail_layout *L, enum theme_role role, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int detail_addf(struct detail_layout *L, enum theme_role role, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    int w = detail_add(L, s, role);
    free(s);
    return w;
}

/* Appends the first line of s within maxw columns, ending with an
 * ellipsis when anything of s is left out. */
static void detail_add_line_cut(struct detail_layout *L, const char *s, size_t len,
                                enum theme_role role, int maxw)
{
    const char *nl = memchr(s, '\n', len);
    size_t first = nl != NULL ? (size_t)(nl - s) : len;
    int w, ew = detail_width(L, L->ellipsis, strlen(L->ellipsis));

    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    if (first > len)
        first = len;
    if (first > 0 && s[first - 1] == '\r')
        first--;
    size_t fit = detail_fit(L, s, first, maxw, &w);
    if (fit == len) {
        detail_addn(L, s, fit, role, 0);
        return;
    }
    if (fit < first || w + ew > maxw)
        fit = detail_fit(L, s, first, maxw > ew ? maxw - ew : 0, &w);
    detail_addn(L, s, fit, role, 0);
    detail_add(L, L->ellipsis, role);
}

/* Ends the line being built; the paths are copied. */
static void detail_end(struct detail_layout *L, const char *anchor, const char *fold,
                       const char *jump)
{
    struct detail *d = L->d;
    if (d->nlines == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 64;
        d->lines = xreallocarray(d->lines, L->cap, sizeof(*d->lines));
    }
    struct detail_line *ln = &d->lines[d->nlines++];
    ln->text = buf_take(&L->text);
    ln->spans = L->spans;
    ln->nspans = L->nspans;
    ln->anchor = anchor != NULL ? xstrdup(anchor) : NULL;
    ln->fold = fold != NULL ? xstrdup(fold) : NULL;
    ln->jump = jump != NULL ? xstrdup(jump) : NULL;
    L->spans = NULL;
    L->nspans = L->spancap = 0;
    L->x = 0;
}

static void detail_lines_free(struct detail *d)
{
    for (size_t i = 0; i < d->nlines; i++) {
        struct detail_line *ln = &d->lines[i];
        free(ln->text);
        free(ln->spans);
        free(ln->anchor);
        free(ln->fold);
        free(ln->jump);
    }
    free(d->lines);
    d->lines = NULL;
    d->nlines = 0;
}

/* ---- values ------------------------------------------------------------ */

static void detail_size(size_t bytes, char *out, size_t size)
{
    if (bytes < 1024)
        snprintf(out, size, "%zu B", bytes);
    else if (bytes < 1024 * 1024)
        snprintf(out, size, "%.1f KB", (double)bytes / 1024);
    else
        snprintf(out, size, "%.1f MB", (double)bytes / (1024 * 1024));
}

static size_t detail_count_lines(const char *s, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\n' && i + 1 < len)
            n++;
    return n;
}

/* Whether a string shown bare would read as something else: empty,
 * spaced at an end, a literal or a number. */
static bool detail_needs_quotes(const char *s, size_t len)
{
    if (len == 0 || s[0] == ' ' || s[len - 1] == ' ')
        return true;
    if ((len == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) ||
        (len == 5 && memcmp(s, "false", 5) == 0))
        return true;
    size_t i = s[0] == '-' ? 1 : 0;
    if (i >= len || s[i] < '0' || s[i] > '9')
        return false;
    for (; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
              s[i] == '+' || s[i] == '-'))
            return false;
    return true;
}

/* The object or array a string holds as JSON text, or NULL. */
static json_t *detail_embedded_json(const char *s, size_t len)
{
    size_t a = 0, b = len;
    while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r'))
        a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' || s[b - 1] == '\r'))
        b--;
    if (b - a < 2 || !((s[a] == '{' && s[b - 1] == '}') || (s[a] == '[' && s[b - 1] == ']')))
        return NULL;
    json_error_t je;
    return json_loadb(s + a, b - a, 0, &je);
}

static enum theme_role detail_status_role(const char *s)
{
    static const struct {
        const char *name;
        enum theme_role role;
    } map[] = {
        {"completed", ROLE_STATUS_OK},
        {"resolved", ROLE_STATUS_OK},
        {"approved", ROLE_STATUS_OK},
        {"closed", ROLE_STATUS_OK},
        {"running", ROLE_STATUS_RUNNING},
        {"pending", ROLE_STATUS_RUNNING},
        {"pending_review", ROLE_STATUS_WARN},
        {"compensating", ROLE_STATUS_WARN},
        {"compensated", ROLE_STATUS_WARN},
        {"retried", ROLE_STATUS_WARN},
        {"half_open", ROLE_STATUS_WARN},
        {"failed", ROLE_STATUS_FAILED},
        {"rejected", ROLE_STATUS_FAILED},
        {"expired", ROLE_STATUS_FAILED},
        {"open", ROLE_STATUS_FAILED},
        {"skipped", ROLE_DIM},
        {"cancelled", ROLE_DIM},
    };
    if (s != NULL)
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (strcmp(s, map[i].name) == 0)
                return map[i].role;
    return ROLE_DEFAULT;
}

static void detail_number(json_t *v, char *out, size_t size)
{
    if (json_is_integer(v)) {
        snprintf(out, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return;
    }
    double x = json_real_value(v);
    snprintf(out, size, "%.15g", x);
    if (strtod(out, NULL) != x)
        snprintf(out, size, "%.17g", x);
}

static bool detail_foldable(const struct detail_layout *L, json_t *v, const char *path)
{
    if (L->forced != NULL && strcmp(path, L->forced) == 0)
        return true;
    if (json_is_string(v))
        return json_string_length(v) > DETAIL_FOLD_BYTES;
    if (json_is_object(v))
        return json_object_size(v) > DETAIL_FOLD_MEMBERS;
    if (json_is_array(v))
        return json_array_size(v) > DETAIL_FOLD_MEMBERS;
    return false;
}

/* Lays out one piece of a string (no line break in it) over as many lines
 * at indent as it needs, breaking after a space where one is near; lines
 * after the first hang two columns further in, so that a wrap does not read
 * as a line of its own. */
static void detail_wrap(struct detail_layout *L, const char *s, size_t len, int indent,
                        enum theme_role role, const char *fold)
{
    size_t pos = 0;
    do {
        detail_begin(L, pos == 0 ? indent : indent + 2);
        int avail = L->width - L->x, w = 0, space_w = 0;
        size_t i = pos, space = 0;
        if (avail < 8)
            avail = 8;
        while (i < len) {
            size_t n = detail_unit(s + i, len - i);
            int cw = detail_width(L, s + i, n);
            if (w + cw > avail && i > pos)
                break;
            if (s[i] == ' ') {
                space = i;
                space_w = w;
            }
            w += cw;
            i += n;
        }
        size_t end = i, next = i;
        if (i < len && s[i] == ' ') {
            next = i + 1;
        } else if (i < len && space > pos && space_w >= avail / 2) {
            end = space;
            next = space + 1;
        }
        detail_addn(L, s + pos, end - pos, role, 0);
        detail_end(L, NULL, fold, NULL);
        pos = next;
    } while (pos < len);
}

static void detail_value(struct detail_layout *L, json_t *v, const char *path, const char *anchor,
                         int indent, const char *outer, bool item, const char *key);

/* The members of object o at indent; with first_here the first one goes
 * on the line already begun (an object as an array item), which begins
 * the value at anchor. */
static void detail_members(struct detail_layout *L, json_t *o, const char *path, int indent,
                           const char *fold, bool first_here, const char *anchor)
{
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach(o, k, v)
    {
        char *child = detail_path_key(path, k);
        const char *a = child;
        if (first && first_here)
            a = anchor;
        else
            detail_begin(L, indent);
        first = false;
        detail_add(L, *k != '\0' ? k : "\"\"", ROLE_JSON_KEY);
        detail_add(L, ": ", ROLE_JSON_KEY);
        detail_value(L, v, child, a, indent, fold, false, k);
        free(child);
    }
}

static void detail_items(struct detail_layout *L, json_t *a, const char *path, int indent,
                         const char *fold)
{
    for (size_t i = 0; i < json_array_size(a); i++) {
        char *child = detail_path_index(path, i);
        detail_begin(L, indent);
        detail_add(L, "- ", ROLE_DEFAULT);
        detail_value(L, json_array_get(a, i), child, child, indent, fold, true, NULL);
        free(child);
    }
}

/* A folded string: its first words, quoted, and its size. */
static void detail_string_folded(struct detail_layout *L, const char *s, size_t len)
{
    char size[32], note[96];
    size_t nl = detail_count_lines(s, len);
    detail_size(len, size, sizeof(size));
    if (nl > 1)
        snprintf(note, sizeof(note), " (%s, %zu lines, " DETAIL_HINT_UNFOLD ")", size, nl);
    else
        snprintf(note, sizeof(note), " (%s, " DETAIL_HINT_UNFOLD ")", size);
    int room = L->width - L->x - 2 - (int)strlen(note);
    if (room < 12) {
        snprintf(note, sizeof(note), " (%s)", size);
        room = L->width - L->x - 2 - (int)strlen(note);
    }
    if (room < 4)
        room = 4;
    detail_add(L, "\"", ROLE_FOLDED);
    detail_add_line_cut(L, s, len, ROLE_FOLDED, room);
    detail_add(L, "\"", ROLE_FOLDED);
    detail_add(L, note, ROLE_DIM);
}

static void detail_string(struct detail_layout *L, json_t *v, const char *path, const char *anchor,
                          int indent, const char *outer, const char *key)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    bool foldable = detail_foldable(L, v, path);
    const char *fold = foldable ? path : outer;
    enum theme_role role = ROLE_JSON_STRING;

    if (key != NULL && strcmp(key, "status") == 0)
        role = detail_status_role(s);
    if (role == ROLE_DEFAULT)
        role = ROLE_JSON_STRING;
    if (foldable && !detail_is_unfolded(L->d, path)) {
        detail_string_folded(L, s, len);
        detail_end(L, anchor, fold, NULL);
        return;
    }
    bool quotes = detail_needs_quotes(s, len);
    if (memchr(s, '\n', len) == NULL &&
        detail_width(L, s, len) + (quotes ? 2 : 0) <= L->width - L->x) {
        if (quotes)
            detail_add(L, "\"", role);
        detail_addn(L, s, len, role, 0);
        if (quotes)
            detail_add(L, "\"", role);
        detail_end(L, anchor, fold, NULL);
        return;
    }
    /* A block: the pieces between line breaks, each wrapped, under the key. */
    if (foldable) {
        char size[32];
        size_t nl = detail_count_lines(s, len);
        detail_size(len, size, sizeof(size));
        if (nl > 1)
            detail_addf(L, ROLE_DIM, "(%s, %zu lines, " DETAIL_HINT_FOLD ")", size, nl);
        else
            detail_addf(L, ROLE_DIM, "(%s, " DETAIL_HINT_FOLD ")", size);
    }
    detail_end(L, anchor, fold, NULL);
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - s) : len, piece = end - pos;
        if (nl != NULL && piece > 0 && s[end - 1] == '\r')
            piece--;
        detail_wrap(L, s + pos, piece, indent + 2, role, fold);
        pos = end + 1;
    }
}

/* Whether a string can stand bare in "[a, b]". */
static bool detail_bare_in_list(const char *s, size_t len)
{
    if (detail_needs_quotes(s, len))
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ',' || s[i] == '[' || s[i] == ']' || s[i] == '"' || s[i] == '\n')
            return false;
    return true;
}

/* Lays out an array of scalars on the current line as "[1, 2, 3]" when it
 * fits; false (nothing added) otherwise. */
static bool detail_inline(struct detail_layout *L, json_t *a)
{
    size_t i, mark_spans = L->nspans, mark_text = L->text.len;
    int mark_x = L->x;
    json_t *v;
    char num[64];

    json_array_foreach(a, i, v)
    {
        if (json_is_object(v) || json_is_array(v) ||
            (json_is_string(v) && json_string_length(v) > DETAIL_FOLD_BYTES))
            goto undo;
    }
    detail_add(L, "[", ROLE_DEFAULT);
    json_array_foreach(a, i, v)
    {
        if (i > 0)
            detail_add(L, ", ", ROLE_DEFAULT);
        if (json_is_string(v)) {
            const char *s = json_string_value(v);
            size_t len = json_string_length(v);
            if (memchr(s, '\n', len) != NULL)
                goto undo;
            bool bare = detail_bare_in_list(s, len);
            if (!bare)
                detail_add(L, "\"", ROLE_JSON_STRING);
            detail_addn(L, s, len, ROLE_JSON_STRING, 0);
            if (!bare)
                detail_add(L, "\"", ROLE_JSON_STRING);
        } else if (json_is_number(v)) {
            detail_number(v, num, sizeof(num));
            detail_add(L, num, ROLE_JSON_NUMBER);
        } else {
            detail_add(L,
                       json_is_true(v)    ? "true"
                       : json_is_false(v) ? "false"
                                          : "null",
                       ROLE_JSON_LITERAL);
        }
        if (L->x >= L->width)
            goto undo;
    }
    detail_add(L, "]", ROLE_DEFAULT);
    if (L->x <= L->width)
        return true;
undo:
    L->nspans = mark_spans;
    L->text.len = mark_text;
    if (L->text.data != NULL)
        L->text.data[mark_text] = '\0';
    L->x = mark_x;
    return false;
}

static void detail_container(struct detail_layout *L, json_t *v, const char *path,
                             const char *anchor, int indent, const char *outer, bool item,
                             const char *note)
{
    bool obj = json_is_object(v);
    size_t n = obj ? json_object_size(v) : json_array_size(v);
    bool foldable = detail_foldable(L, v, path);
    const char *fold = foldable ? path : outer;
    bool folded = foldable && !detail_is_unfolded(L->d, path);

    if (n == 0 || folded) {
        if (n == 0)
            detail_add(L, obj ? "{}" : "[]", ROLE_JSON_LITERAL);
        else if (obj)
            detail_addf(L, ROLE_FOLDED, "{%s %zu key%s}", L->ellipsis, n, n == 1 ? "" : "s");
        else
            detail_addf(L, ROLE_FOLDED, "[%s %zu item%s]", L->ellipsis, n, n == 1 ? "" : "s");
        if (note != NULL)
            detail_addf(L, ROLE_DIM, " %s", note);
        detail_end(L, anchor, fold, NULL);
        return;
    }
    if (!obj && !foldable && detail_inline(L, v)) {
        if (note != NULL)
            detail_addf(L, ROLE_DIM, " %s", note);
        detail_end(L, anchor, fold, NULL);
        return;
    }
    /* An object as an array item starts on the dash's line, as in YAML,
     * unless the line has something to say first. */
    if (obj && item && !foldable && note == NULL) {
        detail_members(L, v, path, indent + 2, fold, true, anchor);
        return;
    }
    if (note != NULL)
        detail_add(L, note, ROLE_DIM);
    if (foldable)
        detail_addf(L, ROLE_DIM, "%s(%zu %s, " DETAIL_HINT_FOLD ")", note != NULL ? " " : "", n,
                    obj ? "keys" : "items");
    detail_end(L, anchor, fold, NULL);
    if (obj)
        detail_members(L, v, path, indent + 2, fold, false, NULL);
    else
        detail_items(L, v, path, indent + 2, fold);
}

/* Lays out v, whose line is begun with its key or dash; more lines go at
 * indent + 2. outer is the fold the lines belong to when v has none. */
static void detail_value(struct detail_layout *L, json_t *v, const char *path, const char *anchor,
                         int indent, const char *outer, bool item, const char *key)
{
    char num[64];

    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        detail_container(L, v, path, anchor, indent, outer, item, NULL);
        return;
    case JSON_STRING: {
        /* Some writers store an event as JSON text inside a string. */
        json_t *inner = detail_embedded_json(json_string_value(v), json_string_length(v));
        if (inner != NULL) {
            detail_container(L, inner, path, anchor, indent, outer, item, "(JSON in a string)");
            json_decref(inner);
        } else {
            detail_string(L, v, path, anchor, indent, outer, key);
        }
        return;
    }
    case JSON_INTEGER:
    case JSON_REAL:
        detail_number(v, num, sizeof(num));
        detail_add(L, num, ROLE_JSON_NUMBER);
        break;
    case JSON_TRUE:
        detail_add(L, "true", ROLE_JSON_LITERAL);
        break;
    case JSON_FALSE:
        detail_add(L, "false", ROLE_JSON_LITERAL);
        break;
    case JSON_NULL:
        detail_add(L, "null", ROLE_JSON_LITERAL);
        break;
    }
    detail_end(L, anchor, outer, NULL);
}

/* ---- the saga timeline ------------------------------------------------- */

static const char *detail_get_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *detail_step_name(json_t *step)
{
    const char *s = detail_get_str(step, "name");
    if (s == NULL || *s == '\0')
        s = detail_get_str(step, "step_id");
    return s;
}

static const char *detail_glyph(const struct detail_layout *L, const char *status)
{
    static const struct {
        const char *status, *utf8, *ascii;
    } map[] = {
        {"completed", "\xe2\x9c\x93", "+"},
        {"failed", "\xe2\x9c\x97", "x"},
        {"running", "\xe2\x96\xb6", ">"},
        {"pending", "\xc2\xb7", "."},
        {"skipped", "-", "-"},
        {"compensated", "\xe2\x86\xba", "<"},
        {"compensating", "\xe2\x86\xba", "<"},
    };
    if (status != NULL)
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (strcmp(status, map[i].status) == 0)
                return L->ascii ? map[i].ascii : map[i].utf8;
    return "?";
}

/* Time taken ("850ms", "12.3s", "3m12s"), or so far when still running. */
static void detail_took(const struct detail_layout *L, json_t *step, const char *status, char *out,
                        size_t size)
{
    const char *a = detail_get_str(step, "started_at"), *b = detail_get_str(step, "completed_at");
    int64_t t0, t1;
    bool now = false;

    out[0] = '\0';
    if (a == NULL || !time_parse_iso(a, &t0))
        return;
    if (b == NULL || !time_parse_iso(b, &t1)) {
        if (status == NULL || strcmp(status, "running") != 0)
            return;
        t1 = time_now_us();
        now = true;
    }
    int64_t ms = t1 >= t0 ? (t1 - t0) / 1000 : 0;
    if (ms < 1000)
        snprintf(out, size, "%lldms", (long long)ms);
    else if (ms < 60000)
        snprintf(out, size, "%.1fs", (double)ms / 1000);
    else
        time_format_span(ms, out, size);
    if (now && strlen(out) + strlen(L->ellipsis) < size)
        strcat(out, L->ellipsis);
}

/* The compensation column of a step, or NULL. Only completed steps are
 * compensated (seed 004), and a step still compensating when the saga is
 * no longer is one whose compensation raised: stuck. */
static const char *detail_comp(json_t *step, const char *saga_status, enum theme_role *role)
{
    const char *status = detail_get_str(step, "status");

    *role = ROLE_STATUS_WARN;
    if (status == NULL)
        return NULL;
    if (strcmp(status, "compensated") == 0)
        return status;
    if (strcmp(status, "compensating") != 0)
        return NULL;
    if (saga_status != NULL && strcmp(saga_status, "compensating") != 0 &&
        strcmp(saga_status, "running") != 0) {
        *role = ROLE_STATUS_FAILED;
        return "stuck";
    }
    return status;
}

static void detail_cols_init(const struct detail_layout *L, json_t *steps, const char *saga_status,
                             struct detail_cols *c)
{
    int longest = 4, comp_w = 12, fixed;
    size_t i;
    json_t *step;
    enum theme_role role;

    json_array_foreach(steps, i, step)
    {
        const char *name = detail_step_name(step), *comp = detail_comp(step, saga_status, &role);
        int w = name != NULL ? detail_width(L, name, strlen(name)) : 8;
        if (w > longest)
            longest = w;
        if (comp != NULL && (int)strlen(comp) > comp_w)
            comp_w = (int)strlen(comp);
    }
    memset(c, 0, sizeof(*c));
    fixed = 2 + 1 + 11 + 8 + 8 + 9 + comp_w;
    c->started = c->took = 1;
    if (L->width - fixed < 12) {
        c->started = 0;
        fixed -= 9;
    }
    if (L->width - fixed < 12) {
        c->took = 0;
        fixed -= 8;
    }
    c->name = 2;
    c->name_w = longest < L->width - fixed ? longest : L->width - fixed;
    if (c->name_w < 4)
        c->name_w = 4;
    c->status = c->name + c->name_w + 1;
    c->retries = c->status + 11;
    c->took = c->took ? c->retries + 8 : 0;
    c->started = c->started ? (c->took ? c->took : c->retries) + 8 : 0;
    c->comp = c->started ? c->started + 9 : c->took ? c->took + 8 : c->retries + 8;
}

static void detail_at(struct detail_layout *L, int x)
{
    if (L->x < x)
        L->x = x;
}

/* The line of an error worth one line: the first, but the last of a
 * Python traceback, which is where the exception is. */
static const char *detail_error_line(const char *err)
{
    static const char tb[] = "Traceback (most recent call last):";
    if (strncmp(err, tb, sizeof(tb) - 1) != 0)
        return err;
    const char *end = err + strlen(err), *line = err;
    while (end > err && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    for (const char *p = err; p < end; p++)
        if (*p == '\n')
            line = p + 1;
    return line;
}

static void detail_step(struct detail_layout *L, const struct detail_cols *c, json_t *step,
                        size_t i, const char *saga_status)
{
    char *path = detail_path_index("/steps", i);
    const char *status = detail_get_str(step, "status");
    const char *name = detail_step_name(step);
    const char *shown = status;
    enum theme_role comp_role, role = detail_status_role(status);
    const char *comp = detail_comp(step, saga_status, &comp_role);
    char buf[64];

    if (comp != NULL) {
        shown = "completed";
        role = ROLE_STATUS_OK;
    }
    if (role == ROLE_DEFAULT && status != NULL)
        role = ROLE_DIM;

    detail_begin(L, 0);
    detail_add(L, detail_glyph(L, status), comp != NULL ? comp_role : role);
    detail_at(L, c->name);
    if (name != NULL)
        detail_addn(L, name, strlen(name), ROLE_DEFAULT, c->name_w);
    else if (!json_is_object(step))
        detail_add(L, "(not an object)", ROLE_DIM);
    else
        detail_addf(L, ROLE_DIM, "step %zu", i + 1);
    detail_at(L, c->status);
    if (shown != NULL)
        detail_addn(L, shown, strlen(shown), role, 10);

    json_t *rc = json_object_get(step, "retry_count"), *mr = json_object_get(step, "max_retries");
    if (json_is_integer(rc) && json_integer_value(rc) != 0) {
        detail_at(L, c->retries);
        if (json_is_integer(mr))
            detail_addf(L, ROLE_STATUS_WARN, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
                        json_integer_value(rc), json_integer_value(mr));
        else
            detail_addf(L, ROLE_STATUS_WARN, "%" JSON_INTEGER_FORMAT, json_integer_value(rc));
    }
    if (c->took) {
        detail_took(L, step, status, buf, sizeof(buf));
        detail_at(L, c->took);
        detail_add(L, buf, ROLE_DIM);
    }
    const char *started = detail_get_str(step, "started_at");
    int64_t us;
    if (c->started && started != NULL && time_parse_iso(started, &us)) {
        time_format_iso(us, buf, sizeof(buf));
        detail_at(L, c->started);
        detail_addn(L, buf + 11, strlen(buf) >= 19 ? 8 : 0, ROLE_DIM, 0);
    }
    if (comp != NULL) {
        detail_at(L, c->comp);
        detail_add(L, comp, comp_role);
    }
    detail_end(L, NULL, NULL, path);

    /* The failed step's error, one line; all of it is in the JSON below. */
    const char *err = detail_get_str(step, "error");
    if (status != NULL && strcmp(status, "failed") == 0 && err != NULL && *err != '\0') {
        detail_begin(L, c->name + 2);
        const char *line = detail_error_line(err);
        detail_add_line_cut(L, line, strlen(line), ROLE_DIM, L->width - L->x);
        detail_end(L, NULL, NULL, path);
    }
    free(path);
}

static void detail_timeline(struct detail_layout *L, json_t *item, json_t *steps)
{
    struct detail_cols c;
    size_t i;
    json_t *step;
    const char *saga_status = detail_get_str(item, "status");

    detail_cols_init(L, steps, saga_status, &c);
    detail_begin(L, 0);
    detail_at(L, c.name);
    detail_addf(L, ROLE_TITLE, "steps (%zu)", json_array_size(steps));
    detail_at(L, c.status);
    detail_add(L, "status", ROLE_TITLE);
    detail_at(L, c.retries);
    detail_add(L, "retries", ROLE_TITLE);
    if (c.took) {
        detail_at(L, c.took);
        detail_add(L, "took", ROLE_TITLE);
    }
    if (c.started) {
        detail_at(L, c.started);
        detail_add(L, "started", ROLE_TITLE);
    }
    detail_at(L, c.comp);
    detail_add(L, "compensation", ROLE_TITLE);
    detail_end(L, NULL, NULL, NULL);
    json_array_foreach(steps, i, step) detail_step(L, &c, step, i, saga_status);
    detail_end(L, NULL, NULL, NULL);
}

/* ---- layout ------------------------------------------------------------ */

static void detail_layout(struct detail *d)
{
    struct detail_layout L;

    detail_lines_free(d);
    if (d->item == NULL || d->width <= 0)
        return;
    memset(&L, 0, sizeof(L));
    L.d = d;
    L.width = d->width;
    L.max_indent = d->width / 2;
    L.flags = draw_sanitize_flags();
    L.ascii = (L.flags & SANITIZE_ASCII) != 0;
    L.ellipsis = L.ascii ? "..." : "\xe2\x80\xa6";
    buf_init(&L.text);

    json_t *steps = json_object_get(d->item, "steps");
    if (json_is_array(steps)) {
        detail_timeline(&L, d->item, steps);
        L.forced = "/steps";
    }
    if (json_is_object(d->item) && json_object_size(d->item) > 0) {
        detail_members(&L, d->item, "", 0, NULL, false, NULL);
    } else {
        detail_begin(&L, 0);
        detail_value(&L, d->item, "", "", 0, NULL, false, NULL);
    }
    buf_done(&L.text);
    free(L.spans);
}

/* Keeps the cursor on a line and in view of body rows. */
static void detail_clamp(struct detail *d, int body)
{
    size_t rows = body > 0 ? (size_t)body : 1;
    if (d->nlines == 0) {
        d->top = d->cursor = 0;
        return;
    }
    if (d->cursor >= d->nlines)
        d->cursor = d->nlines - 1;
    if (d->top + rows > d->nlines)
        d->top = d->nlines > rows ? d->nlines - rows : 0;
    if (d->cursor < d->top)
        d->top = d->cursor;
    if (d->cursor >= d->top + rows)
        d->top = d->cursor - rows + 1;
}

/* ---- public ------------------------------------------------------------ */

void detail_init(struct detail *d)
{
    memset(d, 0, sizeof(*d));
}

void detail_done(struct detail *d)
{
    detail_lines_free(d);
    detail_unfolded_clear(d);
    json_decref(d->item);
    free(d->title);
    memset(d, 0, sizeof(*d));
}

void detail_set(struct detail *d, const char *title, json_t *item)
{
    char *t = xstrdup(title != NULL ? title : "");
    bool same = d->title != NULL && strcmp(d->title, t) == 0;
    json_t *old = d->item;

    d->item = item;
    json_decref(old);
    free(d->title);
    d->title = t;
    if (!same) {
        detail_unfolded_clear(d);
        d->top = d->cursor = 0;
    }
    detail_layout(d);
    if (d->nlines > 0) {
        if (d->cursor >= d->nlines)
            d->cursor = d->nlines - 1;
        if (d->top > d->cursor)
            d->top = d->cursor;
    }
}

void detail_draw(struct detail *d, WINDOW *w, int y, int x, int h, int width)
{
    char pos[64] = "";
    int pw = 0;

    if (h <= 0 || width <= 0)
        return;
    if (width != d->width || (d->lines == NULL && d->item != NULL)) {
        d->width = width;
        detail_layout(d);
    }
    detail_clamp(d, h - 1);

    draw_fill(w, y, x, width, ROLE_TITLE);
    if (d->nlines > 0) {
        snprintf(pos, sizeof(pos), "%zu/%zu", d->cursor + 1, d->nlines);
        pw = (int)strlen(pos);
        if (pw + 1 >= width)
            pw = 0;
    }
    draw_text(w, y, x, pw > 0 ? width - pw - 1 : width, d->title, ROLE_TITLE, 0);
    if (pw > 0)
        draw_text(w, y, x + width - pw, pw, pos, ROLE_TITLE, DRAW_RIGHT);

    for (int r = 1; r < h; r++) {
        size_t i = d->top + (size_t)(r - 1);
        if (d->item == NULL || i >= d->nlines) {
            draw_fill(w, y + r, x, width, ROLE_DEFAULT);
            if (d->item == NULL && r == 1)
                draw_text(w, y + r, x, width, "nothing selected", ROLE_DIM, 0);
            continue;
        }
        const struct detail_line *ln = &d->lines[i];
        bool sel = i == d->cursor;
        draw_fill(w, y + r, x, width, sel ? ROLE_SELECTED : ROLE_DEFAULT);
        for (size_t s = 0; s < ln->nspans; s++) {
            const struct detail_span *sp = &ln->spans[s];
            int avail = width - sp->x;
            if (avail <= 0)
                break;
            if (sp->maxw > 0 && sp->maxw < avail)
                avail = sp->maxw;
            draw_textn(w, y + r, x + sp->x, avail, ln->text + sp->off, sp->len,
                       sel ? ROLE_SELECTED : sp->role, 0);
        }
    }
}

/* The line that begins the value at path, or the cursor's when none. */
static size_t detail_find(const struct detail *d, const char *path)
{
    for (size_t i = 0; i < d->nlines; i++)
        if (d->lines[i].anchor != NULL && strcmp(d->lines[i].anchor, path) == 0)
            return i;
    return d->cursor;
}

/* Whether a line's path is path or inside it. */
static bool detail_within(const char *line_path, const char *path)
{
    size_t n = strlen(path);
    return line_path != NULL && strncmp(line_path, path, n) == 0 &&
           (line_path[n] == '\0' || line_path[n] == '/');
}

/* The last line of the value at path that begins on line first. */
static size_t detail_value_last(const struct detail *d, size_t first, const char *path)
{
    size_t i = first;
    while (i + 1 < d->nlines && (detail_within(d->lines[i + 1].fold, path) ||
                                 detail_within(d->lines[i + 1].anchor, path)))
        i++;
    return i;
}

/* Enter: folds or unfolds the value at the cursor, keeping the cursor on
 * it and at the same height; on a timeline step, shows that step. */
static bool detail_toggle(struct detail *d, int body)
{
    bool rc = false;
    char *target = NULL;

    if (d->cursor >= d->nlines)
        goto out;
    const struct detail_line *ln = &d->lines[d->cursor];
    size_t row = d->cursor >= d->top ? d->cursor - d->top : 0;
    if (ln->jump != NULL) {
        target = xstrdup(ln->jump);
        char *parent = xstrndup(target, (size_t)(strrchr(target, '/') - target));
        detail_unfold(d, parent);
        free(parent);
        detail_layout(d);
        d->cursor = detail_find(d, target);
        d->top = d->cursor;
    } else if (ln->fold != NULL) {
        target = xstrdup(ln->fold);
        if (detail_is_unfolded(d, target))
            detail_refold(d, target);
        else
            detail_unfold(d, target);
        detail_layout(d);
        d->cursor = detail_find(d, target);
        d->top = d->cursor >= row ? d->cursor - row : 0;
        /* Scroll what was unfolded into view, its first line first. */
        size_t last = detail_value_last(d, d->cursor, target);
        if (body > 0 && last >= d->top + (size_t)body)
            d->top = last - (size_t)body + 1;
        if (d->top > d->cursor)
            d->top = d->cursor;
    } else {
        goto out;
    }
    detail_clamp(d, body);
    rc = true;
out:
    free(target);
    return rc;
}

bool detail_key(struct detail *d, int key, int h)
{
    int body = h > 1 ? h - 1 : 1;
    size_t page = (size_t)body;

    if (d->item == NULL || d->nlines == 0)
        return false;
    switch (key) {
    case KEY_UP:
    case 'k':
        if (d->cursor > 0)
            d->cursor--;
        break;
    case KEY_DOWN:
    case 'j':
        if (d->cursor + 1 < d->nlines)
            d->cursor++;
        break;
    case KEY_PPAGE:
        d->cursor = d->cursor > page ? d->cursor - page : 0;
        d->top = d->top > page ? d->top - page : 0;
        break;
    case KEY_NPAGE:
        d->cursor += page;
        d->top += page;
        break;
    case 'g':
    case KEY_HOME:
        d->cursor = d->top = 0;
        break;
    case 'G':
    case KEY_END:
        d->cursor = d->nlines - 1;
        break;
    case '\n':
    case '\r':
    case KEY_ENTER:
    case ' ':
        return detail_toggle(d, body);
    default:
        return false;
    }
    detail_clamp(d, body);
    return true;
}
