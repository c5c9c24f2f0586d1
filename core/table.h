/* Tables of the command-line face: rows of JSON objects printed as aligned
 * columns, every cell through the sanitizer and measured in display
 * columns, with the cursor of the next page last. */
#ifndef OPSDECK_CORE_TABLE_H
#define OPSDECK_CORE_TABLE_H

#include <stddef.h>

#include <jansson.h>

#include "core/session.h"

enum table_kind {
    TABLE_TEXT,  /* a string (or any value, shown compactly) */
    TABLE_TIME,  /* an ISO 8601 string shown as "2026-11-23 10:03:07" */
    TABLE_INT,   /* a number, right-aligned */
    TABLE_SPAN,  /* seconds shown as "3h12m" ("-" for null) */
};

struct table_col {
    const char *title;
    const char *field; /* key in the row object */
    enum table_kind kind;
    size_t max;        /* widest this column may get, in display columns */
};

/* Prints rows (a JSON array of objects) under a header line; when next is
 * not NULL, a last line "next page: --after NEXT". Cells wider than their
 * column are cut with an ellipsis. On a terminal the table fits its width
 * by narrowing the widest columns. */
void table_print(struct session *s, const struct table_col *cols, size_t ncols,
                 const json_t *rows, const char *next);

/* Prints one object as "key: value" lines, nested objects and arrays
 * indented, every string sanitized (line breaks kept). */
void table_print_detail(struct session *s, const json_t *obj);

#endif
