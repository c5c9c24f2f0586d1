#!/bin/sh
# The PostgreSQL operator actions of sql/003_actions.sql, called as an
# operator's login role: every function's applied path, its refusals and
# unknown targets, the returned JSON, the audit rows (db_user is the caller's
# login role), the signals and schedule requests and their notifications,
# idempotency keys (repeats, another target, a connection killed in the
# middle of an action), expect_version, bad input (22023), the viewer and
# PUBLIC refused by the database, and races of 8 sessions deciding the same
# approval and pausing the same schedule.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

S=wf
OP=opsdeck_t_op
VIEWER=opsdeck_t_viewer
NOBODY=opsdeck_t_nobody
# Rounds of each race (8 sessions each); the issue's 1,000 fit the budget.
ROUNDS=${PG_ACTIONS_ROUNDS:-1000}
WORKERS=8
FUNCS="act_approve(text,text,jsonb) act_reject(text,text,jsonb) act_saga_abort(text,text,jsonb)
act_saga_retry_step(text,text,text,jsonb) act_schedule_pause(text,text,timestamptz,jsonb)
act_schedule_resume(text,text,jsonb) act_schedule_trigger(text,text,jsonb)
act_schedule_backfill(text,timestamptz,timestamptz,text,jsonb)"
TABLES="approvals schedules saga_executions saga_steps signals schedule_requests audit_log action_results"
t_start=$(date +%s)

migrate
assert_eq 1 "$(psql_q "SELECT count(*) FROM $S.schema_migrations WHERE name = '003_actions'")" \
    "opsdeck migrate applied 003_actions (it must be listed in SQL_MIGRATIONS)"
# Re-runnable: applying it again by hand changes nothing and fails nothing.
sed "s/@schema@/$S/g" "$OPSDECK_SRCDIR/sql/003_actions.sql" |
    psql -X -q -1 -v ON_ERROR_STOP=1 >/dev/null 2>"$TEST_TMP/rerun.err" ||
    fail "003_actions.sql does not apply a second time: $(cat "$TEST_TMP/rerun.err")"
ok "003_actions.sql applies a second time"

psql_q "CREATE ROLE $OP LOGIN IN ROLE opsdeck_operator;
        CREATE ROLE $VIEWER LOGIN IN ROLE opsdeck_viewer;
        CREATE ROLE $NOBODY LOGIN;
        GRANT USAGE ON SCHEMA $S TO $NOBODY"

# ---------------------------------------------------------------------------
# Helpers

# ctx OPERATOR [KEY [VERSION]]: a ctx argument as an SQL literal.
ctx()
{
    printf "'{\"operator\": \"%s\", \"client_host\": \"jump-1\", \"client_addr\": \"10.0.0.7\"%s%s}'" \
        "$1" "${2:+, \"idempotency_key\": \"$2\"}" "${3:+, \"expect_version\": $3}"
}

# act CALL: runs SELECT CALL as the operator's login role; the JSON in $res.
act()
{
    res=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -U "$OP" -c "SELECT $1" 2>"$TEST_TMP/act.err") ||
        fail "SELECT $1: $(cat "$TEST_TMP/act.err")"
}

# jf FIELD: a field of $res as text (null as "null").
jf()
{
    printf '%s' "$res" | jq -r --arg f "$1" '.[$f] | if . == null then "null" else tostring end'
}

# jfs FIELD...: fields of $res joined with | (one jq for all).
jfs()
{
    printf '%s' "$res" | jq -r --arg fs "$*" \
        '. as $r | [$fs | split(" ")[] | $r[.] | if . == null then "null" else tostring end] | join("|")'
}

# act_err ROLE CALL: runs SELECT CALL as ROLE, which must fail; prints
# "SQLSTATE|message" (the message without "ERROR:").
act_err()
{
    _st=$(psql -X -A -t -q -U "$1" -v VERBOSITY=terse -c "SELECT $2" \
        -c '\echo :LAST_ERROR_SQLSTATE' 2>"$TEST_TMP/err.out") || true
    printf '%s|%s' "$(printf '%s\n' "$_st" | tail -n 1)" \
        "$(sed -n 's/^.*ERROR: *//p' "$TEST_TMP/err.out" | head -n 1)"
}

# snapshot: one line per table with its row count and a digest of its rows.
snapshot()
{
    _q=
    for _t in $TABLES; do
        _q="$_q${_q:+ UNION ALL }SELECT '$_t ' || count(*) || ' ' ||
            coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '-') FROM $S.$_t AS x"
    done
    psql_q "$_q"
}

# audit COLUMNS WHERE: the newest audit row matching WHERE.
audit()
{
    psql_q "SELECT $1 FROM $S.audit_log WHERE $2 ORDER BY audit_id DESC LIMIT 1"
}

ISO='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'

# ---------------------------------------------------------------------------
# The functions and their rights

