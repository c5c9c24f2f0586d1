/* Operator actions on the DLQ and the circuit breakers in Redis: one Lua
 * script per kind of action, run with EVALSHA once per item and pipelined,
 * so that the state check, the change, the counters, the audit entry and
 * the idempotency record happen atomically on the server. */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/redis_actions.h"
#include "backends/redis_internal.h"
#include "util/buf.h"
#include "util/sanitize.h"
#include "util/sha1.h"
#include "util/xmalloc.h"

/* How long a repeat of an idempotency key returns the first outcome. */
#define ACTIONS_IDEM_TTL "86400"
/* Approximate length the audit stream is trimmed to. */
#define ACTIONS_AUDIT_MAXLEN "100000"
/* Longest idempotency key accepted (it becomes part of a key name). */
#define ACTIONS_IDEM_MAX 200
/* Most arguments one EVALSHA takes. */
#define ACTIONS_ARGV_MAX 24

/* ---- the scripts ---------------------------------------------------------
 *
 * Every script gets the same first six ARGV: target id, operator, client
 * host, client address, idempotency key, reason. It returns {outcome, JSON
 * of the result}, or a NOPERM error before it writes anything when the
 * user may not run one of the writes (Redis 7's redis.acl_check_cmd; older
 * servers stop at the first refused write, which is also the first write).
 *
 * Order in every script: idempotency record (a repeat returns it and does
 * nothing else), read the state, check every write is permitted, then
 * write. The status:<s> counters of <prefix>:stats are moved only when the
 * status changes; a counter is decremented only when it exists and is a
 * positive integer, since no writer but opsdeck keeps them (seed 004 never
 * writes status:pending_review): a negative count would be wrong, and the
 * read side derives pending_review from the depth while it is absent. */

