/* Unit tests for themes: the shipped theme files, every parse error with
 * its exact "path:line:" message, the mono theme, the search order of
 * theme_load and theme_list. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tui/theme.h"
#include "tests/common/testutil.h"
#include "util/status.h"
#include "util/xmalloc.h"

static const char *const shipped[] = {"default", "light", "high-contrast", "mono"};
#define SHIPPED_COUNT (sizeof(shipped) / sizeof(shipped[0]))

/* One temp dir for the whole group, removed by the group teardown. */
static char group_dir[64];

static int group_setup(void **state)
{
    (void)state;
    return testutil_tmpdir(group_dir, sizeof(group_dir), "opsdeck-theme");
}

static int group_teardown(void **state)
{
    (void)state;
    testutil_rmtree(group_dir);
    return 0;
}

/* A fresh, empty directory under the group dir; caller frees the name. */
static char *make_dir(const char *name)
{
    char *dir = xasprintf("%s/%s", group_dir, name);
    testutil_rmtree(dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    return dir;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    free(path);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text;
    size_t len;

    if (f == NULL)
        fail_msg("cannot open %s", path);
    text = xmalloc(1 << 16);
    len = fread(text, 1, (1 << 16) - 1, f);
    text[len] = '\0';
    fclose(f);
    return text;
}

static char *shipped_path(const char *name)
{
    const char *src = getenv("OPSDECK_SRCDIR");
    if (src == NULL || src[0] == '\0')
        fail_msg("OPSDECK_SRCDIR is not set (run through make check)");
    return xasprintf("%s/themes/%s.theme", src, name);
}

static void parse_shipped(const char *name, struct theme *t)
{
    char *path = shipped_path(name);
    char *text = read_all(path);
    struct error err;

    error_clear(&err);
    if (theme_parse(path, text, name, t, &err) != STATUS_OK)
        fail_msg("%s", err.msg);
    free(text);
    free(path);
}

/* True when text has a line "name = ..." (a setting, not a comment). */
static bool sets_role(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, name, len) == 0) {
            p += len;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == '=')
                return true;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return false;
}

/* True when a comment line lists the role: "#   name  help". */
static bool documents_role(const char *text, const char *name)
{
    char *needle = xasprintf("\n#   %s ", name);
    bool found = strstr(text, needle) != NULL;
    free(needle);
    return found;
}

static void test_role_names(void **state)
{
    (void)state;
    assert_string_equal(theme_role_name(ROLE_DEFAULT), "default");
    assert_string_equal(theme_role_name(ROLE_APPROVAL_OVERDUE), "approval_overdue");
    assert_string_equal(theme_role_name(ROLE_DIALOG), "dialog");
    assert_string_equal(theme_role_name(ROLE_COUNT), "unknown");
    for (int i = 0; i < ROLE_COUNT; i++)
        for (int j = i + 1; j < ROLE_COUNT; j++)
            assert_string_not_equal(theme_role_name((enum theme_role)i),
                                    theme_role_name((enum theme_role)j));
}

static void test_mono_builtin(void **state)
{
    struct theme t;
    (void)state;
    memset(&t, 0x5a, sizeof(t));
    theme_mono(&t);
    assert_string_equal(t.name, "mono");
    for (int i = 0; i < ROLE_COUNT; i++) {
        assert_int_equal(t.style[i].fg, -1);
        assert_int_equal(t.style[i].bg, -1);
    }
    assert_int_equal(t.style[ROLE_DEFAULT].attrs, 0);
    assert_true(t.style[ROLE_SELECTED].attrs & THEME_ATTR_REVERSE);
    assert_true(t.style[ROLE_DIM].attrs & THEME_ATTR_DIM);
    /* The states that need attention are told apart without colour. */
    assert_int_not_equal(t.style[ROLE_STATUS_FAILED].attrs, 0);
    assert_int_not_equal(t.style[ROLE_APPROVAL_OVERDUE].attrs, 0);
    assert_int_not_equal(t.style[ROLE_CIRCUIT_OPEN].attrs, 0);
}

/* Every shipped file parses, sets every role once and lists every role in
 * its header comment. */
