/* Output of the command-line face: JSON documents and text lines, with
 * every store-sourced string made safe on the way. */
#ifndef OPSDECK_CORE_OUT_H
#define OPSDECK_CORE_OUT_H

#include <stdio.h>

#include <jansson.h>

#include "core/session.h"

/* A JSON string for store text: exact when valid UTF-8; otherwise the
 * sanitizer's visible escapes (JSON cannot carry invalid bytes). NULL
 * gives JSON null. Returns a new reference. */
json_t *out_jstr(const char *s);

/* The jansson flags for JSON written to f: insertion order, and ASCII
 * only when f is a terminal. */
size_t out_json_flags(FILE *f);

/* Prints v (indented, keys in insertion order, newline) and drops the
 * reference. */
void out_json(struct session *s, json_t *v);

/* Prints our own text, printf-style. Store text goes through out_safe. */
void out_printf(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Store text made safe for this terminal, at most width columns (0: no
 * limit). Heap string, caller frees. NULL gives "". */
char *out_safe(const struct session *s, const char *text, size_t width);

/* Prints "opsdeck: <message>" on stderr, the message sanitized. */
void out_error(const char *msg);

#endif
