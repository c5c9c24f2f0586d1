/* The command table: every verb is one row (name, arguments, usage, help,
 * flags and handler). `opsdeck VERB`, help, read-only mode and later the
 * console's keys and `:` line all resolve to these rows. */
#ifndef OPSDECK_CORE_COMMAND_H
#define OPSDECK_CORE_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/session.h"
#include "util/status.h"

struct table_col;

#define COMMAND_WRITES    (1u << 0) /* changes a store: refused in read-only mode */
#define COMMAND_NO_CONFIG (1u << 1) /* works without any store settings (help, stores) */

#define COMMAND_FLAGS_MAX 16

/* A verb's own flag. metavar NULL: a boolean flag taking no value. */
struct command_flag {
    const char *name; /* "--status" */
    const char *metavar;
    const char *help;
};

/* What the command line (or a console dialog) supplied. */
struct command_args {
    const char *const *pos;                /* positional arguments */
    size_t npos;
    const char *value[COMMAND_FLAGS_MAX];  /* per row flag: its value, "" for a boolean, NULL absent */
};

struct command {
    const char *name;     /* "status", "migrate", "stores start" */
    const char *usage;    /* what follows the name in a usage line */
    const char *summary;  /* one line for the verb list */
    const char *help;     /* a paragraph for VERB --help */
    unsigned flags;       /* COMMAND_* */
    const struct command_flag *opts; /* ends with a NULL name; may be NULL */
    const char *reads_with; /* a flag under which a writing verb only reads ("--status") */
    size_t min_args, max_args;
    enum status (*run)(struct session *s, const struct command *cmd,
                       const struct command_args *a, struct error *err);

    /* List verbs: one page without printing, so the console reads exactly
     * what `opsdeck VERB` prints. *rows is a new array of raw (unredacted)
     * row objects, *next a heap cursor or NULL on the last page. run is
     * listing_run, which calls this and prints. */
    enum status (*fetch)(struct session *s, const struct command *cmd,
                         const struct command_args *a, json_t **rows, char **next,
                         struct error *err);
    const struct table_col *cols; /* the list's columns */
    size_t ncols;
    const char *id_field;         /* the row field that names an item ("event_id") */
    const char *show;             /* the row that shows one item ("dlq show") */

    /* Show verbs: one item, raw (unredacted), a new reference. run prints
     * it redacted through listing_run_one. */
    enum status (*fetch_one)(struct session *s, const char *id, json_t **item,
                             struct error *err);
    /* Show verbs that can unmask: fetch_one after recording who saw the
     * unmasked item in the store's audit trail; nothing is returned when
     * the record cannot be written. NULL when the verb cannot unmask. */
    enum status (*fetch_unmasked)(struct session *s, const char *id, json_t **item,
                                  struct error *err);
};

/* Every row, in the order help lists them. */
const struct command *const *command_table(size_t *count);

/* Finds the row named by the leading words of words[0..n) (longest match,
 * e.g. "stores start"); *used receives how many words matched. NULL when
 * none matches. */
const struct command *command_find(const char *const *words, size_t n, size_t *used);

/* The row whose whole name is name ("dlq list"), or NULL. */
const struct command *command_named(const char *name);

/* True when a row's name starts with word (a verb group like "stores"). */
bool command_is_group(const char *word);

/* The index of flag name in cmd's flags, or -1. */
int command_flag_index(const struct command *cmd, const char *name);

/* True when this invocation changes a store (read-only mode refuses it). */
bool command_writes(const struct command *cmd, const struct command_args *a);

/* The value given for flag name (NULL when absent; "" for a boolean). */
const char *command_arg(const struct command *cmd, const struct command_args *a,
                        const char *name);

#endif
