/* The Overview: counts and health at a glance from both stores' counters,
 * the DLQ inflow per minute as a sparkline, top reasons, circuits by
 * state, the next schedule runs, and seed 000's alert lines, each of which
 * Enter turns into its view and filter. */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/overview.h"
#include "tui/draw.h"
#include "tui/tui.h"
#include "tui/view.h"
#include "util/sanitize.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define VIEW_OVERVIEW_ALERTS 8

struct view_overview {
    size_t sel;     /* the selected alert */
    size_t nalerts; /* as last drawn */
    struct overview_alert alerts[VIEW_OVERVIEW_ALERTS];
};

static void *view_overview_open(struct view *v, struct tui *t)
{
    (void)v;
    (void)t;
    return xcalloc(1, sizeof(struct view_overview));
}

static void view_overview_close(void *state)
{
    free(state);
}

/* The overview is collected by the console itself (it feeds the header
 * badges too); nothing of the view's own to fetch. */
static void view_overview_refresh(struct view *v, struct tui *t)
{
    (void)v;
    (void)t;
}

static unsigned view_overview_reply(struct view *v, struct tui *t, struct worker_reply *r)
{
    (void)v;
    (void)t;
    (void)r;
    return REACT_NONE;
}

/* An age to the minute ("<1m", "42m", "3h07m", "2d04h"): the Overview
 * changes at most once a minute while nothing happens. */
static const char *view_overview_age(int64_t ms, char *buf, size_t size)
{
    int64_t m = ms / 60000;
    if (m < 1)
        snprintf(buf, size, "<1m");
    else if (m < 60)
        snprintf(buf, size, "%lldm", (long long)m);
    else if (m < 24 * 60)
        snprintf(buf, size, "%lldh%02lldm", (long long)(m / 60), (long long)(m % 60));
    else
        snprintf(buf, size, "%lldd%02lldh", (long long)(m / 1440), (long long)(m % 1440 / 60));
    return buf;
}

static void view_overview_clock(int64_t us, char *buf, size_t size)
{
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, size, "%m-%d %H:%M", &tm);
}

/* One store's state for its section when its numbers are not fresh. */
static bool view_overview_down(struct tui *t, const struct overview_backend *b,
                               enum worker_lane lane, WINDOW *win, int y, int x, int w)
{
    if (b->status == STATUS_OK)
        return false;
    char down[600];
    struct worker_health h;
    tui_health(t, lane, &h);
    if (!tui_overview_has(t, lane) || h.health.state == HEALTH_UNKNOWN) {
        /* Not an outage yet: the first answer is still on its way. */
        draw_printf(win, y, x, w, ROLE_DIM, 0, "waiting for %s%s",
                    lane == WORKER_LANE_PG ? "PostgreSQL" : "Redis", DRAW_ELLIPSIS);
        return true;
    }
    if (b->status == STATUS_UNAVAILABLE || !b->up)
        tui_down_text(t, lane, down, sizeof(down));
    else
        snprintf(down, sizeof(down), "%s", b->err.msg);
    draw_text(win, y, x, w, down, ROLE_HEALTH_DOWN, 0);
    return true;
}

static void view_overview_sparkline(const int64_t *inflow, size_t n, char *out, size_t size)
{
    static const char *const blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    static const char ascii[] = "_.,:-=+*#";
    bool utf8 = (draw_sanitize_flags() & SANITIZE_ASCII) == 0;
    int64_t max = 0;
    for (size_t i = 0; i < n; i++)
        if (inflow[i] > max)
            max = inflow[i];
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int level = max > 0 ? (int)((inflow[i] * 7 + max - 1) / max) : 0;
        if (inflow[i] == 0)
            level = 0;
        const char *piece;
        char one[2] = {0, 0};
        if (utf8) {
            piece = inflow[i] == 0 ? " " : blocks[level];
        } else {
            one[0] = inflow[i] == 0 ? ' ' : ascii[level + 1];
            piece = one;
        }
        size_t pl = strlen(piece);
        if (len + pl + 1 > size)
            break;
        memcpy(out + len, piece, pl + 1);
        len += pl;
    }
}

