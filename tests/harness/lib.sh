# Shell helpers for opsdeck's integration tests. tests/harness/run has
# started private PostgreSQL and Redis servers and exported:
#   OPSDECK           the opsdeck binary under test
#   OPSDECK_SRCDIR    the source tree
#   OPSDECK_POSTGRES  conninfo of the private server (superuser, db opsdeck)
#   OPSDECK_REDIS     unix:// URL of the private Redis
#   PGHOST PGPORT PGUSER PGDATABASE   the same for psql
#   REDIS_SOCK        the Redis socket path, for redis-cli -s
#   STORES_DIR        the stores' folder (pid files "PID STARTTIME": postgres.pid, redis.pid)
#   TEST_TMP          a scratch folder removed after the test; HOME is inside
# Each test is a POSIX sh script: it sources this file, runs checks, and
# ends with `finish`. A failed check prints why and exits 1.

set -u

_checks=0

fail()
{
    printf 'FAIL: %s\n' "$*" >&2
    exit 1
}

ok()
{
    _checks=$((_checks + 1))
    printf 'ok %d - %s\n' "$_checks" "$*"
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq()
{
    [ "$1" = "$2" ] || fail "$3: expected [$1], got [$2]"
    ok "$3"
}

# assert_match EXTENDED-REGEX TEXT WHAT
assert_match()
{
    printf '%s' "$2" | grep -Eq -- "$1" || fail "$3: [$2] does not match /$1/"
    ok "$3"
}

# assert_no_match EXTENDED-REGEX TEXT WHAT
assert_no_match()
{
    if printf '%s' "$2" | grep -Eq -- "$1"; then
        fail "$3: [$2] matches /$1/"
    fi
    ok "$3"
}

# run ARGS...: runs opsdeck, keeping stdout in $out, stderr in $err and the
# exit code in $rc; never fails by itself.
run()
{
    _o="$TEST_TMP/.out" _e="$TEST_TMP/.err"
    rc=0
    "$OPSDECK" "$@" >"$_o" 2>"$_e" </dev/null || rc=$?
    out=$(cat "$_o")
    err=$(cat "$_e")
}

# expect_rc CODE WHAT: checks the exit code of the last run.
expect_rc()
{
    [ "$rc" = "$1" ] || fail "$2: expected exit $1, got $rc; stdout [$out] stderr [$err]"
    ok "$2 (exit $1)"
}

# one_line TEXT WHAT: TEXT is exactly one non-empty line.
one_line()
{
    [ -n "$1" ] || fail "$2: empty"
    [ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ] || fail "$2: more than one line: [$1]"
    ok "$2 is one line"
}

# psql_q SQL: runs SQL as the superuser, unaligned, tuples only.
psql_q()
{
    psql -X -A -t -q -v ON_ERROR_STOP=1 -c "$1"
}

# redis_q ARGS...: runs one Redis command on the private server.
redis_q()
{
    redis-cli -s "$REDIS_SOCK" "$@"
}

# pid_of NAME [DIR]: the pid of server NAME (postgres, redis) of the stores
# in DIR (default: the test's own).
pid_of()
{
    cut -d' ' -f1 "${2:-$STORES_DIR}/$1.pid"
}

# pg_freeze / pg_thaw: stop or continue the whole private PostgreSQL, the
# postmaster and every backend (each in a session of its own, so a signal
# to the postmaster's group would not reach them). A stopped postmaster
# alone still lets open sessions answer.
pg_freeze()
{
    _pm=$(cut -d' ' -f1 "$STORES_DIR/postgres.pid")
    kill -STOP "$_pm"
    pkill -STOP -P "$_pm" || true
}
pg_thaw()
{
    _pm=$(cut -d' ' -f1 "$STORES_DIR/postgres.pid")
    pkill -CONT -P "$_pm" || true
    kill -CONT "$_pm"
}

# wait_until SECONDS WHAT COMMAND: runs the shell COMMAND every 0.1 s
# until it succeeds; fails the test with WHAT after SECONDS.
wait_until()
{
    _deadline=$(($(date +%s) + $1))
    until eval "$3" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$_deadline" ] || fail "$2: not within $1 s"
        sleep 0.1
    done
    ok "$2"
}

# migrate: applies opsdeck's schema to the private server.
migrate()
{
    "$OPSDECK" migrate >/dev/null || fail "opsdeck migrate failed"
}

finish()
{
    [ "$_checks" -gt 0 ] || fail "no checks ran"
    printf '%d checks passed\n' "$_checks"
    exit 0
}
