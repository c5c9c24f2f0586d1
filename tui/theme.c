/* Theme files: parsing "role = FG [BG] [ATTR...]" lines into a struct theme,
 * finding a theme by name and listing the themes installed. No curses. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "tui/theme.h"
#include "util/buf.h"
#include "util/status.h"
#include "util/xmalloc.h"

/* Longest line accepted, newline excluded; longer is an error, not a cut. */
#define THEME_LINE_MAX 512
/* Largest theme file read; a theme is a few dozen short lines. */
#define THEME_FILE_MAX (64 * 1024)
#define THEME_SUFFIX   ".theme"
#define THEME_BLANKS   " \t\r\v\f"

static const char *const theme_role_names[ROLE_COUNT] = {
#define THEME_ROLE_NAME(id, name, help) name,
    THEME_ROLES(THEME_ROLE_NAME)
#undef THEME_ROLE_NAME
};

/* Colour names in theme files; index is the colour number. The bright
 * forms are spelled as one word ("brightred"), as in tmux. */
static const char *const theme_colour_names[16] = {
    "black",      "red",           "green",       "yellow",      "blue",        "magenta",
    "cyan",       "white",         "brightblack", "brightred",   "brightgreen", "brightyellow",
    "brightblue", "brightmagenta", "brightcyan",  "brightwhite",
};

static const struct {
    const char *name;
    unsigned bit;
} theme_attr_names[] = {
    {"bold", THEME_ATTR_BOLD},           {"dim", THEME_ATTR_DIM},
    {"underline", THEME_ATTR_UNDERLINE}, {"reverse", THEME_ATTR_REVERSE},
    {"standout", THEME_ATTR_STANDOUT},   {"italic", THEME_ATTR_ITALIC},
};

/* The mono style of each role: what a terminal without colours shows, and
 * the base every parsed theme starts from. Keep themes/mono.theme equal. */
static const unsigned theme_mono_attrs[ROLE_COUNT] = {
    [ROLE_DEFAULT] = 0,
    [ROLE_HEADER] = THEME_ATTR_REVERSE | THEME_ATTR_BOLD,
    [ROLE_TAB] = THEME_ATTR_REVERSE,
    [ROLE_TAB_ACTIVE] = THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE,
    [ROLE_BADGE] = THEME_ATTR_REVERSE,
    [ROLE_BADGE_ALERT] = THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE,
    [ROLE_TITLE] = THEME_ATTR_BOLD,
    [ROLE_SELECTED] = THEME_ATTR_REVERSE,
    [ROLE_MARKED] = THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE,
    [ROLE_DIM] = THEME_ATTR_DIM,
    [ROLE_BORDER] = THEME_ATTR_DIM,
    [ROLE_HINT] = THEME_ATTR_REVERSE,
    [ROLE_HINT_KEY] = THEME_ATTR_REVERSE | THEME_ATTR_BOLD,
    [ROLE_MESSAGE] = 0,
    [ROLE_MESSAGE_ERROR] = THEME_ATTR_BOLD | THEME_ATTR_REVERSE,
    [ROLE_PROMPT] = THEME_ATTR_BOLD,
    [ROLE_HEALTH_UP] = 0,
    [ROLE_HEALTH_DOWN] = THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE,
    [ROLE_HEALTH_SLOW] = THEME_ATTR_BOLD,
    [ROLE_STALE] = THEME_ATTR_DIM | THEME_ATTR_ITALIC,
    [ROLE_ALERT] = THEME_ATTR_BOLD | THEME_ATTR_REVERSE,
    [ROLE_STATUS_OK] = 0,
    [ROLE_STATUS_RUNNING] = 0,
    [ROLE_STATUS_WARN] = THEME_ATTR_BOLD,
    [ROLE_STATUS_FAILED] = THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE,
    [ROLE_APPROVAL_OVERDUE] = THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE,
    [ROLE_APPROVAL_DUE_SOON] = THEME_ATTR_BOLD,
    [ROLE_CIRCUIT_OPEN] = THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE,
    [ROLE_CIRCUIT_HALF_OPEN] = THEME_ATTR_BOLD,
    [ROLE_CIRCUIT_CLOSED] = 0,
    [ROLE_JSON_KEY] = THEME_ATTR_BOLD,
    [ROLE_JSON_STRING] = 0,
    [ROLE_JSON_NUMBER] = 0,
    [ROLE_JSON_LITERAL] = THEME_ATTR_ITALIC,
    [ROLE_FOLDED] = THEME_ATTR_UNDERLINE,
    [ROLE_SPARKLINE] = 0,
    [ROLE_DIALOG] = 0,
};

const char *theme_role_name(enum theme_role role)
{
    if ((int)role < 0 || role >= ROLE_COUNT)
        return "unknown";
    return theme_role_names[role];
}

