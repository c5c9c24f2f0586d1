/* Operator actions on the DLQ and the circuit breakers in Redis: one Lua
 * script per kind of action, run with EVALSHA once per item (replay: once
 * per batch of events) and pipelined, so that the state check, the change,
 * the counters, the audit entry and the idempotency record happen
 * atomically on the server. */
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
/* Events per replay script call: a call blocks the server for about
 * 15 us an event, so a batch stays near a millisecond and a half. */
#define ACTIONS_REPLAY_BATCH 100
/* How long a bulk replay's progress hash <prefix>:replay:<job> is kept. */
#define ACTIONS_JOB_TTL "604800"

/* ---- the scripts ---------------------------------------------------------
 *
 * Every script for one item gets the same first six ARGV: target id,
 * operator, client host, client address, idempotency key, reason (the
 * replay script, for a batch, gets the same less the id, and the ids
 * after). It returns {outcome, JSON of the result} per item, or a NOPERM
 * error before it writes anything when the user may not run one of the
 * writes (Redis 7's redis.acl_check_cmd; older servers stop at the first
 * refused write).
 *
 * Order in every script: idempotency record (a repeat returns it and does
 * nothing else), read the state, check every write is permitted, then
 * write. The status:<s> counters of <prefix>:stats are moved only when the
 * status changes; a counter is decremented only when it exists and is a
 * positive integer, since no writer but opsdeck keeps them (seed 004 never
 * writes status:pending_review): a negative count would be wrong, and the
 * read side derives pending_review from the depth while it is absent. */

/* The first six ARGV of a script for one item. */
#define ACTIONS_LUA_ITEM                                                                           \
    "local id, op, host, addr, ikey, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], "       \
    "ARGV[6]\n"

/* The helpers every script shares; they read id, op, host, addr, ikey and
 * reason, which the script declares before them. */
#define ACTIONS_LUA_COMMON                                                                         \
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
    "-- decrements only a positive one, and never below zero.\n"                                   \
    "local function count(stats, field, by)\n"                                                     \
    "  local v = redis.pcall('HGET', stats, field)\n"                                              \
    "  if type(v) == 'table' then return end\n"                                                   \
    "  if v then\n"                                                                                \
    "    local n = tonumber(v)\n"                                                                  \
    "    if not n or n ~= math.floor(n) then return end\n"                                         \
    "    if by < 0 and n <= 0 then return end\n"                                                   \
    "    if by < 0 and n + by < 0 then by = -n end\n"                                              \
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

/* Replays a batch of events in one call.
 * KEYS: stats, audit, job progress hash (or stats again when there is no
 * job), the route keys of list and stream routes, then for each event its
 * hash and its idempotency record.
 * ARGV: operator, client host, client address, idempotency key, reason,
 * force (1/0), job (1/0), the number of routes, the index in KEYS before
 * the first event's keys; per route: kind (publish, list, stream),
 * channel, route as given, index of its key in KEYS (0 for publish); per
 * event: id, route number (0: the caller found no payload, so the event is
 * missing or malformed), payload.
 * Returns outcome and JSON for each event, in order. Every read and check
 * comes before the first write, so a refusal for rights or types leaves
 * everything as it was; each event is then replayed, refused or found
 * missing as the per-event scripts did, the status counters move once for
 * the batch, and in a job the progress hash counts the first outcomes. */