#define ACTIONS_LUA_COMMON                                                                         \
    "local id, op, host, addr, ikey, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], "       \
    "ARGV[6]\n"                                                                                    \
    "if redis.replicate_commands then pcall(redis.replicate_commands) end\n"                       \
    "local null = cjson.null\n"                                                                    \
    "\n"                                                                                           \
    "-- The server's TIME as YYYY-MM-DDTHH:MM:SS.ffffffZ (no os.date here).\n"                     \
    "local function now_iso()\n"                                                                   \
    "  local t = redis.call('TIME')\n"                                                             \
    "  local s, us = tonumber(t[1]), tonumber(t[2])\n"                                             \
    "  local days = math.floor(s / 86400)\n"                                                       \
    "  local rem = s - days * 86400\n"                                                             \
    "  local z = days + 719468\n"                                                                  \
    "  local era = math.floor(z / 146097)\n"                                                       \
    "  local doe = z - era * 146097\n"                                                             \
    "  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)\n"           \
    "                          - math.floor(doe / 146096)) / 365)\n"                               \
    "  local y = yoe + era * 400\n"                                                                \
    "  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))\n"              \
    "  local mp = math.floor((5 * doy + 2) / 153)\n"                                               \
    "  local d = doy - math.floor((153 * mp + 2) / 5) + 1\n"                                       \
    "  local m = mp < 10 and mp + 3 or mp - 9\n"                                                   \
    "  if m <= 2 then y = y + 1 end\n"                                                             \
    "  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%06dZ', y, m, d,\n"                     \
    "    math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60, us)\n"                     \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "-- A stored time as 'YYYY-MM-DD HH:MMZ' when it is UTC (naive times are),\n"                  \
    "-- else as written.\n"                                                                        \
    "local function short(t)\n"                                                                    \
    "  if not t then return nil end\n"                                                             \
    "  local d, hm, rest = string.match(t, '^(%d%d%d%d%-%d%d%-%d%d)[T ](%d%d:%d%d)[%d:%.]*(.*)$')\n" \
    "  if d and (rest == '' or rest == 'Z' or rest == '+00:00') then\n"                            \
    "    return d .. ' ' .. hm .. 'Z'\n"                                                           \
    "  end\n"                                                                                      \
    "  return t\n"                                                                                 \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "-- ' by WHO at WHEN', leaving out what nobody recorded.\n"                                    \
    "local function by_at(by, at)\n"                                                               \
    "  local s = ''\n"                                                                             \
    "  if by and by ~= '' then s = s .. ' by ' .. by end\n"                                        \
    "  if at and at ~= '' then s = s .. ' at ' .. short(at) end\n"                                 \
    "  return s\n"                                                                                 \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "local function opt(v)\n"                                                                      \
    "  if v == nil or v == false then return null end\n"                                           \
    "  return v\n"                                                                                 \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "-- The first outcome of this key, marked as a repeat; a key used for\n"                       \
    "-- another action is refused without a record.\n"                                             \
    "local function idem_get(ikey_name, action)\n"                                                 \
    "  local v = redis.call('GET', ikey_name)\n"                                                   \
    "  if not v then return nil end\n"                                                             \
    "  local ok, r = pcall(cjson.decode, v)\n"                                                     \
    "  if not ok or type(r) ~= 'table' then return nil end\n"                                      \
    "  if r.action ~= action then\n"                                                               \
    "    local msg = 'idempotency key ' .. ikey .. ' was already used for ' ..\n"                  \
    "      tostring(r.action) .. ' on ' .. id .. '; nothing changed'\n"                            \
    "    return {'refused', cjson.encode({outcome = 'refused', action = action,\n"                 \
    "      target_id = id, state = null, by = null, at = null, message = msg,\n"                   \
    "      replayed = false})}\n"                                                                  \
    "  end\n"                                                                                      \
    "  r.replayed = true\n"                                                                        \
    "  return {r.outcome, cjson.encode(r)}\n"                                                      \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "-- Whether the calling user may run each command (nil when the server\n"                      \
    "-- cannot tell: then the first write is the check).\n"                                        \
    "local function denied(cmds)\n"                                                                \
    "  if not redis.acl_check_cmd then return nil end\n"                                           \
    "  for _, c in ipairs(cmds) do\n"                                                              \
    "    local ok, allowed = pcall(redis.acl_check_cmd, unpack(c))\n"                              \
    "    if not ok or not allowed then\n"                                                          \
    "      return redis.error_reply('NOPERM this user has no permissions to run the ' ..\n"        \
    "        string.lower(c[1]) .. ' command this action needs; nothing changed')\n"               \
    "    end\n"                                                                                    \
    "  end\n"                                                                                      \
    "  return nil\n"                                                                               \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "-- HINCRBY on a counter, leaving alone one another writer made non-numeric;\n"                \
    "-- decrements only a positive one.\n"                                                         \
    "local function count(stats, field, by)\n"                                                     \
    "  local v = redis.pcall('HGET', stats, field)\n"                                              \
    "  if type(v) == 'table' then return end\n"                                                   \
    "  if v then\n"                                                                                \
    "    local n = tonumber(v)\n"                                                                  \
    "    if not n or n ~= math.floor(n) then return end\n"                                         \
    "    if by < 0 and n <= 0 then return end\n"                                                   \
    "  elseif by < 0 then\n"                                                                       \
    "    return\n"                                                                                 \
    "  end\n"                                                                                      \
    "  redis.call('HINCRBY', stats, field, by)\n"                                                  \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "local function move(stats, from, to)\n"                                                       \
    "  if from == to then return end\n"                                                            \
    "  if from and from ~= '' then count(stats, 'status:' .. from, -1) end\n"                      \
    "  if to then count(stats, 'status:' .. to, 1) end\n"                                          \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "local function audit(stream, at, action, kind, outcome, before, after, detail)\n"             \
    "  redis.call('XADD', stream, 'MAXLEN', '~', '" ACTIONS_AUDIT_MAXLEN "', '*',\n"               \
    "    'at', at, 'operator', op, 'client_host', host, 'client_addr', addr,\n"                    \
    "    'action', action, 'target_kind', kind, 'target_id', id, 'reason', reason,\n"              \
    "    'before', before, 'after', after, 'outcome', outcome, 'detail', detail,\n"                \
    "    'idempotency_key', ikey)\n"                                                               \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "-- Records and returns an outcome.\n"                                                         \
    "local function finish(idem, res)\n"                                                           \
    "  res.replayed = false\n"                                                                     \
    "  local j = cjson.encode(res)\n"                                                              \
    "  redis.call('SET', idem, j, 'EX', '" ACTIONS_IDEM_TTL "')\n"                                 \
    "  return {res.outcome, j}\n"                                                                  \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "local function not_found(action, what)\n"                                                    \
    "  return {'not_found', cjson.encode({outcome = 'not_found', action = action,\n"               \
    "    target_id = id, state = null, by = null, at = null,\n"                                    \
    "    message = what .. ' ' .. id .. ' not found', replayed = false})}\n"                       \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "-- Refuses, before any write, keys of another type that a write would\n"                     \
    "-- fail on halfway.\n"                                                                       \
    "local function wrong_type(want)\n"                                                           \
    "  for key, t in pairs(want) do\n"                                                            \
    "    local have = redis.call('TYPE', key).ok\n"                                               \
    "    if have ~= 'none' and have ~= t then\n"                                                  \
    "      return redis.error_reply('WRONGTYPE ' .. key .. ' is a ' .. have .. ', not a ' .. t ..\n" \
    "        '; nothing changed')\n"                                                               \
    "    end\n"                                                                                   \
    "  end\n"                                                                                     \
    "  return nil\n"                                                                              \
    "end\n"                                                                                       \
    "\n"                                                                                          \
    "local function audit_cmds(stream, idem)\n"                                                    \
    "  return {{'XADD', stream, 'MAXLEN', '~', '1', '*', 'a', 'b'},\n"                             \
    "          {'SET', idem, 'v', 'EX', '1'}}\n"                                                   \
    "end\n"                                                                                        \
    "\n"                                                                                           \
    "-- The DLQ event's hash, or nil when it is gone; a key of another type is\n"                  \
    "-- malformed data, shown as a state.\n"                                                       \
    "local function event(key, ...)\n"                                                             \
    "  if redis.call('EXISTS', key) == 0 then return nil end\n"                                    \
    "  local h = redis.pcall('HMGET', key, ...)\n"                                                 \
    "  if h.err then return {err = true} end\n"                                                    \
    "  return h\n"                                                                                 \
    "end\n"

