# pg.sh: start and stop a throwaway PostgreSQL cluster (sourced by
# with-pg.sh and by the embedded-default run script).
#
# pg_start DIR: initdb into DIR/data and start a server listening on a free
# loopback port and on a Unix socket in DIR; exports PGHOST, PGPORT, PGUSER,
# PGDATABASE, PGSCHED_TEST_PGURI.  As root the server runs as an unprivileged
# user (PostgreSQL refuses root), chosen by PGSCHED_PG_USER (default nobody).
# pg_stop DIR: fast shutdown.

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
	local dir=$1 bin
	bin=$(pg_bindir) || return 0
	[ -f "$dir/data/postmaster.pid" ] || return 0
	PG_RUN_USER=${PGSCHED_PG_USER:-nobody}
	pg_as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
}
