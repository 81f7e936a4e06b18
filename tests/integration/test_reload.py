"""Hot reload (issue 5, "Reload and shutdown"): SIGHUP / `buoy reload` apply a new config without
dropping anything, or change nothing when the new config is invalid.

Loopback only (127.0.0.x); each test writes its configs, starts its backends and buoy, and asserts
on what clients see and on `buoy status --json`. Every traffic loop is bounded in count and time.
"""
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from helpers.client import connect, fetch_name, fetch_names, fmt_addr, free_port
from helpers.lbconf import LB
from helpers.status import reload_to, status_json


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def cfg(listeners, backends, top=""):
    """listeners: [(name, bind, backend)]; backends: [(name, [server addrs], extra yaml lines)]."""
    out = ["node: test", "log: { level: debug }", top, "listeners:"]
    for name, bind, be in listeners:
        out.append('  - { name: %s, bind: "%s", backend: %s }' % (name, bind, be))
    out.append("backends:")
    for name, servers, extra in backends:
        out.append("  - name: %s" % name)
        out += ["    " + line for line in (extra or ["health: { type: none }"])]
        out.append("    servers:")
        out += ['      - { address: "%s" }' % s for s in servers]
    return "\n".join(out) + "\n"


def server_status(b, backend, address):
    for be in status_json(b)["backends"]:
        if be["name"] == backend:
            for s in be["servers"]:
                if s["address"] == address:
                    return s
    return None


def names(addr, n):
    """n sequential fetches through the proxy: Counter of backend names; any failure fails."""
    counts, failures = fetch_names(addr, n, deadline_s=30)
    assert not failures, failures
    return counts


def start(buoy, yaml_text):
    return buoy(yaml_text).wait_started()


