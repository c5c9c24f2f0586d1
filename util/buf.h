/* A growable byte buffer that is always NUL-terminated. */
#ifndef OPSDECK_UTIL_BUF_H
#define OPSDECK_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* NUL-terminated once anything was added; NULL when empty */
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
/* Releases the memory; the buffer may be reused after buf_init. */
void buf_done(struct buf *b);
void buf_reset(struct buf *b);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_addvf(struct buf *b, const char *fmt, va_list ap);
/* Returns the contents ("" when empty), borrowed until the next change. */
const char *buf_get(const struct buf *b);
/* Returns the contents as a heap string the caller frees, and empties b. */
char *buf_take(struct buf *b);

#endif
