# sagas show --unmask and approvals show --unmask (sql/004_unmask.sql):
# the plain show masks, --unmask shows the values after exactly one audit
# row, a viewer and a missing id get nothing and write nothing, the output
# is still sanitized; and 004's index serves the Overview's failed (24h).
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

jq_py()
{
    printf '%s' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# masked_alike PLAIN UNMASKED: prints "same" when UNMASKED (JSON) is PLAIN
# (JSON) with a value in place of each "****", and due_in_s (which moves
# with the clock) left aside.
masked_alike()
{
    python3 -c '
import json, sys
def alike(p, u):
    if p == "****":
        return u != "****"
    if isinstance(p, dict):
        return isinstance(u, dict) and list(p) == list(u) and all(alike(p[k], u[k]) for k in p)
    if isinstance(p, list):
        return isinstance(u, list) and len(p) == len(u) and all(map(alike, p, u))
    return p == u
p, u = json.loads(sys.argv[1]), json.loads(sys.argv[2])
p.pop("due_in_s", None)
u.pop("due_in_s", None)
print("same" if alike(p, u) else "different")' "$1" "$2"
}

# audits [WHERE]: the audit rows, one "action|operator|kind|id|outcome" a line.
audits()
{
    psql_q "SELECT action || '|' || operator || '|' || target_kind || '|' || target_id || '|' || outcome
              FROM wf.audit_log ${1:+WHERE $1} ORDER BY audit_id"
}

run migrate
expect_rc 0 "first migrate"
run migrate
expect_rc 0 "second migrate"
assert_match 'up to date' "$out" "the second migrate changes nothing"
run migrate --status
expect_rc 0 "migrate --status"
assert_match '^4 +004_unmask +applied' "$out" "migrate --status lists 004_unmask as applied"
sed "s/@schema@/wf/g" "$OPSDECK_SRCDIR/sql/004_unmask.sql" |
    psql -X -q -v ON_ERROR_STOP=1 --single-transaction >/dev/null 2>"$TEST_TMP/rerun.err" ||
    fail "004_unmask.sql does not apply a second time: $(cat "$TEST_TMP/rerun.err")"
ok "004_unmask.sql applies a second time"

psql_q "
SELECT wf.save_saga(jsonb_build_object(
    'execution_id', 'ex-1', 'saga_id', 'signup', 'status', 'failed',
    'context', jsonb_build_object('user', jsonb_build_object('email', 'ann@example.com',
                                                             'password', 'hunter2'),
                                  'note', E'evil \\u001b]0;title\\u0007 end', 'plan', 'pro'),
    'started_at', '2026-11-23T10:00:00', 'completed_at', NULL, 'error', 'boom',
    'steps', jsonb_build_array(
        jsonb_build_object('step_id', 'create', 'name', 'create user', 'status', 'completed',
                           'result', jsonb_build_object('token', 'tok-step-9'), 'error', NULL,
                           'started_at', NULL, 'completed_at', NULL, 'retry_count', 0))));
INSERT INTO wf.approvals (approval_id, workflow_id, step_id, title, request_data, requested_by,
    assignee_group, requested_at, due_at, status)
VALUES ('apr-1', 'ex-1', 'approve', 'grant access', '{\"token\": \"tok-secret-42\", \"scope\": \"admin\"}',
        'engine', 'security', now() - interval '1 hour', now() + interval '1 hour', 'pending');
" >/dev/null

assert_eq "t" "$(psql_q "SELECT strpos(context ->> 'note', chr(27)) > 0 FROM wf.saga_executions
                          WHERE execution_id = 'ex-1'")" "the saga's context holds an ESC"

# --- sagas ---
run sagas show ex-1 --json
expect_rc 0 "sagas show"
assert_eq "****|****|****" \
    "$(jq_py 'd["context"]["user"]["email"] + "|" + d["context"]["user"]["password"] + "|" + d["steps"][0]["result"]["token"]')" \
    "the plain show masks email, password and a step's token"
plain=$out
assert_eq "" "$(audits)" "the plain show writes no audit row"

run sagas show ex-1 --unmask --json
expect_rc 0 "sagas show --unmask"
assert_eq "ann@example.com|hunter2|tok-step-9" \
    "$(jq_py 'd["context"]["user"]["email"] + "|" + d["context"]["user"]["password"] + "|" + d["steps"][0]["result"]["token"]')" \
    "--unmask shows them"
assert_eq same "$(masked_alike "$plain" "$out")" "the unmasked item is the plain one but for the masked values"
assert_eq "saga.unmask|tester|saga|ex-1|ok" "$(audits)" "exactly one audit row: action, operator, target, outcome"
assert_eq "postgres||||" \
    "$(psql_q "SELECT db_user || '|' || coalesce(reason, '') || '|' || coalesce(before::text, '') || '|' ||
                      coalesce(after::text, '') || '|' || coalesce(idempotency_key, '')
                 FROM wf.audit_log")" \
    "the audit row names the database role and holds none of the values"
assert_no_match 'hunter2|ann@example|tok-' "$(psql_q "SELECT detail FROM wf.audit_log")" \
    "the audit detail holds none of the values"

export SSH_CONNECTION="203.0.113.9 50000 198.51.100.1 22"
run sagas show ex-1 --unmask --operator carol
expect_rc 0 "sagas show --unmask as text"
unset SSH_CONNECTION
assert_match '^ +password: hunter2$' "$out" "the text detail shows the value"
printf '%s' "$out" | grep -q "$(printf '\033')" && fail "ESC reached the terminal in unmasked output"
ok "unmasked text is still sanitized"
assert_eq "saga.unmask|carol|saga|ex-1|ok|203.0.113.9" \
    "$(psql_q "SELECT action || '|' || operator || '|' || target_kind || '|' || target_id || '|' ||
                      outcome || '|' || client_addr FROM wf.audit_log ORDER BY audit_id DESC LIMIT 1")" \
    "the second unmask is audited with who and from where"

# --- approvals ---
psql_q "TRUNCATE wf.audit_log" >/dev/null
run approvals show apr-1 --json
expect_rc 0 "approvals show"
assert_eq "****|admin" "$(jq_py 'd["request_data"]["token"] + "|" + d["request_data"]["scope"]')" \
    "the plain show masks the token"
plain=$out
run approvals show apr-1 --unmask --json
expect_rc 0 "approvals show --unmask"
assert_eq "tok-secret-42|admin|ex-1" \
    "$(jq_py 'd["request_data"]["token"] + "|" + d["request_data"]["scope"] + "|" + d["saga"]["execution_id"]')" \
    "--unmask shows the token, with the approval's saga"
assert_eq same "$(masked_alike "$plain" "$out")" "the unmasked approval is the plain one but for the masked value"
assert_eq "approval.unmask|tester|approval|apr-1|ok" "$(audits)" "exactly one audit row for the approval"

# --- refusals: nothing shown, nothing written ---
psql_q "TRUNCATE wf.audit_log" >/dev/null
run sagas show nope --unmask
expect_rc 4 "an unknown saga"
run approvals show nope --unmask --json
expect_rc 4 "an unknown approval"
assert_eq "" "$out" "nothing printed for an unknown id"
assert_eq "" "$(audits)" "an unknown id writes no audit row"

psql_q "CREATE ROLE unmask_viewer LOGIN IN ROLE opsdeck_viewer; CREATE ROLE unmask_operator LOGIN IN ROLE opsdeck_operator" >/dev/null
assert_eq "false|false|true|true" \
    "$(psql_q "SELECT has_function_privilege('opsdeck_viewer', 'wf.unmask_saga(text, jsonb)', 'EXECUTE') || '|' ||
                      has_function_privilege('opsdeck_viewer', 'wf.unmask_approval(text, jsonb)', 'EXECUTE') || '|' ||
                      has_function_privilege('opsdeck_operator', 'wf.unmask_saga(text, jsonb)', 'EXECUTE') || '|' ||
                      has_function_privilege('opsdeck_operator', 'wf.unmask_approval(text, jsonb)', 'EXECUTE')")" \
    "only opsdeck_operator may execute the unmask functions"
for what in "sagas show ex-1" "approvals show apr-1"; do
    run --postgres "$OPSDECK_POSTGRES user=unmask_viewer" $what --json
    expect_rc 0 "a viewer: $what"
    assert_no_match 'hunter2|tok-secret' "$out" "a viewer's $what is masked"
    run --postgres "$OPSDECK_POSTGRES user=unmask_viewer" $what --unmask --json
    expect_rc 5 "a viewer: $what --unmask"
    assert_eq "" "$out" "a viewer's $what --unmask prints nothing"
    one_line "$err" "the refusal"
    assert_match 'nothing is shown.*permission denied' "$err" "the refusal says why"
done
assert_eq "" "$(audits)" "the viewer's refusals write no audit row"

run --postgres "$OPSDECK_POSTGRES user=unmask_operator" sagas show ex-1 --unmask --json
expect_rc 0 "an operator role: sagas show --unmask"
assert_eq "hunter2" "$(jq_py 'd["context"]["user"]["password"]')" "the operator role sees the value"
assert_eq "unmask_operator" "$(psql_q "SELECT db_user FROM wf.audit_log")" \
    "the audit row names the operator's login role, not the functions' owner"

# Read-only mode treats it as dlq show --unmask does: a read, audited.
psql_q "TRUNCATE wf.audit_log" >/dev/null
run --read-only approvals show apr-1 --unmask --json
expect_rc 0 "approvals show --unmask in read-only mode"
assert_eq "approval.unmask|tester|approval|apr-1|ok" "$(audits)" "and it is audited"

# A schema that has not reached 004 says to migrate.
psql_q "TRUNCATE wf.audit_log; DROP FUNCTION wf.unmask_saga(text, jsonb)" >/dev/null
run sagas show ex-1 --unmask
expect_rc 3 "a schema without unmask_saga"
assert_match 'run opsdeck migrate' "$err" "the error says to migrate"
assert_eq "" "$out" "nothing printed without the function"
sed "s/@schema@/wf/g" "$OPSDECK_SRCDIR/sql/004_unmask.sql" |
    psql -X -q -v ON_ERROR_STOP=1 --single-transaction >/dev/null || fail "004 does not restore the function"

# --- failed (24h): the Overview's count reads 004's index ---
psql_q "
INSERT INTO wf.saga_executions (execution_id, saga_id, status, created_at, updated_at)
SELECT 'bulk-' || i, 'bulk',
       (ARRAY['completed', 'completed', 'completed', 'completed', 'completed', 'completed',
              'completed', 'failed', 'compensated', 'running'])[1 + i % 10],
       now() - (i || ' minutes')::interval, now() - (i || ' minutes')::interval
  FROM generate_series(1, 40000) i;
ANALYZE wf.saga_executions" >/dev/null
plan=$(psql_q "EXPLAIN SELECT count(*) FROM wf.saga_executions WHERE status IN ('failed', 'compensated')
                 AND updated_at > now() - interval '24 hours'")
assert_match 'Index Only Scan using saga_executions_failed_updated_idx' "$plan" \
    "the failed (24h) count scans saga_executions_failed_updated_idx"
assert_match 'Index Cond: \(updated_at >' "$plan" "on a range of updated_at"
run status --json
expect_rc 0 "status"
assert_eq "$(psql_q "SELECT count(*) FROM wf.saga_executions WHERE status IN ('failed', 'compensated')
                       AND updated_at > now() - interval '24 hours'")" \
    "$(jq_py 'd["sagas"]["failed_24h"]')" "status counts failed (24h) as the query does"

psql_q "DROP ROLE unmask_viewer; DROP ROLE unmask_operator"
finish