static const char ACTIONS_REPLAY_LUA[] =
    "local op, host, addr, ikey, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n"
    "local id\n"
    ACTIONS_LUA_COMMON
    "local stats, stream, job = KEYS[1], KEYS[2], KEYS[3]\n"
    "local force, in_job, nroutes = ARGV[6] == '1', ARGV[7] == '1', tonumber(ARGV[8])\n"
    "local kbase = tonumber(ARGV[9])\n"
    "local routes, a = {}, 10\n"
    "for r = 1, nroutes do\n"
    "  local k = tonumber(ARGV[a + 3])\n"
    "  routes[r] = {kind = ARGV[a], channel = ARGV[a + 1], name = ARGV[a + 2],\n"
    "    key = k > 0 and KEYS[k] or nil}\n"
    "  a = a + 4\n"
    "end\n"
    "local n = (#ARGV - a + 1) / 3\n"
    "\n"
    "-- 1. Reads: a repeat's first outcome, else the event's state. Nothing is\n"
    "-- written before every read and check of the batch is done.\n"
    "local items, seen, writes = {}, {}, false\n"
    "for i = 1, n do\n"
    "  local b = a + (i - 1) * 3\n"
    "  id = ARGV[b]\n"
    "  local it = {id = id, route = routes[tonumber(ARGV[b + 1])], payload = ARGV[b + 2],\n"
    "    ev = KEYS[kbase + 2 * i - 1], idem = KEYS[kbase + 2 * i]}\n"
    "  it.first = seen[id]\n"
    "  if not it.first then\n"
    "    seen[id] = i\n"
    "    it.prior = idem_get(it.idem, 'dlq.replay')\n"
    "    if not it.prior then\n"
    "      local h = redis.pcall('HMGET', it.ev, 'status', 'retried_at', 'retried_by',\n"
    "        'replay_count', 'resolved_at', 'resolved_by')\n"
    "      if h.err then\n"
    "        if not string.find(h.err, 'WRONGTYPE', 1, true) then return h end\n"
    "        h = {'(not a hash)'}\n"
    "      elseif not h[1] and redis.call('EXISTS', it.ev) == 0 then\n"
    "        h = nil\n"
    "      end\n"
    "      it.h = h\n"
    "      it.send = h and it.route and\n"
    "        (h[1] == 'pending_review' or (h[1] == 'retried' and force))\n"
    "      if it.send then it.route.used = true end\n"
    "      if h or in_job then writes = true end\n"
    "    end\n"
    "  end\n"
    "  items[i] = it\n"
    "end\n"
    "\n"
    "-- 2. Rights and types, for every write the batch will make.\n"
    "if writes then\n"
    "  local cmds = audit_cmds(stream, items[1].idem)\n"
    "  cmds[#cmds + 1] = {'HINCRBY', stats, 'a', '1'}\n"
    "  local want = {[stats] = 'hash', [stream] = 'stream'}\n"
    "  if in_job then\n"
    "    cmds[#cmds + 1] = {'HINCRBY', job, 'a', '1'}\n"
    "    cmds[#cmds + 1] = {'HSET', job, 'a', 'b'}\n"
    "    cmds[#cmds + 1] = {'EXPIRE', job, '1'}\n"
    "    want[job] = 'hash'\n"
    "  end\n"
    "  for _, r in ipairs(routes) do\n"
    "    if r.used then\n"
    "      if r.kind == 'publish' then cmds[#cmds + 1] = {'PUBLISH', r.channel, 'x'}\n"
    "      elseif r.kind == 'list' then cmds[#cmds + 1] = {'LPUSH', r.key, 'x'}\n"
    "      else cmds[#cmds + 1] = {'XADD', r.key, '*', 'event', 'x'} end\n"
    "    end\n"
    "  end\n"
    "  for _, it in ipairs(items) do\n"
    "    if not it.first and not it.prior and (it.h or in_job) then\n"
    "      cmds[#cmds + 1] = {'SET', it.idem, 'v', 'EX', '1'}\n"
    "      if it.h then cmds[#cmds + 1] = {'HSET', it.ev, 'a', 'b'} end\n"
    "    end\n"
    "  end\n"
    "  local no = denied(cmds) or wrong_type(want)\n"
    "  if no then return no end\n"
    "  for _, r in ipairs(routes) do\n"
    "    if r.used and r.kind ~= 'publish' then no = no or wrong_type({[r.key] = r.kind}) end\n"
    "  end\n"
    "  if no then return no end\n"
    "end\n"
    "\n"
    "-- 3. Writes, event by event.\n"
    "local at = writes and now_iso() or nil\n"
    "local moved, tally, last = {}, {done = 0, applied = 0, refused = 0, not_found = 0}, nil\n"
    "\n"
    "local function replay(it)\n"
    "  local h, route = it.h, it.route\n"
    "  if not h then\n"
    "    local res = {outcome = 'not_found', action = 'dlq.replay', target_id = id, state = null,\n"
    "      by = null, at = null, message = 'dlq event ' .. id .. ' not found'}\n"
    "    -- In a job the outcome is kept, so that a resumed job counts it once.\n"
    "    if in_job then return finish(it.idem, res) end\n"
    "    res.replayed = false\n"
    "    return {'not_found', cjson.encode(res)}\n"
    "  end\n"
    "  local st = h[1] or nil\n"
    "  local before = {status = opt(st), retried_at = opt(h[2]), retried_by = opt(h[3]),\n"
    "    replay_count = opt(h[4])}\n"
    "  if not it.send then\n"
    "    local by, when, msg = nil, nil, nil\n"
    "    if not route then\n"
    "      msg = 'dlq event ' .. id ..\n"
    "        ' is malformed (no original event or queue); nothing changed'\n"
    "    elseif st == 'retried' then\n"
    "      by, when = h[3] or nil, h[2] or nil\n"
    "      msg = 'dlq event ' .. id .. ' was already retried' .. by_at(by, when) ..\n"
    "        '; nothing changed (use --force to replay again)'\n"
    "    elseif st == 'resolved' then\n"
    "      by, when = h[6] or nil, h[5] or nil\n"
    "      msg = 'dlq event ' .. id .. ' was already resolved' .. by_at(by, when) ..\n"
    "        '; nothing changed'\n"
    "    else\n"
    "      msg = 'dlq event ' .. id .. ' is in state ' .. tostring(st or '(none)') ..\n"
    "        '; nothing changed'\n"
    "    end\n"
    "    local rname = route and route.name or null\n"
    "    audit(stream, at, 'dlq.replay', 'dlq_event', 'refused', cjson.encode(before), 'null',\n"
    "      route and route.name or msg)\n"
    "    return finish(it.idem, {outcome = 'refused', action = 'dlq.replay', target_id = id,\n"
    "      state = opt(st), by = opt(by), at = opt(when), message = msg, route = rname})\n"
    "  end\n"
    "  local receivers, kind = null, route.kind\n"
    "  if kind == 'publish' then\n"
    "    receivers = redis.call('PUBLISH', route.channel, it.payload)\n"
    "  elseif kind == 'list' then\n"
    "    redis.call('LPUSH', route.key, it.payload)\n"
    "  else\n"
    "    redis.call('XADD', route.key, '*', 'event', it.payload)\n"
    "  end\n"
    "  local c = tonumber(h[4]) or 0\n"
    "  if c ~= math.floor(c) or c < 0 then c = 0 end\n"
    "  c = string.format('%d', c + 1)\n"
    "  redis.call('HSET', it.ev, 'status', 'retried', 'retried_at', at, 'retried_by', op,\n"
    "    'replay_count', c)\n"
    "  if st ~= 'retried' then\n"
    "    if st and st ~= '' then moved['status:' .. st] = (moved['status:' .. st] or 0) - 1 end\n"
    "    moved['status:retried'] = (moved['status:retried'] or 0) + 1\n"
    "  end\n"
    "  local after = {status = 'retried', retried_at = at, retried_by = op, replay_count = c}\n"
    "  local what = route.name\n"
    "  if kind == 'publish' then what = what .. ' (' .. receivers .. ' receivers)' end\n"
    "  audit(stream, at, 'dlq.replay', 'dlq_event', 'ok', cjson.encode(before),\n"
    "    cjson.encode(after), what)\n"
    "  return finish(it.idem, {outcome = 'applied', action = 'dlq.replay', target_id = id,\n"
    "    state = 'retried', by = op, at = at,\n"
    "    message = 'dlq event ' .. id .. ' replayed on ' .. what,\n"
    "    route = route.name, replay_count = tonumber(c), receivers = receivers})\n"
    "end\n"
    "\n"
    "local out = {}\n"
    "for i, it in ipairs(items) do\n"
    "  id = it.id\n"
    "  local r\n"
    "  if it.first then\n"
    "    -- The same id twice in one call: the second is a repeat of the first.\n"
    "    local f = items[it.first]\n"
    "    r = {out[2 * it.first - 1], out[2 * it.first]}\n"
    "    if f.recorded then\n"
    "      local v = cjson.decode(r[2])\n"
    "      v.replayed = true\n"
    "      r[2] = cjson.encode(v)\n"
    "    end\n"
    "  elseif it.prior then\n"
    "    r = it.prior\n"
    "  else\n"
    "    r = replay(it)\n"
    "    it.recorded = it.h or in_job\n"
    "    tally[r[1]] = tally[r[1]] + 1\n"
    "    tally.done = tally.done + 1\n"
    "    last = id\n"
    "  end\n"
    "  out[2 * i - 1], out[2 * i] = r[1], r[2]\n"
    "end\n"
    "\n"
    "-- 4. The status counters, and the job's progress: what this call really did.\n"
    "for field, by in pairs(moved) do\n"
    "  if by ~= 0 then count(stats, field, by) end\n"
    "end\n"
    "if in_job and tally.done > 0 then\n"
    "  for _, f in ipairs({'done', 'applied', 'refused', 'not_found'}) do\n"
    "    if tally[f] > 0 then redis.call('HINCRBY', job, f, tally[f]) end\n"
    "  end\n"
    "  redis.call('HSET', job, 'updated_at', at, 'last_id', last)\n"
    "  if redis.call('TTL', job) < 0 then redis.call('EXPIRE', job, " ACTIONS_JOB_TTL ") end\n"
    "end\n"
    "return out\n";

