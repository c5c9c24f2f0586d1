/* Safe preview (SPEC section 4): the values of fields whose names match
 * the redaction list are masked, at any depth of any JSON value, in every
 * output unless the operator unmasks (which is audited by the caller). */
#ifndef OPSDECK_CORE_REDACT_H
#define OPSDECK_CORE_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* What a masked value becomes. */
#define REDACT_MASK "****"

struct redact {
    char **words; /* normalised: lower case, no '_', '-', '.' or blanks */
    size_t n;
};

/* Copies words (e.g. config_list(cfg, OPTION_REDACT)); release with
 * redact_done. Empty words are ignored. */
void redact_init(struct redact *r, const char *const *words, size_t n);
void redact_done(struct redact *r);

/* True when key names a field to mask: its normalised form contains a
 * normalised word, so "customer_email", "apiKey" and "Authorization" match
 * "email", "api_key" and "authorization". */
bool redact_matches(const struct redact *r, const char *key);

/* Returns a deep copy of v (new reference) with the value of every matching
 * key replaced by REDACT_MASK, whatever its type (a masked object or array
 * hides all it holds). *masked (may be NULL) receives how many were
 * masked. v NULL gives NULL. */
json_t *redact_copy(const struct redact *r, const json_t *v, size_t *masked);

#endif
