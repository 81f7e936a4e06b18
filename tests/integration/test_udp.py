"""UDP load balancing (listeners with protocol: udp) end to end, as nginx stream does it: three
real DNS servers (Debian's dnsmasq, each with its own answer) behind a UDP listener on a VRRP VIP
held by two buoy nodes; dig is the client. Then a spoofed-source flood against max_sessions.

Topology (netns.py, one switch): lb1 (prio 120), lb2 (prio 100), dns1..dns3, client."""
import re
import subprocess
import time

import pytest

import netns
from helpers.dns import dig, query_hex, start_dnsmasq
from helpers.vrrp import VIP4, master_down_s, vrrp_yaml, wait_holder, MARGIN

ANSWERS = ["198.18.1.1", "198.18.1.2", "198.18.1.3"]


def lb_yaml(node, prio, servers, extra_listener=""):
    """UDP listeners on the VIP with the same three servers: :53 round robin, :54 source, :55
    source with long sessions (no proxy_responses); a udp health check that asks the servers a
    real DNS question."""
    health = ('{ type: udp, send_hex: "%s", interval: 200ms, timeout: 300ms, rise: 1, fall: 1 }'
              % query_hex())
    y = vrrp_yaml(node, prio) + "workers: 2\n"
    y += ("listeners:\n"
          "  - { name: dns, protocol: udp, bind: \"%s:53\", backend: dns, proxy_responses: 1 }\n"
          "  - { name: dns-src, protocol: udp, bind: \"%s:54\", backend: dns-src,"
          " proxy_responses: 1 }\n"
          "  - { name: dns-long, protocol: udp, bind: \"%s:55\", backend: dns-src }\n"
          % (VIP4, VIP4, VIP4)) + extra_listener
    y += "backends:\n"
    for name, balance in (("dns", "roundrobin"), ("dns-src", "source")):
        y += ("  - name: %s\n    balance: %s\n    health: %s\n    servers:\n" % (name, balance, health))
        y += "".join("      - { address: \"%s:53\" }\n" % s for s in servers)
    return y


def text(r):
    """A finished command's stdout as text."""
    return (r.stdout.decode() if isinstance(r.stdout, bytes) else r.stdout).strip()


def digs(client, port, n):
    return [dig(client, VIP4, port=port, tries=1, timeout=2) for _ in range(n)]


def server_up(b, backend, addr):
    for be in b.status_json()["backends"]:
        if be["name"] == backend:
            for s in be["servers"]:
                if s["address"] == addr:
                    return s["eligible"]
    raise AssertionError("no server %s in %s" % (addr, backend))


def listener(b, name):
    return next(l for l in b.status_json()["listeners"] if l["name"] == name)


# One socket (one session on a listener without proxy_responses): a query per input line, the
# answer's address (the last 4 bytes of a one-A-record reply) or "timeout" per output line.
LONG = r"""
import socket, sys, binascii
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for line in sys.stdin:
    s.sendto(binascii.unhexlify("%s"), ("%s", %d))
    try:
        d = s.recv(4096)
        print(socket.inet_ntoa(d[-4:]), flush=True)
    except socket.timeout:
        print("timeout", flush=True)
"""


def ask_long(p, n):
    out = []
    for _ in range(n):
        p.stdin.write("q\n")
        p.stdin.flush()
        out.append(p.stdout.readline().strip())
    return out


