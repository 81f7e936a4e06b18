"""The node side of VRRP through the real daemon: what happens to the VIP on the node when the
node's own state changes (issue 4, "The VIP on the node").

- a stale VIP left by a crashed run is removed at start; the node joins as backup
- on failover the new master's gratuitous ARP moves a client's neighbour entry (no client
  traffic needed)
- an interface tracker going down moves the VIP
- notify runs with INSTANCE STATE PRIORITY on transitions, as nobody

A VIP deleted with `ip addr del` coming back is in test_vrrp.py; a failing track script and a
dead local backend moving the VIP are in test_vrrp_track.py.

Timing: protocol bound plus a generous margin (shared 2-core box).
"""
import os

import netns
from helpers.vrrp import MAC_LB1, MAC_LB2, VIP4, assert_steady, vrrp_yaml, wait_holder

def test_stale_vip_removed_at_start_then_backup(topo, buoy):
    lb1 = topo.add_host("lb1")
    lb2 = topo.add_host("lb2")
    buoy(vrrp_yaml("lb1", 150), name="lb1", ns=lb1)
    wait_holder([lb1, lb2], VIP4, "lb1")
    # lb2 crashed while master earlier: its VIP is still configured.
    lb2.run(["ip", "addr", "add", VIP4 + "/24", "dev", "eth0"])
    b2 = buoy(vrrp_yaml("lb2", 100, preempt=False), name="lb2", ns=lb2)
    netns.wait_until(lambda: not lb2.has_address(VIP4), timeout=3, msg="stale VIP removed")
    assert_steady([lb1, lb2], VIP4, "lb1", 1.5)
    assert b2.alive()


def test_failover_garp_moves_client_neighbour_entry(topo, buoy):
    lb1 = topo.add_host("lb1", mac=MAC_LB1)
    lb2 = topo.add_host("lb2", mac=MAC_LB2)
    client = topo.add_host("client")
    buoy(vrrp_yaml("lb1", 150), name="lb1", ns=lb1)
    buoy(vrrp_yaml("lb2", 100), name="lb2", ns=lb2)
    wait_holder([lb1, lb2], VIP4, "lb1")
    client.run(["ping", "-c1", "-W2", VIP4])
    assert client.neigh(VIP4) == MAC_LB1
    topo.link_down("lb1")
    wait_holder([lb2], VIP4, "lb2")
    # Only lb2's gratuitous ARP can have told the client: it sent nothing meanwhile.
    netns.wait_until(lambda: client.neigh(VIP4) == MAC_LB2, timeout=2,
                     msg="client's neighbour entry follows the VIP")


def test_interface_tracker_moves_vip(topo, buoy):
    lb1 = topo.add_host("lb1")
    lb2 = topo.add_host("lb2")
    # A second cable inside lb1 (veth pair: no dummy module needed); its far end going down is
    # a carrier loss on uplink0, `ip link set uplink0 down` an administrative one.
    lb1.run("ip link add uplink0 type veth peer name uplink0p && ip link set uplink0 up"
            " && ip link set uplink0p up")
    track = "    track:\n      interfaces:\n        - { name: uplink0, weight: -60 }\n"
    buoy(vrrp_yaml("lb1", 150, extra=track), name="lb1", ns=lb1)
    buoy(vrrp_yaml("lb2", 100), name="lb2", ns=lb2)
    wait_holder([lb1, lb2], VIP4, "lb1")
    lb1.run(["ip", "link", "set", "uplink0p", "down"])
    wait_holder([lb1, lb2], VIP4, "lb2",
                msg="VIP leaves lb1 when its tracked interface loses carrier")
    lb1.run(["ip", "link", "set", "uplink0p", "up"])
    wait_holder([lb1, lb2], VIP4, "lb1", msg="VIP returns with the carrier")
    lb1.run(["ip", "link", "set", "uplink0", "down"])
    wait_holder([lb1, lb2], VIP4, "lb2",
                msg="VIP leaves lb1 when its tracked interface is set down")
    lb1.run(["ip", "link", "set", "uplink0", "up"])
    wait_holder([lb1, lb2], VIP4, "lb1", msg="VIP returns with the interface")


def test_notify_runs_on_transitions(topo, buoy, shared_dir):
    lb1 = topo.add_host("lb1")
    lb2 = topo.add_host("lb2")
    out = os.path.join(shared_dir, "out")
    script = os.path.join(shared_dir, "notify.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\necho \"$(id -u) $*\" >> %s/all.log\n" % out)
    os.chmod(script, 0o755)
    notify = "    notify: %s\n" % script
    buoy(vrrp_yaml("lb1", 150, extra=notify), name="lb1", ns=lb1)
    buoy(vrrp_yaml("lb2", 100, extra=notify), name="lb2", ns=lb2)
    wait_holder([lb1, lb2], VIP4, "lb1")

    def lines():
        try:
            with open(os.path.join(out, "all.log")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []
    netns.wait_until(lambda: "65534 vi1 MASTER 150" in lines(), timeout=3,
                     msg="notify MASTER 150 as nobody")
    netns.wait_until(lambda: "65534 vi1 BACKUP 100" in lines(), timeout=3,
                     msg="notify BACKUP 100 as nobody")
    topo.link_down("lb1")
    wait_holder([lb2], VIP4, "lb2")
    netns.wait_until(lambda: "65534 vi1 MASTER 100" in lines(), timeout=3,
                     msg="notify for the new master")
    netns.wait_until(lambda: "65534 vi1 FAULT 150" in lines(), timeout=3,
                     msg="notify FAULT on link loss")