void theme_mono(struct theme *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "mono");
    for (int i = 0; i < ROLE_COUNT; i++) {
        out->style[i].fg = -1;
        out->style[i].bg = -1;
        out->style[i].attrs = theme_mono_attrs[i];
    }
}

/* Copies at most max bytes of s into dst (size cap) for an error message,
 * with anything but printable ASCII as '?', so a message never carries a
 * terminal escape from a file. */
static void theme_quote(char *dst, size_t cap, const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n] != '\0' && n < max && n + 1 < cap; n++)
        dst[n] = s[n] >= 0x20 && s[n] < 0x7f ? s[n] : '?';
    dst[n] = '\0';
}

/* Parses a colour word into -1..255; false when it is not one. */
static bool theme_parse_colour(const char *word, short *out)
{
    if (strcmp(word, "default") == 0) {
        *out = -1;
        return true;
    }
    for (int i = 0; i < 16; i++) {
        if (strcmp(word, theme_colour_names[i]) == 0) {
            *out = (short)i;
            return true;
        }
    }
    if (strncmp(word, "color", 5) == 0) {
        const char *p = word + 5;
        int n = 0;
        /* Digits only: no sign, no spaces, no leading zeros to hide a length. */
        if (p[0] == '\0' || strlen(p) > 3 || (p[0] == '0' && p[1] != '\0'))
            return false;
        for (; *p != '\0'; p++) {
            if (*p < '0' || *p > '9')
                return false;
            n = n * 10 + (*p - '0');
        }
        if (n > 255)
            return false;
        *out = (short)n;
        return true;
    }
    return false;
}

static bool theme_parse_attr(const char *word, unsigned *attrs)
{
    for (size_t i = 0; i < sizeof(theme_attr_names) / sizeof(theme_attr_names[0]); i++) {
        if (strcmp(word, theme_attr_names[i].name) == 0) {
            *attrs |= theme_attr_names[i].bit;
            return true;
        }
    }
    return false;
}

static int theme_find_role(const char *name)
{
    for (int i = 0; i < ROLE_COUNT; i++)
        if (strcmp(name, theme_role_names[i]) == 0)
            return i;
    return -1;
}

static bool theme_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims s in place; returns the first non-blank character. */
static char *theme_trim(char *s)
{
    char *end;
    while (theme_is_space(*s))
        s++;
    end = s + strlen(s);
    while (end > s && theme_is_space(end[-1]))
        *--end = '\0';
    return s;
}

/* Parses the value after '=' into style; on failure fills reason. */
static bool theme_parse_value(char *value, struct theme_style *style, char *reason, size_t cap)
{
    int colours = 0;
    bool any = false;
    char quoted[48];
    char *save = NULL;

    style->fg = -1;
    style->bg = -1;
    style->attrs = 0;
    for (char *word = strtok_r(value, THEME_BLANKS, &save); word != NULL;
         word = strtok_r(NULL, THEME_BLANKS, &save)) {
        short c;
        any = true;
        if (theme_parse_attr(word, &style->attrs))
            continue;
        theme_quote(quoted, sizeof(quoted), word, 40);
        if (theme_parse_colour(word, &c)) {
            if (style->attrs != 0) {
                snprintf(reason, cap, "colour '%s' after attributes (FG [BG] [ATTR...])", quoted);
                return false;
            }
            if (colours == 2) {
                snprintf(reason, cap, "too many colours at '%s' (FG [BG] [ATTR...])", quoted);
                return false;
            }
            if (colours++ == 0)
                style->fg = c;
            else
                style->bg = c;
            continue;
        }
        if (style->attrs != 0 || colours == 2)
            snprintf(reason, cap, "unknown attribute '%s'", quoted);
        else if (strncmp(word, "bright-", 7) == 0)
            snprintf(reason, cap, "bad colour '%s' (bright colours are spelled 'bright%.20s')",
                     quoted, quoted + 7);
        else if (strncmp(word, "color", 5) == 0)
            snprintf(reason, cap, "bad colour '%s' (colorN takes 0-255)", quoted);
        else if (colours == 0)
            snprintf(reason, cap, "bad colour '%s'", quoted);
        else
            snprintf(reason, cap, "bad colour or attribute '%s'", quoted);
        return false;
    }
    if (!any) {
        snprintf(reason, cap, "no colour or attribute after '='");
        return false;
    }
    return true;
}

enum status theme_parse(const char *path, const char *text, const char *name, struct theme *out,
                        struct error *err)
{
    struct theme t;
    int first_line[ROLE_COUNT] = {0};
    char line[THEME_LINE_MAX + 1];
    char reason[256];
    const char *p = text != NULL ? text : "";
    int lineno = 0;
    enum status st = STATUS_OK;

