-- 001_core: the workflow store of CONTRACT.md (PostgreSQL half): the tables
-- the workflow engine writes (saga executions and steps, approvals,
-- schedules) and the ones opsdeck writes (signals, schedule requests, the
-- audit log), save_saga() for engines that persist sagas the seed-004 way,
-- change notifications, the indexes behind the views of SPEC.md section 2,
-- and the opsdeck_viewer / opsdeck_operator roles.
--
-- Applied by `opsdeck migrate` inside one transaction, after it has created
-- the schema and its schema_migrations table; every @schema@ below is
-- replaced by the configured schema name. The statements are nevertheless
-- written to be re-runnable (IF NOT EXISTS, OR REPLACE, DROP ... IF EXISTS).
--
-- Conventions: ids are text; JSON is jsonb; times are timestamptz (a time
-- without a zone in an engine's document means UTC); every row an operator
-- can act on carries version (bigint, starts at 1, increases with each
-- change: a trigger bumps it for writers that forget) so that actions can be
-- refused when the row changed since the operator looked.

-- The IF NOT EXISTS / IF EXISTS clauses below would each send a NOTICE on a
-- re-run; keep the runner's output quiet (until the end of its transaction).
SET LOCAL client_min_messages = warning;

-- ---------------------------------------------------------------------------
-- Helpers

-- parse_ts(text, what): an ISO 8601 time as written by Python's
-- datetime.isoformat() or str(datetime): "2026-11-23T17:52:16.961247",
-- "2026-11-23 17:52:16", "2026-11-23", optionally with a zone ("Z",
-- "+01:00", "+0100", "+01"). A time without a zone is UTC, whatever the
-- session's TimeZone. NULL gives NULL; any other shape (PostgreSQL's own
-- "now", "yesterday", "11/23/2026", ...) is refused with SQLSTATE 22007
-- naming `what` (e.g. "steps[2].started_at") when given; a well-shaped but
-- impossible date fails as the cast does (22008).
CREATE OR REPLACE FUNCTION @schema@.parse_ts(t text, what text DEFAULT NULL)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s    text := btrim(t);
    tail text;
BEGIN
    IF t IS NULL THEN
        RETURN NULL;
    END IF;
    -- A plain match with [0-9] classes: regexp_match with groups and digit escapes
    -- costs fifty times more, and save_saga parses many times.
    IF s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?[[:space:]]*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?$' THEN
        RAISE EXCEPTION '%not an ISO 8601 time: "%"', coalesce(what || ': ', ''), left(t, 80)
            USING ERRCODE = '22007',
                  HINT = 'Write e.g. 2026-11-23T17:52:16.961247 (UTC) or 2026-11-23T18:52:16+01:00.';
    END IF;
    -- Past the date, Z, + and - can only be a zone.
    tail := substr(s, 11);
    IF tail ~ '[Zz+-]' THEN
        RETURN s::timestamptz;
    END IF;
    RETURN s::timestamp AT TIME ZONE 'UTC';
END
$$;

COMMENT ON FUNCTION @schema@.parse_ts(text, text) IS
    'ISO 8601 time (Python isoformat()/str(datetime)) to timestamptz; no zone means UTC; bad input raises 22007.';

