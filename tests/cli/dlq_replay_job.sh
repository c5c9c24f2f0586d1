# A bulk replay is a job: <prefix>:replay:<key> counts, in the same script
# that sends, what was sent. A run killed midway (SIGKILL) leaves the hash
# equal to what reached the queue; the same command with the same key
# resumes it and every event arrives exactly once.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

N=300
export OPSDECK_ROUTE="orders.events=list:orders.replayed"

hfield()
{
    redis_q HGET dlq:replay:"$1" "$2"
}

i=1
while [ $i -le $N ]; do
    id=$(printf 'e-%03d' $i)
    printf 'HSET dlq:%s data "{\\"event_id\\": \\"%s\\", \\"original_event\\": {\\"order_id\\": \\"%s\\", \\"amount\\": 0.1}, \\"failure_reason\\": \\"DLQReason.PROCESSING_TIMEOUT\\", \\"original_queue\\": \\"orders.events\\", \\"source_service\\": \\"orders\\"}" created_at 2026-11-23T17:52:16 status pending_review\n' "$id" "$id" "$id"
    printf 'ZADD dlq:index %d %s\n' $((1795456000 + i)) "$id"
    i=$((i + 1))
done | redis_q >/dev/null
assert_eq "$N" "$(redis_q ZCARD dlq:index)" "$N events seeded"

# 1. Killed midway: at 50 events a second, once 100 have arrived.
"$OPSDECK" dlq replay --all --rate 50 --yes --idempotency-key job-1 \
    >"$TEST_TMP/run1.out" 2>"$TEST_TMP/run1.err" </dev/null &
pid=$!
wait_until 20 "the replay is under way" '[ "$(redis_q LLEN orders.replayed)" -ge 100 ]'
kill -KILL $pid
wait $pid 2>/dev/null || true
err=$(cat "$TEST_TMP/run1.err")
assert_match "replay job job-1: $N events; if it is interrupted, run it again with --idempotency-key job-1 to resume" \
    "$err" "the run names its job and how to resume it"
assert_no_match "$(printf '\r')" "$err" "no progress line when stderr is not a terminal"
sent=$(redis_q LLEN orders.replayed)
done1=$(hfield job-1 done)
assert_eq "$sent" "$done1" "the job hash counts exactly what reached the queue"
[ "$sent" -lt $N ] || fail "the run was not killed midway ($sent of $N sent)"
ok "killed midway: $sent of $N sent"
assert_eq "running|$N|$sent" "$(hfield job-1 status)|$(hfield job-1 total)|$(hfield job-1 applied)" \
    "the job stays running, total and applied as sent"
ttl=$(redis_q TTL dlq:replay:job-1)
[ "$ttl" -gt 600000 ] && [ "$ttl" -le 604800 ] || fail "job hash TTL $ttl"
ok "the job hash is kept 7 days"

# 2. The same command again resumes it.
run dlq replay --all --yes --idempotency-key job-1
expect_rc 0 "the resumed run"
assert_match "resuming replay job job-1: $sent of $N done" "$err" "it says where it resumes"
assert_eq "$((N - sent))" "$(printf '%s\n' "$out" | grep -c 'replayed on list:orders.replayed$')" \
    "it sends only what was not sent"
assert_eq "$N" "$(redis_q LLEN orders.replayed)" "the list holds $N events"
assert_eq "$N" "$(redis_q LRANGE orders.replayed 0 -1 | sort -u | wc -l | tr -d ' ')" \
    "each event exactly once"
assert_eq 1 "$(redis_q LRANGE orders.replayed 0 -1 | grep -cx '{"order_id":"e-001","amount":0.1}')" \
    "the payload is the original event, exactly"
assert_eq "completed|$N|$N|$N|0|2" \
    "$(hfield job-1 status)|$(hfield job-1 total)|$(hfield job-1 done)|$(hfield job-1 applied)|$(hfield job-1 refused)|$(hfield job-1 runs)" \
    "the job is completed: done $N of $N"
assert_eq "$N" "$(redis_q EVAL "local n = 0 for i = 1, $N do if redis.call('HGET', string.format('dlq:e-%03d', i), 'replay_count') == '1' then n = n + 1 end end return n" 0)" \
    "every event has replay_count 1"
assert_eq "$N" "$(redis_q EVAL "local n = 0 for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do local f = e[2] for j = 1, #f, 2 do if f[j] == 'outcome' and f[j + 1] == 'ok' then n = n + 1 end end end return n" 1 dlq:audit)" \
    "one ok audit entry per event"

# 3. Again: the job is complete, nothing is sent; ids under the same key
# report their first outcome, and JSON carries the job.
run dlq replay --all --yes --idempotency-key job-1
expect_rc 0 "a third run"
assert_match "replay job job-1 was completed \($N of $N done\)" "$err" "it says the job is complete"
assert_eq "$N" "$(redis_q LLEN orders.replayed)" "nothing sent again"
run dlq replay e-001 e-150 --yes --idempotency-key job-1 --json
expect_rc 0 "ids under the job's key"
assert_eq "job-1|completed|$N|$N|2|true true" \
    "$(printf '%s' "$out" | jq -r '[.job_id, .status, .total, .done, (.results | length), ([.results[].replayed] | map(tostring) | join(" "))] | join("|")')" \
    "JSON: the job, its counts, and the first outcomes"
assert_eq "$N" "$(redis_q LLEN orders.replayed)" "still nothing sent twice"

# 4. Without a key, the job gets the generated one; ids from a file.
redis_q HSET dlq:e-007 status pending_review >/dev/null
redis_q HSET dlq:e-008 status pending_review >/dev/null
run dlq replay --ids-from "$TEST_TMP/nonesuch" --yes
expect_rc 2 "--ids-from a missing file"
printf 'e-008\n\n' >"$TEST_TMP/ids"
run dlq replay e-007 --ids-from "$TEST_TMP/ids" --yes
expect_rc 0 "a bulk replay without a key, ids from a file"
assert_match 'replay 2 items: e-007, e-008' "$err" "the file's ids join the arguments"
key=$(printf '%s\n' "$err" | sed -n 's/^opsdeck: replay job \(opsdeck-[0-9a-f]*\): 2 events;.*/\1/p')
[ -n "$key" ] || fail "no generated job key in [$err]"
assert_eq "completed|2|2" "$(hfield "$key" status)|$(hfield "$key" total)|$(hfield "$key" done)" \
    "the generated key names its job"
run dlq replay e-009 --idempotency-key single
expect_rc 1 "a single replay (already retried)"
assert_eq "0" "$(redis_q EXISTS dlq:replay:single)" "a single event is not a job"
finish
