/* Unit tests of the console's filter line against the real list rows:
 * keys, booleans, DUR, free text, quoting, errors, copies and pages. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/filter.h"
#include "core/listing.h"
#include "core/table.h"
#include "util/timeutil.h"

extern const struct command cmd_dlq_list_entry;
extern const struct command cmd_approvals_list_entry;
extern const struct command cmd_schedules_list_entry;
extern const struct command cmd_sagas_list_entry;
extern const struct command cmd_circuits_list_entry;
extern const struct command cmd_circuits_show_entry;
extern const struct command cmd_audit_list_entry;
extern const struct command cmd_dlq_replay_entry;
extern const struct command cmd_dlq_export_entry;
extern const struct command cmd_schedules_pause_entry;

/* The value parsed for flag (NULL when absent). */
static const char *val(const struct filter *f, const char *flag)
{
    return command_arg(f->cmd, &f->args, flag);
}

/* Parses text, which must succeed. */
static void parse_ok(const struct command *cmd, const char *text, struct filter *f)
{
    struct error err = {0};
    enum status rc = filter_parse(cmd, text, f, &err);
    if (rc != STATUS_OK)
        fail_msg("'%s': %s", text, err.msg);
    assert_ptr_equal(f->cmd, cmd);
}

/* Parses text, which must fail with STATUS_USAGE naming word, leaving f
 * empty; returns nothing, checks everything. */
static void parse_bad(const struct command *cmd, const char *text, const char *word)
{
    struct error err = {0};
    struct filter f;
    memset(&f, 0x5a, sizeof(f)); /* whatever was there is overwritten */
    assert_int_equal(filter_parse(cmd, text, &f, &err), STATUS_USAGE);
    assert_int_equal(err.status, STATUS_USAGE);
    if (strstr(err.msg, word) == NULL)
        fail_msg("'%s': message '%s' does not name '%s'", text, err.msg, word);
    assert_null(strchr(err.msg, '\n'));
    assert_ptr_equal(f.cmd, cmd);
    assert_non_null(f.text);
    assert_string_equal(f.text, "");
    for (size_t i = 0; i < COMMAND_FLAGS_MAX; i++) {
        assert_null(f.args.value[i]);
        assert_null(f.storage[i]);
    }
    filter_done(&f);
}

static void test_keys(void **state)
{
    (void)state;
    struct filter f;
    parse_ok(&cmd_dlq_list_entry, "reason=validation_failed source=order-service", &f);
    assert_string_equal(val(&f, "--reason"), "validation_failed");
    assert_string_equal(val(&f, "--source"), "order-service");
    assert_null(val(&f, "--since"));
    assert_null(val(&f, "--search"));
    assert_null(val(&f, "--limit"));
    assert_string_equal(f.text, "reason=validation_failed source=order-service");
    filter_done(&f);

    /* normalised in the row's order; a value may hold '=' */
    parse_ok(&cmd_dlq_list_entry, "  queue=q=1   status=retried target=billing ", &f);
    assert_string_equal(val(&f, "--queue"), "q=1");
    assert_string_equal(val(&f, "--status"), "retried");
    assert_string_equal(val(&f, "--target"), "billing");
    assert_string_equal(f.text, "target=billing queue=q=1 status=retried");
    filter_done(&f);

    parse_ok(&cmd_sagas_list_entry, "saga=order-fulfilment status=failed", &f);
    assert_string_equal(val(&f, "--saga"), "order-fulfilment");
    assert_string_equal(val(&f, "--status"), "failed");
    filter_done(&f);

    parse_ok(&cmd_audit_list_entry, "operator=alice action=dlq.replay", &f);
    assert_string_equal(val(&f, "--operator"), "alice");
    assert_string_equal(val(&f, "--action"), "dlq.replay");
    filter_done(&f);

    /* the Overview's "circuits OPEN" alert opens the circuits with this */
    parse_ok(&cmd_circuits_list_entry, "state=open order=name", &f);
    assert_string_equal(val(&f, "--state"), "open");
    assert_string_equal(val(&f, "--order"), "name");
    filter_done(&f);

    /* until takes a time, since= a bare number of seconds */
    parse_ok(&cmd_dlq_list_entry, "until=2026-01-02T03:04:05Z since=42", &f);
    assert_string_equal(val(&f, "--until"), "2026-01-02T03:04:05Z");
    assert_string_equal(val(&f, "--since"), "42");
    assert_string_equal(f.text, "since=42 until=2026-01-02T03:04:05Z");
    filter_done(&f);
}

