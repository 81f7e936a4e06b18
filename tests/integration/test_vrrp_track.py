"""What the node's health does to the VIP, end to end through `buoy run`: a failing track script
and a dead local backend move the VIP to the other node, and it comes back when they recover.
Two buoy nodes on a bridge (netns.py); advert_interval 200 ms."""
import os

import pytest

import netns
from helpers.vrrp import (MARGIN, VIP4, assert_steady, hosts_for, master_down_s, vrrp_yaml,
                          wait_holder)


def base_yaml(node, prio, track, extra=""):
    """One instance (router 51, 200 ms adverts) with `track:` holding `track`; `extra` after it
    (listeners:, backends:)."""
    return vrrp_yaml(node, prio, extra="    track:\n" + track) + extra


def test_failing_track_script_moves_vip(topo, buoy, shared_dir):
    lb1, lb2 = hosts_for(topo, 2)
    flag = os.path.join(shared_dir, "lb1-fail")
    track1 = ("      scripts:\n"
              "        - { name: chk, command: \"test ! -e %s\", interval: 200ms, timeout: 1s,"
              " weight: 0 }\n" % flag)
    track2 = "      scripts: []\n"
    buoy(base_yaml("lb1", 120, track1), name="lb1", ns=lb1)
    buoy(base_yaml("lb2", 100, track2), name="lb2", ns=lb2)
    wait_holder([lb1, lb2], VIP4, "lb1", timeout=master_down_s(100) + 4)
    assert_steady([lb1, lb2], VIP4, "lb1", 1.0)

    open(flag, "w").close()              # the check now fails: weight 0 -> Fault
    took = wait_holder([lb1, lb2], VIP4, "lb2", timeout=0.2 + skew_bound() + MARGIN)
    print("track script failure -> VIP moved in %.3fs" % took)
    assert_steady([lb1, lb2], VIP4, "lb2", 1.0)

    os.unlink(flag)                      # recovers: preempt takes it back
    wait_holder([lb1, lb2], VIP4, "lb1", timeout=0.2 + master_down_s(120) + MARGIN)


def skew_bound():
    # Fault sends a priority-0 advert: the backup takes over after its Skew_Time
    return master_down_s(100) / 3


def test_weighted_script_lowers_priority(topo, buoy, shared_dir):
    """weight -30 while failing: 120 - 30 = 90 < 100, the other node preempts."""
    lb1, lb2 = hosts_for(topo, 2)
    flag = os.path.join(shared_dir, "lb1-weak")
    track1 = ("      scripts:\n"
              "        - { name: w, command: \"test ! -e %s\", interval: 200ms, weight: -30 }\n"
              % flag)
    buoy(base_yaml("lb1", 120, track1), name="lb1", ns=lb1)
    buoy(base_yaml("lb2", 100, "      scripts: []\n"), name="lb2", ns=lb2)
    wait_holder([lb1, lb2], VIP4, "lb1", timeout=master_down_s(100) + 4)
    open(flag, "w").close()
    wait_holder([lb1, lb2], VIP4, "lb2", timeout=0.2 + master_down_s(100) + MARGIN)
    assert_steady([lb1, lb2], VIP4, "lb2", 1.0)
    os.unlink(flag)
    wait_holder([lb1, lb2], VIP4, "lb1", timeout=0.2 + master_down_s(120) + MARGIN)


def _api_pair(topo, buoy, strict):
    lb1, lb2 = hosts_for(topo, 2)
    backends = {}
    for h in (lb1, lb2):
        backends[h.role] = h.start_backend("127.0.0.1:7001", mode="name", name=h.role)
    extra = ("listeners:\n"
             "  - { name: api, bind: \"0.0.0.0:6443\", backend: api }\n"
             "backends:\n"
             "  - name: api\n"
             "    health: { type: tcp, interval: 200ms, timeout: 200ms, rise: 1, fall: 1 }\n"
             "    servers:\n"
             "      - { address: \"127.0.0.1:7001\" }\n")
    track = "      backends: [api]\n" + ("      strict: true\n" if strict else "")
    b1 = buoy(base_yaml("lb1", 120, track, extra), name="lb1", ns=lb1)
    buoy(base_yaml("lb2", 100, track, extra), name="lb2", ns=lb2)
    wait_holder([lb1, lb2], VIP4, "lb1", timeout=master_down_s(100) + 4)
    assert_steady([lb1, lb2], VIP4, "lb1", 1.0)
    return lb1, lb2, backends, b1


