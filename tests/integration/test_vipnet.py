"""The node side of VRRP, module by module, without the daemon: tests/tools/vipctl drives
src/vrrp/vip.c (netlink), garp.c (ARP/NA frames), spawn.c (track scripts) and notify.c inside
network namespaces, and we check what the kernel and a client on the same bridge see.

Topology per test: switch + lb1 (+ lb2) + client, 198.18.0.0/24 and 2001:db8::/64.
"""
import os
import re
import subprocess
import time

import pytest

import netns
from helpers.vrrp import MAC_LB1, MAC_LB2, VIP4, VIP6


@pytest.fixture(scope="module")
def vipctl():
    path = os.path.join(os.environ.get("BUOY_TOOLS") or os.path.join(netns.REPO, "build", "tools"),
                        "vipctl")
    if not os.access(path, os.X_OK):
        pytest.skip("vipctl not built (make tools)")
    return path


def ctl(ns, vipctl, *args, check=True):
    r = ns.run([vipctl] + list(args), check=False, timeout=20)
    if check and r.returncode != 0:
        raise AssertionError("vipctl %s failed (%d): %s %s" % (args, r.returncode, r.stdout, r.stderr))
    return r


def addr_lines(ns, family="-4"):
    return ns.run(["ip", "-o", family, "addr", "show", "dev", "eth0"]).stdout


def test_vip_add_label_present_del_v4(topo, vipctl):
    lb1 = topo.add_host("lb1")
    ctl(lb1, vipctl, "add", "eth0", VIP4 + "/24", "eth0:vip")
    out = addr_lines(lb1)
    assert re.search(r"inet %s/24 .*eth0:vip" % re.escape(VIP4), out), out
    ctl(lb1, vipctl, "add", "eth0", VIP4 + "/24")            # again: idempotent
    r = ctl(lb1, vipctl, "present", "eth0", VIP4)
    assert r.stdout.strip() == "present 24"
    ctl(lb1, vipctl, "del", "eth0", VIP4)                    # any prefix
    assert VIP4 not in addr_lines(lb1)
    r = ctl(lb1, vipctl, "present", "eth0", VIP4, check=False)
    assert r.returncode == 3 and r.stdout.strip() == "absent"
    ctl(lb1, vipctl, "del", "eth0", VIP4)                    # absent: still ok
    assert lb1.ipv4 in addr_lines(lb1)                       # the node's own address untouched
    r = ctl(lb1, vipctl, "add", "nosuch0", VIP4, check=False)
    assert r.returncode != 0


def test_vip_v6_nodad_usable_at_once(topo, vipctl):
    lb1 = topo.add_host("lb1", ipv6=True)
    client = topo.add_host("client", ipv6=True)
    # DAD on for this interface, so only IFA_F_NODAD can make the VIP usable at once.
    lb1.sysctl("net.ipv6.conf.eth0.accept_dad", 1)
    lb1.sysctl("net.ipv6.conf.eth0.dad_transmits", 3)
    ctl(lb1, vipctl, "add", "eth0", VIP6 + "/64")
    out = addr_lines(lb1, "-6")
    line = [l for l in out.splitlines() if VIP6 + "/64" in l]
    assert line and "tentative" not in line[0] and "nodad" in line[0], out
    client.run(["ping", "-6", "-c1", "-W2", VIP6])
    ctl(lb1, vipctl, "del", "eth0", VIP6)
    assert VIP6 not in addr_lines(lb1, "-6")


def test_stale_vips_removed_whatever_their_prefix(topo, vipctl):
    lb1 = topo.add_host("lb1", ipv6=True)
    # A crashed run left these behind, with other prefixes than configured now.
    lb1.run(["ip", "addr", "add", VIP4 + "/32", "dev", "eth0"])
    lb1.run(["ip", "addr", "add", VIP6 + "/128", "dev", "eth0", "nodad"])
    r = ctl(lb1, vipctl, "stale", "eth0", VIP4 + "/24", VIP6 + "/64", "198.18.0.101/24")
    assert r.stdout.strip() == "removed 2"
    assert VIP4 not in addr_lines(lb1) and VIP6 not in addr_lines(lb1, "-6")
    assert lb1.ipv4 in addr_lines(lb1) and lb1.ipv6 in addr_lines(lb1, "-6")
    r = ctl(lb1, vipctl, "stale", "eth0", VIP4 + "/24")
    assert r.stdout.strip() == "removed 0"


