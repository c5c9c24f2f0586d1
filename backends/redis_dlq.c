/* The DLQ read side: keyset pages over <prefix>:index, server-side filter
 * scans, one event in full, and the stats hash, reading every form that
 * CONTRACT.md says other writers produce. */
#include <config.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/redis_dlq.h"
#include "backends/redis_internal.h"
#include "backends/redis_rows.h"
#include "backends/redis_overview.h"
#include "util/buf.h"
#include "util/sanitize.h"
#include "util/sha1.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define DLQ_LIMIT_MAX 1000
/* How far the cursor's tie count may be off (entries of the cursor's score
 * deleted since) before a page fetch has to start lower in the tie group. */
#define DLQ_TIE_SLACK 16
/* Index fetches one unfiltered page may take; only a tie group rewritten
 * under the cursor needs more than one. */
#define DLQ_WALK_MAX 64
/* What one filter script call may examine, so Redis is never blocked for
 * long: index entries, and bytes of event data read. */
#define DLQ_SCAN_BUDGET 1000
#define DLQ_SCAN_BYTES  (256 * 1024)
/* Raw text of malformed data kept in a list row; show keeps all of it. */
#define DLQ_RAW_LIST_MAX 4096
/* A cursor longer than this is not one of ours. */
#define DLQ_CURSOR_MAX 65536

/* The hash fields a row shows (seed 004's, and those opsdeck's actions
 * add); show adds every other field as it is. */
#define DLQ_FIELDS(X)                                                                              \
    X(DATA, "data")                                                                                \
    X(CREATED_AT, "created_at")                                                                    \
    X(STATUS, "status")                                                                            \
    X(RETRIED_AT, "retried_at")                                                                    \
    X(RETRIED_BY, "retried_by")                                                                    \
    X(REPLAY_COUNT, "replay_count")                                                                \
    X(RESOLVED_AT, "resolved_at")

enum dlq_field {
#define DLQ_FIELD_ENUM(id, name) DLQ_F_##id,
    DLQ_FIELDS(DLQ_FIELD_ENUM)
#undef DLQ_FIELD_ENUM
        DLQ_F_COUNT
};

static const char *const dlq_field_names[DLQ_F_COUNT] = {
#define DLQ_FIELD_NAME(id, name) name,
    DLQ_FIELDS(DLQ_FIELD_NAME)
#undef DLQ_FIELD_NAME
};

/* The fields of seed 004's FailedEvent; all but the last two are required. */
static const char *const dlq_data_fields[] = {
    "event_id",       "original_event",     "failure_reason",    "error_message",
    "retry_count",    "first_failure_time", "last_failure_time", "source_service",
    "target_service", "original_queue",     "stack_trace",       "context",
};
#define DLQ_DATA_REQUIRED 10

/* Every row has these keys, in this order; show appends its own. */
static const char *const dlq_row_keys[] = {
    "event_id",       "status",         "failed_at",          "created_at",        "failure_reason",
    "error_message",  "retry_count",    "first_failure_time", "last_failure_time", "source_service",
    "target_service", "original_queue", "retried_at",         "retried_by",        "replay_count",
    "resolved_at",    "malformed",
};

/* The filter scan. From the cursor (or the top of the until bound) it walks
 * the index by rank, newest first, reads each event's hash and keeps those
 * that pass every filter, until it has limit matches, reaches the since
 * bound or the end, or has spent its budget. It returns {at_end, examined,
 * last score, last member, ties, matches}; ties is the last entry's place
 * in its score's group, matches are {member, score, HGETALL or error}.
 * Members are ordered as Redis orders them (bytes, then length), never with
 * Lua's locale-dependent `<`. */
