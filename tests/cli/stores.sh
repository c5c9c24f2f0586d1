# The private stores: start is idempotent, stop is by pid, and the watchdog
# stops them when their owner dies, even by SIGKILL.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

pg_pid=$(pid_of postgres)
redis_pid=$(pid_of redis)
run stores start --dir "$STORES_DIR"
expect_rc 0 "second start"
assert_eq "$pg_pid" "$(pid_of postgres)" "postgres not restarted"
assert_eq "$redis_pid" "$(pid_of redis)" "redis not restarted"
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
opg=$(pid_of postgres "$other")
ored=$(pid_of redis "$other")
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

# A folder others may write is refused: they could plant symlinks in it.
mkdir -p "$TEST_TMP/open"
chmod 777 "$TEST_TMP/open"
run stores start --dir "$TEST_TMP/open"
expect_rc 2 "a world-writable --dir is refused"
assert_match 'writable by nobody else' "$err" "the refusal says why"

# A stale pid file naming an unrelated live process (as after a reboot
# recycled the pid): stop leaves it alone.
run stores stop --dir "$STORES_DIR"
expect_rc 0 "stop before planting a stale pid file"
sleep 60 &
bystander=$!
printf '%s 1\n' "$bystander" >"$STORES_DIR/redis.pid"
run stores stop --dir "$STORES_DIR"
kill -0 "$bystander" 2>/dev/null || fail "stop signalled a process that is not ours"
ok "a recycled pid is not signalled"
kill "$bystander"
run stores start --dir "$STORES_DIR"
expect_rc 0 "start after the stale pid file"

# Stopping a frozen PostgreSQL leaves no stopped backend behind.
pm=$(pid_of postgres)
psql_q "SELECT 1" >/dev/null
pg_freeze
run stores stop --dir "$STORES_DIR"
expect_rc 0 "stop of a frozen postgres"
left=$(ps -eo ppid=,pid= | awk -v pm="$pm" '$1 == pm || $2 == pm' | wc -l)
assert_eq "0" "$left" "no postgres process left behind"
run stores start --dir "$STORES_DIR"
expect_rc 0 "start after stopping a frozen postgres"

# A folder name with blanks and a quote survives conninfo and shell quoting.
odd="$TEST_TMP/it's odd"
run stores start --dir "$odd"
expect_rc 0 "start in a folder with a quote and a blank"
(
    eval "$("$OPSDECK" stores env --dir "$odd")"
    "$OPSDECK" status >/dev/null
) || fail "stores env output does not work for an odd folder name"
ok "stores env quotes an odd folder name"
run stores stop --dir "$odd"
expect_rc 0 "stop the odd folder"

finish
