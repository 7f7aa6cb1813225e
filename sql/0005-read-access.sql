-- 0005: who may read results (CONTRACT section 9).
--
-- A query's visibility: public (anyone), internal (any logged-in user,
-- and API tokens that name it), restricted (admins, editors, the users
-- granted it in query_grant, and API tokens that name it).  A database
-- migrated from an earlier version keeps serving what it served: its
-- queries become public when runs were public (RUNS_PUBLIC=1, the seed's
-- default) and internal when they needed a login (RUNS_PUBLIC=0).  The
-- migration cannot read the environment: `pgsched-admin db migrate`
-- passes RUNS_PUBLIC in the session setting pgsched.runs_public; without
-- it (psql) the seed's default applies.
--
-- API tokens (api_token) read the runs and results of their queries
-- (api_token_query) and nothing else; only a SHA-256 of the token is
-- stored.
--
-- Each pool worker caches identities and permissions and drops the
-- whole cache on any notification of channel pgsched_auth, which the
-- triggers below send at the commit of every change that can take a
-- right away: a session revoked or cut short, a user changed or deleted,
-- roles, grants, a query's visibility (and a query created or deleted),
-- a token revoked or its queries changed.  The writes made on every use
-- (a session's sliding expiry, a token's last_used_at) send nothing.

ALTER TABLE query_job ADD COLUMN IF NOT EXISTS visibility text;
UPDATE query_job SET visibility =
	CASE WHEN lower(coalesce(nullif(current_setting('pgsched.runs_public',
	    true), ''), '1')) IN ('0', 'false', 'no', 'off')
	THEN 'internal' ELSE 'public' END
 WHERE visibility IS NULL;
ALTER TABLE query_job
	ALTER COLUMN visibility SET DEFAULT 'internal',
	ALTER COLUMN visibility SET NOT NULL,
	ADD CONSTRAINT query_job_visibility_check
		CHECK (visibility IN ('public', 'internal', 'restricted'));
COMMENT ON COLUMN query_job.visibility IS
	'who may read the results: public, internal or restricted';

-- Users granted a restricted query.
CREATE TABLE IF NOT EXISTS query_grant (
	query_id	integer NOT NULL
			REFERENCES query_job (id) ON DELETE CASCADE,
	user_id		integer NOT NULL
			REFERENCES user_account (id) ON DELETE CASCADE,
	granted_by	integer REFERENCES user_account (id) ON DELETE SET NULL,
	granted_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (query_id, user_id)
);
CREATE INDEX IF NOT EXISTS query_grant_user ON query_grant (user_id);

