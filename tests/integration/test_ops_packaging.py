"""Packaging (issue 5): `buoy manifest static-pod|systemd` parsed back and checked field by field,
`make install DESTDIR=... PREFIX=...` checked file by file, and the man pages (roff lint, every
config key of the example documented)."""
import configparser
import os
import re
import shutil
import subprocess

import pytest

import netns
from helpers.status import cli

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(REPO, "examples", "buoy.yaml")
CONFIG_MD = os.path.join(REPO, "docs", "config.md")
MAN5 = os.path.join(REPO, "docs", "man", "buoy.yaml.5")
HARDENING_CAPS = {"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"}


def write_config(workdir, extra=""):
    path = os.path.join(workdir, "lb.yaml")
    with open(path, "w") as f:
        f.write("node: lb1\n"
                "control: { socket: /run/buoy-test/ctl.sock }\n" + extra +
                "listeners:\n"
                '  - { name: api, bind: "127.0.0.1:16443", backend: api }\n'
                "backends:\n"
                "  - name: api\n"
                '    servers: [ { address: "127.0.0.2:6443" } ]\n')
    return path


def unit_sections(text):
    """systemd unit -> {section: {key: value}} (keys repeat rarely; last one wins)."""
    cp = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    cp.optionxform = str
    cp.read_string(text)
    return {s: dict(cp[s]) for s in cp.sections()}


def test_manifest_static_pod(workdir):
    yaml = pytest.importorskip("yaml")
    cfg = write_config(workdir)
    rel = os.path.relpath(cfg)                      # a relative -c becomes an absolute hostPath
    r = cli("manifest", "static-pod", "-c", rel, "--image", "registry.example/buoy:1.2")
    assert r.returncode == 0, r.stderr
    pod = yaml.safe_load(r.stdout)
    assert pod["apiVersion"] == "v1" and pod["kind"] == "Pod"
    assert pod["metadata"]["name"] == "buoy"
    assert pod["metadata"]["namespace"] == "kube-system"
    spec = pod["spec"]
    assert spec["hostNetwork"] is True
    assert spec["priorityClassName"] == "system-node-critical"
    [c] = spec["containers"]
    assert c["image"] == "registry.example/buoy:1.2"
    assert c["command"] == ["buoy", "run", "-c", "/etc/buoy/buoy.yaml"]
    caps = c["securityContext"]["capabilities"]
    assert caps["drop"] == ["ALL"]
    assert caps["add"] == ["NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE"]
    assert "livenessProbe" not in c                 # no metrics endpoint to probe
    vols = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    assert vols["config"]["hostPath"] == {"path": os.path.abspath(cfg), "type": "File"}
    assert mounts["config"] == {"name": "config", "mountPath": "/etc/buoy/buoy.yaml",
                                "readOnly": True}
    # the control socket's directory is shared with the host so `buoy status` works there
    assert vols["run"]["hostPath"] == {"path": "/run/buoy-test", "type": "DirectoryOrCreate"}
    assert mounts["run"]["mountPath"] == "/run/buoy-test"

    # default image; odd characters in paths stay valid YAML
    odd = os.path.join(workdir, 'we"ird: dir')
    os.makedirs(odd)
    shutil.copy(cfg, os.path.join(odd, "lb.yaml"))
    r = cli("manifest", "static-pod", "-c", os.path.join(odd, "lb.yaml"))
    assert r.returncode == 0, r.stderr
    pod = yaml.safe_load(r.stdout)
    assert pod["spec"]["containers"][0]["image"].startswith("buoy:")
    assert pod["spec"]["volumes"][0]["hostPath"]["path"] == os.path.join(odd, "lb.yaml")


