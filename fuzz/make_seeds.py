#!/usr/bin/env python3
"""Writes the hand-made seed corpora under fuzz/corpus/<target>/ (valid and near-valid inputs).
Run once after changing a target's input layout; the files are committed. Crashers found later
are added next to these by hand (named regress-*)."""
import hashlib
import hmac
import os
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration", "helpers"))
from vrrp_inject import csum  # noqa: E402  (the tests' VRRP advert checksum)


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- fuzz_vrrp_packet: setup header (see read_setup) + the VRRP message -----------------------
def vrrp_seed(version=3, v6=False, unicast=False, pas=b"", vip_check=True, local=False,
              msg_only=False, fix_ck=False, ttl=255, vrid=51, prio=100, iv=20, vips=1,
              mutate=None):
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    alen = 16 if v6 else 4
    src = socket.inet_pton(fam, "2001:db8::2" if v6 else "198.18.0.2")
    dst = socket.inet_pton(fam, "ff02::12" if v6 else "224.0.0.18")
    loc = socket.inet_pton(fam, "2001:db8::1" if v6 else "198.18.0.1")
    addrs = [socket.inet_pton(fam, ("2001:db8::%x" if v6 else "198.18.0.%d") % (100 + i))
             for i in range(vips)]
    flags = ((version == 3) | v6 << 1 | unicast << 2 | bool(pas) << 3 | vip_check << 4 |
             local << 5 | msg_only << 6 | fix_ck << 7)
    # v2 interval is (iv % 255 + 1) s, v3 (iv % 4095 + 1) * 10 ms: pick iv so the packet agrees
    hdr = struct.pack("!BBBBH", flags, ttl, vrid, prio, iv) + src + dst + loc
    hdr += bytes([vips]) + b"".join(addrs)
    if pas:
        hdr += pas.ljust(8, b"\0")[:8]
    if version == 3:
        cs = iv % 4095 + 1
        msg = bytearray(struct.pack("!BBBBHH", 0x31, vrid, prio, vips, cs, 0) + b"".join(addrs))
    else:
        s = iv % 255 + 1
        msg = bytearray(struct.pack("!BBBBBBH", 0x21, vrid, prio, vips, 1 if pas else 0, s, 0)
                        + b"".join(addrs) + pas.ljust(8, b"\0")[:8])
    pseudo = v6 or (version == 3 and not msg_only)
    ph = src + dst + struct.pack("!HH", 112, len(msg)) if pseudo else b""
    # vrrp_checksum's pseudo-header reduces to these words for both families
    msg[6:8] = struct.pack("!H", csum(ph + bytes(msg)))
    if mutate:
        msg = mutate(msg)
    return hdr + bytes(msg)


T = "fuzz_vrrp_packet"
put(T, "v3-ipv4", vrrp_seed())
put(T, "v3-ipv4-msg-only-checksum", vrrp_seed(msg_only=True))
put(T, "v3-ipv6", vrrp_seed(v6=True))
put(T, "v3-ipv4-unicast", vrrp_seed(unicast=True, ttl=64))
put(T, "v3-ipv4-3vips", vrrp_seed(vips=3))
put(T, "v3-ipv4-owner-255", vrrp_seed(prio=255))
put(T, "v3-ipv4-prio0", vrrp_seed(prio=0))
put(T, "v2-ipv4", vrrp_seed(version=2, iv=0))
put(T, "v2-ipv4-pass", vrrp_seed(version=2, iv=0, pas=b"secret"))
put(T, "v2-ipv6-pass", vrrp_seed(version=2, v6=True, iv=0, pas=b"12345678"))
put(T, "near-ttl64", vrrp_seed(ttl=64))
put(T, "near-own", vrrp_seed(local=True))
put(T, "near-bad-checksum", vrrp_seed(mutate=lambda m: m[:7] + bytes([m[7] ^ 0xff])))
put(T, "near-truncated", vrrp_seed(mutate=lambda m: m[:-2]))
put(T, "near-oversize", vrrp_seed(mutate=lambda m: m + b"\0\0\0\0"))
put(T, "near-header-only", vrrp_seed(mutate=lambda m: m[:8]))
put(T, "near-count-255-fixck", vrrp_seed(fix_ck=True, mutate=lambda m: m[:3] + b"\xff" + m[4:]))
put(T, "near-v2-in-v3", vrrp_seed(fix_ck=True, mutate=lambda m: b"\x21" + m[1:]))
put(T, "near-interval0-fixck", vrrp_seed(fix_ck=True, mutate=lambda m: m[:4] + b"\0\0" + m[6:]))
put(T, "near-wrong-pass", vrrp_seed(version=2, iv=0, pas=b"secret",
                                    mutate=lambda m: m[:-8] + b"SECRET\0\0"))

