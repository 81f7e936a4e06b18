#!/usr/bin/env python3
"""What connection sync costs the master, under `wrk` with `Connection: close` (a new
connection per request, the worst case for sync: two log events and a table entry each).

Namespaces on one switch (198.18.0.0/15): lb1 (buoy, VRRP master of the VIP, sync to lb2),
lb2 (buoy, backup), api (nginx, a tiny 200 answer) and client (wrk, 2 threads, 50 connections,
`Connection: close`, to VIP:8080). Each round runs lb1 with sync off and with sync on, one
after the other (drift hits both alike), and measures over the wrk run: requests per second,
lb1's CPU seconds (all threads) per request, and what lb1 sent to its peer (sync datagrams and
bytes) per request. Medians over the rounds, and the on/off ratio of CPU per request.

Connections that open and close within one batch interval (100 ms) are never announced, so
under this load sync sends almost nothing: the cost measured is the workers' log and the
main thread's table.

    sudo BUOY_BIN=./buoy bench/sync_cost.py [--rounds N] [--seconds S]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import netns  # noqa: E402

VIP = "198.18.0.100"
KEY = b"bench-sync-key-0123456789abcdef0123"


def lb_yaml(node, prio, peer, api, key_file, sync):
    y = ("node: %s\nlog: { level: info }\n"
         "vrrp:\n  - name: vi1\n    interface: eth0\n    router_id: 51\n    priority: %d\n"
         "    virtual_ips: [%s/24]\n    unicast_peers: [%s]\n"
         "listeners:\n  - { name: web, bind: \"0.0.0.0:8080\", backend: web }\n"
         "backends:\n  - { name: web, servers: [ { address: \"%s:80\" } ] }\n"
         % (node, prio, VIP, peer, api))
    if sync:
        y += "sync: { key_file: %s }\n" % key_file
    return y


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sync_sent(b):
    s = b.status_json().get("sync") or {}
    return s.get("messages_sent_total", 0), s.get("bytes_sent_total", 0)


def nginx_conf(workdir):
    d = os.path.join(workdir, "nginx")
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
                "events { worker_connections 4096; }\n"
                "http { access_log off; server { listen 80 backlog=4096; "
                "location / { return 200 \"ok\\n\"; } } }\n" % (d, d))
    return d, conf


def one(topo, hosts, workdir, sync, seconds):
    lb1, lb2, api, client = hosts
    key = os.path.join(workdir, "sync.key")
    y1 = lb_yaml("lb1", 120, lb2.ipv4, api.ipv4, key, sync)
    y2 = lb_yaml("lb2", 100, lb1.ipv4, api.ipv4, key, sync)
    b1 = netns.Buoy(y1, workdir, ns=lb1.name, name="lb1-%s" % sync).wait_started()
    netns.wait_until(lambda: lb1.has_address(VIP), timeout=5, msg="lb1 holds the VIP")
    b2 = netns.Buoy(y2, workdir, ns=lb2.name, name="lb2-%s" % sync).wait_started()
    time.sleep(0.5)
    try:
        m0, by0 = sync_sent(b1)
        c0 = cpu_seconds(b1.pid)
        r = client.run(["timeout", str(seconds + 10), "wrk", "-t2", "-c50", "-d%ds" % seconds,
                        "-H", "Connection: close", "http://%s:8080/" % VIP], timeout=seconds + 20)
        c1 = cpu_seconds(b1.pid)
        m1, by1 = sync_sent(b1)
        n = int(re.search(r"(\d+) requests in", r.stdout).group(1))
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", r.stdout).group(1))
        return dict(rps=rps, cpu_us=(c1 - c0) / n * 1e6, msgs=(m1 - m0) / n, bytes=(by1 - by0) / n)
    finally:
        b2.stop()
        b1.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("sync_cost: needs root (network namespaces)")
    for tool in ("wrk", "nginx"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            sys.exit("sync_cost: %s missing (sudo scripts/deps bench)" % tool)
    netns.install_cleanup_handlers()
    topo = netns.Topology()
    try:
        hosts = [topo.add_host(r) for r in ("lb1", "lb2", "api", "client")]
        workdir = topo.workdir
        with open(os.path.join(workdir, "sync.key"), "wb") as f:
            f.write(KEY)
        os.chmod(os.path.join(workdir, "sync.key"), 0o600)
        d, conf = nginx_conf(workdir)
        hosts[2].popen(["nginx", "-p", d, "-e", d + "/error.log", "-c", conf])
        netns.wait_until(lambda: hosts[2].run(["ss", "-ltn", "sport = :80"]).stdout.count("LISTEN"),
                         timeout=5, msg="nginx up")
        res = {False: [], True: []}
        for i in range(a.rounds):
            for sync in (False, True):
                res[sync].append(one(topo, hosts, workdir, sync, a.seconds))
                print("round %d sync=%s %s" % (i + 1, "on" if sync else "off",
                                               " ".join("%s=%.3f" % kv for kv in res[sync][-1].items())),
                      flush=True)
        med = {s: {k: statistics.median(r[k] for r in res[s]) for k in res[s][0]} for s in res}
        print("\n| sync | req/s | lb1 CPU µs/request | sync datagrams/request | sync bytes/request |")
        print("|---|---|---|---|---|")
        for s in (False, True):
            m = med[s]
            print("| %s | %.0f | %.1f | %.3f | %.1f |" % ("on" if s else "off", m["rps"], m["cpu_us"],
                                                      m["msgs"], m["bytes"]))
        print("\nCPU per request, on/off: %.3f (goal <= 1.03)" % (med[True]["cpu_us"] / med[False]["cpu_us"]))
    finally:
        topo.cleanup()
        netns.cleanup_all()


if __name__ == "__main__":
    main()