def test_manifest_static_pod_probe_and_scripts(workdir):
    """metrics on -> a liveness probe on /metrics; notify/track scripts -> SETUID/SETGID so the
    container's root can run them as script_user."""
    yaml = pytest.importorskip("yaml")
    cfg = write_config(workdir, extra=(
        'metrics: { listen: "127.0.0.1:9254" }\n'
        "vrrp:\n"
        "  - { name: vi1, interface: eth0, router_id: 9, virtual_ips: [198.18.0.100/24],\n"
        "      notify: /bin/true }\n"))
    r = cli("manifest", "static-pod", "-c", cfg, "--image", "img")
    assert r.returncode == 0, r.stderr
    c = yaml.safe_load(r.stdout)["spec"]["containers"][0]
    assert c["securityContext"]["capabilities"]["add"] == [
        "NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE", "SETUID", "SETGID"]
    assert c["livenessProbe"]["httpGet"] == {"host": "127.0.0.1", "port": 9254, "path": "/metrics"}
    cfg = write_config(workdir, extra='metrics: { listen: "0.0.0.0:9300" }\n')
    c = yaml.safe_load(cli("manifest", "static-pod", "-c", cfg).stdout)["spec"]["containers"][0]
    assert c["livenessProbe"]["httpGet"] == {"port": 9300, "path": "/metrics"}
    # fast_path loads a BPF program at start: CAP_BPF beside NET_ADMIN, only when asked for
    cfg = write_config(workdir, extra="fast_path: auto\n")
    c = yaml.safe_load(cli("manifest", "static-pod", "-c", cfg).stdout)["spec"]["containers"][0]
    assert c["securityContext"]["capabilities"]["add"] == [
        "NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE", "BPF"]


def test_manifest_static_pod_mounts_the_files_the_config_names(workdir):
    """The image holds no CA or key of the user's: each file the config names is mounted
    read-only at its own path (once, however many backends name it)."""
    yaml = pytest.importorskip("yaml")
    key = os.path.join(workdir, "sync.key")
    with open(key, "w") as f:
        f.write("0123456789abcdef0123\n")
    os.chmod(key, 0o600)
    pki = "/etc/kubernetes/pki/"
    cfg = write_config(workdir, extra=(
        "vrrp:\n"
        "  - { name: vi1, interface: eth0, router_id: 9, virtual_ips: [198.18.0.100/24],\n"
        "      unicast_peers: [198.18.0.12] }\n"
        "sync: { key_file: %s }\n" % key))
    with open(cfg) as f:
        text = f.read().replace(
            "    servers:", "    health: { type: https, verify: true, ca_file: %sca.crt,\n"
            "              cert_file: %shc.crt, key_file: %shc.key }\n    servers:"
            % (pki, pki, pki))
    with open(cfg, "w") as f:
        f.write(text)
    r = cli("manifest", "static-pod", "-c", cfg)
    assert r.returncode == 0, r.stderr
    pod = yaml.safe_load(r.stdout)
    [c] = pod["spec"]["containers"]
    want = [pki + "ca.crt", pki + "hc.crt", pki + "hc.key", key]
    mounts = [m for m in c["volumeMounts"] if m["name"].startswith("file-")]
    assert [m["mountPath"] for m in mounts] == want
    assert all(m["readOnly"] is True for m in mounts)
    vols = {v["name"]: v["hostPath"] for v in pod["spec"]["volumes"]}
    assert [vols[m["name"]] for m in mounts] == [{"path": p, "type": "File"} for p in want]


def test_manifest_errors(workdir):
    assert cli("manifest").returncode == 2
    assert cli("manifest", "helm-chart").returncode == 2
    bad = os.path.join(workdir, "bad.yaml")
    with open(bad, "w") as f:
        f.write("bogus: 1\n")
    r = cli("manifest", "static-pod", "-c", bad)
    assert r.returncode == 1 and "bogus" in r.stderr


def test_manifest_systemd_is_the_packaged_unit(workdir):
    with open(os.path.join(REPO, "packaging", "buoy.service")) as f:
        packaged = f.read()
    r = cli("manifest", "systemd")
    assert r.returncode == 0, r.stderr
    binary = os.path.realpath(netns.buoy_bin())
    # one source of truth: the packaged file, with this binary's path
    assert r.stdout == packaged.replace("/usr/local/sbin/buoy", binary)
    u = unit_sections(r.stdout)
    svc = u["Service"]
    assert svc["ExecStart"] == binary + " run -c /etc/buoy/buoy.yaml"
    assert svc["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert svc["Restart"] == "on-failure"
    assert svc["Type"] == "simple"
    assert set(svc["CapabilityBoundingSet"].split()) == HARDENING_CAPS
    assert set(svc["AmbientCapabilities"].split()) == HARDENING_CAPS
    for k, v in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                 "PrivateTmp": "yes", "RuntimeDirectory": "buoy"}.items():
        assert svc[k] == v, k
    assert int(svc["LimitNOFILE"]) >= 65536
    assert u["Install"]["WantedBy"] == "multi-user.target"

    cfg = write_config(workdir)
    r = cli("manifest", "systemd", "-c", cfg)
    svc = unit_sections(r.stdout)["Service"]
    assert svc["ExecStart"] == "%s run -c %s" % (binary, cfg)
    assert svc["ExecStartPre"] == "%s check -c %s" % (binary, cfg)

    analyze = shutil.which("systemd-analyze")
    if analyze:
        unit = os.path.join(workdir, "buoy.service")
        with open(unit, "w") as f:
            f.write(r.stdout)
        v = subprocess.run([analyze, "verify", unit], capture_output=True, text=True,
                           timeout=60)
        # only complain about what is ours (the sandbox may lack a running systemd); the man
        # pages in Documentation= are only there once installed
        ours = [l for l in (v.stdout + v.stderr).splitlines()
                if "buoy.service:" in l and "Command 'man " not in l]
        assert not ours, ours


