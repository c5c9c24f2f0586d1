/* Unit tests for the sanitizer: a corpus of hostile input, exact escapes,
 * widths and truncation. */
#include <config.h>

#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/sanitize.h"

#define ELLIPSIS "\xe2\x80\xa6"

/* A strict UTF-8 decoder written differently from the one under test (by
 * value ranges rather than lead-byte tables), so the two check each other.
 * Returns the length of the character at s, or 0 when it is not valid. */
static size_t check_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    static const uint32_t min_value[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n;
    uint32_t c;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        c = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        c = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        c = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min_value[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/* Code points that must never reach the terminal unescaped, listed here
 * independently of the sanitizer's own table. */
static bool check_is_dangerous(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0xad || cp == 0x61c || cp == 0x180e ||
           (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff ||
           (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe007f);
}

/* Asserts that out is valid UTF-8 that a terminal can show without
 * obeying anything in it, and returns its display width. */
static size_t check_safe(const char *out, size_t len, unsigned flags)
{
    const unsigned char *u = (const unsigned char *)out;
    size_t pos = 0, width = 0;

    while (pos < len) {
        uint32_t cp = 0;
        size_t n = check_decode(u + pos, len - pos, &cp);
        assert_true(n > 0);
        if (cp == '\n') {
            assert_true(flags & SANITIZE_NEWLINES);
        } else {
            assert_true(cp >= 0x20);
            assert_true(cp != 0x7f);
        }
        assert_false(check_is_dangerous(cp));
        if (flags & SANITIZE_ASCII) {
            /* Only the ellipsis could be non-ASCII, and under ASCII it is
             * "..." too. */
            assert_true(cp < 0x80);
        }
        if (cp != '\n') {
            int w = wcwidth((wchar_t)cp);
            assert_true(w >= 0);
            width += (size_t)w;
        }
        pos += n;
    }
    return width;
}

/* Sanitizes len bytes of s and checks what every output must satisfy;
 * returns the output (caller frees) and its width through width. */
static char *san_full(const char *s, size_t len, size_t max_width, unsigned flags, size_t *width)
{
    struct buf b;
    char *out;
    size_t w;

    buf_init(&b);
    w = sanitize_append(&b, s, len, max_width, flags);
    out = buf_take(&b);
    assert_int_equal(check_safe(out, strlen(out), flags), w);
    if (max_width > 0)
        assert_true(w <= max_width);
    if (width != NULL)
        *width = w;
    return out;
}

/* Asserts the untruncated output of a NUL-terminated input, and that
 * sanitize_width agrees with the appended width. */
static void expect_san(const char *in, unsigned flags, const char *want)
{
    size_t w;
    char *out = san_full(in, strlen(in), 0, flags, &w);

    assert_string_equal(out, want);
    assert_int_equal(sanitize_width(in, strlen(in), flags), w);
    assert_int_equal(sanitize_is_clean(in, strlen(in), flags), strcmp(in, want) == 0);
    free(out);
}

static void expect_width(const char *in, unsigned flags, size_t want)
{
    size_t w;
    char *out = san_full(in, strlen(in), 0, flags, &w);

    assert_int_equal(w, want);
    assert_int_equal(sanitize_width(in, strlen(in), flags), want);
    free(out);
}

static void expect_cut(const char *in, size_t max_width, unsigned flags, const char *want,
                       size_t want_width)
{
    size_t w;
    char *out = san_full(in, strlen(in), max_width, flags, &w);

    assert_string_equal(out, want);
    assert_int_equal(w, want_width);
    free(out);
}

static void test_escape_sequences(void **state)
{
    (void)state;
    expect_san("\x1b[2J", 0, "\\x1b[2J");
    expect_san("\x1b[31mred\x1b[0m", 0, "\\x1b[31mred\\x1b[0m");
    expect_san("\x1b[?1049h\x1b[H", 0, "\\x1b[?1049h\\x1b[H");
    /* OSC 8 hyperlink, ended by ST (ESC backslash). */
    expect_san("\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\", 0,
               "\\x1b]8;;http://evil.example/\\x1b\\\\click\\x1b]8;;\\x1b\\\\");
    /* OSC 52 writes the clipboard; ended by BEL. */
    expect_san("\x1b]52;c;Y3VybCBldmlsfHNo\x07", 0, "\\x1b]52;c;Y3VybCBldmlsfHNo\\x07");
    expect_san("\x1b]0;title\x07", 0, "\\x1b]0;title\\x07");
    /* DCS (XTGETTCAP) ended by ST. */
    expect_san("\x1bP+q544e\x1b\\", 0, "\\x1bP+q544e\\x1b\\\\");
    expect_san("\033c", 0, "\\x1bc");
    expect_san("a\x07z\x08y", 0, "a\\x07z\\x08y");
}

static void test_c0_del_and_whitespace(void **state)
{
    (void)state;
    expect_san("a\nb\tc\rd", 0, "a\\nb\\tc\\rd");
    expect_san("a\nb\tc\rd", SANITIZE_NEWLINES, "a\nb\\tc\\rd");
    expect_san("\x01\x1f\x7f", 0, "\\x01\\x1f\\x7f");
    expect_san("\x7f", SANITIZE_ASCII, "\\x7f");
    expect_san(" ~", 0, " ~");
    expect_width("a\nb", SANITIZE_NEWLINES, 2);
    expect_width("a\nb", 0, 4);
}

static void test_nul_inside(void **state)
{
    size_t w;
    char *out;
    (void)state;

    out = san_full("a\0b\0", 4, 0, 0, &w);
    assert_string_equal(out, "a\\x00b\\x00");
    assert_int_equal(w, 10);
    assert_int_equal(sanitize_width("a\0b", 3, 0), 6);
    assert_false(sanitize_is_clean("a\0b", 3, 0));
    free(out);
}

static void test_c1(void **state)
{
    (void)state;
    /* A raw 0x9b is CSI to an 8-bit terminal and invalid UTF-8 here. */
    expect_san("\x9b?25l", 0, "\\x9b?25l");
    expect_san("\x9d;x\x9c", 0, "\\x9d;x\\x9c");
    /* The same controls UTF-8 encoded. */
    expect_san("\xc2\x9b?25l", 0, "\\u{009b}?25l");
    expect_san("\xc2\x80\xc2\x9f", 0, "\\u{0080}\\u{009f}");
    expect_san("\xc2\x9b?25l", SANITIZE_ASCII, "\\u{009b}?25l");
    /* The first printable Latin-1 code point is kept. */
    expect_san("\xc2\xa0x", 0, "\xc2\xa0x");
}

static void test_bidi_and_invisible(void **state)
{
    (void)state;
    /* Trojan Source: an override reverses what follows. */
    expect_san("invoice\xe2\x80\xaegnp.exe", 0, "invoice\\u{202e}gnp.exe");
    expect_san("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", 0,
               "\\u{202a}\\u{202b}\\u{202c}\\u{202d}");
    expect_san("\xe2\x81\xa6x\xe2\x81\xa7y\xe2\x81\xa8z\xe2\x81\xa9", 0,
               "\\u{2066}x\\u{2067}y\\u{2068}z\\u{2069}");
    expect_san("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", 0, "\\u{200e}\\u{200f}\\u{061c}");
    /* ZWSP, ZWNJ, ZWJ, BOM, word joiner, soft hyphen, MVS. */
    expect_san("adm\xe2\x80\x8bin", 0, "adm\\u{200b}in");
    expect_san("\xe2\x80\x8c\xe2\x80\x8d", 0, "\\u{200c}\\u{200d}");
    expect_san("\xef\xbb\xbfid", 0, "\\u{feff}id");
    expect_san("\xe2\x81\xa0\xe2\x81\xa4", 0, "\\u{2060}\\u{2064}");
    expect_san("pass\xc2\xadword", 0, "pass\\u{00ad}word");
    expect_san("\xe1\xa0\x8e", 0, "\\u{180e}");
    expect_san("\xe2\x80\xa8\xe2\x80\xa9", 0, "\\u{2028}\\u{2029}");
    expect_san("\xef\xbf\xb9\xef\xbf\xbb", 0, "\\u{fff9}\\u{fffb}");
    /* Tag characters can smuggle invisible ASCII. */
    expect_san("\xf3\xa0\x80\x81\xf3\xa0\x81\x81\xf3\xa0\x81\xbf", 0,
               "\\u{e0001}\\u{e0041}\\u{e007f}");
    /* Non-characters and unassigned code points are non-printable to
     * wcwidth. */
    expect_san("\xef\xbf\xbe", 0, "\\u{fffe}");
    expect_san("\xf4\x8f\xbf\xbf", 0, "\\u{10ffff}");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    /* Overlong "/" in two, three and four bytes. */
    expect_san("\xc0\xaf", 0, "\\xc0\\xaf");
    expect_san("\xc1\xbf", 0, "\\xc1\\xbf");
    expect_san("\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf");
    expect_san("\xe0\x9f\xbf", 0, "\\xe0\\x9f\\xbf");
    expect_san("\xf0\x80\x80\xaf", 0, "\\xf0\\x80\\x80\\xaf");
    expect_san("\xf0\x8f\xbf\xbf", 0, "\\xf0\\x8f\\xbf\\xbf");
    /* Overlong NUL and ESC must not come back as controls. */
    expect_san("\xc0\x80", 0, "\\xc0\\x80");
    expect_san("\xc0\x9b", 0, "\\xc0\\x9b");
    /* Surrogates, high and low. */
    expect_san("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");
    expect_san("\xed\xbf\xbf", 0, "\\xed\\xbf\\xbf");
    /* Past U+10FFFF, and bytes that never appear in UTF-8. */
    expect_san("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80");
    expect_san("\xf5\x80\x80\x80", 0, "\\xf5\\x80\\x80\\x80");
    expect_san("\xf8\x88\x80\x80\x80", 0, "\\xf8\\x88\\x80\\x80\\x80");
    expect_san("\xfe\xff", 0, "\\xfe\\xff");
    /* Lone continuation bytes. */
    expect_san("\x80x\xbf", 0, "\\x80x\\xbf");
    /* Truncated at the end, and cut short by ASCII: the byte that breaks
     * the sequence is decoded afresh. */
    expect_san("ok\xe2\x82", 0, "ok\\xe2\\x82");
    expect_san("\xf0\x9f\x98", 0, "\\xf0\\x9f\\x98");
    expect_san("\xc3", 0, "\\xc3");
    expect_san("\xe2\x82Z", 0, "\\xe2\\x82Z");
    expect_san("\xe2\x1b[2J", 0, "\\xe2\\x1b[2J");
    /* A broken lead byte does not swallow a valid character after it. */
    expect_san("\xe2\xc3\xa9", 0, "\\xe2\xc3\xa9");
    expect_san("\xf0\xe4\xb8\xad", 0, "\\xf0\xe4\xb8\xad");
    expect_san("\xe2\x82", SANITIZE_ASCII, "\\xe2\\x82");
}

static void test_printable_unicode(void **state)
{
    (void)state;
    expect_san("caf\xc3\xa9", 0, "caf\xc3\xa9");
    expect_width("caf\xc3\xa9", 0, 4);
    /* Combining acute accent: width 0, kept. */
    expect_san("e\xcc\x81", 0, "e\xcc\x81");
    expect_width("e\xcc\x81", 0, 1);
    expect_width("a\xcc\x81\xcc\xa3", 0, 1);
    /* CJK and 4-byte emoji are two columns. */
    expect_san("\xe4\xb8\xad\xe6\x96\x87", 0, "\xe4\xb8\xad\xe6\x96\x87");
    expect_width("\xe4\xb8\xad\xe6\x96\x87", 0, 4);
    expect_san("\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80");
    expect_width("\xf0\x9f\x98\x80", 0, 2);
    expect_width("ok \xf0\x9f\x98\x80!", 0, 6);
    /* Private use is a glyph in the fonts that define it. */
    expect_san("\xee\x80\x80", 0, "\xee\x80\x80");
    expect_san("\xe2\x80\xa6", 0, "\xe2\x80\xa6");
    /* Emoji joined with ZWJ lose the join, visibly. */
    expect_san("\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", 0,
               "\xf0\x9f\x91\xa9\\u{200d}\xf0\x9f\x92\xbb");
}

static void test_backslashes(void **state)
{
    (void)state;
    expect_san("C:\\dir\\file", 0, "C:\\\\dir\\\\file");
    /* Text that looks like an escape stays distinguishable from one. */
    expect_san("\\x1b", 0, "\\\\x1b");
    expect_san("\\u{202e}", 0, "\\\\u{202e}");
    expect_san("\\\x1b", 0, "\\\\\\x1b");
    expect_width("\\", 0, 2);
}

static void test_ascii_mode(void **state)
{
    (void)state;
    expect_san("caf\xc3\xa9", SANITIZE_ASCII, "caf\\u{00e9}");
    expect_san("\xf0\x9f\x98\x80", SANITIZE_ASCII, "\\u{1f600}");
    expect_san("\xe4\xb8\xad", SANITIZE_ASCII, "\\u{4e2d}");
    expect_san("e\xcc\x81", SANITIZE_ASCII, "e\\u{0301}");
    expect_san("\xee\x80\x80", SANITIZE_ASCII, "\\u{e000}");
    expect_san("\xf4\x8f\xbf\xbf", SANITIZE_ASCII, "\\u{10ffff}");
    expect_san("plain", SANITIZE_ASCII, "plain");
    expect_san("a\nb", SANITIZE_ASCII | SANITIZE_NEWLINES, "a\nb");
    expect_width("caf\xc3\xa9", SANITIZE_ASCII, 11);
}

static void test_truncation_exact(void **state)
{
    (void)state;
    expect_cut("hello", 5, 0, "hello", 5);
    expect_cut("hello", 9, 0, "hello", 5);
    expect_cut("hello", 0, 0, "hello", 5);
    expect_cut("hello world", 5, 0, "hell" ELLIPSIS, 5);
    expect_cut("hello world", 1, 0, ELLIPSIS, 1);
    expect_cut("hello world", 5, SANITIZE_ASCII, "he...", 5);
    expect_cut("hello world", 3, SANITIZE_ASCII, "...", 3);
    /* Narrower than "...": what fits, without it. */
    expect_cut("hello world", 2, SANITIZE_ASCII, "he", 2);
    expect_cut("hello world", 1, SANITIZE_ASCII, "h", 1);
    /* A wide character is not split: 2 + 2 + 1 would be 5. */
    expect_cut("\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97", 4, 0, "\xe4\xb8\xad" ELLIPSIS, 3);
    expect_cut("\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97", 5, 0, "\xe4\xb8\xad\xe6\x96\x87" ELLIPSIS,
               5);
    expect_cut("\xe4\xb8\xad\xe6\x96\x87", 4, 0, "\xe4\xb8\xad\xe6\x96\x87", 4);
    /* An escape is never split either. */
    expect_cut("\x1b[2J", 5, 0, "\\x1b" ELLIPSIS, 5);
    expect_cut("\x1b[2J", 4, 0, ELLIPSIS, 1);
    expect_cut("ab\xe2\x80\xaexy", 9, 0, "ab" ELLIPSIS, 3);
    expect_cut("ab\xe2\x80\xaexy", 10, 0, "ab" ELLIPSIS, 3);
    expect_cut("ab\xe2\x80\xaexy", 11, 0, "ab\\u{202e}" ELLIPSIS, 11);
    expect_cut("ab\xe2\x80\xaexy", 12, 0, "ab\\u{202e}xy", 12);
    /* Combining marks stay with the character they follow. */
    expect_cut("o\xcc\x81o\xcc\x81o\xcc\x81", 2, 0, "o\xcc\x81" ELLIPSIS, 2);
    expect_cut("o\xcc\x81o\xcc\x81", 2, 0, "o\xcc\x81o\xcc\x81", 2);
}

static void test_append_keeps_existing(void **state)
{
    struct buf b;
    size_t w;
    (void)state;

    buf_init(&b);
    buf_adds(&b, "[");
    w = sanitize_append(&b, "x\x1by", 3, 0, 0);
    buf_adds(&b, "]");
    assert_string_equal(buf_get(&b), "[x\\x1by]");
    assert_int_equal(w, 6);
    w = sanitize_append(&b, "", 0, 5, 0);
    assert_int_equal(w, 0);
    w = sanitize_append(&b, NULL, 0, 5, 0);
    assert_int_equal(w, 0);
    assert_string_equal(buf_get(&b), "[x\\x1by]");
    /* len is honoured: the bytes after it are not read. */
    w = sanitize_append(&b, "ab\x1b", 2, 0, 0);
    assert_string_equal(buf_get(&b), "[x\\x1by]ab");
    assert_int_equal(w, 2);
    buf_done(&b);
}

static void test_dup_and_clean(void **state)
{
    char *s;
    (void)state;

    s = sanitize_dup(NULL, 0);
    assert_string_equal(s, "");
    free(s);
    s = sanitize_dup("", 0);
    assert_string_equal(s, "");
    free(s);
    s = sanitize_dup("ok\x1b]52;c;x\x07", 0);
    assert_string_equal(s, "ok\\x1b]52;c;x\\x07");
    free(s);

    assert_true(sanitize_is_clean("", 0, 0));
    assert_true(sanitize_is_clean(NULL, 0, 0));
    assert_true(sanitize_is_clean("hello", 5, 0));
    assert_true(sanitize_is_clean("\xe4\xb8\xad e\xcc\x81 \xf0\x9f\x98\x80", 12, 0));
    assert_false(sanitize_is_clean("\xe4\xb8\xad", 3, SANITIZE_ASCII));
    assert_false(sanitize_is_clean("a\\b", 3, 0));
    assert_false(sanitize_is_clean("a\nb", 3, 0));
    assert_true(sanitize_is_clean("a\nb", 3, SANITIZE_NEWLINES));
    assert_false(sanitize_is_clean("\xe2\x80\xae", 3, 0));
    assert_false(sanitize_is_clean("\xc3", 1, 0));
    assert_false(sanitize_is_clean("\x9b", 1, 0));
    assert_int_equal(sanitize_width(NULL, 0, 0), 0);
}

static void test_long_strings(void **state)
{
    size_t n = 100000;
    char *in = malloc(n * 4);
    char *out;
    size_t w;
    (void)state;

    assert_non_null(in);
    memset(in, 0x1b, n);
    out = san_full(in, n, 0, 0, &w);
    assert_int_equal(strlen(out), 4 * n);
    assert_int_equal(w, 4 * n);
    free(out);

    out = san_full(in, n, 80, 0, &w);
    assert_int_equal(w, 77);
    assert_int_equal(strlen(out), 76 + 3);
    free(out);

    /* A long run of wide characters cut at an odd width. */
    for (size_t i = 0; i < n; i++)
        memcpy(in + 3 * i, "\xe4\xb8\xad", 3);
    out = san_full(in, 3 * n, 41, 0, &w);
    assert_int_equal(w, 41);
    assert_int_equal(strlen(out), 20 * 3 + 3);
    free(out);
    assert_int_equal(sanitize_width(in, 3 * n, 0), 2 * n);
    assert_true(sanitize_is_clean(in, 3 * n, 0));
    free(in);
}

/* The mixed string for the truncation sweep, one unit per piece so that
 * every legal cut point is known. */
static const struct {
    const char *s;
    size_t len;
} mixed[] = {
    {"a", 1},
    {"\xe4\xb8\xad", 3},
    {"\x1b", 1},
    {"[", 1},
    {"\xf0\x9f\x98\x80", 4},
    {"e", 1},
    {"\xcc\x81", 2},
    {"\\", 1},
    {"\xe2\x80\xae", 3},
    {"\xff", 1},
    {"\n", 1},
    {"\0", 1},
    {"\xc2\x9b", 2},
    {"\xe6\x96\x87", 3},
    {"z", 1},
    {"\xe2\x82", 2},
};
#define MIXED_N (sizeof mixed / sizeof mixed[0])

static void test_truncation_sweep(void **state)
{
    static const unsigned flag_sets[] = {0, SANITIZE_ASCII, SANITIZE_NEWLINES,
                                         SANITIZE_ASCII | SANITIZE_NEWLINES};
    (void)state;

    for (size_t f = 0; f < sizeof flag_sets / sizeof flag_sets[0]; f++) {
        unsigned flags = flag_sets[f];
        const char *ell = (flags & SANITIZE_ASCII) ? "..." : ELLIPSIS;
        size_t ell_w = (flags & SANITIZE_ASCII) ? 3 : 1;
        char *piece_out[MIXED_N];
        size_t piece_w[MIXED_N];
        struct buf in, joined;
        char *full;
        size_t full_w;

        buf_init(&in);
        buf_init(&joined);
        for (size_t i = 0; i < MIXED_N; i++) {
            buf_add(&in, mixed[i].s, mixed[i].len);
            piece_out[i] = san_full(mixed[i].s, mixed[i].len, 0, flags, &piece_w[i]);
            buf_adds(&joined, piece_out[i]);
        }
        full = san_full(in.data, in.len, 0, flags, &full_w);
        /* Pieces sanitize alike alone and in context, so their outputs are
         * the only places a cut may fall. */
        assert_string_equal(full, buf_get(&joined));

        for (size_t max = 0; max <= 20; max++) {
            size_t w;
            char *out = san_full(in.data, in.len, max, flags, &w);
            size_t olen = strlen(out);

            if (max == 0 || full_w <= max) {
                assert_string_equal(out, full);
                assert_int_equal(w, full_w);
                free(out);
                continue;
            }
            size_t budget = max >= ell_w ? max - ell_w : max;
            if (max >= ell_w) {
                assert_true(olen >= strlen(ell));
                assert_string_equal(out + olen - strlen(ell), ell);
                olen -= strlen(ell);
            }
            /* The body is exactly the first k pieces, k as large as fits. */
            size_t off = 0, bw = 0, k = 0;
            while (k < MIXED_N && bw + piece_w[k] <= budget) {
                size_t pl = strlen(piece_out[k]);
                assert_true(off + pl <= olen);
                assert_memory_equal(out + off, piece_out[k], pl);
                off += pl;
                bw += piece_w[k];
                k++;
            }
            assert_int_equal(off, olen);
            assert_true(k < MIXED_N);
            assert_int_equal(w, bw + (max >= ell_w ? ell_w : 0));
            free(out);
        }
        for (size_t i = 0; i < MIXED_N; i++)
            free(piece_out[i]);
        free(full);
        buf_done(&in);
        buf_done(&joined);
    }
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Random bytes weighted towards the interesting ones: whatever comes in,
 * the output is safe, its width is what the functions report, and "clean"
 * means exactly "left unchanged". */
static void test_random_bytes(void **state)
{
    static const unsigned char pool[] = {0x1b, '[',  ']',  0x07, '\\', '\n', '\r', 0x00, 0x7f,
                                         0x80, 0x9b, 0xbf, 0xc0, 0xc2, 0xe0, 0xe2, 0xed, 0xef,
                                         0xf0, 0xf4, 0xf5, 0xff, 'a',  ' ',  0x81, 0xa0, 0xae};
    uint64_t rng = 0x243f6a8885a308d3ULL;
    unsigned char in[64];
    (void)state;

    for (int iter = 0; iter < 5000; iter++) {
        size_t len = rng_next(&rng) % sizeof in;
        for (size_t i = 0; i < len; i++) {
            uint64_t r = rng_next(&rng);
            in[i] = (r & 1) ? pool[(r >> 8) % sizeof pool] : (unsigned char)(r >> 16);
        }
        for (unsigned flags = 0; flags < 4; flags++) {
            size_t max = rng_next(&rng) % 24;
            size_t w;
            char *out = san_full((const char *)in, len, 0, flags, &w);
            assert_int_equal(sanitize_width((const char *)in, len, flags), w);
            assert_int_equal(sanitize_is_clean((const char *)in, len, flags),
                             strlen(out) == len && memcmp(out, in, len) == 0);
            char *cut = san_full((const char *)in, len, max, flags, &w);
            free(cut);
            free(out);
        }
    }
}

static void test_terminal_flags(void **state)
{
    (void)state;
    assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
    assert_int_equal(sanitize_terminal_flags(), 0);
    assert_non_null(setlocale(LC_CTYPE, "C"));
    assert_int_equal(sanitize_terminal_flags(), SANITIZE_ASCII);
    assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_sequences),
        cmocka_unit_test(test_c0_del_and_whitespace),
        cmocka_unit_test(test_nul_inside),
        cmocka_unit_test(test_c1),
        cmocka_unit_test(test_bidi_and_invisible),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_printable_unicode),
        cmocka_unit_test(test_backslashes),
        cmocka_unit_test(test_ascii_mode),
        cmocka_unit_test(test_truncation_exact),
        cmocka_unit_test(test_append_keeps_existing),
        cmocka_unit_test(test_dup_and_clean),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_truncation_sweep),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_terminal_flags),
    };

    if (setlocale(LC_CTYPE, "C.UTF-8") == NULL) {
        print_error("C.UTF-8 locale missing\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
