-- 0008: keep_days bounded above in the database, as both doors bound it.
--
-- The runner's retention computes now() - keep_days days, which leaves
-- PostgreSQL's timestamp range beyond about 2.4 million days and then
-- fails; src/query_rules.c bounds keep_days to 1..365000 (1000 years), but
-- a database written by an older CLI may hold more.  Such a value is
-- clamped to 365000 (the row's version moves on, as for any change of its
-- settings), and the CHECK keeps new ones out.
--
-- The other integer settings of src/query_rules.c already have their
-- bounds here (0002): timeout_ms, max_retries and retry_delay_s by CHECK,
-- and max_rows, pause_after_failures and keep_runs by a CHECK of >= 1 on
-- an integer column, whose upper end is the table's 2147483647: no stored
-- value of them can be out of bounds.  tests/db/test_settings_bounds.py
-- holds every one of these constraints to the table of src/query_rules.c.

-- The ALTER below takes this lock anyway; taking it first means no value
-- can come in between the clamp and the CHECK, and no lock upgrade can
-- deadlock with a runner's claim.
LOCK TABLE query_job IN ACCESS EXCLUSIVE MODE;

UPDATE query_job SET keep_days = 365000, version = version + 1,
	updated_at = now()
 WHERE keep_days > 365000;

ALTER TABLE query_job
	DROP CONSTRAINT IF EXISTS query_job_keep_days_check,
	ADD CONSTRAINT query_job_keep_days_check
		CHECK (keep_days BETWEEN 1 AND 365000);
