#!/bin/sh
# The opsdeck_viewer and opsdeck_operator roles: members may read every
# table, and the database itself refuses them any direct write and save_saga.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

S=wf
TABLES="saga_executions saga_steps approvals schedules signals schedule_requests audit_log"
migrate

# One row in every table, so that UPDATE and DELETE would have work to do.
psql_q "SELECT $S.save_saga('{\"execution_id\": \"e-1\", \"saga_id\": \"s\", \"status\": \"running\",
          \"context\": {}, \"started_at\": null, \"completed_at\": null, \"error\": null,
          \"steps\": [{\"step_id\": \"a\", \"name\": \"A\", \"status\": \"running\", \"result\": null,
                       \"error\": null, \"started_at\": null, \"completed_at\": null, \"retry_count\": 0}]}')" >/dev/null
psql_q "INSERT INTO $S.approvals (approval_id, workflow_id, title) VALUES ('apr-1', 'e-1', 'Refund');
        INSERT INTO $S.schedules (schedule_id, workflow_type, cron_expressions)
            VALUES ('daily-report', 'GenerateReport', '{\"0 6 * * *\"}');
        INSERT INTO $S.signals (workflow_id, name, idempotency_key, created_by)
            VALUES ('e-1', 'abort', 'k-1', 'alice');
        INSERT INTO $S.schedule_requests (schedule_id, kind, created_by)
            VALUES ('daily-report', 'trigger', 'alice');
        INSERT INTO $S.audit_log (operator, action, target_kind, target_id, outcome)
            VALUES ('alice', 'approve', 'approval', 'apr-1', 'ok')"

# snapshot: one line per table with its row count and a digest of its rows.
snapshot()
{
    _q=
    for t in $TABLES; do
        _q="$_q${_q:+ UNION ALL }SELECT '$t ' || count(*) || ' ' ||
            coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '-') FROM $S.$t AS x"
    done
    psql_q "$_q"
}

# try LABEL SQL: queues SQL (one line) for the next `as_role`, which prints
# "R|LABEL| ERROR SQLSTATE" after it, e.g. "R|x| true 42501".
try()
{
    printf '%s\n\\echo '"'"'R|%s|'"'"' :ERROR :LAST_ERROR_SQLSTATE\n' "$2" "$1" >>"$TEST_TMP/batch.sql"
}

# as_role ROLE: runs the queued statements as ROLE in one session, each in a
# transaction of its own, going on after errors; output in $out, error
# messages in $err.
as_role()
{
    out=$(psql -X -A -t -q -U "$1" -f "$TEST_TMP/batch.sql" 2>"$TEST_TMP/batch.err")
    err=$(cat "$TEST_TMP/batch.err")
    rm -f "$TEST_TMP/batch.sql" "$TEST_TMP/batch.err"
}

# result LABEL: what `as_role` printed for LABEL.
result()
{
    printf '%s\n' "$out" | sed -n "s/^R|$1| //p"
}

assert_eq "false|false" \
    "$(psql_q "SELECT string_agg(rolcanlogin::text, '|' ORDER BY rolname) FROM pg_roles
                WHERE rolname IN ('opsdeck_operator', 'opsdeck_viewer')")" \
    "both roles exist and cannot log in"
assert_eq "t" "$(psql_q "SELECT pg_has_role('opsdeck_operator', 'opsdeck_viewer', 'MEMBER')")" \
    "opsdeck_operator is a member of opsdeck_viewer"

# No table privilege but SELECT, on any table of the schema, for either role.
assert_eq "7|0" \
    "$(psql_q "SELECT count(*) FILTER (WHERE grantee = 'opsdeck_viewer' AND privilege_type = 'SELECT'
                                         AND table_name IN ('$(printf '%s' "$TABLES" | sed "s/ /', '/g")')) || '|' ||
                      count(*) FILTER (WHERE privilege_type <> 'SELECT')
                 FROM information_schema.role_table_grants
                WHERE table_schema = '$S' AND grantee IN ('opsdeck_viewer', 'opsdeck_operator')")" \
    "information_schema lists SELECT grants to opsdeck_viewer and no other grant to the roles"
