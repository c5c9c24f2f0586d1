/* Unit tests for the option table and the effective configuration:
 * defaults, precedence, profiles, every config-file error, variables,
 * flags, secrets and display. */
#include <config.h>

#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
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

#include "core/config.h"
#include "core/options.h"
#include "tests/common/testutil.h"
#include "util/xmalloc.h"

/* Variables the code under test reads besides OPSDECK_*; saved and
 * restored so that tests neither see nor leave the caller's values. */
static const char *const saved_names[] = {"USER", "SUDO_USER", "HOME", "XDG_CONFIG_HOME"};
#define SAVED_COUNT (sizeof(saved_names) / sizeof(saved_names[0]))
#define MAX_PATHS   16

struct fixture {
    char dir[96];
    char *files[MAX_PATHS];
    size_t nfiles;
    char *dirs[MAX_PATHS];
    size_t ndirs;
    char *saved[SAVED_COUNT];
};

static void clear_opsdeck_env(void)
{
    for (int i = 0; i < OPTION_COUNT; i++) {
        const struct option_def *def = options_get((enum option_id)i);
        if (def->env != NULL)
            unsetenv(def->env);
    }
}

/* One temp dir for the whole group, removed by the group teardown, which
 * cmocka runs even when a test failed and its own teardown was skipped. */
static char group_dir[64];

static int group_setup(void **state)
{
    (void)state;
    return testutil_tmpdir(group_dir, sizeof(group_dir), "opsdeck-test");
}

static int group_teardown(void **state)
{
    (void)state;
    testutil_rmtree(group_dir);
    return 0;
}

static int setup(void **state)
{
    struct fixture *fx = xcalloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "%s/t-XXXXXX", group_dir);
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    for (size_t i = 0; i < SAVED_COUNT; i++) {
        const char *v = getenv(saved_names[i]);
        fx->saved[i] = v != NULL ? xstrdup(v) : NULL;
        unsetenv(saved_names[i]);
    }
    clear_opsdeck_env();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    for (size_t i = 0; i < fx->nfiles; i++) {
        unlink(fx->files[i]);
        free(fx->files[i]);
    }
    for (size_t i = fx->ndirs; i > 0; i--) {
        rmdir(fx->dirs[i - 1]);
        free(fx->dirs[i - 1]);
    }
    rmdir(fx->dir);
    clear_opsdeck_env();
    for (size_t i = 0; i < SAVED_COUNT; i++) {
        if (fx->saved[i] != NULL)
            setenv(saved_names[i], fx->saved[i], 1);
        else
            unsetenv(saved_names[i]);
        free(fx->saved[i]);
    }
    free(fx);
    return 0;
}

/* Writes len bytes (the file may hold NULs) and returns its path, which the
 * fixture owns and removes. */
static const char *write_bytes(struct fixture *fx, const char *name, const char *data, size_t len)
{
    char *path = xasprintf("%s/%s", fx->dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_true(fx->nfiles < MAX_PATHS);
    fx->files[fx->nfiles++] = path;
    return path;
}

static const char *write_file(struct fixture *fx, const char *name, const char *text)
{
    return write_bytes(fx, name, text, strlen(text));
}

static const char *make_dir(struct fixture *fx, const char *name)
{
    char *path = xasprintf("%s/%s", fx->dir, name);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_true(fx->ndirs < MAX_PATHS);
    fx->dirs[fx->ndirs++] = path;
    return path;
}

/* A path inside the temp dir that is never created. */
static char *missing_path(struct fixture *fx)
{
    return xasprintf("%s/does-not-exist", fx->dir);
}

static void assert_word_list(const struct config *cfg, enum option_id id, const char *const *want,
                             size_t nwant)
{
    size_t n = 99;
    const char *const *words = config_list(cfg, id, &n);
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < nwant; i++)
        assert_string_equal(words[i], want[i]);
}

/* Every value a fresh config holds, so "unchanged" can be checked. */
static void assert_all_defaults(const struct config *cfg)
{
    static const char *const redact[] = {"password",      "secret",      "token", "api_key",
                                         "authorization", "card_number", "cvv",   "iban",
                                         "ssn",           "email",       "phone"};
    size_t n;
    assert_string_equal(config_str(cfg, OPTION_PROFILE), "default");
    assert_null(config_str(cfg, OPTION_CONFIG));
    assert_string_equal(config_str(cfg, OPTION_POSTGRES), "");
    assert_string_equal(config_str(cfg, OPTION_REDIS), "redis://127.0.0.1:6379/0");
    assert_string_equal(config_str(cfg, OPTION_REDIS_PASSWORD_FILE), "");
    assert_string_equal(config_str(cfg, OPTION_SCHEMA), "wf");
    assert_string_equal(config_str(cfg, OPTION_DLQ_PREFIX), "dlq");
    assert_string_equal(config_str(cfg, OPTION_CIRCUIT_PREFIX), "circuit_breakers");
    assert_string_equal(config_str(cfg, OPTION_ROUTE), "publish");
    assert_string_equal(config_str(cfg, OPTION_THEME), "default");
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 2000);
    assert_word_list(cfg, OPTION_REDACT, redact, sizeof(redact) / sizeof(redact[0]));
    assert_null(config_str(cfg, OPTION_OPERATOR));
    assert_false(config_bool(cfg, OPTION_READ_ONLY));
    assert_int_equal(config_ms(cfg, OPTION_CONNECT_TIMEOUT), 3000);
    assert_int_equal(config_ms(cfg, OPTION_COMMAND_TIMEOUT), 5000);
    assert_int_equal(config_ms(cfg, OPTION_LOCK_TIMEOUT), 2000);
    assert_false(config_bool(cfg, OPTION_JSON));
    config_routes(cfg, &n);
    assert_int_equal(n, 1);
    assert_string_equal(config_route_for(cfg, "orders"), "publish");
    for (int i = 0; i < OPTION_COUNT; i++) {
        assert_int_equal(config_source_of(cfg, (enum option_id)i), CONFIG_DEFAULT);
        assert_string_equal(config_origin(cfg, (enum option_id)i), "default");
    }
}

/* ---- the option table ------------------------------------------------ */

