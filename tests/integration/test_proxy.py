"""The L4 data plane (issue 2), end to end: `buoy run -c FILE` between real clients and backends.

Each test writes its own config (nginx-tests style), starts the backends it needs, starts buoy,
and asserts on what a client sees. Loopback with distinct 127.0.0.x addresses where no cut link is
needed (fast); network namespaces where the test needs one. Active health checks are off
(`health: { type: none }`) so only the data plane decides.
"""
import hashlib
import json
import os
import random
import re
import socket
import subprocess
import threading
import time

import pytest

import netns
from helpers import lbconf
from helpers.backend import CHUNK, stream_chunks, stream_sha256
from helpers.client import connect, fetch_name, fetch_names, free_port, read_all
from helpers.lbconf import closed_by_peer, config, echo_roundtrip, lb_addr, start_lb
from helpers.status import status_json


@pytest.fixture(autouse=True, params=["off", "sockmap"], ids=["relay", "sockmap"])
def fast_path(request):
    """Every test here runs through the relay and with the kernel fast path (issue 21, which
    takes a connection over after its first exchange: docs/fastpath.md)."""
    lbconf.FAST_PATH = request.param
    yield request.param
    lbconf.FAST_PATH = None


# ---------------------------------------------------------------------------------------------
# Distribution

def test_roundrobin_distribution_three_backends(buoy, backend):
    bs = [backend("127.0.0.%d:0" % (2 + i), name="api%d" % (i + 1)) for i in range(3)]
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.%d:%d" % (2 + i, b.port) for i, b in enumerate(bs)]))
    counts, failures = fetch_names(listen, 300)
    assert not failures
    assert set(counts) == {"api1", "api2", "api3"}
    for name in counts:
        assert 80 <= counts[name] <= 120, counts


def test_roundrobin_weights(buoy, backend):
    bs = [backend("127.0.0.%d:0" % (2 + i), name="w%d" % (i + 1)) for i in range(3)]
    listen = lb_addr()
    servers = [{"address": "127.0.0.%d:%d" % (2 + i, b.port), "weight": i + 1}
               for i, b in enumerate(bs)]
    start_lb(buoy, config(listen, servers))
    counts, failures = fetch_names(listen, 600)
    assert not failures
    for i, name in enumerate(["w1", "w2", "w3"]):
        expect = 100 * (i + 1)
        assert abs(counts[name] - expect) <= expect * 0.25, counts


def test_random_distribution(buoy, backend):
    bs = [backend("127.0.0.%d:0" % (2 + i), name="r%d" % (i + 1)) for i in range(3)]
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.%d:%d" % (2 + i, b.port) for i, b in enumerate(bs)],
                          balance="random"))
    counts, failures = fetch_names(listen, 300)
    assert not failures
    for name in ("r1", "r2", "r3"):
        assert 50 <= counts[name] <= 150, counts


def test_leastconn_spreads_held_connections(buoy, backend):
    bs = [backend("127.0.0.%d:0" % (2 + i), mode="echo") for i in range(3)]
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.%d:%d" % (2 + i, b.port) for i, b in enumerate(bs)],
                          balance="leastconn"))
    held = []
    try:
        for _ in range(6):
            s = connect(listen)
            held.append(s)
            assert echo_roundtrip(s)
        netns.wait_until(lambda: sum(b.active for b in bs) == 6, timeout=2)
        assert [b.active for b in bs] == [2, 2, 2]
    finally:
        for s in held:
            s.close()


# ---------------------------------------------------------------------------------------------
# Failures, retries, passive health

def test_kill_backend_during_1000_connections_no_client_failure(buoy, backend_proc):
    ports = [free_port("127.0.0.%d" % (2 + i)) for i in range(3)]
    addrs = ["127.0.0.%d:%d" % (2 + i, p) for i, p in enumerate(ports)]
    procs = [backend_proc(a, name="k%d" % (i + 1)) for i, a in enumerate(addrs)]
    listen = lb_addr()
    b = start_lb(buoy, config(listen, addrs, backend={"connect_timeout": "1s"}))
    killed_at = []

    def between(i):
        if i == 300:
            procs[1].kill()           # SIGKILL: its port now refuses
            killed_at.append(i)

    t0 = time.monotonic()
    counts, failures = fetch_names(listen, 1000, between=between, deadline_s=90)
    took = time.monotonic() - t0
    assert killed_at == [300]
    assert not failures, failures[:5]
    assert sum(counts.values()) == 1000
    assert counts["k2"] <= 101, counts      # nothing reached k2 after it died
    assert counts["k1"] > 300 and counts["k3"] > 300, counts
    assert addrs[1] in b.log()        # the refused connect to k2 was seen (and retried)
    print("1000 connections in %.2fs: %s" % (took, dict(counts)))


