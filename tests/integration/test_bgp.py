"""Active/active by BGP anycast (issue 14), in network namespaces.

One routed topology shared by the module (to keep CI lean): an upstream router `rt` running FRR
(zebra + bgpd + bfdd, a routing daemon that is not the one under test) with ECMP and L4
hashing; three load balancers lb1..lb3, each with a point-to-point uplink to rt (eBGP + BFD over
IPv4 and IPv6) and a leg on the backend switch; three nginx TLS apiserver stand-ins; a client
network behind rt. Every LB runs buoy, whose BIRD child announces 198.18.200.1/32 and
2001:db8:200::1/128. On lb1 another program already holds TCP :179 (a host's own BGP speaker),
so lb1's buoy uses listen_port 1179.

The tests run in file order on the shared topology; each one leaves it as it found it (three
LBs announcing). Timing assertions are generous bounds (2 loaded cores); measured values are
printed (pytest -s).
"""
import json
import os
import subprocess
import textwrap
import time

import pytest

import netns
from helpers.apiserver import Nginx, make_ca, issue_server
from helpers.frr import Frr, need_frr

VIP4 = "198.18.200.1"
VIP6 = "2001:db8:200::1"
APIS = {"api1": "198.18.0.21", "api2": "198.18.0.22", "api3": "198.18.0.23"}
LBS = ("lb1", "lb2", "lb3")

pytestmark = pytest.mark.usefixtures("root")


def uplink(n):
    """(lb side, rt side) addresses of lbN's uplink."""
    return (("198.18.1.%d" % (2 * n - 1), "2001:db8:1:%d::2" % n),
            ("198.18.1.%d" % (2 * n - 2), "2001:db8:1:%d::1" % n))


def frr_conf():
    lines = ["frr defaults traditional", "hostname rt", "!", "router bgp 65000",
             " bgp router-id 198.18.1.0", " no bgp ebgp-requires-policy",
             " bgp bestpath as-path multipath-relax"]
    for n in (1, 2, 3):
        (l4, l6), _ = uplink(n)
        for a in (l4, l6):
            lines += [" neighbor %s remote-as 65001" % a, " neighbor %s bfd profile fast" % a,
                      " neighbor %s timers 3 9" % a, " neighbor %s timers connect 1" % a]
    lines += [" address-family ipv4 unicast", "  maximum-paths 8", " exit-address-family",
              " address-family ipv6 unicast"]
    for n in (1, 2, 3):
        lines.append("  neighbor %s activate" % uplink(n)[0][1])
    lines += ["  maximum-paths 8", " exit-address-family"]
    lines += ["!", "bfd", " profile fast", "  receive-interval 100", "  transmit-interval 100",
              " exit", "!"]
    return "\n".join(lines) + "\n"


def buoy_yaml(n, run_dir, listen_port=179):
    (l4, l6), (r4, r6) = uplink(n)
    servers = "\n".join('      - { address: "%s:6443" }' % ip for ip in APIS.values())
    return textwrap.dedent("""\
        node: lb%(n)d
        listeners:
          - { name: apiserver, bind: "%(vip4)s:6443", backend: apiservers }
          - { name: apiserver6, bind: "[%(vip6)s]:6443", backend: apiservers }
        backends:
          - name: apiservers
            health: { type: https, path: /readyz, interval: 200ms, timeout: 500ms, rise: 2, fall: 2 }
            servers:
        %(servers)s
        bgp:
          asn: 65001
          router_id: %(l4)s
          listen_port: %(port)d
          hold_time: 9s
          hold_down: 1s
          shutdown_delay: 2s
          bfd: { interval: 100ms, multiplier: 3 }
          run_dir: %(run_dir)s
          peers:
            - { name: rt, address: %(r4)s, asn: 65000 }
            - { name: rt6, address: "%(r6)s", asn: 65000 }
          announce:
            - { prefix: %(vip4)s/32 }
            - { prefix: "%(vip6)s/128" }
        """) % dict(n=n, vip4=VIP4, vip6=VIP6, servers=servers, l4=l4, r4=r4, r6=r6, run_dir=run_dir, port=listen_port)


