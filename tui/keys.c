/* The key and `:` command tables of the console, and lookups over them. */
#include <config.h>

#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "core/command.h"
#include "tui/keys.h"

#define KEYS_CTRL(c)  ((c)&0x1f)
#define KEYS_LIST_ANY (KEYS_VIEW_LIST | KEYS_VIEW_OVERVIEW | KEYS_VIEW_DETAIL)

static const struct keys_binding keys_bindings[] = {
    {'k', "k", KEYS_UP, KEYS_LIST_ANY},
    {KEY_UP, "Up", KEYS_UP, KEYS_LIST_ANY},
    {'j', "j", KEYS_DOWN, KEYS_LIST_ANY},
    {KEY_DOWN, "Down", KEYS_DOWN, KEYS_LIST_ANY},
    {KEY_PPAGE, "PgUp", KEYS_PAGE_UP, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {KEYS_CTRL('b'), "Ctrl-B", KEYS_PAGE_UP, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {KEY_NPAGE, "PgDn", KEYS_PAGE_DOWN, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {KEYS_CTRL('f'), "Ctrl-F", KEYS_PAGE_DOWN, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {'g', "g", KEYS_TOP, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {KEY_HOME, "Home", KEYS_TOP, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {'G', "G", KEYS_BOTTOM, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {KEY_END, "End", KEYS_BOTTOM, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {'\n', "Enter", KEYS_ENTER, KEYS_LIST_ANY},
    {'\r', NULL, KEYS_ENTER, KEYS_LIST_ANY},
    {KEY_ENTER, NULL, KEYS_ENTER, KEYS_LIST_ANY},
    {' ', "Space", KEYS_ENTER, KEYS_VIEW_DETAIL},
    {27, "Esc", KEYS_BACK, KEYS_VIEW_ALL},
    {'q', "q", KEYS_QUIT, KEYS_VIEW_ALL},
    {'\t', "Tab", KEYS_NEXT_VIEW, KEYS_VIEW_ALL},
    {KEY_BTAB, "Shift-Tab", KEYS_PREV_VIEW, KEYS_VIEW_ALL},
    {'1', "1", KEYS_VIEW_1, KEYS_VIEW_ALL},
    {'2', "2", KEYS_VIEW_2, KEYS_VIEW_ALL},
    {'3', "3", KEYS_VIEW_3, KEYS_VIEW_ALL},
    {'4', "4", KEYS_VIEW_4, KEYS_VIEW_ALL},
    {'5', "5", KEYS_VIEW_5, KEYS_VIEW_ALL},
    {'6', "6", KEYS_VIEW_6, KEYS_VIEW_ALL},
    {'7', "7", KEYS_VIEW_7, KEYS_VIEW_ALL},
    {'/', "/", KEYS_FILTER, KEYS_VIEW_LIST},
    {':', ":", KEYS_COMMAND, KEYS_VIEW_ALL},
    {'?', "?", KEYS_HELP, KEYS_VIEW_ALL},
    {'r', "r", KEYS_REFRESH, KEYS_VIEW_ALL},
    {KEY_F(5), "F5", KEYS_REFRESH, KEYS_VIEW_ALL},
    {'l', "l", KEYS_FOCUS, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {KEY_RIGHT, "Right", KEYS_FOCUS, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {'h', "h", KEYS_FOCUS, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {KEY_LEFT, "Left", KEYS_FOCUS, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {KEYS_CTRL('l'), "Ctrl-L", KEYS_REDRAW, KEYS_VIEW_ALL},
    {' ', "Space", KEYS_MARK, KEYS_VIEW_LIST},
    {'*', "*", KEYS_MARK_ALL, KEYS_VIEW_LIST},
    {'w', "w", KEYS_LINK, KEYS_VIEW_LIST | KEYS_VIEW_DETAIL},
    {'U', "U", KEYS_UNMASK, KEYS_VIEW_DETAIL},
};

static const struct keys_verb keys_verb_rows[] = {
    {"approvals", 'a', "a", "approve", "Approve", "--note", false, KEYS_EXTRA_NONE, true},
    {"approvals", 'x', "x", "reject", "Reject", "--reason", true, KEYS_EXTRA_NONE, true},
    {"sagas", 'A', "A", "sagas abort", "Abort (compensate)", "--reason", true, KEYS_EXTRA_NONE,
     false},
    {"sagas", 'R', "R", "sagas retry-step", "Retry the failed step of", "--reason", false,
     KEYS_EXTRA_NONE, false},
    {"dlq", 'R', "R", "dlq replay", "Replay", NULL, false, KEYS_EXTRA_NONE, true},
    {"dlq", 'v', "v", "dlq resolve", "Resolve", "--note", true, KEYS_EXTRA_NONE, true},
    {"dlq", 'D', "D", "dlq delete", "Delete", "--reason", true, KEYS_EXTRA_NONE, true},
    {"dlq", 'E', "E", "dlq export", "Export", NULL, false, KEYS_EXTRA_FILE, false},
    {"schedules", 'p', "p", "schedules pause", "Pause", "--note", true, KEYS_EXTRA_UNTIL, true},
    {"schedules", 'u', "u", "schedules resume", "Resume", "--note", false, KEYS_EXTRA_NONE, true},
    {"schedules", 't', "t", "schedules trigger", "Trigger now", NULL, false, KEYS_EXTRA_OVERLAP,
     false},
    {"schedules", 'b', "b", "schedules backfill", "Backfill", NULL, false, KEYS_EXTRA_RANGE, false},
    {"circuits", 'Z', "Z", "circuits reset", "Reset", "--reason", true, KEYS_EXTRA_NONE, false},
    {"circuits", 'O', "O", "circuits force-open", "Force open (isolate)", "--reason", true,
     KEYS_EXTRA_NONE, false},
    {"circuits", 'L', "L", "circuits release", "Release the forced state of", "--reason", false,
     KEYS_EXTRA_NONE, false},
};

static const char *const keys_helps[] = {
#define KEYS_ACTION_HELP(id, help) help,
    KEYS_ACTIONS(KEYS_ACTION_HELP)
#undef KEYS_ACTION_HELP
};

static const struct keys_command keys_command_rows[] = {
    {"overview", "", "the Overview", KEYS_CMD_VIEW},
    {"sagas", "[FILTER]", "sagas, filtered: status=failed saga=ID 24h TEXT", KEYS_CMD_VIEW},
    {"approvals", "[FILTER]", "approvals, filtered: status=pending overdue TEXT", KEYS_CMD_VIEW},
    {"dlq", "[FILTER]", "the DLQ, filtered: reason=R source=S target=T queue=Q status=S 24h TEXT",
     KEYS_CMD_VIEW},
    {"schedules", "[FILTER]", "schedules, filtered: paused TEXT", KEYS_CMD_VIEW},
    {"circuits", "[FILTER]", "circuit breakers, filtered: state=open order=name", KEYS_CMD_VIEW},
    {"audit", "[FILTER]", "the audit log, filtered: operator=O action=A 24h", KEYS_CMD_VIEW},
    {"filter", "TEXT", "set this view's filter (empty clears it)", KEYS_CMD_FILTER},
    {"theme", "NAME", "switch the theme (default, light, high-contrast, mono, yours)",
     KEYS_CMD_THEME},
    {"refresh", "", "ask the stores again now", KEYS_CMD_REFRESH},
    {"help", "", "the help screen", KEYS_CMD_HELP},
    {"q", "", "quit", KEYS_CMD_QUIT},
    {"quit", "", "quit", KEYS_CMD_QUIT},
};

enum keys_action keys_lookup(int key, bool is_key, unsigned views)
{
    for (size_t i = 0; i < sizeof(keys_bindings) / sizeof(keys_bindings[0]); i++) {
        const struct keys_binding *b = &keys_bindings[i];
        if (b->key == key && (b->key >= KEY_MIN) == is_key &&
            (b->views & (views | KEYS_VIEW_ALL)) != 0)
            return b->action;
    }
    return KEYS_NONE;
}

const struct keys_binding *keys_table(size_t *count)
{
    *count = sizeof(keys_bindings) / sizeof(keys_bindings[0]);
    return keys_bindings;
}

const char *keys_action_help(enum keys_action a)
{
    return (unsigned)a < KEYS_ACTION_COUNT ? keys_helps[a] : "";
}

char *keys_labels(enum keys_action a, unsigned views, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(keys_bindings) / sizeof(keys_bindings[0]); i++) {
        const struct keys_binding *b = &keys_bindings[i];
        if (b->action != a || b->label == NULL || (b->views & (views | KEYS_VIEW_ALL)) == 0)
            continue;
        int n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", b->label);
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    return buf;
}

const struct keys_command *keys_commands(size_t *count)
{
    *count = sizeof(keys_command_rows) / sizeof(keys_command_rows[0]);
    return keys_command_rows;
}

const struct keys_command *keys_command_find(const char *word)
{
    for (size_t i = 0; i < sizeof(keys_command_rows) / sizeof(keys_command_rows[0]); i++) {
        if (strcmp(keys_command_rows[i].name, word) == 0)
            return &keys_command_rows[i];
    }
    return NULL;
}

const struct keys_verb *keys_verb_lookup(const char *view, int key)
{
    for (size_t i = 0; i < sizeof(keys_verb_rows) / sizeof(keys_verb_rows[0]); i++) {
        if (keys_verb_rows[i].key == key && strcmp(keys_verb_rows[i].view, view) == 0)
            return &keys_verb_rows[i];
    }
    return NULL;
}

bool keys_verb_writes(const struct keys_verb *kv)
{
    const struct command *cmd = command_named(kv->verb);
    return cmd == NULL || (cmd->flags & COMMAND_WRITES);
}

bool keys_verb_all(const struct keys_verb *kv)
{
    const struct command *cmd = command_named(kv->verb);
    return cmd != NULL && command_flag_index(cmd, "--all") >= 0 &&
           command_flag_index(cmd, "--dry-run") >= 0;
}

const char *keys_verb_word(const struct keys_verb *kv)
{
    const char *sp = strrchr(kv->verb, ' ');
    return sp != NULL ? sp + 1 : kv->verb;
}

const struct keys_verb *keys_verb_named(const char *view, const char *word)
{
    for (size_t i = 0; i < sizeof(keys_verb_rows) / sizeof(keys_verb_rows[0]); i++) {
        if (strcmp(keys_verb_rows[i].view, view) == 0 &&
            strcmp(keys_verb_word(&keys_verb_rows[i]), word) == 0)
            return &keys_verb_rows[i];
    }
    return NULL;
}

const struct keys_verb *keys_verbs(size_t *count)
{
    *count = sizeof(keys_verb_rows) / sizeof(keys_verb_rows[0]);
    return keys_verb_rows;
}
