/* The list views' engine: paging, selection, columns and the detail pane,
 * with every row from the store drawn through tui/draw.c. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/command.h"
#include "core/filter.h"
#include "core/redact.h"
#include "tui/detail.h"
#include "tui/draw.h"
#include "tui/list.h"
#include "tui/tui.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define LIST_SLOT_PAGE     0
#define LIST_SLOT_SHOW     1
#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT     200

enum list_land {
    LIST_LAND_KEEP, /* keep the selected id where it is, or the row index */
    LIST_LAND_FIRST,
    LIST_LAND_LAST,
};

struct list {
    const struct list_spec *spec;
    const struct command *cmd;  /* the list verb */
    const struct command *show; /* its show verb, or NULL */
    struct filter filter;

    json_t *rows; /* the page shown; NULL before the first reply */
    char *next;   /* the next page's cursor */
    char *after;  /* the cursor that produced this page (NULL: first) */
    char **back;  /* cursors of the pages before; entries may be NULL */
    size_t nback;
    enum list_land land;
    enum { LIST_NAV_NONE, LIST_NAV_NEXT, LIST_NAV_PREV } nav; /* a page move under way */
    char *nav_undo; /* NAV_PREV: the cursor to go back to if it fails */

    size_t sel, top;
    char *sel_id;

    bool loading;
    uint64_t seq;
    enum status status; /* of the last fetch */
    struct error err;
    int64_t ok_at_us;  /* when the rows shown were read */
    int list_h;        /* rows drawn last time, for paging */
    size_t page_limit; /* rows per page, fixed when the first page is read, so
                        * the cursors of the pages before stay exact */

    bool wide;         /* drawn side by side last time */
    bool detail_open;  /* narrow: the detail covers the list */
    bool focus_detail; /* wide: keys go to the detail */
    struct detail detail;
    char *shown_id; /* the item the detail holds or waits for */
    uint64_t show_seq;
    bool unmask_wanted; /* the request under show_seq unmasks */
    bool unmasked;      /* the detail shows shown_id unmasked */

    json_t *marks; /* id -> row of every marked row, across pages */
    bool all;      /* every row the filter matches is marked (* twice) */
};

