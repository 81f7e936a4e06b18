"""What buoy puts on the wire per connection (issue 8): fewer packets for the same bytes.

A capture (tshark on the test's own ports) shows the segments. Each case is made deterministic:
the origin sends its answer and its FIN in one segment, or buoy is stopped while the client
connects and speaks, so buoy always finds the data already there.
"""
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

import netns
from helpers.client import connect, free_port, read_all
from helpers.lbconf import config, lb_addr, start_lb

ORIGIN = "127.0.0.2"
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"

pytestmark = pytest.mark.skipif(not shutil.which("tshark"),
                                reason="tshark not installed (scripts/deps test)")


class Capture:
    """tshark on lo for one port, as a context manager (stopped on exit);
    segments() -> [(src_port, dst_port, flags, payload_len, tcp_stream)]."""

    def __init__(self, workdir, port):
        self.path = os.path.join(workdir, "cap-%d.pcap" % port)
        self.err = open(os.path.join(workdir, "tshark-%d.err" % port), "w+")
        self.probe = free_port()
        self.header = None
        self.p = subprocess.Popen(["tshark", "-i", "lo", "-f",
                                   "tcp port %d or udp port %d" % (port, self.probe),
                                   "-w", self.path], stdout=subprocess.DEVNULL,
                                  stderr=self.err)
        # tshark says "Capturing on" before its filter is live: probe until a datagram lands
        netns.wait_until(self._capturing, timeout=10, msg="tshark capturing")

    def _capturing(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.sendto(b"probe", ("127.0.0.1", self.probe))
        time.sleep(0.05)
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return False
        if self.header is None:
            if size:
                self.header = size                        # file header only, written at start
            return False
        return size > self.header                     # a probe was written: filter is live

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def segments(self):
        time.sleep(0.3)                   # let the last packets reach the capture
        self.p.send_signal(signal.SIGINT)
        self.p.wait(timeout=10)
        out = subprocess.run(["tshark", "-r", self.path, "-Y", "tcp", "-T", "fields", "-e", "tcp.srcport",
                              "-e", "tcp.dstport", "-e", "tcp.flags", "-e", "tcp.len",
                              "-e", "tcp.stream"],
                             capture_output=True, text=True, timeout=30).stdout
        segs = []
        for line in out.splitlines():
            sp, dp, fl, ln, st = line.split("\t")
            segs.append((int(sp), int(dp), int(fl, 16), int(ln), int(st)))
        return segs

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.err.close()


SYN, ACK, FIN, PSH = 0x02, 0x10, 0x01, 0x08


def _origin(port, answer_first=False, connections=1):
    """Origin on ORIGIN:port for `connections` connections, one after the other. Answers the
    request (or greets first) with its data and FIN in a single segment (MSG_MORE, then
    shutdown), then waits for the peer's FIN."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ORIGIN, port))
    ls.listen(8)
    done = threading.Event()

    def serve():
        for _ in range(connections):
            c, _ = ls.accept()
            with c:
                c.settimeout(10)
                if not answer_first:
                    got = b""
                    while not got.endswith(b"\r\n\r\n"):
                        got += c.recv(4096)
                c.send(RESPONSE, socket.MSG_MORE)
                c.shutdown(socket.SHUT_WR)
                while c.recv(4096):
                    pass
        ls.close()
        done.set()

    threading.Thread(target=serve, daemon=True).start()
    return done


def _port(addr):
    return int(addr.rsplit(":", 1)[1])


def _take_answer(s, done):
    """Reads the origin's whole answer through buoy on s, then waits for the origin to finish."""
    with s:
        assert read_all(s) == RESPONSE
    assert done.wait(5)


def test_answer_and_fin_reach_the_client_in_one_segment(buoy, workdir):
    """The origin's answer and FIN arrive together: buoy passes them on as one segment
    (data with MSG_MORE, then the FIN tacked on), not as data and a separate FIN."""
    oport = free_port(ORIGIN)
    done = _origin(oport)
    listen = lb_addr()
    start_lb(buoy, config(listen, ["%s:%d" % (ORIGIN, oport)]))
    with Capture(workdir, _port(listen)) as cap:
        s = connect(listen, timeout=5)
        s.sendall(REQUEST)
        _take_answer(s, done)
        segs = cap.segments()
    lp = _port(listen)
    from_lb = [(fl, ln) for sp, dp, fl, ln, _ in segs if sp == lp]
    assert (len(RESPONSE), True) in [(ln, bool(fl & FIN)) for fl, ln in from_lb], from_lb
    assert not [1 for fl, ln in from_lb if fl & FIN and ln == 0], from_lb   # no bare FIN


def test_client_data_rides_on_the_handshake_ack_to_the_server(buoy, workdir):
    """When the client has spoken before buoy connects, the server handshake's last ACK is not
    sent on its own: the first segment after SYN-ACK carries the client's bytes."""
    oport = free_port(ORIGIN)
    done = _origin(oport)
    listen = lb_addr()
    b = start_lb(buoy, config(listen, ["%s:%d" % (ORIGIN, oport)]))
    with Capture(workdir, oport) as cap:
        os.kill(b.pid, signal.SIGSTOP)     # the kernel completes the client's handshake alone
        try:
            s = connect(listen, timeout=5)
            s.sendall(REQUEST)
            time.sleep(0.1)
        finally:
            os.kill(b.pid, signal.SIGCONT)
        _take_answer(s, done)
        segs = cap.segments()
    to_origin = [(fl, ln) for sp, dp, fl, ln, _ in segs if dp == oport]
    assert to_origin[0][0] & SYN, to_origin
    assert to_origin[1][1] == len(REQUEST), to_origin   # no bare ACK in between


def test_server_speaks_first_without_delay(buoy, workdir):
    """A server that greets first (SSH, SMTP, MySQL) gets its connection at once: the held
    handshake ACK is only for clients that already sent data (else the kernel holds it 200 ms)."""
    listen = lb_addr()
    oport = free_port(ORIGIN)
    start_lb(buoy, config(listen, ["%s:%d" % (ORIGIN, oport)]))
    took = []
    for _ in range(5):
        done = _origin(oport, answer_first=True)
        t0 = time.monotonic()
        with connect(listen, timeout=5) as s:
            got = read_all(s, limit=len(RESPONSE))
            took.append(time.monotonic() - t0)
        assert got == RESPONSE
        assert done.wait(5)
    assert min(took) < 0.1, took


def test_health_check_request_rides_on_the_handshake_ack(buoy, workdir):
    """An http check sends its request right after the connect: that request carries the
    handshake's last ACK, for every check."""
    oport = free_port(ORIGIN)
    with Capture(workdir, oport) as cap:
        done = _origin(oport, connections=3)
        start_lb(buoy, config(lb_addr(), ["%s:%d" % (ORIGIN, oport)],
                              health={"type": "http", "path": "/readyz", "interval": "200ms",
                                      "timeout": "1s"}))
        assert done.wait(10), "three checks"
        segs = cap.segments()
    streams = {}
    for sp, dp, fl, ln, st in segs:
        if dp == oport:
            streams.setdefault(st, []).append((fl, ln))
    assert len(streams) >= 3, streams
    for to_origin in list(streams.values())[:3]:
        assert to_origin[0][0] & SYN, to_origin
        assert to_origin[1][1] > 0, to_origin     # the GET itself, no bare ACK before it
