/* Store calls off the console's thread. A worker is a thread with its own
 * session (its own connections) that runs requests for one lane: the
 * PostgreSQL lane, the Redis lane, and a lane for verbs that read both
 * (the audit list). A stopped or slow server blocks only its lane, within
 * the configured timeouts, while the console answers keys. Action verbs
 * run there too, as on the command line, with their output captured.
 * Results come back through a queue whose wake-up fd the console polls.
 * The PostgreSQL lane also LISTENs on wf_changes and reports changes as
 * they come. */
#ifndef OPSDECK_CORE_WORKER_H
#define OPSDECK_CORE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "backends/health.h"
#include "backends/rights.h"
#include "core/config.h"
#include "core/filter.h"
#include "core/overview.h"
#include "util/status.h"

enum worker_lane {
    WORKER_LANE_PG,
    WORKER_LANE_REDIS,
    WORKER_LANE_BOTH,
    WORKER_LANES,
};

enum worker_kind {
    WORKER_FETCH,    /* a page of a list verb: filter + limit + after */
    WORKER_SHOW,     /* one item through a show verb's fetch_one */
    WORKER_OVERVIEW, /* the lane's half of the overview (PG or Redis) plus its extras */
    WORKER_CHANGED,  /* reply only: wf_changes said something changed (PG lane) */
    WORKER_RUN,      /* any verb's row->run, as `opsdeck VERB ARGS` runs it */
    WORKER_JOB,      /* a bulk replay job's progress hash: id is the job (its key) */
    WORKER_RIGHTS,   /* may the lane's role act (PG or Redis lane): rights, who */
};

/* A request. The worker owns it once submitted. */
struct worker_request {
    enum worker_kind kind;
    unsigned slot;              /* the caller's tag: which view and purpose */
    uint64_t seq;               /* set by worker_submit; replies carry it */
    struct filter filter;       /* FETCH: owned copy */
    size_t limit;               /* FETCH */
    char *after;                /* FETCH: owned, NULL for the first page */
    const struct command *show; /* SHOW */
    char *id;                   /* SHOW, JOB: owned */
    bool unmask;                /* SHOW: through the verb's audited fetch_unmasked */
    const struct command *cmd;  /* RUN: the verb's row */
    char **argv;                /* RUN: owned, argc strings, each owned: what follows the
                                 * verb's name on a command line ({"apr-7", "--yes"}) */
    size_t argc;                /* RUN */
    unsigned cancel_slot;       /* RUN: the tag worker_cancel names; 0: not cancellable */
    bool json;                  /* RUN: JSON output, as --json (a dry run's count) */
};

/* The overview extras the console draws and `status` does not print. */
#define WORKER_INFLOW_MINUTES 30
struct worker_overview {
    struct overview ov;                    /* only the lane's half is filled */
    int64_t inflow[WORKER_INFLOW_MINUTES]; /* Redis: DLQ entries per minute, oldest first */
    json_t *next_runs;                     /* PG: up to 5 unpaused schedules by next_run_at */
};

/* A reply. The receiver owns it: free with worker_reply_free. */
struct worker_reply {
    enum worker_kind kind;
    enum worker_lane lane;
    unsigned slot;
    uint64_t seq;
    enum status status;
    struct error err;
    json_t *rows;                /* FETCH: taken */
    char *next;                  /* FETCH: next cursor or NULL */
    char *after;                 /* FETCH: the request's cursor, echoed */
    json_t *item;                /* SHOW */
    struct worker_overview *ovw; /* OVERVIEW */
    char *text;                  /* RUN: what the verb printed on stdout (text lines, never
                                  * JSON); "" when it did not run */
    char *diag;                  /* RUN: what it would have printed on stderr (blast radius,
                                  * job notes), without the final error, which is err */
    enum rights rights;          /* RIGHTS */
    char who[64];                /* RIGHTS: the role (PostgreSQL), "" when not known */
    int64_t took_us;
};

/* A lane's health as last seen by its worker, copied under the lock. */
struct worker_health {
    bool connected;
    bool busy;             /* a request is running */
    int64_t busy_since_us; /* wall clock */
    struct health health;  /* the connection's health (down since, next retry) */
    char endpoint[128];
    const char *store; /* "PostgreSQL" or "Redis": whose health this is (for
                        * the lane reading both, the one that is down) */
};

struct worker;

/* Starts the three lanes, each with a session built from a copy of cfg
 * (not taken). LISTEN starts on the PG lane's first connect. Returns NULL
 * with err filled when a thread cannot start. */
struct worker *worker_new(const struct config *cfg, struct error *err);

/* Stops the threads (a lane blocked in a store call is waited for no
 * longer than its timeouts) and frees everything. NULL-safe. */
void worker_free(struct worker *w);

/* Asks the threads to stop and waits at most wait_ms (< 0: as long as it
 * takes) for them. True when every one has stopped; then worker_free does
 * not wait. False when a lane is still inside a store call that has not
 * answered: a process about to exit may leave it (and w) to the exit
 * rather than wait for the call's timeout. */
bool worker_stop(struct worker *w, int64_t wait_ms);

/* The fd to poll for POLLIN: readable when replies are waiting. */
int worker_fd(const struct worker *w);

/* Queues req (taken) on lane. A queued, not yet started request with the
 * same slot is replaced (dropped), so a lane never works through stale
 * pages. Returns the request's seq. */
uint64_t worker_submit(struct worker *w, enum worker_lane lane, struct worker_request *req);

/* Takes the next reply, or NULL when none is waiting. Drains the wake fd. */
struct worker_reply *worker_take(struct worker *w);
void worker_reply_free(struct worker_reply *r);

/* Copies lane's health. */
void worker_health_get(struct worker *w, enum worker_lane lane, struct worker_health *out);

/* Frees a request that was never submitted. */
void worker_request_free(struct worker_request *req);

/* A RUN request for cmd with copies of argv[0..argc): the verb's own
 * arguments. Submit it (on the lane of the store the verb changes) or free
 * it with worker_request_free.
 *
 * A RUN does on its lane's thread what `opsdeck VERB ARGS` does: the same
 * parsing against the row (cli_parse_verb_args; global flags are refused),
 * the same read-only check (STATUS_DENIED, same message), then cmd->run
 * with stdout going to reply->text and stderr to reply->diag, so nothing
 * reaches the terminal and nothing is read from stdin: a bulk action
 * without --yes is STATUS_USAGE. Rows that work without a configuration
 * (help, stores, demo) are refused. RUN requests are never replaced by,
 * nor replace, a queued request of the same slot. */
struct worker_request *worker_request_run(const struct command *cmd, size_t argc,
                                          const char *const *argv);

/* Asks the RUN requests of cancel_slot (not 0) to stop: one running stops
 * at its next safe point (dlq replay: between batches, leaving its job
 * interrupted and resumable with the same --idempotency-key); verbs that
 * do not poll finish as usual. Queued ones are dropped, each answered with
 * STATUS_REFUSED ("cancelled before it started; nothing changed"). Does
 * not block. */
void worker_cancel(struct worker *w, unsigned cancel_slot);

/* What the RUN running on lane has counted so far (dlq export: events
 * written); 0 when it counts nothing. Lock-free: for a progress line. */
int64_t worker_progress(struct worker *w, enum worker_lane lane);

#endif
