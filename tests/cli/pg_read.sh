# sagas, approvals, schedules and audit lists and shows through the real
# binary: text and JSON, paging with the printed cursor, redaction, escaped
# store text, a viewer role, and the exit codes of bad input.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

jq_py()
{
    printf '%s' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

migrate
psql_q "
SELECT wf.save_saga(jsonb_build_object(
    'execution_id', 'order-' || i, 'saga_id', 'order_fulfillment', 'status',
    CASE WHEN i % 3 = 0 THEN 'compensated' ELSE 'running' END,
    'context', jsonb_build_object('order_id', 'o-' || i, 'email', 'ann@example.com',
                                  'trace_id', 'tr-' || i),
    'started_at', '2026-11-23T10:00:00', 'completed_at', NULL, 'error',
    CASE WHEN i = 2 THEN E'card declined \\\\u001b[2J' ELSE NULL END,
    'steps', jsonb_build_array(
        jsonb_build_object('step_id', 'reserve', 'name', 'reserve inventory', 'status', 'completed',
                           'result', NULL, 'error', NULL, 'started_at', '2026-11-23T10:00:00',
                           'completed_at', '2026-11-23T10:00:01', 'retry_count', 0),
        jsonb_build_object('step_id', 'charge', 'name', 'charge payment', 'status', 'failed',
                           'result', NULL, 'error', 'declined', 'started_at', NULL,
                           'completed_at', NULL, 'retry_count', 3))))
FROM generate_series(1, 7) i;
UPDATE wf.saga_executions SET error = E'evil \\x1b]0;title\\x07 \\u202eexe' WHERE execution_id = 'order-2';
INSERT INTO wf.approvals (approval_id, workflow_id, step_id, title, request_data, requested_by,
    assignee_group, requested_at, due_at, status)
VALUES ('apr-1', 'order-1', 'approve', 'refund 1200 EUR', '{\"iban\": \"DE89370400440532013000\", \"amount\": 1200}',
        'engine', 'finance', now() - interval '2 hours', now() - interval '1 hour', 'pending'),
       ('apr-2', 'order-4', 'approve', 'refund 80 EUR', '{}', 'engine', 'finance',
        now() - interval '5 minutes', now() + interval '1 hour', 'pending');
INSERT INTO wf.schedules (schedule_id, workflow_type, cron_expressions, overlap_policy, paused,
    pause_note, paused_by, next_run_at)
VALUES ('nightly', 'report', ARRAY['0 2 * * *'], 'skip', true, 'maintenance', 'alice', NULL),
       ('hourly', 'sync', ARRAY['0 * * * *'], 'buffer_one', false, NULL, NULL, now() + interval '1 hour');
" >/dev/null

run sagas list
expect_rc 0 "sagas list"
assert_match '^EXECUTION +SAGA +STATUS' "$out" "table header"
assert_match '^order-7 ' "$out" "newest first"
printf '%s' "$out" | grep -q "$(printf '\033')" && fail "ESC reached the terminal"
ok "store text escaped in the table"

run sagas list --json --limit 3
assert_eq "3" "$(jq_py 'len(d["items"])')" "a page of 3"
seen=$(jq_py '" ".join(r["execution_id"] for r in d["items"])')
cursor=$(jq_py 'd["next_cursor"]')
while [ "$cursor" != "None" ]; do
    run sagas list --json --limit 3 --after "$cursor"
    expect_rc 0 "next page"
    seen="$seen $(jq_py '" ".join(r["execution_id"] for r in d["items"])')"
    cursor=$(jq_py 'd["next_cursor"]')
done
assert_eq "7" "$(printf '%s\n' $seen | sort -u | wc -l | tr -d ' ')" "paging sees every saga once"
run sagas list --json --status compensated
assert_eq "2" "$(jq_py 'len(d["items"])')" "status filter"
run sagas list --status nonsense
expect_rc 2 "unknown status"

run sagas show order-1
expect_rc 0 "sagas show"
assert_match '^ +email: \*\*\*\*$' "$out" "context redacted"
assert_match 'charge payment' "$out" "steps shown"
run sagas show order-1 --json
assert_eq "reserve charge" "$(jq_py '" ".join(s["step_id"] for s in d["steps"])')" "steps in order"
run sagas show nope
expect_rc 4 "unknown saga"

run approvals list
expect_rc 0 "approvals list"
assert_match '^apr-1 +pending +-' "$out" "the overdue one first, with a negative countdown"
run approvals list --overdue --json
assert_eq "apr-1" "$(jq_py '" ".join(r["approval_id"] for r in d["items"])')" "--overdue"
run approvals show apr-1 --json
assert_eq "****" "$(jq_py 'd["request_data"]["iban"]')" "request data redacted"
assert_eq "order-1" "$(jq_py 'd["saga"]["execution_id"]')" "the approval's saga"

run schedules list --paused --json
assert_eq "nightly" "$(jq_py '" ".join(r["schedule_id"] for r in d["items"])')" "--paused"
run schedules show hourly
expect_rc 0 "schedules show"
assert_match 'buffer_one' "$out" "overlap policy shown"

run audit list --json
expect_rc 0 "audit list on an empty log"
assert_eq "0" "$(jq_py 'len(d["items"])')" "no audit entries yet"

# A viewer can read everything; the lists need no write right.
psql_q "CREATE ROLE reader LOGIN IN ROLE opsdeck_viewer" >/dev/null
run --postgres "$OPSDECK_POSTGRES user=reader" sagas list --limit 1
expect_rc 0 "a viewer lists sagas"

run sagas list --after "$(printf 'not a cursor')"
expect_rc 2 "bad cursor"
run approvals list --after "$(printf '["sagas",1,"x"]' | base64 | tr -d '=\n' | tr '+/' '-_')"
expect_rc 2 "another list's cursor"
finish
