-- roles.sql: least privilege in the metadata database (CONTRACT §10).
--
-- The audit trail cannot be altered by the parts that only read it.  Three
-- roles share the metadata database:
--
--   the owner   owns the tables: migrations, pgsched-admin, this script;
--   the runner  claims due slots and queued runs, writes runs and their
--               results, moves next_run_at and the statistics (the
--               query_run_stats trigger runs as the runner), prunes runs
--               by retention; it cannot read or change users, sessions or
--               login failures, nor change data sources;
--   the API     reads everything it serves, manages users, sessions, data
--               sources, queries, grants and API tokens, inserts queued
--               manual runs; it cannot UPDATE or DELETE query_run or
--               query_run_blob, write a run other than a queued manual
--               one, change a query's statistics, nor touch
--               schema_migrations.
--
-- Runs as the owner of the tables, after `pgsched-admin db migrate`:
--
--   pgsched-admin db grant --api pgsched_api --runner pgsched_runner
--
-- or, with psql (the same file, installed beside the migrations):
--
--   PGOPTIONS='-c pgsched.api_role=pgsched_api -c pgsched.runner_role=pgsched_runner' \
--       psql -1 -v ON_ERROR_STOP=1 -d pgsched -f roles.sql
--
-- The two role names are recorded in schema_roles.  Run without them, the
-- script applies the recorded ones again: `pgsched-admin db migrate` does
-- so after every migration, so a table a later migration adds gets its
-- grants at once.  Every run first takes away whatever the two roles (and
-- PUBLIC, and roles recorded earlier) hold on pg-sched's tables and
-- sequences, then grants exactly the list below, so running it twice
-- changes nothing, and a privilege removed from the list is removed from
-- the database.  It ends by checking the forbidden writes are really out
-- of the API role's reach (not granted through PUBLIC or another role).
--
-- The list is the function pgsched_grants() below (SELECT * FROM
-- pgsched_grants() shows it).  A table a migration adds gets its lines
-- there; a table that is not listed gets nothing, and the programs fail
-- on it with "permission denied", which the test suite (run under these
-- roles) shows at once.
-- Role names are never pasted into SQL: format('%I') quotes them.
--
-- Errors: 42704 a role does not exist; 22023 a role is unfit (superuser,
-- BYPASSRLS, the owner or a member of it, the same as or a member of the
-- other, or the API role could still write runs through another role) or
-- none is given nor recorded; 42501 not run by the owner; 42P01 or 42703
-- a table or column of the list is missing (run db migrate first).  On any
-- error nothing has changed (with psql: -1).

-- The roles given to db grant, for db migrate to apply again.
DO $create$
BEGIN
	IF to_regclass('schema_roles') IS NULL THEN
		CREATE TABLE schema_roles (
			kind		text PRIMARY KEY
					CHECK (kind IN ('api', 'runner')),
			role_name	name NOT NULL
		);
	END IF;
END
$create$;

-- The grants, one line per role, table and privileges.  only_cols: the
-- privileges are on these columns only; but_cols: on every column but
-- these (so a column a migration adds is included).  (A change of its
-- result columns needs a DROP FUNCTION first.)
CREATE OR REPLACE FUNCTION pgsched_grants()
RETURNS TABLE (who text, tbl text, privs text, only_cols text[],
    but_cols text[])
