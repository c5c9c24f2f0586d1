# Acting from the console (tui/act.c, tui/dialog.c) against pinned rows:
# approve and reject through their dialogs reach PostgreSQL with audit rows
# (an empty reason is refused in the dialog, Esc cancels); a decision race
# with the CLI shows the loser's refusal; w follows a workflow id around
# the ring sagas -> approvals -> DLQ -> sagas; a replay of marked events
# reaches the route list once each; a bulk replay of 40 at rate 10 killed
# halfway (SIGKILL) resumes from its job and sends no event twice; a
# maintenance window (two schedules paused with one note and a resume
# time) ends by itself under the simulator's engine; backfill and an ISO
# resume time through their dialogs; --read-only hides and refuses every
# action key and changes neither store. Sections carry the brief's numbers.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

ROUTES="orders.events=list:orders.replayed,bulk.events=list:bulk.replayed"
export OPSDECK_ROUTE="$ROUTES"
GEOM=100x30
MSG=29  # the message line
HINT=28 # the hint bar

# poll_msg REGEX [SECONDS]: polls the message line until it matches;
# $m: the last message read.
poll_msg()
{
    _d=$(($(_ms) + $(awk "BEGIN{print int(${2:-10} * 1000)}")))
    while :; do
        m=$(screen_line "$MSG")
        printf '%s\n' "$m" | grep -Eq -- "$1" && return 0
        [ "$(_ms)" -lt "$_d" ] || return 1
        sleep 0.05
    done
}
# wait_msg REGEX [SECONDS [WHAT]]: poll_msg, and a check.
wait_msg()
{
    if poll_msg "$1" "${2:-10}"; then
        ok "${3:-the message line shows /$1/}: [$m]"
        return 0
    fi
    printf 'FAIL: %s: message line [%s] does not match /%s/\n--- screen ---\n%s\n' \
        "${3:-message}" "$m" "$1" "$(screen)" >&2
    exit 1
}
# show VIEW FILTER ROWS: `:VIEW FILTER` and wait for its status line.
show()
{
    keys :
    keys -l "$1 $2"
    keys Enter
    wait_screen "^$3 rows? · filter: $2" 10 ":$1 $2 lists $3"
}
apr()
{
    psql_q "SELECT status || '|' || coalesce(decided_by, '') || '|' || coalesce(decision_note, '')
            FROM wf.approvals WHERE approval_id = '$1'"
}
audit_rows()
{
    psql_q "SELECT action || '|' || outcome || '|' || coalesce(reason, '') FROM wf.audit_log
            WHERE target_id = '$1' ORDER BY audit_id"
}
# dlq_event ID SOURCE QUEUE SCORE [EXTRA-JSON]
dlq_event()
{
    printf 'HSET dlq:%s data "{\\"event_id\\": \\"%s\\", \\"original_event\\": {\\"order_id\\": \\"%s\\"%s}, \\"failure_reason\\": \\"validation_failed\\", \\"error_message\\": \\"bad %s\\", \\"retry_count\\": 1, \\"first_failure_time\\": \\"2026-11-23 17:52:16\\", \\"last_failure_time\\": \\"2026-11-23 17:52:16\\", \\"source_service\\": \\"%s\\", \\"target_service\\": \\"ledger\\", \\"original_queue\\": \\"%s\\", \\"stack_trace\\": null, \\"context\\": {}}" created_at 2026-11-23T17:52:16 status pending_review\n' \
        "$1" "$1" "$1" "${5:-}" "$1" "$2" "$3"
    printf 'ZADD dlq:index %d %s\n' "$4" "$1"
}
# verb_of VIEW KEY: the verb an action key runs.
verb_of()
{
    case $1:$2 in
    approvals:a) echo approve ;;
    approvals:x) echo reject ;;
    sagas:A) echo 'sagas abort' ;;
    sagas:R) echo 'sagas retry-step' ;;
    dlq:R) echo 'dlq replay' ;;
    dlq:v) echo 'dlq resolve' ;;
    dlq:D) echo 'dlq delete' ;;
    schedules:p) echo 'schedules pause' ;;
    schedules:u) echo 'schedules resume' ;;
    schedules:t) echo 'schedules trigger' ;;
    schedules:b) echo 'schedules backfill' ;;
    circuits:Z) echo 'circuits reset' ;;
    circuits:O) echo 'circuits force-open' ;;
    circuits:L) echo 'circuits release' ;;
    esac
}
# snapshot: every row opsdeck's actions could touch, in both stores.
snapshot()
{
    psql_q "SELECT (SELECT json_agg(x ORDER BY approval_id) FROM wf.approvals x),
                   (SELECT json_agg(x ORDER BY execution_id) FROM wf.saga_executions x),
                   (SELECT json_agg(x ORDER BY schedule_id) FROM wf.schedules x),
                   (SELECT count(*) FROM wf.signals), (SELECT count(*) FROM wf.schedule_requests),
                   (SELECT count(*) FROM wf.audit_log)"
    for k in $(redis_q --scan | sort); do
        case $(redis_q TYPE "$k") in
        hash) printf '%s %s\n' "$k" "$(redis_q HGETALL "$k" | paste -sd' ')" ;;
        list) printf '%s %s\n' "$k" "$(redis_q LRANGE "$k" 0 -1 | paste -sd' ')" ;;
        zset) printf '%s %s\n' "$k" "$(redis_q ZRANGE "$k" 0 -1 WITHSCORES | paste -sd' ')" ;;
        set) printf '%s %s\n' "$k" "$(redis_q SMEMBERS "$k" | sort | paste -sd' ')" ;;
        stream) printf '%s %s\n' "$k" "$(redis_q XLEN "$k")" ;;
        *) printf '%s %s\n' "$k" "$(redis_q GET "$k")" ;;
        esac
    done
}

