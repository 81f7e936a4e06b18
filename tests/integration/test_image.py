"""The OCI image (issue 17): `make image` builds buoy:<version> from scratch; the archive it
saves is unpacked here layer by layer (what `podman load` / `ctr import` read), and the image's
own /usr/sbin/buoy, chrooted into that root file system, runs the HA scenario of `make demo` in
namespaces: two balancers, one TLS apiserver stand-in, the VIP moves when the master's link is
cut, and a client loop on the VIP is served throughout. `buoy manifest static-pod` names the tag
and only what the image holds."""
import json
import os
import re
import shutil
import subprocess
import tarfile
import time

import pytest

import netns
from helpers.apiserver import Nginx, issue_server, make_ca, need
from helpers.conn_loop import ConnLoop
from helpers.vrrp import VIP4, master_down_s, vrrp_yaml, wait_holder

# built from the plain build whatever binary is under test: `make check` deselects it
pytestmark = pytest.mark.artifact

REPO = netns.REPO
MiB = 1024 * 1024


def blob(root, digest):
    return os.path.join(root, "blobs", *digest.split(":"))


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """make image, then the archive unpacked: {tag, archive, config, rootfs, sizes}."""
    if not netns.is_root():
        pytest.skip("needs root (buildah, chroot, namespaces)")
    t0 = time.monotonic()
    r = subprocess.run(["make", "-s", "-C", REPO, "image"], capture_output=True, text=True,
                       timeout=600)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    m = re.search(r"^image buoy:(\S+) archive=(\S+) bytes=(\d+) rootfs_bytes=(\d+) "
                  r"rootfs_bytes_without_bird=(\d+)$", r.stdout, re.M)
    assert m, r.stdout
    version, archive = m.group(1), os.path.join(REPO, m.group(2))
    print("make image took %.1f s: %s" % (took, m.group(0)))

    d = str(tmp_path_factory.mktemp("image"))
    oci, rootfs = os.path.join(d, "oci"), os.path.join(d, "rootfs")
    with tarfile.open(archive) as t:
        t.extractall(oci)
    with open(os.path.join(oci, "index.json")) as f:
        [desc] = json.load(f)["manifests"]
    with open(blob(oci, desc["digest"])) as f:
        manifest = json.load(f)
    with open(blob(oci, manifest["config"]["digest"])) as f:
        config = json.load(f)
    os.makedirs(rootfs)
    for layer in manifest["layers"]:
        assert layer["mediaType"].startswith("application/vnd.oci.image.layer.v1.tar")
        with tarfile.open(blob(oci, layer["digest"])) as t:
            t.extractall(rootfs, numeric_owner=True)
    yield dict(version=version, archive=archive, ref=desc["annotations"].get(
        "org.opencontainers.image.ref.name"), config=config, rootfs=rootfs,
        archive_bytes=int(m.group(3)), rootfs_bytes=int(m.group(4)),
        buoy_bytes=int(m.group(5)))
    shutil.rmtree(d, ignore_errors=True)


def test_image_contents(image):
    root = image["rootfs"]
    # the version is the binary's: the tag the static-pod manifest names by default
    v = subprocess.run(["chroot", root, "/usr/sbin/buoy", "version"], capture_output=True,
                       text=True, timeout=10)
    assert v.returncode == 0 and v.stdout.strip() == "buoy " + image["version"], v
    assert image["ref"] == "docker.io/library/buoy:" + image["version"]
    cfg = image["config"]["config"]
    assert "PATH=/usr/sbin:/usr/bin" in cfg["Env"]
    assert cfg["Cmd"] == ["buoy", "run", "-c", "/etc/buoy/buoy.yaml"]
    # BGP mode: BIRD is in PATH and runs
    b = subprocess.run(["chroot", root, "/usr/sbin/bird", "--version"], capture_output=True,
                       text=True, timeout=10)
    assert b.returncode == 0 and "BIRD version 2" in b.stdout + b.stderr, b
    # no shell, no package manager: a binary, its libraries, BIRD's, and a few /etc files
    assert not os.path.lexists(os.path.join(root, "bin", "sh"))
    assert not os.path.lexists(os.path.join(root, "usr", "bin", "apt-get"))
    print("image sizes: archive %.1f MiB, root fs %.1f MiB, of it without BIRD %.1f MiB" % (
        image["archive_bytes"] / MiB, image["rootfs_bytes"] / MiB, image["buoy_bytes"] / MiB))
    assert image["buoy_bytes"] < 10 * MiB          # the issue's goal without BIRD


