#!/usr/bin/env python3
"""Memory under discovery churn (issue 18): N membership changes of the `kubernetes`
EndpointSlice (two lists, alternating) from the tests' stand-in API server, applied by a running
buoy, and optionally R reloads spread over them (`reload` on the control socket, alternating the
backend's connect_timeout so each one changes something); prints RSS and open fds before and
after. Loopback only (127.0.0.2-4), bounded by N, R and a 300 s limit.
tests/integration/test_churn.py is the asserted version (with traffic).

    BUOY_BIN=$PWD/buoy /usr/bin/python3 bench/discover_churn.py [N=1000] [R=0]
"""
import base64
import json
import os
import socket
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from helpers.apiserver import issue_server, make_ca  # noqa: E402
from helpers.client import free_port  # noqa: E402
from helpers.fakeapi import FakeAPI  # noqa: E402

IPS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    reloads = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    buoy = os.environ.get("BUOY_BIN", os.path.join(HERE, "..", "buoy"))
    d = tempfile.mkdtemp(prefix="buoy-churn-")
    api = proc = None
    try:
        make_ca(d + "/pki")
        cert, key = issue_server(d + "/pki", "api", IPS)
        port = free_port(IPS[0])
        api = FakeAPI(cert, key, token="t")
        api.state.bookmark_s = 5
        for i, ip in enumerate(IPS):
            api.listen(ip, port, "api%d" % (i + 1))
        lists = [[(IPS[0], port), (IPS[1], port)], [(IPS[0], port), (IPS[2], port)]]
        api.set_endpoints(lists[0])
        ca = base64.b64encode(open(d + "/pki/ca.crt", "rb").read()).decode()
        with open(d + "/kubeconfig", "w") as f:
            f.write("current-context: c\nclusters:\n- name: k\n  cluster: {server: "
                    "'https://apiserver.test:%d', certificate-authority-data: %s}\n"
                    "contexts:\n- {name: c, context: {cluster: k, user: u}}\n"
                    "users:\n- {name: u, user: {token: t}}\n" % (port, ca))
        lb_port = free_port()

        def write_config(variant):
            with open(d + "/buoy.yaml", "w") as f:
                f.write("node: churn\nlog: { level: warn }\ncontrol: { socket: %s/sock }\n"
                        "listeners:\n  - { name: l, bind: \"127.0.0.1:%d\", backend: b }\n"
                        "backends:\n  - name: b\n    health: { type: tcp, interval: 1s }\n"
                        "    connect_timeout: %s\n"
                        "    discover: { kubeconfig: %s/kubeconfig }\n"
                        "    servers: [ { address: \"%s:%d\" } ]\n"
                        % (d, lb_port, ("2s", "1500ms")[variant % 2], d, IPS[0], port))

        def reload():
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(30)
                s.connect(d + "/sock")
                s.sendall(b"reload\n")
                data = b""
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    data += b
            text = data.decode(errors="replace")
            if not text.startswith("ok\n") or "unchanged" in text:
                sys.exit("reload did not change anything: " + text)

        write_config(0)
        proc = subprocess.Popen([buoy, "run", "-c", d + "/buoy.yaml"],
                                stderr=open(d + "/buoy.log", "w"))

        def rss_kb():
            with open("/proc/%d/status" % proc.pid) as f:
                return int([ln for ln in f if ln.startswith("VmRSS")][0].split()[1])

        def disc():
            out = subprocess.run([buoy, "status", "--json", "--socket", d + "/sock"],
                                 capture_output=True, text=True, timeout=10).stdout
            return json.loads(out)["backends"][0]["discover"]

        t0 = time.monotonic()
        while time.monotonic() - t0 < 10:
            try:
                if disc()["state"] == "watching":
                    break
            except (ValueError, KeyError, IndexError):
                pass
            time.sleep(0.1)
        r0, f0, a0 = rss_kb(), len(os.listdir("/proc/%d/fd" % proc.pid)), disc()["applies_total"]
        t0 = time.monotonic()
        every = n // reloads if reloads else 0
        done = 0
        for i in range(n):
            api.set_endpoints(lists[(i + 1) % 2])
            if every and i % every == every - 1 and done < reloads:
                done += 1
                write_config(done)
                reload()
            if i % 50 == 49 or i == n - 1:  # let buoy catch up (bounded)
                while (disc()["resource_version"] != str(api.state.rv)
                       and time.monotonic() - t0 < 300):
                    time.sleep(0.01)
            else:
                time.sleep(0.002)
        secs = time.monotonic() - t0
        r1, f1, a1 = rss_kb(), len(os.listdir("/proc/%d/fd" % proc.pid)), disc()["applies_total"]
        print("changes=%d applied=%d reloads=%d seconds=%.1f rss_kb=%d->%d (%+.2f KB per applied "
              "change+reload) fds=%d->%d" % (n, a1 - a0, done, secs, r0, r1,
                                             (r1 - r0) / max(1, a1 - a0 + done), f0, f1))
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=10)
        if api:
            api.stop_all()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