def test_garp_moves_client_arp_entry(topo, vipctl):
    lb1 = topo.add_host("lb1", mac=MAC_LB1)
    lb2 = topo.add_host("lb2", mac=MAC_LB2)
    client = topo.add_host("client")
    client.sysctl("net.ipv4.conf.eth0.arp_accept", 1)
    ctl(lb1, vipctl, "add", "eth0", VIP4 + "/24")
    client.run(["ping", "-c1", "-W2", VIP4])
    assert client.neigh(VIP4) == MAC_LB1
    # Failover by hand: the VIP leaves lb1, lands on lb2, lb2 announces it.
    ctl(lb1, vipctl, "del", "eth0", VIP4)
    ctl(lb2, vipctl, "add", "eth0", VIP4 + "/24")
    r = ctl(lb2, vipctl, "garp", "eth0", "3", "10", VIP4 + "/24")
    assert r.stdout.strip() == "sent 3 errors 0"
    # No client traffic in between: only the gratuitous ARP can have moved the entry.
    netns.wait_until(lambda: client.neigh(VIP4) == MAC_LB2, timeout=2,
                     msg="client neighbour entry follows the GARP")
    # A client that never talked to the VIP learns it too (arp_accept=1 creates entries).
    other = topo.add_host("other")
    other.sysctl("net.ipv4.conf.eth0.arp_accept", 1)
    ctl(lb2, vipctl, "garp", "eth0", "1", "10", VIP4 + "/24")
    netns.wait_until(lambda: other.neigh(VIP4) == MAC_LB2, timeout=2,
                     msg="new neighbour entry from GARP")


def test_unsolicited_na_moves_client_neighbour(topo, vipctl):
    lb1 = topo.add_host("lb1", ipv6=True, mac=MAC_LB1)
    lb2 = topo.add_host("lb2", ipv6=True, mac=MAC_LB2)
    client = topo.add_host("client", ipv6=True)
    ctl(lb1, vipctl, "add", "eth0", VIP6 + "/64")
    client.run(["ping", "-6", "-c1", "-W2", VIP6])
    assert client.neigh(VIP6) == MAC_LB1
    ctl(lb1, vipctl, "del", "eth0", VIP6)
    ctl(lb2, vipctl, "add", "eth0", VIP6 + "/64")
    r = ctl(lb2, vipctl, "garp", "eth0", "2", "10", VIP6 + "/64")
    assert r.stdout.strip() == "sent 2 errors 0"
    netns.wait_until(lambda: client.neigh(VIP6) == MAC_LB2, timeout=2,
                     msg="client neighbour entry follows the unsolicited NA (override)")


def test_monitor_reports_deletion_and_link_and_restores(topo, vipctl):
    lb1 = topo.add_host("lb1")
    ctl(lb1, vipctl, "add", "eth0", VIP4 + "/24")
    ifindex = lb1.run(["cat", "/sys/class/net/eth0/ifindex"]).stdout.strip()
    mon = lb1.popen([vipctl, "monitor", "3000", "restore", "eth0", VIP4 + "/24"],
                    stdout=subprocess.PIPE, text=True)
    assert mon.stdout.readline().strip() == "ready"
    lb1.run(["ip", "addr", "del", VIP4 + "/24", "dev", "eth0"])
    # The owner's reaction (here vipctl's) puts it back within moments.
    netns.wait_until(lambda: lb1.has_address(VIP4), timeout=2, msg="deleted VIP restored")
    topo.link_down("lb1")
    netns.wait_until(lambda: "NO-CARRIER" in lb1.run(["ip", "link", "show", "eth0"]).stdout,
                     timeout=2)
    topo.link_up("lb1")
    mon.wait(timeout=10)
    out = mon.stdout.read()
    lines = out.splitlines()
    assert "addr deleted %s/24 ifindex %s" % (VIP4, ifindex) in lines, out
    assert "restore %s/24 ok" % VIP4 in lines, out
    down = [i for i, l in enumerate(lines) if l == "link %s eth0 down" % ifindex]
    up = [i for i, l in enumerate(lines) if l == "link %s eth0 up" % ifindex]
    assert down and up and max(up) > min(down), out


@pytest.fixture
def script_dirs(shared_dir):
    """(scripts, output): conftest's root-owned 0755 shared_dir (scripts pass the security
    check) and its 0777 out/ (scripts run as nobody)."""
    return shared_dir, os.path.join(shared_dir, "out")


def write_script(path, body, mode=0o755):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, mode)
    return path


def group_alive(pgid):
    """Live (non-zombie) members of a process group: a killed orphan stays a zombie until init
    reaps it, which is not ours to wait for."""
    r = subprocess.run(["ps", "-eo", "pgid=,stat=,pid="], capture_output=True, text=True)
    return [l for l in r.stdout.splitlines()
            if l.split()[0] == str(pgid) and not l.split()[1].startswith("Z")]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")
