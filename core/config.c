/* The effective configuration: every option's value, checked against the
 * option table, with the source and origin that set it, loaded from the
 * config file, OPSDECK_* variables and flags in order of precedence. */
#include <config.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/config.h"
#include "util/buf.h"
#include "util/mask.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define CONFIG_LINE_MAX  4096
#define CONFIG_FILE_MAX  (1024 * 1024)
#define CONFIG_IDENT_MAX 63
#define CONFIG_WHY_MAX   400

struct config_value {
    char *text; /* canonical text; NULL when unset */
    int64_t ms; /* OPTION_TYPE_DURATION */
    bool yes;   /* OPTION_TYPE_BOOL */
    char **words;
    size_t nwords; /* OPTION_TYPE_LIST */
    enum config_source source;
    char *origin; /* as config_origin shows it */
};

struct config {
    /* OPTION_ROUTE's slot is unused: its value is routes[0]. */
    struct config_value values[OPTION_COUNT];
    struct config_route *routes; /* [0] is the default route, queue NULL */
    size_t nroutes;
};

/* A value that passed every check, converted but not stored yet. */
struct config_parsed {
    char *text;
    int64_t ms;
    bool yes;
    char **words;
    size_t nwords;
    char *queue; /* OPTION_ROUTE: the queue, or NULL for the default route */
};

/* One line of the config file, checked, waiting to be applied. */
struct config_entry {
    char *section;
    enum option_id id;
    char *queue; /* OPTION_ROUTE only; what makes two route keys the same */
    char *key;   /* as written, for the duplicate message */
    char *text;  /* what config_apply receives */
    size_t line;
};

struct config_entries {
    struct config_entry *items;
    size_t count, cap;
    char **sections; /* every section named in the file, in order, once */
    size_t nsections;
};

static bool config_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void config_words_free(char **words, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(words[i]);
    free(words);
}

static void config_parsed_done(struct config_parsed *p)
{
    free(p->text);
    config_words_free(p->words, p->nwords);
    free(p->queue);
    memset(p, 0, sizeof(*p));
}

/* Returns a copy of s[0..len) without leading and trailing blanks. */
static char *config_trim_dup(const char *s, size_t len)
{
    while (len > 0 && config_is_blank(*s)) {
        s++;
        len--;
    }
    while (len > 0 && config_is_blank(s[len - 1]))
        len--;
    return xstrndup(s, len);
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool config_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t more;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            more = 1, min = 0x80, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2, min = 0x800, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= more)
            return false;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += more + 1;
    }
    return true;
}

/* "1h30m", "2s", "500ms", "1s500ms": the largest units first, zero parts
 * left out, so every duration has exactly one spelling. */