rights=$(psql_q "SELECT p.proname || ':' || p.prosecdef || '|' || replace(p.proconfig::text, ' ', '') || '|' ||
                       (SELECT string_agg(a.grantee::regrole::text, ',' ORDER BY 1)
                          FROM aclexplode(p.proacl) a
                         WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner)
                  FROM unnest(string_to_array('$(printf '%s' "$FUNCS" | tr '\n' ' ')', ' ')) AS f,
                       pg_proc p
                 WHERE p.oid = ('$S.' || f)::regprocedure")
for f in $FUNCS; do
    assert_eq 'true|{"search_path=pg_catalog,pg_temp"}|opsdeck_operator' \
        "$(printf '%s\n' "$rights" | sed -n "s/^${f%%(*}://p")" \
        "${f%%(*}: SECURITY DEFINER, pinned search_path, EXECUTE for opsdeck_operator alone"
done
assert_eq 0 \
    "$(psql_q "SELECT count(*) FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                WHERE p.pronamespace = '$S'::regnamespace AND a.grantee = 0")" \
    "no function of the schema is executable by PUBLIC"
assert_eq "0|0" \
    "$(psql_q "SELECT count(*) FILTER (WHERE has_function_privilege('opsdeck_operator', p.oid, 'EXECUTE')) || '|' ||
                      count(*) FILTER (WHERE has_function_privilege('opsdeck_viewer', p.oid, 'EXECUTE'))
                 FROM pg_proc p WHERE p.pronamespace = '$S'::regnamespace AND p.proname LIKE '\\_act\\_%'")" \
    "the internal _act_ helpers are executable by neither role"
assert_eq "true|false|false" \
    "$(psql_q "SELECT has_table_privilege('opsdeck_viewer', '$S.action_results', 'SELECT') || '|' ||
                      has_table_privilege('opsdeck_operator', '$S.action_results', 'INSERT, UPDATE, DELETE, TRUNCATE') || '|' ||
                      has_table_privilege('public', '$S.action_results', 'SELECT')")" \
    "action_results: readable by viewers, written by no opsdeck role"
owner=$(psql_q "SELECT proowner::regrole FROM pg_proc WHERE oid = '$S.act_approve(text,text,jsonb)'::regprocedure")
[ "$owner" != "$OP" ] || fail "the functions must not be owned by the operator's role"

# ---------------------------------------------------------------------------
# Fixtures (the engine's side, as the superuser)

psql_q "INSERT INTO $S.approvals (approval_id, workflow_id, step_id, title, requested_by, due_at)
        SELECT 'apr-' || i, 'wf-' || i, 'approve-refund', 'Refund ' || i, 'engine', now() + interval '1 hour'
          FROM generate_series(1, 20) AS i;
        INSERT INTO $S.approvals (approval_id, workflow_id, status, decided_by, decided_at)
        VALUES ('apr-expired', 'wf-x', 'expired', NULL, NULL);
        INSERT INTO $S.schedules (schedule_id, workflow_type, cron_expressions, overlap_policy)
        SELECT 'sch-' || i, 'Report', '{\"0 6 * * *\"}', 'buffer_one' FROM generate_series(1, 10) AS i;
        SELECT $S.save_saga(jsonb_build_object('execution_id', 'e-' || i, 'saga_id', 'order', 'status', st,
                   'steps', jsonb_build_array(
                       jsonb_build_object('step_id', 'reserve', 'status', 'completed'),
                       jsonb_build_object('step_id', 'charge', 'status', sst))))
          FROM (VALUES (1, 'running', 'failed'), (2, 'running', 'failed'), (3, 'completed', 'completed'),
                       (4, 'compensating', 'failed'), (5, 'pending', 'pending'), (6, 'failed', 'failed'),
                       (7, 'running', 'failed')) AS v(i, st, sst)" >/dev/null

# ---------------------------------------------------------------------------
# approve / reject

# Applied, with a notification for the approval and one for the signal,
# from a session that LISTENs.
out=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -U "$OP" -c "LISTEN wf_changes" -c "LISTEN wf_signals" \
    -c "LISTEN wf_schedule_requests" \
    -c "SELECT $S.act_approve('apr-1', 'looks right', $(ctx alice))" 2>&1) || fail "approve: $out"
res=$(printf '%s\n' "$out" | head -n 1)
assert_eq "applied|approve|approval|apr-1|approved|alice|2|approved approval apr-1|false|null" \
    "$(jfs outcome action target_kind target_id state by version message replayed idempotency_key)" \
    "approve: applied, the returned fields"
assert_match "$ISO" "$(jf at)" "approve: at is ISO 8601 UTC with Z"
assert_match '^[0-9]+$' "$(jf signal_id)" "approve: returns the signal id"
assert_match 'Asynchronous notification "wf_changes" with payload "\{"id": "apr-1", "kind": "approval", "schema": "'$S'"\}"' \
    "$out" "approve: notifies wf_changes for the approval"
assert_match 'Asynchronous notification "wf_signals" with payload "\{"name": "approve", "schema": "'$S'", "signal_id": '"$(jf signal_id)"', "workflow_id": "wf-1"\}"' \
    "$out" "approve: notifies wf_signals for the signal"
assert_eq "approved|alice|looks right|2|t|t" \
    "$(psql_q "SELECT status, decided_by, decision_note, version, to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') = '$(jf at)',
                      updated_at >= decided_at FROM $S.approvals WHERE approval_id = 'apr-1'")" \
    "approve: the approval is decided by the operator, version bumped once"
assert_eq "wf-1|approve|alice|apr-1|approved|looks right|alice|approve-refund|t" \
    "$(psql_q "SELECT workflow_id, name, created_by, payload->>'approval_id', payload->>'decision',
                      payload->>'note', payload->>'by', payload->>'step_id', idempotency_key LIKE 'opsdeck:%'
                 FROM $S.signals WHERE signal_id = $(jf signal_id)")" \
    "approve: the approve signal goes to the approval's workflow, with a generated key"
assert_eq "alice|$OP|jump-1|10.0.0.7|approve|approval|apr-1|looks right|pending|approved|ok|null" \
    "$(audit "operator, db_user, client_host, client_addr, action, target_kind, target_id, reason,
              before->>'status', after->>'status', outcome, coalesce(idempotency_key, 'null')" "target_id = 'apr-1'")" \
    "approve: audit row with the operator, session_user, client, before/after and outcome ok"
assert_match "^approved approval apr-1; signal $(jf signal_id) \(approve\) to workflow wf-1$" \
    "$(audit detail "target_id = 'apr-1'")" "approve: audit detail names the signal"
assert_eq "$(jf signal_id)" "$(audit "after->'signal'->>'signal_id'" "target_id = 'apr-1'")" \
    "approve: the audit's after holds the signal written"

# Decided already: refused, naming who and when; nothing but the audit row
# is written, and nothing is notified.
snap=$(snapshot)
decided_at=$(psql_q "SELECT to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || 'Z' FROM $S.approvals WHERE approval_id = 'apr-1'")
out=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -U "$OP" -c "LISTEN wf_changes" -c "LISTEN wf_signals" \
    -c "SELECT $S.act_reject('apr-1', 'too much', $(ctx bob))" 2>&1) || fail "reject: $out"
res=$out
assert_eq "refused|reject|approved|alice|2|false" "$(jfs outcome action state by version replayed)" \
    "reject of an approved approval: refused, state and who decided it"
assert_eq "approval apr-1 was already approved by alice at $decided_at; nothing changed" "$(jf message)" \
    "reject of an approved approval: the message names state, who and when"
