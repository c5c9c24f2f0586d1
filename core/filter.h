/* The console's filter line in the CLI's own syntax: "reason=validation_failed
 * source=order-service 24h" is `--reason validation_failed --source
 * order-service --since 24h` of the view's list verb, so a filter typed in
 * the console and a flag in a runbook mean the same thing. */
#ifndef OPSDECK_CORE_FILTER_H
#define OPSDECK_CORE_FILTER_H

#include <stddef.h>

#include "core/command.h"
#include "util/status.h"

/* A parsed filter: arguments for a list verb's row, owning their strings. */
struct filter {
    const struct command *cmd; /* the list verb it was parsed for */
    struct command_args args;  /* value[] point into owned storage */
    char *text;                /* the normalised filter text, for the screen */
    char *storage[COMMAND_FLAGS_MAX];
};

/* Parses text for the list verb cmd. Words are:
 *   key=value     the flag --key (e.g. reason=x, status=failed, saga=...);
 *                 "key=" with quotes allowed around values with blanks
 *   key           a boolean flag of the verb (overdue, paused)
 *   DUR           a duration (15m, 24h, 7d): --since DUR
 *   anything else words of free text: --search, joined by blanks
 * --limit and --after are not filters. An unknown key, a value the verb
 * would refuse (a bad DUR) or a flag the verb lacks is STATUS_USAGE naming
 * the word and the keys this view knows; f is then left empty. Empty text
 * is no filter. Release with filter_done (also on an empty filter). */
enum status filter_parse(const struct command *cmd, const char *text, struct filter *f,
                         struct error *err);
void filter_done(struct filter *f);

/* s as one quoted word of free text ("...", with " and \\ escaped),
 * which the filter reads back as exactly s, whatever s looks like. Heap. */
char *filter_quote(const char *s);

/* Copies src into dst (both parsed for the same cmd); dst is overwritten
 * without being released. */
void filter_copy(struct filter *dst, const struct filter *src);

/* Sets --limit and --after on a copy of f's arguments for one page: out
 * borrows from f, limit_buf and after. */
void filter_page_args(const struct filter *f, size_t limit, const char *after, char limit_buf[16],
                      struct command_args *out);

/* Fills buf with the keys this verb's filter knows ("reason, source, ...,
 * DUR, text"), for messages and completion. */
void filter_keys(const struct command *cmd, char *buf, size_t size);

/* Appends f's filter as verb's own flags to *argv (NULL-terminated,
 * *argc strings, each owned): "reason=x 24h" for `dlq replay --all` is
 * "--reason x --since 24h". STATUS_USAGE when verb lacks one of them (the
 * filter would not mean what it says there); *argv keeps what was added. */
enum status filter_verb_args(const struct filter *f, const struct command *verb, char ***argv,
                             size_t *argc, struct error *err);

#endif
