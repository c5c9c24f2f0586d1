/* Shared parsing and printing of list and show verbs. */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>

#include "core/listing.h"
#include "core/out.h"
#include "util/timeutil.h"

enum status listing_parse(const struct command *cmd, const struct command_args *a,
                          struct listing *l, struct error *err)
{
    return listing_parse_default(cmd, a, LISTING_DEFAULT_LIMIT, l, err);
}

enum status listing_parse_default(const struct command *cmd, const struct command_args *a,
                                  size_t default_limit, struct listing *l, struct error *err)
{
    const char *limit = command_arg(cmd, a, "--limit");
    const char *since = command_arg(cmd, a, "--since");
    const char *until = command_arg(cmd, a, "--until");
    int64_t now = time_now_us();

    l->limit = default_limit;
    l->after = command_arg(cmd, a, "--after");
    l->since_us = 0;
    l->until_us = 0;
    if (limit != NULL) {
        char *end;
        long v = strtol(limit, &end, 10);
        if (*limit == '\0' || *end != '\0' || v < 1 || v > LISTING_MAX_LIMIT)
            return error_set(err, STATUS_USAGE, "--limit: expected 1 to %d, got '%s'",
                             LISTING_MAX_LIMIT, limit);
        l->limit = (size_t)v;
    }
    if (since != NULL) {
        int64_t ms;
        if (!time_parse_duration(since, &ms))
            return error_set(err, STATUS_USAGE, "--since: expected a duration like 15m, 24h, 7d; "
                             "got '%s'", since);
        l->since_us = now - ms * 1000;
    }
    if (until != NULL && !time_parse_point(until, now, &l->until_us))
        return error_set(err, STATUS_USAGE, "--until: expected an ISO 8601 time or a duration "
                         "ago; got '%s'", until);
    return STATUS_OK;
}

void listing_print(struct session *s, const struct table_col *cols, size_t ncols, json_t *rows,
                   char *next)
{
    json_t *safe = redact_copy(&s->redact, rows, NULL);
    if (s->json) {
        out_json(s, json_pack("{s:o, s:o}", "items", safe, "next_cursor",
                              next != NULL ? out_jstr(next) : json_null()));
    } else {
        table_print(s, cols, ncols, safe, next);
        json_decref(safe);
    }
    json_decref(rows);
    free(next);
}

/* Prints one item (taken) as JSON or as "key: value" lines; redacted
 * unless unmasked, sanitized on the way out as ever. */
static void listing_print_one(struct session *s, json_t *item, bool unmasked)
{
    json_t *shown = unmasked ? item : redact_copy(&s->redact, item, NULL);
    if (!unmasked)
        json_decref(item);
    if (s->json) {
        out_json(s, shown);
    } else {
        table_print_detail(s, shown);
        json_decref(shown);
    }
}

enum status listing_run(struct session *s, const struct command *cmd,
                        const struct command_args *a, struct error *err)
{
    json_t *rows = NULL;
    char *next = NULL;
    enum status rc = cmd->fetch(s, cmd, a, &rows, &next, err);
    if (rc == STATUS_OK) {
        listing_print(s, cmd->cols, cmd->ncols, rows, next);
    } else {
        json_decref(rows);
        free(next);
    }
    return rc;
}

enum status listing_run_one(struct session *s, const struct command *cmd,
                            const struct command_args *a, struct error *err)
{
    json_t *item = NULL;
    bool unmask = cmd->fetch_unmasked != NULL && command_arg(cmd, a, "--unmask") != NULL;
    enum status rc = unmask ? cmd->fetch_unmasked(s, a->pos[0], &item, err)
                            : cmd->fetch_one(s, a->pos[0], &item, err);
    if (rc != STATUS_OK)
        json_decref(item);
    else
        listing_print_one(s, item, unmask);
    return rc;
}
