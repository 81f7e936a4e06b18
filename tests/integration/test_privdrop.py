"""Least privilege: with `user:` set, buoy runs as that user with exactly CAP_NET_ADMIN,
CAP_NET_RAW and CAP_NET_BIND_SERVICE once its sockets exist, and still does its job (adverts on
raw sockets, VIPs through netlink, gratuitous ARP). `auth_pass` in a world-readable config file
is a warning. A system user is created for the test and removed afterwards."""
import os
import re
import shutil
import stat
import subprocess

import pytest

import netns
from helpers.vrrp import SLACK, VIP4, hosts_for, master_down_s, vrrp_yaml, wait_holder

CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW = 10, 12, 13
KEPT = (1 << CAP_NET_BIND_SERVICE) | (1 << CAP_NET_ADMIN) | (1 << CAP_NET_RAW)
@pytest.fixture
def sysuser(root):
    name = "buoyt%d" % os.getpid()
    subprocess.run(["userdel", name], capture_output=True)
    r = subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot create a system user: %s" % r.stderr.strip())
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def proc_status(pid, task=None):
    path = "/proc/%d/status" % pid if task is None else "/proc/%d/task/%d/status" % (pid, task)
    with open(path) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def privileged_yaml(node, prio, user, **kw):
    # the sanitizer build's LeakSanitizer needs ptrace on itself, which a process that left root
    # (not dumpable, no CAP_SYS_PTRACE) may not do: leaks are checked by every other test
    return vrrp_yaml(node, prio, **kw) + "user: %s\n" % user


def start(buoy, host, text):
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    b = buoy(text, name=host.role, ns=host, env=env)
    b.wait_started()
    return b


