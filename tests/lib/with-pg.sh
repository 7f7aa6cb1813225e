#!/bin/sh
# with-pg.sh TEST [ARGS]: run TEST against a fresh PostgreSQL cluster.
#
# Each test gets its own cluster in a temporary directory (so make -j check
# is safe): initdb, start on loopback and a Unix socket, create the
# metadata database "pgsched" and a source database "source", export the
# PG* variables and PG_DSN_APP, run the test, and stop the server from a
# trap whatever happens.  Exits 77 (skip) when PostgreSQL is not installed.
#
# PG_DSN_APP is the owner's (the superuser postgres): pgsched-admin and the
# tests' own set-up connections use it.  The pool and the runners run as
# the roles of CONTRACT §10, created here with LOGIN (trust, as every
# role of this cluster): PGSCHED_TEST_API_ROLE / PGSCHED_TEST_API_DSN and
# PGSCHED_TEST_RUNNER_ROLE / PGSCHED_TEST_RUNNER_DSN.  They get their
# grants from `pgsched-admin db grant` once a test has migrated
# (pgtest.migrate(), with-api.sh, grant_roles in cli.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/pg.sh"

if ! pg_bindir >/dev/null; then
	echo "with-pg: no initdb found: skipping" >&2
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgsched-test.XXXXXX")
# The server runs as an unprivileged user when we are root: let it in.
chmod 755 "$tmp"
cleanup() {
	pg_stop "$tmp/pg"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg_start "$tmp/pg" || exit 99
psql -qX -v ON_ERROR_STOP=1 -c 'CREATE DATABASE pgsched' \
    -c 'CREATE DATABASE source' -c 'CREATE ROLE pgsched_api LOGIN' \
    -c 'CREATE ROLE pgsched_runner LOGIN' >/dev/null || exit 99

export PGSCHED_TEST_TMP=$tmp
export PG_DSN_APP="postgresql://postgres@127.0.0.1:$PGPORT/pgsched"
export PGSCHED_TEST_API_ROLE=pgsched_api
export PGSCHED_TEST_API_DSN="postgresql://pgsched_api@127.0.0.1:$PGPORT/pgsched"
export PGSCHED_TEST_RUNNER_ROLE=pgsched_runner
export PGSCHED_TEST_RUNNER_DSN="postgresql://pgsched_runner@127.0.0.1:$PGPORT/pgsched"
export PGSCHED_TEST_SOURCE_URI="postgresql://postgres@127.0.0.1:$PGPORT/source"
export PGDATABASE=pgsched
export LOG_DIR=$tmp/logs
# Test settings only come from the environment, never from a ./.env.
export PGSCHED_ENV_FILE=/dev/null
export PUBLIC_KEY_B64_PATH=$tmp/public_key.base64
export APP_PRIVATE_KEY_B64_PATH=$tmp/private_key.base64
export ARGON2_SECRET_KEY_B64=$(head -c 32 /dev/urandom | base64)
test=$1
shift
case "$test" in
/*)	;;
*)	test=$(pwd)/$test ;;
esac
cd "$tmp" || exit 99
case "$test" in
*/tests/api/*.py|*/tests/www/*.py)
	# API and browser suites: the pool behind a real nginx on top of
	# this cluster.
	sh "$here/with-api.sh" "$test" "$@" ;;
*.py)	/usr/bin/python3 "$test" "$@" ;;
*)	sh "$test" "$@" ;;
esac
