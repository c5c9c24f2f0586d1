#!/bin/sh
# save_saga(): the seed-004 _persist_state document is stored as an execution
# and its steps; versions move only on change; changes are notified.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

S=wf
migrate

# It runs with its owner's rights (roles.sh has an engine's role use it), so
# its search_path is pinned: nothing of a caller's schemas can stand in.
assert_eq 'true|{"search_path=pg_catalog, pg_temp"}' \
    "$(psql_q "SELECT prosecdef || '|' || proconfig::text FROM pg_proc WHERE oid = '$S.save_saga(jsonb)'::regprocedure")" \
    "save_saga is SECURITY DEFINER with a pinned search_path"

# save JSON: saves a document and prints the resulting version.
save()
{
    psql_q "SELECT $S.save_saga(\$doc\$$1\$doc\$::jsonb)"
}

# listen_save JSON: saves in a session that LISTENs on wf_changes; prints
# the session's output, notifications included.
listen_save()
{
    psql -X -A -t -c "LISTEN wf_changes; SELECT $S.save_saga(\$doc\$$1\$doc\$::jsonb)" 2>&1
}

X=order-4711-20261123-175216-140234
# Exactly what SagaExecution._persist_state writes right after the first
# step started: None as null, naive utcnow().isoformat() times.
doc_running='{"execution_id": "'$X'", "saga_id": "order-4711", "status": "running",
  "context": {"order_id": 4711, "trace_id": "trace-abc", "amount": 99.5},
  "started_at": "2026-11-23T17:52:16.961247", "completed_at": null, "error": null,
  "steps": [
    {"step_id": "reserve", "name": "Reserve stock", "status": "running", "result": null,
     "error": null, "started_at": "2026-11-23T17:52:17.000001", "completed_at": null, "retry_count": 0},
    {"step_id": "charge", "name": "Charge card", "status": "pending", "result": null,
     "error": null, "started_at": null, "completed_at": null, "retry_count": 0},
    {"step_id": "ship", "name": "Ship", "status": "pending", "result": null,
     "error": null, "started_at": null, "completed_at": null, "retry_count": 0}]}'

# Saved in a session whose TimeZone is not UTC: naive times are UTC anyway.
v=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -c "SET TimeZone = 'Asia/Tokyo'" \
    -c "SELECT $S.save_saga(\$doc\$$doc_running\$doc\$::jsonb)")
assert_eq 1 "$v" "first save returns version 1"
assert_eq "order-4711|running|1|trace-abc||t|f" \
    "$(psql_q "SELECT saga_id, status, version, trace_id, coalesce(error, ''), completed_at IS NULL,
                      created_at IS NULL FROM $S.saga_executions WHERE execution_id = '$X'")" \
    "execution stored with nulls and trace_id from context"
assert_eq "2026-11-23T17:52:16.961247" \
    "$(psql_q "SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')
                 FROM $S.saga_executions WHERE execution_id = '$X'")" \
    "naive started_at stored as UTC"
assert_eq '4711|99.5' \
    "$(psql_q "SELECT context->>'order_id', context->>'amount' FROM $S.saga_executions WHERE execution_id = '$X'")" \
    "context stored as JSON"
assert_eq "0:reserve:Reserve stock:running:true:2026-11-23 17:52:17.000001:0
1:charge:Charge card:pending:true::0
2:ship:Ship:pending:true::0" \
    "$(psql_q "SELECT position || ':' || step_id || ':' || name || ':' || status || ':' ||
                      (result IS NULL) || ':' ||
                      coalesce(to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), '') || ':' ||
                      retry_count
                 FROM $S.saga_steps WHERE execution_id = '$X' ORDER BY position")" \
    "steps stored in document order, null result and pending started_at as NULL"

# The same document again: nothing changes, no version bump, no notification.
before=$(psql_q "SELECT updated_at FROM $S.saga_executions WHERE execution_id = '$X'")
o=$(listen_save "$doc_running")
assert_no_match 'Asynchronous notification' "$o" "identical re-save notifies nothing"
assert_eq 1 "$(printf '%s\n' "$o" | grep -E '^[0-9]+$')" "identical re-save returns version 1"
assert_eq "1|$before" \
    "$(psql_q "SELECT version, updated_at FROM $S.saga_executions WHERE execution_id = '$X'")" \
    "identical re-save leaves version and updated_at alone"

