#!/usr/bin/env python3
"""Idle long-lived clients, the way a watch looks on the wire: N TCP connections to one address,
each proves it reaches a backend (one echo round trip), then sits silent, no TCP keepalive.
Run inside a namespace; prints, flushed, one line per event:

    ready <n>                     every connection is up and echoed
    gone <i> <monotonic> <how>    connection i ended (how: reset | eof | error:<errno>)
    done <n_gone>                 --wait seconds passed after ready, or every connection ended

CLOCK_MONOTONIC is the host's, the same in every namespace, so the test compares these times
with its own. Usage: idle_clients.py HOST PORT N WAIT_S"""
import errno
import os
import selectors
import socket
import sys
import time


def open_one(fam, host, port, i, tries=5):
    """One connection that has echoed; a failed try (a server still starting) is retried."""
    want = b"hello %d\n" % i
    for t in range(tries):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((host, port))
            s.sendall(want)
            got = b""
            while len(got) < len(want):
                chunk = s.recv(64)
                if not chunk:
                    raise OSError("closed before its echo")
                got += chunk
            s.setblocking(False)
            return s
        except OSError as e:
            s.close()
            print("retry %d %s" % (i, e), file=sys.stderr, flush=True)
            if t == tries - 1:
                raise
            time.sleep(0.2)


def main():
    host, port, n, wait_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    for i in range(n):
        socks.append(open_one(fam, host, port, i))
    print("ready %d" % n, flush=True)
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    gone = 0
    end = time.monotonic() + wait_s
    while gone < n:
        left = end - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(timeout=left):
            i, s = key.data, key.fileobj
            how = None
            try:
                if s.recv(4096) == b"":
                    how = "eof"
            except BlockingIOError:
                continue
            except ConnectionResetError:
                how = "reset"
            except OSError as e:
                how = "error:%s" % errno.errorcode.get(e.errno, e.errno)
            if how:
                print("gone %d %.6f %s" % (i, time.monotonic(), how), flush=True)
                sel.unregister(s)
                s.close()
                gone += 1
    print("done %d" % gone, flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
