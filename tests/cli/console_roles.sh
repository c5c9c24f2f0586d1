# A viewer role detected at start: the console asks each store what its
# role may do, and where it may only read, that store's views lose their
# action keys (hint bar and help) and refuse them with a message naming
# the role, while the other store's views keep theirs. PostgreSQL: a login
# role in opsdeck_viewer. Redis: the viewer ACL rules of docs/building.md
# (no scripts), then a user that may run scripts but only read keys (the
# server's ACL check says so). Nothing changes in either store.
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

GEOM=100x30
MSG=29
HINT=28

migrate
psql_q "INSERT INTO wf.approvals (approval_id, workflow_id, step_id, title, request_data,
            requested_by, assignee_group, requested_at, due_at, status)
        VALUES ('apr-v', 'wf-v', 'approve', 'Refund v', '{}', 'engine', 'finance', now(),
                now() + interval '1 hour', 'pending');
        CREATE ROLE viewer_login LOGIN IN ROLE opsdeck_viewer" >/dev/null
redis_q HSET dlq:ev-v data '{"event_id": "ev-v", "failure_reason": "validation_failed", "error_message": "bad", "retry_count": 1, "first_failure_time": "2026-11-23 17:52:16", "last_failure_time": "2026-11-23 17:52:16", "source_service": "svc", "target_service": "t", "original_queue": "q", "stack_trace": null, "context": {}, "original_event": {}}' \
    created_at 2026-11-23T17:52:16 status pending_review >/dev/null
redis_q ZADD dlq:index "$(date +%s)" ev-v >/dev/null
# The test's own writes and reads go through an admin user from here on,
# since the default user becomes a viewer below.
redis_q ACL SETUSER admin on '>adminpw' '~*' '&*' '+@all' >/dev/null
rq()
{
    redis-cli -s "$REDIS_SOCK" --user admin --pass adminpw --no-auth-warning "$@"
}

state()
{
    psql_q "SELECT status || '|' || (SELECT count(*) FROM wf.audit_log) FROM wf.approvals
            WHERE approval_id = 'apr-v'"
    rq HGET dlq:ev-v status
    rq XLEN dlq:audit
}
msg()
{
    screen_line "$MSG"
}

# ---- the PostgreSQL role may only read; Redis is the default user --------
before=$(state)
console_start "$GEOM" -- --postgres "$OPSDECK_POSTGRES user=viewer_login"
wait_screen '^ opsdeck .*viewer on pg' 10 "the header says the PostgreSQL role is a viewer"
wait_until 5 "the message names the role" \
    "screen_line $MSG | grep -q 'the PostgreSQL role viewer_login may only read: its views. action keys are off'"
keys 3
wait_until 5 "approvals: a row is listed" '[ -n "$(selected)" ]'
assert_no_match '(^| )(a approve|x reject)( |$)' "$(screen_line $HINT)" "approvals: no action keys on the hint bar"
keys "?"
wait_screen '^ *Keys in ' 5 "approvals: help"
help_find 'Keys that change a store are off: the PostgreSQL role viewer_login may only read\.' ||
    fail "approvals: help does not say why the action keys are off: $(screen)"
ok "approvals: help says why the action keys are off"
assert_no_match '^ *Actions \(' "$(screen)" "approvals: help lists no actions"
keys Escape
keys a
wait_until 3 "approvals: a is refused, naming the role" \
    "msg | grep -q \"^the PostgreSQL role viewer_login may only read: 'approve' would change the store; nothing changed\""
assert_no_match 'Runs as:' "$(screen)" "approvals: a opens no dialog"
keys 4
wait_until 5 "dlq: a row is listed" '[ -n "$(selected)" ]'
assert_match '(^| )R replay( |$)' "$(screen_line $HINT)" "dlq: Redis's actions stay on"
keys R
wait_screen 'Runs as: opsdeck dlq replay' 5 "dlq: R opens its dialog"
keys Escape
keys q
wait_screen '^console exit 0' 5 "q quits"
console_stop
assert_eq "$before" "$(state)" "nothing changed"

# ---- Redis: the viewer ACL rules (no scripts at all) ---------------------
rq ACL SETUSER default reset on nopass '%R~*' '&*' -@all +@read +@connection +ping +info >/dev/null
console_start "$GEOM"
wait_screen '^ opsdeck .*viewer on redis' 10 "the header says the Redis user is a viewer"
keys 4
wait_until 5 "dlq: a row is listed" '[ -n "$(selected)" ]'
assert_no_match '(^| )(R replay|v resolve|D delete)( |$)' "$(screen_line $HINT)" "dlq: no action keys"
keys R
wait_until 3 "dlq: R is refused, naming the Redis user" \
    "msg | grep -q \"^the Redis user may only read: 'dlq replay' would change the store; nothing changed\""
keys 6
keys Z
wait_until 3 "circuits: Z is refused too" "msg | grep -q \"the Redis user may only read: 'circuits reset'\""
keys 3
wait_until 5 "approvals: a row is listed" '[ -n "$(selected)" ]'
assert_match '(^| )a approve( |$)' "$(screen_line $HINT)" "approvals: PostgreSQL's actions stay on"
keys q
wait_screen '^console exit 0' 5 "q quits"
console_stop

# ---- Redis: scripts allowed, keys read-only (the server's ACL check) -----
rq ACL SETUSER default reset on nopass '%R~*' '&*' -@all +@read +@connection +ping +info +@scripting >/dev/null
console_start "$GEOM"
wait_screen '^ opsdeck .*viewer on redis' 10 "read-only keys: the header says viewer"
keys 4
wait_until 5 "dlq: a row is listed" '[ -n "$(selected)" ]'
keys v
wait_until 3 "dlq: v is refused" "msg | grep -q \"the Redis user may only read: 'dlq resolve'\""
keys q
wait_screen '^console exit 0' 5 "q quits"
console_stop
assert_eq "$before" "$(state)" "nothing changed in either store"

# ---- an operator (docs/building.md's rules): every action key is on ------
rq ACL SETUSER default reset on nopass '~*' '&*' -@all +@read +@write +@connection +@scripting \
    +ping +info +publish +time >/dev/null
run dlq replay ev-v
expect_rc 0 "the operator's rules: a replay (publish route) runs"
assert_eq retried "$(rq HGET dlq:ev-v status)" "and the event is retried"
console_start "$GEOM"
wait_screen '^ opsdeck ' 10 "the console draws"
keys 4
wait_until 5 "dlq: a row is listed" '[ -n "$(selected)" ]'
assert_match '(^| )R replay( |$)' "$(screen_line $HINT)" "dlq: the action keys are on"
assert_no_match 'viewer|read-only' "$(screen_line 0)" "the header names no viewer"
keys q
wait_screen '^console exit 0' 5 "q quits"
console_stop
finish