# A client inside the client namespace: new TLS connections to VIP:6443 (GET /name) for
# `seconds` or `count`, one at a time; prints a JSON summary with the success timestamps.
CLIENT = textwrap.dedent("""\
    import json, socket, ssl, sys, time
    host, port, count, seconds = sys.argv[1], 6443, int(sys.argv[2]), float(sys.argv[3])
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    ok, fail, names, stamps, errors = 0, 0, {}, [], []
    end = time.monotonic() + seconds
    while (count == 0 or ok + fail < count) and time.monotonic() < end:
        t = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=1.0) as s:
                with ctx.wrap_socket(s) as t_s:
                    t_s.sendall(b"GET /name HTTP/1.0\\r\\nHost: api\\r\\n\\r\\n")
                    data = b""
                    while True:
                        b = t_s.recv(4096)
                        if not b: break
                        data += b
            name = data.split(b"\\r\\n\\r\\n", 1)[-1].strip().decode()
            names[name] = names.get(name, 0) + 1
            ok += 1
            stamps.append(time.monotonic())
        except Exception as e:
            fail += 1
            if len(errors) < 10: errors.append("%.3f %r" % (t, e))
            time.sleep(0.01)
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    print(json.dumps({"ok": ok, "fail": fail, "names": names, "errors": errors,
                      "max_gap": max(gaps) if gaps else None}))
    """)


class Fabric:
    def __init__(self, topo, workdir):
        self.topo = topo
        self.workdir = workdir
        self.buoys = {}

    def status(self, lb):
        b = self.buoys[lb]
        r = subprocess.run([netns.buoy_bin(), "status", "--json", "--socket", b.socket_path],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stdout + r.stderr
        return json.loads(r.stdout)

    def accepted(self, lb):
        return sum(l["accepted_total"] for l in self.status(lb)["listeners"])

    def start_buoy(self, n):
        lb = "lb%d" % n
        run_dir = os.path.join(self.workdir, "bird-" + lb)
        b = self.topo[lb].start_buoy(buoy_yaml(n, run_dir, 1179 if n == 1 else 179),
                                     name="buoy-" + lb)
        b.wait_started(timeout=15)
        self.buoys[lb] = b
        return b

    def hops(self, vip=VIP4):
        return self.rt.nexthops(vip + ("/128" if ":" in vip else "/32"))

    def wait_hops(self, n, vip=VIP4, timeout=30):
        netns.wait_until(lambda: len(self.hops(vip)) == n, timeout=timeout, interval=0.05,
                         msg="%d next hops for %s (have %s)" % (n, vip, self.hops(vip)))

    def client(self, count, seconds, vip=VIP4):
        r = self.topo["client"].run([netns.PYTHON, "-c", CLIENT, vip, str(count), str(seconds)],
                                    timeout=seconds + 30)
        return json.loads(r.stdout)

    def client_bg(self, seconds, vip=VIP4):
        return self.topo["client"].popen([netns.PYTHON, "-c", CLIENT, vip, "0", str(seconds)],
                                         stdout=subprocess.PIPE, text=True)

    def uplink_drop(self, n, on=True):
        """Drop everything on rt's side of lbN's uplink (carrier stays up: only BFD or the
        hold timer can notice)."""
        rt, ifname = self.topo["rt"], "to-lb%d" % n
        if on:
            rt.run("nft add table inet buoyt && nft add chain inet buoyt c%d "
                   "'{ type filter hook prerouting priority -300; }' && "
                   "nft add rule inet buoyt c%d iifname %s drop" % (n, n, ifname))
        else:
            rt.run(["nft", "delete", "chain", "inet", "buoyt", "c%d" % n])


@pytest.fixture(scope="module")
def fabric(tmp_path_factory):
    if not netns.is_root():
        pytest.skip("needs root (network namespaces)")
    need_frr()
    if not os.access("/usr/sbin/bird", os.X_OK):
        pytest.skip("bird2 not installed (scripts/deps test)")
    workdir = str(tmp_path_factory.mktemp("bgp"))
    topo = netns.Topology(workdir)
    fab = None
    try:
        rt = topo.add_node("rt")
        for k in ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding",
                  "net.ipv4.fib_multipath_hash_policy", "net.ipv6.fib_multipath_hash_policy"):
            rt.sysctl(k, 1)
        cl = topo.add_node("client")
        topo.p2p("rt", "client", "to-client", "eth0", ["198.18.2.1/24", "2001:db8:2::1/64"],
                 ["198.18.2.2/24", "2001:db8:2::2/64"])
        cl.run("ip route add default via 198.18.2.1 && ip -6 route add default via 2001:db8:2::1")
        pki = os.path.join(workdir, "pki")
        make_ca(pki)
        crt, key = issue_server(pki, "server", list(APIS.values()))
        for name, ip in APIS.items():
            Nginx(topo.add_host(name, ipv4=ip), ip, name, crt, key, workdir)
        for n in (1, 2, 3):
            topo.add_host("lb%d" % n, ipv4="198.18.0.%d" % (10 + n))
            (l4, l6), (r4, r6) = uplink(n)
            topo.p2p("lb%d" % n, "rt", "up0", "to-lb%d" % n, [l4 + "/31", l6 + "/64"],
                     [r4 + "/31", r6 + "/64"])
            topo["lb%d" % n].run("ip route add 198.18.2.0/24 via %s && "
                                 "ip -6 route add 2001:db8:2::/64 via %s" % (r4, r6))
        fab = Fabric(topo, workdir)
        fab.rt = Frr(rt, workdir, frr_conf())
        # lb1: another BGP speaker already holds :179 in its namespace
        fab.other_speaker = topo["lb1"].popen(
            [netns.PYTHON, "-c", "import socket,time\ns=socket.socket()\n"
             "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',179))\n"
             "s.listen()\nprint('ready',flush=True)\ntime.sleep(600)"],
            stdout=subprocess.PIPE, text=True)
        assert fab.other_speaker.stdout.readline().startswith("ready")
        for n in (1, 2, 3):
            fab.start_buoy(n)
        fab.wait_hops(3, VIP4, timeout=40)
        fab.wait_hops(3, VIP6, timeout=40)
        yield fab
    finally:
        if fab and getattr(fab, "rt", None):
            fab.rt.stop()
        topo.cleanup()


