# opsdeck status against empty and populated stores, text and JSON.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

jq_py()
{
    printf '%s' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# Not migrated yet: PostgreSQL is up, the schema is missing, and we say so.
run status --json
expect_rc 0 "status before migrate"
assert_eq "0" "$(jq_py 'd["backends"]["postgres"]["schema_version"]')" "schema version 0"
assert_match 'run opsdeck migrate' "$(jq_py 'd["alerts"]')" "alert asks for migrate"

migrate
run status
expect_rc 0 "status on empty stores"
assert_match '^postgres +up ' "$out" "postgres up"
assert_match '^redis +up ' "$out" "redis up"
assert_match '^sagas +0 running, 0 compensating, 0 failed in 24h' "$out" "no sagas"
assert_match '^dlq +0 deep' "$out" "empty DLQ"
assert_no_match 'ALERT' "$out" "no alerts on empty stores"

# Populate: sagas through save_saga, approvals and schedules directly as an
# engine would, the DLQ as seed 004's manager writes it, and circuits.
psql_q "
SELECT wf.save_saga(jsonb_build_object('execution_id', 'e' || i, 'saga_id', 'order',
    'status', s, 'context', '{}'::jsonb, 'started_at', '2026-11-23T10:00:00',
    'completed_at', NULL, 'error', NULL, 'steps', '[]'::jsonb))
FROM generate_series(1, 9) i,
     LATERAL (SELECT (ARRAY['running','running','running','compensating','failed','failed',
                            'completed','completed','compensated'])[i] AS s) x;
UPDATE wf.saga_executions SET updated_at = now() - interval '3 days' WHERE execution_id = 'e6';
INSERT INTO wf.approvals (approval_id, workflow_id, step_id, title, request_data, requested_by,
    assignee_group, requested_at, due_at, escalate_at, status)
VALUES ('a1', 'w1', 's1', 'refund', '{}', 'engine', 'ops', now() - interval '3 hours',
        now() - interval '1 hour', now() - interval '2 hours', 'pending'),
       ('a2', 'w2', 's1', 'refund', '{}', 'engine', 'ops', now() - interval '10 minutes',
        now() + interval '1 day', now() + interval '12 hours', 'pending'),
       ('a3', 'w3', 's1', 'refund', '{}', 'engine', 'ops', now() - interval '1 day',
        now() + interval '1 day', NULL, 'approved');
INSERT INTO wf.schedules (schedule_id, workflow_type, cron_expressions, overlap_policy, paused,
    next_run_at)
VALUES ('daily', 'report', ARRAY['0 6 * * *'], 'skip', false, now() + interval '1 hour'),
       ('hourly', 'sync', ARRAY['0 * * * *'], 'skip', true, NULL);
" >/dev/null

now=$(date +%s)
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    redis_q HSET "dlq:ev$i" data "{\"event_id\":\"ev$i\",\"failure_reason\":\"DLQReason.VALIDATION_FAILED\"}" \
        created_at "2026-11-17T00:36:49.039618" status pending_review >/dev/null
    redis_q ZADD dlq:index $((now - i * 600 + 300)) "ev$i" >/dev/null
done
redis_q HSET dlq:stats total_failed_events 15 reason:validation_failed 12 \
    reason:processing_timeout 3 source:orders 15 >/dev/null
for c in payments:open inventory:closed shipping:half_open mail:closed; do
    name=${c%%:*} state=${c#*:}
    redis_q HSET "circuit_breakers:$name" state "$state" failure_count 0 >/dev/null
    redis_q SADD circuit_breakers:index "$name" >/dev/null
done
redis_q HSET circuit_breakers:mail forced_state open >/dev/null
redis_q SADD circuit_breakers:index ghost >/dev/null

run status --json
expect_rc 0 "status on populated stores"
assert_eq "3 1 2" "$(jq_py '" ".join(str(d["sagas"][k]) for k in ("running","compensating","failed_24h"))')" \
    "saga counts (failed_24h counts the compensated one, not an old failure)"
assert_eq "2 1" "$(jq_py '"%d %d" % (d["approvals"]["pending"], d["approvals"]["overdue"])')" \
    "approval counts"
age=$(jq_py 'd["approvals"]["oldest_age_s"]')
[ "$age" -ge 10790 ] && [ "$age" -le 10900 ] || fail "oldest approval age $age is not about 3h"
ok "oldest approval age is about 3h"
assert_eq "2 1" "$(jq_py '"%d %d" % (d["schedules"]["total"], d["schedules"]["paused"])')" \
    "schedule counts"
assert_eq "12 6 15" "$(jq_py '"%d %d %d" % (d["dlq"]["depth"], d["dlq"]["last_hour"], d["dlq"]["total_failed"])')" \
    "DLQ depth, last hour, total"
assert_eq "validation_failed:12 processing_timeout:3" \
    "$(jq_py '" ".join("%s:%d" % (r["reason"], r["count"]) for r in d["dlq"]["by_reason"])')" \
    "reasons by count"
assert_eq "5 1 2 1 1 1" \
    "$(jq_py '" ".join(str(d["circuits"][k]) for k in ("total","closed","open","half_open","forced","unknown"))')" \
    "circuits by state, forced state winning, a missing hash unknown"
alerts=$(jq_py '"|".join(d["alerts"])')
assert_match 'DLQ depth 12' "$alerts" "DLQ depth alert"
assert_match 'approval pending for 3h' "$alerts" "approval age alert"
assert_match '2 circuits OPEN' "$alerts" "circuit open alert"

# Every count is served by an index: with sequential scans made a last
# resort for opsdeck's session, no table of the schema is scanned. A backend
# hands in its statistics as it exits, possibly after leaving pg_stat_activity:
# wait until opsdeck's is gone and its index scans have arrived (and stay
# put), so that seq_scan = 0 cannot pass for statistics not yet there.
psql_q "SELECT pg_stat_reset()" >/dev/null
PGOPTIONS="-c enable_seqscan=off" "$OPSDECK" status >/dev/null || fail "status with enable_seqscan=off"
scan_stats()
{
    psql -X -A -t -q -v ON_ERROR_STOP=1 -c "SELECT pg_stat_clear_snapshot()" -c "
        SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'opsdeck') || ' ' ||
               coalesce(sum(idx_scan), 0) || ' ' || coalesce(sum(seq_scan), 0) || ' ' ||
               coalesce(string_agg(relname || ':' || seq_scan, ',') FILTER (WHERE seq_scan > 0), '-')
          FROM pg_stat_user_tables WHERE schemaname = 'wf'" | tail -n 1
}
prev= stats=$(scan_stats) tries=0
while :; do
    set -- $stats
    [ "$1" = 0 ] && [ "$2" -gt 0 ] && [ "$stats" = "$prev" ] && break
    tries=$((tries + 1))
    [ "$tries" -le 100 ] || fail "statistics of opsdeck's session did not arrive within 10s: [$stats]"
    sleep 0.1
    prev=$stats stats=$(scan_stats)
done
ok "opsdeck's session is gone and its $2 index scans are counted"
assert_eq "0 -" "$3 $4" "status scans no table"

run status
expect_rc 0 "text status on populated stores"
assert_match '^sagas +3 running, 1 compensating, 2 failed in 24h' "$out" "text saga line"
assert_match '^ALERT +' "$out" "text alert lines"

# Store-sourced names never reach the terminal raw.
redis_q HSET dlq:stats "$(printf 'reason:evil\033]0;pwned\007\033[2J')" 99 >/dev/null
run status
expect_rc 0 "status with a hostile reason"
printf '%s' "$out" | grep -q "$(printf '\033')" && fail "an ESC byte reached the output"
ok "no ESC byte in the output"
assert_match 'evil\\x1b\]0;pwned\\x07\\x1b\[2J' "$out" "the hostile reason is shown escaped"

finish
