# The DLQ and circuit-breaker read side against the harness's real Redis:
# seed 004's and clean forms, malformed entries, paging across ties in at
# most two round trips, filters that fill pages, script cache loss, stats
# and circuits (see tests/integration/test_redis_dlq.c).
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

"$OPSDECK_BUILDDIR/tests/integration/test_redis_dlq" || fail "test_redis_dlq failed"
ok "DLQ and circuit reads accept every writer's form and page in bounded round trips"
finish
