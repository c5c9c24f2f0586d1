/* Command-line parsing and dispatch. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/out.h"
#include "util/xmalloc.h"

static bool cli_is_flag(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0';
}

/* Splits "--name=value" into name (copied into buf) and value. */
static const char *cli_split(const char *arg, char *buf, size_t size, const char **value)
{
    const char *eq = strchr(arg, '=');
    *value = NULL;
    if (eq == NULL || strncmp(arg, "--", 2) != 0)
        return arg;
    snprintf(buf, size, "%.*s", (int)(eq - arg), arg);
    *value = eq + 1;
    return buf;
}

/* Consumes the global flag at argv[*i]; returns false when it is not one. */
static enum status cli_global(struct cli *cli, int argc, char **argv, int *i, bool *taken,
                              struct error *err)
{
    char name[128];
    const char *value;
    const char *arg = argv[*i];
    const char *flag = cli_split(arg, name, sizeof(name), &value);
    const struct option_def *def;

    *taken = false;
    if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
        cli->help = true;
        *taken = true;
        return STATUS_OK;
    }
    if (strcmp(flag, "--version") == 0) {
        cli->version = true;
        *taken = true;
        return STATUS_OK;
    }
    def = options_find_flag(flag);
    if (def == NULL)
        return STATUS_OK;
    if (def->metavar == NULL) {
        /* a boolean: "--json" or "--read-only=false" */
        if (value == NULL)
            value = "true";
    } else if (value == NULL) {
        if (*i + 1 >= argc)
            return error_set(err, STATUS_USAGE, "%s needs a value (%s)", flag, def->metavar);
        value = argv[++*i];
    }
    if (cli->nglobals == CLI_GLOBALS_MAX)
        return error_set(err, STATUS_USAGE, "too many flags");
    cli->globals[cli->nglobals].id = def->id;
    cli->globals[cli->nglobals].value = value;
    cli->globals[cli->nglobals].flag = def->flag;
    cli->nglobals++;
    *taken = true;
    return STATUS_OK;
}

static enum status cli_verb_flag(const struct command *cmd, struct command_args *a, int argc,
                                 char **argv, int *i, bool *taken, struct error *err)
{
    char name[128];
    const char *value;
    const char *flag = cli_split(argv[*i], name, sizeof(name), &value);
    int idx = command_flag_index(cmd, flag);

    *taken = false;
    if (idx < 0)
        return STATUS_OK;
    const struct command_flag *f = &cmd->opts[idx];
    if (f->metavar == NULL) {
        if (value != NULL)
            return error_set(err, STATUS_USAGE, "%s takes no value", f->name);
        value = "";
    } else if (value == NULL) {
        if (*i + 1 >= argc)
            return error_set(err, STATUS_USAGE, "%s needs a value (%s)", f->name, f->metavar);
        value = argv[++*i];
    }
    a->value[idx] = value;
    *taken = true;
    return STATUS_OK;
}

/* What follows the verb's name: its own flags, positional arguments (all
 * after "--"), and, when cli is given, global flags. pos holds argc
 * entries. With cli->help set the number of arguments is not checked. */
static enum status cli_verb_args(const struct command *cmd, struct cli *cli, int argc,
                                 char **argv, struct command_args *a, const char **pos,
                                 struct error *err)
{
    enum status rc;
    bool taken, dashdash = false;
    size_t npos = 0;

    a->pos = pos;
    for (int i = 0; i < argc; i++) {
        if (!dashdash && strcmp(argv[i], "--") == 0) {
            dashdash = true;
            continue;
        }
        if (!dashdash && cli_is_flag(argv[i])) {
            if ((rc = cli_verb_flag(cmd, a, argc, argv, &i, &taken, err)) != STATUS_OK)
                return rc;
            if (!taken && cli != NULL &&
                (rc = cli_global(cli, argc, argv, &i, &taken, err)) != STATUS_OK)
                return rc;
            if (!taken)
                return error_set(err, STATUS_USAGE, "unknown flag %s for 'opsdeck %s'; see "
                                 "opsdeck %s --help", argv[i], cmd->name, cmd->name);
            continue;
        }
        pos[npos++] = argv[i];
    }
    a->npos = npos;
    if (cli != NULL && cli->help)
        return STATUS_OK;
    if (npos < cmd->min_args)
        return error_set(err, STATUS_USAGE, "'opsdeck %s' needs %s%s", cmd->name, cmd->usage,
                         "; see --help");
    if (npos > cmd->max_args)
        return error_set(err, STATUS_USAGE, "unexpected argument '%s' for 'opsdeck %s'",
                         pos[cmd->max_args], cmd->name);
    return STATUS_OK;
}

enum status cli_parse_verb_args(const struct command *cmd, int argc, char **argv,
                                struct command_args *a, const char **pos, struct error *err)
{
    memset(a, 0, sizeof(*a));
    return cli_verb_args(cmd, NULL, argc, argv, a, pos, err);
}

enum status cli_parse(struct cli *cli, int argc, char **argv, struct error *err)
{
    enum status rc;
    bool taken;
    int i = 1;

