/* The option table, expanded from OPTION_LIST, with each option's variable
 * and flag names derived from its key so that they can never disagree. */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/options.h"
#include "util/xmalloc.h"

/* Longest derived name: "OPSDECK_" or "--" plus the key and its NUL. */
#define OPTIONS_NAME_MAX 64

static struct option_def options_table[OPTION_COUNT] = {
#define OPTION_ROW(id, key, type, def, min, max, where, shortf, metavar, help)                     \
    {OPTION_##id, key, NULL, NULL, type, def, min, max, where, shortf, metavar, help},
    OPTION_LIST(OPTION_ROW)
#undef OPTION_ROW
};

static char options_env_names[OPTION_COUNT][OPTIONS_NAME_MAX];
static char options_flag_names[OPTION_COUNT][OPTIONS_NAME_MAX];
static bool options_ready;

/* The names cannot be spelt by the preprocessor (it cannot change case or
 * letters), so they are derived on first use. opsdeck reads its options at
 * start-up before any thread exists, which makes the one-time fill safe. */
static void options_init(void)
{
    if (options_ready)
        return;
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        struct option_def *def = &options_table[i];
        size_t len = strlen(def->key);

        if (len + sizeof("OPSDECK_") > OPTIONS_NAME_MAX)
            xfatal("option key '%s' is too long", def->key);
        if (def->where & OPTION_IN_ENV) {
            char *p = options_env_names[i];
            memcpy(p, "OPSDECK_", 8);
            for (size_t j = 0; j <= len; j++) {
                char c = def->key[j];
                p[8 + j] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
            }
            def->env = p;
        }
        if (def->where & OPTION_IN_FLAG) {
            char *p = options_flag_names[i];
            p[0] = '-';
            p[1] = '-';
            for (size_t j = 0; j <= len; j++)
                p[2 + j] = def->key[j] == '_' ? '-' : def->key[j];
            def->flag = p;
        }
    }
    options_ready = true;
}

const struct option_def *options_get(enum option_id id)
{
    options_init();
    if ((unsigned)id >= OPTION_COUNT)
        xfatal("options_get: no option %d", (int)id);
    return &options_table[id];
}

const struct option_def *options_find_key(const char *key)
{
    options_init();
    if (key == NULL)
        return NULL;
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (strcmp(options_table[i].key, key) == 0)
            return &options_table[i];
    return NULL;
}

const struct option_def *options_find_flag(const char *flag)
{
    options_init();
    if (flag == NULL)
        return NULL;
    /* "-p": a short flag is a dash and one letter, nothing else. */
    if (flag[0] == '-' && flag[1] != '-' && flag[1] != '\0' && flag[2] == '\0') {
        for (size_t i = 0; i < OPTION_COUNT; i++)
            if (options_table[i].short_flag == flag[1] && (options_table[i].where & OPTION_IN_FLAG))
                return &options_table[i];
        return NULL;
    }
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (options_table[i].flag != NULL && strcmp(options_table[i].flag, flag) == 0)
            return &options_table[i];
    return NULL;
}

const struct option_def *options_find_env(const char *env)
{
    options_init();
    if (env == NULL)
        return NULL;
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (options_table[i].env != NULL && strcmp(options_table[i].env, env) == 0)
            return &options_table[i];
    return NULL;
}