# ---- fuzz_health_parse: pattern byte + response -----------------------------------------------
T = "fuzz_health_parse"
for i, r in enumerate([
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 503 Service Unavailable\r\n\r\n",
        b"HTTP/1.1 200\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\nHTTP/1.1 204 No Content\n\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"HTTP/2 200\r\n\r\n", b"http/1.1 200 OK\r\n", b"HTTP/1.1 20 OK\r\n",
        b"HTTP/1.1 2000 OK\r\n", b"HTTP/1.1 200 O\x01K\r\n", b"HTTP/1.1 200 OK\rX",
        b"HTTP/1.1 100 Continue\r\n folded\r\n\r\n", b"HTTP/1.1   404   Not Found\n",
        b"HTTP/1.1 200 OK", b"", b"HTTP/1.1 200 " + b"x" * 1100 + b"\r\n"]):
    put(T, "resp-%02d" % i, bytes([i * 37 % 256]) + r)

# ---- fuzz_metrics_http: the request -----------------------------------------------------------
T = "fuzz_metrics_http"
for i, r in enumerate([
        "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD /metrics HTTP/1.0\r\n\r\n",
        "GET /metrics?x=1 HTTP/1.1\n\n", "POST /metrics HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n", "GET /metrics HTTP/2.0\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n",
        "G\x00T /metrics HTTP/1.1\r\n\r\n", "GET /metrics\r\n\r\n", "\r\n\r\n"]):
    put(T, "req-%02d" % i, r)

# ---- fuzz_ctl_request: one control line -------------------------------------------------------
T = "fuzz_ctl_request"
for i, r in enumerate([
        "status\n", "status json\n", "status text\n", "status xml\n", "help\n", "reload\n",
        "reload now\n", "drain apiservers 198.18.0.22:6443\n", "drain apiservers 198.18.0.22\n",
        "enable apiservers [2001:db8::23]:6443\n", "drain apiservers 2001:db8::23\n",
        "drain nope 1.2.3.4\n", "drain apiservers :6443\n", "drain a b c d e\n", "\n",
        "enable\tapiservers\t198.18.0.21:6443\r\n", "x" * 1023 + "\n"]):
    put(T, "line-%02d" % i, r)


# ---- fuzz_netlink: a recv() buffer of rtnetlink messages --------------------------------------
def nlmsg(typ, payload, flags=0, seq=0):
    ln = 16 + len(payload)
    return struct.pack("=IHHII", ln, typ, flags, seq, 0) + payload + b"\0" * ((4 - ln % 4) % 4)


def rta(typ, data):
    ln = 4 + len(data)
    return struct.pack("=HH", ln, typ) + data + b"\0" * ((4 - ln % 4) % 4)


RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR = 16, 17, 20, 21
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL = 1, 2, 3
IFLA_ADDRESS, IFLA_IFNAME = 1, 3
v4 = socket.inet_aton("198.18.0.100")
v6 = socket.inet_pton(socket.AF_INET6, "2001:db8::100")
ifa4 = struct.pack("=BBBBI", socket.AF_INET, 24, 0, 0, 2)
ifa6 = struct.pack("=BBBBI", socket.AF_INET6, 64, 0, 0, 2)
ifi = struct.pack("=BBHiII", 0, 0, 1, 2, 0x10043, 0)     # UP|RUNNING|LOWER_UP
T = "fuzz_netlink"
put(T, "newaddr4", nlmsg(RTM_NEWADDR, ifa4 + rta(IFA_ADDRESS, v4) + rta(IFA_LOCAL, v4)
                         + rta(IFA_LABEL, b"eth0\0")))
put(T, "deladdr6", nlmsg(RTM_DELADDR, ifa6 + rta(IFA_ADDRESS, v6)))
put(T, "newlink", nlmsg(RTM_NEWLINK, ifi + rta(IFLA_IFNAME, b"eth0\0")
                        + rta(IFLA_ADDRESS, b"\x02\x00\x00\x00\x00\x01")))
