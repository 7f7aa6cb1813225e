#!/bin/sh
# embedded.sh [--once]: build pg-sched and run it for real on an embedded
# default, all under .embedded/ in this directory:
#   - a throwaway PostgreSQL cluster on loopback (metadata database
#     "pgsched" owned by the role pgsched, the API and runner roles of
#     `pgsched-admin db grant`, and a sample source database "sample" with
#     an orders table and a dedicated read-only role),
#   - keys, an admin user with a random password, the sample data source,
#     a sample query scheduled every minute,
#   - pgsched-runner every minute (as cron would start it),
#   - the API pool behind nginx on a free loopback port, with the web
#     console (www/) at / beside the API at /api/.
# It prints the URLs and the credentials and runs until Ctrl-C (or SIGTERM,
# or its terminal closing), which stops all of it.  With --once it runs
# one tick, checks that the API serves the result and nginx the console's
# log-in page, prints the same summary and stops everything.  A run that
# did not end cleanly (killed) leaves processes behind: the next run stops
# them, each after checking that its pid is still the process that was
# started there, before it starts anew.
#
# PGSCHED_EMBEDDED_DIR: another directory than .embedded/ (it must not
# exist, be empty, or hold an earlier run: everything in it is deleted).
# PGSCHED_BUILD_DIR: the build to run (default build/run, built when
# needed); when it holds the programs, nothing is built and no package is
# installed (a missing one is named).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
once=0
[ "${1:-}" = "--once" ] && once=1
cd "$top"

bld=${PGSCHED_BUILD_DIR:-$top/build/run}
if [ -n "${PGSCHED_BUILD_DIR:-}" ] && [ -x "$bld/pgsched-runner" ]; then
	sh scripts/deps.sh --check
else
	sh scripts/deps.sh
	autoreconf -fi >/dev/null 2>&1
	mkdir -p "$bld"
	(cd "$bld" && { [ -f Makefile ] || "$top/configure" >/dev/null; } &&
	    make -j"$(nproc)" >/dev/null) || {
		echo "embedded: build failed (see $bld)" >&2
		exit 1
	}
fi
admin=$bld/pgsched-admin
runner_bin=$bld/pgsched-runner
fcgi=$bld/pgsched-fcgi
# Each program has its env file, hence its own metadata role: pgsched-admin
# the owner's (pgsched.env), the pool the API role's (fcgi.env), the runner
# the runner role's (runner.env).
run_runner() {
	"$runner_bin" --env-file "$dir/runner.env" "$@"
}
runner=run_runner

