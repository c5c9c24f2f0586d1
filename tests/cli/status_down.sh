# opsdeck status with a store stopped (SIGSTOP: accepts, never answers) or
# gone (no socket): it reports the other store, marks the dead one, prints
# one line on stderr and exits 3 within the configured timeout.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

migrate
pg_pid=$(pid_of postgres)
redis_pid=$(pid_of redis)
trap 'kill -CONT $pg_pid $redis_pid 2>/dev/null' EXIT

# timed ARGS...: like run, and $elapsed holds the whole seconds it took.
timed()
{
    t0=$(date +%s%N)
    run "$@"
    elapsed=$((($(date +%s%N) - t0) / 1000000000))
}

export OPSDECK_CONNECT_TIMEOUT=1s OPSDECK_COMMAND_TIMEOUT=1s

kill -STOP "$pg_pid"
timed status
expect_rc 3 "status with postgres stopped"
one_line "$err" "stderr"
assert_match '^opsdeck: postgres at .*:5432: no answer within 1s; redis is up$' "$err" "stderr names postgres and its endpoint"
assert_match '^postgres +DOWN' "$out" "postgres marked down"
assert_match '^redis +up' "$out" "redis still reported"
assert_match '^dlq +0 deep' "$out" "redis counts still shown"
assert_match '^sagas +unavailable' "$out" "postgres counts marked unavailable"
[ "$elapsed" -le 3 ] || fail "status took ${elapsed}s with a 1s timeout"
ok "status returned within the timeout (${elapsed}s)"
timed status --json
expect_rc 3 "status --json with postgres stopped"
assert_eq "down" "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["backends"]["postgres"]["state"])')" \
    "JSON marks postgres down"
kill -CONT "$pg_pid"

run status
expect_rc 0 "postgres answers again after SIGCONT"

kill -STOP "$redis_pid"
timed status
expect_rc 3 "status with redis stopped"
one_line "$err" "stderr"
assert_match '^opsdeck: redis at .*redis.sock: no answer within 1s; postgres is up$' "$err" "stderr names redis"
assert_match '^postgres +up' "$out" "postgres still reported"
assert_match '^dlq +unavailable' "$out" "redis counts marked unavailable"
[ "$elapsed" -le 4 ] || fail "status took ${elapsed}s with 1s timeouts"
ok "status returned within the timeouts (${elapsed}s)"
kill -CONT "$redis_pid"

# Both gone: refused connections are fast.
"$OPSDECK" stores stop --dir "$STORES_DIR" >/dev/null
timed status
expect_rc 3 "status with both stores gone"
one_line "$err" "stderr"
assert_match 'postgres at .*; redis at ' "$err" "stderr names both"
[ "$elapsed" -le 2 ] || fail "status took ${elapsed}s against missing sockets"
ok "missing sockets fail fast"

# A TCP server on loopback that accepts and never answers: the connect
# timeout bounds the wait for both stores.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$TEST_TMP/port" &
mute=$!
for i in $(seq 1 100); do [ -s "$TEST_TMP/port" ] && break; sleep 0.1; done
[ -s "$TEST_TMP/port" ] || fail "the mute server did not start"
port=$(cat "$TEST_TMP/port")
timed --postgres "host=127.0.0.1 port=$port" --redis "redis://127.0.0.1:$port/0" status
kill "$mute"
expect_rc 3 "status against a server that never answers"
one_line "$err" "stderr"
assert_match "postgres at 127.0.0.1:$port: no answer within 1s; redis at 127.0.0.1:$port: no answer within 1s" \
    "$err" "both named with host and port"
[ "$elapsed" -le 4 ] || fail "status took ${elapsed}s against a mute server"
ok "a mute server is bounded by the timeouts (${elapsed}s)"

finish
