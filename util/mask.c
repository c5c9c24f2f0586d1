/* Finds the password text inside libpq conninfo strings and URIs so it can
 * be refused on the command line and replaced by "****" wherever shown. */
#include <config.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/mask.h"
#include "util/xmalloc.h"

/* A dbname may itself hold a conninfo or URI (libpq expands it); one level
 * of nesting is all libpq honours, two leaves room for odd quoting. */
#define MASK_MAX_DEPTH 2

struct mask_span {
    size_t start, end; /* the password bytes, end exclusive */
};

struct mask_spans {
    struct mask_span *items;
    size_t count, cap;
};

static void mask_spans_add(struct mask_spans *spans, size_t start, size_t end)
{
    /* An empty password hides nothing, and masking it would invent text. */
    if (end <= start)
        return;
    if (spans->count == spans->cap) {
        spans->cap = spans->cap ? spans->cap * 2 : 4;
        spans->items = xreallocarray(spans->items, spans->cap, sizeof(*spans->items));
    }
    spans->items[spans->count].start = start;
    spans->items[spans->count].end = end;
    spans->count++;
}

static bool mask_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool mask_is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool mask_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Both libpq keywords that hold a secret: the login password and the
 * passphrase of the client certificate's key. */
static bool mask_is_password_key(const char *s, size_t start, size_t end)
{
    size_t len = end - start;
    return (len == 8 && strncasecmp(s + start, "password", 8) == 0) ||
           (len == 11 && strncasecmp(s + start, "sslpassword", 11) == 0);
}

/* Returns the offset just past "scheme://" when s[start..end) opens with
 * one, else 0. Any scheme counts, not only the known ones: treating an
 * unfamiliar URI as one can only mask more. */
static size_t mask_uri_authority(const char *s, size_t start, size_t end)
{
    size_t p = start;
    if (p >= end || !mask_is_alpha(s[p]))
        return 0;
    while (p < end && (mask_is_alpha(s[p]) || mask_is_digit(s[p]) || s[p] == '+' || s[p] == '-' ||
                       s[p] == '.'))
        p++;
    if (end - p < 3 || strncmp(s + p, "://", 3) != 0)
        return 0;
    return p + 3;
}

static size_t mask_find(const char *s, size_t start, size_t end, const char *set)
{
    while (start < end && strchr(set, s[start]) == NULL)
        start++;
    return start;
}

/* Masks the values of password= and sslpassword= in a query string
 * s[start..end) ("a=1&password=x&b=2"). */
static void mask_scan_query(const char *s, size_t start, size_t end, struct mask_spans *spans)
{
    size_t p = start;
    while (p < end) {
        size_t param_end = mask_find(s, p, end, "&");
        size_t eq = mask_find(s, p, param_end, "=");
        if (eq < param_end && mask_is_password_key(s, p, eq))
            mask_spans_add(spans, eq + 1, param_end);
        p = param_end + 1;
    }
}

/* URIs: scheme://[user[:password]@]host[:port][,host[:port]...][/path][?query].
 * Passwords are supposed to be percent-encoded, but people paste generated
 * ones with '/', '?', '#' or '@' in them; the rules below prefer masking too
 * much over leaking, without mistaking host:port for user:password. */
static void mask_scan_uri(const char *s, size_t auth, size_t end, struct mask_spans *spans)
{
    size_t query_from = auth;
    size_t first_at = mask_find(s, auth, end, "@");

    if (first_at < end) {
        size_t colon = mask_find(s, auth, first_at, ":");
        /* A user name never holds '/', '?' or '#'; when one comes before the
         * colon, the '@' belongs to a path or query parameter. */
        bool user_ok = colon < first_at && mask_find(s, auth, colon, "/?#") == colon;
        if (user_ok) {
            size_t p = colon + 1;
            while (p < first_at && mask_is_digit(s[p]))
                p++;
            /* "host:5432/db?user=a@b" is a port, not a password. */
            bool is_port = p > colon + 1 && p < first_at && strchr("/?#,", s[p]) != NULL;
            if (!is_port) {
                /* The password runs to the last '@' before the host part. */
                size_t host = mask_find(s, first_at, end, "/?#");
                size_t at = first_at;
                for (size_t q = first_at; q < host; q++)
                    if (s[q] == '@')
                        at = q;
                mask_spans_add(spans, colon + 1, at);
                query_from = at + 1;
            }
        } else if (colon == first_at && mask_find(s, auth, first_at, "/?#") == first_at) {
            /* user@host: no password, but skip the user for the query search. */
            query_from = first_at + 1;
        }
    }
    size_t q = mask_find(s, query_from, end, "?");
    if (q < end) {
        size_t frag = mask_find(s, q + 1, end, "#");
        mask_scan_query(s, q + 1, frag, spans);
    }
}

