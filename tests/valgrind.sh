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

# The console: every view, a detail, a filter, a theme, a resize, a
# frozen store, then :q. Its worker threads run under valgrind too.
real=$OPSDECK
cat >"$TEST_TMP/vgwrap" <<EOF2
#!/bin/sh
exec valgrind -q --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=99 \
    --log-file="$TEST_TMP/vgc.log" "$real" "\$@"
EOF2
chmod +x "$TEST_TMP/vgwrap"
OPSDECK="$TEST_TMP/vgwrap"
console_start 120x40
wait_screen 'Alerts' 30 "the Overview under valgrind"
for k in 2 3 4 5 6 7 4; do
    keys "$k"
    sleep 1
done
keys Enter
sleep 1
keys / 'reason=validation_failed 24h' Enter
sleep 1
keys : 'theme light' Enter
sleep 1
tmx resize-window -t c -x 80 -y 24
sleep 1
keys Enter
sleep 1
keys Escape
redis_freeze
keys 1 4
sleep 2
redis_thaw
keys : q Enter
wait_until 60 "the console under valgrind exits" "[ -s '$TEST_TMP/console.rc' ]"
OPSDECK=$real
rc=$(cat "$TEST_TMP/console.rc")
[ "$rc" -ne 99 ] || { cat "$TEST_TMP/vgc.log" >&2; fail "valgrind found errors in the console"; }
[ ! -s "$TEST_TMP/vgc.log" ] || { cat "$TEST_TMP/vgc.log" >&2; fail "valgrind reported on the console"; }
ok "valgrind clean: the console (exit $rc)"
finish