static const char DLQ_SCAN_LUA[] =
    "local index, prefix = KEYS[1], ARGV[1]\n"
    "local limit = tonumber(ARGV[7])\n"
    "local budget, bytes_max = tonumber(ARGV[8]), tonumber(ARGV[9])\n"
    "local reason, reason_norm = ARGV[10], ARGV[11]\n"
    "local source, target, queue = ARGV[12], ARGV[13], ARGV[14]\n"
    "local status, search = ARGV[15], ARGV[16]\n"
    "local since = nil\n"
    "if ARGV[6] ~= '' then since = tonumber(ARGV[6]) end\n"
    "local need_data = reason ~= '' or source ~= '' or target ~= '' or queue ~= ''\n"
    "local bytes = 0\n"
    "\n"
    "local function norm(v)\n"
    "  local t = string.match(v, '^[%w_]+%.([%u%d_]+)$')\n"
    "  if t then return string.lower(t) end\n"
    "  return v\n"
    "end\n"
    "\n"
    "local function lt(a, b)\n"
    "  local n = #a\n"
    "  if #b < n then n = #b end\n"
    "  for i = 1, n do\n"
    "    local x, y = string.byte(a, i), string.byte(b, i)\n"
    "    if x ~= y then return x < y end\n"
    "  end\n"
    "  return #a < #b\n"
    "end\n"
    "\n"
    "-- A value of these characters appears literally in any JSON encoding of\n"
    "-- it, so data without it cannot match: skip the decode.\n"
    "local function plain(v)\n"
    "  return v ~= '' and not string.find(v, '[^%w_%.%-: ]')\n"
    "end\n"
    "local reason_up = string.upper(reason_norm)\n"
    "local literal = {}\n"
    "for _, v in ipairs({source, target, queue}) do\n"
    "  if plain(v) then literal[#literal + 1] = v end\n"
    "end\n"
    "local reason_literal = plain(reason) and plain(reason_norm)\n"
    "\n"
    "local function decode(data)\n"
    "  local ok, v = pcall(cjson.decode, data)\n"
    "  if ok and type(v) == 'table' then return v end\n"
    "  return nil\n"
    "end\n"
    "\n"
    "-- Reads only what the filters need; the whole hash only for a match.\n"
    "local want_data = need_data or search ~= ''\n"
    "local function match(m, key)\n"
    "  local st, data = nil, nil\n"
    "  local v\n"
    "  if want_data then\n"
    "    v = redis.pcall('HMGET', key, 'status', 'data')\n"
    "  else\n"
    "    v = redis.pcall('HMGET', key, 'status')\n"
    "  end\n"
    "  if v.err == nil then\n"
    "    st = v[1] or nil\n"
    "    data = v[2] or nil\n"
    "    if not st and not data and redis.call('EXISTS', key) == 0 then\n"
    "      st = 'expired'\n"
    "    end\n"
    "  end\n"
    "  if status ~= '' and st ~= status then return false end\n"
    "  if data then bytes = bytes + #data end\n"
    "  local d = nil\n"
    "  if need_data then\n"
    "    if not data then return false end\n"
    "    for i = 1, #literal do\n"
    "      if not string.find(data, literal[i], 1, true) then return false end\n"
    "    end\n"
    "    if reason_literal and not string.find(data, reason, 1, true) and\n"
    "       not string.find(data, reason_norm, 1, true) and\n"
    "       not string.find(data, reason_up, 1, true) then return false end\n"
    "    d = decode(data)\n"
    "    if not d then return false end\n"
    "    if reason ~= '' then\n"
    "      local r = d.failure_reason\n"
    "      if type(r) ~= 'string' then return false end\n"
    "      if r ~= reason and norm(r) ~= reason_norm then return false end\n"
    "    end\n"
    "    if source ~= '' and d.source_service ~= source then return false end\n"
    "    if target ~= '' and d.target_service ~= target then return false end\n"
    "    if queue ~= '' and d.original_queue ~= queue then return false end\n"
    "  end\n"
    "  if search ~= '' then\n"
    "    if string.find(string.lower(m), search, 1, true) then return true end\n"
    "    if not data then return false end\n"
    "    if string.find(string.lower(data), search, 1, true) then return true end\n"
    "    if not d then d = decode(data) end\n"
    "    local em = d and d.error_message\n"
    "    if type(em) ~= 'string' then return false end\n"
    "    return string.find(string.lower(em), search, 1, true) ~= nil\n"
    "  end\n"
    "  return true\n"
    "end\n"
    "\n"
    "local start = 0\n"
    "if ARGV[5] ~= '' then start = redis.call('ZCOUNT', index, ARGV[5], '+inf') end\n"
    "if ARGV[2] == '1' then\n"
    "  local cs, cm = ARGV[3], ARGV[4]\n"
    "  local csn = tonumber(cs)\n"
    "  local pos\n"
    "  local sc = redis.call('ZSCORE', index, cm)\n"
    "  if sc and tonumber(sc) == csn then\n"
    "    pos = redis.call('ZREVRANK', index, cm) + 1\n"
    "  else\n"
    "    pos = redis.call('ZCOUNT', index, '(' .. cs, '+inf')\n"
    "    local walking = true\n"
    "    while walking do\n"
    "      local g = redis.call('ZREVRANGE', index, pos, pos + 99, 'WITHSCORES')\n"
    "      for i = 1, #g, 2 do\n"
    "        if tonumber(g[i + 1]) ~= csn or lt(g[i], cm) then\n"
    "          walking = false\n"
    "          break\n"
    "        end\n"
    "        pos = pos + 1\n"
    "      end\n"
    "      if #g < 200 then walking = false end\n"
    "    end\n"
    "  end\n"
    "  if pos > start then start = pos end\n"
    "end\n"
    "\n"
    "local rank, examined = start, 0\n"
    "local matches = {}\n"
    "local last_s, last_m = nil, nil\n"
    "local at_end = 0\n"
    "local done = false\n"
    "while not done do\n"
    "  local chunk = redis.call('ZREVRANGE', index, rank, rank + 99, 'WITHSCORES')\n"
    "  for i = 1, #chunk, 2 do\n"
    "    local m, s = chunk[i], chunk[i + 1]\n"
    "    if since and tonumber(s) < since then\n"
    "      at_end = 1\n"
    "      done = true\n"
    "      break\n"
    "    end\n"
    "    examined = examined + 1\n"
    "    rank = rank + 1\n"
    "    last_s, last_m = s, m\n"
    "    local key = prefix .. ':' .. m\n"
    "    if match(m, key) then\n"
    "      matches[#matches + 1] = {m, s, redis.pcall('HGETALL', key)}\n"
    "    end\n"
    "    if #matches >= limit or examined >= budget or bytes >= bytes_max then\n"
    "      done = true\n"
    "      break\n"
    "    end\n"
    "  end\n"
    "  if not done and #chunk < 200 then\n"
    "    at_end = 1\n"
    "    done = true\n"
    "  end\n"
    "end\n"
    "\n"
    "local ties = 0\n"
    "if last_m then\n"
    "  ties = redis.call('ZREVRANK', index, last_m) -\n"
    "         redis.call('ZCOUNT', index, '(' .. last_s, '+inf') + 1\n"
    "end\n"
    "return {at_end, examined, last_s or '', last_m or '', ties, matches}\n";

/* ---- small helpers ---------------------------------------------------- */
static json_t *dlq_reply_str(const redisReply *r, bool *bad)
{
    return redis_rows_str(r->str, r->len, bad);
}

/* Length of the well-formed UTF-8 character at s, or 0 (the rules jansson
 * applies: no overlongs, surrogates or values past U+10FFFF). */
static size_t dlq_utf8_char(const unsigned char *s, size_t len)
{
    unsigned char b0 = s[0], lo = 0x80, hi = 0xbf;
    size_t need;

    if (b0 < 0x80)
        return 1;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        need = 1;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        need = 2;
        lo = b0 == 0xe0 ? 0xa0 : 0x80;
        hi = b0 == 0xed ? 0x9f : 0xbf;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        need = 3;
        lo = b0 == 0xf0 ? 0x90 : 0x80;
        hi = b0 == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (len <= need)
        return 0;
    for (size_t i = 1; i <= need; i++) {
        if (s[i] < lo || s[i] > hi)
            return 0;
        lo = 0x80;
        hi = 0xbf;
    }
    return need + 1;
}

/* Copies JSON text with each byte that is not UTF-8 written as the JSON
 * escape of the text "\xNN": inside a string, which is where other writers
 * put such bytes, the data parses and shows what the byte was. */
static void dlq_utf8_repair(const char *s, size_t len, struct buf *out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = dlq_utf8_char(p + i, len - i);
        if (n > 0) {
            buf_add(out, p + i, n);
            i += n;
        } else {
            char esc[5] = {'\\', '\\', 'x', hex[p[i] >> 4], hex[p[i] & 0xf]};
            buf_add(out, esc, sizeof(esc));
            i++;
        }
    }
}