@pytest.mark.parametrize("strict", [False, True], ids=["unfit", "strict"])
def test_dead_local_backend_moves_vip(topo, buoy, strict):
    lb1, lb2, backends, _ = _api_pair(topo, buoy, strict)
    backends["lb1"].stop()               # lb1 can no longer serve: no eligible server
    # strict: Fault, a priority-0 advert, lb2 takes over after its skew time. Default: lb1 is
    # unfit and advertises priority 1; lb2 (fit) takes over when its master-down timer runs out.
    took = wait_holder([lb1, lb2], VIP4, "lb2", timeout=0.4 + 0.3 + MARGIN + (
        skew_bound() if strict else master_down_s(100)))
    print("dead local backend (%s) -> VIP moved in %.3fs" % ("strict" if strict else "unfit", took))
    assert_steady([lb1, lb2], VIP4, "lb2", 1.0)

    backends["lb1"] = lb1.start_backend("127.0.0.1:7001", mode="name", name="lb1")
    wait_holder([lb1, lb2], VIP4, "lb1", timeout=0.4 + master_down_s(120) + MARGIN + 1)


@pytest.mark.parametrize("strict", [False, True], ids=["unfit", "strict"])
def test_every_backend_dead_vip_stays_unless_strict(topo, buoy, strict):
    """Both nodes lose every backend at once (all apiservers unready): by default the VIP
    stays on its holder (never on none, never on two) and status says unfit; strict gives
    keepalived's weight 0: Fault on both, the VIP nowhere. Recovery moves nothing."""
    lb1, lb2, backends, b1 = _api_pair(topo, buoy, strict)
    for h in ("lb1", "lb2"):
        backends[h].stop()
    if strict:
        netns.wait_until(lambda: not any(h.has_address(VIP4) for h in (lb1, lb2)), timeout=3,
                         msg="strict: the VIP leaves every node")
    else:
        netns.wait_until(lambda: b1.status_json()["vrrp"][0]["unfit"], timeout=3,
                         msg="lb1 reports unfit")
        assert b1.status_json()["vrrp"][0]["effective_priority"] == 1
        assert_steady([lb1, lb2], VIP4, "lb1", 2.0 + master_down_s(100))
    for h in (lb1, lb2):
        backends[h.role] = h.start_backend("127.0.0.1:7001", mode="name", name=h.role)
    if strict:
        wait_holder([lb1, lb2], VIP4, "lb1", timeout=master_down_s(120) + 4)
    netns.wait_until(lambda: not b1.status_json()["vrrp"][0]["unfit"], timeout=3,
                     msg="lb1 fit again")
    assert_steady([lb1, lb2], VIP4, "lb1", 1.5)


def test_notify_runs_on_each_transition(topo, buoy, shared_dir):
    lb1, = hosts_for(topo, 1)
    out_dir = os.path.join(shared_dir, "out")  # 0777: the script runs as nobody
    log = os.path.join(out_dir, "notify.log")
    script = os.path.join(shared_dir, "notify.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\necho \"$1 $2 $3\" >> %s\n" % log)
    os.chmod(script, 0o755)

    def lines():
        try:
            with open(log) as f:
                return f.read().split("\n")[:-1]
        except FileNotFoundError:
            return []

    b = buoy(base_yaml("lb1", 110, "      scripts: []\n", "") +
             "    notify: %s\n" % script, name="lb1", ns=lb1)
    netns.wait_until(lambda: lines() == ["vi1 BACKUP 110", "vi1 MASTER 110"],
                     timeout=master_down_s(110) + 4, msg="BACKUP then MASTER notified")
    assert b.terminate_and_wait() == 0
    netns.wait_until(lambda: lines()[-1:] == ["vi1 STOP 110"], timeout=3, msg="STOP notified")