static void mask_scan(const char *s, size_t start, size_t end, int depth, struct mask_spans *spans);

/* libpq key=value conninfo: blanks around '=' are allowed; a value is either
 * single-quoted with \' and \\ escapes, or runs to the next blank with
 * backslash escaping one byte. A word without '=' is skipped rather than
 * ending the scan, so a malformed string still has its password masked. */
static void mask_scan_conninfo(const char *s, size_t start, size_t end, int depth,
                               struct mask_spans *spans)
{
    size_t p = start;
    while (p < end) {
        while (p < end && mask_is_blank(s[p]))
            p++;
        if (p >= end)
            break;
        size_t key = p;
        while (p < end && s[p] != '=' && !mask_is_blank(s[p]))
            p++;
        size_t key_end = p;
        while (p < end && mask_is_blank(s[p]))
            p++;
        if (p >= end || s[p] != '=')
            continue;
        p++;
        while (p < end && mask_is_blank(s[p]))
            p++;
        size_t val, val_end;
        if (p < end && s[p] == '\'') {
            val = ++p;
            while (p < end && s[p] != '\'') {
                if (s[p] == '\\' && p + 1 < end)
                    p++;
                p++;
            }
            val_end = p; /* an unterminated quote masks to the end */
            if (p < end)
                p++;
        } else {
            val = p;
            while (p < end && !mask_is_blank(s[p])) {
                if (s[p] == '\\' && p + 1 < end)
                    p++;
                p++;
            }
            val_end = p;
            /* "password=two words" does not parse, and libpq would quote the
             * second word back: words up to the next key=value stay masked. */
            while (mask_is_password_key(s, key, key_end)) {
                size_t q = val_end;
                while (q < end && mask_is_blank(s[q]))
                    q++;
                size_t w = q;
                while (w < end && !mask_is_blank(s[w]) && s[w] != '=')
                    w++;
                if (q >= end || (w < end && s[w] == '='))
                    break;
                val_end = w;
                p = w;
            }
        }
        if (mask_is_password_key(s, key, key_end))
            mask_spans_add(spans, val, val_end);
        else if (key_end - key == 6 && strncmp(s + key, "dbname", 6) == 0 && depth < MASK_MAX_DEPTH)
            mask_scan(s, val, val_end, depth + 1, spans);
    }
}

static void mask_scan(const char *s, size_t start, size_t end, int depth, struct mask_spans *spans)
{
    size_t p = start;
    while (p < end && mask_is_blank(s[p]))
        p++;
    size_t auth = mask_uri_authority(s, p, end);
    if (auth != 0)
        mask_scan_uri(s, auth, end, spans);
    else
        mask_scan_conninfo(s, p, end, depth, spans);
}

bool mask_has_password(const char *s)
{
    struct mask_spans spans = {NULL, 0, 0};
    if (s == NULL)
        return false;
    mask_scan(s, 0, strlen(s), 0, &spans);
    bool found = spans.count > 0;
    free(spans.items);
    return found;
}

char *mask_secret(const char *s)
{
    struct mask_spans spans = {NULL, 0, 0};
    struct buf out;
    size_t done = 0;

    if (s == NULL)
        return NULL;
    mask_scan(s, 0, strlen(s), 0, &spans);
    buf_init(&out);
    /* Spans come out in string order and never overlap: each scanner moves
     * forward only, and a nested dbname scan stays inside its value. */
    for (size_t i = 0; i < spans.count; i++) {
        buf_add(&out, s + done, spans.items[i].start - done);
        buf_adds(&out, "****");
        done = spans.items[i].end;
    }
    buf_adds(&out, s + done);
    free(spans.items);
    return buf_take(&out);
}
