/* Masking of sensitive fields in JSON values. */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"
#include "util/xmalloc.h"

/* Lower case without separators, so spellings of one name compare equal. */
static char *redact_normalise(const char *s)
{
    char *out = xmalloc(strlen(s) + 1);
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '_' || *p == '-' || *p == '.' || isspace(*p))
            continue;
        out[j++] = (char)tolower(*p);
    }
    out[j] = '\0';
    return out;
}

void redact_init(struct redact *r, const char *const *words, size_t n)
{
    r->words = xcalloc(n + 1, sizeof(*r->words));
    r->n = 0;
    for (size_t i = 0; i < n; i++) {
        char *w = redact_normalise(words[i]);
        if (w[0] == '\0') {
            free(w);
            continue;
        }
        r->words[r->n++] = w;
    }
}

void redact_done(struct redact *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->words[i]);
    free(r->words);
    r->words = NULL;
    r->n = 0;
}

bool redact_matches(const struct redact *r, const char *key)
{
    if (r->n == 0)
        return false;
    char *k = redact_normalise(key);
    bool hit = false;
    for (size_t i = 0; i < r->n && !hit; i++)
        hit = strstr(k, r->words[i]) != NULL;
    free(k);
    return hit;
}

static json_t *redact_walk(const struct redact *r, const json_t *v, size_t *masked)
{
    json_t *out;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        out = json_object();
        json_object_foreach((json_t *)v, key, child) {
            if (redact_matches(r, key)) {
                json_object_set_new(out, key, json_string(REDACT_MASK));
                (*masked)++;
            } else {
                json_object_set_new(out, key, redact_walk(r, child, masked));
            }
        }
        return out;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *child;
        out = json_array();
        json_array_foreach(v, i, child)
            json_array_append_new(out, redact_walk(r, child, masked));
        return out;
    }
    return json_deep_copy(v);
}

json_t *redact_copy(const struct redact *r, const json_t *v, size_t *masked)
{
    size_t count = 0;
    json_t *out = v != NULL ? redact_walk(r, v, &count) : NULL;
    if (masked != NULL)
        *masked = count;
    return out;
}
