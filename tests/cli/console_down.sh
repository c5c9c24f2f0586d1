# The console with a store stopped (SIGSTOP: accepts, never answers) or
# gone: keys are answered within a second, the header says which store is
# waiting or down, the other store's views keep working, and every view
# recovers by itself once the store is back (SIGCONT, or a restart).
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

migrate
now=$(date +%s)
dlq_event()
{
    redis_q HSET "dlq:$1" data "{\"event_id\": \"$1\", \"failure_reason\": \"validation_failed\", \"error_message\": \"e\", \"retry_count\": 1, \"first_failure_time\": \"2026-11-23 17:52:16\", \"last_failure_time\": \"2026-11-23 17:52:16\", \"source_service\": \"svc\", \"target_service\": \"t\", \"original_queue\": \"q\", \"stack_trace\": null, \"context\": {}, \"original_event\": {}}" \
        created_at 2026-11-23T17:52:16 status pending_review >/dev/null
    redis_q ZADD dlq:index "$(date +%s)" "$1" >/dev/null
}
saga()
{
    psql_q "SELECT wf.save_saga(jsonb_build_object('execution_id', '$1', 'saga_id', 'down',
        'status', 'running', 'context', '{}'::jsonb, 'started_at', now(), 'completed_at', NULL,
        'error', NULL, 'steps', '[]'::jsonb))" >/dev/null
}
dlq_event down-1
saga down-saga-1
pg_pid=$(pid_of postgres)
trap 'pg_thaw 2>/dev/null; kill -CONT "$(pid_of redis)" 2>/dev/null; console_stop' EXIT

# key KEY REGEX WHAT: the screen answers KEY within a second.
key()
{
    keys "$1"
    wait_screen "$2" 1 "$3"
}

console_start 80x24 OPSDECK_COMMAND_TIMEOUT=1s OPSDECK_CONNECT_TIMEOUT=1s OPSDECK_REFRESH=1s
trap 'pg_thaw 2>/dev/null; kill -CONT "$(pid_of redis)" 2>/dev/null; console_stop' EXIT
keys 4
wait_screen '^ .* down-1 *$' 10 "the DLQ shows its event"
wait_screen 'pg up  redis up' 5 "both stores up"

# --- Redis stopped -----------------------------------------------------------
redis_freeze
keys r
key 2 '^ STARTED +STATUS +SAGA' "Redis stopped: 2 opens the Sagas within 1 s"
key 4 '^ FAILED +REASON +STATUS' "4 opens the DLQ within 1 s"
key '?' 'Keys in DLQ' "? opens the help within 1 s"
key Escape '^ FAILED +REASON +STATUS' "Esc closes it within 1 s"
wait_screen 'redis (waiting [0-9]+s|down since [0-9:]{8}, retry [0-9]+s)' 5 "the header says redis is waiting or down"
wait_screen 'redis down since [0-9:]{8}, retry [0-9]+s' 10 "then down, with the retry"
assert_match 'pg up' "$(screen_line 0)" "postgres still up"
wait_screen '^Redis down since [0-9:]{8}' 10 "the DLQ says Redis is down above its rows"
assert_match '^ .* down-1 *$' "$(screen)" "and keeps the rows it had"
key 2 '^ STARTED +STATUS +SAGA' "the Sagas within 1 s"
saga down-saga-2
wait_screen 'down-saga-2' 5 "the Sagas view still follows PostgreSQL"
key 4 '^ FAILED +REASON +STATUS' "back to the DLQ within 1 s"
redis_thaw
wait_screen 'pg up  redis up' 10 "SIGCONT: redis up again"
if poll_screen '^[0-9]+ rows? *' 10; then
    ok "the DLQ's down line is gone by itself (${waited} ms)"
else
    bug "Redis back with the same counts: the DLQ keeps its down line [$(screen_line 2)] while the header says redis up"
    keys r
    wait_screen '^[0-9]+ rows? *' 5 "r reads the DLQ again"
fi
dlq_event down-2
wait_screen '^ .* down-2 *$' 10 "the DLQ follows Redis again"

# --- PostgreSQL stopped ---------------------------------------------------------
keys 2
wait_screen 'down-saga-2' 5 "the Sagas"
pg_freeze
keys r
key 4 '^ FAILED +REASON +STATUS' "PostgreSQL stopped: 4 opens the DLQ within 1 s"
key 2 '^ STARTED +STATUS +SAGA' "2 opens the Sagas within 1 s"
key '?' 'Keys in Sagas' "? opens the help within 1 s"
key Escape '^ STARTED +STATUS +SAGA' "Esc closes it within 1 s"
key 1 '^ Alerts' "1 opens the Overview within 1 s"
key 2 '^ STARTED +STATUS +SAGA' "and back within 1 s"
wait_screen 'pg (waiting [0-9]+s|down since [0-9:]{8}, retry [0-9]+s)' 5 "the header says pg is waiting or down"
wait_screen 'pg down since [0-9:]{8}, retry [0-9]+s' 10 "then down"
assert_match 'redis up' "$(screen_line 0)" "redis still up"
wait_screen '^PostgreSQL down since [0-9:]{8}' 10 "the Sagas say PostgreSQL is down above their rows"
assert_match 'down-saga-2' "$(screen)" "and keep the rows they had"
key 4 '^ FAILED +REASON +STATUS' "the DLQ within 1 s"
dlq_event down-3
wait_screen '^ .* down-3 *$' 10 "the DLQ view still follows Redis"
key 2 '^ STARTED +STATUS +SAGA' "the Sagas within 1 s"
pg_thaw
wait_screen 'pg up  redis up' 15 "SIGCONT: pg up again"
if poll_screen '^[0-9]+ rows? *' 10; then
    ok "the Sagas' down line is gone by itself (${waited} ms)"