-- _doc_ts(v, what): a time field of a JSON document: null (or absent) gives
-- NULL, a string goes through parse_ts, a number is unix seconds.
CREATE OR REPLACE FUNCTION @schema@._doc_ts(v jsonb, what text)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    CASE coalesce(jsonb_typeof(v), 'null')
    WHEN 'null' THEN
        RETURN NULL;
    WHEN 'string' THEN
        RETURN @schema@.parse_ts(v #>> '{}', what);
    WHEN 'number' THEN
        RETURN to_timestamp((v #>> '{}')::double precision);
    ELSE
        RAISE EXCEPTION 'save_saga: % must be an ISO 8601 time string or null, not %',
            what, jsonb_typeof(v) USING ERRCODE = '22023';
    END CASE;
END
$$;

-- _doc_text(v, what, required): a text field of a JSON document. Strings are
-- taken as they are, numbers and booleans as their JSON text; objects and
-- arrays are refused. A required field must be present and not empty.
CREATE OR REPLACE FUNCTION @schema@._doc_text(v jsonb, what text, required boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    CASE coalesce(jsonb_typeof(v), 'null')
    WHEN 'null' THEN
        IF required THEN
            RAISE EXCEPTION 'save_saga: the document has no %', what
                USING ERRCODE = '22023',
                      HINT = 'save_saga takes the state built by _persist_state: execution_id, saga_id, status, context, started_at, completed_at, error, steps.';
        END IF;
        RETURN NULL;
    WHEN 'string', 'number', 'boolean' THEN
        IF required AND (v #>> '{}') = '' THEN
            RAISE EXCEPTION 'save_saga: % is empty', what USING ERRCODE = '22023';
        END IF;
        RETURN v #>> '{}';
    ELSE
        RAISE EXCEPTION 'save_saga: % must be a string, not %', what, jsonb_typeof(v)
            USING ERRCODE = '22023';
    END CASE;
END
$$;

-- _doc_int(v, what): a non-negative integer field (a JSON number, or a
-- string of digits); null gives NULL.
CREATE OR REPLACE FUNCTION @schema@._doc_int(v jsonb, what text)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s text := v #>> '{}';
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) NOT IN ('number', 'string') OR s !~ '^[[:space:]]*[0-9]{1,9}([.]0*)?[[:space:]]*$' THEN
        RAISE EXCEPTION 'save_saga: % must be a non-negative integer, not %', what, left(v::text, 40)
            USING ERRCODE = '22023';
    END IF;
    RETURN s::numeric::integer;
END
$$;

-- ---------------------------------------------------------------------------
-- Saga executions and steps (written by the engine)

CREATE TABLE IF NOT EXISTS @schema@.saga_executions (
    execution_id text        NOT NULL PRIMARY KEY,
    saga_id      text        NOT NULL,
    name         text,
    status       text        NOT NULL
        CONSTRAINT saga_executions_status_check
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'compensating', 'compensated')),
    context      jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error        text,
    trace_id     text,
    started_at   timestamptz,
    completed_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      bigint      NOT NULL DEFAULT 1 CONSTRAINT saga_executions_version_check CHECK (version >= 1)
);

COMMENT ON TABLE @schema@.saga_executions IS
    'Written by the workflow engine (directly or through save_saga): one row per saga execution, as seed 004 _persist_state. opsdeck reads it.';
COMMENT ON COLUMN @schema@.saga_executions.trace_id IS
    'Correlation id: the document''s trace_id, else context.trace_id.';
COMMENT ON COLUMN @schema@.saga_executions.created_at IS
    'When the execution was first saved; lists page by (created_at, execution_id) descending.';
COMMENT ON COLUMN @schema@.saga_executions.version IS
    'Starts at 1 and increases with each change of the execution or of its steps.';

CREATE TABLE IF NOT EXISTS @schema@.saga_steps (
    execution_id text        NOT NULL
        REFERENCES @schema@.saga_executions (execution_id) ON DELETE CASCADE,
    step_id      text        NOT NULL,
    position     integer     NOT NULL CONSTRAINT saga_steps_position_check CHECK (position >= 0),
    name         text,
    status       text        NOT NULL
        CONSTRAINT saga_steps_status_check
        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'compensating', 'compensated', 'skipped')),
    result       jsonb,
    error        text,
    started_at   timestamptz,
    completed_at timestamptz,
    retry_count  integer     NOT NULL DEFAULT 0 CONSTRAINT saga_steps_retry_count_check CHECK (retry_count >= 0),
    max_retries  integer     CONSTRAINT saga_steps_max_retries_check CHECK (max_retries >= 0),
    PRIMARY KEY (execution_id, step_id)
) WITH (fillfactor = 80);
-- fillfactor: step rows are updated in place several times per execution
-- and no indexed column changes, so the updates can stay HOT.

COMMENT ON TABLE @schema@.saga_steps IS
    'Written by the workflow engine (directly or through save_saga): the steps of an execution; position is the index in the document''s steps array. opsdeck reads it.';

-- ---------------------------------------------------------------------------
-- Approvals and schedules (written by the engine; opsdeck changes them only
-- through its action functions)

CREATE TABLE IF NOT EXISTS @schema@.approvals (
    approval_id    text        NOT NULL PRIMARY KEY,
    workflow_id    text        NOT NULL,
    step_id        text,
    title          text,
    request_data   jsonb       NOT NULL DEFAULT '{}'::jsonb,
    requested_by   text,
    assignee_group text,
    requested_at   timestamptz NOT NULL DEFAULT now(),
    due_at         timestamptz,
    escalate_at    timestamptz,
    escalated_at   timestamptz,
    status         text        NOT NULL DEFAULT 'pending'
        CONSTRAINT approvals_status_check
        CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'cancelled')),
    decided_by     text,
    decided_at     timestamptz,
    decision_note  text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        bigint      NOT NULL DEFAULT 1 CONSTRAINT approvals_version_check CHECK (version >= 1)
);

COMMENT ON TABLE @schema@.approvals IS
    'Written by the workflow engine (human-in-the-loop requests, seed 002 14.2); decided by opsdeck through its action functions, which also signal the workflow.';
COMMENT ON COLUMN @schema@.approvals.due_at IS 'The timeout: pending after this is overdue.';

