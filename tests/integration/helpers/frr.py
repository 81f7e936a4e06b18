"""FRR as the upstream router of a routed test topology: zebra + bfdd + bgpd in one namespace,
each with its own sockets and pid file under a private directory (never /var/run/frr, never
the host's FRR), queried with vtysh.

    from helpers.frr import Frr, bgpd_conf, bfdd_conf, need_frr, wait_nexthops
    frr = Frr(rt, workdir, bgpd=bgpd_conf(65000, "198.18.1.0", [("198.18.1.1", 65001)]),
              bfdd=bfdd_conf()).start()
    frr.wait_established(["198.18.1.1"], timeout=20); frr.wait_bfd_up(["198.18.1.1"])
    frr.bgp_peer_states(); frr.bfd_peers(); frr.vtysh("show ip route")
    frr.nexthops("198.18.200.1/32")        # the kernel's route: [("to-lb1", "198.18.1.1"), ...]
    wait_nexthops(rt, "198.18.200.1/32", n=3)   # or devs=["to-lb1", "to-lb2"]
    frr.stop()

Notes (FRR 8.4, Debian 12):
  - The daemons start as root and drop to user/group frr, so their directory must be
    reachable by frr: pytest's tmp_path (0700 root) is not; Frr makes its own 0755 directory
    under /tmp (removed by stop(), or at exit).
  - Every daemon gets -z (zserv socket), -i (pid file), --vty_socket (directory of the
    <daemon>.vty sockets vtysh uses) and -P 0 (no TCP vty); bfdd also --bfdctl (its default is
    the host's /var/run/frr/bfdd.sock). They run in the foreground (no -d) as tracked
    processes, logging (--log stdout) to <workdir>/<name>-<daemon>.log.
  - bgpd reaches bfdd through zebra: start zebra first, then bfdd, then bgpd.
  - `no bgp ebgp-requires-policy`: without it FRR >= 7.4 neither accepts nor sends eBGP routes.
    `no bgp default ipv4-unicast`: an IPv6 neighbor is activated in ipv6 unicast only.
  - zebra installs routes as nexthop objects (`nhid`); IPv6 routes learnt over eBGP go via the
    peer's link-local address (fe80::...): identify next hops by interface, not by address.
  - Connection collisions: when something that is not the peer answers on the peer's :179 (a
    second speaker on an LB), FRR's own connection may hang in OpenSent; with a router-id
    lower than the peers' the peer's connection wins the collision.
"""
import atexit
import grp
import json
import os
import pwd
import shutil
import tempfile
import time

import pytest

import netns

FRR_DIR = "/usr/lib/frr"
DAEMONS = ("zebra", "bfdd", "bgpd")


def have_frr():
    return all(os.access(os.path.join(FRR_DIR, d), os.X_OK) for d in DAEMONS) \
        and shutil.which("vtysh") is not None


def need_frr():
    if not have_frr():
        pytest.skip("FRR not installed (scripts/deps test: frr)")


# ---------------------------------------------------------------------------------------------
# Config text.

