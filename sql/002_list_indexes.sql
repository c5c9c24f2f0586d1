-- 002_list_indexes: indexes that the list queries of backends/pg_lists.c
-- need beyond those of 001_core, so that every page of every list is one
-- contiguous index range and a deep page costs what the first one does.
--
-- Applied by `opsdeck migrate` inside one transaction; @schema@ is replaced
-- by the configured schema name. Re-runnable (IF NOT EXISTS).

SET LOCAL client_min_messages = warning;

-- approvals list, pending part, most urgent first:
--   WHERE status = 'pending' ORDER BY due_at NULLS LAST, requested_at DESC, approval_id DESC
-- and its keyset arms (pg_lists_approvals):
--   ... AND due_at = $d AND (requested_at, approval_id) < ($r, $id)
--   ... AND due_at > $d          ... AND due_at IS NULL [AND (requested_at, approval_id) < ($r, $id)]
-- approvals_pending_due_idx (due_at, approval_id) orders ties on due_at (and
-- every pending approval without a due time is such a tie) by approval_id,
-- so a page inside a large tie had to read and sort the whole tie.
CREATE INDEX IF NOT EXISTS approvals_pending_list_idx
    ON @schema@.approvals (due_at, requested_at DESC, approval_id DESC)
    WHERE status = 'pending';
