#!/bin/sh
# run.sh [TEST]: the API suite with the pool's workers under valgrind
# memcheck.  Fails on any definite leak or invalid access in any process
# of the pool (master, workers, and what they start).
#
#   sh tests/valgrind/run.sh                       # api_smoke.py
#   sh tests/valgrind/run.sh tests/api/test_api.py # the full suite (slow)
#
# Binaries come from PGSCHED_VG_BUILD, which must hold a build without
# sanitizers (valgrind and ASan do not mix), e.g. configured with
# CFLAGS="-O1 -g"; when unset, one is configured and built (out of tree)
# in a temporary directory.  One worker (PGSCHED_TEST_WORKERS=1), so every
# request goes through the same process.  PGSCHED_VG_ROUNDS sets the
# smoke test's rounds (default 20).  Logs: $PGSCHED_VG_LOGS or a temp dir,
# kept when the pass fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
test=${1:-tests/valgrind/api_smoke.py}
if ! command -v valgrind >/dev/null; then
	echo "valgrind: not installed: skipping"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pgsched-vg.XXXXXX")
chmod 755 "$work"
logs=${PGSCHED_VG_LOGS:-$work/logs}
mkdir -p "$logs"
chmod 777 "$logs"
bld=${PGSCHED_VG_BUILD:-}
if [ -z "$bld" ]; then
	bld=$work/build
	mkdir -p "$bld"
	echo "valgrind: building without sanitizers in $bld"
	(cd "$bld" && "$src/configure" CFLAGS="-O1 -g" >configure.log 2>&1 &&
	    make -j2 pgsched-fcgi pgsched-admin >make.log 2>&1) || {
		tail -20 "$bld/configure.log" "$bld/make.log" 2>/dev/null
		exit 99
	}
fi
if nm "$bld/pgsched-fcgi" 2>/dev/null | grep -q __asan_init; then
	echo "valgrind: $bld/pgsched-fcgi is built with ASan: use a plain build"
	exit 99
fi

# The pool re-executes /proc/self/exe for its workers; valgrind reports
# the client's path there and follows the exec (--trace-children).
cat >"$work/pgsched-fcgi" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --trace-children=yes --leak-check=full \\
    --errors-for-leak-kinds=definite --error-exitcode=99 --track-fds=no \\
    --num-callers=30 --suppressions="$here/pgsched.supp" \\
    --log-file="$logs/vg.%p.log" "$bld/pgsched-fcgi" "\$@"
EOF
chmod 755 "$work/pgsched-fcgi"

start=$(date +%s)
PGSCHED_FCGI=$work/pgsched-fcgi PGSCHED_ADMIN=$bld/pgsched-admin \
PGSCHED_BUILDDIR=$bld PGSCHED_TEST_WORKERS=${PGSCHED_TEST_WORKERS:-1} \
    sh "$src/tests/lib/with-pg.sh" "$src/tests/lib/with-api.sh" "$test"
status=$?

# Workers write their leak report when they exit, which can outlast the
# stack's own stop: wait for every log to be complete.
i=0
while [ $i -lt 120 ]; do
	open=0
	for f in "$logs"/vg.*.log; do
		[ -f "$f" ] || continue
		grep -q "ERROR SUMMARY" "$f" || open=$((open + 1))
	done
	[ $open -eq 0 ] && break
	sleep 1
	i=$((i + 1))
done

nlogs=0 bad=0
for f in "$logs"/vg.*.log; do
	[ -f "$f" ] || continue
	nlogs=$((nlogs + 1))
	what=
	grep -q "ERROR SUMMARY" "$f" || what="incomplete log (process did not exit)"
	grep -Eq "definitely lost: [1-9]" "$f" && what="$what definite leak"
	grep -Eq "Invalid (read|write|free)|Mismatched free|uninitialised" \
	    "$f" && what="$what invalid access"
	grep -q "Source and destination overlap" "$f" &&
	    what="$what invalid access"
	grep -Eq "ERROR SUMMARY: [1-9]" "$f" && what="$what errors"
	if [ -n "$what" ]; then
		bad=$((bad + 1))
		echo "valgrind: $f:$what"
		sed -n '/^==[0-9]*== [A-Z]/,$p' "$f" | head -80
	fi
done
end=$(date +%s)
echo "valgrind: $nlogs process logs, $bad with findings, test exit $status," \
    "$((end - start)) s"
if [ $nlogs -eq 0 ]; then
	echo "valgrind: no process ran under valgrind"
	bad=1
fi
if [ $bad -eq 0 ] && [ $status -eq 0 ]; then
	[ -z "${PGSCHED_VG_LOGS:-}" ] && rm -rf "$work"
	echo "1 passed, 0 failed"
	exit 0
fi
echo "valgrind: logs kept in $logs"
echo "0 passed, 1 failed"
exit 1