static bool dlq_utf8_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = dlq_utf8_char((const unsigned char *)s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* The offset in s of offset pos of its repaired copy. */
static size_t dlq_utf8_unrepair(const char *s, size_t len, size_t pos)
{
    size_t i = 0, at = 0;
    while (i < len && at < pos) {
        size_t n = dlq_utf8_char((const unsigned char *)s + i, len - i);
        at += n > 0 ? n : 5;
        i += n > 0 ? n : 1;
    }
    return i;
}

/* "2026-11-23T17:52:16.961247Z": seconds, and microseconds when there are. */
static char *dlq_iso(int64_t us, char *out, size_t size)
{
    int64_t frac = us % 1000000;
    if (frac < 0)
        frac += 1000000;
    time_format_iso(us, out, size);
    size_t n = strlen(out);
    if (frac != 0 && n > 0)
        snprintf(out + n - 1, size - (n - 1), ".%06lldZ", (long long)frac);
    return out;
}

/* Sets key to the time s (any form time_parse_iso reads, naive = UTC) in
 * ISO Z form; a value it cannot read stays, as written, in key_raw. */
static void dlq_set_time(json_t *row, const char *key, const char *s, size_t len, bool *bad)
{
    int64_t us;
    char iso[48];
    if (len == 0)
        return;
    if (strlen(s) == len && time_parse_iso(s, &us)) {
        json_object_set_new(row, key, json_string(dlq_iso(us, iso, sizeof(iso))));
        return;
    }
    char *raw_key = xasprintf("%s_raw", key);
    json_object_set_new(row, key, json_null());
    json_object_set_new(row, raw_key, redis_rows_str(s, len, bad));
    free(raw_key);
}

/* The same for a time inside the data, which may not even be a string. */
static void dlq_set_data_time(json_t *row, const char *key, json_t *v, bool *bad)
{
    if (v == NULL || json_is_null(v))
        return;
    if (json_is_string(v)) {
        dlq_set_time(row, key, json_string_value(v), json_string_length(v), bad);
        return;
    }
    char *raw_key = xasprintf("%s_raw", key);
    json_object_set(row, raw_key, v);
    free(raw_key);
}

static bool dlq_parse_double(const char *s, double *d)
{
    char *end;
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return false;
    *d = strtod(s, &end);
    return *end == '\0' && *d == *d;
}

static bool dlq_parse_int(const char *s, size_t len, int64_t *v)
{
    char *end;
    if (len == 0 || strlen(s) != len || !(isdigit((unsigned char)*s) || *s == '-'))
        return false;
    long long x = strtoll(s, &end, 10);
    if (*end != '\0')
        return false;
    *v = (int64_t)x;
    return true;
}

/* A count kept as a hash string: a number when it reads as one. */
static json_t *dlq_count(const redisReply *r, bool *bad)
{
    int64_t v;
    if (dlq_parse_int(r->str, r->len, &v))
        return json_integer(v);
    return dlq_reply_str(r, bad);
}

/* failed_at from the index score (unix seconds, as seed 004 writes it). */
static void dlq_set_failed_at(json_t *row, const char *score)
{
    double d;
    char iso[48];
    if (score == NULL)
        return;
    if (dlq_parse_double(score, &d) && d > -1e11 && d < 1e11) {
        double x = d * 1e6;
        int64_t us = (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
        json_object_set_new(row, "failed_at", json_string(dlq_iso(us, iso, sizeof(iso))));
    } else {
        json_object_set_new(row, "failed_at_raw", json_string(score));
    }
}
/* ---- rows --------------------------------------------------------------- */

/* Raw data text into the row: whole in show, a few KB (cut on a character
 * boundary) in lists, with the full size when cut. */
static void dlq_set_raw(json_t *row, const char *raw, size_t len, bool full, bool *bad)
{
    size_t keep = len;
    if (!full && len > DLQ_RAW_LIST_MAX) {
        keep = DLQ_RAW_LIST_MAX;
        while (keep > DLQ_RAW_LIST_MAX - 4 && ((unsigned char)raw[keep] & 0xc0) == 0x80)
            keep--;
    }
    json_object_set_new(row, "data_raw", redis_rows_str(raw, keep, bad));
    if (keep < len)
        json_object_set_new(row, "data_raw_bytes", json_integer((json_int_t)len));
}

/* Any JSON value; integers past 64 bits (Python writes any size) are read
 * as reals rather than refused. */
static json_t *dlq_load(const char *s, size_t len, json_error_t *je)
{
    const size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;
    json_t *j = json_loadb(s, len, flags, je);
    if (j == NULL && json_error_code(je) == json_error_numeric_overflow)
        j = json_loadb(s, len, flags | JSON_DECODE_INT_AS_REAL, je);
    return j;
}

/* The event's data (seed 004's FailedEvent as JSON) into the row. */
static void dlq_row_data(json_t *row, const char *raw, size_t len, const char *member,
                         size_t member_len, bool full, bool *bad)
{
    json_error_t je;
    json_t *data = dlq_load(raw, len, &je);
    size_t errpos = data == NULL ? (size_t)(je.position > 0 ? je.position : 0) : 0;
    char why[128];

    if (data == NULL && !dlq_utf8_valid(raw, len)) {
        struct buf fixed;
        buf_init(&fixed);
        dlq_utf8_repair(raw, len, &fixed);
        data = dlq_load(buf_get(&fixed), fixed.len, &je);
        if (data != NULL)
            *bad = true;
        else
            errpos = dlq_utf8_unrepair(raw, len, (size_t)(je.position > 0 ? je.position : 0));
        buf_done(&fixed);
    }
    if (data == NULL || !json_is_object(data)) {
        if (data == NULL)
            snprintf(why, sizeof(why), "bad JSON at byte %zu", errpos);
        else
            snprintf(why, sizeof(why), "data is not a JSON object");
        json_object_set_new(row, "malformed", json_string(why));
        dlq_set_raw(row, raw, len, full, bad);
        json_decref(data);
        return;
    }

    json_t *v = json_object_get(data, "failure_reason");
    if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)) {
        char *n = redis_overview_normalise(json_string_value(v));
        json_object_set_new(row, "failure_reason", json_string(n));
        free(n);
    } else if (v != NULL) {
        json_object_set(row, "failure_reason", v);
    }
    static const char *const copied[] = {"error_message", "retry_count", "source_service",
                                         "target_service", "original_queue"};
    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
        if ((v = json_object_get(data, copied[i])) != NULL)
            json_object_set(row, copied[i], v);
    dlq_set_data_time(row, "first_failure_time", json_object_get(data, "first_failure_time"), bad);
    dlq_set_data_time(row, "last_failure_time", json_object_get(data, "last_failure_time"), bad);

    /* The data's own id, when it is not the index member: worth seeing. */
    v = json_object_get(data, "event_id");
    if (v != NULL && !(json_is_string(v) && json_string_length(v) == member_len &&
                       memcmp(json_string_value(v), member, member_len) == 0))
        json_object_set(row, "data_event_id", v);

    struct buf missing;
    buf_init(&missing);
    for (size_t i = 0; i < DLQ_DATA_REQUIRED; i++) {
        if (json_object_get(data, dlq_data_fields[i]) == NULL)
            buf_addf(&missing, "%s%s", missing.len > 0 ? ", " : "missing ", dlq_data_fields[i]);
    }
    if (missing.len > 0) {
        json_object_set_new(row, "malformed", json_string(buf_get(&missing)));
        dlq_set_raw(row, raw, len, full, bad);
    }
    buf_done(&missing);

    if (full) {
        static const char *const detail[] = {"original_event", "context", "stack_trace"};
        for (size_t i = 0; i < sizeof(detail) / sizeof(detail[0]); i++)
            if ((v = json_object_get(data, detail[i])) != NULL)
                json_object_set(row, detail[i], v);
        /* Fields other writers added to the event: shown, not dropped. */
        json_t *extra = json_object();
        const char *k;
        json_object_foreach(data, k, v) {
            size_t i;
            for (i = 0; i < sizeof(dlq_data_fields) / sizeof(dlq_data_fields[0]); i++)
                if (strcmp(k, dlq_data_fields[i]) == 0)
                    break;
            if (i == sizeof(dlq_data_fields) / sizeof(dlq_data_fields[0]))
                json_object_set(extra, k, v);
        }
        if (json_object_size(extra) > 0)
            json_object_set(row, "data_extra", extra);
        json_decref(extra);
    }
    json_decref(data);
}

/* A field name from Redis as a JSON object key (which must be UTF-8). */
static char *dlq_key(const redisReply *r, bool *bad)
{
    json_t *s = dlq_reply_str(r, bad);
    char *k = xstrdup(json_string_value(s));
    json_decref(s);
    return k;
}

/* One event's row from its index member, its score (NULL when it has no
 * index entry) and its HGETALL reply (an empty array when the hash is gone,
 * an error reply when it is unreadable). full is show's row. */
