# The console's workers against the harness's real servers: pages, shows
# and the overview off the console's thread, replace-by-slot, NOTIFY
# wf_changes as a CHANGED reply, and a hung Redis that leaves the
# PostgreSQL lane answering (see tests/integration/test_worker.c).
. "$OPSDECK_SRCDIR/tests/harness/lib.sh"

migrate
"$OPSDECK" sim --populate --sagas 40 --approvals 10 --pending 3 --schedules 8 \
    --dlq-events 30 --circuits 4 >/dev/null || fail "sim --populate failed"
ok "stores populated"

"$OPSDECK_BUILDDIR/tests/integration/test_worker" || fail "test_worker failed"
ok "workers page, replace, report changes and keep lanes apart"
finish