static void test_options_names(void **state)
{
    (void)state;
    const struct option_def *def = options_get(OPTION_READ_ONLY);
    assert_string_equal(def->key, "read_only");
    assert_string_equal(def->env, "OPSDECK_READ_ONLY");
    assert_string_equal(def->flag, "--read-only");
    assert_ptr_equal(options_find_flag("--read-only"), def);
    assert_ptr_equal(options_find_env("OPSDECK_READ_ONLY"), def);
    assert_ptr_equal(options_find_key("read_only"), def);
    assert_null(options_find_flag("--read_only"));
    assert_null(options_find_key("read-only"));
    assert_null(options_find_key("READ_ONLY"));

    assert_ptr_equal(options_find_flag("-p"), options_get(OPTION_PROFILE));
    assert_ptr_equal(options_find_flag("--profile"), options_get(OPTION_PROFILE));
    assert_null(options_find_flag("-x"));
    assert_null(options_find_flag("-"));
    assert_null(options_find_flag("-pp"));
    assert_null(options_find_flag(NULL));
    assert_null(options_find_env("OPSDECK_NOPE"));
    assert_null(options_find_key(NULL));

    /* json is a flag only: no variable */
    assert_null(options_get(OPTION_JSON)->env);
    assert_null(options_find_env("OPSDECK_JSON"));
    assert_string_equal(options_get(OPTION_JSON)->flag, "--json");
    assert_string_equal(options_get(OPTION_REDIS_PASSWORD_FILE)->flag, "--redis-password-file");
    assert_string_equal(options_get(OPTION_CONNECT_TIMEOUT)->env, "OPSDECK_CONNECT_TIMEOUT");

    /* every name derives from the key, for every row */
    for (int i = 0; i < OPTION_COUNT; i++) {
        def = options_get((enum option_id)i);
        assert_int_equal(def->id, i);
        char want[80];
        if (def->where & OPTION_IN_ENV) {
            size_t k = 0;
            k += (size_t)snprintf(want, sizeof(want), "OPSDECK_");
            for (const char *p = def->key; *p != '\0'; p++)
                want[k++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : *p;
            want[k] = '\0';
            assert_string_equal(def->env, want);
            assert_ptr_equal(options_find_env(want), def);
        } else {
            assert_null(def->env);
        }
        if (def->where & OPTION_IN_FLAG) {
            size_t k = (size_t)snprintf(want, sizeof(want), "--");
            for (const char *p = def->key; *p != '\0'; p++)
                want[k++] = *p == '_' ? '-' : *p;
            want[k] = '\0';
            assert_string_equal(def->flag, want);
            assert_ptr_equal(options_find_flag(want), def);
        } else {
            assert_null(def->flag);
        }
        assert_ptr_equal(options_find_key(def->key), def);
    }
}

/* ---- defaults and display -------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    struct config *cfg = config_new();
    assert_all_defaults(cfg);
    char *s = config_display(cfg, OPTION_REFRESH);
    assert_string_equal(s, "2s");
    free(s);
    s = config_display(cfg, OPTION_READ_ONLY);
    assert_string_equal(s, "false");
    free(s);
    s = config_display(cfg, OPTION_REDACT);
    assert_string_equal(
        s, "password,secret,token,api_key,authorization,card_number,cvv,iban,ssn,email,phone");
    free(s);
    s = config_display(cfg, OPTION_CONFIG);
    assert_string_equal(s, "");
    free(s);
    s = config_display(cfg, OPTION_ROUTE);
    assert_string_equal(s, "publish");
    free(s);
    config_free(cfg);
    config_free(NULL);
}

static void test_display(void **state)
{
    struct fixture *fx = *state;
    struct error err;
    struct config *cfg = config_new();
    const char *path = write_file(fx, "config",
                                  "postgres = host=db user=app password='s3 cret'\n"
                                  "redis = redis://ops:hunter2@cache:6379/1\n"
                                  "connect_timeout = 90s\n"
                                  "command_timeout = 1500ms\n"
                                  "lock_timeout = 0\n"
                                  "refresh = 1h\n"
                                  "read_only = ON\n"
                                  "redact = token , email,,\n");
    assert_int_equal(config_load_file(cfg, path, NULL, true, false, &err), STATUS_OK);
    static const struct {
        enum option_id id;
        const char *shown;
    } cases[] = {
        {OPTION_POSTGRES, "host=db user=app password='****'"},
        {OPTION_REDIS, "redis://ops:****@cache:6379/1"},
        {OPTION_CONNECT_TIMEOUT, "1m30s"},
        {OPTION_COMMAND_TIMEOUT, "1s500ms"},
        {OPTION_LOCK_TIMEOUT, "0s"},
        {OPTION_REFRESH, "1h"},
        {OPTION_READ_ONLY, "true"},
        {OPTION_REDACT, "token,email"},
        {OPTION_SCHEMA, "wf"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = config_display(cfg, cases[i].id);
        assert_string_equal(s, cases[i].shown);
        free(s);
    }
    /* the accessors still hand out the real secret, for connecting */
    assert_string_equal(config_str(cfg, OPTION_POSTGRES), "host=db user=app password='s3 cret'");
    assert_int_equal(config_ms(cfg, OPTION_CONNECT_TIMEOUT), 90000);
    assert_true(config_bool(cfg, OPTION_READ_ONLY));
    config_free(cfg);
}

/* ---- precedence ------------------------------------------------------ */