    if (path == NULL)
        path = "(theme)";
    /* Work on a copy; out changes only when the whole text parsed. */
    theme_mono(&t);
    snprintf(t.name, sizeof(t.name), "%s", name != NULL ? name : "");

    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        char *s, *eq, *key, *hash;
        int role;

        lineno++;
        if (len > THEME_LINE_MAX) {
            st = error_set(err, STATUS_USAGE, "%s:%d: line too long (more than %d characters)",
                           path, lineno, THEME_LINE_MAX);
            goto out;
        }
        memcpy(line, p, len);
        line[len] = '\0';
        p = nl != NULL ? nl + 1 : p + len;

        hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        s = theme_trim(line);
        if (*s == '\0')
            continue;

        eq = strchr(s, '=');
        if (eq == NULL) {
            st = error_set(err, STATUS_USAGE, "%s:%d: missing '=' (role = FG [BG] [ATTR...])", path,
                           lineno);
            goto out;
        }
        *eq = '\0';
        key = theme_trim(s);
        if (*key == '\0') {
            st = error_set(err, STATUS_USAGE, "%s:%d: missing role name before '='", path, lineno);
            goto out;
        }
        if (strcmp(key, "inherit") == 0) {
            st = error_set(err, STATUS_USAGE,
                           "%s:%d: 'inherit' is not supported; a theme is one file", path, lineno);
            goto out;
        }
        role = theme_find_role(key);
        if (role < 0) {
            char quoted[48];
            theme_quote(quoted, sizeof(quoted), key, 40);
            st = error_set(err, STATUS_USAGE, "%s:%d: unknown role '%s'", path, lineno, quoted);
            goto out;
        }
        if (first_line[role] != 0) {
            st = error_set(err, STATUS_USAGE, "%s:%d: duplicate role '%s' (first set on line %d)",
                           path, lineno, theme_role_names[role], first_line[role]);
            goto out;
        }
        first_line[role] = lineno;
        if (!theme_parse_value(eq + 1, &t.style[role], reason, sizeof(reason))) {
            st = error_set(err, STATUS_USAGE, "%s:%d: %s: %s", path, lineno, theme_role_names[role],
                           reason);
            goto out;
        }
    }
    *out = t;
out:
    return st;
}

/* A theme name (not a path): letters, digits, '-', '_' and '.', not
 * starting with '.', so ".." and hidden files are never names. */
