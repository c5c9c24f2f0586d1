/* Themes: the code names roles, a theme file maps each role to a colour
 * pair and attributes. Parsing is pure (no curses), so it is unit-tested;
 * tui/draw.c applies a parsed theme to the terminal. */
#ifndef OPSDECK_TUI_THEME_H
#define OPSDECK_TUI_THEME_H

#include <stdbool.h>
#include <stddef.h>

#include "util/status.h"

/* X(ID, name in theme files, what it is for) */
#define THEME_ROLES(X)                                                                             \
    X(DEFAULT, "default", "ordinary text")                                                         \
    X(HEADER, "header", "the header line")                                                         \
    X(TAB, "tab", "a view tab")                                                                    \
    X(TAB_ACTIVE, "tab_active", "the current view's tab")                                          \
    X(BADGE, "badge", "a count on a tab")                                                          \
    X(BADGE_ALERT, "badge_alert", "a count on a tab past its alert threshold")                     \
    X(TITLE, "title", "column titles and section headings")                                        \
    X(SELECTED, "selected", "the selected row")                                                    \
    X(MARKED, "marked", "a marked row")                                                            \
    X(DIM, "dim", "secondary text: times, ids, hints")                                             \
    X(BORDER, "border", "the line between list and detail")                                        \
    X(HINT, "hint", "the key-hint bar")                                                            \
    X(HINT_KEY, "hint_key", "a key in the key-hint bar")                                           \
    X(MESSAGE, "message", "the message line")                                                      \
    X(MESSAGE_ERROR, "message_error", "an error on the message line")                              \
    X(PROMPT, "prompt", "the filter and command line")                                             \
    X(HEALTH_UP, "health_up", "a backend that answers")                                            \
    X(HEALTH_DOWN, "health_down", "a backend that is down")                                        \
    X(HEALTH_SLOW, "health_slow", "a backend that is slow to answer")                              \
    X(STALE, "stale", "data shown from before an outage")                                          \
    X(ALERT, "alert", "an alert line")                                                             \
    X(STATUS_OK, "status_ok", "completed, resolved, closed")                                       \
    X(STATUS_RUNNING, "status_running", "running, pending")                                        \
    X(STATUS_WARN, "status_warn", "compensating, retried, half open, paused")                      \
    X(STATUS_FAILED, "status_failed", "failed, rejected, expired")                                 \
    X(APPROVAL_OVERDUE, "approval_overdue", "an approval past its due time")                       \
    X(APPROVAL_DUE_SOON, "approval_due_soon", "an approval due within the hour")                   \
    X(CIRCUIT_OPEN, "circuit_open", "an open circuit")                                             \
    X(CIRCUIT_HALF_OPEN, "circuit_half_open", "a half-open circuit")                               \
    X(CIRCUIT_CLOSED, "circuit_closed", "a closed circuit")                                        \
    X(JSON_KEY, "json_key", "a key in JSON")                                                       \
    X(JSON_STRING, "json_string", "a string in JSON")                                              \
    X(JSON_NUMBER, "json_number", "a number in JSON")                                              \
    X(JSON_LITERAL, "json_literal", "true, false, null in JSON")                                   \
    X(FOLDED, "folded", "a folded value; Enter unfolds it")                                        \
    X(SPARKLINE, "sparkline", "the DLQ inflow sparkline")                                          \
    X(DIALOG, "dialog", "a dialog box")

enum theme_role {
#define THEME_ROLE_ENUM(id, name, help) ROLE_##id,
    THEME_ROLES(THEME_ROLE_ENUM)
#undef THEME_ROLE_ENUM
        ROLE_COUNT
};

#define THEME_ATTR_BOLD      (1u << 0)
#define THEME_ATTR_DIM       (1u << 1)
#define THEME_ATTR_UNDERLINE (1u << 2)
#define THEME_ATTR_REVERSE   (1u << 3)
#define THEME_ATTR_STANDOUT  (1u << 4)
#define THEME_ATTR_ITALIC    (1u << 5)

/* Colours: -1 the terminal's default, 0-7 the ANSI colours (black, red,
 * green, yellow, blue, magenta, cyan, white), 8-15 their bright forms,
 * 16-255 the 256-colour palette ("color123"). */
struct theme_style {
    short fg, bg;
    unsigned attrs;
};

struct theme {
    char name[64];
    struct theme_style style[ROLE_COUNT];
};

/* The role's name in theme files ("approval_overdue"). */
const char *theme_role_name(enum theme_role role);

/* The built-in mono theme: attributes only, every colour -1. What the
 * console uses with NO_COLOR or a terminal without colours. */
void theme_mono(struct theme *out);

/* Parses a theme file's text. Lines are "role = FG [BG] [ATTR...]" or
 * "role = ATTR..." (colours default), comments start with '#', and
 * "inherit = NAME" is not supported (keep one file a theme). Roles not
 * named take the mono style of that role. Any error is STATUS_USAGE with
 * "path:line: reason" and out unchanged. */
enum status theme_parse(const char *path, const char *text, const char *name, struct theme *out,
                        struct error *err);

/* Finds theme name ("light", or a path containing '/') and parses it:
 * first user_dir/NAME.theme (the config dir's themes/), then
 * data_dir/NAME.theme (the installed themes), then, for a source-tree run,
 * the themes/ folder next to the binary's build. "mono" is built in.
 * STATUS_NOT_FOUND names the places looked in. */
enum status theme_load(const char *name, const char *user_dir, const char *data_dir,
                       struct theme *out, struct error *err);

/* The default directories: user_dir is $XDG_CONFIG_HOME/opsdeck/themes (or
 * ~/.config/opsdeck/themes), data_dir OPSDECK_DATADIR/themes, unless
 * OPSDECK_THEMES_DIR overrides data_dir. Heap strings, caller frees. */
char *theme_user_dir(void);
char *theme_data_dir(void);

/* Fills names (up to max, heap strings the caller frees) with the themes
 * found in both directories plus "mono", sorted and unique; returns how
 * many. For `:theme` completion. */
size_t theme_list(const char *user_dir, const char *data_dir, char **names, size_t max);

#endif