-- API tokens: pgs_ + 43 characters of base64url; token_hash is the
-- lower-case hex SHA-256 of the whole token.  created_by NULL: made with
-- pgsched-admin.  A user's tokens go with the user.
CREATE TABLE IF NOT EXISTS api_token (
	id		serial PRIMARY KEY,
	name		text NOT NULL
			CHECK (length(name) BETWEEN 1 AND 100),
	token_hash	text NOT NULL UNIQUE
			CHECK (token_hash ~ '^[0-9a-f]{64}$'),
	created_by	integer REFERENCES user_account (id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	last_used_at	timestamptz,
	revoked_at	timestamptz,
	revoked_by	integer REFERENCES user_account (id) ON DELETE SET NULL,
	CHECK (expires_at > created_at)
);
CREATE INDEX IF NOT EXISTS api_token_created_by ON api_token (created_by);

CREATE TABLE IF NOT EXISTS api_token_query (
	token_id	integer NOT NULL
			REFERENCES api_token (id) ON DELETE CASCADE,
	query_id	integer NOT NULL
			REFERENCES query_job (id) ON DELETE CASCADE,
	PRIMARY KEY (token_id, query_id)
);
CREATE INDEX IF NOT EXISTS api_token_query_query
	ON api_token_query (query_id);

-- The notification: the payload names the table, for the logs only.
CREATE OR REPLACE FUNCTION pgsched_auth_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('pgsched_auth', TG_TABLE_NAME);
	RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS user_session_auth_notify ON user_session;
CREATE TRIGGER user_session_auth_notify
	AFTER UPDATE ON user_session FOR EACH ROW
	WHEN (NEW.is_revoked IS DISTINCT FROM OLD.is_revoked
	    OR NEW.expires_at < OLD.expires_at
	    OR NEW.user_id IS DISTINCT FROM OLD.user_id
	    OR NEW.id IS DISTINCT FROM OLD.id)
	EXECUTE FUNCTION pgsched_auth_notify();
DROP TRIGGER IF EXISTS user_session_auth_notify_del ON user_session;
CREATE TRIGGER user_session_auth_notify_del
	AFTER DELETE ON user_session FOR EACH ROW
	EXECUTE FUNCTION pgsched_auth_notify();

DROP TRIGGER IF EXISTS user_account_auth_notify ON user_account;
CREATE TRIGGER user_account_auth_notify
	AFTER UPDATE OF is_active, password_hash, email, name, id
	ON user_account FOR EACH ROW
	WHEN (NEW.is_active IS DISTINCT FROM OLD.is_active
	    OR NEW.password_hash IS DISTINCT FROM OLD.password_hash
	    OR NEW.email IS DISTINCT FROM OLD.email
	    OR NEW.name IS DISTINCT FROM OLD.name
	    OR NEW.id IS DISTINCT FROM OLD.id)
	EXECUTE FUNCTION pgsched_auth_notify();
DROP TRIGGER IF EXISTS user_account_auth_notify_del ON user_account;
CREATE TRIGGER user_account_auth_notify_del
	AFTER DELETE ON user_account FOR EACH ROW
	EXECUTE FUNCTION pgsched_auth_notify();

DROP TRIGGER IF EXISTS user_role_auth_notify ON user_role;
CREATE TRIGGER user_role_auth_notify
	AFTER INSERT OR UPDATE OR DELETE ON user_role FOR EACH ROW
	EXECUTE FUNCTION pgsched_auth_notify();

DROP TRIGGER IF EXISTS query_grant_auth_notify ON query_grant;
CREATE TRIGGER query_grant_auth_notify
	AFTER INSERT OR UPDATE OR DELETE ON query_grant FOR EACH ROW
	EXECUTE FUNCTION pgsched_auth_notify();

-- A new query too: a worker may remember that an id had no query.
DROP TRIGGER IF EXISTS query_job_auth_notify ON query_job;
CREATE TRIGGER query_job_auth_notify
	AFTER UPDATE OF visibility, id ON query_job FOR EACH ROW
	WHEN (NEW.visibility IS DISTINCT FROM OLD.visibility
	    OR NEW.id IS DISTINCT FROM OLD.id)
	EXECUTE FUNCTION pgsched_auth_notify();
DROP TRIGGER IF EXISTS query_job_auth_notify_insdel ON query_job;
CREATE TRIGGER query_job_auth_notify_insdel
	AFTER INSERT OR DELETE ON query_job FOR EACH ROW
	EXECUTE FUNCTION pgsched_auth_notify();

DROP TRIGGER IF EXISTS api_token_auth_notify ON api_token;
CREATE TRIGGER api_token_auth_notify
	AFTER UPDATE ON api_token FOR EACH ROW
	WHEN (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
	    OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
	    OR NEW.token_hash IS DISTINCT FROM OLD.token_hash
	    OR NEW.created_by IS DISTINCT FROM OLD.created_by
	    OR NEW.id IS DISTINCT FROM OLD.id)
	EXECUTE FUNCTION pgsched_auth_notify();
DROP TRIGGER IF EXISTS api_token_auth_notify_del ON api_token;
CREATE TRIGGER api_token_auth_notify_del
	AFTER DELETE ON api_token FOR EACH ROW
	EXECUTE FUNCTION pgsched_auth_notify();

DROP TRIGGER IF EXISTS api_token_query_auth_notify ON api_token_query;
CREATE TRIGGER api_token_query_auth_notify
	AFTER INSERT OR UPDATE OR DELETE ON api_token_query FOR EACH ROW
	EXECUTE FUNCTION pgsched_auth_notify();
