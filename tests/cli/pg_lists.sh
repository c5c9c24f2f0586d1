# The PostgreSQL lists and shows (backends/pg_lists.c) against the harness's
# real server: paging, filters, cursors and shows (see
# tests/integration/test_pg_lists.c, which migrates a schema of its own).
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

"$OPSDECK_BUILDDIR/tests/integration/test_pg_lists" || fail "test_pg_lists failed"
ok "sagas, approvals, schedules and audit lists page, filter and show"
finish
