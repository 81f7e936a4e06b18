"""Discovery through a VIP, in network namespaces (issue 18, cases 1 to 4 with real traffic
through the VIP): lb1 holds the VIP (VRRP) and balances to apiservers the stand-in API server
(helpers/fakeapi.py, its own process in the `api` namespace, one address per apiserver)
publishes in the `kubernetes` EndpointSlice; a client namespace connects to the VIP.
A fourth apiserver gets traffic only after its health checks pass, with no client error and no
reload; one marked not ready leaves the rotation while an established connection through the
VIP keeps working. Then, while a client loop runs through the VIP: the API answers garbage,
drops and stalls its watch, expires it (410), sends an empty list, and refuses a wrong token
(the API unreachable is test_discover.py's: here the API and the apiservers share a namespace); each time the last good list stays, status says why, no client sees an error, and
discovery recovers by itself.
"""
import base64
import os
import sys
import time

import netns
from netns import eventually
from helpers.apiserver import issue_server, make_ca
from helpers.conn_loop import ConnLoop
from helpers.fakeapi import command

VIP = "198.18.0.100"
APIS = ["198.18.0.21", "198.18.0.22", "198.18.0.23", "198.18.0.24"]
PORT = 6443
FAKEAPI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers", "fakeapi.py")

# Runs in the client namespace: N TLS GETs of /name through the VIP; prints names, one a line
# (an exception, i.e. any client error, fails the run).
CLIENT = r'''
import socket, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
def ask(t, close):
    t.sendall(b"GET /name HTTP/1.1\r\nHost: x\r\n%s\r\n" % (b"Connection: close\r\n" if close else b""))
    data = b""
    while b"\r\n\r\n" not in data: data += t.recv(4096)
    head, body = data.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n: body += t.recv(4096)
    return body.decode().strip()
for _ in range(int(sys.argv[1])):
    with ctx.wrap_socket(socket.create_connection(("VIPADDR", VIPPORT), timeout=3)) as t:
        print(ask(t, True))
'''


def names(client, n):
    r = client.run([sys.executable, "-c", CLIENT.replace("VIPADDR", VIP).replace("VIPPORT", str(PORT)), str(n)], timeout=60)
    out = {}
    for nm in r.stdout.split():
        out[nm] = out.get(nm, 0) + 1
    return out