assert_eq 1 "$(printf '%s\n' "$out" | wc -l)" "a refusal notifies nothing"
assert_eq "bob|$OP|reject|refused|too much|approved|approved" \
    "$(audit "operator, db_user, action, outcome, reason, before->>'status', after->>'status'" "target_id = 'apr-1'")" \
    "the refusal is audited as refused"
act "$S.act_approve('apr-1', NULL, $(ctx carol))"
assert_eq "refused|approved|alice" "$(jfs outcome state by)" "a second approve is refused too"
assert_eq "$(printf '%s\n' "$snap" | grep -v '^audit_log')" "$(snapshot | grep -v '^audit_log')" \
    "refusals changed nothing but the audit log"

# Reject applied.
act "$S.act_reject('apr-2', 'amount too high', $(ctx bob))"
assert_eq "applied|reject|rejected|bob|2|rejected approval apr-2" "$(jfs outcome action state by version message)" \
    "reject: applied"
assert_eq "rejected|bob|amount too high|reject|amount too high|wf-2" \
    "$(psql_q "SELECT a.status, a.decided_by, a.decision_note, s.name, s.payload->>'reason', s.workflow_id
                 FROM $S.approvals a JOIN $S.signals s ON s.signal_id = $(jf signal_id) WHERE a.approval_id = 'apr-2'")" \
    "reject: approval rejected and the reject signal carries the reason"
act "$S.act_approve('apr-2', NULL, $(ctx alice))"
assert_match "^approval apr-2 was already rejected by bob at [0-9-]{10} [0-9]{2}:[0-9]{2}Z; nothing changed$" \
    "$(jf message)" "approve of a rejected approval: refused naming bob"

# An expired approval (no decider): refused with its state.
act "$S.act_approve('apr-expired', NULL, $(ctx alice))"
assert_match "^approval apr-expired was already expired at .*; nothing changed$" "$(jf message)" \
    "approve of an expired approval: refused"
assert_eq "refused|expired|null" "$(jfs outcome state by)" "approve of an expired approval: state expired, no decider"

# Unknown approval: not_found, audited as refused.
act "$S.act_approve('apr-404', NULL, $(ctx alice))"
assert_eq "not_found|approve|approval|apr-404|null|null|null|approval apr-404 not found; nothing changed" \
    "$(jfs outcome action target_kind target_id state by version message)" "approve of an unknown id: not_found"
assert_eq "refused|approval apr-404 not found; nothing changed" \
    "$(audit "outcome, detail" "target_id = 'apr-404'")" "not_found is audited as refused"

# expect_version: the engine escalates apr-3 (its trigger bumps the
# version); an operator who saw version 1 is refused, one who saw 2 is not.
psql_q "UPDATE $S.approvals SET escalated_at = now() WHERE approval_id = 'apr-3'"
assert_eq 2 "$(psql_q "SELECT version FROM $S.approvals WHERE approval_id = 'apr-3'")" \
    "001's trigger bumps the version of an engine's update"
act "$S.act_approve('apr-3', NULL, $(ctx alice '' 1))"
assert_eq "refused|pending|engine|2|approval apr-3 changed since you looked: version 2, you saw 1; nothing changed" \
    "$(jfs outcome state by version message)" "approve with a stale expect_version: refused"
assert_eq "pending|2" "$(psql_q "SELECT status, version FROM $S.approvals WHERE approval_id = 'apr-3'")" \
    "a stale approve changed nothing"
act "$S.act_approve('apr-3', NULL, $(ctx alice '' 2))"
assert_eq "applied|approved|3" "$(jfs outcome state version)" "approve with the current expect_version: applied, version 3"

# ---------------------------------------------------------------------------
# sagas: abort and retry-step

act "$S.act_saga_abort('e-1', 'customer cancelled', $(ctx alice))"
assert_eq "applied|saga.abort|saga|e-1|running|alice|1|abort of saga e-1 requested; the engine will compensate it|false" \
    "$(jfs outcome action target_kind target_id state by version message replayed)" "saga abort: applied"
assert_match "$ISO" "$(jf at)" "saga abort: at is ISO 8601"
assert_eq "e-1|abort|alice|e-1|order|customer cancelled|alice" \
    "$(psql_q "SELECT workflow_id, name, created_by, payload->>'execution_id', payload->>'saga_id',
                      payload->>'reason', payload->>'by' FROM $S.signals WHERE signal_id = $(jf signal_id)")" \
    "saga abort: the abort signal goes to the saga's workflow with the reason"
assert_eq "saga.abort|ok|customer cancelled|running|$(jf signal_id)" \
    "$(audit "action, outcome, reason, before->>'status', after->'signal'->>'signal_id'" "target_id = 'e-1'")" \
    "saga abort: audited"
act "$S.act_saga_abort('e-1', 'me too', $(ctx bob))"
assert_match "^an abort of saga e-1 was already requested by alice at .*Z and is not consumed yet; nothing changed$" \
    "$(jf message)" "a second abort before the engine consumed the first: refused naming alice"
assert_eq "refused|alice" "$(jfs outcome by)" "second abort: by names the first requester"
psql_q "UPDATE $S.signals SET consumed_at = now() WHERE workflow_id = 'e-1'"
act "$S.act_saga_abort('e-1', 'again', $(ctx bob))"
assert_eq "applied" "$(jf outcome)" "once consumed, an abort may be sent again"
act "$S.act_saga_abort('e-3', 'too late', $(ctx bob))"
assert_match "^saga e-3 is completed since .*Z, not pending or running; nothing changed$" "$(jf message)" \
    "abort of a completed saga: refused"
assert_eq "refused|completed" "$(jfs outcome state)" "abort of a completed saga: state completed"
act "$S.act_saga_abort('e-4', 'x', $(ctx bob))"
assert_eq "refused|compensating" "$(jfs outcome state)" "abort of a compensating saga: refused"
act "$S.act_saga_abort('e-5', 'not needed', $(ctx bob))"
assert_eq "applied|pending" "$(jfs outcome state)" "abort of a pending saga: applied"
act "$S.act_saga_abort('e-404', 'x', $(ctx bob))"
assert_eq "not_found|saga e-404 not found; nothing changed" "$(jfs outcome message)" "abort of an unknown saga: not_found"
act "$S.act_saga_abort('e-7', 'x', $(ctx bob '' 5))"
assert_eq "refused|saga e-7 changed since you looked: version 1, you saw 5; nothing changed" \
    "$(jfs outcome message)" "abort with a stale expect_version: refused"