static void test_precedence(void **state)
{
    struct fixture *fx = *state;
    struct error err;
    struct config *cfg = config_new();
    const char *path = write_file(fx, "config",
                                  "schema = from_file\n"
                                  "refresh = 5s\n"
                                  "theme = light\n"
                                  "read_only = true\n"
                                  "route = list:file_default\n"
                                  "route.orders = list:file_orders\n"
                                  "route.billing = stream:file_billing\n");
    char *want;

    assert_int_equal(config_load_file(cfg, path, "default", true, false, &err), STATUS_OK);
    setenv("OPSDECK_REFRESH", "7s", 1);
    setenv("OPSDECK_THEME", "mono", 1);
    setenv("OPSDECK_ROUTE", "orders=stream:env_orders", 1);
    assert_int_equal(config_load_env(cfg, &err), STATUS_OK);
    assert_int_equal(config_apply(cfg, OPTION_REFRESH, "9s", CONFIG_FLAG, "--refresh", &err),
                     STATUS_OK);
    assert_int_equal(config_apply(cfg, OPTION_ROUTE, "publish", CONFIG_FLAG, "--route", &err),
                     STATUS_OK);

    /* flag > env > file > default */
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 9000);
    assert_string_equal(config_origin(cfg, OPTION_REFRESH), "flag --refresh");
    assert_int_equal(config_source_of(cfg, OPTION_REFRESH), CONFIG_FLAG);
    assert_string_equal(config_str(cfg, OPTION_THEME), "mono");
    assert_string_equal(config_origin(cfg, OPTION_THEME), "env OPSDECK_THEME");
    assert_int_equal(config_source_of(cfg, OPTION_THEME), CONFIG_ENV);
    assert_string_equal(config_str(cfg, OPTION_SCHEMA), "from_file");
    want = xasprintf("file %s:1", path);
    assert_string_equal(config_origin(cfg, OPTION_SCHEMA), want);
    free(want);
    assert_int_equal(config_source_of(cfg, OPTION_SCHEMA), CONFIG_FILE);
    assert_true(config_bool(cfg, OPTION_READ_ONLY));
    assert_string_equal(config_str(cfg, OPTION_DLQ_PREFIX), "dlq");
    assert_string_equal(config_origin(cfg, OPTION_DLQ_PREFIX), "default");

    /* routes: each queue keeps its own precedence */
    assert_string_equal(config_str(cfg, OPTION_ROUTE), "publish");
    assert_string_equal(config_origin(cfg, OPTION_ROUTE), "flag --route");
    assert_string_equal(config_route_for(cfg, "orders"), "stream:env_orders");
    assert_string_equal(config_route_for(cfg, "billing"), "stream:file_billing");
    assert_string_equal(config_route_for(cfg, "unknown"), "publish");
    assert_string_equal(config_route_for(cfg, NULL), "publish");
    size_t n;
    const struct config_route *routes = config_routes(cfg, &n);
    assert_int_equal(n, 3);
    assert_null(routes[0].queue);
    assert_string_equal(routes[0].route, "publish");
    assert_int_equal(routes[0].source, CONFIG_FLAG);
    assert_string_equal(routes[0].origin, "flag --route");
    for (size_t i = 1; i < n; i++) {
        if (strcmp(routes[i].queue, "orders") == 0) {
            assert_int_equal(routes[i].source, CONFIG_ENV);
            assert_string_equal(routes[i].origin, "env OPSDECK_ROUTE");
        } else {
            assert_string_equal(routes[i].queue, "billing");
            assert_int_equal(routes[i].source, CONFIG_FILE);
            want = xasprintf("file %s:7", path);
            assert_string_equal(routes[i].origin, want);
            free(want);
        }
    }
    config_free(cfg);
}

/* Loading in the wrong order changes nothing: a lower source never
 * replaces a higher one. */
static void test_precedence_reverse_order(void **state)
{
    struct fixture *fx = *state;
    struct error err;
    struct config *cfg = config_new();
    const char *path = write_file(fx, "config",
                                  "refresh = 5s\ntheme = light\nroute.orders = list:file\n"
                                  "route = list:file_default\nroute.billing = list:file_billing\n");

    assert_int_equal(config_apply(cfg, OPTION_REFRESH, "9s", CONFIG_FLAG, "--refresh", &err),
                     STATUS_OK);
    assert_int_equal(
        config_apply(cfg, OPTION_ROUTE, "orders=stream:flag", CONFIG_FLAG, "--route", &err),
        STATUS_OK);
    setenv("OPSDECK_REFRESH", "7s", 1);
    setenv("OPSDECK_THEME", "mono", 1);
    setenv("OPSDECK_ROUTE", "stream:env_default,billing=stream:env_billing", 1);
    assert_int_equal(config_load_env(cfg, &err), STATUS_OK);
    assert_int_equal(config_load_file(cfg, path, NULL, true, false, &err), STATUS_OK);
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 9000);
    assert_string_equal(config_str(cfg, OPTION_THEME), "mono");
    assert_string_equal(config_route_for(cfg, "orders"), "stream:flag");
    assert_string_equal(config_route_for(cfg, "billing"), "stream:env_billing");
    assert_string_equal(config_str(cfg, OPTION_ROUTE), "stream:env_default");
    assert_int_equal(config_source_of(cfg, OPTION_ROUTE), CONFIG_ENV);
    /* the same source replaces: the last flag wins */
    assert_int_equal(config_apply(cfg, OPTION_REFRESH, "3s", CONFIG_FLAG, "--refresh", &err),
                     STATUS_OK);
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 3000);
    /* a lower source is still validated */
    assert_int_equal(config_apply(cfg, OPTION_REFRESH, "soon", CONFIG_DEFAULT, NULL, &err),
                     STATUS_USAGE);
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 3000);
    config_free(cfg);
}

/* ---- profiles -------------------------------------------------------- */

static const char profile_file[] = "# opsdeck config\n"
                                   "schema = top\n"
                                   "theme = light\n"
                                   "\n"
                                   "[default]\n"
                                   "refresh = 4s\n"
                                   "route.orders = list:default_orders\n"
                                   "\n"
                                   "[prod]\n"
                                   "postgres = service=prod\n"
                                   "refresh = 10s\n"
                                   "read_only = yes\n"
                                   "route.orders = stream:prod_orders\n"
                                   "\n"
                                   "[staging]\n"
                                   "schema = staging\n"
                                   "theme = mono\n";