migrate
psql_q "
INSERT INTO wf.approvals (approval_id, workflow_id, step_id, title, request_data, requested_by,
    assignee_group, requested_at, due_at, status)
SELECT 'apr-' || n, CASE n WHEN 'link' THEN 'exec-link-1' ELSE 'wf-' || n END, 'approve',
       'Refund ' || n, '{}', 'engine', 'finance', now(), now() + interval '1 hour', 'pending'
FROM unnest(ARRAY['ok', 'no', 'esc', 'race', 'link']) n;
SELECT wf.save_saga(jsonb_build_object('execution_id', e, 'saga_id', 'refund-flow',
    'status', CASE e WHEN 'exec-link-1' THEN 'running' ELSE 'failed' END,
    'context', jsonb_build_object('trace_id', 'tr-' || e), 'started_at', now(), 'completed_at', NULL,
    'error', NULL, 'steps', jsonb_build_array(jsonb_build_object('step_id', 'charge',
        'name', 'Charge card', 'status', CASE e WHEN 'exec-link-1' THEN 'running' ELSE 'failed' END,
        'result', NULL, 'error', NULL, 'started_at', now(), 'completed_at', NULL, 'retry_count', 0))))
FROM unnest(ARRAY['exec-link-1', 'exec-other-2']) e;
INSERT INTO wf.schedules (schedule_id, workflow_type, cron_expressions, overlap_policy, next_run_at)
VALUES ('maint-a', 'report', ARRAY['0 3 * * *'], 'skip', now() + interval '5 hours'),
       ('maint-b', 'sync', ARRAY['0 4 * * *'], 'skip', now() + interval '6 hours'),
       ('iso-sched', 'report', ARRAY['0 * * * *'], 'skip', now() + interval '1 hour');
" >/dev/null || fail "pinned PostgreSQL rows"
now=$(date +%s)
{
    for i in 1 2 3; do dlq_event "three-$i" three-svc orders.events $((now - 3000 + i)); done
    i=1
    while [ "$i" -le 40 ]; do
        dlq_event "$(printf 'bulk-%02d' "$i")" bulk-svc bulk.events $((now - 2000 + i))
        i=$((i + 1))
    done
    dlq_event link-evt link-svc orders.events $((now - 1000)) ', \"workflow_id\": \"exec-link-1\"'
} | redis_q >/dev/null
assert_eq 44 "$(redis_q ZCARD dlq:index)" "44 DLQ events pinned"
redis_q HSET circuit_breakers:pay-api state open failure_count 9 success_count 0 call_count 100 \
    total_failures 40 failure_rate 0.4 config '{"failure_threshold": 5, "recovery_timeout": 30}' >/dev/null
