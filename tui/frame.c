/* The frame: header, tabs, hints, help and the too-small screen. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "tui/draw.h"
#include "tui/frame.h"
#include "tui/keys.h"

void frame_header(WINDOW *w, int width, const char *profile, const char *operator_,
                  const char *mode, const struct frame_health *health, size_t nhealth)
{
    draw_fill(w, 0, 0, width, ROLE_HEADER);
    int right = width;
    for (size_t i = nhealth; i-- > 0;) {
        char part[160];
        snprintf(part, sizeof(part), "%s %s", health[i].name, health[i].text);
        int pw = draw_width(part);
        if (right - pw - 2 < 20)
            break;
        right -= pw + 1;
        draw_text(w, 0, right, pw, part, health[i].role, 0);
        right -= 1;
    }
    draw_printf(w, 0, 1, right - 2, ROLE_HEADER, 0, "opsdeck%s%s%s%s%s%s", DRAW_DOT, profile,
                DRAW_DOT, operator_, mode != NULL ? DRAW_DOT : "", mode != NULL ? mode : "");
}

/* A badge as the tab shows it: " 7", " 12k", " 3M"; "" when none. */
static void frame_badge(int64_t b, char *buf, size_t size)
{
    if (b <= 0)
        buf[0] = '\0';
    else if (b >= 1000000)
        snprintf(buf, size, " %lldM", (long long)(b / 1000000));
    else if (b >= 10000)
        snprintf(buf, size, " %lldk", (long long)(b / 1000));
    else
        snprintf(buf, size, " %lld", (long long)b);
}

/* The columns the tabs take, drawn as frame_tabs draws them. */
static int frame_tabs_width(const struct frame_tab *tabs, size_t n, bool shortt)
{
    int total = 0;
    for (size_t i = 0; i < n; i++) {
        char head[96], badge[32];
        snprintf(head, sizeof(head), " %zu %s", i + 1,
                 shortt ? tabs[i].short_title : tabs[i].title);
        frame_badge(tabs[i].badge, badge, sizeof(badge));
        total += draw_width(head) + (int)strlen(badge) + 2;
    }
    return total;
}

void frame_tabs(WINDOW *w, int y, int width, const struct frame_tab *tabs, size_t n, size_t cur)
{
    bool shortt = frame_tabs_width(tabs, n, false) > width;
    int x = 0;
    draw_fill(w, y, 0, width, ROLE_TAB);
    for (size_t i = 0; i < n && x < width; i++) {
        enum theme_role role = i == cur ? ROLE_TAB_ACTIVE : ROLE_TAB;
        char badge[32];
        x += draw_printf(w, y, x, width - x, role, 0, " %zu %s", i + 1,
                         shortt ? tabs[i].short_title : tabs[i].title);
        frame_badge(tabs[i].badge, badge, sizeof(badge));
        if (badge[0] != '\0' && x < width)
            x += draw_text(w, y, x, width - x, badge, tabs[i].alert ? ROLE_BADGE_ALERT : ROLE_BADGE,
                           0);
        if (x < width)
            x += draw_text(w, y, x, width - x, " ", role, 0);
        x += 1;
    }
}

/* The actions the hint bar names, per context, in order. */
static const enum keys_action frame_hint_list[] = {
    KEYS_ENTER, KEYS_FILTER, KEYS_COMMAND, KEYS_NEXT_VIEW, KEYS_REFRESH, KEYS_HELP, KEYS_QUIT,
};
static const enum keys_action frame_hint_detail[] = {
    KEYS_DOWN, KEYS_ENTER, KEYS_BACK, KEYS_FOCUS, KEYS_HELP,
};
static const enum keys_action frame_hint_overview[] = {
    KEYS_DOWN, KEYS_ENTER, KEYS_NEXT_VIEW, KEYS_COMMAND, KEYS_HELP, KEYS_QUIT,
};

static const char *frame_hint_word(enum keys_action a)
{
    switch (a) {
    case KEYS_ENTER:
        return "detail";
    case KEYS_FILTER:
        return "filter";
    case KEYS_COMMAND:
        return "command";
    case KEYS_NEXT_VIEW:
        return "view";
    case KEYS_REFRESH:
        return "refresh";
    case KEYS_HELP:
        return "help";
    case KEYS_QUIT:
        return "quit";
    case KEYS_DOWN:
        return "move";
    case KEYS_BACK:
        return "back";
    case KEYS_FOCUS:
        return "list/detail";
    default:
        return keys_action_help(a);
    }
}