def test_every_lb_announces_and_new_connections_spread(fabric):
    hops = fabric.hops(VIP4)
    assert hops == sorted(uplink(n)[0][0] for n in (1, 2, 3)), hops
    before = {lb: fabric.accepted(lb) for lb in LBS}
    r = fabric.client(300, 60)
    assert r["ok"] == 300 and r["fail"] == 0, r
    got = {lb: fabric.accepted(lb) - before[lb] for lb in LBS}
    print("connections per LB:", got, "per apiserver:", r["names"])
    assert sum(got.values()) == 300, got
    assert all(v >= 20 for v in got.values()), got       # ~100 each; ECMP hashing is not exact
    st = fabric.status("lb2")["bgp"]
    assert {p["name"]: p["up"] for p in st["peers"]} == {"rt": True, "rt6": True}, st
    assert all(p["bfd"] == "up" for p in st["peers"]), st
    assert all(a["announced"] for a in st["announce"]), st


def test_ipv6_vip_is_spread_too(fabric):
    before = {lb: fabric.accepted(lb) for lb in LBS}
    r = fabric.client(150, 60, vip=VIP6)
    assert r["ok"] == 150 and r["fail"] == 0, r
    got = {lb: fabric.accepted(lb) - before[lb] for lb in LBS}
    print("IPv6 connections per LB:", got)
    assert all(v >= 10 for v in got.values()), got


def test_coexists_with_another_speaker_on_179(fabric):
    lb1 = fabric.topo["lb1"]
    out = lb1.run(["ss", "-Htlnp", "sport", "=", ":179"]).stdout
    assert "python" in out and "bird" not in out, out
    assert uplink(1)[0][0] in fabric.hops(VIP4)
    assert "bird" in lb1.run(["ss", "-Htlnp", "sport", "=", ":1179"]).stdout