static void config_format_ms(int64_t ms, char *out, size_t size)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t used = 0;

    out[0] = '\0';
    if (ms == 0) {
        snprintf(out, size, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && used < size; i++) {
        int64_t n = ms / units[i].ms;
        if (n == 0)
            continue;
        ms -= n * units[i].ms;
        int w = snprintf(out + used, size - used, "%lld%s", (long long)n, units[i].unit);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static bool config_parse_bool(const char *text, bool *yes)
{
    static const char *const truths[] = {"true", "yes", "on", "1"};
    static const char *const lies[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof(truths) / sizeof(truths[0]); i++) {
        if (strcasecmp(text, truths[i]) == 0) {
            *yes = true;
            return true;
        }
        if (strcasecmp(text, lies[i]) == 0) {
            *yes = false;
            return true;
        }
    }
    return false;
}

static bool config_ident_valid(const char *text)
{
    size_t len = strlen(text);
    if (len == 0 || len > CONFIG_IDENT_MAX ||
        !((text[0] >= 'a' && text[0] <= 'z') || text[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static void config_parse_list(const char *text, struct config_parsed *out)
{
    struct buf joined;
    const char *p = text;

    buf_init(&joined);
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char *word = config_trim_dup(p, len);
        if (word[0] != '\0') {
            out->words = xreallocarray(out->words, out->nwords + 1, sizeof(*out->words));
            out->words[out->nwords++] = word;
            if (joined.len > 0)
                buf_addc(&joined, ',');
            buf_adds(&joined, word);
        } else {
            free(word);
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    out->text = buf_take(&joined);
}

/* "[QUEUE=]ROUTE". A queue name is used as a Redis channel or key and in
 * OPSDECK_ROUTE's comma-separated list, so blanks and commas are out. */
static bool config_parse_route(const char *text, struct config_parsed *out, char *why,
                               size_t whysize)
{
    const char *eq = strchr(text, '=');
    char *queue = NULL;
    char *route = NULL;
    bool ok = false;

    if (eq != NULL) {
        queue = config_trim_dup(text, (size_t)(eq - text));
        route = config_trim_dup(eq + 1, strlen(eq + 1));
        if (queue[0] == '\0') {
            snprintf(why, whysize,
                     "expected QUEUE=ROUTE with a queue name before '='; got '%.100s'", text);
            goto out;
        }
        if (strpbrk(queue, " \t,") != NULL) {
            snprintf(why, whysize, "queue name '%.100s' must not contain blanks or ','", queue);
            goto out;
        }
    } else {
        route = config_trim_dup(text, strlen(text));
    }
    if (!(strcmp(route, "publish") == 0 || (strncmp(route, "list:", 5) == 0 && route[5] != '\0') ||
          (strncmp(route, "stream:", 7) == 0 && route[7] != '\0'))) {
        snprintf(why, whysize, "expected publish, list:KEY or stream:KEY%s%.100s%s; got '%.100s'",
                 queue != NULL ? " for queue '" : "", queue != NULL ? queue : "",
                 queue != NULL ? "'" : "", route);
        goto out;
    }
    out->text = route;
    out->queue = queue;
    route = NULL;
    queue = NULL;
    ok = true;
out:
    free(route);
    free(queue);
    return ok;
}

/* Checks text against def's type and converts it into out; on failure
 * writes the reason (without the origin) into why and leaves out empty. */
static bool config_parse_value(const struct option_def *def, const char *text,
                               struct config_parsed *out, char *why, size_t whysize)
{
    char *trimmed = NULL;
    char shown[2][32];
    bool ok = false;

    memset(out, 0, sizeof(*out));
    /* A control character would let a value forge lines in audit records
     * or terminal output; no option has a use for one. */
    for (const char *p = text; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(why, whysize, "the value contains a control character");
            goto out;
        }
    }
    if (!config_utf8_valid((const unsigned char *)text, strlen(text))) {
        snprintf(why, whysize, "the value is not valid UTF-8");
        goto out;
    }
    trimmed = config_trim_dup(text, strlen(text));
    switch (def->type) {
    case OPTION_TYPE_STRING:
        out->text = xstrdup(text);
        break;
    case OPTION_TYPE_IDENT:
        if (!config_ident_valid(trimmed)) {
            snprintf(why, whysize,
                     "expected a lower-case identifier ([a-z_][a-z0-9_]*, at most %d "
                     "characters); got '%.100s'",
                     CONFIG_IDENT_MAX, trimmed);
            goto out;
        }
        out->text = xstrdup(trimmed);
        break;
    case OPTION_TYPE_BOOL:
        if (!config_parse_bool(trimmed, &out->yes)) {
            snprintf(why, whysize, "expected true or false (yes/no, on/off, 1/0); got '%.100s'",
                     trimmed);
            goto out;
        }
        out->text = xstrdup(out->yes ? "true" : "false");
        break;
    case OPTION_TYPE_DURATION:
        if (!time_parse_duration(trimmed, &out->ms)) {
            snprintf(why, whysize, "expected a duration like 500ms, 2s, 1m; got '%.100s'", trimmed);
            goto out;
        }
        if ((def->min != 0 || def->max != 0) && (out->ms < def->min || out->ms > def->max)) {
            config_format_ms(def->min, shown[0], sizeof(shown[0]));
            config_format_ms(def->max, shown[1], sizeof(shown[1]));
            if (def->min == 0)
                snprintf(why, whysize, "must be at most %s; got '%.100s'", shown[1], trimmed);
            else
                snprintf(why, whysize, "must be between %s and %s; got '%.100s'", shown[0],
                         shown[1], trimmed);
            goto out;
        }
        config_format_ms(out->ms, shown[0], sizeof(shown[0]));
        out->text = xstrdup(shown[0]);
        break;
    case OPTION_TYPE_LIST:
        config_parse_list(text, out);
        break;
    case OPTION_TYPE_ROUTE:
        if (!config_parse_route(text, out, why, whysize))
            goto out;
        break;
    }
    ok = true;
out:
    free(trimmed);
    if (!ok)
        config_parsed_done(out);
    return ok;
}

/* The name an error starts with when the caller gave no origin. */
static const char *config_label(const struct option_def *def, enum config_source source,
                                const char *origin)
{
    if (origin != NULL)
        return origin;
    if (source == CONFIG_ENV && def->env != NULL)
        return def->env;
    if (source == CONFIG_FLAG && def->flag != NULL)
        return def->flag;
    return def->key;
}

/* Errors read "ORIGIN: reason"; a file's origin "PATH:LINE" does not name
 * the option, so the key goes between them. */
static enum status config_fail(struct error *err, const struct option_def *def,
                               enum config_source source, const char *origin, const char *why)
{
    if (source == CONFIG_FILE && origin != NULL)
        return error_set(err, STATUS_USAGE, "%s: %s: %s", origin, def->key, why);
    return error_set(err, STATUS_USAGE, "%s: %s", config_label(def, source, origin), why);
}

/* Everything config_apply checks, without storing anything. */
static enum status config_validate(enum option_id id, const char *text, enum config_source source,
                                   const char *origin, struct config_parsed *out, struct error *err)
{
    const struct option_def *def = options_get(id);
    char why[CONFIG_WHY_MAX];

    memset(out, 0, sizeof(*out));
    if (text == NULL)
        return config_fail(err, def, source, origin, "a value is required");
    /* argv is readable by every user through ps and /proc; the file and
     * the environment are not. */
    if (source == CONFIG_FLAG && (def->where & OPTION_SECRET) && mask_has_password(text)) {
        const char *instead = id == OPTION_POSTGRES ? "use .pgpass, PGPASSWORD or a service file"
                              : id == OPTION_REDIS  ? "use redis_password_file or OPSDECK_REDIS"
                                                    : "use the config file or the environment";
        snprintf(why, sizeof(why),
                 "a password on the command line is visible to every user of this machine; %s",
                 instead);
        return config_fail(err, def, source, origin, why);
    }
    if (!config_parse_value(def, text, out, why, sizeof(why)))
        return config_fail(err, def, source, origin, why);
    return STATUS_OK;
}

static char *config_origin_text(const struct option_def *def, enum config_source source,
                                const char *origin)
{
    switch (source) {
    case CONFIG_DEFAULT:
        return xstrdup("default");
    case CONFIG_COMPUTED:
        return xstrdup("computed");
    case CONFIG_FILE:
        return xasprintf("file %s", origin != NULL ? origin : "?");
    case CONFIG_ENV:
        return xasprintf("env %s", config_label(def, source, origin));
    case CONFIG_FLAG:
        return xasprintf("flag %s", config_label(def, source, origin));
    }
    return xstrdup("?");
}

static void config_value_done(struct config_value *v)
{
    free(v->text);
    config_words_free(v->words, v->nwords);
    free(v->origin);
    memset(v, 0, sizeof(*v));
}

static void config_route_done(struct config_route *r)
{
    free((void *)r->queue);
    free((void *)r->route);
    free((void *)r->origin);
    memset(r, 0, sizeof(*r));
}

/* Stores a validated value, taking p's memory, when source ranks at least
 * as high as the value it would replace. */
static void config_commit(struct config *cfg, enum option_id id, struct config_parsed *p,
                          enum config_source source, const char *origin)
{
    const struct option_def *def = options_get(id);

    if (def->type == OPTION_TYPE_ROUTE) {
        struct config_route *slot = NULL;
        if (p->queue == NULL) {
            slot = &cfg->routes[0];
        } else {
            for (size_t i = 1; i < cfg->nroutes; i++)
                if (strcmp(cfg->routes[i].queue, p->queue) == 0)
                    slot = &cfg->routes[i];
        }
        if (slot == NULL) {
            cfg->routes = xreallocarray(cfg->routes, cfg->nroutes + 1, sizeof(*cfg->routes));
            slot = &cfg->routes[cfg->nroutes++];
            memset(slot, 0, sizeof(*slot));
            slot->queue = p->queue;
            p->queue = NULL;
        } else if (source < slot->source) {
            return;
        }
        free((void *)slot->route);
        free((void *)slot->origin);
        slot->route = p->text;
        p->text = NULL;
        slot->source = source;
        slot->origin = config_origin_text(def, source, origin);
        return;
    }

    struct config_value *v = &cfg->values[id];
    if (source < v->source)
        return;
    config_value_done(v);
    v->text = p->text;
    v->ms = p->ms;
    v->yes = p->yes;
    v->words = p->words;
    v->nwords = p->nwords;
    v->source = source;
    v->origin = config_origin_text(def, source, origin);
    p->text = NULL;
    p->words = NULL;
    p->nwords = 0;
}

enum status config_apply(struct config *cfg, enum option_id id, const char *text,
                         enum config_source source, const char *origin, struct error *err)
{
    struct config_parsed parsed;
    enum status st = config_validate(id, text, source, origin, &parsed, err);

    if (st == STATUS_OK)
        config_commit(cfg, id, &parsed, source, origin);
    config_parsed_done(&parsed);
    return st;
}

struct config *config_new(void)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));
    struct error err;

    cfg->routes = xcalloc(1, sizeof(*cfg->routes));
    cfg->routes[0].origin = xstrdup("default");
    cfg->nroutes = 1;
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct option_def *def = options_get((enum option_id)i);
        cfg->values[i].source = CONFIG_DEFAULT;
        cfg->values[i].origin = xstrdup("default");
        if (def->def != NULL &&
            config_apply(cfg, def->id, def->def, CONFIG_DEFAULT, NULL, &err) != STATUS_OK)
            xfatal("option table: bad default: %s", err.msg);
    }
    if (cfg->routes[0].route == NULL)
        xfatal("option table: route has no default");
    return cfg;
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < OPTION_COUNT; i++)
        config_value_done(&cfg->values[i]);
    for (size_t i = 0; i < cfg->nroutes; i++)
        config_route_done(&cfg->routes[i]);
    free(cfg->routes);
    free(cfg);
}

static char *config_strdup_or_null(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

/* A deep copy, so that a loader can apply to it and swap it in only when
 * every value was accepted. */
struct config *config_copy(const struct config *cfg)
{
    struct config *copy = xcalloc(1, sizeof(*copy));

    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct config_value *from = &cfg->values[i];
        struct config_value *to = &copy->values[i];
        *to = *from;
        to->text = config_strdup_or_null(from->text);
        to->origin = config_strdup_or_null(from->origin);
        to->words = NULL;
        if (from->nwords > 0) {
            to->words = xreallocarray(NULL, from->nwords, sizeof(*to->words));
            for (size_t k = 0; k < from->nwords; k++)
                to->words[k] = xstrdup(from->words[k]);
        }
    }
    copy->routes = xreallocarray(NULL, cfg->nroutes, sizeof(*copy->routes));
    copy->nroutes = cfg->nroutes;
    for (size_t i = 0; i < cfg->nroutes; i++) {
        copy->routes[i].queue = config_strdup_or_null(cfg->routes[i].queue);
        copy->routes[i].route = config_strdup_or_null(cfg->routes[i].route);
        copy->routes[i].source = cfg->routes[i].source;
        copy->routes[i].origin = config_strdup_or_null(cfg->routes[i].origin);
    }
    return copy;
}

/* Moves next's contents into cfg and frees what cfg held. */
static void config_replace(struct config *cfg, struct config *next)
{
    struct config old = *cfg;
    *cfg = *next;
    *next = old;
    config_free(next);
}

static void config_entries_done(struct config_entries *entries)
{
    for (size_t i = 0; i < entries->count; i++) {
        struct config_entry *e = &entries->items[i];
        free(e->section);
        free(e->queue);
        free(e->key);
        free(e->text);
    }
    free(entries->items);
    config_words_free(entries->sections, entries->nsections);
    memset(entries, 0, sizeof(*entries));
}

static bool config_same_queue(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool config_has_section(const struct config_entries *entries, const char *name)
{
    for (size_t i = 0; i < entries->nsections; i++)
        if (strcmp(entries->sections[i], name) == 0)
            return true;
    return false;
}

static void config_add_section(struct config_entries *entries, const char *name)
{
    if (config_has_section(entries, name))
        return;
    entries->sections =
        xreallocarray(entries->sections, entries->nsections + 1, sizeof(*entries->sections));
    entries->sections[entries->nsections++] = xstrdup(name);
}

static bool config_section_name_valid(const char *name)
{
    if (name[0] == '\0')
        return false;
    for (const char *p = name; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return false;
    return true;
}

/* Undoes the double quotes around a value: \" and \\ are the escapes; any
 * other backslash is kept, because conninfo strings have escapes of their
 * own. Returns NULL with *why set on a bad quote. */
static char *config_unquote(const char *value, const char **why)
{
    struct buf out;
    const char *p = value + 1;

    buf_init(&out);
    for (;;) {
        if (*p == '\0') {
            *why = "unterminated quote";
            buf_done(&out);
            return NULL;
        }
        if (*p == '"')
            break;
        if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
            p++;
        buf_addc(&out, *p++);
    }
    if (p[1] != '\0') {
        *why = "unexpected text after the closing quote";
        buf_done(&out);
        return NULL;
    }
    return buf_take(&out);
}

/* Checks one line (NUL-terminated, at most CONFIG_LINE_MAX bytes) and adds
 * its key to entries; *section is the section the line falls in. */
static enum status config_parse_line(const char *path, size_t lineno, const char *line,
                                     char **section, struct config_entries *entries,
                                     struct error *err)
{
    enum status st = STATUS_OK;
    char *key = NULL, *value = NULL, *text = NULL, *origin = NULL;
    struct config_parsed parsed = {0};
    const char *why = NULL;
    const struct option_def *def;
    const char *p = line;

    while (config_is_blank(*p))
        p++;
    if (*p == '\0' || *p == '#' || *p == ';')
        goto out;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL) {
            st = error_set(err, STATUS_USAGE, "%s:%zu: unterminated section header", path, lineno);
            goto out;
        }
        for (const char *q = close + 1; *q != '\0'; q++) {
            if (!config_is_blank(*q)) {
                st =
                    error_set(err, STATUS_USAGE, "%s:%zu: unexpected text after ']'", path, lineno);
                goto out;
            }
        }
        key = config_trim_dup(p + 1, (size_t)(close - p - 1));
        if (!config_section_name_valid(key)) {
            st = error_set(err, STATUS_USAGE,
                           "%s:%zu: bad section name '%.100s': use letters, digits, '_', '-' "
                           "and '.'",
                           path, lineno, key);
            goto out;
        }
        free(*section);
        *section = key;
        config_add_section(entries, key);
        key = NULL;
        goto out;
    }
    const char *eq = strchr(p, '=');
    if (eq == NULL) {
        /* The line itself is not quoted back: it may be a pasted secret. */
        st = error_set(err, STATUS_USAGE,
                       "%s:%zu: expected 'key = value', '[profile]' or a comment", path, lineno);
        goto out;
    }
    key = config_trim_dup(p, (size_t)(eq - p));
    value = config_trim_dup(eq + 1, strlen(eq + 1));
    if (key[0] == '\0') {
        st = error_set(err, STATUS_USAGE, "%s:%zu: missing key before '='", path, lineno);
        goto out;
    }
    if (value[0] == '"') {
        char *unquoted = config_unquote(value, &why);
        if (unquoted == NULL) {
            st = error_set(err, STATUS_USAGE, "%s:%zu: %s: %s", path, lineno, key, why);
            goto out;
        }
        free(value);
        value = unquoted;
    }
    if (strncmp(key, "route.", 6) == 0) {
        if (key[6] == '\0') {
            st = error_set(err, STATUS_USAGE, "%s:%zu: missing queue name after 'route.'", path,
                           lineno);
            goto out;
        }
        def = options_get(OPTION_ROUTE);
        text = xasprintf("%s=%s", key + 6, value);
    } else {
        def = options_find_key(key);
        if (def == NULL) {
            st = error_set(err, STATUS_USAGE, "%s:%zu: unknown key '%.100s'", path, lineno, key);
            goto out;
        }
        if (!(def->where & OPTION_IN_FILE)) {
            const char *a = def->flag != NULL ? def->flag : def->env;
            const char *b = def->flag != NULL ? def->env : NULL;
            st = error_set(err, STATUS_USAGE,
                           "%s:%zu: key '%s' cannot be set in the config file; use %s%s%s", path,
                           lineno, key, a != NULL ? a : "the command line", b != NULL ? " or " : "",
                           b != NULL ? b : "");
            goto out;
        }
        text = xstrdup(value);
    }
    origin = xasprintf("%s:%zu", path, lineno);
    /* Every section is checked, not only the chosen profile's, so a broken
     * profile is found the day it is written, not the day it is needed. */
    st = config_validate(def->id, text, CONFIG_FILE, origin, &parsed, err);
    if (st != STATUS_OK)
        goto out;
    const char *in = *section != NULL ? *section : "default";
    for (size_t i = 0; i < entries->count; i++) {
        const struct config_entry *e = &entries->items[i];
        if (e->id == def->id && strcmp(e->section, in) == 0 &&
            config_same_queue(e->queue, parsed.queue)) {
            st = error_set(err, STATUS_USAGE,
                           "%s:%zu: duplicate key '%s' in [%s] (first set on line %zu as '%s')",
                           path, lineno, key, in, e->line, e->key);
            goto out;
        }
    }
    entries->items = xreallocarray(entries->items, entries->count + 1, sizeof(*entries->items));
    struct config_entry *e = &entries->items[entries->count++];
    e->section = xstrdup(in);
    e->id = def->id;
    e->queue = parsed.queue;
    parsed.queue = NULL;
    e->key = key;
    key = NULL;
    e->text = text;
    text = NULL;
    e->line = lineno;
out:
    config_parsed_done(&parsed);
    free(origin);
    free(text);
    free(value);
    free(key);
    return st;
}

/* Reads the whole file. A file that does not exist sets *missing and is
 * not an error here; every other failure is "PATH: reason". */
static enum status config_read(const char *path, struct buf *data, bool *missing, struct error *err)
{
    enum status st = STATUS_OK;
    FILE *f = fopen(path, "rb");
    char chunk[8192];

    *missing = false;
    if (f == NULL) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *missing = true;
            return STATUS_OK;
        }
        return error_set(err, STATUS_USAGE, "%s: %s", path, strerror(errno));
    }
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n > 0)
            buf_add(data, chunk, n);
        if (data->len > CONFIG_FILE_MAX) {
            st = error_set(err, STATUS_USAGE, "%s: larger than %d bytes; is this a config file?",
                           path, CONFIG_FILE_MAX);
            goto out;
        }
        if (n < sizeof(chunk)) {
            if (ferror(f)) {
                st = error_set(err, STATUS_USAGE, "%s: %s", path, strerror(errno));
                goto out;
            }
            break;
        }
    }