/* KEYS: event hash, index, stats, audit, idempotency record. */
static const char ACTIONS_RESOLVE_LUA[] =
    ACTIONS_LUA_ITEM ACTIONS_LUA_COMMON
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
    ACTIONS_LUA_ITEM ACTIONS_LUA_COMMON
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
    ACTIONS_LUA_ITEM ACTIONS_LUA_COMMON
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
    "local no = denied(cmds) or wrong_type({[stream] = 'stream', [cb] = 'hash'})\n"
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

/* Everything one call needs to build its EVALSHAs. */
struct actions_batch {
    enum actions_kind kind;
    const char *lua;
    size_t lua_len;
    char sha[41];
    const char *prefix; /* the DLQ prefix: audit and idempotency records */
    const struct redis_action_ctx *ctx;
    size_t n;
    const char *const *ids;
    size_t per_call; /* items per script call: 1, or a replay batch */
    /* replay */
    const char *const *payloads;
    const char *const *routes;
    bool force;
    bool job; /* count progress in <prefix>:replay:<key> */
    /* circuit */
    const char *circuit_prefix;
    const char *circuit_action;
};

/* One command's arguments, and the strings built for them, freed once
 * the command is queued. */
struct actions_argv {
    const char **v;
    int n, cap;
    char **own;
    int nown, capown;
};

static const char *actions_arg(struct actions_argv *a, const char *s)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = xreallocarray(a->v, (size_t)a->cap, sizeof(*a->v));
    }
    a->v[a->n++] = s;
    return s;
}

/* Keeps s (heap, taken) until the command is queued. */
static const char *actions_own(struct actions_argv *a, char *s)
{
    if (a->nown == a->capown) {
        a->capown = a->capown ? a->capown * 2 : 64;
        a->own = xreallocarray(a->own, (size_t)a->capown, sizeof(*a->own));
    }
    a->own[a->nown++] = s;
    return s;
}

static const char *actions_arg_take(struct actions_argv *a, char *s)
{
    return actions_arg(a, actions_own(a, s));
}

static void actions_argv_reset(struct actions_argv *a)
{
    for (int i = 0; i < a->nown; i++)
        free(a->own[i]);
    a->nown = 0;
    a->n = 0;
}