act "$S.act_saga_retry_step('e-2', 'charge', 'card fixed', $(ctx carol))"
assert_eq "applied|saga.retry_step|saga|e-2|charge|failed|running|carol|retry of step charge of saga e-2 requested" \
    "$(jfs outcome action target_kind target_id step_id step_state state by message)" "retry-step: applied"
assert_eq "e-2|retry_step|carol|charge|card fixed|0" \
    "$(psql_q "SELECT workflow_id, name, created_by, payload->>'step_id', payload->>'reason', payload->>'retry_count'
                 FROM $S.signals WHERE signal_id = $(jf signal_id)")" \
    "retry-step: the retry_step signal names the step"
assert_eq "saga.retry_step|ok|card fixed|failed" \
    "$(audit "action, outcome, reason, after->'step'->>'status'" "target_id = 'e-2'")" "retry-step: audited with the step"
act "$S.act_saga_retry_step('e-2', 'charge', NULL, $(ctx dave))"
assert_match "^a retry of step charge of saga e-2 was already requested by carol at .*; nothing changed$" \
    "$(jf message)" "a second retry of the same step: refused naming carol"
act "$S.act_saga_retry_step('e-2', 'reserve', NULL, $(ctx dave))"
assert_eq "refused|completed|step reserve of saga e-2 is completed, not failed; nothing changed" \
    "$(jfs outcome step_state message)" "retry of a step that did not fail: refused"
act "$S.act_saga_retry_step('e-4', 'charge', NULL, $(ctx dave))"
assert_match "^saga e-4 is compensating since .*, its steps cannot be retried; nothing changed$" "$(jf message)" \
    "retry in a compensating saga: refused"
act "$S.act_saga_retry_step('e-3', 'charge', NULL, $(ctx dave))"
assert_eq "refused|completed" "$(jfs outcome state)" "retry in a completed saga: refused"
act "$S.act_saga_retry_step('e-6', 'charge', NULL, $(ctx dave))"
assert_eq "applied|failed" "$(jfs outcome state)" "retry of a failed step of a failed saga: applied"
act "$S.act_saga_retry_step('e-2', 'nope', NULL, $(ctx dave))"
assert_eq "not_found|step nope of saga e-2 not found; nothing changed" "$(jfs outcome message)" \
    "retry of an unknown step: not_found"
act "$S.act_saga_retry_step('e-404', 'charge', NULL, $(ctx dave))"
assert_eq "not_found|saga e-404 not found; nothing changed" "$(jfs outcome message)" "retry in an unknown saga: not_found"

# ---------------------------------------------------------------------------
# schedules: pause, resume, trigger, backfill

out=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -U "$OP" -c "LISTEN wf_changes" \
    -c "SELECT $S.act_schedule_pause('sch-1', 'maintenance window', now() + interval '2 hours', $(ctx alice))" 2>&1) ||
    fail "pause: $out"
res=$(printf '%s\n' "$out" | head -n 1)
assert_eq "applied|schedule.pause|schedule|sch-1|paused|alice|2|maintenance window" \
    "$(jfs outcome action target_kind target_id state by version pause_note)" "pause: applied"
assert_match "^paused schedule sch-1 until [0-9-]{10} [0-9:]{5}Z$" "$(jf message)" "pause: message with the resume time"
assert_match "$ISO" "$(jf resume_at)" "pause: resume_at returned"
assert_match '"wf_changes" with payload "\{"id": "sch-1", "kind": "schedule"' "$out" "pause: notifies wf_changes"
assert_eq "t|maintenance window|alice|t|t|2" \
    "$(psql_q "SELECT paused, pause_note, paused_by, paused_at IS NOT NULL,
                      resume_at > now() + interval '1 hour', version FROM $S.schedules WHERE schedule_id = 'sch-1'")" \
    "pause: the schedule is paused by alice with note and resume time"
assert_eq "schedule.pause|ok|maintenance window|false|true" \
    "$(audit "action, outcome, reason, before->>'paused', after->>'paused'" "target_id = 'sch-1'")" "pause: audited"
act "$S.act_schedule_pause('sch-1', 'me too', NULL, $(ctx bob))"
assert_match "^schedule sch-1 was already paused by alice at [0-9-]{10} [0-9:]{5}Z until [0-9-]{10} [0-9:]{5}Z \(note: maintenance window\); nothing changed$" \
    "$(jf message)" "pause of a paused schedule: refused naming who, when, until and the note"
assert_eq "refused|paused|alice|2" "$(jfs outcome state by version)" "pause of a paused schedule: state and who"
act "$S.act_schedule_resume('sch-1', 'done', $(ctx bob))"
assert_match "^resumed schedule sch-1 \(paused by alice at .*Z\)$" "$(jf message)" "resume: applied"
assert_eq "applied|active|bob|3" "$(jfs outcome state by version)" "resume: state active"
assert_eq "f|||||3" \
    "$(psql_q "SELECT paused, pause_note, paused_by, paused_at, resume_at, version FROM $S.schedules WHERE schedule_id = 'sch-1'")" \
    "resume: paused and its fields cleared"
act "$S.act_schedule_resume('sch-1', NULL, $(ctx carol))"
assert_match "^schedule sch-1 is not paused \(resumed by bob at .*Z\); nothing changed$" "$(jf message)" \
    "resume of an unpaused schedule: refused naming who resumed it"
assert_eq "refused|active|bob" "$(jfs outcome state by)" "resume of an unpaused schedule: by"
act "$S.act_schedule_resume('sch-2', NULL, $(ctx carol))"
assert_eq "refused|schedule sch-2 is not paused; nothing changed" "$(jfs outcome message)" \
    "resume of a never paused schedule: refused"
act "$S.act_schedule_pause('sch-2', 'until further notice', NULL, $(ctx carol '' 7))"
assert_eq "refused|schedule sch-2 changed since you looked: version 1, you saw 7; nothing changed" \
    "$(jfs outcome message)" "pause with a stale expect_version: refused"
