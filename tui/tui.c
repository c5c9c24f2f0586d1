/* The console's loop and screen: one poll() over the terminal, the
 * workers' replies, a signal pipe and the next timer. Handlers change
 * state and mark the screen dirty; one render pass per turn draws it and
 * calls doupdate() once, so an idle console writes nothing. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>

#include "core/command.h"
#include "core/config.h"
#include "core/filter.h"
#include "core/worker.h"
#include "tui/act.h"
#include "tui/dialog.h"
#include "tui/draw.h"
#include "tui/frame.h"
#include "tui/keys.h"
#include "tui/list.h"
#include "tui/prompt.h"
#include "tui/theme.h"
#include "tui/tui.h"
#include "tui/view.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define TUI_SECOND_MS 1000
/* A request running longer than this shows its lane as slow. */
#define TUI_SLOW_MS 1000
/* How long quitting waits for the workers to finish what they do. */
#define TUI_QUIT_WAIT_MS 1500

static const struct view_ops *const tui_view_table[] = {
    &view_overview_ops,  &view_sagas_ops,    &view_approvals_ops, &view_dlq_ops,
    &view_schedules_ops, &view_circuits_ops, &view_audit_ops,
};
#define TUI_VIEWS (sizeof(tui_view_table) / sizeof(tui_view_table[0]))

/* The overview's worker slot on the PG and Redis lanes. */
#define TUI_SLOT_OVERVIEW 0
#define TUI_SLOT_RIGHTS   0xfff0u

struct tui {
    struct session *s;
    struct worker *w;
    struct view views[TUI_VIEWS];
    size_t cur;

    struct theme theme;
    bool colour; /* the terminal shows colours and NO_COLOR is unset */
    struct prompt prompt;
    struct dialog dialog; /* an action's dialog, when open */
    struct act act;       /* the action in the dialog or under way */
    char message[512];
    bool message_error;
    bool help;
    size_t help_top;

    int rows, cols;
    bool dirty;
    bool quit;
    int64_t now_us;

    /* The overview, merged from both lanes' replies. */
    struct overview ov;
    bool have_pg, have_redis;
    int64_t inflow[WORKER_INFLOW_MINUTES];
    json_t *next_runs;
    uint64_t pg_sig, redis_sig;

    /* What each store's role may do (PG, Redis lanes), asked once its
     * first overview came back. */
    enum rights rights[WORKER_LANE_BOTH];
    bool rights_asked[WORKER_LANE_BOTH];
    int rights_failed[WORKER_LANE_BOTH]; /* after 3, not asked again: unknown */
    char pg_role[64];

    int64_t next_tick_ms;   /* the refresh interval's next turn */
    int64_t next_second_ms; /* the next look at countdowns */
    int64_t tick_bucket;    /* the view's countdown period last drawn */
};

static volatile sig_atomic_t tui_signalled;
static int tui_sigpipe[2] = {-1, -1};

static void tui_on_signal(int sig)
{
    int saved = errno;
    tui_signalled = sig;
    if (tui_sigpipe[1] >= 0) {
        char c = 1;
        ssize_t n = write(tui_sigpipe[1], &c, 1);
        (void)n;
    }
    errno = saved;
}

uint64_t tui_submit(struct tui *t, enum worker_lane lane, struct worker_request *req)
{
    return worker_submit(t->w, lane, req);
}

int64_t tui_progress(struct tui *t, enum worker_lane lane)
{
    return worker_progress(t->w, lane);
}

void tui_message(struct tui *t, bool error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->message, sizeof(t->message), fmt, ap);
    va_end(ap);
    t->message_error = error;
    t->dirty = true;
}

const struct redact *tui_redact(const struct tui *t)
{
    return &t->s->redact;
}

void tui_health(struct tui *t, enum worker_lane lane, struct worker_health *out)
{
    worker_health_get(t->w, lane, out);
}

