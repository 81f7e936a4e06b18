"""Discovery (issue 18): a backend's servers follow the `default/kubernetes` EndpointSlices of a
stand-in API server (helpers/fakeapi.py: TLS, bearer token / client certificate, LIST + chunked
WATCH, faults on command), reached through the backend's static server, never worse than the
static list.

Loopback only (127.0.0.2-6, one port): every address runs an instance of the stand-in, which
also answers /readyz (buoy's https health check) and /name (which server a proxied TLS request
reached). One module-wide setup (PKI, API, kubeconfigs); each test starts its own buoy.
"""
import base64
import os
import re
import urllib.request
import socket
import ssl
import time

import pytest

from netns import eventually

from helpers.apiserver import issue_server, make_ca
from helpers.client import free_port
from helpers.fakeapi import FakeAPI
from helpers.status import ctl

TOKEN = "buoy-discovery-token"
IPS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"]




@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("discover"))
    make_ca(os.path.join(d, "pki"))
    cert, key = issue_server(os.path.join(d, "pki"), "apiserver", IPS)
    other = os.path.join(d, "other")
    make_ca(other)  # a CA that signed nothing here: the wrong-CA case
    port = free_port("127.0.0.2")
    client_cert, client_key = issue_server(os.path.join(d, "pki"), "buoy-client", ["127.0.0.1"], cn="buoy")
    api = FakeAPI(cert, key, token=TOKEN, ca=os.path.join(d, "pki", "ca.crt"))
    for i, ip in enumerate(IPS):
        api.listen(ip, port, "api%d" % (i + 1))
    api.set_endpoints([(IPS[0], port), (IPS[1], port), (IPS[2], port)])

    def kubeconfig(name, token=TOKEN, ca_dir="pki", user=None):
        ca = open(os.path.join(d, ca_dir, "ca.crt"), "rb").read()
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: buoy\n"
                    "clusters:\n- name: k\n  cluster:\n    server: https://apiserver.test:%d\n"
                    "    certificate-authority-data: %s\n"
                    "contexts:\n- name: buoy\n  context: {cluster: k, user: buoy}\n"
                    "users:\n- name: buoy\n  user: %s\n"
                    % (port, base64.b64encode(ca).decode(), user or "{token: %s}" % token))
        return path

    e = type("Env", (), {})()
    e.dir, e.port, e.api = d, port, api
    e.kc = kubeconfig("good.conf")
    e.kc_badtoken = kubeconfig("badtoken.conf", token="wrong")
    e.kc_badca = kubeconfig("badca.conf", ca_dir="other")
    b64 = lambda p: base64.b64encode(open(p, "rb").read()).decode()
    # kubeadm's admin.conf shape: inline client certificate and key, no token
    e.kc_cert = kubeconfig("cert.conf", user="{client-certificate-data: %s, client-key-data: %s}"
                           % (b64(client_cert), b64(client_key)))
    yield e
    api.stop_all()


def config(env, kc, lb_port, extra=""):
    return ("node: t\nlog: { level: info }\n"
            "listeners:\n  - { name: api, bind: \"127.0.0.1:%d\", backend: apis }\n"
            "backends:\n  - name: apis\n"
            "    health: { type: https, path: /readyz, interval: 100ms, timeout: 500ms, rise: 2, fall: 1 }\n"
            "    discover: { kubeconfig: %s, timeout: 1s, stall_timeout: 1500ms, retry: 200ms%s }\n"
            "    servers: [ { address: \"%s:%d\" } ]\n" % (lb_port, kc, extra, IPS[0], env.port))