out:
    fclose(f);
    return st;
}

/* Splits the file into lines and checks each; the byte-level rules (length,
 * NUL, UTF-8) come first because the line parser works on C strings. */
static enum status config_parse_file(const char *path, const struct buf *data,
                                     struct config_entries *entries, struct error *err)
{
    enum status st = STATUS_OK;
    const char *s = buf_get(data);
    size_t len = data->len;
    size_t pos = 0, lineno = 0;
    char *section = NULL;
    char line[CONFIG_LINE_MAX + 1];

    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        pos = 3; /* a byte-order mark some editors add */
    while (pos < len) {
        const char *start = s + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - start) : len - pos;
        pos += n + (nl != NULL ? 1 : 0);
        lineno++;
        if (n > 0 && start[n - 1] == '\r')
            n--;
        if (n > CONFIG_LINE_MAX) {
            st = error_set(err, STATUS_USAGE, "%s:%zu: line longer than %d bytes", path, lineno,
                           CONFIG_LINE_MAX);
            goto out;
        }
        if (memchr(start, '\0', n) != NULL) {
            st = error_set(err, STATUS_USAGE, "%s:%zu: NUL byte in the line", path, lineno);
            goto out;
        }
        if (!config_utf8_valid((const unsigned char *)start, n)) {
            st = error_set(err, STATUS_USAGE, "%s:%zu: invalid UTF-8", path, lineno);
            goto out;
        }
        memcpy(line, start, n);
        line[n] = '\0';
        st = config_parse_line(path, lineno, line, &section, entries, err);
        if (st != STATUS_OK)
            goto out;
    }
