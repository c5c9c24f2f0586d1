# opsdeck migrate: applies once, is safe to run twice, reports status,
# honours the schema setting and read-only mode.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

run migrate --status
expect_rc 0 "migrate --status before any migration"
assert_match '^1 +001_core +pending' "$out" "001_core is pending"

run migrate
expect_rc 0 "first migrate"
assert_match '^applied [0-9]+ migrations? to schema wf' "$out" "first migrate applies"
v1=$(psql_q "SELECT max(version) FROM wf.schema_migrations")
run migrate
expect_rc 0 "second migrate"
assert_match 'up to date' "$out" "second migrate changes nothing"
assert_eq "$v1" "$(psql_q "SELECT max(version) FROM wf.schema_migrations")" "version unchanged"
assert_eq "1" "$(psql_q "SELECT count(*) FROM wf.schema_migrations WHERE version = 1")" \
    "migration recorded once"

run migrate --status --json
expect_rc 0 "migrate --status --json"
state=$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["migrations"][0]["state"], d["schema"])')
assert_eq "applied wf" "$state" "JSON status says applied"

# An up-to-date schema needs no write right: a viewer's migrate is told so
# and changes nothing, and it may list the migrations.
psql_q "CREATE ROLE mig_viewer LOGIN IN ROLE opsdeck_viewer" >/dev/null
run --postgres "$OPSDECK_POSTGRES user=mig_viewer" migrate
expect_rc 0 "migrate by a viewer on an up-to-date schema"
assert_match 'up to date' "$out" "the viewer is told the schema is up to date"
run --postgres "$OPSDECK_POSTGRES user=mig_viewer" migrate --status
expect_rc 0 "migrate --status by a viewer"
assert_match '^1 +001_core +applied' "$out" "the viewer sees 001_core applied"
assert_eq "$v1" "$(psql_q "SELECT max(version) FROM wf.schema_migrations")" "the viewer changed nothing"

# Two migrations at once: the advisory lock serialises them.
"$OPSDECK" --schema twin migrate >/dev/null 2>&1 &
p1=$!
"$OPSDECK" --schema twin migrate >/dev/null 2>&1 &
p2=$!
wait $p1 || fail "first concurrent migrate failed"
wait $p2 || fail "second concurrent migrate failed"
assert_eq "$(psql_q "SELECT count(*) FROM wf.schema_migrations")" \
    "$(psql_q "SELECT count(DISTINCT version) FROM twin.schema_migrations")" "concurrent migrates apply every migration"
assert_eq "0" "$(psql_q "SELECT count(*) - count(DISTINCT version) FROM twin.schema_migrations")" \
    "concurrent migrates record each once"

# A migrate waits for one that holds the lock longer than the session's
# lock_timeout and command timeout.
psql -X -q -c "SELECT pg_advisory_lock(hashtext('opsdeck.migrate.held')), pg_sleep(3)" >/dev/null &
holder=$!
wait_lock()
{
    _i=0
    until [ "$(psql_q "SELECT count(*) FROM pg_locks WHERE granted AND $1")" -gt 0 ]; do
        _i=$((_i + 1))
        [ "$_i" -le 100 ] || fail "the lock was not taken within 10s"
        sleep 0.1
    done
}
wait_lock "locktype = 'advisory'"
run --lock-timeout 1s --command-timeout 1s --schema held migrate
expect_rc 0 "migrate waits for the migration lock"
assert_match '^applied [0-9]+ migrations? to schema held' "$out" "the waiting migrate applies"
wait $holder || fail "the lock holder failed"

# A table locked by someone else: the migration gives up after the
# session's lock_timeout (not the lock wait's), says why, records nothing.
# --lock-timeout 0 leaves the server's (here the role's) setting in force.
psql_q "CREATE SCHEMA lk; CREATE TABLE lk.saga_executions (execution_id text PRIMARY KEY)" >/dev/null
for lt in 1s 0; do
    [ "$lt" = 0 ] && psql_q "ALTER ROLE current_user SET lock_timeout = '1s'"
    psql -X -q -c "BEGIN" -c "LOCK TABLE lk.saga_executions" -c "SELECT pg_sleep(4)" -c "COMMIT" >/dev/null &
    holder=$!
    wait_lock "relation = 'lk.saga_executions'::regclass AND mode = 'AccessExclusiveLock'"
    t0=$(date +%s)
    run --lock-timeout $lt --schema lk migrate
    expect_rc 3 "migrate with a table locked, --lock-timeout $lt"
    one_line "$err" "lock message"
    assert_match 'migration 001_core: a table is locked by another session' "$err" \
        "the message says a table is locked"
    [ $(($(date +%s) - t0)) -le 3 ] || fail "migrate waited longer than the lock_timeout of 1s"
    ok "migrate gave up after the session's lock_timeout"
    assert_eq "" "$(psql_q "SELECT to_regclass('lk.schema_migrations')")" "its transaction was rolled back"
    wait $holder || fail "the table lock holder failed"
done
psql_q "ALTER ROLE current_user RESET lock_timeout"

# Another schema, by flag and by variable.
run --schema ops_x migrate
expect_rc 0 "migrate into ops_x"
assert_eq "t" "$(psql_q "SELECT to_regclass('ops_x.saga_executions') IS NOT NULL")" "ops_x has the tables"
export OPSDECK_SCHEMA=ops_y
run migrate
expect_rc 0 "migrate into ops_y via OPSDECK_SCHEMA"
unset OPSDECK_SCHEMA
assert_eq "t" "$(psql_q "SELECT to_regclass('ops_y.approvals') IS NOT NULL")" "ops_y has the tables"
run --schema 'Bad-Name' migrate
expect_rc 2 "a bad schema name is refused"

# Read-only mode refuses migrate but allows --status.
run --read-only --schema ops_z migrate
expect_rc 5 "migrate in read-only mode"
assert_match 'read-only' "$err" "refusal says read-only"
assert_eq "" "$(psql_q "SELECT nspname FROM pg_namespace WHERE nspname = 'ops_z'")" "nothing created"
run --read-only migrate --status
expect_rc 0 "migrate --status in read-only mode"

# A role without rights gets exit 5 and changes nothing.
psql_q "CREATE ROLE weak LOGIN" >/dev/null
run --postgres "$OPSDECK_POSTGRES user=weak" --schema ops_w migrate
expect_rc 5 "migrate without rights"
one_line "$err" "permission message"
assert_eq "" "$(psql_q "SELECT nspname FROM pg_namespace WHERE nspname = 'ops_w'")" "nothing created"

finish