static void test_booleans(void **state)
{
    (void)state;
    struct filter f;
    parse_ok(&cmd_approvals_list_entry, "overdue", &f);
    assert_string_equal(val(&f, "--overdue"), "");
    assert_null(val(&f, "--search"));
    assert_string_equal(f.text, "overdue");
    filter_done(&f);

    parse_ok(&cmd_schedules_list_entry, "nightly paused", &f);
    assert_string_equal(val(&f, "--paused"), "");
    assert_string_equal(val(&f, "--search"), "nightly");
    assert_string_equal(f.text, "paused nightly");
    filter_done(&f);

    /* twice is still just the flag */
    parse_ok(&cmd_approvals_list_entry, "overdue overdue", &f);
    assert_string_equal(val(&f, "--overdue"), "");
    filter_done(&f);
}

static void test_dur(void **state)
{
    (void)state;
    struct filter f;
    parse_ok(&cmd_dlq_list_entry, "24h", &f);
    assert_string_equal(val(&f, "--since"), "24h");
    assert_null(val(&f, "--search"));
    assert_string_equal(f.text, "24h");
    filter_done(&f);

    parse_ok(&cmd_sagas_list_entry, "1h30m status=running", &f);
    assert_string_equal(val(&f, "--since"), "1h30m");
    filter_done(&f);

    parse_ok(&cmd_approvals_list_entry, "since=7d", &f);
    assert_string_equal(val(&f, "--since"), "7d");
    assert_string_equal(f.text, "7d");
    filter_done(&f);

    /* a bare number is an id to search for, not seconds */
    parse_ok(&cmd_dlq_list_entry, "4711", &f);
    assert_null(val(&f, "--since"));
    assert_string_equal(val(&f, "--search"), "4711");
    filter_done(&f);

    /* looks like one but is not: text */
    parse_ok(&cmd_dlq_list_entry, "24x", &f);
    assert_null(val(&f, "--since"));
    assert_string_equal(val(&f, "--search"), "24x");
    filter_done(&f);
}

static void test_free_text(void **state)
{
    (void)state;
    struct filter f;
    parse_ok(&cmd_dlq_list_entry, "connection   refused\ttimeout", &f);
    assert_string_equal(val(&f, "--search"), "connection refused timeout");
    assert_string_equal(f.text, "connection refused timeout");
    filter_done(&f);

    /* words around flags are joined in order; text is shown last */
    parse_ok(&cmd_dlq_list_entry, "card reason=validation_failed 15m declined", &f);
    assert_string_equal(val(&f, "--search"), "card declined");
    assert_string_equal(val(&f, "--reason"), "validation_failed");
    assert_string_equal(val(&f, "--since"), "15m");
    assert_string_equal(f.text, "reason=validation_failed 15m card declined");
    filter_done(&f);

    parse_ok(&cmd_dlq_list_entry, "search=needle", &f);
    assert_string_equal(val(&f, "--search"), "needle");
    assert_string_equal(f.text, "needle");
    filter_done(&f);

    /* URLs and other words with '=' after a non-key stay text */
    parse_ok(&cmd_sagas_list_entry, "http://x/?a=b", &f);
    assert_string_equal(val(&f, "--search"), "http://x/?a=b");
    filter_done(&f);
}