static bool theme_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof(((struct theme *)0)->name) || name[0] == '.')
        return false;
    for (const char *p = name; *p != '\0'; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* Reads path whole. Returns STATUS_NOT_FOUND (err untouched) when there is
 * no such file, so the caller tries the next place. */
static enum status theme_read_file(const char *path, char **text, struct error *err)
{
    FILE *f = NULL;
    char *data = NULL;
    size_t len;
    enum status st = STATUS_OK;

    f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            st = STATUS_NOT_FOUND;
        else
            st = error_set(err, STATUS_USAGE, "%s: %s", path, strerror(errno));
        goto out;
    }
    data = xmalloc(THEME_FILE_MAX + 1);
    len = fread(data, 1, THEME_FILE_MAX + 1, f);
    if (ferror(f)) {
        st = error_set(err, STATUS_USAGE, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (len > THEME_FILE_MAX) {
        st = error_set(err, STATUS_USAGE, "%s: file too large (more than %d bytes)", path,
                       THEME_FILE_MAX);
        goto out;
    }
    data[len] = '\0';
    if (strlen(data) != len) {
        st = error_set(err, STATUS_USAGE, "%s: contains a NUL byte", path);
        goto out;
    }
    *text = data;
    data = NULL;
out:
    free(data);
    if (f != NULL)
        fclose(f);
    return st;
}

/* Reads and parses path; STATUS_NOT_FOUND when it does not exist. */
static enum status theme_load_file(const char *path, const char *name, struct theme *out,
                                   struct error *err)
{
    char *text = NULL;
    enum status st = theme_read_file(path, &text, err);
    if (st == STATUS_OK)
        st = theme_parse(path, text, name, out, err);
    free(text);
    return st;
}

/* The themes/ folder of the source tree the running binary was built
 * from, or NULL for an installed binary. A build tree is recognised by
 * config.status next to the binary, so a build (in the source tree or out
 * of it, as scripts/demo does) runs without setup. */
static char *theme_build_dir(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash, *marker = NULL, *dir = NULL;

    if (n <= 0)
        goto out;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (slash == NULL)
        goto out;
    *slash = '\0';
    marker = xasprintf("%s/config.status", exe);
    if (access(marker, F_OK) == 0)
        dir = xstrdup(OPSDECK_SRC_THEMES);
out:
    free(marker);
    return dir;
}

enum status theme_load(const char *name, const char *user_dir, const char *data_dir,
                       struct theme *out, struct error *err)
{
    char *dirs[3] = {NULL, NULL, NULL};
    struct buf looked;
    enum status st = STATUS_NOT_FOUND;

    buf_init(&looked);
    if (name == NULL || name[0] == '\0')
        name = "default";

    if (strchr(name, '/') != NULL) {
        /* A path the user gave: its own name is the file's stem. */
        const char *base = strrchr(name, '/') + 1;
        size_t stem = strlen(base);
        char label[64];
        if (stem > strlen(THEME_SUFFIX) &&
            strcmp(base + stem - strlen(THEME_SUFFIX), THEME_SUFFIX) == 0)
            stem -= strlen(THEME_SUFFIX);
        snprintf(label, sizeof(label), "%.*s", (int)(stem < 63 ? stem : 63), base);
        st = theme_load_file(name, label, out, err);
        if (st == STATUS_NOT_FOUND)
            st = error_set(err, STATUS_NOT_FOUND, "theme file %s not found", name);
        goto out;
    }
    if (!theme_name_ok(name)) {
        char quoted[48];
        theme_quote(quoted, sizeof(quoted), name, 40);
        st = error_set(err, STATUS_USAGE,
                       "bad theme name '%s' (letters, digits, '-', '_', '.'; or a path)", quoted);
        goto out;
    }

    dirs[0] = user_dir != NULL && user_dir[0] != '\0' ? xstrdup(user_dir) : NULL;
    dirs[1] = data_dir != NULL && data_dir[0] != '\0' ? xstrdup(data_dir) : NULL;
    dirs[2] = theme_build_dir();
    for (int i = 0; i < 3; i++) {
        char *path;
        if (dirs[i] == NULL)
            continue;
        path = xasprintf("%s/%s%s", dirs[i], name, THEME_SUFFIX);
        st = theme_load_file(path, name, out, err);
        buf_addf(&looked, "%s%s", looked.len > 0 ? ", " : "", path);
        free(path);
        if (st != STATUS_NOT_FOUND)
            goto out;
    }
    if (strcmp(name, "mono") == 0) {
        theme_mono(out);
        st = STATUS_OK;
        goto out;
    }
    st = error_set(err, STATUS_NOT_FOUND, "theme '%s' not found (looked in %s)", name,
                   looked.len > 0 ? buf_get(&looked) : "no directory");
out:
    for (int i = 2; i >= 0; i--)
        free(dirs[i]);
    buf_done(&looked);
    return st;
}

char *theme_user_dir(void)
{
    /* The config file's folder, so the XDG rules live in one place. */
    char *config = config_default_path();
    char *slash = strrchr(config, '/');
    char *dir;

    if (slash != NULL)
        *slash = '\0';
    dir = xasprintf("%s/themes", slash != NULL ? config : ".");
    free(config);
    return dir;
}

char *theme_data_dir(void)
{
    const char *env = getenv("OPSDECK_THEMES_DIR");
    if (env != NULL && env[0] != '\0')
        return xstrdup(env);
    return xstrdup(OPSDECK_DATADIR "/themes");
}

static int theme_compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the names of dir's *.theme files to the list. */
static void theme_list_dir(const char *dir, char ***list, size_t *count, size_t *cap)
{
    DIR *d;
    struct dirent *ent;

    if (dir == NULL || dir[0] == '\0')
        return;
    d = opendir(dir);
    if (d == NULL)
        return;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        size_t slen = strlen(THEME_SUFFIX);
        char *name;
        if (len <= slen || strcmp(ent->d_name + len - slen, THEME_SUFFIX) != 0)
            continue;
        name = xstrndup(ent->d_name, len - slen);
        if (!theme_name_ok(name)) {
            free(name);
            continue;
        }
        if (*count == *cap) {
            *cap = *cap != 0 ? *cap * 2 : 16;
            *list = xreallocarray(*list, *cap, sizeof(**list));
        }
        (*list)[(*count)++] = name;
    }
    closedir(d);
}

size_t theme_list(const char *user_dir, const char *data_dir, char **names, size_t max)
{
    char **list = NULL;
    size_t count = 0, cap = 0, unique = 0, n = 0;

    theme_list_dir(user_dir, &list, &count, &cap);
    theme_list_dir(data_dir, &list, &count, &cap);
    if (count == cap) {
        cap += 1;
        list = xreallocarray(list, cap, sizeof(*list));
    }
    list[count++] = xstrdup("mono");
    qsort(list, count, sizeof(*list), theme_compare_names);

    for (size_t i = 0; i < count; i++) {
        if (unique > 0 && strcmp(list[unique - 1], list[i]) == 0) {
            free(list[i]);
            continue;
        }
        list[unique++] = list[i];
    }
    for (size_t i = 0; i < unique; i++) {
        if (n < max && names != NULL)
            names[n++] = list[i];
        else
            free(list[i]);
    }
    free(list);
    return n;
}