LANGUAGE sql IMMUTABLE AS $$
	VALUES
	-- The API: users, sessions, login throttling, data sources, queries.
	('api', 'user_account', 'SELECT, INSERT, UPDATE, DELETE', NULL::text[],
	    NULL::text[]),
	('api', 'user_role', 'SELECT, INSERT, DELETE', NULL, NULL),
	('api', 'user_session', 'SELECT, INSERT, UPDATE, DELETE', NULL, NULL),
	('api', 'login_failure', 'SELECT, INSERT, DELETE', NULL, NULL),
	('api', 'data_source', 'SELECT, INSERT, UPDATE, DELETE', NULL, NULL),
	-- A query goes with its runs (DELETE ...?force=1: the foreign key's
	-- cascade runs as the owner); its statistics are the runner's.
	('api', 'query_job', 'SELECT, DELETE', NULL, NULL),
	('api', 'query_job', 'INSERT, UPDATE', NULL, ARRAY['total_runs',
	    'successful_runs', 'failed_runs', 'skipped_runs', 'last_run_at',
	    'last_run_status', 'last_run_duration_ms', 'last_success_at',
	    'stale_at', 'stale_since']),
	-- Runs and results: read; a manual run is queued (see the policy).
	('api', 'query_run', 'SELECT', NULL, NULL),
	('api', 'query_run', 'INSERT', ARRAY['query_id', 'scheduled_at',
	    'job_timezone', 'status', 'triggered_by', 'triggered_by_user',
	    'missed_slots'], NULL),
	('api', 'query_run_blob', 'SELECT', NULL, NULL),
	-- Notifications: channels, subscriptions and alerts are managed here;
	-- an alert's state is the runner's.  Deliveries are read, and a
	-- redelivery is asked for with a new row (never an UPDATE).
	('api', 'notify_channel', 'SELECT, INSERT, UPDATE, DELETE', NULL, NULL),
	('api', 'query_notify', 'SELECT, INSERT, UPDATE, DELETE', NULL, NULL),
	('api', 'query_alert', 'SELECT, DELETE', NULL, NULL),
	('api', 'query_alert', 'INSERT, UPDATE', ARRAY['query_id', 'kind',
	    'column_name', 'op', 'value', 'value_is_number', 'state', 'since',
	    'last_error', 'last_error_at', 'updated_at'], NULL),
	('api', 'notify_delivery', 'SELECT', NULL, NULL),
	('api', 'notify_delivery', 'INSERT', ARRAY['channel_id', 'event',
	    'query_id', 'run_id', 'webhook_id', 'payload', 'redelivery_of',
	    'requested_by'], NULL),
	-- Who reads what (0005): grants of restricted queries, API tokens
	-- (once made, only their last use and revocation change).
	('api', 'query_grant', 'SELECT, INSERT, DELETE', NULL, NULL),
	('api', 'api_token', 'SELECT, INSERT', NULL, NULL),
	('api', 'api_token', 'UPDATE', ARRAY['last_used_at', 'revoked_at',
	    'revoked_by'], NULL),
	('api', 'api_token_query', 'SELECT, INSERT', NULL, NULL),
	-- The runner: jobs and their sources (read), slots, statistics and
	-- auto-pause (the query_run_stats trigger), runs, results, retention.
	('runner', 'data_source', 'SELECT', NULL, NULL),
	('runner', 'query_job', 'SELECT', NULL, NULL),
	('runner', 'query_job', 'UPDATE', ARRAY['next_run_at', 'total_runs',
	    'successful_runs', 'failed_runs', 'skipped_runs',
	    'consecutive_failures', 'last_run_at', 'last_run_status',
	    'last_run_duration_ms', 'enabled', 'paused_at', 'pause_reason',
	    'last_success_at', 'stale_at', 'stale_since'], NULL),
	('runner', 'query_run', 'SELECT, INSERT, UPDATE, DELETE', NULL, NULL),
	('runner', 'query_run_blob', 'INSERT', NULL, NULL),
	-- Notifications: events into the outbox with the run, deliveries and
	-- their retries and retention, alert state, a channel disabled by a
	-- 410 (or its old secret dropped after the rotation overlap).
	('runner', 'notify_channel', 'SELECT', NULL, NULL),
	('runner', 'notify_channel', 'UPDATE', ARRAY['enabled',
	    'disabled_reason', 'enc_secret_prev', 'updated_at'], NULL),
	('runner', 'query_notify', 'SELECT', NULL, NULL),
	('runner', 'query_alert', 'SELECT', NULL, NULL),
	('runner', 'query_alert', 'UPDATE', ARRAY['state', 'since',
	    'last_error', 'last_error_at'], NULL),
	('runner', 'notify_delivery', 'SELECT, INSERT, UPDATE, DELETE', NULL,
	    NULL),
	('runner', 'schema_migrations', 'SELECT', NULL, NULL)
$$;
REVOKE ALL ON FUNCTION pgsched_grants() FROM PUBLIC;

DO $roles$
DECLARE
	api	name := nullif(current_setting('pgsched.api_role', true), '');
	runner	name := nullif(current_setting('pgsched.runner_role', true),
		    '');
	owner	name;
	whom	text;
	r	record;
	privs	text;
	cols	text;
	ncols	bigint;
	seq	regclass;