static void test_profile_inherits_default(void **state)
{
    struct fixture *fx = *state;
    struct error err;
    const char *path = write_file(fx, "config", profile_file);
    struct config *cfg = config_new();

    assert_int_equal(config_load_file(cfg, path, "prod", true, true, &err), STATUS_OK);
    /* from [prod] */
    assert_string_equal(config_str(cfg, OPTION_POSTGRES), "service=prod");
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 10000);
    assert_true(config_bool(cfg, OPTION_READ_ONLY));
    assert_string_equal(config_route_for(cfg, "orders"), "stream:prod_orders");
    char *want = xasprintf("file %s:11", path);
    assert_string_equal(config_origin(cfg, OPTION_REFRESH), want);
    free(want);
    /* inherited from the keys before any section and from [default] */
    assert_string_equal(config_str(cfg, OPTION_SCHEMA), "top");
    assert_string_equal(config_str(cfg, OPTION_THEME), "light");
    /* nothing from [staging] */
    assert_string_equal(config_str(cfg, OPTION_DLQ_PREFIX), "dlq");
    config_free(cfg);

    cfg = config_new();
    assert_int_equal(config_load_file(cfg, path, "staging", true, true, &err), STATUS_OK);
    assert_string_equal(config_str(cfg, OPTION_SCHEMA), "staging");
    assert_string_equal(config_str(cfg, OPTION_THEME), "mono");
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 4000);
    assert_string_equal(config_route_for(cfg, "orders"), "list:default_orders");
    assert_false(config_bool(cfg, OPTION_READ_ONLY));
    config_free(cfg);

    /* no profile, or "default": [default] alone */
    cfg = config_new();
    assert_int_equal(config_load_file(cfg, path, NULL, true, false, &err), STATUS_OK);
    assert_string_equal(config_str(cfg, OPTION_SCHEMA), "top");
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 4000);
    assert_string_equal(config_str(cfg, OPTION_POSTGRES), "");
    config_free(cfg);
    cfg = config_new();
    assert_int_equal(config_load_file(cfg, path, "default", true, true, &err), STATUS_OK);
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 4000);
    config_free(cfg);
}

static void test_profile_missing(void **state)
{
    struct fixture *fx = *state;
    struct error err;
    const char *path = write_file(fx, "config", profile_file);
    struct config *cfg = config_new();
    char *want;

    assert_int_equal(config_load_file(cfg, path, "qa", true, true, &err), STATUS_USAGE);
    assert_int_equal(err.status, STATUS_USAGE);
    want = xasprintf("%s: no profile 'qa' (profiles: prod, staging)", path);
    assert_string_equal(err.msg, want);
    free(want);
    assert_all_defaults(cfg);

    /* not required: [default] still applies */
    assert_int_equal(config_load_file(cfg, path, "qa", true, false, &err), STATUS_OK);
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 4000);
    assert_false(config_bool(cfg, OPTION_READ_ONLY));
    config_free(cfg);

    /* a file without sections */
    path = write_file(fx, "flat", "schema = flat\n");
    cfg = config_new();
    assert_int_equal(config_load_file(cfg, path, "prod", true, true, &err), STATUS_USAGE);
    want = xasprintf("%s: no profile 'prod' (profiles: none)", path);
    assert_string_equal(err.msg, want);
    free(want);
    assert_string_equal(config_str(cfg, OPTION_SCHEMA), "wf");
    config_free(cfg);
}

static void test_file_missing(void **state)
{
    struct fixture *fx = *state;
    struct error err;
    struct config *cfg = config_new();
    char *path = missing_path(fx);
    char *want;

    /* the default path may well not exist: fine */
    assert_int_equal(config_load_file(cfg, path, NULL, false, false, &err), STATUS_OK);
    assert_int_equal(config_load_file(cfg, path, "default", false, true, &err), STATUS_OK);
    assert_all_defaults(cfg);
    /* --config names a file that must exist */
    assert_int_equal(config_load_file(cfg, path, NULL, true, false, &err), STATUS_USAGE);
    want = xasprintf("%s: No such file or directory", path);
    assert_string_equal(err.msg, want);
    free(want);
    /* --profile prod without any file must not run against the defaults */
    assert_int_equal(config_load_file(cfg, path, "prod", false, true, &err), STATUS_USAGE);
    want = xasprintf("%s: No such file or directory (needed for profile 'prod')", path);
    assert_string_equal(err.msg, want);
    free(want);
    assert_all_defaults(cfg);
    free(path);
    config_free(cfg);
}

static void test_file_unreadable(void **state)
{
    struct fixture *fx = *state;
    struct error err;
    struct config *cfg = config_new();
    const char *dir = make_dir(fx, "adir");

    /* exists but cannot be read as a file; works as root too */
    assert_int_equal(config_load_file(cfg, dir, NULL, false, false, &err), STATUS_USAGE);
    char *want = xasprintf("%s: Is a directory", dir);
    assert_string_equal(err.msg, want);
    free(want);
    assert_all_defaults(cfg);
    config_free(cfg);
}

/* ---- the file's syntax ----------------------------------------------- */

static void test_file_syntax(void **state)
{
    struct fixture *fx = *state;
    struct error err;
    static const char text[] = "\xef\xbb\xbf# a comment\r\n"
                               "   ; another comment\r\n"
                               "\t# indented comment\n"
                               "\n"
                               "   \t  \n"
                               "schema=tight\n"
                               "  theme   =   spaced out   \n"
                               "dlq_prefix = \"  {dlq} \\\"q\\\" \\\\ \\n  \"\n"
                               "circuit_prefix = cb#not-a-comment\n"
                               "postgres = host=db password=x sslmode=require\n"
                               "redact = \" a , b,,c \"\n"
                               "operator = J\xc3\xbcrgen\n"
                               "[ prod ]\n"
                               "refresh = 1m\n";
    const char *path = write_file(fx, "config", text);
    struct config *cfg = config_new();

    assert_int_equal(config_load_file(cfg, path, "prod", true, true, &err), STATUS_OK);
    assert_string_equal(config_str(cfg, OPTION_SCHEMA), "tight");
    assert_string_equal(config_str(cfg, OPTION_THEME), "spaced out");
    assert_string_equal(config_str(cfg, OPTION_DLQ_PREFIX), "  {dlq} \"q\" \\ \\n  ");
    assert_string_equal(config_str(cfg, OPTION_CIRCUIT_PREFIX), "cb#not-a-comment");
    assert_string_equal(config_str(cfg, OPTION_POSTGRES), "host=db password=x sslmode=require");
    static const char *const words[] = {"a", "b", "c"};
    assert_word_list(cfg, OPTION_REDACT, words, 3);
    assert_string_equal(config_str(cfg, OPTION_OPERATOR), "J\xc3\xbcrgen");
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 60000);
    char *want = xasprintf("file %s:14", path);
    assert_string_equal(config_origin(cfg, OPTION_REFRESH), want);
    free(want);
    config_free(cfg);

    /* a line of exactly 4096 bytes is fine */
    char line[4096 + 2];
    memset(line, 'a', sizeof(line));
    memcpy(line, "theme = ", 8);
    line[4096] = '\n';
    line[4097] = '\0';
    path = write_file(fx, "long_ok", line);
    cfg = config_new();
    assert_int_equal(config_load_file(cfg, path, NULL, true, false, &err), STATUS_OK);
    assert_int_equal(strlen(config_str(cfg, OPTION_THEME)), 4096 - 8);
    config_free(cfg);

    /* an empty file, and one without a final newline */
    path = write_file(fx, "empty", "");
    cfg = config_new();
    assert_int_equal(config_load_file(cfg, path, NULL, true, false, &err), STATUS_OK);
    assert_all_defaults(cfg);
    path = write_file(fx, "no_newline", "schema = last");
    assert_int_equal(config_load_file(cfg, path, NULL, true, false, &err), STATUS_OK);
    assert_string_equal(config_str(cfg, OPTION_SCHEMA), "last");
    config_free(cfg);
}

