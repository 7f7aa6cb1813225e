#!/bin/sh
# style.sh [--check]: formats the C sources of the tree with clang-format
# and the tree's .clang-format (style(9) as near as clang-format comes:
# tabs, the type of a function on its own line, 80 columns).  With
# --check it changes nothing and lists the files that are not formatted,
# exiting 1 when there is one.  `make style` runs it; so does the test
# suite, with --check (tests/docs/check_format.sh).
set -eu
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null 2>&1 || {
	echo "style.sh: clang-format is not installed (scripts/deps.sh)" >&2
	exit 69
}
files=$(find src fcgi cli runner tests/unit fuzz bench -name '*.[ch]' |
    LC_ALL=C sort)
if [ "${1:-}" != --check ]; then
	# shellcheck disable=SC2086
	exec clang-format -i $files
fi
bad=0
for f in $files; do
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (make style)"
		bad=$((bad + 1))
	fi
done
echo "$(echo "$files" | wc -l) files, $bad not formatted"
[ "$bad" -eq 0 ]
