#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs inside a test VM with hugeslab.ko loaded: every test group, strict
# (a skip is a failure: in the VM everything can run). Each group ends with
# the runner's "# Cases:" and "# Totals:" lines, after a "## group" line.
cd "$(dirname "$0")" || exit 1
rc=0
echo "## group kmod"
./run_tests.sh -s kmod || rc=1
echo "## group lib (backend kmod)"
HUGESLAB_BACKEND=kmod ./run_tests.sh -s lib || rc=1
echo "## group tools"
HSSTAT=/opt/hs/hsstat ./run_tests.sh -s tools || rc=1
exit $rc