def test_retry_keeps_early_client_bytes(buoy, backend):
    """The first pick refuses; bytes the client sent before the retry still arrive."""
    good = backend("127.0.0.3:0", mode="echo")
    dead = "127.0.0.2:%d" % free_port("127.0.0.2")
    listen = lb_addr()
    start_lb(buoy, config(listen, [dead, "127.0.0.3:%d" % good.port],
                          backend={"max_fails": 0, "retries": 1}))
    payload = bytes(range(256)) * 256     # 64 KiB, sent before any backend answers
    for _ in range(10):
        with connect(listen) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            assert hashlib.sha256(read_all(s)).hexdigest() == hashlib.sha256(payload).hexdigest()


def test_passive_health_skips_failed_server_until_fail_timeout(buoy, backend):
    a = backend("127.0.0.2:0", name="A")
    b = backend("127.0.0.3:0", name="B")
    a_port = a.port
    listen = lb_addr()
    lbp = start_lb(buoy, config(listen, ["127.0.0.2:%d" % a_port, "127.0.0.3:%d" % b.port],
                                backend={"max_fails": 1, "fail_timeout": "2s"}))
    counts, failures = fetch_names(listen, 10)
    assert not failures and counts["A"] > 0 and counts["B"] > 0, counts
    a.stop()                                          # A refuses from now on
    counts, failures = fetch_names(listen, 20)
    assert not failures and counts == {"B": 20}
    marked_down = time.monotonic()
    # A comes back at once, but it stays out until fail_timeout has passed.
    a2 = backend("127.0.0.2:%d" % a_port, name="A")
    counts, failures = fetch_names(listen, 10)
    assert not failures
    if time.monotonic() - marked_down < 1.5:
        assert counts == {"B": 10} and a2.accepted == 0, counts
    # ... and is used again after it (fail_timeout 2s + margin).
    netns.wait_until(lambda: fetch_names(listen, 4)[0]["A"] > 0, timeout=5, interval=0.2,
                     msg="A back after fail_timeout")
    assert "127.0.0.2:%d" % a_port in lbp.log()     # the failure was logged, with the server


def test_backup_used_only_when_primaries_down(buoy, backend):
    p1 = backend("127.0.0.2:0", name="p1")
    p2 = backend("127.0.0.3:0", name="p2")
    bk = backend("127.0.0.4:0", name="bk")
    ports = (p1.port, p2.port)
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.2:%d" % p1.port, "127.0.0.3:%d" % p2.port,
                                   {"address": "127.0.0.4:%d" % bk.port, "backup": True}],
                          backend={"fail_timeout": "1s", "retries": 2}))
    counts, failures = fetch_names(listen, 30)
    assert not failures and counts["bk"] == 0 and counts["p1"] > 0 and counts["p2"] > 0
    p1.stop()
    p2.stop()
    counts, failures = fetch_names(listen, 20)
    assert not failures, failures
    assert counts == {"bk": 20}
    backend("127.0.0.2:%d" % ports[0], name="p1")
    # After fail_timeout the primary is tried again and the backup stops getting traffic.
    netns.wait_until(lambda: fetch_names(listen, 6)[0] == {"p1": 6}, timeout=6, interval=0.3,
                     msg="traffic back on the primary")


