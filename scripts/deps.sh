#!/bin/sh
# deps.sh [--check | --list]: install the Debian 12 packages pg-sched needs
# to build, run and test, when some are missing.  Needs root (or sudo) only
# when it installs.  --check only reports what is missing (exit 69 if
# anything is), --list prints the packages.
#
# Every program that a test, a script or a benchmark runs comes from one
# of these packages (or from what they depend on, or from Debian's base
# system): tests/scripts/check-deps checks it.
set -eu

PKGS="build-essential autoconf automake pkg-config
libpq-dev libsodium-dev libcjson-dev libargon2-dev zlib1g-dev libfcgi-dev
libpg-query-dev libcmocka-dev libcurl4-openssl-dev libxlsxwriter-dev
postgresql postgresql-client nginx-light spawn-fcgi libfcgi-bin
util-linux procps curl time faketime git iproute2
python3 python3-pandas python3-nacl python3-argon2 python3-requests
python3-pytest python3-croniter python3-psycopg2 python3-aiosmtpd openssl
python3-openpyxl
clang clang-format libclang-rt-dev valgrind wrk shfmt groff-base mandoc
debhelper dpkg-dev fakeroot lintian
libjs-chart.js libjs-codemirror chromium chromium-driver python3-selenium"

case "${1:-}" in
--list)	echo $PKGS | tr ' ' '\n'; exit 0 ;;
--check|'') ;;
*)	echo "usage: deps.sh [--check | --list]" >&2; exit 64 ;;
esac

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "${1:-}" = --check ]; then
	echo "deps.sh: missing packages:$missing (run scripts/deps.sh)" >&2
	exit 69
fi

echo "deps.sh: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1; then
	SUDO=sudo
else
	echo "deps.sh: missing packages:$missing (run as root to install)" >&2
	exit 69
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The postgresql package starts a cluster of its own; pg-sched's tests and
# the embedded default run their own throwaway clusters instead.
