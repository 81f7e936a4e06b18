"""Hot reload and VRRP (issue 5): an instance whose settings did not change keeps its state
through a reload (no VIP flap); a changed one re-initialises cleanly (hands over with a
priority-0 advert, starts again with the new settings); a removed one hands over and stops.

Two nodes in network namespaces (198.18.0.0/15), each a buoy with one instance; reloads go
through `buoy reload` on the control socket (a unix socket in the test's directory).
"""
import time

import pytest

import netns
from helpers.status import reload_to, vrrp_status
from helpers.vrrp import CONVERGE, INTERVAL_MS, VIP4, assert_steady, vrrp_yaml, wait_holder


def yaml(node, prio, listener=False, vrrp=True):
    out = vrrp_yaml(node, prio) if vrrp else "node: %s\nlog: { level: info }\n" % node
    if listener:  # an unrelated change
        out += ("listeners:\n"
                '  - { name: l, bind: "127.0.0.1:18443", backend: b }\n'
                "backends:\n"
                "  - name: b\n"
                "    health: { type: none }\n"
                '    servers: [ { address: "127.0.0.1:18444" } ]\n')
    return out


@pytest.fixture
def pair(topo, buoy):
    lb1 = topo.add_host("lb1")
    lb2 = topo.add_host("lb2")
    b1 = buoy(yaml("lb1", 150), name="lb1", ns=lb1).wait_started()
    b2 = buoy(yaml("lb2", 100), name="lb2", ns=lb2).wait_started()
    wait_holder([lb1, lb2], VIP4, "lb1")
    return lb1, lb2, b1, b2


def test_unchanged_instance_keeps_state_through_reload(pair):
    lb1, lb2, b1, _ = pair
    before = vrrp_status(b1)
    assert before["state"] == "master"
    state_lines = b1.log().count('msg="vrrp state"')
    for i in range(3):  # unrelated changes: a listener comes and goes
        rc, out, _ = reload_to(b1, yaml("lb1", 150, listener=(i % 2 == 0)))
        assert rc == 0, out
        assert "vrrp_kept=1" in out, out
        assert_steady([lb1, lb2], VIP4, "lb1", 0.7, interval=0.05)
    after = vrrp_status(b1)
    assert after["state"] == "master"
    assert after["transitions_total"] == before["transitions_total"]
    assert b1.log().count('msg="vrrp state"') == state_lines  # no flap, not even logged


def test_changed_instance_reinitialises(pair):
    lb1, lb2, b1, _ = pair
    rc, out, _ = reload_to(b1, yaml("lb1", 90))  # below lb2's 100: lb2 must take over
    assert rc == 0, out
    assert "vrrp_changed=1" in out, out
    wait_holder([lb1, lb2], VIP4, "lb2")
    netns.wait_until(lambda: vrrp_status(b1)["state"] == "backup", timeout=CONVERGE,
                     msg="lb1 backup after re-init")
    assert vrrp_status(b1)["base_priority"] == 90
    assert_steady([lb1, lb2], VIP4, "lb2", 1.0, interval=0.05)
    rc, out, _ = reload_to(b1, yaml("lb1", 150))  # back above: preempts again
    assert rc == 0, out
    wait_holder([lb1, lb2], VIP4, "lb1")
    assert vrrp_status(b1)["base_priority"] == 150


def test_removed_instance_hands_over(pair):
    lb1, lb2, b1, _ = pair
    t0 = time.monotonic()
    rc, out, _ = reload_to(b1, yaml("lb1", 150, listener=True, vrrp=False))
    assert rc == 0, out
    assert "vrrp_removed=1" in out, out
    wait_holder([lb1, lb2], VIP4, "lb2")
    # a priority-0 advert: lb2 takes over after Skew_Time, not after Master_Down_Interval
    assert time.monotonic() - t0 < 3 * INTERVAL_MS / 1000.0 + 1.0
    assert vrrp_status(b1) is None
    assert b1.alive()