def test_source_balance_is_sticky_and_minimally_disruptive(buoy, backend):
    bs = [backend("127.0.0.%d:0" % (2 + i), name="s%d" % (i + 1)) for i in range(3)]
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.%d:%d" % (2 + i, b.port) for i, b in enumerate(bs)],
                          balance="source", backend={"fail_timeout": "30s"}))
    sources = ["127.0.1.%d" % i for i in range(1, 17)]
    owner = {}
    for src in sources:
        counts, failures = fetch_names(listen, 4, source=src)
        assert not failures and len(counts) == 1, (src, counts)   # sticky
        owner[src] = next(iter(counts))
    assert len(set(owner.values())) >= 2, owner                     # and spread
    victim = owner[sources[0]]
    bs[int(victim[1]) - 1].stop()
    for src in sources:
        name = fetch_name(listen, source=src)
        if owner[src] == victim:
            assert name != victim
        else:
            assert name == owner[src], (src, owner[src], name)      # others do not move


# ---------------------------------------------------------------------------------------------
# Relay: half-close, integrity, idle timeout

def test_half_close_client_first(buoy, backend):
    """Client sends its request and shuts down writing; the server's full answer still arrives."""
    srv = backend("127.0.0.2:0", mode="stream")
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port]))
    n = 8 * 1024 * 1024 + 13
    with connect(listen, timeout=10) as s:
        s.sendall(b"%d 3\n" % n)
        s.shutdown(socket.SHUT_WR)
        time.sleep(0.2)               # the FIN reaches the backend before it answers
        h = hashlib.sha256()
        got = 0
        while True:
            c = s.recv(CHUNK)
            if not c:
                break
            got += len(c)
            h.update(c)
    assert got == n
    assert h.hexdigest() == stream_sha256(n, 3)


def test_half_close_server_first(buoy, backend):
    """Server sends and shuts down writing first; the client can still send it everything."""
    n = 4 * 1024 * 1024 + 1
    srv = backend("127.0.0.2:0", mode="sendfirst", nbytes=n)
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port]))
    with connect(listen, timeout=10) as s:
        h = hashlib.sha256()
        got = 0
        while True:
            c = s.recv(CHUNK)
            if not c:
                break
            got += len(c)
            h.update(c)
        assert got == n and h.hexdigest() == stream_sha256(n, 1)
        time.sleep(0.2)
        for c in stream_chunks(n, 9):         # after the server's FIN
            s.sendall(c)
        s.shutdown(socket.SHUT_WR)
        assert closed_by_peer(s, 5)           # both directions done -> connection ends
    netns.wait_until(lambda: srv.results, timeout=5, msg="server saw client's EOF")
    _, count, sha = srv.results[0]
    assert count == n and sha == stream_sha256(n, 9)


def test_1gib_both_ways_integrity(buoy, backend):
    """1 GiB up and 1 GiB down at once through an echo server; sha256 on both sides."""
    srv = backend("127.0.0.2:0", mode="echo")
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port]))
    total = 1 << 30
    sent_hash, recv_hash = hashlib.sha256(), hashlib.sha256()
    errors = []
    t0 = time.monotonic()
    s = connect(listen, timeout=30)

    def sender():
        try:
            for c in stream_chunks(total, 11):
                s.sendall(c)
                sent_hash.update(c)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    buf = bytearray(CHUNK)
    mv = memoryview(buf)
    got = 0
    try:
        while time.monotonic() - t0 < 120:
            k = s.recv_into(buf)
            if not k:
                break
            got += k
            recv_hash.update(mv[:k])
    finally:
        s.close()
        t.join(5)
    took = time.monotonic() - t0
    assert not errors, errors
    assert got == total, "received %d of %d bytes in %.1fs" % (got, total, took)
    assert recv_hash.hexdigest() == sent_hash.hexdigest()
    print("1 GiB each way in %.1fs (%.0f MiB/s per direction)" % (took, 1024 / took))


def test_idle_timeout_closes_idle_connection_only(buoy, backend):
    srv = backend("127.0.0.2:0", mode="echo")
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port], backend={"idle_timeout": "1s"}))
    busy = connect(listen)
    idle = connect(listen)
    try:
        assert echo_roundtrip(busy) and echo_roundtrip(idle)
        t0 = time.monotonic()
        closed_at = None
        # Keep `busy` talking every 300 ms for 2.5 s; `idle` must be closed at ~1 s.
        while time.monotonic() - t0 < 2.5:
            assert echo_roundtrip(busy), "an active connection was closed"
            if closed_at is None and closed_by_peer(idle, 0.3):
                closed_at = time.monotonic() - t0
        assert closed_at is not None, "idle connection still open after 2.5s"
        assert 0.7 <= closed_at <= 2.2, closed_at
        assert echo_roundtrip(busy)
    finally:
        busy.close()
        idle.close()


