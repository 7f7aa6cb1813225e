# pg.sh: start and stop a throwaway PostgreSQL cluster (sourced by
# with-pg.sh and by the embedded-default run script).
#
# pg_start DIR: initdb into DIR/data and start a server listening on a free
# loopback port and on a Unix socket in DIR; exports PGHOST, PGPORT, PGUSER,
# PGDATABASE, PGSCHED_TEST_PGURI.  As root the server runs as an unprivileged
# user (PostgreSQL refuses root), chosen by PGSCHED_PG_USER (default nobody).
# pg_stop DIR: immediate shutdown of the server of DIR, if it runs (a
# postmaster.pid left by a server that is gone, or naming another process,
# is never acted on).
#
# proc_has PID WORDS: PID is a live process (not a zombie) whose command
# line (arguments joined by spaces, or the title it set) holds WORDS as
# whole words.
# pid_of FILE WORDS: prints the pid of FILE's first line when proc_has
# holds for it, nothing otherwise (a stale file).
# proc_stop PID WORDS [SIGNAL [SECONDS]]: SIGNAL (default TERM) to PID if
# proc_has holds, then SIGKILL if it still does after SECONDS (default
# 30).  Always returns 0.

pg_bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && bin=$d
	done
	[ -n "${bin:-}" ] || bin=$(dirname "$(command -v initdb 2>/dev/null)" 2>/dev/null)
	[ -n "$bin" ] && [ -x "$bin/initdb" ] && echo "$bin"
}

pg_as() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid="$PG_RUN_USER" --regid="$(id -g "$PG_RUN_USER")" \
		    --clear-groups --reset-env -- env PATH="$PATH" "$@"
	else
		"$@"
	fi
}

pg_free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

pg_start() {
	local dir=$1 bin port i
	bin=$(pg_bindir) || return 77
	PG_RUN_USER=${PGSCHED_PG_USER:-nobody}
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$PG_RUN_USER" "$dir"
		chmod 755 "$dir"
	fi
	pg_as "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync \
	    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	for i in 1 2 3 4 5; do
		port=$(pg_free_port)
		if pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 \
		    -c fsync=off -c synchronous_commit=off \
		    -c full_page_writes=off -c max_connections=300" \
		    start >/dev/null 2>&1; then
			break
		fi
		port=
	done
	if [ -z "$port" ]; then
		tail -n 20 "$dir/server.log" >&2
		return 1
	fi
	export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
	export PGSCHED_TEST_PGURI="postgresql://postgres@127.0.0.1:$port/postgres"
	export PGSCHED_PG_BIN=$bin
	return 0
}

pg_stop() {
	local dir=$1 pid
	pid=$(pid_of "$dir/data/postmaster.pid" "-D $dir/data")
	[ -n "$pid" ] || return 0
	# SIGQUIT: pg_ctl's immediate shutdown (pg_ctl itself would signal
	# whatever process has the pid of a stale postmaster.pid).
	proc_stop "$pid" "-D $dir/data" QUIT 60
}

# These never fail under set -e, whatever the processes do meanwhile.
proc_has() {
	local cmd state
	state=$(sed -n 's/^State:[[:space:]]*//p' "/proc/$1/status" \
	    2>/dev/null) || return 1
	case "$state" in
	Z*|X*|'') return 1 ;;
	esac
	cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
	case " $cmd " in
	*" $2 "*) return 0 ;;
	esac
	return 1
}

pid_of() {
	local pid
	pid=$(sed -n '1{s/[^0-9]//g;p;q}' "$1" 2>/dev/null) || return 0
	if [ -n "$pid" ] && [ "$pid" -gt 1 ] && proc_has "$pid" "$2"; then
		echo "$pid"
	fi
	return 0
}

proc_stop() {
	local pid=$1 words=$2 sig=${3:-TERM} n=$((${4:-30} * 10))
	proc_has "$pid" "$words" || return 0
	kill -"$sig" "$pid" 2>/dev/null || :
	while [ "$n" -gt 0 ] && proc_has "$pid" "$words"; do
		sleep 0.1
		n=$((n - 1))
	done
	if proc_has "$pid" "$words"; then
		echo "stopping $pid ($words) took too long: killed" >&2 || :
		kill -KILL "$pid" 2>/dev/null || :
	fi
	return 0
}
