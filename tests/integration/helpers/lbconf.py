"""Shared bits for data-plane tests: a one-listener/one-backend YAML builder, buoy start-up,
and small socket checks. (Used by test_proxy.py; reusable by any test that proxies.)"""
import socket

from helpers.client import fmt_addr, free_port

LB = "127.0.0.1"
# fast_path every config() gets unless top= says otherwise (test_proxy.py runs its tests with
# "off" and "sockmap"); None: the key is left out (buoy's default, off).
FAST_PATH = None


def _val(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str) and (":" in v or v == ""):
        return '"%s"' % v
    return str(v)


def flow(d):
    return "{ " + ", ".join("%s: %s" % (k, _val(v)) for k, v in d.items()) + " }"


def config(listen, servers, balance="roundrobin", backend=None, top=None, listeners=None,
           listener=None, health=None):
    """YAML for one listener -> one backend. servers: "host:port" strings or dicts with
    address/weight/max_conns/backup. backend/top: dicts of extra keys (durations as "1s");
    listener: extra keys of every listener; health: the backend's health block (default none)."""
    lines = ["node: test", "log: { level: debug }"]
    if FAST_PATH and "fast_path" not in (top or {}):
        lines.append("fast_path: %s" % FAST_PATH)
    for k, v in (top or {}).items():
        lines.append("%s: %s" % (k, _val(v)))
    lines.append("listeners:")
    for bind in ([listen] + list(listeners or [])):
        lines.append("  - " + flow(dict({"name": "l%d" % len(lines), "bind": bind,
                                         "backend": "pool"}, **(listener or {}))))
    lines += ["backends:", "  - name: pool", "    balance: %s" % balance,
              "    health: " + flow(health or {"type": "none"})]
    for k, v in (backend or {}).items():
        lines.append("    %s: %s" % (k, _val(v)))
    lines.append("    servers:")
    for s in servers:
        lines.append("      - " + flow(s if isinstance(s, dict) else {"address": s}))
    return "\n".join(lines) + "\n"


def start_lb(buoy, yaml_text, name="buoy"):
    return buoy(yaml_text, name=name).wait_started()


def lb_addr(host=LB):
    return fmt_addr(host, free_port(host))


def echo_roundtrip(s, payload=b"ping\n", timeout=3.0):
    s.settimeout(timeout)
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        c = s.recv(65536)
        if not c:
            break
        got += c
    return got == payload


def closed_by_peer(s, timeout):
    """True if the peer closes (EOF or reset) within timeout; False if still open."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
