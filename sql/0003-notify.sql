-- 0003: tell API workers when what they may have cached changes.
--
-- pgsched-fcgi workers keep rendered run responses (finished runs never
-- change) and LISTEN on channel pgsched_run.  Whenever a run of query Q is
-- inserted, deleted (retention, or with its query), reaches or holds a
-- final status, or its stored result is written or removed, the payload Q
-- (the query id as text) is sent at commit, and every worker drops what it
-- holds for Q: "the latest run of Q" may be another run now.  Notifications
-- of one transaction with the same payload are folded into one by
-- PostgreSQL, so a run costs one or two notifications, whatever it writes.

CREATE OR REPLACE FUNCTION query_run_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('pgsched_run', OLD.query_id::text);
	ELSIF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status
	    OR NEW.status IN ('success', 'error', 'skipped')
	    OR NEW.query_id IS DISTINCT FROM OLD.query_id THEN
		PERFORM pg_notify('pgsched_run', NEW.query_id::text);
		IF TG_OP = 'UPDATE' AND NEW.query_id IS DISTINCT FROM OLD.query_id
		THEN
			PERFORM pg_notify('pgsched_run', OLD.query_id::text);
		END IF;
	END IF;
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS query_run_notify ON query_run;
CREATE TRIGGER query_run_notify
	AFTER INSERT OR UPDATE OR DELETE ON query_run
	FOR EACH ROW EXECUTE FUNCTION query_run_notify();

-- A result stored, replaced or removed: the run's query.  When the run
-- itself is being deleted (cascade) it may be gone already; its own
-- DELETE notifies then.
CREATE OR REPLACE FUNCTION query_run_blob_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	q	integer;
BEGIN
	SELECT query_id INTO q FROM query_run
	 WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.run_id
	    ELSE NEW.run_id END;
	IF q IS NOT NULL THEN
		PERFORM pg_notify('pgsched_run', q::text);
	END IF;
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS query_run_blob_notify ON query_run_blob;
CREATE TRIGGER query_run_blob_notify
	AFTER INSERT OR UPDATE OR DELETE ON query_run_blob
	FOR EACH ROW EXECUTE FUNCTION query_run_blob_notify();