def test_track_script_timeout_kills_process_group(vipctl, script_dirs):
    sdir, odir = script_dirs
    # Ignores SIGTERM and leaves a background child: only SIGKILL to the group ends it all.
    s = write_script(os.path.join(sdir, "hang.sh"), "trap '' TERM\nsleep 60 &\nsleep 60\n")
    t0 = time.monotonic()
    r = subprocess.run([vipctl, "script", "300", s], capture_output=True, text=True, timeout=20)
    elapsed = time.monotonic() - t0
    m = re.search(r"pgid (\d+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert re.search(r"result timeout status \d+ ms (\d+)", r.stdout), r.stdout
    ms = int(re.search(r" ms (\d+)", r.stdout).group(1))
    # SIGTERM at 300 ms kills the leader (/bin/sh -c), and its exit triggers SIGKILL for the rest
    # of the group at once; a leader that ignored SIGTERM would get SIGKILL after the grace
    # (unit test test_spawn_escalates_to_sigkill).
    assert 300 <= ms < 300 + 1000 + 1500, r.stdout
    assert elapsed < 10
    netns.wait_until(lambda: not group_alive(m.group(1)), timeout=2,
                     msg="nothing left in the script's process group")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")
def test_track_script_runs_as_nobody_and_insecure_is_refused(vipctl, script_dirs):
    sdir, odir = script_dirs
    ok = write_script(os.path.join(sdir, "whoami.sh"), 'test "$(id -u)" = 65534\n')
    r = subprocess.run([vipctl, "script", "2000", ok], capture_output=True, text=True, timeout=20)
    assert "result exited status 0" in r.stdout, r.stdout + r.stderr
    bad = write_script(os.path.join(sdir, "bad.sh"), "exit 0\n", mode=0o757)
    r = subprocess.run([vipctl, "script", "2000", bad], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and r.stdout.startswith("refused"), r.stdout
    os.chmod(bad, 0o755)
    os.chmod(sdir, 0o777)                        # the directory lets anyone swap the file
    r = subprocess.run([vipctl, "script", "2000", bad], capture_output=True, text=True, timeout=20)
    os.chmod(sdir, 0o755)
    assert r.returncode == 1 and "directory" in r.stdout, r.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to nobody")
def test_notify_gets_positional_args_as_nobody(vipctl, script_dirs):
    sdir, odir = script_dirs
    out = os.path.join(odir, "out")
    pwned = os.path.join(odir, "pwned")
    s = write_script(os.path.join(sdir, "notify.sh"),
                     "printf '%%s|' \"$@\" \"$(id -u)\" > %s\n" % out)
    evil = "api; touch %s" % pwned
    r = subprocess.run([vipctl, "notify", s, evil, "MASTER", "110"], capture_output=True,
                       text=True, timeout=20)
    assert "runs 1 failures 0" in r.stdout, r.stdout + r.stderr
    with open(out) as f:
        assert f.read() == "%s|MASTER|110|65534|" % evil
    assert not os.path.exists(pwned)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to set up the unprivileged run")
def test_scripts_of_unprivileged_buoy_get_no_capabilities(vipctl, script_dirs):
    """After `user:` drops root but keeps NET_ADMIN (ambient), scripts run as buoy's user
    (switching to nobody is impossible then) and must not inherit the capability."""
    sdir, odir = script_dirs
    s = write_script(os.path.join(sdir, "caps.sh"),
                     'test "$(id -u)" = 4321 || exit 3\n'
                     "grep -q '^CapEff:[[:space:]]*0*$' /proc/$$/status || exit 4\n"
                     "grep -q '^CapAmb:[[:space:]]*0*$' /proc/$$/status || exit 5\n")
    r = subprocess.run(["setpriv", "--reuid=4321", "--regid=4321", "--clear-groups",
                        "--inh-caps=+net_admin", "--ambient-caps=+net_admin",
                        vipctl, "script", "2000", s], capture_output=True, text=True, timeout=20)
    assert "result exited status 0" in r.stdout, r.stdout + r.stderr
    # The driver itself did hold the capability (else the test proves nothing).
    r = subprocess.run(["setpriv", "--reuid=4321", "--regid=4321", "--clear-groups",
                        "--inh-caps=+net_admin", "--ambient-caps=+net_admin",
                        "grep", "^CapAmb", "/proc/self/status"], capture_output=True, text=True)
    assert r.stdout.split()[1].strip("0"), r.stdout
