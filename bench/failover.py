#!/usr/bin/env python3
"""Failover benchmark: how long a client loses the VIP when the master's cable is cut.

Two load balancers (lb1 master, lb2 backup) and a client on one switch, in network namespaces
(198.18.0.0/15). The client pings the VIP every 10 ms; the master's link is cut; the gap is the
longest silence between two echo replies around the cut. Run for buoy with its default config
(VRRPv3, advert_interval 200ms) and for keepalived with the reference setups' config
(advert_int 1, priorities 101/100), in the same run, ROUNDS times each; medians are printed.
A SIGTERM hand-over round (graceful stop of the master) is measured for buoy too.

A second table (bench/failover_bgp.py) measures NEW TCP connections through buoy, the same
client for every mode: BGP anycast with BFD, BGP without BFD (hold timer 9 s), and VRRP, when a
load balancer's buoy is SIGKILLed and when its link is blackholed. `--only vrrp|bgp` runs one.

    sudo BUOY_BIN=./buoy bench/failover.py [--rounds N]
"""
import argparse
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import netns  # noqa: E402

VIP = "198.18.0.100"


def buoy_yaml(node, prio):
    return ("node: %s\nvrrp:\n  - name: apiserver\n    interface: eth0\n    router_id: 51\n"
            "    priority: %d\n    virtual_ips: [%s/24]\n" % (node, prio, VIP))


def keepalived_conf(prio):
    # the reference setups (../shared/seeds/): VRRP v2 defaults, advert_int 1, MASTER 101/BACKUP 100
    return ("global_defs {\n  router_id ka\n  script_user root\n}\n"
            "vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n"
            "  priority %d\n  advert_int 1\n  authentication {\n    auth_type PASS\n"
            "    auth_pass 42\n  }\n  virtual_ipaddress {\n    %s/24\n  }\n}\n" % (prio, VIP))


def replies(path):
    """Timestamps (s) of echo replies in `ping -D` output."""
    ts = []
    with open(path) as f:
        for line in f:
            m = re.match(r"\[(\d+\.\d+)\] \d+ bytes from", line)
            if m:
                ts.append(float(m.group(1)))
    return ts


def gap_around(ts, t_cut):
    """Longest silence between consecutive replies that spans or follows the cut."""
    best = 0.0
    for a, b in zip(ts, ts[1:]):
        if b >= t_cut:
            best = max(best, b - a)
    return best


def one_round(kind, fault):
    topo = netns.Topology()
    try:
        lb1, lb2 = topo.add_host("lb1"), topo.add_host("lb2")
        cl = topo.add_host("client")
        procs = {}
        for h, prio in ((lb1, 150 if kind == "buoy" else 101), (lb2, 100)):
            if kind == "buoy":
                procs[h.role] = h.start_buoy(buoy_yaml(h.role, prio))
            else:
                procs[h.role] = h.start_keepalived(keepalived_conf(prio))
        netns.wait_until(lambda: lb1.has_address(VIP) and not lb2.has_address(VIP),
                         timeout=15, interval=0.05, msg="lb1 holds the VIP")
        time.sleep(1.0)
        out = os.path.join(topo.workdir, "ping-%s.txt" % kind)
        ping = netns.Proc(["ping", "-D", "-n", "-i", "0.01", "-W", "0.2", "-w", "12", VIP],
                          ns=cl.name, log_path=out, merge_stdout=True)
        time.sleep(1.0)
        t_cut = time.time()
        if fault == "link":
            topo.link_down("lb1")
        else:
            procs["lb1"].send_signal(15)
        netns.wait_until(lambda: lb2.has_address(VIP), timeout=10, interval=0.01,
                         msg="lb2 took the VIP")
        time.sleep(1.5)
        ping.stop()
        ts = replies(out)
        if not ts or ts[-1] < t_cut:
            return None
        return gap_around(ts, t_cut)
    finally:
        topo.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=("vrrp", "bgp"), default=None)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("failover bench: needs root (network namespaces)")
    netns.install_cleanup_handlers()
    if args.only != "bgp":
        vrrp_table(args)
    if args.only != "vrrp":
        new_connections_table(args)


def new_connections_table(args):
    import failover_bgp
    results = {c: [] for c in failover_bgp.CASES}
    for r in range(args.rounds):
        for c in failover_bgp.CASES:
            try:
                v = failover_bgp.run_case(*c)
            except Exception as e:   # one broken round must not lose the others
                print("round %d %s %s: failed: %s" % (r + 1, c[0], c[1], e), file=sys.stderr)
                v = None
            results[c].append(v)
            print("round %d %-12s %-5s %s" % (r + 1, c[0], c[1], v), file=sys.stderr)
    print("\n%-36s %9s %9s %9s %12s" % ("new connections, client every 10 ms", "gap med",
                                         "gap max", "failed", "route gone"))
    for c in failover_bgp.CASES:
        v = [x for x in results[c] if x is not None]
        name = "%s, %s" % (c[0], "buoy SIGKILLed" if c[1] == "kill" else "link blackholed")
        if not v:
            print("%-36s %9s" % (name, "n/a"))
            continue
        gaps = [x[0] for x in v]
        failed = "%d/%d" % (sum(x[1] for x in v), sum(x[2] for x in v))
        gone = [x[3] for x in v if x[3] is not None]
        print("%-36s %8.3fs %8.3fs %9s %12s" % (name, statistics.median(gaps), max(gaps), failed,
              "%.3fs" % statistics.median(gone) if gone else "-"))
    g = {c: [x[0] for x in results[c] if x is not None] for c in failover_bgp.CASES}
    if g[("bgp+bfd", "link")] and g[("bgp+bfd", "kill")]:
        print("\ngoal: BGP+BFD worst gap <= 0.5 s after a link cut: %s; <= 0.2 s after SIGKILL: %s"
              % ("met" if max(g[("bgp+bfd", "link")]) <= 0.5 else "NOT met",
                 "met" if max(g[("bgp+bfd", "kill")]) <= 0.2 else "NOT met"))


def vrrp_table(args):
    cases = [("buoy", "link"), ("keepalived", "link"), ("buoy", "sigterm"),
             ("keepalived", "sigterm")]
    results = {c: [] for c in cases}
    for r in range(args.rounds):
        for c in cases:
            g = one_round(*c)
            results[c].append(g)
            print("round %d %-10s %-7s gap=%s" % (r + 1, c[0], c[1],
                  "n/a" if g is None else "%.3fs" % g), file=sys.stderr)
    print("\n%-44s %8s %8s %8s" % ("failover gap (client ping every 10 ms)", "median", "min",
                                   "max"))
    for c in cases:
        v = [x for x in results[c] if x is not None]
        name = "%s, master %s" % (c[0] + (" (default, 200ms)" if c[0] == "buoy"
                                           else " (advert_int 1)"),
                                  "link cut" if c[1] == "link" else "SIGTERM")
        if v:
            print("%-44s %7.3fs %7.3fs %7.3fs" % (name, statistics.median(v), min(v), max(v)))
        else:
            print("%-44s %8s" % (name, "n/a"))
    bv = [x for x in results[("buoy", "link")] if x is not None]
    if bv:
        print("\ngoal: buoy default config link-cut gap <= 0.8 s: %s"
              % ("met" if statistics.median(bv) <= 0.8 else "NOT met"))


if __name__ == "__main__":
    main()
