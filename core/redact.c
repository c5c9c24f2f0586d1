/* Masking of sensitive fields in JSON values. */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"
#include "util/buf.h"
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

static json_t *redact_walk(const struct redact *r, const json_t *v, size_t *masked);

/* Masks `"key": value` pairs in text that is not valid JSON (a malformed
 * event's raw data): a new string, or NULL when nothing matched. */
static json_t *redact_text(const struct redact *r, const char *s, size_t len, size_t *masked)
{
    struct buf out;
    size_t i = 0, copied = 0, before = *masked;
    buf_init(&out);
    while (i < len) {
        if (s[i] != '"') {
            i++;
            continue;
        }
        size_t k = i + 1;
        while (k < len && s[k] != '"')
            k += s[k] == '\\' ? 2 : 1;
        if (k >= len)
            break;
        size_t colon = k + 1;
        while (colon < len && isspace((unsigned char)s[colon]))
            colon++;
        if (colon >= len || s[colon] != ':') {
            i = k + 1;
            continue;
        }
        char *key = xstrndup(s + i + 1, k - i - 1);
        bool hit = redact_matches(r, key);
        free(key);
        size_t v = colon + 1;
        while (v < len && isspace((unsigned char)s[v]))
            v++;
        if (!hit) {
            i = v;
            continue;
        }
        size_t end = v;
        if (end < len && s[end] == '"') {
            end++;
            while (end < len && s[end] != '"')
                end += s[end] == '\\' ? 2 : 1;
            end = end < len ? end + 1 : len;
        } else {
            while (end < len && strchr(",}]\n", s[end]) == NULL)
                end++;
        }
        buf_add(&out, s + copied, v - copied);
        buf_adds(&out, "\"" REDACT_MASK "\"");
        copied = end;
        i = end;
        (*masked)++;
    }
    if (*masked == before) {
        buf_done(&out);
        return NULL;
    }
    buf_add(&out, s + copied, len - copied);
    json_t *str = json_stringn_nocheck(buf_get(&out), out.len);
    buf_done(&out);
    return str;
}

/* A string that holds JSON (writers store events as JSON text) or text
 * that looks like it: the sensitive fields inside are masked too. */
static json_t *redact_string(const struct redact *r, const json_t *v, size_t *masked)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v), before = *masked;
    if (r->n == 0 || memchr(s, ':', len) == NULL || memchr(s, '"', len) == NULL)
        return json_deep_copy(v);
    json_t *inner = json_loadb(s, len, 0, NULL);
    if (inner != NULL) {
        json_t *red = redact_walk(r, inner, masked);
        json_decref(inner);
        json_t *out = NULL;
        if (*masked > before) {
            char *text = json_dumps(red, JSON_COMPACT | JSON_PRESERVE_ORDER);
            if (text != NULL)
                out = json_string_nocheck(text);
            free(text);
        }
        json_decref(red);
        return out != NULL ? out : json_deep_copy(v);
    }
    json_t *out = redact_text(r, s, len, masked);
    return out != NULL ? out : json_deep_copy(v);
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
    if (json_is_string(v))
        return redact_string(r, v, masked);
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