put(T, "dellink", nlmsg(RTM_DELLINK, ifi + rta(IFLA_IFNAME, b"eth0\0")))
put(T, "batch", nlmsg(RTM_NEWADDR, ifa4 + rta(IFA_LOCAL, v4)) + nlmsg(RTM_NEWLINK, ifi)
    + nlmsg(3, b"") )                                    # NLMSG_DONE ends the batch
put(T, "near-short-addr", nlmsg(RTM_NEWADDR, ifa4[:4]))
put(T, "near-short-link", nlmsg(RTM_NEWLINK, ifi[:8]))
put(T, "near-ifname-unterminated", nlmsg(RTM_NEWLINK, ifi + rta(IFLA_IFNAME, b"eth0eth0eth0eth0eth0")))
put(T, "near-addr-wrong-len", nlmsg(RTM_NEWADDR, ifa6 + rta(IFA_ADDRESS, v4)))

# ---- fuzz_config: YAML ------------------------------------------------------------------------
T = "fuzz_config"
put(T, "full", """node: lb1
log: { level: info, format: logfmt }
control: { socket: /run/buoy/buoy.sock }
metrics: { listen: "127.0.0.1:9254" }
user: buoy
vrrp:
  - name: apiserver
    interface: eth0
    router_id: 51
    priority: 110
    version: 3
    advert_interval: 200ms
    preempt: true
    virtual_ips: [198.18.0.100/24]
    unicast_peers: [198.18.0.12]
    garp: { repeat: 5, interval: 10ms, delay: 5s, refresh: 60s }
    track: { backends: [apiservers], scripts: [{ command: "true", interval: 2s, weight: -20 }], interfaces: [eth0] }
listeners:
  - { name: apiserver, bind: "198.18.0.100:6443", backend: apiservers, defer_accept: true }
  - { name: dns, protocol: udp, bind: "198.18.0.100:53", backend: dns, udp_idle_timeout: 5s, proxy_responses: 1, max_sessions: 100 }
backends:
  - name: dns
    health: { type: udp, send_hex: "00ff10", interval: 1s }
    servers: [ { address: "198.18.0.31:53" } ]
  - name: apiservers
    balance: roundrobin
    health: { type: https, path: /readyz, interval: 1s, timeout: 1s, rise: 2, fall: 2, expect_status: ["200-299"] }
    servers:
      - { address: "198.18.0.21:6443", weight: 2, max_conns: 100 }
      - { address: "198.18.0.22:6443", backup: true }
      - { address: "[2001:db8::23]:6443" }
bgp:
  asn: 65001
  router_id: 198.18.1.11
  listen_port: 1179
  hold_time: 9s
  keepalive: 3s
  connect_retry: 5s
  error_wait: { min: 1s, max: 10s }
  bfd: { interval: 100ms, multiplier: 3 }
  hold_down: 2s
  shutdown_delay: 2s
  bird: /usr/sbin/bird
  run_dir: /run/buoy/bird-lb1
  peers:
    - { name: tor1, address: 198.18.1.1, asn: 65000, port: 179, password: secret, bfd: true, multihop: 2, passive: false, source: 198.18.1.11 }
    - { address: "2001:db8:1::1", asn: 65000 }
  announce:
    - { prefix: 198.18.200.1/32, track: { backends: [apiservers] }, med: 100, communities: ["65000:100"] }
    - { prefix: "2001:db8:200::1", track: { backends: [{ name: apiservers, weight: 0 }] } }
    - { prefix: 198.18.200.2, track: { backends: [] } }
""")
put(T, "minimal", "listeners:\n  - { name: a, bind: \":6443\", backend: b }\nbackends:\n"
    "  - { name: b, servers: [ { address: \"127.0.0.1:1\" } ] }\n")
put(T, "v2-auth", "vrrp:\n  - { name: v, interface: eth0, router_id: 1, version: 2, "
    "advert_interval: 1s, auth_pass: secret, virtual_ips: [\"2001:db8::1/64\"] }\n")
