"""Self-test of the topology library: namespaces, cables, backends, teardown leaves nothing."""
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


def test_drop_protocol_on_a_cable(topo):
    a = topo.add_host("a", ipv6=True)
    b = topo.add_host("b", ipv6=True)
    a.run(["ping", "-c1", "-W2", b.ipv4])
    topo.drop("b", "icmp")
    assert a.run(["ping", "-c1", "-W1", b.ipv4], check=False).returncode != 0
    assert a.run(["ping", "-6", "-c1", "-W1", b.ipv6], check=False).returncode != 0
    topo.undrop("b")
    a.run(["ping", "-c1", "-W2", b.ipv4])
    topo.drop("b", "icmp", direction="to")
    assert a.run(["ping", "-c1", "-W1", b.ipv4], check=False).returncode != 0
    topo.undrop("b")
    a.run(["ping", "-c1", "-W2", b.ipv4])
    assert a.neigh(b.ipv4) == b.mac()


KEEPALIVED_CONF = """
global_defs { router_id %(name)s }
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority %(prio)d
    advert_int 1
    virtual_ipaddress { 198.18.0.100/24 }
}
"""


def test_keepalived_pair_and_vrrp_drop(topo):
    """Multicast VRRP crosses the bridge (one master); dropping VRRP on a cable splits the brain."""
    import shutil
    if not shutil.which("keepalived"):
        pytest.skip("keepalived not installed")
    a = topo.add_host("a")
    b = topo.add_host("b")
    ka = a.start_keepalived(KEEPALIVED_CONF % {"name": "a", "prio": 150})
    kb = b.start_keepalived(KEEPALIVED_CONF % {"name": "b", "prio": 100})
    vip = "198.18.0.100"
    netns.wait_until(lambda: a.has_address(vip), timeout=8, msg="a (higher) becomes master")
    time.sleep(1.5)
    assert not b.has_address(vip), "b took the VIP although it hears a"
    topo.drop("a", "vrrp")
    netns.wait_until(lambda: b.has_address(vip), timeout=8, msg="b master once VRRP is dropped")
    assert a.has_address(vip)                       # split brain, as intended
    topo.undrop("a")
    netns.wait_until(lambda: not b.has_address(vip), timeout=8, msg="b backs off after heal")
    assert a.has_address(vip)
    ka.stop()
    kb.stop()


def test_drop_everything_and_tcp(topo):
    a = topo.add_host("a")
    b = topo.add_host("b")
    srv = b.start_backend("%s:7000" % b.ipv4, name="b")
    code = ("import socket\ns=socket.create_connection(('%s',7000),timeout=1)\n"
            "print(s.makefile().read().strip())" % b.ipv4)
    assert a.python(code).stdout.strip() == "b"
    topo.drop("b", "tcp")
    assert a.python(code, check=False).returncode != 0
    a.run(["ping", "-c1", "-W2", b.ipv4])              # only tcp is dropped
    topo.drop("a", "all", direction="from")
    assert a.run(["ping", "-c1", "-W1", b.ipv4], check=False).returncode != 0
    topo.undrop("a")
    topo.undrop("b")
    assert a.python(code).stdout.strip() == "b"
    assert srv.alive()
