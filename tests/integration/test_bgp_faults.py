"""BGP engine faults (issue 14): a missing BIRD, a BIRD that crashes, a control socket that
answers garbage, a bad bgp: section on reload. One namespace each, no router needed: what is
checked is that buoy keeps serving its listener, says why in status, retries, and never claims
an announcement it cannot vouch for.
"""
import os
import re
import signal
import subprocess
import textwrap
import time

import pytest

import netns
from helpers.status import control_line, status_json

pytestmark = pytest.mark.usefixtures("root")

VIP = "198.18.200.1"


def lb_yaml(run_dir, bird=None, extra_peer="", strict=False):
    return textwrap.dedent("""\
        node: lb1
        listeners:
          - { name: api, bind: "%(vip)s:6443", backend: api }
        backends:
          - name: api
            health: { type: tcp, interval: 200ms, timeout: 200ms }
            servers: [ { address: "198.18.0.21:6443" } ]
        bgp:
          asn: 65001
          router_id: 198.18.0.11
          run_dir: %(run_dir)s
          %(bird)s
          peers:
            - { name: rt, address: 198.18.0.1, asn: 65000 }
        %(extra)s
          announce:
            - { prefix: %(vip)s/32%(strict)s }
        """) % dict(vip=VIP, run_dir=run_dir, bird=("bird: %s" % bird) if bird else "",
                    extra=extra_peer, strict=", track: { strict: true }" if strict else "")


@pytest.fixture
def lb(topo):
    host = topo.add_host("lb1", ipv4="198.18.0.11")
    api = topo.add_host("api1", ipv4="198.18.0.21")
    api.start_backend("198.18.0.21:6443", mode="name", name="api1")
    return host


def test_missing_bird_keeps_serving_and_says_why(lb, buoy, tmp_path):
    b = buoy(lb_yaml(str(tmp_path / "run"), bird="/nonexistent/bird"), ns=lb)
    netns.wait_until(lambda: "not found" in status_json(b)["bgp"]["bird_error"], timeout=5)
    st = status_json(b)["bgp"]
    assert not st["bird_running"]
    ann = st["announce"][0]
    assert ann["wanted"] and not ann["announced"] and ann["reason"] == "bird not running", ann
    # the listener serves on the VIP (on lo) all the same
    assert lb.has_address(VIP, dev="lo")
    out = lb.python("import socket; s = socket.create_connection(('%s', 6443), timeout=3); "
                    "print(s.recv(100).decode())" % VIP).stdout
    assert "api1" in out
    # logged once per change, not once per retry
    time.sleep(2.0)
    assert len(re.findall(r'msg="bgp bird problem"', open(b.log_path).read())) == 1


def test_crashed_bird_is_restarted(lb, buoy, tmp_path):
    b = buoy(lb_yaml(str(tmp_path / "run")), ns=lb)
    netns.wait_until(lambda: status_json(b)["bgp"]["bird_running"], timeout=5)
    netns.wait_until(lambda: status_json(b)["bgp"]["announce"][0]["announced"], timeout=5,
                     msg="BIRD confirmed the announcement")
    pid = status_json(b)["bgp"]["bird_pid"]
    os.kill(pid, signal.SIGKILL)
    netns.wait_until(lambda: status_json(b)["bgp"]["bird_starts_total"] == 2, timeout=10,
                     msg="BIRD restarted")
    st = status_json(b)["bgp"]
    assert st["bird_pid"] != pid
    netns.wait_until(lambda: status_json(b)["bgp"]["announce"][0]["announced"], timeout=5)
    assert re.search(r'msg="bgp bird problem" reason="bird exited \(signal 9\)"',
                     open(b.log_path).read())


def test_garbage_on_the_control_socket(lb, buoy, tmp_path):
    fake = tmp_path / "fake-bird"
    fake.write_text(textwrap.dedent("""\
        #!/usr/bin/python3
        # Stands in for BIRD: makes the control socket and answers garbage.
        import socket, sys, time
        sock = sys.argv[sys.argv.index("-s") + 1]
        s = socket.socket(socket.AF_UNIX)
        s.bind(sock)
        s.listen(8)
        end = time.time() + 60
        while time.time() < end:
            c, _ = s.accept()
            c.sendall(b"HTTP/1.1 200 OK\\r\\n\\r\\n")
            c.close()
        """))
    fake.chmod(0o755)
    os.chmod(str(tmp_path), 0o755)
    b = buoy(lb_yaml(str(tmp_path / "run"), bird=str(fake)), ns=lb)
    netns.wait_until(lambda: status_json(b)["bgp"]["control_errors_total"] >= 3, timeout=10,
                     msg="garbage counted, reconnecting")
    st = status_json(b)["bgp"]
    assert st["bird_running"]
    assert "control socket" in st["bird_error"], st
    assert not st["announce"][0]["announced"], st   # never confirmed: never claimed
    assert b.alive()


