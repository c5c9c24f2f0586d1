/* The console's filter line, parsed into the flags of a view's list verb. */
#include <config.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/filter.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

/* The text of an empty filter: static, so an empty filter owns nothing. */
static char filter_none[1];

/* One word of the line, its quotes removed. key_len is one more than the
 * length of a bare key before the first '=' (reason=x: 7), 0 when the word
 * has no key: quotes before the '=' make it text ("a=b"). */
struct filter_word {
    char *raw;  /* as typed, for messages */
    char *text; /* unquoted */
    size_t key_len;
    bool quoted; /* a quote was part of it: never a DUR or a boolean */
};

/* Flags that page rather than filter: the console sets them itself. */
static bool filter_is_paging(const char *flag)
{
    return strcmp(flag, "--limit") == 0 || strcmp(flag, "--after") == 0;
}

/* A DUR word needs a unit: a bare number is more likely an id to search
 * for than a number of seconds (since=N still takes one). */
static bool filter_is_dur(const char *word)
{
    int64_t ms;
    bool unit = false;
    for (const char *p = word; *p; p++)
        unit = unit || isalpha((unsigned char)*p);
    return unit && time_parse_duration(word, &ms);
}

static bool filter_key_char(char ch)
{
    return islower((unsigned char)ch) || isdigit((unsigned char)ch) || ch == '_' || ch == '-';
}

/* The index of the boolean flag --word of cmd, or -1. */
static int filter_boolean(const struct command *cmd, const char *word)
{
    char flag[64];
    if (snprintf(flag, sizeof(flag), "--%s", word) >= (int)sizeof(flag))
        return -1;
    int i = command_flag_index(cmd, flag);
    return i >= 0 && cmd->opts[i].metavar == NULL && !filter_is_paging(flag) ? i : -1;
}

/* Is word a boolean of some list verb (so it is a filter, not text)? */
static bool filter_any_boolean(const char *word)
{
    size_t n;
    const struct command *const *rows = command_table(&n);
    for (size_t i = 0; i < n; i++)
        if (rows[i]->fetch != NULL && filter_boolean(rows[i], word) >= 0)
            return true;
    return false;
}

void filter_keys(const struct command *cmd, char *buf, size_t size)
{
    struct buf b;
    bool since = false, search = false;

    buf_init(&b);
    for (int i = 0; cmd->opts != NULL && cmd->opts[i].name != NULL && i < COMMAND_FLAGS_MAX; i++) {
        const char *flag = cmd->opts[i].name;
        if (filter_is_paging(flag))
            continue;
        if (strcmp(flag, "--since") == 0)
            since = true;
        else if (strcmp(flag, "--search") == 0)
            search = true;
        else
            buf_addf(&b, "%s%s", b.len > 0 ? ", " : "", flag + 2);
    }
    if (since)
        buf_addf(&b, "%sDUR", b.len > 0 ? ", " : "");
    if (search)
        buf_addf(&b, "%stext", b.len > 0 ? ", " : "");
    snprintf(buf, size, "%s", buf_get(&b));
    buf_done(&b);
}

