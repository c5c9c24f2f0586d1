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

# Two migrations at once: the advisory lock serialises them.
"$OPSDECK" --schema twin migrate >/dev/null 2>&1 &
p1=$!
"$OPSDECK" --schema twin migrate >/dev/null 2>&1 &
p2=$!
wait $p1 || fail "first concurrent migrate failed"
wait $p2 || fail "second concurrent migrate failed"
assert_eq "1" "$(psql_q "SELECT count(*) FROM twin.schema_migrations")" "concurrent migrates record once"

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
