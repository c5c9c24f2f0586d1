/* What the C test programs share: a watchdog for calls that hang, and
 * temporary folders. */
#ifndef OPSDECK_TESTS_TESTUTIL_H
#define OPSDECK_TESTS_TESTUTIL_H

#include <stddef.h>

/* After seconds, "NAME: a call hung" on stderr and exit 1: a store call
 * that never returns fails the test instead of holding the suite. name
 * must outlive the program (a literal). */
void testutil_watchdog(const char *name, unsigned seconds);

/* A fresh folder $TMPDIR/STEM-XXXXXX (or under /tmp when TMPDIR is unset,
 * relative or long) into buf. 0, or -1 when it cannot be made. */
int testutil_tmpdir(char *buf, size_t size, const char *stem);

/* Removes path and everything below it (symbolic links are not followed). */
void testutil_rmtree(const char *path);

#endif
