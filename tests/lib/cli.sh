# cli.sh: helpers for the pgsched-admin tests in tests/db/cli_*.pg
# (sourced; runs under tests/lib/with-pg.sh, which sets PG* and the keys).
set -u
ADMIN=${PGSCHED_BUILDDIR:?PGSCHED_BUILDDIR is not set}/pgsched-admin
[ -x "$ADMIN" ] || { echo "no $ADMIN: build it first" >&2; exit 99; }
OUT=$PGSCHED_TEST_TMP/out
ERR=$PGSCHED_TEST_TMP/err
failures=0

fail() {
	echo "FAIL: $*" >&2
	echo "  stdout: $(head -c 2000 "$OUT" 2>/dev/null)" >&2
	echo "  stderr: $(head -c 2000 "$ERR" 2>/dev/null)" >&2
	failures=$((failures + 1))
}

# run EXPECTED_RC ARGS...: runs pgsched-admin, checks its exit code.
run() {
	want=$1
	shift
	"$ADMIN" "$@" >"$OUT" 2>"$ERR"
	got=$?
	[ "$got" -eq "$want" ] || fail "pgsched-admin $* exited $got, not $want"
	# SECRET: a password that must never show in any output.
	if [ -n "${SECRET:-}" ] && grep -qF -- "$SECRET" "$OUT" "$ERR"; then
		fail "pgsched-admin $*: printed the secret"
	fi
	return 0
}

# bad EXPECTED_RC PATTERN ARGS...: a failure: exit code, exactly one line on
# stderr, matching the extended regex PATTERN, and nothing on stdout.
bad() {
	want=$1
	pat=$2
	shift 2
	run "$want" "$@"
	[ "$(wc -l <"$ERR")" -eq 1 ] ||
	    fail "pgsched-admin $*: stderr is not one line"
	grep -Eq -- "$pat" "$ERR" ||
	    fail "pgsched-admin $*: stderr does not match /$pat/"
	[ ! -s "$OUT" ] || fail "pgsched-admin $*: printed on stdout"
}

# out_has PATTERN / err_has PATTERN: the last run's output matches.
out_has() {
	grep -Eq -- "$1" "$OUT" || fail "stdout does not match /$1/"
}
err_has() {
	grep -Eq -- "$1" "$ERR" || fail "stderr does not match /$1/"
}

# grant_roles: gives the API and runner roles of with-pg.sh their
# privileges (pgsched-admin db grant, after db migrate).
grant_roles() {
	run 0 db grant --api "$PGSCHED_TEST_API_ROLE" \
	    --runner "$PGSCHED_TEST_RUNNER_ROLE"
}

# runner ARGS...: pgsched-runner as the runner role.
runner() {
	PG_DSN_APP=$PGSCHED_TEST_RUNNER_DSN \
	    "$PGSCHED_BUILDDIR/pgsched-runner" "$@"
}

# q SQL [DB]: one value from psql.
q() {
	psql -qAtX -v ON_ERROR_STOP=1 -d "${2:-pgsched}" -c "$1"
}

# eq GOT WANT WHAT
eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

# no_secret TEXT FILE...: TEXT appears in none of the files.
no_secret() {
	s=$1
	shift
	for f in "$@"; do
		! grep -qF -- "$s" "$f" || fail "secret found in $f"
	done
}

done_tests() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures check(s) failed" >&2
		exit 1
	fi
	echo "all checks passed"
	exit 0
}
