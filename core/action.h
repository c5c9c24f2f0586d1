/* What every action verb shares: the operator's identity, idempotency
 * keys, the blast radius and confirmation of bulk actions, and one line
 * per outcome with the SPEC exit code. */
#ifndef OPSDECK_CORE_ACTION_H
#define OPSDECK_CORE_ACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backends/pg_actions.h"
#include "backends/redis_actions.h"
#include "core/command.h"

/* The flags of every action verb, to put in its flag table. */
#define ACTION_FLAGS                                                                               \
    {"--idempotency-key", "KEY", "a retry with the same KEY returns the first outcome"},          \
        {"--expect-version", "N", "refuse if the item changed since you saw version N"},          \
        {"--yes", NULL, "do a bulk action without asking (needed when stdin is no terminal)"}

struct action_ident {
    const char *operator_;  /* borrowed from the config */
    char host[256];         /* this machine */
    char addr[64];          /* the SSH client's address, or "" */
};

/* Who acts and from where: the operator setting, this host, and the
 * client address of SSH_CONNECTION when present. */
void action_identity(const struct session *s, struct action_ident *id);

/* The same as the ctx of a PostgreSQL action or audited read (no key, no
 * version): ctx borrows from *id, filled here. */
void action_pg_ctx(const struct session *s, struct action_ident *id, struct pg_action_ctx *ctx);

/* The idempotency key for one item: KEY:ITEM when the operator gave KEY
 * and there are several items, KEY for one, else a fresh random key.
 * Heap string, caller frees. */
char *action_key(const char *given, const char *item, size_t nitems);

/* Reads --expect-version (-1 when absent); only for a single item. */
enum status action_expect_version(const struct command *cmd, const struct command_args *a,
                                  size_t nitems, int64_t *version, struct error *err);

/* For a bulk action (more than one item, or --all however many match):
 * prints the blast radius ("reject 12 items: apr-1, apr-2, ...") on stderr
 * and needs --yes, or a typed "yes" when stdin is a terminal.
 * STATUS_USAGE when not confirmed; nothing changed. */
enum status action_confirm(const struct command *cmd, const struct command_args *a,
                           const char *what, const char *const *ids, size_t n, bool bulk,
                           struct error *err);

/* Prints the outcomes (results: an array of action results, taken) as one
 * line each, or as JSON (one object for one item, else an array), and
 * returns the exit status: OK when all applied, else that of the first
 * refusal (REFUSED) or missing item (NOT_FOUND), with err naming it. */
enum status action_report(struct session *s, json_t *results, struct error *err);

/* The same, item by item, for actions too large to keep: each outcome's
 * text line is printed when it is added; JSON output keeps the results
 * for the end. Counts by outcome. */
struct action_tally {
    size_t total, applied, refused, not_found;
    enum status rc; /* of the first item not applied */
    char *first;    /* its message (heap) */
    json_t *results; /* JSON output only */
};

void action_tally_init(struct action_tally *t, const struct session *s);

/* Prints (text) or keeps (JSON) one result; takes the reference. */
void action_tally_add(struct session *s, struct action_tally *t, json_t *result);

/* Prints the JSON: the one result, or the array of them; or, when doc is
 * given (taken), doc with the array as its "results". Returns as
 * action_report and releases the tally. */
enum status action_tally_finish(struct session *s, struct action_tally *t, json_t *doc,
                                struct error *err);

/* Releases the tally without printing anything more. */
void action_tally_discard(struct action_tally *t);

/* Runs a PostgreSQL action on each of ids (after action_confirm when there
 * are several), with the identity, per-item idempotency keys and
 * --expect-version; tmpl holds the arguments other than the target. Prints
 * and returns as action_report. */
enum status action_run_pg(struct session *s, const struct command *cmd,
                          const struct command_args *a, enum pg_action action, const char *what,
                          const char *const *ids, size_t n, const struct pg_action_args *tmpl,
                          struct error *err);

/* Fills ctx for a Redis action of this invocation: identity (kept in id),
 * one key for the whole batch (the scripts add each event's id), and the
 * note or reason. *key is a heap string the caller frees. */
void action_redis_ctx(struct session *s, const struct command *cmd, const struct command_args *a,
                      struct action_ident *id, struct redis_action_ctx *ctx, char **key,
                      const char *reason);

/* Turns a batch's outcomes into a report (see action_report); items
 * without an outcome (not tried after a failure) are left out. */
enum status action_report_redis(struct session *s, struct redis_action_result *out, size_t n,
                                struct error *err);

/* The same for a bulk action chosen by filters (--all): confirmed as bulk
 * however many items matched. */
enum status action_run_pg_bulk(struct session *s, const struct command *cmd,
                               const struct command_args *a, enum pg_action action,
                               const char *what, const char *const *ids, size_t n,
                               const struct pg_action_args *tmpl, struct error *err);

#endif
