"""Network-namespace topologies for buoy's integration tests (FRR-topotest style).

A Topology is one "switch" namespace holding a Linux bridge plus one namespace per host, each
attached to the bridge with a veth pair (host side `eth0`, switch side `p<N>`). Everything is
named with the per-run prefix `buoyt-<pid>-` and registered in a module-level registry, so it is
removed by the fixture finalizer, by atexit, and by SIGTERM/SIGHUP, even when a test fails.

Workplace rules honoured here: traffic stays on loopback or inside namespaces we create; IPv4
comes from 198.18.0.0/15 and IPv6 from 2001:db8::/32; the root namespace's interfaces, routes and
firewall are never touched (veth pairs are created directly inside the switch namespace).

Typical use (see conftest.py for the fixtures):

    topo = Topology()
    lb1 = topo.add_host("lb1")                 # 198.18.0.1/24 unless ipv4= is given
    api1 = topo.add_host("api1", ipv6=True)    # + 2001:db8::<N>/64
    api1.start_backend("198.18.0.2:6443", mode="name", name="api1")
    b = lb1.start_buoy(yaml_text)              # stderr captured in b.log_path
    wait_until(lambda: "state=MASTER" in b.log(), timeout=5)
    topo.link_down("lb1")                      # cut lb1's cable (lb1 sees NO-CARRIER)
    topo.isolate("lb1"); topo.rejoin("lb1")    # unplug from the bridge, carrier stays up
    topo.drop("lb1", "vrrp")                   # nft on the switch: drop VRRP to/from lb1
    topo.undrop("lb1")
    rt = topo.add_node("rt")                   # routed: a namespace with no switch cable,
    up = topo.add_link("lb1", rt, ["198.18.1.1/31"], ["198.18.1.0/31"])   # p2p veth to-rt/to-lb1
    rt.enable_forwarding(); lb1.add_route("default", "198.18.1.0")
    rt.route_nexthops("198.18.200.1/32")      # [("to-lb1", "198.18.1.1"), ...] (ECMP aware)
    up.drop(lb1)                               # nft in lb1: blackhole its uplink, carrier up
    k = api1.start_keepalived(conf_text)       # Debian keepalived, VRRP only, own pid files
    lb1.neigh("198.18.0.100"), api1.mac()      # neighbour table / own MAC (gratuitous ARP)
    lb1.run(["ip", "addr"]); lb1.popen([...]); lb1.python("print(1)")
    topo.cleanup()

Processes started through Proc/popen/start_* are tracked and stopped at teardown; deleting a
namespace first SIGKILLs whatever still runs inside it (`ip netns pids`).
"""
import atexit
import ipaddress
import itertools
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

PREFIX = "buoyt-%d-" % os.getpid()
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
HELPERS = os.path.join(HERE, "helpers")
BACKEND_PY = os.path.join(HELPERS, "backend.py")
PYTHON = sys.executable or "/usr/bin/python3"
# A sanitizer build's report in a log (ASan, LSan, TSan, MSan, UBSan): a test with one fails.
SANITIZER = re.compile(r"ERROR: \w+Sanitizer|runtime error: ")

V4_NET = ipaddress.ip_network("198.18.0.0/24")
V6_NET = ipaddress.ip_network("2001:db8::/64")


def buoy_bin():
    """Path of the buoy binary under test: $BUOY_BIN, default <repo>/buoy."""
    return os.environ.get("BUOY_BIN") or os.path.join(REPO, "buoy")


def is_root():
    return os.geteuid() == 0


# ---------------------------------------------------------------------------------------------
# Registry: everything we create, so one call can remove it all (finalizer, atexit, signals).

_lock = threading.RLock()
_procs = []          # Proc objects still possibly running
_namespaces = []     # namespace names, creation order
_tmpdirs = []


def _register_proc(p):
    with _lock:
        _procs.append(p)


def _register_ns(name):
    with _lock:
        _namespaces.append(name)


def sh(cmd, check=True, timeout=30, input=None):
    """Run a command in the root namespace (only `ip netns ...`-style management commands)."""
    args = cmd if isinstance(cmd, (list, tuple)) else ["/bin/sh", "-c", cmd]
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\nstdout: %s\nstderr: %s"
                           % (r.returncode, cmd, r.stdout, r.stderr))
    return r


