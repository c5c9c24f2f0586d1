/* Aligned, sanitized tables and detail listings for the command line. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "core/out.h"
#include "core/table.h"
#include "util/sanitize.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

/* The raw text of one cell before sanitizing; heap string. */
static char *table_cell_text(const json_t *v, enum table_kind kind)
{
    char buf[64];
    if (v == NULL || json_is_null(v))
        return xstrdup("-");
    switch (kind) {
    case TABLE_TIME:
        if (json_is_string(v)) {
            const char *s = json_string_value(v);
            int64_t us;
            if (time_parse_iso(s, &us)) {
                time_t t = (time_t)(us / 1000000);
                struct tm tm;
                gmtime_r(&t, &tm);
                strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
                return xstrdup(buf);
            }
            return xstrdup(s);
        }
        break;
    case TABLE_SPAN:
        if (json_is_integer(v))
            return xstrdup(time_format_span(json_integer_value(v) * 1000, buf, sizeof(buf)));
        break;
    case TABLE_INT:
    case TABLE_TEXT:
        break;
    }
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_true(v))
        return xstrdup("yes");
    if (json_is_false(v))
        return xstrdup("no");
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    return s != NULL ? s : xstrdup("?");
}

static size_t table_terminal_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 0; /* not a terminal: no limit but the columns' own */
}

void table_print(struct session *s, const struct table_col *cols, size_t ncols,
                 const json_t *rows, const char *next)
{
    size_t nrows = json_array_size(rows);
    size_t *width = xcalloc(ncols, sizeof(*width));
    char **cells = xcalloc(nrows * ncols + 1, sizeof(*cells));

    for (size_t c = 0; c < ncols; c++)
        width[c] = strlen(cols[c].title);
    for (size_t r = 0; r < nrows; r++) {
        const json_t *row = json_array_get(rows, r);
        for (size_t c = 0; c < ncols; c++) {
            char *raw = table_cell_text(json_object_get(row, cols[c].field), cols[c].kind);
            size_t w = sanitize_width(raw, strlen(raw), s->text_flags);
            cells[r * ncols + c] = raw;
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t c = 0; c < ncols; c++)
        if (cols[c].max > 0 && width[c] > cols[c].max)
            width[c] = cols[c].max > strlen(cols[c].title) ? cols[c].max : strlen(cols[c].title);
    /* On a terminal, narrow the widest column until the table fits. */
    size_t term = table_terminal_width();
    if (term > 0) {
        for (;;) {
            size_t total = 0, widest = 0;
            for (size_t c = 0; c < ncols; c++) {
                total += width[c] + (c + 1 < ncols ? 2 : 0);
                if (width[c] > width[widest])
                    widest = c;
            }
            if (total <= term || width[widest] <= 6)
                break;
            width[widest]--;
        }
    }

    struct buf line;
    buf_init(&line);
    for (size_t c = 0; c < ncols; c++) {
        size_t w = sanitize_append(&line, cols[c].title, strlen(cols[c].title), width[c], 0);
        if (c + 1 < ncols)
            for (size_t i = w; i < width[c] + 2; i++)
                buf_addc(&line, ' ');
    }
    out_printf(s, "%s\n", buf_get(&line));
    for (size_t r = 0; r < nrows; r++) {
        buf_reset(&line);
        for (size_t c = 0; c < ncols; c++) {
            const char *raw = cells[r * ncols + c];
            size_t w = sanitize_width(raw, strlen(raw), s->text_flags);
            if (cols[c].kind == TABLE_INT)
                for (size_t i = w < width[c] ? w : width[c]; i < width[c]; i++)
                    buf_addc(&line, ' ');
            size_t got = sanitize_append(&line, raw, strlen(raw), width[c], s->text_flags);
            if (c + 1 < ncols) {
                size_t pad = cols[c].kind == TABLE_INT ? 2 : width[c] - got + 2;
                for (size_t i = 0; i < pad; i++)
                    buf_addc(&line, ' ');
            }
        }
        /* trailing blanks of the last column are noise */
        while (line.len > 0 && line.data[line.len - 1] == ' ')
            line.data[--line.len] = '\0';
        out_printf(s, "%s\n", buf_get(&line));
    }
    if (next != NULL) {
        char *safe = out_safe(s, next, 0);
        out_printf(s, "next page: --after %s\n", safe);
        free(safe);
    }
    buf_done(&line);
    for (size_t i = 0; i < nrows * ncols; i++)
        free(cells[i]);
    free(cells);
    free(width);
}

static void table_detail_value(struct session *s, struct buf *b, const json_t *v, int depth);

static void table_detail_indent(struct buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        buf_adds(b, "  ");
}

static void table_detail_scalar(struct session *s, struct buf *b, const json_t *v, int depth)
{
    char *raw = table_cell_text(v, TABLE_TEXT);
    /* multi-line values (stack traces) keep their lines, each indented */
    struct buf safe;
    buf_init(&safe);
    sanitize_append(&safe, raw, strlen(raw), 0, s->text_flags | SANITIZE_NEWLINES);
    const char *p = buf_get(&safe);
    bool multi = strchr(p, '\n') != NULL;
    if (multi) {
        buf_addc(b, '\n');
        /* (multi-line values start on their own lines, indented) */
        while (*p) {
            size_t n = strcspn(p, "\n");
            table_detail_indent(b, depth + 1);
            buf_add(b, p, n);
            buf_addc(b, '\n');
            p += n + (p[n] == '\n');
        }
    } else {
        buf_addc(b, ' ');
        buf_adds(b, p);
        buf_addc(b, '\n');
    }
    buf_done(&safe);
    free(raw);
}

static void table_detail_value(struct session *s, struct buf *b, const json_t *v, int depth)
{
    if (json_is_object(v) && json_object_size(v) > 0) {
        const char *key;
        json_t *child;
        buf_addc(b, '\n');
        json_object_foreach((json_t *)v, key, child) {
            table_detail_indent(b, depth + 1);
            sanitize_append(b, key, strlen(key), 0, s->text_flags);
            buf_addc(b, ':');
            table_detail_value(s, b, child, depth + 1);
        }
    } else if (json_is_array(v) && json_array_size(v) > 0) {
        size_t i;
        json_t *child;
        buf_addc(b, '\n');
        json_array_foreach(v, i, child) {
            table_detail_indent(b, depth + 1);
            buf_addc(b, '-');
            table_detail_value(s, b, child, depth + 1);
        }
    } else {
        table_detail_scalar(s, b, v, depth);
    }
}

void table_print_detail(struct session *s, const json_t *obj)
{
    struct buf b;
    const char *key;
    json_t *v;
    buf_init(&b);
    json_object_foreach((json_t *)obj, key, v) {
        sanitize_append(&b, key, strlen(key), 0, s->text_flags);
        buf_addc(&b, ':');
        table_detail_value(s, &b, v, 0);
    }
    out_printf(s, "%s", buf_get(&b));
    buf_done(&b);
}