def test_static_pod_manifest_matches_image(image):
    """README's way in: the image's own buoy writes the manifest (ctr run / chroot)."""
    yaml = pytest.importorskip("yaml")
    with open(os.path.join(image["rootfs"], "etc", "buoy", "buoy.yaml"), "w") as f:
        f.write("node: lb1\nlisteners:\n  - { name: api, bind: \"127.0.0.1:16443\", "
                "backend: api }\nbackends:\n  - name: api\n    servers: [ { address: "
                "\"127.0.0.2:6443\" } ]\n")
    r = subprocess.run(["chroot", image["rootfs"], "/usr/sbin/buoy", "manifest", "static-pod",
                        "-c", "/etc/buoy/buoy.yaml"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    pod = yaml.safe_load(r.stdout)
    [c] = pod["spec"]["containers"]
    assert c["image"] == "buoy:" + image["version"]      # the tag make image built
    assert {v["name"]: v["hostPath"]["path"] for v in pod["spec"]["volumes"]} == {
        "config": "/etc/buoy/buoy.yaml", "run": "/run/buoy"}
    # the command is found on the image's PATH; every mount lands where the image has room
    path = [e.split("=", 1)[1] for e in image["config"]["config"]["Env"]
            if e.startswith("PATH=")][0]
    assert any(os.access(os.path.join(image["rootfs"], d.lstrip("/"), c["command"][0]),
                         os.X_OK) for d in path.split(":"))
    for m in c["volumeMounts"]:
        parent = os.path.dirname(m["mountPath"].rstrip("/"))
        assert os.path.isdir(os.path.join(image["rootfs"], parent.lstrip("/"))), m
    caps = c["securityContext"]["capabilities"]
    assert caps["drop"] == ["ALL"]
    assert set(caps["add"]) == {"NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE"}


def lb_yaml(node, prio, api_ip):
    # verify: true against a CA file mounted next to the config: the image has no CA bundle
    return vrrp_yaml(node, prio) + (
        "listeners:\n"
        '  - { name: api, bind: "%s:6443", backend: api }\n'
        "backends:\n"
        "  - name: api\n"
        "    health: { type: https, path: /readyz, interval: 200ms, timeout: 1s, rise: 1,\n"
        "              fall: 2, verify: true, ca_file: /etc/buoy/ca.crt }\n"
        '    servers: [ { address: "%s:6443" } ]\n') % (VIP4, api_ip)


def test_image_binary_runs_ha_pair(image, topo, buoy, workdir):
    need("nginx", "openssl")
    lb1, lb2, api1, client = (topo.add_host(r) for r in ("lb1", "lb2", "api1", "client"))
    pki = os.path.join(workdir, "pki")
    make_ca(pki)
    crt, key = issue_server(pki, "api1", [api1.ipv4])
    Nginx(api1, api1.ipv4, "api1", crt, key, workdir)
    root = image["rootfs"]
    shutil.copy(os.path.join(pki, "ca.crt"), os.path.join(root, "etc", "buoy", "ca.crt"))
    lbs = {}
    for ns, prio in ((lb1, 120), (lb2, 100)):
        # the image's own binary, its own libraries (chroot), config and socket inside it
        wd = os.path.join(root, "run", "buoy", ns.role)
        lbs[ns.role] = buoy(lb_yaml(ns.role, prio, api1.ipv4), name=ns.role, ns=ns,
                            chroot=root, workdir=wd).wait_started()
    wait_holder([lb1, lb2], VIP4, "lb1", timeout=master_down_s(100) + 5)
    netns.wait_until(lambda: lbs["lb1"].status_json()["backends"][0]["servers"][0]["state"]
                     == "up", timeout=5, msg="lb1 sees api1 up through the image's OpenSSL")

    loop = ConnLoop(client, "%s:6443" % VIP4, seconds=6, tls=True, path="/name",
                    pause_ms=20).start()
    time.sleep(1.5)
    topo.link_down("lb1")                     # the master's cable is cut
    t0 = time.monotonic()
    netns.wait_until(lambda: lb2.has_address(VIP4), timeout=master_down_s(100) + 3,
                     msg="lb2 takes the VIP after lb1's link is cut")
    moved = time.monotonic() - t0
    res = loop.result()
    print("VIP moved in %.2f s; client loop: %s" % (moved, json.dumps(
        {k: res[k] for k in ("attempts", "ok", "fail", "max_gap", "names")})))
    assert res["names"].get("api1", 0) == res["ok"] > 50, res
    # the loop went on ~4 s after the cut; a gap that short means lb2 served after the move
    assert res["max_gap"] < 3.0, res
    assert res["fail"] <= 10, res
    assert "state=MASTER" in lbs["lb2"].log()


# Run in a private mount and PID namespace: the tools' caches (/var/lib/containers,
# /run/libpod) land on tmpfs, and containerd dies with the script (PID 1 of the namespace).
LOADERS = r"""
set -eu
mount -t tmpfs tmpfs /var/lib; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /var/tmp
T=$1 A=$2 V=$3
P="podman --root $T/podman --runroot /run/podman --storage-driver vfs"  # runroot: < 50 chars
echo '== podman'; $P load -i "$A" 2>&1
$P image inspect --format '{{.RepoTags}} {{.Config.Cmd}}' "buoy:$V" 2>&1
cat > $T/containerd.toml <<CONF
version = 2
root = "$T/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd.sock"
CONF
containerd --config $T/containerd.toml --log-level error 2>$T/containerd.log &
i=0; while [ ! -S /run/containerd.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
echo '== ctr'; ctr --address /run/containerd.sock -n k8s.io images import "$A" 2>&1
ctr --address /run/containerd.sock -n k8s.io images ls -q 2>&1
"""


def test_archive_loads_in_podman_and_containerd(image, workdir):
    """`podman load` and containerd's `ctr -n k8s.io images import` take the archive, under
    the name kubelet gives the manifest's `buoy:<version>` (docker.io/library/...)."""
    need("podman", "containerd", "ctr")
    r = subprocess.run(["unshare", "-m", "-p", "-f", "--mount-proc", "sh", "-c", LOADERS, "sh",
                        workdir, image["archive"], image["version"]],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    podman, ctr = r.stdout.split("== ctr")
    name = "docker.io/library/buoy:" + image["version"]
    assert "Loaded image: " + name in podman, podman
    # podman answers to the short name, with the image's command
    assert "[%s] [buoy run -c /etc/buoy/buoy.yaml]" % name in podman, podman
    # `images ls -q`: the name, and (k8s.io namespace) the image's digest as a second name
    assert "unpacking %s" % name in ctr and name in ctr.splitlines()[2:], ctr
