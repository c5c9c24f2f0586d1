-- 004_unmask: the audited reads behind `sagas show --unmask` and
-- `approvals show --unmask` (SPEC.md section 4, "Safe preview": masked
-- fields are shown only when the operator explicitly unmasks, which is
-- audited), and the index of the Overview's `failed (24h)` count.
--
--   unmask_saga(execution_id, ctx)    returns the execution row, after an audit row saga.unmask
--   unmask_approval(approval_id, ctx) returns the approval row, after an audit row approval.unmask
--
-- ctx is the one of the action functions of 003_actions ({"operator":
-- text (required), "client_host": text|null, "client_addr": text|null};
-- an idempotency_key or expect_version in it is checked and ignored: a
-- read has no effect to repeat or to refuse). Each returns the table's row
-- as it is, so that opsdeck builds the unmasked detail with the same
-- statement as the plain `show`, selecting from the function instead of
-- the table (backends/pg_lists.c); the masking itself is opsdeck's, on its
-- side. The audit row (outcome ok, no before/after: the point of masking
-- is that the values do not travel further, and the audit log is read by
-- every viewer) is written by the statement that returns the row, so the
-- row reaches the operator only if the audit row commits. An unknown id
-- returns no row and writes no audit row: nothing was shown. Bad input (no
-- operator, a blank id, a malformed ctx) raises SQLSTATE 22023.
--
-- Applied by `opsdeck migrate` inside one transaction; @schema@ is replaced
-- by the configured schema name. Re-runnable (IF NOT EXISTS, OR REPLACE).
-- SECURITY DEFINER functions run with the rights of their owner (the role
-- that migrates), so their search_path is pinned to pg_catalog and every
-- object of the schema is named with it.

SET LOCAL client_min_messages = warning;

-- ---------------------------------------------------------------------------
-- Overview: failed (24h)
--
-- pg_overview_get counts
--   SELECT count(*) ... WHERE status IN ('failed', 'compensated')
--     AND updated_at > now() - interval '24 hours'
-- The planner drops the status condition as implied by the predicate of a
-- partial index with the same IN list; on 001_core's
-- saga_executions_failed_idx (status, updated_at DESC) that leaves
-- updated_at, its second column, as the index condition, so the scan read
-- the whole index: every failed or compensated saga of the history, to
-- count those of one day. With updated_at first the count reads the day's
-- entries alone (200,000 sagas, 26,000 of them failed or compensated: 225
-- index pages before, 6 after; docs/performance.md has the times).
-- 001_core's comment on saga_executions_failed_idx still names this query:
-- 001 is not edited (`migrate --status` would report it `changed` on every
-- database that has it); the index comments below say what each is for.
-- Built in the migration's transaction, so not CONCURRENTLY: writes to
-- saga_executions wait for one scan of the table (0.2 s for 200,000 sagas).
CREATE INDEX IF NOT EXISTS saga_executions_failed_updated_idx
    ON @schema@.saga_executions (updated_at)
    WHERE status IN ('failed', 'compensated');

COMMENT ON INDEX @schema@.saga_executions_failed_updated_idx IS
    'Overview failed (24h): count(*) WHERE status IN (''failed'', ''compensated'') AND updated_at > now() - 24h, reading only the entries of the window (004_unmask).';
