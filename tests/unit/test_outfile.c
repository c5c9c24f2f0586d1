/* Unit tests of util/outfile.c: a file appears whole on commit, private,
 * replacing one already there; before that, and after an abort, nothing
 * of it is in its folder. */
#include <config.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tests/common/testutil.h"
#include "util/outfile.h"
#include "util/xmalloc.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    return testutil_tmpdir(dir, sizeof(dir), "opsdeck-outfile");
}

static int teardown(void **state)
{
    (void)state;
    testutil_rmtree(dir);
    return 0;
}

/* How many entries the folder has (besides . and ..). */
static int entries(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    static char buf[256];
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_commit(void **state)
{
    (void)state;
    struct outfile o;
    struct error err = {STATUS_OK, ""};
    char *path = xasprintf("%s/out.jsonl", dir);
    assert_int_equal(outfile_open(&o, path, &err), STATUS_OK);
    fputs("one\n", o.f);
    /* Unnamed while written (on a file system with O_TMPFILE). */
    if (o.tmp == NULL)
        assert_int_equal(entries(), 0);
    assert_int_equal(outfile_commit(&o, &err), STATUS_OK);
    assert_null(o.f);
    assert_string_equal(slurp(path), "one\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(entries(), 1);

    /* A second commit replaces it, leaving nothing else. */
    assert_int_equal(outfile_open(&o, path, &err), STATUS_OK);
    fputs("two\n", o.f);
    assert_string_equal(slurp(path), "one\n");
    assert_int_equal(outfile_commit(&o, &err), STATUS_OK);
    assert_string_equal(slurp(path), "two\n");
    assert_int_equal(entries(), 1);
    free(path);
}

static void test_abort(void **state)
{
    (void)state;
    struct outfile o;
    struct error err = {STATUS_OK, ""};
    char *path = xasprintf("%s/gone.jsonl", dir);
    assert_int_equal(outfile_open(&o, path, &err), STATUS_OK);
    fputs("secret\n", o.f);
    outfile_abort(&o);
    assert_int_equal(entries(), 0);
    free(path);
}

static void test_bad_folder(void **state)
{
    (void)state;
    struct outfile o;
    struct error err = {STATUS_OK, ""};
    char *path = xasprintf("%s/no/such/folder/x.jsonl", dir);
    assert_int_equal(outfile_open(&o, path, &err), STATUS_USAGE);
    assert_non_null(strstr(err.msg, path));
    assert_null(o.f);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_folder, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