static json_t *dlq_row(const char *member, size_t member_len, const char *score,
                       const redisReply *hash, bool full)
{
    json_t *row = json_object();
    const redisReply *f[DLQ_F_COUNT] = {NULL};
    json_t *others = NULL;
    bool bad = false;
    char why[256];

    for (size_t i = 0; i < sizeof(dlq_row_keys) / sizeof(dlq_row_keys[0]); i++)
        json_object_set_new(row, dlq_row_keys[i], json_null());
    if (full) {
        json_object_set_new(row, "original_event", json_null());
        json_object_set_new(row, "context", json_null());
        json_object_set_new(row, "stack_trace", json_null());
        json_object_set_new(row, "in_index", json_boolean(score != NULL));
    }
    json_object_set_new(row, "event_id", redis_rows_str(member, member_len, &bad));
    dlq_set_failed_at(row, score);

    if (hash == NULL || hash->type != REDIS_REPLY_ARRAY) {
        snprintf(why, sizeof(why), "hash unreadable: %.200s",
                 hash != NULL && hash->type == REDIS_REPLY_ERROR ? hash->str : "no reply");
        json_object_set_new(row, "malformed", redis_rows_str(why, strlen(why), &bad));
        goto out;
    }
    if (hash->elements == 0) {
        /* Seed 004 expires the hash after 30 days and keeps the index
         * entry: normal, and shown as such. */
        json_object_set_new(row, "status", json_string("expired"));
        goto out;
    }
    for (size_t i = 0; i + 1 < hash->elements; i += 2) {
        const redisReply *k = hash->element[i], *v = hash->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        size_t j;
        for (j = 0; j < DLQ_F_COUNT; j++)
            if (redis_rows_reply_is(k, dlq_field_names[j]))
                break;
        if (j < DLQ_F_COUNT) {
            f[j] = v;
        } else if (full) {
            char *name = dlq_key(k, &bad);
            if (others == NULL)
                others = json_object();
            json_object_set_new(others, name, dlq_reply_str(v, &bad));
            free(name);
        }
    }
    if (f[DLQ_F_STATUS] != NULL)
        json_object_set_new(row, "status", dlq_reply_str(f[DLQ_F_STATUS], &bad));
    if (f[DLQ_F_RETRIED_BY] != NULL)
        json_object_set_new(row, "retried_by", dlq_reply_str(f[DLQ_F_RETRIED_BY], &bad));
    if (f[DLQ_F_REPLAY_COUNT] != NULL)
        json_object_set_new(row, "replay_count", dlq_count(f[DLQ_F_REPLAY_COUNT], &bad));
    static const enum dlq_field times[] = {DLQ_F_CREATED_AT, DLQ_F_RETRIED_AT, DLQ_F_RESOLVED_AT};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        if (f[times[i]] != NULL)
            dlq_set_time(row, dlq_field_names[times[i]], f[times[i]]->str, f[times[i]]->len, &bad);
    if (f[DLQ_F_DATA] == NULL)
        json_object_set_new(row, "malformed", json_string("missing data"));
    else
        dlq_row_data(row, f[DLQ_F_DATA]->str, f[DLQ_F_DATA]->len, member, member_len, full, &bad);
out:
    if (bad)
        json_object_set_new(row, "invalid_utf8", json_true());
    /* Fields of other writers and of later actions (retry_error,
     * resolution_note, resolved_by, ...), under their own names unless
     * that would hide one of the row's. */
    redis_rows_merge_others(row, others);
    return row;
}

/* ---- cursor ------------------------------------------------------------- */

/* A place in the index: the entry last returned. */
struct dlq_pos {
    bool set;
    char *score; /* Redis's spelling of the score, exact when read back */
    double score_d;
    int64_t ties; /* entries of this score up to this one: a hint */
    char *member;
    size_t member_len;
};

static void dlq_pos_done(struct dlq_pos *p)
{
    free(p->score);
    free(p->member);
    memset(p, 0, sizeof(*p));
}

static void dlq_pos_set(struct dlq_pos *p, const char *score, double score_d, int64_t ties,
                        const char *member, size_t member_len)
{
    char *s = xstrdup(score), *m = xmalloc(member_len + 1);
    memcpy(m, member, member_len);
    m[member_len] = '\0';
    dlq_pos_done(p);
    p->set = true;
    p->score = s;
    p->score_d = score_d;
    p->ties = ties;
    p->member = m;
    p->member_len = member_len;
}

static const char dlq_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The cursor: "<score>:<ties>:<member in base64url, unpadded>". */
static char *dlq_pos_encode(const struct dlq_pos *p)
{
    struct buf b;
    const unsigned char *m = (const unsigned char *)p->member;
    buf_init(&b);
    buf_addf(&b, "%s:%lld:", p->score, (long long)p->ties);
    for (size_t i = 0; i < p->member_len; i += 3) {
        uint32_t v = (uint32_t)m[i] << 16;
        size_t n = p->member_len - i;
        if (n > 1)
            v |= (uint32_t)m[i + 1] << 8;
        if (n > 2)
            v |= m[i + 2];
        buf_addc(&b, dlq_b64[(v >> 18) & 63]);
        buf_addc(&b, dlq_b64[(v >> 12) & 63]);
        if (n > 1)
            buf_addc(&b, dlq_b64[(v >> 6) & 63]);
        if (n > 2)
            buf_addc(&b, dlq_b64[v & 63]);
    }
    return buf_take(&b);
}

static int dlq_b64_value(char c)
{
    const char *p = c != '\0' ? strchr(dlq_b64, c) : NULL;
    return p != NULL ? (int)(p - dlq_b64) : -1;
}

/* Parses a cursor; on failure returns false and leaves p unset. */
static bool dlq_pos_decode(const char *s, struct dlq_pos *p)
{
    size_t len = strlen(s);
    const char *c1 = strchr(s, ':');
    const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    if (len > DLQ_CURSOR_MAX || c1 == NULL || c2 == NULL || c1 == s || c1 - s > 40)
        return false;

    char score[48];
    memcpy(score, s, (size_t)(c1 - s));
    score[c1 - s] = '\0';
    for (const char *q = score; *q; q++)
        if (!isalnum((unsigned char)*q) && !strchr("+-.", *q))
            return false;
    double d;
    if (!dlq_parse_double(score, &d))
        return false;

    int64_t ties = 0;
    if (c2 == c1 + 1 || c2 - c1 > 11)
        return false;
    for (const char *q = c1 + 1; q < c2; q++) {
        if (!isdigit((unsigned char)*q))
            return false;
        ties = ties * 10 + (*q - '0');
    }
    if (ties < 1)
        return false;

    const char *b = c2 + 1;
    size_t blen = strlen(b);
    if (blen % 4 == 1)
        return false;
    char *m = xmalloc(blen / 4 * 3 + 3);
    size_t mlen = 0;
    for (size_t i = 0; i < blen; i += 4) {
        size_t n = blen - i < 4 ? blen - i : 4;
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            int x = j < n ? dlq_b64_value(b[i + j]) : 0;
            if (x < 0) {
                free(m);
                return false;
            }
            v = (v << 6) | (uint32_t)x;
        }
        /* Unused low bits of a short group must be zero: one spelling each. */
        if ((n == 2 && (v & 0xffff)) || (n == 3 && (v & 0xff))) {
            free(m);
            return false;
        }
        m[mlen++] = (char)(v >> 16);
        if (n > 2)
            m[mlen++] = (char)(v >> 8);
        if (n > 3)
            m[mlen++] = (char)v;
    }
    dlq_pos_set(p, score, d, ties, m, mlen);
    free(m);
    return true;
}

