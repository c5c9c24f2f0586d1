/* Output of the command-line face: JSON documents and text lines, with
 * every store-sourced string made safe on the way. */
#ifndef OPSDECK_CORE_OUT_H
#define OPSDECK_CORE_OUT_H

#include <stdbool.h>
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

/* Prints "opsdeck: <message>" on this thread's diagnostics stream
 * (out_diag: stderr unless captured), the message sanitized. */
void out_error(const char *msg);

/* Captures this thread's diagnostics: until out_capture_end, out_error and
 * the notes of the action verbs (blast radius, job lines) go to diag
 * (borrowed: the caller keeps it open until then) instead of stderr, and
 * no verb asks on the terminal or draws progress. Other threads are not
 * affected. Not nested: a second begin replaces the first stream. */
void out_capture_begin(FILE *diag);
void out_capture_end(void);

/* True while this thread's diagnostics are captured. */
bool out_capturing(void);

/* Where this thread's diagnostics go: the captured stream, else stderr. */
FILE *out_diag(void);

/* True when this thread may talk with the operator: nothing is captured
 * and both stdin and stderr are terminals. */
bool out_interactive(void);

#endif