static const char *list_row_id(const struct list *l, const json_t *row)
{
    const json_t *v = json_object_get(row, l->cmd->id_field);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static size_t list_count(const struct list *l)
{
    return l->rows != NULL ? json_array_size(l->rows) : 0;
}

static bool list_detail_visible(const struct list *l)
{
    return l->detail_open || l->wide;
}

void *list_open(struct view *v, struct tui *t)
{
    (void)t;
    struct list *l = xcalloc(1, sizeof(*l));
    l->spec = v->ops->list;
    l->cmd = command_named(l->spec->verb);
    if (l->cmd == NULL)
        abort(); /* a view names a verb that is not in the table: a build error */
    l->show = l->cmd->show != NULL ? command_named(l->cmd->show) : NULL;
    filter_parse(l->cmd, "", &l->filter, &l->err);
    detail_init(&l->detail);
    l->marks = json_object();
    l->list_h = 0;
    return l;
}

static void list_back_clear(struct list *l)
{
    for (size_t i = 0; i < l->nback; i++)
        free(l->back[i]);
    free(l->back);
    l->back = NULL;
    l->nback = 0;
}

void list_close(void *state)
{
    struct list *l = state;
    if (l == NULL)
        return;
    filter_done(&l->filter);
    json_decref(l->rows);
    free(l->next);
    free(l->after);
    free(l->nav_undo);
    list_back_clear(l);
    free(l->sel_id);
    free(l->shown_id);
    json_decref(l->marks);
    detail_done(&l->detail);
    free(l);
}

/* Asks for the page at l->after. quiet: a background refresh of the page
 * shown, which says nothing on the screen while it runs. */
static void list_fetch(struct view *v, struct tui *t, bool quiet)
{
    struct list *l = v->state;
    struct worker_request *req = xcalloc(1, sizeof(*req));
    req->kind = WORKER_FETCH;
    req->slot = v->slot_base + LIST_SLOT_PAGE;
    filter_copy(&req->filter, &l->filter);
    /* A page is two screens of rows (at least LIST_DEFAULT_LIMIT), chosen
     * when the first page is read and kept while paging from it. */
    if (l->page_limit == 0 || (l->after == NULL && l->nback == 0 && !quiet)) {
        size_t want = (size_t)l->list_h * 2;
        l->page_limit = want < LIST_DEFAULT_LIMIT ? LIST_DEFAULT_LIMIT
                        : want > LIST_MAX_LIMIT   ? LIST_MAX_LIMIT
                                                  : want;
    }
    size_t limit = l->page_limit;
    req->limit = limit;
    req->after = l->after != NULL ? xstrdup(l->after) : NULL;
    l->seq = tui_submit(t, l->spec->lane, req);
    l->loading = !quiet || l->rows == NULL;
}

static void list_show(struct view *v, struct tui *t, bool again)
{
    struct list *l = v->state;
    if (l->sel_id == NULL) {
        /* Nothing selected (an empty page): the detail shows nothing. */
        if (l->shown_id != NULL || l->detail.item != NULL) {
            free(l->shown_id);
            l->shown_id = NULL;
            l->show_seq = 0;
            detail_set(&l->detail, NULL, NULL);
        }
        return;
    }
    bool same = l->shown_id != NULL && strcmp(l->shown_id, l->sel_id) == 0;
    if (same && (!again || l->unmasked || l->unmask_wanted))
        return; /* an unmasked item stays as it is until the detail closes */
    l->unmasked = false;
    l->unmask_wanted = false;
    free(l->shown_id);
    l->shown_id = xstrdup(l->sel_id);
    if (l->show == NULL) {
        /* No show verb (the audit log): the row is the whole item. */
        const json_t *row = json_array_get(l->rows, l->sel);
        detail_set(&l->detail, l->shown_id, redact_copy(tui_redact(t), row, NULL));
        return;
    }
    struct worker_request *req = xcalloc(1, sizeof(*req));
    req->kind = WORKER_SHOW;
    req->slot = v->slot_base + LIST_SLOT_SHOW;
    req->show = l->show;
    req->id = xstrdup(l->sel_id);
    l->show_seq = tui_submit(t, l->spec->lane, req);
}

void list_refresh(struct view *v, struct tui *t)
{
    struct list *l = v->state;
    list_fetch(v, t, true);
    if (l->shown_id != NULL && list_detail_visible(l))
        list_show(v, t, true);
}

static void list_select(struct list *l, size_t i)
{
    size_t n = list_count(l);
    l->sel = n == 0 ? 0 : (i < n ? i : n - 1);
    free(l->sel_id);
    const char *id = n > 0 ? list_row_id(l, json_array_get(l->rows, l->sel)) : NULL;
    l->sel_id = id != NULL ? xstrdup(id) : NULL;
}

/* The text of a cell before sanitizing: into buf, or a borrowed string. */
static const char *list_cell(const struct list_col *c, const json_t *row, int64_t now_us, char *buf,
                             size_t size, char **heap)
{
    const json_t *v = json_object_get(row, c->field);
    *heap = NULL;
    if (v == NULL || json_is_null(v))
        return "-";
    switch (c->kind) {
    case LIST_TIME:
    case LIST_DUE: {
        int64_t us;
        if (!json_is_string(v) || !time_parse_iso(json_string_value(v), &us))
            break;
        const char *status = json_string_value(json_object_get(row, "status"));
        if (c->kind == LIST_DUE && (status == NULL || strcmp(status, "pending") == 0)) {
            char span[32];
            int64_t d = (us - now_us) / 1000;
            if (d >= 0)
                snprintf(buf, size, "in %s", time_format_span(d, span, sizeof(span)));
            else
                snprintf(buf, size, "overdue %s", time_format_span(-d, span, sizeof(span)));
            return buf;
        }
        time_t secs = (time_t)(us / 1000000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(buf, size, "%m-%d %H:%M:%S", &tm);
        return buf;
    }
    case LIST_INT:
        if (json_is_integer(v)) {
            snprintf(buf, size, "%lld", (long long)json_integer_value(v));
            return buf;
        }
        break;
    case LIST_RATE:
        if (json_is_number(v)) {
            double r = json_number_value(v);
            snprintf(buf, size, "%.0f%%", r <= 1.0 ? r * 100.0 : r);
            return buf;
        }
        break;
    case LIST_TEXT:
        break;
    }
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_true(v))
        return "yes";
    if (json_is_false(v))
        return "no";
    *heap = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    return *heap != NULL ? *heap : "?";
}

unsigned list_reply(struct view *v, struct tui *t, struct worker_reply *r)
{
    struct list *l = v->state;
    unsigned slot = r->slot - v->slot_base;

    if (slot == LIST_SLOT_PAGE) {
        if (r->seq != l->seq)
            return REACT_NONE;
        l->loading = false;
        l->status = r->status;
        l->err = r->err;
        if (r->status != STATUS_OK) {
            /* A page move that failed leaves the cursors where the rows on
             * the screen came from. */
            if (l->nav == LIST_NAV_NEXT && l->nback > 0) {
                free(l->after);
                l->after = l->back[--l->nback];
            } else if (l->nav == LIST_NAV_PREV) {
                l->back = xrealloc(l->back, (l->nback + 1) * sizeof(*l->back));
                l->back[l->nback++] = l->after;
                l->after = l->nav_undo;
                l->nav_undo = NULL;
            }
            l->nav = LIST_NAV_NONE;
            if (r->status == STATUS_USAGE && v == tui_current(t))
                tui_message(t, true, "%s", r->err.msg);
            l->land = LIST_LAND_KEEP;
            return REACT_REDRAW;
        }
        l->nav = LIST_NAV_NONE;
        free(l->nav_undo);
        l->nav_undo = NULL;
        json_decref(l->rows);
        l->rows = r->rows;
        r->rows = NULL;
        free(l->next);
        l->next = r->next;
        r->next = NULL;
        l->ok_at_us = tui_now_us(t);

        size_t n = list_count(l), keep = l->sel;
        if (l->land == LIST_LAND_FIRST) {
            keep = 0;
        } else if (l->land == LIST_LAND_LAST) {
            keep = n > 0 ? n - 1 : 0;
        } else if (l->sel_id != NULL) {
            for (size_t i = 0; i < n; i++) {
                const char *id = list_row_id(l, json_array_get(l->rows, i));
                if (id != NULL && strcmp(id, l->sel_id) == 0) {
                    /* The window stays where it is, so rows that came in
                     * above show; drawing scrolls only if the selected
                     * row would leave it. */
                    keep = i;
                    break;
                }
            }
        }
        l->land = LIST_LAND_KEEP;
        list_select(l, keep);
        if (list_detail_visible(l))
            list_show(v, t, false);
        return REACT_REDRAW;
    }
    if (slot == LIST_SLOT_SHOW) {
        if (r->seq != l->show_seq)
            return REACT_NONE;
        json_t *item;
        bool unmasked = l->unmask_wanted && r->status == STATUS_OK;
        l->unmask_wanted = false;
        if (unmasked) {
            /* The worker recorded who saw it before it returned the item. */
            item = json_incref(r->item);
            l->unmasked = true;
            tui_message(t, false,
                        "%s unmasked until the detail closes; recorded in the audit "
                        "trail",
                        l->shown_id);
        } else if (r->status == STATUS_OK) {
            item = redact_copy(tui_redact(t), r->item, NULL);
        } else {
            char down[1024] = "";
            if (r->status == STATUS_UNAVAILABLE)
                tui_down_text(t, l->spec->lane, down, sizeof(down));
            const char *why = down[0] ? down : r->err.msg;
            /* Cut text may end inside a character: the sanitizer shows it. */
            item = json_object();
            json_object_set_new(item, "error", json_stringn_nocheck(why, strlen(why)));
        }
        detail_set(&l->detail, l->shown_id, item);
        return REACT_REDRAW;
    }
    return REACT_NONE;
}

static void list_page_next(struct view *v, struct tui *t)
{
    struct list *l = v->state;
    if (l->next == NULL || l->loading)
        return;
    l->back = xrealloc(l->back, (l->nback + 1) * sizeof(*l->back));
    l->back[l->nback++] = l->after;
    l->after = xstrdup(l->next);
    l->nav = LIST_NAV_NEXT;
    l->land = LIST_LAND_FIRST;
    l->top = 0;
    list_fetch(v, t, false);
}

static void list_page_prev(struct view *v, struct tui *t)
{
    struct list *l = v->state;
    if (l->nback == 0 || l->loading)
        return;
    free(l->nav_undo);
    l->nav_undo = l->after;
    l->after = l->back[--l->nback];
    l->nav = LIST_NAV_PREV;
    l->land = LIST_LAND_LAST;
    list_fetch(v, t, false);
}

static void list_nav_clear(struct list *l)
{
    l->nav = LIST_NAV_NONE;
    free(l->nav_undo);
    l->nav_undo = NULL;
}

static void list_page_first(struct view *v, struct tui *t)
{
    struct list *l = v->state;
    list_nav_clear(l);
    list_back_clear(l);
    free(l->after);
    l->after = NULL;
    l->land = LIST_LAND_FIRST;
    l->top = 0;
    list_fetch(v, t, false);
}

unsigned list_key_groups(const struct view *v)
{
    const struct list *l = v->state;
    unsigned g = KEYS_VIEW_LIST;
    if (l != NULL && (l->detail_open || l->focus_detail))
        g = KEYS_VIEW_DETAIL;
    return g;
}

const char *list_filter_text(const struct view *v)
{
    const struct list *l = v->state;
    return l != NULL && l->filter.text != NULL ? l->filter.text : "";
}

unsigned list_act(struct view *v, struct tui *t, enum keys_action a)
{
    struct list *l = v->state;
    size_t n = list_count(l), h = l->list_h > 1 ? (size_t)l->list_h : 1;

    /* An open detail takes the movement keys. */
    if (l->detail_open || l->focus_detail) {
        int key = 0;
        switch (a) {
        case KEYS_UP:
            key = KEY_UP;
            break;
        case KEYS_DOWN:
            key = KEY_DOWN;
            break;
        case KEYS_PAGE_UP:
            key = KEY_PPAGE;
            break;
        case KEYS_PAGE_DOWN:
            key = KEY_NPAGE;
            break;
        case KEYS_TOP:
            key = 'g';
            break;
        case KEYS_BOTTOM:
            key = 'G';
            break;
        case KEYS_ENTER:
            key = '\n';
            break;
        default:
            break;
        }
        if (key != 0)
            return detail_key(&l->detail, key, (int)h) ? REACT_REDRAW : REACT_NONE;
        if (a == KEYS_BACK || a == KEYS_QUIT) {
            l->detail_open = false;
            l->focus_detail = false;
            if (l->unmasked || l->unmask_wanted) {
                /* Closed: the unmasked item goes (or will not come); a
                 * next look is masked. */
                l->unmasked = false;
                l->unmask_wanted = false;
                l->show_seq = 0;
                free(l->shown_id);
                l->shown_id = NULL;
                detail_set(&l->detail, NULL, NULL);
                if (l->wide)
                    list_show(v, t, false);
            }
            return REACT_REDRAW;
        }
        if (a == KEYS_UNMASK) {
            if (l->show == NULL || l->show->fetch_unmasked == NULL || l->shown_id == NULL) {
                tui_message(t, true, "this detail cannot be unmasked");
                return REACT_REDRAW;
            }
            struct worker_request *req = xcalloc(1, sizeof(*req));
            req->kind = WORKER_SHOW;
            req->slot = v->slot_base + LIST_SLOT_SHOW;
            req->show = l->show;
            req->id = xstrdup(l->shown_id);
            req->unmask = true;
            l->unmask_wanted = true;
            l->show_seq = tui_submit(t, l->spec->lane, req);
            return REACT_REDRAW;
        }
        if (a == KEYS_FOCUS && !l->detail_open) {
            l->focus_detail = false;
            return REACT_REDRAW;
        }
        return REACT_UNUSED;
    }

    switch (a) {
    case KEYS_UP:
        if (l->sel > 0)
            list_select(l, l->sel - 1);
        else
            list_page_prev(v, t);
        break;
    case KEYS_DOWN:
        if (l->sel + 1 < n)
            list_select(l, l->sel + 1);
        else
            list_page_next(v, t);
        break;
    case KEYS_PAGE_DOWN:
        if (l->sel + h < n)
            list_select(l, l->sel + h);
        else if (n > 0 && l->sel + 1 < n)
            list_select(l, n - 1);
        else
            list_page_next(v, t);
        break;
    case KEYS_PAGE_UP:
        if (l->sel >= h)
            list_select(l, l->sel - h);
        else if (l->sel > 0)
            list_select(l, 0);
        else
            list_page_prev(v, t);
        break;
    case KEYS_TOP:
        if (l->after != NULL || l->nback > 0)
            list_page_first(v, t);
        else
            list_select(l, 0);
        break;
    case KEYS_BOTTOM:
        if (n > 0)
            list_select(l, n - 1);
        if (l->next != NULL)
            tui_message(t, false, "last row of this page; PgDn or j reads the next page");
        break;
    case KEYS_ENTER:
        if (l->sel_id == NULL)
            return REACT_NONE;
        l->detail_open = true;
        list_show(v, t, false);
        break;
    case KEYS_FOCUS:
        if (!l->wide) {
            tui_message(t, false, "the detail is beside the list from %d columns; Enter opens it",
                        LIST_WIDE_COLS);
            return REACT_REDRAW;
        }
        if (l->detail.item == NULL)
            return REACT_NONE;
        l->focus_detail = true;
        break;
    case KEYS_BACK:
        if (l->all) {
            l->all = false;
            json_object_clear(l->marks);
            tui_message(t, false, "marks cleared");
            break;
        }
        if (json_object_size(l->marks) > 0) {
            tui_message(t, false, "%zu mark%s cleared", json_object_size(l->marks),
                        json_object_size(l->marks) == 1 ? "" : "s");
            json_object_clear(l->marks);
            break;
        }
        if (l->filter.text == NULL || l->filter.text[0] == '\0')
            return REACT_UNUSED;
        list_filter(v, t, "");
        break;
    case KEYS_MARK:
        if (l->sel_id == NULL)
            return REACT_NONE;
        if (l->all) {
            /* From everything matching back to the rows at hand. */
            l->all = false;
            for (size_t i = 0; i < n; i++) {
                const char *id = list_row_id(l, json_array_get(l->rows, i));
                if (id != NULL)
                    json_object_set(l->marks, id, json_array_get(l->rows, i));
            }
        }
        if (json_object_get(l->marks, l->sel_id) != NULL)
            json_object_del(l->marks, l->sel_id);
        else
            json_object_set(l->marks, l->sel_id, json_array_get(l->rows, l->sel));
        if (l->sel + 1 < n)
            list_select(l, l->sel + 1);
        break;
    case KEYS_MARK_ALL: {
        /* Once: the rows at hand. Again, when they are all marked: every
         * row the filter matches, however many pages (an action counts
         * them with the store first). */
        size_t before = json_object_size(l->marks);
        for (size_t i = 0; i < n; i++) {
            const char *id = list_row_id(l, json_array_get(l->rows, i));
            if (id != NULL)
                json_object_set(l->marks, id, json_array_get(l->rows, i));
        }
        if (n > 0 && !l->all && json_object_size(l->marks) == before) {
            l->all = true;
            tui_message(t, false,
                        "every row the filter matches is marked; an action counts them "
                        "first; Esc clears");
        } else if (!l->all) {
            tui_message(t, false,
                        "%zu marked; * again marks every row the filter matches, Esc "
                        "clears",
                        json_object_size(l->marks));
        }
        break;
    }
    default:
        return REACT_UNUSED;
    }
    if (list_detail_visible(l))
        list_show(v, t, false);
    return REACT_REDRAW;
}

bool list_filter(struct view *v, struct tui *t, const char *text)
{
    struct list *l = v->state;
    struct filter f;
    struct error err = {STATUS_OK, ""};
    if (filter_parse(l->cmd, text != NULL ? text : "", &f, &err) != STATUS_OK) {
        tui_message(t, true, "%s", err.msg);
        return false;
    }
    filter_done(&l->filter);
    l->filter = f;
    l->all = false; /* that was another filter's matches */
    list_page_first(v, t);
    return true;
}

bool list_uses(const struct view *v, enum worker_lane lane)
{
    const struct list *l = v->state;
    return l->spec->lane == lane || l->spec->lane == WORKER_LANE_BOTH;
}

int list_ticks(const struct view *v)
{
    return v->ops->list->ticks;
}

/* Which columns fit in width: every column with min_screen 0 (narrowing
 * the widest text columns when they do not fit), then the optional ones
 * that fit whole, in order; the last shown column takes what is left. */
static void list_layout(const struct list_spec *s, int width, int *widths)
{
    int used = 1; /* the mark column */
    for (size_t i = 0; i < s->ncols; i++) {
        widths[i] = s->cols[i].min_screen == 0 ? s->cols[i].width : 0;
        used += widths[i] > 0 ? widths[i] + 1 : 0;
    }
    while (used > width) {
        size_t widest = s->ncols;
        for (size_t i = 0; i < s->ncols; i++)
            if (widths[i] > 6 && s->cols[i].kind == LIST_TEXT &&
                (widest == s->ncols || widths[i] > widths[widest]))
                widest = i;
        if (widest == s->ncols)
            break;
        widths[widest]--;
        used--;
    }
    for (size_t i = 0; i < s->ncols; i++) {
        if (widths[i] > 0 || s->cols[i].min_screen > width || used + s->cols[i].width + 1 > width)
            continue;
        widths[i] = s->cols[i].width;
        used += widths[i] + 1;
    }
    for (size_t i = s->ncols; i-- > 0;) {
        if (widths[i] > 0) {
            widths[i] += width - used;
            if (widths[i] < 1)
                widths[i] = 1;
            break;
        }
    }
}

static void list_draw_status(struct list *l, struct tui *t, WINDOW *win, int y, int x, int w)
{
    char left[768], right[96];
    size_t n = list_count(l);
    if (l->status != STATUS_OK && l->status != STATUS_USAGE) {
        char down[512];
        if (l->status == STATUS_UNAVAILABLE)
            tui_down_text(t, l->spec->lane, down, sizeof(down));
        else
            snprintf(down, sizeof(down), "%s", l->err.msg);
        if (l->rows != NULL) {
            char at[32];
            time_t secs = (time_t)(l->ok_at_us / 1000000);
            struct tm tm;
            gmtime_r(&secs, &tm);
            strftime(at, sizeof(at), "%H:%M:%S", &tm);
            draw_printf(win, y, x, w, ROLE_HEALTH_DOWN, DRAW_PAD, "%s; rows below are from %s",
                        down, at);
        } else {
            draw_text(win, y, x, w, down, ROLE_HEALTH_DOWN, DRAW_PAD);
        }
        return;
    }
    const char *ft = l->filter.text != NULL && l->filter.text[0] ? l->filter.text : NULL;
    if (l->rows == NULL)
        snprintf(left, sizeof(left), "%s%s", l->loading ? "loading" : "",
                 l->loading ? DRAW_ELLIPSIS : "");
    else
        snprintf(left, sizeof(left), "%zu row%s%s%s%s%s%s%s%s", n, n == 1 ? "" : "s",
                 ft ? DRAW_DOT : "", ft ? "filter: " : "", ft ? ft : "", l->loading ? DRAW_DOT : "",
                 l->loading ? "loading" : "", l->all ? DRAW_DOT : "",
                 l->all ? (ft ? "all matching marked" : "all marked") : "");
    snprintf(right, sizeof(right), "%s%zu%s", l->nback > 0 || l->next ? "page " : "", l->nback + 1,
             l->next != NULL ? DRAW_MORE : "");
    if (l->nback == 0 && l->next == NULL)
        right[0] = '\0';
    int rw = draw_width(right);
    draw_text(win, y, x, w - rw - 1, left, ROLE_DIM, DRAW_PAD);
    draw_text(win, y, x + w - rw - 1, rw + 1, right, ROLE_DIM, DRAW_PAD | DRAW_RIGHT);
}

void list_draw(struct view *v, struct tui *t, WINDOW *win, int y, int x, int h, int w)
{
    struct list *l = v->state;
    const struct list_spec *s = l->spec;
    bool wide = w >= LIST_WIDE_COLS;
    int64_t now = tui_now_us(t);

    if (wide && !l->wide && l->sel_id != NULL) {
        /* Grown to side by side: the detail follows the selection from now
         * on, so its item is asked for here, once. */
        l->wide = true;
        list_show(v, t, false);
    }
    l->wide = wide;
    if (!wide)
        l->focus_detail = false;
    if (!wide && l->detail_open) {
        list_draw_status(l, t, win, y, x, w);
        detail_draw(&l->detail, win, y + 1, x, h - 1, w);
        return;
    }
    int lw = wide ? w * 11 / 20 : w;
    list_draw_status(l, t, win, y, x, lw);
    l->list_h = h - 2 > 1 ? h - 2 : 1;

    int widths[32];
    list_layout(s, lw, widths);
    int cx = x + 1;
    draw_fill(win, y + 1, x, lw, ROLE_TITLE);
    for (size_t c = 0; c < s->ncols; c++) {
        if (widths[c] == 0)
            continue;
        draw_text(win, y + 1, cx, widths[c], s->cols[c].title, ROLE_TITLE,
                  s->cols[c].kind == LIST_INT ? DRAW_RIGHT | DRAW_PAD : DRAW_PAD);
        cx += widths[c] + 1;
    }

    size_t n = list_count(l), rows_h = (size_t)l->list_h;
    if (l->sel < l->top)
        l->top = l->sel;
    if (l->sel >= l->top + rows_h)
        l->top = l->sel - rows_h + 1;
    if (l->top + rows_h > n)
        l->top = n > rows_h ? n - rows_h : 0;
    if (n == 0 && l->rows != NULL && l->status == STATUS_OK) {
        draw_text(win, y + 3, x + 2, lw - 2, s->empty, ROLE_DIM, 0);
        if (l->filter.text != NULL && l->filter.text[0])
            draw_text(win, y + 4, x + 2, lw - 2, "(filtered; Esc clears the filter)", ROLE_DIM, 0);
    }
    bool stale = l->status != STATUS_OK && l->status != STATUS_USAGE;
    for (size_t i = 0; i < rows_h && l->top + i < n; i++) {
        const json_t *row = json_array_get(l->rows, l->top + i);
        bool selected = l->top + i == l->sel;
        const char *rid = list_row_id(l, row);
        bool marked = l->all || (rid != NULL && json_object_get(l->marks, rid) != NULL);
        enum theme_role rr = s->row_role != NULL ? s->row_role(row, now) : ROLE_DEFAULT;
        if (stale)
            rr = ROLE_STALE;
        if (marked)
            rr = ROLE_MARKED;
        if (selected)
            rr = ROLE_SELECTED;
        int ry = y + 2 + (int)i;
        draw_fill(win, ry, x, lw, rr);
        if (marked)
            draw_text(win, ry, x, 1, "*", rr, 0);
        cx = x + 1;
        for (size_t c = 0; c < s->ncols; c++) {
            if (widths[c] == 0)
                continue;
            char buf[96], *heap;
            const char *text = list_cell(&s->cols[c], row, now, buf, sizeof(buf), &heap);
            enum theme_role cr = rr;
            if (!selected && !stale && s->cell_role != NULL) {
                enum theme_role x2 = s->cell_role(&s->cols[c], row, now);
                if (x2 != ROLE_COUNT)
                    cr = x2;
            }
            draw_text(win, ry, cx, widths[c], text, cr,
                      s->cols[c].kind == LIST_INT || s->cols[c].kind == LIST_RATE
                          ? DRAW_RIGHT | DRAW_PAD
                          : DRAW_PAD);
            free(heap);
            cx += widths[c] + 1;
        }
    }
    if (wide) {
        for (int i = 0; i < h; i++)
            mvwaddch(win, y + i, x + lw, ACS_VLINE | draw_attr(ROLE_BORDER));
        int dx = x + lw + 1, dw = w - lw - 1;
        if (l->detail.item != NULL || l->detail.title != NULL)
            detail_draw(&l->detail, win, y, dx, h, dw);
        else
            draw_text(win, y + 1, dx + 1, dw - 1, n > 0 ? "loading the detail" : "", ROLE_DIM, 0);
    }
}

json_t *list_targets(const struct view *v, bool *marked)
{
    const struct list *l = v->state;
    json_t *out = json_array();
    *marked = json_object_size(l->marks) > 0;
    if (*marked) {
        const char *id;
        json_t *row;
        json_object_foreach(l->marks, id, row) json_array_append(out, row);
    } else if (l->sel_id != NULL) {
        json_array_append(out, json_array_get(l->rows, l->sel));
    }
    return out;
}

void list_marks_clear(struct view *v)
{
    struct list *l = v->state;
    json_object_clear(l->marks);
    l->all = false;
}

const struct filter *list_view_filter(const struct view *v)
{
    const struct list *l = v->state;
    return &l->filter;
}

const struct filter *list_all_matching(const struct view *v)
{
    const struct list *l = v->state;
    return l->all ? &l->filter : NULL;
}

const char *list_id_field(const struct view *v)
{
    const struct list *l = v->state;
    return l->cmd->id_field;
}

const json_t *list_detail_item(const struct view *v)
{
    const struct list *l = v->state;
    if (l->detail.item == NULL || l->shown_id == NULL || l->sel_id == NULL ||
        strcmp(l->shown_id, l->sel_id) != 0)
        return NULL;
    return l->detail.item;
}

const json_t *list_selected_row(const struct view *v)
{
    const struct list *l = v->state;
    return l->sel_id != NULL ? json_array_get(l->rows, l->sel) : NULL;
}