# ---------------------------------------------------------------------------------------------
# Limits: per-server max_conns + queue, global max_conns

def test_max_conns_full_server_skipped_then_queue(buoy, backend):
    a = backend("127.0.0.2:0", mode="echo")
    b = backend("127.0.0.3:0", mode="echo")
    listen = lb_addr()
    start_lb(buoy, config(listen, [{"address": "127.0.0.2:%d" % a.port, "max_conns": 1},
                                   {"address": "127.0.0.3:%d" % b.port, "max_conns": 2}],
                          backend={"queue_timeout": "3s"}))
    held = []
    try:
        for _ in range(3):
            s = connect(listen)
            held.append(s)
            assert echo_roundtrip(s)
        assert (a.active, b.active) == (1, 2)        # a full server is skipped
        waiting = connect(listen)
        held.append(waiting)
        waiting.sendall(b"queued\n")                  # bytes sent while queued are kept
        time.sleep(0.5)
        assert a.accepted + b.accepted == 3, "a 4th connection got past max_conns"
        held[0].close()                               # a slot frees up
        waiting.settimeout(3)
        assert waiting.recv(64) == b"queued\n"
        assert a.accepted + b.accepted == 4
    finally:
        for s in held:
            s.close()


def test_queue_timeout_closes_waiting_connection(buoy, backend):
    a = backend("127.0.0.2:0", mode="echo")
    listen = lb_addr()
    start_lb(buoy, config(listen, [{"address": "127.0.0.2:%d" % a.port, "max_conns": 1}],
                          backend={"queue_timeout": "500ms"}))
    with connect(listen) as first:
        assert echo_roundtrip(first)
        with connect(listen) as waiting:
            t0 = time.monotonic()
            assert closed_by_peer(waiting, 3), "queued connection never closed"
            took = time.monotonic() - t0
            assert 0.3 <= took <= 2.0, took
        assert a.accepted == 1
        assert echo_roundtrip(first)


def test_max_queue_rejects_beyond_the_cap_at_once(buoy, backend):
    a = backend("127.0.0.2:0", mode="echo")
    listen = lb_addr()
    lb = start_lb(buoy, config(listen, [{"address": "127.0.0.2:%d" % a.port, "max_conns": 1}],
                               backend={"queue_timeout": "10s", "max_queue": 1}))
    with connect(listen) as first:
        assert echo_roundtrip(first)
        with connect(listen) as waiting:
            waiting.sendall(b"queued\n")
            time.sleep(0.3)                            # in the queue: 1 of max_queue 1
            with connect(listen) as over:
                t0 = time.monotonic()
                assert closed_by_peer(over, 3), "a connection beyond max_queue was not closed"
                assert time.monotonic() - t0 < 2.0    # at once, not after queue_timeout
            be = status_json(lb)["backends"][0]
            assert be["queue_full_total"] == 1, be
            assert be["queue_length"] == 1, be
            assert be["queue_timeouts_total"] == 0, be
            li = status_json(lb)["listeners"][0]
            assert li["rejected_total"] == 1, li
            first.close()                               # the queued one gets the slot
            waiting.settimeout(3)
            assert waiting.recv(64) == b"queued\n"
    assert a.accepted == 2


def test_global_max_conns_stops_accepting(buoy, backend):
    srv = backend("127.0.0.2:0", mode="echo")
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port], top={"max_conns": 2}))
    held = []
    try:
        for _ in range(2):
            s = connect(listen)
            held.append(s)
            assert echo_roundtrip(s)
        extra = connect(listen)        # the kernel may complete the handshake (backlog) ...
        held.append(extra)
        extra.sendall(b"third\n")
        extra.settimeout(0.6)
        with pytest.raises(socket.timeout):
            extra.recv(64)             # ... but buoy does not serve it
        assert srv.accepted == 2
        held[0].close()
        extra.settimeout(3)
        assert extra.recv(64) == b"third\n"
        assert srv.accepted == 3
    finally:
        for s in held:
            s.close()


