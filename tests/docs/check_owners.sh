#!/bin/sh
# check_owners.sh: one owner per secret and per table, read from the code
# of src/, fcgi/, cli/ and runner/ (comments left out):
#  1. a data source's password is opened in one place: cred_open is called
#     once, in src/source_conn.c (src/cred.c defines it, src/cred.h
#     declares it); every program connects through source_conn_open;
#  2. query_run and query_run_blob are written (INSERT, UPDATE, DELETE,
#     TRUNCATE, MERGE) by src/run_store.c alone;
#  3. next_run_at is written (a SET of it in a statement) by src/query.c
#     alone, in one statement (query_move);
#  4. the monotonic clock is turned into milliseconds (tv_nsec / 1000000)
#     by src/mono.c alone (mono_ms); every deadline and duration asks it.
# Statements are read as this tree writes them: the verb and the table on
# one line of a string literal.  Each rule also checks that its owner does
# what it owns, so the check cannot pass by matching nothing.  Needs
# PGSCHED_SRCDIR (the source tree).  Exits 0 when all is well, 1 when a
# rule is broken (each on a FAIL: line), 99 on a broken setup.
set -u

SRC=${PGSCHED_SRCDIR:?PGSCHED_SRCDIR is not set}
if [ ! -f "$SRC/src/cred.c" ]; then
	echo "ERROR: $SRC is not the source tree" >&2
	exit 99
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/check_owners.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
trap 'exit 99' HUP INT TERM

failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# Every C file of the programs and the library, without its /* */
# comments (blanked, so line numbers stay), as "path:line:text".
for f in "$SRC"/src/*.[ch] "$SRC"/fcgi/*.[ch] "$SRC"/cli/*.[ch] \
    "$SRC"/runner/*.[ch]; do
	[ -f "$f" ] || continue
	awk -v p="${f#"$SRC"/}" '
	{
		out = ""; s = $0
		while (s != "") {
			if (inc) {
				i = index(s, "*/")
				if (i == 0) { s = ""; break }
				s = substr(s, i + 2); inc = 0
			} else {
				i = index(s, "/*")
				if (i == 0) { out = out s; s = ""; break }
				out = out substr(s, 1, i - 1)
				s = substr(s, i + 2); inc = 1
			}
		}
		print p ":" FNR ":" out
	}' "$f"
done >"$TMP/code"

# --- 1. the one place that opens a source password ------------------------
grep -E 'cred_open[[:space:]]*\(' "$TMP/code" |
    grep -vE '^src/cred\.[ch]:' >"$TMP/open"
if [ "$(grep -c '' "$TMP/open")" -ne 1 ] ||
    ! grep -q '^src/source_conn\.c:' "$TMP/open"; then
	fail "cred_open must be called once, in src/source_conn.c; calls:"
	sed 's/^/    /' "$TMP/open"
fi

# --- 2. the one writer of query_run and query_run_blob ------------------------
grep -iE '(insert[[:space:]]+into|update|delete[[:space:]]+from|truncate([[:space:]]+table)?|merge[[:space:]]+into)[[:space:]]+(only[[:space:]]+)?query_run' \
    "$TMP/code" >"$TMP/runs"
if grep -vq '^src/run_store\.c:' "$TMP/runs"; then
	fail "query_run/query_run_blob written outside src/run_store.c:"
	grep -v '^src/run_store\.c:' "$TMP/runs" | sed 's/^/    /'
fi
grep -q '^src/run_store\.c:.*INSERT INTO query_run_blob' "$TMP/runs" ||
    fail "src/run_store.c no longer writes query_run_blob (is the rule stale?)"
grep -q '^src/run_store\.c:.*UPDATE query_run ' "$TMP/runs" ||
    fail "src/run_store.c no longer updates query_run (is the rule stale?)"

# --- 3. the one writer of next_run_at -----------------------------------------
grep -E '"[^"]*next_run_at[[:space:]]*=[^=]' "$TMP/code" >"$TMP/next"
if [ "$(grep -c '' "$TMP/next")" -ne 1 ] ||
    ! grep -q '^src/query\.c:' "$TMP/next"; then
	fail "next_run_at must be set by one statement, in src/query.c; sets:"
	sed 's/^/    /' "$TMP/next"
fi

# --- 4. the one monotonic millisecond clock -----------------------------------
grep -E 'tv_nsec\)?[[:space:]]*/[[:space:]]*1000000([^0-9]|$)' "$TMP/code" \
    >"$TMP/ms"
if grep -vq '^src/mono\.c:' "$TMP/ms"; then
	fail "milliseconds of a clock computed outside src/mono.c (mono_ms):"
	grep -v '^src/mono\.c:' "$TMP/ms" | sed 's/^/    /'
fi
grep -q '^src/mono\.c:' "$TMP/ms" ||
    fail "src/mono.c no longer computes milliseconds (is the rule stale?)"

if [ "$failed" -gt 0 ]; then
	echo "$failed rule(s) broken"
	exit 1
fi
echo "ok: one opener of source passwords, one writer of query_run," \
    "one writer of next_run_at, one millisecond clock"
exit 0
