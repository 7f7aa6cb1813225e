#!/bin/sh
# check_format.sh: every C file of the tree is as `make style` leaves it
# (build-aux/style.sh --check), so the tree stays formatted.
set -u
SRC=${PGSCHED_SRCDIR:?PGSCHED_SRCDIR is not set}
exec sh "$SRC/build-aux/style.sh" --check
