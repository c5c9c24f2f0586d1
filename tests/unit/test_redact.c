/* Unit tests of the redaction module: which names match, masking at every
 * depth, and that nothing else changes. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/redact.h"

static const char *const spec_list[] = {"password", "secret", "token", "api_key",
                                        "authorization", "card_number", "cvv", "iban",
                                        "ssn", "email", "phone"};

static void test_matches(void **state)
{
    (void)state;
    struct redact r;
    redact_init(&r, spec_list, sizeof(spec_list) / sizeof(spec_list[0]));
    const char *yes[] = {"password", "PASSWORD", "db_password", "customer_email", "apiKey",
                         "API-KEY", "Authorization", "card_number", "cardNumber", "cvv",
                         "iban", "ssn", "phone_number", "refresh_token", "client.secret"};
    const char *no[] = {"name", "amount", "order_id", "currency", "status", "", "emai",
                        "card", "number"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(redact_matches(&r, yes[i]));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(redact_matches(&r, no[i]));
    redact_done(&r);
}

static void test_copy_masks_at_every_depth(void **state)
{
    (void)state;
    struct redact r;
    redact_init(&r, spec_list, sizeof(spec_list) / sizeof(spec_list[0]));
    json_error_t je;
    json_t *in = json_loads(
        "{\"order_id\":\"o-1\",\"amount\":12.5,\"customer\":{\"email\":\"a@b.c\",\"name\":\"Ann\","
        "\"cards\":[{\"card_number\":\"4111111111111111\",\"cvv\":123},{\"brand\":\"visa\"}]},"
        "\"headers\":{\"Authorization\":\"Bearer x\"},\"secret\":{\"nested\":[1,2]},"
        "\"iban\":null,\"tags\":[\"email\",\"phone\"]}",
        JSON_PRESERVE_ORDER, &je);
    assert_non_null(in);
    size_t masked = 0;
    json_t *out = redact_copy(&r, in, &masked);
    char *s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(s,
                        "{\"order_id\":\"o-1\",\"amount\":12.5,\"customer\":{\"email\":\"****\","
                        "\"name\":\"Ann\",\"cards\":[{\"card_number\":\"****\",\"cvv\":\"****\"},"
                        "{\"brand\":\"visa\"}]},\"headers\":{\"Authorization\":\"****\"},"
                        "\"secret\":\"****\",\"iban\":\"****\",\"tags\":[\"email\",\"phone\"]}");
    assert_int_equal(masked, 6);
    /* the input is untouched */
    assert_string_equal(json_string_value(json_object_get(json_object_get(in, "customer"), "email")),
                        "a@b.c");
    free(s);
    json_decref(out);
    json_decref(in);
    redact_done(&r);
}

static void test_empty_list_and_scalars(void **state)
{
    (void)state;
    struct redact r;
    const char *const blanks[] = {"", " _ "};
    redact_init(&r, blanks, 2);
    assert_int_equal(r.n, 0);
    json_t *in = json_pack("{s:s}", "password", "x");
    size_t masked = 9;
    json_t *out = redact_copy(&r, in, &masked);
    assert_true(json_equal(in, out));
    assert_int_equal(masked, 0);
    json_decref(out);
    json_decref(in);
    json_t *num = json_integer(5);
    out = redact_copy(&r, num, NULL);
    assert_true(json_equal(num, out));
    json_decref(out);
    json_decref(num);
    assert_null(redact_copy(&r, NULL, NULL));
    redact_done(&r);
}

/* Writers store events as JSON text, and a malformed event keeps its raw
 * data: the fields inside a string are masked too. */
static void test_strings_holding_json_or_raw_text(void **state)
{
    (void)state;
    struct redact r;
    size_t masked = 0;
    redact_init(&r, spec_list, sizeof(spec_list) / sizeof(spec_list[0]));
    json_t *v = json_pack("{s:s, s:s, s:s, s:s}",
                          "original_event", "{\"order\": 7, \"customer_email\": \"a@b.c\"}",
                          "data_raw", "{\"password\": \"hunter2\", \"n\": 1, \"token\": abc, oops",
                          "error_message", "timeout: \"upstream\" did not answer",
                          "plain", "no secrets here");
    json_t *c = redact_copy(&r, v, &masked);
    assert_int_equal(masked, 3);
    json_t *inner = json_loads(json_string_value(json_object_get(c, "original_event")), 0, NULL);
    assert_non_null(inner);
    assert_string_equal(json_string_value(json_object_get(inner, "customer_email")), REDACT_MASK);
    assert_int_equal(json_integer_value(json_object_get(inner, "order")), 7);
    json_decref(inner);
    const char *raw = json_string_value(json_object_get(c, "data_raw"));
    assert_null(strstr(raw, "hunter2"));
    assert_null(strstr(raw, "abc"));
    assert_non_null(strstr(raw, "\"n\": 1"));
    assert_non_null(strstr(raw, "oops"));
    /* Untouched when nothing inside matches. */
    assert_string_equal(json_string_value(json_object_get(c, "error_message")),
                        "timeout: \"upstream\" did not answer");
    assert_string_equal(json_string_value(json_object_get(c, "plain")), "no secrets here");
    json_decref(c);
    json_decref(v);
    redact_done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_copy_masks_at_every_depth),
        cmocka_unit_test(test_empty_list_and_scalars),
        cmocka_unit_test(test_strings_holding_json_or_raw_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
