"""Connection sync messages (src/sync/msg.h, version 1), built in Python for tests that speak to
buoy's sync port as a peer or as an intruder would. Written from the wire description in
msg.h, not from the C code, so that it checks the codec rather than repeating it."""
import hashlib
import hmac
import ipaddress
import socket
import struct

MAGIC = b"BSY1"
DELTA, FULL = 1, 2
ADD, DEL = 1, 2
F_LAST, F_FIRST = 0x01, 0x02


def entry(op, vip, vport, client, cport):
    v, c = ipaddress.ip_address(vip), ipaddress.ip_address(client)
    fam = 4 if v.version == 4 else 6
    return (struct.pack("!BB", op, fam) + v.packed.ljust(16, b"\0") + struct.pack("!H", vport)
            + c.packed.ljust(16, b"\0") + struct.pack("!H", cport))


def message(key, node, epoch, seq, entries=(), kind=DELTA, flags=0, count=None):
    """The datagram; count overrides the header's entry count (a lying header)."""
    n = node.encode()
    body = b"".join(entries)
    hdr = MAGIC + struct.pack("!BBBBQQHH", 1, kind, flags, len(n), epoch, seq,
                              len(entries) if count is None else count, 0)
    data = hdr + n + body
    return data + hmac.new(key, data, hashlib.sha256).digest()


def send(ns, dst, port, datagrams):
    """Sends each datagram (bytes) from inside namespace ns (a netns.Namespace) to dst:port."""
    code = ("import socket,sys\n"
            "s=socket.socket(socket.AF_INET6 if ':' in %r else socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for h in sys.stdin.read().split():\n"
            "    s.sendto(bytes.fromhex(h), (%r, %d))\n" % (dst, dst, port))
    ns.run(["python3", "-c", code], input="\n".join(d.hex() for d in datagrams))


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET
