/* Unit tests for the status table: exit codes, names, and one-line
 * error reasons. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/status.h"

/* The exit codes are a public contract (SPEC.md section 1): scripts test
 * them, so each one is pinned here by number. */
static void test_status_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(status_exit_code(STATUS_OK), 0);
    assert_int_equal(status_exit_code(STATUS_REFUSED), 1);
    assert_int_equal(status_exit_code(STATUS_USAGE), 2);
    assert_int_equal(status_exit_code(STATUS_UNAVAILABLE), 3);
    assert_int_equal(status_exit_code(STATUS_NOT_FOUND), 4);
    assert_int_equal(status_exit_code(STATUS_DENIED), 5);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(status_name(STATUS_OK), "OK");
    assert_string_equal(status_name(STATUS_REFUSED), "REFUSED");
    assert_string_equal(status_name(STATUS_USAGE), "USAGE");
    assert_string_equal(status_name(STATUS_UNAVAILABLE), "UNAVAILABLE");
    assert_string_equal(status_name(STATUS_NOT_FOUND), "NOT_FOUND");
    assert_string_equal(status_name(STATUS_DENIED), "DENIED");
    assert_string_equal(status_name((enum status)42), "UNKNOWN");
}

static void test_status_texts(void **state)
{
    (void)state;
    assert_string_equal(status_text(STATUS_OK), "done");
    assert_non_null(strstr(status_text(STATUS_USAGE), "usage"));
    assert_non_null(strstr(status_text(STATUS_DENIED), "permission denied"));
    assert_string_equal(status_text((enum status)42), "unknown status");
    /* every status has its own text */
    for (int a = 0; a <= 5; a++)
        for (int b = a + 1; b <= 5; b++)
            assert_string_not_equal(status_text((enum status)a), status_text((enum status)b));
}

static void test_error_set_returns_and_fills(void **state)
{
    struct error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(err.status, STATUS_OK);
    assert_string_equal(err.msg, "");
    assert_int_equal(error_set(&err, STATUS_NOT_FOUND, "approval %s not found", "apr-7"),
                     STATUS_NOT_FOUND);
    assert_int_equal(err.status, STATUS_NOT_FOUND);
    assert_string_equal(err.msg, "approval apr-7 not found");
    error_clear(&err);
    assert_int_equal(err.status, STATUS_OK);
    assert_string_equal(err.msg, "");
}

/* Library messages come with newlines, tabs and a final period; the
 * reason must still be one line. */
static void test_error_set_folds(void **state)
{
    struct error err;
    (void)state;
    error_set(&err, STATUS_UNAVAILABLE, "%s", "could not connect\nis the server running?\n");
    assert_null(strchr(err.msg, '\n'));
    assert_string_equal(err.msg, "could not connect is the server running?");
    error_set(&err, STATUS_UNAVAILABLE, "a\tb\r\nc.");
    assert_null(strchr(err.msg, '\n'));
    assert_null(strchr(err.msg, '\r'));
    assert_null(strchr(err.msg, '\t'));
    assert_string_equal(err.msg, "a b  c");
}

static void test_error_set_null_and_long(void **state)
{
    struct error err;
    char big[2000];
    (void)state;
    assert_int_equal(error_set(NULL, STATUS_DENIED, "nobody listens"), STATUS_DENIED);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(error_set(&err, STATUS_USAGE, "%s", big), STATUS_USAGE);
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
}

static void test_error_prefix(void **state)
{
    struct error err;
    (void)state;
    error_set(&err, STATUS_UNAVAILABLE, "connection refused");
    error_prefix(&err, "%s: ", "postgres");
    assert_string_equal(err.msg, "postgres: connection refused");
    assert_int_equal(err.status, STATUS_UNAVAILABLE);
    error_prefix(&err, "opsdeck: ");
    assert_string_equal(err.msg, "opsdeck: postgres: connection refused");
    error_prefix(NULL, "ignored"); /* must not crash */

    /* a prefix on a full message cuts the tail, never overflows */
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    error_set(&err, STATUS_USAGE, "%s", big);
    error_prefix(&err, "postgres: ");
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
    assert_memory_equal(err.msg, "postgres: xxx", 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_exit_codes),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_status_texts),
        cmocka_unit_test(test_error_set_returns_and_fills),
        cmocka_unit_test(test_error_set_folds),
        cmocka_unit_test(test_error_set_null_and_long),
        cmocka_unit_test(test_error_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