static void actions_argv_done(struct actions_argv *a)
{
    actions_argv_reset(a);
    free(a->own);
    free(a->v);
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

/* The arguments of ACTIONS_REPLAY_LUA for items [lo, hi). */
static void actions_build_replay(const struct actions_batch *b, size_t lo, size_t hi,
                                 struct actions_argv *a)
{
    const struct redis_action_ctx *ctx = b->ctx;
    size_t m = hi - lo, nroutes = 0;
    /* The distinct routes of the batch: few, often one. */
    const char **routes = xcalloc(m + 1, sizeof(*routes));
    size_t *route_of = xcalloc(m + 1, sizeof(*route_of));
    int nkeys;

    for (size_t i = lo; i < hi; i++) {
        if (b->payloads[i] == NULL)
            continue;
        size_t r = 0;
        while (r < nroutes && strcmp(routes[r], b->routes[i]) != 0)
            r++;
        if (r == nroutes)
            routes[nroutes++] = b->routes[i];
        route_of[i - lo] = r + 1;
    }
    actions_arg(a, "EVALSHA");
    actions_arg(a, b->sha);
    actions_arg(a, "0"); /* the key count, below */
    actions_arg_take(a, xasprintf("%s:stats", b->prefix));
    actions_arg_take(a, xasprintf("%s:audit", b->prefix));
    if (b->job)
        actions_arg_take(a, xasprintf("%s:replay:%s", b->prefix, ctx->idempotency_key));
    else
        actions_arg_take(a, xasprintf("%s:stats", b->prefix));
    int *route_key = xcalloc(nroutes + 1, sizeof(*route_key));
    for (size_t r = 0; r < nroutes; r++) {
        const char *kind, *target;
        size_t kind_len;
        actions_route(routes[r], &kind, &kind_len, &target);
        if (kind_len != 7) { /* list or stream: the route's key is a key */
            actions_arg(a, target);
            route_key[r] = a->n - 3;
        }
    }
    int kbase = a->n - 3;
    for (size_t i = lo; i < hi; i++) {
        actions_arg_take(a, xasprintf("%s:%s", b->prefix, b->ids[i]));
        actions_arg_take(a, xasprintf("%s:idem:%s:%s", b->prefix, ctx->idempotency_key, b->ids[i]));
    }
    nkeys = a->n - 3;
    actions_arg(a, ctx->operator_);
    actions_arg(a, actions_str(ctx->client_host));
    actions_arg(a, actions_str(ctx->client_addr));
    actions_arg(a, ctx->idempotency_key);
    actions_arg(a, actions_str(ctx->reason));
    actions_arg(a, b->force ? "1" : "0");
    actions_arg(a, b->job ? "1" : "0");
    actions_arg_take(a, xasprintf("%zu", nroutes));
    actions_arg_take(a, xasprintf("%d", kbase));
    for (size_t r = 0; r < nroutes; r++) {
        const char *kind, *target;
        size_t kind_len;
        actions_route(routes[r], &kind, &kind_len, &target);
        actions_arg_take(a, xstrndup(kind, kind_len));
        actions_arg(a, target);
        actions_arg(a, routes[r]);
        actions_arg_take(a, xasprintf("%d", route_key[r]));
    }
    for (size_t i = lo; i < hi; i++) {
        actions_arg(a, b->ids[i]);
        actions_arg_take(a, xasprintf("%zu", route_of[i - lo]));
        actions_arg(a, actions_str(b->payloads[i]));
    }
    a->v[2] = actions_own(a, xasprintf("%d", nkeys));
    free(route_key);
    free(route_of);
    free(routes);
}

/* The arguments of item i's script call (resolve, delete, circuit). */
static void actions_build_item(const struct actions_batch *b, size_t i, struct actions_argv *a)
{
    const struct redis_action_ctx *ctx = b->ctx;
    const char *id = b->ids[i];

    actions_arg(a, "EVALSHA");
    actions_arg(a, b->sha);
    actions_arg(a, "0"); /* the key count, below */
    if (b->kind == ACTIONS_CIRCUIT) {
        actions_arg_take(a, xasprintf("%s:%s", b->circuit_prefix, id));
        actions_arg_take(a, xasprintf("%s:audit", b->prefix));
        actions_arg_take(a,
                         xasprintf("%s:idem:%s:circuit:%s", b->prefix, ctx->idempotency_key, id));
    } else {
        actions_arg_take(a, xasprintf("%s:%s", b->prefix, id));
        actions_arg_take(a, xasprintf("%s:index", b->prefix));
        actions_arg_take(a, xasprintf("%s:stats", b->prefix));
        actions_arg_take(a, xasprintf("%s:audit", b->prefix));
        actions_arg_take(a, xasprintf("%s:idem:%s:%s", b->prefix, ctx->idempotency_key, id));
    }
    int nkeys = a->n - 3;
    actions_arg(a, id);
    actions_arg(a, ctx->operator_);
    actions_arg(a, actions_str(ctx->client_host));
    actions_arg(a, actions_str(ctx->client_addr));
    actions_arg(a, ctx->idempotency_key);
    actions_arg(a, actions_str(ctx->reason));
    if (b->kind == ACTIONS_CIRCUIT) {
        actions_arg(a, b->circuit_action);
        actions_arg_take(a, xasprintf("%s:control", b->circuit_prefix));
    }
    a->v[2] = actions_own(a, xasprintf("%d", nkeys));
}

/* Redis 7 without our ACL check says this instead of NOPERM when a
 * script's write is refused. */
static enum status actions_error_status(const char *msg)
{
    if (strstr(msg, "can't run this command") != NULL)
        return STATUS_DENIED;
    return redis_conn_error_status(msg);
}

/* One item's {outcome, JSON} into out; false when it is not that. */
static bool actions_take(const redisReply *o, const redisReply *js, struct redis_action_result *out)
{
    static const struct {
        const char *name;
        enum redis_action_outcome outcome;
    } outcomes[] = {{"applied", REDIS_ACTION_APPLIED},
                    {"refused", REDIS_ACTION_REFUSED},
                    {"not_found", REDIS_ACTION_NOT_FOUND}};
    if (o->type != REDIS_REPLY_STRING || js->type != REDIS_REPLY_STRING)
        return false;
    size_t k;
    for (k = 0; k < sizeof(outcomes) / sizeof(outcomes[0]); k++)
        if (strcmp(o->str, outcomes[k].name) == 0)
            break;
    if (k == sizeof(outcomes) / sizeof(outcomes[0]))
        return false;
    json_t *j = json_loadb(js->str, js->len, 0, NULL);
    if (j == NULL || !json_is_object(j)) {
        /* Bytes that are not UTF-8 (an id or a name another writer left):
         * keep the outcome and the text, visibly escaped. */
        json_decref(j);
        struct buf b;
        buf_init(&b);
        sanitize_append(&b, js->str, js->len, 0, 0);
        j = json_object();
        json_object_set_new(j, "outcome", json_string(outcomes[k].name));
        json_object_set_new(j, "raw", json_string(buf_get(&b)));
        buf_done(&b);
    }
    out->outcome = outcomes[k].outcome;
    out->result = j;
    return true;
}

/* A script call's reply for items [lo, hi): {outcome, JSON} per item. */
static bool actions_take_call(const redisReply *r, size_t lo, size_t hi,
                              struct redis_action_result *out)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 * (hi - lo))
        return false;
    for (size_t i = lo; i < hi; i++)
        if (!actions_take(r->element[2 * (i - lo)], r->element[2 * (i - lo) + 1], &out[i]))
            return false;
    return true;
}

