# approve, reject, sagas abort|retry-step and schedules
# pause|resume|trigger|backfill through the real binary: one line per
# outcome, exit codes, JSON, --expect-version, --idempotency-key, bulk
# confirmation, read-only mode, the viewer role, and 8 processes racing.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

jq_py()
{
    printf '%s' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}
migrate
psql_q "
INSERT INTO wf.approvals (approval_id, workflow_id, step_id, title, request_data, requested_by,
    assignee_group, requested_at, due_at, status)
SELECT 'apr-' || i, 'wf-' || i, 'approve', 'refund', '{}', 'engine', 'finance', now(),
       now() + interval '1 hour', 'pending' FROM generate_series(1, 40) i;
INSERT INTO wf.schedules (schedule_id, workflow_type, cron_expressions, overlap_policy)
VALUES ('nightly', 'report', ARRAY['0 2 * * *'], 'skip'), ('hourly', 'sync', ARRAY['0 * * * *'], 'skip');
SELECT wf.save_saga('{\"execution_id\": \"ex-1\", \"saga_id\": \"order\", \"status\": \"running\",
  \"context\": {}, \"started_at\": \"2026-11-23T10:00:00\", \"completed_at\": null, \"error\": null,
  \"steps\": [{\"step_id\": \"charge\", \"name\": \"charge\", \"status\": \"failed\", \"result\": null,
  \"error\": \"declined\", \"started_at\": null, \"completed_at\": null, \"retry_count\": 3}]}');
" >/dev/null

run approve apr-1 --note "looks fine"
expect_rc 0 "approve"
assert_eq "approved approval apr-1" "$out" "one line says what changed"
assert_eq "1" "$(psql_q "SELECT count(*) FROM wf.signals WHERE workflow_id = 'wf-1' AND name = 'approve'")" \
    "the workflow got its signal"
run reject apr-1 --reason "too late"
expect_rc 1 "deciding twice is refused"
assert_match '^opsdeck: approval apr-1 was already approved by tester at .*Z; nothing changed$' "$err" \
    "the refusal names the state, who and when"
run reject apr-2
expect_rc 2 "reject needs a reason"
run approve nosuch
expect_rc 4 "unknown approval"

run approve apr-3 --expect-version 7
expect_rc 1 "a stale version is refused"
assert_match 'changed since you looked' "$err" "the refusal says so"
run approve apr-3 --expect-version 1 --json
expect_rc 0 "the right version applies"
assert_eq "applied 2" "$(jq_py 'd["outcome"] + " " + str(d["version"])')" "JSON outcome and version"

run approve apr-4 --idempotency-key key-4
run approve apr-4 --idempotency-key key-4
expect_rc 0 "a repeated key returns the first outcome"
assert_match '(repeated request)' "$out" "marked as a repeat"
assert_eq "1" "$(psql_q "SELECT count(*) FROM wf.audit_log WHERE target_id = 'apr-4'")" "audited once"

run approve apr-5 apr-6
expect_rc 2 "bulk without --yes and no terminal"
assert_eq "pending" "$(psql_q "SELECT status FROM wf.approvals WHERE approval_id = 'apr-5'")" "nothing changed"
run approve apr-5 apr-6 --yes
expect_rc 0 "bulk approve"

run --read-only approve apr-7
expect_rc 5 "read-only mode"
psql_q "CREATE ROLE viewer_login LOGIN IN ROLE opsdeck_viewer" >/dev/null
run --postgres "$OPSDECK_POSTGRES user=viewer_login" approve apr-7
expect_rc 5 "the viewer role is refused by the database"
assert_eq "pending" "$(psql_q "SELECT status FROM wf.approvals WHERE approval_id = 'apr-7'")" "nothing changed"

export SSH_CONNECTION="203.0.113.9 50000 198.51.100.1 22"
run sagas retry-step ex-1 charge --reason "card fixed"
expect_rc 0 "retry a failed step"
assert_eq "tester|203.0.113.9" "$(psql_q "SELECT operator || '|' || client_addr FROM wf.audit_log WHERE target_id = 'ex-1' ORDER BY at DESC LIMIT 1")" \
    "the audit row has who and from where"
unset SSH_CONNECTION
run sagas abort ex-1
expect_rc 2 "abort needs a reason"
run sagas abort ex-1 --reason "customer cancelled"
expect_rc 0 "abort"

run schedules pause nightly
expect_rc 2 "pause needs a note"
run schedules pause nightly --note "db maintenance" --until 2h
expect_rc 0 "pause with an automatic resume"
assert_eq "t" "$(psql_q "SELECT paused AND resume_at > now() + interval '100 minutes' FROM wf.schedules WHERE schedule_id = 'nightly'")" \
    "paused until about two hours from now"
run schedules pause nightly --note again
expect_rc 1 "pausing twice is refused"
assert_match 'paused by tester' "$err" "names who paused it"
run schedules resume nightly
expect_rc 0 "resume"
run schedules pause --all --note "window"
expect_rc 2 "pause --all needs --yes without a terminal"
assert_match 'pause 2 items' "$err" "blast radius of the maintenance window"
run schedules pause --all --search night --dry-run
expect_rc 0 "pause --all --dry-run needs no note"
assert_eq "would be paused: nightly
1 schedule would be paused; nothing changed" "$out" "the dry run lists and counts"
run --json --read-only schedules pause --all --dry-run
expect_rc 0 "a dry run in JSON, allowed in read-only mode"
assert_eq "true 2 hourly,nightly" "$(printf '%s' "$out" | jq -r '"\(.dry_run) \(.count) \(.items | map(.schedule_id) | sort | join(","))"')" \
    "JSON: the count and the schedules"
run schedules pause nightly --dry-run --note x
expect_rc 2 "--dry-run goes with --all"
assert_eq 0 "$(psql_q "SELECT count(*) FROM wf.schedules WHERE paused")" "the dry runs paused nothing"
run schedules pause --all --search night --note "window" --yes
expect_rc 0 "pause --all --search"
assert_eq "nightly" "$(psql_q "SELECT string_agg(schedule_id, ',') FROM wf.schedules WHERE paused")" \
    "only the matching schedule paused"
run schedules pause --all --search night --note "window" --yes
expect_rc 0 "nothing left to pause"
assert_match 'no unpaused schedule matches' "$out" "says so"
run schedules resume nightly
expect_rc 0 "resume after the window"
run schedules trigger hourly --overlap allow_all
expect_rc 0 "trigger"
run schedules backfill hourly --from 2026-11-01T00:00 --to 2026-11-01T06:00
expect_rc 0 "backfill"
assert_eq "2" "$(psql_q "SELECT count(*) FROM wf.schedule_requests WHERE schedule_id = 'hourly'")" \
    "trigger and backfill requests written"
run schedules backfill hourly --from 2026-11-02 --to 2026-11-01
expect_rc 2 "a range that ends before it starts"
one_line "$err" "the refusal"
assert_no_match 'postgres at ' "$err" "a refusal of the input does not read like an outage"
assert_match 'refused by postgres' "$err" "it says who refused it"

# The audit list shows both stores' actions together, newest first.
redis_q HSET dlq:ev-a data '{"event_id":"ev-a","original_event":{},"failure_reason":"validation_failed","original_queue":"q"}' \
    status pending_review >/dev/null
redis_q ZADD dlq:index "$(date +%s)" ev-a >/dev/null
run dlq resolve ev-a --note "handled"
expect_rc 0 "a Redis action"
run audit list --json --limit 3
expect_rc 0 "audit list"
assert_eq "redis dlq.resolve" "$(jq_py 'd["items"][0].get("store", "postgres") + " " + d["items"][0]["action"]')" \
    "the newest entry is the Redis action"
total=$(psql_q "SELECT count(*) FROM wf.audit_log")
total=$((total + $(redis_q XLEN dlq:audit)))
seen=0
cursor=""
pages=0
while :; do
    if [ -n "$cursor" ]; then run audit list --json --limit 4 --after "$cursor"; else run audit list --json --limit 4; fi
    expect_rc 0 "audit page"
    seen=$((seen + $(jq_py 'len(d["items"])')))
    cursor=$(jq_py 'd["next_cursor"] or ""')
    pages=$((pages + 1))
    [ -n "$cursor" ] && [ "$pages" -lt 50 ] || break
done
assert_eq "$total" "$seen" "paging the merged audit list sees every entry once"

# 8 processes decide the same approval, round after round: one wins.
rounds=${PG_CLI_RACE_ROUNDS:-15}
i=10
wins_total=0
while [ "$i" -lt $((10 + rounds)) ]; do
    pids=""
    for p in 1 2 3 4 5 6 7 8; do
        "$OPSDECK" approve "apr-$i" --operator "op$p" >/dev/null 2>&1 &
        pids="$pids $!"
    done
    wins=0
    for job in $pids; do
        if wait "$job"; then wins=$((wins + 1)); fi
    done
    [ "$wins" -eq 1 ] || fail "round $i: $wins processes applied"
    wins_total=$((wins_total + 1))
    i=$((i + 1))
done
ok "exactly one of 8 processes applied in each of $rounds rounds"
assert_eq "$rounds" "$(psql_q "SELECT count(*) FROM wf.audit_log WHERE action = 'approve' AND outcome = 'ok'
    AND target_id IN (SELECT 'apr-' || g FROM generate_series(10, $((9 + rounds))) g)")" \
    "one audit 'ok' row per round"
finish