act "$S.act_schedule_pause('sch-2', 'until further notice', NULL, $(ctx carol '' 1))"
assert_eq "applied|paused schedule sch-2|null" "$(jfs outcome message resume_at)" "pause without resume time: applied"
act "$S.act_schedule_pause('sch-404', 'x', NULL, $(ctx carol))"
assert_eq "not_found|schedule sch-404 not found; nothing changed" "$(jfs outcome message)" "pause of an unknown schedule: not_found"
act "$S.act_schedule_resume('sch-404', NULL, $(ctx carol))"
assert_eq "not_found" "$(jf outcome)" "resume of an unknown schedule: not_found"

out=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -U "$OP" -c "LISTEN wf_schedule_requests" \
    -c "SELECT $S.act_schedule_trigger('sch-3', NULL, $(ctx dave))" 2>&1) || fail "trigger: $out"
res=$(printf '%s\n' "$out" | head -n 1)
assert_eq "applied|schedule.trigger|schedule|sch-3|active|dave|buffer_one|triggered schedule sch-3 now (overlap buffer_one)" \
    "$(jfs outcome action target_kind target_id state by overlap_policy message)" "trigger: applied with the schedule's policy"
assert_match '"wf_schedule_requests" with payload "\{"kind": "trigger", "schema": "'$S'", "request_id": '"$(jf request_id)"', "schedule_id": "sch-3"\}"' \
    "$out" "trigger: notifies wf_schedule_requests"
assert_eq "sch-3|trigger||||dave" \
    "$(psql_q "SELECT schedule_id, kind, overlap_policy, range_start, range_end, created_by
                 FROM $S.schedule_requests WHERE request_id = $(jf request_id)")" \
    "trigger: a trigger request with the schedule's own policy (NULL)"
act "$S.act_schedule_trigger('sch-3', 'allow_all', $(ctx dave))"
assert_eq "applied|allow_all" "$(jfs outcome overlap_policy)" "trigger with a policy: applied"
assert_eq "allow_all" "$(psql_q "SELECT overlap_policy FROM $S.schedule_requests WHERE request_id = $(jf request_id)")" \
    "trigger with a policy: stored"
act "$S.act_schedule_trigger('sch-404', NULL, $(ctx dave))"
assert_eq "not_found|schedule sch-404 not found; nothing changed" "$(jfs outcome message)" "trigger of an unknown schedule: not_found"

act "$S.act_schedule_backfill('sch-4', '2026-11-01T00:00:00Z', '2026-11-08T00:00:00Z', 'buffer_all', $(ctx erin))"
assert_eq "applied|schedule.backfill|sch-4|2026-11-01T00:00:00.000000Z|2026-11-08T00:00:00.000000Z|buffer_all|backfill of schedule sch-4 from 2026-11-01 00:00Z to 2026-11-08 00:00Z requested (overlap buffer_all)" \
    "$(jfs outcome action target_id range_start range_end overlap_policy message)" "backfill: applied"
assert_eq "backfill|buffer_all|2026-11-01 00:00:00+00|2026-11-08 00:00:00+00|erin" \
    "$(psql_q "SELECT kind, overlap_policy, range_start, range_end, created_by
                 FROM $S.schedule_requests WHERE request_id = $(jf request_id)")" "backfill: the request holds the range"
assert_eq "schedule.backfill|ok|2026-11-01T00:00:00.000000Z to 2026-11-08T00:00:00.000000Z" \
    "$(audit "action, outcome, reason" "target_id = 'sch-4'")" "backfill: audited with the range"
act "$S.act_schedule_backfill('sch-404', '2026-11-01', '2026-11-02', NULL, $(ctx erin))"
assert_eq "not_found" "$(jf outcome)" "backfill of an unknown schedule: not_found"

# ---------------------------------------------------------------------------
# Bad input: 22023, nothing changed, nothing audited

snap=$(snapshot)
bad()
{
    r=$(act_err "$OP" "$2")
    assert_match "^22023[|]$3" "$r" "bad input ($1): 22023"
}
bad "reject without reason" "$S.act_reject('apr-5', '  ', $(ctx alice))" "a reason is required to reject approval apr-5"
bad "reject with NULL reason" "$S.act_reject('apr-5', NULL, $(ctx alice))" "a reason is required to reject approval apr-5"
bad "abort without reason" "$S.act_saga_abort('e-7', NULL, $(ctx alice))" "a reason is required to abort saga e-7"
bad "pause without note" "$S.act_schedule_pause('sch-5', '', NULL, $(ctx alice))" "a note is required to pause schedule sch-5"
bad "pause until the past" "$S.act_schedule_pause('sch-5', 'x', now() - interval '1 minute', $(ctx alice))" "the resume time .* is not in the future"
bad "unknown overlap policy" "$S.act_schedule_trigger('sch-5', 'sometimes', $(ctx alice))" 'overlap policy "sometimes" is not one of'
bad "backfill start = end" "$S.act_schedule_backfill('sch-5', '2026-11-02', '2026-11-02', NULL, $(ctx alice))" "the backfill range is empty"
bad "backfill start > end" "$S.act_schedule_backfill('sch-5', '2026-11-03', '2026-11-02', NULL, $(ctx alice))" "the backfill range is empty"
bad "backfill without end" "$S.act_schedule_backfill('sch-5', '2026-11-03', NULL, NULL, $(ctx alice))" "a backfill of schedule sch-5 needs a start and an end time"
bad "no operator" "$S.act_approve('apr-5', NULL, '{\"client_host\": \"h\"}')" "the operator is missing"
bad "blank operator" "$S.act_approve('apr-5', NULL, '{\"operator\": \" \"}')" "the operator is missing"
bad "NULL ctx" "$S.act_approve('apr-5', NULL, NULL)" "ctx must be a JSON object"
bad "bad expect_version" "$S.act_approve('apr-5', NULL, '{\"operator\": \"a\", \"expect_version\": \"v3\"}')" "ctx.expect_version must be a positive integer"
bad "empty idempotency key" "$S.act_approve('apr-5', NULL, '{\"operator\": \"a\", \"idempotency_key\": \"\"}')" "ctx.idempotency_key must be 1 to 1000 characters"
bad "expect_version 0" "$S.act_approve('apr-5', NULL, '{\"operator\": \"a\", \"expect_version\": 0}')" "ctx.expect_version must be a positive integer, not 0"
bad "blank step id" "$S.act_saga_retry_step('e-7', ' ', NULL, $(ctx alice))" "the step id is missing"
bad "missing approval id" "$S.act_approve(NULL, NULL, $(ctx alice))" "the approval id is missing"
assert_eq "$snap" "$(snapshot)" "bad input changed nothing, audit log included"