static void test_shipped_complete(void **state)
{
    (void)state;
    for (size_t f = 0; f < SHIPPED_COUNT; f++) {
        struct theme t;
        char *path = shipped_path(shipped[f]);
        char *text = read_all(path);

        parse_shipped(shipped[f], &t);
        assert_string_equal(t.name, shipped[f]);
        assert_true(strncmp(text, "# ", 2) == 0);
        for (int i = 0; i < ROLE_COUNT; i++) {
            const char *role = theme_role_name((enum theme_role)i);
            if (!sets_role(text, role))
                fail_msg("%s does not set role %s", path, role);
            if (!documents_role(text, role))
                fail_msg("%s does not list role %s in its header", path, role);
        }
        free(text);
        free(path);
    }
}

static bool in_family(short c, const short *family)
{
    for (; *family != -2; family++)
        if (c == *family)
            return true;
    return false;
}

static const short red_family[] = {1, 9, 52, 88, 124, 160, 196, -2};
static const short green_family[] = {2, 10, 22, 28, 34, 40, 46, -2};
static const short yellow_family[] = {3, 11, 136, 142, 178, 184, 214, 220, 226, -2};

/* The role shows in the family's colour, as text or as background. */
static void assert_family(const char *file, const struct theme *t, enum theme_role role,
                          const short *family, const char *what)
{
    const struct theme_style *s = &t->style[role];
    if (!in_family(s->fg, family) && !in_family(s->bg, family))
        fail_msg("%s: %s is %d on %d, not %s", file, theme_role_name(role), s->fg, s->bg, what);
}

static bool same_style(const struct theme_style *a, const struct theme_style *b)
{
    return a->fg == b->fg && a->bg == b->bg && a->attrs == b->attrs;
}

static void test_shipped_colours(void **state)
{
    (void)state;
    for (size_t f = 0; f < SHIPPED_COUNT - 1; f++) {
        struct theme t;
        const struct theme_style *def, *sel;
        parse_shipped(shipped[f], &t);
        def = &t.style[ROLE_DEFAULT];
        sel = &t.style[ROLE_SELECTED];

        /* The selected row has its own background or is reversed. */
        if (sel->bg == def->bg && !(sel->attrs & (THEME_ATTR_REVERSE | THEME_ATTR_STANDOUT)))
            fail_msg("%s: the selected row has the text's background", shipped[f]);
        assert_family(shipped[f], &t, ROLE_STATUS_FAILED, red_family, "red");
        assert_family(shipped[f], &t, ROLE_APPROVAL_OVERDUE, red_family, "red");
        assert_family(shipped[f], &t, ROLE_CIRCUIT_OPEN, red_family, "red");
        assert_family(shipped[f], &t, ROLE_HEALTH_DOWN, red_family, "red");
        assert_family(shipped[f], &t, ROLE_MESSAGE_ERROR, red_family, "red");
        assert_family(shipped[f], &t, ROLE_STATUS_OK, green_family, "green");
        assert_family(shipped[f], &t, ROLE_CIRCUIT_CLOSED, green_family, "green");
        assert_family(shipped[f], &t, ROLE_HEALTH_UP, green_family, "green");
        assert_family(shipped[f], &t, ROLE_STATUS_WARN, yellow_family, "yellow");
        assert_family(shipped[f], &t, ROLE_CIRCUIT_HALF_OPEN, yellow_family, "yellow");
        assert_family(shipped[f], &t, ROLE_APPROVAL_DUE_SOON, yellow_family, "yellow");

        /* Bars stand out from the text and from each other. */
        assert_int_not_equal(t.style[ROLE_HEADER].bg, def->bg);
        assert_int_not_equal(t.style[ROLE_HINT].bg, def->bg);
        assert_false(same_style(&t.style[ROLE_HEADER], &t.style[ROLE_HINT]));
        assert_false(same_style(&t.style[ROLE_HINT], &t.style[ROLE_HINT_KEY]));
        /* Secondary text differs from ordinary text. */
        assert_false(same_style(&t.style[ROLE_DIM], def));
    }

    /* Spot checks of exact values, so an edit to a file is a decision. */
    {
        struct theme t;
        parse_shipped("default", &t);
        assert_int_equal(t.style[ROLE_DEFAULT].fg, -1);
        assert_int_equal(t.style[ROLE_DEFAULT].bg, -1);
        assert_int_equal(t.style[ROLE_SELECTED].fg, 0);
        assert_int_equal(t.style[ROLE_SELECTED].bg, 6);
        assert_int_equal(t.style[ROLE_HEADER].fg, 15);
        assert_int_equal(t.style[ROLE_HEADER].bg, 4);
        assert_int_equal(t.style[ROLE_HEADER].attrs, THEME_ATTR_BOLD);
        assert_int_equal(t.style[ROLE_DIM].fg, 8);
        parse_shipped("light", &t);
        assert_int_equal(t.style[ROLE_STATUS_WARN].fg, 136);
        assert_int_equal(t.style[ROLE_STATUS_OK].fg, 28);
        parse_shipped("high-contrast", &t);
        assert_int_equal(t.style[ROLE_DEFAULT].fg, 15);
        assert_int_equal(t.style[ROLE_DEFAULT].bg, 0);
        /* High contrast sets an explicit background on every role. */
        for (int i = 0; i < ROLE_COUNT; i++)
            if (t.style[i].bg < 0)
                fail_msg("high-contrast: %s has the terminal's background",
                         theme_role_name((enum theme_role)i));
    }
}

