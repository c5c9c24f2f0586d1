# dlq replay|resolve|delete and circuits reset|force-open|release through
# the real binary: one line per outcome, exit codes 0/1/2/4/5, JSON, bulk
# confirmation, dry runs, routes from the config, and the audit stream.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

jq_py()
{
    printf '%s' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}
event()
{
    redis_q HSET "dlq:$1" data "{\"event_id\": \"$1\", \"original_event\": {\"order_id\": \"$1\", \"email\": \"a@b.c\"}, \"failure_reason\": \"DLQReason.VALIDATION_FAILED\", \"error_message\": \"x\", \"retry_count\": 0, \"first_failure_time\": \"2026-11-23 17:52:16.961247\", \"last_failure_time\": \"2026-11-23 17:52:16.961247\", \"source_service\": \"orders\", \"target_service\": \"billing\", \"original_queue\": \"orders.events\", \"stack_trace\": null, \"context\": {}}" \
        created_at "2026-11-23T17:52:16.961247" status pending_review >/dev/null
    redis_q ZADD dlq:index "$(date +%s)" "$1" >/dev/null
}
for e in e1 e2 e3 e4 e5 e6; do event "$e"; done
export OPSDECK_ROUTE="orders.events=list:orders.replayed"

run dlq replay e1 --dry-run
expect_rc 0 "dry run"
assert_match '^would replay e1 to list:orders.replayed$' "$out" "the dry run names the route"
assert_eq "0" "$(redis_q LLEN orders.replayed)" "a dry run sends nothing"
run --read-only dlq replay e1 --dry-run
expect_rc 0 "a dry run is allowed in read-only mode"

run dlq replay e1
expect_rc 0 "replay"
assert_match '^dlq event e1 replayed on list:orders.replayed$' "$out" "one line says what changed"
assert_eq "1" "$(redis_q LLEN orders.replayed)" "the event reached its queue"
assert_eq '{"order_id":"e1","email":"a@b.c"}' "$(redis_q LINDEX orders.replayed 0)" \
    "the original event is sent exactly, not redacted"
assert_eq "retried" "$(redis_q HGET dlq:e1 status)" "status retried"
assert_eq "tester" "$(redis_q HGET dlq:e1 retried_by)" "retried_by is the operator"

run dlq replay e1
expect_rc 1 "a second replay is refused"
one_line "$err" "refusal"
assert_match 'already retried by tester at .*; nothing changed' "$err" "the refusal names who and when"
assert_eq "1" "$(redis_q LLEN orders.replayed)" "nothing sent twice"
run dlq replay e1 --force --json
expect_rc 0 "--force replays again"
assert_eq "applied" "$(jq_py 'd["outcome"]')" "JSON outcome"

run dlq replay e2 --idempotency-key k-1
run dlq replay e2 --idempotency-key k-1
expect_rc 0 "the same key again returns the first outcome"
assert_match '(repeated request)' "$out" "the repeat is marked"
assert_eq "3" "$(redis_q LLEN orders.replayed)" "the repeat sent nothing"

run dlq replay e3 e4
expect_rc 2 "bulk without --yes and no terminal"
assert_match 'replay 2 items: e3, e4' "$err" "the blast radius is printed first"
assert_eq "pending_review" "$(redis_q HGET dlq:e3 status)" "nothing changed"
run dlq replay e3 e4 nope --yes
expect_rc 4 "bulk with an unknown id"
assert_match '2 of 3 applied' "$err" "the summary counts"

# --all with filters, --rate, and resuming with the same key.
for e in t1 t2 t3 t4 t5 t6; do
    event "$e"
    redis_q HSET "dlq:$e" data "$(redis_q HGET "dlq:$e" data | sed 's/VALIDATION_FAILED/PROCESSING_TIMEOUT/')" >/dev/null
done
run dlq replay --all --reason processing_timeout --dry-run
expect_rc 0 "--all dry run"
assert_match '^6 events would be replayed; nothing changed$' "$out" "the dry run counts the matches"
run --json --read-only dlq replay --all --reason processing_timeout --dry-run
expect_rc 0 "--all dry run in JSON, allowed in read-only mode"
assert_eq "true 6 6 t1 list:orders.replayed" \
    "$(printf '%s' "$out" | jq -r '"\(.dry_run) \(.count) \(.items | length) \(.items | map(.event_id) | sort | .[0]) \(.items[0].route)"')" \
    "JSON: the count and each event with its route"