static void test_quoting(void **state)
{
    (void)state;
    struct filter f, g;
    parse_ok(&cmd_dlq_list_entry, "reason=\"business rule\" source='order service'", &f);
    assert_string_equal(val(&f, "--reason"), "business rule");
    assert_string_equal(val(&f, "--source"), "order service");
    assert_string_equal(f.text, "reason=\"business rule\" source=\"order service\"");
    filter_done(&f);

    /* quoted words are text, whatever they look like */
    parse_ok(&cmd_approvals_list_entry, "\"a=b\" '24h' \"overdue\" \"two words\"", &f);
    assert_null(val(&f, "--since"));
    assert_null(val(&f, "--overdue"));
    assert_string_equal(val(&f, "--search"), "a=b 24h overdue two words");
    /* and read back the same */
    parse_ok(&cmd_approvals_list_entry, f.text, &g);
    assert_string_equal(val(&g, "--search"), "a=b 24h overdue two words");
    assert_null(val(&g, "--since"));
    assert_null(val(&g, "--overdue"));
    filter_done(&g);
    filter_done(&f);

    /* backslash inside "..." escapes; '...' is literal; "" is nothing */
    parse_ok(&cmd_dlq_list_entry, "\"say \\\"hi\\\"\" 'C:\\dir' \"\"", &f);
    assert_string_equal(val(&f, "--search"), "say \"hi\" C:\\dir");
    parse_ok(&cmd_dlq_list_entry, f.text, &g);
    assert_string_equal(val(&g, "--search"), "say \"hi\" C:\\dir");
    filter_done(&g);
    filter_done(&f);

    /* blanks a re-split would lose are kept as search="..." */
    parse_ok(&cmd_dlq_list_entry, "search=\"a  b \"", &f);
    assert_string_equal(val(&f, "--search"), "a  b ");
    assert_string_equal(f.text, "search=\"a  b \"");
    parse_ok(&cmd_dlq_list_entry, f.text, &g);
    assert_string_equal(val(&g, "--search"), "a  b ");
    filter_done(&g);
    filter_done(&f);
}

/* filter_quote: any id reads back as itself, one word of free text. */
static void test_quote(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "wf-1", "a b", "say \"hi\"", "C:\\dir\\", "\\\"", "reason=x", "24h", "overdue", "'", "",
    };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct filter f;
        char *q = filter_quote(ids[i]);
        parse_ok(&cmd_dlq_list_entry, q, &f);
        if (ids[i][0] != '\0')
            assert_string_equal(val(&f, "--search"), ids[i]);
        else
            assert_null(val(&f, "--search"));
        assert_null(val(&f, "--reason"));
        assert_null(val(&f, "--since"));
        filter_done(&f);
        free(q);
    }
}

static void test_empty(void **state)
{
    (void)state;
    struct filter f;
    const char *texts[] = {"", "   ", "\"\""};
    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        parse_ok(&cmd_dlq_list_entry, texts[t], &f);
        assert_string_equal(f.text, "");
        for (size_t i = 0; i < COMMAND_FLAGS_MAX; i++)
            assert_null(f.args.value[i]);
        filter_done(&f);
    }
    parse_ok(&cmd_dlq_list_entry, NULL, &f);
    assert_string_equal(f.text, "");
    filter_done(&f);
    filter_done(&f); /* done twice is harmless */
}

static void test_errors(void **state)
{
    (void)state;
    const struct command *dlq = &cmd_dlq_list_entry;
    parse_bad(dlq, "reason=x foo=bar", "foo=bar");
    parse_bad(dlq, "limit=5", "limit=5");
    parse_bad(dlq, "after=abc", "after=abc");
    parse_bad(dlq, "since=soon", "since=soon");
    parse_bad(dlq, "until=whenever", "until=whenever");
    parse_bad(dlq, "reason=", "reason=");
    parse_bad(dlq, "=x", "=x");
    parse_bad(dlq, "reason=a reason=b", "reason=b");
    parse_bad(dlq, "24h 7d", "7d");
    parse_bad(dlq, "overdue", "overdue"); /* a flag dlq list lacks */
    parse_bad(dlq, "--reason x", "--reason");
    parse_bad(dlq, "reason=\"open", "reason=\"open");
    parse_bad(dlq, "search=x more", "more");
    parse_bad(&cmd_approvals_list_entry, "overdue=yes", "overdue=yes");
    parse_bad(&cmd_approvals_list_entry, "reason=x", "reason=x");
    parse_bad(&cmd_schedules_list_entry, "24h", "24h");
    parse_bad(&cmd_circuits_list_entry, "payments", "payments");
    parse_bad(&cmd_circuits_list_entry, "status=open", "status=open");

    /* the message lists what the view knows */
    struct error err = {0};
    struct filter f;
    assert_int_equal(filter_parse(dlq, "colour=red", &f, &err), STATUS_USAGE);
    assert_non_null(strstr(err.msg, "colour"));
    assert_non_null(strstr(err.msg, "reason, source, target, queue, status, until, DUR, text"));
    filter_done(&f);
    assert_int_equal(filter_parse(&cmd_circuits_list_entry, "x", &f, &err), STATUS_USAGE);
    assert_non_null(strstr(err.msg, "this view filters by state, order"));
    filter_done(&f);
    /* a row without flags (every list verb has some) */
    assert_int_equal(filter_parse(&cmd_circuits_show_entry, "x", &f, &err), STATUS_USAGE);
    assert_non_null(strstr(err.msg, "no filters"));
    filter_done(&f);
}

