-- 003_actions: the operator actions of CONTRACT.md ("Rules") on the
-- PostgreSQL half of the workflow store, one SECURITY DEFINER function per
-- action, executable by opsdeck_operator only:
--
--   act_approve(approval_id, note, ctx)            act_reject(approval_id, reason, ctx)
--   act_saga_abort(execution_id, reason, ctx)      act_saga_retry_step(execution_id, step_id, reason, ctx)
--   act_schedule_pause(schedule_id, note, resume_at, ctx)
--   act_schedule_resume(schedule_id, note, ctx)
--   act_schedule_trigger(schedule_id, overlap_policy, ctx)
--   act_schedule_backfill(schedule_id, range_start, range_end, overlap_policy, ctx)
--
-- ctx is {"operator": text (required), "client_host": text|null,
-- "client_addr": text|null, "idempotency_key": text|null,
-- "expect_version": integer|null}.
--
-- Each call is one transaction that (1) with an idempotency key, takes an
-- advisory lock on the key and returns the stored first outcome of that key
-- ("replayed": true, nothing changed, no audit row) -- the same key for
-- another action or target is bad input; (2) locks the target row; (3)
-- checks its state and the version the operator saw; (4) applies the change
-- and writes the signal (approve, reject, abort, retry_step) or schedule
-- request (trigger, backfill); (5) writes one audit_log row, for refusals
-- and unknown targets too; (6) stores the outcome under the key; (7) returns
--   {"outcome": "applied" | "refused" | "not_found", "action", "target_kind",
--    "target_id", "state", "by", "at", "version", "message",
--    "idempotency_key", "replayed": false, ...}
-- where state is the target's status after the call (the current one when
-- refused), by/at who set it and when (ISO 8601, UTC, Z), version the row's
-- version and message one line for the operator, e.g. "approval apr-7 was
-- already approved by alice at 2026-11-23 10:03Z; nothing changed".
-- Refusals because of state are results, not errors: nothing is changed but
-- the audit row and the stored outcome. Bad input (a blank reason or note,
-- an unknown overlap policy, an empty range, a resume time in the past, no
-- operator, a malformed ctx) raises SQLSTATE 22023 and changes nothing.
--
-- Races: the target row lock serialises two operators; in READ COMMITTED
-- (the default) the one who waited sees the winner's change and is refused
-- naming the winner. Under REPEATABLE READ or SERIALIZABLE the waiter fails
-- with 40001 (or, for a repeated key, 23505 on the signal or request key)
-- instead: never applied twice either way.
--
-- Applied by `opsdeck migrate` inside one transaction; @schema@ is replaced
-- by the configured schema name. Re-runnable (IF NOT EXISTS, OR REPLACE).
-- SECURITY DEFINER functions run with the rights of their owner (the role
-- that migrates), so their search_path is pinned to pg_catalog and every
-- object of the schema is named with it.

SET LOCAL client_min_messages = warning;

-- ---------------------------------------------------------------------------
-- The first outcome of every action that carried an idempotency key.

