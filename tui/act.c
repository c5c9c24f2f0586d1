/* The console's actions: targets, dialogs with real numbers, and runs of
 * the command table's rows on a worker. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/command.h"
#include "core/config.h"
#include "core/filter.h"
#include "tui/act.h"
#include "tui/draw.h"
#include "tui/list.h"
#include "tui/tui.h"
#include "util/buf.h"
#include "util/sha1.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

static const char *const act_overlaps[] = {
    "the schedule's own", "skip", "buffer_one", "buffer_all", "cancel_other", "allow_all",
};
static const char *const act_rates[] = {"no limit", "10", "20", "50", "100", "500"};

void act_init(struct act *a)
{
    memset(a, 0, sizeof(*a));
}

/* The run (or dialog) is an export: done is its count (total: 0 unknown). */
static bool act_exporting(const struct act *a)
{
    return a->kv != NULL && a->kv->extra == KEYS_EXTRA_FILE;
}

static void act_clear(struct act *a)
{
    free(a->job);
    a->job = NULL;
    a->done = a->total = 0;
    a->counted = false;
    a->lookup_seq = 0;
    json_decref(a->targets);
    a->targets = NULL;
    free(a->step_id);
    a->step_id = NULL;
    a->kv = NULL;
}

void act_done(struct act *a)
{
    act_clear(a);
    free(a->doing);
    memset(a, 0, sizeof(*a));
}

static const char *act_str(const json_t *row, const char *field)
{
    const char *s = json_string_value(json_object_get(row, field));
    return s != NULL ? s : "";
}

static void act_arg(char ***argv, size_t *argc, const char *s)
{
    *argv = xrealloc(*argv, (*argc + 2) * sizeof(**argv));
    (*argv)[(*argc)++] = xstrdup(s);
    (*argv)[*argc] = NULL;
}