static void test_mono_file_matches(void **state)
{
    struct theme file, built;
    (void)state;
    parse_shipped("mono", &file);
    theme_mono(&built);
    for (int i = 0; i < ROLE_COUNT; i++) {
        if (!same_style(&file.style[i], &built.style[i]))
            fail_msg("mono.theme %s is %d %d %#x, theme_mono has %d %d %#x",
                     theme_role_name((enum theme_role)i), file.style[i].fg, file.style[i].bg,
                     file.style[i].attrs, built.style[i].fg, built.style[i].bg,
                     built.style[i].attrs);
    }
}

static void test_parse_values(void **state)
{
    static const char text[] = "# a comment line\n"
                               "\n"
                               "   \t\n"
                               "header = brightwhite blue bold underline\r\n"
                               "selected\t=\tcolor123 color0\n"
                               "dim = italic standout\n"
                               "title = default red reverse dim\n"
                               "json_key=red# a comment after the value\n"
                               "  json_string  =  color255  \n"
                               "json_number = color9"; /* no final newline */
    struct theme t, mono;
    struct error err;
    (void)state;

    error_clear(&err);
    assert_int_equal(theme_parse("t.theme", text, "custom", &t, &err), STATUS_OK);
    assert_string_equal(t.name, "custom");
    theme_mono(&mono);

    assert_int_equal(t.style[ROLE_HEADER].fg, 15);
    assert_int_equal(t.style[ROLE_HEADER].bg, 4);
    assert_int_equal(t.style[ROLE_HEADER].attrs, THEME_ATTR_BOLD | THEME_ATTR_UNDERLINE);
    assert_int_equal(t.style[ROLE_SELECTED].fg, 123);
    assert_int_equal(t.style[ROLE_SELECTED].bg, 0);
    assert_int_equal(t.style[ROLE_SELECTED].attrs, 0);
    assert_int_equal(t.style[ROLE_DIM].fg, -1);
    assert_int_equal(t.style[ROLE_DIM].bg, -1);
    assert_int_equal(t.style[ROLE_DIM].attrs, THEME_ATTR_ITALIC | THEME_ATTR_STANDOUT);
    assert_int_equal(t.style[ROLE_TITLE].fg, -1);
    assert_int_equal(t.style[ROLE_TITLE].bg, 1);
    assert_int_equal(t.style[ROLE_TITLE].attrs, THEME_ATTR_REVERSE | THEME_ATTR_DIM);
    assert_int_equal(t.style[ROLE_JSON_KEY].fg, 1);
    assert_int_equal(t.style[ROLE_JSON_KEY].bg, -1);
    assert_int_equal(t.style[ROLE_JSON_STRING].fg, 255);
    assert_int_equal(t.style[ROLE_JSON_NUMBER].fg, 9);
    /* Roles the text does not name keep their mono style. */
    assert_int_equal(theme_parse("t.theme", "header = red\n", "x", &t, &err), STATUS_OK);
    assert_int_equal(t.style[ROLE_HEADER].fg, 1);
    assert_int_equal(t.style[ROLE_HEADER].attrs, 0);
    assert_true(same_style(&t.style[ROLE_TAB], &mono.style[ROLE_TAB]));
    assert_true(same_style(&t.style[ROLE_SELECTED], &mono.style[ROLE_SELECTED]));

    /* An empty text is the mono theme under another name. */
    assert_int_equal(theme_parse("t.theme", "", "empty", &t, &err), STATUS_OK);
    assert_string_equal(t.name, "empty");
    assert_memory_equal(t.style, mono.style, sizeof(mono.style));

    /* A line of exactly the limit is accepted. */
    {
        char line[600];
        memset(line, ' ', 512);
        memcpy(line, "header = red", 12);
        line[512] = '\n';
        line[513] = '\0';
        assert_int_equal(theme_parse("t.theme", line, "x", &t, &err), STATUS_OK);
        assert_int_equal(t.style[ROLE_HEADER].fg, 1);
    }
}

