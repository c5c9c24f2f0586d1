# dlq list|show|stats and circuits list|show through the real binary: text
# and JSON, seed 004's spellings, hostile text escaped, sensitive fields
# masked, circuits paged in both orders and filtered by state, and the exit
# codes of a missing item, a bad cursor or flag value and a dead server.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

jq_py()
{
    printf '%s' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

now=$(date +%s)
# As seed 004's DeadLetterQueueManager writes them (enum repr, naive times).
for i in 1 2 3 4 5; do
    reason=DLQReason.VALIDATION_FAILED
    [ "$i" -gt 3 ] && reason=DLQReason.PROCESSING_TIMEOUT
    redis_q HSET "dlq:ev$i" data "{\"event_id\": \"ev$i\", \"original_event\": {\"order_id\": \"o-$i\", \"customer\": {\"email\": \"ann@example.com\", \"card_number\": \"4111111111111111\"}}, \"failure_reason\": \"$reason\", \"error_message\": \"amount must be positive\", \"retry_count\": $i, \"first_failure_time\": \"2026-11-23 17:52:16.961247\", \"last_failure_time\": \"2026-11-23 17:52:16.961247\", \"source_service\": \"order-service\", \"target_service\": \"billing\", \"original_queue\": \"orders.events\", \"stack_trace\": null, \"context\": {}}" \
        created_at "2026-11-23T17:52:16.961247" status pending_review >/dev/null
    redis_q ZADD dlq:index $((now - i * 60)) "ev$i" >/dev/null
done
# Hostile text from another writer, a malformed event, an expired one.
redis_q HSET dlq:evil data "$(printf '{"event_id":"evil","failure_reason":"validation_failed","error_message":"\\u001b]52;c;cm0gLXJmIH4=\\u0007 \\u202egnp.exe","source_service":"x","original_queue":"q"}')" \
    status pending_review >/dev/null
redis_q ZADD dlq:index $((now - 30)) evil >/dev/null
redis_q HSET dlq:bad data '{"event_id": "bad", "failure_reason":' status pending_review >/dev/null
redis_q ZADD dlq:index $((now - 20)) bad >/dev/null
redis_q ZADD dlq:index $((now - 10)) expired-one >/dev/null
redis_q HSET dlq:stats total_failed_events 5 reason:validation_failed 3 reason:processing_timeout 2 >/dev/null

run dlq list
expect_rc 0 "dlq list"
assert_match '^EVENT +FAILED +REASON' "$out" "table header"
assert_match 'expired-one .*expired' "$out" "an index entry without its event is listed as expired"
assert_match '^ev1 .*validation_failed +pending_review +order-service' "$out" "enum repr read as the value"
printf '%s' "$out" | grep -q "$(printf '\033')" && fail "an ESC byte reached the terminal"
printf '%s' "$out" | grep -q "$(printf '\342\200\256')" && fail "a bidi override reached the terminal"
ok "no escape sequence or bidi control in the table"
assert_match 'evil .*\\x1b\]52;c;' "$out" "the OSC 52 sequence is shown escaped"

run dlq list --json --limit 3
expect_rc 0 "dlq list --json"
assert_eq "expired-one bad evil" "$(jq_py '" ".join(r["event_id"] for r in d["items"])')" "newest first"
cursor=$(jq_py 'd["next_cursor"]')
run dlq list --json --limit 3 --after "$cursor"
assert_eq "ev1 ev2 ev3" "$(jq_py '" ".join(r["event_id"] for r in d["items"])')" "the next page"
run dlq list --json --reason processing_timeout
assert_eq "ev4 ev5" "$(jq_py '" ".join(r["event_id"] for r in d["items"])')" "filter by reason"
run dlq list --json --limit 1 --search ev3
assert_eq "ev3" "$(jq_py '" ".join(r["event_id"] for r in d["items"])')" "search"
run dlq list --json
assert_eq "bad JSON" "$(jq_py '[r for r in d["items"] if r["event_id"] == "bad"][0]["malformed"][:8]')" \
    "a malformed event is listed as such"

run dlq show ev2
expect_rc 0 "dlq show"
assert_match '^ +email: \*\*\*\*$' "$out" "email masked in the detail"
assert_match '^ +card_number: \*\*\*\*$' "$out" "card number masked in the detail"
assert_no_match 'ann@example.com|4111111111111111' "$out" "no sensitive value shown"
run dlq show ev2 --json
assert_eq "****" "$(jq_py 'd["original_event"]["customer"]["email"]')" "masked in JSON too"
assert_eq "o-2" "$(jq_py 'd["original_event"]["order_id"]')" "the rest is exact"
run --redact order_id dlq show ev2 --json
assert_eq "****" "$(jq_py 'd["original_event"]["order_id"]')" "the redaction list is configurable"

run dlq show ev2 --unmask --json
expect_rc 0 "dlq show --unmask"
assert_eq "ann@example.com" "$(jq_py 'd["original_event"]["customer"]["email"]')" "unmasked"
assert_match 'dlq.unmask' "$(redis_q XREVRANGE dlq:audit + - COUNT 1)" "the unmask is audited"
assert_match 'ev2' "$(redis_q XREVRANGE dlq:audit + - COUNT 1)" "naming the event"