out:
    free(section);
    return st;
}

/* Fills err with "PATH: no profile 'x' (profiles: a, b)". */
static enum status config_no_profile(const char *path, const char *profile,
                                     const struct config_entries *entries, struct error *err)
{
    struct buf names;
    enum status st;

    buf_init(&names);
    for (size_t i = 0; i < entries->nsections; i++) {
        if (strcmp(entries->sections[i], "default") == 0)
            continue;
        if (names.len > 0)
            buf_adds(&names, ", ");
        buf_adds(&names, entries->sections[i]);
    }
    st = error_set(err, STATUS_USAGE, "%s: no profile '%s' (profiles: %s)", path, profile,
                   names.len > 0 ? buf_get(&names) : "none");
    buf_done(&names);
    return st;
}

static enum status config_apply_section(struct config *cfg, const char *path,
                                        const struct config_entries *entries, const char *name,
                                        struct error *err)
{
    for (size_t i = 0; i < entries->count; i++) {
        const struct config_entry *e = &entries->items[i];
        if (strcmp(e->section, name) != 0)
            continue;
        char *origin = xasprintf("%s:%zu", path, e->line);
        enum status st = config_apply(cfg, e->id, e->text, CONFIG_FILE, origin, err);
        free(origin);
        if (st != STATUS_OK)
            return st;
    }
    return STATUS_OK;
}