SECURITY_THRESHOLD = 2.0


def test_unit_security_exposure_at_most_2_0(workdir):
    """`systemd-analyze security --offline=true` on the packaged unit: exposure <= 2.0 ("OK")."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze missing (Debian package systemd, in scripts/deps test)"
    unit = os.path.join(workdir, "buoy.service")
    shutil.copy(os.path.join(REPO, "packaging", "buoy.service"), unit)
    r = subprocess.run([analyze, "security", "--offline=true", "--no-pager", unit],
                       capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for buoy.service: ([0-9.]+)", r.stdout + r.stderr)
    assert m, r.stdout + r.stderr
    score = float(m.group(1))
    assert score <= SECURITY_THRESHOLD, "exposure %.1f > %.1f:\n%s" % (
        score, SECURITY_THRESHOLD, r.stdout)


def test_unit_documents_each_capability():
    """Every capability the unit grants is explained (which feature needs it) in its comments."""
    with open(os.path.join(REPO, "packaging", "buoy.service")) as f:
        text = f.read()
    comments = "\n".join(l for l in text.splitlines() if l.lstrip().startswith("#"))
    svc = unit_sections(text)["Service"]
    for cap in svc["CapabilityBoundingSet"].split():
        m = re.search(r"#\s+%s\s+(\S.*)" % cap, comments)
        assert m and re.search(r"vrrp|listener|bgp|intercept", m.group(1)), cap
    assert set(svc["AmbientCapabilities"].split()) == set(svc["CapabilityBoundingSet"].split())


def make_install(destdir, prefix):
    """`make install` for the binary under test (BUILD follows $BUOY_BIN: build/san/buoy etc.)."""
    args = ["make", "-s", "-C", REPO, "install", "DESTDIR=" + destdir, "PREFIX=" + prefix]
    rel = os.path.relpath(os.path.realpath(netns.buoy_bin()), REPO)
    if rel.startswith("build/") and rel.endswith("/buoy"):
        args.append("BUILD=" + os.path.dirname(rel))
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("prefix", ["/usr/local", "/usr"])
def test_make_install(workdir, prefix):
    assert os.path.exists(EXAMPLE), "%s is missing: make install ships it" % EXAMPLE
    dest = os.path.join(workdir, "dest")
    r = make_install(dest, prefix)
    assert r.returncode == 0, r.stdout + r.stderr
    files = sorted(os.path.relpath(os.path.join(d, f), dest)
                   for d, _, fs in os.walk(dest) for f in fs)
    p = prefix.lstrip("/")
    want = {p + "/sbin/buoy", p + "/share/man/man8/buoy.8", p + "/share/man/man5/buoy.yaml.5",
            "etc/buoy/buoy.yaml.example", "lib/systemd/system/buoy.service"}
    assert want <= set(files), files
    st = os.stat(os.path.join(dest, p, "sbin/buoy"))
    assert st.st_mode & 0o777 == 0o755
    for f in want - {p + "/sbin/buoy"}:
        assert os.stat(os.path.join(dest, f)).st_mode & 0o777 == 0o644, f
    # the installed binary runs, and the unit points at it
    v = subprocess.run([os.path.join(dest, p, "sbin/buoy"), "version"], capture_output=True,
                       text=True, timeout=10)
    assert v.returncode == 0 and v.stdout.startswith("buoy ")
    with open(os.path.join(dest, "lib/systemd/system/buoy.service")) as f:
        svc = unit_sections(f.read())["Service"]
    assert svc["ExecStart"] == prefix + "/sbin/buoy run -c /etc/buoy/buoy.yaml"
    # the example config installed is valid
    c = subprocess.run([netns.buoy_bin(), "check", "-c",
                        os.path.join(dest, "etc/buoy/buoy.yaml.example")],
                       capture_output=True, text=True, timeout=10)
    assert c.returncode == 0, c.stdout + c.stderr


def test_man_pages_render_cleanly():
    man = shutil.which("man")
    if not man:
        pytest.skip("man not installed")
    for page in ("buoy.8", "buoy.yaml.5"):
        r = subprocess.run([man, "--warnings", "-l", os.path.join(REPO, "docs", "man", page)],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
        assert r.returncode == 0, r.stderr
        assert not r.stderr.strip(), r.stderr
        assert "SYNOPSIS" in r.stdout or "DESCRIPTION" in r.stdout


def yaml_keys(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            out.add(str(k))
            yaml_keys(v, out)
    elif isinstance(node, list):
        for v in node:
            yaml_keys(v, out)
    return out


KEY = r"[a-z_][a-z_0-9]*(?:\.[a-z_][a-z_0-9]*)*"     # node, log.level, error_wait.min


def man_keys(page):
    r"""The config keys buoy.yaml(5) documents in its key markup, and only those (a key named in
    prose does not count):
      - a section for a top-level list or map:   .SH VRRP INSTANCES (vrrp: [...])
      - a .TP entry's tag:                       .TP / .B key \fR[default]  or
                                                 .TP / .BR key1 ", " key2 " " "\fR[d1, d2]"
      - a key of a list item inside an entry:    .B key / [default] or (required ...) on the
        next line (the page's rule: every key is followed by its default in brackets)."""
    lines = page.replace("\\-", "-").splitlines()
    keys = set()
    for i, line in enumerate(lines):
        m = re.match(r"\.SH .*\((%s):" % KEY, line)
        if m:
            keys.add(m.group(1))
        if i > 0 and lines[i - 1].strip() == ".TP":
            m = re.match(r"\.BR? (.*)", line.split("\\fR", 1)[0])
            if m:
                keys |= set(re.findall(r'(?<![\w.])(%s)(?![\w.])' % KEY, m.group(1)))
        m = re.match(r"\.B (%s)$" % KEY, line)
        if m and i + 1 < len(lines) and re.match(r"\[|\(required", lines[i + 1]):
            keys.add(m.group(1))
    # log.level documents the log block and its level key
    return keys | {part for k in keys for part in k.split(".")}


def read_man5():
    with open(MAN5) as f:
        return f.read()


def test_man_keys_are_read_from_markup_only():
    """The parser behind the two tests below: marked-up keys count, prose does not."""
    page = (".SH LISTENERS (listeners: [...])\n.TP\n.B bind \\fR(required)\nText naming"
            " unmarked_word and\n.B bold_value\nin prose.\n.TP\n.BR error_wait.min \", \" "
            "error_wait.max \" \" \"\\fR[1s, 10s]\"\nList, each with:\n.B sub_key\n[1] and\n"
            ".B other_sub\n(required).\n")
    assert man_keys(page) == {"listeners", "bind", "error_wait.min", "error_wait.max",
                              "error_wait", "min", "max", "sub_key", "other_sub"}
    assert len(man_keys(read_man5())) > 80


def test_every_example_key_is_in_the_man_page():
    yaml = pytest.importorskip("yaml")
    with open(EXAMPLE) as f:        # a missing example fails: it is shipped and documented
        text = f.read()
    # commented-out keys in the example are documented keys too
    keys = yaml_keys(yaml.safe_load(text), set())
    keys |= set(re.findall(r"^\s*#\s*([a-z_]+):", text, re.M))
    documented = man_keys(read_man5())
    missing = sorted(k for k in keys if k not in documented)
    assert not missing, missing


def test_every_config_md_key_is_in_the_man_page():
    """docs/config.md (the config helper's reference) and buoy.yaml(5) list the same keys."""
    with open(CONFIG_MD) as f:      # a missing reference fails
        keys = set(re.findall(r"^\|\s*`([a-z_.]+)`\s*\|", f.read(), re.M))
    assert len(keys) > 40
    documented = man_keys(read_man5())
    missing = sorted(k for k in keys if k not in documented)
    assert not missing, missing