/* KEYS: event hash, index, stats, audit, idempotency record, [route key].
 * ARGV 7..: route kind (publish, list, stream), channel, payload, force,
 * route as given. */
static const char ACTIONS_REPLAY_LUA[] =
    ACTIONS_LUA_COMMON
    "local ev, stats, stream, idem = KEYS[1], KEYS[3], KEYS[4], KEYS[5]\n"
    "local kind, channel, payload, force, route = ARGV[7], ARGV[8], ARGV[9], ARGV[10] == '1', "
    "ARGV[11]\n"
    "local prior = idem_get(idem, 'dlq.replay')\n"
    "if prior then return prior end\n"
    "local h = event(ev, 'status', 'retried_at', 'retried_by', 'replay_count', 'resolved_at',\n"
    "  'resolved_by')\n"
    "if not h then return not_found('dlq.replay', 'dlq event') end\n"
    "local cmds = audit_cmds(stream, idem)\n"
    "cmds[#cmds + 1] = {'HSET', ev, 'a', 'b'}\n"
    "cmds[#cmds + 1] = {'HINCRBY', stats, 'a', '1'}\n"
    "if kind == 'publish' then cmds[#cmds + 1] = {'PUBLISH', channel, payload}\n"
    "elseif kind == 'list' then cmds[#cmds + 1] = {'LPUSH', KEYS[6], payload}\n"
    "else cmds[#cmds + 1] = {'XADD', KEYS[6], '*', 'event', payload} end\n"
    "local no = denied(cmds) or wrong_type({[stats] = 'hash', [stream] = 'stream'})\n"
    "if no then return no end\n"
    "if kind ~= 'publish' then no = wrong_type({[KEYS[6]] = kind}) end\n"
    "if no then return no end\n"
    "local at = now_iso()\n"
    "if h.err then h = {'(not a hash)'} end\n"
    "local st = h[1] or nil\n"
    "local before = {status = opt(st), retried_at = opt(h[2]), retried_by = opt(h[3]),\n"
    "  replay_count = opt(h[4])}\n"
    "if not (st == 'pending_review' or (st == 'retried' and force)) then\n"
    "  local by, when, msg = nil, nil, nil\n"
    "  if st == 'retried' then\n"
    "    by, when = h[3] or nil, h[2] or nil\n"
    "    msg = 'dlq event ' .. id .. ' was already retried' .. by_at(by, when) ..\n"
    "      '; nothing changed (use --force to replay again)'\n"
    "  elseif st == 'resolved' then\n"
    "    by, when = h[6] or nil, h[5] or nil\n"
    "    msg = 'dlq event ' .. id .. ' was already resolved' .. by_at(by, when) ..\n"
    "      '; nothing changed'\n"
    "  else\n"
    "    msg = 'dlq event ' .. id .. ' is in state ' .. tostring(st or '(none)') ..\n"
    "      '; nothing changed'\n"
    "  end\n"
    "  audit(stream, at, 'dlq.replay', 'dlq_event', 'refused', cjson.encode(before), 'null',\n"
    "    route)\n"
    "  return finish(idem, {outcome = 'refused', action = 'dlq.replay', target_id = id,\n"
    "    state = opt(st), by = opt(by), at = opt(when), message = msg, route = route})\n"
    "end\n"
    "local receivers = null\n"
    "if kind == 'publish' then\n"
    "  receivers = redis.call('PUBLISH', channel, payload)\n"
    "elseif kind == 'list' then\n"
    "  redis.call('LPUSH', KEYS[6], payload)\n"
    "else\n"
    "  redis.call('XADD', KEYS[6], '*', 'event', payload)\n"
    "end\n"
    "local n = tonumber(h[4]) or 0\n"
    "if n ~= math.floor(n) or n < 0 then n = 0 end\n"
    "n = n + 1\n"
    "redis.call('HSET', ev, 'status', 'retried', 'retried_at', at, 'retried_by', op,\n"
    "  'replay_count', string.format('%d', n))\n"
    "move(stats, st, 'retried')\n"
    "local after = {status = 'retried', retried_at = at, retried_by = op,\n"
    "  replay_count = string.format('%d', n)}\n"
    "local detail = route\n"
    "if kind == 'publish' then detail = route .. ' (' .. receivers .. ' receivers)' end\n"
    "audit(stream, at, 'dlq.replay', 'dlq_event', 'ok', cjson.encode(before), cjson.encode(after),\n"
    "  detail)\n"
    "local what = 'dlq event ' .. id .. ' replayed on ' .. route\n"
    "if kind == 'publish' then what = what .. ' (' .. receivers .. ' receivers)' end\n"
    "return finish(idem, {outcome = 'applied', action = 'dlq.replay', target_id = id,\n"
    "  state = 'retried', by = op, at = at, message = what, route = route,\n"
    "  replay_count = n, receivers = receivers})\n";

