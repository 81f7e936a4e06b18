#!/usr/bin/python3
"""Byte-exactness of the kernel fast path under bulk load (issue 21, docs/fastpath.md).

  fastpath_dup.py BUOY RUNS MIB

For fast_path: off and sockmap, RUNS connections each do a ping, then (a) MIB up and MIB down
at once through an echo server, or (b) MIB down only; client and server check the byte
pattern. Prints per mode and shape how many runs came out exact, and the extra bytes of the
others. Loopback, one buoy per mode; needs root for sockmap."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

PAT = bytes(range(256)) * 4096  # offset i holds i % 256: a slip or a repeat shows


def check(buf, k, off):
    return buf[0] == off % 256 and buf[k - 1] == (off + k - 1) % 256


def server(ls, bad, report):
    def one(c):
        try:
            assert c.recv(4) == b"ping"
            c.sendall(b"pong")
            mode = c.recv(1)
            n = int.from_bytes(c.recv(8), "big")
            if mode == b"d":  # down only
                sent = 0
                while sent < n:
                    sent += c.send(PAT[:min(len(PAT), n - sent)])
            else:  # echo, checking what came up
                got, buf = 0, bytearray(1 << 16)
                while True:
                    k = c.recv_into(buf)
                    if not k:
                        break
                    if not check(buf, k, got):
                        bad.append(got)
                        os.write(report, b"x")
                    got += k
                    c.sendall(memoryview(buf)[:k])
                c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            c.close()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()


def run(addr, shape, n):
    c = socket.create_connection(addr)
    c.sendall(b"ping")
    assert c.recv(4) == b"pong"
    time.sleep(0.02)  # the first exchange is over: the fast path takes the pair now
    c.sendall((b"d" if shape == "down" else b"e") + n.to_bytes(8, "big"))
    if shape == "both":
        def up():
            sent = 0
            while sent < n:
                c.sendall(PAT)
                sent += len(PAT)
            c.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=up)
        t.start()
    got, buf, exact = 0, bytearray(1 << 16), True
    while True:
        k = c.recv_into(buf)
        if not k:
            break
        exact &= check(buf, k, got)
        got += k
    if shape == "both":
        t.join()
    c.close()
    return got - n, exact and got == n


def main():
    buoy, runs, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ls = socket.socket()
    ls.bind(("127.0.0.2", 0))
    ls.listen(64)
    # the server in its own process, as a real one would be (one interpreter for both sides
    # is too slow to load the kernel path; measured: no repeat seen then)
    rd, wr = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(rd)
        server(ls, [], wr)
        os._exit(0)
    os.close(wr)
    os.set_blocking(rd, False)
    for mode in ("off", "sockmap"):
        with tempfile.TemporaryDirectory() as d:
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            probe.close()
            cfg = os.path.join(d, "b.yaml")
            with open(cfg, "w") as f:
                f.write("node: dup\nfast_path: %s\ncontrol: { socket: %s/s }\n"
                        "listeners: [{ name: l, bind: \"127.0.0.1:%d\", backend: b }]\n"
                        "backends: [{ name: b, health: { type: none }, idle_timeout: 30s,\n"
                        "  servers: [{ address: \"127.0.0.2:%d\" }] }]\n"
                        % (mode, d, port, ls.getsockname()[1]))
            p = subprocess.Popen([buoy, "run", "-c", cfg], stderr=subprocess.DEVNULL)
            try:
                time.sleep(0.5)
                for shape in ("both", "down"):
                    extra = [run(("127.0.0.1", port), shape, mib << 20) for _ in range(runs)]
                    ok = sum(1 for _, e in extra if e)
                    print("fast_path=%-7s %-4s %d x %d MiB: %d exact, others' extra bytes: %s"
                          % (mode, shape, runs, mib, ok, [x for x, e in extra if not e]),
                          flush=True)
            finally:
                p.terminate()
                p.wait()
    os.kill(child, 9)
    try:
        bad = len(os.read(rd, 1 << 16))
    except BlockingIOError:
        bad = 0
    print("server side (what came up through buoy): %d transfers with a mismatch" % bad)


if __name__ == "__main__":
    main()