static void view_overview_draw(struct view *v, struct tui *t, WINDOW *win, int y, int x, int h,
                               int w)
{
    struct view_overview *o = v->state;
    const struct overview *ov = tui_overview(t);
    const int label = 12;
    int row = y, cw = w - label - 2;
    char a[96], b[64];

    if (ov == NULL) {
        draw_text(win, y + 1, x + 2, w - 2, "collecting", ROLE_DIM, 0);
        return;
    }
    row++;
    draw_text(win, row, x + 1, label, "Sagas", ROLE_TITLE, 0);
    if (!view_overview_down(t, &ov->pg, WORKER_LANE_PG, win, row, x + label + 2, cw))
        draw_printf(win, row, x + label + 2, cw, ROLE_DEFAULT, 0,
                    "running %lld   compensating %lld   failed (24h) %lld",
                    (long long)ov->pgo.sagas_running, (long long)ov->pgo.sagas_compensating,
                    (long long)ov->pgo.sagas_failed_24h);
    row++;
    draw_text(win, row, x + 1, label, "Approvals", ROLE_TITLE, 0);
    if (!view_overview_down(t, &ov->pg, WORKER_LANE_PG, win, row, x + label + 2, cw)) {
        a[0] = '\0';
        if (ov->pgo.approvals_oldest_us > 0)
            snprintf(a, sizeof(a), "   oldest %s",
                     view_overview_age((tui_now_us(t) - ov->pgo.approvals_oldest_us) / 1000, b,
                                       sizeof(b)));
        draw_printf(win, row, x + label + 2, cw,
                    ov->pgo.approvals_overdue > 0 ? ROLE_APPROVAL_OVERDUE : ROLE_DEFAULT, 0,
                    "pending %lld   overdue %lld%s", (long long)ov->pgo.approvals_pending,
                    (long long)ov->pgo.approvals_overdue, a);
    }
    row++;
    draw_text(win, row, x + 1, label, "DLQ", ROLE_TITLE, 0);
    if (!view_overview_down(t, &ov->redis, WORKER_LANE_REDIS, win, row, x + label + 2, cw)) {
        int used =
            draw_printf(win, row, x + label + 2, cw,
                        ov->rdo.dlq_depth > OVERVIEW_DLQ_DEPTH_ALERT ? ROLE_ALERT : ROLE_DEFAULT, 0,
                        "depth %lld   last hour %lld   ", (long long)ov->rdo.dlq_depth,
                        (long long)ov->rdo.dlq_last_hour);
        char spark[WORKER_INFLOW_MINUTES * 4 + 1];
        view_overview_sparkline(tui_inflow(t), WORKER_INFLOW_MINUTES, spark, sizeof(spark));
        int sx = x + label + 2 + used;
        if (cw - used > WORKER_INFLOW_MINUTES + 6) {
            draw_text(win, row, sx, WORKER_INFLOW_MINUTES, spark, ROLE_SPARKLINE, 0);
            draw_text(win, row, sx + WORKER_INFLOW_MINUTES + 1, 6, "/30m", ROLE_DIM, 0);
        }
        row++;
        int rx = x + label + 2;
        int rx_end = x + w;
        rx += draw_text(win, row, rx, rx_end - rx, "top reasons: ", ROLE_DIM, 0);
        if (ov->rdo.nreasons == 0)
            draw_text(win, row, rx, rx_end - rx, "none", ROLE_DIM, 0);
        for (size_t i = 0; i < ov->rdo.nreasons && i < 4 && rx < rx_end - 4; i++) {
            rx +=
                draw_printf(win, row, rx, rx_end - rx, ROLE_DEFAULT, 0, "%s%s %lld", i ? DRAW_DOT : "",
                            ov->rdo.reasons[i].name, (long long)ov->rdo.reasons[i].count);
        }
    }
    row++;
    draw_text(win, row, x + 1, label, "Circuits", ROLE_TITLE, 0);
    if (!view_overview_down(t, &ov->redis, WORKER_LANE_REDIS, win, row, x + label + 2, cw)) {
        if (!ov->rdo.circuits_registry) {
            draw_text(win, row, x + label + 2, cw, "no registry (circuit_breakers:index)", ROLE_DIM,
                      0);
        } else {
            int cx = x + label + 2;
            cx += draw_printf(win, row, cx, cw, ROLE_CIRCUIT_CLOSED, 0, "closed %lld   ",
                              (long long)ov->rdo.circuits_closed);
            cx += draw_printf(win, row, cx, x + w - cx,
                              ov->rdo.circuits_open ? ROLE_CIRCUIT_OPEN : ROLE_DEFAULT, 0,
                              "open %lld   ", (long long)ov->rdo.circuits_open);
            cx += draw_printf(win, row, cx, x + w - cx,
                              ov->rdo.circuits_half_open ? ROLE_CIRCUIT_HALF_OPEN : ROLE_DEFAULT, 0,
                              "half-open %lld   ", (long long)ov->rdo.circuits_half_open);
            draw_printf(win, row, cx, x + w - cx, ROLE_DEFAULT, 0, "forced %lld",
                        (long long)ov->rdo.circuits_forced);
        }
    }
    row++;
    draw_text(win, row, x + 1, label, "Schedules", ROLE_TITLE, 0);
    if (!view_overview_down(t, &ov->pg, WORKER_LANE_PG, win, row, x + label + 2, cw)) {
        int sx = x + label + 2;
        sx += draw_printf(win, row, sx, cw,
                          ov->pgo.schedules_paused ? ROLE_STATUS_WARN : ROLE_DEFAULT, 0,
                          "%lld (%lld paused)   next: ", (long long)ov->pgo.schedules_total,
                          (long long)ov->pgo.schedules_paused);
        const json_t *next = tui_next_runs(t);
        size_t n = json_array_size(next);
        if (n == 0)
            draw_text(win, row, sx, x + w - sx, "none", ROLE_DIM, 0);
        for (size_t i = 0; i < n && sx < x + w - 6; i++) {
            const json_t *r = json_array_get(next, i);
            int64_t at = 0;
            const char *iso = json_string_value(json_object_get(r, "next_run_at"));
            a[0] = '\0';
            if (iso != NULL && time_parse_iso(iso, &at))
                view_overview_clock(at, a, sizeof(a));
            sx += draw_printf(win, row, sx, x + w - sx, ROLE_DEFAULT, 0, "%s%s %s", i ? DRAW_DOT : "",
                              json_string_value(json_object_get(r, "schedule_id"))
                                  ? json_string_value(json_object_get(r, "schedule_id"))
                                  : "?",
                              a);
        }
    }
    row += 2;

    o->nalerts = overview_alerts(ov, o->alerts, VIEW_OVERVIEW_ALERTS);
    if (o->sel >= o->nalerts)
        o->sel = o->nalerts > 0 ? o->nalerts - 1 : 0;
    if (row < y + h) {
        draw_text(win, row, x + 1, w - 2, "Alerts", ROLE_TITLE, 0);
        row++;
    }
    bool partial = ov->pg.status != STATUS_OK || ov->redis.status != STATUS_OK;
    if (partial && row < y + h) {
        /* Say what the alerts cannot know rather than "none". */
        draw_printf(win, row++, x + 3, w - 4, ROLE_HEALTH_DOWN, 0,
                    "alerts cover only what answered: %s has not",
                    ov->pg.status != STATUS_OK && ov->redis.status != STATUS_OK ? "neither store"
                    : ov->pg.status != STATUS_OK                                ? "PostgreSQL"
                                                                                : "Redis");
    } else if (o->nalerts == 0 && row < y + h) {
        draw_text(win, row, x + 3, w - 4, "none: every threshold of seed 000 holds", ROLE_DIM, 0);
    }
    for (size_t i = 0; i < o->nalerts && row < y + h; i++, row++) {
        bool sel = i == o->sel;
        draw_fill(win, row, x + 1, w - 2, sel ? ROLE_SELECTED : ROLE_ALERT);
        draw_printf(win, row, x + 1, w - 2, sel ? ROLE_SELECTED : ROLE_ALERT, 0, "%s %s",
                    sel ? ">" : " ", o->alerts[i].text);
    }
}