struct file_error_case {
    const char *text;
    size_t len; /* 0: strlen(text) */
    const char *profile;
    const char *want; /* after "PATH" */
};

static void test_file_errors(void **state)
{
    struct fixture *fx = *state;
    static char long_line[4097 + 2];
    memset(long_line, 'a', sizeof(long_line));
    memcpy(long_line, "theme = ", 8);
    long_line[4097] = '\n';
    long_line[4098] = '\0';
    const struct file_error_case cases[] = {
        {"bogus = 1\n", 0, NULL, ":1: unknown key 'bogus'"},
        {"Schema = x\n", 0, NULL, ":1: unknown key 'Schema'"},
        {"\n\nprofile = prod\n", 0, NULL,
         ":3: key 'profile' cannot be set in the config file; use --profile or OPSDECK_PROFILE"},
        {"config = /etc/x\n", 0, NULL,
         ":1: key 'config' cannot be set in the config file; use --config or OPSDECK_CONFIG"},
        {"json = true\n", 0, NULL, ":1: key 'json' cannot be set in the config file; use --json"},
        {"refresh = abc\n", 0, NULL,
         ":1: refresh: expected a duration like 500ms, 2s, 1m; got 'abc'"},
        {"refresh = 50ms\n", 0, NULL, ":1: refresh: must be between 100ms and 1h; got '50ms'"},
        {"refresh = 2h\n", 0, NULL, ":1: refresh: must be between 100ms and 1h; got '2h'"},
        {"lock_timeout = 11m\n", 0, NULL, ":1: lock_timeout: must be at most 10m; got '11m'"},
        {"read_only = maybe\n", 0, NULL,
         ":1: read_only: expected true or false (yes/no, on/off, 1/0); got 'maybe'"},
        {"schema = Bad-Name\n", 0, NULL,
         ":1: schema: expected a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 "
         "characters); got 'Bad-Name'"},
        {"schema =\n", 0, NULL,
         ":1: schema: expected a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 "
         "characters); got ''"},
        {"route = carrier-pigeon\n", 0, NULL,
         ":1: route: expected publish, list:KEY or stream:KEY; got 'carrier-pigeon'"},
        {"route.orders = list:\n", 0, NULL,
         ":1: route: expected publish, list:KEY or stream:KEY for queue 'orders'; got 'list:'"},
        {"route. = publish\n", 0, NULL, ":1: missing queue name after 'route.'"},
        {"route = =publish\n", 0, NULL,
         ":1: route: expected QUEUE=ROUTE with a queue name before '='; got '=publish'"},
        {"# c\nschema = a\nschema = b\n", 0, NULL,
         ":3: duplicate key 'schema' in [default] (first set on line 2 as 'schema')"},
        {"schema = a\n[default]\nschema = b\n", 0, NULL,
         ":3: duplicate key 'schema' in [default] (first set on line 1 as 'schema')"},
        {"[prod]\nschema = a\n[staging]\n[prod]\nschema = b\n", 0, "prod",
         ":5: duplicate key 'schema' in [prod] (first set on line 2 as 'schema')"},
        {"route.orders = publish\nroute = orders=list:x\n", 0, NULL,
         ":2: duplicate key 'route' in [default] (first set on line 1 as 'route.orders')"},
        {"just some words\n", 0, NULL, ":1: expected 'key = value', '[profile]' or a comment"},
        {"[prod\n", 0, NULL, ":1: unterminated section header"},
        {"[prod] extra\n", 0, NULL, ":1: unexpected text after ']'"},
        {"[]\n", 0, NULL, ":1: bad section name '': use letters, digits, '_', '-' and '.'"},
        {"[a b]\n", 0, NULL, ":1: bad section name 'a b': use letters, digits, '_', '-' and '.'"},
        {"theme = \"dark\n", 0, NULL, ":1: theme: unterminated quote"},
        {"theme = \"dark\\\"\n", 0, NULL, ":1: theme: unterminated quote"},
        {"theme = \"dark\" light\n", 0, NULL, ":1: theme: unexpected text after the closing quote"},
        {" = x\n", 0, NULL, ":1: missing key before '='"},
        {"schema = a\ntheme = caf\xe9\n", 0, NULL, ":2: invalid UTF-8"},
        {"theme = \xc0\xaf\n", 0, NULL, ":1: invalid UTF-8"},
        {"theme = \xe0\x80\xaf\n", 0, NULL, ":1: invalid UTF-8"},
        {"theme = \xf4\x90\x80\x80\n", 0, NULL, ":1: invalid UTF-8"},
        {"theme = caf\xc3\n", 0, NULL, ":1: invalid UTF-8"},
        {"theme = \xed\xa0\x80\n", 0, NULL, ":1: invalid UTF-8"},
        {"# \xff comment\n", 0, NULL, ":1: invalid UTF-8"},
        {"schema = a\nthe\0me = x\n", 22, NULL, ":2: NUL byte in the line"},
        {"theme = a\x01z\n", 0, NULL, ":1: theme: the value contains a control character"},
        {long_line, 0, NULL, ":1: line longer than 4096 bytes"},
        {"schema = a\r\nbogus = 1\r\n", 0, NULL, ":2: unknown key 'bogus'"},
        /* every section is checked, not only the chosen one */
        {"[prod]\nschema = p\n[staging]\nrefresh = soon\n", 0, "prod",
         ":4: refresh: expected a duration like 500ms, 2s, 1m; got 'soon'"},
    };
    char name[32];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct error err;
        const struct file_error_case *c = &cases[i];
        snprintf(name, sizeof(name), "bad%zu", i);
        const char *path = write_bytes(fx, name, c->text, c->len ? c->len : strlen(c->text));
        struct config *cfg = config_new();
        char *want = xasprintf("%s%s", path, c->want);
        enum status st = config_load_file(cfg, path, c->profile, true, false, &err);
        if (st != STATUS_USAGE || strcmp(err.msg, want) != 0)
            print_error("case %zu:\n  got  %s\n  want %s\n", i, st == STATUS_OK ? "OK" : err.msg,
                        want);
        assert_int_equal(st, STATUS_USAGE);
        assert_int_equal(err.status, STATUS_USAGE);
        assert_string_equal(err.msg, want);
        assert_all_defaults(cfg);
        free(want);
        config_free(cfg);
        unlink(path); /* keep the fixture's list short */
        free(fx->files[--fx->nfiles]);
    }
}