-- A DBA may have dropped 001's index, which no opsdeck query needs now.
DO $$
BEGIN
    IF to_regclass('@schema@.saga_executions_failed_idx') IS NOT NULL THEN
        COMMENT ON INDEX @schema@.saga_executions_failed_idx IS
            'Failed and compensated sagas by status, then updated_at. Not the Overview''s failed (24h) count: saga_executions_failed_updated_idx (004_unmask) serves it.';
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Internal helper: called only from the functions below (so with their
-- owner's rights); EXECUTE is revoked from PUBLIC at the end.

-- _unmask_audit(c, action, kind, id, detail): the audit row of an unmask,
-- as _act_finish writes those of the actions: the time of the call, the
-- operator and where from (c, checked by _act_ctx), the login role of the
-- session (session_user, not this function's owner), outcome ok.
CREATE OR REPLACE FUNCTION @schema@._unmask_audit(c jsonb, p_action text, p_kind text, p_id text,
                                                  p_detail text)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO @schema@.audit_log
        (at, operator, db_user, client_host, client_addr, action, target_kind, target_id,
         reason, before, after, outcome, detail, idempotency_key)
    VALUES (clock_timestamp(), c ->> 'operator', session_user, c ->> 'client_host', c ->> 'client_addr',
            p_action, p_kind, p_id, NULL, NULL, NULL, 'ok', p_detail, NULL)
$$;

-- ---------------------------------------------------------------------------
-- The unmasking reads

CREATE OR REPLACE FUNCTION @schema@.unmask_saga(execution_id text, ctx jsonb)
RETURNS SETOF @schema@.saga_executions
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c jsonb := @schema@._act_ctx(ctx);
    p_id text := @schema@._act_id($1, 'the saga execution id');
    e @schema@.saga_executions%ROWTYPE;
BEGIN
    SELECT * INTO e FROM @schema@.saga_executions AS x WHERE x.execution_id = p_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM @schema@._unmask_audit(c, 'saga.unmask', 'saga', p_id,
        format('unmasked saga %s (version %s): its context and step results',
               @schema@._act_txt(p_id), e.version));
    RETURN NEXT e;
END
$$;

COMMENT ON FUNCTION @schema@.unmask_saga(text, jsonb) IS
    'opsdeck audited read: returns the execution (its context and steps unmasked by opsdeck) after writing the audit row saga.unmask; no row and no audit row for an unknown id.';

CREATE OR REPLACE FUNCTION @schema@.unmask_approval(approval_id text, ctx jsonb)
RETURNS SETOF @schema@.approvals
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c jsonb := @schema@._act_ctx(ctx);
    p_id text := @schema@._act_id($1, 'the approval id');
    a @schema@.approvals%ROWTYPE;
BEGIN
    SELECT * INTO a FROM @schema@.approvals AS x WHERE x.approval_id = p_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM @schema@._unmask_audit(c, 'approval.unmask', 'approval', p_id,
        format('unmasked approval %s (version %s): its request data',
               @schema@._act_txt(p_id), a.version));
    RETURN NEXT a;
END
$$;

COMMENT ON FUNCTION @schema@.unmask_approval(text, jsonb) IS
    'opsdeck audited read: returns the approval (its request data unmasked by opsdeck) after writing the audit row approval.unmask; no row and no audit row for an unknown id.';

-- ---------------------------------------------------------------------------
-- Privileges: opsdeck_operator alone, as the actions of 003_actions.
--
-- Why not opsdeck_viewer: an unmask writes an audit row, and a viewer
-- writes nothing, anywhere (CONTRACT.md: the viewer may read). Giving it
-- this function would give it a way to append to the audit log, and make
-- the one act that SPEC.md section 4 wants explicit and accounted for open
-- to the role meant for looking only. This is no secrecy boundary: a
-- viewer's SELECT on the tables returns context and request_data as they
-- are (opsdeck's `show` reads them so and masks them on its side), so
-- someone who skips opsdeck with psql sees them unaudited; keeping them
-- from such a role would take column privileges that the plain `show`
-- would then need a function for as well. The mask protects the
-- operator's screen, exports and logs; this function accounts for who
-- lifted it.

REVOKE ALL ON FUNCTION
    @schema@._unmask_audit(jsonb, text, text, text, text)
FROM PUBLIC;

REVOKE ALL ON FUNCTION
    @schema@.unmask_saga(text, jsonb),
    @schema@.unmask_approval(text, jsonb)
FROM PUBLIC, opsdeck_viewer;

GRANT EXECUTE ON FUNCTION
    @schema@.unmask_saga(text, jsonb),
    @schema@.unmask_approval(text, jsonb)
TO opsdeck_operator;
