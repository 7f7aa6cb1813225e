-- 0006: notifications and alerts (CONTRACT §8).
--
-- Channels say where to tell (a signed webhook, a Slack incoming webhook,
-- e-mail), a query's subscriptions say which of its events go to which
-- channel, a query has at most one alert with its state, and every event
-- becomes a row of the delivery outbox, notify_delivery, written in the
-- transaction that records what happened (the run, the pause, the
-- staleness): a crash can neither lose nor invent one.  Runners deliver
-- the rows and retry them; the API lists them and asks for redeliveries by
-- inserting a new row (it may not UPDATE or DELETE deliveries, §10).

-- Channels.  A channel's target is a credential (a Slack incoming-webhook
-- URL is one; a webhook URL may carry a token): it is stored sealed
-- (crypto_box_seal with the data-source key, like data-source passwords,
-- and re-sealed by `keys rotate`), and shown after creation only as
-- target_display (scheme://host[:port]/...).  A webhook channel's signing
-- secret (whsec_...) is sealed the same way; after a rotation the old one
-- is kept in enc_secret_prev until NOTIFY_ROTATE_OVERLAP_HOURS have passed
-- since secret_rotated_at, and deliveries are signed with both meanwhile.
CREATE TABLE IF NOT EXISTS notify_channel (
	id		serial PRIMARY KEY,
	name		text NOT NULL UNIQUE
	    CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'),
	kind		text NOT NULL CHECK (kind IN ('webhook', 'slack', 'email')),
	enc_target	bytea,		-- sealed URL (webhook, slack)
	target_display	text NOT NULL CHECK (length(target_display) <= 2048),
	addresses	text[],		-- e-mail recipients (email)
	enc_secret	bytea,		-- sealed whsec_ secret (webhook)
	enc_secret_prev	bytea,
	secret_rotated_at timestamptz,
	key_version	integer NOT NULL DEFAULT 1 CHECK (key_version >= 1),
	enabled		boolean NOT NULL DEFAULT true,
	disabled_reason	text,
	created_by	integer REFERENCES user_account (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT notify_channel_target_check
	    CHECK ((kind IN ('webhook', 'slack')) = (enc_target IS NOT NULL)),
	CONSTRAINT notify_channel_addresses_check
	    CHECK ((kind = 'email') = (addresses IS NOT NULL)
	    AND (addresses IS NULL OR cardinality(addresses) BETWEEN 1 AND 50)),
	CONSTRAINT notify_channel_secret_check
	    CHECK ((kind = 'webhook') = (enc_secret IS NOT NULL))
);

-- The events a query can send (CONTRACT §8), in one place for the CHECKs.
CREATE OR REPLACE FUNCTION notify_events_valid(ev text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT cardinality(ev) >= 1 AND ev <@ ARRAY['run.failed',
	    'run.succeeded', 'job.paused', 'job.stale', 'alert.firing',
	    'alert.resolved', 'result.changed']::text[]
$$;

-- A query's subscriptions: which events go to which channel.
CREATE TABLE IF NOT EXISTS query_notify (
	query_id	integer NOT NULL REFERENCES query_job (id)
	    ON DELETE CASCADE,
	channel_id	integer NOT NULL REFERENCES notify_channel (id)
	    ON DELETE CASCADE,
	events		text[] NOT NULL CHECK (notify_events_valid(events)),
	PRIMARY KEY (query_id, channel_id)
);
CREATE INDEX IF NOT EXISTS query_notify_channel
	ON query_notify (channel_id);

-- At most one alert per query, evaluated on each successful run: `rows`
-- compares the row count with a number, `value` a named column of the
-- first row with a number (value_is_number) or a string.  state moves
-- ok -> firing -> ok, since when it holds; a failed run does not change
-- it.  last_error: why the last evaluation could not be made (a column
-- the result lacks...), reported once per distinct error.  A new or
-- changed alert starts `ok`.
CREATE TABLE IF NOT EXISTS query_alert (
	query_id	integer PRIMARY KEY REFERENCES query_job (id)
	    ON DELETE CASCADE,
	kind		text NOT NULL CHECK (kind IN ('rows', 'value')),
	column_name	text CHECK (length(column_name) <= 128),
	op		text NOT NULL
	    CHECK (op IN ('>', '>=', '<', '<=', '=', '!=')),
	value		text NOT NULL CHECK (length(value) <= 1024),
	value_is_number	boolean NOT NULL,
	state		text NOT NULL DEFAULT 'ok'
	    CHECK (state IN ('ok', 'firing')),
	since		timestamptz NOT NULL DEFAULT now(),
	last_error	text,
	last_error_at	timestamptz,
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT query_alert_column_check
	    CHECK ((kind = 'value') = (column_name IS NOT NULL)),
	CONSTRAINT query_alert_rows_number_check
	    CHECK (kind = 'value' OR value_is_number)
);

-- A hash of each successful run's result (result.changed compares it with
-- the previous successful run's).
ALTER TABLE query_run ADD COLUMN IF NOT EXISTS result_hash bytea;

-- Staleness: max_staleness_s (NULL: never stale).  last_success_at is kept
-- by the trigger below; stale_at = last success (or creation) +
-- max_staleness is when the job turns stale, indexed so that a runner's
-- tick finds stale jobs cheaply; stale_since is set when job.stale was
-- sent for the current stale period (once per period) and cleared by the
-- next success.
ALTER TABLE query_job
	ADD COLUMN IF NOT EXISTS max_staleness_s integer
	    CHECK (max_staleness_s BETWEEN 60 AND 31622400),
	ADD COLUMN IF NOT EXISTS last_success_at timestamptz,
	ADD COLUMN IF NOT EXISTS stale_at timestamptz,
	ADD COLUMN IF NOT EXISTS stale_since timestamptz;
CREATE INDEX IF NOT EXISTS query_job_stale
	ON query_job (stale_at) WHERE stale_since IS NULL;

-- last_success_at and stale_at follow the runs; stale_since ends with a
-- success.  Runs as the caller (the runner records runs).
CREATE OR REPLACE FUNCTION query_run_success() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE query_job SET
		last_success_at = greatest(last_success_at,
		    coalesce(NEW.run_finished_at, now())),
		stale_since = NULL,
		stale_at = CASE WHEN max_staleness_s IS NULL OR NOT enabled
		    THEN NULL
		    ELSE greatest(last_success_at, coalesce(NEW.run_finished_at,
		    now())) + make_interval(secs => max_staleness_s) END
	 WHERE id = NEW.query_id;
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS query_run_success ON query_run;
CREATE TRIGGER query_run_success
	AFTER INSERT OR UPDATE OF status ON query_run
	FOR EACH ROW WHEN (NEW.status = 'success')
	EXECUTE FUNCTION query_run_success();

-- stale_at follows max_staleness_s (set, changed, cleared by the API or
-- the CLI) and the job's enabling: a disabled job is never stale.
CREATE OR REPLACE FUNCTION query_job_stale_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.max_staleness_s IS NULL OR NOT NEW.enabled THEN
		NEW.stale_at := NULL;
	ELSE
		NEW.stale_at := coalesce(NEW.last_success_at, NEW.created_at,
		    now()) + make_interval(secs => NEW.max_staleness_s);
	END IF;
	IF NEW.stale_at IS DISTINCT FROM OLD.stale_at THEN
		NEW.stale_since := NULL;
	END IF;
	RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS query_job_stale_at ON query_job;
CREATE TRIGGER query_job_stale_at
	BEFORE UPDATE OF max_staleness_s, enabled ON query_job
	FOR EACH ROW EXECUTE FUNCTION query_job_stale_at();
DROP TRIGGER IF EXISTS query_job_stale_at_ins ON query_job;
CREATE TRIGGER query_job_stale_at_ins
	BEFORE INSERT ON query_job
	FOR EACH ROW EXECUTE FUNCTION query_job_stale_at();

-- The last success of runs that existed before this migration.
UPDATE query_job j SET last_success_at = s.at
  FROM (SELECT query_id, max(coalesce(run_finished_at, run_started_at)) AS at
	  FROM query_run WHERE status = 'success' GROUP BY query_id) s
 WHERE s.query_id = j.id;

-- The delivery outbox.  One row per event and channel: webhook_id is drawn
-- once (webhook_id_new) and is the same on every attempt, payload is the
-- event's JSON body (never the rows; under 20 KB).  A row is due while
-- status = 'pending' and next_attempt_at has come; a runner claims it
-- (FOR UPDATE SKIP LOCKED) by moving next_attempt_at past the attempt's
-- timeout before it delivers (a lease: a runner that dies mid-attempt
-- leaves it due again, same id, at least once), then records the outcome.
-- A channel deleted meanwhile leaves channel_id NULL: the row is marked
-- dead, never lost silently.  Rows go with their run (retention) or query.
CREATE TABLE IF NOT EXISTS notify_delivery (
	id		bigserial PRIMARY KEY,
	channel_id	integer REFERENCES notify_channel (id) ON DELETE SET NULL,
	event		text NOT NULL CHECK (notify_events_valid(ARRAY[event])),
	query_id	integer REFERENCES query_job (id) ON DELETE CASCADE,
	run_id		integer REFERENCES query_run (id) ON DELETE CASCADE,
	webhook_id	text NOT NULL CHECK (webhook_id ~ '^[A-Za-z0-9_-]{1,64}$'),
	payload		text NOT NULL CHECK (octet_length(payload) <= 20480),
	status		text NOT NULL DEFAULT 'pending'
	    CHECK (status IN ('pending', 'delivered', 'dead')),
	attempts	integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	last_attempt_at	timestamptz,
	last_status	integer,
	last_error	text CHECK (length(last_error) <= 400),
	created_at	timestamptz NOT NULL DEFAULT now(),
	delivered_at	timestamptz,
	redelivery_of	bigint REFERENCES notify_delivery (id)
	    ON DELETE SET NULL,
	requested_by	integer REFERENCES user_account (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS notify_delivery_due
	ON notify_delivery (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS notify_delivery_channel
	ON notify_delivery (channel_id, id);
CREATE INDEX IF NOT EXISTS notify_delivery_query
	ON notify_delivery (query_id, id);
CREATE INDEX IF NOT EXISTS notify_delivery_run
	ON notify_delivery (run_id);
CREATE INDEX IF NOT EXISTS notify_delivery_status
	ON notify_delivery (status, id);