def fetch(lb_port):
    """One TLS GET /name through buoy: the instance's name, or an exception."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", lb_port), timeout=3) as s:
        with ctx.wrap_socket(s) as t:
            t.sendall(b"GET /name HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                b = t.recv(4096)
                if not b:
                    break
                data += b
    return data.decode().rsplit("\n", 2)[-2]


def read_name(t):
    """One response on a TLS connection (Content-Length): the body's name."""
    data = b""
    while b"\r\n\r\n" not in data:
        b = t.recv(4096)
        assert b, "connection closed"
        data += b
    head, body = data.split(b"\r\n\r\n", 1)
    n = int([ln.split(b":")[1] for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")][0])
    while len(body) < n:
        b = t.recv(4096)
        assert b, "connection closed"
        body += b
    return body.decode().strip()


def names(lb_port, n=30):
    out = {}
    for _ in range(n):
        nm = fetch(lb_port)  # any client error fails the test
        out[nm] = out.get(nm, 0) + 1
    return out


def disc(b):
    be = b.status_json()["backends"][0]
    return be["discover"], {s["address"]: s for s in be["servers"]}


def addr(env, i):
    return "%s:%d" % (IPS[i], env.port)


def test_follows_slice_through_health_checks(env, buoy):
    api = env.api
    api.set_endpoints([(IPS[0], env.port), (IPS[1], env.port), (IPS[2], env.port)])
    lb = free_port()
    b = buoy(config(env, env.kc, lb)).wait_started()
    eventually(lambda: disc(b)[0]["source"] == "discovered" and disc(b)[0]["state"] == "watching",
               msg="discovery never applied")
    eventually(lambda: set(names(lb, 12)) == {"api1", "api2", "api3"}, msg="not all three in rotation")
    d, servers = disc(b)
    assert d["servers"] == 3 and d["kind"] == "apiserver" and d["api"] == "endpointslices"
    assert d["resource_version"] and d["last_error"] == ""
    rc, text, _ = ctl(b, "status")
    assert "discover apis: discovered, watching via endpointslices, rv %s, 3 servers\n" % d["resource_version"] in text, text
    # a fourth apiserver appears, not ready yet: listed but no traffic until its checks pass
    api.set_ready(IPS[3], False)
    api.set_endpoints([(IPS[i], env.port) for i in range(4)])
    eventually(lambda: addr(env, 3) in disc(b)[1], msg="api4 not added")
    time.sleep(0.5)
    assert "api4" not in names(lb, 20)
    assert disc(b)[1][addr(env, 3)]["health"]["up"] is False
    api.set_ready(IPS[3], True)
    eventually(lambda: "api4" in names(lb, 12), msg="api4 never got traffic")
    # one marked not ready, one terminating: out of rotation; an established connection stays
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    held = []
    for _ in range(8):  # connections to every server, kept open
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", lb), timeout=3))
        s.sendall(b"GET /name HTTP/1.1\r\nHost: x\r\n\r\n")
        held.append((s, read_name(s)))
    api.set_endpoints([(IPS[0], env.port), (IPS[1], env.port, {"ready": False}),
                       (IPS[2], env.port, {"terminating": True}), (IPS[3], env.port)])
    eventually(lambda: set(disc(b)[1]) == {addr(env, 0), addr(env, 3)}, msg="not removed")
    assert set(names(lb, 12)) == {"api1", "api4"}
    for s, nm in held:  # keep-alive: the same connection answers again, same server
        s.sendall(b"GET /name HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_name(s) == nm
        s.close()
    reloads = [ln for ln in b.log().splitlines() if 'msg="reloaded"' in ln]
    assert reloads and all("source=discovery" in ln for ln in reloads)  # none by an operator


def test_faults_keep_last_good_list(env, buoy):
    api = env.api
    good = [(IPS[0], env.port), (IPS[1], env.port)]
    api.set_endpoints(good)
    lb, mport = free_port(), free_port()
    b = buoy(config(env, env.kc, lb) + "metrics: { listen: \"127.0.0.1:%d\" }\n" % mport).wait_started()
    eventually(lambda: disc(b)[0]["servers"] == 2 and disc(b)[0]["state"] == "watching")

    def kept(reason, serving=("api1", "api2")):
        eventually(lambda: reason in disc(b)[0]["last_error"], msg="no %r in status" % reason)
        assert set(disc(b)[1]) == {addr(env, 0), addr(env, 1)}
        assert set(names(lb, 8)) == set(serving)

    def recovered():
        eventually(lambda: disc(b)[0]["last_error"] == "" and disc(b)[0]["state"] == "watching",
                   timeout=10, msg="no recovery")

    # an empty list from the API is never applied
    api.set_empty(True)
    kept("empty list not applied")
    api.set_empty(False)
    recovered()
    # garbage on the watch
    api.garbage()
    kept("watch event")
    recovered()
    # watch dropped
    errors = disc(b)[0]["errors_total"]
    api.drop_watches()
    eventually(lambda: disc(b)[0]["errors_total"] > errors)
    recovered()
    assert set(disc(b)[1]) == {addr(env, 0), addr(env, 1)}
    # stalled: no bytes for longer than stall_timeout
    api.stall(True)
    kept("stalled")
    api.stall(False)
    recovered()
    # 410 Gone: re-list, no error
    relists = disc(b)[0]["relists_total"]
    api.expire()
    eventually(lambda: disc(b)[0]["relists_total"] > relists, msg="no re-list after 410")
    recovered()
    # the seed down: discovery goes on directly through a server it discovered (api2)
    errors = disc(b)[0]["errors_total"]
    api.stop(IPS[0])  # (it is a backend too: its health check takes it out of traffic)
    eventually(lambda: disc(b)[0]["errors_total"] > errors, msg="the seed's loss not seen")
    recovered()
    api.set_endpoints([(IPS[1], env.port), (IPS[2], env.port)])  # a change, seed still down
    eventually(lambda: set(disc(b)[1]) == {addr(env, 1), addr(env, 2)}, msg="change lost")
    eventually(lambda: set(names(lb, 12)) == {"api2", "api3"}, msg="api3 never served")
    # every instance buoy could reach the API through down: the last list stays
    api.stop(IPS[1])
    api.stop(IPS[2])
    eventually(lambda: "connect" in disc(b)[0]["last_error"], msg="no connect error in status")
    time.sleep(0.5)
    assert set(disc(b)[1]) == {addr(env, 1), addr(env, 2)}
    for i in range(3):
        api.listen(IPS[i], env.port, "api%d" % (i + 1))
    recovered()
    # and a change after all that still arrives
    api.set_endpoints([(IPS[0], env.port), (IPS[2], env.port)])
    eventually(lambda: set(disc(b)[1]) == {addr(env, 0), addr(env, 2)}, msg="change lost")
    metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5).read().decode()
    val = lambda name: float(re.search(r'^%s\{backend="apis"\} (\S+)$' % name, metrics, re.M).group(1))
    assert val("buoy_discover_servers") == 2 and val("buoy_discover_healthy") == 1
    assert val("buoy_discover_errors_total") >= 5 and val("buoy_discover_relists_total") >= 1
    assert val("buoy_discover_applies_total") >= 2 and val("buoy_discover_events_total") >= 3
    assert abs(val("buoy_discover_last_update_timestamp_seconds") - time.time()) < 60


@pytest.mark.parametrize("which,reason", [("badtoken", "HTTP 401"),
                                          ("badca", "certificate verify failed")])
def test_bad_credentials_keep_static(env, buoy, which, reason):
    env.api.set_endpoints([(IPS[1], env.port), (IPS[2], env.port)])
    lb = free_port()
    b = buoy(config(env, getattr(env, "kc_" + which), lb)).wait_started()
    eventually(lambda: reason in disc(b)[0]["last_error"], msg="no %r" % reason)
    d, servers = disc(b)
    assert d["source"] == "static" and d["servers"] == 0
    assert set(servers) == {addr(env, 0)}
    assert set(names(lb, 6)) == {"api1"}
    assert "discovery failed" in b.log() and reason in b.log()
    rc, text, _ = ctl(b, "status")
    assert rc == 0 and "discover apis: static" in text and reason in text, text


def test_client_certificate_and_endpoints_fallback(env, buoy):
    """admin.conf-style client-certificate auth; a cluster without the EndpointSlice API: the
    v1 Endpoints after a 404 (api: auto)."""
    api = env.api
    api.set_endpoints([(IPS[0], env.port), (IPS[4], env.port), (IPS[3], env.port, {"ready": False})])
    api.state.slices_api = False
    try:
        lb = free_port()
        b = buoy(config(env, env.kc_cert, lb)).wait_started()
        eventually(lambda: disc(b)[0]["api"] == "endpoints" and disc(b)[0]["state"] == "watching",
                   msg="no fallback to Endpoints")
        eventually(lambda: set(disc(b)[1]) == {addr(env, 0), addr(env, 4)}, msg="not applied")
        eventually(lambda: set(names(lb, 10)) == {"api1", "api5"}, msg="not in rotation")
        assert 'no EndpointSlice API, using Endpoints' in b.log()
        assert any("endpoints?fieldSelector" in p and "watch=1" in p and a == ""
                   for p, a in api.state.requests)  # watched, with no token: the certificate
    finally:
        api.state.slices_api = True