CREATE TABLE IF NOT EXISTS @schema@.action_results (
    idempotency_key text        NOT NULL PRIMARY KEY,
    action          text        NOT NULL,
    target_kind     text        NOT NULL,
    target_id       text        NOT NULL,
    result          jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE @schema@.action_results IS
    'Written by opsdeck''s action functions: the first outcome (the returned JSON) of each action that carried an idempotency key; a repeat of the key returns it with "replayed": true and changes nothing. Rows may be pruned by created_at once no client can retry them.';

-- pruning: DELETE ... WHERE created_at < now() - '30 days'
CREATE INDEX IF NOT EXISTS action_results_created_idx
    ON @schema@.action_results (created_at);

GRANT SELECT ON @schema@.action_results TO opsdeck_viewer;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
    ON @schema@.action_results FROM PUBLIC, opsdeck_viewer, opsdeck_operator;

-- ---------------------------------------------------------------------------
-- Internal helpers: called only from the action functions (so with their
-- owner's rights); EXECUTE is revoked from PUBLIC at the end.

-- _act_iso(t): t as ISO 8601 in UTC with a Z, e.g. 2026-11-23T10:03:07.123456Z.
CREATE OR REPLACE FUNCTION @schema@._act_iso(t timestamptz)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- _act_when(t): t for a message, to the minute in UTC: 2026-11-23 10:03Z.
CREATE OR REPLACE FUNCTION @schema@._act_when(t timestamptz)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI"Z"')
$$;

-- _act_txt(s): a stored or given text for a one-line message: control
-- characters become spaces, at most 80 characters; NULL stays NULL. The CLI and console
-- sanitize what they print anyway; this keeps the message one line.
CREATE OR REPLACE FUNCTION @schema@._act_txt(s text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN length(x) > 80 THEN left(x, 79) || '…' ELSE x END
      FROM (SELECT regexp_replace(s, '[[:cntrl:]]+', ' ', 'g') AS x) AS y
$$;

-- _act_bad(msg): raises msg as bad input (SQLSTATE 22023).
CREATE OR REPLACE FUNCTION @schema@._act_bad(msg text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '%', msg USING ERRCODE = '22023';
END
$$;

-- _act_id(v, what): a required id argument, not blank.
CREATE OR REPLACE FUNCTION @schema@._act_id(v text, what text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF v IS NULL OR btrim(v) = '' THEN
        PERFORM @schema@._act_bad(what || ' is missing');
    END IF;
    RETURN v;
END
$$;

-- _act_opt(v): an optional note or reason: NULL when blank.
CREATE OR REPLACE FUNCTION @schema@._act_opt(v text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN btrim(v, E' \t\r\n') = '' THEN NULL ELSE v END
$$;

-- _act_ctx(ctx): the action's context, checked, with every field present:
-- {operator, client_host, client_addr, idempotency_key, expect_version}.
CREATE OR REPLACE FUNCTION @schema@._act_ctx(ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f       text;
    v       jsonb;
    op      text;
    key     text;
    version bigint;
BEGIN
    IF ctx IS NULL OR jsonb_typeof(ctx) <> 'object' THEN
        PERFORM @schema@._act_bad('ctx must be a JSON object naming at least the operator, e.g. {"operator": "alice"}');
    END IF;
    FOREACH f IN ARRAY ARRAY['operator', 'client_host', 'client_addr', 'idempotency_key'] LOOP
        v := ctx -> f;
        IF v IS NOT NULL AND jsonb_typeof(v) NOT IN ('string', 'null') THEN
            PERFORM @schema@._act_bad(format('ctx.%s must be a string or null, not %s', f, jsonb_typeof(v)));
        END IF;
    END LOOP;
    op := ctx ->> 'operator';
    IF op IS NULL OR btrim(op) = '' THEN
        PERFORM @schema@._act_bad('the operator is missing: ctx.operator must name who acts');
    END IF;
    key := ctx ->> 'idempotency_key';
    IF key = '' OR length(key) > 1000 THEN
        PERFORM @schema@._act_bad('ctx.idempotency_key must be 1 to 1000 characters');
    END IF;
    v := ctx -> 'expect_version';
    IF v IS NOT NULL AND jsonb_typeof(v) <> 'null' THEN
        IF jsonb_typeof(v) NOT IN ('number', 'string') OR (v #>> '{}') !~ '^0*[1-9][0-9]{0,17}$' THEN
            PERFORM @schema@._act_bad(format('ctx.expect_version must be a positive integer, not %s', left(v::text, 40)));
        END IF;
        version := (v #>> '{}')::bigint;
    END IF;
    RETURN jsonb_build_object('operator', op,
                              'client_host', ctx ->> 'client_host',
                              'client_addr', ctx ->> 'client_addr',
                              'idempotency_key', key,
                              'expect_version', version);
END
$$;

-- _act_replay(action, kind, id, c, same): with an idempotency key in c,
-- takes the key's transaction advisory lock (a concurrent call with the same
-- key waits for the first to commit or roll back) and returns the stored
-- first outcome of the key with "replayed": true, or NULL when the key is
-- new. A key stored for another action or target (or, with `same`, one
-- whose result does not contain `same`) is bad input.
CREATE OR REPLACE FUNCTION @schema@._act_replay(p_action text, p_kind text, p_id text, c jsonb,
                                                same jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    key text := c ->> 'idempotency_key';
    r   @schema@.action_results%ROWTYPE;
BEGIN
    IF key IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('opsdeck.action.@schema@:' || key, 0));
    SELECT * INTO r FROM @schema@.action_results AS x WHERE x.idempotency_key = key;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF r.action <> p_action OR r.target_kind <> p_kind OR r.target_id <> p_id
       OR (same IS NOT NULL AND NOT r.result @> same) THEN
        PERFORM @schema@._act_bad(format(
            'idempotency key "%s" was already used for %s of %s %s at %s; use a new key for another action',
            @schema@._act_txt(key), r.action, r.target_kind, @schema@._act_txt(r.target_id)
                || coalesce(' step ' || @schema@._act_txt(r.result ->> 'step_id'), ''),
            @schema@._act_when(r.created_at)));
    END IF;
    RETURN r.result || '{"replayed": true}'::jsonb;
END
$$;

-- _act_result(...): the returned document, without the extras of an action.
CREATE OR REPLACE FUNCTION @schema@._act_result(p_outcome text, p_action text, p_kind text, p_id text,
                                                c jsonb, p_state text, p_by text, p_at timestamptz,
                                                p_version bigint, p_message text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('outcome', p_outcome, 'action', p_action,
                              'target_kind', p_kind, 'target_id', p_id,
                              'state', p_state, 'by', p_by, 'at', @schema@._act_iso(p_at),
                              'version', p_version, 'message', p_message,
                              'idempotency_key', c ->> 'idempotency_key', 'replayed', false)
$$;

-- _act_finish(c, result, reason, before, after, detail): writes the audit
-- row of the outcome in result (applied: ok; refused and not_found:
-- refused), stores result under the idempotency key if any, returns it.
-- db_user is session_user: the login role of the caller, not this
-- function's owner.
CREATE OR REPLACE FUNCTION @schema@._act_finish(c jsonb, res jsonb, p_reason text,
                                                p_before jsonb, p_after jsonb, p_detail text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO @schema@.audit_log
        (at, operator, db_user, client_host, client_addr, action, target_kind, target_id,
         reason, before, after, outcome, detail, idempotency_key)
    VALUES (clock_timestamp(), c ->> 'operator', session_user, c ->> 'client_host', c ->> 'client_addr',
            res ->> 'action', res ->> 'target_kind', res ->> 'target_id',
            p_reason, p_before, p_after,
            CASE res ->> 'outcome' WHEN 'applied' THEN 'ok' ELSE 'refused' END,
            coalesce(p_detail, res ->> 'message'), c ->> 'idempotency_key');
    IF c ->> 'idempotency_key' IS NOT NULL THEN
        INSERT INTO @schema@.action_results (idempotency_key, action, target_kind, target_id, result)
        VALUES (c ->> 'idempotency_key', res ->> 'action', res ->> 'target_kind',
                res ->> 'target_id', res);
    END IF;
    RETURN res;
END
$$;

-- _act_not_found(action, kind, id, c, what, reason): the not_found outcome
-- (audited as refused), "approval apr-9 not found; nothing changed".
CREATE OR REPLACE FUNCTION @schema@._act_not_found(p_action text, p_kind text, p_id text, c jsonb,
                                                   p_what text, p_reason text, p_extra jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT @schema@._act_finish(c,
               @schema@._act_result('not_found', p_action, p_kind, p_id, c, NULL, NULL, NULL, NULL,
                                    p_what || ' not found; nothing changed') || p_extra,
               p_reason, NULL, NULL, NULL)
$$;

-- _act_stale(what, row_version, c): the refusal message when the operator
-- saw another version than the row's, or NULL when no version was given or
-- it matches.
CREATE OR REPLACE FUNCTION @schema@._act_stale(p_what text, p_version bigint, c jsonb)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('%s changed since you looked: version %s, you saw %s; nothing changed',
                  p_what, p_version, c ->> 'expect_version')
     WHERE (c ->> 'expect_version')::bigint IS DISTINCT FROM p_version
       AND c ->> 'expect_version' IS NOT NULL
$$;

-- _act_key(c): the idempotency key of the signal or request an action
-- writes: the action's own, else a new one.
CREATE OR REPLACE FUNCTION @schema@._act_key(c jsonb)
RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(c ->> 'idempotency_key',
                    'opsdeck:' || md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text))
$$;

-- _act_overlap(p): an overlap policy argument: NULL (or blank) means the
-- schedule's own.
CREATE OR REPLACE FUNCTION @schema@._act_overlap(p text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF p IS NULL OR btrim(p) = '' THEN
        RETURN NULL;
    END IF;
    IF p NOT IN ('skip', 'buffer_one', 'buffer_all', 'cancel_other', 'allow_all') THEN
        PERFORM @schema@._act_bad(format(
            'overlap policy "%s" is not one of skip, buffer_one, buffer_all, cancel_other, allow_all',
            @schema@._act_txt(p)));
    END IF;
    RETURN p;
END
$$;

-- ---------------------------------------------------------------------------
-- Approvals: approve and reject flip a pending approval exactly once and
-- signal its workflow.

-- _act_decide(id, approved|rejected, note, ctx): approve and reject. The
-- returned by/at are who set the approval's status and when: the decider,
-- or for a pending one the requester. The state is checked before
-- expect_version, so that a loser learns who decided rather than only that
-- the version moved.
CREATE OR REPLACE FUNCTION @schema@._act_decide(p_id text, p_status text, p_note text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c      jsonb;
    action text := CASE p_status WHEN 'approved' THEN 'approve' ELSE 'reject' END;
    op     text;
    what   text;
    prev   jsonb;
    a      @schema@.approvals%ROWTYPE;
    b      @schema@.approvals%ROWTYPE;
    s      @schema@.signals%ROWTYPE;
    msg    text;
    extra  jsonb;
BEGIN
    c := @schema@._act_ctx(ctx);
    p_id := @schema@._act_id(p_id, 'the approval id');
    IF p_status = 'rejected' AND @schema@._act_opt(p_note) IS NULL THEN
        PERFORM @schema@._act_bad(format('a reason is required to reject approval %s', @schema@._act_txt(p_id)));
    END IF;
    p_note := @schema@._act_opt(p_note);
    op := c ->> 'operator';
    what := 'approval ' || @schema@._act_txt(p_id);

    prev := @schema@._act_replay(action, 'approval', p_id, c);
    IF prev IS NOT NULL THEN
        RETURN prev;
    END IF;

    SELECT * INTO a FROM @schema@.approvals AS x WHERE x.approval_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN @schema@._act_not_found(action, 'approval', p_id, c, what, p_note);
    END IF;

    IF a.status <> 'pending' THEN
        msg := format('%s was already %s%s%s; nothing changed', what, a.status,
                      coalesce(' by ' || @schema@._act_txt(a.decided_by), ''),
                      coalesce(' at ' || @schema@._act_when(coalesce(a.decided_at, a.updated_at)), ''));
    ELSE
        msg := @schema@._act_stale(what, a.version, c);
    END IF;
    IF msg IS NOT NULL THEN
        RETURN @schema@._act_finish(c,
            @schema@._act_result('refused', action, 'approval', p_id, c, a.status,
                                 CASE a.status WHEN 'pending' THEN a.requested_by ELSE a.decided_by END,
                                 CASE a.status WHEN 'pending' THEN a.requested_at
                                      ELSE coalesce(a.decided_at, a.updated_at) END,
                                 a.version, msg),
            p_note, to_jsonb(a), to_jsonb(a), NULL);
    END IF;

    UPDATE @schema@.approvals AS x
       SET status = p_status, decided_by = op, decided_at = now(), decision_note = p_note,
           version = x.version + 1, updated_at = now()
     WHERE x.approval_id = p_id
    RETURNING * INTO b;
    INSERT INTO @schema@.signals (workflow_id, name, payload, idempotency_key, created_by)
    VALUES (a.workflow_id, action,
            jsonb_build_object('approval_id', a.approval_id, 'workflow_id', a.workflow_id,
                               'step_id', a.step_id, 'decision', p_status,
                               CASE p_status WHEN 'approved' THEN 'note' ELSE 'reason' END, p_note,
                               'by', op, 'at', @schema@._act_iso(b.decided_at)),
            @schema@._act_key(c), op)
    RETURNING * INTO s;

    msg := format('%s %s', p_status, what);
    extra := jsonb_build_object('workflow_id', a.workflow_id, 'signal_id', s.signal_id);
    RETURN @schema@._act_finish(c,
        @schema@._act_result('applied', action, 'approval', p_id, c, b.status, b.decided_by,
                             b.decided_at, b.version, msg) || extra,
        p_note, to_jsonb(a), to_jsonb(b) || jsonb_build_object('signal', to_jsonb(s)),
        format('%s; signal %s (%s) to workflow %s', msg, s.signal_id, action, @schema@._act_txt(a.workflow_id)));
END
$$;

CREATE OR REPLACE FUNCTION @schema@.act_approve(approval_id text, note text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN @schema@._act_decide($1, 'approved', $2, $3);
END
$$;

COMMENT ON FUNCTION @schema@.act_approve(text, text, jsonb) IS
    'opsdeck action: approves a pending approval (note optional) and signals its workflow (approve); refused when not pending or changed since expect_version. Audited; idempotent by ctx.idempotency_key.';

CREATE OR REPLACE FUNCTION @schema@.act_reject(approval_id text, reason text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN @schema@._act_decide($1, 'rejected', $2, $3);
END
$$;

COMMENT ON FUNCTION @schema@.act_reject(text, text, jsonb) IS
    'opsdeck action: rejects a pending approval (reason required) and signals its workflow (reject); refused when not pending or changed since expect_version. Audited; idempotent by ctx.idempotency_key.';

-- ---------------------------------------------------------------------------
-- Sagas: abort and retry a step are signals to the execution's workflow
-- (workflow_id = execution_id); the engine acts on them. A request that the
-- engine has not consumed yet refuses the same request again, naming who
-- sent it.

CREATE OR REPLACE FUNCTION @schema@._act_saga_abort(p_id text, p_reason text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c      jsonb;
    action text := 'saga.abort';
    op     text;
    what   text;
    prev   jsonb;
    e      @schema@.saga_executions%ROWTYPE;
    s      @schema@.signals%ROWTYPE;
    msg    text;
    by_    text;
    at_    timestamptz;
BEGIN
    c := @schema@._act_ctx(ctx);
    p_id := @schema@._act_id(p_id, 'the saga execution id');
    p_reason := @schema@._act_opt(p_reason);
    IF p_reason IS NULL THEN
        PERFORM @schema@._act_bad(format('a reason is required to abort saga %s', @schema@._act_txt(p_id)));
    END IF;
    op := c ->> 'operator';
    what := 'saga ' || @schema@._act_txt(p_id);

    prev := @schema@._act_replay(action, 'saga', p_id, c);
    IF prev IS NOT NULL THEN
        RETURN prev;
    END IF;

    SELECT * INTO e FROM @schema@.saga_executions AS x WHERE x.execution_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN @schema@._act_not_found(action, 'saga', p_id, c, what, p_reason);
    END IF;

    at_ := coalesce(e.completed_at, e.updated_at);
    IF e.status NOT IN ('pending', 'running') THEN
        msg := format('%s is %s since %s, not pending or running; nothing changed',
                      what, e.status, @schema@._act_when(at_));
    ELSE
        msg := @schema@._act_stale(what, e.version, c);
    END IF;
    IF msg IS NULL THEN
        SELECT * INTO s FROM @schema@.signals AS x
         WHERE x.workflow_id = p_id AND x.name = 'abort' AND x.consumed_at IS NULL
         ORDER BY x.signal_id DESC LIMIT 1;
        IF FOUND THEN
            by_ := s.created_by;
            at_ := s.created_at;
            msg := format('an abort of %s was already requested by %s at %s and is not consumed yet; nothing changed',
                          what, @schema@._act_txt(s.created_by), @schema@._act_when(s.created_at));
        END IF;
    END IF;
    IF msg IS NOT NULL THEN
        RETURN @schema@._act_finish(c,
            @schema@._act_result('refused', action, 'saga', p_id, c, e.status, by_, at_, e.version, msg),
            p_reason, to_jsonb(e), to_jsonb(e), NULL);
    END IF;

    INSERT INTO @schema@.signals (workflow_id, name, payload, idempotency_key, created_by)
    VALUES (p_id, 'abort',
            jsonb_build_object('execution_id', p_id, 'saga_id', e.saga_id, 'reason', p_reason,
                               'by', op, 'at', @schema@._act_iso(now())),
            @schema@._act_key(c), op)
    RETURNING * INTO s;

    msg := format('abort of %s requested; the engine will compensate it', what);
    RETURN @schema@._act_finish(c,
        @schema@._act_result('applied', action, 'saga', p_id, c, e.status, op, s.created_at,
                             e.version, msg)
            || jsonb_build_object('workflow_id', p_id, 'signal_id', s.signal_id),
        p_reason, to_jsonb(e), to_jsonb(e) || jsonb_build_object('signal', to_jsonb(s)),
        format('%s; signal %s (abort) to workflow %s', msg, s.signal_id, @schema@._act_txt(p_id)));
END
$$;

CREATE OR REPLACE FUNCTION @schema@.act_saga_abort(execution_id text, reason text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN @schema@._act_saga_abort($1, $2, $3);
END
$$;

COMMENT ON FUNCTION @schema@.act_saga_abort(text, text, jsonb) IS
    'opsdeck action: asks the engine to abort (compensate) a pending or running saga with an abort signal (reason required); refused otherwise, or while an earlier abort is not consumed. Audited; idempotent by ctx.idempotency_key.';

CREATE OR REPLACE FUNCTION @schema@._act_saga_retry_step(p_id text, p_step text, p_reason text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c      jsonb;
    action text := 'saga.retry_step';
    op     text;
    what   text;
    swhat  text;
    prev   jsonb;
    e      @schema@.saga_executions%ROWTYPE;
    st     @schema@.saga_steps%ROWTYPE;
    s      @schema@.signals%ROWTYPE;
    msg    text;
    by_    text;
    at_    timestamptz;
    snap   jsonb;
    extra  jsonb;
BEGIN
    c := @schema@._act_ctx(ctx);
    p_id := @schema@._act_id(p_id, 'the saga execution id');
    p_step := @schema@._act_id(p_step, 'the step id');
    p_reason := @schema@._act_opt(p_reason);
    op := c ->> 'operator';
    what := 'saga ' || @schema@._act_txt(p_id);
    swhat := 'step ' || @schema@._act_txt(p_step) || ' of ' || what;
    extra := jsonb_build_object('step_id', p_step);

    prev := @schema@._act_replay(action, 'saga', p_id, c, extra);
    IF prev IS NOT NULL THEN
        RETURN prev;
    END IF;

    SELECT * INTO e FROM @schema@.saga_executions AS x WHERE x.execution_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN @schema@._act_not_found(action, 'saga', p_id, c, what, p_reason, extra);
    END IF;
    SELECT * INTO st FROM @schema@.saga_steps AS x
     WHERE x.execution_id = p_id AND x.step_id = p_step FOR UPDATE;
    IF NOT FOUND THEN
        RETURN @schema@._act_not_found(action, 'saga', p_id, c, swhat, p_reason, extra);
    END IF;
    extra := extra || jsonb_build_object('step_state', st.status);
    snap := to_jsonb(e) || jsonb_build_object('step', to_jsonb(st));

    at_ := coalesce(e.completed_at, e.updated_at);
    IF e.status IN ('completed', 'compensated', 'compensating') THEN
        msg := format('%s is %s since %s, its steps cannot be retried; nothing changed',
                      what, e.status, @schema@._act_when(at_));
    ELSIF st.status <> 'failed' THEN
        at_ := coalesce(st.completed_at, st.started_at, e.updated_at);
        msg := format('%s is %s, not failed; nothing changed', swhat, st.status);
    ELSE
        msg := @schema@._act_stale(what, e.version, c);
    END IF;
    IF msg IS NULL THEN
        SELECT * INTO s FROM @schema@.signals AS x
         WHERE x.workflow_id = p_id AND x.name = 'retry_step' AND x.consumed_at IS NULL
           AND x.payload ->> 'step_id' = p_step
         ORDER BY x.signal_id DESC LIMIT 1;
        IF FOUND THEN
            by_ := s.created_by;
            at_ := s.created_at;
            msg := format('a retry of %s was already requested by %s at %s and is not consumed yet; nothing changed',
                          swhat, @schema@._act_txt(s.created_by), @schema@._act_when(s.created_at));
        END IF;
    END IF;
    IF msg IS NOT NULL THEN
        RETURN @schema@._act_finish(c,
            @schema@._act_result('refused', action, 'saga', p_id, c, e.status, by_, at_, e.version, msg)
                || extra,
            p_reason, snap, snap, NULL);
    END IF;

    INSERT INTO @schema@.signals (workflow_id, name, payload, idempotency_key, created_by)
    VALUES (p_id, 'retry_step',
            jsonb_build_object('execution_id', p_id, 'saga_id', e.saga_id, 'step_id', p_step,
                               'retry_count', st.retry_count, 'reason', p_reason,
                               'by', op, 'at', @schema@._act_iso(now())),
            @schema@._act_key(c), op)
    RETURNING * INTO s;

    msg := format('retry of %s requested', swhat);
    RETURN @schema@._act_finish(c,
        @schema@._act_result('applied', action, 'saga', p_id, c, e.status, op, s.created_at,
                             e.version, msg)
            || extra || jsonb_build_object('workflow_id', p_id, 'signal_id', s.signal_id),
        p_reason, snap, snap || jsonb_build_object('signal', to_jsonb(s)),
        format('%s; signal %s (retry_step) to workflow %s', msg, s.signal_id, @schema@._act_txt(p_id)));
END
$$;

CREATE OR REPLACE FUNCTION @schema@.act_saga_retry_step(execution_id text, step_id text, reason text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN @schema@._act_saga_retry_step($1, $2, $3, $4);
END
$$;

COMMENT ON FUNCTION @schema@.act_saga_retry_step(text, text, text, jsonb) IS
    'opsdeck action: asks the engine to retry a failed step with a retry_step signal (reason optional); refused when the step is not failed, the saga is completed, compensating or compensated, or an earlier retry of the step is not consumed. Audited; idempotent by ctx.idempotency_key.';

-- ---------------------------------------------------------------------------
-- Schedules: pause and resume change the row (the engine honours paused and
-- resume_at); trigger and backfill are requests the engine consumes.

-- _act_sched_state(r): paused or active.
CREATE OR REPLACE FUNCTION @schema@._act_sched_state(paused boolean)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN paused THEN 'paused' ELSE 'active' END
$$;

CREATE OR REPLACE FUNCTION @schema@._act_schedule_pause(p_id text, p_note text, p_resume_at timestamptz, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c      jsonb;
    action text := 'schedule.pause';
    op     text;
    what   text;
    prev   jsonb;
    a      @schema@.schedules%ROWTYPE;
    b      @schema@.schedules%ROWTYPE;
    msg    text;
BEGIN
    c := @schema@._act_ctx(ctx);
    p_id := @schema@._act_id(p_id, 'the schedule id');
    p_note := @schema@._act_opt(p_note);
    IF p_note IS NULL THEN
        PERFORM @schema@._act_bad(format('a note is required to pause schedule %s', @schema@._act_txt(p_id)));
    END IF;
    IF p_resume_at IS NOT NULL AND p_resume_at <= now() THEN
        PERFORM @schema@._act_bad(format('the resume time %s is not in the future', @schema@._act_iso(p_resume_at)));
    END IF;
    op := c ->> 'operator';
    what := 'schedule ' || @schema@._act_txt(p_id);

    prev := @schema@._act_replay(action, 'schedule', p_id, c);
    IF prev IS NOT NULL THEN
        RETURN prev;
    END IF;

    SELECT * INTO a FROM @schema@.schedules AS x WHERE x.schedule_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN @schema@._act_not_found(action, 'schedule', p_id, c, what, p_note);
    END IF;

    IF a.paused THEN
        msg := format('%s was already paused%s%s%s%s; nothing changed', what,
                      coalesce(' by ' || @schema@._act_txt(a.paused_by), ''),
                      coalesce(' at ' || @schema@._act_when(a.paused_at), ''),
                      coalesce(' until ' || @schema@._act_when(a.resume_at), ''),
                      coalesce(' (note: ' || @schema@._act_txt(a.pause_note) || ')', ''));
    ELSE
        msg := @schema@._act_stale(what, a.version, c);
    END IF;
    IF msg IS NOT NULL THEN
        RETURN @schema@._act_finish(c,
            @schema@._act_result('refused', action, 'schedule', p_id, c, @schema@._act_sched_state(a.paused),
                                 CASE WHEN a.paused THEN a.paused_by END,
                                 CASE WHEN a.paused THEN a.paused_at ELSE a.updated_at END,
                                 a.version, msg)
                || jsonb_build_object('resume_at', @schema@._act_iso(a.resume_at),
                                      'pause_note', a.pause_note),
            p_note, to_jsonb(a), to_jsonb(a), NULL);
    END IF;

    UPDATE @schema@.schedules AS x
       SET paused = true, pause_note = p_note, paused_by = op, paused_at = now(),
           resume_at = p_resume_at, version = x.version + 1, updated_at = now()
     WHERE x.schedule_id = p_id
    RETURNING * INTO b;

    msg := format('paused %s%s', what, coalesce(' until ' || @schema@._act_when(p_resume_at), ''));
    RETURN @schema@._act_finish(c,
        @schema@._act_result('applied', action, 'schedule', p_id, c, 'paused', op, b.paused_at,
                             b.version, msg)
            || jsonb_build_object('resume_at', @schema@._act_iso(b.resume_at), 'pause_note', b.pause_note),
        p_note, to_jsonb(a), to_jsonb(b), NULL);
END
$$;

CREATE OR REPLACE FUNCTION @schema@.act_schedule_pause(schedule_id text, note text, resume_at timestamptz, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN @schema@._act_schedule_pause($1, $2, $3, $4);
END
$$;

COMMENT ON FUNCTION @schema@.act_schedule_pause(text, text, timestamptz, jsonb) IS
    'opsdeck action: pauses a schedule (note required; resume_at, in the future, for an automatic resume); refused when already paused (naming who, when, note) or changed since expect_version. Audited; idempotent by ctx.idempotency_key.';

CREATE OR REPLACE FUNCTION @schema@._act_schedule_resume(p_id text, p_note text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c      jsonb;
    action text := 'schedule.resume';
    op     text;
    what   text;
    prev   jsonb;
    a      @schema@.schedules%ROWTYPE;
    b      @schema@.schedules%ROWTYPE;
    l      @schema@.audit_log%ROWTYPE;
    msg    text;
    by_    text;
    at_    timestamptz;
BEGIN
    c := @schema@._act_ctx(ctx);
    p_id := @schema@._act_id(p_id, 'the schedule id');
    p_note := @schema@._act_opt(p_note);
    op := c ->> 'operator';
    what := 'schedule ' || @schema@._act_txt(p_id);

    prev := @schema@._act_replay(action, 'schedule', p_id, c);
    IF prev IS NOT NULL THEN
        RETURN prev;
    END IF;

    SELECT * INTO a FROM @schema@.schedules AS x WHERE x.schedule_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN @schema@._act_not_found(action, 'schedule', p_id, c, what, p_note);
    END IF;

    IF NOT a.paused THEN
        -- Who resumed it, if the last pause or resume on record was an
        -- operator's resume (the engine's automatic resumes leave none).
        SELECT * INTO l FROM @schema@.audit_log AS x
         WHERE x.target_kind = 'schedule' AND x.target_id = p_id AND x.outcome = 'ok'
           AND x.action IN ('schedule.pause', 'schedule.resume')
         ORDER BY x.at DESC, x.audit_id DESC LIMIT 1;
        IF FOUND AND l.action = 'schedule.resume' THEN
            by_ := l.operator;
            at_ := l.at;
        END IF;
        msg := format('%s is not paused%s; nothing changed', what,
                      coalesce(' (resumed by ' || @schema@._act_txt(by_) || ' at ' || @schema@._act_when(at_) || ')', ''));
    ELSE
        msg := @schema@._act_stale(what, a.version, c);
        by_ := a.paused_by;
        at_ := a.paused_at;
    END IF;
    IF msg IS NOT NULL THEN
        RETURN @schema@._act_finish(c,
            @schema@._act_result('refused', action, 'schedule', p_id, c, @schema@._act_sched_state(a.paused),
                                 by_, coalesce(at_, a.updated_at), a.version, msg),
            p_note, to_jsonb(a), to_jsonb(a), NULL);
    END IF;

    UPDATE @schema@.schedules AS x
       SET paused = false, pause_note = NULL, paused_by = NULL, paused_at = NULL, resume_at = NULL,
           version = x.version + 1, updated_at = now()
     WHERE x.schedule_id = p_id
    RETURNING * INTO b;

    msg := format('resumed %s (paused%s%s)', what,
                  coalesce(' by ' || @schema@._act_txt(a.paused_by), ''),
                  coalesce(' at ' || @schema@._act_when(a.paused_at), ''));
    RETURN @schema@._act_finish(c,
        @schema@._act_result('applied', action, 'schedule', p_id, c, 'active', op, b.updated_at,
                             b.version, msg),
        p_note, to_jsonb(a), to_jsonb(b), NULL);
END
$$;

CREATE OR REPLACE FUNCTION @schema@.act_schedule_resume(schedule_id text, note text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN @schema@._act_schedule_resume($1, $2, $3);
END
$$;

COMMENT ON FUNCTION @schema@.act_schedule_resume(text, text, jsonb) IS
    'opsdeck action: resumes a paused schedule (note optional), clearing pause_note, paused_by, paused_at and resume_at; refused when not paused or changed since expect_version. Audited; idempotent by ctx.idempotency_key.';

-- _act_schedule_request(...): trigger (no range) and backfill.
CREATE OR REPLACE FUNCTION @schema@._act_schedule_request(p_kind text, p_id text, p_start timestamptz,
                                                          p_end timestamptz, p_overlap text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c      jsonb;
    action text := 'schedule.' || p_kind;
    op     text;
    what   text;
    prev   jsonb;
    a      @schema@.schedules%ROWTYPE;
    r      @schema@.schedule_requests%ROWTYPE;
    msg    text;
    reason text;
BEGIN
    c := @schema@._act_ctx(ctx);
    p_id := @schema@._act_id(p_id, 'the schedule id');
    p_overlap := @schema@._act_overlap(p_overlap);
    IF p_kind = 'backfill' THEN
        IF p_start IS NULL OR p_end IS NULL THEN
            PERFORM @schema@._act_bad(format('a backfill of schedule %s needs a start and an end time',
                                             @schema@._act_txt(p_id)));
        END IF;
        IF p_start >= p_end THEN
            PERFORM @schema@._act_bad(format('the backfill range is empty: the start %s is not before the end %s',
                                             @schema@._act_iso(p_start), @schema@._act_iso(p_end)));
        END IF;
        reason := format('%s to %s', @schema@._act_iso(p_start), @schema@._act_iso(p_end));
    END IF;
    op := c ->> 'operator';
    what := 'schedule ' || @schema@._act_txt(p_id);

    prev := @schema@._act_replay(action, 'schedule', p_id, c);
    IF prev IS NOT NULL THEN
        RETURN prev;
    END IF;

    SELECT * INTO a FROM @schema@.schedules AS x WHERE x.schedule_id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN @schema@._act_not_found(action, 'schedule', p_id, c, what, reason);
    END IF;

    msg := @schema@._act_stale(what, a.version, c);
    IF msg IS NOT NULL THEN
        RETURN @schema@._act_finish(c,
            @schema@._act_result('refused', action, 'schedule', p_id, c, @schema@._act_sched_state(a.paused),
                                 CASE WHEN a.paused THEN a.paused_by END,
                                 CASE WHEN a.paused THEN a.paused_at ELSE a.updated_at END,
                                 a.version, msg),
            reason, to_jsonb(a), to_jsonb(a), NULL);
    END IF;

    INSERT INTO @schema@.schedule_requests
        (schedule_id, kind, overlap_policy, range_start, range_end, idempotency_key, created_by)
    VALUES (p_id, p_kind, p_overlap, p_start, p_end, @schema@._act_key(c), op)
    RETURNING * INTO r;

    IF p_kind = 'trigger' THEN
        msg := format('triggered %s now (overlap %s%s)', what, coalesce(p_overlap, a.overlap_policy),
                      CASE WHEN a.paused THEN ', though it is paused' ELSE '' END);
    ELSE
        msg := format('backfill of %s from %s to %s requested (overlap %s)', what,
                      @schema@._act_when(p_start), @schema@._act_when(p_end),
                      coalesce(p_overlap, a.overlap_policy));
    END IF;
    RETURN @schema@._act_finish(c,
        @schema@._act_result('applied', action, 'schedule', p_id, c, @schema@._act_sched_state(a.paused),
                             op, r.created_at, a.version, msg)
            || jsonb_build_object('request_id', r.request_id,
                                  'overlap_policy', coalesce(p_overlap, a.overlap_policy),
                                  'range_start', @schema@._act_iso(p_start),
                                  'range_end', @schema@._act_iso(p_end)),
        reason, to_jsonb(a), to_jsonb(a) || jsonb_build_object('request', to_jsonb(r)),
        format('%s; request %s', msg, r.request_id));
END
$$;

CREATE OR REPLACE FUNCTION @schema@.act_schedule_trigger(schedule_id text, overlap_policy text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN @schema@._act_schedule_request('trigger', $1, NULL, NULL, $2, $3);
END
$$;

COMMENT ON FUNCTION @schema@.act_schedule_trigger(text, text, jsonb) IS
    'opsdeck action: asks the engine to run a schedule now (a trigger request; overlap_policy NULL = the schedule''s). Audited; idempotent by ctx.idempotency_key.';

CREATE OR REPLACE FUNCTION @schema@.act_schedule_backfill(schedule_id text, range_start timestamptz,
                                                          range_end timestamptz, overlap_policy text, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN @schema@._act_schedule_request('backfill', $1, $2, $3, $4, $5);
END
$$;

COMMENT ON FUNCTION @schema@.act_schedule_backfill(text, timestamptz, timestamptz, text, jsonb) IS
    'opsdeck action: asks the engine to backfill a schedule over [range_start, range_end) (a backfill request; start before end; overlap_policy NULL = the schedule''s). Audited; idempotent by ctx.idempotency_key.';

-- ---------------------------------------------------------------------------
-- Privileges: the actions are for opsdeck_operator alone; the helpers for
-- no one but the owner.

REVOKE ALL ON FUNCTION
    @schema@._act_iso(timestamptz),
    @schema@._act_when(timestamptz),
    @schema@._act_txt(text),
    @schema@._act_bad(text),
    @schema@._act_id(text, text),
    @schema@._act_opt(text),
    @schema@._act_ctx(jsonb),
    @schema@._act_replay(text, text, text, jsonb, jsonb),
    @schema@._act_result(text, text, text, text, jsonb, text, text, timestamptz, bigint, text),
    @schema@._act_finish(jsonb, jsonb, text, jsonb, jsonb, text),
    @schema@._act_not_found(text, text, text, jsonb, text, text, jsonb),
    @schema@._act_stale(text, bigint, jsonb),
    @schema@._act_key(jsonb),
    @schema@._act_overlap(text),
    @schema@._act_decide(text, text, text, jsonb),
    @schema@._act_saga_abort(text, text, jsonb),
    @schema@._act_saga_retry_step(text, text, text, jsonb),
    @schema@._act_sched_state(boolean),
    @schema@._act_schedule_pause(text, text, timestamptz, jsonb),
    @schema@._act_schedule_resume(text, text, jsonb),
    @schema@._act_schedule_request(text, text, timestamptz, timestamptz, text, jsonb)
FROM PUBLIC;

REVOKE ALL ON FUNCTION
    @schema@.act_approve(text, text, jsonb),
    @schema@.act_reject(text, text, jsonb),
    @schema@.act_saga_abort(text, text, jsonb),
    @schema@.act_saga_retry_step(text, text, text, jsonb),
    @schema@.act_schedule_pause(text, text, timestamptz, jsonb),
    @schema@.act_schedule_resume(text, text, jsonb),
    @schema@.act_schedule_trigger(text, text, jsonb),
    @schema@.act_schedule_backfill(text, timestamptz, timestamptz, text, jsonb)
FROM PUBLIC, opsdeck_viewer;

GRANT EXECUTE ON FUNCTION
    @schema@.act_approve(text, text, jsonb),
    @schema@.act_reject(text, text, jsonb),
    @schema@.act_saga_abort(text, text, jsonb),
    @schema@.act_saga_retry_step(text, text, text, jsonb),
    @schema@.act_schedule_pause(text, text, timestamptz, jsonb),
    @schema@.act_schedule_resume(text, text, jsonb),
    @schema@.act_schedule_trigger(text, text, jsonb),
    @schema@.act_schedule_backfill(text, timestamptz, timestamptz, text, jsonb)
TO opsdeck_operator;