static void test_keys_list(void **state)
{
    (void)state;
    char buf[256];
    filter_keys(&cmd_dlq_list_entry, buf, sizeof(buf));
    assert_string_equal(buf, "reason, source, target, queue, status, until, DUR, text");
    filter_keys(&cmd_approvals_list_entry, buf, sizeof(buf));
    assert_string_equal(buf, "status, overdue, DUR, text");
    filter_keys(&cmd_schedules_list_entry, buf, sizeof(buf));
    assert_string_equal(buf, "paused, text");
    filter_keys(&cmd_audit_list_entry, buf, sizeof(buf));
    assert_string_equal(buf, "operator, action, DUR, text");
    filter_keys(&cmd_circuits_list_entry, buf, sizeof(buf));
    assert_string_equal(buf, "state, order");
    filter_keys(&cmd_circuits_show_entry, buf, sizeof(buf));
    assert_string_equal(buf, "");
    char small[8];
    filter_keys(&cmd_dlq_list_entry, small, sizeof(small));
    assert_string_equal(small, "reason,");
}

static void test_copy(void **state)
{
    (void)state;
    struct filter f, g, e;
    parse_ok(&cmd_dlq_list_entry, "reason=x 24h some text", &f);
    filter_copy(&g, &f);
    assert_ptr_equal(g.cmd, f.cmd);
    assert_string_equal(g.text, f.text);
    assert_ptr_not_equal(g.text, f.text);
    for (size_t i = 0; i < COMMAND_FLAGS_MAX; i++) {
        if (f.args.value[i] == NULL) {
            assert_null(g.args.value[i]);
            continue;
        }
        assert_string_equal(g.args.value[i], f.args.value[i]);
        assert_ptr_not_equal(g.args.value[i], f.args.value[i]);
    }
    filter_done(&f);
    /* the copy outlives its source */
    assert_string_equal(val(&g, "--reason"), "x");
    assert_string_equal(val(&g, "--since"), "24h");
    assert_string_equal(val(&g, "--search"), "some text");
    assert_string_equal(g.text, "reason=x 24h some text");
    filter_done(&g);

    parse_ok(&cmd_dlq_list_entry, "", &e);
    filter_copy(&g, &e);
    assert_string_equal(g.text, "");
    filter_done(&g);
    filter_done(&e);
}

static void test_page_args(void **state)
{
    (void)state;
    struct filter f;
    struct command_args a;
    char limit[16];
    struct listing l;
    struct error err = {0};
    const struct command *cmd = &cmd_dlq_list_entry;

    parse_ok(cmd, "reason=x 24h", &f);
    filter_page_args(&f, 25, "cursor-1", limit, &a);
    assert_string_equal(command_arg(cmd, &a, "--limit"), "25");
    assert_string_equal(command_arg(cmd, &a, "--after"), "cursor-1");
    assert_string_equal(command_arg(cmd, &a, "--reason"), "x");
    assert_string_equal(command_arg(cmd, &a, "--since"), "24h");
    assert_int_equal(a.npos, 0);
    /* the filter itself is not paged */
    assert_null(val(&f, "--limit"));
    assert_null(val(&f, "--after"));

    /* what the verb's own parser makes of it */
    int64_t now = time_now_us();
    assert_int_equal(listing_parse(cmd, &a, &l, &err), STATUS_OK);
    assert_int_equal(l.limit, 25);
    assert_string_equal(l.after, "cursor-1");
    assert_true(l.since_us > now - 24LL * 3600 * 1000000 - 60000000LL);
    assert_true(l.since_us < now - 24LL * 3600 * 1000000 + 60000000LL);

    filter_page_args(&f, 50, NULL, limit, &a);
    assert_string_equal(command_arg(cmd, &a, "--limit"), "50");
    assert_null(command_arg(cmd, &a, "--after"));
    filter_done(&f);

    /* a verb without paging flags gets none */
    parse_ok(&cmd_circuits_show_entry, "", &f);
    filter_page_args(&f, 50, "x", limit, &a);
    for (size_t i = 0; i < COMMAND_FLAGS_MAX; i++)
        assert_null(a.value[i]);
    filter_done(&f);
}