def list_namespaces(prefix="buoyt-"):
    r = sh(["ip", "netns", "list"], check=False)
    names = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    return [n for n in names if n.startswith(prefix)]


def _kill_ns_pids(name):
    """Processes left inside a namespace keep it busy: kill them before deleting it."""
    r = sh(["ip", "netns", "pids", name], check=False)
    for tok in r.stdout.split():
        try:
            os.kill(int(tok), signal.SIGKILL)
        except (ValueError, ProcessLookupError, PermissionError):
            pass


def delete_namespace(name):
    _kill_ns_pids(name)
    for _ in range(20):
        r = sh(["ip", "netns", "del", name], check=False)
        if r.returncode == 0 or name not in list_namespaces(name):
            return
        time.sleep(0.05)


def cleanup_all():
    """Stop every process and delete every namespace this run created. Idempotent."""
    with _lock:
        procs, _procs[:] = list(_procs), []
        names, _namespaces[:] = list(_namespaces), []
    for p in procs:
        p.stop(timeout=1.0)
    for n in reversed(names):
        delete_namespace(n)
    # Belt and braces: anything else carrying our prefix (e.g. made by a helper script).
    for n in list_namespaces(PREFIX):
        delete_namespace(n)


def sweep_stale():
    """Remove buoyt-<pid>- namespaces whose pid is dead (left by a killed earlier run)."""
    for n in list_namespaces("buoyt-"):
        m = re.match(r"buoyt-(\d+)-", n)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            delete_namespace(n)
        except PermissionError:
            pass


_handlers_installed = False


def install_cleanup_handlers():
    """atexit + SIGTERM/SIGHUP: clean up, then die the way the signal meant."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(cleanup_all)

    def on_signal(signum, frame):
        cleanup_all()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    for s in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(s, on_signal)
        except (ValueError, OSError):   # not the main thread
            pass


# ---------------------------------------------------------------------------------------------
# Converge-with-timeout.

def wait_until(pred, timeout=5.0, interval=0.05, msg=None):
    """Call pred() until it returns something truthy; return that value.
    Raises AssertionError after `timeout` seconds (with msg and the last value/exception)."""
    deadline = time.monotonic() + timeout
    last, last_exc = None, None
    while True:
        try:
            last = pred()
            last_exc = None
            if last:
                return last
        except Exception as e:      # the condition may be briefly unevaluable (socket not up)
            last_exc = e
        if time.monotonic() >= deadline:
            detail = "last value=%r" % (last,) if last_exc is None else "last error=%r" % (last_exc,)
            raise AssertionError("%s: not true within %.1fs (%s)"
                                 % (msg or getattr(pred, "__name__", "condition"), timeout, detail))
        time.sleep(interval)


def eventually(pred, timeout=10.0, step=0.05, msg=""):
    """wait_until with the discovery and churn tests' argument names."""
    return wait_until(pred, timeout=timeout, interval=step, msg=msg or None)


def wait_port(host, port, timeout=5.0, ns=None):
    """Wait until a TCP connect to host:port succeeds (in the root namespace, or in ns)."""
    if ns is not None:
        code = ("import socket,sys\ns=socket.create_connection((%r,%d),timeout=0.5)\ns.close()"
                % (host, port))
        return wait_until(lambda: ns.run([PYTHON, "-c", code], check=False).returncode == 0,
                          timeout=timeout, interval=0.1, msg="connect %s:%d in %s" % (host, port, ns))

    def ok():
        with socket.create_connection((host, port), timeout=0.5):
            return True
    return wait_until(ok, timeout=timeout, msg="connect %s:%d" % (host, port))


def split_hostport(s):
    """'1.2.3.4:80' / '[::1]:80' -> (host, port)."""
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
    else:
        host, _, port = s.rpartition(":")
    return host, int(port)


# ---------------------------------------------------------------------------------------------
# Processes.

