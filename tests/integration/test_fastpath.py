"""The sockmap fast path's kernel facts (issue 21), proven with tests/tools/fastpath_probe: it
plays buoy by hand on loopback (client -> buoy's socket a, buoy's socket b -> server) with a
and b in the fast path's two sockhashes (fp_targets, then fp_socks with the verdict). Byte-exact
transfers both ways and to a slow reader; half-close both ways (EPOLLRDHUP and recv() 0 on a
socket in both maps) and RST from either side (ECONNRESET), closed sockets leaving both maps by
themselves; bytes queued before the insert going at the insert without a next segment (the
SO_RCVLOWAT kick), and waiting without the kick (early-nokick: fails the day a kernel no longer
needs it); an insert after a FIN failing whole; 10 000 pairs in and out with all three maps
back to empty; the refusal without privileges and without libbpf.so.1 (the fallback's reasons).
Loopback only; each probe run is bounded (a stall fails after 2 s)."""
import os
import subprocess

import pytest

import netns

pytestmark = pytest.mark.root


def probe_path():
    path = os.path.join(os.environ.get("BUOY_TOOLS") or os.path.join(netns.REPO, "build", "tools"),
                        "fastpath_probe")
    if not os.path.exists(path):
        pytest.fail("fastpath_probe not built (make tools)")
    return path


def run_probe(*args, prefix=()):
    r = subprocess.run([*prefix, probe_path(), *args], capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


@pytest.fixture
def as_root():
    assert os.geteuid() == 0, "loading BPF needs root: run the suite as `sudo make test`"


@pytest.mark.parametrize("check", ["transfer", "halfclose", "rst", "early", "early-nokick", "refused"])
def test_kernel_fact(as_root, check):
    rc, out = run_probe(check)
    assert rc == 0, out
    assert "FAIL" not in out, out


def test_ten_thousand_pairs_leave_the_map_empty(as_root):
    rc, out = run_probe("churn", "10000")
    assert rc == 0, out
    assert "ok map empty after churn" in out


def test_refused_without_privileges_says_why(as_root):
    # nobody, no capabilities: unprivileged BPF is off on Debian (unprivileged_bpf_disabled)
    rc, out = run_probe("transfer", prefix=("setpriv", "--reuid=65534", "--regid=65534",
                                             "--clear-groups", "--inh-caps=-all",
                                             "--bounding-set=-all"))
    assert rc == 77, out
    assert out.startswith("skip: BPF refused"), out


def test_without_libbpf_says_why(as_root):
    # libbpf comes through dlopen only: hide it in a private mount namespace (unshare -m makes
    # its mounts private; the host's files are untouched)
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    lib = next((line.split("=>")[-1].strip() for line in cache.splitlines()
                if line.strip().startswith("libbpf.so.1 ")), None)
    assert lib, "libbpf.so.1 not installed (apt-get install libbpf1)"
    rc, out = run_probe("transfer", prefix=("unshare", "-m", "sh", "-c",
                                            f'mount --bind /dev/null {lib} && exec "$0" "$@"'))
    assert rc == 77, out
    assert out.startswith("skip: libbpf.so.1 not found (install libbpf1)"), out
