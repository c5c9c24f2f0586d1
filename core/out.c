/* Command-line output. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/out.h"
#include "util/sanitize.h"
#include "util/xmalloc.h"

/* The capture of out_capture_begin; NULL: stderr. Per thread, so a verb
 * run by a console worker never reaches the console's terminal. */
static _Thread_local FILE *out_capture;

size_t out_json_flags(FILE *f)
{
    /* On a terminal, JSON shows every non-ASCII character as \uXXXX: a
     * bidi control or other format character in the data then cannot
     * reorder or hide what the operator reads. Piped, the data stays as
     * UTF-8 for jq. Control characters are escaped by JSON itself. */
    return JSON_PRESERVE_ORDER | (isatty(fileno(f)) ? JSON_ENSURE_ASCII : 0);
}

json_t *out_jstr(const char *s)
{
    if (s == NULL)
        return json_null();
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    char *safe = sanitize_dup(s, 0);
    j = json_string(safe);
    free(safe);
    return j != NULL ? j : json_string("");
}

void out_json(struct session *s, json_t *v)
{
    json_dumpf(v, s->out, out_json_flags(s->out) | JSON_INDENT(2));
    fputc('\n', s->out);
    json_decref(v);
}

void out_printf(struct session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(s->out, fmt, ap);
    va_end(ap);
}

char *out_safe(const struct session *s, const char *text, size_t width)
{
    struct buf b;
    buf_init(&b);
    if (text != NULL)
        sanitize_append(&b, text, strlen(text), width, s->text_flags);
    return buf_take(&b);
}

void out_error(const char *msg)
{
    char *safe = sanitize_dup(msg, sanitize_terminal_flags());
    fprintf(out_diag(), "opsdeck: %s\n", safe);
    free(safe);
}

void out_capture_begin(FILE *diag)
{
    out_capture = diag;
}

void out_capture_end(void)
{
    out_capture = NULL;
}

bool out_capturing(void)
{
    return out_capture != NULL;
}

FILE *out_diag(void)
{
    return out_capture != NULL ? out_capture : stderr;
}

bool out_interactive(void)
{
    return out_capture == NULL && isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
}