class Proc:
    """A tracked child process (own process group); stopped at teardown."""

    def __init__(self, args, ns=None, stdout=None, stderr=None, stdin=None, env=None, cwd=None,
                 log_path=None, text=False, merge_stdout=False):
        self.ns = ns
        self.args = list(args)
        self.log_path = log_path
        self._log_file = None
        full = (["ip", "netns", "exec", ns] if ns else []) + self.args
        if log_path is not None:
            self._log_file = open(log_path, "wb")
            stderr = self._log_file
            if merge_stdout:
                stdout = self._log_file
        self.p = subprocess.Popen(full, stdout=stdout, stderr=stderr, stdin=stdin, env=env,
                                  cwd=cwd, start_new_session=True, text=text)
        self.pid = self.p.pid
        _register_proc(self)

    # subprocess.Popen-like surface
    @property
    def stdout(self):
        return self.p.stdout

    @property
    def stdin(self):
        return self.p.stdin

    @property
    def returncode(self):
        return self.p.returncode

    def poll(self):
        return self.p.poll()

    def wait(self, timeout=None):
        return self.p.wait(timeout)

    def alive(self):
        return self.p.poll() is None

    def send_signal(self, sig):
        if self.p.poll() is None:
            try:
                os.kill(self.p.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout=2.0, sig=signal.SIGTERM):
        """SIGTERM, then SIGKILL to the whole process group after `timeout`."""
        if self.p.poll() is None:
            self.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.p.wait(2)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.p.stdout, self.p.stdin, self.p.stderr, self._log_file):
            try:
                if f:
                    f.close()
            except Exception:
                pass
        with _lock:
            if self in _procs:
                _procs.remove(self)
        return self.p.returncode

    def kill(self):
        return self.stop(timeout=0, sig=signal.SIGKILL)

    def log(self):
        """Everything the process wrote to its captured stderr so far."""
        if not self.log_path:
            return ""
        if self._log_file and not self._log_file.closed:
            self._log_file.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=5.0):
        """Wait for a regex to appear in the captured stderr; returns the match."""
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log()), timeout=timeout,
                          msg="log %r in %s" % (pattern, self.log_path))

    def __repr__(self):
        return "Proc(pid=%d, ns=%s, %s)" % (self.pid, self.ns, " ".join(self.args)[:80])


class Buoy(Proc):
    """A running `buoy run -c FILE`; config in .config_path, stderr in .log_path."""

    def __init__(self, yaml_text, workdir, ns=None, args=None, name="buoy", env=None,
                 chroot=None):
        """chroot: a root file system (an image's) to run its own /usr/sbin/buoy in; workdir
        must lie inside it (paths in the config and argv are then the ones seen inside)."""
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.config_path = os.path.join(workdir, name + ".yaml")
        self.socket_path = os.path.join(workdir, name + ".sock")
        inner = (lambda p: "/" + os.path.relpath(p, chroot)) if chroot else (lambda p: p)
        if chroot:
            assert not inner(workdir).startswith("/.."), "workdir outside the chroot"
        if not re.search(r"^control\s*:", yaml_text, re.M):
            # Several buoys run at once: never share the default /run/buoy socket.
            yaml_text = (yaml_text.rstrip("\n") + "\ncontrol: { socket: %s }\n"
                         % inner(self.socket_path))
        with open(self.config_path, "w") as f:
            f.write(yaml_text)
        exe = ["chroot", chroot, "/usr/sbin/buoy"] if chroot else [buoy_bin()]
        argv = exe + (list(args) if args else ["run", "-c", inner(self.config_path)])
        super().__init__(argv, ns=ns, stdout=subprocess.DEVNULL, env=env,
                         log_path=os.path.join(workdir, name + ".log"))

    def reload(self):
        self.send_signal(signal.SIGHUP)

    def status_json(self, timeout=10):
        """`buoy status --json` through this buoy's control socket, parsed."""
        r = subprocess.run([buoy_bin(), "status", "--json", "--socket", self.socket_path],
                           capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, r.stdout + r.stderr
        return json.loads(r.stdout)

    def wait_started(self, timeout=10.0, pattern=r'msg="started"'):
        """Wait for the startup log line; fail at once (with the log) if buoy exited."""
        rx = re.compile(pattern)

        def ready():
            if self.poll() is not None:
                raise AssertionError("buoy exited with %s before starting:\n%s"
                                     % (self.returncode, self.log()))
            return rx.search(self.log())
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise AssertionError("buoy did not start within %.1fs:\n%s"
                                     % (timeout, self.log()))
            time.sleep(0.02)
        return self

    def terminate_and_wait(self, timeout=10.0):
        """SIGTERM and wait for exit; returns the exit code (None if it did not exit)."""
        self.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


def buoy_check(yaml_text, workdir, name="check"):
    """Run `buoy check -c FILE`; returns (returncode, stdout, stderr, path)."""
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, name + ".yaml")
    with open(path, "w") as f:
        f.write(yaml_text)
    r = subprocess.run([buoy_bin(), "check", "-c", path], capture_output=True, text=True,
                       timeout=20)
    return r.returncode, r.stdout, r.stderr, path