/* Runs the batch: one EVALSHA per call (an item, or a replay batch), all
 * queued before the first reply is read (one round trip). Calls that met
 * an empty script cache (NOSCRIPT: the script did not run) are sent again
 * after SCRIPT LOAD, once. An error reply for one call does not stop the
 * others; the first becomes the return status. */
static enum status actions_run(struct redis_conn *c, struct actions_batch *b,
                               struct redis_action_result *out, struct error *err)
{
    enum status rc = STATUS_OK;
    struct actions_argv a = {0};
    size_t per = b->per_call > 0 ? b->per_call : 1;
    size_t ncalls = (b->n + per - 1) / per, left = ncalls;
    bool *todo = xcalloc(ncalls + 1, sizeof(*todo));

    sha1_hex(b->lua, b->lua_len, b->sha);
    for (size_t k = 0; k < ncalls; k++)
        todo[k] = true;
    for (int attempt = 0; left > 0 && attempt < 2; attempt++) {
        size_t sent = 0, retry = 0;
        for (size_t k = 0; k < ncalls; k++) {
            if (!todo[k])
                continue;
            size_t lo = k * per, hi = lo + per < b->n ? lo + per : b->n;
            if (b->kind == ACTIONS_REPLAY)
                actions_build_replay(b, lo, hi, &a);
            else
                actions_build_item(b, lo, &a);
            rc = redis_conn_append(c, a.n, a.v, NULL, err);
            actions_argv_reset(&a);
            if (rc != STATUS_OK)
                goto out;
            sent++;
        }
        for (size_t k = 0; k < ncalls && sent > 0; k++) {
            if (!todo[k])
                continue;
            size_t lo = k * per, hi = lo + per < b->n ? lo + per : b->n;
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
                    char *safe = sanitize_dup(b->ids[lo], 0);
                    rc = error_set(err, actions_error_status(r->str), "redis at %s: %s%s: %.300s",
                                   redis_conn_endpoint(c), safe,
                                   hi - lo > 1 ? " and the rest of its batch" : "", r->str);
                    free(safe);
                }
                todo[k] = false;
                left--;
            } else {
                bool ok = b->kind == ACTIONS_REPLAY ? actions_take_call(r, lo, hi, out)
                          : r->type == REDIS_REPLY_ARRAY && r->elements == 2
                              ? actions_take(r->element[0], r->element[1], &out[lo])
                              : false;
                if (!ok && rc == STATUS_OK)
                    rc = error_set(err, STATUS_UNAVAILABLE,
                                   "redis at %s: unexpected reply from the action script",
                                   redis_conn_endpoint(c));
                todo[k] = false;
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
    actions_argv_done(&a);
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
        .per_call = 1,
    };
    enum status rc = actions_begin(ctx, n, ids, out, err);
    if (rc != STATUS_OK || n == 0)
        return rc;
    return actions_run(c, &b, out, err);
}

static enum status actions_replay(struct redis_conn *c, const char *prefix,
                                  const struct redis_action_ctx *ctx, size_t n,
                                  const char *const *ids, const char *const *payloads,
                                  const char *const *routes, bool force, bool job,
                                  struct redis_action_result *out, struct error *err)
{
    enum status rc = actions_begin(ctx, n, ids, out, err);
    if (rc != STATUS_OK || n == 0)
        return rc;
    if (payloads == NULL)
        return error_set(err, STATUS_USAGE, "replay needs the events' payloads");
    for (size_t i = 0; i < n; i++) {
        const char *kind, *target;
        size_t kind_len;
        if (payloads[i] == NULL)
            continue;
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
        .per_call = ACTIONS_REPLAY_BATCH,
        .payloads = payloads,
        .routes = routes,
        .force = force,
        .job = job,
    };
    return actions_run(c, &b, out, err);
}

enum status redis_actions_replay(struct redis_conn *c, const char *prefix,
                                 const struct redis_action_ctx *ctx, size_t n,
                                 const char *const *ids, const char *const *payloads,
                                 const char *const *routes, bool force,
                                 struct redis_action_result *out, struct error *err)
{
    return actions_replay(c, prefix, ctx, n, ids, payloads, routes, force, false, out, err);
}

