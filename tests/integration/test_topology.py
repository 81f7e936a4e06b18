"""Self-test of the topology library: namespaces, cables, backends, teardown leaves nothing."""
import os
import socket
import time

import pytest

import netns
from helpers.backend import Backend, stream_sha256


def test_two_hosts_ping_and_cable_cut(topo):
    a = topo.add_host("a", ipv6=True)
    b = topo.add_host("b", ipv6=True)
    assert a.ipv4 == "198.18.0.1" and b.ipv4 == "198.18.0.2"
    a.run(["ping", "-c1", "-W2", b.ipv4])
    a.run(["ping", "-6", "-c1", "-W2", b.ipv6])      # no DAD wait: usable at once
    topo.link_down("b")
    assert a.run(["ping", "-c1", "-W1", b.ipv4], check=False).returncode != 0
    netns.wait_until(lambda: "NO-CARRIER" in b.run(["ip", "link", "show", "eth0"]).stdout,
                     timeout=3, msg="b sees carrier loss")
    topo.link_up("b")
    netns.wait_until(lambda: a.run(["ping", "-c1", "-W1", b.ipv4], check=False).returncode == 0,
                     timeout=5, msg="ping after link_up")
    topo.isolate("b")
    assert a.run(["ping", "-c1", "-W1", b.ipv4], check=False).returncode != 0
    topo.rejoin("b")
    netns.wait_until(lambda: a.run(["ping", "-c1", "-W1", b.ipv4], check=False).returncode == 0,
                     timeout=5, msg="ping after rejoin")


def test_backend_process_in_namespace_and_popen_tracked(topo):
    c = topo.add_host("client")
    s = topo.add_host("srv")
    srv = s.start_backend("%s:7000" % s.ipv4, mode="name", name="srv1")
    out = c.python("import socket\ns=socket.create_connection(('%s',7000),timeout=2)\n"
                   "print(s.makefile().read().strip())" % s.ipv4).stdout.strip()
    assert out == "srv1"
    sleeper = c.popen(["sleep", "60"])
    assert sleeper.alive()
    names = [s.name, c.name, topo.switch.name]
    topo.cleanup()
    assert not sleeper.alive() and not srv.alive()
    left = netns.list_namespaces(netns.PREFIX)
    assert not any(n in left for n in names), left


def test_stream_helpers_loopback():
    sink = Backend("127.0.0.1:0", mode="sink").start()
    try:
        with socket.create_connection(("127.0.0.1", sink.port)) as s:
            from helpers.backend import stream_chunks
            for ch in stream_chunks(3 * 1024 * 1024 + 5, 7):
                s.sendall(ch)
            s.shutdown(socket.SHUT_WR)
            n, sha = s.makefile().read().split()
        assert int(n) == 3 * 1024 * 1024 + 5
        assert sha == stream_sha256(3 * 1024 * 1024 + 5, 7)
    finally:
        sink.stop()


def test_wait_until_times_out():
    t0 = time.monotonic()
    with pytest.raises(AssertionError):
        netns.wait_until(lambda: False, timeout=0.2, msg="never")
    assert time.monotonic() - t0 < 1.0
    assert netns.wait_until(lambda: 42, timeout=0.2) == 42


def test_addresses_outside_test_ranges_refused(topo):
    with pytest.raises(ValueError):
        topo.add_host("bad", ipv4="10.0.0.1/24")
