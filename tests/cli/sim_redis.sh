# The simulator's Redis side: dead letters in seed 004's layout (clean,
# written the seed's Python way, and malformed) that opsdeck reads; replays
# consumed exactly once on a list, a stream and a pub/sub channel, a still
# broken event dead-lettered again; circuit breakers that move through
# their states and honour force-open, release and reset; a clean stop.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

migrate
# One queue per route kind; shipping and notifications keep the default
# route, publish (on a channel named like the queue).
mkdir -p "$XDG_CONFIG_HOME/opsdeck"
cat >"$XDG_CONFIG_HOME/opsdeck/config" <<CFG
route.orders.events = list:orders.replayed
route.payments.events = stream:payments.replayed
CFG

log=$TEST_TMP/sim.log
"$OPSDECK" sim --name simR --seed 21 --rate 10 --failures 0.3 >"$log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null' EXIT

py()
{
    python3 -c "import json,sys; d=json.load(sys.stdin); $1"
}
data_of()
{
    redis_q HGET "dlq:$1" data
}

# ---- dead letters -----------------------------------------------------------

wait_until 30 "the engine listens on both publish channels" \
    "grep -q 'listening for replays on 2 channels' '$log'"
wait_until 60 "a dead letter with malformed data is written" "grep -q '(malformed data)' '$log'"
assert_eq "" "$(redis_q HKEYS dlq:stats | grep '^status:')" "no status counters from the engine"
assert_match '^[0-9]+$' "$(redis_q HGET dlq:stats total_failed_events)" "stats total"
assert_eq "" "$(redis_q HKEYS dlq:stats | grep '^reason:DLQReason')" "stats keys use the reason's value"

# A clean one and one written the seed's Python way, found in the index.
clean="" python_id=""
for id in $(redis_q ZRANGE dlq:index 0 199); do
    d=$(data_of "$id")
    case $d in
    '{"event_id": '*'"failure_reason": "DLQReason.'*) [ -n "$python_id" ] || python_id=$id ;;
    '{"event_id":"'*) [ -n "$clean" ] || clean=$id ;;
    esac
    [ -n "$clean" ] && [ -n "$python_id" ] && break
done
[ -n "$clean" ] || fail "no clean dead letter among the first 200"
[ -n "$python_id" ] || fail "no dead letter in the seed's Python form among the first 200"
ok "both forms are written"

assert_eq "event_id original_event failure_reason error_message retry_count first_failure_time last_failure_time source_service target_service original_queue stack_trace context" \
    "$(data_of "$clean" | py 'print(" ".join(d.keys()))')" "data has seed 004's fields in its order"
assert_eq "pending_review" "$(redis_q HGET "dlq:$clean" status)" "status pending_review"
assert_match '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "$(redis_q HGET "dlq:$clean" created_at)" \
    "clean created_at is ISO with its zone"
ttl=$(redis_q TTL "dlq:$clean")
[ "$ttl" -gt 2591000 ] && [ "$ttl" -le 2592000 ] || fail "TTL is not 30 days: $ttl"
ok "the hash expires after 30 days"
assert_match '^[0-9]{10}\.[0-9]+$' "$(redis_q ZSCORE dlq:index "$clean")" "indexed by failure time"
assert_match '@' "$(data_of "$clean" | py 'print(d["original_event"]["payload"]["customer"]["email"])')" \
    "the original event carries PII-like fields"

assert_match '^\{"event_id": ' "$(data_of "$python_id")" "Python form uses json.dumps separators"
assert_no_match '[^ -~]' "$(data_of "$python_id")" "Python form is ASCII only (ensure_ascii)"
assert_match '^[0-9-]{10} [0-9:]{8}(\.[0-9]{6})?$' \
    "$(data_of "$python_id" | py 'print(d["first_failure_time"])')" "str(datetime) with a space"
assert_match '^[0-9-]{10}T[0-9:]{8}(\.[0-9]{6})?$' "$(redis_q HGET "dlq:$python_id" created_at)" \
    "naive isoformat created_at"
assert_eq "None" "$(data_of "$python_id" | py 'print(d["stack_trace"])')" "stack_trace null"

run dlq show "$python_id" --json
expect_rc 0 "dlq show of the Python form"
assert_match '^[a-z_]+$' "$(printf '%s' "$out" | py 'print(d["failure_reason"])')" \
    "the enum repr is read as the reason's value"
assert_eq "None" "$(printf '%s' "$out" | py 'print(d["malformed"])')" "not malformed"