/* Nothing is applied from a file with an error, not even the lines before
 * it, and what earlier sources set survives. */
static void test_file_error_applies_nothing(void **state)
{
    struct fixture *fx = *state;
    struct error err;
    const char *path = write_file(fx, "config",
                                  "schema = changed\n"
                                  "refresh = 9s\n"
                                  "route.orders = list:x\n"
                                  "[prod]\n"
                                  "read_only = true\n"
                                  "postgres = service=prod\n"
                                  "lock_timeout = forever\n");
    struct config *cfg = config_new();

    assert_int_equal(config_apply(cfg, OPTION_THEME, "mono", CONFIG_ENV, "OPSDECK_THEME", &err),
                     STATUS_OK);
    assert_int_equal(config_load_file(cfg, path, "prod", true, true, &err), STATUS_USAGE);
    char *want = xasprintf("%s:7: lock_timeout: expected a duration like 500ms, 2s, 1m; got "
                           "'forever'",
                           path);
    assert_string_equal(err.msg, want);
    free(want);
    assert_string_equal(config_str(cfg, OPTION_SCHEMA), "wf");
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 2000);
    assert_false(config_bool(cfg, OPTION_READ_ONLY));
    assert_string_equal(config_str(cfg, OPTION_POSTGRES), "");
    assert_string_equal(config_route_for(cfg, "orders"), "publish");
    size_t n;
    config_routes(cfg, &n);
    assert_int_equal(n, 1);
    assert_string_equal(config_str(cfg, OPTION_THEME), "mono");
    assert_string_equal(config_origin(cfg, OPTION_THEME), "env OPSDECK_THEME");
    assert_string_equal(config_origin(cfg, OPTION_SCHEMA), "default");
    config_free(cfg);
}

/* ---- variables ------------------------------------------------------- */

static void test_env(void **state)
{
    (void)state;
    struct error err;
    struct config *cfg = config_new();

    setenv("OPSDECK_SCHEMA", "from_env", 1);
    setenv("OPSDECK_REFRESH", "500ms", 1);
    setenv("OPSDECK_READ_ONLY", "Yes", 1);
    setenv("OPSDECK_REDACT", "iban, ssn ,", 1);
    setenv("OPSDECK_ROUTE", " list:replay , orders=stream:orders,, billing = publish ", 1);
    setenv("OPSDECK_THEME", "", 1);              /* empty: unset */
    setenv("OPSDECK_PROFILE", "prod", 1);        /* the caller's business */
    setenv("OPSDECK_CONFIG", "/etc/opsdeck", 1); /* likewise */
    setenv("OPSDECK_JSON", "true", 1);           /* not a variable at all */
    assert_int_equal(config_load_env(cfg, &err), STATUS_OK);

    assert_string_equal(config_str(cfg, OPTION_SCHEMA), "from_env");
    assert_string_equal(config_origin(cfg, OPTION_SCHEMA), "env OPSDECK_SCHEMA");
    assert_int_equal(config_source_of(cfg, OPTION_SCHEMA), CONFIG_ENV);
    assert_int_equal(config_ms(cfg, OPTION_REFRESH), 500);
    assert_true(config_bool(cfg, OPTION_READ_ONLY));
    static const char *const words[] = {"iban", "ssn"};
    assert_word_list(cfg, OPTION_REDACT, words, 2);
    assert_string_equal(config_str(cfg, OPTION_ROUTE), "list:replay");
    assert_string_equal(config_origin(cfg, OPTION_ROUTE), "env OPSDECK_ROUTE");
    assert_string_equal(config_route_for(cfg, "orders"), "stream:orders");
    assert_string_equal(config_route_for(cfg, "billing"), "publish");
    assert_string_equal(config_route_for(cfg, "other"), "list:replay");
    size_t n;
    config_routes(cfg, &n);
    assert_int_equal(n, 3);
    assert_string_equal(config_str(cfg, OPTION_THEME), "default");
    assert_string_equal(config_origin(cfg, OPTION_THEME), "default");
    assert_string_equal(config_str(cfg, OPTION_PROFILE), "default");
    assert_null(config_str(cfg, OPTION_CONFIG));
    assert_false(config_bool(cfg, OPTION_JSON));
    config_free(cfg);
}

struct env_error_case {
    const char *name, *value, *want;
};