def test_fourth_apiserver_through_the_vip(topo, buoy):
    d = topo.workdir
    make_ca(os.path.join(d, "pki"))
    # like kubeadm: the control-plane endpoint (the VIP) is in every apiserver certificate
    cert, key = issue_server(os.path.join(d, "pki"), "apiserver", APIS + [VIP])
    lb = topo.add_host("lb1", ipv4="198.18.0.11")
    api = topo.add_host("api", ipv4=APIS[0])
    for ip in APIS[1:]:
        api.run(["ip", "addr", "add", ip + "/24", "dev", "eth0"])
    client = topo.add_host("client", ipv4="198.18.0.50")
    ctl = os.path.join(d, "fakeapi.sock")
    api.popen([sys.executable, FAKEAPI, "--cert", cert, "--key", key, "--token", "tok",
               "--port", str(PORT), "--control", ctl]
              + sum([["--listen", "%s=api%d" % (ip, i + 1)] for i, ip in enumerate(APIS)], []),
              log_path=os.path.join(d, "fakeapi.log"))
    eventually(lambda: os.path.exists(ctl), msg="fake API not up")
    command(ctl, cmd="endpoints", eps=[[ip, PORT] for ip in APIS[:3]])
    command(ctl, cmd="ready", ip=APIS[3], ready=False)
    kc = os.path.join(d, "kubeconfig")
    ca = base64.b64encode(open(os.path.join(d, "pki", "ca.crt"), "rb").read()).decode()

    def kubeconfig(token):  # admin.conf names the VIP: buoy must not go through it
        with open(kc + ".new", "w") as f:
            f.write("current-context: c\nclusters:\n- name: k\n  cluster: {server: 'https://%s:%d', "
                    "certificate-authority-data: %s}\ncontexts:\n- {name: c, context: {cluster: k, "
                    "user: u}}\nusers:\n- {name: u, user: {token: %s}}\n" % (VIP, PORT, ca, token))
        os.rename(kc + ".new", kc)

    kubeconfig("tok")
    yaml = ("node: lb1\nlog: { level: info }\n"
            "vrrp:\n  - { name: vi1, interface: eth0, router_id: 51, priority: 150, "
            "advert_interval: 100ms, virtual_ips: [%s/24] }\n"
            "listeners:\n  - { name: api, bind: \":%d\", backend: apis }\n"
            "backends:\n  - name: apis\n"
            "    health: { type: https, path: /readyz, interval: 100ms, timeout: 500ms, rise: 2, fall: 1 }\n"
            "    discover: { kubeconfig: %s, timeout: 1s, stall_timeout: 1s, retry: 200ms }\n"
            "    servers: [ { address: \"%s:%d\" } ]\n" % (VIP, PORT, kc, APIS[0], PORT))
    b = buoy(yaml, ns=lb).wait_started()
    eventually(lambda: lb.has_address(VIP), msg="no VIP")

    def servers():
        be = b.status_json()["backends"][0]
        return {s["address"]: s for s in be["servers"]}

    eventually(lambda: len(servers()) == 3 and all(s["health"]["up"] for s in servers().values()),
               msg="three apiservers not up")
    assert set(names(client, 12)) == {"api1", "api2", "api3"}
    # a fourth appears, not ready yet: listed, no traffic; then ready: traffic
    command(ctl, cmd="endpoints", eps=[[ip, PORT] for ip in APIS])
    eventually(lambda: "%s:%d" % (APIS[3], PORT) in servers(), msg="api4 not added")
    assert "api4" not in names(client, 16)
    command(ctl, cmd="ready", ip=APIS[3], ready=True)
    eventually(lambda: "api4" in names(client, 8), msg="api4 never got traffic")
    # one marked not ready: out of the rotation
    command(ctl, cmd="endpoints", eps=[[APIS[0], PORT], [APIS[1], PORT, {"ready": False}],
                                       [APIS[2], PORT], [APIS[3], PORT]])
    eventually(lambda: "%s:%d" % (APIS[1], PORT) not in servers(), msg="api2 not removed")
    assert set(names(client, 12)) == {"api1", "api3", "api4"}
    reloads = [ln for ln in b.log().splitlines() if 'msg="reloaded"' in ln]
    assert reloads and all("source=discovery" in ln for ln in reloads)
    # the API was reached through the static server, never through the VIP
    assert "via=%s:%d" % (VIP, PORT) not in b.log()

    # case 3 and 4 under traffic: every fault keeps the last good list (api1, api3, api4)
    def disc():
        return b.status_json()["backends"][0]["discover"]

    good = {"%s:%d" % (ip, PORT) for ip in (APIS[0], APIS[2], APIS[3])}
    eventually(lambda: disc()["state"] == "watching" and disc()["last_error"] == "", msg="not watching")
    loop = ConnLoop(client, "%s:%d" % (VIP, PORT), seconds=60, tls=True, pause_ms=20).start()

    def kept(reason, undo=None):
        errors = disc()["errors_total"]
        if reason:  # the status says why
            eventually(lambda: reason in disc()["last_error"], msg="no %r in status" % reason)
        else:  # a dropped watch (dropped again until one was open): an error, then a new one
            eventually(lambda: command(ctl, cmd="drop") or disc()["errors_total"] > errors,
                       step=0.3, msg="drop not seen")
        assert set(servers()) == good
        if undo:
            undo()
        eventually(lambda: disc()["last_error"] == "" and disc()["state"] == "watching",
                   timeout=15, msg="no recovery after %r" % reason)
        assert set(servers()) == good

    command(ctl, cmd="garbage")
    kept("watch event")
    kept("")  # dropped
    command(ctl, cmd="stall", on=True)
    kept("stalled", lambda: command(ctl, cmd="stall", on=False))
    relists = disc()["relists_total"]
    command(ctl, cmd="expire")
    eventually(lambda: disc()["relists_total"] > relists, msg="no re-list after 410")
    command(ctl, cmd="empty", on=True)
    kept("empty list not applied", lambda: command(ctl, cmd="empty", on=False))
    kubeconfig("wrong")  # read again at the next connect: a 401, nothing applied
    eventually(lambda: command(ctl, cmd="drop") or "HTTP 401" in disc()["last_error"], step=0.3,
               msg="no 401")
    kept("HTTP 401", lambda: kubeconfig("tok"))
    r = loop.result(stop=True)
    print("client loop through the VIP during the API faults:", r)
    assert r["fail"] == 0 and r["ok"] > 50, r
    assert set(r["names"]) == {"api1", "api3", "api4"}, r
    failed = [ln for ln in b.log().splitlines() if "discovery failed, last good list kept" in ln]
    for why in ("watch event", "stalled", "HTTP 401"):
        assert any(why in ln for ln in failed), (why, failed)