/* Every list row can be fetched, drawn and opened. */
static void test_rows(void **state)
{
    (void)state;
    size_t n, lists = 0;
    const struct command *const *rows = command_table(&n);
    for (size_t i = 0; i < n; i++) {
        const struct command *c = rows[i];
        if (strstr(c->name, " show") != NULL)
            assert_non_null(c->fetch_one);
        if (c->fetch == NULL)
            continue;
        lists++;
        assert_ptr_equal(c->run, listing_run);
        assert_non_null(c->cols);
        assert_true(c->ncols > 0);
        assert_non_null(c->id_field);
        if (c->show == NULL) {
            assert_string_equal(c->name, "audit list");
            continue;
        }
        size_t used;
        const char *words[2] = {c->show, NULL};
        char name[64];
        strcpy(name, c->show);
        char *sp = strchr(name, ' ');
        assert_non_null(sp);
        *sp = '\0';
        words[0] = name;
        words[1] = sp + 1;
        const struct command *show = command_find(words, 2, &used);
        assert_non_null(show);
        assert_int_equal(used, 2);
        assert_non_null(show->fetch_one);
        bool found = false;
        for (size_t k = 0; k < c->ncols; k++)
            found = found || strcmp(c->cols[k].field, c->id_field) == 0;
        if (!found)
            fail_msg("%s: id_field %s is not a column", c->name, c->id_field);
    }
    assert_int_equal(lists, 6);
}

static void argv_free(char **argv, size_t argc)
{
    for (size_t i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

/* A view's filter as a verb's own flags, for a filter-wide action. */
static void test_verb_args(void **state)
{
    (void)state;
    struct filter f;
    struct error err = {0};
    char **argv = NULL;
    size_t argc = 0;
    parse_ok(&cmd_dlq_list_entry, "reason=validation_failed 24h order 7", &f);
    assert_int_equal(filter_verb_args(&f, &cmd_dlq_replay_entry, &argv, &argc, &err), STATUS_OK);
    assert_int_equal(argc, 6);
    /* In the list verb's flag order. */
    const char *want[] = {"--reason", "validation_failed", "--since", "24h", "--search", "order 7"};
    for (size_t i = 0; i < argc; i++)
        assert_string_equal(argv[i], want[i]);
    assert_null(argv[argc]);
    argv_free(argv, argc);
    filter_done(&f);

    /* A boolean flag goes without a value; paging flags never go. */
    argv = NULL;
    argc = 0;
    parse_ok(&cmd_schedules_list_entry, "nightly", &f);
    assert_int_equal(filter_verb_args(&f, &cmd_schedules_pause_entry, &argv, &argc, &err),
                     STATUS_OK);
    assert_int_equal(argc, 2);
    assert_string_equal(argv[0], "--search");
    assert_string_equal(argv[1], "nightly");
    argv_free(argv, argc);
    filter_done(&f);

    /* A filter the verb cannot take is refused, naming it. */
    argv = NULL;
    argc = 0;
    parse_ok(&cmd_schedules_list_entry, "paused", &f);
    assert_int_equal(filter_verb_args(&f, &cmd_schedules_pause_entry, &argv, &argc, &err),
                     STATUS_USAGE);
    assert_non_null(strstr(err.msg, "paused="));
    assert_non_null(strstr(err.msg, "schedules pause"));
    assert_int_equal(argc, 0);
    free(argv);
    filter_done(&f);

    /* No filter: nothing added. */
    argv = NULL;
    argc = 0;
    parse_ok(&cmd_dlq_list_entry, "", &f);
    assert_int_equal(filter_verb_args(&f, &cmd_dlq_export_entry, &argv, &argc, &err), STATUS_OK);
    assert_int_equal(argc, 0);
    assert_null(argv);
    filter_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),      cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_dur),       cmocka_unit_test(test_free_text),
        cmocka_unit_test(test_quoting),   cmocka_unit_test(test_quote),
        cmocka_unit_test(test_empty),     cmocka_unit_test(test_errors),
        cmocka_unit_test(test_keys_list), cmocka_unit_test(test_copy),
        cmocka_unit_test(test_page_args), cmocka_unit_test(test_rows),
        cmocka_unit_test(test_verb_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