def test_lb_that_cannot_reach_a_backend_withdraws(fabric):
    fabric.topo.drop("lb3", "tcp")          # its leg on the backend switch: health checks fail
    try:
        t0 = time.monotonic()
        netns.wait_until(lambda: uplink(3)[0][0] not in fabric.hops(VIP4), timeout=10,
                         interval=0.05, msg="lb3 withdrawn")
        print("lb3 withdrawn %.2f s after its backends became unreachable" % (time.monotonic() - t0))
        assert len(fabric.hops(VIP4)) == 2
        ann = {a["prefix"]: a for a in fabric.status("lb3")["bgp"]["announce"]}
        assert not ann[VIP4 + "/32"]["announced"]
        assert "apiservers" in ann[VIP4 + "/32"]["reason"], ann
        r = fabric.client(60, 30)
        assert r["ok"] == 60 and r["fail"] == 0, r
    finally:
        fabric.topo.undrop("lb3")
    fabric.wait_hops(3, timeout=20)


def test_sigkilled_buoy_takes_its_route_down_at_once(fabric):
    bg = fabric.client_bg(8)
    time.sleep(2)
    bird_pid = fabric.status("lb2")["bgp"]["bird_pid"]
    assert bird_pid > 0
    t0 = time.monotonic()
    fabric.buoys["lb2"].kill()
    netns.wait_until(lambda: uplink(2)[0][0] not in fabric.hops(VIP4), timeout=5,
                     interval=0.01, msg="lb2's next hop gone")
    gone = time.monotonic() - t0
    out, _ = bg.p.communicate(timeout=30)
    r = json.loads(out)
    print("SIGKILL: next hop gone after %.3f s; client ok=%d fail=%d longest gap %.3f s"
          % (gone, r["ok"], r["fail"], r["max_gap"]))
    assert gone < 1.0
    assert r["max_gap"] < 2.0, r
    netns.wait_until(lambda: not os.path.exists("/proc/%d" % bird_pid), timeout=2,
                     msg="lb2's BIRD died with its buoy")
    fabric.start_buoy(2)
    fabric.wait_hops(3, timeout=30)


def test_link_cut_is_noticed_by_bfd(fabric):
    fabric.uplink_drop(1)
    try:
        t0 = time.monotonic()
        netns.wait_until(lambda: uplink(1)[0][0] not in fabric.hops(VIP4), timeout=10,
                         interval=0.01, msg="lb1's next hop gone")
        took = time.monotonic() - t0
        print("link cut: BFD removed lb1 after %.3f s" % took)
        assert took < 1.5
    finally:
        fabric.uplink_drop(1, on=False)
    fabric.wait_hops(3, timeout=30)


def test_sigterm_withdraws_before_stopping(fabric):
    bg = fabric.client_bg(6)
    time.sleep(1.5)
    b = fabric.buoys["lb3"]
    b.send_signal(15)
    netns.wait_until(lambda: uplink(3)[0][0] not in fabric.hops(VIP4), timeout=3,
                     interval=0.02, msg="lb3 withdrawn on SIGTERM")
    assert b.alive(), "buoy must still run (shutdown_delay) after withdrawing"
    b.wait(timeout=15)
    out, _ = bg.p.communicate(timeout=30)
    r = json.loads(out)
    print("SIGTERM: client ok=%d fail=%d longest gap %.3f s" % (r["ok"], r["fail"], r["max_gap"]))
    assert r["fail"] == 0, r
    assert not fabric.topo["lb3"].has_address(VIP4, dev="lo")
    fabric.start_buoy(3)
    fabric.wait_hops(3, timeout=30)


def test_check_reports_bad_bgp_section(tmp_path):
    bad = textwrap.dedent("""\
        listeners: [ { name: a, bind: "198.18.200.1:6443", backend: b } ]
        backends: [ { name: b, servers: [ { address: "198.18.0.21:6443" } ] } ]
        bgp:
          asn: 65001
          peers: [ { address: 198.18.1.0, asn: 70000000000 } ]
          announce: [ { prefix: 198.18.200.0/24 } ]
        """)
    rc, _, err, _ = netns.buoy_check(bad, str(tmp_path))
    assert rc == 1
    assert ":5:" in err and "bgp.peers[0].asn" in err, err
    assert ":6:" in err and "bgp.announce[0].prefix" in err, err