static void act_argv_free(char **argv, size_t argc)
{
    for (size_t i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

/* Submits a run of cmd with argv (taken) in a slot of its own, on the lane
 * of a->v's store (a->lane); json asks for the verb's JSON. */
static uint64_t act_submit_run(struct act *a, struct tui *t, const struct command *cmd, char **argv,
                               size_t argc, bool json)
{
    struct worker_request *req = xcalloc(1, sizeof(*req));
    req->kind = WORKER_RUN;
    a->slot = ACT_SLOT_BASE + a->next_slot++;
    req->slot = a->slot;
    req->cmd = cmd;
    req->argv = argv;
    req->argc = argc;
    req->cancel_slot = a->slot;
    req->json = json;
    const struct list_spec *spec = a->v->ops->list;
    a->lane = spec != NULL ? spec->lane : WORKER_LANE_BOTH;
    return tui_submit(t, a->lane, req);
}

/* The first failed step of a saga's detail: what retry-step retries. */
static const char *act_failed_step(const json_t *saga)
{
    size_t i;
    const json_t *step;
    json_array_foreach(json_object_get(saga, "steps"), i, step)
    {
        if (strcmp(act_str(step, "status"), "failed") == 0)
            return act_str(step, "step_id");
    }
    return NULL;
}

/* "apr-1, apr-2, apr-3 and 4 more" */
static void act_ids(const json_t *targets, const char *field, struct buf *b)
{
    size_t n = json_array_size(targets);
    for (size_t i = 0; i < n && i < 3; i++)
        buf_addf(b, "%s%s", i ? ", " : "", act_str(json_array_get(targets, i), field));
    if (n > 3)
        buf_addf(b, " and %zu more", n - 3);
}

/* The replay dialog's numbers: how many events go to which queue by which
 * route, as the configuration routes them. */
static void act_replay_lines(struct tui *t, struct dialog *d, const json_t *targets)
{
    json_t *queues = json_object();
    size_t i, retried = 0;
    const json_t *row;
    json_array_foreach(targets, i, row)
    {
        const char *q = act_str(row, "original_queue");
        json_int_t c = json_integer_value(json_object_get(queues, q));
        json_object_set_new(queues, q, json_integer(c + 1));
        /* (A dry run's items are pending review unless --force.) */
        const char *st = act_str(row, "status");
        if (st[0] != '\0' && strcmp(st, "pending_review") != 0)
            retried++;
    }
    const char *q;
    json_t *count;
    size_t shown = 0;
    json_object_foreach(queues, q, count)
    {
        if (shown++ == 5) {
            dialog_line(d, "  and %zu more queues", json_object_size(queues) - 5);
            break;
        }
        dialog_line(d, "  %lld to %s via %s", (long long)json_integer_value(count),
                    q[0] ? q : "(no queue)", config_route_for(tui_config(t), q[0] ? q : NULL));
    }
    if (retried > 0)
        dialog_line(d,
                    "%zu not pending review: refused unless forced (opsdeck dlq replay "
                    "--force)",
                    retried);
    json_decref(queues);
}

static int act_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A bulk replay is a job named by its key. The key is the events as they
 * stand (id, last failure, retries), so the same replay asked again after
 * the console was killed or the job cancelled resumes the job and sends no
 * event twice, while events that failed again since make a new job. */
static void act_replay_key(const json_t *targets, const char *idf, char key[64])
{
    size_t i, n = json_array_size(targets);
    const json_t *row;
    char **lines = xcalloc(n, sizeof(*lines));
    json_array_foreach(targets, i, row) lines[i] =
        xasprintf("%s|%s|%lld\n", act_str(row, idf), act_str(row, "failed_at"),
                  (long long)json_integer_value(json_object_get(row, "retry_count")));
    qsort(lines, n, sizeof(*lines), act_cmp);
    struct buf b;
    buf_init(&b);
    for (i = 0; i < n; i++) {
        buf_adds(&b, lines[i]);
        free(lines[i]);
    }
    free(lines);
    char hex[41];
    sha1_hex(buf_get(&b), b.len, hex);
    buf_done(&b);
    snprintf(key, 64, "console-replay-%.20s", hex);
}

static bool act_dialog(struct act *a, struct tui *t, struct dialog *d, bool marked,
                       const char *title);

/* Every row the filter matches: the verb's own --all --dry-run counts
 * them (on the worker) while the dialog says so; act_reply opens the real
 * dialog on exactly what it found. */
static bool act_count(struct act *a, struct tui *t, struct view *v, const struct keys_verb *kv,
                      const struct filter *f, struct dialog *d)
{
    const struct command *cmd = command_named(kv->verb);
    char **argv = NULL;
    size_t argc = 0;
    struct error err = {STATUS_OK, ""};
    if (cmd == NULL)
        return false;
    if (!keys_verb_all(kv)) {
        tui_message(t, true,
                    "'%s' acts on marked rows, not on every row the filter matches: Esc clears, "
                    "Space marks",
                    kv->verb);
        return false;
    }
    if (filter_verb_args(f, cmd, &argv, &argc, &err) != STATUS_OK) {
        act_argv_free(argv, argc);
        tui_message(t, true, "%s", err.msg);
        return false;
    }
    act_arg(&argv, &argc, "--all");
    act_arg(&argv, &argc, "--dry-run");
    act_clear(a);
    a->kv = kv;
    a->v = v;
    a->count_seq = act_submit_run(a, t, cmd, argv, argc, true);
    const char *ft = f->text != NULL && f->text[0] ? f->text : NULL;
    dialog_open(d, kv->title);
    dialog_line(d, "Every %s row %s%s.", v->ops->title, ft ? "the filter matches: " : "there is",
                ft ? ft : "");
    dialog_line(d, "Counting with opsdeck %s --all --dry-run%s", kv->verb, DRAW_ELLIPSIS);
    dialog_line(d, "(Esc cancels.)");
    return true;
}

/* The dry run's answer: the dialog on exactly what it found. */
static void act_counted(struct act *a, struct tui *t, struct worker_reply *r, struct dialog *d)
{
    json_t *doc =
        r->status == STATUS_OK ? json_loads(r->text != NULL ? r->text : "", 0, NULL) : NULL;
    json_t *items = json_object_get(doc, "items");
    size_t n = json_array_size(items);
    /* At most what the verb takes as ids, and what a dialog should hold. */
    const struct command *cmd = command_named(a->kv->verb);
    size_t max = cmd != NULL && cmd->max_args < ACT_ALL_MAX ? cmd->max_args : ACT_ALL_MAX;
    if (r->status != STATUS_OK || !json_is_array(items)) {
        tui_message(t, true, "could not count what the filter matches: %s",
                    r->err.msg[0] ? r->err.msg : "no answer");
        dialog_close(d);
    } else if (n == 0) {
        tui_message(t, false, "nothing the filter matches is for '%s'; nothing changed",
                    a->kv->verb);
        dialog_close(d);
    } else if (n > max) {
        tui_message(t, true,
                    "the filter matches %zu rows, more than the console acts on at once (%zu): "
                    "narrow it, or run opsdeck %s --all from a shell",
                    n, max, a->kv->verb);
        dialog_close(d);
    } else {
        /* What the dry run names is what will be acted on: rows that come
         * to match later are not, and the dialog says so. */
        a->targets = json_incref(items);
        a->counted = true;
        char title[160];
        snprintf(title, sizeof(title), "%s all %zu the filter matches (%s)", a->kv->title, n,
                 a->v->ops->title);
        act_dialog(a, t, d, true, title);
        dialog_line(d, "Counted just now; rows that match later are left alone.");
    }
    json_decref(doc);
}

/* Export: of the view's filter, not of marks, to a file the dialog names
 * (in the console's folder unless the operator types another). */
static bool act_export(struct act *a, struct tui *t, struct view *v, const struct keys_verb *kv,
                       struct dialog *d)
{
    const struct filter *f = list_view_filter(v);
    const char *ft = f->text != NULL && f->text[0] ? f->text : NULL;
    const struct overview *ov = tui_overview(t);
    act_clear(a);
    a->kv = kv;
    a->v = v;
    /* Without a filter the DLQ's depth is the total, for an ETA. */
    a->total = ft == NULL && tui_overview_has(t, WORKER_LANE_REDIS) ? ov->rdo.dlq_depth : 0;
    dialog_open(d, "Export the DLQ as JSON lines");
    if (ft != NULL)
        dialog_line(d, "Every event the filter matches (%s), newest first.", ft);
    else if (a->total > 0)
        dialog_line(d, "Every event in the DLQ (%lld now), newest first.", (long long)a->total);
    else
        dialog_line(d, "Every event in the DLQ, newest first.");
    dialog_line(d, "Sensitive fields masked (opsdeck dlq export --unmask keeps them, audited).");
    dialog_line(d, "The file is private (0600) and appears only when complete; x stops it.");
    dialog_text(d, "File", true, NULL);
    char cwd[1024], when[32];
    time_t now = (time_t)(time_now_us() / 1000000);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
    /* The folder named when it reads back as typed (short, ASCII). */
    bool named = getcwd(cwd, sizeof(cwd)) != NULL && strlen(cwd) < 300;
    for (const char *p = cwd; named && *p; p++)
        named = (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f;
    char *path = xasprintf("%s%sopsdeck-dlq-%s.jsonl", named ? cwd : "", named ? "/" : "", when);
    dialog_set(d, 0, path);
    free(path);
    return true;
}

bool act_begin(struct act *a, struct tui *t, struct view *v, const struct keys_verb *kv,
               struct dialog *d)
{
    char why[160];
    if (keys_verb_writes(kv) && tui_read_only(t, v, why, sizeof(why)) != NULL) {
        tui_message(t, true, "%s: '%s' would change the store; nothing changed", why, kv->verb);
        return false;
    }
    if (a->seq != 0) {
        tui_message(t, true, "%s is still running; x stops it", a->doing);
        return false;
    }
    if (a->count_seq != 0) {
        tui_message(t, true, "still counting what the filter matches; Esc stops it");
        return false;
    }
    a->d = d;
    if (kv->extra == KEYS_EXTRA_FILE)
        return act_export(a, t, v, kv, d);
    const struct filter *all = list_all_matching(v);
    if (all != NULL)
        return act_count(a, t, v, kv, all, d);
    bool marked = false;
    json_t *targets = list_targets(v, &marked);
    size_t n = json_array_size(targets);
    if (n == 0) {
        json_decref(targets);
        tui_message(t, true, "nothing selected to %s", kv->verb);
        return false;
    }
    if (n > 1 && !kv->bulk) {
        json_decref(targets);
        tui_message(t, true, "'%s' acts on one item at a time; Esc clears the %zu marks", kv->verb,
                    n);
        return false;
    }
    act_clear(a);
    a->kv = kv;
    a->v = v;
    a->targets = targets;
    return act_dialog(a, t, d, marked, NULL);
}

/* The dialog of a->kv on a->targets; title, when not NULL, says what the
 * targets are (every row a filter matched). */
static bool act_dialog(struct act *a, struct tui *t, struct dialog *d, bool marked,
                       const char *title)
{
    const struct keys_verb *kv = a->kv;
    struct view *v = a->v;
    const struct config *cfg = tui_config(t);
    const json_t *targets = a->targets;
    size_t n = json_array_size(targets);
    const char *field = list_id_field(v);

    if (strcmp(kv->verb, "sagas retry-step") == 0) {
        /* The step comes from the selected saga's detail: the target must
         * be that saga, not a marked one. */
        const json_t *saga = list_detail_item(v);
        if (marked || saga == NULL ||
            strcmp(act_str(saga, field), act_str(json_array_get(targets, 0), field)) != 0) {
            act_clear(a);
            tui_message(t, true,
                        "retry-step acts on the selected saga with its detail open "
                        "(Enter), not on marks");
            return false;
        }
        const char *step = act_failed_step(saga);
        if (step == NULL || step[0] == '\0') {
            act_clear(a);
            tui_message(t, true, "no failed step in this saga's detail (Enter shows its steps)");
            return false;
        }
        a->step_id = xstrdup(step);
    }

    struct buf b;
    buf_init(&b);
    const char *noun = v->ops->title;
    if (title != NULL) {
        buf_adds(&b, title);
    } else if (n == 1) {
        const json_t *row = json_array_get(targets, 0);
        buf_addf(&b, "%s %s", kv->title, act_str(row, field));
        if (json_is_string(json_object_get(row, "title")))
            buf_addf(&b, " \"%s\"", act_str(row, "title"));
    } else {
        buf_addf(&b, "%s %zu marked (%s)", kv->title, n, noun);
    }
    dialog_open(d, buf_get(&b));
    buf_done(&b);

    buf_init(&b);
    act_ids(targets, field, &b);
    if (n > 1)
        dialog_line(d, "Items: %s", buf_get(&b));
    buf_done(&b);
    if (strcmp(kv->verb, "dlq replay") == 0) {
        dialog_line(d, "Replay %zu event%s:", n, n == 1 ? "" : "s");
        act_replay_lines(t, d, targets);
    } else if (a->step_id != NULL) {
        dialog_line(d, "Step %s runs again (the engine picks up the signal).", a->step_id);
    } else if (strcmp(kv->verb, "sagas abort") == 0) {
        dialog_line(d, "The saga stops and compensates its completed steps.");
    } else if (strcmp(kv->verb, "dlq delete") == 0) {
        dialog_line(d, "The event%s leave%s the DLQ for good (audited).", n == 1 ? "" : "s",
                    n == 1 ? "s" : "");
    } else if (strcmp(kv->verb, "schedules pause") == 0) {
        dialog_line(d, "No new runs start until resumed%s.",
                    n > 1 ? " (a maintenance window: one note for all)" : "");
    }
    dialog_line(d, "Runs as: opsdeck %s, audited as %s.", kv->verb,
                config_str(cfg, OPTION_OPERATOR) != NULL ? config_str(cfg, OPTION_OPERATOR) : "?");

    if (kv->text_flag != NULL) {
        char label[64];
        snprintf(label, sizeof(label), "%s%s",
                 strcmp(kv->text_flag, "--note") == 0 ? "Note" : "Reason",
                 kv->text_required ? " (required)" : "");
        dialog_text(d, label, kv->text_required, NULL);
    }
    switch (kv->extra) {
    case KEYS_EXTRA_UNTIL:
        dialog_text(d, "Resume by itself at (+2h, or 2026-11-24T06:00Z; empty: never)", false,
                    NULL);
        break;
    case KEYS_EXTRA_RANGE:
        dialog_text(d, "From (ISO 8601, or a duration ago: 6h)", true, NULL);
        dialog_text(d, "To (ISO 8601, or a duration ago: 0s)", true, NULL);
        dialog_choice(d, "Overlap", act_overlaps, sizeof(act_overlaps) / sizeof(act_overlaps[0]),
                      0);
        break;
    case KEYS_EXTRA_OVERLAP:
        dialog_choice(d, "Overlap", act_overlaps, sizeof(act_overlaps) / sizeof(act_overlaps[0]),
                      0);
        break;
    case KEYS_EXTRA_NONE:
    case KEYS_EXTRA_FILE: /* its own dialog: act_export */
        break;
    }
    if (strcmp(kv->verb, "dlq replay") == 0) {
        dialog_choice(d, "Rate (events/s)", act_rates, sizeof(act_rates) / sizeof(act_rates[0]),
                      n > 1 ? 2 : 0);
        if (n > 1 && !a->counted) {
            /* Asked before: what its job already sent (act_reply adds it). */
            /* The job's key, kept for the run (act_submit) too. */
            char key[64];
            act_replay_key(targets, field, key);
            free(a->job);
            a->job = xstrdup(key);
            struct worker_request *req = xcalloc(1, sizeof(*req));
            req->kind = WORKER_JOB;
            req->slot = ACT_SLOT_JOB_DIALOG;
            req->id = xstrdup(key);
            a->lookup_seq = tui_submit(t, WORKER_LANE_BOTH, req);
        }
    }
    if (n >= ACT_CONFIRM_AT) {
        const char *word = strrchr(kv->verb, ' ');
        word = word != NULL ? word + 1 : kv->verb;
        char label[64];
        snprintf(label, sizeof(label), "Type %s to confirm %zu items", word, n);
        dialog_text(d, label, true, word);
    }
    return true;
}

/* A TIME as the verbs take it from what the dialog accepts: "+2h" is 2h
 * from now for --until (the verb reads a bare DUR as from now). */
static const char *act_time(const char *v)
{
    return v[0] == '+' ? v + 1 : v;
}

/* A backfill bound: the dialog takes a duration as that long ago, which
 * the verb (reading a bare DUR as from now) gets as an ISO time. */
static char *act_time_ago(const char *v)
{
    int64_t ms;
    char iso[40];
    if (!time_parse_duration(v, &ms))
        return xstrdup(v);
    return xstrdup(time_format_iso(time_now_us() - ms * 1000, iso, sizeof(iso)));
}

/* Runs cmd with argv (taken) on the lane of the view's store; doing
 * (taken) names it on the message line meanwhile. */
static void act_run(struct act *a, struct tui *t, const struct command *cmd, char **argv,
                    size_t argc, char *doing)
{
    a->seq = act_submit_run(a, t, cmd, argv, argc, false);
    free(a->doing);
    a->doing = doing;
    a->started_us = time_now_us();
    tui_message(t, false, "%s%s", a->doing, "...");
}

/* The export dialog said go: the view's filter as the verb's flags, and
 * the file. */
static bool act_submit_export(struct act *a, struct tui *t, const struct command *cmd,
                              struct dialog *d)
{
    char **argv = NULL;
    size_t argc = 0;
    struct error err = {STATUS_OK, ""};
    char *path = dialog_value(d, 0);
    if (filter_verb_args(list_view_filter(a->v), cmd, &argv, &argc, &err) != STATUS_OK) {
        act_argv_free(argv, argc);
        free(path);
        tui_message(t, true, "%s", err.msg);
        act_clear(a);
        return true;
    }
    act_arg(&argv, &argc, "--output");
    act_arg(&argv, &argc, path);
    a->done = 0;
    act_run(a, t, cmd, argv, argc, xasprintf("export to %s", path));
    free(path);
    return true;
}

bool act_submit(struct act *a, struct tui *t, struct dialog *d)
{
    const struct keys_verb *kv = a->kv;
    const struct command *cmd = kv != NULL ? command_named(kv->verb) : NULL;
    if (a->count_seq != 0) {
        dialog_error(d, "still counting; Esc cancels");
        return false;
    }
    if (cmd == NULL) {
        act_clear(a);
        return true;
    }
    if (kv->extra == KEYS_EXTRA_FILE)
        return act_submit_export(a, t, cmd, d);
    char **argv = NULL;
    size_t argc = 0, field = 0, n = json_array_size(a->targets);
    const char *idf = list_id_field(a->v);
    size_t i;
    const json_t *row;
    if (kv->text_flag != NULL) {
        char *v = dialog_value(d, field++);
        if (v[0] != '\0') {
            act_arg(&argv, &argc, kv->text_flag);
            act_arg(&argv, &argc, v);
        }
        free(v);
    }
    if (kv->extra == KEYS_EXTRA_UNTIL) {
        char *v = dialog_value(d, field++);
        if (v[0] != '\0') {
            act_arg(&argv, &argc, "--until");
            act_arg(&argv, &argc, act_time(v));
        }
        free(v);
    } else if (kv->extra == KEYS_EXTRA_RANGE) {
        char *fv = dialog_value(d, field++), *tv = dialog_value(d, field++);
        char *from = act_time_ago(fv), *to = act_time_ago(tv);
        act_arg(&argv, &argc, "--from");
        act_arg(&argv, &argc, from);
        act_arg(&argv, &argc, "--to");
        act_arg(&argv, &argc, to);
        free(from);
        free(to);
        free(fv);
        free(tv);
    }
    if (kv->extra == KEYS_EXTRA_RANGE || kv->extra == KEYS_EXTRA_OVERLAP) {
        char *v = dialog_value(d, field++);
        if (strcmp(v, act_overlaps[0]) != 0) {
            act_arg(&argv, &argc, "--overlap");
            act_arg(&argv, &argc, v);
        }
        free(v);
    }
    if (strcmp(kv->verb, "dlq replay") == 0) {
        char *v = dialog_value(d, field++);
        if (strcmp(v, act_rates[0]) != 0) {
            act_arg(&argv, &argc, "--rate");
            act_arg(&argv, &argc, v);
        }
        free(v);
    }
    /* The dialog was the confirmation; the key makes a retry after a lost
     * answer return the first outcome instead of acting twice. */
    if (n > 1)
        act_arg(&argv, &argc, "--yes");
    char key[64];
    if (strcmp(kv->verb, "dlq replay") == 0 && n > 1 && a->counted) {
        /* Counted by a dry run, whose items carry no failure time: a job
         * of its own. Asked again, the count leaves out what was sent (no
         * longer pending review), and the scripts' status check would
         * refuse it anyway. */
        snprintf(key, sizeof(key), "console-replay-all-%lld-%d-%u", (long long)time_now_us(),
                 (int)getpid(), a->next_slot);
        free(a->job);
        a->job = xstrdup(key);
        a->total = (int64_t)n;
    } else if (strcmp(kv->verb, "dlq replay") == 0 && n > 1) {
        /* The dialog named the job when it asked what was sent before. */
        if (a->job == NULL) {
            act_replay_key(a->targets, idf, key);
            a->job = xstrdup(key);
        }
        snprintf(key, sizeof(key), "%s", a->job);
        a->total = (int64_t)n;
    } else {
        snprintf(key, sizeof(key), "console-%lld-%d-%u", (long long)time_now_us(), (int)getpid(),
                 a->next_slot);
    }
    act_arg(&argv, &argc, "--idempotency-key");
    act_arg(&argv, &argc, key);
    /* Ids last, after "--": an id from the store that starts with a dash is
     * still an id. */
    act_arg(&argv, &argc, "--");
    json_array_foreach(a->targets, i, row) act_arg(&argv, &argc, act_str(row, idf));
    if (a->step_id != NULL)
        act_arg(&argv, &argc, a->step_id);

    act_run(a, t, cmd, argv, argc,
            n == 1 ? xasprintf("%s %s", kv->verb, act_str(json_array_get(a->targets, 0), idf))
                   : xasprintf("%s of %zu items", kv->verb, n));
    return true;
}

/* "replay [#####...............] 12/40  10/s  ETA 3s  (x stops...)"; with
 * no total, the count and the rate. */
static void act_bar(struct tui *t, const char *what, int64_t done, int64_t total, int64_t secs,
                    const char *note)
{
    double rate = secs > 0 ? (double)done / (double)secs : 0.0;
    if (total <= 0) {
        tui_message(t, false, "%s %lld  %.0f/s  (%s)", what, (long long)done, rate, note);
        return;
    }
    char bar[24];
    int fill = (int)((done < total ? done : total) * 20 / total);
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    char eta[32] = "?";
    if (rate > 0.0 && done <= total)
        time_format_span((int64_t)((double)(total - done) / rate * 1000.0), eta, sizeof(eta));
    tui_message(t, false, "%s [%s] %lld/%lld  %.0f/s  ETA %s  (%s)", what, bar, (long long)done,
                (long long)total, rate, eta, note);
}

void act_tick(struct act *a, struct tui *t)
{
    if (a->seq == 0)
        return;
    int64_t secs = (time_now_us() - a->started_us) / 1000000;
    if (act_exporting(a)) {
        /* The verb's own count, read from its lane without a store call. */
        a->done = tui_progress(t, a->lane);
        act_bar(t, "export", a->done, a->total, secs, "x stops; no file is left");
        return;
    }
    if (a->job == NULL) {
        tui_message(t, false, "%s... %llds (x stops it)", a->doing, (long long)secs);
        return;
    }
    /* The bar from the job's own counts: what was really sent. */
    act_bar(t, "replay", a->done, a->total, secs, "x stops; asking again resumes");
    struct worker_request *req = xcalloc(1, sizeof(*req));
    req->kind = WORKER_JOB;
    req->slot = ACT_SLOT_JOB;
    req->id = xstrdup(a->job);
    tui_submit(t, WORKER_LANE_BOTH, req);
}

bool act_reply(struct act *a, struct tui *t, struct worker_reply *r)
{
    if (r->kind == WORKER_JOB && r->slot == ACT_SLOT_JOB_DIALOG) {
        /* The replay dialog's job, asked again: say what it sent (only
         * for the dialog that asked). */
        json_int_t done = json_integer_value(json_object_get(r->item, "done"));
        json_int_t total = json_integer_value(json_object_get(r->item, "total"));
        bool mine = r->seq != 0 && r->seq == a->lookup_seq;
        if (mine)
            a->lookup_seq = 0;
        if (mine && r->status == STATUS_OK && a->d != NULL && a->d->open) {
            dialog_line(a->d,
                        "Asked before: %lld of %lld already sent by its job; only the rest go.",
                        (long long)done, (long long)total);
        }
        return true;
    }
    if (r->kind == WORKER_JOB) {
        if (r->status == STATUS_OK && a->seq != 0) {
            a->done = json_integer_value(json_object_get(r->item, "done"));
            if (json_integer_value(json_object_get(r->item, "total")) > 0)
                a->total = json_integer_value(json_object_get(r->item, "total"));
        }
        return true;
    }
    if (r->kind != WORKER_RUN)
        return false;
    if (r->seq != 0 && r->seq == a->count_seq) {
        a->count_seq = 0;
        if (a->d != NULL)
            act_counted(a, t, r, a->d);
        return true;
    }
    /* Only the run under way is answered; anything else (a count whose
     * dialog was closed) is dropped. */
    if (r->seq == 0 || r->seq != a->seq)
        return true;
    a->seq = 0;
    if (r->status == STATUS_OK) {
        /* The verb's own line says what changed; the first one, and how
         * many more. */
        const char *text = r->text != NULL ? r->text : "";
        /* A verb that says what it did on stderr (export: the file). */
        if (text[0] == '\0' && r->diag != NULL) {
            text = r->diag;
            if (strncmp(text, "opsdeck: ", 9) == 0)
                text += 9;
        }
        size_t len = strcspn(text, "\n"), lines = 0;
        for (const char *p = text; *p; p++)
            lines += *p == '\n';
        tui_message(t, false, "%.*s%s", (int)len, text[0] ? text : "done",
                    lines > 1 ? " (and more; the Audit view has each)" : "");
        if (a->v != NULL && a->v->ops->list != NULL && !act_exporting(a))
            list_marks_clear(a->v);
    } else {
        tui_message(t, true, "%s", r->err.msg[0] ? r->err.msg : status_text(r->status));
    }
    /* An export only read: nothing to read again. */
    bool wrote = !act_exporting(a);
    act_clear(a);
    if (wrote)
        tui_reload(t);
    return true;
}

void act_dialog_closed(struct act *a, struct tui *t)
{
    a->lookup_seq = 0;
    if (a->count_seq == 0)
        return;
    tui_cancel(t, a->slot);
    a->count_seq = 0;
}

bool act_cancel(struct act *a, struct tui *t)
{
    if (a->seq == 0)
        return false;
    tui_cancel(t, a->slot);
    tui_message(t, false, "stopping %s after the batch under way", a->doing);
    return true;
}
