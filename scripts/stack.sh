# stack.sh: start and stop the API stack (pgsched-fcgi behind nginx) in a
# directory, from the repository's own nginx files.  Sourced by
# scripts/embedded.sh and tests/lib/with-api.sh; needs tests/lib/pg.sh
# (pg_free_port) sourced first.
#
# stack_start DIR FCGI_BINARY SRCDIR [WORKERS]: starts the pool on
# DIR/fcgi.sock and nginx on a free 127.0.0.1 port, serving a copy of
# SRCDIR/www (the console) in DIR/www; sets STACK_URL.
# stack_stop DIR: stops both (the pool finishes in-flight requests), each
# only after checking that the pid of its pid file is still the process
# started for DIR (a file left by a run that did not end cleanly may name
# a process that is gone, or another one since); always returns 0.

stack_start() {
	sdir=$1 sfcgi=$2 ssrc=$3 sworkers=${4:-2}
	snginx=${PGSCHED_NGINX:-/usr/sbin/nginx}
	suser=${PGSCHED_NGINX_USER:-nobody}
	[ -x "$snginx" ] || { echo "stack: no nginx at $snginx" >&2; return 77; }
	mkdir -p "$sdir/nginx/tmp"
	if [ "$(id -u)" -eq 0 ]; then
		# nginx workers run unprivileged: they must reach the socket.
		chmod 755 "$sdir"
		chown -R "$suser" "$sdir/nginx/tmp"
	fi
	# PGSCHED_FCGI_ARGS: more options for the pool (words).
	# shellcheck disable=SC2086
	"$sfcgi" --workers "$sworkers" --socket "$sdir/fcgi.sock" \
	    --socket-mode 0666 ${PGSCHED_FCGI_ARGS:-} >"$sdir/fcgi.out" 2>&1 &
	echo $! >"$sdir/fcgi.pid"
	si=0
	while [ ! -S "$sdir/fcgi.sock" ] && [ $si -lt 100 ]; do
		sleep 0.05
		si=$((si + 1))
	done
	[ -S "$sdir/fcgi.sock" ] || { cat "$sdir/fcgi.out" >&2; return 1; }
	# The console's files, where the unprivileged nginx workers read them.
	rm -rf "$sdir/www"
	cp -R "$ssrc/www" "$sdir/www" && chmod -R a+rX "$sdir/www" || return 1
	sport=$(pg_free_port)
	suser_line=
	[ "$(id -u)" -eq 0 ] && suser_line="user $suser $(id -gn "$suser");"
	sed -e "s|unix:/run/pgsched/fcgi.sock|unix:$sdir/fcgi.sock|" \
	    -e "s|^\([[:space:]]*\)listen 80;|\1listen 127.0.0.1:$sport;|" \
	    -e "s|include pgsched_fastcgi.conf;|include $ssrc/etc/nginx/pgsched_fastcgi.conf;|" \
	    -e "s|root /usr/share/pgsched/www;|root $sdir/www;|" \
	    -e "s|/var/log/nginx/pgsched.access.log|$sdir/nginx/access.log|" \
	    "$ssrc/etc/nginx/pgsched.conf" >"$sdir/nginx/server.conf"
	cat >"$sdir/nginx/nginx.conf" <<CONF
$suser_line
worker_processes 1;
pid $sdir/nginx.pid;
error_log $sdir/nginx/error.log warn;
events { worker_connections 512; }
http {
	access_log $sdir/nginx/access.log;
	client_body_temp_path $sdir/nginx/tmp/body;
	fastcgi_temp_path $sdir/nginx/tmp/fastcgi;
	proxy_temp_path $sdir/nginx/tmp/proxy;
	uwsgi_temp_path $sdir/nginx/tmp/uwsgi;
	scgi_temp_path $sdir/nginx/tmp/scgi;
	include $sdir/nginx/server.conf;
}
CONF
	"$snginx" -p "$sdir/nginx" -e "$sdir/nginx/error.log" \
	    -c "$sdir/nginx/nginx.conf" || {
		cat "$sdir/nginx/error.log" >&2
		return 1
	}
	# nginx returns before its daemon wrote the pid file stack_stop needs.
	si=0
	while [ -z "$(pid_of "$sdir/nginx.pid" "$sdir/nginx/nginx.conf")" ] &&
	    [ $si -lt 100 ]; do
		sleep 0.05
		si=$((si + 1))
	done
	STACK_URL="http://127.0.0.1:$sport"
	export STACK_URL
}

stack_stop() {
	sdir=$1
	spid=$(pid_of "$sdir/nginx.pid" "$sdir/nginx/nginx.conf")
	[ -z "$spid" ] || proc_stop "$spid" "$sdir/nginx/nginx.conf"
	spid=$(pid_of "$sdir/fcgi.pid" "$sdir/fcgi.sock")
	[ -z "$spid" ] || proc_stop "$spid" "$sdir/fcgi.sock"
	rm -f "$sdir/fcgi.pid" "$sdir/nginx.pid"
	return 0
}
