/* The option table: every setting opsdeck knows, defined once. The config
 * file parser, the OPSDECK_* variables, the command-line flags, --help and
 * `opsdeck config` all derive from OPTION_LIST. */
#ifndef OPSDECK_CORE_OPTIONS_H
#define OPSDECK_CORE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

enum option_type {
    OPTION_TYPE_STRING,   /* any text */
    OPTION_TYPE_IDENT,    /* a lower-case SQL identifier: [a-z_][a-z0-9_]{0,62} */
    OPTION_TYPE_BOOL,     /* true/false, yes/no, on/off, 1/0 */
    OPTION_TYPE_DURATION, /* "500ms", "3s", "2m"; bounds in milliseconds */
    OPTION_TYPE_LIST,     /* comma-separated words, blanks trimmed */
    OPTION_TYPE_ROUTE,    /* [QUEUE=]ROUTE, ROUTE one of publish, list:KEY, stream:KEY */
};

#define OPTION_IN_FILE   (1u << 0) /* may be set in the config file */
#define OPTION_IN_ENV    (1u << 1) /* may be set by OPSDECK_<NAME> */
#define OPTION_IN_FLAG   (1u << 2) /* may be set by --<name-with-dashes> */
#define OPTION_SECRET    (1u << 3) /* may embed a password: masked when shown, refused on argv */
#define OPTION_EVERYWHERE (OPTION_IN_FILE | OPTION_IN_ENV | OPTION_IN_FLAG)

/* X(ID, key, type, default, min, max, where, short flag, metavar, help)
 * key is the config-file key; the variable is OPSDECK_<KEY upper-cased> and
 * the flag --<key with '_' as '-'>. A NULL default means "computed" (see
 * config.c) or unset. min/max bound durations (ms); 0/0 means unbounded. */
#define OPTION_LIST(X)                                                                             \
    X(PROFILE, "profile", OPTION_TYPE_STRING, "default", 0, 0, OPTION_IN_ENV | OPTION_IN_FLAG, 'p',     \
      "NAME", "profile: the [NAME] section of the config file to use")                            \
    X(CONFIG, "config", OPTION_TYPE_STRING, NULL, 0, 0, OPTION_IN_ENV | OPTION_IN_FLAG, 0, "FILE",      \
      "config file (default $XDG_CONFIG_HOME/opsdeck/config)")                                     \
    X(POSTGRES, "postgres", OPTION_TYPE_STRING, "", 0, 0, OPTION_EVERYWHERE | OPTION_SECRET, 0,         \
      "CONNINFO", "PostgreSQL conninfo or URI; empty uses libpq's PG* variables and defaults")     \
    X(REDIS, "redis", OPTION_TYPE_STRING, "redis://127.0.0.1:6379/0", 0, 0,                             \
      OPTION_EVERYWHERE | OPTION_SECRET, 0, "URL",                                                  \
      "redis://[user[:password]@]host[:port][/db] or unix:///path[?db=N]")                         \
    X(REDIS_PASSWORD_FILE, "redis_password_file", OPTION_TYPE_STRING, "", 0, 0, OPTION_EVERYWHERE, 0,   \
      "FILE", "file whose first line is the Redis password")                                       \
    X(SCHEMA, "schema", OPTION_TYPE_IDENT, "wf", 0, 0, OPTION_EVERYWHERE, 0, "NAME",                    \
      "PostgreSQL schema of the workflow store")                                                   \
    X(DLQ_PREFIX, "dlq_prefix", OPTION_TYPE_STRING, "dlq", 0, 0, OPTION_EVERYWHERE, 0, "PREFIX",        \
      "Redis key prefix of the dead-letter queue (opaque; may hold a {hash tag})")                 \
    X(CIRCUIT_PREFIX, "circuit_prefix", OPTION_TYPE_STRING, "circuit_breakers", 0, 0,                   \
      OPTION_EVERYWHERE, 0, "PREFIX", "Redis key prefix of the circuit-breaker hashes")            \
    X(ROUTE, "route", OPTION_TYPE_ROUTE, "publish", 0, 0, OPTION_EVERYWHERE, 0, "[QUEUE=]ROUTE", \
      "replay route: publish, list:KEY or stream:KEY; route.QUEUE in the file sets one queue's")   \
    X(THEME, "theme", OPTION_TYPE_STRING, "default", 0, 0, OPTION_EVERYWHERE, 0, "NAME",                \
      "console theme: default, light, high-contrast, mono or a user theme")                        \
    X(REFRESH, "refresh", OPTION_TYPE_DURATION, "2s", 100, 3600000, OPTION_EVERYWHERE, 0, "DURATION",   \
      "how often the console polls stores that cannot push changes")                               \
    X(REDACT, "redact", OPTION_TYPE_LIST,                                                               \
      "password,secret,token,api_key,authorization,card_number,cvv,iban,ssn,email,phone", 0, 0,    \
      OPTION_EVERYWHERE, 0, "FIELDS", "field names masked in every output unless --unmask")        \
    X(OPERATOR, "operator", OPTION_TYPE_STRING, NULL, 0, 0, OPTION_EVERYWHERE, 0, "NAME",               \
      "operator name in audit records (default: SUDO_USER, then USER)")                           \
    X(READ_ONLY, "read_only", OPTION_TYPE_BOOL, "false", 0, 0, OPTION_EVERYWHERE, 0, NULL,             \
      "refuse every action; the console hides them")                                               \
    X(CONNECT_TIMEOUT, "connect_timeout", OPTION_TYPE_DURATION, "3s", 100, 120000, OPTION_EVERYWHERE,   \
      0, "DURATION", "give up connecting to a store after this long")                              \
    X(COMMAND_TIMEOUT, "command_timeout", OPTION_TYPE_DURATION, "5s", 100, 600000, OPTION_EVERYWHERE,   \
      0, "DURATION", "give up on one query or command after this long")                            \
    X(LOCK_TIMEOUT, "lock_timeout", OPTION_TYPE_DURATION, "2s", 0, 600000, OPTION_EVERYWHERE, 0,        \
      "DURATION", "PostgreSQL lock_timeout of opsdeck's sessions")                                 \
    X(JSON, "json", OPTION_TYPE_BOOL, "false", 0, 0, OPTION_IN_FLAG, 0, NULL,                           \
      "print JSON instead of a table")

enum option_id {
#define OPTION_ENUM(id, key, type, def, min, max, where, shortf, metavar, help) OPTION_##id,
    OPTION_LIST(OPTION_ENUM)
#undef OPTION_ENUM
    OPTION_COUNT
};

struct option_def {
    enum option_id id;
    const char *key;       /* config-file key, e.g. "read_only" */
    const char *env;       /* "OPSDECK_READ_ONLY", or NULL when not OPTION_IN_ENV */
    const char *flag;      /* "--read-only", or NULL when not OPTION_IN_FLAG */
    enum option_type type;
    const char *def;       /* default text, or NULL */
    int64_t min, max;
    unsigned where;
    char short_flag;       /* 'p', or 0 */
    const char *metavar;   /* NULL for a boolean flag, which takes no value */
    const char *help;
};

/* Returns the definition of id; never NULL for a valid id. */
const struct option_def *options_get(enum option_id id);

/* Looks an option up by config key, flag ("--read-only" or "-p") or variable
 * name; NULL when unknown. */
const struct option_def *options_find_key(const char *key);
const struct option_def *options_find_flag(const char *flag);
const struct option_def *options_find_env(const char *env);

#endif
