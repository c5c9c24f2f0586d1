# Reconnection, backoff and fail-fast of the connection modules against the
# harness's real servers (see tests/integration/test_reconnect.c).
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

"$OPSDECK_BUILDDIR/tests/integration/test_reconnect" || fail "test_reconnect failed"
ok "connection modules survive hangs and restarts"
finish
