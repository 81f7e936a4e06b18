"""The Debian package (issue 17): `make deb` builds it with debhelper and fails unless lintian
reports no error and no warning; then it is installed with apt into a throwaway copy-on-write
root (helpers/throwaway_root.sh: private mount namespace, overlay on a tmpfs), checked the way a
user would (files, unit, `buoy check` on the shipped config), purged, and the real root is
shown untouched."""
import glob
import os
import shutil
import subprocess
import time

import pytest

import netns

# built from the plain build whatever binary is under test: `make check` deselects it
pytestmark = pytest.mark.artifact

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
THROWAWAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helpers",
                         "throwaway_root.sh")
# apt with no sources: it installs the local file and its (present) dependencies, never
# downloads; a missing dependency is an error rather than a fetch
APT = "apt-get -y -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=/dev/null"
MARK = "edit_this_file_then_delete_this_line"


@pytest.fixture(scope="module")
def deb():
    if not netns.is_root():
        pytest.skip("needs root (dpkg-buildpackage, a mount namespace)")
    t0 = time.monotonic()
    r = subprocess.run(["make", "-s", "-C", REPO, "deb"], capture_output=True, text=True,
                       timeout=600)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    # lintian ran inside `make deb` (--fail-on error,warning); nothing it said is E: or W:
    tags = [l for l in (r.stdout + r.stderr).splitlines() if l[:2] in ("E:", "W:")]
    assert not tags, tags
    debs = glob.glob(os.path.join(REPO, "build", "deb", "buoy_*.deb"))
    assert len(debs) == 1, debs
    print("make deb took %.1f s" % took)
    return debs[0]


def deb_field(deb, field):
    r = subprocess.run(["dpkg-deb", "-f", deb, field], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_deb_metadata(deb):
    depends = deb_field(deb, "Depends")
    # ${shlibs:Depends}: one entry per library the binary links, versions from the symbols
    for lib in ("libc6", "libcyaml1", "libmnl0", "libssl3", "libnftables1"):
        assert lib + " (>=" in depends, depends
    assert deb_field(deb, "Recommends") == "bird2"      # the bgp: section runs BIRD
    assert deb_field(deb, "Suggests") == "libbpf1"      # fast_path dlopens it when asked
    r = subprocess.run(["dpkg-deb", "--info", deb, "conffiles"], capture_output=True,
                       text=True, timeout=30)
    assert r.stdout.split() == ["/etc/buoy/buoy.yaml"]


def host_state():
    """What an install on the real root would change."""
    q = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", "buoy"], capture_output=True,
                       text=True, timeout=30)
    paths = ["/usr/sbin/buoy", "/etc/buoy/buoy.yaml", "/lib/systemd/system/buoy.service",
             "/etc/systemd/system/multi-user.target.wants/buoy.service",
             "/usr/share/man/man8/buoy.8.gz"]
    return q.stdout, {p: os.path.lexists(p) for p in paths}


def in_throwaway_root(workdir, deb, script):
    scratch = os.path.join(workdir, "scratch")
    for d in ("layer", "root", "in"):
        os.makedirs(os.path.join(scratch, d))
    shutil.copy(deb, os.path.join(scratch, "in"))
    return subprocess.run(["unshare", "-m", THROWAWAY, scratch, script], capture_output=True,
                          text=True, timeout=300)


def sections(out):
    """'== name' lines split the script's output into {name: text}."""
    res, cur = {}, None
    for line in out.splitlines():
        if line.startswith("== "):
            cur = line[3:].strip()
            res[cur] = ""
        elif cur:
            res[cur] += line + "\n"
    return res


def test_deb_install_check_purge(deb, workdir):
    before = host_state()
    version = deb_field(deb, "Version")
    t0 = time.monotonic()
    r = in_throwaway_root(workdir, deb, f"""
echo '== install'; {APT} install --no-install-recommends /in/{os.path.basename(deb)} 2>&1
echo '== files'; ls -l /usr/sbin/buoy /etc/buoy/buoy.yaml /lib/systemd/system/buoy.service \\
  /usr/share/man/man8/buoy.8.gz /usr/share/man/man5/buoy.yaml.5.gz \\
  /usr/share/doc/buoy/examples/buoy.yaml /etc/systemd/system/multi-user.target.wants/buoy.service
echo '== version'; buoy version
echo '== unit'; grep '^Exec' /lib/systemd/system/buoy.service
echo '== head'; head -3 /etc/buoy/buoy.yaml
echo '== check-shipped'; buoy check -c /etc/buoy/buoy.yaml 2>&1 && echo rc=0 || echo rc=$?
echo '== man'; MANPAGER=cat MANWIDTH=80 man 5 buoy.yaml 2>&1 | head -3
sed -i '/^{MARK}:/d' /etc/buoy/buoy.yaml
echo '== check-edited'; buoy check -c /etc/buoy/buoy.yaml 2>&1 && echo rc=0 || echo rc=$?
echo '== purge'; {APT} purge buoy 2>&1
echo '== after'; dpkg-query -W -f '${{Status}}' buoy 2>&1 || true; echo
ls -d /usr/sbin/buoy /etc/buoy /lib/systemd/system/buoy.service \\
  /etc/systemd/system/multi-user.target.wants/buoy.service /usr/share/doc/buoy 2>&1 || true
""")
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    s = sections(r.stdout)
    assert "Setting up buoy (%s)" % version in s["install"], s["install"]
    assert "No such file" not in s["files"], s["files"]
    assert "-rwxr-xr-x 1 root root" in s["files"]
    assert s["version"].startswith("buoy %s" % version), s["version"]
    assert s["unit"].split("\n")[:2] == [
        "ExecStartPre=/usr/sbin/buoy check -c /etc/buoy/buoy.yaml",
        "ExecStart=/usr/sbin/buoy run -c /etc/buoy/buoy.yaml"], s["unit"]
    assert "refuses to start" in s["head"].splitlines()[0], s["head"]
    # as shipped: refused, naming file:line:col and the line to delete (so the unit's
    # ExecStartPre stops the service before it touches an interface)
    assert s["check-shipped"].rstrip().endswith("rc=1"), s["check-shipped"]
    assert '/etc/buoy/buoy.yaml:8:1: unknown key "%s"' % MARK in s["check-shipped"]
    assert "BUOY.YAML" in s["man"], s["man"]
    # that one line deleted: the example behind it is a valid config
    assert "/etc/buoy/buoy.yaml: ok: node=lb1" in s["check-edited"], s["check-edited"]
    assert s["check-edited"].rstrip().endswith("rc=0")
    assert "Purging configuration files for buoy" in s["purge"], s["purge"]
    assert "not-installed" in s["after"] or "no packages found" in s["after"], s["after"]
    assert s["after"].count("No such file or directory") == 5, s["after"]
    print("install/check/purge in a throwaway root took %.1f s" % took)
    assert host_state() == before
