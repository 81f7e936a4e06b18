#!/usr/bin/env python3
"""A bounded loop of NEW connections to one address: what a client of an anycast or VRRP VIP
sees while the test breaks something. Run it inside a namespace (it is a CLI), in the
foreground or in the background:

    python3 conn_loop.py 198.18.200.1:6443 --seconds 6 [--count N] [--tls] [--path /name]
        [--pause-ms 10] [--timeout 1.0]

Each attempt: TCP connect (phase "connect"), then, with --tls, a TLS handshake (no
verification), `GET <path>` and the whole answer (phase "exchange"); without --tls it reads
until EOF (helpers/backend.py --mode name). Stops after --count attempts, after --seconds, or
on SIGTERM/SIGINT, and prints one JSON object:

    {"attempts": 300, "ok": 300, "fail": 0, "connect_fail": 0, "exchange_fail": 0,
     "names": {"api1": 101, ...}, "max_gap": 0.02, "seconds": 2.1, "errors": ["0.512 connect ..."]}

max_gap is the longest time without a success: between two successes, or from the start to
the first one (the loop's whole life when nothing succeeded). A connect failure means a new
connection was refused or timed out; an exchange failure means one that was accepted broke
later (with ECMP, a route change can move an in-flight flow to another node: a reset).

From a test: ConnLoop(ns, addr, seconds=6, tls=True).start() ... .result() (stops it early
if it still runs).
"""
import argparse
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

try:
    from helpers.client import parse_addr
except ImportError:         # run as a script inside a namespace: helpers/ is sys.path[0]
    from client import parse_addr

HERE = os.path.abspath(__file__)


def one(host, port, tls, path, timeout, ctx):
    """One attempt; returns the answer's name, raises (phase, exception) on failure."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        try:
            s.connect((host, port))
        except OSError as e:
            raise PhaseError("connect", e)
        try:
            if tls:
                s = ctx.wrap_socket(s)
                s.sendall(("GET %s HTTP/1.0\r\nHost: vip\r\n\r\n" % path).encode())
            data = b""
            while len(data) < 65536:
                c = s.recv(4096)
                if not c:
                    break
                data += c
        except OSError as e:
            raise PhaseError("exchange", e)
    finally:
        s.close()
    if tls:
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
            raise PhaseError("exchange", ValueError("status %r" % head[:30]))
        data = body
    name = data.decode(errors="replace").strip()
    if not name:
        raise PhaseError("exchange", ValueError("empty answer"))
    return name


class PhaseError(Exception):
    def __init__(self, phase, exc):
        super().__init__("%s %s: %s" % (phase, type(exc).__name__, exc))
        self.phase = phase


def run(addr, seconds, count=0, tls=False, path="/name", pause_ms=0.0, timeout=1.0):
    host, port = parse_addr(addr)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(1))
    t0 = time.monotonic()
    end = t0 + seconds
    res = {"attempts": 0, "ok": 0, "fail": 0, "connect_fail": 0, "exchange_fail": 0,
           "names": {}, "errors": []}
    last_ok, max_gap = t0, 0.0
    while not stop and time.monotonic() < end and (not count or res["attempts"] < count):
        t = time.monotonic()
        res["attempts"] += 1
        try:
            name = one(host, port, tls, path, timeout, ctx)
            now = time.monotonic()
            max_gap = max(max_gap, now - last_ok)
            last_ok = now
            res["ok"] += 1
            res["names"][name] = res["names"].get(name, 0) + 1
        except PhaseError as e:
            res["fail"] += 1
            res[e.phase + "_fail"] += 1
            if len(res["errors"]) < 20:
                res["errors"].append("%.3f %s" % (t - t0, e))
            time.sleep(0.01)
        if pause_ms:
            time.sleep(pause_ms / 1000.0)
    if not res["ok"]:
        max_gap = time.monotonic() - t0
    res["max_gap"] = round(max_gap, 4)
    res["seconds"] = round(time.monotonic() - t0, 3)
    return res


class ConnLoop:
    """The loop as a background process inside namespace ns (a netns.Namespace)."""

    def __init__(self, ns, addr, seconds, count=0, tls=True, path="/name", pause_ms=0,
                 timeout=1.0):
        self.ns = ns
        self.argv = [sys.executable or "/usr/bin/python3", "-u", HERE, addr, "--seconds",
                     str(seconds), "--count", str(count), "--path", path, "--pause-ms",
                     str(pause_ms), "--timeout", str(timeout)] + (["--tls"] if tls else [])
        self.seconds = seconds
        self.proc = None

    def start(self):
        self.proc = self.ns.popen(self.argv, stdout=subprocess.PIPE, text=True)
        return self

    def run(self):
        """In the foreground: returns the result dict."""
        r = self.ns.run(self.argv, timeout=self.seconds + 30)
        return json.loads(r.stdout)

    def result(self, stop=False):
        """Wait for the loop's end (SIGTERM it first when stop) and return its result."""
        if stop:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.p.communicate(timeout=self.seconds + 30)
        self.proc.stop()
        return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--path", default="/name")
    ap.add_argument("--pause-ms", type=float, default=0.0)
    ap.add_argument("--timeout", type=float, default=1.0)
    a = ap.parse_args()
    if not 0 < a.seconds <= 300:
        ap.error("--seconds must be in (0, 300]: every traffic loop is bounded")
    print(json.dumps(run(a.addr, a.seconds, a.count, a.tls, a.path, a.pause_ms, a.timeout)),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
