#!/usr/bin/env python3
"""Idle long-lived clients, the way a watch looks on the wire: N TCP connections to one address,
each proves it reaches a backend (one echo round trip), then sits silent, no TCP keepalive.
Run inside a namespace; prints, flushed, one line per event:

    ready <n>                     every connection is up and echoed
    ports <p0> <p1> ...           their local ports, in order
    gone <i> <monotonic> <how>    connection i ended (how: reset | eof | error:<errno>)
    done <n_gone>                 --wait seconds passed after ready, or every connection ended

CLOCK_MONOTONIC is the host's, the same in every namespace, so the test compares these times
with its own. Usage: idle_clients.py [--tls] [--port-base P] HOST PORT N WAIT_S

--tls: instead of the echo, a TLS session (no certificate check) and one keep-alive
GET /name answered (nginx apiserver stand-ins), then silence: an idle TLS session.
--port-base P: connection i binds local port P+i (a range no earlier connection used: a
TIME_WAIT socket of an old 4-tuple on an LB would answer a tickle's challenge with an ACK)."""
import errno
import os
import selectors
import socket
import ssl
import sys
import time

TCP_CLOSE = 7  # linux/tcp.h tcp_state


def tls_get(s):
    """One keep-alive GET /name over s (TLS); returns once the whole answer is read."""
    s.sendall(b"GET /name HTTP/1.1\r\nHost: apiserver\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("closed before its answer")
        got += chunk
    head, body = got.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("closed in its answer")
        body += chunk


def open_one(fam, host, port, i, tls=None, tries=5, local_port=0):
    """One connection that has echoed (or, tls, been answered); a failed try (a server still
    starting) is retried."""
    want = b"hello %d\n" % i
    for t in range(tries):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            if local_port:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("", local_port))
            s.connect((host, port))
            if tls:
                s = tls.wrap_socket(s)
                tls_get(s)
                s.setblocking(False)
                return s
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
    args = sys.argv[1:]
    tls = None
    base = 0
    while args[0].startswith("--"):
        if args[0] == "--tls":
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
            args = args[1:]
        elif args[0] == "--port-base":
            base, args = int(args[1]), args[2:]
        else:
            raise SystemExit("unknown option " + args[0])
    host, port, n, wait_s = args[0], int(args[1]), int(args[2]), float(args[3])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    for i in range(n):
        socks.append(open_one(fam, host, port, i, tls, local_port=base + i if base else 0))
    print("ready %d" % n, flush=True)
    print("ports %s" % " ".join(str(s.getsockname()[1]) for s in socks), flush=True)
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
                    # TLS hides an RST as EOF: the kernel's state tells (CLOSE after a RST,
                    # CLOSE_WAIT after a FIN)
                    state = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
                    how = "reset" if state == TCP_CLOSE else "eof"
            except (BlockingIOError, ssl.SSLWantReadError):
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