static void test_env_errors(void **state)
{
    (void)state;
    static const struct env_error_case cases[] = {
        {"OPSDECK_REFRESH", "abc",
         "OPSDECK_REFRESH: expected a duration like 500ms, 2s, 1m; got 'abc'"},
        {"OPSDECK_REFRESH", "10ms", "OPSDECK_REFRESH: must be between 100ms and 1h; got '10ms'"},
        {"OPSDECK_READ_ONLY", "perhaps",
         "OPSDECK_READ_ONLY: expected true or false (yes/no, on/off, 1/0); got 'perhaps'"},
        {"OPSDECK_SCHEMA", "1wf",
         "OPSDECK_SCHEMA: expected a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 "
         "characters); got '1wf'"},
        {"OPSDECK_ROUTE", "orders=smoke-signal",
         "OPSDECK_ROUTE: expected publish, list:KEY or stream:KEY for queue 'orders'; got "
         "'smoke-signal'"},
        {"OPSDECK_ROUTE", "stream:",
         "OPSDECK_ROUTE: expected publish, list:KEY or stream:KEY; got "
         "'stream:'"},
        {"OPSDECK_ROUTE", "orders=publish,orders=list:x",
         "OPSDECK_ROUTE: queue 'orders' is given twice"},
        {"OPSDECK_ROUTE", "publish,list:x", "OPSDECK_ROUTE: the default route is given twice"},
        {"OPSDECK_OPERATOR", "eve\nmallory",
         "OPSDECK_OPERATOR: the value contains a control character"},
        {"OPSDECK_THEME", "caf\xe9", "OPSDECK_THEME: the value is not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct error err;
        struct config *cfg = config_new();
        /* a good variable next to the bad one: it must not be applied either */
        setenv("OPSDECK_DLQ_PREFIX", "changed", 1);
        setenv("OPSDECK_LOCK_TIMEOUT", "1s", 1);
        setenv(cases[i].name, cases[i].value, 1);
        assert_int_equal(config_load_env(cfg, &err), STATUS_USAGE);
        assert_int_equal(err.status, STATUS_USAGE);
        assert_string_equal(err.msg, cases[i].want);
        assert_all_defaults(cfg);
        clear_opsdeck_env();
        config_free(cfg);
    }
}

/* ---- flags ----------------------------------------------------------- */

static void test_flag_errors(void **state)
{
    (void)state;
    struct error err;
    struct config *cfg = config_new();

    assert_int_equal(config_apply(cfg, OPTION_REFRESH, "abc", CONFIG_FLAG, "--refresh", &err),
                     STATUS_USAGE);
    assert_string_equal(err.msg, "--refresh: expected a duration like 500ms, 2s, 1m; got 'abc'");
    assert_int_equal(
        config_apply(cfg, OPTION_CONNECT_TIMEOUT, "3m", CONFIG_FLAG, "--connect-timeout", &err),
        STATUS_USAGE);
    assert_string_equal(err.msg, "--connect-timeout: must be between 100ms and 2m; got '3m'");
    assert_int_equal(config_apply(cfg, OPTION_READ_ONLY, "2", CONFIG_FLAG, "--read-only", &err),
                     STATUS_USAGE);
    assert_string_equal(err.msg,
                        "--read-only: expected true or false (yes/no, on/off, 1/0); got '2'");
    assert_int_equal(config_apply(cfg, OPTION_ROUTE, "list:", CONFIG_FLAG, "--route", &err),
                     STATUS_USAGE);
    assert_string_equal(err.msg, "--route: expected publish, list:KEY or stream:KEY; got 'list:'");
    assert_int_equal(
        config_apply(cfg, OPTION_ROUTE, "my queue=publish", CONFIG_FLAG, "--route", &err),
        STATUS_USAGE);
    assert_string_equal(err.msg, "--route: queue name 'my queue' must not contain blanks or ','");
    assert_int_equal(config_apply(cfg, OPTION_SCHEMA, NULL, CONFIG_FLAG, "--schema", &err),
                     STATUS_USAGE);
    assert_string_equal(err.msg, "--schema: a value is required");
    /* without an origin the flag's own name is used */
    assert_int_equal(config_apply(cfg, OPTION_REFRESH, "x", CONFIG_FLAG, NULL, &err), STATUS_USAGE);
    assert_string_equal(err.msg, "--refresh: expected a duration like 500ms, 2s, 1m; got 'x'");
    assert_all_defaults(cfg);

    /* and the good ones */
    assert_int_equal(config_apply(cfg, OPTION_READ_ONLY, "TRUE", CONFIG_FLAG, "--read-only", &err),
                     STATUS_OK);
    assert_true(config_bool(cfg, OPTION_READ_ONLY));
    assert_string_equal(config_origin(cfg, OPTION_READ_ONLY), "flag --read-only");
    assert_int_equal(config_apply(cfg, OPTION_JSON, "1", CONFIG_FLAG, "--json", &err), STATUS_OK);
    assert_true(config_bool(cfg, OPTION_JSON));
    assert_int_equal(config_apply(cfg, OPTION_PROFILE, "prod", CONFIG_FLAG, "-p", &err), STATUS_OK);
    assert_string_equal(config_origin(cfg, OPTION_PROFILE), "flag -p");
    config_free(cfg);
}

/* ---- secrets --------------------------------------------------------- */

static void test_secret_refused_on_flag(void **state)
{
    struct fixture *fx = *state;
    struct error err;
    struct config *cfg = config_new();

    assert_int_equal(config_apply(cfg, OPTION_POSTGRES, "host=db password=hunter2", CONFIG_FLAG,
                                  "--postgres", &err),
                     STATUS_USAGE);
    assert_string_equal(err.msg, "--postgres: a password on the command line is visible to every "
                                 "user of this machine; use .pgpass, PGPASSWORD or a service "
                                 "file");
    assert_null(strstr(err.msg, "hunter2"));
    assert_int_equal(config_apply(cfg, OPTION_POSTGRES, "postgresql://app:hunter2@db/wf",
                                  CONFIG_FLAG, "--postgres", &err),
                     STATUS_USAGE);
    assert_int_equal(config_apply(cfg, OPTION_REDIS, "redis://:hunter2@cache:6379/0", CONFIG_FLAG,
                                  "--redis", &err),
                     STATUS_USAGE);
    assert_string_equal(err.msg, "--redis: a password on the command line is visible to every "
                                 "user of this machine; use redis_password_file or "
                                 "OPSDECK_REDIS");
    assert_all_defaults(cfg);

    /* without a password a flag is fine */
    assert_int_equal(
        config_apply(cfg, OPTION_POSTGRES, "host=db user=app", CONFIG_FLAG, "--postgres", &err),
        STATUS_OK);
    assert_int_equal(
        config_apply(cfg, OPTION_REDIS, "redis://ops@cache:6379/1", CONFIG_FLAG, "--redis", &err),
        STATUS_OK);
    assert_string_equal(config_str(cfg, OPTION_REDIS), "redis://ops@cache:6379/1");
    config_free(cfg);

    /* from the file and the environment, passwords are accepted */
    const char *path = write_file(fx, "config", "postgres = host=db password=hunter2\n");
    cfg = config_new();
    assert_int_equal(config_load_file(cfg, path, NULL, true, false, &err), STATUS_OK);
    assert_string_equal(config_str(cfg, OPTION_POSTGRES), "host=db password=hunter2");
    setenv("OPSDECK_REDIS", "redis://:hunter2@cache", 1);
    assert_int_equal(config_load_env(cfg, &err), STATUS_OK);
    assert_string_equal(config_str(cfg, OPTION_REDIS), "redis://:hunter2@cache");
    char *shown = config_display(cfg, OPTION_REDIS);
    assert_string_equal(shown, "redis://:****@cache");
    free(shown);
    shown = config_display(cfg, OPTION_POSTGRES);
    assert_string_equal(shown, "host=db password=****");
    free(shown);
    config_free(cfg);
}

/* ---- computed values ------------------------------------------------- */

static void test_operator(void **state)
{
    (void)state;
    struct error err;
    struct config *cfg = config_new();

    setenv("SUDO_USER", "alice", 1);
    setenv("USER", "root", 1);
    config_finish(cfg);
    assert_string_equal(config_str(cfg, OPTION_OPERATOR), "alice");
    assert_int_equal(config_source_of(cfg, OPTION_OPERATOR), CONFIG_COMPUTED);
    assert_string_equal(config_origin(cfg, OPTION_OPERATOR), "computed");
    config_free(cfg);

    cfg = config_new();
    setenv("SUDO_USER", "", 1);
    setenv("USER", "bob", 1);
    config_finish(cfg);
    assert_string_equal(config_str(cfg, OPTION_OPERATOR), "bob");
    config_free(cfg);

    cfg = config_new();
    unsetenv("SUDO_USER");
    unsetenv("USER");
    config_finish(cfg);
    struct passwd *pw = getpwuid(geteuid());
    assert_string_equal(config_str(cfg, OPTION_OPERATOR), pw != NULL ? pw->pw_name : "unknown");
    config_free(cfg);

    /* a name set by a file, variable or flag is kept */
    setenv("SUDO_USER", "alice", 1);
    cfg = config_new();
    assert_int_equal(config_apply(cfg, OPTION_OPERATOR, "carol", CONFIG_FILE, "f:1", &err),
                     STATUS_OK);
    config_finish(cfg);
    assert_string_equal(config_str(cfg, OPTION_OPERATOR), "carol");
    assert_string_equal(config_origin(cfg, OPTION_OPERATOR), "file f:1");
    assert_int_equal(config_apply(cfg, OPTION_OPERATOR, "dave", CONFIG_FLAG, "--operator", &err),
                     STATUS_OK);
    config_finish(cfg);
    assert_string_equal(config_str(cfg, OPTION_OPERATOR), "dave");
    /* and a computed name never beats a file's */
    assert_int_equal(config_apply(cfg, OPTION_OPERATOR, "eve", CONFIG_COMPUTED, NULL, &err),
                     STATUS_OK);
    assert_string_equal(config_str(cfg, OPTION_OPERATOR), "dave");
    config_free(cfg);
}

static void test_default_path(void **state)
{
    (void)state;
    char *p;

    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    setenv("HOME", "/home/ops", 1);
    p = config_default_path();
    assert_string_equal(p, "/xdg/opsdeck/config");
    free(p);
    setenv("XDG_CONFIG_HOME", "relative/dir", 1); /* the XDG spec says: ignore */
    p = config_default_path();
    assert_string_equal(p, "/home/ops/.config/opsdeck/config");
    free(p);
    unsetenv("XDG_CONFIG_HOME");
    p = config_default_path();
    assert_string_equal(p, "/home/ops/.config/opsdeck/config");
    free(p);
}

/* Asking for a value as the wrong type is a bug: xfatal aborts. The test
 * catches SIGABRT and jumps back (glibc's abort allows a handler that does
 * not return), so no child process is needed and nothing leaks. */
static sigjmp_buf abort_jump;

static void on_abort(int sig)
{
    (void)sig;
    siglongjmp(abort_jump, 1);
}

static bool aborts(void (*fn)(const struct config *), const struct config *cfg)
{
    struct sigaction sa, old;
    volatile bool aborted = false;
    int saved_stderr = dup(STDERR_FILENO);
    int devnull = open("/dev/null", O_WRONLY);

    /* xfatal's message is expected; keep it out of the test log */
    fflush(stderr);
    assert_true(saved_stderr >= 0 && devnull >= 0);
    dup2(devnull, STDERR_FILENO);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_abort;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, &old);
    if (sigsetjmp(abort_jump, 1) == 0)
        fn(cfg);
    else
        aborted = true;
    sigaction(SIGABRT, &old, NULL);
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    close(devnull);
    return aborted;
}

