"""`make demo` (scripts/demo.sh) end to end, as CI would call it: no tty, exit 0, the summary
line, and nothing left behind (namespaces buoyt-<ID>-*, /tmp/buoy-demo-<ID>, processes).

The demo builds its own topology (its ID is the pid of the demo's idle keeper process, not
pytest's) and removes it itself; these tests check that it does, and remove leftovers with
`--down ID` if it did not.
"""
import os
import re
import subprocess

import pytest

import netns
from helpers.apiserver import need

DEMO = os.path.join(netns.REPO, "scripts", "demo.sh")
SUMMARY = re.compile(r"^Summary: (\d+) requests sent, (\d+) failed, longest gap (\d+\.\d+) s; "
                     r"all steps passed \(\d+ s\)$", re.M)

pytestmark = pytest.mark.usefixtures("root")


def _leftovers(pid):
    ns = netns.list_namespaces("buoyt-%d-" % pid)
    d = "/tmp/buoy-demo-%d" % pid
    try:                          # the keeper process (a zombie until init reaps it is gone)
        with open("/proc/%d/stat" % pid) as f:
            alive = f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        alive = False
    return ns, os.path.exists(d) or alive


def _demo_id(out):
    m = re.search(r"network namespaces buoyt-(\d+)-\*", out)
    assert m, "no topology ID in:\n" + out
    return int(m.group(1))


def _run_demo(buoy_bin, *args, timeout=150):
    """Runs the demo without a tty, in its own session; returns (ID, returncode, output)."""
    env = dict(os.environ, BUOY_BIN=buoy_bin)
    p = subprocess.Popen([DEMO] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.terminate()           # the demo's trap removes its topology
        out, _ = p.communicate(timeout=30)
        pytest.fail("demo did not finish within %ds:\n%s" % (timeout, out))
    finally:
        if p.poll() is None:
            p.kill()
    print(out)
    return _demo_id(out), p.returncode, out


def _down(pid):
    subprocess.run([DEMO, "--down", str(pid)], capture_output=True, timeout=60)


def test_demo_runs_every_step_and_cleans_up(buoy_bin):
    need("nginx", "openssl", "curl")
    pid, rc, out = _run_demo(buoy_bin)
    try:
        assert rc == 0, out
        m = SUMMARY.search(out)
        assert m, "no summary line in:\n" + out
        sent, failed, gap = int(m.group(1)), int(m.group(2)), float(m.group(3))
        # ~20 requests/s for well over 10 s; only requests in flight while the VIP moved fail
        assert sent > 150, m.group(0)
        assert failed <= 10, m.group(0)
        assert 0 < gap < 3.0, m.group(0)
        for n in ("[1/4]", "[2/4]", "[3/4]", "[4/4]"):
            assert n in out
        assert not re.search(r"^\s+FAIL ", out, re.M), out
        assert "preempt: true -> lb1 (priority 110) took the VIP back" in out
        ns, dir_left = _leftovers(pid)
        assert not ns, "namespaces left behind: %s" % ns
        assert not dir_left, "/tmp/buoy-demo-%d or its keeper process left behind" % pid
    finally:
        _down(pid)


def test_demo_keep_leaves_topology_up_until_down(buoy_bin):
    """--keep (here with --no-preempt): the topology answers after the script exited, the
    printed commands work, and `--down ID` removes it all."""
    need("nginx", "openssl", "curl")
    pid, rc, out = _run_demo(buoy_bin, "--keep", "--no-preempt")
    try:
        assert rc == 0, out
        assert SUMMARY.search(out), out
        assert "preempt: false -> the VIP stays on lb2" in out
        assert "--down %d" % pid in out
        ns, dir_left = _leftovers(pid)
        assert len(ns) == 7 and dir_left, ns
        # the suite's sweep of dead runs' namespaces leaves a kept topology alone
        netns.sweep_stale()
        assert len(netns.list_namespaces("buoyt-%d-" % pid)) == 7
        prefix = "buoyt-%d-" % pid
        r = subprocess.run(["ip", "netns", "exec", prefix + "client", "curl", "-sk", "--max-time",
                            "3", "https://198.18.0.100:6443/version"],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and '"node":"api' in r.stdout, r
        r = subprocess.run([buoy_bin, "status", "--socket", "/tmp/buoy-demo-%d/lb2.sock" % pid],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0 and re.search(r"apiserver\s+master", r.stdout), r.stdout
    finally:
        _down(pid)
    ns, dir_left = _leftovers(pid)
    assert not ns and not dir_left, (ns, dir_left)