def bgpd_conf(asn, router_id, neighbors, maximum_paths=8, bfd_profile="fast", hold=(3, 9),
              connect_retry=1, export_nothing=True, extra=""):
    """bgpd.conf for a router with eBGP neighbors. neighbors: (address, remote_as) pairs,
    IPv4 or IPv6 (each activated only in its own family). All neighbors get BFD (profile
    bfd_profile, defined in bfdd_conf) unless bfd_profile is None; keepalive/hold `hold`;
    `maximum-paths` in both families (ECMP); nothing is sent back to the neighbors when
    export_nothing (the LBs import nothing anyway; it keeps their logs quiet)."""
    v4 = [(a, asn_) for a, asn_ in neighbors if ":" not in a]
    v6 = [(a, asn_) for a, asn_ in neighbors if ":" in a]
    out = ["frr defaults traditional", "hostname rt", "log stdout informational", "!",
           "route-map NONE deny 10", "!",
           "router bgp %d" % asn,
           " bgp router-id %s" % router_id,
           " no bgp ebgp-requires-policy",
           " no bgp default ipv4-unicast",
           " no bgp network import-check",
           " bgp bestpath as-path multipath-relax",
           " timers bgp %d %d" % hold]
    for addr, ras in neighbors:
        out.append(" neighbor %s remote-as %d" % (addr, ras))
        out.append(" neighbor %s timers connect %d" % (addr, connect_retry))
        out.append(" neighbor %s advertisement-interval 0" % addr)
        if bfd_profile:
            out.append(" neighbor %s bfd" % addr)
            out.append(" neighbor %s bfd profile %s" % (addr, bfd_profile))
    for fam, group in (("ipv4", v4), ("ipv6", v6)):
        out.append(" address-family %s unicast" % fam)
        out.append("  maximum-paths %d" % maximum_paths)
        for addr, _ in group:
            out.append("  neighbor %s activate" % addr)
            if export_nothing:
                out.append("  neighbor %s route-map NONE out" % addr)
        out.append(" exit-address-family")
    out.append("!")
    if extra:
        out.append(extra)
    return "\n".join(out) + "\n"


def bfdd_conf(profile="fast", interval_ms=100, multiplier=3):
    return ("hostname rt\nlog stdout informational\n!\nbfd\n profile %s\n"
            "  detect-multiplier %d\n  receive-interval %d\n  transmit-interval %d\n !\n!\n"
            % (profile, multiplier, interval_ms, interval_ms))


def zebra_conf():
    return "hostname rt\nlog stdout informational\n!\n"


# ---------------------------------------------------------------------------------------------
# The daemons.