BEGIN
	-- One grant at a time, and none while db migrate runs (its lock).
	PERFORM pg_advisory_xact_lock(1885827949);
	IF (api IS NULL) <> (runner IS NULL) THEN
		RAISE EXCEPTION 'give both roles (pgsched.api_role and '
		    'pgsched.runner_role), or neither'
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF api IS NULL THEN
		SELECT role_name INTO api FROM schema_roles WHERE kind = 'api';
		SELECT role_name INTO runner FROM schema_roles
		 WHERE kind = 'runner';
		IF api IS NULL OR runner IS NULL THEN
			RAISE EXCEPTION 'no API and runner roles recorded'
			    USING ERRCODE = 'invalid_parameter_value',
			    HINT = 'run pgsched-admin db grant --api ROLE '
				'--runner ROLE';
		END IF;
	END IF;

	-- Every table the list names exists (the schema is current).
	FOR r IN SELECT DISTINCT g.tbl FROM pgsched_grants() g LOOP
		IF to_regclass(r.tbl) IS NULL THEN
			RAISE EXCEPTION 'table % does not exist: run '
			    'pgsched-admin db migrate first', r.tbl
			    USING ERRCODE = 'undefined_table';
		END IF;
	END LOOP;
	SELECT c.relowner::regrole::name INTO owner FROM pg_class c
	 WHERE c.oid = 'query_run'::regclass;

	-- The two roles exist, differ, and are ordinary.
	FOR r IN SELECT k.kind, k.rname, a.rolsuper, a.rolbypassrls
		   FROM (VALUES ('API', api), ('runner', runner)) k(kind, rname)
		   LEFT JOIN pg_roles a ON a.rolname = k.rname LOOP
		IF r.rolsuper IS NULL THEN
			RAISE EXCEPTION 'role "%" does not exist', r.rname
			    USING ERRCODE = 'undefined_object';
		ELSIF r.rolsuper OR r.rolbypassrls THEN
			RAISE EXCEPTION 'role "%" is a superuser or bypasses '
			    'row-level security: the % role must be an '
			    'ordinary role', r.rname, r.kind
			    USING ERRCODE = 'invalid_parameter_value';
		ELSIF pg_has_role(r.rname, owner, 'MEMBER') THEN
			RAISE EXCEPTION 'role "%" owns the tables or is a '
			    'member of their owner "%": the % role must be '
			    'another role', r.rname, owner, r.kind
			    USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END LOOP;
	IF pg_has_role(api, runner, 'MEMBER') OR
	    pg_has_role(runner, api, 'MEMBER') THEN
		RAISE EXCEPTION 'the API role "%" and the runner role "%" must '
		    'be two roles, neither a member of the other', api, runner
		    USING ERRCODE = 'invalid_parameter_value';
	END IF;

	-- Take everything away from PUBLIC, the two roles and the roles
	-- recorded before (replaced roles lose their grants), on the tables
	-- and on their sequences.
	SELECT string_agg(quote_ident(x), ', ') INTO whom
	  FROM (SELECT api UNION SELECT runner
		UNION SELECT s.role_name FROM schema_roles s
		 JOIN pg_roles a ON a.rolname = s.role_name) u(x);
	FOR r IN SELECT c.oid::regclass AS rel, c.relkind
		   FROM pg_class c
		  WHERE c.oid IN (SELECT to_regclass(t) FROM (SELECT g.tbl
			FROM pgsched_grants() g UNION SELECT 'schema_migrations'
			UNION SELECT 'schema_roles') u(t))
		     OR (c.relkind = 'S' AND c.oid IN (SELECT d.objid
			FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
			 AND d.deptype IN ('a', 'i') AND d.refobjid IN
			 (SELECT to_regclass(g.tbl) FROM pgsched_grants() g)))
	LOOP
		EXECUTE format('REVOKE ALL ON %s %s FROM PUBLIC, %s',
		    CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
		    r.rel, whom);
	END LOOP;

	-- Grant the list; INSERT brings USAGE on the table's sequences.
	FOR r IN SELECT g.*, to_regclass(g.tbl) AS rel,
		    CASE g.who WHEN 'api' THEN api ELSE runner END AS grantee
		   FROM pgsched_grants() g LOOP
		privs := r.privs;
		IF r.only_cols IS NOT NULL OR r.but_cols IS NOT NULL THEN
			SELECT string_agg(quote_ident(attname), ', '
				ORDER BY attnum), count(*)
			  INTO cols, ncols
			  FROM pg_attribute
			 WHERE attrelid = r.rel AND attnum > 0 AND NOT attisdropped
			   AND (r.only_cols IS NULL OR attname = ANY (r.only_cols))
			   AND (r.but_cols IS NULL OR attname <> ALL (r.but_cols));
			-- Never a table-wide grant for want of a column.
			IF ncols = 0 OR ncols <> coalesce(cardinality(r.only_cols),
			    ncols) THEN
				RAISE EXCEPTION 'table %: a column of % is missing: '
				    'run pgsched-admin db migrate first', r.tbl,
				    r.only_cols USING ERRCODE = 'undefined_column';
			END IF;
			SELECT string_agg(p || ' (' || cols || ')', ', ') INTO privs
			  FROM unnest(string_to_array(r.privs, ', ')) p;
		END IF;
		EXECUTE format('GRANT %s ON TABLE %s TO %I', privs, r.rel,
		    r.grantee);
		IF 'INSERT' <> ALL (string_to_array(r.privs, ', ')) THEN
			CONTINUE;
		END IF;
		FOR seq IN SELECT pg_get_serial_sequence(r.rel::text,
			    attname)::regclass FROM pg_attribute
			    WHERE attrelid = r.rel AND attnum > 0
			      AND NOT attisdropped
			      AND pg_get_serial_sequence(r.rel::text, attname)
				  IS NOT NULL LOOP
			EXECUTE format('GRANT USAGE ON SEQUENCE %s TO %I', seq,
			    r.grantee);
		END LOOP;
	END LOOP;
	EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I, %I',
	    (SELECT n.nspname FROM pg_class c JOIN pg_namespace n
		ON n.oid = c.relnamespace WHERE c.oid = 'query_run'::regclass),
	    api, runner);

	-- Runs: every role that may read them reads them all; the runner
	-- writes them; the API inserts queued manual runs only (its column
	-- grant leaves every other column at its default).
	ALTER TABLE query_run ENABLE ROW LEVEL SECURITY;
	DROP POLICY IF EXISTS pgsched_read ON query_run;
	DROP POLICY IF EXISTS pgsched_runner ON query_run;
	DROP POLICY IF EXISTS pgsched_api_queue ON query_run;
	CREATE POLICY pgsched_read ON query_run FOR SELECT USING (true);
	EXECUTE format('CREATE POLICY pgsched_runner ON query_run TO %I'
	    ' USING (true) WITH CHECK (true)', runner);
	EXECUTE format('CREATE POLICY pgsched_api_queue ON query_run'
	    ' FOR INSERT TO %I WITH CHECK (status = %L AND triggered_by = %L)',
	    api, 'queued', 'manual');

	INSERT INTO schema_roles (kind, role_name)
	VALUES ('api', api), ('runner', runner)
	ON CONFLICT (kind) DO UPDATE SET role_name = EXCLUDED.role_name;

	-- What the API role must not do, whatever else it belongs to; the
	-- deliveries of CONTRACT §8 too, once a migration has made them.
	FOR r IN SELECT t.tbl, t.priv FROM (VALUES
		    ('query_run', 'UPDATE'), ('query_run', 'DELETE'),
		    ('query_run', 'TRUNCATE'), ('query_run_blob', 'INSERT'),
		    ('query_run_blob', 'UPDATE'), ('query_run_blob', 'DELETE'),
		    ('query_run_blob', 'TRUNCATE'),
		    ('schema_migrations', 'SELECT'),
		    ('schema_migrations', 'INSERT'),
		    ('schema_migrations', 'UPDATE'),
		    ('schema_migrations', 'DELETE'),
		    ('schema_migrations', 'TRUNCATE'),
		    ('schema_roles', 'SELECT'), ('schema_roles', 'INSERT'),
		    ('schema_roles', 'UPDATE'), ('schema_roles', 'DELETE'),
		    ('notify_delivery', 'UPDATE'), ('notify_delivery', 'DELETE'),
		    ('notify_delivery', 'TRUNCATE')) t(tbl, priv)
		  WHERE to_regclass(t.tbl) IS NOT NULL LOOP
		IF has_table_privilege(api, r.tbl, r.priv) OR
		    (r.priv <> 'DELETE' AND r.priv <> 'TRUNCATE' AND
		    has_any_column_privilege(api, r.tbl, r.priv)) THEN
			RAISE EXCEPTION 'the API role "%" can still % %, '
			    'through PUBLIC or a role it belongs to', api,
			    r.priv, r.tbl
			    USING ERRCODE = 'invalid_parameter_value';
		END IF;
	END LOOP;
END
$roles$;