def test_dns_through_vip(topo, buoy):
    lb1 = topo.add_host("lb1")
    lb2 = topo.add_host("lb2")
    dns = [topo.add_host("dns%d" % (i + 1)) for i in range(3)]
    client = topo.add_host("client")
    servers = [h.ipv4 for h in dns]
    procs = [start_dnsmasq(h, h.ipv4, a) for h, a in zip(dns, ANSWERS)]
    b1 = buoy(lb_yaml("lb1", 120, servers), name="lb1", ns=lb1).wait_started()
    b2 = buoy(lb_yaml("lb2", 100, servers), name="lb2", ns=lb2).wait_started()
    wait_holder([lb1, lb2], VIP4, "lb1", timeout=master_down_s(100) + 4)

    # round robin: every server answers; the same client on the source listener: one server
    t0 = time.monotonic()
    rr = digs(client, 53, 12)
    assert all(a in ANSWERS for a in rr), rr
    assert set(rr) == set(ANSWERS), rr
    src = digs(client, 54, 9)
    assert all(a in ANSWERS for a in src), src
    assert len(set(src)) == 1, src
    print("21 queries through the VIP in %.2fs" % (time.monotonic() - t0))
    long_client = client.popen([netns.PYTHON, "-c", LONG % (query_hex(), VIP4, 55)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert ask_long(long_client, 3) == [src[0]] * 3  # one session, source's server

    st = listener(b1, "dns")
    assert st["protocol"] == "udp"
    assert st["sessions_total"] == 12 and st["datagrams_in_total"] == 12, st
    assert st["datagrams_out_total"] == 12, st
    # proxy_responses 1: each query was a session, closed at its answer
    netns.wait_until(lambda: listener(b1, "dns")["sessions_active"] == 0, timeout=2.0)

    # a server stopped: once the health verdict is in, no client sees an error
    victim = src[0]  # the source listener's one server: its clients must move
    k = ANSWERS.index(victim)
    procs[k].stop()
    netns.wait_until(lambda: not server_up(b1, "dns", servers[k] + ":53")
                     and not server_up(b1, "dns-src", servers[k] + ":53"),
                     timeout=3.0, msg="lb1 marks %s down" % servers[k])
    after = digs(client, 53, 9) + digs(client, 54, 6)
    assert all(a in ANSWERS and a != victim for a in after), after
    assert len(set(after[9:])) == 1, after  # source: one server again
    # the long session's server is out: its next datagram picks another, the client sees none lost
    moved = ask_long(long_client, 3)
    assert len(set(moved)) == 1 and moved[0] in ANSWERS and moved[0] != victim, moved

    # the VIP moves to lb2 (lb1 stops): clients keep getting answers from the same VIP
    netns.wait_until(lambda: not server_up(b2, "dns", servers[k] + ":53"), timeout=3.0)
    b1.stop()
    t0 = time.monotonic()
    wait_holder([lb1, lb2], VIP4, "lb2", timeout=master_down_s(100) + MARGIN + 1)
    failover = digs(client, 53, 6)
    print("VIP on lb2 after %.2fs; answers %s" % (time.monotonic() - t0, failover))
    assert all(a in ANSWERS and a != victim for a in failover), failover
    assert listener(b2, "dns")["sessions_total"] == 6


def server(b, backend, addr):
    be = next(x for x in b.status_json()["backends"] if x["name"] == backend)
    return next(x for x in be["servers"] if x["address"] == addr)


SILENT = ("import socket,time\n"
          "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
          "s.bind(('%s',%d))\n"
          "t=time.monotonic()+%d\n"
          "while time.monotonic()<t:\n"
          "  s.settimeout(1)\n"
          "  try: s.recv(65535)\n"
          "  except OSError: pass\n")

ASK = r"""
import socket, binascii
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(binascii.unhexlify("%s"), ("%s", 53))
data, src = s.recvfrom(4096)
print(src[0], len(data))
"""


def test_passive_wildcard_and_reload(topo, buoy):
    """A wildcard listener answers from the address the client asked (IP_PKTINFO); a closed
    server port (ICMP port unreachable) and a silent server (proxy_responses 1, no reply within
    udp_idle_timeout) are passive failures that take them out; a reload adds a UDP listener."""
    lb = topo.add_host("lb")
    srv = topo.add_host("srv")
    client = topo.add_host("client")
    second = "198.18.0.200"
    lb.run(["ip", "addr", "add", second + "/24", "dev", "eth0"])
    start_dnsmasq(srv, srv.ipv4, ANSWERS[0])
    srv.popen([netns.PYTHON, "-c", SILENT % (srv.ipv4, 55, 60)])
    listeners = ('  - { name: any, protocol: udp, bind: "0.0.0.0:53", backend: mix,'
                 ' proxy_responses: 1 }\n')
    backends = ("  - name: mix\n    health: { type: none }\n    max_fails: 1\n"
                "    fail_timeout: 60s\n    servers:\n"
                '      - { address: "%s:54" }\n      - { address: "%s:53" }\n'
                % (srv.ipv4, srv.ipv4))
    head = "node: lb\nlog: { level: info }\nworkers: 2\nlisteners:\n"
    b = buoy(head + listeners + "backends:\n" + backends, name="lb", ns=lb).wait_started()

    # every query is answered (a retry after the dead port's ICMP), and from the address asked
    got = [dig(client, second, tries=2, timeout=1) for _ in range(6)]
    assert got == [ANSWERS[0]] * 6, got
    dead = server(b, "mix", "%s:54" % srv.ipv4)
    assert dead["passive_down"] and dead["connect_failures_total"] >= 1, dead
    r = client.python(ASK % (query_hex(), second))
    src, n = text(r).split()
    assert src == second and int(n) > 12, r.stdout

    # reload: a second UDP listener whose backend has a server that never answers
    listeners += ('  - { name: quiet, protocol: udp, bind: "%s:5300", backend: quiet,'
                  ' proxy_responses: 1, udp_idle_timeout: 300ms }\n'
                  '  - { name: open, protocol: udp, bind: "%s:5301", backend: open }\n'
                  % (lb.ipv4, lb.ipv4))
    backends += ("  - name: quiet\n    health: { type: none }\n    max_fails: 1\n"
                 "    fail_timeout: 60s\n    servers:\n"
                 '      - { address: "%s:55" }\n      - { address: "%s:53" }\n'
                 % (srv.ipv4, srv.ipv4))
    # every server's check fails (nothing on the health port): the balancer fails open
    open_be = ("  - name: open\n    health: { type: udp, send: x, port: 9, interval: 200ms,"
               " timeout: 200ms, fall: 1 }\n    servers:\n"
               '      - { address: "%s:%%d" }\n' % srv.ipv4)

    def rewrite(open_port):
        with open(b.config_path, "w") as f:
            f.write(head + listeners + "backends:\n" + backends + open_be % open_port
                    + "control: { socket: %s }\n" % b.socket_path)
    rewrite(53)
    b.reload()
    b.wait_log(r'msg="listener added" listener=quiet protocol=udp')
    got = [dig(client, lb.ipv4, port=5300, tries=3, timeout=1) for _ in range(4)]
    assert got == [ANSWERS[0]] * 4, got
    silent = server(b, "quiet", "%s:55" % srv.ipv4)
    assert silent["passive_down"] and silent["connect_failures_total"] >= 1, silent
    assert "no reply" in b.log()
    # one client socket, all servers down: answered (fail open), and in one session, not one
    # reopened per datagram
    netns.wait_until(lambda: not server(b, "open", "%s:53" % srv.ipv4)["eligible"], timeout=3.0)
    one = client.popen([netns.PYTHON, "-c", LONG % (query_hex(), lb.ipv4, 5301)],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert ask_long(one, 3) == [ANSWERS[0]] * 3
    assert listener(b, "open")["sessions_total"] == 1

    # a reload replaces the backend's server: the same client's session moves to the new one
    start_dnsmasq(srv, srv.ipv4, ANSWERS[1], port=5353)
    rewrite(5353)
    b.reload()
    netns.wait_until(lambda: b.log().count('msg="reloaded"') == 2, timeout=5.0)
    # (once the new server is down too: fail open would otherwise keep the session where it is)
    netns.wait_until(lambda: not server(b, "open", "%s:5353" % srv.ipv4)["eligible"], timeout=3.0)
    assert ask_long(one, 2) == [ANSWERS[1]] * 2
    assert listener(b, "open")["sessions_total"] == 2
    # the first listener was kept across the reload: its counters go on
    assert listener(b, "any")["sessions_total"] >= 7


ECHO6 = r"""
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::1", 9053))
s.settimeout(1)
end = time.monotonic() + 30
while time.monotonic() < end:
    try:
        d, a = s.recvfrom(4096)
        s.sendto(b"echo:" + d, a)
    except socket.timeout:
        pass
"""

DUAL = r"""
import socket
for fam, dst in ((socket.AF_INET6, "::1"), (socket.AF_INET, "127.0.0.1")):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(b"hi", (dst, 5353))
    d, src = s.recvfrom(4096)
    print(dst, src[0], d.decode())
"""


def test_ipv6_dual_stack(topo, buoy):
    """An IPv6 server behind a "[::]" listener, which also takes IPv4 clients (dual stack, as
    TCP listeners): each gets its reply from the address it wrote to."""
    lb = topo.add_host("lb", ipv6=True)
    lb.popen([netns.PYTHON, "-c", ECHO6])
    y = ("node: lb\nlog: { level: info }\nworkers: 2\n"
         'metrics: { listen: "127.0.0.1:9254" }\n'
         "listeners:\n"
         '  - { name: dual, protocol: udp, bind: "[::]:5353", backend: six }\n'
         "backends:\n"
         "  - name: six\n    health: { type: udp, send: ping, interval: 200ms }\n"
         '    servers: [ { address: "[::1]:9053" } ]\n')
    b = buoy(y, name="lb", ns=lb).wait_started()
    netns.wait_until(lambda: server(b, "six", "[::1]:9053")["health"]["reason"] == "reply",
                     timeout=3.0)
    lines = text(lb.python(DUAL)).splitlines()
    assert lines == ["::1 ::1 echo:hi", "127.0.0.1 127.0.0.1 echo:hi"], lines
    assert listener(b, "dual")["sessions_total"] == 2
    m = text(lb.run(["curl", "-s", "http://127.0.0.1:9254/metrics"]))
    for line in ('buoy_listener_udp_sessions_total{listener="dual",backend="six"} 2',
                 'buoy_listener_udp_datagrams_total{listener="dual",backend="six",direction="out"} 2',
                 'buoy_listener_udp_bytes_total{listener="dual",backend="six",direction="in"} 4',
                 'buoy_listener_udp_drops_total{listener="dual",backend="six",reason="session_cap"} 0'):
        assert line in m.splitlines(), (line, m)


FLOOD = r"""
import socket, struct, random, time
dst = "%(dst)s"
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
d = socket.inet_aton(dst)
payload = b"flood"
rnd = random.Random(%(seed)d)
t_end = time.monotonic() + 20
sent = 0
for i in range(%(n)d):
    if time.monotonic() > t_end:
        break
    # a spoofed source in the test's own /24 (hosts that do not exist), any port
    src = socket.inet_aton("198.18.0.%%d" %% rnd.randint(150, 250))
    sport = rnd.randint(1024, 65535)
    udp = struct.pack("!HHHH", sport, %(port)d, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0, src, d)
    try:
        s.sendto(ip + udp, (dst, 0))
        sent += 1
    except OSError:
        pass
    if i %% 2000 == 1999:
        time.sleep(0.01)  # let the receiver keep up: the cap, not the socket buffer, should drop
print(sent)
"""


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def buoy_pid(b):
    """The buoy process itself (Proc runs `ip netns exec`, which execs it: the same pid)."""
    return b.pid


def test_spoofed_flood_stays_under_cap(topo, buoy):
    lb = topo.add_host("lb")
    sink = topo.add_host("sink")
    client = topo.add_host("client")
    # a server that never answers: every spoofed session stays open until udp_idle_timeout
    sink.popen([netns.PYTHON, "-c",
                "import socket,time\n"
                "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                "s.bind(('%s',9000))\n"
                "t=time.monotonic()+60\n"
                "while time.monotonic()<t:\n"
                "  s.settimeout(1)\n"
                "  try: s.recv(65535)\n"
                "  except OSError: pass\n" % sink.ipv4])
    cap = 1000
    y = ("node: lb\nlog: { level: info }\nworkers: 2\n"
         "listeners:\n"
         "  - { name: flood, protocol: udp, bind: \"%s:5000\", backend: sink,"
         " max_sessions: %d, udp_idle_timeout: 60s }\n"
         "backends:\n"
         "  - name: sink\n    health: { type: none }\n    servers:\n"
         "      - { address: \"%s:9000\" }\n" % (lb.ipv4, cap, sink.ipv4))
    b = buoy(y, name="lb", ns=lb).wait_started()
    pid = buoy_pid(b)
    rss0 = rss_kb(pid)

    def flood(n, seed):
        r = client.python(FLOOD % {"dst": lb.ipv4, "port": 5000, "n": n, "seed": seed},
                          timeout=40)
        return int(text(r))

    t0 = time.monotonic()
    sent1 = flood(20000, 1)
    netns.wait_until(lambda: listener(b, "flood")["sessions_active"] >= cap * 0.9, timeout=5.0)
    rss1 = rss_kb(pid)
    sent2 = flood(40000, 2)
    time.sleep(0.5)
    st = listener(b, "flood")
    rss2 = rss_kb(pid)
    print("flood: %d + %d spoofed datagrams in %.1fs; sessions %d (cap %d); drops %s; "
          "RSS %d -> %d -> %d kB" % (sent1, sent2, time.monotonic() - t0, st["sessions_active"],
                                     cap, st["drops"], rss0, rss1, rss2))
    assert st["sessions_active"] <= cap
    # (sessions_total may pass cap by a few: a session whose socket the loaded kernel fails is
    # closed and its slot goes to the next source; CI saw 1001 once)
    # the cap refused (and counted) the flood's other sources
    assert st["drops"]["session_cap"] >= (sent1 + sent2) // 2, st
    # twice the flood, with the table full, does not grow memory (a few pages of slack)
    assert rss2 - rss1 < 2048, (rss1, rss2)
    # and the whole table costs little: cap entries, not one per source
    assert rss2 - rss0 < 8192, (rss0, rss2)
    # the listener still serves a real client once sessions free up: not tested here (60 s)


if __name__ == "__main__":
    pytest.main([__file__])
