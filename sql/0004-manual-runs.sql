-- 0004: bounded manual runs.
--
-- A query has at most one manual run queued or running at a time: a
-- partial unique index makes a second one impossible, whichever program
-- (API, CLI, runner) and however many at once try to queue it; the one
-- that loses is told the id of the run that stands.  A manual run whose
-- runner died is queued again by the next tick, `requeues` times at most
-- (claim.h), instead of being lost as "runner died".

ALTER TABLE query_run
	ADD COLUMN IF NOT EXISTS requeues integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN query_run.requeues IS
	'times a manual run whose runner died was queued again';

-- No manual run may be queued while the duplicates below are settled.
LOCK TABLE query_run IN SHARE ROW EXCLUSIVE MODE;

-- Older versions allowed several.  Of two running ones (the first one's
-- runner died and the next tick has not seen it yet) the older is that
-- dead one; queued ones behind a running or older queued one are skipped.
UPDATE query_run r SET status = 'error', error_message = 'runner died',
	run_finished_at = now(),
	duration_ms = (extract(epoch FROM now() -
	    coalesce(r.run_started_at, r.queued_at)) * 1000)::int
 WHERE r.triggered_by = 'manual' AND r.status = 'running'
   AND EXISTS (SELECT 1 FROM query_run o
	WHERE o.query_id = r.query_id AND o.triggered_by = 'manual'
	  AND o.status = 'running' AND o.id > r.id);
UPDATE query_run r SET status = 'skipped', run_finished_at = now(),
	duration_ms = 0,
	error_message = 'skipped: another manual run of the query was queued'
 WHERE r.triggered_by = 'manual' AND r.status = 'queued'
   AND EXISTS (SELECT 1 FROM query_run o
	WHERE o.query_id = r.query_id AND o.triggered_by = 'manual'
	  AND (o.status = 'running' OR (o.status = 'queued' AND o.id < r.id)));

CREATE UNIQUE INDEX IF NOT EXISTS query_run_manual_active
	ON query_run (query_id)
	WHERE triggered_by = 'manual' AND status IN ('queued', 'running');
