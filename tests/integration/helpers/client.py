#!/usr/bin/env python3
"""Test clients for buoy's integration tests (in-process, or as a CLI inside a namespace).

    from helpers.client import fetch_name, fetch_names, free_port
    counts, failures = fetch_names("127.0.0.1:7000", 300)

CLI (prints one JSON object):
    python3 client.py names HOST:PORT N [--source ADDR] [--timeout S]
        -> {"names": {"api1": 10, ...}, "failures": 0, "errors": [...], "seconds": 0.4}
    python3 client.py sequence HOST:PORT N [--sources A,B,...] [--gap S]
        -> {"seq": ["api1", "ERR", ...]}: connection i from source i % len(sources)
    python3 client.py idle HOST:PORT 1
        -> {"seconds": 1.52}: connect, send nothing, time until the proxy closes
"""
import argparse
import collections
import hashlib
import json
import socket
import sys
import time


def parse_addr(s):
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
    else:
        host, _, port = s.rpartition(":")
    return host, int(port)


def fmt_addr(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def free_port(host="127.0.0.1"):
    """A port the kernel just said is free on host (small race; good enough for tests)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def connect(addr, source=None, timeout=3.0):
    host, port = parse_addr(addr)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    return s


def read_all(s, limit=1 << 20):
    data = b""
    while len(data) < limit:
        c = s.recv(65536)
        if not c:
            break
        data += c
    return data


def fetch_name(addr, source=None, timeout=3.0):
    """Connect, read the backend's "<name>\\n" until EOF; returns the name.
    Raises on any failure, including an empty answer (the proxy closed on us)."""
    with connect(addr, source, timeout) as s:
        data = read_all(s)
    name = data.decode(errors="replace").strip()
    if not name or "\n" in name:
        raise ConnectionError("bad answer %r" % data)
    return name


def fetch_names(addr, n, source=None, timeout=3.0, between=None, deadline_s=60.0):
    """n sequential fetch_name calls; between(i) is called before connection i.
    Returns (Counter of names, list of (i, error) failures). Bounded by deadline_s."""
    counts = collections.Counter()
    failures = []
    stop = time.monotonic() + deadline_s
    for i in range(n):
        if time.monotonic() > stop:
            failures.append((i, "deadline"))
            break
        if between:
            between(i)
        try:
            counts[fetch_name(addr, source, timeout)] += 1
        except (OSError, ConnectionError) as e:
            failures.append((i, repr(e)))
    return counts, failures


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def fetch_sequence(addr, n, sources=None, gap=0.0, timeout=3.0, deadline_s=60.0):
    """n sequential fetch_name calls, the name of each in order ("ERR" for a failure);
    connection i comes from sources[i % len(sources)] when given. Bounded by deadline_s."""
    seq = []
    stop = time.monotonic() + deadline_s
    for i in range(n):
        if time.monotonic() > stop:
            break
        src = sources[i % len(sources)] if sources else None
        try:
            seq.append(fetch_name(addr, src, timeout))
        except (OSError, ConnectionError):
            seq.append("ERR")
        if gap:
            time.sleep(gap)
    return seq


def idle_seconds(addr, limit=30.0):
    """Connect, send nothing; seconds until the other side closes (EOF or reset)."""
    t0 = time.monotonic()
    with connect(addr, timeout=limit) as s:
        try:
            read_all(s)
        except OSError:
            pass
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["names", "sequence", "idle"])
    ap.add_argument("addr")
    ap.add_argument("n", type=int)
    ap.add_argument("--source")
    ap.add_argument("--sources")
    ap.add_argument("--gap", type=float, default=0.0)
    ap.add_argument("--timeout", type=float, default=3.0)
    a = ap.parse_args()
    if a.what == "sequence":
        srcs = a.sources.split(",") if a.sources else None
        print(json.dumps({"seq": fetch_sequence(a.addr, a.n, srcs, a.gap, a.timeout)}))
        return 0
    if a.what == "idle":
        print(json.dumps({"seconds": round(idle_seconds(a.addr), 3)}))
        return 0
    t0 = time.monotonic()
    counts, failures = fetch_names(a.addr, a.n, a.source, a.timeout)
    print(json.dumps({"names": dict(counts), "failures": len(failures),
                      "errors": [e for _, e in failures[:10]],
                      "seconds": round(time.monotonic() - t0, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
