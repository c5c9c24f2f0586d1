# The Redis actions against the harness's real Redis: replay, resolve,
# delete and circuit actions on every state, counters and audit entries,
# idempotency across a flushed script cache, a pipelined batch of 500,
# every replay route read by a real reader, 8 processes racing for 1,000
# events, and users without write rights (see
# tests/integration/test_redis_actions.c).
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

"$OPSDECK_BUILDDIR/tests/integration/test_redis_actions" ||
    fail "test_redis_actions failed"
ok "Redis actions apply exactly once, refuse cleanly, audit, and survive races and cache loss"
finish
