"""Real DNS peers for UDP tests: Debian's dnsmasq as a server with a fixed answer, dig as the
client, and the bytes of a query (for a `udp` health check's send_hex)."""
import shutil
import struct
import subprocess

import netns

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def start_dnsmasq(ns, addr, answer, name="x.test", port=53):
    """dnsmasq in namespace ns, on addr:port (UDP and TCP), answering `name` with `answer` and
    nothing else (no upstream, no /etc/hosts). A tracked Proc: killed at teardown."""
    p = ns.popen([DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts",
                  "--conf-file=/dev/null", "--pid-file=", "--user=root", "--bind-interfaces",
                  "--listen-address=%s" % addr, "--port=%d" % port,
                  "--address=/%s/%s" % (name, answer), "--log-facility=-"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    netns.wait_until(lambda: answer in dig(ns, addr, name, port=port, tries=1, timeout=1),
                     timeout=5.0, msg="dnsmasq on %s:%d answers" % (addr, port))
    return p


def dig(ns, server, name="x.test", port=53, tries=1, timeout=2):
    """`dig +short` from namespace ns: the answer's text ("" on no answer / error). A try that
    timed out before a retry got the answer leaves a ";;" line: not part of the answer."""
    r = ns.run(["dig", "@%s" % server, "-p", str(port), name, "A", "+short",
                "+tries=%d" % tries, "+time=%d" % timeout], check=False,
               timeout=tries * timeout + 5)
    if r.returncode != 0:
        return ""
    out = r.stdout.decode() if isinstance(r.stdout, bytes) else r.stdout
    return "\n".join(l for l in out.strip().splitlines() if not l.startswith(";;"))


def query_hex(name="x.test", qid=0x1234):
    """A DNS query (A, IN, recursion desired) for name, as hex."""
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", 1, 1)
    return q.hex()
