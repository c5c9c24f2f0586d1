# The private stores: start is idempotent, stop is by pid, and the watchdog
# stops them when their owner dies, even by SIGKILL.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

pg_pid=$(cat "$STORES_DIR/postgres.pid")
redis_pid=$(cat "$STORES_DIR/redis.pid")
run stores start --dir "$STORES_DIR"
expect_rc 0 "second start"
assert_eq "$pg_pid" "$(cat "$STORES_DIR/postgres.pid")" "postgres not restarted"
assert_eq "$redis_pid" "$(cat "$STORES_DIR/redis.pid")" "redis not restarted"
[ "$(stat -c %a "$STORES_DIR/run")" = 700 ] || fail "socket folder is not 0700"
ok "socket folder is private"
psql_q "SHOW listen_addresses" | grep -q . && fail "postgres listens on TCP"
ok "postgres listens on no TCP address"
assert_eq "0" "$(redis_q CONFIG GET port | tail -n 1)" "redis listens on no TCP port"
if [ "$(id -u)" -eq 0 ]; then
    assert_eq "postgres" "$(ps -o user= -p "$pg_pid" | tr -d ' ')" "as root, postgres runs unprivileged"
fi

# A second folder owned by a process we then SIGKILL.
other=$TEST_TMP/other
sh -c 'sleep 60' &
owner=$!
run stores start --dir "$other" --watch "$owner"
expect_rc 0 "start with a watched owner"
opg=$(cat "$other/postgres.pid")
ored=$(cat "$other/redis.pid")
kill -0 "$opg" && kill -0 "$ored" || fail "servers of the second folder are not running"
ok "second folder's servers run"
kill -KILL "$owner"
for i in $(seq 1 100); do
    kill -0 "$opg" 2>/dev/null || kill -0 "$ored" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$opg" 2>/dev/null && fail "postgres survived its owner"
kill -0 "$ored" 2>/dev/null && fail "redis survived its owner"
ok "the watchdog stopped both servers after the owner was killed"

run stores env --dir "$other"
expect_rc 3 "env of stopped stores"
run stores stop --dir "$other"
expect_rc 0 "stopping stopped stores is fine"

# Stop by pid, and the data stays for the next start.
psql_q "CREATE TABLE keepme (x int)" >/dev/null
run stores stop --dir "$STORES_DIR"
expect_rc 0 "stop"
kill -0 "$pg_pid" 2>/dev/null && fail "postgres still running after stop"
kill -0 "$redis_pid" 2>/dev/null && fail "redis still running after stop"
ok "both servers gone after stop"
run stores start --dir "$STORES_DIR"
expect_rc 0 "restart"
assert_eq "t" "$(psql_q "SELECT to_regclass('keepme') IS NOT NULL")" "data kept across restart"

run stores start --dir relative/path
expect_rc 2 "a relative --dir is refused"

finish