    memset(cli, 0, sizeof(*cli));
    cli->pos = xcalloc((size_t)argc + 1, sizeof(*cli->pos));
    cli->args.pos = cli->pos;

    /* Global flags before the verb. */
    for (; i < argc && cli_is_flag(argv[i]); i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if ((rc = cli_global(cli, argc, argv, &i, &taken, err)) != STATUS_OK)
            return rc;
        if (!taken)
            return error_set(err, STATUS_USAGE, "unknown flag %s; see opsdeck help", argv[i]);
    }
    if (i >= argc)
        return STATUS_OK;

    /* The verb: the longest run of words naming a row. */
    size_t used;
    cli->cmd = command_find((const char *const *)argv + i, (size_t)(argc - i), &used);
    if (cli->cmd == NULL) {
        if (command_is_group(argv[i])) {
            /* "opsdeck stores --help" lists the group's verbs */
            for (int j = i + 1; j < argc; j++)
                if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) {
                    cli->group = argv[i];
                    cli->help = true;
                    return STATUS_OK;
                }
            return error_set(err, STATUS_USAGE, "'%s' needs a subcommand; see opsdeck %s --help",
                             argv[i], argv[i]);
        }
        return error_set(err, STATUS_USAGE, "unknown verb '%s'; see opsdeck help", argv[i]);
    }
    i += (int)used;

    /* The rest: the verb's flags, global flags and positional arguments. */
    return cli_verb_args(cli->cmd, cli, argc - i, argv + i, &cli->args, cli->pos, err);
}

void cli_done(struct cli *cli)
{
    free(cli->pos);
    cli->pos = NULL;
}

static const char *cli_global_value(const struct cli *cli, enum option_id id)
{
    const char *v = NULL;
    for (size_t i = 0; i < cli->nglobals; i++)
        if (cli->globals[i].id == id)
            v = cli->globals[i].value;
    return v;
}

enum status cli_config(const struct cli *cli, struct config **out, struct error *err)
{
    struct config *cfg = config_new();
    enum status rc = STATUS_OK;
    const char *env_profile = getenv("OPSDECK_PROFILE");
    const char *env_config = getenv("OPSDECK_CONFIG");
    const char *profile = cli_global_value(cli, OPTION_PROFILE);
    const char *path = cli_global_value(cli, OPTION_CONFIG);
    char *default_path = NULL;
    bool profile_explicit = true, path_explicit = true;

    if (env_profile != NULL && *env_profile == '\0')
        env_profile = NULL;
    if (env_config != NULL && *env_config == '\0')
        env_config = NULL;
    if (profile == NULL && env_profile != NULL) {
        profile = env_profile;
        rc = config_apply(cfg, OPTION_PROFILE, profile, CONFIG_ENV, "OPSDECK_PROFILE", err);
    }
    if (profile == NULL) {
        profile = "default";
        profile_explicit = false;
    }
    if (rc == STATUS_OK && path == NULL && env_config != NULL) {
        path = env_config;
        rc = config_apply(cfg, OPTION_CONFIG, path, CONFIG_ENV, "OPSDECK_CONFIG", err);
    }
    if (path == NULL) {
        path = default_path = config_default_path();
        path_explicit = false;
    }
    if (rc == STATUS_OK)
        rc = config_load_file(cfg, path, profile, path_explicit, profile_explicit, err);
    if (rc == STATUS_OK)
        rc = config_load_env(cfg, err);
    for (size_t i = 0; rc == STATUS_OK && i < cli->nglobals; i++)
        rc = config_apply(cfg, cli->globals[i].id, cli->globals[i].value, CONFIG_FLAG,
                          cli->globals[i].flag, err);
    free(default_path);
    if (rc != STATUS_OK) {
        config_free(cfg);
        return rc;
    }
    config_finish(cfg);
    *out = cfg;
    return STATUS_OK;
}

static void cli_usage_options(FILE *f)
{
    fputs("\nGlobal flags (each also an OPSDECK_* variable and a config-file key; see opsdeck "
          "config):\n", f);
    for (int id = 0; id < OPTION_COUNT; id++) {
        const struct option_def *d = options_get((enum option_id)id);
        char left[64];
        if (d->flag == NULL)
            continue;
        if (d->short_flag)
            snprintf(left, sizeof(left), "-%c, %s%s%s", d->short_flag, d->flag,
                     d->metavar ? " " : "", d->metavar ? d->metavar : "");
        else
            snprintf(left, sizeof(left), "%s%s%s", d->flag, d->metavar ? " " : "",
                     d->metavar ? d->metavar : "");
        fprintf(f, "  %-32s %s\n", left, d->help);
    }
    fprintf(f, "  %-32s %s\n", "-h, --help", "show help (also: opsdeck VERB --help)");
    fprintf(f, "  %-32s %s\n", "--version", "print the version");
}

/* One line of a verb list: the name with its usage when that fits, and the
 * summary. */