/* A usage error naming the word, and what this view knows. */
static enum status filter_fail(const struct command *cmd, struct error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum status filter_fail(const struct command *cmd, struct error *err, const char *fmt, ...)
{
    char what[384], keys[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    filter_keys(cmd, keys, sizeof(keys));
    if (keys[0] == '\0')
        return error_set(err, STATUS_USAGE, "filter: %s; this view has no filters", what);
    return error_set(err, STATUS_USAGE, "filter: %s; this view filters by %s", what, keys);
}

static void filter_words_free(struct filter_word *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(w[i].raw);
        free(w[i].text);
    }
    free(w);
}

/* Splits text into words at unquoted blanks. "..." and '...' group;
 * inside "...", a backslash takes the next character as it is. */
static enum status filter_split(const struct command *cmd, const char *text,
                                struct filter_word **out, size_t *nout, struct error *err)
{
    struct filter_word *w = NULL;
    size_t n = 0;
    enum status rc = STATUS_OK;
    const char *p = text;

    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        const char *start = p;
        struct buf b;
        char quote = 0;
        bool quoted = false, bare = true;
        size_t key_len = 0;
        buf_init(&b);
        for (; *p != '\0' && (quote != 0 || !isspace((unsigned char)*p)); p++) {
            if (quote == 0 && (*p == '"' || *p == '\'')) {
                quote = *p;
                quoted = true;
            } else if (quote != 0 && *p == quote) {
                quote = 0;
            } else if (quote == '"' && *p == '\\' && p[1] != '\0') {
                buf_addc(&b, *++p);
            } else {
                if (*p == '=' && bare && key_len == 0 && !quoted)
                    key_len = b.len + 1;
                else if (key_len == 0 && !filter_key_char(*p))
                    bare = false;
                buf_addc(&b, *p);
            }
        }
        if (quote != 0) {
            char *raw = xstrndup(start, (size_t)(p - start));
            rc = filter_fail(cmd, err, "missing closing %c in '%s'", quote, raw);
            free(raw);
            buf_done(&b);
            goto out;
        }
        w = xreallocarray(w, n + 1, sizeof(*w));
        w[n].raw = xstrndup(start, (size_t)(p - start));
        w[n].text = buf_take(&b);
        w[n].key_len = key_len;
        w[n].quoted = quoted;
        n++;
    }
out:
    if (rc != STATUS_OK) {
        filter_words_free(w, n);
        w = NULL;
        n = 0;
    }
    *out = w;
    *nout = n;
    return rc;
}

/* Sets flag i of f to value (taken). */
static enum status filter_set(struct filter *f, int i, char *value, const struct filter_word *w,
                              struct error *err)
{
    if (f->storage[i] != NULL && f->cmd->opts[i].metavar != NULL) {
        enum status rc =
            filter_fail(f->cmd, err, "'%s': %s given twice", w->raw, f->cmd->opts[i].name + 2);
        free(value);
        return rc;
    }
    free(f->storage[i]);
    f->storage[i] = value;
    f->args.value[i] = value;
    return STATUS_OK;
}

/* key=value. */
static enum status filter_keyed(struct filter *f, const struct filter_word *w, struct error *err)
{
    const struct command *cmd = f->cmd;
    size_t klen = w->key_len - 1;
    const char *value = w->text + klen + 1;
    char flag[72];
    int64_t ms, us;

    if (klen == 0)
        return filter_fail(cmd, err, "'%s': a key goes before '='", w->raw);
    snprintf(flag, sizeof(flag), "--%.*s", (int)(klen < 64 ? klen : 64), w->text);
    if (filter_is_paging(flag))
        return filter_fail(cmd, err, "'%s': %s is not a filter (the view pages by itself)", w->raw,
                           flag);
    int i = klen < 64 ? command_flag_index(cmd, flag) : -1;
    if (i < 0)
        return filter_fail(cmd, err, "unknown key '%s' in '%s' (quote the word to search for it)",
                           flag + 2, w->raw);
    if (cmd->opts[i].metavar == NULL)
        return filter_fail(cmd, err, "'%s': %s takes no value (write just '%s')", w->raw, flag + 2,
                           flag + 2);
    if (*value == '\0')
        return filter_fail(cmd, err, "'%s': %s needs a value", w->raw, flag + 2);
    if (strcmp(flag, "--since") == 0 && !time_parse_duration(value, &ms))
        return filter_fail(cmd, err, "'%s': expected a duration like 15m, 24h, 7d", w->raw);
    if (strcmp(flag, "--until") == 0 && !time_parse_point(value, time_now_us(), &us))
        return filter_fail(cmd, err, "'%s': expected an ISO 8601 time or a duration ago", w->raw);
    return filter_set(f, i, xstrdup(value), w, err);
}