bad=$(sed -n 's/.* dead-lettered \([^ ]*\) from .*(malformed data)$/\1/p' "$log" | head -n 1)
data_of "$bad" | py 'pass' 2>/dev/null && fail "malformed data parses as JSON"
ok "malformed data is not JSON"
run dlq show "$bad" --json
expect_rc 0 "dlq show of the malformed one"
assert_match '.' "$(printf '%s' "$out" | py 'print(d["malformed"] or "")')" "shown as malformed"
run dlq list --json --limit 1000
expect_rc 0 "dlq list reads a page of every form"
run dlq list --json --search "$bad"
expect_rc 0 "dlq list finds the malformed one"
assert_eq "yes" "$(printf '%s' "$out" | py "print('yes' if any(r['event_id'] == '$bad' and r['malformed'] for r in d['items']) else 'no')")" \
    "the list shows the malformed one"

# ---- replays ----------------------------------------------------------------

# pick QUEUE [SEARCH]: a pending, well-formed dead letter of QUEUE.
pick()
{
    run dlq list --json --limit 200 --status pending_review --queue "$1" ${2:+--search "$2"}
    printf '%s' "$out" | py "print(next((r['event_id'] for r in d['items'] if not r['malformed']), ''))"
}
wait_until 30 "a broken orders event" "[ -n \"\$(pick orders.events 'No handler registered')\" ]"
broken=$(pick orders.events 'No handler registered')
wait_until 30 "a payments event" "[ -n \"\$(pick payments.events)\" ]"
pay=$(pick payments.events)
wait_until 30 "a shipping event" "[ -n \"\$(pick shipping.events)\" ]"
ship=$(pick shipping.events)
retries=$(data_of "$broken" | py 'print(d["retry_count"])')
first=$(data_of "$broken" | py 'print(d["first_failure_time"])')

run dlq replay "$broken" "$pay" "$ship" --yes
expect_rc 0 "replay one event on each route"
assert_match "replayed on list:orders.replayed" "$out" "list route"
assert_match "replayed on stream:payments.replayed" "$out" "stream route"
assert_match "replayed on publish:shipping.events \\(1 receivers\\)" "$out" "the engine received the publish"

wait_until 20 "consumed from the list" "grep -q 'consumed $broken from list:orders.replayed$' '$log'"
wait_until 20 "consumed from the stream" "grep -q 'consumed $pay from stream:payments.replayed$' '$log'"
wait_until 20 "consumed from the channel" "grep -q 'consumed $ship from publish:shipping.events$' '$log'"
wait_until 20 "the still broken event failed again" "grep -q 'failed again $broken (unknown_event_type)$' '$log'"
assert_eq "pending_review" "$(redis_q HGET "dlq:$broken" status)" "dead-lettered again: pending_review"
assert_eq "$((retries + 1))" "$(data_of "$broken" | py 'print(d["retry_count"])')" "retry_count one more"
assert_eq "$first" "$(data_of "$broken" | py 'print(d["first_failure_time"])')" "first failure time kept"
assert_eq "1" "$(redis_q HGET "dlq:$broken" replay_count)" "opsdeck's replay_count kept, as the seed's HSET does"
for id in "$pay" "$ship"; do
    wait_until 20 "$id processed or failed again" "grep -Eq '(processed|failed again) $id( |$)' '$log'"
done
wait_until 5 "stream entries acknowledged" \
    "[ \"\$(redis_q XPENDING payments.replayed opsdeck-sim | head -n 1)\" = 0 ]"
assert_eq "0" "$(redis_q LLEN orders.replayed)" "the list is drained"
still_retried=0
for id in "$broken" "$pay" "$ship"; do
    [ "$(redis_q HGET "dlq:$id" status)" = retried ] && still_retried=$((still_retried + 1))
done
assert_eq "$still_retried" "$(redis_q HGET dlq:stats status:retried)" \
    "opsdeck's status:retried counter follows events that came back"

# ---- circuit breakers -------------------------------------------------------

names="payment-gateway inventory-service shipping-api email-provider fraud-check tax-service search-index recommendation-engine"
wait_until 10 "every breaker is registered" "[ \$(redis_q SCARD circuit_breakers:index) -eq 8 ]"
for n in $names; do
    redis_q SISMEMBER circuit_breakers:index "$n" | grep -q 1 || fail "$n not registered"
done
assert_eq "call_count config failure_count failure_rate last_failure_time last_success_time name state success_count total_failures updated_at" \
    "$(redis_q HKEYS circuit_breakers:payment-gateway | sort | tr '\n' ' ' | sed 's/ $//')" \
    "the hash has get_stats()'s fields and updated_at"