enum status redis_actions_replay_job(struct redis_conn *c, const char *prefix,
                                     const struct redis_action_ctx *ctx, size_t n,
                                     const char *const *ids, const char *const *payloads,
                                     const char *const *routes, bool force,
                                     struct redis_action_result *out, struct error *err)
{
    return actions_replay(c, prefix, ctx, n, ids, payloads, routes, force, true, out, err);
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

/* ---- what a replay sends -------------------------------------------------
 *
 * The payload of a replay is the event's original_event exactly as its
 * producer wrote it: the span of its JSON text inside the event's data,
 * with only the whitespace between tokens removed. Parsing and printing it
 * again would change it (0.1 printed as 0.10000000000000001, 1E2 as
 * 100.0, \u00e9 as é, integers past 64 bits refused), and building the
 * whole event as objects costs more than the script that sends it. So a
 * strict scanner (RFC 8259: grammar, escapes, surrogate pairs, UTF-8, no
 * control characters in strings, depth 2048) checks the whole data and
 * finds the last top-level original_event and original_queue. */

struct actions_scan {
    const unsigned char *p, *end;
    int depth;
};

static void actions_scan_ws(struct actions_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool actions_scan_hex4(const unsigned char *p, const unsigned char *end, unsigned *v)
{
    *v = 0;
    if (end - p < 4)
        return false;
    for (int i = 0; i < 4; i++) {
        unsigned char ch = p[i];
        unsigned d = ch >= '0' && ch <= '9'   ? (unsigned)(ch - '0')
                     : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                     : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10)
                                              : 16;
        if (d == 16)
            return false;
        *v = *v << 4 | d;
    }
    return true;
}

/* The length of the UTF-8 sequence at p (2-4 bytes), 0 when invalid
 * (overlong, a surrogate, past U+10FFFF, cut short). */
static size_t actions_scan_utf8(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], min;
    size_t len;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, c &= 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, c &= 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return len;
}

/* A string token at s->p ('"'); *escaped when it has a backslash. */
static bool actions_scan_string(struct actions_scan *s, bool *escaped)
{
    *escaped = false;
    for (s->p++; s->p < s->end;) {
        unsigned char ch = *s->p;
        unsigned v, lo;
        if (ch == '"') {
            s->p++;
            return true;
        }
        if (ch < 0x20)
            return false;
        if (ch < 0x80 && ch != '\\') {
            s->p++;
            continue;
        }
        if (ch >= 0x80) {
            size_t k = actions_scan_utf8(s->p, s->end);
            if (k == 0)
                return false;
            s->p += k;
            continue;
        }
        *escaped = true;
        if (s->end - s->p < 2)
            return false;
        if (strchr("\"\\/bfnrt", s->p[1]) != NULL && s->p[1] != '\0') {
            s->p += 2;
            continue;
        }
        if (s->p[1] != 'u' || !actions_scan_hex4(s->p + 2, s->end, &v))
            return false;
        s->p += 6;
        if (v >= 0xdc00 && v <= 0xdfff)
            return false; /* a low surrogate alone */
        if (v >= 0xd800 && v <= 0xdbff) {
            if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
                !actions_scan_hex4(s->p + 2, s->end, &lo) || lo < 0xdc00 || lo > 0xdfff)
                return false;
            s->p += 6;
        }
    }
    return false;
}

static bool actions_scan_digits(struct actions_scan *s)
{
    const unsigned char *at = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > at;
}

static bool actions_scan_number(struct actions_scan *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!actions_scan_digits(s))
        return false;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!actions_scan_digits(s))
            return false;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!actions_scan_digits(s))
            return false;
    }
    return true;
}

static bool actions_scan_value(struct actions_scan *s);

/* An object or array at s->p, its members scanned by actions_scan_value. */
static bool actions_scan_container(struct actions_scan *s)
{
    unsigned char close = *s->p == '{' ? '}' : ']';
    bool escaped;
    if (++s->depth > 2048)
        return false;
    s->p++;
    actions_scan_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return true;
    }
    for (;;) {
        actions_scan_ws(s);
        if (close == '}') {
            if (s->p >= s->end || *s->p != '"' || !actions_scan_string(s, &escaped))
                return false;
            actions_scan_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return false;
            s->p++;
        }
        if (!actions_scan_value(s))
            return false;
        actions_scan_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == close) {
            s->p++;
            s->depth--;
            return true;
        }
        return false;
    }
}

static bool actions_scan_value(struct actions_scan *s)
{
    static const char *const words[] = {"true", "false", "null"};
    bool escaped;
    actions_scan_ws(s);
    if (s->p >= s->end)
        return false;
    switch (*s->p) {
    case '{':
    case '[':
        return actions_scan_container(s);
    case '"':
        return actions_scan_string(s, &escaped);
    case 't':
    case 'f':
    case 'n':
        for (size_t i = 0; i < 3; i++) {
            size_t len = strlen(words[i]);
            if ((size_t)(s->end - s->p) >= len && memcmp(s->p, words[i], len) == 0) {
                s->p += len;
                return true;
            }
        }
        return false;
    default:
        return (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) && actions_scan_number(s);
    }
}

/* The decoded text of a string token [p, end) (quotes included), or NULL
 * when it is not one jansson takes (\u0000). */
static char *actions_scan_text(const unsigned char *p, const unsigned char *end, bool escaped)
{
    if (!escaped)
        return xstrndup((const char *)p + 1, (size_t)(end - p) - 2);
    json_t *j = json_loadb((const char *)p, (size_t)(end - p), JSON_DECODE_ANY, NULL);
    char *t = json_is_string(j) ? xstrdup(json_string_value(j)) : NULL;
    json_decref(j);
    return t;
}

/* The JSON text [p, end), already scanned, without whitespace between
 * tokens. */