struct parse_case {
    const char *text;
    const char *msg;
};

static void test_parse_errors(void **state)
{
    static char long_line[600];
    static const struct parse_case cases[] = {
        {"header = red\nnosuch = blue\n", "t.theme:2: unknown role 'nosuch'"},
        {"header = purple\n", "t.theme:1: header: bad colour 'purple'"},
        {"header = color256\n", "t.theme:1: header: bad colour 'color256' (colorN takes 0-255)"},
        {"header = color-1\n", "t.theme:1: header: bad colour 'color-1' (colorN takes 0-255)"},
        {"header = color007\n", "t.theme:1: header: bad colour 'color007' (colorN takes 0-255)"},
        {"header = bright-red\n",
         "t.theme:1: header: bad colour 'bright-red' (bright colours are spelled 'brightred')"},
        {"header = Red\n", "t.theme:1: header: bad colour 'Red'"},
        {"header = red blue green\n",
         "t.theme:1: header: too many colours at 'green' (FG [BG] [ATTR...])"},
        {"header = bold red\n",
         "t.theme:1: header: colour 'red' after attributes (FG [BG] [ATTR...])"},
        {"header = red blink\n", "t.theme:1: header: bad colour or attribute 'blink'"},
        {"header = red blue bold blink\n", "t.theme:1: header: unknown attribute 'blink'"},
        {"header = red\n# first\n\nheader = blue\n",
         "t.theme:4: duplicate role 'header' (first set on line 1)"},
        {"header red\n", "t.theme:1: missing '=' (role = FG [BG] [ATTR...])"},
        {"# only a comment = here\nheader\n", "t.theme:2: missing '=' (role = FG [BG] [ATTR...])"},
        {" = red\n", "t.theme:1: missing role name before '='"},
        {"header =   # nothing\n", "t.theme:1: header: no colour or attribute after '='"},
        {"inherit = default\n", "t.theme:1: 'inherit' is not supported; a theme is one file"},
        {"he\x1b[31mader = red\n", "t.theme:1: unknown role 'he?[31mader'"},
        {long_line, "t.theme:2: line too long (more than 512 characters)"},
    };
    (void)state;

    memcpy(long_line, "header = red\n#", 14);
    memset(long_line + 14, 'x', 512);
    long_line[14 + 512] = '\0';

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct theme t, before;
        struct error err;
        enum status st;

        memset(&t, 0x5a, sizeof(t));
        before = t;
        error_clear(&err);
        st = theme_parse("t.theme", cases[i].text, "x", &t, &err);
        if (st != STATUS_USAGE)
            fail_msg("case %zu: status %d, want USAGE", i, st);
        assert_int_equal(err.status, STATUS_USAGE);
        assert_string_equal(err.msg, cases[i].msg);
        /* Nothing of a failed parse reaches out. */
        assert_memory_equal(&t, &before, sizeof(t));
    }
}

