# The opsdeck binary under valgrind against real stores: the main paths and
# an error path must be free of memory errors and definite leaks. Run by
# scripts/check through tests/harness/run (not part of make check: slow).
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

vg()
{
    rc=0
    valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
        "$OPSDECK" "$@" >"$TEST_TMP/vg.out" 2>"$TEST_TMP/vg.err" || rc=$?
    [ "$rc" -ne 99 ] || { cat "$TEST_TMP/vg.err" >&2; fail "valgrind found errors in: opsdeck $*"; }
    ok "valgrind clean: opsdeck $* (exit $rc)"
}

vg migrate
vg migrate
vg migrate --status --json
vg status
vg status --json
vg config
vg help
vg status --bogus
printf 'refresh = soon\n' >"$TEST_TMP/bad.conf"
vg --config "$TEST_TMP/bad.conf" status
kill -STOP "$(pid_of redis)"
vg --command-timeout 500ms status
kill -CONT "$(pid_of redis)"
finish