/* KEYS: event hash, index, stats, audit, idempotency record. */
static const char ACTIONS_RESOLVE_LUA[] =
    ACTIONS_LUA_COMMON
    "local ev, stats, stream, idem = KEYS[1], KEYS[3], KEYS[4], KEYS[5]\n"
    "local prior = idem_get(idem, 'dlq.resolve')\n"
    "if prior then return prior end\n"
    "local h = event(ev, 'status', 'resolved_at', 'resolved_by', 'resolution_note')\n"
    "if not h then return not_found('dlq.resolve', 'dlq event') end\n"
    "local cmds = audit_cmds(stream, idem)\n"
    "cmds[#cmds + 1] = {'HSET', ev, 'a', 'b'}\n"
    "cmds[#cmds + 1] = {'HINCRBY', stats, 'a', '1'}\n"
    "local no = denied(cmds) or wrong_type({[stats] = 'hash', [stream] = 'stream'})\n"
    "if no then return no end\n"
    "local at = now_iso()\n"
    "if h.err then h = {'(not a hash)'} end\n"
    "local st = h[1] or nil\n"
    "local before = {status = opt(st), resolved_at = opt(h[2]), resolved_by = opt(h[3]),\n"
    "  resolution_note = opt(h[4])}\n"
    "if not (st == 'pending_review' or st == 'retried') then\n"
    "  local by, when, msg = nil, nil, nil\n"
    "  if st == 'resolved' then\n"
    "    by, when = h[3] or nil, h[2] or nil\n"
    "    msg = 'dlq event ' .. id .. ' was already resolved' .. by_at(by, when) ..\n"
    "      '; nothing changed'\n"
    "  else\n"
    "    msg = 'dlq event ' .. id .. ' is in state ' .. tostring(st or '(none)') ..\n"
    "      '; nothing changed'\n"
    "  end\n"
    "  audit(stream, at, 'dlq.resolve', 'dlq_event', 'refused', cjson.encode(before), 'null',\n"
    "    msg)\n"
    "  return finish(idem, {outcome = 'refused', action = 'dlq.resolve', target_id = id,\n"
    "    state = opt(st), by = opt(by), at = opt(when), message = msg})\n"
    "end\n"
    "redis.call('HSET', ev, 'status', 'resolved', 'resolved_at', at, 'resolved_by', op,\n"
    "  'resolution_note', reason)\n"
    "move(stats, st, 'resolved')\n"
    "local after = {status = 'resolved', resolved_at = at, resolved_by = op,\n"
    "  resolution_note = reason}\n"
    "audit(stream, at, 'dlq.resolve', 'dlq_event', 'ok', cjson.encode(before),\n"
    "  cjson.encode(after), '')\n"
    "return finish(idem, {outcome = 'applied', action = 'dlq.resolve', target_id = id,\n"
    "  state = 'resolved', by = op, at = at, message = 'dlq event ' .. id .. ' resolved'})\n";

/* KEYS: event hash, index, stats, audit, idempotency record. An index
 * entry whose hash expired is deleted too (the list shows it as expired);
 * only an id with neither is not found. */
static const char ACTIONS_DELETE_LUA[] =
    ACTIONS_LUA_COMMON
    "local ev, index, stats, stream, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]\n"
    "local prior = idem_get(idem, 'dlq.delete')\n"
    "if prior then return prior end\n"
    "local h = event(ev, 'status', 'data', 'created_at')\n"
    "local score = redis.call('ZSCORE', index, id)\n"
    "if not h and not score then return not_found('dlq.delete', 'dlq event') end\n"
    "local cmds = audit_cmds(stream, idem)\n"
    "cmds[#cmds + 1] = {'DEL', ev}\n"
    "cmds[#cmds + 1] = {'ZREM', index, id}\n"
    "cmds[#cmds + 1] = {'HINCRBY', stats, 'a', '1'}\n"
    "local no = denied(cmds) or wrong_type({[stats] = 'hash', [stream] = 'stream'})\n"
    "if no then return no end\n"
    "local at = now_iso()\n"
    "local st = 'expired'\n"
    "local d = {}\n"
    "if h and h.err then\n"
    "  st = '(not a hash)'\n"
    "elseif h then\n"
    "  st = h[1] or '(none)'\n"
    "  if h[2] then\n"
    "    local ok, v = pcall(cjson.decode, h[2])\n"
    "    if ok and type(v) == 'table' then d = v end\n"
    "  end\n"
    "end\n"
    "local function field(v)\n"
    "  if type(v) == 'string' or type(v) == 'number' then return v end\n"
    "  return null\n"
    "end\n"
    "local before = {status = st, created_at = opt(h and not h.err and h[3]),\n"
    "  failed_at = opt(score), failure_reason = field(d.failure_reason),\n"
    "  source_service = field(d.source_service), target_service = field(d.target_service),\n"
    "  original_queue = field(d.original_queue)}\n"
    "if h then redis.call('DEL', ev) end\n"
    "if score then redis.call('ZREM', index, id) end\n"
    "if h and not h.err then move(stats, h[1] or nil, nil) end\n"
    "local detail = cjson.encode({status = st, failure_reason = before.failure_reason,\n"
    "  source_service = before.source_service, target_service = before.target_service})\n"
    "audit(stream, at, 'dlq.delete', 'dlq_event', 'ok', cjson.encode(before), 'null', detail)\n"
    "return finish(idem, {outcome = 'applied', action = 'dlq.delete', target_id = id,\n"
    "  state = 'deleted', by = op, at = at, message = 'dlq event ' .. id .. ' deleted',\n"
    "  previous_state = st})\n";

