"""Active health checks against real servers in network namespaces (issue 3).

Topology (one per test): lb1 runs buoy, api1..3 run Debian nginx over TLS as kube-apiserver
stand-ins whose /readyz answers 200 while a file exists and 500 once it is removed, plus a
blackhole host that accepts TCP and never answers, a host with a self-signed certificate, and a
real etcd with client-certificate authentication. Everything lives in namespaces named
buoyt-<pid>-*, addresses from 198.18.0.0/15, removed by the fixtures even on failure.
"""
import json
import os
import re
import subprocess
import textwrap
import time

import pytest

import netns
from helpers.apiserver import (APIS, Nginx, ec_key_req as _ec_key_req, need,
                               openssl_run as _openssl, sign as _sign)

LB = "198.18.0.11"
BLACK = "198.18.0.24"
BADCERT = "198.18.0.25"
ETCD = "198.18.0.31"
CLIENT = "198.18.0.100"

pytestmark = pytest.mark.usefixtures("root")


@pytest.fixture
def pki(tmp_path):
    need("openssl")
    d = str(tmp_path / "pki")
    os.makedirs(d)
    _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=buoy-test-ca"], d)
    ips = list(APIS.values()) + [BADCERT, ETCD, "127.0.0.1"]
    san = ",".join("IP:" + ip for ip in ips) + ",DNS:apiserver.test,DNS:localhost"
    _ec_key_req(d, "server", "/CN=apiserver.test")
    _sign(d, "server", "subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n" % san)
    _ec_key_req(d, "client", "/CN=buoy-health")
    _sign(d, "client", "extendedKeyUsage=clientAuth\n")
    _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-keyout", "bad.key", "-out", "bad.crt", "-days", "2", "-subj", "/CN=bad",
              "-addext", "subjectAltName=IP:%s" % BADCERT], d)
    return {k: os.path.join(d, k) for k in
            ("ca.crt", "server.crt", "server.key", "client.crt", "client.key", "bad.crt", "bad.key")}


