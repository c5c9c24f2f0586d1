/* What every list and show verb shares: --limit, --after, --since and
 * --until parsed the same way, and results printed as a table or JSON
 * ({"items": [...], "next_cursor": ...}), redacted, with the next page's
 * cursor last. */
#ifndef OPSDECK_CORE_LISTING_H
#define OPSDECK_CORE_LISTING_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/command.h"
#include "core/table.h"

#define LISTING_DEFAULT_LIMIT 50
#define LISTING_MAX_LIMIT 1000

#define LISTING_STR_(x) #x
#define LISTING_STR(x)  LISTING_STR_(x)

/* The flags of a list verb, to put in its flag table. A verb whose --limit
 * defaults to N rather than LISTING_DEFAULT_LIMIT has
 * LISTING_FLAGS_DEFAULT(N) and reads them with listing_parse_default. */
#define LISTING_FLAGS LISTING_FLAGS_DEFAULT(LISTING_DEFAULT_LIMIT)
#define LISTING_FLAGS_DEFAULT(n)                                                                   \
    {"--limit", "N",                                                                               \
     "at most N items (1-" LISTING_STR(LISTING_MAX_LIMIT) ", default " LISTING_STR(n) ")"},        \
        {"--after", "CURSOR", "the page after CURSOR, as printed by the previous page"}

struct listing {
    size_t limit;
    const char *after;  /* borrowed from the arguments */
    int64_t since_us;   /* 0: none */
    int64_t until_us;   /* 0: none */
};

/* Reads --limit, --after, and when the verb has them --since DUR and
 * --until TIME (ISO 8601 or a DUR ago). Bad values are STATUS_USAGE naming
 * the flag. */
enum status listing_parse(const struct command *cmd, const struct command_args *a,
                          struct listing *l, struct error *err);

/* listing_parse for a verb whose --limit defaults to default_limit. */
enum status listing_parse_default(const struct command *cmd, const struct command_args *a,
                                  size_t default_limit, struct listing *l, struct error *err);

/* Prints a page and releases rows and next (both taken; next may be NULL). */
void listing_print(struct session *s, const struct table_col *cols, size_t ncols, json_t *rows,
                   char *next);

/* The run of every list verb: one page from cmd->fetch, printed with
 * cmd->cols and cmd->ncols through listing_print. */
enum status listing_run(struct session *s, const struct command *cmd,
                        const struct command_args *a, struct error *err);

/* The run of a show verb: the item of a->pos[0] from cmd->fetch_one,
 * printed redacted. With --unmask, when the row has
 * fetch_unmasked (and a flag of that name), the item comes from
 * fetch_unmasked, which records who saw it first, and is printed without
 * redaction (still sanitized). */
enum status listing_run_one(struct session *s, const struct command *cmd,
                            const struct command_args *a, struct error *err);

#endif
