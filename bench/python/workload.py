# SPDX-License-Identifier: MIT
"""An allocation-heavy pure-Python workload for the heap benchmark.

A service's life in miniature: load records (dicts, lists, tuples,
strings, ints, floats) into an in-memory cache of a few hundred MB, then
serve requests that look up random records, build responses and encode
them as JSON, update and replace records and evict old ones; and batch
jobs that round-trip a slice of the records through JSON, sort, group and
walk it. The heap both churns and holds a large live set that is read at
random. Prints a checksum that must be the same under every allocator.

    python3 workload.py [SCALE]     (SCALE 3: about 11 s under pymalloc, 0.4 GB)
"""
import json
import random
import sys


def record(k):
    return {
        "id": k,
        "name": "user-%d-%s" % (k, "x" * (k % 17)),
        "tags": ["t%d" % (k % m) for m in (3, 5, 7, 11)],
        "score": (k % 997) / 7.0,
        "pos": (k % 101, k % 103),
        "meta": {"a": k & 255, "b": str(k)[::-1], "c": [k, k + 1]},
    }


def load(cache, start, n):
    for k in range(start, start + n):
        cache[k] = record(k)


def serve(cache, rng, keys, requests):
    """Requests: random lookups, a JSON response, some updates."""
    total = 0
    for _ in range(requests):
        picked = [cache[rng.choice(keys)] for _ in range(40)]
        resp = {
            "count": len(picked),
            "items": [{"id": r["id"], "name": r["name"], "score": r["score"],
                       "tags": r["tags"][:2]} for r in picked],
            "best": max(r["score"] for r in picked),
        }
        total += len(json.dumps(resp))
        # Update a few records in place and replace one whole.
        for r in picked[:3]:
            r["meta"]["a"] = (r["meta"]["a"] + 1) & 255
            r["tags"] = r["tags"][1:] + r["tags"][:1]
        k = picked[0]["id"]
        cache[k] = record(k)
    return total


def batch(cache, keys):
    """A batch job: JSON round trip, sort, group and walk a slice."""
    rows = [cache[k] for k in keys]
    by_tag = {}
    for r in rows:
        for t in r["tags"]:
            by_tag.setdefault(t, []).append(r["id"])
    back = json.loads(json.dumps(rows))
    back.sort(key=lambda r: (r["score"], r["name"]))
    total = 0
    for r in back:
        total += r["meta"]["a"] + len(r["name"]) + r["pos"][0]
    joined = ",".join(r["name"] for r in back[:5000])
    return total + len(by_tag) + len(joined)


def main():
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rng = random.Random(12345)
    cache = {}
    check = 0
    nxt = 0
    for rnd in range(scale):
        load(cache, nxt, 80000)
        nxt += 80000
        keys = list(cache)
        check = (check * 31 + serve(cache, rng, keys, 6000)) % (1 << 61)
        check = (check * 31 + batch(cache, keys[-60000:])) % (1 << 61)
        # Evict the oldest third now and then, as a cache would.
        if rnd % 3 == 2:
            for k in keys[: len(keys) // 3]:
                del cache[k]
    check = (check * 31 + sum(r["meta"]["a"] for r in cache.values())) % (1 << 61)
    print(check)


if __name__ == "__main__":
    main()
