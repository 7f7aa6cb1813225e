#!/bin/sh
# test.sh: install what is missing, build with AddressSanitizer and
# UndefinedBehaviorSanitizer and -Werror, run every test (unit tests, the
# PostgreSQL integration suites, the API through a real nginx), then check
# the distribution tarball, fuzz every parser for a bounded time, run the
# API under valgrind, build and install the Debian package, and end with
# "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)

sh scripts/deps.sh || exit $?
autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 1; }

mkdir -p build/test
cd build/test || exit 1
if [ ! -f Makefile ]; then
	"$top/configure" --enable-werror --enable-sanitizers >configure.out 2>&1 ||
	    { cat configure.out; exit 1; }
fi
make -j"$jobs" >make.out 2>&1 || { tail -n 60 make.out; exit 1; }

# LeakSanitizer checks every program the tests start; a run of the suite
# under ASan+UBSan is the sanitizer pass of CI.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
make -j"$jobs" check
status=$?

# Summary over every test program (each may hold many checks).
pass=0; fail=0; skip=0
for trs in $(find . -name '*.trs'); do
	case "$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)" in
	PASS|XFAIL)	pass=$((pass + 1)) ;;
	SKIP)		skip=$((skip + 1)) ;;
	*)		fail=$((fail + 1))
			echo "failed: ${trs%.trs} (see ${trs%.trs}.log)" ;;
	esac
done
if [ "$status" -ne 0 ] || [ "$fail" -ne 0 ]; then
	for log in $(find . -name '*.log' -path '*tests*'); do
		trs=${log%.log}.trs
		[ -f "$trs" ] && grep -q ':test-result: FAIL\|:test-result: ERROR' \
		    "$trs" && { echo "=== $log"; tail -n 40 "$log"; }
	done
fi

# step NAME LOG COMMAND...: one more pass/fail in the summary.
step() {
	name=$1 log=$2
	shift 2
	echo "== $name"
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1))
		tail -n 3 "$log"
	else
		rc=$?
		tail -n 40 "$log"
		if [ "$rc" -eq 77 ]; then
			echo "skipped: $name"
			skip=$((skip + 1))
		else
			echo "failed: $name (see build/test/$log)"
			fail=$((fail + 1))
		fi
	fi
}

# The tarball builds and installs on its own (tests already ran above).
[ "${PGSCHED_SKIP_DISTCHECK:-0}" = 1 ] ||
	step "make distcheck" distcheck.out make distcheck TESTS=
# Every fuzz target for a bounded time (CI: 60 s each).
[ "${PGSCHED_SKIP_FUZZ:-0}" = 1 ] ||
	step "fuzzing (${PGSCHED_FUZZ_SECONDS:-60} s per target)" fuzz.out \
	    sh "$top/fuzz/run.sh" "${PGSCHED_FUZZ_SECONDS:-60}"
# The API suite's smoke subset with the pool under valgrind memcheck.
[ "${PGSCHED_SKIP_VALGRIND:-0}" = 1 ] ||
	step "valgrind pass" valgrind.out sh "$top/tests/valgrind/run.sh"
# The Debian package builds, installs, upgrades and purges cleanly.
[ "${PGSCHED_SKIP_DEBIAN:-0}" = 1 ] ||
	step "Debian package" debian.out sh "$top/scripts/debian-check.sh"
[ "$pass" -eq 0 ] && fail=$((fail + 1))
echo "$pass passed, $fail failed, $skip skipped"
[ "$status" -eq 0 ] && [ "$fail" -eq 0 ]