/* Redis's order of members with equal scores: bytes, then length. */
static bool dlq_member_lt(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c != 0 ? c < 0 : alen < blen;
}

/* ---- range -------------------------------------------------------------- */

struct dlq_range {
    bool has_since, has_until;
    char since[40], until[40]; /* seconds, as scores are written */
    double since_d, until_d;
};

static void dlq_seconds(int64_t us, char *out, size_t size)
{
    uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
    snprintf(out, size, "%s%llu.%06llu", us < 0 ? "-" : "", (unsigned long long)(a / 1000000),
             (unsigned long long)(a % 1000000));
}

static void dlq_range_init(struct dlq_range *r, const struct redis_dlq_query *q)
{
    memset(r, 0, sizeof(*r));
    if (q->since_us != 0) {
        r->has_since = true;
        dlq_seconds(q->since_us, r->since, sizeof(r->since));
        r->since_d = strtod(r->since, NULL);
    }
    if (q->until_us != 0) {
        r->has_until = true;
        dlq_seconds(q->until_us, r->until, sizeof(r->until));
        r->until_d = strtod(r->until, NULL);
    }
}

/* ---- the unfiltered page -------------------------------------------------- */

struct dlq_entry {
    char *member;
    size_t member_len;
    char *score;
};
/* Reads one window of the index below the position into page. Returns
 * whether the window ended the range (*end) and moves pos along. */
static enum status dlq_index_window(struct redis_conn *c, const char *index,
                                    const struct dlq_range *rg, size_t limit, struct dlq_pos *pos,
                                    bool *halve, struct dlq_entry *page, size_t *got, bool *end,
                                    int *trips, struct error *err)
{
    /* Entries of the cursor's own score come first in the window: those up
     * to the cursor's member were returned already. The tie count lets the
     * window start near the member instead of at the top of its group. */
    enum status rc = STATUS_OK;
    bool in_group = pos->set && !(rg->has_until && pos->score_d >= rg->until_d);
    int64_t o = 0;
    if (in_group)
        o = *halve ? pos->ties / 2 : (pos->ties > DLQ_TIE_SLACK ? pos->ties - DLQ_TIE_SLACK : 0);
    size_t skip = in_group ? (size_t)(pos->ties - o) : 0;
    if (skip > 1000)
        skip = 1000;
    size_t want = limit - *got + skip + 1;

    char max[64], off[32], cnt[32];
    if (in_group)
        snprintf(max, sizeof(max), "%s", pos->score);
    else if (rg->has_until)
        snprintf(max, sizeof(max), "(%s", rg->until);
    else
        snprintf(max, sizeof(max), "+inf");
    snprintf(off, sizeof(off), "%lld", (long long)o);
    snprintf(cnt, sizeof(cnt), "%zu", want);
    const char *argv[] = {"ZREVRANGEBYSCORE", index,   max, rg->has_since ? rg->since : "-inf",
                          "WITHSCORES",       "LIMIT", off, cnt};
    redisReply *r = redis_conn_command(c, 8, argv, NULL, err);
    (*trips)++;
    if (r == NULL)
        return err->status;
    if (r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return error_set(err, STATUS_UNAVAILABLE, "redis at %s: unexpected reply to %s",
                         redis_conn_endpoint(c), argv[0]);
    }

    size_t n = r->elements / 2;
    const double cur_d = pos->score_d;
    /* A copy: pos moves on as rows are taken. Members may hold NUL. */
    const size_t cur_mlen = pos->member_len;
    char *cur_m = NULL;
    if (in_group) {
        cur_m = xmalloc(cur_mlen + 1);
        memcpy(cur_m, pos->member, cur_mlen + 1);
    }
    /* Started inside the group, the window's first entry must be one
     * already returned; if not, entries were deleted under the hint and
     * some unseen ones may lie before the window: look lower. */
    if (in_group && o > 0) {
        double d0;
        const redisReply *m0 = n > 0 ? r->element[0] : NULL;
        if (m0 == NULL || !dlq_parse_double(r->element[1]->str, &d0) || d0 != cur_d ||
            dlq_member_lt(m0->str, m0->len, cur_m, cur_mlen)) {
            pos->ties = o;
            *halve = true;
            goto out;
        }
    }
    *halve = false;

    double prev_d = 0;
    int64_t gpos = 0, seen = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        const redisReply *m = r->element[2 * i], *s = r->element[2 * i + 1];
        double d;
        if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING ||
            !dlq_parse_double(s->str, &d)) {
            rc = error_set(err, STATUS_UNAVAILABLE, "redis at %s: unexpected reply to %s",
                           redis_conn_endpoint(c), argv[0]);
            goto out;
        }
        if (i == 0)
            gpos = in_group && d == cur_d ? o : 0;
        else
            gpos = d == prev_d ? gpos + 1 : 0;
        prev_d = d;
        if (in_group && d == cur_d && !dlq_member_lt(m->str, m->len, cur_m, cur_mlen)) {
            seen = o + (int64_t)i + 1;
            continue;
        }
        if (*got == limit)
            break;
        page[*got].member = xmalloc(m->len + 1);
        memcpy(page[*got].member, m->str, m->len);
        page[*got].member[m->len] = '\0';
        page[*got].member_len = m->len;
        page[*got].score = xstrdup(s->str);
        (*got)++;
        dlq_pos_set(pos, s->str, d, gpos + 1, m->str, m->len);
    }
    /* A window of nothing but entries already returned: start past them. */
    if (pos->set && seen > pos->ties && pos->score_d == cur_d && cur_m != NULL &&
        pos->member_len == cur_mlen && memcmp(pos->member, cur_m, cur_mlen) == 0)
        pos->ties = seen;
    *end = i == n && n < want;
out:
    free(cur_m);
    freeReplyObject(r);
    return rc;
}

/* Builds rows for page entries with one pipelined HGETALL batch. */
static enum status dlq_fetch_rows(struct redis_conn *c, const char *prefix,
                                  const struct dlq_entry *page, size_t n, bool full, json_t *rows,
                                  int *trips, struct error *err)
{
    enum status rc = STATUS_OK;
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < n; i++) {
        size_t klen = plen + 1 + page[i].member_len;
        char *key = xmalloc(klen + 1);
        memcpy(key, prefix, plen);
        key[plen] = ':';
        memcpy(key + plen + 1, page[i].member, page[i].member_len);
        key[klen] = '\0';
        const char *argv[] = {"HGETALL", key};
        const size_t lens[] = {7, klen};
        rc = redis_conn_append(c, 2, argv, lens, err);
        free(key);
        if (rc != STATUS_OK)
            return rc;
    }
    if (n > 0)
        (*trips)++;
    for (size_t i = 0; i < n; i++) {
        redisReply *r = redis_conn_reply(c, err);
        if (r == NULL)
            return err->status;
        json_array_append_new(rows,
                              dlq_row(page[i].member, page[i].member_len, page[i].score, r, full));
        freeReplyObject(r);
    }
    return rc;
}