# ---------------------------------------------------------------------------------------------
# Graceful shutdown

def test_sigterm_lets_inflight_transfer_finish(buoy, backend):
    srv = backend("127.0.0.2:0", mode="stream")
    listen = lb_addr()
    lbp = start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port],
                                top={"shutdown_grace": "10s"}))
    n = 64 * 1024 * 1024 + 3
    s = connect(listen, timeout=10)
    try:
        s.sendall(b"%d 5\n" % n)
        h = hashlib.sha256()
        first = s.recv(65536)
        got = len(first)
        h.update(first)
        t_term = time.monotonic()
        lbp.send_signal(15)
        # New connections are refused while the old one is still being served.
        netns.wait_until(lambda: _refused(listen), timeout=2, msg="listener closed after SIGTERM")
        time.sleep(0.3)
        assert lbp.alive(), "buoy exited with a transfer in flight"
        while True:
            c = s.recv(CHUNK)
            if not c:
                break
            got += len(c)
            h.update(c)
    finally:
        s.close()
    assert got == n and h.hexdigest() == stream_sha256(n, 5)
    rc = lbp.wait(timeout=10)
    assert rc == 0, lbp.log()
    assert time.monotonic() - t_term < 10


def _refused(addr):
    try:
        connect(addr, timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def test_shutdown_grace_expires(buoy, backend):
    srv = backend("127.0.0.2:0", mode="echo")
    listen = lb_addr()
    lbp = start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port],
                                top={"shutdown_grace": "1s"}))
    with connect(listen) as s:
        assert echo_roundtrip(s)
        t0 = time.monotonic()
        lbp.send_signal(15)
        rc = lbp.wait(timeout=6)
        took = time.monotonic() - t0
        assert rc == 0, lbp.log()
        assert 0.8 <= took <= 4, took
        assert closed_by_peer(s, 2)


# ---------------------------------------------------------------------------------------------
# IPv6, FREEBIND, cut links (namespaces)

def test_ipv6_loopback_listener_and_backend(buoy, backend):
    try:
        srv = backend("[::1]:0", name="v6")
    except OSError:
        pytest.skip("no IPv6 on loopback")
    srv4 = backend("127.0.0.2:0", name="v4")
    listen = lb_addr("::1")
    listen4 = lb_addr()
    start_lb(buoy, config(listen, ["[::1]:%d" % srv.port, "127.0.0.2:%d" % srv4.port],
                          listeners=[listen4]))
    c6, f6 = fetch_names(listen, 10)
    c4, f4 = fetch_names(listen4, 10)
    assert not f6 and not f4
    assert c6["v6"] > 0 and c6["v4"] > 0 and c4["v6"] > 0, (c6, c4)


def test_namespaces_freebind_vip_ipv6_and_cut_backend_link(topo, buoy):
    """buoy binds a VIP (v4 and v6) that is not yet on any interface (FREEBIND), serves once the
    address appears, and keeps serving when a backend's cable is cut (connect timeout -> retry)."""
    lb = topo.add_host("lb", ipv6=True)
    client = topo.add_host("client", ipv6=True)
    api1 = topo.add_host("api1", ipv6=True)
    api2 = topo.add_host("api2", ipv6=True)
    api1.start_backend("[%s]:6443" % api1.ipv6, name="api1")
    api2.start_backend("[%s]:6443" % api2.ipv6, name="api2")
    vip4, vip6 = "198.18.0.100", "2001:db8::100"
    yaml_text = config("%s:6443" % vip4, ["[%s]:6443" % api1.ipv6, "[%s]:6443" % api2.ipv6],
                       listeners=["[%s]:6443" % vip6],
                       backend={"connect_timeout": "300ms", "fail_timeout": "30s"})
    buoy(yaml_text, ns=lb).wait_started()
    lb.run(["ip", "addr", "add", vip4 + "/24", "dev", "eth0"])
    lb.run(["ip", "addr", "add", vip6 + "/64", "dev", "eth0", "nodad"])

    def names(addr, n):
        r = client.run([netns.PYTHON, os.path.join(netns.HELPERS, "client.py"), "names",
                        addr, str(n), "--timeout", "3"], timeout=60)
        return json.loads(r.stdout)

    r = names("%s:6443" % vip4, 10)
    assert r["failures"] == 0 and set(r["names"]) == {"api1", "api2"}, r
    r = names("[%s]:6443" % vip6, 10)
    assert r["failures"] == 0 and set(r["names"]) == {"api1", "api2"}, r
    topo.link_down("api1")
    r = names("%s:6443" % vip4, 20)
    assert r["failures"] == 0, r
    assert r["names"] == {"api2": 20}, r
    assert r["seconds"] < 5, r          # one 300 ms connect timeout, then api1 is skipped


