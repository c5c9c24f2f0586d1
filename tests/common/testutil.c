/* What the C test programs share. */
#include <config.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/common/testutil.h"
#include "util/xmalloc.h"

static const char *testutil_name = "test";

static void testutil_on_alarm(int sig)
{
    static const char msg[] = ": a call hung\n";
    (void)sig;
    (void)!write(2, testutil_name, strlen(testutil_name));
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

void testutil_watchdog(const char *name, unsigned seconds)
{
    testutil_name = name;
    signal(SIGALRM, testutil_on_alarm);
    alarm(seconds);
}

int testutil_tmpdir(char *buf, size_t size, const char *stem)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(buf, size, "%s/%s-XXXXXX",
                     tmp != NULL && tmp[0] == '/' && strlen(tmp) < 32 ? tmp : "/tmp", stem);
    if (n < 0 || (size_t)n >= size)
        return -1;
    return mkdtemp(buf) != NULL ? 0 : -1;
}

void testutil_rmtree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *ent;
    if (d != NULL) {
        while ((ent = readdir(d)) != NULL) {
            if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
                continue;
            char *child = xasprintf("%s/%s", path, ent->d_name);
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
                testutil_rmtree(child);
            else
                unlink(child);
            free(child);
        }
        closedir(d);
    }
    rmdir(path);
}