# ---------------------------------------------------------------------------
# Idempotency keys

act "$S.act_approve('apr-5', 'ship it', $(ctx alice key-5))"
first=$res
assert_eq "applied|false|key-5" "$(jfs outcome replayed idempotency_key)" "keyed approve: applied"
snap=$(snapshot)
act "$S.act_approve('apr-5', 'ship it', $(ctx alice key-5))"
assert_eq "applied|true" "$(jfs outcome replayed)" "the same key again: replayed"
assert_eq "$(printf '%s' "$first" | jq -c 'del(.replayed)')" "$(printf '%s' "$res" | jq -c 'del(.replayed)')" \
    "the replay returns the first result"
act "$S.act_approve('apr-5', 'ship it', $(ctx alice key-5))"
assert_eq "applied|true" "$(jfs outcome replayed)" "the same key a third time: replayed"
assert_eq "$snap" "$(snapshot)" "the replays changed nothing and were not audited"
assert_eq "1|1|1|approved|2" \
    "$(psql_q "SELECT (SELECT count(*) FROM $S.audit_log WHERE idempotency_key = 'key-5') || '|' ||
                      (SELECT count(*) FROM $S.signals WHERE idempotency_key = 'key-5') || '|' ||
                      (SELECT count(*) FROM $S.action_results WHERE idempotency_key = 'key-5') || '|' ||
                      status || '|' || version FROM $S.approvals WHERE approval_id = 'apr-5'")" \
    "key-5: one audit row, one signal carrying the key, one stored result, approved once"
r=$(act_err "$OP" "$S.act_approve('apr-6', 'ship it', $(ctx alice key-5))")
assert_match '^22023[|]idempotency key "key-5" was already used for approve of approval apr-5 at ' "$r" \
    "the same key for another approval: 22023"
r=$(act_err "$OP" "$S.act_reject('apr-5', 'no', $(ctx alice key-5))")
assert_match '^22023[|]idempotency key "key-5" was already used for approve' "$r" "the same key for another action: 22023"
r=$(act_err "$OP" "$S.act_saga_retry_step('e-6', 'reserve', NULL, $(ctx alice key-5))")
assert_match '^22023[|]' "$r" "the same key for a saga: 22023"
assert_eq "$snap" "$(snapshot)" "a reused key changed nothing"
assert_eq "pending|1" "$(psql_q "SELECT status, version FROM $S.approvals WHERE approval_id = 'apr-6'")" \
    "apr-6 is still pending"
# A refusal is a first outcome too.
act "$S.act_approve('apr-5', NULL, $(ctx bob key-5b))"
assert_eq "refused|false" "$(jfs outcome replayed)" "keyed refusal"
act "$S.act_approve('apr-5', NULL, $(ctx bob key-5b))"
assert_eq "refused|true|1" "$(jfs outcome replayed)|$(psql_q "SELECT count(*) FROM $S.audit_log WHERE idempotency_key = 'key-5b'")" \
    "a keyed refusal replays as refused, audited once"
# Keys of the schedule and saga actions.
act "$S.act_schedule_trigger('sch-6', NULL, $(ctx dave key-t))"
act "$S.act_schedule_trigger('sch-6', NULL, $(ctx dave key-t))"
assert_eq "applied|true|1|1" \
    "$(jfs outcome replayed)|$(psql_q "SELECT count(*) FROM $S.schedule_requests WHERE idempotency_key = 'key-t'")|$(psql_q "SELECT count(*) FROM $S.schedule_requests WHERE schedule_id = 'sch-6'")" \
    "a repeated keyed trigger: one request, carrying the key"
act "$S.act_saga_retry_step('e-7', 'charge', NULL, $(ctx dave key-r))"
act "$S.act_saga_retry_step('e-7', 'charge', NULL, $(ctx dave key-r))"
assert_eq "applied|true|charge|1" \
    "$(jfs outcome replayed step_id)|$(psql_q "SELECT count(*) FROM $S.signals WHERE idempotency_key = 'key-r'")" \
    "a repeated keyed retry-step: one signal"
r=$(act_err "$OP" "$S.act_saga_retry_step('e-7', 'reserve', NULL, $(ctx dave key-r))")
assert_match '^22023[|]idempotency key "key-r" was already used for saga.retry_step of saga e-7 step charge' "$r" \
    "the same key for another step of the saga: 22023"
act "$S.act_schedule_pause('sch-7', 'keyed', NULL, $(ctx dave key-p))"
act "$S.act_schedule_pause('sch-7', 'keyed', NULL, $(ctx dave key-p))"
assert_eq "applied|true|1" \
    "$(jfs outcome replayed)|$(psql_q "SELECT count(*) FROM $S.audit_log WHERE idempotency_key = 'key-p'")" \
    "a repeated keyed pause: applied once, audited once"

# The connection dies in the middle of a keyed approve (after the function
# ran, before COMMIT); a retry with the same key, already waiting for the
# key, takes over once the dead transaction is rolled back, and applies;
# a third call replays.
PGAPPNAME=opsdeck-t-killed psql -X -A -t -q -U "$OP" -c "BEGIN" \
    -c "SELECT $S.act_approve('apr-7', 'first try', $(ctx alice key-7))" \
    -c "SELECT pg_sleep(60)" -c "COMMIT" >"$TEST_TMP/killed.out" 2>&1 &
killed=$!
# wait_for SQL WHAT: polls until SQL (as superuser) says t, for up to 10 s.
wait_for()
{
    _n=0
    until [ "$(psql_q "$1")" = t ]; do
        _n=$((_n + 1))
        [ "$_n" -lt 500 ] || fail "timed out waiting for $2"
        sleep 0.02
    done
}
wait_for "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'opsdeck-t-killed'
                           AND state = 'active' AND query LIKE '%pg_sleep%')" "the first try to sleep before COMMIT"
