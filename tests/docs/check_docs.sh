#!/bin/sh
# check_docs.sh: the man pages render without a warning and stay true to
# the programs:
#  1. each page of man/ renders with groff -mandoc -ww without a warning
#     (and passes mandoc -T lint -W warning where mandoc is installed);
#  2. every verb that `pgsched-admin GROUP --help` lists has an entry in
#     pgsched-admin.1 that names each option of its --help, and every
#     "GROUP VERB" that pgsched-admin.1 names exists;
#  3. every variable that `pgsched-admin config check` prints has an entry
#     in pgsched.env.5 with its default, every entry there is a variable,
#     and the integer ranges of src/conf.c's table are the ones written;
#  4. every ./scripts/*.sh that README.md runs is an executable file;
#  5. the bounds of the integer settings of a query (the table of
#     src/query_rules.c, printed by tests/unit/query_rules_dump) are the
#     ones `queries add --help` and its entry in pgsched-admin.1 give
#     (and the database's CHECK constraints: tests/db/test_settings_bounds.py).
# Needs PGSCHED_SRCDIR (the source tree) and PGSCHED_BUILDDIR (where
# pgsched-admin was built).  Exits 0 when all is well, 1 when something is
# missing or wrong (each on a FAIL: line), 77 (skipped) without groff,
# 99 on a broken setup.
set -u

SRC=${PGSCHED_SRCDIR:?PGSCHED_SRCDIR is not set}
ADMIN=${PGSCHED_BUILDDIR:?PGSCHED_BUILDDIR is not set}/pgsched-admin
MAN=$SRC/man
PAGES="pgsched-admin.1 pgsched-runner.8 pgsched-fcgi.8 pgsched.env.5"

if ! command -v groff >/dev/null 2>&1; then
	echo "SKIP: groff is not installed (Debian: groff-base)"
	exit 77
fi
if [ ! -x "$ADMIN" ]; then
	echo "ERROR: no $ADMIN: build it first" >&2
	exit 99
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/check_docs.XXXXXX") || exit 99
trap 'rm -rf "$TMP"' EXIT
trap 'exit 99' HUP INT TERM

passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
# Counts the "ok" and "FAIL: ..." lines of a loop run in a subshell (a
# pipe), whose own counters are lost, and shows the failures.
tally() {
	passed=$((passed + $(grep -c '^ok$' "$1")))
	failed=$((failed + $(grep -c '^FAIL' "$1")))
	grep '^FAIL' "$1"
}

# Runs pgsched-admin with no settings but the defaults, in an empty
# directory (no ./.env is read, no log file is written anywhere else).
admin() {
	(cd "$TMP" && env -i PATH="$PATH" HOME="$TMP" \
	    "$ADMIN" --env-file /dev/null "$@")
}

# Prints the first words of the lines of a "commands:" block.
commands_of() {
	awk '/^commands:/ { on = 1; next } on && /^$/ { exit }
	    on { print $1 }'
}

# --- 1. rendering ----------------------------------------------------------
for p in $PAGES; do
	if [ ! -f "$MAN/$p" ]; then
		fail "man/$p does not exist"
		continue
	fi
	groff -mandoc -Tutf8 -ww -P-cbou "$MAN/$p" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$TMP/err" ]; then
		fail "man/$p: groff -mandoc -ww exit $rc, warnings:"
		sed 's/^/    /' "$TMP/err"
	elif ! grep -q '^NAME' "$TMP/out" ||
	    ! grep -q '^DESCRIPTION' "$TMP/out"; then
		fail "man/$p: no NAME or DESCRIPTION section in the output"
	else
		ok
	fi
	if command -v mandoc >/dev/null 2>&1; then
		mandoc -T lint -W warning "$MAN/$p" >"$TMP/lint" 2>&1
		if [ -s "$TMP/lint" ]; then
			fail "man/$p: mandoc -T lint:"
			sed 's/^/    /' "$TMP/lint"
		else
			ok
		fi
	fi
done