put(T, "bgp-gate-from-listeners", "listeners:\n  - { name: a, bind: \":6443\", backend: b }\n"
    "backends:\n  - { name: b, servers: [ { address: \"127.0.0.1:1\" } ] }\n"
    "bgp:\n  asn: 65001\n  peers: [ { address: 198.18.1.0, asn: 65000 } ]\n"
    "  announce: [ { prefix: 198.18.200.1 }, { prefix: \"2001:db8::1/128\", track: {} } ]\n")
put(T, "near-bgp", "listeners:\n  - { name: a, bind: \"0.0.0.0:6443\", backend: b }\n"
    "backends:\n  - { name: b, servers: [ { address: \"127.0.0.1:1\" } ] }\n"
    "vrrp:\n  - { name: v, interface: eth0, router_id: 1, virtual_ips: [198.18.200.1/24] }\n"
    "bgp:\n  asn: 0\n  listen_port: 0\n  hold_time: 3s\n  keepalive: 3s\n"
    "  peers: [ { name: a-b, address: \"fe80::1\", asn: 1 }, { name: a.b, address: \"fe80::1\" } ]\n"
    "  announce: [ { prefix: 198.18.200.1/24, communities: [\"1:70000\"] },\n"
    "              { prefix: \"2001:db8::1\" }, { prefix: 198.18.200.1, track: { backends: [{ name: bb, weight: 5 }] } } ]\n")
put(T, "near-unknown-key", "listeners:\n  - { name: a, bind: \":6443\", backend: b, bogus: 1 }\n")
put(T, "near-dup", "backends:\n  - { name: b, servers: [{address: \"127.0.0.1:1\"}] }\n"
    "  - { name: b, servers: [{address: \"127.0.0.1:2\"}] }\n")
put(T, "near-types", "workers: many\nmax_conns: -1\nshutdown_grace: 5\nvrrp: yes\n")
put(T, "near-anchors", "a: &x [1, 2]\nb: *x\nlisteners: *x\n")
put(T, "near-tabs", "listeners:\n\t- name: a\n")
put(T, "empty", "")

# ---- fuzz_sync: flags byte (bit 0: patch in the HMAC), cap byte, then the datagram ------------
def sync_msg(kind=1, flags=0, node=b"lb1", epoch=1764835200000, seq=1, entries=(), count=None,
             key=b"buoy-fuzz-sync-key"):
    m = b"BSY1" + bytes([1, kind, flags, len(node)])
    m += struct.pack("!QQHH", epoch, seq, len(entries) if count is None else count, 0) + node
    for op, v6, vip, vport, cl, cport in entries:
        fam = socket.AF_INET6 if v6 else socket.AF_INET
        m += bytes([op, 6 if v6 else 4]) + socket.inet_pton(fam, vip).ljust(16, b"\0")
        m += struct.pack("!H", vport) + socket.inet_pton(fam, cl).ljust(16, b"\0")
        m += struct.pack("!H", cport)
    return m + hmac.new(key, m, hashlib.sha256).digest()


T = "fuzz_sync"
E4 = (1, False, "198.18.0.100", 6443, "198.18.0.50", 40000)
D4 = (2, False, "198.18.0.100", 6443, "198.18.0.51", 40001)
E6 = (1, True, "2001:db8::100", 443, "2001:db8::7", 51234)
put(T, "delta-mixed", b"\0\0" + sync_msg(entries=(E4, D4, E6)))
put(T, "delta-empty", b"\0\0" + sync_msg(seq=7))
put(T, "full-first-last", b"\0\0" + sync_msg(kind=2, flags=3, entries=(E4, E6)))
put(T, "full-max", b"\0\0" + sync_msg(kind=2, flags=1, node=b"n" * 63, entries=(E4, E6) * 16 + (E4,)))
put(T, "fixmac-delta", b"\1\0" + sync_msg(entries=(E4, D4)))
put(T, "fixmac-cap1", b"\3\1" + sync_msg(entries=(E4, D4)))
put(T, "near-wrong-key", b"\0\0" + sync_msg(entries=(E4,), key=b"other"))
put(T, "near-count-ffff", b"\1\0" + sync_msg(entries=(E4,), count=0xffff))
put(T, "near-count-plus1", b"\1\0" + sync_msg(entries=(E4,), count=2))
put(T, "near-del-in-full", b"\1\0" + sync_msg(kind=2, entries=(D4,)))
put(T, "near-truncated", b"\0\0" + sync_msg(entries=(E4,))[:-1])