static enum status dlq_list_index(struct redis_conn *c, const char *prefix, const char *index,
                                  const struct redis_dlq_query *q, const struct dlq_range *rg,
                                  struct dlq_pos *pos, json_t *rows, char **next, int *trips,
                                  struct error *err)
{
    enum status rc = STATUS_OK;
    struct dlq_entry *page = xcalloc(q->limit, sizeof(*page));
    size_t got = 0;
    bool end = false, halve = false;

    for (int walk = 0; walk < DLQ_WALK_MAX && !end; walk++) {
        if (pos->set && rg->has_since && pos->score_d < rg->since_d) {
            end = true;
            break;
        }
        rc = dlq_index_window(c, index, rg, q->limit, pos, &halve, page, &got, &end, trips, err);
        if (rc != STATUS_OK)
            goto out;
        if (got == q->limit)
            break;
    }
    rc = dlq_fetch_rows(c, prefix, page, got, q->full, rows, trips, err);
    if (rc == STATUS_OK && !end && pos->set)
        *next = dlq_pos_encode(pos);
out:
    for (size_t i = 0; i < got; i++) {
        free(page[i].member);
        free(page[i].score);
    }
    free(page);
    return rc;
}

/* ---- the filtered page ---------------------------------------------------- */

/* EVALSHA; when Redis no longer has the script (a restart or SCRIPT FLUSH
 * dropped its cache) loads it and tries once more. */
static redisReply *dlq_evalsha(struct redis_conn *c, const char *sha, int argc, const char **argv,
                               const size_t *lens, int *trips, struct error *err)
{
    for (int attempt = 0;; attempt++) {
        if (redis_conn_append(c, argc, argv, lens, err) != STATUS_OK)
            return NULL;
        redisReply *r = redis_conn_reply(c, err);
        (*trips)++;
        if (r == NULL || r->type != REDIS_REPLY_ERROR)
            return r;
        if (attempt > 0 || strncmp(r->str, "NOSCRIPT", 8) != 0) {
            redis_conn_reply_error(c, r, err);
            freeReplyObject(r);
            return NULL;
        }
        freeReplyObject(r);
        const char *load[] = {"SCRIPT", "LOAD", DLQ_SCAN_LUA};
        redisReply *l = redis_conn_command(c, 3, load, NULL, err);
        (*trips)++;
        if (l == NULL)
            return NULL;
        bool same = l->type == REDIS_REPLY_STRING && strcmp(l->str, sha) == 0;
        freeReplyObject(l);
        if (!same) {
            error_set(err, STATUS_UNAVAILABLE, "redis at %s: SCRIPT LOAD gave another hash",
                      redis_conn_endpoint(c));
            return NULL;
        }
    }
}

static const char *dlq_opt(const char *s)
{
    return s != NULL ? s : "";
}

static enum status dlq_bad_scan_reply(struct redis_conn *c, struct error *err)
{
    return error_set(err, STATUS_UNAVAILABLE, "redis at %s: unexpected reply from the DLQ scan",
                     redis_conn_endpoint(c));
}

static enum status dlq_list_scan(struct redis_conn *c, const char *prefix, const char *index,
                                 const struct redis_dlq_query *q, const struct dlq_range *rg,
                                 struct dlq_pos *pos, json_t *rows, char **next, int *trips,
                                 struct error *err)
{
    enum status rc = STATUS_OK;
    char sha[41], lim[32], budget[32], bytes[32];
    char *reason_norm = redis_overview_normalise(dlq_opt(q->reason));
    char *search = xstrdup(dlq_opt(q->search));
    size_t got = 0;
    bool end = false;