static void cli_usage_row(FILE *f, const struct command *cmd)
{
    char left[256];
    snprintf(left, sizeof(left), "%s%s%s", cmd->name, cmd->usage[0] ? " " : "", cmd->usage);
    if (strlen(left) > 40)
        snprintf(left, sizeof(left), "%s", cmd->name);
    fprintf(f, "  %-40s %s\n", left, cmd->summary);
}

void cli_usage(FILE *f)
{
    size_t n;
    const struct command *const *rows = command_table(&n);

    fputs("usage: opsdeck [GLOBAL FLAGS] VERB [ARGS]\n"
          "\nopsdeck: the operations console for workflows and dead-letter queues.\n"
          "\nVerbs:\n", f);
    for (size_t i = 0; i < n; i++)
        cli_usage_row(f, rows[i]);
    fputs("\nopsdeck VERB --help shows a verb's flags.\n", f);
    cli_usage_options(f);
    fputs("\nExit codes:\n", f);
#define CLI_EXIT_ROW(name, code, text) fprintf(f, "  %d  %s\n", code, text);
    STATUS_LIST(CLI_EXIT_ROW)
#undef CLI_EXIT_ROW
}

void cli_usage_group(FILE *f, const char *group)
{
    size_t n, len = strlen(group);
    const struct command *const *rows = command_table(&n);
    fprintf(f, "usage: opsdeck %s VERB [ARGS]\n\nVerbs:\n", group);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(rows[i]->name, group, len) == 0 && rows[i]->name[len] == ' ')
            cli_usage_row(f, rows[i]);
    }
    fprintf(f, "\nSee opsdeck %s VERB --help for one of them.\n", group);
}

void cli_usage_command(FILE *f, const struct command *cmd)
{
    fprintf(f, "usage: opsdeck %s%s%s\n\n%s\n", cmd->name, cmd->usage[0] ? " " : "", cmd->usage,
            cmd->help);
    if (cmd->opts != NULL && cmd->opts[0].name != NULL) {
        fputs("\nFlags:\n", f);
        for (const struct command_flag *o = cmd->opts; o->name != NULL; o++) {
            char left[64];
            snprintf(left, sizeof(left), "%s%s%s", o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
            fprintf(f, "  %-24s %s\n", left, o->help);
        }
    }
    if (cmd->flags & COMMAND_WRITES)
        fputs("\nChanges the store: refused in read-only mode.\n", f);
    fputs("\nGlobal flags: see opsdeck help.\n", f);
}

int cli_main(int argc, char **argv, session_console_fn console)
{
    struct cli cli;
    struct error err = {STATUS_OK, ""};
    struct config *cfg = NULL;
    struct session *s = NULL;
    enum status rc = cli_parse(&cli, argc, argv, &err);

    if (rc != STATUS_OK)
        goto out;
    if (cli.version) {
        printf("opsdeck %s\n", PACKAGE_VERSION);
        goto out;
    }
    if (cli.help || cli.group != NULL) {
        if (cli.cmd != NULL)
            cli_usage_command(stdout, cli.cmd);
        else if (cli.group != NULL)
            cli_usage_group(stdout, cli.group);
        else
            cli_usage(stdout);
        goto out;
    }
    if (cli.cmd == NULL) {
        /* No verb: the console, on the same configuration a verb gets. */
        if (console == NULL) {
            rc = error_set(&err, STATUS_USAGE, "no verb given; see opsdeck help");
            goto out;
        }
        if ((rc = cli_config(&cli, &cfg, &err)) != STATUS_OK)
            goto out;
        s = session_new(cfg);
        s->console = console;
        rc = console(s, &err);
        goto out;
    }
    /* help and the private stores must work even with a broken config file */
    if (cli.cmd->flags & COMMAND_NO_CONFIG) {
        cfg = config_new();
        /* The look of the demo's console is still the operator's choice. */
        for (size_t i = 0; i < cli.nglobals; i++)
            if (cli.globals[i].id == OPTION_THEME &&
                (rc = config_apply(cfg, OPTION_THEME, cli.globals[i].value, CONFIG_FLAG,
                                   cli.globals[i].flag, &err)) != STATUS_OK)
                goto out;
    } else if ((rc = cli_config(&cli, &cfg, &err)) != STATUS_OK)
        goto out;
    if (command_writes(cli.cmd, &cli.args) && config_bool(cfg, OPTION_READ_ONLY)) {
        rc = error_set(&err, STATUS_DENIED, "read-only mode (%s): 'opsdeck %s' would change "
                       "the store; nothing changed", config_origin(cfg, OPTION_READ_ONLY),
                       cli.cmd->name);
        config_free(cfg);
        goto out;
    }
    s = session_new(cfg);
    s->console = console;
    rc = cli.cmd->run(s, cli.cmd, &cli.args, &err);
    /* A result that could not be written was not delivered. */
    if (fflush(stdout) != 0 && rc == STATUS_OK)
        rc = error_set(&err, STATUS_USAGE, "cannot write the output: %s", strerror(errno));
out:
    if (rc != STATUS_OK)
        out_error(err.msg[0] ? err.msg : status_text(rc));
    session_free(s);
    cli_done(&cli);
    return status_exit_code(rc);
}
