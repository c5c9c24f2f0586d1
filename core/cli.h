/* The command-line face: parsing argv against the option table and the
 * command table, loading the configuration with its precedence, and
 * running a verb with one-line errors and SPEC exit codes. */
#ifndef OPSDECK_CORE_CLI_H
#define OPSDECK_CORE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/command.h"
#include "core/config.h"
#include "util/status.h"

#define CLI_GLOBALS_MAX 64

struct cli {
    const struct command *cmd;     /* NULL: no verb given */
    struct command_args args;
    const char **pos;              /* storage behind args.pos; owned */
    struct {
        enum option_id id;
        const char *value;         /* borrowed from argv */
        const char *flag;          /* as written, for messages */
    } globals[CLI_GLOBALS_MAX];
    size_t nglobals;
    bool help;                     /* --help or -h */
    const char *group;             /* "stores" in "opsdeck stores --help" */
    bool version;                  /* --version */
};

/* Parses argv into cli (borrowing argv's strings). Global flags may stand
 * before or after the verb; a verb's own flags after it. Errors are
 * STATUS_USAGE with a one-line reason. Release with cli_done. */
enum status cli_parse(struct cli *cli, int argc, char **argv, struct error *err);
void cli_done(struct cli *cli);

/* Parses a verb's own arguments, argv[0..argc) exactly as they follow the
 * verb's name on a command line ({"apr-7", "--note", "ok", "--yes"}), into
 * a the way cli_parse does: cmd's flags, positional arguments (all after
 * "--"), their number checked against the row. Global flags are not taken
 * (STATUS_USAGE, as any unknown flag). pos is the caller's storage for at
 * least argc entries; a->pos points into it and the strings stay argv's. */
enum status cli_parse_verb_args(const struct command *cmd, int argc, char **argv,
                                struct command_args *a, const char **pos, struct error *err);

/* Builds the effective configuration: defaults, the config file (--config,
 * OPSDECK_CONFIG or the default path) and its profile (--profile,
 * OPSDECK_PROFILE or "default"), OPSDECK_* variables, then the flags. */
enum status cli_config(const struct cli *cli, struct config **out, struct error *err);

/* Runs the whole command line and returns the process exit code. With no
 * verb it opens console (the console needs a terminal). */
int cli_main(int argc, char **argv, session_console_fn console);

/* Prints the general usage (verbs, global flags, exit codes) to f. */
void cli_usage(FILE *f);

/* Prints the verbs of a group ("stores") to f. */
void cli_usage_group(FILE *f, const char *group);

/* Prints one verb's usage, help and flags to f. */
void cli_usage_command(FILE *f, const struct command *cmd);

#endif
