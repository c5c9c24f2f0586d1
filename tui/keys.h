/* The console's key table and `:` command table: one list each, from which
 * dispatch, the `?` help and the hint bar are generated. Keys resolve to
 * actions; views and the console act on actions, never on key codes. */
#ifndef OPSDECK_TUI_KEYS_H
#define OPSDECK_TUI_KEYS_H

#include <stdbool.h>
#include <stddef.h>

/* Which views a binding belongs to (for help and hints). */
#define KEYS_VIEW_ALL      (1u << 0) /* everywhere */
#define KEYS_VIEW_LIST     (1u << 1) /* lists: sagas, approvals, dlq, schedules, circuits, audit */
#define KEYS_VIEW_DETAIL   (1u << 2) /* an open detail pane */
#define KEYS_VIEW_OVERVIEW (1u << 3)

/* X(ID, help) */
#define KEYS_ACTIONS(X)                                                                            \
    X(NONE, "")                                                                                    \
    X(UP, "move up")                                                                               \
    X(DOWN, "move down")                                                                           \
    X(PAGE_UP, "page up (the previous page of the store at the top)")                              \
    X(PAGE_DOWN, "page down (the next page of the store at the bottom)")                           \
    X(TOP, "first row of the first page")                                                          \
    X(BOTTOM, "last row of the loaded page")                                                       \
    X(ENTER, "open the detail; on an alert, go to its items; in a detail, fold or unfold")         \
    X(BACK, "close the detail or help; clear the filter")                                          \
    X(QUIT, "back, or quit from a view with nothing open")                                         \
    X(NEXT_VIEW, "next view")                                                                      \
    X(PREV_VIEW, "previous view")                                                                  \
    X(VIEW_1, "Overview")                                                                          \
    X(VIEW_2, "Sagas")                                                                             \
    X(VIEW_3, "Approvals")                                                                         \
    X(VIEW_4, "DLQ")                                                                               \
    X(VIEW_5, "Schedules")                                                                         \
    X(VIEW_6, "Circuits")                                                                          \
    X(VIEW_7, "Audit")                                                                             \
    X(FILTER, "filter, in the CLI's flag syntax: reason=validation_failed source=x 24h text")      \
    X(COMMAND, "command line (Tab completes): :dlq FILTER, :theme NAME, :q")                       \
    X(HELP, "this help")                                                                           \
    X(REFRESH, "ask the stores again now")                                                         \
    X(FOCUS, "move between list and detail (side by side)")                                        \
    X(REDRAW, "redraw the whole screen")                                                           \
    X(MARK, "mark or unmark the row (actions then apply to every marked row)")                     \
    X(MARK_ALL, "mark every row of the page; again: every row the filter matches")                 \
    X(LINK, "the other views' items that share this one's workflow or trace id")                   \
    X(UNMASK,                                                                                      \
      "show this item's masked fields, recorded in the audit trail, until the detail closes")

enum keys_action {
#define KEYS_ACTION_ENUM(id, help) KEYS_##id,
    KEYS_ACTIONS(KEYS_ACTION_ENUM)
#undef KEYS_ACTION_ENUM
        KEYS_ACTION_COUNT
};

struct keys_binding {
    int key;           /* a curses key code or character */
    const char *label; /* how help shows it: "j", "Down", "PgDn" */
    enum keys_action action;
    unsigned views; /* KEYS_VIEW_* */
};

/* The action bound to key in a view of the given groups, or KEYS_NONE.
 * is_key: key is a curses KEY_* code, not a typed character (a letter whose
 * code point equals a KEY_* code is not that key). */
enum keys_action keys_lookup(int key, bool is_key, unsigned views);

/* The whole table, for help. */
const struct keys_binding *keys_table(size_t *count);

/* The action's help text. */
const char *keys_action_help(enum keys_action a);

/* Fills buf with every key of action a within views, "j, Down"; returns
 * buf ("" when none). */
char *keys_labels(enum keys_action a, unsigned views, char *buf, size_t size);

/* What an action dialog asks for beyond its text field. */
enum keys_extra {
    KEYS_EXTRA_NONE,
    KEYS_EXTRA_UNTIL,   /* pause: an optional time to resume by itself (--until) */
    KEYS_EXTRA_RANGE,   /* backfill: --from and --to */
    KEYS_EXTRA_OVERLAP, /* trigger: the overlap policy (--overlap) */
    KEYS_EXTRA_FILE,    /* export: of the view's filter, to a file (--output) */
};

/* An action key: in one view, it opens the dialog for one verb of the
 * command table, which runs exactly as `opsdeck VERB` would. */
struct keys_verb {
    const char *view; /* "approvals" */
    int key;
    const char *label;     /* "a" */
    const char *verb;      /* the command row: "approve" */
    const char *title;     /* "Approve" */
    const char *text_flag; /* "--note", "--reason" or NULL */
    bool text_required;
    enum keys_extra extra;
    bool bulk; /* may act on the marked items */
};

/* The action bound to key in view (a typed character), or NULL. */
const struct keys_verb *keys_verb_lookup(const char *view, int key);

/* The action of view whose `:` name is word: the verb's last word
 * ("approve", "replay", "force-open"), or NULL. */
const struct keys_verb *keys_verb_named(const char *view, const char *word);

/* Whether the action's verb takes --all FILTERS and --dry-run, so it may
 * act on every row the filter matches, counted first: read from the
 * command table. */
bool keys_verb_all(const struct keys_verb *kv);

/* The `:` name of an action: its verb's last word; borrowed. */
const char *keys_verb_word(const struct keys_verb *kv);

/* Whether kv's verb changes a store (its row is COMMAND_WRITES): read-only
 * mode and viewer roles take those away; export, which only reads, stays. */
bool keys_verb_writes(const struct keys_verb *kv);

/* Every action key, in the order help lists them. */
const struct keys_verb *keys_verbs(size_t *count);

/* A `:` command of the console. */
enum keys_command_id {
    KEYS_CMD_VIEW,    /* :dlq [FILTER] and the other view names */
    KEYS_CMD_THEME,   /* :theme NAME */
    KEYS_CMD_QUIT,    /* :q, :quit */
    KEYS_CMD_REFRESH, /* :refresh */
    KEYS_CMD_HELP,    /* :help */
    KEYS_CMD_FILTER,  /* :filter TEXT */
};

struct keys_command {
    const char *name;
    const char *args; /* usage after the name, "" for none */
    const char *help;
    enum keys_command_id id;
};

const struct keys_command *keys_commands(size_t *count);

/* The command whose name is word exactly, or NULL. */
const struct keys_command *keys_command_find(const char *word);

#endif