/* KEYS: breaker hash, audit, idempotency record. ARGV 7..: action
 * (reset, force_open, release), control channel. */
static const char ACTIONS_CIRCUIT_LUA[] =
    ACTIONS_LUA_COMMON
    "local cb, stream, idem = KEYS[1], KEYS[2], KEYS[3]\n"
    "local act, channel = ARGV[7], ARGV[8]\n"
    "local action = 'circuit.' .. act\n"
    "local prior = idem_get(idem, action)\n"
    "if prior then return prior end\n"
    "local h = event(cb, 'state', 'forced_state', 'forced_by', 'forced_at', 'forced_reason',\n"
    "  'failure_count', 'success_count')\n"
    "if not h then return not_found(action, 'circuit') end\n"
    "local cmds = audit_cmds(stream, idem)\n"
    "cmds[#cmds + 1] = {'HSET', cb, 'a', 'b'}\n"
    "cmds[#cmds + 1] = {'HDEL', cb, 'a'}\n"
    "cmds[#cmds + 1] = {'PUBLISH', channel, 'x'}\n"
    "local no = denied(cmds) or wrong_type({[stream] = 'stream'})\n"
    "if no then return no end\n"
    "local at = now_iso()\n"
    "if h.err then h = {'(not a hash)'} end\n"
    "local forced = h[2]\n"
    "if forced == '' then forced = nil end\n"
    "local before = {state = opt(h[1]), forced_state = opt(h[2]), forced_by = opt(h[3]),\n"
    "  forced_at = opt(h[4]), forced_reason = opt(h[5]), failure_count = opt(h[6]),\n"
    "  success_count = opt(h[7])}\n"
    "local msg = nil\n"
    "if act == 'force_open' and forced == 'open' then\n"
    "  msg = 'circuit ' .. id .. ' was already forced open' .. by_at(h[3], h[4]) ..\n"
    "    '; nothing changed'\n"
    "elseif act == 'release' and not forced then\n"
    "  msg = 'circuit ' .. id .. ' is not forced; nothing changed'\n"
    "end\n"
    "if msg then\n"
    "  audit(stream, at, action, 'circuit', 'refused', cjson.encode(before), 'null', msg)\n"
    "  return finish(idem, {outcome = 'refused', action = action, target_id = id,\n"
    "    state = opt(forced or h[1]), by = opt(forced and h[3]), at = opt(forced and h[4]),\n"
    "    message = msg})\n"
    "end\n"
    "local after, state\n"
    "if act == 'force_open' then\n"
    "  redis.call('HSET', cb, 'forced_state', 'open', 'forced_by', op, 'forced_at', at,\n"
    "    'forced_reason', reason)\n"
    "  after = {forced_state = 'open', forced_by = op, forced_at = at, forced_reason = reason}\n"
    "  state = 'open'\n"
    "else\n"
    "  redis.call('HDEL', cb, 'forced_state', 'forced_by', 'forced_at', 'forced_reason')\n"
    "  after = {forced_state = null, forced_by = null, forced_at = null, forced_reason = null}\n"
    "  state = h[1] or null\n"
    "  if act == 'reset' then\n"
    "    redis.call('HSET', cb, 'state', 'closed', 'failure_count', '0', 'success_count', '0',\n"
    "      'updated_at', at)\n"
    "    after.state, after.failure_count, after.success_count = 'closed', '0', '0'\n"
    "    state = 'closed'\n"
    "  end\n"
    "end\n"
    "local receivers = redis.call('PUBLISH', channel, cjson.encode({name = id, action = act,\n"
    "  by = op, reason = reason, at = at}))\n"
    "audit(stream, at, action, 'circuit', 'ok', cjson.encode(before), cjson.encode(after),\n"
    "  channel .. ' (' .. receivers .. ' receivers)')\n"
    "local verb = {reset = 'reset', force_open = 'forced open', release = 'released'}\n"
    "return finish(idem, {outcome = 'applied', action = action, target_id = id, state = state,\n"
    "  by = op, at = at, message = 'circuit ' .. id .. ' ' .. verb[act], receivers = receivers})\n";

/* ---- running a batch ------------------------------------------------------ */

enum actions_kind { ACTIONS_REPLAY, ACTIONS_RESOLVE, ACTIONS_DELETE, ACTIONS_CIRCUIT };