    /* The script lower-cases with string.lower, which is ASCII in Redis. */
    for (char *p = search; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    sha1_hex(DLQ_SCAN_LUA, sizeof(DLQ_SCAN_LUA) - 1, sha);
    snprintf(budget, sizeof(budget), "%d", DLQ_SCAN_BUDGET);
    snprintf(bytes, sizeof(bytes), "%d", DLQ_SCAN_BYTES);

    while (got < q->limit) {
        snprintf(lim, sizeof(lim), "%zu", q->limit - got);
        const char *argv[] = {"EVALSHA",
                              sha,
                              "1",
                              index,
                              prefix,
                              pos->set ? "1" : "0",
                              pos->set ? pos->score : "",
                              pos->set ? pos->member : "",
                              rg->has_until ? rg->until : "",
                              rg->has_since ? rg->since : "",
                              lim,
                              budget,
                              bytes,
                              dlq_opt(q->reason),
                              reason_norm,
                              dlq_opt(q->source),
                              dlq_opt(q->target),
                              dlq_opt(q->queue),
                              dlq_opt(q->status),
                              search};
        const int argc = (int)(sizeof(argv) / sizeof(argv[0]));
        size_t lens[sizeof(argv) / sizeof(argv[0])];
        for (int i = 0; i < argc; i++)
            lens[i] = strlen(argv[i]);
        lens[7] = pos->set ? pos->member_len : 0;

        redisReply *r = dlq_evalsha(c, sha, argc, argv, lens, trips, err);
        if (r == NULL) {
            rc = err->status;
            goto out;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 6 ||
            r->element[0]->type != REDIS_REPLY_INTEGER ||
            r->element[1]->type != REDIS_REPLY_INTEGER ||
            r->element[2]->type != REDIS_REPLY_STRING ||
            r->element[3]->type != REDIS_REPLY_STRING ||
            r->element[4]->type != REDIS_REPLY_INTEGER ||
            r->element[5]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(r);
            rc = dlq_bad_scan_reply(c, err);
            goto out;
        }
        const redisReply *matches = r->element[5];
        for (size_t i = 0; i < matches->elements; i++) {
            const redisReply *m = matches->element[i];
            if (m->type != REDIS_REPLY_ARRAY || m->elements != 3 ||
                m->element[0]->type != REDIS_REPLY_STRING ||
                m->element[1]->type != REDIS_REPLY_STRING) {
                freeReplyObject(r);
                rc = dlq_bad_scan_reply(c, err);
                goto out;
            }
            json_array_append_new(rows, dlq_row(m->element[0]->str, m->element[0]->len,
                                                m->element[1]->str, m->element[2], q->full));
            got++;
        }
        end = r->element[0]->integer != 0;
        double d;
        if (r->element[1]->integer > 0) {
            if (!dlq_parse_double(r->element[2]->str, &d)) {
                freeReplyObject(r);
                rc = dlq_bad_scan_reply(c, err);
                goto out;
            }
            dlq_pos_set(pos, r->element[2]->str, d, r->element[4]->integer, r->element[3]->str,
                        r->element[3]->len);
        } else if (!end) {
            /* Neither a step nor the end: calling again would loop. */
            freeReplyObject(r);
            rc = dlq_bad_scan_reply(c, err);
            goto out;
        }
        freeReplyObject(r);
        if (end)
            break;
    }
    if (!end && pos->set)
        *next = dlq_pos_encode(pos);
out:
    free(search);
    free(reason_norm);
    return rc;
}

/* ---- the API -------------------------------------------------------------- */

static bool dlq_given(const char *s)
{
    return s != NULL && *s != '\0';
}

enum status redis_dlq_list(struct redis_conn *c, const struct redis_dlq_query *q, json_t **rows,
                           char **next, int *round_trips, struct error *err)
{
    enum status rc = STATUS_OK;
    struct dlq_pos pos = {0};
    struct dlq_range rg;
    int trips = 0;

    *rows = NULL;
    *next = NULL;
    if (round_trips != NULL)
        *round_trips = 0;
    if (q->limit < 1 || q->limit > DLQ_LIMIT_MAX)
        return error_set(err, STATUS_USAGE, "--limit must be 1..%d", DLQ_LIMIT_MAX);
    if (dlq_given(q->after) && !dlq_pos_decode(q->after, &pos))
        return error_set(err, STATUS_USAGE, "bad --after cursor");

    const char *prefix = q->prefix != NULL && *q->prefix ? q->prefix : "dlq";
    char *index = xasprintf("%s:index", prefix);
    json_t *out = json_array();
    dlq_range_init(&rg, q);
    if (rg.has_since && rg.has_until && q->since_us >= q->until_us)
        goto out;
    if (dlq_given(q->reason) || dlq_given(q->source) || dlq_given(q->target) ||
        dlq_given(q->queue) || dlq_given(q->status) || dlq_given(q->search))
        rc = dlq_list_scan(c, prefix, index, q, &rg, &pos, out, next, &trips, err);
    else
        rc = dlq_list_index(c, prefix, index, q, &rg, &pos, out, next, &trips, err);
out:
    if (rc == STATUS_OK) {
        *rows = out;
    } else {
        json_decref(out);
        free(*next);
        *next = NULL;
    }
    if (round_trips != NULL)
        *round_trips = trips;
    dlq_pos_done(&pos);
    free(index);
    return rc;
}

static enum status redis_dlq_show_exact(struct redis_conn *c, const char *prefix,
                                        const char *event_id, json_t **out, struct error *err);

/* The bytes behind an id that a list showed escaped (an id that is not
 * valid UTF-8 can only be named that way): the sanitizer's escapes
 * reversed (\\ \n \t \r \xHH \u{H...}). NULL when id
 * has no escape or one that the sanitizer does not write. */
static char *redis_dlq_unescape(const char *id)
{
    if (strchr(id, '\\') == NULL)
        return NULL;
    size_t len = strlen(id);
    char *out = xmalloc(len + 1), *o = out;
    for (const char *p = id; *p != '\0';) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        unsigned v;
        int n = 0;
        if (p[1] == '\\' || p[1] == 'n' || p[1] == 't' || p[1] == 'r') {
            *o++ = p[1] == 'n' ? '\n' : p[1] == 't' ? '\t' : p[1] == 'r' ? '\r' : '\\';
            p += 2;
        } else if (p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
                   isxdigit((unsigned char)p[3]) && sscanf(p + 2, "%2x", &v) == 1 && v != 0) {
            *o++ = (char)v;
            p += 4;
        } else if (p[1] == 'u' && p[2] == '{' && sscanf(p + 3, "%6x%n", &v, &n) == 1 &&
                   p[3 + n] == '}' && v > 0 && v <= 0x10ffff) {
            /* UTF-8 takes at most as many bytes as the escape's 5 + digits */
            if (v < 0x80) {
                *o++ = (char)v;
            } else if (v < 0x800) {
                *o++ = (char)(0xc0 | (v >> 6));
                *o++ = (char)(0x80 | (v & 0x3f));
            } else if (v < 0x10000) {
                *o++ = (char)(0xe0 | (v >> 12));
                *o++ = (char)(0x80 | ((v >> 6) & 0x3f));
                *o++ = (char)(0x80 | (v & 0x3f));
            } else {
                *o++ = (char)(0xf0 | (v >> 18));
                *o++ = (char)(0x80 | ((v >> 12) & 0x3f));
                *o++ = (char)(0x80 | ((v >> 6) & 0x3f));
                *o++ = (char)(0x80 | (v & 0x3f));
            }
            p += 4 + n;
        } else {
            free(out);
            return NULL;
        }
    }
    *o = '\0';
    return out;
}

enum status redis_dlq_ids_raw(struct redis_conn *c, const char *prefix, size_t n,
                              const char *const *ids, char ***out, struct error *err)
{
    const char *p = prefix != NULL && *prefix ? prefix : "dlq";
    char *index = xasprintf("%s:index", p);
    enum status rc = STATUS_OK;
    *out = xcalloc(n + 1, sizeof(**out));
    for (size_t i = 0; i < n; i++) {
        char *raw = rc == STATUS_OK ? redis_dlq_unescape(ids[i]) : NULL;
        if (raw != NULL) {
            /* An id that really has a backslash is kept when it exists. */
            char *key = xasprintf("%s:%s", p, ids[i]);
            const char *ex[] = {"EXISTS", key}, *sc[] = {"ZSCORE", index, ids[i]};
            /* Both in one round trip. */
            redisReply *e = NULL, *z = NULL;
            if ((rc = redis_conn_append(c, 2, ex, NULL, err)) == STATUS_OK &&
                (rc = redis_conn_append(c, 3, sc, NULL, err)) == STATUS_OK &&
                ((e = redis_conn_reply(c, err)) == NULL || (z = redis_conn_reply(c, err)) == NULL))
                rc = err->status;
            if (rc == STATUS_OK && ((e->type == REDIS_REPLY_INTEGER && e->integer > 0) ||
                                    z->type != REDIS_REPLY_NIL)) {
                free(raw);
                raw = NULL;
            }
            if (e != NULL)
                freeReplyObject(e);
            if (z != NULL)
                freeReplyObject(z);
            free(key);
        }
        (*out)[i] = raw != NULL ? raw : xstrdup(ids[i]);
    }
    free(index);
    if (rc != STATUS_OK) {
        for (size_t i = 0; i < n; i++)
            free((*out)[i]);
        free(*out);
        *out = NULL;
    }
    return rc;
}

enum status redis_dlq_show(struct redis_conn *c, const char *prefix, const char *event_id,
                           json_t **out, struct error *err)
{
    char **raw;
    enum status rc = redis_dlq_ids_raw(c, prefix, 1, &event_id, &raw, err);
    if (rc != STATUS_OK)
        return rc;
    rc = redis_dlq_show_exact(c, prefix, raw[0], out, err);
    free(raw[0]);
    free(raw);
    return rc;
}

