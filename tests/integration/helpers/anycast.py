"""Reading a running buoy's BGP side (status JSON over the control socket, Prometheus metrics)
in ONE place, so that a renamed field is a one-line change here.

    from helpers import anycast
    anycast.peers(b)          -> {"rt": {"state": "Established", "up": True, "bfd": "up", ...}}
    anycast.announced(b)      -> {"198.18.200.1/32": True, ...}
    anycast.reasons(b)        -> {"198.18.200.1/32": "no eligible server: apiservers", ...}
    anycast.accepted(b)       -> {"apiserver": 120, "apiserver6": 0}  (listener accepted_total)
    anycast.bird_pid(b)
    m = anycast.metrics(ns, "127.0.0.1:9254")
    anycast.sample(m, "buoy_bgp_session_up", peer="rt")     -> 1.0 (None when absent)

b is a netns.Buoy (b.socket_path); ns a netns.Namespace (the metrics listen inside it).
"""
import json
import re
import subprocess

import netns

# status --json: top-level "bgp" object
BGP = "bgp"
PEERS, PEER_NAME, PEER_STATE, PEER_UP, PEER_BFD = "peers", "name", "state", "up", "bfd"
ANNOUNCE, PREFIX, ANNOUNCED, REASON = "announce", "prefix", "announced", "reason"
BIRD_PID = "bird_pid"
ESTABLISHED = "Established"
# status --json: listeners
LISTENERS, LISTENER_NAME, ACCEPTED = "listeners", "name", "accepted_total"
# metrics
M_SESSION_UP, M_BFD_UP, M_ANNOUNCED = "buoy_bgp_session_up", "buoy_bgp_bfd_up", "buoy_vip_announced"
M_PEER_LABEL, M_PREFIX_LABEL = "peer", "prefix"


def status(b, timeout=10):
    r = subprocess.run([netns.buoy_bin(), "status", "--json", "--socket", b.socket_path],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("buoy status failed (%d): %s%s" % (r.returncode, r.stdout, r.stderr))
    return json.loads(r.stdout)


def bgp(b):
    return status(b)[BGP]


def peers(b, doc=None):
    doc = doc or status(b)
    return {p[PEER_NAME]: p for p in doc[BGP][PEERS]}


def peer_up(b, name):
    return bool(peers(b)[name][PEER_UP])


def announced(b, doc=None):
    doc = doc or status(b)
    return {a[PREFIX]: bool(a[ANNOUNCED]) for a in doc[BGP][ANNOUNCE]}


def degraded(b, doc=None):
    """prefix -> announced with a worse path (its backends are down, track not strict)."""
    doc = doc or status(b)
    return {a[PREFIX]: bool(a.get("degraded")) for a in doc[BGP][ANNOUNCE]}


def reasons(b, doc=None):
    doc = doc or status(b)
    return {a[PREFIX]: a.get(REASON, "") for a in doc[BGP][ANNOUNCE]}


def bird_pid(b):
    return int(bgp(b).get(BIRD_PID) or 0)


def accepted(b, doc=None):
    doc = doc or status(b)
    return {l[LISTENER_NAME]: l[ACCEPTED] for l in doc[LISTENERS]}


def all_up(b):
    """Every peer Established with BFD up (or off), every prefix announced."""
    doc = status(b)
    ps = peers(b, doc).values()
    return (all(p[PEER_UP] and p[PEER_BFD] in ("up", "off") for p in ps)
            and all(announced(b, doc).values()))


# ---------------------------------------------------------------------------------------------
# Prometheus text from inside a namespace.

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


METRICS = "127.0.0.1:9254"   # metrics: listen in the tests' configs


def metrics(ns, listen=METRICS, timeout=5):
    """[(name, {labels}, value)] scraped with curl inside namespace ns."""
    r = ns.run(["curl", "-sS", "--max-time", str(timeout), "http://%s/metrics" % listen],
               timeout=timeout + 5)
    out = []
    for line in r.stdout.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            out.append((m.group(1), dict(_LABEL.findall(m.group(3) or "")), float(m.group(4))))
    return out


def sample(samples, name, **labels):
    """The value of the first sample called name whose labels include `labels`, else None."""
    for n, ls, v in samples:
        if n == name and all(ls.get(k) == str(v2) for k, v2 in labels.items()):
            return v
    return None
