"""Discovery of etcd members (issue 18): a backend of kind etcd follows a real 3-member etcd
(Debian etcd-server) through its v3 JSON gateway (POST /v3/cluster/member/list) with the
backend's client certificate: a member added (and started) joins the backend after its health
checks, a learner does not, a removed member leaves. Loopback only (127.0.0.11-14).
"""
import json
import os
import ssl
import subprocess
import time
import urllib.request

import pytest

import netns
from helpers.apiserver import issue_server, make_ca, need
from helpers.client import free_port

IPS = ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14"]


def eventually(pred, timeout=20.0, step=0.1, msg=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            v = pred()
        except Exception:
            v = None
        if v:
            return v
        time.sleep(step)
    raise AssertionError(msg)


class Cluster:
    def __init__(self, d, cport, pport):
        self.d, self.cport, self.pport = d, cport, pport
        self.pki = os.path.join(d, "pki")
        make_ca(self.pki)
        self.cert, self.key = issue_server(self.pki, "etcd", IPS)
        self.ccert, self.ckey = issue_server(self.pki, "client", ["127.0.0.1"], cn="buoy")
        self.ca = os.path.join(self.pki, "ca.crt")
        self.procs = {}
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.load_cert_chain(self.ccert, self.ckey)
        self.ctx = ctx

    def start(self, i, initial, state="new"):
        ip, name = IPS[i], "e%d" % (i + 1)
        self.procs[i] = netns.Proc([
            "etcd", "--name", name, "--data-dir", os.path.join(self.d, name),
            "--listen-client-urls", "https://%s:%d" % (ip, self.cport),
            "--advertise-client-urls", "https://%s:%d" % (ip, self.cport),
            "--listen-peer-urls", "http://%s:%d" % (ip, self.pport),
            "--initial-advertise-peer-urls", "http://%s:%d" % (ip, self.pport),
            "--initial-cluster", ",".join("e%d=http://%s:%d" % (k + 1, IPS[k], self.pport) for k in initial),
            "--initial-cluster-state", state,
            "--cert-file", self.cert, "--key-file", self.key,
            "--client-cert-auth", "--trusted-ca-file", self.ca,
            "--heartbeat-interval", "50", "--election-timeout", "500",
        ], stdout=subprocess.DEVNULL, log_path=os.path.join(self.d, name + ".log"))

    def call(self, path, body, i=0):
        req = urllib.request.Request("https://%s:%d%s" % (IPS[i], self.cport, path),
                                     data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, context=self.ctx, timeout=5) as r:
            return json.loads(r.read())

    def members(self):
        return self.call("/v3/cluster/member/list", {})["members"]

    def stop_all(self):
        for p in self.procs.values():
            p.stop(timeout=5)


@pytest.fixture
def etcd(tmp_path):
    need("etcd")
    c = Cluster(str(tmp_path), free_port("127.0.0.11"), free_port("127.0.0.11"))
    for i in range(3):
        c.start(i, range(3))
    eventually(lambda: len(c.members()) == 3 and c.call("/v3/kv/range", {"key": "eA=="}),
               msg="etcd cluster up")
    yield c
    c.stop_all()


def test_etcd_members_follow(etcd, buoy):
    c = etcd
    lb = free_port()
    yaml = ("node: t\nlog: { level: info }\n"
            "listeners:\n  - { name: etcd, bind: \"127.0.0.1:%d\", backend: etcd }\n"
            "backends:\n  - name: etcd\n"
            "    health: { type: https, path: /health, interval: 200ms, timeout: 1s, rise: 2, "
            "verify: true, ca_file: %s, cert_file: %s, key_file: %s }\n"
            "    discover: { kind: etcd, interval: 300ms, timeout: 2s, retry: 200ms }\n"
            "    servers: [ { address: \"%s:%d\" } ]\n"
            % (lb, c.ca, c.ccert, c.ckey, IPS[0], c.cport))
    b = buoy(yaml).wait_started()

    def servers():
        be = b.status_json()["backends"][0]
        return be["discover"], {s["address"]: s for s in be["servers"]}

    want = lambda idx: {"%s:%d" % (IPS[i], c.cport) for i in idx}
    eventually(lambda: set(servers()[1]) == want(range(3)), msg="three members not discovered")
    d, _ = servers()
    assert d["kind"] == "etcd" and d["api"] == "member-list" and d["source"] == "discovered"
    eventually(lambda: all(s["health"]["up"] for s in servers()[1].values()), msg="members not up")

    # a learner: listed by etcd, not by buoy
    # (etcd refuses reconfiguration with 503 until its members have been connected a while)
    added = eventually(lambda: c.call("/v3/cluster/member/add", {
        "peerURLs": ["http://%s:%d" % (IPS[3], c.pport)], "isLearner": True}), msg="member add")
    c.start(3, range(4), state="existing")
    eventually(lambda: any(m.get("name") == "e4" for m in c.members()), msg="learner not started")
    time.sleep(1.0)  # several polls
    assert set(servers()[1]) == want(range(3))
    # promoted: a voting member now, it joins (down until its checks pass, then up)
    mid = added["member"]["ID"]
    eventually(lambda: c.call("/v3/cluster/member/promote", {"ID": mid}), msg="promote")
    eventually(lambda: set(servers()[1]) == want(range(4)), msg="member 4 not added")
    eventually(lambda: servers()[1]["%s:%d" % (IPS[3], c.cport)]["health"]["up"], msg="e4 down")

    # removed: it leaves the backend
    e2 = [m for m in c.members() if m.get("name") == "e2"][0]
    eventually(lambda: c.call("/v3/cluster/member/remove", {"ID": e2["ID"]}), msg="remove")
    eventually(lambda: set(servers()[1]) == want([0, 2, 3]), msg="member 2 not removed")
    assert 'msg="discovery applied" backend=etcd servers=3' in b.log()