def eventually(pred, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# ---------------------------------------------------------------------------------------------
# Servers in and out of rotation


def test_reload_adds_server_into_rotation(buoy, backend):
    a, b = fmt_addr("127.0.0.2", free_port("127.0.0.2")), fmt_addr("127.0.0.3", free_port("127.0.0.3"))
    backend(a, name="A")
    backend(b, name="B")
    lb = fmt_addr(LB, free_port())
    p = start(buoy, cfg([("l", lb, "pool")], [("pool", [a], None)]))
    assert names(lb, 10) == {"A": 10}
    rc, out, _ = reload_to(p, cfg([("l", lb, "pool")], [("pool", [a, b], None)]))
    assert rc == 0, out
    assert "servers_kept=1" in out and "servers_added=1" in out, out
    got = names(lb, 20)
    assert got["B"] >= 8 and got["A"] >= 8, got  # roundrobin over both
    assert 'msg="reloaded" source=control' in p.log()
    # SIGHUP does the same: A leaves the rotation
    write(p.config_path, cfg([("l", lb, "pool")], [("pool", [b], None)])
          + "control: { socket: %s }\n" % p.socket_path)
    p.reload()
    assert eventually(lambda: 'msg="reloaded" source=SIGHUP' in p.log())
    assert names(lb, 5) == {"B": 5}


def test_reload_removes_server_established_connection_keeps_working(buoy, backend):
    a, b = fmt_addr("127.0.0.2", free_port("127.0.0.2")), fmt_addr("127.0.0.3", free_port("127.0.0.3"))
    sa = backend(a, mode="echo")
    sb = backend(b, mode="echo")
    lb = fmt_addr(LB, free_port())
    p = start(buoy, cfg([("l", lb, "pool")], [("pool", [a], None)]))
    held = connect(lb)
    held.settimeout(3)
    held.sendall(b"before\n")
    assert held.recv(100) == b"before\n"
    assert eventually(lambda: sa.active == 1)
    rc, out, _ = reload_to(p, cfg([("l", lb, "pool")], [("pool", [b], None)]))
    assert rc == 0, out
    accepted_a = sa.accepted
    for i in range(20):  # new connections: all to b
        s = connect(lb)
        s.settimeout(3)
        s.sendall(b"x%d\n" % i)
        assert s.recv(100) == b"x%d\n" % i
        s.close()
    assert sa.accepted == accepted_a, "a removed server got new connections"
    assert eventually(lambda: sb.accepted >= 20)
    # the connection to the removed server goes on, and still counts against it
    held.sendall(b"after\n")
    assert held.recv(100) == b"after\n"
    assert sa.active == 1
    held.close()
    assert server_status(p, "pool", a) is None  # no longer listed


def test_reload_keeps_counters_of_retained_server(buoy, backend):
    a = fmt_addr("127.0.0.2", free_port("127.0.0.2"))
    backend(a, name="A")
    lb = fmt_addr(LB, free_port())
    p = start(buoy, cfg([("l", lb, "pool")], [("pool", [a], None)]))
    names(lb, 5)
    before = server_status(p, "pool", a)["connections_total"]
    assert before == 5
    # settings change (balance, timeouts): the server object and its counters stay
    rc, out, _ = reload_to(p, cfg([("l", lb, "pool")], [("pool", [a], [
        "balance: leastconn", "connect_timeout: 1s", "idle_timeout: 10m",
        "health: { type: none }"])], top="workers: 7"))
    assert rc == 0, out
    assert "backends_changed=1" in out
    assert "note: workers changed" in out  # needs a restart: kept, and said so
    assert server_status(p, "pool", a)["connections_total"] == before
    names(lb, 3)
    assert server_status(p, "pool", a)["connections_total"] == before + 3
    assert status_json(p)["backends"][0]["balance"] == "leastconn"


def test_changed_settings_apply_to_new_connections_only(buoy, backend):
    a = fmt_addr("127.0.0.2", free_port("127.0.0.2"))
    backend(a, mode="echo")
    lb = fmt_addr(LB, free_port())
    p = start(buoy, cfg([("l", lb, "pool")], [("pool", [a], None)]))
    old = connect(lb)
    old.settimeout(3)
    old.sendall(b"1\n")
    assert old.recv(10) == b"1\n"
    rc, out, _ = reload_to(p, cfg([("l", lb, "pool")], [("pool", [a], [
        "idle_timeout: 300ms", "health: { type: none }"])]))
    assert rc == 0, out
    new = connect(lb)
    new.settimeout(3)
    new.sendall(b"2\n")
    assert new.recv(10) == b"2\n"
    t0 = time.monotonic()
    assert new.recv(10) == b""  # closed by buoy after the new idle timeout
    assert time.monotonic() - t0 < 2.5
    # the connection from before the reload keeps the timeout it started with (1h)
    old.sendall(b"3\n")
    assert old.recv(10) == b"3\n"
    old.close()
    new.close()


# ---------------------------------------------------------------------------------------------
# Listeners


def test_reload_adds_and_removes_listeners_keeps_unchanged(buoy, backend):
    a = fmt_addr("127.0.0.2", free_port("127.0.0.2"))
    backend(a, name="A")
    keep, gone, new = (fmt_addr(LB, free_port()) for _ in range(3))
    p = start(buoy, cfg([("keep", keep, "pool"), ("gone", gone, "pool")], [("pool", [a], None)]))
    assert fetch_name(keep) == "A" and fetch_name(gone) == "A"
    rc, out, _ = reload_to(p, cfg([("keep", keep, "pool"), ("new", new, "pool")],
                                  [("pool", [a], None)]))
    assert rc == 0, out
    assert "listeners_kept=1" in out and "listeners_added=1" in out and "listeners_removed=1" in out
    assert fetch_name(new) == "A"
    assert fetch_name(keep) == "A"
    with pytest.raises(OSError):
        connect(gone, timeout=1.0)
    listeners = {l["name"]: l for l in status_json(p)["listeners"]}
    assert set(listeners) == {"keep", "new"}
    assert listeners["keep"]["accepted_total"] == 2  # counters of a kept listener survive


def test_reload_bind_error_keeps_old_config(buoy, backend):
    a = fmt_addr("127.0.0.2", free_port("127.0.0.2"))
    backend(a, name="A")
    lb = fmt_addr(LB, free_port())
    port = free_port()
    blocker = socket.socket()  # a plain listener (no SO_REUSEPORT): buoy cannot join it
    blocker.bind((LB, port))
    blocker.listen(1)
    try:
        p = start(buoy, cfg([("l", lb, "pool")], [("pool", [a], None)]))
        busy = fmt_addr(LB, port)
        rc, out, _ = reload_to(p, cfg([("l", lb, "pool"), ("busy", busy, "pool")],
                                      [("pool", [a], None)]))
        assert rc != 0
        assert "bind" in out and busy in out, out
        assert fetch_name(lb) == "A"
        assert [l["name"] for l in status_json(p)["listeners"]] == ["l"]
        assert 'msg="reload rejected, old config kept"' in p.log()
    finally:
        blocker.close()


# ---------------------------------------------------------------------------------------------
# Invalid config


def test_invalid_reload_changes_nothing(buoy, backend):
    a = fmt_addr("127.0.0.2", free_port("127.0.0.2"))
    backend(a, name="A")
    lb = fmt_addr(LB, free_port())
    good = cfg([("l", lb, "pool")], [("pool", [a], None)])
    p = start(buoy, good)
    before = status_json(p)
    bad = good.replace("backend: pool }", "backend: nosuch }") + "bogus_key: 1\n"
    rc, out, _ = reload_to(p, bad)
    assert rc != 0
    # every error, as FILE:LINE:COL: message
    errors = re.findall(r"%s:\d+:\d+: [^\n]+" % re.escape(p.config_path), out)
    assert len(errors) >= 2, out
    assert any("bogus_key" in e for e in errors) and any("nosuch" in e for e in errors), out
    log = p.log()
    assert log.count('msg="reload failed"') >= 2
    assert 'msg="reload rejected, old config kept"' in log
    assert names(lb, 5) == {"A": 5}
    after = status_json(p)
    assert [l["bind"] for l in after["listeners"]] == [l["bind"] for l in before["listeners"]]
    assert [s["address"] for s in after["backends"][0]["servers"]] == [a]
    # SIGHUP with the same invalid file: logged, still running, still serving
    p.reload()
    assert eventually(lambda: p.log().count('msg="reload rejected, old config kept"') >= 2)
    assert p.poll() is None
    assert fetch_name(lb) == "A"


# ---------------------------------------------------------------------------------------------
# Health state


def test_health_state_of_retained_server_survives_reload(buoy, backend):
    up = fmt_addr("127.0.0.2", free_port("127.0.0.2"))
    down = fmt_addr("127.0.0.3", free_port("127.0.0.3"))  # nothing listens: checks fail
    backend(up, name="UP")
    lb = fmt_addr(LB, free_port())
    health = ["health: { type: tcp, interval: 200ms, timeout: 200ms, rise: 2, fall: 1 }"]
    p = start(buoy, cfg([("l", lb, "pool")], [("pool", [up, down], health)]))
    assert eventually(lambda: server_status(p, "pool", down)["state"] == "down", timeout=5)
    checks = server_status(p, "pool", down)["health"]["checks_total"]
    # an unrelated change: a new listener, another idle timeout
    lb2 = fmt_addr(LB, free_port())
    rc, out, _ = reload_to(p, cfg([("l", lb, "pool"), ("l2", lb2, "pool")],
                                  [("pool", [up, down], health + ["idle_timeout: 5m"])]))
    assert rc == 0, out
    s = server_status(p, "pool", down)
    assert s["state"] == "down" and not s["health"]["up"], s
    assert s["health"]["checks_total"] >= checks  # not reset to a fresh state
    # and it stays out of rotation: every connection goes to the up server
    assert names(lb2, 10) == {"UP": 10}
    assert server_status(p, "pool", up)["state"] == "up"


# ---------------------------------------------------------------------------------------------
# Under load


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
{servers}
}}
"""


@pytest.fixture
def nginx_origins(tmp_path):
    """Three nginx HTTP origins on 127.0.0.2-4 (one process); yields their addresses."""
    if not shutil.which("nginx"):
        pytest.skip("nginx not installed")
    d = tmp_path / "nginx"
    (d / "tmp").mkdir(parents=True)
    addrs = [fmt_addr("127.0.0.%d" % i, free_port("127.0.0.%d" % i)) for i in (2, 3, 4)]
    servers = "\n".join(
        '    server {{ listen {a} backlog=4096; location / {{ return 200 "{n}\\n"; }} }}'
        .format(a=a, n=i) for i, a in enumerate(addrs))
    (d / "nginx.conf").write_text(NGINX_CONF.format(dir=d, servers=servers))
    proc = subprocess.Popen(["nginx", "-p", str(d), "-e", str(d / "error.log"), "-c",
                             str(d / "nginx.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for a in addrs:
            host, port = a.rsplit(":", 1)
            assert eventually(lambda: _can_connect(host, int(port)), timeout=5), a
        yield addrs
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _can_connect(host, port):
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def parse_wrk(out):
    m = re.search(r"(\d+) requests in", out)
    requests = int(m.group(1)) if m else 0
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non2xx = int(m.group(1)) if m else 0
    return requests, errors, non2xx


@pytest.mark.parametrize("mode", ["close", "keepalive"])
def test_20_reloads_under_wrk_no_errors(buoy, nginx_origins, mode):
    assert shutil.which("wrk"), "wrk not installed (scripts/deps test installs it)"
    a, b, c = nginx_origins
    lb = fmt_addr(LB, free_port())
    extra = fmt_addr(LB, free_port())
    # two valid configs: servers added/removed, balance and timeouts changed, a second
    # listener coming and going; the listener wrk uses is kept throughout
    one = cfg([("web", lb, "web")], [("web", [a, b], ["balance: roundrobin",
                                                        "health: { type: none }"])],
              top="workers: 2")
    two = cfg([("web", lb, "web"), ("extra", extra, "other")],
              [("web", [b, c], ["balance: leastconn", "connect_timeout: 1s",
                                "health: { type: none }"]),
               ("other", [a], None)], top="workers: 2")
    p = start(buoy, one)
    duration = 12
    args = ["wrk", "-t2", "-c32", "-d%ds" % duration, "--timeout", "5s"]
    if mode == "close":
        args += ["-H", "Connection: close"]
    w = subprocess.Popen(args + ["http://%s/" % lb], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    latencies, internal = [], []
    try:
        time.sleep(1.0)
        for i in range(20):
            rc, out, secs = reload_to(p, two if i % 2 == 0 else one)
            assert rc == 0, out
            latencies.append(secs)
            m = re.search(r"duration_ms=(\d+)", out)
            internal.append(int(m.group(1)) if m else -1)
            time.sleep(0.4)
        out, _ = w.communicate(timeout=duration + 20)
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    requests, errors, non2xx = parse_wrk(out)
    lat = sorted(latencies)
    print("\nreload under wrk (%s): requests=%d socket_errors=%d non2xx=%d reloads=20 "
          "reload_cli_ms p50=%.1f max=%.1f reload_apply_ms max=%d"
          % (mode, requests, errors, non2xx, lat[10] * 1000, lat[-1] * 1000, max(internal)))
    assert requests > 1000, out
    assert errors == 0 and non2xx == 0, out
    assert p.log().count('msg="reloaded"') == 20
    assert p.poll() is None