else
    bug "PostgreSQL back: the Sagas keep their down line [$(screen_line 2)] while the header says pg up"
    keys r
    wait_screen '^[0-9]+ rows? *' 5 "r reads the Sagas again"
fi
saga down-saga-3
wait_screen 'down-saga-3' 10 "the Sagas follow PostgreSQL again"

# --- Redis restarted (it comes back empty) ----------------------------------------
keys 4
wait_screen '^ .* down-3 *$' 5 "the DLQ"
redis_stop
wait_screen 'redis down since [0-9:]{8}' 10 "Redis gone: the header says down"
key 2 '^ STARTED +STATUS +SAGA' "Redis gone: 2 within 1 s"
key 4 '^ FAILED +REASON +STATUS' "4 within 1 s"
stores_start
wait_screen 'pg up  redis up' 40 "Redis restarted: up again by itself"
dlq_event down-4
wait_screen '^ .* down-4 *$' 10 "the DLQ shows the new Redis's event"
assert_no_match 'down-3' "$(screen)" "and not the old Redis's rows"
# "down since" is when the outage began: the retries that fail after it
# must not move it (the header and the view's down line alike).
redis_freeze
wait_screen 'redis down since [0-9:]{8}' 10 "Redis stopped again: down"
since=$(screen_line 0 | sed -n 's/.*redis down since \([0-9:]*\).*/\1/p')
moved=""
end=$(($(date +%s) + 8))
while [ "$(date +%s)" -lt "$end" ]; do
    now_since=$(screen_line 0 | sed -n 's/.*redis down since \([0-9:]*\).*/\1/p')
    if [ -n "$now_since" ] && [ "$now_since" != "$since" ]; then
        moved=$now_since
        break
    fi
    sleep 0.2
done
redis_thaw
wait_screen 'pg up  redis up' 10 "SIGCONT: up again"
console_alive || fail "the console died"
keys q
wait_screen '^console exit 0' 5 "q quits with status 0"
assert_eq "" "$(cat "$TEST_TMP/console.err")" "nothing on stderr"

if [ -z "$moved" ]; then
    ok "down since $since stayed through 8 s of retries"
else
    bug "the header's 'redis down since $since' moved to $moved after a failed retry"
fi

# Started while PostgreSQL does not answer: until it does, the Overview
# must not show its counts as zeros nor claim the schema is not migrated.
console_stop
pg_freeze
console_start 80x24 OPSDECK_COMMAND_TIMEOUT=1s OPSDECK_CONNECT_TIMEOUT=1s
wait_screen 'redis up' 5 "PostgreSQL stopped at start: redis up"
wait_screen '^ Alerts' 5 "the Overview's alerts"
s=$(screen)
if printf '%s\n' "$s" | grep -Eq 'pg (connecting|waiting)' && printf '%s\n' "$s" | grep -Eq 'schema not migrated|^ +Sagas +running 0 '; then
    bug "before PostgreSQL first answers the Overview shows [$(printf '%s\n' "$s" | grep -E 'schema not migrated|Sagas +running' | tr -s ' ' | tr '\n' '|')]"
elif printf '%s\n' "$s" | grep -q 'schema not migrated'; then
    bug "PostgreSQL stopped: the Overview says the schema is not migrated"
else
    ok "no false schema alert or zero counts before PostgreSQL answers"
fi
wait_screen 'pg down since' 10 "then pg down"
pg_thaw
wait_screen 'pg up  redis up' 15 "and up once it answers"
wait_screen '^ +Sagas +running [1-9]' 10 "with its counts"

# Quitting while a store does not answer: the console does not wait for
# the stuck call's timeout (10 s here) before it exits.
console_stop
console_start 80x24 OPSDECK_COMMAND_TIMEOUT=10s OPSDECK_CONNECT_TIMEOUT=10s
wait_screen 'pg up  redis up' 10 "long timeouts: both stores up"
keys 2
wait_screen '^ .* down-saga-1' 5 "the Sagas"
pg_freeze
keys r
wait_screen 'pg waiting [0-9]+s' 5 "a read is stuck in PostgreSQL"
t0=$(_ms)
keys q
wait_screen '^console exit 0' 5 "q quits while PostgreSQL does not answer"
took=$(($(_ms) - t0))
[ "$took" -lt 4000 ] || fail "quitting took $took ms: it waited for the stuck call"
ok "quit in $took ms, not the 10 s of the stuck call"
pg_thaw
check_bugs
finish