# ---------------------------------------------------------------------------------------------
# CLI: check / version / help

GOOD = """\
listeners:
  - { name: api, bind: "127.0.0.1:16443", backend: apis }
backends:
  - name: apis
    servers:
      - { address: "127.0.0.2:6443" }
"""

BAD = {
    # name: (yaml, line of the error)
    "unknown_key": ("""\
listeners:
  - { name: api, bind: "127.0.0.1:16443", backend: apis }
  - { name: api2, bind: "127.0.0.1:16444", backend: apis, colour: blue }
backends:
  - name: apis
    servers:
      - { address: "127.0.0.2:6443" }
""", 3),
    "bad_address": ("""\
listeners:
  - { name: api, bind: "127.0.0.1:16443", backend: apis }
backends:
  - name: apis
    servers:
      - { address: "127.0.0.2:6443" }
      - { address: "300.1.2.3:6443" }
""", 7),
    "duration_without_unit": ("""\
listeners:
  - { name: api, bind: "127.0.0.1:16443", backend: apis }
backends:
  - name: apis
    connect_timeout: 5
    servers:
      - { address: "127.0.0.2:6443" }
""", 5),
    "missing_backend": ("""\
listeners:
  - { name: api, bind: "127.0.0.1:16443", backend: nosuch }
backends:
  - name: apis
    servers:
      - { address: "127.0.0.2:6443" }
""", 2),
}


def test_check_good_config(buoy_bin, workdir):
    rc, out, err, path = netns.buoy_check(GOOD, workdir)
    assert rc == 0, err
    assert len(out.strip().splitlines()) == 1 and "ok" in out, out


@pytest.mark.parametrize("case", sorted(BAD))
def test_check_bad_config_reports_file_line_col(buoy_bin, workdir, case):
    text, line = BAD[case]
    rc, out, err, path = netns.buoy_check(text, workdir, name=case)
    assert rc == 1, (out, err)
    errs = [e for e in err.splitlines() if e.strip()]
    assert errs, "no error printed"
    rx = re.compile(r"^%s:(\d+):(\d+): \S" % re.escape(path))
    for e in errs:
        assert rx.match(e), "not FILE:LINE:COL: message: %r" % e
    lines = [int(rx.match(e).group(1)) for e in errs]
    assert line in lines, "expected an error on line %d, got %s" % (line, errs)


def test_check_reports_every_error(buoy_bin, workdir):
    text = BAD["unknown_key"][0].replace('"127.0.0.2:6443"', '"300.1.2.3:6443"')
    rc, out, err, path = netns.buoy_check(text, workdir, name="two")
    assert rc == 1
    assert len([e for e in err.splitlines() if e.startswith(path + ":")]) >= 2, err


