"""Every shipped example config passes `buoy check` (examples/*.yaml, and the configs of the
reference setups converted in examples/migrated/, which docs/migrating.md walks through).

`buoy check` validates the config alone (syntax, types, ranges, references, VRRP rules); it does
not look at the machine's interfaces or addresses, so these run anywhere, without root.
"""
import glob
import os
import re
import subprocess
import tempfile

import pytest

import netns

EXAMPLES = os.path.join(netns.REPO, "examples")
SCENARIOS = ["lb-pair.yaml", "colocated.yaml", "node-local.yaml", "unicast.yaml"]
MIGRATED = sorted(glob.glob(os.path.join(EXAMPLES, "migrated", "*.yaml")))
ALL = sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml"))) + MIGRATED


ETCD_PKI = "/etc/buoy/etcd/"   # the TLS files examples/lb-pair.yaml names
_TMP = tempfile.TemporaryDirectory(prefix="buoyt-examples-")


@pytest.fixture(scope="module", autouse=True)
def _remove_tmp():
    yield
    _TMP.cleanup()


def _pki(tmpdir):
    """A CA and a client certificate/key, like kubeadm's etcd healthcheck-client files."""
    d = os.path.join(tmpdir, "pki")
    if not os.path.exists(os.path.join(d, "healthcheck-client.key")):
        os.makedirs(d, exist_ok=True)
        run = lambda *a: subprocess.run(a, cwd=d, check=True, capture_output=True, timeout=30)
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=etcd-ca", "-keyout", "ca.key", "-out", "ca.crt")
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=healthcheck",
            "-keyout", "healthcheck-client.key", "-out", "hc.csr")
        run("openssl", "x509", "-req", "-in", "hc.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", "healthcheck-client.crt")
    return d + "/"


