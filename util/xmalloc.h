/* Allocation that never returns NULL: out of memory restores the terminal
 * through a registered hook and aborts. */
#ifndef OPSDECK_UTIL_XMALLOC_H
#define OPSDECK_UTIL_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows an array of nmemb items of size bytes, checking for overflow. */
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);

/* Sets the function called before a fatal exit, e.g. endwin(); NULL clears. */
void xfatal_set_hook(void (*hook)(void));

/* Prints "opsdeck: fatal: ..." to stderr after running the hook, and aborts. */
_Noreturn void xfatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