enum status config_load_file(struct config *cfg, const char *path, const char *profile,
                             bool required, bool profile_required, struct error *err)
{
    enum status st;
    struct buf data;
    struct config_entries entries = {0};
    struct config *next = NULL;
    bool missing;

    if (profile == NULL || profile[0] == '\0')
        profile = "default";
    bool named = strcmp(profile, "default") != 0;
    buf_init(&data);
    st = config_read(path, &data, &missing, err);
    if (st != STATUS_OK)
        goto out;
    if (missing) {
        /* An explicitly chosen profile that cannot be found must not fall
         * back to the defaults: they may point at another environment. */
        if (required || (profile_required && named))
            st = error_set(err, STATUS_USAGE, "%s: %s%s%s%s", path, strerror(ENOENT),
                           required ? "" : " (needed for profile '", required ? "" : profile,
                           required ? "" : "')");
        goto out;
    }
    st = config_parse_file(path, &data, &entries, err);
    if (st != STATUS_OK)
        goto out;
    if (named && !config_has_section(&entries, profile)) {
        if (profile_required) {
            st = config_no_profile(path, profile, &entries, err);
            goto out;
        }
        named = false; /* a profile nobody insisted on: [default] alone */
    }
    next = config_copy(cfg);
    st = config_apply_section(next, path, &entries, "default", err);
    if (st == STATUS_OK && named)
        st = config_apply_section(next, path, &entries, profile, err);
    if (st != STATUS_OK)
        goto out;
    config_replace(cfg, next);
    next = NULL;
out:
    config_free(next);
    config_entries_done(&entries);
    buf_done(&data);
    return st;
}

