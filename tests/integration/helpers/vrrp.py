"""VRRP topology helpers shared by the integration tests: the VIPs, the protocol timers, a
YAML builder for one instance, who holds a VIP (now, eventually, steadily) and raw advert
injection from a neighbour namespace (helpers/vrrp_inject.py).

Hosts are netns.Namespace objects whose .role is their name ("lb1"...). Timing asserts use the
protocol bound plus a margin: the box is a loaded 2-core machine."""
import json
import os
import time

import netns

VIP4 = "198.18.0.100"
VIP6 = "2001:db8::100"
MARGIN = 1.5          # seconds on top of a protocol bound
SLACK = 2.0           # a larger margin, for files that load the box themselves (faults, privdrop)
INTERVAL_MS = 200
CONVERGE = 5.0        # seconds: master_down (~0.8 s at 200 ms) + margin for a loaded box

# Fixed MACs (topo.add_host(..., mac=)) for neighbour-table asserts.
MAC_LB1 = "02:00:5e:12:00:01"
MAC_LB2 = "02:00:5e:12:00:02"

# Run inside the injector's namespace: one advert (or a few) with one defect each.
INJECTOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vrrp_inject.py")


def master_down_s(prio, interval_ms=INTERVAL_MS, version=3):
    """RFC 5798 / 3768 Master_Down_Interval in seconds."""
    skew = ((256 - prio) * interval_ms / 256.0) if version == 3 else (256 - prio) / 256.0 * 1000
    return (3 * interval_ms + skew) / 1000.0


def skew_s(prio, interval_ms=INTERVAL_MS):
    """RFC 5798 Skew_Time in seconds: how long a backup waits after a priority-0 advert."""
    return (256 - prio) * interval_ms / 256.0 / 1000.0


def vrrp_yaml(node, prio, vip=VIP4 + "/24", version=3, interval="%dms" % INTERVAL_MS,
              preempt=True, peers=None, source=None, auth=None, vrid=51, extra="", top=""):
    """A whole config: node, log, one instance vi1 on eth0. `extra` is appended to the instance
    (track:, notify:, garp: ...; 4-space indented), `top` goes before `vrrp:` (metrics: ...).
    Sections after the instance (listeners:, backends:) are concatenated by the caller."""
    y = ["node: %s" % node,
         "log: { level: info }"]
    if top:
        y.append(top.rstrip("\n"))
    y += ["vrrp:",
          "  - name: vi1",
          "    interface: eth0",
          "    router_id: %d" % vrid,
          "    priority: %d" % prio,
          "    version: %d" % version,
          "    advert_interval: %s" % interval,
          "    preempt: %s" % ("true" if preempt else "false"),
          "    virtual_ips: [%s]" % vip]
    if peers:
        y.append("    unicast_peers: [%s]" % ", ".join(peers))
    if source:
        y.append("    unicast_source: %s" % source)
    if auth:
        y.append("    auth_pass: %s" % auth)
    if extra:
        y.append(extra.rstrip("\n"))
    return "\n".join(y) + "\n"


def hosts_for(topo, n, ipv6=False):
    """lb1..lbN on the topology's switch."""
    return [topo.add_host("lb%d" % (i + 1), ipv6=ipv6) for i in range(n)]


def holders(hosts, vip=VIP4):
    """The roles of the hosts that have vip on eth0, in the hosts' order."""
    return [h.role for h in hosts if h.has_address(vip)]


def wait_holder(hosts, vip, role, timeout=CONVERGE, msg=None):
    """Waits until exactly `role` holds the VIP; returns the seconds it took."""
    t0 = time.monotonic()
    netns.wait_until(lambda: holders(hosts, vip) == [role], timeout=timeout, interval=0.02,
                     msg=msg or ("%s alone holds %s" % (role, vip)))
    return time.monotonic() - t0


def assert_steady(hosts, vip, role, seconds, interval=0.1):
    """The VIP stays on `role` and only there for `seconds` (never on two nodes)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        h = holders(hosts, vip)
        assert h == [role], "VIP %s on %s, expected only %s" % (vip, h, role)
        time.sleep(interval)


def drop_multicast(host):
    """nftables in the host's namespace: no VRRP multicast leaves it."""
    host.run(["nft", "add table inet buoyt"])
    host.run(["nft", "add chain inet buoyt out { type filter hook output priority 0 ; }"])
    host.run(["nft", "add rule inet buoyt out ip daddr 224.0.0.0/4 drop"])
    host.run(["nft", "add rule inet buoyt out ip6 daddr ff02::12 drop"])


def inject(host, **kw):
    """Sends adverts from `host` with helpers/vrrp_inject.py (its JSON arguments: src, dst,
    version, vrid, prio, vips, interval_ms, ttl, count, defect, auth). Defaults: three clean
    v3 adverts, priority 254, VRID 51, TTL 255."""
    args = dict(defect="none", ttl=255, count=3, prio=254, vrid=51)
    args.update(kw)
    host.run([netns.PYTHON, INJECTOR, json.dumps(args)])
