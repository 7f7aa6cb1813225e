-- 0002: pg-sched's additions to the seed schema (CONTRACT §2-§3): delete
-- rules, CHECK constraints, scheduling and guardrail settings per job,
-- statistics kept by a trigger on query_run, the unique slot key, indexes
-- for every access path of the API and the runner, login throttling.

-- Foreign keys: re-created with known names and the delete rules the
-- contract implies.  A run goes with its query (DELETE ...?force=1), a
-- blob with its run, roles and sessions with their user; a data source
-- cannot disappear under its queries (the API deletes them first).
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT conrelid::regclass AS tbl, conname
		  FROM pg_constraint
		 WHERE contype = 'f'
		   AND conrelid IN ('query_job'::regclass, 'query_run'::regclass,
			'query_run_blob'::regclass, 'user_role'::regclass,
			'user_session'::regclass)
	LOOP
		EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I',
		    r.tbl, r.conname);
	END LOOP;
END
$$;
ALTER TABLE query_job ADD CONSTRAINT query_job_data_source_fk
	FOREIGN KEY (data_source_id) REFERENCES data_source (id)
	ON DELETE RESTRICT;
ALTER TABLE query_run ADD CONSTRAINT query_run_query_fk
	FOREIGN KEY (query_id) REFERENCES query_job (id) ON DELETE CASCADE;
ALTER TABLE query_run_blob ADD CONSTRAINT query_run_blob_run_fk
	FOREIGN KEY (run_id) REFERENCES query_run (id) ON DELETE CASCADE;
ALTER TABLE user_role ADD CONSTRAINT user_role_user_fk
	FOREIGN KEY (user_id) REFERENCES user_account (id) ON DELETE CASCADE;
ALTER TABLE user_session ADD CONSTRAINT user_session_user_fk
	FOREIGN KEY (user_id) REFERENCES user_account (id) ON DELETE CASCADE;

-- data_source
ALTER TABLE data_source
	ADD CONSTRAINT data_source_port_check CHECK (port BETWEEN 1 AND 65535),
	ADD CONSTRAINT data_source_key_version_check CHECK (key_version >= 1);

-- query_job: scheduling, guardrails, retries, retention, statistics
ALTER TABLE query_job
	ADD COLUMN IF NOT EXISTS start_at timestamptz,
	ADD COLUMN IF NOT EXISTS next_run_at timestamptz,
	ADD COLUMN IF NOT EXISTS timeout_ms integer,
	ADD COLUMN IF NOT EXISTS max_rows integer,
	ADD COLUMN IF NOT EXISTS max_retries integer NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS retry_delay_s integer NOT NULL DEFAULT 60,
	ADD COLUMN IF NOT EXISTS pause_after_failures integer,
	ADD COLUMN IF NOT EXISTS keep_runs integer,
	ADD COLUMN IF NOT EXISTS keep_days integer,
	ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 1,
	ADD COLUMN IF NOT EXISTS paused_at timestamptz,
	ADD COLUMN IF NOT EXISTS pause_reason text,
	ADD COLUMN IF NOT EXISTS total_runs integer NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS successful_runs integer NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS failed_runs integer NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS skipped_runs integer NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS consecutive_failures integer NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS last_run_at timestamptz,
	ADD COLUMN IF NOT EXISTS last_run_status text,
	ADD COLUMN IF NOT EXISTS last_run_duration_ms integer;
ALTER TABLE query_job
	ADD CONSTRAINT query_job_schedule_type_check
		CHECK (schedule_type IN ('cron', 'interval')),
	ADD CONSTRAINT query_job_timeout_check
		CHECK (timeout_ms BETWEEN 100 AND 86400000),
	ADD CONSTRAINT query_job_max_rows_check CHECK (max_rows >= 1),
	ADD CONSTRAINT query_job_max_retries_check
		CHECK (max_retries BETWEEN 0 AND 10),
	ADD CONSTRAINT query_job_retry_delay_check
		CHECK (retry_delay_s BETWEEN 1 AND 3600),
	ADD CONSTRAINT query_job_pause_check CHECK (pause_after_failures >= 1),
	ADD CONSTRAINT query_job_keep_runs_check CHECK (keep_runs >= 1),
	ADD CONSTRAINT query_job_keep_days_check CHECK (keep_days >= 1);
CREATE INDEX IF NOT EXISTS query_job_due
	ON query_job (next_run_at) WHERE enabled;
CREATE INDEX IF NOT EXISTS query_job_data_source
	ON query_job (data_source_id);
-- Retention (runner, every tick): the few jobs with their own rules are
-- found without scanning every job.
CREATE INDEX IF NOT EXISTS query_job_keep_runs
	ON query_job (id) WHERE keep_runs IS NOT NULL;
CREATE INDEX IF NOT EXISTS query_job_keep_days
	ON query_job (keep_days) WHERE keep_days IS NOT NULL;

-- query_run: who triggered it, where it ran, what it stands for
ALTER TABLE query_run
	ADD COLUMN IF NOT EXISTS triggered_by text NOT NULL DEFAULT 'schedule',
	ADD COLUMN IF NOT EXISTS triggered_by_user integer,
	ADD COLUMN IF NOT EXISTS runner_host text,
	ADD COLUMN IF NOT EXISTS runner_pid integer,
	ADD COLUMN IF NOT EXISTS missed_slots integer NOT NULL DEFAULT 1,
	ADD COLUMN IF NOT EXISTS attempt integer NOT NULL DEFAULT 0,
	ADD COLUMN IF NOT EXISTS retry_of integer,
	ADD COLUMN IF NOT EXISTS queued_at timestamptz NOT NULL DEFAULT now(),
	ADD COLUMN IF NOT EXISTS run_after timestamptz;