def test_version_and_help(buoy_bin):
    r = subprocess.run([buoy_bin, "version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("buoy ")
    r = subprocess.run([buoy_bin, "help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "run" in r.stdout and "check" in r.stdout
    r = subprocess.run([buoy_bin, "frobnicate"], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0


# ---------------------------------------------------------------------------------------------
# Odds and ends of the relay

def test_all_servers_down_client_closed_promptly(buoy, backend):
    dead = ["127.0.0.%d:%d" % (2 + i, free_port("127.0.0.%d" % (2 + i))) for i in range(2)]
    listen = lb_addr()
    lbp = start_lb(buoy, config(listen, dead, backend={"connect_timeout": "500ms"}))
    for _ in range(3):
        with connect(listen) as s:
            t0 = time.monotonic()
            assert closed_by_peer(s, 3), "client left hanging with no server up"
            assert time.monotonic() - t0 < 2.5
    assert lbp.alive()


def test_tcp_keepalive_on_both_sides(buoy, backend):
    srv = backend("127.0.0.2:0", mode="echo")
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port]))
    lport = int(listen.rsplit(":", 1)[1])
    def ours():
        r = netns.sh(["ss", "-tno", "state", "established",
                      "( sport = :%d or dport = :%d )" % (lport, srv.port)])
        # The filter selects exactly buoy's two sockets: the accepted one (local port = the
        # listener's) and the one to the server (peer port = the server's). Test sockets don't
        # enable keepalive, so a timer there is buoy's doing.
        return [row for row in r.stdout.splitlines()[1:] if row.strip()]

    with connect(listen) as s:
        assert echo_roundtrip(s)
        rows = ours()
        assert len(rows) == 2, rows
        # the client side inherits it from the listener at once; the server side gets it from
        # the worker's sweep (every 5 s), so that short connections never pay for it
        assert any("keepalive" in row for row in rows), rows
        netns.wait_until(lambda: all("keepalive" in row for row in ours()), timeout=8,
                         msg="keepalive on the server socket")
        # timed from the last segment, as if set at connect: 60 s idle minus the time since
        for row in ours():
            left = re.search(r"timer:\(keepalive,(?:(\d+)min)?([\d.]+)(m?s)ec", row)
            assert left, row
            secs = int(left.group(1) or 0) * 60 + float(left.group(2)) / (
                1000 if left.group(3) == "ms" else 1)
            assert 45 <= secs <= 60, row


def test_log_lines_are_logfmt(buoy, backend):
    srv = backend("127.0.0.2:0")
    listen = lb_addr()
    lbp = start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port]))
    fetch_names(listen, 3)
    lbp.terminate_and_wait(5)
    rx = re.compile(r'^ts=\S+ level=(debug|info|warn|error)\w* msg="[^"]*"( [a-z_0-9.]+=("[^"]*"|\S+))*$')
    lines = [x for x in lbp.log().splitlines() if x.strip()]
    assert lines
    bad = [x for x in lines if not rx.match(x)]
    assert not bad, bad[:5]


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def _exhaust_fds(buoy, backend, nclients=400):
    """buoy with RLIMIT_NOFILE 256 and nclients held connections. Returns (lb, clients, srv)."""
    srv = backend("127.0.0.2:0", mode="echo")
    listen = lb_addr()
    lbp = start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port]))
    lbp.listen = listen
    netns.sh(["prlimit", "--pid", str(lbp.pid), "--nofile=256:256"])
    clients = []
    for _ in range(nclients):
        try:
            clients.append(connect(listen, timeout=0.3))
        except OSError:
            pass
    netns.wait_until(lambda: "Too many open files" in lbp.log(), timeout=3,
                     msg="EMFILE reached")
    return lbp, clients, srv


def test_fd_exhaustion_no_busy_loop_and_recovery(buoy, backend):
    """RLIMIT_NOFILE 256 and 400 clients: buoy runs out of fds (accept or the socket toward the
    server). It must not spin or flood the log about accept, the connections it holds keep
    working, and it serves again once clients leave."""
    lbp, clients, srv = _exhaust_fds(buoy, backend)
    try:
        c0 = _cpu_seconds(lbp.pid)
        t0 = time.monotonic()
        time.sleep(2.0)
        cpu = (_cpu_seconds(lbp.pid) - c0) / (time.monotonic() - t0)
        assert cpu < 0.25, "buoy burns %.0f%% CPU while out of fds (accept busy-loop?)" % (cpu * 100)
        paused = [x for x in lbp.log().splitlines() if 'msg="accept' in x]
        assert len(paused) <= 2 * 4, "accept trouble logged %d times in ~2.5s" % len(paused)
        assert lbp.alive()
        proxied = srv.active
        held = clients[:proxied]
        assert held and all(echo_roundtrip(s) for s in held[:20]), "held connections broken"
    finally:
        for s in clients:
            s.close()
    t1 = time.monotonic()
    netns.wait_until(lambda: _echo_once(lbp.listen), timeout=15, interval=0.2, msg="served again")
    print("held %d clients (%d proxied); cpu while exhausted %.1f%%; served again after %.1fs"
          % (len(clients), proxied, cpu * 100, time.monotonic() - t1))


