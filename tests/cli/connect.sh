# Connecting: libpq's own mechanisms (PG* variables, service files, .pgpass,
# PGPASSWORD, multi-host with target_session_attrs) keep working; Redis
# passwords come from a file or the environment; errors name host and port
# and never a password.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

migrate
pg_up()
{
    run status --json
    printf '%s' "$out" | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["backends"]["postgres"]["state"] != "up")'
}

# 1. Only libpq's PG* variables.
conninfo=$OPSDECK_POSTGRES
unset OPSDECK_POSTGRES
pg_up || fail "PG* variables alone do not reach postgres: $err"
ok "PG* variables work without --postgres"

# 2. A service file.
cat >"$TEST_TMP/pg_service.conf" <<SVC
[opsdeck_test]
host=$PGHOST
port=$PGPORT
user=postgres
dbname=postgres
SVC
export PGSERVICEFILE=$TEST_TMP/pg_service.conf
OPSDECK_POSTGRES=service=opsdeck_test
export OPSDECK_POSTGRES
(unset PGHOST PGPORT PGUSER PGDATABASE; "$OPSDECK" status >/dev/null 2>&1) ||
    fail "a service file does not work"
ok "service=NAME from a service file"
unset PGSERVICEFILE

# 3. Password authentication: .pgpass, PGPASSWORD, and failures.
psql_q "CREATE ROLE pwuser LOGIN PASSWORD 'Zq9pgpass' IN ROLE opsdeck_viewer" >/dev/null
hba=$STORES_DIR/pg/pg_hba.conf
{ echo "local all pwuser scram-sha-256"; cat "$hba"; } >"$hba.new" && cat "$hba.new" >"$hba"
psql_q "SELECT pg_reload_conf()" >/dev/null
export OPSDECK_POSTGRES="$conninfo user=pwuser"

run status
expect_rc 5 "no password: refused as a permission problem"
one_line "$err" "auth failure message"
assert_match "postgres at $PGHOST:5432" "$err" "names host and port"

printf '%s:%s:*:pwuser:Zq9pgpass\n' "$PGHOST" "$PGPORT" >"$HOME/.pgpass"
chmod 600 "$HOME/.pgpass"
pg_up || fail ".pgpass is not used: $err"
ok ".pgpass works"
rm "$HOME/.pgpass"

PGPASSWORD=Zq9pgpass "$OPSDECK" status >/dev/null 2>&1 || fail "PGPASSWORD is not used"
ok "PGPASSWORD works"

PGPASSWORD=Zq9wrongpw "$OPSDECK" status >"$TEST_TMP/o" 2>"$TEST_TMP/e" && fail "a wrong password was accepted"
grep -q Zq9wrongpw "$TEST_TMP/o" "$TEST_TMP/e" && fail "the password appears in the output"
ok "a wrong password is refused without echoing it"

mkdir -p "$XDG_CONFIG_HOME/opsdeck"
printf 'postgres = %s password=Zq9pgpass\n' "$conninfo user=pwuser" >"$XDG_CONFIG_HOME/opsdeck/config"
unset OPSDECK_POSTGRES
pg_up || fail "a password in the config file is not used"
ok "a password in the config file works"
run config
assert_no_match 'Zq9pgpass' "$out" "opsdeck config masks it"
rm "$XDG_CONFIG_HOME/opsdeck/config"

# 4. Multi-host: the first host is gone, the second is the primary.
export OPSDECK_POSTGRES="host=$TEST_TMP/nowhere,$PGHOST port=5432,5432 user=postgres dbname=postgres target_session_attrs=read-write"
pg_up || fail "multi-host conninfo does not fail over: $err"
ok "multi-host conninfo with target_session_attrs"
export OPSDECK_POSTGRES="$conninfo target_session_attrs=standby"
run status
expect_rc 3 "no standby to be found"
export OPSDECK_POSTGRES=$conninfo

# 5. Redis passwords.
redis_q CONFIG SET requirepass Zq9redispw >/dev/null
run status
expect_rc 5 "redis without its password"
one_line "$err" "redis auth message"
assert_match 'redis at .*redis.sock' "$err" "names the socket"
printf 'Zq9redispw\n' >"$TEST_TMP/redispw"
run --redis-password-file "$TEST_TMP/redispw" status
expect_rc 0 "redis_password_file"
REDISCLI_AUTH=Zq9redispw "$OPSDECK" status >/dev/null 2>&1 || fail "REDISCLI_AUTH is not used"
ok "REDISCLI_AUTH works"
printf 'Zq9badpass\n' >"$TEST_TMP/badpw"
run --redis-password-file "$TEST_TMP/badpw" status
expect_rc 5 "wrong redis password"
assert_no_match 'Zq9badpass' "$err$out" "the wrong password is not echoed"
run --redis-password-file "$TEST_TMP/none" status
expect_rc 2 "a missing password file is bad input"
REDISCLI_AUTH=Zq9redispw redis-cli -s "$REDIS_SOCK" CONFIG SET requirepass "" >/dev/null

# A URL that does not parse is shown without its password.
export OPSDECK_REDIS="redis://:Zq9badurl@127.0.0.1:99999/0"
run status --json
expect_rc 2 "a bad redis URL"
assert_no_match 'Zq9badurl' "$out$err" "the bad URL's password is not shown"
# A conninfo libpq cannot parse never echoes the text around the mistake.
export OPSDECK_POSTGRES="host=/x password=Zq9first Zq9second"
run status
assert_no_match 'Zq9' "$out$err" "no part of the password is shown"
export OPSDECK_POSTGRES=$conninfo

# 6. A user and password in a TCP URL (from the environment, not argv).
export OPSDECK_REDIS="redis://opsview:Zq9aclpw@127.0.0.1:1/0"
run status
expect_rc 3 "redis on a closed port"
assert_match 'redis at 127.0.0.1:1: ' "$err" "TCP endpoint named"
assert_no_match 'Zq9aclpw' "$err$out" "the URL password is not echoed"

finish