CREATE TABLE IF NOT EXISTS @schema@.schedules (
    schedule_id      text        NOT NULL PRIMARY KEY,
    workflow_type    text        NOT NULL,
    cron_expressions text[]      NOT NULL DEFAULT '{}',
    interval_seconds integer     CONSTRAINT schedules_interval_seconds_check CHECK (interval_seconds > 0),
    timezone         text        NOT NULL DEFAULT 'UTC',
    overlap_policy   text        NOT NULL DEFAULT 'skip'
        CONSTRAINT schedules_overlap_policy_check
        CHECK (overlap_policy IN ('skip', 'buffer_one', 'buffer_all', 'cancel_other', 'allow_all')),
    paused           boolean     NOT NULL DEFAULT false,
    pause_note       text,
    paused_by        text,
    paused_at        timestamptz,
    resume_at        timestamptz,
    last_run_at      timestamptz,
    last_run_status  text,
    last_workflow_id text,
    next_run_at      timestamptz,
    running_count    integer     NOT NULL DEFAULT 0 CONSTRAINT schedules_running_count_check CHECK (running_count >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          bigint      NOT NULL DEFAULT 1 CONSTRAINT schedules_version_check CHECK (version >= 1),
    CONSTRAINT schedules_spec_check
        CHECK (cardinality(cron_expressions) > 0 OR interval_seconds IS NOT NULL),
    CONSTRAINT schedules_cron_expressions_check
        CHECK (array_ndims(cron_expressions) IS NULL
               OR (array_ndims(cron_expressions) = 1 AND array_position(cron_expressions, NULL) IS NULL))
);

COMMENT ON TABLE @schema@.schedules IS
    'Written by the workflow engine (seed 002 14.3; it honours paused and resume_at); paused/resumed by opsdeck through its action functions.';
COMMENT ON COLUMN @schema@.schedules.cron_expressions IS
    '5-field cron expressions (minute hour day-of-month month day-of-week); empty when interval_seconds is used.';
COMMENT ON COLUMN @schema@.schedules.resume_at IS 'Automatic resume time of a paused schedule; NULL: until resumed by hand.';

-- ---------------------------------------------------------------------------
-- Written by opsdeck (through its action functions), read by the engine

CREATE TABLE IF NOT EXISTS @schema@.signals (
    signal_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow_id     text        NOT NULL,
    name            text        NOT NULL,
    payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    idempotency_key text        CONSTRAINT signals_idempotency_key_key UNIQUE,
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    consumed_at     timestamptz
);

COMMENT ON TABLE @schema@.signals IS
    'Written by opsdeck (outbox of signals to running workflows: approve, reject, abort, retry_step, ...); the engine reads it and sets consumed_at. An insert notifies wf_signals.';

CREATE TABLE IF NOT EXISTS @schema@.schedule_requests (
    request_id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    schedule_id     text        NOT NULL
        REFERENCES @schema@.schedules (schedule_id) ON DELETE CASCADE,
    kind            text        NOT NULL
        CONSTRAINT schedule_requests_kind_check CHECK (kind IN ('trigger', 'backfill')),
    overlap_policy  text
        CONSTRAINT schedule_requests_overlap_policy_check
        CHECK (overlap_policy IN ('skip', 'buffer_one', 'buffer_all', 'cancel_other', 'allow_all')),
    range_start     timestamptz,
    range_end       timestamptz,
    idempotency_key text        CONSTRAINT schedule_requests_idempotency_key_key UNIQUE,
    created_by      text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    consumed_at     timestamptz,
    CONSTRAINT schedule_requests_range_check CHECK (
        CASE kind
        WHEN 'backfill' THEN range_start IS NOT NULL AND range_end IS NOT NULL AND range_start <= range_end
        ELSE range_start IS NULL AND range_end IS NULL
        END)
);

COMMENT ON TABLE @schema@.schedule_requests IS
    'Written by opsdeck (trigger now, backfill a range); the engine reads it and sets consumed_at. overlap_policy NULL means the schedule''s own. An insert notifies wf_schedule_requests.';

CREATE TABLE IF NOT EXISTS @schema@.audit_log (
    audit_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    operator        text        NOT NULL,
    db_user         text        NOT NULL DEFAULT session_user,
    client_host     text,
    client_addr     text,
    action          text        NOT NULL,
    target_kind     text        NOT NULL,
    target_id       text,
    reason          text,
    before          jsonb,
    after           jsonb,
    outcome         text        NOT NULL
        CONSTRAINT audit_log_outcome_check CHECK (outcome IN ('ok', 'refused', 'failed')),
    detail          text,
    idempotency_key text
);

COMMENT ON TABLE @schema@.audit_log IS
    'Written by opsdeck''s action functions, in the transaction of the change: one row per operator action and target (who, from where, when, what, reason, before/after, outcome). Append-only: no opsdeck role may write it directly.';
COMMENT ON COLUMN @schema@.audit_log.operator IS 'The operator as opsdeck knows them (config, SUDO_USER, USER).';
COMMENT ON COLUMN @schema@.audit_log.db_user IS 'The database role of the session (session_user), whoever the operator claims to be.';
COMMENT ON COLUMN @schema@.audit_log.client_addr IS 'The SSH client address (from SSH_CONNECTION) where present.';

-- ---------------------------------------------------------------------------
-- Indexes. Lists page with keysets, so each list index ends with the row's
-- key in the same direction as the sort; counts of the overview come from
-- small partial indexes (index-only scans), never from the tables.

-- sagas list: ORDER BY created_at DESC, execution_id DESC
--   WHERE (created_at, execution_id) < ($after) [AND created_at >= now() - $since]
CREATE INDEX IF NOT EXISTS saga_executions_created_idx
    ON @schema@.saga_executions (created_at DESC, execution_id DESC);
-- sagas list --status S: WHERE status = $1 ORDER BY created_at DESC, execution_id DESC
CREATE INDEX IF NOT EXISTS saga_executions_status_created_idx
    ON @schema@.saga_executions (status, created_at DESC, execution_id DESC);
-- sagas list --saga ID: WHERE saga_id = $1 ORDER BY created_at DESC, execution_id DESC
CREATE INDEX IF NOT EXISTS saga_executions_saga_created_idx
    ON @schema@.saga_executions (saga_id, created_at DESC, execution_id DESC);
-- sagas list by name: WHERE name = $1 ORDER BY created_at DESC, execution_id DESC
CREATE INDEX IF NOT EXISTS saga_executions_name_created_idx
    ON @schema@.saga_executions (name, created_at DESC, execution_id DESC) WHERE name IS NOT NULL;
-- cross-links: WHERE trace_id = $1 (the saga of an event or approval)
CREATE INDEX IF NOT EXISTS saga_executions_trace_idx
    ON @schema@.saga_executions (trace_id) WHERE trace_id IS NOT NULL;
-- overview: SELECT status, count(*) ... WHERE status IN ('running', 'compensating', 'pending')
--   GROUP BY status; stuck sagas: ... ORDER BY updated_at (oldest change first)
CREATE INDEX IF NOT EXISTS saga_executions_active_idx
    ON @schema@.saga_executions (status, updated_at)
    WHERE status IN ('running', 'compensating', 'pending');
-- overview: SELECT count(*) ... WHERE status IN ('failed', 'compensated')
--   AND updated_at > now() - '24 hours' (a failed saga ends compensated in seed 004)
CREATE INDEX IF NOT EXISTS saga_executions_failed_idx
    ON @schema@.saga_executions (status, updated_at DESC)
    WHERE status IN ('failed', 'compensated');

-- approvals list (pending, most urgent first), overview overdue count:
--   WHERE status = 'pending' ORDER BY due_at, approval_id  /  ... AND due_at < now()
CREATE INDEX IF NOT EXISTS approvals_pending_due_idx
    ON @schema@.approvals (due_at, approval_id) WHERE status = 'pending';
-- overview pending count, overdue count and oldest age in one index-only
-- scan, alert "pending > 1 h"; approvals list --status pending oldest first:
--   SELECT count(*), count(*) FILTER (WHERE due_at < now()), min(requested_at)
--     ... WHERE status = 'pending'
CREATE INDEX IF NOT EXISTS approvals_pending_requested_idx
    ON @schema@.approvals (requested_at, approval_id) INCLUDE (due_at) WHERE status = 'pending';
-- escalation sweep and countdowns: WHERE status = 'pending' AND escalated_at IS NULL
--   ORDER BY escalate_at
CREATE INDEX IF NOT EXISTS approvals_pending_escalate_idx
    ON @schema@.approvals (escalate_at)
    WHERE status = 'pending' AND escalate_at IS NOT NULL AND escalated_at IS NULL;
-- cross-links: WHERE workflow_id = $1 (the approvals of a saga)
CREATE INDEX IF NOT EXISTS approvals_workflow_idx
    ON @schema@.approvals (workflow_id);
-- approvals list --status S: WHERE status = $1 ORDER BY requested_at DESC, approval_id DESC
CREATE INDEX IF NOT EXISTS approvals_status_requested_idx
    ON @schema@.approvals (status, requested_at DESC, approval_id DESC);
-- approvals list (all): ORDER BY requested_at DESC, approval_id DESC
CREATE INDEX IF NOT EXISTS approvals_requested_idx
    ON @schema@.approvals (requested_at DESC, approval_id DESC);

-- schedules list --paused, overview paused count: WHERE paused ORDER BY schedule_id
CREATE INDEX IF NOT EXISTS schedules_paused_idx
    ON @schema@.schedules (schedule_id) WHERE paused;
-- overview next runs: WHERE NOT paused ORDER BY next_run_at LIMIT n (engine: due runs)
CREATE INDEX IF NOT EXISTS schedules_next_run_idx
    ON @schema@.schedules (next_run_at, schedule_id) WHERE NOT paused;
-- auto-resume (engine) and "paused until": WHERE paused AND resume_at <= now()
CREATE INDEX IF NOT EXISTS schedules_resume_idx
    ON @schema@.schedules (resume_at) WHERE paused AND resume_at IS NOT NULL;
-- bulk pause by filter: WHERE workflow_type = $1
CREATE INDEX IF NOT EXISTS schedules_workflow_type_idx
    ON @schema@.schedules (workflow_type);

-- engine outbox: WHERE consumed_at IS NULL ORDER BY signal_id
CREATE INDEX IF NOT EXISTS signals_unconsumed_idx
    ON @schema@.signals (signal_id) WHERE consumed_at IS NULL;
-- history of a workflow: WHERE workflow_id = $1 ORDER BY signal_id DESC
CREATE INDEX IF NOT EXISTS signals_workflow_idx
    ON @schema@.signals (workflow_id, signal_id);

-- engine outbox: WHERE consumed_at IS NULL ORDER BY request_id
CREATE INDEX IF NOT EXISTS schedule_requests_unconsumed_idx
    ON @schema@.schedule_requests (request_id) WHERE consumed_at IS NULL;
-- history of a schedule (and the foreign key's cascade): WHERE schedule_id = $1
CREATE INDEX IF NOT EXISTS schedule_requests_schedule_idx
    ON @schema@.schedule_requests (schedule_id, request_id);

-- audit list: ORDER BY at DESC, audit_id DESC [WHERE at >= now() - $since]
CREATE INDEX IF NOT EXISTS audit_log_at_idx
    ON @schema@.audit_log (at DESC, audit_id DESC);
-- audit list --operator O: WHERE operator = $1 ORDER BY at DESC, audit_id DESC
CREATE INDEX IF NOT EXISTS audit_log_operator_idx
    ON @schema@.audit_log (operator, at DESC, audit_id DESC);
-- audit list --action A: WHERE action = $1 ORDER BY at DESC, audit_id DESC
CREATE INDEX IF NOT EXISTS audit_log_action_idx
    ON @schema@.audit_log (action, at DESC, audit_id DESC);
-- history of one item (detail views, "who changed it"):
--   WHERE target_kind = $1 AND target_id = $2 ORDER BY at DESC, audit_id DESC
CREATE INDEX IF NOT EXISTS audit_log_target_idx
    ON @schema@.audit_log (target_kind, target_id, at DESC, audit_id DESC);
-- idempotent retries: WHERE idempotency_key = $1 (the first result of an action)
CREATE INDEX IF NOT EXISTS audit_log_idempotency_idx
    ON @schema@.audit_log (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- ---------------------------------------------------------------------------
-- Versions and change notifications

-- Before an update that changes a row: bump version unless the writer did,
-- and set updated_at unless the writer did. An update that changes nothing
-- leaves both alone.
CREATE OR REPLACE FUNCTION @schema@._touch_version()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        IF NEW.version = OLD.version THEN
            NEW.version := OLD.version + 1;
        END IF;
        IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
            NEW.updated_at := now();
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- After a change of an execution, step, approval or schedule: NOTIFY
-- wf_changes with {"schema", "kind", "id"} (a step notifies its execution).
-- PostgreSQL delivers identical payloads of one transaction once. An id too
-- long for a notification is sent as null ("refresh everything").
CREATE OR REPLACE FUNCTION @schema@._notify_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r       record;
    id      text;
    payload text;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    CASE TG_TABLE_NAME
    WHEN 'saga_executions', 'saga_steps' THEN id := r.execution_id;
    WHEN 'approvals' THEN id := r.approval_id;
    WHEN 'schedules' THEN id := r.schedule_id;
    END CASE;
    payload := jsonb_build_object('schema', TG_TABLE_SCHEMA, 'kind', TG_ARGV[0], 'id', id)::text;
    IF octet_length(payload) > 7900 THEN
        payload := jsonb_build_object('schema', TG_TABLE_SCHEMA, 'kind', TG_ARGV[0], 'id', NULL)::text;
    END IF;
    PERFORM pg_notify('wf_changes', payload);
    RETURN NULL;
END
$$;

-- After a signal is inserted: NOTIFY wf_signals with
-- {"schema", "signal_id", "workflow_id", "name"}.
CREATE OR REPLACE FUNCTION @schema@._notify_signal()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    payload text;
BEGIN
    payload := jsonb_build_object('schema', TG_TABLE_SCHEMA, 'signal_id', NEW.signal_id,
                                  'workflow_id', NEW.workflow_id, 'name', NEW.name)::text;
    IF octet_length(payload) > 7900 THEN
        payload := jsonb_build_object('schema', TG_TABLE_SCHEMA, 'signal_id', NEW.signal_id,
                                      'workflow_id', NULL, 'name', NULL)::text;
    END IF;
    PERFORM pg_notify('wf_signals', payload);
    RETURN NULL;
END
$$;

-- After a schedule request is inserted: NOTIFY wf_schedule_requests with
-- {"schema", "request_id", "schedule_id", "kind"}.
CREATE OR REPLACE FUNCTION @schema@._notify_schedule_request()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    payload text;
BEGIN
    payload := jsonb_build_object('schema', TG_TABLE_SCHEMA, 'request_id', NEW.request_id,
                                  'schedule_id', NEW.schedule_id, 'kind', NEW.kind)::text;
    IF octet_length(payload) > 7900 THEN
        payload := jsonb_build_object('schema', TG_TABLE_SCHEMA, 'request_id', NEW.request_id,
                                      'schedule_id', NULL, 'kind', NEW.kind)::text;
    END IF;
    PERFORM pg_notify('wf_schedule_requests', payload);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS saga_executions_version ON @schema@.saga_executions;
CREATE TRIGGER saga_executions_version
    BEFORE UPDATE ON @schema@.saga_executions
    FOR EACH ROW EXECUTE FUNCTION @schema@._touch_version();
DROP TRIGGER IF EXISTS approvals_version ON @schema@.approvals;
CREATE TRIGGER approvals_version
    BEFORE UPDATE ON @schema@.approvals
    FOR EACH ROW EXECUTE FUNCTION @schema@._touch_version();
DROP TRIGGER IF EXISTS schedules_version ON @schema@.schedules;
CREATE TRIGGER schedules_version
    BEFORE UPDATE ON @schema@.schedules
    FOR EACH ROW EXECUTE FUNCTION @schema@._touch_version();

DROP TRIGGER IF EXISTS saga_executions_notify ON @schema@.saga_executions;
CREATE TRIGGER saga_executions_notify
    AFTER INSERT OR UPDATE OR DELETE ON @schema@.saga_executions
    FOR EACH ROW EXECUTE FUNCTION @schema@._notify_change('saga');
DROP TRIGGER IF EXISTS saga_steps_notify ON @schema@.saga_steps;
CREATE TRIGGER saga_steps_notify
    AFTER INSERT OR UPDATE OR DELETE ON @schema@.saga_steps
    FOR EACH ROW EXECUTE FUNCTION @schema@._notify_change('saga');
DROP TRIGGER IF EXISTS approvals_notify ON @schema@.approvals;
CREATE TRIGGER approvals_notify
    AFTER INSERT OR UPDATE OR DELETE ON @schema@.approvals
    FOR EACH ROW EXECUTE FUNCTION @schema@._notify_change('approval');
DROP TRIGGER IF EXISTS schedules_notify ON @schema@.schedules;
CREATE TRIGGER schedules_notify
    AFTER INSERT OR UPDATE OR DELETE ON @schema@.schedules
    FOR EACH ROW EXECUTE FUNCTION @schema@._notify_change('schedule');
DROP TRIGGER IF EXISTS signals_notify ON @schema@.signals;
CREATE TRIGGER signals_notify
    AFTER INSERT ON @schema@.signals
    FOR EACH ROW EXECUTE FUNCTION @schema@._notify_signal();
DROP TRIGGER IF EXISTS schedule_requests_notify ON @schema@.schedule_requests;
CREATE TRIGGER schedule_requests_notify
    AFTER INSERT ON @schema@.schedule_requests
    FOR EACH ROW EXECUTE FUNCTION @schema@._notify_schedule_request();

-- ---------------------------------------------------------------------------
-- save_saga(state): upserts an execution and its steps from exactly the
-- document seed 004's SagaExecution._persist_state builds:
--   {execution_id, saga_id, status, context, started_at, completed_at, error,
--    steps: [{step_id, name, status, result, error, started_at,
--             completed_at, retry_count}, ...]}
-- JSON null is accepted wherever the seed may write None; those fields are
-- stored as given. Other fields are ignored, except name and trace_id on the
-- execution and max_retries on a step: a non-null value is stored, null or
-- absent keeps what is stored. trace_id falls back to context.trace_id.
-- Steps are matched by step_id, position is the index in steps, and stored
-- steps missing from the document are deleted. The version increases only
-- when something changed, so saving the same state twice changes (and
-- notifies) nothing. Returns the execution's version after the save. A
-- malformed document raises 22023 (22007 for a malformed time) and changes
-- nothing.
--
-- SECURITY DEFINER: it runs with its owner's rights, so the engine's role
-- needs no right on any table, only USAGE on the schema and EXECUTE on this
-- function, which the DBA grants (EXECUTE is revoked from PUBLIC below):
--   GRANT USAGE ON SCHEMA @schema@ TO engine;
--   GRANT EXECUTE ON FUNCTION @schema@.save_saga(jsonb) TO engine;
-- Hence the pinned search_path and every table and function of the schema
-- named with it; what is left unqualified is pg_catalog's.
CREATE OR REPLACE FUNCTION @schema@.save_saga(state jsonb)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id        text;
    v_saga      text;
    v_status    text;
    v_name      text;
    v_trace     text;
    v_context   jsonb;
    v_error     text;
    v_started   timestamptz;
    v_completed timestamptz;
    v_steps     jsonb;
    v_step      jsonb;
    v_what      text;
    -- The steps, validated, one array per column (index = position + 1).
    a_id        text[] := '{}';
    a_name      text[] := '{}';
    a_status    text[] := '{}';
    a_result    jsonb[] := '{}';
    a_error     text[] := '{}';
    a_started   timestamptz[] := '{}';
    a_completed timestamptz[] := '{}';
    a_retries   integer[] := '{}';
    a_max       integer[] := '{}';
    v_version   bigint;
    v_changed   boolean;
    v_n         bigint;
BEGIN
    IF state IS NULL OR jsonb_typeof(state) <> 'object' THEN
        RAISE EXCEPTION 'save_saga: the state must be a JSON object, not %',
            coalesce(jsonb_typeof(state), 'NULL') USING ERRCODE = '22023';
    END IF;

    -- Read and check the whole document before writing anything.
    v_id := @schema@._doc_text(state -> 'execution_id', 'execution_id', true);
    v_saga := @schema@._doc_text(state -> 'saga_id', 'saga_id', true);
    v_status := @schema@._doc_text(state -> 'status', 'status', true);
    IF v_status NOT IN ('pending', 'running', 'completed', 'failed', 'compensating', 'compensated') THEN
        RAISE EXCEPTION 'save_saga: status "%" is not one of pending, running, completed, failed, compensating, compensated',
            left(v_status, 40) USING ERRCODE = '22023';
    END IF;
    v_name := @schema@._doc_text(state -> 'name', 'name');
    v_context := coalesce(nullif(state -> 'context', 'null'::jsonb), '{}'::jsonb);
    v_trace := @schema@._doc_text(state -> 'trace_id', 'trace_id');
    IF v_trace IS NULL AND jsonb_typeof(v_context -> 'trace_id') IN ('string', 'number') THEN
        v_trace := v_context ->> 'trace_id';
    END IF;
    v_error := @schema@._doc_text(state -> 'error', 'error');
    v_started := @schema@._doc_ts(state -> 'started_at', 'started_at');
    v_completed := @schema@._doc_ts(state -> 'completed_at', 'completed_at');

    v_steps := coalesce(nullif(state -> 'steps', 'null'::jsonb), '[]'::jsonb);
    IF jsonb_typeof(v_steps) <> 'array' THEN
        RAISE EXCEPTION 'save_saga: steps must be an array, not %', jsonb_typeof(v_steps)
            USING ERRCODE = '22023';
    END IF;
    FOR v_step IN SELECT e FROM jsonb_array_elements(v_steps) AS e LOOP
        v_what := 'steps[' || cardinality(a_id) || ']';
        IF jsonb_typeof(v_step) <> 'object' THEN
            RAISE EXCEPTION 'save_saga: % must be an object, not %', v_what, jsonb_typeof(v_step)
                USING ERRCODE = '22023';
        END IF;
        a_id := a_id || @schema@._doc_text(v_step -> 'step_id', v_what || '.step_id', true);
        IF a_id[cardinality(a_id)] = ANY (a_id[1:cardinality(a_id) - 1]) THEN
            RAISE EXCEPTION 'save_saga: % repeats step_id "%"', v_what, left(a_id[cardinality(a_id)], 80)
                USING ERRCODE = '22023';
        END IF;
        a_status := a_status || @schema@._doc_text(v_step -> 'status', v_what || '.status', true);
        IF a_status[cardinality(a_status)]
           NOT IN ('pending', 'running', 'completed', 'failed', 'compensating', 'compensated', 'skipped') THEN
            RAISE EXCEPTION 'save_saga: %.status "%" is not one of pending, running, completed, failed, compensating, compensated, skipped',
                v_what, left(a_status[cardinality(a_status)], 40) USING ERRCODE = '22023';
        END IF;
        a_name := a_name || @schema@._doc_text(v_step -> 'name', v_what || '.name');
        a_result := a_result || nullif(v_step -> 'result', 'null'::jsonb);
        a_error := a_error || @schema@._doc_text(v_step -> 'error', v_what || '.error');
        a_started := a_started || @schema@._doc_ts(v_step -> 'started_at', v_what || '.started_at');
        a_completed := a_completed || @schema@._doc_ts(v_step -> 'completed_at', v_what || '.completed_at');
        a_retries := a_retries
            || coalesce(@schema@._doc_int(v_step -> 'retry_count', v_what || '.retry_count'), 0);
        a_max := a_max || @schema@._doc_int(v_step -> 'max_retries', v_what || '.max_retries');
    END LOOP;

    -- The execution: insert it, or lock the stored one. A concurrent first
    -- save of the same id waits here and then takes the update path.
    INSERT INTO @schema@.saga_executions AS x
        (execution_id, saga_id, name, status, context, error, trace_id, started_at, completed_at)
    VALUES (v_id, v_saga, v_name, v_status, v_context, v_error, v_trace, v_started, v_completed)
    ON CONFLICT (execution_id) DO NOTHING
    RETURNING x.version INTO v_version;
    IF FOUND THEN
        INSERT INTO @schema@.saga_steps
            (execution_id, step_id, position, name, status, result, error,
             started_at, completed_at, retry_count, max_retries)
        SELECT v_id, u.step_id, (u.n - 1)::integer, u.name, u.status, u.result, u.error,
               u.started_at, u.completed_at, u.retry_count, u.max_retries
          FROM unnest(a_id, a_name, a_status, a_result, a_error, a_started, a_completed, a_retries, a_max)
               WITH ORDINALITY
               AS u(step_id, name, status, result, error, started_at, completed_at, retry_count, max_retries, n);
        RETURN v_version;
    END IF;
    PERFORM 1 FROM @schema@.saga_executions WHERE execution_id = v_id FOR UPDATE;

    -- The steps: upsert those of the document, counting real changes, then
    -- drop those the engine no longer reports.
    INSERT INTO @schema@.saga_steps AS s
        (execution_id, step_id, position, name, status, result, error,
         started_at, completed_at, retry_count, max_retries)
    SELECT v_id, u.step_id, (u.n - 1)::integer, u.name, u.status, u.result, u.error,
           u.started_at, u.completed_at, u.retry_count, u.max_retries
      FROM unnest(a_id, a_name, a_status, a_result, a_error, a_started, a_completed, a_retries, a_max)
           WITH ORDINALITY
           AS u(step_id, name, status, result, error, started_at, completed_at, retry_count, max_retries, n)
    ON CONFLICT (execution_id, step_id) DO UPDATE
       SET position = EXCLUDED.position,
           name = EXCLUDED.name,
           status = EXCLUDED.status,
           result = EXCLUDED.result,
           error = EXCLUDED.error,
           started_at = EXCLUDED.started_at,
           completed_at = EXCLUDED.completed_at,
           retry_count = EXCLUDED.retry_count,
           max_retries = coalesce(EXCLUDED.max_retries, s.max_retries)
     WHERE (s.position, s.name, s.status, s.result, s.error, s.started_at,
            s.completed_at, s.retry_count, s.max_retries)
           IS DISTINCT FROM
           (EXCLUDED.position, EXCLUDED.name, EXCLUDED.status, EXCLUDED.result, EXCLUDED.error,
            EXCLUDED.started_at, EXCLUDED.completed_at, EXCLUDED.retry_count,
            coalesce(EXCLUDED.max_retries, s.max_retries));
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_changed := v_n > 0;
    DELETE FROM @schema@.saga_steps
     WHERE execution_id = v_id AND step_id <> ALL (a_id);
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_changed := v_changed OR v_n > 0;

    -- The execution, with a new version if it or any step changed.
    UPDATE @schema@.saga_executions AS x
       SET saga_id = v_saga, name = coalesce(v_name, x.name), status = v_status,
           context = v_context, error = v_error, trace_id = coalesce(v_trace, x.trace_id),
           started_at = v_started, completed_at = v_completed,
           version = x.version + 1, updated_at = now()
     WHERE x.execution_id = v_id
       AND (v_changed
            OR (x.saga_id, x.name, x.status, x.context, x.error, x.trace_id, x.started_at, x.completed_at)
               IS DISTINCT FROM
               (v_saga, coalesce(v_name, x.name), v_status, v_context, v_error,
                coalesce(v_trace, x.trace_id), v_started, v_completed))
    RETURNING x.version INTO v_version;
    IF NOT FOUND THEN
        SELECT version INTO v_version FROM @schema@.saga_executions WHERE execution_id = v_id;
    END IF;
    RETURN v_version;
END
$$;

COMMENT ON FUNCTION @schema@.save_saga(jsonb) IS
    'For the workflow engine: upserts an execution and its steps from seed 004''s _persist_state document; bumps version and notifies only on change; returns the version. 22023 on a malformed document. SECURITY DEFINER: the DBA grants EXECUTE on it (and USAGE on the schema) to the engine''s role, which then needs no table rights.';

-- ---------------------------------------------------------------------------
-- Roles and privileges. The roles are cluster-wide and shared by every
-- schema opsdeck manages; they log in only through member roles, e.g.
--   CREATE ROLE alice LOGIN IN ROLE opsdeck_operator;
-- Neither role may write a table: opsdeck_operator acts only through the
-- SECURITY DEFINER action functions of later migrations.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['opsdeck_viewer', 'opsdeck_operator'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
                EXECUTE format('COMMENT ON ROLE %I IS %L', r,
                    CASE r WHEN 'opsdeck_viewer' THEN 'opsdeck: may read the workflow store.'
                    ELSE 'opsdeck: may read the workflow store and execute the action functions.' END);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN
                    NULL; -- created meanwhile by a migration of another database
                WHEN insufficient_privilege THEN
                    RAISE EXCEPTION 'role % does not exist and % may not create it', r, current_user
                        USING ERRCODE = '42501',
                              HINT = format('Have a superuser or a role with CREATEROLE run: CREATE ROLE %I NOLOGIN; then migrate again.', r);
            END;
        END IF;
    END LOOP;
    IF NOT pg_catalog.pg_has_role('opsdeck_operator', 'opsdeck_viewer', 'MEMBER') THEN
        GRANT opsdeck_viewer TO opsdeck_operator;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA @schema@ TO opsdeck_viewer;
-- Every table of the schema, schema_migrations included (`migrate --status`).
GRANT SELECT ON ALL TABLES IN SCHEMA @schema@ TO opsdeck_viewer;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
    ON ALL TABLES IN SCHEMA @schema@ FROM PUBLIC, opsdeck_viewer, opsdeck_operator;
-- PostgreSQL grants EXECUTE to PUBLIC on new functions; none of these is
-- for anyone but the owner (save_saga is the engine's, granted by the DBA;
-- the rest internal).
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @schema@ FROM PUBLIC;

-- The same for tables the migrating role creates later (later migrations,
-- or by hand): readable by opsdeck_viewer. Functions have no per-schema
-- default that removes PostgreSQL's global PUBLIC EXECUTE, and a
-- database-wide one would reach other applications' functions: every
-- migration therefore ends with the REVOKE above, and tests/cli/roles.sh
-- checks that no function of the schema is executable by PUBLIC.
ALTER DEFAULT PRIVILEGES IN SCHEMA @schema@ GRANT SELECT ON TABLES TO opsdeck_viewer;