static void test_load_order(void **state)
{
    char *user = make_dir("user");
    char *data = make_dir("data");
    char *path, *msg;
    struct theme t, mono, before;
    struct error err;
    (void)state;

    theme_mono(&mono);
    write_file(data, "light.theme", "header = green\n");
    write_file(user, "light.theme", "header = red\n");

    /* The user's theme wins over the installed one. */
    error_clear(&err);
    assert_int_equal(theme_load("light", user, data, &t, &err), STATUS_OK);
    assert_string_equal(t.name, "light");
    assert_int_equal(t.style[ROLE_HEADER].fg, 1);

    path = xasprintf("%s/light.theme", user);
    unlink(path);
    free(path);
    assert_int_equal(theme_load("light", user, data, &t, &err), STATUS_OK);
    assert_int_equal(t.style[ROLE_HEADER].fg, 2);
    assert_int_equal(theme_load("light", NULL, data, &t, &err), STATUS_OK);
    assert_int_equal(t.style[ROLE_HEADER].fg, 2);

    /* Not found names every place looked in. */
    memset(&t, 0x5a, sizeof(t));
    assert_int_equal(theme_load("nosuch", user, data, &t, &err), STATUS_NOT_FOUND);
    msg = xasprintf("theme 'nosuch' not found (looked in %s/nosuch.theme, %s/nosuch.theme)", user,
                    data);
    assert_string_equal(err.msg, msg);
    free(msg);
    assert_int_equal(theme_load("nosuch", NULL, NULL, &t, &err), STATUS_NOT_FOUND);
    assert_string_equal(err.msg, "theme 'nosuch' not found (looked in no directory)");

    /* A bad file is an error where it is, not a reason to look further. */
    write_file(user, "bad.theme", "header = purple\n");
    write_file(data, "bad.theme", "header = red\n");
    assert_int_equal(theme_load("bad", user, data, &t, &err), STATUS_USAGE);
    msg = xasprintf("%s/bad.theme:1: header: bad colour 'purple'", user);
    assert_string_equal(err.msg, msg);
    free(msg);

    /* mono is built in, and a user's mono.theme still wins. */
    assert_int_equal(theme_load("mono", user, data, &t, &err), STATUS_OK);
    assert_memory_equal(&t, &mono, sizeof(t));
    assert_int_equal(theme_load("mono", NULL, NULL, &t, &err), STATUS_OK);
    assert_string_equal(t.name, "mono");
    write_file(user, "mono.theme", "selected = underline\n");
    assert_int_equal(theme_load("mono", user, data, &t, &err), STATUS_OK);
    assert_int_equal(t.style[ROLE_SELECTED].attrs, THEME_ATTR_UNDERLINE);

    /* No name means the default theme. */
    write_file(data, "default.theme", "header = blue\n");
    assert_int_equal(theme_load(NULL, user, data, &t, &err), STATUS_OK);
    assert_string_equal(t.name, "default");
    assert_int_equal(t.style[ROLE_HEADER].fg, 4);
    assert_int_equal(theme_load("", user, data, &t, &err), STATUS_OK);
    assert_string_equal(t.name, "default");

    /* A name with '/' is a path, named after its file. */
    write_file(group_dir, "mine.theme", "header = magenta\n");
    path = xasprintf("%s/mine.theme", group_dir);
    assert_int_equal(theme_load(path, user, data, &t, &err), STATUS_OK);
    assert_string_equal(t.name, "mine");
    assert_int_equal(t.style[ROLE_HEADER].fg, 5);
    free(path);
    path = xasprintf("%s/none.theme", group_dir);
    assert_int_equal(theme_load(path, user, data, &t, &err), STATUS_NOT_FOUND);
    msg = xasprintf("theme file %s not found", path);
    assert_string_equal(err.msg, msg);
    free(msg);
    free(path);

    /* Names never leave the theme directories. */
    memset(&t, 0x5a, sizeof(t));
    before = t;
    assert_int_equal(theme_load("..", user, data, &t, &err), STATUS_USAGE);
    assert_string_equal(err.msg, "bad theme name '..' (letters, digits, '-', '_', '.'; or a path)");
    assert_int_equal(theme_load(".hidden", user, data, &t, &err), STATUS_USAGE);
    assert_int_equal(theme_load("a b", user, data, &t, &err), STATUS_USAGE);
    assert_memory_equal(&t, &before, sizeof(t));

    free(data);
    free(user);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
}

