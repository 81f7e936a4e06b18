"""Operating buoy (issue 5): the control socket and CLI (`buoy status|drain|enable|reload`) and
the Prometheus endpoint, end to end against a running `buoy run` on loopback.

Each test writes its own config, starts name/echo backends on 127.0.0.x, starts buoy and asserts
on what the CLI, an HTTP client, promtool or a real Prometheus server sees.
"""
import json
import os
import shutil
import socket
import stat
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

import netns
from helpers.client import connect, fetch_name, fetch_names, fmt_addr, free_port, read_all
from helpers.lbconf import LB
from helpers.status import cli, status_json


def wait_idle(b, total):
    """Until every proxied connection has ended and its counters are flushed."""
    def idle():
        d = status_json(b)
        servers = [s for be in d["backends"] for s in be["servers"]]
        return (sum(s["connections_total"] for s in servers) == total
                and sum(s["active_connections"] for s in servers) == 0)
    netns.wait_until(idle, timeout=5, msg="connections ended, counters flushed")


def server_of(doc, backend, address):
    be = next(x for x in doc["backends"] if x["name"] == backend)
    return next(s for s in be["servers"] if s["address"] == address)


def config(listen, servers, metrics=None, extra_backends="", extra_listeners="", top=""):
    lines = ["node: opsnode", "log: { level: debug }"]
    if metrics:
        lines.append('metrics: { listen: "%s" }' % metrics)
    lines.append(top)
    lines += ["listeners:", '  - { name: front, bind: "%s", backend: pool }' % listen,
              extra_listeners, "backends:", "  - name: pool", "    balance: roundrobin",
              "    health: { type: none }", "    servers:"]
    lines += ['      - { address: "%s" }' % s for s in servers]
    lines.append(extra_backends)
    return "\n".join(l for l in lines if l) + "\n"


def test_unserved_connections_count_as_rejected_and_no_server(buoy):
    """A listener whose only server refuses: each accepted connection is closed unserved after
    its tries; buoy_listener_rejected_total and buoy_backend_no_server_total count each once
    (issue 20: rejected_total was never incremented)."""
    dead = "127.0.0.2:%d" % free_port("127.0.0.2")      # nothing listens there
    listen = fmt_addr(LB, free_port(LB))
    b = buoy(config(listen, [dead], extra_backends="    retries: 1")).wait_started()
    for _ in range(3):
        s = connect(listen)
        s.sendall(b"hello\n")
        s.settimeout(5)
        try:
            assert s.recv(100) == b""                       # closed, nothing served
        except ConnectionResetError:
            pass
        s.close()

    def counted():
        d = status_json(b)
        return d if d["listeners"][0]["rejected_total"] == 3 else None
    doc = netns.wait_until(counted, timeout=5, msg="three rejections counted")
    assert doc["listeners"][0]["accepted_total"] == 3
    assert doc["backends"][0]["no_server_total"] == 3, doc["backends"][0]


# ---------------------------------------------------------------------------------------------
# Control socket and CLI