# --- 2. pgsched-admin.1 against --help ---------------------------------------
PAGE=$MAN/pgsched-admin.1
admin --help >"$TMP/help" 2>&1 || fail "pgsched-admin --help failed"
ADMIN_GROUPS=$(commands_of <"$TMP/help" | tr "\n" " ")
[ -n "$ADMIN_GROUPS" ] || fail "pgsched-admin --help lists no command"

# The source text of the entry of "GROUP VERB": from its list header
# (".It Cm GROUP VERB ..." or ".Cm GROUP VERB" right after ".It Xo"; a verb
# may hold '-', as rotate-secret) to the next header or section.
entry() {
	awk -v want="$1 $2" '
	function header(l) {
		return l ~ /^\.It Cm [a-z]+ [a-z][a-z-]*( |$)/ ||
		    (prev == ".It Xo" && l ~ /^\.Cm [a-z]+ [a-z][a-z-]*( |$)/)
	}
	{
		if (header($0)) {
			split($0, w, " ")
			k = (w[1] == ".It") ? 3 : 2
			on = (w[k] " " w[k + 1] == want)
		} else if ($0 ~ /^\.S[hs] /)
			on = 0
		if (on)
			print
		prev = $0
	}' "$PAGE"
}

for g in $ADMIN_GROUPS; do
	admin "$g" --help >"$TMP/ghelp" 2>&1 ||
	    fail "pgsched-admin $g --help failed"
	verbs=$(commands_of <"$TMP/ghelp")
	[ -n "$verbs" ] || fail "pgsched-admin $g --help lists no command"
	echo "$g" $verbs >>"$TMP/verbs"
	for v in $verbs; do
		entry "$g" "$v" >"$TMP/entry"
		if [ ! -s "$TMP/entry" ]; then
			fail "pgsched-admin.1 has no entry for '$g $v'"
			continue
		fi
		ok
		admin "$g" "$v" --help >"$TMP/vhelp" 2>&1 ||
		    fail "pgsched-admin $g $v --help failed"
		opts=$(grep -E '^  --' "$TMP/vhelp" |
		    grep -oE -- '--[a-z][a-z-]*' | sort -u)
		for o in $opts; do
			case $o in --json|--help) continue ;; esac
			# mdoc writes --name as "Fl -name".
			if grep -qE -- "Fl ${o#-}( |\$)" "$TMP/entry"; then
				ok
			else
				fail "pgsched-admin.1: '$g $v' does not" \
				    "document $o"
			fi
		done
	done
done

# Every "GROUP VERB" the page names must exist.
grep -oE '^\.(It )?Cm [a-z]+ [a-z][a-z-]*' "$PAGE" | sed 's/^\.\(It \)\{0,1\}Cm //' |
    sort -u | while read -r g v; do
	case " $ADMIN_GROUPS " in *" $g "*) ;; *) continue ;; esac
	if grep -qE "^$g( .*)? $v( |\$)" "$TMP/verbs"; then
		echo ok
	else
		echo "FAIL: pgsched-admin.1 names '$g $v', which is no command"
	fi
done >"$TMP/names"
tally "$TMP/names"

# --- 3. pgsched.env.5 against config check and src/conf.c --------------------
ENV5=$MAN/pgsched.env.5
if ! admin config check >"$TMP/conf" 2>&1; then
	fail "pgsched-admin config check failed:"
	sed 's/^/    /' "$TMP/conf"
fi
grep -q '^configuration OK$' "$TMP/conf" ||
    fail "pgsched-admin config check did not say 'configuration OK'"

# The source text of the entry of a variable in the VARIABLES section.
var_entry() {
	awk -v want=".It Ev $1" '
	/^\.Sh / { vars = ($0 == ".Sh VARIABLES") }
	vars && /^\.(It|El|Ss)( |$)/ { on = ($0 == want) }
	vars && on { print }' "$ENV5"
}