def test_bad_bgp_section_on_reload_keeps_the_running_config(lb, buoy, tmp_path):
    run_dir = str(tmp_path / "run")
    b = buoy(lb_yaml(run_dir), ns=lb)
    netns.wait_until(lambda: status_json(b)["bgp"]["bird_running"], timeout=5)
    conf = open(os.path.join(run_dir, "bird.conf")).read()
    with open(b.config_path, "w") as f:
        f.write(lb_yaml(run_dir).replace("asn: 65001", "asn: 0") + control_line(b))
    r = subprocess.run([netns.buoy_bin(), "reload", "--socket", b.socket_path],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "bgp.asn" in r.stdout + r.stderr, r.stdout + r.stderr
    assert open(os.path.join(run_dir, "bird.conf")).read() == conf
    assert status_json(b)["bgp"]["bird_starts_total"] == 1
    # a good edit is applied by BIRD's own reconfigure, without restarting it
    with open(b.config_path, "w") as f:
        f.write(lb_yaml(run_dir, extra_peer="    - { name: rt2, address: 198.18.0.2, asn: 65000 }")
                + control_line(b))
    r = subprocess.run([netns.buoy_bin(), "reload", "--socket", b.socket_path],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "bgp=changed" in r.stdout
    netns.wait_until(lambda: "buoy_rt2" in open(os.path.join(run_dir, "bird.conf")).read(),
                     timeout=5)
    netns.wait_until(lambda: [p["name"] for p in status_json(b)["bgp"]["peers"]] == ["rt", "rt2"],
                     timeout=5)
    assert status_json(b)["bgp"]["bird_starts_total"] == 1
    assert status_json(b)["bgp"]["configure_failures_total"] == 0


HUNG_BIRD = textwrap.dedent("""\
    #!/usr/bin/python3
    # Stands in for a BIRD that hangs on `configure`: it greets, answers `show` with an empty
    # table, and never answers a configure. Bounded life.
    import socket, sys, threading, time
    sock = sys.argv[sys.argv.index("-s") + 1]
    s = socket.socket(socket.AF_UNIX)
    s.bind(sock)
    s.listen(8)
    def serve(c):
        c.sendall(b"0001 BIRD hung ready.\\n")
        buf = b""
        while True:
            d = c.recv(4096)
            if not d:
                return
            buf += d
            while b"\\n" in buf:
                line, buf = buf.split(b"\\n", 1)
                if line.startswith(b"show"):
                    c.sendall(b"0000 \\n")
    end = time.time() + 60
    s.settimeout(1.0)
    while time.time() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()
    """)


def test_unconfirmed_withdrawal_kills_bird(topo, buoy, tmp_path):
    host = topo.add_host("lb1", ipv4="198.18.0.11")
    api = topo.add_host("api1", ipv4="198.18.0.21")
    be = api.start_backend("198.18.0.21:6443", mode="name", name="api1")
    fake = tmp_path / "hung-bird"
    fake.write_text(HUNG_BIRD)
    fake.chmod(0o755)
    os.chmod(str(tmp_path), 0o755)
    # strict: a dead backend withdraws (the default would only degrade the path)
    b = buoy(lb_yaml(str(tmp_path / "run"), bird=str(fake), strict=True), ns=host)
    netns.wait_until(lambda: status_json(b)["bgp"]["announce"][0]["announced"], timeout=5,
                     msg="announced (the fake BIRD greeted: it runs the file it started with)")
    pid = status_json(b)["bgp"]["bird_pid"]
    be.kill()                                   # the backend dies: the gate says withdraw
    t0 = time.monotonic()
    netns.wait_until(lambda: not os.path.exists("/proc/%d" % pid) or
                     status_json(b)["bgp"]["bird_pid"] != pid, timeout=10,
                     msg="the BIRD that did not confirm the withdrawal was killed")
    took = time.monotonic() - t0
    log = open(b.log_path).read()
    assert re.search(r'msg="bgp bird killed" pid=%d reason="withdrawal not confirmed in time"'
                     % pid, log), log[-2000:]
    print("unconfirmed withdrawal: BIRD killed after %.2f s" % took)
    assert took < 8.0
    ann = status_json(b)["bgp"]["announce"][0]
    assert not ann["wanted"] and not ann["announced"], ann
    assert b.alive()