def test_status_json_counts_and_table(buoy, backend):
    s1 = "127.0.0.2:%d" % free_port("127.0.0.2")
    s2 = "127.0.0.3:%d" % free_port("127.0.0.3")
    backend(s1, mode="name", name="s1")
    backend(s2, mode="name", name="s2")
    listen = fmt_addr(LB, free_port(LB))
    b = buoy(config(listen, [s1, s2])).wait_started()
    counts, failures = fetch_names(listen, 6)
    # per-worker round robin: both get some, not necessarily 3 each
    assert not failures and sum(counts.values()) == 6 and len(counts) == 2, (counts, failures)

    def settled():
        d = status_json(b)
        total = sum(s["connections_total"] for s in d["backends"][0]["servers"])
        active = sum(s["active_connections"] for s in d["backends"][0]["servers"])
        return d if total == 6 and active == 0 else None
    doc = netns.wait_until(settled, timeout=5, msg="counters settle")
    assert doc["node"] == "opsnode"
    assert doc["version"] and doc["uptime_s"] >= 0
    assert doc["vrrp"] == []
    assert doc["listeners"] == [{"name": "front", "bind": listen, "backend": "pool", "protocol": "tcp",
                                 "accepted_total": 6, "rejected_total": 0,
                                 "empty_total": 0, "fast_path_total": 0,
                                 "fast_path_active": 0}]
    assert doc["fast_path"] == {"mode": "off", "active": False, "reason": "", "sockets": 0}
    be = doc["backends"][0]
    assert (be["name"], be["balance"], be["health_check"], be["eligible_servers"],
            be["queue_length"]) == ("pool", "roundrobin", "none", 2, 0)
    for addr, name in ((s1, "s1"), (s2, "s2")):
        s = server_of(doc, "pool", addr)
        assert (s["state"], s["eligible"], s["drained"], s["connections_total"]) == \
            ("up", True, False, counts[name])
        assert s["bytes_from_server"] == counts[name] * len(name + "\n")
        assert s["connect_failures_total"] == 0
        assert set(s["health"]) >= {"up", "reason", "last_check_ago_ms", "consecutive_ok",
                                     "consecutive_fail", "last_result"}

    # the table, finding the socket through -c FILE (control.socket)
    r = cli("status", "-c", b.config_path)
    assert r.returncode == 0, r.stderr
    assert "node opsnode" in r.stdout
    assert "LISTENER" in r.stdout and listen in r.stdout
    for addr in (s1, s2):
        line = next(l for l in r.stdout.splitlines() if addr in l)
        assert line.split()[:3] == ["pool", addr, "up"], line


def test_drain_and_enable(buoy, backend):
    s1 = "127.0.0.2:%d" % free_port("127.0.0.2")
    s2 = "127.0.0.3:%d" % free_port("127.0.0.3")
    e1 = "127.0.0.4:%d" % free_port("127.0.0.4")
    backend(s1, mode="name", name="s1")
    backend(s2, mode="name", name="s2")
    backend(e1, mode="echo")
    listen = fmt_addr(LB, free_port(LB))
    elisten = fmt_addr(LB, free_port(LB))
    extra_l = '  - { name: echo, bind: "%s", backend: echo }' % elisten
    extra_b = ("  - name: echo\n    health: { type: none }\n    queue_timeout: 500ms\n"
               '    servers: [ { address: "%s" } ]' % e1)
    b = buoy(config(listen, [s1, s2], extra_listeners=extra_l, extra_backends=extra_b))
    b.wait_started()

    r = cli("drain", "pool", s1, "--socket", b.socket_path)
    assert r.returncode == 0, r.stderr
    assert "drained" in r.stdout
    counts, failures = fetch_names(listen, 10)
    assert not failures and counts == {"s2": 10}, (counts, failures)
    s = server_of(status_json(b), "pool", s1)
    assert (s["state"], s["eligible"], s["drained"]) == ("drained", False, True)

    # enable by host alone (unique in the backend)
    r = cli("enable", "pool", s1.split(":")[0], "--socket", b.socket_path)
    assert r.returncode == 0, r.stderr
    counts, failures = fetch_names(listen, 10)
    assert not failures and counts["s1"] >= 3 and counts["s2"] >= 3, (counts, failures)

    # an established connection survives the drain of its server; new ones get nowhere
    with connect(elisten) as c:
        c.sendall(b"before\n")
        assert c.recv(100) == b"before\n"
        r = cli("drain", "echo", e1, "--socket", b.socket_path)
        assert r.returncode == 0, r.stderr
        c.sendall(b"after\n")
        assert c.recv(100) == b"after\n"
        with connect(elisten) as c2:
            c2.settimeout(5)
            try:
                assert read_all(c2) == b""      # closed without a server
            except ConnectionResetError:
                pass
    assert "server drained" in b.log()