/* Everything that is not key=value; free text is collected in search. */
static enum status filter_word(struct filter *f, const struct filter_word *w, struct buf *search,
                               const struct filter_word **first_text, struct error *err)
{
    const struct command *cmd = f->cmd;
    int i;

    if (w->key_len > 0) {
        return filter_keyed(f, w, err);
    } else if (w->quoted) {
        if (w->text[0] == '\0')
            return STATUS_OK; /* "" searches for nothing */
    } else if (strncmp(w->text, "--", 2) == 0) {
        return filter_fail(cmd, err, "'%s': write key=value (reason=x) or a word, not a flag",
                           w->raw);
    } else if ((i = filter_boolean(cmd, w->text)) >= 0) {
        return filter_set(f, i, xstrdup(""), w, err);
    } else if (filter_any_boolean(w->text)) {
        return filter_fail(cmd, err,
                           "'%s' is not a filter of this view (quote it to search "
                           "for the word)",
                           w->raw);
    } else if (filter_is_dur(w->text)) {
        i = command_flag_index(cmd, "--since");
        if (i < 0)
            return filter_fail(cmd, err, "'%s': this view has no time filter", w->raw);
        return filter_set(f, i, xstrdup(w->text), w, err);
    }
    if (*first_text == NULL)
        *first_text = w;
    buf_addf(search, "%s%s", search->len > 0 ? " " : "", w->text);
    return STATUS_OK;
}

/* Does word need quotes to read back as one word of free text? */
static bool filter_needs_quotes(const char *word)
{
    if (*word == '\0' || strncmp(word, "--", 2) == 0 || filter_is_dur(word) ||
        filter_any_boolean(word))
        return true;
    for (const char *p = word; *p; p++)
        if (isspace((unsigned char)*p) || *p == '"' || *p == '\'' || *p == '=')
            return true;
    return false;
}

static void filter_add_quoted(struct buf *b, const char *s)
{
    buf_addc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_addc(b, '\\');
        buf_addc(b, *p);
    }
    buf_addc(b, '"');
}

char *filter_quote(const char *s)
{
    struct buf b;
    buf_init(&b);
    filter_add_quoted(&b, s);
    return buf_take(&b);
}

/* The search text as words that read back the same, or as search="..."
 * when its blanks would not survive being split and joined again. */
static void filter_render_search(struct buf *b, const char *search)
{
    const char *p = search;
    bool plain = *p != '\0' && !isspace((unsigned char)*p);
    for (; plain && *p; p++)
        if (isspace((unsigned char)*p) && (*p != ' ' || isspace((unsigned char)p[1]) || !p[1]))
            plain = false;
    if (!plain) {
        buf_adds(b, "search=");
        filter_add_quoted(b, search);
        return;
    }
    char *copy = xstrdup(search), *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
        if (b->len > 0 && b->data[b->len - 1] != ' ')
            buf_addc(b, ' ');
        if (filter_needs_quotes(w))
            filter_add_quoted(b, w);
        else
            buf_adds(b, w);
    }
    free(copy);
}

/* The normalised text: flags in the row's order, a DUR bare, text last. */
static char *filter_render(const struct filter *f)
{
    struct buf b;
    const char *search = NULL;

    buf_init(&b);
    for (int i = 0; f->cmd->opts != NULL && f->cmd->opts[i].name != NULL && i < COMMAND_FLAGS_MAX;
         i++) {
        const char *flag = f->cmd->opts[i].name, *v = f->storage[i];
        if (v == NULL)
            continue;
        if (strcmp(flag, "--search") == 0) {
            search = v;
            continue;
        }
        if (b.len > 0)
            buf_addc(&b, ' ');
        if (f->cmd->opts[i].metavar == NULL) {
            buf_adds(&b, flag + 2);
        } else if (strcmp(flag, "--since") == 0 && filter_is_dur(v)) {
            buf_adds(&b, v);
        } else {
            buf_addf(&b, "%s=", flag + 2);
            bool quote = *v == '\0' || strchr(v, '"') != NULL || strchr(v, '\'') != NULL;
            for (const char *p = v; *p && !quote; p++)
                quote = isspace((unsigned char)*p);
            if (quote)
                filter_add_quoted(&b, v);
            else
                buf_adds(&b, v);
        }
    }
    if (search != NULL) {
        if (b.len > 0)
            buf_addc(&b, ' ');
        filter_render_search(&b, search);
    }
    if (b.len == 0) {
        buf_done(&b);
        return filter_none;
    }
    return buf_take(&b);
}

