#!/bin/sh
# with-api.sh TEST [ARGS]: run an API test against the real pool behind a
# real nginx.  Runs under with-pg.sh (which provides the PostgreSQL cluster
# and PG_DSN_APP, key paths, pepper, LOG_DIR):
#
#   sh tests/lib/with-pg.sh tests/lib/with-api.sh tests/api/test_api.py
#
# It migrates the metadata database, grants the API and runner roles their
# privileges (pgsched-admin db grant), generates the key pair, creates one
# user per role, starts pgsched-fcgi on a unix socket (as the API role, and
# its manual runs as the runner role: PG_DSN_RUNNER) and nginx on a free
# loopback port, exports PGSCHED_API_URL and friends, runs TEST and stops
# everything from a trap.  The test itself keeps the owner's PG_DSN_APP.  Binaries come from PGSCHED_BUILDDIR (or
# PGSCHED_FCGI / PGSCHED_ADMIN / PGSCHED_NGINX).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${PGSCHED_SRCDIR:-$(cd "$here/../.." && pwd)}
bld=${PGSCHED_BUILDDIR:-$(pwd)}
fcgi=${PGSCHED_FCGI:-$bld/pgsched-fcgi}
admin=${PGSCHED_ADMIN:-$bld/pgsched-admin}
nginx=${PGSCHED_NGINX:-/usr/sbin/nginx}
tmp=${PGSCHED_TEST_TMP:?run me under with-pg.sh}
dir=$tmp/api
. "$here/pg.sh"

for b in "$fcgi" "$admin"; do
	[ -x "$b" ] || { echo "with-api: $b not built: skipping" >&2; exit 77; }
done
[ -x "$nginx" ] || { echo "with-api: no nginx: skipping" >&2; exit 77; }

mkdir -p "$dir" "$LOG_DIR"
[ "$(id -u)" -eq 0 ] && chmod 711 "$tmp"
. "$src/scripts/stack.sh"
stop_all() {
	stack_stop "$dir"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

"$admin" db migrate >"$dir/setup.log" 2>&1 &&
"$admin" db grant --api "$PGSCHED_TEST_API_ROLE" \
    --runner "$PGSCHED_TEST_RUNNER_ROLE" >>"$dir/setup.log" 2>&1 &&
"$admin" keys gen >>"$dir/setup.log" 2>&1 || {
	cat "$dir/setup.log" >&2
	exit 99
}
export PGSCHED_TEST_PASSWORD=Correct-Horse-9
for role in admin editor viewer; do
	"$admin" users add --email "$role@example.com" --name "$role" \
	    --roles "$role" --password "$PGSCHED_TEST_PASSWORD" \
	    >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; exit 99; }
done

# A runner next to the binaries if there is one (manual runs).
if [ -z "${PGSCHED_RUNNER_PATH:-}" ] && [ -x "$bld/pgsched-runner" ]; then
	export PGSCHED_RUNNER_PATH=$bld/pgsched-runner
fi
# Settings of one test file: TEST with .py replaced by .env, if present.
test=$1
shift
case "$test" in
/*)	;;
*)	test=$src/$test ;;
esac
if [ -f "${test%.py}.env" ]; then
	set -a
	. "${test%.py}.env"
	set +a
fi
# PGSCHED_TEST_LOG_FULL=1 (in the .env): the pool logs into a full
# filesystem, a 64 KiB tmpfs filled up; the test finds it in
# PGSCHED_LOG_FULL_DIR (the filler file: "filler").  Needs root.
if [ "${PGSCHED_TEST_LOG_FULL:-0}" = 1 ]; then
	full=$dir/full
	mkdir -p "$full"
	if [ "$(id -u)" -ne 0 ] ||
	    ! mount -t tmpfs -o size=64k,mode=0777 tmpfs "$full" 2>/dev/null; then
		echo "with-api: cannot mount a tmpfs for a full LOG_DIR: skipping"
		exit 77
	fi
	stop_all() {
		stack_stop "$dir"
		umount "$full" 2>/dev/null
	}
	dd if=/dev/zero of="$full/filler" bs=4096 count=64 2>/dev/null
	export LOG_DIR=$full PGSCHED_LOG_FULL_DIR=$full
fi
export PGSCHED_OPENAPI_PATH=${PGSCHED_OPENAPI_PATH:-$src/openapi.json}
export CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS:-https://dash.example.com}
export APP_NAME=pgsched-api-test

# The pool as the API role; the runners it starts as the runner role.
owner_dsn=$PG_DSN_APP
PG_DSN_APP=$PGSCHED_TEST_API_DSN
export PG_DSN_RUNNER=$PGSCHED_TEST_RUNNER_DSN
stack_start "$dir" "$fcgi" "$src" "${PGSCHED_TEST_WORKERS:-2}" || exit 99
PG_DSN_APP=$owner_dsn
unset PG_DSN_RUNNER

# Stop/start of the metadata server for the restart test.
cat >"$dir/pgctl.sh" <<CTL
#!/bin/sh
. "$here/pg.sh"
PG_RUN_USER=\${PGSCHED_PG_USER:-nobody}
case "\$1" in
stop)	pg_as "$PGSCHED_PG_BIN/pg_ctl" -D "$tmp/pg/data" -m fast -w stop ;;
start)	pg_as "$PGSCHED_PG_BIN/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/server.log" -w \
	    -o "-p $PGPORT -k $tmp/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start ;;
esac >/dev/null
CTL

export PGSCHED_API_URL=$STACK_URL
export PGSCHED_FCGI_PIDFILE=$dir/fcgi.pid
export PGSCHED_PGCTL="sh $dir/pgctl.sh"
export PGSCHED_API_DIR=$dir
/usr/bin/python3 "$test" "$@"