run dlq export --reason processing_timeout --output "$TEST_TMP/export.jsonl"
expect_rc 0 "dlq export"
assert_eq "2" "$(wc -l <"$TEST_TMP/export.jsonl" | tr -d ' ')" "one line per matching event"
assert_eq "600" "$(stat -c %a "$TEST_TMP/export.jsonl")" "the export file is private"
grep -q 'ann@example.com' "$TEST_TMP/export.jsonl" && fail "the export is not redacted"
ok "the export is redacted"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TEST_TMP/export.jsonl" ||
    fail "an export line is not JSON"
ok "every export line is JSON"
# Each line is the event as dlq show has it (read with its page, not one
# round trip an event).
while read -r line; do
    id=$(printf '%s' "$line" | jq -r .event_id)
    run dlq show "$id" --json
    assert_eq "$(printf '%s' "$out" | jq -S -c .)" "$(printf '%s' "$line" | jq -S -c .)" \
        "export line of $id = dlq show $id"
done <"$TEST_TMP/export.jsonl"

run dlq show nosuch
expect_rc 4 "unknown event"
one_line "$err" "not-found message"
run dlq list --after 'garbage!'
expect_rc 2 "bad cursor"
run dlq list --limit 0
expect_rc 2 "limit out of range"

run dlq stats --json
expect_rc 0 "dlq stats"
assert_eq "8" "$(jq_py 'd["depth"]')" "stats depth from the index"

redis_q HSET circuit_breakers:payments state open failure_count 7 success_count 0 call_count 20 \
    total_failures 9 failure_rate 0.45 last_failure_time "2026-11-23T10:00:00" \
    config '{"failure_threshold": 5, "recovery_timeout": 60, "success_threshold": 3, "timeout": 30.0}' >/dev/null
redis_q HSET circuit_breakers:mail state closed forced_state open forced_by alice >/dev/null
redis_q SADD circuit_breakers:index payments mail ghost >/dev/null
run circuits list --json
expect_rc 0 "circuits list"
assert_eq "ghost:missing mail:open payments:open" \
    "$(jq_py '" ".join("%s:%s" % (r["name"], "missing" if r.get("missing") else r["state"]) for r in sorted(d["items"], key=lambda r: r["name"]))')" \
    "circuit states, forced state winning, a missing hash said"
circuit_names()
{
    jq_py '" ".join(r["name"] for r in d["items"])'
}
assert_eq "mail payments ghost" "$(circuit_names)" "open ones first (by name), a missing hash last"
assert_eq "None" "$(jq_py 'd["next_cursor"]')" "every breaker on one page"
# Paging: the cursor of one page gives the next, in either order.
run circuits list --json --limit 1
expect_rc 0 "circuits list --limit 1"
assert_eq "mail" "$(circuit_names)" "the first page"
cursor=$(jq_py 'd["next_cursor"]')
run circuits list --json --limit 1 --after "$cursor"
assert_eq "payments" "$(circuit_names)" "the page after $cursor"
cursor=$(jq_py 'd["next_cursor"]')
run circuits list --limit 5 --after "$cursor"
expect_rc 0 "circuits list --after, as a table"
assert_match '^ghost ' "$out" "the last page"
assert_no_match 'next page' "$out" "no cursor after the last page"
run circuits list --order name --limit 2
assert_match '^ghost .*' "$(printf '%s\n' "$out" | sed -n 2p)" "by name: ghost first"
assert_match '^mail ' "$(printf '%s\n' "$out" | sed -n 3p)" "then mail"
cursor=$(printf '%s\n' "$out" | sed -n 's/^next page: --after //p')
assert_eq "n:mail" "$cursor" "the table prints the next cursor last"
run circuits list --json --order name --after "$cursor"
assert_eq "payments" "$(circuit_names)" "by name, the page after"
run circuits list --json --state open
expect_rc 0 "circuits list --state open"
assert_eq "mail payments" "$(circuit_names)" "only open breakers, a forced one too"
run circuits list --json --state closed
assert_eq "" "$(circuit_names)" "no closed breaker"
run circuits list --state opened
expect_rc 2 "a bad --state"
one_line "$err" "bad --state message"
assert_match '^opsdeck: --state: expected open, half_open or closed' "$err" "it names --state and the values"
run circuits list --order urgency
expect_rc 2 "a bad --order"
one_line "$err" "bad --order message"
run circuits list --order name --after "0:mail"
expect_rc 2 "a cursor of the other order"
one_line "$err" "bad cursor message"
assert_match '--after' "$err" "it names --after"
run circuits show payments
expect_rc 0 "circuits show"
assert_match 'failure_threshold: 5' "$out" "config shown"
run circuits show nosuch
expect_rc 4 "unknown circuit"

# Scripts that read every breaker with one call: up to 1000 of them.
redis_q SADD circuit_breakers:index $(seq -f 'bulk-%04g' 1 997) >/dev/null
run circuits list --json
assert_eq "1000 None" "$(jq_py 'len(d["items"]), d["next_cursor"]' | tr -d '(),')" \
    "1000 breakers in one circuits list"
redis_q SADD circuit_breakers:index bulk-0998 >/dev/null
run circuits list
assert_eq "1002" "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" "1001: a header, 1000 rows, then the cursor"
assert_match '^next page: --after 3:bulk-0998$' "$(printf '%s\n' "$out" | tail -n 1)" "the cursor of the last row"
run circuits list --json --after 3:bulk-0998
assert_eq "ghost" "$(circuit_names)" "and the rest after it"

kill -STOP "$(pid_of redis)"
run --command-timeout 500ms dlq list
kill -CONT "$(pid_of redis)"
expect_rc 3 "dlq list with redis stopped"
one_line "$err" "unavailable message"

finish
