"""Listeners at accept time: clients that close without a byte (TCP probes, scanners) cost no
server connection, and `defer_accept` keeps them away from the workers altogether."""
import os
import signal
import socket
import time

import netns
from helpers.client import connect
from helpers.lbconf import config, echo_roundtrip, lb_addr, start_lb
from helpers.status import status_json

SERVER = "127.0.0.2"


def _probe(addr, n, hold=0.0):
    """What a TCP health check or a port scan does: connect, then close without a byte."""
    for _ in range(n):
        s = connect(addr, timeout=3)
        time.sleep(hold)        # long enough for buoy to accept, were it woken by the ACK
        s.close()


def _all_threads_stopped(pid):
    """kill(SIGSTOP) returns before every thread has stopped: a worker may still accept."""
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            if f.read().rsplit(")", 1)[1].split()[0] != "T":
                return False
    return True


def _empty_total(b):
    return status_json(b)["listeners"][0]["empty_total"]


def _wait_empty(b, n):
    netns.wait_until(lambda: _empty_total(b) == n, timeout=5,
                     msg="empty_total reaches %d" % n)


def test_client_closing_before_its_first_byte_gets_no_server_connection(buoy, backend):
    """buoy is stopped while the probes connect and close, so each FIN is there at accept:
    no server connection for any of them, each counted; a real client still gets through."""
    srv = backend(SERVER + ":0", mode="echo")
    listen = lb_addr()
    b = start_lb(buoy, config(listen, ["%s:%d" % (SERVER, srv.port)]))
    os.kill(b.pid, signal.SIGSTOP)
    try:
        netns.wait_until(lambda: _all_threads_stopped(b.pid), timeout=5, interval=0.01,
                         msg="every buoy thread stopped")
        _probe(listen, 5)
    finally:
        os.kill(b.pid, signal.SIGCONT)
    netns.wait_until(lambda: status_json(b)["listeners"][0]["accepted_total"] == 5,
                     timeout=5, msg="five accepted")
    time.sleep(0.3)
    assert srv.accepted == 0
    assert _empty_total(b) == 5
    with connect(listen) as s:
        assert echo_roundtrip(s)
    assert srv.accepted == 1
    doc = status_json(b)
    assert doc["listeners"][0]["accepted_total"] == 6
    assert 'reason="client closed before sending"' in b.log()


def test_defer_accept_probes_never_reach_the_server(buoy, backend):
    """With defer_accept the kernel holds a silent connection until its first byte or FIN:
    probes at full speed (buoy running) open no server connection; data flows as usual."""
    srv = backend(SERVER + ":0", mode="echo")
    listen = lb_addr()
    b = start_lb(buoy, config(listen, ["%s:%d" % (SERVER, srv.port)],
                              listener={"defer_accept": True}))
    assert "defer_accept=1" in b.log()
    _probe(listen, 20, hold=0.05)
    _wait_empty(b, 20)
    time.sleep(0.3)
    assert srv.accepted == 0
    t0 = time.monotonic()
    with connect(listen) as s:
        assert echo_roundtrip(s)
    assert time.monotonic() - t0 < 0.5      # a client that speaks is not held back
    assert srv.accepted == 1


def test_defer_accept_server_first_client_is_accepted_after_a_retransmit(buoy, backend):
    """The documented cost: a client waiting for a server greeting is accepted after the
    first SYN-ACK retransmit (~1 s), then relayed normally."""
    srv = backend(SERVER + ":0", mode="name", name="hello")
    listen = lb_addr()
    start_lb(buoy, config(listen, ["%s:%d" % (SERVER, srv.port)],
                          listener={"defer_accept": True}))
    t0 = time.monotonic()
    with connect(listen, timeout=10) as s:
        s.settimeout(10)
        assert s.recv(64) == b"hello\n"
    took = time.monotonic() - t0
    assert 0.5 < took < 8, took


