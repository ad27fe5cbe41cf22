# SPDX-License-Identifier: MIT
"""An allocation-heavy pure-Python workload for the heap benchmark.

Builds records of small objects (dicts, lists, tuples, strings, ints,
floats) in batches, indexes and joins them, round-trips them through JSON,
sorts, groups and walks them, dropping most of each batch while keeping a
growing part, so the heap both churns and holds a large live set. Prints a
checksum that must be the same under every allocator.

    python3 workload.py [ROUNDS]
"""
import json
import sys


def make_batch(seed, n):
    rows = []
    for i in range(n):
        k = (seed * 1000003 + i * 7919) % 1000000
        rows.append({
            "id": k,
            "name": "user-%d-%s" % (k, "x" * (k % 17)),
            "tags": ["t%d" % (k % m) for m in (3, 5, 7, 11)],
            "score": (k % 997) / 7.0,
            "pos": (k % 101, k % 103),
            "meta": {"a": k & 255, "b": str(k)[::-1], "c": [k, k + 1]},
        })
    return rows


def churn(rows):
    by_tag = {}
    for r in rows:
        for t in r["tags"]:
            by_tag.setdefault(t, []).append(r["id"])
    text = json.dumps(rows)
    back = json.loads(text)
    back.sort(key=lambda r: (r["score"], r["name"]))
    total = 0
    for r in back:
        total += r["meta"]["a"] + len(r["name"]) + r["pos"][0]
    joined = ",".join(r["name"] for r in back[:5000])
    return total + len(by_tag) + len(joined)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    kept = []
    check = 0
    for rnd in range(rounds):
        rows = make_batch(rnd, 100000)
        check = (check * 31 + churn(rows)) % (1 << 61)
        # Keep a slice of each batch: the live set grows to hundreds of MB.
        kept.extend(rows[::2])
        if rnd % 4 == 3:
            # Drop an old part, as a cache would.
            del kept[: len(kept) // 3]
    check = (check * 31 + sum(r["id"] for r in kept)) % (1 << 61)
    print(check)


if __name__ == "__main__":
    main()