redis_q SADD circuit_breakers:index pay-api >/dev/null

console_start "$GEOM" OPSDECK_ROUTE="$ROUTES"

# ---- 1. approve with a note, reject with a reason, refusals, Esc -----------
keys 3
wait_screen '^ DUE +STATUS +TITLE' 10 "the Approvals"
assert_match '^ a approve +x reject ' "$(screen_line $HINT)" "the hint bar starts with the view's actions"
keys "?"
wait_screen '^ *Keys in Approvals' 5 "? opens the help"
help_find '^ *Actions \(' || fail "help lists no actions: $(screen)"
ok "help lists the actions"
help_find 'x, :reject +Reject: opsdeck reject \(marked rows too\)' || fail "help does not name reject's verb: $(screen)"
assert_match 'a, :approve +Approve: opsdeck approve \(marked rows too\)' "$(screen)" "help names each action's verb"
keys Escape
wait_screen '^ DUE +STATUS +TITLE' 5 "help closed"

show approvals apr-ok 1
keys a
wait_screen 'Approve apr-ok "Refund ok"' 5 "a opens the approve dialog"
assert_match 'Runs as: opsdeck approve, audited as tester' "$(screen)" "the dialog names the verb and operator"
keys -l 'looks fine'
keys Enter
wait_msg '^approved approval apr-ok$' 10 "the verb's own line on the message line"
assert_eq "approved|tester|looks fine" "$(apr apr-ok)" "apr-ok approved in PostgreSQL with the note"
assert_match '^[a-z._]*approve\|ok\|looks fine$' "$(audit_rows apr-ok)" "one audit row: approve, ok, the note"
assert_eq 1 "$(psql_q "SELECT count(*) FROM wf.signals WHERE workflow_id = 'wf-ok' AND name = 'approve'")" \
    "the workflow got its signal"

show approvals apr-no 1
keys x
wait_screen 'Reject apr-no "Refund no"' 5 "x opens the reject dialog"
keys Enter
wait_screen 'Reason \(required\): needed' 5 "Enter with an empty reason is refused in the dialog"
assert_match 'Reject apr-no' "$(screen)" "the dialog stays open"
assert_eq "pending||" "$(apr apr-no)" "nothing decided"
assert_eq "" "$(audit_rows apr-no)" "nothing audited"
keys -l '   '
keys Enter
wait_screen 'Reason \(required\): needed' 5 "a blank reason is refused too"
keys C-u
keys -l 'too risky'
keys Enter
wait_msg '^rejected approval apr-no$' 10 "the rejection's line"
assert_eq "rejected|tester|too risky" "$(apr apr-no)" "apr-no rejected with the reason"
assert_match '^[a-z._]*reject\|ok\|too risky$' "$(audit_rows apr-no)" "one audit row: reject, ok, the reason"

show approvals apr-esc 1
keys x
wait_screen 'Reject apr-esc' 5 "the reject dialog again"
keys -l 'changed my mind'
keys Escape
wait_msg '^cancelled; nothing changed$' 5 "Esc cancels"
wait_screen_gone 'Reject apr-esc' 2 "the dialog is closed"
assert_eq "pending||" "$(apr apr-esc)" "nothing decided"
assert_eq "" "$(audit_rows apr-esc)" "nothing audited"
assert_eq 0 "$(psql_q "SELECT count(*) FROM wf.signals WHERE workflow_id = 'wf-esc'")" "no signal"

# ---- 2. a race with the CLI: the console's approve loses -------------------
show approvals apr-race 1
keys a
wait_screen 'Approve apr-race' 5 "the approve dialog is open"
run approve apr-race --note cli
expect_rc 0 "the CLI approves first"
keys Enter
wait_msg 'apr-race was already approved by tester at .*; nothing changed' 10 \
    "the console's approve is refused, naming who decided first"
assert_eq "approved|tester|cli" "$(apr apr-race)" "the CLI's decision stands"
assert_eq 1 "$(psql_q "SELECT count(*) FROM wf.audit_log WHERE target_id = 'apr-race' AND outcome = 'ok'")" \
    "one ok audit row"
assert_eq 1 "$(psql_q "SELECT count(*) FROM wf.signals WHERE workflow_id = 'wf-race'")" "one signal"

# ---- 7. w: saga -> approvals -> DLQ -> sagas --------------------------------
show approvals apr-link 1
keys w
wait_msg '^dlq sharing exec-link-1' 5 "w on an approval goes to the DLQ events of its workflow"
wait_screen '^1 row · filter: "?exec-link-1"?$' 5 "the DLQ filtered by the workflow id"
wait_screen 'link-evt' 5 "the event is listed"
keys w
if poll_msg '^sagas sharing exec-link-1' 1; then
    ok "w on the event's row goes on to the sagas: [$m]"
else
    # the list row has no workflow id; its detail does
    ok "w on the event's row asks for its detail: [$m]"
    keys Enter
    wait_screen 'event_id: link-evt' 5 "the event's detail"
    keys w
    wait_msg '^sagas sharing exec-link-1' 5 "w from the event's detail goes on to the sagas"
fi
wait_screen '^ [0-9-]+ [0-9:]+ +running +refund-flow +.* exec-link-1' 5 "the saga row is shown"
assert_no_match 'exec-other-2' "$(screen)" "and only it"
keys w
wait_msg '^approvals sharing exec-link-1' 5 "w on the saga goes to its approvals"
wait_screen 'apr-link' 5 "the approval is listed"

# ---- 3. replay of 3 marked events ------------------------------------------
keys 4
if poll_screen '^ *event_id: link-evt' 2; then
    keys Escape # the detail w left open
fi
wait_screen '^ FAILED +REASON +STATUS' 5 "the DLQ list"
show dlq source=three-svc 3
keys Space Space Space
i=0
until [ "$(screen | grep -c '^\*.*three-[123]')" = 3 ]; do
    i=$((i + 1))
    [ "$i" -lt 60 ] || fail "Space did not mark the three rows: $(screen)"
    sleep 0.05