def test_defer_accept_switched_on_by_reload_applies_to_open_sockets(buoy, backend):
    """A reload that only turns defer_accept on keeps the listener (same sockets, nothing
    rebound) and the option takes effect on them."""
    srv = backend(SERVER + ":0", mode="echo")
    listen = lb_addr()
    servers = ["%s:%d" % (SERVER, srv.port)]
    b = start_lb(buoy, config(listen, servers))
    with open(b.config_path, "w") as f:
        f.write(config(listen, servers, listener={"defer_accept": True})
                + "control: { socket: %s }\n" % b.socket_path)
    b.reload()
    b.wait_log(r"msg=\"reloaded\"[^\n]*listeners_changed=1", timeout=5)
    assert 'msg="listener added"' not in b.log()
    _probe(listen, 20, hold=0.05)
    _wait_empty(b, 20)
    time.sleep(0.3)
    assert srv.accepted == 0
    with connect(listen) as s:
        assert echo_roundtrip(s)
    assert srv.accepted == 1


def test_client_reset_before_its_first_byte_is_not_counted_as_empty(buoy, backend):
    """A probe that aborts (RST) never reaches accept with defer_accept: nothing to count,
    nothing opened."""
    srv = backend(SERVER + ":0", mode="echo")
    listen = lb_addr()
    b = start_lb(buoy, config(listen, ["%s:%d" % (SERVER, srv.port)],
                              listener={"defer_accept": True}))
    for _ in range(10):
        s = connect(listen)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    time.sleep(0.5)
    assert srv.accepted == 0
    assert status_json(b)["listeners"][0]["accepted_total"] == 0


def test_client_closing_while_buoy_connects_abandons_the_server_connection(buoy):
    """The probe closes while buoy's connect is still in SYN-SENT (the server's accept queue
    is full, so its SYNs are dropped): buoy drops the half-open socket at once, and the
    server never sees a connection, not even after its queue has room again."""
    ls = socket.socket()
    ls.bind((SERVER, 0))
    ls.listen(0)                              # holds one connection: the filler's
    port = ls.getsockname()[1]
    filler = socket.create_connection((SERVER, port), timeout=3)
    try:
        listen = lb_addr()
        b = start_lb(buoy, config(listen, ["%s:%d" % (SERVER, port)],
                                  backend={"connect_timeout": "5s"}))
        s = connect(listen)
        time.sleep(0.2)                       # accepted, connect under way
        s.close()
        b.wait_log(r'reason="client closed before sending"', timeout=1)
        c, _ = ls.accept()                    # the filler: now there is room
        c.close()
        time.sleep(1.5)                       # past the first SYN retransmit
        ls.setblocking(False)
        try:
            got = ls.accept()
            got[0].close()
            raise AssertionError("buoy's connection reached the server: %r" % (got[1],))
        except BlockingIOError:
            pass
    finally:
        filler.close()
        ls.close()


def test_client_closing_while_queued_leaves_the_queue_at_once(buoy, backend):
    """Every server slot is taken: the probe waits in the queue, closes, and is gone from it
    at once (not after queue_timeout); the slot's next client is the one that speaks."""
    srv = backend(SERVER + ":0", mode="echo")
    listen = lb_addr()
    b = start_lb(buoy, config(listen, [{"address": "%s:%d" % (SERVER, srv.port), "max_conns": 1}],
                              backend={"queue_timeout": "30s"}))
    with connect(listen) as holder:
        assert echo_roundtrip(holder)
        s = connect(listen)
        netns.wait_until(lambda: status_json(b)["backends"][0]["queue_length"] == 1,
                         timeout=3, msg="probe queued")
        s.close()
        b.wait_log(r'reason="client closed before sending"', timeout=1)
        assert status_json(b)["backends"][0]["queue_length"] == 0
    with connect(listen) as s:
        assert echo_roundtrip(s)
    assert srv.accepted == 2
