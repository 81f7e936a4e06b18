"""Hostile and broken input.

VRRP: a raw-socket injector (protocol 112) in a neighbour namespace sends adverts that would take
the VIP if accepted (priority 254, or 255 = address owner) but each carries one defect: TTL/hop
limit 64, bad checksum, wrong v2 password, no auth where one is configured, wrong v2 interval,
unknown VRID, truncated, oversize, v2/v3 mismatch, wrong address count, wrong address, v3
interval 0. Each is dropped, counted under its reason in `buoy status --json`, and changes
nothing (no transition, the VIP stays). A defect-free copy of the same advert IS obeyed (the
control case, proving the injector works). v2 PASS auth over IPv4 and v3 over IPv6 here;
v3 IPv4 multicast and the basic unicast-stranger case are in test_vrrp_drops.py.

Config: every key with a wrong type or an out-of-range value, and every duplicate name, gives a
clear FILE:LINE:COL error from `buoy check` (table-driven).
"""
import re

import pytest

import netns
from helpers.status import vrrp_status
from helpers.vrrp import (VIP4, VIP6, assert_steady, hosts_for, inject, master_down_s,
                          vrrp_yaml, wait_holder)


def link_local(host):
    out = host.run(["ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"]).stdout
    return re.search(r"inet6 (fe80::[0-9a-f:]+)/", out).group(1)


def run_defects(lb1, b, evil, vip, cases, base):
    """Inject every (defect, ttl) of cases; each must land in its reason and change nothing."""
    before = vrrp_status(b)
    assert before["state"] == "master", before
    for defect, reason, ttl in cases:
        inject(evil, defect=defect, ttl=ttl, **base)
    assert_steady([lb1, evil], vip, "lb1", 1.0)
    after = vrrp_status(b)
    want = {}
    for _, reason, _ in cases:
        want[reason] = want.get(reason, 0) + 3
    got = {r: after["adverts_dropped_total"].get(r, 0) - before["adverts_dropped_total"].get(r, 0)
           for r in after["adverts_dropped_total"]}
    for reason, n in want.items():
        assert got.get(reason) == n, "reason %s: %s dropped, want %d (all: %s)" % (
            reason, got.get(reason), n, got)
    assert sum(got.values()) == sum(want.values()), got
    assert after["state"] == "master"
    assert after["transitions_total"] == before["transitions_total"]
    assert after["adverts_received_total"] == before["adverts_received_total"] == 0
    # control: the same advert without a defect is obeyed (priority 254 > 100: lb1 backs off)
    inject(evil, count=1, **base)
    netns.wait_until(lambda: vrrp_status(b)["state"] == "backup", timeout=2,
                     msg="control advert obeyed")
    netns.wait_until(lambda: not lb1.has_address(vip), timeout=2, msg="lb1 released the VIP")


def test_v2_pass_auth_ipv4_defects(topo, buoy):
    lb1, evil = hosts_for(topo, 2)
    b = buoy(vrrp_yaml("lb1", 100, VIP4 + "/24", version=2, interval="1s", auth="secret"),
             name="lb1", ns=lb1)
    wait_holder([lb1], VIP4, "lb1", timeout=master_down_s(100, 1000, 2) + 3)
    base = dict(src=evil.ipv4, dst="224.0.0.18", version=2, interval_ms=1000, auth="secret",
                vips=[VIP4])
    cases = [("none", "ttl", 64), ("checksum", "checksum", 255), ("auth", "auth", 255),
             ("auth_type", "auth", 255), ("interval", "interval", 255), ("vrid", "vrid", 255),
             ("version", "version", 255), ("truncated", "length", 255),
             ("oversize", "length", 255), ("addr_count", "addr_count", 255),
             ("addr_list", "addr_list", 255)]
    run_defects(lb1, b, evil, VIP4, cases, base)


def test_v3_ipv6_defects(topo, buoy):
    lb1, evil = hosts_for(topo, 2, ipv6=True)
    b = buoy(vrrp_yaml("lb1", 100, VIP6 + "/64"), name="lb1", ns=lb1)
    wait_holder([lb1], VIP6, "lb1", timeout=master_down_s(100) + 3)
    base = dict(src=link_local(evil), dst="ff02::12", version=3, interval_ms=200, vips=[VIP6])
    cases = [("none", "ttl", 64), ("checksum", "checksum", 255), ("vrid", "vrid", 255),
             ("version", "version", 255), ("truncated", "length", 255),
             ("oversize", "length", 255), ("addr_count", "addr_count", 255),
             ("interval", "interval", 255)]
    run_defects(lb1, b, evil, VIP6, cases, base)


def test_unicast_ignores_forged_owner_advert_from_stranger(topo, buoy):
    """Unicast mode: a priority-255 (address owner) advert, valid in every other respect, from
    an address that is not a configured peer changes nothing."""
    lb1, lb2, evil = hosts_for(topo, 3)
    b = buoy(vrrp_yaml("lb1", 100, VIP4 + "/24", peers=[lb2.ipv4]), name="lb1", ns=lb1)
    wait_holder([lb1, lb2, evil], VIP4, "lb1", timeout=master_down_s(100) + 3)
    before = vrrp_status(b)
    for prio in (254, 255):
        inject(evil, src=evil.ipv4, dst=lb1.ipv4, version=3, interval_ms=200, vips=[VIP4],
               prio=prio, count=5)
    assert_steady([lb1, lb2, evil], VIP4, "lb1", 1.0)
    after = vrrp_status(b)
    assert after["adverts_dropped_total"]["source"] - before["adverts_dropped_total"].get("source", 0) == 10
    assert after["transitions_total"] == before["transitions_total"]
    assert after["adverts_received_total"] == 0