/* Everything one call needs to build item i's EVALSHA. */
struct actions_batch {
    enum actions_kind kind;
    const char *lua;
    size_t lua_len;
    char sha[41];
    const char *prefix; /* the DLQ prefix: audit and idempotency records */
    const struct redis_action_ctx *ctx;
    size_t n;
    const char *const *ids;
    /* replay */
    const char *const *payloads;
    const char *const *routes;
    bool force;
    /* circuit */
    const char *circuit_prefix;
    const char *circuit_action;
};

/* Keys built for one item, freed once the command is queued. */
struct actions_keys {
    char *k[8];
    int n;
};

static const char *actions_key(struct actions_keys *ks, char *key)
{
    ks->k[ks->n++] = key;
    return key;
}

static void actions_keys_done(struct actions_keys *ks)
{
    for (int i = 0; i < ks->n; i++)
        free(ks->k[i]);
    ks->n = 0;
}

static const char *actions_str(const char *s)
{
    return s != NULL ? s : "";
}

/* Splits "publish:CHANNEL", "list:KEY" or "stream:KEY"; false when it is
 * none of them or names nothing. */
static bool actions_route(const char *route, const char **kind, size_t *kind_len,
                          const char **target)
{
    static const char *const kinds[] = {"publish", "list", "stream"};
    if (route == NULL)
        return false;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t n = strlen(kinds[i]);
        if (strncmp(route, kinds[i], n) == 0 && route[n] == ':' && route[n + 1] != '\0') {
            *kind = kinds[i];
            *kind_len = n;
            *target = route + n + 1;
            return true;
        }
    }
    return false;
}

/* Fills argv for item i; returns argc. */
static int actions_build(const struct actions_batch *b, size_t i, const char **argv,
                         struct actions_keys *ks)
{
    const struct redis_action_ctx *ctx = b->ctx;
    const char *id = b->ids[i];
    int argc = 0, nkeys;

    argv[argc++] = "EVALSHA";
    argv[argc++] = b->sha;
    argc++; /* the key count, below */
    if (b->kind == ACTIONS_CIRCUIT) {
        argv[argc++] = actions_key(ks, xasprintf("%s:%s", b->circuit_prefix, id));
        argv[argc++] = actions_key(ks, xasprintf("%s:audit", b->prefix));
        argv[argc++] = actions_key(
            ks, xasprintf("%s:idem:%s:circuit:%s", b->prefix, ctx->idempotency_key, id));
    } else {
        argv[argc++] = actions_key(ks, xasprintf("%s:%s", b->prefix, id));
        argv[argc++] = actions_key(ks, xasprintf("%s:index", b->prefix));
        argv[argc++] = actions_key(ks, xasprintf("%s:stats", b->prefix));
        argv[argc++] = actions_key(ks, xasprintf("%s:audit", b->prefix));
        argv[argc++] =
            actions_key(ks, xasprintf("%s:idem:%s:%s", b->prefix, ctx->idempotency_key, id));
    }
    const char *kind = NULL, *target = NULL;
    size_t kind_len = 0;
    if (b->kind == ACTIONS_REPLAY) {
        actions_route(b->routes[i], &kind, &kind_len, &target);
        if (kind_len != 7) /* list or stream: the route's key is a key */
            argv[argc++] = target;
    }
    nkeys = argc - 3;
    argv[argc++] = id;
    argv[argc++] = ctx->operator_;
    argv[argc++] = actions_str(ctx->client_host);
    argv[argc++] = actions_str(ctx->client_addr);
    argv[argc++] = ctx->idempotency_key;
    argv[argc++] = actions_str(ctx->reason);
    if (b->kind == ACTIONS_REPLAY) {
        argv[argc++] = actions_key(ks, xstrndup(kind, kind_len));
        argv[argc++] = target;
        argv[argc++] = b->payloads[i];
        argv[argc++] = b->force ? "1" : "0";
        argv[argc++] = b->routes[i];
    } else if (b->kind == ACTIONS_CIRCUIT) {
        argv[argc++] = b->circuit_action;
        argv[argc++] = actions_key(ks, xasprintf("%s:control", b->circuit_prefix));
    }
    argv[2] = actions_key(ks, xasprintf("%d", nkeys));
    return argc;
}

/* Redis 7 without our ACL check says this instead of NOPERM when a
 * script's write is refused. */
static enum status actions_error_status(const char *msg)
{
    if (strstr(msg, "can't run this command") != NULL)
        return STATUS_DENIED;
    return redis_conn_error_status(msg);
}

/* The script's {outcome, JSON} into out; false when it is not that. */
static bool actions_take(const redisReply *r, struct redis_action_result *out)
{
    static const struct {
        const char *name;
        enum redis_action_outcome outcome;
    } outcomes[] = {{"applied", REDIS_ACTION_APPLIED},
                    {"refused", REDIS_ACTION_REFUSED},
                    {"not_found", REDIS_ACTION_NOT_FOUND}};
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING)
        return false;
    size_t k;
    for (k = 0; k < sizeof(outcomes) / sizeof(outcomes[0]); k++)
        if (strcmp(r->element[0]->str, outcomes[k].name) == 0)
            break;
    if (k == sizeof(outcomes) / sizeof(outcomes[0]))
        return false;
    json_t *j = json_loadb(r->element[1]->str, r->element[1]->len, 0, NULL);
    if (j == NULL || !json_is_object(j)) {
        /* Bytes that are not UTF-8 (an id or a name another writer left):
         * keep the outcome and the text, visibly escaped. */
        json_decref(j);
        struct buf b;
        buf_init(&b);
        sanitize_append(&b, r->element[1]->str, r->element[1]->len, 0, 0);
        j = json_object();
        json_object_set_new(j, "outcome", json_string(outcomes[k].name));
        json_object_set_new(j, "raw", json_string(buf_get(&b)));
        buf_done(&b);
    }
    out->outcome = outcomes[k].outcome;
    out->result = j;
    return true;
}

