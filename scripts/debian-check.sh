#!/bin/sh
# debian-check.sh: build the Debian package from a clean copy of the tree
# (dpkg-buildpackage -us -uc -b), then check it: its contents and control
# fields, lintian, and its maintainer scripts for real in a throwaway root
# (an overlay of / in a private mount namespace: install, upgrade, remove,
# purge; nothing on the host changes).  Ends with "N passed, N failed".
#
# Usage: scripts/debian-check.sh [WORKDIR]   (default: a new mktemp dir)
# Needs root (the throwaway root, and installing missing build tools);
# exits 77 (skipped) when it cannot run at all.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/pgsched-deb.XXXXXX")}
pass=0
fail=0

ok() {
	pass=$((pass + 1))
	echo "ok   $*"
}

bad() {
	fail=$((fail + 1))
	echo "FAIL $*"
}

# check NAME COMMAND...: one test that passes when COMMAND succeeds.
check() {
	name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi
}

finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}

if [ "$(id -u)" -ne 0 ]; then
	echo "debian-check.sh: needs root (throwaway root, build tools)" >&2
	exit 77
fi

# The packaging tools, and the build dependencies (scripts/deps.sh).
tools=""
for p in debhelper dpkg-dev lintian fakeroot; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed' || tools="$tools $p"
done
if [ -n "$tools" ]; then
	echo "debian-check.sh: installing:$tools" >&2
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	{ apt-get update -qq && apt-get install -y -qq \
	    --no-install-recommends $tools; } >/dev/null ||
	    { echo "debian-check.sh: cannot install$tools" >&2; exit 77; }
fi
sh "$top/scripts/deps.sh" || exit 77

# A clean copy: the files git knows (tracked, or new and not ignored), so
# no build product of the work tree gets in and none lands in it.
ver=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src="$work/pgsched-${ver%-*}"
rm -rf "$src"
mkdir -p "$src"
(cd "$top" && git ls-files -co --exclude-standard | while IFS= read -r f
do
	[ -e "$f" ] && printf '%s\n' "$f"
done | tar -cf - -T -) | tar -xf - -C "$src"
check "clean copy has debian/rules" test -x "$src/debian/rules"

DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)}
export DEB_BUILD_OPTIONS
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1
then
	ok "dpkg-buildpackage -us -uc -b"
else
	bad "dpkg-buildpackage -us -uc -b (see $work/build.log)"
	tail -30 "$work/build.log"
	finish
fi
deb=$(ls "$work"/pgsched_"$ver"_*.deb 2>/dev/null | head -1)
if [ -z "$deb" ]; then
	bad "pgsched_${ver}_*.deb built"
	finish
fi
ok "pgsched_${ver}_*.deb built"

# --- contents and control fields -------------------------------------------
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's,^\./,/,' >"$work/files"
for f in /usr/bin/pgsched-admin /usr/bin/pgsched-runner \
    /usr/bin/pgsched-fcgi /usr/share/pgsched/sql/0001-init.sql \
    /usr/share/pgsched/openapi.json /usr/share/pgsched/pgsched.env.example \
    /usr/share/pgsched/sql/readonly-role.sql /etc/cron.d/pgsched \
    /lib/systemd/system/pgsched-fcgi.service \
    /lib/systemd/system/pgsched-runner.service \
    /lib/systemd/system/pgsched-runner.timer \
    /usr/share/doc/pgsched/examples/nginx/pgsched.conf \
    /usr/share/doc/pgsched/examples/nginx/pgsched_fastcgi.conf \
    /usr/share/doc/pgsched/examples/pgsched.env.example \
    /usr/share/man/man1/pgsched-admin.1.gz \
    /usr/share/pgsched/sql/roles.sql \
    /usr/share/doc/pgsched/copyright \
    $(cd "$top" && git ls-files www | sed 's,^,/usr/share/pgsched/,')
do
	check "ships $f" grep -qx "$f" "$work/files"
done
# dh_compress compresses it once it is over 4 KiB (Debian policy 12.3).
check "ships /usr/share/doc/pgsched/README.Debian" \
    grep -qxE '/usr/share/doc/pgsched/README\.Debian(\.gz)?' "$work/files"
check "does not ship /etc/pgsched (postinst makes it)" \
    sh -c "! grep -q '^/etc/pgsched' '$work/files'"
check "does not ship /var/log" sh -c "! grep -q '^/var/log' '$work/files'"
dep=$(dpkg-deb -f "$deb" Depends)
for d in postgresql-client adduser libpq5 libsodium23 libfcgi0ldbl \
    libcjson1 libargon2-1 zlib1g libjs-chart.js libjs-codemirror; do
	check "Depends on $d" sh -c "echo '$dep' | grep -q '\\b$d\\b'"
done
check "Recommends nginx | httpd, cron | systemd" sh -c \
    "dpkg-deb -f '$deb' Recommends | grep -q 'nginx | httpd' &&
     dpkg-deb -f '$deb' Recommends | grep -q 'cron | systemd'"
rm -rf "$work/ctl"
dpkg-deb -e "$deb" "$work/ctl"
check "/etc/cron.d/pgsched is a conffile" \
    grep -qx /etc/cron.d/pgsched "$work/ctl/conffiles"

# --- lintian: no error; warnings are shown --------------------------------
lintian --tag-display-limit 0 "$deb" >"$work/lintian.log" 2>&1
grep -v '^N:' "$work/lintian.log" | grep -v 'running with root' | sed 's/^/  /'
check "lintian reports no error" sh -c "! grep -q '^E:' '$work/lintian.log'"

# --- maintainer scripts in a throwaway root --------------------------------
# The root is an overlay over / (upper layer on a tmpfs of this mount
# namespace), so it has the host's packages (adduser, libraries,
# postgresql-client) and loses every change when the namespace ends.
ovl="$work/ovl"
mkdir -p "$ovl"
cp "$deb" "$work/pkg.deb"
cp "$top/scripts/debian-check-root.sh" "$work/inside.sh"
if ! unshare -m sh -c '
	set -e
	ovl=$1; work=$2
	mount --make-rprivate /
	mount -t tmpfs tmpfs "$ovl"
	mkdir "$ovl/u" "$ovl/w" "$ovl/r"
	mount -t overlay overlay \
	    -o "lowerdir=/,upperdir=$ovl/u,workdir=$ovl/w" "$ovl/r"
	mount -t proc proc "$ovl/r/proc"
	mount --rbind /dev "$ovl/r/dev"
	mount -t tmpfs tmpfs "$ovl/r/run"
	mount -t tmpfs tmpfs "$ovl/r/tmp"
	cp "$work/pkg.deb" "$work/inside.sh" "$ovl/r/tmp/"
	chroot "$ovl/r" sh /tmp/inside.sh /tmp/pkg.deb
' sh "$ovl" "$work" >"$work/root.log" 2>&1; then
	echo "  (throwaway root ended with an error; see $work/root.log)"
fi
grep '^ok \|^FAIL' "$work/root.log" || true
p=$(grep -c '^ok ' "$work/root.log")
f=$(grep -c '^FAIL' "$work/root.log")
pass=$((pass + p))
fail=$((fail + f))
if [ "$p" -eq 0 ]; then
	bad "throwaway root ran its checks"
	tail -20 "$work/root.log"
fi
finish