privs=$(psql_q "SELECT t || ':' || has_table_privilege('opsdeck_viewer', '$S.' || t, 'SELECT') || '|' ||
                      has_table_privilege('opsdeck_operator', '$S.' || t, 'SELECT') || '|' ||
                      has_table_privilege('opsdeck_viewer', '$S.' || t, 'INSERT, UPDATE, DELETE, TRUNCATE') || '|' ||
                      has_table_privilege('opsdeck_operator', '$S.' || t, 'INSERT') || '|' ||
                      has_table_privilege('opsdeck_operator', '$S.' || t, 'UPDATE') || '|' ||
                      has_table_privilege('opsdeck_operator', '$S.' || t, 'DELETE') || '|' ||
                      has_table_privilege('opsdeck_operator', '$S.' || t, 'TRUNCATE') || '|' ||
                      has_any_column_privilege('opsdeck_operator', '$S.' || t, 'INSERT, UPDATE')
                 FROM unnest(string_to_array('$TABLES', ' ')) AS t")
for t in $TABLES; do
    assert_eq "true|true|false|false|false|false|false|false" \
        "$(printf '%s\n' "$privs" | sed -n "s/^$t://p")" "$t: SELECT only for both roles"
done
assert_eq "false|false" \
    "$(psql_q "SELECT has_function_privilege('opsdeck_viewer', '$S.save_saga(jsonb)', 'EXECUTE') || '|' ||
                      has_function_privilege('opsdeck_operator', '$S.save_saga(jsonb)', 'EXECUTE')")" \
    "neither role may execute save_saga"
assert_eq 0 \
    "$(psql_q "SELECT count(*) FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                WHERE p.pronamespace = '$S'::regnamespace AND a.grantee = 0")" \
    "no function of the schema is executable by PUBLIC"

# Login roles as an operator team would create them.
psql_q "SET client_min_messages = warning; DROP ROLE IF EXISTS opsdeck_test_viewer, opsdeck_test_operator"
psql_q "CREATE ROLE opsdeck_test_viewer LOGIN IN ROLE opsdeck_viewer;
        CREATE ROLE opsdeck_test_operator LOGIN IN ROLE opsdeck_operator"

snap_before=$(snapshot)
for who in opsdeck_test_viewer opsdeck_test_operator; do
    for t in $TABLES; do
        try "read $t" "SELECT 'C|$t|' || count(*) FROM $S.$t;"
    done
    try join "SELECT 'J|' || e.status || '|' || e.version FROM $S.saga_executions e JOIN $S.saga_steps s USING (execution_id);"

    try "INSERT into saga_executions" "INSERT INTO $S.saga_executions (execution_id, saga_id, status) VALUES ('e-2', 's', 'running');"
    try "UPDATE of saga_executions" "UPDATE $S.saga_executions SET status = 'failed';"
    try "DELETE from saga_executions" "DELETE FROM $S.saga_executions;"
    try "INSERT into saga_steps" "INSERT INTO $S.saga_steps (execution_id, step_id, position, status) VALUES ('e-1', 'b', 1, 'pending');"
    try "UPDATE of saga_steps" "UPDATE $S.saga_steps SET status = 'failed';"
    try "DELETE from saga_steps" "DELETE FROM $S.saga_steps;"
    try "INSERT into approvals" "INSERT INTO $S.approvals (approval_id, workflow_id) VALUES ('apr-2', 'e-1');"
    try "UPDATE of approvals" "UPDATE $S.approvals SET status = 'approved', decided_by = '$who';"
    try "DELETE from approvals" "DELETE FROM $S.approvals;"
    try "INSERT into schedules" "INSERT INTO $S.schedules (schedule_id, workflow_type, interval_seconds) VALUES ('x', 'X', 60);"
    try "UPDATE of schedules" "UPDATE $S.schedules SET paused = true;"
    try "DELETE from schedules" "DELETE FROM $S.schedules;"
    try "INSERT into signals" "INSERT INTO $S.signals (workflow_id, name, created_by) VALUES ('e-1', 'approve', '$who');"
    try "UPDATE of signals" "UPDATE $S.signals SET consumed_at = now();"
    try "DELETE from signals" "DELETE FROM $S.signals;"
    try "INSERT into schedule_requests" "INSERT INTO $S.schedule_requests (schedule_id, kind, created_by) VALUES ('daily-report', 'trigger', '$who');"
    try "UPDATE of schedule_requests" "UPDATE $S.schedule_requests SET consumed_at = now();"
    try "DELETE from schedule_requests" "DELETE FROM $S.schedule_requests;"
    try "INSERT into audit_log" "INSERT INTO $S.audit_log (operator, action, target_kind, outcome) VALUES ('$who', 'x', 'x', 'ok');"
    try "UPDATE of audit_log" "UPDATE $S.audit_log SET outcome = 'failed';"
    try "DELETE from audit_log" "DELETE FROM $S.audit_log;"
    try "TRUNCATE of audit_log" "TRUNCATE $S.audit_log;"
    try "save_saga" "SELECT $S.save_saga('{\"execution_id\": \"e-1\", \"saga_id\": \"s\", \"status\": \"failed\"}');"
    try "parse_ts" "SELECT $S.parse_ts('2026-11-23T17:52:16');"
    as_role "$who"

    for t in $TABLES; do
        assert_eq "false|C|$t|1" "$(result "read $t" | cut -d' ' -f1)|$(printf '%s\n' "$out" | grep "^C|$t|")" \
            "$who can read $t"
    done
    assert_eq "false|J|running|1" "$(result join | cut -d' ' -f1)|$(printf '%s\n' "$out" | grep '^J|')" \
        "$who can join executions and steps"
    for t in $TABLES; do
        for op in "INSERT into" "UPDATE of" "DELETE from"; do
            assert_eq "true 42501" "$(result "$op $t")" "$who: $op $t refused with 42501"
        done
    done
    assert_eq "true 42501" "$(result "TRUNCATE of audit_log")" "$who: TRUNCATE refused with 42501"
    assert_eq "true 42501" "$(result save_saga)" "$who: save_saga refused with 42501"
    assert_eq "true 42501" "$(result parse_ts)" "$who: internal helpers refused with 42501"
    assert_eq 24 "$(printf '%s\n' "$err" | grep -c 'ERROR: .*permission denied for')" \
        "$who: each refusal says permission denied"
done
assert_eq "$snap_before" "$(snapshot)" "the refused statements changed no table"

# An engine's role with no right on any table saves sagas once the DBA has
# granted it EXECUTE on save_saga (and USAGE on the schema): save_saga runs
# with its owner's rights.
psql_q "SET client_min_messages = warning; DROP ROLE IF EXISTS opsdeck_test_engine"
psql_q "CREATE ROLE opsdeck_test_engine LOGIN;
        GRANT USAGE ON SCHEMA $S TO opsdeck_test_engine;
        GRANT EXECUTE ON FUNCTION $S.save_saga(jsonb) TO opsdeck_test_engine"
assert_eq "false" \
    "$(psql_q "SELECT bool_or(has_table_privilege('opsdeck_test_engine', '$S.' || t,
                                                  'SELECT, INSERT, UPDATE, DELETE, TRUNCATE'))::text
                 FROM unnest(string_to_array('$TABLES', ' ')) AS t")" \
    "the engine's role has no right on any table"
try "engine save" "SELECT 'V|' || $S.save_saga('{\"execution_id\": \"e-2\", \"saga_id\": \"s\", \"status\": \"running\",
    \"context\": {}, \"started_at\": null, \"completed_at\": null, \"error\": null,
    \"steps\": [{\"step_id\": \"a\", \"name\": \"A\", \"status\": \"running\", \"result\": null,
                 \"error\": null, \"started_at\": null, \"completed_at\": null, \"retry_count\": 0}]}');"
try "engine read" "SELECT count(*) FROM $S.saga_executions;"
try "engine write" "UPDATE $S.saga_executions SET status = 'failed';"
as_role opsdeck_test_engine
assert_eq "false|V|1" "$(result "engine save" | cut -d' ' -f1)|$(printf '%s\n' "$out" | grep '^V|')" \
    "the engine's role saves a saga through save_saga"
assert_eq "true 42501" "$(result "engine read")" "the engine's role still may not read a table"
assert_eq "true 42501" "$(result "engine write")" "the engine's role still may not write a table"
assert_eq "s|running|1|a" \
    "$(psql_q "SELECT e.saga_id || '|' || e.status || '|' || e.version || '|' || string_agg(s.step_id, ',')
                 FROM $S.saga_executions e JOIN $S.saga_steps s USING (execution_id)
                WHERE execution_id = 'e-2' GROUP BY e.saga_id, e.status, e.version")" \
    "the engine's saga is stored with its step"

# Tables the owner creates in the schema later are readable by opsdeck_viewer.
psql_q "CREATE TABLE $S.later_table (id integer); INSERT INTO $S.later_table VALUES (1)"
try "later table" "SELECT 'L|' || count(*) FROM $S.later_table;"
as_role opsdeck_test_viewer
assert_eq "false|L|1" "$(result "later table" | cut -d' ' -f1)|$(printf '%s\n' "$out" | grep '^L|')" \
    "a table created later is readable by a viewer"
assert_eq "false" \
    "$(psql_q "SELECT has_table_privilege('opsdeck_viewer', '$S.later_table', 'INSERT, UPDATE, DELETE')::text")" \
    "a later table is only readable"

psql_q "DROP ROLE opsdeck_test_viewer; DROP ROLE opsdeck_test_operator;
        DROP OWNED BY opsdeck_test_engine; DROP ROLE opsdeck_test_engine"
finish