def start_blackhole(ns, ip, port=6443):
    """Accepts TCP (the kernel completes the handshake) and never sends a byte. Bounded life."""
    code = textwrap.dedent("""\
        import socket, time
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((%r, %d))
        s.listen(4096)
        print("ready", flush=True)
        time.sleep(300)
        """) % (ip, port)
    p = ns.popen([netns.PYTHON, "-u", "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().startswith("ready")
    return p


def buoy_yaml(backends, listeners=None, level="info"):
    """A config for lb1; without explicit listeners each backend gets one (buoy needs something
    to do) on LB:16000+i."""
    if listeners is None:
        listeners = [("l%d" % i, "%s:%d" % (LB, 16000 + i), b["name"])
                     for i, b in enumerate(backends)]
    out = ["node: lb1", "log: { level: %s }" % level]
    if listeners:
        out.append("listeners:")
        for name, bind, backend in listeners:
            out.append('  - { name: %s, bind: "%s", backend: %s }' % (name, bind, backend))
    out.append("backends:")
    for b in backends:
        out.append("  - name: %s" % b["name"])
        out.append("    health: %s" % b["health"])
        out.append("    servers:")
        for s in b["servers"]:
            out.append('      - { address: "%s" }' % s)
    return "\n".join(out) + "\n"


def down_line(backend, server, reason_rx, checks=None):
    rx = r'msg="server down" backend=%s server=%s reason="%s"' % (
        re.escape(backend), re.escape(server), reason_rx)
    if checks is not None:
        rx += r" checks_failed=%d\b" % checks
    return rx


def up_line(backend, server, checks=None):
    rx = r'msg="server up" backend=%s server=%s reason="[^"]*"' % (re.escape(backend),
                                                                   re.escape(server))
    if checks is not None:
        rx += r" checks_ok=%d\b" % checks
    return rx


@pytest.fixture
def apis(topo, pki):
    """lb1, client and three nginx apiservers (all ready)."""
    lb = topo.add_host("lb1", ipv4=LB)
    client = topo.add_host("client", ipv4=CLIENT)
    servers = {}
    for name, ip in APIS.items():
        ns = topo.add_host(name, ipv4=ip)
        servers[name] = Nginx(ns, ip, name, pki["server.crt"], pki["server.key"], topo.workdir)
    return lb, client, servers


CLIENT_LOOP = textwrap.dedent("""\
    import collections, json, socket, ssl, sys, time
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    counts, fails, errors = collections.Counter(), 0, collections.Counter()
    deadline = time.monotonic() + 90
    done = 0
    for i in range(n):
        if time.monotonic() > deadline:
            break
        done += 1
        try:
            with socket.create_connection((host, port), timeout=5) as s:
                with ctx.wrap_socket(s) as t:
                    t.sendall(b"GET /name HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
                    data = b""
                    while True:
                        d = t.recv(4096)
                        if not d:
                            break
                        data += d
            head, _, body = data.partition(b"\\r\\n\\r\\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head[:40])
            counts[body.decode().strip()] += 1
        except Exception as e:
            fails += 1
            errors[type(e).__name__ + ": " + str(e)[:60]] += 1
    print(json.dumps({"done": done, "fails": fails, "counts": counts, "errors": errors}))
    """)


def client_loop(client, host, port, n):
    r = client.run([netns.PYTHON, "-c", CLIENT_LOOP, host, str(port), str(n)], timeout=120)
    return json.loads(r.stdout)


# ---------------------------------------------------------------------------------------------

def test_readyz_flip_down_and_back_with_rise(apis, buoy, pki):
    """/readyz 500 takes a server out after `fall` checks with reason "HTTP 500"; while it is
    out, 500 connections through buoy never fail and never reach it; back to 200, it returns
    after `rise` checks."""
    lb, client, servers = apis
    yaml = buoy_yaml(
        [{"name": "apiservers",
          "health": "{ type: https, path: /readyz, interval: 200ms, timeout: 500ms, rise: 3, "
                    "fall: 2, verify: true, ca_file: %s }" % pki["ca.crt"],
          "servers": [s.addr() for s in servers.values()]}],
        listeners=[("apiserver", LB + ":6443", "apiservers")])
    b = buoy(yaml, ns=lb)
    b.wait_log(r'msg="health checks started" backend=apiservers check=https servers=3', timeout=5)
    time.sleep(1.0)  # every server has passed its first checks (initial up confirmed)
    assert 'msg="server down"' not in b.log()

    api2 = servers["api2"]
    api2.set_ready(False)
    t0 = time.monotonic()
    b.wait_log(down_line("apiservers", api2.addr(), "HTTP 500", checks=2), timeout=5)
    took = time.monotonic() - t0
    # two failed checks 200ms (±15%) apart, plus the wait for the first one: ~0.4-0.7s; the
    # bound leaves room for a busy machine
    print("readyz 500 -> server down in %.3fs" % took)
    assert took < 2.5, took
    log = b.log()
    assert len(re.findall(r'msg="server down" backend=apiservers', log)) == 1, log
    assert 'msg="backend down"' not in log

    res = client_loop(client, LB, 6443, 500)
    print("500 connections while api2 is down: %s" % res)
    assert res["done"] == 500, res
    assert res["fails"] == 0, res
    assert res["counts"].get("api2", 0) == 0, res
    assert res["counts"].get("api1", 0) > 100 and res["counts"].get("api3", 0) > 100, res

    api2.set_ready(True)
    t1 = time.monotonic()
    b.wait_log(up_line("apiservers", api2.addr(), checks=3), timeout=5)
    back = time.monotonic() - t1
    print("readyz 200 -> server up in %.3fs (rise 3)" % back)
    assert back >= 0.25   # three checks ~200ms apart: not on the first good one
    res = client_loop(client, LB, 6443, 60)
    assert res["fails"] == 0 and res["counts"].get("api2", 0) > 0, res
    # each transition logged exactly once
    log = b.log()
    assert len(re.findall(r'msg="server down" backend=apiservers', log)) == 1, log
    assert len(re.findall(r'msg="server up" backend=apiservers', log)) == 1, log


def test_killed_server_is_down_refused_and_back_when_restarted(apis, buoy):
    """The apiserver process dies: "connection refused" within `fall` checks, no client sees
    it, and the restarted server is back after `rise` checks."""
    lb, client, servers = apis
    yaml = buoy_yaml(
        [{"name": "apiservers",
          "health": "{ type: https, interval: 200ms, timeout: 500ms, rise: 2, fall: 2 }",
          "servers": [s.addr() for s in servers.values()]}],
        listeners=[("apiserver", LB + ":6443", "apiservers")])
    b = buoy(yaml, ns=lb)
    b.wait_log(r'msg="health checks started" backend=apiservers', timeout=5)
    time.sleep(0.6)
    api1 = servers["api1"]
    api1.kill()
    b.wait_log(down_line("apiservers", api1.addr(), "connection refused", checks=2), timeout=5)
    res = client_loop(client, LB, 6443, 500)
    print("500 connections while api1 is dead: %s" % res)
    assert res["done"] == 500 and res["fails"] == 0, res
    assert res["counts"].get("api1", 0) == 0, res
    api1.start()
    b.wait_log(up_line("apiservers", api1.addr(), checks=2), timeout=5)


def test_blackhole_is_down_by_timeout(topo, pki, buoy):
    """A server that accepts TCP and never answers fails by `timeout`, while a real one stays up.
    With type tcp the same blackhole counts as up: only http(s) sees through it."""
    lb = topo.add_host("lb1", ipv4=LB)
    api1 = Nginx(topo.add_host("api1", ipv4=APIS["api1"]), APIS["api1"], "api1",
                 pki["server.crt"], pki["server.key"], topo.workdir)
    start_blackhole(topo.add_host("black", ipv4=BLACK), BLACK)
    black = BLACK + ":6443"
    yaml = buoy_yaml([
        {"name": "apiservers",
         "health": "{ type: https, interval: 200ms, timeout: 400ms, rise: 2, fall: 2 }",
         "servers": [api1.addr(), black]},
        {"name": "tcponly", "health": "{ type: tcp, interval: 200ms, timeout: 400ms }",
         "servers": [black]},
    ])
    b = buoy(yaml, ns=lb)
    # tls handshake never completes: the reason names the phase that timed out
    b.wait_log(down_line("apiservers", black, "timeout in TLS handshake"), timeout=5)
    time.sleep(1.0)
    log = b.log()
    assert not re.search(down_line("apiservers", api1.addr(), ".*"), log), log
    assert not re.search(r'msg="server down" backend=tcponly', log), log


def test_bad_certificate_with_verify_is_down_with_tls_reason(topo, pki, buoy):
    """verify: true against a self-signed certificate: down, and the log says why."""
    lb = topo.add_host("lb1", ipv4=LB)
    good = Nginx(topo.add_host("api1", ipv4=APIS["api1"]), APIS["api1"], "api1",
                 pki["server.crt"], pki["server.key"], topo.workdir)
    bad = Nginx(topo.add_host("bad", ipv4=BADCERT), BADCERT, "bad", pki["bad.crt"],
                pki["bad.key"], topo.workdir)
    yaml = buoy_yaml([
        {"name": "verified",
         "health": "{ type: https, interval: 200ms, timeout: 500ms, verify: true, ca_file: %s }"
                   % pki["ca.crt"],
         "servers": [good.addr(), bad.addr()]},
        # default verify: false (kubeadm's `verify none`): the same bad server is fine
        {"name": "unverified", "health": "{ type: https, interval: 200ms, timeout: 500ms }",
         "servers": [bad.addr()]},
        # the name is checked too: the good certificate does not name wrong.test
        {"name": "wrongname",
         "health": "{ type: tls, host: wrong.test, interval: 200ms, verify: true, ca_file: %s }"
                   % pki["ca.crt"],
         "servers": [good.addr()]},
    ])
    b = buoy(yaml, ns=lb)
    b.wait_log(down_line("verified", bad.addr(),
                         r"TLS: certificate verify failed \(self-signed certificate\)"), timeout=5)
    b.wait_log(down_line("wrongname", good.addr(),
                         r"TLS: certificate verify failed \(hostname mismatch\)"), timeout=5)
    time.sleep(0.8)
    log = b.log()
    assert not re.search(down_line("verified", good.addr(), ".*"), log), log
    assert not re.search(r'msg="server down" backend=unverified', log), log


def test_all_down_is_logged_every_interval_and_checks_go_on(apis, buoy):
    """Every server failing: an error once per interval (not per check), checks continue, and
    the first server to recover ends it."""
    lb, client, servers = apis
    for s in servers.values():
        s.set_ready(False)
    yaml = buoy_yaml(
        [{"name": "apiservers",
          "health": "{ type: https, interval: 250ms, timeout: 500ms, rise: 1, fall: 1 }",
          "servers": [s.addr() for s in servers.values()]}])
    b = buoy(yaml, ns=lb)
    b.wait_log(r'level=error msg="backend down" backend=apiservers servers=3 servers_up=0',
               timeout=5)
    time.sleep(2.0)
    n = len(re.findall(r'msg="backend down" backend=apiservers', b.log()))
    # 2 s at one line per 250ms interval: about 8; one per check would be about 24
    assert 4 <= n <= 12, n
    # fail open, as the log line says: clients still reach the (not ready, but alive) servers
    res = client_loop(client, LB, 16000, 30)
    assert res["done"] == 30 and res["fails"] == 0, res
    servers["api3"].set_ready(True)
    b.wait_log(r'msg="backend up" backend=apiservers servers=3 servers_up=1', timeout=5)
    b.wait_log(up_line("apiservers", servers["api3"].addr(), checks=1), timeout=1)


def test_initial_state_down_needs_rise(apis, buoy):
    """initial_state: down: no traffic until `rise` good checks; then "server up" once each."""
    lb, client, servers = apis
    yaml = buoy_yaml(
        [{"name": "apiservers",
          "health": "{ type: https, interval: 200ms, rise: 2, initial_state: down }",
          "servers": [s.addr() for s in servers.values()]}])
    b = buoy(yaml, ns=lb)
    for s in servers.values():
        b.wait_log(up_line("apiservers", s.addr(), checks=2), timeout=5)
    assert len(re.findall(r'msg="server up"', b.log())) == 3


def test_etcd_health_with_client_certificates(topo, pki, buoy):
    """A real etcd requiring client certificates, checked over https /health: up with the
    certificate, down with the TLS alert without it, and "connection refused" once it stops."""
    need("etcd")
    lb = topo.add_host("lb1", ipv4=LB)
    ens = topo.add_host("etcd1", ipv4=ETCD)
    data = os.path.join(topo.workdir, "etcd1.data")
    etcd = ens.popen([
        "etcd", "--name", "etcd1", "--data-dir", data,
        "--listen-client-urls", "https://%s:2379" % ETCD,
        "--advertise-client-urls", "https://%s:2379" % ETCD,
        "--listen-peer-urls", "http://%s:2380" % ETCD,
        "--initial-advertise-peer-urls", "http://%s:2380" % ETCD,
        "--initial-cluster", "etcd1=http://%s:2380" % ETCD,
        "--cert-file", pki["server.crt"], "--key-file", pki["server.key"],
        "--client-cert-auth", "--trusted-ca-file", pki["ca.crt"],
    ], stdout=subprocess.DEVNULL, log_path=os.path.join(topo.workdir, "etcd1.log"))
    netns.wait_port(ETCD, 2379, timeout=20, ns=ens)
    # a fresh single-node etcd answers 503 until it has elected itself: wait for that first
    curl = ["curl", "-s", "--cacert", pki["ca.crt"], "--cert", pki["client.crt"], "--key",
            pki["client.key"], "https://%s:2379/health" % ETCD]
    netns.wait_until(lambda: '"health":"true"' in lb.run(curl, check=False).stdout, timeout=20,
                     msg="etcd healthy")
    addr = ETCD + ":2379"
    yaml = buoy_yaml([
        {"name": "etcd",
         "health": "{ type: https, path: /health, interval: 200ms, timeout: 1s, verify: true, "
                   "ca_file: %s, cert_file: %s, key_file: %s }"
                   % (pki["ca.crt"], pki["client.crt"], pki["client.key"]),
         "servers": [addr]},
        {"name": "nocert",
         "health": "{ type: https, path: /health, interval: 200ms, timeout: 1s }",
         "servers": [addr]},
    ], level="debug")
    b = buoy(yaml, ns=lb)
    # etcd answers {"health":"true"} with 200 once it has a leader
    netns.wait_until(lambda: len(re.findall(
        r'msg="health check" backend=etcd server=%s result=ok reason="HTTP 200"' % re.escape(addr),
        b.log())) >= 3, timeout=15, msg="three good etcd checks")
    b.wait_log(down_line("nocert", addr, r"TLS: [^\"]*(bad certificate|certificate required)[^\"]*"),
               timeout=5)
    assert not re.search(down_line("etcd", addr, ".*"), b.log())
    etcd.stop(timeout=5)
    b.wait_log(down_line("etcd", addr, "connection refused"), timeout=5)