run dlq replay --all --reason processing_timeout
expect_rc 2 "--all needs --yes without a terminal"
assert_match 'replay 6 items' "$err" "blast radius of --all"
run dlq replay e5 --all
expect_rc 2 "ids and --all together"
before=$(redis_q LLEN orders.replayed)
t0=$(date +%s%N)
run dlq replay --all --reason processing_timeout --rate 3 --yes --idempotency-key job-1
t1=$(date +%s%N)
expect_rc 0 "--all with --rate"
assert_eq "$((before + 6))" "$(redis_q LLEN orders.replayed)" "six events sent"
[ $(((t1 - t0) / 1000000)) -ge 900 ] || fail "--rate 3 sent 6 events in under a second"
ok "--rate paces the replay"
run dlq replay t1 t2 t3 t4 t5 t6 --yes --idempotency-key job-1
expect_rc 0 "the same job key again"
assert_eq "6" "$(printf '%s\n' "$out" | grep -c '(repeated request)')" "every event reports the first outcome"
assert_eq "$((before + 6))" "$(redis_q LLEN orders.replayed)" "a resumed replay sends nothing twice"

run dlq resolve e5
expect_rc 2 "resolve needs a note"
run dlq resolve e5 --note "fixed by hand"
expect_rc 0 "resolve"
assert_eq "fixed by hand" "$(redis_q HGET dlq:e5 resolution_note)" "the note is kept"
run dlq resolve e5 --note again
expect_rc 1 "resolving twice is refused"
run dlq delete e6 --reason "test data"
expect_rc 0 "delete"
assert_eq "0" "$(redis_q EXISTS dlq:e6)" "the event is gone"
assert_eq "" "$(redis_q ZSCORE dlq:index e6)" "and its index entry"
run --read-only dlq delete e5 --reason x
expect_rc 5 "read-only mode"
assert_eq "1" "$(redis_q EXISTS dlq:e5)" "nothing deleted in read-only mode"

audit=$(redis_q XLEN dlq:audit)
[ "$audit" -ge 8 ] || fail "expected the actions on the audit stream, got $audit entries"
ok "actions are on the audit stream ($audit entries)"

redis_q HSET circuit_breakers:pay state closed failure_count 3 >/dev/null
redis_q SADD circuit_breakers:index pay >/dev/null
run circuits force-open pay
expect_rc 2 "force-open needs a reason"
run circuits force-open pay --reason "provider outage"
expect_rc 0 "force-open"
assert_eq "open" "$(redis_q HGET circuit_breakers:pay forced_state)" "forced open"
run circuits force-open pay --reason again
expect_rc 1 "forcing twice is refused"
run circuits release pay
expect_rc 0 "release"
run circuits release pay
expect_rc 1 "releasing twice is refused"
run circuits reset pay --reason "recovered"
expect_rc 0 "reset"
assert_eq "0" "$(redis_q HGET circuit_breakers:pay failure_count)" "counts reset"
run circuits reset nosuch --reason x
expect_rc 4 "unknown circuit"
# Ids that are not UTF-8 can only be typed as the lists show them
# (escaped): replay, resolve and delete take that form, as show does; an id
# that really has a backslash in it is still itself.
for n in 1 2 3; do
    id=$(printf 'bad\377-%s' "$n")
    redis_q HSET "dlq:$id" data "{\"event_id\": \"bad-$n\", \"original_event\": {\"n\": $n}, \"failure_reason\": \"validation_failed\", \"original_queue\": \"orders.events\"}" \
        status pending_review >/dev/null
    redis_q ZADD dlq:index "$(date +%s)" "$id" >/dev/null
done
redis_q HSET 'dlq:lit\x41' data '{"event_id": "lit", "original_event": {}, "original_queue": "orders.events"}' \
    status pending_review >/dev/null
redis_q ZADD dlq:index "$(date +%s)" 'lit\x41' >/dev/null
run dlq list --search bad --json
assert_match 'bad\\\\xff-1' "$out" "the list shows the id escaped"
before=$(redis_q LLEN orders.replayed)
run dlq replay 'bad\xff-1'
expect_rc 0 "replay by the escaped id"
assert_eq retried "$(redis_q HGET "$(printf 'dlq:bad\377-1')" status)" "the event with those bytes is retried"
assert_eq $((before + 1)) "$(redis_q LLEN orders.replayed)" "and sent"
run dlq resolve 'bad\xff-2' --note handled
expect_rc 0 "resolve by the escaped id"
assert_eq resolved "$(redis_q HGET "$(printf 'dlq:bad\377-2')" status)" "resolved"
run dlq delete 'bad\xff-3' --reason junk
expect_rc 0 "delete by the escaped id"
assert_eq 0 "$(redis_q EXISTS "$(printf 'dlq:bad\377-3')")" "deleted"
run dlq resolve 'lit\x41' --note literal
expect_rc 0 "an id with a real backslash"
assert_eq resolved "$(redis_q HGET 'dlq:lit\x41' status)" "is itself, not unescaped"
finish