/* Runs the batch: one EVALSHA per item, all queued before the first reply
 * is read (one round trip). Items that met an empty script cache (NOSCRIPT:
 * the script did not run) are sent again after SCRIPT LOAD, once. An error
 * reply for one item does not stop the others; the first becomes the
 * return status. */
static enum status actions_run(struct redis_conn *c, struct actions_batch *b,
                               struct redis_action_result *out, struct error *err)
{
    enum status rc = STATUS_OK;
    const char *argv[ACTIONS_ARGV_MAX];
    struct actions_keys ks = {.n = 0};
    bool *todo = xcalloc(b->n + 1, sizeof(*todo));
    size_t left = b->n;

    sha1_hex(b->lua, b->lua_len, b->sha);
    for (size_t i = 0; i < b->n; i++)
        todo[i] = true;
    for (int attempt = 0; left > 0 && attempt < 2; attempt++) {
        size_t sent = 0, retry = 0;
        for (size_t i = 0; i < b->n; i++) {
            if (!todo[i])
                continue;
            int argc = actions_build(b, i, argv, &ks);
            rc = redis_conn_append(c, argc, argv, NULL, err);
            actions_keys_done(&ks);
            if (rc != STATUS_OK)
                goto out;
            sent++;
        }
        for (size_t i = 0; i < b->n && sent > 0; i++) {
            if (!todo[i])
                continue;
            redisReply *r = redis_conn_reply(c, err);
            sent--;
            if (r == NULL) {
                rc = err->status;
                goto out;
            }
            if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0 &&
                attempt == 0) {
                retry++;
            } else if (r->type == REDIS_REPLY_ERROR) {
                if (rc == STATUS_OK) {
                    char *safe = sanitize_dup(b->ids[i], 0);
                    rc = error_set(err, actions_error_status(r->str), "redis at %s: %s: %.300s",
                                   redis_conn_endpoint(c), safe, r->str);
                    free(safe);
                }
                todo[i] = false;
                left--;
            } else {
                if (!actions_take(r, &out[i]) && rc == STATUS_OK)
                    rc = error_set(err, STATUS_UNAVAILABLE,
                                   "redis at %s: unexpected reply from the action script",
                                   redis_conn_endpoint(c));
                todo[i] = false;
                left--;
            }
            freeReplyObject(r);
        }
        if (retry == 0)
            break;
        const char *load[] = {"SCRIPT", "LOAD", b->lua};
        const size_t load_len[] = {6, 4, b->lua_len};
        redisReply *l = redis_conn_command(c, 3, load, load_len, err);
        if (l == NULL) {
            rc = err->status;
            goto out;
        }
        bool same = l->type == REDIS_REPLY_STRING && strcmp(l->str, b->sha) == 0;
        freeReplyObject(l);
        if (!same) {
            rc = error_set(err, STATUS_UNAVAILABLE, "redis at %s: SCRIPT LOAD gave another hash",
                           redis_conn_endpoint(c));
            goto out;
        }
    }
    if (left > 0 && rc == STATUS_OK)
        rc = error_set(err, STATUS_UNAVAILABLE, "redis at %s: the action script stays unloaded",
                       redis_conn_endpoint(c));
out:
    actions_keys_done(&ks);
    free(todo);
    return rc;
}

/* Checks what every action needs and clears out; STATUS_USAGE before
 * anything is sent. */
static enum status actions_begin(const struct redis_action_ctx *ctx, size_t n,
                                 const char *const *ids, struct redis_action_result *out,
                                 struct error *err)
{
    for (size_t i = 0; i < n; i++) {
        out[i].outcome = REDIS_ACTION_NOT_FOUND;
        out[i].result = NULL;
    }
    if (ctx == NULL || ctx->operator_ == NULL || ctx->operator_[0] == '\0')
        return error_set(err, STATUS_USAGE, "an action needs an operator name");
    const char *k = ctx->idempotency_key;
    if (k == NULL || k[0] == '\0' || strlen(k) > ACTIONS_IDEM_MAX || strchr(k, ':') != NULL)
        return error_set(err, STATUS_USAGE,
                         "an idempotency key is required: 1..%d characters, no ':'",
                         ACTIONS_IDEM_MAX);
    for (size_t i = 0; i < n; i++)
        if (ids == NULL || ids[i] == NULL || ids[i][0] == '\0')
            return error_set(err, STATUS_USAGE, "empty id");
    return STATUS_OK;
}

