#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Description: Redis (Debian's redis-server) on the malloc drop-in: 120k
# keys of mixed sizes and types (strings to 16 KiB, lists, hashes, sets,
# sorted sets, counters) written, then every key's digest compared with a
# reference server that got the same commands on its own allocator; a
# background save (a fork of the server) whose file redis-check-rdb
# accepts; redis-benchmark runs clean, and the server still holds the
# dataset, flushed and written again, exactly.
#
#   redis.sh DROPIN     (HUGESLAB_BACKEND chooses the backend)
# Prints TAP; exits non-zero on failure.
set -u
DROPIN=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
N=120000
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; }
cleanup() {
	for s in ref hs; do
		[ -S "$tmp/$s.sock" ] && redis-cli -s "$tmp/$s.sock" shutdown nosave >/dev/null 2>&1
	done
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "TAP version 13"
echo "1..7"

# start NAME [env...]: a server on a unix socket in $tmp, no persistence
# unless asked, DEBUG allowed from the socket.
start() {
	name=$1
	shift
	mkdir -p "$tmp/$name"
	env "$@" redis-server --port 0 --unixsocket "$tmp/$name.sock" \
		--dir "$tmp/$name" --save "" --appendonly no \
		--enable-debug-command local --daemonize no \
		--logfile "$tmp/$name.log" &
	for i in $(seq 50); do
		redis-cli -s "$tmp/$name.sock" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

if start ref && start hs LD_PRELOAD="$DROPIN" &&
	pid=$(redis-cli -s "$tmp/hs.sock" info server | sed -n 's/^process_id:\([0-9]*\).*/\1/p') &&
	grep -q libhugeslab-malloc "/proc/$pid/maps"; then
	ok "servers up, the test one on the drop-in (pid $pid)"
else
	notok "servers up, the test one on the drop-in"
	exit 1
fi

/usr/bin/python3 "$here/redis_data.py" write $N >"$tmp/data.resp"
for s in ref hs; do
	redis-cli -s "$tmp/$s.sock" --pipe <"$tmp/data.resp" >"$tmp/$s.pipe" 2>&1
done
if grep -q "errors: 0, replies: $N" "$tmp/hs.pipe" &&
	[ "$(redis-cli -s "$tmp/hs.sock" dbsize)" = $N ]; then
	ok "$N keys written"
else
	sed 's/^/# /' "$tmp/hs.pipe"
	notok "$N keys written"
fi

/usr/bin/python3 "$here/redis_data.py" digest $N >"$tmp/digest.cmds"
for s in ref hs; do
	redis-cli -s "$tmp/$s.sock" <"$tmp/digest.cmds" >"$tmp/$s.digests"
done
if [ "$(wc -l <"$tmp/hs.digests")" = $N ] &&
	! grep -q '^0000000000000000000000000000000000000000$' "$tmp/hs.digests" &&
	cmp -s "$tmp/ref.digests" "$tmp/hs.digests" &&
	[ "$(redis-cli -s "$tmp/ref.sock" debug digest)" = "$(redis-cli -s "$tmp/hs.sock" debug digest)" ]; then
	ok "every key reads back as the reference server holds it"
else
	diff "$tmp/ref.digests" "$tmp/hs.digests" | head -5 | sed 's/^/# /'
	notok "every key reads back as the reference server holds it"
fi

# A background save forks the server: the child walks the whole heap.
redis-cli -s "$tmp/hs.sock" bgsave >/dev/null
for i in $(seq 300); do
	redis-cli -s "$tmp/hs.sock" info persistence | grep -q '^rdb_bgsave_in_progress:0' && break
	sleep 0.1
done
if redis-cli -s "$tmp/hs.sock" info persistence | grep -q '^rdb_last_bgsave_status:ok' &&
	redis-check-rdb "$tmp/hs/dump.rdb" >"$tmp/check.log" 2>&1 &&
	grep -q "$N keys read" "$tmp/check.log"; then
	ok "background save (a fork) wrote a file redis-check-rdb accepts"
else
	sed 's/^/# /' "$tmp/check.log"
	notok "background save (a fork) wrote a file redis-check-rdb accepts"
fi

if redis-benchmark -s "$tmp/hs.sock" -q -n 20000 -c 20 -r 50000 -d 256 \
	-t set,get,incr,lpush,rpop,sadd,hset,spop,zadd,lrange_100 >"$tmp/bench.log" 2>&1 &&
	! grep -qi 'error' "$tmp/bench.log"; then
	ok "redis-benchmark ran clean"
else
	sed 's/^/# /' "$tmp/bench.log"
	notok "redis-benchmark ran clean"
fi

if [ "$(redis-cli -s "$tmp/hs.sock" ping)" = PONG ] &&
	[ "$(redis-cli -s "$tmp/hs.sock" flushall)" = OK ] &&
	redis-cli -s "$tmp/hs.sock" --pipe <"$tmp/data.resp" >/dev/null 2>&1 &&
	redis-cli -s "$tmp/hs.sock" <"$tmp/digest.cmds" | cmp -s - "$tmp/ref.digests"; then
	ok "the server survived it and holds the dataset written again"
else
	notok "the server survived it and holds the dataset written again"
fi

redis-cli -s "$tmp/hs.sock" shutdown nosave >/dev/null 2>&1
redis-cli -s "$tmp/ref.sock" shutdown nosave >/dev/null 2>&1
wait
if ! grep -qiE 'crash|assert|bug report|segmentation' "$tmp/hs.log"; then
	ok "no crash or assertion in the server's log"
else
	grep -iE 'crash|assert|bug report|segmentation' "$tmp/hs.log" | head | sed 's/^/# /'
	notok "no crash or assertion in the server's log"
fi
echo "# Totals: pass:$((n - fail)) fail:$fail skip:0"
[ $fail = 0 ]