static char *actions_scan_compact(const unsigned char *p, const unsigned char *end)
{
    char *out = xmalloc((size_t)(end - p) + 1), *o = out;
    bool str = false;
    for (; p < end; p++) {
        if (str) {
            *o++ = (char)*p;
            if (*p == '\\')
                *o++ = (char)*++p;
            else if (*p == '"')
                str = false;
        } else if (*p == '"') {
            str = true;
            *o++ = '"';
        } else if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    return out;
}

/* From an event's data: the original event's JSON text and the original
 * queue (heap strings), or false when the data is not a JSON object with
 * both (a queue that is not a string). */
static bool actions_event_fields(const char *data, size_t len, char **payload, char **queue)
{
    struct actions_scan s = {(const unsigned char *)data, (const unsigned char *)data + len, 1};
    const unsigned char *ev = NULL, *ev_end = NULL, *q = NULL, *q_end = NULL;
    bool q_escaped = false, escaped, vescaped = false;

    *payload = *queue = NULL;
    actions_scan_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return false;
    s.p++;
    actions_scan_ws(&s);
    if (s.p < s.end && *s.p == '}')
        s.p++;
    else
        for (;;) {
            actions_scan_ws(&s);
            const unsigned char *k = s.p;
            if (s.p >= s.end || *s.p != '"' || !actions_scan_string(&s, &escaped))
                return false;
            const unsigned char *k_end = s.p;
            actions_scan_ws(&s);
            if (s.p >= s.end || *s.p != ':')
                return false;
            s.p++;
            actions_scan_ws(&s);
            const unsigned char *v = s.p;
            if (s.p < s.end && *s.p == '"') {
                if (!actions_scan_string(&s, &vescaped))
                    return false;
            } else if (!actions_scan_value(&s)) {
                return false;
            }
            /* A key spelled with escapes is compared decoded. */
            char *name = escaped ? actions_scan_text(k, k_end, true) : NULL;
            const char *kn = escaped ? name : (const char *)k + 1;
            size_t kl = escaped ? (name != NULL ? strlen(name) : 0) : (size_t)(k_end - k) - 2;
            if (kn != NULL && kl == 14 && memcmp(kn, "original_event", 14) == 0) {
                ev = v, ev_end = s.p;
            } else if (kn != NULL && kl == 14 && memcmp(kn, "original_queue", 14) == 0) {
                q = *v == '"' ? v : NULL, q_end = s.p, q_escaped = vescaped;
            }
            free(name);
            actions_scan_ws(&s);
            if (s.p < s.end && *s.p == ',') {
                s.p++;
                continue;
            }
            if (s.p < s.end && *s.p == '}') {
                s.p++;
                break;
            }
            return false;
        }
    actions_scan_ws(&s);
    if (s.p != s.end || ev == NULL || q == NULL)
        return false;
    if ((*queue = actions_scan_text(q, q_end, q_escaped)) == NULL)
        return false;
    *payload = actions_scan_compact(ev, ev_end);
    return true;
}

enum status redis_actions_replay_read(struct redis_conn *c, const char *prefix, size_t n,
                                      const char *const *ids, char **payloads, char **queues,
                                      struct error *err)
{
    const char *p = prefix != NULL && *prefix ? prefix : "dlq";
    enum status rc = STATUS_OK;
    size_t sent = 0;

    for (size_t i = 0; i < n; i++)
        payloads[i] = queues[i] = NULL;
    for (; sent < n; sent++) {
        char *key = xasprintf("%s:%s", p, ids[sent]);
        const char *argv[] = {"HGET", key, "data"};
        rc = redis_conn_append(c, 3, argv, NULL, err);
        free(key);
        if (rc != STATUS_OK)
            break;
    }
    for (size_t i = 0; i < sent; i++) {
        redisReply *r = redis_conn_reply(c, err);
        if (r == NULL) {
            rc = err->status;
            break;
        }
        if (rc == STATUS_OK && r->type == REDIS_REPLY_STRING)
            actions_event_fields(r->str, r->len, &payloads[i], &queues[i]);
        freeReplyObject(r);
    }
    if (rc != STATUS_OK)
        for (size_t i = 0; i < n; i++) {
            free(payloads[i]);
            free(queues[i]);
            payloads[i] = queues[i] = NULL;
        }
    return rc;
}

/* ---- bulk replay jobs ----------------------------------------------------- */

/* KEYS: the job hash. ARGV: operator, client host, events this run will
 * try, how many of them already have an outcome under the job's key,
 * what was selected, force (1/0). Creates the hash, or marks an existing
 * one running again with its total recounted; keeps it ACTIONS_JOB_TTL. */
static const char ACTIONS_JOB_BEGIN_LUA[] =
    "local id, op, host, addr, ikey, reason = nil, ARGV[1], ARGV[2], '', '', ''\n"
    ACTIONS_LUA_COMMON
    "local job = KEYS[1]\n"
    "local n, already, selection, force = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], "
    "ARGV[6]\n"
    "local no = denied({{'HSET', job, 'a', 'b'}, {'HINCRBY', job, 'a', '1'},\n"
    "  {'EXPIRE', job, '1'}}) or wrong_type({[job] = 'hash'})\n"
    "if no then return no end\n"
    "local at = now_iso()\n"
    "if redis.call('EXISTS', job) == 0 then\n"
    "  redis.call('HSET', job, 'total', n, 'done', 0, 'applied', 0, 'refused', 0,\n"
    "    'not_found', 0, 'status', 'running', 'operator', op, 'client_host', host,\n"
    "    'started_at', at, 'updated_at', at, 'selection', selection, 'force', force, 'runs', 1)\n"
    "else\n"
    "  local done = tonumber(redis.call('HGET', job, 'done')) or 0\n"
    "  redis.call('HSET', job, 'total', done + math.max(n - already, 0), 'status', 'running',\n"
    "    'updated_at', at, 'resumed_at', at, 'resumed_by', op)\n"
    "  redis.call('HINCRBY', job, 'runs', 1)\n"
    "end\n"
    "redis.call('EXPIRE', job, " ACTIONS_JOB_TTL ")\n"
    "return 1\n";

/* KEYS: the job hash. ARGV: its new status. Nothing when it is gone. */
static const char ACTIONS_JOB_END_LUA[] =
    "local id, op, host, addr, ikey, reason = nil, '', '', '', '', ''\n"
    ACTIONS_LUA_COMMON
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local at = now_iso()\n"
    "redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', at)\n"
    "if ARGV[1] == 'completed' then redis.call('HSET', KEYS[1], 'finished_at', at) end\n"
    "return 1\n";

static enum status actions_job_key_ok(const char *job_id, struct error *err)
{
    if (job_id == NULL || job_id[0] == '\0' || strlen(job_id) > ACTIONS_IDEM_MAX ||
        strchr(job_id, ':') != NULL)
        return error_set(err, STATUS_USAGE,
                         "a replay job id is an idempotency key: 1..%d characters, no ':'",
                         ACTIONS_IDEM_MAX);
    return STATUS_OK;
}

enum status redis_actions_job_get(struct redis_conn *c, const char *prefix, const char *job_id,
                                  json_t **out, struct error *err)
{
    static const char *const counts[] = {"total",   "done",      "applied",
                                         "refused", "not_found", "runs"};
    *out = NULL;
    enum status rc = actions_job_key_ok(job_id, err);
    if (rc != STATUS_OK)
        return rc;
    char *key = xasprintf("%s:replay:%s", prefix != NULL && *prefix ? prefix : "dlq", job_id);
    const char *argv[] = {"HGETALL", key};
    redisReply *r = redis_conn_command(c, 2, argv, NULL, err);
    if (r == NULL) {
        rc = err->status;
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        rc = r->type == REDIS_REPLY_ARRAY
                 ? error_set(err, STATUS_NOT_FOUND, "no replay job %s", job_id)
                 : error_set(err, STATUS_UNAVAILABLE, "redis at %s: unexpected reply to HGETALL",
                             redis_conn_endpoint(c));
        freeReplyObject(r);
        goto out;
    }
    json_t *j = json_object();
    json_object_set_new(j, "job_id", json_string(job_id));
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        json_t *val = NULL;
        for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]) && val == NULL; k++) {
            char *end;
            long long n = strtoll(v->str, &end, 10);
            if (strcmp(f->str, counts[k]) == 0 && *v->str != '\0' && *end == '\0')
                val = json_integer(n);
        }
        if (val == NULL && strcmp(f->str, "force") == 0)
            val = json_boolean(strcmp(v->str, "1") == 0);
        if (val == NULL)
            val = json_stringn(v->str, v->len);
        if (val == NULL) { /* not UTF-8: visibly escaped */
            char *safe = sanitize_dup(v->str, 0);
            val = json_string(safe);
            free(safe);
        }
        if (val != NULL)
            json_object_set_new(j, f->str, val);
    }
    freeReplyObject(r);
    *out = j;