class Frr:
    """zebra, bfdd and bgpd inside namespace ns, under a private directory."""

    def __init__(self, ns, workdir, bgpd, bfdd=None, zebra=None, name="frr"):
        need_frr()
        self.ns = ns
        # A directory frr can reach after the privilege drop (see the module notes).
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="buoyt-%s-" % name, dir="/tmp")
        atexit.register(shutil.rmtree, self.dir, True)     # even if stop() is never reached
        os.chmod(self.dir, 0o755)
        self.workdir = workdir
        self.vty = os.path.join(self.dir, "vty")
        os.makedirs(self.vty)
        self.zsock = os.path.join(self.dir, "zserv.api")
        self.confs = {"zebra": zebra or zebra_conf(), "bfdd": bfdd or bfdd_conf(), "bgpd": bgpd}
        uid = pwd.getpwnam("frr").pw_uid if _has_user("frr") else 0
        gid = grp.getgrnam("frr").gr_gid if _has_group("frr") else 0
        self.user = "frr" if uid else "root"
        for path in (self.dir, self.vty):
            os.chown(path, uid, gid)
        for d, text in self.confs.items():
            p = os.path.join(self.dir, d + ".conf")
            with open(p, "w") as f:
                f.write(text)
            os.chown(p, uid, gid)
        self.procs = {}

    def path(self, daemon, suffix):
        return os.path.join(self.dir, daemon + suffix)

    def _argv(self, daemon):
        argv = [os.path.join(FRR_DIR, daemon), "-u", self.user, "-g", self.user,
                "-z", self.zsock, "-i", self.path(daemon, ".pid"), "--vty_socket", self.vty,
                "-f", self.path(daemon, ".conf"), "-P", "0", "--log", "stdout"]
        if daemon == "bfdd":
            argv += ["--bfdctl", self.path("bfdd", ".sock")]
        return argv

    def start(self, timeout=10.0):
        for d in DAEMONS:
            self.start_daemon(d, timeout)
        return self

    def start_daemon(self, daemon, timeout=10.0):
        p = self.ns.popen(self._argv(daemon), log_path=self._log_path(daemon), merge_stdout=True)
        self.procs[daemon] = p
        vty = os.path.join(self.vty, daemon + ".vty")
        deadline = time.monotonic() + timeout
        while not os.path.exists(vty):      # ready once its vty socket exists
            if p.poll() is not None:
                raise AssertionError("%s exited (%s):\n%s" % (daemon, p.returncode, p.log()))
            if time.monotonic() > deadline:
                raise AssertionError("%s: no %s within %.1fs:\n%s" % (daemon, vty, timeout,
                                                                     p.log()))
            time.sleep(0.02)
        return p

    def _log_path(self, daemon):
        return os.path.join(self.workdir, "%s-%s.log" % (self.name, daemon))

    def stop(self):
        for d in reversed(DAEMONS):
            p = self.procs.pop(d, None)
            if p:
                p.stop(timeout=2.0)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self, daemon="bgpd"):
        p = self.procs.get(daemon)
        if p:
            return p.log()
        path = self._log_path(daemon)
        if not os.path.exists(path):
            return ""
        with open(path, errors="replace") as f:
            return f.read()

    def nexthops(self, prefix):
        """The router's kernel next hops for prefix: sorted (dev, gateway) pairs."""
        return self.ns.route_nexthops(prefix)

    # --- vtysh ------------------------------------------------------------------------------

    def vtysh(self, *commands, check=True, timeout=10):
        """Run vtysh commands (each one -c) in the router namespace; returns stdout text."""
        argv = ["vtysh", "--vty_socket", self.vty]
        for c in commands:
            argv += ["-c", c]
        r = self.ns.run(argv, check=check, timeout=timeout)
        return r.stdout

    def vtysh_json(self, command):
        out = self.vtysh(command).strip()
        return json.loads(out) if out else {}

    def bgp_summary(self):
        """{"ipv4Unicast": {...,"peers": {addr: {"state": ...}}}, "ipv6Unicast": {...}}"""
        return self.vtysh_json("show bgp summary json")

    def bgp_peer_states(self):
        """{neighbor address: state} over both families ("Established", "Active", ...)."""
        states = {}
        for fam in self.bgp_summary().values():
            if isinstance(fam, dict):
                for addr, p in fam.get("peers", {}).items():
                    states[addr] = p.get("state")
        return states

    def bfd_peers(self):
        """{peer address: status ("up"/"down"/"init"...)} from `show bfd peers json`."""
        out = {}
        for p in self.vtysh_json("show bfd peers json") or []:
            out[p.get("peer")] = p.get("status")
        return out

    def wait_established(self, addrs, timeout=20.0):
        addrs = list(addrs)
        return netns.wait_until(
            lambda: all(self.bgp_peer_states().get(a) == "Established" for a in addrs),
            timeout=timeout, interval=0.2,
            msg="BGP Established with %s" % addrs)

    def wait_bfd_up(self, addrs, timeout=10.0):
        addrs = list(addrs)
        return netns.wait_until(lambda: all(self.bfd_peers().get(a) == "up" for a in addrs),
                                timeout=timeout, interval=0.2, msg="BFD up with %s" % addrs)


# ---------------------------------------------------------------------------------------------
# The router's kernel table (what actually forwards), independent of who put it there.

def nexthop_devs(ns, prefix):
    """Interfaces of the kernel's next hops for prefix in ns (one per ECMP path)."""
    return [dev for dev, _ in ns.route_nexthops(prefix)]


def wait_nexthops(ns, prefix, n=None, devs=None, timeout=10.0, interval=0.02):
    """Wait until the kernel route for prefix has exactly n next hops (and, if devs is given,
    exactly those interfaces). Returns (seconds it took, the next-hop devs)."""
    t0 = time.monotonic()
    want = sorted(devs) if devs is not None else None

    def ok():
        got = sorted(nexthop_devs(ns, prefix))
        if want is not None:
            return got == want and (got or [True])
        return len(got) == n and (got or [True])
    try:
        netns.wait_until(ok, timeout=timeout, interval=interval)
    except AssertionError:
        raise AssertionError("%s: not %s next hops for %s within %.1fs (have %s)"
                             % (ns.role, want if want is not None else n, prefix, timeout,
                                nexthop_devs(ns, prefix))) from None
    return time.monotonic() - t0, nexthop_devs(ns, prefix)


def _has_user(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _has_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False