dir=${PGSCHED_EMBEDDED_DIR:-$top/.embedded}
case "$dir" in
/*)	;;
*)	dir=$(pwd)/$dir ;;
esac
. "$top/tests/lib/pg.sh"
. "$top/scripts/stack.sh"

# The runner every minute, in a session of its own (the terminal's Ctrl-C
# does not reach it half-way through a tick; embedded_stop stops the
# whole session, the runner with it).  Its command line names $dir.
ticks_start() {
	ticks_starting=1
	setsid sh -c 'while :; do
		sleep $((60 - $(date +%S | sed "s/^0//")))
		"$2" >/dev/null 2>&1 || :
	done' pgsched-embedded-ticks "$dir" "$runner" \
	    </dev/null >/dev/null 2>&1 &
	ticks_pid=$!
	echo "$ticks_pid" >"$dir/ticks.pid"
}

# Stops the tick loop and what it runs: the pid of ticks.pid (a run that
# was killed) or of this run, checked, and its whole process group.
ticks_stop() {
	for tpid in $(pid_of "$dir/ticks.pid" "pgsched-embedded-ticks $dir") \
	    ${ticks_starting:+${!:-}}; do
		proc_has "$tpid" "pgsched-embedded-ticks $dir" || continue
		# the 5th field of stat, after "(comm)": the process group
		tgrp=$(sed 's/.*) //' "/proc/$tpid/stat" 2>/dev/null |
		    cut -d' ' -f3) || continue
		[ "$tgrp" = "$tpid" ] || continue
		kill -TERM -"$tpid" 2>/dev/null || :
		wait "$tpid" 2>/dev/null || :
		ti=0
		while kill -0 -"$tpid" 2>/dev/null && [ $ti -lt 300 ]; do
			sleep 0.1
			ti=$((ti + 1))
		done
		kill -KILL -"$tpid" 2>/dev/null || :
	done
	rm -f "$dir/ticks.pid"
}

# Stops everything a run in $dir started (this one, or one that did not
# end cleanly); never fails.
embedded_stop() {
	ticks_stop
	stack_stop "$dir/api"
	pg_stop "$dir/pg"
}

# The directory: absent, empty, or an earlier run's.
if [ -e "$dir" ] && [ ! -f "$dir/.pgsched-embedded" ] &&
    [ "$dir" != "$top/.embedded" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]
then
	echo "embedded: $dir is not empty and holds no earlier run: choose" \
	    "another PGSCHED_EMBEDDED_DIR" >&2
	exit 1
fi
ticks_starting=
if [ -d "$dir" ]; then
	embedded_stop || :
	left=$(pid_of "$dir/pg/data/postmaster.pid" "-D $dir/pg/data")
	if [ -n "$left" ]; then
		echo "embedded: the PostgreSQL server of an earlier run (pid" \
		    "$left) does not stop: stop it, then run this again" >&2
		exit 1
	fi
fi
rm -rf "$dir"
mkdir -p "$dir/api" "$dir/logs"
touch "$dir/.pgsched-embedded"
chmod 755 "$dir"

cleanup() {
	trap '' INT TERM HUP
	trap - EXIT
	set +eu
	embedded_stop
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

pg_start "$dir/pg"
psql -qX -v ON_ERROR_STOP=1 -c 'CREATE ROLE pgsched LOGIN' \
    -c 'CREATE ROLE pgsched_api LOGIN' -c 'CREATE ROLE pgsched_runner LOGIN' \
    -c 'CREATE DATABASE pgsched OWNER pgsched' \
    -c 'CREATE DATABASE sample' >/dev/null
ro_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
psql -qX -v ON_ERROR_STOP=1 -d sample >/dev/null <<SQL
CREATE TABLE orders (
	id		bigserial PRIMARY KEY,
	created_at	timestamptz NOT NULL,
	customer	text NOT NULL,
	amount		numeric(10,2) NOT NULL,
	status		text NOT NULL
);
INSERT INTO orders (created_at, customer, amount, status)
SELECT now() - (i * interval '97 seconds'),
       (ARRAY['acme','globex','initech','umbrella','hooli'])[1 + i % 5],
       round((10 + (i * 7919) % 49000 / 100.0)::numeric, 2),
       (ARRAY['paid','paid','paid','refunded','pending'])[1 + i % 5]
  FROM generate_series(0, 2999) i;
SQL
psql -qX -v ON_ERROR_STOP=1 -d sample -v role=pgsched_ro \
    -v password="'$ro_password'" -v schema=public \
    -f "$top/sql/readonly-role.sql" >/dev/null

env_file=$dir/pgsched.env
# env_for ROLE [RUNNER_ROLE]: a program's settings, connecting as ROLE (and
# starting its manual runs as RUNNER_ROLE: the pool).
env_for() {
	echo "PG_DSN_APP=postgresql://$1@127.0.0.1:$PGPORT/pgsched"
	if [ -n "${2:-}" ]; then
		echo "PG_DSN_RUNNER=postgresql://$2@127.0.0.1:$PGPORT/pgsched"
	fi
	cat "$dir/common.env"
}
umask 077
cat >"$dir/common.env" <<ENV
PUBLIC_KEY_B64_PATH=$dir/public_key.base64
APP_PRIVATE_KEY_B64_PATH=$dir/private_key.base64
ARGON2_SECRET_KEY_B64=$(head -c 32 /dev/urandom | base64)
LOG_DIR=$dir/logs
CORS_ALLOWED_ORIGINS=*
ENV
env_for pgsched >"$env_file"
env_for pgsched_api pgsched_runner >"$dir/fcgi.env"
env_for pgsched_runner >"$dir/runner.env"
rm -f "$dir/common.env"
umask 022
export PGSCHED_ENV_FILE=$env_file
"$admin" db migrate >/dev/null
"$admin" db grant --api pgsched_api --runner pgsched_runner >/dev/null
"$admin" keys gen >/dev/null
admin_password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$admin_password" >"$dir/admin-password"
chmod 600 "$dir/admin-password"
"$admin" users add --email admin@example.com --name Admin --roles admin \
    --password-file "$dir/admin-password" >/dev/null
printf '%s\n' "$ro_password" | "$admin" dsn add --name sample \
    --host 127.0.0.1 --port "$PGPORT" --dbname sample \
    --username pgsched_ro --password-file - >/dev/null
"$admin" queries add --name orders_last_24h --title "Orders (24h)" \
    --sql "SELECT created_at AS ts, id, customer, amount, status FROM orders WHERE created_at > now() - interval '24 hours' ORDER BY created_at DESC" \
    --data-source sample --schedule-type cron --schedule-expr '* * * * *' \
    --timezone UTC --enabled >/dev/null
# The first run now, so there is a result to read at once.
"$admin" queries run orders_last_24h >/dev/null

url="(pgsched-fcgi not built)"
if [ -x "$fcgi" ]; then
	chmod 755 "$dir/api"
	PGSCHED_ENV_FILE=$dir/fcgi.env PGSCHED_RUNNER_PATH=$runner_bin \
	    stack_start "$dir/api" "$fcgi" "$top" 2
	url=$STACK_URL
fi

cat <<EOF

pg-sched is running (everything under $dir).

  API:        $url/api/
  console:    $url/  (log in at $url/login.html)
  health:     $url/healthz
  admin:      admin@example.com / $admin_password
  settings:   $env_file (owner), $dir/fcgi.env (API),
              $dir/runner.env (runner)
  logs:       $dir/logs
  metadata:   psql "postgresql://pgsched@127.0.0.1:$PGPORT/pgsched"

Try:
  curl -s $url/api/queries
  curl -s $url/api/queries/1/runs/latest
  curl -s -c $dir/cookies -H 'Content-Type: application/json' \\
       -d '{"email":"admin@example.com","password":"$admin_password"}' \\
       $url/api/auth/login
  curl -s -b $dir/cookies $url/api/users/me
  PGSCHED_ENV_FILE=$env_file $admin queries list

The sample query "orders_last_24h" runs every minute.
EOF

if [ "$once" -eq 1 ]; then
	"$runner" >/dev/null 2>&1 || true
	if [ -x "$fcgi" ]; then
		latest=$(curl -fsS "$url/api/queries/1/runs/latest") || {
			echo "embedded: the API does not serve the sample" \
			    "query's latest run" >&2
			exit 1
		}
		printf '%.300s...\n' "$latest"
		curl -fsS "$url/login.html" | grep -q '<form id="login"' || {
			echo "embedded: the web console's log-in page is not" \
			    "served at $url/login.html" >&2
			exit 1
		}
	fi
	"$admin" runs list --query orders_last_24h | head -n 5
	exit 0
fi
ticks_start
echo "Press Ctrl-C to stop."
# Until a signal (the traps above) or the loop's end.
while :; do
	wait "$ticks_pid" || :
	proc_has "$ticks_pid" "pgsched-embedded-ticks $dir" || break
done
echo "embedded: the runner loop stopped" >&2
exit 1