# The charge fails after retries; compensation starts. A listening console
# is told at once.
doc_compensating='{"execution_id": "'$X'", "saga_id": "order-4711", "status": "compensating",
  "context": {"order_id": 4711, "trace_id": "trace-abc", "amount": 99.5, "reservation": "R-1"},
  "started_at": "2026-11-23T17:52:16.961247", "completed_at": null, "error": null,
  "steps": [
    {"step_id": "reserve", "name": "Reserve stock", "status": "compensating", "result": {"reservation": "R-1"},
     "error": null, "started_at": "2026-11-23T17:52:17.000001", "completed_at": "2026-11-23T17:52:18.5", "retry_count": 0},
    {"step_id": "charge", "name": "Charge card", "status": "failed", "result": null,
     "error": "card declined", "started_at": "2026-11-23T18:52:20+01:00", "completed_at": null, "retry_count": 3},
    {"step_id": "ship", "name": "Ship", "status": "pending", "result": null,
     "error": null, "started_at": null, "completed_at": null, "retry_count": 0}]}'
o=$(listen_save "$doc_compensating")
assert_match 'Asynchronous notification "wf_changes" with payload' "$o" "a LISTENing session is notified of a save"
assert_match "\"id\": \"$X\"" "$o" "the notification names the execution"
assert_match '"kind": "saga"' "$o" "the notification has kind saga"
assert_match "\"schema\": \"$S\"" "$o" "the notification names the schema"
assert_eq 1 "$(printf '%s\n' "$o" | grep -c 'Asynchronous notification')" \
    "one notification for a save that changed the execution and two steps"
assert_eq 2 "$(printf '%s\n' "$o" | grep -E '^[0-9]+$')" "a changed save returns version 2"
assert_eq "compensating|2|R-1" \
    "$(psql_q "SELECT status, version, context->>'reservation' FROM $S.saga_executions WHERE execution_id = '$X'")" \
    "execution updated to compensating, version 2"
assert_eq "reserve|compensating|R-1|0
charge|failed|card declined|3" \
    "$(psql_q "SELECT step_id, status, coalesce(result->>'reservation', error), retry_count
                 FROM $S.saga_steps WHERE execution_id = '$X' AND position < 2 ORDER BY position")" \
    "steps updated: status, result, error, retry_count"
assert_eq "2026-11-23 17:52:20.000000" \
    "$(psql_q "SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')
                 FROM $S.saga_steps WHERE execution_id = '$X' AND step_id = 'charge'")" \
    "a time with a zone is converted to UTC"

# Compensated; the engine's definition no longer lists "ship".
doc_compensated='{"execution_id": "'$X'", "saga_id": "order-4711", "status": "compensated",
  "context": {"order_id": 4711, "trace_id": "trace-abc", "amount": 99.5, "reservation": "R-1"},
  "started_at": "2026-11-23T17:52:16.961247", "completed_at": "2026-11-23T17:52:31.25", "error": null,
  "steps": [
    {"step_id": "reserve", "name": "Reserve stock", "status": "compensated", "result": {"reservation": "R-1"},
     "error": null, "started_at": "2026-11-23T17:52:17.000001", "completed_at": "2026-11-23T17:52:18.5", "retry_count": 0},
    {"step_id": "charge", "name": "Charge card", "status": "failed", "result": null,
     "error": "card declined", "started_at": "2026-11-23T18:52:20+01:00", "completed_at": null, "retry_count": 3}]}'
assert_eq 3 "$(save "$doc_compensated")" "compensated save returns version 3"
assert_eq "compensated|3|2026-11-23 17:52:31.250000" \
    "$(psql_q "SELECT status, version, to_char(completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')
                 FROM $S.saga_executions WHERE execution_id = '$X'")" \
    "execution compensated with completed_at"
assert_eq "reserve:compensated,charge:failed" \
    "$(psql_q "SELECT string_agg(step_id || ':' || status, ',' ORDER BY position)
                 FROM $S.saga_steps WHERE execution_id = '$X'")" \
    "a step missing from the document is deleted"
assert_eq 3 "$(save "$doc_compensated")" "re-saving the compensated state keeps version 3"

# Only a step changes: the execution's version still moves.
doc_step_only=$(printf '%s' "$doc_compensated" | sed 's/"retry_count": 3/"retry_count": 4/')
assert_eq 4 "$(save "$doc_step_only")" "a change in a step alone bumps the execution's version"

# Extra fields: name, trace_id and max_retries are kept when present.
Y=payment-1-20261123-175300-99
assert_eq 1 "$(save '{"execution_id": "'$Y'", "saga_id": "payment", "name": "Payment saga",
  "trace_id": "trace-top", "status": "pending", "context": {"trace_id": "trace-ctx"},
  "started_at": null, "completed_at": null, "error": null, "unknown": [1, 2],
  "steps": [{"step_id": "s1", "name": "one", "status": "pending", "result": null, "error": null,
             "started_at": null, "completed_at": null, "retry_count": 0, "max_retries": 5,
             "timeout_seconds": 30}]}')" "a document with extra fields is accepted"