assert_eq "failure_recovery_success_timeout" \
    "$(redis_q HGET circuit_breakers:payment-gateway config | py 'print("_".join(k.split("_")[0] for k in d))')" \
    "config JSON has the seed's four settings"
wait_until 90 "a breaker opens" "grep -Eq 'circuit [a-z-]+ closed -> open \\([0-9]+ failures\\)$' '$log'"
wait_until 90 "a breaker half-opens" "grep -q ' open -> half_open (recovery timeout' '$log'"
wait_until 90 "a breaker closes again" "grep -Eq ' half_open -> closed \\([0-9]+ successes\\)$' '$log'"

# Force-open holds a breaker open in the engine's own state, and its calls
# fail fast (nothing counted); release lets it move again.
cb=circuit_breakers:search-index
run circuits force-open search-index --reason x
expect_rc 0 "force-open"
wait_until 10 "the engine saw it" "grep -Eq 'circuit search-index .*forced by tester: x\\)$' '$log'"
# Calls made since the last write are written with the next one.
u=$(redis_q HGET $cb updated_at)
wait_until 5 "the engine writes again" "[ \"\$(redis_q HGET $cb updated_at)\" != '$u' ]"
calls=$(redis_q HGET $cb call_count)
u=$(redis_q HGET $cb updated_at)
wait_until 5 "and again" "[ \"\$(redis_q HGET $cb updated_at)\" != '$u' ]"
assert_eq "open" "$(redis_q HGET $cb state)" "the engine reports it open"
assert_eq "$calls" "$(redis_q HGET $cb call_count)" "no call went out while forced"
assert_eq "tester" "$(redis_q HGET $cb forced_by)" "opsdeck's fields are left alone"
mark=$(wc -l <"$log")
run circuits release search-index
expect_rc 0 "release"
wait_until 20 "released, it tries calls again" \
    "tail -n +$mark '$log' | grep -q 'circuit search-index open -> half_open'"
wait_until 20 "and its calls count again" "[ \$(redis_q HGET $cb call_count) -gt $calls ]"

# Reset: freeze a breaker that has failures (forced open: no calls, so
# call_count stands still), then reset it; the engine clears its counts,
# so what they hold after is at most what the calls since could add.
pick_failing()
{
    for n in payment-gateway inventory-service fraud-check; do
        [ "$(redis_q HGET "circuit_breakers:$n" failure_count)" -ge 4 ] && echo "$n" && return 0
    done
    return 1
}
wait_until 90 "a breaker with four failures or more" "pick_failing"
name=$(pick_failing)
cb=circuit_breakers:$name
run circuits force-open "$name" --reason freeze
wait_until 10 "frozen" "grep -Eq 'circuit $name .*forced by tester: freeze\\)$' '$log'"
u=$(redis_q HGET "$cb" updated_at)
wait_until 5 "written frozen" "[ \"\$(redis_q HGET $cb updated_at)\" != '$u' ]"
calls=$(redis_q HGET "$cb" call_count)
mark=$(wc -l <"$log")
run circuits reset "$name" --reason y
expect_rc 0 "reset"
wait_until 10 "the engine reset its counts" \
    "tail -n +$mark '$log' | grep -Eq 'circuit $name reset by tester \\(was forced open, [0-9]+ failures\\)$'"
u=$(redis_q HGET "$cb" updated_at)
wait_until 5 "the engine writes after the reset" "[ \"\$(redis_q HGET $cb updated_at)\" != '$u' ]"
since=$(($(redis_q HGET "$cb" call_count) - calls))
fc=$(redis_q HGET "$cb" failure_count)
sc=$(redis_q HGET "$cb" success_count)
[ "$since" -ge 0 ] || fail "call_count went back: the seed's reset keeps it"
[ "$fc" -le "$since" ] && [ "$sc" -le "$since" ] ||
    fail "counts not cleared: $fc failures and $sc successes after $since calls since the reset"
ok "the counts start again from zero ($fc failures, $sc successes in $since calls)"
assert_eq "" "$(redis_q HGET "$cb" forced_state)" "reset clears the forced state"

# ---- a clean stop -----------------------------------------------------------

kill -TERM $sim
rc=0
wait $sim || rc=$?
trap - EXIT
expect_rc 0 "SIGTERM stops the engine"
assert_match 'engine stopped$' "$(tail -n 1 "$log")" "and it says so"
for id in "$broken" "$pay" "$ship"; do
    assert_eq "1" "$(grep -c "consumed $id from " "$log")" "$id consumed exactly once"
done

finish
