"""Failover rounds with one client of NEW TCP connections (bench/failover.py's "new
connections" table): BGP anycast with BFD, BGP without BFD (the hold timer), and VRRP, each
with the same client, the same backend and the same two faults (SIGKILL of a load balancer's
buoy, and its link blackholed with carrier up).

BGP: router rt (FRR, ECMP, L4 hashing) with lb1 and lb2 on point-to-point uplinks and the
client behind it; both LBs announce 198.18.200.1/32 and proxy :6443 to api1 on a switch.
VRRP: lb1 (priority 150) and lb2 share 198.18.0.100 on the switch with the client and api1.
The client (tests/integration/helpers/conn_loop.py) opens a connection every ~10 ms and reads
the backend's name; what is measured is the longest time without a successful connection
around the fault, and the failed connections (the dead node's share).
"""
import os
import signal
import sys
import textwrap
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import netns  # noqa: E402
from helpers.conn_loop import ConnLoop  # noqa: E402
from helpers.frr import Frr, bfdd_conf, bgpd_conf, wait_nexthops  # noqa: E402

VIP = "198.18.200.1"
VRRP_VIP = "198.18.0.100"
API = "198.18.0.21"
SECONDS = 8.0
FAULT_AT = 2.0
CONNECT_TIMEOUT = 0.3


def uplink(n):
    return ("198.18.1.%d" % (2 * n - 1), "198.18.1.%d" % (2 * n - 2))


def lb_bgp_yaml(n, run_dir, bfd):
    l4, r4 = uplink(n)
    return textwrap.dedent("""\
        node: lb%(n)d
        listeners: [ { name: api, bind: "%(vip)s:6443", backend: api } ]
        backends:
          - name: api
            health: { type: tcp, interval: 200ms, timeout: 200ms }
            servers: [ { address: "%(api)s:6443" } ]
        bgp:
          asn: 65001
          router_id: %(l4)s
          hold_time: 9s
          run_dir: %(run_dir)s
          bfd: { interval: 100ms, multiplier: 3 }
          peers: [ { name: rt, address: %(r4)s, asn: 65000, bfd: %(bfd)s } ]
          announce: [ { prefix: %(vip)s/32 } ]
        """) % dict(n=n, vip=VIP, api=API, l4=l4, r4=r4, run_dir=run_dir,
                    bfd="true" if bfd else "false")


def lb_vrrp_yaml(n, prio):
    return textwrap.dedent("""\
        node: lb%(n)d
        vrrp:
          - { name: apiserver, interface: eth0, router_id: 51, priority: %(prio)d,
              virtual_ips: [%(vip)s/24] }
        listeners: [ { name: api, bind: "%(vip)s:6443", backend: api } ]
        backends:
          - name: api
            health: { type: tcp, interval: 200ms, timeout: 200ms }
            servers: [ { address: "%(api)s:6443" } ]
        """) % dict(n=n, prio=prio, vip=VRRP_VIP, api=API)


def _measure(client_ns, vip, fault, seconds=SECONDS):
    # a connection whose SYN went into a black hole counts as failed after CONNECT_TIMEOUT:
    # the gap includes that much for any lost SYN
    loop = ConnLoop(client_ns, "%s:6443" % vip, seconds=seconds, tls=False, pause_ms=10,
                    timeout=CONNECT_TIMEOUT).start()
    time.sleep(FAULT_AT)
    fault()
    return loop.result()


def _watch_route(rt, prefix, out):
    """In a thread: seconds from now until prefix has one next hop left (None: never)."""
    def run():
        try:
            out.append(wait_nexthops(rt, prefix, n=1, timeout=15, interval=0.01)[0])
        except AssertionError:
            out.append(None)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def bgp_round(bfd, fault):
    """One round; returns (gap_s, failed, attempts, route_gone_s) or None."""
    topo = netns.Topology()
    try:
        rt = topo.add_node("rt")
        rt.enable_forwarding()
        cl = topo.add_node("client")
        topo.add_link(rt, cl, ["198.18.2.1/24"], ["198.18.2.2/24"])
        cl.add_route("default", "198.18.2.1")
        api = topo.add_host("api1", ipv4=API)
        api.start_backend("%s:6443" % API, mode="name", name="api1")
        lbs, buoys, links = {}, {}, {}
        for n in (1, 2):
            ns = lbs[n] = topo.add_host("lb%d" % n, ipv4="198.18.0.%d" % (10 + n))
            l4, r4 = uplink(n)
            links[n] = topo.add_link(ns, rt, [l4 + "/31"], [r4 + "/31"])
            ns.add_route("198.18.2.0/24", r4)
        frr = Frr(rt, topo.workdir,
                  bgpd_conf(65000, "198.18.1.0", [(uplink(n)[0], 65001) for n in (1, 2)],
                            bfd_profile="fast" if bfd else None),
                  bfdd_conf(interval_ms=100, multiplier=3)).start()
        try:
            for n in (1, 2):
                buoys[n] = lbs[n].start_buoy(
                    lb_bgp_yaml(n, os.path.join(topo.workdir, "bird-lb%d" % n), bfd))
            wait_nexthops(rt, VIP + "/32", n=2, timeout=40)
            time.sleep(1.0)
            gone, watch = [], []

            def do_fault():
                if fault == "kill":
                    buoys[1].send_signal(signal.SIGKILL)
                else:
                    rt.drop_dev("to-lb1")
                watch.append(_watch_route(rt, VIP + "/32", gone))
            r = _measure(cl, VIP, do_fault, seconds=SECONDS if bfd else 15.0)
            watch[0].join(timeout=20)
            return r["max_gap"], r["fail"], r["attempts"], gone[0] if gone else None
        finally:
            frr.stop()
    finally:
        topo.cleanup()


def vrrp_round(fault):
    topo = netns.Topology()
    try:
        lb1, lb2 = topo.add_host("lb1"), topo.add_host("lb2")
        cl = topo.add_host("client")
        api = topo.add_host("api1", ipv4=API)
        api.start_backend("%s:6443" % API, mode="name", name="api1")
        b1 = lb1.start_buoy(lb_vrrp_yaml(1, 150))
        lb2.start_buoy(lb_vrrp_yaml(2, 100))
        netns.wait_until(lambda: lb1.has_address(VRRP_VIP) and not lb2.has_address(VRRP_VIP),
                         timeout=15, interval=0.05, msg="lb1 holds the VIP")
        time.sleep(1.0)

        def do_fault():
            if fault == "kill":
                b1.send_signal(signal.SIGKILL)
            else:
                topo.isolate("lb1")
        r = _measure(cl, VRRP_VIP, do_fault)
        return r["max_gap"], r["fail"], r["attempts"], None
    finally:
        topo.cleanup()


CASES = [("bgp+bfd", "kill"), ("bgp+bfd", "link"), ("bgp, no bfd", "kill"),
         ("bgp, no bfd", "link"), ("vrrp", "kill"), ("vrrp", "link")]


def run_case(kind, fault):
    if kind == "vrrp":
        return vrrp_round(fault)
    return bgp_round(kind == "bgp+bfd", fault)