assert_eq "Payment saga|trace-top|5" \
    "$(psql_q "SELECT e.name, e.trace_id, s.max_retries FROM $S.saga_executions e
                 JOIN $S.saga_steps s USING (execution_id) WHERE execution_id = '$Y'")" \
    "name, trace_id (over context.trace_id) and max_retries are stored"

# A document without execution_id, saga_id or status, or otherwise
# malformed, is refused with 22023 and changes nothing. The attempts run in
# one session; after each, psql prints "R|LABEL| ERROR SQLSTATE MESSAGE".
state_before=$(psql_q "SELECT count(*) || '/' || sum(version) || '/' ||
                              (SELECT count(*) FROM $S.saga_steps) FROM $S.saga_executions")
refuse()
{
    printf 'SELECT %s.save_saga($doc$%s$doc$::jsonb);\n\\echo '"'"'R|%s|'"'"' :ERROR :LAST_ERROR_SQLSTATE :LAST_ERROR_MESSAGE\n' \
        "$S" "$2" "$1" >>"$TEST_TMP/refuse.sql"
}
refuse no_id '{"saga_id": "order-4711", "status": "running", "context": {}, "steps": []}'
refuse no_saga '{"execution_id": "z-1", "status": "running", "context": {}, "steps": []}'
refuse no_status '{"execution_id": "z-1", "saga_id": "z", "context": {}, "steps": []}'
refuse null_status '{"execution_id": "z-1", "saga_id": "z", "status": null}'
refuse bad_status '{"execution_id": "z-1", "saga_id": "z", "status": "exploded"}'
refuse array '[1, 2]'
refuse no_step_id '{"execution_id": "'$X'", "saga_id": "order-4711", "status": "running",
  "steps": [{"step_id": "a", "status": "running"}, {"name": "no id", "status": "pending"}]}'
refuse bad_time '{"execution_id": "'$X'", "saga_id": "order-4711", "status": "running",
  "steps": [{"step_id": "a", "status": "running", "started_at": "yesterday"}]}'
o=$(psql -X -A -t -q -f "$TEST_TMP/refuse.sql" 2>/dev/null)
refusal()
{
    printf '%s\n' "$o" | sed -n "s/^R|$1| //p"
}
assert_match '^true 22023 .*execution_id' "$(refusal no_id)" "no execution_id: refused with 22023"
assert_match '^true 22023 .*saga_id' "$(refusal no_saga)" "no saga_id: refused with 22023"
assert_match '^true 22023 .*status' "$(refusal no_status)" "no status: refused with 22023"
assert_match '^true 22023 .*status' "$(refusal null_status)" "null status: refused with 22023"
assert_match '^true 22023 .*status "exploded"' "$(refusal bad_status)" "unknown status: refused with 22023"
assert_match '^true 22023 ' "$(refusal array)" "a JSON array: refused with 22023"
assert_match '^true 22023 .*steps\[1\]\.step_id' "$(refusal no_step_id)" \
    "a step without step_id: refused with 22023, naming the step"
assert_match '^true 22007 .*steps\[0\]\.started_at' "$(refusal bad_time)" \
    "a bad time: refused with 22007, naming the field"
assert_eq "$state_before|compensated|4" \
    "$(psql_q "SELECT count(*) || '/' || sum(version) || '/' || (SELECT count(*) FROM $S.saga_steps)
                 FROM $S.saga_executions")|$(psql_q "SELECT status || '|' || version
                 FROM $S.saga_executions WHERE execution_id = '$X'")" \
    "refused documents changed no execution and no step"

finish