def test_runs_as_user_with_only_network_caps(topo, buoy, sysuser):
    (lb1,) = hosts_for(topo, 1)
    b = start(buoy, lb1, privileged_yaml("lb1", 110, sysuser))
    b.wait_log(r'msg="privileges dropped".*user=%s' % sysuser)
    wait_holder([lb1], VIP4, "lb1", timeout=master_down_s(110) + SLACK + 2)
    uid = int(subprocess.run(["id", "-u", sysuser], capture_output=True, text=True).stdout)
    st = proc_status(b.pid)
    assert st["Uid"].split() == [str(uid)] * 4, st["Uid"]
    assert "0" not in st["Gid"].split(), st["Gid"]
    assert st["Groups"].split() in ([], [st["Gid"].split()[0]]), st["Groups"]
    for field, want in (("CapEff", KEPT), ("CapPrm", KEPT), ("CapBnd", KEPT), ("CapInh", 0),
                        ("CapAmb", 0)):
        assert int(st[field], 16) == want, "%s=%s want %x" % (field, st[field], want)
    # the proxy's worker threads relay on existing sockets: no capability at all
    tasks = [int(t) for t in os.listdir("/proc/%d/task" % b.pid) if int(t) != b.pid]
    assert tasks, "expected worker threads"
    for t in tasks:
        ts = proc_status(b.pid, t)
        assert ts["Uid"].split() == [str(uid)] * 4
        assert int(ts["CapEff"], 16) == 0 and int(ts["CapPrm"], 16) == 0, (t, ts["CapEff"])
    # the control socket was made before the drop and still answers (root client)
    r = subprocess.run([netns.buoy_bin(), "status", "--json", "--socket", b.socket_path],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and "vi1" in r.stdout, r.stdout + r.stderr
    # SIGTERM: hands over and exits cleanly as the user (VIP removed needs NET_ADMIN)
    assert b.terminate_and_wait(10) == 0, b.log()
    assert not lb1.has_address(VIP4)


def test_control_socket_owned_by_the_user_and_removed_at_exit(topo, buoy, sysuser):
    """docs/status.md: the control socket is owned by the user buoy runs as; it is removed at
    exit (the directory buoy created for it is that user's too, so the unlink works)."""
    (lb1,) = hosts_for(topo, 1)
    top = "/run/buoyt-%d-ctl" % os.getpid()
    path = top + "/sub/buoy.sock"
    shutil.rmtree(top, ignore_errors=True)
    try:
        b = start(buoy, lb1, privileged_yaml("lb1", 110, sysuser) +
                  "control: { socket: %s }\n" % path)
        b.wait_log(r'msg="privileges dropped".*user=%s' % sysuser)
        uid = int(subprocess.run(["id", "-u", sysuser], capture_output=True,
                                 text=True).stdout)
        st = os.stat(path)
        assert stat.S_ISSOCK(st.st_mode) and st.st_uid == uid, (st.st_uid, uid)
        assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        assert os.stat(top + "/sub").st_uid == uid
        assert os.stat(top).st_uid == 0          # only the socket's own directory is handed over
        r = subprocess.run([netns.buoy_bin(), "status", "--json", "--socket", path],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and "vi1" in r.stdout, r.stdout + r.stderr
        assert b.terminate_and_wait(10) == 0, b.log()
        assert not os.path.exists(path), "control socket left behind at exit"
        assert "control socket not removed" not in b.log()
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_dropped_nodes_fail_over_and_move_the_vip(topo, buoy, sysuser):
    lb1, lb2, client = hosts_for(topo, 3)
    start(buoy, lb1, privileged_yaml("lb1", 120, sysuser))
    start(buoy, lb2, privileged_yaml("lb2", 100, sysuser))
    wait_holder([lb1, lb2], VIP4, "lb1", timeout=master_down_s(100) + SLACK + 2)
    client.run(["ping", "-c1", "-W2", VIP4])
    assert client.neigh(VIP4) == lb1.mac()

    topo.link_down("lb1")
    took = wait_holder([lb2], VIP4, "lb2", timeout=master_down_s(100) + SLACK)
    print("failover with dropped privileges: %.2fs" % took)
    # gratuitous ARP from lb2 (raw packet socket, CAP_NET_RAW) reached the client
    netns.wait_until(lambda: client.neigh(VIP4) == lb2.mac(), timeout=3,
                     msg="client neighbour entry for the VIP points to lb2")
    netns.wait_until(lambda: not lb1.has_address(VIP4), timeout=3, msg="lb1 (Fault) removed it")

    topo.link_up("lb1")     # preempt: lb1 takes it back, lb2 removes its copy (netlink)
    wait_holder([lb1, lb2], VIP4, "lb1", timeout=2 * master_down_s(120) + SLACK)
    # a VIP deleted under the master comes back (netlink monitor + add)
    lb1.run(["ip", "addr", "del", VIP4 + "/24", "dev", "eth0"])
    netns.wait_until(lambda: lb1.has_address(VIP4), timeout=3, msg="VIP restored by lb1")


def test_unknown_user_refuses_to_start(topo, buoy):
    (lb1,) = hosts_for(topo, 1)
    b = buoy(vrrp_yaml("lb1", 110) + "user: buoyt-no-such-user\n", name="lb1", ns=lb1)
    assert b.wait(10) == 1
    assert re.search(r'privilege drop failed.*user lookup', b.log()), b.log()
    assert not lb1.has_address(VIP4)


def test_auth_pass_in_world_readable_config_warns(buoy_bin, workdir):
    text = vrrp_yaml("lb1", 110, version=2, interval="1s", auth="secret")
    _, _, err, path = netns.buoy_check(text, workdir)
    os.chmod(path, 0o644)
    r = subprocess.run([buoy_bin, "check", "-c", path], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"auth_pass in a world-readable config file.*instance=vi1", r.stderr), r.stderr
    os.chmod(path, 0o600)
    r = subprocess.run([buoy_bin, "check", "-c", path], capture_output=True, text=True)
    assert r.returncode == 0 and "world-readable" not in r.stderr, r.stderr
    # no password, no warning, whatever the mode
    path2 = os.path.join(workdir, "nopass.yaml")
    with open(path2, "w") as f:
        f.write(vrrp_yaml("lb1", 110))
    os.chmod(path2, 0o644)
    r = subprocess.run([buoy_bin, "check", "-c", path2], capture_output=True, text=True)
    assert r.returncode == 0 and "world-readable" not in r.stderr, r.stderr


def test_bgp_password_in_world_readable_config_warns(buoy_bin, workdir):
    text = ('listeners: [ { name: a, bind: "198.18.200.1:6443", backend: b } ]\n'
            'backends: [ { name: b, servers: [ { address: "198.18.0.21:6443" } ] } ]\n'
            "bgp:\n  asn: 65001\n"
            "  peers: [ { name: tor, address: 198.18.1.0, asn: 65000, password: s3cret } ]\n"
            "  announce: [ { prefix: 198.18.200.1/32 } ]\n")
    _, _, err, path = netns.buoy_check(text, workdir, name="bgp")
    os.chmod(path, 0o644)
    r = subprocess.run([buoy_bin, "check", "-c", path], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"bgp password in a world-readable config file.*peer=tor", r.stderr), r.stderr
    os.chmod(path, 0o600)
    r = subprocess.run([buoy_bin, "check", "-c", path], capture_output=True, text=True)
    assert r.returncode == 0 and "world-readable" not in r.stderr, r.stderr
