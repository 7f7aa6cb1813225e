-- readonly-role.sql: create a dedicated read-only role for pg-sched on a
-- DATA SOURCE (not the metadata database).  Run as a superuser on the
-- source, in the database the queries read:
--
--   psql -v role=pgsched_ro -v password="'...'" -v schema=public \
--        -d analytics -f readonly-role.sql
--
-- The role can log in and read the tables of one schema, owns nothing,
-- belongs to no privileged role, cannot create anything, and is bounded
-- (connections, temp files, statement time, idle transactions).  pg-sched
-- still runs every query in a READ ONLY transaction; this role is what
-- holds even if that layer had a hole.
\set ON_ERROR_STOP on
CREATE ROLE :"role" LOGIN PASSWORD :password
	NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
	NOINHERIT CONNECTION LIMIT 20;
ALTER ROLE :"role" SET default_transaction_read_only = on;
ALTER ROLE :"role" SET statement_timeout = '15min';
ALTER ROLE :"role" SET idle_in_transaction_session_timeout = '5min';
ALTER ROLE :"role" SET temp_file_limit = '1GB';
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME" TO :"role";
GRANT USAGE ON SCHEMA :"schema" TO :"role";
GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"role";
ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema" GRANT SELECT ON TABLES
	TO :"role";
