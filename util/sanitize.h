/* The one sanitizer: every string that comes from a store passes through it
 * before it reaches a terminal, in CLI text output and in the console.
 * Control characters (C0, DEL, C1 raw or UTF-8 encoded), escape sequences,
 * bidi controls, zero-width and other format characters, and invalid UTF-8
 * are shown visibly escaped ("\x1b", "\u{202e}", "\n"), never emitted. */
#ifndef OPSDECK_UTIL_SANITIZE_H
#define OPSDECK_UTIL_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

enum sanitize_flags {
    SANITIZE_ASCII = 1 << 0,    /* the terminal is not UTF-8: escape all non-ASCII too */
    SANITIZE_NEWLINES = 1 << 1, /* keep '\n' as a line break (detail views); else "\n" */
};

/* Appends the safe form of len bytes of s to out, at most max_width display
 * columns (0: no limit). When cut, ends with "…" ("..." under
 * SANITIZE_ASCII) within the width, never splitting a character or an
 * escape. Returns the display width appended. Widths come from wcwidth()
 * and assume setlocale(LC_CTYPE, "") was called; the function itself never
 * depends on the locale's multibyte conversion. */
size_t sanitize_append(struct buf *out, const char *s, size_t len, size_t max_width,
                       unsigned flags);

/* Returns a heap copy of the NUL-terminated s, sanitized with no width limit
 * (caller frees). NULL gives "". */
char *sanitize_dup(const char *s, unsigned flags);

/* Display width of the sanitized form of s, without building it. */
size_t sanitize_width(const char *s, size_t len, unsigned flags);

/* True when s is valid UTF-8 with nothing the sanitizer would escape. */
bool sanitize_is_clean(const char *s, size_t len, unsigned flags);

/* The flags for this process's terminal: SANITIZE_ASCII unless the
 * LC_CTYPE codeset is UTF-8. Call after setlocale. */
unsigned sanitize_terminal_flags(void);

#endif
