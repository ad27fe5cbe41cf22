# SPDX-License-Identifier: MIT
"""Commands for the Redis test: at least 100k keys of mixed sizes and types.

    redis_data.py write N    RESP for redis-cli --pipe: the dataset
    redis_data.py digest N   DEBUG DIGEST-VALUE of every key, 500 a line

The dataset is a pure function of N, so two servers fed the same commands
must hold the same data, key for key.
"""
import sys


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n" % len(b))
        out.append(b)
        out.append(b"\r\n")
    return b"".join(out)


def value(k, n):
    """n bytes that depend on k (including bytes that are not text)."""
    pat = bytes(((k * 131 + i * 7) & 0xFF) for i in range(64))
    return (pat * (n // 64 + 1))[:n]


def write(n):
    w = sys.stdout.buffer.write
    for k in range(n):
        kind = k % 10
        key = "k:%d" % k
        if kind < 4:
            # Strings from a byte to 64 KiB.
            size = (1, 17, 200, 1500, 9000, 16384)[k % 6] + k % 13
            w(resp("SET", key, value(k, size)))
        elif kind == 4:
            w(resp("RPUSH", key, *["item-%d-%d" % (k, j) for j in range(k % 40 + 1)]))
        elif kind == 5:
            fields = []
            for j in range(k % 30 + 1):
                fields += ["f%d" % j, "v-%d-%s" % (j, "y" * (k % 50))]
            w(resp("HSET", key, *fields))
        elif kind == 6:
            w(resp("SADD", key, *["m%d" % (k * j % 1000) for j in range(k % 60 + 1)]))
        elif kind == 7:
            members = []
            for j in range(k % 50 + 1):
                members += ["%d.5" % (j * k % 997), "z%d" % j]
            w(resp("ZADD", key, *members))
        elif kind == 8:
            w(resp("INCRBY", key, k * 3))
        else:
            # A big list of big items, so quicklists and large blocks too.
            w(resp("RPUSH", key, *[value(k + j, 3000) for j in range(k % 8 + 1)]))


def digest(n):
    keys = ["k:%d" % k for k in range(n)]
    for i in range(0, n, 500):
        print("DEBUG DIGEST-VALUE " + " ".join(keys[i:i + 500]))


if __name__ == "__main__":
    {"write": write, "digest": digest}[sys.argv[1]](int(sys.argv[2]))