PGAPPNAME=opsdeck-t-retry psql -X -A -t -q -U "$OP" \
    -c "SELECT $S.act_approve('apr-7', 'first try', $(ctx alice key-7))" >"$TEST_TMP/retry.out" 2>&1 &
retry=$!
wait_for "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'opsdeck-t-retry'
                           AND wait_event_type = 'Lock' AND wait_event = 'advisory')" \
    "the retry to wait for the key's lock"
assert_eq "pending|1|0" \
    "$(psql_q "SELECT status || '|' || version || '|' || (SELECT count(*) FROM $S.audit_log WHERE idempotency_key = 'key-7')
                 FROM $S.approvals WHERE approval_id = 'apr-7'")" \
    "uncommitted: apr-7 still pending to everyone else"
assert_eq t "$(psql_q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'opsdeck-t-killed'")" \
    "the first try's connection is terminated before COMMIT"
rc=0
wait "$killed" || rc=$?
[ "$rc" -ne 0 ] || fail "the killed session should have failed: $(cat "$TEST_TMP/killed.out")"
ok "the killed session failed (exit $rc)"
rc=0
wait "$retry" || rc=$?
[ "$rc" -eq 0 ] || fail "the retry failed: $(cat "$TEST_TMP/retry.out")"
res=$(cat "$TEST_TMP/retry.out")
assert_eq "applied|false|alice" "$(jfs outcome replayed by)" "the retry after the kill: applied, not a replay"
act "$S.act_approve('apr-7', 'first try', $(ctx alice key-7))"
assert_eq "applied|true" "$(jfs outcome replayed)" "a third call with the key: replayed"
assert_eq "approved|2|1|1|1" \
    "$(psql_q "SELECT status || '|' || version || '|' ||
                      (SELECT count(*) FROM $S.audit_log WHERE idempotency_key = 'key-7') || '|' ||
                      (SELECT count(*) FROM $S.signals WHERE idempotency_key = 'key-7') || '|' ||
                      (SELECT count(*) FROM $S.signals WHERE workflow_id = 'wf-7')
                 FROM $S.approvals WHERE approval_id = 'apr-7'")" \
    "key-7: applied exactly once in the end (one version bump, audit row and signal)"

# ---------------------------------------------------------------------------
# The viewer and PUBLIC are refused by the database

