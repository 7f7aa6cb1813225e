-- 0001: the seven tables of the seed ER diagram, with the seed's names and
-- types.  CREATE ... IF NOT EXISTS so that a database made by the seed's
-- Python system (which has these tables already) migrates forward: its rows
-- stay, and 0002 brings the tables to pg-sched's shape.

CREATE TABLE IF NOT EXISTS data_source (
	id		serial PRIMARY KEY,
	name		text NOT NULL UNIQUE,
	host		text NOT NULL,
	port		integer NOT NULL DEFAULT 5432,
	dbname		text NOT NULL,
	username	text NOT NULL,
	enc_password	bytea,
	enc_algo	text NOT NULL DEFAULT 'libsodium-sealedbox',
	key_version	integer NOT NULL DEFAULT 1,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS query_job (
	id		serial PRIMARY KEY,
	name		text NOT NULL UNIQUE,
	title		text,
	description	text,
	sql_text	text NOT NULL,
	data_source_id	integer NOT NULL REFERENCES data_source (id),
	schedule_type	text NOT NULL,
	schedule_expr	text,
	timezone	text NOT NULL DEFAULT 'UTC',
	enabled		boolean NOT NULL DEFAULT true,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS query_run (
	id		serial PRIMARY KEY,
	query_id	integer NOT NULL REFERENCES query_job (id),
	scheduled_at	timestamptz,
	job_timezone	text,
	run_started_at	timestamptz,
	run_finished_at	timestamptz,
	duration_ms	integer,
	status		text NOT NULL,
	rows_returned	integer,
	error_message	text
);

CREATE TABLE IF NOT EXISTS query_run_blob (
	run_id		integer PRIMARY KEY REFERENCES query_run (id),
	format		text NOT NULL DEFAULT 'jsonb',
	df_json		jsonb,
	row_count	integer,
	byte_size	integer
);

CREATE TABLE IF NOT EXISTS user_account (
	id		serial PRIMARY KEY,
	email		text NOT NULL UNIQUE,
	name		text,
	password_hash	text NOT NULL,
	is_active	boolean NOT NULL DEFAULT true,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS user_role (
	user_id		integer NOT NULL REFERENCES user_account (id),
	role		text NOT NULL,
	PRIMARY KEY (user_id, role)
);

CREATE TABLE IF NOT EXISTS user_session (
	id		text PRIMARY KEY,
	user_id		integer NOT NULL REFERENCES user_account (id),
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_seen_at	timestamptz,
	expires_at	timestamptz NOT NULL,
	ip		text,
	user_agent	text,
	is_revoked	boolean NOT NULL DEFAULT false
);
