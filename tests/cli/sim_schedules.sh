# The simulator's schedules: short intervals run on time; a pause with
# --until starts nothing until resume_at passes, then the engine resumes it
# itself (audited) and it runs again; a resume by hand restarts runs;
# trigger and backfill requests are consumed once, by their overlap
# policy, even while paused; and two engines at once never start the same
# due run twice.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

migrate
A=$TEST_TMP/a.log
B=$TEST_TMP/b.log
# --failures 0: no random failures, so runs end by themselves, in seconds.
"$OPSDECK" sim --name simA --seed 21 --rate 0.5 --failures 0 --duration 180s >"$A" 2>&1 &
sim_a=$!
sim_b=
trap 'kill $sim_a $sim_b 2>/dev/null' EXIT

# sched ID EXPR: one value of schedule ID's row.
sched()
{
    psql_q "SELECT $2 FROM wf.schedules WHERE schedule_id = '$1'"
}
# started ID: how many runs of schedule ID the first engine's log says started.
started()
{
    grep -c "schedule $1 run started (" "$A" || true
}
# due_runs LOG: how many runs the log says the spec started (not requests,
# not buffered ones).
due_runs()
{
    grep -c 'run started (exec-[0-9a-f]*, policy [a-z_]*\(, late by [0-9a-z]*\)\{0,1\})$' "$1" || true
}
# audit_at ID ACTION: when the newest ok audit row of ACTION on ID was written.
audit_at()
{
    psql_q "SELECT at FROM wf.audit_log WHERE target_id = '$1' AND action = '$2' AND outcome = 'ok'
            ORDER BY audit_id DESC LIMIT 1"
}
# still_for SECONDS WHAT CONDITION: CONDITION holds on every look for SECONDS.
still_for()
{
    _end=$(($(date +%s) + $1))
    while [ "$(date +%s)" -lt "$_end" ]; do
        eval "$3" >/dev/null 2>&1 || fail "$2"
        sleep 0.1
    done
    ok "$2"
}
# last_request: the newest request's id; consumed ID: whether it was consumed.
last_request()
{
    psql_q "SELECT max(request_id) FROM wf.schedule_requests"
}
consumed()
{
    [ "$(psql_q "SELECT consumed_at IS NOT NULL FROM wf.schedule_requests WHERE request_id = $1")" = t ]
}

wait_until 30 "the engine registers its schedules" \
    "[ \$(psql_q 'SELECT count(*) FROM wf.schedules WHERE next_run_at IS NOT NULL') -ge 12 ]"
assert_eq "allow_all buffer_all buffer_one cancel_other skip" \
    "$(psql_q "SELECT string_agg(DISTINCT overlap_policy, ' ' ORDER BY overlap_policy) FROM wf.schedules")" \
    "every overlap policy is covered"
assert_eq "t t" "$(psql_q "SELECT bool_or(interval_seconds BETWEEN 2 AND 10), bool_or(cardinality(cron_expressions) > 0)
    FROM wf.schedules" | tr '|' ' ')" "cron and short interval specs"

# ---- on time ----------------------------------------------------------------
wait_until 20 "heartbeat (every 2 s) runs" "[ \$(started heartbeat) -ge 4 ]"
runs="SELECT count(*) FROM wf.saga_executions WHERE context->>'schedule_id' = 'heartbeat'"
wait_until 10 "its runs are saved with their fire times" "[ \$(psql_q \"$runs\") -ge 4 ]"
assert_eq "t" "$(psql_q "SELECT max(created_at - (context->>'scheduled_for')::timestamptz) < interval '2 s'
    AND min(created_at - (context->>'scheduled_for')::timestamptz) > interval '-0.5 s'
    FROM wf.saga_executions WHERE context->>'schedule_id' = 'heartbeat'")" \
    "each run starts within 2 s of its fire time"
assert_eq "0" "$(psql_q "SELECT count(*) FROM wf.saga_executions WHERE context->>'schedule_id' = 'heartbeat'
    AND (extract(epoch FROM (context->>'scheduled_for')::timestamptz))::bigint % 2 <> 0")" \
    "fire times lie on the 2 s grid"
