#!/bin/sh
# debian-check-root.sh DEB: the maintainer-script checks of
# debian-check.sh, run inside its throwaway root (never on a real system:
# it installs, removes and purges the package).  Prints one "ok NAME" or
# "FAIL NAME" line per check.
set -u
deb=$1

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; }
check() {
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi
}
# perms PATH OWNER:GROUP MODE
perms() {
	[ "$(stat -c '%U:%G %a' "$1" 2>/dev/null)" = "$2 $3" ]
}
# The command part of the cron.d line (after the five times and the user).
cron_cmd() {
	grep -v '^#\|^[A-Z]*=\|^$' /etc/cron.d/pgsched | head -1 |
	    cut -f3-
}

if getent passwd pgsched >/dev/null || [ -e /etc/pgsched ] ||
    [ -e /var/log/pgsched ]; then
	bad "throwaway root starts without pgsched (user, /etc/pgsched)"
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if dpkg -i "$deb" >/tmp/dpkg.log 2>&1; then
	ok "dpkg -i (fresh install)"
elif apt-get install -f -y -qq --no-install-recommends >>/tmp/dpkg.log 2>&1
then
	ok "dpkg -i (fresh install, missing dependencies from apt)"
else
	bad "dpkg -i (fresh install)"
	sed 's/^/  /' /tmp/dpkg.log
	exit 1
fi

# --- after the first install ----------------------------------------------
pw=$(getent passwd pgsched)
uid=$(echo "$pw" | cut -d: -f3)
check "system user pgsched (uid < 1000)" test "${uid:-9999}" -lt 1000
check "pgsched's home is /var/lib/pgsched" \
    test "$(echo "$pw" | cut -d: -f6)" = /var/lib/pgsched
check "group pgsched is its primary group" \
    test "$(id -gn pgsched)" = pgsched
check "/var/log/pgsched is pgsched:pgsched 0750" \
    perms /var/log/pgsched pgsched:pgsched 750
check "/etc/pgsched is root:pgsched 0750" \
    perms /etc/pgsched root:pgsched 750
check "/etc/pgsched/pgsched.env is root:pgsched 0640" \
    perms /etc/pgsched/pgsched.env root:pgsched 640
check "pgsched.env is the shipped example" cmp /etc/pgsched/pgsched.env \
    /usr/share/pgsched/pgsched.env.example
for f in fcgi runner; do
	check "/etc/pgsched/$f.env is root:pgsched 0640" \
	    perms "/etc/pgsched/$f.env" root:pgsched 640
	check "$f.env is the shipped example" cmp "/etc/pgsched/$f.env" \
	    /usr/share/pgsched/pgsched.env.example
done
check "the units and the cron line read their own env files" sh -c \
    "grep -q 'env-file /etc/pgsched/fcgi.env' \
	/lib/systemd/system/pgsched-fcgi.service &&
    grep -q 'env-file /etc/pgsched/runner.env' \
	/lib/systemd/system/pgsched-runner.service &&
    grep -q 'env-file /etc/pgsched/runner.env' /etc/cron.d/pgsched"
check "no systemd unit enabled" sh -c \
    "! ls /etc/systemd/system/*/pgsched* 2>/dev/null | grep -q ."
check "pgsched-admin runs" /usr/bin/pgsched-admin --version
check "pgsched reads its settings (config check)" runuser -u pgsched -- \
    env PG_DSN_APP=postgresql://pgsched@127.0.0.1:1/pgsched \
    pgsched-admin --env-file /etc/pgsched/pgsched.env config check

# The cron line does nothing until runner.enabled exists, then runs the
# runner as pgsched, which can write its log (the database is absent here,
# so the runner stops with one line).
cmd=$(cron_cmd)
check "cron.d line found" test -n "$cmd"
# Admin commands above leave audit lines: count what is there already.
before=$(cat /var/log/pgsched/pgsched-*.log 2>/dev/null | wc -l)
out=$(runuser -u pgsched -- env \
    PG_DSN_APP=postgresql://pgsched@127.0.0.1:1/pgsched sh -c "$cmd" 2>&1)
check "cron line is quiet while not enabled" test -z "$out"
check "nothing logged while not enabled" test \
    "$(cat /var/log/pgsched/pgsched-*.log 2>/dev/null | wc -l)" -eq "$before"
touch /etc/pgsched/runner.enabled
runuser -u pgsched -- env \
    PG_DSN_APP=postgresql://pgsched@127.0.0.1:1/pgsched sh -c "$cmd" \
    >/tmp/cron.out 2>&1
check "enabled cron line runs pgsched-runner" \
    grep -q 'pgsched-runner: cannot connect' /tmp/cron.out
check "the runner's log line is in /var/log/pgsched, owned by pgsched" \
    sh -c "ls -l /var/log/pgsched/pgsched-*.log | grep -q ' pgsched pgsched ' &&
	grep -q ' pgsched-runner .* fatal ' /var/log/pgsched/pgsched-*.log"

# --- upgrade (same version again): settings kept -------------------------
echo "# local edit" >>/etc/pgsched/pgsched.env
chmod 0600 /etc/pgsched/pgsched.env
echo "# pool edit" >>/etc/pgsched/fcgi.env
# As from a version without per-program env files: runner.env missing.
rm /etc/pgsched/runner.env
check "dpkg -i again (upgrade path)" dpkg -i "$deb"
check "upgrade keeps the edited pgsched.env" \
    grep -qx '# local edit' /etc/pgsched/pgsched.env
check "upgrade leaves the settings file's mode alone" \
    perms /etc/pgsched/pgsched.env root:pgsched 600
check "upgrade keeps the edited fcgi.env" \
    grep -qx '# pool edit' /etc/pgsched/fcgi.env
check "upgrade makes a missing runner.env from pgsched.env" sh -c \
    "grep -qx '# local edit' /etc/pgsched/runner.env &&
    test \"\$(stat -c '%U:%G %a' /etc/pgsched/runner.env)\" = \
	'root:pgsched 640'"

# --- remove, then purge ---------------------------------------------------
echo secret >/etc/pgsched/private_key.base64
check "dpkg -r" dpkg -r pgsched
check "remove: binaries gone" test ! -e /usr/bin/pgsched-runner
check "remove: settings and logs kept" test -f /etc/pgsched/pgsched.env \
    -a -d /var/log/pgsched
check "dpkg -P" dpkg -P pgsched
check "purge: /var/log/pgsched removed" test ! -e /var/log/pgsched
check "purge: the env files and runner.enabled removed" \
    test ! -e /etc/pgsched/pgsched.env -a ! -e /etc/pgsched/fcgi.env \
    -a ! -e /etc/pgsched/runner.env -a ! -e /etc/pgsched/runner.enabled
check "purge: key files kept" test -f /etc/pgsched/private_key.base64
check "purge: /etc/cron.d/pgsched removed" test ! -e /etc/cron.d/pgsched
check "purge: the pgsched user stays" getent passwd pgsched
rm -f /etc/pgsched/private_key.base64
check "reinstall after purge (user exists already)" dpkg -i "$deb"
check "reinstall recreates pgsched.env" test -f /etc/pgsched/pgsched.env
check "dpkg -P, then /etc/pgsched is gone when empty" sh -c \
    "dpkg -P pgsched && test ! -e /etc/pgsched"
exit 0