static enum status redis_dlq_show_exact(struct redis_conn *c, const char *prefix,
                                        const char *event_id, json_t **out, struct error *err)
{
    enum status rc;
    redisReply *hash = NULL, *score = NULL;
    if (prefix == NULL || *prefix == '\0')
        prefix = "dlq";
    char *key = xasprintf("%s:%s", prefix, event_id);
    char *index = xasprintf("%s:index", prefix);
    const char *a0[] = {"HGETALL", key};
    const char *a1[] = {"ZSCORE", index, event_id};

    *out = NULL;
    if ((rc = redis_conn_append(c, 2, a0, NULL, err)) != STATUS_OK ||
        (rc = redis_conn_append(c, 3, a1, NULL, err)) != STATUS_OK)
        goto out;
    if ((hash = redis_conn_reply(c, err)) == NULL || (score = redis_conn_reply(c, err)) == NULL) {
        rc = err->status;
        goto out;
    }
    if (score->type == REDIS_REPLY_ERROR) {
        rc = redis_conn_reply_error(c, score, err);
        goto out;
    }
    if (hash->type == REDIS_REPLY_ARRAY && hash->elements == 0 &&
        score->type != REDIS_REPLY_STRING) {
        char *safe = sanitize_dup(event_id, 0);
        rc = error_set(err, STATUS_NOT_FOUND, "dlq event %s not found", safe);
        free(safe);
        goto out;
    }
    *out = dlq_row(event_id, strlen(event_id),
                   score->type == REDIS_REPLY_STRING ? score->str : NULL, hash, true);
out:
    if (score != NULL)
        freeReplyObject(score);
    if (hash != NULL)
        freeReplyObject(hash);
    free(index);
    free(key);
    return rc;
}

/* by_reason, by_source, by_target: largest first, then by name. */
struct dlq_tally {
    const char *name;
    json_int_t count;
};

static int dlq_tally_cmp(const void *a, const void *b)
{
    const struct dlq_tally *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->name, y->name);
}

static json_t *dlq_sorted(json_t *counts)
{
    size_t n = json_object_size(counts), i = 0;
    struct dlq_tally *t = xcalloc(n + 1, sizeof(*t));
    const char *k;
    json_t *v;
    json_object_foreach(counts, k, v) {
        t[i].name = k;
        t[i++].count = json_integer_value(v);
    }
    qsort(t, n, sizeof(*t), dlq_tally_cmp);
    json_t *out = json_object();
    for (i = 0; i < n; i++)
        json_object_set_new(out, t[i].name, json_integer(t[i].count));
    free(t);
    json_decref(counts);
    return out;
}

static void dlq_tally_add(json_t *counts, const char *name, json_int_t n)
{
    json_t *v = json_object_get(counts, name);
    json_object_set_new(counts, name, json_integer(n + (v != NULL ? json_integer_value(v) : 0)));
}

enum status redis_dlq_stats(struct redis_conn *c, const char *prefix, json_t **out,
                            struct error *err)
{
    enum status rc;
    redisReply *stats = NULL, *depth = NULL;
    if (prefix == NULL || *prefix == '\0')
        prefix = "dlq";
    char *skey = xasprintf("%s:stats", prefix);
    char *index = xasprintf("%s:index", prefix);
    const char *a0[] = {"HGETALL", skey};
    const char *a1[] = {"ZCARD", index};

    *out = NULL;
    if ((rc = redis_conn_append(c, 2, a0, NULL, err)) != STATUS_OK ||
        (rc = redis_conn_append(c, 2, a1, NULL, err)) != STATUS_OK)
        goto out;
    if ((stats = redis_conn_reply(c, err)) == NULL || (depth = redis_conn_reply(c, err)) == NULL) {
        rc = err->status;
        goto out;
    }
    if (stats->type == REDIS_REPLY_ERROR || depth->type == REDIS_REPLY_ERROR) {
        rc = redis_conn_reply_error(c, stats->type == REDIS_REPLY_ERROR ? stats : depth, err);
        goto out;
    }

    static const struct {
        const char *prefix, *key;
        bool normalise;
    } groups[] = {{"reason:", "by_reason", true},
                  {"source:", "by_source", false},
                  {"target:", "by_target", false},
                  {"status:", "by_status", false}};
    enum { NGROUPS = sizeof(groups) / sizeof(groups[0]) };
    json_t *g[NGROUPS], *unparsed = json_object(), *other = json_object();
    json_t *res = json_object();
    bool bad = false;
    for (size_t i = 0; i < NGROUPS; i++)
        g[i] = json_object();
    json_object_set_new(res, "total_failed_events", json_null());
    json_object_set_new(
        res, "depth",
        json_integer(depth->type == REDIS_REPLY_INTEGER ? (json_int_t)depth->integer : 0));
    json_object_set_new(res, "last_updated", json_null());

    size_t n = stats->type == REDIS_REPLY_ARRAY ? stats->elements : 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        const redisReply *k = stats->element[i], *v = stats->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        char *name = dlq_key(k, &bad);
        int64_t count;
        bool is_count = dlq_parse_int(v->str, v->len, &count);
        size_t j;
        for (j = 0; j < NGROUPS; j++)
            if (strncmp(name, groups[j].prefix, strlen(groups[j].prefix)) == 0)
                break;
        if (strcmp(name, "last_updated") == 0) {
            dlq_set_time(res, "last_updated", v->str, v->len, &bad);
        } else if (!is_count && (j < NGROUPS || strcmp(name, "total_failed_events") == 0)) {
            json_object_set_new(unparsed, name, dlq_reply_str(v, &bad));
        } else if (strcmp(name, "total_failed_events") == 0) {
            json_object_set_new(res, "total_failed_events", json_integer(count));
        } else if (j < NGROUPS) {
            const char *what = name + strlen(groups[j].prefix);
            /* A writer's enum repr and another's value are one reason. */
            char *norm = groups[j].normalise ? redis_overview_normalise(what) : xstrdup(what);
            dlq_tally_add(g[j], norm, count);
            free(norm);
        } else {
            json_object_set_new(other, name, dlq_reply_str(v, &bad));
        }
        free(name);
    }
    for (size_t i = 0; i + 1 < NGROUPS; i++)
        json_object_set_new(res, groups[i].key, dlq_sorted(g[i]));

    /* Counts by status come only from counters (no scan): null until
     * opsdeck's actions have written one. A pending_review counter no writer
     * keeps is derived from the depth and flagged as such. */
    json_t *by_status = g[NGROUPS - 1];
    if (json_object_size(by_status) == 0) {
        json_decref(by_status);
        json_object_set_new(res, "by_status", json_null());
    } else {
        if (json_object_get(by_status, "pending_review") == NULL) {
            json_int_t rest = depth->type == REDIS_REPLY_INTEGER ? depth->integer : 0;
            const char *k;
            json_t *v;
            json_object_foreach(by_status, k, v)
                rest -= json_integer_value(v);
            json_object_set_new(by_status, "pending_review", json_integer(rest > 0 ? rest : 0));
            json_t *derived = json_array();
            json_array_append_new(derived, json_string("pending_review"));
            json_object_set_new(res, "by_status_derived", derived);
        }
        json_object_set_new(res, "by_status", by_status);
    }
    if (json_object_size(unparsed) > 0)
        json_object_set(res, "unparsed", unparsed);
    if (json_object_size(other) > 0)
        json_object_set(res, "other_fields", other);
    json_decref(unparsed);
    json_decref(other);
    if (bad)
        json_object_set_new(res, "invalid_utf8", json_true());
    *out = res;
out:
    if (depth != NULL)
        freeReplyObject(depth);
    if (stats != NULL)
        freeReplyObject(stats);
    free(index);
    free(skey);
    return rc;
}