def start_backend(listen, mode="name", name=None, ns=None, extra=(), ready_timeout=5.0):
    """Start helpers/backend.py as a tracked process (optionally inside namespace ns).
    mode: name | echo | stream | sink | hold | http; see helpers/backend.py --help.
    Returns the Proc once the backend has printed its ready line."""
    args = [PYTHON, "-u", BACKEND_PY, "--listen", listen, "--mode", mode]
    if name:
        args += ["--name", name]
    args += list(extra)
    p = Proc(args, ns=ns, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + ready_timeout
    line = ""
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if line.startswith("ready") or not line:
            break
    if not line.startswith("ready"):
        p.stop()
        raise RuntimeError("backend %s did not start (%r)" % (listen, line))
    return p


# ---------------------------------------------------------------------------------------------
# Namespaces and topologies.

class Namespace:
    """One network namespace (`buoyt-<pid>-<role>`)."""

    def __init__(self, role, topo=None):
        self.role = role
        self.name = PREFIX + role
        self.topo = topo
        self.ipv4 = None    # "198.18.0.N" (no prefix) once attached
        self.ipv6 = None
        sh(["ip", "netns", "add", self.name])
        _register_ns(self.name)
        # Addresses must be usable at once: no duplicate address detection. Set before any
        # interface exists so `default` covers the veth that arrives later.
        self.sysctl("net.ipv6.conf.all.accept_dad", 0)
        self.sysctl("net.ipv6.conf.default.accept_dad", 0)
        self.run(["ip", "link", "set", "lo", "up"])

    def __str__(self):
        return self.name

    def sysctl(self, key, value):
        self.run(["sysctl", "-q", "-w", "%s=%s" % (key, value)])

    def run(self, cmd, check=True, timeout=30, input=None):
        """Run cmd (list, or str for /bin/sh -c) inside this namespace and wait for it."""
        args = cmd if isinstance(cmd, (list, tuple)) else ["/bin/sh", "-c", cmd]
        return sh(["ip", "netns", "exec", self.name] + list(args), check=check, timeout=timeout,
                  input=input)

    def popen(self, cmd, **kw):
        """Start cmd inside this namespace as a tracked Proc (killed at teardown).
        Keyword args go to Proc (stdout=, stderr=, log_path=, text=, env=)."""
        args = cmd if isinstance(cmd, (list, tuple)) else ["/bin/sh", "-c", cmd]
        return Proc(args, ns=self.name, **kw)

    def python(self, code, check=True, timeout=30):
        """Run a Python snippet inside this namespace; returns CompletedProcess."""
        return self.run([PYTHON, "-c", code], check=check, timeout=timeout)

    def start_buoy(self, yaml_text, workdir=None, name=None, args=None):
        workdir = workdir or (self.topo.workdir if self.topo else tempfile.mkdtemp(prefix="buoyt-"))
        return Buoy(yaml_text, workdir, ns=self.name, name=name or ("buoy-" + self.role),
                    args=args)

    def start_backend(self, listen, mode="name", name=None, extra=()):
        return start_backend(listen, mode=mode, name=name or self.role, ns=self.name, extra=extra)

    def start_keepalived(self, conf_text, name=None, args=()):
        """Debian's keepalived (VRRP only, foreground) inside this namespace, with its own pid
        files; output (stdout+stderr) in .log_path. args: more options (e.g. -i CONFIG_ID)."""
        wd = self.topo.workdir if self.topo else tempfile.mkdtemp(prefix="buoyt-")
        name = name or ("keepalived-" + self.role)
        conf = os.path.join(wd, name + ".conf")
        with open(conf, "w") as f:
            f.write(conf_text)
        argv = ["keepalived", "--dont-fork", "--log-console", "--log-detail", "--vrrp",
                "--use-file", conf, "--pid", os.path.join(wd, name + ".pid"),
                "--vrrp_pid", os.path.join(wd, name + "-vrrp.pid"),
                "--checkers_pid", os.path.join(wd, name + "-chk.pid")] + list(args)
        p = Proc(argv, ns=self.name, log_path=os.path.join(wd, name + ".log"), merge_stdout=True)
        p.config_path = conf
        return p

    def mac(self, dev="eth0"):
        out = self.run(["ip", "-o", "link", "show", "dev", dev]).stdout
        return re.search(r"link/ether (\S+)", out).group(1)

    def neigh(self, addr, dev="eth0"):
        """The link-layer address this namespace's neighbour table has for addr, or None."""
        out = self.run(["ip", "neigh", "show", "to", addr, "dev", dev], check=False).stdout
        m = re.search(r"lladdr (\S+)", out)
        return m.group(1) if m else None

    def addresses(self, dev="eth0"):
        r = self.run(["ip", "-o", "addr", "show", "dev", dev], check=False)
        return re.findall(r"inet6? (\S+)", r.stdout)

    def has_address(self, addr, dev="eth0"):
        """addr with or without /prefix."""
        a = addr.split("/")[0]
        return any(x.split("/")[0] == a for x in self.addresses(dev))

    # --- routing (routed topologies: see Topology.add_node / add_link) ----------------------

    def enable_forwarding(self, multipath_hash=1):
        """Make this namespace a router: IPv4/IPv6 forwarding on, and ECMP hashed on L4 (policy
        1: addresses + ports), so that many connections from one client spread over next hops."""
        self.sysctl("net.ipv4.ip_forward", 1)
        self.sysctl("net.ipv6.conf.all.forwarding", 1)
        if multipath_hash is not None:
            self.sysctl("net.ipv4.fib_multipath_hash_policy", multipath_hash)
            self.sysctl("net.ipv6.fib_multipath_hash_policy", multipath_hash)

    def add_route(self, dst, via, dev=None):
        """`ip route replace dst via GW [dev DEV]` (dst "default" or a prefix; the family is
        via's)."""
        fam = ["-6"] if ":" in via else ["-4"]
        self.run(["ip"] + fam + ["route", "replace", dst, "via", via]
                 + (["dev", dev] if dev else []))

    def ip_json(self, args):
        """`ip -j ARGS` inside this namespace, parsed ([] for empty output)."""
        out = self.run(["ip", "-j"] + list(args), check=False).stdout.strip()
        if not out:
            return []
        return json.loads(out)

    def route_nexthops(self, prefix):
        """The kernel's next hops for exactly `prefix` (main table), as a sorted list of
        (dev, gateway) pairs; [] when there is no such route. Understands the three ways
        iproute2 prints one: a single gateway, a `nexthops` array (multipath), and a nexthop
        object (`nhid`, FRR's zebra installs those) whose group is looked up with `ip nexthop`."""
        fam = "-6" if ":" in prefix else "-4"
        routes = self.ip_json([fam, "route", "show", "exact", prefix])
        hops = []
        for r in routes:
            if r.get("type", "unicast") != "unicast":
                continue
            if "nexthops" in r:
                hops += [(h.get("dev"), h.get("gateway")) for h in r["nexthops"]]
            elif "gateway" in r or "dev" in r:
                hops.append((r.get("dev"), r.get("gateway")))
            elif "nhid" in r:
                hops += self._nhid_hops(r["nhid"])
        return sorted(hops, key=lambda h: (h[0] or "", h[1] or ""))

    def _nhid_hops(self, nhid):
        objs = self.ip_json(["nexthop", "show", "id", str(nhid)])
        hops = []
        for o in objs:
            if "group" in o:
                for g in o["group"]:
                    hops += self._nhid_hops(g["id"])
            else:
                hops.append((o.get("dev"), o.get("gateway")))
        return hops

    # --- per-namespace packet filters (nftables, inet family) ------------------------------
    # Topology.drop() filters on the switch; these filter one interface of this namespace,
    # e.g. a point-to-point uplink that has no switch: the carrier stays up, packets vanish.

    _NS_PROTO = {"tcp": "meta l4proto tcp", "udp": "meta l4proto udp",
                 "icmp": "meta l4proto { icmp, ipv6-icmp }", "bfd": "udp dport { 3784, 4784 }",
                 "bgp": "tcp dport 179", "all": ""}

    def drop_dev(self, dev, proto="all", direction="both"):
        """Drop what crosses interface dev (in and out, or direction "in"/"out") in this
        namespace: proto all | tcp | udp | icmp | bfd | bgp. The rules are applied in one
        atomic nft transaction (both directions start dropping at the same instant)."""
        script = []
        if not getattr(self, "_nft_ready", False):
            script.append("add table inet buoyt")
            for chain, hook in (("c_in", "input"), ("c_out", "output"), ("c_fwd", "forward")):
                script.append("add chain inet buoyt %s { type filter hook %s priority -10 ; }"
                              % (chain, hook))
        match = self._NS_PROTO[proto]
        rules = []
        if direction in ("both", "in"):
            rules += [("c_in", "iifname"), ("c_fwd", "iifname")]
        if direction in ("both", "out"):
            rules += [("c_out", "oifname"), ("c_fwd", "oifname")]
        for chain, key in rules:
            script.append('add rule inet buoyt %s %s "%s" %s drop' % (chain, key, dev, match))
        self.run(["nft", "-f", "-"], input="\n".join(script) + "\n")
        self._nft_ready = True

    def undrop_dev(self, dev=None):
        """Remove the drop_dev() rules of dev (every interface when None), atomically."""
        if not getattr(self, "_nft_ready", False):
            return
        script = []
        for chain in ("c_in", "c_out", "c_fwd"):
            out = self.run(["nft", "-a", "list", "chain", "inet", "buoyt", chain]).stdout
            for line in out.splitlines():
                m = re.search(r'[io]ifname "?([^" ]+)"? .*# handle (\d+)', line)
                if m and (dev is None or m.group(1) == dev):
                    script.append("delete rule inet buoyt %s handle %s" % (chain, m.group(2)))
        if script:
            self.run(["nft", "-f", "-"], input="\n".join(script) + "\n")


class Topology:
    """A switch namespace with bridge `br0` and hosts hanging off it."""

    def __init__(self, workdir=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="buoyt-%d-" % os.getpid())
        self.hosts = {}
        self._port = {}            # role -> switch-side port name
        self._seq = itertools.count(1)
        self.switch = Namespace("sw", self)
        self.switch.run("ip link add br0 type bridge forward_delay 0 stp_state 0 "
                        "mcast_snooping 0 && ip link set br0 up")

    def __getitem__(self, role):
        return self.hosts[role]

    def add_host(self, role, ipv4=None, ipv6=False, prefix4=24, prefix6=64, mac=None):
        """Create namespace <role>, its cable to the switch, and addresses on eth0.
        ipv4: "198.18.0.N[/len]" or None for the next free one; ipv6: False, True (auto) or
        an address in 2001:db8::/32."""
        if role in self.hosts:
            raise ValueError("duplicate host " + role)
        n = next(self._seq)
        ns = Namespace(role, self)
        port = "p%d" % n
        self.switch.run(["ip", "link", "add", port, "type", "veth", "peer", "name", "eth0",
                         "netns", ns.name])
        self.switch.run(["ip", "link", "set", port, "master", "br0", "up"])
        if mac:
            ns.run(["ip", "link", "set", "eth0", "address", mac])
        if ipv4 is None:
            ipv4 = "%s/%d" % (V4_NET.network_address + n, prefix4)
        elif "/" not in ipv4:
            ipv4 = "%s/%d" % (ipv4, prefix4)
        _check_range(ipv4, "198.18.0.0/15")
        ns.run(["ip", "addr", "add", ipv4, "dev", "eth0"])
        ns.ipv4 = ipv4.split("/")[0]
        ns.cidrs = [ipv4]
        if ipv6:
            if ipv6 is True:
                ipv6 = "%s/%d" % (V6_NET.network_address + n, prefix6)
            elif "/" not in ipv6:
                ipv6 = "%s/%d" % (ipv6, prefix6)
            _check_range(ipv6, "2001:db8::/32")
            ns.run(["ip", "addr", "add", ipv6, "dev", "eth0", "nodad"])
            ns.ipv6 = ipv6.split("/")[0]
            ns.cidrs.append(ipv6)
        ns.fixed_mac = mac
        ns.run(["ip", "link", "set", "eth0", "up"])
        self.hosts[role] = ns
        self._port[role] = port
        return ns

    def recreate_cable(self, role, pause=0.0):
        """Delete the host's eth0 (and its cable) and create it again under the same name: a new
        ifindex, as when a VLAN, bond or veth is torn down and set up again."""
        ns, port = self.hosts[role], self._port[role]
        ns.run(["ip", "link", "del", "eth0"])
        time.sleep(pause)
        self.switch.run(["ip", "link", "add", port, "type", "veth", "peer", "name", "eth0",
                         "netns", ns.name])
        self.switch.run(["ip", "link", "set", port, "master", "br0", "up"])
        if ns.fixed_mac:
            ns.run(["ip", "link", "set", "eth0", "address", ns.fixed_mac])
        for cidr in ns.cidrs:
            ns.run(["ip", "addr", "add", cidr, "dev", "eth0"] + (["nodad"] if ":" in cidr else []))
        ns.run(["ip", "link", "set", "eth0", "up"])

    def port(self, role):
        """Switch-side interface name of a host's cable."""
        return self._port[role]

    def link_down(self, role):
        """Cut the host's cable: its switch-side veth goes down (the host sees NO-CARRIER)."""
        self.switch.run(["ip", "link", "set", self._port[role], "down"])

    def link_up(self, role):
        self.switch.run(["ip", "link", "set", self._port[role], "up"])

    def isolate(self, role):
        """Blackhole without carrier loss: unplug the port from the bridge (link stays up)."""
        self.switch.run(["ip", "link", "set", self._port[role], "nomaster"])

    def rejoin(self, role):
        self.switch.run(["ip", "link", "set", self._port[role], "master", "br0", "up"])

    # Protocol filters on a host's cable: nftables (bridge family, forward hook) in the switch
    # namespace. Matching on the switch-side port drops what the host sends ("from") and what is
    # forwarded to it ("to"). (tc actions are not available on this kernel; nft is.)
    _PROTO = {"vrrp": "meta l4proto 112", "icmp": "meta l4proto { icmp, ipv6-icmp }",
              "tcp": "meta l4proto tcp", "udp": "meta l4proto udp", "all": ""}

    def _nft(self, *args):
        return self.switch.run(["nft"] + list(args))

    def drop(self, role, proto="vrrp", direction="both"):
        """Drop an IP protocol (vrrp|icmp|tcp|udp), or every frame ("all"), on role's cable.
        direction: both | from (what the host sends) | to (what would reach the host)."""
        port = self._port[role]
        if not getattr(self, "_nft_ready", False):
            self._nft("add", "table", "bridge", "buoyt")
            self._nft("add", "chain", "bridge", "buoyt", "filt",
                      "{ type filter hook forward priority 0; }")
            self._nft_ready = True
        match = self._PROTO[proto]
        dirs = {"both": ["iifname", "oifname"], "from": ["iifname"], "to": ["oifname"]}[direction]
        for d in dirs:
            self.switch.run("nft add rule bridge buoyt filt %s %s %s drop" % (d, port, match))

    def undrop(self, role):
        """Remove every rule drop() put on role's cable."""
        if not getattr(self, "_nft_ready", False):
            return
        port = self._port[role]
        out = self._nft("-a", "list", "chain", "bridge", "buoyt", "filt").stdout
        for line in out.splitlines():
            m = re.search(r'[io]ifname "?%s"? .*# handle (\d+)' % re.escape(port), line)
            if m:
                self._nft("delete", "rule", "bridge", "buoyt", "filt", "handle", m.group(1))

    def start_backend(self, role, listen, mode="name", name=None, extra=()):
        return self.hosts[role].start_backend(listen, mode=mode, name=name, extra=extra)

    # --- routed topologies: namespaces joined by point-to-point veths -----------------------

    def add_node(self, role):
        """A namespace with no cable to the switch (a router, a client behind it): connect it
        with add_link() (or p2p()). Cleaned up with the topology."""
        if role in self.hosts:
            raise ValueError("duplicate host " + role)
        ns = Namespace(role, self)
        ns.cidrs = []
        ns.fixed_mac = None
        self.hosts[role] = ns
        return ns

    def p2p(self, a, b, a_if, b_if, a_addrs, b_addrs):
        """A point-to-point veth between namespaces a and b (routed fabrics: no bridge), with
        addresses ("198.18.1.1/31", "2001:db8:1:1::2/64") on each end, both ends up.
        (add_link with explicit interface names; returns the Link.)"""
        return self.add_link(a, b, a_addrs, b_addrs, a_dev=a_if, b_dev=b_if)

    def add_link(self, a, b, a_addrs=(), b_addrs=(), a_dev=None, b_dev=None):
        """A point-to-point veth between hosts a and b (roles or Namespaces), created inside a's
        namespace with its peer moved straight into b's (the root namespace never sees it).
        Interfaces are named `to-<peer role>` unless given; addresses are CIDRs in the test
        ranges (IPv6 without DAD). Returns a Link."""
        a = self.hosts[a] if isinstance(a, str) else a
        b = self.hosts[b] if isinstance(b, str) else b
        a_dev = a_dev or ("to-" + b.role)[:15]
        b_dev = b_dev or ("to-" + a.role)[:15]
        a.run(["ip", "link", "add", a_dev, "type", "veth", "peer", "name", b_dev,
               "netns", b.name])
        for ns, dev, addrs in ((a, a_dev, a_addrs), (b, b_dev, b_addrs)):
            for cidr in addrs:
                _check_range(cidr, "2001:db8::/32" if ":" in cidr else "198.18.0.0/15")
                ns.run(["ip", "addr", "add", cidr, "dev", dev] + (["nodad"] if ":" in cidr else []))
            ns.run(["ip", "link", "set", dev, "up"])
        link = Link(a, a_dev, list(a_addrs), b, b_dev, list(b_addrs))
        self.links = getattr(self, "links", [])
        self.links.append(link)
        return link

    def cleanup(self):
        """Remove every process inside our namespaces and the namespaces themselves."""
        names = [h.name for h in self.hosts.values()] + [self.switch.name]
        with _lock:
            procs = [p for p in _procs if p.ns in names]
        for p in procs:
            p.stop(timeout=1.0)
        for name in names:
            delete_namespace(name)
            with _lock:
                if name in _namespaces:
                    _namespaces.remove(name)
        self.hosts.clear()


class Link:
    """A point-to-point veth made by Topology.add_link: side a (a, a_dev, a_addrs) and side b."""

    def __init__(self, a, a_dev, a_addrs, b, b_dev, b_addrs):
        self.a, self.a_dev, self.a_addrs = a, a_dev, a_addrs
        self.b, self.b_dev, self.b_addrs = b, b_dev, b_addrs

    def side(self, ns):
        """(namespace, dev) of one end, by role or Namespace."""
        role = ns if isinstance(ns, str) else ns.role
        if role == self.a.role:
            return self.a, self.a_dev
        if role == self.b.role:
            return self.b, self.b_dev
        raise KeyError(role)

    def addr(self, ns, family=4):
        """The first address (no prefix length) of family 4 or 6 on ns's end."""
        role = ns if isinstance(ns, str) else ns.role
        addrs = self.a_addrs if role == self.a.role else self.b_addrs
        for c in addrs:
            if (":" in c) == (family == 6):
                return c.split("/")[0]
        return None

    def down(self, ns=None):
        """Set one end down (default side a): both ends lose carrier."""
        n, dev = self.side(ns or self.a)
        n.run(["ip", "link", "set", dev, "down"])

    def up(self, ns=None):
        n, dev = self.side(ns or self.a)
        n.run(["ip", "link", "set", dev, "up"])

    def drop(self, ns=None, proto="all"):
        """Blackhole the link at one end (default side a) with nftables: carrier stays up, so
        only a liveness protocol (BFD, hold timers) can notice."""
        n, dev = self.side(ns or self.a)
        n.drop_dev(dev, proto)

    def undrop(self, ns=None):
        n, dev = self.side(ns or self.a)
        n.undrop_dev(dev)

    def __repr__(self):
        return "Link(%s:%s <-> %s:%s)" % (self.a.role, self.a_dev, self.b.role, self.b_dev)


def _check_range(addr, net):
    ip = ipaddress.ip_interface(addr).ip
    if ip not in ipaddress.ip_network(net):
        raise ValueError("%s is outside %s (workplace test-network rule)" % (addr, net))


def shell_join(args):
    return " ".join(shlex.quote(a) for a in args)