static void test_list(void **state)
{
    char *user = make_dir("list-user");
    char *data = make_dir("list-data");
    char *missing = xasprintf("%s/missing", group_dir);
    char *names[8];
    size_t n;
    (void)state;

    write_file(user, "a.theme", "");
    write_file(user, "light.theme", "");
    write_file(user, "notes.txt", "");
    write_file(user, ".hidden.theme", "");
    write_file(user, "bad name.theme", "");
    write_file(user, ".theme", "");
    write_file(data, "light.theme", "");
    write_file(data, "default.theme", "");
    write_file(data, "mono.theme", "");

    n = theme_list(user, data, names, 8);
    assert_int_equal(n, 4);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "default");
    assert_string_equal(names[2], "light");
    assert_string_equal(names[3], "mono");
    free_names(names, n);

    /* Cut at max, keeping the first in order. */
    n = theme_list(user, data, names, 2);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "a");
    assert_string_equal(names[1], "default");
    free_names(names, n);

    n = theme_list(missing, NULL, names, 8);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "mono");
    free_names(names, n);

    assert_int_equal(theme_list(user, data, NULL, 0), 0);

    free(missing);
    free(data);
    free(user);
}

/* Saves an environment variable and sets (value non-NULL) or unsets it. */
static char *env_swap(const char *name, const char *value)
{
    const char *old = getenv(name);
    char *saved = old != NULL ? xstrdup(old) : NULL;
    if (value != NULL)
        setenv(name, value, 1);
    else
        unsetenv(name);
    return saved;
}

static void env_restore(const char *name, char *saved)
{
    if (saved != NULL)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

static void test_dirs(void **state)
{
    char *saved_themes = env_swap("OPSDECK_THEMES_DIR", "/src/themes");
    char *saved_xdg = env_swap("XDG_CONFIG_HOME", "/xdg");
    char *saved_home = env_swap("HOME", "/home/u");
    char *dir;
    (void)state;

    dir = theme_data_dir();
    assert_string_equal(dir, "/src/themes");
    free(dir);
    unsetenv("OPSDECK_THEMES_DIR");
    dir = theme_data_dir();
    assert_string_equal(dir, OPSDECK_DATADIR "/themes");
    free(dir);

    dir = theme_user_dir();
    assert_string_equal(dir, "/xdg/opsdeck/themes");
    free(dir);
    unsetenv("XDG_CONFIG_HOME");
    dir = theme_user_dir();
    assert_string_equal(dir, "/home/u/.config/opsdeck/themes");
    free(dir);

    env_restore("HOME", saved_home);
    env_restore("XDG_CONFIG_HOME", saved_xdg);
    env_restore("OPSDECK_THEMES_DIR", saved_themes);
}

/* The shipped files load through theme_load the way an installed console
 * finds them, with the source tree as the data dir. */
static void test_load_shipped(void **state)
{
    const char *src = getenv("OPSDECK_SRCDIR");
    char *data;
    char *names[8];
    size_t n;
    (void)state;

    if (src == NULL)
        fail_msg("OPSDECK_SRCDIR is not set (run through make check)");
    data = xasprintf("%s/themes", src);
    for (size_t f = 0; f < SHIPPED_COUNT; f++) {
        struct theme t;
        struct error err;
        error_clear(&err);
        if (theme_load(shipped[f], NULL, data, &t, &err) != STATUS_OK)
            fail_msg("%s", err.msg);
        assert_string_equal(t.name, shipped[f]);
    }
    n = theme_list(NULL, data, names, 8);
    assert_int_equal(n, SHIPPED_COUNT);
    assert_string_equal(names[0], "default");
    assert_string_equal(names[1], "high-contrast");
    assert_string_equal(names[2], "light");
    assert_string_equal(names[3], "mono");
    free_names(names, n);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_names),
        cmocka_unit_test(test_mono_builtin),
        cmocka_unit_test(test_shipped_complete),
        cmocka_unit_test(test_shipped_colours),
        cmocka_unit_test(test_mono_file_matches),
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_load_order),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_dirs),
        cmocka_unit_test(test_load_shipped),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