def test_unknown_names_exit_nonzero(buoy, backend, workdir):
    s1 = "127.0.0.2:%d" % free_port("127.0.0.2")
    backend(s1, mode="name", name="s1")
    listen = fmt_addr(LB, free_port(LB))
    b = buoy(config(listen, [s1])).wait_started()
    r = cli("drain", "nosuch", s1, "--socket", b.socket_path)
    assert r.returncode == 1
    assert r.stderr.startswith('buoy: unknown backend "nosuch" (backends: pool)'), r.stderr
    r = cli("enable", "pool", "127.0.0.9:1", "--socket", b.socket_path)
    assert r.returncode == 1
    assert 'unknown server "127.0.0.9:1" in backend "pool" (servers: %s)' % s1 in r.stderr
    assert not server_of(status_json(b), "pool", s1)["drained"]
    r = cli("drain", "pool", "--socket", b.socket_path)       # usage
    assert r.returncode == 2
    r = cli("status", "--socket", os.path.join(workdir, "nope.sock"))
    assert r.returncode == 1 and "cannot connect to control socket" in r.stderr
    # reload with an invalid config: an error and a non-zero exit; the daemon keeps running
    with open(b.config_path, "a") as f:
        f.write("bogus_key: 1\n")
    r = cli("reload", "--socket", b.socket_path, timeout=30)
    assert r.returncode == 1 and r.stderr.startswith("buoy: "), (r.returncode, r.stderr)
    assert "%s:" % b.config_path in r.stderr and "bogus_key" in r.stderr, r.stderr
    assert b.alive()
    assert fetch_name(listen) == "s1"


def test_reload_through_cli_updates_status(buoy, backend):
    """`buoy reload` applies a valid config; status and /metrics then show what runs."""
    s1 = "127.0.0.2:%d" % free_port("127.0.0.2")
    s2 = "127.0.0.3:%d" % free_port("127.0.0.3")
    backend(s1, mode="name", name="s1")
    backend(s2, mode="name", name="s2")
    listen = fmt_addr(LB, free_port(LB))
    maddr = fmt_addr(LB, free_port(LB))
    b = buoy(config(listen, [s1], metrics=maddr)).wait_started()
    r = cli("drain", "pool", s1, "--socket", b.socket_path)
    assert r.returncode == 0
    with open(b.config_path) as f:
        text = f.read()
    with open(b.config_path, "w") as f:
        f.write(text.replace('      - { address: "%s" }\n' % s1,
                             '      - { address: "%s" }\n      - { address: "%s" }\n' % (s1, s2)))
    r = cli("reload", "--socket", b.socket_path, timeout=30)
    assert r.returncode == 0, r.stderr
    doc = status_json(b)
    assert [s["address"] for s in doc["backends"][0]["servers"]] == [s1, s2]
    assert server_of(doc, "pool", s2)["eligible"]
    assert server_of(doc, "pool", s1)["drained"]        # a reload keeps the operator's drain
    counts, failures = fetch_names(listen, 4)
    assert not failures and counts == {"s2": 4}, (counts, failures)
    m = samples(http(maddr, b"GET /metrics HTTP/1.0\r\n\r\n")[2].decode())
    assert 'buoy_server_up{backend="pool",server="%s"}' % s2 in m


def test_control_socket_file(buoy, backend, workdir):
    s1 = "127.0.0.2:%d" % free_port("127.0.0.2")
    backend(s1, mode="name", name="s1")
    listen = fmt_addr(LB, free_port(LB))
    sock = os.path.join(workdir, "run", "deep", "buoy.sock")
    # a stale socket file left by a killed daemon is replaced
    os.makedirs(os.path.dirname(sock))
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(sock)
    stale.close()
    b = buoy(config(listen, [s1], top="control: { socket: %s }" % sock)).wait_started()
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    assert cli("status", "--socket", sock).returncode == 0
    # a second daemon on the same socket refuses to start and leaves the first one's socket
    listen2 = fmt_addr(LB, free_port(LB))
    b2 = buoy(config(listen2, [s1], top="control: { socket: %s }" % sock), name="second")
    assert b2.wait(10) == 1
    assert "control socket failed" in b2.log()
    assert cli("status", "--socket", sock).returncode == 0
    # a client that says nothing is dropped after 5 s and blocks nobody meanwhile
    idle = socket.socket(socket.AF_UNIX)
    idle.connect(sock)
    assert cli("status", "--socket", sock).returncode == 0
    idle.settimeout(8)
    t0 = time.monotonic()
    assert idle.recv(10) == b""
    assert 3.5 < time.monotonic() - t0 < 7.5
    idle.close()
    assert b.terminate_and_wait() == 0
    assert not os.path.exists(sock)           # removed at exit