static void filter_empty(struct filter *f, const struct command *cmd)
{
    memset(f, 0, sizeof(*f));
    f->cmd = cmd;
    f->text = filter_none;
}

enum status filter_parse(const struct command *cmd, const char *text, struct filter *f,
                         struct error *err)
{
    struct filter tmp;
    struct filter_word *words = NULL;
    const struct filter_word *first_text = NULL;
    struct buf search;
    size_t n = 0;
    enum status rc;

    filter_empty(&tmp, cmd);
    buf_init(&search);
    rc = filter_split(cmd, text != NULL ? text : "", &words, &n, err);
    for (size_t i = 0; rc == STATUS_OK && i < n; i++)
        rc = filter_word(&tmp, &words[i], &search, &first_text, err);
    if (rc == STATUS_OK && first_text != NULL) {
        int i = command_flag_index(cmd, "--search");
        if (i < 0)
            rc = filter_fail(cmd, err, "'%s': this view has no text search", first_text->raw);
        else if (tmp.storage[i] != NULL)
            rc = filter_fail(cmd, err, "'%s': free text and search= together", first_text->raw);
        else
            rc = filter_set(&tmp, i, buf_take(&search), first_text, err);
    }
    if (rc != STATUS_OK)
        goto out;
    tmp.text = filter_render(&tmp);
    *f = tmp;
    filter_empty(&tmp, cmd);
out:
    filter_done(&tmp);
    if (rc != STATUS_OK)
        filter_empty(f, cmd);
    buf_done(&search);
    filter_words_free(words, n);
    return rc;
}

void filter_done(struct filter *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < COMMAND_FLAGS_MAX; i++)
        free(f->storage[i]);
    if (f->text != filter_none)
        free(f->text);
    filter_empty(f, f->cmd);
}

void filter_copy(struct filter *dst, const struct filter *src)
{
    filter_empty(dst, src->cmd);
    for (size_t i = 0; i < COMMAND_FLAGS_MAX; i++) {
        if (src->storage[i] == NULL)
            continue;
        dst->storage[i] = xstrdup(src->storage[i]);
        dst->args.value[i] = dst->storage[i];
    }
    dst->text = src->text != NULL && src->text != filter_none ? xstrdup(src->text) : filter_none;
}

void filter_page_args(const struct filter *f, size_t limit, const char *after, char limit_buf[16],
                      struct command_args *out)
{
    *out = f->args;
    out->pos = NULL;
    out->npos = 0;
    limit_buf[0] = '\0';
    if (f->cmd == NULL)
        return;
    int il = command_flag_index(f->cmd, "--limit");
    int ia = command_flag_index(f->cmd, "--after");
    /* limit 0 leaves the verb's default. */
    if (il >= 0 && limit > 0) {
        /* Clamped so the digits fit; the verb refuses what is too many. */
        snprintf(limit_buf, 16, "%u", (unsigned)(limit < 99999999 ? limit : 99999999));
        out->value[il] = limit_buf;
    }
    if (ia >= 0)
        out->value[ia] = after;
}

enum status filter_verb_args(const struct filter *f, const struct command *verb, char ***argv,
                             size_t *argc, struct error *err)
{
    if (f->cmd == NULL || f->cmd->opts == NULL)
        return STATUS_OK;
    for (int i = 0; f->cmd->opts[i].name != NULL && i < COMMAND_FLAGS_MAX; i++) {
        const char *flag = f->cmd->opts[i].name, *value = f->args.value[i];
        if (value == NULL || filter_is_paging(flag))
            continue;
        if (command_flag_index(verb, flag) < 0)
            return error_set(err, STATUS_USAGE,
                             "the filter's %s= does not apply to 'opsdeck %s'; nothing changed",
                             flag + 2, verb->name);
        *argv = xreallocarray(*argv, *argc + 3, sizeof(**argv));
        (*argv)[(*argc)++] = xstrdup(flag);
        if (f->cmd->opts[i].metavar != NULL)
            (*argv)[(*argc)++] = xstrdup(value);
        (*argv)[*argc] = NULL;
    }
    return STATUS_OK;
}
