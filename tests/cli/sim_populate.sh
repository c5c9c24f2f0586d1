# opsdeck sim --populate against the harness's real stores: exact counts in
# both stores, data opsdeck's own commands read, the change triggers back on
# afterwards (as superuser and as the tables' owner, and after a load that
# broke), a second load with the same seed adding, a stopped load keeping
# whole batches, and bad sizes refused before anything is written.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

py()
{
    printf '%s' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# Every user trigger of the four loaded tables that is not enabled.
triggers_off()
{
    psql_q "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'O'
            AND tgrelid IN ('wf.saga_executions'::regclass, 'wf.saga_steps'::regclass,
                            'wf.approvals'::regclass, 'wf.schedules'::regclass)"
}

migrate
pg_counts()
{
    psql_q "SELECT (SELECT count(*) FROM wf.saga_executions) || ' ' ||
                   (SELECT count(*) FROM wf.saga_steps) || ' ' ||
                   (SELECT count(*) FROM wf.approvals) || ' ' ||
                   (SELECT count(*) FROM wf.approvals WHERE status = 'pending') || ' ' ||
                   (SELECT count(*) FROM wf.schedules)"
}

# ---- bad sizes: exit 2, nothing written -----------------------------------
for bad in "--sagas 12x" "--dlq-events -5" "--approvals 2G" "--circuits 1.5k" \
    "--sagas 2000000000" "--approvals 10 --pending 20"; do
    # shellcheck disable=SC2086
    run sim --populate $bad
    expect_rc 2 "sim --populate $bad"
done
assert_eq "0 0 0 0 0" "$(pg_counts)" "nothing written to PostgreSQL by refused sizes"
assert_eq "0" "$(redis_q DBSIZE)" "nothing written to Redis by refused sizes"

# A Redis key of the wrong type is found before PostgreSQL is written.
redis_q SET bad:index oops >/dev/null
OPSDECK_DLQ_PREFIX=bad run sim --populate --sagas 10 --dlq-events 10
expect_rc 2 "a DLQ index that is not a sorted set"
assert_match 'bad:index is a string' "$err" "the message names the key"
assert_eq "0 0 0 0 0" "$(pg_counts)" "nothing written to PostgreSQL either"
redis_q DEL bad:index >/dev/null

# ---- a load -----------------------------------------------------------------
run sim --populate --sagas 300 --approvals 120 --pending 20 --schedules 30 --circuits 25 \
    --dlq-events 700 --seed 42
expect_rc 0 "populate"
assert_match 'populate: sagas 300 of 300, done' "$err" "progress lines on stderr"
assert_match 'session_replication_role' "$err" "a superuser loads with replication role"
assert_eq "300 1500 120 20 30" "$(pg_counts)" "exact counts in PostgreSQL"

# Sagas as the simulator keeps them: five steps, the approval skipped for
# small orders; every approval belongs to a saga, pending ones to a saga
# parked at approve_order.
assert_eq "0" "$(psql_q "SELECT count(*) FROM wf.saga_executions e WHERE
    (SELECT count(*) FROM wf.saga_steps s WHERE s.execution_id = e.execution_id) <> 5")" \
    "five steps per execution"
assert_eq "120" "$(psql_q "SELECT count(*) FROM wf.saga_steps WHERE step_id = 'approve_order'
    AND status <> 'skipped'")" "one approval step per approval"
assert_eq "120" "$(psql_q "SELECT count(*) FROM wf.approvals a JOIN wf.saga_executions e
    ON e.execution_id = a.workflow_id")" "every approval names its saga"
assert_eq "20" "$(psql_q "SELECT count(*) FROM wf.approvals a JOIN wf.saga_steps s
    ON s.execution_id = a.workflow_id AND s.step_id = 'approve_order' JOIN wf.saga_executions e
    ON e.execution_id = a.workflow_id WHERE a.status = 'pending' AND s.status = 'running'
    AND e.status = 'running'")" "pending approvals park their sagas"
assert_eq "0" "$(psql_q "SELECT count(*) FROM wf.saga_executions WHERE version < 1
    OR updated_at < created_at OR (status IN ('completed', 'failed', 'compensated')) <>
    (completed_at IS NOT NULL) OR trace_id IS DISTINCT FROM context->>'trace_id'
    OR created_at > now() OR created_at < now() - interval '30 days 1 minute'")" \
    "versions, times and trace ids are sane"
assert_eq "0" "$(psql_q "SELECT count(*) FROM wf.saga_steps WHERE
    (status IN ('completed', 'compensated') AND completed_at IS NULL)
    OR (status = 'pending' AND started_at IS NOT NULL) OR retry_count > 2")" \
    "step states agree with their times"
assert_eq "0" "$(psql_q "SELECT count(*) FROM wf.approvals WHERE
    (status = 'pending') = (decided_at IS NOT NULL) OR due_at <= requested_at
    OR (status IN ('approved', 'rejected', 'cancelled') AND decided_by IS NULL)")" \
    "approvals are decided or pending, never both"
assert_match '^[1-9][0-9]* [1-9][0-9]*$' "$(psql_q "SELECT count(*) FILTER (WHERE due_at < now())
    || ' ' || count(*) FILTER (WHERE escalated_at IS NOT NULL) FROM wf.approvals
    WHERE status = 'pending'")" "some pending approvals are overdue and escalated"
assert_eq "5" "$(psql_q "SELECT count(DISTINCT overlap_policy) FROM wf.schedules")" \
    "schedules use every overlap policy"
assert_eq "0" "$(psql_q "SELECT count(*) FROM wf.schedules WHERE paused AND
    (pause_note IS NULL OR paused_by IS NULL OR next_run_at IS NOT NULL)")" "paused schedules"
assert_eq "30" "$(psql_q "SELECT count(*) FROM wf.schedules WHERE
    (interval_seconds IS NOT NULL) <> (cardinality(cron_expressions) > 0)")" \
    "each schedule has cron expressions or an interval"
assert_match '^[1-9][0-9]* [1-9][0-9]*$' "$(psql_q "SELECT count(*) FILTER (WHERE interval_seconds
    IS NOT NULL) || ' ' || count(*) FILTER (WHERE interval_seconds IS NULL) FROM wf.schedules")" \
    "both kinds occur"
assert_match '^[0-9]+$' "$(psql_q "SELECT reltuples::bigint FROM pg_class
    WHERE oid = 'wf.saga_steps'::regclass AND reltuples = 1500")" "planner statistics refreshed"
assert_eq "0" "$(triggers_off)" "triggers enabled after the load"

# Redis: seed 004's layout, exact counts, stats that add up.
assert_eq "700" "$(redis_q ZCARD dlq:index)" "700 index entries"
keys=$(redis_q --scan --pattern 'dlq:evt-*' | wc -l)
assert_eq "700" "$keys" "700 event hashes"
assert_eq "700" "$(redis_q HGET dlq:stats total_failed_events)" "total_failed_events"
for group in reason source target; do
    sum=$(redis_q HGETALL dlq:stats | paste - - | awk -v g="$group:" 'index($1, g) == 1 { s += $2 }
        END { print s + 0 }')
    assert_eq "700" "$sum" "$group counters add up to 700"
done
# hget FIELD: the field of every event hash, one line each.
hget()
{
    redis_q --scan --pattern 'dlq:evt-*' | sed "s/^/HGET /; s/\$/ $1/" | redis-cli -s "$REDIS_SOCK"
}
statuses=$(hget status | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
retried=$(printf '%s' "$statuses" | grep -o 'retried:[0-9]*' | cut -d: -f2)
resolved=$(printf '%s' "$statuses" | grep -o 'resolved:[0-9]*' | cut -d: -f2)
assert_eq "${retried:-0} ${resolved:-0}" \
    "$(redis_q HGET dlq:stats status:retried) $(redis_q HGET dlq:stats status:resolved)" \
    "status counters match the hashes ($statuses)"
assert_eq "" "$(redis_q HGET dlq:stats status:pending_review)" \
    "status:pending_review left to be derived, as nobody kept it before"
python=$(hget data | grep -c '"failure_reason": "DLQReason\.')
[ "$python" -gt 100 ] && [ "$python" -lt 600 ] || fail "seed 004's Python form in $python of 700"
ok "both the Python and the clean form ($python in Python's)"
one=$(redis_q ZRANGE dlq:index 0 0)
ttl=$(redis_q TTL "dlq:$one")
[ "$ttl" -gt 86400 ] || fail "the oldest event's hash expires in $ttl s"
ok "hashes expire 30 days after their failure, as seed 004 sets"
assert_eq "25" "$(redis_q SCARD circuit_breakers:index)" "25 circuits registered"
assert_match '^(closed|open|half_open)$' \
    "$(redis_q HGET "circuit_breakers:$(redis_q SRANDMEMBER circuit_breakers:index)" state)" \
    "a registered circuit has its state"

# Dead letters of failed sagas carry the saga's trace and execution id.
linked=$(hget data | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    ex = d["original_event"].get("execution_id")
    if ex:
        print(ex, d["original_event"]["trace_id"])
        break')
[ -n "$linked" ] || fail "no dead letter of a saga"
assert_eq "failed" "$(psql_q "SELECT s.status FROM wf.saga_executions e JOIN wf.saga_steps s
    USING (execution_id) WHERE e.execution_id = '${linked% *}' AND e.trace_id = '${linked#* }'
    AND s.error IS NOT NULL AND s.retry_count = 2")" "a dead letter's saga failed that step"

# ---- what opsdeck reads of it -----------------------------------------------
run status --json
expect_rc 0 "status --json"
running=$(psql_q "SELECT count(*) FROM wf.saga_executions WHERE status = 'running'")
assert_eq "$running 20 30 700 700 25" \
    "$(py '"%d %d %d %d %d %d" % (d["sagas"]["running"], d["approvals"]["pending"], d["schedules"]["total"], d["dlq"]["depth"], d["dlq"]["total_failed"], d["circuits"]["total"])')" \
    "status counts"
run sagas list --limit 7
expect_rc 0 "sagas list"
assert_eq "8" "$(printf '%s\n' "$out" | grep -c '^exec-\|^EXECUTION')" "a page of sagas"
run dlq list --limit 7 --json
expect_rc 0 "dlq list"
assert_eq "7" "$(py 'len(d["items"])')" "a page of dead letters"
run approvals list --status pending --json
expect_rc 0 "approvals list --status pending"
assert_eq "20" "$(py 'len(d["items"])')" "the 20 pending approvals"
run dlq show "$one"
expect_rc 0 "dlq show"

# ---- triggers work again: an update notifies and bumps the version ----------
apr=$(psql_q "SELECT approval_id FROM wf.approvals ORDER BY approval_id LIMIT 1")
v0=$(psql_q "SELECT version FROM wf.approvals WHERE approval_id = '$apr'")
note=$(psql -X -q -c "LISTEN wf_changes" \
    -c "UPDATE wf.approvals SET decision_note = 'checked' WHERE approval_id = '$apr'" 2>&1)
assert_match "Asynchronous notification \"wf_changes\" .*\"id\": \"$apr\"" "$note" \
    "an update after the load notifies wf_changes"
assert_eq "$((v0 + 1))" "$(psql_q "SELECT version FROM wf.approvals WHERE approval_id = '$apr'")" \
    "and bumps the version"

# ---- the same seed again adds ------------------------------------------------
run sim --populate --sagas 300 --approvals 120 --pending 20 --schedules 30 --circuits 25 \
    --dlq-events 700 --seed 42
expect_rc 0 "populate again with the same seed"
assert_eq "600 3000 240 40 60" "$(pg_counts)" "a second load adds to PostgreSQL"
assert_eq "1400 1400" "$(redis_q ZCARD dlq:index) $(redis_q HGET dlq:stats total_failed_events)" \
    "a second load adds to the DLQ"
assert_eq "25" "$(redis_q SCARD circuit_breakers:index)" \
    "circuits are named by service: a second load updates them"

# ---- the tables' owner, not a superuser --------------------------------------
psql_q "CREATE ROLE loader LOGIN; GRANT USAGE ON SCHEMA wf TO loader;
        ALTER TABLE wf.saga_executions OWNER TO loader; ALTER TABLE wf.saga_steps OWNER TO loader;
        ALTER TABLE wf.approvals OWNER TO loader; ALTER TABLE wf.schedules OWNER TO loader" >/dev/null
# A listener that stays until the load's last table is in (notifications
# are printed when its statement ends).
psql -X -q -c "LISTEN wf_changes" -c "DO \$\$ DECLARE i int := 0; BEGIN
    WHILE (SELECT count(*) FROM wf.schedules) < 65 AND i < 1200 LOOP
        PERFORM pg_sleep(0.1); i := i + 1; END LOOP; END \$\$" >"$TEST_TMP/listen" 2>&1 &
listener=$!
i=0
until [ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'DO %'
    AND pid <> pg_backend_pid()")" = 1 ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "the listener never started"
    sleep 0.05
done
OPSDECK_POSTGRES="$OPSDECK_POSTGRES user=loader" run sim --populate --sagas 25000 --approvals 10 \
    --schedules 5
expect_rc 0 "populate as the tables' owner"
assert_match 'disabling them inside each transaction' "$err" "the owner disables the triggers"
wait "$listener"
assert_eq "25600 250 65" "$(psql_q "SELECT (SELECT count(*) FROM wf.saga_executions) || ' ' ||
    (SELECT count(*) FROM wf.approvals) || ' ' || (SELECT count(*) FROM wf.schedules)")" \
    "the owner's rows are in"
assert_eq "0" "$(triggers_off)" "triggers enabled after the owner's load"
notes=$(grep -c 'Asynchronous notification' "$TEST_TMP/listen")
assert_eq "4" "$notes" "one refresh-everything notification per transaction, none per row"
assert_match '"id": null' "$(cat "$TEST_TMP/listen")" "with id null"

# A load whose session is killed mid-COPY leaves the triggers on and only
# whole batches behind.
before=$(psql_q "SELECT count(*) FROM wf.saga_executions")
OPSDECK_POSTGRES="$OPSDECK_POSTGRES user=loader" "$OPSDECK" sim --populate --sagas 2M \
    >"$TEST_TMP/killed.out" 2>"$TEST_TMP/killed.err" &
loader=$!
i=0
until [ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE usename = 'loader'
    AND query LIKE 'COPY%' AND state = 'active'")" = 1 ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "the owner's load never started a COPY"
    sleep 0.05
done
sleep 1
psql_q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'loader'" >/dev/null
rc=0
wait "$loader" || rc=$?
[ "$rc" = 3 ] || fail "a killed load: expected exit 3, got $rc: $(cat "$TEST_TMP/killed.err")"
ok "a load whose session was killed fails with exit 3"
assert_eq "0" "$(triggers_off)" "triggers enabled after the killed load"
after=$(psql_q "SELECT count(*) FROM wf.saga_executions")
assert_eq "0" "$(((after - before) % 20000))" "only whole batches were committed"
assert_eq "$((after * 5))" "$(psql_q "SELECT count(*) FROM wf.saga_steps")" \
    "every committed execution has its steps"

# ---- SIGINT between batches: whole batches, stats that match -----------------
z0=$(redis_q ZCARD dlq:index)
"$OPSDECK" sim --populate --dlq-events 2M >"$TEST_TMP/int.out" 2>"$TEST_TMP/int.err" &
sim=$!
i=0
until [ "$(redis_q ZCARD dlq:index)" -gt "$z0" ]; do
    i=$((i + 1))
    [ $i -lt 200 ] || fail "the DLQ load never wrote"
    sleep 0.05
done
kill -INT "$sim"
rc=0
wait "$sim" || rc=$?
assert_eq "0" "$rc" "a load stopped by SIGINT exits 0"
assert_match 'stopped' "$(cat "$TEST_TMP/int.err")" "and says it stopped"
z1=$(redis_q ZCARD dlq:index)
[ "$z1" -lt $((z0 + 2000000)) ] || fail "the load did not stop"
assert_eq "0" "$(((z1 - z0) % 2000))" "only whole batches were written"
assert_eq "$z1" "$(redis_q HGET dlq:stats total_failed_events)" "the stats match what was written"
finish