# ---------------------------------------------------------------------------------------------
# Prometheus endpoint

def http(addr, raw, timeout=5.0):
    with connect(addr, timeout=timeout) as s:
        s.sendall(raw)
        data = read_all(s, limit=16 << 20)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(l.split(": ", 1) for l in lines[1:])
    return status, headers, body


def samples(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out


def test_metrics_endpoint_promtool(buoy, backend):
    s1 = "127.0.0.2:%d" % free_port("127.0.0.2")
    s2 = "127.0.0.3:%d" % free_port("127.0.0.3")
    backend(s1, mode="name", name="s1")
    backend(s2, mode="name", name="s2")
    listen = fmt_addr(LB, free_port(LB))
    maddr = fmt_addr(LB, free_port(LB))
    b = buoy(config(listen, [s1, s2], metrics=maddr)).wait_started()
    counts, failures = fetch_names(listen, 4)
    assert not failures and sum(counts.values()) == 4
    wait_idle(b, 4)
    cli("drain", "pool", s2, "--socket", b.socket_path)

    status, headers, body = http(maddr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert int(headers["Content-Length"]) == len(body)
    text = body.decode()
    m = samples(text)
    assert m['buoy_listener_connections_total{listener="front",backend="pool"}'] == 4
    assert m['buoy_server_connections_total{backend="pool",server="%s"}' % s1] == counts["s1"]
    assert m['buoy_server_up{backend="pool",server="%s"}' % s1] == 1
    assert m['buoy_server_drained{backend="pool",server="%s"}' % s2] == 1
    assert m['buoy_server_eligible{backend="pool",server="%s"}' % s2] == 0
    assert m['buoy_server_bytes_total{backend="pool",server="%s",direction="from_server"}' % s1] \
        == 3 * counts["s1"]
    assert m['buoy_queue_length{backend="pool"}'] == 0
    assert 'buoy_build_info{version="' in text and 'node="opsnode"} 1' in text
    assert "# TYPE buoy_health_check_duration_seconds histogram" in text
    assert "buoy_vrrp_" not in text                  # no VRRP instances configured

    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed (Debian package prometheus)")
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not r.stdout.strip() and not r.stderr.strip(), r.stdout + r.stderr  # not even lint


def test_metrics_bad_requests_and_slow_clients(buoy, backend):
    s1 = "127.0.0.2:%d" % free_port("127.0.0.2")
    backend(s1, mode="name", name="s1")
    listen = fmt_addr(LB, free_port(LB))
    maddr = fmt_addr(LB, free_port(LB))
    b = buoy(config(listen, [s1], metrics=maddr)).wait_started()
    assert http(maddr, b"GET / HTTP/1.1\r\n\r\n")[0] == 404
    assert http(maddr, b"GET /metrics/x HTTP/1.1\r\n\r\n")[0] == 404
    status, headers, _ = http(maddr, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert http(maddr, b"hello\r\n\r\n")[0] == 400
    assert http(maddr, b"GET /metrics HTTP/9.9\r\n\r\n")[0] == 400
    assert http(maddr, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 20000)[0] == 431
    status, headers, body = http(maddr, b"HEAD /metrics HTTP/1.0\r\n\r\n")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 100
    assert http(maddr, b"GET /metrics?name[]=x HTTP/1.0\r\n\r\n")[0] == 200

    # a slow client (half a request, then nothing) is cut off; others are served meanwhile
    slow = connect(maddr, timeout=10)
    slow.sendall(b"GET /metr")
    t0 = time.monotonic()
    assert http(maddr, b"GET /metrics HTTP/1.1\r\n\r\n")[0] == 200
    assert slow.recv(100) == b""
    assert 3.5 < time.monotonic() - t0 < 8
    slow.close()
    # a burst of idle connections is bounded (extra ones are closed at once) and does not wedge
    # the endpoint once it is gone
    many = [connect(maddr) for _ in range(50)]
    for s in many:
        s.close()
    netns.wait_until(lambda: http(maddr, b"GET /metrics HTTP/1.1\r\n\r\n")[0] == 200,
                     timeout=3, msg="metrics served after a burst of idle connections")
    assert b.alive()


def test_prometheus_scrapes_buoy(buoy, backend, workdir):
    prom = shutil.which("prometheus")
    if not prom:
        pytest.skip("prometheus not installed (Debian package prometheus)")
    s1 = "127.0.0.2:%d" % free_port("127.0.0.2")
    backend(s1, mode="name", name="s1")
    listen = fmt_addr(LB, free_port(LB))
    maddr = fmt_addr(LB, free_port(LB))
    b = buoy(config(listen, [s1], metrics=maddr)).wait_started()
    counts, failures = fetch_names(listen, 7)
    assert not failures and counts == {"s1": 7}
    wait_idle(b, 7)

    paddr = fmt_addr(LB, free_port(LB))
    cfg = os.path.join(workdir, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global: { scrape_interval: 1s, scrape_timeout: 1s }\n"
                "scrape_configs:\n"
                "  - job_name: buoy\n"
                "    static_configs: [ { targets: ['%s'] } ]\n" % maddr)
    p = netns.Proc([prom, "--config.file=" + cfg, "--web.listen-address=" + paddr,
                    "--storage.tsdb.path=" + os.path.join(workdir, "tsdb"),
                    "--log.level=warn"],
                   log_path=os.path.join(workdir, "prometheus.log"))
    try:
        q = 'buoy_server_connections_total{backend="pool",server="%s"}' % s1
        url = "http://%s/api/v1/query?%s" % (paddr, urllib.parse.urlencode({"query": q}))

        def scraped():
            with urllib.request.urlopen(url, timeout=2) as r:
                res = json.load(r)
            assert res["status"] == "success"
            got = res["data"]["result"]
            return got if got and float(got[0]["value"][1]) == 7 else None
        result = netns.wait_until(scraped, timeout=40, interval=0.5,
                                  msg="prometheus has scraped buoy")
        assert len(result) == 1
        assert result[0]["metric"]["job"] == "buoy"
        assert result[0]["metric"]["instance"] == maddr
        assert float(result[0]["value"][1]) == 7
        # the target is healthy in Prometheus' own view
        with urllib.request.urlopen("http://%s/api/v1/targets" % paddr, timeout=2) as r:
            targets = json.load(r)["data"]["activeTargets"]
        assert [t["health"] for t in targets] == ["up"], targets
    finally:
        p.stop(timeout=5)


def test_health_state_in_status_and_metrics(buoy, backend):
    """Active check results reach `buoy status` (state, reason, counts) and /metrics."""
    ok = "127.0.0.2:%d" % free_port("127.0.0.2")
    bad = "127.0.0.3:%d" % free_port("127.0.0.3")
    backend(ok, mode="http", name="ok", status=200)
    backend(bad, mode="http", name="bad", status=500)
    listen = fmt_addr(LB, free_port(LB))
    maddr = fmt_addr(LB, free_port(LB))
    yaml_text = config(listen, [ok, bad], metrics=maddr).replace(
        "health: { type: none }",
        "health: { type: http, path: /readyz, interval: 100ms, timeout: 1s, rise: 2, fall: 2 }")
    b = buoy(yaml_text).wait_started()

    def checked():
        d = status_json(b)
        g, x = server_of(d, "pool", ok), server_of(d, "pool", bad)
        return (g, x) if g["health"]["consecutive_ok"] >= 3 and x["health"]["consecutive_fail"] >= 3 \
            else None
    good, down = netns.wait_until(checked, timeout=10, msg="checks ran")
    assert (good["state"], good["eligible"], good["health"]["last_result"]) == ("up", True, "ok")
    assert good["health"]["reason"] == "HTTP 200"
    assert good["health"]["last_check_ago_ms"] is not None and good["health"]["last_check_ago_ms"] < 2000
    assert (down["state"], down["eligible"], down["health"]["up"]) == ("down", False, False)
    assert down["health"]["reason"] == "HTTP 500" and down["health"]["last_result"] == "fail"
    r = cli("status", "--socket", b.socket_path)
    line = next(l for l in r.stdout.splitlines() if bad in l)
    assert " down " in line and "HTTP 500 (" in line and " fail, " in line, line

    m = samples(http(maddr, b"GET /metrics HTTP/1.0\r\n\r\n")[2].decode())
    lbl = 'backend="pool",server="%s"' % bad
    assert m["buoy_server_up{%s}" % lbl] == 0
    assert m["buoy_server_health_checks_failed_total{%s}" % lbl] >= 3
    checks = m['buoy_server_health_checks_total{%s}' % lbl]
    observed = m['buoy_health_check_duration_seconds_count{%s}' % lbl]
    assert checks >= 3 and observed >= 3 and abs(observed - checks) <= 1, (checks, observed)
    assert m['buoy_health_check_duration_seconds_bucket{%s,le="+Inf"}' % lbl] == observed
    assert 0 < m['buoy_health_check_duration_seconds_sum{%s}' % lbl] < observed * 1.0


# ---------------------------------------------------------------------------------------------
# VRRP in status and metrics (two nodes in network namespaces)

def test_vrrp_in_status_and_metrics(topo, buoy):
    lb1, lb2 = topo.add_host("lb1"), topo.add_host("lb2")

    def yaml_for(node, prio, ns):
        return ("node: %s\nlog: { level: info }\n"
                'metrics: { listen: "%s:9254" }\n'
                "vrrp:\n"
                "  - name: vi1\n"
                "    interface: eth0\n"
                "    router_id: 62\n"
                "    priority: %d\n"
                "    advert_interval: 100ms\n"
                "    virtual_ips: [198.18.0.100/24]\n"
                "    track: { interfaces: [ { name: eth0, weight: -10 } ] }\n"
                % (node, ns.ipv4, prio))
    b1 = buoy(yaml_for("lb1", 150, lb1), name="lb1", ns=lb1).wait_started()
    b2 = buoy(yaml_for("lb2", 100, lb2), name="lb2", ns=lb2).wait_started()

    def converged():
        d1, d2 = status_json(b1), status_json(b2)
        v1, v2 = d1["vrrp"][0], d2["vrrp"][0]
        return (v1, v2) if (v1["state"], v2["state"]) == ("master", "backup") and \
            v2["adverts_received_total"] >= 3 and v2["master"]["address"] else None
    v1, v2 = netns.wait_until(converged, timeout=10, msg="lb1 master, lb2 backup")
    assert (v1["name"], v1["interface"], v1["router_id"], v1["version"]) == ("vi1", "eth0", 62, 3)
    assert (v1["base_priority"], v1["effective_priority"]) == (150, 150)
    assert v1["vips"] == ["198.18.0.100/24"]
    assert v2["master"] == {"address": lb1.ipv4, "priority": 150}
    assert v1["transitions_total"]["master"] == 1 and v1["state_since_ago_ms"] is not None
    assert v2["transitions_total"]["master"] == 0
    assert v1["trackers"] == [{"kind": "interface", "name": "eth0", "ok": True, "state": "up",
                               "weight": -10}]
    assert set(v2["adverts_dropped_total"]) >= {"ttl", "checksum", "vrid", "auth"}

    r = cli("status", "--socket", b1.socket_path)
    assert r.returncode == 0
    row = next(l for l in r.stdout.splitlines() if l.startswith("vi1 "))
    assert row.split()[:4] == ["vi1", "master", "150/150", lb1.ipv4], row
    assert "interface:eth0=ok" in row

    text = lb1.run(["curl", "-sf", "http://%s:9254/metrics" % lb1.ipv4]).stdout
    m = samples(text)
    assert m['buoy_vrrp_state{instance="vi1",state="master"}'] == 1
    assert m['buoy_vrrp_state{instance="vi1",state="backup"}'] == 0
    assert m['buoy_vrrp_priority{instance="vi1",kind="effective"}'] == 150
    assert m['buoy_vrrp_transitions_total{instance="vi1",to="master"}'] == 1
    m2 = samples(lb2.run(["curl", "-sf", "http://%s:9254/metrics" % lb2.ipv4]).stdout)
    assert m2['buoy_vrrp_state{instance="vi1",state="backup"}'] == 1
    assert m2['buoy_vrrp_adverts_received_total{instance="vi1"}'] >= 3
    assert 'buoy_vrrp_adverts_dropped_total{instance="vi1",reason="checksum"}' in m2
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=30)
        assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr
