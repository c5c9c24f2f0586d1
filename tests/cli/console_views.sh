# The console's views at 80x24 and 120x40 against pinned rows: the
# Overview's counts and alert lines (Enter on the DLQ alert opens the DLQ
# filtered, on the circuits alert the open breakers), each list's column
# titles and rows, the detail side by side at 120 columns and full screen
# (Enter, Esc back) at 80.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

migrate
psql_q "
SELECT wf.save_saga(jsonb_build_object(
    'execution_id', 'exec-pin-' || i, 'saga_id', 'refund-flow', 'status',
    CASE WHEN i = 1 THEN 'failed' ELSE 'running' END,
    'context', jsonb_build_object('order_id', 'ord-77' || i, 'trace_id', 'tr-' || i),
    'started_at', now() - (i || ' minutes')::interval, 'completed_at', NULL,
    'error', CASE WHEN i = 1 THEN 'card declined by issuer' ELSE NULL END,
    'steps', jsonb_build_array(
        jsonb_build_object('step_id', 'reserve', 'name', 'Reserve stock', 'status', 'completed',
                           'result', NULL, 'error', NULL, 'started_at', now(),
                           'completed_at', now(), 'retry_count', 0),
        jsonb_build_object('step_id', 'charge', 'name', 'Charge card', 'status',
                           CASE WHEN i = 1 THEN 'failed' ELSE 'running' END,
                           'result', NULL, 'error', NULL, 'started_at', now(),
                           'completed_at', NULL, 'retry_count', 2))))
FROM generate_series(1, 3) i;
INSERT INTO wf.approvals (approval_id, workflow_id, step_id, title, request_data, requested_by,
    assignee_group, requested_at, due_at, status)
VALUES ('apr-pin-1', 'exec-pin-2', 'approve', 'Refund 1200 EUR', '{\"amount\": 1200}',
        'engine', 'finance', now() - interval '3 hours', now() - interval '2 hours', 'pending'),
       ('apr-pin-2', 'exec-pin-3', 'approve', 'Refund 80 EUR', '{}', 'engine', 'finance',
        now() - interval '5 minutes', now() + interval '3 hours', 'pending');
INSERT INTO wf.schedules (schedule_id, workflow_type, cron_expressions, overlap_policy, paused,
    pause_note, paused_by, next_run_at)
VALUES ('nightly-report', 'report', ARRAY['0 2 * * *'], 'skip', true, 'maintenance', 'alice', NULL),
       ('hourly-sync', 'sync', ARRAY['0 * * * *'], 'buffer_one', false, NULL, NULL,
        now() + interval '1 hour');
" >/dev/null || fail "pinned PostgreSQL rows"

now=$(date +%s)
for i in 01 02 03 04 05 06 07 08 09 10 11 12; do
    redis_q HSET "dlq:evt-pin-$i" data "{\"event_id\": \"evt-pin-$i\", \"original_event\": {\"order_id\": \"ord-$i\", \"amount\": 12.5}, \"failure_reason\": \"validation_failed\", \"error_message\": \"amount must be positive $i\", \"retry_count\": 3, \"first_failure_time\": \"2026-11-23 17:52:16.961247\", \"last_failure_time\": \"2026-11-23 17:52:16.961247\", \"source_service\": \"billing-svc\", \"target_service\": \"ledger\", \"original_queue\": \"orders.events\", \"stack_trace\": null, \"context\": {}}" \
        created_at "2026-11-23T17:52:16.961247" status pending_review >/dev/null
    redis_q ZADD dlq:index $((now - 1000 + ${i#0} * 10)) "evt-pin-$i" >/dev/null
done
redis_q HSET dlq:stats total_failed_events 12 reason:validation_failed 12 source:billing-svc 12 >/dev/null
redis_q HSET circuit_breakers:payments-api state open failure_count 9 success_count 0 call_count 100 \
    total_failures 40 failure_rate 0.4 last_failure_time "$(date -u +%Y-%m-%dT%H:%M:%S)" \
    config '{"failure_threshold": 5, "recovery_timeout": 30}' >/dev/null
redis_q HSET circuit_breakers:email-api state closed failure_count 0 success_count 5 call_count 50 \
    total_failures 1 failure_rate 0.02 >/dev/null
redis_q SADD circuit_breakers:index payments-api email-api >/dev/null
# Two operator actions for the audit log, one on each store.
run dlq resolve evt-pin-01 --note "fixed by hand"
expect_rc 0 "an audited DLQ action"
run reject apr-pin-2 --reason "too risky"
expect_rc 0 "an audited approval decision"

# select_alert TEXT: moves the Overview's selection to the alert line
# holding TEXT.
select_alert()
{
    local n i=2
    n=$(screen | sed -n '/^ Alerts/,$p' | grep -n "$1" | cut -d: -f1)
    [ -n "$n" ] || fail "$size: no alert line holds '$1'"
    keys k k k k k
    while [ "$i" -lt "$n" ]; do
        keys j
        i=$((i + 1))
    done
    wait_screen "^ > $1" 5 "$size: the alert '$1' selected"
}

for size in 80x24 120x40; do
    cols=${size%x*}
    console_start "$size"
    wait_screen '^ +Sagas +running 2 +compensating 0 +failed \(24h\) 1' 10 "$size: Overview saga counts"
    wait_screen '^ +Approvals +pending 1 +overdue 1' 10 "$size: approval counts"
    wait_screen '^ +DLQ +depth 12 ' 10 "$size: DLQ depth"
    wait_screen '^ +Circuits +closed 1 +open 1 +half-open 0 +forced 0' 10 "$size: circuits by state"
    wait_screen '^ +Schedules +2 \(1 paused\) +next: hourly-sync' 10 "$size: schedules and the next run"
    wait_screen 'DLQ depth 12 \(over 10\)' 10 "$size: the DLQ depth alert"
    wait_screen '2 Sagas +3 Appr(ovals)? 1 +4 DLQ 12 +5 Sched(ules)? +6 Circ(uits)? 1 ' 5 "$size: tab badges"
    wait_screen 'opsdeck · default · tester .*pg up  redis up$' 10 "$size: header"

    # Enter on the DLQ alert: the DLQ, filtered to what waits for review.
    select_alert 'DLQ depth 12'
    keys Enter
    wait_screen 'filter: status=pending_review' 5 "$size: Enter lands in the DLQ filtered"
    wait_screen '^11 rows' 5 "$size: the resolved event is filtered out"
    assert_match '4 DLQ 12 ' "$(screen_line 1)" "$size: on the DLQ tab"
    assert_match '^ FAILED +REASON +STATUS +EVENT' "$(screen_line 3)" "$size: DLQ column titles"
    assert_match '^ [0-9-]+ [0-9:]+ validation_fai.* +pending_review +evt-pin-12' "$(screen_line 4)" "$size: newest event first"
    assert_no_match 'evt-pin-01' "$(screen)" "$size: the resolved event is not listed"
    keys Escape
    wait_screen '^12 rows' 5 "$size: Esc clears the filter"

    # Enter on the circuits alert: the Circuits view, open breakers only.
    keys 1
    wait_screen '^ Alerts' 5 "$size: back on the Overview"
    select_alert '1 circuit OPEN'
    keys Enter
    wait_screen 'filter: state=open' 5 "$size: Enter lands in the circuits filtered to open ones"
    wait_screen '^1 row' 5 "$size: one open breaker"
    assert_match '6 Circ(uits)? 1 ' "$(screen_line 1)" "$size: on the Circuits tab"
    assert_match '^ payments-api +open ' "$(screen_line 4)" "$size: the open breaker listed"
    assert_no_match 'email-api' "$(screen)" "$size: the closed one is not"
    keys Escape
    wait_screen '^2 rows' 5 "$size: Esc clears the circuits filter"
    assert_match '^ payments-api +open ' "$(screen_line 4)" "$size: open breakers first"
    assert_match '^ email-api +closed ' "$(screen_line 5)" "$size: then closed ones"

    # Each list view: titles and pinned rows.
    keys 2
    wait_screen '^ STARTED +STATUS +SAGA +EXECUTION' 5 "$size: Sagas column titles"
    wait_screen '^ [0-9-]+ [0-9:]+ running +refund-flow +exec-pin-3' 5 "$size: a running saga"
    assert_match '^ [0-9-]+ [0-9:]+ running +refund-flow +exec-pin-3' "$(screen_line 4)" "$size: newest (then highest id) first"
    wait_screen '^ [0-9-]+ [0-9:]+ failed +refund-flow +exec-pin-1' 5 "$size: the failed saga"
    keys 3
    wait_screen '^ DUE +STATUS +TITLE +APPROVAL' 5 "$size: Approvals column titles"
    wait_screen '^ overdue 2h[0-9]+m +pending +Refund 1200 EUR +apr-pin-1' 5 "$size: the overdue approval"
    wait_screen '^ [0-9]{2}-[0-9]{2} [0-9:]{8} +rejected +Refund 80 EUR +apr-pin-2' 5 "$size: the decided one shows its due time, not a countdown"
    keys 5
    wait_screen '^ SCHEDULE +NEXT RUN +LAST +TYPE' 5 "$size: Schedules column titles"
    wait_screen '^ nightly-report +- +- +report' 5 "$size: the paused schedule"
    keys 6
    wait_screen '^ CIRCUIT +STATE +FORCED +FAILS +RATE +LAST FAILURE' 5 "$size: Circuits column titles"
    wait_screen '^ payments-api +open +- +9 +40% ' 5 "$size: the open breaker"
    keys 7
    wait_screen '^ AT +OPERATOR +ACTION +OUTCOME +TARGET' 5 "$size: Audit column titles"
    wait_screen ' tester +[a-z._]*reject[a-z._]* +ok +apr-pin-2' 5 "$size: the rejection in the audit log"
    wait_screen ' tester +[a-z._]*resolve[a-z._]* +ok +evt-pin-01' 5 "$size: the DLQ resolve in the audit log"

    # The detail of the selected DLQ event.
    keys 4
    wait_screen '^ [0-9-]+ [0-9:]+ validation_fai.* +pending_review +evt-pin-12' 5 "$size: back on the DLQ"
    keys j
    if [ "$cols" -ge 120 ]; then
        wait_screen '[│x] *event_id: evt-pin-11' 5 "$size: the detail follows the selection, side by side"
        s=$(screen)
        assert_match '[│x] *error_message: amount must be positive 11' "$s" "$size: its error beside the list"
        assert_match '[│x] *source_service: billing-svc' "$s" "$size: its source"
        assert_match '[│x] *order_id: ord-11' "$s" "$size: the original event pretty-printed"
        assert_match '^ [0-9-]+ [0-9:]+ validation_fai.* +evt-pin-10 .*[│x]' "$s" "$size: the list stays beside it"
        keys Enter
        wait_screen 'event_id: evt-pin-11' 5 "$size: Enter keeps the detail"
    else
        assert_no_match 'event_id:' "$(screen)" "$size: no detail beside the list at 80 columns"
        keys Enter
        wait_screen '^ *event_id: evt-pin-11' 5 "$size: Enter opens the detail full screen"
        s=$(screen)
        assert_match '^ *error_message: amount must be positive 11' "$s" "$size: its error"
        assert_no_match 'FAILED +REASON|evt-pin-10' "$s" "$size: the list is covered"
        keys G
        wait_screen '^ +order_id: ord-11' 5 "$size: G scrolls to the original event, pretty-printed"
        keys Escape
        wait_screen '^ FAILED +REASON +STATUS +EVENT' 5 "$size: Esc goes back to the list"
        assert_match '^ [0-9-]+ [0-9:]+ validation_failed +pending_review +evt-pin-11' \
            "$(selected)" "$size: the same event still selected"
        assert_no_match 'event_id:' "$(screen)" "$size: and the detail closed"
    fi

    # A saga's detail: steps and the execution.
    keys 2
    wait_screen 'exec-pin-1' 5 "$size: sagas again"
    keys G
    if [ "$cols" -lt 120 ]; then keys Enter; fi
    wait_screen 'execution_id: exec-pin-1' 5 "$size: the last saga's detail"
    s=$(screen)
    assert_match 'Reserve stock +completed' "$s" "$size: its steps as a timeline"
    assert_match 'Charge card +failed' "$s" "$size: the failed step"
    assert_match 'error: card declined by issuer' "$s" "$size: its error"
    [ "$cols" -lt 120 ] && keys G
    wait_screen 'order_id: ord-771' 5 "$size: its context"
    keys q
    [ "$cols" -lt 120 ] && keys q
    wait_screen 'console exit 0' 5 "$size: q quits"
    console_stop
done

# Side by side (120x40): the keys of the detail, and a detail that follows
# an emptied list.
console_start 120x40
keys 4
wait_screen '[│x] *event_id: evt-pin-12' 10 "120x40: the DLQ with its detail"
keys l
if poll_screen '^ j move +Enter fold +Esc back' 1; then
    ok "120x40: l gives the keys to the detail (${waited} ms)"
    keys h
else
    bug "120x40: l does not give the keys to the detail: [$(screen_line 39)]"
fi
keys /
keys -l 'reason=business_rule_violation'
keys Enter
wait_screen '^0 rows · filter: reason=business_rule_violation' 5 "120x40: a filter that matches nothing"
if poll_screen 'event_id: evt-pin' 0.5; then
    bug "120x40: an empty list keeps the detail of an event it no longer lists: [$(screen | grep -o 'event_id: evt-pin-[0-9]*')]"
else
    ok "120x40: no detail beside an empty list"
fi
check_bugs
finish