assert_eq "" "$(psql_q "SELECT context->>'scheduled_for' FROM wf.saga_executions
    WHERE context->>'schedule_id' = 'heartbeat' GROUP BY 1 HAVING count(*) > 1")" "no fire time runs twice"
assert_match '^(running|completed)\|exec-[0-9a-f]+\|t$' \
    "$(sched heartbeat "last_run_status, last_workflow_id, next_run_at > last_run_at")" \
    "the row records the last run and the next"

# ---- pause until a time: nothing runs, then the engine resumes it -------------
run schedules pause heartbeat --note "maintenance" --until 5s
expect_rc 0 "pause heartbeat for 5 s"
paused_at=$(audit_at heartbeat schedule.pause)
l0=$(sched heartbeat "last_run_at")
n0=$(started heartbeat)
# One look at both, so a resume between two looks cannot fool the check.
_end=$(($(date +%s) + 15))
while :; do
    s=$(sched heartbeat "paused, last_run_at")
    case $s in
    "t|$l0") ;;
    f\|*) break ;;
    *) fail "heartbeat ran while paused: [$s], last_run_at was [$l0]" ;;
    esac
    [ "$(date +%s)" -lt "$_end" ] || fail "heartbeat was not resumed within 15 s"
    sleep 0.1
done
ok "nothing ran while paused, and the pause ended by itself"
resumed_at=$(audit_at heartbeat schedule.resume)
[ -n "$resumed_at" ] || fail "no audit row for the automatic resume"
assert_eq "t|f" "$(psql_q "SELECT at >= (before->>'resume_at')::timestamptz, after->>'paused' FROM wf.audit_log
    WHERE target_id = 'heartbeat' AND action = 'schedule.resume' ORDER BY audit_id DESC LIMIT 1" |
    sed 's/false$/f/')" "resumed no earlier than resume_at; before and after recorded"
assert_match '^simA\|automatic: resume_at .*Z passed\|ok\|resumed schedule heartbeat automatically at its resume_at \(paused by tester at .*\)$' \
    "$(psql_q "SELECT operator || '|' || reason || '|' || outcome || '|' || detail FROM wf.audit_log
        WHERE target_id = 'heartbeat' AND action = 'schedule.resume' ORDER BY audit_id DESC LIMIT 1")" \
    "the resume is audited as the engine's, with the action an operator's resume has"
assert_eq "f|||" "$(sched heartbeat "paused, resume_at, paused_by, pause_note")" \
    "the row is active again, the pause fields cleared"
assert_match 'simA schedule heartbeat resumed automatically \(resume_at 20[0-9-]+T[0-9:]+Z\)' "$(cat "$A")" \
    "the log says so"
# The log agrees: no run started between the pause and the resume (a run
# claimed just before the pause may log a few ms after it).
iso="'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'"
from=$(psql_q "SELECT to_char(('$paused_at'::timestamptz + interval '0.3 s') AT TIME ZONE 'UTC', $iso)")
to=$(psql_q "SELECT to_char('$resumed_at'::timestamptz AT TIME ZONE 'UTC', $iso)")
assert_eq "0" "$(awk -v a="$from" -v b="$to" '$3 == "schedule" && $4 == "heartbeat" && $5 == "run" &&
    $6 == "started" && $1 > a && $1 < b' "$A" | wc -l)" "no run in the log while paused"
wait_until 10 "it runs again after the resume" \
    "[ \"\$(psql_q \"SELECT last_run_at > '$resumed_at' FROM wf.schedules WHERE schedule_id = 'heartbeat'\")\" = t ]"
[ "$(started heartbeat)" -gt "$n0" ] || fail "the log shows no run after the resume"
run schedules resume heartbeat
expect_rc 1 "resuming it again is refused"
assert_match 'resumed by simA' "$err" "naming the engine as who resumed it"

# ---- pause without a time: only a resume by hand restarts it -----------------
run schedules pause heartbeat --note "by hand"
expect_rc 0 "pause heartbeat until further notice"
l1=$(sched heartbeat last_run_at)
still_for 3 "nothing runs while paused without resume_at" \
    "[ \"\$(sched heartbeat 'paused, last_run_at')\" = \"t|$l1\" ]"
