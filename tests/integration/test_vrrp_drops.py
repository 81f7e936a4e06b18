"""Every malformed or foreign advert is dropped, counted under its reason in /metrics, and changes
nothing: a raw-socket injector in a neighbour namespace sends higher-priority adverts that would
take the VIP if they were accepted."""
import netns
from helpers.anycast import METRICS, metrics, sample
from helpers.vrrp import (VIP4, assert_steady, hosts_for, inject, master_down_s, vrrp_yaml,
                          wait_holder)


def inject_v3(host, dst, defect, ttl=255, count=3):
    """v3 adverts over IPv4 for VRID 51, priority 254, one defect each ("ttl" = a clean advert
    sent with the TTL given)."""
    inject(host, src=host.ipv4, dst=dst, version=3, vips=[VIP4], interval_ms=200, ttl=ttl,
           count=count, defect="none" if defect == "ttl" else defect)


def yaml(node, prio, peers=None):
    return vrrp_yaml(node, prio, peers=peers, top='metrics: { listen: "%s" }' % METRICS)


def test_malformed_adverts_are_counted_and_ignored(topo, buoy):
    lb1, evil = hosts_for(topo, 2)
    buoy(yaml("lb1", 100), name="lb1", ns=lb1)
    wait_holder([lb1], VIP4, "lb1", timeout=master_down_s(100) + 4)
    netns.wait_until(lambda: sample(metrics(lb1), "buoy_vrrp_adverts_sent_total") or 0,
                     timeout=5, msg="metrics up")

    cases = [("ttl", "ttl", 64), ("checksum", "checksum", 255), ("vrid", "vrid", 255),
             ("version", "version", 255), ("type", "type", 255),
             ("addr_count", "addr_count", 255), ("truncated", "length", 255),
             ("oversize", "length", 255)]
    for defect, _, ttl in cases:
        inject_v3(evil, "224.0.0.18", defect, ttl=ttl)
    # control: the same advert without a defect IS accepted (and takes the VIP: priority 254)
    assert_steady([lb1, evil], VIP4, "lb1", 1.0)
    text = metrics(lb1)
    want = {}
    for _, reason, _ in cases:
        want[reason] = want.get(reason, 0) + 3
    for reason, n in want.items():
        got = sample(text, "buoy_vrrp_adverts_dropped_total", instance="vi1", reason=reason)
        assert got == n, "reason %s: %s dropped, want %d\n%s" % (reason, got, n, text)
    assert sample(text, "buoy_vrrp_adverts_received_total", instance="vi1") == 0
    assert sample(text, "buoy_vrrp_transitions_total", instance="vi1", to="backup") == 1

    inject_v3(evil, "224.0.0.18", "none", count=1)
    netns.wait_until(lambda: not lb1.has_address(VIP4), timeout=master_down_s(100) + 1,
                     msg="a valid priority-254 advert is obeyed (the control case)")


def test_unicast_ignores_adverts_from_strangers(topo, buoy):
    lb1, lb2, evil = hosts_for(topo, 3)
    buoy(yaml("lb1", 100, peers=[lb2.ipv4]), name="lb1", ns=lb1)
    wait_holder([lb1], VIP4, "lb1", timeout=master_down_s(100) + 4)
    netns.wait_until(lambda: sample(metrics(lb1), "buoy_vrrp_adverts_sent_total") or 0,
                     timeout=5, msg="metrics up")
    inject_v3(evil, lb1.ipv4, "none", count=5)         # valid, priority 254, but not a peer
    assert_steady([lb1, lb2, evil], VIP4, "lb1", 1.0)
    got = sample(metrics(lb1), "buoy_vrrp_adverts_dropped_total", instance="vi1", reason="source")
    assert got == 5, got
