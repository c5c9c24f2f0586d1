/* Turns untrusted bytes into text that is safe to write to a terminal, with
 * anything dangerous or invisible shown as a visible escape. */
#include <config.h>

#include <langinfo.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include "util/buf.h"
#include "util/sanitize.h"
#include "util/xmalloc.h"

/* What one unit of input (a byte or a whole UTF-8 character) becomes. When
 * escaped is false the input bytes are copied unchanged, which lets the
 * caller copy runs of them at once. */
struct sanitize_piece {
    bool escaped;
    size_t width;
    size_t len;    /* of text */
    char text[16]; /* the escape; the longest is "\u{10ffff}" */
};

static const char sanitize_hex_digits[] = "0123456789abcdef";

/* Decodes one UTF-8 character at s. Returns its length, or 0 when the first
 * byte does not begin a well-formed sequence. The per-lead ranges of the
 * second byte are what rule out overlongs (C0, C1, E0 80..9F, F0 80..8F),
 * surrogates (ED A0..BF) and values past U+10FFFF (F4 90.., F5..FF), so no
 * check is needed after assembling the value. */
static size_t sanitize_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char b0 = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t need;
    uint32_t c;

    if (b0 < 0x80) {
        *cp = b0;
        return 1;
    }
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        need = 1;
        c = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        need = 2;
        c = b0 & 0x0f;
        if (b0 == 0xe0)
            lo = 0xa0;
        else if (b0 == 0xed)
            hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        need = 3;
        c = b0 & 0x07;
        if (b0 == 0xf0)
            lo = 0x90;
        else if (b0 == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (len <= need)
        return 0;
    for (size_t i = 1; i <= need; i++) {
        if (s[i] < lo || s[i] > hi)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
        lo = 0x80;
        hi = 0xbf;
    }
    *cp = c;
    return need + 1;
}

/* Code points that are printable according to wcwidth() but can hide or
 * reorder text (bidi controls, Trojan Source), join or split it invisibly
 * (zero-width characters, BOM, tags), or act as controls (C1, which some
 * terminals obey even UTF-8 encoded). Private use characters are left
 * alone: they are visible glyphs in the fonts that define them. */
static bool sanitize_is_hidden(uint32_t cp)
{
    static const struct {
        uint32_t first, last;
    } ranges[] = {
        {0x0080, 0x009f},   /* C1 controls */
        {0x00ad, 0x00ad},   /* soft hyphen */
        {0x0600, 0x0605},   /* Arabic number signs */
        {0x061c, 0x061c},   /* Arabic letter mark */
        {0x06dd, 0x06dd},   /* Arabic end of ayah */
        {0x070f, 0x070f},   /* Syriac abbreviation mark */
        {0x0890, 0x0891},   /* Arabic pound and piastre marks */
        {0x08e2, 0x08e2},   /* Arabic disputed end of ayah */
        {0x180e, 0x180e},   /* Mongolian vowel separator */
        {0x200b, 0x200f},   /* ZWSP, ZWNJ, ZWJ, LRM, RLM */
        {0x2028, 0x202e},   /* line and paragraph separators, LRE..RLO */
        {0x2060, 0x2064},   /* word joiner, invisible operators */
        {0x2066, 0x206f},   /* isolates, deprecated format controls */
        {0xfeff, 0xfeff},   /* BOM, zero-width no-break space */
        {0xfff9, 0xfffb},   /* interlinear annotation */
        {0x110bd, 0x110bd}, /* Kaithi number sign */
        {0x110cd, 0x110cd}, /* Kaithi number sign above */
        {0x13430, 0x1343f}, /* Egyptian hieroglyph format controls */
        {0x1bca0, 0x1bca3}, /* shorthand format controls */
        {0x1d173, 0x1d17a}, /* musical symbol format controls */
        {0xe0000, 0xe007f}, /* tags */
    };

    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        if (cp < ranges[i].first)
            return false;
        if (cp <= ranges[i].last)
            return true;
    }
    return false;
}

static void sanitize_escape_byte(struct sanitize_piece *p, unsigned char b)
{
    p->escaped = true;
    p->text[0] = '\\';
    p->text[1] = 'x';
    p->text[2] = sanitize_hex_digits[b >> 4];
    p->text[3] = sanitize_hex_digits[b & 0xf];
    p->len = 4;
    p->width = 4;
}

static void sanitize_escape_code_point(struct sanitize_piece *p, uint32_t cp)
{
    int digits = 4;
    size_t n = 0;

    while (digits < 8 && (cp >> (4 * digits)) != 0)
        digits++;
    p->escaped = true;
    p->text[n++] = '\\';
    p->text[n++] = 'u';
    p->text[n++] = '{';
    for (int i = digits - 1; i >= 0; i--)
        p->text[n++] = sanitize_hex_digits[(cp >> (4 * i)) & 0xf];
    p->text[n++] = '}';
    p->len = n;
    p->width = n;
}

static void sanitize_escape_text(struct sanitize_piece *p, const char *text)
{
    p->escaped = true;
    p->len = strlen(text);
    p->width = p->len;
    memcpy(p->text, text, p->len);
}