/* OPSDECK_ROUTE: comma-separated [QUEUE=]ROUTE items; a queue named twice
 * is refused, since which one wins would be an accident of order. */
static enum status config_load_env_routes(struct config *cfg, const char *value, struct error *err)
{
    const struct option_def *def = options_get(OPTION_ROUTE);
    enum status st = STATUS_OK;
    char **queues = NULL;
    size_t nqueues = 0;
    bool have_default = false;
    const char *p = value;

    for (;;) {
        const char *comma = strchr(p, ',');
        char *item = config_trim_dup(p, comma != NULL ? (size_t)(comma - p) : strlen(p));
        struct config_parsed parsed;
        if (item[0] != '\0') {
            st = config_validate(OPTION_ROUTE, item, CONFIG_ENV, def->env, &parsed, err);
            if (st == STATUS_OK) {
                bool twice = parsed.queue == NULL ? have_default : false;
                for (size_t i = 0; parsed.queue != NULL && i < nqueues; i++)
                    twice = twice || strcmp(queues[i], parsed.queue) == 0;
                if (twice) {
                    if (parsed.queue != NULL)
                        st = error_set(err, STATUS_USAGE, "%s: queue '%s' is given twice", def->env,
                                       parsed.queue);
                    else
                        st = error_set(err, STATUS_USAGE, "%s: the default route is given twice",
                                       def->env);
                } else if (parsed.queue != NULL) {
                    queues = xreallocarray(queues, nqueues + 1, sizeof(*queues));
                    queues[nqueues++] = xstrdup(parsed.queue);
                } else {
                    have_default = true;
                }
                if (st == STATUS_OK)
                    config_commit(cfg, OPTION_ROUTE, &parsed, CONFIG_ENV, def->env);
                config_parsed_done(&parsed);
            }
        }
        free(item);
        if (st != STATUS_OK || comma == NULL)
            break;
        p = comma + 1;
    }
    config_words_free(queues, nqueues);
    return st;
}