run schedules resume heartbeat --note "done"
expect_rc 0 "resume by hand"
resumed_at=$(audit_at heartbeat schedule.resume)
assert_eq "tester" "$(psql_q "SELECT operator FROM wf.audit_log WHERE action = 'schedule.resume'
    AND target_id = 'heartbeat' ORDER BY audit_id DESC LIMIT 1")" "audited as the operator's"
wait_until 10 "a resume by hand restarts runs" \
    "[ \"\$(psql_q \"SELECT last_run_at > '$resumed_at' FROM wf.schedules WHERE schedule_id = 'heartbeat'\")\" = t ]"

# ---- trigger: runs now, even while paused -------------------------------------
run schedules pause daily-report --note "quiet period"
expect_rc 0 "pause daily-report"
run schedules trigger daily-report --overlap allow_all
expect_rc 0 "trigger it anyway"
req=$(last_request)
wait_until 10 "the trigger request is consumed" "consumed $req"
assert_match "simA schedule daily-report run started \(exec-[0-9a-f]+, policy allow_all, trigger request $req\)" \
    "$(cat "$A")" "the log shows the triggered run"
assert_match "simA schedule daily-report trigger request $req consumed: 1 run \(policy allow_all, while paused\)" \
    "$(cat "$A")" "and the consumption"
wait_until 10 "the triggered run is saved" "[ \$(psql_q \"SELECT count(*) FROM wf.saga_executions
    WHERE context->>'schedule_id' = 'daily-report'\") -eq 1 ]"
assert_match "^t\|(running|completed)\|$req\$" "$(sched daily-report "paused, last_run_status,
    (SELECT context->>'schedule_request_id' FROM wf.saga_executions WHERE execution_id = last_workflow_id)")" \
    "the run is recorded, the schedule still paused"

# ---- backfill: one run per fire time, both ends included ----------------------
run schedules backfill minutely-cleanup --from 2026-01-01T00:00 --to 2026-01-01T00:09 --overlap allow_all
expect_rc 0 "backfill ten minutes of a cron schedule"
req=$(last_request)
wait_until 10 "the backfill request is consumed" "consumed $req"
assert_match "simA schedule minutely-cleanup backfill request $req consumed: 10 runs \(policy allow_all\)" \
    "$(cat "$A")" "the log counts ten runs"
assert_eq "00 01 02 03 04 05 06 07 08 09" \
    "$(sed -n "s/.*minutely-cleanup run started (exec-[0-9a-f]*, policy allow_all, backfill request $req for 2026-01-01T00:\([0-9]*\):00Z)$/\1/p" "$A" | tr '\n' ' ' | sed 's/ $//')" \
    "one run per minute of the range"
backfilled="SELECT count(*) FROM wf.saga_executions WHERE context->>'schedule_id' = 'minutely-cleanup'
    AND (context->>'scheduled_for')::timestamptz BETWEEN '2026-01-01T00:00Z' AND '2026-01-01T00:09Z'"
wait_until 10 "the ten runs are saved" "[ \$(psql_q \"$backfilled\") -eq 10 ]"

run schedules backfill hourly-sync --from 2026-01-01 --to 2026-01-11 --overlap allow_all
expect_rc 0 "backfill 241 hours"
req=$(last_request)
wait_until 10 "the long backfill is consumed" "consumed $req"
assert_match "schedule hourly-sync backfill request $req consumed: 100 runs \(policy allow_all\); capped at 100 fire times, not run from 2026-01-05T04:00:00Z on" \
    "$(cat "$A")" "a backfill is capped, and the log says where"

# The policy applies to a backfill too: buffer_one starts one, keeps one,
# skips the rest; the kept one waits while the schedule is paused.
run schedules pause monthly-billing --note "audit"
expect_rc 0 "pause monthly-billing"
run schedules backfill monthly-billing --from 2026-01-01 --to 2026-04-01 --overlap buffer_one
expect_rc 0 "backfill four months with buffer_one"
req=$(last_request)
wait_until 10 "it is consumed" "consumed $req"
assert_match "schedule monthly-billing backfill request $req consumed: 1 run, 2 skipped, 1 buffered \(policy buffer_one, while paused\)" \
    "$(cat "$A")" "one run, one buffered, two skipped"