# ---------------------------------------------------------------------------------------------
# Config: wrong types, out-of-range values, duplicate names -> FILE:LINE:COL errors.

BASE = """\
node: lb1
max_conns: 1000
workers: 2
shutdown_grace: 30s
vrrp:
  - name: vi1
    interface: eth0
    router_id: 51
    priority: 110
    version: 3
    advert_interval: 200ms
    preempt: true
    virtual_ips: [198.18.0.100/24]
listeners:
  - name: api
    bind: "198.18.0.100:6443"
    backend: apis
backends:
  - name: apis
    balance: roundrobin
    connect_timeout: 2s
    retries: 1
    health: { type: tcp, interval: 1s, timeout: 1s, rise: 2, fall: 2 }
    servers:
      - { address: "198.18.0.21:6443", weight: 1 }
      - { address: "198.18.0.22:6443", max_conns: 10 }
"""

# (what, old text, new text, expected line, a word the message must hold)
CONFIG_CASES = [
    ("type: number", "max_conns: 1000", "max_conns: lots", 2, "whole number"),
    ("type: list for scalar", "workers: 2", "workers: [2]", 3, "list"),
    ("type: mapping for scalar", "interface: eth0", "interface: {a: 1}", 7, "mapping"),
    ("type: duration without unit", "shutdown_grace: 30s", "shutdown_grace: 30", 4, "unit"),
    ("type: bool", "preempt: true", "preempt: maybe", 12, "true or false"),
    ("type: address", "bind: \"198.18.0.100:6443\"", "bind: \"198.18.0.100:99999\"", 16, "address"),
    ("type: cidr", "[198.18.0.100/24]", "[198.18.0.100/33]", 13, "address"),
    ("type: enum", "balance: roundrobin", "balance: fastest", 20, "balance"),
    ("type: negative count", "retries: 1", "retries: -1", 22, "whole number"),
    ("type: server max_conns", "max_conns: 10 }", "max_conns: ten }", 26, "whole number"),
    ("range: router_id high", "router_id: 51", "router_id: 256", 8, "out of range"),
    ("range: router_id zero", "router_id: 51", "router_id: 0", 8, "out of range"),
    ("range: priority", "priority: 110", "priority: 300", 9, "out of range"),
    ("range: version", "version: 3", "version: 4", 10, "2 or 3"),
    ("range: advert_interval", "advert_interval: 200ms", "advert_interval: 50s", 11, "range"),
    ("range: rise", "rise: 2", "rise: 0", 23, "out of range"),
    ("range: weight", "weight: 1 }", "weight: 1000 }", 25, "out of range"),
    ("duplicate: server", "\"198.18.0.22:6443\"", "\"198.18.0.21:6443\"", 26, "duplicate"),
    ("duplicate: key", "node: lb1", "node: lb1\nnode: lb2", 2, "duplicate key"),
    ("duplicate: key in a list item", "    preempt: true", "    preempt: true\n    preempt: false",
     13, "duplicate key"),
    ("duplicate: backend name", "      - { address: \"198.18.0.22:6443\", max_conns: 10 }\n",
     "      - { address: \"198.18.0.22:6443\", max_conns: 10 }\n  - name: apis\n"
     "    servers: [ { address: \"198.18.0.23:6443\" } ]\n", 27, "duplicate backend"),
    ("duplicate: listener name", "backends:\n", "  - name: api\n    bind: \":7000\"\n"
     "    backend: apis\nbackends:\n", 18, "duplicate listener"),
    ("duplicate: vrrp name", "listeners:\n", "  - name: vi1\n    interface: eth0\n"
     "    router_id: 52\n    virtual_ips: [198.18.0.101/24]\nlisteners:\n", 14, "duplicate vrrp"),
    ("duplicate: VRID on one interface", "listeners:\n", "  - name: vi2\n    interface: eth0\n"
     "    router_id: 51\n    virtual_ips: [198.18.0.101/24]\nlisteners:\n", 16, "already used"),
    ("unknown key", "    retries: 1", "    retries: 1\n    retires: 2", 23, "unknown key"),
    ("auth with v3", "    preempt: true", "    preempt: true\n    auth_pass: secret", 13, "auth"),
]


def test_config_base_is_valid(buoy_bin, workdir):
    rc, out, err, _ = netns.buoy_check(BASE, workdir)
    assert rc == 0, out + err


@pytest.mark.parametrize("what,old,new,line,word", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_error_has_file_line(buoy_bin, workdir, what, old, new, line, word):
    assert old in BASE, old
    text = BASE.replace(old, new, 1)
    rc, out, err, path = netns.buoy_check(text, workdir, name="bad")
    assert rc == 1, "%s: accepted\n%s" % (what, out + err)
    lines = [l for l in (out + err).splitlines() if l.startswith(path + ":")]
    assert lines, "%s: no FILE:LINE:COL error in\n%s" % (what, out + err)
    m = re.match(re.escape(path) + r":(\d+):(\d+): (.+)", lines[0])
    assert m, lines[0]
    assert int(m.group(1)) == line, "%s: line %s, want %d: %s" % (what, m.group(1), line, lines[0])
    assert int(m.group(2)) >= 1
    assert word in m.group(3), "%s: %r lacks %r" % (what, m.group(3), word)