enum status config_load_env(struct config *cfg, struct error *err)
{
    enum status st = STATUS_OK;
    struct config *next = config_copy(cfg);

    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct option_def *def = options_get((enum option_id)i);
        /* The caller reads these two first: they decide which file to load. */
        if (!(def->where & OPTION_IN_ENV) || def->id == OPTION_PROFILE || def->id == OPTION_CONFIG)
            continue;
        const char *value = getenv(def->env);
        if (value == NULL || value[0] == '\0')
            continue;
        if (def->type == OPTION_TYPE_ROUTE)
            st = config_load_env_routes(next, value, err);
        else
            st = config_apply(next, def->id, value, CONFIG_ENV, def->env, err);
        if (st != STATUS_OK)
            goto out;
    }
    config_replace(cfg, next);
    next = NULL;
out:
    config_free(next);
    return st;
}

void config_finish(struct config *cfg)
{
    const char *candidates[3] = {getenv("SUDO_USER"), getenv("USER"), NULL};
    struct passwd *pw;

    if (cfg->values[OPTION_OPERATOR].source > CONFIG_COMPUTED)
        return;
    pw = getpwuid(geteuid());
    if (pw != NULL)
        candidates[2] = pw->pw_name;
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        /* A name that fails the value checks is skipped, not fatal: the
         * next candidate is still a better audit name than none. */
        if (candidates[i] != NULL && candidates[i][0] != '\0' &&
            config_apply(cfg, OPTION_OPERATOR, candidates[i], CONFIG_COMPUTED, NULL, NULL) ==
                STATUS_OK)
            return;
    }
    config_apply(cfg, OPTION_OPERATOR, "unknown", CONFIG_COMPUTED, NULL, NULL);
}