void tui_down_text(struct tui *t, enum worker_lane lane, char *buf, size_t size)
{
    struct worker_health h;
    worker_health_get(t->w, lane, &h);
    char since[32] = "?";
    if (h.health.down_since_us > 0) {
        time_t secs = (time_t)(h.health.down_since_us / 1000000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(since, sizeof(since), "%H:%M:%S", &tm);
    }
    int64_t retry = health_retry_in_ms(&h.health, time_mono_ms());
    snprintf(buf, size, "%s down since %s (%s); retrying in %llds",
             h.store != NULL ? h.store : "a store", since,
             h.health.last_error[0] ? h.health.last_error : "no answer",
             (long long)((retry + 999) / 1000));
}

int64_t tui_now_us(const struct tui *t)
{
    return t->now_us;
}

const struct overview *tui_overview(const struct tui *t)
{
    return t->have_pg || t->have_redis ? &t->ov : NULL;
}

bool tui_overview_has(const struct tui *t, enum worker_lane lane)
{
    return lane == WORKER_LANE_PG ? t->have_pg : t->have_redis;
}

const int64_t *tui_inflow(const struct tui *t)
{
    return t->inflow;
}

const json_t *tui_next_runs(const struct tui *t)
{
    return t->next_runs;
}

static struct view *tui_view(struct tui *t)
{
    return &t->views[t->cur];
}

struct view *tui_current(struct tui *t)
{
    return tui_view(t);
}

const struct config *tui_config(const struct tui *t)
{
    return t->s->cfg;
}

void tui_cancel(struct tui *t, unsigned slot)
{
    worker_cancel(t->w, slot);
}

static void tui_overview_request(struct tui *t);

void tui_reload(struct tui *t)
{
    struct view *v = tui_view(t);
    tui_overview_request(t);
    v->ops->reload(v, t);
    t->dirty = true;
}

static unsigned tui_key_groups(struct tui *t)
{
    struct view *v = tui_view(t);
    if (v->ops->list != NULL)
        return list_key_groups(v);
    return v->ops->keys;
}

void tui_switch(struct tui *t, const char *name, const char *filter)
{
    for (size_t i = 0; i < TUI_VIEWS; i++) {
        if (strcmp(t->views[i].ops->name, name) != 0)
            continue;
        t->cur = i;
        t->help = false;
        struct view *v = &t->views[i];
        if (filter == NULL || !v->ops->filter(v, t, filter))
            v->ops->reload(v, t);
        t->dirty = true;
        return;
    }
    tui_message(t, true, "no view named '%s'", name);
}

/* --- the overview ---------------------------------------------------- */

static void tui_overview_request(struct tui *t)
{
    for (enum worker_lane lane = WORKER_LANE_PG; lane <= WORKER_LANE_REDIS; lane++) {
        struct worker_request *req = xcalloc(1, sizeof(*req));
        req->kind = WORKER_OVERVIEW;
        req->slot = TUI_SLOT_OVERVIEW;
        worker_submit(t->w, lane, req);
    }
}

static uint64_t tui_mix(uint64_t h, int64_t v)
{
    h ^= (uint64_t)v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

/* Takes a lane's half of the overview from r; returns true when its
 * counts changed (so that lane's views are worth reading again). */
static bool tui_overview_take(struct tui *t, struct worker_reply *r)
{
    struct worker_overview *w = r->ovw;
    uint64_t sig = 0;
    bool pg_was_ok = t->have_pg && t->ov.pg.status == STATUS_OK;
    bool redis_was_ok = t->have_redis && t->ov.redis.status == STATUS_OK;
    if (w == NULL)
        return false;
    if (r->lane == WORKER_LANE_PG) {
        t->ov.pg = w->ov.pg;
        t->ov.pg.endpoint = NULL; /* borrowed from the worker's connection */
        if (w->ov.pg.status == STATUS_OK)
            t->ov.pgo = w->ov.pgo;
        if (r->status == STATUS_OK && w->next_runs != NULL) {
            json_decref(t->next_runs);
            t->next_runs = w->next_runs;
            w->next_runs = NULL;
        }
        t->ov.latest_schema = w->ov.latest_schema;
        t->ov.at_us = w->ov.at_us;
        t->have_pg = true;
        const struct pg_overview *p = &t->ov.pgo;
        int64_t vals[] = {p->schema_version,       p->sagas_running,     p->sagas_compensating,
                          p->sagas_failed_24h,     p->approvals_pending, p->approvals_overdue,
                          p->approvals_oldest_us,  p->schedules_total,   p->schedules_paused,
                          p->schedules_next_run_us};
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
            sig = tui_mix(sig, vals[i]);
        /* Back after a failure is a change too: views that failed read
         * again. */
        bool changed = sig != t->pg_sig || (!pg_was_ok && w->ov.pg.status == STATUS_OK);
        t->pg_sig = sig;
        return changed;
    }
    t->ov.redis = w->ov.redis;
    t->ov.redis.endpoint = NULL;
    if (w->ov.redis.status == STATUS_OK) {
        redis_overview_done(&t->ov.rdo);
        t->ov.rdo = w->ov.rdo;
        memset(&w->ov.rdo, 0, sizeof(w->ov.rdo));
    }
    if (r->status == STATUS_OK)
        memcpy(t->inflow, w->inflow, sizeof(t->inflow));
    t->have_redis = true;
    const struct redis_overview *d = &t->ov.rdo;
    int64_t vals[] = {d->dlq_depth,          d->dlq_total_failed, d->dlq_status_sum,
                      d->circuits_total,     d->circuits_closed,  d->circuits_open,
                      d->circuits_half_open, d->circuits_forced,  d->circuits_unknown};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        sig = tui_mix(sig, vals[i]);
    bool changed = sig != t->redis_sig || (!redis_was_ok && w->ov.redis.status == STATUS_OK);
    t->redis_sig = sig;
    return changed;
}

/* --- what the roles may do --------------------------------------------- */

/* Once a lane's store answered: ask what its role may do. */
static void tui_rights_request(struct tui *t, const struct worker_reply *r)
{
    if (r->lane >= WORKER_LANE_BOTH || t->rights_asked[r->lane] || r->status != STATUS_OK)
        return;
    struct worker_request *req = xcalloc(1, sizeof(*req));
    req->kind = WORKER_RIGHTS;
    req->slot = TUI_SLOT_RIGHTS;
    t->rights_asked[r->lane] = true;
    worker_submit(t->w, r->lane, req);
}

static const char *tui_store_name(enum worker_lane lane)
{
    return lane == WORKER_LANE_PG ? "PostgreSQL" : "Redis";
}

static const char *tui_read_only_lane(const struct tui *t, enum worker_lane lane, char *buf,
                                      size_t size)
{
    const struct config *cfg = t->s->cfg;
    if (config_bool(cfg, OPTION_READ_ONLY)) {
        snprintf(buf, size, "read-only mode (%s)", config_origin(cfg, OPTION_READ_ONLY));
        return buf;
    }
    if (lane >= WORKER_LANE_BOTH || t->rights[lane] != RIGHTS_READ)
        return NULL;
    if (lane == WORKER_LANE_PG && t->pg_role[0] != '\0')
        snprintf(buf, size, "the PostgreSQL role %s may only read", t->pg_role);
    else
        snprintf(buf, size, "the %s user may only read", tui_store_name(lane));
    return buf;
}

static void tui_rights_take(struct tui *t, const struct worker_reply *r)
{
    if (r->lane >= WORKER_LANE_BOTH)
        return;
    if (r->status != STATUS_OK) {
        /* Asked again after the next overview, twice more at most. */
        if (++t->rights_failed[r->lane] < 3)
            t->rights_asked[r->lane] = false;
        return;
    }
    t->rights[r->lane] = r->rights;
    if (r->lane == WORKER_LANE_PG)
        snprintf(t->pg_role, sizeof(t->pg_role), "%s", r->who);
    if (r->rights == RIGHTS_READ) {
        char why[160];
        tui_read_only_lane(t, r->lane, why, sizeof(why));
        tui_message(t, false, "%s: its views' action keys are off", why);
    }
    t->dirty = true;
}

const char *tui_read_only(const struct tui *t, const struct view *v, char *buf, size_t size)
{
    const struct list_spec *spec = v->ops->list;
    return tui_read_only_lane(t, spec != NULL ? spec->lane : WORKER_LANE_BOTH, buf, size);
}

/* The header's mode: read-only, or which store's role may only read. */
static const char *tui_mode(const struct tui *t)
{
    bool pg = t->rights[WORKER_LANE_PG] == RIGHTS_READ;
    bool redis = t->rights[WORKER_LANE_REDIS] == RIGHTS_READ;
    if (config_bool(t->s->cfg, OPTION_READ_ONLY))
        return "read-only";
    if (pg && redis)
        return "viewer";
    if (pg || redis)
        return pg ? "viewer on pg" : "viewer on redis";
    return NULL;
}

/* --- replies ------------------------------------------------------------ */

static void tui_reply(struct tui *t, struct worker_reply *r)
{
    struct view *v = tui_view(t);
    switch (r->kind) {
    case WORKER_CHANGED:
        /* A change in PostgreSQL: the badges and, when it shows PostgreSQL
         * data, the current view. Requests replace queued ones of the same
         * slot, so a burst of changes costs one read each. */
        tui_overview_request(t);
        if (v->ops->uses(v, WORKER_LANE_PG) && v->ops->list != NULL)
            v->ops->reload(v, t);
        break;
    case WORKER_OVERVIEW:
        if (tui_overview_take(t, r) && v->ops->list != NULL && v->ops->uses(v, r->lane))
            v->ops->reload(v, t);
        tui_rights_request(t, r);
        t->dirty = true;
        break;
    case WORKER_RIGHTS:
        tui_rights_take(t, r);
        break;
    case WORKER_RUN:
    case WORKER_JOB:
        act_reply(&t->act, t, r);
        t->dirty = true;
        break;
    case WORKER_FETCH:
    case WORKER_SHOW: {
        size_t i = r->slot / TUI_SLOTS_PER_VIEW;
        if (i >= 1 && i <= TUI_VIEWS) {
            struct view *to = &t->views[i - 1];
            if (to->ops->reply(to, t, r) & REACT_REDRAW)
                t->dirty = true;
        }
        break;
    }
    }
}

/* --- the `:` line ------------------------------------------------------------ */

static size_t tui_complete_add(char **out, size_t n, size_t max, const char *cand,
                               const char *prefix)
{
    if (n < max && strncmp(cand, prefix, strlen(prefix)) == 0)
        out[n++] = xstrdup(cand);
    return n;
}

static size_t tui_complete(void *ctx, const wchar_t *text, size_t cursor, size_t *word_start,
                           char **out, size_t max)
{
    struct tui *t = ctx;
    char line[PROMPT_MAX * 4];
    size_t n = 0;
    if (wcstombs(line, text, sizeof(line) - 1) == (size_t)-1)
        line[0] = '\0';
    line[sizeof(line) - 1] = '\0';
    /* The word being completed: from the last blank before the cursor. */
    size_t ws = cursor;
    while (ws > 0 && text[ws - 1] != L' ')
        ws--;
    *word_start = ws;
    char word[256];
    size_t wl = 0;
    for (size_t i = ws; i < cursor && wl + 4 < sizeof(word); i++) {
        int k = wctomb(word + wl, text[i]);
        if (k > 0)
            wl += (size_t)k;
    }
    word[wl] = '\0';

    bool first = true;
    for (size_t i = 0; i < ws; i++)
        if (text[i] != L' ')
            first = false;
    char cmdname[64] = "";
    sscanf(line, "%63s", cmdname);
    bool is_filter = t->prompt.lead == L'/';

    if (!is_filter && first) {
        size_t nc;
        const struct keys_command *cmds = keys_commands(&nc);
        for (size_t i = 0; i < nc; i++)
            n = tui_complete_add(out, n, max, cmds[i].name, word);
        /* and the current view's actions */
        size_t nv;
        const struct keys_verb *verbs = keys_verbs(&nv);
        for (size_t i = 0; i < nv; i++)
            if (strcmp(verbs[i].view, tui_view(t)->ops->name) == 0)
                n = tui_complete_add(out, n, max, keys_verb_word(&verbs[i]), word);
        return n;
    }
    if (!is_filter && strcmp(cmdname, "theme") == 0) {
        char *names[64];
        char *ud = theme_user_dir(), *dd = theme_data_dir();
        size_t k = theme_list(ud, dd, names, 64);
        for (size_t i = 0; i < k; i++) {
            n = tui_complete_add(out, n, max, names[i], word);
            free(names[i]);
        }
        free(ud);
        free(dd);
        return n;
    }
    /* Filter keys of the view named, or of the current view. */
    const struct view_ops *ops = tui_view(t)->ops;
    if (!is_filter) {
        ops = NULL;
        for (size_t i = 0; i < TUI_VIEWS; i++)
            if (strcmp(tui_view_table[i]->name, cmdname) == 0)
                ops = tui_view_table[i];
        if (ops == NULL && strcmp(cmdname, "filter") == 0)
            ops = tui_view(t)->ops;
    }
    if (ops == NULL || ops->list == NULL)
        return 0;
    const struct command *cmd = command_named(ops->list->verb);
    if (cmd == NULL || cmd->opts == NULL)
        return 0;
    for (const struct command_flag *o = cmd->opts; o->name != NULL; o++) {
        if (strcmp(o->name, "--limit") == 0 || strcmp(o->name, "--after") == 0)
            continue;
        char cand[64];
        snprintf(cand, sizeof(cand), "%s%s", o->name + 2, o->metavar != NULL ? "=" : "");
        n = tui_complete_add(out, n, max, cand, word);
    }
    return n;
}

static void tui_theme_set(struct tui *t, const char *name)
{
    struct theme th;
    struct error err = {STATUS_OK, ""};
    if (!t->colour && strcmp(name, "mono") != 0) {
        tui_message(t, false, "this terminal shows no colours (or NO_COLOR is set): mono stays");
        return;
    }
    char *ud = theme_user_dir(), *dd = theme_data_dir();
    enum status rc = theme_load(name, ud, dd, &th, &err);
    free(ud);
    free(dd);
    if (rc != STATUS_OK) {
        tui_message(t, true, "%s", err.msg);
        return;
    }
    t->theme = th;
    draw_theme_apply(&t->theme, t->colour);
    clearok(curscr, TRUE);
    tui_message(t, false, "theme %s", th.name);
}

static void tui_command(struct tui *t, const char *line)
{
    while (*line == ' ')
        line++;
    char name[64] = "";
    size_t nl = strcspn(line, " ");
    if (nl == 0)
        return;
    snprintf(name, sizeof(name), "%.*s", (int)(nl < 63 ? nl : 63), line);
    const char *rest = line + nl;
    while (*rest == ' ')
        rest++;
    const struct keys_command *c = keys_command_find(name);
    struct view *v = tui_view(t);
    if (c == NULL) {
        /* An action of this view by its verb's word: :approve, :replay. */
        const struct keys_verb *kv = keys_verb_named(v->ops->name, name);
        if (kv != NULL && v->ops->list != NULL)
            act_begin(&t->act, t, v, kv, &t->dialog);
        else
            tui_message(t, true, "unknown command ':%s' here; :help lists them", name);
        return;
    }
    switch (c->id) {
    case KEYS_CMD_VIEW:
        tui_switch(t, c->name, rest[0] ? rest : NULL);
        break;
    case KEYS_CMD_THEME:
        if (rest[0] == '\0')
            tui_message(t, false, "theme %s; :theme NAME switches (Tab lists them)", t->theme.name);
        else
            tui_theme_set(t, rest);
        break;
    case KEYS_CMD_QUIT:
        t->quit = true;
        break;
    case KEYS_CMD_REFRESH:
        tui_overview_request(t);
        v->ops->reload(v, t);
        break;
    case KEYS_CMD_HELP:
        t->help = true;
        t->help_top = 0;
        break;
    case KEYS_CMD_FILTER:
        v->ops->filter(v, t, rest);
        break;
    }
}

/* --- keys ----------------------------------------------------------------- */

static void tui_prompt_key(struct tui *t, wint_t ch, bool is_key)
{
    enum prompt_result r = prompt_key(&t->prompt, ch, is_key);
    if (r == PROMPT_EDITING)
        return;
    if (r == PROMPT_CANCEL) {
        t->message[0] = '\0';
        return;
    }
    char *text = prompt_take(&t->prompt);
    struct view *v = tui_view(t);
    if (t->prompt.lead == L'/')
        v->ops->filter(v, t, text);
    else
        tui_command(t, text);
    free(text);
}

/* The first string under one of names anywhere in v (depth first); an
 * event stored as JSON text is looked into too. Heap copy, or NULL. */
static char *tui_find_id(const json_t *v, const char *const *names, int depth)
{
    if (v == NULL || depth > 6)
        return NULL;
    if (json_is_object(v)) {
        for (const char *const *n = names; *n != NULL; n++) {
            const char *s = json_string_value(json_object_get(v, *n));
            if (s != NULL && s[0] != '\0')
                return xstrdup(s);
        }
        const char *key;
        json_t *child;
        json_object_foreach((json_t *)v, key, child)
        {
            char *s = tui_find_id(child, names, depth + 1);
            if (s != NULL)
                return s;
        }
    } else if (json_is_string(v) && depth > 0) {
        json_t *inner = json_loads(json_string_value(v), 0, NULL);
        char *s = tui_find_id(inner, names, depth + 1);
        json_decref(inner);
        return s;
    }
    return NULL;
}

/* Cross-links: the items of the next view (sagas, approvals, DLQ, in a
 * ring) that share the selected item's workflow or trace id, through the
 * next view's own search filter. */
static void tui_link(struct tui *t, struct view *v)
{
    static const char *const ring[] = {"sagas", "approvals", "dlq"};
    static const char *const names[] = {"workflow_id", "execution_id", "trace_id", "correlation_id",
                                        NULL};
    size_t at = 0;
    while (at < 3 && strcmp(ring[at], v->ops->name) != 0)
        at++;
    if (at == 3 || v->ops->list == NULL) {
        tui_message(t, true, "w links sagas, approvals and DLQ events");
        return;
    }
    const json_t *item = list_detail_item(v);
    char *id = tui_find_id(item, names, 0);
    if (id == NULL)
        id = tui_find_id(list_selected_row(v), names, 0);
    if (id == NULL) {
        tui_message(t, true, "this item names no workflow or trace id%s",
                    item == NULL ? " (Enter loads its detail, which may)" : "");
        return;
    }
    /* Quoted, so the id is searched for whatever it looks like. */
    char *filter = filter_quote(id);
    const char *next = ring[(at + 1) % 3];
    tui_switch(t, next, filter);
    tui_message(t, false, "%s sharing %s; w goes on to the next view", next, id);
    free(filter);
    free(id);
}

static void tui_key(struct tui *t, wint_t ch, bool is_key)
{
    if (is_key && ch == KEY_RESIZE)
        return; /* handled by the loop */
    if (t->dialog.open) {
        enum dialog_result r = dialog_key(&t->dialog, ch, is_key);
        if (r == DIALOG_OK && !act_submit(&t->act, t, &t->dialog)) {
            r = DIALOG_EDITING; /* still counting: the dialog stays */
            t->dialog.open = true;
        }
        if (r == DIALOG_CANCEL) {
            act_dialog_closed(&t->act, t);
            tui_message(t, false, "cancelled; nothing changed");
        }
        if (r != DIALOG_EDITING)
            dialog_close(&t->dialog);
        t->dirty = true;
        return;
    }
    if (t->prompt.active) {
        tui_prompt_key(t, ch, is_key);
        t->dirty = true;
        return;
    }
    /* A key clears the last message. */
    if (t->message[0] != '\0') {
        t->message[0] = '\0';
        t->dirty = true;
    }
    int key = (int)ch;
    if (t->rows < FRAME_MIN_ROWS || t->cols < FRAME_MIN_COLS) {
        if (key == 'q' || key == 27)
            t->quit = true;
        return;
    }
    if (t->help) {
        enum keys_action a = keys_lookup(key, is_key, KEYS_VIEW_LIST);
        if (a == KEYS_DOWN)
            t->help_top++;
        else if (a == KEYS_UP && t->help_top > 0)
            t->help_top--;
        else if (a == KEYS_BACK || a == KEYS_QUIT || a == KEYS_HELP)
            t->help = false;
        t->dirty = true;
        return;
    }
    struct view *v = tui_view(t);
    /* A run under way: x or Esc stops it between batches. */
    if (!is_key && (key == 'x' || (key == 27 && !(tui_key_groups(t) & KEYS_VIEW_DETAIL))) &&
        act_cancel(&t->act, t)) {
        t->dirty = true;
        return;
    }
    const struct keys_verb *kv = !is_key ? keys_verb_lookup(v->ops->name, key) : NULL;
    if (kv != NULL && v->ops->list != NULL) {
        act_begin(&t->act, t, v, kv, &t->dialog);
        t->dirty = true;
        return;
    }
    enum keys_action a = keys_lookup(key, is_key, tui_key_groups(t));
    if (a == KEYS_NONE) {
        if (!is_key && ch >= 32 && ch < 127)
            tui_message(t, false, "'%c' does nothing here; ? lists the keys", (int)ch);
        return;
    }
    unsigned react = v->ops->act(v, t, a);
    if (react & REACT_REDRAW)
        t->dirty = true;
    if (react & REACT_QUIT)
        t->quit = true;
    if (!(react & REACT_UNUSED))
        return;

    t->dirty = true;
    switch (a) {
    case KEYS_QUIT:
        t->quit = true;
        break;
    case KEYS_NEXT_VIEW:
        tui_switch(t, t->views[(t->cur + 1) % TUI_VIEWS].ops->name, NULL);
        break;
    case KEYS_PREV_VIEW:
        tui_switch(t, t->views[(t->cur + TUI_VIEWS - 1) % TUI_VIEWS].ops->name, NULL);
        break;
    case KEYS_VIEW_1:
    case KEYS_VIEW_2:
    case KEYS_VIEW_3:
    case KEYS_VIEW_4:
    case KEYS_VIEW_5:
    case KEYS_VIEW_6:
    case KEYS_VIEW_7: {
        size_t i = (size_t)(a - KEYS_VIEW_1);
        if (i < TUI_VIEWS)
            tui_switch(t, t->views[i].ops->name, NULL);
        break;
    }
    case KEYS_FILTER:
        if (v->ops->list != NULL)
            prompt_open(&t->prompt, L'/', list_filter_text(v), tui_complete, t);
        break;
    case KEYS_COMMAND:
        prompt_open(&t->prompt, L':', NULL, tui_complete, t);
        break;
    case KEYS_HELP:
        t->help = true;
        t->help_top = 0;
        break;
    case KEYS_REFRESH:
        tui_overview_request(t);
        v->ops->reload(v, t);
        tui_message(t, false, "refreshing");
        break;
    case KEYS_REDRAW:
        clearok(curscr, TRUE);
        break;
    case KEYS_LINK:
        tui_link(t, v);
        break;
    default:
        break;
    }
}

/* --- drawing -------------------------------------------------------------- */

static void tui_health_text(struct tui *t, enum worker_lane lane, struct frame_health *out)
{
    struct worker_health h;
    worker_health_get(t->w, lane, &h);
    out->name = lane == WORKER_LANE_PG ? "pg" : "redis";
    int64_t now_ms = time_mono_ms();
    if (h.health.state == HEALTH_DOWN) {
        char since[16] = "?";
        time_t secs = (time_t)(h.health.down_since_us / 1000000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(since, sizeof(since), "%H:%M:%S", &tm);
        int64_t retry = health_retry_in_ms(&h.health, now_ms);
        if (h.busy)
            snprintf(out->text, sizeof(out->text), "down since %s, trying %llds", since,
                     (long long)((t->now_us - h.busy_since_us) / 1000000));
        else
            snprintf(out->text, sizeof(out->text), "down since %s, retry %llds", since,
                     (long long)((retry + 999) / 1000));
        out->role = ROLE_HEALTH_DOWN;
    } else if (h.busy && (t->now_us - h.busy_since_us) / 1000 > TUI_SLOW_MS) {
        snprintf(out->text, sizeof(out->text), "waiting %llds",
                 (long long)((t->now_us - h.busy_since_us) / 1000000));
        out->role = ROLE_HEALTH_SLOW;
    } else if (h.health.state == HEALTH_UP) {
        snprintf(out->text, sizeof(out->text), "up");
        out->role = ROLE_HEALTH_UP;
    } else {
        snprintf(out->text, sizeof(out->text), "connecting");
        out->role = ROLE_DIM;
    }
}

static bool tui_lane_unsettled(struct tui *t)
{
    for (enum worker_lane lane = WORKER_LANE_PG; lane <= WORKER_LANE_REDIS; lane++) {
        struct worker_health h;
        worker_health_get(t->w, lane, &h);
        if (h.health.state != HEALTH_UP || h.busy)
            return true;
    }
    return false;
}

static void tui_render(struct tui *t)
{
    getmaxyx(stdscr, t->rows, t->cols);
    werase(stdscr);
    if (t->rows < FRAME_MIN_ROWS || t->cols < FRAME_MIN_COLS) {
        frame_too_small(stdscr, t->rows, t->cols);
        curs_set(0);
        wnoutrefresh(stdscr);
        doupdate();
        return;
    }
    struct frame_health hs[2];
    tui_health_text(t, WORKER_LANE_PG, &hs[0]);
    tui_health_text(t, WORKER_LANE_REDIS, &hs[1]);
    frame_header(stdscr, t->cols, config_str(t->s->cfg, OPTION_PROFILE),
                 config_str(t->s->cfg, OPTION_OPERATOR) != NULL
                     ? config_str(t->s->cfg, OPTION_OPERATOR)
                     : "?",
                 tui_mode(t), hs, 2);

    struct frame_tab tabs[TUI_VIEWS];
    for (size_t i = 0; i < TUI_VIEWS; i++) {
        tabs[i] =
            (struct frame_tab){t->views[i].ops->title, t->views[i].ops->short_title, 0, false};
    }
    if (t->have_pg) {
        tabs[2].badge = t->ov.pgo.approvals_pending;
        tabs[2].alert =
            t->ov.pgo.approvals_overdue > 0 || (t->ov.pgo.approvals_oldest_us > 0 &&
                                                t->now_us - t->ov.pgo.approvals_oldest_us >
                                                    (int64_t)OVERVIEW_APPROVAL_AGE_ALERT_MS * 1000);
    }
    if (t->have_redis) {
        tabs[3].badge = t->ov.rdo.dlq_depth;
        tabs[3].alert = t->ov.rdo.dlq_depth > OVERVIEW_DLQ_DEPTH_ALERT;
        tabs[5].badge = t->ov.rdo.circuits_open;
        tabs[5].alert = t->ov.rdo.circuits_open > 0;
    }
    frame_tabs(stdscr, 1, t->cols, tabs, TUI_VIEWS, t->cur);

    int body_y = 2, body_h = t->rows - 4;
    struct view *v = tui_view(t);
    char why[160];
    const char *read_only = tui_read_only(t, v, why, sizeof(why));
    if (t->help)
        frame_help(stdscr, body_y, body_h, t->cols, tui_key_groups(t), v->ops->title, v->ops->name,
                   read_only, &t->help_top);
    else
        v->ops->draw(v, t, stdscr, body_y, 0, body_h, t->cols);

    frame_hints(stdscr, t->rows - 2, t->cols, tui_key_groups(t), v->ops->name, read_only != NULL);
    if (t->prompt.active) {
        prompt_draw(&t->prompt, stdscr, t->rows - 1, 0, t->cols, ROLE_PROMPT);
        curs_set(1);
    } else {
        draw_text(stdscr, t->rows - 1, 0, t->cols, t->message,
                  t->message_error ? ROLE_MESSAGE_ERROR : ROLE_MESSAGE, DRAW_PAD);
        curs_set(0);
    }
    if (t->dialog.open)
        dialog_draw(&t->dialog, stdscr, t->rows, t->cols);
    wnoutrefresh(stdscr);
    doupdate();
}

/* --- the loop ------------------------------------------------------------- */

static void tui_tick(struct tui *t, int64_t now_ms)
{
    if (now_ms >= t->next_tick_ms) {
        t->next_tick_ms = now_ms + config_ms(t->s->cfg, OPTION_REFRESH);
        tui_overview_request(t);
        /* A polled list (circuits: no counter moves with a failure
         * count) is read again at every turn while it is shown. */
        struct view *v = tui_view(t);
        if (v->ops->list != NULL && v->ops->list->poll)
            v->ops->reload(v, t);
    }
    if (now_ms >= t->next_second_ms) {
        /* Once a second while a store is down or slow (the header counts
         * down), and at the view's own pace for its countdowns. ncurses
         * sends only the cells that changed, so a redraw whose text is the
         * same writes nothing. */
        t->next_second_ms = now_ms + TUI_SECOND_MS;
        struct view *v = tui_view(t);
        int every = v->ops->ticks(v);
        act_tick(&t->act, t);
        int64_t bucket = every > 0 ? t->now_us / 1000000 / every : 0;
        if (tui_lane_unsettled(t) || bucket != t->tick_bucket)
            t->dirty = true;
        t->tick_bucket = bucket;
    }
}

static void tui_input(struct tui *t)
{
    wint_t ch;
    int r;
    while ((r = wget_wch(stdscr, &ch)) != ERR) {
        if (r == KEY_CODE_YES && ch == KEY_RESIZE) {
            /* Relayout, read again what is now visible (the page size
             * follows the height), repaint. */
            getmaxyx(stdscr, t->rows, t->cols);
            struct view *v = tui_view(t);
            v->ops->reload(v, t);
            t->dirty = true;
            continue;
        }
        tui_key(t, ch, r == KEY_CODE_YES);
        if (t->quit)
            return;
    }
}

static enum status tui_theme_initial(struct tui *t, struct error *err)
{
    const char *no_color = getenv("NO_COLOR");
    const char *name = config_str(t->s->cfg, OPTION_THEME);
    char *ud = theme_user_dir(), *dd = theme_data_dir();
    enum status rc = theme_load(name, ud, dd, &t->theme, err);
    free(ud);
    free(dd);
    if (rc == STATUS_NOT_FOUND) {
        /* A theme that is not there is bad input, like a bad flag. */
        err->status = rc = STATUS_USAGE;
    }
    if (rc != STATUS_OK)
        return rc;
    t->colour = no_color == NULL || no_color[0] == '\0';
    return STATUS_OK;
}

static void tui_screen_start(struct tui *t)
{
    initscr();
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    if (t->colour && has_colors()) {
        start_color();
        use_default_colors();
    } else {
        t->colour = false;
        theme_mono(&t->theme);
    }
    draw_theme_apply(&t->theme, t->colour);
    getmaxyx(stdscr, t->rows, t->cols);
}

enum status tui_run(struct session *s, struct error *err)
{
    struct tui *t = NULL;
    struct sigaction sa, old_int, old_term, old_hup;
    enum status rc = STATUS_OK;
    bool screen = false;

    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return error_set(err, STATUS_USAGE,
                         "the console needs a terminal; scripts use opsdeck VERB (see opsdeck "
                         "help)");
    t = xcalloc(1, sizeof(*t));
    t->s = s;
    prompt_init(&t->prompt);
    dialog_init(&t->dialog);
    act_init(&t->act);
    if ((rc = tui_theme_initial(t, err)) != STATUS_OK)
        goto out;
    if (pipe(tui_sigpipe) != 0) {
        rc = error_set(err, STATUS_UNAVAILABLE, "pipe: %s", strerror(errno));
        goto out;
    }
    fcntl(tui_sigpipe[0], F_SETFL, O_NONBLOCK);
    fcntl(tui_sigpipe[1], F_SETFL, O_NONBLOCK);
    fcntl(tui_sigpipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(tui_sigpipe[1], F_SETFD, FD_CLOEXEC);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = tui_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);

    /* The workers block the console's signals in their threads, so
     * SIGWINCH and the rest reach this one. */
    if ((t->w = worker_new(s->cfg, err)) == NULL) {
        rc = err->status != STATUS_OK ? err->status : STATUS_UNAVAILABLE;
        goto restore;
    }
    tui_screen_start(t);
    screen = true;
    t->now_us = time_now_us();
    /* Neither half has answered yet. */
    t->ov.pg.status = t->ov.redis.status = STATUS_UNAVAILABLE;
    for (size_t i = 0; i < TUI_VIEWS; i++) {
        t->views[i].ops = tui_view_table[i];
        t->views[i].slot_base = (unsigned)((i + 1) * TUI_SLOTS_PER_VIEW);
        t->views[i].state = t->views[i].ops->open(&t->views[i], t);
    }
    t->next_tick_ms = time_mono_ms() + config_ms(s->cfg, OPTION_REFRESH);
    t->next_second_ms = time_mono_ms() + TUI_SECOND_MS;
    tui_overview_request(t);
    if (s->console_note != NULL)
        tui_message(t, false, "%s", s->console_note);
    t->dirty = true;

    while (!t->quit && !tui_signalled) {
        t->now_us = time_now_us();
        if (t->dirty) {
            t->dirty = false;
            tui_render(t);
        }
        int64_t now_ms = time_mono_ms();
        int64_t wait = t->next_tick_ms < t->next_second_ms ? t->next_tick_ms : t->next_second_ms;
        wait -= now_ms;
        if (wait < 0)
            wait = 0;
        struct pollfd fds[3] = {
            {STDIN_FILENO, POLLIN, 0},
            {worker_fd(t->w), POLLIN, 0},
            {tui_sigpipe[0], POLLIN, 0},
        };
        int n = poll(fds, 3, (int)wait);
        if (n < 0 && errno != EINTR) {
            rc = error_set(err, STATUS_UNAVAILABLE, "poll: %s", strerror(errno));
            break;
        }
        t->now_us = time_now_us();
        if (fds[2].revents & POLLIN) {
            char drain[16];
            while (read(tui_sigpipe[0], drain, sizeof(drain)) > 0)
                ;
        }
        if (fds[0].revents & (POLLHUP | POLLERR)) {
            /* The terminal is gone (SSH dropped): stop quietly. */
            break;
        }
        /* SIGWINCH interrupts poll; ncurses then returns KEY_RESIZE. */
        tui_input(t);
        struct worker_reply *r;
        while ((r = worker_take(t->w)) != NULL) {
            tui_reply(t, r);
            worker_reply_free(r);
        }
        tui_tick(t, time_mono_ms());
    }

    for (size_t i = 0; i < TUI_VIEWS; i++)
        if (t->views[i].ops != NULL)
            t->views[i].ops->close(t->views[i].state);
restore:
    if (screen)
        endwin();
    /* A run under way stops between batches (a replay's job stays
     * resumable). A lane stuck in a call to a store that does not answer
     * is left to the exit rather than waited for up to its timeout. */
    if (t->w != NULL) {
        act_cancel(&t->act, t);
        if (worker_stop(t->w, TUI_QUIT_WAIT_MS))
            worker_free(t->w);
        t->w = NULL;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
out:
    if (tui_sigpipe[0] >= 0) {
        close(tui_sigpipe[0]);
        close(tui_sigpipe[1]);
        tui_sigpipe[0] = tui_sigpipe[1] = -1;
    }
    if (t != NULL) {
        prompt_done(&t->prompt);
        dialog_close(&t->dialog);
        act_done(&t->act);
        overview_done(&t->ov);
        json_decref(t->next_runs);
        free(t);
    }
    tui_signalled = 0;
    return rc;
}