wait_until 30 "the first run ends" "[ \"\$(sched monthly-billing running_count)\" = 0 ]"
still_for 1 "the buffered run waits while the schedule is paused" \
    "! grep -q 'schedule monthly-billing run started (.*buffered)' \"$A\""
run schedules resume monthly-billing
expect_rc 0 "resume monthly-billing"
wait_until 10 "the buffered run starts once resumed" \
    "grep -q 'schedule monthly-billing run started (exec-[0-9a-f]*, policy buffer_one, buffered)' \"$A\""

# ---- two engines -----------------------------------------------------------------
a0=$(due_runs "$A")
"$OPSDECK" sim --name simB --seed 22 --rate 0.5 --failures 0 --duration 180s >"$B" 2>&1 &
sim_b=$!
wait_until 30 "the second engine starts due runs too" "[ \$(due_runs \"$B\") -ge 4 ]"
run schedules trigger search-reindex --overlap allow_all
expect_rc 0 "trigger while two engines run"
req=$(last_request)
wait_until 10 "the request is consumed" "consumed $req"
assert_eq "1" "$(cat "$A" "$B" | grep -c "trigger request $req consumed")" "by exactly one engine"
# Stampedes: every interval schedule falls due at the same instant (as
# after an outage) and a notification wakes both engines at once, so both
# reach for the same rows together; each row goes to one of them.
due_now="SELECT count(*) FROM wf.schedules WHERE NOT paused AND interval_seconds IS NOT NULL AND next_run_at <= now()"
for i in 1 2 3 4 5 6; do
    psql_q "UPDATE wf.schedules SET next_run_at = now() WHERE NOT paused AND interval_seconds IS NOT NULL;
            SELECT pg_notify('wf_schedule_requests', '{}')" >/dev/null
    wait_until 10 "stampede $i: every due schedule is taken" "[ \$(psql_q \"$due_now\") -eq 0 ]"
done
wait_until 60 "both engines keep starting due runs side by side" \
    "[ \$(due_runs \"$B\") -ge 12 ] && [ \$((\$(due_runs \"$A\") - a0)) -ge 12 ]"
kill -TERM "$sim_a" "$sim_b"
rc_a=0 rc_b=0
wait "$sim_a" || rc_a=$?
wait "$sim_b" || rc_b=$?
sim_b=
assert_eq "0 0" "$rc_a $rc_b" "both engines stop cleanly"
# Each run is logged once, by one engine, and is one execution in the store
# naming its schedule; no fire time of a schedule ran twice.
cat "$A" "$B" | sed -n 's/^[^ ]* \(sim[AB]\) schedule \([^ ]*\) run started (\(exec-[0-9a-f]*\),.*/\2 \3/p' |
    sort >"$TEST_TMP/logged"
assert_eq "0" "$(cut -d' ' -f2 "$TEST_TMP/logged" | sort | uniq -d | wc -l)" "no run id is logged twice"
psql_q "SELECT context->>'schedule_id' || ' ' || execution_id FROM wf.saga_executions
    WHERE context ? 'schedule_id' ORDER BY 1" | sort >"$TEST_TMP/stored"
assert_eq "$(cat "$TEST_TMP/logged")" "$(cat "$TEST_TMP/stored")" \
    "the runs the logs started are exactly the executions the store holds"
assert_eq "" "$(psql_q "SELECT context->>'schedule_id', context->>'scheduled_for' FROM wf.saga_executions
    WHERE context ? 'schedule_id' AND NOT context ? 'schedule_request_id' GROUP BY 1, 2 HAVING count(*) > 1")" \
    "no fire time of any schedule started twice"
assert_eq "" "$(psql_q "SELECT s.schedule_id || ': ' || s.running_count || ' vs ' || count(e.execution_id)
    FROM wf.schedules s LEFT JOIN wf.saga_executions e ON e.context->>'schedule_id' = s.schedule_id
    AND e.status IN ('pending', 'running', 'compensating')
    GROUP BY s.schedule_id, s.running_count HAVING s.running_count <> count(e.execution_id)")" \
    "running_count is the number of runs not yet ended, for every schedule"
finish