char *config_default_path(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");

    /* The XDG spec says a relative XDG_CONFIG_HOME is to be ignored. */
    if (xdg != NULL && xdg[0] == '/')
        return xasprintf("%s/opsdeck/config", xdg);
    if (home == NULL || home[0] == '\0') {
        struct passwd *pw = getpwuid(geteuid());
        home = pw != NULL && pw->pw_dir != NULL ? pw->pw_dir : "";
    }
    return xasprintf("%s/.config/opsdeck/config", home);
}

/* Aborts when id is not one of the types an accessor serves: asking for
 * a boolean's string is a bug in the caller, not a user error. */
static const struct option_def *config_expect(enum option_id id, const char *accessor,
                                              enum option_type a, enum option_type b,
                                              enum option_type c)
{
    const struct option_def *def = options_get(id);
    if (def->type != a && def->type != b && def->type != c)
        xfatal("%s: option '%s' has another type", accessor, def->key);
    return def;
}

const char *config_str(const struct config *cfg, enum option_id id)
{
    const struct option_def *def =
        config_expect(id, "config_str", OPTION_TYPE_STRING, OPTION_TYPE_IDENT, OPTION_TYPE_ROUTE);
    if (def->type == OPTION_TYPE_ROUTE)
        return cfg->routes[0].route;
    return cfg->values[id].text;
}

bool config_bool(const struct config *cfg, enum option_id id)
{
    config_expect(id, "config_bool", OPTION_TYPE_BOOL, OPTION_TYPE_BOOL, OPTION_TYPE_BOOL);
    return cfg->values[id].yes;
}

int64_t config_ms(const struct config *cfg, enum option_id id)
{
    config_expect(id, "config_ms", OPTION_TYPE_DURATION, OPTION_TYPE_DURATION,
                  OPTION_TYPE_DURATION);
    return cfg->values[id].ms;
}

const char *const *config_list(const struct config *cfg, enum option_id id, size_t *count)
{
    config_expect(id, "config_list", OPTION_TYPE_LIST, OPTION_TYPE_LIST, OPTION_TYPE_LIST);
    *count = cfg->values[id].nwords;
    return (const char *const *)cfg->values[id].words;
}

const char *config_route_for(const struct config *cfg, const char *queue)
{
    for (size_t i = 1; queue != NULL && i < cfg->nroutes; i++)
        if (strcmp(cfg->routes[i].queue, queue) == 0)
            return cfg->routes[i].route;
    return cfg->routes[0].route;
}

const struct config_route *config_routes(const struct config *cfg, size_t *count)
{
    *count = cfg->nroutes;
    return cfg->routes;
}

const char *config_origin(const struct config *cfg, enum option_id id)
{
    if (options_get(id)->type == OPTION_TYPE_ROUTE)
        return cfg->routes[0].origin;
    return cfg->values[id].origin;
}

enum config_source config_source_of(const struct config *cfg, enum option_id id)
{
    if (options_get(id)->type == OPTION_TYPE_ROUTE)
        return cfg->routes[0].source;
    return cfg->values[id].source;
}

char *config_display(const struct config *cfg, enum option_id id)
{
    const struct option_def *def = options_get(id);
    const char *text = def->type == OPTION_TYPE_ROUTE ? cfg->routes[0].route : cfg->values[id].text;

    if (text == NULL)
        return xstrdup("");
    if (def->where & OPTION_SECRET)
        return mask_secret(text);
    return xstrdup(text);
}
