/* Unit tests for password masking: a table of conninfo strings and URIs,
 * each with the exact masked form and whether it carries a password. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/mask.h"

struct mask_case {
    const char *in;
    const char *out;
    bool has;
};

static const struct mask_case mask_cases[] = {
    /* libpq key=value conninfo */
    {"host=db password=hunter2 user=app", "host=db password=**** user=app", true},
    {"password=hunter2", "password=****", true},
    {"host=db password = hunter2  dbname=x", "host=db password = ****  dbname=x", true},
    {"host=db password\t=\thunter2", "host=db password\t=\t****", true},
    {"password='a b\\'c' host=db", "password='****' host=db", true},
    {"password='a b\\\\' host=db", "password='****' host=db", true},
    {"password=a\\ b host=db", "password=**** host=db", true},
    {"host=db sslpassword=keypass", "host=db sslpassword=****", true},
    {"host=db PASSWORD=x", "host=db PASSWORD=****", true},
    {"host=db password='unterminated", "host=db password='****", true},
    {"host=db password=", "host=db password=", false},
    {"host=db password=''", "host=db password=''", false},
    {"host=db user=password", "host=db user=password", false},
    {"host=db application_name='password=x'", "host=db application_name='password=x'", false},
    {"host=db passwordx=y", "host=db passwordx=y", false},
    {"garbage password=x", "garbage password=****", true},
    {"host=db dbname='postgresql://u:pw@h/db'", "host=db dbname='postgresql://u:****@h/db'", true},
    {"dbname='host=h password=pw'", "dbname='host=h password=****'", true},
    {"host=/var/run/postgresql dbname=wf", "host=/var/run/postgresql dbname=wf", false},
    {"service=prod", "service=prod", false},
    {"", "", false},
    /* PostgreSQL URIs */
    {"postgresql://app:s3cret@db:5432/wf", "postgresql://app:****@db:5432/wf", true},
    {"postgres://app:s3cret@db/wf", "postgres://app:****@db/wf", true},
    {"POSTGRESQL://app:s3cret@db/wf", "POSTGRESQL://app:****@db/wf", true},
    {"postgresql://app@db:5432/wf", "postgresql://app@db:5432/wf", false},
    {"postgresql://db:5432/wf", "postgresql://db:5432/wf", false},
    {"postgresql://", "postgresql://", false},
    {"postgresql://app:s3cret@h1:5432,h2:5433/wf?target_session_attrs=read-write",
     "postgresql://app:****@h1:5432,h2:5433/wf?target_session_attrs=read-write", true},
    {"postgresql://h1,h2/wf?user=app&password=x&sslmode=require",
     "postgresql://h1,h2/wf?user=app&password=****&sslmode=require", true},
    {"postgresql://db/wf?password=x", "postgresql://db/wf?password=****", true},
    {"postgresql://db/wf?sslmode=require&password=x",
     "postgresql://db/wf?sslmode=require&password=****", true},
    {"postgresql://db/wf?sslpassword=k&password=p",
     "postgresql://db/wf?sslpassword=****&password=****", true},
    {"postgresql://app:p%40ss@db/wf", "postgresql://app:****@db/wf", true},
    {"postgresql://app:pw@[::1]:5432/wf", "postgresql://app:****@[::1]:5432/wf", true},
    {"postgresql://[::1]:5432/wf", "postgresql://[::1]:5432/wf", false},
    /* '@' in a query is not userinfo; host:port is not user:password */
    {"postgresql://db:5432/wf?user=a@b", "postgresql://db:5432/wf?user=a@b", false},
    {"postgresql://db/wf?user=a:b@c", "postgresql://db/wf?user=a:b@c", false},
    {"postgresql://app:pw@db/wf?application_name=a@b",
     "postgresql://app:****@db/wf?application_name=a@b", true},
    /* unencoded generated passwords: mask all of it */
    {"postgresql://app:ab/cd+ef@db/wf", "postgresql://app:****@db/wf", true},
    {"redis://:p@ss@cache:6379/0", "redis://:****@cache:6379/0", true},
    {"redis://:pa#ss@cache", "redis://:****@cache", true},
    {"redis://:pa?ss@cache/0?db=1", "redis://:****@cache/0?db=1", true},
    {"redis://:123456@cache", "redis://:****@cache", true},
    /* Redis URLs */
    {"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0", false},
    {"redis://user:pass@cache:6379/0", "redis://user:****@cache:6379/0", true},
    {"redis://:pass@cache", "redis://:****@cache", true},
    {"rediss://ops:tls-pass@cache:6380", "rediss://ops:****@cache:6380", true},
    {"redis://user@cache:6379", "redis://user@cache:6379", false},
    {"redis://:@cache", "redis://:@cache", false},
    {"redis://cache:6379/0?password=x&db=2", "redis://cache:6379/0?password=****&db=2", true},
    {"redis://user@cache/0?password=x", "redis://user@cache/0?password=****", true},
    {"redis://cache/0?password=x#frag", "redis://cache/0?password=****#frag", true},
    {"unix:///run/redis.sock?db=2", "unix:///run/redis.sock?db=2", false},
    {"unix:///run/redis.sock?db=2&password=x", "unix:///run/redis.sock?db=2&password=****", true},
    {"unix://:pw@/run/redis.sock", "unix://:****@/run/redis.sock", true},
    /* not connection strings at all */
    {"publish", "publish", false},
    {"just some text", "just some text", false},
    {"/home/ops/.redis-pass", "/home/ops/.redis-pass", false},
};

static void test_mask_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(mask_cases) / sizeof(mask_cases[0]); i++) {
        const struct mask_case *c = &mask_cases[i];
        char *got = mask_secret(c->in);
        if (strcmp(got, c->out) != 0)
            print_error("case %zu: mask_secret(\"%s\")\n  got  \"%s\"\n  want \"%s\"\n", i, c->in,
                        got, c->out);
        assert_string_equal(got, c->out);
        free(got);
        if (mask_has_password(c->in) != c->has)
            print_error("case %zu: mask_has_password(\"%s\") should be %s\n", i, c->in,
                        c->has ? "true" : "false");
        assert_int_equal(mask_has_password(c->in), c->has);
    }
}

static void test_mask_null(void **state)
{
    (void)state;
    assert_null(mask_secret(NULL));
    assert_false(mask_has_password(NULL));
}

/* Masking never changes the text around a password: every byte outside
 * the "****" matches the input. */
static void test_mask_keeps_the_rest(void **state)
{
    (void)state;
    const char *in = "host=a password=xyz port=5432 sslmode=verify-full";
    char *got = mask_secret(in);
    const char *star = strstr(got, "****");
    assert_non_null(star);
    size_t head = (size_t)(star - got);
    assert_memory_equal(got, in, head);
    assert_string_equal(star + 4, in + head + 3);
    free(got);
}

/* Masking twice changes nothing more, and the passwords of the table
 * never survive. */
static void test_mask_idempotent(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(mask_cases) / sizeof(mask_cases[0]); i++) {
        char *once = mask_secret(mask_cases[i].in);
        char *twice = mask_secret(once);
        assert_string_equal(once, twice);
        assert_null(strstr(once, "hunter2"));
        assert_null(strstr(once, "s3cret"));
        assert_null(strstr(once, "tls-pass"));
        free(twice);
        free(once);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_table),
        cmocka_unit_test(test_mask_null),
        cmocka_unit_test(test_mask_keeps_the_rest),
        cmocka_unit_test(test_mask_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
