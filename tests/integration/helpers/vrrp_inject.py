#!/usr/bin/env python3
"""A VRRP advert injector for the hostile-input tests, run inside a namespace as
`python3 vrrp_inject.py JSON`: builds one advert by hand (RFC 3768 5 / RFC 5798 5.1) with the
right checksum for the version and family, applies one defect, sends `count` copies from a raw
socket (protocol 112) on eth0. Bounded and self-stopping.

JSON keys: src, dst (IPv4 or IPv6; "%" scope suffixes are ignored), version (2 or 3), vrid,
prio, vips (list), interval_ms, auth (v2 PASS password, optional), ttl, count, defect: one of
none, vrid, type, version, addr_count, addr_list, interval, auth, auth_type, checksum,
truncated, oversize.

csum() is also used by fuzz/make_seeds.py."""
import json
import socket
import struct
import sys


def csum(b):
    """The Internet checksum (RFC 1071) of b."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def main(a):
    v6 = ":" in a["src"]
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    d = a["defect"]
    ver, vrid, prio, typ = a["version"], a["vrid"], a["prio"], 1
    vips = [socket.inet_pton(fam, x) for x in a["vips"]]
    if d == "vrid": vrid += 1
    if d == "type": typ = 2
    if d == "version": ver = 5 - ver
    if d == "addr_count": vips.append(socket.inet_pton(fam, "2001:db8::199" if v6 else "198.18.0.199"))
    if d == "addr_list": vips = [socket.inet_pton(fam, "2001:db8::199" if v6 else "198.18.0.199")]
    addrs = b"".join(vips)
    if ver == 3:
        cs = 0 if d == "interval" else a["interval_ms"] // 10
        msg = bytearray(struct.pack("!BBBBHH", ver << 4 | typ, vrid, prio, len(vips), cs, 0) + addrs)
    else:
        secs = a["interval_ms"] // 1000 + (1 if d == "interval" else 0)
        pw = a.get("auth") or ""
        if d == "auth": pw = "wrong"
        atype = 1 if pw else 0
        if d == "auth_type": atype, pw = 0, ""
        msg = bytearray(struct.pack("!BBBBBBH", ver << 4 | typ, vrid, prio, len(vips), atype, secs, 0)
                        + addrs + pw.encode().ljust(8, b"\0")[:8])
    src = socket.inet_pton(fam, a["src"].split("%")[0])
    dst = socket.inet_pton(fam, a["dst"].split("%")[0])
    if v6:
        ph = src + dst + struct.pack("!I3xB", len(msg), 112)
    elif ver == 3:
        ph = src + dst + struct.pack("!BBH", 0, 112, len(msg))
    else:
        ph = b""
    msg[6:8] = struct.pack("!H", csum(ph + bytes(msg)))
    if d == "checksum": msg[7] ^= 0xff
    if d == "truncated": msg = msg[:-2]
    if d == "oversize": msg += b"\0" * 4
    s = socket.socket(fam, socket.SOCK_RAW, 112)
    ttl = a["ttl"]
    if v6:
        ifindex = socket.if_nametoindex("eth0")
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        s.bind((a["src"], 0, 0, ifindex))
        target = (a["dst"], 0, 0, ifindex)
    else:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, src)
        s.bind((a["src"], 0))
        target = (a["dst"], 0)
    for _ in range(a["count"]):
        s.sendto(bytes(msg), target)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