void frame_hints(WINDOW *w, int y, int width, unsigned groups, const char *view, bool read_only)
{
    const enum keys_action *list = frame_hint_list;
    size_t n = sizeof(frame_hint_list) / sizeof(frame_hint_list[0]);
    if (groups & KEYS_VIEW_DETAIL) {
        list = frame_hint_detail;
        n = sizeof(frame_hint_detail) / sizeof(frame_hint_detail[0]);
    } else if (groups & KEYS_VIEW_OVERVIEW) {
        list = frame_hint_overview;
        n = sizeof(frame_hint_overview) / sizeof(frame_hint_overview[0]);
    }
    draw_fill(w, y, 0, width, ROLE_HINT);
    int x = 0;
    /* The view's actions first: they are what the operator came for. */
    size_t nv;
    const struct keys_verb *verbs = keys_verbs(&nv);
    for (size_t i = 0; i < nv && !(groups & KEYS_VIEW_DETAIL); i++) {
        if (strcmp(verbs[i].view, view) != 0 || (read_only && keys_verb_writes(&verbs[i])))
            continue;
        const char *word = strrchr(verbs[i].verb, ' ');
        word = word != NULL ? word + 1 : verbs[i].verb;
        int need = draw_width(verbs[i].label) + 1 + draw_width(word) + 2;
        if (x + need > width)
            break;
        x += draw_text(w, y, x + 1, width - x - 1, verbs[i].label, ROLE_HINT_KEY, 0) + 1;
        x += draw_text(w, y, x + 1, width - x - 1, word, ROLE_HINT, 0) + 2;
    }
    for (size_t i = 0; i < n && x < width; i++) {
        char labels[64];
        keys_labels(list[i], groups, labels, sizeof(labels));
        if (labels[0] == '\0')
            continue;
        char *comma = strchr(labels, ',');
        if (comma != NULL)
            *comma = '\0';
        const char *word = frame_hint_word(list[i]);
        if (list[i] == KEYS_ENTER && (groups & KEYS_VIEW_OVERVIEW))
            word = "go to alert";
        if (list[i] == KEYS_ENTER && (groups & KEYS_VIEW_DETAIL))
            word = "fold";
        int need = draw_width(labels) + 1 + draw_width(word) + 2;
        if (x + need > width)
            break;
        x += draw_text(w, y, x + 1, width - x - 1, labels, ROLE_HINT_KEY, 0) + 1;
        x += draw_text(w, y, x + 1, width - x - 1, word, ROLE_HINT, 0) + 2;
    }
}

void frame_help(WINDOW *w, int y, int h, int width, unsigned groups, const char *view_title,
                const char *view, const char *read_only, size_t *top)
{
    /* Lay the help out as lines first, then show the window of them. */
    char lines[96][192];
    enum theme_role roles[96];
    size_t n = 0;

    snprintf(lines[n], sizeof(lines[n]), "Keys in %s (Esc, q or ? closes; j/k scroll)", view_title);
    roles[n++] = ROLE_TITLE;
    for (int a = KEYS_UP; a < KEYS_ACTION_COUNT && n < 80; a++) {
        char labels[96];
        keys_labels((enum keys_action)a, groups, labels, sizeof(labels));
        if (labels[0] == '\0')
            continue;
        snprintf(lines[n], sizeof(lines[n]), "  %-22s %s", labels,
                 keys_action_help((enum keys_action)a));
        roles[n++] = ROLE_DEFAULT;
    }
    size_t nv;
    const struct keys_verb *verbs = keys_verbs(&nv);
    bool any = false;
    for (size_t i = 0; i < nv && n < 88; i++) {
        if (strcmp(verbs[i].view, view) != 0 || (read_only != NULL && keys_verb_writes(&verbs[i])))
            continue;
        if (!any) {
            snprintf(lines[n], sizeof(lines[n]), " ");
            roles[n++] = ROLE_DEFAULT;
            snprintf(lines[n], sizeof(lines[n]),
                     "Actions (a dialog says what will happen; Space marks rows for bulk ones)");
            roles[n++] = ROLE_TITLE;
            any = true;
        }
        char keys[48];
        snprintf(keys, sizeof(keys), "%s, :%s", verbs[i].label, keys_verb_word(&verbs[i]));
        snprintf(lines[n], sizeof(lines[n]), "  %-22s %s: opsdeck %s%s", keys, verbs[i].title,
                 verbs[i].verb, verbs[i].bulk ? " (marked rows too)" : "");
        roles[n++] = ROLE_DEFAULT;
    }
    if (read_only != NULL) {
        snprintf(lines[n], sizeof(lines[n]), " ");
        roles[n++] = ROLE_DEFAULT;
        snprintf(lines[n], sizeof(lines[n]), "Keys that change a store are off: %s.", read_only);
        roles[n++] = ROLE_DIM;
    }
    snprintf(lines[n], sizeof(lines[n]), " ");
    roles[n++] = ROLE_DEFAULT;
    snprintf(lines[n], sizeof(lines[n]), "Commands (type : then the command; Tab completes)");
    roles[n++] = ROLE_TITLE;
    size_t nc;
    const struct keys_command *cmds = keys_commands(&nc);
    for (size_t i = 0; i < nc && n < 96; i++) {
        char left[64];
        snprintf(left, sizeof(left), ":%s%s%s", cmds[i].name, cmds[i].args[0] ? " " : "",
                 cmds[i].args);
        snprintf(lines[n], sizeof(lines[n]), "  %-22s %s", left, cmds[i].help);
        roles[n++] = ROLE_DEFAULT;
    }
    if (*top + (size_t)h > n)
        *top = n > (size_t)h ? n - (size_t)h : 0;
    for (int i = 0; i < h; i++) {
        size_t k = *top + (size_t)i;
        draw_fill(w, y + i, 0, width, ROLE_DEFAULT);
        if (k < n)
            draw_text(w, y + i, 1, width - 2, lines[k], roles[k], 0);
    }
}

void frame_too_small(WINDOW *w, int rows, int cols)
{
    werase(w);
    char msg[96];
    snprintf(msg, sizeof(msg), "Terminal too small: %dx%d", cols, rows);
    char need[96];
    snprintf(need, sizeof(need), "opsdeck needs %dx%d; q quits", FRAME_MIN_COLS, FRAME_MIN_ROWS);
    int y = rows / 2 - 1;
    if (y < 0)
        y = 0;
    draw_text(w, y, 0, cols, msg, ROLE_DEFAULT, 0);
    if (y + 1 < rows)
        draw_text(w, y + 1, 0, cols, need, ROLE_DIM, 0);
}