def check(buoy_bin, path):
    """`buoy check` also loads the TLS files a config names (as `buoy run` would): an example
    naming the etcd PKI gets a copy pointing at generated files."""
    with open(path) as f:
        text = f.read()
    if ETCD_PKI in text:
        tmp = _TMP.name
        copy = os.path.join(tmp, os.path.basename(path))
        with open(copy, "w") as f:
            f.write(text.replace(ETCD_PKI, _pki(tmp)))
        path = copy
    r = subprocess.run([buoy_bin, "check", "-c", path], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, "%s:\n%s%s" % (path, r.stdout, r.stderr)
    m = re.search(r": ok: node=(\S+) listeners=(\d+) backends=(\d+) servers=(\d+) "
                  r"vrrp_instances=(\d+)", r.stdout)
    assert m, r.stdout
    return {"node": m.group(1), "listeners": int(m.group(2)), "backends": int(m.group(3)),
            "servers": int(m.group(4)), "vrrp": int(m.group(5))}


def test_the_examples_are_there():
    for name in SCENARIOS:
        assert os.path.exists(os.path.join(EXAMPLES, name)), name
    assert len(MIGRATED) >= 5, MIGRATED   # one or more per reference setup


@pytest.mark.parametrize("path", ALL, ids=lambda p: os.path.relpath(p, EXAMPLES))
def test_example_passes_buoy_check(buoy_bin, path):
    check(buoy_bin, path)


def test_scenarios_are_what_their_names_say(buoy_bin):
    pair = check(buoy_bin, os.path.join(EXAMPLES, "lb-pair.yaml"))
    assert pair["vrrp"] == 1 and pair["listeners"] == 2 and pair["servers"] == 6   # + etcd
    colo = check(buoy_bin, os.path.join(EXAMPLES, "colocated.yaml"))
    assert colo["vrrp"] == 1 and colo["listeners"] == 1
    local = check(buoy_bin, os.path.join(EXAMPLES, "node-local.yaml"))
    assert local["vrrp"] == 0 and local["listeners"] == 1
    with open(os.path.join(EXAMPLES, "node-local.yaml")) as f:
        assert '"127.0.0.1:6443"' in f.read()
    uni = check(buoy_bin, os.path.join(EXAMPLES, "unicast.yaml"))
    assert uni["vrrp"] == 1
    with open(os.path.join(EXAMPLES, "unicast.yaml")) as f:
        text = f.read()
    assert re.search(r"^\s+unicast_peers:", text, re.M)
    assert re.search(r"^\s+unicast_source:", text, re.M)
    with open(os.path.join(EXAMPLES, "colocated.yaml")) as f:
        assert "--control-plane-endpoint" in f.read()


def test_buoy_check_would_catch_a_broken_example(buoy_bin, tmp_path):
    """The check above is not vacuous: a typo in a copied example is reported with its line."""
    with open(os.path.join(EXAMPLES, "lb-pair.yaml")) as f:
        text = f.read().replace("router_id: 51", "router_id: 51\n    prioriti: 120", 1)
    bad = tmp_path / "typo.yaml"
    bad.write_text(text)
    r = subprocess.run([buoy_bin, "check", "-c", str(bad)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 1
    assert re.search(r"typo\.yaml:\d+:\d+: .*prioriti", r.stderr), r.stderr


def test_buoy_check_loads_the_tls_files(buoy_bin):
    """A config whose health-check certificates are missing fails `buoy check`, naming the file,
    instead of passing and then failing at `buoy run`."""
    if os.path.exists(ETCD_PKI):
        pytest.skip("this machine has " + ETCD_PKI)
    r = subprocess.run([buoy_bin, "check", "-c", os.path.join(EXAMPLES, "lb-pair.yaml")],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert re.search(r"backends\[1\]\.health: TLS: .*/etc/buoy/etcd/ca\.crt", r.stderr), r.stderr


def yaml_blocks(doc):
    """The ```yaml blocks of a Markdown file that are whole buoy configs."""
    with open(os.path.join(netns.REPO, doc)) as f:
        text = f.read()
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.M | re.S)
    return [b for b in blocks if re.search(r"^(listeners|vrrp):", b, re.M)]


@pytest.mark.parametrize("doc,expected", [("README.md", 1), ("docs/migrating.md", 5)])
def test_configs_in_the_docs_pass_buoy_check(buoy_bin, tmp_path, doc, expected):
    blocks = yaml_blocks(doc)
    assert len(blocks) >= expected, "%s: %d config blocks" % (doc, len(blocks))
    for i, b in enumerate(blocks):
        path = tmp_path / ("%s-%d.yaml" % (os.path.basename(doc), i))
        path.write_text(b)
        check(buoy_bin, str(path))


def _config_md_words():
    """Every word inside `code` in docs/config.md (keys like garp.repeat split on dots)."""
    with open(os.path.join(netns.REPO, "docs", "config.md")) as f:
        text = f.read()
    fenced = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.M | re.S)
    text = re.sub(r"^```[a-z]*\n.*?^```", "", text, flags=re.M | re.S)
    spans = re.findall(r"`([^`\n]+)`", text) + fenced
    words = set()
    for sp in spans:
        words.update(re.findall(r"[a-z_][a-z0-9_]*", sp))
    return words


def test_buoy_keys_in_the_migration_tables_exist():
    """The buoy column of every mapping table in docs/migrating.md names only keys (and
    values) that docs/config.md documents: no invented keys."""
    known = _config_md_words()
    with open(os.path.join(netns.REPO, "docs", "migrating.md")) as f:
        guide = f.read()
    tables = guide[:guide.index("## Worked examples")]
    rows = [line for line in tables.splitlines()
            if line.startswith("| `") or line.startswith("| —")]
    assert len(rows) > 50, len(rows)
    checked = set()
    for row in rows:
        cells = row.split(" | ")
        for span in re.findall(r"`([^`]+)`", cells[1]):
            keys = re.findall(r"([a-z_]+):", span)
            if re.fullmatch(r"[a-z_]+", span):
                keys.append(span)
            for k in keys:
                assert k in known, "%r (row: %s) is not in docs/config.md" % (k, row[:80])
                checked.add(k)
    for k in ("router_id", "auth_pass", "unicast_peers", "max_fails", "idle_timeout",
              "connect_timeout", "retries", "expect_status", "queue_timeout", "notify"):
        assert k in checked, k
