#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: sqlite3 on the malloc drop-in: a million rows inserted,
# indexed and queried - counts, sums, grouping, index lookups, a join, an
# update and a delete - in an on-disk database, every answer checked
# against its closed form.
#
#   sqlite.sh DROPIN    (HUGESLAB_BACKEND chooses the backend)
# Prints TAP; exits non-zero on failure.
set -u
DROPIN=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; }

echo "TAP version 13"
echo "1..2"

cat >"$tmp/run.sql" <<'SQL'
PRAGMA cache_size = -65536;
CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL);
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000000)
INSERT INTO t SELECT i, i % 1000, printf('row-%08d-%s', i, substr('abcdefghijklmnop', 1, i % 16)), i / 4.0 FROM s;
CREATE INDEX t_a ON t(a);
CREATE INDEX t_b ON t(b);
CREATE TABLE u (a INTEGER PRIMARY KEY, name TEXT);
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 999)
INSERT INTO u SELECT i, 'name' || i FROM s;
SELECT count(*), sum(id), sum(a), sum(length(b)) FROM t;
SELECT a, count(*) FROM t WHERE a IN (0, 1, 999) GROUP BY a ORDER BY a;
SELECT id, c FROM t WHERE b = 'row-00777777-a';
SELECT count(*), sum(t.id) FROM t JOIN u ON t.a = u.a WHERE u.name = 'name7';
UPDATE t SET a = a + 1000 WHERE id % 2 = 0;
SELECT count(*) FROM t WHERE a >= 1000;
DELETE FROM t WHERE id > 500000;
SELECT count(*), max(id), sum(id) FROM t;
PRAGMA integrity_check;
SQL

# The closed forms: ids 1..1e6; a = id mod 1000 (1000 ids each); b is
# "row-" 8 digits "-" and id mod 16 letters, 13 + (id mod 16) long.
cat >"$tmp/expected" <<'OUT'
1000000|500000500000|499500000|20500000
0|1000
1|1000
999|1000
777777|194444.25
1000|499507000
500000
500000|500000|125000250000
ok
OUT

if env LD_PRELOAD="$DROPIN" sqlite3 -batch "$tmp/db" <"$tmp/run.sql" >"$tmp/out" 2>&1 &&
	cmp -s "$tmp/expected" "$tmp/out"; then
	ok "a million rows: every answer as expected"
else
	diff "$tmp/expected" "$tmp/out" | sed 's/^/# /'
	notok "a million rows: every answer as expected"
fi
# sqlite3 on the drop-in for real: it is in the process's maps.
if env LD_PRELOAD="$DROPIN" sqlite3 -batch "$tmp/db" \
	"SELECT count(*) FROM t;" >/dev/null 2>&1 &&
	env LD_PRELOAD="$DROPIN" sh -c 'grep -q libhugeslab-malloc /proc/self/maps'; then
	ok "the database reopens on the drop-in"
else
	notok "the database reopens on the drop-in"
fi
echo "# Totals: pass:$((n - fail)) fail:$fail skip:0"
[ $fail = 0 ]
