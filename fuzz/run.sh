#!/bin/sh
# run.sh [SECONDS] [TARGET...]: builds the libFuzzer targets with clang
# (ASan + UBSan, sources compiled directly: libpgsched.a is built by the
# project's compiler without coverage) and runs each for SECONDS (default
# 60) on a copy of its seed corpus, so the repository is never written.
# Prints per target the executions, coverage (cov: and ft: of libFuzzer's
# last stats line) and any crash, then "N passed, N failed".
#
#   sh fuzz/run.sh            # every target, 60 s each
#   sh fuzz/run.sh 10 json    # fuzz_json for 10 s
#
# PGSCHED_FUZZ_BUILD: where the binaries go (default: a temp dir).
# CC: the compiler (default clang).  Crash inputs and logs are kept in the
# work directory, which is printed when a target fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
secs=60
case "${1:-}" in
''|*[!0-9]*)	;;
*)	secs=$1; shift ;;
esac
targets=${*:-sqlguard json cron duration tz query result csv xlsx negotiate}
cc=${CC:-clang}
command -v "$cc" >/dev/null || { echo "fuzz: no $cc: skipping"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pgsched-fuzz.XXXXXX")
bld=${PGSCHED_FUZZ_BUILD:-$work/bin}
mkdir -p "$bld"
cflags="-std=c17 -g -O1 -D_GNU_SOURCE -Wall -Wextra
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer -iquote $src/src"
pq_cflags=$(pkg-config --cflags libpq 2>/dev/null ||
    echo -I/usr/include/postgresql)

# The sources and libraries each target needs, after its own file.
srcs() {
	case "$1" in
	sqlguard) echo "src/sqlguard.c src/sqlguard_deny.c -lpg_query -lcjson" ;;
	json)	echo "src/json.c src/utf8.c src/arena.c -lcjson" ;;
	cron|duration)
		echo "src/sched.c src/tz.c src/isotime.c src/arena.c" ;;
	tz)	echo "src/tz.c src/isotime.c src/arena.c -Wl,--wrap=open" ;;
	query)	echo "-I$src/fcgi $pq_cflags fcgi/req.c src/num.c src/json.c src/isotime.c" \
		    "src/utf8.c src/arena.c -lfcgi -lcjson" ;;
	result)	echo "src/result.c src/result_check.c src/csv.c src/resdoc.c" \
		    "src/json.c src/utf8.c src/buf.c src/arena.c -lcjson -lm" ;;
	csv)	echo "src/csv.c src/resdoc.c src/utf8.c src/buf.c src/arena.c" ;;
	xlsx)	echo "src/xlsx.c src/csv.c src/resdoc.c src/isotime.c" \
		    "src/utf8.c src/log.c src/buf.c src/arena.c -lxlsxwriter" \
		    "-lcjson -lm" ;;
	negotiate) echo "src/negotiate.c" ;;
	*)	return 1 ;;
	esac
}

passed=0 failed=0
for t in $targets; do
	t=${t#fuzz_}
	if ! deps=$(srcs "$t"); then
		echo "fuzz_$t: unknown target"
		failed=$((failed + 1))
		continue
	fi
	# shellcheck disable=SC2086
	if ! (cd "$src" && $cc $cflags "fuzz/fuzz_$t.c" $deps \
	    -o "$bld/fuzz_$t") >"$work/build_$t.log" 2>&1; then
		echo "fuzz_$t: BUILD FAILED"
		sed -n 1,30p "$work/build_$t.log"
		failed=$((failed + 1))
		continue
	fi
	corpus=$work/corpus_$t
	mkdir -p "$corpus" "$work/crash_$t"
	[ -d "$here/corpus/fuzz_$t" ] &&
	    cp "$here/corpus/fuzz_$t"/* "$corpus"/ 2>/dev/null
	dict=
	[ -f "$here/fuzz_$t.dict" ] && dict=-dict=$here/fuzz_$t.dict
	"$bld/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$work/crash_$t/" $dict \
	    "$corpus" >"$work/fuzz_$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz_$t.log")
	last=$(grep -E '^#[0-9]+' "$work/fuzz_$t.log" | tail -1)
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	if [ $rc -eq 0 ]; then
		echo "fuzz_$t: ok  execs=${runs:-?} cov=${cov:-?} ft=${ft:-?}"
		passed=$((passed + 1))
	else
		echo "fuzz_$t: CRASH (exit $rc)  execs=${runs:-?} cov=${cov:-?}" \
		    "ft=${ft:-?}"
		grep -E -m3 'ERROR:|promise broken|runtime error|SUMMARY' \
		    "$work/fuzz_$t.log"
		ls "$work/crash_$t"
		failed=$((failed + 1))
	fi
done
if [ $failed -gt 0 ]; then
	echo "fuzz: logs and crash inputs in $work"
else
	rm -rf "$work"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
