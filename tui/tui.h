/* The console: one poll() loop over the terminal, the workers' replies,
 * a signal pipe and the next timer; handlers set dirty state and one
 * render pass per turn draws what changed. What views may ask of it is
 * below; everything else is private to tui/tui.c. */
#ifndef OPSDECK_TUI_TUI_H
#define OPSDECK_TUI_TUI_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/overview.h"
#include "core/redact.h"
#include "core/session.h"
#include "core/worker.h"
#include "util/status.h"

struct tui;
struct view;

/* Runs the console on s's configuration until the operator quits; restores
 * the terminal on every exit. A theme that does not load, or no terminal,
 * is STATUS_USAGE with a one-line reason before the screen is touched. */
enum status tui_run(struct session *s, struct error *err);

/* Queues a worker request (taken) for a view; returns its seq. */
uint64_t tui_submit(struct tui *t, enum worker_lane lane, struct worker_request *req);

/* Shows text on the message line until the next key (error: in the error
 * role). Store text in it is sanitized when drawn. */
void tui_message(struct tui *t, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The redaction list every shown payload goes through. */
const struct redact *tui_redact(const struct tui *t);

/* The lane's health as the worker last saw it. */
void tui_health(struct tui *t, enum worker_lane lane, struct worker_health *out);

/* One line saying why lane's store is unavailable ("Redis down since
 * 23:41:02: connection refused; retrying in 3s") into buf. */
void tui_down_text(struct tui *t, enum worker_lane lane, char *buf, size_t size);

/* Switches to the view named name ("dlq") with filter text (NULL keeps
 * the view's filter). */
void tui_switch(struct tui *t, const char *name, const char *filter);

/* Why actions are off in v into buf, which is
 * returned: read-only mode, or a role that may only read (a viewer, as the
 * store said at start). NULL when they are on. */
const char *tui_read_only(const struct tui *t, const struct view *v, char *buf, size_t size);

/* What the run on lane has counted so far (worker_progress). */
int64_t tui_progress(struct tui *t, enum worker_lane lane);

/* The configuration the console runs with. */
const struct config *tui_config(const struct tui *t);

/* Reads the current view and the overview again. */
void tui_reload(struct tui *t);

/* Asks the run in worker slot to stop between batches. */
void tui_cancel(struct tui *t, unsigned slot);

/* The view on screen. */
struct view *tui_current(struct tui *t);

/* Wall clock of this turn of the loop. */
int64_t tui_now_us(const struct tui *t);

/* The overview as last collected: each half with its own status; NULL
 * before the first reply. Extras: inflow per minute and next runs. */
const struct overview *tui_overview(const struct tui *t);
const int64_t *tui_inflow(const struct tui *t);
/* True once lane's half of the overview has answered at least once. */
bool tui_overview_has(const struct tui *t, enum worker_lane lane);
const json_t *tui_next_runs(const struct tui *t);

/* The worker slot range of a view: views use slot_base + 0..7. */
#define TUI_SLOTS_PER_VIEW 8

#endif
