# Idempotency of a Redis action whose connection is killed mid-action
# (CLIENT KILL), without sleeps standing in for synchronisation: Redis is
# paused for writes, so the replay's script waits in the server until the
# test lets it run.
#   1. The script runs, then the connection is killed before opsdeck reads
#      the reply (opsdeck is stopped meanwhile). Two more runs with the
#      same key report the first outcome: one send, one audit entry.
#   2. The connection is killed while the script still waits: it never
#      runs, opsdeck fails in one line, and the retry applies once.
#   3. opsdeck itself dies after the script ran: the retry reports the
#      first outcome.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

export OPSDECK_ROUTE="orders.events=list:orders.replayed"
export OPSDECK_COMMAND_TIMEOUT=60s

event()
{
    redis_q HSET "dlq:$1" data "{\"event_id\": \"$1\", \"original_event\": {\"order_id\": \"$1\"}, \"failure_reason\": \"DLQReason.PROCESSING_TIMEOUT\", \"original_queue\": \"orders.events\"}" \
        created_at 2026-11-23T17:52:16 status pending_review >/dev/null
    redis_q ZADD dlq:index 1795456000 "$1" >/dev/null
}
# The id of the client whose script waits behind the pause.
waiting_client()
{
    redis_q CLIENT LIST | sed -n 's/^id=\([0-9]*\) .* flags=[A-Za-z]*b[A-Za-z]* .* cmd=eval\(sha\)\{0,1\} .*/\1/p'
}
# start ID KEY: replays ID with KEY in the background ($pid), and waits
# until its script is blocked in the paused server ($client).
start()
{
    "$OPSDECK" dlq replay "$1" --idempotency-key "$2" >"$TEST_TMP/bg.out" 2>"$TEST_TMP/bg.err" </dev/null &
    pid=$!
    wait_until 20 "the replay of $1 waits in the paused server" '[ -n "$(waiting_client)" ]'
    client=$(waiting_client)
}
collect()
{
    rc=0
    wait $pid 2>/dev/null || rc=$?
    out=$(cat "$TEST_TMP/bg.out")
    err=$(cat "$TEST_TMP/bg.err")
}
ok_entries()
{
    redis_q EVAL "local n = 0 for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do local f, t, o = e[2], nil, nil for j = 1, #f, 2 do if f[j] == 'target_id' then t = f[j + 1] elseif f[j] == 'outcome' then o = f[j + 1] end end if t == ARGV[1] and o == 'ok' then n = n + 1 end end return n" 1 dlq:audit "$1"
}
copies()
{
    redis_q LRANGE orders.replayed 0 -1 | grep -cx "{\"order_id\":\"$1\"}"
}
# twice_more ID KEY: two more runs with KEY after the first: each reports
# the first outcome, and the event was sent and audited once.
twice_more()
{
    for n in 2 3; do
        run dlq replay "$1" --idempotency-key "$2" --json
        expect_rc 0 "run $n with key $2"
        assert_eq "applied|true" "$(printf '%s' "$out" | jq -r '[.outcome, .replayed] | map(tostring) | join("|")')" \
            "run $n reports the first outcome"
    done
    assert_eq "1|1|1" "$(copies "$1")|$(redis_q HGET "dlq:$1" replay_count)|$(ok_entries "$1")" \
        "$1: one copy on the list, replay_count 1, one ok audit entry"
}

for e in warm k1 k2 k3; do event "$e"; done
run dlq replay warm
expect_rc 0 "a first replay loads the script"

# 1. Killed after the script ran, before opsdeck read the reply.
redis_q CLIENT PAUSE 60000 WRITE >/dev/null
start k1 key-1
kill -STOP $pid
redis_q CLIENT UNPAUSE >/dev/null
wait_until 20 "the script ran once the pause ended" '[ "$(copies k1)" = 1 ]'
assert_eq "1" "$(redis_q CLIENT KILL ID "$client")" "the connection is killed"
kill -CONT $pid
collect
# The reply was in opsdeck's socket before the server closed it, so
# opsdeck reads it and reports the outcome.
expect_rc 0 "opsdeck reports the outcome that reached it"
assert_eq "dlq event k1 replayed on list:orders.replayed" "$out" "the outcome line"
assert_eq "" "$err" "nothing on stderr"
twice_more k1 key-1

# 2. Killed while the script still waited: it never ran.
redis_q CLIENT PAUSE 60000 WRITE >/dev/null
start k2 key-2
assert_eq "1" "$(redis_q CLIENT KILL ID "$client")" "the waiting connection is killed"
collect
redis_q CLIENT UNPAUSE >/dev/null
expect_rc 3 "opsdeck fails: the server went away"
one_line "$err" "the failure"
assert_match '^opsdeck: redis at .*: connection closed by the server; whether it was replayed is unknown: run it again with --idempotency-key key-2 ' \
    "$err" "it says what is unknown and how to find out"
assert_eq "" "$out" "no outcome printed"
assert_eq "pending_review|0|0" "$(redis_q HGET dlq:k2 status)|$(copies k2)|$(ok_entries k2)" \
    "nothing changed"
run dlq replay k2 --idempotency-key key-2 --json
expect_rc 0 "the retry"
assert_eq "applied|false" "$(printf '%s' "$out" | jq -r '[.outcome, .replayed] | map(tostring) | join("|")')" \
    "the retry applies (it is not a repeat)"
twice_more k2 key-2

# 3. opsdeck dies after the script ran: the reply is never read.
redis_q CLIENT PAUSE 60000 WRITE >/dev/null
start k3 key-3
kill -STOP $pid
redis_q CLIENT UNPAUSE >/dev/null
wait_until 20 "the script ran" '[ "$(copies k3)" = 1 ]'
kill -KILL $pid
collect
[ "$rc" -eq 137 ] || fail "opsdeck was not killed (exit $rc)"
ok "opsdeck died before reading the outcome"
twice_more k3 key-3

assert_eq "4" "$(redis_q LLEN orders.replayed)" "four events, each sent once"
finish