static enum status actions_dlq(struct redis_conn *c, enum actions_kind kind, const char *prefix,
                               const struct redis_action_ctx *ctx, size_t n,
                               const char *const *ids, struct redis_action_result *out,
                               struct error *err)
{
    static const struct {
        const char *lua;
        size_t len;
    } scripts[] = {
        [ACTIONS_REPLAY] = {ACTIONS_REPLAY_LUA, sizeof(ACTIONS_REPLAY_LUA) - 1},
        [ACTIONS_RESOLVE] = {ACTIONS_RESOLVE_LUA, sizeof(ACTIONS_RESOLVE_LUA) - 1},
        [ACTIONS_DELETE] = {ACTIONS_DELETE_LUA, sizeof(ACTIONS_DELETE_LUA) - 1},
    };
    struct actions_batch b = {
        .kind = kind,
        .lua = scripts[kind].lua,
        .lua_len = scripts[kind].len,
        .prefix = prefix != NULL && *prefix ? prefix : "dlq",
        .ctx = ctx,
        .n = n,
        .ids = ids,
    };
    enum status rc = actions_begin(ctx, n, ids, out, err);
    if (rc != STATUS_OK || n == 0)
        return rc;
    return actions_run(c, &b, out, err);
}

enum status redis_actions_replay(struct redis_conn *c, const char *prefix,
                                 const struct redis_action_ctx *ctx, size_t n,
                                 const char *const *ids, const char *const *payloads,
                                 const char *const *routes, bool force,
                                 struct redis_action_result *out, struct error *err)
{
    enum status rc = actions_begin(ctx, n, ids, out, err);
    if (rc != STATUS_OK || n == 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const char *kind, *target;
        size_t kind_len;
        if (payloads == NULL || payloads[i] == NULL)
            return error_set(err, STATUS_USAGE, "replay needs the event's payload");
        if (routes == NULL || !actions_route(routes[i], &kind, &kind_len, &target)) {
            char *safe = sanitize_dup(routes != NULL ? actions_str(routes[i]) : "", 0);
            rc = error_set(err, STATUS_USAGE,
                           "bad replay route '%s': expected publish:CHANNEL, list:KEY or "
                           "stream:KEY",
                           safe);
            free(safe);
            return rc;
        }
    }
    struct actions_batch b = {
        .kind = ACTIONS_REPLAY,
        .lua = ACTIONS_REPLAY_LUA,
        .lua_len = sizeof(ACTIONS_REPLAY_LUA) - 1,
        .prefix = prefix != NULL && *prefix ? prefix : "dlq",
        .ctx = ctx,
        .n = n,
        .ids = ids,
        .payloads = payloads,
        .routes = routes,
        .force = force,
    };
    return actions_run(c, &b, out, err);
}

enum status redis_actions_resolve(struct redis_conn *c, const char *prefix,
                                  const struct redis_action_ctx *ctx, size_t n,
                                  const char *const *ids, struct redis_action_result *out,
                                  struct error *err)
{
    return actions_dlq(c, ACTIONS_RESOLVE, prefix, ctx, n, ids, out, err);
}

enum status redis_actions_delete(struct redis_conn *c, const char *prefix,
                                 const struct redis_action_ctx *ctx, size_t n,
                                 const char *const *ids, struct redis_action_result *out,
                                 struct error *err)
{
    return actions_dlq(c, ACTIONS_DELETE, prefix, ctx, n, ids, out, err);
}

enum status redis_actions_circuit(struct redis_conn *c, const char *circuit_prefix,
                                  const char *dlq_prefix, const struct redis_action_ctx *ctx,
                                  const char *name, enum redis_circuit_action action,
                                  struct redis_action_result *out, struct error *err)
{
    static const char *const names[] = {
        [REDIS_CIRCUIT_RESET] = "reset",
        [REDIS_CIRCUIT_FORCE_OPEN] = "force_open",
        [REDIS_CIRCUIT_RELEASE] = "release",
    };
    const char *ids[1] = {name};
    enum status rc = actions_begin(ctx, 1, ids, out, err);
    if (rc != STATUS_OK)
        return rc;
    if ((unsigned)action >= sizeof(names) / sizeof(names[0]))
        return error_set(err, STATUS_USAGE, "unknown circuit action");
    struct actions_batch b = {
        .kind = ACTIONS_CIRCUIT,
        .lua = ACTIONS_CIRCUIT_LUA,
        .lua_len = sizeof(ACTIONS_CIRCUIT_LUA) - 1,
        .prefix = dlq_prefix != NULL && *dlq_prefix ? dlq_prefix : "dlq",
        .ctx = ctx,
        .n = 1,
        .ids = ids,
        .circuit_prefix =
            circuit_prefix != NULL && *circuit_prefix ? circuit_prefix : "circuit_breakers",
        .circuit_action = names[action],
    };
    return actions_run(c, &b, out, err);
}

void redis_actions_results_done(struct redis_action_result *out, size_t n)
{
    if (out == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        json_decref(out[i].result);
        out[i].result = NULL;
    }
}