/* Classifies the unit at s and returns how many input bytes it covers. */
static size_t sanitize_next(const unsigned char *s, size_t len, unsigned flags,
                            struct sanitize_piece *p)
{
    uint32_t cp;
    size_t n = sanitize_decode(s, len, &cp);
    int w;

    p->escaped = false;
    if (n == 0) {
        /* Only the first byte is consumed so that a stray lead byte does
         * not swallow the valid text after it. */
        sanitize_escape_byte(p, s[0]);
        return 1;
    }
    if (cp < 0x80) {
        if (cp == '\\')
            sanitize_escape_text(p, "\\\\");
        else if (cp == '\n' && (flags & SANITIZE_NEWLINES))
            p->width = 0; /* a line break, not a column */
        else if (cp == '\n')
            sanitize_escape_text(p, "\\n");
        else if (cp == '\t')
            sanitize_escape_text(p, "\\t");
        else if (cp == '\r')
            sanitize_escape_text(p, "\\r");
        else if (cp < 0x20 || cp == 0x7f)
            sanitize_escape_byte(p, (unsigned char)cp);
        else
            p->width = 1;
        return n;
    }
    if ((flags & SANITIZE_ASCII) || sanitize_is_hidden(cp) || cp > (uint32_t)WCHAR_MAX) {
        sanitize_escape_code_point(p, cp);
        return n;
    }
    w = wcwidth((wchar_t)cp);
    if (w < 0)
        sanitize_escape_code_point(p, cp);
    else
        p->width = (size_t)w;
    return n;
}

/* Width of the sanitized form of s, stopping as soon as it passes limit:
 * deciding whether a huge value needs cutting only needs its first few
 * columns. */
static size_t sanitize_measure(const char *s, size_t len, unsigned flags, size_t limit)
{
    const unsigned char *u = (const unsigned char *)s;
    struct sanitize_piece p;
    size_t pos = 0, width = 0;

    while (pos < len && width <= limit) {
        pos += sanitize_next(u + pos, len - pos, flags, &p);
        width += p.width;
    }
    return width;
}

size_t sanitize_append(struct buf *out, const char *s, size_t len, size_t max_width, unsigned flags)
{
    const unsigned char *u = (const unsigned char *)s;
    const char *ellipsis = (flags & SANITIZE_ASCII) ? "..." : "\xe2\x80\xa6";
    size_t ellipsis_width = (flags & SANITIZE_ASCII) ? 3 : 1;
    size_t budget = max_width > 0 ? max_width : SIZE_MAX;
    bool cut = false;
    struct sanitize_piece p;
    size_t pos = 0, run = 0, width = 0;

    if (s == NULL || len == 0)
        return 0;
    /* Measure first: only a value that will not fit gives up columns to the
     * ellipsis. */
    if (max_width > 0 && sanitize_measure(s, len, flags, max_width) > max_width) {
        cut = true;
        budget = max_width >= ellipsis_width ? max_width - ellipsis_width : max_width;
    }
    /* Stop at the first unit that does not fit rather than skipping to a
     * narrower one later, so the output is always a prefix; zero-width
     * combining marks that fit stay with the character they follow. */
    while (pos < len) {
        size_t n = sanitize_next(u + pos, len - pos, flags, &p);
        if (p.width > budget - width)
            break;
        if (p.escaped) {
            if (pos > run)
                buf_add(out, s + run, pos - run);
            buf_add(out, p.text, p.len);
            run = pos + n;
        }
        width += p.width;
        pos += n;
    }
    if (pos > run)
        buf_add(out, s + run, pos - run);
    if (cut && max_width >= ellipsis_width) {
        buf_adds(out, ellipsis);
        width += ellipsis_width;
    }
    return width;
}

char *sanitize_dup(const char *s, unsigned flags)
{
    struct buf b;

    buf_init(&b);
    if (s != NULL)
        sanitize_append(&b, s, strlen(s), 0, flags);
    return buf_take(&b);
}

size_t sanitize_width(const char *s, size_t len, unsigned flags)
{
    if (s == NULL)
        return 0;
    return sanitize_measure(s, len, flags, SIZE_MAX);
}

bool sanitize_is_clean(const char *s, size_t len, unsigned flags)
{
    const unsigned char *u = (const unsigned char *)s;
    struct sanitize_piece p;
    size_t pos = 0;

    if (s == NULL)
        return true;
    while (pos < len) {
        pos += sanitize_next(u + pos, len - pos, flags, &p);
        if (p.escaped)
            return false;
    }
    return true;
}

/* ASCII-only comparison: strcasecmp would follow the locale we are asking
 * about. */
static bool sanitize_codeset_is(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        char ca = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        char cb = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;
        if (ca != cb)
            return false;
    }
    return *a == *b;
}

unsigned sanitize_terminal_flags(void)
{
    const char *codeset = nl_langinfo(CODESET);

    if (codeset != NULL &&
        (sanitize_codeset_is(codeset, "utf-8") || sanitize_codeset_is(codeset, "utf8")))
        return 0;
    return SANITIZE_ASCII;
}