snap=$(snapshot)
for who in "$VIEWER" "$NOBODY"; do
    : >"$TEST_TMP/denied.sql"
    for call in "act_approve('apr-8', NULL, $(ctx v))" "act_reject('apr-8', 'r', $(ctx v))" \
        "act_saga_abort('e-7', 'r', $(ctx v))" "act_saga_retry_step('e-7', 'charge', NULL, $(ctx v))" \
        "act_schedule_pause('sch-8', 'n', NULL, $(ctx v))" "act_schedule_resume('sch-2', NULL, $(ctx v))" \
        "act_schedule_trigger('sch-8', NULL, $(ctx v))" \
        "act_schedule_backfill('sch-8', '2026-11-01', '2026-11-02', NULL, $(ctx v))"; do
        printf 'SELECT %s.%s;\n\\echo R| %s :LAST_ERROR_SQLSTATE\n' "$S" "$call" "${call%%(*}" >>"$TEST_TMP/denied.sql"
    done
    out=$(psql -X -A -t -q -U "$who" -v VERBOSITY=terse -f "$TEST_TMP/denied.sql" 2>"$TEST_TMP/denied.err")
    for f in $FUNCS; do
        f=${f%%(*}
        assert_eq "42501|1" \
            "$(printf '%s\n' "$out" | sed -n "s/^R| $f //p")|$(grep -c "ERROR: *permission denied for function $f\$" "$TEST_TMP/denied.err")" \
            "$who: $f refused with 42501, permission denied"
    done
done
r=$(act_err "$OP" "$S._act_finish('{\"operator\": \"x\"}', '{\"action\": \"approve\", \"outcome\": \"applied\"}', NULL, NULL, NULL, 'forged')")
assert_match '^42501[|]permission denied for function _act_finish' "$r" "the operator cannot write audit rows through a helper"
assert_eq "$snap" "$(snapshot)" "the refused calls changed nothing"

# Every audit row written so far carries the operator's login role as
# db_user, never the functions' owner.
assert_eq "$OP" "$(psql_q "SELECT string_agg(DISTINCT db_user, ',') FROM $S.audit_log")" \
    "db_user is session_user ($OP), not the owner ($owner)"

# ---------------------------------------------------------------------------
# Races: $WORKERS sessions act on the same item at once, round after round
# (one new pending item per round); all start together behind an advisory
# lock that a superuser session releases once all of them wait for it.

# race KIND: KIND is approve or pause; writes the sessions' lines
# "R|round|worker|outcome|by|message" to $TEST_TMP/race.KIND.
race()
{
    cat >"$TEST_TMP/race.sql" <<'EOF'
SELECT pg_advisory_lock_shared(4242) \gset
SELECT pg_advisory_unlock_shared(4242) \gset
SELECT format('SELECT %L || (r ->> ''outcome'') || ''|'' || coalesce(r ->> ''by'', '''') || ''|'' || (r ->> ''message'')'
              ' FROM (SELECT %s AS r) AS x',
              'R|' || i || '|' || :'w' || '|',
              CASE :'kind'
              WHEN 'approve' THEN format('%I.act_approve(%L, NULL, %L)', :'s', 'race-apr-' || i,
                                         jsonb_build_object('operator', :'w'))
              ELSE format('%I.act_schedule_pause(%L, %L, NULL, %L)', :'s', 'race-sch-' || i,
                          'race by ' || :'w', jsonb_build_object('operator', :'w'))
              END)
  FROM generate_series(1, :n) AS i \gexec
EOF
    psql -X -q -c "SELECT pg_advisory_lock(4242)" \
        -c "DO \$\$ BEGIN
                WHILE (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0
                          AND objid = 4242 AND NOT granted) < $WORKERS LOOP
                    PERFORM pg_sleep(0.005);
                END LOOP;
            END \$\$" >/dev/null 2>"$TEST_TMP/holder.err" &
    holder=$!
    wait_for "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0
                               AND objid = 4242 AND granted)" "the race's start lock"
    pids=
    w=1
    while [ "$w" -le "$WORKERS" ]; do
        psql -X -A -t -q -v ON_ERROR_STOP=1 -U "$OP" -v s="$S" -v w="op-$w" -v n="$ROUNDS" -v kind="$1" \
            -f "$TEST_TMP/race.sql" >"$TEST_TMP/race.$1.$w" 2>&1 &
        pids="$pids $!"
        w=$((w + 1))
    done
    wait "$holder" || fail "the race's start lock: $(cat "$TEST_TMP/holder.err")"
    for p in $pids; do
        wait "$p" || fail "a $1 race session failed: $(cat "$TEST_TMP"/race."$1".* | grep -v '^R|' | head -n 5)"
    done
    cat "$TEST_TMP"/race."$1".* >"$TEST_TMP/race.$1"
}

# race_check KIND PHRASE: per round exactly one applied, every other
# session refused with the winner as by and in the message ("PHRASE WINNER
# at"); prints "rounds|applied|refused|bad|distinct winners".
race_check()
{
    awk -F'|' -v n="$ROUNDS" -v w="$WORKERS" -v phrase="$2" '
        $1 != "R" { bad++; next }
        $4 == "applied" { applied++; won[$2]++; winner[$2] = $3; if ($5 != $3) bad++; next }
        $4 == "refused" { refused++; rby[$2] = rby[$2] "\n" $5; rmsg[$2] = rmsg[$2] "\n" $6; next }
        { bad++ }
        END {
            for (i = 1; i <= n; i++) {
                if (won[i] != 1) { bad++; continue }
                k = split(substr(rby[i], 2), b, "\n")
                if (k != w - 1) bad++
                for (j = 1; j <= k; j++) if (b[j] != winner[i]) bad++
                k = split(substr(rmsg[i], 2), m, "\n")
                for (j = 1; j <= k; j++) if (index(m[j], phrase " " winner[i] " at ") == 0) bad++
                wins[winner[i]] = 1
            }
            d = 0; for (x in wins) d++
            printf "%d|%d|%d|%d|%d", n, applied, refused, bad, d
        }' "$TEST_TMP/race.$1"
}

psql_q "INSERT INTO $S.approvals (approval_id, workflow_id) SELECT 'race-apr-' || i, 'race-wf-' || i FROM generate_series(1, $ROUNDS) i;
        INSERT INTO $S.schedules (schedule_id, workflow_type, interval_seconds) SELECT 'race-sch-' || i, 'R', 60 FROM generate_series(1, $ROUNDS) i"

t0=$(date +%s)
race approve
t1=$(date +%s)
r=$(race_check approve "was already approved by")
printf '# approve race: %s rounds x %s sessions in %ss; distinct winners %s\n' "$ROUNDS" "$WORKERS" $((t1 - t0)) "${r##*|}"
assert_eq "$ROUNDS|$ROUNDS|$((ROUNDS * (WORKERS - 1)))|0" "${r%|*}" \
    "approve race: one applied per round, the rest refused naming the winner"
assert_eq "$ROUNDS|$((ROUNDS * (WORKERS - 1)))|$ROUNDS|0|$ROUNDS|$ROUNDS" \
    "$(psql_q "SELECT count(*) FILTER (WHERE outcome = 'ok') || '|' || count(*) FILTER (WHERE outcome = 'refused') || '|' ||
                      count(DISTINCT target_id) FILTER (WHERE outcome = 'ok') || '|' ||
                      (SELECT count(*) FROM $S.approvals a WHERE a.approval_id LIKE 'race-apr-%'
                          AND (a.status <> 'approved' OR a.version <> 2
                               OR a.decided_by <> (SELECT l.operator FROM $S.audit_log l
                                                    WHERE l.target_id = a.approval_id AND l.outcome = 'ok'))) || '|' ||
                      (SELECT count(*) FROM $S.signals WHERE workflow_id LIKE 'race-wf-%') || '|' ||
                      (SELECT count(DISTINCT workflow_id) FROM $S.signals WHERE workflow_id LIKE 'race-wf-%')
                 FROM $S.audit_log WHERE action = 'approve' AND target_id LIKE 'race-apr-%'")" \
    "approve race: audit ok rows = applied, each approval decided once by the audited winner, one signal each"

t0=$(date +%s)
race pause
t1=$(date +%s)
r=$(race_check pause "was already paused by")
printf '# pause race: %s rounds x %s sessions in %ss; distinct winners %s\n' "$ROUNDS" "$WORKERS" $((t1 - t0)) "${r##*|}"
assert_eq "$ROUNDS|$ROUNDS|$((ROUNDS * (WORKERS - 1)))|0" "${r%|*}" \
    "pause race: one applied per round, the rest refused naming the winner"
assert_eq 0 "$(awk -F'|' '$4 == "refused" && $6 !~ /\(note: race by op-[0-9]+\); nothing changed$/' "$TEST_TMP/race.pause" | wc -l)" \
    "pause race: the refusals quote the winner's note"
assert_eq "$ROUNDS|$((ROUNDS * (WORKERS - 1)))|$ROUNDS|0" \
    "$(psql_q "SELECT count(*) FILTER (WHERE outcome = 'ok') || '|' || count(*) FILTER (WHERE outcome = 'refused') || '|' ||
                      count(DISTINCT target_id) FILTER (WHERE outcome = 'ok') || '|' ||
                      (SELECT count(*) FROM $S.schedules s WHERE s.schedule_id LIKE 'race-sch-%'
                          AND (NOT s.paused OR s.version <> 2 OR s.pause_note <> 'race by ' || s.paused_by
                               OR s.paused_by <> (SELECT l.operator FROM $S.audit_log l
                                                   WHERE l.target_id = s.schedule_id AND l.outcome = 'ok')))
                 FROM $S.audit_log WHERE action = 'schedule.pause' AND target_id LIKE 'race-sch-%'")" \
    "pause race: audit ok rows = applied, each schedule paused once by the audited winner"

psql_q "DROP ROLE $OP; DROP ROLE $VIEWER; REVOKE USAGE ON SCHEMA $S FROM $NOBODY; DROP ROLE $NOBODY"
printf '# pg_actions: %ss in all\n' $(($(date +%s) - t_start))
finish