ALTER TABLE query_run
	ADD CONSTRAINT query_run_status_check CHECK (status IN
		('queued', 'running', 'success', 'error', 'skipped')),
	ADD CONSTRAINT query_run_triggered_by_check
		CHECK (triggered_by IN ('schedule', 'manual', 'retry')),
	ADD CONSTRAINT query_run_user_fk FOREIGN KEY (triggered_by_user)
		REFERENCES user_account (id) ON DELETE SET NULL,
	ADD CONSTRAINT query_run_retry_of_fk FOREIGN KEY (retry_of)
		REFERENCES query_run (id) ON DELETE SET NULL;
-- The slot key: inserting a scheduled run claims its slot, so no slot can
-- ever run twice, whichever runner on whichever host gets there first.
CREATE UNIQUE INDEX IF NOT EXISTS query_run_slot
	ON query_run (query_id, scheduled_at) WHERE triggered_by = 'schedule';
CREATE INDEX IF NOT EXISTS query_run_by_query
	ON query_run (query_id, id DESC);
CREATE INDEX IF NOT EXISTS query_run_by_start
	ON query_run (query_id, run_started_at);
CREATE INDEX IF NOT EXISTS query_run_success
	ON query_run (query_id, id DESC) WHERE status = 'success';
CREATE INDEX IF NOT EXISTS query_run_active
	ON query_run (status, id) WHERE status IN ('queued', 'running');
COMMENT ON COLUMN query_run.run_after IS
	'a queued run (a retry) does not start before this instant';
CREATE INDEX IF NOT EXISTS query_run_queued_at ON query_run (queued_at);
CREATE INDEX IF NOT EXISTS query_run_retry_of
	ON query_run (retry_of) WHERE retry_of IS NOT NULL;

ALTER TABLE query_run_blob
	ADD COLUMN IF NOT EXISTS truncated boolean NOT NULL DEFAULT false;

-- users, sessions
ALTER TABLE user_role ADD CONSTRAINT user_role_role_check
	CHECK (role IN ('viewer', 'editor', 'admin'));
CREATE UNIQUE INDEX IF NOT EXISTS user_account_email_ci
	ON user_account (lower(email));
CREATE INDEX IF NOT EXISTS user_session_user ON user_session (user_id);
CREATE INDEX IF NOT EXISTS user_session_expires ON user_session (expires_at);

-- Failed logins, for throttling per account and per client address.
CREATE TABLE IF NOT EXISTS login_failure (
	id		bigserial PRIMARY KEY,
	email		text NOT NULL,
	client		text NOT NULL,
	failed_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS login_failure_email
	ON login_failure (lower(email), failed_at);
CREATE INDEX IF NOT EXISTS login_failure_client
	ON login_failure (client, failed_at);

-- Statistics are kept by the database itself (seed 004), whoever writes
-- the run.  A run counts once, when it first reaches a final status.
CREATE OR REPLACE FUNCTION query_run_stats() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	was_final	boolean := TG_OP = 'UPDATE'
			    AND OLD.status IN ('success', 'error', 'skipped');
	at		timestamptz := coalesce(NEW.run_started_at,
			    NEW.run_finished_at, now());
BEGIN
	IF NEW.status NOT IN ('success', 'error', 'skipped') OR was_final THEN
		RETURN NULL;
	END IF;
	IF NEW.status = 'skipped' THEN
		UPDATE query_job SET skipped_runs = skipped_runs + 1
		 WHERE id = NEW.query_id;
		RETURN NULL;
	END IF;
	UPDATE query_job SET
		total_runs = total_runs + 1,
		successful_runs = successful_runs
		    + (NEW.status = 'success')::int,
		failed_runs = failed_runs + (NEW.status = 'error')::int,
		consecutive_failures = CASE WHEN NEW.status = 'success'
		    THEN 0 ELSE consecutive_failures + 1 END,
		last_run_at = CASE WHEN last_run_at IS NULL
		    OR at >= last_run_at THEN at ELSE last_run_at END,
		last_run_status = CASE WHEN last_run_at IS NULL
		    OR at >= last_run_at THEN NEW.status ELSE last_run_status END,
		last_run_duration_ms = CASE WHEN last_run_at IS NULL
		    OR at >= last_run_at THEN NEW.duration_ms
		    ELSE last_run_duration_ms END
	 WHERE id = NEW.query_id;
	-- Auto-pause after pause_after_failures consecutive failures.
	UPDATE query_job SET
		enabled = false,
		paused_at = now(),
		pause_reason = format('paused after %s consecutive failures',
		    consecutive_failures)
	 WHERE id = NEW.query_id AND NEW.status = 'error' AND enabled
	   AND pause_after_failures IS NOT NULL
	   AND consecutive_failures >= pause_after_failures;
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS query_run_stats ON query_run;
CREATE TRIGGER query_run_stats
	AFTER INSERT OR UPDATE OF status ON query_run
	FOR EACH ROW EXECUTE FUNCTION query_run_stats();

-- Statistics of runs that existed before this migration (a seed database).
UPDATE query_job j SET
	total_runs = s.total,
	successful_runs = s.ok,
	failed_runs = s.failed,
	last_run_at = s.last_at
  FROM (SELECT query_id,
	       count(*) FILTER (WHERE status IN ('success', 'error')) AS total,
	       count(*) FILTER (WHERE status = 'success') AS ok,
	       count(*) FILTER (WHERE status = 'error') AS failed,
	       max(run_started_at) AS last_at
	  FROM query_run GROUP BY query_id) s
 WHERE s.query_id = j.id;