def test_local_fd_exhaustion_does_not_mark_servers_down(buoy, backend):
    """Running out of our own fds says nothing about the server: it must stay up, so service
    resumes as soon as fds are free (not after fail_timeout)."""
    lbp, clients, srv = _exhaust_fds(buoy, backend)
    for s in clients:
        s.close()
    assert "server down" not in lbp.log(), [x for x in lbp.log().splitlines()
                                            if "server down" in x]


def _echo_once(addr):
    with connect(addr, timeout=1) as s:
        return echo_roundtrip(s, timeout=1)


def test_small_writes_into_a_slow_reader_lose_nothing(buoy, backend):
    """Small writes (the recv/send path) while the other side does not read: what buoy cannot
    send at once must be kept, both ways."""
    up = backend("127.0.0.2:0", mode="sink", delay=1.0)
    down = backend("127.0.0.3:0", mode="stream", write_size=700)
    l_up, l_down = lb_addr(), lb_addr()
    start_lb(buoy, config(l_up, ["127.0.0.2:%d" % up.port]), name="up")
    start_lb(buoy, config(l_down, ["127.0.0.3:%d" % down.port]), name="down")
    n = 3 * 1024 * 1024 + 11
    with connect(l_up, timeout=15) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for c in stream_chunks(n, 21):
            for off in range(0, len(c), 1000):
                s.sendall(c[off:off + 1000])
        s.shutdown(socket.SHUT_WR)
        count, sha = read_all(s).split()
    assert int(count) == n and sha.decode() == stream_sha256(n, 21)
    with connect(l_down, timeout=15) as s:
        s.sendall(b"%d 22\n" % n)
        time.sleep(1.0)                       # let buoy's buffers toward us fill up
        h = hashlib.sha256()
        got = 0
        while True:
            c = s.recv(3000)                  # and read in small bites
            if not c:
                break
            got += len(c)
            h.update(c)
    assert got == n and h.hexdigest() == stream_sha256(n, 22)


def test_many_small_request_response_exchanges(buoy, backend):
    """Ping-pong of varied small sizes on one connection (the short-read path), content checked."""
    srv = backend("127.0.0.2:0", mode="echo")
    listen = lb_addr()
    start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port]))
    rnd = random.Random(5)
    with connect(listen, timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(2000):
            msg = rnd.randbytes(rnd.choice([1, 7, 100, 1460, 4000, 16384, 16385, 40000]))
            assert echo_roundtrip(s, msg), "exchange %d (%d bytes) corrupted" % (i, len(msg))


@pytest.mark.parametrize("workers", [1, 3])
def test_worker_counts(buoy, backend, workers):
    bs = [backend("127.0.0.%d:0" % (2 + i), name="t%d" % (i + 1)) for i in range(2)]
    listen = lb_addr()
    lbp = start_lb(buoy, config(listen, ["127.0.0.%d:%d" % (2 + i, b.port)
                                         for i, b in enumerate(bs)], top={"workers": workers}))
    assert "workers=%d" % workers in lbp.log()
    counts, failures = fetch_names(listen, 100)
    assert not failures and 35 <= counts["t1"] <= 65, counts


def test_idle_connections_hold_no_pipes(buoy, backend):
    """After a bulk transfer, an idle proxied connection costs its two sockets and nothing else
    (splice pipes are taken per transfer and given back)."""
    srv = backend("127.0.0.2:0", mode="echo")
    listen = lb_addr()
    lbp = start_lb(buoy, config(listen, ["127.0.0.2:%d" % srv.port]))
    base = len(os.listdir("/proc/%d/fd" % lbp.pid))
    conns = []
    try:
        blob = bytes(range(256)) * 4096                  # 1 MiB: takes the splice path
        for _ in range(40):
            s = connect(listen, timeout=10)
            conns.append(s)
            assert echo_roundtrip(s, blob, timeout=10)
        time.sleep(0.2)
        fds = len(os.listdir("/proc/%d/fd" % lbp.pid))
        extra = fds - base - 2 * len(conns)
        # a small per-worker pipe cache is fine; a pipe pair per idle connection is not
        assert extra <= 16, "%d fds for %d idle connections (base %d)" % (fds, len(conns), base)
    finally:
        for s in conns:
            s.close()
