#!/usr/bin/env python3
"""Tiny TCP backends for buoy's integration tests.

Use in-process (threads; fastest on loopback):

    from helpers.backend import Backend
    b = Backend("127.0.0.2:7001", mode="name", name="api1").start()
    ... b.accepted, b.active, b.results ...
    b.stop()

or as a process (inside a namespace, or to be SIGKILLed):

    python3 backend.py --listen 198.18.0.2:6443 --mode name --name api1
    # prints "ready <host> <port>" once listening; `sink`/`sendfirst` also print
    # "result <peer> <bytes> <sha256>" per connection.

Modes (what each accepted connection gets):
  name       send "<name>\\n", shut down writing, read until the client's EOF, close.
  echo       echo every byte until EOF, then shut down writing (also a "hold" server).
  stream     read a request line "<nbytes> <seed>\\n", send that many bytes of the seeded stream,
             shut down writing, read until EOF.
  sink       read until EOF, then answer "<nbytes> <sha256>\\n" and close.
  sendfirst  send --bytes bytes of the seeded stream (seed 1), shut down writing FIRST, then read
             until EOF and record "<nbytes> <sha256>" of what arrived afterwards.
  http       answer any request with HTTP/1.0 <--status> and body "<name>\\n" (health checks).
  close      accept and close at once (a server that is up but useless).
"""
import argparse
import hashlib
import os
import random
import socket
import sys
import threading
import time

BLOCK = 1024 * 1024 + 7     # not a power of two: a lost or doubled chunk changes the hash
CHUNK = 1024 * 1024


def stream_block(seed):
    return random.Random(seed).randbytes(BLOCK)


def stream_chunks(nbytes, seed):
    """Yield memoryviews of the seeded stream, nbytes in total."""
    block = memoryview(stream_block(seed))
    left = nbytes
    while left > 0:
        n = min(left, BLOCK)
        yield block[:n]
        left -= n


def stream_sha256(nbytes, seed):
    h = hashlib.sha256()
    for c in stream_chunks(nbytes, seed):
        h.update(c)
    return h.hexdigest()


def parse_addr(s):
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
    else:
        host, _, port = s.rpartition(":")
    return host, int(port)


def read_to_eof(conn, h=None):
    """Read until EOF; returns the byte count, hashing into h if given."""
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    total = 0
    while True:
        n = conn.recv_into(buf)
        if n <= 0:
            return total
        total += n
        if h is not None:
            h.update(mv[:n])


def read_line(conn, limit=256):
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        c = conn.recv(1)
        if not c:
            break
        data += c
    return data.decode(errors="replace").strip()


class Backend:
    """A threaded TCP server. Counters: accepted, active; results: list of (peer, n, sha)."""

    def __init__(self, listen, mode="name", name=None, status=200, nbytes=0, backlog=1024,
                 delay=0.0, write_size=None):
        self.host, self.port = parse_addr(listen)
        self.listen = listen
        self.mode = mode
        self.name = name or listen
        self.status = status
        self.nbytes = nbytes
        self.backlog = backlog
        self.delay = delay                # sink: wait this long before reading (slow reader)
        self.write_size = write_size      # stream: write in pieces this small
        self.accepted = 0
        self.active = 0
        self.results = []
        self.peers = []
        self.on_result = None
        self._lock = threading.Lock()
        self._conns = set()
        self._stopping = False
        self.sock = None
        self._thread = None

    def start(self):
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, self.port))
        s.listen(self.backlog)
        self.port = s.getsockname()[1]
        self.sock = s
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def _accept_loop(self):
        while not self._stopping:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self.active += 1
                self.peers.append(peer)
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn, peer), daemon=True).start()

    def _serve(self, conn, peer):
        try:
            getattr(self, "_mode_" + self.mode)(conn, peer)
        except OSError:
            pass
        finally:
            with self._lock:
                self.active -= 1
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _record(self, peer, n, sha):
        with self._lock:
            self.results.append((peer, n, sha))
        if self.on_result:
            self.on_result(peer, n, sha)

    def _mode_name(self, conn, peer):
        conn.sendall(("%s\n" % self.name).encode())
        conn.shutdown(socket.SHUT_WR)
        read_to_eof(conn)

    def _mode_echo(self, conn, peer):
        buf = bytearray(CHUNK)
        mv = memoryview(buf)
        while True:
            n = conn.recv_into(buf)
            if n <= 0:
                break
            conn.sendall(mv[:n])
        conn.shutdown(socket.SHUT_WR)

    def _mode_stream(self, conn, peer):
        req = read_line(conn).split()
        if not req:               # a probe that connected and left
            return
        nbytes, seed = int(req[0]), int(req[1]) if len(req) > 1 else 1
        for c in stream_chunks(nbytes, seed):
            if self.write_size:
                for off in range(0, len(c), self.write_size):
                    conn.sendall(c[off:off + self.write_size])
            else:
                conn.sendall(c)
        conn.shutdown(socket.SHUT_WR)
        read_to_eof(conn)

    def _mode_sink(self, conn, peer):
        if self.delay:
            time.sleep(self.delay)
        h = hashlib.sha256()
        n = read_to_eof(conn, h)
        self._record(peer, n, h.hexdigest())
        conn.sendall(("%d %s\n" % (n, h.hexdigest())).encode())

    def _mode_sendfirst(self, conn, peer):
        for c in stream_chunks(self.nbytes, 1):
            conn.sendall(c)
        conn.shutdown(socket.SHUT_WR)
        h = hashlib.sha256()
        n = read_to_eof(conn, h)
        self._record(peer, n, h.hexdigest())

    def _mode_http(self, conn, peer):
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            c = conn.recv(4096)
            if not c:
                break
            data += c
        body = ("%s\n" % self.name).encode()
        conn.sendall(b"HTTP/1.0 %d X\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (self.status, len(body), body))
        conn.shutdown(socket.SHUT_WR)

    def _mode_close(self, conn, peer):
        pass

    def stop(self, reset=False):
        """Close the listener and every open connection (reset=True sends RSTs)."""
        self._stopping = True
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                if reset:
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread:
            self._thread.join(2)

    def __enter__(self):
        return self.start() if self.sock is None else self

    def __exit__(self, *exc):
        self.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", required=True, help="host:port or [v6]:port")
    ap.add_argument("--mode", default="name")
    ap.add_argument("--name")
    ap.add_argument("--status", type=int, default=200)
    ap.add_argument("--bytes", type=int, default=0, help="sendfirst: bytes to send")
    ap.add_argument("--delay", type=float, default=0.0, help="sink: seconds before reading")
    ap.add_argument("--write-size", type=int, help="stream: write in pieces this small")
    a = ap.parse_args()
    b = Backend(a.listen, mode=a.mode, name=a.name, status=a.status, nbytes=a.bytes,
                delay=a.delay, write_size=a.write_size)
    lock = threading.Lock()

    def report(peer, n, sha):
        with lock:
            print("result %s %d %s" % (peer[0], n, sha), flush=True)
    b.on_result = report
    b.start()
    print("ready %s %d" % (b.host, b.port), flush=True)
    try:
        b._thread.join()
    except KeyboardInterrupt:
        pass
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