static void call_ms_on_string(const struct config *cfg)
{
    (void)config_ms(cfg, OPTION_SCHEMA);
}

static void call_str_on_bool(const struct config *cfg)
{
    (void)config_str(cfg, OPTION_READ_ONLY);
}

static void call_str_on_duration(const struct config *cfg)
{
    (void)config_str(cfg, OPTION_REFRESH);
}

static void call_bool_on_list(const struct config *cfg)
{
    (void)config_bool(cfg, OPTION_REDACT);
}

static void call_list_on_duration(const struct config *cfg)
{
    size_t n;
    (void)config_list(cfg, OPTION_REFRESH, &n);
}

static void call_ms_on_duration(const struct config *cfg)
{
    (void)config_ms(cfg, OPTION_REFRESH);
}

static void test_wrong_type_aborts(void **state)
{
    (void)state;
    struct config *cfg = config_new();
    assert_true(aborts(call_ms_on_string, cfg));
    assert_true(aborts(call_str_on_bool, cfg));
    assert_true(aborts(call_str_on_duration, cfg));
    assert_true(aborts(call_bool_on_list, cfg));
    assert_true(aborts(call_list_on_duration, cfg));
    assert_false(aborts(call_ms_on_duration, cfg));
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_names),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_display, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence_reverse_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_inherits_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_error_applies_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flag_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_refused_on_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_type_aborts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