static unsigned view_overview_act(struct view *v, struct tui *t, enum keys_action a)
{
    struct view_overview *o = v->state;
    switch (a) {
    case KEYS_UP:
        if (o->sel > 0)
            o->sel--;
        return REACT_REDRAW;
    case KEYS_DOWN:
        if (o->sel + 1 < o->nalerts)
            o->sel++;
        return REACT_REDRAW;
    case KEYS_ENTER:
        if (o->sel >= o->nalerts)
            return REACT_NONE;
        switch (o->alerts[o->sel].kind) {
        case OVERVIEW_ALERT_DLQ_DEPTH:
            tui_switch(t, "dlq", "status=pending_review");
            break;
        case OVERVIEW_ALERT_APPROVAL_AGE:
            tui_switch(t, "approvals", "status=pending");
            break;
        case OVERVIEW_ALERT_CIRCUIT_OPEN:
            tui_switch(t, "circuits", "state=open");
            break;
        case OVERVIEW_ALERT_SCHEMA:
            tui_message(t, false, "run opsdeck migrate to bring the schema up to date");
            break;
        }
        return REACT_REDRAW;
    default:
        return REACT_UNUSED;
    }
}

static bool view_overview_filter(struct view *v, struct tui *t, const char *text)
{
    (void)v;
    if (text != NULL && text[0] != '\0')
        tui_message(t, true, "the Overview has no filter");
    return false;
}

static bool view_overview_uses(const struct view *v, enum worker_lane lane)
{
    (void)v;
    return lane != WORKER_LANE_BOTH;
}

static int view_overview_ticks(const struct view *v)
{
    (void)v;
    return 60;
}

const struct view_ops view_overview_ops = {
    .name = "overview",
    .title = "Overview",
    .short_title = "Ovw",
    .keys = KEYS_VIEW_OVERVIEW,
    .open = view_overview_open,
    .close = view_overview_close,
    .reload = view_overview_refresh,
    .reply = view_overview_reply,
    .draw = view_overview_draw,
    .act = view_overview_act,
    .filter = view_overview_filter,
    .uses = view_overview_uses,
    .ticks = view_overview_ticks,
};
