/* Acting from the console: an action key opens a dialog that says exactly
 * what will happen; Enter runs the verb's own command-table row on a
 * worker, with the same core, checks and audit as `opsdeck VERB`; the
 * outcome (or the refusal and why) goes to the message line and the view
 * reads the store again. */
#ifndef OPSDECK_TUI_ACT_H
#define OPSDECK_TUI_ACT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/worker.h"
#include "tui/dialog.h"
#include "tui/keys.h"
#include "tui/view.h"

/* From this many items on, a dialog asks for a typed confirmation word. */
#define ACT_CONFIRM_AT 10
/* The most rows a filter-wide action takes from the console; more is for
 * `opsdeck VERB --all` in a shell, which does not hold a dialog's list. */
#define ACT_ALL_MAX 100000

/* Worker slots of runs: each run has its own, so none replaces another. */
#define ACT_SLOT_BASE 0x10000u
/* The worker slot of progress reads. */
#define ACT_SLOT_JOB 0xffffu
/* The worker slot of the replay dialog's look at a job asked before. */
#define ACT_SLOT_JOB_DIALOG 0xfffeu

struct act {
    const struct keys_verb *kv; /* the dialog's action */
    struct view *v;             /* the view it was opened in */
    json_t *targets;            /* the rows it acts on */
    char *step_id;              /* retry-step: the failed step */
    unsigned next_slot;
    uint64_t seq; /* the run under way, 0 when none */
    unsigned slot;
    char *doing; /* "approving apr-7", while it runs */
    int64_t started_us;
    char *job;             /* a bulk replay: its job (the idempotency key) */
    int64_t done, total;   /* the job's progress as last read */
    struct dialog *d;      /* the dialog act_begin opened */
    enum worker_lane lane; /* where the run runs */
    uint64_t count_seq;    /* a filter-wide action's count under way, 0 when none */
    uint64_t lookup_seq;   /* the replay dialog's look at a job asked before */
    bool counted;          /* the targets are a filter-wide count's */
};

void act_init(struct act *a);
void act_done(struct act *a);

/* Opens d for kv on v's marked rows (or its selected one). When every row
 * the filter matches is marked (list_all_matching), d says it counts them
 * with the verb's own --all --dry-run on a worker, and asks on exactly
 * what that found once it answers. Refuses on the message line, with
 * nothing opened, in read-only mode (or a viewer role's view) or when
 * there is nothing to act on. */
bool act_begin(struct act *a, struct tui *t, struct view *v, const struct keys_verb *kv,
               struct dialog *d);

/* The dialog said go: builds the verb's arguments from it and runs it.
 * False while a count is under way: the dialog stays open. */
bool act_submit(struct act *a, struct tui *t, struct dialog *d);

/* The dialog was closed without going on: a count under way is dropped. */
void act_dialog_closed(struct act *a, struct tui *t);

/* True when r is the reply of a run; then it is handled (message, reload). */
bool act_reply(struct act *a, struct tui *t, struct worker_reply *r);

/* Once a second while a run is under way: the message line shows it (a
 * bulk replay with a progress bar, rate and ETA from its job), and asks
 * for the job's progress. */
void act_tick(struct act *a, struct tui *t);

/* Esc or x while a run is under way: asks it to stop between batches. */
bool act_cancel(struct act *a, struct tui *t);

#endif
