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
psql_q "INSERT INTO wf.approvals (approval_id, workflow_id, step_id, title, request_data, requested_by,
    assignee_group, requested_at, due_at, status)
    VALUES ('a1', 'w1', 's', 't', '{\"email\": \"x\"}', 'e', 'g', now(), now(), 'pending')" >/dev/null
redis_q HSET dlq:e1 data '{"event_id":"e1","original_event":{"email":"a"},"failure_reason":"DLQReason.VALIDATION_FAILED","original_queue":"q"}' status pending_review >/dev/null
redis_q ZADD dlq:index 1795400000 e1 >/dev/null
vg sagas list
vg approvals list
vg approvals show a1
vg dlq list
vg dlq list --reason validation_failed
vg dlq show e1
vg dlq stats
vg circuits list
vg approve a1 --note ok
vg approve a1
vg dlq replay e1
vg dlq resolve e1 --note done
vg audit list
vg dlq export
vg status --bogus
printf 'refresh = soon\n' >"$TEST_TMP/bad.conf"
vg --config "$TEST_TMP/bad.conf" status
kill -STOP "$(pid_of redis)"
vg --command-timeout 500ms status
kill -CONT "$(pid_of redis)"
finish