done
ok "Space marked the three rows"
keys R
wait_screen 'Replay 3 marked' 5 "R opens the replay dialog"
s=$(screen)
assert_match '3 to orders\.events via list:orders\.replayed' "$s" "it says where the events go"
assert_match 'Rate \(events/s\) +< 20 >' "$s" "rate 20 by default for several events"
assert_no_match 'to confirm' "$s" "no typed confirmation under 10 items"
keys Enter
wait_until 10 "three events reached the route list" '[ "$(redis_q LLEN orders.replayed)" = 3 ]'
wait_msg 'replayed' 10 "the replay's line"
assert_eq "three-1 three-2 three-3" \
    "$(redis_q LRANGE orders.replayed 0 -1 | sed 's/.*"order_id":"\([^"]*\)".*/\1/' | sort | paste -sd' ')" \
    "each exactly once"
assert_eq "retried retried retried" \
    "$(for i in 1 2 3; do redis_q HGET "dlq:three-$i" status; done | paste -sd' ')" "their status is retried"
wait_until 3 "the marks are cleared" '! screen | grep -q "^\*"'

show dlq source=link-svc 1
keys R
wait_screen 'Replay link-evt' 5 "R on one event"
assert_match 'Rate \(events/s\) +< no limit >' "$(screen)" "no rate limit by default for one event"
keys Escape
wait_msg '^cancelled; nothing changed$' 5 "Esc cancels the replay"
assert_eq "pending_review" "$(redis_q HGET dlq:link-evt status)" "the event is not replayed"

# ---- 4. a bulk replay of 40 at rate 10, killed halfway, resumed ------------
# --rate 10 sends chunks of 10 a second apart: the first at once, the last
# 3 s later; the console is killed once the bar shows the job's progress.
show dlq source=bulk-svc 40
keys '*'
wait_msg '^40 marked' 5 "* marks the page"
wait_until 3 "every row is drawn marked" '[ "$(screen | grep -c "^\*.*bulk-[0-4][0-9]")" -ge 20 ]'
keys Escape
wait_msg '^40 marks cleared' 5 "Esc clears the marks"
wait_until 3 "no row is drawn marked" '! screen | grep -q "^\*"'
assert_match '^40 rows · filter: source=bulk-svc' "$(screen_line 2)" "and keeps the filter"
keys '*'
wait_msg '^40 marked' 5 "* marks the page again"
keys R
wait_screen 'Replay 40 marked' 5 "the replay dialog"
assert_match '40 to bulk\.events via list:bulk\.replayed' "$(screen)" "40 events to the bulk route"
keys Left
wait_screen 'Rate \(events/s\) +< 10 >' 2 "Left chooses rate 10"
keys Enter
wait_screen 'Type replay to confirm 40 items: needed' 5 "40 items need the typed word"
keys -l 'replya'
keys Enter
wait_screen 'type replay to confirm' 5 "a wrong word is refused"
keys C-u
keys -l replay
keys Enter
wait_msg 'replay \[[#.]{20}\] [0-9]+/40 ' 5 "the progress bar"
# one loop, so the kill follows the bar at once
d=$(($(_ms) + 10000))
until poll_msg 'replay \[#+\.+\] [1-9][0-9]*/40 +[0-9]+/s +ETA [0-9]' 0 &&
    [ "$(redis_q LLEN bulk.replayed)" -ge 10 ]; do
    [ "$(_ms)" -lt "$d" ] || fail "the bar does not fill within 10 s: [$m]"
    sleep 0.05
done
kill -KILL "$(console_pid)"
ok "the bar fills from the job's own counts: [$m]"
wait_until 5 "the console is killed" '[ -f "$TEST_TMP/console.rc" ]'
sent=$(redis_q LLEN bulk.replayed)
[ "$sent" -lt 40 ] || fail "the console was not killed halfway ($sent of 40 sent)"
ok "killed halfway: $sent of 40 sent"
job=
for k in $(redis_q KEYS 'dlq:replay:*'); do
    [ "$(redis_q HGET "$k" total)" = 40 ] && job=$k
done
[ -n "$job" ] || fail "no job hash of 40 events among [$(redis_q KEYS 'dlq:replay:*' | paste -sd' ')]"
ok "the job hash: $job"
assert_no_match '^completed$' "$(redis_q HGET "$job" status)" "the job is not completed"
assert_eq "$sent" "$(redis_q HGET "$job" done)" "its done count is what reached the list"

console_stop
console_start "$GEOM" OPSDECK_ROUTE="$ROUTES"
keys 4
show dlq source=bulk-svc 40
keys '*'
wait_msg '^40 marked' 5 "the same 40 events marked again"
keys R
wait_screen 'Replay 40 marked' 5 "the replay dialog again"
assert_match "$sent not pending review" "$(screen)" "it says how many were already replayed"
wait_screen "Asked before: $sent of 40 already sent by its job; only the rest go\\." 5 \
    "it says what the stopped job already sent"
keys Left Left
wait_screen 'Rate \(events/s\) +< no limit >' 2 "no limit this time"
keys Tab
keys -l replay
keys Enter
wait_until 15 "every event reached the list" '[ "$(redis_q LLEN bulk.replayed)" -ge 40 ]'
wait_until 10 "the job is completed" '[ "$(redis_q HGET "$job" status)" = completed ]'
wait_msg 'replayed on list:bulk\.replayed' 5 "the resumed replay's line"
assert_eq 40 "$(redis_q LLEN bulk.replayed)" "40 deliveries in total"
assert_eq 40 "$(redis_q LRANGE bulk.replayed 0 -1 | sort -u | wc -l | tr -d ' ')" "no event delivered twice"
assert_eq "40|40" "$(redis_q HGET "$job" done)|$(redis_q HGET "$job" total)" "the job counts 40 of 40"
assert_eq 40 "$(for i in $(seq -w 1 40); do redis_q HGET "dlq:bulk-$i" status; done | grep -cx retried)" \
    "all 40 are retried"

# ---- 5a. a maintenance window: two schedules, one note, a resume time ------
keys 5
show schedules maint 2
keys '*'
wait_msg '^2 marked' 5 "both schedules marked"
keys p
wait_screen 'Pause 2 marked' 5 "p opens the pause dialog"
assert_match 'maintenance window' "$(screen)" "it says it is a maintenance window"
keys -l 'db upgrade'
keys Tab
keys -l '+3s'
keys Enter
wait_until 10 "both schedules paused" \
    '[ "$(psql_q "SELECT count(*) FROM wf.schedules WHERE paused AND schedule_id LIKE '"'maint-%'"'")" = 2 ]'
wait_msg 'paused' 5 "the pause's line"
assert_eq "db upgrade|tester|true
db upgrade|tester|true" "$(psql_q "SELECT pause_note || '|' || paused_by || '|' || (resume_at > now() - interval '10 s'
    AND resume_at < now() + interval '10 s') FROM wf.schedules WHERE schedule_id LIKE 'maint-%' ORDER BY 1")" \
    "the same note, the operator, resume_at about 3 s on"

# ---- 8. backfill with durations ago; pause until an ISO time ---------------
show schedules iso-sched 1
keys b
wait_screen 'Backfill iso-sched' 5 "b opens the backfill dialog"
assert_match 'From \(ISO 8601, or a duration ago: 6h\)' "$(screen)" "From takes a duration ago"
keys -l 6h
keys Tab
keys -l 0s
keys Enter
poll_msg '^backfill|range|refused|nothing changed|:' 10 || fail "no outcome for the backfill: [$m]"
if psql_q "SELECT range_start FROM wf.schedule_requests WHERE schedule_id = 'iso-sched'" | grep -q .; then
    assert_eq t "$(psql_q "SELECT range_start BETWEEN now() - interval '6 h 1 min' AND now() - interval '5 h 59 min'
        FROM wf.schedule_requests WHERE schedule_id = 'iso-sched'")" "backfill from 6h ago"
else
    bug "backfill dialog: From '6h' (labelled 'a duration ago') is passed to the verb as 6h from now; the backfill is refused: [$m]"
fi
keys p
wait_screen 'Pause iso-sched' 5 "p on one schedule"
keys -l 'until new year'
keys Down
keys -l '2099-01-01T06:00Z'
keys Enter
wait_msg '^paused schedule iso-sched until 2099-01-01 06:00Z' 10 "pause until an ISO time"
assert_eq "2099-01-01 06:00:00+00|until new year" \
    "$(psql_q "SELECT resume_at || '|' || pause_note FROM wf.schedules WHERE schedule_id = 'iso-sched'")" \
    "resume_at is that time"
console_stop

# ---- 6. --read-only: no action keys, every one refused, nothing changed ----
before=$(snapshot)
console_start "$GEOM" OPSDECK_ROUTE="$ROUTES" -- --read-only
assert_match 'read-only' "$(screen_line 0)" "the header says read-only"
actions='(^| )(a approve|x reject|A abort|R retry-step|R replay|v resolve|D delete|p pause|u resume|t trigger|b backfill|Z reset|O force-open|L release)( |$)'
for view in 2:sagas:A:R 3:approvals:a:x 4:dlq:R:v:D 5:schedules:p:u:t:b 6:circuits:Z:O:L; do
    n=${view%%:*}
    rest=${view#*:}
    name=${rest%%:*}
    own=${rest#*:}
    keys "$n"
    wait_until 5 "$name: a row is listed" '[ -n "$(selected)" ]'
    assert_no_match "$actions" "$(screen_line $HINT)" "$name: no action keys on the hint bar"
    keys "?"
    wait_screen '^ *Keys in ' 5 "$name: help"
    help_find 'Keys that change a store are off: read-only mode \(flag --read-only\)' || fail "$name: help does not say the action keys are off: $(screen)"
    ok "$name: help says the action keys are off"
    assert_no_match ': opsdeck (approve|reject|sagas|dlq (replay|resolve|delete)|schedules|circuits)' \
        "$(screen)" "$name: help lists no action that changes a store"
    keys Escape
    wait_screen_gone '^ *Keys in ' 5 "$name: help closed"
    for k in a x A R v D p u t b Z O L; do
        keys "$k"
        case ":$own:" in
        *":$k:"*)
            wait_msg "^read-only mode \(flag --read-only\): '$(verb_of "$name" "$k")' would change the store; nothing changed\$" 3 \
                "$name: $k is refused, naming read-only mode"
            assert_no_match 'Runs as:' "$(screen)" "$name: $k opens no dialog"
            ;;
        *)
            wait_msg "'$k' does nothing here" 3 "$name: $k is not a key here"
            ;;
        esac
    done
done
keys 4
wait_until 5 "dlq: a row is listed" '[ -n "$(selected)" ]'
assert_match '(^| )E export( |$)' "$(screen_line $HINT)" "read-only: export stays (it only reads)"
keys E
wait_screen 'Export the DLQ as JSON lines' 5 "read-only: E opens the export dialog"
keys Escape
wait_msg '^cancelled; nothing changed' 3 "Esc cancels it"
keys 2
wait_until 5 "sagas listed" '[ -n "$(selected)" ]'
keys Enter
wait_screen 'execution_id:' 5 "a saga's detail"
keys R
wait_msg "read-only mode .*'sagas retry-step' would change the store" 3 "retry-step from a detail is refused too"
console_stop
after=$(snapshot)
if [ "$before" = "$after" ]; then
    ok "read-only: both stores unchanged"
else
    diff_txt=$(printf '%s\n' "$before" >"$TEST_TMP/b"; printf '%s\n' "$after" >"$TEST_TMP/a"; diff "$TEST_TMP/b" "$TEST_TMP/a" | head -5)
    fail "read-only changed the stores: $diff_txt"
fi

# ---- 5b. the engine ends the maintenance window -----------------------------
"$OPSDECK" sim --duration 8s --failures 0 --seed 1 >"$TEST_TMP/sim.log" 2>&1 &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null' EXIT
wait_until 20 "the engine resumed both schedules" \
    '[ "$(psql_q "SELECT count(*) FROM wf.schedules WHERE NOT paused AND resume_at IS NULL AND schedule_id LIKE '"'maint-%'"'")" = 2 ]'
assert_eq "maint-a|ok
maint-b|ok" "$(psql_q "SELECT target_id || '|' || outcome FROM wf.audit_log WHERE action = 'schedule.resume'
    AND reason LIKE 'automatic%' AND target_id LIKE 'maint-%' ORDER BY target_id")" \
    "an automatic resume row in the audit log for each"
kill "$sim_pid" 2>/dev/null
wait "$sim_pid" 2>/dev/null
trap - EXIT

# ---- 9. filter-wide: everything a filter matches, counted by the store first --
now=$(date +%s)
{
    for i in $(seq 1 12); do
        dlq_event "$(printf 'wide-%02d' "$i")" wide-svc orders.events $((now - 500 + i))
    done
} | redis_q >/dev/null
redis_q HSET dlq:wide-12 status resolved >/dev/null # replay --all leaves it alone
before=$(redis_q LLEN orders.replayed)
console_start "$GEOM" OPSDECK_ROUTE="$ROUTES"
keys 4
show dlq source=wide-svc 12
keys '*'
wait_msg '^12 marked; \* again marks every row the filter matches' 5 "* marks the rows at hand"
keys '*'
wait_msg '^every row the filter matches is marked' 5 "* again marks every row the filter matches"
assert_match '^12 rows · filter: source=wide-svc · all matching marked' "$(screen_line 2)" \
    "the status line says so"
keys v
wait_msg "^'dlq resolve' acts on marked rows, not on every row the filter matches" 3 \
    "a verb without --all refuses it"
keys R
wait_screen 'Replay all 11 the filter matches \(DLQ\)' 10 "R counts with the store, then asks"
assert_match '11 to orders\.events via list:orders\.replayed' "$(screen)" "the route of each"
assert_match 'rows that match later are left alone' "$(screen)" "and what it leaves alone"
assert_eq "$before" "$(redis_q LLEN orders.replayed)" "counting sent nothing"
keys Enter
wait_screen 'Type replay to confirm 11 items: needed' 5 "11 items need the typed word"
keys -l replay
keys Enter
wait_until 10 "the 11 reach the route" '[ "$(redis_q LLEN orders.replayed)" = $((before + 11)) ]'
assert_eq resolved "$(redis_q HGET dlq:wide-12 status)" "the resolved one stays resolved"
wait_msg 'replayed|11' 10 "the replay's line"
wait_until 5 "the marks are gone" '! screen_line 2 | grep -q "all matching marked"'

# E: an export of the view's filter to a file, masked and private
keys E
wait_screen 'Export the DLQ as JSON lines' 5 "E opens the export dialog"
assert_match 'Every event the filter matches \(source=wide-svc\)' "$(screen)" "of the view's filter"
assert_match 'opsdeck-dlq-[0-9]{8}-[0-9]{6}\.jsonl' "$(screen)" "a file named for the time, to edit"
keys C-u
keys -l "$TEST_TMP/wide.jsonl"
keys Enter
wait_msg "^exported 12 events to $TEST_TMP/wide.jsonl\$" 10 "the export's own line"
assert_eq "12 600" "$(echo $(wc -l <"$TEST_TMP/wide.jsonl") $(stat -c %a "$TEST_TMP/wide.jsonl"))" \
    "12 lines, private"
assert_eq "wide-12" "$(head -n 1 "$TEST_TMP/wide.jsonl" | jq -r .event_id)" "newest first"

# a maintenance window by filter: every unpaused schedule matching
keys 5
show schedules maint 2
keys '*' '*'
wait_msg '^every row the filter matches is marked' 5 "schedules: * twice"
keys p
wait_screen 'Pause all 2 the filter matches \(Schedules\)' 10 "p counts, then asks"
keys -l 'window by filter'
keys Enter
wait_until 10 "both schedules paused" \
    '[ "$(psql_q "SELECT count(*) FROM wf.schedules WHERE paused AND pause_note = '"'window by filter'"'")" = 2 ]'
keys 5
keys '*' '*' p
wait_until 10 "nothing left to pause: said, no dialog" \
    "screen_line $MSG | grep -q \"nothing the filter matches is for 'schedules pause'; nothing changed\""

# ---- 10. U: unmask one item's detail, audited, until the detail closes ------
psql_q "SELECT wf.save_saga(jsonb_build_object('execution_id', 'secret-saga', 'saga_id', 'refund-flow',
    'status', 'running', 'context', jsonb_build_object('password', 'hunter2'), 'started_at', now(),
    'completed_at', NULL, 'error', NULL, 'steps', '[]'::jsonb))" >/dev/null
dlq_event secret-evt secret-svc orders.events "$(date +%s)" ', \"email\": \"a@b.example\"' | redis_q >/dev/null
keys 2
show sagas secret-saga 1
keys Enter
wait_screen '^ *password: ' 5 "a saga's detail"
assert_no_match 'hunter2' "$(screen)" "its password masked"
keys U
wait_screen '^ *password: hunter2' 5 "U shows it"
wait_msg 'unmasked until the detail closes' 5 "the message says for how long"
assert_eq 1 "$(psql_q "SELECT count(*) FROM wf.audit_log WHERE action = 'saga.unmask'
    AND target_id = 'secret-saga' AND operator = 'tester'")" "one audit row, with the operator"
keys Escape
keys Enter
wait_screen '^ *password: ' 5 "the detail again"
assert_no_match 'hunter2' "$(screen)" "masked again once the detail closed"
keys Escape
keys 4
show dlq source=secret-svc 1
keys Enter
wait_screen '^ *email: ' 5 "an event's detail"
assert_no_match 'a@b\.example' "$(screen)" "its email masked"
keys U
wait_screen '^ *email: a@b\.example' 5 "U shows it"
assert_match 'dlq\.unmask' "$(redis_q XRANGE dlq:audit - + | grep -x dlq.unmask | head -n 1)" \
    "the unmask in the DLQ's audit stream"
keys Escape
console_stop
check_bugs
finish
