#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: run_tests.sh leaves nothing of a test running. A test that
# timed out may have cases in process groups of their own (as the
# kselftest harness makes them), which the timeout's signal misses; left
# alone they take a CPU through every test after. A test stuck with such a
# child is run with a short timeout, and the child must be gone after.
# Run from the top of the tree. Prints TAP; exits non-zero on failure.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; }

alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

echo "TAP version 13"
echo "1..3"

# The stuck test: a child in a session (and so a process group) of its own.
cat >"$tmp/stuck" <<'EOT'
#!/bin/sh
setsid sleep 300 &
echo $! >"$STUCK_PID"
exec sleep 300
EOT
chmod +x "$tmp/stuck"

STUCK_PID=$tmp/pid sh selftests/run_tests.sh -t 2 "$tmp/stuck" >"$tmp/out" 2>&1
rc=$?
sed 's/^/# /' "$tmp/out"
if [ $rc = 1 ] && grep -q '^not ok 1 .*timed out' "$tmp/out"; then
	ok "the stuck test fails with a timeout"
else
	notok "the stuck test fails with a timeout (exit $rc)"
fi
child=$(cat "$tmp/pid" 2>/dev/null)
if [ -n "$child" ] && ! alive "$child"; then
	ok "its child in another process group is gone"
else
	notok "its child in another process group is gone (pid ${child:-?} left running)"
	[ -n "$child" ] && kill -KILL "$child" 2>/dev/null
fi
if grep -q "killed what .*stuck left running: pid $child\$" "$tmp/out"; then
	ok "the run says what it killed"
else
	notok "the run says what it killed"
fi
echo "# Totals: pass:$((n - fail)) fail:$fail skip:0"
exit $((fail > 0))