out:
    free(key);
    return rc;
}

enum status redis_actions_job_begin(struct redis_conn *c, const char *prefix,
                                    const struct redis_action_ctx *ctx, size_t n, size_t already,
                                    const char *selection, bool force, struct error *err)
{
    enum status rc = actions_job_key_ok(ctx->idempotency_key, err);
    if (rc != STATUS_OK)
        return rc;
    char *key =
        xasprintf("%s:replay:%s", prefix != NULL && *prefix ? prefix : "dlq", ctx->idempotency_key);
    char *sn = xasprintf("%zu", n), *sa = xasprintf("%zu", already);
    const char *argv[] = {"EVAL",
                          ACTIONS_JOB_BEGIN_LUA,
                          "1",
                          key,
                          ctx->operator_,
                          actions_str(ctx->client_host),
                          sn,
                          sa,
                          actions_str(selection),
                          force ? "1" : "0"};
    redisReply *r = redis_conn_command(c, 10, argv, NULL, err);
    if (r == NULL) {
        rc = err->status;
        error_prefix(err,
                     "cannot record replay job %s, so nothing was sent: ", ctx->idempotency_key);
    }
    freeReplyObject(r);
    free(sa);
    free(sn);
    free(key);
    return rc;
}

enum status redis_actions_job_end(struct redis_conn *c, const char *prefix, const char *job_id,
                                  const char *status, struct error *err)
{
    enum status rc = actions_job_key_ok(job_id, err);
    if (rc != STATUS_OK)
        return rc;
    char *key = xasprintf("%s:replay:%s", prefix != NULL && *prefix ? prefix : "dlq", job_id);
    const char *argv[] = {"EVAL", ACTIONS_JOB_END_LUA, "1", key, status};
    redisReply *r = redis_conn_command(c, 5, argv, NULL, err);
    if (r == NULL)
        rc = err->status;
    freeReplyObject(r);
    free(key);
    return rc;
}

enum status redis_actions_job_recorded(struct redis_conn *c, const char *prefix, const char *job_id,
                                       size_t n, const char *const *ids, size_t *count,
                                       struct error *err)
{
    enum status rc = actions_job_key_ok(job_id, err);
    struct actions_argv a = {0};
    const char *p = prefix != NULL && *prefix ? prefix : "dlq";
    size_t queued = 0;

    *count = 0;
    /* EXISTS counts many keys at once: a thousand ids a command, all
     * commands in one round trip. */
    for (size_t i = 0; rc == STATUS_OK && i < n; i += 1000) {
        actions_arg(&a, "EXISTS");
        for (size_t k = i; k < n && k < i + 1000; k++)
            actions_arg_take(&a, xasprintf("%s:idem:%s:%s", p, job_id, ids[k]));
        rc = redis_conn_append(c, a.n, a.v, NULL, err);
        actions_argv_reset(&a);
        if (rc == STATUS_OK)
            queued++;
    }
    for (; queued > 0; queued--) {
        redisReply *r = redis_conn_reply(c, err);
        if (r == NULL) {
            rc = err->status;
            break;
        }
        if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
            *count += (size_t)r->integer;
        else if (r->type == REDIS_REPLY_ERROR && rc == STATUS_OK)
            rc = redis_conn_reply_error(c, r, err);
        freeReplyObject(r);
    }
    actions_argv_done(&a);
    return rc;
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