grep -E '^[A-Z][A-Z0-9_]*=' "$TMP/conf" >"$TMP/vars"
[ -s "$TMP/vars" ] || fail "pgsched-admin config check printed no variable"
while IFS= read -r line; do
	name=${line%%=*}
	def=${line#*=}
	var_entry "$name" >"$TMP/ventry"
	if [ ! -s "$TMP/ventry" ]; then
		fail "pgsched.env.5 has no entry for $name"
		continue
	fi
	ok
	[ -n "$def" ] || continue
	# The default, each element of a list, in the entry's text.
	echo "$def" | tr ',' '\n' >"$TMP/defs"
	while IFS= read -r d; do
		if grep -qF -- "$d" "$TMP/ventry"; then
			ok
		else
			fail "pgsched.env.5: $name does not give its default" \
			    "'$d'"
		fi
	done <"$TMP/defs"
done <"$TMP/vars"

# Every variable the page describes must exist.
awk '/^\.Sh / { vars = ($0 == ".Sh VARIABLES") }
    vars && /^\.It Ev [A-Z0-9_]+$/ { print $3 }' "$ENV5" | sort -u |
    while read -r name; do
	if grep -q "^$name=" "$TMP/vars"; then
		echo ok
	else
		echo "FAIL: pgsched.env.5 describes $name, which is no variable"
	fi
done >"$TMP/names"
tally "$TMP/names"

# The integer ranges of the table in src/conf.c: I(...) and L(...) entries
# whose bounds are numbers (INT_MAX read as 2147483647).
awk '/^static const struct conf_var vars\[\] = \{/ { on = 1; next }
    on && /^\};/ { exit } on' "$SRC/src/conf.c" | tr -d '\n\t' |
    sed 's/INT_MAX/2147483647/g' |
    grep -oE '[IL]\("[A-Z0-9_]+", *[a-z_]+, *"-?[0-9]+", *-?[0-9]+, *-?[0-9]+\)' |
    sed 's/^[IL]("\([A-Z0-9_]*\)", *[a-z_]*, *"[-0-9]*", *\([-0-9]*\), *\([-0-9]*\))$/\1 \2 \3/' \
    >"$TMP/ranges"
[ -s "$TMP/ranges" ] || fail "no integer ranges found in src/conf.c"
while read -r name lo hi; do
	var_entry "$name" | tr '\n' ' ' >"$TMP/ventry"
	if grep -qF -- "$lo to $hi" "$TMP/ventry"; then
		ok
	else
		fail "pgsched.env.5: $name does not give its range '$lo to $hi'"
	fi
done <"$TMP/ranges"

# 4. every ./scripts/*.sh that README.md tells to run is executable (a
#    fresh clone runs them as they are).
for f in $(grep -o '\./scripts/[a-z-]*\.sh' "$SRC/README.md" | sort -u); do
	if [ -f "$SRC/$f" ] && [ -x "$SRC/$f" ]; then
		ok
	else
		fail "README.md runs $f, which is not an executable file"
	fi
done

# 5. the integer bounds of src/query_rules.c in --help and the man page.
DUMP=$PGSCHED_BUILDDIR/tests/unit/query_rules_dump
if [ ! -x "$DUMP" ]; then
	fail "no $DUMP: build it (make check builds it)"
else
	entry queries add >"$TMP/qentry"
	admin queries add --help >"$TMP/qhelp" 2>&1
	"$DUMP" | awk -F '\t' '$3 == "int" { print $2, $4, $5 }' \
	    >"$TMP/qbounds"
	[ -s "$TMP/qbounds" ] || fail "query_rules_dump printed no setting"
	while read -r opt lo hi; do
		# The option's own item: from ".It Fl -OPT" to the next item.
		awk -v want="--$opt" '/^\.(It|El)( |$)/ {
			on = ($1 == ".It" && $2 == "Fl" && "-" $3 == want) }
		    on' "$TMP/qentry" | tr '\n' ' ' >"$TMP/qopt"
		if grep -qF -- "$lo to $hi" "$TMP/qopt"; then
			ok
		else
			fail "pgsched-admin.1: queries add --$opt does not" \
			    "give its bounds '$lo to $hi'"
		fi
		if grep -E -- "^  --$opt " "$TMP/qhelp" |
		    grep -qF -- "$lo..$hi"; then
			ok
		else
			fail "queries add --help: --$opt does not give its" \
			    "bounds '$lo..$hi'"
		fi
	done <"$TMP/qbounds"
fi

echo "docs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
